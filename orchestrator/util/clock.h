/* clock.h: milliseconds, as muster measures and records time. */
#ifndef MUSTER_CLOCK_H
#define MUSTER_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic: for how long something took or may take. */
int64_t clock_mono_ms(void);

/* Unix time: for what is recorded or compared with what was. */
int64_t clock_real_ms(void);

/* Unix time ms milliseconds from now, as pthread_cond_timedwait and pthread_timedjoin_np take it. */
struct timespec clock_real_after_ms(int64_t ms);

/* Sleeps ms milliseconds, through interrupting signals; 0 or less returns at once. */
void clock_sleep_ms(int64_t ms);

#endif
