/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_FMT_H
#define STT_FMT_H

#include <stddef.h>
#include <stdint.h>

/* "1.00 GiB", "512 B": binary units, three significant digits. Returns @buf. */
const char *stt_fmt_bytes(uint64_t bytes, char *buf, size_t len);

#endif
