/*
 * fuzz_mustache.c: the Mustache engine: a template (the input up to its
 * first NUL) rendered against a small context, with a partial that is the
 * rest of the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mustache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mu_value *context(void)
{
	struct mu_value *ctx = mu_map(), *list = mu_list(), *item = mu_map();

	if (!ctx || !list || !item ||
	    mu_map_set(item, "name", mu_string("a<b>&\"c'")) < 0 ||
	    mu_list_append(list, item) < 0 ||
	    mu_list_append(list, mu_string("x")) < 0 ||
	    mu_map_set(ctx, "list", list) < 0 ||
	    mu_map_set(ctx, "s", mu_string("{{s}}")) < 0 ||
	    mu_map_set(ctx, "n", mu_int(42)) < 0 ||
	    mu_map_set(ctx, "t", mu_bool(true)) < 0 ||
	    mu_map_set(ctx, "z", mu_null()) < 0) {
		mu_value_free(ctx);
		return NULL;
	}
	return ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mu_value *ctx;
	char *t = malloc(size + 1), *nul;
	struct mu_opts opts = { .name = "fuzz" };
	struct buf out = BUF_INIT(1 << 20);
	struct muster_err err = { 0 };
	size_t tlen;

	if (!t || (!ctx && !(ctx = context()))) {
		free(t);
		return 0;
	}
	memcpy(t, data, size);
	t[size] = '\0';
	nul = memchr(t, '\0', size + 1);
	tlen = (size_t) (nul - t);
	{
		/* the partial: what follows the first NUL, up to the next */
		struct mu_partial part = { "p", nul < t + size ? nul + 1 : "" };
		struct mu_partials partials = { &part, 1, NULL, NULL };

		(void) mu_check(t, tlen, "fuzz", &err);
		(void) mu_render(t, tlen, ctx, &partials, &opts, &out, &err);
	}
	buf_release(&out);
	free(t);
	return 0;
}
