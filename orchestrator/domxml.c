/* domxml.c: muster's domain metadata element, read and written with libxml2. */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "domxml.h"

void domxml_meta_release(struct domxml_meta *m)
{
	if (!m)
		return;
	free(m->fleet);
	free(m->vm);
	free(m->group);
	free(m->config_hash);
	free(m->base_hash);
	memset(m, 0, sizeof(*m));
}

static char *attr(xmlNodePtr n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *) name);
	char *s;

	if (!v)
		return NULL;
	s = strdup((const char *) v);
	xmlFree(v);
	return s;
}

int domxml_meta_parse(const char *xml, struct domxml_meta *ret, struct muster_err *err)
{
	struct domxml_meta m = { 0 };
	xmlDocPtr doc;
	xmlNodePtr root;
	int r = -1;
	size_t len = strlen(xml);

	if (len > 65536)
		return err_set(err, MUSTER_E_INVALID, "muster metadata is too large");
	doc = xmlReadMemory(xml, (int) len, "metadata.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return err_set(err, MUSTER_E_INVALID, "muster metadata is not well-formed XML");
	if (doc->intSubset || doc->extSubset) {
		/* a DTD could supply default attributes: libvirt never sends one */
		err_set(err, MUSTER_E_INVALID, "muster metadata must not carry a DTD");
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	/* libvirt hands the element back without its namespace: it was asked by it */
	if (!root || (root->ns && !xmlStrEqual(root->ns->href, (const xmlChar *) DOMXML_NS)) ||
	    !xmlStrEqual(root->name, (const xmlChar *) "vm")) {
		err_set(err, MUSTER_E_INVALID, "muster metadata has no <vm> element in %s", DOMXML_NS);
		goto out;
	}
	m.fleet = attr(root, "fleet");
	m.vm = attr(root, "name");
	m.group = attr(root, "group");
	m.config_hash = attr(root, "config");
	m.base_hash = attr(root, "base");
	if (!m.fleet || !m.vm) {
		err_set(err, MUSTER_E_INVALID, "muster metadata lacks fleet or name");
		domxml_meta_release(&m);
		goto out;
	}
	*ret = m;
	r = 0;
out:
	xmlFreeDoc(doc);
	return r;
}

char *domxml_meta_format(const struct domxml_meta *m, struct muster_err *err)
{
	xmlDocPtr doc = xmlNewDoc((const xmlChar *) "1.0");
	xmlNodePtr root = NULL;
	xmlNsPtr ns;
	xmlBufferPtr xb = NULL;
	xmlSaveCtxtPtr save;
	char *out = NULL;

	if (!doc)
		goto nomem;
	root = xmlNewNode(NULL, (const xmlChar *) "vm");
	if (!root)
		goto nomem;
	xmlDocSetRootElement(doc, root);
	ns = xmlNewNs(root, (const xmlChar *) DOMXML_NS, (const xmlChar *) DOMXML_NS_PREFIX);
	if (!ns)
		goto nomem;
	xmlSetNs(root, ns);
	if (!xmlNewProp(root, (const xmlChar *) "fleet", (const xmlChar *) m->fleet) ||
	    !xmlNewProp(root, (const xmlChar *) "name", (const xmlChar *) m->vm) ||
	    (m->group && !xmlNewProp(root, (const xmlChar *) "group", (const xmlChar *) m->group)) ||
	    (m->config_hash &&
	     !xmlNewProp(root, (const xmlChar *) "config", (const xmlChar *) m->config_hash)) ||
	    (m->base_hash && !xmlNewProp(root, (const xmlChar *) "base", (const xmlChar *) m->base_hash)))
		goto nomem;
	xb = xmlBufferCreate();
	if (!xb)
		goto nomem;
	save = xmlSaveToBuffer(xb, "UTF-8", XML_SAVE_NO_DECL);
	if (!save)
		goto nomem;
	if (xmlSaveTree(save, root) < 0) {
		xmlSaveClose(save);
		goto nomem;
	}
	xmlSaveClose(save);
	out = strdup((const char *) xmlBufferContent(xb));
	if (!out)
		goto nomem;
	xmlBufferFree(xb);
	xmlFreeDoc(doc);
	return out;
nomem:
	xmlBufferFree(xb);
	xmlFreeDoc(doc);
	err_nomem(err);
	return NULL;
}
