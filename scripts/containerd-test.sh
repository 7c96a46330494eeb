#!/bin/sh
# A private containerd for the tests: its root, state, sockets, config and log live under DIR,
# and stop leaves nothing behind.
#
#   scripts/containerd-test.sh start DIR [--import FILE]
#        writes DIR/config.toml (version 2: root, state, grpc and ttrpc sockets under DIR, the
#        CRI plugin off, and `imports = [FILE]` when given), has containerd's own parser check
#        it (`containerd --config DIR/config.toml config dump`, kept in DIR/config.dump), and
#        starts containerd; returns when DIR/containerd.sock answers. Exit 0; 77 when
#        containerd is not installed; 2 when its parser rejects the configuration (its
#        message on stderr, nothing started); 1 when it does not start (its log on stderr).
#   scripts/containerd-test.sh image DIR
#        writes DIR/image.tar: a `docker save` archive of one layer (busybox-static with
#        /bin/sh and /bin/true), tagged stortune/busybox:1.
#   scripts/containerd-test.sh run DIR SNAPSHOTTER N
#        imports DIR/image.tar into SNAPSHOTTER, then N times: `ctr containers create`,
#        `ctr tasks start` (runs /bin/true, waits), `ctr containers delete`, each timed; and N
#        times `ctr version` (what the CLI's own start and one round trip cost). Prints
#        "key=value" lines (milliseconds, medians). Exit 2, naming what `ctr plugins ls`
#        reports, when the snapshotter is missing or not "ok".
#   scripts/containerd-test.sh stop DIR
#        SIGTERM and wait (SIGKILL after 30 s), stops the shims started from DIR, unmounts
#        everything under DIR, removes DIR. Exit 0 when nothing is left; 1 otherwise.
set -eu

usage() {
	echo "usage: $0 start DIR [--import FILE] | image DIR | run DIR SNAPSHOTTER N | stop DIR" >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
case "$2" in
/*) dir=$2 ;;
*) dir=$(pwd)/$2 ;;
esac
dir=${dir%/}
{ [ "$dir" = "" ] || [ "$dir" = "/" ]; } && usage
shift 2
sock=$dir/containerd.sock
CTR="ctr -a $sock"

alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# Pids whose command line names DIR (containerd, its shims), never this script's own.
procs_of_dir() {
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = "$$" ] && continue
		if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -e "$dir/config.toml" \
			-e "$dir/state" -e "$sock"; then
			case "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" in
			*containerd-test.sh*) ;;
			*) echo "${p#/proc/}" ;;
			esac
		fi
	done
}

mounts_of_dir() {
	awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print length($5), $5 }' \
		/proc/self/mountinfo | sort -rn | cut -d' ' -f2-
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

median() { # median of the numbers on stdin
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

start() {
	import=""
	if [ $# -eq 2 ] && [ "$1" = --import ]; then
		import=$2
	elif [ $# -ne 0 ]; then
		usage
	fi
	if ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
		echo "containerd-test: containerd is not installed (apt-get install containerd)" >&2
		exit 77
	fi
	if [ -e "$dir/containerd.pid" ] && alive "$(cat "$dir/containerd.pid")"; then
		echo "containerd-test: $dir: a containerd already runs there" >&2
		exit 1
	fi
	mkdir -p "$dir"
	{
		echo "version = 2"
		[ -z "$import" ] || echo "imports = [\"$import\"]"
		echo "root = \"$dir/root\""
		echo "state = \"$dir/state\""
		echo "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]"
		echo "[grpc]"
		echo "  address = \"$sock\""
		echo "[ttrpc]"
		echo "  address = \"$sock.ttrpc\""
		echo "[debug]"
		echo "  address = \"\""
		echo "[metrics]"
		echo "  address = \"\""
	} >"$dir/config.toml"
	if ! containerd --config "$dir/config.toml" config dump >"$dir/config.dump" 2>&1; then
		echo "containerd-test: containerd rejects $dir/config.toml: $(head -n 1 "$dir/config.dump")" >&2
		exit 2
	fi
	containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
	echo $! >"$dir/containerd.pid"
	i=0
	while ! $CTR version >/dev/null 2>&1; do
		if ! alive "$(cat "$dir/containerd.pid")" || [ $i -ge 300 ]; then
			echo "containerd-test: containerd did not start:" >&2
			tail -n 20 "$dir/containerd.log" >&2
			exit 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

image() {
	t=$dir/image.build
	rm -rf "$t"
	mkdir -p "$t/rootfs/bin" "$t/rootfs/etc" "$t/rootfs/proc" "$t/rootfs/sys" \
		"$t/rootfs/dev" "$t/out"
	bb=$(command -v busybox) || {
		echo "containerd-test: busybox is not installed (apt-get install busybox-static)" >&2
		exit 77
	}
	cp "$bb" "$t/rootfs/bin/busybox"
	ln -s busybox "$t/rootfs/bin/sh"
	ln -s busybox "$t/rootfs/bin/true"
	tar -C "$t/rootfs" --numeric-owner --owner=0 --group=0 -cf "$t/layer.tar" .
	l=$(sha256sum "$t/layer.tar" | cut -d' ' -f1)
	mkdir "$t/out/$l"
	mv "$t/layer.tar" "$t/out/$l/layer.tar"
	printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/true"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$l" >"$t/config.json"
	c=$(sha256sum "$t/config.json" | cut -d' ' -f1)
	mv "$t/config.json" "$t/out/$c.json"
	printf '[{"Config":"%s.json","RepoTags":["stortune/busybox:1"],"Layers":["%s/layer.tar"]}]' \
		"$c" "$l" >"$t/out/manifest.json"
	tar -C "$t/out" -cf "$dir/image.tar" .
	rm -rf "$t"
}

run() {
	[ $# -eq 2 ] || usage
	sn=$1
	n=$2
	plugins=$($CTR plugins ls)
	st=$(echo "$plugins" | awk -v s="$sn" '$1 == "io.containerd.snapshotter.v1" && $2 == s { print $4 }')
	if [ "$st" != ok ]; then
		have=$(echo "$plugins" | awk '$1 == "io.containerd.snapshotter.v1" { printf "%s%s (%s)", sep, $2, $4; sep = ", " }')
		if [ -z "$st" ]; then
			echo "containerd-test: snapshotter $sn: this containerd has none of that name; ctr plugins ls reports: $have" >&2
		else
			echo "containerd-test: snapshotter $sn: ctr plugins ls reports it as \"$st\" (see $dir/containerd.log); snapshotters: $have" >&2
		fi
		exit 2
	fi
	img=docker.io/stortune/busybox:1
	t0=$(now_ms)
	$CTR images import --snapshotter "$sn" "$dir/image.tar" >/dev/null
	echo "import_ms=$(($(now_ms) - t0))"
	: >"$dir/t.create"
	: >"$dir/t.start"
	: >"$dir/t.remove"
	: >"$dir/t.version"
	i=0
	while [ $i -lt "$n" ]; do
		id=stt-$i
		t0=$(now_ms)
		$CTR containers create --snapshotter "$sn" "$img" "$id" /bin/true >/dev/null
		t1=$(now_ms)
		$CTR tasks start "$id" >/dev/null
		t2=$(now_ms)
		$CTR containers delete "$id" >/dev/null
		t3=$(now_ms)
		$CTR version >/dev/null
		t4=$(now_ms)
		echo $((t1 - t0)) >>"$dir/t.create"
		echo $((t2 - t1)) >>"$dir/t.start"
		echo $((t3 - t2)) >>"$dir/t.remove"
		echo $((t4 - t3)) >>"$dir/t.version"
		i=$((i + 1))
	done
	echo "n=$n"
	echo "create_ms=$(median <"$dir/t.create")"
	echo "start_ms=$(median <"$dir/t.start")"
	echo "remove_ms=$(median <"$dir/t.remove")"
	echo "ctr_version_ms=$(median <"$dir/t.version")"
	echo "snapshots=$($CTR snapshots --snapshotter "$sn" ls | tail -n +2 | wc -l)"
}

stop() {
	[ -d "$dir" ] || return 0
	pid=$(cat "$dir/containerd.pid" 2>/dev/null || true)
	if alive "$pid"; then
		kill -TERM "$pid"
		i=0
		while alive "$pid" && [ $i -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		alive "$pid" && kill -KILL "$pid"
		while alive "$pid"; do sleep 0.1; done
	fi
	for p in $(procs_of_dir); do
		kill -KILL "$p" 2>/dev/null || true
	done
	for m in $(mounts_of_dir); do
		umount "$m" 2>/dev/null || umount -l "$m" || true
	done
	rm -rf "$dir"
	left=0
	[ -z "$(procs_of_dir)" ] || { echo "containerd-test: processes left: $(procs_of_dir)" >&2; left=1; }
	[ -z "$(mounts_of_dir)" ] || { echo "containerd-test: mounts left" >&2; left=1; }
	[ ! -e "$dir" ] || { echo "containerd-test: $dir left" >&2; left=1; }
	exit $left
}

case "$cmd" in
start) start "$@" ;;
image) [ $# -eq 0 ] || usage; image ;;
run) run "$@" ;;
stop) [ $# -eq 0 ] || usage; stop ;;
*) usage ;;
esac
