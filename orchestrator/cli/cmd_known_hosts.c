/* cmd_known_hosts.c: `muster known-hosts FILE [-o OUT]`: the fleet's OpenSSH known_hosts. */
#include <errno.h>

#include "afile.h"
#include "buf.h"
#include "cmd.h"
#include "sshaccess.h"

static int out_option(int opt, const char *arg, void *userdata)
{
	if (opt != 'o')
		return -1;
	*(const char **) userdata = arg;
	return 0;
}

int cmd_known_hosts(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct muster_err err = { 0 };
	struct buf text = BUF_INIT(256u << 20);
	struct cmd_fleet f;
	const struct manifest *m;
	const char *out = NULL;
	const struct cmd_options own = { opts, "o:", out_option, &out };
	int rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, &own, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	rc = EXIT_FAIL;
	m = f.m;
	if (cmd_fleet_state(cli, &f, &err) < 0 || ssh_known_hosts(f.st, f.state_dir, m, &text, &err) < 0)
		goto fail;
	if (buf_failed(&text)) {
		err_nomem(&err);
		goto fail;
	}
	if (out) {
		/* public keys only: readable by all, like ~/.ssh/known_hosts */
		if (afile_write_all(out, buf_str(&text), text.len, 0644, &err) < 0)
			goto fail;
	} else if (fwrite(buf_str(&text), 1, text.len, stdout) != text.len || fflush(stdout) == EOF) {
		err_set_errno(&err, MUSTER_E_IO, errno, "cannot write the output");
		goto fail;
	}
	rc = EXIT_OK;
	goto out;
fail:
	cmd_error("muster known-hosts: %s\n", err.msg);
out:
	buf_release(&text);
	cmd_fleet_end(&f);
	return rc;
}
