/*
 * test_hv.c: what hv_libvirt.c decides without a connection: which URIs
 * reach their daemon over a network (and so get libvirt's keepalive).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>

#include <cmocka.h>

#include "hv.h"

static void test_uri_is_network(void **state)
{
	static const char *const network[] = {
		"qemu+ssh://root@kvm1.example/system",
		"qemu+ssh://kvm1/system?keyfile=/root/.ssh/id_ed25519",
		"qemu+libssh://kvm1/system",
		"qemu+libssh2://kvm1/system",
		"qemu+tls://kvm1.example:16514/system",
		"qemu+tcp://10.0.0.5/system",
		"qemu://kvm1/system",		/* TLS by default */
		"xen://dom0.example/",
		"qemu+ext:///system?command=/opt/tunnel",
		"test+tcp://127.0.0.1/default",
	};
	static const char *const local[] = {
		"qemu:///system",
		"qemu:///session",
		"xen:///system",
		"test:///default",
		"test:///var/tmp/node.xml",
		"test+unix:///default?socket=/run/muster/libvirt-sock",
		"qemu+unix:///system",
		"qemu:///system?socket=/run/libvirt/virtqemud-sock",
		"qemu:/system",
		"",
	};
	size_t i;

	(void) state;
	for (i = 0; i < sizeof(network) / sizeof(*network); i++) {
		if (!hv_uri_is_network(network[i]))
			fail_msg("'%s' should count as over a network", network[i]);
	}
	for (i = 0; i < sizeof(local) / sizeof(*local); i++) {
		if (hv_uri_is_network(local[i]))
			fail_msg("'%s' should count as local", local[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_is_network),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
