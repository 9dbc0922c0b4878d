/*
 * fuzz_kickstart_escape.c: a value as it lands in a Kickstart, through the
 * escaping of every place a template may put it: a command's argument
 * (bare and inside a template's own quotes), a %post shell line, %packages.
 * A value the escaping cannot make safe is refused; one it accepts must
 * not change the file's shape: no new line, no new section.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "kickstart.h"
#include "mustache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char tmpl[] =
	"network --hostname={{vars.v}}\n"
	"rootpw --iscrypted \"{{vars.v}}\"\n"
	"timezone '{{vars.v}}'\n"
	"%packages\n"
	"{{vars.v}}\n"
	"%end\n"
	"%post\n"
	"echo {{vars.v}} > /etc/motd\n"
	"%end\n";

static size_t lines(const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += s[i] == '\n';
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mu_value *ctx = mu_map(), *vars = mu_map();
	struct buf out = BUF_INIT(1 << 20);
	struct muster_err err = { 0 };

	if (!ctx || !vars || mu_map_set(vars, "v", mu_string_n((const char *) data, size)) < 0 ||
	    mu_map_set(ctx, "vars", vars) < 0) {
		mu_value_free(vars);
		mu_value_free(ctx);
		return 0;
	}
	if (kickstart_render_context(tmpl, sizeof(tmpl) - 1, "fuzz.ks", ctx, "fuzz", &out, &err) == 0 &&
	    lines(out.data, out.len) != lines(tmpl, sizeof(tmpl) - 1))
		abort();	/* an accepted value made a line of its own */
	buf_release(&out);
	mu_value_free(ctx);
	return 0;
}
