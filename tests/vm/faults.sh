#!/bin/bash
# Guest script of the VM tier: faults of the thin pool made for real (issue 16, part 2).
#
#   pool-data   dm-loop with a 96 MiB data file; 4 containers write 17 MiB each in
#               first-write: the pool runs out of data space.
#   pool-meta   dm-loop with a 2 MiB metadata file and 4000 containers: the pool's metadata
#               runs out while the containers are created (two snapshots each).
#   ioerr       direct-lvm on a dm-linear over the NVMe disk, swapped to dm-error at a random
#               point of each phase (build/priv-tests, the faults suite with
#               STT_FAULT_DM_ONLY=1; STT_FAULT_IOERR=0 leaves it out), and SIGKILL in each
#               phase of tune followed by cleanup.
#   loopx       loop devices exhausted: the loop module reloaded with max_part=255 (4096
#               devices), every one bound by the test, then bench and selftest on dm-loop
#               (build/priv-tests; STT_FAULT_LOOP=0 leaves it out).
#
# Each: bench must exit 1 within a bound (STT_FAULT_BOUND, 300 s) with a message naming the
# fault and the phase, the results document valid and "incomplete": true, and no dm device,
# loop device, journal, scratch file or stortune process left.
# Results in $STT_RESULTS: faults-checks.txt ("PASS|FAIL <check> <detail>"), faults-table.md
# (fault, phase, what stortune said, exit, seconds, objects left), <fault>.log, <fault>.json.
set -uo pipefail

R=${STT_RESULTS:-/results}
BOUND=${STT_FAULT_BOUND:-300}
# STT_FAULT_QUICK=1 (make check): the queue of a full pool times out after 10 s instead of
# dm-thin's 60, a 1 MiB metadata file, dm-error in the remove phase only, tune killed in
# first-write only, and the 4096 loop devices of the exhaustion test left bound (the guest
# ends next). make check-vm-faults runs everything.
QUICK=${STT_FAULT_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	: "${STT_FAULT_NO_SPACE_TIMEOUT:=10}" "${STT_FAULT_META_SIZE:=1M}"
	: "${STT_FAULT_IOERR_PHASES:=remove}" "${STT_FAULT_TUNE_PHASES:=first-write}"
	: "${STT_FAULT_LOOP_KEEP:=1}"
fi
export STT_FAULT_IOERR_PHASES STT_FAULT_TUNE_PHASES STT_FAULT_LOOP_KEEP
NST=/sys/module/dm_thin_pool/parameters/no_space_timeout
[ -z "${STT_FAULT_NO_SPACE_TIMEOUT:-}" ] || echo "$STT_FAULT_NO_SPACE_TIMEOUT" >"$NST"
CHECKS=$R/faults-checks.txt
TABLE=$R/faults-table.md
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
: >"$CHECKS"
: >"$TABLE"
FAILED=0
pass() { echo "PASS $1 ${2:-}" | tee -a "$CHECKS"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1 ${2:-}" | tee -a "$CHECKS"; }
mkdir -p /var/tmp

profile() { # profile FILE SIZE WRITE_BYTES CONTAINERS
	cat >"$1" <<EOF
[image]
layers = 2
files = 60
size = $2
small_file_share = 0.8
small_file_max = 16k
large_files = 1
large_file_size = 1m
dir_depth = 3
dirs = 10
seed = 1
[startup]
read_files = 10
read_bytes = 64k
stat_files = 10
readdirs = 2
write_files = 4
write_bytes = $3
rewrite_files = 1
mid_write = yes
[run]
containers = $4
concurrency = 2
repetitions = 1
cold = yes
warm = no
EOF
}

# bounded SECS COMMAND...: runs COMMAND, SIGKILLed after SECS (exit 137). Not busybox's
# timeout: its watchdog is a process of its own with COMMAND's arguments (the workdir) on its
# command line, and it polls once a second, so it outlives COMMAND by up to a second and is
# then taken for a process the run left behind.
bounded() {
	local secs=$1 pid t0
	shift
	t0=$SECONDS
	"$@" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		[ $((SECONDS - t0)) -lt "$secs" ] || kill -KILL "$pid" 2>/dev/null
		sleep 0.2
	done
	wait "$pid"
}

# fault NAME WANT1 WANT2 -- stortune bench options
fault() {
	local name=$1 want1=$2 want2=$3 w=/var/tmp/fault-$1 j=/var/tmp/fault-$1-journal t0 rc secs said left=0
	shift 4
	echo "== fault $name: stortune bench $*"
	t0=$(cut -d' ' -f1 /proc/uptime)
	bounded "$BOUND" stortune bench --workdir "$w" --journal-dir "$j" --env-label vm-tcg \
		-o "$R/$name.json" "$@" >/dev/null 2>"$R/$name.log"
	rc=$?
	secs=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')
	cat "$R/$name.log"
	said=$(grep -a -m1 '^stortune bench: ' "$R/$name.log" | sed 's/^stortune bench: //; s/|/ /g')
	if [ "$rc" -eq 137 ]; then
		fail "$name.bounded" "still running after ${BOUND}s: killed"
		stortune cleanup --journal-dir "$j" >>"$R/$name.log" 2>&1
	else
		pass "$name.bounded" "gave up after ${secs}s"
	fi
	if [ "$rc" -eq 1 ]; then pass "$name.exit" "exit 1"; else fail "$name.exit" "exit $rc"; fi
	case "$said" in
	*"$want1"*"$want2"* | *"$want2"*"$want1"*) pass "$name.message" "$said" ;;
	*) fail "$name.message" "wanted \"$want1\" and \"$want2\": $said" ;;
	esac
	if jq -e '.schema == "stortune-results" and .incomplete == true and (.incomplete_reason | length > 0)' \
		"$R/$name.json" >/dev/null 2>&1; then
		pass "$name.document" "valid, incomplete: $(jq -r .incomplete_reason "$R/$name.json")"
	else
		fail "$name.document" "missing, invalid or not marked incomplete"
	fi
	# What is left of the run: dm devices, loop devices over its files, mounts, files,
	# journals, processes.
	{
		dmsetup ls 2>/dev/null | grep -E 'stt|stortune'
		losetup -a 2>/dev/null | grep -F "$w"
		grep -F " $w/" /proc/self/mountinfo
		find "$w" -mindepth 1 2>/dev/null
		find "$j" -mindepth 1 2>/dev/null
		for c in $(grep -l "[/]var/tmp/fault-$name" /proc/[0-9]*/cmdline 2>/dev/null); do
			echo "process ${c%/cmdline}: $(tr '\0' ' ' <"$c" 2>/dev/null)"
		done
	} >"$R/$name.leftovers.txt"
	left=$(wc -l <"$R/$name.leftovers.txt")
	if [ "$left" -eq 0 ]; then pass "$name.leftovers" "nothing left"; else fail "$name.leftovers" "$(head -n 3 "$R/$name.leftovers.txt" | tr '\n' ' ')"; fi
	echo "| $name | $(echo "$said" | grep -o -E 'import|create|start|first-read|first-write|cow-write|stop|remove|prepare' | head -n 1) | $said | $rc | $secs | $left |" >>"$TABLE"
	rm -rf "$w" "$j"
}

if [ "${STT_FAULT_POOL:-1}" = 1 ]; then
profile /var/tmp/pool-data.ini 4m 4m 4
fault pool-data "out of data space" "first-write" -- --backend dm-loop --profile /var/tmp/pool-data.ini \
	--data-size 96M --meta-size 16M --base-size 512M
profile /var/tmp/pool-meta.ini 4m 4k 4000
fault pool-meta "metadata" "create" -- --backend dm-loop --profile /var/tmp/pool-meta.ini \
	--data-size 4G --meta-size "${STT_FAULT_META_SIZE:-2M}" --base-size 512M
# bench's record of each (the failed backend's "fault"), and recommend citing them for
# dm.min_free_space and the autoextend threshold
for f in "pool-data:out of data space:first-write" "pool-meta:out of metadata space:create"; do
	IFS=: read -r name what phase <<<"$f"
	rec=$(jq -c --arg w "$what" --arg p "$phase" '.backends[] | .fault // empty |
		select(.kind == "thin-pool" and .what == $w and .phase == $p and
			.containers_done >= 1 and .seconds_to_give_up > 0)' "$R/$name.json" 2>/dev/null)
	if [ -n "$rec" ]; then pass "$name.record" "$rec"; else fail "$name.record" "no \"fault\" of $what in $phase in $name.json"; fi
done
# (Debian 12's docker.io, 20.10: the devicemapper driver is still Docker's)
if stortune -q --json recommend --docker-version 20.10.24 "$R/pool-data.json" "$R/pool-meta.json" \
	>"$R/recommend-faults.json" 2>"$R/recommend-faults.err"; then
	ev=$(jq -r '.decisions[] | select(.key == "dm.min_free_space") | .evidence' "$R/recommend-faults.json")
	ev2=$(jq -r '.decisions[] | select(.key == "profile.thin_pool_autoextend_threshold") | .evidence' "$R/recommend-faults.json")
	case "$ev" in
	*"ran out of data space in first-write after"*"gave up"*"ran out of metadata space in create after"*"gave up"*)
		case "$ev2" in
		*"ran out of data space in first-write"*) pass recommend.cites "$ev" ;;
		*) fail recommend.cites "autoextend threshold: $ev2" ;;
		esac ;;
	*) fail recommend.cites "dm.min_free_space: $ev" ;;
	esac
else
	fail recommend.cites "recommend failed: $(cat "$R/recommend-faults.err")"
fi
fi

# I/O errors under direct-lvm: the disk (a dm-linear over $STT_DISK) swapped to dm-error in
# each phase of bench, from tests/priv (the faults suite, its dm part).
if [ -x /usr/local/bin/priv-tests ] && [ "${STT_FAULT_IOERR:-1}" = 1 ]; then
	echo "== fault ioerr: priv-tests faults suite, direct-lvm on a dm-linear over $STT_DISK"
	(cd / && STORTUNE=/usr/local/bin/stortune STT_PRIV_ONLY=faults STT_FAULT_DM_ONLY=1 \
		STT_PRIV_DEVICE=$STT_DISK STT_FAULT_TABLE=$TABLE /usr/local/bin/priv-tests) \
		>"$R/ioerr.log" 2>&1
	rc=$?
	cat "$R/ioerr.log"
	if [ $rc -eq 0 ] && grep -aq 'Test: direct-lvm: the disk turns into dm-error' "$R/ioerr.log" &&
		grep -aq 'Test: tune (dm-loop): SIGKILL' "$R/ioerr.log"; then
		pass ioerr.directlvm "I/O errors in ${STT_FAULT_IOERR_PHASES:-every phase}: exit 1, bounded, nothing left after cleanup; tune killed in ${STT_FAULT_TUNE_PHASES:-every phase} + cleanup: nothing left"
	else
		fail ioerr.directlvm "priv-tests exit $rc (ioerr.log)"
	fi
fi

# A VG journalled but never made (dm-error during vgcreate did this, 2026-12-05): once the disk
# reads, `cleanup` must find it gone and take the PV (lvm says "Cannot process volume group"
# for a VG that does not exist as for one it cannot read).
if [ "${STT_FAULT_VGJ:-1}" = 1 ] && [ -b "${STT_DISK:-}" ]; then
	echo "== fault vgj: a journal whose VG was never made, replayed by cleanup"
	j=/var/tmp/fault-vgj
	mkdir -p "$j" && chmod 700 "$j"
	if pvcreate -y "$STT_DISK" >"$R/vgj.log" 2>&1; then
		printf 'stortune-journal 1\t1\t0\n0\tpv\t%s\t\n1\tvg\tsttnevermade\t%s\n' \
			"$STT_DISK" "$STT_DISK" >"$j/run-1-0.journal"
		stortune cleanup --journal-dir "$j" >>"$R/vgj.log" 2>&1
		rc=$?
		if [ $rc -eq 0 ] && [ -z "$(ls -A "$j")" ] && ! pvs "$STT_DISK" >/dev/null 2>&1; then
			pass vgj.cleanup "cleanup exit 0, journal gone, PV removed: $(tail -n 1 "$R/vgj.log")"
		else
			fail vgj.cleanup "cleanup exit $rc; journal: $(ls -A "$j"); $(tail -n 2 "$R/vgj.log" | tr '\n' ' ')"
		fi
	else
		fail vgj.cleanup "pvcreate $STT_DISK failed: $(tail -n 1 "$R/vgj.log")"
	fi
	pvremove -ff -y "$STT_DISK" >/dev/null 2>&1
	wipefs -a "$STT_DISK" >/dev/null 2>&1
	rm -rf "$j"
fi

# Loop devices exhausted: the guest's loop module again with max_part=255, so that the kernel
# can number 4096 devices (minor << 8 within 20 bits) and the test can bind every one
# (build/priv-tests, the faults suite's loop test). Last: with STT_FAULT_LOOP_KEEP=1 its
# devices stay bound until the guest ends.
if [ -x /usr/local/bin/priv-tests ] && [ "${STT_FAULT_LOOP:-1}" = 1 ]; then
	echo "== fault loopx: loop devices exhausted (loop max_part=255: 4096 devices)"
	ko=$(find /lib/modules/"$(uname -r)" -name loop.ko | head -n 1)
	if ! rmmod loop || ! insmod "$ko" max_part=255; then
		fail loopx.module "could not reload the loop module with max_part=255 ($ko)"
	else
		(cd / && STORTUNE=/usr/local/bin/stortune STT_PRIV_ONLY=faults STT_FAULT_DM_ONLY=1 \
			STT_FAULT_LOOP_EXHAUST=1 STT_FAULT_TESTS="loop devices exhausted" \
			STT_FAULT_TABLE=$TABLE /usr/local/bin/priv-tests) >"$R/loopx.log" 2>&1
		rc=$?
		cat "$R/loopx.log"
		if [ $rc -eq 0 ] && grep -aq 'Test: dm-loop: loop devices exhausted' "$R/loopx.log"; then
			pass loopx.exhausted "$(grep -ao '[0-9]* loop devices bound[^)]*' "$R/loopx.log" | head -n 1); bench (none free, one free) and selftest: exit 1, nothing left"
		else
			fail loopx.exhausted "priv-tests exit $rc (loopx.log)"
		fi
	fi
fi

cat "$TABLE"
echo "faults: $FAILED failed"
[ "$FAILED" -eq 0 ]
