# shellcheck shell=sh
# tests/lib/tap.sh: TAP for the shell suites (tests/*/run), sourced at the
# top of each. tests/run keeps a suite's output and counts its lines.
#
#   ok DESCRIPTION                a check that passed
#   notok DESCRIPTION [FILE...]   one that failed, with the last $TAP_TAIL
#                                 (default 40) lines of each FILE that
#                                 exists, as comments
#   finish                        the plan line ("1..N"), then exit 0
#   rel KIND WHAT COUNT OUTCOME LOST
#                                 a line for make reliability
#                                 (tools/reliability): KIND is fault,
#                                 hostile or secrets; nothing unless
#                                 RELIABILITY_REPORT names its file
n=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
notok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	shift
	for _tap_file in "$@"; do
		[ -e "$_tap_file" ] && sed 's/^/# /' "$_tap_file" | tail -n "${TAP_TAIL:-40}"
	done
	return 0
}
finish() {
	echo "1..$n"
	exit 0
}
rel() {
	[ -z "${RELIABILITY_REPORT:-}" ] || printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RELIABILITY_REPORT"
}
