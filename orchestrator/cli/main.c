/*
 * main.c: the muster command line: global options, then a command from the
 * table below.
 */
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_TAG "main"
#include "cmd.h"
#include "domxml.h"
#include "hash.h"
#include "log.h"
#include "suggest.h"

static const struct cmd commands[] = {
	{ "validate", 1, 64, cmd_validate, "FILE...",
	  "check manifests and print a summary, or every problem found",
	  "Exit status 0 when every FILE is valid, 2 otherwise. Problems are printed as\n"
	  "FILE:LINE:COLUMN: key.path: message, one per line. An image file (path:)\n"
	  "that cannot be read here is a warning (plan fails on it).\n" },
	{ "plan", 1, 1, cmd_plan, "FILE [--json]",
	  "show what apply would do to each VM, and why",
	  "For every VM: create, keep, update (in place), rebuild, restart (cold),\n"
	  "destroy, or conflict (a domain of that name exists that muster did not\n"
	  "make), with the reason, from the manifest, the state store and what the\n"
	  "hypervisor reports. Drift is named: a definition edited outside muster\n"
	  "(memory, vCPUs, disks, interfaces, boot; both the persistent and the live\n"
	  "definition), a disk on another backing file, a seed volume missing or\n"
	  "changed, a VM shut off outside muster longer than rebuild.stopped_grace.\n"
	  "An update waiting for a cold restart is kept, shown as pending.\n"
	  "Exit 1 when a host does not answer or an image file (path:) cannot be read.\n" },
	{ "apply", 1, 1, cmd_apply, "FILE [--prune] [--restart] [--check-images] [--json]",
	  "create, update or rebuild the fleet's VMs, in batches, every step recorded",
	  "Plans as `muster plan` does, then: the storage pool, the base images as\n"
	  "volumes, the fleet's networks; then per VM, batch.size at a time on\n"
	  "batch.parallel workers: a linked clone of its image, its seed, its domain,\n"
	  "started. A run stops after the batch in which failures cross\n"
	  "batch.max_fail_percent. VMs no longer in the manifest are destroyed only\n"
	  "with --prune. A rerun resumes where a crash stopped; one run at a time.\n"
	  "An update redefines a running VM for its next cold start; --restart (or\n"
	  "rebuild.restart) restarts such VMs cold (shut down, start), rolling under\n"
	  "rebuild.max_unavailable. VMs stopped with `muster stop` are left off.\n"
	  "On a terminal a live display: the batch, its VMs under way with their\n"
	  "state and time in it, the totals; elsewhere a line per transition\n"
	  "(VM: ACTION: STATE). Failures: standard error, a line each (-q: only them).\n"
	  "An image file (path:) that cannot be read fails the VMs made from it;\n"
	  "--check-images refuses to begin at all then. At its end apply deletes the\n"
	  "fleet's events older than events.keep (default 90d; forever keeps them).\n"
	  "--json: at the end, the run's summary as one JSON object on standard\n"
	  "output (its id, command, fleet, start and end in unix ms, outcome, exit\n"
	  "status, counts by action, result and failure class, and per VM its\n"
	  "action, result, failure class and error); the progress and summary lines\n"
	  "go to standard error then.\n" },
	{ "rebuild", 1, 256, cmd_rebuild,
	  "FILE [VM|GROUP...] [--older-than DURATION] [--failed] [--drifted] [--all]\n"
	  "                [--restart] [--rotate-keys] [--dry-run] [--json]",
	  "rebuild VMs rolling, never more than rebuild.max_unavailable down at once",
	  "Chooses VMs: those named (a VM or a group), made or last rebuilt longer\n"
	  "ago than --older-than, recorded failed (--failed), or every one (--all),\n"
	  "are rebuilt; --drifted takes the VMs that are not as muster would define\n"
	  "them and mends each as the plan says (update, cold restart with\n"
	  "--restart, rebuild). These add up. With none of them, the VMs the plan\n"
	  "rebuilds. Whatever they are, a VM a run cut short left half made, or one\n"
	  "that vanished from its host, is finished too.\n"
	  "Prints the roll, then rebuilds each chosen VM from its image, keeping its\n"
	  "name, UUID, MACs, addresses, forwarded ports and SSH host keys (new ones\n"
	  "with --rotate-keys: write known_hosts again after). A VM that\n"
	  "is up holds one of rebuild.max_unavailable slots (a count, or a percent\n"
	  "of the fleet) from when it is taken down until its agent reports ready;\n"
	  "one that is down already takes none. batch.max_fail_percent stops the\n"
	  "roll, leaving the rest as they are. --dry-run prints the roll and does\n"
	  "nothing. Exit 0 when every chosen VM is ready again, 1 when one failed,\n"
	  "75 when another run holds the lock.\n"
	  "--json (not with --dry-run): the run's summary as one JSON object, as apply's.\n" },
	{ "start", 1, 256, cmd_start, "FILE [VM|GROUP...] [--json]",
	  "start VMs and wait for their agents (all of the fleet's when none is named)",
	  "Defines each named VM (or each VM of a named group, or the whole fleet) as\n"
	  "the manifest wants it, starts it, and waits for its agent to report ready,\n"
	  "in batches as apply does. A VM stopped with `muster stop` is no longer\n"
	  "held off. A VM that was never made fails (muster apply makes it).\n"
	  "--json: the run's summary as one JSON object, as apply's.\n" },
	{ "stop", 1, 256, cmd_stop, "FILE [VM|GROUP...] [--force] [--timeout DURATION] [--json]",
	  "shut VMs down (ACPI) and wait until they are off, or with --force pull the plug",
	  "Asks the named VMs (or groups, or the whole fleet) to shut down, then waits\n"
	  "until each is off (--timeout, default 2m: a VM still running then fails,\n"
	  "said so); --force stops them at once. apply and rebuild leave a VM stopped\n"
	  "this way off, and do not count it unavailable, until start or reboot.\n"
	  "--json: the run's summary as one JSON object, as apply's.\n" },
	{ "reboot", 1, 256, cmd_reboot, "FILE [VM|GROUP...] [--json]",
	  "restart VMs cold and wait for their agents",
	  "Shuts each named VM (or group, or the whole fleet) down and starts it again\n"
	  "(a new QEMU process: what runs is then its definition, pending updates\n"
	  "included, which a guest's own reboot would not give), rolling under\n"
	  "rebuild.max_unavailable, each waited for until its agent reports ready.\n"
	  "A VM that is off is started.\n"
	  "--json: the run's summary as one JSON object, as apply's.\n" },
	{ "destroy", 1, 256, cmd_destroy, "FILE VM|GROUP... | FILE --all [--purge] [--json]",
	  "remove VMs: domain, disk and seed (host keys are kept)",
	  "Stops and undefines each named VM (or each VM of a named group; --all: the\n"
	  "whole fleet) and deletes its disk and seed volumes. Its SSH host keys stay\n"
	  "in the state directory, so a VM made again under the same name keeps them;\n"
	  "--all says what else it leaves. --all --purge then removes what is the\n"
	  "fleet's alone: on each host its base image volumes and libvirt networks;\n"
	  "its SSH keys, its VMs' console logs and known_hosts in the state\n"
	  "directory; and every record of it (events and runs too). The pool and the\n"
	  "image cache stay. Refused, nothing removed, while a VM of the fleet is\n"
	  "not destroyed (one the manifest no longer has too: apply --prune) or a\n"
	  "host does not answer.\n"
	  "--json: the run's summary as one JSON object, as apply's.\n" },
	{ "render", 2, 2, cmd_render,
	  "FILE VM [--seed-dir DIR | --iso FILE | --kickstart | --ks-url | --nocloud-url]\n"
	  "                [--listen ADDR:PORT] [--rotate-keys] [--no-agent]",
	  "show exactly what a VM gets: its cloud-init files, or its Kickstart file",
	  "Prints the VM's NoCloud files, or writes them into DIR (0600 files), or as a\n"
	  "seed ISO (volume id cidata); --kickstart prints a kickstart VM's Kickstart\n"
	  "file, rendered from its group's template with every value escaped for where\n"
	  "it lands. --ks-url (kickstart VMs) and --nocloud-url (cloud-init VMs) print\n"
	  "the URL muster serve gives that VM's bootstrap at, with a fresh token (the\n"
	  "manifest's endpoint, else http://--listen, default 127.0.0.1:8080); the\n"
	  "token works until the VM is ready, at most 24 h. The VM's SSH host keys are\n"
	  "made on first use and kept in the state directory; --rotate-keys makes new\n"
	  "ones. A cloud-init VM's user-data carries the guest agent, as apply and\n"
	  "serve give it (--no-agent leaves it out). The output holds the VM's\n"
	  "private host keys: treat it as a secret.\n" },
	{ "status", 1, 1, cmd_status, "FILE [--json] [--recorded]",
	  "each VM's recorded state, what its host says now, its last event or error",
	  "From the state store, and from each VM's host: running, shut off, missing,\n"
	  "unreachable (said once on standard error), or not placed; so a VM that\n"
	  "stopped outside muster shows as shut off beside its recorded state.\n"
	  "--recorded asks no host. --json prints {\"fleet\", \"vms\": [{\"name\",\n"
	  "\"group\", \"state\", \"domain\", \"addresses\", \"last_event\", \"error\",\n"
	  "\"hypervisor\"}]} (no \"hypervisor\" with --recorded).\n" },
	{ "hosts", 1, 1, cmd_hosts, "FILE [--json]",
	  "the fleet's hypervisor hosts as they are now",
	  "For each host (the manifest's hosts:, its hypervisor, or --connect):\n"
	  "reachable or not (and libvirt's reason), libvirt's and the hypervisor's\n"
	  "versions, CPUs, memory free, the fleet's pool (free of its size), the\n"
	  "fleet's domains there (running), the VMs placed there and max_vms.\n"
	  "Exit 0 when every host answers, 1 when one does not. --json prints\n"
	  "{\"fleet\", \"hosts\": [{\"uri\", \"reachable\", \"error\", \"hypervisor\",\n"
	  "\"libvirt_version\", \"hypervisor_version\", \"cpus\", \"memory_bytes\",\n"
	  "\"memory_free_bytes\", \"pool\", \"max_vms\", \"domains\", \"running\",\n"
	  "\"placed\"}]}.\n" },
	{ "list", 1, 1, cmd_list, "FILE [--json]",
	  "one line per VM: its name and state",
	  "The same data as status, one VM per line; --json prints the same document.\n" },
	{ "events", 1, 2, cmd_events, "FILE [VM] [--json]",
	  "the timeline: every recorded step of every VM (or of one)",
	  "Each event: when (UTC), the VM, its state before and after, and what was\n"
	  "done; intents (the step about to be taken) keep the state unchanged.\n" },
	{ "serve", 1, 1, cmd_serve, "FILE [--listen ADDR:PORT]",
	  "serve the fleet over HTTP: phone-home, the agent, status as JSON, metrics",
	  "Answers on ADDR:PORT (default 127.0.0.1:8080; a non-loopback address is\n"
	  "allowed, with a warning) until SIGINT or SIGTERM, from the state store:\n"
	  "  GET  /healthz                      \"ok\"\n"
	  "  GET  /metrics                      Prometheus text: VMs by fleet and state,\n"
	  "                                     requests by status code\n"
	  "  GET  /api/v1/fleets                the fleets and their VMs' states (JSON)\n"
	  "  GET  /api/v1/fleets/FLEET/vms      what `status --recorded --json` prints\n"
	  "  GET  /agent                        the guest agent binary\n"
	  "  POST /phone-home/VM                cloud-init's phone_home: an event for VM\n"
	  "  POST /phone-home/VM/KEY            a kickstart VM's installer: installed (KEY:\n"
	  "                                     its kickstart's report_url has it)\n"
	  "One line per request is logged to standard error (-q: none).\n" },
	{ "names", 1, 1, cmd_names, "FILE [--vms | --groups]",
	  "the fleet's group and VM names, one a line, from the manifest alone",
	  "Prints the name of each group, then of each VM, in the manifest's order\n"
	  "(--groups: only the groups; --vms: only the VMs). Reads FILE and nothing\n"
	  "else: no state directory, no hypervisor. Shell completion uses it.\n" },
	{ "known-hosts", 1, 1, cmd_known_hosts, "FILE [-o OUT]",
	  "write the fleet's OpenSSH known_hosts, so the first ssh is already verified",
	  "One line per VM and host key type, naming the VM, its FQDN and its static\n"
	  "addresses, to standard output or OUT; a VM the manifest no longer has but\n"
	  "that is not destroyed (apply --prune would) keeps its lines, from what is\n"
	  "recorded of it. Keys missing so far are made on all\n"
	  "cores. Use it with ssh -o UserKnownHostsFile=OUT -o StrictHostKeyChecking=yes.\n" },
	{ "inventory", 1, 1, cmd_inventory, "FILE [--format ini|yaml|json]",
	  "print the fleet as an Ansible inventory, each VM verified by the fleet's known_hosts",
	  "The manifest's groups (a '-' in a name becomes '_', as Ansible wants),\n"
	  "and a group per recorded state (muster_ready, muster_failed, muster_new,\n"
	  "...); per VM ansible_host and ansible_port where ssh reaches it (a forward\n"
	  "of its port 22, else muster's address, else the one its agent reported)\n"
	  "and muster_state; for all, ansible_user (ssh.user), the admin key when\n"
	  "muster made it, and ansible_ssh_common_args: the fleet's known_hosts\n"
	  "(written afresh to STATE/ssh/FLEET.known_hosts) with\n"
	  "StrictHostKeyChecking=yes. ini (the default) and yaml are static files;\n"
	  "json (or --json) is what a dynamic inventory prints for --list: see\n"
	  "examples/muster-inventory.\n" },
	{ "ssh", 2, 4096, cmd_ssh, "FILE VM [-- CMD...]",
	  "log into a VM with OpenSSH, its host key verified (or run CMD there)",
	  "Runs (execs) ssh as the manifest's ssh.user, with the fleet's admin key\n"
	  "when muster made it (else your own keys), the fleet's known_hosts\n"
	  "(written afresh to STATE/ssh/FLEET.known_hosts) and\n"
	  "StrictHostKeyChecking=yes, to where the VM is reached: a forward of its\n"
	  "port 22 (user-mode networks), else the address muster gives it, else the\n"
	  "one its agent reported. Words after -- are the command to run there.\n"
	  "Exit status: ssh's (255 when it could not connect).\n" },
	{ "console", 2, 2, cmd_console, "FILE VM",
	  "attach to a VM's serial console through libvirt (^] detaches)",
	  "Opens the VM's serial console on its host through libvirt (any URI, the\n"
	  "remote ones too; refused while another client holds it), and carries\n"
	  "the terminal's keys to it and its output back. What the guest sends is\n"
	  "filtered: text, cursor movement, colours pass; sequences that would\n"
	  "make the terminal set its title or clipboard or answer on your behalf\n"
	  "do not. ^] (Ctrl-]) detaches; the VM runs on.\n" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: muster [--state DIR] [--connect URI] [--json] [--quiet] [-v] COMMAND [ARGS]\n"
		"\nmuster brings up fleets of libvirt VMs from a YAML manifest.\n\ncommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "  %-10s %s\n", "help", "this text; help COMMAND: what a command does and takes");
	fprintf(f, "\nglobal options:\n"
		"  --state DIR     state directory (default /var/lib/muster for root,\n"
		"                  else $XDG_STATE_HOME/muster or ~/.local/state/muster)\n"
		"  --connect URI   libvirt URI, overrides the manifest's hypervisor (with\n"
		"                  neither: $LIBVIRT_DEFAULT_URI, else qemu:///system)\n"
		"  --json          machine-readable output where the output is data\n"
		"  --quiet         errors only\n"
		"  -v, --verbose   more detail (twice: debug)\n"
		"  --version       print muster's version\n"
		"\n`muster help COMMAND` (or `muster COMMAND --help`) describes a command. Exit status:\n0 success, 1 failure, "
		"2 usage or invalid manifest, 75 another run holds the lock.\n");
}

static const struct cmd *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* "unknown command 'aply' (did you mean 'apply'?)" */
static void unknown_command(const char *who, const char *name)
{
	const char *names[ARRAY_SIZE(commands) + 1];
	const char *near;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		names[i] = commands[i].name;
	names[i] = "help";
	near = suggest_near(name, names, ARRAY_SIZE(names));
	if (near)
		cmd_error("%sunknown command '%s' (did you mean '%s'?)\n", who, name, near);
	else
		cmd_error("%sunknown command '%s' (muster help lists them)\n", who, name);
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	const struct cmd *cmd = NULL;
	int opt;

	/* whatever the caller's umask, what muster creates is private */
	umask(077);
	/*
	 * A connection that breaks (a hypervisor lost, a libvirt daemon killed,
	 * a client gone) is an error of the call that wrote to it, not the end
	 * of the run: libvirt asks every client to ignore SIGPIPE.
	 */
	(void) signal(SIGPIPE, SIG_IGN);
	/* before any thread: libxml2 sets itself up once, here (libvirt uses it too) */
	domxml_init();
	hash_init();
	/* unattended (cron, a timer): what is said goes to syslog too */
	if (!isatty(STDERR_FILENO))
		log_syslog(true);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:hqv", cmd_global_options, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		if (opt == 'V') {
			printf("muster %s\n", MUSTER_VERSION);
			return EXIT_OK;
		}
		if (opt == '?' || opt == ':' || cmd_global_option(&cli, opt, optarg) != 0) {
			if (opt == '?' || opt == ':')
				cmd_error("muster: %s option '%s'\n",
					  opt == '?' ? "unknown" : "missing value for", argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* muster help [COMMAND] */
	if (streq(argv[optind], "help")) {
		if (optind + 1 >= argc) {
			usage(stdout);
			return EXIT_OK;
		}
		if (optind + 2 < argc) {
			cmd_error("muster help: one command at a time\n");
			return EXIT_USAGE;
		}
		cmd = find_command(argv[optind + 1]);
		if (!cmd) {
			unknown_command("muster help: ", argv[optind + 1]);
			return EXIT_USAGE;
		}
		cmd_usage(cmd, stdout);
		printf("\n%s: %s\n\n%s", cmd->name, cmd->summary, cmd->help);
		return EXIT_OK;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		unknown_command("muster: ", argv[optind]);
		return EXIT_USAGE;
	}
	return cmd->run(cmd, &cli, argc - optind, argv + optind);
}
