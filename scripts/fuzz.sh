#!/bin/sh
# Runs the fuzz harnesses of tests/fuzz/ (built by `make fuzz-build` into build/fuzz/bin/).
#
#   scripts/fuzz.sh SECONDS [TARGET ...]   fuzz each target for SECONDS (all when none named)
#   FUZZ_JOB=N scripts/fuzz.sh ...         a second run of the same target at the same time
#                                          (its own log; the corpus is shared)
#   scripts/fuzz.sh smoke [TARGET ...]     the make check step: every input of
#                                          tests/unit/data/fuzz/TARGET/ once, then
#                                          FUZZ_SMOKE_SECONDS (default 3) of fuzzing each
#
# Each target's corpus lives in build/fuzz/corpus/TARGET, seeded from tests/fuzz/corpus/TARGET/,
# the samples of tests/unit/data (and profiles/) that are of its format, and its regressions.
# Leaks (-detect_leaks=1), hangs (-timeout) and memory blow-ups (-rss_limit_mb) fail like
# crashes; the input goes to build/fuzz/artifacts/TARGET/. Every run appends a line
# "date target seconds executions result" to build/fuzz/runs.tsv; `scripts/fuzz.sh` ends with
# the totals per target over all the runs recorded there. Exit 1 when any target failed.
set -u

cd "$(dirname "$0")/.." || exit 1
# A report with its stack; leaks found at exit of each input are reported by libFuzzer itself.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# A small quarantine: the documents allocate much, and a large one makes every run touch
# fresh pages (3-4x slower here); a use after free within the last 4 MiB freed is still caught.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=4:malloc_context_size=10}
BIN=build/fuzz/bin
mode=${1:-}
[ -n "$mode" ] || { echo "usage: scripts/fuzz.sh SECONDS|smoke [TARGET ...]" >&2; exit 2; }
shift
case $mode in
smoke) secs=${FUZZ_SMOKE_SECONDS:-3} ;;
*[!0-9]* | '') echo "fuzz.sh: SECONDS must be a number: $mode" >&2; exit 2 ;;
*) secs=$mode ;;
esac

targets=$*
if [ -z "$targets" ]; then
	for f in tests/fuzz/fuzz_*.c; do
		t=${f#tests/fuzz/fuzz_}
		targets="$targets ${t%.c}"
	done
fi

# The samples of other folders that are of a target's format.
seeds_of() {
	case $1 in
	profile) ls profiles/*.ini tests/unit/data/profiles/*.ini ;;
	trace) ls tests/unit/data/tracefs-*.txt ;;
	mountinfo) ls tests/unit/data/mountinfo.* ;;
	swaps) ls tests/unit/data/swaps.* ;;
	proctext) ls tests/unit/data/filesystems.* tests/unit/data/misc.* tests/unit/data/locks.* ;;
	esac 2>/dev/null
}

# Large inputs only where the format needs them (tars, results documents).
max_len_of() {
	case $1 in
	docker_save) echo 65536 ;;
	results) echo 8192 ;;
	*) echo 16384 ;;
	esac
}

# A dictionary of the format's tokens, where one helps.
dict_of() {
	case $1 in
	results | daemonjson | trace) echo "-dict=tests/fuzz/dict/json.dict" ;;
	esac
}

failed=""
for t in $targets; do
	bin=$BIN/$t
	if [ ! -x "$bin" ]; then
		echo "fuzz.sh: $bin: not built (make fuzz-build)" >&2
		failed="$failed $t"
		continue
	fi
	corpus=build/fuzz/corpus/$t
	art=build/fuzz/artifacts/$t
	log=build/fuzz/logs/$t${FUZZ_JOB:+.$FUZZ_JOB}.log
	mkdir -p "$corpus" "$art" build/fuzz/logs
	for s in tests/fuzz/corpus/"$t"/* tests/unit/data/fuzz/"$t"/* $(seeds_of "$t"); do
		[ -f "$s" ] || continue
		cp "$s" "$corpus/seed-$(echo "$s" | tr '/' '_')"
	done
	opts="-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -detect_leaks=1
		-max_len=$(max_len_of "$t") -print_final_stats=1 -artifact_prefix=$art/
		$(dict_of "$t")"

	# The regressions: each input once; any crash, leak or hang fails.
	if [ "$mode" = smoke ] && [ -d tests/unit/data/fuzz/"$t" ]; then
		n=$(ls tests/unit/data/fuzz/"$t" | wc -l)
		# shellcheck disable=SC2086
		if ! "$bin" $opts tests/unit/data/fuzz/"$t"/* >"$log" 2>&1; then
			echo "fuzz $t: a regression input fails again (see $log):" >&2
			tail -n 30 "$log" >&2
			failed="$failed $t"
			continue
		fi
		echo "fuzz $t: $n regression inputs pass"
	fi

	start=$(date +%s)
	# shellcheck disable=SC2086
	"$bin" $opts -max_total_time="$secs" "$corpus" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*DONE.*/\1/p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=0
	if [ $rc -eq 0 ]; then
		result=ok
	else
		result=FAILED
		failed="$failed $t"
	fi
	printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$t" $((end - start)) \
		"$execs" "$result" >>build/fuzz/runs.tsv
	printf 'fuzz %-12s %6ss %10s executions  %s\n' "$t" $((end - start)) "$execs" "$result"
	if [ $rc -ne 0 ]; then
		grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|Test unit written' \
			"$log" >&2
		echo "fuzz $t: exit $rc; the input is in $art/, the log in $log" >&2
	fi
done

if [ "$mode" != smoke ] && [ -f build/fuzz/runs.tsv ]; then
	echo "totals over build/fuzz/runs.tsv:"
	awk -F'\t' '{ s[$2] += $3; e[$2] += $4; if ($5 != "ok") f[$2]++ }
		END { for (t in s) printf "  %-12s %8d s %12d executions %3d failed runs\n",
			t, s[t], e[t], f[t] }' build/fuzz/runs.tsv | sort
fi
if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed" >&2
	exit 1
fi
exit 0
