// SPDX-License-Identifier: GPL-2.0
/*
 * daxlease: layout leases that let a process pin fsdax file pages long-term
 * (RDMA memory registration) while layout changes of the file fail with
 * ETXTBSY instead of waiting for the pins.
 *
 * The kernel side is a set of hooks (include/linux/daxlease_hooks.h, series
 * in hooks/); this module implements the policy:
 *
 *   fcntl(fd, F_SETLEASE, F_LAYOUT)		breakable layout lease
 *   fcntl(fd, F_SETLEASE, F_LAYOUT|F_EXCLUSIVE)	unbreakable, fsdax only
 *   fcntl(fd, F_GETLEASE)			16 / 48
 *   FOLL_LONGTERM pin of an fsdax page		needs the caller's tgid to
 *						hold a live lease (breakable:
 *						RDMA only, revocable)
 *   layout change with an unbreakable lease	ETXTBSY, EDEADLK for a holder
 *   layout change with a breakable lease	break; pins left are revoked
 *   write "revoke FD" to /proc/daxlease	root recalls a file's leases
 *   F_UNLCK while pinned				EBUSY
 *   close/munmap while pinned			lease orphaned until unpinned
 *
 * See daxlease.h for the objects and the locking, lease.c and pins.c for
 * the rules, report.c for /proc/<pid>/file_pins and /proc/daxlease.
 */

#include <linux/module.h>

#include "daxlease.h"

DEFINE_SPINLOCK(dl_lock);
DEFINE_HASHTABLE(dl_files, DL_HASH_BITS);
DEFINE_HASHTABLE(dl_inodes, DL_HASH_BITS);
DEFINE_HASHTABLE(dl_owners, DL_HASH_BITS);
LIST_HEAD(dl_all_leases);

static void dl_file_release(struct file *filp)
{
	dl_lease_file_release(filp);
	dl_owner_file_release(filp);
}

static const struct daxlease_ops dl_ops = {
	.owner = THIS_MODULE,
	.setlease = dl_setlease,
	.getlease = dl_getlease,
	.layout_change = dl_layout_change,
	.gup_longterm = dl_gup_longterm,
	.pinned = dl_pinned,
	.pins_release = dl_pins_release,
	.mapping_pinned = dl_mapping_pinned,
	.file_release = dl_file_release,
	.proc_show = dl_proc_show,
	.memory_failure = dl_memory_failure,
	.commit = dl_commit,
};

/*
 * The hooks are looked up at load time instead of linked: on a kernel
 * without them the module then fails with one message that says what is
 * missing, not with the loader's list of unknown symbols, and the same
 * source builds against stock headers.
 */
static int (*dl_register)(const struct daxlease_ops *ops);
static void (*dl_unregister)(const struct daxlease_ops *ops);

static void dl_hooks_put(void)
{
	if (dl_register)
		symbol_put(daxlease_register);
	if (dl_unregister)
		symbol_put(daxlease_unregister);
}

static int dl_hooks_get(void)
{
	dl_register = symbol_get(daxlease_register);
	dl_unregister = symbol_get(daxlease_unregister);
	if (dl_register && dl_unregister)
		return 0;
	dl_hooks_put();
	pr_err("daxlease: this kernel has no daxlease hooks (CONFIG_DAXLEASE_HOOKS): build and boot a kernel with hooks/ applied\n");
	return -EOPNOTSUPP;
}

static int __init dl_init(void)
{
	int ret;

	ret = dl_hooks_get();
	if (ret)
		return ret;
	ret = dl_report_init();
	if (ret)
		goto put;
	ret = dl_revoke_init();
	if (ret)
		goto report;
	ret = dl_register(&dl_ops);
	if (!ret)
		return 0;
	dl_revoke_exit();
report:
	dl_report_exit();
put:
	dl_hooks_put();
	return ret;
}

static void __exit dl_exit(void)
{
	/* no lease, orphan or owner is left: each holds a module reference */
	dl_unregister(&dl_ops);
	dl_device_exit();
	dl_revoke_exit();
	dl_report_exit();
	dl_hooks_put();
	rcu_barrier();
	WARN_ON(!list_empty(&dl_all_leases));
}

module_init(dl_init);
module_exit(dl_exit);

MODULE_DESCRIPTION("Layout leases for long-term pins of fsdax pages");
MODULE_LICENSE("GPL");
