/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_FMT_H
#define STT_FMT_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* "1.00 GiB", "512 B": binary units, three significant digits. Returns @buf. */
const char *stt_fmt_bytes(uint64_t bytes, char *buf, size_t len);

/*
 * "4k", "64K", "512KiB", "1.5G", "100g", "4096": bytes, binary multiples (k m g t p).
 * 0 or -EINVAL (not a size, negative, fraction of a byte) or -ERANGE.
 */
__attribute__((warn_unused_result)) int stt_fmt_parse_size(const char *s, uint64_t *bytes);

/*
 * A whole number that starts with a digit (no sign or space) and has nothing after it, in
 * @base as strtoull() reads it (10; 0: also 0x hex and 0 octal). 0, -EINVAL or -ERANGE (above
 * 64 bits); *@v is set only on success.
 */
__attribute__((warn_unused_result)) int stt_fmt_parse_u64(const char *s, int base, uint64_t *v);

/* "250ms", "10s", "2m", "1h", "30" (seconds): milliseconds. 0, -EINVAL or -ERANGE. */
__attribute__((warn_unused_result)) int stt_fmt_parse_time_ms(const char *s, uint64_t *ms);

/*
 * @prefix then @s as one POSIX sh word in single quotes: spaces, quotes, '$' and '`' stay
 * literal ("it's" -> 'it'\''s').
 */
void stt_fmt_sh_word(FILE *f, const char *prefix, const char *s);

#endif
