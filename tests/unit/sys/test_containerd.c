// SPDX-License-Identifier: GPL-2.0-or-later
/* The parser of `ctr plugins ls` (src/sys/containerd.c), on the text containerd 1.6 prints. */
#include "unit.h"

#include "sys/containerd.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

/* As containerd 1.6.20 on this machine prints it (no device-mapper in the kernel), cut. */
static const char listing[] =
    "TYPE                                  ID                       PLATFORMS      STATUS    \n"
    "io.containerd.content.v1              content                  -              ok        \n"
    "io.containerd.snapshotter.v1          aufs                     linux/amd64    skip      \n"
    "io.containerd.snapshotter.v1          btrfs                    linux/amd64    skip      \n"
    "io.containerd.snapshotter.v1          devmapper                linux/amd64    error     \n"
    "io.containerd.snapshotter.v1          native                   linux/amd64    ok        \n"
    "io.containerd.snapshotter.v1          overlayfs                linux/amd64    ok        \n"
    "io.containerd.snapshotter.v1          zfs                      linux/amd64    skip      \n"
    "io.containerd.grpc.v1                 snapshots                -              ok        \n";

static void test_plugins(void)
{
	char st[16], list[512];

	CU_ASSERT_EQUAL(stt_containerd_parse_plugins(listing, STT_CONTAINERD_SNAPSHOTTER_TYPE,
						     "overlayfs", st, sizeof(st), list,
						     sizeof(list)),
			0);
	CU_ASSERT_STRING_EQUAL(st, "ok");
	CU_ASSERT_STRING_EQUAL(list, "aufs (skip), btrfs (skip), devmapper (error), native (ok), "
				     "overlayfs (ok), zfs (skip)");
	CU_ASSERT_EQUAL(stt_containerd_parse_plugins(listing, STT_CONTAINERD_SNAPSHOTTER_TYPE,
						     "devmapper", st, sizeof(st), list,
						     sizeof(list)),
			0);
	CU_ASSERT_STRING_EQUAL(st, "error");
	/* a snapshotter this containerd does not have, and one of another type's id */
	CU_ASSERT_EQUAL(stt_containerd_parse_plugins(listing, STT_CONTAINERD_SNAPSHOTTER_TYPE,
						     "stargz", st, sizeof(st), list, sizeof(list)),
			0);
	CU_ASSERT_STRING_EQUAL(st, "");
	CU_ASSERT_EQUAL(stt_containerd_parse_plugins(listing, STT_CONTAINERD_SNAPSHOTTER_TYPE,
						     "snapshots", st, sizeof(st), list,
						     sizeof(list)),
			0);
	CU_ASSERT_STRING_EQUAL(st, "");
	/* not a listing: an error message instead */
	CU_ASSERT_EQUAL(stt_containerd_parse_plugins("ctr: failed to dial \"/x.sock\"\n",
						     STT_CONTAINERD_SNAPSHOTTER_TYPE, "overlayfs",
						     st, sizeof(st), list, sizeof(list)),
			-EINVAL);
	CU_ASSERT_EQUAL(stt_containerd_parse_plugins("", STT_CONTAINERD_SNAPSHOTTER_TYPE,
						     "overlayfs", st, sizeof(st), list,
						     sizeof(list)),
			-EINVAL);
	/* a small list buffer is cut, not overrun */
	CU_ASSERT_EQUAL(stt_containerd_parse_plugins(listing, STT_CONTAINERD_SNAPSHOTTER_TYPE,
						     "zfs", st, sizeof(st), list, 12),
			0);
	CU_ASSERT_EQUAL(strlen(list), 11);
	CU_ASSERT_STRING_EQUAL(st, "skip");
}

int unit_register_containerd(void)
{
	CU_pSuite s = CU_add_suite("containerd", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "ctr plugins ls", test_plugins);
	return CU_get_error();
}
