/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_LVM_H
#define STT_LVM_H

/*
 * LVM through liblvm2cmd (lvm2_run). The only file of the project that includes
 * <lvm2cmd.h>; it turns LVM2_COMMAND_SUCCEEDED into 0 and failures into -errno with the
 * command and LVM's last error line.
 */

#include <stdbool.h>

/* Whether liblvm2cmd can run here (the library loads and `lvm version` works). */
bool stt_lvm_available(void);

/* Runs one lvm command line, e.g. "vgcreate docker /dev/nvme0n1". */
__attribute__((warn_unused_result)) int stt_lvm_run(const char *cmdline);

/*
 * vgremove -f NAME; 0 when the VG does not exist. @pv (may be NULL or ""): the VG's only PV,
 * which tells a VG that is gone from one LVM cannot read.
 */
__attribute__((warn_unused_result)) int stt_lvm_vgremove(const char *vg, const char *pv);
/* pvremove -ff -y DEV; 0 when it is not a PV (or does not exist). */
__attribute__((warn_unused_result)) int stt_lvm_pvremove(const char *dev);

#endif
