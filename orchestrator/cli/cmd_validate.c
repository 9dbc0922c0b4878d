/* cmd_validate.c: `muster validate FILE...` (plays the role of `vmd -n`). */
#include <limits.h>

#include "bootstrap.h"
#include "cmd.h"
#include "fmt.h"
#include "manifest.h"

int cmd_validate(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	struct muster_err err = { 0 };
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
		/* what only rendering finds: a value that cannot be made safe where it lands */
		if (bootstrap_kickstart_check(m, &err) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], err.msg);
			rc = EXIT_USAGE;
			manifest_free(m);
			continue;
		}
		/* a manifest may be valid and its images not here (yet): said, not refused */
		{
			char who[PATH_MAX + 32];

			fmt_cut(who, sizeof(who), "validate: %s: warning", argv[i]);
			(void) cmd_images_unreadable(who, m);
		}
		if (!cli->quiet)
			printf("%s: fleet '%s': %zu group%s, %zu VM%s\n", argv[i], m->fleet,
			       m->n_groups, m->n_groups == 1 ? "" : "s", m->n_vms,
			       m->n_vms == 1 ? "" : "s");
		manifest_free(m);
	}
	return rc;
}
