/*
 * cmd_names.c: `muster names FILE [--vms | --groups]`: the fleet's group
 * and VM names, one a line, from the manifest alone (no state, no host),
 * for the shell's completion and for scripts.
 */
#include <errno.h>

#include "cmd.h"

enum { OPT_VMS = 1000, OPT_GROUPS };

struct names_opts {
	bool vms, groups;
};

static int names_option(int opt, const char *arg, void *userdata)
{
	struct names_opts *o = userdata;

	(void) arg;
	if (opt == OPT_VMS)
		o->vms = true;
	else if (opt == OPT_GROUPS)
		o->groups = true;
	else
		return -1;
	return 0;
}

int cmd_names(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vms", no_argument, NULL, OPT_VMS },
		{ "groups", no_argument, NULL, OPT_GROUPS },
		{ NULL, 0, NULL, 0 },
	};
	struct names_opts o = { 0 };
	const struct cmd_options own = { opts, NULL, names_option, &o };
	struct cmd_fleet f;
	size_t i;
	int rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, &own, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	/* neither asked for: both (a VM|GROUP operand takes either) */
	if (!o.vms && !o.groups)
		o.vms = o.groups = true;
	/* (names are RFC 1123 labels, checked by the manifest: nothing to escape) */
	for (i = 0; o.groups && i < f.m->n_groups; i++)
		printf("%s\n", f.m->groups[i].name);
	for (i = 0; o.vms && i < f.m->n_vms; i++)
		printf("%s\n", f.m->vms[i].name);
	if (fflush(stdout) == EOF) {
		cmd_error("muster names: cannot write the output: %s\n", strerror(errno));
		rc = EXIT_FAIL;
	}
out:
	cmd_fleet_end(&f);
	return rc;
}
