/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_FSUTIL_H
#define STT_FSUTIL_H

/* Small filesystem helpers shared by the modules. */

/* mkdir -p; the last component gets @mode, parents 0755. 0 or -errno. */
__attribute__((warn_unused_result)) int stt_fs_mkdir_p(const char *dir, unsigned int mode);

/*
 * rm -r of @path, depth first, never following symlinks and never crossing into another
 * mount (what is mounted below is left and makes the removal fail with -EBUSY).
 * 0 when @path does not exist.
 */
__attribute__((warn_unused_result)) int stt_fs_rm_tree(const char *path);

#endif
