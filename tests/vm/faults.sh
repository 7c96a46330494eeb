#!/bin/bash
# Guest script of the VM tier: faults of the thin pool made for real (issue 16, part 2).
#
#   pool-data   dm-loop with a 96 MiB data file; 4 containers write 17 MiB each in
#               first-write: the pool runs out of data space.
#   pool-meta   dm-loop with a 2 MiB metadata file and 4000 containers: the pool's metadata
#               runs out while the containers are created (two snapshots each).
#   ioerr       direct-lvm on a dm-linear over the NVMe disk, swapped to dm-error at a random
#               point of each phase (build/priv-tests, the faults suite with
#               STT_FAULT_DM_ONLY=1; STT_FAULT_IOERR=0 leaves it out).
#
# Each: bench must exit 1 within a bound (STT_FAULT_BOUND, 300 s) with a message naming the
# fault and the phase, the results document valid and "incomplete": true, and no dm device,
# loop device, journal, scratch file or stortune process left.
# Results in $STT_RESULTS: faults-checks.txt ("PASS|FAIL <check> <detail>"), faults-table.md
# (fault, phase, what stortune said, exit, seconds, objects left), <fault>.log, <fault>.json.
set -uo pipefail

R=${STT_RESULTS:-/results}
BOUND=${STT_FAULT_BOUND:-300}
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

# fault NAME WANT1 WANT2 -- stortune bench options
fault() {
	local name=$1 want1=$2 want2=$3 w=/var/tmp/fault-$1 j=/var/tmp/fault-$1-journal t0 rc secs said left=0
	shift 4
	echo "== fault $name: stortune bench $*"
	t0=$(cut -d' ' -f1 /proc/uptime)
	timeout -s KILL "$BOUND" stortune bench --workdir "$w" --journal-dir "$j" --env-label vm-tcg \
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
		grep -l "[/]var/tmp/fault-$name" /proc/[0-9]*/cmdline 2>/dev/null
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
	--data-size 4G --meta-size 2M --base-size 512M
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
		pass ioerr.directlvm "I/O errors in every phase: exit 1, bounded, nothing left after cleanup; tune killed in every phase + cleanup: nothing left"
	else
		fail ioerr.directlvm "priv-tests exit $rc (ioerr.log)"
	fi
fi

cat "$TABLE"
echo "faults: $FAILED failed"
[ "$FAILED" -eq 0 ]
