/* test_installer.c: an install tree's .treeinfo read, and the installer's command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "installer.h"

#define TREE "http://mirror.example/el9/BaseOS/x86_64/os/"
#define SUM_K "sha256:7a8b60b82b8bdb4ac1a24e8dcd1d5ac4d8e1fda09b1f7ec9c6a4b12ba2c4d76e"
#define SUM_I "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"

static void parse(const char *text, struct installer_boot *b)
{
	struct muster_err err = { 0 };

	if (installer_treeinfo(TREE, text, strlen(text), "x86_64", b, &err) < 0)
		fail_msg("%s", err.msg);
}

static void parse_fails(const char *text, const char *want)
{
	struct installer_boot b = { 0 };
	struct muster_err err = { 0 };

	assert_int_equal(installer_treeinfo(TREE, text, strlen(text), "x86_64", &b, &err), -1);
	if (!strstr(err.msg, want))
		fail_msg("'%s' does not say '%s'", err.msg, want);
	assert_null(b.kernel_url);
}

/* As Rocky 9's tree has it (trimmed), sections in productmd's order. */
static void test_el9(void **state)
{
	struct installer_boot b;

	(void) state;
	parse("[checksums]\n"
	      "images/boot.iso = sha256:aaaa\n"
	      "images/pxeboot/initrd.img = " SUM_I "\n"
	      "images/pxeboot/vmlinuz = " SUM_K "\n"
	      "\n[general]\narch = x86_64\nfamily = Rocky Linux\n"
	      "[header]\ntype = productmd.treeinfo\nversion = 1.2\n"
	      "[images-x86_64]\nboot.iso = images/boot.iso\n"
	      "initrd = images/pxeboot/initrd.img\nkernel = images/pxeboot/vmlinuz\n"
	      "[images-aarch64]\nkernel = images/arm/vmlinuz\n", &b);
	assert_string_equal(b.kernel_url, TREE "images/pxeboot/vmlinuz");
	assert_string_equal(b.initrd_url, TREE "images/pxeboot/initrd.img");
	assert_string_equal(b.kernel_sha256, SUM_K + 7);
	assert_string_equal(b.initrd_sha256,
			    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	installer_boot_release(&b);
}

static void test_defaults_and_other_paths(void **state)
{
	struct installer_boot b;

	(void) state;
	parse("", &b);	/* no .treeinfo */
	assert_string_equal(b.kernel_url, TREE "images/pxeboot/vmlinuz");
	assert_string_equal(b.initrd_url, TREE "images/pxeboot/initrd.img");
	assert_string_equal(b.kernel_sha256, "");
	assert_string_equal(b.initrd_sha256, "");
	installer_boot_release(&b);
	/* other names, CRLF, comments, md5 sums ignored, another arch's sums not taken */
	parse("# a comment\r\n[images-x86_64]\r\nkernel = boot/linux-6.1\r\ninitrd=boot/initrd-6.1.img\r\n"
	      "[checksums]\r\nboot/linux-6.1 = md5:0123\r\nimages/pxeboot/initrd.img = " SUM_I "\r\n", &b);
	assert_string_equal(b.kernel_url, TREE "boot/linux-6.1");
	assert_string_equal(b.initrd_url, TREE "boot/initrd-6.1.img");
	assert_string_equal(b.kernel_sha256, "");
	assert_string_equal(b.initrd_sha256, "");
	installer_boot_release(&b);
}

static void test_refused(void **state)
{
	(void) state;
	parse_fails("[images-x86_64]\nkernel = ../../etc/passwd\n", ".treeinfo:2: kernel '../../etc/passwd' is not a path inside the tree");
	parse_fails("[images-x86_64]\nkernel = /boot/vmlinuz\n", "not a path inside the tree");
	parse_fails("[images-x86_64]\ninitrd = http://evil/initrd\n", "not a path inside the tree");
	parse_fails("[images-x86_64]\ninitrd = a//b\n", "not a path inside the tree");
	parse_fails("[images-x86_64]\nkernel = a b\n", "not a path inside the tree");
	parse_fails("[images-x86_64\n", ".treeinfo:1: bad section header");
	parse_fails("[x]\njunk\n", ".treeinfo:2: neither a section nor key = value");
	parse_fails("[checksums]\nimages/pxeboot/vmlinuz = sha256:abc\n", "is not 64 hexadecimal digits");
	parse_fails("[checksums]\nimages/pxeboot/vmlinuz = 1234\n", "is not ALGORITHM:HEX");
	{
		struct installer_boot b = { 0 };
		struct muster_err err = { 0 };

		assert_int_equal(installer_treeinfo("ftp://x/", "", 0, "x86_64", &b, &err), -1);
		assert_int_equal(installer_treeinfo("http://x/a b/", "", 0, "x86_64", &b, &err), -1);
		assert_int_equal(installer_treeinfo(TREE, "a\0b", 3, "x86_64", &b, &err), -1);
	}
}

static void test_cmdline(void **state)
{
	struct muster_err err = { 0 };
	char *c = NULL;

	(void) state;
	assert_int_equal(installer_cmdline(TREE, &c, &err), 0);
	assert_string_equal(c, "inst.ks=hd:LABEL=OEMDRV:/ks.cfg inst.repo=" TREE
			    " console=ttyS0,115200n8");
	free(c);
	c = NULL;
	assert_int_equal(installer_cmdline("http://m/os init=/bin/sh", &c, &err), -1);
	assert_int_equal(installer_cmdline("http://m/os\"", &c, &err), -1);
	assert_int_equal(installer_cmdline("file:///os", &c, &err), -1);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_el9),
		cmocka_unit_test(test_defaults_and_other_paths),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_cmdline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
