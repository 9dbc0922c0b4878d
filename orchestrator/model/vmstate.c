/* vmstate.c: VM state names. Keep in step with the CHECK in db/schema.sql. */
#include "vmstate.h"

static const char *const vm_state_names[VM_STATE_MAX] = {
	[VM_STATE_PLANNED] = "planned",
	[VM_STATE_CLONED] = "cloned",
	[VM_STATE_SEEDED] = "seeded",
	[VM_STATE_DEFINED] = "defined",
	[VM_STATE_STARTED] = "started",
	[VM_STATE_BOOTED] = "booted",
	[VM_STATE_READY] = "ready",
	[VM_STATE_FAILED] = "failed",
	[VM_STATE_DESTROYING] = "destroying",
	[VM_STATE_REBUILDING] = "rebuilding",
	[VM_STATE_DESTROYED] = "destroyed",
};

const char *vm_state_to_string(enum vm_state state)
{
	if ((unsigned) state >= VM_STATE_MAX)
		return NULL;
	return vm_state_names[state];
}

int vm_state_from_string(const char *s)
{
	size_t i;

	if (!s)
		return -1;
	for (i = 0; i < ARRAY_SIZE(vm_state_names); i++)
		if (vm_state_names[i] && streq(vm_state_names[i], s))
			return (int) i;
	return -1;
}

bool vm_state_is_up(int state)
{
	return state == VM_STATE_STARTED || state == VM_STATE_BOOTED || state == VM_STATE_READY;
}
