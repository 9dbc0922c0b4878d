/* cmd_render.c: `muster render FILE VM [--seed-dir DIR | --iso FILE]`: exactly what a VM gets. */
#include <errno.h>
#include <sys/stat.h>

#include "afile.h"
#include "cmd.h"
#include "keystore.h"
#include "seediso.h"
#include "statedir.h"
#include "vmseed.h"

struct render_opts {
	const char *seed_dir;
	const char *iso;
	bool rotate;
};

enum { OPT_SEED_DIR = 1000, OPT_ISO, OPT_ROTATE };

static int render_option(int opt, const char *arg, void *userdata)
{
	struct render_opts *o = userdata;

	switch (opt) {
	case OPT_SEED_DIR:
		o->seed_dir = arg;
		return 0;
	case OPT_ISO:
		o->iso = arg;
		return 0;
	case OPT_ROTATE:
		o->rotate = true;
		return 0;
	default:
		return -1;
	}
}

/* The seed's files, in the order they are written; network-config only when there is one. */
static size_t seed_files(const struct cidata *cd, struct seediso_file files[3])
{
	size_t n = 0;

	files[n++] = (struct seediso_file) { "meta-data", cd->meta_data, cd->meta_data_len };
	files[n++] = (struct seediso_file) { "user-data", cd->user_data, cd->user_data_len };
	if (cd->network_config)
		files[n++] = (struct seediso_file) { "network-config", cd->network_config,
						     cd->network_config_len };
	return n;
}

static int write_seed_dir(const char *dir, const struct seediso_file *files, size_t n,
			  struct muster_err *err)
{
	size_t i;

	if (statedir_prepare(dir, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		char *path;
		int r;

		if (asprintf(&path, "%s/%s", dir, files[i].name) < 0)
			return err_nomem(err);
		r = afile_write_all(path, files[i].data, files[i].len, 0600, err);
		free(path);
		if (r < 0)
			return -1;
	}
	return 0;
}

int cmd_render(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed-dir", required_argument, NULL, OPT_SEED_DIR },
		{ "iso", required_argument, NULL, OPT_ISO },
		{ "rotate-keys", no_argument, NULL, OPT_ROTATE },
		{ NULL, 0, NULL, 0 },
	};
	struct render_opts o = { 0 };
	struct muster_err err = { 0 };
	struct manifest *m = NULL;
	struct store *st = NULL;
	struct keypair *keys = NULL;
	struct cmd_authkeys auth = { 0 };
	struct vmspec_macs macs = { 0 };
	struct cidata cd = { 0 };
	struct seediso_file files[3];
	char *state_dir = NULL;
	size_t vm, n_files;
	ssize_t found;
	int first, code, rc = EXIT_FAIL;

	first = cmd_parse(cli, self, argc, argv, opts, NULL, render_option, &o, &code);
	if (first < 0)
		return code;
	if (o.seed_dir && o.iso) {
		fprintf(stderr, "muster render: give --seed-dir or --iso, not both\n");
		return EXIT_USAGE;
	}
	code = cmd_load_manifest(argv[first], &m);
	if (code != EXIT_OK)
		return code;
	found = manifest_find_vm(m, argv[first + 1]);
	if (found < 0) {
		fprintf(stderr, "muster render: fleet '%s' has no VM '%s'\n", m->fleet, argv[first + 1]);
		manifest_free(m);
		return EXIT_USAGE;
	}
	vm = (size_t) found;
	if (manifest_vm_group(m, &m->vms[vm])->bootstrap != MF_BOOTSTRAP_CLOUD_INIT) {
		err_set(&err, MUSTER_E_INVALID, "VM '%s' bootstraps with kickstart, which muster "
			"cannot render yet", m->vms[vm].name);
		goto out;
	}
	if (cmd_open_state(cli, &state_dir, &st, &err) < 0 ||
	    cmd_host_keys(state_dir, st, m, &vm, 1, o.rotate, &keys, &err) < 0 ||
	    cmd_authorized_keys(state_dir, m, &auth, &err) < 0 ||
	    vmspec_macs_assign(m, &macs, &err) < 0)
		goto out;
	{
		struct vmseed_input in = {
			.m = m, .vm = vm, .macs = &macs, .host_keys = keys,
			.authorized_keys = auth.keys, .n_authorized_keys = auth.n,
		};

		if (vmseed_render(&in, &cd, &err) < 0)
			goto out;
	}
	n_files = seed_files(&cd, files);
	if (o.iso) {
		if (seediso_write(o.iso, SEEDISO_VOLID, files, n_files, &err) < 0)
			goto out;
	} else if (o.seed_dir) {
		if (write_seed_dir(o.seed_dir, files, n_files, &err) < 0)
			goto out;
	} else {
		size_t i;

		for (i = 0; i < n_files; i++) {
			printf("%s==> %s <==\n", i ? "\n" : "", files[i].name);
			fwrite(files[i].data, 1, files[i].len, stdout);
		}
		if (fflush(stdout) == EOF) {
			err_set_errno(&err, MUSTER_E_IO, errno, "cannot write the output");
			goto out;
		}
	}
	rc = EXIT_OK;
out:
	if (rc != EXIT_OK)
		fprintf(stderr, "muster render: %s\n", err.msg);
	cidata_release(&cd);
	vmspec_macs_release(&macs);
	cmd_authkeys_release(&auth);
	keystore_free(keys, m ? m->n_host_key_types : 0);
	store_free(st);
	free(state_dir);
	manifest_free(m);
	return rc;
}
