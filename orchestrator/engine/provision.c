/* provision.c: one VM through clone, seed, define, start (provision.h). */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define LOG_TAG "provision"
#include "clock.h"
#include "domxml.h"
#include "fmt.h"
#include "identity.h"
#include "installer.h"
#include "keystore.h"
#include "log.h"
#include "mustache.h"
#include "provision.h"
#include "tokens.h"
#include "seediso.h"

/*
 * Fault injection for the crash tests (tests/apply/run): with
 * MUSTER_TEST_KILL_AT=N in the environment, the process kills itself with
 * SIGKILL at the Nth point where a crash matters: after an intent is
 * recorded (the side effect not done), and after a side effect (its result
 * not recorded). Counted across all workers.
 */
static long crash_at;
static pthread_once_t crash_once = PTHREAD_ONCE_INIT;

static void crash_init(void)
{
	const char *env = getenv("MUSTER_TEST_KILL_AT");

	crash_at = env ? strtol(env, NULL, 10) : 0;
}

/*
 * A test hook (tests/rebuild/run): with MUSTER_TEST_REBUILD_DELAY_MS=N, a
 * VM being rebuilt stays down N ms after its teardown, so that a roll's
 * overlap can be measured from the recorded events' times.
 */
static void rebuild_delay(void)
{
	const char *env = getenv("MUSTER_TEST_REBUILD_DELAY_MS");
	long ms = env ? strtol(env, NULL, 10) : 0;

	if (ms > 0 && ms < 60000)
		clock_sleep_ms(ms);
}

static void crash_point(void)
{
	static atomic_long seen;

	pthread_once(&crash_once, crash_init);
	if (crash_at > 0 && atomic_fetch_add(&seen, 1) + 1 == crash_at)
		kill(getpid(), SIGKILL);
}

/*
 * Events are recorded in one transaction per pair of side effects: clone
 * and seed, define and start. The intents of both are committed before the
 * first happens (intent_ahead(): each its own event), the results of both
 * are kept (result(), in w->pending) and go to the store with the next
 * intents, as nothing happens between; the second's intent() then finds
 * its intent recorded. Each side effect's intent is committed before it,
 * its result after (DESIGN.md). What is still pending when no side effect
 * follows is written by flush(), before any other write to the store and
 * before provision_vm returns.
 */
static int flush(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		 const char *intent, const char *ahead, struct muster_err *err)
{
	struct provision_pending *p = &w->pending;
	size_t nt = f->m->n_host_key_types, j, n = 0;
	struct store_step_event events[2 + 2];
	struct store_key_item keys[MF_KEY_TYPE_MAX];
	struct store_vm_step s = {
		.ensure_group = p->vm_id ? NULL : p->group, .spec = p->has_spec ? &p->spec : NULL,
		.events = events, .vm_id = &p->vm_id,
		/* the VM's row and, with it, its host keys, before the seed has them */
		.keys = keys, .n_keys = p->group ? nt : 0,
	};

	for (j = 0; j < p->n_results; j++)
		events[n++] = (struct store_step_event) {
			p->results[j].to, p->results[j].detail, p->results[j].at,
		};
	if (intent)
		events[n++] = (struct store_step_event) { VM_STATE_MAX, intent, 0 };
	if (intent && ahead)
		events[n++] = (struct store_step_event) { VM_STATE_MAX, ahead, 0 };
	if (!p->group && !p->has_spec && n == 0)
		return 0;
	if (p->group)
		keystore_host_key_items(&f->keys[vm * nt], f->key_types, nt, keys);
	s.n_events = n;
	if ((w->steps ? store_steps_record(w->steps, f->m->fleet, f->m->vms[vm].name, &s,
					   f->run_id, err) :
			store_vm_step(w->st, f->m->fleet, f->m->vms[vm].name, &s, f->run_id, err)) < 0)
		return -1;
	for (j = 0; j < p->n_results && f->on_state; j++)
		f->on_state(f->on_state_data, vm, p->results[j].to);
	p->group = NULL;
	p->has_spec = false;
	p->n_results = 0;
	if (intent)	/* the one it recorded ahead, if any, is the next to come */
		fmt_cut(p->announced, sizeof(p->announced), "%s", ahead ? ahead : "");
	return 0;
}

/*
 * Record the intent of a side effect (an event that keeps the state), with
 * what is pending, and with ahead (not NULL) the intent of the one after it
 * too; an intent recorded so before is not recorded again.
 */
static int intent_ahead(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
			const char *ahead, struct muster_err *err, const char *fmt, ...)
	PRINTF_LIKE(6, 7);

static int intent_ahead(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
			const char *ahead, struct muster_err *err, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	fmt_vcut(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* nothing done yet, or the last result recorded; with a result pending
	 * this is the point result() counted */
	if (w->pending.n_results == 0)
		crash_point();
	if (w->pending.announced[0] && streq(w->pending.announced, detail))
		w->pending.announced[0] = '\0';	/* recorded with the one before */
	else if (flush(f, w, vm, detail, ahead, err) < 0)
		return -1;
	crash_point();	/* the intent recorded, the side effect not done */
	return 0;
}

/*
 * The slot of the next result: two side effects at most happen between
 * commits (flush() writes them); a third is a bug, and ends the process
 * rather than lose a transition.
 */
static struct provision_result *pending_result(struct provision_pending *p)
{
	if (p->n_results >= ARRAY_SIZE(p->results)) {
		log_error("provision: a third result pending (a bug): stopping");
		abort();
	}
	return &p->results[p->n_results++];
}

/* A side effect's result: the new state, recorded with the next intent or by flush(). */
static void result(struct provision_worker *w, enum vm_state to, const char *fmt, ...)
	PRINTF_LIKE(3, 4);

static void result(struct provision_worker *w, enum vm_state to, const char *fmt, ...)
{
	struct provision_result *r;
	va_list ap;

	crash_point();	/* the side effect done, its result not recorded */
	r = pending_result(&w->pending);
	va_start(ap, fmt);
	fmt_vcut(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	r->to = to;
	/* the timeline shows when it happened, not when it was written */
	r->at = store_now_ms(w->st);
}

/* A transition recorded now, with what is pending: an intent that is a state (rebuilding). */
static int record(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		  enum vm_state to, struct muster_err *err, const char *fmt, ...) PRINTF_LIKE(6, 7);

static int record(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		  enum vm_state to, struct muster_err *err, const char *fmt, ...)
{
	struct provision_result *r;
	va_list ap;

	crash_point();	/* nothing done yet */
	r = pending_result(&w->pending);
	va_start(ap, fmt);
	fmt_vcut(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	r->to = to;
	r->at = 0;
	return flush(f, w, vm, NULL, NULL, err);
}

/* Clone VM vm's disk; ahead: the intent of what follows, recorded with the clone's. */
static int clone_disk(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		      const struct vmrec *n, const char *ahead, struct muster_err *err)
{
	const struct mf_group *g = manifest_vm_group(f->m, &f->m->vms[vm]);
	/* a kickstart VM's installer gets a blank disk */
	bool backed = g->has_image && g->bootstrap != MF_BOOTSTRAP_KICKSTART;
	struct domxml_volume v = {
		.name = n->disk, .capacity = g->disk, .format = "qcow2",
		.backing_path = backed ? f->image_paths[f->recs->v[vm].host][g->image] : NULL,
		.backing_format = backed ? f->image_formats[g->image] : NULL,
	};
	char *xml;
	int r;

	if (intent_ahead(f, w, vm, ahead, err, "intent: create disk '%s' in pool '%s'%s%s", n->disk,
			 f->m->pool, v.backing_path ? " backed by " : "",
			 v.backing_path ? v.backing_path : "") < 0)
		return -1;
	xml = domxml_volume_format(&v, err);
	if (!xml)
		return -1;
	r = hv_volume_create(w->hv, f->m->pool, n->disk, xml, err);
	free(xml);
	if (r < 0 ||
	    (g->bootstrap == MF_BOOTSTRAP_KICKSTART &&
	     store_vm_uninstalled(w->st, f->m->fleet, f->m->vms[vm].name, err) < 0))
		return -1;
	result(w, VM_STATE_CLONED, "disk '%s'%s", n->disk,
	       g->bootstrap == MF_BOOTSTRAP_KICKSTART ? " (blank, for the installer)" : "");
	return 0;
}

/*
 * A VM's seed between seed_begin and seed_end: its files, and its image
 * being written. What the seed volume holds depends on how the VM is
 * bootstrapped: its NoCloud files (volume id cidata); for seed: http only
 * its host keys (muster-keys: its NoCloud files are served, behind a token
 * that read-only libvirt users and the process list show); for kickstart
 * its kickstart (OEMDRV, ks.cfg), which its installer reads instead of a URL.
 */
struct seed_work {
	struct cidata cd;
	struct buf ks;
	struct seediso_job *job;	/* libisofs writes the image on a thread of its own */
	size_t iso_len;
	const char *what;		/* in the seed's events: its instance-id, or "kickstart" */
};

/* Render the seed's files and start writing its image (nothing is made on the host). */
static int seed_begin(const struct provision_fleet *f, size_t vm, struct seed_work *sw,
		      struct muster_err *err)
{
	const struct mf_group *g = manifest_vm_group(f->m, &f->m->vms[vm]);
	const struct keypair *keys = &f->keys[vm * f->m->n_host_key_types];
	struct seediso_file files[ARRAY_SIZE(sw->cd.key_files)];
	size_t nf = 0, i;

	buf_init(&sw->ks, MU_MAX_OUTPUT);
	if (bootstrap_render(f->boot, vm, keys, true, f->generation ? f->generation[vm] : 0,
			     &sw->cd, &sw->ks, err) < 0)
		return -1;
	if (g->bootstrap == MF_BOOTSTRAP_KICKSTART) {
		sw->what = "kickstart";
		files[nf++] = (struct seediso_file) { INSTALLER_KS_FILE, buf_str(&sw->ks), sw->ks.len };
		return seediso_start(INSTALLER_KS_LABEL, files, nf, &sw->job, &sw->iso_len, err);
	}
	sw->what = sw->cd.instance_id;
	if (g->seed_http) {
		for (i = 0; i < sw->cd.n_key_files; i++)
			files[nf++] = (struct seediso_file) { sw->cd.key_files[i].name,
							      sw->cd.key_files[i].data,
							      sw->cd.key_files[i].len };
		return seediso_start(CIDATA_KEYS_VOLID, files, nf, &sw->job, &sw->iso_len, err);
	}
	files[nf++] = (struct seediso_file) { "meta-data", sw->cd.meta_data, sw->cd.meta_data_len };
	files[nf++] = (struct seediso_file) { "user-data", sw->cd.user_data, sw->cd.user_data_len };
	if (sw->cd.network_config)
		files[nf++] = (struct seediso_file) { "network-config", sw->cd.network_config,
						      sw->cd.network_config_len };
	return seediso_start(SEEDISO_VOLID, files, nf, &sw->job, &sw->iso_len, err);
}

static void seed_end(struct seed_work *sw)
{
	seediso_cancel(sw->job);
	sw->job = NULL;
	cidata_release(&sw->cd);
	if (sw->ks.data)
		explicit_bzero(sw->ks.data, sw->ks.len);
	buf_release(&sw->ks);
}

/* The seed volume as the host has it now, recorded with the spec: later runs see it changed. */
static int seed_stamp(const struct provision_fleet *f, struct provision_worker *w,
		      const struct vmrec *n, struct muster_err *err)
{
	struct listed_volume v;

	if (hv_volume_facts(w->hv, f->m->pool, n->seed, &v, err) < 0)
		return -1;
	w->pending.seeded = v.exists;
	w->pending.seed_size = (int64_t) v.capacity;
	fmt_cut(w->pending.seed_mtime, sizeof(w->pending.seed_mtime), "%s", v.mtime ? v.mtime : "");
	hv_listed_volume_release(&v);
	return 0;
}

/*
 * The seed's volume, with the image seed_begin started; replace: one there
 * already is deleted first (its size may not be the new image's).
 */
static int make_seed(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		     const struct vmrec *n, struct seed_work *sw, const char *seed_intent,
		     bool replace, struct muster_err *err)
{
	struct domxml_volume v = { .name = n->seed, .format = "raw", .capacity = sw->iso_len };
	void *iso = NULL;
	size_t iso_len = 0;
	char *xml = NULL;
	int r = -1, up;

	if (intent_ahead(f, w, vm, NULL, err, "%s", seed_intent) < 0 ||
	    (replace && hv_volume_delete(w->hv, f->m->pool, n->seed, err) < 0) ||
	    !(xml = domxml_volume_format(&v, err)) ||
	    hv_volume_create(w->hv, f->m->pool, n->seed, xml, err) < 0 ||
	    seediso_finish(steal_pointer(&sw->job), &iso, &iso_len, err) < 0)
		goto out;
	/* always upload: a crash may have cut the last upload short */
	up = hv_volume_upload(w->hv, f->m->pool, n->seed, iso, iso_len, err);
	if (up < 0 || seed_stamp(f, w, n, err) < 0)
		goto out;
	result(w, VM_STATE_SEEDED, "seed '%s' (%s)%s", n->seed, sw->what,
	       up > 0 ? ", created empty: the driver cannot upload" : "");
	r = 0;
out:
	free(xml);
	free(iso);
	return r;
}

/* Validate against libvirt's schema the first domain of each group in a run. */
static bool validate_once(const struct provision_fleet *f, size_t group)
{
	return !f->validated || !atomic_exchange(&f->validated[group], true);
}

/*
 * "ds=nocloud-net;s=<endpoint>/nocloud/<vm>/<token>/" with a fresh token
 * for the VM (an earlier one stops working): what cloud-init reads from the
 * SMBIOS serial to fetch meta-data, user-data and vendor-data once the
 * network is up. Not "ds=nocloud": cloud-init 22.4 (Debian 12) gives that
 * dsmode local, fetches the files in its network stage all the same, then
 * exits that stage without applying them and boots on DataSourceNone
 * (cloud-init 24.1 takes both, and calls nocloud-net deprecated).
 */
static int nocloud_serial(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
			  char **ret, struct muster_err *err)
{
	const char *name = f->m->vms[vm].name, *ep = f->m->endpoint;
	char token[TOKEN_LEN + 1];
	size_t len = strlen(ep);

	while (len && ep[len - 1] == '/')
		len--;
	if (flush(f, w, vm, NULL, NULL, err) < 0 ||
	    token_issue(w->st, f->m->fleet, name, TOKEN_TTL_DEFAULT_S, token, err) < 0)
		return -1;
	if (asprintf(ret, "ds=nocloud-net;s=%.*s/nocloud/%s/%s/", (int) len, ep, name, token) < 0) {
		*ret = NULL;
		return err_nomem(err);
	}
	return 0;
}

/*
 * The domain XML of VM vm: as defined, or (install_cmdline) booting its
 * installer once, with <on_reboot>destroy</on_reboot> so that the
 * installer's closing reboot ends that boot.
 */
static int domain_xml(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		      const struct vmrec *n, const char *install_cmdline, char **ret,
		      struct muster_err *err)
{
	const struct manifest *m = f->m;
	const struct mf_vm *v = &m->vms[vm];
	const struct mf_group *g = manifest_vm_group(m, v);
	struct domxml_meta meta = {
		.fleet = (char *) m->fleet, .vm = (char *) v->name, .group = (char *) g->name,
		.config_hash = (char *) n->config_hash, .base_hash = (char *) n->base_hash,
	};
	struct domxml_nic *nics = calloc(g->n_nics + 1, sizeof(*nics));
	struct domxml_forward *fwd = NULL;
	char *console = NULL, *channel = NULL, *xml = NULL, *serial = NULL;
	size_t i, k, n_fwd = 0;
	int r = -1;

	for (i = 0; i < g->n_nics; i++)
		n_fwd += m->networks[g->nics[i].network].n_forwards;
	fwd = calloc(n_fwd + 1, sizeof(*fwd));
	if (!nics || !fwd) {
		err_nomem(err);
		goto out;
	}
	for (i = 0, n_fwd = 0; i < g->n_nics; i++) {
		const struct mf_network *net = &m->networks[g->nics[i].network];

		nics[i].mac = vmrec_mac(f->recs, vm, i);
		switch (net->type) {
		case MF_NET_NAT:
		case MF_NET_ISOLATED:
			nics[i].kind = DOMXML_NIC_NETWORK;
			nics[i].source = net->name;	/* replaced below by its libvirt name */
			break;
		case MF_NET_BRIDGE:
			nics[i].kind = DOMXML_NIC_BRIDGE;
			nics[i].source = net->bridge;
			nics[i].mtu = net->mtu;
			break;
		case MF_NET_VLAN:
			nics[i].kind = DOMXML_NIC_OVS_VLAN;
			nics[i].source = net->bridge;
			nics[i].vlan = net->vlan;
			nics[i].mtu = net->mtu;
			break;
		case MF_NET_USER:
		case MF_NET_TYPE_MAX:
			nics[i].kind = DOMXML_NIC_USER;
			nics[i].forwards = &fwd[n_fwd];
			for (k = 0; k < net->n_forwards; k++, n_fwd++) {
				fwd[n_fwd].host_addr = net->forwards[k].host_addr;
				fwd[n_fwd].host_port = f->ports ? f->ports[vm * f->port_stride + n_fwd] :
						       net->forwards[k].host_port;
				fwd[n_fwd].guest_port = net->forwards[k].guest_port;
			}
			nics[i].n_forwards = net->n_forwards;
			nics[i].unrestricted = net->unrestricted;
			break;
		}
	}
	/* seed http: a fresh token, its URL in the SMBIOS serial, where cloud-init looks */
	if (!install_cmdline && g->seed_http && nocloud_serial(f, w, vm, &serial, err) < 0)
		goto out;
	if (f->console_dir && f->console_here[n->host] &&
	    asprintf(&console, "%s/%s.log", f->console_dir, n->domain) < 0) {
		console = NULL;
		err_nomem(err);
		goto out;
	}
	if (f->channel_dir && asprintf(&channel, "%s/%s.agent", f->channel_dir, n->domain) < 0) {
		channel = NULL;
		err_nomem(err);
		goto out;
	}
	{
		char (*netnames)[IDENTITY_DOMAIN_NAME_MAX + 1] = calloc(g->n_nics + 1, sizeof(*netnames));
		struct domxml_domain d = {
			.type = mf_domain_type_to_string(m->domain_type),
			.name = n->domain, .uuid = n->uuid, .meta = &meta,
			.vcpus = g->cpus, .memory_kib = g->memory / 1024,
			.kernel = m->boot_kernel, .initrd = m->boot_initrd, .cmdline = m->boot_cmdline,
			.tcg_tb_cache_mib = m->tcg_tb_cache >> 20,
			.disk_pool = m->pool, .disk_volume = n->disk,
			/* a cloud-init VM's seed (or keys volume) for good, a
			 * kickstart VM's for its installer's boot only */
			.seed_pool = g->bootstrap == MF_BOOTSTRAP_CLOUD_INIT || install_cmdline ?
					     m->pool : NULL,
			.seed_volume = g->bootstrap == MF_BOOTSTRAP_CLOUD_INIT || install_cmdline ?
					       n->seed : NULL,
			.nics = nics, .n_nics = g->n_nics,
			.channel_path = channel, .console_log = console,
			.smbios_serial = serial,
		};

		/* a kickstart VM boots what was installed on its disk, not the fleet's boot: */
		if (g->bootstrap == MF_BOOTSTRAP_KICKSTART)
			d.kernel = d.initrd = d.cmdline = NULL;
		if (install_cmdline) {
			d.kernel = f->installer_kernel[f->recs->v[vm].host][v->group];
			d.initrd = f->installer_initrd[f->recs->v[vm].host][v->group];
			d.cmdline = install_cmdline;
			d.destroy_on_reboot = true;
		}

		if (!netnames) {
			err_nomem(err);
			goto out;
		}
		for (i = 0; i < g->n_nics; i++) {
			if (nics[i].kind != DOMXML_NIC_NETWORK)
				continue;
			if (identity_domain_name(m->fleet, nics[i].source, netnames[i],
						 sizeof(netnames[i]), err) < 0) {
				free(netnames);
				goto out;
			}
			nics[i].source = netnames[i];
		}
		xml = domxml_domain_format(&d, err);
		free(netnames);
	}
	if (!xml)
		goto out;
	*ret = steal_pointer(&xml);
	r = 0;
out:
	free(console);
	free(channel);
	free(serial);
	free(nics);
	free(fwd);
	return r;
}

/* What VM n was defined as, recorded with its next event. */
static void pending_spec(struct provision_worker *w, const struct vmrec *n, bool rebuilt)
{
	w->pending.has_spec = true;
	w->pending.spec = (struct store_vm_spec) {
		.domain = n->domain, .uuid = n->uuid, .config_hash = n->config_hash,
		.base_hash = n->base_hash, .rebuilt = rebuilt,
		.seeded = w->pending.seeded, .seed_size = w->pending.seed_size,
		.seed_mtime = w->pending.seed_mtime[0] ? w->pending.seed_mtime : NULL,
	};
}

/* Define VM vm's domain; ahead: the intent of what follows, recorded with the define's. */
static int define(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		  const struct vmrec *n, bool rebuilt, const char *ahead, struct muster_err *err)
{
	const struct manifest *m = f->m;
	const struct mf_vm *v = &m->vms[vm];
	char *xml = NULL;
	int r = -1;

	if (domain_xml(f, w, vm, n, NULL, &xml, err) < 0 ||
	    intent_ahead(f, w, vm, ahead, err, "intent: define domain '%s' (%s)", n->domain,
			 n->uuid) < 0 ||
	    hv_domain_define(w->hv, xml, validate_once(f, v->group), err) < 0)
		goto out;
	pending_spec(w, n, rebuilt);
	result(w, VM_STATE_DEFINED, "domain '%s'", n->domain);
	r = 0;
out:
	free(xml);
	return r;
}

/* Whether VM vm still has to be installed: a kickstart VM whose installer has not reported. */
static int needs_install(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
			 bool *ret, struct muster_err *err)
{
	const struct mf_group *g = manifest_vm_group(f->m, &f->m->vms[vm]);
	int64_t at = 0;

	*ret = false;
	if (g->bootstrap != MF_BOOTSTRAP_KICKSTART)
		return 0;
	if (store_vm_installed_at(w->st, f->m->fleet, f->m->vms[vm].name, &at, err) < 0)
		return -1;
	*ret = at == 0;
	return 0;
}

/* A kickstart VM's seed (its OEMDRV volume) written again, for an installer booted again. */
static int reseed(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		  const struct vmrec *n, struct muster_err *err)
{
	struct seed_work sw = { 0 };
	char seed_intent[512];
	int r = -1;

	if (seed_begin(f, vm, &sw, err) == 0) {
		fmt_cut(seed_intent, sizeof(seed_intent), "intent: seed '%s' (%s)", n->seed,
				sw.what);
		r = make_seed(f, w, vm, n, &sw, seed_intent, true, err);
	}
	seed_end(&sw);
	return r;
}

/*
 * Boot VM vm's installer once (its defined domain boots its disk): the
 * tree's kernel, with its seed volume, which holds its kickstart, as a
 * CD-ROM (installer_cmdline). seeded: the seed was just written (else it
 * is written again: the kickstart may have changed, or an older muster
 * made no such volume). A fresh token opens the window in which the
 * installer's report is taken; nobody is given the token itself, as
 * nothing is fetched with it. One that runs already (a crash, a rerun
 * during the install) is left to finish, with its token.
 */
static int boot_installer(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
			  const struct vmrec *n, bool seeded, struct muster_err *err)
{
	const struct manifest *m = f->m;
	const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
	const char *name = m->vms[vm].name;
	char token[TOKEN_LEN + 1], *cmdline = NULL, *xml = NULL;
	int active, r = -1;

	active = hv_domain_active(w->hv, n->domain, err);
	if (active < 0)
		return -1;
	if (active) {
		result(w, VM_STATE_STARTED, PROVISION_INSTALLER_RUNNING);
		return 0;
	}
	if (!seeded && reseed(f, w, vm, n, err) < 0)
		return -1;
	if (flush(f, w, vm, NULL, NULL, err) < 0 ||
	    token_issue(w->st, m->fleet, name, TOKEN_TTL_DEFAULT_S, token, err) < 0)
		return -1;
	explicit_bzero(token, sizeof(token));
	if (installer_cmdline(g->kickstart.install_tree, &cmdline, err) < 0 ||
	    domain_xml(f, w, vm, n, cmdline, &xml, err) < 0 ||
	    intent_ahead(f, w, vm, NULL, err, "intent: boot the installer of '%s' from '%s'", n->domain,
		   g->kickstart.install_tree) < 0 ||
	    hv_domain_boot_xml(w->hv, n->domain, xml, err) < 0)
		goto out;
	result(w, VM_STATE_STARTED, PROVISION_INSTALLER_RUNNING);
	r = 0;
out:
	free(cmdline);
	free(xml);
	return r;
}

/*
 * Read VM vm's agent channel from its domain, just started, into
 * f->agent_paths[vm]: on the worker, with the domain's handle at hand,
 * rather than after the batch. Nothing is kept when it cannot be read: the
 * readiness wait asks again.
 */
static void agent_path(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		       const struct vmrec *n)
{
	struct muster_err e = { 0 };
	char *xml = NULL, *path = NULL;

	if (!f->agent_paths)
		return;
	free(f->agent_paths[vm]);
	f->agent_paths[vm] = NULL;
	if (hv_domain_xml(w->hv, n->domain, &xml, &e) < 0) {
		log_debug("VM '%s': cannot read its domain: %s", f->m->vms[vm].name, e.msg);
		return;
	}
	/* none: "" (or NULL when out of memory: asked again) */
	f->agent_paths[vm] = domxml_channel_path(xml, AGENT_PROTO_PORT_NAME, &path, &e) == 0 ?
				     path : strdup("");
	free(xml);
}

/* The intent of starting a domain (not an installer), into buf. */
static void start_intent(const struct vmrec *n, char *buf, size_t len)
{
	fmt_cut(buf, len, "intent: start '%s'", n->domain);
}

/* Start VM vm's domain (not an installer). */
static int start(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		 const struct vmrec *n, struct muster_err *err)
{
	char what[512];
	int r;

	start_intent(n, what, sizeof(what));
	if (intent_ahead(f, w, vm, NULL, err, "%s", what) < 0 ||
	    (r = hv_domain_start(w->hv, n->domain, err)) < 0)
		return -1;
	/* a running domain redefined runs as it was until its next cold start */
	result(w, VM_STATE_STARTED, r ? "running already: what it is defined as now takes "
	       "effect at its next cold start (apply --restart)" : "running");
	agent_path(f, w, vm, n);
	return 0;
}

/*
 * Define and start VM vm; the intents of both recorded before the define
 * (not an installer's). seeded: its seed was just written (else an
 * installer's is written again before it boots).
 */
static int define_start(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
			const struct vmrec *n, bool rebuilt, bool seeded, struct muster_err *err)
{
	char what[512];
	bool install;

	if (needs_install(f, w, vm, &install, err) < 0)
		return -1;
	if (!install)
		start_intent(n, what, sizeof(what));
	if (define(f, w, vm, n, rebuilt, install ? NULL : what, err) < 0 ||
	    (install ? boot_installer(f, w, vm, n, seeded, err) : start(f, w, vm, n, err)) < 0)
		return -1;
	return 0;
}

/*
 * A cold restart: the guest shut down (pulled after f->stop_timeout_ms),
 * then the domain defined as wanted and started, so that what runs is its
 * definition (a reboot keeps the old one: the same QEMU process).
 */
static int cold_restart(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
			const struct vmrec *n, struct muster_err *err)
{
	bool forced = false;

	if (intent_ahead(f, w, vm, NULL, err, "intent: cold restart '%s' (shut down, start)",
			 n->domain) < 0 ||
	    hv_domain_shutdown_wait(w->hv, n->domain, f->stop_timeout_ms, true, &forced, err) < 0)
		return -1;
	if (forced)
		result(w, VM_STATE_DEFINED, "off, forced: it did not shut down within %u s",
		       f->stop_timeout_ms / 1000);
	else
		result(w, VM_STATE_DEFINED, "shut down for a cold restart");
	return define_start(f, w, vm, n, false, false, err);
}

/*
 * New host keys for VM vm, once its old disk is gone (rebuild
 * --rotate-keys): written over its key files, then recorded with its next
 * step. A crash before they are recorded leaves the VM rebuilding: the
 * rerun rebuilds it with the keys its files then hold, and records those.
 */
static int rotate_keys(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		       struct muster_err *err)
{
	const struct manifest *m = f->m;
	const char *name = m->vms[vm].name;
	size_t nt = m->n_host_key_types, j;
	struct keypair *fresh = NULL;

	if (keystore_host_keys(f->state_dir, NULL, m->fleet, &name, NULL, 1, f->key_types, nt,
			       KEYSTORE_ROTATE | KEYSTORE_UNRECORDED | KEYSTORE_THIS_THREAD, &fresh,
			       err) < 0)
		return -1;
	for (j = 0; j < nt; j++) {
		keypair_release(&f->keys[vm * nt + j]);
		f->keys[vm * nt + j] = fresh[j];
	}
	free(fresh);
	/* recorded with the next step, as a VM's first keys are */
	w->pending.group = manifest_vm_group(m, &m->vms[vm])->name;
	return 0;
}

/* Undo a VM's disk, seed and domain, for a rebuild. */
static int teardown(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		    const struct vmrec *n, struct muster_err *err)
{
	if (record(f, w, vm, VM_STATE_REBUILDING, err, "intent: remove domain '%s', '%s', '%s'",
		   n->domain, n->disk, n->seed) < 0 ||
	    hv_domain_remove(w->hv, n->domain, err) < 0 ||
	    hv_volume_delete(w->hv, f->m->pool, n->disk, err) < 0 ||
	    hv_volume_delete(w->hv, f->m->pool, n->seed, err) < 0)
		return -1;
	return 0;
}

int provision_vm(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		 enum plan_action action, struct muster_err *err)
{
	const struct manifest *m = f->m;
	const char *name = m->vms[vm].name;
	const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
	const struct vmrec *n = &f->recs->v[vm];
	int r = -1;

	/* the VM's row, recorded with its first event */
	w->pending = (struct provision_pending) {
		.group = g->name, .vm_id = f->vm_ids ? f->vm_ids[vm] : 0,
	};
	switch (action) {
	case PLAN_REBUILD:
		if (teardown(f, w, vm, n, err) < 0 ||
		    (f->rotate && f->rotate[vm] && rotate_keys(f, w, vm, err) < 0))
			goto fail;
		rebuild_delay();
		/* fall through */
	case PLAN_CREATE: {
		struct seed_work sw = { 0 };
		char seed_intent[512];
		bool made;

		/* the seed's image is written while the disk is cloned; the
		 * intents of both are recorded before the clone */
		made = seed_begin(f, vm, &sw, err) == 0;
		if (made)
			fmt_cut(seed_intent, sizeof(seed_intent), "intent: seed '%s' (%s)",
					n->seed, sw.what);
		made = made && clone_disk(f, w, vm, n, seed_intent, err) == 0 &&
		       make_seed(f, w, vm, n, &sw, seed_intent, false, err) == 0;
		seed_end(&sw);
		if (!made || define_start(f, w, vm, n, action == PLAN_REBUILD, true, err) < 0)
			goto fail;
		break;
	}
	case PLAN_UPDATE:
		if (define_start(f, w, vm, n, false, false, err) < 0)
			goto fail;
		break;
	case PLAN_RESTART:
		if (cold_restart(f, w, vm, n, err) < 0)
			goto fail;
		break;
	case PLAN_KEEP: {
		bool install;

		/* an installer that has not reported is booted again if it stopped */
		if (needs_install(f, w, vm, &install, err) < 0 ||
		    (install && boot_installer(f, w, vm, n, false, err) < 0))
			goto fail;
		/* adopt what runs as wanted: record its spec and its state */
		if (!install && hv_domain_start(w->hv, n->domain, err) < 0)
			goto fail;
		pending_spec(w, n, false);
		if (!install)
			result(w, VM_STATE_STARTED, "found running as wanted");
		break;
	}
	case PLAN_DESTROY:
	case PLAN_CONFLICT:
	case PLAN_UNKNOWN:
	case PLAN_ACTION_MAX:
		return err_set(err, MUSTER_E_INVALID, "VM '%s': nothing to provision for %s", name,
			       plan_action_to_string(action));
	}
	if (flush(f, w, vm, NULL, NULL, err) < 0)
		goto fail;
	return 0;
fail:
	{
		struct muster_err ignored;

		/* what was done is recorded before the failure */
		if (flush(f, w, vm, NULL, NULL, &ignored) < 0)
			log_debug("VM '%s': cannot record its last step: %s", name, ignored.msg);
		w->pending = (struct provision_pending) { 0 };
	}
	err_prefix(err, "VM '%s'", name);
	return r;
}

void provision_failed(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		      const struct muster_err *why)
{
	const char *name = f->m->vms[vm].name;
	struct muster_err ignored;

	/* the reason stays with the VM; a store that failed cannot take it */
	if (store_vm_ensure(w->st, f->m->fleet, name, manifest_vm_group(f->m, &f->m->vms[vm])->name,
			    &ignored) < 0 ||
	    store_vm_transition(w->st, f->m->fleet, name, VM_STATE_FAILED, why->msg, f->run_id,
				&ignored) < 0)
		log_debug("VM '%s': cannot record the failure: %s", name, ignored.msg);
}

int provision_destroy(const struct manifest *m, struct hv *hv, struct store *st, const char *vm,
		      const char *group, int64_t run_id, struct muster_err *err)
{
	char dom[IDENTITY_DOMAIN_NAME_MAX + 1], disk[IDENTITY_DOMAIN_NAME_MAX + 16],
	     seed[IDENTITY_DOMAIN_NAME_MAX + 16];

	if (identity_domain_name(m->fleet, vm, dom, sizeof(dom), err) < 0 ||
	    identity_volume_name(m->fleet, vm, disk, sizeof(disk), err) < 0 ||
	    identity_seed_volume_name(m->fleet, vm, seed, sizeof(seed), err) < 0 ||
	    store_vm_ensure(st, m->fleet, vm, group, err) < 0 ||
	    store_vm_transition(st, m->fleet, vm, VM_STATE_DESTROYING, "intent: destroy", run_id,
				err) < 0 ||
	    hv_domain_remove(hv, dom, err) < 0 || hv_volume_delete(hv, m->pool, disk, err) < 0 ||
	    hv_volume_delete(hv, m->pool, seed, err) < 0 ||
	    store_vm_transition(st, m->fleet, vm, VM_STATE_DESTROYED, "destroyed", run_id, err) < 0) {
		err_prefix(err, "VM '%s': cannot destroy", vm);
		return -1;
	}
	return 0;
}
