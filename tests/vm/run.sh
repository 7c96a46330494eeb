#!/bin/bash
# VM test tier, host side (what `make check` calls): build the guest (cached), boot it under qemu/TCG
# with tests/vm/smoke.sh, priv.sh, tune.sh and deploy.sh in turn, and check what each brought back.
# Prints one line per check and, last, "N passed, N failed". Exit 0 when all passed, 1 otherwise, 77
# (skipped) without qemu-system-x86_64.
#
#   STT_VM_TIMEOUT   seconds before the guest is killed (default 300)
#   STT_VM_OUT       where the guest's results go (default build/vm/out/smoke)
#   STT_VM_SCRIPT    the guest script (default tests/vm/smoke.sh; for testing this script)
#   STT_DEPLOY_DIR   setup-direct-lvm.sh, daemon.json and docker-thinpool.profile for deploy.sh
#                    (default: what `stortune recommend` makes of tune.sh's sweep; the hand-made
#                    tests/vm/fixtures when that fails, counted as a failure); with it,
#                    STT_DEPLOY_CHUNK_BYTES and STT_DEPLOY_ZEROING (0|1) describe the pool they make
#                    (default 524288, 0)
#   STT_VM_TUNE_DIRECT_LVM=1   also run the tune sweep on direct-lvm (the NVMe disk; ~80 s more)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GUEST=$HERE/guest.sh
OUT=${STT_VM_OUT:-$ROOT/build/vm/out/smoke}
TIMEOUT=${STT_VM_TIMEOUT:-300}
SCRIPT=${STT_VM_SCRIPT:-$HERE/smoke.sh}

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "vm tests skipped: qemu-system-x86_64 is not installed (make deps installs qemu-system-x86)"
	exit 77
fi

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok     $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL   $*"; }
# guest_run OUT SCRIPT [guest.sh run options]: boots the guest; when its kernel locked up under
# TCG (exit 124 and a soft lockup on the console: runc can do that, see deploy.sh), says so and
# boots it once more.
guest_run() {
	local out=$1 rc attempt
	shift
	for attempt in 1 2; do
		TMPDIR=$TMPD "$GUEST" run "$@" --out "$out"
		rc=$?
		[ $rc -eq 124 ] && [ $attempt -eq 1 ] && grep -q 'soft lockup' "$out/console.log" 2>/dev/null || break
		echo "note   guest $(basename "$1"): the guest's kernel locked up under TCG (soft lockup in $out/console.log); booting it once more"
	done
	return $rc
}
check() { # check NAME COMMAND...
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

T0=$(date +%s.%N)
# A private TMPDIR for guest.sh: its disk images live there, and it must be empty afterwards.
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/stt-vmtest.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT

echo "== vm: building the guest"
if "$GUEST" build; then
	ok "guest build"
else
	bad "guest build"
	finish
fi
T1=$(date +%s.%N)

echo "== vm: booting the guest with $(basename "$SCRIPT") (TCG, timeout ${TIMEOUT}s)"
TMPDIR=$TMPD "$GUEST" run "$SCRIPT" --out "$OUT" --timeout "$TIMEOUT" --quiet
RC=$?
T2=$(date +%s.%N)
if [ $RC -eq 0 ]; then
	ok "guest ran smoke.sh and exited 0"
else
	bad "guest run (guest.sh run exit $RC; console: $OUT/console.log)"
	# Show what failed.
	grep -a -E '^(!! FAILED|CHECK FAILED)' "$OUT/console.log" 2>/dev/null | tr -d '\r' | sed 's/^/       /'
	[ -f "$OUT/diag.txt" ] && sed 's/^/       | /' "$OUT/diag.txt" | head -n 60
fi
check "console.log has the STT-VM-EXIT marker" grep -aq 'STT-VM-EXIT=' "$OUT/console.log"
check "no disk images left behind" test -z "$(ls -A "$TMPD")"

# --- what the guest reported
TXT=$OUT/smoke.txt
JSON=$OUT/smoke.json
FACTS=$OUT/facts.txt
check "results disk brought back smoke.txt" test -s "$TXT"
json_ok() {
	[ -s "$JSON" ] || return 1
	if command -v jq >/dev/null 2>&1; then
		jq -e '.ok == true and (.steps | length) > 0 and (.facts | type) == "object"' "$JSON" >/dev/null
	elif command -v python3 >/dev/null 2>&1; then
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["ok"] is True and d["steps"] else 1)' "$JSON"
	else
		grep -q '"ok": true' "$JSON"
	fi
}
check "smoke.json is valid JSON and says ok" json_ok

# Every step the dm backends rely on must be there and have passed (a missing step is a failure:
# the guest stopped before it).
STEPS="env.modules env.targets env.disk env.dm_nodes env.lvm_conf env.overlay env.lvm_stock_conf
a.mkfs_ext4 a.mount_ext4 a.sparse_files a.losetup a.pool_create a.create_thin a.thin_activate
a.mkfs_xfs a.write_base a.snapshot a.snap_activate a.isolation a.pool_status a.thin_remove
a.pool_remove a.loop_detach a.dm_empty a.wipe
b.pvcreate b.vgcreate b.lv_data b.lv_meta b.lvconvert b.profile b.lvs b.pool_dm b.thin
b.thin_remove b.vgremove b.pvremove"
for s in $STEPS; do
	line=$(grep -m1 -E "^(PASS|FAIL) $s " "$TXT" 2>/dev/null || true)
	case "$line" in
	PASS*) ok "guest step $s" ;;
	FAIL*) bad "guest step $s: ${line#FAIL $s }" ;;
	*) bad "guest step $s: not reached" ;;
	esac
done
# Steps smoke.sh grew that this list does not name yet still count.
if [ -f "$TXT" ]; then
	while read -r st name _; do
		case " $(echo $STEPS) " in *" $name "*) continue ;; esac
		if [ "$st" = PASS ]; then ok "guest step $name"; else bad "guest step $name"; fi
	done <"$TXT"
fi

# Facts the C backends are built on.
fact() { sed -n "s/^$1=//p" "$FACTS" 2>/dev/null | head -n 1; }
fact_is() { [ "$(fact "$1")" = "$2" ]; }
fact_starts() { case "$(fact "$1")" in "$2"*) return 0 ;; *) return 1 ;; esac; }
fact_gt0() { local v; v=$(fact "$1"); [ -n "$v" ] && [ "$v" -gt 0 ] 2>/dev/null; }
check "fact: guest kernel is Debian's 6.1 ($(fact kernel))" fact_starts kernel 6.1.
check "fact: thin-pool target present ($(fact thin_pool_target_version))" fact_starts thin_pool_target_version v1.
check "fact: DM_DISABLE_UDEV=1 makes libdevmapper create /dev/mapper nodes" fact_starts dm_node_with_DM_DISABLE_UDEV created
check "fact: without it (and without udev) no /dev/mapper node appears" fact_is dm_node_without_DM_DISABLE_UDEV missing
check "fact: dm-loop pool of 2G has 32768 64K blocks" fact_is a_pool_data_blocks 32768
check "fact: dm-loop pool reported used data blocks ($(fact a_pool_data_used_blocks))" fact_gt0 a_pool_data_used_blocks
check "fact: xfs snapshot mount needs nouuid" fact_starts a_xfs_snapshot_mount_without_nouuid fails
fact_has() { case "$(fact "$1")" in *"$2"*) return 0 ;; *) return 1 ;; esac; }
check "fact: LVM pool is /dev/mapper/docker-thinpool, a thin-pool target" fact_has b_pool_table " thin-pool "
check "fact: LVM direct-lvm pool used data blocks ($(fact b_data_blocks_512k_after_mkfs_and_8MiB))" fact_gt0 b_data_blocks_512k_after_mkfs_and_8MiB

# --- stortune's own dm backends, for real: tests/priv's backend and interruption suites in the guest
# (dm-loop on sparse files, direct-lvm on the NVMe disk), with the project's binaries.
POUT=${STT_VM_PRIV_OUT:-$ROOT/build/vm/out/priv}
if [ -x "$ROOT/build/priv-tests" ] && [ -x "$ROOT/stortune" ]; then
	echo "== vm: booting the guest with priv.sh (stortune's backends; timeout ${PRIV_TIMEOUT:=1500}s)"
	TMPDIR=$TMPD "$GUEST" run "$HERE/priv.sh" --out "$POUT" --timeout "$PRIV_TIMEOUT" --mem 3072 \
		--quiet --file "$ROOT/build/priv-tests:/usr/local/bin/priv-tests"
	RC=$?
	if [ $RC -eq 0 ]; then
		ok "guest ran the privileged backend tests and exited 0"
	else
		bad "guest priv tests (exit $RC; log: $POUT/priv.log)"
		grep -a -E 'FAILED|^ +[0-9]+\. ' "$POUT/priv.log" 2>/dev/null | head -n 30 | sed 's/^/       /'
	fi
	for b in dm-loop direct-lvm containerd-devmapper; do
		check "guest: $b lifecycle test passed" grep -aq "Test: $b: .* layers, .* containers ...passed" "$POUT/priv.log"
		[ "$b" = containerd-devmapper ] && continue # its interruption test: make check-vm-containerd
		check "guest: $b interruption test (SIGTERM, SIGKILL + cleanup) passed" \
			sh -c "grep -a -A1 'Test: $b: SIGTERM' '$POUT/priv.log' | grep -q 'passed\$'"
	done
	check "guest: no dm device left (dmsetup ls)" grep -q 'No devices found' "$POUT/dmsetup-ls.txt"
	check "guest: no loop device left" test ! -s "$POUT/losetup.txt"
	check "guest: the NVMe disk has no signature left" test ! -s "$POUT/disk-blkid.txt"
	check "no disk images left behind (priv)" test -z "$(ls -A "$TMPD")"
else
	bad "guest priv tests: build/priv-tests or ./stortune not built (make check builds them)"
fi

# Guest steps of a results file ("PASS|FAIL <step> ..." lines): each listed step must have passed,
# and steps the file has beyond the list count too.
steps_of() { # steps_of LABEL FILE STEP...
	local label=$1 file=$2 s line st name rest
	shift 2
	for s in "$@"; do
		line=$(grep -m1 -E "^(PASS|FAIL) $s( |\$)" "$file" 2>/dev/null || true)
		case "$line" in
		PASS*) ok "$label $s" ;;
		FAIL*) bad "$label $s: ${line#FAIL $s }" ;;
		*) bad "$label $s: not reached" ;;
		esac
	done
	[ -f "$file" ] || return 0
	while read -r st name rest; do
		case " $* " in *" $name "*) continue ;; esac
		if [ "$st" = PASS ]; then ok "$label $name"; else bad "$label $name: $rest"; fi
	done <"$file"
}

# --- stortune tune on dm-loop in the guest: a 3 x 2 sweep with a tiny profile (tests/vm/tune.sh).
TOUT=${STT_VM_TUNE_OUT:-$ROOT/build/vm/out/tune}
if [ -x "$ROOT/stortune" ] && command -v jq >/dev/null 2>&1; then
	echo "== vm: booting the guest with tune.sh (stortune tune --backend dm-loop; timeout ${TUNE_TIMEOUT:=600}s)"
	TMPDIR=$TMPD "$GUEST" run "$HERE/tune.sh" --out "$TOUT" --timeout "$TUNE_TIMEOUT" --quiet \
		--add "$(command -v jq)" --file "$HERE/fixtures/tune-tiny.ini:/profiles/tune-tiny.ini"
	RC=$?
	if [ $RC -eq 0 ]; then ok "guest ran tune.sh and exited 0"; else bad "guest tune.sh (exit $RC; $TOUT/tune.log)"; fi
	steps_of "guest tune:" "$TOUT/tune-checks.txt" tune.exit tune.leftovers json.valid json.points \
		json.schema json.all_ok json.figures json.order json.provisioning json.space_blocks \
		json.space_grows table.rows table.order
	check "no disk images left behind (tune)" test -z "$(ls -A "$TMPD")"
	# The same sweep on direct-lvm (the NVMe disk): about 80 s more, so only when asked.
	if [ "${STT_VM_TUNE_DIRECT_LVM:-0}" = 1 ]; then
		echo "== vm: booting the guest with tune.sh on direct-lvm (/dev/nvme0n1)"
		TMPDIR=$TMPD "$GUEST" run "$HERE/tune.sh" --out "$TOUT-direct-lvm" --timeout "$TUNE_TIMEOUT" \
			--quiet --add "$(command -v jq)" --env STT_TUNE_BACKEND=direct-lvm \
			--file "$HERE/fixtures/tune-tiny.ini:/profiles/tune-tiny.ini"
		RC=$?
		if [ $RC -eq 0 ]; then ok "guest ran tune.sh on direct-lvm and exited 0"; else bad "guest tune.sh on direct-lvm (exit $RC)"; fi
		steps_of "guest tune direct-lvm:" "$TOUT-direct-lvm/tune-checks.txt" tune.exit json.all_ok json.space_grows
	fi
else
	bad "guest tune: ./stortune not built or no jq on this host (make deps installs jq)"
fi

# --- faults of the thin pool, for real (tests/vm/faults.sh): a pool out of data space in the
# containers' first writes, one out of metadata space while they are created, I/O errors
# under direct-lvm, tune killed, loop devices exhausted. Each must end in a bounded time, exit
# 1 naming the fault, leave an incomplete document and nothing else. make check runs the quick
# set (STT_FAULT_QUICK=1: 2-5 minutes under TCG); STT_VM_FAULTS=1 (make check-vm-faults)
# every phase with dm-thin's own 60 s queue timeout.
FOUT=${STT_VM_FAULTS_OUT:-$ROOT/build/vm/out/faults}
FQUICK=1
[ "${STT_VM_FAULTS:-0}" != 1 ] || FQUICK=0
if [ -x "$ROOT/stortune" ] && [ -x "$ROOT/build/priv-tests" ] && command -v jq >/dev/null 2>&1; then
	: "${FAULTS_TIMEOUT:=$([ $FQUICK = 1 ] && echo 900 || echo 1800)}"
	echo "== vm: booting the guest with faults.sh (quick=$FQUICK; timeout ${FAULTS_TIMEOUT}s)"
	TMPDIR=$TMPD "$GUEST" run "$HERE/faults.sh" --out "$FOUT" --timeout "$FAULTS_TIMEOUT" --quiet \
		--mem 3072 --add "$(command -v jq)" --file "$ROOT/build/priv-tests:/usr/local/bin/priv-tests" \
		--env "STT_FAULT_QUICK=$FQUICK"
	RC=$?
	if [ $RC -eq 0 ]; then ok "guest ran faults.sh and exited 0"; else bad "guest faults.sh (exit $RC; $FOUT/faults-checks.txt)"; fi
	steps_of "guest faults:" "$FOUT/faults-checks.txt" pool-data.bounded pool-data.exit \
		pool-data.message pool-data.document pool-data.leftovers pool-meta.bounded \
		pool-meta.exit pool-meta.message pool-meta.document pool-meta.leftovers ioerr.directlvm \
		vgj.cleanup loopx.exhausted
	check "no disk images left behind (faults)" test -z "$(ls -A "$TMPD")"
else
	bad "guest faults: ./stortune or build/priv-tests not built, or no jq on this host (make deps installs jq)"
fi

# --- deployment files on the NVMe disk (tests/vm/deploy.sh): setup-direct-lvm.sh twice, the pool
# checked with lvs and the dm table, then dockerd with the daemon.json. The files are the hand-made
# fixture (tests/vm/fixtures) unless STT_DEPLOY_DIR holds generated ones; STT_DEPLOY_CHUNK_BYTES and
# STT_DEPLOY_ZEROING say what pool they describe (default: the fixture's 512K, zeroing off).
DOUT=${STT_VM_DEPLOY_OUT:-$ROOT/build/vm/out/deploy}
DDIR=${STT_DEPLOY_DIR:-}
DDAEMON=daemon.json
# The files to deploy are what `stortune recommend` makes of the dm-loop sweep above (it must
# pick the pool's chunk size and zeroing from it, rule chunk.tune), unless STT_DEPLOY_DIR names
# others. The devicemapper daemon.json is daemon-devicemapper.json when overlay2 is the pick.
if [ -z "$DDIR" ]; then
	DDIR=$ROOT/build/vm/out/recommend
	rm -rf "$DDIR"
	if [ -s "$TOUT/tune.json" ] &&
		"$ROOT/stortune" -q --json recommend "$TOUT/tune.json" -o "$DDIR" --device /dev/nvme0n1 \
			>"$DDIR.json" 2>"$DDIR.err"; then
		ok "recommend made the deployment files from the guest's dm-loop sweep"
		check "recommend cites the sweep for the chunk size" \
			test "$(jq -r '.decisions[] | select(.key == "pool.chunk_size") | .rule' "$DDIR.json")" = chunk.tune
		check "recommend cites the sweep for zeroing" \
			test "$(jq -r '.decisions[] | select(.key == "pool.zeroing") | .rule' "$DDIR.json")" = zeroing.tune
		check "RECOMMENDATION.md gives the sweep's figures" grep -q "dm-loop sweep" "$DDIR/RECOMMENDATION.md"
		[ -e "$DDIR/daemon-devicemapper.json" ] && DDAEMON=daemon-devicemapper.json
		STT_DEPLOY_CHUNK_BYTES=$(sed -n 's/^CHUNK_BYTES=//p' "$DDIR/setup-direct-lvm.sh")
		case $(sed -n 's/^ZERO=//p' "$DDIR/setup-direct-lvm.sh") in
		y) STT_DEPLOY_ZEROING=1 ;;
		*) STT_DEPLOY_ZEROING=0 ;;
		esac
	else
		bad "recommend of the guest's sweep ($TOUT/tune.json; $DDIR.err): the hand-made fixture is deployed instead"
		DDIR=$HERE/fixtures
	fi
fi
if command -v jq >/dev/null 2>&1; then
	dadds=(--add "$(command -v jq)")
	docker_bins="/usr/sbin/dockerd /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc /usr/bin/docker"
	have_docker=1
	for b in $docker_bins; do [ -x "$b" ] || have_docker=0; done
	if [ $have_docker -eq 1 ]; then
		for b in $docker_bins; do dadds+=(--add "$b"); done
		[ -e /usr/bin/docker-init ] && dadds+=(--add /usr/bin/docker-init)
	fi
	echo "== vm: booting the guest with deploy.sh ($DDIR; dockerd: $([ $have_docker -eq 1 ] && echo yes || echo "not on this host"); timeout ${DEPLOY_TIMEOUT:=600}s)"
	guest_run "$DOUT" "$HERE/deploy.sh" --timeout "$DEPLOY_TIMEOUT" --quiet "${dadds[@]}" \
		--file "$DDIR/setup-direct-lvm.sh:/deploy/setup-direct-lvm.sh" \
		--file "$DDIR/$DDAEMON:/deploy/daemon.json" \
		--file "$DDIR/docker-thinpool.profile:/deploy/docker-thinpool.profile" \
		--env "STT_EXPECT_CHUNK_BYTES=${STT_DEPLOY_CHUNK_BYTES:-524288}" \
		--env "STT_EXPECT_ZEROING=${STT_DEPLOY_ZEROING:-0}"
	RC=$?
	if [ $RC -eq 0 ]; then ok "guest ran deploy.sh and exited 0"; else bad "guest deploy.sh (exit $RC; $DOUT/console.log)"; fi
	dsteps="setup.first pool.lvs pool.dm_table pool.profile setup.second setup.idempotent setup.says_nothing_done"
	[ $have_docker -eq 0 ] || dsteps="$dsteps docker.start docker.info_driver docker.info_pool docker.run docker.stop"
	# shellcheck disable=SC2086
	steps_of "guest deploy:" "$DOUT/deploy.txt" $dsteps teardown
	[ $have_docker -eq 1 ] || echo "skip   guest deploy: dockerd (docker.io is not installed on this host)"
	fdocker=$(sed -n 's/^docker_udev_sync_override=//p' "$DOUT/deploy-facts.txt" 2>/dev/null)
	[ -z "$fdocker" ] || echo "note   guest deploy: dockerd without udev: dm.override_udev_sync_check=true $fdocker (test-only)"
	grep -q '^docker_xfs_nospace_retries_removed=yes' "$DOUT/deploy-facts.txt" 2>/dev/null &&
		echo "note   guest deploy: dockerd without udev: dm.xfs_nospace_max_retries left out of the test copy (it needs udev's /dev/mapper symlinks)"
	check "no disk images left behind (deploy)" test -z "$(ls -A "$TMPD")"
else
	bad "guest deploy: no jq on this host (make deps installs jq)"
fi

# --- real containerd on its devmapper snapshotter, with the drop-in `stortune recommend
# --engine-version containerd` makes of the sweep (containerd.sh).
COUT=${STT_VM_CTRD_OUT:-$ROOT/build/vm/out/containerd}
ctrd_bins="/usr/bin/containerd /usr/bin/ctr /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc"
have_ctrd=1
for b in $ctrd_bins; do [ -x "$b" ] || have_ctrd=0; done
if [ $have_ctrd -eq 1 ] && [ -s "$TOUT/tune.json" ]; then
	CDEP=$ROOT/build/vm/out/containerd-deploy
	rm -rf "$CDEP"
	cver=$(/usr/bin/containerd --version | awk '{ print $3 }')
	if "$ROOT/stortune" -q recommend "$TOUT/tune.json" -o "$CDEP" --engine-version "containerd $cver" \
		--snapshotter devmapper >"$CDEP.log" 2>&1 && "$ROOT/scripts/containerd-test.sh" image "$CDEP"; then
		ok "recommend wrote containerd's devmapper drop-in (containerd $cver's parser accepted it)"
		cadds=()
		for b in $ctrd_bins; do cadds+=(--add "$b"); done
		echo "== vm: booting the guest with containerd.sh (containerd $cver, devmapper; timeout 900s)"
		guest_run "$COUT" "$HERE/containerd.sh" --timeout 900 --mem 3072 --quiet \
			"${cadds[@]}" --file "$CDEP/containerd-snapshotter.toml:/deploy/containerd-snapshotter.toml" \
			--file "$CDEP/image.tar:/deploy/image.tar" --file "$ROOT/profiles/ci.ini:/deploy/ci.ini"
		RC=$?
		if [ $RC -eq 0 ]; then ok "guest ran containerd.sh and exited 0"; else bad "guest containerd.sh (exit $RC; $COUT/console.log)"; fi
		steps_of "guest containerd:" "$COUT/containerd.txt" pool config.dump containerd.start \
			plugin.devmapper import run engine engine.clean teardown
		[ ! -s "$COUT/containerd-figures.txt" ] ||
			echo "note   guest containerd (TCG): $(tr '\n' ' ' <"$COUT/containerd-figures.txt")"
	else
		bad "recommend --engine-version containerd for the guest ($CDEP.log)"
	fi
	check "no disk images left behind (containerd)" test -z "$(ls -A "$TMPD")"
else
	echo "skip   guest containerd: containerd, ctr, its shim and runc not all on this host, or no sweep"
fi

. "$HERE/engine-host.sh" # the real engine on the dm backends (engine.sh)

T3=$(date +%s.%N)
echo "== vm timing: build $(secs "$T0" "$T1") s, boot+smoke $(secs "$T1" "$T2") s, total $(secs "$T0" "$T3") s" \
	"($(tr '\n' ' ' <"$OUT/timing.txt" 2>/dev/null))"
finish
