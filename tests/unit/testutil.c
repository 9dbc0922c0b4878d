/* testutil.c: helpers shared by the unit tests (testutil.h). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

extern char **environ;

int tu_run(const char *const argv[], struct buf *out, bool with_stderr)
{
	posix_spawn_file_actions_t fa;
	int fds[2], status, rc;
	char chunk[65536];
	ssize_t n;
	pid_t pid;

	buf_reset(out);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	assert_int_equal(posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0), 0);
	assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fds[1], 1), 0);
	if (with_stderr)
		assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fds[1], 2), 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *) argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		(void) buf_printf(out, "cannot run %s: %s", argv[0], strerror(rc));
		return -1;
	}
	while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		assert_int_equal(buf_append(out, chunk, (size_t) n), 0);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct manifest *tu_manifest(const char *text)
{
	struct manifest *m = NULL;
	struct mf_diags d;

	if (manifest_parse("t.yaml", text, strlen(text), &m, &d) < 0) {
		mf_diags_print(&d, "t.yaml", stderr);
		mf_diags_release(&d);
		fail_msg("manifest refused");
	}
	return m;
}
