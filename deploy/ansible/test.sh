#!/bin/sh
# The playbook for real: ansible-playbook deploy/ansible/qualify.yml against this machine
# (localhost, connection local) and two extra test hosts reached over ssh -- each a network
# namespace with its own sshd, in its own UTS namespace (its own host name), joined to this
# machine by a veth pair. They share this machine's filesystem, so every host gets its own
# install prefix, scratch target, journal and output directory under one temporary directory.
# Checks: stortune installed from the tree on each host, qualify ran and wrote its report with
# the installed assets, the results fetched, the fleet report of the three hosts built on the
# controller; a device without --destroy-data naming it is refused before anything runs;
# nothing left (mounts, loop devices of the run's files, the namespaces, their sshd).
# SSH_HOSTS=0 runs against localhost alone. Exit 77 (skipped) without root or ansible-playbook.
set -eu
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "ansible test: skipped (needs root)"; exit 77; }
command -v ansible-playbook >/dev/null 2>&1 ||
	{ echo "ansible test: skipped (no ansible-playbook: make deps)"; exit 77; }
nssh=${SSH_HOSTS:-2}
[ "$nssh" -eq 0 ] || [ -x /usr/sbin/sshd ] ||
	{ echo "ansible test: skipped (no /usr/sbin/sshd: make deps)"; exit 77; }
w=$(mktemp -d /var/tmp/stt-ansible-XXXXXX)
id=$(($$ % 9000 + 1000))
cleanup() {
	for i in $(seq 1 "$nssh"); do
		ns=stt-ans-$id-h$i
		if ip netns list | grep -qw "$ns"; then
			# only the processes of our own namespace: its sshd and sessions
			pids=$(ip netns pids "$ns")
			[ -z "$pids" ] || kill $pids 2>/dev/null || true
			ip netns del "$ns"
		fi
		ip link del "sta${id}h$i" 2>/dev/null || true
	done
	rm -rf "$w"
}
trap cleanup EXIT
fail() {
	echo "ansible test: FAIL: $*" >&2
	exit 1
}
export ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP="$w/ansible-tmp" ANSIBLE_HOST_KEY_CHECKING=False

# the hosts: localhost, and the ssh test hosts
inv=$w/inventory.ini
echo "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3" >"$inv"
if [ "$nssh" -gt 0 ]; then
	ssh-keygen -q -t ed25519 -N '' -f "$w/id" && ssh-keygen -q -t ed25519 -N '' -f "$w/hostkey"
	cp "$w/id.pub" "$w/authorized_keys"
	mkdir -p /run/sshd
fi
for i in $(seq 1 "$nssh"); do
	ns=stt-ans-$id-h$i
	ip netns add "$ns"
	ip link add "sta${id}h$i" type veth peer name eth0 netns "$ns"
	ip addr add "10.231.$i.1/30" dev "sta${id}h$i"
	ip link set "sta${id}h$i" up
	ip -n "$ns" addr add "10.231.$i.2/30" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	cat >"$w/sshd-$i.conf" <<CONF
ListenAddress 10.231.$i.2
HostKey $w/hostkey
AuthorizedKeysFile $w/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $w/sshd-$i.pid
Subsystem sftp internal-sftp
CONF
	ip netns exec "$ns" unshare --uts sh -c \
		"hostname stt-ans-h$i && exec /usr/sbin/sshd -D -e -f '$w/sshd-$i.conf'" \
		>"$w/sshd-$i.log" 2>&1 &
	echo "stt-ans-h$i ansible_host=10.231.$i.2 ansible_user=root ansible_python_interpreter=/usr/bin/python3 ansible_ssh_private_key_file=$w/id ansible_ssh_common_args='-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no'" >>"$inv"
done
for i in $(seq 1 "$nssh"); do # each sshd answers, with its own host name
	n=0
	until [ "$(ssh -q -i "$w/id" -o BatchMode=yes -o UserKnownHostsFile=/dev/null \
		-o StrictHostKeyChecking=no -o ConnectTimeout=2 "root@10.231.$i.2" uname -n 2>/dev/null)" = \
		"stt-ans-h$i" ]; do
		n=$((n + 1))
		[ $n -lt 20 ] || { cat "$w/sshd-$i.log"; fail "test host $i: no ssh"; }
		sleep 0.5
	done
done

# per host under $w/<host>/ (the hosts share this filesystem)
per="-e stortune_prefix=$w/{{inventory_hostname}}/prefix
	-e stortune_workdir=$w/{{inventory_hostname}}/work
	-e stortune_journal_dir=$w/{{inventory_hostname}}/j
	-e stortune_remote_out=$w/{{inventory_hostname}}/out
	-e stortune_fleet_dir=$w/fleet -e stortune_backends=overlay -e stortune_install_deps=false"

# a device that --destroy-data does not name: refused, nothing run
# shellcheck disable=SC2086
if ansible-playbook -i localhost, -c local deploy/ansible/qualify.yml $per \
	-e stortune_device=/dev/stt-no-such >"$w/refused.log" 2>&1; then
	fail "a device without stortune_destroy_data was not refused"
fi
grep -q "must both be set" "$w/refused.log" || fail "the refusal does not say why ($w/refused.log)"
[ ! -e "$w/localhost/prefix/bin/stortune" ] || fail "something ran after the refusal"

# shellcheck disable=SC2086
ansible-playbook -i "$inv" deploy/ansible/qualify.yml $per \
	-e "stortune_extra_args='--containers 4 --repetitions 3'" >"$w/run.log" 2>&1 ||
	{ cat "$w/run.log"; fail "the playbook failed"; }
hosts="localhost"
for i in $(seq 1 "$nssh"); do hosts="$hosts stt-ans-h$i"; done
for h in $hosts; do
	"$w/$h/prefix/bin/stortune" --version >/dev/null || fail "$h: stortune not installed"
	[ -s "$w/$h/prefix/share/stortune/report/uPlot.iife.min.js" ] || fail "$h: no report assets"
	grep -q 'id="stt-data"' "$w/$h/out/report.html" || fail "$h: qualify wrote no report.html"
	[ "$(jq -r .schema "$w/fleet/results/$h.json")" = stortune-results ] ||
		fail "$h: results not fetched"
done
[ -s "$w/fleet/fleet.html" ] || fail "no fleet report on the controller"
n=$((nssh + 1))
[ "$(jq '.runs | length' "$w/fleet/fleet.json")" = $n ] || fail "the fleet report has not $n runs"
[ "$(jq '.fleet.hosts' "$w/fleet/fleet.json")" = $n ] || fail "the fleet report has not $n hosts"
got=$(jq -r '.runs[].host' "$w/fleet/fleet.json" | sort | tr '\n' ' ')
want=$( (uname -n; for i in $(seq 1 "$nssh"); do echo "stt-ans-h$i"; done) | sort | tr '\n' ' ')
[ "$got" = "$want" ] || fail "the fleet's hosts: $got, not $want"
[ "$(jq '[.runs[].backends[0].status] | unique' -c "$w/fleet/fleet.json")" = '["ok"]' ] ||
	fail "overlay did not run everywhere"
grep -q "fleet report: $w/fleet/fleet.html" "$w/run.log" || fail "the playbook did not name the report"
# nothing left of the run
! grep -q " $w" /proc/self/mounts || fail "a mount under $w is left"
! losetup -a | grep -q "$w" || fail "a loop device of $w is left"
echo "ansible test: ok (qualify.yml against localhost and $nssh ssh hosts: installed, qualified," \
	"fetched, fleet report of $n hosts)"
