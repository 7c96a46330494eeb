#!/bin/bash
# Benchmark (not a timed test): what stortune's real-engine harness costs per container start,
# against the two other ways of asking dockerd to start a container:
#
#  - a plain `curl --unix-socket SOCK -X POST .../containers/ID/start` per container (curl
#    started once per call, as a shell loop would);
#  - `docker -H unix://SOCK start ID` (the Go CLI, started once per call).
#
# All three on one private dockerd (scripts/dockerd-test.sh), the same image (a docker save of
# a one-file image: a static busybox) and containers made alike (stdin open, no network, no log
# driver, the reader bind-mounted at /.stortune, blocked reading stdin). stortune's figure is
# the start p50 of `bench --engine docker --docker-host` (warm, 1 at a time), timed at the API
# call inside the process; the other two are timed around the program, from the shell, so
# they include its start -- which is the point: they are what a harness built on them pays.
# Ratios: curl / stortune and docker CLI / stortune (how much dearer each is than stortune's
# own call), from the medians of per-round medians of interleaved rounds (K starts per method
# per round, default 5).
#
# Run as root from the repository: tests/perf/engine_start.sh [N]. Writes build/perf/engine_start.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-30}
mkdir -p build/perf
[ -x ./stortune ] || make stortune >/dev/null
command -v curl >/dev/null || { echo "engine_start: curl is not installed" >&2; exit 77; }

work=$(mktemp -d /var/tmp/stt-enginestart.XXXXXX)
# its cgroup is named after the directory: unique, as other runs may use dockerd-test.sh
ddir=$work/d-${work##*.}
sock=$ddir/docker.sock
docker=(docker -H "unix://$sock")
cleanup() {
	scripts/dockerd-test.sh stop "$ddir" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
scripts/dockerd-test.sh start "$ddir"

# The image: a static busybox at /bin/busybox, loaded the way stortune loads its own.
mkdir -p "$work/rootfs/bin" "$work/reader"
cp /bin/busybox "$work/rootfs/bin/busybox"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
"${docker[@]}" import "$work/rootfs.tar" stt-enginestart:1 >/dev/null
"${docker[@]}" save -o "$work/image.tar" stt-enginestart:1
# The reader the curl and CLI containers run (stortune writes its own alike).
cp /bin/busybox "$work/reader/busybox"
printf '%s\n' "trap 'exit 0' TERM" 'while read -r c; do echo R; done' >"$work/reader/startup.sh"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s%N; }

make_ctrs() { # N containers like stortune's, ids on stdout
	for _ in $(seq "$N"); do
		"${docker[@]}" create -i --network none --log-driver none \
			-v "$work/reader:/.stortune:ro" stt-enginestart:1 \
			/.stortune/busybox sh /.stortune/startup.sh
	done
}
remove_ctrs() {
	# shellcheck disable=SC2046
	"${docker[@]}" rm -f $("${docker[@]}" ps -aq) >/dev/null 2>&1 || true
}

# Interleaved rounds, so that the load of a shared machine falls on the three alike: each round
# K starts by curl, K by the CLI, then a stortune bench of K containers; each method's figure is
# the median of its per-round medians (stortune's per-round figure: its start p50).
K=${K:-5}
ROUNDS=$(((N + K - 1) / K))
: >"$work/curl.r"
: >"$work/cli.r"
: >"$work/stt.r"
for round in $(seq "$ROUNDS"); do
	for method in curl cli; do
		ids=$(N=$K make_ctrs)
		: >"$work/$method.ns"
		for id in $ids; do
			t0=$(now)
			if [ "$method" = curl ]; then
				curl -sf --unix-socket "$sock" -X POST \
					"http://docker/containers/$id/start" >/dev/null
			else
				"${docker[@]}" start "$id" >/dev/null
			fi
			echo $(($(now) - t0)) >>"$work/$method.ns"
		done
		median <"$work/$method.ns" >>"$work/$method.r"
		remove_ctrs
	done
	./stortune bench --engine docker --docker-host "unix://$sock" --backend overlay \
		--image "$work/image.tar" --containers "$K" --concurrency 1 --repetitions 1 \
		--workdir "$work/stt" --journal-dir "$work/journal" --json -q >"$work/bench.json"
	jq '.backends[0].modes.warm.phases.start.p50_ns.median' "$work/bench.json" >>"$work/stt.r"
	echo "engine_start: round $round of $ROUNDS" >&2
done
stt=$(median <"$work/stt.r")

curl_ns=$(median <"$work/curl.r")
cli_ns=$(median <"$work/cli.r")
{
	echo "engine_start: $((ROUNDS * K)) container starts each in $ROUNDS interleaved rounds, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs," \
		"load $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-34s %10s %10s\n' "method" "p50 ms" "/ stortune"
	printf '%-34s %10.2f %10.2f\n' "stortune (API call, in process)" \
		"$(echo "$stt / 1000000" | bc -l)" 1
	printf '%-34s %10.2f %10.2f\n' "curl --unix-socket (per process)" \
		"$(echo "$curl_ns / 1000000" | bc -l)" "$(echo "$curl_ns / $stt" | bc -l)"
	printf '%-34s %10.2f %10.2f\n' "docker start (CLI, per process)" \
		"$(echo "$cli_ns / 1000000" | bc -l)" "$(echo "$cli_ns / $stt" | bc -l)"
} | tee build/perf/engine_start.txt
