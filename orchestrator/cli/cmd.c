/*
 * cmd.c: what every command shares: option parsing (global options are
 * accepted before and after the command), loading the manifest, opening the
 * state.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#define LOG_TAG "cmd"
#include "cmd.h"
#include "setup.h"
#include "fmt.h"
#include "log.h"
#include "statedir.h"

const struct option cmd_global_options[] = {
	{ "state", required_argument, NULL, 's' },
	{ "connect", required_argument, NULL, 'c' },
	{ "json", no_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

void cmd_usage(const struct cmd *cmd, FILE *f)
{
	fprintf(f, "usage: muster %s %s\n", cmd->name, cmd->usage);
}

int cmd_global_option(struct cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case 's':
		if (!*arg) {
			cmd_error("muster: --state needs a directory\n");
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
	for (i = 0; cmd_global_options[i].name; i++)
		opts[n++] = cmd_global_options[i];
	opts[n] = cmd_global_options[i];
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
				cmd_error("muster %s: option '%s' needs a value\n", cmd->name,
					  argv[optind - 1]);
			else
				cmd_error("muster %s: unknown option '%s'\n", cmd->name,
					  argv[optind - 1]);
			cmd_usage(cmd, stderr);
			*ret_exit = EXIT_USAGE;
			return -1;
		}
		r = cmd_global_option(cli, opt, optarg);
		if (r > 0 && on_option)
			r = on_option(opt, optarg, userdata);
		if (r != 0) {
			*ret_exit = EXIT_USAGE;
			return -1;
		}
	}
	nargs = argc - optind;
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		cmd_error("muster %s: expected %s\n", cmd->name, cmd->usage);
		cmd_usage(cmd, stderr);
		*ret_exit = EXIT_USAGE;
		return -1;
	}
	return optind;
}

int cmd_load_manifest(const char *file, struct manifest **ret)
{
	struct mf_diags diags;

	char *text = NULL, *line, *next;
	size_t len = 0;
	FILE *f;

	if (manifest_load(file, ret, &diags) == 0)
		return EXIT_OK;
	/* each problem a line of its own through cmd_error (and so to syslog) */
	f = open_memstream(&text, &len);
	if (!f) {
		mf_diags_print(&diags, file, stderr);
	} else {
		mf_diags_print(&diags, file, f);
		if (fclose(f) == 0 && text)
			for (line = text; *line; line = next) {
				next = strchr(line, '\n');
				next = next ? next + 1 : line + strlen(line);
				cmd_error("%.*s", (int) (next - line), line);
			}
		free(text);
	}
	mf_diags_release(&diags);
	return EXIT_USAGE;
}

static int open_state(const struct cli *cli, char **ret_dir, struct store **ret_store,
		      struct muster_err *err)
{
	char *dir = NULL;

	if (statedir_resolve(cli->state_dir, &dir, err) < 0 || statedir_prepare(dir, err) < 0 ||
	    store_open(dir, ret_store, err) < 0) {
		/* a failure that names nothing (out of memory) is the state directory's */
		if (!strchr(err->msg, '\''))
			err_prefix(err, "state directory '%s'", dir ? dir : cli->state_dir ?
				   cli->state_dir : "(default)");
		free(dir);
		return -1;
	}
	*ret_dir = dir;
	return 0;
}


int cmd_fleet_begin(const struct cmd *self, struct cli *cli, int argc, char **argv,
		    const struct cmd_options *own, struct cmd_fleet *ret)
{
	static const struct cmd_options none;
	int code;

	memset(ret, 0, sizeof(*ret));
	if (!own)
		own = &none;
	ret->first = cmd_parse(cli, self, argc, argv, own->longs, own->shorts, own->take,
			       own->userdata, &code);
	if (ret->first < 0)
		return code;
	ret->path = argv[ret->first];
	return cmd_load_manifest(argv[ret->first], &ret->m);
}

int cmd_fleet_state(const struct cli *cli, struct cmd_fleet *f, struct muster_err *err)
{
	return open_state(cli, &f->state_dir, &f->st, err);
}

void cmd_fleet_end(struct cmd_fleet *f)
{
	store_free(f->st);
	free(f->state_dir);
	manifest_free(f->m);
	memset(f, 0, sizeof(*f));
}

void cmd_error(const char *fmt, ...)
{
	char line[2048];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	fmt_vcut(line, sizeof(line), fmt, ap);
	va_end(ap);
	(void) fputs(line, stderr);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		n--;
	/* "muster " is syslog's ident already */
	if (strncmp(line, "muster ", 7) == 0)
		log_syslog_line(LOG_LEVEL_ERROR, line + 7, n - 7);
	else
		log_syslog_line(LOG_LEVEL_ERROR, line, n);
}

int cmd_fleet_run(const struct cli *cli, struct cmd_fleet *f, struct run_opts *o,
		  struct run **ret, struct muster_err *err)
{
	if (!f->st && cmd_fleet_state(cli, f, err) < 0)
		return -1;
	o->state_dir = f->state_dir;
	o->st = f->st;
	o->connect = cli->connect;
	/* as virsh does: libvirt's default URI when nothing names one */
	if (!o->connect && f->m->hypervisor_default) {
		const char *env = getenv("LIBVIRT_DEFAULT_URI");

		if (env && *env)
			o->connect = env;
	}
	o->manifest_path = f->path;
	return run_open(f->m, o, ret, err);
}

int cmd_run_exit(const struct muster_err *err)
{
	return err->code == MUSTER_E_LOCKED ? EXIT_LOCKED : EXIT_FAIL;
}

size_t cmd_images_unreadable(const char *who, const struct manifest *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->n_images; i++) {
		struct muster_err err = { 0 };

		if (setup_image_readable(m, i, &err) < 0) {
			cmd_error("muster %s: %s\n", who, err.msg);
			n++;
		}
	}
	return n;
}

ssize_t cmd_find_vm(const char *who, const struct manifest *m, const char *name)
{
	ssize_t found = manifest_find_vm(m, name);
	const char *near;

	if (found >= 0)
		return found;
	near = manifest_near_name(m, name, false);
	if (near)
		cmd_error("muster %s: fleet '%s' has no VM '%s' (did you mean '%s'?)\n", who,
			  m->fleet, name, near);
	else
		cmd_error("muster %s: fleet '%s' has no VM '%s'\n", who, m->fleet, name);
	return -1;
}
