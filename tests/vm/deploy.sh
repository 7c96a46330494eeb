#!/bin/bash
# Guest script of the VM tier: validates generated direct-lvm deployment files on the emulated NVMe
# disk, whoever generated them (tests/vm/run.sh passes them in with guest.sh --file):
#
#   /deploy/setup-direct-lvm.sh        run as `setup-direct-lvm.sh /dev/nvme0n1`, from /deploy
#   /deploy/daemon.json                the Docker daemon config (devicemapper, dm.thinpooldev=...)
#   /deploy/docker-thinpool.profile    the LVM profile the script must install
#
# What the host expects of the pool comes in the environment:
#   STT_EXPECT_VG (docker), STT_EXPECT_POOL (thinpool), STT_EXPECT_CHUNK_BYTES (524288),
#   STT_EXPECT_ZEROING (0|1), STT_EXPECT_PROFILE (docker-thinpool)
#   STT_DEPLOY_DOCKER=auto|no   try dockerd when it is in the guest (auto) or not at all
#
# Steps (each "PASS|FAIL <step> <seconds>s <detail>" in $STT_RESULTS/deploy.txt, logs in
# $STT_RESULTS/logs/): setup.first, pool.lvs, pool.dm_table, pool.profile, setup.second (exit 0),
# setup.idempotent (lvs/vgs/pvs, the dm tables and the profile unchanged, vg_seqno included),
# setup.says_nothing_done, then docker.* when dockerd can run here (docker.start, docker.info_driver,
# docker.info_pool, docker.run, docker.stop) and teardown.*. Facts go to $STT_RESULTS/deploy-facts.txt
# (key=value): among them docker=ran|unavailable and docker_udev_sync_override=needed|not-needed.
set -uo pipefail

R=${STT_RESULTS:-/results}
DISK=${STT_DISK:-/dev/nvme0n1}
D=/deploy
VG=${STT_EXPECT_VG:-docker}
POOL=${STT_EXPECT_POOL:-thinpool}
CHUNK=${STT_EXPECT_CHUNK_BYTES:-524288}
ZERO=${STT_EXPECT_ZEROING:-0}
PROFILE=${STT_EXPECT_PROFILE:-docker-thinpool}
TRY_DOCKER=${STT_DEPLOY_DOCKER:-auto}
LOGS=$R/logs
TXT=$R/deploy.txt
FACTS=$R/deploy-facts.txt
mkdir -p "$LOGS"
: >"$TXT"
: >"$FACTS"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DM_DISABLE_UDEV=1

FAILED=0
T0=0
start() { T0=$(date +%s.%N); }
secs() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
pass() { echo "PASS $1 $(secs)s ${2:-}" | tee -a "$TXT"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1 $(secs)s ${2:-}" | tee -a "$TXT"; }
fact() { echo "$1=$2" | tee -a "$FACTS"; }
trim() { tr -d ' \t'; }

echo "== deploy: $(uname -r), disk $DISK, expecting $VG/$POOL chunk $CHUNK zeroing $ZERO profile $PROFILE"
for f in setup-direct-lvm.sh daemon.json docker-thinpool.profile; do
	if [ ! -s "$D/$f" ]; then
		start
		fail env.files "$D/$f missing"
		exit 1
	fi
done
chmod 0755 "$D/setup-direct-lvm.sh"

# ------------------------------------------------------------------------------------ first run
start
(cd "$D" && ./setup-direct-lvm.sh "$DISK") >"$LOGS/setup-first.log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then pass setup.first; else fail setup.first "exit $rc (logs/setup-first.log)"; fi
sed 's/^/  | /' "$LOGS/setup-first.log" | tail -n 30

# ------------------------------------------------------------------------ the pool, as described
start
line=$(lvs --noheadings --binary --units b --nosuffix --separator '|' \
	-o lv_name,lv_attr,chunk_size,zero,lv_profile,seg_monitor "$VG/$POOL" 2>"$LOGS/lvs.err" | trim)
echo "$line" >"$LOGS/lvs.txt"
IFS='|' read -r l_name l_attr l_chunk l_zero l_prof l_mon <<<"$line"
fact lvs "$line"
why=""
[ "${l_name:-}" = "$POOL" ] || why="$why; no LV $VG/$POOL"
case "${l_attr:-}" in t*) ;; *) why="$why; attr '${l_attr:-}' is not a thin pool's (t...)" ;; esac
[ "${l_chunk:-}" = "$CHUNK" ] || why="$why; chunk ${l_chunk:-?} != $CHUNK"
[ "${l_zero:-}" = "$ZERO" ] || why="$why; zero ${l_zero:-?} != $ZERO"
[ "${l_prof:-}" = "$PROFILE" ] || why="$why; profile '${l_prof:-}' != $PROFILE"
if command -v dmeventd >/dev/null 2>&1; then
	[ "${l_mon:-}" = monitored ] || why="$why; not monitored though dmeventd exists"
	fact monitoring "${l_mon:-none}"
else
	fact monitoring "no dmeventd in the guest (seg_monitor '${l_mon:-}')"
fi
if [ -z "$why" ]; then pass pool.lvs "$line"; else fail pool.lvs "${why#; }"; fi

# The kernel's view: the thin-pool table's block size and zeroing flag.
start
pooldev=$VG-$POOL
table=$(dmsetup table "$pooldev" 2>&1)
fact dm_table "$table"
# "0 <len> thin-pool <meta> <data> <block sectors> <low water> <nfeatures> [features]"
read -r _ _ ttype _ _ tblock _ _ tfeat <<<"$table"
why=""
[ "${ttype:-}" = thin-pool ] || why="$why; /dev/mapper/$pooldev is not a thin-pool target ($table)"
[ "$((${tblock:-0} * 512))" = "$CHUNK" ] || why="$why; block size ${tblock:-?} sectors != $CHUNK bytes"
case " ${tfeat:-} " in
*" skip_block_zeroing "*) [ "$ZERO" = 0 ] || why="$why; skip_block_zeroing set, zeroing expected" ;;
*) [ "$ZERO" = 1 ] || why="$why; no skip_block_zeroing, zeroing off expected" ;;
esac
[ -b "/dev/mapper/$pooldev" ] || why="$why; no /dev/mapper/$pooldev node (dm.thinpooldev)"
if [ -z "$why" ]; then pass pool.dm_table "$table"; else fail pool.dm_table "${why#; }"; fi

# The profile: installed with the given settings (comments aside), and what lvm reads from it.
start
why=""
installed=/etc/lvm/profile/$PROFILE.profile
[ "$(grep -v '^[[:space:]]*#' "$D/docker-thinpool.profile")" = "$(grep -v '^[[:space:]]*#' "$installed")" ] ||
	why="$why; $installed has other settings than the given profile"
for k in thin_pool_autoextend_threshold thin_pool_autoextend_percent; do
	want=$(sed -n "s/^[[:space:]]*$k[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p" "$D/docker-thinpool.profile" | head -n 1)
	got=$(lvmconfig --type full --metadataprofile "$PROFILE" "activation/$k" 2>/dev/null | sed 's/.*=//')
	fact "profile_$k" "${got:-?}"
	[ -z "$want" ] || [ "$got" = "$want" ] || why="$why; lvm reads $k=${got:-?} through the profile, the file says $want"
done
if [ -z "$why" ]; then pass pool.profile; else fail pool.profile "${why#; }"; fi

# ------------------------------------------------------------------- second run changes nothing
state() {
	lvs -a --noheadings --units b -o vg_name,lv_name,lv_attr,lv_size,chunk_size,zero,lv_profile,seg_monitor,segtype,lv_uuid 2>&1
	vgs --noheadings --units b -o vg_name,vg_uuid,vg_size,vg_free,vg_seqno,vg_attr,vg_profile 2>&1
	pvs --noheadings --units b -o pv_name,pv_uuid,vg_name,pv_size,pv_attr 2>&1
	dmsetup table 2>&1 | sort
	md5sum /etc/lvm/profile/*.profile 2>&1
}
state >"$LOGS/state-before.txt"
start
(cd "$D" && ./setup-direct-lvm.sh "$DISK") >"$LOGS/setup-second.log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then pass setup.second; else fail setup.second "exit $rc (logs/setup-second.log)"; fi
sed 's/^/  | /' "$LOGS/setup-second.log" | tail -n 15
state >"$LOGS/state-after.txt"
start
if cmp -s "$LOGS/state-before.txt" "$LOGS/state-after.txt"; then
	pass setup.idempotent "lvs, vgs (vg_seqno), pvs, dm tables and profiles unchanged"
else
	fail setup.idempotent "$(diff -u "$LOGS/state-before.txt" "$LOGS/state-after.txt" | grep -E '^[-+][^-+]' | head -n 4 | tr -s ' \n' ' ')"
fi
start
if grep -qiE 'nothing (to do|was done|changed)|already|unchanged' "$LOGS/setup-second.log"; then
	pass setup.says_nothing_done "$(grep -iE -m1 'nothing (to do|was done|changed)|already|unchanged' "$LOGS/setup-second.log")"
else
	fail setup.says_nothing_done "its output does not say that nothing was done"
fi

# ---------------------------------------------------------------------------- dockerd with it
DOCKER_ROOT=/var/lib/docker-stt
DOCKER_EXEC=/run/docker-stt
SOCK=/run/docker-stt.sock
DPID=""
docker_c() { timeout 300 docker -H "unix://$SOCK" "$@"; }

# A root for dockerd that pivot_root(2) accepts: a tmpfs mounted on the initramfs, with the guest's
# directories bind-mounted into it (nothing is copied). runc refuses to pivot_root out of rootfs
# ("pivot_root .: invalid argument"), and its DOCKER_RAMDISK fallback (move + chroot) locked up the
# guest's kernel (soft lockup in runc) under TCG, so a proper mount is the way.
NR=/newroot
make_root() {
	local d l
	mkdir -p "$NR"
	mount -t tmpfs -o size=16m,mode=0755 tmpfs "$NR" || return 1
	for d in usr etc var run tmp dev proc sys root deploy results; do
		[ -d "/$d" ] || continue
		mkdir -p "$NR/$d"
		mount --rbind "/$d" "$NR/$d" || return 1
	done
	for l in bin sbin lib lib32 lib64 libx32; do
		if [ -L "/$l" ]; then ln -s "$(readlink "/$l")" "$NR/$l"
		elif [ -d "/$l" ]; then mkdir -p "$NR/$l" && mount --rbind "/$l" "$NR/$l"; fi
	done
}
drop_root() { umount -R "$NR" 2>/dev/null || umount -R -l "$NR"; }

# Starts dockerd with config $1; 0 once the API answers, else 1 (dockerd stopped).
start_dockerd() {
	local conf=$1 log=$2 i flags=()
	# Flags for what the config leaves out; a key both in the file and on the command line is an
	# error for dockerd.
	for kv in data-root:"$DOCKER_ROOT" exec-root:"$DOCKER_EXEC" pidfile:/run/docker-stt.pid; do
		grep -q "\"${kv%%:*}\"" "$conf" || flags+=("--${kv%%:*}=${kv#*:}")
	done
	grep -q '"iptables"' "$conf" || flags+=(--iptables=false)
	grep -q '"ip-masq"' "$conf" || flags+=(--ip-masq=false)
	grep -q '"bridge"' "$conf" || flags+=(--bridge=none)
	grep -q '"hosts"' "$conf" || flags+=(-H "unix://$SOCK")
	# dockerd runs chrooted into $NR (see make_root): runc's pivot_root(2) needs a root that is a
	# mount with a parent, which the initramfs (rootfs) is not.
	echo "chroot $NR dockerd --config-file $conf ${flags[*]}" >"$log"
	chroot "$NR" dockerd --config-file "$conf" "${flags[@]}" >>"$log" 2>&1 &
	DPID=$!
	for ((i = 0; i < 600; i++)); do
		if ! kill -0 "$DPID" 2>/dev/null; then
			wait "$DPID" 2>/dev/null
			DPID=""
			return 1
		fi
		docker_c version >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	stop_dockerd
	return 1
}

stop_dockerd() {
	local i
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID" 2>/dev/null
	for ((i = 0; i < 240; i++)); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.5; done
	if kill -0 "$DPID" 2>/dev/null; then
		kill -KILL "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
		DPID=""
		return 1
	fi
	wait "$DPID" 2>/dev/null
	DPID=""
	return 0
}

docker_steps() {
	local conf=/tmp/daemon.json info drv pool img dlog=$LOGS/dockerd.log
	if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
		fact docker "unavailable: dockerd or the docker CLI is not in the guest (run.sh adds them when the host has docker.io)"
		return
	fi
	fact docker_version "$(dockerd --version 2>&1)"
	# What dockerd needs of the guest: cgroups (v2), its directories.
	if ! grep -q ' /sys/fs/cgroup ' /proc/mounts; then
		mkdir -p /sys/fs/cgroup
		mount -t cgroup2 cgroup2 /sys/fs/cgroup || fact cgroup2 "mount failed"
	fi
	mkdir -p "$DOCKER_ROOT" "$DOCKER_EXEC" /etc/docker
	cp "$D/daemon.json" "$conf"
	# dockerd applies dm.xfs_nospace_max_retries through /sys/fs/xfs/dm-N, finding dm-N by
	# readlink of /dev/mapper/NAME: udev makes those nodes symlinks, but without udev libdevmapper
	# mknods them and the readlink fails (EINVAL) at every container start. Test-only removal.
	if [ ! -e /run/udev/control ] &&
		jq -e '."storage-opts" // [] | map(startswith("dm.xfs_nospace_max_retries")) | any' "$conf" >/dev/null; then
		jq '."storage-opts" |= map(select(startswith("dm.xfs_nospace_max_retries") | not))' \
			"$D/daemon.json" >"$conf"
		fact docker_xfs_nospace_retries_removed "yes"
	fi
	if ! make_root >"$LOGS/make-root.log" 2>&1; then
		start
		fail docker.start "cannot make a root for dockerd (logs/make-root.log)"
		fact docker "could not run: no root for it"
		return
	fi
	start
	if start_dockerd "$conf" "$LOGS/dockerd.log"; then
		fact docker_udev_sync_override "not-needed"
	elif grep -qi 'udev sync' "$LOGS/dockerd.log"; then
		# No udev in this guest: Docker's devicemapper refuses to run without udev sync unless told
		# to. A test-only setting; the generated daemon.json must not carry it for production.
		fact docker_udev_sync_override needed
		fact docker_udev_sync_error "$(grep -i -m1 'udev sync' "$LOGS/dockerd.log" | sed 's/.*msg="\([^"]*\)".*/\1/' | cut -c1-240)"
		jq '."storage-opts" += ["dm.override_udev_sync_check=true"]' "$conf" >"$conf.new" && mv "$conf.new" "$conf"
		rm -rf "${DOCKER_ROOT:?}"/*
		dlog=$LOGS/dockerd-override.log
		start_dockerd "$conf" "$dlog" || {
			fail docker.start "dockerd exited (logs/dockerd-override.log: $(tail -n 2 "$LOGS/dockerd-override.log" | tr '\n' ' ' | cut -c1-300))"
			fact docker "could not run: see logs/dockerd-override.log"
			return
		}
	else
		fail docker.start "dockerd exited (logs/dockerd.log: $(tail -n 2 "$LOGS/dockerd.log" | tr '\n' ' ' | cut -c1-300))"
		fact docker "could not run: see logs/dockerd.log"
		return
	fi
	pass docker.start "$(head -n 1 "$dlog")"
	fact docker ran
	start
	info=$(docker_c info --format '{{json .}}' 2>"$LOGS/docker-info.err")
	echo "$info" >"$LOGS/docker-info.json"
	drv=$(jq -r '.Driver' <<<"$info" 2>/dev/null)
	pool=$(jq -r '.DriverStatus[] | select(.[0] == "Pool Name") | .[1]' <<<"$info" 2>/dev/null)
	fact docker_driver_status "$(jq -c '.DriverStatus' <<<"$info" 2>/dev/null)"
	if [ "$drv" = devicemapper ]; then pass docker.info_driver "Driver: $drv"; else fail docker.info_driver "Driver: '${drv:-?}'"; fi
	start
	if [ "$pool" = "$VG-$POOL" ]; then pass docker.info_pool "Pool Name: $pool"; else fail docker.info_pool "Pool Name: '${pool:-?}', expected $VG-$POOL"; fi
	# A container on the pool: a one-binary image (busybox) imported and run.
	start
	img=/tmp/img
	mkdir -p "$img/bin"
	cp "$(readlink -f /bin/busybox)" "$img/bin/busybox"
	ln -sf busybox "$img/bin/sh"
	ln -sf busybox "$img/bin/true"
	if tar -C "$img" -cf /tmp/img.tar . &&
		docker_c import /tmp/img.tar stt-deploy:1 >"$LOGS/docker-run.log" 2>&1 &&
		docker_c run --rm --network none stt-deploy:1 /bin/sh -c 'echo hello >/x && cat /x' >>"$LOGS/docker-run.log" 2>&1 &&
		grep -q '^hello$' "$LOGS/docker-run.log"; then
		pass docker.run "imported a busybox image and ran a container on the pool"
		fact docker_pool_after_run "$(dmsetup status "$VG-$POOL" 2>&1)"
	else
		fail docker.run "$(tail -n 3 "$LOGS/docker-run.log" | tr '\n' ' ' | cut -c1-300)"
	fi
	docker_c rmi -f stt-deploy:1 >/dev/null 2>&1
	start
	if stop_dockerd; then pass docker.stop; else fail docker.stop "dockerd did not exit on SIGTERM within 120 s"; fi
	# Docker's deferred removal may leave its base device's dm node; take what it left.
	dmsetup ls 2>/dev/null | awk '$1 ~ /^docker-[0-9]/ { print $1 }' | while read -r n; do dmsetup remove "$n"; done
}

if [ "$TRY_DOCKER" != no ]; then
	docker_steps
	[ -z "$DPID" ] || stop_dockerd
	! mountpoint -q "$NR" 2>/dev/null || drop_root
fi

# ----------------------------------------------------------------------------------- teardown
start
{
	lvremove -y "$VG/$POOL" && vgremove -y "$VG" && pvremove -y "$DISK" && rm -f "/etc/lvm/profile/$PROFILE.profile" &&
		wipefs -a "$DISK"
} >"$LOGS/teardown.log" 2>&1
rc=$?
left=$(dmsetup ls 2>&1 | grep -v 'No devices found')
sig=$(blkid -p "$DISK" 2>&1)
if [ $rc -eq 0 ] && [ -z "$left" ] && [ -z "$sig" ]; then
	pass teardown "pool, VG, PV and profile removed; no dm device, no signature left"
else
	fail teardown "exit $rc; dm devices: ${left:-none}; signature: ${sig:-none}"
fi

echo "== deploy: $FAILED failed"
[ "$FAILED" -eq 0 ]
