/*
 * sshaccess.h: how OpenSSH reaches a fleet's VMs, for `muster known-hosts`,
 * `muster ssh` and `muster inventory`: the fleet's known_hosts (the host
 * keys muster made, under each VM's names, addresses and forwarded ports),
 * and per VM where ssh connects, as whom and with which key.
 */
#ifndef MUSTER_SSHACCESS_H
#define MUSTER_SSHACCESS_H

#include <stdbool.h>

#include "addresses.h"
#include "buf.h"
#include "manifest.h"
#include "statusrows.h"
#include "store.h"

/*
 * The fleet's known_hosts into text: a line per VM of m and host key type,
 * then the VMs recorded but no longer in the manifest and not destroyed
 * (they still run until apply --prune), with their recorded keys.
 */
int ssh_known_hosts(struct store *st, const char *state_dir, const struct manifest *m,
		    struct buf *text, struct muster_err *err) WUR;

/* One VM as ssh reaches it. */
struct ssh_target {
	const struct json_vm *row;	/* its status row: name, group, state, addresses */
	char host[ADDRESS_TEXT_MAX];	/* where ssh connects; "" when muster knows nowhere */
	unsigned port;			/* 22, or its ssh forward's port */
	bool forwarded;			/* host:port is a forward to its port 22 */
	char *alias;			/* "HostKeyAlias=<vm>" */
};

struct ssh_access {
	struct status_rows rows;
	struct ssh_target *t;		/* one per row, in the rows' order */
	size_t n;
	const char *user;		/* the manifest's ssh.user */
	char *identity;			/* the fleet's admin key; NULL: the manifest names the
					   authorized keys (the operator's own keys log in) */
	char *known_hosts;		/* <state>/ssh/<fleet>.known_hosts, written now (0600) */
	char *kh_option;		/* "UserKnownHostsFile=<known_hosts>" */
};

/*
 * Where ssh reaches each of m's VMs (and those only recorded): a forward
 * of the VM's port 22 when it has one (a host address of 0.0.0.0 is reached
 * on 127.0.0.1), else the first address muster gives it, else the first
 * one its agent reported (IPv4 first, never link-local); the fleet's
 * known_hosts written afresh. Release with ssh_access_release, also after
 * a failure.
 */
int ssh_access_load(struct store *st, const char *state_dir, const struct manifest *m,
		    struct ssh_access *a, struct muster_err *err) WUR;
void ssh_access_release(struct ssh_access *a);

/* The target of the VM named vm, or NULL. */
const struct ssh_target *ssh_access_find(const struct ssh_access *a, const char *vm);

/*
 * The options OpenSSH needs to meet the fleet's VMs verified, as argv
 * words into words (room for SSH_OPTION_WORDS_MAX): "-o" and a value each
 * (the fleet's known_hosts alone, StrictHostKeyChecking=yes, nothing
 * written back to it), then "-i" and the admin key with IdentitiesOnly
 * when muster made it. With t, its HostKeyAlias last: the key is looked
 * up under the VM's name whatever address ssh reaches it at, so an address
 * its agent reported (the guest's word) can never lead to another VM's
 * key. Pointers into a and static text. Returns how many.
 */
#define SSH_OPTION_WORDS_MAX 16
size_t ssh_option_words(const struct ssh_access *a, const struct ssh_target *t,
			const char *words[SSH_OPTION_WORDS_MAX]);

#endif
