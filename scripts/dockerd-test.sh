#!/bin/sh
# A private dockerd for the tests: everything it has (data root, exec root, socket, pid file,
# log, key, containerd's state) lives under DIR, containers go in the cgroup
# "stt-<name of DIR>", and stop leaves nothing behind.
#
#   scripts/dockerd-test.sh start DIR   starts Debian's dockerd (docker.io) natively, overlay2,
#                                       no iptables, no bridge; returns when DIR/docker.sock
#                                       answers. Exit 0; 77 when dockerd is not installed;
#                                       1 when it does not start (its log on stderr).
#   scripts/dockerd-test.sh start DIR --config-file FILE
#                                       the same with the daemon configuration FILE (e.g. what
#                                       `stortune recommend` wrote): its storage-driver and
#                                       data-root replace the defaults above. Its data-root must
#                                       lie inside DIR, and it must not set hosts, exec-root or
#                                       pidfile (exit 2 otherwise, nothing started).
#   scripts/dockerd-test.sh stop DIR    SIGTERM and wait (SIGKILL after 30 s), then stops
#                                       whatever still runs from DIR (containerd, shims),
#                                       unmounts everything under DIR, removes DIR, the
#                                       cgroups and the /run directories it made. Exit 0
#                                       when nothing is left; 1 otherwise.
#
# Talk to it with: docker -H unix://DIR/docker.sock ...   ($DOCKER, default /usr/bin/docker:
# the docker.io client, the daemon's own version).
set -eu

usage() {
	echo "usage: $0 start|stop DIR | start DIR --config-file FILE" >&2
	exit 2
}

config=""
if [ $# -eq 4 ] && [ "$1" = start ] && [ "$3" = --config-file ]; then
	config=$4
	set -- "$1" "$2"
fi
[ $# -eq 2 ] || usage
cmd=$1
case "$2" in
/*) dir=$2 ;;
*) dir=$(pwd)/$2 ;;
esac
dir=${dir%/}
if [ "$dir" = "" ] || [ "$dir" = "/" ]; then
	usage
fi

if [ -n "${DOCKER:-}" ]; then
	docker=$DOCKER
elif [ -x /usr/bin/docker ]; then
	docker=/usr/bin/docker
else
	docker=docker
fi
cgroup="stt-$(basename "$dir")"
run_dirs="/run/docker /run/containerd"

alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# Pids of the processes whose command line names DIR/root or DIR/exec/: dockerd, its
# containerd, the shims (never this script, which names only DIR).
procs_of_dir() {
	for p in /proc/[0-9]*; do
		if tr '\0' ' ' 2>/dev/null <"$p/cmdline" |
			grep -qF -e "$dir/root " -e "$dir/exec/" -e "$dir/exec "; then
			echo "${p#/proc/}"
		fi
	done
}

# Mount points at or below DIR, deepest first.
mounts_of_dir() {
	awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print length($5), $5 }' \
		/proc/self/mountinfo | sort -rn | cut -d' ' -f2-
}

# Waits up to $2 tenths of a second for pid $1 to exit; 0 when it did.
wait_gone() {
	i=0
	while alive "$1"; do
		[ "$i" -ge "$2" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}

start() {
	if ! command -v dockerd >/dev/null 2>&1; then
		echo "dockerd-test: dockerd is not installed (Debian package docker.io)" >&2
		exit 77
	fi
	if [ -e "$dir/dockerd.pid" ] && alive "$(cat "$dir/dockerd.pid")"; then
		echo "dockerd-test: $dir: a dockerd already runs there" >&2
		exit 1
	fi
	driver_flag="--storage-driver=overlay2"
	root_flag="--data-root=$dir/root"
	if [ -n "$config" ]; then
		[ -f "$config" ] || {
			echo "dockerd-test: $config: no such file" >&2
			exit 2
		}
		for k in hosts exec-root pidfile; do
			if grep -q "\"$k\"[[:space:]]*:" "$config"; then
				echo "dockerd-test: $config: sets \"$k\", which this script owns" >&2
				exit 2
			fi
		done
		if grep -q '"storage-driver"[[:space:]]*:' "$config"; then
			driver_flag=""
		fi
		root=$(sed -n 's/^[[:space:]]*"data-root"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' \
			"$config" | head -n 1)
		if [ -n "$root" ]; then
			case "$root" in
			"$dir"/*) root_flag="" ;;
			*)
				echo "dockerd-test: $config: data-root $root is outside $dir" >&2
				exit 2
				;;
			esac
		fi
	fi
	mkdir -p "$dir/root" "$dir/exec"
	# Its own configuration, not the host's /etc/docker/daemon.json; the key it makes at
	# start (in /etc/docker by default) in DIR.
	if [ -z "$config" ]; then
		printf '{ "deprecated-key-path": "%s/key.json" }\n' "$dir" >"$dir/daemon.json"
	elif grep -q '"deprecated-key-path"' "$config" || ! grep -q ':' "$config"; then
		# (an empty object gets the defaults of the flags above)
		if grep -q ':' "$config"; then
			cp "$config" "$dir/daemon.json"
		else
			printf '{ "deprecated-key-path": "%s/key.json" }\n' "$dir" >"$dir/daemon.json"
		fi
	else
		sed "0,/{/s##{ \"deprecated-key-path\": \"$dir/key.json\",#" "$config" \
			>"$dir/daemon.json"
	fi
	# dockerd and containerd make these whatever their roots; stop removes those we made.
	for d in $run_dirs; do
		[ -e "$d" ] || echo "$d"
	done >"$dir/run-dirs"
	# setsid: its own session, out of reach of the terminal's signals; stdin closed.
	# shellcheck disable=SC2086 # the two flags are empty or one word each
	setsid dockerd --iptables=false --ip-masq=false --bridge=none \
		$driver_flag $root_flag --exec-root "$dir/exec" \
		-H "unix://$dir/docker.sock" --pidfile "$dir/docker.pid" \
		--cgroup-parent "$cgroup" --config-file "$dir/daemon.json" \
		</dev/null >"$dir/dockerd.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/dockerd.pid"
	i=0
	while ! "$docker" -H "unix://$dir/docker.sock" version >/dev/null 2>&1; do
		if ! alive "$pid" || [ "$i" -ge 600 ]; then
			echo "dockerd-test: dockerd did not start (pid $pid); its log:" >&2
			tail -n 30 "$dir/dockerd.log" >&2 || true
			stop >/dev/null 2>&1 || true
			exit 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

stop() {
	[ -d "$dir" ] || return 0
	pid=""
	[ -e "$dir/dockerd.pid" ] && pid=$(cat "$dir/dockerd.pid")
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		if ! wait_gone "$pid" 300; then
			echo "dockerd-test: dockerd $pid ignored SIGTERM for 30 s; SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
			wait_gone "$pid" 50 || true
		fi
	fi
	# What dockerd left running: its containerd and shims (they name DIR).
	for p in $(procs_of_dir); do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $(procs_of_dir); do
		wait_gone "$p" 50 || kill -KILL "$p" 2>/dev/null || true
	done
	for m in $(mounts_of_dir); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	made=""
	[ -e "$dir/run-dirs" ] && made=$(cat "$dir/run-dirs")
	rm -rf --one-file-system "$dir" 2>/dev/null || true
	for d in $made; do
		if [ -d "$d" ]; then
			find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
		fi
	done
	for c in /sys/fs/cgroup/*/"$cgroup" /sys/fs/cgroup/"$cgroup"; do
		[ -d "$c" ] || continue
		find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done

	left=""
	[ -n "$(procs_of_dir)" ] && left="$left processes: $(procs_of_dir | tr '\n' ' ')"
	[ -n "$(mounts_of_dir)" ] && left="$left mounts: $(mounts_of_dir | tr '\n' ' ')"
	[ -e "$dir" ] && left="$left the directory"
	for d in $made; do
		[ -e "$d" ] && left="$left $d"
	done
	if [ -n "$left" ]; then
		echo "dockerd-test: $dir: left behind:$left" >&2
		return 1
	fi
	return 0
}

case "$cmd" in
start) start ;;
stop) stop ;;
*) usage ;;
esac
