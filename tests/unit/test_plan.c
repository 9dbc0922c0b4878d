/*
 * test_plan.c: the pure planner, table-driven. Each case gives what the
 * manifest wants, what the store recorded and what the hypervisor reports,
 * and the plan expected from them, item by item, in order.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hv.h"
#include "plan.h"
#include "store.h"

#define MAXN 8

#define S_MS 1000LL
#define H_MS (3600 * S_MS)
#define D_MS (24 * H_MS)
#define NOW (20000 * D_MS)	/* 2024-10-04 */
#define DAYS(n) ((uint64_t) (n) * 86400)

struct t_want {
	const char *name, *group, *domain, *config, *base;
};

struct t_rec {
	const char *name, *group;
	enum vm_state state;
	int attempts;
	const char *last_error;
	int64_t created_at, rebuilt_at;
	int64_t stopped_at, off_since;
	int64_t seed_size;		/* 0: not recorded */
	const char *seed_mtime;
};

/*
 * A definition's facts as a change to what is wanted (t_case.facts): 0 and
 * NULL leave a field as wanted. Wanted, VM web-00N: 1024 MiB, 2 vCPUs, disk
 * "volume muster/web-web-00N.qcow2", cdrom "volume muster/web-web-00N-seed.iso",
 * one interface 52:54:00:00:00:0N on network "web-lan", no kernel.
 */
struct t_facts {
	unsigned long long memory_kib;
	unsigned vcpus;
	const char *disk;		/* the first disk's source */
	bool no_seed;			/* no cdrom */
	bool extra_disk;		/* one more disk */
	const char *mac;		/* the interface's MAC */
	const char *nic_source;
	const char *kernel;
	const char *config;		/* the definition's metadata config hash */
};

struct t_dom {
	const char *name;
	bool active, ours;
	const char *fleet, *vm, *group, *config, *base;
	struct t_facts pers, live;	/* with t_case.facts */
};

/* What the host has of a wanted VM's volumes (with t_case.facts); 0 and NULL: as muster made them. */
struct t_vol {
	bool unread;			/* nothing known (the pool is not running) */
	bool disk_missing, seed_missing;
	const char *disk_format;	/* default qcow2 */
	const char *backing;		/* default the image's path */
	const char *backing_format;	/* default qcow2 */
	bool no_image;			/* the host has no image volume */
	bool blank;			/* a kickstart VM: no image wanted */
	unsigned long long seed_size;	/* default 4096 */
	const char *seed_mtime;		/* default "100.5" */
};

struct t_item {
	const char *name, *group;
	enum plan_action action;
	const char *reason;	/* substring of the reason, or all of it if exact */
	bool exact;
};

struct t_case {
	const char *title;
	struct t_want want[MAXN];
	struct t_rec rec[MAXN];
	struct t_dom dom[MAXN];
	int64_t now_ms;
	uint64_t max_age_s;
	bool facts;			/* compare definitions and volumes (drift) */
	struct t_vol vol[MAXN];		/* per wanted VM */
	uint64_t stopped_grace_s;
	bool restart;
	/* hosts that do not answer: per wanted VM why its host does not; per record its host */
	const char *want_down[MAXN];
	const char *rec_host[MAXN];
	struct plan_host_down down[2];
	struct t_item expect[MAXN];
};

/* Fleet "web", group "web", domain "web-<vm>", hashes c1 (config) and b1 (base). */
#define W(vm) { vm, "web", "web-" vm, "c1", "b1" }
#define WH(vm, config, base) { vm, "web", "web-" vm, config, base }
/* Recorded a day ago, never rebuilt. */
#define R(vm, state) { vm, "web", state, 0, NULL, NOW - D_MS, 0, 0, 0, 0, NULL }
/* Recorded ready, its seed as muster wrote it (4096 bytes at 100.5). */
#define RS(vm) { vm, "web", VM_STATE_READY, 0, NULL, NOW - D_MS, 0, 0, 0, 4096, "100.5" }
#define RG(vm, group, state) { vm, group, state, 0, NULL, NOW - D_MS, 0 }
#define RT(vm, created, rebuilt) { vm, "web", VM_STATE_READY, 0, NULL, created, rebuilt }
/* Our domain of fleet web with the wanted hashes. */
#define D(vm, active) { "web-" vm, active, true, "web", vm, "web", "c1", "b1" }
#define DH(vm, active, config, base) { "web-" vm, active, true, "web", vm, "web", config, base }
/* Another fleet's domain, and a domain without muster's metadata. */
#define DF(name, fleet, vm) { name, true, true, fleet, vm, "x", "c1", "b1" }
#define DX(name) { name, true, false, NULL, NULL, NULL, NULL, NULL }

#define CREATE(vm, reason) { vm, "web", PLAN_CREATE, reason, true }
#define KEEP(vm, reason) { vm, "web", PLAN_KEEP, reason, true }
#define UPDATE(vm, reason) { vm, "web", PLAN_UPDATE, reason, true }
#define REBUILD(vm, reason) { vm, "web", PLAN_REBUILD, reason, true }
#define RESTART(vm, reason) { vm, "web", PLAN_RESTART, reason, true }
#define DESTROY(vm, group, reason) { vm, group, PLAN_DESTROY, reason, true }
#define CONFLICT(vm, reason) { vm, "web", PLAN_CONFLICT, reason, true }
#define CONFLICT_SUB(vm, reason) { vm, "web", PLAN_CONFLICT, reason, false }
#define UNKNOWN(vm, group, reason) { vm, group, PLAN_UNKNOWN, reason, true }

#define R_UP "up to date"
#define R_ADOPT "adopted: running on the hypervisor, not yet in the store"
#define R_STOPPED "defined but not running"
#define R_CONFIG "cpus, memory, networks or boot settings changed"
#define R_BASE "image, disk, bootstrap or keys changed"
#define R_GONE "no longer in the manifest"
#define R_GONE_DOM(d) "no longer in the manifest (domain '" d "' found on the hypervisor)"
#define R_MISSING(st) "recorded as " st " but missing from the hypervisor"
#define R_RESUME(st) "resume: last recorded step was " st

static const struct t_case cases[] = {
	/* ---- nothing on the hypervisor ---- */
	{ .title = "new VM",
	  .want = { W("web-001") },
	  .expect = { CREATE("web-001", "new VM") } },
	{ .title = "new VMs stay in manifest order",
	  .want = { W("web-003"), W("web-001"), W("web-002") },
	  .expect = { CREATE("web-003", "new VM"), CREATE("web-001", "new VM"),
		      CREATE("web-002", "new VM") } },
	{ .title = "destroyed before, wanted again",
	  .want = { W("web-001") },
	  .rec = { R("web-001", VM_STATE_DESTROYED) },
	  .expect = { CREATE("web-001", "new VM (destroyed before)") } },
	{ .title = "resume from planned, cloned, seeded, rebuilding, destroying",
	  .want = { W("web-001"), W("web-002"), W("web-003"), W("web-004"), W("web-005") },
	  .rec = { R("web-001", VM_STATE_PLANNED), R("web-002", VM_STATE_CLONED),
		   R("web-003", VM_STATE_SEEDED), R("web-004", VM_STATE_REBUILDING),
		   R("web-005", VM_STATE_DESTROYING) },
	  .expect = { CREATE("web-001", "new VM"), CREATE("web-002", R_RESUME("cloned")),
		      CREATE("web-003", R_RESUME("seeded")),
		      REBUILD("web-004", "resume: a rebuild was interrupted"),
		      CREATE("web-005", "new VM (a destroy was interrupted)") } },
	{ .title = "interrupted rebuild with its old domain still up to date: rebuild again",
	  .want = { W("web-001") },
	  .rec = { R("web-001", VM_STATE_REBUILDING) },
	  .dom = { D("web-001", true) },
	  .expect = { REBUILD("web-001", "resume: a rebuild was interrupted") } },
	{ .title = "recorded defined, started, booted, ready but domain missing",
	  .want = { W("web-001"), W("web-002"), W("web-003"), W("web-004") },
	  .rec = { R("web-004", VM_STATE_READY), R("web-003", VM_STATE_BOOTED),
		   R("web-002", VM_STATE_STARTED), R("web-001", VM_STATE_DEFINED) },
	  .expect = { CREATE("web-001", R_MISSING("defined")), CREATE("web-002", R_MISSING("started")),
		      CREATE("web-003", R_MISSING("booted")), CREATE("web-004", R_MISSING("ready")) } },
	{ .title = "recorded under another name only: new VM",
	  .want = { W("web-001") },
	  .rec = { R("web-0010", VM_STATE_DESTROYED) },
	  .expect = { CREATE("web-001", "new VM") } },

	/* ---- failed ---- */
	{ .title = "failed: rebuild with attempt and last error",
	  .want = { W("web-001"), W("web-002") },
	  .rec = { { "web-001", "web", VM_STATE_FAILED, 3, "clone 'web-web-001.qcow2': disk full",
		     NOW - D_MS, 0 },
		   { "web-002", "web", VM_STATE_FAILED, 1, NULL, NOW - D_MS, 0 } },
	  .expect = { REBUILD("web-001", "failed (attempt 3): clone 'web-web-001.qcow2': disk full"),
		      REBUILD("web-002", "failed (attempt 1): no reason recorded") } },
	{ .title = "failed with its domain up to date and running: still rebuild",
	  .want = { W("web-001") },
	  .rec = { { "web-001", "web", VM_STATE_FAILED, 2, "agent never reported ready",
		     NOW - D_MS, 0 } },
	  .dom = { D("web-001", true) },
	  .expect = { REBUILD("web-001", "failed (attempt 2): agent never reported ready") } },

	/* ---- our domain exists ---- */
	{ .title = "up to date, running and recorded: keep",
	  .want = { W("web-001") },
	  .rec = { R("web-001", VM_STATE_READY) },
	  .dom = { D("web-001", true) },
	  .max_age_s = DAYS(7),
	  .expect = { KEEP("web-001", R_UP) } },
	{ .title = "running, recorded started or booted but never ready (a run cut short): "
		   "keep, and say that apply waits for it",
	  .want = { W("web-001"), W("web-002"), W("web-003") },
	  .rec = { R("web-001", VM_STATE_STARTED), R("web-002", VM_STATE_BOOTED),
		   R("web-003", VM_STATE_READY) },
	  .dom = { D("web-001", true), D("web-002", true), D("web-003", true) },
	  .expect = { KEEP("web-001", "resume: started, not reported ready yet"),
		      KEEP("web-002", "resume: booted, not reported ready yet"),
		      KEEP("web-003", R_UP) } },
	{ .title = "running but not recorded: keep, adopted",
	  .want = { W("web-001"), W("web-002") },
	  .rec = { R("web-002", VM_STATE_DESTROYED) },
	  .dom = { D("web-001", true), D("web-002", true) },
	  .expect = { KEEP("web-001", R_ADOPT), KEEP("web-002", R_ADOPT) } },
	{ .title = "defined but not running: update",
	  .want = { W("web-001"), W("web-002") },
	  .rec = { R("web-001", VM_STATE_DEFINED) },
	  .dom = { D("web-001", false), D("web-002", false) },
	  .expect = { UPDATE("web-001", R_STOPPED), UPDATE("web-002", R_STOPPED) } },
	{ .title = "config hash differs: update, running or not",
	  .want = { W("web-001"), W("web-002") },
	  .rec = { R("web-001", VM_STATE_READY), R("web-002", VM_STATE_READY) },
	  .dom = { DH("web-001", true, "c0", "b1"), DH("web-002", false, "c0", "b1") },
	  .expect = { UPDATE("web-001", R_CONFIG), UPDATE("web-002", R_CONFIG) } },
	{ .title = "base hash differs: rebuild, and base wins over config",
	  .want = { W("web-001"), W("web-002") },
	  .rec = { R("web-001", VM_STATE_READY), R("web-002", VM_STATE_READY) },
	  .dom = { DH("web-001", true, "c1", "b0"), DH("web-002", true, "c0", "b0") },
	  .expect = { REBUILD("web-001", R_BASE), REBUILD("web-002", R_BASE) } },
	{ .title = "missing hash in the metadata is treated as differing",
	  .want = { W("web-001"), W("web-002"), W("web-003") },
	  .rec = { R("web-001", VM_STATE_READY), R("web-002", VM_STATE_READY),
		   R("web-003", VM_STATE_READY) },
	  .dom = { DH("web-001", true, NULL, "b1"), DH("web-002", true, "c1", NULL),
		   DH("web-003", true, NULL, NULL) },
	  .expect = { UPDATE("web-001", R_CONFIG), REBUILD("web-002", R_BASE),
		      REBUILD("web-003", R_BASE) } },
	{ .title = "missing wanted hash is treated as differing",
	  .want = { WH("web-001", NULL, "b1"), WH("web-002", "c1", NULL) },
	  .dom = { D("web-001", true), D("web-002", true) },
	  .expect = { UPDATE("web-001", R_CONFIG), REBUILD("web-002", R_BASE) } },
	{ .title = "our domain under another name is still found by its metadata",
	  .want = { W("web-001") },
	  .rec = { R("web-001", VM_STATE_READY) },
	  .dom = { { "renamed", true, true, "web", "web-001", "web", "c1", "b1" } },
	  .expect = { KEEP("web-001", R_UP) } },

	/* ---- max_age ---- */
	{ .title = "max_age exceeded: rebuild with the age",
	  .want = { W("web-001") },
	  .rec = { RT("web-001", NOW - 8 * D_MS, 0) },
	  .dom = { D("web-001", true) },
	  .now_ms = NOW, .max_age_s = DAYS(7),
	  .expect = { REBUILD("web-001", "8d old, older than max_age 7d") } },
	{ .title = "max_age counts from the last rebuild",
	  .want = { W("web-001"), W("web-002") },
	  .rec = { RT("web-001", NOW - 30 * D_MS, NOW - 2 * D_MS),
		   RT("web-002", NOW - 30 * D_MS, NOW - 8 * D_MS) },
	  .dom = { D("web-001", true), D("web-002", true) },
	  .now_ms = NOW, .max_age_s = DAYS(7),
	  .expect = { KEEP("web-001", R_UP),
		      REBUILD("web-002", "8d old, older than max_age 7d") } },
	{ .title = "max_age 0: never rebuilt for age",
	  .want = { W("web-001") },
	  .rec = { RT("web-001", 1, 0) },
	  .dom = { D("web-001", true) },
	  .now_ms = NOW, .max_age_s = 0,
	  .expect = { KEEP("web-001", R_UP) } },
	{ .title = "exactly max_age: keep; one second more: rebuild",
	  .want = { W("web-001"), W("web-002"), W("web-003") },
	  .rec = { RT("web-001", NOW - 7 * D_MS, 0), RT("web-002", NOW - 7 * D_MS - 999, 0),
		   RT("web-003", NOW - 7 * D_MS - S_MS, 0) },
	  .dom = { D("web-001", true), D("web-002", true), D("web-003", true) },
	  .now_ms = NOW, .max_age_s = DAYS(7),
	  .expect = { KEEP("web-001", R_UP), KEEP("web-002", R_UP),
		      REBUILD("web-003", "7d1s old, older than max_age 7d") } },
	{ .title = "age and max_age in hours and seconds",
	  .want = { W("web-001"), W("web-002") },
	  .rec = { RT("web-001", NOW - 2 * D_MS, 0), RT("web-002", NOW - 37 * H_MS, 0) },
	  .dom = { D("web-001", true), D("web-002", true) },
	  .now_ms = NOW, .max_age_s = 36 * 3600,
	  .expect = { REBUILD("web-001", "2d old, older than max_age 1d12h"),
		      REBUILD("web-002", "1d13h old, older than max_age 1d12h") } },
	{ .title = "max_age in seconds",
	  .want = { W("web-001") },
	  .rec = { RT("web-001", NOW - 100 * S_MS, 0) },
	  .dom = { D("web-001", true) },
	  .now_ms = NOW, .max_age_s = 90,
	  .expect = { REBUILD("web-001", "1m40s old, older than max_age 1m30s") } },
	{ .title = "max_age before not running; config before max_age",
	  .want = { W("web-001"), W("web-002") },
	  .rec = { RT("web-001", NOW - 8 * D_MS, 0), RT("web-002", NOW - 8 * D_MS, 0) },
	  .dom = { D("web-001", false), DH("web-002", true, "c0", "b1") },
	  .now_ms = NOW, .max_age_s = DAYS(7),
	  .expect = { REBUILD("web-001", "8d old, older than max_age 7d"),
		      UPDATE("web-002", R_CONFIG) } },
	{ .title = "max_age needs a recorded time: adopted or unset is kept",
	  .want = { W("web-001"), W("web-002") },
	  .rec = { RT("web-002", 0, 0) },
	  .dom = { D("web-001", true), D("web-002", true) },
	  .now_ms = NOW, .max_age_s = 1,
	  .expect = { KEEP("web-001", R_ADOPT), KEEP("web-002", R_UP) } },
	{ .title = "created in the future: not rebuilt for age",
	  .want = { W("web-001") },
	  .rec = { RT("web-001", NOW + D_MS, 0) },
	  .dom = { D("web-001", true) },
	  .now_ms = NOW, .max_age_s = 1,
	  .expect = { KEEP("web-001", R_UP) } },

	/* ---- conflicts ---- */
	{ .title = "foreign domain with the wanted name: conflict",
	  .want = { W("web-001"), W("web-002") },
	  .rec = { R("web-002", VM_STATE_READY) },
	  .dom = { DX("web-web-001"), DX("web-web-002") },
	  .expect = { CONFLICT("web-001", "domain 'web-web-001' exists and is not muster's "
					  "(no muster metadata)"),
		      CONFLICT("web-002", "domain 'web-web-002' exists and is not muster's "
					  "(no muster metadata)") } },
	{ .title = "another fleet's domain with the wanted name: conflict naming it",
	  .want = { W("web-001") },
	  .dom = { DF("web-web-001", "shop", "web-001") },
	  .expect = { CONFLICT("web-001", "domain 'web-web-001' belongs to VM 'web-001' of "
					  "fleet 'shop'") } },
	{ .title = "conflict wins over a failed record",
	  .want = { W("web-001") },
	  .rec = { { "web-001", "web", VM_STATE_FAILED, 1, "boom", NOW - D_MS, 0 } },
	  .dom = { DX("web-web-001") },
	  .expect = { CONFLICT("web-001", "domain 'web-web-001' exists and is not muster's "
					  "(no muster metadata)") } },
	{ .title = "our other VM's domain holds the name: conflict, and that VM destroyed",
	  .want = { W("web-001") },
	  .dom = { { "web-web-001", true, true, "web", "web-009", "web", "c1", "b1" } },
	  .expect = { CONFLICT("web-001", "domain 'web-web-001' belongs to VM 'web-009' of "
					  "fleet 'web'"),
		      DESTROY("web-009", "web", R_GONE_DOM("web-web-001")) } },

	/* ---- no longer wanted ---- */
	{ .title = "our domain of a VM no longer wanted: destroy",
	  .want = { W("web-002") },
	  .dom = { D("web-001", true) },
	  .expect = { CREATE("web-002", "new VM"),
		      DESTROY("web-001", "web", R_GONE_DOM("web-web-001")) } },
	{ .title = "destroys come after the wanted VMs, sorted by name",
	  .want = { W("web-005"), W("web-004") },
	  .rec = { RG("web-002", "db", VM_STATE_READY),
		   { "web-000", "db", VM_STATE_FAILED, 4, "x", NOW - D_MS, 0 } },
	  .dom = { D("web-003", false), D("web-001", true) },
	  .expect = { CREATE("web-005", "new VM"), CREATE("web-004", "new VM"),
		      DESTROY("web-000", "db", R_GONE), DESTROY("web-001", "web", R_GONE_DOM("web-web-001")),
		      DESTROY("web-002", "db", R_GONE), DESTROY("web-003", "web", R_GONE_DOM("web-web-003")) } },
	{ .title = "recorded VM no longer wanted: destroy",
	  .rec = { RG("web-001", "db", VM_STATE_READY), RG("web-002", "db", VM_STATE_PLANNED) },
	  .expect = { DESTROY("web-001", "db", R_GONE), DESTROY("web-002", "db", R_GONE) } },
	{ .title = "recorded and on the hypervisor: destroyed once",
	  .rec = { RG("web-001", "db", VM_STATE_READY) },
	  .dom = { D("web-001", true), D("web-001", false) },
	  .expect = { DESTROY("web-001", "db", R_GONE) } },
	{ .title = "recorded as destroyed and unwanted: nothing",
	  .rec = { R("web-001", VM_STATE_DESTROYED), R("web-002", VM_STATE_DESTROYED) } },
	{ .title = "recorded as destroyed but its domain is still there: destroy",
	  .rec = { R("web-001", VM_STATE_DESTROYED) },
	  .dom = { D("web-001", false) },
	  .expect = { DESTROY("web-001", "web", R_GONE_DOM("web-web-001")) } },
	{ .title = "another fleet's and foreign domains are never destroyed",
	  .dom = { DF("shop-shop-001", "shop", "shop-001"), DF("webx-web-001", "webx", "web-001"),
		   DF("we-web-001", "we", "web-001"), DX("test"), DX("web-web-001") } },

	/* ---- drift: definitions (persistent and live) against what muster defines ---- */
	{ .title = "drift: definitions as muster made them, volumes too: keep",
	  .facts = true,
	  .want = { W("web-001") },
	  .rec = { RS("web-001") },
	  .dom = { D("web-001", true) },
	  .expect = { KEEP("web-001", R_UP) } },
	{ .title = "drift: memory and vCPUs edited in the persistent definition: update, named",
	  .facts = true,
	  .want = { W("web-001"), W("web-002") },
	  .rec = { RS("web-001"), RS("web-002") },
	  .dom = { { "web-web-001", true, true, "web", "web-001", "web", "c1", "b1",
		     .pers = { .memory_kib = 2048 * 1024 } },
		   { "web-web-002", true, true, "web", "web-002", "web", "c1", "b1",
		     .pers = { .vcpus = 4 } } },
	  .expect = { UPDATE("web-001", "definition edited outside muster: memory 2048 MiB on the "
					"host, 1024 MiB wanted"),
		      UPDATE("web-002", "definition edited outside muster: 4 vCPUs on the host, "
					"2 wanted") } },
	{ .title = "drift: memory within the MiB the hypervisor rounds to: keep",
	  .facts = true,
	  .want = { W("web-001") },
	  .rec = { RS("web-001") },
	  .dom = { { "web-web-001", true, true, "web", "web-001", "web", "c1", "b1",
		     .pers = { .memory_kib = 1024 * 1024 }, .live = { .memory_kib = 1024 * 1024 } } },
	  .expect = { KEEP("web-001", R_UP) } },
	{ .title = "drift: a disk, the seed cdrom, an extra disk: update, each named",
	  .facts = true,
	  .want = { W("web-001"), W("web-002"), W("web-003") },
	  .rec = { RS("web-001"), RS("web-002"), RS("web-003") },
	  .dom = { { "web-web-001", true, true, "web", "web-001", "web", "c1", "b1",
		     .pers = { .disk = "file /tmp/other.qcow2" } },
		   { "web-web-002", true, true, "web", "web-002", "web", "c1", "b1",
		     .pers = { .no_seed = true } },
		   { "web-web-003", true, true, "web", "web-003", "web", "c1", "b1",
		     .pers = { .extra_disk = true } } },
	  .expect = { UPDATE("web-001", "definition edited outside muster: disk 1: disk file "
					"/tmp/other.qcow2 on the host, disk volume "
					"muster/web-web-001.qcow2 wanted"),
		      UPDATE("web-002", "definition edited outside muster: 1 disks on the host, "
					"2 wanted"),
		      UPDATE("web-003", "definition edited outside muster: 3 disks on the host, "
					"2 wanted") } },
	{ .title = "drift: interfaces: another network, another MAC: update, named",
	  .facts = true,
	  .want = { W("web-001"), W("web-002") },
	  .rec = { RS("web-001"), RS("web-002") },
	  .dom = { { "web-web-001", true, true, "web", "web-001", "web", "c1", "b1",
		     .pers = { .nic_source = "default" } },
		   { "web-web-002", true, true, "web", "web-002", "web", "c1", "b1",
		     .pers = { .mac = "52:54:00:aa:bb:cc" } } },
	  .expect = { UPDATE("web-001", "definition edited outside muster: interface "
					"52:54:00:00:00:01: network 'default' vlan 0 on the host, "
					"network 'web-lan' vlan 0 wanted"),
		      UPDATE("web-002", "definition edited outside muster: interface "
					"52:54:00:00:00:02 missing on the host; interface "
					"52:54:00:aa:bb:cc on the host is not the manifest's") } },
	{ .title = "drift: boot: a kernel the manifest does not boot: update",
	  .facts = true,
	  .want = { W("web-001") },
	  .rec = { RS("web-001") },
	  .dom = { { "web-web-001", true, true, "web", "web-001", "web", "c1", "b1",
		     .pers = { .kernel = "/boot/evil" } } },
	  .expect = { UPDATE("web-001", "definition edited outside muster: boot: kernel /boot/evil "
					"on the host, none wanted") } },
	{ .title = "drift: the live definition only (set live, or an update applied to a running "
		   "VM): keep, pending a cold restart",
	  .facts = true,
	  .want = { W("web-001"), W("web-002") },
	  .rec = { RS("web-001"), RS("web-002") },
	  .dom = { { "web-web-001", true, true, "web", "web-001", "web", "c1", "b1",
		     .live = { .memory_kib = 512 * 1024 } },
		   { "web-web-002", true, true, "web", "web-002", "web", "c1", "b1",
		     .live = { .config = "c0" } } },
	  .expect = { KEEP("web-001", "update pending a cold restart (--restart): memory 512 MiB "
				      "on the host, 1024 MiB wanted"),
		      KEEP("web-002", "update pending a cold restart (--restart): " R_CONFIG) } },
	{ .title = "drift: pending, with restart asked for: restart",
	  .facts = true, .restart = true,
	  .want = { W("web-001"), W("web-002") },
	  .rec = { RS("web-001"), RS("web-002") },
	  .dom = { { "web-web-001", true, true, "web", "web-001", "web", "c1", "b1",
		     .live = { .vcpus = 1 } },
		   D("web-002", true) },
	  .expect = { RESTART("web-001", "runs an older definition: 1 vCPUs on the host, 2 wanted"),
		      KEEP("web-002", R_UP) } },
	{ .title = "drift: the live definition is not compared before ready (an installer runs)",
	  .facts = true, .restart = true,
	  .want = { W("web-001") },
	  .rec = { R("web-001", VM_STATE_STARTED) },
	  .dom = { { "web-web-001", true, true, "web", "web-001", "web", "c1", "b1",
		     .live = { .kernel = "/installer/vmlinuz" } } },
	  .expect = { KEEP("web-001", "resume: started, not reported ready yet") } },
	{ .title = "drift: the persistent definition's hash wins over the live one (updated, "
		   "not restarted yet)",
	  .facts = true,
	  .want = { W("web-001") },
	  .rec = { RS("web-001") },
	  .dom = { { "web-web-001", true, true, "web", "web-001", "web", "c0", "b1",
		     .pers = { .config = "c1" }, .live = { .config = "c0" } } },
	  .expect = { KEEP("web-001", "update pending a cold restart (--restart): " R_CONFIG) } },

	/* ---- drift: volumes ---- */
	{ .title = "drift: the disk missing, of another format, on another backing file: rebuild",
	  .facts = true,
	  .want = { W("web-001"), W("web-002"), W("web-003"), W("web-004") },
	  .rec = { RS("web-001"), RS("web-002"), RS("web-003"), RS("web-004") },
	  .dom = { D("web-001", true), D("web-002", true), D("web-003", true), D("web-004", true) },
	  .vol = { { .disk_missing = true }, { .disk_format = "raw" },
		   { .backing = "/var/lib/other.qcow2" }, { .backing_format = "raw" } },
	  .expect = { REBUILD("web-001", "disk volume 'web-web-001.qcow2' missing on the host"),
		      REBUILD("web-002", "disk volume 'web-web-002.qcow2' is raw, not qcow2"),
		      REBUILD("web-003", "disk sits on /var/lib/other.qcow2, its image is "
					 "/pool/web-img-base.qcow2"),
		      REBUILD("web-004", "disk reads its image as raw, the image is qcow2") } },
	{ .title = "drift: the image volume gone from the host; a blank disk with a backing file",
	  .facts = true,
	  .want = { W("web-001"), W("web-002") },
	  .rec = { RS("web-001"), RS("web-002") },
	  .dom = { D("web-001", true), D("web-002", true) },
	  .vol = { { .no_image = true }, { .blank = true } },
	  .expect = { REBUILD("web-001", "its base image volume 'web-img-base.qcow2' is missing on "
					 "the host"),
		      REBUILD("web-002", "disk sits on /pool/web-img-base.qcow2, a blank disk "
					 "wanted") } },
	{ .title = "drift: the seed volume missing, resized, rewritten: rebuild",
	  .facts = true,
	  .want = { W("web-001"), W("web-002"), W("web-003") },
	  .rec = { RS("web-001"), RS("web-002"), RS("web-003") },
	  .dom = { D("web-001", true), D("web-002", true), D("web-003", true) },
	  .vol = { { .seed_missing = true }, { .seed_size = 8192 }, { .seed_mtime = "200.1" } },
	  .expect = { REBUILD("web-001", "seed volume 'web-web-001-seed.iso' missing on the host"),
		      REBUILD("web-002", "seed volume 'web-web-002-seed.iso' changed: 8192 bytes, "
					 "muster wrote 4096"),
		      REBUILD("web-003", "seed volume 'web-web-003-seed.iso' changed: modified at "
					 "200.1, muster wrote it at 100.5") } },
	{ .title = "drift: a seed muster did not record the size of is not judged; unread "
		   "volumes are not either",
	  .facts = true,
	  .want = { W("web-001"), W("web-002") },
	  .rec = { R("web-001", VM_STATE_READY), RS("web-002") },
	  .dom = { D("web-001", true), D("web-002", true) },
	  .vol = { { .seed_size = 8192, .seed_mtime = "9.9" }, { .unread = true } },
	  .expect = { KEEP("web-001", R_UP), KEEP("web-002", R_UP) } },
	{ .title = "drift: base hash before volumes, volumes before max_age and config",
	  .facts = true, .max_age_s = DAYS(7),
	  .want = { W("web-001"), W("web-002") },
	  .rec = { RT("web-001", NOW - 8 * D_MS, 0), RT("web-002", NOW - 8 * D_MS, 0) },
	  .dom = { DH("web-001", true, "c1", "b0"), DH("web-002", true, "c0", "b1") },
	  .vol = { { .disk_missing = true }, { .disk_missing = true } },
	  .expect = { REBUILD("web-001", R_BASE),
		      REBUILD("web-002", "disk volume 'web-web-002.qcow2' missing on the host") } },

	/* ---- drift: off ---- */
	{ .title = "off: stopped with muster stop: keep, left off",
	  .want = { W("web-001") },
	  .rec = { { "web-001", "web", VM_STATE_DEFINED, 0, NULL, NOW - D_MS, 0, NOW - H_MS, 0, 0,
		     NULL } },
	  .dom = { D("web-001", false) },
	  .stopped_grace_s = 60,
	  .expect = { KEEP("web-001", "stopped with muster stop; muster start starts it") } },
	{ .title = "off outside muster: seen now, within stopped_grace: update (start); "
		   "longer: rebuild",
	  .want = { W("web-001"), W("web-002"), W("web-003") },
	  .rec = { R("web-001", VM_STATE_READY),
		   { "web-002", "web", VM_STATE_READY, 0, NULL, NOW - D_MS, 0, 0, NOW - 30 * S_MS,
		     0, NULL },
		   { "web-003", "web", VM_STATE_READY, 0, NULL, NOW - D_MS, 0, 0, NOW - 2 * H_MS,
		     0, NULL } },
	  .dom = { D("web-001", false), D("web-002", false), D("web-003", false) },
	  .stopped_grace_s = 3600,
	  .expect = { UPDATE("web-001", "shut off outside muster (seen now)"),
		      UPDATE("web-002", "shut off outside muster for 30s (stopped_grace 1h)"),
		      REBUILD("web-003", "shut off outside muster for 2h, longer than "
					 "stopped_grace 1h") } },
	{ .title = "off, never brought up by muster (defined): update, not drift",
	  .want = { W("web-001") },
	  .rec = { { "web-001", "web", VM_STATE_DEFINED, 0, NULL, NOW - D_MS, 0, 0, NOW - 9 * H_MS,
		     0, NULL } },
	  .dom = { D("web-001", false) },
	  .stopped_grace_s = 60,
	  .expect = { UPDATE("web-001", R_STOPPED) } },

	/* ---- a host that does not answer ---- */
	{ .title = "host down: its VMs unknown whatever is recorded; the others planned as ever",
	  .want = { W("web-001"), W("web-002"), W("web-003") },
	  .rec = { R("web-001", VM_STATE_READY), R("web-002", VM_STATE_FAILED),
		   R("web-003", VM_STATE_READY) },
	  .dom = { D("web-003", true), DX("web-web-002") },
	  .want_down = { "refused", "refused", NULL },
	  .expect = { UNKNOWN("web-001", "web", "its host does not answer: refused"),
		      UNKNOWN("web-002", "web", "its host does not answer: refused"),
		      KEEP("web-003", R_UP) } },
	{ .title = "host down: a VM gone from the manifest recorded there is unknown, not destroyed",
	  .want = { W("web-001") },
	  .rec = { R("web-001", VM_STATE_READY), R("web-007", VM_STATE_READY),
		   R("web-008", VM_STATE_READY), R("web-009", VM_STATE_READY) },
	  .rec_host = { "a", "b", "a", NULL },
	  .dom = { D("web-001", true) },
	  .down = { { "b", "timed out" } },
	  .expect = { KEEP("web-001", R_UP),
		      UNKNOWN("web-007", "web", "no longer in the manifest; its host does not "
			      "answer: timed out"),
		      DESTROY("web-008", "web", R_GONE), DESTROY("web-009", "web", R_GONE) } },

	/* ---- everything at once ---- */
	{ .title = "one of each action: counts match the items",
	  .want = { W("web-001"), W("web-002"), W("web-003"), W("web-004"), W("web-005"),
		    W("web-006") },
	  .rec = { R("web-002", VM_STATE_READY), R("web-003", VM_STATE_READY),
		   R("web-004", VM_STATE_READY), R("web-007", VM_STATE_READY),
		   R("web-008", VM_STATE_DESTROYED) },
	  .dom = { D("web-002", true), DH("web-003", true, "c0", "b1"), DH("web-004", true, "c1", "b0"),
		   DX("web-web-005"), D("web-006", true), D("web-007", true),
		   DF("shop-web-001", "shop", "web-001") },
	  .now_ms = NOW, .max_age_s = DAYS(7),
	  .expect = { CREATE("web-001", "new VM"), KEEP("web-002", R_UP), UPDATE("web-003", R_CONFIG),
		      REBUILD("web-004", R_BASE),
		      CONFLICT_SUB("web-005", "'web-web-005' exists"),
		      KEEP("web-006", R_ADOPT), DESTROY("web-007", "web", R_GONE) } },
};

static size_t count_want(const struct t_case *c)
{
	size_t n = 0;

	while (n < MAXN && c->want[n].name)
		n++;
	return n;
}

static size_t count_rec(const struct t_case *c)
{
	size_t n = 0;

	while (n < MAXN && c->rec[n].name)
		n++;
	return n;
}

static size_t count_dom(const struct t_case *c)
{
	size_t n = 0;

	while (n < MAXN && c->dom[n].name)
		n++;
	return n;
}

static size_t count_expect(const struct t_case *c)
{
	size_t n = 0;

	while (n < MAXN && c->expect[n].name)
		n++;
	return n;
}

static char *dup_or_null(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	assert_non_null(d);
	return d;
}

static void print_plan(const struct t_case *c, const struct plan *p)
{
	size_t i;

	print_error("case '%s': the plan was:\n", c->title);
	for (i = 0; i < p->n_items; i++)
		print_error("  %s [%s] %s: %s\n", p->items[i].name, p->items[i].group,
			    plan_action_to_string(p->items[i].action), p->items[i].reason);
}

#define T_POOL "muster"
#define T_IMAGE "web-img-base.qcow2"
#define T_IMAGE_PATH "/pool/" T_IMAGE

static void fill_disk(struct disk_fact *d, const char *device, const char *source)
{
	d->device = dup_or_null(device);
	d->source = dup_or_null(source);
}

/* What muster wants of VM number k (1-based) named vm. */
static void want_facts(struct domain_facts *f, const char *vm, size_t k)
{
	char src[128], mac[32];

	memset(f, 0, sizeof(*f));
	f->read = true;
	f->config_hash = dup_or_null("c1");
	f->base_hash = dup_or_null("b1");
	f->memory_kib = 1024 * 1024;
	f->vcpus = 2;
	f->disks = calloc(3, sizeof(*f->disks));
	f->nics = calloc(1, sizeof(*f->nics));
	assert_non_null(f->disks);
	assert_non_null(f->nics);
	(void) snprintf(src, sizeof(src), "volume " T_POOL "/web-%s.qcow2", vm);
	fill_disk(&f->disks[f->n_disks++], "disk", src);
	(void) snprintf(src, sizeof(src), "volume " T_POOL "/web-%s-seed.iso", vm);
	fill_disk(&f->disks[f->n_disks++], "cdrom", src);
	(void) snprintf(mac, sizeof(mac), "52:54:00:00:00:%02zx", k);
	f->nics[0].mac = dup_or_null(mac);
	f->nics[0].kind = dup_or_null("network");
	f->nics[0].source = dup_or_null("web-lan");
	f->n_nics = 1;
}

/* The host's definition: what is wanted, changed as t says. */
static void host_facts(struct domain_facts *f, const struct t_facts *t, const char *vm, size_t k)
{
	want_facts(f, vm, k);
	if (t->memory_kib)
		f->memory_kib = t->memory_kib;
	if (t->vcpus)
		f->vcpus = t->vcpus;
	if (t->disk) {
		free(f->disks[0].source);
		f->disks[0].source = dup_or_null(t->disk);
	}
	if (t->no_seed) {
		free(f->disks[1].device);
		free(f->disks[1].source);
		f->n_disks = 1;
	}
	if (t->extra_disk)
		fill_disk(&f->disks[f->n_disks++], "disk", "file /tmp/extra.img");
	if (t->mac) {
		free(f->nics[0].mac);
		f->nics[0].mac = dup_or_null(t->mac);
	}
	if (t->nic_source) {
		free(f->nics[0].source);
		f->nics[0].source = dup_or_null(t->nic_source);
	}
	if (t->kernel)
		f->kernel = dup_or_null(t->kernel);
	if (t->config) {
		free(f->config_hash);
		f->config_hash = dup_or_null(t->config);
	}
}

/* The volumes of VM vm as t says. */
static void host_volumes(struct plan_volumes *v, const struct t_vol *t, const char *vm)
{
	char path[128];

	memset(v, 0, sizeof(*v));
	if (t->unread)
		return;
	v->read = true;
	v->seed_wanted = true;
	v->image = t->blank ? NULL : T_IMAGE;
	v->image_path = t->blank || t->no_image ? NULL : T_IMAGE_PATH;
	v->image_format = t->blank ? NULL : "qcow2";
	v->disk.exists = !t->disk_missing;
	(void) snprintf(path, sizeof(path), "/pool/web-%s.qcow2", vm);
	v->disk.path = dup_or_null(path);
	v->disk.format = dup_or_null(t->disk_format ? t->disk_format : "qcow2");
	v->disk.backing_path = dup_or_null(t->backing ? t->backing : T_IMAGE_PATH);
	v->disk.backing_format = dup_or_null(t->backing_format ? t->backing_format : "qcow2");
	v->seed.exists = !t->seed_missing;
	v->seed.capacity = t->seed_size ? t->seed_size : 4096;
	v->seed.mtime = dup_or_null(t->seed_mtime ? t->seed_mtime : "100.5");
}

static void run_case(void **state)
{
	const struct t_case *c = *state;
	size_t n_want = count_want(c), n_rec = count_rec(c), n_dom = count_dom(c);
	size_t n_exp = count_expect(c), i, want_count[PLAN_ACTION_MAX] = { 0 };
	struct vmrec want[MAXN];
	struct recorded_vm *rec = calloc(MAXN, sizeof(*rec));
	struct listed_domain *dom = calloc(MAXN, sizeof(*dom));
	struct muster_err err = { 0 };
	struct plan_input in = { 0 };
	struct plan *p = NULL;
	struct domain_facts wf[MAXN];
	struct plan_volumes vols[MAXN];
	int a;

	assert_non_null(rec);
	assert_non_null(dom);
	for (i = 0; i < n_want; i++) {
		want[i].name = c->want[i].name;
		want[i].group = c->want[i].group;
		(void) snprintf(want[i].domain, sizeof(want[i].domain), "%s", c->want[i].domain);
		(void) snprintf(want[i].disk, sizeof(want[i].disk), "web-%s.qcow2", c->want[i].name);
		(void) snprintf(want[i].seed, sizeof(want[i].seed), "web-%s-seed.iso",
				c->want[i].name);
		(void) snprintf(want[i].config_hash, sizeof(want[i].config_hash), "%s",
				c->want[i].config ? c->want[i].config : "");
		(void) snprintf(want[i].base_hash, sizeof(want[i].base_hash), "%s",
				c->want[i].base ? c->want[i].base : "");
	}
	for (i = 0; i < n_rec; i++) {
		rec[i].name = dup_or_null(c->rec[i].name);
		rec[i].group = dup_or_null(c->rec[i].group);
		rec[i].state = c->rec[i].state;
		rec[i].attempts = c->rec[i].attempts;
		rec[i].last_error = dup_or_null(c->rec[i].last_error);
		rec[i].created_at = c->rec[i].created_at;
		rec[i].rebuilt_at = c->rec[i].rebuilt_at;
		rec[i].stopped_at = c->rec[i].stopped_at;
		rec[i].off_since = c->rec[i].off_since;
		rec[i].seed_size = c->rec[i].seed_size ? c->rec[i].seed_size : -1;
		rec[i].seed_mtime = dup_or_null(c->rec[i].seed_mtime);
		rec[i].host = dup_or_null(c->rec_host[i]);
	}
	for (i = 0; i < n_dom; i++) {
		dom[i].name = dup_or_null(c->dom[i].name);
		dom[i].active = c->dom[i].active;
		dom[i].ours = c->dom[i].ours;
		dom[i].fleet = dup_or_null(c->dom[i].fleet);
		dom[i].vm = dup_or_null(c->dom[i].vm);
		dom[i].group = dup_or_null(c->dom[i].group);
		dom[i].config_hash = dup_or_null(c->dom[i].config);
		dom[i].base_hash = dup_or_null(c->dom[i].base);
		if (c->facts && c->dom[i].ours) {
			/* the wanted VM it is, by number: web-00N */
			size_t k = strtoul(c->dom[i].vm + strlen(c->dom[i].vm) - 3, NULL, 10);

			host_facts(&dom[i].persistent, &c->dom[i].pers, c->dom[i].vm, k);
			/* the definition's own hashes are the listed ones unless the case says */
			free(dom[i].persistent.config_hash);
			dom[i].persistent.config_hash = dup_or_null(c->dom[i].pers.config ?
								    c->dom[i].pers.config :
								    c->dom[i].config);
			free(dom[i].persistent.base_hash);
			dom[i].persistent.base_hash = dup_or_null(c->dom[i].base);
			if (c->dom[i].active) {
				host_facts(&dom[i].live, &c->dom[i].live, c->dom[i].vm, k);
				if (!c->dom[i].live.config) {
					free(dom[i].live.config_hash);
					dom[i].live.config_hash = dup_or_null(c->dom[i].config);
				}
			}
		}
	}
	for (i = 0; c->facts && i < n_want; i++) {
		want_facts(&wf[i], c->want[i].name, i + 1);
		host_volumes(&vols[i], &c->vol[i], c->want[i].name);
	}
	in.fleet = "web";
	in.want = want;
	in.n_want = n_want;
	in.recorded = n_rec ? rec : NULL;
	in.n_recorded = n_rec;
	in.domains = n_dom ? dom : NULL;
	in.n_domains = n_dom;
	in.now_ms = c->now_ms ? c->now_ms : NOW;
	in.max_age_s = c->max_age_s;
	in.want_facts = c->facts ? wf : NULL;
	in.volumes = c->facts ? vols : NULL;
	in.stopped_grace_s = c->stopped_grace_s;
	in.restart = c->restart;
	in.want_down = c->want_down;
	in.down = c->down;
	in.n_down = c->down[1].uri ? 2 : c->down[0].uri ? 1 : 0;

	if (plan_compute(&in, &p, &err) != 0)
		fail_msg("case '%s': plan_compute failed: %s", c->title, err.msg);
	assert_non_null(p);
	assert_string_equal(p->fleet, "web");
	if (p->n_items != n_exp) {
		print_plan(c, p);
		fail_msg("case '%s': %zu items, want %zu", c->title, p->n_items, n_exp);
	}
	for (i = 0; i < n_exp; i++) {
		const struct t_item *e = &c->expect[i];
		const struct plan_item *it = &p->items[i];
		bool reason_ok = e->exact ? streq(it->reason, e->reason) : !!strstr(it->reason, e->reason);

		if (!streq(it->name, e->name) || !streq(it->group, e->group) ||
		    it->action != e->action || !reason_ok) {
			print_plan(c, p);
			fail_msg("case '%s': item %zu is %s [%s] %s: '%s'; want %s [%s] %s: %s'%s'",
				 c->title, i, it->name, it->group, plan_action_to_string(it->action),
				 it->reason, e->name, e->group, plan_action_to_string(e->action),
				 e->exact ? "" : "... ", e->reason);
		}
		want_count[e->action]++;
	}
	for (a = 0; a < PLAN_ACTION_MAX; a++)
		if (p->count[a] != want_count[a])
			fail_msg("case '%s': count[%s] = %zu, want %zu", c->title,
				 plan_action_to_string(a), p->count[a], want_count[a]);

	plan_free(p);
	store_vm_list_free(rec, n_rec);
	hv_domain_list_free(dom, n_dom);
	for (i = 0; c->facts && i < n_want; i++) {
		facts_release(&wf[i]);
		hv_listed_volume_release(&vols[i].disk);
		hv_listed_volume_release(&vols[i].seed);
	}
}

static void test_action_names(void **state)
{
	static const char *const names[PLAN_ACTION_MAX] = {
		[PLAN_CREATE] = "create", [PLAN_KEEP] = "keep", [PLAN_UPDATE] = "update",
		[PLAN_REBUILD] = "rebuild", [PLAN_RESTART] = "restart", [PLAN_DESTROY] = "destroy",
		[PLAN_CONFLICT] = "conflict", [PLAN_UNKNOWN] = "unknown",
	};
	static const char *const unknown[] = {
		"", "Create", "CREATE", "create ", " keep", "kee", "keeps", "none", "destroyed",
	};
	int a, b;
	size_t i;

	(void) state;
	for (a = 0; a < PLAN_ACTION_MAX; a++) {
		const char *s = plan_action_to_string(a);

		assert_non_null(s);
		assert_string_equal(s, names[a]);
		assert_int_equal(plan_action_from_string(s), a);
		for (b = 0; b < a; b++)
			assert_string_not_equal(s, plan_action_to_string(b));
	}
	assert_null(plan_action_to_string(PLAN_ACTION_MAX));
	assert_null(plan_action_to_string((enum plan_action) -1));
	assert_null(plan_action_to_string((enum plan_action) 1000));
	for (i = 0; i < ARRAY_SIZE(unknown); i++)
		assert_int_equal(plan_action_from_string(unknown[i]), -1);
}

static void test_empty(void **state)
{
	struct plan_input in = { .fleet = "empty", .now_ms = NOW, .max_age_s = 1 };
	struct muster_err err = { 0 };
	struct plan *p = NULL;
	int a;

	(void) state;
	assert_int_equal(plan_compute(&in, &p, &err), 0);
	assert_non_null(p);
	assert_string_equal(p->fleet, "empty");
	assert_int_equal(p->n_items, 0);
	for (a = 0; a < PLAN_ACTION_MAX; a++)
		assert_int_equal(p->count[a], 0);
	plan_free(p);
	plan_free(NULL);
}

int main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(cases) + 2];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		tests[i] = (struct CMUnitTest) {
			.name = cases[i].title, .test_func = run_case,
			.initial_state = (void *) (uintptr_t) &cases[i],
		};
	}
	tests[i++] = (struct CMUnitTest) cmocka_unit_test(test_action_names);
	tests[i++] = (struct CMUnitTest) cmocka_unit_test(test_empty);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
