/*
 * purge.c: destroy --all --purge: what is left of a fleet once its VMs are
 * destroyed, and belongs to it alone (run.h: run_purge).
 */
#include <errno.h>
#include <unistd.h>

#define LOG_TAG "purge"
#include "identity.h"
#include "keystore.h"
#include "log.h"
#include "run_priv.h"
#include "common.h"

/* unlink <dir>/<name><suffix>: 1 when it went, 0 when it was not there, -1 with err */
static int remove_file(const char *dir, const char *name, const char *suffix,
		       struct muster_err *err)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/%s%s", dir, name, suffix) < 0) {
		path = NULL;
		return err_nomem(err);
	}
	if (unlink(path) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return err_set_errno(err, MUSTER_E_IO, errno, "cannot remove '%s'", path);
}

/* The fleet's base image volumes and libvirt networks on one host. */
static int purge_host(struct run *r, struct hv *hv, char **others, size_t n_others,
		      struct run_purge_report *rep, struct muster_err *err)
{
	const struct manifest *m = r->m;
	char name[IDENTITY_DOMAIN_NAME_MAX + 32];
	size_t i;

	for (i = 0; i < m->n_images; i++) {
		struct hv_volume have = { 0 };
		bool exists;

		if (identity_image_volume_name(m->fleet, m->images[i].name,
					       mf_format_to_string(m->images[i].format), name,
					       sizeof(name), err) < 0 ||
		    hv_volume_get(hv, m->pool, name, &have, err) < 0)
			return -1;
		if (identity_name_claimed(name, m->fleet, others, n_others)) {
			hv_volume_release(&have);
			rep->shared++;
			continue;
		}
		exists = have.exists;
		hv_volume_release(&have);
		if (!exists)
			continue;
		if (hv_volume_delete(hv, m->pool, name, err) < 0)
			return -1;
		rep->volumes++;
	}
	for (i = 0; i < m->n_networks; i++) {
		bool removed = false;

		if (m->networks[i].type == MF_NET_USER)
			continue;	/* QEMU's own: nothing of libvirt's */
		if (identity_domain_name(m->fleet, m->networks[i].name, name, sizeof(name), err) < 0)
			return -1;
		if (identity_name_claimed(name, m->fleet, others, n_others)) {
			rep->shared++;
			continue;
		}
		if (hv_network_remove(hv, name, &removed, err) < 0)
			return -1;
		rep->networks += removed;
	}
	return 0;
}

int run_purge(struct run *r, struct run_purge_report *rep, struct muster_err *err)
{
	const struct manifest *m = r->m;
	struct recorded_vm *recs = NULL;
	_cleanup_free_ char *console = NULL, *ssh = NULL;
	char **others = NULL;
	size_t n_recs = 0, n_others = 0, i, h;
	int ret = -1, x;

	memset(rep, 0, sizeof(*rep));
	if (store_vm_list(r->o.st, m->fleet, &recs, &n_recs, err) < 0 ||
	    store_fleet_names(r->o.st, &others, &n_others, err) < 0)
		goto out;
	/* refused before anything goes: a VM still there (apply --prune's), a host silent */
	for (i = 0; i < n_recs; i++)
		if (recs[i].state != VM_STATE_DESTROYED) {
			(void) err_set(err, MUSTER_E_INVALID, "VM '%s' of the fleet is %s, not destroyed%s",
				       recs[i].name, vm_state_to_string(recs[i].state),
				       manifest_find_vm(m, recs[i].name) < 0 ?
				       " (the manifest no longer has it: apply --prune destroys it)" : "");
			goto out;
		}
	for (h = 0; h < r->hosts.n; h++) {
		struct hv *hv = NULL;

		if (hosts_hv(&r->hosts, h, &hv, err) < 0) {
			err_prefix(err, "host '%s'", r->hosts.h[h].uri);
			goto out;
		}
	}
	for (h = 0; h < r->hosts.n; h++) {
		struct hv *hv = NULL;

		if (hosts_hv(&r->hosts, h, &hv, err) < 0 ||
		    purge_host(r, hv, others, n_others, rep, err) < 0) {
			err_prefix(err, "host '%s'", r->hosts.h[h].uri);
			goto out;
		}
	}
	if (asprintf(&console, "%s/console", r->o.state_dir) < 0 ||
	    asprintf(&ssh, "%s/ssh", r->o.state_dir) < 0) {
		(void) err_nomem(err);
		goto out;
	}
	for (i = 0; i < n_recs; i++) {
		if (!recs[i].domain)
			continue;
		if ((x = remove_file(console, recs[i].domain, ".log", err)) < 0)
			goto out;
		rep->console_logs += (size_t) x;
	}
	if ((x = remove_file(ssh, m->fleet, ".known_hosts", err)) < 0 ||
	    keystore_fleet_remove(r->o.state_dir, m->fleet, &rep->key_files, err) < 0)
		goto out;
	rep->known_hosts = x == 1;
	/* last: until here a purge cut short is done again by the next */
	if (store_fleet_delete(r->o.st, m->fleet, err) < 0)
		goto out;
	log_info("fleet '%s' purged: %zu image volume(s), %zu network(s), %zu key file(s), "
		 "%zu console log(s)", m->fleet, rep->volumes, rep->networks, rep->key_files,
		 rep->console_logs);
	ret = 0;
out:
	for (i = 0; i < n_others; i++)
		free(others[i]);
	free(others);
	store_vm_list_free(recs, n_recs);
	return ret;
}
