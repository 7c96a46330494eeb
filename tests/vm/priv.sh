#!/bin/bash
# Guest script of the VM tier: the privileged backend tests (tests/priv) with device-mapper,
# dm-loop on sparse files in the guest's /var/tmp, direct-lvm on the emulated NVMe disk.
# STT_PRIV_REQUIRE makes an unavailable dm backend a failure instead of a skip.
set -u
export STORTUNE=/usr/local/bin/stortune
export STT_PRIV_ONLY=${STT_PRIV_ONLY:-backends,interrupt}
export STT_PRIV_REQUIRE=dm-loop,direct-lvm,containerd-devmapper
export STT_PRIV_DEVICE=$STT_DISK
# The interruption suite's backends: containerd-devmapper's takes ~10 min under TCG and runs in
# `make check-vm-containerd` (containerd-overlayfs's runs natively); its lifecycle test runs here.
export STT_PRIV_BACKENDS=${STT_PRIV_BACKENDS:-overlay,dm-loop,direct-lvm}
# Smaller runs than natively: every dm operation is emulated (TCG).
export STT_INT_LAYERS=${STT_INT_LAYERS:-3} STT_INT_CONTAINERS=${STT_INT_CONTAINERS:-6}
cd / && mkdir -p /var/tmp
echo "== guest: $(uname -r), $(nproc) cpus, disk $STT_DISK"
/usr/local/bin/priv-tests 2>&1 | tee "$STT_RESULTS/priv.log"
rc=${PIPESTATUS[0]}
# What is left of device-mapper afterwards, for the host to check.
/usr/sbin/dmsetup ls >"$STT_RESULTS/dmsetup-ls.txt" 2>&1
/usr/sbin/losetup -a >"$STT_RESULTS/losetup.txt" 2>&1
/usr/sbin/blkid -p "$STT_DISK" >"$STT_RESULTS/disk-blkid.txt" 2>&1
echo "$rc" >"$STT_RESULTS/priv.rc"
exit "$rc"
