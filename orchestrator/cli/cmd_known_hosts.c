/* cmd_known_hosts.c: `muster known-hosts FILE [-o OUT]`: the fleet's OpenSSH known_hosts. */
#include <arpa/inet.h>
#include <errno.h>

#include "addresses.h"
#include "afile.h"
#include "buf.h"
#include "bootstrap.h"
#include "cmd.h"
#include "forwards.h"
#include "keystore.h"
#include "vmstate.h"

static int out_option(int opt, const char *arg, void *userdata)
{
	if (opt != 'o')
		return -1;
	*(const char **) userdata = arg;
	return 0;
}

/* An ssh forward's host end as ssh names it: [addr]:port (0.0.0.0: reached on loopback). */
static void forward_name(struct buf *b, const char *addr, unsigned port)
{
	(void) buf_printf(b, ",[%s]:%u", streq(addr, "0.0.0.0") ? "127.0.0.1" : addr, port);
}

/*
 * The names a VM is known by: its name, its FQDN, the addresses muster gives
 * it (static, a sequence's, a pool's once recorded),
 * and the host end of each user-mode forward to its port 22 (fixed in the
 * manifest, or the port apply chose and recorded).
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
			unsigned port = f->host_port ? f->host_port :
					forwards_recorded_port(fw, n_fw, m->fleet, m->vms[vm].name, i,
							       f->service, f->host_addr);

			if (f->guest_port == 22 && port)
				forward_name(b, f->host_addr, port);
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
			 const struct recorded_forward *fw, size_t n_fw,
			 const struct recorded_address *addr, size_t n_addr, struct buf *text,
			 struct muster_err *err)
{
	struct recorded_vm *vms = NULL;
	size_t n_vms = 0, i, k;
	int r = -1;

	if (store_vm_list(st, m->fleet, &vms, &n_vms, err) < 0)
		return -1;
	for (i = 0; i < n_vms; i++) {
		struct store_key *keys = NULL;
		size_t n_keys = 0;
		struct buf names = BUF_INIT(4096);

		if (vms[i].state == VM_STATE_DESTROYED || manifest_find_vm(m, vms[i].name) >= 0)
			continue;
		if (store_key_list(st, m->fleet, vms[i].name, &keys, &n_keys, err) < 0) {
			buf_release(&names);
			goto out;
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
				forward_name(&names, fw[k].host_addr, fw[k].host_port);
		for (k = 0; k < n_keys; k++)
			if (strncmp(keys[k].type, "host-", 5) == 0)
				(void) buf_printf(text, "%s %s\n", buf_str(&names), keys[k].public_key);
		buf_release(&names);
		store_key_list_free(keys, n_keys);
	}
	r = 0;
out:
	store_vm_list_free(vms, n_vms);
	return r;
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
	struct keypair *keys = NULL;
	struct recorded_forward *fw = NULL;
	struct recorded_address *addr = NULL;
	size_t n_fw = 0, n_addr = 0;
	const char *out = NULL;
	const struct cmd_options own = { opts, "o:", out_option, &out };
	size_t *all = NULL, i, j;
	int rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, &own, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	rc = EXIT_FAIL;
	m = f.m;
	all = calloc(m->n_vms + 1, sizeof(*all));
	if (!all) {
		err_nomem(&err);
		goto fail;
	}
	for (i = 0; i < m->n_vms; i++)
		all[i] = i;
	if (cmd_fleet_state(cli, &f, &err) < 0 ||
	    bootstrap_host_keys(f.state_dir, f.st, m, all, m->n_vms, 0, &keys, &err) < 0 ||
	    store_forward_list(f.st, m->fleet, &fw, &n_fw, &err) < 0 ||
	    store_address_list(f.st, m->fleet, &addr, &n_addr, &err) < 0)
		goto fail;
	(void) buf_printf(&text, "# known_hosts of fleet '%s', written by muster\n", m->fleet);
	for (i = 0; i < m->n_vms; i++) {
		for (j = 0; j < m->n_host_key_types; j++) {
			host_names(m, i, fw, n_fw, addr, n_addr, &text);
			(void) buf_printf(&text, " %s\n", keys[i * m->n_host_key_types + j].public_key);
		}
	}
	if (recorded_only(f.st, m, fw, n_fw, addr, n_addr, &text, &err) < 0)
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
	keystore_free(keys, f.m ? f.m->n_vms * f.m->n_host_key_types : 0);
	store_forward_list_free(fw, n_fw);
	store_address_list_free(addr, n_addr);
	buf_release(&text);
	free(all);
	cmd_fleet_end(&f);
	return rc;
}
