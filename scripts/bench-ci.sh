#!/bin/sh
# The CI regression benchmark, as a pipeline would run it (make bench-ci, make bench-baseline).
#
#   scripts/bench-ci.sh            run the benchmark and compare it with this machine kind's
#                                  baseline: exit 0 no regression, 1 regression, 2 unusable
#   scripts/bench-ci.sh baseline   run the benchmark and keep it as that baseline
#
# Baseline: results/baselines/KIND.json, KIND from scripts/machine-kind.sh. Thresholds:
# results/baselines/KIND.thresholds (one --threshold argument a line, '#' comments), else 5%.
#
# Environment: PROFILE (ci), REPETITIONS (the profile's), CONTAINERS (40), METRICS (the gated
# metrics, space-separated globs), COMPARE_FLAGS (more compare options), MACHINE_KIND,
# BASELINE (a path instead of results/baselines/KIND.json), THRESHOLDS (a file instead of
# KIND.thresholds), JOURNAL_DIR, OUT (build/bench-ci).
set -eu
cd "$(dirname "$0")/.."
mode=${1:-compare}
profile=${PROFILE:-ci}
reps=${REPETITIONS:-}
containers=${CONTAINERS:-40}
metrics=${METRICS:-"*/p50 */containers_per_s */amplification"}
out=${OUT:-build/bench-ci}
kind=${MACHINE_KIND:-$(scripts/machine-kind.sh)}
baseline=${BASELINE:-results/baselines/$kind.json}
thresholds=${THRESHOLDS:-results/baselines/$kind.thresholds}
# The undo journal syncs a record inside the timed create and start: on a disk-backed /run
# that is the host disk's fsync latency, not the storage under test. Keep it in memory.
if [ -z "${JOURNAL_DIR:-}" ]; then
	JOURNAL_DIR=/run/stortune
	[ "$(stat -f -c %T /run 2>/dev/null)" = tmpfs ] || JOURNAL_DIR=/dev/shm/stortune
fi

if [ "$mode" = compare ] && [ ! -f "$baseline" ]; then
	echo "bench-ci: no baseline for machine kind $kind ($baseline); record one with" \
		"make bench-baseline" >&2
	exit 2
fi
mkdir -p "$out"
result=$out/candidate.json
[ "$mode" = baseline ] && result=$out/baseline.json
echo "== stortune bench: overlay, profile $profile, ${reps:-the profile's} repetitions of" \
	"$containers containers (journal in $JOURNAL_DIR)"
made_jdir=
[ -e "$JOURNAL_DIR" ] || made_jdir=1
./stortune bench --backend overlay --profile "$profile" ${reps:+--repetitions "$reps"} \
	--containers "$containers" --journal-dir "$JOURNAL_DIR" -q -o "$result" \
	>"$out/bench.txt" || {
	echo "bench-ci: the benchmark failed; nothing compared (if it was killed:" \
		"stortune cleanup --journal-dir $JOURNAL_DIR)" >&2
	exit 2
}
# a clean run leaves its journal directory empty; the one made for it goes too
[ -z "$made_jdir" ] || rmdir "$JOURNAL_DIR" 2>/dev/null
if [ "$mode" = baseline ]; then
	mkdir -p "$(dirname "$baseline")"
	mv "$result" "$baseline"
	echo "== baseline for $kind: $baseline"
	exit 0
fi

set -f # the globs are for compare, not for the shell
set --
for m in $metrics; do
	set -- "$@" --metric "$m"
done
if [ -f "$thresholds" ]; then
	while read -r t; do
		case $t in '' | '#'*) continue ;; esac
		set -- "$@" --threshold "$t"
	done <"$thresholds"
	echo "== thresholds from $thresholds"
fi
echo "== stortune compare $baseline $result"
rc=0
# shellcheck disable=SC2086
./stortune compare "$baseline" "$result" "$@" --junit "$out/junit.xml" \
	--markdown "$out/compare.md" ${COMPARE_FLAGS:-} || rc=$?
case $rc in
0) echo "== bench-ci: no regression ($out/junit.xml, $out/compare.md)" ;;
1) echo "== bench-ci: REGRESSION ($out/junit.xml, $out/compare.md)" ;;
*) echo "== bench-ci: compare could not run (exit $rc)" ;;
esac
exit $rc
