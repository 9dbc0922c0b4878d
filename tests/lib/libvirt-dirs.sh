# shellcheck shell=sh
# tests/lib/libvirt-dirs.sh: the directories a libvirt daemon keeps its
# state in, made empty and private, for the daemons the tests start.
# Sourced by libvirtd.sh and libvirtd-qemu.sh and run INSIDE a mount
# namespace of the daemon's own (unshare --mount --propagation private),
# before the daemon starts:
#
#   libvirt_private_dirs    0 when done; else says why on stderr
#
# (.ci/run also uses libvirt_etc_without, below.)
#
# Nothing here assumes a directory that only a started libvirtd (or
# systemd-tmpfiles) makes, and nothing is written to the machine's /etc,
# /run or /var: on a freshly installed machine /run/libvirt,
# /etc/libvirt/storage and /etc/libvirt/secrets do not exist, and a mount
# needs its mount point. So:
#  - /run: a tmpfs of its own, as a booted machine's /run is, holding only
#    libvirt/ (and what the daemons make there) and lock/ (1777, which
#    /var/lock points to: libvirt locks a channel or console there, UUCP
#    style, while a client has it open through virDomainOpenChannel);
#  - /etc/libvirt: a tmpfs holding a copy of the machine's configuration
#    files as the packages installed them, with qemu/ empty and without
#    storage/ and secrets/, which the daemon makes as on its first start
#    (no domain, network, pool or secret definition of the machine's,
#    libvirt's stock `default` network included; what the daemon defines
#    stays in the namespace);
#  - /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt: each an empty
#    tmpfs (the packages make these three).

libvirt_private_dirs() {
	for _ld in /etc/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
		[ -d "$_ld" ] || {
			echo "libvirt_private_dirs: no $_ld: libvirt is not installed (make deps)" >&2
			return 1
		}
	done
	# (mount -n: libmount's record of it is not written to the machine's /run)
	mount -n -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run || return 1
	mkdir -m 0755 /run/libvirt || return 1
	mkdir -m 1777 /run/lock || return 1
	libvirt_etc_without qemu storage secrets || return 1
	mkdir -m 0755 /etc/libvirt/qemu || return 1
	for _ld in /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
		mount -n -t tmpfs -o mode=0755 tmpfs "$_ld" || return 1
	done
}

# libvirt_etc_without DIR...: /etc/libvirt becomes a tmpfs holding a copy of
# the machine's, without the subdirectories named. /run must already be a
# tmpfs of the namespace's own (the copy passes through it).
libvirt_etc_without() {
	mkdir /run/.etc-libvirt &&
		cp -a /etc/libvirt/. /run/.etc-libvirt/ &&
		mount -n -t tmpfs -o mode=0755 tmpfs /etc/libvirt &&
		cp -a /run/.etc-libvirt/. /etc/libvirt/ || return 1
	rm -rf /run/.etc-libvirt
	for _ld in "$@"; do
		rm -rf "/etc/libvirt/$_ld"
	done
}
