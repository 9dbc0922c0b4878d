/*
 * kickstart.h: a VM's Kickstart file, rendered from a Mustache template
 * (templates/kickstart/, mustache.h) with every value checked for the
 * language it lands in (DESIGN.md "Bootstrap"): a value can never start a
 * new line, command or % section, and a value that reaches a shell is one
 * quoted word. A value that cannot be made safe is an error naming the VM,
 * the value and the template position.
 *
 * Where a value lands is read from the output so far, as pykickstart reads
 * the file (lines as Python's str.splitlines() cuts them):
 *  - the command part (outside sections, and % header lines): pykickstart
 *    splits a line with shlex (POSIX mode, '#' comments), then argparse
 *    reads it. A value must stay one token, or part of the token it is
 *    in: it is written plain when it is only [A-Za-z0-9_.,:/@+=%-] (and
 *    does not start with '%'), else in "..." with \ and " escaped (inside a
 *    template's own "..." or '...' it is escaped for that quote). Refused:
 *    control characters (C0, DEL, C1), U+2028 and U+2029, invalid UTF-8; a
 *    value that starts a token with '-' (argparse would read it as an
 *    option, quoted or not: use --opt={{x}}); a value in a line's first
 *    word (it would choose the command or open a section); a value right
 *    after a backslash. In a comment a value is copied as it is.
 *  - %pre, %pre-install, %post (any options), %onerror, %traceback, with
 *    no --interpreter or an sh or bash one: a value outside any quote
 *    becomes one single-quoted shell word ('...' with ' as '\''), so
 *    templates write {{x}} bare. Refused: NUL and line breaks (\n \r \v \f
 *    \x1c-\x1e U+0085 U+2028 U+2029: a value never starts a kickstart
 *    line), invalid UTF-8, and a value inside '...', "...", $'...',
 *    `...`, ${...}, $((...)), a here-document or its delimiter, or right
 *    after a backslash or '$' (where one quoted word is not what the shell
 *    would read). A value in a shell comment is copied as it is.
 *  - %packages: the value must be a package name or a group
 *    ([A-Za-z0-9_][A-Za-z0-9_.+-]*, after an optional '@' or '@^') at the
 *    start of its line (after at most '-', '@' or '@^' of the template):
 *    pykickstart takes a whole line as one package.
 *  - any other section (%addon, %anaconda, a script with another
 *    interpreter...): no value is allowed.
 * {{{x}}} and {{&x}} are refused everywhere: no value goes out unchecked.
 * Rendering is strict: a name the context lacks is an error.
 */
#ifndef MUSTER_KICKSTART_H
#define MUSTER_KICKSTART_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "keys.h"
#include "manifest.h"
#include "mustache.h"
#include "vmspec.h"

/* What kickstart_render needs for one VM. */
struct kickstart_input {
	const struct manifest *m;
	size_t vm;				/* index into m->vms; its group bootstraps with kickstart */
	const struct vmspec_macs *macs;
	const struct keypair *host_keys;	/* one per m->host_key_types, in that order */
	const char *const *authorized_keys;	/* the manifest's, or the fleet's admin key */
	size_t n_authorized_keys;
	const char *template_name;		/* in messages, e.g. the manifest's template path */
	const char *template_text;		/* the template (kickstart_template_read) */
	size_t template_len;
	const char *report_key;			/* token_report_key; NULL: report_url without */
	const uint32_t *ips;			/* per NIC: muster's address (vmrec_ips), 0: DHCP;
						   NULL: the manifest's static ones only */
};

/*
 * Render the VM's kickstart into out (appended; out's cap applies). The
 * context the template sees (templates/README.md has the whole list):
 *   vm, hostname        the VM's name
 *   fqdn, domain        "<vm>.<domain>" and the domain, or null (no domain)
 *   fleet, user         the fleet and the admin user (m->ssh_user)
 *   authorized_keys     list of the admin user's keys (strings)
 *   nics                list of {index, first, mac, dhcp, static, ip, prefix,
 *                       netmask, gateway, nameserver} (null where none), as
 *                       cloud-init's network-config has them
 *   host_keys           list of {type, ssh_type, public, private_b64 (the
 *                       private key text in base64, on one line), file,
 *                       pub_file, path, pub_path} (file names as sshd has them)
 *   endpoint, agent_url, report_url
 *                       the endpoint, endpoint + "/agent", endpoint +
 *                       "/phone-home/<vm>/<report_key>"; null without an
 *                       endpoint
 *   install_tree        the group's kickstart.install_tree
 *   vars.NAME           the group's kickstart.vars; a NAME the template
 *                       names that the manifest does not set is null (false
 *                       in a section, an error where it is interpolated)
 *   words.NAME          vars.NAME split at blanks (a list; empty when unset)
 * Returns 0, or -1 with err set: MUSTER_E_INVALID for the template, a name
 * it uses that the context lacks and a value that cannot be made safe
 * ("VM 'db-1': el9.ks:12:10: kickstart value vars.timezone cannot be made
 * safe for a kickstart command: it holds a newline"), MUSTER_E_NOMEM. On
 * failure out is as it was. Thread-safe: no shared state.
 */
int kickstart_render(const struct kickstart_input *in, struct buf *out,
		     struct muster_err *err) WUR;

/*
 * The rendering engine alone, for any context: render len bytes of tmpl
 * (named name in messages) against ctx with the escaping above, strictly,
 * appending to out; vm names the VM in messages. Returns as kickstart_render.
 */
int kickstart_render_context(const char *tmpl, size_t len, const char *name,
			     const struct mu_value *ctx, const char *vm, struct buf *out,
			     struct muster_err *err) WUR;

/*
 * Read the kickstart template of VM vm (its group's kickstart.template,
 * resolved against the manifest file's directory unless absolute): at most
 * MU_MAX_BYTES. On success *ret_path is the resolved path and *ret_text the
 * text, NUL-terminated, *ret_len its length (caller frees both). On failure
 * -1 with err set, naming the VM and the path (MUSTER_E_IO: missing or
 * unreadable; MUSTER_E_INVALID: the group does not bootstrap with
 * kickstart, or the file is too large or holds a NUL), the ret_ parameters
 * untouched.
 */
int kickstart_template_read(const struct manifest *m, size_t vm, char **ret_path,
			    char **ret_text, size_t *ret_len, struct muster_err *err) WUR;

#endif
