/*
 * cmd_ssh.c: into a VM: `muster ssh FILE VM [-- CMD...]` (OpenSSH, exec'd,
 * with the fleet's known_hosts, admin key, user and port) and
 * `muster console FILE VM` (its serial console through libvirt; ^] leaves).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include "cmd.h"
#include "fmt.h"
#include "sshaccess.h"
#include "termfilter.h"

#define SSH_PROGRAM "ssh"
#define CONSOLE_ESCAPE 0x1d		/* ^] */

int cmd_ssh(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	struct muster_err err = { 0 };
	struct cmd_fleet f;
	struct ssh_access a = { 0 };
	const struct ssh_target *t;
	const char *words[SSH_OPTION_WORDS_MAX];
	char port[8], **args = NULL;
	size_t n, k, i;
	int rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, NULL, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	rc = EXIT_USAGE;
	if (cmd_find_vm(self->name, f.m, argv[f.first + 1]) < 0)
		goto out;
	rc = EXIT_FAIL;
	if (cmd_fleet_state(cli, &f, &err) < 0 || ssh_access_load(f.st, f.state_dir, f.m, &a, &err) < 0)
		goto fail;
	t = ssh_access_find(&a, argv[f.first + 1]);
	if (!t || !t->host[0]) {
		cmd_error("muster ssh: VM '%s' (%s) has no address muster knows: give it a forward "
			  "of ssh, an address of muster's, or wait until its agent reports one\n",
			  argv[f.first + 1], t ? t->row->state : "new");
		goto out;
	}
	n = ssh_option_words(&a, t, words);
	args = calloc(n + (size_t) argc + 8, sizeof(*args));
	if (!args) {
		err_nomem(&err);
		goto fail;
	}
	k = 0;
	args[k++] = (char *) SSH_PROGRAM;
	for (i = 0; i < n; i++)
		args[k++] = (char *) words[i];
	fmt_fit(port, sizeof(port), "%u", t->port);
	args[k++] = (char *) "-p";
	args[k++] = port;
	args[k++] = (char *) "-l";
	args[k++] = (char *) a.user;
	args[k++] = (char *) t->host;
	/* the command, as OpenSSH takes it after the destination ("--" first: never an option) */
	if (argc - f.first > 2) {
		args[k++] = (char *) "--";
		for (i = (size_t) f.first + 2; i < (size_t) argc; i++)
			args[k++] = argv[i];
	}
	args[k] = NULL;
	(void) fflush(NULL);
	execvp(SSH_PROGRAM, args);
	err_set_errno(&err, MUSTER_E_IO, errno, "cannot run '%s'", SSH_PROGRAM);
fail:
	cmd_error("muster %s: %s\n", self->name, err.msg);
out:
	free(args);
	ssh_access_release(&a);
	cmd_fleet_end(&f);
	return rc;
}

/* ---- console --------------------------------------------------------------------------- */

static volatile sig_atomic_t console_signal;

static void on_signal(int sig)
{
	console_signal = sig;
}

/* Write all n bytes of p to fd (non-blocking or not): 0, or -1 (errno). */
static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (console_signal || (poll(&pfd, 1, 1000) < 0 && errno != EINTR))
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t) w;
	}
	return 0;
}

/*
 * Carry bytes between the terminal and the console until ^] is typed, the
 * console ends (the guest's QEMU exits, the host is lost) or a signal
 * comes. What the guest writes goes through termfilter.h. Returns why it
 * ended, for the operator.
 */
static const char *console_loop(int fd)
{
	struct termfilter tf;
	char in[4096], out[sizeof(in) + TERMFILTER_CSI_MAX];

	termfilter_init(&tf);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = fd, .events = POLLIN },
		};
		ssize_t r;

		if (console_signal)
			return "stopped by a signal";
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return "poll failed";
		}
		if (p[1].revents) {
			r = read(fd, in, sizeof(in));
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				return "the console closed";
			if (r > 0 && write_all(STDOUT_FILENO, out,
					       termfilter_feed(&tf, in, (size_t) r, out)) < 0)
				return "cannot write to the terminal";
		}
		if (p[0].revents) {
			char *esc;

			r = read(STDIN_FILENO, in, sizeof(in));
			if (r == 0)
				return "end of input";
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				return "cannot read the terminal";
			if (r <= 0)
				continue;
			esc = memchr(in, CONSOLE_ESCAPE, (size_t) r);
			if (write_all(fd, in, esc ? (size_t) (esc - in) : (size_t) r) < 0)
				return "the console closed";
			if (esc)
				return NULL;	/* detached */
		}
	}
}

int cmd_console(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	const struct run_opts defaults = { .command = "console" };
	struct muster_err err = { 0 };
	struct cmd_fleet f;
	struct run *run = NULL;
	struct run_opts ro = defaults;
	struct termios saved, raw;
	struct sigaction sa = { .sa_handler = on_signal };
	bool tty = isatty(STDIN_FILENO) == 1, restored = true;
	const char *uri = NULL, *why;
	ssize_t vm;
	int fd = -1, rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, NULL, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	rc = EXIT_USAGE;
	vm = cmd_find_vm(self->name, f.m, argv[f.first + 1]);
	if (vm < 0)
		goto out;
	rc = EXIT_FAIL;
	if (cmd_fleet_run(cli, &f, &ro, &run, &err) < 0 ||
	    run_console_open(run, (size_t) vm, &fd, &uri, &err) < 0)
		goto fail;
	sigemptyset(&sa.sa_mask);
	(void) sigaction(SIGTERM, &sa, NULL);
	(void) sigaction(SIGHUP, &sa, NULL);
	(void) sigaction(SIGINT, &sa, NULL);
	(void) signal(SIGPIPE, SIG_IGN);
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0)
			restored = false;
	}
	/* on a raw terminal a line ends in \r\n */
	fprintf(stderr, "Connected to VM '%s' on %s (escape character is ^])%s", f.m->vms[vm].name,
		uri, restored ? "\n" : "\r\n");
	why = console_loop(fd);
	/* what the guest may have left set (its screen, colours, charset, cursor) set back */
	if (isatty(STDOUT_FILENO) == 1)
		(void) write_all(STDOUT_FILENO, TERMFILTER_RESET, sizeof(TERMFILTER_RESET) - 1);
	if (!restored)
		(void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	if (why)
		cmd_error("\nmuster console: VM '%s': %s\n", f.m->vms[vm].name, why);
	else
		fprintf(stderr, "\nDetached from VM '%s'\n", f.m->vms[vm].name);
	rc = why && !streq(why, "end of input") ? EXIT_FAIL : EXIT_OK;
	goto out;
fail:
	cmd_error("muster %s: %s\n", self->name, err.msg);
out:
	if (fd >= 0)
		(void) close(fd);
	run_close(run);
	cmd_fleet_end(&f);
	return rc;
}
