#!/bin/sh
# bench/serve.sh: responses per second and latency (wrk: average and p99)
# for GET of one VM's kickstart (templates/kickstart/el9.ks, ~3.8 KB), all
# in one run, on 127.0.0.1 only:
#   - muster serve, GET /ks/<vm>/<token> (the token checked and the
#     kickstart rendered on every request), keep-alive and a new connection
#     per request (Connection: close);
#   - nginx (nginx-light), one process, the same bytes as a static file,
#     both ways too;
#   - python3 -m http.server on the same file, once (as it is: HTTP/1.0).
# Every server is first checked to answer byte for byte what muster render
# --kickstart prints. The server runs on CPU 0 and wrk on CPU 1 when
# taskset is there. Ends with a table and muster/nginx ratios. Prints
# figures; not a test. WRK_SECONDS (5), WRK_CONNECTIONS (32).
set -eu
bin=$(cd "$(dirname "${MUSTER_BIN:-build/muster}")" && pwd)/$(basename "${MUSTER_BIN:-build/muster}")
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${WRK_SECONDS:-5}
conns=${WRK_CONNECTIONS:-32}

nginx=/usr/sbin/nginx
if ! command -v wrk >/dev/null || [ ! -x "$nginx" ]; then
	# tools/deps keeps nginx from starting on install (policy-rc.d)
	"$src/tools/deps" wrk nginx-light >&2
fi
for tool in curl python3 bc; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d "${MUSTER_BENCH_DIR:-/var/tmp}/muster-bench-serve-XXXXXX")
pids=''
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cd "$work"

# CPU 0 for the server, CPU 1 for wrk, when there are two
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	on_server='taskset -c 0'
	on_client='taskset -c 1'
	pinning="server on CPU 0, wrk on CPU 1 (taskset)"
else
	on_server=''
	on_client=''
	pinning="not pinned (no taskset or one CPU): server and wrk share the CPUs"
fi

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_http() { # URL PID: until URL answers (5 s at most), or PID is gone
	_i=0
	while [ $_i -lt 50 ]; do
		curl -s -o /dev/null --max-time 1 "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
same() { # NAME URL: the body at URL is ks.cfg, byte for byte, with a 200
	_code=$(curl -sS --max-time 5 -o "$work/got" -w '%{http_code}' "$2") || _code=curl-failed
	if [ "$_code" != 200 ] || ! cmp -s "$work/got" "$work/www/ks.cfg"; then
		echo "bench: $1 answered $_code, not the kickstart ($2)" >&2
		exit 1
	fi
}

# ---- the fleet: two kickstart VMs (as in tests/serve/run) ------------------------------
head -c 65536 /dev/zero >base.qcow2
cat >boot.yaml <<YAML
fleet: boot
hypervisor: test:///default
domain_type: qemu
endpoint: http://10.0.2.100
images: {base: {path: $work/base.qcow2}}
networks: {slirp: {type: user}}
ssh: {authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJpSwJ1dRZcUq8cX2bCjxbQ0b2F0d4qQ7rX8mCkA0nR bench"]}
groups:
  ks: {names: [ks-1, ks-2], image: base, networks: [slirp], bootstrap: kickstart,
       kickstart: {template: $src/templates/kickstart/el9.ks, install_tree: "http://10.0.2.100/el9/"}}
YAML
mkdir www
"$bin" render boot.yaml ks-1 --kickstart --state state >www/ks.cfg
grep -q '^url --url=http://10.0.2.100/el9/$' www/ks.cfg || { echo "bench: render --kickstart: no kickstart" >&2; exit 1; }

# ---- the servers -----------------------------------------------------------------------
# muster serve on a free port (from its log); its request log goes to a file
# shellcheck disable=SC2086 # on_server: a command and its arguments, or nothing
$on_server "$bin" serve boot.yaml --state state --listen 127.0.0.1:0 2>muster.log &
mpid=$!
pids="$pids $mpid"
mport=''
i=0
while [ $i -lt 100 ] && [ -z "$mport" ]; do
	mport=$(sed -n 's|^muster: info: serving fleet .* on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' muster.log)
	[ -n "$mport" ] || { kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; }
	i=$((i + 1))
done
[ -n "$mport" ] || { echo "bench: muster serve did not start" >&2; cat muster.log >&2; exit 1; }
ks_url=$("$bin" render boot.yaml ks-1 --ks-url --listen "127.0.0.1:$mport" --state state)
case $ks_url in
"http://127.0.0.1:$mport/ks/ks-1/"????????????????????????????????) ;;
*) echo "bench: render --ks-url gave '$ks_url'" >&2; exit 1 ;;
esac
same "muster serve" "$ks_url"
# a wrong token is a 404 (so that a 200 above means the token was checked)
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/ks/ks-1/0123456789abcdef0123456789abcdef")
[ "$code" = 404 ] || { echo "bench: muster serve answered $code to a wrong token" >&2; exit 1; }

# nginx: one process in the foreground, our own configuration
nport=$(free_port)
mkdir nginx
cat >nginx/nginx.conf <<CONF
worker_processes 1;
daemon off;
master_process off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	types { }
	default_type "text/plain; charset=utf-8";
	client_body_temp_path $work/nginx/body;
	proxy_temp_path $work/nginx/proxy;
	fastcgi_temp_path $work/nginx/fastcgi;
	uwsgi_temp_path $work/nginx/uwsgi;
	scgi_temp_path $work/nginx/scgi;
	server {
		listen 127.0.0.1:$nport;
		root $work/www;
	}
}
CONF
# shellcheck disable=SC2086 # on_server: as above
$on_server "$nginx" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" 2>nginx/stderr &
npid=$!
pids="$pids $npid"
wait_http "http://127.0.0.1:$nport/ks.cfg" "$npid" ||
	{ echo "bench: nginx did not start" >&2; cat nginx/stderr nginx/error.log >&2 2>/dev/null; exit 1; }
same nginx "http://127.0.0.1:$nport/ks.cfg"

# python3 -m http.server
pport=$(free_port)
# shellcheck disable=SC2086 # on_server: as above
$on_server python3 -m http.server --bind 127.0.0.1 --directory www "$pport" >python.log 2>&1 &
ppid=$!
pids="$pids $ppid"
wait_http "http://127.0.0.1:$pport/ks.cfg" "$ppid" ||
	{ echo "bench: python3 -m http.server did not start" >&2; cat python.log >&2; exit 1; }
same "python3 -m http.server" "http://127.0.0.1:$pport/ks.cfg"

# ---- measuring --------------------------------------------------------------------------
rows=''
# measure SERVER MODE URL [WRK ARGS...]: a 1 s warm-up, then $secs s; a row of the table
measure() {
	_server=$1 _mode=$2 _url=$3
	shift 3
	# shellcheck disable=SC2086 # on_client: as on_server
	$on_client wrk -t1 -c"$conns" -d1s "$@" "$_url" >/dev/null
	# shellcheck disable=SC2086
	$on_client wrk -t1 -c"$conns" -d"${secs}s" --latency "$@" "$_url" >wrk.out
	_rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' wrk.out)
	_avg=$(awk '$1 == "Latency" { print $2; exit }' wrk.out)
	_p99=$(awk '$1 == "99%" { print $2; exit }' wrk.out)
	_note=$(sed -n 's/^ *\(Non-2xx or 3xx responses: [0-9]*\|Socket errors: .*\)$/\1/p' wrk.out | paste -sd ';' -)
	printf '  %-24s %-16s %10s req/s  avg %9s  p99 %9s%s\n' "$_server" "$_mode" "$_rps" "$_avg" "$_p99" \
		"${_note:+  ($_note)}"
	rows="$rows$_server|$_mode|$_rps|$_avg|$_p99
"
	eval "rps_$(echo "$_server-$_mode" | tr -c 'a-z0-9\n' '_')=\$_rps"
}

echo "serve bench: GET of one VM's kickstart ($(wc -c <www/ks.cfg) bytes, byte-identical from every server checked)"
echo "  wrk $(wrk -v 2>&1 | sed -n '1s/^wrk \([^ ]*\).*/\1/p'), 1 thread, $conns connections, 1 s warm-up then ${secs} s each; $(nproc) cores, $pinning"
echo "  load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
echo "  muster serve (libmicrohttpd $(dpkg-query -W -f='${Version}' libmicrohttpd12 2>/dev/null || echo '?')), $("$nginx" -v 2>&1 | sed 's/^nginx version: //') (1 process, sendfile, access_log off), $(python3 -V 2>&1) http.server"
close='Connection: close'
measure muster keep-alive "$ks_url"
measure muster new-connection "$ks_url" -H "$close"
measure nginx keep-alive "http://127.0.0.1:$nport/ks.cfg"
measure nginx new-connection "http://127.0.0.1:$nport/ks.cfg" -H "$close"
measure "python3 http.server" "as-is (HTTP/1.0)" "http://127.0.0.1:$pport/ks.cfg"
# muster still answers the kickstart after all that (no 404 or 429 along the way)
same "muster serve (after)" "$ks_url"
n200=$(grep -c '^muster: info: GET /ks/ks-1/… 200 ' muster.log || true)
nother=$(grep '^muster: info: GET /ks/' muster.log | grep -vc ' 200 ' || true)
echo "  muster's request log: $n200 GET /ks answered 200, $((nother - 1)) otherwise (beside the wrong-token check's 404)"

# ---- the table -------------------------------------------------------------------------------
echo
printf '  %-22s %-17s %10s %10s %10s\n' server mode req/s avg p99
printf '%s' "$rows" | while IFS='|' read -r s m r a p; do
	printf '  %-22s %-17s %10s %10s %10s\n' "$s" "$m" "$r" "$a" "$p"
done
# shellcheck disable=SC2154 # set by eval in measure
ka=$(echo "$rps_muster_keep_alive / $rps_nginx_keep_alive" | bc -l)
# shellcheck disable=SC2154
nc=$(echo "$rps_muster_new_connection / $rps_nginx_new_connection" | bc -l)
verdict() { # RATIO MIN
	if [ "$(echo "$1 >= $2" | bc -l)" = 1 ]; then echo met; else echo "NOT met"; fi
}
printf '  muster/nginx keep-alive:      %.2f  (target >= 1.00: %s)\n' "$ka" "$(verdict "$ka" 1)"
printf '  muster/nginx new-connection:  %.2f  (target >= 0.90: %s)\n' "$nc" "$(verdict "$nc" 0.9)"
