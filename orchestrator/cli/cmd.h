/*
 * cmd.h: the command layer. Each command is an entry of the table in main.c
 * with its handler in cmd_<verb>.c; only this layer prints messages and
 * chooses exit codes (DESIGN.md "CLI").
 */
#ifndef MUSTER_CMD_H
#define MUSTER_CMD_H

#include <getopt.h>
#include <stdbool.h>

#include "buf.h"
#include "cidata.h"
#include "keys.h"
#include "manifest.h"
#include "placement.h"
#include "plan.h"
#include "store.h"
#include "tokens.h"
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

/* Load and validate a manifest; its problems are printed. Returns an exit code. */
int cmd_load_manifest(const char *file, struct manifest **ret);

/* Resolve and prepare the state directory and open the store (caller frees both). */
int cmd_open_state(const struct cli *cli, char **ret_dir, struct store **ret_store,
		   struct muster_err *err) WUR;

/*
 * Host keys of the VMs m->vms[vms[i]], one per manifest host key type (the
 * keystore: loaded, or made on all cores; flags as keystore_host_keys's).
 * *ret: n * types keypairs, VM by VM (keystore_free).
 */
int cmd_host_keys(const char *state_dir, struct store *st, const struct manifest *m,
		  const size_t *vms, size_t n, unsigned flags, struct keypair **ret,
		  struct muster_err *err) WUR;

/* The keys that may log in: the manifest's, else the fleet's admin key. */
struct cmd_authkeys {
	const char *const *keys;
	size_t n;
	struct keypair admin;		/* set when the admin key is used */
	char *admin_line;
	const char *own[1];
};

/* Fill ret; when the admin key is made, say where it is. Release with cmd_authkeys_release. */
int cmd_authorized_keys(const char *state_dir, const struct manifest *m, struct cmd_authkeys *ret,
			struct muster_err *err) WUR;
void cmd_authkeys_release(struct cmd_authkeys *a);

/*
 * The fleet's hypervisors: --connect URI, else hypervisor, else hosts:,
 * each with a connection opened on first use.
 */
struct cmd_hosts {
	struct placement_host *h;
	struct hv **hv;
	size_t n;
};

int cmd_hosts_init(const struct cli *cli, const struct manifest *m, struct cmd_hosts *ret,
		   struct muster_err *err) WUR;
/* Host i's connection, opened now if need be (it stays the struct's). */
int cmd_hosts_hv(struct cmd_hosts *hosts, size_t i, struct hv **ret, struct muster_err *err) WUR;
/* The index of the host with that URI, or -1 (also for NULL). */
ssize_t cmd_hosts_find(const struct cmd_hosts *hosts, const char *uri);
void cmd_hosts_release(struct cmd_hosts *hosts);

/*
 * The plan for m: what the manifest wants, what st recorded, what the
 * fleet's hosts report. With ret_host non-NULL, also where each VM of
 * m->vms lives or is to be placed (*ret_host[i], an index into hosts;
 * caller frees): on the host its domain was found on, else the one the
 * store recorded, else placement's choice.
 */
int cmd_plan_compute(const struct cli *cli, const struct manifest *m, struct store *st,
		     struct cmd_hosts *hosts, struct plan **ret, size_t **ret_host,
		     struct muster_err *err) WUR;

/*
 * The guest agent every cloud-init VM gets, base64-encoded once for the
 * fleet: $MUSTER_AGENT, else agent/muster-agent beside the muster binary
 * (the build tree), else ../lib/muster/muster-agent (make install); its
 * gzip'd copy (the same path + ".gz", made by the build) when there is one
 * (*ret_gzip: the seed says gz+b64). Not found: an error saying where it
 * looked. Caller frees *ret_b64.
 */
int cmd_agent_b64(char **ret_b64, bool *ret_gzip, struct muster_err *err) WUR;

/* The same agent binary, as it is: *ret (caller frees), *ret_n bytes. */
int cmd_agent_raw(unsigned char **ret, size_t *ret_n, struct muster_err *err) WUR;

/*
 * Kickstart VM vm's report key (token_report_key, from its first host key:
 * loaded, or made on first use as cmd_vm_bootstrap does). 0, or -1 with err.
 */
int cmd_report_key(const char *state_dir, struct store *st, const struct manifest *m, size_t vm,
		   char out[TOKEN_REPORT_KEY_LEN + 1], struct muster_err *err) WUR;

/* muster serve's routes (*ret_n of them): what the HTTP fuzzer routes against too. */
struct httpd_route;
const struct httpd_route *cmd_serve_routes(size_t *ret_n);

/* Where muster serve listens unless told (--listen), and what render --ks-url assumes. */
#define SERVE_DEFAULT_LISTEN "127.0.0.1:8080"

/*
 * VM vm's bootstrap as muster gives it: for a cloud-init VM its NoCloud
 * files (*ret_seed, cidata_release), with the agent when agent_b64 is not
 * NULL; for a kickstart VM its Kickstart file (appended to *ret_ks; the
 * template is read before any key is made). The VM's host keys are loaded,
 * made on first use, or made anew with rotate. 0, or -1 with err
 * (MUSTER_E_INVALID: the manifest gives it something that cannot be used).
 */
int cmd_vm_bootstrap(const char *state_dir, struct store *st, const struct manifest *m, size_t vm,
		     bool rotate, const char *agent_b64, bool agent_gzip, struct cidata *ret_seed,
		     struct buf *ret_ks, struct muster_err *err) WUR;

/* A volume in a host's pool that looks like one of the fleet's and belongs to no VM of it. */
struct cmd_orphan {
	char *volume;
	const char *host;	/* the host's URI (borrowed from hosts) */
};

/*
 * The pools' volumes named like the fleet's (<fleet>-<vm>.qcow2 or
 * <fleet>-<vm>-seed.iso) that are no wanted VM's on its host and no VM the
 * plan destroys; a name that a longer fleet of the store claims (web-eu
 * for web) is that fleet's. host_of: from cmd_plan_compute. Free with
 * cmd_orphans_free.
 */
int cmd_orphans(const struct manifest *m, struct store *st, struct cmd_hosts *hosts,
		const struct plan *p, const size_t *host_of, struct cmd_orphan **ret,
		size_t *ret_n, struct muster_err *err) WUR;
void cmd_orphans_free(struct cmd_orphan *o, size_t n);

int cmd_validate(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_plan(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_render(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_known_hosts(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_apply(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_start(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_stop(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_reboot(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_destroy(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_status(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_list(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_events(const struct cmd *self, struct cli *cli, int argc, char **argv);
int cmd_serve(const struct cmd *self, struct cli *cli, int argc, char **argv);

/*
 * Render every kickstart VM's template with stand-in keys, so that a value
 * that cannot be made safe where it lands (kickstart.h) is found before
 * anything is made: 0, or -1 with err naming the VM, the key and the
 * template's line and column.
 */
int cmd_kickstart_check(const struct manifest *m, struct muster_err *err) WUR;

#endif
