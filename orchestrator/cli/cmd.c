/*
 * cmd.c: what every command shares: option parsing (global options are
 * accepted before and after the command), loading the manifest, opening the
 * state.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#define LOG_TAG "cmd"
#include "cidata.h"
#include "cmd.h"
#include "common.h"
#include "hv.h"
#include "identity.h"
#include "keystore.h"
#include "kickstart.h"
#include "log.h"
#include "statedir.h"
#include "tokens.h"
#include "vmseed.h"
#include "vmspec.h"

const struct option cmd_global_options[] = {
	{ "state", required_argument, NULL, 's' },
	{ "connect", required_argument, NULL, 'c' },
	{ "json", no_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

void cmd_usage(const struct cmd *cmd, FILE *f)
{
	fprintf(f, "usage: muster %s %s\n", cmd->name, cmd->usage);
}

int cmd_global_option(struct cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case 's':
		if (!*arg) {
			fprintf(stderr, "muster: --state needs a directory\n");
			return -1;
		}
		cli->state_dir = arg;
		return 0;
	case 'c':
		cli->connect = arg;
		return 0;
	case 'j':
		cli->json = true;
		return 0;
	case 'q':
		cli->quiet = true;
		log_max_level = LOG_LEVEL_ERROR;
		return 0;
	case 'v':
		cli->verbose++;
		log_max_level = cli->verbose > 1 ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
		return 0;
	default:
		return 1;	/* not a global option */
	}
}

int cmd_parse(struct cli *cli, const struct cmd *cmd, int argc, char **argv,
	      const struct option *extra, const char *extra_short,
	      int (*on_option)(int opt, const char *arg, void *userdata), void *userdata,
	      int *ret_exit)
{
	struct option opts[32];
	char shortopts[64];
	size_t n = 0, i;
	int opt, nargs;

	for (i = 0; extra && extra[i].name && n < ARRAY_SIZE(opts) - 8; i++)
		opts[n++] = extra[i];
	for (i = 0; cmd_global_options[i].name; i++)
		opts[n++] = cmd_global_options[i];
	opts[n] = cmd_global_options[i];
	if (snprintf(shortopts, sizeof(shortopts), ":hqv%s", extra_short ? extra_short : "") >=
	    (int) sizeof(shortopts)) {
		*ret_exit = EXIT_USAGE;
		return -1;
	}
	optind = 0;	/* 0, not 1: glibc then starts afresh after main's own parse */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		int r;

		if (opt == 'h') {
			cmd_usage(cmd, stdout);
			printf("\n%s: %s\n\n%s", cmd->name, cmd->summary, cmd->help);
			*ret_exit = EXIT_OK;
			return -1;
		}
		if (opt == '?' || opt == ':') {
			if (opt == ':')
				fprintf(stderr, "muster %s: option '%s' needs a value\n", cmd->name,
					argv[optind - 1]);
			else
				fprintf(stderr, "muster %s: unknown option '%s'\n", cmd->name,
					argv[optind - 1]);
			cmd_usage(cmd, stderr);
			*ret_exit = EXIT_USAGE;
			return -1;
		}
		r = cmd_global_option(cli, opt, optarg);
		if (r > 0 && on_option)
			r = on_option(opt, optarg, userdata);
		if (r != 0) {
			*ret_exit = EXIT_USAGE;
			return -1;
		}
	}
	nargs = argc - optind;
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		fprintf(stderr, "muster %s: expected %s\n", cmd->name, cmd->usage);
		cmd_usage(cmd, stderr);
		*ret_exit = EXIT_USAGE;
		return -1;
	}
	return optind;
}

int cmd_load_manifest(const char *file, struct manifest **ret)
{
	struct mf_diags diags;

	if (manifest_load(file, ret, &diags) == 0)
		return EXIT_OK;
	mf_diags_print(&diags, file, stderr);
	mf_diags_release(&diags);
	return EXIT_USAGE;
}

int cmd_open_state(const struct cli *cli, char **ret_dir, struct store **ret_store,
		   struct muster_err *err)
{
	char *dir = NULL;

	if (statedir_resolve(cli->state_dir, &dir, err) < 0 || statedir_prepare(dir, err) < 0 ||
	    store_open(dir, ret_store, err) < 0) {
		/* a failure that names nothing (out of memory) is the state directory's */
		if (!strchr(err->msg, '\''))
			err_prefix(err, "state directory '%s'", dir ? dir : cli->state_dir ?
				   cli->state_dir : "(default)");
		free(dir);
		return -1;
	}
	*ret_dir = dir;
	return 0;
}

int cmd_host_keys(const char *state_dir, struct store *st, const struct manifest *m,
		  const size_t *vms, size_t n, unsigned flags, struct keypair **ret,
		  struct muster_err *err)
{
	const char **names = calloc(n + 1, sizeof(*names)), **groups = calloc(n + 1, sizeof(*groups));
	enum keys_type types[MF_KEY_TYPE_MAX];
	size_t i;
	int r;

	if (!names || !groups) {
		free(names);
		free(groups);
		return err_nomem(err);
	}
	for (i = 0; i < n; i++) {
		names[i] = m->vms[vms[i]].name;
		groups[i] = manifest_vm_group(m, &m->vms[vms[i]])->name;
	}
	for (i = 0; i < m->n_host_key_types; i++)
		types[i] = vmseed_key_type(m->host_key_types[i]);
	r = keystore_host_keys(state_dir, st, m->fleet, names, groups, n, types,
			       m->n_host_key_types, flags, ret, err);
	free(names);
	free(groups);
	return r;
}

int cmd_authorized_keys(const char *state_dir, const struct manifest *m, struct cmd_authkeys *ret,
			struct muster_err *err)
{
	bool created = false;
	char *path = NULL;

	memset(ret, 0, sizeof(*ret));
	if (m->n_authorized_keys) {
		ret->keys = m->authorized_keys;
		ret->n = m->n_authorized_keys;
		return 0;
	}
	if (keystore_admin_key(state_dir, m->fleet, &ret->admin, &path, &created, err) < 0)
		return -1;
	if (asprintf(&ret->admin_line, "%s muster-admin@%s", ret->admin.public_key, m->fleet) < 0) {
		ret->admin_line = NULL;
		keypair_release(&ret->admin);
		free(path);
		return err_nomem(err);
	}
	ret->own[0] = ret->admin_line;
	ret->keys = ret->own;
	ret->n = 1;
	if (created)
		log_warn("the manifest names no ssh.authorized_keys: made the fleet's admin key "
			 "'%s' (log in as '%s' with ssh -i)", path, m->ssh_user);
	free(path);
	return 0;
}

void cmd_authkeys_release(struct cmd_authkeys *a)
{
	keypair_release(&a->admin);
	free(a->admin_line);
	memset(a, 0, sizeof(*a));
}

/* ---- the plan ---------------------------------------------------------------- */

struct want_buf {
	struct plan_want *v;
	char (*config)[VMSPEC_HASH_LEN];
	char (*base)[VMSPEC_HASH_LEN];
	char (*domain)[IDENTITY_DOMAIN_NAME_MAX + 1];
};

static void want_release(struct want_buf *w)
{
	free(w->v);
	free(w->config);
	free(w->base);
	free(w->domain);
}

static int want_build(const struct manifest *m, struct want_buf *w, struct muster_err *err)
{
	size_t i, n = m->n_vms ? m->n_vms : 1;

	w->v = calloc(n, sizeof(*w->v));
	w->config = calloc(n, sizeof(*w->config));
	w->base = calloc(n, sizeof(*w->base));
	w->domain = calloc(n, sizeof(*w->domain));
	if (!w->v || !w->config || !w->base || !w->domain)
		return err_nomem(err);
	for (i = 0; i < m->n_vms; i++) {
		const struct mf_vm *vm = &m->vms[i];

		if (vmspec_hashes(m, i, w->config[i], w->base[i], err) < 0 ||
		    identity_domain_name(m->fleet, vm->name, w->domain[i], sizeof(w->domain[i]), err) < 0)
			return -1;
		w->v[i].name = vm->name;
		w->v[i].group = manifest_vm_group(m, vm)->name;
		w->v[i].domain = w->domain[i];
		w->v[i].config_hash = w->config[i];
		w->v[i].base_hash = w->base[i];
	}
	return 0;
}

/* ---- hosts ------------------------------------------------------------------ */

int cmd_hosts_init(const struct cli *cli, const struct manifest *m, struct cmd_hosts *ret,
		   struct muster_err *err)
{
	const char *single = cli->connect ? cli->connect : m->hypervisor;
	size_t i, n = single ? 1 : m->n_hosts;

	memset(ret, 0, sizeof(*ret));
	ret->h = calloc(n + 1, sizeof(*ret->h));
	ret->hv = calloc(n + 1, sizeof(*ret->hv));
	if (!ret->h || !ret->hv) {
		cmd_hosts_release(ret);
		return err_nomem(err);
	}
	ret->n = n;
	for (i = 0; i < n; i++) {
		ret->h[i].uri = single ? single : m->hosts[i].uri;
		ret->h[i].max_vms = single ? 0 : m->hosts[i].max_vms;
	}
	return 0;
}

int cmd_hosts_hv(struct cmd_hosts *hosts, size_t i, struct hv **ret, struct muster_err *err)
{
	if (!hosts->hv[i] && hv_open(hosts->h[i].uri, &hosts->hv[i], err) < 0) {
		hosts->hv[i] = NULL;
		return -1;
	}
	*ret = hosts->hv[i];
	return 0;
}

ssize_t cmd_hosts_find(const struct cmd_hosts *hosts, const char *uri)
{
	size_t i;

	for (i = 0; uri && i < hosts->n; i++)
		if (streq(hosts->h[i].uri, uri))
			return (ssize_t) i;
	return -1;
}

void cmd_hosts_release(struct cmd_hosts *hosts)
{
	size_t i;

	for (i = 0; hosts->hv && i < hosts->n; i++)
		hv_free(hosts->hv[i]);
	free(hosts->hv);
	free(hosts->h);
	memset(hosts, 0, sizeof(*hosts));
}

/* Every domain on the fleet's hosts, each with the index of its host. */
static int list_domains(struct cmd_hosts *hosts, struct listed_domain **ret, size_t *ret_n,
			struct muster_err *err)
{
	size_t i, j, total = 0;
	struct listed_domain *all = NULL;

	for (i = 0; i < hosts->n; i++) {
		struct listed_domain *v = NULL, *grown;
		struct hv *hv = NULL;
		size_t n = 0;

		if (cmd_hosts_hv(hosts, i, &hv, err) < 0 || hv_list_domains(hv, &v, &n, err) < 0) {
			hv_domain_list_free(all, total);
			return -1;
		}
		grown = realloc(all, (total + n + 1) * sizeof(*all));
		if (!grown) {
			hv_domain_list_free(v, n);
			hv_domain_list_free(all, total);
			return err_nomem(err);
		}
		all = grown;
		for (j = 0; j < n; j++)
			v[j].host = i;
		memcpy(all + total, v, n * sizeof(*v));
		total += n;
		free(v);
	}
	*ret = all;
	*ret_n = total;
	return 0;
}

static int domain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct listed_domain *) a)->name, ((const struct listed_domain *) b)->name);
}

/* bsearch, but an empty array may be NULL (bsearch's may not). */
static const struct listed_domain *find_domain(const struct listed_domain *doms, size_t n, const char *name)
{
	struct listed_domain key = { .name = (char *) name };

	return n ? bsearch(&key, doms, n, sizeof(*doms), domain_cmp) : NULL;
}

/*
 * Where each wanted VM is: its domain's host, else its recorded host, else
 * placed now. A domain of the fleet's found on two hosts is an error: muster
 * will not guess which one is the VM.
 */
static int locate(const struct manifest *m, const struct cmd_hosts *hosts,
		  const struct plan_want *want, struct listed_domain *doms, size_t n_doms,
		  const struct recorded_vm *recs, size_t n_recs, size_t **ret, struct muster_err *err)
{
	_cleanup_free_ ssize_t *cur = NULL;
	_cleanup_free_ const char **names = NULL;
	size_t i, *out;

	if (n_doms > 1)
		qsort(doms, n_doms, sizeof(*doms), domain_cmp);
	for (i = 1; i < n_doms; i++)
		if (streq(doms[i - 1].name, doms[i].name) && doms[i].ours &&
		    streq(doms[i].fleet, m->fleet))
			return err_set(err, MUSTER_E_HV,
				       "domain '%s' is defined on both %s and %s: muster will not "
				       "guess which one is the VM; undefine one", doms[i].name,
				       hosts->h[doms[i - 1].host].uri, hosts->h[doms[i].host].uri);
	cur = calloc(m->n_vms + 1, sizeof(*cur));
	names = calloc(m->n_vms + 1, sizeof(*names));
	out = calloc(m->n_vms + 1, sizeof(*out));
	if (!cur || !names || !out) {
		free(out);
		return err_nomem(err);
	}
	for (i = 0; i < m->n_vms; i++) {
		const struct listed_domain *d = find_domain(doms, n_doms, want[i].domain);
		const struct recorded_vm *r = store_vm_find(recs, n_recs, want[i].name);

		names[i] = want[i].name;
		cur[i] = d ? (ssize_t) d->host : r ? cmd_hosts_find(hosts, r->host) : -1;
		/* recorded before placement was recorded: on the fleet's only host */
		if (!d && r && !r->host && hosts->n == 1)
			cur[i] = 0;
	}
	if (placement_compute(hosts->h, hosts->n, cur, names, m->n_vms, out, err) < 0) {
		free(out);
		return -1;
	}
	*ret = out;
	return 0;
}

int cmd_plan_compute(const struct cli *cli, const struct manifest *m, struct store *st,
		     struct cmd_hosts *hosts, struct plan **ret, size_t **ret_host,
		     struct muster_err *err)
{
	struct want_buf want = { 0 };
	struct recorded_vm *recs = NULL;
	struct listed_domain *doms = NULL;
	size_t n_recs = 0, n_doms = 0;
	struct timespec now;
	int r = -1;

	(void) cli;
	if (want_build(m, &want, err) < 0 ||
	    store_vm_list(st, m->fleet, &recs, &n_recs, err) < 0 ||
	    list_domains(hosts, &doms, &n_doms, err) < 0)
		goto out;
	if (ret_host &&
	    locate(m, hosts, want.v, doms, n_doms, recs, n_recs, ret_host, err) < 0)
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);
	{
		struct plan_input in = {
			.fleet = m->fleet, .want = want.v, .n_want = m->n_vms,
			.recorded = recs, .n_recorded = n_recs, .domains = doms, .n_domains = n_doms,
			.now_ms = (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000,
			.max_age_s = m->rebuild_max_age,
		};

		r = plan_compute(&in, ret, err);
	}
	if (r == 0 && ret_host) {
		size_t i;

		/* the wanted VMs come first, in manifest order; the others where
		 * their domain is, else where the store last saw them */
		for (i = 0; i < m->n_vms && i < (*ret)->n_items; i++)
			(*ret)->items[i].host = hosts->h[(*ret_host)[i]].uri;
		for (; i < (*ret)->n_items; i++) {
			struct plan_item *it = &(*ret)->items[i];
			char dom[IDENTITY_DOMAIN_NAME_MAX + 1];
			const struct listed_domain *d;
			const struct recorded_vm *rec;

			if (identity_domain_name(m->fleet, it->name, dom, sizeof(dom), NULL) == 0 &&
			    (d = find_domain(doms, n_doms, dom)))
				it->host = hosts->h[d->host].uri;
			else if ((rec = store_vm_find(recs, n_recs, it->name)) &&
				 cmd_hosts_find(hosts, rec->host) >= 0)
				it->host = hosts->h[cmd_hosts_find(hosts, rec->host)].uri;
			else if (hosts->n == 1)
				it->host = hosts->h[0].uri;
		}
	}
	if (r < 0 && ret_host) {
		free(*ret_host);
		*ret_host = NULL;
	}
out:
	hv_domain_list_free(doms, n_doms);
	store_vm_list_free(recs, n_recs);
	want_release(&want);
	return r;
}

/* ---- orphaned volumes ---------------------------------------------------------- */

void cmd_orphans_free(struct cmd_orphan *o, size_t n)
{
	size_t i;

	for (i = 0; o && i < n; i++)
		free(o[i].volume);
	free(o);
}

/* The VM a volume name of fleet's names (into vm), or false. */
static bool volume_vm(const char *fleet, const char *volume, char *vm, size_t vmsz)
{
	static const char *const suffixes[] = { "-seed.iso", ".qcow2" };
	size_t fl = strlen(fleet), i;

	if (strncmp(volume, fleet, fl) != 0 || volume[fl] != '-' ||
	    strncmp(volume + fl + 1, "img-", 4) == 0)
		return false;
	volume += fl + 1;
	for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t vl = strlen(volume), sl = strlen(suffixes[i]);

		if (vl > sl && vl - sl < vmsz && streq(volume + vl - sl, suffixes[i])) {
			memcpy(vm, volume, vl - sl);
			vm[vl - sl] = '\0';
			return true;
		}
	}
	return false;
}

static bool claimed_by_longer_fleet(const char *fleet, char **fleets, size_t n, const char *volume)
{
	size_t i, fl = strlen(fleet);

	for (i = 0; i < n; i++) {
		size_t l = strlen(fleets[i]);

		if (l > fl && strncmp(fleets[i], fleet, fl) == 0 && fleets[i][fl] == '-' &&
		    strncmp(volume, fleets[i], l) == 0 && volume[l] == '-')
			return true;
	}
	return false;
}

int cmd_orphans(const struct manifest *m, struct store *st, struct cmd_hosts *hosts,
		const struct plan *p, const size_t *host_of, struct cmd_orphan **ret,
		size_t *ret_n, struct muster_err *err)
{
	struct cmd_orphan *out = NULL;
	char **fleets = NULL;
	size_t n_fleets = 0, n = 0, h, i, j;
	int r = -1;

	*ret = NULL;
	*ret_n = 0;
	if (store_fleet_names(st, &fleets, &n_fleets, err) < 0)
		return -1;
	for (h = 0; h < hosts->n; h++) {
		struct hv *hv = NULL;
		char **vols = NULL;
		size_t n_vols = 0;

		if (cmd_hosts_hv(hosts, h, &hv, err) < 0 ||
		    hv_pool_volumes(hv, m->pool, &vols, &n_vols, err) < 0)
			goto out;
		for (i = 0; i < n_vols; i++) {
			char vm[IDENTITY_DOMAIN_NAME_MAX + 1];
			ssize_t k;
			bool destroyed = false;
			struct cmd_orphan *grown;

			if (!volume_vm(m->fleet, vols[i], vm, sizeof(vm)) ||
			    claimed_by_longer_fleet(m->fleet, fleets, n_fleets, vols[i]))
				continue;
			k = manifest_find_vm(m, vm);
			if (k >= 0 && host_of[k] == h)
				continue;
			for (j = 0; j < p->n_items; j++)
				destroyed |= p->items[j].action == PLAN_DESTROY &&
					     streq(p->items[j].name, vm);
			if (destroyed)
				continue;
			grown = realloc(out, (n + 1) * sizeof(*out));
			if (!grown) {
				hv_names_free(vols, n_vols);
				(void) err_nomem(err);
				goto out;
			}
			out = grown;
			out[n].volume = vols[i];
			out[n++].host = hosts->h[h].uri;
			vols[i] = NULL;
		}
		hv_names_free(vols, n_vols);
	}
	*ret = out;
	*ret_n = n;
	out = NULL;
	n = 0;
	r = 0;
out:
	cmd_orphans_free(out, n);
	for (i = 0; i < n_fleets; i++)
		free(fleets[i]);
	free(fleets);
	return r;
}

/* ---- the guest agent ------------------------------------------------------------ */

/* Where the agent is (cmd.h: cmd_agent_b64), into out. */
static int agent_locate(char *out, size_t outsz, struct muster_err *err)
{
	const char *env = getenv("MUSTER_AGENT");
	char exe[PATH_MAX], beside[PATH_MAX + 32], installed[PATH_MAX + 32];
	const char *found = NULL;
	ssize_t n;

	if (env && *env) {
		found = env;
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n < 0)
			return err_set_errno(err, MUSTER_E_IO, errno, "cannot find muster's own binary");
		exe[n] = '\0';
		(void) snprintf(beside, sizeof(beside), "%s/agent/muster-agent", dirname(exe));
		(void) snprintf(installed, sizeof(installed), "%s/../lib/muster/muster-agent", exe);
		if (access(beside, R_OK) == 0)
			found = beside;
		else if (access(installed, R_OK) == 0)
			found = installed;
		else
			return err_set(err, MUSTER_E_NOTFOUND,
				       "cannot find the guest agent (muster-agent) in '%s' or '%s': "
				       "build it (make) or name it with MUSTER_AGENT=PATH", beside,
				       installed);
	}
	if (snprintf(out, outsz, "%s", found) >= (int) outsz)
		return err_set(err, MUSTER_E_INVALID, "the agent's path '%s' is too long", found);
	return 0;
}

/* The agent file at path (or its .gz), whole: *ret (caller frees), *ret_n bytes. */
static int agent_read(const char *path, unsigned char **ret, size_t *ret_n, struct muster_err *err)
{
	unsigned char *data;
	struct stat st;
	size_t got = 0;
	int fd;

	*ret = NULL;
	*ret_n = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot open the agent '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (unsigned long long) st.st_size > CIDATA_MAX_AGENT) {
		close(fd);
		return err_set(err, MUSTER_E_INVALID,
			       "the agent '%s' is not a regular file of 1 byte to %u MiB", path,
			       CIDATA_MAX_AGENT >> 20);
	}
	data = malloc((size_t) st.st_size);
	if (!data) {
		close(fd);
		return err_set(err, MUSTER_E_NOMEM, "the guest agent '%s': out of memory", path);
	}
	while (got < (size_t) st.st_size) {
		ssize_t r = read(fd, data + got, (size_t) st.st_size - got);

		if (r <= 0) {
			int e = r < 0 ? errno : EIO;

			close(fd);
			free(data);
			return err_set_errno(err, MUSTER_E_IO, e, "cannot read the agent '%s'", path);
		}
		got += (size_t) r;
	}
	close(fd);
	log_debug("the guest agent: '%s', %zu bytes", path, got);
	*ret = data;
	*ret_n = got;
	return 0;
}

int cmd_agent_raw(unsigned char **ret, size_t *ret_n, struct muster_err *err)
{
	char path[PATH_MAX + 32];

	*ret = NULL;
	*ret_n = 0;
	if (agent_locate(path, sizeof(path), err) < 0)
		return -1;
	return agent_read(path, ret, ret_n, err);
}

int cmd_agent_b64(char **ret_b64, bool *ret_gzip, struct muster_err *err)
{
	_cleanup_free_ unsigned char *data = NULL;
	char path[PATH_MAX + 32], gz[PATH_MAX + 40];
	size_t n;

	*ret_b64 = NULL;
	*ret_gzip = false;
	if (agent_locate(path, sizeof(path), err) < 0)
		return -1;
	(void) snprintf(gz, sizeof(gz), "%s.gz", path);
	if (access(gz, R_OK) == 0) {
		if (agent_read(gz, &data, &n, err) < 0)
			return -1;
		*ret_gzip = true;
	} else if (agent_read(path, &data, &n, err) < 0) {
		return -1;
	}
	*ret_b64 = cidata_base64(data, n);
	return *ret_b64 ? 0 : err_set(err, MUSTER_E_NOMEM, "the guest agent '%s': out of memory", path);
}

/* ---- a VM's bootstrap ----------------------------------------------------------- */

int cmd_vm_bootstrap(const char *state_dir, struct store *st, const struct manifest *m, size_t vm,
		     bool rotate, const char *agent_b64, bool agent_gzip, struct cidata *ret_seed,
		     struct buf *ret_ks, struct muster_err *err)
{
	const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
	struct keypair *keys = NULL;
	struct cmd_authkeys auth = { 0 };
	struct vmspec_macs macs = { 0 };
	char *path = NULL, *text = NULL;
	size_t len = 0;
	int r = -1;

	if (g->bootstrap == MF_BOOTSTRAP_KICKSTART &&
	    kickstart_template_read(m, vm, &path, &text, &len, err) < 0)
		return -1;
	if (cmd_host_keys(state_dir, st, m, &vm, 1, rotate ? KEYSTORE_ROTATE : 0, &keys, err) < 0 ||
	    cmd_authorized_keys(state_dir, m, &auth, err) < 0 ||
	    vmspec_macs_assign(m, &macs, err) < 0)
		goto out;
	if (g->bootstrap == MF_BOOTSTRAP_KICKSTART) {
		char report_key[TOKEN_REPORT_KEY_LEN + 1];
		struct kickstart_input in = {
			.m = m, .vm = vm, .macs = &macs, .host_keys = keys,
			.authorized_keys = auth.keys, .n_authorized_keys = auth.n,
			.template_name = g->kickstart.template_path,
			.template_text = text, .template_len = len, .report_key = report_key,
		};

		r = token_report_key(keys[0].private_key, m->fleet, m->vms[vm].name, report_key, err);
		if (r == 0)
			r = kickstart_render(&in, ret_ks, err);
	} else {
		struct vmseed_input in = {
			.m = m, .vm = vm, .macs = &macs, .host_keys = keys,
			.authorized_keys = auth.keys, .n_authorized_keys = auth.n,
			.agent_b64 = agent_b64, .agent_gzip = agent_gzip,
		};

		r = vmseed_render(&in, ret_seed, err);
	}
out:
	/* every failure names its VM (out of memory included) */
	if (r < 0 && !strstr(err->msg, "VM '"))
		err_prefix(err, "VM '%s'", m->vms[vm].name);
	vmspec_macs_release(&macs);
	cmd_authkeys_release(&auth);
	keystore_free(keys, m->n_host_key_types);
	free(path);
	free(text);
	return r;
}

int cmd_report_key(const char *state_dir, struct store *st, const struct manifest *m, size_t vm,
		   char out[TOKEN_REPORT_KEY_LEN + 1], struct muster_err *err)
{
	struct keypair *keys = NULL;
	int r;

	if (cmd_host_keys(state_dir, st, m, &vm, 1, 0, &keys, err) < 0)
		return -1;
	r = token_report_key(keys[0].private_key, m->fleet, m->vms[vm].name, out, err);
	keystore_free(keys, m->n_host_key_types);
	return r;
}

/* ---- kickstart rendering checked before anything is made -------------------------- */

int cmd_kickstart_check(const struct manifest *m, struct muster_err *err)
{
	/* stand-ins for the keys: what a value may hold does not depend on them */
	static const char *const pub[KEYS_TYPE_MAX] = {
		[KEYS_ED25519] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA",
		[KEYS_RSA] = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ",
		[KEYS_ECDSA] = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY",
	};
	static const char *const admin[] = { "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA muster-admin" };
	struct keypair keys[MF_KEY_TYPE_MAX];
	struct vmspec_macs macs = { 0 };
	char *path = NULL, *text = NULL;
	size_t len = 0, i, g_read = SIZE_MAX;
	int r = -1;

	for (i = 0; i < m->n_host_key_types; i++) {
		enum keys_type t = vmseed_key_type(m->host_key_types[i]);

		keys[i] = (struct keypair) {
			.type = t, .public_key = (char *) pub[t], .fingerprint = (char *) "SHA256:x",
			.private_key = (char *) "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		};
	}
	if (vmspec_macs_assign(m, &macs, err) < 0)
		return -1;
	for (i = 0; i < m->n_vms; i++) {
		const struct mf_vm *v = &m->vms[i];
		const struct mf_group *g = manifest_vm_group(m, v);
		struct buf out = BUF_INIT(MU_MAX_BYTES);
		struct kickstart_input in = {
			.m = m, .vm = i, .macs = &macs, .host_keys = keys,
			.authorized_keys = m->n_authorized_keys ? m->authorized_keys : admin,
			.n_authorized_keys = m->n_authorized_keys ? m->n_authorized_keys : 1,
			.template_name = g->kickstart.template_path,
			/* hex: a key cannot change what the template makes of a value */
			.report_key = "00000000000000000000000000000000",
		};
		int k;

		if (g->bootstrap != MF_BOOTSTRAP_KICKSTART)
			continue;
		if (g_read != v->group) {
			free(path);
			free(text);
			path = text = NULL;
			if (kickstart_template_read(m, i, &path, &text, &len, err) < 0)
				goto out;
			g_read = v->group;
		}
		in.template_text = text;
		in.template_len = len;
		k = kickstart_render(&in, &out, err);
		buf_release(&out);
		if (k < 0)
			goto out;
	}
	r = 0;
out:
	vmspec_macs_release(&macs);
	free(path);
	free(text);
	return r;
}
