/*
 * domxml.c: libvirt XML with libxml2 trees: muster's metadata element, the
 * domain and network XML that `muster apply` defines, and what it reads
 * back from libvirt's live XML. Values are checked first, then go in as
 * attribute values or text nodes, which libxml2 escapes when it writes.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "buf.h"
#include "domxml.h"
#include "fmt.h"
#include "utf8.h"
#include "identity.h"

#define X(s) ((const xmlChar *) (s))
#define LIVE_XML_MAX (16u << 20)	/* a network with 65536 hosts is ~6 MiB */
#define VCPUS_MAX 4096
#define MEMORY_KIB_MAX ((unsigned long long) LLONG_MAX / 1024)	/* libvirt refuses more */
#define TB_CACHE_MIB_MAX (1ull << 20)
#define HOSTNAME_MAX 253
#define QEMU_ARG_MAX 8192

/* ---- metadata ------------------------------------------------------------ */

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
	xmlChar *v = xmlGetNoNsProp(n, X(name));
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
	if (!root || (root->ns && !xmlStrEqual(root->ns->href, X(DOMXML_NS))) ||
	    !xmlStrEqual(root->name, X("vm"))) {
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

/* ---- building trees ------------------------------------------------------ */

/*
 * A document under construction. A failed allocation marks it and later
 * calls do nothing, so a builder adds everything and checks once.
 */
struct tree {
	xmlDocPtr doc;
	bool oom;
};

static xmlNodePtr tree_root(struct tree *t, const char *name)
{
	xmlNodePtr n;

	t->doc = xmlNewDoc(X("1.0"));
	if (!t->doc) {
		t->oom = true;
		return NULL;
	}
	n = xmlNewDocNode(t->doc, NULL, X(name), NULL);
	if (!n) {
		t->oom = true;
		return NULL;
	}
	xmlDocSetRootElement(t->doc, n);
	return n;
}

/* A child element of parent in namespace ns (NULL: none). */
static xmlNodePtr el(struct tree *t, xmlNodePtr parent, xmlNsPtr ns, const char *name)
{
	xmlNodePtr n = NULL;

	/* content NULL: xmlNewChild would read entity references in content */
	if (!t->oom && parent)
		n = xmlNewChild(parent, ns, X(name), NULL);
	if (!n)
		t->oom = true;
	return n;
}

/* A child element holding text: xmlNewTextChild escapes it. */
static xmlNodePtr text_el(struct tree *t, xmlNodePtr parent, const char *name, const char *text)
{
	xmlNodePtr n = NULL;

	if (!t->oom && parent)
		n = xmlNewTextChild(parent, NULL, X(name), X(text));
	if (!n)
		t->oom = true;
	return n;
}

/* An attribute; its value is stored as text, never parsed. */
static void prop(struct tree *t, xmlNodePtr n, const char *name, const char *value)
{
	if (t->oom || !n || !xmlNewProp(n, X(name), X(value)))
		t->oom = true;
}

static void prop_ull(struct tree *t, xmlNodePtr n, const char *name, unsigned long long v)
{
	char s[24];

	fmt_fit(s, sizeof(s), "%llu", v);
	prop(t, n, name, s);
}

static xmlNodePtr text_el_ull(struct tree *t, xmlNodePtr parent, const char *name,
			      unsigned long long v)
{
	char s[24];

	fmt_fit(s, sizeof(s), "%llu", v);
	return text_el(t, parent, name, s);
}

/* Give n muster's namespace and the metadata's attributes. */
static void meta_fill(struct tree *t, xmlNodePtr n, const struct domxml_meta *m)
{
	xmlNsPtr ns = NULL;

	if (!t->oom && n)
		ns = xmlNewNs(n, X(DOMXML_NS), X(DOMXML_NS_PREFIX));
	if (!ns) {
		t->oom = true;
		return;
	}
	xmlSetNs(n, ns);
	prop(t, n, "fleet", m->fleet);
	prop(t, n, "name", m->vm);
	if (m->group)
		prop(t, n, "group", m->group);
	if (m->config_hash)
		prop(t, n, "config", m->config_hash);
	if (m->base_hash)
		prop(t, n, "base", m->base_hash);
}

/* node (the whole document when it is the root) as UTF-8 text; caller frees. */
static char *tree_to_string(struct tree *t, xmlNodePtr node, int options, struct muster_err *err)
{
	xmlBufferPtr xb = NULL;
	xmlSaveCtxtPtr save;
	char *out = NULL;
	long r;

	if (t->oom)
		goto out;
	xb = xmlBufferCreate();
	if (!xb)
		goto out;
	save = xmlSaveToBuffer(xb, "UTF-8", options | XML_SAVE_NO_DECL);
	if (!save)
		goto out;
	r = node == xmlDocGetRootElement(t->doc) && (options & XML_SAVE_FORMAT) ?
		xmlSaveDoc(save, t->doc) : xmlSaveTree(save, node);
	if (xmlSaveClose(save) < 0 || r < 0)
		goto out;
	out = strdup((const char *) xmlBufferContent(xb));
out:
	if (!out)
		err_nomem(err);
	xmlBufferFree(xb);
	xmlFreeDoc(t->doc);
	t->doc = NULL;
	return out;
}

char *domxml_meta_format(const struct domxml_meta *m, struct muster_err *err)
{
	struct tree t = { 0 };
	xmlNodePtr root = tree_root(&t, "vm");

	meta_fill(&t, root, m);
	return tree_to_string(&t, root, 0, err);
}

/* ---- checking values ----------------------------------------------------- */

/*
 * A text value: present, not empty, bounded, UTF-8 that XML 1.0 can carry,
 * no control characters (C0, DEL, C1). what names it in the message.
 */
static int check_value(const char *what, const char *s, struct muster_err *err)
{
	const unsigned char *u = (const unsigned char *) s;
	size_t i = 0;

	if (!s)
		return err_set(err, MUSTER_E_INVALID, "%s is missing", what);
	if (!*s)
		return err_set(err, MUSTER_E_INVALID, "%s is empty", what);
	while (u[i]) {
		uint32_t cp;
		size_t len = utf8_decode(u + i, strnlen(s + i, 4), &cp);

		i += len;
		if (i > DOMXML_VALUE_MAX)
			return err_set(err, MUSTER_E_INVALID, "%s is longer than %d bytes", what,
				       DOMXML_VALUE_MAX);
		if (len == 0)
			return err_set(err, MUSTER_E_INVALID, "%s is not valid UTF-8", what);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return err_set(err, MUSTER_E_INVALID, "%s contains a control character",
				       what);
		if (cp == 0xfffe || cp == 0xffff)
			return err_set(err, MUSTER_E_INVALID, "%s contains U+%04lX, which XML cannot carry",
				       what, (unsigned long) cp);
	}
	return 0;
}

static int check_optional(const char *what, const char *s, struct muster_err *err)
{
	return s ? check_value(what, s, err) : 0;
}

/* An object name libvirt keeps: it refuses '/' in domain, network, pool and volume names. */
static int check_name(const char *what, const char *s, struct muster_err *err)
{
	if (check_value(what, s, err) < 0)
		return -1;
	if (strchr(s, '/'))
		return err_set(err, MUSTER_E_INVALID, "%s '%.80s' contains '/'", what, s);
	return 0;
}

static int check_path(const char *what, const char *s, struct muster_err *err)
{
	if (check_value(what, s, err) < 0)
		return -1;
	if (s[0] != '/')
		return err_set(err, MUSTER_E_INVALID, "%s '%.80s' is not an absolute path", what, s);
	return 0;
}

/* A unicast MAC address (libvirt refuses multicast ones), as 6 bytes. */
static int check_mac(const char *what, const char *s, uint8_t mac[6], struct muster_err *err)
{
	if (check_value(what, s, err) < 0)
		return -1;
	if (identity_mac_parse(s, mac) < 0)
		return err_set(err, MUSTER_E_INVALID, "%s '%.80s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
			       what, s);
	if (mac[0] & 1)
		return err_set(err, MUSTER_E_INVALID, "%s '%s' is a multicast address", what, s);
	return 0;
}

static int check_uuid(const char *what, const char *s, struct muster_err *err)
{
	size_t i, len;

	if (check_value(what, s, err) < 0)
		return -1;
	len = strlen(s);
	for (i = 0; i < len; i++) {
		bool dash = len == 36 && (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash ? s[i] != '-' : hex_digit(s[i]) < 0)
			break;
	}
	if ((len != 36 && len != 32) || i != len)
		return err_set(err, MUSTER_E_INVALID, "%s '%.80s' is not a UUID", what, s);
	return 0;
}

/* A dotted-quad IPv4 address, host order in *ret. */
static int check_ipv4(const char *what, const char *s, uint32_t *ret, struct muster_err *err)
{
	struct in_addr a;

	if (check_value(what, s, err) < 0)
		return -1;
	if (inet_pton(AF_INET, s, &a) != 1)
		return err_set(err, MUSTER_E_INVALID, "%s '%.80s' is not an IPv4 address", what, s);
	*ret = ntohl(a.s_addr);
	return 0;
}

/* dnsmasq reads host entries as "mac,ip,name" lines: keep a name a host name. */
static int check_hostname(const char *what, const char *s, struct muster_err *err)
{
	size_t i;

	if (check_value(what, s, err) < 0)
		return -1;
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return err_set(err, MUSTER_E_INVALID,
				       "%s '%.80s' is not a host name (letters, digits, '-', '.', '_')",
				       what, s);
	}
	if (i > HOSTNAME_MAX)
		return err_set(err, MUSTER_E_INVALID, "%s is longer than %d bytes", what,
			       HOSTNAME_MAX);
	return 0;
}

/* ---- domains ------------------------------------------------------------- */

static const char *const nic_kinds[DOMXML_NIC_KIND_MAX] = {
	[DOMXML_NIC_NETWORK] = "network",
	[DOMXML_NIC_BRIDGE] = "bridge",
	[DOMXML_NIC_OVS_VLAN] = "ovs-vlan",
	[DOMXML_NIC_USER] = "user",
};

const char *domxml_nic_kind_to_string(enum domxml_nic_kind k)
{
	return (unsigned) k < DOMXML_NIC_KIND_MAX ? nic_kinds[k] : NULL;
}

int domxml_nic_kind_from_string(const char *s)
{
	size_t i;

	for (i = 0; s && i < DOMXML_NIC_KIND_MAX; i++)
		if (streq(s, nic_kinds[i]))
			return (int) i;
	return -1;
}

enum dom_type { DOM_KVM, DOM_QEMU, DOM_XEN };

static int check_forward(const struct domxml_forward *f, size_t nic, size_t i,
			 struct muster_err *err)
{
	char what[96];
	uint32_t a;

	fmt_fit(what, sizeof(what), "nic %zu forward %zu host address", nic, i);
	if (check_ipv4(what, f->host_addr, &a, err) < 0)
		return -1;
	if (f->host_port == 0)
		return err_set(err, MUSTER_E_INVALID,
			       "nic %zu forward %zu: host port 0: allocate one before formatting", nic, i);
	if (f->host_port > 65535 || f->guest_port == 0 || f->guest_port > 65535)
		return err_set(err, MUSTER_E_INVALID, "nic %zu forward %zu: ports must be 1 to 65535",
			       nic, i);
	return 0;
}

/* Whether two checked forwards bind the same port (0.0.0.0 binds every address). */
static bool forwards_clash(const struct domxml_forward *a, const struct domxml_forward *b)
{
	return a->host_port == b->host_port &&
	       (streq(a->host_addr, b->host_addr) || streq(a->host_addr, "0.0.0.0") ||
		streq(b->host_addr, "0.0.0.0"));
}

static int check_nic(const struct domxml_domain *d, enum dom_type type, size_t i,
		     uint8_t mac[6], struct muster_err *err)
{
	const struct domxml_nic *nic = &d->nics[i];
	char what[48];
	size_t j, k, l;

	if ((unsigned) nic->kind >= DOMXML_NIC_KIND_MAX)
		return err_set(err, MUSTER_E_INVALID, "nic %zu: unknown kind %d", i, (int) nic->kind);
	fmt_fit(what, sizeof(what), "nic %zu mac", i);
	if (nic->mac) {
		if (check_mac(what, nic->mac, mac, err) < 0)
			return -1;
	} else if (nic->kind == DOMXML_NIC_USER) {
		return err_set(err, MUSTER_E_INVALID, "nic %zu: a user NIC needs a MAC address", i);
	}
	fmt_fit(what, sizeof(what), "nic %zu source", i);
	switch (nic->kind) {
	case DOMXML_NIC_NETWORK:
		if (check_name(what, nic->source, err) < 0)
			return -1;
		break;
	case DOMXML_NIC_BRIDGE:
	case DOMXML_NIC_OVS_VLAN:
		if (check_value(what, nic->source, err) < 0)
			return -1;
		break;
	case DOMXML_NIC_USER:
		if (type == DOM_XEN)
			return err_set(err, MUSTER_E_INVALID,
				       "nic %zu: user networking needs domain type kvm or qemu", i);
		if (nic->source)
			return err_set(err, MUSTER_E_INVALID, "nic %zu: a user NIC has no source", i);
		break;
	case DOMXML_NIC_KIND_MAX:
		break;
	}
	if (nic->mtu && (nic->mtu < 68 || nic->mtu > 65535 ||
			 (nic->kind != DOMXML_NIC_BRIDGE && nic->kind != DOMXML_NIC_OVS_VLAN)))
		return err_set(err, MUSTER_E_INVALID, "nic %zu: MTU %u is not 68 to 65535 on a "
			       "bridge NIC (a libvirt network's NICs take the network's)", i, nic->mtu);
	if (nic->kind == DOMXML_NIC_OVS_VLAN ? nic->vlan < 1 || nic->vlan > 4094 : nic->vlan != 0)
		return err_set(err, MUSTER_E_INVALID, nic->kind == DOMXML_NIC_OVS_VLAN ?
			       "nic %zu: VLAN tag %u is not 1 to 4094" :
			       "nic %zu: VLAN tag %u on a NIC that is not ovs-vlan", i, nic->vlan);
	if (nic->kind != DOMXML_NIC_USER) {
		if (nic->n_forwards)
			return err_set(err, MUSTER_E_INVALID,
				       "nic %zu: port forwards need a user NIC", i);
		if (nic->unrestricted)
			return err_set(err, MUSTER_E_INVALID,
				       "nic %zu: restrict applies to a user NIC only", i);
		return 0;
	}
	if (nic->n_forwards > DOMXML_MAX_FORWARDS)
		return err_set(err, MUSTER_E_INVALID, "nic %zu: more than %d forwards", i,
			       DOMXML_MAX_FORWARDS);
	if (nic->n_forwards && !nic->forwards)
		return err_set(err, MUSTER_E_INVALID, "nic %zu: forwards missing", i);

	for (j = 0; j < nic->n_forwards; j++) {
		if (check_forward(&nic->forwards[j], i, j, err) < 0)
			return -1;
		/* QEMU cannot bind one host port twice: compare with every earlier forward */
		for (k = 0; k <= i; k++) {
			const struct domxml_nic *o = &d->nics[k];

			if (o->kind != DOMXML_NIC_USER)
				continue;
			for (l = 0; l < (k == i ? j : o->n_forwards); l++)
				if (forwards_clash(&o->forwards[l], &nic->forwards[j]))
					return err_set(err, MUSTER_E_INVALID,
						       "nic %zu forward %zu: %s:%u clashes with %s:%u",
						       i, j, nic->forwards[j].host_addr,
						       nic->forwards[j].host_port,
						       o->forwards[l].host_addr, o->forwards[l].host_port);
		}
	}
	return 0;
}

static int check_domain_body(const struct domxml_domain *d, enum dom_type type,
			     uint8_t (*macs)[6], struct muster_err *err)
{
	const struct domxml_meta *m = d->meta;
	size_t i, j;

	if (check_uuid("uuid", d->uuid, err) < 0)
		return -1;
	if (!m)
		return err_set(err, MUSTER_E_INVALID, "muster metadata is missing");
	if (check_value("metadata fleet", m->fleet, err) < 0 ||
	    check_value("metadata vm", m->vm, err) < 0 ||
	    check_optional("metadata group", m->group, err) < 0 ||
	    check_optional("metadata config hash", m->config_hash, err) < 0 ||
	    check_optional("metadata base hash", m->base_hash, err) < 0)
		return -1;
	if (d->vcpus < 1 || d->vcpus > VCPUS_MAX)
		return err_set(err, MUSTER_E_INVALID, "vcpus %u is not 1 to %d", d->vcpus, VCPUS_MAX);
	if (d->memory_kib < 1 || d->memory_kib > MEMORY_KIB_MAX)
		return err_set(err, MUSTER_E_INVALID, "memory %llu KiB is not 1 to %llu KiB",
			       d->memory_kib, MEMORY_KIB_MAX);
	if (d->kernel) {
		if (check_path("kernel", d->kernel, err) < 0 ||
		    (d->initrd && check_path("initrd", d->initrd, err) < 0) ||
		    check_optional("cmdline", d->cmdline, err) < 0)
			return -1;
	} else if (d->initrd || d->cmdline) {
		return err_set(err, MUSTER_E_INVALID, "initrd or cmdline without a kernel");
	}
	if (d->tcg_tb_cache_mib && type != DOM_QEMU)
		return err_set(err, MUSTER_E_INVALID, "a TCG translation cache needs domain type qemu");
	if (d->tcg_tb_cache_mib > TB_CACHE_MIB_MAX)
		return err_set(err, MUSTER_E_INVALID, "TCG translation cache %llu MiB is over %llu MiB",
			       d->tcg_tb_cache_mib, TB_CACHE_MIB_MAX);
	if (check_name("disk pool", d->disk_pool, err) < 0 ||
	    check_name("disk volume", d->disk_volume, err) < 0)
		return -1;
	if (d->seed_pool || d->seed_volume) {
		if (check_name("seed pool", d->seed_pool, err) < 0 ||
		    check_name("seed volume", d->seed_volume, err) < 0)
			return -1;
	}
	if (d->n_nics > DOMXML_MAX_NICS)
		return err_set(err, MUSTER_E_INVALID, "%zu NICs, at most %d", d->n_nics,
			       DOMXML_MAX_NICS);
	if (d->n_nics && !d->nics)
		return err_set(err, MUSTER_E_INVALID, "NICs missing");
	for (i = 0; i < d->n_nics; i++) {
		if (check_nic(d, type, i, macs[i], err) < 0)
			return -1;
		for (j = 0; d->nics[i].mac && j < i; j++)
			if (d->nics[j].mac && !memcmp(macs[i], macs[j], 6))
				return err_set(err, MUSTER_E_INVALID, "nics %zu and %zu share MAC %s", j,
					       i, d->nics[i].mac);
	}
	if (d->channel_path) {
		if (check_path("channel path", d->channel_path, err) < 0)
			return -1;
		if (strlen(d->channel_path) > DOMXML_SOCKET_PATH_MAX)
			return err_set(err, MUSTER_E_INVALID,
				       "channel path is longer than a unix socket allows (%d bytes)",
				       DOMXML_SOCKET_PATH_MAX);
	}
	if (d->console_log && check_path("console log", d->console_log, err) < 0)
		return -1;
	if (d->smbios_serial) {
		const char *c;

		if (type == DOM_XEN)
			return err_set(err, MUSTER_E_INVALID, "an SMBIOS serial needs domain type kvm "
				       "or qemu");
		if (!*d->smbios_serial || strlen(d->smbios_serial) > DOMXML_SERIAL_MAX)
			return err_set(err, MUSTER_E_INVALID, "SMBIOS serial: 1 to %d bytes",
				       DOMXML_SERIAL_MAX);
		for (c = d->smbios_serial; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				return err_set(err, MUSTER_E_INVALID,
					       "SMBIOS serial: only printable ASCII");
	}
	return 0;
}

static int check_domain(const struct domxml_domain *d, enum dom_type *type, uint8_t (*macs)[6],
			struct muster_err *err)
{
	if (!d->type)
		return err_set(err, MUSTER_E_INVALID, "domain type is missing");
	if (streq(d->type, "kvm"))
		*type = DOM_KVM;
	else if (streq(d->type, "qemu"))
		*type = DOM_QEMU;
	else if (streq(d->type, "xen"))
		*type = DOM_XEN;
	else if (check_value("domain type", d->type, err) < 0)
		return -1;
	else
		return err_set(err, MUSTER_E_INVALID, "domain type '%.80s' is not kvm, qemu or xen",
			       d->type);
	if (check_name("domain name", d->name, err) < 0)
		return -1;
	if (check_domain_body(d, *type, macs, err) < 0) {
		err_prefix(err, "domain '%.80s'", d->name);
		return -1;
	}
	return 0;
}

static void add_disk(struct tree *t, xmlNodePtr devs, bool cdrom, const char *pool,
		     const char *volume, const char *dev, const char *bus)
{
	xmlNodePtr disk = el(t, devs, NULL, "disk"), n;

	prop(t, disk, "type", "volume");
	prop(t, disk, "device", cdrom ? "cdrom" : "disk");
	n = el(t, disk, NULL, "driver");
	prop(t, n, "name", "qemu");
	prop(t, n, "type", cdrom ? "raw" : "qcow2");
	n = el(t, disk, NULL, "source");
	prop(t, n, "pool", pool);
	prop(t, n, "volume", volume);
	n = el(t, disk, NULL, "target");
	prop(t, n, "dev", dev);
	prop(t, n, "bus", bus);
	if (cdrom)
		el(t, disk, NULL, "readonly");
}

static void add_vlan(struct tree *t, xmlNodePtr parent, unsigned vlan)
{
	xmlNodePtr tag = el(t, el(t, parent, NULL, "vlan"), NULL, "tag");

	prop_ull(t, tag, "id", vlan);
}

static void add_interface(struct tree *t, xmlNodePtr devs, enum dom_type type,
			  const struct domxml_nic *nic, const uint8_t mac[6])
{
	xmlNodePtr ifc = el(t, devs, NULL, "interface"), n;
	char mac_s[18];

	prop(t, ifc, "type", nic->kind == DOMXML_NIC_NETWORK ? "network" : "bridge");
	if (nic->mac) {
		identity_mac_format(mac, mac_s);
		prop(t, el(t, ifc, NULL, "mac"), "address", mac_s);
	}
	n = el(t, ifc, NULL, "source");
	prop(t, n, nic->kind == DOMXML_NIC_NETWORK ? "network" : "bridge", nic->source);
	if (nic->kind == DOMXML_NIC_OVS_VLAN) {
		add_vlan(t, ifc, nic->vlan);
		prop(t, el(t, ifc, NULL, "virtualport"), "type", "openvswitch");
	}
	if (nic->mtu)
		prop_ull(t, el(t, ifc, NULL, "mtu"), "size", nic->mtu);
	/* xen guests use PV netfront: no emulated model */
	if (type != DOM_XEN)
		prop(t, el(t, ifc, NULL, "model"), "type", "virtio");
}

static void add_qemu_arg(struct tree *t, xmlNodePtr cmdline, xmlNsPtr qns, const char *value)
{
	prop(t, el(t, cmdline, qns, "arg"), "value", value);
}

/*
 * A user NIC as QEMU arguments. Every piece was checked: addresses are
 * dotted quads, ports numbers, the MAC hex digits and colons, so nothing
 * can add an option of its own (QEMU splits options at commas).
 */
static void add_user_nic(struct tree *t, xmlNodePtr cmdline, xmlNsPtr qns, size_t i,
			 const struct domxml_nic *nic, const uint8_t mac[6])
{
	struct buf b = BUF_INIT(QEMU_ARG_MAX);
	char mac_s[18];
	size_t j;

	identity_mac_format(mac, mac_s);
	(void) buf_printf(&b, "user,id=mnet%zu,restrict=%s", i, nic->unrestricted ? "off" : "on");
	for (j = 0; j < nic->n_forwards; j++)
		(void) buf_printf(&b, ",hostfwd=tcp:%s:%u-:%u", nic->forwards[j].host_addr,
				  nic->forwards[j].host_port, nic->forwards[j].guest_port);
	add_qemu_arg(t, cmdline, qns, "-netdev");
	if (buf_failed(&b))
		t->oom = true;
	else
		add_qemu_arg(t, cmdline, qns, buf_str(&b));
	buf_reset(&b);
	/* a slot of its own: libvirt numbers its devices from slot 1 up */
	(void) buf_printf(&b, "virtio-net-pci,netdev=mnet%zu,mac=%s,addr=0x%zx", i, mac_s, 0x10 + i);
	add_qemu_arg(t, cmdline, qns, "-device");
	if (buf_failed(&b))
		t->oom = true;
	else
		add_qemu_arg(t, cmdline, qns, buf_str(&b));
	buf_release(&b);
}

char *domxml_domain_format(const struct domxml_domain *d, struct muster_err *err)
{
	uint8_t macs[DOMXML_MAX_NICS][6] = { { 0 } };
	struct tree t = { 0 };
	enum dom_type type = DOM_KVM;
	xmlNodePtr root, n, devs, src;
	xmlNsPtr qns = NULL;
	bool user = false;
	size_t i;

	if (check_domain(d, &type, macs, err) < 0)
		return NULL;
	for (i = 0; i < d->n_nics; i++)
		user |= d->nics[i].kind == DOMXML_NIC_USER;

	root = tree_root(&t, "domain");
	prop(&t, root, "type", d->type);
	if (user && root && !(qns = xmlNewNs(root, X(DOMXML_QEMU_NS), X("qemu"))))
		t.oom = true;
	text_el(&t, root, "name", d->name);
	text_el(&t, root, "uuid", d->uuid);
	meta_fill(&t, el(&t, el(&t, root, NULL, "metadata"), NULL, "vm"), d->meta);
	prop(&t, text_el_ull(&t, root, "memory", d->memory_kib), "unit", "KiB");
	text_el_ull(&t, root, "vcpu", d->vcpus);

	n = el(&t, root, NULL, "os");
	prop(&t, text_el(&t, n, "type", "hvm"), "arch", "x86_64");
	if (d->kernel) {
		text_el(&t, n, "kernel", d->kernel);
		if (d->initrd)
			text_el(&t, n, "initrd", d->initrd);
		if (d->cmdline)
			text_el(&t, n, "cmdline", d->cmdline);
	}
	if (d->smbios_serial) {
		prop(&t, el(&t, n, NULL, "smbios"), "mode", "sysinfo");
		n = el(&t, root, NULL, "sysinfo");
		prop(&t, n, "type", "smbios");
		prop(&t, text_el(&t, el(&t, n, NULL, "system"), "entry", d->smbios_serial), "name",
		     "serial");
	}
	n = el(&t, root, NULL, "features");
	el(&t, n, NULL, "acpi");
	el(&t, n, NULL, "apic");
	if (d->tcg_tb_cache_mib)
		prop(&t, text_el_ull(&t, el(&t, n, NULL, "tcg"), "tb-cache", d->tcg_tb_cache_mib),
		     "unit", "MiB");
	if (type == DOM_KVM)
		prop(&t, el(&t, root, NULL, "cpu"), "mode", "host-passthrough");
	if (d->destroy_on_reboot)
		text_el(&t, root, "on_reboot", "destroy");

	devs = el(&t, root, NULL, "devices");
	add_disk(&t, devs, false, d->disk_pool, d->disk_volume, type == DOM_XEN ? "xvda" : "vda",
		 type == DOM_XEN ? "xen" : "virtio");
	if (d->seed_volume)
		add_disk(&t, devs, true, d->seed_pool, d->seed_volume,
			 type == DOM_XEN ? "hdc" : "sda", type == DOM_XEN ? "ide" : "sata");
	for (i = 0; i < d->n_nics; i++)
		if (d->nics[i].kind != DOMXML_NIC_USER)
			add_interface(&t, devs, type, &d->nics[i], macs[i]);
	n = el(&t, devs, NULL, "serial");
	prop(&t, n, "type", "pty");
	if (d->console_log) {
		n = el(&t, n, NULL, "log");
		prop(&t, n, "file", d->console_log);
		prop(&t, n, "append", "on");
	}
	prop(&t, el(&t, devs, NULL, "console"), "type", "pty");
	n = el(&t, devs, NULL, "channel");
	prop(&t, n, "type", "unix");
	src = el(&t, n, NULL, "source");
	prop(&t, src, "mode", "bind");
	if (d->channel_path)
		prop(&t, src, "path", d->channel_path);
	n = el(&t, n, NULL, "target");
	/* libxl refuses virtio channels */
	prop(&t, n, "type", type == DOM_XEN ? "xen" : "virtio");
	prop(&t, n, "name", AGENT_PROTO_PORT_NAME);

	if (user) {
		/* libvirt 9.0 has no element for user networking with host forwards */
		n = el(&t, root, qns, "commandline");
		for (i = 0; i < d->n_nics; i++)
			if (d->nics[i].kind == DOMXML_NIC_USER)
				add_user_nic(&t, n, qns, i, &d->nics[i], macs[i]);
	}
	return tree_to_string(&t, root, XML_SAVE_FORMAT, err);
}

/* ---- networks ------------------------------------------------------------ */

enum net_mode { NET_NAT, NET_ISOLATED, NET_BRIDGE, NET_OVS_VLAN, NET_OTHER };

static const char *const net_modes[] = {
	[NET_NAT] = "nat", [NET_ISOLATED] = "isolated", [NET_BRIDGE] = "bridge",
	[NET_OVS_VLAN] = "ovs-vlan",
};

/* A DHCP host entry reduced to what identifies it, for sorting and comparing. */
struct host_key {
	uint8_t mac[6];
	uint32_t ip;
	const char *name;	/* NULL: none */
};

static int host_key_cmp(const void *pa, const void *pb)
{
	const struct host_key *a = pa, *b = pb;
	int c = memcmp(a->mac, b->mac, 6);

	if (c)
		return c;
	if (a->ip != b->ip)
		return a->ip < b->ip ? -1 : 1;
	if (!a->name || !b->name)
		return !!a->name - !!b->name;
	return strcmp(a->name, b->name);
}

static int ip_cmp(const void *pa, const void *pb)
{
	uint32_t a = ((const struct host_key *) pa)->ip, b = ((const struct host_key *) pb)->ip;

	return a < b ? -1 : a > b;
}

/* What a valid struct domxml_network reduces to. */
struct net_want {
	enum net_mode mode;
	uint32_t addr, start, end;
	bool range;
	struct host_key *hosts;	/* sorted; n->n_hosts of them */
};

/* ip is a usable address of the subnet addr/prefix: inside it, not its first or last. */
static bool in_subnet(uint32_t ip, uint32_t addr, unsigned prefix)
{
	uint32_t mask = ~(uint32_t) 0 << (32 - prefix);

	return (ip & mask) == (addr & mask) && (ip & ~mask) != 0 && (ip & ~mask) != ~mask;
}

static int check_network_ip(const struct domxml_network *n, struct net_want *w,
			    struct muster_err *err)
{
	char what[48];
	size_t i;

	if (check_ipv4("address", n->address, &w->addr, err) < 0)
		return -1;
	if (n->prefix < 1 || n->prefix > 30)
		return err_set(err, MUSTER_E_INVALID, "prefix /%u is not 1 to 30", n->prefix);
	if (!in_subnet(w->addr, w->addr, n->prefix))
		return err_set(err, MUSTER_E_INVALID,
			       "address %s/%u is the network or broadcast address", n->address,
			       n->prefix);
	if (n->dhcp_start || n->dhcp_end) {
		w->range = true;
		if (check_ipv4("DHCP range start", n->dhcp_start, &w->start, err) < 0 ||
		    check_ipv4("DHCP range end", n->dhcp_end, &w->end, err) < 0)
			return -1;
		if (!in_subnet(w->start, w->addr, n->prefix) || !in_subnet(w->end, w->addr, n->prefix))
			return err_set(err, MUSTER_E_INVALID,
				       "DHCP range %s - %s is not inside %s/%u (its network and "
				       "broadcast addresses excluded)", n->dhcp_start, n->dhcp_end,
				       n->address, n->prefix);
		if (w->start > w->end)
			return err_set(err, MUSTER_E_INVALID, "DHCP range %s - %s is reversed",
				       n->dhcp_start, n->dhcp_end);
	}
	if (n->n_hosts > DOMXML_MAX_HOSTS)
		return err_set(err, MUSTER_E_INVALID, "%zu DHCP hosts, at most %d", n->n_hosts,
			       DOMXML_MAX_HOSTS);
	if (!n->n_hosts)
		return 0;
	if (!n->hosts)
		return err_set(err, MUSTER_E_INVALID, "DHCP hosts missing");
	w->hosts = calloc(n->n_hosts, sizeof(*w->hosts));
	if (!w->hosts)
		return err_nomem(err);
	for (i = 0; i < n->n_hosts; i++) {
		const struct domxml_dhcp_host *h = &n->hosts[i];
		struct host_key *k = &w->hosts[i];

		fmt_fit(what, sizeof(what), "DHCP host %zu mac", i);
		if (check_mac(what, h->mac, k->mac, err) < 0)
			return -1;
		fmt_fit(what, sizeof(what), "DHCP host %zu ip", i);
		if (check_ipv4(what, h->ip, &k->ip, err) < 0)
			return -1;
		if (!in_subnet(k->ip, w->addr, n->prefix) || k->ip == w->addr)
			return err_set(err, MUSTER_E_INVALID,
				       "DHCP host %zu ip %s is not a host address of %s/%u other than "
				       "the gateway", i, h->ip, n->address, n->prefix);
		fmt_fit(what, sizeof(what), "DHCP host %zu name", i);
		if (h->name && check_hostname(what, h->name, err) < 0)
			return -1;
		k->name = h->name;
	}
	/* dnsmasq cannot hand one address, or one MAC, out twice */
	qsort(w->hosts, n->n_hosts, sizeof(*w->hosts), ip_cmp);
	for (i = 1; i < n->n_hosts; i++)
		if (w->hosts[i].ip == w->hosts[i - 1].ip)
			return err_set(err, MUSTER_E_INVALID, "DHCP hosts share an ip");
	qsort(w->hosts, n->n_hosts, sizeof(*w->hosts), host_key_cmp);
	for (i = 1; i < n->n_hosts; i++)
		if (!memcmp(w->hosts[i].mac, w->hosts[i - 1].mac, 6))
			return err_set(err, MUSTER_E_INVALID, "DHCP hosts share a mac");
	return 0;
}

static int check_network_body(const struct domxml_network *n, struct net_want *w,
			      struct muster_err *err)
{
	size_t i;

	if (check_value("mode", n->mode, err) < 0)
		return -1;
	for (i = 0; i < ARRAY_SIZE(net_modes) && !streq(n->mode, net_modes[i]); i++)
		;
	if (i == ARRAY_SIZE(net_modes))
		return err_set(err, MUSTER_E_INVALID,
			       "mode '%.80s' is not nat, isolated, bridge or ovs-vlan", n->mode);
	w->mode = (enum net_mode) i;
	if (w->mode == NET_OVS_VLAN ? n->vlan < 1 || n->vlan > 4094 : n->vlan != 0)
		return err_set(err, MUSTER_E_INVALID, w->mode == NET_OVS_VLAN ?
			       "VLAN tag %u is not 1 to 4094" :
			       "VLAN tag %u needs mode ovs-vlan", n->vlan);
	if (n->mtu && (n->mtu < 68 || n->mtu > 65535 || w->mode == NET_BRIDGE ||
		       w->mode == NET_OVS_VLAN))
		return err_set(err, MUSTER_E_INVALID, "MTU %u is not 68 to 65535 on a nat or "
			       "isolated network (a bridge's is the host's)", n->mtu);
	if (w->mode == NET_BRIDGE || w->mode == NET_OVS_VLAN) {
		if (check_value("bridge", n->bridge, err) < 0)
			return -1;
		/* libvirt refuses <ip> on a network that forwards to a bridge */
		if (n->address || n->prefix || n->dhcp_start || n->dhcp_end || n->n_hosts)
			return err_set(err, MUSTER_E_INVALID,
				       "mode %s takes no address, DHCP range or hosts", n->mode);
		return 0;
	}
	if (check_optional("bridge", n->bridge, err) < 0)
		return -1;
	return check_network_ip(n, w, err);
}

/* Check n; on success *w says what it means (release w->hosts). */
static int check_network(const struct domxml_network *n, struct net_want *w,
			 struct muster_err *err)
{
	memset(w, 0, sizeof(*w));
	if (check_name("network name", n->name, err) < 0)
		return -1;
	if ((n->uuid && check_uuid("uuid", n->uuid, err) < 0) || check_network_body(n, w, err) < 0) {
		free(w->hosts);
		w->hosts = NULL;
		err_prefix(err, "network '%.80s'", n->name);
		return -1;
	}
	return 0;
}

char *domxml_network_format(const struct domxml_network *n, struct muster_err *err)
{
	struct tree t = { 0 };
	struct net_want w;
	xmlNodePtr root, ip, dhcp, h;
	size_t i;

	if (check_network(n, &w, err) < 0)
		return NULL;
	free(w.hosts);	/* checked; written below in the caller's order */

	root = tree_root(&t, "network");
	text_el(&t, root, "name", n->name);
	if (n->uuid)
		text_el(&t, root, "uuid", n->uuid);
	if (w.mode != NET_ISOLATED)
		prop(&t, el(&t, root, NULL, "forward"), "mode", w.mode == NET_NAT ? "nat" : "bridge");
	if (n->bridge)
		prop(&t, el(&t, root, NULL, "bridge"), "name", n->bridge);
	if (n->mtu)
		prop_ull(&t, el(&t, root, NULL, "mtu"), "size", n->mtu);
	if (w.mode == NET_OVS_VLAN) {
		add_vlan(&t, root, n->vlan);
		prop(&t, el(&t, root, NULL, "virtualport"), "type", "openvswitch");
	}
	if (w.mode == NET_NAT || w.mode == NET_ISOLATED) {
		ip = el(&t, root, NULL, "ip");
		prop(&t, ip, "address", n->address);
		prop_ull(&t, ip, "prefix", n->prefix);
		if (w.range || n->n_hosts) {
			dhcp = el(&t, ip, NULL, "dhcp");
			if (w.range) {
				h = el(&t, dhcp, NULL, "range");
				prop(&t, h, "start", n->dhcp_start);
				prop(&t, h, "end", n->dhcp_end);
			}
			for (i = 0; i < n->n_hosts; i++) {
				uint8_t mac[6];
				char mac_s[18];

				/* checked by check_network: written lowercase */
				if (identity_mac_parse(n->hosts[i].mac, mac) < 0)
					t.oom = true;
				identity_mac_format(mac, mac_s);
				h = el(&t, dhcp, NULL, "host");
				prop(&t, h, "mac", mac_s);
				if (n->hosts[i].name)
					prop(&t, h, "name", n->hosts[i].name);
				prop(&t, h, "ip", n->hosts[i].ip);
			}
		}
	}
	return tree_to_string(&t, root, XML_SAVE_FORMAT, err);
}

/* ---- storage --------------------------------------------------------------- */

char *domxml_pool_format(const char *name, const char *path, struct muster_err *err)
{
	struct tree t = { 0 };
	xmlNodePtr root, target;

	if (check_name("pool name", name, err) < 0 || check_path("pool path", path, err) < 0)
		return NULL;
	root = tree_root(&t, "pool");
	prop(&t, root, "type", "dir");
	text_el(&t, root, "name", name);
	target = el(&t, root, NULL, "target");
	text_el(&t, target, "path", path);
	/* qemu (another user) must reach its volumes; listing them is ours */
	text_el(&t, el(&t, target, NULL, "permissions"), "mode", "0711");
	return tree_to_string(&t, root, XML_SAVE_FORMAT, err);
}

char *domxml_volume_format(const struct domxml_volume *v, struct muster_err *err)
{
	struct tree t = { 0 };
	xmlNodePtr root, target, backing, cap;

	if (check_name("volume name", v->name, err) < 0 ||
	    check_value("volume format", v->format, err) < 0 ||
	    (v->backing_path && (check_path("backing store", v->backing_path, err) < 0 ||
				 check_value("backing format", v->backing_format, err) < 0)))
		return NULL;
	if (v->capacity == 0) {
		err_set(err, MUSTER_E_INVALID, "volume '%s' has no capacity", v->name);
		return NULL;
	}
	root = tree_root(&t, "volume");
	text_el(&t, root, "name", v->name);
	cap = text_el_ull(&t, root, "capacity", v->capacity);
	prop(&t, cap, "unit", "bytes");
	/* thin: a linked clone starts at a few hundred KiB, and grows */
	prop(&t, text_el_ull(&t, root, "allocation", 0), "unit", "bytes");
	target = el(&t, root, NULL, "target");
	prop(&t, el(&t, target, NULL, "format"), "type", v->format);
	/* disks and seeds hold secrets (host keys): only their owner reads them */
	text_el(&t, el(&t, target, NULL, "permissions"), "mode", "0600");
	if (v->backing_path) {
		backing = el(&t, root, NULL, "backingStore");
		text_el(&t, backing, "path", v->backing_path);
		prop(&t, el(&t, backing, NULL, "format"), "type", v->backing_format);
	}
	return tree_to_string(&t, root, XML_SAVE_FORMAT, err);
}

/* ---- reading live XML ---------------------------------------------------- */

/* Parse libvirt's XML for an object whose root element is root_name. */
static xmlDocPtr live_parse(const char *xml, const char *root_name, struct muster_err *err)
{
	size_t len = strlen(xml);
	xmlDocPtr doc;
	xmlNodePtr root;

	if (len > LIVE_XML_MAX) {
		err_set(err, MUSTER_E_INVALID, "%s XML is larger than %u bytes", root_name,
			LIVE_XML_MAX);
		return NULL;
	}
	doc = xmlReadMemory(xml, (int) len, "live.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		err_set(err, MUSTER_E_INVALID, "%s XML is not well-formed", root_name);
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (doc->intSubset || doc->extSubset) {
		err_set(err, MUSTER_E_INVALID, "%s XML must not carry a DTD", root_name);
	} else if (!root || root->ns || !xmlStrEqual(root->name, X(root_name))) {
		err_set(err, MUSTER_E_INVALID, "XML is not a libvirt %s (no <%s> root element)",
			root_name, root_name);
	} else {
		return doc;
	}
	xmlFreeDoc(doc);
	return NULL;
}

/* The next element named name, in no namespace, from n on (n included). */
static xmlNodePtr find_from(xmlNodePtr n, const char *name)
{
	for (; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, X(name)))
			return n;
	return NULL;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
	return parent ? find_from(parent->children, name) : NULL;
}

static xmlNodePtr next_named(xmlNodePtr n)
{
	return find_from(n->next, (const char *) n->name);
}

static size_t count_children(xmlNodePtr parent, const char *name)
{
	size_t k = 0;
	xmlNodePtr n;

	for (n = child(parent, name); n; n = next_named(n))
		k++;
	return k;
}

/* Whether attribute name of n is value (an absent attribute equals NULL). */
static bool attr_is(xmlNodePtr n, const char *name, const char *value)
{
	xmlChar *v = n ? xmlGetNoNsProp(n, X(name)) : NULL;
	bool eq = v ? value && xmlStrEqual(v, X(value)) : !value;

	xmlFree(v);
	return eq;
}

int domxml_channel_path(const char *domain_xml, const char *channel_name, char **ret,
			struct muster_err *err)
{
	xmlDocPtr doc;
	xmlNodePtr ch, src;
	char *path = NULL;
	int r = -1;

	if (check_value("channel name", channel_name, err) < 0)
		return -1;
	doc = live_parse(domain_xml, "domain", err);
	if (!doc)
		return -1;
	for (ch = child(child(xmlDocGetRootElement(doc), "devices"), "channel"); ch;
	     ch = next_named(ch))
		if (attr_is(child(ch, "target"), "name", channel_name))
			break;
	if (!ch) {
		err_set(err, MUSTER_E_NOTFOUND, "domain has no channel '%s'", channel_name);
		goto out;
	}
	if (!attr_is(ch, "type", "unix")) {
		err_set(err, MUSTER_E_INVALID, "channel '%s' is not a unix socket", channel_name);
		goto out;
	}
	for (src = child(ch, "source"); src && !xmlHasProp(src, X("path")); src = next_named(src))
		;
	if (!src) {
		err_set(err, MUSTER_E_NOTFOUND,
			"channel '%s' has no socket path yet (libvirt sets it when the domain starts)",
			channel_name);
		goto out;
	}
	path = attr(src, "path");
	if (!path) {
		err_nomem(err);
		goto out;
	}
	*ret = path;
	r = 0;
out:
	xmlFreeDoc(doc);
	return r;
}

int domxml_console_log(const char *domain_xml, char **ret, struct muster_err *err)
{
	xmlDocPtr doc = live_parse(domain_xml, "domain", err);
	xmlNodePtr log;
	char *path = NULL;

	if (!doc)
		return -1;
	log = child(child(child(xmlDocGetRootElement(doc), "devices"), "serial"), "log");
	if (log && xmlHasProp(log, X("file")) && !(path = attr(log, "file"))) {
		xmlFreeDoc(doc);
		return err_nomem(err);
	}
	xmlFreeDoc(doc);
	*ret = path;
	return 0;
}

/* An IPv4 attribute of n as a number; false when absent or not an address. */
static bool attr_ipv4(xmlNodePtr n, const char *name, uint32_t *ret)
{
	xmlChar *v = xmlGetNoNsProp(n, X(name));
	struct in_addr a;
	bool ok = v && inet_pton(AF_INET, (const char *) v, &a) == 1;

	xmlFree(v);
	if (ok)
		*ret = ntohl(a.s_addr);
	return ok;
}

/* The <ip> element's prefix, from prefix= or netmask=; 0 when neither makes sense. */
static unsigned live_prefix(xmlNodePtr ip)
{
	xmlChar *v = xmlGetNoNsProp(ip, X("prefix"));
	uint32_t mask;
	unsigned p = 0;

	if (v) {
		char *end;
		unsigned long l = strtoul((const char *) v, &end, 10);

		if (end != (char *) v && !*end && l <= 32)
			p = (unsigned) l;
		xmlFree(v);
		return p;
	}
	if (!attr_ipv4(ip, "netmask", &mask))
		return 0;
	while (p < 32 && (mask & (UINT32_C(1) << (31 - p))))
		p++;
	return p < 32 && (mask << p) ? 0 : p;	/* not contiguous */
}

static enum net_mode live_mode(xmlNodePtr root)
{
	xmlNodePtr fwd = child(root, "forward");

	if (!fwd)
		return NET_ISOLATED;
	/* a <forward> without mode is NAT (formatnetwork) */
	if (attr_is(fwd, "mode", NULL) || attr_is(fwd, "mode", "nat"))
		return NET_NAT;
	if (!attr_is(fwd, "mode", "bridge"))
		return NET_OTHER;
	return attr_is(child(root, "virtualport"), "type", "openvswitch") ? NET_OVS_VLAN : NET_BRIDGE;
}

/*
 * Whether the live <ip> element holds exactly what w and n want: *ret.
 * -1 only when out of memory.
 */
static int live_ip_matches(xmlNodePtr ip, const struct domxml_network *n,
			   const struct net_want *w, bool *ret, struct muster_err *err)
{
	struct host_key *live = NULL;
	xmlChar **names = NULL;
	xmlNodePtr dhcp, range, h;
	uint32_t a, b;
	size_t k, nh;
	int r = -1;

	*ret = false;
	if (!attr_is(ip, "family", NULL) && !attr_is(ip, "family", "ipv4"))
		return 0;
	if (!attr_ipv4(ip, "address", &a) || a != w->addr || live_prefix(ip) != n->prefix)
		return 0;
	dhcp = child(ip, "dhcp");
	range = child(dhcp, "range");
	if (count_children(dhcp, "range") != (w->range ? 1u : 0u))
		return 0;
	if (range && (!attr_ipv4(range, "start", &a) || !attr_ipv4(range, "end", &b) ||
		      a != w->start || b != w->end))
		return 0;
	nh = count_children(dhcp, "host");
	if (nh != n->n_hosts)
		return 0;
	if (!nh) {
		*ret = true;
		return 0;
	}
	live = calloc(nh, sizeof(*live));
	names = calloc(nh, sizeof(*names));
	if (!live || !names) {
		err_nomem(err);
		goto out;
	}
	for (h = child(dhcp, "host"), k = 0; h; h = next_named(h), k++) {
		xmlChar *mac = xmlGetNoNsProp(h, X("mac"));
		bool good = mac && identity_mac_parse((const char *) mac, live[k].mac) == 0 &&
			    attr_ipv4(h, "ip", &live[k].ip);

		xmlFree(mac);
		if (!good) {
			r = 0;
			goto out;
		}
		if (xmlHasProp(h, X("name"))) {
			names[k] = xmlGetNoNsProp(h, X("name"));
			if (!names[k]) {
				err_nomem(err);
				goto out;
			}
		}
		live[k].name = (const char *) names[k];
	}
	qsort(live, nh, sizeof(*live), host_key_cmp);
	for (k = 0; k < nh && !host_key_cmp(&live[k], &w->hosts[k]); k++)
		;
	*ret = k == nh;
	r = 0;
out:
	for (k = 0; names && k < nh; k++)
		xmlFree(names[k]);
	free(names);
	free(live);
	return r;
}

int domxml_network_matches(const char *live_xml, const struct domxml_network *want, bool *ret,
			   struct muster_err *err)
{
	struct net_want w;
	xmlDocPtr doc;
	xmlNodePtr root, br, tag;
	xmlChar *name;
	bool ok;
	int r = 0;

	if (check_network(want, &w, err) < 0)
		return -1;
	doc = live_parse(live_xml, "network", err);
	if (!doc) {
		free(w.hosts);
		return -1;
	}
	root = xmlDocGetRootElement(doc);
	name = child(root, "name") ? xmlNodeGetContent(child(root, "name")) : NULL;
	ok = name && xmlStrEqual(name, X(want->name)) && live_mode(root) == w.mode;
	xmlFree(name);

	br = child(root, "bridge");
	if (ok && (want->bridge || w.mode == NET_BRIDGE || w.mode == NET_OVS_VLAN))
		ok = attr_is(br, "name", want->bridge);

	tag = child(child(root, "vlan"), "tag");
	if (ok && w.mode == NET_OVS_VLAN) {
		char id[12];

		fmt_fit(id, sizeof(id), "%u", want->vlan);
		ok = count_children(child(root, "vlan"), "tag") == 1 && attr_is(tag, "id", id);
	} else if (ok) {
		ok = !tag;
	}

	if (ok) {
		/* the MTU as wanted; none when none is (libvirt writes none by itself) */
		char size[12];

		fmt_fit(size, sizeof(size), "%u", want->mtu);
		ok = want->mtu ? count_children(root, "mtu") == 1 && attr_is(child(root, "mtu"),
									      "size", size)
			       : !child(root, "mtu");
	}
	if (ok && (w.mode == NET_NAT || w.mode == NET_ISOLATED)) {
		ok = count_children(root, "ip") == 1;
		if (ok && live_ip_matches(child(root, "ip"), want, &w, &ok, err) < 0)
			r = -1;
	} else if (ok) {
		ok = count_children(root, "ip") == 0;
	}

	free(w.hosts);
	xmlFreeDoc(doc);
	if (r == 0)
		*ret = ok;
	return r;
}

/* ---- DHCP hosts of a live network ---------------------------------------------- */

void domxml_hosts_free(struct domxml_dhcp_host *h, size_t n)
{
	size_t i;

	for (i = 0; h && i < n; i++) {
		free((char *) h[i].mac);
		free((char *) h[i].ip);
		free((char *) h[i].name);
	}
	free(h);
}

int domxml_network_hosts(const char *live_xml, struct domxml_dhcp_host **ret, size_t *ret_n,
			 struct muster_err *err)
{
	xmlDocPtr doc = live_parse(live_xml, "network", err);
	struct domxml_dhcp_host *v = NULL;
	xmlNodePtr dhcp, h;
	size_t n = 0, k = 0;

	if (!doc)
		return -1;
	dhcp = child(child(xmlDocGetRootElement(doc), "ip"), "dhcp");
	n = count_children(dhcp, "host");
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		xmlFreeDoc(doc);
		return err_nomem(err);
	}
	for (h = child(dhcp, "host"); h; h = next_named(h), k++) {
		v[k].mac = attr(h, "mac");
		v[k].ip = attr(h, "ip");
		v[k].name = attr(h, "name");
	}
	xmlFreeDoc(doc);
	*ret = v;
	*ret_n = n;
	return 0;
}

char *domxml_dhcp_host_format(const struct domxml_dhcp_host *h, struct muster_err *err)
{
	struct tree t = { 0 };
	xmlNodePtr root;

	if (check_optional("DHCP host MAC", h->mac, err) < 0 ||
	    check_optional("DHCP host address", h->ip, err) < 0 ||
	    check_optional("DHCP host name", h->name, err) < 0)
		return NULL;
	root = tree_root(&t, "host");
	if (h->mac)
		prop(&t, root, "mac", h->mac);
	if (h->name)
		prop(&t, root, "name", h->name);
	if (h->ip)
		prop(&t, root, "ip", h->ip);
	return tree_to_string(&t, root, 0, err);
}

int domxml_network_range(const char *live_xml, char **start, char **end,
			 struct muster_err *err)
{
	xmlDocPtr doc = live_parse(live_xml, "network", err);
	xmlNodePtr range;

	*start = *end = NULL;
	if (!doc)
		return -1;
	range = child(child(child(xmlDocGetRootElement(doc), "ip"), "dhcp"), "range");
	if (range && xmlHasProp(range, X("start")) && xmlHasProp(range, X("end"))) {
		*start = attr(range, "start");
		*end = attr(range, "end");
		if (!*start || !*end) {
			free(*start);
			free(*end);
			*start = *end = NULL;
			xmlFreeDoc(doc);
			return err_nomem(err);
		}
	}
	xmlFreeDoc(doc);
	return 0;
}

char *domxml_dhcp_range_format(const char *start, const char *end, struct muster_err *err)
{
	struct tree t = { 0 };
	xmlNodePtr root;

	if (check_value("DHCP range start", start, err) < 0 ||
	    check_value("DHCP range end", end, err) < 0)
		return NULL;
	root = tree_root(&t, "range");
	prop(&t, root, "start", start);
	prop(&t, root, "end", end);
	return tree_to_string(&t, root, 0, err);
}

void domxml_init(void)
{
	xmlInitParser();
}

/* ---- facts: what a definition says (facts.h) ---------------------------- */

/* The text of element n, trimmed, as a number; false when absent or not one. */
static bool text_ull(xmlNodePtr n, unsigned long long *ret)
{
	xmlChar *v = n ? xmlNodeGetContent(n) : NULL;
	const char *s = (const char *) v;
	char *end;
	bool ok = false;

	if (s) {
		while (*s == ' ' || *s == '\n' || *s == '\t')
			s++;
		errno = 0;
		*ret = strtoull(s, &end, 10);
		while (*end == ' ' || *end == '\n' || *end == '\t')
			end++;
		ok = *s >= '0' && *s <= '9' && !*end && errno == 0;
	}
	xmlFree(v);
	return ok;
}

static char *text_dup(xmlNodePtr n, bool *failed)
{
	xmlChar *v;
	char *s;

	if (!n)
		return NULL;
	v = xmlNodeGetContent(n);
	s = v ? strdup((const char *) v) : NULL;
	if (v && !s)
		*failed = true;
	xmlFree(v);
	return s;
}

static char *attr_or_fail(xmlNodePtr n, const char *name, bool *failed)
{
	char *s;

	if (!n || !xmlHasProp(n, X(name)))
		return NULL;
	s = attr(n, name);
	if (!s)
		*failed = true;
	return s;
}

/* <memory unit=...>N</memory> in KiB (libvirt writes KiB; other units are read too). */
static unsigned long long memory_kib(xmlNodePtr n)
{
	static const struct { const char *unit; unsigned long long mul, div; } units[] = {
		{ "b", 1, 1024 }, { "bytes", 1, 1024 }, { "k", 1, 1 }, { "KiB", 1, 1 },
		{ "M", 1024, 1 }, { "MiB", 1024, 1 }, { "G", 1024 * 1024, 1 },
		{ "GiB", 1024 * 1024, 1 },
	};
	unsigned long long v;
	size_t i;

	if (!text_ull(n, &v))
		return 0;
	if (attr_is(n, "unit", NULL))
		return v;
	for (i = 0; i < ARRAY_SIZE(units); i++)
		if (attr_is(n, "unit", units[i].unit))
			return v / units[i].div * units[i].mul;
	return 0;
}

/* A disk's source as facts.h writes it. */
static char *disk_source(xmlNodePtr disk, bool *failed)
{
	xmlNodePtr src = child(disk, "source");
	const char *what = NULL, *attr1 = NULL, *attr2 = NULL;
	char *a = NULL, *b = NULL, *s = NULL;

	if (attr_is(disk, "type", "volume"))
		what = "volume", attr1 = "pool", attr2 = "volume";
	else if (attr_is(disk, "type", "file"))
		what = "file", attr1 = "file";
	else if (attr_is(disk, "type", "block"))
		what = "block", attr1 = "dev";
	if (!what || !src || !xmlHasProp(src, X(attr1)))
		return strdup("none") ? : (*failed = true, NULL);
	a = attr_or_fail(src, attr1, failed);
	b = attr2 ? attr_or_fail(src, attr2, failed) : NULL;
	if (a && asprintf(&s, "%s %s%s%s", what, a, b ? "/" : "", b ? b : "") < 0) {
		s = NULL;
		*failed = true;
	}
	free(a);
	free(b);
	return s;
}

/* muster's <vm> element in <metadata>: in muster's namespace (or in none, as written). */
static xmlNodePtr meta_element(xmlNodePtr root)
{
	xmlNodePtr n;

	for (n = child(root, "metadata") ? child(root, "metadata")->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, X("vm")) &&
		    (!n->ns || xmlStrEqual(n->ns->href, X(DOMXML_NS))))
			return n;
	return NULL;
}

int domxml_facts_parse(const char *domain_xml, struct domain_facts *ret, struct muster_err *err)
{
	xmlDocPtr doc = live_parse(domain_xml, "domain", err);
	struct domain_facts f = { .read = true };
	xmlNodePtr root, os, devs, n, meta;
	unsigned long long v;
	bool failed = false;
	size_t k;

	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if ((meta = meta_element(root))) {
		f.config_hash = attr_or_fail(meta, "config", &failed);
		f.base_hash = attr_or_fail(meta, "base", &failed);
	}
	f.memory_kib = memory_kib(child(root, "memory"));
	n = child(root, "vcpu");
	if (n && xmlHasProp(n, X("current"))) {
		xmlChar *c = xmlGetNoNsProp(n, X("current"));

		f.vcpus = (unsigned) strtoul((const char *) c, NULL, 10);
		xmlFree(c);
	} else if (text_ull(n, &v) && v <= UINT_MAX) {
		f.vcpus = (unsigned) v;
	}
	os = child(root, "os");
	f.kernel = text_dup(child(os, "kernel"), &failed);
	f.initrd = text_dup(child(os, "initrd"), &failed);
	f.cmdline = text_dup(child(os, "cmdline"), &failed);
	devs = child(root, "devices");
	f.disks = calloc(count_children(devs, "disk") + 1, sizeof(*f.disks));
	f.nics = calloc(count_children(devs, "interface") + 1, sizeof(*f.nics));
	if (!f.disks || !f.nics)
		failed = true;
	for (n = child(devs, "disk"); !failed && n; n = next_named(n)) {
		struct disk_fact *d = &f.disks[f.n_disks++];

		d->device = attr_or_fail(n, "device", &failed);
		d->source = disk_source(n, &failed);
	}
	for (n = child(devs, "interface"); !failed && n; n = next_named(n)) {
		struct nic_fact *i = &f.nics[f.n_nics++];
		xmlNodePtr src = child(n, "source"), tag = child(child(n, "vlan"), "tag");
		xmlChar *id;

		i->kind = attr_or_fail(n, "type", &failed);
		i->mac = attr_or_fail(child(n, "mac"), "address", &failed);
		for (k = 0; i->mac && i->mac[k]; k++)
			i->mac[k] = (char) tolower((unsigned char) i->mac[k]);
		i->source = attr_or_fail(src, "network", &failed);
		if (!i->source && !failed)
			i->source = attr_or_fail(src, "bridge", &failed);
		if (tag && (id = xmlGetNoNsProp(tag, X("id")))) {
			i->vlan = (unsigned) strtoul((const char *) id, NULL, 10);
			xmlFree(id);
		}
	}
	xmlFreeDoc(doc);
	if (failed) {
		facts_release(&f);
		return err_nomem(err);
	}
	*ret = f;
	return 0;
}

int domxml_volume_facts(const char *vol_xml, struct listed_volume *ret, struct muster_err *err)
{
	xmlDocPtr doc = live_parse(vol_xml, "volume", err);
	xmlNodePtr root, bs;
	bool failed = false;

	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	ret->path = text_dup(child(child(root, "target"), "path"), &failed);
	if (!text_ull(child(root, "capacity"), &ret->capacity) ||
	    !attr_is(child(root, "capacity"), "unit", "bytes"))
		ret->capacity = 0;
	ret->format = attr_or_fail(child(child(root, "target"), "format"), "type", &failed);
	ret->mtime = text_dup(child(child(child(root, "target"), "timestamps"), "mtime"), &failed);
	bs = child(root, "backingStore");
	ret->backing_path = text_dup(child(bs, "path"), &failed);
	ret->backing_format = attr_or_fail(child(bs, "format"), "type", &failed);
	xmlFreeDoc(doc);
	return failed ? err_nomem(err) : 0;
}
