/*
 * cmd_apply.c: `muster apply FILE [--prune]`: bring the fleet to what the
 * manifest says, in batches on parallel workers, every step recorded.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_TAG "apply"
#include "channel.h"
#include "cmd.h"
#include "domxml.h"
#include "executor.h"
#include "fetch.h"
#include "forwards.h"
#include "identity.h"
#include "installer.h"
#include "keymaker.h"
#include "keystore.h"
#include "log.h"
#include "progress.h"
#include "provision.h"
#include "runlock.h"
#include "statedir.h"
#include "vmseed.h"

enum { OPT_PRUNE = 1000 };

static int apply_option(int opt, const char *arg, void *userdata)
{
	(void) arg;
	if (opt != OPT_PRUNE)
		return -1;
	*(bool *) userdata = true;
	return 0;
}

/* What the workers share, and what the run collects. */
struct apply_run {
	const struct cli *cli;
	struct cmd_hosts *hosts;	/* the calling thread's connections, for the ready wait */
	const size_t *host_of;		/* per VM (manifest index): its host */
	const char *state_dir;
	struct store *st;
	struct store_steps *steps;	/* the workers' steps, committed together */
	struct provision_fleet fleet;
	size_t *vm;			/* per work item: the VM's index */
	enum plan_action *action;	/* per work item */
	bool *resume;			/* per work item: running, recorded started or booted
					   but never ready (a run cut short): only waited for */
	size_t *failed;			/* the failed items' VMs */
	size_t n_failed;
	size_t n_items, finished;
	size_t resumed;			/* resume items that came through (kept, not started) */
	size_t *item_of;		/* per VM (manifest index): its work item, or SIZE_MAX */
	struct progress *progress;
	struct keymaker *keymaker;	/* the items' host keys, item by item */
};

/* A worker: its own store connection (its steps go through the run's
 * shared one) and its own connection to each host. */
struct apply_worker {
	struct provision_worker pw;
	struct hv **hv;			/* per host, opened on first use */
	struct apply_run *run;
};

static void worker_free(void *wp)
{
	struct apply_worker *w = wp;
	size_t h;

	for (h = 0; w->hv && h < w->run->hosts->n; h++)
		hv_free(w->hv[h]);
	free(w->hv);
	store_free(w->pw.st);
	free(w);
}

/* The connection to the host of the first VM is opened now: a host that
 * cannot be reached fails the worker, not each VM. */
static void *worker_new(void *shared, struct muster_err *err)
{
	struct apply_worker *w = calloc(1, sizeof(*w));

	if (!w) {
		err_nomem(err);
		return NULL;
	}
	w->run = shared;
	w->pw.steps = w->run->steps;
	w->hv = calloc(w->run->hosts->n, sizeof(*w->hv));
	if (!w->hv || store_open(w->run->state_dir, &w->pw.st, err) < 0 ||
	    (w->run->n_items &&
	     hv_open(w->run->hosts->h[w->run->host_of[w->run->vm[0]]].uri,
		     &w->hv[w->run->host_of[w->run->vm[0]]], err) < 0)) {
		if (!w->hv)
			err_nomem(err);
		worker_free(w);
		return NULL;
	}
	return w;
}

#define ATTEMPTS 3

/* One VM; a transient failure is retried on a new connection, after 0.5 s, then 1 s. */
static int work(void *wp, size_t i, struct muster_err *err)
{
	struct apply_worker *w = wp;
	struct apply_run *run = w->run;
	size_t host = run->host_of[run->vm[i]];
	unsigned attempt;

	/*
	 * Keys that cannot be made fail the item, not the VM: nothing of it was
	 * touched, and a VM recorded failed is rebuilt by the next run (its
	 * state stays as it was; the run reports the failure).
	 */
	if (keymaker_wait(run->keymaker, i, err) < 0) {
		err_prefix(err, "VM '%s': its host keys", run->fleet.m->vms[run->vm[i]].name);
		return -1;
	}
	if (run->resume[i])
		return 0;	/* nothing to make: its batch waits for its agent */
	for (attempt = 1;; attempt++) {
		struct timespec pause = { 0, 500L * 1000 * 1000 };

		err_clear(err);
		/* a reconnection that failed for an earlier VM is tried again */
		if (!w->hv[host] && hv_open(run->hosts->h[host].uri, &w->hv[host], err) < 0) {
			w->hv[host] = NULL;
			err_prefix(err, "VM '%s'", run->fleet.m->vms[run->vm[i]].name);
			break;
		}
		w->pw.hv = w->hv[host];
		if (provision_vm(&run->fleet, &w->pw, run->vm[i], run->action[i], err) == 0)
			return 0;
		if (!err->transient || attempt == ATTEMPTS)
			break;
		log_info("%s (attempt %u of %d, retrying)", err->msg, attempt, ATTEMPTS);
		if (attempt > 1)
			pause = (struct timespec) { 1, 0 };
		nanosleep(&pause, NULL);
		hv_free(w->hv[host]);
		w->hv[host] = w->pw.hv = NULL;
	}
	provision_failed(&run->fleet, &w->pw, run->vm[i], err);
	return -1;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double) (t.tv_sec - t0->tv_sec) + (double) (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Serialised by the executor; what succeeded was shown as its transitions were recorded. */
static void outcome(void *shared, size_t i, bool ok, const char *why)
{
	struct apply_run *run = shared;

	run->finished++;
	if (ok) {
		run->resumed += run->resume[i];
		return;
	}
	run->failed[run->n_failed++] = run->vm[i];
	/* every failure names its VM: the executor's own (a time-out) do not */
	if (!why || strncmp(why, "VM '", 4) != 0) {
		char named[sizeof(((struct muster_err *) 0)->msg) + 96];

		(void) snprintf(named, sizeof(named), "VM '%s': %s",
				run->fleet.m->vms[run->vm[i]].name, why ? why : "failed");
		progress_failed(run->progress, i, named);
		return;
	}
	progress_failed(run->progress, i, why);
}

/* A worker's transition, recorded (provision_fleet.on_state). */
static void on_state(void *userdata, size_t vm, enum vm_state to)
{
	struct apply_run *run = userdata;

	progress_state(run->progress, run->item_of[vm], to);
}

/* ---- readiness: the agent's reports --------------------------------------------- */

struct ready_wait {
	struct apply_run *run;
	const size_t *items;		/* the batch's items that were started */
	bool *done;			/* per item: ready, failed or not waited for */
	bool *booted;
	bool *installing;		/* per item: its installer runs (kickstart) */
	size_t remaining;
	void (*failed)(void *exec, size_t i, const char *why);
	void *exec;
	struct channel *ch;
};

static void ready_fail(struct ready_wait *rw, size_t k, const char *fmt, ...) PRINTF_LIKE(3, 4);

static void ready_fail(struct ready_wait *rw, size_t k, const char *fmt, ...)
{
	struct apply_run *run = rw->run;
	size_t vm = run->vm[rw->items[k]];
	struct provision_worker w = { .hv = run->hosts->hv[run->host_of[vm]], .st = run->st };
	struct muster_err why = { 0 };
	char detail[sizeof(why.msg)];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* through err_set, as every message: what a guest said is shown (show.h) */
	(void) err_set(&why, MUSTER_E_HV, "VM '%s': %s", run->fleet.m->vms[vm].name, detail);
	provision_failed(&run->fleet, &w, vm, &why);
	rw->failed(rw->exec, rw->items[k], why.msg);
	rw->done[k] = true;
	rw->remaining--;
}

/* Every pregenerated host key's fingerprint is among what the guest reports. */
static bool keys_match(const struct apply_run *run, size_t vm, const struct channel_msg *msg)
{
	size_t t, j, nt = run->fleet.m->n_host_key_types;

	for (t = 0; t < nt; t++) {
		const char *want = run->fleet.keys[vm * nt + t].fingerprint;
		bool seen = false;

		for (j = 0; j < msg->n_hostkeys && !seen; j++)
			seen = streq(msg->hostkeys[j], want);
		if (!seen)
			return false;
	}
	return nt > 0;
}

/* A message from the agent of the batch's item k (the VM its socket belongs to). */
static void on_agent(void *userdata, size_t k, const struct channel_msg *msg)
{
	struct ready_wait *rw = userdata;
	struct apply_run *run = rw->run;
	const struct manifest *m = run->fleet.m;
	size_t vm = run->vm[rw->items[k]];
	struct muster_err err = { 0 };

	if (rw->done[k])
		return;
	switch (msg->kind) {
	case CHANNEL_HELLO:
	case CHANNEL_PHASE:
	case CHANNEL_HEARTBEAT:
		if (!rw->booted[k] &&
		    store_vm_transition(run->st, m->fleet, m->vms[vm].name, VM_STATE_BOOTED,
					msg->kind == CHANNEL_PHASE && msg->n_addrs ? msg->addrs[0] :
					"agent connected", run->fleet.run_id, &err) == 0) {
			rw->booted[k] = true;
			progress_state(run->progress, rw->items[k], VM_STATE_BOOTED);
		}
		break;
	case CHANNEL_READY:
		if (!keys_match(run, vm, msg)) {
			ready_fail(rw, k, "its SSH host keys are not the ones muster made for it: "
				   "the seed was not applied, or something else answered");
			break;
		}
		if (store_vm_transition(run->st, m->fleet, m->vms[vm].name, VM_STATE_READY,
					"ready: host keys verified", run->fleet.run_id, &err) < 0) {
			ready_fail(rw, k, "%s", err.msg);
			break;
		}
		rw->done[k] = true;
		rw->remaining--;
		progress_state(run->progress, rw->items[k], VM_STATE_READY);
		break;
	case CHANNEL_ERROR:
		ready_fail(rw, k, "%s failed: %s", msg->phase ? msg->phase : "bootstrap",
			   msg->detail ? msg->detail : "no detail");
		break;
	case CHANNEL_KIND_MAX:
		break;
	}
	if (rw->done[k])
		channel_remove(rw->ch, k);
	if (rw->remaining == 0)
		channel_stop(rw->ch);
}

/* Listen to item k's agent: 0, or 1 when its domain has no channel (done), or -1 with err. */
static int listen_agent(struct ready_wait *rw, size_t k, struct muster_err *err)
{
	struct apply_run *run = rw->run;
	const struct manifest *m = run->fleet.m;
	size_t vm = run->vm[rw->items[k]];
	char dom[IDENTITY_DOMAIN_NAME_MAX + 1], *xml = NULL, *path = NULL;
	struct hv *hv = NULL;
	int r = -1;

	/* read by the worker that started it (provision.h), once */
	path = steal_pointer(&run->fleet.agent_paths[vm]);
	if (path) {
		r = *path ? channel_add(rw->ch, k, path, err) : 1;
		free(path);
		return r;
	}
	if (identity_domain_name(m->fleet, m->vms[vm].name, dom, sizeof(dom), err) < 0 ||
	    cmd_hosts_hv(run->hosts, run->host_of[vm], &hv, err) < 0 ||
	    hv_domain_xml(hv, dom, &xml, err) < 0)
		goto out;
	if (domxml_channel_path(xml, DOMXML_AGENT_CHANNEL, &path, err) < 0) {
		r = 1;
		goto out;
	}
	r = channel_add(rw->ch, k, path, err);
out:
	free(xml);
	free(path);
	return r;
}

/*
 * Item k's installer: still running, or stopped. Stopped after its report
 * (POST /phone-home, recorded by muster serve), the VM boots its disk and
 * its agent is listened to; stopped without one, the VM failed.
 */
static void install_poll(struct ready_wait *rw, size_t k)
{
	struct apply_run *run = rw->run;
	const struct manifest *m = run->fleet.m;
	size_t vm = run->vm[rw->items[k]];
	const char *name = m->vms[vm].name;
	char dom[IDENTITY_DOMAIN_NAME_MAX + 1];
	struct muster_err err = { 0 };
	struct hv *hv = NULL;
	int64_t at = 0;
	int active, r;

	if (identity_domain_name(m->fleet, name, dom, sizeof(dom), &err) < 0 ||
	    cmd_hosts_hv(run->hosts, run->host_of[vm], &hv, &err) < 0 ||
	    (active = hv_domain_active(hv, dom, &err)) < 0) {
		ready_fail(rw, k, "%s", err.msg);
		return;
	}
	if (active)
		return;
	rw->installing[k] = false;
	if (store_vm_installed_at(run->st, m->fleet, name, &at, &err) < 0) {
		ready_fail(rw, k, "%s", err.msg);
		return;
	}
	if (!at) {
		ready_fail(rw, k, "its installer stopped without reporting the install done "
			   "(its serial console shows why)");
		return;
	}
	if (store_vm_note(run->st, m->fleet, name, "intent: start the installed system",
			  run->fleet.run_id, &err) < 0 ||
	    hv_domain_start(hv, dom, &err) < 0 ||
	    store_vm_transition(run->st, m->fleet, name, VM_STATE_STARTED,
				"installed: running its own disk", run->fleet.run_id, &err) < 0) {
		ready_fail(rw, k, "%s", err.msg);
		return;
	}
	progress_state(run->progress, rw->items[k], VM_STATE_STARTED);
	r = listen_agent(rw, k, &err);
	if (r < 0) {
		ready_fail(rw, k, "%s", err.msg);
	} else if (r > 0) {
		rw->done[k] = true;	/* no channel: done when it runs */
		rw->remaining--;
	}
}

/*
 * The executor's ready hook: listen on the batch's agent channels until each
 * VM reports ready with the host keys muster made for it, or ready_timeout.
 * A domain whose driver gives it no channel socket (libvirt's test driver)
 * is done when it runs. A kickstart VM's installer is watched until it
 * stops (install_poll); the VM then boots its disk.
 */
static void wait_ready(void *shared, const size_t *items, size_t n,
		       void (*failed)(void *exec, size_t i, const char *why), void *exec)
{
	struct apply_run *run = shared;
	const struct manifest *m = run->fleet.m;
	struct ready_wait rw = { .run = run, .items = items, .failed = failed, .exec = exec };
	struct muster_err err = { 0 };
	struct timespec start;
	size_t k;

	rw.done = calloc(n + 1, sizeof(*rw.done));
	rw.booted = calloc(n + 1, sizeof(*rw.booted));
	rw.installing = calloc(n + 1, sizeof(*rw.installing));
	if (!rw.done || !rw.booted || !rw.installing || channel_new(on_agent, &rw, &rw.ch, &err) < 0) {
		log_warn("cannot wait for the agents: %s", err.msg[0] ? err.msg : "out of memory");
		goto out;
	}
	for (k = 0; k < n; k++) {
		size_t vm = run->vm[items[k]];
		const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
		int64_t installed = 1;

		rw.done[k] = true;
		if (g->bootstrap == MF_BOOTSTRAP_KICKSTART &&
		    store_vm_installed_at(run->st, m->fleet, m->vms[vm].name, &installed, &err) < 0) {
			rw.done[k] = false;
			rw.remaining++;
			ready_fail(&rw, k, "%s", err.msg);
			continue;
		}
		if (!installed) {
			rw.installing[k] = true;
		} else if ((run->action[items[k]] == PLAN_KEEP && !run->resume[items[k]]) ||
			   listen_agent(&rw, k, &err) != 0) {
			log_debug("VM '%s': not waiting for its agent: %s", m->vms[vm].name,
				  err.msg[0] ? err.msg : "no channel");
			continue;
		}
		rw.done[k] = false;
		rw.remaining++;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (rw.remaining > 0) {
		double left = (double) m->ready_timeout - seconds_since(&start);

		if (left <= 0)
			break;
		if (channel_run(rw.ch, left > 1 ? 1000 : (int) (left * 1000) + 1, &err) < 0) {
			log_warn("listening to the agents: %s", err.msg);
			break;
		}
		for (k = 0; k < n; k++)
			if (rw.installing[k] && !rw.done[k])
				install_poll(&rw, k);
		progress_tick(run->progress);
	}
	for (k = 0; k < n; k++)
		if (!rw.done[k])
			ready_fail(&rw, k, rw.installing[k] ?
				   "its installer did not finish within %us" :
				   "no ready report from its agent within %us", m->ready_timeout);
out:
	channel_free(rw.ch);
	free(rw.done);
	free(rw.booted);
	free(rw.installing);
}

/* ---- set-up: pool, base images, networks -------------------------------------- */

static void fetch_progress(void *userdata, unsigned long long done, unsigned long long total)
{
	const char *name = userdata;

	if (total)
		fprintf(stderr, "\rimage '%s': %llu of %llu MiB", name, done >> 20, total >> 20);
	else
		fprintf(stderr, "\rimage '%s': %llu MiB", name, done >> 20);
	if (total && done >= total)
		fputc('\n', stderr);
}

/* The local file holding image im: its path (relative to the manifest) or the fetched copy. */
static int image_source(const struct cli *cli, const struct manifest *m, const struct mf_image *im,
			const char *state_dir, char **ret, struct muster_err *err)
{
	if (im->url) {
		struct fetch_opts o = { .progress = isatty(STDERR_FILENO) && !cli->quiet ?
						    fetch_progress : NULL,
					.userdata = (void *) im->name };
		char *cache;
		int r;

		if (asprintf(&cache, "%s/cache", state_dir) < 0)
			return err_nomem(err);
		r = fetch_image(im->url, im->sha256, cache, &o, ret, err);
		free(cache);
		return r;
	}
	if (im->path[0] == '/') {
		*ret = strdup(im->path);
	} else {
		char *copy = strdup(m->file);

		if (!copy || asprintf(ret, "%s/%s", dirname(copy), im->path) < 0)
			*ret = NULL;
		free(copy);
	}
	return *ret ? 0 : err_nomem(err);
}

/* Volume name of the pool: 1 with *ret_path (caller frees) when it exists, 0 when not, -1. */
static int volume_path(struct hv *hv, const char *pool, const char *name, char **ret_path,
		       struct muster_err *err)
{
	struct hv_volume have = { 0 };

	*ret_path = NULL;
	if (hv_volume_get(hv, pool, name, &have, err) < 0)
		return -1;
	if (have.exists)
		*ret_path = steal_pointer(&have.path);
	hv_volume_release(&have);
	return *ret_path ? 1 : 0;
}

/*
 * Make volume name of the pool (absent: volume_path said so) from the file
 * src (what, for messages): created, then uploaded. *ret_path: its path on
 * the host (caller frees).
 */
static int volume_from_file(struct hv *hv, const char *pool, const char *name, const char *fmt,
			    const char *what, const char *src, char **ret_path,
			    struct muster_err *err)
{
	struct domxml_volume v = { .name = name, .format = fmt };
	struct stat st;
	char *xml;
	int up, r;

	if (stat(src, &st) < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "%s: cannot read '%s'", what, src);
	v.capacity = st.st_size > 0 ? (unsigned long long) st.st_size : 1;
	xml = domxml_volume_format(&v, err);
	up = !xml || hv_volume_create(hv, pool, name, xml, err) < 0 ? -1 :
	     hv_volume_upload_file(hv, pool, name, src, err);
	free(xml);
	if (up < 0 || (r = volume_path(hv, pool, name, ret_path, err)) < 0) {
		err_prefix(err, "%s", what);
		return -1;
	}
	if (r == 0)
		return err_set(err, MUSTER_E_HV, "%s: volume '%s' is not there after its upload",
			       what, name);
	log_info("%s is volume '%s'%s", what, name,
		 up > 0 ? " (created empty: the driver cannot upload)" : "");
	return 0;
}

/* Register each base image the fleet uses as a volume of the pool. */
static int images_ensure(const struct cli *cli, const struct manifest *m, struct hv *hv,
			 const char *state_dir, char **paths, struct muster_err *err)
{
	size_t i, g;

	for (i = 0; i < m->n_images; i++) {
		const struct mf_image *im = &m->images[i];
		const char *fmt = mf_format_to_string(im->format);
		char name[IDENTITY_DOMAIN_NAME_MAX + 32], what[128], *src = NULL;
		bool used = false;
		int r;

		for (g = 0; g < m->n_groups; g++)
			used |= m->groups[g].has_image && m->groups[g].image == i &&
				m->groups[g].n_vms && m->groups[g].bootstrap != MF_BOOTSTRAP_KICKSTART;
		if (!used)
			continue;
		if (snprintf(name, sizeof(name), "%s-img-%s.%s", m->fleet, im->name, fmt) >=
		    (int) sizeof(name))
			return err_set(err, MUSTER_E_INVALID, "image '%s': name too long", im->name);
		(void) snprintf(what, sizeof(what), "image '%s'", im->name);
		/* the image is fetched only when the host has no volume of it */
		r = volume_path(hv, m->pool, name, &paths[i], err);
		if (r != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		if (image_source(cli, m, im, state_dir, &src, err) < 0)
			return -1;
		r = volume_from_file(hv, m->pool, name, fmt, what, src, &paths[i], err);
		free(src);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* ---- kickstart installers ------------------------------------------------------ */

/* A kickstart group's installer, fetched: local files and their digests. */
struct installer_local {
	char *kernel, *initrd;
	char kernel_sha256[65], initrd_sha256[65];
};

static void installers_release(struct installer_local *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].kernel);
		free(v[i].initrd);
	}
	free(v);
}

static bool installs(const struct mf_group *g)
{
	return g->bootstrap == MF_BOOTSTRAP_KICKSTART && g->n_vms;
}

/* One file of an install tree into the cache: checked against sha256 when the tree gives it. */
static int installer_file(const struct cli *cli, const char *cache, const char *url,
			  char sha256[65], char **ret, struct muster_err *err)
{
	struct fetch_opts o = { .progress = isatty(STDERR_FILENO) && !cli->quiet ?
					    fetch_progress : NULL,
				.userdata = (void *) url };

	if (fetch_image(url, sha256[0] ? sha256 : NULL, cache, &o, ret, err) < 0)
		return -1;
	return sha256[0] ? 0 : fetch_file_sha256(*ret, sha256, err);
}

/* Fetch the installer of every kickstart group that has VMs (each tree once): loc per group. */
static int installers_fetch(const struct cli *cli, const struct manifest *m,
			    const char *state_dir, struct installer_local *loc,
			    struct muster_err *err)
{
	char *cache = NULL;
	size_t g, h;
	int r = -1;

	if (asprintf(&cache, "%s/cache", state_dir) < 0)
		return err_nomem(err);
	for (g = 0; g < m->n_groups; g++) {
		const struct mf_group *gr = &m->groups[g];
		struct installer_boot b = { 0 };
		bool unsigned_tree;

		if (!installs(gr))
			continue;
		for (h = 0; h < g; h++)
			if (installs(&m->groups[h]) &&
			    streq(m->groups[h].kickstart.install_tree, gr->kickstart.install_tree))
				break;
		if (h < g) {
			loc[g] = loc[h];
			loc[g].kernel = strdup(loc[h].kernel);
			loc[g].initrd = strdup(loc[h].initrd);
			if (!loc[g].kernel || !loc[g].initrd) {
				err_nomem(err);
				goto out;
			}
			continue;
		}
		if (installer_locate(gr->kickstart.install_tree, "x86_64", &b, err) < 0)
			goto out;
		memcpy(loc[g].kernel_sha256, b.kernel_sha256, 65);
		memcpy(loc[g].initrd_sha256, b.initrd_sha256, 65);
		unsigned_tree = !b.kernel_sha256[0] || !b.initrd_sha256[0];
		r = installer_file(cli, cache, b.kernel_url, loc[g].kernel_sha256, &loc[g].kernel,
				   err) < 0 ||
		    installer_file(cli, cache, b.initrd_url, loc[g].initrd_sha256, &loc[g].initrd,
				   err) < 0 ? -1 : 0;
		installer_boot_release(&b);
		if (r < 0) {
			err_prefix(err, "group '%s': the installer", gr->name);
			goto out;
		}
		r = -1;
		if (unsigned_tree)
			log_warn("install tree '%s' lists no SHA-256 of its kernel and initrd in "
				 ".treeinfo: they are not verified", gr->kickstart.install_tree);
	}
	r = 0;
out:
	free(cache);
	return r;
}

/*
 * The installers as volumes of a host's pool (<fleet>-installer-<digest>.kernel
 * and .initrd, so a tree that changes gets new ones): their paths per group.
 */
static int installers_ensure(const struct manifest *m, struct hv *hv,
			     const struct installer_local *loc, char **kernels, char **initrds,
			     struct muster_err *err)
{
	size_t g;

	for (g = 0; g < m->n_groups; g++) {
		const char *const part[2] = { "kernel", "initrd" };
		const char *const sum[2] = { loc[g].kernel_sha256, loc[g].initrd_sha256 };
		const char *const src[2] = { loc[g].kernel, loc[g].initrd };
		char **const out[2] = { &kernels[g], &initrds[g] };
		size_t k;
		int r;

		if (!installs(&m->groups[g]))
			continue;
		for (k = 0; k < 2; k++) {
			char name[IDENTITY_DOMAIN_NAME_MAX + 48], what[96];

			(void) snprintf(what, sizeof(what), "the installer's %s of group '%s'", part[k],
					m->groups[g].name);
			if (snprintf(name, sizeof(name), "%s-installer-%.16s.%s", m->fleet, sum[k],
				     part[k]) >= (int) sizeof(name))
				return err_set(err, MUSTER_E_INVALID, "%s: name too long", what);
			r = volume_path(hv, m->pool, name, out[k], err);
			if (r < 0 ||
			    (r == 0 && volume_from_file(hv, m->pool, name, "raw", what, src[k], out[k],
							err) < 0))
				return -1;
		}
	}
	return 0;
}

/* What apply needs to install kickstart VMs, checked before anything is made. */
static int installers_check(const struct manifest *m, struct muster_err *err)
{
	size_t g;

	for (g = 0; g < m->n_groups; g++) {
		const struct mf_group *gr = &m->groups[g];

		if (!installs(gr))
			continue;
		if (!gr->kickstart.install_tree)
			return err_set(err, MUSTER_E_INVALID,
				       "group '%s': a kickstart group needs kickstart.install_tree: "
				       "apply boots its installer from it", gr->name);
		if (!m->endpoint)
			return err_set(err, MUSTER_E_INVALID,
				       "group '%s': a kickstart group needs the fleet's endpoint: "
				       "its installer fetches the kickstart from `muster serve` there",
				       gr->name);
	}
	return 0;
}

static bool network_matches(const char *live, void *userdata)
{
	bool same = false;

	return domxml_network_matches(live, userdata, &same, NULL) == 0 && same;
}

static bool host_eq(const struct domxml_dhcp_host *a, const struct domxml_dhcp_host *b)
{
	return a->mac && b->mac && a->ip && b->ip && strcasecmp(a->mac, b->mac) == 0 &&
	       streq(a->ip, b->ip) && (a->name ? b->name && streq(a->name, b->name) : !b->name);
}

static bool host_in(const struct domxml_dhcp_host *h, const struct domxml_dhcp_host *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (host_eq(h, &v[i]))
			return true;
	return false;
}

/*
 * An existing network that differs from want only in its DHCP hosts (a VM
 * with a static address added or removed) has them brought in line, live,
 * with virNetworkUpdate: guests on it keep running. Any other difference is
 * left for hv_network_ensure to report.
 */
static int hosts_sync(struct hv *hv, const char *live, const struct domxml_network *want,
		      struct muster_err *err)
{
	struct domxml_dhcp_host *have = NULL;
	struct domxml_network probe = *want;
	size_t nh = 0, i;
	bool same = false;
	int r = -1;

	if (domxml_network_hosts(live, &have, &nh, err) < 0)
		return -1;
	probe.hosts = have;
	probe.n_hosts = nh;
	if (domxml_network_matches(live, &probe, &same, NULL) < 0 || !same) {
		r = 0;	/* more than hosts differ */
		goto out;
	}
	for (i = 0; i < nh; i++) {
		char *xml;

		if (host_in(&have[i], want->hosts, want->n_hosts))
			continue;
		xml = domxml_dhcp_host_format(&have[i], err);
		if (!xml || hv_network_dhcp_host(hv, want->name, xml, false, err) < 0) {
			free(xml);
			goto out;
		}
		free(xml);
	}
	for (i = 0; i < want->n_hosts; i++) {
		char *xml;

		if (host_in(&want->hosts[i], have, nh))
			continue;
		xml = domxml_dhcp_host_format(&want->hosts[i], err);
		if (!xml || hv_network_dhcp_host(hv, want->name, xml, true, err) < 0) {
			free(xml);
			goto out;
		}
		free(xml);
	}
	r = 0;
out:
	domxml_hosts_free(have, nh);
	return r;
}

/* Each libvirt network of the fleet, with the static addresses as DHCP hosts. */
static int networks_ensure(const struct manifest *m, const struct vmspec_macs *macs,
			   struct hv *hv, struct muster_err *err)
{
	static const char *const modes[MF_NET_TYPE_MAX] = {
		[MF_NET_NAT] = "nat", [MF_NET_ISOLATED] = "isolated", [MF_NET_BRIDGE] = "bridge",
		[MF_NET_VLAN] = "ovs-vlan",
	};
	size_t i, v, k;

	for (i = 0; i < m->n_networks; i++) {
		const struct mf_network *net = &m->networks[i];
		char name[IDENTITY_DOMAIN_NAME_MAX + 1], gw[INET_ADDRSTRLEN], lo[INET_ADDRSTRLEN],
		     hi[INET_ADDRSTRLEN];
		struct domxml_dhcp_host *hosts;
		struct domxml_network n = { .name = name, .mode = modes[net->type] };
		size_t nh = 0;
		char *xml, *live = NULL;
		int r;

		if (!n.mode)
			continue;	/* user-mode networking has no libvirt network */
		if (identity_domain_name(m->fleet, net->name, name, sizeof(name), err) < 0)
			return -1;
		hosts = calloc(m->n_vms + 1, sizeof(*hosts));
		if (!hosts)
			return err_nomem(err);
		for (v = 0; v < m->n_vms; v++) {
			const struct mf_group *g = manifest_vm_group(m, &m->vms[v]);

			for (k = 0; k < g->n_nics; k++)
				if (g->nics[k].network == i && g->nics[k].ip) {
					hosts[nh].mac = vmspec_mac(macs, v, k);
					hosts[nh].ip = g->nics[k].ip;
					hosts[nh++].name = m->vms[v].name;
				}
		}
		if (net->type == MF_NET_NAT || net->type == MF_NET_ISOLATED) {
			uint32_t size = (uint32_t) 1 << (32 - net->prefix);
			struct in_addr a;

			a.s_addr = htonl(net->net_addr + 1);
			inet_ntop(AF_INET, &a, gw, sizeof(gw));
			a.s_addr = htonl(net->net_addr + 2);
			inet_ntop(AF_INET, &a, lo, sizeof(lo));
			a.s_addr = htonl(net->net_addr + size - 2);
			inet_ntop(AF_INET, &a, hi, sizeof(hi));
			n.address = gw;
			n.prefix = net->prefix;
			n.dhcp_start = lo;
			n.dhcp_end = hi;
			n.hosts = hosts;
			n.n_hosts = nh;
		} else {
			n.bridge = net->bridge;
			n.vlan = net->vlan;
		}
		xml = domxml_network_format(&n, err);
		r = xml ? hv_network_xml(hv, name, &live, err) : -1;
		if (r == 0 && live && (net->type == MF_NET_NAT || net->type == MF_NET_ISOLATED))
			r = hosts_sync(hv, live, &n, err);
		if (r == 0)
			r = hv_network_ensure(hv, name, xml, network_matches, &n, err);
		free(live);
		free(xml);
		free(hosts);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Whether any VM is bootstrapped by cloud-init (its seed carries the agent). */
static bool needs_agent(const struct manifest *m)
{
	size_t g;

	for (g = 0; g < m->n_groups; g++)
		if (m->groups[g].bootstrap == MF_BOOTSTRAP_CLOUD_INIT && m->groups[g].n_vms)
			return true;
	return false;
}

/* Whether every host is this machine (a URI with no host name: qemu:///system). */
static bool all_local(const struct cmd_hosts *hosts)
{
	size_t i;

	for (i = 0; i < hosts->n; i++) {
		const char *p = strstr(hosts->h[i].uri, "://");

		if (!p || p[3] != '/')
			return false;
	}
	return true;
}

/* <state>/console, absolute (libvirt wants it so), made 0700. */
static int console_dir_make(const char *state_dir, char **ret, struct muster_err *err)
{
	_cleanup_free_ char *abs = realpath(state_dir, NULL);

	if (!abs)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot resolve '%s'", state_dir);
	if (asprintf(ret, "%s/console", abs) < 0) {
		*ret = NULL;
		return err_nomem(err);
	}
	return statedir_prepare(*ret, err);
}

/* Whether addr:port can be bound on this machine now. */
static bool port_free(const char *addr, unsigned port, void *ud)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
	int fd, r;

	(void) ud;
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return false;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;	/* cannot tell: QEMU will say */
	r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
	close(fd);
	return r == 0;
}

/*
 * The host ports of the fleet's forwards: kept from the store, or chosen
 * now (probed with a bind when the hypervisor is this machine) and
 * recorded before any VM uses them.
 */
static int ports_assign(const struct manifest *m, struct store *st, bool local,
			struct forwards *ret, struct muster_err *err)
{
	struct recorded_forward *rec = NULL;
	size_t n_rec = 0;
	int r;

	if (store_forward_list(st, NULL, &rec, &n_rec, err) < 0)
		return -1;
	r = forwards_assign(m, rec, n_rec, local ? port_free : NULL, NULL, ret, err);
	if (r == 0 && store_forward_put_many(st, m->fleet, ret->added, ret->n_added, err) < 0)
		r = -1;
	store_forward_list_free(rec, n_rec);
	return r;
}

/* ---- prune ------------------------------------------------------------------------ */

/* Destroy what the plan says is no longer in the manifest (--prune). */
static size_t prune(const struct manifest *m, const struct plan *p, struct cmd_hosts *hosts,
		    struct store *st, int64_t run_id)
{
	size_t i, failed = 0;

	for (i = 0; i < p->n_items; i++) {
		const struct plan_item *it = &p->items[i];
		ssize_t h = cmd_hosts_find(hosts, it->host);
		struct muster_err err = { 0 };
		struct hv *hv = NULL;

		if (it->action != PLAN_DESTROY)
			continue;
		if (h < 0) {
			fprintf(stderr, "muster apply: VM '%s': not on any of the fleet's hosts\n",
				it->name);
			failed++;
			continue;
		}
		if (cmd_hosts_hv(hosts, (size_t) h, &hv, &err) < 0 ||
		    provision_destroy(m, hv, st, it->name, it->group[0] ? it->group : NULL, run_id,
				      &err) < 0) {
			fprintf(stderr, "muster apply: %s\n", err.msg);
			failed++;
			continue;
		}
		printf("%s: destroyed\n", it->name);
	}
	return failed;
}

/* ---- the command -------------------------------------------------------------------- */

int cmd_apply(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prune", no_argument, NULL, OPT_PRUNE },
		{ NULL, 0, NULL, 0 },
	};
	static const struct executor_ops ops = {
		.worker_new = worker_new, .worker_free = worker_free, .work = work,
		.wait_ready = wait_ready, .outcome = outcome,
	};
	struct muster_err err = { 0 };
	struct manifest *m = NULL;
	struct store *st = NULL, *steps_st = NULL;
	struct cmd_hosts hosts = { 0 };
	struct forwards fwd = { 0 };
	size_t *host_of = NULL;
	struct plan *plan = NULL;
	struct keypair *keys = NULL;
	enum keys_type key_types[MF_KEY_TYPE_MAX];
	const char **key_vms = NULL;
	int64_t *vm_ids = NULL;
	struct cmd_authkeys auth = { 0 };
	struct vmspec_macs macs = { 0 };
	struct apply_run run = { 0 };
	struct executor_result res = { 0 };
	char *state_dir = NULL, ***images = NULL, *agent_b64 = NULL, *console_dir = NULL;
	char ***kernels = NULL, ***initrds = NULL;
	struct installer_local *inst = NULL;
	const char **image_formats = NULL, **names = NULL, **groups = NULL, **placed = NULL;
	const char **item_names = NULL, **item_actions = NULL;
	bool *used = NULL, agent_gzip = false;
	size_t i, n_items = 0, n_destroy = 0, prune_failed = 0;
	atomic_bool *validated = NULL;
	char **agent_paths = NULL;
	bool do_prune = false;
	int64_t run_id = 0;
	int first, code, lock = -1, rc = EXIT_FAIL;

	first = cmd_parse(cli, self, argc, argv, opts, NULL, apply_option, &do_prune, &code);
	if (first < 0)
		return code;
	code = cmd_load_manifest(argv[first], &m);
	if (code != EXIT_OK)
		return code;
	if (installers_check(m, &err) < 0 || cmd_kickstart_check(m, &err) < 0) {
		fprintf(stderr, "muster apply: %s\n", err.msg);
		manifest_free(m);
		return EXIT_USAGE;
	}
	run.cli = cli;
	run.hosts = &hosts;
	if (cmd_open_state(cli, &state_dir, &st, &err) < 0 ||
	    cmd_hosts_init(cli, m, &hosts, &err) < 0)
		goto fail;
	if (runlock_acquire(state_dir, &lock, &err) < 0) {
		fprintf(stderr, "muster apply: %s\n", err.msg);
		rc = err.code == MUSTER_E_LOCKED ? EXIT_LOCKED : EXIT_FAIL;
		goto out;
	}
	run.state_dir = state_dir;
	images = calloc(hosts.n, sizeof(*images));
	kernels = calloc(hosts.n, sizeof(*kernels));
	initrds = calloc(hosts.n, sizeof(*initrds));
	inst = calloc(m->n_groups + 1, sizeof(*inst));
	image_formats = calloc(m->n_images + 1, sizeof(*image_formats));
	names = calloc(m->n_vms + 1, sizeof(*names));
	groups = calloc(m->n_vms + 1, sizeof(*groups));
	placed = calloc(m->n_vms + 1, sizeof(*placed));
	used = calloc(hosts.n, sizeof(*used));
	run.vm = calloc(m->n_vms + 1, sizeof(*run.vm));
	key_vms = calloc(m->n_vms + 1, sizeof(*key_vms));
	vm_ids = calloc(m->n_vms + 1, sizeof(*vm_ids));
	run.action = calloc(m->n_vms + 1, sizeof(*run.action));
	run.resume = calloc(m->n_vms + 1, sizeof(*run.resume));
	run.failed = calloc(m->n_vms + 1, sizeof(*run.failed));
	if (!images || !kernels || !initrds || !inst || !image_formats || !names || !groups ||
	    !placed || !key_vms || !vm_ids || !used || !run.vm || !run.action || !run.resume ||
	    !run.failed) {
		err_nomem(&err);
		goto fail;
	}
	for (i = 0; i < hosts.n; i++) {
		images[i] = calloc(m->n_images + 1, sizeof(**images));
		kernels[i] = calloc(m->n_groups + 1, sizeof(**kernels));
		initrds[i] = calloc(m->n_groups + 1, sizeof(**initrds));
		if (!images[i] || !kernels[i] || !initrds[i]) {
			err_nomem(&err);
			goto fail;
		}
	}
	for (i = 0; i < m->n_images; i++)
		image_formats[i] = mf_format_to_string(m->images[i].format);
	if (store_fleet_ensure(st, m->fleet, argv[first], &err) < 0 ||
	    cmd_plan_compute(cli, m, st, &hosts, &plan, &host_of, &err) < 0 ||
	    vmspec_macs_assign(m, &macs, &err) < 0)
		goto fail;
	{
		struct cmd_orphan *orphans = NULL;
		size_t n_orphans = 0;

		if (cmd_orphans(m, st, &hosts, plan, host_of, &orphans, &n_orphans, &err) < 0)
			goto fail;
		if (n_orphans)
			fprintf(stderr, "muster apply: %zu volume%s in pool '%s' belong%s to no VM of "
				"the fleet: left alone (muster plan lists them)\n", n_orphans,
				n_orphans == 1 ? "" : "s", m->pool, n_orphans == 1 ? "s" : "");
		cmd_orphans_free(orphans, n_orphans);
	}
	for (i = 0; i < plan->n_items; i++) {
		const struct plan_item *it = &plan->items[i];
		ssize_t vm = manifest_find_vm(m, it->name);

		switch (it->action) {
		case PLAN_CREATE:
		case PLAN_UPDATE:
		case PLAN_REBUILD:
			run.vm[n_items] = (size_t) vm;
			run.action[n_items++] = it->action;
			break;
		case PLAN_CONFLICT:
			fprintf(stderr, "muster apply: VM '%s': %s: left alone\n", it->name, it->reason);
			break;
		case PLAN_DESTROY:
			n_destroy++;
			break;
		case PLAN_KEEP: {
			const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
			int64_t installed = 1;

			/* a kickstart VM still installing is waited for again */
			if (g->bootstrap == MF_BOOTSTRAP_KICKSTART &&
			    store_vm_installed_at(st, m->fleet, it->name, &installed, &err) < 0)
				goto fail;
			/* running as wanted but not recorded so (adopted, or a crash
			 * between start and its record): record what is there */
			if ((it->recorded != VM_STATE_STARTED && it->recorded != VM_STATE_BOOTED &&
			     it->recorded != VM_STATE_READY) || !installed) {
				run.vm[n_items] = (size_t) vm;
				run.action[n_items++] = it->action;
			} else if (it->recorded != VM_STATE_READY) {
				/* started, never ready (a run cut short): waited for
				 * again; its agent answers the host's hello with its state */
				run.vm[n_items] = (size_t) vm;
				run.resume[n_items] = true;
				run.action[n_items++] = it->action;
			}
			break;
		}
		case PLAN_ACTION_MAX:
			break;
		}
	}
	/* the host keys of the VMs worked on, made ahead of the workers (and
	 * while the images are fetched) */
	keys = calloc(m->n_vms * m->n_host_key_types + 1, sizeof(*keys));
	if (!keys) {
		err_nomem(&err);
		goto fail;
	}
	for (i = 0; i < m->n_host_key_types; i++)
		key_types[i] = vmseed_key_type(m->host_key_types[i]);
	for (i = 0; i < n_items; i++)
		key_vms[i] = m->vms[run.vm[i]].name;
	{
		const struct keymaker_opts ko = {
			.state_dir = state_dir, .fleet = m->fleet, .vms = key_vms, .n = n_items,
			.types = key_types, .n_types = m->n_host_key_types,
			.keys = keys, .slot = run.vm,
		};

		if (n_items && keymaker_start(&ko, &run.keymaker, &err) < 0)
			goto fail;
	}
	for (i = 0; i < m->n_vms; i++)
		used[host_of[i]] = true;
	if (installers_fetch(cli, m, state_dir, inst, &err) < 0)
		goto fail;
	/* each host that gets a VM: the pool, the base images, the networks */
	for (i = 0; i < hosts.n; i++) {
		struct hv *hv = NULL;
		char *pool;
		int r;

		if (!used[i])
			continue;
		pool = domxml_pool_format(m->pool, m->pool_path, &err);
		r = !pool || cmd_hosts_hv(&hosts, i, &hv, &err) < 0 ||
		    hv_pool_ensure(hv, m->pool, pool, &err) < 0 ||
		    images_ensure(cli, m, hv, state_dir, images[i], &err) < 0 ||
		    installers_ensure(m, hv, inst, kernels[i], initrds[i], &err) < 0 ||
		    networks_ensure(m, &macs, hv, &err) < 0 ? -1 : 0;
		free(pool);
		if (r < 0) {
			if (hosts.n > 1)
				err_prefix(&err, "host %s", hosts.h[i].uri);
			goto fail;
		}
	}
	if (cmd_authorized_keys(state_dir, m, &auth, &err) < 0 ||
	    (needs_agent(m) && cmd_agent_b64(&agent_b64, &agent_gzip, &err) < 0))
		goto fail;
	/* the serial consoles, where they can be written: on this machine */
	if (all_local(&hosts) && console_dir_make(state_dir, &console_dir, &err) < 0)
		goto fail;
	/* where each VM lives is recorded before anything of it is made there */
	for (i = 0; i < m->n_vms; i++) {
		names[i] = m->vms[i].name;
		groups[i] = manifest_vm_group(m, &m->vms[i])->name;
		placed[i] = hosts.h[host_of[i]].uri;
	}
	if (store_vm_place(st, m->fleet, names, groups, placed, m->n_vms, vm_ids, &err) < 0 ||
	    ports_assign(m, st, all_local(&hosts), &fwd, &err) < 0 ||
	    store_run_begin(st, m->fleet, "apply", &run_id, &err) < 0)
		goto fail;

	validated = calloc(m->n_groups + 1, sizeof(*validated));
	agent_paths = calloc(m->n_vms + 1, sizeof(*agent_paths));
	item_names = calloc(n_items + 1, sizeof(*item_names));
	item_actions = calloc(n_items + 1, sizeof(*item_actions));
	run.item_of = calloc(m->n_vms + 1, sizeof(*run.item_of));
	if (!validated || !agent_paths || !item_names || !item_actions || !run.item_of) {
		err_nomem(&err);
		goto fail;
	}
	run.fleet = (struct provision_fleet) {
		.m = m, .macs = &macs, .keys = keys, .key_types = key_types, .vm_ids = vm_ids,
		.authorized_keys = auth.keys, .n_authorized_keys = auth.n, .host_of = host_of,
		.image_paths = (const char *const *const *) images,
		.image_formats = image_formats, .run_id = run_id, .validated = validated,
		.installer_kernel = (const char *const *const *) kernels,
		.installer_initrd = (const char *const *const *) initrds,
		.agent_b64 = agent_b64, .agent_gzip = agent_gzip, .console_dir = console_dir,
		.ports = fwd.port, .port_stride = fwd.stride,
		/* a test hook: agent sockets where a fake guest can bind them */
		.channel_dir = getenv("MUSTER_TEST_CHANNEL_DIR"),
		.agent_paths = agent_paths,
		.on_state = on_state, .on_state_data = &run,
	};
	run.host_of = host_of;
	run.st = st;
	if (store_open(state_dir, &steps_st, &err) < 0 ||
	    store_steps_new(steps_st, &run.steps, &err) < 0)
		goto fail;
	{
		/* until the agent reports readiness, ready_timeout bounds a VM's provisioning */
		struct executor_opts eo = { .batch_size = m->batch_size, .parallel = m->batch_parallel,
					    .max_fail_percent = m->batch_max_fail_percent,
					    .item_timeout_s = m->ready_timeout };

		struct progress_opts po = {
			.out = stdout, .tty = isatty(STDOUT_FILENO), .quiet = cli->quiet,
			.n_items = n_items, .batch_size = m->batch_size,
			.names = item_names, .actions = item_actions,
		};

		for (i = 0; i < m->n_vms; i++)
			run.item_of[i] = SIZE_MAX;	/* not worked on: progress_state ignores it */
		for (i = 0; i < n_items; i++) {
			item_names[i] = m->vms[run.vm[i]].name;
			item_actions[i] = plan_action_to_string(run.action[i]);
			run.item_of[run.vm[i]] = i;
		}
		run.n_items = n_items;
		if (progress_new(&po, &run.progress, &err) < 0)
			goto fail;
		if (executor_run(n_items, &eo, &ops, &run, &res, &err) < 0)
			goto fail;
		if (n_items)
			progress_end(run.progress);
	}
	if (do_prune)
		prune_failed = prune(m, plan, &hosts, st, run_id);
	else if (n_destroy)
		fprintf(stderr, "muster apply: %zu VM%s no longer in the manifest (muster plan lists "
			"them): apply --prune destroys them\n", n_destroy, n_destroy == 1 ? " is" : "s are");

	rc = res.failed || res.skipped || prune_failed || plan->count[PLAN_CONFLICT] ? EXIT_FAIL : EXIT_OK;
	if (!cli->quiet || rc != EXIT_OK) {
		printf("fleet '%s' on %s: %zu started, %zu kept", m->fleet,
		       hosts.n == 1 ? hosts.h[0].uri : "its hosts", res.done - run.resumed,
		       plan->count[PLAN_KEEP]);
		if (res.failed)
			printf(", %zu failed", res.failed);
		if (res.skipped && res.all_stuck)
			printf(", %zu not tried (every worker stuck in a call to the hypervisor)",
			       res.skipped);
		else if (res.skipped)
			printf(", %zu not tried (max_fail_percent %u%% crossed)", res.skipped,
			       m->batch_max_fail_percent);
		if (plan->count[PLAN_CONFLICT])
			printf(", %zu in conflict", plan->count[PLAN_CONFLICT]);
		if (res.failed) {
			printf(" (");
			for (i = 0; i < run.n_failed && i < 10; i++)
				printf("%s%s", i ? ", " : "", m->vms[run.failed[i]].name);
			printf("%s)", run.n_failed > 10 ? ", ..." : "");
		}
		printf("\n");
	}
	if (store_run_end(st, run_id, rc, &err) < 0)
		fprintf(stderr, "muster apply: %s\n", err.msg);
	goto out;
fail:
	fprintf(stderr, "muster apply: %s\n", err.msg);
	if (run_id && store_run_end(st, run_id, EXIT_FAIL, &err) < 0)
		fprintf(stderr, "muster apply: %s\n", err.msg);
out:
	/* before the lock goes: a thread may be writing a key file; not with a
	 * worker stuck (it may be in keymaker_wait): the process ends below */
	if (!res.stuck)
		keymaker_free(run.keymaker);
	runlock_release(lock);
	if (res.stuck) {
		/*
		 * A worker still in a libvirt call that has not returned (past
		 * ready_timeout) would go on, when it does, with this run's state:
		 * none of it is freed, and the process ends here, not in main.
		 */
		fprintf(stderr, "muster apply: %zu worker%s still in a call that has not returned: "
			"exiting without it\n", res.stuck, res.stuck == 1 ? "" : "s");
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	for (i = 0; images && i < hosts.n; i++) {
		size_t j;

		for (j = 0; images[i] && j < m->n_images; j++)
			free(images[i][j]);
		free(images[i]);
	}
	free(images);
	for (i = 0; kernels && i < hosts.n; i++) {
		size_t j;

		for (j = 0; j < m->n_groups; j++) {
			free(kernels[i] ? kernels[i][j] : NULL);
			free(initrds[i] ? initrds[i][j] : NULL);
		}
		free(kernels[i]);
		free(initrds[i]);
	}
	free(kernels);
	free(initrds);
	installers_release(inst, m->n_groups);
	free(names);
	free(groups);
	free(key_vms);
	free(vm_ids);
	free(placed);
	free(agent_b64);
	free(console_dir);
	forwards_release(&fwd);
	free(used);
	free(host_of);
	free(image_formats);
	free(validated);
	for (i = 0; agent_paths && i < m->n_vms; i++)
		free(agent_paths[i]);
	free(agent_paths);
	progress_free(run.progress);
	free(item_names);
	free(item_actions);
	free(run.item_of);
	free(run.vm);
	free(run.action);
	free(run.resume);
	free(run.failed);
	vmspec_macs_release(&macs);
	cmd_authkeys_release(&auth);
	keystore_free(keys, m->n_vms * m->n_host_key_types);
	plan_free(plan);
	cmd_hosts_release(&hosts);
	store_steps_free(run.steps);
	store_free(steps_st);
	store_free(st);
	free(state_dir);
	manifest_free(m);
	return rc;
}
