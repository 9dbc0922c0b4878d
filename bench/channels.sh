#!/bin/sh
# bench/channels.sh: the agents of real guests heard through libvirt
# (streams) beside connecting to QEMU's sockets directly, in one run.
# `make bench-channels`; not part of `make bench` (it boots guests: about a
# minute of both cores each).
#
# A libvirt daemon with the qemu driver (TCG) in a mount namespace of its
# own, MUSTER_BENCH_GUESTS Debian guests (default 12, 384 MiB each) made
# with `muster apply` (which hears them through streams), then
# bench/channels in both ways, ROUNDS rounds each (MUSTER_BENCH_ROUNDS,
# default 20): streams from here, sockets from inside the daemon's mount
# namespace, the only place they are. Needs root. Work: /var/tmp.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
bin=${MUSTER_BIN:-$src/build/muster}
probe=${MUSTER_BENCH_CHANNELS:-$src/build/bench/channels}
n=${MUSTER_BENCH_GUESTS:-12}
rounds=${MUSTER_BENCH_ROUNDS:-20}
t0=$(date +%s)
say() { printf '== [%ss] %s\n' "$(($(date +%s) - t0))" "$*"; }

[ "$(id -u)" = 0 ] || { echo "bench/channels.sh: run it as root: it starts libvirtd" >&2; exit 1; }
img=$("$src/tests/guest/image")
work=$(mktemp -d /var/tmp/muster-bench-channels.XXXXXX)
chmod 0711 "$work"	# QEMU runs as libvirt-qemu: it must reach the pool and the kernel
mkdir "$work/libvirtd" "$work/boot"
. "$src/tests/lib/libvirtd-qemu.sh"
stop() {
	libvirtd_qemu_stop >/dev/null 2>&1 || :
	rm -rf "$work"
}
trap stop EXIT
libvirtd_qemu_start "$work/libvirtd"
cp "$img/vmlinuz" "$img/initrd.img" "$work/boot/"
chmod 0644 "$work/boot/vmlinuz" "$work/boot/initrd.img"
cat >"$work/fleet.yaml" <<YAML
fleet: chan
hypervisor: "$LIBVIRTD_QEMU_URI"
domain_type: qemu
tcg: {tb_cache: 64M}
pool: muster
pool_path: $work/pool
boot: {kernel: $work/boot/vmlinuz, initrd: $work/boot/initrd.img, cmdline: "$(cat "$img/cmdline")"}
images: {debian: {path: $img/base.qcow2, format: qcow2}}
networks: {slirp: {type: user}}
batch: {size: $n, parallel: 2, max_fail_percent: 0, ready_timeout: 30m}
groups:
  node: {count: $n, image: debian, cpus: 1, memory: 384M, disk: 4G, networks: [slirp]}
YAML
say "muster apply: $n guests, heard through libvirt"
"$bin" apply "$work/fleet.yaml" --state "$work/state" -q
say "all $n ready"
domains=$(i=1; while [ "$i" -le "$n" ]; do printf 'chan-node-%03d ' "$i"; i=$((i + 1)); done)
sleep 5	# let the last boots settle
# shellcheck disable=SC2086 # one word per domain
"$probe" "$LIBVIRTD_QEMU_URI" stream "$rounds" $domains
# shellcheck disable=SC2086
libvirtd_qemu_exec "$probe" "$LIBVIRTD_QEMU_URI" socket "$rounds" $domains
# shellcheck disable=SC2086
"$probe" "$LIBVIRTD_QEMU_URI" stream "$rounds" $domains
say "done"
