// SPDX-License-Identifier: GPL-2.0-or-later
/* Thin-pool status lines as the kernel prints them (captured in the VM tier). */
#include "unit.h"

#include "backend/thinpool.h"

#include <errno.h>

static void test_status(void)
{
	struct stt_pool_status st;

	CU_ASSERT_EQUAL(stt_thinpool_parse_status("3 155/32768 1043/32768 - rw discard_passdown "
						  "queue_if_no_space - 1024",
						  &st),
			0);
	CU_ASSERT_EQUAL(st.transaction_id, 3);
	CU_ASSERT_EQUAL(st.meta_used_blocks, 155);
	CU_ASSERT_EQUAL(st.meta_total_blocks, 32768);
	CU_ASSERT_EQUAL(st.data_used_blocks, 1043);
	CU_ASSERT_EQUAL(st.data_total_blocks, 32768);
	CU_ASSERT_FALSE(st.out_of_data_space);
	CU_ASSERT_FALSE(st.read_only);
	CU_ASSERT_FALSE(st.needs_check);
	CU_ASSERT_FALSE(st.error_if_no_space);

	CU_ASSERT_EQUAL(stt_thinpool_parse_status("12 200/4096 32768/32768 - out_of_data_space "
						  "discard_passdown queue_if_no_space - 1024",
						  &st),
			0);
	CU_ASSERT_TRUE(st.out_of_data_space);
	CU_ASSERT_EQUAL(stt_thinpool_parse_status("7 10/4096 5/100 - ro no_discard_passdown "
						  "error_if_no_space needs_check 1024",
						  &st),
			0);
	CU_ASSERT_TRUE(st.read_only);
	CU_ASSERT_TRUE(st.needs_check);
	CU_ASSERT_TRUE(st.error_if_no_space);

	CU_ASSERT_EQUAL(stt_thinpool_parse_status("Fail", &st), -EIO);
	CU_ASSERT_EQUAL(stt_thinpool_parse_status("", &st), -EINVAL);
	CU_ASSERT_EQUAL(stt_thinpool_parse_status("3 155/32768", &st), -EINVAL);
}

static void test_opts(void)
{
	struct stt_backend_opts o;
	char why[128];

	stt_backend_opts_init(&o);
	CU_ASSERT_EQUAL(stt_thinpool_opts_check(&o, 64u << 10, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(stt_thinpool_opts_check(&o, 512u << 10, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(stt_thinpool_opts_check(&o, 32u << 10, why, sizeof(why)), -EINVAL);
	CU_ASSERT_EQUAL(stt_thinpool_opts_check(&o, 96u << 10, why, sizeof(why)), -EINVAL);
	CU_ASSERT_EQUAL(stt_thinpool_opts_check(&o, 2u << 30, why, sizeof(why)), -EINVAL);
	o.fs = "btrfs";
	CU_ASSERT_EQUAL(stt_thinpool_opts_check(&o, 64u << 10, why, sizeof(why)), -EINVAL);
}

int unit_register_thinpool(void)
{
	CU_pSuite s = CU_add_suite("thinpool", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "status lines", test_status);
	CU_add_test(s, "chunk size and fs", test_opts);
	return CU_get_error();
}
