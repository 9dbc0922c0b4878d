/*
 * runview.h: what a run shows while the engine works (run.h's callbacks):
 * the progress display (progress.h), downloads, what prune or a verb did,
 * what the plan leaves alone, and the summary line. apply and rebuild.
 */
#ifndef MUSTER_RUNVIEW_H
#define MUSTER_RUNVIEW_H

#include "cmd.h"
#include "progress.h"
#include "run.h"

struct run_view {
	const struct cli *cli;
	const struct manifest *m;
	const char *verb;		/* "apply", "rebuild": in messages */
	struct progress *progress;
	const char **names, **actions;	/* per item, for the display */
	struct run_callbacks cb;	/* what run_execute is given */
};

void run_view_init(struct run_view *v, const struct cli *cli, const struct manifest *m,
		   const char *verb);

/*
 * Close run (NULL allowed) and release v. After a result with workers still
 * in a call that has not returned (res->stuck), the process ends here with
 * exit status rc: the run's state, which they would go on with, is not freed.
 */
void run_view_close(struct run_view *v, struct run *run, const struct run_result *res, int rc);

/*
 * Each of the run's hosts that does not answer, said as "muster VERB: host
 * U does not answer: ...: its VMs are unknown" (after run_plan). How many.
 */
size_t run_view_tell_down(const char *verb, struct run *run);

/*
 * What the plan leaves alone (hosts that do not answer, orphaned volumes,
 * VMs in conflict), said before anything is done.
 */
int run_view_tell_plan(struct run_view *v, struct run *run, struct muster_err *err) WUR;

/*
 * The run's end as told: the summary (not with -q when all went well),
 * and a run whose end could not be recorded said so. EXIT_OK when res is
 * ok, else EXIT_FAIL.
 */
int run_view_end(const struct run_view *v, struct run *run, const struct run_policy *pol,
		 const struct run_result *res);

/*
 * Where a run's words for a person go: stdout, or stderr under --json
 * (stdout then holds the JSON summary alone).
 */
FILE *run_view_out(const struct cli *cli);

/*
 * --json: the run's summary (json.h: json_write_run) on stdout: its
 * record, exit status rc, and why it could not go on (failed: NULL when it
 * went on). EXIT_OK, or EXIT_FAIL when it cannot be written (said).
 */
int run_view_json(const char *command, const struct manifest *m, const struct run_result *res,
		  int rc, const struct muster_err *failed);

/* "fleet 'F' on HOST: N started, N kept, N failed (...)" */
void run_view_summary(const struct run_view *v, struct run *run, const struct run_policy *pol,
		      const struct run_result *res);

#endif
