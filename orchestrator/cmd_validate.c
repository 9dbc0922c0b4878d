/* cmd_validate.c: `muster validate FILE...` (plays the role of `vmd -n`). */
#include "cmd.h"
#include "manifest.h"

int cmd_validate(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	int first, i, rc = EXIT_OK, code;

	first = cmd_parse(cli, self, argc, argv, NULL, NULL, NULL, NULL, &code);
	if (first < 0)
		return code;
	for (i = first; i < argc; i++) {
		struct manifest *m = NULL;

		if (cmd_load_manifest(argv[i], &m) != EXIT_OK) {
			rc = EXIT_USAGE;
			continue;
		}
		if (!cli->quiet)
			printf("%s: fleet '%s': %zu group%s, %zu VM%s\n", argv[i], m->fleet,
			       m->n_groups, m->n_groups == 1 ? "" : "s", m->n_vms,
			       m->n_vms == 1 ? "" : "s");
		manifest_free(m);
	}
	return rc;
}
