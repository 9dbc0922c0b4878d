/* test_domxml.c: muster's domain <metadata> element, formatted and parsed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "domxml.h"

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
