#!/bin/sh
# bench/sysadmin-seed.sh DIR N: what a sysadmin writes to give N VMs their
# own SSH host key and a NoCloud seed: ssh-keygen, a user-data carrying the
# key, cloud-localds. The baseline muster's bench/seed compares itself with.
set -eu
dir=$1
n=$2
i=1
while [ "$i" -le "$n" ]; do
	vm=$(printf 'vm-%04d' "$i")
	mkdir -p "$dir/$vm"
	ssh-keygen -q -t ed25519 -N '' -C '' -f "$dir/$vm/ssh_host_ed25519_key"
	{
		echo '#cloud-config'
		echo "hostname: $vm"
		echo 'ssh_deletekeys: true'
		echo 'ssh_keys:'
		echo '  ed25519_private: |'
		sed 's/^/    /' "$dir/$vm/ssh_host_ed25519_key"
		echo "  ed25519_public: $(cat "$dir/$vm/ssh_host_ed25519_key.pub")"
	} >"$dir/$vm/user-data"
	printf 'instance-id: %s\nlocal-hostname: %s\n' "$vm" "$vm" >"$dir/$vm/meta-data"
	cloud-localds "$dir/$vm/seed.iso" "$dir/$vm/user-data" "$dir/$vm/meta-data"
	i=$((i + 1))
done
