// SPDX-License-Identifier: GPL-2.0-or-later
/* The unit test runner: no root, no devices. Exits non-zero on any failed assertion. */
#include "unit.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

static int (*const suites[])(void) = {
	unit_register_cmd,
	unit_register_sysfs,
	unit_register_probe,
	unit_register_stats,
	unit_register_journal,
	unit_register_thinpool,
	unit_register_fmt,
	unit_register_profile,
	unit_register_image,
	unit_register_results,
	unit_register_compare,
	unit_register_recommend,
	unit_register_daemonjson,
	unit_register_tune,
};

const char *unit_data_dir(void)
{
	const char *d = getenv("UNIT_DATA");

	return d ? d : "tests/unit/data";
}

int main(void)
{
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (suites[i]() != CUE_SUCCESS) {
			fprintf(stderr, "unit: cannot register suite %zu: %s\n", i,
				CU_get_error_msg());
			CU_cleanup_registry();
			return 2;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	if (CU_get_error() != CUE_SUCCESS)
		failures++;
	CU_cleanup_registry();
	return failures != 0;
}
