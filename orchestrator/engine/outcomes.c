/*
 * outcomes.c: what came of each VM of a run, and the run's end recorded
 * with its counts (run_priv.h: run_outcome_*, run_record_end): what
 * `--json` shows and /metrics counts.
 */
#define LOG_TAG "run"
#include "log.h"
#include "run_priv.h"
#include "common.h"

int run_outcomes_new(struct run *r, size_t n_vms, size_t n_items)
{
	size_t i;

	r->out_vms = n_vms;
	r->out_items = n_items;
	r->fail_step = calloc(n_vms + 1, sizeof(*r->fail_step));
	r->reached = calloc(n_vms + 1, sizeof(*r->reached));
	r->vm_action = calloc(n_vms + 1, sizeof(*r->vm_action));
	r->failed_vm = calloc(n_vms + 1, sizeof(*r->failed_vm));
	r->succeeded = calloc(n_vms + 1, sizeof(*r->succeeded));
	r->fail_class = calloc(n_vms + 1, sizeof(*r->fail_class));
	r->error = calloc(n_vms + 1, sizeof(*r->error));
	r->pruned = calloc(n_items + 1, sizeof(*r->pruned));
	r->prune_error = calloc(n_items + 1, sizeof(*r->prune_error));
	r->prune_class = calloc(n_items + 1, sizeof(*r->prune_class));
	r->n_out_cap = n_vms + n_items;
	r->out = calloc(r->n_out_cap + 1, sizeof(*r->out));
	if (!r->fail_step || !r->reached || !r->vm_action || !r->failed_vm || !r->succeeded ||
	    !r->fail_class || !r->error || !r->pruned || !r->prune_error || !r->prune_class ||
	    !r->out)
		return -1;
	for (i = 0; i < n_vms; i++) {
		atomic_init(&r->fail_step[i], RUN_FAIL_OTHER);
		atomic_init(&r->reached[i], VM_STATE_MAX);
		r->vm_action[i] = PLAN_ACTION_MAX;
	}
	return 0;
}

void run_outcomes_free(struct run *r)
{
	size_t i;

	for (i = 0; r->error && i < r->out_vms; i++)
		free(r->error[i]);
	for (i = 0; r->prune_error && i < r->out_items; i++)
		free(r->prune_error[i]);
	free(r->fail_step);
	free(r->reached);
	free(r->vm_action);
	free(r->failed_vm);
	free(r->succeeded);
	free(r->fail_class);
	free(r->error);
	free(r->pruned);
	free(r->prune_error);
	free(r->prune_class);
	free(r->out);
}

void run_outcome_failed(struct run *r, size_t vm, enum run_fail_class c, const char *why)
{
	if (!r->failed_vm)
		return;
	r->failed_vm[vm] = true;
	r->fail_class[vm] = c;
	free(r->error[vm]);
	r->error[vm] = why ? strdup(why) : NULL;
}

void run_outcome_add(struct run *r, const char *name, const char *action,
		     enum run_vm_result result, enum run_fail_class c, const char *error)
{
	if (!r->out || r->n_out >= r->n_out_cap)
		return;
	r->out[r->n_out++] = (struct run_vm_outcome) {
		.name = name, .action = action, .result = result,
		.fail = result == RUN_VM_FAILED ? c : RUN_FAIL_MAX,
		.error = result == RUN_VM_FAILED ? error : NULL,
	};
}

/* r->out counted by (action, result), and its failures by class, into sum (arrays of n_out). */
static void count(const struct run *r, struct store_vm_count *vms, struct store_fail_count *fails,
		  struct store_run_summary *sum)
{
	size_t i, j;

	for (i = 0; i < r->n_out; i++) {
		const struct run_vm_outcome *o = &r->out[i];
		const char *result = run_vm_result_to_string(o->result);

		for (j = 0; j < sum->n_vms && !(streq(vms[j].action, o->action) &&
						streq(vms[j].result, result)); j++)
			;
		if (j == sum->n_vms)
			vms[sum->n_vms++] = (struct store_vm_count) { o->action, result, 0 };
		vms[j].n++;
		if (o->result != RUN_VM_FAILED)
			continue;
		result = run_fail_class_to_string(o->fail);
		for (j = 0; j < sum->n_failures && !streq(fails[j].fail_class, result); j++)
			;
		if (j == sum->n_failures)
			fails[sum->n_failures++] = (struct store_fail_count) { result, 0 };
		fails[j].n++;
	}
}

void run_record_end(struct run *r, const char *outcome, struct run_result *res)
{
	_cleanup_free_ struct store_vm_count *vms = calloc(r->n_out + 1, sizeof(*vms));
	_cleanup_free_ struct store_fail_count *fails = calloc(r->n_out + 1, sizeof(*fails));
	struct store_run_summary sum = { .outcome = outcome, .vms = vms, .failures = fails };
	struct store_run *last = NULL;
	size_t n_last = 0;
	int status = streq(outcome, "ok") ? 0 : 1;

	res->run_id = r->run_id;
	res->outcome = streq(outcome, "ok") ? "ok" : streq(outcome, "failed") ? "failed" : "error";
	res->vms = r->out;
	res->n_vms = r->n_out;
	if (!r->run_id)
		return;
	if (!vms || !fails) {
		/* the end still, without the counts */
		sum.n_vms = sum.n_failures = 0;
		if (store_run_end(r->o.st, r->run_id, status, &res->unrecorded) < 0)
			log_debug("run %lld: its end is not recorded", (long long) r->run_id);
		return;
	}
	count(r, vms, fails, &sum);
	if (store_run_finish(r->o.st, r->run_id, status, &sum, &res->unrecorded) < 0) {
		log_debug("run %lld: its end is not recorded", (long long) r->run_id);
		return;
	}
	/* the times as recorded: what /metrics shows of it */
	if (store_run_list(r->o.st, r->m->fleet, 1, &last, &n_last, NULL) == 0 && n_last &&
	    last[0].id == r->run_id) {
		res->started_at = last[0].started_at;
		res->ended_at = last[0].ended_at;
	}
	store_run_list_free(last, n_last);
}
