#!/bin/sh
# Install every Debian package that stortune's build, the tool itself and its tests need.
# Idempotent: does nothing when all of them are present.
set -eu
pkgs="build-essential pkg-config
libaio-dev libblkid-dev libdevmapper-dev liblvm2-dev libjson-c-dev libinih-dev libcunit1-dev
xfslibs-dev libarchive-dev
docker.io
util-linux fdisk e2fsprogs xfsprogs btrfs-progs lvm2 thin-provisioning-tools fio
qemu-system-x86 busybox-static cpio kmod xz-utils file libxml2-utils jq valgrind
clang libclang-rt-14-dev"

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: need root to install packages (run: sudo make deps)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
