/* File identities of the power-loss record; see powerloss.h. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "tests/powerloss/powerloss.h"

int arb_powerloss_file_id(int fd, char *out, size_t cap, int *is_dir)
{
    struct statx sx;
    unsigned int gen = 0;

    if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_TYPE | STATX_BTIME, &sx) != 0)
        return 0;
    if (ioctl(fd, FS_IOC_GETVERSION, &gen) != 0)
        gen = 0;
    if (is_dir)
        *is_dir = S_ISDIR(sx.stx_mode);
    snprintf(out, cap, "%llx.%x.%llx.%x", (unsigned long long)sx.stx_ino, gen,
             (sx.stx_mask & STATX_BTIME) ? (unsigned long long)sx.stx_btime.tv_sec : 0ULL,
             (sx.stx_mask & STATX_BTIME) ? (unsigned)sx.stx_btime.tv_nsec : 0u);
    return 1;
}
