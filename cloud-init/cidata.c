/*
 * cidata.c: NoCloud user-data, meta-data and network-config through
 * yamltree's writer (cidata.h). The input is checked first, so emitting
 * fails only for want of memory or past the output cap.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cidata.h"
#include "fmt.h"
#include "hash.h"
#include "manifest.h"
#include "utf8.h"

static const char *const hostkey_types[] = { "ed25519", "rsa", "ecdsa" };

/*
 * The hook for the agent. StartLimitIntervalSec=0: an agent that keeps
 * failing is retried every RestartSec for ever, never given up on.
 */
static const char agent_unit[] =
	"[Unit]\n"
	"Description=muster guest agent\n"
	"ConditionPathExists=" CIDATA_AGENT_PATH "\n"
	"StartLimitIntervalSec=0\n"
	"\n"
	"[Service]\n"
	"ExecStart=" CIDATA_AGENT_PATH "\n"
	"Restart=always\n"
	"RestartSec=2\n"
	"\n"
	"[Install]\n"
	"WantedBy=multi-user.target\n";

/* ---- checking the input ------------------------------------------------- */

/*
 * Free text muster writes: present, valid UTF-8, no control character but
 * tab, and newline when lines is set.
 */
static int check_text(const char *s, bool lines, const char *what, struct muster_err *err)
{
	const unsigned char *p;

	if (!s || !*s)
		return err_set(err, MUSTER_E_INVALID, "%s is missing", what);
	for (p = (const unsigned char *) s; *p; p++)
		if ((*p < 0x20 && *p != '\t' && !(lines && *p == '\n')) || *p == 0x7f)
			return err_set(err, MUSTER_E_INVALID, "%s holds a control character (0x%02x)",
				       what, *p);
	if (!utf8_valid((const unsigned char *) s, strlen(s)))
		return err_set(err, MUSTER_E_INVALID, "%s is not valid UTF-8", what);
	return 0;
}

static bool is_label(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* "<label>[.<label>...]", at most 253 characters. */
static bool is_domain(const char *s)
{
	const char *p = s, *dot;

	if (strlen(s) > 253)
		return false;
	for (;;) {
		dot = strchr(p, '.');
		if (!is_label(p, dot ? (size_t) (dot - p) : strlen(p)))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

/* "<hostname>.<label>[.<label>...]", at most 253 characters. */
static bool is_fqdn_of(const char *fqdn, const char *hostname)
{
	size_t hl = strlen(hostname);
	const char *p, *dot;

	if (strlen(fqdn) > 253 || strncmp(fqdn, hostname, hl) != 0 || fqdn[hl] != '.')
		return false;
	for (p = fqdn + hl + 1;; p = dot + 1) {
		dot = strchr(p, '.');
		if (!is_label(p, dot ? (size_t) (dot - p) : strlen(p)))
			return false;
		if (!dot)
			return true;
	}
}

/* What useradd on Debian takes without --badname: [a-z_][a-z0-9_-]*, 32 at most. */
static bool is_user_name(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > 32 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static bool is_mac(const char *s)
{
	size_t i;

	if (strlen(s) != 17)
		return false;
	for (i = 0; i < 17; i++) {
		char c = s[i];

		if (i % 3 == 2 ? c != ':' :
		    !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* AF_INET, AF_INET6, or 0 when s is neither address. */
static int addr_family(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];

	if (!s)
		return 0;
	if (inet_pton(AF_INET, s, a) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, a) == 1)
		return AF_INET6;
	return 0;
}

static int check_nic(const struct cidata_nic *nic, size_t idx, struct muster_err *err)
{
	int fam = 0;
	size_t i;

	if (!nic->mac || !is_mac(nic->mac))
		return err_set(err, MUSTER_E_INVALID, "nic %zu: MAC address '%s' is not xx:xx:xx:xx:xx:xx",
			       idx, nic->mac ? nic->mac : "");
	if (nic->ip) {
		fam = addr_family(nic->ip);
		if (!fam)
			return err_set(err, MUSTER_E_INVALID, "nic %zu: '%s' is not an IP address",
				       idx, nic->ip);
		if (nic->prefix > (fam == AF_INET ? 32u : 128u))
			return err_set(err, MUSTER_E_INVALID, "nic %zu: prefix /%u is too long for '%s'",
				       idx, nic->prefix, nic->ip);
	}
	if (nic->gateway) {
		if (!nic->ip)
			return err_set(err, MUSTER_E_INVALID, "nic %zu: a gateway needs a static address",
				       idx);
		if (addr_family(nic->gateway) != fam)
			return err_set(err, MUSTER_E_INVALID,
				       "nic %zu: gateway '%s' is not an address of the family of '%s'",
				       idx, nic->gateway, nic->ip);
	}
	if (nic->n_dns > CIDATA_MAX_LIST || (nic->n_dns && !nic->dns))
		return err_set(err, MUSTER_E_INVALID, "nic %zu: bad list of name servers", idx);
	for (i = 0; i < nic->n_dns; i++)
		if (!addr_family(nic->dns[i]))
			return err_set(err, MUSTER_E_INVALID, "nic %zu: name server '%s' is not an IP address",
				       idx, nic->dns[i] ? nic->dns[i] : "");
	if (nic->n_search > CIDATA_MAX_LIST || (nic->n_search && !nic->search))
		return err_set(err, MUSTER_E_INVALID, "nic %zu: bad list of search domains", idx);
	for (i = 0; i < nic->n_search; i++)
		if (!nic->search[i] || !is_domain(nic->search[i]))
			return err_set(err, MUSTER_E_INVALID, "nic %zu: search domain '%s' is not a "
				       "DNS name", idx, nic->search[i] ? nic->search[i] : "");
	if (nic->n_routes > CIDATA_MAX_LIST || (nic->n_routes && !nic->routes))
		return err_set(err, MUSTER_E_INVALID, "nic %zu: bad list of routes", idx);
	for (i = 0; i < nic->n_routes; i++) {
		const struct cidata_route *r = &nic->routes[i];
		int f = r->to ? addr_family(r->to) : 0;

		if (!f || !r->via || addr_family(r->via) != f || r->prefix < 1 ||
		    r->prefix > (f == AF_INET ? 32u : 128u))
			return err_set(err, MUSTER_E_INVALID, "nic %zu: route %zu is not an address, "
				       "a prefix and a gateway of one family", idx, i);
	}
	if (nic->mtu && (nic->mtu < 576 || nic->mtu > 65535))
		return err_set(err, MUSTER_E_INVALID, "nic %zu: MTU %u is not 576 to 65535", idx,
			       nic->mtu);
	return 0;
}

static int check_input(const struct cidata_input *in, struct muster_err *err)
{
	char what[64];
	size_t i, j;

	if (!in->hostname || !is_label(in->hostname, strlen(in->hostname)))
		return err_set(err, MUSTER_E_INVALID, "hostname '%s' is not an RFC 1123 label",
			       in->hostname ? in->hostname : "");
	if (in->fqdn && !is_fqdn_of(in->fqdn, in->hostname))
		return err_set(err, MUSTER_E_INVALID, "fqdn '%s' is not '%s.' and a domain name",
			       in->fqdn, in->hostname);
	if (!in->user || !is_user_name(in->user) || streq(in->user, "root"))
		return err_set(err, MUSTER_E_INVALID, "user '%s' is not a valid user name other than root",
			       in->user ? in->user : "");
	if (in->n_authorized_keys > CIDATA_MAX_LIST || (in->n_authorized_keys && !in->authorized_keys))
		return err_set(err, MUSTER_E_INVALID, "bad list of authorized keys");
	for (i = 0; i < in->n_authorized_keys; i++) {
		fmt_fit(what, sizeof(what), "authorized key %zu", i);
		if (check_text(in->authorized_keys[i], false, what, err) < 0)
			return -1;
	}
	if (in->n_host_keys > ARRAY_SIZE(hostkey_types) || (in->n_host_keys && !in->host_keys))
		return err_set(err, MUSTER_E_INVALID, "bad list of host keys");
	for (i = 0; i < in->n_host_keys; i++) {
		const struct cidata_hostkey *k = &in->host_keys[i];
		bool known = false;

		for (j = 0; k->type && j < ARRAY_SIZE(hostkey_types); j++)
			known |= streq(k->type, hostkey_types[j]);
		if (!known)
			return err_set(err, MUSTER_E_INVALID, "host key type '%s' is not ed25519, rsa or ecdsa",
				       k->type ? k->type : "");
		for (j = 0; j < i; j++)
			if (streq(in->host_keys[j].type, k->type))
				return err_set(err, MUSTER_E_INVALID, "two host keys of type '%s'", k->type);
		fmt_fit(what, sizeof(what), "the %s private host key", k->type);
		if (check_text(k->private_key, true, what, err) < 0)
			return -1;
		fmt_fit(what, sizeof(what), "the %s public host key", k->type);
		if (check_text(k->public_key, false, what, err) < 0)
			return -1;
	}
	if (in->host_keys_volume) {
		const char *c = in->host_keys_volume;

		if (in->n_host_keys == 0)
			return err_set(err, MUSTER_E_INVALID, "a keys volume without host keys");
		for (; *c && (isalnum((unsigned char) *c) || *c == '-' || *c == '_'); c++)
			;
		if (*c || c == in->host_keys_volume || c - in->host_keys_volume > 32)
			return err_set(err, MUSTER_E_INVALID,
				       "keys volume id '%s': 1-32 of A-Z, a-z, 0-9, '-' and '_'",
				       in->host_keys_volume);
	}
	if (in->phone_home_url) {
		if (check_text(in->phone_home_url, false, "phone_home_url", err) < 0)
			return -1;
		if (strchr(in->phone_home_url, '$'))
			return err_set(err, MUSTER_E_INVALID,
				       "phone_home_url '%s' holds '$', which cloud-init would expand",
				       in->phone_home_url);
	}
	if (in->agent_binary && (in->agent_len == 0 || in->agent_len > CIDATA_MAX_AGENT))
		return err_set(err, MUSTER_E_INVALID, "the agent binary is empty or larger than %u bytes",
			       CIDATA_MAX_AGENT);
	if (in->n_nics > CIDATA_MAX_LIST || (in->n_nics && !in->nics))
		return err_set(err, MUSTER_E_INVALID, "bad list of NICs");
	for (i = 0; i < in->n_nics; i++) {
		if (check_nic(&in->nics[i], i, err) < 0)
			return -1;
		for (j = 0; j < i; j++)
			if (strcasecmp(in->nics[i].mac, in->nics[j].mac) == 0)
				return err_set(err, MUSTER_E_INVALID, "nics %zu and %zu have the same MAC '%s'",
					       j, i, in->nics[i].mac);
	}
	return 0;
}

/* ---- checking the manifest's cloud_init tree ---------------------------- */

static int tree_err(struct muster_err *err, const struct yt_node *at, const char *path,
		    const char *fmt, ...) PRINTF_LIKE(4, 5);

static int tree_err(struct muster_err *err, const struct yt_node *at, const char *path,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	fmt_vcut(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(err, MUSTER_E_INVALID, "%s: %s (line %u, column %u)", path, msg,
		       at->pos.line, at->pos.col);
}

static bool key_is(const struct yt_node *key, const char *name)
{
	return key->len == strlen(name) && memcmp(key->str, name, key->len) == 0;
}

/* A section of cloud_init, or NULL when absent or null. */
static const struct yt_node *section(const struct yt_node *ci, const char *name)
{
	const struct yt_node *v;

	if (!ci || ci->kind != YT_MAP)
		return NULL;
	v = yt_map_get(ci, name, NULL);
	return v && !yt_is_null(v) ? v : NULL;
}

/* An empty plain key would come back as '' (a string), not null: refuse null keys. */
static int check_keys(const struct yt_node *n, const char *path, struct muster_err *err)
{
	size_t i;

	if (n->kind == YT_SCALAR)
		return 0;
	for (i = 0; i < n->n; i++) {
		if (n->kind == YT_MAP && i % 2 == 0 && yt_is_null(n->items[i]))
			return tree_err(err, n->items[i], path, "a mapping key is null");
		if (check_keys(n->items[i], path, err) < 0)
			return -1;
	}
	return 0;
}

/* A list of scalars, or (when nested) of scalars and lists of scalars. */
static int check_list(const struct yt_node *n, const char *path, bool nested,
		      struct muster_err *err)
{
	size_t i, j;

	if (n->kind != YT_LIST)
		return tree_err(err, n, path, "must be a list, not %s", yt_kind_to_string(n->kind));
	for (i = 0; i < n->n; i++) {
		const struct yt_node *it = n->items[i];

		if (it->kind == YT_SCALAR && !yt_is_null(it))
			continue;
		if (!nested || it->kind != YT_LIST || it->n == 0)
			return tree_err(err, it, path, "item %zu must be a string%s", i,
					nested ? " or a list of strings" : "");
		for (j = 0; j < it->n; j++)
			if (it->items[j]->kind != YT_SCALAR || yt_is_null(it->items[j]))
				return tree_err(err, it->items[j], path,
						"item %zu must be a list of strings", i);
	}
	return 0;
}

static int check_write_files(const struct yt_node *n, struct muster_err *err)
{
	static const char path[] = "cloud_init.write_files";
	size_t i;

	if (n->kind != YT_LIST)
		return tree_err(err, n, path, "must be a list, not %s", yt_kind_to_string(n->kind));
	for (i = 0; i < n->n; i++) {
		const struct yt_node *it = n->items[i], *p;

		if (it->kind != YT_MAP)
			return tree_err(err, it, path, "item %zu must be a mapping", i);
		p = yt_map_get(it, "path", NULL);
		if (!p || p->kind != YT_SCALAR || yt_is_null(p))
			return tree_err(err, it, path, "item %zu has no path", i);
		if (streq(p->str, CIDATA_AGENT_PATH) || streq(p->str, CIDATA_AGENT_UNIT_PATH))
			return tree_err(err, p, path, "'%s' is written by muster itself", p->str);
		if (check_keys(it, path, err) < 0)
			return -1;
	}
	return 0;
}

static int check_cloud_init(const struct yt_node *ci, struct muster_err *err)
{
	const struct yt_node *v;
	size_t i;

	if (!ci || yt_is_null(ci))
		return 0;
	if (ci->kind != YT_MAP)
		return tree_err(err, ci, "cloud_init", "must be a mapping, not %s",
				yt_kind_to_string(ci->kind));
	for (i = 0; i < ci->n; i += 2) {
		const struct yt_node *k = ci->items[i];

		if (!key_is(k, "packages") && !key_is(k, "runcmd") && !key_is(k, "write_files") &&
		    !key_is(k, "user_data"))
			return tree_err(err, k, "cloud_init",
					"unknown key '%s' (packages, runcmd, write_files or user_data)",
					k->str);
	}
	if ((v = section(ci, "packages")) && check_list(v, "cloud_init.packages", true, err) < 0)
		return -1;
	if ((v = section(ci, "runcmd")) && check_list(v, "cloud_init.runcmd", true, err) < 0)
		return -1;
	if ((v = section(ci, "write_files")) && check_write_files(v, err) < 0)
		return -1;
	if ((v = section(ci, "user_data"))) {
		if (v->kind != YT_MAP)
			return tree_err(err, v, "cloud_init.user_data", "must be a mapping, not %s",
					yt_kind_to_string(v->kind));
		for (i = 0; i < v->n; i += 2) {
			const struct yt_node *k = v->items[i];

			if (mf_user_data_key_is_owned(k->str, k->len))
				return tree_err(err, k, "cloud_init.user_data",
						"'%s' is set by muster itself", k->str);
			/* PyYAML merges "<<: {...}" into the top level, past the check above */
			if (k->plain && key_is(k, "<<"))
				return tree_err(err, k, "cloud_init.user_data",
						"a YAML merge key ('<<') is not allowed here");
		}
		if (check_keys(v, "cloud_init.user_data", err) < 0)
			return -1;
	}
	return 0;
}

/* ---- writing ----------------------------------------------------------- */

/* A key, an integer or a boolean muster writes: plain. */
static void emit_plain(struct yt_emitter *em, const char *s)
{
	yt_emit_scalar(em, s, strlen(s), YT_EMIT_PLAIN);
}

#define emit_key emit_plain

/*
 * A string: never plain, so quoted, in literal block style when it spans
 * lines (or double-quoted where a block cannot hold it, e.g. trailing spaces).
 */
static void emit_str(struct yt_emitter *em, const char *s)
{
	size_t len = strlen(s);

	yt_emit_scalar(em, s, len, memchr(s, '\n', len) ? YT_EMIT_LITERAL : YT_EMIT_STRING);
}

/* ---- the documents ------------------------------------------------------ */

static void emit_users(struct yt_emitter *em, const struct cidata_input *in)
{
	size_t i;

	emit_key(em, "users");
	yt_emit_seq_begin(em);
	yt_emit_map_begin(em);
	emit_key(em, "name");
	emit_str(em, in->user);
	emit_key(em, "groups");
	yt_emit_seq_begin(em);
	emit_str(em, "sudo");
	yt_emit_seq_end(em);
	/* Debian's sudoers asks the sudo group for a password; the user has none */
	emit_key(em, "sudo");
	emit_str(em, "ALL=(ALL) NOPASSWD:ALL");
	emit_key(em, "shell");
	emit_str(em, "/bin/bash");
	emit_key(em, "lock_passwd");
	emit_plain(em, "true");
	if (in->n_authorized_keys) {
		emit_key(em, "ssh_authorized_keys");
		yt_emit_seq_begin(em);
		for (i = 0; i < in->n_authorized_keys; i++)
			emit_str(em, in->authorized_keys[i]);
		yt_emit_seq_end(em);
	}
	yt_emit_map_end(em);
	yt_emit_seq_end(em);
}

static void emit_ssh(struct yt_emitter *em, const struct cidata_input *in)
{
	char key[32];
	size_t i;

	emit_key(em, "ssh_pwauth");
	emit_plain(em, "false");
	emit_key(em, "disable_root");
	emit_plain(em, "true");
	/*
	 * true: an image's own host keys (a debootstrap image has them) are
	 * removed before ours are written, so no two VMs share a key.
	 */
	emit_key(em, "ssh_deletekeys");
	/* from a keys volume: bootcmd removed the image's and put ours there */
	emit_plain(em, in->host_keys_volume ? "false" : "true");
	if (in->n_host_keys == 0)
		return;		/* cloud-init then generates its default types */
	/* (a type whose key is there already is not generated again) */
	emit_key(em, "ssh_genkeytypes");
	yt_emit_seq_begin(em);
	for (i = 0; i < in->n_host_keys; i++)
		emit_str(em, in->host_keys[i].type);
	yt_emit_seq_end(em);
	if (in->host_keys_volume)
		return;
	emit_key(em, "ssh_keys");
	yt_emit_map_begin(em);
	for (i = 0; i < in->n_host_keys; i++) {
		/* type is one of hostkey_types: short */
		fmt_fit(key, sizeof(key), "%s_private", in->host_keys[i].type);
		emit_key(em, key);
		emit_str(em, in->host_keys[i].private_key);
		fmt_fit(key, sizeof(key), "%s_public", in->host_keys[i].type);
		emit_key(em, key);
		emit_str(em, in->host_keys[i].public_key);
	}
	yt_emit_map_end(em);
}

static void emit_write_file(struct yt_emitter *em, const char *path, const char *perms,
			    const char *encoding, const char *content)
{
	yt_emit_map_begin(em);
	emit_key(em, "path");
	emit_str(em, path);
	emit_key(em, "permissions");
	emit_str(em, perms);
	if (encoding) {
		emit_key(em, "encoding");
		emit_str(em, encoding);
	}
	emit_key(em, "content");
	/*
	 * The agent's base64 (64 KB in every seed) as emit_str writes it, without
	 * libyaml's pass over each character, which was a fifth of apply's CPU.
	 */
	if (!encoding || !yt_emit_base64(em, content))
		emit_str(em, content);
	yt_emit_map_end(em);
}

static void emit_argv(struct yt_emitter *em, const char *const *argv)
{
	yt_emit_seq_begin(em);
	for (; *argv; argv++)
		emit_str(em, *argv);
	yt_emit_seq_end(em);
}

/*
 * cloud-init 22.4 writes the public host keys of ssh_keys 0600, like the
 * private ones; a stock system has them 0644, and what reads them as a user
 * expects so. runcmd runs in cloud-init's final stage, after the ssh module
 * wrote them, and before the agent reports ready.
 */
static void emit_pub_key_modes(struct yt_emitter *em, const struct cidata_input *in)
{
	char path[64];
	size_t i;

	if (in->n_host_keys == 0)
		return;		/* cloud-init's ssh-keygen makes them 0644 */
	yt_emit_seq_begin(em);
	emit_str(em, "chmod");
	emit_str(em, "0644");
	for (i = 0; i < in->n_host_keys; i++) {
		/* type is one of hostkey_types: short */
		fmt_fit(path, sizeof(path), "/etc/ssh/ssh_host_%s_key.pub",
				in->host_keys[i].type);
		emit_str(em, path);
	}
	yt_emit_seq_end(em);
}

/*
 * The host keys from the keys volume (host_keys_volume), on every boot, in
 * cloud-init's network stage: bootcmd runs before its ssh module, and that
 * stage before sshd starts. The image's own keys are removed first, so that
 * a volume that cannot be read leaves none of them: cloud-init then makes
 * new keys, which muster's known_hosts refuses, rather than keys that other
 * VMs of the image share. The script is a constant; the volume id is its
 * argument. (It is the guest's cloud-init that runs it, as an argv with
 * sh: muster itself spawns nothing here.)
 */
static const char keys_script[] =
	"set -eu\n"
	"rm -f /etc/ssh/ssh_host_*\n"
	"d=$(mktemp -d)\n"
	"mount -r -t iso9660 LABEL=\"$1\" \"$d\"\n"
	"for k in \"$d\"/ssh_host_*_key; do\n"
	"\tinstall -m 0600 \"$k\" /etc/ssh/\n"
	"\tinstall -m 0644 \"$k.pub\" /etc/ssh/\n"
	"done\n"
	"umount \"$d\"\n"
	"rmdir \"$d\"\n";

/* muster's bootcmd, then the manifest's user_data.bootcmd (a list, checked) */
static void emit_bootcmd(struct yt_emitter *em, const struct cidata_input *in)
{
	const struct yt_node *ud = section(in->cloud_init, "user_data"), *v = NULL;
	const char *const argv[] = { "sh", "-c", keys_script, "muster-host-keys", in->host_keys_volume,
				     NULL };
	size_t i;

	emit_key(em, "bootcmd");
	yt_emit_seq_begin(em);
	emit_argv(em, argv);
	if (ud && (v = yt_map_get(ud, "bootcmd", NULL)) && v->kind == YT_LIST)
		for (i = 0; i < v->n; i++)
			yt_emit_node(em, v->items[i]);
	yt_emit_seq_end(em);
}

static void emit_phone_home(struct yt_emitter *em, const struct cidata_input *in)
{
	char post[32];
	size_t i;

	emit_key(em, "phone_home");
	yt_emit_map_begin(em);
	emit_key(em, "url");
	emit_str(em, in->phone_home_url);
	emit_key(em, "post");
	yt_emit_seq_begin(em);
	for (i = 0; i < in->n_host_keys; i++) {
		fmt_fit(post, sizeof(post), "pub_key_%s", in->host_keys[i].type);
		emit_str(em, post);
	}
	emit_str(em, "instance_id");
	emit_str(em, "hostname");
	emit_str(em, "fqdn");
	yt_emit_seq_end(em);
	emit_key(em, "tries");
	emit_plain(em, "10");
	yt_emit_map_end(em);
}

static void emit_user_data(struct yt_emitter *em, const struct cidata_input *in,
			   const char *agent_b64)
{
	static const char *const reload[] = { "systemctl", "daemon-reload", NULL };
	static const char *const enable[] = {
		"systemctl", "enable", "--now", "--no-block", CIDATA_AGENT_UNIT, NULL
	};
	const struct yt_node *v;
	size_t i;

	yt_emit_comment(em, "cloud-config");
	yt_emit_doc_begin(em);
	yt_emit_map_begin(em);
	emit_key(em, "hostname");
	emit_str(em, in->hostname);
	if (in->fqdn) {
		emit_key(em, "fqdn");
		emit_str(em, in->fqdn);
		emit_key(em, "prefer_fqdn_over_hostname");
		emit_plain(em, "false");
	}
	emit_key(em, "manage_etc_hosts");
	emit_plain(em, "true");
	emit_users(em, in);
	emit_ssh(em, in);
	if (in->host_keys_volume)
		emit_bootcmd(em, in);

	if ((v = section(in->cloud_init, "packages")) && v->n) {
		emit_key(em, "packages");
		yt_emit_node(em, v);
	}

	emit_key(em, "write_files");
	yt_emit_seq_begin(em);
	emit_write_file(em, CIDATA_AGENT_UNIT_PATH, "0644", NULL, agent_unit);
	if (agent_b64)
		emit_write_file(em, CIDATA_AGENT_PATH, "0755",
				in->agent_b64 && in->agent_gzip ? "gz+b64" : "b64", agent_b64);
	if ((v = section(in->cloud_init, "write_files")))
		for (i = 0; i < v->n; i++)
			yt_emit_node(em, v->items[i]);
	yt_emit_seq_end(em);

	emit_key(em, "runcmd");
	yt_emit_seq_begin(em);
	if (!in->host_keys_volume)
		emit_pub_key_modes(em, in);
	emit_argv(em, reload);
	emit_argv(em, enable);
	if ((v = section(in->cloud_init, "runcmd")))
		for (i = 0; i < v->n; i++)
			yt_emit_node(em, v->items[i]);
	yt_emit_seq_end(em);

	if (in->phone_home_url)
		emit_phone_home(em, in);

	if ((v = section(in->cloud_init, "user_data")))
		yt_emit_map_pairs_except(em, v, in->host_keys_volume ? "bootcmd" : NULL);
	yt_emit_map_end(em);
	yt_emit_doc_end(em);
}

static bool needs_network_config(const struct cidata_input *in)
{
	size_t i;

	if (in->n_nics > 1)
		return true;
	for (i = 0; i < in->n_nics; i++)
		if (in->nics[i].ip || in->nics[i].n_dns || in->nics[i].n_search ||
		    in->nics[i].n_routes || in->nics[i].mtu)
			return true;
	return false;
}

/*
 * Netplan v2. No set-name: cloud-init 22.4 finds the interface by MAC. The
 * default route is gateway4/gateway6, not routes: [{to: default}], which
 * 22.4 cannot parse ("Address default is not a valid ip address"), while
 * {to: 0.0.0.0/0} turns into a "route add" of net-tools under ifupdown.
 */
static void emit_network_config(struct yt_emitter *em, const struct cidata_input *in)
{
	char name[32], addr[INET6_ADDRSTRLEN + 8];
	size_t i, j;

	yt_emit_doc_begin(em);
	yt_emit_map_begin(em);
	emit_key(em, "version");
	emit_plain(em, "2");
	emit_key(em, "ethernets");
	yt_emit_map_begin(em);
	for (i = 0; i < in->n_nics; i++) {
		const struct cidata_nic *nic = &in->nics[i];

		fmt_fit(name, sizeof(name), "nic%zu", i);
		emit_key(em, name);
		yt_emit_map_begin(em);
		emit_key(em, "match");
		yt_emit_map_begin(em);
		emit_key(em, "macaddress");
		emit_str(em, nic->mac);
		yt_emit_map_end(em);
		if (!nic->ip) {
			emit_key(em, "dhcp4");
			emit_plain(em, "true");
		} else {
			/* ip passed inet_pton: at most INET6_ADDRSTRLEN - 1 characters */
			fmt_cut(addr, sizeof(addr), "%s/%u", nic->ip, nic->prefix);
			emit_key(em, "addresses");
			yt_emit_seq_begin(em);
			emit_str(em, addr);
			yt_emit_seq_end(em);
			if (nic->gateway) {
				emit_key(em, addr_family(nic->gateway) == AF_INET ? "gateway4"
										   : "gateway6");
				emit_str(em, nic->gateway);
			}
		}
		if (nic->n_dns || nic->n_search) {
			emit_key(em, "nameservers");
			yt_emit_map_begin(em);
			if (nic->n_dns) {
				emit_key(em, "addresses");
				yt_emit_seq_begin(em);
				for (j = 0; j < nic->n_dns; j++)
					emit_str(em, nic->dns[j]);
				yt_emit_seq_end(em);
			}
			if (nic->n_search) {
				emit_key(em, "search");
				yt_emit_seq_begin(em);
				for (j = 0; j < nic->n_search; j++)
					emit_str(em, nic->search[j]);
				yt_emit_seq_end(em);
			}
			yt_emit_map_end(em);
		}
		if (nic->n_routes) {
			emit_key(em, "routes");
			yt_emit_seq_begin(em);
			for (j = 0; j < nic->n_routes; j++) {
				const struct cidata_route *r = &nic->routes[j];

				yt_emit_map_begin(em);
				fmt_cut(addr, sizeof(addr), "%s/%u", r->to, r->prefix);
				emit_key(em, "to");
				emit_str(em, addr);
				emit_key(em, "via");
				emit_str(em, r->via);
				if (r->metric) {
					fmt_fit(name, sizeof(name), "%u", r->metric);
					emit_key(em, "metric");
					emit_plain(em, name);
				}
				yt_emit_map_end(em);
			}
			yt_emit_seq_end(em);
		}
		if (nic->mtu) {
			fmt_fit(name, sizeof(name), "%u", nic->mtu);
			emit_key(em, "mtu");
			emit_plain(em, name);
		}
		yt_emit_map_end(em);
	}
	yt_emit_map_end(em);
	yt_emit_map_end(em);
	yt_emit_doc_end(em);
}

static void emit_meta_data(struct yt_emitter *em, const struct cidata *c, const char *hostname)
{
	yt_emit_doc_begin(em);
	yt_emit_map_begin(em);
	emit_key(em, "instance-id");
	emit_str(em, c->instance_id);
	emit_key(em, "local-hostname");
	emit_str(em, hostname);
	yt_emit_map_end(em);
	yt_emit_doc_end(em);
}

static int instance_id(struct cidata *c, const struct cidata_input *in)
{
	_cleanup_(hash_freep) struct hash_ctx *h = hash_sha256_new();
	uint8_t md[HASH_SHA256_LEN];
	size_t i;

	if (!h || hash_update(h, c->user_data, c->user_data_len) < 0 ||
	    hash_update(h, "", 1) < 0 ||
	    hash_update(h, c->network_config, c->network_config_len) < 0 ||
	    hash_update(h, "", 1) < 0 ||
	    hash_update(h, in->hostname, strlen(in->hostname)) < 0)
		return -1;
	/* keys on a volume: not in user-data, so counted here */
	for (i = 0; in->host_keys_volume && i < in->n_host_keys; i++)
		if (hash_update(h, "", 1) < 0 ||
		    hash_update(h, in->host_keys[i].private_key,
				strlen(in->host_keys[i].private_key)) < 0 ||
		    hash_update(h, "", 1) < 0 ||
		    hash_update(h, in->host_keys[i].public_key,
				strlen(in->host_keys[i].public_key)) < 0)
			return -1;
	/* a rebuild is a new instance, whatever else stays the same */
	if (in->generation) {
		char g[24];

		fmt_fit(g, sizeof(g), "%u", in->generation);
		if (hash_update(h, "\0generation ", 12) < 0 || hash_update(h, g, strlen(g)) < 0)
			return -1;
	}
	if (hash_final(h, md) < 0)
		return -1;
	/* "iid-", 32 hex digits and a NUL: 37 of the 40 bytes */
	memcpy(c->instance_id, "iid-", 4);
	hash_hex(md, 16, c->instance_id + 4);
	return 0;
}

enum cidata_doc { DOC_USER_DATA, DOC_NETWORK_CONFIG, DOC_META_DATA };

static int render(enum cidata_doc doc, const struct cidata_input *in, const char *agent_b64,
		  struct cidata *c, struct muster_err *err)
{
	struct yt_emitter *em = yt_emitter_new(CIDATA_MAX_OUTPUT);
	int r = -1;

	if (!em)
		return err_nomem(err);
	switch (doc) {
	case DOC_USER_DATA:
		emit_user_data(em, in, agent_b64);
		r = yt_emit_finish(em, "user-data", &c->user_data, &c->user_data_len, err);
		break;
	case DOC_NETWORK_CONFIG:
		emit_network_config(em, in);
		r = yt_emit_finish(em, "network-config", &c->network_config,
				   &c->network_config_len, err);
		break;
	case DOC_META_DATA:
		emit_meta_data(em, c, in->hostname);
		r = yt_emit_finish(em, "meta-data", &c->meta_data, &c->meta_data_len, err);
		break;
	}
	yt_emitter_free(em);
	return r;
}

/* The keys volume's files: each host key and its public key, copied. */
static int key_files(const struct cidata_input *in, struct cidata *c)
{
	size_t i;
	int pub;

	for (i = 0; i < in->n_host_keys; i++)
		for (pub = 0; pub < 2; pub++) {
			const struct cidata_hostkey *k = &in->host_keys[i];
			struct cidata_file *f = &c->key_files[c->n_key_files];
			const char *text = pub ? k->public_key : k->private_key;
			size_t len = strlen(text);
			bool nl = len && text[len - 1] == '\n';

			/* type is one of hostkey_types: short */
			fmt_fit(f->name, sizeof(f->name), "ssh_host_%s_key%s", k->type,
					pub ? ".pub" : "");
			f->data = malloc(len + 2);
			if (!f->data)
				return -1;
			memcpy(f->data, text, len);
			if (!nl)	/* the file's last line, ended */
				f->data[len++] = '\n';
			f->data[len] = '\0';
			f->len = len;
			c->n_key_files++;
		}
	return 0;
}

/* With a keys volume, user_data.bootcmd follows muster's own: a list, or nothing. */
static int check_bootcmd(const struct cidata_input *in, struct muster_err *err)
{
	const struct yt_node *ud = section(in->cloud_init, "user_data"), *v;

	if (!in->host_keys_volume || !ud || !(v = yt_map_get(ud, "bootcmd", NULL)) ||
	    v->kind == YT_LIST)
		return 0;
	return tree_err(err, v, "cloud_init.user_data.bootcmd",
			"must be a list when the host keys come from a volume (seed: http): "
			"muster's command that installs them comes first");
}

int cidata_render(const struct cidata_input *in, struct cidata *ret, struct muster_err *err)
{
	_cleanup_free_ char *agent_b64 = NULL;
	struct cidata c = { 0 };

	memset(ret, 0, sizeof(*ret));
	if (check_input(in, err) < 0 || check_cloud_init(in->cloud_init, err) < 0 ||
	    check_bootcmd(in, err) < 0)
		return -1;
	if (!in->agent_b64 && in->agent_binary &&
	    !(agent_b64 = hash_base64(in->agent_binary, in->agent_len)))
		return err_nomem(err);
	if (render(DOC_USER_DATA, in, in->agent_b64 ? in->agent_b64 : agent_b64, &c, err) < 0)
		goto out;
	if (in->host_keys_volume && in->key_files && key_files(in, &c) < 0) {
		err_nomem(err);
		goto out;
	}
	if (needs_network_config(in) && render(DOC_NETWORK_CONFIG, in, NULL, &c, err) < 0)
		goto out;
	if (instance_id(&c, in) < 0) {
		err_set(err, MUSTER_E_NOMEM, "cannot hash the seed: out of memory");
		goto out;
	}
	if (render(DOC_META_DATA, in, NULL, &c, err) < 0)
		goto out;
	*ret = c;
	return 0;
out:
	cidata_release(&c);
	return -1;
}

void cidata_release(struct cidata *c)
{
	size_t i;

	if (!c)
		return;
	free(c->user_data);
	free(c->meta_data);
	free(c->network_config);
	for (i = 0; i < c->n_key_files; i++) {
		explicit_bzero(c->key_files[i].data, c->key_files[i].len);
		free(c->key_files[i].data);
	}
	memset(c, 0, sizeof(*c));
}
