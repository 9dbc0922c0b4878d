/*
 * main.c: the muster command line: global options, then a command from the
 * table below.
 */
#include <getopt.h>
#include <sys/stat.h>

#define LOG_TAG "main"
#include "cmd.h"
#include "log.h"

static const struct cmd commands[] = {
	{ "validate", 1, 64, cmd_validate, "FILE...",
	  "check manifests and print a summary, or every problem found",
	  "Exit status 0 when every FILE is valid, 2 otherwise. Problems are printed as\n"
	  "FILE:LINE:COLUMN: key.path: message, one per line.\n" },
	{ "plan", 1, 1, cmd_plan, "FILE [--json]",
	  "show what apply would do to each VM, and why",
	  "For every VM: create, keep, update (in place), rebuild, destroy, or conflict\n"
	  "(a domain of that name exists that muster did not make), with the reason,\n"
	  "from the manifest, the state store and what the hypervisor reports.\n" },
};

static const struct option global_options[] = {
	{ "state", required_argument, NULL, 's' },
	{ "connect", required_argument, NULL, 'c' },
	{ "json", no_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: muster [--state DIR] [--connect URI] [--json] [--quiet] [-v] COMMAND [ARGS]\n"
		"\nmuster brings up fleets of libvirt VMs from a YAML manifest.\n\ncommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nglobal options:\n"
		"  --state DIR     state directory (default /var/lib/muster for root,\n"
		"                  else $XDG_STATE_HOME/muster or ~/.local/state/muster)\n"
		"  --connect URI   libvirt URI, overrides the manifest's hypervisor\n"
		"  --json          machine-readable output where the output is data\n"
		"  --quiet         errors only\n"
		"  -v, --verbose   more detail (twice: debug)\n"
		"\n`muster COMMAND --help` describes a command. Exit status: 0 success, 1 failure,\n"
		"2 usage or invalid manifest, 75 another run holds the lock.\n");
}

void cmd_usage(const struct cmd *cmd, FILE *f)
{
	fprintf(f, "usage: muster %s %s\n", cmd->name, cmd->usage);
}

static int global_option(struct cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case 's':
		if (!*arg) {
			fprintf(stderr, "muster: --state needs a directory\n");
			return -1;
		}
		cli->state_dir = arg;
		return 0;
	case 'c':
		cli->connect = arg;
		return 0;
	case 'j':
		cli->json = true;
		return 0;
	case 'q':
		cli->quiet = true;
		log_max_level = LOG_LEVEL_ERROR;
		return 0;
	case 'v':
		cli->verbose++;
		log_max_level = cli->verbose > 1 ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
		return 0;
	default:
		return 1;	/* not a global option */
	}
}

int cmd_parse(struct cli *cli, const struct cmd *cmd, int argc, char **argv,
	      const struct option *extra, const char *extra_short,
	      int (*on_option)(int opt, const char *arg, void *userdata), void *userdata,
	      int *ret_exit)
{
	struct option opts[32];
	char shortopts[64];
	size_t n = 0, i;
	int opt, nargs;

	for (i = 0; extra && extra[i].name && n < ARRAY_SIZE(opts) - 8; i++)
		opts[n++] = extra[i];
	for (i = 0; global_options[i].name; i++)
		opts[n++] = global_options[i];
	opts[n] = global_options[i];
	if (snprintf(shortopts, sizeof(shortopts), ":hqv%s", extra_short ? extra_short : "") >=
	    (int) sizeof(shortopts)) {
		*ret_exit = EXIT_USAGE;
		return -1;
	}
	optind = 0;	/* 0, not 1: glibc then starts afresh after main's own parse */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		int r;

		if (opt == 'h') {
			cmd_usage(cmd, stdout);
			printf("\n%s: %s\n\n%s", cmd->name, cmd->summary, cmd->help);
			*ret_exit = EXIT_OK;
			return -1;
		}
		if (opt == '?' || opt == ':') {
			if (opt == ':')
				fprintf(stderr, "muster %s: option '%s' needs a value\n", cmd->name,
					argv[optind - 1]);
			else
				fprintf(stderr, "muster %s: unknown option '%s'\n", cmd->name,
					argv[optind - 1]);
			cmd_usage(cmd, stderr);
			*ret_exit = EXIT_USAGE;
			return -1;
		}
		r = global_option(cli, opt, optarg);
		if (r > 0 && on_option)
			r = on_option(opt, optarg, userdata);
		if (r != 0) {
			*ret_exit = EXIT_USAGE;
			return -1;
		}
	}
	nargs = argc - optind;
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		fprintf(stderr, "muster %s: expected %s\n", cmd->name, cmd->usage);
		cmd_usage(cmd, stderr);
		*ret_exit = EXIT_USAGE;
		return -1;
	}
	return optind;
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	const struct cmd *cmd = NULL;
	size_t i;
	int opt;

	/* whatever the caller's umask, what muster creates is private */
	umask(077);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:hqv", global_options, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		if (opt == 'V') {
			printf("muster %s\n", MUSTER_VERSION);
			return EXIT_OK;
		}
		if (opt == '?' || opt == ':' || global_option(&cli, opt, optarg) != 0) {
			if (opt == '?' || opt == ':')
				fprintf(stderr, "muster: %s option '%s'\n",
					opt == '?' ? "unknown" : "missing value for", argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (streq(commands[i].name, argv[optind])) {
			cmd = &commands[i];
			break;
		}
	}
	if (!cmd) {
		fprintf(stderr, "muster: unknown command '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return cmd->run(cmd, &cli, argc - optind, argv + optind);
}
