/* facts.c: a definition's facts, muster's wanted ones, and drift between them (facts.h). */
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "identity.h"
#include "manifest.h"
#include "vmrec.h"
#include "common.h"

void facts_release(struct domain_facts *f)
{
	size_t i;

	if (!f)
		return;
	free(f->config_hash);
	free(f->base_hash);
	free(f->kernel);
	free(f->initrd);
	free(f->cmdline);
	for (i = 0; i < f->n_disks; i++) {
		free(f->disks[i].device);
		free(f->disks[i].source);
	}
	free(f->disks);
	for (i = 0; i < f->n_nics; i++) {
		free(f->nics[i].mac);
		free(f->nics[i].kind);
		free(f->nics[i].source);
	}
	free(f->nics);
	memset(f, 0, sizeof(*f));
}

/* strdup, NULL staying NULL; *failed set when memory runs out. */
static char *dup_or_null(const char *s, bool *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

static char *volume_source(const char *pool, const char *vol, bool *failed)
{
	char *s;

	if (asprintf(&s, "volume %s/%s", pool, vol) < 0) {
		*failed = true;
		return NULL;
	}
	return s;
}

int facts_wanted(const struct manifest *m, const struct vmrecs *recs, size_t vm,
		 struct domain_facts *ret, struct muster_err *err)
{
	const struct mf_vm *v = &m->vms[vm];
	const struct mf_group *g = manifest_vm_group(m, v);
	const struct vmrec *rec = &recs->v[vm];
	struct domain_facts f = { .read = true };
	bool failed = false;
	size_t i;

	f.config_hash = dup_or_null(rec->config_hash, &failed);
	f.base_hash = dup_or_null(rec->base_hash, &failed);
	f.memory_kib = g->memory / 1024;
	f.vcpus = g->cpus;
	/* a kickstart VM boots what was installed on its disk (provision.c: domain_xml) */
	if (g->bootstrap != MF_BOOTSTRAP_KICKSTART) {
		f.kernel = dup_or_null(m->boot_kernel, &failed);
		f.initrd = dup_or_null(m->boot_initrd, &failed);
		f.cmdline = dup_or_null(m->boot_cmdline, &failed);
	}
	f.disks = calloc(2, sizeof(*f.disks));
	f.nics = calloc(g->n_nics + 1, sizeof(*f.nics));
	if (!f.disks || !f.nics)
		goto nomem;
	f.disks[f.n_disks].device = dup_or_null("disk", &failed);
	f.disks[f.n_disks++].source = volume_source(m->pool, rec->disk, &failed);
	if (g->bootstrap == MF_BOOTSTRAP_CLOUD_INIT) {
		f.disks[f.n_disks].device = dup_or_null("cdrom", &failed);
		f.disks[f.n_disks++].source = volume_source(m->pool, rec->seed, &failed);
	}
	for (i = 0; i < g->n_nics; i++) {
		const struct mf_network *net = &m->networks[g->nics[i].network];
		struct nic_fact *n = &f.nics[f.n_nics];
		char lvname[IDENTITY_DOMAIN_NAME_MAX + 1];

		switch (net->type) {
		case MF_NET_NAT:
		case MF_NET_ISOLATED:
			if (identity_domain_name(m->fleet, net->name, lvname, sizeof(lvname), err) < 0)
				goto fail;
			n->kind = dup_or_null("network", &failed);
			n->source = dup_or_null(lvname, &failed);
			break;
		case MF_NET_BRIDGE:
		case MF_NET_VLAN:
			n->kind = dup_or_null("bridge", &failed);
			n->source = dup_or_null(net->bridge, &failed);
			n->vlan = net->type == MF_NET_VLAN ? net->vlan : 0;
			break;
		case MF_NET_USER:	/* QEMU arguments, not an <interface> */
		case MF_NET_TYPE_MAX:
			continue;
		}
		n->mac = dup_or_null(vmrec_mac(recs, vm, i), &failed);
		f.n_nics++;
	}
	if (failed)
		goto nomem;
	*ret = f;
	return 0;
nomem:
	err_nomem(err);
fail:
	facts_release(&f);
	return -1;
}

/* "; " between differences. */
static void sep(struct buf *out, size_t found)
{
	if (found || out->len)
		(void) buf_puts(out, "; ");
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && streq(a, b));
}

static bool same_mac(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

static const char *or_none(const char *s)
{
	return s && *s ? s : "none";
}

static const struct nic_fact *nic_by_mac(const struct domain_facts *f, const char *mac)
{
	size_t i;

	for (i = 0; i < f->n_nics; i++)
		if (same_mac(f->nics[i].mac, mac))
			return &f->nics[i];
	return NULL;
}

/* The MiB a hypervisor gives for kib KiB: rounded up. */
static unsigned long long mib(unsigned long long kib)
{
	return kib / 1024 + (kib % 1024 != 0);
}

size_t facts_diff(const struct domain_facts *want, const struct domain_facts *have,
		  struct buf *out)
{
	size_t found = 0, i, n;

	if (mib(have->memory_kib) != mib(want->memory_kib)) {
		sep(out, found++);
		(void) buf_printf(out, "memory %llu MiB on the host, %llu MiB wanted",
				  mib(have->memory_kib), mib(want->memory_kib));
	}
	if (have->vcpus != want->vcpus) {
		sep(out, found++);
		(void) buf_printf(out, "%u vCPUs on the host, %u wanted", have->vcpus, want->vcpus);
	}
	n = have->n_disks < want->n_disks ? have->n_disks : want->n_disks;
	for (i = 0; i < n; i++) {
		const struct disk_fact *h = &have->disks[i], *w = &want->disks[i];

		if (same(h->device, w->device) && same(h->source, w->source))
			continue;
		sep(out, found++);
		(void) buf_printf(out, "%s %zu: %s %s on the host, %s %s wanted", or_none(w->device),
				  i + 1, or_none(h->device), or_none(h->source), or_none(w->device),
				  or_none(w->source));
	}
	if (have->n_disks != want->n_disks) {
		sep(out, found++);
		(void) buf_printf(out, "%zu disks on the host, %zu wanted", have->n_disks,
				  want->n_disks);
	}
	for (i = 0; i < want->n_nics; i++) {
		const struct nic_fact *w = &want->nics[i];
		const struct nic_fact *h = nic_by_mac(have, w->mac);

		if (!h) {
			sep(out, found++);
			(void) buf_printf(out, "interface %s missing on the host", or_none(w->mac));
		} else if (!same(h->kind, w->kind) || !same(h->source, w->source) ||
			   h->vlan != w->vlan) {
			sep(out, found++);
			(void) buf_printf(out, "interface %s: %s '%s' vlan %u on the host, %s '%s' "
					  "vlan %u wanted", w->mac, or_none(h->kind),
					  h->source ? h->source : "", h->vlan, or_none(w->kind),
					  w->source ? w->source : "", w->vlan);
		}
	}
	for (i = 0; i < have->n_nics; i++) {
		if (nic_by_mac(want, have->nics[i].mac))
			continue;
		sep(out, found++);
		(void) buf_printf(out, "interface %s on the host is not the manifest's",
				  or_none(have->nics[i].mac));
	}
	if (!same(have->kernel, want->kernel) || !same(have->initrd, want->initrd) ||
	    !same(have->cmdline, want->cmdline)) {
		sep(out, found++);
		(void) buf_printf(out, "boot: kernel %s on the host, %s wanted", or_none(have->kernel),
				  or_none(want->kernel));
		if (same(have->kernel, want->kernel))
			(void) buf_puts(out, " (its initrd or command line differs)");
	}
	return found;
}
