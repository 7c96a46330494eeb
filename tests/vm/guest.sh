#!/bin/bash
# VM test tier: build a tiny Debian-kernel guest and run a test script in it under qemu (TCG).
#
#   tests/vm/guest.sh build [--add PATH...]        build/vm/vmlinuz + build/vm/initrd.gz (cached), and
#                                                   build/vm/vmlinux (the same kernel, ELF, PVH entry)
#   tests/vm/guest.sh run SCRIPT [options]          boot the guest, run SCRIPT as /test.sh inside it
#       --disk-size SIZE     size of the fresh sparse NVMe disk, /dev/nvme0n1 in the guest (default 8G)
#       --out DIR            where console.log and the guest's result files go
#                            (default build/vm/out/<script name>; emptied first)
#       --timeout SEC        kill qemu and fail after SEC seconds (default 600)
#       --mem MB / --smp N   guest memory (default 2048) and CPUs (default 2)
#       --file SRC[:DEST]    also put a host file into the guest (default DEST: /SRC's basename)
#       --add PATH           also put a host binary and the shared libraries it needs into the guest,
#                            at the same path (for this run only: large binaries such as dockerd
#                            stay out of the cached initrd)
#       --env NAME=VALUE     export NAME=VALUE to the test script
#       --results-size SIZE  size of the results disk (default 256M)
#       --quiet              do not echo the guest console (it still goes to DIR/console.log)
#       --bzimage            boot build/vm/vmlinuz (the bzImage) even when build/vm/vmlinux exists
#   tests/vm/guest.sh clean                         remove build/vm
#
# The guest: Debian 12's own kernel (the linux-image-6.1.0-*-amd64 that linux-image-amd64 depends on),
# an initramfs with busybox-static, the kernel modules for nvme, loop, device-mapper thin pools, xfs,
# ext4 and overlay (loaded with insmod in dependency order), host binaries (lvm2, dmsetup, mkfs.*,
# util-linux, thin-provisioning-tools, bash) with their shared libraries, and an lvm.conf
# that works without udev. No udev runs in the guest: libdevmapper creates /dev/mapper nodes itself
# (DM_DISABLE_UDEV=1 is exported), lvm creates its /dev/VG/LV links itself.
#
# `run` adds the script as /test.sh and the project's ./stortune (when built) as
# /usr/local/bin/stortune (its libraries are in the cached initrd). Inside the guest the test script
# sees: /dev/nvme0n1 (the scratch disk), $STT_RESULTS (=/results, a directory whose content is brought
# back into DIR), $STT_DISK (=/dev/nvme0n1). /init prints
# "STT-VM-EXIT=<code>" when the script ends and powers off; `run` exits with that code, or with 124 on
# a timeout or a kernel locked up (a CPU stuck 120 s or more) and 125 when the guest died without
# printing the marker.
#
# Host packages: qemu-system-x86 busybox-static cpio kmod xz-utils lvm2 dmsetup
# thin-provisioning-tools xfsprogs e2fsprogs util-linux (see scripts/deps.sh). No loop devices or root-only host operations
# are needed on the host; apt-get download of the kernel needs Debian's package registry once.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VM=$ROOT/build/vm
CACHE=$VM/cache
SELF=$HERE/$(basename "$0")

# Kernel modules, by name, in the order we want them considered. crc32c_generic comes first: libcrc32c
# (dm-persistent-data, xfs) and ext4/jbd2 need a "crc32c" crypto provider, the kernel finds it through
# request_module(), and we do not want to depend on that. virtio_pci + virtio_blk carry the results disk.
MODULES="crc32c_generic nvme-core nvme virtio_pci virtio_blk loop dm-mod dm-bufio dm-bio-prison
dm-persistent-data dm-thin-pool libcrc32c xfs crc16 mbcache jbd2 ext4 overlay"

# Host binaries put into the guest by default (absent ones are skipped with a note).
DEFAULT_BINS="/usr/bin/bash
/usr/sbin/lvm /usr/sbin/dmsetup /usr/sbin/dmstats
/usr/sbin/mkfs.xfs /usr/sbin/xfs_db /usr/sbin/xfs_repair /usr/sbin/xfs_growfs /usr/sbin/xfs_info
/usr/sbin/mkfs.ext4 /usr/sbin/mke2fs /usr/sbin/e2fsck /usr/sbin/fsck.ext4 /usr/sbin/tune2fs /usr/sbin/dumpe2fs /usr/sbin/resize2fs
/usr/sbin/losetup /usr/sbin/blkid /usr/sbin/wipefs /usr/sbin/blkdiscard /usr/sbin/blockdev /usr/sbin/sfdisk
/usr/sbin/fstrim /usr/sbin/findfs /usr/bin/lsblk /usr/bin/findmnt /usr/bin/mount /usr/bin/umount
/usr/bin/fallocate /usr/bin/truncate /usr/bin/stat /usr/bin/dd /usr/bin/du /usr/bin/df /usr/bin/sync
/usr/sbin/thin_check /usr/sbin/thin_dump /usr/sbin/thin_repair /usr/sbin/thin_restore /usr/sbin/thin_ls
/usr/sbin/thin_metadata_size /usr/sbin/thin_delta /usr/sbin/thin_trim"
# lvm's command names (symlinks to lvm), so that `pvcreate` etc. work as on a host.
LVM_CMDS="pvcreate pvremove pvs pvdisplay pvscan pvchange pvresize vgcreate vgremove vgs vgdisplay vgscan
vgchange vgextend vgreduce lvcreate lvremove lvs lvdisplay lvscan lvchange lvconvert lvextend lvresize
lvreduce lvrename lvmconfig lvmdiskscan lvmdevices"

die() { echo "guest.sh: $*" >&2; exit 2; }
note() { echo "guest.sh: $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------------------------- build

# Echo the name of the kernel image package linux-image-amd64 depends on (linux-image-6.1.0-N-amd64).
kernel_pkg_name() {
	local name
	name=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
	if [ -z "$name" ] && [ "$(id -u)" -eq 0 ]; then
		note "apt-cache knows no linux-image-amd64: running apt-get update"
		apt-get update -q >&2 || true
		name=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
	fi
	echo "$name"
}

# Download (once) the kernel package; echo the .deb's path.
fetch_kernel_deb() {
	local pkg deb ver l
	mkdir -p "$CACHE"
	# apt-cache takes ~1.5 s: reuse its last answer while Debian's package lists are unchanged.
	local lists
	lists=$(stat -c '%Y' /var/lib/apt/lists 2>/dev/null || echo none)
	if [ -f "$CACHE/resolved" ] && read -r l pkg ver deb <"$CACHE/resolved" && [ "$l" = "$lists" ] &&
		[ -n "$deb" ] && [ -f "$CACHE/$deb" ]; then
		echo "$CACHE/$deb"
		return
	fi
	pkg=$(kernel_pkg_name)
	if [ -z "$pkg" ]; then
		# Offline and no package lists: use what the cache has.
		deb=$(ls -1 "$CACHE"/linux-image-*-amd64_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
		[ -n "$deb" ] || die "cannot find the kernel package: apt-cache depends linux-image-amd64 says nothing (run apt-get update)"
		note "using cached $(basename "$deb") (apt-cache knows no linux-image-amd64)"
		echo "$deb"
		return
	fi
	ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p' | head -n 1)
	deb=$(ls -1 "$CACHE/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "$deb" ] && { [ -z "$ver" ] || [ "$ver" = "(none)" ] ||
		[ "$(dpkg-deb -f "$deb" Version)" = "$ver" ]; }; then
		echo "$lists $pkg ${ver:-none} $(basename "$deb")" >"$CACHE/resolved"
		echo "$deb"
		return
	fi
	note "downloading $pkg ${ver:-}"
	rm -f "$CACHE"/linux-image-*.deb "$CACHE"/*.partial
	(cd "$CACHE" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) ||
		die "apt-get download $pkg failed"
	deb=$(ls -1 "$CACHE/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$deb" ] || die "apt-get download $pkg left no .deb in $CACHE"
	echo "$lists $pkg ${ver:-none} $(basename "$deb")" >"$CACHE/resolved"
	echo "$deb"
}

# build/vm/kernel/: vmlinuz, lib/modules/KV/{kernel/...,modules.*}, modules.load (insmod order),
# kver. Rebuilt only when the .deb or the module list changes.
build_kernel() {
	local deb=$1 key kdir=$VM/kernel x kv mdir m line path deps d i f
	key="$(basename "$deb") $(stat -c %s "$deb") | $(echo $MODULES) | kernel-v4"
	if [ -f "$kdir/stamp" ] && [ "$(cat "$kdir/stamp")" = "$key" ] && [ -f "$VM/vmlinuz" ]; then
		return
	fi
	note "extracting $(basename "$deb")"
	rm -rf "$kdir" "$CACHE/x"
	x=$CACHE/x
	dpkg-deb -x "$deb" "$x"
	kv=$(ls -1 "$x/lib/modules" | head -n 1)
	[ -n "$kv" ] && [ -f "$x/boot/vmlinuz-$kv" ] || die "no vmlinuz/modules in $(basename "$deb")"
	# The package ships no modules.dep (its postinst makes it): make one for the whole tree.
	depmod -b "$x" "$kv"
	mdir=$x/lib/modules/$kv
	# Resolve: modules.dep lists every (transitive) dependency; modprobe loads them last-listed first.
	local order=() seen=" "
	for m in $MODULES; do
		local norm=${m//-/_}
		line=$(awk -v want="$norm" -F: '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\..*)?$/, "", n);
			gsub(/-/, "_", n); if (n == want) { print; exit } }' "$mdir/modules.dep")
		if [ -z "$line" ]; then
			if grep -qE "/${m//_/[-_]}\.ko" "$mdir/modules.builtin" 2>/dev/null ||
				grep -qE "/${m//-/[-_]}\.ko" "$mdir/modules.builtin" 2>/dev/null; then
				continue # built in
			fi
			die "module $m not found in $kv"
		fi
		path=${line%%:*}
		deps=${line#*:}
		# shellcheck disable=SC2206
		local arr=($deps)
		for ((i = ${#arr[@]} - 1; i >= 0; i--)); do
			d=${arr[i]}
			case "$seen" in *" $d "*) ;; *) order+=("$d"); seen="$seen$d " ;; esac
		done
		case "$seen" in *" $path "*) ;; *) order+=("$path"); seen="$seen$path " ;; esac
	done
	# Modules nothing else in the list depends on may load in parallel ("async"); the crc32c provider
	# must be in place before libcrc32c loads, so crc* modules always load in order.
	local alldeps=" "
	for path in "${order[@]}"; do
		alldeps="$alldeps$(grep -m1 "^$path:" "$mdir/modules.dep" | cut -d: -f2) "
	done
	mkdir -p "$kdir"
	: >"$kdir/modules.load.tmp"
	for path in "${order[@]}"; do
		local name=${path##*/}
		name=${name%.ko}
		name=${name//-/_}
		case "$alldeps" in
		*" $path "*) echo "sync $path $name" ;;
		*) case "$name" in crc* | libcrc*) echo "sync $path $name" ;; *) echo "async $path $name" ;; esac ;;
		esac >>"$kdir/modules.load.tmp"
	done
	mkdir -p "$kdir/lib/modules/$kv"
	for path in "${order[@]}"; do
		mkdir -p "$kdir/lib/modules/$kv/$(dirname "$path")"
		cp "$mdir/$path" "$kdir/lib/modules/$kv/$path"
	done
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[ -f "$mdir/$f" ] && cp "$mdir/$f" "$kdir/lib/modules/$kv/"
	done
	depmod -b "$kdir" "$kv"
	mv "$kdir/modules.load.tmp" "$kdir/modules.load"
	echo "$kv" >"$kdir/kver"
	cp "$x/boot/vmlinuz-$kv" "$kdir/vmlinuz"
	cp "$x/boot/config-$kv" "$kdir/config"
	rm -rf "$x"
	cp "$kdir/vmlinuz" "$VM/vmlinuz.tmp" && mv "$VM/vmlinuz.tmp" "$VM/vmlinuz"
	# The same kernel as an uncompressed ELF with its PVH entry note: qemu boots it directly, which
	# skips SeaBIOS's real-mode setup and the XZ decompression of the bzImage (about 3 s under TCG).
	rm -f "$VM/vmlinux"
	if grep -q '^CONFIG_PVH=y' "$kdir/config" && command -v xz >/dev/null 2>&1; then
		local off
		off=$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$kdir/vmlinuz" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
		# (xz stops at the end of the stream, so tail may die of SIGPIPE: judge by the output.)
		[ -z "$off" ] || tail -c +$((off + 1)) "$kdir/vmlinuz" 2>/dev/null |
			xz -dc --single-stream >"$VM/vmlinux.tmp" 2>/dev/null || true
		if [ -n "$off" ] && [ "$(head -c 4 "$VM/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
			mv "$VM/vmlinux.tmp" "$VM/vmlinux"
		else
			rm -f "$VM/vmlinux.tmp"
			note "could not extract an ELF vmlinux from vmlinuz: booting the bzImage (slower)"
		fi
	fi
	echo "$key" >"$kdir/stamp"
}

# The files (binaries and the shared libraries they need, loader included) to copy, one per line.
closure() {
	{
		printf '%s\n' "$@"
		# One ldd for all: "FILE:" headers, "lib => /path (addr)", "/lib64/ld-linux-x86-64.so.2 (addr)".
		ldd "$@" 2>/dev/null | awk '/:$/ { next } $2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' || true
	} | awk '!seen[$0]++'
}

# Copy host path $1 into the staging root $R at the same path; symlinks stay symlinks (their targets
# are copied too), so multi-call binaries (lvm, pdata_tools, mke2fs) keep their argv[0] dispatch.
put() {
	local src=$1 dir base dst tgt n=0
	while :; do
		dir=$(cd "$(dirname "$src")" && pwd -P) || die "no directory for $src"
		base=$(basename "$src")
		dst=$R$dir/$base
		[ -e "$dst" ] || [ -L "$dst" ] && return 0
		mkdir -p "$R$dir"
		if [ -L "$src" ]; then
			tgt=$(readlink "$src")
			ln -s "$tgt" "$dst"
			case "$tgt" in /*) src=$tgt ;; *) src=$dir/$tgt ;; esac
			n=$((n + 1))
			[ $n -lt 20 ] || die "symlink loop at $1"
		else
			cp -p "$src" "$dst"
			return 0
		fi
	done
}

LVM_CONF='# Written by tests/vm/guest.sh: lvm in a guest without udev (and without dmeventd/lvmetad).
devices {
	obtain_device_list_from_udev = 0
	external_device_info_source = "none"
	scan = [ "/dev" ]
}
activation {
	udev_sync = 0
	udev_rules = 0
	verify_udev_operations = 1
	monitoring = 0
}
global {
	use_lvmpolld = 0
	event_activation = 0
}
'

INIT='#!/bin/sh
# /init of the stortune test guest (written by tests/vm/guest.sh).
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec 0</dev/console 1>/dev/console 2>&1
mkdir -p /dev/pts /dev/shm /run /tmp /results
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
mkdir -p /run/lvm /run/lock/lvm
ln -sf /proc/self/mounts /etc/mtab
read up _ </proc/uptime
echo "STT-VM-INIT uptime=$up"
echo /sbin/modprobe >/proc/sys/kernel/modprobe
KV=$(uname -r)
# In dependency order; modules nothing else needs (xfs, ext4, nvme, ...) load in the background.
# (Lines: sync|async PATH NAME. Every fork costs tens of ms under TCG: keep this loop builtin-only.)
while read -r mode m n; do
	# Skip what is loaded already (a dependency the kernel pulled in by itself).
	if [ -d "/sys/module/$n" ]; then continue; fi
	if [ "$mode" = async ]; then
		{ insmod "/lib/modules/$KV/$m" || echo "STT-VM-WARN insmod $m failed"; } &
	else
		insmod "/lib/modules/$KV/$m" || echo "STT-VM-WARN insmod $m failed"
	fi
done </etc/stt/modules.load
wait
read up _ </proc/uptime
echo "STT-VM-MODULES uptime=$up"
# Wait for the disks (nvme and virtio probe asynchronously).
i=0
while [ $i -lt 100 ] && { [ ! -b /dev/nvme0n1 ] || [ ! -b /dev/vda ]; }; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/nvme0n1 ] || echo "STT-VM-WARN no /dev/nvme0n1"
[ -b /dev/vda ] || echo "STT-VM-WARN no /dev/vda (results disk)"
STT_RESULTS=/results STT_DISK=/dev/nvme0n1 DM_DISABLE_UDEV=1 HOME=/root TERM=dumb
export STT_RESULTS STT_DISK DM_DISABLE_UDEV HOME TERM
mkdir -p /root
[ -f /test.env ] && . /test.env
read up _ </proc/uptime
echo "STT-VM-TEST-START uptime=$up"
chmod 0755 /test.sh 2>/dev/null
if head -c 2 /test.sh | grep -q "^#!"; then (cd / && exec /test.sh </dev/null); rc=$?
else (cd / && exec /bin/sh /test.sh </dev/null); rc=$?; fi
read up _ </proc/uptime
echo "STT-VM-TEST-END uptime=$up rc=$rc"
dmesg >/results/dmesg.txt 2>/dev/null
echo "$rc" >/results/exit-code
if [ -b /dev/vda ]; then
	if ! tar -cf /dev/vda -C /results .; then echo "STT-VM-WARN writing the results disk failed"; fi
fi
sync
echo
echo "STT-VM-EXIT=$rc"
poweroff -f
sleep 5
exit "$rc"
'

build() {
	local adds=() bins=() b f t0 deb kv key manifest
	while [ $# -gt 0 ]; do
		case "$1" in
		--add)
			shift
			[ $# -gt 0 ] || die "--add needs a path"
			while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do adds+=("$1"); shift; done
			continue ;;
		*) die "build: unknown argument $1" ;;
		esac
	done
	t0=$(now)
	for t in dpkg-deb depmod cpio gzip ldd apt-get busybox; do
		command -v "$t" >/dev/null 2>&1 || die "missing host tool $t (make deps)"
	done
	mkdir -p "$VM"
	# One build at a time per tree (make check may run beside a developer's own build).
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$VM/.build.lock"
		flock 9
	fi
	deb=$(fetch_kernel_deb)
	build_kernel "$deb"
	kv=$(cat "$VM/kernel/kver")

	for b in $DEFAULT_BINS; do
		if [ -e "$b" ]; then bins+=("$b")
		elif command -v "$(basename "$b")" >/dev/null 2>&1; then bins+=("$(command -v "$(basename "$b")")")
		else note "not on this host, left out: $b"; fi
	done
	# ./stortune changes with every build: only its libraries go into the cached initrd, the binary
	# itself is added at each run (into /usr/local/bin), so a rebuilt stortune costs no initrd rebuild.
	local libsof=()
	[ -x "$ROOT/stortune" ] && libsof+=("$ROOT/stortune")
	# The privileged test binary runs in the guest too (tests/vm/priv.sh): its libraries (CUnit).
	[ -x "$ROOT/build/priv-tests" ] && libsof+=("$ROOT/build/priv-tests")
	for b in ${adds[@]+"${adds[@]}"}; do
		[ -e "$b" ] || die "--add $b: no such file"
		bins+=("$(cd "$(dirname "$b")" && pwd)/$(basename "$b")")
	done
	local busybox
	busybox=$(command -v busybox)
	file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
		ldd "$busybox" 2>&1 | grep -q 'not a dynamic' || die "$busybox is not static (install busybox-static)"

	# Cache key: this script, the kernel, and name/size/mtime of every file that goes in.
	manifest=$(
		sha256sum "$SELF" | cut -d' ' -f1
		cat "$VM/kernel/stamp"
		closure "${bins[@]}" ${libsof[@]+"${libsof[@]}"} | grep -vxF -e "$ROOT/stortune" -e "$ROOT/build/priv-tests" |
			xargs -d '\n' stat -L -c '%n %s %Y'
		stat -L -c '%n %s %Y' "$busybox"
	)
	key=$(printf '%s\n' "$manifest" | sha256sum | cut -d' ' -f1)
	if [ -f "$VM/initrd.stamp" ] && [ "$(cat "$VM/initrd.stamp")" = "$key" ] && [ -f "$VM/initrd.gz" ]; then
		note "guest up to date ($(elapsed "$t0" "$(now)") s): $VM/vmlinuz $VM/initrd.gz"
		return 0
	fi

	R=$VM/rootfs
	rm -rf "$R"
	mkdir -p "$R"
	# Mirror the host's merged-/usr layout so every path ldd prints and every symlink resolves the same.
	for d in bin sbin lib lib64; do
		if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$R/$d"; mkdir -p "$R/$(readlink -f "/$d")"
		else mkdir -p "$R/$d"; fi
	done
	mkdir -p "$R/usr/bin" "$R/usr/sbin" "$R/etc/lvm/profile" "$R/etc/stt" "$R/proc" "$R/sys" "$R/dev" \
		"$R/run" "$R/tmp" "$R/results" "$R/root" "$R/var/lib" "$R/mnt"
	chmod 1777 "$R/tmp"
	# Host binaries + libraries first, so busybox's applet links never shadow util-linux or lvm.
	while read -r f; do put "$f"; done < <(closure "${bins[@]}" ${libsof[@]+"${libsof[@]}"} | grep -vxF -e "$ROOT/stortune" -e "$ROOT/build/priv-tests")
	# Binaries from outside the system directories (./stortune, --add) also get a /usr/local/bin link.
	mkdir -p "$R/usr/local/bin"
	for b in "${bins[@]}"; do
		case "$b" in /usr/bin/* | /usr/sbin/* | /bin/* | /sbin/*) continue ;; esac
		[ -e "$R/usr/local/bin/$(basename "$b")" ] ||
			ln -s "$(cd "$(dirname "$b")" && pwd -P)/$(basename "$b")" "$R/usr/local/bin/$(basename "$b")"
	done
	if [ -e "$R/usr/sbin/lvm" ] || [ -e "$R/sbin/lvm" ]; then
		for c in $LVM_CMDS; do [ -e "$R/usr/sbin/$c" ] || ln -s lvm "$R/usr/sbin/$c"; done
	fi
	put "$busybox"
	local bb
	bb=$(cd "$(dirname "$busybox")" && pwd -P)/busybox
	[ "$bb" = /bin/busybox ] || [ -e "$R/bin/busybox" ] || ln -s "$bb" "$R/bin/busybox"
	# Applet links where nothing real is: bin/sh, sbin/insmod, usr/bin/awk, ...
	while read -r a; do
		[ -e "$R/$a" ] || [ -L "$R/$a" ] || { mkdir -p "$(dirname "$R/$a")"; ln -s /bin/busybox "$R/$a"; }
	done < <("$busybox" --list-full)
	# Kernel modules (depmod'ed subset) and their load order.
	mkdir -p "$R/lib/modules"
	cp -a "$VM/kernel/lib/modules/$kv" "$R/lib/modules/"
	cp "$VM/kernel/modules.load" "$R/etc/stt/modules.load"
	printf '%s' "$LVM_CONF" >"$R/etc/lvm/lvm.conf"
	printf '%s' "$INIT" >"$R/init"
	chmod 0755 "$R/init"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
	printf 'root:x:0:\ndisk:x:6:\n' >"$R/etc/group"
	: >"$R/etc/fstab"
	# An initial console before /init mounts devtmpfs (needs root; /init copes without it).
	[ "$(id -u)" -eq 0 ] && mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true
	(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
		gzip -1 >"$VM/initrd.gz.tmp"
	mv "$VM/initrd.gz.tmp" "$VM/initrd.gz"
	echo "$key" >"$VM/initrd.stamp"
	note "built $VM/initrd.gz ($(du -k "$VM/initrd.gz" | cut -f1) KiB, kernel $kv) in $(elapsed "$t0" "$(now)") s"
}

# ------------------------------------------------------------------------------------------------ run

QPID="" TPID="" TMPD=""

# locked_up LOG: the console holds a soft lockup of 120 s or more.
locked_up() {
	grep -aoE 'soft lockup - CPU#[0-9]+ stuck for [0-9]+s' "$1" 2>/dev/null |
		awk '{ s = $NF; sub(/s$/, "", s); if (s + 0 >= 120) f = 1 } END { exit !f }'
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$QPID" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$QPID" 2>/dev/null || true
		wait "$QPID" 2>/dev/null || true
	fi
	if [ -n "$TPID" ]; then kill "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; fi
	[ -n "$TMPD" ] && rm -rf "$TMPD"
	exit "$rc"
}

run() {
	local script="" disk_size=8G out="" timeout=600 mem=2048 smp=2 quiet=0 res_size=256M bzimage=0
	local files=() envs=() adds=()
	while [ $# -gt 0 ]; do
		case "$1" in
		--disk-size) disk_size=${2:?}; shift 2 ;;
		--add) adds+=("${2:?}"); shift 2 ;;
		--out) out=${2:?}; shift 2 ;;
		--timeout) timeout=${2:?}; shift 2 ;;
		--mem) mem=${2:?}; shift 2 ;;
		--smp) smp=${2:?}; shift 2 ;;
		--file) files+=("${2:?}"); shift 2 ;;
		--env) envs+=("${2:?}"); shift 2 ;;
		--results-size) res_size=${2:?}; shift 2 ;;
		--quiet) quiet=1; shift ;;
		--bzimage) bzimage=1; shift ;;
		-*) die "run: unknown option $1" ;;
		*) [ -z "$script" ] || die "run: one SCRIPT only"; script=$1; shift ;;
		esac
	done
	[ -n "$script" ] || die "usage: guest.sh run SCRIPT [--disk-size 8G] [--out DIR] [--timeout SEC]"
	[ -f "$script" ] || die "run: no such script $script"
	case "$timeout" in '' | *[!0-9]*) die "--timeout wants seconds" ;; esac
	command -v qemu-system-x86_64 >/dev/null 2>&1 || die "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
	[ -f "$VM/vmlinuz" ] && [ -f "$VM/initrd.gz" ] || die "no guest: run '$SELF build' first"
	[ -n "$out" ] || out=$VM/out/$(basename "$script" .sh)
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	find "$out" -mindepth 1 -delete

	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	TMPD=$(mktemp -d "${TMPDIR:-/tmp}/stt-vm.XXXXXX")
	# Per-run initramfs: the cached one + a second cpio with /test.sh (the kernel unpacks both).
	local st=$TMPD/overlay f src dst
	mkdir -p "$st"
	cp "$script" "$st/test.sh"
	chmod 0755 "$st/test.sh"
	for f in ${files[@]+"${files[@]}"}; do
		src=${f%%:*}
		dst=${f#*:}
		[ "$dst" != "$f" ] || dst=/$(basename "$src")
		[ -e "$src" ] || die "--file $src: no such file"
		mkdir -p "$st$(dirname "$dst")"
		cp -pL "$src" "$st$dst"
	done
	if [ ${#adds[@]} -gt 0 ]; then
		for f in "${adds[@]}"; do [ -e "$f" ] || die "--add $f: no such file"; done
		R=$st
		while read -r f; do put "$f"; done < <(closure "${adds[@]}")
	fi
	if [ ${#envs[@]} -gt 0 ]; then
		for f in "${envs[@]}"; do
			case "$f" in [A-Za-z_]*=*) ;; *) die "--env wants NAME=VALUE, got $f" ;; esac
			printf "export %s='%s'\n" "${f%%=*}" "$(printf '%s' "${f#*=}" | sed "s/'/'\\\\''/g")"
		done >"$st/test.env"
	fi
	if [ -x "$ROOT/stortune" ]; then
		mkdir -p "$st/usr/local/bin"
		cp -p "$ROOT/stortune" "$st/usr/local/bin/stortune"
	fi
	(cd "$st" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 >"$TMPD/overlay.gz"
	cat "$VM/initrd.gz" "$TMPD/overlay.gz" >"$TMPD/initrd.gz"
	truncate -s "$disk_size" "$TMPD/disk.img"
	truncate -s "$res_size" "$TMPD/results.img"

	local kernel=$VM/vmlinuz
	[ "$bzimage" -eq 1 ] || [ ! -f "$VM/vmlinux" ] || kernel=$VM/vmlinux
	local t0 t_init="" t_marker="" rc log=$out/console.log
	: >"$log"
	t0=$(now)
	# -nic none: no network (and no iPXE option ROM needed). discard=unmap keeps the image sparse.
	# no_timer_check: under TCG on a loaded host the kernel's check that the IO-APIC timer ticks
	# can time out, and the guest panics at boot ("IO-APIC + timer doesn't work!"; seen here
	# with the host's two CPUs busy); the emulated timer does work, so the check is skipped.
	qemu-system-x86_64 -accel tcg -m "$mem" -smp "$smp" -nographic -no-reboot -nic none \
		-kernel "$kernel" -initrd "$TMPD/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet no_timer_check" \
		-drive "file=$TMPD/disk.img,if=none,id=nv0,format=raw,discard=unmap" \
		-device nvme,serial=stt0,drive=nv0 \
		-drive "file=$TMPD/results.img,if=none,id=res0,format=raw" \
		-device virtio-blk-pci,drive=res0,serial=sttresults \
		</dev/null >"$log" 2>&1 &
	QPID=$!
	if [ "$quiet" -eq 0 ]; then
		tail -n +1 -f --pid="$QPID" "$log" 2>/dev/null &
		TPID=$!
	fi
	local deadline killed="" polls=0
	deadline=$(awk -v a="$t0" -v b="$timeout" 'BEGIN { printf "%d", a + b }')
	while kill -0 "$QPID" 2>/dev/null; do
		if [ -z "$t_init" ] && grep -aq 'STT-VM-INIT' "$log"; then t_init=$(now); fi
		if [ -z "$t_marker" ] && grep -aq 'STT-VM-EXIT=' "$log"; then t_marker=$(now); fi
		if [ "$(date +%s)" -ge "$deadline" ]; then killed=timeout; break; fi
		# Every 5 s: a CPU stuck for 120 s or more is a kernel locked up under TCG (runc can do
		# it), not a slow guest -- shorter soft lockups pass on a loaded host; stop it now.
		polls=$((polls + 1))
		if [ $((polls % 25)) -eq 0 ] && [ -z "$t_marker" ] && locked_up "$log"; then
			killed=lockup; break
		fi
		# The guest printed its marker but did not power off: give it 20 s, then stop it.
		if [ -n "$t_marker" ] && [ "$(elapsed "$t_marker" "$(now)" | cut -d. -f1)" -ge 20 ]; then
			killed=nopoweroff; break
		fi
		sleep 0.2
	done
	if [ -n "$killed" ]; then
		kill "$QPID" 2>/dev/null || true
		sleep 1
		kill -9 "$QPID" 2>/dev/null || true
	fi
	wait "$QPID" 2>/dev/null && qrc=0 || qrc=$?
	QPID=
	if [ -n "$TPID" ]; then sleep 0.3; kill "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; TPID=; fi
	local t_end
	t_end=$(now)
	[ -n "$t_init" ] || ! grep -aq 'STT-VM-INIT' "$log" || t_init=$t_end

	# Results: a tar the guest wrote raw onto the virtio disk.
	if [ "$(head -c 1024 "$TMPD/results.img" | tr -d '\0' | wc -c)" -gt 0 ]; then
		tar -xf "$TMPD/results.img" -C "$out" --no-same-owner --no-same-permissions ||
			note "the results disk does not hold a readable tar"
	fi
	rm -f "$TMPD/disk.img" "$TMPD/results.img"

	local g_init g_start g_end
	g_init=$(grep -ao 'STT-VM-INIT uptime=[0-9.]*' "$log" | head -n 1 | cut -d= -f2 || true)
	g_start=$(grep -ao 'STT-VM-TEST-START uptime=[0-9.]*' "$log" | head -n 1 | cut -d= -f2 || true)
	g_end=$(grep -ao 'STT-VM-TEST-END uptime=[0-9.]*' "$log" | head -n 1 | cut -d= -f2 || true)
	{
		echo "host_wall_s=$(elapsed "$t0" "$t_end")"
		[ -z "$t_init" ] || echo "host_to_init_s=$(elapsed "$t0" "$t_init")"
		[ -z "$g_init" ] || echo "guest_uptime_at_init_s=$g_init"
		[ -z "$g_start" ] || echo "guest_uptime_at_test_start_s=$g_start"
		[ -z "$g_end" ] || echo "guest_uptime_at_test_end_s=$g_end"
	} >"$out/timing.txt"
	note "timing: $(tr '\n' ' ' <"$out/timing.txt")"

	rc=$(grep -aoE 'STT-VM-EXIT=[0-9]+' "$log" | tail -n 1 | cut -d= -f2 || true)
	if [ "$killed" = timeout ]; then
		note "TIMEOUT: the guest did not finish within $timeout s; qemu killed (console: $log)"
		exit 124
	fi
	if [ "$killed" = lockup ]; then
		note "LOCKUP: a CPU of the guest's kernel stuck for 120 s or more (soft lockup); qemu killed (console: $log)"
		exit 124
	fi
	if [ -z "$rc" ]; then
		note "FAILED: the guest ended without printing STT-VM-EXIT (kernel panic, crash or qemu error, qemu exit $qrc); last console lines:"
		tail -n 25 "$log" | tr -d '\r' | sed 's/^/    | /' >&2
		exit 125
	fi
	[ "$killed" != nopoweroff ] || note "warning: the guest printed its marker but did not power off"
	note "guest exit code $rc (results in $out)"
	exit "$rc"
}

case "${1:-}" in
build) shift; build "$@" ;;
run) shift; run "$@" ;;
clean) rm -rf "$VM" ;;
*) sed -n '2,/^set -euo/p' "$SELF" | sed -n 's/^# \{0,1\}//p'; exit 2 ;;
esac
