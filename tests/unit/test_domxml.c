/*
 * test_domxml.c: muster's domain <metadata> element, formatted and parsed;
 * domain and network XML checked by virt-xml-validate and against golden
 * files in tests/xml (REGEN=1 rewrites them: review the diff); hostile values
 * read back with libxml2 as the very same values; refused input; the channel
 * socket and console log read from live XML; network idempotence.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "buf.h"
#include "testutil.h"
#include "domxml.h"

extern char **environ;

#define NS_ATTR "xmlns:m='" DOMXML_NS "'"

/* A meta whose fields all point at a sentinel, to see they are left alone. */
static char sentinel[] = "untouched";

static void meta_sentinel(struct domxml_meta *m)
{
	m->fleet = m->vm = m->group = m->config_hash = m->base_hash = sentinel;
}

static void assert_meta_equal(const struct domxml_meta *a, const struct domxml_meta *b)
{
	assert_string_equal(a->fleet, b->fleet);
	assert_string_equal(a->vm, b->vm);
	if (b->group)
		assert_string_equal(a->group, b->group);
	else
		assert_null(a->group);
	if (b->config_hash)
		assert_string_equal(a->config_hash, b->config_hash);
	else
		assert_null(a->config_hash);
	if (b->base_hash)
		assert_string_equal(a->base_hash, b->base_hash);
	else
		assert_null(a->base_hash);
}

/* Format m, parse the text back, compare; return the text (caller frees). */
static char *round_trip(const struct domxml_meta *m)
{
	struct muster_err err = { 0 };
	struct domxml_meta back = { 0 };
	char *xml = domxml_meta_format(m, &err);

	assert_non_null(xml);
	assert_int_equal(domxml_meta_parse(xml, &back, &err), 0);
	assert_meta_equal(&back, m);
	domxml_meta_release(&back);
	assert_null(back.fleet);
	assert_null(back.vm);
	return xml;
}

static void test_round_trip_all_fields(void **state)
{
	const struct domxml_meta m = {
		.fleet = (char *) "web", .vm = (char *) "web-001", .group = (char *) "front",
		.config_hash = (char *) "3f2a9c0e5b7d",
		.base_hash = (char *) "9e107d9d372bb6826bd81d3542a419d6",
	};
	char *xml;

	(void) state;
	xml = round_trip(&m);
	/* written in muster's namespace, with its prefix */
	assert_non_null(strstr(xml, "<" DOMXML_NS_PREFIX ":vm"));
	assert_non_null(strstr(xml, "xmlns:" DOMXML_NS_PREFIX "=\"" DOMXML_NS "\""));
	assert_non_null(strstr(xml, "fleet=\"web\""));
	assert_non_null(strstr(xml, "name=\"web-001\""));
	assert_non_null(strstr(xml, "group=\"front\""));
	assert_non_null(strstr(xml, "config=\"3f2a9c0e5b7d\""));
	assert_non_null(strstr(xml, "base=\"9e107d9d372bb6826bd81d3542a419d6\""));
	assert_null(strstr(xml, "<?xml"));
	free(xml);
}

static void test_round_trip_required_only(void **state)
{
	const struct domxml_meta m = { .fleet = (char *) "f", .vm = (char *) "v" };
	char *xml;

	(void) state;
	xml = round_trip(&m);
	assert_null(strstr(xml, "group="));
	assert_null(strstr(xml, "config="));
	assert_null(strstr(xml, "base="));
	free(xml);
}

static void test_round_trip_xml_specials(void **state)
{
	static const char *const values[] = {
		"<disk/>",
		"a<b>c&d\"e'f",
		"&amp; &lt; not an entity",
		"\"/><disk type='file'><source file='/etc/shadow'/></disk><x a=\"",
		"'/><devices><disk/></devices><vm fleet='x",
		"]]> <!-- --> <![CDATA[",
		"tab\tand spaces  ",
		"caf\xc3\xa9 \xe2\x9c\x93",
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(values); i++) {
		const struct domxml_meta m = {
			.fleet = (char *) values[i], .vm = (char *) values[i],
			.group = (char *) values[i], .config_hash = (char *) values[i],
			.base_hash = (char *) values[i],
		};
		char *xml = round_trip(&m);

		assert_null(strstr(xml, "<disk"));
		assert_null(strstr(xml, "<source"));
		assert_null(strstr(xml, "<devices"));
		assert_null(strstr(xml, "<!--"));
		assert_null(strstr(xml, "<![CDATA["));
		/* one element, nothing after it but whitespace */
		assert_non_null(strstr(xml, "/>"));
		assert_null(strchr(strstr(xml, "/>") + 2, '<'));
		free(xml);
	}
}

static void test_parse_forms(void **state)
{
	static const struct {
		const char *xml;
		const char *group;
	} cases[] = {
		/* what libvirt's virDomainGetMetadata returns: no namespace */
		{ "<vm fleet='a' name='b'/>", NULL },
		{ "<vm fleet='a' name='b' group='g' config='c' base='d'/>", "g" },
		{ "<vm fleet=\"a\" name=\"b\" group=\"g\"></vm>", "g" },
		{ "<?xml version='1.0'?>\n<vm fleet='a' name='b'/>\n", NULL },
		/* the form muster writes */
		{ "<m:vm " NS_ATTR " fleet='a' name='b' group='g' config='c' base='d'/>", "g" },
		{ "<vm xmlns='" DOMXML_NS "' fleet='a' name='b'/>", NULL },
		/* an unknown attribute or child is ignored */
		{ "<vm fleet='a' name='b' extra='1'><note/></vm>", NULL },
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct muster_err err = { 0 };
		struct domxml_meta m;

		meta_sentinel(&m);
		if (domxml_meta_parse(cases[i].xml, &m, &err) != 0)
			fail_msg("case %zu: %s: refused: %s", i, cases[i].xml, err.msg);
		assert_string_equal(m.fleet, "a");
		assert_string_equal(m.vm, "b");
		if (cases[i].group)
			assert_string_equal(m.group, cases[i].group);
		else
			assert_null(m.group);
		domxml_meta_release(&m);
	}
}

static void test_parse_all_attributes(void **state)
{
	struct muster_err err = { 0 };
	struct domxml_meta m;

	(void) state;
	assert_int_equal(domxml_meta_parse("<vm fleet='web' name='web-007' group='db' "
					   "config='c0ffee' base='bad&amp;1&lt;'/>", &m, &err), 0);
	assert_string_equal(m.fleet, "web");
	assert_string_equal(m.vm, "web-007");
	assert_string_equal(m.group, "db");
	assert_string_equal(m.config_hash, "c0ffee");
	assert_string_equal(m.base_hash, "bad&1<");
	domxml_meta_release(&m);
}

static void test_parse_refused(void **state)
{
	static const struct {
		const char *xml;
		const char *msg;	/* substring of the error */
	} cases[] = {
		/* another namespace, named or default */
		{ "<x:vm xmlns:x='https://example.com/other' fleet='a' name='b'/>", "no <vm> element" },
		{ "<vm xmlns='https://muster.dev/xmlns/domain/2' fleet='a' name='b'/>", "no <vm> element" },
		{ "<vm xmlns='" DOMXML_NS "x' fleet='a' name='b'/>", "no <vm> element" },
		/* another element */
		{ "<domain fleet='a' name='b'/>", "no <vm> element" },
		{ "<m:host " NS_ATTR " fleet='a' name='b'/>", "no <vm> element" },
		{ "<VM fleet='a' name='b'/>", "no <vm> element" },
		{ "<metadata><vm fleet='a' name='b'/></metadata>", "no <vm> element" },
		/* required attributes */
		{ "<vm name='b'/>", "lacks fleet or name" },
		{ "<vm fleet='a'/>", "lacks fleet or name" },
		{ "<vm fleet='a' vm='b'/>", "lacks fleet or name" },
		{ "<m:vm " NS_ATTR " group='g'/>", "lacks fleet or name" },
		/* attributes in another namespace are not ours */
		{ "<vm xmlns:x='https://example.com/evil' x:fleet='a' x:name='b'/>",
		  "lacks fleet or name" },
		/* a DTD could default the attributes */
		{ "<!DOCTYPE vm [<!ATTLIST vm fleet CDATA 'dflt'>]><vm name='b'/>", "DTD" },
		/* not XML */
		{ "", "not well-formed" },
		{ "vm fleet=a name=b", "not well-formed" },
		{ "<vm fleet='a' name='b'>", "not well-formed" },
		{ "<vm fleet='a' name='b'/><vm fleet='c' name='d'/>", "not well-formed" },
		{ "<vm fleet='a&' name='b'/>", "not well-formed" },
		{ "<vm fleet='a' fleet='c' name='b'/>", "not well-formed" },
		{ "<vm fleet='a name='b'/>", "not well-formed" },
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct muster_err err = { 0 };
		struct domxml_meta m;

		meta_sentinel(&m);
		if (domxml_meta_parse(cases[i].xml, &m, &err) != -1)
			fail_msg("case %zu: %s: accepted", i, cases[i].xml);
		assert_int_equal(err.code, MUSTER_E_INVALID);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: %s: error '%s', want '%s'", i, cases[i].xml, err.msg,
				 cases[i].msg);
		/* nothing was handed back */
		assert_ptr_equal(m.fleet, sentinel);
		assert_ptr_equal(m.vm, sentinel);
		assert_ptr_equal(m.group, sentinel);
		assert_ptr_equal(m.config_hash, sentinel);
		assert_ptr_equal(m.base_hash, sentinel);
		/* and err may be NULL */
		assert_int_equal(domxml_meta_parse(cases[i].xml, &m, NULL), -1);
	}
}

/* A valid <vm/> of exactly len bytes (len >= 64); caller frees. */
static char *vm_of_length(size_t len)
{
	static const char head[] = "<vm fleet='a' name='b' group='", tail[] = "'/>";
	size_t fill = len - (sizeof(head) - 1) - (sizeof(tail) - 1);
	char *s = malloc(len + 1);

	assert_non_null(s);
	memcpy(s, head, sizeof(head) - 1);
	memset(s + sizeof(head) - 1, 'g', fill);
	memcpy(s + sizeof(head) - 1 + fill, tail, sizeof(tail));
	assert_int_equal(strlen(s), len);
	return s;
}

static void test_parse_size_limit(void **state)
{
	struct muster_err err = { 0 };
	struct domxml_meta m;
	char *xml;

	(void) state;
	xml = vm_of_length(65536);
	assert_int_equal(domxml_meta_parse(xml, &m, &err), 0);
	assert_int_equal(strlen(m.group), 65536 - strlen("<vm fleet='a' name='b' group=''/>"));
	domxml_meta_release(&m);
	free(xml);

	xml = vm_of_length(65537);
	meta_sentinel(&m);
	assert_int_equal(domxml_meta_parse(xml, &m, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_non_null(strstr(err.msg, "too large"));
	assert_ptr_equal(m.fleet, sentinel);
	free(xml);

	xml = vm_of_length(1u << 20);
	assert_int_equal(domxml_meta_parse(xml, &m, &err), -1);
	assert_non_null(strstr(err.msg, "too large"));
	free(xml);
}

static void test_parse_external_entity(void **state)
{
	struct muster_err err = { 0 };
	struct domxml_meta m;

	(void) state;
	/* an external entity in an attribute is not well-formed: never read */
	meta_sentinel(&m);
	assert_int_equal(domxml_meta_parse("<!DOCTYPE vm [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
					   "<vm fleet='a' name='b' group='&x;'/>", &m, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_ptr_equal(m.group, sentinel);
}

static void test_release(void **state)
{
	struct domxml_meta m = { 0 };

	(void) state;
	domxml_meta_release(NULL);
	domxml_meta_release(&m);
	m.fleet = strdup("f");
	m.vm = strdup("v");
	assert_non_null(m.fleet);
	assert_non_null(m.vm);
	domxml_meta_release(&m);
	assert_null(m.fleet);
	assert_null(m.vm);
	assert_null(m.group);
}

/* ---- helpers for domain and network XML ---------------------------------- */

/* path of tests/xml/name, found from this file's own path (tests/unit/...). */
static void xml_path(char *dst, size_t size, const char *name)
{
	const char *f = __FILE__, *unit = strstr(f, "unit/test_domxml.c");
	int n;

	assert_non_null(unit);
	n = snprintf(dst, size, "%.*sxml/%s", (int) (unit - f), f, name);
	assert_true(n > 0 && (size_t) n < size);
}

/* The whole file (caller frees), or NULL if it cannot be read. */
static char *read_file(const char *path)
{
	struct buf b = BUF_INIT(64u << 20);
	char chunk[4096];
	size_t n;
	FILE *fp = fopen(path, "rb");

	if (!fp)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), 0);
	assert_int_equal(ferror(fp), 0);
	fclose(fp);
	(void) buf_puts(&b, "");
	return buf_detach(&b);
}

static void write_file(const char *path, const char *data)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, strlen(data), fp), strlen(data));
	assert_int_equal(fclose(fp), 0);
}

/* virt-xml-validate accepts xml as a kind ("domain", "network") document. */
static void assert_schema_valid(const char *xml, const char *kind, const char *label)
{
	const char *base = getenv("TMPDIR");
	struct buf out = BUF_INIT(1u << 20);
	char path[512];
	const char *argv[] = { "virt-xml-validate", path, kind, NULL };
	int fd, rc;

	assert_true((size_t) snprintf(path, sizeof(path), "%s/domxml-XXXXXX.xml",
				      base && *base ? base : "/tmp") < sizeof(path));
	fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, xml, strlen(xml)), (ssize_t) strlen(xml));
	assert_int_equal(close(fd), 0);
	rc = tu_run(argv, &out, true);
	(void) unlink(path);
	if (rc != 0)
		fail_msg("%s: virt-xml-validate %s exited %d: %s\n%s", label, kind, rc, buf_str(&out),
			 xml);
	buf_release(&out);
}

/* xml is what tests/xml/name holds; REGEN=1 writes it there instead. */
static void assert_golden(const char *xml, const char *name)
{
	const char *regen = getenv("REGEN");
	char path[512];
	char *want;
	size_t i;

	xml_path(path, sizeof(path), name);
	if (regen && streq(regen, "1"))
		write_file(path, xml);
	want = read_file(path);
	if (!want)
		fail_msg("%s: cannot read golden file (REGEN=1 writes it): %s", path, strerror(errno));
	if (!streq(want, xml)) {
		for (i = 0; want[i] && want[i] == xml[i]; i++)
			;
		fail_msg("%s differs at byte %zu (REGEN=1 rewrites it; review the diff):\n%s", path, i,
			 xml);
	}
	free(want);
}

static xmlDocPtr reparse(const char *xml)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);

	if (!doc)
		fail_msg("not well-formed:\n%s", xml);
	return doc;
}

/* Elements named name (any namespace) in the subtree of n; comments and CDATA into *odd. */
static size_t count_named(xmlNodePtr n, const char *name, size_t *odd)
{
	size_t k = 0;

	for (; n; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *) name))
			k++;
		if (odd && (n->type == XML_COMMENT_NODE || n->type == XML_CDATA_SECTION_NODE ||
			    n->type == XML_PI_NODE || n->type == XML_ENTITY_REF_NODE))
			(*odd)++;
		k += count_named(n->children, name, odd);
	}
	return k;
}

static size_t count_in(const char *xml, const char *name)
{
	xmlDocPtr doc = reparse(xml);
	size_t k = count_named(doc->children, name, NULL);

	xmlFreeDoc(doc);
	return k;
}

/* The element at a path of element names from the root ("devices/serial/log"), or fail. */
static xmlNodePtr at(xmlDocPtr doc, const char *path)
{
	xmlNodePtr n = xmlDocGetRootElement(doc);
	char step[64];

	while (*path) {
		size_t len = strcspn(path, "/");

		assert_true(len < sizeof(step));
		memcpy(step, path, len);
		step[len] = '\0';
		path += len + (path[len] == '/');
		for (n = n->children; n; n = n->next)
			if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *) step))
				break;
		if (!n)
			fail_msg("no element '%s' on the path", step);
	}
	return n;
}

static void assert_attr(xmlNodePtr n, const char *name, const char *want)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *) name);

	if (!v)
		fail_msg("<%s> has no attribute %s", (const char *) n->name, name);
	assert_string_equal((const char *) v, want);
	xmlFree(v);
}

static void assert_text(xmlNodePtr n, const char *want)
{
	xmlChar *v = xmlNodeGetContent(n);

	assert_non_null(v);
	assert_string_equal((const char *) v, want);
	xmlFree(v);
}

/* A copy of s with its only occurrence of from replaced by to (caller frees). */
static char *replace1(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	struct buf b = BUF_INIT(1u << 24);

	if (!p)
		fail_msg("'%s' is not in:\n%s", from, s);
	assert_null(strstr(p + 1, from));
	(void) buf_append(&b, s, (size_t) (p - s));
	(void) buf_puts(&b, to);
	(void) buf_puts(&b, p + strlen(from));
	return buf_detach(&b);
}

/* ---- fixtures ------------------------------------------------------------- */

#define UUID_KVM "3b2f0c1e-8d4a-5f6b-9c7d-0e1f2a3b4c5d"

static const struct domxml_meta meta_web = {
	.fleet = (char *) "web", .vm = (char *) "web-001", .group = (char *) "web",
	.config_hash = (char *) "5d41402abc4b2a76b9719d911017c592a1b2c3d4e5f60718293a4b5c6d7e8f90",
	.base_hash = (char *) "9e107d9d372bb6826bd81d3542a419d6e4d909c2f0c1b2a3948576a1b2c3d4e5",
};

static const struct domxml_nic nics_kvm[] = {
	{ .kind = DOMXML_NIC_NETWORK, .source = "web-front", .mac = "52:54:00:3a:1f:01" },
	{ .kind = DOMXML_NIC_NETWORK, .source = "web-back", .mac = "52:54:00:3A:1F:02" },
};

static const struct domxml_domain dom_kvm = {
	.type = "kvm", .name = "web-web-001", .uuid = UUID_KVM, .meta = &meta_web,
	.vcpus = 2, .memory_kib = 2097152,
	.disk_pool = "muster", .disk_volume = "web-web-001.qcow2",
	.seed_pool = "muster", .seed_volume = "web-web-001-seed.iso",
	.nics = nics_kvm, .n_nics = ARRAY_SIZE(nics_kvm),
};

static const struct domxml_meta meta_demo = {
	.fleet = (char *) "demo", .vm = (char *) "vm-1", .group = (char *) "vm",
	.config_hash = (char *) "aa", .base_hash = (char *) "bb",
};

static const struct domxml_forward fwd_tcg[] = {
	{ .host_addr = "127.0.0.1", .host_port = 22001, .guest_port = 22 },
	{ .host_addr = "127.0.0.1", .host_port = 28001, .guest_port = 80 },
};

static const struct domxml_nic nics_tcg[] = {
	{ .kind = DOMXML_NIC_USER, .mac = "52:54:00:5c:00:01", .forwards = fwd_tcg,
	  .n_forwards = ARRAY_SIZE(fwd_tcg) },
};

static const struct domxml_domain dom_tcg = {
	.type = "qemu", .name = "demo-vm-1", .uuid = "0f9e8d7c-6b5a-5493-8271-605f4e3d2c1b",
	.meta = &meta_demo, .vcpus = 1, .memory_kib = 262144,
	.kernel = "/boot/vmlinuz-6.1.0-28-amd64", .initrd = "/boot/initrd.img-6.1.0-28-amd64",
	.cmdline = "root=/dev/vda console=ttyS0 no_timer_check panic=-1",
	.tcg_tb_cache_mib = 128,
	.disk_pool = "muster", .disk_volume = "demo-vm-1.qcow2",
	.seed_pool = "muster", .seed_volume = "demo-vm-1-seed.iso",
	.nics = nics_tcg, .n_nics = ARRAY_SIZE(nics_tcg),
	.channel_path = "/run/muster/demo-vm-1.agent",
	.console_log = "/var/log/muster/demo-vm-1.console.log",
	.destroy_on_reboot = true,
};

/* NoCloud over HTTP: no seed ISO; cloud-init finds its URL in the SMBIOS serial
 * and reaches muster serve on the QEMU host's loopback (10.0.2.2) through an
 * unrestricted user NIC */

static const struct domxml_nic nics_http[] = {
	{ .kind = DOMXML_NIC_USER, .mac = "52:54:00:5c:00:02", .forwards = fwd_tcg, .n_forwards = 1,
	  .unrestricted = true },
};

static const struct domxml_domain dom_http = {
	.type = "qemu", .name = "demo-vm-2", .uuid = "0f9e8d7c-6b5a-5493-8271-605f4e3d2c1c",
	.meta = &meta_demo, .vcpus = 1, .memory_kib = 262144,
	.disk_pool = "muster", .disk_volume = "demo-vm-2.qcow2",
	.nics = nics_http, .n_nics = ARRAY_SIZE(nics_http),
	.smbios_serial = "ds=nocloud-net;s=http://10.0.2.2:8080/nocloud/vm-2/00112233445566778899aabbccddeeff/",
};

static const struct domxml_meta meta_lab = { .fleet = (char *) "lab", .vm = (char *) "x1" };

static const struct domxml_domain dom_xen = {
	.type = "xen", .name = "lab-x1", .uuid = "7c1d2e3f4a5b5c6d8e7f0a1b2c3d4e5f", .meta = &meta_lab,
	.vcpus = 1, .memory_kib = 524288, .disk_pool = "muster", .disk_volume = "lab-x1.qcow2",
};

static const struct domxml_nic nics_bridge[] = {
	{ .kind = DOMXML_NIC_BRIDGE, .source = "br0", .mac = "52:54:00:10:00:01", .mtu = 1450 },
	{ .kind = DOMXML_NIC_OVS_VLAN, .source = "ovsbr0", .vlan = 42, .mac = "52:54:00:10:00:02" },
};

static const struct domxml_meta meta_db = {
	.fleet = (char *) "web", .vm = (char *) "db-001", .group = (char *) "db",
	.config_hash = (char *) "cc", .base_hash = (char *) "dd",
};

static const struct domxml_domain dom_bridge = {
	.type = "kvm", .name = "web-db-001", .uuid = "a1b2c3d4-e5f6-5a7b-8c9d-0e1f2a3b4c5d",
	.meta = &meta_db, .vcpus = 4, .memory_kib = 8388608,
	.disk_pool = "muster", .disk_volume = "web-db-001.qcow2",
	.seed_pool = "muster", .seed_volume = "web-db-001-seed.iso",
	.nics = nics_bridge, .n_nics = ARRAY_SIZE(nics_bridge),
	.console_log = "/var/log/muster/web-db-001.log",
};

/*
 * A kickstart VM in its two phases (provision.c): the defined domain boots
 * its disk; the installer's one boot (virDomainCreateXML) adds the tree's
 * kernel and initrd from the pool, inst.ks= and inst.repo=, and ends at the
 * installer's reboot.
 */
static const struct domxml_meta meta_ks = {
	.fleet = (char *) "ks", .vm = (char *) "db-001", .group = (char *) "db",
	.config_hash = (char *) "ee", .base_hash = (char *) "ff",
};

static const struct domxml_nic nics_ks[] = {
	{ .kind = DOMXML_NIC_NETWORK, .source = "ks-front", .mac = "52:54:00:6b:00:01" },
};

#define DOM_KS \
	.type = "kvm", .name = "ks-db-001", .uuid = "5d1e2f3a-4b5c-5d6e-8f70-8192a3b4c5d6", \
	.meta = &meta_ks, .vcpus = 2, .memory_kib = 2097152, \
	.disk_pool = "muster", .disk_volume = "ks-db-001.qcow2", \
	.nics = nics_ks, .n_nics = ARRAY_SIZE(nics_ks), \
	.console_log = "/var/lib/muster/console/ks-db-001.log"

static const struct domxml_domain dom_ks_installed = { DOM_KS };

static const struct domxml_domain dom_ks_install = {
	DOM_KS,
	.kernel = "/var/lib/libvirt/images/ks-installer-7a8b60b82b8bdb4a.kernel",
	.initrd = "/var/lib/libvirt/images/ks-installer-0123456789abcdef.initrd",
	.cmdline = "inst.ks=http://192.0.2.1:8080/ks/db-001/00112233445566778899aabbccddeeff "
		   "inst.repo=http://mirror.example.com/rocky/9/BaseOS/x86_64/os/ console=ttyS0,115200n8",
	.destroy_on_reboot = true,
};

static const struct {
	const char *golden;
	const struct domxml_domain *d;
} domains[] = {
	{ "domain-kvm-kickstart-install.xml", &dom_ks_install },
	{ "domain-kvm-kickstart-installed.xml", &dom_ks_installed },
	{ "domain-kvm-network.xml", &dom_kvm },
	{ "domain-qemu-tcg-user.xml", &dom_tcg },
	{ "domain-qemu-nocloud-http.xml", &dom_http },
	{ "domain-xen-minimal.xml", &dom_xen },
	{ "domain-kvm-bridge-ovs.xml", &dom_bridge },
};

static const struct domxml_dhcp_host hosts_front[] = {
	{ .mac = "52:54:00:3a:1f:01", .ip = "10.20.0.10", .name = "web-001" },
	{ .mac = "52:54:00:3a:1f:11", .ip = "10.20.0.11", .name = "web-002" },
};

static const struct domxml_network net_nat = {
	.name = "web-front", .mode = "nat", .address = "10.20.0.1", .prefix = 24,
	.dhcp_start = "10.20.0.100", .dhcp_end = "10.20.0.254",
	.hosts = hosts_front, .n_hosts = ARRAY_SIZE(hosts_front),
};

static const struct domxml_dhcp_host hosts_back[] = {
	{ .mac = "52:54:00:3a:1f:02", .ip = "10.30.0.10" },
};

static const struct domxml_network net_isolated = {
	.name = "web-back", .mode = "isolated", .address = "10.30.0.1", .prefix = 24,
	.dhcp_start = "10.30.0.100", .dhcp_end = "10.30.0.200",
	.hosts = hosts_back, .n_hosts = ARRAY_SIZE(hosts_back), .mtu = 9000,
};

static const struct domxml_network net_bridge = { .name = "web-lan", .mode = "bridge",
						  .bridge = "br0" };

static const struct domxml_network net_ovs = { .name = "web-tenant", .mode = "ovs-vlan",
					       .bridge = "ovsbr0", .vlan = 42 };

static const struct {
	const char *golden;
	const struct domxml_network *n;
} networks[] = {
	{ "network-nat.xml", &net_nat },
	{ "network-isolated.xml", &net_isolated },
	{ "network-bridge.xml", &net_bridge },
	{ "network-ovs-vlan.xml", &net_ovs },
};

static char *domain_ok(const struct domxml_domain *d)
{
	struct muster_err err = { 0 };
	char *xml = domxml_domain_format(d, &err);

	if (!xml)
		fail_msg("domain '%s' refused: %s", d->name, err.msg);
	return xml;
}

static char *network_ok(const struct domxml_network *n)
{
	struct muster_err err = { 0 };
	char *xml = domxml_network_format(n, &err);

	if (!xml)
		fail_msg("network '%s' refused: %s", n->name, err.msg);
	return xml;
}

/* ---- domains -------------------------------------------------------------- */

static void test_nic_kind_strings(void **state)
{
	int k;

	(void) state;
	for (k = 0; k < DOMXML_NIC_KIND_MAX; k++) {
		const char *s = domxml_nic_kind_to_string((enum domxml_nic_kind) k);

		assert_non_null(s);
		assert_int_equal(domxml_nic_kind_from_string(s), k);
	}
	assert_null(domxml_nic_kind_to_string(DOMXML_NIC_KIND_MAX));
	assert_int_equal(domxml_nic_kind_from_string("vlan"), -1);
	assert_int_equal(domxml_nic_kind_from_string(NULL), -1);
	assert_string_equal(domxml_nic_kind_to_string(DOMXML_NIC_OVS_VLAN), "ovs-vlan");
}

static void test_domain_golden(void **state)
{
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(domains); i++) {
		char *xml = domain_ok(domains[i].d);
		char *again = domain_ok(domains[i].d);

		assert_string_equal(xml, again);	/* the same input, the same bytes */
		assert_schema_valid(xml, "domain", domains[i].golden);
		assert_golden(xml, domains[i].golden);
		free(again);
		free(xml);
	}
}

/* What each fixture must hold, element by element. */
static void test_domain_shapes(void **state)
{
	char *xml;
	xmlDocPtr doc;
	xmlNodePtr n;
	size_t odd = 0;

	(void) state;
	/* kvm: two network NICs with their MACs (lowercased), host CPU, seed cdrom */
	xml = domain_ok(&dom_kvm);
	doc = reparse(xml);
	n = xmlDocGetRootElement(doc);
	assert_attr(n, "type", "kvm");
	assert_text(at(doc, "name"), "web-web-001");
	assert_text(at(doc, "uuid"), UUID_KVM);
	n = at(doc, "metadata/vm");
	assert_non_null(n->ns);
	assert_string_equal((const char *) n->ns->href, DOMXML_NS);
	assert_attr(n, "fleet", "web");
	assert_attr(n, "name", "web-001");
	assert_attr(n, "config", meta_web.config_hash);
	assert_attr(at(doc, "memory"), "unit", "KiB");
	assert_text(at(doc, "memory"), "2097152");
	assert_text(at(doc, "vcpu"), "2");
	assert_attr(at(doc, "os/type"), "arch", "x86_64");
	assert_null(xmlGetNoNsProp(at(doc, "os/type"), (const xmlChar *) "machine"));
	assert_text(at(doc, "os/type"), "hvm");
	assert_attr(at(doc, "cpu"), "mode", "host-passthrough");
	assert_int_equal(count_named(doc->children, "tcg", NULL), 0);
	assert_int_equal(count_named(doc->children, "kernel", NULL), 0);
	assert_int_equal(count_named(doc->children, "on_reboot", NULL), 0);
	assert_int_equal(count_named(doc->children, "disk", NULL), 2);
	assert_int_equal(count_named(doc->children, "interface", NULL), 2);
	assert_int_equal(count_named(doc->children, "commandline", NULL), 0);
	assert_int_equal(count_named(doc->children, "log", NULL), 0);
	assert_int_equal(count_named(doc->children, "acpi", &odd), 1);
	assert_int_equal(odd, 0);
	assert_attr(at(doc, "devices/disk"), "device", "disk");
	assert_attr(at(doc, "devices/disk/driver"), "type", "qcow2");
	assert_attr(at(doc, "devices/disk/source"), "volume", "web-web-001.qcow2");
	assert_attr(at(doc, "devices/disk/target"), "bus", "virtio");
	assert_attr(at(doc, "devices/interface"), "type", "network");
	assert_attr(at(doc, "devices/interface/source"), "network", "web-front");
	assert_attr(at(doc, "devices/interface/mac"), "address", "52:54:00:3a:1f:01");
	assert_attr(at(doc, "devices/interface/model"), "type", "virtio");
	assert_non_null(strstr(xml, "52:54:00:3a:1f:02"));	/* written lowercase */
	assert_attr(at(doc, "devices/channel/source"), "mode", "bind");
	assert_null(xmlHasProp(at(doc, "devices/channel/source"), (const xmlChar *) "path"));
	assert_attr(at(doc, "devices/channel/target"), "type", "virtio");
	assert_attr(at(doc, "devices/channel/target"), "name", AGENT_PROTO_PORT_NAME);
	assert_attr(at(doc, "devices/serial"), "type", "pty");
	assert_attr(at(doc, "devices/console"), "type", "pty");
	xmlFreeDoc(doc);
	free(xml);

	/* qemu TCG: kernel boot, tb-cache, log, on_reboot, no host CPU, no <interface> */
	xml = domain_ok(&dom_tcg);
	doc = reparse(xml);
	assert_attr(xmlDocGetRootElement(doc), "type", "qemu");
	assert_text(at(doc, "os/kernel"), dom_tcg.kernel);
	assert_text(at(doc, "os/initrd"), dom_tcg.initrd);
	assert_text(at(doc, "os/cmdline"), dom_tcg.cmdline);
	assert_attr(at(doc, "features/tcg/tb-cache"), "unit", "MiB");
	assert_text(at(doc, "features/tcg/tb-cache"), "128");
	assert_text(at(doc, "on_reboot"), "destroy");
	assert_int_equal(count_named(doc->children, "cpu", NULL), 0);
	assert_int_equal(count_named(doc->children, "interface", NULL), 0);
	assert_attr(at(doc, "devices/serial/log"), "file", dom_tcg.console_log);
	assert_attr(at(doc, "devices/serial/log"), "append", "on");
	assert_attr(at(doc, "devices/channel/source"), "path", dom_tcg.channel_path);
	n = at(doc, "commandline");
	assert_non_null(n->ns);
	assert_string_equal((const char *) n->ns->href, DOMXML_QEMU_NS);
	assert_int_equal(count_named(n->children, "arg", NULL), 4);
	xmlFreeDoc(doc);
	free(xml);

	/* xen: no virtio anywhere, no host CPU, the channel's target is xen */
	xml = domain_ok(&dom_xen);
	doc = reparse(xml);
	assert_attr(xmlDocGetRootElement(doc), "type", "xen");
	assert_null(strstr(xml, "virtio"));
	assert_attr(at(doc, "devices/disk/target"), "dev", "xvda");
	assert_attr(at(doc, "devices/disk/target"), "bus", "xen");
	assert_attr(at(doc, "devices/channel/target"), "type", "xen");
	assert_int_equal(count_named(doc->children, "disk", NULL), 1);
	assert_int_equal(count_named(doc->children, "cpu", NULL), 0);
	assert_int_equal(count_named(doc->children, "group", NULL), 0);
	assert_null(xmlHasProp(at(doc, "metadata/vm"), (const xmlChar *) "group"));
	xmlFreeDoc(doc);
	free(xml);

	/* a bridge and an Open vSwitch VLAN */
	xml = domain_ok(&dom_bridge);
	doc = reparse(xml);
	n = at(doc, "devices/interface");
	assert_attr(n, "type", "bridge");
	assert_int_equal(count_named(n->children, "virtualport", NULL), 0);
	assert_int_equal(count_named(n->children, "vlan", NULL), 0);
	n = n->next;
	while (n && n->type != XML_ELEMENT_NODE)
		n = n->next;
	assert_non_null(n);
	assert_attr(n, "type", "bridge");
	assert_int_equal(count_named(n->children, "virtualport", NULL), 1);
	assert_int_equal(count_named(n->children, "tag", NULL), 1);
	assert_non_null(strstr(xml, "<source bridge=\"ovsbr0\"/>"));
	assert_non_null(strstr(xml, "<tag id=\"42\"/>"));
	assert_non_null(strstr(xml, "<virtualport type=\"openvswitch\"/>"));
	xmlFreeDoc(doc);
	free(xml);
}

static void test_domain_user_nic_args(void **state)
{
	static const struct domxml_forward one[] = {
		{ .host_addr = "0.0.0.0", .host_port = 65535, .guest_port = 1 },
	};
	struct domxml_nic nics[3] = {
		{ .kind = DOMXML_NIC_NETWORK, .source = "default", .mac = "52:54:00:00:00:01" },
		{ .kind = DOMXML_NIC_USER, .mac = "52:54:00:AB:CD:EF", .forwards = fwd_tcg,
		  .n_forwards = 2 },
		{ .kind = DOMXML_NIC_USER, .mac = "52:54:00:00:00:03", .forwards = one, .n_forwards = 1 },
	};
	struct domxml_domain d = dom_tcg;
	static const char *const want[] = {
		"-netdev",
		"user,id=mnet1,restrict=on,hostfwd=tcp:127.0.0.1:22001-:22,"
		"hostfwd=tcp:127.0.0.1:28001-:80",
		"-device",
		"virtio-net-pci,netdev=mnet1,mac=52:54:00:ab:cd:ef,addr=0x11",
		"-netdev",
		"user,id=mnet2,restrict=on,hostfwd=tcp:0.0.0.0:65535-:1",
		"-device",
		"virtio-net-pci,netdev=mnet2,mac=52:54:00:00:00:03,addr=0x12",
	};
	xmlDocPtr doc;
	xmlNodePtr n;
	size_t i = 0;
	char *xml;

	(void) state;
	d.nics = nics;
	d.n_nics = 3;
	xml = domain_ok(&d);
	assert_schema_valid(xml, "domain", "user NICs");
	doc = reparse(xml);
	assert_int_equal(count_named(doc->children, "interface", NULL), 1);
	for (n = at(doc, "commandline")->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		assert_true(i < ARRAY_SIZE(want));
		assert_attr(n, "value", want[i]);
		i++;
	}
	assert_int_equal(i, ARRAY_SIZE(want));
	xmlFreeDoc(doc);
	free(xml);

	/* a user NIC without forwards is still restricted */
	nics[1].n_forwards = 0;
	d.n_nics = 2;
	d.type = "kvm";
	d.tcg_tb_cache_mib = 0;
	xml = domain_ok(&d);
	assert_non_null(strstr(xml, "\"user,id=mnet1,restrict=on\""));
	free(xml);

	/* unrestricted: restrict=off, that NIC only */
	nics[1].unrestricted = true;
	xml = domain_ok(&d);
	assert_non_null(strstr(xml, "\"user,id=mnet1,restrict=off\""));
	assert_null(strstr(xml, "restrict=on"));
	free(xml);
}

static void test_domain_boundaries(void **state)
{
	struct domxml_nic nics[DOMXML_MAX_NICS];
	struct domxml_domain d = dom_tcg;
	char path[DOMXML_SOCKET_PATH_MAX + 1];
	char macs[DOMXML_MAX_NICS][18];
	char *xml;
	size_t i;

	(void) state;
	/* libvirt's largest memory, in KiB */
	d.memory_kib = 9007199254740991ull;
	d.vcpus = 4096;
	/* a socket path of exactly sun_path's 107 usable bytes */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	d.channel_path = path;
	/* 16 NICs, the last a user NIC in slot 0x1f */
	for (i = 0; i < DOMXML_MAX_NICS; i++) {
		(void) snprintf(macs[i], sizeof(macs[i]), "52:54:00:00:01:%02zx", i);
		nics[i] = (struct domxml_nic) { .kind = DOMXML_NIC_NETWORK, .source = "net",
						.mac = macs[i] };
	}
	nics[DOMXML_MAX_NICS - 1].kind = DOMXML_NIC_USER;
	nics[DOMXML_MAX_NICS - 1].source = NULL;
	d.nics = nics;
	d.n_nics = DOMXML_MAX_NICS;
	xml = domain_ok(&d);
	assert_schema_valid(xml, "domain", "boundaries");
	assert_non_null(strstr(xml, "<memory unit=\"KiB\">9007199254740991</memory>"));
	assert_non_null(strstr(xml, "addr=0x1f\""));
	assert_int_equal(count_in(xml, "interface"), DOMXML_MAX_NICS - 1);
	free(xml);
}

struct refusal {
	const char *what;	/* the case */
	struct domxml_domain d;
	const char *msg;	/* substring of the error */
};

static void test_domain_refused(void **state)
{
	static const struct domxml_forward zero_port[] = { { "127.0.0.1", 0, 22 } };
	static const struct domxml_forward comma[] = { { "127.0.0.1,hostfwd=tcp::2222-:22", 2222, 22 } };
	static const struct domxml_forward no_addr[] = { { NULL, 2222, 22 } };
	static const struct domxml_forward guest0[] = { { "127.0.0.1", 2222, 0 } };
	static const struct domxml_forward big[] = { { "127.0.0.1", 65536, 22 } };
	static const struct domxml_forward twice[] = { { "127.0.0.1", 2222, 22 }, { "127.0.0.1", 2222, 80 } };
	static const struct domxml_forward wild[] = { { "0.0.0.0", 2222, 22 }, { "127.0.0.1", 2222, 80 } };
	static const struct domxml_nic user_zero[] = { { .kind = DOMXML_NIC_USER, .mac = "52:54:00:00:00:01", .forwards = zero_port, .n_forwards = 1 } };
	static const struct domxml_nic user_comma[] = { { .kind = DOMXML_NIC_USER, .mac = "52:54:00:00:00:01", .forwards = comma, .n_forwards = 1 } };
	static const struct domxml_nic user_noaddr[] = { { .kind = DOMXML_NIC_USER, .mac = "52:54:00:00:00:01", .forwards = no_addr, .n_forwards = 1 } };
	static const struct domxml_nic user_guest0[] = { { .kind = DOMXML_NIC_USER, .mac = "52:54:00:00:00:01", .forwards = guest0, .n_forwards = 1 } };
	static const struct domxml_nic user_big[] = { { .kind = DOMXML_NIC_USER, .mac = "52:54:00:00:00:01", .forwards = big, .n_forwards = 1 } };
	static const struct domxml_nic user_twice[] = { { .kind = DOMXML_NIC_USER, .mac = "52:54:00:00:00:01", .forwards = twice, .n_forwards = 2 } };
	static const struct domxml_nic user_twice2[] = {
		{ .kind = DOMXML_NIC_USER, .mac = "52:54:00:00:00:01", .forwards = twice, .n_forwards = 1 },
		{ .kind = DOMXML_NIC_USER, .mac = "52:54:00:00:00:02", .forwards = twice, .n_forwards = 1 },
	};
	static const struct domxml_nic user_wild[] = { { .kind = DOMXML_NIC_USER, .mac = "52:54:00:00:00:01", .forwards = wild, .n_forwards = 2 } };
	static const struct domxml_nic user_nomac[] = { { .kind = DOMXML_NIC_USER } };
	static const struct domxml_nic user_source[] = { { .kind = DOMXML_NIC_USER, .source = "x", .mac = "52:54:00:00:00:01" } };
	static const struct domxml_nic user_ok[] = { { .kind = DOMXML_NIC_USER, .mac = "52:54:00:00:00:01" } };
	static const struct domxml_nic fwd_on_net[] = { { .kind = DOMXML_NIC_NETWORK, .source = "n", .forwards = fwd_tcg, .n_forwards = 1 } };
	static const struct domxml_nic open_bridge[] = { { .kind = DOMXML_NIC_BRIDGE, .source = "br0", .unrestricted = true } };
	static const struct domxml_nic multicast[] = { { .kind = DOMXML_NIC_NETWORK, .source = "n", .mac = "53:54:00:00:00:01" } };
	static const struct domxml_nic badmac[] = { { .kind = DOMXML_NIC_NETWORK, .source = "n", .mac = "52:54:00:00:00:0g" } };
	static const struct domxml_nic shortmac[] = { { .kind = DOMXML_NIC_NETWORK, .source = "n", .mac = "52:54:00:00:00:1" } };
	static const struct domxml_nic dupmac[] = {
		{ .kind = DOMXML_NIC_NETWORK, .source = "n", .mac = "52:54:00:00:00:01" },
		{ .kind = DOMXML_NIC_BRIDGE, .source = "br0", .mac = "52:54:00:00:00:01" },
	};
	static const struct domxml_nic vlan0[] = { { .kind = DOMXML_NIC_OVS_VLAN, .source = "ovs", .vlan = 0 } };
	static const struct domxml_nic vlan4095[] = { { .kind = DOMXML_NIC_OVS_VLAN, .source = "ovs", .vlan = 4095 } };
	static const struct domxml_nic vlan_bridge[] = { { .kind = DOMXML_NIC_BRIDGE, .source = "br0", .vlan = 7 } };
	static const struct domxml_nic mtu_network[] = { { .kind = DOMXML_NIC_NETWORK, .source = "n", .mtu = 1400 } };
	static const struct domxml_nic mtu_small[] = { { .kind = DOMXML_NIC_BRIDGE, .source = "br0", .mtu = 67 } };
	static const struct domxml_nic nosource[] = { { .kind = DOMXML_NIC_BRIDGE } };
	static const struct domxml_nic netslash[] = { { .kind = DOMXML_NIC_NETWORK, .source = "a/b" } };
	static const struct domxml_nic badkind[] = { { .kind = DOMXML_NIC_KIND_MAX, .source = "n" } };
	static char long_serial[DOMXML_SERIAL_MAX + 2];
	static const struct domxml_meta meta_nofleet = { .vm = (char *) "v" };
	static const struct domxml_meta meta_ctl = { .fleet = (char *) "f", .vm = (char *) "v", .group = (char *) "g\n" };
	static struct domxml_nic many[DOMXML_MAX_NICS + 1];
	static char long_path[DOMXML_SOCKET_PATH_MAX + 2];
	static char huge[DOMXML_VALUE_MAX + 2];
	const struct domxml_domain base = dom_kvm;
	struct refusal cases[80];
	size_t n = 0, i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct domxml_nic) { .kind = DOMXML_NIC_NETWORK, .source = "n" };
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	memset(huge, 'a', sizeof(huge) - 1);

#define CASE(label, field, value, substr) do { \
		cases[n] = (struct refusal) { label, base, substr }; \
		cases[n].d.field = value; \
		n++; \
	} while (0)
#define NICS(label, arr, substr) do { \
		cases[n] = (struct refusal) { label, base, substr }; \
		cases[n].d.nics = arr; \
		cases[n].d.n_nics = ARRAY_SIZE(arr); \
		n++; \
	} while (0)

	CASE("no type", type, NULL, "domain type is missing");
	CASE("type lxc", type, "lxc", "is not kvm, qemu or xen");
	CASE("type KVM", type, "KVM", "is not kvm, qemu or xen");
	CASE("type with newline", type, "kvm\n", "control character");
	CASE("no name", name, NULL, "domain name is missing");
	CASE("empty name", name, "", "domain name is empty");
	CASE("name with slash", name, "web/001", "contains '/'");
	CASE("name with newline", name, "web\n001", "control character");
	CASE("name with tab", name, "web\t001", "control character");
	CASE("name with DEL", name, "web\x7f", "control character");
	CASE("name with C1 NEL", name, "web\xc2\x85", "control character");
	CASE("name overlong UTF-8", name, "web\xc0\xaf", "not valid UTF-8");
	CASE("name surrogate", name, "web\xed\xa0\x80", "not valid UTF-8");
	CASE("name truncated UTF-8", name, "web\xe2\x9c", "not valid UTF-8");
	CASE("name beyond U+10FFFF", name, "web\xf4\x90\x80\x80", "not valid UTF-8");
	CASE("name U+FFFE", name, "web\xef\xbf\xbe", "XML cannot carry");
	CASE("name too long", name, huge, "longer than 4096 bytes");
	CASE("no uuid", uuid, NULL, "uuid is missing");
	CASE("bad uuid", uuid, "3b2f0c1e-8d4a-5f6b-9c7d-0e1f2a3b4c5", "is not a UUID");
	CASE("uuid dashes misplaced", uuid, "3b2f0c1e8-d4a-5f6b-9c7d-0e1f2a3b4c5d", "is not a UUID");
	CASE("no metadata", meta, NULL, "muster metadata is missing");
	CASE("metadata without fleet", meta, &meta_nofleet, "metadata fleet is missing");
	CASE("metadata group with newline", meta, &meta_ctl, "metadata group contains a control");
	CASE("no vcpus", vcpus, 0, "vcpus 0");
	CASE("too many vcpus", vcpus, 4097, "vcpus 4097");
	CASE("no memory", memory_kib, 0, "memory 0 KiB");
	CASE("too much memory", memory_kib, 9007199254740992ull, "memory 9007199254740992 KiB");
	CASE("initrd without kernel", initrd, "/boot/initrd", "without a kernel");
	CASE("cmdline without kernel", cmdline, "console=ttyS0", "without a kernel");
	CASE("relative kernel", kernel, "vmlinuz", "kernel 'vmlinuz' is not an absolute path");
	CASE("tb-cache on kvm", tcg_tb_cache_mib, 128, "needs domain type qemu");
	CASE("no disk pool", disk_pool, NULL, "disk pool is missing");
	CASE("disk volume with slash", disk_volume, "../x.qcow2", "contains '/'");
	CASE("seed pool without volume", seed_volume, NULL, "seed volume is missing");
	CASE("relative console log", console_log, "console.log", "not an absolute path");
	CASE("empty console log", console_log, "", "console log is empty");
	CASE("relative channel path", channel_path, "agent.sock", "not an absolute path");
	CASE("channel path too long", channel_path, long_path, "longer than a unix socket allows");
	NICS("user NIC with port 0", user_zero, "host port 0");
	NICS("hostfwd injection", user_comma, "is not an IPv4 address");
	NICS("forward without address", user_noaddr, "host address is missing");
	NICS("guest port 0", user_guest0, "ports must be 1 to 65535");
	NICS("host port 65536", user_big, "ports must be 1 to 65535");
	NICS("forwarded twice", user_twice, "127.0.0.1:2222 clashes with 127.0.0.1:2222");
	NICS("forwarded twice on two NICs", user_twice2, "nic 1 forward 0: 127.0.0.1:2222 clashes with");
	NICS("wildcard and loopback", user_wild, "nic 0 forward 1: 127.0.0.1:2222 clashes with 0.0.0.0:2222");
	NICS("user NIC without MAC", user_nomac, "needs a MAC");
	NICS("user NIC with source", user_source, "has no source");
	NICS("forwards on a network NIC", fwd_on_net, "need a user NIC");
	NICS("restrict=off on a bridge NIC", open_bridge, "restrict applies to a user NIC only");
	NICS("multicast MAC", multicast, "is a multicast address");
	NICS("bad MAC", badmac, "is not a MAC address");
	NICS("short MAC", shortmac, "is not a MAC address");
	NICS("duplicate MAC", dupmac, "nics 0 and 1 share MAC");
	NICS("VLAN 0", vlan0, "VLAN tag 0 is not 1 to 4094");
	NICS("VLAN 4095", vlan4095, "VLAN tag 4095 is not 1 to 4094");
	NICS("VLAN on a bridge", vlan_bridge, "not ovs-vlan");
	NICS("MTU on a network NIC", mtu_network, "a libvirt network's NICs take the network's");
	NICS("MTU below 68", mtu_small, "MTU 67 is not 68 to 65535");
	NICS("bridge without source", nosource, "nic 0 source is missing");
	NICS("network name with slash", netslash, "contains '/'");
	NICS("unknown NIC kind", badkind, "unknown kind");
	NICS("too many NICs", many, "17 NICs, at most 16");
	memset(long_serial, 'a', sizeof(long_serial) - 1);
	CASE("SMBIOS serial with a newline", smbios_serial, "ds=nocloud;s=http://x/\nX", "only printable ASCII");
	CASE("empty SMBIOS serial", smbios_serial, "", "SMBIOS serial: 1 to");
	CASE("over-long SMBIOS serial", smbios_serial, long_serial, "SMBIOS serial: 1 to");
	cases[n] = (struct refusal) { "user NIC on xen", dom_xen, "needs domain type kvm or qemu" };
	cases[n].d.nics = user_ok;
	cases[n].d.n_nics = 1;
	n++;
	cases[n] = (struct refusal) { "NIC count without NICs", base, "NICs missing" };
	cases[n].d.nics = NULL;
	n++;
	cases[n] = (struct refusal) { "tb-cache too large", dom_tcg, "over 1048576 MiB" };
	cases[n].d.tcg_tb_cache_mib = 1048577;
	n++;
	cases[n] = (struct refusal) { "tb-cache on xen", dom_xen, "needs domain type qemu" };
	cases[n].d.tcg_tb_cache_mib = 1;
	n++;
	assert_true(n <= ARRAY_SIZE(cases));
#undef CASE
#undef NICS

	for (i = 0; i < n; i++) {
		struct muster_err err = { 0 };
		char *xml = domxml_domain_format(&cases[i].d, &err);

		if (xml)
			fail_msg("%s: accepted:\n%s", cases[i].what, xml);
		assert_int_equal(err.code, MUSTER_E_INVALID);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("%s: error '%s', want '%s'", cases[i].what, err.msg, cases[i].msg);
		/* err may be NULL */
		assert_null(domxml_domain_format(&cases[i].d, NULL));
	}
	/* and the unchanged fixture is accepted: the cases fail for their one change */
	free(domain_ok(&base));
}

/* Values that try to close the attribute or element and start markup of their own. */
#define PAYLOAD "'/><disk type='file' device='disk'><source file='/etc/shadow'/>" \
	"<target dev='vdb'/></disk><interface type='user'/>]]><!-- \"q\" & &amp; <![CDATA[x]]>"
#define PAYLOAD_NO_SLASH "x'><disk type='file'><source file='shadow'><interface type='user'>" \
	"]]><!-- \"q\" & &amp; -->\"><disk>"

static void test_domain_injection(void **state)
{
	const struct domxml_meta meta = {
		.fleet = (char *) PAYLOAD, .vm = (char *) PAYLOAD, .group = (char *) PAYLOAD,
		.config_hash = (char *) PAYLOAD, .base_hash = (char *) PAYLOAD,
	};
	const struct domxml_nic nics[] = {
		{ .kind = DOMXML_NIC_BRIDGE, .source = PAYLOAD, .mac = "52:54:00:00:00:01" },
		{ .kind = DOMXML_NIC_NETWORK, .source = PAYLOAD_NO_SLASH, .mac = "52:54:00:00:00:02" },
	};
	struct domxml_domain d = dom_tcg;
	xmlDocPtr doc;
	xmlNodePtr n;
	size_t odd = 0;
	char *xml;

	(void) state;
	d.type = "kvm";
	d.tcg_tb_cache_mib = 0;
	d.name = PAYLOAD_NO_SLASH;
	d.meta = &meta;
	d.cmdline = PAYLOAD;
	d.kernel = "/boot/" PAYLOAD;
	d.console_log = "/var/log/" PAYLOAD;
	d.channel_path = "/run/'/><disk/>&]]>\"";
	d.disk_volume = PAYLOAD_NO_SLASH;
	d.nics = nics;
	d.n_nics = ARRAY_SIZE(nics);
	xml = domain_ok(&d);
	doc = reparse(xml);

	/* exactly the devices muster wrote: the disk, the seed, two NICs */
	assert_int_equal(count_named(doc->children, "disk", &odd), 2);
	assert_int_equal(odd, 0);	/* no comment, CDATA, PI or entity reference */
	assert_int_equal(count_named(doc->children, "interface", NULL), 2);
	assert_int_equal(count_named(doc->children, "source", NULL), 5);
	assert_int_equal(count_named(doc->children, "target", NULL), 3);
	assert_int_equal(count_named(doc->children, "commandline", NULL), 0);
	assert_int_equal(count_named(doc->children, "domain", NULL), 1);
	assert_int_equal(count_named(doc->children, "vm", NULL), 1);

	/* and every value reads back byte for byte */
	assert_text(at(doc, "name"), PAYLOAD_NO_SLASH);
	n = at(doc, "metadata/vm");
	assert_attr(n, "fleet", PAYLOAD);
	assert_attr(n, "name", PAYLOAD);
	assert_attr(n, "group", PAYLOAD);
	assert_attr(n, "config", PAYLOAD);
	assert_attr(n, "base", PAYLOAD);
	assert_text(at(doc, "os/cmdline"), PAYLOAD);
	assert_text(at(doc, "os/kernel"), "/boot/" PAYLOAD);
	assert_attr(at(doc, "devices/serial/log"), "file", "/var/log/" PAYLOAD);
	assert_attr(at(doc, "devices/channel/source"), "path", "/run/'/><disk/>&]]>\"");
	assert_attr(at(doc, "devices/disk/source"), "volume", PAYLOAD_NO_SLASH);
	assert_attr(at(doc, "devices/interface/source"), "bridge", PAYLOAD);
	xmlFreeDoc(doc);

	/* the metadata libvirt hands back is muster's own parser's business */
	{
		struct muster_err err = { 0 };
		struct domxml_meta back = { 0 };
		char *m = domxml_meta_format(&meta, &err);

		assert_non_null(m);
		assert_int_equal(domxml_meta_parse(m, &back, &err), 0);
		assert_string_equal(back.fleet, PAYLOAD);
		assert_string_equal(back.base_hash, PAYLOAD);
		domxml_meta_release(&back);
		free(m);
	}
	free(xml);
}

/* ---- networks ------------------------------------------------------------- */

static void test_network_golden(void **state)
{
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(networks); i++) {
		char *xml = network_ok(networks[i].n);

		assert_schema_valid(xml, "network", networks[i].golden);
		assert_golden(xml, networks[i].golden);
		free(xml);
	}
}

/* A redefinition must carry the UUID libvirt has: it is written when given, and not compared. */
static void test_network_uuid(void **state)
{
	struct domxml_network n = net_nat;
	xmlDocPtr doc;
	char *xml;

	(void) state;
	n.uuid = "5a3c1d2e-0f4b-4a6c-8d7e-9f0a1b2c3d4e";
	xml = network_ok(&n);
	assert_schema_valid(xml, "network", "nat with uuid");
	doc = reparse(xml);
	assert_text(at(doc, "uuid"), n.uuid);
	xmlFreeDoc(doc);
	free(xml);
	xml = network_ok(&net_nat);
	assert_int_equal(count_in(xml, "uuid"), 0);
	free(xml);
}

struct net_refusal {
	const char *what;
	struct domxml_network n;
	const char *msg;
};

static void test_network_refused(void **state)
{
	static const struct domxml_dhcp_host outside[] = { { "52:54:00:00:00:01", "10.21.0.5", NULL } };
	static const struct domxml_dhcp_host gateway[] = { { "52:54:00:00:00:01", "10.20.0.1", NULL } };
	static const struct domxml_dhcp_host bcast[] = { { "52:54:00:00:00:01", "10.20.0.255", NULL } };
	static const struct domxml_dhcp_host comma[] = { { "52:54:00:00:00:01", "10.20.0.5", "web,set:evil" } };
	static const struct domxml_dhcp_host space[] = { { "52:54:00:00:00:01", "10.20.0.5", "web 1" } };
	static const struct domxml_dhcp_host quote[] = { { "52:54:00:00:00:01", "10.20.0.5", "w'><x" } };
	static const struct domxml_dhcp_host nomac[] = { { NULL, "10.20.0.5", "web" } };
	static const struct domxml_dhcp_host noip[] = { { "52:54:00:00:00:01", NULL, "web" } };
	static const struct domxml_dhcp_host mcast[] = { { "01:00:5e:00:00:01", "10.20.0.5", NULL } };
	static const struct domxml_dhcp_host badip[] = { { "52:54:00:00:00:01", "10.20.0.05", NULL } };
	static const struct domxml_dhcp_host dupip[] = {
		{ "52:54:00:00:00:01", "10.20.0.5", "a" }, { "52:54:00:00:00:02", "10.20.0.5", "b" },
	};
	static const struct domxml_dhcp_host dupmac[] = {
		{ "52:54:00:00:00:01", "10.20.0.5", "a" }, { "52:54:00:00:00:01", "10.20.0.6", "b" },
	};
	static const struct domxml_dhcp_host dupmac_case[] = {
		{ "52:54:00:00:00:0a", "10.20.0.5", "a" }, { "52:54:00:00:00:0A", "10.20.0.6", "b" },
	};
	const struct domxml_network base = net_nat;
	struct net_refusal cases[64];
	size_t n = 0, i;

	(void) state;
#define CASE(label, field, value, substr) do { \
		cases[n] = (struct net_refusal) { label, base, substr }; \
		cases[n].n.field = value; \
		n++; \
	} while (0)
#define HOSTS(label, arr, substr) do { \
		cases[n] = (struct net_refusal) { label, base, substr }; \
		cases[n].n.hosts = arr; \
		cases[n].n.n_hosts = ARRAY_SIZE(arr); \
		n++; \
	} while (0)
	CASE("no name", name, NULL, "network name is missing");
	CASE("empty name", name, "", "network name is empty");
	CASE("name with slash", name, "a/b", "contains '/'");
	CASE("name with newline", name, "a\nb", "control character");
	CASE("bad uuid", uuid, "5a3c1d2e-0f4b-4a6c-8d7e", "is not a UUID");
	CASE("no mode", mode, NULL, "mode is missing");
	CASE("mode route", mode, "route", "is not nat, isolated, bridge or ovs-vlan");
	CASE("mode vlan", mode, "vlan", "is not nat, isolated, bridge or ovs-vlan");
	CASE("no address", address, NULL, "address is missing");
	CASE("IPv6 address", address, "fd00::1", "is not an IPv4 address");
	CASE("address with junk", address, "10.20.0.1/24", "is not an IPv4 address");
	CASE("prefix 0", prefix, 0, "prefix /0 is not 1 to 30");
	CASE("prefix 31", prefix, 31, "prefix /31 is not 1 to 30");
	CASE("gateway is the network address", address, "10.20.0.0", "network or broadcast");
	CASE("gateway is the broadcast address", address, "10.20.0.255", "network or broadcast");
	CASE("range start only", dhcp_end, NULL, "DHCP range end is missing");
	CASE("range end only", dhcp_start, NULL, "DHCP range start is missing");
	CASE("range outside", dhcp_end, "10.20.1.10", "is not inside 10.20.0.1/24");
	CASE("range on the network address", dhcp_start, "10.20.0.0", "is not inside");
	CASE("range to the broadcast address", dhcp_end, "10.20.0.255", "is not inside");
	cases[n] = (struct net_refusal) { "range reversed", base, "10.20.0.200 - 10.20.0.100 is reversed" };
	cases[n].n.dhcp_start = "10.20.0.200";
	cases[n].n.dhcp_end = "10.20.0.100";
	n++;
	CASE("VLAN on nat", vlan, 42, "VLAN tag 42 needs mode ovs-vlan");
	CASE("bridge name with newline", bridge, "br0\n", "bridge contains a control character");
	CASE("hosts count without hosts", hosts, NULL, "DHCP hosts missing");
	HOSTS("host outside", outside, "DHCP host 0 ip 10.21.0.5 is not a host address");
	HOSTS("host on the gateway", gateway, "other than the gateway");
	HOSTS("host on broadcast", bcast, "is not a host address");
	HOSTS("host name with comma", comma, "is not a host name");
	HOSTS("host name with space", space, "is not a host name");
	HOSTS("host name with markup", quote, "is not a host name");
	HOSTS("host without MAC", nomac, "DHCP host 0 mac is missing");
	HOSTS("host without ip", noip, "DHCP host 0 ip is missing");
	HOSTS("host multicast MAC", mcast, "multicast");
	HOSTS("host ip leading zero", badip, "is not an IPv4 address");
	HOSTS("hosts share an ip", dupip, "share an ip");
	HOSTS("hosts share a MAC", dupmac, "share a mac");
	HOSTS("hosts share a MAC in other case", dupmac_case, "share a mac");
	cases[n] = (struct net_refusal) { "bridge without bridge", net_bridge, "bridge is missing" };
	cases[n].n.bridge = NULL;
	n++;
	cases[n] = (struct net_refusal) { "bridge with address", net_bridge, "takes no address" };
	cases[n].n.address = "10.0.0.1";
	n++;
	cases[n] = (struct net_refusal) { "bridge with hosts", net_bridge, "takes no address" };
	cases[n].n.hosts = hosts_front;
	cases[n].n.n_hosts = 2;
	n++;
	cases[n] = (struct net_refusal) { "ovs VLAN 0", net_ovs, "VLAN tag 0 is not 1 to 4094" };
	cases[n].n.vlan = 0;
	n++;
	cases[n] = (struct net_refusal) { "ovs VLAN 4095", net_ovs, "VLAN tag 4095 is not 1 to 4094" };
	cases[n].n.vlan = 4095;
	n++;
	cases[n] = (struct net_refusal) { "VLAN on bridge", net_bridge, "needs mode ovs-vlan" };
	cases[n].n.vlan = 5;
	n++;
	cases[n] = (struct net_refusal) { "ovs without bridge", net_ovs, "bridge is missing" };
	cases[n].n.bridge = NULL;
	n++;
	assert_true(n <= ARRAY_SIZE(cases));
#undef CASE
#undef HOSTS

	for (i = 0; i < n; i++) {
		struct muster_err err = { 0 };
		char *xml = domxml_network_format(&cases[i].n, &err);
		bool match = true;

		if (xml)
			fail_msg("%s: accepted:\n%s", cases[i].what, xml);
		assert_int_equal(err.code, MUSTER_E_INVALID);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("%s: error '%s', want '%s'", cases[i].what, err.msg, cases[i].msg);
		assert_null(domxml_network_format(&cases[i].n, NULL));
		/* an invalid want is an error for matches too, and *ret stays */
		assert_int_equal(domxml_network_matches("<network><name>x</name></network>",
							&cases[i].n, &match, &err), -1);
		assert_true(match);
	}
	free(network_ok(&base));
}

static void test_network_injection(void **state)
{
	struct domxml_network n = net_bridge;
	xmlDocPtr doc;
	xmlNodePtr c;
	size_t odd = 0, elements = 0;
	char *xml;

	(void) state;
	n.name = PAYLOAD_NO_SLASH;
	n.bridge = PAYLOAD;
	xml = network_ok(&n);
	doc = reparse(xml);
	assert_text(at(doc, "name"), PAYLOAD_NO_SLASH);
	assert_attr(at(doc, "bridge"), "name", PAYLOAD);
	assert_attr(at(doc, "forward"), "mode", "bridge");
	for (c = xmlDocGetRootElement(doc)->children; c; c = c->next)
		elements += c->type == XML_ELEMENT_NODE;
	assert_int_equal(elements, 3);	/* name, forward, bridge */
	assert_int_equal(count_named(doc->children, "disk", &odd), 0);
	assert_int_equal(odd, 0);
	xmlFreeDoc(doc);
	free(xml);

	/* an isolated network may name its bridge too */
	n = net_isolated;
	n.bridge = PAYLOAD;
	xml = network_ok(&n);
	doc = reparse(xml);
	assert_attr(at(doc, "bridge"), "name", PAYLOAD);
	assert_int_equal(count_named(doc->children, "forward", NULL), 0);
	assert_int_equal(count_named(doc->children, "host", NULL), 1);
	xmlFreeDoc(doc);
	free(xml);
}

/* ---- live XML -------------------------------------------------------------- */

static char *live_domain(void)
{
	char path[512];
	char *xml;

	xml_path(path, sizeof(path), "live-domain-qemu.xml");
	xml = read_file(path);
	if (!xml)
		fail_msg("cannot read %s", path);
	return xml;
}

static void test_channel_path(void **state)
{
	static char sentinel_s[] = "sentinel";
	struct muster_err err = { 0 };
	char *live = live_domain(), *xml, *path, *other;

	(void) state;
	/* libvirt's live XML itself is schema-valid */
	assert_schema_valid(live, "domain", "live-domain-qemu.xml");
	assert_int_equal(domxml_channel_path(live, AGENT_PROTO_PORT_NAME, &path, &err), 0);
	assert_string_equal(path,
			    "/var/lib/libvirt/qemu/channel/target/domain-3-demo-vm-1/org.muster.agent.0");
	free(path);
	/* the other channel of the same domain is found by its own name */
	assert_int_equal(domxml_channel_path(live, "org.qemu.guest_agent.0", &path, &err), 0);
	assert_string_equal(path, "/var/lib/libvirt/qemu/channel/target/domain-3-demo-vm-1/"
			    "org.qemu.guest_agent.0");
	free(path);

	/* missing: a clear error, and *ret untouched */
	path = sentinel_s;
	assert_int_equal(domxml_channel_path(live, "org.example.none", &path, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	assert_string_equal(err.msg, "domain has no channel 'org.example.none'");
	assert_ptr_equal(path, sentinel_s);

	/* a pty channel is not a socket */
	other = replace1(live, "<channel type='unix'>\n      <source mode='bind' "
			 "path='/var/lib/libvirt/qemu/channel/target/domain-3-demo-vm-1/org.muster",
			 "<channel type='pty'>\n      <source mode='bind' "
			 "path='/var/lib/libvirt/qemu/channel/target/domain-3-demo-vm-1/org.muster");
	assert_int_equal(domxml_channel_path(other, AGENT_PROTO_PORT_NAME, &path, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_non_null(strstr(err.msg, "is not a unix socket"));
	assert_ptr_equal(path, sentinel_s);
	free(other);

	/* a defined, not started domain: libvirt has not chosen the path yet */
	xml = domain_ok(&dom_kvm);
	assert_int_equal(domxml_channel_path(xml, AGENT_PROTO_PORT_NAME, &path, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "has no socket path yet"));
	assert_ptr_equal(path, sentinel_s);
	free(xml);
	/* one muster chose reads back as it was written */
	xml = domain_ok(&dom_tcg);
	assert_int_equal(domxml_channel_path(xml, AGENT_PROTO_PORT_NAME, &path, &err), 0);
	assert_string_equal(path, dom_tcg.channel_path);
	free(path);
	free(xml);

	/* not a domain */
	path = sentinel_s;
	assert_int_equal(domxml_channel_path("<network><name>x</name></network>",
					     AGENT_PROTO_PORT_NAME, &path, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_non_null(strstr(err.msg, "not a libvirt domain"));
	assert_int_equal(domxml_channel_path("<domain>", AGENT_PROTO_PORT_NAME, &path, &err), -1);
	assert_non_null(strstr(err.msg, "not well-formed"));
	assert_int_equal(domxml_channel_path("<!DOCTYPE domain [<!ENTITY p '/etc/x'>]><domain>"
					     "<devices><channel type='unix'><source path='&p;'/>"
					     "<target name='a'/></channel></devices></domain>",
					     "a", &path, &err), -1);
	assert_non_null(strstr(err.msg, "DTD"));
	assert_int_equal(domxml_channel_path(live, "", &path, &err), -1);
	assert_non_null(strstr(err.msg, "channel name is empty"));
	assert_ptr_equal(path, sentinel_s);
	free(live);
}

static void test_console_log(void **state)
{
	static char sentinel_s[] = "sentinel";
	struct muster_err err = { 0 };
	char *live = live_domain(), *xml, *path;

	(void) state;
	assert_int_equal(domxml_console_log(live, &path, &err), 0);
	assert_non_null(path);
	assert_string_equal(path, "/var/log/muster/demo-vm-1.console.log");
	free(path);
	xml = domain_ok(&dom_kvm);	/* no log */
	path = sentinel_s;
	assert_int_equal(domxml_console_log(xml, &path, &err), 0);
	assert_null(path);
	free(xml);
	xml = domain_ok(&dom_bridge);
	assert_int_equal(domxml_console_log(xml, &path, &err), 0);
	assert_string_equal(path, dom_bridge.console_log);
	free(path);
	free(xml);
	path = sentinel_s;
	assert_int_equal(domxml_console_log("<network/>", &path, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_ptr_equal(path, sentinel_s);
	free(live);
}

static bool matches(const char *live, const struct domxml_network *want)
{
	struct muster_err err = { 0 };
	bool ok = false;

	if (domxml_network_matches(live, want, &ok, &err) != 0)
		fail_msg("network_matches failed: %s\n%s", err.msg, live);
	return ok;
}

/* What libvirt's network driver returns for net_nat once defined and started. */
static const char live_nat[] =
	"<network connections='2'>\n"
	"  <name>web-front</name>\n"
	"  <uuid>5a3c1d2e-0f4b-4a6c-8d7e-9f0a1b2c3d4e</uuid>\n"
	"  <forward mode='nat'>\n"
	"    <nat>\n"
	"      <port start='1024' end='65535'/>\n"
	"    </nat>\n"
	"  </forward>\n"
	"  <bridge name='virbr1' stp='on' delay='0'/>\n"
	"  <mac address='52:54:00:9d:12:34'/>\n"
	"  <ip address='10.20.0.1' prefix='24'>\n"
	"    <dhcp>\n"
	"      <range start='10.20.0.100' end='10.20.0.254'/>\n"
	"      <host mac='52:54:00:3a:1f:11' name='web-002' ip='10.20.0.11'/>\n"
	"      <host mac='52:54:00:3a:1f:01' name='web-001' ip='10.20.0.10'/>\n"
	"    </dhcp>\n"
	"  </ip>\n"
	"</network>\n";

static void test_network_matches(void **state)
{
	struct domxml_network want;
	char *xml, *v;
	size_t i;

	(void) state;
	/* every network matches what it formats to */
	for (i = 0; i < ARRAY_SIZE(networks); i++) {
		xml = network_ok(networks[i].n);
		assert_true(matches(xml, networks[i].n));
		free(xml);
	}
	/* what libvirt adds (uuid, bridge, mac, NAT ports), hosts in another order */
	assert_true(matches(live_nat, &net_nat));
	want = net_nat;
	want.uuid = "00000000-0000-5000-8000-000000000000";
	assert_true(matches(live_nat, &want));
	/* a netmask says the same as a prefix */
	v = replace1(live_nat, "prefix='24'", "netmask='255.255.255.0'");
	assert_true(matches(v, &net_nat));
	free(v);
	/* a forward without mode is NAT */
	v = replace1(live_nat, "<forward mode='nat'>", "<forward>");
	assert_true(matches(v, &net_nat));
	free(v);
	/* the want's MAC in upper case is the same MAC */
	want = net_nat;
	{
		const struct domxml_dhcp_host upper[] = {
			{ "52:54:00:3A:1F:01", "10.20.0.10", "web-001" },
			{ "52:54:00:3A:1F:11", "10.20.0.11", "web-002" },
		};

		want.hosts = upper;
		assert_true(matches(live_nat, &want));
	}

	/* a DHCP host differs: its address, its MAC, its name, one missing, one more */
	v = replace1(live_nat, "ip='10.20.0.11'", "ip='10.20.0.12'");
	assert_false(matches(v, &net_nat));
	free(v);
	v = replace1(live_nat, "mac='52:54:00:3a:1f:11'", "mac='52:54:00:3a:1f:12'");
	assert_false(matches(v, &net_nat));
	free(v);
	v = replace1(live_nat, "name='web-002'", "name='web-003'");
	assert_false(matches(v, &net_nat));
	free(v);
	v = replace1(live_nat, " name='web-002'", "");
	assert_false(matches(v, &net_nat));
	free(v);
	v = replace1(live_nat, "      <host mac='52:54:00:3a:1f:11' name='web-002' ip='10.20.0.11'/>\n", "");
	assert_false(matches(v, &net_nat));
	free(v);
	want = net_nat;
	want.n_hosts = 1;
	assert_false(matches(live_nat, &want));
	/* the subnet differs: prefix, address, netmask */
	v = replace1(live_nat, "prefix='24'", "prefix='16'");
	assert_false(matches(v, &net_nat));
	free(v);
	v = replace1(live_nat, "<ip address='10.20.0.1'", "<ip address='10.20.0.2'");
	assert_false(matches(v, &net_nat));
	free(v);
	v = replace1(live_nat, "prefix='24'", "netmask='255.255.0.0'");
	assert_false(matches(v, &net_nat));
	free(v);
	v = replace1(live_nat, "prefix='24'", "netmask='255.0.255.0'");
	assert_false(matches(v, &net_nat));
	free(v);
	/* the range differs, or is gone */
	v = replace1(live_nat, "end='10.20.0.254'", "end='10.20.0.250'");
	assert_false(matches(v, &net_nat));
	free(v);
	v = replace1(live_nat, "      <range start='10.20.0.100' end='10.20.0.254'/>\n", "");
	assert_false(matches(v, &net_nat));
	free(v);
	/* another mode, another name, an extra IPv6 address */
	v = replace1(live_nat, "<forward mode='nat'>", "<forward mode='route'>");
	assert_false(matches(v, &net_nat));
	free(v);
	want = net_nat;
	want.mode = "isolated";
	assert_false(matches(live_nat, &want));
	want = net_nat;
	want.name = "web-back";
	assert_false(matches(live_nat, &want));
	v = replace1(live_nat, "  </ip>\n", "  </ip>\n  <ip family='ipv6' address='fd00::1' prefix='64'/>\n");
	assert_false(matches(v, &net_nat));
	free(v);
	/* a VLAN tag muster did not ask for */
	v = replace1(live_nat, "  <mac address=", "  <vlan>\n    <tag id='5'/>\n  </vlan>\n  <mac address=");
	assert_false(matches(v, &net_nat));
	free(v);
	/* a bridge named by the want must be the one */
	want = net_nat;
	want.bridge = "virbr1";
	assert_true(matches(live_nat, &want));
	want.bridge = "virbr9";
	assert_false(matches(live_nat, &want));

	/* bridge and ovs-vlan: the bridge, the tag, the virtualport */
	xml = network_ok(&net_ovs);
	v = replace1(xml, "<tag id=\"42\"/>", "<tag id=\"43\"/>");
	assert_false(matches(v, &net_ovs));
	free(v);
	v = replace1(xml, "name=\"ovsbr0\"", "name=\"ovsbr1\"");
	assert_false(matches(v, &net_ovs));
	free(v);
	assert_false(matches(xml, &net_bridge));
	want = net_bridge;
	want.name = net_ovs.name;
	want.bridge = net_ovs.bridge;
	assert_false(matches(xml, &want));	/* ovs-vlan is not a plain bridge */
	free(xml);
	xml = network_ok(&net_bridge);
	want = net_ovs;
	want.name = net_bridge.name;
	want.bridge = net_bridge.bridge;
	assert_false(matches(xml, &want));
	free(xml);
	/* isolated is not NAT */
	xml = network_ok(&net_isolated);
	want = net_isolated;
	want.mode = "nat";
	assert_false(matches(xml, &want));
	free(xml);
}

/* A live network's DHCP range read back, and one written for virNetworkUpdate. */
static void test_network_range(void **state)
{
	struct muster_err err = { 0 };
	char *start = NULL, *end = NULL, *xml, *v;

	(void) state;
	assert_int_equal(domxml_network_range(live_nat, &start, &end, &err), 0);
	assert_string_equal(start, "10.20.0.100");
	assert_string_equal(end, "10.20.0.254");
	free(start);
	free(end);
	/* none: both NULL */
	v = replace1(live_nat, "<range start='10.20.0.100' end='10.20.0.254'/>", "");
	assert_int_equal(domxml_network_range(v, &start, &end, &err), 0);
	assert_null(start);
	assert_null(end);
	free(v);
	/* a bridge network has no <ip> */
	xml = network_ok(&net_bridge);
	assert_int_equal(domxml_network_range(xml, &start, &end, &err), 0);
	assert_null(start);
	free(xml);
	assert_int_equal(domxml_network_range("<domain/>", &start, &end, &err), -1);
	assert_null(start);

	xml = domxml_dhcp_range_format("10.20.0.2", "10.20.0.99", &err);
	assert_non_null(xml);
	assert_string_equal(xml, "<range start=\"10.20.0.2\" end=\"10.20.0.99\"/>");
	free(xml);
	/* a value that would end the attribute stays inside it */
	xml = domxml_dhcp_range_format("10.20.0.2\" end=\"x", "10.20.0.99", &err);
	assert_non_null(xml);
	assert_non_null(strstr(xml, "start=\"10.20.0.2&quot; end=&quot;x\""));
	free(xml);
	assert_null(domxml_dhcp_range_format(NULL, "10.20.0.99", &err));
	assert_int_equal(err.code, MUSTER_E_INVALID);
}

static void test_network_matches_refused(void **state)
{
	struct muster_err err = { 0 };
	bool ok = true;

	(void) state;
	assert_int_equal(domxml_network_matches("<domain/>", &net_nat, &ok, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_non_null(strstr(err.msg, "not a libvirt network"));
	assert_int_equal(domxml_network_matches("<network>", &net_nat, &ok, &err), -1);
	assert_non_null(strstr(err.msg, "not well-formed"));
	assert_int_equal(domxml_network_matches("<n:network xmlns:n='urn:x'/>", &net_nat, &ok, &err), -1);
	assert_non_null(strstr(err.msg, "not a libvirt network"));
	assert_true(ok);	/* untouched */
}

static void test_pool_and_volumes(void **state)
{
	struct domxml_volume clone = {
		.name = "web-web-001.qcow2", .capacity = 20ull << 30, .format = "qcow2",
		.backing_path = "/var/lib/libvirt/images/muster/web-img-debian12.qcow2",
		.backing_format = "qcow2",
	};
	struct domxml_volume seed = { .name = "web-web-001-seed.iso", .capacity = 374784,
				      .format = "raw" };
	struct domxml_volume bad = clone;
	struct muster_err err = { 0 };
	char *pool, *v1, *v2;

	(void) state;
	pool = domxml_pool_format("muster", "/var/lib/libvirt/images/muster", &err);
	assert_non_null(pool);
	assert_schema_valid(pool, "storagepool", "pool");
	v1 = domxml_volume_format(&clone, &err);
	assert_non_null(v1);
	assert_schema_valid(v1, "storagevol", "clone");
	assert_non_null(strstr(v1, "<backingStore>"));
	assert_non_null(strstr(v1, "<format type=\"qcow2\"/>\n  </backingStore>"));
	assert_non_null(strstr(v1, "<mode>0600</mode>"));
	v2 = domxml_volume_format(&seed, &err);
	assert_non_null(v2);
	assert_schema_valid(v2, "storagevol", "seed");
	assert_null(strstr(v2, "backingStore"));
	/* a backing store without its format is refused: it would be probed */
	bad.backing_format = NULL;
	assert_null(domxml_volume_format(&bad, &err));
	assert_non_null(strstr(err.msg, "backing format"));
	bad = clone;
	bad.name = "a/b";
	assert_null(domxml_volume_format(&bad, &err));
	assert_null(domxml_pool_format("muster", "relative/path", &err));
	free(pool);
	free(v1);
	free(v2);
}

/*
 * The facts of a running domain's XML as QEMU's driver gives it (aliases,
 * addresses, a port id, the network's bridge, current vCPUs), and of a
 * volume's: what drift compares (facts.h).
 */
static void test_facts_parse(void **state)
{
	static const char live[] =
		"<domain type='kvm' id='3'><name>web-web-001</name>"
		"<metadata><muster:vm xmlns:muster='" DOMXML_NS "' fleet='web' name='web-001' "
		"group='web' config='c1' base='b1'/></metadata>"
		"<memory unit='KiB'>1048576</memory><currentMemory unit='KiB'>524288</currentMemory>"
		"<vcpu placement='static' current='1'>2</vcpu>"
		"<os><type arch='x86_64'>hvm</type><kernel>/boot/vmlinuz</kernel>"
		"<cmdline>console=ttyS0</cmdline></os>"
		"<devices>"
		"<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>"
		"<source pool='muster' volume='web-web-001.qcow2' index='2'/>"
		"<target dev='vda' bus='virtio'/><alias name='virtio-disk0'/></disk>"
		"<disk type='file' device='cdrom'><source file='/var/x.iso'/><target dev='sda'/></disk>"
		"<interface type='network'><mac address='52:54:00:AB:CD:EF'/>"
		"<source network='web-lan' portid='1f' bridge='virbr1'/><model type='virtio'/></interface>"
		"<interface type='bridge'><mac address='52:54:00:00:00:02'/><source bridge='ovsbr0'/>"
		"<vlan><tag id='42'/></vlan><virtualport type='openvswitch'/></interface>"
		"</devices></domain>";
	static const char vol[] =
		"<volume type='file'><name>web-web-001.qcow2</name>"
		"<capacity unit='bytes'>1073741824</capacity>"
		"<target><path>/pool/web-web-001.qcow2</path><format type='qcow2'/>"
		"<timestamps><mtime>1700000000.5</mtime></timestamps></target>"
		"<backingStore><path>/pool/web-img-base.qcow2</path><format type='qcow2'/></backingStore>"
		"</volume>";
	struct domain_facts f;
	struct listed_volume v = { 0 };
	struct muster_err err = { 0 };

	(void) state;
	assert_int_equal(domxml_facts_parse(live, &f, &err), 0);
	assert_true(f.read);
	assert_string_equal(f.config_hash, "c1");
	assert_string_equal(f.base_hash, "b1");
	assert_int_equal(f.memory_kib, 1048576);
	assert_int_equal(f.vcpus, 1);		/* what runs: current= */
	assert_string_equal(f.kernel, "/boot/vmlinuz");
	assert_null(f.initrd);
	assert_string_equal(f.cmdline, "console=ttyS0");
	assert_int_equal(f.n_disks, 2);
	assert_string_equal(f.disks[0].device, "disk");
	assert_string_equal(f.disks[0].source, "volume muster/web-web-001.qcow2");
	assert_string_equal(f.disks[1].source, "file /var/x.iso");
	assert_int_equal(f.n_nics, 2);
	assert_string_equal(f.nics[0].mac, "52:54:00:ab:cd:ef");	/* lowercased */
	assert_string_equal(f.nics[0].kind, "network");
	assert_string_equal(f.nics[0].source, "web-lan");
	assert_string_equal(f.nics[1].source, "ovsbr0");
	assert_int_equal(f.nics[1].vlan, 42);
	facts_release(&f);
	assert_int_equal(domxml_facts_parse("<network/>", &f, &err), -1);
	assert_int_equal(domxml_volume_facts(vol, &v, &err), 0);
	assert_string_equal(v.path, "/pool/web-web-001.qcow2");
	assert_int_equal(v.capacity, 1073741824ULL);
	assert_string_equal(v.format, "qcow2");
	assert_string_equal(v.backing_path, "/pool/web-img-base.qcow2");
	assert_string_equal(v.backing_format, "qcow2");
	assert_string_equal(v.mtime, "1700000000.5");
	free(v.path);
	free(v.format);
	free(v.backing_path);
	free(v.backing_format);
	free(v.mtime);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_all_fields),
		cmocka_unit_test(test_round_trip_required_only),
		cmocka_unit_test(test_round_trip_xml_specials),
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_all_attributes),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_parse_size_limit),
		cmocka_unit_test(test_parse_external_entity),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_nic_kind_strings),
		cmocka_unit_test(test_domain_golden),
		cmocka_unit_test(test_domain_shapes),
		cmocka_unit_test(test_domain_user_nic_args),
		cmocka_unit_test(test_domain_boundaries),
		cmocka_unit_test(test_domain_refused),
		cmocka_unit_test(test_domain_injection),
		cmocka_unit_test(test_network_golden),
		cmocka_unit_test(test_network_uuid),
		cmocka_unit_test(test_network_refused),
		cmocka_unit_test(test_network_injection),
		cmocka_unit_test(test_channel_path),
		cmocka_unit_test(test_console_log),
		cmocka_unit_test(test_network_matches),
		cmocka_unit_test(test_network_matches_refused),
		cmocka_unit_test(test_network_range),
		cmocka_unit_test(test_pool_and_volumes),
		cmocka_unit_test(test_facts_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
