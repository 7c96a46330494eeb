#!/bin/bash
# compare's two error rates, measured for real on this machine (issue: "numbers you can gate on").
#
#  (a) false alarms: PAIRS same-build pairs, each the documented commands with their defaults,
#        stortune bench --backend overlay --profile ci -o a.json
#        stortune bench --backend overlay --profile ci -o b.json
#        stortune compare a.json b.json
#      counted as failing when compare exits 1;
#  (b) detection: the candidate run with its reads and writes to the loop device under the
#      backend throttled by the blkio controller (cgroup v1 blkio.throttle.{read,write}_iops_device,
#      or cgroup v2 io.max) at each of LEVELS I/Os per second, the baseline unthrottled;
#      TRIALS trials a level. The size of the slowdown is measured, not assumed: per metric, the
#      median over the trials of the candidate's median over the baseline's, and a trial
#      counts as caught when compare exits 1.
#
# Usage: tests/perf/compare_rates.sh [PAIRS] [TRIALS]     (as root; about 85 s a pair here)
# Env: LEVELS="300 120" (IOPS caps), STT=./stortune, OUT=build/perf/compare_rates,
#      REDECIDE=1: no bench, decide the documents an earlier run left in OUT with this build,
#      COMPARE_FLAGS="--no-control": compare's options beyond the defaults (to weigh a rule)
set -u
cd "$(dirname "$0")/../.."
PAIRS=${1:-20}
# PAIRS=0 skips (a); LEVELS="" skips (b)
TRIALS=${2:-10}
LEVELS=${LEVELS-"300 120"}
STT=${STT:-./stortune}
OUT=${OUT:-build/perf/compare_rates}
# this run's own (a REDECIDE beside a run must not take its directories away)
WORK=/var/tmp/stt-compare-rates.$$
JDIR=/dev/shm/stt-compare-rates.$$
CG=
[ "$(id -u)" -eq 0 ] || { echo "compare_rates: needs root" >&2; exit 77; }
mkdir -p "$OUT"
[ -n "${REDECIDE:-}" ] || mkdir -p "$WORK" "$JDIR"

bench() { # bench OUTFILE: the documented command (its own scratch and journal directories)
	"$STT" bench --backend overlay --profile ci --workdir "$WORK" --journal-dir "$JDIR" -q \
		-o "$1" >/dev/null
}

cleanup() {
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		rmdir "$CG" 2>/dev/null
	fi
	"$STT" cleanup --journal-dir "$JDIR" -q >/dev/null 2>&1
	rm -rf "$WORK" "$JDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The block devices to cap: every loop device (the backend's is made during the run, so the
# bench may get one made after the cap was set: the disk under the loop devices' backing files
# is capped too -- the loop driver charges its I/O to the cgroup that issued it).
cap_devices() {
	local d
	for d in /sys/block/loop* /sys/block/$(basename "$(df --output=source /var/tmp | tail -1)" | sed 's/[0-9]*$//'); do
		[ -e "$d/dev" ] && cat "$d/dev"
	done | sort -u
}

# A cgroup whose processes' I/O to those devices is capped at $1 IOPS each way.
throttle_cgroup() {
	local iops=$1 majmin
	if [ -d /sys/fs/cgroup/blkio ]; then
		CG=/sys/fs/cgroup/blkio/stt-compare-rates.$$
		mkdir -p "$CG"
		for majmin in $(cap_devices); do
			echo "$majmin $iops" >"$CG/blkio.throttle.read_iops_device" || return 1
			echo "$majmin $iops" >"$CG/blkio.throttle.write_iops_device" || return 1
		done
	else
		CG=/sys/fs/cgroup/stt-compare-rates.$$
		echo +io >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
		mkdir -p "$CG"
		for majmin in $(cap_devices); do
			echo "$majmin riops=$iops wiops=$iops" >"$CG/io.max" || return 1
		done
	fi
}

bench_throttled() { # bench_throttled IOPS OUTFILE
	throttle_cgroup "$1" || { echo "compare_rates: cannot set the I/O cap" >&2; exit 1; }
	(echo $BASHPID >"$CG/cgroup.procs" && bench "$2")
	local rc=$?
	rmdir "$CG" 2>/dev/null
	CG=
	return $rc
}

# (a) false alarms
fa=0
: >"$OUT/pairs.txt"
for i in $(seq 1 "$PAIRS"); do
	if [ -z "${REDECIDE:-}" ]; then
		bench "$OUT/a$i.json" && bench "$OUT/b$i.json" || { echo "bench failed" >&2; exit 1; }
	fi
	"$STT" compare "$OUT/a$i.json" "$OUT/b$i.json" ${COMPARE_FLAGS:-} --json >"$OUT/c$i.json"
	rc=$?
	[ $rc -eq 1 ] && fa=$((fa + 1))
	printf 'pair %2d: exit %d, %s regressions, %s improvements, %s not gated, %s gated\n' "$i" $rc \
		"$(jq .regressions "$OUT/c$i.json")" "$(jq .improvements "$OUT/c$i.json")" \
		"$(jq .not_gated "$OUT/c$i.json")" \
		"$(jq '[.metrics[]|select(.verdict!="not gated" and .verdict!="inconclusive")]|length' "$OUT/c$i.json")" |
		tee -a "$OUT/pairs.txt"
done
echo "false alarms: $fa of $PAIRS same-build pairs" | tee "$OUT/summary.txt"

# (b) detection at each cap
for lv in $LEVELS; do
	caught=0
	for t in $(seq 1 "$TRIALS"); do
		[ -n "${REDECIDE:-}" ] ||
			{ bench "$OUT/base-$lv-$t.json" && bench_throttled "$lv" "$OUT/slow-$lv-$t.json"; } ||
			{ echo "bench failed" >&2; exit 1; }
		"$STT" compare "$OUT/base-$lv-$t.json" "$OUT/slow-$lv-$t.json" ${COMPARE_FLAGS:-} --json \
			>"$OUT/s-$lv-$t.json"
		rc=$?
		[ $rc -eq 1 ] && caught=$((caught + 1))
		echo "cap $lv IOPS, trial $t: exit $rc, regressions: $(jq -r '[.metrics[]|select(.verdict=="regression")|.name]|join(" ")' "$OUT/s-$lv-$t.json")"
	done
	# the size of the slowdown: per metric gated in any trial, the median of cand/base medians
	size=$(for t in $(seq 1 "$TRIALS"); do
		jq -r '.metrics[]|select(.name|test("/p50$|containers_per_s$|flush_ms$"))|"\(.name) \(.candidate.median/.baseline.median)"' \
			"$OUT/s-$lv-$t.json"
	done | python3 -c '
import sys, statistics, collections
v = collections.defaultdict(list)
for line in sys.stdin:
    k, x = line.split()
    v[k].append(float(x))
for k in sorted(v):
    print("%-40s %.3f" % (k, statistics.median(v[k])))')
	echo "cap $lv IOPS: caught in $caught of $TRIALS trials; measured change (median over trials of candidate/baseline medians):" | tee -a "$OUT/summary.txt"
	echo "$size" | sed 's/^/    /' | tee -a "$OUT/summary.txt"
done

# Caught by the size of the slowdown, over every trial of every level: the size is the cold
# storm's time per container, candidate over baseline as recorded (their medians: the change
# compare reports may be adjusted for the machine's control), in bins around the issue's 10%
# and 25%; a miss says why (inconclusive: the machine's control moved).
if [ -n "$LEVELS" ] && [ "$TRIALS" -gt 0 ]; then
	for lv in $LEVELS; do
		for t in $(seq 1 "$TRIALS"); do
			jq -r '[(.metrics[]|select(.name|test("/cold/storm/containers_per_s$"))|
				.candidate.median / .baseline.median - 1),
				.regressions, .inconclusive]|@tsv' "$OUT/s-$lv-$t.json"
		done
	done | python3 -c '
import sys
bins = [("under 5%", 0, .05), ("5-15% (the 10%)", .05, .15), ("15-35% (the 25%)", .15, .35),
        ("35% and more", .35, float("inf"))]
# the same trials in 5% steps: how the rate rises with the size
bins += [("  %d-%d%%" % (lo, lo + 5), lo / 100, (lo + 5) / 100) for lo in range(5, 35, 5)]
n = {b[0]: [0, 0, 0] for b in bins}
for line in sys.stdin:
    c, reg, inc = line.split()
    slow = 1 / (1 + float(c)) - 1
    for name, lo, hi in bins:
        if lo <= slow < hi:
            n[name][0] += 1
            n[name][1] += int(reg) > 0
            n[name][2] += int(reg) == 0 and int(inc) > 0
print("caught by the size of the slowdown (cold storm time per container):")
for name, _, _ in bins:
    t, c, i = n[name]
    print("    %-18s caught %d of %d%s" % (name, c, t, " (%d missed as inconclusive)" % i if i else ""))
' | tee -a "$OUT/summary.txt"
fi
