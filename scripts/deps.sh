#!/bin/sh
# Install every Debian package that stortune's build, the tool itself and its tests need.
# Idempotent: does nothing when all of them are present.
set -eu
pkgs="build-essential pkg-config
libaio-dev libblkid-dev libdevmapper-dev liblvm2-dev libjson-c-dev libinih-dev libcunit1-dev
xfslibs-dev libarchive-dev libcurl4-openssl-dev libssl-dev
docker.io containerd runc
util-linux fdisk e2fsprogs xfsprogs btrfs-progs lvm2 thin-provisioning-tools fio
qemu-system-x86 busybox-static debootstrap cpio kmod xz-utils file libxml2-utils jq valgrind
nodejs chromium ansible openssh-server openssh-client
clang libclang-rt-14-dev"
# Debian's nodejs has npm apart; NodeSource's nodejs bundles it (and conflicts with Debian's npm)
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing="$missing $p"
done
npm_deps() { # the report's npm packages (report/package.json), exactly the lockfile's versions
	lock=report/package-lock.json
	dir=vendor/npm
	if [ -f "$dir/package-lock.json" ] && cmp -s "$lock" "$dir/package-lock.json" &&
		[ -d "$dir/node_modules/uplot" ] && [ -d "$dir/node_modules/playwright-core" ]; then
		return 0
	fi
	echo "deps: npm ci in $dir (uplot, playwright-core; no browser download)" >&2
	mkdir -p "$dir"
	cp report/package.json "$lock" "$dir/"
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$dir" --no-audit --no-fund >&2
	# npm leaves its copy of the lockfile in node_modules; ours marks a finished install
	cp "$lock" "$dir/package-lock.json"
}
cd "$(dirname "$0")/.."

if [ -z "$missing" ]; then
	npm_deps
	exit 0
fi

echo "deps: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: need root to install packages (run: sudo make deps)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
npm_deps
