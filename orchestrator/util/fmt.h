/* fmt.h: numbers as operators write them (sizes, durations). */
#ifndef MUSTER_FMT_H
#define MUSTER_FMT_H

#include <stdint.h>

#include "common.h"

/* "2G", "512M", "1536K", or "N bytes" when no binary unit divides it. */
void fmt_size(uint64_t bytes, char *out, size_t outsz);

/* "7d", "1d12h", "1m40s", "0s": whole units, largest first, zero parts left out. */
void fmt_duration(uint64_t seconds, char *out, size_t outsz);

#endif
