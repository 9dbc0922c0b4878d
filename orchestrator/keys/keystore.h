/*
 * keystore.h: the SSH keys muster keeps for a fleet (DESIGN.md "State"):
 * private keys as files under the state directory, never in the database;
 * public keys and fingerprints in the store's keys table as well.
 *
 * Layout (directories 0700, files 0600, whatever the umask):
 *   <state_dir>/keys/<fleet>/<vm>/ssh_host_<type>_key       private key
 *   <state_dir>/keys/<fleet>/<vm>/ssh_host_<type>_key.pub   "<public key>\n"
 *   <state_dir>/keys/<fleet>/_admin/id_ed25519              the fleet's admin key
 *   <state_dir>/keys/<fleet>/_admin/id_ed25519.pub          "<public key> muster-admin@<fleet>\n"
 * <type> is keys_type_to_string ("ed25519", "rsa", "ecdsa"). The private key
 * file is the truth: the .pub file and the store follow it.
 *
 * "_admin" is no RFC 1123 label, so no VM's directory is the admin key's.
 *
 * Fleet and VM names must be non-empty and must not contain '/' or be "."
 * or ".." (callers pass validated RFC 1123 labels; this is checked again).
 * Files are written atomically (afile.h), so a crash leaves the old key or
 * the new one. Not safe against a second muster on the same state
 * directory at once: the run lock (muster.lock) prevents that.
 */
#ifndef MUSTER_KEYSTORE_H
#define MUSTER_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "keys.h"
#include "store.h"

/* The directory under <state_dir>/keys/<fleet>/ that holds the admin key. */
#define KEYSTORE_ADMIN_DIR "_admin"	/* not a label: no VM can be called that */

/*
 * The SSH host keys of VMs vms[0..n_vms-1] of fleet, of each of the n_types
 * types (no type twice, no VM twice). For every VM and type, the private key
 * file is read (keys_from_private) when it exists and rotate is false;
 * otherwise a new key is generated. Generation runs on a pool of threads,
 * as many as there are online CPUs but no more than keys to generate (the
 * calling thread is one of them); the calling thread then writes the new
 * files, rewrites any .pub file that is missing or does not match its
 * private key, and, unless st is NULL or flags has KEYSTORE_UNRECORDED,
 * records every public key and fingerprint as type "host-<type>" (e.g.
 * "host-ed25519") in one store transaction (store_keys_put_many: VMs
 * missing from the store are created planned with groups[i], groups may be
 * NULL; a recorded key that differs from the file is replaced by the
 * file's). A private key file looser than 0600 is set to 0600. Every new
 * file is on disk (synced) when this returns, unless KEYSTORE_NOSYNC.
 *
 * flags: KEYSTORE_ROTATE, every key generated anew, none read;
 * KEYSTORE_UNRECORDED, st only looked at (a key file that cannot be read
 * and was never recorded is made anew), the caller records the keys
 * (keystore_host_key_items, store_vm_step's keys) before it uses them;
 * KEYSTORE_NOSYNC, new files not synced: the caller syncs the state
 * directory's file system (afile_sync_fs) before it uses or records them;
 * KEYSTORE_THIS_THREAD, no other thread started: for a caller that runs
 * several of these at once.
 *
 * On success *ret is an array of n_vms * n_types key pairs, row-major (VM i,
 * type j at [i * n_types + j]); caller frees with keystore_free(*ret,
 * n_vms * n_types). *ret is NULL when n_vms is 0. On failure, -1 with err
 * set (a key file that cannot be read or parsed is named in the message)
 * and *ret untouched; keys already written stay on disk and are read back
 * by the next call.
 */
int keystore_host_keys(const char *state_dir, struct store *st,
		       const char *fleet, const char *const *vms,
		       const char *const *groups, size_t n_vms,
		       const enum keys_type *types, size_t n_types, unsigned flags,
		       struct keypair **ret, struct muster_err *err) WUR;

enum {
	KEYSTORE_ROTATE = 1 << 0,
	KEYSTORE_UNRECORDED = 1 << 1,
	KEYSTORE_NOSYNC = 1 << 2,
	KEYSTORE_THIS_THREAD = 1 << 3,
};

/*
 * The n_types keys of one VM (keys[j] of type types[j], as keystore_host_keys
 * returns them) as the store records them, into items[0..n_types-1]: type
 * "host-<type>", the public key and fingerprint (pointing into keys); vm
 * and group NULL.
 */
void keystore_host_key_items(const struct keypair *keys, const enum keys_type *types,
			     size_t n_types, struct store_key_item *items);

/* Release count key pairs and free the array; NULL is allowed. */
void keystore_free(struct keypair *keys, size_t count);

/*
 * The fleet's admin key pair (Ed25519) at
 * <state_dir>/keys/<fleet>/_admin/id_ed25519, generated if the file does not
 * exist; the .pub file (with the comment "muster-admin@<fleet>") is
 * rewritten if missing or different. On success *ret is filled (release
 * with keypair_release), *ret_path is the private key's path (caller
 * frees) and *ret_created says whether the key was generated now. On
 * failure, -1 with err set and the ret_ parameters untouched.
 */
int keystore_admin_key(const char *state_dir, const char *fleet,
		       struct keypair *ret, char **ret_path, bool *ret_created,
		       struct muster_err *err) WUR;

/*
 * Remove <state_dir>/keys/<fleet>/ and all it holds (every VM's host keys
 * and the admin key): destroy --purge. *ret_removed: how many files went.
 * A missing directory is success. Symbolic links are removed, never
 * followed.
 */
int keystore_fleet_remove(const char *state_dir, const char *fleet, size_t *ret_removed,
			  struct muster_err *err) WUR;

#endif
