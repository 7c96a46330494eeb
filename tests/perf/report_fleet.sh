#!/bin/sh
# The fleet report's cost: `stortune report` of N results files (default 1000) -- the
# aggregate (--json) and the HTML page -- timed with GNU time (elapsed, max RSS). The files are
# copies of one real bench run (made here, overlay, the ci profile, 4 containers; or TEMPLATE=FILE)
# under N host names and run ids, every median scaled by a seeded random factor so that the fleet
# view has something to find. Bars: under 10 s elapsed and under 256 MiB each. Elapsed time
# counts the waits of a loaded machine: the CPU time and the load average are shown beside it.
#   [TEMPLATE=results.json] tests/perf/report_fleet.sh [N]
# Writes build/perf/report_fleet.txt. Needs root only to make the template.
set -eu
cd "$(dirname "$0")/../.."
n=${1:-1000}
out=build/perf
work=$(mktemp -d /var/tmp/stt-perf-report-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
tpl=${TEMPLATE:-}
if [ -z "$tpl" ]; then
	tpl=$work/template.json
	./stortune bench --backend overlay --profile ci --containers 4 --repetitions 3 \
		--workdir "$work/bench" --journal-dir "$work/j" -q -o "$tpl" >/dev/null
fi
python3 - "$tpl" "$work/fleet" "$n" <<'PY'
import json, os, random, sys
tpl, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(d)
doc = json.load(open(tpl))
rng = random.Random(1)
def scale(o, f):
    if isinstance(o, dict):
        if 'median' in o and isinstance(o.get('values'), list):
            o['median'] *= f
            o['values'] = [v * f for v in o['values']]
        for v in o.values():
            scale(v, f)
    elif isinstance(o, list):
        for v in o:
            scale(v, f)
for i in range(n):
    d2 = json.loads(json.dumps(doc))
    d2['environment']['hostname'] = 'host-%04d' % i
    d2['run_id'] = 'perf-%04d' % i
    scale(d2, rng.lognormvariate(0, 0.1) * (5 if i % 97 == 0 else 1))
    json.dump(d2, open('%s/h%04d.json' % (d, i), 'w'))
PY
size=$(du -sh "$work/fleet" | cut -f1)
fail=0
measure() { # measure WHAT ARGS...: one line of elapsed seconds and max RSS
	what=$1
	shift
	/usr/bin/time -v -o "$work/time" "$@" >"$work/stdout" 2>"$work/stderr" || {
		echo "report_fleet: $what failed:" >&2
		cat "$work/stderr" >&2
		exit 1
	}
	el=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time")
	sec=$(echo "$el" | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
	kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
	cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$work/time")
	mib=$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')
	ok=$(awk -v s="$sec" -v k="$kb" 'BEGIN { print (s < 10 && k < 256 * 1024) ? "meets" : "FAILS" }')
	[ "$ok" = meets ] || fail=1
	printf '%-24s %7.2f s elapsed %7s s CPU %7s MiB max RSS  %s  (load %s)\n' "$what" "$sec" \
		"$cpu" "$mib" "$ok" "$(cut -d' ' -f1 /proc/loadavg)"
}
{
	echo "stortune report of $n results files ($size; $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ))"
	measure "aggregate (--json)" ./stortune report "$work"/fleet/*.json --json
	agg=$(wc -c <"$work/stdout")
	outl=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(len(m["mad_outliers"]) for m in d["fleet"]["metrics"]), len(d["runs"]))' "$work/stdout")
	echo "  aggregate: $agg bytes; outlier cells, runs: $outl"
	measure "page (-o report.html)" ./stortune report "$work"/fleet/*.json -o "$work/fleet.html" -q
	echo "  page: $(wc -c <"$work/fleet.html") bytes"
} | tee "$out/report_fleet.txt"
[ $fail -eq 0 ] && [ "$(grep -c FAILS "$out/report_fleet.txt")" -eq 0 ]
