#!/bin/bash
# Guest script of the VM tier: the real engine on the dm backends. The guest's dockerd (Debian's
# docker.io, which engine-host.sh adds with its containerd, shim and runc) under `stortune qualify
# --engine both` on dm-loop (a pool on loop devices over sparse files) and direct-lvm (a pool made
# by the backend's LVM steps on $STT_DISK), so that one document holds the emulated and the real
# figures side by side, labelled vm-tcg (its real half is `bench --engine docker`'s own code;
# STT_ENGINE_BENCH=1 runs that command alone first). Then a bench on dm-loop killed with SIGKILL
# while its containers run, and `stortune cleanup`.
#
#   STT_ENGINE_PROFILE the profile (default /profiles/engine-tiny.ini: ci's image, 5 containers x 2
#                      repetitions, cold only: TCG is slow); STT_ENGINE_SIZES more bench options
#   STT_ENGINE_BENCH=1 also `bench --engine docker` on each backend alone (qualify runs the same)
#   STT_ENGINE_QUALIFY_BACKENDS  qualify's backends (default dm-loop,direct-lvm; overlay can join)
#   STT_ENGINE_QUALIFY=0, STT_ENGINE_KILL=0  leave those steps out
#
# stortune runs chrooted into a tmpfs root with the guest's directories bind-mounted into it (as
# deploy.sh's dockerd): runc's pivot_root(2) fails on the initramfs, which is rootfs. Its dockerd
# gets dm.override_udev_sync_check=true from stortune itself, which adds it only where no udev runs.
#
# Results in $STT_RESULTS: real-<backend>.json (STT_ENGINE_BENCH=1), qualify/ (results.json with
# engine_check, summary.txt), engine-checks.txt ("PASS|FAIL <check> <detail>"), engine-figures.txt
# (the side-by-side table, key=value), engine-timing.txt, *.log, leftovers-*.txt.
set -uo pipefail

R=${STT_RESULTS:-/results}
DISK=${STT_DISK:-/dev/nvme0n1}
SIZES=${STT_ENGINE_SIZES:-}
PROFILE=${STT_ENGINE_PROFILE:-/profiles/engine-tiny.ini}
CHECKS=$R/engine-checks.txt
TIMING=$R/engine-timing.txt
NR=/newroot
J=/run/stt-engine-journal
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DM_DISABLE_UDEV=1
: >"$CHECKS"
: >"$TIMING"
FAILED=0
pass() { echo "PASS $1 ${2:-}" | tee -a "$CHECKS"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1 ${2:-}" | tee -a "$CHECKS"; }
check() { # check NAME DETAIL FILE JQ-FILTER: passes when the filter is true of the document
	if jq -e "$4" "$3" >/dev/null 2>&1; then pass "$1" "$2"; else fail "$1" "$2"; fi
}

# cgroup v2 for dockerd, a root runc can pivot_root out of, the scratch and journal directories.
if ! grep -q ' /sys/fs/cgroup ' /proc/mounts; then
	mkdir -p /sys/fs/cgroup
	mount -t cgroup2 cgroup2 /sys/fs/cgroup
fi
mkdir -p /var/tmp "$J" "$NR"
make_root() {
	local d l
	mount -t tmpfs -o size=16m,mode=0755 tmpfs "$NR" || return 1
	for d in usr etc var run tmp dev proc sys root results profiles report-assets; do
		[ -d "/$d" ] || continue
		mkdir -p "$NR/$d"
		mount --rbind "/$d" "$NR/$d" || return 1
	done
	for l in bin sbin lib lib32 lib64 libx32; do
		if [ -L "/$l" ]; then ln -s "$(readlink "/$l")" "$NR/$l"
		elif [ -d "/$l" ]; then mkdir -p "$NR/$l" && mount --rbind "/$l" "$NR/$l"; fi
	done
}
if ! make_root >"$R/make-root.log" 2>&1; then
	fail env.root "cannot make the chroot (make-root.log)"
	exit 1
fi
for b in dockerd containerd runc jq; do
	command -v "$b" >/dev/null || { fail env.tools "$b is not in the guest (run.sh --adds it)"; exit 1; }
done
pass env.root "stortune runs chrooted into $NR; $(dockerd --version)"
st() { chroot "$NR" /usr/local/bin/stortune "$@"; }

# What a run may leave: dm devices, LVs/VGs, loop devices, mounts below the scratch directory or
# in the chroot beyond its binds, dockerd/containerd/shim processes, files in the scratch dir.
leftovers() { # leftovers FILE: 0 when nothing is left
	{
		dmsetup ls 2>&1 | grep -v 'No devices found'
		lvs --noheadings 2>/dev/null
		vgs --noheadings 2>/dev/null
		losetup -a 2>&1
		grep -E ' /var/tmp/stortune| /newroot/var/tmp' /proc/mounts
		for p in /proc/[0-9]*; do
			a=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)
			case "${a%% *}" in */dockerd | dockerd | */containerd* | containerd* | */runc | runc)
				echo "process ${p#/proc/}: $a" ;;
			esac
		done
		find /var/tmp/stortune -mindepth 1 -maxdepth 1 2>/dev/null
		find "$J" -name '*.journal' 2>/dev/null | sed 's/^/journal left: /'
	} >"$1"
	[ ! -s "$1" ]
}
secs() { echo $(($(date +%s) - $1)); }

# The private dockerds' logs, copied while they run (stortune removes their directories).
mkdir -p "$R/dockerd-logs"
(
	while :; do
		for f in /var/tmp/stortune/*/dockerd/dockerd.log; do
			[ -f "$f" ] && cp "$f" "$R/dockerd-logs/$(basename "$(dirname "$(dirname "$f")")").log"
		done
		sleep 2
	done
) &
KEEPER=$!

# The checks of a real-engine backend entry: LABEL FILE ENTRY (a jq path to the entry).
real_checks() {
	local l=$1 f=$2 e=$3
	check "$l.ok" "status ok, environment vm-tcg" "$f" "$e | .status == \"ok\" and .environment == \"vm-tcg\""
	# The engine member: Docker on devicemapper, on the pool stortune made, with the backend's options.
	check "$l.engine" "engine docker, driver devicemapper on the pool given as dm.thinpooldev, the pool's settings" "$f" "$e"' | .engine as $e
		| ("dm.thinpooldev=/dev/mapper/" + ($e.driver_status["Pool Name"] // "?")) as $p
		| $e.name == "docker" and $e.driver == "devicemapper" and $e.private == true
		and ($e.version | length) > 0 and ($e.driver_status["Pool Name"] | length) > 0
		and ([$e.options[] | select(test("^dm\\.(fs|basesize|blkdiscard|use_deferred_removal|use_deferred_deletion)="))] | length) == 5
		and ([$e.options[] | select(. == $p)] | length) == 1'
	check "$l.udev_override" "dm.override_udev_sync_check=true (no udev in the guest)" "$f" \
		"[$e | .engine.options[] | select(. == \"dm.override_udev_sync_check=true\")] | length == 1"
	# Every phase of every mode the profile asks for, n = repetitions, a positive median in its interval.
	check "$l.phases" "every mode: all 7 phases, p50 with n = repetitions, median > 0 within its ci95" "$f" \
		".options as \$o | $e"' | .modes as $m
		| ($m | keys) == ([if $o.cold then "cold" else empty end, if $o.warm then "warm" else empty end])
		and ([$m[] | .phases | keys | length == 7] | all)
		and ([$m[] | .phases[] | .p50_ns | .n == $o.repetitions and .median > 0 and (.ci95 | length) == 2
		      and .ci95[0] <= .median and .median <= .ci95[1]] | all)'
	check "$l.device" "device counters, the pool holds the engine's blocks, the image loaded through the API" "$f" "$e"' |
		(.device | length) > 0 and ([.modes[].phases["first-write"].device.write_bytes.median > 0] | all)
		and .pool.after_import.data_used_blocks > 0 and .import.elapsed_ms > 0 and .import.device_write_bytes > 0'
	check "$l.round_trip" "the attach round trip measured, n = containers x repetitions x modes" "$f" \
		".options as \$o | $e | .engine.attach_round_trip_ns.n > 0 and .engine.attach_round_trip_ns.median > 0"
}

# ------------------------------------------ bench --engine docker (STT_ENGINE_BENCH=1; qualify runs it too)
# shellcheck disable=SC2086
for be in ${STT_ENGINE_BENCH_BACKENDS:-dm-loop direct-lvm}; do
	[ "${STT_ENGINE_BENCH:-0}" = 1 ] || break
	t0=$(date +%s)
	st -q bench --engine docker --backend "$be" --device "$DISK" --destroy-data "$DISK" \
		--profile "$PROFILE" $SIZES --env-label vm-tcg --journal-dir "$J" \
		-o "/results/real-$be.json" >"$R/bench-$be.log" 2>&1
	rc=$?
	echo "bench_docker_${be}_seconds=$(secs "$t0")" | tee -a "$TIMING"
	tail -n 5 "$R/bench-$be.log"
	if [ $rc -eq 0 ]; then pass "bench.$be.exit" "exit 0 in $(secs "$t0") s"; else fail "bench.$be.exit" "exit $rc: $(tail -n 3 "$R/bench-$be.log" | tr '\n' ' ')"; fi
	if leftovers "$R/leftovers-bench-$be.txt"; then
		pass "bench.$be.leftovers" "no dm device, LV, loop device, mount, dockerd or scratch file left"
	else
		fail "bench.$be.leftovers" "$(head -n 4 "$R/leftovers-bench-$be.txt" | tr '\n' ' ')"
	fi
	real_checks "bench.$be" "$R/real-$be.json" ".backends[] | select(.backend == \"$be\")"
done

# ------------------------------------------------ qualify --engine both: emulated and real side by side
if [ "${STT_ENGINE_QUALIFY:-1}" != 0 ]; then
QB=${STT_ENGINE_QUALIFY_BACKENDS:-dm-loop,direct-lvm}
t0=$(date +%s)
# shellcheck disable=SC2086
st -q qualify --engine both --backend "$QB" --device "$DISK" --destroy-data "$DISK" \
	--profile "$PROFILE" $SIZES --env-label vm-tcg --journal-dir "$J" -o /results/qualify \
	>"$R/qualify.txt" 2>"$R/qualify.log"
rc=$?
echo "qualify_both_seconds=$(secs "$t0")" | tee -a "$TIMING"
cat "$R/qualify.txt"
if [ $rc -eq 0 ]; then pass qualify.exit "exit 0 in $(secs "$t0") s"; else fail qualify.exit "exit $rc: $(tail -n 3 "$R/qualify.log" | tr '\n' ' ')"; fi
if leftovers "$R/leftovers-qualify.txt"; then
	pass qualify.leftovers "nothing left"
else
	fail qualify.leftovers "$(head -n 4 "$R/leftovers-qualify.txt" | tr '\n' ' ')"
fi
Q=$R/qualify/results.json
QJ=$(jq -cn --arg l "$QB" '$l | split(",") | sort')
QN=$(jq -n --arg l "$QB" '$l | split(",") | length')
check qualify.emulated "emulated $QB ok, vm-tcg, engine emulated" "$Q" "
	[.backends[] | select(.status == \"ok\" and .environment == \"vm-tcg\" and .engine.name == \"emulated\") | .backend]
	| sort == $QJ"
check qualify.real "real $QB ok, vm-tcg, engine docker (devicemapper on the dm backends)" "$Q" "
	[.engine_check.real[] | select(.status == \"ok\" and .environment == \"vm-tcg\" and .engine.name == \"docker\"
	  and (.engine.driver == \"devicemapper\" or .backend == \"overlay\")) | .backend] | sort == $QJ"
for be in ${QB//,/ }; do
	[ "$be" = overlay ] && continue
	real_checks "qualify.real.$be" "$Q" ".engine_check.real[] | select(.backend == \"$be\")"
done
check qualify.side_by_side "every backend, every phase: emulated and real p50 > 0" "$Q" "
	.engine_check.backends_compared == $QN and"'
 ([.engine_check.backends[] | .phases | length >= 5] | all)
	and ([.engine_check.backends[].phases[] | .emulated_p50_ns > 0 and .real_p50_ns > 0] | all)'
check qualify.share "storage's share of the real start, per backend, in (0, 1]" "$Q" \
	'[.engine_check.backends[] | .storage_share_of_start > 0 and .storage_share_of_start <= 1] | all'
check qualify.ranking "a ranking per phase, same backends in both, agreement stated" "$Q" '
	(.engine_check.ranking | length) >= 5
	and ([.engine_check.ranking[] | (.emulated | sort) == (.real | sort) and (.agree | type) == "boolean"] | all)
	and (.engine_check.rankings_agree | type) == "boolean"'
if grep -q '^emulated vs real engine' "$R/qualify.txt" && grep -q '^engine check: ' "$R/qualify.txt"; then
	pass qualify.table "the side-by-side table and the agreement line printed"
else
	fail qualify.table "no side-by-side table in qualify's output"
fi
# The figures, for run.sh and the README.
jq -r '.engine_check as $c | ($c.backends[] | .backend as $b |
	(.phases | to_entries[] | "\($b).\(.key)=emulated_p50_ms=\(.value.emulated_p50_ns / 1e6 * 1000 | round / 1000) real_p50_ms=\(.value.real_p50_ns / 1e6 * 1000 | round / 1000)"),
	"\($b).storage_share=\(.storage_share_of_start * 1000 | round / 10)%"),
	($c.ranking | to_entries[] | "ranking.\(.key)=emulated \(.value.emulated | join("<")) real \(.value.real | join("<")) agree=\(.value.agree)"),
	"mode=\($c.mode)", "rankings_agree=\($c.rankings_agree)"' "$Q" >"$R/engine-figures.txt" 2>&1
cat "$R/engine-figures.txt"
fi

# -------------------------------------------- SIGKILL while the containers run, then cleanup
if [ "${STT_ENGINE_KILL:-1}" != 0 ]; then
	t0=$(date +%s)
	chroot "$NR" /usr/local/bin/stortune -q bench --engine docker --backend dm-loop --profile "$PROFILE" \
		--containers 4 --repetitions 50 --journal-dir "$J" -o /results/killed.json \
		>"$R/kill.log" 2>&1 &
	pid=$!
	# Until the engine has containers on the pool: active thin devices (the image's base is not).
	active=0
	for ((i = 0; i < 600; i++)); do
		active=$(dmsetup table 2>/dev/null | grep -c ' thin [0-9]')
		[ "$active" -ge 2 ] && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.5
	done
	kill -KILL $pid 2>/dev/null
	wait $pid 2>/dev/null
	echo "kill_active_thin_devices=$active" | tee -a "$TIMING"
	if [ "$active" -ge 2 ]; then pass kill.during "killed with $active active thin devices of the engine"; else fail kill.during "the engine had no container on the pool before the kill ($(tail -n 2 "$R/kill.log" | tr '\n' ' '))"; fi
	st cleanup --journal-dir "$J" >"$R/cleanup.log" 2>&1
	rc=$?
	echo "kill_and_cleanup_seconds=$(secs "$t0")" | tee -a "$TIMING"
	cat "$R/cleanup.log"
	if [ $rc -eq 0 ]; then pass kill.cleanup "cleanup exit 0"; else fail kill.cleanup "cleanup exit $rc: $(tail -n 3 "$R/cleanup.log" | tr '\n' ' ')"; fi
	if leftovers "$R/leftovers-kill.txt"; then
		pass kill.leftovers "nothing left after SIGKILL and cleanup"
	else
		fail kill.leftovers "$(head -n 4 "$R/leftovers-kill.txt" | tr '\n' ' ')"
	fi
fi

kill $KEEPER 2>/dev/null
umount -R "$NR" 2>/dev/null || umount -R -l "$NR"
echo "== engine: $FAILED failed"
[ "$FAILED" -eq 0 ]
