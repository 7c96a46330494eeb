#!/bin/bash
# Guest script: the benchmark of the dm backends, for `make run` on a kernel without
# device-mapper. dm-loop on sparse files in the guest, direct-lvm on the emulated NVMe disk.
# The results are labelled vm-tcg: they show that the backends work, not this host's speed.
set -u
mkdir -p /var/tmp
profile=${STT_PROFILE:-/profiles/ci.ini}
# STT_BENCH_SIZES: --containers N --repetitions R (make run's), else the profile's
# shellcheck disable=SC2086
/usr/local/bin/stortune bench --backend dm-loop,direct-lvm --device "$STT_DISK" \
	--destroy-data "$STT_DISK" --profile "$profile" --env-label vm-tcg ${STT_BENCH_SIZES:-} \
	-o "$STT_RESULTS/vm.json" 2>&1 | tee "$STT_RESULTS/bench.log"
exit "${PIPESTATUS[0]}"
