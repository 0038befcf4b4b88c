// SPDX-License-Identifier: GPL-2.0
/*
 * daxlease: layout leases.
 *
 * Both kinds are ordinary FL_LAYOUT leases at F_RDLCK level on the flc_lease
 * list of the inode, installed through vfs_setlease(), so they show in
 * /proc/locks, are released by F_UNLCK and at last close like any lease, and
 * several holders may coexist.  They differ in their lease_manager_operations:
 *
 * breakable (F_LAYOUT): a layout change by another process breaks it the
 *	usual way (SIGIO, /proc/sys/fs/lease-break-time, then removal); the
 *	holder's own changes do not break it (lm_breaker_owns_lease).  RDMA
 *	pins under it are revocable: what the holder did not unpin when the
 *	break timed out is revoked (revoke.c) before the layout changes.  The
 *	holder's own layout changes of its pinned file fail with EDEADLK.
 * unbreakable (F_LAYOUT|F_EXCLUSIVE): never conflicts with a lease break
 *	(lm_breaker_owns_lease is always true); instead dl_layout_change()
 *	fails layout changes with ETXTBSY (EDEADLK for the holder process).
 *	F_UNLCK fails with EBUSY while pages are pinned under it.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/filelock.h>
#include <linux/fs.h>
#include <linux/mnt_idmapping.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "daxlease.h"

/* lm_setup of the default lease_manager_operations, see dl_setlease() */
static void (*dl_stock_setup)(struct file_lease *fl, void **priv);

static bool dl_lm_break(struct file_lease *fl)
{
	kill_fasync(&fl->fl_fasync, SIGIO, POLL_MSG);
	return false;
}

/* fasync entry for SIGIO and F_SETOWN of the holder, as for any lease */
static void dl_lm_setup(struct file_lease *fl, void **priv)
{
	void (*setup)(struct file_lease *fl, void **priv);

	setup = READ_ONCE(dl_stock_setup);
	if (setup)
		setup(fl, priv);
}

static bool dl_breakable_owns(struct file_lease *fl)
{
	/* the holder's own layout changes do not break its lease */
	return fl->c.flc_pid == current->tgid;
}

static bool dl_unbreakable_owns(struct file_lease *fl)
{
	/* nobody can break it: layout changes fail in dl_layout_change() */
	return true;
}

static int dl_breakable_change(struct file_lease *fl, int arg,
			       struct list_head *dispose);
static int dl_unbreakable_change(struct file_lease *fl, int arg,
				 struct list_head *dispose);

static const struct lease_manager_operations dl_breakable_lmops = {
	.lm_break = dl_lm_break,
	.lm_change = dl_breakable_change,
	.lm_setup = dl_lm_setup,
	.lm_breaker_owns_lease = dl_breakable_owns,
	DL_LMOPS_COMPAT
	DL_LMOPS_TIMEDOUT
};

static const struct lease_manager_operations dl_unbreakable_lmops = {
	.lm_break = dl_lm_break,
	.lm_change = dl_unbreakable_change,
	.lm_setup = dl_lm_setup,
	.lm_breaker_owns_lease = dl_unbreakable_owns,
	DL_LMOPS_COMPAT
	DL_LMOPS_TIMEDOUT
};

static bool dl_is_ours(const struct file_lease *fl)
{
	return fl->fl_lmops == &dl_breakable_lmops ||
	       fl->fl_lmops == &dl_unbreakable_lmops;
}

/*
 * Only regular DAX files of file systems that ask before every layout
 * change (they mark their superblocks: ext4 under any of its names, XFS),
 * never by name: a DAX file system without the hooks could not refuse a
 * truncate of pinned blocks.
 */
bool dl_fsdax_file(struct inode *inode)
{
	return S_ISREG(inode->i_mode) && IS_DAX(inode) &&
	       (inode->i_sb->s_iflags & SB_I_DAXLEASE);
}

static struct dl_lease *dl_lease_by_file(struct file *filp)
{
	struct dl_lease *dl;

	hash_for_each_possible_rcu(dl_files, dl, fnode, (unsigned long)filp)
		if (dl->file == filp)
			return dl;
	return NULL;
}

struct dl_inode *dl_inode_find(struct inode *inode)
{
	struct dl_inode *dli;

	hash_for_each_possible_rcu(dl_inodes, dli, hnode, (unsigned long)inode)
		if (dli->inode == inode)
			return dli;
	return NULL;
}

/*
 * Has @inode a lease record?  Without dl_lock, so that the paths every
 * truncate and fsync take cost no global lock for files without leases;
 * callers that act on the answer look again under dl_lock.
 */
bool dl_inode_has_leases(struct inode *inode)
{
	bool leased;

	rcu_read_lock();
	leased = dl_inode_find(inode);
	rcu_read_unlock();
	return leased;
}

/* Are pages of @inode pinned under any of its leases? */
bool dl_inode_pinned(struct inode *inode)
{
	struct dl_inode *dli;
	struct dl_lease *dl;
	bool pinned = false;

	if (!dl_inode_has_leases(inode))
		return false;

	spin_lock(&dl_lock);
	dli = dl_inode_find(inode);
	if (dli)
		list_for_each_entry(dl, &dli->leases, inode_link)
			if (dl->npages) {
				pinned = true;
				break;
			}
	spin_unlock(&dl_lock);
	return pinned;
}

/*
 * The live lease of thread group @tgid on @inode that new pins are charged
 * to (dl_lock): its oldest unbreakable one, else its oldest breakable one;
 * never one an administrator is recalling.
 */
struct dl_lease *dl_live_lease(struct inode *inode, struct pid *tgid)
{
	struct dl_inode *dli = dl_inode_find(inode);
	struct dl_lease *dl, *breakable = NULL;

	if (!dli)
		return NULL;
	list_for_each_entry(dl, &dli->leases, inode_link) {
		if (dl->state != DL_LIVE || dl->tgid != tgid || dl->revoking)
			continue;
		if (dl->unbreakable)
			return dl;
		if (!breakable)
			breakable = dl;
	}
	return breakable;
}

/*
 * Is a layout lease involved with @inode: one of ours of either kind (live,
 * pending or orphaned), or another lease manager's FL_LAYOUT lease?  Without
 * one a refused pin answers as a stock kernel does.  flc_lock is not nested
 * in dl_lock: dl_change() takes them in the other order.
 */
bool dl_layout_leased(struct inode *inode)
{
	struct file_lock_context *ctx = locks_inode_context(inode);
	struct file_lease *fl;
	bool leased = false;

	if (ctx) {
		spin_lock(&ctx->flc_lock);
		list_for_each_entry(fl, &ctx->flc_lease, c.flc_list) {
			if (fl->c.flc_flags & FL_LAYOUT) {
				leased = true;
				break;
			}
		}
		spin_unlock(&ctx->flc_lock);
	}
	return leased || dl_inode_has_leases(inode);
}

/* Take @dl off every list (dl_lock); dl_lease_free() it afterwards. */
void dl_lease_unlink(struct dl_lease *dl)
{
	if (dl->state == DL_PENDING || dl->state == DL_LIVE)
		hash_del_rcu(&dl->fnode);
	/* report readers walk the list under RCU: keep ->next for them */
	list_del_rcu(&dl->global);
	list_del_init(&dl->revoke_link);
	if (dl->dli) {
		list_del(&dl->inode_link);
		if (list_empty(&dl->dli->leases)) {
			hash_del_rcu(&dl->dli->hnode);
			kfree_rcu(dl->dli, rcu);
		}
		dl->dli = NULL;
	}
	WARN_ON_ONCE(!list_empty(&dl->pins));
	dl->state = DL_DEAD;
}

/*
 * Free an unlinked lease.  Does not sleep unless @dl was orphaned (iput(),
 * path_put()), which callers only free where sleeping is allowed.
 */
void dl_lease_free(struct dl_lease *dl)
{
	if (dl->path.dentry) {
		path_put(&dl->path);
		iput(dl->inode);
	}
	put_pid(dl->tgid);
	kfree_rcu(dl, rcu);
	module_put(THIS_MODULE);
}

static struct dl_lease *dl_lease_alloc(struct file *filp, bool unbreakable,
				       int fd)
{
	struct dl_lease *dl;

	/*
	 * rmmod in progress: answer as the kernel will once the module is
	 * gone (16 and 48 are EINVAL without a module), not ENOMEM.
	 */
	if (!try_module_get(THIS_MODULE))
		return ERR_PTR(-EINVAL);
	dl = kzalloc(sizeof(*dl), GFP_KERNEL);
	if (!dl) {
		module_put(THIS_MODULE);
		return ERR_PTR(-ENOMEM);
	}
	INIT_LIST_HEAD(&dl->global);
	INIT_LIST_HEAD(&dl->all_link);
	INIT_LIST_HEAD(&dl->inode_link);
	INIT_LIST_HEAD(&dl->pins);
	INIT_LIST_HEAD(&dl->revoke_link);
	dl->file = filp;
	dl->inode = file_inode(filp);
	dl->tgid = get_pid(task_tgid(current));
	dl->fd = fd;
	dl->unbreakable = unbreakable;
	dl->state = DL_PENDING;
	return dl;
}

/* Publish @dl as PENDING (dl_lock); *@dli is a spare index entry. */
static void dl_lease_publish(struct dl_lease *dl, struct dl_inode **dli)
{
	struct dl_lease *stale = dl_lease_by_file(dl->file);

	/*
	 * A record for this file left behind (time_out_leases() removes
	 * breakable leases through dl_change() now, so this should not be).
	 */
	if (WARN_ON_ONCE(stale && stale->npages))
		stale = NULL;
	if (stale) {
		dl_lease_unlink(stale);
		dl_lease_free(stale);
	}

	hash_add_rcu(dl_files, &dl->fnode, (unsigned long)dl->file);
	list_add_tail_rcu(&dl->global, &dl_all_leases);

	dl->dli = dl_inode_find(dl->inode);
	if (!dl->dli) {
		dl->dli = *dli;
		*dli = NULL;
		dl->dli->inode = dl->inode;
		dl->dli->shown = 0;
		INIT_LIST_HEAD(&dl->dli->leases);
		hash_add_rcu(dl_inodes, &dl->dli->hnode,
			     (unsigned long)dl->inode);
	}
	list_add_tail(&dl->inode_link, &dl->dli->leases);
}

/*
 * @dl loses its file_lease but keeps its pinned pages (dl_lock): unhash it
 * from @filp and keep what /proc shows and the inode it pins.  No sleeping
 * reference is taken (callers may hold flc_lock).
 */
static void dl_lease_orphan(struct dl_lease *dl, struct file *filp)
{
	hash_del_rcu(&dl->fnode);
	dl->path = filp->f_path;
	path_get(&dl->path);
	ihold(dl->inode);
	dl->file = NULL;
	dl->state = DL_ORPHANED;
}

/*
 * @dl's file_lease goes (dl_lock): orphaned if pages are pinned under it
 * (then freed at its last unpin), else off every list.  Returns @dl for
 * dl_lease_free() once dl_lock is dropped, or NULL.
 */
static struct dl_lease *dl_lease_end(struct dl_lease *dl, struct file *filp)
{
	if (dl->npages) {
		dl_lease_orphan(dl, filp);
		return NULL;
	}
	dl_lease_unlink(dl);
	return dl;
}

/* Has the break of lease @fl timed out (time_out_leases() removes it)? */
static bool dl_break_expired(struct file_lease *fl)
{
	return (fl->c.flc_flags & FL_UNLOCK_PENDING) && fl->fl_break_time &&
	       time_after(jiffies, fl->fl_break_time);
}

/*
 * F_UNLCK of one of our leases (generic_delete_lease(), flc_lock held; also
 * time_out_leases() when a break timed out, and dl_recall()), or a new
 * request on a file that already holds one of our leases
 * (generic_add_lease(), @fl is the existing lease).  Pins keep a lease
 * (EBUSY) unless its break timed out or it is recalled: then it is
 * orphaned, and its pins are revoked (revoke.c).
 */
static int dl_change(struct file_lease *fl, int arg, struct list_head *dispose,
		     const struct lease_manager_operations *kind)
{
	struct dl_lease *dl, *dead = NULL;
	int ret = 0;

	/*
	 * A lease request that reaches an existing layout lease of the same
	 * file is a stock F_RDLCK/F_WRLCK (the module's own requests release
	 * the lease first or return early): refuse it as a layout lease is
	 * refused on a file with a read/write lease, instead of reporting
	 * success and leaving the layout lease in place.
	 */
	if (fl->fl_lmops != kind || arg != F_UNLCK)
		return -EAGAIN;

	spin_lock(&dl_lock);
	dl = dl_lease_by_file(fl->c.flc_file);
	if (dl && dl->state == DL_PENDING)
		ret = -EAGAIN;
	else if (dl && dl->npages && !dl->revoking && !dl_break_expired(fl))
		ret = -EBUSY;
	else if (dl)
		dead = dl_lease_end(dl, fl->c.flc_file);
	if (dl && dl->revoking)
		kill_fasync(&fl->fl_fasync, SIGIO, POLL_MSG);	/* recalled */
	spin_unlock(&dl_lock);
	if (ret)
		return ret;

	ret = lease_modify(fl, F_UNLCK, dispose);
	if (dead)
		dl_lease_free(dead);	/* live: no sleeping puts */
	return ret;
}

#ifdef DAXLEASE_HAVE_LM_BREAKER_TIMEDOUT
/*
 * A break of one of our leases timed out (time_out_leases(), flc_lock
 * held): the core removes the lease after this, so do first what
 * dl_change() does for a timed-out F_UNLCK (the 6.12 hooks route it
 * there): orphan a lease with pins, whose pins are then revoked
 * (revoke.c), drop the record of one without.
 */
bool dl_lm_breaker_timedout(struct file_lease *fl)
{
	struct dl_lease *dl, *dead = NULL;

	spin_lock(&dl_lock);
	dl = dl_lease_by_file(fl->c.flc_file);
	if (dl && dl->state != DL_PENDING)
		dead = dl_lease_end(dl, fl->c.flc_file);
	spin_unlock(&dl_lock);
	if (dead)
		dl_lease_free(dead);	/* live: no sleeping puts */
	return true;
}
#endif

static int dl_breakable_change(struct file_lease *fl, int arg,
			       struct list_head *dispose)
{
	return dl_change(fl, arg, dispose, &dl_breakable_lmops);
}

static int dl_unbreakable_change(struct file_lease *fl, int arg,
				 struct list_head *dispose)
{
	return dl_change(fl, arg, dispose, &dl_unbreakable_lmops);
}

/* The permission check of vfs_setlease(): owner or CAP_LEASE */
static bool dl_may_lease(struct file *filp)
{
	struct inode *inode = file_inode(filp);
	vfsuid_t vfsuid = i_uid_into_vfsuid(file_mnt_idmap(filp), inode);

	return vfsuid_eq_kuid(vfsuid, current_fsuid()) || capable(CAP_LEASE);
}

/* The lease @filp holds: ours of either kind, someone else's, or none. */
static const struct lease_manager_operations *
dl_file_lease(struct file *filp, bool *other)
{
	const struct lease_manager_operations *ops = NULL;
	struct file_lock_context *ctx;
	struct file_lease *fl;

	*other = false;
	ctx = locks_inode_context(file_inode(filp));
	if (!ctx)
		return NULL;
	spin_lock(&ctx->flc_lock);
	list_for_each_entry(fl, &ctx->flc_lease, c.flc_list) {
		if (fl->c.flc_file != filp)
			continue;
		if (dl_is_ours(fl))
			ops = fl->fl_lmops;
		else
			*other = true;
		break;
	}
	spin_unlock(&ctx->flc_lock);
	return ops;
}

/* Does the layout lease on @filp belong to the calling thread group? */
static bool dl_lease_is_mine(struct file *filp)
{
	struct dl_lease *dl;
	bool mine;

	spin_lock(&dl_lock);
	dl = dl_lease_by_file(filp);
	mine = !dl || dl->tgid == task_tgid(current);
	spin_unlock(&dl_lock);
	return mine;
}

/*
 * F_SETLEASE with F_LAYOUT bits.  i_rwsem serialises lease creation with
 * layout changes (which run under i_rwsem), so a layout change either sees
 * the new unbreakable lease or completes before it exists.
 */
int dl_setlease(struct file *filp, int arg, struct file_lease **flp,
		void **priv)
{
	const struct lease_manager_operations *want, *have;
	struct inode *inode = file_inode(filp);
	struct dl_inode *dli = NULL;
	struct fasync_struct *fa = *priv;
	struct dl_lease *dl;
	bool unbreakable, other;
	int ret;

	if ((arg & ~(DAXLEASE_F_LAYOUT | DAXLEASE_F_EXCLUSIVE)) ||
	    !(arg & DAXLEASE_F_LAYOUT))
		return -EINVAL;
	unbreakable = arg & DAXLEASE_F_EXCLUSIVE;
	if (!S_ISREG(inode->i_mode) || (unbreakable && !dl_fsdax_file(inode)))
		return -EINVAL;
	want = unbreakable ? &dl_unbreakable_lmops : &dl_breakable_lmops;

	if (!dl_is_ours(*flp))
		WRITE_ONCE(dl_stock_setup, (*flp)->fl_lmops->lm_setup);

	dl = dl_lease_alloc(filp, unbreakable, fa ? fa->fa_fd : -1);
	if (IS_ERR(dl))
		return PTR_ERR(dl);
	dli = kzalloc(sizeof(*dli), GFP_KERNEL);
	if (!dli) {
		ret = -ENOMEM;
		goto out_free;
	}

	/*
	 * Killable: a layout change may hold i_rwsem while it waits for a
	 * breakable lease to go (up to lease-break-time).
	 */
	ret = inode_lock_killable(inode);
	if (ret)
		goto out_free;
	have = dl_file_lease(filp, &other);
	ret = -EAGAIN;
	if (other)
		goto out_unlock;	/* a read/write lease on this file */
	if (have && !dl_lease_is_mine(filp)) {
		/*
		 * The open file (inherited over fork, passed with SCM_RIGHTS)
		 * carries another process's lease, and a file holds one
		 * lease: the caller would hold nothing.
		 */
		goto out_unlock;
	}
	ret = 0;
	if (have == want) {
		/* nothing to change, but check who asks, as vfs_setlease() */
		if (!dl_may_lease(filp))
			ret = -EACCES;
		goto out_unlock;
	}
	if (have) {
		/* switch kinds: EBUSY while pinned */
		ret = vfs_setlease(filp, F_UNLCK, NULL, (void **)&filp);
		if (ret)
			goto out_unlock;
	}

	(*flp)->c.flc_flags = FL_LAYOUT;
	(*flp)->fl_lmops = want;

	spin_lock(&dl_lock);
	dl_lease_publish(dl, &dli);
	spin_unlock(&dl_lock);

	ret = vfs_setlease(filp, F_RDLCK, flp, priv);
	/*
	 * 0 with *flp still ours: a stock F_SETLEASE F_RDLCK (which does not
	 * take i_rwsem) installed a read lease on this file since the check
	 * above, and vfs_setlease() modified that one instead: no layout
	 * lease exists, say so as for a read lease found above.
	 */
	if (!ret && *flp)
		ret = -EAGAIN;

	spin_lock(&dl_lock);
	if (!ret) {
		dl->state = DL_LIVE;
		dl = NULL;
	} else {
		dl_lease_unlink(dl);
	}
	spin_unlock(&dl_lock);
out_unlock:
	inode_unlock(inode);
	/* outside i_rwsem: it may wait for a running bus notifier (a recall) */
	if (!ret && dl_fsdax_file(inode))
		dl_watch_device(inode);
out_free:
	kfree(dli);
	if (dl) {
		if (dl->state == DL_PENDING) {
			put_pid(dl->tgid);
			kfree(dl);
			module_put(THIS_MODULE);
		} else {
			dl_lease_free(dl);
		}
	}
	return ret;
}

/* F_GETLEASE: 48 for unbreakable, 16 for breakable layout leases */
int dl_getlease(struct file_lease *fl, int type)
{
	if (fl->fl_lmops == &dl_unbreakable_lmops)
		return DAXLEASE_F_LAYOUT | DAXLEASE_F_EXCLUSIVE;
	if (fl->fl_lmops == &dl_breakable_lmops)
		return fl->c.flc_flags & FL_UNLOCK_PENDING ?
		       F_UNLCK : DAXLEASE_F_LAYOUT;
	return type;
}

/*
 * A layout change of @inode (i_rwsem held) by the current thread group, if
 * the file is not empty: refuse it while any unbreakable lease, live or
 * orphaned, exists on the inode, or pages are pinned under a breakable one
 * that the caller cannot break (DAXLEASE_VERDICT) or that it holds itself.
 * A lease of the caller makes it EDEADLK.
 */
static int dl_layout_verdict(struct inode *inode, enum daxlease_break how)
{
	struct pid *me = task_tgid(current);
	struct dl_inode *dli;
	struct dl_lease *dl;
	int ret = 0;

	/*
	 * An empty file has no page to pin (i_rwsem keeps it empty): e.g.
	 * open(O_TRUNC) of it frees and moves nothing.
	 */
	if (!dl_inode_has_leases(inode) || !i_size_read(inode))
		return 0;

	spin_lock(&dl_lock);
	dli = dl_inode_find(inode);
	if (dli) {
		list_for_each_entry(dl, &dli->leases, inode_link) {
			if (!dl->unbreakable && !dl->npages)
				continue;
			if (dl->tgid == me) {
				ret = -EDEADLK;
				break;
			}
			if (dl->unbreakable || how == DAXLEASE_VERDICT)
				ret = -ETXTBSY;
		}
	}
	spin_unlock(&dl_lock);
	return ret;
}

/*
 * A layout change of @inode is about to start (i_rwsem held): refuse it
 * under an unbreakable lease; with DAXLEASE_BREAK* break the breakable ones
 * (SIGIO, lease-break-time) and wait for them to go.  With
 * DAXLEASE_BREAK_UNLOCKED the wait drops i_rwsem, so that the holders can
 * still write(2) the file in response, and the verdict is asked again once
 * it is retaken.  A signal ends the wait.  Pins left under breakable leases
 * once they are gone are revoked (dl_revoke_orphans(): it also says who
 * waits for the revocation).
 */
int dl_layout_change(struct inode *inode, enum daxlease_break how)
{
	int ret;

	for (;;) {
		ret = dl_layout_verdict(inode, how);
		if (ret || how == DAXLEASE_VERDICT)
			return ret;
		ret = break_layout(inode, how == DAXLEASE_BREAK);
		if (ret != -EWOULDBLOCK)
			break;
		inode_unlock(inode);
		ret = break_layout(inode, true);
		inode_lock(inode);
		if (ret)
			return ret;
	}
	if (!ret)
		ret = dl_revoke_orphans(inode);
	return ret;
}

/*
 * Last close of @filp: drop its lease, or orphan it if pages are pinned under
 * it.  The file_lease itself is removed with F_UNLCK here, before
 * locks_remove_lease() would do it behind the module's back.
 */
void dl_lease_file_release(struct file *filp)
{
	struct dl_lease *dl, *dead = NULL;

	rcu_read_lock();
	dl = dl_lease_by_file(filp);
	rcu_read_unlock();
	if (!dl)
		return;

	spin_lock(&dl_lock);
	dl = dl_lease_by_file(filp);
	if (dl)
		dead = dl_lease_end(dl, filp);
	spin_unlock(&dl_lock);
	if (!dl)
		return;

	kernel_setlease(filp, F_UNLCK, NULL, (void **)&filp);
	if (dead)
		dl_lease_free(dead);
}
