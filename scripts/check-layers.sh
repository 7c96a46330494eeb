#!/bin/sh
# The layering rule of src/ (README "Layout"), checked on the tree:
#  - a folder of src/ includes project headers only from itself and the folders below it, in
#    the order of LAYERS (bottom first);
#  - each external library's header is included by exactly one file of src/ (json-c, the
#    documents' data type, excepted).
# Prints each breach and exits 1 when there is one; "layers: ok" otherwise.
set -eu
cd "$(dirname "$0")/.."
LAYERS="base sys backend workload measure advice"
# library header -> the one file of src/ allowed to include it
LIBS="libdevmapper.h=src/sys/dm.c lvm2cmd.h=src/sys/lvm.c blkid.h=src/sys/probe.c
libaio.h=src/measure/engine.c archive.h=src/sys/tarfile.c ini.h=src/workload/profile.c
curl/curl.h=src/sys/http.c openssl/evp.h=src/workload/image_export.c"
[ -z "${STT_EXTRA_LIBS:-}" ] || LIBS="$LIBS $STT_EXTRA_LIBS"

rank() { # rank FOLDER -> its position in LAYERS, or nothing
	i=0
	for l in $LAYERS; do
		[ "$l" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
}

bad=0
for d in src/*/; do
	d=${d%/}
	f=${d#src/}
	[ -n "$(rank "$f")" ] || { echo "layers: $d: a folder not in LAYERS ($LAYERS)"; bad=1; }
done
for file in src/*/*.c src/*/*.h; do
	from=$(echo "$file" | cut -d/ -f2)
	rf=$(rank "$from")
	[ -n "$rf" ] || continue
	for inc in $(sed -n 's/^#include "\([a-z_]*\)\/[a-z_]*\.h"/\1/p' "$file"); do
		ri=$(rank "$inc")
		if [ -z "$ri" ]; then
			echo "layers: $file includes from src/$inc, which is not a layer"
			bad=1
		elif [ "$ri" -gt "$rf" ]; then
			echo "layers: $file ($from) includes from $inc, a layer above it"
			bad=1
		fi
	done
	if grep -q '^#include "[a-z_]*\.h"' "$file"; then
		echo "layers: $file includes a header without its folder"
		bad=1
	fi
done
for pair in $LIBS; do
	h=${pair%%=*}
	want=${pair#*=}
	got=$(grep -l "^#include <$h>" src/*/*.c src/*/*.h 2>/dev/null | tr '\n' ' ')
	if [ "$got" != "$want " ]; then
		echo "layers: <$h> must be included by $want alone; included by: ${got:-nothing}"
		bad=1
	fi
done
[ $bad -eq 0 ] && echo "layers: ok"
exit $bad
