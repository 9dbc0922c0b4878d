/*
 * cmd_inventory.c: `muster inventory FILE [--format ini|yaml|json]`: the
 * fleet as an Ansible inventory (engine/inventory.h), as a static file in
 * either of Ansible's own formats, or as a dynamic inventory's --list
 * prints it (JSON; examples/muster-inventory).
 */
#include <errno.h>

#include "cmd.h"
#include "fmt.h"
#include "inventory.h"
#include "json.h"

enum inv_format { INV_INI, INV_YAML, INV_JSON };

static int format_option(int opt, const char *arg, void *userdata)
{
	enum inv_format *f = userdata;

	if (opt != 'f')
		return -1;
	if (streq(arg, "ini"))
		*f = INV_INI;
	else if (streq(arg, "yaml"))
		*f = INV_YAML;
	else if (streq(arg, "json"))
		*f = INV_JSON;
	else {
		cmd_error("muster inventory: --format: 'ini', 'yaml' or 'json', not '%s'\n", arg);
		return -1;
	}
	return 0;
}

/*
 * s as a double-quoted string that both Ansible's INI values (Python
 * literals) and YAML read back as s: \ and " escaped, control characters as
 * \xNN; other text as it is.
 */
static void quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* The variables every VM shares: name and value (value NULL: left out). */
static size_t shared_vars(const struct inventory *inv, struct json_inv_var vars[3])
{
	size_t n = 0;

	vars[n++] = (struct json_inv_var) { "ansible_user", inv->a.user };
	if (inv->a.identity)
		vars[n++] = (struct json_inv_var) { "ansible_ssh_private_key_file", inv->a.identity };
	vars[n++] = (struct json_inv_var) { "ansible_ssh_common_args", inv->common_args };
	return n;
}

static const char *control_path(const struct inventory *inv, const struct ssh_target *t)
{
	return inv->control[t - inv->a.t];
}

static void host_vars_ini(FILE *f, const struct inventory *inv, const struct ssh_target *t)
{
	if (t->host[0])
		fprintf(f, " ansible_host=%s", t->host);
	if (t->port != 22)
		fprintf(f, " ansible_port=%u", t->port);
	fprintf(f, " muster_state=%s ansible_control_path=\"%s\" ansible_ssh_extra_args=\"-o %s\"",
		t->row->state, control_path(inv, t), t->alias);
}

static void write_ini(FILE *f, const struct inventory *inv, const char *fleet)
{
	struct json_inv_var vars[3];
	size_t i, j, n = shared_vars(inv, vars);

	fprintf(f, "# Ansible inventory of fleet '%s', written by muster\n", fleet);
	for (i = 0; i < inv->n_groups; i++) {
		fprintf(f, "\n[%s]\n", inv->g[i].name);
		for (j = 0; j < inv->g[i].n; j++) {
			fputs(inv->g[i].hosts[j]->row->name, f);
			host_vars_ini(f, inv, inv->g[i].hosts[j]);
			fputc('\n', f);
		}
	}
	fputs("\n[all:vars]\n", f);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s=", vars[i].name);
		quoted(f, vars[i].value);
		fputc('\n', f);
	}
}

static void write_yaml(FILE *f, const struct inventory *inv, const char *fleet)
{
	struct json_inv_var vars[3];
	size_t i, j, n = shared_vars(inv, vars);

	fprintf(f, "# Ansible inventory of fleet '%s', written by muster\nall:\n  vars:\n", fleet);
	for (i = 0; i < n; i++) {
		fprintf(f, "    %s: ", vars[i].name);
		quoted(f, vars[i].value);
		fputc('\n', f);
	}
	fputs("  children:\n", f);
	for (i = 0; i < inv->n_groups; i++) {
		fputs("    ", f);
		quoted(f, inv->g[i].name);	/* a name such as "yes" or "123" stays a string */
		fprintf(f, ":\n      hosts:%s\n", inv->g[i].n ? "" : " {}");
		for (j = 0; j < inv->g[i].n; j++) {
			const struct ssh_target *t = inv->g[i].hosts[j];

			fputs("        ", f);
			quoted(f, t->row->name);
			fputs(":\n", f);
			if (t->host[0])
				fprintf(f, "          ansible_host: \"%s\"\n", t->host);
			if (t->port != 22)
				fprintf(f, "          ansible_port: %u\n", t->port);
			fprintf(f, "          muster_state: \"%s\"\n", t->row->state);
			fprintf(f, "          ansible_control_path: \"%s\"\n", control_path(inv, t));
			fprintf(f, "          ansible_ssh_extra_args: \"-o %s\"\n", t->alias);
		}
	}
}

static int write_json(FILE *f, const struct inventory *inv, struct muster_err *err)
{
	struct json_inv_host *hosts = calloc(inv->a.n + 1, sizeof(*hosts));
	struct json_inv_group *groups = calloc(inv->n_groups + 1, sizeof(*groups));
	size_t *idx = NULL, i, j, at = 0, total = 0;
	struct json_inv_var vars[3];
	int r = -1;

	for (i = 0; i < inv->n_groups; i++)
		total += inv->g[i].n;
	idx = calloc(total + 1, sizeof(*idx));
	if (!hosts || !groups || !idx) {
		(void) err_nomem(err);
		goto out;
	}
	for (i = 0; i < inv->a.n; i++)
		hosts[i] = (struct json_inv_host) {
			.name = inv->a.t[i].row->name,
			.address = inv->a.t[i].host[0] ? inv->a.t[i].host : NULL,
			.port = inv->a.t[i].port != 22 ? inv->a.t[i].port : 0,
			.state = inv->a.t[i].row->state,
			.control_path = inv->control[i],
			.extra_args = inv->extra[i],
		};
	for (i = 0; i < inv->n_groups; i++) {
		groups[i] = (struct json_inv_group) { inv->g[i].name, &idx[at], inv->g[i].n };
		for (j = 0; j < inv->g[i].n; j++)
			idx[at++] = (size_t) (inv->g[i].hosts[j] - inv->a.t);
	}
	r = json_write_inventory(hosts, inv->a.n, groups, inv->n_groups, vars,
				 shared_vars(inv, vars), f, err);
out:
	free(idx);
	free(groups);
	free(hosts);
	return r;
}

int cmd_inventory(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct muster_err err = { 0 };
	enum inv_format format = INV_INI;
	const struct cmd_options own = { opts, NULL, format_option, &format };
	struct inventory inv = { 0 };
	struct cmd_fleet f;
	int rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, &own, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	rc = EXIT_FAIL;
	if (cli->json)
		format = INV_JSON;
	if (cmd_fleet_state(cli, &f, &err) < 0 ||
	    inventory_load(f.st, f.state_dir, f.m, &inv, &err) < 0)
		goto fail;
	if (format == INV_JSON) {
		if (write_json(stdout, &inv, &err) < 0)
			goto fail;
	} else if (format == INV_YAML) {
		write_yaml(stdout, &inv, f.m->fleet);
	} else {
		write_ini(stdout, &inv, f.m->fleet);
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		err_set_errno(&err, MUSTER_E_IO, errno, "cannot write the output");
		goto fail;
	}
	rc = EXIT_OK;
	goto out;
fail:
	cmd_error("muster %s: %s\n", self->name, err.msg);
out:
	inventory_release(&inv);
	cmd_fleet_end(&f);
	return rc;
}
