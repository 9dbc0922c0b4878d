/*
 * cmd_render.c: `muster render FILE VM [--seed-dir DIR | --iso FILE] [--kickstart]`:
 * exactly what a VM gets: a cloud-init VM's NoCloud seed, or (--kickstart) a
 * kickstart VM's Kickstart file.
 */
#include <errno.h>
#include <sys/stat.h>

#include "afile.h"
#include "cmd.h"
#include "keystore.h"
#include "kickstart.h"
#include "seediso.h"
#include "statedir.h"
#include "vmseed.h"

struct render_opts {
	const char *seed_dir;
	const char *iso;
	bool rotate;
	bool kickstart;
};

enum { OPT_SEED_DIR = 1000, OPT_ISO, OPT_ROTATE, OPT_KICKSTART };

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
	case OPT_KICKSTART:
		o->kickstart = true;
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

/* Print the kickstart of VM vm; err filled on failure (exit code in *ret_exit). */
static int render_kickstart(const struct cli *cli, const struct manifest *m, size_t vm, bool rotate,
			    int *ret_exit, struct muster_err *err)
{
	const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
	struct store *st = NULL;
	struct keypair *keys = NULL;
	struct cmd_authkeys auth = { 0 };
	struct vmspec_macs macs = { 0 };
	struct buf out = BUF_INIT(MU_MAX_OUTPUT);
	char *state_dir = NULL, *path = NULL, *text = NULL;
	size_t len;
	int rc = -1;

	*ret_exit = EXIT_FAIL;
	/* the template first: a missing one is reported before keys are made */
	if (kickstart_template_read(m, vm, &path, &text, &len, err) < 0)
		goto out;
	if (cmd_open_state(cli, &state_dir, &st, err) < 0 ||
	    cmd_host_keys(state_dir, st, m, &vm, 1, rotate, &keys, err) < 0 ||
	    cmd_authorized_keys(state_dir, m, &auth, err) < 0 ||
	    vmspec_macs_assign(m, &macs, err) < 0)
		goto out;
	{
		struct kickstart_input in = {
			.m = m, .vm = vm, .macs = &macs, .host_keys = keys,
			.authorized_keys = auth.keys, .n_authorized_keys = auth.n,
			.template_name = g->kickstart.template_path,
			.template_text = text, .template_len = len,
		};

		if (kickstart_render(&in, &out, err) < 0) {
			/* the manifest gives the VM a value or template that cannot be used */
			if (err->code == MUSTER_E_INVALID)
				*ret_exit = EXIT_USAGE;
			goto out;
		}
	}
	if ((out.len && fwrite(out.data, 1, out.len, stdout) != out.len) || fflush(stdout) == EOF) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot write the output");
		goto out;
	}
	*ret_exit = EXIT_OK;
	rc = 0;
out:
	buf_release(&out);
	vmspec_macs_release(&macs);
	cmd_authkeys_release(&auth);
	keystore_free(keys, m->n_host_key_types);
	store_free(st);
	free(state_dir);
	free(path);
	free(text);
	return rc;
}

int cmd_render(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed-dir", required_argument, NULL, OPT_SEED_DIR },
		{ "iso", required_argument, NULL, OPT_ISO },
		{ "rotate-keys", no_argument, NULL, OPT_ROTATE },
		{ "kickstart", no_argument, NULL, OPT_KICKSTART },
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
	if (o.kickstart && (o.seed_dir || o.iso)) {
		fprintf(stderr, "muster render: --kickstart prints the kickstart: give no %s\n",
			o.seed_dir ? "--seed-dir" : "--iso");
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
	if (manifest_vm_group(m, &m->vms[vm])->bootstrap == MF_BOOTSTRAP_KICKSTART) {
		if (!o.kickstart) {
			fprintf(stderr, "muster render: VM '%s' bootstraps with kickstart: render it "
				"with --kickstart\n", m->vms[vm].name);
			rc = EXIT_USAGE;
			goto out;
		}
		(void) render_kickstart(cli, m, vm, o.rotate, &rc, &err);
		goto out;
	}
	if (o.kickstart) {
		fprintf(stderr, "muster render: VM '%s' bootstraps with cloud-init: render it without "
			"--kickstart (--seed-dir DIR or --iso FILE write its seed)\n", m->vms[vm].name);
		rc = EXIT_USAGE;
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
	if (rc != EXIT_OK && err.code != MUSTER_OK)
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
