/* inventory.c: a fleet as an Ansible inventory (inventory.h). */
#include "buf.h"
#include "fmt.h"
#include "hash.h"
#include "inventory.h"
#include "vmstate.h"

/* name as Ansible wants a group's: letters, digits and '_' */
static void group_name(char out[INVENTORY_GROUP_MAX], const char *prefix, const char *name)
{
	char *p;

	fmt_fit(out, INVENTORY_GROUP_MAX, "%s%s", prefix, name);
	for (p = out; *p; p++)
		if (*p == '-' || *p == ' ')
			*p = '_';
}

/*
 * s for a shell-like split (ansible_ssh_common_args): as it is when it holds
 * nothing a shell reads, else '...' with ' as '\''
 */
static void shell_quote(struct buf *b, const char *s)
{
	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
			 "_./=:@,+-") == strlen(s)) {
		(void) buf_puts(b, s);
		return;
	}
	(void) buf_putc(b, '\'');
	for (; *s; s++)
		if (*s == '\'')
			(void) buf_puts(b, "'\\''");
		else
			(void) buf_putc(b, *s);
	(void) buf_putc(b, '\'');
}

static struct inv_group *group_add(struct inventory *inv, const char *prefix, const char *name)
{
	struct inv_group *g = &inv->g[inv->n_groups++];

	group_name(g->name, prefix, name);
	return g;
}

int inventory_load(struct store *st, const char *state_dir, const struct manifest *m,
		   struct inventory *inv, struct muster_err *err)
{
	const char *words[SSH_OPTION_WORDS_MAX];
	struct buf args = BUF_INIT(64 * 1024);
	size_t i, j, k, n_words, at = 0;
	bool state_seen[VM_STATE_MAX + 1] = { false };

	memset(inv, 0, sizeof(*inv));
	if (ssh_access_load(st, state_dir, m, &inv->a, err) < 0)
		return -1;
	inv->control = calloc(inv->a.n + 1, sizeof(*inv->control));
	for (k = 0; inv->control && k < inv->a.n; k++) {
		uint8_t d[HASH_SHA256_LEN];
		char hex[2 * HASH_SHA256_LEN + 1], *id = NULL;

		if (asprintf(&id, "%s/%s", m->fleet, inv->a.t[k].row->name) < 0)
			return err_nomem(err);
		if (hash_sha256(id, strlen(id), d) < 0) {
			free(id);
			return err_set(err, MUSTER_E_IO, "cannot hash a VM's name");
		}
		free(id);
		hash_hex(d, 8, hex);
		fmt_fit(inv->control[k], INVENTORY_CONTROL_MAX, "%%(directory)s/m-%s-%%%%r", hex);
	}
	inv->extra = calloc(inv->a.n + 1, sizeof(*inv->extra));
	for (k = 0; inv->extra && k < inv->a.n; k++)
		if (asprintf(&inv->extra[k], "-o %s", inv->a.t[k].alias) < 0) {
			inv->extra[k] = NULL;
			return err_nomem(err);
		}
	inv->g = calloc(m->n_groups + VM_STATE_MAX + 2, sizeof(*inv->g));
	/* each VM in at most two groups: its own and its state's */
	inv->members = calloc(2 * inv->a.n + 1, sizeof(*inv->members));
	if (!inv->g || !inv->members || !inv->control || !inv->extra)
		return err_nomem(err);
	for (i = 0; i < m->n_groups; i++) {
		struct inv_group *g = group_add(inv, "", m->groups[i].name);

		for (j = 0; j + 1 < inv->n_groups; j++)
			if (streq(inv->g[j].name, g->name))
				return err_set(err, MUSTER_E_INVALID, "groups '%s' and '%s' would both "
					       "be Ansible's group '%s'", m->groups[j].name,
					       m->groups[i].name, g->name);
		if (strncmp(g->name, "muster_", 7) == 0 || streq(g->name, "all") ||
		    streq(g->name, "ungrouped"))
			return err_set(err, MUSTER_E_INVALID, "group '%s' would be Ansible's group "
				       "'%s', which is %s", m->groups[i].name, g->name,
				       g->name[0] == 'm' ? "muster's own (a VM state's)" :
				       "Ansible's own");

		g->hosts = &inv->members[at];
		for (k = 0; k < inv->a.n; k++)
			if (inv->a.t[k].row->group && streq(inv->a.t[k].row->group, m->groups[i].name))
				inv->members[at + g->n++] = &inv->a.t[k];
		at += g->n;
	}
	for (k = 0; k < inv->a.n; k++) {
		int s = vm_state_from_string(inv->a.t[k].row->state);

		state_seen[s >= 0 ? (size_t) s : VM_STATE_MAX] = true;
	}
	for (j = 0; j <= VM_STATE_MAX; j++) {
		const char *state = j < VM_STATE_MAX ? vm_state_to_string((enum vm_state) j) : "new";
		struct inv_group *g;

		if (!state_seen[j])
			continue;
		g = group_add(inv, "muster_", state);
		g->hosts = &inv->members[at];
		for (k = 0; k < inv->a.n; k++) {
			int s = vm_state_from_string(inv->a.t[k].row->state);

			if ((s >= 0 ? (size_t) s : VM_STATE_MAX) == j)
				inv->members[at + g->n++] = &inv->a.t[k];
		}
		at += g->n;
	}
	n_words = ssh_option_words(&inv->a, NULL, words);
	for (i = 0; i < n_words; i++) {
		/* -i KEY is ansible_ssh_private_key_file's; IdentitiesOnly stays */
		if (streq(words[i], "-i")) {
			i++;
			continue;
		}
		if (args.len)
			(void) buf_putc(&args, ' ');
		shell_quote(&args, words[i]);
	}
	if (buf_failed(&args)) {
		buf_release(&args);
		return err_nomem(err);
	}
	inv->common_args = buf_detach(&args);
	return inv->common_args ? 0 : err_nomem(err);
}

void inventory_release(struct inventory *inv)
{
	size_t k;

	for (k = 0; inv->extra && k < inv->a.n; k++)
		free(inv->extra[k]);
	free(inv->extra);
	ssh_access_release(&inv->a);
	free(inv->g);
	free(inv->members);
	free(inv->control);
	free(inv->common_args);
	memset(inv, 0, sizeof(*inv));
}
