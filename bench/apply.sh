#!/bin/sh
# bench/apply.sh: `muster apply` of 100 and 1000 VMs against libvirt's test
# driver, in process and through a libvirt daemon, in total and step by step
# (from the store's own events), beside the shell a sysadmin would write per
# VM, run in the same go, through libvirtd too: qemu-img create -b,
# ssh-keygen, cloud-localds, then either virsh define + start or
# virt-install. Ends with a table comparing them all. Prints figures; not a
# test. The daemon needs root; without it the shell runs virsh against the
# in-process test driver (test:///default), as a fallback.
set -eu
bin=$(cd "$(dirname "${MUSTER_BIN:-build/muster}")" && pwd)/$(basename "${MUSTER_BIN:-build/muster}")
src=$(cd "$(dirname "$0")/.." && pwd)
# (sourced before the cd below: it finds tests/lib from this script's path)
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib/libvirtd.sh disable=SC1091 # (followed with -x)
. "$src/tests/lib/libvirtd.sh"
shell_n=${SHELL_VMS:-50}
work=$(mktemp -d "${MUSTER_BENCH_DIR:-/var/tmp}/muster-bench-apply-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

# the test driver, with a pool big enough for 1000 thin clones
cat >node.xml <<XML
<node>
  <pool type='dir'>
    <name>muster</name>
    <target><path>$work/pool</path></target>
  </pool>
</node>
XML
qemu-img create -q -f qcow2 base.qcow2 1G
uri="test://$work/node.xml"

manifest() { # N PARALLEL [FLEET [URI]]
	cat <<YAML
fleet: ${3:-bench}
hypervisor: ${4:-$uri}
domain_type: qemu
pool: muster
pool_path: $work/pool
images: {base: {path: $work/base.qcow2}}
networks: {front: {type: nat, subnet: 10.20.0.0/16}}
ssh: {authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJpSwJ1dRZcUq8cX2bCjxbQ0b2F0d4qQ7rX8mCkA0nR bench"]}
batch: {size: 50, parallel: $2, max_fail_percent: 0}
groups:
  vm: {count: $1, image: base, memory: 512M, disk: 8G, networks: [front]}
YAML
}
timed() { # FILE ARGS...: muster ARGS under /usr/bin/time, which writes FILE
	_file=$1
	shift
	/usr/bin/time -f '%e %M %P' -o "$_file" "$bin" "$@" || {
		echo "bench: muster $* failed: $(cat "$_file")" >&2
		exit 1
	}
}

echo "apply bench: libvirt test driver, $(nproc) cores"
for n in 100 1000; do
	for parallel in 1 2 4; do
		manifest "$n" "$parallel" >"f$n.yaml"
		# a state directory each, none removed before the end: on ext4
		# without a journal, inodes freed in the last minutes are skipped
		# one by one when new files are made, so removing the last run's
		# 3000 key files made the next run's key step cost ~3x as much
		timed "time$n-$parallel" apply "f$n.yaml" --state "state$n-$parallel" -q
		read -r secs rss cpu <"time$n-$parallel"
		if [ "$n" = 1000 ] && { [ -z "${local_secs:-}" ] ||
			[ "$(echo "$secs < $local_secs" | bc)" = 1 ]; }; then
			local_secs=$secs local_parallel=$parallel
		fi
		printf '  %4d VMs, %d worker(s): %7.3f ms/VM, %s CPU, max RSS %d KiB\n' "$n" "$parallel" \
			"$(echo "$secs * 1000 / $n" | bc -l)" "$cpu" "$rss"
		eval "rss_${n}_$parallel=$rss"
	done
	# each transition since the VM's transition before it (the first: since
	# its first intent); the intents of clone and seed, define and start,
	# are recorded in pairs, so a step's time includes its intents' commit
	echo "  steps, ms per VM (from the store's events; one worker's view):"
	sqlite3 "state$n-2/muster.db" "
		SELECT '    ' || r.to_state || ': ' || printf('%.3f', avg(r.at - coalesce(
			(SELECT p.at FROM events p WHERE p.vm_id = r.vm_id AND p.id < r.id
			   AND p.from_state != p.to_state ORDER BY p.id DESC LIMIT 1),
			(SELECT min(p.at) FROM events p WHERE p.vm_id = r.vm_id))))
		FROM events r WHERE r.from_state != r.to_state
		GROUP BY r.to_state ORDER BY min(r.id);"
done
# shellcheck disable=SC2154 # set by eval above
printf '  memory: %.1f KiB more per VM from 100 to 1000 VMs\n' \
	"$(echo "($rss_1000_2 - $rss_100_2) / 900" | bc -l)"


# the shell a sysadmin would write, one VM after the other, each step's time
# added up apart (date +%s%N around it; what is left is the loop's own)
step() { # VAR COMMAND...: run COMMAND, add the nanoseconds it took to $VAR
	_var=$1
	shift
	_t0=$(date +%s%N)
	"$@"
	_t1=$(date +%s%N)
	eval "$_var=\$((\$$_var + _t1 - _t0))"
}
quiet() { # COMMAND...: its output to the log, shown if it fails
	"$@" >>"$work/shell.log" 2>&1 || {
		echo "bench: failed: $*" >&2
		tail -n 20 "$work/shell.log" >&2
		return 1
	}
}
seed_files() { # DIR VM
	printf '#cloud-config\nhostname: %s\nssh_keys:\n  ed25519_private: |\n%s\n  ed25519_public: %s\n' \
		"$2" "$(sed 's/^/    /' "$1/$2.key")" "$(cat "$1/$2.key.pub")" >"$1/$2.user-data"
	printf 'instance-id: %s\nlocal-hostname: %s\n' "$2" "$2" >"$1/$2.meta-data"
}
domain_xml() { # DIR VM NAME
	cat >"$1/$2.xml" <<XML
<domain type='test'>
  <name>$3</name>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$1/$2.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><source file='$1/$2.iso'/><target dev='sda' bus='sata'/><readonly/></disk>
    <interface type='network'><source network='default'/><model type='virtio'/></interface>
  </devices>
</domain>
XML
}
pstep() { # LABEL NANOSECONDS TOTAL
	printf '      %-42s %8.3f ms/VM %5.1f%%\n' "$1" \
		"$(echo "$2 / 1000000 / $shell_n" | bc -l)" "$(echo "$2 * 100 / $3" | bc -l)"
}
# VARIANT URI: virsh (define, then start: two virsh), virt-install, or
# virsh1 (one virsh doing both: for test:///default, where nothing outlives
# a virsh); sets shell_ms
shell_run() {
	dir=$work/sh-$1
	mkdir -p "$dir"
	t_img=0 t_key=0 t_files=0 t_seed=0 t_define=0 t_start=0
	t_begin=$(date +%s%N)
	i=1
	while [ "$i" -le "$shell_n" ]; do
		vm=$(printf 'vm-%03d' "$i")
		name=bench-$1-$vm
		step t_img qemu-img create -q -f qcow2 -F qcow2 -b "$work/base.qcow2" "$dir/$vm.qcow2" 8G
		step t_key ssh-keygen -q -t ed25519 -N '' -C '' -f "$dir/$vm.key"
		step t_files seed_files "$dir" "$vm"
		step t_seed cloud-localds "$dir/$vm.iso" "$dir/$vm.user-data" "$dir/$vm.meta-data"
		case $1 in
		virt-install)
			step t_define quiet virt-install --connect "$2" --name "$name" --memory 512 --vcpus 1 \
				--import --disk "path=$dir/$vm.qcow2,format=qcow2,bus=virtio" \
				--disk "path=$dir/$vm.iso,device=cdrom" --network network=default \
				--osinfo detect=on,require=off --noautoconsole --graphics none
			;;
		virsh)
			step t_files domain_xml "$dir" "$vm" "$name"
			step t_define quiet virsh -q -c "$2" define "$dir/$vm.xml"
			step t_start quiet virsh -q -c "$2" start "$name"
			;;
		virsh1)
			step t_files domain_xml "$dir" "$vm" "$name"
			step t_define quiet virsh -q -c "$2" "define $dir/$vm.xml; start $name"
			;;
		esac
		i=$((i + 1))
	done
	t_all=$(($(date +%s%N) - t_begin))
	shell_ms=$(echo "$t_all / 1000000 / $shell_n" | bc -l)
	case $1 in
	virsh) label='shell + virsh define, virsh start' ;;
	virsh1) label='shell + virsh "define; start"' ;;
	*) label="shell + $1" ;;
	esac
	printf '    %s: %7.3f ms/VM (%d VMs, one after the other); steps:\n' "$label" "$shell_ms" "$shell_n"
	pstep 'qemu-img create -b (thin clone)' "$t_img" "$t_all"
	pstep 'ssh-keygen -t ed25519 (host key)' "$t_key" "$t_all"
	if [ "$1" = virt-install ]; then
		pstep 'user-data, meta-data (printf, sed, cat)' "$t_files" "$t_all"
	else
		pstep 'user-data, meta-data, domain XML' "$t_files" "$t_all"
	fi
	pstep 'cloud-localds (seed ISO)' "$t_seed" "$t_all"
	case $1 in
	virt-install) pstep 'virt-install (define + start)' "$t_define" "$t_all" ;;
	virsh)
		pstep 'virsh define' "$t_define" "$t_all"
		pstep 'virsh start' "$t_start" "$t_all"
		;;
	virsh1) pstep 'virsh "define; start" (one virsh)' "$t_define" "$t_all" ;;
	esac
	pstep 'the rest (the loop, date, printf)' \
		"$((t_all - t_img - t_key - t_files - t_seed - t_define - t_start))" "$t_all"
}
row() { # LABEL MS_PER_VM
	printf '    %-54s %9.3f %9.1f\n' "$1" "$2" "$(echo "1000 / $2" | bc -l)"
}
ratio() { # LABEL SHELL_MS MUSTER_MS
	printf '    %-54s %8.1fx\n' "$1" "$(echo "$2 / $3" | bc -l)"
}
muster_ms=$(echo "$local_secs * 1000 / 1000" | bc -l)

# muster through a libvirt daemon (the test driver hosted: test+unix), so
# its own memory and CPU stand apart from libvirt's; then the shell through
# libvirtd too, where a sysadmin's virsh goes: state persists and each call
# is a round trip. Every run, muster's and the shell's, gets a daemon of its
# own, empty: the test driver's calls slow down with the domains and volumes
# it holds (muster's fourth run in one daemon took 2.05 ms a VM, 1.45 in an
# empty one)
daemon=
if [ "$(id -u)" = 0 ]; then
	trap 'libvirtd_stop; rm -rf "$work"' EXIT
	if libvirtd_start "$work/libvirtd"; then
		daemon=1
		libvirtd_stop
	else
		echo "  note: libvirtd did not start (see $work/libvirtd/log); no figures through it"
	fi
else
	echo "  note: not root, so no libvirtd of our own: the shell runs virsh against the"
	echo "  in-process test driver (test:///default), one virsh per VM; muster in process only"
fi
daemon_apply() { # N PARALLEL NAME: muster apply through a fresh libvirtd; sets secs rss cpu lv_cpu
	libvirtd_start "$work/libvirtd-$3" || {
		echo "bench: libvirtd did not start again (see $work/libvirtd-$3/log)" >&2
		exit 1
	}
	manifest "$1" "$2" "$3" "$LIBVIRTD_TEST_URI" >"$3.yaml"
	_before=$(awk '{ print $14 + $15 }' "/proc/$LIBVIRTD_PID/stat")
	timed "$3.time" apply "$3.yaml" --state "$3.state" -q
	_after=$(awk '{ print $14 + $15 }' "/proc/$LIBVIRTD_PID/stat")
	libvirtd_stop
	read -r secs rss cpu <"$3.time"
	lv_cpu=$(echo "($_after - $_before) / $(getconf CLK_TCK) / $secs * 100" | bc -l)
}
if [ -n "$daemon" ]; then
	echo "  through libvirtd (test+unix, a fresh daemon for each run), 1000 VMs:"
	best_secs=
	for parallel in 1 2 4 8; do
		daemon_apply 1000 "$parallel" "d$parallel"
		printf '    %d worker(s): %7.3f ms/VM; muster %s CPU, max RSS %d KiB; libvirtd %.0f%% CPU\n' \
			"$parallel" "$(echo "$secs * 1000 / 1000" | bc -l)" "$cpu" "$rss" "$lv_cpu"
		if [ -z "$best_secs" ] || [ "$(echo "$secs < $best_secs" | bc)" = 1 ]; then
			best_secs=$secs best_parallel=$parallel
		fi
		[ "$parallel" = 2 ] && rss1000=$rss
	done
	daemon_apply 100 2 d100
	rss100=$rss
	printf '    muster memory: %.1f KiB more per VM from 100 to 1000 VMs\n' \
		"$(echo "($rss1000 - $rss100) / 900" | bc -l)"
	daemon_ms=$(echo "$best_secs * 1000 / 1000" | bc -l)

	# virt-install's time per VM grows the most with what the daemon holds
	# (in the daemon of muster's 3100 VMs it took ~13 s a VM)
	echo "  the shell through libvirtd (test+unix; a fresh daemon for each):"
	for variant in virsh virt-install; do
		libvirtd_start "$work/libvirtd-$variant" || {
			echo "bench: libvirtd did not start again (see $work/libvirtd-$variant/log)" >&2
			exit 1
		}
		shell_run "$variant" "$LIBVIRTD_TEST_URI"
		libvirtd_stop
		case $variant in
		virsh) virsh_ms=$shell_ms ;;
		*) vinst_ms=$shell_ms ;;
		esac
	done

	printf '  %-56s %9s %9s\n' 'comparison, all from this run:' ms/VM VMs/s
	row "muster in process (test:///, 1000 VMs, best: $local_parallel worker(s))" "$muster_ms"
	# shellcheck disable=SC2154 # best_parallel is set with best_secs
	row "muster via libvirtd (1000 VMs, best: $best_parallel worker(s))" "$daemon_ms"
	row "shell + virsh via libvirtd ($shell_n VMs)" "$virsh_ms"
	row "shell + virt-install via libvirtd ($shell_n VMs)" "$vinst_ms"
	echo "  shell / muster, times slower:"
	echo "  # apples to apples: both through libvirtd (test+unix), paying its round trips"
	ratio 'shell + virsh / muster, both via libvirtd' "$virsh_ms" "$daemon_ms"
	ratio 'shell + virt-install / muster, both via libvirtd' "$vinst_ms" "$daemon_ms"
	echo "  # muster in process skips the daemon's round trips the shell pays for"
	ratio 'shell + virsh via libvirtd / muster in process' "$virsh_ms" "$muster_ms"
	ratio 'shell + virt-install via libvirtd / muster in process' "$vinst_ms" "$muster_ms"
else
	echo "  the shell, in process (test:///default):"
	shell_run virsh1 test:///default
	printf '  %-56s %9s %9s\n' 'comparison, all from this run:' ms/VM VMs/s
	row "muster in process (test:///, 1000 VMs, best: $local_parallel worker(s))" "$muster_ms"
	row "shell + virsh in process ($shell_n VMs)" "$shell_ms"
	echo "  shell / muster, times slower:"
	ratio 'shell + virsh / muster, both in process' "$shell_ms" "$muster_ms"
fi
