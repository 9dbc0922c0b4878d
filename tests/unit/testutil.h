/*
 * testutil.h: what more than one unit test needs (cmocka assertions inside:
 * call from a test only). Linked into every tests/unit/test_*.
 */
#ifndef MUSTER_TESTUTIL_H
#define MUSTER_TESTUTIL_H

#include <stdbool.h>

#include "buf.h"
#include "manifest.h"

/*
 * Run argv (searched in PATH) with stdin /dev/null and its stdout, and its
 * stderr too with with_stderr (else the test's), into out (emptied
 * first). Returns its exit status, 128 + the signal that ended it, or -1
 * with why in out when it cannot be started.
 */
int tu_run(const char *const argv[], struct buf *out, bool with_stderr);

/* The manifest text holds (as t.yaml); the test fails, showing why, when it is refused. */
struct manifest *tu_manifest(const char *text);

#endif
