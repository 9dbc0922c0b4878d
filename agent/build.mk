# agent/build.mk: the guest agent, included by the top-level Makefile.
# Uses $(BUILD), $(CC), $(WARN) and $(SANITIZE) from there.
#
#   $(BUILD)/agent/muster-agent      static, -Os, stripped: what guests run
#   $(BUILD)/agent/muster-agent.gz   the same, gzip'd: what seeds carry
#   $(BUILD)/agent/muster-agent-dyn  dynamic, honours $(SANITIZE): for tests
#                                    (a static binary cannot use ASan)
#   make agent                       both
#   make check-agent                 tests/agent/run through tests/run
#
# Including this file does not change the default goal.

AGENT_SAVED_GOAL := $(.DEFAULT_GOAL)

# (utf8.c: the controller's UTF-8 decoder, libc only like the agent)
AGENT_SRC := agent/agent.c orchestrator/util/utf8.c
AGENT_DEPS := $(AGENT_SRC) agent/proto.h orchestrator/util/utf8.h agent/build.mk
AGENT_CFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -Iagent -Iorchestrator/util
AGENT_SAN = $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all)

# The static agent is built against musl (musl-tools): ~90 KB, against
# glibc's ~850 KB, since it travels inside every VM's seed. Without musl-gcc
# it falls back to $(CC).
AGENT_CC := $(or $(shell command -v musl-gcc 2>/dev/null),$(CC))

$(BUILD)/agent/muster-agent: $(AGENT_DEPS)
	@mkdir -p $(dir $@)
	@printf '  %-6s %s (%s)\n' CCLD $@ $(notdir $(AGENT_CC))
	@$(AGENT_CC) $(AGENT_CFLAGS) -Os -static -s -o $@ $(AGENT_SRC)
	@printf '  %-6s %s: %s bytes, static, stripped\n' SIZE $@ "$$(wc -c <$@)"

$(BUILD)/agent/muster-agent-dyn: $(AGENT_DEPS)
	@mkdir -p $(dir $@)
	@printf '  %-6s %s\n' CCLD $@
	@$(CC) $(AGENT_CFLAGS) -O1 -g $(AGENT_SAN) -o $@ $(AGENT_SRC)

# What seeds carry: gzip'd (48 KB, not 88), base64 in the user-data, which
# cloud-init's write_files unpacks (encoding gz+b64).
$(BUILD)/agent/muster-agent.gz: $(BUILD)/agent/muster-agent
	@printf '  %-6s %s\n' GZIP $@
	@gzip -9nc $< >$@.tmp && mv $@.tmp $@

agent: $(BUILD)/agent/muster-agent $(BUILD)/agent/muster-agent.gz $(BUILD)/agent/muster-agent-dyn

check-agent: agent
	@AGENT_BIN=$(abspath $(BUILD)/agent/muster-agent-dyn) \
		AGENT_STATIC=$(abspath $(BUILD)/agent/muster-agent) \
		tests/run $(BUILD)/results agent tests/agent/run

.PHONY: agent check-agent

.DEFAULT_GOAL := $(AGENT_SAVED_GOAL)
