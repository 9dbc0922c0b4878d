# shellcheck shell=sh
# tests/lib/libvirtd.sh: a libvirt daemon of the caller's own, sourced by
# tests and benchmarks. It runs in its own network namespace (no bridge of
# the machine's is touched) and mount namespace (its own /run, /etc/libvirt
# and /var/{lib,cache,log}/libvirt, see libvirt-dirs.sh: no clash with
# another libvirtd, nothing written to the machine's), and hosts libvirt's
# test driver at $LIBVIRTD_TEST_URI. One connection is held open, so the
# test driver's state lives until libvirtd_stop. Needs root.
#
#   libvirtd_start DIR    start it, files under DIR; 0 when it answers
#                         With LIBVIRTD_TCP=1 it also listens on TCP at
#                         127.0.0.1:16509 in its network namespace (lo
#                         up), no authentication: LIBVIRTD_TCP_URI
#                         (test+tcp://...) reaches it over libvirt's network
#                         transport, from inside that namespace only
#                         (libvirtd_net CMD...: CMD run there).
#   libvirtd_stop         stop it and wait until it is gone
#
# Several at once: save LIBVIRTD_PID, LIBVIRTD_HOLDER, LIBVIRTD_HOLD_WRITER
# and LIBVIRTD_TEST_URI after each start, restore them before each stop.

# (sourced: $0 is the caller, in tests/*/, tools/ or bench/; found once,
# while the caller's directory is known; callers may run under set -e)
_lv_lib=
for _lv_cand in "$(dirname "$0")/../lib" "$(dirname "$0")/../tests/lib"; do
	if [ -r "$_lv_cand/libvirt-dirs.sh" ]; then
		_lv_lib=$(cd "$_lv_cand" && pwd) && break
	fi
done

libvirtd_start() {
	_lv_dir=$1
	[ -r "$_lv_lib/libvirt-dirs.sh" ] || {
		echo "libvirtd_start: tests/lib/libvirt-dirs.sh not found from $0" >&2
		return 1
	}
	mkdir -p "$_lv_dir/run" "$_lv_dir/log"
	cat >"$_lv_dir/libvirtd.conf" <<CONF
unix_sock_dir = "$_lv_dir/run"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$_lv_dir/log/libvirtd.log"
CONF
	_lv_listen=
	if [ "${LIBVIRTD_TCP:-}" = 1 ]; then
		cat >>"$_lv_dir/libvirtd.conf" <<CONF
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
auth_tcp = "none"
CONF
		_lv_listen=--listen
	fi
	unshare --mount --net --propagation private sh -c '
		if [ -n "$4" ]; then
			ip link set lo up || exit 1
		fi
		. "$3" && libvirt_private_dirs &&
		exec libvirtd $4 --config "$1" --pid-file "$2"' sh "$_lv_dir/libvirtd.conf" \
		"$_lv_dir/run/libvirtd.pid" "$_lv_lib/libvirt-dirs.sh" "$_lv_listen" \
		>"$_lv_dir/log/stderr" 2>&1 &
	LIBVIRTD_PID=$!
	_lv_i=0
	while [ ! -S "$_lv_dir/run/libvirt-sock" ] && [ "$_lv_i" -lt 150 ]; do
		sleep 0.1
		_lv_i=$((_lv_i + 1))
	done
	LIBVIRTD_TEST_URI="test+unix:///default?socket=$_lv_dir/run/libvirt-sock"
	LIBVIRTD_TCP_URI=
	[ -n "$_lv_listen" ] && LIBVIRTD_TCP_URI="test+tcp://127.0.0.1/default"
	# an interactive virsh holds the connection; a sleeping writer keeps
	# its input open (a process, not a descriptor of the caller's, so
	# several daemons can be held at once). No keepalive: a daemon a test
	# stops (SIGSTOP) for a while keeps this connection, so its state.
	mkfifo "$_lv_dir/hold"
	virsh -k 0 -c "$LIBVIRTD_TEST_URI" <"$_lv_dir/hold" >/dev/null 2>&1 &
	LIBVIRTD_HOLDER=$!
	sleep 2147483647 >"$_lv_dir/hold" &
	LIBVIRTD_HOLD_WRITER=$!
	virsh -c "$LIBVIRTD_TEST_URI" list --all >/dev/null 2>&1
}

libvirtd_net() {
	nsenter -t "$LIBVIRTD_PID" -n -- "$@"
}

libvirtd_stop() {
	[ -n "${LIBVIRTD_HOLD_WRITER:-}" ] && kill "$LIBVIRTD_HOLD_WRITER" 2>/dev/null
	[ -n "${LIBVIRTD_HOLDER:-}" ] && kill "$LIBVIRTD_HOLDER" 2>/dev/null
	if [ -n "${LIBVIRTD_PID:-}" ]; then
		kill "$LIBVIRTD_PID" 2>/dev/null
		_lv_i=0
		while kill -0 "$LIBVIRTD_PID" 2>/dev/null && [ "$_lv_i" -lt 100 ]; do
			sleep 0.1
			_lv_i=$((_lv_i + 1))
		done
	fi
	LIBVIRTD_PID=
	LIBVIRTD_HOLDER=
	LIBVIRTD_HOLD_WRITER=
}
