/* hv_libvirt.c: the hypervisor interface on libvirt, for any libvirt URI. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define LOG_TAG "hv"
#include "clock.h"
#include "domxml.h"
#include "fmt.h"
#include "hv.h"
#include "hv_priv.h"
#include "log.h"


static void created_forget(struct hv *hv)
{
	if (hv->created)
		virStorageVolFree(hv->created);
	hv->created = NULL;
	free(hv->created_pool);
	hv->created_pool = NULL;
}

/* libvirt prints its errors to stderr by default: keep them for our messages. */
static void hv_error_sink(void *userdata, virErrorPtr error)
{
	(void) userdata;
	if (error && error->message)
		log_debug("libvirt: %s", error->message);
}

/* libvirt errors that a retry (on a new connection) may clear. */
static bool transient_error(const virErrorPtr e)
{
	if (!e)
		return false;
	/* the connection itself: "client socket is closed", a keepalive timeout */
	if (e->domain == VIR_FROM_RPC)
		return true;
	switch (e->code) {
	case VIR_ERR_RPC:
	case VIR_ERR_NO_CONNECT:
	case VIR_ERR_OPERATION_TIMEOUT:
	case VIR_ERR_SYSTEM_ERROR:
	case VIR_ERR_AUTH_UNAVAILABLE:
		return true;
	default:
		return false;
	}
}

int hv_fail(struct muster_err *err, const char *what, const char *subject)
{
	virErrorPtr e = virGetLastError();
	bool transient = transient_error(e);

	err_set(err, MUSTER_E_HV, "%s '%s': %s", what, subject,
		e && e->message ? e->message : "unknown libvirt error");
	if (err)
		err->transient = transient;
	return -1;
}

/*
 * libvirt's keepalive needs an event loop: one thread runs libvirt's default
 * implementation for the whole process (as virsh does), started with the
 * first connection that goes over a network (hv_uri_is_network). Not for
 * local daemons: with an event loop every connection's socket is watched
 * by it, and each call takes it off the loop and back, waking the loop's
 * thread twice; a daemon on this machine that dies closes its socket, and
 * the executor's per-VM timeout bounds a call that hangs. Measured through
 * a local libvirtd (test driver, 1000 VMs, 4 workers): 1.65 s with it,
 * 1.50 s without, muster's CPU down 17%.
 */
static pthread_once_t event_once = PTHREAD_ONCE_INIT;
static bool event_loop;

static void *event_thread(void *arg)
{
	(void) arg;
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			virResetLastError();
	return NULL;
}

static void event_start(void)
{
	pthread_t tid;
	sigset_t all, old;

	if (virEventRegisterDefaultImpl() < 0)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* signals stay with the main thread */
	if (pthread_create(&tid, NULL, event_thread, NULL) == 0) {
		pthread_detach(tid);
		event_loop = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

bool hv_event_loop(void)
{
	pthread_once(&event_once, event_start);
	return event_loop;
}

bool hv_uri_is_network(const char *uri)
{
	const char *sep = strstr(uri, "://"), *plus, *host, *end;

	if (!sep)
		return false;	/* "qemu:/system"-like: no authority, no transport */
	plus = memchr(uri, '+', (size_t) (sep - uri));
	if (plus) {
		size_t n = (size_t) (sep - plus - 1);

		/* a transport other than the local socket: ssh, libssh, tls, tcp, ext */
		if (n != 4 || strncmp(plus + 1, "unix", 4) != 0)
			return true;
	}
	host = sep + 3;
	end = host + strcspn(host, "/?#");
	return end > host;	/* a host named: remote, whatever the transport */
}

int hv_open(const char *uri, struct hv **ret, struct muster_err *err)
{
	struct hv *hv;

	if (hv_uri_is_network(uri))
		(void) hv_event_loop();

	virSetErrorFunc(NULL, hv_error_sink);
	hv = calloc(1, sizeof(*hv));
	if (!hv || !(hv->uri = strdup(uri))) {
		free(hv);
		return err_nomem(err);
	}
	pthread_mutex_init(&hv->chan_lock, NULL);
	hv->conn = virConnectOpen(uri);
	if (!hv->conn) {
		hv_fail(err, "cannot connect to hypervisor", uri);
		if (err)
			err->code = MUSTER_E_UNREACHABLE;
		hv_free(hv);
		return -1;
	}
	/*
	 * A remote daemon that stops answering fails its calls after about 15 s
	 * (a transient error, retried on a new connection) instead of hanging a
	 * worker. Local drivers have no keepalive: that is no error. (Once the
	 * loop runs, connections to local daemons have it too: harmless.)
	 */
	if (event_loop && virConnectSetKeepAlive(hv->conn, 5, 3) < 0) {
		log_debug("'%s': no keepalive: %s", uri, virGetLastErrorMessage());
		virResetLastError();
	}
	*ret = hv;
	return 0;
}

/* ---- lifecycle events ------------------------------------------------------ */

struct hv_watch {
	virConnectPtr conn;
	int id;			/* the callback's, -1: none */
	hv_event_fn fn;
	void *ud;
	void (*ud_release)(void *ud);
};

/* libvirt's free callback: no callback runs on w any more. */
static void watch_free(void *opaque)
{
	struct hv_watch *w = opaque;

	if (w->ud_release)
		w->ud_release(w->ud);
	free(w);
}

/* What a lifecycle event and its detail say, as text. */
static void event_text(int event, int detail, char *out, size_t len)
{
	static const char *const events[] = {
		[VIR_DOMAIN_EVENT_DEFINED] = "defined", [VIR_DOMAIN_EVENT_UNDEFINED] = "undefined",
		[VIR_DOMAIN_EVENT_STARTED] = "started", [VIR_DOMAIN_EVENT_SUSPENDED] = "suspended",
		[VIR_DOMAIN_EVENT_RESUMED] = "resumed", [VIR_DOMAIN_EVENT_STOPPED] = "stopped",
		[VIR_DOMAIN_EVENT_SHUTDOWN] = "shutting down", [VIR_DOMAIN_EVENT_PMSUSPENDED] =
		"suspended to memory", [VIR_DOMAIN_EVENT_CRASHED] = "crashed",
	};
	static const char *const stopped[] = {
		[VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN] = "shutdown",
		[VIR_DOMAIN_EVENT_STOPPED_DESTROYED] = "destroyed",
		[VIR_DOMAIN_EVENT_STOPPED_CRASHED] = "crashed",
		[VIR_DOMAIN_EVENT_STOPPED_MIGRATED] = "migrated",
		[VIR_DOMAIN_EVENT_STOPPED_SAVED] = "saved",
		[VIR_DOMAIN_EVENT_STOPPED_FAILED] = "failed",
		[VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT] = "from snapshot",
	};
	static const char *const started[] = {
		[VIR_DOMAIN_EVENT_STARTED_BOOTED] = "booted",
		[VIR_DOMAIN_EVENT_STARTED_MIGRATED] = "migrated",
		[VIR_DOMAIN_EVENT_STARTED_RESTORED] = "restored",
		[VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT] = "from snapshot",
		[VIR_DOMAIN_EVENT_STARTED_WAKEUP] = "wakeup",
	};
	const char *e = event >= 0 && (size_t) event < ARRAY_SIZE(events) ? events[event] : NULL;
	const char *d = NULL;

	if (event == VIR_DOMAIN_EVENT_STOPPED && detail >= 0 && (size_t) detail < ARRAY_SIZE(stopped))
		d = stopped[detail];
	else if (event == VIR_DOMAIN_EVENT_STARTED && detail >= 0 &&
		 (size_t) detail < ARRAY_SIZE(started))
		d = started[detail];
	if (!e)
		fmt_cut(out, len, "event %d (detail %d)", event, detail);
	else if (d)
		fmt_cut(out, len, "%s (%s)", e, d);
	else
		fmt_cut(out, len, "%s", e);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct hv_watch *w = opaque;
	const char *name = virDomainGetName(dom);
	char what[64];

	(void) conn;
	if (!name)
		return 0;
	event_text(event, detail, what, sizeof(what));
	w->fn(w->ud, name, what);
	return 0;
}

int hv_watch_start(const char *uri, hv_event_fn fn, void *ud, void (*ud_release)(void *ud),
		   struct hv_watch **ret, struct muster_err *err)
{
	struct hv_watch *w;

	if (!hv_event_loop())
		return err_set(err, MUSTER_E_HV, "cannot start libvirt's event loop");
	w = calloc(1, sizeof(*w));
	if (!w)
		return err_nomem(err);
	w->id = -1;
	w->fn = fn;
	w->ud = ud;
	w->ud_release = ud_release;
	virSetErrorFunc(NULL, hv_error_sink);
	w->conn = virConnectOpen(uri);
	if (!w->conn) {
		free(w);
		return hv_fail(err, "cannot connect to hypervisor", uri);
	}
	/* w is freed by libvirt once no callback can be running (watch_free) */
	w->id = virConnectDomainEventRegisterAny(w->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						 VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), w,
						 watch_free);
	if (w->id < 0) {
		hv_fail(err, "cannot watch the domains' events on", uri);
		virConnectClose(w->conn);
		free(w);
		return -1;
	}
	*ret = w;
	return 0;
}

/* A turn of libvirt's event loop, waited for: its timer's and the waiter's. */
struct loop_turn {
	pthread_mutex_t lock;
	pthread_cond_t done_cv;
	bool done;
	int timer;
	atomic_int refs;
};

static void turn_unref(void *opaque)
{
	struct loop_turn *t = opaque;

	if (atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->done_cv);
	free(t);
}

static void turn_fire(int timer, void *opaque)
{
	struct loop_turn *t = opaque;

	(void) timer;
	pthread_mutex_lock(&t->lock);
	if (!t->done) {
		t->done = true;
		pthread_cond_signal(&t->done_cv);
		virEventRemoveTimeout(t->timer);	/* its free callback drops its reference */
	}
	pthread_mutex_unlock(&t->lock);
}

/*
 * A timer due now runs after those that came due before it: libvirt's
 * event states (the remote driver's, a local driver's) hand events to the
 * callbacks from such a timer, made due as the events are queued.
 */
static int loop_turn(unsigned timeout_ms)
{
	struct loop_turn *t = calloc(1, sizeof(*t));
	struct timespec until = clock_real_after_ms(timeout_ms);
	int r = 0;

	if (!t)
		return -1;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->done_cv, NULL);
	atomic_init(&t->refs, 2);
	pthread_mutex_lock(&t->lock);
	t->timer = virEventAddTimeout(0, turn_fire, t, turn_unref);
	if (t->timer < 0) {
		pthread_mutex_unlock(&t->lock);
		virResetLastError();
		turn_unref(t);	/* (no timer: its reference goes too) */
		turn_unref(t);
		return -1;
	}
	while (!t->done && r == 0)
		r = pthread_cond_timedwait(&t->done_cv, &t->lock, &until);
	r = t->done ? 0 : -1;
	pthread_mutex_unlock(&t->lock);
	turn_unref(t);
	return r;
}

int hv_watch_sync(struct hv_watch *w, unsigned timeout_ms)
{
	unsigned long version;
	int64_t start = clock_mono_ms(), left;

	if (!w)
		return 0;
	if (virConnectGetLibVersion(w->conn, &version) < 0) {
		virResetLastError();
		return -1;
	}
	left = (int64_t) timeout_ms - (clock_mono_ms() - start);
	return left > 0 ? loop_turn((unsigned) left) : -1;
}

void hv_watch_stop(struct hv_watch *w)
{
	virConnectPtr conn;

	if (!w)
		return;
	conn = w->conn;
	if (virConnectDomainEventDeregisterAny(conn, w->id) < 0)	/* w may be gone after */
		virResetLastError();
	virConnectClose(conn);
}

void hv_free(struct hv *hv)
{
	if (!hv)
		return;
	if (hv->pool)
		virStoragePoolFree(hv->pool);
	created_forget(hv);
	if (hv->defined)
		virDomainFree(hv->defined);
	hv_channel_release(hv);
	pthread_mutex_destroy(&hv->chan_lock);
	if (hv->conn)
		virConnectClose(hv->conn);
	free(hv->uri);
	free(hv);
}

const char *hv_uri(const struct hv *hv)
{
	return hv->uri;
}

static void hv_domain_release(struct listed_domain *d)
{
	free(d->name);
	free(d->uuid);
	free(d->fleet);
	free(d->vm);
	free(d->group);
	free(d->config_hash);
	free(d->base_hash);
	facts_release(&d->persistent);
	facts_release(&d->live);
}

void hv_domain_list_free(struct listed_domain *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		hv_domain_release(&v[i]);
	free(v);
}

/* The facts of dom's definition: flags 0 what runs, VIR_DOMAIN_XML_INACTIVE what boots next. */
static int definition_facts(virDomainPtr dom, unsigned flags, struct domain_facts *ret,
			    struct muster_err *err)
{
	char *xml = virDomainGetXMLDesc(dom, flags);
	int r;

	if (!xml)
		return hv_fail(err, "cannot read the definition of domain", virDomainGetName(dom));
	r = domxml_facts_parse(xml, ret, err);
	free(xml);
	if (r < 0)
		err_prefix(err, "domain '%s'", virDomainGetName(dom));
	return r;
}

static int hv_domain_read(virDomainPtr dom, struct listed_domain *d, struct muster_err *err)
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

int hv_list_domains(struct hv *hv, struct listed_domain **ret, size_t *ret_n,
		    struct muster_err *err)
{
	virDomainPtr *doms = NULL;
	struct listed_domain *v;
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

/* ---- storage -------------------------------------------------------------- */

static bool last_error_is(int code)
{
	virErrorPtr e = virGetLastError();

	return e && e->code == code;
}

/*
 * virStoragePoolLookupByName, remembered: a new reference to the pool,
 * which the caller frees; NULL with libvirt's error set, as the lookup.
 */
static virStoragePoolPtr pool_lookup(struct hv *hv, const char *name)
{
	const char *have = hv->pool ? virStoragePoolGetName(hv->pool) : NULL;

	if (have && strcmp(have, name) == 0 && virStoragePoolRef(hv->pool) == 0)
		return hv->pool;
	if (hv->pool) {
		virStoragePoolFree(hv->pool);
		hv->pool = NULL;
	}
	hv->pool = virStoragePoolLookupByName(hv->conn, name);
	if (hv->pool && virStoragePoolRef(hv->pool) < 0) {
		virStoragePoolFree(hv->pool);
		hv->pool = NULL;
	}
	return hv->pool;
}

/*
 * Bytes a new guest can have on the host: free memory, and the buffers and
 * page cache the kernel gives back when asked (virNodeGetMemoryStats);
 * where the driver has no such stats, what virNodeGetFreeMemory says
 * (free only: a host with a warm cache looks fuller than it is). 0: unknown.
 */
static unsigned long long node_free_memory(virConnectPtr conn)
{
	virNodeMemoryStatsPtr stats = NULL;
	unsigned long long kib = 0, free_mem;
	int n = 0, i;

	if (virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &n, 0) == 0 &&
	    n > 0 && (stats = calloc((size_t) n, sizeof(*stats))) &&
	    virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, stats, &n, 0) == 0) {
		for (i = 0; i < n; i++)
			if (streq(stats[i].field, VIR_NODE_MEMORY_STATS_FREE) ||
			    streq(stats[i].field, VIR_NODE_MEMORY_STATS_BUFFERS) ||
			    streq(stats[i].field, VIR_NODE_MEMORY_STATS_CACHED))
				kib += stats[i].value;
	}
	free(stats);
	virResetLastError();	/* no stats: the free memory alone */
	if (kib)
		return kib * 1024;
	free_mem = virNodeGetFreeMemory(conn);
	if (free_mem == 0)
		virResetLastError();	/* unknown: 0 */
	return free_mem;
}

int hv_host_info(struct hv *hv, const char *pool, struct hv_host_info *ret,
		 struct muster_err *err)
{
	unsigned long lib = 0, ver = 0;
	unsigned long long free_mem;
	const char *type;
	virNodeInfo node;
	virStoragePoolPtr p;
	virStoragePoolInfo pi;

	memset(ret, 0, sizeof(*ret));
	type = virConnectGetType(hv->conn);
	if (!type || virConnectGetLibVersion(hv->conn, &lib) < 0 || virNodeGetInfo(hv->conn, &node) < 0)
		return hv_fail(err, "cannot read the host", hv->uri);
	fmt_cut(ret->hypervisor, sizeof(ret->hypervisor), "%s", type);
	ret->libvirt_version = lib;
	if (virConnectGetVersion(hv->conn, &ver) == 0)
		ret->hv_version = ver;
	else
		virResetLastError();	/* some drivers say none */
	ret->cpus = node.cpus;
	ret->memory_total = (unsigned long long) node.memory * 1024;
	free_mem = node_free_memory(hv->conn);
	/* libvirt's test driver has no memory to free: it says 3 MiB whatever runs */
	ret->memory_free = strcasecmp(type, "test") == 0 ? 0 : free_mem;
	p = virStoragePoolLookupByName(hv->conn, pool);
	if (!p) {
		if (!last_error_is(VIR_ERR_NO_STORAGE_POOL))
			return hv_fail(err, "cannot look up storage pool", pool);
		virResetLastError();
		return 0;
	}
	ret->pool_found = true;
	if (virStoragePoolGetInfo(p, &pi) < 0) {
		virStoragePoolFree(p);
		return hv_fail(err, "cannot read storage pool", pool);
	}
	ret->pool_active = pi.state == VIR_STORAGE_POOL_RUNNING;
	ret->pool_capacity = pi.capacity;
	ret->pool_available = pi.available;
	virStoragePoolFree(p);
	return 0;
}

int hv_pool_ensure(struct hv *hv, const char *name, const char *pool_xml, struct muster_err *err)
{
	virStoragePoolPtr pool;
	int active, r = -1;

	if (hv->pool) {		/* it may be defined anew below */
		virStoragePoolFree(hv->pool);
		hv->pool = NULL;
	}
	pool = virStoragePoolLookupByName(hv->conn, name);
	if (!pool) {
		if (!last_error_is(VIR_ERR_NO_STORAGE_POOL))
			return hv_fail(err, "cannot look up storage pool", name);
		pool = virStoragePoolDefineXML(hv->conn, pool_xml, 0);
		if (!pool)
			return hv_fail(err, "cannot define storage pool", name);
		if (virStoragePoolBuild(pool, 0) < 0 && !last_error_is(VIR_ERR_NO_SUPPORT)) {
			hv_fail(err, "cannot build storage pool", name);
			goto out;
		}
		log_debug("defined storage pool '%s'", name);
	}
	active = virStoragePoolIsActive(pool);
	if (active < 0) {
		hv_fail(err, "cannot read state of storage pool", name);
		goto out;
	}
	if (!active && virStoragePoolCreate(pool, 0) < 0) {
		hv_fail(err, "cannot start storage pool", name);
		goto out;
	}
	if (virStoragePoolSetAutostart(pool, 1) < 0) {
		hv_fail(err, "cannot autostart storage pool", name);
		goto out;
	}
	r = 0;
out:
	virStoragePoolFree(pool);
	return r;
}

static virStorageVolPtr volume_lookup(struct hv *hv, const char *pool_name, const char *name,
				      bool *ret_missing, struct muster_err *err)
{
	virStoragePoolPtr pool = pool_lookup(hv, pool_name);
	virStorageVolPtr vol;

	*ret_missing = false;
	if (!pool) {
		/* no pool, no volume in it: as missing (its lookup's error is no one's) */
		if (last_error_is(VIR_ERR_NO_STORAGE_POOL)) {
			*ret_missing = true;
			virResetLastError();
		} else {
			hv_fail(err, "cannot look up storage pool", pool_name);
		}
		return NULL;
	}
	vol = virStorageVolLookupByName(pool, name);
	if (!vol) {
		if (last_error_is(VIR_ERR_NO_STORAGE_VOL)) {
			*ret_missing = true;
			virResetLastError();
		} else {
			hv_fail(err, "cannot look up volume", name);
		}
	}
	virStoragePoolFree(pool);
	return vol;
}

void hv_volume_release(struct hv_volume *v)
{
	free(v->path);
	memset(v, 0, sizeof(*v));
}

/* Volume vol's path (*path, the caller frees) and capacity: 0, or -1 with err naming it. */
static int volume_read(virStorageVolPtr vol, const char *name, char **path,
		       unsigned long long *capacity, struct muster_err *err)
{
	virStorageVolInfo info;

	*path = virStorageVolGetPath(vol);
	if (!*path || virStorageVolGetInfo(vol, &info) < 0) {
		free(*path);
		*path = NULL;
		return hv_fail(err, "cannot read volume", name);
	}
	*capacity = info.capacity;
	return 0;
}

int hv_volume_get(struct hv *hv, const char *pool, const char *name, struct hv_volume *ret,
		  struct muster_err *err)
{
	virStorageVolPtr vol;
	bool missing;
	int r;

	memset(ret, 0, sizeof(*ret));
	vol = volume_lookup(hv, pool, name, &missing, err);
	if (!vol)
		return missing ? 0 : -1;
	r = volume_read(vol, name, &ret->path, &ret->capacity, err);
	ret->exists = r == 0;
	virStorageVolFree(vol);
	return r;
}

void hv_listed_volume_release(struct listed_volume *v)
{
	free(v->path);
	free(v->format);
	free(v->backing_path);
	free(v->backing_format);
	free(v->mtime);
	memset(v, 0, sizeof(*v));
}

int hv_volume_facts(struct hv *hv, const char *pool, const char *name, struct listed_volume *ret,
		    struct muster_err *err)
{
	virStoragePoolPtr p;
	virStorageVolPtr vol;
	char *xml;
	int r = -1;

	memset(ret, 0, sizeof(*ret));
	p = pool_lookup(hv, pool);
	if (!p) {
		if (!last_error_is(VIR_ERR_NO_STORAGE_POOL))
			return hv_fail(err, "cannot look up storage pool", pool);
		virResetLastError();
		return 0;	/* no pool, no volume */
	}
	vol = virStorageVolLookupByName(p, name);
	if (!vol) {
		/* (read before any other call: each resets libvirt's last error) */
		r = last_error_is(VIR_ERR_NO_STORAGE_VOL) ? 0 :
		    last_error_is(VIR_ERR_OPERATION_INVALID) ? 1 :	/* the pool is not running */
		    hv_fail(err, "cannot look up volume", name);
		virResetLastError();
		virStoragePoolFree(p);
		return r;
	}
	virStoragePoolFree(p);
	/* one call: the XML says the path and capacity too */
	if (!(xml = virStorageVolGetXMLDesc(vol, 0))) {
		hv_fail(err, "cannot read volume", name);
		goto out;
	}
	ret->exists = true;
	r = domxml_volume_facts(xml, ret, err);
	free(xml);
	if (r < 0) {
		err_prefix(err, "volume '%s'", name);
		hv_listed_volume_release(ret);
	}
out:
	virStorageVolFree(vol);
	return r;
}

int hv_pool_volumes(struct hv *hv, const char *pool_name, char ***ret, size_t *ret_n,
		    struct muster_err *err)
{
	virStoragePoolPtr pool = virStoragePoolLookupByName(hv->conn, pool_name);
	virStorageVolPtr *vols = NULL;
	char **names;
	int n, i;

	*ret = NULL;
	*ret_n = 0;
	if (!pool) {
		if (last_error_is(VIR_ERR_NO_STORAGE_POOL)) {
			virResetLastError();
			return 0;
		}
		return hv_fail(err, "cannot look up storage pool", pool_name);
	}
	n = virStoragePoolListAllVolumes(pool, &vols, 0);
	virStoragePoolFree(pool);
	if (n < 0)
		return hv_fail(err, "cannot list the volumes of pool", pool_name);
	names = calloc((size_t) n + 1, sizeof(*names));
	for (i = 0; i < n; i++) {
		const char *name = virStorageVolGetName(vols[i]);

		if (names && name && !(names[i] = strdup(name))) {
			hv_names_free(names, (size_t) i);
			names = NULL;
		}
		virStorageVolFree(vols[i]);
	}
	free(vols);
	if (!names)
		return err_nomem(err);
	*ret = names;
	*ret_n = (size_t) n;
	return 0;
}

void hv_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int hv_volume_create(struct hv *hv, const char *pool_name, const char *name, const char *vol_xml,
		     struct muster_err *err)
{
	virStoragePoolPtr pool;
	virStorageVolPtr vol;
	int r = 0;

	pool = pool_lookup(hv, pool_name);
	if (!pool)
		return hv_fail(err, "cannot look up storage pool", pool_name);
	/* created at the first try; a failure is looked into: a volume of our
	 * deterministic name that exists was made by an earlier run (drivers
	 * say so with different codes: the test driver's is OPERATION_FAILED) */
	created_forget(hv);
	vol = virStorageVolCreateXML(pool, vol_xml, 0);
	if (vol) {
		/* kept for the upload that may follow */
		hv->created_pool = strdup(pool_name);
		if (hv->created_pool)
			hv->created = vol;
		else
			virStorageVolFree(vol);
	} else {
		struct muster_err why = { 0 };
		bool missing;

		(void) hv_fail(&why, "cannot create volume", name);
		vol = volume_lookup(hv, pool_name, name, &missing, NULL);
		if (vol) {
			virStorageVolFree(vol);
			virResetLastError();
		} else {
			if (err)
				*err = why;
			r = -1;
		}
	}
	virStoragePoolFree(pool);
	return r;
}

struct upload_src {
	const char *data;
	size_t len, off;
};

static int upload_chunk(virStreamPtr st, char *buf, size_t nbytes, void *opaque)
{
	struct upload_src *src = opaque;
	size_t n = src->len - src->off;

	(void) st;
	if (n > nbytes)
		n = nbytes;
	memcpy(buf, src->data + src->off, n);
	src->off += n;
	return (int) n;
}

static int upload_fd_chunk(virStreamPtr st, char *buf, size_t nbytes, void *opaque)
{
	int fd = *(int *) opaque;
	ssize_t n;

	(void) st;
	do
		n = read(fd, buf, nbytes);
	while (n < 0 && errno == EINTR);
	return (int) n;
}

/* Upload len bytes from src (memory) or fd into name: 0, 1 (driver cannot), -1. */
static int volume_upload(struct hv *hv, const char *pool, const char *name,
			 struct upload_src *src, int fd, unsigned long long len,
			 struct muster_err *err)
{
	const char *just = hv->created ? virStorageVolGetName(hv->created) : NULL;
	virStorageVolPtr vol;
	virStreamPtr st = NULL;
	bool missing;
	int r = -1;

	if (hv->no_upload)
		return 1;
	if (just && strcmp(just, name) == 0 && strcmp(hv->created_pool, pool) == 0 &&
	    virStorageVolRef(hv->created) == 0) {
		vol = hv->created;
	} else {
		vol = volume_lookup(hv, pool, name, &missing, err);
		if (!vol)
			return missing ? err_set(err, MUSTER_E_HV, "no volume '%s' in pool '%s'", name,
						 pool) : -1;
	}
	st = virStreamNew(hv->conn, 0);
	if (!st) {
		hv_fail(err, "cannot upload to volume", name);
		goto out;
	}
	if (virStorageVolUpload(vol, st, 0, (unsigned long long) len, 0) < 0) {
		if (last_error_is(VIR_ERR_NO_SUPPORT)) {
			virResetLastError();
			hv->no_upload = true;	/* the connection's driver will not learn it */
			r = 1;	/* e.g. the test driver */
			goto out;
		}
		hv_fail(err, "cannot upload to volume", name);
		goto out;
	}
	if ((src ? virStreamSendAll(st, upload_chunk, src) :
		   virStreamSendAll(st, upload_fd_chunk, &fd)) < 0) {
		hv_fail(err, "cannot upload to volume", name);
		virStreamAbort(st);
		goto out;
	}
	if (virStreamFinish(st) < 0) {
		hv_fail(err, "cannot finish the upload to volume", name);
		goto out;
	}
	r = 0;
out:
	if (st)
		virStreamFree(st);
	virStorageVolFree(vol);
	return r;
}

int hv_volume_upload(struct hv *hv, const char *pool, const char *name, const void *data,
		     size_t len, struct muster_err *err)
{
	struct upload_src src = { data, len, 0 };

	return volume_upload(hv, pool, name, &src, -1, len, err);
}

int hv_volume_upload_file(struct hv *hv, const char *pool, const char *name, const char *path,
			  struct muster_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		r = err_set_errno(err, MUSTER_E_IO, errno, "cannot read '%s'", path);
		close(fd);
		return r;
	}
	r = volume_upload(hv, pool, name, NULL, fd, (unsigned long long) st.st_size, err);
	close(fd);
	return r;
}

int hv_volume_delete(struct hv *hv, const char *pool, const char *name, struct muster_err *err)
{
	virStorageVolPtr vol;
	bool missing;
	int r = 0;

	created_forget(hv);
	vol = volume_lookup(hv, pool, name, &missing, err);
	if (!vol)
		return missing ? 0 : -1;
	if (virStorageVolDelete(vol, 0) < 0)
		r = hv_fail(err, "cannot delete volume", name);
	virStorageVolFree(vol);
	return r;
}

/* ---- domains -------------------------------------------------------------- */

/*
 * Whether a define failed because the daemon could not load its schema:
 * libxml2's RelaxNG type library is set up on first use without a lock,
 * and a daemon that validates two definitions at once then may fail one
 * ("Unable to parse RNG ...: Error type 'unsignedInt' is not exported by
 * type library"). Seen on a fresh libvirtd with two workers; the same
 * definition goes through a moment later.
 */
static bool schema_race(void)
{
	virErrorPtr e = virGetLastError();

	return e && e->code == VIR_ERR_INTERNAL_ERROR && e->message &&
	       strstr(e->message, "Unable to parse RNG");
}

int hv_domain_define(struct hv *hv, const char *xml, bool validate, struct muster_err *err)
{
	unsigned flags = validate ? VIR_DOMAIN_DEFINE_VALIDATE : 0;
	virDomainPtr dom = virDomainDefineXMLFlags(hv->conn, xml, flags);
	int tries;

	for (tries = 1; !dom && validate && tries < 4 && schema_race(); tries++) {
		log_debug("the daemon could not load its schema: defining again");
		clock_sleep_ms(50 * tries);
		dom = virDomainDefineXMLFlags(hv->conn, xml, flags);
	}
	if (!dom)
		return hv_fail(err, "cannot define domain on", hv->uri);
	if (hv->defined)
		virDomainFree(hv->defined);
	hv->defined = dom;	/* kept for the start that usually follows */
	return 0;
}

static virDomainPtr domain_lookup(struct hv *hv, const char *name, bool *ret_missing,
				  struct muster_err *err)
{
	return hv_domain_lookup(hv->conn, name, ret_missing, err);
}

virDomainPtr hv_domain_lookup(virConnectPtr conn, const char *name, bool *ret_missing,
			      struct muster_err *err)
{
	virDomainPtr dom = virDomainLookupByName(conn, name);

	*ret_missing = false;
	if (!dom) {
		if (last_error_is(VIR_ERR_NO_DOMAIN)) {
			virResetLastError();
			*ret_missing = true;
		} else {
			hv_fail(err, "cannot look up domain", name);
		}
	}
	return dom;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

int hv_running_names(struct hv *hv, char ***ret, size_t *ret_n, struct muster_err *err)
{
	virDomainPtr *doms = NULL;
	char **names;
	int n, i, k = 0;

	n = virConnectListAllDomains(hv->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0)
		return hv_fail(err, "cannot list domains on", hv->uri);
	names = calloc((size_t) n + 1, sizeof(*names));
	for (i = 0; i < n; i++) {
		const char *name = names ? virDomainGetName(doms[i]) : NULL;

		if (name && !(names[k++] = strdup(name)))
			k--;
		virDomainFree(doms[i]);
	}
	free(doms);
	if (!names || k < n) {
		hv_names_free(names, (size_t) k);
		return err_nomem(err);
	}
	qsort(names, (size_t) k, sizeof(*names), name_cmp);
	*ret = names;
	*ret_n = (size_t) k;
	return 0;
}

int hv_domain_start(struct hv *hv, const char *name, struct muster_err *err)
{
	const char *just = hv->defined ? virDomainGetName(hv->defined) : NULL;
	virDomainPtr dom;
	bool missing;
	int r = 0;

	if (just && strcmp(just, name) == 0 && virDomainRef(hv->defined) == 0) {
		dom = hv->defined;
	} else {
		dom = domain_lookup(hv, name, &missing, err);
		if (!dom)
			return missing ? err_set(err, MUSTER_E_HV, "no domain '%s' to start", name) :
					 -1;
	}
	/* started at the first try; after a failure, one that runs is started
	 * (drivers say "already running" with different codes) */
	/* WithFlags: virDomainCreate costs a second round trip, a lookup by UUID
	 * (its reply lacks the domain's new id) */
	if (virDomainCreateWithFlags(dom, 0) < 0) {
		struct muster_err why = { 0 };

		(void) hv_fail(&why, "cannot start domain", name);
		if (virDomainIsActive(dom) == 1) {
			virResetLastError();
			r = 1;
		} else {
			if (err)
				*err = why;
			r = -1;
		}
	}
	virDomainFree(dom);
	return r;
}

int hv_domain_boot_xml(struct hv *hv, const char *name, const char *xml,
		       struct muster_err *err)
{
	virDomainPtr dom;
	struct muster_err why = { 0 };

	dom = virDomainCreateXML(hv->conn, xml, 0);
	if (dom) {
		virDomainFree(dom);
		return 0;
	}
	(void) hv_fail(&why, "cannot boot domain", name);
	/* a crash after the boot: what runs is left alone */
	if (hv_domain_active(hv, name, NULL) == 1) {
		virResetLastError();
		return 0;
	}
	if (err)
		*err = why;
	return -1;
}

int hv_domain_active(struct hv *hv, const char *name, struct muster_err *err)
{
	virDomainPtr dom;
	bool missing;
	int r;

	dom = domain_lookup(hv, name, &missing, err);
	if (!dom)
		return missing ? err_set(err, MUSTER_E_NOTFOUND, "no domain '%s'", name) : -1;
	r = virDomainIsActive(dom);
	if (r < 0)
		(void) hv_fail(err, "cannot read the state of domain", name);
	virDomainFree(dom);
	return r < 0 ? -1 : r;
}

int hv_domain_remove(struct hv *hv, const char *name, struct muster_err *err)
{
	virDomainPtr dom;
	bool missing;
	int active, r = 0;

	dom = domain_lookup(hv, name, &missing, err);
	if (!dom)
		return missing ? 0 : -1;
	active = virDomainIsActive(dom);
	if (active > 0 && virDomainDestroy(dom) < 0 && !last_error_is(VIR_ERR_OPERATION_INVALID))
		r = hv_fail(err, "cannot stop domain", name);
	if (r == 0 && virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_NVRAM |
					     VIR_DOMAIN_UNDEFINE_MANAGED_SAVE) < 0 &&
	    !last_error_is(VIR_ERR_NO_DOMAIN)) {
		/* drivers without NVRAM or managed save (test) refuse those flags */
		if (!last_error_is(VIR_ERR_INVALID_ARG) || virDomainUndefine(dom) < 0)
			r = hv_fail(err, "cannot undefine domain", name);
	}
	virDomainFree(dom);
	return r;
}

int hv_domain_stop(struct hv *hv, const char *name, bool force, struct muster_err *err)
{
	virDomainPtr dom;
	bool missing;
	int active, r = 0;

	dom = domain_lookup(hv, name, &missing, err);
	if (!dom)
		return missing ? err_set(err, MUSTER_E_NOTFOUND, "no domain '%s'", name) : -1;
	active = virDomainIsActive(dom);
	if (active < 0)
		r = hv_fail(err, "cannot read state of domain", name);
	else if (active && (force ? virDomainDestroy(dom) : virDomainShutdown(dom)) < 0 &&
		 !last_error_is(VIR_ERR_OPERATION_INVALID))
		r = hv_fail(err, "cannot stop domain", name);
	virDomainFree(dom);
	return r;
}

int hv_domain_shutdown_wait(struct hv *hv, const char *name, unsigned timeout_ms, bool pull,
			    bool *pulled, struct muster_err *err)
{
	int64_t until;
	int active;

	*pulled = false;
	if (hv_domain_stop(hv, name, false, err) < 0)
		return -1;
	until = clock_mono_ms() + timeout_ms;
	for (;;) {
		active = hv_domain_active(hv, name, err);
		if (active <= 0)
			return active < 0 && err->code == MUSTER_E_NOTFOUND ? 0 : active;
		if (clock_mono_ms() >= until)
			break;
		clock_sleep_ms(100);
	}
	if (!pull)
		return err_set(err, MUSTER_E_HV, "domain '%s' is still running %u s after it was "
			       "asked to shut down (--force pulls the plug)", name, timeout_ms / 1000);
	*pulled = true;
	return hv_domain_stop(hv, name, true, err);
}

int hv_domain_reboot(struct hv *hv, const char *name, struct muster_err *err)
{
	virDomainPtr dom;
	bool missing;
	int r = 0;

	dom = domain_lookup(hv, name, &missing, err);
	if (!dom)
		return missing ? err_set(err, MUSTER_E_NOTFOUND, "no domain '%s'", name) : -1;
	if (virDomainReboot(dom, 0) < 0)
		r = hv_fail(err, "cannot reboot domain", name);
	virDomainFree(dom);
	return r;
}

int hv_domain_facts(struct hv *hv, const char *name, struct domain_facts *persistent,
		    struct domain_facts *live, struct muster_err *err)
{
	virDomainPtr dom;
	bool missing;
	int active, r = -1;

	memset(persistent, 0, sizeof(*persistent));
	memset(live, 0, sizeof(*live));
	dom = domain_lookup(hv, name, &missing, err);
	if (!dom)
		return missing ? err_set(err, MUSTER_E_NOTFOUND, "no domain '%s'", name) : -1;
	active = virDomainIsActive(dom);
	if (active < 0)
		hv_fail(err, "cannot read state of domain", name);
	else if (definition_facts(dom, VIR_DOMAIN_XML_INACTIVE, persistent, err) == 0 &&
		 (!active || definition_facts(dom, 0, live, err) == 0))
		r = 0;
	if (r < 0) {
		facts_release(persistent);
		facts_release(live);
	}
	virDomainFree(dom);
	return r;
}

int hv_domain_xml(struct hv *hv, const char *name, char **ret, struct muster_err *err)
{
	const char *just = hv->defined ? virDomainGetName(hv->defined) : NULL;
	virDomainPtr dom;
	bool missing;
	char *xml;

	if (just && strcmp(just, name) == 0 && virDomainRef(hv->defined) == 0) {
		dom = hv->defined;
	} else {
		dom = domain_lookup(hv, name, &missing, err);
		if (!dom)
			return missing ? err_set(err, MUSTER_E_NOTFOUND, "no domain '%s'", name) : -1;
	}
	xml = virDomainGetXMLDesc(dom, 0);
	virDomainFree(dom);
	if (!xml)
		return hv_fail(err, "cannot read the XML of domain", name);
	*ret = xml;
	return 0;
}

/* ---- networks ------------------------------------------------------------- */

int hv_network_ensure(struct hv *hv, const char *name, const char *net_xml,
		      bool (*matches)(const char *live_xml, void *userdata), void *userdata,
		      struct muster_err *err)
{
	virNetworkPtr net = virNetworkLookupByName(hv->conn, name);
	int active, r = -1;

	if (net) {
		/* the definition, not the running state; some drivers (test) only give the latter */
		char *live = virNetworkGetXMLDesc(net, VIR_NETWORK_XML_INACTIVE);
		bool same;

		if (!live) {
			virResetLastError();
			live = virNetworkGetXMLDesc(net, 0);
		}
		same = live && matches(live, userdata);

		free(live);
		if (!same) {
			err_set(err, MUSTER_E_HV, "network '%s' exists on %s and differs from the "
				"manifest: muster does not replace it; remove it (virsh net-destroy, "
				"net-undefine) or change the manifest", name, hv->uri);
			goto out;
		}
	} else {
		if (!last_error_is(VIR_ERR_NO_NETWORK))
			return hv_fail(err, "cannot look up network", name);
		net = virNetworkDefineXML(hv->conn, net_xml);
		if (!net)
			return hv_fail(err, "cannot define network", name);
		log_debug("defined network '%s'", name);
	}
	active = virNetworkIsActive(net);
	if (active < 0) {
		hv_fail(err, "cannot read state of network", name);
		goto out;
	}
	if (!active && virNetworkCreate(net) < 0) {
		hv_fail(err, "cannot start network", name);
		goto out;
	}
	if (virNetworkSetAutostart(net, 1) < 0) {
		hv_fail(err, "cannot autostart network", name);
		goto out;
	}
	r = 0;
out:
	virNetworkFree(net);
	return r;
}

int hv_network_remove(struct hv *hv, const char *name, bool *ret_removed,
		      struct muster_err *err)
{
	virNetworkPtr net = virNetworkLookupByName(hv->conn, name);
	int r = 0;

	*ret_removed = false;
	if (!net) {
		if (last_error_is(VIR_ERR_NO_NETWORK)) {
			virResetLastError();
			return 0;
		}
		return hv_fail(err, "cannot look up network", name);
	}
	if (virNetworkIsActive(net) == 1 && virNetworkDestroy(net) < 0)
		r = hv_fail(err, "cannot stop network", name);
	else if (virNetworkUndefine(net) < 0)
		r = hv_fail(err, "cannot undefine network", name);
	else
		*ret_removed = true;
	virNetworkFree(net);
	return r;
}

int hv_network_xml(struct hv *hv, const char *name, char **ret, struct muster_err *err)
{
	virNetworkPtr net = virNetworkLookupByName(hv->conn, name);
	char *xml;

	*ret = NULL;
	if (!net) {
		if (last_error_is(VIR_ERR_NO_NETWORK)) {
			virResetLastError();
			return 0;
		}
		return hv_fail(err, "cannot look up network", name);
	}
	xml = virNetworkGetXMLDesc(net, VIR_NETWORK_XML_INACTIVE);
	if (!xml) {
		virResetLastError();
		xml = virNetworkGetXMLDesc(net, 0);	/* drivers without INACTIVE (test) */
	}
	if (!xml) {
		hv_fail(err, "cannot read network", name);
		virNetworkFree(net);
		return -1;
	}
	virNetworkFree(net);
	*ret = xml;
	return 0;
}

/* One element of a network's DHCP section added or deleted, live (when it runs) and persistent. */
static int network_dhcp_update(struct hv *hv, const char *name, virNetworkUpdateSection section,
			       const char *xml, bool add, const char *what, struct muster_err *err)
{
	virNetworkPtr net = virNetworkLookupByName(hv->conn, name);
	char msg[80];
	int active, r = 0;
	unsigned flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG;

	if (!net)
		return hv_fail(err, "cannot look up network", name);
	active = virNetworkIsActive(net);
	if (active > 0)
		flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE;
	if (virNetworkUpdate(net, add ? VIR_NETWORK_UPDATE_COMMAND_ADD_LAST :
			     VIR_NETWORK_UPDATE_COMMAND_DELETE, section, -1, xml, flags) < 0) {
		fmt_fit(msg, sizeof(msg), "cannot %s a %s %s network", add ? "add" : "delete", what,
			add ? "to" : "from");
		r = hv_fail(err, msg, name);
	}
	virNetworkFree(net);
	return r;
}

int hv_network_dhcp_host(struct hv *hv, const char *name, const char *host_xml, bool add,
			 struct muster_err *err)
{
	return network_dhcp_update(hv, name, VIR_NETWORK_SECTION_IP_DHCP_HOST, host_xml, add,
				   "DHCP host", err);
}

int hv_network_dhcp_range(struct hv *hv, const char *name, const char *range_xml, bool add,
			  struct muster_err *err)
{
	return network_dhcp_update(hv, name, VIR_NETWORK_SECTION_IP_DHCP_RANGE, range_xml, add,
				   "DHCP range", err);
}
