/*
 * bench/seed.c: SSH host keys and a NoCloud seed ISO for N VMs, the way
 * muster makes them (keystore on every core, cidata + libisofs in process),
 * side by side in the same run with bench/sysadmin-seed.sh (ssh-keygen and
 * cloud-localds per VM). Prints figures; it is not a test.
 *
 *   seed [N [SHELL_N]]     defaults: 1000 VMs, the shell on 100 of them
 *
 * It works in $MUSTER_BENCH_DIR (default /var/tmp): put it on the file
 * system the state directory lives on, since creating files is much of it.
 */
#include <errno.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "afile.h"
#include "buf.h"
#include "bootstrap.h"
#include "keystore.h"
#include "seediso.h"
#include "statedir.h"
#include "vmseed.h"

extern char **environ;

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double) t.tv_sec * 1e3 + (double) t.tv_nsec / 1e6;
}

static void die(const char *what, const struct muster_err *err)
{
	fprintf(stderr, "bench/seed: %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(1);
}

/* Run argv, wait; -1 unless it exits 0. */
static int run(char *const argv[])
{
	pid_t pid;
	int status;

	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	size_t shell_n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;
	char *dir, *state, *seeds, *shell, count[32];
	const char *base = getenv("MUSTER_BENCH_DIR");
	struct muster_err err = { 0 };
	struct buf text = BUF_INIT(1u << 20);
	struct manifest *m = NULL;
	struct mf_diags diags;
	struct store *st = NULL;
	struct keypair *keys = NULL;
	struct vmspec_macs macs;
	size_t *all, i;
	double t0, t_parse, t_keys, t_render = 0, t_iso = 0, t_iso_mem = 0, t_batch = 0, t_shell;
	const char *authorized = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJpSwJ1dRZcUq8cX2bCjxbQ0b2F0d4qQ7rX8mCkA0nR ops";

	if (asprintf(&dir, "%s/muster-bench-XXXXXX", base ? base : "/var/tmp") < 0)
		die("memory", NULL);
	if (n == 0 || n > MF_MAX_VMS || !mkdtemp(dir))
		die("arguments or temporary directory", NULL);
	if (asprintf(&state, "%s/state", dir) < 0 || asprintf(&seeds, "%s/seeds", dir) < 0 ||
	    asprintf(&shell, "%s/shell", dir) < 0)
		die("memory", NULL);
	(void) buf_printf(&text, "fleet: bench\nimages: {base: {path: /var/lib/libvirt/images/base.qcow2}}\n"
			  "networks: {slirp: {type: user, forward: {ssh: 127.0.0.1:auto}}}\n"
			  "ssh: {authorized_keys: [\"%s\"]}\n"
			  "groups: {vm: {count: %zu, image: base, networks: [slirp]}}\n", authorized, n);

	t0 = now_ms();
	if (manifest_parse("bench.yaml", buf_str(&text), text.len, &m, &diags) < 0) {
		mf_diags_print(&diags, "bench.yaml", stderr);
		return 1;
	}
	t_parse = now_ms() - t0;

	if (statedir_prepare(state, &err) < 0 || statedir_prepare(seeds, &err) < 0 ||
	    store_open(state, &st, &err) < 0)
		die("state", &err);
	all = calloc(n, sizeof(*all));
	for (i = 0; i < n; i++)
		all[i] = i;
	t0 = now_ms();
	if (bootstrap_host_keys(state, st, m, all, n, false, &keys, &err) < 0)
		die("keys", &err);
	t_keys = now_ms() - t0;

	if (vmspec_macs_assign(m, &macs, &err) < 0)
		die("macs", &err);
	for (i = 0; i < n; i++) {
		struct vmseed_input in = { .m = m, .vm = i, .macs = &macs, .host_keys = &keys[i],
					   .authorized_keys = &authorized, .n_authorized_keys = 1 };
		struct cidata cd;
		struct seediso_file files[2];
		char *path;
		void *img;
		size_t img_len;

		t0 = now_ms();
		if (vmseed_render(&in, &cd, &err) < 0)
			die("render", &err);
		t_render += now_ms() - t0;
		files[0] = (struct seediso_file) { "meta-data", cd.meta_data, cd.meta_data_len };
		files[1] = (struct seediso_file) { "user-data", cd.user_data, cd.user_data_len };
		t0 = now_ms();
		if (seediso_build(SEEDISO_VOLID, files, 2, &img, &img_len, &err) < 0)
			die("iso in memory", &err);
		t_iso_mem += now_ms() - t0;
		if (asprintf(&path, "%s/%s-batch.iso", seeds, m->vms[i].name) < 0)
			die("memory", NULL);
		t0 = now_ms();
		if (afile_write_all_nosync(path, img, img_len, 0600, &err) < 0)
			die("iso batch", &err);
		t_batch += now_ms() - t0;
		free(img);
		free(path);
		if (asprintf(&path, "%s/%s.iso", seeds, m->vms[i].name) < 0)
			die("memory", NULL);
		t0 = now_ms();
		if (seediso_write(path, SEEDISO_VOLID, files, 2, &err) < 0)
			die("iso", &err);
		t_iso += now_ms() - t0;
		free(path);
		cidata_release(&cd);
	}

	/* the batch of seed files made durable at once, as keys are */
	t0 = now_ms();
	if (afile_sync_fs(seeds, &err) < 0)
		die("sync", &err);
	t_batch += now_ms() - t0;

	(void) snprintf(count, sizeof(count), "%zu", shell_n);
	{
		char *sh_argv[] = { "bench/sysadmin-seed.sh", shell, count, NULL };

		t0 = now_ms();
		if (shell_n && run(sh_argv) < 0)
			die("bench/sysadmin-seed.sh (cloud-image-utils installed? make deps)", NULL);
		t_shell = now_ms() - t0;
	}

	{
		double muster_vm = (t_keys + t_render + t_iso_mem + t_batch) / (double) n;
		double shell_vm = shell_n ? t_shell / (double) shell_n : 0;

		printf("seed bench: %zu VMs (ed25519 host key + NoCloud seed ISO each), %ld cores\n",
		       n, sysconf(_SC_NPROCESSORS_ONLN));
		printf("  %-44s %9.3f ms total\n", "manifest parse", t_parse);
		printf("  %-44s %9.3f ms/VM\n", "host keys (all cores, files + store)", t_keys / (double) n);
		printf("  %-44s %9.3f ms/VM\n", "user-data + meta-data (libyaml)", t_render / (double) n);
		printf("  %-44s %9.3f ms/VM\n", "seed ISO in memory (libisofs)", t_iso_mem / (double) n);
		printf("  %-44s %9.3f ms/VM\n", "seed ISO files, one sync for the batch", t_batch / (double) n);
		printf("  %-44s %9.3f ms/VM\n", "(seed ISO file, each synced: render --iso)", t_iso / (double) n);
		printf("  %-44s %9.3f ms/VM\n", "muster: keys + seed ISO files", muster_vm);
		if (shell_n) {
			printf("  %-44s %9.3f ms/VM (%zu VMs)\n", "shell: ssh-keygen + cloud-localds", shell_vm,
			       shell_n);
			printf("  %-44s %9.1fx\n", "muster faster by", shell_vm / muster_vm);
		}
	}
	{
		char *rm_argv[] = { "/bin/rm", "-rf", dir, NULL };

		(void) run(rm_argv);
	}
	return 0;
}
