/*
 * netconf.h: what a VM's NIC is told of its network, as the guest's
 * configuration writes it (cloud-init's network-config, a kickstart's
 * network line): its address, the gateway, name servers, search domains,
 * routes and MTU, the network's defaults applied (manifest.h: struct
 * mf_network). One place, so the seed and the kickstart never differ.
 *
 * A NIC with an address of muster's (static, a sequence's, a pool's) gets
 * all of it. A DHCP one gets what its DHCP server gives, and besides only
 * what the manifest says outright (dns:, search:, routes:, mtu:). Pure.
 */
#ifndef MUSTER_NETCONF_H
#define MUSTER_NETCONF_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

#include "manifest.h"

struct netconf_route {
	char to[INET_ADDRSTRLEN];
	unsigned prefix;
	char via[INET_ADDRSTRLEN];
	unsigned metric;		/* 0 = none */
};

struct netconf {
	bool is_static;			/* an address of muster's; else DHCP */
	char ip[INET_ADDRSTRLEN];	/* is_static: the address */
	unsigned prefix;		/* is_static: 8..30 */
	char netmask[INET_ADDRSTRLEN];	/* is_static: the prefix as a mask */
	char gateway[INET_ADDRSTRLEN];	/* "" = none */
	char dns_text[MF_DNS_MAX][INET_ADDRSTRLEN];
	const char *dns[MF_DNS_MAX];	/* into dns_text */
	size_t n_dns;
	const char *const *search;	/* the manifest's strings */
	size_t n_search;
	struct netconf_route routes[MF_ROUTES_MAX];
	size_t n_routes;
	unsigned mtu;			/* 0 = not set */
};

/*
 * NIC nic of VM vm: ips is the VM's addresses per NIC (vmrec_ips; 0 =
 * DHCP), or NULL for the manifest's static addresses only.
 */
void netconf_nic(const struct manifest *m, size_t vm, size_t nic, const uint32_t *ips,
		 struct netconf *ret);

#endif
