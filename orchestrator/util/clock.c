/* clock.c: milliseconds (clock.h). */
#include <errno.h>
#include <time.h>

#include "clock.h"

static int64_t ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
	return ms(CLOCK_MONOTONIC);
}

int64_t clock_real_ms(void)
{
	return ms(CLOCK_REALTIME);
}

struct timespec clock_real_after_ms(int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t) (ms / 1000);
	ts.tv_nsec += (long) (ms % 1000) * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

void clock_sleep_ms(int64_t ms)
{
	struct timespec t;

	if (ms <= 0)
		return;
	t.tv_sec = (time_t) (ms / 1000);
	t.tv_nsec = (long) (ms % 1000) * 1000000L;
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}
