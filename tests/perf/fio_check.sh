#!/bin/bash
# Benchmark (not a timed test): the own engine against fio, job by job, with `stortune fio-check`
# on a 1 GiB file of an xfs on a loop device with direct I/O on.
#
# Jobs (each --runtime 10 --time-based, --rounds 3, fio and own alternating):
#   4k randread QD1, 4k randread QD32, 4k randwrite QD32, 128k sequential read QD8.
# Columns: medians over the rounds of fio and own, ratio = own / fio.
#
# Run as root from the repository: tests/perf/fio_check.sh [RUNTIME] [ROUNDS].
# Writes build/perf/fio_check.txt (and the fio-check JSON of each job next to it).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNTIME=${1:-10}
ROUNDS=${2:-3}
mkdir -p build/perf
[ -x ./stortune ] || make stortune >/dev/null
command -v fio >/dev/null || { echo "fio_check.sh: fio is not installed" >&2; exit 1; }

work=$(mktemp -d /var/tmp/stt-perf.XXXXXX)
img=$work/img mnt=$work/mnt dev=
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	[ -n "$dev" ] && losetup -d "$dev"
	rm -rf "$work"
}
trap cleanup EXIT
truncate -s 2G "$img"
mkfs.xfs -q -f "$img"
dev=$(losetup --direct-io=on -f --show "$img")
mkdir -p "$mnt"
mount "$dev" "$mnt"
f=$mnt/data
./stortune -q io "$f" --rw write --bs 1m --iodepth 8 --size 1g >/dev/null

jobs=(
	"randread-4k-qd1|--rw randread --bs 4k --iodepth 1"
	"randread-4k-qd32|--rw randread --bs 4k --iodepth 32"
	"randwrite-4k-qd32|--rw randwrite --bs 4k --iodepth 32"
	"read-128k-qd8|--rw read --bs 128k --iodepth 8"
)
for j in "${jobs[@]}"; do
	name=${j%%|*} args=${j#*|}
	echo "== $name: $args" >&2
	# shellcheck disable=SC2086
	./stortune -q --json fio-check "$f" $args --size 1g --runtime "$RUNTIME" --time-based \
		--rounds "$ROUNDS" >"build/perf/fio_check-$name.json"
done

python3 - "$RUNTIME" "$ROUNDS" "$(fio --version)" "$(uname -r)" \
	"${jobs[@]%%|*}" <<'PY' | tee build/perf/fio_check.txt
import json, sys
runtime, rounds, fio, kernel = sys.argv[1:5]
names = sys.argv[5:]

def fmt(v, scale=1.0, prec=0):
    return "-" if v is None else f"{v / scale:.{prec}f}"

def pair(m, d, key, scale, prec):
    return fmt(m["fio"][d][key], scale, prec) + "/" + fmt(m["own"][d][key], scale, prec)

print(f"stortune fio-check: {fio}, kernel {kernel}, xfs on loop (direct I/O), 1 GiB file,")
print(f"{runtime} s time-based per run, medians of {rounds} rounds; latencies and CPU in usec")
hdr = f"{'job':<18} {'fio IOPS':>9} {'own IOPS':>9} {'ratio':>6} {'p50 fio/own':>13} " \
      f"{'p99 fio/own':>13} {'CPU/IO fio/own':>14}"
print(hdr)
print("-" * len(hdr))
for n in names:
    d = json.load(open(f"build/perf/fio_check-{n}.json"))
    m = d["median"]
    dr = "write" if "write" in n else "read"
    cpu = fmt(m["fio"]["cpu_per_io_ns"], 1e3, 2) + "/" + fmt(m["own"]["cpu_per_io_ns"], 1e3, 2)
    print(f"{n:<18} {fmt(m['fio'][dr]['iops']):>9} {fmt(m['own'][dr]['iops']):>9} "
          f"{fmt(d['ratio'][dr]['iops'], 1, 3):>6} "
          f"{pair(m, dr, 'clat_p50_ns', 1e3, 1):>13} {pair(m, dr, 'clat_p99_ns', 1e3, 1):>13} "
          f"{cpu:>14}")
PY
