/*
 * Layout leases: the F_SETLEASE arguments daxlease adds, and helpers.
 *
 * The values come from include/uapi/linux/daxlease.h when it exists (it has
 * no includes of its own, so it cannot clash with glibc's <fcntl.h>), else
 * from the fallbacks below. Either way they must be the contract's values
 * (design README): F_LAYOUT 16, F_EXCLUSIVE 32, F_LAYOUT|F_EXCLUSIVE 48
 * (alias F_UNBREAKABLE); the build fails if the header ever disagrees.
 */
#ifndef DAXLEASE_LEASE_H
#define DAXLEASE_LEASE_H

#include <fcntl.h>

#if defined(__has_include)
#if __has_include("../../include/uapi/linux/daxlease.h")
#include "../../include/uapi/linux/daxlease.h"
#endif
#endif

#ifndef F_LAYOUT
#define F_LAYOUT	16
#endif
#ifndef F_EXCLUSIVE
#define F_EXCLUSIVE	32
#endif
#ifndef F_UNBREAKABLE
#define F_UNBREAKABLE	(F_LAYOUT | F_EXCLUSIVE)
#endif

_Static_assert(F_LAYOUT == 16 && F_EXCLUSIVE == 32 && F_UNBREAKABLE == 48,
	       "layout lease arguments differ from the daxlease contract");

/* fcntl(@fd, F_SETLEASE, @arg): 0, or -1 with errno set. Silent. */
int lease_set(int fd, int arg);

/* fcntl(@fd, F_GETLEASE): the lease type, or -1 with a diag. */
int lease_get(int fd);

/* "F_UNLCK", "F_LAYOUT", "F_LAYOUT|F_EXCLUSIVE"..., or the number. */
const char *lease_name(int arg);

/*
 * For helper_start(): open the file at path @arg O_RDWR and take
 * F_LAYOUT|F_EXCLUSIVE on it. Returns 0 or the errno of the failing step
 * (CHILD_SETUP_ERR if open failed); the fd, and so the lease, stays until
 * the helper exits.
 */
int lease_hold_unbreakable(void *arg);

#endif
