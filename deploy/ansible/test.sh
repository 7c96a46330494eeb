#!/bin/sh
# The playbook for real against this machine: ansible-playbook -i localhost, -c local
# deploy/ansible/qualify.yml, everything under a temporary directory (the install prefix, the
# scratch target, the journal, the outputs, the fleet). Checks: stortune installed from the
# tree, qualify ran and wrote its report with the installed assets, the results fetched, the
# fleet report built on the controller; a device without --destroy-data naming it is refused
# before anything runs; nothing of the run left (mounts, loop devices of its files).
# Exit 77 (skipped) without root or ansible-playbook (Debian's ansible, make deps).
set -eu
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "ansible test: skipped (needs root)"; exit 77; }
command -v ansible-playbook >/dev/null 2>&1 ||
	{ echo "ansible test: skipped (no ansible-playbook: make deps)"; exit 77; }
w=$(mktemp -d /var/tmp/stt-ansible-XXXXXX)
trap 'rm -rf "$w"' EXIT
fail() {
	echo "ansible test: FAIL: $*" >&2
	exit 1
}
common="-i localhost, -c local deploy/ansible/qualify.yml -e stortune_prefix=$w/prefix
	-e stortune_workdir=$w/work -e stortune_journal_dir=$w/j -e stortune_fleet_dir=$w/fleet
	-e stortune_backends=overlay -e stortune_install_deps=false"
export ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP="$w/ansible-tmp" ANSIBLE_REMOTE_TEMP="$w/ansible-tmp"

# a device that --destroy-data does not name: refused, nothing run
# shellcheck disable=SC2086
if ansible-playbook $common -e stortune_remote_out="$w/refused" \
	-e stortune_device=/dev/stt-no-such >"$w/refused.log" 2>&1; then
	fail "a device without stortune_destroy_data was not refused"
fi
grep -q "must both be set" "$w/refused.log" || fail "the refusal does not say why ($w/refused.log)"
[ ! -e "$w/refused" ] && [ ! -e "$w/prefix/bin/stortune" ] || fail "something ran after the refusal"

# shellcheck disable=SC2086
ansible-playbook $common -e stortune_remote_out="$w/out" \
	-e "stortune_extra_args='--containers 4 --repetitions 3'" >"$w/run.log" 2>&1 ||
	{ cat "$w/run.log"; fail "the playbook failed"; }
"$w/prefix/bin/stortune" --version >/dev/null || fail "stortune not installed under the prefix"
[ -s "$w/prefix/share/stortune/report/uPlot.iife.min.js" ] || fail "the report assets not installed"
[ -s "$w/out/report.html" ] && grep -q 'id="stt-data"' "$w/out/report.html" ||
	fail "qualify on the host wrote no report.html"
[ "$(jq -r .schema "$w/fleet/results/localhost.json")" = stortune-results ] || fail "results not fetched"
[ -s "$w/fleet/fleet.html" ] || fail "no fleet report on the controller"
[ "$(jq '.runs | length' "$w/fleet/fleet.json")" = 1 ] || fail "the fleet report has not one run"
[ "$(jq -r '.runs[0].host' "$w/fleet/fleet.json")" = "$(uname -n)" ] || fail "the run's host name"
[ "$(jq -r '.runs[0].backends[0].status' "$w/fleet/fleet.json")" = ok ] || fail "overlay did not run"
grep -q "fleet report: $w/fleet/fleet.html" "$w/run.log" || fail "the playbook did not name the report"
# nothing left of the run
! grep -q " $w" /proc/self/mounts || fail "a mount under $w is left"
! losetup -a | grep -q "$w" || fail "a loop device of $w is left"
echo "ansible test: ok (playbook against localhost: installed, qualified, fetched, fleet report)"
