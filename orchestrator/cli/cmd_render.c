/*
 * cmd_render.c: `muster render FILE VM [--seed-dir DIR | --iso FILE] [--kickstart]
 * [--ks-url [--listen ADDR:PORT]]`: exactly what a VM gets: a cloud-init VM's
 * NoCloud seed, or (--kickstart) a kickstart VM's Kickstart file, or the URL
 * its installer fetches that file from, with a fresh token (--ks-url).
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"
#include "bootstrap.h"
#include "cmd.h"
#include "mustache.h"
#include "seediso.h"
#include "statedir.h"
#include "tokens.h"

struct render_opts {
	const char *seed_dir;
	const char *iso;
	const char *listen;
	bool rotate;
	bool kickstart;
	bool ks_url;
	bool nocloud_url;
	bool no_agent;
};

enum { OPT_SEED_DIR = 1000, OPT_ISO, OPT_ROTATE, OPT_KICKSTART, OPT_KS_URL, OPT_NOCLOUD_URL,
       OPT_LISTEN, OPT_NO_AGENT };

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
	case OPT_KS_URL:
		o->ks_url = true;
		return 0;
	case OPT_NOCLOUD_URL:
		o->nocloud_url = true;
		return 0;
	case OPT_LISTEN:
		o->listen = arg;
		return 0;
	case OPT_NO_AGENT:
		o->no_agent = true;
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

/* Write the files into dir, each atomically (afile.h). */
static int write_files(const char *dir, const struct seediso_file *files, size_t n,
		       struct muster_err *err)
{
	size_t i;

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

/* Remove a directory of files muster wrote (named in files), and it; what is left stays. */
static void remove_files(const char *dir, const struct seediso_file *files, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *path;

		if (asprintf(&path, "%s/%s", dir, files[i].name) < 0)
			continue;
		(void) unlink(path);
		free(path);
	}
	(void) rmdir(dir);
}

/*
 * The seed's files into dir. A dir that does not exist yet appears whole
 * or not at all: the files go to a new directory beside it, renamed into
 * place once all are written. Into one that exists, each file is replaced
 * whole (a failure midway may leave some files new, some old).
 */
static int write_seed_dir(const char *dir, const struct seediso_file *files, size_t n,
			  struct muster_err *err)
{
	char *tmp = NULL;
	int r = -1;

	if (access(dir, F_OK) == 0)
		return statedir_prepare(dir, err) < 0 ? -1 : write_files(dir, files, n, err);
	if (asprintf(&tmp, "%s.tmp-XXXXXX", dir) < 0)
		return err_nomem(err);
	if (!mkdtemp(tmp)) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot make a directory beside '%s'", dir);
		goto out;
	}
	if (write_files(tmp, files, n, err) < 0)
		goto fail;
	if (rename(tmp, dir) < 0) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot rename '%s' to '%s'", tmp, dir);
		goto fail;
	}
	r = 0;
	goto out;
fail:
	remove_files(tmp, files, n);
out:
	free(tmp);
	return r;
}

/*
 * Print the URL VM vm gets its bootstrap from, with a fresh token (an
 * earlier one stops working): for a kickstart VM its installer's inst.ks=
 * (.../ks/<vm>/<token>), for a cloud-init VM NoCloud's s= in
 * ds=nocloud-net;s=... (.../nocloud/<vm>/<token>/). On the manifest's endpoint,
 * else http://LISTEN.
 */
static int print_url(struct store *st, const struct manifest *m, size_t vm, const char *listen,
		     struct muster_err *err)
{
	bool ks = manifest_vm_group(m, &m->vms[vm])->bootstrap == MF_BOOTSTRAP_KICKSTART;
	const char *name = m->vms[vm].name;
	char token[TOKEN_LEN + 1];
	const char *base = m->endpoint;
	size_t blen;

	if (store_vm_ensure(st, m->fleet, name, manifest_vm_group(m, &m->vms[vm])->name, err) < 0 ||
	    token_issue(st, m->fleet, name, TOKEN_TTL_DEFAULT_S, token, err) < 0)
		return -1;
	if (!base || listen)
		printf("http://%s", listen ? listen : SERVE_DEFAULT_LISTEN);
	else {
		blen = strlen(base);
		while (blen && base[blen - 1] == '/')
			blen--;
		printf("%.*s", (int) blen, base);
	}
	printf("/%s/%s/%s%s\n", ks ? "ks" : "nocloud", name, token, ks ? "" : "/");
	if (fflush(stdout) == EOF)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot write the output");
	return 0;
}

int cmd_render(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed-dir", required_argument, NULL, OPT_SEED_DIR },
		{ "iso", required_argument, NULL, OPT_ISO },
		{ "rotate-keys", no_argument, NULL, OPT_ROTATE },
		{ "kickstart", no_argument, NULL, OPT_KICKSTART },
		{ "ks-url", no_argument, NULL, OPT_KS_URL },
		{ "nocloud-url", no_argument, NULL, OPT_NOCLOUD_URL },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "no-agent", no_argument, NULL, OPT_NO_AGENT },
		{ NULL, 0, NULL, 0 },
	};
	struct render_opts o = { 0 };
	struct muster_err err = { 0 };
	const struct cmd_options own = { opts, NULL, render_option, &o };
	struct cmd_fleet f;
	const struct manifest *m;
	struct cidata cd = { 0 };
	struct buf ks = BUF_INIT(MU_MAX_OUTPUT);
	struct seediso_file files[3];
	size_t vm, n_files;
	ssize_t found;
	struct bootstrap_fleet bf = { 0 };
	int rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, &own, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	m = f.m;
	rc = EXIT_USAGE;
	if (o.seed_dir && o.iso) {
		cmd_error("muster render: give --seed-dir or --iso, not both\n");
		goto out;
	}
	if ((o.kickstart || o.ks_url) && (o.seed_dir || o.iso)) {
		cmd_error("muster render: %s prints the %s: give no %s\n",
			  o.kickstart ? "--kickstart" : "--ks-url",
			  o.kickstart ? "kickstart" : "kickstart's URL", o.seed_dir ? "--seed-dir" : "--iso");
		goto out;
	}
	if (o.kickstart && o.ks_url) {
		cmd_error("muster render: give --kickstart or --ks-url, not both\n");
		goto out;
	}
	if (o.nocloud_url && (o.seed_dir || o.iso || o.kickstart || o.ks_url)) {
		cmd_error("muster render: --nocloud-url prints a URL: give it alone\n");
		goto out;
	}
	if (o.listen && !o.ks_url && !o.nocloud_url) {
		cmd_error("muster render: --listen goes with --ks-url or --nocloud-url\n");
		goto out;
	}
	found = cmd_find_vm("render", m, argv[f.first + 1]);
	if (found < 0)
		goto out;
	vm = (size_t) found;
	if (manifest_vm_group(m, &m->vms[vm])->bootstrap == MF_BOOTSTRAP_KICKSTART) {
		if (o.nocloud_url) {
			cmd_error("muster render: VM '%s' bootstraps with kickstart: its URL is "
				  "--ks-url's\n", m->vms[vm].name);
			goto out;
		}
		if (!o.kickstart && !o.ks_url) {
			cmd_error("muster render: VM '%s' bootstraps with kickstart: render it "
				  "with --kickstart\n", m->vms[vm].name);
			goto out;
		}
	} else if (o.kickstart || o.ks_url) {
		cmd_error("muster render: VM '%s' bootstraps with cloud-init: render it without "
			  "%s (--seed-dir DIR or --iso FILE write its seed)\n", m->vms[vm].name,
			  o.kickstart ? "--kickstart" : "--ks-url");
		goto out;
	}
	rc = EXIT_FAIL;
	if (cmd_fleet_state(cli, &f, &err) < 0)
		goto out;
	if (o.ks_url || o.nocloud_url) {
		if (print_url(f.st, m, vm, o.listen, &err) < 0)
			goto out;
		rc = EXIT_OK;
		goto out;
	}
	/* the agent goes into a cloud-init VM's user-data as apply and serve put
	 * it; --no-agent leaves it out (golden files, reading the rest) */
	if (bootstrap_fleet_open(f.state_dir, m, NULL,
				 o.kickstart || o.no_agent ? 0 : BOOTSTRAP_AGENT, &bf, &err) < 0)
		goto out;
	if (bootstrap_vm(&bf, f.state_dir, f.st, vm, o.rotate, &cd, &ks, &err) < 0) {
		/* the manifest gives the VM a value or template that cannot be used */
		if (err.code == MUSTER_E_INVALID)
			rc = EXIT_USAGE;
		goto out;
	}
	if (o.kickstart) {
		if ((ks.len && fwrite(ks.data, 1, ks.len, stdout) != ks.len) || fflush(stdout) == EOF) {
			err_set_errno(&err, MUSTER_E_IO, errno, "cannot write the output");
			goto out;
		}
		rc = EXIT_OK;
		goto out;
	}
	n_files = seed_files(&cd, files);
	if (o.iso) {
		if (seediso_write(o.iso, SEEDISO_VOLID, files, n_files, &err) < 0) {
			err_prefix(&err, "VM '%s': seed image '%s'", m->vms[vm].name, o.iso);
			goto out;
		}
	} else if (o.seed_dir) {
		if (write_seed_dir(o.seed_dir, files, n_files, &err) < 0) {
			err_prefix(&err, "VM '%s': seed directory '%s'", m->vms[vm].name, o.seed_dir);
			goto out;
		}
	} else {
		unsigned generation = 0;
		size_t i;

		/* what the files are of: the VM's rebuild generation, in its instance-id */
		if (store_vm_generation(f.st, m->fleet, m->vms[vm].name, &generation, &err) < 0)
			goto out;
		printf("# VM '%s', generation %u (rebuilt %u time%s; the instance-id changes with each)\n",
		       m->vms[vm].name, generation, generation, generation == 1 ? "" : "s");
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
		cmd_error("muster render: %s\n", err.msg);
	cidata_release(&cd);
	bootstrap_fleet_release(&bf);
	buf_release(&ks);
	cmd_fleet_end(&f);
	return rc;
}
