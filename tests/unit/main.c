// SPDX-License-Identifier: GPL-2.0-or-later
/* The unit test runner: no root, no devices. Exits non-zero on any failed assertion. */
#include "unit.h"

#include "cmd.h"

#include <CUnit/Basic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int (*const suites[])(void) = {
	unit_register_cmd,
	unit_register_sysfs,
	unit_register_probe,
	unit_register_stats,
	unit_register_journal,
	unit_register_fsutil,
	unit_register_thinpool,
	unit_register_fmt,
	unit_register_profile,
	unit_register_image,
	unit_register_results,
	unit_register_compare,
	unit_register_recommend,
	unit_register_daemonjson,
	unit_register_tune,
	unit_register_report,
	unit_register_engine_gen,
	unit_register_tracefs,
	unit_register_trace,
	unit_register_containerd,
};

char unit_out[1 << 16], unit_err[8192];

static void slurp(FILE *f, char *buf, size_t len)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

int unit_cmd(const char *arg0, ...)
{
	char *argv[32];
	int argc = 0, so, se, r;
	FILE *fo = tmpfile(), *fe = tmpfile();
	va_list ap;

	if (!fo || !fe)
		abort();
	argv[argc++] = (char *)arg0;
	va_start(ap, arg0);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	r = cmd_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(fo, unit_out, sizeof(unit_out));
	slurp(fe, unit_err, sizeof(unit_err));
	return r;
}

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
