/* sshaccess.c: how OpenSSH reaches a fleet's VMs (sshaccess.h). */
#include <arpa/inet.h>
#include <errno.h>

#define LOG_TAG "ssh"
#include "afile.h"
#include "bootstrap.h"
#include "fmt.h"
#include "forwards.h"
#include "keystore.h"
#include "log.h"
#include "sshaccess.h"
#include "statedir.h"
#include "vmstate.h"

/* An ssh forward's host end as ssh names it: [addr]:port (0.0.0.0: reached on loopback). */
static const char *forward_host(const char *addr)
{
	return streq(addr, "0.0.0.0") ? "127.0.0.1" : addr;
}

/* Forward f's port for VM vm's NIC nic: fixed in the manifest, or as apply chose and recorded it. */
static unsigned forward_port(const struct manifest *m, size_t vm, size_t nic,
			     const struct mf_forward *f, const struct recorded_forward *fw, size_t n_fw)
{
	return f->host_port ? f->host_port :
	       forwards_recorded_port(fw, n_fw, m->fleet, m->vms[vm].name, nic, f->service,
				      f->host_addr);
}

/* The port of the forward to VM vm's port 22 on its NIC nic (0: none); *ret_addr its host end. */
static unsigned ssh_forward(const struct manifest *m, size_t vm, size_t nic,
			    const struct recorded_forward *fw, size_t n_fw, const char **ret_addr)
{
	const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
	const struct mf_network *net = &m->networks[g->nics[nic].network];
	size_t k;

	for (k = 0; k < net->n_forwards; k++) {
		const struct mf_forward *f = &net->forwards[k];
		unsigned port = forward_port(m, vm, nic, f, fw, n_fw);

		if (f->guest_port == 22 && port) {
			*ret_addr = forward_host(f->host_addr);
			return port;
		}
	}
	return 0;
}

/*
 * The names a VM is known by: its name, its FQDN, the addresses muster gives
 * it (static, a sequence's, a pool's once recorded), and the host end of
 * each user-mode forward to its port 22.
 */
static void host_names(const struct manifest *m, size_t vm, const struct recorded_forward *fw,
		       size_t n_fw, const struct recorded_address *addr, size_t n_addr,
		       struct buf *b)
{
	const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
	size_t i, k;

	(void) buf_puts(b, m->vms[vm].name);
	if (m->domain)
		(void) buf_printf(b, ",%s.%s", m->vms[vm].name, m->domain);
	for (i = 0; i < g->n_nics; i++) {
		const struct mf_network *net = &m->networks[g->nics[i].network];
		uint32_t ip = addresses_known(m, vm, i, addr, n_addr);
		struct in_addr a = { htonl(ip) };
		char text[INET_ADDRSTRLEN];

		if (ip && inet_ntop(AF_INET, &a, text, sizeof(text)))
			(void) buf_printf(b, ",%s", text);
		for (k = 0; k < net->n_forwards; k++) {
			const struct mf_forward *f = &net->forwards[k];
			unsigned port = forward_port(m, vm, i, f, fw, n_fw);

			if (f->guest_port == 22 && port)
				(void) buf_printf(b, ",[%s]:%u", forward_host(f->host_addr), port);
		}
	}
}

/*
 * The fleet's VMs that the manifest no longer has but that are not
 * destroyed (apply --prune would): they still run, and ssh still meets
 * them. Their host keys as recorded, under their name, FQDN, recorded
 * addresses and recorded ssh forwards.
 */
static int recorded_only(struct store *st, const struct manifest *m,
			 const struct recorded_vm *vms, size_t n_vms,
			 const struct recorded_forward *fw, size_t n_fw,
			 const struct recorded_address *addr, size_t n_addr, struct buf *text,
			 struct muster_err *err)
{
	size_t i, k;

	for (i = 0; i < n_vms; i++) {
		struct store_key *keys = NULL;
		size_t n_keys = 0;
		struct buf names = BUF_INIT(4096);

		if (vms[i].state == VM_STATE_DESTROYED || manifest_find_vm(m, vms[i].name) >= 0)
			continue;
		if (store_key_list(st, m->fleet, vms[i].name, &keys, &n_keys, err) < 0) {
			buf_release(&names);
			return -1;
		}
		(void) buf_puts(&names, vms[i].name);
		if (m->domain)
			(void) buf_printf(&names, ",%s.%s", vms[i].name, m->domain);
		for (k = 0; k < n_addr; k++) {
			struct in_addr a = { htonl(addr[k].ip) };
			char t[INET_ADDRSTRLEN];

			if (streq(addr[k].vm, vms[i].name) && inet_ntop(AF_INET, &a, t, sizeof(t)))
				(void) buf_printf(&names, ",%s", t);
		}
		for (k = 0; k < n_fw; k++)
			if (streq(fw[k].vm, vms[i].name) && streq(fw[k].service, "ssh"))
				(void) buf_printf(&names, ",[%s]:%u", forward_host(fw[k].host_addr),
						  fw[k].host_port);
		for (k = 0; k < n_keys; k++)
			if (strncmp(keys[k].type, "host-", 5) == 0)
				(void) buf_printf(text, "%s %s\n", buf_str(&names), keys[k].public_key);
		buf_release(&names);
		store_key_list_free(keys, n_keys);
	}
	return 0;
}

/* The known_hosts text from what the store recorded of the fleet: its VMs, forwards, addresses. */
static int known_hosts_text(struct store *st, const char *state_dir, const struct manifest *m,
			    const struct recorded_vm *recs, size_t n_recs,
			    const struct recorded_forward *fw, size_t n_fw,
			    const struct recorded_address *addr, size_t n_addr, struct buf *text,
			    struct muster_err *err)
{
	struct keypair *keys = NULL;
	size_t *all = calloc(m->n_vms + 1, sizeof(*all)), i, j;
	int r = -1;

	if (!all)
		return err_nomem(err);
	for (i = 0; i < m->n_vms; i++)
		all[i] = i;
	if (bootstrap_host_keys(state_dir, st, m, all, m->n_vms, 0, &keys, err) < 0)
		goto out;
	(void) buf_printf(text, "# known_hosts of fleet '%s', written by muster\n", m->fleet);
	for (i = 0; i < m->n_vms; i++)
		for (j = 0; j < m->n_host_key_types; j++) {
			host_names(m, i, fw, n_fw, addr, n_addr, text);
			(void) buf_printf(text, " %s\n", keys[i * m->n_host_key_types + j].public_key);
		}
	if (recorded_only(st, m, recs, n_recs, fw, n_fw, addr, n_addr, text, err) < 0)
		goto out;
	r = buf_failed(text) ? err_nomem(err) : 0;
out:
	keystore_free(keys, keys ? m->n_vms * m->n_host_key_types : 0);
	free(all);
	return r;
}

int ssh_known_hosts(struct store *st, const char *state_dir, const struct manifest *m,
		    struct buf *text, struct muster_err *err)
{
	struct recorded_vm *recs = NULL;
	struct recorded_forward *fw = NULL;
	struct recorded_address *addr = NULL;
	size_t n_recs = 0, n_fw = 0, n_addr = 0;
	int r = -1;

	if (store_vm_list(st, m->fleet, &recs, &n_recs, err) == 0 &&
	    store_forward_list(st, m->fleet, &fw, &n_fw, err) == 0 &&
	    store_address_list(st, m->fleet, &addr, &n_addr, err) == 0)
		r = known_hosts_text(st, state_dir, m, recs, n_recs, fw, n_fw, addr, n_addr, text, err);
	store_vm_list_free(recs, n_recs);
	store_forward_list_free(fw, n_fw);
	store_address_list_free(addr, n_addr);
	return r;
}

/* ---- where ssh connects ---------------------------------------------------------------- */

static bool link_local(const char *a)
{
	return strncmp(a, "fe80:", 5) == 0 || strncmp(a, "169.254.", 8) == 0;
}

/* The address row is reached at: muster's first (they come first), else an agent's. */
static const char *row_address(const struct json_vm *row)
{
	size_t i;

	for (i = 0; i < row->n_addresses; i++)
		if (!strchr(row->addresses[i], ':') && !link_local(row->addresses[i]))
			return row->addresses[i];
	for (i = 0; i < row->n_addresses; i++)
		if (!link_local(row->addresses[i]))
			return row->addresses[i];
	return NULL;
}

int ssh_access_load(struct store *st, const char *state_dir, const struct manifest *m,
		    struct ssh_access *a, struct muster_err *err)
{
	struct recorded_forward *fw = NULL;
	struct buf text = BUF_INIT(256u << 20);
	_cleanup_free_ char *dir = NULL;
	struct keypair admin = { 0 };
	bool created = false;
	size_t n_fw = 0, i, j;
	int r = -1;

	memset(a, 0, sizeof(*a));
	a->user = m->ssh_user;
	if (status_rows_load(st, m, m->fleet, false, &a->rows, err) < 0 ||
	    store_forward_list(st, m->fleet, &fw, &n_fw, err) < 0)
		goto out;
	a->t = calloc(a->rows.n + 1, sizeof(*a->t));
	if (!a->t) {
		(void) err_nomem(err);
		goto out;
	}
	for (i = 0; i < a->rows.n; i++) {
		struct ssh_target *t = &a->t[a->n++];
		/* (the rows: m's VMs in its order, then those only recorded) */
		ssize_t vm = i < m->n_vms ? (ssize_t) i : -1;
		const char *host = NULL;
		unsigned port = 0;

		t->row = &a->rows.v[i];
		if (vm >= 0)
			for (j = 0; !port && j < manifest_vm_group(m, &m->vms[vm])->n_nics; j++)
				port = ssh_forward(m, (size_t) vm, j, fw, n_fw, &host);
		else
			for (j = 0; !port && j < n_fw; j++)
				if (streq(fw[j].vm, t->row->name) && streq(fw[j].service, "ssh")) {
					host = forward_host(fw[j].host_addr);
					port = fw[j].host_port;
				}
		if (asprintf(&t->alias, "HostKeyAlias=%s", t->row->name) < 0) {
			t->alias = NULL;
			(void) err_nomem(err);
			goto out;
		}
		t->forwarded = port != 0;
		t->port = port ? port : 22;
		if (!host)
			host = row_address(t->row);
		fmt_fit(t->host, sizeof(t->host), "%s", host ? host : "");
	}
	if (!m->n_authorized_keys &&
	    keystore_admin_key(state_dir, m->fleet, &admin, &a->identity, &created, err) < 0)
		goto out;
	if (created)
		log_warn("the manifest names no ssh.authorized_keys: made the fleet's admin key "
			 "'%s' (no VM has it until its seed is made again)", a->identity);
	/* what the rows read of the store already: not asked again */
	if (known_hosts_text(st, state_dir, m, a->rows.recs, a->rows.n_recs, fw, n_fw,
			     a->rows.pooled, a->rows.n_pooled, &text, err) < 0)
		goto out;
	if (asprintf(&dir, "%s/ssh", state_dir) < 0) {
		dir = NULL;
		(void) err_nomem(err);
		goto out;
	}
	if (asprintf(&a->known_hosts, "%s/%s.known_hosts", dir, m->fleet) < 0 ||
	    asprintf(&a->kh_option, "UserKnownHostsFile=%s", a->known_hosts) < 0) {
		(void) err_nomem(err);
		goto out;
	}
	if (statedir_prepare(dir, err) < 0 ||
	    afile_write_all(a->known_hosts, buf_str(&text), text.len, 0600, err) < 0)
		goto out;
	r = 0;
out:
	keypair_release(&admin);
	buf_release(&text);
	store_forward_list_free(fw, n_fw);
	return r;
}

void ssh_access_release(struct ssh_access *a)
{
	status_rows_release(&a->rows);
	while (a->t && a->n)
		free(a->t[--a->n].alias);
	free(a->t);
	free(a->identity);
	free(a->known_hosts);
	free(a->kh_option);
	memset(a, 0, sizeof(*a));
}

const struct ssh_target *ssh_access_find(const struct ssh_access *a, const char *vm)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (streq(a->t[i].row->name, vm))
			return &a->t[i];
	return NULL;
}

size_t ssh_option_words(const struct ssh_access *a, const struct ssh_target *t,
			const char *words[SSH_OPTION_WORDS_MAX])
{
	size_t n = 0;

	words[n++] = "-o";
	words[n++] = a->kh_option;
	words[n++] = "-o";
	words[n++] = "GlobalKnownHostsFile=/dev/null";
	words[n++] = "-o";
	words[n++] = "StrictHostKeyChecking=yes";
	words[n++] = "-o";
	words[n++] = "UpdateHostKeys=no";
	if (a->identity) {
		words[n++] = "-o";
		words[n++] = "IdentitiesOnly=yes";
		words[n++] = "-i";
		words[n++] = a->identity;
	}
	if (t) {
		words[n++] = "-o";
		words[n++] = t->alias;
	}
	return n;
}
