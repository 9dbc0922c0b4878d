/*
 * kickstart.c: a VM's Kickstart file from a Mustache template, every value
 * escaped (or refused) for where it lands (kickstart.h has the rules).
 *
 * The escape callback reads the output so far the way pykickstart will:
 * line by line, a line whose first word is a known %section opening or
 * closing a section. Complete lines are scanned once (struct ks_render
 * keeps the section and, in a shell section, the shell lexer's state at the
 * start of the current line); the current, partial line is lexed from its
 * start, resuming where the previous value on the same line left off.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "fmt.h"
#include "hash.h"
#include "kickstart.h"
#include "lexers.h"
#include "netconf.h"
#include "utf8.h"

#define KS_OUTPUT_MAX MU_MAX_OUTPUT

/* ---- sections ------------------------------------------------------------------------- */

enum ks_sec {
	SEC_COMMANDS,		/* outside sections */
	SEC_SHELL,		/* a script run by sh or bash */
	SEC_SCRIPT,		/* a script with another interpreter */
	SEC_PACKAGES,
	SEC_OTHER,		/* %addon, %anaconda, unknown */
};

static const char *const script_sections[] = {
	"%pre", "%pre-install", "%post", "%onerror", "%traceback",
};
static const char *const other_sections[] = {
	"%packages", "%addon", "%anaconda", "%certificate",
};
static const char *const shells[] = { "/bin/sh", "/usr/bin/sh", "/bin/bash", "/usr/bin/bash" };

static bool in_table(const char *const *t, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(t[i]) == len && memcmp(t[i], s, len) == 0)
			return true;
	return false;
}

/* A word pykickstart knows as a section header or %end (within a section: what ends it). */
static bool is_section_word(const char *w, size_t len)
{
	return in_table(script_sections, ARRAY_SIZE(script_sections), w, len) ||
	       in_table(other_sections, ARRAY_SIZE(other_sections), w, len) ||
	       (len == 4 && memcmp(w, "%end", 4) == 0) ||
	       (len == 8 && memcmp(w, "%include", 8) == 0) ||
	       (len == 9 && memcmp(w, "%ksappend", 9) == 0);
}

/* A name for messages kept with the section: "%post" and the like, cut at 31 bytes. */
struct ks_secname {
	char s[32];
	char interp[64];
};

/* ---- the render ----------------------------------------------------------------------- */

/* The full name of a context value, for messages ("nics[1].ip", "vars.x (word 2)"). */
struct ks_name {
	const struct mu_value *v;
	char *path;
};

struct ks_names {
	struct ks_name *v;
	size_t n, cap;
};

struct ks_render {
	const char *vm;
	const char *name;
	const struct ks_names *names;
	size_t pos;			/* where the current line starts in the output */
	enum ks_sec sec;
	struct ks_secname sn;
	struct sh_lex sh;		/* at pos, in a shell section */
	/* the current line lexed so far, from pos to part_upto */
	bool part_valid;
	size_t part_line, part_upto;
	struct sh_lex part_sh;
	struct cl_lex part_cl;
	struct buf toks;
};

/* Open the section whose header has the tokens toks[0..n) (NUL-separated). */
static void open_section(struct ks_render *k, const char *toks, size_t n)
{
	const char *t = toks, *interp = NULL;
	size_t i, len;
	bool script = in_table(script_sections, ARRAY_SIZE(script_sections), t, strlen(t));

	fmt_cut(k->sn.s, sizeof(k->sn.s), "%s", t);
	k->sn.interp[0] = '\0';
	sh_init(&k->sh);
	if (!script) {
		k->sec = streq(t, "%packages") ? SEC_PACKAGES : SEC_OTHER;
		return;
	}
	/* --interpreter=X, --interpreter X, or a prefix argparse takes for it (--interp) */
	for (i = 1, t += strlen(t) + 1; i < n; i++, t += strlen(t) + 1) {
		const char *eq = strchr(t, '=');

		len = eq ? (size_t) (eq - t) : strlen(t);
		if (len < 3 || len > 13 || strncmp(t, "--interpreter", len) != 0)
			continue;
		if (eq)
			interp = eq + 1;
		else if (i + 1 < n)
			interp = t + strlen(t) + 1;
		else
			interp = "";
	}
	if (interp && !in_table(shells, ARRAY_SIZE(shells), interp, strlen(interp))) {
		fmt_cut(k->sn.interp, sizeof(k->sn.interp), "%s", interp);
		k->sec = SEC_SCRIPT;
		return;
	}
	k->sec = SEC_SHELL;
}

/* A complete line of the output (without its newline): follow the sections. */
static int scan_line(struct ks_render *k, const char *line, size_t n)
{
	size_t lead = py_lstrip(line, n), w, ntok;

	if (k->sec == SEC_COMMANDS) {
		if (lead == n || line[lead] == '#')
			return 0;	/* blank or a comment */
		if (!strchr("%'\"\\", line[lead]))
			return 0;	/* a command: its first token cannot start with '%' */
		if (cl_split(line, n, &k->toks, &ntok) < 0)
			return -1;
		if (ntok == 0 || k->toks.data[0] != '%' || streq(k->toks.data, "%include") ||
		    streq(k->toks.data, "%ksappend"))
			return 0;
		open_section(k, k->toks.data, ntok);
		return 0;
	}
	if (lead < n && line[lead] == '%') {
		for (w = lead; w < n && !py_space(line + w, n - w); w++)
			;
		if (is_section_word(line + lead, w - lead)) {
			if ((w - lead == 8 && memcmp(line + lead, "%include", 8) == 0) ||
			    (w - lead == 9 && memcmp(line + lead, "%ksappend", 9) == 0))
				return 0;
			if (w - lead == 4 && memcmp(line + lead, "%end", 4) == 0) {
				k->sec = SEC_COMMANDS;
				return 0;
			}
			/* an unterminated section, which pykickstart refuses; follow it anyway */
			if (cl_split(line, n, &k->toks, &ntok) < 0)
				return -1;
			if (ntok)
				open_section(k, k->toks.data, ntok);
			return 0;
		}
	}
	if (k->sec == SEC_SHELL) {
		size_t i;

		for (i = 0; i < n; i++)
			sh_feed(&k->sh, line[i]);
		sh_feed(&k->sh, '\n');
	}
	return 0;
}

/* Scan the complete lines of out[0..len) not scanned yet. */
static int advance(struct ks_render *k, const char *out, size_t len)
{
	const char *nl;

	while (k->pos < len && (nl = memchr(out + k->pos, '\n', len - k->pos))) {
		if (scan_line(k, out + k->pos, (size_t) (nl - (out + k->pos))) < 0)
			return -1;
		k->pos = (size_t) (nl - out) + 1;
		k->part_valid = false;
	}
	return 0;
}

/* Lex the current line up to len, from where the last value on it left off. */
static void lex_partial(struct ks_render *k, const char *out, size_t len)
{
	size_t i;

	if (!k->part_valid || k->part_line != k->pos) {
		k->part_valid = true;
		k->part_line = k->pos;
		k->part_upto = k->pos;
		k->part_sh = k->sh;
		k->part_cl = (struct cl_lex) { CL_WS, 0 };
	}
	for (i = k->part_upto; i < len; i++) {
		sh_feed(&k->part_sh, out[i]);
		cl_feed(&k->part_cl, out[i]);
	}
	k->part_upto = len;
}

static const char *value_name(const struct ks_render *k, const struct mu_interp *in)
{
	size_t i;

	if (k->names && in->value)
		for (i = 0; i < k->names->n; i++)
			if (k->names->v[i].v == in->value)
				return k->names->v[i].path;
	return in->name;
}

static int refuse(const struct ks_render *k, const struct mu_interp *in, struct muster_err *err,
		  const char *where, const char *fmt, ...) PRINTF_LIKE(5, 6);

static int refuse(const struct ks_render *k, const struct mu_interp *in, struct muster_err *err,
		  const char *where, const char *fmt, ...)
{
	char why[512], *x;
	va_list ap;

	va_start(ap, fmt);
	fmt_vcut(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* the reasons say "{{x}}" for the tag: give the template's own */
	x = strstr(why, "{{x}}");
	return err_set(err, MUSTER_E_INVALID, "VM '%s': %s:%u:%u: kickstart value %s cannot be "
		       "made safe for %s: %.*s%s%s%s", k->vm, in->partial ? in->partial : k->name,
		       in->line, in->column, value_name(k, in), where,
		       (int) (x ? (size_t) (x - why) : strlen(why)), why, x ? "{{" : "",
		       x ? in->name : "", x ? x + 3 : "");
}

/* A value, printable in a message: at most 40 bytes, controls and quotes as \xNN. */
static const char *shown(const char *s, size_t n, char out[200])
{
	size_t i, o = 0;

	for (i = 0; i < n && i < 40 && o + 5 < 200; i++) {
		unsigned char c = (unsigned char) s[i];

		if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\')
			o += (size_t) snprintf(out + o, 200 - o, "\\x%02x", c);
		else
			out[o++] = (char) c;
	}
	if (i < n && o + 4 < 200) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static bool plain_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("_.,:/@+=%-", c));
}

/* Append s escaped with a backslash before each character of chars. */
static void put_escaped(struct buf *out, const char *s, size_t n, const char *chars)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] != '\0' && strchr(chars, s[i]))
			(void) buf_putc(out, '\\');
		(void) buf_putc(out, s[i]);
	}
}

/* Append s for shlex in the state st (CL_WS, CL_WORD, CL_SQ, CL_DQ). */
static void put_shlex(struct buf *out, const char *s, size_t n, enum cl_state st)
{
	size_t i;
	bool plain = n > 0 && s[0] != '%';

	switch (st) {
	case CL_SQ:
		for (i = 0; i < n; i++) {
			if (s[i] == '\'')
				(void) buf_puts(out, "'\\''");
			else
				(void) buf_putc(out, s[i]);
		}
		return;
	case CL_DQ:
		put_escaped(out, s, n, "\\\"");
		return;
	default:
		break;
	}
	for (i = 0; plain && i < n; i++)
		plain = plain_char(s[i]);
	if (plain) {
		(void) buf_append(out, s, n);
		return;
	}
	(void) buf_putc(out, '"');
	put_escaped(out, s, n, "\\\"");
	(void) buf_putc(out, '"');
}

/* A value on a command line (or a % header line): st is the lexer's state before it. */
static int esc_command(const struct ks_render *k, const struct mu_interp *in,
		       const struct cl_lex *l, struct buf *out, struct muster_err *err)
{
	static const char where[] = "a kickstart command";
	char why[64];
	const char *bad = ks_bad_chars(in->text, in->text_len, true, why);

	if (bad)
		return refuse(k, in, err, where, "%s", bad);
	if (l->st == CL_COMMENT) {
		(void) buf_append(out, in->text, in->text_len);
		return 0;
	}
	if (l->tokens == 0 || (l->tokens == 1 && l->st != CL_WS))
		return refuse(k, in, err, where, "it would be in the line's first word, which names "
			      "the command or the section");
	if (l->st == CL_ESC || l->st == CL_DQESC)
		return refuse(k, in, err, where, "it would follow a backslash");
	if (l->st == CL_WS && in->text_len > 0 && in->text[0] == '-')
		return refuse(k, in, err, where, "it starts with '-' and would be read as an option, "
			      "quoted or not (give it as --option={{x}})");
	put_shlex(out, in->text, in->text_len, l->st);
	return 0;
}

static int esc_shell(const struct ks_render *k, const struct mu_interp *in,
		     const struct sh_lex *s, struct buf *out, struct muster_err *err)
{
	char why[64], where[64];
	const char *bad = ks_bad_chars(in->text, in->text_len, false, why);
	bool comment;

	fmt_cut(where, sizeof(where), "a shell script (%s)", k->sn.s);
	if (bad)
		return refuse(k, in, err, where, "%s", bad);
	bad = sh_landing(s, &comment);
	if (bad)
		return refuse(k, in, err, where, "%s", bad);
	if (comment) {
		(void) buf_append(out, in->text, in->text_len);
		return 0;
	}
	(void) buf_putc(out, '\'');
	put_shlex(out, in->text, in->text_len, CL_SQ);
	(void) buf_putc(out, '\'');
	return 0;
}

static bool pkg_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 256 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
				   (s[0] >= '0' && s[0] <= '9') || s[0] == '_'))
		return false;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || (s[i] != '\0' && strchr("_.+-", s[i]))))
			return false;
	return true;
}

/* A value in %packages: line is the line so far (n bytes). */
static int esc_packages(const struct ks_render *k, const struct mu_interp *in, const char *line,
			size_t n, struct buf *out, struct muster_err *err)
{
	static const char *const prefixes[] = { "", "-", "@", "@^", "-@", "-@^" };
	size_t lead = py_lstrip(line, n), skip = 0;
	const char *s = in->text, *bad;
	char show[200], why[64];

	bad = ks_bad_chars(in->text, in->text_len, true, why);
	if (bad)
		return refuse(k, in, err, "%packages", "%s", bad);
	if (!in_table(prefixes, ARRAY_SIZE(prefixes), line + lead, n - lead))
		return refuse(k, in, err, "%packages", "it must start its line, after at most '-', "
			      "'@' or '@^' (pykickstart reads a whole line as one package)");
	if (n - lead == 0 && in->text_len >= 1 && s[0] == '@')
		skip = in->text_len >= 2 && s[1] == '^' ? 2 : 1;
	if (!pkg_name(s + skip, in->text_len - skip))
		return refuse(k, in, err, "%packages", "'%s' is not a package name or @group",
			      shown(in->text, in->text_len, show));
	(void) buf_append(out, in->text, in->text_len);
	return 0;
}

static int ks_escape(void *userdata, const struct mu_interp *in, struct buf *out,
		     struct muster_err *err)
{
	struct ks_render *k = userdata;
	const char *tname = in->partial ? in->partial : k->name;
	const char *line;
	size_t n, lead, w;

	if (in->unescaped)
		return err_set(err, MUSTER_E_INVALID, "VM '%s': %s:%u:%u: {{{%s}}} and {{&%s}} are not "
			       "allowed in a kickstart: muster escapes every value for where it "
			       "lands (write {{%s}})", k->vm, tname, in->line, in->column, in->name,
			       in->name, in->name);
	if (!in->value || mu_value_kind(in->value) == MU_NULL) {
		const char *vn = value_name(k, in);

		return err_set(err, MUSTER_E_INVALID, "VM '%s': %s:%u:%u: kickstart value %s is not "
			       "set%s (test for it with {{#%s}}...{{/%s}})", k->vm, tname, in->line,
			       in->column, vn, strncmp(vn, "vars.", 5) == 0 ?
			       ": the manifest's kickstart.vars does not give it" : " for this VM",
			       in->name, in->name);
	}
	if (advance(k, in->rendered, in->rendered_len) < 0)
		return err_nomem(err);
	lex_partial(k, in->rendered, in->rendered_len);
	line = in->rendered + k->pos;
	n = in->rendered_len - k->pos;
	lead = py_lstrip(line, n);
	if (k->sec != SEC_COMMANDS && lead < n && line[lead] == '%') {
		for (w = lead; w < n && !py_space(line + w, n - w); w++)
			;
		if (w == n)
			return refuse(k, in, err, "a kickstart section line",
				      "it would be in a %% line's first word");
		if (is_section_word(line + lead, w - lead))
			return esc_command(k, in, &k->part_cl, out, err);
	}
	switch (k->sec) {
	case SEC_COMMANDS:
		return esc_command(k, in, &k->part_cl, out, err);
	case SEC_SHELL:
		return esc_shell(k, in, &k->part_sh, out, err);
	case SEC_PACKAGES:
		return esc_packages(k, in, line, n, out, err);
	case SEC_SCRIPT:
		return refuse(k, in, err, "a script", "%s runs it with %s, and muster escapes values "
			      "for sh and bash only", k->sn.s, k->sn.interp);
	case SEC_OTHER:
		break;
	}
	return refuse(k, in, err, "a kickstart section", "muster does not know how to escape a "
		      "value in %s", k->sn.s);
}

/* The template itself: UTF-8, no NUL, lines that end at \n only (as the scan reads them). */
static int check_template(const char *tmpl, size_t len, const char *name, const char *vm,
			  struct muster_err *err)
{
	const unsigned char *u = (const unsigned char *) tmpl;
	unsigned line = 1, col = 1;
	size_t i = 0, k;
	uint32_t cp;

	while (i < len) {
		k = utf8_decode(u + i, len - i, &cp);
		if (!k)
			return err_set(err, MUSTER_E_INVALID, "VM '%s': %s:%u:%u: the template is not "
				       "valid UTF-8", vm, name, line, col);
		if (cp == 0)
			return err_set(err, MUSTER_E_INVALID, "VM '%s': %s:%u:%u: the template holds a "
				       "NUL byte", vm, name, line, col);
		if (cp != '\n' && py_is_line_break(cp))
			return err_set(err, MUSTER_E_INVALID, "VM '%s': %s:%u:%u: the template holds "
				       "the line break U+%04X (muster reads kickstart lines as ending "
				       "at \\n only)", vm, name, line, col, (unsigned) cp);
		if (cp == '\n') {
			line++;
			col = 1;
		} else {
			col += (unsigned) k;
		}
		i += k;
	}
	return 0;
}

static int render_named(const char *tmpl, size_t len, const char *name, const struct mu_value *ctx,
			const char *vm, const struct ks_names *names, struct buf *out,
			struct muster_err *err)
{
	struct ks_render k = { .vm = vm, .name = name ? name : "template", .names = names };
	struct mu_opts o = { .escape = ks_escape, .escape_data = &k, .strict = true,
			     .name = k.name };
	int r;

	if (check_template(tmpl, len, k.name, vm, err) < 0)
		return -1;
	buf_init(&k.toks, KS_OUTPUT_MAX);
	sh_init(&k.sh);
	r = mu_render(tmpl, len, ctx, NULL, &o, out, err);
	buf_release(&k.toks);
	if (r < 0 && strncmp(err->msg, "VM '", 4) != 0)
		err_prefix(err, "VM '%s'", vm);
	return r;
}

int kickstart_render_context(const char *tmpl, size_t len, const char *name,
			     const struct mu_value *ctx, const char *vm, struct buf *out,
			     struct muster_err *err)
{
	return render_named(tmpl, len, name, ctx, vm, NULL, out, err);
}

/* ---- the context ---------------------------------------------------------------------- */

static void names_release(struct ks_names *nm)
{
	size_t i;

	for (i = 0; i < nm->n; i++)
		free(nm->v[i].path);
	free(nm->v);
	memset(nm, 0, sizeof(*nm));
}

static int name_add(struct ks_names *nm, const struct mu_value *v, const char *fmt, ...)
	PRINTF_LIKE(3, 4);

static int name_add(struct ks_names *nm, const struct mu_value *v, const char *fmt, ...)
{
	va_list ap;
	char *path;
	int r;

	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 32;
		struct ks_name *p = reallocarray(nm->v, cap, sizeof(*p));

		if (!p)
			return -1;
		nm->v = p;
		nm->cap = cap;
	}
	va_start(ap, fmt);
	r = vasprintf(&path, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	nm->v[nm->n].v = v;
	nm->v[nm->n++].path = path;
	return 0;
}

/* Put v (NULL: its constructor failed) under key in map and name it; -1: out of memory. */
static int put(struct ks_names *nm, struct mu_value *map, const char *key, struct mu_value *v,
	       const char *path)
{
	if (!v || mu_map_set(map, key, v) < 0)
		return -1;
	return path ? name_add(nm, v, "%s", path) : 0;
}

/* A string, or null for NULL. */
static struct mu_value *str_or_null(const char *s)
{
	return s ? mu_string(s) : mu_null();
}

/* The list of strings v as one, joined by commas, or null when empty. */
static struct mu_value *joined(const char *const *v, size_t n)
{
	struct buf b = BUF_INIT(256);
	struct mu_value *r;
	size_t i;

	if (!n)
		return mu_null();
	for (i = 0; i < n; i++)
		(void) buf_printf(&b, "%s%s", i ? "," : "", v[i]);
	r = buf_failed(&b) ? NULL : mu_string(buf_str(&b));
	buf_release(&b);
	return r;
}

/* The strings v as a list, each named PATH[i] for messages; NULL: out of memory. */
static struct mu_value *string_list(const char *const *v, size_t n, struct ks_names *nm,
				    const char *path)
{
	struct mu_value *list = mu_list();
	size_t i;

	for (i = 0; list && i < n; i++) {
		struct mu_value *s = mu_string(v[i]);

		if (!s || mu_list_append(list, s) < 0 || name_add(nm, s, "%s[%zu]", path, i) < 0) {
			mu_value_free(list);
			return NULL;
		}
	}
	return list;
}

static int add_routes(struct mu_value *nic, const struct netconf *c, size_t i, struct ks_names *nm)
{
	struct mu_value *list = mu_list();
	char path[64];
	size_t j;

	if (!list || mu_map_set(nic, "routes", list) < 0)
		return -1;
	for (j = 0; j < c->n_routes; j++) {
		const struct netconf_route *r = &c->routes[j];
		struct mu_value *it = mu_map();

		if (!it || mu_list_append(list, it) < 0)
			return -1;
#define ROUTE_PUT(key, v) \
	(fmt_fit(path, sizeof(path), "nics[%zu].routes[%zu].%s", i, j, key), put(nm, it, key, v, path))
		if (ROUTE_PUT("n", mu_int((long long) j + 1)) < 0 ||
		    ROUTE_PUT("to", mu_string(r->to)) < 0 ||
		    ROUTE_PUT("prefix", mu_int(r->prefix)) < 0 ||
		    ROUTE_PUT("via", mu_string(r->via)) < 0 ||
		    ROUTE_PUT("metric", r->metric ? mu_int(r->metric) : mu_null()) < 0)
			return -1;
#undef ROUTE_PUT
	}
	return 0;
}

static int add_nics(const struct kickstart_input *in, struct mu_value *ctx, struct ks_names *nm)
{
	const struct manifest *m = in->m;
	const struct mf_group *g = &m->groups[m->vms[in->vm].group];
	struct mu_value *list = mu_list();
	size_t i;

	if (!list || mu_map_set(ctx, "nics", list) < 0)
		return -1;
	for (i = 0; i < g->n_nics; i++) {
		struct mu_value *it = mu_map();
		struct netconf c;
		char path[64];

		if (!it || mu_list_append(list, it) < 0)
			return -1;
		netconf_nic(m, in->vm, i, in->ips, &c);
#define NIC_PUT(key, v) \
	(fmt_fit(path, sizeof(path), "nics[%zu].%s", i, key), put(nm, it, key, v, path))
		if (NIC_PUT("index", mu_int((long long) i)) < 0 ||
		    NIC_PUT("first", mu_bool(i == 0)) < 0 ||
		    NIC_PUT("mac", mu_string(vmspec_mac(in->macs, in->vm, i))) < 0 ||
		    NIC_PUT("dhcp", mu_bool(!c.is_static)) < 0 ||
		    NIC_PUT("static", mu_bool(c.is_static)) < 0 ||
		    NIC_PUT("ip", str_or_null(c.is_static ? c.ip : NULL)) < 0 ||
		    NIC_PUT("prefix", c.is_static ? mu_int(c.prefix) : mu_null()) < 0 ||
		    NIC_PUT("netmask", str_or_null(c.is_static ? c.netmask : NULL)) < 0 ||
		    NIC_PUT("gateway", str_or_null(c.gateway[0] ? c.gateway : NULL)) < 0 ||
		    NIC_PUT("nameserver", joined(c.dns, c.n_dns)) < 0 ||
		    (fmt_fit(path, sizeof(path), "nics[%zu].nameservers", i),
		     put(nm, it, "nameservers", string_list(c.dns, c.n_dns, nm, path), path)) < 0 ||
		    NIC_PUT("search", joined(c.search, c.n_search)) < 0 ||
		    NIC_PUT("mtu", c.mtu ? mu_int(c.mtu) : mu_null()) < 0 ||
		    add_routes(it, &c, i, nm) < 0)
			return -1;
#undef NIC_PUT
	}
	return 0;
}

static int add_host_keys(const struct kickstart_input *in, struct mu_value *ctx,
			 struct ks_names *nm)
{
	const struct manifest *m = in->m;
	struct mu_value *list = mu_list();
	size_t i;

	if (!list || mu_map_set(ctx, "host_keys", list) < 0)
		return -1;
	for (i = 0; i < m->n_host_key_types; i++) {
		const struct keypair *kp = &in->host_keys[i];
		const char *type = mf_key_type_to_string(m->host_key_types[i]);
		struct mu_value *it = mu_map();
		char file[64], pub[64], fpath[80], ppath[80], path[64];
		_cleanup_free_ char *b64 = NULL;

		if (!it || mu_list_append(list, it) < 0)
			return -1;
		b64 = hash_base64(kp->private_key, strlen(kp->private_key));
		if (!b64)
			return -1;
		fmt_fit(file, sizeof(file), "ssh_host_%s_key", type);
		fmt_fit(pub, sizeof(pub), "ssh_host_%s_key.pub", type);
		fmt_fit(fpath, sizeof(fpath), "/etc/ssh/%s", file);
		fmt_fit(ppath, sizeof(ppath), "/etc/ssh/%s", pub);
#define KEY_PUT(key, v) \
	(fmt_fit(path, sizeof(path), "host_keys[%zu].%s", i, key), put(nm, it, key, v, path))
		if (KEY_PUT("type", mu_string(type)) < 0 ||
		    KEY_PUT("ssh_type", mu_string(keys_type_ssh_name(kp->type))) < 0 ||
		    KEY_PUT("public", mu_string(kp->public_key)) < 0 ||
		    KEY_PUT("private_b64", mu_string(b64)) < 0 ||
		    KEY_PUT("file", mu_string(file)) < 0 ||
		    KEY_PUT("pub_file", mu_string(pub)) < 0 ||
		    KEY_PUT("path", mu_string(fpath)) < 0 ||
		    KEY_PUT("pub_path", mu_string(ppath)) < 0)
			return -1;
#undef KEY_PUT
	}
	return 0;
}

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * vars and words: the manifest's kickstart.vars, and every "vars.NAME" or
 * "words.NAME" the template mentions that the manifest does not set, as
 * null (vars) or an empty list (words), so that a template can test them
 * in strict mode.
 */
static int add_vars(const struct kickstart_input *in, struct mu_value *ctx, struct ks_names *nm)
{
	const struct mf_group *g = &in->m->groups[in->m->vms[in->vm].group];
	const struct mf_kickstart *ks = &g->kickstart;
	struct mu_value *vars = mu_map(), *words = mu_map();
	const char *t = in->template_text, *end = t + in->template_len, *p;
	size_t i;

	if (!vars || mu_map_set(ctx, "vars", vars) < 0) {
		mu_value_free(words);
		return -1;
	}
	if (!words || mu_map_set(ctx, "words", words) < 0)
		return -1;
	for (i = 0; i < ks->n_vars; i++) {
		const char *v = ks->vars[i].value, *w;
		struct mu_value *list = mu_list();
		char path[128];
		size_t n = 0;

		fmt_cut(path, sizeof(path), "vars.%s", ks->vars[i].name);
		if (put(nm, vars, ks->vars[i].name, mu_string(v), path) < 0 ||
		    !list || mu_map_set(words, ks->vars[i].name, list) < 0)
			return -1;
		for (;;) {
			while (*v == ' ' || *v == '\t')
				v++;
			if (!*v)
				break;
			for (w = v; *w && *w != ' ' && *w != '\t'; w++)
				;
			fmt_cut(path, sizeof(path), "vars.%s (word %zu)", ks->vars[i].name, ++n);
			{
				struct mu_value *word = mu_string_n(v, (size_t) (w - v));

				if (!word || mu_list_append(list, word) < 0 || name_add(nm, word, "%s", path) < 0)
					return -1;
			}
			v = w;
		}
	}
	for (p = t; p < end; p++) {
		struct mu_value *map;
		size_t skip, len;
		char name[65];

		if (p > t && (ident_char(p[-1]) || p[-1] == '.'))
			continue;
		if ((size_t) (end - p) > 5 && memcmp(p, "vars.", 5) == 0)
			skip = 5, map = vars;
		else if ((size_t) (end - p) > 6 && memcmp(p, "words.", 6) == 0)
			skip = 6, map = words;
		else
			continue;
		for (len = 0; p + skip + len < end && ident_char(p[skip + len]); len++)
			;
		if (len == 0 || len >= sizeof(name))
			continue;
		memcpy(name, p + skip, len);
		name[len] = '\0';
		if (mu_map_get(map, name))
			continue;
		if (mu_map_set(map, name, map == vars ? mu_null() : mu_list()) < 0)
			return -1;
	}
	return 0;
}

static struct mu_value *build_context(const struct kickstart_input *in, struct ks_names *nm)
{
	const struct manifest *m = in->m;
	const struct mf_vm *vm = &m->vms[in->vm];
	const struct mf_group *g = &m->groups[vm->group];
	_cleanup_(mu_value_freep) struct mu_value *ctx = mu_map();
	_cleanup_free_ char *fqdn = NULL, *endpoint = NULL, *agent = NULL, *report = NULL;
	struct mu_value *keys;
	size_t i;

	if (!ctx)
		return NULL;
	if (m->domain && asprintf(&fqdn, "%s.%s", vm->name, m->domain) < 0) {
		fqdn = NULL;
		return NULL;
	}
	if (m->endpoint) {
		size_t len = strlen(m->endpoint);

		if (len && m->endpoint[len - 1] == '/')
			len--;
		endpoint = strndup(m->endpoint, len);
		if (!endpoint)
			return NULL;
		if (asprintf(&agent, "%s/agent", endpoint) < 0) {
			agent = NULL;
			return NULL;
		}
		if (asprintf(&report, "%s/phone-home/%s%s%s", endpoint, vm->name,
			     in->report_key ? "/" : "", in->report_key ? in->report_key : "") < 0) {
			report = NULL;
			return NULL;
		}
	}
	keys = mu_list();
	if (put(nm, ctx, "vm", mu_string(vm->name), "vm") < 0 ||
	    put(nm, ctx, "hostname", mu_string(vm->name), "hostname") < 0 ||
	    put(nm, ctx, "fqdn", str_or_null(fqdn), "fqdn") < 0 ||
	    put(nm, ctx, "domain", str_or_null(m->domain), "domain") < 0 ||
	    put(nm, ctx, "fleet", mu_string(m->fleet), "fleet") < 0 ||
	    put(nm, ctx, "user", mu_string(m->ssh_user), "user") < 0 ||
	    put(nm, ctx, "endpoint", str_or_null(endpoint), "endpoint") < 0 ||
	    put(nm, ctx, "agent_url", str_or_null(agent), "agent_url") < 0 ||
	    put(nm, ctx, "report_url", str_or_null(report), "report_url") < 0 ||
	    put(nm, ctx, "install_tree", str_or_null(g->kickstart.install_tree), "install_tree") < 0 ||
	    !keys || mu_map_set(ctx, "authorized_keys", keys) < 0)
		return NULL;
	for (i = 0; i < in->n_authorized_keys; i++) {
		struct mu_value *k = mu_string(in->authorized_keys[i]);

		if (!k || mu_list_append(keys, k) < 0 ||
		    name_add(nm, k, "authorized_keys[%zu]", i) < 0)
			return NULL;
	}
	if (add_nics(in, ctx, nm) < 0 || add_host_keys(in, ctx, nm) < 0 || add_vars(in, ctx, nm) < 0)
		return NULL;
	return steal_pointer(&ctx);
}

int kickstart_render(const struct kickstart_input *in, struct buf *out, struct muster_err *err)
{
	const struct mf_vm *vm = &in->m->vms[in->vm];
	struct ks_names nm = { 0 };
	struct mu_value *ctx;
	int r;

	if (in->m->groups[vm->group].bootstrap != MF_BOOTSTRAP_KICKSTART)
		return err_set(err, MUSTER_E_INVALID, "VM '%s' does not bootstrap with kickstart",
			       vm->name);
	ctx = build_context(in, &nm);
	if (!ctx) {
		names_release(&nm);
		return err_nomem(err);
	}
	r = render_named(in->template_text, in->template_len, in->template_name, ctx, vm->name,
			 &nm, out, err);
	mu_value_free(ctx);
	names_release(&nm);
	return r;
}

/* ---- the template file ---------------------------------------------------------------- */

int kickstart_template_read(const struct manifest *m, size_t vm, char **ret_path,
			    char **ret_text, size_t *ret_len, struct muster_err *err)
{
	const struct mf_vm *v = &m->vms[vm];
	const struct mf_group *g = &m->groups[v->group];
	const char *tp = g->kickstart.template_path;
	_cleanup_free_ char *path = NULL, *text = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd;

	if (g->bootstrap != MF_BOOTSTRAP_KICKSTART || !tp)
		return err_set(err, MUSTER_E_INVALID, "VM '%s' has no kickstart template", v->name);
	if (tp[0] == '/') {
		path = strdup(tp);
	} else {
		_cleanup_free_ char *copy = strdup(m->file);

		if (copy && asprintf(&path, "%s/%s", dirname(copy), tp) < 0)
			path = NULL;
	}
	if (!path)
		return err_nomem(err);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT && tp[0] != '/' && strncmp(tp, "templates/", 10) == 0) {
		/* muster's own templates: beside its binary (the build links them there), or installed */
		char exe[PATH_MAX], shipped[2][PATH_MAX + 64];
		ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		bool fits[2];
		size_t i;

		if (k > 0) {
			exe[k] = '\0';
			(void) dirname(exe);
			/* a path that does not fit is not tried: cut, it names another file */
			fits[0] = fmt_cut(shipped[0], sizeof(shipped[0]), "%s/%s", exe, tp);
			fits[1] = fmt_cut(shipped[1], sizeof(shipped[1]), "%s/../share/muster/%s", exe,
					  tp);
			for (i = 0; i < 2 && fd < 0; i++) {
				if (!fits[i])
					continue;
				fd = open(shipped[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
				if (fd >= 0) {
					free(path);
					path = strdup(shipped[i]);
					if (!path) {
						close(fd);
						return err_nomem(err);
					}
				}
			}
			if (fd < 0)
				return err_set(err, MUSTER_E_IO, "VM '%s': cannot read kickstart "
					       "template '%s', nor muster's own '%s' or '%s': No such "
					       "file or directory", v->name, path, shipped[0], shipped[1]);
		}
		errno = ENOENT;
	}
	if (fd < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "VM '%s': cannot read kickstart "
				     "template '%s'", v->name, path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = errno;

		if (e == 0 || S_ISDIR(st.st_mode))
			e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		close(fd);
		return err_set_errno(err, MUSTER_E_IO, e, "VM '%s': cannot read kickstart template "
				     "'%s'", v->name, path);
	}
	if (st.st_size > MU_MAX_BYTES) {
		close(fd);
		return err_set(err, MUSTER_E_INVALID, "VM '%s': kickstart template '%s' is larger "
			       "than %d bytes", v->name, path, MU_MAX_BYTES);
	}
	text = malloc((size_t) MU_MAX_BYTES + 1);
	if (!text) {
		close(fd);
		return err_nomem(err);
	}
	while ((n = read(fd, text + len, (size_t) MU_MAX_BYTES + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return err_set_errno(err, MUSTER_E_IO, e, "VM '%s': cannot read kickstart "
					     "template '%s'", v->name, path);
		}
		len += (size_t) n;
		if (len > MU_MAX_BYTES) {
			close(fd);
			return err_set(err, MUSTER_E_INVALID, "VM '%s': kickstart template '%s' is "
				       "larger than %d bytes", v->name, path, MU_MAX_BYTES);
		}
	}
	close(fd);
	text[len] = '\0';
	if (memchr(text, '\0', len))
		return err_set(err, MUSTER_E_INVALID, "VM '%s': kickstart template '%s' holds a NUL "
			       "byte", v->name, path);
	*ret_path = steal_pointer(&path);
	*ret_text = steal_pointer(&text);
	*ret_len = len;
	return 0;
}
