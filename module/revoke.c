// SPDX-License-Identifier: GPL-2.0
/*
 * daxlease: revocation of pins.
 *
 * Pins are revoked when the file system needs their blocks and their lease
 * cannot keep them: a breakable lease whose break timed out (or whose file
 * was closed) when a layout change comes, and any lease an administrator
 * recalls.  Such leases are marked and put on dl_revoking.  Every pin
 * context charged under them that a verbs object claimed (the MR whose
 * registration pinned it) is revoked by destroying that object alone with
 * ib_uverbs_revoke(): the holder's other objects live on, its next work
 * request on the MR completes in error.  What is left (a context no object
 * claimed, an object in use by a command or that its driver would not
 * destroy) is revoked with every object of its owner's uverbs file, as
 * device removal destroys them.  Releasing the MRs releases their pin
 * contexts, which uncharges the pages and frees the orphaned leases.
 *
 * A layout change destroys the objects itself, under its locks, since
 * that never waits for a verbs command (ib_uverbs_revoke() fails with
 * EAGAIN while objects of the file are being created or destroyed: such a
 * command may be faulting on this very file, which needs those locks).
 * What is left it hands to dl_revoke_work, which tries again and revokes
 * whole files (waiting for the uverbs commands in flight on the device, as
 * device removal does: none may use an object the revocation destroys),
 * and goes on to wait for busy DAX pages the stock way
 * (dax_layout_busy_page(), without XFS_MMAPLOCK/invalidate_lock).  A
 * recall by an administrator runs in the writer's context, which holds no
 * lock.
 *
 * Owners that cannot be revoked (io_uring's mm owners, which only
 * unbreakable leases admit; a uverbs file already being closed, whose
 * release unpins anyway) are passed over: the layout change then waits as
 * the stock kernel does, interruptibly.
 */

#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/sched.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <rdma/ib_verbs.h>

#include "daxlease.h"

/* leases marked for revocation, until freed (dl_lock) */
static LIST_HEAD(dl_revoking);
static DECLARE_WAIT_QUEUE_HEAD(dl_revoked_wq);
static atomic_long_t dl_revoke_passes;

static void dl_revoke_fn(struct work_struct *work);
static DECLARE_WORK(dl_revoke_work, dl_revoke_fn);

typedef int (*dl_revoke_fn_t)(struct file *filp, struct ib_uobject *uobj);

/*
 * ib_uverbs_revoke(), looked up once and kept: symbol_get() and
 * symbol_put() each search the kernel's symbol tables, some 1,100
 * instructions apiece, which was a fifth of the recall of a 4 KiB MR.  It
 * is only called on a uverbs file we hold, which keeps its module loaded;
 * when that goes, dl_module_notify() forgets it.
 */
static dl_revoke_fn_t dl_revoke_fn_cached;

static dl_revoke_fn_t dl_revoke_fn_get(void)
{
	dl_revoke_fn_t revoke = READ_ONCE(dl_revoke_fn_cached);

	if (!revoke) {
		revoke = symbol_get(ib_uverbs_revoke);
		if (!revoke)
			return NULL;
		/* its module cannot be going while we hold its symbol */
		WRITE_ONCE(dl_revoke_fn_cached, revoke);
		symbol_put(ib_uverbs_revoke);
	}
	return revoke;
}

static int dl_module_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	dl_revoke_fn_t revoke = READ_ONCE(dl_revoke_fn_cached);

	if (action == MODULE_STATE_GOING && revoke &&
	    within_module((unsigned long)revoke, data))
		WRITE_ONCE(dl_revoke_fn_cached, NULL);
	return NOTIFY_DONE;
}

static struct notifier_block dl_module_nb = {
	.notifier_call = dl_module_notify,
};

/* Mark @dl for revocation (dl_lock); new pins are refused from now on. */
void dl_revoke_mark(struct dl_lease *dl)
{
	if (dl->revoking)
		return;
	dl->revoking = true;
	list_add_tail(&dl->revoke_link, &dl_revoking);
}

/*
 * The next verbs object that claimed a pin context charged under a marked
 * lease (of @inode, if not NULL) and that pass @pass has not tried yet, with
 * a reference, and its owner's file in *@filep, also with one; NULL when
 * there is none.
 */
static struct ib_uobject *dl_revoke_next_object(struct inode *inode,
						unsigned long pass,
						struct file **filep)
{
	struct daxlease_pins *pins;
	struct ib_uobject *uobj;
	struct dl_owner *owner;
	struct dl_lease *dl;
	struct dl_pin *rec;

	spin_lock(&dl_lock);
	list_for_each_entry(dl, &dl_revoking, revoke_link) {
		if (inode && dl->inode != inode)
			continue;
		list_for_each_entry(rec, &dl->pins, lease_link) {
			owner = rec->owner;
			list_for_each_entry(pins, &owner->contexts, owner_link) {
				uobj = pins->object;
				if (!uobj || pins->revoke_pass == pass ||
				    !dl_ctx_count(pins, rec))
					continue;
				pins->revoke_pass = pass;
				/* a file being closed unpins as it goes */
				if (!owner->file || !dl_file_tryget(owner->file))
					continue;
				/* lives while the context does: see dl_commit() */
				kref_get(&uobj->ref);
				*filep = owner->file;
				spin_unlock(&dl_lock);
				return uobj;
			}
		}
	}
	spin_unlock(&dl_lock);
	return NULL;
}

/*
 * The next owner file with pages pinned under a marked lease that this pass
 * has not seen yet, with a reference; NULL when there is none.
 */
static struct file *dl_revoke_next(unsigned long pass)
{
	struct dl_owner *owner;
	struct dl_lease *dl;
	struct dl_pin *rec;
	struct file *file = NULL;

	spin_lock(&dl_lock);
	list_for_each_entry(dl, &dl_revoking, revoke_link) {
		list_for_each_entry(rec, &dl->pins, lease_link) {
			owner = rec->owner;
			if (owner->revoke_pass == pass)
				continue;
			owner->revoke_pass = pass;
			if (owner->file && dl_file_tryget(owner->file)) {
				file = owner->file;
				goto out;
			}
		}
	}
out:
	spin_unlock(&dl_lock);
	return file;
}

/*
 * Destroy the objects that claimed pins under marked leases (of @inode, if
 * not NULL), never waiting for a verbs command.  True if one could not be
 * tried because objects of its file were being created or destroyed.
 */
static bool dl_revoke_objects(struct inode *inode)
{
	unsigned long pass = atomic_long_inc_return(&dl_revoke_passes);
	struct ib_uobject *uobj;
	dl_revoke_fn_t revoke;
	struct file *file;
	bool again = false;

	/* a uverbs file we hold keeps ib_uverbs loaded: found */
	while ((uobj = dl_revoke_next_object(inode, pass, &file))) {
		revoke = dl_revoke_fn_get();
		if (!WARN_ON_ONCE(!revoke))
			again |= revoke(file, uobj) == -EAGAIN;
		fput(file);
	}
	return again;
}

/*
 * Revoke every pin under a marked lease: the objects that claimed them one
 * by one (for a second at most while their files are busy creating or
 * destroying objects), then the whole uverbs file of every owner that still
 * has some.
 */
static void dl_revoke_run(void)
{
	unsigned long end = jiffies + HZ, pass;
	dl_revoke_fn_t revoke;
	struct file *file;

	while (dl_revoke_objects(NULL) && time_before(jiffies, end))
		usleep_range(1000, 2000);
	pass = atomic_long_inc_return(&dl_revoke_passes);
	while ((file = dl_revoke_next(pass))) {
		revoke = dl_revoke_fn_get();
		if (!WARN_ON_ONCE(!revoke))
			revoke(file, NULL);
		fput(file);
	}
}

static void dl_revoke_fn(struct work_struct *work)
{
	dl_revoke_run();
}

/*
 * A layout change of @inode broke its breakable leases: revoke the pins
 * left under them (orphaned leases: their break timed out, or their file
 * was closed, so nobody can be asked any more), the objects that claimed
 * them here, the rest in dl_revoke_work.  The caller then waits for
 * busy DAX pages as stock, which ends once the revocation has unpinned
 * them, but only in a file that is mapped: dax_layout_busy_page() returns
 * at once for one that nobody maps, and an MR outlives the mapping it was
 * registered from.  So while the file is not mapped, wait here for the
 * pins to go.  The caller's locks (XFS: MMAPLOCK) stop faults on the file,
 * and the work item may wait for the running verbs commands, one of which
 * may be faulting on a new mapping of it: once the file is mapped, the
 * stock wait, which drops those locks while it sleeps, takes over.
 * 0, or -ERESTARTSYS on a signal.
 */
int dl_revoke_orphans(struct inode *inode)
{
	struct address_space *mapping = inode->i_mapping;
	struct dl_inode *dli;
	struct dl_lease *dl;
	bool queue = false;
	long left;

	if (!dl_inode_has_leases(inode))
		return 0;

	spin_lock(&dl_lock);
	dli = dl_inode_find(inode);
	if (dli) {
		list_for_each_entry(dl, &dli->leases, inode_link) {
			if (dl->unbreakable || dl->state != DL_ORPHANED ||
			    dl->revoking)
				continue;
			dl_revoke_mark(dl);
			queue = true;
		}
	}
	spin_unlock(&dl_lock);
	/* here first, without the work item's detour: it never waits */
	if (queue && (dl_revoke_objects(inode) || dl_inode_pinned(inode)))
		queue_work(system_unbound_wq, &dl_revoke_work);

	/* a mapping can appear without our wake-up: look again every tick */
	do {
		left = wait_event_interruptible_timeout(dl_revoked_wq,
							mapping_mapped(mapping) ||
							!dl_inode_pinned(inode),
							HZ / 10);
	} while (!left);
	return left < 0 ? left : 0;
}

/* Pages were unpinned: a recall may be waiting for its leases to go. */
void dl_revoked_wake(void)
{
	if (wq_has_sleeper(&dl_revoked_wq))
		wake_up_all(&dl_revoked_wq);
}

/*
 * The next live lease of @inode whose file_lease a recall must remove, its
 * file with a reference; @left bounds the walk.
 */
static struct file *dl_recall_next_live(struct inode *inode,
					unsigned int *left)
{
	struct dl_inode *dli;
	struct dl_lease *dl;
	struct file *file = NULL;

	spin_lock(&dl_lock);
	dli = *left ? dl_inode_find(inode) : NULL;
	if (dli) {
		list_for_each_entry(dl, &dli->leases, inode_link) {
			if (dl->state == DL_LIVE && dl_file_tryget(dl->file)) {
				file = dl->file;
				(*left)--;
				break;
			}
		}
	}
	spin_unlock(&dl_lock);
	return file;
}

/*
 * An administrator recalls every lease and pin of @inode, unbreakable ones
 * included: holders get SIGIO as for a lease break, their leases go, their
 * pins are revoked.  0 once nothing is left, -ENOENT if there was nothing,
 * -EBUSY if pins that cannot be revoked (io_uring) are still there after a
 * few seconds, or -EINTR.
 */
int dl_recall(struct inode *inode)
{
	unsigned int live = 0;
	struct dl_inode *dli;
	struct dl_lease *dl;
	struct file *file;
	long left;

	spin_lock(&dl_lock);
	dli = dl_inode_find(inode);
	if (dli) {
		list_for_each_entry(dl, &dli->leases, inode_link) {
			dl_revoke_mark(dl);
			live += dl->state == DL_LIVE;
		}
	}
	spin_unlock(&dl_lock);
	if (!dli)
		return -ENOENT;

	/* F_UNLCK on the holder's file: dl_change() signals and orphans */
	while ((file = dl_recall_next_live(inode, &live))) {
		kernel_setlease(file, F_UNLCK, NULL, (void **)&file);
		fput(file);
	}
	dl_revoke_run();

	left = wait_event_interruptible_timeout(dl_revoked_wq,
						!dl_inode_has_leases(inode),
						5 * HZ);
	if (left < 0)
		return -EINTR;
	/*
	 * The pins go inside an MR's destruction: one that dl_revoke_work
	 * took over may still be finishing (its object locked: EBUSY to the
	 * holder's commands instead of EIO).
	 */
	flush_work(&dl_revoke_work);
	return left ? 0 : -EBUSY;
}

int dl_revoke_init(void)
{
	return register_module_notifier(&dl_module_nb);
}

/* rmmod: no lease is left, so nothing can queue the work any more */
void dl_revoke_exit(void)
{
	flush_work(&dl_revoke_work);
	unregister_module_notifier(&dl_module_nb);
}
