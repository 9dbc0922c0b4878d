/*
 * readiness.c: the batch gate (run_priv.h: readiness_wait): each VM of a
 * batch is ready when its agent reports ready with the host keys muster
 * made for it, over the VM's own channel (channel.h): a guest is known by
 * the channel it speaks on, never by what it says.
 */
#include <stdarg.h>
#include <time.h>

#define LOG_TAG "readiness"
#include "addresses.h"
#include "channel.h"
#include "clock.h"
#include "domxml.h"
#include "fmt.h"
#include "log.h"
#include "run_priv.h"
#include "common.h"

struct ready_wait {
	struct run *run;
	const size_t *items;		/* the batch's items that were started */
	bool *done;			/* per item: ready, failed or not waited for */
	bool *booted;
	bool *installing;		/* per item: its installer runs (kickstart) */
	int64_t *heard_ms;		/* per item: its agent last recorded heard (monotonic) */
	int64_t *addrs_ms;		/* and its addresses */
	size_t remaining;
	void (*failed)(void *exec, size_t i, const char *why);
	void *exec;
	struct channel *ch;
};

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double) (t.tv_sec - t0->tv_sec) + (double) (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Item k failed, of class c (runsum.h), with why. */
static void ready_fail(struct ready_wait *rw, size_t k, enum run_fail_class c, const char *fmt, ...)
	PRINTF_LIKE(4, 5);

static void ready_fail(struct ready_wait *rw, size_t k, enum run_fail_class c, const char *fmt, ...)
{
	struct run *run = rw->run;
	size_t vm = run->vm[rw->items[k]];
	struct provision_worker w = { .hv = run->hosts.hv[run->recs.v[vm].host], .st = run->o.st };
	struct muster_err why = { 0 };
	char detail[sizeof(why.msg)];
	va_list ap;

	va_start(ap, fmt);
	fmt_vcut(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* through err_set, as every message: what a guest said is shown (show.h) */
	(void) err_set(&why, MUSTER_E_HV, "VM '%s': %s", run->fleet.m->vms[vm].name, detail);
	provision_failed(&run->fleet, &w, vm, &why);
	atomic_store(&run->fail_step[vm], (int) c);
	rw->failed(rw->exec, rw->items[k], why.msg);
	rw->done[k] = true;
	rw->remaining--;
}

/* Every pregenerated host key's fingerprint is among what the guest reports. */
static bool keys_match(const struct run *run, size_t vm, const struct channel_msg *msg)
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

/*
 * Record that item k's agent spoke, with the addresses of its network
 * phase (what the agent says, so checked: what is not an address is left
 * out), at most as often as below.
 */
#define AGENT_HEARD_EVERY_MS 30000
#define AGENT_ADDRS_EVERY_MS 1000
static void agent_heard(struct ready_wait *rw, size_t k, const struct channel_msg *msg)
{
	struct run *run = rw->run;
	const char *fleet = run->fleet.m->fleet, *vm = run->fleet.m->vms[run->vm[rw->items[k]]].name;
	char addrs[STORE_REPORTED_ADDRS_MAX + 1];
	bool network = msg->kind == AGENT_PROTO_PHASE && streq(msg->phase, AGENT_PROTO_PHASE_NETWORK);
	struct muster_err err = { 0 };
	int64_t now = clock_mono_ms();
	size_t bad = 0;

	/*
	 * What a guest says costs a write: its first message, its addresses
	 * at most once a second, anything else every AGENT_HEARD_EVERY_MS
	 */
	if (network ? rw->addrs_ms[k] && now - rw->addrs_ms[k] < AGENT_ADDRS_EVERY_MS :
		      rw->heard_ms[k] && now - rw->heard_ms[k] < AGENT_HEARD_EVERY_MS)
		return;
	if (network) {
		(void) addresses_reported_join(msg->addrs, msg->n_addrs, addrs, sizeof(addrs), &bad);
		if (bad)
			log_warn("VM '%s': its agent reported %zu address%s that %s not an address "
				 "or did not fit: left out", vm, bad, bad == 1 ? "" : "es",
				 bad == 1 ? "is" : "are");
	}
	if (store_vm_agent_heard(run->o.st, fleet, vm, network ? addrs : NULL, &err) < 0)
		log_warn("%s", err.msg);	/* noted only: the VM's next step records again */
	rw->heard_ms[k] = now;
	if (network)
		rw->addrs_ms[k] = now;
}

/* A message from the agent of the batch's item k (the VM its socket belongs to). */
static void on_agent(void *userdata, size_t k, const struct channel_msg *msg)
{
	struct ready_wait *rw = userdata;
	struct run *run = rw->run;
	const struct manifest *m = run->fleet.m;
	size_t vm = run->vm[rw->items[k]];
	struct muster_err err = { 0 };

	if (rw->done[k])
		return;
	agent_heard(rw, k, msg);
	switch (msg->kind) {
	case AGENT_PROTO_HELLO:
	case AGENT_PROTO_PHASE:
	case AGENT_PROTO_HEARTBEAT:
		if (!rw->booted[k] &&
		    store_vm_transition(run->o.st, m->fleet, m->vms[vm].name, VM_STATE_BOOTED,
					msg->kind == AGENT_PROTO_PHASE && msg->n_addrs ? msg->addrs[0] :
					"agent connected", run->fleet.run_id, &err) == 0) {
			rw->booted[k] = true;
			run_tell_state(run, rw->items[k], VM_STATE_BOOTED);
		}
		break;
	case AGENT_PROTO_READY:
		if (!keys_match(run, vm, msg)) {
			ready_fail(rw, k, RUN_FAIL_AGENT,
				   "its SSH host keys are not the ones muster made for it: "
				   "the seed was not applied, or something else answered");
			break;
		}
		if (store_vm_transition(run->o.st, m->fleet, m->vms[vm].name, VM_STATE_READY,
					"ready: host keys verified", run->fleet.run_id, &err) < 0) {
			ready_fail(rw, k, RUN_FAIL_OTHER, "%s", err.msg);
			break;
		}
		rw->done[k] = true;
		rw->remaining--;
		run_tell_state(run, rw->items[k], VM_STATE_READY);
		break;
	case AGENT_PROTO_ERROR:
		ready_fail(rw, k, RUN_FAIL_AGENT, "%s failed: %s", msg->phase ? msg->phase : "bootstrap",
			   msg->detail ? msg->detail : "no detail");
		break;
	case AGENT_PROTO_TYPE_MAX:
		break;
	}
	if (rw->done[k])
		channel_remove(rw->ch, k);
	if (rw->remaining == 0)
		channel_stop(rw->ch);
}

/* channel_open_fn: item k's agent channel, through libvirt (hv.h). */
static int open_agent(void *ctx, size_t k, int *fd, struct muster_err *err)
{
	struct ready_wait *rw = ctx;
	struct run *run = rw->run;
	size_t vm = run->vm[rw->items[k]];
	struct hv *hv = NULL;

	if (hosts_hv(&run->hosts, run->recs.v[vm].host, &hv, err) < 0)
		return -1;
	/*
	 * Of a fleet of several hosts, one whose stream connection died is lost:
	 * not connected to again (one that does not answer would hang this
	 * thread, which hears every VM); its VMs fail at the loop's next turn
	 * (hosts_lost), not at ready_timeout. With one host it is asked again.
	 */
	if (run->hosts.n > 1 && hv_channel_lost(hv))
		return err_set(err, MUSTER_E_UNREACHABLE, "lost the connection to '%s'",
			       run->hosts.h[run->recs.v[vm].host].uri);
	return hv_channel_open(hv, run->recs.v[vm].domain, AGENT_PROTO_PORT_NAME, fd, err);
}

/*
 * The items waited for whose host is down fail with its error: it could
 * not be connected to while they were made, or the connection their
 * channels stream on died (then it is down from now on; with one host,
 * nothing is: its channels are opened again).
 */
static void hosts_lost(struct ready_wait *rw, size_t n)
{
	struct run *run = rw->run;
	size_t k, h;

	for (h = 0; h < run->hosts.n; h++) {
		struct muster_err e = { 0 };

		if (run->hosts.hv[h] && !hosts_is_down(&run->hosts, h, NULL) &&
		    hv_channel_lost(run->hosts.hv[h])) {
			(void) err_set(&e, MUSTER_E_UNREACHABLE, "lost the connection to '%s'",
				       run->hosts.h[h].uri);
			hosts_set_down(&run->hosts, h, &e);
		}
	}
	for (k = 0; k < n; k++) {
		size_t at = run->recs.v[run->vm[rw->items[k]]].host;
		struct muster_err e = { 0 };

		if (!rw->done[k] && hosts_is_down(&run->hosts, at, &e)) {
			channel_remove(rw->ch, k);
			ready_fail(rw, k, RUN_FAIL_HOST, "its host %s was lost: %s",
				   run->hosts.h[at].uri, e.msg);
		}
	}
}

/*
 * Listen to item k's agent: 0, or 1 when its domain has no channel (done),
 * or -1 with err when its channel cannot be opened. The channel is opened
 * through libvirt, on whatever host; a driver that cannot (libxl opens
 * only pty channels) is listened to through its socket, when its host is
 * this machine.
 */
static int listen_agent(struct ready_wait *rw, size_t k, struct muster_err *err)
{
	struct run *run = rw->run;
	size_t vm = run->vm[rw->items[k]];
	const char *dom = run->recs.v[vm].domain;
	const char *uri = run->hosts.h[run->recs.v[vm].host].uri;
	char *xml = NULL, *path = NULL;
	struct hv *hv = NULL;
	int r = -1;

	/* read by the worker that started it (provision.h), once */
	path = steal_pointer(&run->fleet.agent_paths[vm]);
	if (!path) {
		if (hosts_hv(&run->hosts, run->recs.v[vm].host, &hv, err) < 0 ||
		    hv_domain_xml(hv, dom, &xml, err) < 0)
			goto out;
		if (domxml_channel_path(xml, AGENT_PROTO_PORT_NAME, &path, err) < 0) {
			r = 1;
			goto out;
		}
	}
	if (!*path) {
		r = 1;
		goto out;
	}
	r = channel_add_open(rw->ch, k, dom, open_agent, rw, err);
	if (r < 0 && err->code == MUSTER_E_UNSUPPORTED && !hv_uri_is_network(uri)) {
		log_debug("VM '%s': %s: listening to its socket on this machine",
			  run->fleet.m->vms[vm].name, err->msg);
		err_clear(err);
		r = channel_add(rw->ch, k, path, err);
	}
	if (r < 0)
		err_prefix(err, "cannot hear its agent");
out:
	free(xml);
	free(path);
	return r;
}

/*
 * Where item k's serial console can be read, for a failure's message: its
 * log on this machine, or (another host's VM: its daemon cannot write
 * here, and muster writes nothing there) how to reach it there.
 */
static void console_where(const struct ready_wait *rw, size_t k, char *out, size_t len)
{
	const struct run *run = rw->run;
	const struct vmrec *v = &run->recs.v[run->vm[rw->items[k]]];

	if (run->setup.console_dir && run->setup.console_here[v->host])
		fmt_cut(out, len, "its serial console: %s/%s.log", run->setup.console_dir,
			v->domain);
	else
		fmt_cut(out, len, "its serial console is on %s, where muster keeps no log of it "
			"(domain '%s' there)", run->hosts.h[v->host].uri, v->domain);
}

/*
 * Item k's installer: still running, or stopped. Stopped after its report
 * (POST /phone-home, recorded by muster serve), the VM boots its disk and
 * its agent is listened to; stopped without one, the VM failed.
 */
static void install_poll(struct ready_wait *rw, size_t k)
{
	struct run *run = rw->run;
	const struct manifest *m = run->fleet.m;
	size_t vm = run->vm[rw->items[k]];
	const char *name = m->vms[vm].name;
	const char *dom = run->recs.v[vm].domain;
	struct muster_err err = { 0 };
	struct hv *hv = NULL;
	int64_t at = 0;
	int active, r;

	if (hosts_hv(&run->hosts, run->recs.v[vm].host, &hv, &err) < 0 ||
	    (active = hv_domain_active(hv, dom, &err)) < 0) {
		ready_fail(rw, k, run_fail_classify(RUN_FAIL_INSTALLER, err.code), "%s", err.msg);
		return;
	}
	if (active)
		return;
	rw->installing[k] = false;
	if (store_vm_installed_at(run->o.st, m->fleet, name, &at, &err) < 0) {
		ready_fail(rw, k, RUN_FAIL_OTHER, "%s", err.msg);
		return;
	}
	if (!at) {
		char where[1024];

		console_where(rw, k, where, sizeof(where));
		ready_fail(rw, k, RUN_FAIL_INSTALLER,
			   "its installer stopped without reporting the install done (%s)",
			   where);
		return;
	}
	if (store_vm_note(run->o.st, m->fleet, name, "intent: start the installed system",
			  run->fleet.run_id, &err) < 0 ||
	    hv_domain_start(hv, dom, &err) < 0 ||
	    store_vm_transition(run->o.st, m->fleet, name, VM_STATE_STARTED,
				VM_DETAIL_INSTALLED, run->fleet.run_id, &err) < 0) {
		ready_fail(rw, k, run_fail_classify(RUN_FAIL_START, err.code), "%s", err.msg);
		return;
	}
	run_tell_state(run, rw->items[k], VM_STATE_STARTED);
	r = listen_agent(rw, k, &err);
	if (r < 0) {
		ready_fail(rw, k, run_fail_classify(RUN_FAIL_AGENT, err.code), "%s", err.msg);
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
void readiness_wait(void *shared, const size_t *items, size_t n,
		       void (*failed)(void *exec, size_t i, const char *why), void *exec)
{
	struct run *run = shared;
	const struct manifest *m = run->fleet.m;
	struct ready_wait rw = { .run = run, .items = items, .failed = failed, .exec = exec };
	struct muster_err err = { 0 };
	struct timespec start;
	size_t k;
	int r = 0;

	rw.done = calloc(n + 1, sizeof(*rw.done));
	rw.booted = calloc(n + 1, sizeof(*rw.booted));
	rw.installing = calloc(n + 1, sizeof(*rw.installing));
	rw.heard_ms = calloc(n + 1, sizeof(*rw.heard_ms));
	rw.addrs_ms = calloc(n + 1, sizeof(*rw.addrs_ms));
	if (!rw.done || !rw.booted || !rw.installing || !rw.heard_ms || !rw.addrs_ms ||
	    channel_new(on_agent, &rw, &rw.ch, &err) < 0) {
		log_warn("cannot wait for the agents: %s", err.msg[0] ? err.msg : "out of memory");
		goto out;
	}
	for (k = 0; k < n; k++) {
		size_t vm = run->vm[items[k]];
		const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
		int64_t installed = 1;

		rw.done[k] = true;
		r = 0;
		if (g->bootstrap == MF_BOOTSTRAP_KICKSTART &&
		    store_vm_installed_at(run->o.st, m->fleet, m->vms[vm].name, &installed, &err) < 0) {
			rw.done[k] = false;
			rw.remaining++;
			ready_fail(&rw, k, RUN_FAIL_OTHER, "%s", err.msg);
			continue;
		}
		if (!installed) {
			rw.installing[k] = true;
		} else if (run->action[items[k]] == PLAN_KEEP && !run->resume[items[k]]) {
			continue;
		} else if ((r = listen_agent(&rw, k, &err)) > 0) {
			log_debug("VM '%s': not waiting for its agent: no channel", m->vms[vm].name);
			continue;
		}
		rw.done[k] = false;
		rw.remaining++;
		if (r < 0)	/* said at once, with libvirt's error */
			ready_fail(&rw, k, run_fail_classify(RUN_FAIL_AGENT, err.code), "%s", err.msg);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (rw.remaining > 0) {
		double left = (double) run->policy.ready_timeout_s - seconds_since(&start);

		if (left <= 0)
			break;
		if (channel_run(rw.ch, left > 1 ? 1000 : (int) (left * 1000) + 1, &err) < 0) {
			log_warn("listening to the agents: %s", err.msg);
			break;
		}
		hosts_lost(&rw, n);
		for (k = 0; k < n; k++)
			if (rw.installing[k] && !rw.done[k])
				install_poll(&rw, k);
		if (run->cb->tick)
			run->cb->tick(run->cb->userdata);
	}
	for (k = 0; k < n; k++) {
		char where[1024];

		if (rw.done[k])
			continue;
		console_where(&rw, k, where, sizeof(where));
		ready_fail(&rw, k, rw.installing[k] ? RUN_FAIL_INSTALLER : RUN_FAIL_READY_TIMEOUT,
			   rw.installing[k] ? "its installer did not finish within %us (%s)" :
			   "no ready report from its agent within %us (%s)",
			   run->policy.ready_timeout_s, where);
	}
out:
	channel_free(rw.ch);
	free(rw.done);
	free(rw.booted);
	free(rw.installing);
	free(rw.heard_ms);
	free(rw.addrs_ms);
}

