// SPDX-License-Identifier: GPL-2.0-or-later
#include "unit.h"

#include "sys/tracefs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lines of an instance's trace_pipe captured on this kernel (6.18), plus two odd comms. */
static void test_lines(void)
{
	char path[4096], line[1024];
	struct stt_tracefs_event ev[16];
	int rc[16];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tracefs-filemap.txt", unit_data_dir());
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (n < 16 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		rc[n] = stt_tracefs_parse_line(line, &ev[n]);
		n++;
	}
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(n, 10);
	CU_ASSERT_EQUAL(rc[0], -ENOENT); /* "# tracer: nop" */
	CU_ASSERT_EQUAL(rc[1], -ENOENT);
	/* a read of one page */
	CU_ASSERT_EQUAL(rc[2], 0);
	CU_ASSERT_EQUAL(ev[2].kind, STT_TRACEFS_READ);
	CU_ASSERT_STRING_EQUAL(ev[2].comm, "cut");
	CU_ASSERT_EQUAL(ev[2].pid, 15575);
	CU_ASSERT_EQUAL(ev[2].major, 254);
	CU_ASSERT_EQUAL(ev[2].minor, 0);
	CU_ASSERT_EQUAL(ev[2].ino, 0x3c5bd);
	CU_ASSERT_EQUAL(ev[2].first_page, 0);
	CU_ASSERT_EQUAL(ev[2].last_page, 0);
	CU_ASSERT_DOUBLE_EQUAL(ev[2].ts_s, 13775.174484, 1e-6);
	/* a fault: one page */
	CU_ASSERT_EQUAL(rc[4], 0);
	CU_ASSERT_EQUAL(ev[4].kind, STT_TRACEFS_FAULT);
	CU_ASSERT_STRING_EQUAL(ev[4].comm, "sha256sum");
	CU_ASSERT_EQUAL(ev[4].ino, 0x3c8ee);
	CU_ASSERT_EQUAL(ev[4].first_page, 57344 / 4096);
	CU_ASSERT_EQUAL(ev[4].last_page, 57344 / 4096);
	/* fault-around: 815104-880639 is pages 199..214 */
	CU_ASSERT_EQUAL(rc[5], 0);
	CU_ASSERT_EQUAL(ev[5].kind, STT_TRACEFS_MAP);
	CU_ASSERT_EQUAL(ev[5].first_page, 199);
	CU_ASSERT_EQUAL(ev[5].last_page, 214);
	/* a page added to the cache; the ino printed in hex */
	CU_ASSERT_EQUAL(rc[6], 0);
	CU_ASSERT_EQUAL(ev[6].kind, STT_TRACEFS_ADD);
	CU_ASSERT_EQUAL(ev[6].ino, 0xa7229b);
	CU_ASSERT_EQUAL(ev[6].first_page, 0);
	CU_ASSERT_EQUAL(ev[6].last_page, 0);
	/* a comm with brackets, another with dashes; a folio of order 2 */
	CU_ASSERT_EQUAL(rc[7], 0);
	CU_ASSERT_STRING_EQUAL(ev[7].comm, "runc:[2:INIT]");
	CU_ASSERT_EQUAL(ev[7].pid, 42);
	CU_ASSERT_EQUAL(ev[7].major, 7);
	CU_ASSERT_EQUAL(ev[7].minor, 3);
	CU_ASSERT_EQUAL(rc[8], 0);
	CU_ASSERT_STRING_EQUAL(ev[8].comm, "kworker/u8:1-ev");
	CU_ASSERT_EQUAL(ev[8].pid, 9);
	CU_ASSERT_EQUAL(ev[8].first_page, 16);
	CU_ASSERT_EQUAL(ev[8].last_page, 19);
	/* another event */
	CU_ASSERT_EQUAL(rc[9], -ENOENT);
	/* a line of ours that is cut short */
	CU_ASSERT_EQUAL(
	    stt_tracefs_parse_line("  x-1 [000] ..... 1.0: mm_filemap_fault: dev=7:3", &ev[0]),
	    -EINVAL);
}

int unit_register_tracefs(void)
{
	CU_pSuite s = CU_add_suite("tracefs", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "trace_pipe lines of the filemap events", test_lines);
	return CU_get_error();
}
