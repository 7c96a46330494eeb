// SPDX-License-Identifier: GPL-2.0-or-later
#include "unit.h"

#include "base/fmt.h"

#include <errno.h>
#include <string.h>

static void test_bytes(void)
{
	char b[32];

	CU_ASSERT_STRING_EQUAL(stt_fmt_bytes(0, b, sizeof(b)), "0 B");
	CU_ASSERT_STRING_EQUAL(stt_fmt_bytes(1023, b, sizeof(b)), "1023 B");
	CU_ASSERT_STRING_EQUAL(stt_fmt_bytes(1024, b, sizeof(b)), "1.00 KiB");
	CU_ASSERT_STRING_EQUAL(stt_fmt_bytes(64ull << 20, b, sizeof(b)), "64.0 MiB");
	CU_ASSERT_STRING_EQUAL(stt_fmt_bytes(252ull << 30, b, sizeof(b)), "252 GiB");
}

static void test_size(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "4096", 4096 },	  { "4k", 4096 },	{ "64K", 65536 },
		{ "512KiB", 512 << 10 }, { "1.5G", 3ull << 29 }, { "100g", 100ull << 30 },
		{ "2m", 2 << 20 },	  { "1t", 1ull << 40 },	{ "8b", 8 },
	};
	static const char *const bad[] = { "", "-1", "k", "4x", "1.5", "0.3k", "4kk", "abc" };
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(stt_fmt_parse_size(ok[i].s, &v), 0);
		CU_ASSERT_EQUAL(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(stt_fmt_parse_size(bad[i], &v), -EINVAL);
	CU_ASSERT_EQUAL(stt_fmt_parse_size("99999999p", &v), -ERANGE);
}

static void test_time(void)
{
	uint64_t ms;

	CU_ASSERT_EQUAL(stt_fmt_parse_time_ms("10", &ms), 0);
	CU_ASSERT_EQUAL(ms, 10000);
	CU_ASSERT_EQUAL(stt_fmt_parse_time_ms("250ms", &ms), 0);
	CU_ASSERT_EQUAL(ms, 250);
	CU_ASSERT_EQUAL(stt_fmt_parse_time_ms("2m", &ms), 0);
	CU_ASSERT_EQUAL(ms, 120000);
	CU_ASSERT_EQUAL(stt_fmt_parse_time_ms("1.5s", &ms), 0);
	CU_ASSERT_EQUAL(ms, 1500);
	CU_ASSERT_EQUAL(stt_fmt_parse_time_ms("5x", &ms), -EINVAL);
	CU_ASSERT_EQUAL(stt_fmt_parse_time_ms("-5", &ms), -EINVAL);
}

int unit_register_fmt(void)
{
	CU_pSuite s = CU_add_suite("fmt", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "bytes for people", test_bytes);
	CU_add_test(s, "sizes", test_size);
	CU_add_test(s, "times", test_time);
	return CU_get_error();
}
