/* The power-loss model of tests/powerloss/powerloss.c (an LD_PRELOAD library
 * that records what each sync makes durable) and the builder of the data
 * directory a power loss would leave behind.
 *
 *   setenv("LD_PRELOAD", arb_powerloss_lib(buf, sizeof buf), 1);
 *   setenv("ARB_POWERLOSS_DIR", datadir, 1);
 *   setenv("ARB_POWERLOSS_SHADOW", shadow, 1);
 *   ... spawn the program, let it acknowledge writes, SIGKILL it ...
 *   arb_powerloss_image(datadir, shadow, after);   // `after` is the data directory
 *                                                  // as a power loss leaves it
 */
#ifndef ARB_TESTS_POWERLOSS_POWERLOSS_H
#define ARB_TESTS_POWERLOSS_POWERLOSS_H

#include <stddef.h>

/* The identity of an open file in the record: inode number plus what tells a
 * reused inode number apart (the inode generation, the birth time, where the
 * file system has them). *is_dir (may be NULL) tells a directory. Returns 1,
 * or 0 when fd cannot be examined. (fileid.c, in the library and the image
 * builder alike.) */
int arb_powerloss_file_id(int fd, char *out, size_t cap, int *is_dir);

/* The path of the LD_PRELOAD library (libarb_powerloss.so next to the test
 * programs) in buf, or NULL when it is not there. */
char *arb_powerloss_lib(char *buf, size_t cap);

typedef struct {
    unsigned long files;       /* files in the image */
    unsigned long dirs;        /* directories in the image, the top one included */
    unsigned long never_synced; /* files whose name was synced but never their content
                                   (they are empty in the image) */
} arb_powerloss_stats;

/* Builds in `out` (which must not exist) the directory `watched` as a power
 * loss at this moment would leave it, from the record in `shadow`: every
 * name the last sync of its directory saw, with the content of its file's
 * last sync (empty if never synced). The top directory is `watched` itself,
 * which the test made and synced before the program ran; names in it, like
 * any others, count only once the program synced it. st may be NULL.
 * Returns 0, or -1 with a message on stderr. */
int arb_powerloss_image(const char *watched, const char *shadow, const char *out,
                        arb_powerloss_stats *st);

#endif
