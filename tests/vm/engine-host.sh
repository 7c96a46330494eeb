# shellcheck shell=bash
# Sourced by tests/vm/run.sh (its ok/bad/check/steps_of/guest_run, $GUEST, $TMPD, $ROOT, $HERE): the real
# engine on the dm backends in the guest (tests/vm/engine.sh) -- Debian's dockerd, containerd,
# shim and runc of this host added to the guest, `qualify --engine both` on dm-loop and direct-lvm
# with tests/vm/fixtures/engine-tiny.ini, then a SIGKILL + cleanup -- and the checks it wrote.
# About 2-3 min of TCG on a quiet 2-core host (7 min while other guests ran). STT_VM_ENGINE=0 skips it.
EOUT=${STT_VM_ENGINE_OUT:-$ROOT/build/vm/out/engine}
ebins="/usr/sbin/dockerd /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc"
eadds=()
emissing=""
for b in $ebins; do if [ -x "$b" ]; then eadds+=(--add "$b"); else emissing="$emissing $b"; fi; done
[ -e /usr/bin/docker-init ] && eadds+=(--add /usr/bin/docker-init)
# The report page's assets (make deps), for qualify -o.
for a in "$ROOT/vendor/npm/node_modules/uplot/dist/uPlot.iife.min.js" \
	"$ROOT/vendor/npm/node_modules/uplot/dist/uPlot.min.css" "$ROOT/vendor/npm/node_modules/uplot/LICENSE:uPlot.LICENSE" \
	"$ROOT/report/report.js" "$ROOT/report/report.css"; do
	src=${a%%:*}
	name=$(basename "$src")
	[ "$src" = "$a" ] || name=${a#*:}
	if [ -f "$src" ]; then eadds+=(--file "$src:/report-assets/$name"); else emissing="$emissing $src"; fi
done
if [ "${STT_VM_ENGINE:-1}" = 0 ]; then
	echo "skip   guest engine: STT_VM_ENGINE=0"
elif [ -n "$emissing" ] || ! command -v jq >/dev/null 2>&1 || [ ! -x "$ROOT/stortune" ]; then
	bad "guest engine: needs docker.io, jq, the report assets (make deps) and ./stortune; missing:${emissing:- jq or ./stortune}"
else
	echo "== vm: booting the guest with engine.sh (the real engine on dm-loop and direct-lvm; timeout ${ENGINE_TIMEOUT:=900}s)"
	guest_run "$EOUT" "$HERE/engine.sh" --timeout "$ENGINE_TIMEOUT" --mem 3072 --quiet \
		--add "$(command -v jq)" "${eadds[@]}" --env STT_REPORT_ASSETS=/report-assets \
		--file "$HERE/fixtures/engine-tiny.ini:/profiles/engine-tiny.ini"
	RC=$?
	if [ $RC -eq 0 ]; then ok "guest ran engine.sh and exited 0"; else bad "guest engine.sh (exit $RC; $EOUT/console.log)"; fi
	esteps="env.root qualify.exit qualify.leftovers qualify.emulated qualify.real"
	for be in dm-loop direct-lvm; do
		for c in ok engine udev_override phases device round_trip; do esteps="$esteps qualify.real.$be.$c"; done
	done
	esteps="$esteps qualify.side_by_side qualify.share qualify.ranking qualify.table kill.during kill.cleanup kill.leftovers"
	# shellcheck disable=SC2086
	steps_of "guest engine:" "$EOUT/engine-checks.txt" $esteps
	[ ! -s "$EOUT/engine-figures.txt" ] || echo "note   guest engine (TCG, p50 cold): $(tr '\n' ' ' <"$EOUT/engine-figures.txt")"
	[ ! -s "$EOUT/engine-timing.txt" ] || echo "note   guest engine timing: $(tr '\n' ' ' <"$EOUT/engine-timing.txt")"
	check "no disk images left behind (engine)" test -z "$(ls -A "$TMPD")"
fi
