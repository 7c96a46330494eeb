#!/bin/sh
# make run: `stortune qualify` of the embedded default (the scratch directory, no spare disk).
# On a kernel without device-mapper the dm backends run in the VM tier (tests/vm: Debian's
# kernel under qemu/TCG with an emulated NVMe disk) and qualify includes their results,
# labelled vm-tcg. With dockerd installed, overlay is also measured through the real engine
# (qualify --engine both: side by side, and whether the two rank the backends the same).
# Output: build/run/{results.json,summary.txt,report.html} and the table on stdout; the
# last line names the report page.
set -eu
cd "$(dirname "$0")/.."
out=build/run
profile=${PROFILE:-ci}
# A qualification, not the CI gate: fewer starts than the ci profile's 40 x 10, which the VM
# tier under TCG and the real engine (about a second a container here) would take tens of
# minutes over (CONTAINERS, REPETITIONS override).
sizes="--containers ${CONTAINERS:-10} --repetitions ${REPETITIONS:-3}"
mkdir -p "$out"
rm -f "$out/vm/vm.json"
include=""
if ! grep -qw device-mapper /proc/misc 2>/dev/null; then
	if command -v qemu-system-x86_64 >/dev/null 2>&1; then
		echo "== this kernel has no device-mapper: dm-loop and direct-lvm run in the VM tier"
		tests/vm/guest.sh build
		if tests/vm/guest.sh run tests/vm/bench.sh --out "$out/vm" --timeout 1800 \
			--mem 3072 --quiet --file "profiles/$profile.ini:/profiles/$profile.ini" \
			--env "STT_PROFILE=/profiles/$profile.ini" --env "STT_BENCH_SIZES=$sizes"; then
			include="--include $out/vm/vm.json"
		else
			echo "== the VM run failed (see $out/vm/console.log); qualifying without it"
		fi
	else
		echo "== no qemu: the dm backends are reported unavailable"
	fi
fi
# The real engine beside the emulation when Debian's dockerd and busybox-static are here
# (ENGINE=emulated|docker|both overrides).
engine=${ENGINE:-}
if [ -z "$engine" ]; then
	if command -v dockerd >/dev/null 2>&1 && [ -x /bin/busybox ]; then
		engine=both
	else
		engine=emulated
	fi
fi
echo "== stortune qualify (scratch target, profile $profile, $sizes, engine $engine)"
# shellcheck disable=SC2086
./stortune qualify --profile "$profile" --engine "$engine" $sizes -o "$out" $include
echo "== report: $(pwd)/$out/report.html"
