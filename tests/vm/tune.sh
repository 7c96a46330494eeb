#!/bin/bash
# Guest script of the VM tier: `stortune tune` on dm-loop for real (device-mapper in the guest),
# with a tiny profile and a short sweep, and checks of its table and its results document.
#
#   STT_TUNE_PROFILE   profile (default /profiles/tune-tiny.ini, put in by run.sh)
#   STT_TUNE_CHUNKS    chunk sizes (default 64K,512K,2M); STT_TUNE_ZEROING (default on,off)
#   STT_TUNE_BACKEND   dm-loop (default), containerd-devmapper (sparse files too) or direct-lvm
#                      (then on $STT_DISK, which it destroys)
#
# Results in $STT_RESULTS: tune.json (the document), tune.txt (the table), tune.log (stderr),
# tune-checks.txt ("PASS|FAIL <check> <detail>" per check), leftovers.txt. Needs jq in the guest
# (run.sh adds it with guest.sh run --add).
set -uo pipefail

R=${STT_RESULTS:-/results}
PROFILE=${STT_TUNE_PROFILE:-/profiles/tune-tiny.ini}
CHUNKS=${STT_TUNE_CHUNKS:-64K,512K,2M}
ZEROING=${STT_TUNE_ZEROING:-on,off}
BACKEND=${STT_TUNE_BACKEND:-dm-loop}
JSON=$R/tune.json
CHECKS=$R/tune-checks.txt
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
: >"$CHECKS"
FAILED=0
pass() { echo "PASS $1 ${2:-}" | tee -a "$CHECKS"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1 ${2:-}" | tee -a "$CHECKS"; }
check() { # check NAME DETAIL JQ-FILTER: passes when the filter is true of the document
	if jq -e "$3" "$JSON" >/dev/null 2>&1; then pass "$1" "$2"; else fail "$1" "$2"; fi
}

mkdir -p /var/tmp
target=()
[ "$BACKEND" = dm-loop ] || [ "$BACKEND" = containerd-devmapper ] || target=(--device "$STT_DISK" --destroy-data "$STT_DISK")
echo "== tune: $BACKEND, chunks $CHUNKS, zeroing $ZEROING, profile $PROFILE"
t0=$(date +%s)
stortune tune --backend "$BACKEND" --profile "$PROFILE" --chunk-sizes "$CHUNKS" --zeroing "$ZEROING" \
	--env-label vm-tcg "${target[@]}" -o "$JSON" >"$R/tune.txt" 2>"$R/tune.log"
rc=$?
echo "tune_seconds=$(($(date +%s) - t0))" >"$R/tune-timing.txt"
cat "$R/tune.log" "$R/tune.txt"
if [ $rc -eq 0 ]; then pass tune.exit "exit 0 in $(($(date +%s) - t0)) s"; else fail tune.exit "exit $rc"; fi

# What is left of device-mapper, loop devices and the scratch directory.
{
	dmsetup ls 2>&1 | grep -v 'No devices found'
	losetup -a 2>&1
	find /var/tmp/stortune -mindepth 1 2>/dev/null
} >"$R/leftovers.txt"
if [ -s "$R/leftovers.txt" ]; then fail tune.leftovers "$(head -n 3 "$R/leftovers.txt" | tr '\n' ' ')"; else pass tune.leftovers "no dm device, loop device or scratch file left"; fi

if ! jq -e . "$JSON" >/dev/null 2>&1; then
	fail json.valid "no results document"
	exit 1
fi
pass json.valid

# The points asked for, in order: each chunk size with each zeroing value.
want=$(
	IFS=, read -ra cs <<<"$CHUNKS"
	IFS=, read -ra zs <<<"$ZEROING"
	for c in "${cs[@]}"; do
		for z in "${zs[@]}"; do
			n=${c%[KkMm]}
			case "$c" in *[Mm]) n=$((n * 1048576)) ;; *) n=$((n * 1024)) ;; esac
			[ "$z" = on ] && z=true || z=false
			printf '%s/%s ' "$n" "$z"
		done
	done
)
got=$(jq -r '[.tune.points[] | "\(.chunk_size_bytes)/\(.zeroing)"] | join(" ")' "$JSON")
if [ "$got " = "$want" ]; then pass json.points "$got"; else fail json.points "got '$got', want '$want'"; fi
check json.schema "schema stortune-results 1, tune.backend $BACKEND, profile and repetitions recorded" \
	".schema == \"stortune-results\" and .schema_version == 1 and .tune.backend == \"$BACKEND\"
	 and .tune.profile == \"tune-tiny\" and .tune.repetitions == .options.repetitions
	 and .tune.containers == .options.containers and (.backends | length) == 0"
check json.all_ok "every point ran" '[.tune.points[] | .status == "ok"] | all'
# Every figure is there, positive, and a summary over the repetitions.
check json.figures "summaries with n = repetitions and a positive median" '
	.tune.repetitions as $n | [.tune.points[] |
	 (.start_p50_ns, .start_p99_ns, .first_write_p50_ns, .cow_write_p50_ns, .cow_write_bytes,
	  .storm_containers_per_s) | .n == $n and .median > 0] | all'
check json.order "start p99 >= p50 at every point" \
	'[.tune.points[] | .start_p99_ns.median >= .start_p50_ns.median] | all'
check json.provisioning "provisioning latencies positive, ratios = first/overwrite" '
	[.tune.points[].provisioning | .first_write_clat_p50_ns > 0 and .overwrite_clat_p50_ns > 0
	 and .first_write_clat_mean_ns > 0 and .overwrite_clat_mean_ns > 0
	 and ((.clat_p50_ratio - .first_write_clat_p50_ns / .overwrite_clat_p50_ns) | fabs) < 1e-6
	 and ((.clat_mean_ratio - .first_write_clat_mean_ns / .overwrite_clat_mean_ns) | fabs) < 1e-6] | all'
# The pool's own figures: the data the containers took is whole blocks of the chunk size (the bench
# result of the point says which), and at least one block per container.
check json.space_blocks "pool data per container: at least one chunk, and a whole number of chunks in all" '
	.tune.containers as $c | .tune.repetitions as $n | [.tune.points[] | .chunk_size_bytes as $k |
	 .pool_data_bytes_per_container >= $k and
	 (((.pool_data_bytes_per_container * $c / $k) | . == floor) or $n % 2 == 0) and
	 .bench.pool.after_import.data_block_bytes == $k] | all'
# What a chunk size costs: space per container grows with the chunk size for each zeroing setting
# (a coarser allocation unit can only take more for the same writes), strictly from the smallest
# chunk to the largest.
check json.space_grows "pool data per container grows with the chunk size, per zeroing setting" '
	[.tune.points | group_by(.zeroing)[] | sort_by(.chunk_size_bytes) |
	 map(.pool_data_bytes_per_container) | (. == sort) and (last > first)] | all'
# (No check of cow-write bytes against the chunk size: the 4-byte mid-file write copies the chunk it
# falls in only when no earlier write of the container broke that chunk's sharing already; with 2M
# chunks the first-write phase often has, and the figure drops below one chunk.)
# The table: a header and one row per point, in the same order, with the same space figures.
rows=$(grep -cE '^ *[0-9]+[KM] +(on|off) ' "$R/tune.txt")
npts=$(jq '.tune.points | length' "$JSON")
if grep -q 'pool/ctr' "$R/tune.txt" && [ "$rows" = "$npts" ]; then
	pass table.rows "$rows rows for $npts points"
else
	fail table.rows "$rows rows for $npts points"
fi
tab=$(awk '/^ *[0-9]+[KM] +(on|off) / { printf "%s/%s ", $1, $2 }' "$R/tune.txt")
js=$(jq -r '[.tune.points[] | "\(if .chunk_size_bytes >= 1048576 then "\(.chunk_size_bytes / 1048576)M" else "\(.chunk_size_bytes / 1024)K" end)/\(if .zeroing then "on" else "off" end)"] | join(" ")' "$JSON")
if [ "$tab" = "$js " ]; then pass table.order "$js"; else fail table.order "table '$tab', json '$js'"; fi

echo "== tune checks: $FAILED failed"
[ "$FAILED" -eq 0 ] && [ $rc -eq 0 ]
