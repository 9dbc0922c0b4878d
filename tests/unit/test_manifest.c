/*
 * test_manifest.c: manifest_parse() on text in memory: the model's values and
 * defaults, VM expansion and order, networks and NICs, the enum tables, the
 * canonical spec text behind the config hash, diagnostics, and hostile input
 * that must be refused (or accepted) quickly and within bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <time.h>
#include <cmocka.h>

#include "buf.h"
#include "manifest.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

/* ---- helpers ------------------------------------------------------------------ */

static void print_diags(const struct mf_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		print_error("  %u:%u: %s: %s\n", d->v[i].pos.line, d->v[i].pos.col, d->v[i].path,
			    d->v[i].msg);
}

static struct manifest *parse_ok_len(const char *text, size_t len)
{
	struct manifest *m = NULL;
	struct mf_diags d;
	int r = manifest_parse("t.yaml", text, len, &m, &d);

	if (r < 0) {
		print_error("manifest refused:\n");
		print_diags(&d);
	}
	assert_int_equal(r, 0);
	assert_int_equal(d.n, 0);
	assert_non_null(m);
	mf_diags_release(&d);
	return m;
}

static struct manifest *parse_ok(const char *text)
{
	return parse_ok_len(text, strlen(text));
}

/* Index of the first diagnostic whose message contains needle, or -1. */
static ssize_t diag_find(const struct mf_diags *d, const char *needle)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strstr(d->v[i].msg, needle))
			return (ssize_t) i;
	return -1;
}

/* Parse text that must be refused with a diagnostic containing needle. */
static void parse_refused_len(const char *text, size_t len, const char *needle,
			      struct mf_diags *d)
{
	struct manifest *m = NULL;

	assert_int_equal(manifest_parse("t.yaml", text, len, &m, d), -1);
	assert_null(m);
	assert_true(d->n > 0);
	if (diag_find(d, needle) < 0) {
		print_error("no diagnostic contains \"%s\":\n", needle);
		print_diags(d);
	}
	assert_true(diag_find(d, needle) >= 0);
}

static void refused(const char *text, const char *needle)
{
	struct mf_diags d;

	parse_refused_len(text, strlen(text), needle, &d);
	mf_diags_release(&d);
}

static double now(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* One second, five under sanitizers. */
static double time_limit(void)
{
	return getenv("MUSTER_SANITIZED") ? 5.0 : 1.0;
}

static void assert_fast(double start, const char *what)
{
	double took = now() - start;

	if (took >= time_limit())
		print_error("%s took %.3f s (limit %.1f s)\n", what, took, time_limit());
	assert_true(took < time_limit());
}

/* ---- the model ---------------------------------------------------------------- */

static const char full_text[] =
	"fleet: web\n"
	"domain: lab.example.com\n"
	"hypervisor: qemu+ssh://kvm1/system\n"
	"pool: fleetpool\n"
	"pool_path: /srv/pool\n"
	"domain_type: qemu\n"
	"boot:\n"
	"  kernel: /boot/vmlinuz\n"
	"  initrd: /boot/initrd.img\n"
	"  cmdline: \"root=/dev/vda console=ttyS0\"\n"
	"tcg: {tb_cache: 128M}\n"
	"endpoint: http://192.0.2.1:8080\n"
	"images:\n"
	"  debian12: {url: https://example.com/d12.qcow2, "
	"sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855}\n"
	"  local: {path: /srv/base.img, format: raw}\n"
	"networks:\n"
	"  front: {type: nat, subnet: 10.20.0.0/24}\n"
	"  back: {type: isolated, subnet: 10.30.0.0/16}\n"
	"  lan: {type: bridge, bridge: br0, gateway: 192.168.1.1, dns: [192.168.1.53, 192.168.1.54],\n"
	"        search: [corp.example], mtu: 9000, routes: [{to: 10.99.0.0/16, via: 192.168.1.254,\n"
	"        metric: 20}, {to: 10.98.0.0/31, via: 192.168.1.253}]}\n"
	"  tenant: {type: vlan, bridge: ovsbr0, vlan: 42, gateway: none, dns: none}\n"
	"  slirp: {type: user, forward: {ssh: 127.0.0.1:auto, \"8080\": 0.0.0.0:auto}}\n"
	"ssh:\n"
	"  authorized_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5 ops]\n"
	"  host_key_types: [rsa, ecdsa]\n"
	"batch: {size: 5, parallel: 2, max_fail_percent: 0, ready_timeout: 90s}\n"
	"rebuild: {max_age: 7d, max_unavailable: 3, per_group: true, stopped_grace: 30m, restart: true}\n"
	"groups:\n"
	"  web:\n"
	"    count: 100\n"
	"    image: debian12\n"
	"    cpus: 2\n"
	"    memory: 2G\n"
	"    disk: 20G\n"
	"    networks: [front, back, lan, tenant, slirp]\n"
	"    cloud_init: {packages: [nginx], user_data: {timezone: UTC}}\n"
	"  lb:\n"
	"    names: [lb-a]\n"
	"    image: local\n"
	"    memory: 1536M\n"
	"    networks:\n"
	"      - {network: front, ip: 10.20.0.10}\n"
	"      - {network: back, ip: 10.30.1.10/16, mac: \"52:54:00:AB:CD:EF\"}\n"
	"      - {network: lan, ip: 192.168.1.10/23}\n"
	"  db:\n"
	"    count: 3\n"
	"    bootstrap: kickstart\n"
	"    kickstart: {template: el9.ks, install_tree: http://mirror/el9/, vars: {tz: UTC}}\n"
	"events: {keep: 14d}\n";

static void test_model_top_level(void **state)
{
	struct manifest *m = parse_ok(full_text);

	(void) state;
	assert_string_equal(m->file, "t.yaml");
	assert_string_equal(m->fleet, "web");
	assert_string_equal(m->domain, "lab.example.com");
	assert_string_equal(m->hypervisor, "qemu+ssh://kvm1/system");
	assert_int_equal(m->n_hosts, 0);
	assert_string_equal(m->pool, "fleetpool");
	assert_string_equal(m->pool_path, "/srv/pool");
	assert_int_equal(m->domain_type, MF_DOMAIN_QEMU);
	assert_true(m->has_boot);
	assert_string_equal(m->boot_kernel, "/boot/vmlinuz");
	assert_string_equal(m->boot_initrd, "/boot/initrd.img");
	assert_string_equal(m->boot_cmdline, "root=/dev/vda console=ttyS0");
	assert_int_equal(m->tcg_tb_cache, 128 * MiB);
	assert_string_equal(m->endpoint, "http://192.0.2.1:8080");

	assert_int_equal(m->n_images, 2);
	assert_string_equal(m->images[0].name, "debian12");
	assert_string_equal(m->images[0].url, "https://example.com/d12.qcow2");
	assert_null(m->images[0].path);
	assert_string_equal(m->images[0].sha256,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(m->images[0].format, MF_FORMAT_QCOW2);
	assert_string_equal(m->images[1].name, "local");
	assert_null(m->images[1].url);
	assert_string_equal(m->images[1].path, "/srv/base.img");
	assert_int_equal(m->images[1].format, MF_FORMAT_RAW);

	assert_int_equal(m->n_authorized_keys, 1);
	assert_int_equal(strncmp(m->authorized_keys[0], "ssh-ed25519 AAAA", 16), 0);
	assert_int_equal(m->n_host_key_types, 2);
	assert_int_equal(m->host_key_types[0], MF_KEY_RSA);
	assert_int_equal(m->host_key_types[1], MF_KEY_ECDSA);

	assert_int_equal(m->batch_size, 5);
	assert_int_equal(m->batch_parallel, 2);
	assert_int_equal(m->batch_max_fail_percent, 0);
	assert_int_equal(m->ready_timeout, 90);
	assert_int_equal(m->rebuild_max_age, 7 * 86400);
	assert_int_equal(m->rebuild_max_unavailable, 3);
	assert_false(m->rebuild_max_unavailable_percent);
	assert_true(m->rebuild_per_group);
	assert_int_equal(m->rebuild_stopped_grace, 30 * 60);
	assert_true(m->rebuild_restart);
	assert_int_equal(m->events_keep, 14 * 86400);
	manifest_free(m);
}

static void test_model_groups(void **state)
{
	struct manifest *m = parse_ok(full_text);
	const struct mf_group *g;

	(void) state;
	assert_int_equal(m->n_groups, 3);
	assert_int_equal(m->n_vms, 104);

	g = &m->groups[0];
	assert_string_equal(g->name, "web");
	assert_int_equal(g->first_vm, 0);
	assert_int_equal(g->n_vms, 100);
	assert_false(g->explicit_names);
	assert_true(g->has_image);
	assert_int_equal(g->image, 0);
	assert_int_equal(g->cpus, 2);
	assert_int_equal(g->memory, 2 * GiB);
	assert_int_equal(g->disk, 20 * GiB);
	assert_int_equal(g->n_nics, 5);
	assert_int_equal(g->bootstrap, MF_BOOTSTRAP_CLOUD_INIT);
	assert_non_null(g->cloud_init);
	assert_int_equal(g->cloud_init->kind, YT_MAP);
	assert_false(g->has_kickstart);

	g = &m->groups[1];
	assert_string_equal(g->name, "lb");
	assert_int_equal(g->first_vm, 100);
	assert_int_equal(g->n_vms, 1);
	assert_true(g->explicit_names);
	assert_int_equal(g->image, 1);
	assert_int_equal(g->cpus, 1);			/* default */
	assert_int_equal(g->memory, 1536 * MiB);
	assert_int_equal(g->disk, 10 * GiB);		/* default */
	assert_null(g->cloud_init);

	g = &m->groups[2];
	assert_string_equal(g->name, "db");
	assert_int_equal(g->first_vm, 101);
	assert_int_equal(g->n_vms, 3);
	assert_false(g->has_image);
	assert_int_equal(g->bootstrap, MF_BOOTSTRAP_KICKSTART);
	assert_true(g->has_kickstart);
	assert_string_equal(g->kickstart.template_path, "el9.ks");
	assert_string_equal(g->kickstart.install_tree, "http://mirror/el9/");
	assert_int_equal(g->kickstart.n_vars, 1);
	assert_string_equal(g->kickstart.vars[0].name, "tz");
	assert_string_equal(g->kickstart.vars[0].value, "UTC");
	assert_int_equal(g->n_nics, 0);

	assert_string_equal(m->vms[0].name, "web-001");
	assert_string_equal(m->vms[99].name, "web-100");
	assert_string_equal(m->vms[100].name, "lb-a");
	assert_string_equal(m->vms[101].name, "db-001");
	assert_string_equal(m->vms[103].name, "db-003");
	assert_ptr_equal(manifest_vm_group(m, &m->vms[0]), &m->groups[0]);
	assert_ptr_equal(manifest_vm_group(m, &m->vms[100]), &m->groups[1]);
	assert_ptr_equal(manifest_vm_group(m, &m->vms[103]), &m->groups[2]);
	manifest_free(m);
}

static void test_networks_and_nics(void **state)
{
	struct manifest *m = parse_ok(full_text);
	const struct mf_network *n = m->networks;
	const struct mf_group *g;

	(void) state;
	assert_int_equal(m->n_networks, 5);
	assert_string_equal(n[0].name, "front");
	assert_int_equal(n[0].type, MF_NET_NAT);
	assert_string_equal(n[0].subnet, "10.20.0.0/24");
	assert_int_equal(n[0].net_addr, 0x0a140000u);
	assert_int_equal(n[0].prefix, 24);
	assert_null(n[0].bridge);
	/* nat: libvirt's gateway and name server; the fleet's domain to search */
	assert_int_equal(n[0].gateway, 0x0a140001u);
	assert_false(n[0].gateway_given);
	assert_int_equal(n[0].n_dns, 1);
	assert_int_equal(n[0].dns[0], 0x0a140001u);
	assert_int_equal(n[0].n_search, 1);
	assert_string_equal(n[0].search[0], m->domain);
	assert_int_equal(n[0].mtu, 0);
	assert_int_equal(n[1].type, MF_NET_ISOLATED);
	assert_int_equal(n[1].net_addr, 0x0a1e0000u);
	assert_int_equal(n[1].prefix, 16);
	/* isolated: a name server, no way out */
	assert_int_equal(n[1].gateway, 0);
	assert_int_equal(n[1].n_dns, 1);
	assert_int_equal(n[1].dns[0], 0x0a1e0001u);
	assert_int_equal(n[2].type, MF_NET_BRIDGE);
	assert_string_equal(n[2].bridge, "br0");
	assert_null(n[2].subnet);
	/* a bridge: what the manifest says, and nothing else */
	assert_true(n[2].gateway_given && n[2].dns_given && n[2].search_given);
	assert_int_equal(n[2].gateway, 0xc0a80101u);
	assert_int_equal(n[2].n_dns, 2);
	assert_int_equal(n[2].dns[1], 0xc0a80136u);
	assert_int_equal(n[2].n_search, 1);
	assert_string_equal(n[2].search[0], "corp.example");
	assert_int_equal(n[2].mtu, 9000);
	assert_int_equal(n[2].n_routes, 2);
	assert_int_equal(n[2].routes[0].to, 0x0a630000u);
	assert_int_equal(n[2].routes[0].prefix, 16);
	assert_int_equal(n[2].routes[0].via, 0xc0a801feu);
	assert_int_equal(n[2].routes[0].metric, 20);
	assert_int_equal(n[2].routes[1].prefix, 31);
	assert_int_equal(n[2].routes[1].metric, 0);
	assert_int_equal(n[3].type, MF_NET_VLAN);
	assert_string_equal(n[3].bridge, "ovsbr0");
	assert_int_equal(n[3].vlan, 42);
	assert_true(n[3].gateway_given && n[3].dns_given);
	assert_int_equal(n[3].gateway, 0);
	assert_int_equal(n[3].n_dns, 0);
	assert_int_equal(n[4].type, MF_NET_USER);
	assert_int_equal(n[4].n_forwards, 2);
	assert_string_equal(n[4].forwards[0].service, "ssh");
	assert_int_equal(n[4].forwards[0].guest_port, 22);
	assert_string_equal(n[4].forwards[0].host_addr, "127.0.0.1");
	assert_int_equal(n[4].forwards[0].host_port, 0);	/* auto */
	assert_string_equal(n[4].forwards[1].service, "8080");
	assert_int_equal(n[4].forwards[1].guest_port, 8080);
	assert_string_equal(n[4].forwards[1].host_addr, "0.0.0.0");
	assert_int_equal(n[4].forwards[1].host_port, 0);	/* 100 VMs use it: auto */
	assert_false(n[4].unrestricted);	/* restrict defaults to true */

	/* web: DHCP on every network, in the order written */
	g = &m->groups[0];
	assert_int_equal(g->nics[0].network, 0);
	assert_int_equal(g->nics[4].network, 4);
	assert_null(g->nics[0].ip);
	assert_null(g->nics[0].mac);

	/* lb: static addresses; the prefix comes from the network when not written */
	g = &m->groups[1];
	assert_int_equal(g->n_nics, 3);
	assert_int_equal(g->nics[0].network, 0);
	assert_string_equal(g->nics[0].ip, "10.20.0.10");
	assert_int_equal(g->nics[0].ip_prefix, 24);
	assert_null(g->nics[0].mac);
	assert_int_equal(g->nics[0].ip_pos.line, 43);
	assert_int_equal(g->nics[0].ip_pos.col, 30);
	assert_int_equal(g->nics[1].network, 1);
	assert_string_equal(g->nics[1].ip, "10.30.1.10");
	assert_int_equal(g->nics[1].ip_prefix, 16);
	assert_string_equal(g->nics[1].mac, "52:54:00:ab:cd:ef");	/* lowercased */
	assert_int_equal(g->nics[1].mac_pos.line, 44);
	assert_int_equal(g->nics[2].network, 2);
	assert_string_equal(g->nics[2].ip, "192.168.1.10");
	assert_int_equal(g->nics[2].ip_prefix, 23);
	manifest_free(m);
}

static const char minimal_text[] =
	"fleet: min\n"
	"images:\n"
	"  base: {path: base.qcow2}\n"
	"groups:\n"
	"  vm: {count: 1, image: base}\n";

static void test_defaults(void **state)
{
	struct manifest *m = parse_ok(minimal_text);
	const struct mf_group *g = &m->groups[0];

	(void) state;
	assert_string_equal(m->fleet, "min");
	assert_null(m->domain);
	assert_string_equal(m->hypervisor, "qemu:///system");
	assert_int_equal(m->n_hosts, 0);
	assert_string_equal(m->pool, "muster");
	assert_string_equal(m->pool_path, "/var/lib/libvirt/images/muster");
	assert_int_equal(m->domain_type, MF_DOMAIN_KVM);
	assert_false(m->has_boot);
	assert_int_equal(m->tcg_tb_cache, 0);
	assert_null(m->endpoint);
	assert_int_equal(m->n_networks, 0);
	assert_int_equal(m->n_authorized_keys, 0);
	assert_int_equal(m->n_host_key_types, 1);
	assert_int_equal(m->host_key_types[0], MF_KEY_ED25519);
	assert_int_equal(m->batch_size, 20);
	assert_int_equal(m->batch_parallel, 8);
	assert_int_equal(m->batch_max_fail_percent, 10);
	assert_int_equal(m->ready_timeout, 600);
	assert_int_equal(m->rebuild_max_age, 0);
	assert_int_equal(m->rebuild_max_unavailable, 10);
	assert_true(m->rebuild_max_unavailable_percent);
	assert_false(m->rebuild_per_group);
	assert_int_equal(m->rebuild_stopped_grace, 3600);
	assert_false(m->rebuild_restart);
	assert_int_equal(m->events_keep, 90 * 86400);	/* events.keep's default */
	assert_int_equal(m->images[0].format, MF_FORMAT_QCOW2);
	assert_int_equal(g->cpus, 1);
	assert_int_equal(g->memory, 1 * GiB);
	assert_int_equal(g->disk, 10 * GiB);
	assert_int_equal(g->bootstrap, MF_BOOTSTRAP_CLOUD_INIT);
	assert_int_equal(g->n_nics, 0);
	assert_null(g->cloud_init);
	assert_int_equal(m->n_vms, 1);
	assert_string_equal(m->vms[0].name, "vm-001");
	manifest_free(m);
}

static void test_null_values_take_defaults(void **state)
{
	struct manifest *m = parse_ok("fleet: n\n"
				      "pool: ~\n"
				      "hypervisor:\n"
				      "batch: {size: null, ready_timeout: ~}\n"
				      "images: {b: {path: /b, format: ~}}\n"
				      "groups: {g: {count: 2, image: b, cpus: ~, memory: null}}\n");

	(void) state;
	assert_string_equal(m->pool, "muster");
	assert_string_equal(m->hypervisor, "qemu:///system");
	assert_int_equal(m->batch_size, 20);
	assert_int_equal(m->ready_timeout, 600);
	assert_int_equal(m->groups[0].cpus, 1);
	assert_int_equal(m->groups[0].memory, 1 * GiB);
	assert_int_equal(m->images[0].format, MF_FORMAT_QCOW2);
	manifest_free(m);
}

/* events.keep: forever keeps them all (0); ~ takes the default */
static void test_events_keep(void **state)
{
	struct manifest *m = parse_ok("fleet: e\n"
				      "events: {keep: forever}\n"
				      "images: {b: {path: /b}}\n"
				      "groups: {g: {count: 1, image: b}}\n");

	(void) state;
	assert_int_equal(m->events_keep, 0);
	manifest_free(m);
	m = parse_ok("fleet: e\n"
		     "events: {keep: ~}\n"
		     "images: {b: {path: /b}}\n"
		     "groups: {g: {count: 1, image: b}}\n");
	assert_int_equal(m->events_keep, MF_EVENTS_KEEP_DEFAULT);
	manifest_free(m);
	m = parse_ok("fleet: e\n"
		     "events: {keep: 1h}\n"
		     "images: {b: {path: /b}}\n"
		     "groups: {g: {count: 1, image: b}}\n");
	assert_int_equal(m->events_keep, 3600);
	manifest_free(m);
}

static void test_hosts(void **state)
{
	struct manifest *m = parse_ok("fleet: h\n"
				      "hosts:\n"
				      "  - {uri: qemu+ssh://kvm1/system, max_vms: 50}\n"
				      "  - {uri: qemu+ssh://kvm2/system}\n"
				      "images: {b: {path: /b}}\n"
				      "groups: {g: {count: 2, image: b}}\n");

	(void) state;
	assert_null(m->hypervisor);	/* hosts instead */
	assert_int_equal(m->n_hosts, 2);
	assert_string_equal(m->hosts[0].uri, "qemu+ssh://kvm1/system");
	assert_int_equal(m->hosts[0].max_vms, 50);
	assert_string_equal(m->hosts[1].uri, "qemu+ssh://kvm2/system");
	assert_int_equal(m->hosts[1].max_vms, 0);
	manifest_free(m);
}

static void test_sizes(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} ok[] = {
		{ "131072K", 128 * MiB }, { "131072KiB", 128 * MiB }, { "128M", 128 * MiB },
		{ "3GiB", 3 * GiB }, { "1T", 1024 * GiB }, { "4T", 4096 * GiB },
		{ "\"2G\"", 2 * GiB },
	};
	static const char *const bad[] = {
		"1Gx", "1.5G", "-3", "1e100", "2048", "2g", "2GB", "G", "02G", "2 G",
		"99999999999999999999G", "18446744073709551615K", "64M", "5T",
	};
	char text[512];
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		struct manifest *m;

		(void) snprintf(text, sizeof(text), "fleet: s\nimages: {b: {path: /b}}\n"
				"groups: {g: {count: 1, image: b, memory: %s}}\n", ok[i].text);
		m = parse_ok(text);
		assert_int_equal(m->groups[0].memory, ok[i].bytes);
		manifest_free(m);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct mf_diags d;

		(void) snprintf(text, sizeof(text), "fleet: s\nimages: {b: {path: /b}}\n"
				"groups: {g: {count: 1, image: b, memory: %s}}\n", bad[i]);
		parse_refused_len(text, strlen(text), "size", &d);
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].path, "groups.g.memory");
		assert_int_equal(d.v[0].pos.line, 3);
		assert_int_equal(d.v[0].pos.col, 42);
		mf_diags_release(&d);
	}
}

/* ---- VM expansion --------------------------------------------------------------- */

static void test_expansion_order(void **state)
{
	struct manifest *m = parse_ok("fleet: f\n"
				      "images: {b: {path: /b}}\n"
				      "groups:\n"
				      "  web: {count: 3, image: b}\n"
				      "  db:\n"
				      "    names: [zeta, alpha, m-1]\n"
				      "    image: b\n"
				      "  none: {count: 0, image: b}\n"
				      "  api: {count: 2, image: b}\n");
	static const char *const want[] = {
		"web-001", "web-002", "web-003", "zeta", "alpha", "m-1", "api-001", "api-002",
	};
	static const size_t group[] = { 0, 0, 0, 1, 1, 1, 3, 3 };
	size_t i;

	(void) state;
	assert_int_equal(m->n_vms, ARRAY_SIZE(want));
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		assert_string_equal(m->vms[i].name, want[i]);
		assert_int_equal(m->vms[i].group, group[i]);
	}
	assert_true(m->groups[1].explicit_names);
	assert_false(m->groups[0].explicit_names);
	assert_int_equal(m->groups[2].n_vms, 0);
	assert_int_equal(m->groups[3].first_vm, 6);
	/* a count-made VM points at its count, a named one at its name */
	assert_int_equal(m->vms[0].pos.line, 4);
	assert_int_equal(m->vms[0].pos.col, 16);
	assert_int_equal(m->vms[4].pos.line, 6);
	assert_int_equal(m->vms[4].pos.col, 19);
	manifest_free(m);
}

static void test_expansion_past_999(void **state)
{
	struct manifest *m = parse_ok("fleet: f\nimages: {b: {path: /b}}\n"
				      "groups: {web: {count: 10000, image: b}}\n");

	(void) state;
	assert_int_equal(m->n_vms, 10000);
	assert_string_equal(m->vms[0].name, "web-001");
	assert_string_equal(m->vms[98].name, "web-099");
	assert_string_equal(m->vms[998].name, "web-999");
	assert_string_equal(m->vms[999].name, "web-1000");
	assert_string_equal(m->vms[9998].name, "web-9999");
	assert_string_equal(m->vms[9999].name, "web-10000");
	manifest_free(m);
}

static void test_label(void **state)
{
	static const char *const good[] = {
		"a", "0", "web-001", "a-b-c",
		"a23456789012345678901234567890123456789012345678901234567890123",
	};
	static const char *const bad[] = {
		"", "-a", "a-", "A", "a_b", "a.b", "..", "a/b", "a b", "a\n",
		"a234567890123456789012345678901234567890123456789012345678901234",
		"caf\xc3\xa9",
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		assert_true(mf_is_label(good[i]));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (mf_is_label(bad[i]))
			print_error("'%s' taken for a label\n", bad[i]);
		assert_false(mf_is_label(bad[i]));
	}
}

/* ---- enum tables ------------------------------------------------------------------ */

static void test_enum_round_trip(void **state)
{
	int v;

	(void) state;
	for (v = 0; v < MF_DOMAIN_TYPE_MAX; v++) {
		const char *s = mf_domain_type_to_string((enum mf_domain_type) v);

		assert_non_null(s);
		assert_int_equal(mf_domain_type_from_string(s), v);
	}
	for (v = 0; v < MF_NET_TYPE_MAX; v++) {
		const char *s = mf_net_type_to_string((enum mf_net_type) v);

		assert_non_null(s);
		assert_int_equal(mf_net_type_from_string(s), v);
	}
	for (v = 0; v < MF_BOOTSTRAP_MAX; v++) {
		const char *s = mf_bootstrap_to_string((enum mf_bootstrap) v);

		assert_non_null(s);
		assert_int_equal(mf_bootstrap_from_string(s), v);
	}
	for (v = 0; v < MF_FORMAT_MAX; v++) {
		const char *s = mf_format_to_string((enum mf_format) v);

		assert_non_null(s);
		assert_int_equal(mf_format_from_string(s), v);
	}
	for (v = 0; v < MF_KEY_TYPE_MAX; v++) {
		const char *s = mf_key_type_to_string((enum mf_key_type) v);

		assert_non_null(s);
		assert_int_equal(mf_key_type_from_string(s), v);
	}
}

static void test_enum_strings(void **state)
{
	(void) state;
	/* the strings are the manifest's words (DESIGN.md) */
	assert_string_equal(mf_domain_type_to_string(MF_DOMAIN_KVM), "kvm");
	assert_string_equal(mf_domain_type_to_string(MF_DOMAIN_QEMU), "qemu");
	assert_string_equal(mf_domain_type_to_string(MF_DOMAIN_XEN), "xen");
	assert_string_equal(mf_net_type_to_string(MF_NET_NAT), "nat");
	assert_string_equal(mf_net_type_to_string(MF_NET_ISOLATED), "isolated");
	assert_string_equal(mf_net_type_to_string(MF_NET_BRIDGE), "bridge");
	assert_string_equal(mf_net_type_to_string(MF_NET_VLAN), "vlan");
	assert_string_equal(mf_net_type_to_string(MF_NET_USER), "user");
	assert_string_equal(mf_bootstrap_to_string(MF_BOOTSTRAP_CLOUD_INIT), "cloud-init");
	assert_string_equal(mf_bootstrap_to_string(MF_BOOTSTRAP_KICKSTART), "kickstart");
	assert_string_equal(mf_format_to_string(MF_FORMAT_QCOW2), "qcow2");
	assert_string_equal(mf_format_to_string(MF_FORMAT_RAW), "raw");
	assert_string_equal(mf_key_type_to_string(MF_KEY_ED25519), "ed25519");
	assert_string_equal(mf_key_type_to_string(MF_KEY_RSA), "rsa");
	assert_string_equal(mf_key_type_to_string(MF_KEY_ECDSA), "ecdsa");

	/* out of range: NULL; unknown or differently cased: -1 */
	assert_null(mf_domain_type_to_string(MF_DOMAIN_TYPE_MAX));
	assert_null(mf_net_type_to_string(MF_NET_TYPE_MAX));
	assert_null(mf_bootstrap_to_string(MF_BOOTSTRAP_MAX));
	assert_null(mf_format_to_string(MF_FORMAT_MAX));
	assert_null(mf_key_type_to_string(MF_KEY_TYPE_MAX));
	assert_int_equal(mf_domain_type_from_string("KVM"), -1);
	assert_int_equal(mf_domain_type_from_string("lxc"), -1);
	assert_int_equal(mf_net_type_from_string("bridged"), -1);
	assert_int_equal(mf_net_type_from_string(""), -1);
	assert_int_equal(mf_bootstrap_from_string("cloudinit"), -1);
	assert_int_equal(mf_format_from_string("vmdk"), -1);
	assert_int_equal(mf_key_type_from_string("dsa"), -1);
	assert_int_equal(mf_key_type_from_string("ed25519 "), -1);
}

/* ---- canonical spec ---------------------------------------------------------------- */

struct spec {
	struct buf hw, base;
};

static void spec_of(const char *image, const char *memory, const char *disk, const char *cpus,
		    const char *cloud_init, size_t vm, struct spec *out)
{
	char text[1024];
	struct manifest *m;

	(void) snprintf(text, sizeof(text),
			"fleet: spec\n"
			"images:\n"
			"  a: {path: /a.qcow2}\n"
			"  b: {path: /b.qcow2}\n"
			"networks: {front: {type: nat, subnet: 10.20.0.0/24}}\n"
			"groups:\n"
			"  web:\n"
			"    count: 2\n"
			"    image: %s\n"
			"    memory: %s\n"
			"    disk: %s\n"
			"    cpus: %s\n"
			"    networks: [front]\n"
			"    cloud_init: %s\n", image, memory, disk, cpus, cloud_init);
	m = parse_ok(text);
	buf_init(&out->hw, 1 << 20);
	buf_init(&out->base, 1 << 20);
	assert_int_equal(manifest_vm_spec(m, vm, &out->hw, &out->base), 0);
	assert_true(out->hw.len > 0);
	assert_true(out->base.len > 0);
	manifest_free(m);	/* the spec text must not point into the manifest */
}

static void spec_release(struct spec *s)
{
	buf_release(&s->hw);
	buf_release(&s->base);
}

#define CI "{packages: [nginx, curl], runcmd: [x], user_data: {b: 1, a: {d: 2, c: 3}}}"

static void test_spec_deterministic(void **state)
{
	struct spec x, y, z;

	(void) state;
	spec_of("a", "2G", "20G", "2", CI, 0, &x);
	spec_of("a", "2G", "20G", "2", CI, 0, &y);
	assert_string_equal(buf_str(&x.hw), buf_str(&y.hw));
	assert_string_equal(buf_str(&x.base), buf_str(&y.base));
	/* the same amount written another way is the same VM */
	spec_of("a", "2048M", "20480MiB", "2", CI, 0, &z);
	assert_string_equal(buf_str(&x.hw), buf_str(&z.hw));
	assert_string_equal(buf_str(&x.base), buf_str(&z.base));
	spec_release(&x);
	spec_release(&y);
	spec_release(&z);
}

static void test_spec_memory_changes_hw_only(void **state)
{
	struct spec x, y, z;

	(void) state;
	spec_of("a", "2G", "20G", "2", CI, 1, &x);
	spec_of("a", "4G", "20G", "2", CI, 1, &y);
	assert_string_not_equal(buf_str(&x.hw), buf_str(&y.hw));
	assert_string_equal(buf_str(&x.base), buf_str(&y.base));
	spec_of("a", "2G", "20G", "3", CI, 1, &z);
	assert_string_not_equal(buf_str(&x.hw), buf_str(&z.hw));
	assert_string_equal(buf_str(&x.base), buf_str(&z.base));
	spec_release(&x);
	spec_release(&y);
	spec_release(&z);
}

static void test_spec_image_disk_change_base_only(void **state)
{
	struct spec x, y, z;

	(void) state;
	spec_of("a", "2G", "20G", "2", CI, 0, &x);
	spec_of("b", "2G", "20G", "2", CI, 0, &y);
	assert_string_equal(buf_str(&x.hw), buf_str(&y.hw));
	assert_string_not_equal(buf_str(&x.base), buf_str(&y.base));
	spec_of("a", "2G", "30G", "2", CI, 0, &z);
	assert_string_equal(buf_str(&x.hw), buf_str(&z.hw));
	assert_string_not_equal(buf_str(&x.base), buf_str(&z.base));
	assert_string_not_equal(buf_str(&y.base), buf_str(&z.base));
	spec_release(&x);
	spec_release(&y);
	spec_release(&z);
}

static void test_spec_cloud_init(void **state)
{
	struct spec x, y, z, q;

	(void) state;
	spec_of("a", "2G", "20G", "2", CI, 0, &x);
	/* mapping keys reordered, at both levels: the same */
	spec_of("a", "2G", "20G", "2",
		"{user_data: {a: {c: 3, d: 2}, b: 1}, runcmd: [x], packages: [nginx, curl]}", 0, &y);
	assert_string_equal(buf_str(&x.hw), buf_str(&y.hw));
	assert_string_equal(buf_str(&x.base), buf_str(&y.base));
	/* a list reordered: different (order matters in a list) */
	spec_of("a", "2G", "20G", "2",
		"{packages: [curl, nginx], runcmd: [x], user_data: {b: 1, a: {d: 2, c: 3}}}", 0, &z);
	assert_string_equal(buf_str(&x.hw), buf_str(&z.hw));
	assert_string_not_equal(buf_str(&x.base), buf_str(&z.base));
	/* a value changed: different */
	spec_of("a", "2G", "20G", "2",
		"{packages: [nginx, curl], runcmd: [x], user_data: {b: 1, a: {d: 2, c: 4}}}", 0, &q);
	assert_string_not_equal(buf_str(&x.base), buf_str(&q.base));
	spec_release(&x);
	spec_release(&y);
	spec_release(&z);
	spec_release(&q);
}

/* restrict: false on a user network: parsed, and in the hw spec (a redefinition) only */
static void user_spec(const char *restrict_kv, struct spec *out, bool *ret_unrestricted)
{
	char text[512];
	struct manifest *m;

	(void) snprintf(text, sizeof(text),
			"fleet: spec\n"
			"images: {a: {path: /a.qcow2}}\n"
			"networks: {slirp: {type: user, forward: {ssh: 127.0.0.1:auto}%s}}\n"
			"groups: {web: {count: 1, image: a, networks: [slirp]}}\n", restrict_kv);
	m = parse_ok(text);
	*ret_unrestricted = m->networks[0].unrestricted;
	buf_init(&out->hw, 1 << 20);
	buf_init(&out->base, 1 << 20);
	assert_int_equal(manifest_vm_spec(m, 0, &out->hw, &out->base), 0);
	manifest_free(m);
}

static void test_spec_user_restrict(void **state)
{
	struct spec dflt, on, off;
	bool u;

	(void) state;
	user_spec("", &dflt, &u);
	assert_false(u);
	user_spec(", restrict: true", &on, &u);
	assert_false(u);
	user_spec(", restrict: false", &off, &u);
	assert_true(u);
	/* the default written out is the same VM, and the same text as before the key existed */
	assert_string_equal(buf_str(&dflt.hw), buf_str(&on.hw));
	assert_null(strstr(buf_str(&dflt.hw), "restrict"));
	/* restrict: false redefines the domain; it does not rebuild the VM */
	assert_string_not_equal(buf_str(&on.hw), buf_str(&off.hw));
	assert_non_null(strstr(buf_str(&off.hw), "nic0_restrict=off\n"));
	assert_string_equal(buf_str(&on.base), buf_str(&off.base));
	spec_release(&dflt);
	spec_release(&on);
	spec_release(&off);
}

/* ---- diagnostics ------------------------------------------------------------------- */

static void test_diagnostics_sorted_with_paths(void **state)
{
	static const char text[] =
		"fleet: Web\n"
		"images: {b: {path: /b}}\n"
		"groups:\n"
		"  web:\n"
		"    count: 2\n"
		"    image: bb\n"
		"    cpus: 0\n"
		"    memroy: 2G\n";
	struct manifest *m = NULL;
	struct mf_diags d;
	char *out = NULL;
	size_t outlen = 0;
	FILE *f;

	(void) state;
	assert_int_equal(manifest_parse("t.yaml", text, sizeof(text) - 1, &m, &d), -1);
	assert_null(m);
	assert_int_equal(d.n, 4);
	assert_false(d.truncated);
	/* in line order, although found in another order */
	assert_int_equal(d.v[0].pos.line, 1);
	assert_string_equal(d.v[0].path, "fleet");
	assert_int_equal(d.v[1].pos.line, 6);
	assert_string_equal(d.v[1].path, "groups.web.image");
	assert_string_equal(d.v[1].msg, "unknown image 'bb' (did you mean 'b'?)");
	assert_int_equal(d.v[2].pos.line, 7);
	assert_string_equal(d.v[2].path, "groups.web.cpus");
	assert_int_equal(d.v[3].pos.line, 8);
	assert_int_equal(d.v[3].pos.col, 5);
	assert_string_equal(d.v[3].path, "groups.web.memroy");
	assert_string_equal(d.v[3].msg, "unknown key 'memroy' (did you mean 'memory'?)");

	f = open_memstream(&out, &outlen);
	assert_non_null(f);
	mf_diags_print(&d, "dir/t.yaml", f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(out, "dir/t.yaml:6:12: groups.web.image: unknown image 'bb'"));
	assert_non_null(strstr(out, "\ndir/t.yaml:8:5: groups.web.memroy: unknown key 'memroy'"));
	free(out);
	mf_diags_release(&d);
	assert_int_equal(d.n, 0);
	assert_null(d.v);
}

static void test_whole_file_diagnostics(void **state)
{
	struct manifest *m = NULL;
	struct mf_diags d;
	char *out = NULL;
	size_t outlen = 0;
	FILE *f;

	(void) state;
	assert_int_equal(manifest_parse("e.yaml", "", 0, &m, &d), -1);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].pos.line, 0);
	assert_string_equal(d.v[0].msg, "file is empty");
	f = open_memstream(&out, &outlen);
	assert_non_null(f);
	mf_diags_print(&d, "e.yaml", f);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(out, "e.yaml: file is empty\n");
	free(out);
	mf_diags_release(&d);

	refused("# nothing\n", "file is empty (no YAML content)");
	refused("- a\n- b\n", "expected a mapping, got a list");
	refused("fleet: a\nfleet: b\n", "duplicate key 'fleet' (first at line 1, column 1)");
	refused("fleet: &a x\n", "YAML anchors are not supported");
	refused("fleet: a\n---\nfleet: b\n", "more than one YAML document");
	refused("images: {b: {path: /b}}\ngroups: {g: {count: 1, image: b}}\n",
		"missing required key 'fleet'");
	refused("fleet: f\ngroups: {g: {count: 1}}\n", "missing required key 'image' (a cloud-init VM boots from an image)");
	refused("fleet: f\nimages: {b: {path: /b}}\n", "missing required key 'groups'");
}

static void test_duplicates_name_both_places(void **state)
{
	struct mf_diags d;
	static const char text[] =
		"fleet: f\n"
		"images: {b: {path: /b}}\n"
		"networks: {n: {type: nat, subnet: 10.0.0.0/24}}\n"
		"groups:\n"
		"  web: {count: 3, image: b}\n"
		"  x:\n"
		"    names: [web-002]\n"
		"    image: b\n"
		"    networks: [{network: n, ip: 10.0.0.5, mac: \"52:54:00:00:00:01\"}]\n"
		"  y:\n"
		"    names: [y]\n"
		"    image: b\n"
		"    networks: [{network: n, ip: 10.0.0.5/24, mac: \"52:54:00:00:00:01\"}]\n";

	(void) state;
	parse_refused_len(text, sizeof(text) - 1, "duplicate VM name 'web-002'", &d);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.v[0].pos.line, 7);
	assert_string_equal(d.v[0].msg,
			    "duplicate VM name 'web-002' (also at t.yaml:5:16, groups.web.count)");
	assert_int_equal(d.v[1].pos.line, 13);
	assert_string_equal(d.v[1].path, "groups.y.networks[0].ip");
	assert_string_equal(d.v[1].msg, "duplicate address '10.0.0.5' (also at t.yaml:9:33, "
			    "groups.x.networks[0].ip)");
	assert_string_equal(d.v[2].path, "groups.y.networks[0].mac");
	assert_string_equal(d.v[2].msg,
			    "duplicate MAC address '52:54:00:00:00:01' (also at t.yaml:9:48, "
			    "groups.x.networks[0].mac)");
	mf_diags_release(&d);
}

static void test_refusals(void **state)
{
	(void) state;
	refused("fleet: f\nimages: {b: {path: /b}}\ngroups: {g: {count: 1, image: b, cpus: \"2\"}}\n",
		"expected a whole number from 1 to 256");
	refused("fleet: f\nimages: {b: {path: /b}}\ngroups: {g: {count: -3, image: b}}\n",
		"expected a whole number from 0 to 10000, got '-3'");
	refused("fleet: f\nimages: {b: {path: /b}}\ngroups: {g: {count: 3, image: b, "
		"networks: [{network: n, ip: 10.0.0.5}]}}\n"
		"networks: {n: {type: nat, subnet: 10.0.0.0/24}}\n",
		"a static address can only be given to a group of one VM (this group has 3; ip: pool or ip: 10.0.0.5+ give each its own)");
	refused("fleet: f\nimages: {b: {path: /b}}\nnetworks: {n: {type: nat, subnet: 10.0.0.0/24}}\n"
		"groups: {g: {names: [a], image: b, networks: [{network: n, ip: 10.0.0.1}]}}\n",
		"10.0.0.1 is the gateway of network 'n'");
	refused("fleet: f\nimages: {b: {path: /b}}\nnetworks: {n: {type: nat, subnet: 10.0.0.7/24}}\n"
		"groups: {g: {count: 1, image: b}}\n", "did you mean '10.0.0.0/24'?");
	refused("fleet: f\nimages: {b: {path: /b}}\nnetworks: {n: {type: nat, subnet: 10.0.0.0/24}}\n"
		"groups: {g: {names: [a], image: b, networks: [{network: n, mac: \"03:00:00:00:00:01\"}]}}\n",
		"is a multicast address");
	refused("fleet: f\ndomain_type: kvm\ntcg: {tb_cache: 64M}\nimages: {b: {path: /b}}\n"
		"groups: {g: {count: 1, image: b}}\n", "tcg applies only to domain_type qemu");
	refused("fleet: f\nhypervisor: test:///default\nhosts: [{uri: a}]\nimages: {b: {path: /b}}\n"
		"groups: {g: {count: 1, image: b}}\n", "give hypervisor or hosts, not both");
	refused("fleet: f\nimages: {b: {url: https://e.com/b}}\ngroups: {g: {count: 1, image: b}}\n",
		"an image given by url needs its sha256");
	refused("fleet: f\nimages: {b: {path: /b}}\ngroups: {g: {count: 1, image: b, "
		"bootstrap: kickstart}}\n", "bootstrap kickstart needs a 'kickstart' mapping");
	refused("fleet: f\nimages: {b: {path: /b}}\ngroups: {g: {count: 1, image: b, "
		"kickstart: {template: t, install_tree: http://m/}}}\n",
		"kickstart is given but bootstrap is cloud-init");
	refused("fleet: f\nimages: {b: {path: /b}}\ngroups: {g: {count: 1, image: b, bootstrap: cloudinit}}\n",
		"did you mean 'cloud-init'?");
	refused("fleet: f\nimages: {b: {path: /b}}\nnetworks: {t: {type: vlan, bridge: br0, vlan: 4095}}\n"
		"groups: {g: {count: 1, image: b}}\n", "from 1 to 4094, got '4095'");
	refused("fleet: f\nimages: {b: {path: /b}}\nbatch: {ready_timeout: 10x}\n"
		"groups: {g: {count: 1, image: b}}\n", "expected a duration");
	refused("fleet: production-eu-west\nimages: {b: {path: /b}}\n"
		"groups: {g: {names: [a2345678901234567890123456789012345678901234a], image: b}}\n",
		"longer than 63 characters");
	refused("fleet: f\nimages: {b: {path: /b}}\nnetworks: {s: {type: user, restrict: no}}\n"
		"groups: {g: {count: 1, image: b}}\n", "expected true or false, got 'no'");
	refused("fleet: f\nimages: {b: {path: /b}}\nnetworks: {s: {type: user, restrict: \"false\"}}\n"
		"groups: {g: {count: 1, image: b}}\n", "got the quoted string 'false' (remove the quotes)");
	refused("fleet: f\nimages: {b: {path: /b}}\nnetworks: {s: {type: user, restrict: [false]}}\n"
		"groups: {g: {count: 1, image: b}}\n", "expected a scalar, got a list");
	refused("fleet: f\nimages: {b: {path: /b}}\nnetworks: {n: {type: nat, subnet: 10.0.0.0/24, "
		"restrict: false}}\ngroups: {g: {count: 1, image: b}}\n",
		"'restrict' does not apply to a nat network");
}

/* ---- hostile input ------------------------------------------------------------------ */

static void test_hostile_nested_brackets(void **state)
{
	size_t len = YT_MAX_BYTES;
	char *s = malloc(len);
	struct mf_diags d;
	double start;

	(void) state;
	assert_non_null(s);
	memset(s, '[', len);
	start = now();
	parse_refused_len(s, len, "nesting deeper than 32 levels", &d);
	mf_diags_release(&d);
	assert_fast(start, "1 MiB of '['");
	free(s);
}

static char *many_keys(size_t nkeys, size_t *len)
{
	struct buf b = BUF_INIT(2 * YT_MAX_BYTES);
	size_t i;

	for (i = 0; i < nkeys; i++)
		(void) buf_printf(&b, "k%zu: 1\n", i);
	(void) buf_printf(&b, "k%zu: 2\n", nkeys / 2);	/* a duplicate at the end */
	assert_false(buf_failed(&b));
	*len = b.len;
	return buf_detach(&b);
}

static void test_hostile_many_keys(void **state)
{
	struct mf_diags d;
	double start;
	size_t len;
	char *s;

	(void) state;
	/* 100000 keys and a duplicate: over the node cap, refused before sorting */
	s = many_keys(100000, &len);
	assert_true(len <= YT_MAX_BYTES);
	start = now();
	parse_refused_len(s, len, "more than 200000 YAML nodes", &d);
	assert_int_equal(d.n, 1);
	mf_diags_release(&d);
	assert_fast(start, "100000 keys");
	free(s);

	/* 99000 keys and a duplicate: within the node cap, the duplicate is found */
	s = many_keys(99000, &len);
	start = now();
	parse_refused_len(s, len, "duplicate key 'k49500' (first at line 49501, column 1)", &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].pos.line, 99001);
	mf_diags_release(&d);
	assert_fast(start, "99000 keys");
	free(s);
}

static void test_hostile_unknown_keys(void **state)
{
	struct buf b = BUF_INIT(2 * YT_MAX_BYTES);
	struct mf_diags d;
	double start;
	size_t i;

	(void) state;
	/* as many distinct unknown 32-character keys as fit: each gets a suggestion search */
	(void) buf_puts(&b, "fleet: f\n");
	for (i = 0; b.len + 40 < YT_MAX_BYTES; i++)
		(void) buf_printf(&b, "k%031zu: 1\n", i);
	assert_false(buf_failed(&b));
	start = now();
	parse_refused_len(buf_str(&b), b.len, "unknown key", &d);
	assert_int_equal(d.n, MF_MAX_DIAGS);
	assert_true(d.truncated);
	mf_diags_release(&d);
	assert_fast(start, "unknown keys");
	buf_release(&b);
}

static void test_hostile_huge_scalar(void **state)
{
	size_t len = YT_MAX_BYTES;
	char *s = malloc(len);
	struct mf_diags d;
	double start;

	(void) state;
	assert_non_null(s);
	memcpy(s, "fleet: ", 7);
	memset(s + 7, 'a', len - 7);
	start = now();
	parse_refused_len(s, len, "value is longer than 256 characters", &d);
	assert_string_equal(d.v[diag_find(&d, "value is longer")].path, "fleet");
	mf_diags_release(&d);
	assert_fast(start, "a 1 MiB scalar");

	/* the same as a key: YAML allows a plain key of at most 1024 characters */
	memset(s, 'k', len);
	memcpy(s + len - 4, ": 1\n", 4);
	start = now();
	parse_refused_len(s, len, "YAML syntax error", &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].pos.line, 1);
	mf_diags_release(&d);
	assert_fast(start, "a 1 MiB key");

	/* one byte over the cap: refused before parsing */
	free(s);
	s = malloc(len + 1);
	assert_non_null(s);
	memset(s, '#', len + 1);
	start = now();
	parse_refused_len(s, len + 1, "file is larger than 1024 KiB", &d);
	mf_diags_release(&d);
	assert_fast(start, "over 1 MiB");
	free(s);
}

static char *many_groups(size_t ngroups, unsigned count, size_t *len)
{
	struct buf b = BUF_INIT(2 * YT_MAX_BYTES);
	size_t i;

	(void) buf_puts(&b, "fleet: f\nimages: {b: {path: /b}}\ngroups:\n");
	for (i = 0; i < ngroups; i++)
		(void) buf_printf(&b, "  g%zu: {count: %u, image: b}\n", i, count);
	assert_false(buf_failed(&b));
	*len = b.len;
	return buf_detach(&b);
}

static void test_hostile_many_groups(void **state)
{
	struct manifest *m;
	struct mf_diags d;
	double start;
	size_t len;
	char *s;

	(void) state;
	/* 10000 groups of one VM: exactly the fleet maximum, accepted */
	s = many_groups(10000, 1, &len);
	start = now();
	m = parse_ok_len(s, len);
	assert_fast(start, "10000 groups");
	assert_int_equal(m->n_groups, 10000);
	assert_int_equal(m->n_vms, 10000);
	assert_string_equal(m->vms[0].name, "g0-001");
	assert_string_equal(m->vms[9999].name, "g9999-001");
	manifest_free(m);
	free(s);

	/* one more group: refused at that group's count */
	s = many_groups(10001, 1, &len);
	start = now();
	parse_refused_len(s, len, "the fleet would have more than 10000 VMs", &d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].path, "groups.g10000.count");
	mf_diags_release(&d);
	assert_fast(start, "10001 groups");
	free(s);
}

static void test_hostile_vm_count(void **state)
{
	struct manifest *m;
	struct mf_diags d;
	double start;
	size_t len;
	char *s;

	(void) state;
	s = many_groups(1, 10000, &len);
	start = now();
	m = parse_ok_len(s, len);
	assert_fast(start, "count 10000");
	assert_int_equal(m->n_vms, 10000);
	assert_string_equal(m->vms[9999].name, "g0-10000");
	manifest_free(m);
	free(s);

	s = many_groups(2, 6000, &len);
	start = now();
	parse_refused_len(s, len, "the fleet would have more than 10000 VMs", &d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].path, "groups.g1.count");
	assert_int_equal(d.v[0].pos.line, 5);
	mf_diags_release(&d);
	assert_fast(start, "two groups of 6000");
	free(s);

	refused("fleet: f\nimages: {b: {path: /b}}\ngroups: {g: {count: 10001, image: b}}\n",
		"expected a whole number from 0 to 10000, got '10001'");
}

/*
 * Known bug (reported, not fixed here): every unknown image or network
 * reference computes a suggestion against every defined name, even after
 * MF_MAX_DIAGS stopped the reporting, so 12000 networks and 96000 unknown
 * references (800 KB) take tens of seconds.
 */
static void test_hostile_unknown_references(void **state)
{
	struct buf b = BUF_INIT(2 * YT_MAX_BYTES);
	struct mf_diags d;
	double start;
	size_t i;

	(void) state;
	(void) buf_puts(&b, "fleet: f\nimages: {b: {path: /b}}\nnetworks:\n");
	for (i = 0; i < 12000; i++)
		(void) buf_printf(&b, "  n%zu: {type: user}\n", i);
	(void) buf_puts(&b, "groups:\n");
	for (i = 0; i < 6000; i++)
		(void) buf_printf(&b, "  g%zu: {count: 0, image: b, networks: "
				  "[x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x]}\n", i);
	assert_false(buf_failed(&b));
	assert_true(b.len <= YT_MAX_BYTES);
	start = now();
	parse_refused_len(buf_str(&b), b.len, "unknown network 'x'", &d);
	mf_diags_release(&d);
	assert_fast(start, "unknown references");
	buf_release(&b);
}

/* A fixed host port is read as written when one VM uses it. */
static void test_fixed_forward_one_vm(void **state)
{
	struct manifest *m = parse_ok("fleet: f\nimages: {b: {path: /b}}\n"
				      "networks: {s: {type: user, forward: {ssh: \"127.0.0.1:2222\"}}}\n"
				      "groups: {g: {names: [one], image: b, networks: [s]}}\n");

	(void) state;
	assert_int_equal(m->networks[0].forwards[0].host_port, 2222);
	assert_string_equal(m->networks[0].forwards[0].host_addr, "127.0.0.1");
	assert_int_equal(m->networks[0].forwards[0].guest_port, 22);
	manifest_free(m);
}

/* Inputs that are accepted but name no image, no image source, or a colliding port. */
static void test_refused_not_silently_accepted(void **state)
{
	(void) state;
	/* a null image on a cloud-init group: the VM has nothing to boot from */
	refused("fleet: f\nimages: {b: {path: /b}}\ngroups: {g: {count: 1, image: ~}}\n", "image");
	/* url: ~ counts as present, so the image has neither url nor path */
	refused("fleet: f\nimages: {b: {url: ~}}\ngroups: {g: {count: 1, image: b}}\n",
		"'url' or 'path'");
	/* an empty path */
	refused("fleet: f\nimages: {b: {path: ''}}\ngroups: {g: {count: 1, image: b}}\n", "path");
	/* the all-zero MAC */
	refused("fleet: f\nimages: {b: {path: /b}}\nnetworks: {n: {type: nat, subnet: 10.0.0.0/24}}\n"
		"groups: {g: {names: [a], image: b, networks: [{network: n, mac: \"00:00:00:00:00:00\"}]}}\n",
		"00:00:00:00:00:00");
	/* one fixed host port forwarded for three VMs */
	refused("fleet: f\nimages: {b: {path: /b}}\n"
		"networks: {s: {type: user, forward: {ssh: \"127.0.0.1:2222\"}}}\n"
		"groups: {g: {count: 3, image: b, networks: [s]}}\n", "2222");
}

/* One mistake, one diagnostic: no follow-on errors from a value already reported. */
static void test_no_follow_on_errors(void **state)
{
	static const char *const texts[] = {
		/* unknown bootstrap: also "missing image" and "kickstart is given but bootstrap is cloud-init" */
		"fleet: f\nimages: {b: {path: /b}}\ngroups: {g: {count: 1, bootstrap: kickstrat, "
		"kickstart: {template: t, install_tree: http://m/}}}\n",
		/* unknown domain_type: also "tcg applies only to domain_type qemu (this fleet is kvm)" */
		"fleet: f\ndomain_type: qemuu\ntcg: {tb_cache: 64M}\nimages: {b: {path: /b}}\n"
		"groups: {g: {count: 1, image: b}}\n",
		/* invalid count: also "a static address can only be given to a group of one VM (this group has 0)" */
		"fleet: f\nimages: {b: {path: /b}}\nnetworks: {n: {type: nat, subnet: 10.0.0.0/24}}\n"
		"groups: {g: {count: x, image: b, networks: [{network: n, ip: 10.0.0.5}]}}\n",
		/* invalid network name: also "unknown network 'N' (none is defined)" */
		"fleet: f\nimages: {b: {path: /b}}\nnetworks: {N: {type: nat, subnet: 10.0.0.0/24}}\n"
		"groups: {g: {count: 1, image: b, networks: [N]}}\n",
		/* a too long sha256: also "expected 64 lowercase hexadecimal digits" at the same place */
		"fleet: f\nimages: {b: {url: http://e/b, sha256: "
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85500}}\n"
		"groups: {g: {count: 1, image: b}}\n",
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		struct mf_diags d;

		parse_refused_len(texts[i], strlen(texts[i]), "", &d);
		if (d.n != 1) {
			print_error("case %zu: %zu diagnostics:\n", i, d.n);
			print_diags(&d);
		}
		assert_int_equal(d.n, 1);
		mf_diags_release(&d);
	}
}

#define A(a, b, c, d) ((uint32_t) (a) << 24 | (uint32_t) (b) << 16 | (uint32_t) (c) << 8 | (d))

static void test_network_dhcp_range(void **state)
{
	static const struct {
		unsigned prefix;
		bool pool, dhcp;
		uint32_t p0, p1, d0, d1;	/* the pool, an explicit dhcp: */
		bool has;
		uint32_t want0, want1;
	} cases[] = {
		/* no pool: every host address past the gateway */
		{ 24, false, false, 0, 0, 0, 0, true, A(10, 20, 0, 2), A(10, 20, 0, 254) },
		/* a pool in the upper part: the lower side is larger */
		{ 24, true, false, A(10, 20, 0, 100), A(10, 20, 0, 199), 0, 0, true,
		  A(10, 20, 0, 2), A(10, 20, 0, 99) },
		/* a pool low in the subnet: the upper side */
		{ 24, true, false, A(10, 20, 0, 2), A(10, 20, 0, 49), 0, 0, true,
		  A(10, 20, 0, 50), A(10, 20, 0, 254) },
		/* both sides as large: the lower one */
		{ 24, true, false, A(10, 20, 0, 101), A(10, 20, 0, 155), 0, 0, true,
		  A(10, 20, 0, 2), A(10, 20, 0, 100) },
		/* the pool takes every host address: no DHCP */
		{ 24, true, false, A(10, 20, 0, 2), A(10, 20, 0, 254), 0, 0, false, 0, 0 },
		/* dhcp: given wins */
		{ 24, true, true, A(10, 20, 0, 100), A(10, 20, 0, 199), A(10, 20, 0, 10),
		  A(10, 20, 0, 20), true, A(10, 20, 0, 10), A(10, 20, 0, 20) },
	};
	size_t i;

	(void) state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mf_network net = {
			.name = "n", .type = MF_NET_NAT, .subnet = "10.20.0.0/24",
			.net_addr = A(10, 20, 0, 0), .prefix = cases[i].prefix,
			.has_pool = cases[i].pool, .pool_first = cases[i].p0, .pool_last = cases[i].p1,
			.has_dhcp = cases[i].dhcp, .dhcp_first = cases[i].d0, .dhcp_last = cases[i].d1,
		};
		uint32_t first = 0, last = 0;

		assert_int_equal(mf_network_dhcp(&net, &first, &last), cases[i].has);
		if (cases[i].has) {
			assert_int_equal(first, cases[i].want0);
			assert_int_equal(last, cases[i].want1);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_top_level),
		cmocka_unit_test(test_events_keep),
		cmocka_unit_test(test_model_groups),
		cmocka_unit_test(test_networks_and_nics),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_null_values_take_defaults),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_expansion_order),
		cmocka_unit_test(test_expansion_past_999),
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_enum_round_trip),
		cmocka_unit_test(test_enum_strings),
		cmocka_unit_test(test_spec_deterministic),
		cmocka_unit_test(test_spec_memory_changes_hw_only),
		cmocka_unit_test(test_spec_image_disk_change_base_only),
		cmocka_unit_test(test_spec_cloud_init),
		cmocka_unit_test(test_spec_user_restrict),
		cmocka_unit_test(test_diagnostics_sorted_with_paths),
		cmocka_unit_test(test_whole_file_diagnostics),
		cmocka_unit_test(test_duplicates_name_both_places),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_hostile_nested_brackets),
		cmocka_unit_test(test_hostile_many_keys),
		cmocka_unit_test(test_hostile_unknown_keys),
		cmocka_unit_test(test_hostile_huge_scalar),
		cmocka_unit_test(test_hostile_many_groups),
		cmocka_unit_test(test_hostile_vm_count),
		cmocka_unit_test(test_hostile_unknown_references),
		cmocka_unit_test(test_fixed_forward_one_vm),
		cmocka_unit_test(test_refused_not_silently_accepted),
		cmocka_unit_test(test_no_follow_on_errors),
		cmocka_unit_test(test_network_dhcp_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
