/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_TEST_UNIT_H
#define STT_TEST_UNIT_H

#include <CUnit/CUnit.h>

/*
 * One file per src/ module (and one for the command table); each exports a
 * register function that adds its suite and returns 0, or a CUnit error.
 * Add the function here and to the list in main.c.
 */
int unit_register_cmd(void);
int unit_register_sysfs(void);
int unit_register_probe(void);
int unit_register_stats(void);
int unit_register_journal(void);
int unit_register_fsutil(void);
int unit_register_thinpool(void);
int unit_register_fmt(void);
int unit_register_profile(void);
int unit_register_image(void);
int unit_register_results(void);
int unit_register_compare(void);
int unit_register_recommend(void);
int unit_register_daemonjson(void);
int unit_register_tune(void);
int unit_register_report(void);
int unit_register_engine_gen(void);
int unit_register_tracefs(void);
int unit_register_trace(void);
int unit_register_containerd(void);

/* Directory of captured samples (tests/unit/data), from UNIT_DATA or the source tree. */
const char *unit_data_dir(void);

/* cmd_main on a NULL-terminated argument list, stdout and stderr captured into unit_out and
 * unit_err (truncated to fit); returns cmd_main's exit code. */
extern char unit_out[1 << 16], unit_err[8192];
int unit_cmd(const char *arg0, ...);

#endif
