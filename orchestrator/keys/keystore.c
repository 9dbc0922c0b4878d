/*
 * keystore.c: SSH keys on disk and in the store (keystore.h). Generation,
 * the slow part, runs on a pool of threads; files and the store are written
 * by the calling thread alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_TAG "keystore"
#include "afile.h"
#include "buf.h"
#include "err.h"
#include "keys.h"
#include "keystore.h"
#include "log.h"
#include "statedir.h"
#include "store.h"

#define KEYSTORE_ADMIN_FILE "id_ed25519"
#define KEYSTORE_FILE_MODE 0600

/* ---- names and paths ---------------------------------------------------- */

static int name_check(const char *what, const char *name,
		      struct muster_err *err)
{
	if (!name || !*name)
		return err_set(err, MUSTER_E_INVALID, "%s name must not be empty",
			       what);
	if (strchr(name, '/') || streq(name, ".") || streq(name, ".."))
		return err_set(err, MUSTER_E_INVALID,
			       "%s name '%s' cannot name a directory", what, name);
	return 0;
}

/* Join the parts (NULL-terminated list) with '/' into *ret (caller frees). */
static int path_join(char **ret, struct muster_err *err, const char *first, ...)
{
	struct buf b = BUF_INIT(PATH_MAX - 1);
	const char *part;
	va_list ap;
	char *p;

	(void) buf_puts(&b, first);
	va_start(ap, first);
	while ((part = va_arg(ap, const char *)))
		(void) buf_printf(&b, "/%s", part);
	va_end(ap);
	if (buf_failed(&b)) {
		bool nomem = buf_nomem(&b);

		buf_release(&b);
		return nomem ? err_nomem(err) :
			       err_set(err, MUSTER_E_INVALID, "a key path under '%s' is too long", first);
	}
	p = buf_detach(&b);
	if (!p)
		return err_nomem(err);
	*ret = p;
	return 0;
}

/* "<path>.pub" (caller frees). */
static int pub_path(const char *path, char **ret, struct muster_err *err)
{
	struct buf b = BUF_INIT(PATH_MAX - 1);
	char *p;

	if (buf_printf(&b, "%s.pub", path) < 0) {
		bool nomem = buf_nomem(&b);

		buf_release(&b);
		return nomem ? err_nomem(err) :
			       err_set(err, MUSTER_E_INVALID, "key path '%s' is too long", path);
	}
	p = buf_detach(&b);
	if (!p)
		return err_nomem(err);
	*ret = p;
	return 0;
}

/* ---- files -------------------------------------------------------------- */

/*
 * Read the small text file at path into *ret (caller frees). A missing file
 * sets *ret_missing and *ret to NULL. Refused: a symbolic link, anything
 * but a regular file, more than KEYS_PRIVATE_MAX bytes, a NUL byte. With
 * private_mode, a file with permissions beyond 0600 is set to 0600.
 */
static int file_read(const char *path, bool private_mode, char **ret,
		     bool *ret_missing, struct muster_err *err)
{
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, r = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT) {
			*ret = NULL;
			*ret_missing = true;
			return 0;
		}
		if (errno == ELOOP)
			return err_set(err, MUSTER_E_IO,
				       "key file '%s' is a symbolic link; refusing to read it",
				       path);
		return err_set_errno(err, MUSTER_E_IO, errno,
				     "cannot open key file '%s'", path);
	}
	if (fstat(fd, &st) < 0) {
		(void) err_set_errno(err, MUSTER_E_IO, errno,
				     "cannot inspect key file '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		(void) err_set(err, MUSTER_E_IO, "key file '%s' is not a regular file",
			       path);
		goto out;
	}
	if (st.st_size > KEYS_PRIVATE_MAX) {
		(void) err_set(err, MUSTER_E_INVALID,
			       "key file '%s' is larger than %d bytes", path,
			       KEYS_PRIVATE_MAX);
		goto out;
	}
	if (private_mode && (st.st_mode & 07777 & ~(mode_t) KEYSTORE_FILE_MODE)) {
		if (fchmod(fd, KEYSTORE_FILE_MODE) < 0) {
			(void) err_set_errno(err, MUSTER_E_IO, errno,
					     "cannot set mode 0600 on key file '%s'",
					     path);
			goto out;
		}
		log_debug("set mode 0600 on '%s' (was %04o)", path,
			  (unsigned) (st.st_mode & 07777));
	}
	/* One byte more than the limit, to notice a file that grew. */
	text = malloc(KEYS_PRIVATE_MAX + 2);
	if (!text) {
		(void) err_nomem(err);
		goto out;
	}
	while (len <= KEYS_PRIVATE_MAX) {
		n = read(fd, text + len, KEYS_PRIVATE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			(void) err_set_errno(err, MUSTER_E_IO, errno,
					     "cannot read key file '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t) n;
	}
	if (len > KEYS_PRIVATE_MAX) {
		(void) err_set(err, MUSTER_E_INVALID,
			       "key file '%s' is larger than %d bytes", path,
			       KEYS_PRIVATE_MAX);
		goto out;
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		(void) err_set(err, MUSTER_E_INVALID,
			       "key file '%s' holds a NUL byte; not a key", path);
		goto out;
	}
	*ret = steal_pointer(&text);
	*ret_missing = false;
	r = 0;
out:
	if (text)
		explicit_bzero(text, KEYS_PRIVATE_MAX + 2);
	(void) close(fd);
	return r;
}

/*
 * Read the private key at path, which must be of type want, into *ret. A
 * missing file sets *ret_missing. Errors name the file; -2 (not -1) when
 * the file is there but holds no usable key.
 */
static int key_load(const char *path, enum keys_type want, struct keypair *ret,
		    bool *ret_missing, struct muster_err *err)
{
	char *text = NULL;
	struct keypair kp = { 0 };
	bool missing = false;
	int r;

	if (file_read(path, true, &text, &missing, err) < 0)
		return -1;
	if (missing) {
		*ret_missing = true;
		return 0;
	}
	r = keys_from_private(text, &kp, err);
	explicit_bzero(text, strlen(text));
	free(text);
	if (r < 0) {
		err_prefix(err, "key file '%s'", path);
		return -2;
	}
	if (kp.type != want) {
		(void) err_set(err, MUSTER_E_INVALID,
			       "key file '%s' holds an %s key, not %s", path,
			       keys_type_to_string(kp.type),
			       keys_type_to_string(want));
		keypair_release(&kp);
		return -2;
	}
	*ret = kp;
	*ret_missing = false;
	return 0;
}

/* The .pub file's text for kp: "<public key>[ <comment>]\n" (caller frees). */
static char *pub_text(const struct keypair *kp, const char *comment)
{
	struct buf b = BUF_INIT(KEYS_PRIVATE_MAX);

	(void) buf_puts(&b, kp->public_key);
	if (comment)
		(void) buf_printf(&b, " %s", comment);
	(void) buf_putc(&b, '\n');
	return buf_detach(&b);
}

/* Write the .pub file at path unless it already holds exactly that text. */
static int pub_sync(const char *path, const struct keypair *kp,
		    const char *comment, bool force, bool sync, struct muster_err *err)
{
	_cleanup_free_ char *want = pub_text(kp, comment);
	_cleanup_free_ char *have = NULL;
	bool missing = true;

	if (!want)
		return err_nomem(err);
	if (!force) {
		if (file_read(path, false, &have, &missing, err) < 0)
			return -1;
		if (!missing && streq(have, want))
			return 0;
	}
	return sync ? afile_write_all(path, want, strlen(want), KEYSTORE_FILE_MODE, err) :
		      afile_write_all_nosync(path, want, strlen(want), KEYSTORE_FILE_MODE, err);
}

static int private_write(const char *path, const struct keypair *kp, bool sync,
			 struct muster_err *err)
{
	size_t len = strlen(kp->private_key);

	return sync ? afile_write_all(path, kp->private_key, len, KEYSTORE_FILE_MODE, err) :
		      afile_write_all_nosync(path, kp->private_key, len, KEYSTORE_FILE_MODE, err);
}

/* The type a host key is recorded as. */
static const char *const record_types[KEYS_TYPE_MAX] = {
	[KEYS_ED25519] = "host-ed25519",
	[KEYS_RSA] = "host-rsa",
	[KEYS_ECDSA] = "host-ecdsa",
};

/*
 * Whether the store holds a key of type for vm. A key file that cannot be
 * read and was never recorded is one a crash caught between writing and
 * syncing (keystore_host_keys records only after the sync): it is made anew.
 */
static bool key_recorded(struct store *st, const char *fleet, const char *vm,
			 enum keys_type type)
{
	struct store_key *v = NULL;
	size_t n = 0, i;
	bool found = false;

	if (!st)
		return true;	/* no record to go by: keep the error */
	if (store_key_list(st, fleet, vm, &v, &n, NULL) < 0)
		return true;
	for (i = 0; i < n && !found; i++)
		found = streq(v[i].type, record_types[type]);
	store_key_list_free(v, n);
	return found;
}

/* ---- generation on a pool of threads ------------------------------------ */

struct gen_job {
	struct keypair *slot;	/* filled by the worker that takes the job */
	enum keys_type type;
	char *path;		/* where the worker writes it (unsynced), and path.pub */
	char *pub;
};

struct gen_pool {
	struct gen_job *jobs;
	size_t n;
	atomic_size_t next;	/* the next job to take */
	atomic_bool failed;	/* stop taking jobs */
	pthread_mutex_t lock;	/* guards err */
	struct muster_err err;	/* the first failure */
};

static void gen_run(struct gen_pool *p)
{
	struct muster_err e;
	size_t i;

	while (!atomic_load(&p->failed)) {
		i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n)
			break;
		err_clear(&e);
		/* file creation costs more than an ed25519 key: it is spread too */
		if (keys_generate(p->jobs[i].type, p->jobs[i].slot, &e) < 0 ||
		    private_write(p->jobs[i].path, p->jobs[i].slot, false, &e) < 0 ||
		    pub_sync(p->jobs[i].pub, p->jobs[i].slot, NULL, true, false, &e) < 0) {
			(void) pthread_mutex_lock(&p->lock);
			if (!atomic_load(&p->failed)) {
				p->err = e;
				atomic_store(&p->failed, true);
			}
			(void) pthread_mutex_unlock(&p->lock);
		}
	}
}

static void *gen_thread(void *arg)
{
	gen_run(arg);
	return NULL;
}

/* How many threads to generate n keys with: online CPUs, at most n. */
static size_t gen_threads(size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t t = cpus > 0 ? (size_t) cpus : 1;

	return t < n ? t : n;
}

/*
 * Run the n jobs on gen_threads(n) threads, the calling one included. The
 * helpers block every signal: signals stay with the caller's threads. A
 * helper that cannot be started leaves its share to the others.
 */
static int gen_all(struct gen_job *jobs, size_t n, bool one_thread, struct muster_err *err)
{
	_cleanup_free_ pthread_t *tids = NULL;
	struct gen_pool pool = { .jobs = jobs, .n = n };
	size_t want, started = 0, i;
	sigset_t all, old;
	int rc;

	if (n == 0)
		return 0;
	atomic_init(&pool.next, 0);
	atomic_init(&pool.failed, false);
	if (pthread_mutex_init(&pool.lock, NULL) != 0)
		return err_set(err, MUSTER_E_IO, "cannot create a mutex");
	want = one_thread ? 0 : gen_threads(n) - 1;
	if (want > 0)
		tids = calloc(want, sizeof(*tids));
	if (tids) {
		(void) sigfillset(&all);
		(void) pthread_sigmask(SIG_SETMASK, &all, &old);
		for (i = 0; i < want; i++) {
			rc = pthread_create(&tids[started], NULL, gen_thread, &pool);
			if (rc != 0) {
				log_debug("cannot start a key generation thread: %s",
					  strerror(rc));
				break;
			}
			started++;
		}
		(void) pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	log_debug("generating %zu keys on %zu threads", n, started + 1);
	gen_run(&pool);
	for (i = 0; i < started; i++)
		(void) pthread_join(tids[i], NULL);
	(void) pthread_mutex_destroy(&pool.lock);
	if (atomic_load(&pool.failed)) {
		if (err)
			*err = pool.err;
		return -1;
	}
	return 0;
}

/* ---- host keys ---------------------------------------------------------- */

void keystore_free(struct keypair *keys, size_t count)
{
	size_t i;

	if (!keys)
		return;
	for (i = 0; i < count; i++)
		keypair_release(&keys[i]);
	free(keys);
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int host_keys_check(const char *state_dir, const char *fleet,
			   const char *const *vms, size_t n_vms,
			   const enum keys_type *types, size_t n_types,
			   struct muster_err *err)
{
	size_t i, j;

	if (!state_dir || !*state_dir)
		return err_set(err, MUSTER_E_INVALID,
			       "the state directory must not be empty");
	if (name_check("fleet", fleet, err) < 0)
		return -1;
	if (n_vms == 0)
		return 0;
	if (!vms || !types || n_types == 0)
		return err_set(err, MUSTER_E_INVALID,
			       "host keys of fleet '%s': no vms or no key types",
			       fleet);
	for (j = 0; j < n_types; j++) {
		if (!keys_type_to_string(types[j]))
			return err_set(err, MUSTER_E_INVALID,
				       "unknown key type %d", (int) types[j]);
		for (i = 0; i < j; i++)
			if (types[i] == types[j])
				return err_set(err, MUSTER_E_INVALID,
					       "key type '%s' is listed twice",
					       keys_type_to_string(types[j]));
	}
	/* n_types <= KEYS_TYPE_MAX now, so n_vms * n_types cannot overflow
	 * unless n_vms is absurd. */
	if (n_vms > SIZE_MAX / KEYS_TYPE_MAX / sizeof(struct keypair))
		return err_set(err, MUSTER_E_INVALID, "too many vms");
	for (i = 0; i < n_vms; i++)
		if (name_check("vm", vms[i], err) < 0)
			return -1;
	return 0;
}

/* VM names, sorted, to find one listed twice. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int vms_unique(const char *const *vms, size_t n, struct muster_err *err)
{
	_cleanup_free_ const char **v = NULL;
	size_t i;

	if (n < 2)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return err_nomem(err);
	memcpy(v, vms, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 1; i < n; i++)
		if (streq(v[i - 1], v[i]))
			return err_set(err, MUSTER_E_INVALID,
				       "vm '%s' is listed twice", v[i]);
	return 0;
}

/* "<dir>/ssh_host_<type>_key" (caller frees). */
static int host_key_path(const char *dir, enum keys_type t, char **ret,
			 struct muster_err *err)
{
	char name[64];
	int n = snprintf(name, sizeof(name), "ssh_host_%s_key",
			 keys_type_to_string(t));

	if (n < 0 || (size_t) n >= sizeof(name))
		return err_set(err, MUSTER_E_INVALID, "key file name too long");
	return path_join(ret, err, dir, name, NULL);
}

void keystore_host_key_items(const struct keypair *keys, const enum keys_type *types,
			     size_t n_types, struct store_key_item *items)
{
	size_t j;

	for (j = 0; j < n_types; j++)
		items[j] = (struct store_key_item) {
			.type = record_types[types[j]],
			.public_key = keys[j].public_key, .fingerprint = keys[j].fingerprint,
		};
}

/* Record the public halves of keys in the store in one transaction. */
static int host_keys_record(struct store *st, const char *fleet,
			    const char *const *vms, const char *const *groups,
			    size_t n_vms, const enum keys_type *types,
			    size_t n_types, const struct keypair *keys,
			    struct muster_err *err)
{
	_cleanup_free_ struct store_key_item *items = NULL;
	size_t i, j, changed = 0;

	items = calloc(n_vms * n_types, sizeof(*items));
	if (!items)
		return err_nomem(err);
	for (i = 0; i < n_vms; i++) {
		keystore_host_key_items(&keys[i * n_types], types, n_types, &items[i * n_types]);
		for (j = 0; j < n_types; j++) {
			items[i * n_types + j].vm = vms[i];
			items[i * n_types + j].group = groups ? groups[i] : NULL;
		}
	}
	if (store_keys_put_many(st, fleet, items, n_vms * n_types, &changed,
				err) < 0)
		return -1;
	log_debug("fleet '%s': %zu host keys recorded or updated", fleet, changed);
	return 0;
}

int keystore_host_keys(const char *state_dir, struct store *st,
		       const char *fleet, const char *const *vms,
		       const char *const *groups, size_t n_vms,
		       const enum keys_type *types, size_t n_types, unsigned flags,
		       struct keypair **ret, struct muster_err *err)
{
	struct keypair *keys = NULL;
	struct gen_job *jobs = NULL;
	char **dirs = NULL;
	bool *fresh = NULL;
	size_t count, n_jobs = 0, i, j, s;
	int r = -1;

	if (host_keys_check(state_dir, fleet, vms, n_vms, types, n_types,
			    err) < 0 ||
	    vms_unique(vms, n_vms, err) < 0)
		return -1;
	if (n_vms == 0) {
		*ret = NULL;
		return 0;
	}
	count = n_vms * n_types;
	keys = calloc(count, sizeof(*keys));
	jobs = calloc(count, sizeof(*jobs));
	fresh = calloc(count, sizeof(*fresh));
	dirs = calloc(n_vms, sizeof(*dirs));
	if (!keys || !jobs || !fresh || !dirs) {
		(void) err_nomem(err);
		goto out;
	}

	/* Read what exists; list what to generate. */
	for (i = 0; i < n_vms; i++) {
		if (path_join(&dirs[i], err, state_dir, "keys", fleet, vms[i],
			      NULL) < 0 ||
		    statedir_prepare(dirs[i], err) < 0)
			goto out;
		for (j = 0; j < n_types; j++) {
			_cleanup_free_ char *path = NULL;
			bool missing = true;

			s = i * n_types + j;
			if (!(flags & KEYSTORE_ROTATE)) {
				if (host_key_path(dirs[i], types[j], &path, err) < 0)
					goto out;
				r = key_load(path, types[j], &keys[s], &missing, err);
				if (r == -2 && !key_recorded(st, fleet, vms[i], types[j])) {
					log_debug("%s: never recorded, making a new key", err->msg);
					missing = true;
				} else if (r < 0) {
					r = -1;
					goto out;
				}
				r = -1;
			}
			if (missing) {
				jobs[n_jobs].slot = &keys[s];
				jobs[n_jobs].type = types[j];
				if (host_key_path(dirs[i], types[j], &jobs[n_jobs].path, err) < 0 ||
				    pub_path(jobs[n_jobs].path, &jobs[n_jobs].pub, err) < 0)
					goto out;
				n_jobs++;
				fresh[s] = true;
			}
		}
	}

	if (gen_all(jobs, n_jobs, flags & KEYSTORE_THIS_THREAD, err) < 0) {
		err_prefix(err, "cannot generate the host keys of fleet '%s'", fleet);
		goto out;
	}

	/* New keys were written by the workers; bring the other .pub files in line. */
	for (i = 0; i < n_vms; i++)
		for (j = 0; j < n_types; j++) {
			_cleanup_free_ char *path = NULL;
			_cleanup_free_ char *pub = NULL;

			s = i * n_types + j;
			if (fresh[s])
				continue;
			if (host_key_path(dirs[i], types[j], &path, err) < 0 ||
			    pub_path(path, &pub, err) < 0 ||
			    pub_sync(pub, &keys[s], NULL, false, true, err) < 0)
				goto out;
		}
	/* one sync for every new file above, before the store says the keys exist */
	if (n_jobs > 0 && !(flags & KEYSTORE_NOSYNC) && afile_sync_fs(state_dir, err) < 0)
		goto out;
	if (n_jobs > 0)
		log_debug("fleet '%s': %zu host keys generated, %zu read",
			  fleet, n_jobs, count - n_jobs);

	if (st && !(flags & KEYSTORE_UNRECORDED) &&
	    host_keys_record(st, fleet, vms, groups, n_vms, types, n_types, keys, err) < 0)
		goto out;

	*ret = steal_pointer(&keys);
	r = 0;
out:
	keystore_free(keys, count);
	for (i = 0; jobs && i <= n_jobs && i < count; i++) {	/* the last may be half made */
		free(jobs[i].path);
		free(jobs[i].pub);
	}
	free(jobs);
	free(fresh);
	strv_free(dirs, n_vms);
	return r;
}

/* ---- the admin key ------------------------------------------------------ */

int keystore_admin_key(const char *state_dir, const char *fleet,
		       struct keypair *ret, char **ret_path, bool *ret_created,
		       struct muster_err *err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *pub = NULL;
	_cleanup_free_ char *comment = NULL;
	struct keypair kp = { 0 };
	bool missing = true;

	if (!state_dir || !*state_dir)
		return err_set(err, MUSTER_E_INVALID,
			       "the state directory must not be empty");
	if (name_check("fleet", fleet, err) < 0)
		return -1;
	if (path_join(&dir, err, state_dir, "keys", fleet, KEYSTORE_ADMIN_DIR,
		      NULL) < 0 ||
	    path_join(&path, err, dir, KEYSTORE_ADMIN_FILE, NULL) < 0 ||
	    pub_path(path, &pub, err) < 0)
		return -1;
	if (asprintf(&comment, "muster-admin@%s", fleet) < 0) {
		comment = NULL;
		return err_nomem(err);
	}
	if (statedir_prepare(dir, err) < 0 ||
	    key_load(path, KEYS_ED25519, &kp, &missing, err) < 0)
		return -1;
	if (missing) {
		if (keys_generate(KEYS_ED25519, &kp, err) < 0)
			return -1;
		if (private_write(path, &kp, true, err) < 0)
			goto fail;
		log_debug("generated the admin key of fleet '%s' (%s)", fleet,
			  kp.fingerprint);
	}
	if (pub_sync(pub, &kp, comment, missing, true, err) < 0)
		goto fail;
	*ret = kp;
	*ret_path = steal_pointer(&path);
	*ret_created = missing;
	return 0;
fail:
	keypair_release(&kp);
	return -1;
}

/* Remove name under parent (path, for messages) and all it holds, depth first. */
static int remove_tree(int parent, const char *name, const char *path, size_t *removed,
		       struct muster_err *err)
{
	int dfd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (dfd < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot open '%s'", path);
	}
	d = fdopendir(dfd);
	if (!d) {
		(void) close(dfd);
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot read '%s'", path);
	}
	while (r == 0 && (errno = 0, e = readdir(d))) {
		_cleanup_free_ char *sub = NULL;

		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		if (asprintf(&sub, "%s/%s", path, e->d_name) < 0) {
			sub = NULL;
			r = err_nomem(err);
			break;
		}
		bool dir = e->d_type == DT_DIR;
		struct stat st;

		/* a file system that does not say (DT_UNKNOWN) is asked */
		if (e->d_type == DT_UNKNOWN &&
		    fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			dir = S_ISDIR(st.st_mode);
		if (dir)
			r = remove_tree(dfd, e->d_name, sub, removed, err);
		else if (unlinkat(dfd, e->d_name, 0) < 0)
			r = err_set_errno(err, MUSTER_E_IO, errno, "cannot remove '%s'", sub);
		else
			(*removed)++;
	}
	if (r == 0 && errno)
		r = err_set_errno(err, MUSTER_E_IO, errno, "cannot read '%s'", path);
	(void) closedir(d);
	if (r == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0)
		r = err_set_errno(err, MUSTER_E_IO, errno, "cannot remove '%s'", path);
	return r;
}

int keystore_fleet_remove(const char *state_dir, const char *fleet, size_t *ret_removed,
			  struct muster_err *err)
{
	_cleanup_free_ char *keys = NULL, *dir = NULL;
	int kfd, r;

	*ret_removed = 0;
	if (path_join(&keys, err, state_dir, "keys", NULL) < 0 ||
	    path_join(&dir, err, keys, fleet, NULL) < 0)
		return -1;
	kfd = open(keys, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (kfd < 0)
		return errno == ENOENT ? 0 :
		       err_set_errno(err, MUSTER_E_IO, errno, "cannot open '%s'", keys);
	r = remove_tree(kfd, fleet, dir, ret_removed, err);
	(void) close(kfd);
	return r;
}
