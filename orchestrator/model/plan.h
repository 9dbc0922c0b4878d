/*
 * plan.h: what `muster apply` would do to each VM, and why (DESIGN.md).
 *
 * The planner is pure: no I/O, no clock. It is given what the manifest
 * wants, what the store recorded and what the hypervisor reports, and the
 * time, and returns one action per VM.
 */
#ifndef MUSTER_PLAN_H
#define MUSTER_PLAN_H

#include <stdint.h>

#include "err.h"
#include "views.h"
#include "vmrec.h"

enum plan_action {
	PLAN_CREATE,	/* nothing on the hypervisor yet (or resume a creation) */
	PLAN_KEEP,	/* up to date */
	PLAN_UPDATE,	/* redefine or start in place; disk and keys kept */
	PLAN_REBUILD,	/* new disk and seed from the image; identity kept */
	PLAN_RESTART,	/* a cold restart (shut down, start): runs an older definition */
	PLAN_DESTROY,	/* no longer in the manifest */
	PLAN_CONFLICT,	/* a domain of that name is not muster's: left alone */
	PLAN_UNKNOWN,	/* its host does not answer: nothing known of it, nothing done */
	PLAN_ACTION_MAX
};

const char *plan_action_to_string(enum plan_action a);
int plan_action_from_string(const char *s);

/*
 * What a host has of a wanted VM besides its domain: its volumes, and the
 * base image volume its disk should sit on (run_plan reads them where the
 * VM's domain is).
 */
struct plan_volumes {
	bool read;			/* false: not looked at; nothing below is compared */
	struct listed_volume disk, seed;
	bool seed_wanted;		/* the VM has a seed volume (cloud-init) */
	const char *image;		/* the image volume's name, NULL: a blank disk (kickstart) */
	const char *image_path;		/* its path on the host, NULL: the host has no such volume */
	const char *image_format;
};

/* A host that did not answer, and why (run_plan's). */
struct plan_host_down {
	const char *uri;
	const char *why;
};

struct plan_input {
	const char *fleet;
	const struct vmrec *want;	/* what the manifest wants, in manifest order */
	size_t n_want;
	const struct recorded_vm *recorded;	/* the store's VMs of this fleet */
	size_t n_recorded;
	const struct listed_domain *domains;	/* every domain the hypervisor has */
	size_t n_domains;
	/* per wanted VM, or NULL: what muster would define (facts_wanted), and its volumes */
	const struct domain_facts *want_facts;
	const struct plan_volumes *volumes;
	int64_t now_ms;
	uint64_t max_age_s;	/* rebuild VMs older than this; 0 = never */
	uint64_t stopped_grace_s;	/* rebuild VMs shut off outside muster longer than this */
	bool restart;		/* restart VMs that run an older definition (else: pending) */
	/*
	 * Hosts that did not answer: what lives there is unknown. want_down:
	 * per wanted VM, or NULL: why its host does not answer, NULL when it
	 * does; down: the hosts, for a VM recorded there that the manifest no
	 * longer has.
	 */
	const char *const *want_down;
	const struct plan_host_down *down;
	size_t n_down;
};

struct plan_item {
	char *name;
	char *group;
	enum plan_action action;
	char *reason;
	int recorded;		/* the store's enum vm_state for it, -1 when not recorded */
	bool pending;		/* keep, but what runs is older than its definition:
				   a cold restart applies it (PLAN_RESTART when asked) */
	bool held;		/* keep: stopped with `muster stop`, left off */
	bool running;		/* its domain exists and runs */
	const char *host;	/* not the planner's: the caller may say where it lives */
};

struct plan {
	char *fleet;
	struct plan_item *items;	/* wanted VMs in manifest order, then the rest by name */
	size_t n_items;
	size_t count[PLAN_ACTION_MAX];
};

/* Compute the plan. *ret: caller frees with plan_free. */
int plan_compute(const struct plan_input *in, struct plan **ret, struct muster_err *err) WUR;
void plan_free(struct plan *p);

#endif
