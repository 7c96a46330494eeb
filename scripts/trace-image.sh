#!/bin/sh
# Builds a real Debian image for `stortune trace`: a bookworm rootfs made with debootstrap
# (--variant=minbase plus the packages named), packed as a `docker save` tar (Docker 20.10's
# layout: one layer, its config with rootfs.diff_ids, manifest.json) that dockerd loads with
# POST /images/load.
#
#   scripts/trace-image.sh OUT.tar TAG PACKAGE[,PACKAGE...]
#
# The result is cached: OUT.tar is kept, and rebuilt only when it is missing or was made from
# another package list (OUT.tar.pkgs). The mirror is the first "deb" source of this machine's
# /etc/apt/sources.list* that serves Debian's main archive ($STT_DEBIAN_MIRROR overrides).
# Needs root (debootstrap) and the debootstrap package (scripts/deps.sh).
set -eu

[ $# -eq 3 ] || { echo "usage: $0 OUT.tar TAG PACKAGES" >&2; exit 2; }
out=$1 tag=$2 pkgs=$3

if [ -f "$out" ] && [ "$(cat "$out.pkgs" 2>/dev/null)" = "$pkgs" ]; then
	exit 0
fi
command -v debootstrap >/dev/null 2>&1 ||
	{ echo "$0: debootstrap: not installed (apt-get install debootstrap)" >&2; exit 2; }

mirror=${STT_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
	# deb822 (URIs:) or one-line (deb URI suite ...) sources; the first Debian archive
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null |
		sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}//p' |
		awk '{ print $1 }' | grep -v -e security -e '^$' | grep 'debian/*$' | head -n 1)
fi
[ -n "$mirror" ] || { echo "$0: no Debian mirror in /etc/apt/sources.list*" >&2; exit 2; }

work=$out.work
# debootstrap mounts /proc and /sys in the tree while it installs: unmount what is left below
# the work directory (a killed run) before removing it, and never cross into another filesystem.
cleanup() {
	if [ -d "$work" ]; then
		findmnt -rn -o TARGET | grep -F "$(cd "$work" && pwd -P)/" | sort -r |
			while read -r m; do umount -l "$m" || true; done
		rm -rf --one-file-system "$work"
	fi
}
cleanup
mkdir -p "$work/rootfs" "$work/save"
trap cleanup EXIT
trap 'exit 1' INT TERM
echo "trace-image: debootstrap --variant=minbase --include=$pkgs bookworm ($mirror)" >&2
debootstrap --variant=minbase --include="$pkgs" bookworm "$work/rootfs" "$mirror" \
	>"$work/debootstrap.log" 2>&1 || {
	tail -n 20 "$work/debootstrap.log" >&2
	echo "$0: debootstrap failed" >&2
	exit 1
}
# What a container image does not carry: the package caches and the debootstrap leftovers.
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* \
	"$work/rootfs/debootstrap"

tar -C "$work/rootfs" --numeric-owner --xattrs --sort=name -cf "$work/layer.tar" .
diff=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir "$work/save/$diff"
mv "$work/layer.tar" "$work/save/$diff/layer.tar"
printf '%s\n' \
	'{"architecture":"amd64","os":"linux",' \
	'"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],' \
	'"Cmd":["/bin/sh"]},' \
	"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff\"]}}" \
	>"$work/config.json"
cfg=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/save/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' \
	"$cfg" "$tag" "$diff" >"$work/save/manifest.json"
tar -C "$work/save" --sort=name -cf "$out.tmp" manifest.json "$cfg.json" "$diff"
mv "$out.tmp" "$out"
printf '%s\n' "$pkgs" >"$out.pkgs"
echo "trace-image: $out ($(du -h "$out" | cut -f1))" >&2
