/* netconf.c: what a VM's NIC is told of its network (netconf.h). */
#include <string.h>

#include "netconf.h"

static void text(uint32_t ip, char out[INET_ADDRSTRLEN])
{
	struct in_addr a = { htonl(ip) };

	inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

void netconf_nic(const struct manifest *m, size_t vm, size_t nic, const uint32_t *ips,
		 struct netconf *ret)
{
	const struct mf_group *g = &m->groups[m->vms[vm].group];
	const struct mf_nic *n = &g->nics[nic];
	const struct mf_network *net = &m->networks[n->network];
	size_t i;

	memset(ret, 0, sizeof(*ret));
	if (ips && ips[nic]) {
		/* static, a sequence's or a pool's: this VM's own */
		text(ips[nic], ret->ip);
		ret->prefix = n->ip_prefix ? n->ip_prefix : net->prefix;
		ret->is_static = true;
	} else if (n->ip) {
		(void) memccpy(ret->ip, n->ip, '\0', sizeof(ret->ip));
		ret->ip[sizeof(ret->ip) - 1] = '\0';
		ret->prefix = n->ip_prefix ? n->ip_prefix : net->prefix;
		ret->is_static = true;
	}
	if (ret->is_static) {
		text(ret->prefix ? ~(uint32_t) 0 << (32 - ret->prefix) : 0, ret->netmask);
		/* (a router of the network is no gateway to itself) */
		if (mf_nic_gets_gateway(m, g, nic))
			text(net->gateway, ret->gateway);
		if (strcmp(ret->gateway, ret->ip) == 0)
			ret->gateway[0] = '\0';
	}
	/* a DHCP server gives name servers and the domain: only what is said outright */
	if (ret->is_static || net->dns_given) {
		for (i = 0; i < net->n_dns && i < MF_DNS_MAX; i++) {
			text(net->dns[i], ret->dns_text[i]);
			ret->dns[i] = ret->dns_text[i];
		}
		ret->n_dns = i;
	}
	if (ret->is_static || net->search_given) {
		ret->search = net->search;
		ret->n_search = net->n_search;
	}
	for (i = 0; i < net->n_routes && i < MF_ROUTES_MAX; i++) {
		text(net->routes[i].to, ret->routes[i].to);
		ret->routes[i].prefix = net->routes[i].prefix;
		text(net->routes[i].via, ret->routes[i].via);
		ret->routes[i].metric = net->routes[i].metric;
	}
	ret->n_routes = i;
	ret->mtu = net->mtu;
}
