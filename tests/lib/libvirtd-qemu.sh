# shellcheck shell=sh
# tests/lib/libvirtd-qemu.sh: a libvirt daemon of the caller's own that runs
# real QEMU (TCG) guests, sourced by tests that boot them. Needs root.
#
#   libvirtd_qemu_start DIR   start virtlogd and libvirtd, files under DIR;
#                             0 once qemu:///system answers with domain
#                             type qemu. Sets LIBVIRTD_QEMU_URI (for virsh -c)
#                             and LIBVIRTD_QEMU_PID (libvirtd's pid; a child of
#                             the caller's shell, so a bare `wait` there waits
#                             for the daemon).
#                             With LIBVIRTD_QEMU_NETNS=1 in the environment
#                             the daemons (and so every QEMU they start) also
#                             get a NETWORK namespace of their own with only
#                             `lo`, up (see below).
#   libvirtd_qemu_exec CMD... run CMD in the daemon's mount namespace, and in
#                             its network namespace when it has one
#   libvirtd_qemu_net CMD...  run CMD in the daemon's network namespace when it
#                             has one (else as it is), in the machine's own
#                             mount namespace: as on a controller that reaches
#                             the daemon by its socket and the guests by the
#                             network, never the daemon's files (muster)
#   libvirtd_qemu_kill        kill libvirtd (-9), as a daemon that dies; its
#                             guests and virtlogd go on
#   libvirtd_qemu_restart     start libvirtd again after that, in the same
#                             namespaces (those virtlogd holds), on the same
#                             socket: it finds its domains and their QEMU
#                             still running; sets LIBVIRTD_QEMU_PID anew
#   libvirtd_qemu_stop        destroy running domains, stop both daemons,
#                             kill whatever still runs with their tmpfs
#                             (leftover qemu-system), wait until all are gone
#
# Both daemons (Debian 12's monolithic libvirtd, and virtlogd) run in their
# own MOUNT namespace, with their own /run, /etc/libvirt and
# /var/{lib,cache,log}/libvirt (libvirt-dirs.sh): no domain, network, pool
# or secret definition reaches the machine's /etc, and libvirt's stock
# `default` NAT network does not exist there, so it never autostarts.
# By default they share the machine's NETWORK namespace: guests must use
# only QEMU user-mode networking (-netdev user via <qemu:commandline>,
# forwards bound to 127.0.0.1) with restrict=on, never a libvirt network or
# bridge.
# LIBVIRTD_QEMU_NETNS=1 starts them in a new network namespace instead, with
# no interface but `lo`: QEMU inherits it, so a guest on an unrestricted user
# network (restrict=off) can open connections only to that loopback (as
# 10.0.2.2) and nowhere else (no route; QEMU's DNS at 10.0.2.3 answers
# nothing). The forwards' host ports are bound in that namespace too: ssh to
# them, and run whatever the guests should reach (muster serve on
# 127.0.0.1:PORT), through libvirtd_qemu_exec. libvirtd's socket is a path
# in DIR/run, which works across network namespaces: virsh and muster need
# no nsenter for it. The namespace lives as long as its processes do.
# libvirtd's sockets are in DIR/run, the logs in DIR/log. Files the daemon
# makes in its tmpfs, such as the virtio-serial channel sockets it picks
# (/var/lib/libvirt/qemu/channel/target/domain-N-NAME/...) and QEMU's own
# log (/var/log/libvirt/qemu/NAME.log), exist only in that namespace: reach
# them with libvirtd_qemu_exec, or from outside as
# /proc/$LIBVIRTD_QEMU_PID/root/<path> (root only; connect() works there).
#
# QEMU runs as libvirt-qemu:libvirt-qemu (qemu.conf is left as shipped).
# With dynamic_ownership = 1 (the default) libvirt chowns each disk, backing
# file, seed ISO, kernel and initrd to libvirt-qemu while the domain runs.
# So every directory on the way to those files must be traversable by
# others: mktemp -d makes 0700, chmod it 0711 (or 0755). The console
# <log file=...> is written by virtlogd (root): no such care there.
# Files shared between runs (the image cache) must not be relabelled:
#  - read-only backing files are chowned and never given back: declare the
#    backing file with <backingStore> and <seclabel model='dac'
#    relabel='no'/> in its <source> (it stays root's, 0644 is enough);
#  - kernel and initrd are given back on destroy, but the old owner is kept
#    in trusted.libvirt.security.* xattrs, and after a daemon that died with
#    a domain running, the next start of any domain with that file fails
#    ("Setting different DAC user or group ... already in use") until the
#    machine reboots: boot from a copy in the run's own directory.
# Stop destroys the domains through libvirt, so the owners are given back.
#
# /dev/net/tun is there too (made even where the machine's /dev has none, as
# in a fresh root), for guests on libvirt networks and bridges inside the
# daemon's own network namespace.
# /dev/kvm: this machine has one (kvm-pvm) that a stock Debian kernel cannot
# boot on, and that only root may open. libvirt then finds KVM "enabled when
# probing" but "not available now" and re-probes QEMU's capabilities on
# every call (~4 s each: a define+start took ~60 s). So the daemons get a
# /dev of their own (tmpfs with null, zero, full, random, urandom, tty,
# ptmx, and the machine's pts and shm) without kvm; guests are TCG only.

# (sourced: $0 is the caller, in tests/*/, tools/ or bench/; found once,
# while the caller's directory is known; callers may run under set -e)
_lq_lib=
for _lq_cand in "$(dirname "$0")/../lib" "$(dirname "$0")/../tests/lib"; do
	if [ -r "$_lq_cand/libvirt-dirs.sh" ]; then
		_lq_lib=$(cd "$_lq_cand" && pwd) && break
	fi
done

libvirtd_qemu_start() {
	_lq_dir=$(cd "$1" && pwd) || {
		echo "libvirtd_qemu_start: no directory $1" >&2
		return 1
	}
	[ -r "$_lq_lib/libvirt-dirs.sh" ] || {
		echo "libvirtd_qemu_start: tests/lib/libvirt-dirs.sh not found from $0" >&2
		return 1
	}
	mkdir -p "$_lq_dir/run" "$_lq_dir/log"
	if [ ${#_lq_dir} -gt 80 ]; then
		echo "libvirtd_qemu_start: $_lq_dir is too long for a socket path" >&2
		return 1
	fi
	cat >"$_lq_dir/libvirtd.conf" <<CONF
unix_sock_dir = "$_lq_dir/run"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
unix_sock_admin_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$_lq_dir/log/libvirtd.log"
CONF
	cat >"$_lq_dir/virtlogd.conf" <<CONF
log_outputs = "3:file:$_lq_dir/log/virtlogd.log"
CONF
	rm -f "$_lq_dir/run/libvirt-sock" "$_lq_dir/run/virtlogd.pid"
	_lq_net=
	[ "${LIBVIRTD_QEMU_NETNS:-}" = 1 ] && _lq_net=--net
	# shellcheck disable=SC2086 # _lq_net is one option or none
	unshare --mount $_lq_net --propagation private sh -c '
		if [ -n "$2" ]; then
			ip link set lo up || exit 1
		fi
		. "$3" && libvirt_private_dirs || exit 1
		# a /dev of our own, without kvm (see the header)
		nd=/run/libvirt/.dev
		mkdir "$nd" && mount -t tmpfs -o mode=0755,nosuid tmpfs "$nd" ||
			exit 1
		for n in null zero full random urandom tty ptmx; do
			if [ -L "/dev/$n" ]; then
				ln -s "$(readlink "/dev/$n")" "$nd/$n"
			elif [ -c "/dev/$n" ]; then
				mknod -m "$(stat -c %a "/dev/$n")" "$nd/$n" c \
					"$((0x$(stat -c %t "/dev/$n")))" \
					"$((0x$(stat -c %T "/dev/$n")))" || exit 1
			fi
		done
		for n in pts shm; do
			mkdir "$nd/$n" && mount --bind "/dev/$n" "$nd/$n" || exit 1
		done
		# tun, for the taps of guests on libvirt networks and bridges
		# (made whether or not the machine has the node: a fresh root has
		# none; opening it needs the kernel to have tun)
		mkdir "$nd/net" && mknod -m 0666 "$nd/net/tun" c 10 200 || exit 1
		ln -s /proc/self/fd "$nd/fd"
		ln -s /proc/self/fd/0 "$nd/stdin"
		ln -s /proc/self/fd/1 "$nd/stdout"
		ln -s /proc/self/fd/2 "$nd/stderr"
		# (unmount the old one, in here only, so that libvirt does not meet
		# its shadowed /dev/pts when it builds the /dev of QEMU)
		umount -R -l /dev && mount --move "$nd" /dev || exit 1
		virtlogd -d --config "$1/virtlogd.conf" \
			--pid-file "$1/run/virtlogd.pid" || exit 1
		exec libvirtd --config "$1/libvirtd.conf" \
			--pid-file "$1/run/libvirtd.pid"' sh "$_lq_dir" "$_lq_net" "$_lq_lib/libvirt-dirs.sh" \
		>"$_lq_dir/log/stderr" 2>&1 &
	LIBVIRTD_QEMU_PID=$!
	LIBVIRTD_QEMU_DIR=$_lq_dir
	LIBVIRTD_QEMU_URI="qemu+unix:///system?socket=$_lq_dir/run/libvirt-sock"
	LIBVIRTD_QEMU_NET=$_lq_net
	export LIBVIRTD_QEMU_PID LIBVIRTD_QEMU_URI LIBVIRTD_QEMU_DIR LIBVIRTD_QEMU_NET
	_lq_i=0
	while [ ! -S "$_lq_dir/run/libvirt-sock" ]; do
		if ! kill -0 "$LIBVIRTD_QEMU_PID" 2>/dev/null ||
			[ "$_lq_i" -ge 300 ]; then
			echo "libvirtd_qemu_start: libvirtd did not start:" >&2
			tail -n 20 "$_lq_dir/log/stderr" >&2
			libvirtd_qemu_stop
			return 1
		fi
		sleep 0.1
		_lq_i=$((_lq_i + 1))
	done
	# our tmpfs /run/libvirt, to find what is left at stop: QEMU runs in a
	# mount namespace of its own that libvirt makes from the daemon's, so
	# its processes are known by this tmpfs, not by the namespace
	LIBVIRTD_QEMU_RUNDEV=$(stat -c %d "/proc/$LIBVIRTD_QEMU_PID/root/run/libvirt")
	if ! virsh -c "$LIBVIRTD_QEMU_URI" capabilities 2>"$_lq_dir/log/caps.err" |
		grep -q "<domain type='qemu'"; then
		echo "libvirtd_qemu_start: the daemon offers no domain type qemu:" >&2
		cat "$_lq_dir/log/caps.err" >&2
		libvirtd_qemu_stop
		return 1
	fi
}

libvirtd_qemu_exec() {
	if [ -z "${LIBVIRTD_QEMU_PID:-}" ]; then
		echo "libvirtd_qemu_exec: no daemon started" >&2
		return 1
	fi
	if [ -n "${LIBVIRTD_QEMU_NET:-}" ]; then
		nsenter -t "$LIBVIRTD_QEMU_PID" -m -n -- "$@"
	else
		nsenter -t "$LIBVIRTD_QEMU_PID" -m -- "$@"
	fi
}

libvirtd_qemu_net() {
	if [ -z "${LIBVIRTD_QEMU_PID:-}" ]; then
		echo "libvirtd_qemu_net: no daemon started" >&2
		return 1
	fi
	if [ -n "${LIBVIRTD_QEMU_NET:-}" ]; then
		nsenter -t "$LIBVIRTD_QEMU_PID" -n -- "$@"
	else
		"$@"
	fi
}

libvirtd_qemu_kill() {
	kill -KILL "$LIBVIRTD_QEMU_PID" 2>/dev/null || return 1
	wait "$LIBVIRTD_QEMU_PID" 2>/dev/null
	return 0
}

libvirtd_qemu_restart() {
	_lq_vl=$(cat "$LIBVIRTD_QEMU_DIR/run/virtlogd.pid" 2>/dev/null || true)
	if [ -z "$_lq_vl" ] || ! kill -0 "$_lq_vl" 2>/dev/null; then
		echo "libvirtd_qemu_restart: no virtlogd holds the namespace" >&2
		return 1
	fi
	rm -f "$LIBVIRTD_QEMU_DIR/run/libvirt-sock"
	# (nsenter enters and execs: $! is the daemon)
	# shellcheck disable=SC2086 # LIBVIRTD_QEMU_NET is one option or none
	nsenter -t "$_lq_vl" -m $([ -n "${LIBVIRTD_QEMU_NET:-}" ] && echo -n) -- \
		libvirtd --config "$LIBVIRTD_QEMU_DIR/libvirtd.conf" \
		--pid-file "$LIBVIRTD_QEMU_DIR/run/libvirtd.pid" >>"$LIBVIRTD_QEMU_DIR/log/stderr" 2>&1 &
	LIBVIRTD_QEMU_PID=$!
	export LIBVIRTD_QEMU_PID
	_lq_i=0
	while ! virsh -c "$LIBVIRTD_QEMU_URI" uri >/dev/null 2>&1; do
		if ! kill -0 "$LIBVIRTD_QEMU_PID" 2>/dev/null || [ "$_lq_i" -ge 300 ]; then
			echo "libvirtd_qemu_restart: libvirtd did not start again:" >&2
			tail -n 20 "$LIBVIRTD_QEMU_DIR/log/stderr" >&2
			return 1
		fi
		sleep 0.1
		_lq_i=$((_lq_i + 1))
	done
}

# _lq_in_ns: pids of the processes that see our tmpfs /run/libvirt: the
# daemons and the QEMU processes they started
_lq_in_ns() {
	[ -n "${LIBVIRTD_QEMU_RUNDEV:-}" ] || return 0
	for _lq_p in /proc/[0-9]*; do
		[ "$(stat -c %d "$_lq_p/root/run/libvirt" 2>/dev/null)" = \
			"$LIBVIRTD_QEMU_RUNDEV" ] && echo "${_lq_p#/proc/}"
	done
	return 0
}

libvirtd_qemu_stop() {
	[ -n "${LIBVIRTD_QEMU_PID:-}" ] || return 0
	# destroy through libvirt, so it gives the files' owners back
	if kill -0 "$LIBVIRTD_QEMU_PID" 2>/dev/null &&
		[ -S "$LIBVIRTD_QEMU_DIR/run/libvirt-sock" ]; then
		for _lq_d in $(virsh -c "$LIBVIRTD_QEMU_URI" list --name 2>/dev/null); do
			virsh -c "$LIBVIRTD_QEMU_URI" destroy "$_lq_d" >/dev/null 2>&1 ||
				true
		done
	fi
	_lq_vl=$(cat "$LIBVIRTD_QEMU_DIR/run/virtlogd.pid" 2>/dev/null || true)
	kill "$LIBVIRTD_QEMU_PID" 2>/dev/null || true
	_lq_i=0
	while kill -0 "$LIBVIRTD_QEMU_PID" 2>/dev/null && [ "$_lq_i" -lt 150 ]; do
		sleep 0.1
		_lq_i=$((_lq_i + 1))
	done
	kill -KILL "$LIBVIRTD_QEMU_PID" 2>/dev/null || true
	wait "$LIBVIRTD_QEMU_PID" 2>/dev/null || true
	# virtlogd, and any qemu-system the daemon left running
	for _lq_p in $_lq_vl $(_lq_in_ns); do
		kill "$_lq_p" 2>/dev/null || true
	done
	_lq_i=0
	while [ -n "$(_lq_in_ns)" ] && [ "$_lq_i" -lt 100 ]; do
		sleep 0.1
		_lq_i=$((_lq_i + 1))
	done
	for _lq_p in $(_lq_in_ns); do
		echo "libvirtd_qemu_stop: killing $_lq_p ($(cat "/proc/$_lq_p/comm" 2>/dev/null))" >&2
		kill -KILL "$_lq_p" 2>/dev/null || true
	done
	_lq_i=0
	while [ -n "$(_lq_in_ns)" ] && [ "$_lq_i" -lt 50 ]; do
		sleep 0.1
		_lq_i=$((_lq_i + 1))
	done
	if [ -n "$(_lq_in_ns)" ]; then
		echo "libvirtd_qemu_stop: processes still in the namespace: $(_lq_in_ns)" >&2
		return 1
	fi
	LIBVIRTD_QEMU_PID=
	LIBVIRTD_QEMU_RUNDEV=
	LIBVIRTD_QEMU_NET=
}
