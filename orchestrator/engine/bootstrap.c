/* bootstrap.c: what a VM is given to bootstrap itself (bootstrap.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_TAG "bootstrap"
#include "bootstrap.h"
#include "fmt.h"
#include "hash.h"
#include "keystore.h"
#include "kickstart.h"
#include "log.h"
#include "vmseed.h"
#include "common.h"

/* ---- keys ------------------------------------------------------------------------ */

int bootstrap_host_keys(const char *state_dir, struct store *st, const struct manifest *m,
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

int bootstrap_authkeys(const char *state_dir, const struct manifest *m, struct authkeys *ret,
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

void authkeys_release(struct authkeys *a)
{
	keypair_release(&a->admin);
	free(a->admin_line);
	memset(a, 0, sizeof(*a));
}

/* ---- the guest agent ------------------------------------------------------------ */

/* Where the agent is (bootstrap_agent_b64), into out. */
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
		fmt_fit(beside, sizeof(beside), "%s/agent/muster-agent", dirname(exe));
		fmt_fit(installed, sizeof(installed), "%s/../lib/muster/muster-agent", exe);
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

int bootstrap_agent_raw(unsigned char **ret, size_t *ret_n, struct muster_err *err)
{
	char path[PATH_MAX + 32];

	*ret = NULL;
	*ret_n = 0;
	if (agent_locate(path, sizeof(path), err) < 0)
		return -1;
	return agent_read(path, ret, ret_n, err);
}

int bootstrap_agent_b64(char **ret_b64, bool *ret_gzip, struct muster_err *err)
{
	_cleanup_free_ unsigned char *data = NULL;
	char path[PATH_MAX + 32], gz[PATH_MAX + 40];
	size_t n;

	*ret_b64 = NULL;
	*ret_gzip = false;
	if (agent_locate(path, sizeof(path), err) < 0)
		return -1;
	fmt_fit(gz, sizeof(gz), "%s.gz", path);
	if (access(gz, R_OK) == 0) {
		if (agent_read(gz, &data, &n, err) < 0)
			return -1;
		*ret_gzip = true;
	} else if (agent_read(path, &data, &n, err) < 0) {
		return -1;
	}
	*ret_b64 = hash_base64(data, n);
	return *ret_b64 ? 0 : err_set(err, MUSTER_E_NOMEM, "the guest agent '%s': out of memory", path);
}

/* ---- a fleet's bootstraps ------------------------------------------------------- */

void bootstrap_fleet_release(struct bootstrap_fleet *bf)
{
	size_t g;

	for (g = 0; bf->m && g < bf->m->n_groups; g++) {
		free(bf->ks_path ? bf->ks_path[g] : NULL);
		free(bf->ks_text ? bf->ks_text[g] : NULL);
	}
	free(bf->ks_path);
	free(bf->ks_text);
	free(bf->ks_len);
	authkeys_release(&bf->auth);
	free(bf->agent_b64);
	vmrecs_release(&bf->own_recs);
	memset(bf, 0, sizeof(*bf));
}

/* Each kickstart group's template, read once (of its first VM: the group's). */
static int templates_read(struct bootstrap_fleet *bf, struct muster_err *err)
{
	const struct manifest *m = bf->m;
	size_t i, n = m->n_groups + 1;

	bf->ks_path = calloc(n, sizeof(*bf->ks_path));
	bf->ks_text = calloc(n, sizeof(*bf->ks_text));
	bf->ks_len = calloc(n, sizeof(*bf->ks_len));
	if (!bf->ks_path || !bf->ks_text || !bf->ks_len)
		return err_nomem(err);
	for (i = 0; i < m->n_vms; i++) {
		size_t g = m->vms[i].group;

		if (m->groups[g].bootstrap != MF_BOOTSTRAP_KICKSTART || bf->ks_text[g])
			continue;
		if (kickstart_template_read(m, i, &bf->ks_path[g], &bf->ks_text[g], &bf->ks_len[g],
					    err) < 0)
			return -1;
	}
	return 0;
}

int bootstrap_fleet_open(const char *state_dir, const struct manifest *m,
			 const struct vmrecs *recs, unsigned flags, struct bootstrap_fleet *ret,
			 struct muster_err *err)
{
	memset(ret, 0, sizeof(*ret));
	ret->m = m;
	ret->recs = recs;
	if (!recs) {
		if (vmrecs_build(m, &ret->own_recs, err) < 0) {
			if (!strchr(err->msg, '\''))
				err_prefix(err, "fleet '%s'", m->fleet);
			return -1;
		}
		ret->recs = &ret->own_recs;
	}
	ret->has_auth = flags & BOOTSTRAP_AUTHKEYS;
	if (((flags & BOOTSTRAP_TEMPLATES) && templates_read(ret, err) < 0) ||
	    ((flags & BOOTSTRAP_AUTHKEYS) &&
	     bootstrap_authkeys(state_dir, m, &ret->auth, err) < 0) ||
	    ((flags & BOOTSTRAP_AGENT) && bootstrap_agent_b64(&ret->agent_b64, &ret->agent_gzip,
							       err) < 0)) {
		/* a failure that names nothing (out of memory) is the fleet's */
		if (!strchr(err->msg, '\''))
			err_prefix(err, "fleet '%s'", m->fleet);
		return -1;
	}
	return 0;
}

/* The kickstart of VM vm, appended to out, as muster render --kickstart gives it. */
static int render_kickstart(const struct bootstrap_fleet *bf, const struct authkeys *auth,
			    size_t vm, const struct keypair *keys, const uint32_t *ips,
			    struct buf *out, struct muster_err *err)
{
	const struct manifest *m = bf->m;
	const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
	char report_key[TOKEN_REPORT_KEY_LEN + 1], *path = NULL, *text = NULL;
	size_t len = 0;
	int r;

	if (bf->ks_text) {
		text = bf->ks_text[m->vms[vm].group];
		len = bf->ks_len[m->vms[vm].group];
	} else if (kickstart_template_read(m, vm, &path, &text, &len, err) < 0) {
		return -1;
	}
	r = token_report_key(keys[0].private_key, m->fleet, m->vms[vm].name, report_key, err);
	if (r == 0) {
		struct kickstart_input in = {
			.m = m, .vm = vm, .macs = &bf->recs->macs, .host_keys = keys,
			.authorized_keys = auth->keys, .n_authorized_keys = auth->n,
			.template_name = g->kickstart.template_path,
			.template_text = text, .template_len = len, .report_key = report_key,
			.ips = ips,
		};

		r = kickstart_render(&in, out, err);
	}
	explicit_bzero(report_key, sizeof(report_key));
	if (!bf->ks_text) {
		free(path);
		free(text);
	}
	return r;
}

/* bootstrap_render with the keys that may log in, and the VM's NIC addresses, given. */
static int render_with(const struct bootstrap_fleet *bf, const struct authkeys *auth, size_t vm,
		       const struct keypair *keys, const uint32_t *ips, bool key_files,
		       unsigned generation, struct cidata *ret_seed, struct buf *ret_ks,
		       struct muster_err *err)
{
	const struct manifest *m = bf->m;
	const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
	int r;

	if (g->bootstrap == MF_BOOTSTRAP_KICKSTART) {
		r = render_kickstart(bf, auth, vm, keys, ips, ret_ks, err);
	} else {
		struct vmseed_input in = {
			.m = m, .vm = vm, .macs = &bf->recs->macs, .host_keys = keys,
			.authorized_keys = auth->keys, .n_authorized_keys = auth->n,
			.agent_b64 = bf->agent_b64, .agent_gzip = bf->agent_gzip,
			.key_files = key_files, .generation = generation,
			.ips = ips,
		};

		r = vmseed_render(&in, ret_seed, err);
	}
	/* every failure names its VM (out of memory included) */
	if (r < 0 && !strstr(err->msg, "VM '"))
		err_prefix(err, "VM '%s'", m->vms[vm].name);
	return r;
}

int bootstrap_render(const struct bootstrap_fleet *bf, size_t vm, const struct keypair *keys,
		     bool key_files, unsigned generation, struct cidata *ret_seed,
		     struct buf *ret_ks, struct muster_err *err)
{
	if (!bf->has_auth)
		return err_set(err, MUSTER_E_INVALID, "VM '%s': no keys to log in with (a bug)",
			       bf->m->vms[vm].name);
	return render_with(bf, &bf->auth, vm, keys, vmrec_ips(bf->recs, vm), key_files, generation,
			   ret_seed, ret_ks, err);
}

int bootstrap_vm(const struct bootstrap_fleet *bf, const char *state_dir, struct store *st,
		 size_t vm, bool rotate, struct cidata *ret_seed, struct buf *ret_ks,
		 struct muster_err *err)
{
	const struct manifest *m = bf->m;
	const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
	struct keypair *keys = NULL;
	struct authkeys auth = { 0 };
	struct recorded_address *rec = NULL;
	struct addresses own = { 0 };
	const uint32_t *ips = vmrec_ips(bf->recs, vm);
	uint32_t mine[MF_NICS_MAX] = { 0 };
	bool pooled = false;
	size_t j;
	char *path = NULL, *text = NULL;
	unsigned generation = 0;
	size_t len = 0, n_rec = 0;
	int r = -1;

	/*
	 * records without addresses (render, serve): a static address or a
	 * sequence's is the manifest's; a pool's as the store has it now, or as
	 * apply would choose it
	 */
	for (j = 0; !ips && j < g->n_nics; j++)
		pooled |= g->nics[j].ip_mode == MF_IP_POOL;
	if (!ips && pooled) {
		if (store_address_list(st, m->fleet, &rec, &n_rec, err) < 0 ||
		    addresses_assign(m, rec, n_rec, &own, err) < 0)
			goto out;
		ips = own.ip + vm * own.stride;
	} else if (!ips) {
		for (j = 0; j < g->n_nics; j++)
			mine[j] = addresses_known(m, vm, j, NULL, 0);
		ips = mine;
	}
	/* a template that cannot be read fails before any key is made */
	if (g->bootstrap == MF_BOOTSTRAP_KICKSTART && !bf->ks_text &&
	    kickstart_template_read(m, vm, &path, &text, &len, err) < 0)
		goto out;
	if (bootstrap_host_keys(state_dir, st, m, &vm, 1, rotate ? KEYSTORE_ROTATE : 0, &keys,
				err) < 0 ||
	    store_vm_generation(st, m->fleet, m->vms[vm].name, &generation, err) < 0 ||
	    (!bf->has_auth && bootstrap_authkeys(state_dir, m, &auth, err) < 0))
		goto out;
	r = render_with(bf, bf->has_auth ? &bf->auth : &auth, vm, keys, ips, false, generation,
			ret_seed, ret_ks, err);
out:
	if (r < 0 && !strstr(err->msg, "VM '"))
		err_prefix(err, "VM '%s'", m->vms[vm].name);
	store_address_list_free(rec, n_rec);
	addresses_release(&own);
	authkeys_release(&auth);
	keystore_free(keys, m->n_host_key_types);
	free(path);
	free(text);
	return r;
}

int bootstrap_report_key(const char *state_dir, struct store *st, const struct manifest *m,
			 size_t vm, char out[TOKEN_REPORT_KEY_LEN + 1], struct muster_err *err)
{
	struct keypair *keys = NULL;
	int r;

	if (bootstrap_host_keys(state_dir, st, m, &vm, 1, 0, &keys, err) < 0)
		return -1;
	r = token_report_key(keys[0].private_key, m->fleet, m->vms[vm].name, out, err);
	keystore_free(keys, m->n_host_key_types);
	return r;
}

/* ---- kickstart rendering checked before anything is made -------------------------- */

int bootstrap_kickstart_check(const struct manifest *m, struct muster_err *err)
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
