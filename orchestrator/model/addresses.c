/* addresses.c: the addresses muster gives VMs' NICs (addresses.h). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "addresses.h"
#include "common.h"
#include "fmt.h"

/*
 * A pool's addresses, one bit each: named by the manifest (a static
 * address, a sequence's), held by a record, given in this run.
 */
enum { NAMED, HELD, GIVEN, KINDS };

struct pool_use {
	uint8_t *bits[KINDS];
	uint32_t first, size, next;	/* next: nothing free below it */
};

static bool is(const struct pool_use *u, int kind, uint32_t ip)
{
	return ip >= u->first && ip - u->first < u->size &&
	       (u->bits[kind][(ip - u->first) / 8] >> ((ip - u->first) % 8) & 1);
}

static void mark(struct pool_use *u, int kind, uint32_t ip)
{
	if (ip >= u->first && ip - u->first < u->size)
		u->bits[kind][(ip - u->first) / 8] |= (uint8_t) (1u << ((ip - u->first) % 8));
}

static bool free_ip(const struct pool_use *u, uint32_t ip)
{
	return !is(u, NAMED, ip) && !is(u, HELD, ip) && !is(u, GIVEN, ip);
}

static uint32_t static_ip(const struct mf_nic *nic)
{
	struct in_addr a;

	return nic->ip && inet_pton(AF_INET, nic->ip, &a) == 1 ? ntohl(a.s_addr) : 0;
}

/* The recorded address of vm's nic on network, or 0. */
static uint32_t recorded_ip(const struct recorded_address *rec, size_t n, const char *vm,
			    size_t nic, const char *network)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rec[i].nic == nic && streq(rec[i].vm, vm) && streq(rec[i].network, network))
			return rec[i].ip;
	return 0;
}

uint32_t addresses_known(const struct manifest *m, size_t vm, size_t nic,
			 const struct recorded_address *recorded, size_t n_recorded)
{
	const struct mf_group *g = &m->groups[m->vms[vm].group];
	const struct mf_nic *n = &g->nics[nic];

	switch (n->ip_mode) {
	case MF_IP_STATIC:
		return static_ip(n);
	case MF_IP_SEQUENCE:
		return n->ip_first + (uint32_t) (vm - g->first_vm);
	case MF_IP_POOL:
		return recorded_ip(recorded, n_recorded, m->vms[vm].name, nic,
				   m->networks[n->network].name);
	case MF_IP_DHCP:
		break;
	}
	return 0;
}

void addresses_release(struct addresses *a)
{
	free(a->ip);
	free(a->added);
	memset(a, 0, sizeof(*a));
}

int addresses_assign(const struct manifest *m, const struct recorded_address *recorded,
		     size_t n_recorded, struct addresses *ret, struct muster_err *err)
{
	struct pool_use *use = NULL;
	size_t g, v, j, i, n_pool = 0;
	int k;
	int r = -1;

	memset(ret, 0, sizeof(*ret));
	for (g = 0; g < m->n_groups; g++) {
		if (m->groups[g].n_nics > ret->stride)
			ret->stride = m->groups[g].n_nics;
		for (j = 0; j < m->groups[g].n_nics; j++)
			n_pool += m->groups[g].nics[j].ip_mode == MF_IP_POOL ? m->groups[g].n_vms : 0;
	}
	ret->ip = calloc(m->n_vms * ret->stride + 1, sizeof(*ret->ip));
	ret->added = calloc(n_pool + 1, sizeof(*ret->added));
	use = calloc(m->n_networks + 1, sizeof(*use));
	if (!ret->ip || !ret->added || !use)
		goto nomem;
	for (i = 0; i < m->n_networks; i++) {
		const struct mf_network *net = &m->networks[i];

		if (!net->has_pool)
			continue;
		use[i].first = use[i].next = net->pool_first;
		use[i].size = net->pool_last - net->pool_first + 1;
		for (k = 0; k < KINDS; k++)
			if (!(use[i].bits[k] = calloc(use[i].size / 8 + 1, 1)))
				goto nomem;
	}
	/* what the manifest names: static addresses, each of a sequence */
	for (v = 0; v < m->n_vms; v++) {
		const struct mf_group *gr = &m->groups[m->vms[v].group];

		for (j = 0; j < gr->n_nics; j++) {
			const struct mf_nic *nic = &gr->nics[j];
			uint32_t ip = nic->ip_mode == MF_IP_STATIC ? static_ip(nic) :
				      nic->ip_mode == MF_IP_SEQUENCE ?
				      nic->ip_first + (uint32_t) (v - gr->first_vm) : 0;

			ret->ip[v * ret->stride + j] = ip;
			if (ip && use[nic->network].size)
				mark(&use[nic->network], NAMED, ip);
		}
	}
	/* what the store holds, for VMs here or gone and not yet destroyed */
	for (i = 0; i < n_recorded; i++)
		for (j = 0; j < m->n_networks; j++)
			if (use[j].size && streq(m->networks[j].name, recorded[i].network))
				mark(&use[j], HELD, recorded[i].ip);
	/* each pool NIC: its recorded address when it is still its own, else the lowest free */
	for (v = 0; v < m->n_vms; v++) {
		const struct mf_group *gr = &m->groups[m->vms[v].group];

		for (j = 0; j < gr->n_nics; j++) {
			const struct mf_nic *nic = &gr->nics[j];
			const struct mf_network *net = &m->networks[nic->network];
			struct pool_use *u = &use[nic->network];
			uint32_t ip;

			if (nic->ip_mode != MF_IP_POOL || !u->size)
				continue;
			/* its own record, unless the manifest names it now, or it went to another */
			ip = recorded_ip(recorded, n_recorded, m->vms[v].name, j, net->name);
			if (!ip || ip < net->pool_first || ip > net->pool_last || is(u, NAMED, ip) ||
			    is(u, GIVEN, ip)) {
				while (u->next - u->first < u->size && !free_ip(u, u->next))
					u->next++;
				if (u->next - u->first >= u->size) {
					char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
					struct in_addr x = { htonl(net->pool_first) }, y = { htonl(net->pool_last) };

					(void) err_set(err, MUSTER_E_INVALID,
						       "VM '%s': network '%s' has no address left in its pool "
						       "%s-%s", m->vms[v].name, net->name,
						       inet_ntop(AF_INET, &x, a, sizeof(a)),
						       inet_ntop(AF_INET, &y, b, sizeof(b)));
					goto out;
				}
				ip = u->next;
				ret->added[ret->n_added++] = (struct recorded_address) {
					(char *) m->vms[v].name, j, (char *) net->name, ip,
				};
			}
			mark(u, GIVEN, ip);
			ret->ip[v * ret->stride + j] = ip;
		}
	}
	r = 0;
	goto out;
nomem:
	(void) err_nomem(err);
out:
	for (i = 0; use && i < m->n_networks; i++)
		for (k = 0; k < KINDS; k++)
			free(use[i].bits[k]);
	free(use);
	if (r < 0)
		addresses_release(ret);
	return r;
}

/* ---- what agents report ------------------------------------------------------------------ */

/*
 * a ("addr" or "addr/len") in canonical form into out; -1 when it is not an
 * address or its prefix length is out of range.
 */
static int reported_canonical(const char *a, char out[ADDRESS_TEXT_MAX + 4])
{
	char host[ADDRESS_TEXT_MAX], text[ADDRESS_TEXT_MAX];
	unsigned char bin[16];
	const char *slash = strchr(a, '/');
	size_t hlen = slash ? (size_t) (slash - a) : strlen(a);
	unsigned long plen = 0;
	int af;

	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, a, hlen);
	host[hlen] = '\0';
	af = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, host, bin) != 1 || !inet_ntop(af, bin, text, sizeof(text)))
		return -1;
	if (slash) {
		const char *p = slash + 1;

		if (!*p || strlen(p) > 3)
			return -1;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			plen = plen * 10 + (unsigned long) (*p - '0');
		}
		if (plen > (af == AF_INET ? 32u : 128u))
			return -1;
	}
	if (slash)
		fmt_fit(out, ADDRESS_TEXT_MAX + 4, "%s/%lu", text, plen);
	else
		fmt_fit(out, ADDRESS_TEXT_MAX + 4, "%s", text);
	return 0;
}

size_t addresses_reported_join(const char *const *addrs, size_t n, char *out, size_t cap,
			       size_t *ret_bad)
{
	size_t i, len = 0, kept = 0, bad = 0;

	if (cap)
		out[0] = '\0';
	for (i = 0; i < n; i++) {
		char c[ADDRESS_TEXT_MAX + 4], *at;
		size_t clen;

		if (!addrs[i] || reported_canonical(addrs[i], c) < 0) {
			bad++;
			continue;
		}
		clen = strlen(c);
		/* each once: a whole word of what is kept so far */
		for (at = strstr(out, c); at; at = strstr(at + 1, c))
			if ((at == out || at[-1] == ' ') && (at[clen] == ' ' || at[clen] == '\0'))
				break;
		if (at)
			continue;
		if (len + (len > 0) + clen + 1 > cap) {
			bad++;
			continue;
		}
		if (len > 0)
			out[len++] = ' ';
		memcpy(out + len, c, clen + 1);
		len += clen;
		kept++;
	}
	if (ret_bad)
		*ret_bad = bad;
	return kept;
}

int addresses_reported_next(const char *line, size_t *pos, char host[ADDRESS_TEXT_MAX])
{
	size_t start, end, hlen;

	for (start = *pos; line[start] == ' '; start++)
		;
	if (!line[start])
		return 0;
	for (end = start; line[end] && line[end] != ' '; end++)
		;
	*pos = end;
	for (hlen = 0; start + hlen < end && line[start + hlen] != '/'; hlen++)
		;
	if (hlen >= ADDRESS_TEXT_MAX)
		hlen = ADDRESS_TEXT_MAX - 1;
	memcpy(host, line + start, hlen);
	host[hlen] = '\0';
	return 1;
}
