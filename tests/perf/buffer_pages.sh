#!/bin/bash
# Benchmark aid (not a timed test): how many physically contiguous pieces each I/O buffer of
# fio and of the own engine spans, with ordinary (malloc'd) buffers, read from
# /proc/PID/pagemap while each runs the same job on a 1 GiB file of an xfs on a loop device.
#
# Why: with blocks larger than a page an O_DIRECT request carries one segment per physically
# contiguous piece of its buffer, and some devices (this VM's virtio disk) are faster with
# fewer. fio_check.sh's 128k and 16k rows run both engines in huge pages for that reason; this
# script shows what the ordinary buffers of each engine look like. For each run it prints the
# number of buffers spanning 1, 2, ... pieces, and how many neighbouring pages of a buffer are
# physically adjacent in ascending order (they merge into one segment) or in descending order
# (adjacent, but they do not merge).
#
# Each side runs as a fresh process: fio (its job process, the buffer addresses from
# --debug=mem) and `stortune io` (the address posix_memalign returned for its buffers, logged
# by a small preloaded shim).
#
# The layout depends on what the CPU's free page lists hold at the time, so it differs from
# run to run and with what ran before; `taskset -c 0` in front puts both on one CPU, as
# fio_check.sh does.
#
# Run as root from the repository: tests/perf/buffer_pages.sh [RUNS] [BS] [IODEPTH]
# (default 5 runs of 16k, iodepth 8).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
BS=${2:-16k}
DEPTH=${3:-8}
[ -x ./stortune ] || make stortune >/dev/null
command -v fio >/dev/null || { echo "buffer_pages.sh: fio is not installed" >&2; exit 1; }
. tests/perf/xfs_file.sh

# the own engine's buffers: their address, from posix_memalign, by a preloaded shim
cat >"$work/memalign_log.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
int posix_memalign(void **p, size_t align, size_t size)
{
	int (*real)(void **, size_t, size_t) =
		(int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	const char *want = getenv("MEMALIGN_LOG_SIZE");
	int r = real(p, align, size);

	if (!r && want && size == strtoull(want, NULL, 10))
		fprintf(stderr, "memalign_log: %p\n", *p);
	return r;
}
C
mkdir -p build/perf
cc -O2 -Wall -shared -fPIC -o build/perf/memalign_log.so "$work/memalign_log.c" -ldl

job=$work/job.fio
./stortune -q fio-check "$f" --rw randread --bs "$BS" --iodepth "$DEPTH" --size 1g \
	--runtime 4s --time-based --rounds 1 --keep-job "$job" >/dev/null

python3 - "$RUNS" "$f" "$job" "$BS" "$DEPTH" <<'EOF'
import os, re, struct, subprocess, sys, time

runs, path, job, bs_arg, depth = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
units = {"k": 1 << 10, "m": 1 << 20}
bs = int(bs_arg[:-1]) * units[bs_arg[-1].lower()] if bs_arg[-1].lower() in units else int(bs_arg)
PAGE = 4096

def pieces(pid, addrs):
    """Per buffer: pieces, ascending and descending neighbour pairs."""
    out = []
    with open(f"/proc/{pid}/pagemap", "rb") as pm:
        for a in addrs:
            pfns = []
            for q in range(a, a + bs, PAGE):
                pm.seek(q // PAGE * 8)
                v = struct.unpack("<Q", pm.read(8))[0]
                if not v >> 63:
                    return None  # not present: not the buffer
                pfns.append(v & ((1 << 55) - 1))
            asc = sum(1 for x, y in zip(pfns, pfns[1:]) if y == x + 1)
            desc = sum(1 for x, y in zip(pfns, pfns[1:]) if y + 1 == x)
            out.append((len(pfns) - asc, asc, desc))
    return out

def watch(p, stream, pattern, addrs):
    """Reads @stream of @p up to the line @pattern matches, then the pieces of the buffers
    addrs(match) names in the process the match's "pid" group (or @p) is; None if none."""
    r = None
    for line in stream:
        m = re.match(pattern, line)
        if m and (a := addrs(m)):
            time.sleep(1)  # the job is running: its buffers are in place
            r = pieces(m.groupdict().get("pid") or p.pid, a)
            break
    stream.read()
    p.wait()
    return r

def fio_run():
    """fio prints each buffer's address in its job process; the last of them decides."""
    p = subprocess.Popen(["stdbuf", "-oL", "fio", "--debug=mem", job], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    seen = []
    def addrs(m):
        seen.append(int(m.group(2), 16))
        return seen if len(seen) == depth else None
    return watch(p, p.stdout, r"mem\s+(?P<pid>\d+)\s+io_u 0x[0-9a-f]+, mem (0x[0-9a-f]+)", addrs)

def own_run():
    env = dict(os.environ, LD_PRELOAD=os.path.abspath("build/perf/memalign_log.so"),
               MEMALIGN_LOG_SIZE=str(bs * depth))
    p = subprocess.Popen(["./stortune", "-q", "io", path, "--rw", "randread", "--bs", bs_arg,
                          "--iodepth", str(depth), "--size", "1g", "--runtime", "3s",
                          "--time-based"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, env=env)
    return watch(p, p.stderr, r"memalign_log: (0x[0-9a-f]+)",
                 lambda m: [int(m.group(1), 16) + i * bs for i in range(depth)])

def line(name, k, r):
    if not r:
        return f"{name} run {k}: buffers not found"
    hist = {}
    for n, _, _ in r:
        hist[n] = hist.get(n, 0) + 1
    h = " ".join(f"{n}:{hist[n]}" for n in sorted(hist))
    return (f"{name} run {k}: buffers by pieces {h}; neighbour pages adjacent ascending "
            f"{sum(x[1] for x in r)}, descending {sum(x[2] for x in r)}, of {len(r) * (bs // PAGE - 1)}")

print(f"{depth} buffers of {bs // 1024}k (randread, iodepth {depth}), ordinary buffers, {runs} runs each")
for k in range(1, runs + 1):
    print(line("fio", k, fio_run()))
    print(line("own", k, own_run()))
EOF
