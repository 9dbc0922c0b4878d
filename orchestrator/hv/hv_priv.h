/*
 * hv_priv.h: what the files of the libvirt driver (hv_libvirt.c,
 * hv_channel.c) share; nothing outside orchestrator/hv includes it.
 */
#ifndef MUSTER_HV_PRIV_H
#define MUSTER_HV_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "err.h"

struct hv {
	virConnectPtr conn;
	char *uri;
	/* saved round trips: a run asks for the same pool for every volume,
	 * uploads into the volume it has just created, and starts the domain
	 * it has just defined */
	virStoragePoolPtr pool;		/* the last pool looked up (a reference of ours) */
	virStorageVolPtr created;	/* the last volume created (a reference of ours), */
	char *created_pool;		/* in this pool */
	virDomainPtr defined;		/* the last domain defined (a reference of ours) */
	bool no_upload;			/* the driver said it cannot upload (VIR_ERR_NO_SUPPORT) */
	/* the agent channels' streams (hv_channel.c): a connection opened
	 * once libvirt's event loop runs, which a stream needs */
	pthread_mutex_t chan_lock;
	virConnectPtr chan_conn;
	bool chan_lost;			/* chan_conn died: the host is not asked again */
};

/* err from libvirt's last error: "what 'subject': libvirt's message"; -1. */
int hv_fail(struct muster_err *err, const char *what, const char *subject);

/*
 * Start libvirt's event loop for the process, once (a thread of its own);
 * whether it runs. Connections opened before it started are not watched
 * by it: their streams and events never fire.
 */
bool hv_event_loop(void);

/* Domain name on conn; NULL and *ret_missing when there is none, else with err. */
virDomainPtr hv_domain_lookup(virConnectPtr conn, const char *name, bool *ret_missing,
			      struct muster_err *err);

/* Close what hv_channel.c opened for hv (hv_free). */
void hv_channel_release(struct hv *hv);

#endif
