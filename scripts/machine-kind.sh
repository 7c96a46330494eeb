#!/bin/sh
# The machine kind a baseline belongs to: CPU count and CPU model, e.g.
# "2cpu-intel-xeon-processor". Runs on machines of one kind are compared with each other;
# what else must match (kernel, Docker, profile, options) stortune compare checks itself.
set -eu
model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
[ -n "$model" ] || model=$(uname -m)
slug=$(printf '%s' "$model" | tr 'A-Z' 'a-z' | sed -e 's/([^)]*)//g' -e 's/[^a-z0-9]\{1,\}/-/g' \
	-e 's/^-//' -e 's/-$//')
printf '%scpu-%s\n' "$(nproc)" "$slug"
