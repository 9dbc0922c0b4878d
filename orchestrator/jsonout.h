/*
 * jsonout.h: muster's data output as JSON (jansson, in its writing role; the
 * agent channel parses with jansson in a module of its own). Shapes as in
 * DESIGN.md "CLI".
 */
#ifndef MUSTER_JSONOUT_H
#define MUSTER_JSONOUT_H

#include <stdio.h>

#include "err.h"
#include "plan.h"

/* {"fleet": "...", "vms": [{"name", "group", "action", "reason"}...]} and a newline. */
int jsonout_plan(const struct plan *p, FILE *f, struct muster_err *err) WUR;

#endif
