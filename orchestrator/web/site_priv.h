/*
 * site_priv.h: what the handlers of site.h share: the fleets shown, states
 * counted, answers written. Within orchestrator/web only.
 */
#ifndef MUSTER_SITE_PRIV_H
#define MUSTER_SITE_PRIV_H

#include <stdio.h>

#include "site.h"
#include "statusrows.h"
#include "vmstate.h"

#define CT_JSON "application/json"

/* The manifest of fleet, when it is the one served. */
const struct manifest *site_fleet_manifest(const struct site *s, const char *fleet);

/* The fleets to show: the store's and the manifest's, sorted, unique (site_names_free). */
int site_fleet_names(struct site *s, char ***ret, size_t *ret_n, struct muster_err *err) WUR;
void site_names_free(char **names, size_t n);

/* Whether fleet is the one served or one the store has: 1, 0, or -1 with err. */
int site_fleet_known(struct site *s, const char *fleet, struct muster_err *err) WUR;

/* How many rows are in each state: VM states in their order, then "new". */
#define N_STATES (VM_STATE_MAX + 1)
const char *site_state_name(size_t i);
void site_count_states(const struct status_rows *r, size_t count[N_STATES]);

/* Log err; -1 (the server answers 500). */
int site_fail(struct httpd_req *req, const struct muster_err *err);

/* Answer with what write(f, arg) wrote to a memory stream. */
int site_respond_stream(struct httpd_req *req, unsigned status, const char *type,
			int (*write)(FILE *f, void *arg, struct muster_err *err), void *arg);

/* api.c: health, the fleets and their VMs as JSON */
int api_healthz(struct httpd_req *req, void *userdata);
int api_fleets(struct httpd_req *req, void *userdata);
int api_fleet_vms(struct httpd_req *req, void *userdata);

/* page.c: the status page (HTML, its timeline in SVG) */
int page_index(struct httpd_req *req, void *userdata);
int page_fleet(struct httpd_req *req, void *userdata);
/* Load the page's templates into *ret; -1 (logged: GET / answers 503) when they cannot be. */
int page_open(struct page **ret);
void page_close(struct page *p);

/* metrics.c: Prometheus' text format */
int metrics_get(struct httpd_req *req, void *userdata);

/* guest.c: what guests fetch and post: the agent, kickstarts, NoCloud, phone-home */
#define PHONE_HOME_MAX_BODY (16 * 1024)
int guest_agent(struct httpd_req *req, void *userdata);
int guest_ks(struct httpd_req *req, void *userdata);
int guest_nocloud(struct httpd_req *req, void *userdata);
int guest_phone_home(struct httpd_req *req, void *userdata);
int guest_report(struct httpd_req *req, void *userdata);
struct vm_cache *guest_cache_new(size_t n);
void guest_cache_free(struct vm_cache *v, size_t n);

#endif
