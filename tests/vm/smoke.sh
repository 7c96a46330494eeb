#!/bin/bash
# VM smoke test: runs INSIDE the guest (tests/vm/guest.sh run tests/vm/smoke.sh), as /test.sh.
#
# Proves, on a Debian 6.1 kernel with an emulated NVMe disk, the kernel and tool facts that stortune's
# two devicemapper backends rely on:
#   env.*  the modules, dm targets, how libdevmapper makes /dev/mapper nodes without udev, lvm.conf
#   a.*    dm-loop as Docker does it: sparse data/metadata files on ext4, loop devices, a thin-pool
#          table, create_thin / create_snap messages, xfs (nouuid for snapshots), isolation, teardown
#   b.*    direct-lvm with Docker's own commands on /dev/nvme0n1, a thin device driven by dmsetup
#          messages on the LVM pool, teardown
# Every step prints what it ran and what failed; the first failing step ends the script (exit 1).
# Results: $STT_RESULTS/smoke.txt ("PASS|FAIL <step> <seconds>s <detail>" per step),
# $STT_RESULTS/facts.txt (key=value), $STT_RESULTS/smoke.json (both), $STT_RESULTS/logs/<step>.log.
# Util-linux and lvm tools are called by full path: busybox's shell would prefer its own applets.
set -uo pipefail

R=${STT_RESULTS:-/results}
DISK=${STT_DISK:-/dev/nvme0n1}
LOGS=$R/logs
TXT=$R/smoke.txt
FACTS=$R/facts.txt
STATE=/tmp/smoke.state
mkdir -p "$LOGS"
: >"$TXT"
: >"$FACTS"
: >"$STATE"

DMSETUP=/usr/sbin/dmsetup
LOSETUP=/usr/sbin/losetup
LVM=/usr/sbin/lvm
MKFS_XFS=/usr/sbin/mkfs.xfs
MKFS_EXT4=/usr/sbin/mkfs.ext4
BLKID=/usr/sbin/blkid
WIPEFS=/usr/sbin/wipefs
BLOCKDEV=/usr/sbin/blockdev
THIN_CHECK=/usr/sbin/thin_check
MOUNT=/usr/bin/mount
UMOUNT=/usr/bin/umount
TRUNCATE=/usr/bin/truncate
STAT=/usr/bin/stat

# libdevmapper without udev: make the /dev/mapper nodes in the library (see env.dm_nodes).
export DM_DISABLE_UDEV=1

FAILED=0
CUR=""

json_str() { # JSON string literal of $1
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\r'/}
	s=${s//$'\n'/\\n}
	printf '"%s"' "$s"
}

write_json() {
	local first=1 st name secs detail k v
	{
		printf '{\n  "schema": "stortune-vm-smoke/1",\n  "kernel": %s,\n' "$(json_str "$(uname -r)")"
		printf '  "ok": %s,\n  "steps": [' "$([ "$FAILED" -eq 0 ] && echo true || echo false)"
		while IFS=' ' read -r st name secs detail; do
			[ -n "$name" ] || continue
			[ $first -eq 1 ] || printf ','
			first=0
			printf '\n    {"name": %s, "ok": %s, "seconds": %s, "detail": %s}' "$(json_str "$name")" \
				"$([ "$st" = PASS ] && echo true || echo false)" "${secs%s}" "$(json_str "$detail")"
		done <"$TXT"
		printf '\n  ],\n  "facts": {'
		first=1
		while IFS= read -r line; do
			k=${line%%=*}
			v=${line#*=}
			[ -n "$k" ] || continue
			[ $first -eq 1 ] || printf ','
			first=0
			printf '\n    %s: %s' "$(json_str "$k")" "$(json_str "$v")"
		done <"$FACTS"
		printf '\n  }\n}\n'
	} >"$R/smoke.json"
}

diagnose() {
	echo "---- diagnostics after failure in step $CUR"
	for c in "$DMSETUP ls" "$DMSETUP table" "$DMSETUP status" "$LOSETUP -a" "$LVM lvs -a" "$LVM pvs" \
		"cat /proc/mounts" "ls -l /dev/mapper"; do
		echo "# $c"
		$c 2>&1 | sed 's/^/    /'
	done
	echo "# dmesg | tail -30"
	dmesg | tail -n 30 | sed 's/^/    /'
}

finish() {
	local rc=$?
	[ "$FAILED" -eq 0 ] || rc=1
	if [ "$FAILED" -ne 0 ]; then diagnose 2>&1 | tee "$R/diag.txt"; fi
	write_json
	echo "smoke: $(grep -c '^PASS' "$TXT") steps passed, $(grep -c '^FAIL' "$TXT") failed"
	exit "$rc"
}
trap finish EXIT

# fact KEY VALUE: record a measured fact (callable inside steps).
fact() { printf '%s=%s\n' "$1" "$2" >>"$FACTS"; echo "    fact $1=$2"; }
# keep VAR VALUE: hand a value from a step (a subshell) to the steps after it.
keep() { printf '%s=%q\n' "$1" "$2" >>"$STATE"; }
# want DESCRIPTION COMMAND...: a check inside a step; says what failed.
want() {
	local what=$1
	shift
	if ! "$@"; then
		echo "CHECK FAILED: $what"
		echo "  (command: $*)"
		return 1
	fi
}
# show COMMAND...: run and echo a command (for the step log).
show() {
	echo "\$ $*"
	"$@"
}

# step NAME DESCRIPTION COMMAND...: run COMMAND under set -e in a subshell; record PASS/FAIL; stop
# the script at the first failure.
step() {
	local name=$1 desc=$2 t0 t1 rc secs log=$LOGS/$1.log
	shift 2
	CUR=$name
	echo "== $name: $desc"
	t0=$EPOCHREALTIME
	(set -e; "$@") >"$log" 2>&1
	rc=$?
	t1=$EPOCHREALTIME
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	sed 's/^/    /' "$log"
	# shellcheck disable=SC1090
	. "$STATE"
	if [ $rc -eq 0 ]; then
		echo "PASS $name ${secs}s $desc" >>"$TXT"
		echo "   ok ($secs s)"
	else
		local why
		why=$(grep -m1 '^CHECK FAILED' "$log" || tail -n 1 "$log")
		[ -n "$why" ] || why="(the step printed nothing; a command in $name failed under set -e)"
		echo "FAIL $name ${secs}s $desc: exit $rc: $why" >>"$TXT"
		echo "!! FAILED: step $name ($desc): exit $rc: $why"
		FAILED=1
		exit 1
	fi
}

# Pool status line: "0 <len> thin-pool <tid> <used meta>/<total meta> <used data>/<total data> ..."
pool_field() { # pool field: tid | meta_used | meta_total | data_used | data_total
	local st
	st=$($DMSETUP status "$1")
	set -- $2 $st
	local f=$1
	shift
	[ "$3" = thin-pool ] || { echo "not a thin-pool: $*" >&2; return 1; }
	case "$f" in
	tid) echo "$4" ;;
	meta_used) echo "${5%/*}" ;;
	meta_total) echo "${5#*/}" ;;
	data_used) echo "${6%/*}" ;;
	data_total) echo "${6#*/}" ;;
	esac
}

is_blk() { [ -b "$1" ]; }
no_file() { [ ! -e "$1" ]; }
eq() { [ "$1" = "$2" ]; }
gt() { [ "$1" -gt "$2" ]; }
has() { case "$1" in *"$2"*) return 0 ;; *) return 1 ;; esac; }

# ------------------------------------------------------------------------------------------- env

s_modules() {
	local m
	for m in dm_mod dm_thin_pool dm_persistent_data dm_bufio dm_bio_prison libcrc32c crc32c_generic loop \
		nvme nvme_core xfs ext4 overlay; do
		want "module $m is loaded" test -d "/sys/module/$m"
	done
	fact kernel "$(uname -r)"
	fact crc32c_driver "$(awk '/^name *: crc32c$/ { f = 1 } f && /^driver/ { print $3; exit }' /proc/crypto)"
}

s_targets() {
	local t
	t=$(show $DMSETUP targets)
	echo "$t"
	want "thin-pool target registered" has "$t" thin-pool
	want "thin target registered" has "$t" "thin "
	fact dm_driver_version "$($DMSETUP version | sed -n 's/^Driver version: *//p')"
	fact dm_library_version "$($DMSETUP version | sed -n 's/^Library version: *//p')"
	fact thin_pool_target_version "$(echo "$t" | awk '$1 == "thin-pool" { print $2 }')"
	want "/dev/mapper/control exists (devtmpfs)" test -c /dev/mapper/control
}

s_disk() {
	want "$DISK is a block device" is_blk "$DISK"
	fact disk_bytes "$($BLOCKDEV --getsize64 "$DISK")"
	fact disk_model "$(cat /sys/block/${DISK#/dev/}/device/model 2>/dev/null | tr -s ' ' | sed 's/ $//')"
	fact disk_logical_block "$($BLOCKDEV --getss "$DISK")"
	want "$DISK carries no signature" eq "$($BLKID -p "$DISK" >/dev/null 2>&1; echo $?)" 2
}

s_dm_nodes() {
	# Without DM_DISABLE_UDEV, libdevmapper (built with udev sync) leaves /dev/mapper/NAME to udev:
	# without udev there is only /dev/dm-N. With it, the library mknods /dev/mapper/NAME itself.
	env -u DM_DISABLE_UDEV $DMSETUP create stt-probe-udev --table "0 8 error"
	if [ -b /dev/mapper/stt-probe-udev ]; then fact dm_node_without_DM_DISABLE_UDEV created
	else fact dm_node_without_DM_DISABLE_UDEV missing; fi
	env -u DM_DISABLE_UDEV $DMSETUP remove stt-probe-udev
	rm -f /dev/mapper/stt-probe-udev
	show $DMSETUP create stt-probe --table "0 8 error"
	want "DM_DISABLE_UDEV=1: libdevmapper created /dev/mapper/stt-probe" is_blk /dev/mapper/stt-probe
	fact dm_node_with_DM_DISABLE_UDEV "created ($(ls -l /dev/mapper/stt-probe | awk '{ print $1, $3 ":" $4 }'))"
	show $DMSETUP create stt-probe2 --noudevsync --table "0 8 error"
	want "--noudevsync: /dev/mapper/stt-probe2 created" is_blk /dev/mapper/stt-probe2
	show $DMSETUP remove stt-probe stt-probe2
	want "remove deleted the node" no_file /dev/mapper/stt-probe
}

s_lvm_conf() {
	show cat /etc/lvm/lvm.conf
	show $LVM config --validate
	fact lvm_version "$($LVM version | sed -n 's/^ *LVM version: *//p')"
	# Does this lvm know global/use_lvmetad (lvm 2.02)? 2.03 dropped lvmetad.
	local d=/tmp/lvm-probe out
	mkdir -p "$d"
	{ cat /etc/lvm/lvm.conf; printf 'global {\n\tuse_lvmetad = 0\n}\n'; } >"$d/lvm.conf"
	out=$(LVM_SYSTEM_DIR=$d $LVM config --validate 2>&1 | tr '\n' ' ' | sed 's/^ *//; s/ *$//')
	echo "config --validate with use_lvmetad: $out"
	local warn
	warn=$(LVM_SYSTEM_DIR=$d $LVM pvs 2>&1 >/dev/null | tr '\n' ' ' | sed 's/^ *//; s/ *$//')
	if LVM_SYSTEM_DIR=$d $LVM config --type default global/use_lvmetad >/dev/null 2>&1; then
		fact lvm_knows_use_lvmetad yes
	else
		fact lvm_knows_use_lvmetad "no: not a setting of this lvm, yet tolerated (config --validate: '$out'; pvs warns: '${warn:-nothing}')"
	fi
	fact lvm_default_thin_pool_autoextend_threshold \
		"$($LVM config --type default activation/thin_pool_autoextend_threshold 2>/dev/null | sed 's/.*=//')"
}

s_overlay() {
	local d=/tmp/ovl
	mkdir -p $d/l $d/u $d/w $d/m
	echo lower >$d/l/f
	show $MOUNT -t overlay overlay -o lowerdir=$d/l,upperdir=$d/u,workdir=$d/w $d/m
	echo upper >$d/m/f
	want "overlay copy-up wrote the upper dir" eq "$(cat $d/u/f)" upper
	want "lower file untouched" eq "$(cat $d/l/f)" lower
	show $UMOUNT $d/m
}

step env.modules "kernel modules loaded by /init" s_modules
step env.targets "device-mapper thin targets" s_targets
step env.disk "the scratch NVMe disk" s_disk
step env.dm_nodes "libdevmapper makes /dev/mapper nodes without udev" s_dm_nodes
step env.lvm_conf "lvm.conf for a guest without udev" s_lvm_conf
s_lvm_stock_conf() {
	# Which of our lvm.conf settings matter? Debian's stock config (all defaults) on a guest without
	# udev, with and without DM_DISABLE_UDEV, through pvcreate .. lvcreate (which wipes the new LV
	# through its /dev/VG/LV path) .. pvremove.
	local d=/tmp/lvm-stock out rc
	mkdir -p "$d"
	: >"$d/lvm.conf"
	lvm_cycle() {
		$LVM pvcreate -q "$DISK" && $LVM vgcreate -q sttprobe "$DISK" &&
			$LVM lvcreate -q -L 8M -n t sttprobe && test -b /dev/sttprobe/t &&
			$LVM lvremove -q -y sttprobe/t && $LVM vgremove -q -y sttprobe && $LVM pvremove -q "$DISK"
	}
	out=$(env -u DM_DISABLE_UDEV LVM_SYSTEM_DIR=$d bash -c "$(declare -f lvm_cycle); LVM=$LVM DISK=$DISK; lvm_cycle" 2>&1) &&
		rc=0 || rc=$?
	echo "stock lvm.conf, no DM_DISABLE_UDEV: rc=$rc: $out"
	if [ $rc -eq 0 ]; then fact lvm_stock_conf_without_DM_DISABLE_UDEV works
	else fact lvm_stock_conf_without_DM_DISABLE_UDEV "fails: $(echo "$out" | grep -v 'NOT backed' | grep -m1 -iE 'fail|not found|error' | sed 's/^ *//')"; fi
	# Clean up whatever that left, then the same with DM_DISABLE_UDEV=1: must work.
	$LVM vgremove -q -y sttprobe >/dev/null 2>&1 || true
	$LVM pvremove -q "$DISK" >/dev/null 2>&1 || true
	$DMSETUP remove_all >/dev/null 2>&1 || true
	rm -rf /dev/sttprobe
	/usr/sbin/wipefs -q -a "$DISK"
	out=$(LVM_SYSTEM_DIR=$d bash -c "$(declare -f lvm_cycle); LVM=$LVM DISK=$DISK; lvm_cycle" 2>&1) &&
		rc=0 || rc=$?
	echo "stock lvm.conf, DM_DISABLE_UDEV=1: rc=$rc: $out"
	want "stock lvm.conf + DM_DISABLE_UDEV=1: pvcreate..lvcreate..pvremove works" eq "$rc" 0
	fact lvm_stock_conf_with_DM_DISABLE_UDEV works
	want "nothing left on $DISK" eq "$($BLKID -p "$DISK" >/dev/null 2>&1; echo $?)" 2
}

step env.overlay "overlay mount works" s_overlay
step env.lvm_stock_conf "what lvm needs without udev (stock lvm.conf)" s_lvm_stock_conf

# -------------------------------------------------------------------- (a) dm-loop, Docker's way

ROOTDIR=/var/lib/docker
DMDIR=$ROOTDIR/devicemapper/devicemapper
DATA_BYTES=$((2 * 1024 * 1024 * 1024))
META_BYTES=$((256 * 1024 * 1024))
THIN_SECTORS=$((10 * 1024 * 1024 * 1024 / 512)) # dm.basesize default 10G
BS=128                                          # pool block size in sectors: 64 KiB
LWM=32768                                       # low water mark, Docker's

a_mkfs_ext4() {
	show $MKFS_EXT4 -q -F "$DISK"
	want "blkid sees ext4" eq "$($BLKID -o value -s TYPE "$DISK")" ext4
}
a_mount_ext4() {
	mkdir -p $ROOTDIR
	show $MOUNT -t ext4 "$DISK" $ROOTDIR
	mkdir -p $DMDIR
}
a_sparse_files() {
	show $TRUNCATE -s $DATA_BYTES $DMDIR/data
	show $TRUNCATE -s $META_BYTES $DMDIR/metadata
	want "data file is sparse" eq "$($STAT -c %b $DMDIR/data)" 0
	want "metadata file is sparse" eq "$($STAT -c %b $DMDIR/metadata)" 0
	# Docker's device-name prefix: docker-<major>:<minor>-<inode of the data root's devicemapper dir>
	local dev ino maj min
	dev=$($STAT -c %d $ROOTDIR/devicemapper)
	ino=$($STAT -c %i $ROOTDIR/devicemapper)
	maj=$(((dev >> 8) & 0xfff))
	min=$(((dev & 0xff) | ((dev >> 12) & 0xfff00)))
	keep PREFIX "docker-$maj:$min-$ino"
	fact a_pool_name "docker-$maj:$min-$ino-pool"
}
a_losetup() {
	local dl ml
	dl=$($LOSETUP -f --show $DMDIR/data)
	ml=$($LOSETUP -f --show $DMDIR/metadata)
	echo "data on $dl, metadata on $ml"
	want "data loop is a block device" is_blk "$dl"
	want "metadata loop is a block device" is_blk "$ml"
	show $LOSETUP -l
	want "data loop backs $DMDIR/data" eq "$(cat /sys/block/${dl#/dev/}/loop/backing_file)" $DMDIR/data
	keep DATA_LOOP "$dl"
	keep META_LOOP "$ml"
}
a_pool_create() {
	local sectors table
	sectors=$($BLOCKDEV --getsz "$DATA_LOOP")
	want "data loop has $((DATA_BYTES / 512)) sectors" eq "$sectors" $((DATA_BYTES / 512))
	table="0 $sectors thin-pool $META_LOOP $DATA_LOOP $BS $LWM 1 skip_block_zeroing"
	show $DMSETUP create "$PREFIX-pool" --table "$table"
	want "/dev/mapper/$PREFIX-pool exists" is_blk "/dev/mapper/$PREFIX-pool"
	show $DMSETUP table "$PREFIX-pool"
	want "table keeps block size, low water mark and skip_block_zeroing" \
		has "$($DMSETUP table "$PREFIX-pool")" " $BS $LWM 1 skip_block_zeroing"
	show $DMSETUP status "$PREFIX-pool"
	want "fresh pool: transaction id 0" eq "$(pool_field "$PREFIX-pool" tid)" 0
	want "fresh pool: no data used" eq "$(pool_field "$PREFIX-pool" data_used)" 0
	fact a_pool_data_blocks "$(pool_field "$PREFIX-pool" data_total)"
	fact a_pool_meta_blocks_4k "$(pool_field "$PREFIX-pool" meta_total)"
	fact a_pool_meta_used_fresh "$(pool_field "$PREFIX-pool" meta_used)"
	fact a_pool_status_fresh "$($DMSETUP status "$PREFIX-pool")"
}
a_create_thin() {
	show $DMSETUP message "$PREFIX-pool" 0 "create_thin 0"
	show $DMSETUP message "$PREFIX-pool" 0 "set_transaction_id 0 1"
	want "transaction id is now 1" eq "$(pool_field "$PREFIX-pool" tid)" 1
	# Creating an existing id must fail (Docker relies on this to detect id reuse).
	if $DMSETUP message "$PREFIX-pool" 0 "create_thin 0" 2>/dev/null; then
		echo "CHECK FAILED: create_thin of an existing id succeeded"
		return 1
	fi
	fact a_create_thin_existing_id "fails (as expected)"
	# set_transaction_id with a wrong old id fails.
	if $DMSETUP message "$PREFIX-pool" 0 "set_transaction_id 0 5" 2>/dev/null; then
		echo "CHECK FAILED: set_transaction_id with a stale old id succeeded"
		return 1
	fi
}
a_thin_activate() {
	show $DMSETUP create "$PREFIX-base" --table "0 $THIN_SECTORS thin /dev/mapper/$PREFIX-pool 0"
	want "thin device node" is_blk "/dev/mapper/$PREFIX-base"
	want "thin device is 10 GiB" eq "$($BLOCKDEV --getsize64 "/dev/mapper/$PREFIX-base")" $((THIN_SECTORS * 512))
	fact a_thin_min_io "$($BLOCKDEV --getiomin "/dev/mapper/$PREFIX-base")"
	fact a_thin_opt_io "$($BLOCKDEV --getioopt "/dev/mapper/$PREFIX-base")"
	local minor
	minor=$($DMSETUP info -c --noheadings -o minor "$PREFIX-base" | tr -d ' ')
	fact a_thin_discard_granularity "$(cat /sys/block/dm-$minor/queue/discard_granularity)"
}
a_mkfs_xfs() {
	show $MKFS_XFS -q "/dev/mapper/$PREFIX-base"
	want "blkid sees xfs" eq "$($BLKID -o value -s TYPE "/dev/mapper/$PREFIX-base")" xfs
	fact a_data_blocks_after_mkfs_xfs "$(pool_field "$PREFIX-pool" data_used)"
}
a_write_base() {
	mkdir -p /mnt/base /mnt/snap
	show $MOUNT -t xfs "/dev/mapper/$PREFIX-base" /mnt/base
	echo origin >/mnt/base/origin.txt
	echo before-snap >/mnt/base/before.txt
	# Left mounted: the snapshot is taken of an active, mounted origin (suspend freezes the fs).
}
a_snapshot() {
	show $DMSETUP suspend "$PREFIX-base"
	want "origin is suspended" has "$($DMSETUP info "$PREFIX-base")" SUSPENDED
	show $DMSETUP message "$PREFIX-pool" 0 "create_snap 1 0"
	show $DMSETUP resume "$PREFIX-base"
	show $DMSETUP message "$PREFIX-pool" 0 "set_transaction_id 1 2"
	want "transaction id is now 2" eq "$(pool_field "$PREFIX-pool" tid)" 2
}
a_snap_activate() {
	show $DMSETUP create "$PREFIX-snap1" --table "0 $THIN_SECTORS thin /dev/mapper/$PREFIX-pool 1"
	want "snapshot node" is_blk "/dev/mapper/$PREFIX-snap1"
	if $MOUNT -t xfs "/dev/mapper/$PREFIX-snap1" /mnt/snap 2>/tmp/mnt.err; then
		fact a_xfs_snapshot_mount_without_nouuid "works"
		$UMOUNT /mnt/snap
	else
		fact a_xfs_snapshot_mount_without_nouuid "fails: $(head -n 1 /tmp/mnt.err)"
	fi
	show $MOUNT -t xfs -o nouuid "/dev/mapper/$PREFIX-snap1" /mnt/snap
}
a_isolation() {
	want "snapshot sees the origin's file" eq "$(cat /mnt/snap/origin.txt)" origin
	want "snapshot sees what was written before the suspend" eq "$(cat /mnt/snap/before.txt)" before-snap
	echo base-only >/mnt/base/base-only.txt
	echo snap-only >/mnt/snap/snap-only.txt
	echo changed-in-snap >/mnt/snap/origin.txt
	sync
	want "base does not see the snapshot's new file" no_file /mnt/base/snap-only.txt
	want "snapshot does not see the base's new file" no_file /mnt/snap/base-only.txt
	want "base keeps its version of a file rewritten in the snapshot" eq "$(cat /mnt/base/origin.txt)" origin
	want "snapshot has its own version" eq "$(cat /mnt/snap/origin.txt)" changed-in-snap
	# Same again after a remount, from disk rather than the page cache.
	show $UMOUNT /mnt/base /mnt/snap
	echo 3 >/proc/sys/vm/drop_caches
	show $MOUNT -t xfs "/dev/mapper/$PREFIX-base" /mnt/base
	show $MOUNT -t xfs -o nouuid "/dev/mapper/$PREFIX-snap1" /mnt/snap
	want "after remount: base has base-only, not snap-only" test -e /mnt/base/base-only.txt -a ! -e /mnt/base/snap-only.txt
	want "after remount: snapshot has snap-only, not base-only" test -e /mnt/snap/snap-only.txt -a ! -e /mnt/snap/base-only.txt
	want "after remount: versions differ" test "$(cat /mnt/base/origin.txt)" = origin -a "$(cat /mnt/snap/origin.txt)" = changed-in-snap
}
a_pool_status() {
	show $DMSETUP status "$PREFIX-pool"
	local used
	used=$(pool_field "$PREFIX-pool" data_used)
	want "pool reports used data blocks" gt "$used" 0
	fact a_pool_data_used_blocks "$used"
	fact a_pool_meta_used_blocks "$(pool_field "$PREFIX-pool" meta_used)"
	fact a_pool_status_used "$($DMSETUP status "$PREFIX-pool")"
	fact a_thin_status_snap1 "$($DMSETUP status "$PREFIX-snap1")"
	fact a_data_file_allocated_kib "$(du -k $DMDIR/data | cut -f1)"
	fact a_metadata_file_allocated_kib "$(du -k $DMDIR/metadata | cut -f1)"
}
a_thin_remove() {
	show $UMOUNT /mnt/base /mnt/snap
	show $DMSETUP remove "$PREFIX-snap1" "$PREFIX-base"
	want "thin nodes gone" no_file "/dev/mapper/$PREFIX-base"
	show $DMSETUP message "$PREFIX-pool" 0 "delete 1"
	show $DMSETUP message "$PREFIX-pool" 0 "delete 0"
	show $DMSETUP status "$PREFIX-pool"
	want "all data blocks free again after delete" eq "$(pool_field "$PREFIX-pool" data_used)" 0
	fact a_pool_meta_used_after_delete "$(pool_field "$PREFIX-pool" meta_used)"
}
a_pool_remove() {
	show $DMSETUP remove "$PREFIX-pool"
	want "pool node gone" no_file "/dev/mapper/$PREFIX-pool"
	show $THIN_CHECK "$META_LOOP"
}
a_loop_detach() {
	show $LOSETUP -d "$DATA_LOOP" "$META_LOOP"
	want "no loop device left attached" eq "$($LOSETUP -a)" ""
}
a_dm_empty() {
	local ls
	ls=$($DMSETUP ls 2>&1)
	echo "$ls"
	want "dmsetup ls shows no devices" eq "$ls" "No devices found"
}
a_wipe() {
	show $UMOUNT $ROOTDIR
	show $WIPEFS -a "$DISK"
	want "no signature left on $DISK" eq "$($BLKID -p "$DISK" >/dev/null 2>&1; echo $?)" 2
}

step a.mkfs_ext4 "ext4 on $DISK for the data root" a_mkfs_ext4
step a.mount_ext4 "mount it as $ROOTDIR" a_mount_ext4
step a.sparse_files "sparse data (2G) and metadata (256M) files" a_sparse_files
step a.losetup "attach both to loop devices" a_losetup
step a.pool_create "thin-pool table, 64K blocks, skip_block_zeroing" a_pool_create
step a.create_thin "create_thin 0 + set_transaction_id" a_create_thin
step a.thin_activate "activate the base thin device (10G)" a_thin_activate
step a.mkfs_xfs "mkfs.xfs on the base device" a_mkfs_xfs
step a.write_base "mount the base device, write files" a_write_base
step a.snapshot "suspend origin, create_snap 1 0, resume" a_snapshot
step a.snap_activate "activate and mount the snapshot (nouuid)" a_snap_activate
step a.isolation "writes in one are invisible in the other" a_isolation
step a.pool_status "dmsetup status shows used blocks" a_pool_status
step a.thin_remove "remove thin devices, delete ids" a_thin_remove
step a.pool_remove "remove the pool, thin_check the metadata" a_pool_remove
step a.loop_detach "detach the loop devices" a_loop_detach
step a.dm_empty "no dm device left" a_dm_empty
step a.wipe "unmount the data root, wipe $DISK" a_wipe

# ------------------------------------------------------------- (b) direct-lvm, Docker's commands

b_pvcreate() { show $LVM pvcreate "$DISK"; }
b_vgcreate() { show $LVM vgcreate docker "$DISK"; }
b_lv_data() { show $LVM lvcreate --wipesignatures y -n thinpool docker -l 95%VG; }
b_lv_meta() { show $LVM lvcreate --wipesignatures y -n thinpoolmeta docker -l 1%VG; }
b_lvconvert() {
	show $LVM lvconvert -y --zero n -c 512K --thinpool docker/thinpool --poolmetadata docker/thinpoolmeta
}
b_profile() {
	mkdir -p /etc/lvm/profile
	cat >/etc/lvm/profile/docker-thinpool.profile <<-'EOF'
		activation {
		  thin_pool_autoextend_threshold=80
		  thin_pool_autoextend_percent=20
		}
	EOF
	show $LVM lvchange --metadataprofile docker-thinpool docker/thinpool
	local th pc
	th=$($LVM config --metadataprofile docker-thinpool --type full activation/thin_pool_autoextend_threshold | sed 's/.*=//')
	pc=$($LVM config --metadataprofile docker-thinpool --type full activation/thin_pool_autoextend_percent | sed 's/.*=//')
	want "profile threshold in effect (got $th)" eq "$th" 80
	want "profile percent in effect (got $pc)" eq "$pc" 20
}
b_lvs() {
	show $LVM lvs -o+seg_monitor
	show $LVM lvs -a
	local line
	line=$($LVM lvs --noheadings --separator '|' -o lv_attr,lv_profile,chunk_size,zero,seg_monitor docker/thinpool | sed 's/^ *//')
	echo "attr|profile|chunk|zero|monitor: $line"
	IFS='|' read -r attr prof chunk zero mon <<<"$line"
	want "thin pool LV, active (attr $attr)" has "$attr" twi-a
	want "metadata profile docker-thinpool (got $prof)" eq "$prof" docker-thinpool
	want "chunk size 512K (got $chunk)" eq "$chunk" 512.00k
	fact b_lvs_attr "$attr"
	fact b_lvs_zero "${zero:-(blank)}"
	fact b_lvs_seg_monitor "${mon:-(blank)}"
}
b_pool_dm() {
	show $DMSETUP ls
	show $DMSETUP table
	local t
	t=$($DMSETUP table docker-thinpool)
	want "/dev/mapper/docker-thinpool exists" is_blk /dev/mapper/docker-thinpool
	want "docker-thinpool itself is the thin-pool target (what dm.thinpooldev needs)" has "$t" " thin-pool "
	want "table: 512K blocks (1024 sectors), skip_block_zeroing from --zero n" has "$t" " 1024 0 1 skip_block_zeroing"
	fact b_pool_table "$t"
	fact b_pool_status "$($DMSETUP status docker-thinpool)"
	if [ -e /dev/mapper/docker-thinpool-tpool ]; then fact b_tpool_layer present; else fact b_tpool_layer absent; fi
	fact b_dm_devices "$($DMSETUP ls | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//')"
	keep TID0 "$(pool_field docker-thinpool tid)"
}
b_thin() {
	local tid=$TID0
	show $DMSETUP message docker-thinpool 0 "create_thin 0"
	show $DMSETUP message docker-thinpool 0 "set_transaction_id $tid $((tid + 1))"
	want "pool transaction id moved to $((tid + 1))" eq "$(pool_field docker-thinpool tid)" $((tid + 1))
	show $DMSETUP create docker-thin0 --table "0 $THIN_SECTORS thin /dev/mapper/docker-thinpool 0"
	want "thin device node" is_blk /dev/mapper/docker-thin0
	$MKFS_XFS -q /dev/mapper/docker-thin0 2>&1 | sed 's/^/mkfs.xfs: /'
	want "blkid sees xfs" eq "$($BLKID -o value -s TYPE /dev/mapper/docker-thin0)" xfs
	mkdir -p /mnt/lvthin
	show $MOUNT -t xfs /dev/mapper/docker-thin0 /mnt/lvthin
	dd if=/dev/zero of=/mnt/lvthin/file bs=1M count=8 conv=fsync 2>/dev/null
	want "wrote 8 MiB" eq "$($STAT -c %s /mnt/lvthin/file)" $((8 * 1024 * 1024))
	show $UMOUNT /mnt/lvthin
	local used
	used=$(pool_field docker-thinpool data_used)
	want "pool shows used data blocks" gt "$used" 0
	fact b_data_blocks_512k_after_mkfs_and_8MiB "$used"
	# lvm keeps its own idea of the transaction id: does it mind that ours moved on?
	show $LVM lvs docker
	fact b_lvs_after_foreign_transaction_id "ok (lvm tid $($LVM lvs --noheadings -o transaction_id docker/thinpool | tr -d ' '), kernel tid $(pool_field docker-thinpool tid))"
	if $LVM lvchange -an docker/thinpool >/tmp/lvchange.out 2>&1; then
		fact b_lvchange_an_with_open_thin "succeeded"
	else
		fact b_lvchange_an_with_open_thin "refused: $(head -n 1 /tmp/lvchange.out | sed 's/^ *//')"
	fi
	want "pool still active" is_blk /dev/mapper/docker-thinpool
}
b_thin_remove() {
	show $DMSETUP remove docker-thin0
	show $DMSETUP message docker-thinpool 0 "delete 0"
	want "data blocks free again" eq "$(pool_field docker-thinpool data_used)" 0
	show $LVM lvchange -an docker/thinpool
	want "pool deactivated" no_file /dev/mapper/docker-thinpool
	show $LVM lvchange -ay docker/thinpool
	want "pool reactivated" is_blk /dev/mapper/docker-thinpool
	fact b_kernel_tid_after_reactivation "$(pool_field docker-thinpool tid)"
}
b_vgremove() {
	show $LVM vgremove -y docker
	want "no dm device left" eq "$($DMSETUP ls 2>&1)" "No devices found"
	want "/dev/docker gone" no_file /dev/docker/thinpool
}
b_pvremove() {
	show $LVM pvremove "$DISK"
	want "no signature left on $DISK" eq "$($BLKID -p "$DISK" >/dev/null 2>&1; echo $?)" 2
}

step b.pvcreate "pvcreate $DISK" b_pvcreate
step b.vgcreate "vgcreate docker" b_vgcreate
step b.lv_data "lvcreate thinpool -l 95%VG" b_lv_data
step b.lv_meta "lvcreate thinpoolmeta -l 1%VG" b_lv_meta
step b.lvconvert "lvconvert to a thin pool (--zero n -c 512K)" b_lvconvert
step b.profile "docker-thinpool profile, lvchange --metadataprofile" b_profile
step b.lvs "lvs -o+seg_monitor" b_lvs
step b.pool_dm "the pool as device-mapper sees it" b_pool_dm
step b.thin "thin device by dmsetup messages on the LVM pool" b_thin
step b.thin_remove "remove and delete the thin device" b_thin_remove
step b.vgremove "vgremove -y docker" b_vgremove
step b.pvremove "pvremove" b_pvremove

if [ -x /usr/local/bin/stortune ]; then
	fact stortune_in_guest "$(/usr/local/bin/stortune --version 2>&1 | head -n 1)"
fi
exit 0
