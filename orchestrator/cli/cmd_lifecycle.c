/*
 * cmd_lifecycle.c: `muster start|stop|reboot|destroy FILE [VM|GROUP...]`:
 * act on some of a fleet's VMs (all of them when none is named; destroy
 * wants them named, or --all), each step recorded, under the run lock.
 */
#include "cmd.h"
#include "hv.h"
#include "identity.h"
#include "provision.h"
#include "runlock.h"

enum verb { VERB_START, VERB_STOP, VERB_REBOOT, VERB_DESTROY };

struct lifecycle_opts {
	bool force;	/* stop: pull the plug */
	bool all;	/* destroy: the whole fleet */
};

enum { OPT_FORCE = 1000, OPT_ALL };

static int lifecycle_option(int opt, const char *arg, void *userdata)
{
	struct lifecycle_opts *o = userdata;

	(void) arg;
	if (opt == OPT_FORCE)
		o->force = true;
	else if (opt == OPT_ALL)
		o->all = true;
	else
		return -1;
	return 0;
}

/* Mark the VMs the targets name (a VM's name or a group's); false if a target names none. */
static bool select_vms(const struct manifest *m, char **targets, int n, bool *chosen)
{
	int t;
	size_t i;
	bool ok = true;

	for (t = 0; t < n; t++) {
		bool hit = false;

		for (i = 0; i < m->n_vms; i++) {
			if (streq(m->vms[i].name, targets[t]) ||
			    streq(manifest_vm_group(m, &m->vms[i])->name, targets[t])) {
				chosen[i] = true;
				hit = true;
			}
		}
		if (!hit) {
			fprintf(stderr, "muster: fleet '%s' has no VM or group '%s'\n", m->fleet,
				targets[t]);
			ok = false;
		}
	}
	return ok;
}

/* The connection to the host VM name was placed on (the only host, if it was never placed). */
static int vm_host(struct cmd_hosts *hosts, const struct recorded_vm *recs, size_t n_recs,
		   const char *name, struct hv **ret, struct muster_err *err)
{
	const struct recorded_vm *rec = store_vm_find(recs, n_recs, name);
	const char *where = rec ? rec->host : NULL;
	ssize_t h = cmd_hosts_find(hosts, where);

	if (h < 0 && hosts->n == 1)
		h = 0;
	if (h < 0 && where)
		return err_set(err, MUSTER_E_NOTFOUND,
			       "it was placed on %s, which is not among the fleet's hosts", where);
	if (h < 0)
		return err_set(err, MUSTER_E_NOTFOUND,
			       "it has not been placed on a host yet (muster apply places it)");
	return cmd_hosts_hv(hosts, (size_t) h, ret, err);
}

static int act(enum verb verb, const struct lifecycle_opts *o, const struct manifest *m,
	       size_t vm, struct hv *hv, struct store *st, int64_t run_id, struct muster_err *err)
{
	const char *name = m->vms[vm].name;
	const char *group = manifest_vm_group(m, &m->vms[vm])->name;
	char dom[IDENTITY_DOMAIN_NAME_MAX + 1];

	if (identity_domain_name(m->fleet, name, dom, sizeof(dom), err) < 0 ||
	    store_vm_ensure(st, m->fleet, name, group, err) < 0)
		return -1;
	switch (verb) {
	case VERB_START:
		return store_vm_note(st, m->fleet, name, "intent: start", run_id, err) < 0 ||
		       hv_domain_start(hv, dom, err) < 0 ||
		       store_vm_transition(st, m->fleet, name, VM_STATE_STARTED, "started", run_id,
					   err) < 0 ? -1 : 0;
	case VERB_STOP:
		return store_vm_note(st, m->fleet, name, o->force ? "intent: stop (forced)" :
				     "intent: shut down", run_id, err) < 0 ||
		       hv_domain_stop(hv, dom, o->force, err) < 0 ||
		       store_vm_transition(st, m->fleet, name, VM_STATE_DEFINED,
					   o->force ? "stopped" : "asked to shut down", run_id,
					   err) < 0 ? -1 : 0;
	case VERB_REBOOT:
		return store_vm_note(st, m->fleet, name, "intent: reboot", run_id, err) < 0 ||
		       hv_domain_reboot(hv, dom, err) < 0 ||
		       store_vm_note(st, m->fleet, name, "rebooted", run_id, err) < 0 ? -1 : 0;
	case VERB_DESTROY:
		return provision_destroy(m, hv, st, name, group, run_id, err);
	}
	return -1;
}

static int lifecycle(const struct cmd *self, struct cli *cli, int argc, char **argv, enum verb verb)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "all", no_argument, NULL, OPT_ALL },
		{ NULL, 0, NULL, 0 },
	};
	struct lifecycle_opts o = { 0 };
	struct muster_err err = { 0 };
	struct manifest *m = NULL;
	struct store *st = NULL;
	struct cmd_hosts hosts = { 0 };
	struct recorded_vm *recs = NULL;
	size_t n_recs = 0;
	char *state_dir = NULL;
	bool *chosen = NULL;
	size_t i, done = 0, failed = 0;
	int64_t run_id = 0;
	int first, code, lock = -1, rc = EXIT_FAIL;

	first = cmd_parse(cli, self, argc, argv, opts, NULL, lifecycle_option, &o, &code);
	if (first < 0)
		return code;
	if (verb == VERB_DESTROY && argc - first < 2 && !o.all) {
		fprintf(stderr, "muster destroy: name the VMs or groups to destroy, or give --all\n");
		return EXIT_USAGE;
	}
	code = cmd_load_manifest(argv[first], &m);
	if (code != EXIT_OK)
		return code;
	chosen = calloc(m->n_vms + 1, sizeof(*chosen));
	if (!chosen) {
		err_nomem(&err);
		goto fail;
	}
	if (argc - first < 2)
		for (i = 0; i < m->n_vms; i++)
			chosen[i] = true;
	else if (!select_vms(m, argv + first + 1, argc - first - 1, chosen)) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (cmd_open_state(cli, &state_dir, &st, &err) < 0)
		goto fail;
	if (runlock_acquire(state_dir, &lock, &err) < 0) {
		fprintf(stderr, "muster %s: %s\n", self->name, err.msg);
		rc = err.code == MUSTER_E_LOCKED ? EXIT_LOCKED : EXIT_FAIL;
		goto out;
	}
	if (cmd_hosts_init(cli, m, &hosts, &err) < 0 ||
	    store_vm_list(st, m->fleet, &recs, &n_recs, &err) < 0 ||
	    store_run_begin(st, m->fleet, self->name, &run_id, &err) < 0)
		goto fail;
	for (i = 0; i < m->n_vms; i++) {
		struct hv *hv = NULL;

		if (!chosen[i])
			continue;
		err_clear(&err);
		if (vm_host(&hosts, recs, n_recs, m->vms[i].name, &hv, &err) < 0 ||
		    act(verb, &o, m, i, hv, st, run_id, &err) < 0) {
			fprintf(stderr, "muster %s: VM '%s': %s\n", self->name, m->vms[i].name, err.msg);
			failed++;
		} else {
			done++;
			if (!cli->quiet)
				printf("%s: %s\n", m->vms[i].name, self->name);
		}
	}
	rc = failed ? EXIT_FAIL : EXIT_OK;
	if (store_run_end(st, run_id, rc, &err) < 0)
		fprintf(stderr, "muster %s: %s\n", self->name, err.msg);
	if (failed || !cli->quiet)
		printf("fleet '%s': %s: %zu done, %zu failed\n", m->fleet, self->name, done, failed);
	goto out;
fail:
	fprintf(stderr, "muster %s: %s\n", self->name, err.msg);
out:
	runlock_release(lock);
	store_vm_list_free(recs, n_recs);
	cmd_hosts_release(&hosts);
	store_free(st);
	free(state_dir);
	free(chosen);
	manifest_free(m);
	return rc;
}

int cmd_start(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	return lifecycle(self, cli, argc, argv, VERB_START);
}

int cmd_stop(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	return lifecycle(self, cli, argc, argv, VERB_STOP);
}

int cmd_reboot(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	return lifecycle(self, cli, argc, argv, VERB_REBOOT);
}

int cmd_destroy(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	return lifecycle(self, cli, argc, argv, VERB_DESTROY);
}
