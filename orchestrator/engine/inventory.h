/*
 * inventory.h: a fleet as an Ansible inventory (muster inventory): its
 * groups, a group per recorded state (muster_ready, muster_failed, ...),
 * and per VM where ssh reaches it (sshaccess.h); the variables every VM
 * shares: the admin user, the key, and OpenSSH's options that verify each
 * VM against the fleet's known_hosts.
 */
#ifndef MUSTER_INVENTORY_H
#define MUSTER_INVENTORY_H

#include "sshaccess.h"

#define INVENTORY_GROUP_MAX 80

struct inv_group {
	char name[INVENTORY_GROUP_MAX];	/* an Ansible group name: '-' becomes '_' */
	const struct ssh_target **hosts;	/* into the inventory's ssh access */
	size_t n;
};

/*
 * A VM's ansible_control_path: Ansible shares one ssh connection per
 * address, port and user, so a VM that answered on a forward would lend its
 * connection (its host key checked once) to another VM later reached at the
 * same port. Per VM: "%(directory)s/m-<first 16 hex of SHA-256 of
 * fleet/vm>-%%r" (ssh's %r: the user). Short: ssh adds 17 characters to it
 * while it makes the socket, and a socket's path has 107 at most.
 */
#define INVENTORY_CONTROL_MAX 64

struct inventory {
	struct ssh_access a;
	char (*control)[INVENTORY_CONTROL_MAX];	/* per target, in its order */
	char **extra;			/* per target: ansible_ssh_extra_args, its HostKeyAlias */
	struct inv_group *g;		/* the manifest's groups in its order, then
					   muster_<state> for each state present */
	size_t n_groups;
	const struct ssh_target **members;	/* the groups' hosts */
	char *common_args;		/* ansible_ssh_common_args: OpenSSH options, quoted for
					   its shell-like split */
};

/*
 * The inventory of m's fleet (its VMs, and those only recorded: still
 * running until apply --prune), from the store; the fleet's known_hosts
 * written afresh (sshaccess.h). A manifest group whose Ansible name would be
 * another's, a state group's (muster_...) or Ansible's own (all,
 * ungrouped) is refused (MUSTER_E_INVALID). Release with inventory_release,
 * also after a failure.
 */
int inventory_load(struct store *st, const char *state_dir, const struct manifest *m,
		   struct inventory *inv, struct muster_err *err) WUR;
void inventory_release(struct inventory *inv);

#endif
