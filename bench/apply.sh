#!/bin/sh
# bench/apply.sh: `muster apply` of 100 and 1000 VMs against libvirt's test
# driver, in total and step by step (from the store's own events), beside
# the shell a sysadmin would write per VM, run in the same go: qemu-img
# create -b, ssh-keygen, cloud-localds, virsh define + start. Prints
# figures; not a test.
set -eu
bin=$(cd "$(dirname "${MUSTER_BIN:-build/muster}")" && pwd)/$(basename "${MUSTER_BIN:-build/muster}")
src=$(cd "$(dirname "$0")/.." && pwd)
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

echo "apply bench: libvirt test driver, $(nproc) cores"
for n in 100 1000; do
	for parallel in 1 2; do
		manifest "$n" "$parallel" >"f$n.yaml"
		rm -rf "state$n"
		/usr/bin/time -f '%e %M %P' -o "time$n" "$bin" apply "f$n.yaml" --state "state$n" -q
		read -r secs rss cpu <"time$n"
		printf '  %4d VMs, %d worker(s): %7.3f ms/VM, %s CPU, max RSS %d KiB\n' "$n" "$parallel" \
			"$(echo "$secs * 1000 / $n" | bc -l)" "$cpu" "$rss"
		eval "rss_${n}_$parallel=$rss"
	done
	echo "  steps, ms per VM (from the store's events; one worker's view):"
	sqlite3 "state$n/muster.db" "
		SELECT '    ' || r.to_state || ': ' || printf('%.3f', avg(r.at - i.at))
		FROM events i JOIN events r ON r.vm_id = i.vm_id
		  AND r.id = (SELECT min(id) FROM events WHERE vm_id = i.vm_id AND id > i.id)
		WHERE i.from_state = i.to_state AND r.from_state != r.to_state
		GROUP BY r.to_state ORDER BY min(r.id);"
done
# shellcheck disable=SC2154 # set by eval above
printf '  memory: %.1f KiB more per VM from 100 to 1000 VMs\n' \
	"$(echo "($rss_1000_2 - $rss_100_2) / 900" | bc -l)"

# the same through a libvirt daemon (the test driver hosted: test+unix),
# so muster's own memory and CPU stand apart from libvirt's
if [ "$(id -u)" = 0 ]; then
	. "$src/tests/lib/libvirtd.sh"
	trap 'libvirtd_stop; rm -rf "$work"' EXIT
	if libvirtd_start "$work/libvirtd"; then
		echo "  through libvirtd (test+unix), 1000 VMs:"
		for parallel in 1 2 4; do
			manifest 1000 "$parallel" "d$parallel" "$LIBVIRTD_TEST_URI" >"d$parallel.yaml"
			before=$(awk '{ print $14 + $15 }' "/proc/$LIBVIRTD_PID/stat")
			/usr/bin/time -f '%e %M %P' -o "dtime$parallel" "$bin" apply "d$parallel.yaml" \
				--state "dstate$parallel" -q
			after=$(awk '{ print $14 + $15 }' "/proc/$LIBVIRTD_PID/stat")
			read -r secs rss cpu <"dtime$parallel"
			printf '    %d worker(s): %7.3f ms/VM; muster %s CPU, max RSS %d KiB; libvirtd %.0f%% CPU\n' \
				"$parallel" "$(echo "$secs * 1000 / 1000" | bc -l)" "$cpu" "$rss" \
				"$(echo "($after - $before) / $(getconf CLK_TCK) / $secs * 100" | bc -l)"
		done
		manifest 100 2 d100 "$LIBVIRTD_TEST_URI" >d100.yaml
		/usr/bin/time -f '%e %M %P' -o dtime100 "$bin" apply d100.yaml --state dstate100 -q
		read -r secs rss100 cpu <dtime100
		read -r secs rss1000 cpu <dtime2
		printf '    muster memory: %.1f KiB more per VM from 100 to 1000 VMs\n' \
			"$(echo "($rss1000 - $rss100) / 900" | bc -l)"
		libvirtd_stop
	fi
fi

# the shell, per VM
mkdir -p sh
start=$(date +%s%N)
i=1
while [ "$i" -le "$shell_n" ]; do
	vm=$(printf 'vm-%03d' "$i")
	qemu-img create -q -f qcow2 -b "$work/base.qcow2" -F qcow2 "sh/$vm.qcow2" 8G
	ssh-keygen -q -t ed25519 -N '' -C '' -f "sh/$vm.key"
	printf '#cloud-config\nhostname: %s\nssh_keys:\n  ed25519_private: |\n%s\n  ed25519_public: %s\n' \
		"$vm" "$(sed 's/^/    /' "sh/$vm.key")" "$(cat "sh/$vm.key.pub")" >"sh/$vm.user-data"
	printf 'instance-id: %s\nlocal-hostname: %s\n' "$vm" "$vm" >"sh/$vm.meta-data"
	cloud-localds "sh/$vm.iso" "sh/$vm.user-data" "sh/$vm.meta-data"
	cat >"sh/$vm.xml" <<XML
<domain type='test'>
  <name>bench-$vm</name>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$work/sh/$vm.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><source file='$work/sh/$vm.iso'/><target dev='sda' bus='sata'/><readonly/></disk>
    <interface type='network'><source network='default'/><model type='virtio'/></interface>
  </devices>
</domain>
XML
	virsh -q -c test:///default "define sh/$vm.xml; start bench-$vm" >/dev/null
	i=$((i + 1))
done
end=$(date +%s%N)
shell_ms=$(echo "($end - $start) / 1000000 / $shell_n" | bc -l)
muster_ms=$(echo "$(cut -d' ' -f1 time1000) * 1000 / 1000" | bc -l)
printf '  shell (qemu-img, ssh-keygen, cloud-localds, virsh): %7.3f ms/VM (%d VMs)\n' "$shell_ms" "$shell_n"
printf '  muster, 1000 VMs, 2 workers:                        %7.3f ms/VM: %.0fx faster\n' \
	"$muster_ms" "$(echo "$shell_ms / $muster_ms" | bc -l)"
