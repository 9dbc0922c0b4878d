/* setup.c: what a run's hosts must hold before its VMs (setup.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_TAG "setup"
#include "domxml.h"
#include "fetch.h"
#include "fmt.h"
#include "identity.h"
#include "installer.h"
#include "log.h"
#include "setup.h"
#include "statedir.h"
#include "common.h"

/* A download's progress, handed on to the caller's hook with what it is. */
struct progress_relay {
	const struct setup_opts *so;
	const char *what;
};

static void relay(void *userdata, unsigned long long done, unsigned long long total)
{
	const struct progress_relay *pr = userdata;

	pr->so->fetch(pr->so->userdata, pr->what, done, total);
}

/* ---- base images ------------------------------------------------------------------ */

/* The local file holding image im: its path (relative to the manifest) or the fetched copy. */
/* An image's file (path:), relative to the manifest's directory unless absolute. */
static int image_file(const struct manifest *m, const struct mf_image *im, char **ret,
		      struct muster_err *err)
{
	if (im->path[0] == '/') {
		*ret = strdup(im->path);
	} else {
		char *copy = strdup(m->file);

		if (!copy || asprintf(ret, "%s/%s", dirname(copy), im->path) < 0)
			*ret = NULL;
		free(copy);
	}
	return *ret ? 0 : err_nomem(err);
}

static int image_source(const struct setup_opts *so, const struct mf_image *im, char **ret,
			struct muster_err *err)
{
	const struct manifest *m = so->m;

	if (im->url) {
		char what[128], *cache;
		struct progress_relay pr = { so, what };
		struct fetch_opts o = { .progress = so->fetch ? relay : NULL, .userdata = &pr };
		int r;

		fmt_cut(what, sizeof(what), "image '%s'", im->name);
		if (asprintf(&cache, "%s/cache", so->state_dir) < 0)
			return err_nomem(err);
		r = fetch_image(im->url, im->sha256, cache, &o, ret, err);
		free(cache);
		return r;
	}
	return image_file(m, im, ret, err);
}

/* Whether a group with VMs that boot from a disk uses image i. */
static bool image_used(const struct manifest *m, size_t i)
{
	size_t g;

	for (g = 0; g < m->n_groups; g++)
		if (m->groups[g].has_image && m->groups[g].image == i && m->groups[g].n_vms &&
		    m->groups[g].bootstrap != MF_BOOTSTRAP_KICKSTART)
			return true;
	return false;
}

int setup_image_readable(const struct manifest *m, size_t i, struct muster_err *err)
{
	const struct mf_image *im = &m->images[i];
	_cleanup_free_ char *path = NULL;
	struct stat st;
	int fd;

	if (!im->path || !image_used(m, i))
		return 0;
	if (image_file(m, im, &path, err) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "image '%s': cannot read '%s'",
				     im->name, path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(err, MUSTER_E_IO, "image '%s': '%s' is not a file", im->name, path);
	}
	close(fd);
	return 0;
}

/* Volume name of the pool: 1 with *ret_path (caller frees) when it exists, 0 when not, -1. */
static int volume_path(struct hv *hv, const char *pool, const char *name, char **ret_path,
		       struct muster_err *err)
{
	struct hv_volume have = { 0 };

	*ret_path = NULL;
	if (hv_volume_get(hv, pool, name, &have, err) < 0)
		return -1;
	if (have.exists)
		*ret_path = steal_pointer(&have.path);
	hv_volume_release(&have);
	return *ret_path ? 1 : 0;
}

/*
 * Make volume name of the pool (absent: volume_path said so) from the file
 * src (what, for messages): created, then uploaded. *ret_path: its path on
 * the host (caller frees).
 */
static int volume_from_file(struct hv *hv, const char *pool, const char *name, const char *fmt,
			    const char *what, const char *src, char **ret_path,
			    struct muster_err *err)
{
	struct domxml_volume v = { .name = name, .format = fmt };
	struct stat st;
	char *xml;
	int up, r;

	if (stat(src, &st) < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "%s: cannot read '%s'", what, src);
	v.capacity = st.st_size > 0 ? (unsigned long long) st.st_size : 1;
	xml = domxml_volume_format(&v, err);
	up = !xml || hv_volume_create(hv, pool, name, xml, err) < 0 ? -1 :
	     hv_volume_upload_file(hv, pool, name, src, err);
	free(xml);
	if (up < 0 || (r = volume_path(hv, pool, name, ret_path, err)) < 0) {
		err_prefix(err, "%s", what);
		return -1;
	}
	if (r == 0)
		return err_set(err, MUSTER_E_HV, "%s: volume '%s' is not there after its upload",
			       what, name);
	log_info("%s is volume '%s'%s", what, name,
		 up > 0 ? " (created empty: the driver cannot upload)" : "");
	return 0;
}

/*
 * Register each base image the fleet uses as a volume of the pool. An image
 * that cannot be had (fetched, verified, read or uploaded) is that image's
 * failure, kept in img_err[i], not the run's: the other images go on.
 */
static int images_ensure(const struct setup_opts *so, struct hv *hv, char **paths,
			 struct muster_err *img_err, struct muster_err *err)
{
	const struct manifest *m = so->m;
	size_t i;

	for (i = 0; i < m->n_images; i++) {
		const struct mf_image *im = &m->images[i];
		const char *fmt = mf_format_to_string(im->format);
		char name[IDENTITY_DOMAIN_NAME_MAX + 32], what[128], *src = NULL;
		int r;

		if (!image_used(m, i) || img_err[i].code != MUSTER_OK)
			continue;
		if (identity_image_volume_name(m->fleet, im->name, fmt, name, sizeof(name), err) < 0)
			return -1;
		fmt_cut(what, sizeof(what), "image '%s'", im->name);
		/* the image is fetched only when the host has no volume of it */
		r = volume_path(hv, m->pool, name, &paths[i], err);
		if (r != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		r = image_source(so, im, &src, err) < 0 ? -1 :
		    volume_from_file(hv, m->pool, name, fmt, what, src, &paths[i], err);
		free(src);
		if (r < 0) {
			if (!strstr(err->msg, "image '"))
				err_prefix(err, "%s", what);
			img_err[i] = *err;
			log_warn("%s: the VMs made from it fail, the others go on", err->msg);
			err_clear(err);
		}
	}
	return 0;
}

/* ---- kickstart installers ------------------------------------------------------ */

/* A kickstart group's installer, fetched: local files and their digests. */
struct installer_local {
	char *kernel, *initrd;
	char kernel_sha256[65], initrd_sha256[65];
};

static void installers_release(struct installer_local *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].kernel);
		free(v[i].initrd);
	}
	free(v);
}

static bool installs(const struct mf_group *g)
{
	return g->bootstrap == MF_BOOTSTRAP_KICKSTART && g->n_vms;
}

/* One file of an install tree into the cache: checked against sha256 when the tree gives it. */
static int installer_file(const struct setup_opts *so, const char *cache, const char *url,
			  char sha256[65], char **ret, struct muster_err *err)
{
	char what[512];
	struct progress_relay pr = { so, what };
	struct fetch_opts o = { .progress = so->fetch ? relay : NULL, .userdata = &pr };

	fmt_cut(what, sizeof(what), "the installer's '%s'", url);

	if (fetch_image(url, sha256[0] ? sha256 : NULL, cache, &o, ret, err) < 0)
		return -1;
	return sha256[0] ? 0 : fetch_file_sha256(*ret, sha256, err);
}

/* Fetch the installer of every kickstart group that has VMs (each tree once): loc per group. */
static int installers_fetch(const struct setup_opts *so, struct installer_local *loc,
			    struct muster_err *err)
{
	const struct manifest *m = so->m;
	const char *state_dir = so->state_dir;
	char *cache = NULL;
	size_t g, h;
	int r = -1;

	if (asprintf(&cache, "%s/cache", state_dir) < 0)
		return err_nomem(err);
	for (g = 0; g < m->n_groups; g++) {
		const struct mf_group *gr = &m->groups[g];
		struct installer_boot b = { 0 };
		bool unsigned_tree;

		if (!installs(gr))
			continue;
		for (h = 0; h < g; h++)
			if (installs(&m->groups[h]) &&
			    streq(m->groups[h].kickstart.install_tree, gr->kickstart.install_tree))
				break;
		if (h < g) {
			loc[g] = loc[h];
			loc[g].kernel = strdup(loc[h].kernel);
			loc[g].initrd = strdup(loc[h].initrd);
			if (!loc[g].kernel || !loc[g].initrd) {
				err_nomem(err);
				goto out;
			}
			continue;
		}
		if (installer_locate(gr->kickstart.install_tree, "x86_64", &b, err) < 0)
			goto out;
		memcpy(loc[g].kernel_sha256, b.kernel_sha256, 65);
		memcpy(loc[g].initrd_sha256, b.initrd_sha256, 65);
		unsigned_tree = !b.kernel_sha256[0] || !b.initrd_sha256[0];
		r = installer_file(so, cache, b.kernel_url, loc[g].kernel_sha256, &loc[g].kernel,
				   err) < 0 ||
		    installer_file(so, cache, b.initrd_url, loc[g].initrd_sha256, &loc[g].initrd,
				   err) < 0 ? -1 : 0;
		installer_boot_release(&b);
		if (r < 0) {
			err_prefix(err, "group '%s': the installer", gr->name);
			goto out;
		}
		r = -1;
		if (unsigned_tree)
			log_warn("install tree '%s' lists no SHA-256 of its kernel and initrd in "
				 ".treeinfo: they are not verified", gr->kickstart.install_tree);
	}
	r = 0;
out:
	free(cache);
	return r;
}

/*
 * The installers as volumes of a host's pool (<fleet>-installer-<digest>.kernel
 * and .initrd, so a tree that changes gets new ones): their paths per group.
 */
static int installers_ensure(const struct manifest *m, struct hv *hv,
			     const struct installer_local *loc, char **kernels, char **initrds,
			     struct muster_err *err)
{
	size_t g;

	for (g = 0; g < m->n_groups; g++) {
		const char *const part[2] = { "kernel", "initrd" };
		const char *const sum[2] = { loc[g].kernel_sha256, loc[g].initrd_sha256 };
		const char *const src[2] = { loc[g].kernel, loc[g].initrd };
		char **const out[2] = { &kernels[g], &initrds[g] };
		size_t k;
		int r;

		if (!installs(&m->groups[g]))
			continue;
		for (k = 0; k < 2; k++) {
			char name[IDENTITY_DOMAIN_NAME_MAX + 48], what[96];

			fmt_cut(what, sizeof(what), "the installer's %s of group '%s'", part[k],
					m->groups[g].name);
			if (snprintf(name, sizeof(name), "%s-installer-%.16s.%s", m->fleet, sum[k],
				     part[k]) >= (int) sizeof(name))
				return err_set(err, MUSTER_E_INVALID, "%s: name too long", what);
			r = volume_path(hv, m->pool, name, out[k], err);
			if (r < 0 ||
			    (r == 0 && volume_from_file(hv, m->pool, name, "raw", what, src[k], out[k],
							err) < 0))
				return -1;
		}
	}
	return 0;
}

int setup_check(const struct manifest *m, struct muster_err *err)
{
	size_t g;

	for (g = 0; g < m->n_groups; g++) {
		const struct mf_group *gr = &m->groups[g];

		if (!installs(gr))
			continue;
		if (!gr->kickstart.install_tree)
			return err_set(err, MUSTER_E_INVALID,
				       "group '%s': a kickstart group needs kickstart.install_tree: "
				       "apply boots its installer from it", gr->name);
		if (!m->endpoint)
			return err_set(err, MUSTER_E_INVALID,
				       "group '%s': a kickstart group needs the fleet's endpoint: "
				       "its installer fetches the kickstart from `muster serve` there",
				       gr->name);
	}
	return 0;
}

/* ---- networks ---------------------------------------------------------------------- */

static bool network_matches(const char *live, void *userdata)
{
	bool same = false;

	return domxml_network_matches(live, userdata, &same, NULL) == 0 && same;
}

static bool host_eq(const struct domxml_dhcp_host *a, const struct domxml_dhcp_host *b)
{
	return a->mac && b->mac && a->ip && b->ip && strcasecmp(a->mac, b->mac) == 0 &&
	       streq(a->ip, b->ip) && (a->name ? b->name && streq(a->name, b->name) : !b->name);
}

static bool host_in(const struct domxml_dhcp_host *h, const struct domxml_dhcp_host *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (host_eq(h, &v[i]))
			return true;
	return false;
}

/* A libvirt network of the fleet as the manifest wants it (network_wanted). */
struct net_wanted {
	char name[IDENTITY_DOMAIN_NAME_MAX + 1], gw[INET_ADDRSTRLEN], lo[INET_ADDRSTRLEN],
	     hi[INET_ADDRSTRLEN];
	struct domxml_dhcp_host *hosts;
	char (*ips)[INET_ADDRSTRLEN];
	struct domxml_network n;
};

static void network_wanted_release(struct net_wanted *w)
{
	free(w->hosts);
	free(w->ips);
	w->hosts = NULL;
	w->ips = NULL;
}

/*
 * Network i of the fleet as its libvirt network: a nat or isolated one
 * serves its DHCP range (mf_network_dhcp), and each address muster gives
 * (static, a sequence's, a pool's: vmrec_ips) as a DHCP host. 1, 0 when it
 * has none (user-mode networking), -1 with err. Release w.
 */
static int network_wanted(const struct manifest *m, const struct vmrecs *recs, size_t i,
			  struct net_wanted *w, struct muster_err *err)
{
	static const char *const modes[MF_NET_TYPE_MAX] = {
		[MF_NET_NAT] = "nat", [MF_NET_ISOLATED] = "isolated", [MF_NET_BRIDGE] = "bridge",
		[MF_NET_VLAN] = "ovs-vlan",
	};
	const struct mf_network *net = &m->networks[i];
	size_t v, k, nh;
	uint32_t d0, d1;

	memset(w, 0, sizeof(*w));
	w->n.name = w->name;
	w->n.mode = modes[net->type];
	if (!w->n.mode)
		return 0;
	if (identity_domain_name(m->fleet, net->name, w->name, sizeof(w->name), err) < 0)
		return -1;
	/* (a VM may have more than one NIC on the network) */
	for (v = 0, nh = 0; v < m->n_vms; v++)
		nh += manifest_vm_group(m, &m->vms[v])->n_nics;
	w->hosts = calloc(nh + 1, sizeof(*w->hosts));
	w->ips = calloc(nh + 1, sizeof(*w->ips));
	if (!w->hosts || !w->ips) {
		network_wanted_release(w);
		return err_nomem(err);
	}
	nh = 0;
	for (v = 0; v < m->n_vms; v++) {
		const struct mf_group *g = manifest_vm_group(m, &m->vms[v]);
		const uint32_t *own = vmrec_ips(recs, v);

		for (k = 0; k < g->n_nics; k++) {
			if (g->nics[k].network != i)
				continue;
			if (own && own[k]) {
				struct in_addr a = { htonl(own[k]) };

				w->hosts[nh].ip = inet_ntop(AF_INET, &a, w->ips[nh], INET_ADDRSTRLEN);
			} else if (g->nics[k].ip) {
				w->hosts[nh].ip = g->nics[k].ip;
			} else {
				continue;
			}
			w->hosts[nh].mac = vmrec_mac(recs, v, k);
			w->hosts[nh++].name = m->vms[v].name;
		}
	}
	if (net->type == MF_NET_NAT || net->type == MF_NET_ISOLATED) {
		struct in_addr a;

		a.s_addr = htonl(net->net_addr + 1);
		inet_ntop(AF_INET, &a, w->gw, sizeof(w->gw));
		w->n.address = w->gw;
		w->n.prefix = net->prefix;
		/* no range when the pool leaves none: its hosts only */
		if (mf_network_dhcp(net, &d0, &d1)) {
			a.s_addr = htonl(d0);
			inet_ntop(AF_INET, &a, w->lo, sizeof(w->lo));
			a.s_addr = htonl(d1);
			inet_ntop(AF_INET, &a, w->hi, sizeof(w->hi));
			w->n.dhcp_start = w->lo;
			w->n.dhcp_end = w->hi;
		}
		w->n.hosts = w->hosts;
		w->n.n_hosts = nh;
		w->n.mtu = net->mtu;
	} else {
		w->n.bridge = net->bridge;
		w->n.vlan = net->vlan;
	}
	return 1;
}

static bool is_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

/* What a defined network has of DHCP (network_diff). */
struct net_have {
	struct domxml_dhcp_host *hosts;
	size_t n_hosts;
	char *start, *end;	/* its range; NULL: none */
};

static void net_have_release(struct net_have *h)
{
	domxml_hosts_free(h->hosts, h->n_hosts);
	free(h->start);
	free(h->end);
	memset(h, 0, sizeof(*h));
}

enum net_diff {
	NET_SAME,
	NET_LIVE,	/* its DHCP range or hosts differ: brought in line live */
	NET_OTHER,	/* more differs: not replaced (hv_network_ensure says so) */
};

/*
 * How a defined network (live: its XML) differs from want, and what it has
 * of DHCP (release have). 0, or -1 with err.
 */
static int network_diff(const char *live, const struct domxml_network *want, struct net_have *have,
			enum net_diff *ret, struct muster_err *err)
{
	struct domxml_network probe = *want;
	bool same = false;

	memset(have, 0, sizeof(*have));
	if (domxml_network_matches(live, want, &same, err) < 0)
		return -1;
	if (same) {
		*ret = NET_SAME;
		return 0;
	}
	if (domxml_network_hosts(live, &have->hosts, &have->n_hosts, err) < 0 ||
	    domxml_network_range(live, &have->start, &have->end, err) < 0)
		return -1;
	if (have->start && (!is_ipv4(have->start) || !is_ipv4(have->end))) {
		*ret = NET_OTHER;	/* not libvirt's own writing: not ours to mend */
		return 0;
	}
	probe.hosts = have->hosts;
	probe.n_hosts = have->n_hosts;
	probe.dhcp_start = have->start;
	probe.dhcp_end = have->end;
	if (domxml_network_matches(live, &probe, &same, NULL) < 0)
		same = false;
	*ret = same ? NET_LIVE : NET_OTHER;
	return 0;
}

static bool range_same(const struct net_have *have, const struct domxml_network *want)
{
	return have->start ? want->dhcp_start && streq(have->start, want->dhcp_start) &&
			     streq(have->end, want->dhcp_end)
			   : !want->dhcp_start;
}

/*
 * A network that differs from want only in its DHCP range and hosts (a VM
 * with an address of muster's added or removed, the pool or dhcp: changed)
 * has them brought in line, live, with virNetworkUpdate: guests on it keep
 * running. Stale hosts go first, then the old range, so that what comes in
 * never meets what goes.
 */
static int network_sync(struct hv *hv, const struct domxml_network *want,
			const struct net_have *have, struct muster_err *err)
{
	char *xml;
	size_t i;

	for (i = 0; i < have->n_hosts; i++) {
		if (host_in(&have->hosts[i], want->hosts, want->n_hosts))
			continue;
		xml = domxml_dhcp_host_format(&have->hosts[i], err);
		if (!xml || hv_network_dhcp_host(hv, want->name, xml, false, err) < 0)
			goto fail;
		free(xml);
	}
	if (!range_same(have, want)) {
		if (have->start) {
			xml = domxml_dhcp_range_format(have->start, have->end, err);
			if (!xml || hv_network_dhcp_range(hv, want->name, xml, false, err) < 0)
				goto fail;
			free(xml);
		}
		if (want->dhcp_start) {
			xml = domxml_dhcp_range_format(want->dhcp_start, want->dhcp_end, err);
			if (!xml || hv_network_dhcp_range(hv, want->name, xml, true, err) < 0) {
				/* the old range back, so that the network serves as it did */
				struct muster_err ignored = { 0 };
				char *old = have->start ? domxml_dhcp_range_format(have->start, have->end,
										  &ignored) : NULL;

				if (old && hv_network_dhcp_range(hv, want->name, old, true, &ignored) < 0)
					log_warn("network '%s': its old DHCP range could not be put "
						 "back: %s", want->name, ignored.msg);
				free(old);
				goto fail;
			}
			free(xml);
		}
		log_info("network '%s': DHCP range %s%s%s changed to %s%s%s, live", want->name,
			 have->start ? have->start : "none", have->start ? "-" : "",
			 have->start ? have->end : "", want->dhcp_start ? want->dhcp_start : "none",
			 want->dhcp_start ? "-" : "", want->dhcp_start ? want->dhcp_end : "");
	}
	for (i = 0; i < want->n_hosts; i++) {
		if (host_in(&want->hosts[i], have->hosts, have->n_hosts))
			continue;
		xml = domxml_dhcp_host_format(&want->hosts[i], err);
		if (!xml || hv_network_dhcp_host(hv, want->name, xml, true, err) < 0)
			goto fail;
		free(xml);
	}
	return 0;
fail:
	free(xml);
	return -1;
}

/*
 * A vlan network's bridge, when the host is this machine: libvirt honours
 * a VLAN tag only on Open vSwitch (and hostdev); on a Linux bridge the
 * tag would be dropped without a word, so the VMs would land untagged.
 */
static int vlan_bridges_check(const struct manifest *m, struct muster_err *err)
{
	size_t i;

	for (i = 0; i < m->n_networks; i++) {
		const struct mf_network *net = &m->networks[i];
		char path[64];

		if (net->type != MF_NET_VLAN)
			continue;
		fmt_fit(path, sizeof(path), "/sys/class/net/%s/bridge", net->bridge);
		if (access(path, F_OK) != 0)
			continue;	/* not a Linux bridge (or not here): libvirt says */
		return err_set(err, MUSTER_E_INVALID, "network '%s': '%s' is a Linux bridge, "
			       "where libvirt does not honour a VLAN tag (only Open vSwitch "
			       "does): make a bridge over a VLAN interface (such as one over "
			       "eth0.%u) and use it as type: bridge", net->name, net->bridge,
			       net->vlan);
	}
	return 0;
}

/* Each libvirt network of the fleet on hv, defined, running, in line (network_sync). */
static int networks_ensure(const struct manifest *m, const struct vmrecs *recs,
			   struct hv *hv, struct muster_err *err)
{
	size_t i;

	for (i = 0; i < m->n_networks; i++) {
		struct net_wanted w;
		struct net_have have = { 0 };
		enum net_diff diff = NET_OTHER;
		char *xml = NULL, *live = NULL;
		int r = network_wanted(m, recs, i, &w, err);

		if (r <= 0) {
			if (r < 0)
				return -1;
			continue;	/* user-mode networking has no libvirt network */
		}
		xml = domxml_network_format(&w.n, err);
		r = xml ? hv_network_xml(hv, w.name, &live, err) : -1;
		if (r == 0 && live && (w.n.address != NULL))
			r = network_diff(live, &w.n, &have, &diff, err);
		if (r == 0 && live && diff == NET_LIVE)
			r = network_sync(hv, &w.n, &have, err);
		if (r == 0)
			r = hv_network_ensure(hv, w.name, xml, network_matches, &w.n, err);
		net_have_release(&have);
		free(live);
		free(xml);
		network_wanted_release(&w);
		if (r < 0)
			return -1;
	}
	return 0;
}

/*
 * A route of this machine (/proc/net/route: this network namespace's IPv4
 * table) that overlaps net's subnet, other than a default route: its
 * destination, prefix and interface into out; *exact when it is the very
 * subnet, which libvirt refuses to start a network on ("already in use").
 * A wider or narrower one hides part of the subnet, or the subnet part of
 * it. false: none, or the table unreadable.
 */
static bool route_overlap(const struct mf_network *net, char *out, size_t outsz, bool *exact)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256], dev[32], text[INET_ADDRSTRLEN];
	unsigned long dst, gw, flags, refcnt, use, metric, mask;
	bool found = false;

	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f)) {	/* the header */
		fclose(f);
		return false;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		uint32_t d, mk, m2;
		struct in_addr a;
		unsigned prefix = 0;

		if (sscanf(line, "%31s %lx %lx %lx %lu %lu %lu %lx", dev, &dst, &gw, &flags, &refcnt,
			   &use, &metric, &mask) != 8 || mask == 0)
			continue;
		/* (printed as the network-order word read in host order) */
		d = ntohl((uint32_t) dst);
		mk = ntohl((uint32_t) mask);
		m2 = mk & (~(uint32_t) 0 << (32 - net->prefix));
		if ((d & m2) != (net->net_addr & m2))
			continue;
		while (prefix < 32 && (mk & (0x80000000u >> prefix)))
			prefix++;
		a.s_addr = htonl(d);
		inet_ntop(AF_INET, &a, text, sizeof(text));
		fmt_cut(out, outsz, "%s/%u on %s", text, prefix, dev);
		*exact = prefix == net->prefix && d == net->net_addr;
		found = true;
	}
	fclose(f);
	return found;
}

/*
 * How network i (wanted as w) stands on host h (hv): *c filled, or *listed
 * false when it is as wanted. 0, or -1 with err.
 */
static int preview_one(const struct manifest *m, size_t i, const struct net_wanted *w,
		       struct hosts *hosts, size_t h, struct hv *hv, struct setup_net_change *c,
		       bool *listed, struct muster_err *err)
{
	struct net_have have = { 0 };
	enum net_diff diff = NET_SAME;
	_cleanup_free_ char *live = NULL;
	bool same = false;
	size_t k;
	int q = hv_network_xml(hv, w->name, &live, err);

	*listed = false;
	if (q == 0 && live && w->n.address)
		q = network_diff(live, &w->n, &have, &diff, err);
	else if (q == 0 && live && (q = domxml_network_matches(live, &w->n, &same, err)) == 0)
		diff = same ? NET_SAME : NET_OTHER;
	if (q < 0 || (live && diff == NET_SAME)) {
		net_have_release(&have);
		return q;
	}
	*listed = true;
	memset(c, 0, sizeof(*c));
	c->host = hosts->h[h].uri;
	c->network = m->networks[i].name;
	fmt_fit(c->libvirt_name, sizeof(c->libvirt_name), "%s", w->name);
	c->kind = !live ? SETUP_NET_NEW : diff == NET_LIVE ? SETUP_NET_LIVE : SETUP_NET_DIFFERS;
	/* a network to make here whose subnet this machine routes elsewhere */
	if (!live && w->n.address && hosts_local(hosts, h))
		c->route_conflict = route_overlap(&m->networks[i], c->route, sizeof(c->route),
						  &c->route_exact);
	if (c->kind == SETUP_NET_LIVE) {
		c->range_changes = !range_same(&have, &w->n);
		if (have.start)
			fmt_fit(c->old_range, sizeof(c->old_range), "%s-%s", have.start, have.end);
		if (w->n.dhcp_start)
			fmt_fit(c->new_range, sizeof(c->new_range), "%s-%s", w->n.dhcp_start,
				w->n.dhcp_end);
		for (k = 0; k < have.n_hosts; k++)
			c->hosts_removed += !host_in(&have.hosts[k], w->n.hosts, w->n.n_hosts);
		for (k = 0; k < w->n.n_hosts; k++)
			c->hosts_added += !host_in(&w->n.hosts[k], have.hosts, have.n_hosts);
	}
	net_have_release(&have);
	return 0;
}

int setup_networks_preview(const struct manifest *m, const struct vmrecs *recs,
			   struct hosts *hosts, struct setup_net_change **ret, size_t *ret_n,
			   struct muster_err *err)
{
	struct setup_net_change *out = NULL;
	struct net_wanted *want = calloc(m->n_networks + 1, sizeof(*want));
	bool *used = calloc(hosts->n + 1, sizeof(*used)), *libvirt = NULL;
	size_t n = 0, h, i;
	int r = -1;

	*ret = NULL;
	*ret_n = 0;
	libvirt = calloc(m->n_networks + 1, sizeof(*libvirt));
	if (!used || !want || !libvirt) {
		err_nomem(err);
		goto out;
	}
	for (i = 0; i < recs->n; i++)
		if (recs->v[i].host < hosts->n)
			used[recs->v[i].host] = true;
	/* each network as wanted, once: the same on every host */
	for (i = 0; i < m->n_networks; i++) {
		int q = network_wanted(m, recs, i, &want[i], err);

		if (q < 0)
			goto out;
		libvirt[i] = q > 0;
	}
	for (h = 0; h < hosts->n; h++) {
		struct hv *hv = NULL;

		if (!used[h] || hosts_is_down(hosts, h, NULL))
			continue;
		if (hosts_hv(hosts, h, &hv, err) < 0)
			goto out;
		for (i = 0; i < m->n_networks; i++) {
			struct setup_net_change *grown;
			bool listed;

			if (!libvirt[i])
				continue;
			grown = realloc(out, (n + 1) * sizeof(*out));
			if (!grown) {
				err_nomem(err);
				goto out;
			}
			out = grown;
			if (preview_one(m, i, &want[i], hosts, h, hv, &out[n], &listed, err) < 0)
				goto out;
			n += listed;
		}
	}
	*ret = out;
	*ret_n = n;
	out = NULL;
	r = 0;
out:
	for (i = 0; want && i < m->n_networks; i++)
		network_wanted_release(&want[i]);
	free(want);
	free(libvirt);
	free(out);
	free(used);
	return r;
}

/* ---- the controller's side --------------------------------------------------------- */

/* <state>/console, absolute (libvirt wants it so), made 0700. */
static int console_dir_make(const char *state_dir, char **ret, struct muster_err *err)
{
	_cleanup_free_ char *abs = realpath(state_dir, NULL);

	if (!abs)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot resolve '%s'", state_dir);
	if (asprintf(ret, "%s/console", abs) < 0) {
		*ret = NULL;
		return err_nomem(err);
	}
	return statedir_prepare(*ret, err);
}

/* Whether addr:port can be bound on this machine now. */
static bool port_free(const char *addr, unsigned port, void *ud)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
	int fd, r;

	(void) ud;
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return false;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;	/* cannot tell: QEMU will say */
	r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
	close(fd);
	return r == 0;
}

int setup_ports(const struct setup_opts *o, struct setup *s, struct muster_err *err)
{
	const struct manifest *m = o->m;
	struct store *st = o->st;
	struct forwards *ret = &s->fwd;
	bool local = hosts_all_local(o->hosts);
	struct recorded_forward *rec = NULL;
	size_t n_rec = 0;
	int r;

	if (store_forward_list(st, NULL, &rec, &n_rec, err) < 0)
		return -1;
	r = forwards_assign(m, rec, n_rec, local ? port_free : NULL, NULL, ret, err);
	if (r == 0 && store_forward_put_many(st, m->fleet, ret->added, ret->n_added, err) < 0)
		r = -1;
	store_forward_list_free(rec, n_rec);
	return r;
}


/* ---- the whole ------------------------------------------------------------------- */

void setup_release(struct setup *s)
{
	size_t h, j;

	for (h = 0; s->images && h < s->n_hosts; h++) {
		for (j = 0; s->images[h] && j < s->n_images; j++)
			free(s->images[h][j]);
		free(s->images[h]);
	}
	for (h = 0; s->kernels && h < s->n_hosts; h++) {
		for (j = 0; j < s->n_groups; j++) {
			free(s->kernels[h] ? s->kernels[h][j] : NULL);
			free(s->initrds && s->initrds[h] ? s->initrds[h][j] : NULL);
		}
		free(s->kernels[h]);
		free(s->initrds ? s->initrds[h] : NULL);
	}
	free(s->images);
	free(s->kernels);
	free(s->initrds);
	free(s->image_formats);
	free(s->image_err);
	free(s->console_dir);
	free(s->console_here);
	forwards_release(&s->fwd);
	memset(s, 0, sizeof(*s));
}

static int setup_alloc(const struct manifest *m, size_t n_hosts, struct setup *s,
		       struct muster_err *err)
{
	size_t h, i;

	memset(s, 0, sizeof(*s));
	s->n_hosts = n_hosts;
	s->n_images = m->n_images;
	s->n_groups = m->n_groups;
	s->images = calloc(n_hosts + 1, sizeof(*s->images));
	s->kernels = calloc(n_hosts + 1, sizeof(*s->kernels));
	s->initrds = calloc(n_hosts + 1, sizeof(*s->initrds));
	s->image_formats = calloc(m->n_images + 1, sizeof(*s->image_formats));
	s->image_err = calloc(m->n_images + 1, sizeof(*s->image_err));
	if (!s->images || !s->kernels || !s->initrds || !s->image_formats || !s->image_err)
		return err_nomem(err);
	for (h = 0; h < n_hosts; h++) {
		s->images[h] = calloc(m->n_images + 1, sizeof(**s->images));
		s->kernels[h] = calloc(m->n_groups + 1, sizeof(**s->kernels));
		s->initrds[h] = calloc(m->n_groups + 1, sizeof(**s->initrds));
		if (!s->images[h] || !s->kernels[h] || !s->initrds[h])
			return err_nomem(err);
	}
	for (i = 0; i < m->n_images; i++)
		s->image_formats[i] = mf_format_to_string(m->images[i].format);
	return 0;
}

int setup_hosts(const struct setup_opts *o, struct setup *ret, struct muster_err *err)
{
	const struct manifest *m = o->m;
	struct hosts *hosts = o->hosts;
	struct installer_local *inst = NULL;
	bool *used = NULL;
	size_t i;
	int r = -1;

	if (setup_alloc(m, hosts->n, ret, err) < 0)
		return -1;
	used = calloc(hosts->n + 1, sizeof(*used));
	inst = calloc(m->n_groups + 1, sizeof(*inst));
	if (!used || !inst) {
		err_nomem(err);
		goto out;
	}
	for (i = 0; i < o->recs->n; i++)
		used[o->recs->v[i].host] = true;
	/* before anything is made anywhere: a VLAN this machine would drop */
	for (i = 0; i < hosts->n; i++)
		if (used[i] && !hosts_is_down(hosts, i, NULL) && hosts_local(hosts, i) &&
		    vlan_bridges_check(m, err) < 0)
			goto out;
	if (installers_fetch(o, inst, err) < 0)
		goto out;
	/* each host that gets a VM: the pool, the base images, the networks */
	for (i = 0; i < hosts->n; i++) {
		struct hv *hv = NULL;
		char *pool;

		if (!used[i] || hosts_is_down(hosts, i, NULL))
			continue;
		pool = domxml_pool_format(m->pool, m->pool_path, err);
		r = !pool || hosts_hv(hosts, i, &hv, err) < 0 ||
		    hv_pool_ensure(hv, m->pool, pool, err) < 0 ||
		    images_ensure(o, hv, ret->images[i], ret->image_err, err) < 0 ||
		    installers_ensure(m, hv, inst, ret->kernels[i], ret->initrds[i], err) < 0 ||
		    networks_ensure(m, o->recs, hv, err) < 0 ? -1 : 0;
		free(pool);
		if (r < 0 && hosts->n > 1 && err->code != MUSTER_E_NOMEM) {
			/* one host that cannot be set up fails its own VMs, not the run */
			log_info("host %s cannot be used: %s", hosts->h[i].uri, err->msg);
			hosts_set_down(hosts, i, err);
			err_clear(err);
		} else if (r < 0) {
			goto out;
		}
	}
	r = -1;
	/*
	 * the serial consoles, where they can be written: the VMs on this
	 * machine (a path here means nothing to another host's daemon)
	 */
	ret->console_here = calloc(hosts->n + 1, sizeof(*ret->console_here));
	if (!ret->console_here) {
		err_nomem(err);
		goto out;
	}
	for (i = 0; i < hosts->n; i++)
		ret->console_here[i] = used[i] && hosts_local(hosts, i);
	for (i = 0; i < hosts->n && !ret->console_here[i]; i++)
		;
	if (i < hosts->n && console_dir_make(o->state_dir, &ret->console_dir, err) < 0)
		goto out;
	r = 0;
out:
	installers_release(inst, m->n_groups);
	free(used);
	return r;
}
