/*
 * test_cidata.c: the NoCloud files read back with yamltree (every value, its
 * bytes and whether it is plain), hostile strings that must stay strings,
 * refused input, the instance-id, network-config, and the output checked by
 * cloud-init 22.4's schema, its network renderers and PyYAML.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "testutil.h"
#include "cidata.h"
#include "hash.h"
#include "manifest.h"
#include "yamltree.h"

extern char **environ;

/* ---- helpers ------------------------------------------------------------ */

struct str {
	const char *p;
	size_t len;
};

#define S(lit) { (lit), sizeof(lit) - 1 }

/* Values YAML would read as something else, or that break plain style. */
static const struct str hostile_line[] = {
	S("no"), S("0755"), S("1e3"), S("~"), S("a: b # c"), S("it's \"quoted\""),
	S(""), S(" lead"), S("trail "), S("- dash"), S("? q"), S("@at"), S("`tick"),
	S("%pct"), S("&a"), S("*a"), S("!t"), S("|"), S(">"), S("null"), S("true"),
	S("False"), S("[x]"), S("{x: y}"), S("#hash"), S("tab\there"),
	S("\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80"), S("---"), S("..."), S("back\\slash"),
	S("0x1F"), S("+1"), S(".inf"), S("2001-12-14"), S("="), S("<<"), S("y"), S("n"),
	S("on"), S("off"), S("yes"), S("Null"), S("0o17"), S("1_000"), S("0b101"), S(":"),
	S("a:b"), S("x #y"), S("'"), S("\""), S("ls\xe2\x80\xa8x"), S("bom\xef\xbb\xbfx"),
	S("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK no"),
	S("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK a: b # c 'q\" ~"),
};

/* Only where free text may span lines or hold any byte (the manifest). */
static const struct str hostile_text[] = {
	S("line1\nline2\n"), S("\n\nlead newlines"), S("a \nb"), S("trailing newlines\n\n\n"),
	S("no newline at end\nx"), S("  indented\nfirst line\n"), S("cr\r\nlf"),
	S("nel\xc2\x85x"), S("nul\0x"), S("key: value\nother: thing\n"), S("\n"),
	S("#cloud-config\n- a\n"), S("tab\tline\n\tnext\n"), S("ls\xe2\x80\xa8x\n"),
	S("ps\xe2\x80\xa9\ny\n"), S("  \n"), S("x\n  "),
};

static char *big_text;	/* 64 KiB with newlines, colons and hashes */
static char *big_line;	/* 64 KiB on one line */
#define BIG_LEN (64 * 1024)

static void make_big(void)
{
	size_t i;

	if (big_text)
		return;
	big_text = malloc(BIG_LEN + 1);
	big_line = malloc(BIG_LEN + 1);
	assert_non_null(big_text);
	assert_non_null(big_line);
	for (i = 0; i < BIG_LEN; i++) {
		big_text[i] = "a: b # c 'x' \"y\" ~\n"[i % 20];
		big_line[i] = "no: 0755 # 1e3 ~ '\" "[i % 20];
	}
	big_text[BIG_LEN] = big_line[BIG_LEN] = '\0';
}

/* A YAML double-quoted scalar holding exactly len bytes at s. */
static void put_dq(struct buf *b, const char *s, size_t len)
{
	size_t i;

	buf_putc(b, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char) c);
		} else if (c == '\n') {
			buf_puts(b, "\\n");
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "\\x%02x", c);
		} else if (c == 0xc2 && i + 1 < len && (unsigned char) s[i + 1] == 0x85) {
			buf_puts(b, "\\N");
			i++;
		} else if (c == 0xe2 && i + 2 < len && (unsigned char) s[i + 1] == 0x80 &&
			   ((unsigned char) s[i + 2] & 0xfe) == 0xa8) {
			buf_puts(b, (unsigned char) s[i + 2] == 0xa8 ? "\\L" : "\\P");
			i += 2;
		} else {
			buf_putc(b, (char) c);
		}
	}
	buf_putc(b, '"');
}

/* The node at a path of map keys and list indexes, e.g. "users.0.name". */
static const struct yt_node *at(const struct yt_node *n, const char *path)
{
	const char *p = path;
	char seg[128];

	while (n && *p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t) (dot - p) : strlen(p);
		char *end;

		assert_true(len < sizeof(seg));
		memcpy(seg, p, len);
		seg[len] = '\0';
		if (n->kind == YT_LIST) {
			unsigned long i = strtoul(seg, &end, 10);

			n = *end == '\0' && i < n->n ? n->items[i] : NULL;
		} else if (n->kind == YT_MAP) {
			n = yt_map_get(n, seg, NULL);
		} else {
			n = NULL;
		}
		p = dot ? dot + 1 : p + len;
	}
	return n;
}

static void check_scalar(const struct yt_node *root, const char *path, const char *want,
			 size_t len, bool plain)
{
	const struct yt_node *n = at(root, path);

	if (!n)
		fail_msg("no node at %s", path);
	if (n->kind != YT_SCALAR)
		fail_msg("%s is %s, not a scalar", path, yt_kind_to_string(n->kind));
	if (n->len != len || memcmp(n->str, want, len) != 0)
		fail_msg("%s: got %zu bytes '%.60s', want %zu bytes '%.60s'", path, n->len, n->str,
			 len, want);
	if (n->plain != plain)
		fail_msg("%s ('%.60s'): plain is %d, want %d", path, want, n->plain, plain);
}

static void check_str(const struct yt_node *root, const char *path, const char *want)
{
	check_scalar(root, path, want, strlen(want), false);
}

static void check_plain(const struct yt_node *root, const char *path, const char *want)
{
	check_scalar(root, path, want, strlen(want), true);
}

static void check_len(const struct yt_node *root, const char *path, enum yt_kind kind, size_t n)
{
	const struct yt_node *node = at(root, path);

	if (!node)
		fail_msg("no node at %s", path);
	if (node->kind != kind || (kind == YT_MAP ? node->n / 2 : node->n) != n)
		fail_msg("%s: %s of %zu, want %s of %zu", path, yt_kind_to_string(node->kind),
			 node->kind == YT_MAP ? node->n / 2 : node->n, yt_kind_to_string(kind), n);
}

static struct yt_doc *parse(const char *data, size_t len)
{
	struct yt_problem pb;
	struct yt_doc *doc = NULL;

	if (yt_parse(data, len, &doc, &pb) < 0)
		fail_msg("%u:%u: %s in:\n%.2000s", pb.pos.line, pb.pos.col, pb.msg, data);
	assert_non_null(yt_doc_root(doc));
	return doc;
}

/* ---- a full input ------------------------------------------------------- */

static const char ed_priv[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
	"QyNTUxOQAAACB0ZXN0LWtleS1ub3QtYS1yZWFsLW9uZS0wMDAwMDAwAAAAA\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char ed_pub[] =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlc3Qta2V5LW5vdC1hLXJlYWwtb25lLTAwMDAwMDA root@web-001";
static const char rsa_priv[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABFwAAAAdzc2gtcn\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char rsa_pub[] = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ root@web-001";

static const char full_manifest[] =
	"cloud_init:\n"
	"  packages: [nginx, [curl, 7.88.1-10]]\n"
	"  runcmd:\n"
	"    - echo hello > /tmp/hello\n"
	"    - [sh, -c, 'echo \"$HOSTNAME\"']\n"
	"  write_files:\n"
	"    - path: /etc/motd\n"
	"      content: |\n"
	"        welcome\n"
	"        to the fleet\n"
	"      permissions: '0644'\n"
	"      defer: true\n"
	"  user_data:\n"
	"    timezone: Etc/UTC\n"
	"    package_update: true\n"
	"    ntp: {enabled: true, servers: [ntp.example.com]}\n"
	"    final_message: \"up after $UPTIME s\"\n";

struct fx {
	struct cidata_input in;
	struct cidata_hostkey hk[2];
	const char *ak[2];
	const char *dns[2];
	struct cidata_nic nics[2];
	struct yt_doc *doc;
};

static void fx_manifest(struct fx *f, const char *text, size_t len)
{
	yt_doc_free(f->doc);
	f->doc = NULL;
	f->in.cloud_init = NULL;
	if (!text)
		return;
	f->doc = parse(text, len);
	f->in.cloud_init = yt_map_get(yt_doc_root(f->doc), "cloud_init", NULL);
	assert_non_null(f->in.cloud_init);
}

static void fx_manifest_str(struct fx *f, const char *text)
{
	fx_manifest(f, text, strlen(text));
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->hk[0] = (struct cidata_hostkey) { "ed25519", ed_priv, ed_pub };
	f->hk[1] = (struct cidata_hostkey) { "rsa", rsa_priv, rsa_pub };
	f->ak[0] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@example";
	f->ak[1] = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ backup@example";
	f->dns[0] = "10.20.0.1";
	f->dns[1] = "2001:db8::53";
	f->nics[0] = (struct cidata_nic) { .mac = "52:54:00:12:34:56", .ip = "10.20.0.10",
					   .prefix = 24, .gateway = "10.20.0.1",
					   .dns = f->dns, .n_dns = 2 };
	f->nics[1] = (struct cidata_nic) { .mac = "52:54:00:12:34:57" };
	f->in = (struct cidata_input) {
		.hostname = "web-001",
		.fqdn = "web-001.lab.example.com",
		.user = "muster",
		.authorized_keys = f->ak,
		.n_authorized_keys = 2,
		.host_keys = f->hk,
		.n_host_keys = 2,
		.phone_home_url = "http://192.0.2.1:8080/phone-home/web-001",
		.agent_binary = "\x7f" "ELF\x02\x01\x01\0\0",
		.agent_len = 9,
		.nics = f->nics,
		.n_nics = 2,
	};
	fx_manifest(f, full_manifest, sizeof(full_manifest) - 1);
}

static void fx_free(struct fx *f)
{
	yt_doc_free(f->doc);
	f->doc = NULL;
}

static void render_ok(const struct cidata_input *in, struct cidata *c)
{
	struct muster_err err;

	err_clear(&err);
	if (cidata_render(in, c, &err) < 0)
		fail_msg("cidata_render: %s", err.msg);
	assert_non_null(c->user_data);
	assert_non_null(c->meta_data);
	assert_int_equal(strlen(c->user_data), c->user_data_len);
	assert_int_equal(strlen(c->meta_data), c->meta_data_len);
}

/* Rendering fails with MUSTER_E_INVALID, a message holding want, and nothing in c. */
static void render_fails(const struct cidata_input *in, const char *want)
{
	struct cidata c;
	struct muster_err err;

	memset(&c, 0xa5, sizeof(c));
	err_clear(&err);
	assert_int_equal(cidata_render(in, &c, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not say '%s'", err.msg, want);
	assert_null(c.user_data);
	assert_null(c.meta_data);
	assert_null(c.network_config);
	cidata_release(&c);
}

/* ---- tests -------------------------------------------------------------- */

static const char *const top_keys_full[] = {
	"hostname", "fqdn", "prefer_fqdn_over_hostname", "manage_etc_hosts", "users",
	"ssh_pwauth", "disable_root", "ssh_deletekeys", "ssh_genkeytypes", "ssh_keys",
	"packages", "write_files", "runcmd", "phone_home",
	"timezone", "package_update", "ntp", "final_message",
};

static void test_full_render(void **state)
{
	struct fx f;
	struct cidata c;
	struct yt_doc *doc;
	const struct yt_node *r;
	size_t i;

	(void) state;
	fx_init(&f);
	render_ok(&f.in, &c);
	assert_memory_equal(c.user_data, "#cloud-config\n", 14);
	doc = parse(c.user_data, c.user_data_len);
	r = yt_doc_root(doc);

	/* the top level, in order */
	check_len(r, "", YT_MAP, ARRAY_SIZE(top_keys_full));
	for (i = 0; i < ARRAY_SIZE(top_keys_full); i++) {
		const struct yt_node *k = r->items[2 * i];

		assert_string_equal(k->str, top_keys_full[i]);
		assert_true(k->plain);
	}
	check_str(r, "hostname", "web-001");
	check_str(r, "fqdn", "web-001.lab.example.com");
	check_plain(r, "prefer_fqdn_over_hostname", "false");
	check_plain(r, "manage_etc_hosts", "true");

	check_len(r, "users", YT_LIST, 1);
	check_len(r, "users.0", YT_MAP, 6);
	check_str(r, "users.0.name", "muster");
	check_len(r, "users.0.groups", YT_LIST, 1);
	check_str(r, "users.0.groups.0", "sudo");
	check_str(r, "users.0.sudo", "ALL=(ALL) NOPASSWD:ALL");
	check_str(r, "users.0.shell", "/bin/bash");
	check_plain(r, "users.0.lock_passwd", "true");
	check_len(r, "users.0.ssh_authorized_keys", YT_LIST, 2);
	check_str(r, "users.0.ssh_authorized_keys.0", f.ak[0]);
	check_str(r, "users.0.ssh_authorized_keys.1", f.ak[1]);

	check_plain(r, "ssh_pwauth", "false");
	check_plain(r, "disable_root", "true");
	check_plain(r, "ssh_deletekeys", "true");
	check_len(r, "ssh_genkeytypes", YT_LIST, 2);
	check_str(r, "ssh_genkeytypes.0", "ed25519");
	check_str(r, "ssh_genkeytypes.1", "rsa");
	check_len(r, "ssh_keys", YT_MAP, 4);
	check_str(r, "ssh_keys.ed25519_private", ed_priv);
	check_str(r, "ssh_keys.ed25519_public", ed_pub);
	check_str(r, "ssh_keys.rsa_private", rsa_priv);
	check_str(r, "ssh_keys.rsa_public", rsa_pub);
	/* a private key is a literal block, not a quoted line */
	assert_non_null(strstr(c.user_data, "ed25519_private: |\n    -----BEGIN OPENSSH"));

	/* the manifest's packages keep their plain style */
	check_len(r, "packages", YT_LIST, 2);
	check_plain(r, "packages.0", "nginx");
	check_plain(r, "packages.1.0", "curl");
	check_plain(r, "packages.1.1", "7.88.1-10");

	/* muster's write_files first: the unit, the agent; then the manifest's */
	check_len(r, "write_files", YT_LIST, 3);
	check_len(r, "write_files.0", YT_MAP, 3);
	check_str(r, "write_files.0.path", "/etc/systemd/system/muster-agent.service");
	check_str(r, "write_files.0.permissions", "0644");
	{
		const struct yt_node *unit = at(r, "write_files.0.content");

		assert_non_null(unit);
		assert_false(unit->plain);
		assert_non_null(strstr(unit->str, "\n[Service]\nExecStart=/usr/local/sbin/muster-agent\n"
					"Restart=always\nRestartSec=2\n"));
		assert_non_null(strstr(unit->str, "ConditionPathExists=/usr/local/sbin/muster-agent\n"));
		assert_non_null(strstr(unit->str, "\n[Install]\nWantedBy=multi-user.target\n"));
	}
	check_len(r, "write_files.1", YT_MAP, 4);
	check_str(r, "write_files.1.path", "/usr/local/sbin/muster-agent");
	check_str(r, "write_files.1.permissions", "0755");
	check_str(r, "write_files.1.encoding", "b64");
	check_str(r, "write_files.1.content", "f0VMRgIBAQAA");
	check_len(r, "write_files.2", YT_MAP, 4);
	check_plain(r, "write_files.2.path", "/etc/motd");
	check_str(r, "write_files.2.content", "welcome\nto the fleet\n");
	check_str(r, "write_files.2.permissions", "0644");
	check_plain(r, "write_files.2.defer", "true");

	/*
	 * muster's first: the public host keys made 0644 (cloud-init wrote
	 * them 0600), the agent's hook; then the manifest's commands
	 */
	check_len(r, "runcmd", YT_LIST, 5);
	check_len(r, "runcmd.0", YT_LIST, 4);
	check_str(r, "runcmd.0.0", "chmod");
	check_str(r, "runcmd.0.1", "0644");
	check_str(r, "runcmd.0.2", "/etc/ssh/ssh_host_ed25519_key.pub");
	check_str(r, "runcmd.0.3", "/etc/ssh/ssh_host_rsa_key.pub");
	check_len(r, "runcmd.1", YT_LIST, 2);
	check_str(r, "runcmd.1.0", "systemctl");
	check_str(r, "runcmd.1.1", "daemon-reload");
	check_len(r, "runcmd.2", YT_LIST, 5);
	check_str(r, "runcmd.2.0", "systemctl");
	check_str(r, "runcmd.2.1", "enable");
	check_str(r, "runcmd.2.2", "--now");
	check_str(r, "runcmd.2.3", "--no-block");
	check_str(r, "runcmd.2.4", "muster-agent.service");
	check_plain(r, "runcmd.3", "echo hello > /tmp/hello");
	check_len(r, "runcmd.4", YT_LIST, 3);
	check_plain(r, "runcmd.4.0", "sh");
	check_plain(r, "runcmd.4.1", "-c");
	check_str(r, "runcmd.4.2", "echo \"$HOSTNAME\"");

	check_len(r, "phone_home", YT_MAP, 3);
	check_str(r, "phone_home.url", "http://192.0.2.1:8080/phone-home/web-001");
	check_len(r, "phone_home.post", YT_LIST, 5);
	check_str(r, "phone_home.post.0", "pub_key_ed25519");
	check_str(r, "phone_home.post.1", "pub_key_rsa");
	check_str(r, "phone_home.post.2", "instance_id");
	check_str(r, "phone_home.post.3", "hostname");
	check_str(r, "phone_home.post.4", "fqdn");
	check_plain(r, "phone_home.tries", "10");

	/* user_data merged at the top, types kept */
	check_plain(r, "timezone", "Etc/UTC");
	check_plain(r, "package_update", "true");
	check_plain(r, "ntp.enabled", "true");
	check_plain(r, "ntp.servers.0", "ntp.example.com");
	check_str(r, "final_message", "up after $UPTIME s");
	yt_doc_free(doc);

	/* meta-data */
	doc = parse(c.meta_data, c.meta_data_len);
	r = yt_doc_root(doc);
	check_len(r, "", YT_MAP, 2);
	assert_string_equal(r->items[0]->str, "instance-id");
	assert_string_equal(r->items[2]->str, "local-hostname");
	check_str(r, "instance-id", c.instance_id);
	check_str(r, "local-hostname", "web-001");
	yt_doc_free(doc);

	/* network-config: a static NIC and a DHCP one */
	assert_non_null(c.network_config);
	assert_int_equal(strlen(c.network_config), c.network_config_len);
	doc = parse(c.network_config, c.network_config_len);
	r = yt_doc_root(doc);
	check_len(r, "", YT_MAP, 2);
	check_plain(r, "version", "2");
	check_len(r, "ethernets", YT_MAP, 2);
	check_len(r, "ethernets.nic0", YT_MAP, 4);
	check_len(r, "ethernets.nic0.match", YT_MAP, 1);
	check_str(r, "ethernets.nic0.match.macaddress", "52:54:00:12:34:56");
	check_len(r, "ethernets.nic0.addresses", YT_LIST, 1);
	check_str(r, "ethernets.nic0.addresses.0", "10.20.0.10/24");
	check_str(r, "ethernets.nic0.gateway4", "10.20.0.1");
	check_len(r, "ethernets.nic0.nameservers.addresses", YT_LIST, 2);
	check_str(r, "ethernets.nic0.nameservers.addresses.0", "10.20.0.1");
	check_str(r, "ethernets.nic0.nameservers.addresses.1", "2001:db8::53");
	check_len(r, "ethernets.nic1", YT_MAP, 2);
	check_str(r, "ethernets.nic1.match.macaddress", "52:54:00:12:34:57");
	check_plain(r, "ethernets.nic1.dhcp4", "true");
	assert_null(strstr(c.network_config, "set-name"));
	assert_null(strstr(c.network_config, "routes"));
	yt_doc_free(doc);

	cidata_release(&c);
	assert_null(c.user_data);
	cidata_release(&c);	/* twice is harmless */
	fx_free(&f);
}

/* The least input: no fqdn, keys, phone-home, agent, NIC or manifest. */
static void test_minimal_render(void **state)
{
	struct cidata_input in = { .hostname = "db-1", .user = "muster" };
	struct cidata c;
	struct yt_doc *doc;
	const struct yt_node *r;

	(void) state;
	render_ok(&in, &c);
	assert_null(c.network_config);
	assert_int_equal(c.network_config_len, 0);
	doc = parse(c.user_data, c.user_data_len);
	r = yt_doc_root(doc);
	check_len(r, "", YT_MAP, 8);
	assert_null(at(r, "fqdn"));
	assert_null(at(r, "prefer_fqdn_over_hostname"));
	assert_null(at(r, "ssh_keys"));
	assert_null(at(r, "ssh_genkeytypes"));	/* never an empty list */
	assert_null(at(r, "packages"));
	assert_null(at(r, "phone_home"));
	assert_null(at(r, "users.0.ssh_authorized_keys"));
	check_len(r, "write_files", YT_LIST, 1);	/* the unit only: the hook */
	check_str(r, "write_files.0.path", CIDATA_AGENT_UNIT_PATH);
	check_len(r, "runcmd", YT_LIST, 2);
	yt_doc_free(doc);
	cidata_release(&c);
}

/* No host keys: phone_home posts no key. A null cloud_init is no cloud_init. */
static void test_phone_home_without_host_keys(void **state)
{
	struct fx f;
	struct cidata c;
	struct yt_doc *doc;
	const struct yt_node *r;

	(void) state;
	fx_init(&f);
	f.in.n_host_keys = 0;
	fx_manifest_str(&f, "cloud_init: ~\n");
	render_ok(&f.in, &c);
	doc = parse(c.user_data, c.user_data_len);
	r = yt_doc_root(doc);
	check_len(r, "phone_home.post", YT_LIST, 3);
	check_str(r, "phone_home.post.0", "instance_id");
	check_str(r, "phone_home.post.2", "fqdn");
	assert_null(at(r, "ssh_keys"));
	assert_null(at(r, "ssh_genkeytypes"));
	assert_null(at(r, "packages"));
	check_len(r, "write_files", YT_LIST, 2);
	check_len(r, "runcmd", YT_LIST, 2);
	/* no keys of muster's: cloud-init's own are 0644 already */
	check_str(r, "runcmd.0.0", "systemctl");
	yt_doc_free(doc);
	cidata_release(&c);
	fx_free(&f);
}

/* RFC 4648 test vectors, and every byte value, through the agent's content. */
static void test_agent_base64(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	unsigned char all[256];
	struct cidata_input in = { .hostname = "a", .user = "u" };
	struct cidata c;
	struct yt_doc *doc;
	const struct yt_node *n;
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		in.agent_binary = v[i].in;
		in.agent_len = strlen(v[i].in);
		render_ok(&in, &c);
		doc = parse(c.user_data, c.user_data_len);
		check_str(yt_doc_root(doc), "write_files.1.content", v[i].out);
		yt_doc_free(doc);
		cidata_release(&c);
	}
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char) i;
	in.agent_binary = all;
	in.agent_len = sizeof(all);
	render_ok(&in, &c);
	doc = parse(c.user_data, c.user_data_len);
	n = at(yt_doc_root(doc), "write_files.1.content");
	assert_non_null(n);
	assert_int_equal(n->len, 344);
	assert_memory_equal(n->str, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", 44);
	assert_memory_equal(n->str + 300, "4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==", 44);
	check_str(yt_doc_root(doc), "write_files.1.encoding", "b64");
	yt_doc_free(doc);
	cidata_release(&c);
	/* encoded once for the fleet, gzip'd: cloud-init unpacks gz+b64 */
	memset(&in, 0, sizeof(in));
	in.hostname = "a";
	in.user = "u";
	in.agent_b64 = "H4sIAAAAAAACA0vLz08CAKFl/ykDAAAA";
	in.agent_gzip = true;
	render_ok(&in, &c);
	doc = parse(c.user_data, c.user_data_len);
	check_str(yt_doc_root(doc), "write_files.1.encoding", "gz+b64");
	check_str(yt_doc_root(doc), "write_files.1.content", "H4sIAAAAAAACA0vLz08CAKFl/ykDAAAA");
	yt_doc_free(doc);
	cidata_release(&c);
}

/* What yamltree's writer writes for "content: S", S a string as cidata emits it (emit_str). */
static char *string_content(const char *v)
{
	struct yt_emitter *em = yt_emitter_new(1u << 20);
	char *out;
	size_t len;

	assert_non_null(em);
	yt_emit_doc_begin(em);
	yt_emit_map_begin(em);
	yt_emit_scalar(em, "content", 7, YT_EMIT_PLAIN);
	yt_emit_scalar(em, v, strlen(v), YT_EMIT_STRING);
	yt_emit_map_end(em);
	yt_emit_doc_end(em);
	assert_int_equal(yt_emit_finish(em, "content", &out, &len, NULL), 0);
	yt_emitter_free(em);
	assert_int_equal(strlen(out), len);
	return out;
}

/*
 * The agent's base64 skips libyaml's pass over each character (yt_emit_base64
 * in yamltree.c): the seed must still hold what libyaml writes for it as a
 * string, for any base64, short or as long as the agent.
 */
static void test_agent_base64_as_libyaml(void **state)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *const fixed[] = { "A", "=", "==", "+", "/", "+/+/", "0", "Zm9v", "true",
				      "yes", "null", "Zg==" };
	struct cidata_input in = { .hostname = "a", .user = "u", .agent_gzip = true };
	char *big = malloc(96 * 1024 + 1);
	size_t i;

	(void) state;
	assert_non_null(big);
	for (i = 0; i < 96 * 1024; i++)
		big[i] = b64[(i * 7 + i / 64) % 64];
	big[96 * 1024 - 2] = big[96 * 1024 - 1] = '=';
	big[96 * 1024] = '\0';
	for (i = 0; i <= ARRAY_SIZE(fixed); i++) {
		const char *v = i < ARRAY_SIZE(fixed) ? fixed[i] : big;
		char *want = string_content(v), *line;
		const char *at, *end;
		struct cidata c;

		in.agent_b64 = v;
		render_ok(&in, &c);
		/* the agent's item, as libyaml writes it, then the next key at its indent */
		at = strstr(c.user_data, "  encoding: 'gz+b64'\n  content: ");
		assert_non_null(at);
		at = strstr(at, "content: ");
		end = strchr(at, '\n');
		assert_non_null(end);
		assert_int_equal(strncmp(end, "\nruncmd:\n", 9), 0);
		line = strndup(at, (size_t) (end - at + 1));
		assert_non_null(line);
		assert_string_equal(line, want);
		free(line);
		free(want);
		cidata_release(&c);
	}
	free(big);
}

/* Build a manifest whose cloud_init holds every hostile value quoted. */
static char *hostile_manifest(size_t *ret_len)
{
	struct buf b = BUF_INIT(4u << 20);
	size_t i;
	char *s;

	make_big();
	buf_puts(&b, "cloud_init:\n  packages:\n");
	for (i = 0; i < ARRAY_SIZE(hostile_line); i++) {
		buf_puts(&b, "    - ");
		put_dq(&b, hostile_line[i].p, hostile_line[i].len);
		buf_putc(&b, '\n');
	}
	buf_puts(&b, "  runcmd:\n");
	for (i = 0; i < ARRAY_SIZE(hostile_text); i++) {
		buf_puts(&b, "    - ");
		put_dq(&b, hostile_text[i].p, hostile_text[i].len);
		buf_puts(&b, "\n    - [sh, -c, ");
		put_dq(&b, hostile_text[i].p, hostile_text[i].len);
		buf_puts(&b, "]\n");
	}
	buf_puts(&b, "  write_files:\n");
	for (i = 0; i < ARRAY_SIZE(hostile_line) + ARRAY_SIZE(hostile_text) + 2; i++) {
		const struct str *h = i < ARRAY_SIZE(hostile_line) ? &hostile_line[i] :
			i - ARRAY_SIZE(hostile_line) < ARRAY_SIZE(hostile_text) ?
			&hostile_text[i - ARRAY_SIZE(hostile_line)] : NULL;

		buf_printf(&b, "    - path: /etc/muster-test/%zu\n      permissions: \"0600\"\n"
			   "      content: ", i);
		if (h)
			put_dq(&b, h->p, h->len);
		else
			put_dq(&b, i % 2 ? big_line : big_text, BIG_LEN);
		buf_putc(&b, '\n');
	}
	buf_puts(&b, "  user_data:\n    x_nested:\n");
	for (i = 0; i < ARRAY_SIZE(hostile_line); i++) {
		buf_printf(&b, "      k%zu: ", i);
		put_dq(&b, hostile_line[i].p, hostile_line[i].len);
		buf_putc(&b, '\n');
	}
	/* quoted keys stay strings too */
	buf_puts(&b, "      \"true\": quoted key\n      \"0755\": [\"no\", no]\n");
	/* plain values keep their types */
	buf_puts(&b, "    x_bool: true\n    x_port: 8080\n    x_null: ~\n    x_float: 1.5\n"
		 "    x_no: no\n    x_octal: 0755\n    x_empty:\n    x_list: [1, yes, off, 1e3]\n");
	assert_false(buf_failed(&b));
	*ret_len = b.len;
	s = buf_detach(&b);
	assert_non_null(s);
	return s;
}

static void check_hostile_user_data(const struct yt_node *r)
{
	char path[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(hostile_line); i++) {
		(void) snprintf(path, sizeof(path), "packages.%zu", i);
		check_scalar(r, path, hostile_line[i].p, hostile_line[i].len, false);
		(void) snprintf(path, sizeof(path), "x_nested.k%zu", i);
		check_scalar(r, path, hostile_line[i].p, hostile_line[i].len, false);
		(void) snprintf(path, sizeof(path), "write_files.%zu.content", i + 2);
		check_scalar(r, path, hostile_line[i].p, hostile_line[i].len, false);
	}
	for (i = 0; i < ARRAY_SIZE(hostile_text); i++) {
		(void) snprintf(path, sizeof(path), "runcmd.%zu", 3 + 2 * i);
		check_scalar(r, path, hostile_text[i].p, hostile_text[i].len, false);
		(void) snprintf(path, sizeof(path), "runcmd.%zu.2", 4 + 2 * i);
		check_scalar(r, path, hostile_text[i].p, hostile_text[i].len, false);
		(void) snprintf(path, sizeof(path), "write_files.%zu.content",
				2 + ARRAY_SIZE(hostile_line) + i);
		check_scalar(r, path, hostile_text[i].p, hostile_text[i].len, false);
	}
	i = 2 + ARRAY_SIZE(hostile_line) + ARRAY_SIZE(hostile_text);
	(void) snprintf(path, sizeof(path), "write_files.%zu.content", i);
	check_scalar(r, path, i % 2 ? big_line : big_text, BIG_LEN, false);
	(void) snprintf(path, sizeof(path), "write_files.%zu.content", i + 1);
	check_scalar(r, path, (i + 1) % 2 ? big_line : big_text, BIG_LEN, false);
	check_str(r, "write_files.2.permissions", "0600");

	/* quoted keys: found by their text, and not plain */
	{
		const struct yt_node *m = at(r, "x_nested"), *key = NULL;

		assert_non_null(m);
		assert_non_null(yt_map_get(m, "true", &key));
		assert_false(key->plain);
		assert_non_null(yt_map_get(m, "0755", &key));
		assert_false(key->plain);
		check_str(r, "x_nested.0755.0", "no");
		check_plain(r, "x_nested.0755.1", "no");
	}
	check_plain(r, "x_bool", "true");
	check_plain(r, "x_port", "8080");
	check_plain(r, "x_null", "~");
	check_plain(r, "x_float", "1.5");
	check_plain(r, "x_no", "no");
	check_plain(r, "x_octal", "0755");
	check_plain(r, "x_empty", "");
	check_plain(r, "x_list.0", "1");
	check_plain(r, "x_list.1", "yes");
	check_plain(r, "x_list.2", "off");
	check_plain(r, "x_list.3", "1e3");
}

struct hostile {
	struct fx f;
	const char *ak[ARRAY_SIZE(hostile_line) + 1];
	size_t n_ak;
	char *manifest;
	size_t manifest_len;
	char *url;
};

/* Hostile labels, keys, URL and manifest values in one input. */
static void hostile_init(struct hostile *h)
{
	size_t i;

	make_big();
	fx_init(&h->f);
	h->f.in.hostname = "no";
	h->f.in.fqdn = "no.on";
	h->f.in.user = "null";
	h->n_ak = 0;
	for (i = 0; i < ARRAY_SIZE(hostile_line); i++)
		if (hostile_line[i].len)
			h->ak[h->n_ak++] = hostile_line[i].p;
	h->ak[h->n_ak++] = big_line;
	h->f.in.authorized_keys = h->ak;
	h->f.in.n_authorized_keys = h->n_ak;
	h->url = strdup("http://192.0.2.1:8080/phone-home/no?a=b: c #d 'e\" ~ 0755");
	assert_non_null(h->url);
	h->f.in.phone_home_url = h->url;
	h->manifest = hostile_manifest(&h->manifest_len);
	fx_manifest(&h->f, h->manifest, h->manifest_len);
}

static void hostile_free(struct hostile *h)
{
	fx_free(&h->f);
	free(h->manifest);
	free(h->url);
}

static void test_hostile_values_stay_strings(void **state)
{
	char path[64];
	size_t i;
	struct hostile h;
	struct cidata c;
	struct yt_doc *doc;
	const struct yt_node *r;

	(void) state;
	hostile_init(&h);
	render_ok(&h.f.in, &c);
	doc = parse(c.user_data, c.user_data_len);
	r = yt_doc_root(doc);
	check_str(r, "hostname", "no");
	check_str(r, "fqdn", "no.on");
	check_str(r, "users.0.name", "null");
	check_len(r, "users.0.ssh_authorized_keys", YT_LIST, h.n_ak);
	for (i = 0; i < h.n_ak; i++) {
		(void) snprintf(path, sizeof(path), "users.0.ssh_authorized_keys.%zu", i);
		check_str(r, path, h.ak[i]);
	}
	assert_ptr_equal(h.ak[h.n_ak - 1], big_line);
	check_str(r, "phone_home.url", h.url);
	check_hostile_user_data(r);
	yt_doc_free(doc);

	doc = parse(c.meta_data, c.meta_data_len);
	check_str(yt_doc_root(doc), "local-hostname", "no");
	yt_doc_free(doc);
	cidata_release(&c);
	hostile_free(&h);
}

static void test_owned_keys_refused(void **state)
{
	char man[256], want[128];
	struct fx f;
	size_t i;
	int n;

	(void) state;
	assert_int_equal(mf_owned_user_data_keys_count, 15);
	for (i = 0; i < mf_owned_user_data_keys_count; i++) {
		fx_init(&f);
		n = snprintf(man, sizeof(man), "cloud_init:\n  user_data:\n    timezone: UTC\n"
			     "    %s: x\n", mf_owned_user_data_keys[i]);
		assert_true(n > 0 && (size_t) n < sizeof(man));
		fx_manifest(&f, man, (size_t) n);
		(void) snprintf(want, sizeof(want), "cloud_init.user_data: '%s' is set by muster itself "
				"(line 4, column 5)", mf_owned_user_data_keys[i]);
		render_fails(&f.in, want);
		assert_true(mf_user_data_key_is_owned(mf_owned_user_data_keys[i], strlen(mf_owned_user_data_keys[i])));
		fx_free(&f);
	}
	/* quoted, the key is the same key */
	fx_init(&f);
	fx_manifest_str(&f, "cloud_init:\n  user_data: {\"runcmd\": []}\n");
	render_fails(&f.in, "'runcmd' is set by muster itself");
	fx_free(&f);
	/* a merge key would put phone_home at the top level, past the check */
	fx_init(&f);
	fx_manifest_str(&f, "cloud_init:\n  user_data:\n    <<: {phone_home: {url: x}}\n");
	render_fails(&f.in, "cloud_init.user_data: a YAML merge key ('<<') is not allowed here "
		     "(line 3, column 5)");
	fx_free(&f);
	/* quoted, "<<" is just a string key */
	{
		struct cidata c;
		struct yt_doc *doc;

		fx_init(&f);
		fx_manifest_str(&f, "cloud_init:\n  user_data:\n    '<<': {phone_home: {url: x}}\n");
		render_ok(&f.in, &c);
		doc = parse(c.user_data, c.user_data_len);
		check_plain(yt_doc_root(doc), "<<.phone_home.url", "x");
		assert_false(at(yt_doc_root(doc), "<<")->plain);
		yt_doc_free(doc);
		cidata_release(&c);
		fx_free(&f);
	}

	assert_false(mf_user_data_key_is_owned("timezone", 8));
	assert_false(mf_user_data_key_is_owned("hostnam", 7));
	assert_false(mf_user_data_key_is_owned("hostname\0", 9));
	assert_false(mf_user_data_key_is_owned("", 0));
}

static void test_cloud_init_shape_refused(void **state)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
		{ "cloud_init: [a]\n", "cloud_init: must be a mapping, not a list (line 1, column 13)" },
		{ "cloud_init:\n  packges: [a]\n", "unknown key 'packges'" },
		{ "cloud_init:\n  packages: nginx\n", "cloud_init.packages: must be a list, not a scalar" },
		{ "cloud_init:\n  packages: [{a: b}]\n", "cloud_init.packages: item 0 must be a string" },
		{ "cloud_init:\n  packages: [a, ~]\n", "cloud_init.packages: item 1 must be a string" },
		{ "cloud_init:\n  runcmd: {a: b}\n", "cloud_init.runcmd: must be a list, not a mapping" },
		{ "cloud_init:\n  runcmd: [[]]\n", "cloud_init.runcmd: item 0 must be a string or a list" },
		{ "cloud_init:\n  runcmd: [[ls, [x]]]\n", "item 0 must be a list of strings (line 2, column 17)" },
		{ "cloud_init:\n  write_files: [a]\n", "cloud_init.write_files: item 0 must be a mapping" },
		{ "cloud_init:\n  write_files: [{content: x}]\n", "item 0 has no path" },
		{ "cloud_init:\n  write_files: [{path: ~}]\n", "item 0 has no path" },
		{ "cloud_init:\n  write_files: [{path: /usr/local/sbin/muster-agent}]\n",
		  "'/usr/local/sbin/muster-agent' is written by muster itself" },
		{ "cloud_init:\n  write_files: [{path: /etc/systemd/system/muster-agent.service}]\n",
		  "is written by muster itself" },
		{ "cloud_init:\n  write_files: [{path: /x, ~: y}]\n", "a mapping key is null" },
		{ "cloud_init:\n  user_data: [a]\n", "cloud_init.user_data: must be a mapping, not a list" },
		{ "cloud_init:\n  user_data: {a: {~: b}}\n", "a mapping key is null (line 2, column 19)" },
	};
	struct fx f;
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		fx_init(&f);
		fx_manifest(&f, cases[i].yaml, strlen(cases[i].yaml));
		render_fails(&f.in, cases[i].want);
		fx_free(&f);
	}
}

static void test_input_refused(void **state)
{
	static const char *const dns_bad[] = { "10.0.0.1", "ns.example.com" };
	struct cidata_hostkey hk_bad[2];
	struct cidata_nic nic;
	const char *ak_bad[1];
	struct fx f;

	(void) state;
#define REFUSE(stmt, want) do { fx_init(&f); stmt; render_fails(&f.in, want); fx_free(&f); } while (0)
	REFUSE(f.in.hostname = NULL, "hostname '' is not an RFC 1123 label");
	REFUSE(f.in.hostname = "web_1", "hostname 'web_1' is not");
	REFUSE(f.in.hostname = "-web", "is not an RFC 1123 label");
	REFUSE(f.in.hostname = "web 1", "is not an RFC 1123 label");
	REFUSE(f.in.hostname = "a: b", "is not an RFC 1123 label");
	REFUSE(f.in.fqdn = "db-001.lab.example.com", "fqdn 'db-001.lab.example.com' is not 'web-001.'");
	REFUSE(f.in.fqdn = "web-001.", "is not 'web-001.'");
	REFUSE(f.in.fqdn = "web-001.a..b", "is not 'web-001.'");
	REFUSE(f.in.fqdn = "web-001.a\nb", "is not 'web-001.'");
	REFUSE(f.in.user = "root", "user 'root' is not");
	REFUSE(f.in.user = "Muster", "user 'Muster' is not");
	REFUSE(f.in.user = "", "user '' is not");
	REFUSE(f.in.user = NULL, "user '' is not");
	ak_bad[0] = "ssh-ed25519 AAAA a\nssh-rsa BBBB injected";
	REFUSE((f.in.authorized_keys = ak_bad, f.in.n_authorized_keys = 1),
	       "authorized key 0 holds a control character (0x0a)");
	ak_bad[0] = "ssh-ed25519 \xff\xfe";
	REFUSE((f.in.authorized_keys = ak_bad, f.in.n_authorized_keys = 1),
	       "authorized key 0 is not valid UTF-8");
	ak_bad[0] = "ssh-ed25519 \xed\xa0\x80";	/* a UTF-16 surrogate */
	REFUSE((f.in.authorized_keys = ak_bad, f.in.n_authorized_keys = 1), "is not valid UTF-8");
	ak_bad[0] = "ssh-ed25519 \xc0\xae";		/* overlong '.' */
	REFUSE((f.in.authorized_keys = ak_bad, f.in.n_authorized_keys = 1), "is not valid UTF-8");
	ak_bad[0] = "";
	REFUSE((f.in.authorized_keys = ak_bad, f.in.n_authorized_keys = 1), "authorized key 0 is missing");
	REFUSE(f.in.n_authorized_keys = 2000, "bad list of authorized keys");

	hk_bad[0] = (struct cidata_hostkey) { "dsa", ed_priv, ed_pub };
	REFUSE((f.in.host_keys = hk_bad, f.in.n_host_keys = 1), "host key type 'dsa' is not");
	hk_bad[0] = (struct cidata_hostkey) { "ed25519", ed_priv, ed_pub };
	hk_bad[1] = (struct cidata_hostkey) { "ed25519", ed_priv, ed_pub };
	REFUSE((f.in.host_keys = hk_bad, f.in.n_host_keys = 2), "two host keys of type 'ed25519'");
	hk_bad[0] = (struct cidata_hostkey) { "ed25519", "", ed_pub };
	REFUSE((f.in.host_keys = hk_bad, f.in.n_host_keys = 1), "the ed25519 private host key is missing");
	hk_bad[0] = (struct cidata_hostkey) { "ed25519", ed_priv, "ssh-ed25519 A\nB" };
	REFUSE((f.in.host_keys = hk_bad, f.in.n_host_keys = 1),
	       "the ed25519 public host key holds a control character");
	hk_bad[0] = (struct cidata_hostkey) { "ed25519", "a\rb\n", ed_pub };
	REFUSE((f.in.host_keys = hk_bad, f.in.n_host_keys = 1),
	       "the ed25519 private host key holds a control character (0x0d)");

	REFUSE(f.in.phone_home_url = "http://h/$INSTANCE_ID/", "holds '$', which cloud-init would expand");
	REFUSE(f.in.phone_home_url = "", "phone_home_url is missing");
	REFUSE(f.in.phone_home_url = "http://h/\n", "phone_home_url holds a control character");
	REFUSE(f.in.agent_len = 0, "the agent binary is empty");
	REFUSE(f.in.agent_len = CIDATA_MAX_AGENT + 1, "the agent binary is empty or larger");

	nic = f.nics[0];
#define NIC(stmt, want) REFUSE((f.nics[0] = nic, stmt), want)
	NIC(f.nics[0].mac = NULL, "nic 0: MAC address '' is not");
	NIC(f.nics[0].mac = "52:54:00:12:34", "MAC address '52:54:00:12:34' is not");
	NIC(f.nics[0].mac = "52:54:00:12:34:5g", "is not xx:xx:xx:xx:xx:xx");
	NIC(f.nics[0].mac = "52-54-00-12-34-56", "is not xx:xx:xx:xx:xx:xx");
	NIC(f.nics[1].mac = "52:54:00:12:34:56", "the same MAC '52:54:00:12:34:56'");
	NIC((f.nics[0].mac = "52:54:00:ab:cd:ef", f.nics[1].mac = "52:54:00:AB:CD:EF"),
	    "nics 0 and 1 have the same MAC");
	NIC(f.nics[0].ip = "10.20.0.300", "nic 0: '10.20.0.300' is not an IP address");
	NIC(f.nics[0].ip = "10.20.0.10/24", "is not an IP address");
	NIC(f.nics[0].prefix = 33, "nic 0: prefix /33 is too long for '10.20.0.10'");
	NIC((f.nics[0].ip = "2001:db8::10", f.nics[0].prefix = 129, f.nics[0].gateway = NULL),
	    "prefix /129 is too long");
	NIC(f.nics[0].gateway = "2001:db8::1", "gateway '2001:db8::1' is not an address of the family");
	NIC(f.nics[0].gateway = "gw", "gateway 'gw' is not an address");
	NIC(f.nics[1].gateway = "10.20.0.1", "nic 1: a gateway needs a static address");
	NIC(f.nics[0].dns = dns_bad, "nic 0: name server 'ns.example.com' is not an IP address");
	NIC(f.nics[0].dns = NULL, "nic 0: bad list of name servers");
	REFUSE(f.in.nics = NULL, "bad list of NICs");
#undef NIC
#undef REFUSE
}

static void iid_of(const struct cidata_input *in, char out[40])
{
	struct cidata c;

	render_ok(in, &c);
	memcpy(out, c.instance_id, 40);
	cidata_release(&c);
}

static void test_instance_id(void **state)
{
	static const char *const other_ak[] = { "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@example" };
	static const char other_man[] = "cloud_init:\n  packages: [nginx, [curl, 7.88.1-11]]\n";
	struct cidata_hostkey other_hk[2];
	char base[40], again[40], seen[32][40];
	size_t n_seen = 0, i, j;
	struct fx f;
	struct cidata c;
	uint8_t md[HASH_SHA256_LEN];
	char hex[2 * HASH_SHA256_LEN + 1];
	struct hash_ctx *h;

	(void) state;
	fx_init(&f);
	render_ok(&f.in, &c);
	/* iid-<first 32 hex of SHA-256(user-data NUL network-config NUL hostname)> */
	h = hash_sha256_new();
	assert_non_null(h);
	assert_int_equal(hash_update(h, c.user_data, c.user_data_len), 0);
	assert_int_equal(hash_update(h, "", 1), 0);
	assert_int_equal(hash_update(h, c.network_config, c.network_config_len), 0);
	assert_int_equal(hash_update(h, "", 1), 0);
	assert_int_equal(hash_update(h, "web-001", 7), 0);
	assert_int_equal(hash_final(h, md), 0);
	hash_free(h);
	hash_hex(md, sizeof(md), hex);
	hex[32] = '\0';
	assert_int_equal(strlen(c.instance_id), 36);
	assert_memory_equal(c.instance_id, "iid-", 4);
	assert_string_equal(c.instance_id + 4, hex);
	memcpy(base, c.instance_id, 40);
	cidata_release(&c);

	iid_of(&f.in, again);
	assert_string_equal(base, again);	/* stable */
	memcpy(seen[n_seen++], base, 40);
	fx_free(&f);

#define CHANGED(stmt) do { fx_init(&f); stmt; iid_of(&f.in, seen[n_seen++]); fx_free(&f); } while (0)
	CHANGED((f.in.hostname = "web-002", f.in.fqdn = "web-002.lab.example.com"));
	CHANGED(f.in.fqdn = "web-001.lab2.example.com");
	CHANGED(f.in.fqdn = NULL);
	/* each rebuild a new instance (generation 0 is the instance-id above) */
	CHANGED(f.in.generation = 1);
	CHANGED(f.in.generation = 2);
	CHANGED(f.in.user = "admin");
	CHANGED((f.in.authorized_keys = other_ak, f.in.n_authorized_keys = 1));
	CHANGED(f.in.n_host_keys = 1);
	other_hk[0] = (struct cidata_hostkey) { "ed25519", ed_priv, ed_pub };
	other_hk[1] = (struct cidata_hostkey) { "rsa", rsa_priv, "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAR root@web-001" };
	CHANGED((f.in.host_keys = other_hk, f.in.n_host_keys = 2));
	CHANGED(f.in.phone_home_url = "http://192.0.2.1:8081/phone-home/web-001");
	CHANGED(f.in.phone_home_url = NULL);
	CHANGED(f.in.agent_len = 8);
	CHANGED(f.in.agent_binary = NULL);
	CHANGED(f.nics[0].ip = "10.20.0.11");
	CHANGED(f.nics[0].prefix = 25);
	CHANGED(f.nics[0].gateway = NULL);
	CHANGED(f.nics[0].n_dns = 1);
	CHANGED(f.nics[1].mac = "52:54:00:12:34:58");
	CHANGED(f.in.n_nics = 1);
	CHANGED(fx_manifest(&f, other_man, sizeof(other_man) - 1));
	CHANGED(fx_manifest(&f, NULL, 0));
#undef CHANGED
	for (i = 0; i < n_seen; i++)
		for (j = 0; j < i; j++)
			if (streq(seen[i], seen[j]))
				fail_msg("changes %zu and %zu give the same instance-id %s", j, i, seen[i]);

	/* the hostname alone (same user-data, same network-config) changes it too */
	{
		struct cidata_input a = { .hostname = "a", .user = "u" }, b;
		struct cidata ca, cb;

		render_ok(&a, &ca);
		b = a;
		b.hostname = "b";
		render_ok(&b, &cb);
		assert_string_not_equal(ca.instance_id, cb.instance_id);
		cidata_release(&ca);
		cidata_release(&cb);
	}
}

static void test_network_config(void **state)
{
	static const char *const dns6[] = { "2001:db8::53" };
	struct cidata_nic nics[3] = {
		{ .mac = "52:54:00:00:00:01" },
		{ .mac = "52:54:00:00:00:02" },
		{ .mac = "52:54:00:00:00:03", .ip = "2001:db8::10", .prefix = 64,
		  .gateway = "2001:db8::1", .dns = dns6, .n_dns = 1 },
	};
	struct cidata_input in = { .hostname = "n", .user = "u", .nics = nics };
	struct cidata c;
	struct yt_doc *doc;
	const struct yt_node *r;

	(void) state;
	/* no NIC, one DHCP NIC: cloud-init's fallback does it, no file */
	in.n_nics = 0;
	render_ok(&in, &c);
	assert_null(c.network_config);
	cidata_release(&c);
	in.n_nics = 1;
	render_ok(&in, &c);
	assert_null(c.network_config);
	cidata_release(&c);

	/* two DHCP NICs: both listed */
	in.n_nics = 2;
	render_ok(&in, &c);
	assert_non_null(c.network_config);
	doc = parse(c.network_config, c.network_config_len);
	r = yt_doc_root(doc);
	check_len(r, "ethernets", YT_MAP, 2);
	check_str(r, "ethernets.nic0.match.macaddress", "52:54:00:00:00:01");
	check_plain(r, "ethernets.nic0.dhcp4", "true");
	check_str(r, "ethernets.nic1.match.macaddress", "52:54:00:00:00:02");
	check_plain(r, "ethernets.nic1.dhcp4", "true");
	yt_doc_free(doc);
	cidata_release(&c);

	/* one static IPv6 NIC */
	in.nics = &nics[2];
	in.n_nics = 1;
	render_ok(&in, &c);
	assert_non_null(c.network_config);
	doc = parse(c.network_config, c.network_config_len);
	r = yt_doc_root(doc);
	check_len(r, "ethernets", YT_MAP, 1);
	check_len(r, "ethernets.nic0", YT_MAP, 4);
	check_str(r, "ethernets.nic0.addresses.0", "2001:db8::10/64");
	check_str(r, "ethernets.nic0.gateway6", "2001:db8::1");
	check_str(r, "ethernets.nic0.nameservers.addresses.0", "2001:db8::53");
	assert_null(at(r, "ethernets.nic0.dhcp4"));
	assert_null(at(r, "ethernets.nic0.gateway4"));
	yt_doc_free(doc);
	cidata_release(&c);

	/* one DHCP NIC with name servers: a file, to carry them */
	nics[0].dns = dns6;
	nics[0].n_dns = 1;
	in.nics = nics;
	render_ok(&in, &c);
	assert_non_null(c.network_config);
	doc = parse(c.network_config, c.network_config_len);
	check_plain(yt_doc_root(doc), "ethernets.nic0.dhcp4", "true");
	check_str(yt_doc_root(doc), "ethernets.nic0.nameservers.addresses.0", "2001:db8::53");
	yt_doc_free(doc);
	cidata_release(&c);
}

/* ---- the output checked by cloud-init and PyYAML ------------------------ */

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *fp;

	assert_true((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path));
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void remove_tree(const char *dir)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			(void) unlink(path);
	}
	closedir(d);
	(void) rmdir(dir);
}

/* An expectation for the PyYAML check: kind S (str), B (bool), I (int), N (None). */
static void expect(const char *dir, char kind, const char *path, const void *v, size_t len)
{
	char name[128];

	assert_true((size_t) snprintf(name, sizeof(name), "%c.%s", kind, path) < sizeof(name));
	write_file(dir, name, v, len);
}

/*
 * Load argv[1] with yaml.safe_load and check each file in argv[2] named
 * KIND.PATH against the value at PATH: S a str of exactly the file's text,
 * B a bool, I an int (by its text), N None.
 */
static const char pycheck[] =
	"import os, sys, yaml\n"
	"with open(sys.argv[1], 'rb') as f:\n"
	"    doc = yaml.safe_load(f)\n"
	"n = 0\n"
	"for name in sorted(os.listdir(sys.argv[2])):\n"
	"    kind, path = name.split('.', 1)\n"
	"    v = doc\n"
	"    for part in path.split('.'):\n"
	"        v = v[int(part)] if isinstance(v, list) else v[part]\n"
	"    with open(os.path.join(sys.argv[2], name), 'rb') as f:\n"
	"        want = f.read().decode('utf-8')\n"
	"    ok = {'S': lambda: type(v) is str and v == want,\n"
	"          'B': lambda: type(v) is bool and str(v).lower() == want,\n"
	"          'I': lambda: type(v) is int and str(v) == want,\n"
	"          'N': lambda: v is None}[kind]()\n"
	"    if not ok:\n"
	"        print('%s: got %.200r, want %s %.200r' % (path, v, kind, want))\n"
	"        sys.exit(1)\n"
	"    n += 1\n"
	"print('%d values checked' % n)\n";

static void check_with_tools(const char *dir, const char *name, const struct cidata *c,
			     const char *expdir)
{
	char path[512], nc[512], out[512];
	struct buf log = BUF_INIT(1u << 20);
	int rc;

	write_file(dir, name, c->user_data, c->user_data_len);
	assert_true((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path));
	{
		const char *const argv[] = { "cloud-init", "schema", "--config-file", path, NULL };

		rc = tu_run(argv, &log, true);
		if (rc != 0 || !strstr(buf_str(&log), "Valid cloud-config"))
			fail_msg("cloud-init schema %s: exit %d:\n%s", name, rc, buf_str(&log));
	}
	if (expdir) {
		const char *const argv[] = { "python3", "-c", pycheck, path, expdir, NULL };

		rc = tu_run(argv, &log, true);
		if (rc != 0 || !strstr(buf_str(&log), "values checked"))
			fail_msg("PyYAML check of %s: exit %d:\n%s", name, rc, buf_str(&log));
	}
	if (c->network_config) {
		assert_true((size_t) snprintf(nc, sizeof(nc), "%s/%s.nc", dir, name) < sizeof(nc));
		write_file(dir, strrchr(nc, '/') + 1, c->network_config, c->network_config_len);
		assert_true((size_t) snprintf(out, sizeof(out), "%s/%s.eni", dir, name) < sizeof(out));
		{
			const char *const argv[] = { "cloud-init", "devel", "net-convert", "-p", nc,
						     "-k", "yaml", "-D", "debian", "-O", "eni", "-d",
						     out, NULL };

			rc = tu_run(argv, &log, true);
			if (rc != 0)
				fail_msg("net-convert %s: exit %d:\n%s", name, rc, buf_str(&log));
		}
	}
	buf_release(&log);
}

static int tmpdir_setup(void **state)
{
	char *dir = strdup("/tmp/test_cidata.XXXXXX");

	if (!dir || !mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

/* Runs even when the test failed: nothing is left in /tmp. */
static int tmpdir_teardown(void **state)
{
	remove_tree(*state);
	free(*state);
	return 0;
}

/*
 * Host keys from a volume (a seed served over HTTP): no private key in
 * user-data; bootcmd installs them, first, before the manifest's own
 * bootcmd; the volume's files are each key and its public key, lines
 * ended; the instance-id follows the keys; a bootcmd that is no list and a
 * bad volume id are refused.
 */
static void test_keys_volume(void **state)
{
	struct fx f;
	struct cidata c, c2;
	const char *boot, *mine;
	char *other_priv;

	(void) state;
	fx_init(&f);
	fx_manifest_str(&f, "cloud_init:\n  user_data:\n    bootcmd: [[echo, mine]]\n");
	f.in.host_keys_volume = CIDATA_KEYS_VOLID;
	f.in.key_files = true;
	render_ok(&f.in, &c);
	assert_null(strstr(c.user_data, "PRIVATE KEY"));
	assert_null(strstr(c.user_data, "ssh_keys:"));
	assert_null(strstr(c.user_data, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"));
	assert_non_null(strstr(c.user_data, "\nssh_deletekeys: false\n"));
	assert_non_null(strstr(c.user_data, "\nssh_genkeytypes:\n- 'ed25519'\n- 'rsa'\n"));
	boot = strstr(c.user_data, "\nbootcmd:\n- - 'sh'\n  - '-c'\n");
	assert_non_null(boot);
	assert_null(strstr(boot + 1, "\nbootcmd:"));	/* one bootcmd key */
	assert_non_null(strstr(boot, "  - 'muster-keys'\n"));
	mine = strstr(c.user_data, "- - echo\n  - mine\n");
	assert_non_null(mine);
	assert_true(mine > boot);
	/* the public keys' modes are set by the install, not a runcmd chmod */
	assert_null(strstr(c.user_data, "'chmod'"));
	assert_int_equal(c.n_key_files, 4);
	assert_string_equal(c.key_files[0].name, "ssh_host_ed25519_key");
	assert_string_equal(c.key_files[0].data, ed_priv);
	assert_int_equal(c.key_files[0].len, strlen(ed_priv));
	assert_string_equal(c.key_files[1].name, "ssh_host_ed25519_key.pub");
	assert_int_equal(c.key_files[1].len, strlen(ed_pub) + 1);
	assert_memory_equal(c.key_files[1].data, ed_pub, strlen(ed_pub));
	assert_int_equal(c.key_files[1].data[strlen(ed_pub)], '\n');
	assert_string_equal(c.key_files[2].name, "ssh_host_rsa_key");
	assert_string_equal(c.key_files[3].name, "ssh_host_rsa_key.pub");

	/* another private key: the same user-data, another instance-id */
	other_priv = strdup(ed_priv);
	assert_non_null(other_priv);
	other_priv[40] = other_priv[40] == 'A' ? 'B' : 'A';
	f.hk[0].private_key = other_priv;
	render_ok(&f.in, &c2);
	assert_string_equal(c.user_data, c2.user_data);
	assert_string_not_equal(c.instance_id, c2.instance_id);
	cidata_release(&c2);
	free(other_priv);
	f.hk[0].private_key = ed_priv;
	cidata_release(&c);
	assert_int_equal(c.n_key_files, 0);

	/* without a keys volume: the keys in user-data, no bootcmd of muster's */
	f.in.host_keys_volume = NULL;
	render_ok(&f.in, &c);
	assert_non_null(strstr(c.user_data, "ssh_keys:"));
	assert_null(strstr(c.user_data, "'muster-keys'"));
	assert_int_equal(c.n_key_files, 0);
	cidata_release(&c);

	f.in.host_keys_volume = CIDATA_KEYS_VOLID;
	fx_manifest_str(&f, "cloud_init:\n  user_data:\n    bootcmd: echo mine\n");
	render_fails(&f.in, "cloud_init.user_data.bootcmd: must be a list");
	fx_manifest(&f, NULL, 0);
	f.in.host_keys_volume = "a b";
	render_fails(&f.in, "keys volume id");
	f.in.host_keys_volume = CIDATA_KEYS_VOLID;
	f.in.n_host_keys = 0;
	render_fails(&f.in, "a keys volume without host keys");
	fx_free(&f);
}

static void test_cloud_init_and_pyyaml_accept(void **state)
{
	const char *dir = *state;
	char exp[600], path[64], eni[700];
	struct cidata_input min = { .hostname = "db-1", .user = "muster" };
	struct hostile h;
	struct fx f;
	struct cidata c;
	struct buf text = BUF_INIT(1u << 20);
	size_t i;
	FILE *fp;

	/* the full input, with its network-config through the eni renderer */
	fx_init(&f);
	render_ok(&f.in, &c);
	assert_true((size_t) snprintf(exp, sizeof(exp), "%s/exp-full", dir) < sizeof(exp));
	assert_int_equal(mkdir(exp, 0700), 0);
	expect(exp, 'S', "hostname", "web-001", 7);
	expect(exp, 'B', "manage_etc_hosts", "true", 4);
	expect(exp, 'B', "users.0.lock_passwd", "true", 4);
	expect(exp, 'S', "ssh_keys.ed25519_private", ed_priv, strlen(ed_priv));
	expect(exp, 'S', "write_files.1.permissions", "0755", 4);
	expect(exp, 'S', "write_files.1.content", "f0VMRgIBAQAA", 12);
	expect(exp, 'S', "write_files.2.permissions", "0644", 4);
	expect(exp, 'B', "write_files.2.defer", "true", 4);
	expect(exp, 'I', "phone_home.tries", "10", 2);
	expect(exp, 'B', "package_update", "true", 4);
	check_with_tools(dir, "full", &c, exp);
	/* gateway4 became ifupdown's own "gateway", not a net-tools "route add" */
	assert_true((size_t) snprintf(eni, sizeof(eni), "%s/full.eni/etc/network/interfaces.d/50-cloud-init",
				      dir) < sizeof(eni));
	fp = fopen(eni, "r");
	assert_non_null(fp);
	{
		char line[512];

		while (fgets(line, sizeof(line), fp))
			buf_puts(&text, line);
	}
	fclose(fp);
	assert_non_null(strstr(buf_str(&text), "iface nic0 inet static\n    address 10.20.0.10/24\n"));
	assert_non_null(strstr(buf_str(&text), "    gateway 10.20.0.1\n"));
	assert_non_null(strstr(buf_str(&text), "iface nic1 inet dhcp\n"));
	assert_null(strstr(buf_str(&text), "route add"));
	buf_release(&text);
	cidata_release(&c);
	fx_free(&f);

	/* the host keys from a volume: cloud-init's schema takes the bootcmd */
	fx_init(&f);
	f.in.host_keys_volume = CIDATA_KEYS_VOLID;
	render_ok(&f.in, &c);
	assert_true((size_t) snprintf(exp, sizeof(exp), "%s/exp-keys", dir) < sizeof(exp));
	assert_int_equal(mkdir(exp, 0700), 0);
	expect(exp, 'B', "ssh_deletekeys", "false", 5);
	expect(exp, 'S', "bootcmd.0.0", "sh", 2);
	expect(exp, 'S', "bootcmd.0.4", "muster-keys", 11);
	check_with_tools(dir, "keys", &c, exp);
	cidata_release(&c);
	fx_free(&f);

	/* the least input */
	render_ok(&min, &c);
	check_with_tools(dir, "minimal", &c, NULL);
	cidata_release(&c);

	/* hostile values: each a str with the same text in Python */
	hostile_init(&h);
	render_ok(&h.f.in, &c);
	assert_true((size_t) snprintf(exp, sizeof(exp), "%s/exp-hostile", dir) < sizeof(exp));
	assert_int_equal(mkdir(exp, 0700), 0);
	expect(exp, 'S', "hostname", "no", 2);
	expect(exp, 'S', "fqdn", "no.on", 5);
	expect(exp, 'S', "users.0.name", "null", 4);
	expect(exp, 'S', "phone_home.url", h.url, strlen(h.url));
	for (i = 0; i < h.n_ak; i++) {
		(void) snprintf(path, sizeof(path), "users.0.ssh_authorized_keys.%zu", i);
		expect(exp, 'S', path, h.ak[i], strlen(h.ak[i]));
	}
	for (i = 0; i < ARRAY_SIZE(hostile_line); i++) {
		(void) snprintf(path, sizeof(path), "packages.%zu", i);
		expect(exp, 'S', path, hostile_line[i].p, hostile_line[i].len);
		(void) snprintf(path, sizeof(path), "x_nested.k%zu", i);
		expect(exp, 'S', path, hostile_line[i].p, hostile_line[i].len);
		(void) snprintf(path, sizeof(path), "write_files.%zu.content", i + 2);
		expect(exp, 'S', path, hostile_line[i].p, hostile_line[i].len);
	}
	for (i = 0; i < ARRAY_SIZE(hostile_text); i++) {
		(void) snprintf(path, sizeof(path), "runcmd.%zu", 3 + 2 * i);
		expect(exp, 'S', path, hostile_text[i].p, hostile_text[i].len);
		(void) snprintf(path, sizeof(path), "runcmd.%zu.2", 4 + 2 * i);
		expect(exp, 'S', path, hostile_text[i].p, hostile_text[i].len);
		(void) snprintf(path, sizeof(path), "write_files.%zu.content",
				2 + ARRAY_SIZE(hostile_line) + i);
		expect(exp, 'S', path, hostile_text[i].p, hostile_text[i].len);
	}
	i = 2 + ARRAY_SIZE(hostile_line) + ARRAY_SIZE(hostile_text);
	(void) snprintf(path, sizeof(path), "write_files.%zu.content", i);
	expect(exp, 'S', path, i % 2 ? big_line : big_text, BIG_LEN);
	(void) snprintf(path, sizeof(path), "write_files.%zu.content", i + 1);
	expect(exp, 'S', path, (i + 1) % 2 ? big_line : big_text, BIG_LEN);
	expect(exp, 'S', "write_files.2.permissions", "0600", 4);
	expect(exp, 'B', "x_bool", "true", 4);
	expect(exp, 'I', "x_port", "8080", 4);
	expect(exp, 'N', "x_null", "", 0);
	expect(exp, 'N', "x_empty", "", 0);
	expect(exp, 'B', "x_no", "false", 5);
	expect(exp, 'I', "x_octal", "493", 3);		/* YAML 1.1: 0755 is octal */
	expect(exp, 'I', "x_list.0", "1", 1);
	expect(exp, 'B', "x_list.1", "true", 4);
	expect(exp, 'B', "x_list.2", "false", 5);
	expect(exp, 'S', "x_nested.0755.0", "no", 2);
	expect(exp, 'B', "x_nested.0755.1", "false", 5);
	check_with_tools(dir, "hostile", &c, exp);
	cidata_release(&c);
	hostile_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_render),
		cmocka_unit_test(test_minimal_render),
		cmocka_unit_test(test_phone_home_without_host_keys),
		cmocka_unit_test(test_agent_base64),
		cmocka_unit_test(test_agent_base64_as_libyaml),
		cmocka_unit_test(test_hostile_values_stay_strings),
		cmocka_unit_test(test_owned_keys_refused),
		cmocka_unit_test(test_cloud_init_shape_refused),
		cmocka_unit_test(test_input_refused),
		cmocka_unit_test(test_instance_id),
		cmocka_unit_test(test_network_config),
		cmocka_unit_test(test_keys_volume),
		cmocka_unit_test_setup_teardown(test_cloud_init_and_pyyaml_accept, tmpdir_setup,
						tmpdir_teardown),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	free(big_text);
	free(big_line);
	return r;
}
