/*
 * inspect.h: what the hosts have of each wanted VM beyond the domain list:
 * its definitions' facts (persistent and live) and the facts muster would
 * define it with, its disk and seed volumes and the base image volume its
 * disk should sit on, so the planner can tell drift (plan.h: plan_volumes,
 * facts.h). Read only where the VM's domain is: a VM not made yet costs
 * nothing; the reads go on a few threads, each with its connections.
 */
#ifndef MUSTER_INSPECT_H
#define MUSTER_INSPECT_H

#include "facts.h"
#include "hosts.h"
#include "manifest.h"
#include "plan.h"
#include "vmrec.h"

struct inspection {
	struct domain_facts *want;	/* per VM with a domain: facts_wanted (else empty) */
	struct plan_volumes *volumes;	/* per VM */
	char ***image_paths;		/* per host, per image: its volume's path, NULL none */
	bool **image_read;		/* per host, per image: looked up */
	char (*image_names)[IDENTITY_DOMAIN_NAME_MAX + 32];	/* per image: its volume's name */
	size_t n_vms, n_hosts, n_images;
};

/*
 * Inspect every VM of recs that has a domain (dom_of[i], its listed
 * domain), on its host (recs->v[i].host): its definitions' facts go into
 * dom_of[i] (persistent, live), its volumes into ret. 0, or -1 with err
 * naming the VM; release ret with inspect_release, also after a failure.
 */
int inspect_fleet(const struct manifest *m, const struct vmrecs *recs,
		  struct listed_domain *const *dom_of, struct hosts *hosts,
		  struct inspection *ret, struct muster_err *err) WUR;
void inspect_release(struct inspection *in);

#endif
