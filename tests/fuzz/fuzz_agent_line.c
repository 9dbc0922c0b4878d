/* fuzz_agent_line.c: one line from a guest's agent, as the controller reads it. */
#include <stdint.h>
#include <string.h>

#include "agentline.h"
#include "show.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct agentline msg;	/* ~5 KiB */
	char shown[256];
	size_t i;

	if (agentline_read((const char *) data, size, &msg) < 0)
		return 0;
	/* what apply records and shows of it */
	(void) show(shown, sizeof(shown), msg.type);
	(void) show(shown, sizeof(shown), msg.phase);
	(void) show(shown, sizeof(shown), msg.detail);
	for (i = 0; i < msg.n_addrs; i++)
		(void) show(shown, sizeof(shown), msg.addrs[i]);
	for (i = 0; i < msg.n_hostkeys; i++)
		(void) strlen(msg.hostkeys[i]);
	return 0;
}
