/*
 * hv.h: the hypervisor as muster sees it, behind a narrow interface
 * (hv_libvirt.c is its libvirt driver; the only user of libvirt).
 */
#ifndef MUSTER_HV_H
#define MUSTER_HV_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct hv;

/* One domain as the hypervisor reports it. */
struct hv_domain {
	char *name;
	char *uuid;
	bool active;
	bool ours;		/* carries muster's metadata; the fields below are set */
	char *fleet;
	char *vm;
	char *group;
	char *config_hash;
	char *base_hash;
};

/* Connect to the libvirt URI uri. *ret: caller frees with hv_free. */
int hv_open(const char *uri, struct hv **ret, struct muster_err *err) WUR;
void hv_free(struct hv *hv);
const char *hv_uri(const struct hv *hv);

/*
 * Every domain, defined or running, with muster's metadata read where there
 * is some: *ret holds *ret_n entries (caller frees with hv_domain_list_free).
 */
int hv_list_domains(struct hv *hv, struct hv_domain **ret, size_t *ret_n,
		    struct muster_err *err) WUR;
void hv_domain_list_free(struct hv_domain *v, size_t n);

#endif
