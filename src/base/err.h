/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_ERR_H
#define STT_ERR_H

/*
 * The last error message of this thread, for people.
 *
 * src/ returns 0 or -errno; where the number alone does not say what went wrong, the
 * function also records a message naming the object and the cause, e.g.
 * "/dev/loop3: has an ext4 filesystem". cmd/ prints it.
 */

__attribute__((format(printf, 1, 2))) void stt_err_set(const char *fmt, ...);
/* Sets the message and returns @r (a -errno), for "return stt_err(-EINVAL, ...)". */
__attribute__((format(printf, 2, 3))) int stt_err(int r, const char *fmt, ...);
const char *stt_err_msg(void);
void stt_err_clear(void);

#endif
