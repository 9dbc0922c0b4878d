/* vmseed.c: from the fleet model to cidata_input (vmseed.h). */
#include "netconf.h"
#include "vmseed.h"

enum keys_type vmseed_key_type(enum mf_key_type t)
{
	switch (t) {
	case MF_KEY_RSA:
		return KEYS_RSA;
	case MF_KEY_ECDSA:
		return KEYS_ECDSA;
	case MF_KEY_ED25519:
	case MF_KEY_TYPE_MAX:
		break;
	}
	return KEYS_ED25519;
}

int vmseed_render(const struct vmseed_input *in, struct cidata *ret, struct muster_err *err)
{
	const struct manifest *m = in->m;
	const struct mf_vm *vm = &m->vms[in->vm];
	const struct mf_group *g = &m->groups[vm->group];
	struct cidata_hostkey hk[MF_KEY_TYPE_MAX];
	struct cidata_nic *nics = NULL;
	struct netconf *conf = NULL;
	struct cidata_route (*routes)[MF_ROUTES_MAX] = NULL;
	char *fqdn = NULL, *phone = NULL;
	size_t i, j;
	bool reachable = false;
	int r = -1;

	nics = calloc(g->n_nics + 1, sizeof(*nics));
	conf = calloc(g->n_nics + 1, sizeof(*conf));
	routes = calloc(g->n_nics + 1, sizeof(*routes));
	if (!nics || !conf || !routes)
		goto nomem;
	for (i = 0; i < g->n_nics; i++) {
		struct netconf *c = &conf[i];

		netconf_nic(m, in->vm, i, in->ips, c);
		nics[i].mac = vmspec_mac(in->macs, in->vm, i);
		if (c->is_static) {
			nics[i].ip = c->ip;
			nics[i].prefix = c->prefix;
			nics[i].gateway = c->gateway[0] ? c->gateway : NULL;
		}
		nics[i].dns = c->dns;
		nics[i].n_dns = c->n_dns;
		nics[i].search = c->search;
		nics[i].n_search = c->n_search;
		for (j = 0; j < c->n_routes; j++)
			routes[i][j] = (struct cidata_route) {
				.to = c->routes[j].to, .prefix = c->routes[j].prefix,
				.via = c->routes[j].via, .metric = c->routes[j].metric,
			};
		nics[i].routes = routes[i];
		nics[i].n_routes = c->n_routes;
		nics[i].mtu = c->mtu;
	}
	for (i = 0; i < m->n_host_key_types; i++) {
		hk[i].type = mf_key_type_to_string(m->host_key_types[i]);
		hk[i].private_key = in->host_keys[i].private_key;
		hk[i].public_key = in->host_keys[i].public_key;
	}
	if (m->domain && asprintf(&fqdn, "%s.%s", vm->name, m->domain) < 0) {
		fqdn = NULL;
		goto nomem;
	}
	/* phone home only from a VM with a way out: a guest whose NICs are all
	 * restricted user networks reaches nothing, and cloud-init would retry
	 * the post for half a minute before its final stage ends */
	for (i = 0; i < g->n_nics; i++) {
		const struct mf_network *net = &m->networks[g->nics[i].network];

		if (net->type != MF_NET_USER || net->unrestricted)
			reachable = true;
	}
	if (m->endpoint && reachable) {
		size_t len = strlen(m->endpoint);

		if (len && m->endpoint[len - 1] == '/')
			len--;
		if (asprintf(&phone, "%.*s/phone-home/%s", (int) len, m->endpoint, vm->name) < 0) {
			phone = NULL;
			goto nomem;
		}
	}
	{
		struct cidata_input ci = {
			.hostname = vm->name,
			.fqdn = fqdn,
			.user = m->ssh_user,
			.authorized_keys = in->authorized_keys,
			.n_authorized_keys = in->n_authorized_keys,
			.host_keys = hk,
			.n_host_keys = m->n_host_key_types,
			.generation = in->generation,
			/* served over HTTP behind a token others can read: keys on a volume */
			.host_keys_volume = g->seed_http ? CIDATA_KEYS_VOLID : NULL,
			.key_files = in->key_files,
			.phone_home_url = phone,
			.agent_binary = in->agent,
			.agent_len = in->agent_len,
			.agent_b64 = in->agent_b64, .agent_gzip = in->agent_gzip,
			.nics = nics,
			.n_nics = g->n_nics,
			.cloud_init = g->cloud_init,
		};

		r = cidata_render(&ci, ret, err);
		if (r < 0)
			err_prefix(err, "VM '%s'", vm->name);
	}
	goto out;
nomem:
	err_nomem(err);
out:
	free(nics);
	free(conf);
	free(routes);
	free(fqdn);
	free(phone);
	return r;
}
