#!/bin/bash
# Guest script of the VM tier: real containerd on its devmapper snapshotter, configured by the
# drop-in `stortune recommend --engine-version containerd ... --snapshotter devmapper` wrote
# (/deploy/containerd-snapshotter.toml, pool "docker-thinpool"), on a pool made as containerd's
# documentation makes one (sparse files on loop devices, thin-pool 128 32768). containerd runs
# chrooted into a tmpfs root (runc's pivot_root needs one; see deploy.sh) with its own root,
# state and socket; a busybox `docker save` tar (/deploy/image.tar) is imported with
# --snapshotter devmapper and containers are created, started and deleted with ctr, timed,
# beside `ctr version`. Steps: "PASS|FAIL <step> <detail>" in $STT_RESULTS/containerd.txt;
# figures in containerd-figures.txt; then everything is taken down (containerd, the thin devices,
# the pool, the loop devices) and checked.
set -uo pipefail

R=${STT_RESULTS:-/results}
TXT=$R/containerd.txt
FIG=$R/containerd-figures.txt
N=${STT_CTRD_N:-3}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DM_DISABLE_UDEV=1
: >"$TXT"
: >"$FIG"
FAILED=0
pass() { echo "PASS $1 ${2:-}" | tee -a "$TXT"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1 ${2:-}" | tee -a "$TXT"; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((10#$t / 1000)); } # busybox date has no %N
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

W=/var/tmp/ctrd
NR=/var/tmp/ctrd-root
SOCK=$W/containerd.sock
CTR=(ctr -a "$SOCK")
CPID=""
mkdir -p "$W"

# The pool, named as the drop-in says.
POOLNAME=$(sed -n 's/^ *pool_name = "\(.*\)"/\1/p' /deploy/containerd-snapshotter.toml)
truncate -s 2G "$W/data" && truncate -s 256M "$W/meta"
DATA=$(/usr/sbin/losetup --find --show "$W/data")
META=$(/usr/sbin/losetup --find --show "$W/meta")
SECT=$(($(/usr/sbin/blockdev --getsize64 "$DATA") / 512))
if dmsetup create "$POOLNAME" --table "0 $SECT thin-pool $META $DATA 128 32768 1 skip_block_zeroing"; then
	pass pool "$POOLNAME on $DATA $META"
else
	fail pool
fi
# containerd's devmapper snapshotter runs dmsetup and blkdiscard and mkfs
for t in dmsetup blkdiscard mkfs.xfs mkfs.ext4; do command -v "$t" >/dev/null || fail "tool.$t" missing; done

# cgroup v2 for runc, mounted before /sys is bound into the root below.
if ! grep -q ' /sys/fs/cgroup ' /proc/mounts; then
	mkdir -p /sys/fs/cgroup
	mount -t cgroup2 cgroup2 /sys/fs/cgroup
fi
# A root that is a mount with a parent, for runc (deploy.sh's make_root).
mkdir -p "$NR"
mount -t tmpfs -o size=16m,mode=0755 tmpfs "$NR"
for d in usr etc var run tmp dev proc sys root deploy results; do
	[ -d "/$d" ] || continue
	mkdir -p "$NR/$d"
	mount --rbind "/$d" "$NR/$d"
done
for l in bin sbin lib lib32 lib64 libx32; do
	if [ -L "/$l" ]; then ln -s "$(readlink "/$l")" "$NR/$l"
	elif [ -d "/$l" ]; then mkdir -p "$NR/$l" && mount --rbind "/$l" "$NR/$l"; fi
done

cat >"$W/config.toml" <<EOC
version = 2
imports = ["/deploy/containerd-snapshotter.toml"]
root = "$W/root"
state = "$W/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
EOC
if chroot "$NR" containerd --config "$W/config.toml" config dump >"$R/config.dump" 2>&1 &&
	grep -q "pool_name = \"$POOLNAME\"" "$R/config.dump"; then
	pass config.dump "the drop-in is in the merged configuration"
else
	fail config.dump "$(head -n 2 "$R/config.dump")"
fi
chroot "$NR" containerd --config "$W/config.toml" >"$R/containerd.log" 2>&1 &
CPID=$!
for ((i = 0; i < 300; i++)); do
	"${CTR[@]}" version >/dev/null 2>&1 && break
	kill -0 "$CPID" 2>/dev/null || break
	sleep 0.2
done
if "${CTR[@]}" version >/dev/null 2>&1; then pass containerd.start; else fail containerd.start; fi
"${CTR[@]}" plugins ls >"$R/plugins.txt" 2>&1
if grep -Eq 'io.containerd.snapshotter.v1 +devmapper .* ok' "$R/plugins.txt"; then
	pass plugin.devmapper ok
else
	fail plugin.devmapper "$(grep devmapper "$R/plugins.txt")"
fi
t0=$(now_ms)
if "${CTR[@]}" images import --snapshotter devmapper /deploy/image.tar >"$R/import.log" 2>&1; then
	pass import "$(($(now_ms) - t0)) ms"
	echo "import_ms=$(($(now_ms) - t0))" >>"$FIG"
else
	fail import "$(tail -n 2 "$R/import.log")"
fi
IMG=docker.io/stortune/busybox:1
: >"$W/c" ; : >"$W/s" ; : >"$W/d" ; : >"$W/v"
ok=0
for ((i = 0; i < N; i++)); do
	t0=$(now_ms)
	"${CTR[@]}" containers create --snapshotter devmapper "$IMG" "stt-$i" /bin/true >>"$R/run.log" 2>&1 || break
	t1=$(now_ms)
	chroot "$NR" ctr -a "$SOCK" tasks start "stt-$i" >>"$R/run.log" 2>&1 || break
	t2=$(now_ms)
	"${CTR[@]}" containers delete "stt-$i" >>"$R/run.log" 2>&1 || break
	t3=$(now_ms)
	"${CTR[@]}" version >/dev/null 2>&1
	t4=$(now_ms)
	echo $((t1 - t0)) >>"$W/c"; echo $((t2 - t1)) >>"$W/s"; echo $((t3 - t2)) >>"$W/d"; echo $((t4 - t3)) >>"$W/v"
	ok=$((ok + 1))
done
if [ "$ok" -eq "$N" ]; then
	pass run "$N containers created, started (/bin/true), deleted on devmapper"
	{
		echo "n=$N"
		echo "create_ms=$(median <"$W/c")"
		echo "start_ms=$(median <"$W/s")"
		echo "remove_ms=$(median <"$W/d")"
		echo "ctr_version_ms=$(median <"$W/v")"
	} >>"$FIG"
	cat "$FIG"
else
	fail run "$ok of $N; $(tail -n 3 "$R/run.log")"
fi
dmsetup ls >"$R/dm-during.txt" 2>&1
dmsetup status "$POOLNAME" >>"$R/dm-during.txt" 2>&1

# stortune's own containerd on the pool its containerd-devmapper backend makes: bench --engine
# containerd (2 containers, one repetition, cold and warm), in the same root as runc needs.
SW=/var/tmp/stt-ctrd
SJ=/var/tmp/stt-ctrd-journal
if chroot "$NR" /usr/local/bin/stortune -q bench --engine containerd --backend containerd-devmapper \
	--profile /deploy/ci.ini --containers 2 --concurrency 1 --repetitions 1 --data-size 2G --meta-size 128M \
	--base-size 256M --workdir "$SW" --journal-dir "$SJ" -o /results/ctrd-engine.json \
	>"$R/ctrd-engine.log" 2>&1 &&
	grep -q '"snapshotter": *"devmapper"' "$R/ctrd-engine.json" &&
	grep -q '"cli_overhead_ns"' "$R/ctrd-engine.json"; then
	pass engine "bench --engine containerd --backend containerd-devmapper: $(grep -c '"p50_ns"' "$R/ctrd-engine.json") phase figures"
else
	fail engine "$(tail -n 3 "$R/ctrd-engine.log")"
fi
if [ -z "$(ls -A "$SW" 2>/dev/null)" ] && [ -z "$(ls -A "$SJ" 2>/dev/null)" ] &&
	! dmsetup ls | grep -q '^stortune-' &&
	! /usr/sbin/losetup -a | grep -q "$SW"; then
	pass engine.clean "nothing of it left"
else
	fail engine.clean "$(ls -A "$SW" "$SJ" 2>&1 | head -3) $(dmsetup ls | grep '^stortune-')"
fi
rmdir "$SW" "$SJ" 2>/dev/null

# Teardown: containerd, whatever it left mounted, its thin devices, the pool, the loops.
"${CTR[@]}" images rm "$IMG" >/dev/null 2>&1
kill "$CPID" 2>/dev/null
for ((i = 0; i < 100; i++)); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.2; done
kill -9 "$CPID" 2>/dev/null
awk -v d="$W" 'index($5, d) == 1 { print length($5), $5 }' /proc/self/mountinfo | sort -rn |
	cut -d' ' -f2- | while read -r m; do umount "$m" || umount -l "$m"; done
umount -R "$NR" 2>/dev/null || umount -R -l "$NR"
for d in $(dmsetup ls | awk -v p="$POOLNAME-snap-" 'index($1, p) == 1 { print $1 }'); do
	dmsetup remove "$d"
done
dmsetup remove "$POOLNAME" && /usr/sbin/losetup -d "$DATA" "$META"
rm -rf "$W" "$NR"
if dmsetup ls | grep -q "$POOLNAME"; then fail teardown "dm devices left"; else pass teardown; fi
[ "$FAILED" -eq 0 ]
