#!/bin/bash
# Benchmark (not a timed test): stortune's own overhead per container start on overlay, and its
# peak memory for a storm of 1000 containers.
#
#  1. overhead: the p50 of stortune's start and stop phases (bench, overlay, 1 thread) against
#     a bare loop of the same syscalls (tests/perf/bare_mount.c) on the same kind of filesystem
#     (xfs on a loop device), measured in the same run. Ratio = stortune / bare.
#  2. memory: stortune's peak RSS (VmHWM) for `stortune bench` with 1000 containers, 8 at a
#     time, against the same with 10 containers in the same run.
#
# Run as root from the repository: tests/perf/overhead.sh [N]. Writes build/perf/overhead.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-400}
mkdir -p build/perf
cc -O2 -Wall -o build/perf/bare_mount tests/perf/bare_mount.c
[ -x ./stortune ] || make stortune >/dev/null

work=$(mktemp -d /var/tmp/stt-perf.XXXXXX)
img=$work/img mnt=$work/mnt
cleanup() {
	umount -l "$mnt" 2>/dev/null || true
	[ -n "${dev:-}" ] && losetup -d "$dev" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
truncate -s 8G "$img"
mkfs.xfs -q -f -n ftype=1 "$img"
dev=$(losetup -f --show "$img")
mkdir -p "$mnt"
mount "$dev" "$mnt"

# The same shape as the ci profile's containers: 3 image layers + init + own.
bare=$(build/perf/bare_mount "$mnt" "$N" 4)
./stortune bench --backend overlay --profile ci --containers "$N" --concurrency 1 \
	--repetitions 1 --workdir "$work/stt" --json -q \
	>"$work/bench.json"
read -r s_start s_stop < <(python3 - "$work/bench.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m = d["backends"][0]["modes"]["cold"]["phases"]
print(m["start"]["p50_ns"]["median"], m["stop"]["p50_ns"]["median"])
PY
)
b_start=$(sed 's/.*start_p50_ns=\([0-9]*\).*/\1/' <<<"$bare")
b_stop=$(sed 's/.*stop_p50_ns=\([0-9]*\).*/\1/' <<<"$bare")

# Memory: a storm of 1000 containers. The peak is stortune's own (VmHWM, polled until it
# exits): wait4's maxrss would count the tools it runs (dockerd --version alone is ~60 MiB).
peak() { # peak KiB of the command's own process
	"$@" >/dev/null &
	local pid=$! hwm=0 v
	while kill -0 "$pid" 2>/dev/null; do
		v=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null || true)
		[ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
		sleep 0.05
	done
	wait "$pid" || return 1
	echo "$hwm"
}
rss_storm=$(peak ./stortune bench --backend overlay --profile ci --containers 1000 \
	--concurrency 8 --repetitions 1 --workdir "$work/stt" -q -o "$work/storm.json")
rss_small=$(peak ./stortune bench --backend overlay --profile ci --containers 10 \
	--concurrency 8 --repetitions 1 --workdir "$work/stt" -q -o "$work/small.json")
cps=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(round(d["backends"][0]["modes"]["cold"]["storm"]["containers_per_s"]["median"],1))' "$work/storm.json")

{
	echo "stortune overhead benchmark ($(date -u +%FT%TZ), $(uname -r), $(nproc) cores)"
	echo "overlay start+stop, $N containers, 1 thread, xfs on loop; p50 in microseconds"
	awk -v a="$s_start" -v b="$b_start" -v c="$s_stop" -v d="$b_stop" 'BEGIN {
		printf "  %-6s %10s %10s %8s %12s\n", "op", "stortune", "bare", "ratio", "overhead"
		printf "  %-6s %10.1f %10.1f %8.2f %10.1f us\n", "start", a/1000, b/1000, a/b, (a-b)/1000
		printf "  %-6s %10.1f %10.1f %8.2f %10.1f us\n", "stop", c/1000, d/1000, c/d, (c-d)/1000
	}'
	echo "storm of 1000 containers (overlay, 8 at a time): $cps containers/s"
	awk -v s="$rss_storm" -v f="$rss_small" 'BEGIN {
		printf "  stortune peak RSS: %d KiB for 1000 containers, %d KiB for 10 (ratio %.2f; %.2f KiB per extra container)\n", s, f, s/f, (s-f)/990 }'
} | tee build/perf/overhead.txt
