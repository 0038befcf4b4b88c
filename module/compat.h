/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API compatibility: one module source for the 6.12 and 7.x kernel
 * lines.  Every difference is decided by what the target kernel provides,
 * never by its version number: a macro by #ifdef, anything else by a
 * compile-time probe (compat/probes/NAME.c, compiled by compat/probe.sh
 * from module/Kbuild with the module's flags; DAXLEASE_HAVE_NAME in the
 * generated compat/probed.h).  The module calls the newer API; the shims
 * below provide it on kernels that lack it.
 */
#ifndef DAXLEASE_COMPAT_H
#define DAXLEASE_COMPAT_H

#include <linux/atomic.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/filelock.h>
#include <linux/fs.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>

#include "compat/probed.h"

/*
 * Mapping bits of a folio that is not a plain file's: 7.x renamed them
 * (FOLIO_MAPPING_FLAGS).  A pinned fsdax page that no single file owns
 * (shared by reflink, or detached) is PAGE_MAPPING_DAX_SHARED, a value
 * with such a bit set, on both lines (7.x has no name for it).
 */
#if !defined(PAGE_MAPPING_FLAGS) && defined(FOLIO_MAPPING_FLAGS)
#define PAGE_MAPPING_FLAGS FOLIO_MAPPING_FLAGS
#endif
#ifndef PAGE_MAPPING_DAX_SHARED
#define PAGE_MAPPING_DAX_SHARED ((struct address_space *)FOLIO_MAPPING_ANON)
#endif

#ifndef DAXLEASE_HAVE_FOLIO_IS_FSDAX
/*
 * Before fsdax folios (6.15: refcounted like other folios, maybe large),
 * every fsdax page was a folio of its own, its pgmap in the page.
 */
static inline bool folio_is_fsdax(const struct folio *folio)
{
	return folio_is_zone_device(folio) &&
	       folio->page.pgmap->type == MEMORY_DEVICE_FS_DAX;
}
#endif

/*
 * A reference on @f unless its last one is already gone.  struct file
 * counts in a file_ref_t since 6.13 (f_ref), in an atomic_long_t before.
 */
static inline bool dl_file_tryget(struct file *f)
{
#ifdef DAXLEASE_HAVE_FILE_REF
	return file_ref_get(&f->f_ref);
#else
	return atomic_long_inc_not_zero(&f->f_count);
#endif
}

#ifndef DAXLEASE_HAVE_FGET_TASK_NEXT
/*
 * The next open file of @task from *@fd on, with a reference, and its fd
 * in *@fd; NULL after the last.  Before 6.13 the walk was
 * task_lookup_next_fdget_rcu(), called under RCU.
 */
static inline struct file *fget_task_next(struct task_struct *task,
					  unsigned int *fd)
{
	struct file *file;

	rcu_read_lock();
	file = task_lookup_next_fdget_rcu(task, fd);
	rcu_read_unlock();
	return file;
}
#endif

/*
 * Where lease managers decide whether an open of the file conflicts with a
 * new lease, generic_add_lease() calls lm_open_conflict unconditionally.
 * A layout lease conflicts with no open (before, check_conflicting_open()
 * skipped FL_LAYOUT leases): DL_LMOPS_COMPAT goes into the module's
 * lease_manager_operations.
 */
#ifdef DAXLEASE_HAVE_LM_OPEN_CONFLICT
static inline int dl_lm_open_conflict(struct file *filp, int arg)
{
	return 0;
}

#define DL_LMOPS_COMPAT .lm_open_conflict = dl_lm_open_conflict,
#else
#define DL_LMOPS_COMPAT
#endif

/*
 * Where the core asks the lease manager when a lease break times out
 * (lm_breaker_timedout), the module forgets the lease there (lease.c); the
 * 6.12 hooks route that removal through lm_change(F_UNLCK) instead.
 */
#ifdef DAXLEASE_HAVE_LM_BREAKER_TIMEDOUT
bool dl_lm_breaker_timedout(struct file_lease *fl);
#define DL_LMOPS_TIMEDOUT .lm_breaker_timedout = dl_lm_breaker_timedout,
#else
#define DL_LMOPS_TIMEDOUT
#endif

#endif /* DAXLEASE_COMPAT_H */
