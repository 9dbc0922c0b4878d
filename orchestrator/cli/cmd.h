/*
 * cmd.h: the command layer. Each command is an entry of the table in main.c
 * with its handler in cmd_<verb>.c; only this layer prints messages and
 * chooses exit codes (DESIGN.md "CLI").
 */
#ifndef MUSTER_CMD_H
#define MUSTER_CMD_H

#include <getopt.h>
#include <stdbool.h>

#include "manifest.h"
#include "run.h"
#include "store.h"
#include "common.h"

enum {
	EXIT_OK = 0,		/* every VM reached its target */
	EXIT_FAIL = 1,		/* something failed; the summary says what */
	EXIT_USAGE = 2,		/* bad usage or invalid manifest */
	EXIT_LOCKED = 75,	/* another run holds the lock */
};

/* Global options, accepted before or after the command. */
struct cli {
	const char *state_dir;	/* --state DIR, NULL = default */
	const char *connect;	/* --connect URI overrides the manifest */
	bool json;
	bool quiet;
	int verbose;
};

struct cmd {
	const char *name;
	int min_args, max_args;
	int (*run)(const struct cmd *self, struct cli *cli, int argc, char **argv);
	const char *usage;	/* arguments, after "muster NAME" */
	const char *summary;	/* one line for `muster --help` */
	const char *help;	/* the rest of `muster NAME --help` */
};

/*
 * Parse the options of command cmd in argv (argv[0] is the command name):
 * the global ones into cli, the command's own (extra, may be NULL) through
 * on_option(opt, optarg, userdata), which returns 0 or -1. --help prints the
 * command's help. Returns the index of the first operand, or -1 with the
 * exit code in *ret_exit (0 after --help).
 */
int cmd_parse(struct cli *cli, const struct cmd *cmd, int argc, char **argv,
	      const struct option *extra, const char *extra_short,
	      int (*on_option)(int opt, const char *arg, void *userdata), void *userdata,
	      int *ret_exit);

void cmd_usage(const struct cmd *cmd, FILE *f);

/* The global options, and applying one to cli: 0, -1 (bad value), 1 (not global). */
extern const struct option cmd_global_options[];
int cmd_global_option(struct cli *cli, int opt, const char *arg);

/*
 * A line for the operator on standard error (fmt ends in "\n"): an error,
 * a warning, what was left alone. To syslog too when main asked for it
 * (log_syslog: standard error is not a terminal).
 */
void cmd_error(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Load and validate a manifest; its problems are printed. Returns an exit code. */
int cmd_load_manifest(const char *file, struct manifest **ret);

/* A command's own options: long ones, short letters, and what takes them (cmd_parse). */
struct cmd_options {
	const struct option *longs;	/* NULL-terminated, or NULL */
	const char *shorts;		/* getopt letters, or NULL */
	int (*take)(int opt, const char *arg, void *userdata);
	void *userdata;
};

/* What a command over one fleet works with: its manifest, then its state. */
struct cmd_fleet {
	int first;			/* argv's first operand: the manifest's file */
	const char *path;		/* that file, as the operator named it */
	struct manifest *m;
	char *state_dir;		/* once cmd_fleet_state opened them */
	struct store *st;
};

/*
 * Every fleet command's start: parse argv (the global options and own, as
 * cmd_parse), then load the manifest its first operand names (problems
 * printed). EXIT_OK, or the exit code to return (EXIT_OK after --help:
 * then ret->m is NULL). Release ret with cmd_fleet_end in every case.
 */
int cmd_fleet_begin(const struct cmd *self, struct cli *cli, int argc, char **argv,
		    const struct cmd_options *own, struct cmd_fleet *ret) WUR;

/*
 * Open the engine's run over f's fleet, and its state first (as
 * cmd_fleet_state) when not open yet: o's command and policy fields are the
 * caller's, the rest (state, --connect, the manifest's path) f's and cli's.
 * 0, or -1 with err: cmd_run_exit(err) is the exit code then.
 */
int cmd_fleet_run(const struct cli *cli, struct cmd_fleet *f, struct run_opts *o,
		  struct run **ret, struct muster_err *err) WUR;

/* EXIT_LOCKED when another run holds the lock, else EXIT_FAIL. */
int cmd_run_exit(const struct muster_err *err);

/* The index of m's VM name; else -1, said (with the nearest name) as command who's error. */
ssize_t cmd_find_vm(const char *who, const struct manifest *m, const char *name);

/* Its state directory, prepared, and store, opened: 0, or -1 with err. */
int cmd_fleet_state(const struct cli *cli, struct cmd_fleet *f, struct muster_err *err) WUR;

void cmd_fleet_end(struct cmd_fleet *f);

/* Where muster serve listens unless told (--listen), and what render --ks-url assumes. */
#define SERVE_DEFAULT_LISTEN "127.0.0.1:8080"

int cmd_inventory(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_ssh(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_console(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_validate(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_plan(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_render(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_known_hosts(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_apply(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_rebuild(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_start(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_stop(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_reboot(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_destroy(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_status(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_hosts(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_list(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_events(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_serve(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_names(const struct cmd *self, struct cli *cli, int argc, char **argv);

/*
 * Each image file of m that a group boots from and that cannot be read
 * here (setup_image_readable), said on stderr as "muster WHO: image 'x':
 * cannot read '...': ..."; how many.
 */
size_t cmd_images_unreadable(const char *who, const struct manifest *m);

#endif
