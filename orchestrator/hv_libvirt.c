/* hv_libvirt.c: the hypervisor interface on libvirt, for any libvirt URI. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define LOG_TAG "hv"
#include "domxml.h"
#include "hv.h"
#include "log.h"

struct hv {
	virConnectPtr conn;
	char *uri;
};

/* libvirt prints its errors to stderr by default: keep them for our messages. */
static void hv_error_sink(void *userdata, virErrorPtr error)
{
	(void) userdata;
	if (error && error->message)
		log_debug("libvirt: %s", error->message);
}

static int hv_fail(struct muster_err *err, const char *what, const char *subject)
{
	virErrorPtr e = virGetLastError();

	return err_set(err, MUSTER_E_HV, "%s '%s': %s", what, subject,
		       e && e->message ? e->message : "unknown libvirt error");
}

int hv_open(const char *uri, struct hv **ret, struct muster_err *err)
{
	struct hv *hv;

	virSetErrorFunc(NULL, hv_error_sink);
	hv = calloc(1, sizeof(*hv));
	if (!hv || !(hv->uri = strdup(uri))) {
		free(hv);
		return err_nomem(err);
	}
	hv->conn = virConnectOpen(uri);
	if (!hv->conn) {
		hv_fail(err, "cannot connect to hypervisor", uri);
		hv_free(hv);
		return -1;
	}
	*ret = hv;
	return 0;
}

void hv_free(struct hv *hv)
{
	if (!hv)
		return;
	if (hv->conn)
		virConnectClose(hv->conn);
	free(hv->uri);
	free(hv);
}

const char *hv_uri(const struct hv *hv)
{
	return hv->uri;
}

static void hv_domain_release(struct hv_domain *d)
{
	free(d->name);
	free(d->uuid);
	free(d->fleet);
	free(d->vm);
	free(d->group);
	free(d->config_hash);
	free(d->base_hash);
}

void hv_domain_list_free(struct hv_domain *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		hv_domain_release(&v[i]);
	free(v);
}

static int hv_domain_read(virDomainPtr dom, struct hv_domain *d, struct muster_err *err)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	const char *name = virDomainGetName(dom);
	char *meta;
	int active;

	if (!name || virDomainGetUUIDString(dom, uuid) < 0)
		return hv_fail(err, "cannot read domain", name ? name : "?");
	active = virDomainIsActive(dom);
	if (active < 0)
		return hv_fail(err, "cannot read state of domain", name);
	d->name = strdup(name);
	d->uuid = strdup(uuid);
	if (!d->name || !d->uuid)
		return err_nomem(err);
	d->active = active == 1;
	meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, DOMXML_NS, 0);
	if (meta) {
		struct domxml_meta m;
		struct muster_err perr;

		if (domxml_meta_parse(meta, &m, &perr) == 0) {
			d->ours = true;
			d->fleet = m.fleet;
			d->vm = m.vm;
			d->group = m.group;
			d->config_hash = m.config_hash;
			d->base_hash = m.base_hash;
		} else {
			/* something wrote our namespace badly: not ours to touch */
			log_debug("domain '%s': ignoring unreadable muster metadata: %s", name,
				  perr.msg);
		}
		free(meta);
	} else {
		virResetLastError();
	}
	return 0;
}

int hv_list_domains(struct hv *hv, struct hv_domain **ret, size_t *ret_n, struct muster_err *err)
{
	virDomainPtr *doms = NULL;
	struct hv_domain *v;
	int n, i, r = -1;

	n = virConnectListAllDomains(hv->conn, &doms, 0);
	if (n < 0)
		return hv_fail(err, "cannot list domains on", hv->uri);
	v = calloc((size_t) n + 1, sizeof(*v));
	if (!v) {
		err_nomem(err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (hv_domain_read(doms[i], &v[i], err) < 0) {
			hv_domain_list_free(v, (size_t) n);
			goto out;
		}
	}
	*ret = v;
	*ret_n = (size_t) n;
	r = 0;
out:
	for (i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	return r;
}
