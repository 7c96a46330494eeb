#!/bin/bash
# Benchmark (not a timed test): user-space instructions per I/O of the own engine against fio's,
# counted by callgrind, for the jobs of fio_check.sh: 4k randread QD1 and QD32, 4k randwrite
# QD32, 128k sequential read QD8, on a file of an xfs on a loop device with direct I/O on.
#
# Each engine runs each job twice under callgrind, for N and for 3N I/Os (size-limited, no
# random map in either), and the figure is the difference of the instruction counts divided by
# the 2N extra I/Os: what one more I/O costs, with start-up and teardown cancelled. For fio it
# is the job process (the forked child that does the I/O); fio's parent is shown apart.
# Kernel work is not counted: both engines make one io_submit and one io_getevents per I/O at
# these settings (strace -c), so their system calls are the same.
#
# Run as root from the repository: tests/perf/instructions.sh [N] (default 2048).
# Writes build/perf/instructions.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-2048}
mkdir -p build/perf
[ -x ./stortune ] || make stortune >/dev/null
for t in fio valgrind; do
	command -v $t >/dev/null || { echo "instructions.sh: $t is not installed (make deps)" >&2; exit 1; }
done

. tests/perf/xfs_file.sh

# callgrind's instruction total of one run, per process: "PID TOTAL" lines, the launcher first
count() {
	rm -f "$work"/cg.*
	valgrind -q --tool=callgrind --callgrind-out-file="$work/cg.%p" "$@" >/dev/null 2>&1
	for c in "$work"/cg.*; do
		echo "${c##*.} $(sed -n 's/^totals: //p' "$c")"
	done | sort -n
}

fio_job() { # RW BS DEPTH BYTES
	cat >"$work/job.fio" <<-EOF
		[stortune]
		ioengine=libaio
		filename=$f
		rw=$1
		bs=$2
		iodepth=$3
		direct=1
		size=$4
		norandommap
	EOF
	count fio --output-format=json "$work/job.fio"
}

jobs=(
	"randread-4k-qd1 randread 4096 1"
	"randread-4k-qd32 randread 4096 32"
	"randwrite-4k-qd32 randwrite 4096 32"
	"read-128k-qd8 read 131072 8"
)
out=build/perf/instructions.txt
{
	echo "user-space instructions per I/O (callgrind, marginal over $N -> $((3 * N)) I/Os), $(fio --version),"
	echo "kernel $(uname -r), xfs on loop (direct I/O)"
	printf '%-18s %12s %12s %12s %8s\n' job "fio job" "fio parent" own own/fio
} >"$out"
for j in "${jobs[@]}"; do
	read -r name rw bs depth <<<"$j"
	echo "== $name" >&2
	small=$((N * bs)) large=$((3 * N * bs))
	mapfile -t fs < <(fio_job "$rw" "$bs" "$depth" "$small")
	mapfile -t fl < <(fio_job "$rw" "$bs" "$depth" "$large")
	os=$(count ./stortune -q io "$f" --rw "$rw" --bs "$bs" --iodepth "$depth" --size "$small" | awk '{print $2}')
	ol=$(count ./stortune -q io "$f" --rw "$rw" --bs "$bs" --iodepth "$depth" --size "$large" | awk '{print $2}')
	if [ ${#fs[@]} -ne 2 ] || [ ${#fl[@]} -ne 2 ]; then
		echo "instructions.sh: $name: expected fio's parent and one job process" >&2
		exit 1
	fi
	python3 - "$name" "$N" "${fs[0]#* }" "${fs[1]#* }" "${fl[0]#* }" "${fl[1]#* }" "$os" "$ol" \
		>>"$out" <<-'PY'
		import sys
		name, n = sys.argv[1], 2 * int(sys.argv[2])
		ps, js, pl, jl, os_, ol = map(int, sys.argv[3:])
		fj, fp, own = (jl - js) / n, (pl - ps) / n, (ol - os_) / n
		print(f"{name:<18} {fj:12.0f} {fp:12.0f} {own:12.0f} {own / fj:8.3f}")
	PY
done
cat "$out"
