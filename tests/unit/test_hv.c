/*
 * test_hv.c: what hv_libvirt.c decides without a connection: which URIs
 * reach their daemon over a network (and so get libvirt's keepalive); and
 * on libvirt's test driver, in this process: a watch's sync hands over
 * the lifecycle events of what was done before it.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hv.h"
#include "err.h"

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

/* the events of domain 'test' (test:///default's own), in order */
static struct {
	pthread_mutex_t lock;
	char what[64][32];
	size_t n;
} seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void on_event(void *ud, const char *domain, const char *what)
{
	(void) ud;
	pthread_mutex_lock(&seen.lock);
	if (strcmp(domain, "test") == 0 && seen.n < sizeof(seen.what) / sizeof(*seen.what))
		snprintf(seen.what[seen.n++], sizeof(*seen.what), "%s", what);
	pthread_mutex_unlock(&seen.lock);
}

/*
 * The test driver hands its events to the callbacks from a timer of
 * libvirt's event loop, a moment after the call that made them returns:
 * without the sync the events of the last stop and start are not there
 * yet (as a run's last VM's start was not, at its end).
 */
static void test_watch_sync(void **state)
{
	struct muster_err err = { 0 };
	struct hv_watch *w = NULL;
	struct hv *hv = NULL;
	int round;

	(void) state;
	assert_int_equal(hv_watch_start("test:///default", on_event, NULL, NULL, &w, &err), 0);
	assert_int_equal(hv_open("test:///default", &hv, &err), 0);
	for (round = 0; round < 20; round++) {
		size_t n;

		assert_int_equal(hv_domain_stop(hv, "test", true, &err), 0);
		assert_int_equal(hv_domain_start(hv, "test", &err), 0);
		assert_int_equal(hv_watch_sync(w, 5000), 0);
		pthread_mutex_lock(&seen.lock);
		n = seen.n;
		pthread_mutex_unlock(&seen.lock);
		if (n != 2 * (size_t) (round + 1))
			fail_msg("round %d: %zu events after the sync, not %d", round, n, 2 * (round + 1));
		assert_string_equal(seen.what[n - 2], "stopped (destroyed)");
		assert_string_equal(seen.what[n - 1], "started (booted)");
	}
	hv_watch_stop(w);
	hv_free(hv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_is_network),
		cmocka_unit_test(test_watch_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
