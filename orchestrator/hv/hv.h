/*
 * hv.h: the hypervisor as muster sees it, behind a narrow interface
 * (hv_libvirt.c is its libvirt driver; the only user of libvirt).
 */
#ifndef MUSTER_HV_H
#define MUSTER_HV_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "views.h"

struct hv;

/*
 * Whether libvirt URI uri reaches its daemon over a network: a host named
 * ("qemu+ssh://host/system", "xen://host/"), or a transport other than the
 * local socket ("+ssh", "+tls", "+tcp", "+libssh", "+ext"). Such connections
 * get libvirt's keepalive (see hv_open); "qemu:///system",
 * "test+unix:///default?socket=..." and "test:///default" do not.
 */
bool hv_uri_is_network(const char *uri);

/*
 * Lifecycle events of the domains on the host at uri (libvirt's
 * VIR_DOMAIN_EVENT_ID_LIFECYCLE), on a connection of their own: fn(ud,
 * domain, what) on libvirt's event loop thread, what such as "stopped
 * (shutdown)" or "started (booted)". Starting a watch starts that loop
 * for the process: connections opened afterwards are watched by it (a
 * little slower; those opened before are not). After hv_watch_stop no new
 * fn starts, but one may be running: ud_release(ud) (when not NULL) is
 * called, on any thread, once none can run any more; until then ud must
 * stay. On failure ud_release is not called.
 */
struct hv_watch;
typedef void (*hv_event_fn)(void *ud, const char *domain, const char *what);
int hv_watch_start(const char *uri, hv_event_fn fn, void *ud, void (*ud_release)(void *ud),
		   struct hv_watch **ret, struct muster_err *err) WUR;
void hv_watch_stop(struct hv_watch *w);
/*
 * Wait until fn has had every event the host sent before this call: a
 * call to the host (its daemon sends the events it has before the reply),
 * then a turn of libvirt's event loop (which hands what it received to fn
 * from a timer). 0, or -1 when the host did not answer or the turn did not
 * come within timeout_ms (a host lost: its last events are left to it).
 */
int hv_watch_sync(struct hv_watch *w, unsigned timeout_ms);

/*
 * Open the channel named name (a virtio-serial port's target name) of the
 * running domain domain through libvirt: virDomainOpenChannel over a
 * stream, so it works on any host hv reaches, with no access to the host's
 * files. *fd is the caller's end of a socket pair (non-blocking,
 * close-on-exec): what the guest writes comes out of it, what is written to
 * it goes to the guest. libvirt's event loop carries the bytes (started
 * here when need be; the streams go over a connection of hv's own, opened
 * once it runs). Flow is bounded: while the caller does not read, the
 * stream is not read either. The caller sees EOF when the channel closes
 * (QEMU exits) or the host is lost; closing *fd ends the stream. While a
 * stream of the channel is still open (one closed a moment ago, its abort
 * on its way) the daemon refuses another: tried again for 3 s. 0, or -1
 * with libvirt's error: MUSTER_E_UNSUPPORTED when the driver opens no
 * channels (libvirt's test driver; libxl opens only pty ones);
 * MUSTER_E_UNREACHABLE when the host cannot be connected to.
 */
int hv_channel_open(struct hv *hv, const char *domain, const char *name, int *fd,
		    struct muster_err *err) WUR;

/*
 * The serial console of the running domain domain, as hv_channel_open
 * gives a channel (virDomainOpenConsole, in safe mode: a console another
 * client holds is refused, not taken from it), with the same bounds.
 */
int hv_console_open(struct hv *hv, const char *domain, int *fd, struct muster_err *err) WUR;

/*
 * Whether hv's connection for streams (hv_channel_open) was open and has
 * died: its daemon went, or stopped answering (keepalive). It stays said
 * for hv's life. A stream on a connection that died may never see its
 * end: the caller asks this instead. hv_channel_open connects again, which
 * may wait long on a host that does not answer: a caller that must not
 * wait asks this first.
 */
bool hv_channel_lost(struct hv *hv);

/* What a host is and has (muster hosts). */
struct hv_host_info {
	char hypervisor[32];		/* libvirt's driver name: "QEMU", "TEST", "Xen" */
	unsigned long long libvirt_version;	/* major * 1000000 + minor * 1000 + release */
	unsigned long long hv_version;		/* the hypervisor's, as libvirt says; 0: unknown */
	unsigned cpus;
	unsigned long long memory_total;	/* bytes */
	unsigned long long memory_free;		/* bytes a new guest can have: free,
						   buffers and page cache; 0: unknown
						   (libvirt's test driver makes it up) */
	bool pool_found;		/* the fleet's pool is defined there */
	bool pool_active;
	unsigned long long pool_capacity, pool_available;	/* bytes (when active) */
};

/* The host behind hv, and its storage pool pool. 0, or -1 with err. */
int hv_host_info(struct hv *hv, const char *pool, struct hv_host_info *ret,
		 struct muster_err *err) WUR;

/*
 * Connect to the libvirt URI uri. *ret: caller frees with hv_free. A
 * failure is MUSTER_E_UNREACHABLE.
 */
int hv_open(const char *uri, struct hv **ret, struct muster_err *err) WUR;
void hv_free(struct hv *hv);
const char *hv_uri(const struct hv *hv);

/*
 * Every domain, defined or running, with muster's metadata read where there
 * is some: *ret holds *ret_n entries (caller frees with hv_domain_list_free;
 * the facts of the entries, when a caller filled them, too).
 */
int hv_list_domains(struct hv *hv, struct listed_domain **ret, size_t *ret_n,
		    struct muster_err *err) WUR;

/*
 * The facts of domain name's definitions: the persistent one and, when it
 * runs, the live one (*live left empty otherwise); release both with
 * facts_release. MUSTER_E_NOTFOUND: no such domain.
 */
int hv_domain_facts(struct hv *hv, const char *name, struct domain_facts *persistent,
		    struct domain_facts *live, struct muster_err *err) WUR;
void hv_domain_list_free(struct listed_domain *v, size_t n);

/*
 * The calls below take XML built by domxml.c and return 0 or -1 with err
 * naming the object. "Already there" answers that muster's deterministic
 * identity makes harmless are success, as the comments say.
 */

/* Storage pool name: started (and autostarted) if defined; else defined from pool_xml, built, started. */
int hv_pool_ensure(struct hv *hv, const char *name, const char *pool_xml, struct muster_err *err) WUR;

struct hv_volume {
	bool exists;
	char *path;			/* the volume's key/path in the pool */
	unsigned long long capacity;	/* bytes */
};

/*
 * What pool holds as volume name (ret->exists false if nothing, or no such
 * pool); release with hv_volume_release.
 */
int hv_volume_get(struct hv *hv, const char *pool, const char *name, struct hv_volume *ret,
		  struct muster_err *err) WUR;
void hv_volume_release(struct hv_volume *v);

/*
 * Volume name of pool as the host has it, with its format, backing store
 * and modification time (ret->exists false if there is no such volume, or
 * no such pool); release with hv_listed_volume_release. Returns 1, with
 * nothing read, when the pool is not running (its volumes are unknown).
 */
int hv_volume_facts(struct hv *hv, const char *pool, const char *name, struct listed_volume *ret,
		    struct muster_err *err) WUR;
void hv_listed_volume_release(struct listed_volume *v);

/* The names of pool's volumes (none if there is no such pool); free with hv_names_free. */
int hv_pool_volumes(struct hv *hv, const char *pool, char ***ret, size_t *ret_n,
		    struct muster_err *err) WUR;
void hv_names_free(char **names, size_t n);

/* Create a volume from vol_xml in pool; an existing volume of that name is success. */
int hv_volume_create(struct hv *hv, const char *pool, const char *name, const char *vol_xml,
		     struct muster_err *err) WUR;

/*
 * Write data into volume name (virStorageVolUpload), so a remote host needs
 * no shared file system. Returns 1, not -1, when the driver cannot upload
 * (libvirt's test driver): the volume stays as created.
 */
int hv_volume_upload(struct hv *hv, const char *pool, const char *name, const void *data,
		     size_t len, struct muster_err *err) WUR;

/* The same from the file at path (a base image), streamed. */
int hv_volume_upload_file(struct hv *hv, const char *pool, const char *name, const char *path,
			  struct muster_err *err) WUR;

/* Delete volume name; a missing volume (or pool) is success. */
int hv_volume_delete(struct hv *hv, const char *pool, const char *name, struct muster_err *err) WUR;

/*
 * Define (or redefine) a domain from xml; with validate, against libvirt's
 * schema (a misspelt element is an error, not silently dropped: worth it
 * once per shape of XML, ~ms each on some drivers).
 */
int hv_domain_define(struct hv *hv, const char *xml, bool validate, struct muster_err *err) WUR;
/*
 * The names of the domains that run now, in one call (caller frees with
 * hv_names_free), sorted (strcmp).
 */
int hv_running_names(struct hv *hv, char ***ret, size_t *ret_n, struct muster_err *err) WUR;

/* Start domain name: 0; one already running is success too: 1. */
int hv_domain_start(struct hv *hv, const char *name, struct muster_err *err) WUR;
/*
 * Boot the defined domain name once with the configuration xml (an
 * installer's kernel, for one run): its persistent definition stays as it
 * is and is what the next start boots. One already running is success.
 */
int hv_domain_boot_xml(struct hv *hv, const char *name, const char *xml,
		       struct muster_err *err) WUR;
/* 1 when domain name runs, 0 when not, -1 with err (MUSTER_E_NOTFOUND: no such domain). */
int hv_domain_active(struct hv *hv, const char *name, struct muster_err *err) WUR;
/* Stop (hard) and undefine domain name; a missing domain is success. */
int hv_domain_remove(struct hv *hv, const char *name, struct muster_err *err) WUR;
/* Ask domain name to shut down (ACPI), or with force pull the plug; one not running is success. */
int hv_domain_stop(struct hv *hv, const char *name, bool force, struct muster_err *err) WUR;
/*
 * Ask domain name to shut down and wait, polling, until it is off (a
 * missing domain is off). After timeout_ms: with pull, pull the plug
 * (*pulled set); without, -1 saying it still runs.
 */
int hv_domain_shutdown_wait(struct hv *hv, const char *name, unsigned timeout_ms, bool pull,
			    bool *pulled, struct muster_err *err) WUR;
/* Ask domain name to reboot. */
int hv_domain_reboot(struct hv *hv, const char *name, struct muster_err *err) WUR;

/* The domain's live XML (caller frees). */
int hv_domain_xml(struct hv *hv, const char *name, char **ret, struct muster_err *err) WUR;

/* The network's definition as XML (caller frees), or *ret NULL when there is no such network. */
int hv_network_xml(struct hv *hv, const char *name, char **ret, struct muster_err *err) WUR;

/* Add (or delete) one DHCP host (host_xml: <host .../>) of network name, live and persistent. */
int hv_network_dhcp_host(struct hv *hv, const char *name, const char *host_xml, bool add,
			 struct muster_err *err) WUR;
/* Add (or delete) a DHCP range (range_xml: <range .../>) of network name, live and persistent. */
int hv_network_dhcp_range(struct hv *hv, const char *name, const char *range_xml, bool add,
			  struct muster_err *err) WUR;

/*
 * Stop and undefine network name. *ret_removed: whether there was one (a
 * missing network is success). A running guest on it loses it: the
 * caller makes sure it is the caller's.
 */
int hv_network_remove(struct hv *hv, const char *name, bool *ret_removed,
		      struct muster_err *err) WUR;

/*
 * Network name: when it exists and its XML satisfies matches(live_xml,
 * userdata), it is left alone (started and autostarted if it was not);
 * when it exists and does not match, an error says so (muster never
 * replaces a network under running guests); else defined from net_xml,
 * started and autostarted.
 */
int hv_network_ensure(struct hv *hv, const char *name, const char *net_xml,
		      bool (*matches)(const char *live_xml, void *userdata), void *userdata,
		      struct muster_err *err) WUR;

#endif
