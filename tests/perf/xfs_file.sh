# Sourced by the engine benchmarks (fio_check.sh, instructions.sh), from the repository root:
# a scratch xfs on a loop device with direct I/O on, and a 1 GiB file on it laid out by
# stortune. Sets $work (a temporary directory) and $f (the file). perf_cleanup removes it
# all and runs at exit; a script with more to stop calls it from its own EXIT trap.
work=$(mktemp -d /var/tmp/stt-perf.XXXXXX)
perf_img=$work/img perf_mnt=$work/mnt perf_dev=
perf_cleanup() {
	mountpoint -q "$perf_mnt" 2>/dev/null && umount "$perf_mnt"
	[ -n "$perf_dev" ] && losetup -d "$perf_dev"
	rm -rf "$work"
}
trap perf_cleanup EXIT
truncate -s 2G "$perf_img"
mkfs.xfs -q -f "$perf_img"
perf_dev=$(losetup --direct-io=on -f --show "$perf_img")
mkdir -p "$perf_mnt"
mount "$perf_dev" "$perf_mnt"
f=$perf_mnt/data
./stortune -q io "$f" --rw write --bs 1m --iodepth 8 --size 1g >/dev/null
