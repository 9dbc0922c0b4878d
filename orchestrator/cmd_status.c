/*
 * cmd_status.c: `muster status`, `list` and `events`: the fleet as the
 * store recorded it (no hypervisor is asked: it answers at once, for any
 * number of hosts).
 */
#include <time.h>

#include "cmd.h"
#include "jsonout.h"

/* "2026-11-25T20:03:41Z" for unix ms. */
static void iso_time(long long ms, char out[32])
{
	time_t t = (time_t) (ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		(void) snprintf(out, 32, "%lld", ms);
}

/* The fleet's VMs, the manifest's first (in order), then any recorded only. */
struct status_rows {
	struct jsonout_vm *v;
	size_t n;
	char **owned;			/* strings made here */
	size_t n_owned;
	const char **addrs;		/* all VMs' static addresses */
};

static const struct store_vm *find_rec(const struct store_vm *recs, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (streq(recs[i].name, name))
			return &recs[i];
	return NULL;
}

static const struct store_event *last_event(const struct store_event *ev, size_t n,
					    const char *vm)
{
	size_t i;

	for (i = n; i-- > 0;)
		if (streq(ev[i].vm, vm))
			return &ev[i];
	return NULL;
}

static char *event_text(const struct store_event *e)
{
	char when[32], *s;

	iso_time(e->at, when);
	if (asprintf(&s, "%s %s%s%s%s%s", when, e->from ? e->from : "", e->from ? " -> " : "",
		     e->to, e->detail ? ": " : "", e->detail ? e->detail : "") < 0)
		return NULL;
	return s;
}

static int rows_build(const struct manifest *m, const struct store_vm *recs, size_t n_recs,
		      const struct store_event *ev, size_t n_ev, struct status_rows *r,
		      struct muster_err *err)
{
	size_t i, j, n_addr = 0, total = m->n_vms + n_recs;

	for (i = 0; i < m->n_groups; i++)
		n_addr += m->groups[i].n_nics * m->groups[i].n_vms;
	r->v = calloc(total + 1, sizeof(*r->v));
	r->owned = calloc(total + 1, sizeof(*r->owned));
	r->addrs = calloc(n_addr + 1, sizeof(*r->addrs));
	if (!r->v || !r->owned || !r->addrs)
		return err_nomem(err);
	n_addr = 0;
	for (i = 0; i < total; i++) {
		const struct mf_vm *vm = i < m->n_vms ? &m->vms[i] : NULL;
		const struct store_vm *rec = vm ? find_rec(recs, n_recs, vm->name) : &recs[i - m->n_vms];
		const char *name = vm ? vm->name : rec->name;
		const struct store_event *e;
		struct jsonout_vm *row;

		if (!vm && (rec->state == VM_STATE_DESTROYED || manifest_find_vm(m, name) >= 0))
			continue;
		row = &r->v[r->n++];
		row->name = name;
		row->group = vm ? manifest_vm_group(m, vm)->name : rec->group;
		row->state = rec ? vm_state_to_string(rec->state) : "new";
		row->domain = rec && rec->domain ? rec->domain : NULL;
		row->error = rec && rec->state == VM_STATE_FAILED ? rec->last_error : NULL;
		row->addresses = &r->addrs[n_addr];
		if (vm) {
			const struct mf_group *g = manifest_vm_group(m, vm);

			for (j = 0; j < g->n_nics; j++)
				if (g->nics[j].ip)
					r->addrs[n_addr++] = g->nics[j].ip;
			row->n_addresses = (size_t) (&r->addrs[n_addr] - row->addresses);
		}
		e = last_event(ev, n_ev, name);
		if (e) {
			char *t = event_text(e);

			if (!t)
				return err_nomem(err);
			r->owned[r->n_owned++] = t;
			row->last_event = t;
		}
	}
	return 0;
}

static void rows_release(struct status_rows *r)
{
	size_t i;

	for (i = 0; i < r->n_owned; i++)
		free(r->owned[i]);
	free(r->owned);
	free(r->v);
	free(r->addrs);
}

/* status (with a summary) and list (a row per VM) share everything but the text form. */
static int status_or_list(const struct cmd *self, struct cli *cli, int argc, char **argv,
			  bool summary)
{
	struct muster_err err = { 0 };
	struct manifest *m = NULL;
	struct store *st = NULL;
	struct store_vm *recs = NULL;
	struct store_event *ev = NULL;
	struct status_rows rows = { 0 };
	char *state_dir = NULL;
	size_t n_recs = 0, n_ev = 0, i, count[VM_STATE_MAX + 1] = { 0 };
	int first, code, rc = EXIT_FAIL;

	first = cmd_parse(cli, self, argc, argv, NULL, NULL, NULL, NULL, &code);
	if (first < 0)
		return code;
	code = cmd_load_manifest(argv[first], &m);
	if (code != EXIT_OK)
		return code;
	if (cmd_open_state(cli, &state_dir, &st, &err) < 0 ||
	    store_vm_list(st, m->fleet, &recs, &n_recs, &err) < 0 ||
	    store_event_list(st, m->fleet, NULL, &ev, &n_ev, &err) < 0 ||
	    rows_build(m, recs, n_recs, ev, n_ev, &rows, &err) < 0)
		goto out;
	if (cli->json) {
		if (jsonout_status(m->fleet, rows.v, rows.n, stdout, &err) < 0)
			goto out;
		rc = EXIT_OK;
		goto out;
	}
	for (i = 0; i < rows.n; i++) {
		int s = vm_state_from_string(rows.v[i].state);

		count[s >= 0 ? s : VM_STATE_MAX]++;
		if (summary)
			printf("%-20s %-12s %-10s %s\n", rows.v[i].name, rows.v[i].group,
			       rows.v[i].state, rows.v[i].error ? rows.v[i].error :
			       rows.v[i].last_event ? rows.v[i].last_event : "");
		else
			printf("%s %s\n", rows.v[i].name, rows.v[i].state);
	}
	if (summary) {
		printf("fleet '%s': %zu VM%s:", m->fleet, rows.n, rows.n == 1 ? "" : "s");
		for (i = 0; i < VM_STATE_MAX; i++)
			if (count[i])
				printf(" %zu %s", count[i], vm_state_to_string((enum vm_state) i));
		if (count[VM_STATE_MAX])
			printf(" %zu new", count[VM_STATE_MAX]);
		printf("\n");
	}
	rc = EXIT_OK;
out:
	if (rc != EXIT_OK)
		fprintf(stderr, "muster %s: %s\n", self->name, err.msg);
	rows_release(&rows);
	store_event_list_free(ev, n_ev);
	store_vm_list_free(recs, n_recs);
	store_free(st);
	free(state_dir);
	manifest_free(m);
	return rc;
}

int cmd_status(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	return status_or_list(self, cli, argc, argv, true);
}

int cmd_list(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	return status_or_list(self, cli, argc, argv, false);
}

int cmd_events(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	struct muster_err err = { 0 };
	struct manifest *m = NULL;
	struct store *st = NULL;
	struct store_event *ev = NULL;
	struct jsonout_event *jev = NULL;
	char *state_dir = NULL;
	const char *vm;
	size_t n = 0, i;
	int first, code, rc = EXIT_FAIL;

	first = cmd_parse(cli, self, argc, argv, NULL, NULL, NULL, NULL, &code);
	if (first < 0)
		return code;
	code = cmd_load_manifest(argv[first], &m);
	if (code != EXIT_OK)
		return code;
	vm = first + 1 < argc ? argv[first + 1] : NULL;
	if (cmd_open_state(cli, &state_dir, &st, &err) < 0 ||
	    store_event_list(st, m->fleet, vm, &ev, &n, &err) < 0)
		goto out;
	if (cli->json) {
		jev = calloc(n + 1, sizeof(*jev));
		if (!jev) {
			err_nomem(&err);
			goto out;
		}
		for (i = 0; i < n; i++)
			jev[i] = (struct jsonout_event) { ev[i].vm, (long long) ev[i].at, ev[i].from,
							  ev[i].to, ev[i].detail };
		if (jsonout_events(m->fleet, jev, n, stdout, &err) < 0)
			goto out;
	} else {
		for (i = 0; i < n; i++) {
			char when[32];

			iso_time(ev[i].at, when);
			printf("%s %-16s %-10s -> %-10s %s\n", when, ev[i].vm,
			       ev[i].from ? ev[i].from : "-", ev[i].to, ev[i].detail ? ev[i].detail : "");
		}
	}
	rc = EXIT_OK;
out:
	if (rc != EXIT_OK)
		fprintf(stderr, "muster events: %s\n", err.msg);
	free(jev);
	store_event_list_free(ev, n);
	store_free(st);
	free(state_dir);
	manifest_free(m);
	return rc;
}
