// SPDX-License-Identifier: GPL-2.0
/*
 * daxlease: long-term pins of fsdax pages.
 *
 * A FOLL_LONGTERM pin of an fsdax VMA is admitted when the pinning thread
 * group holds a live unbreakable lease on the file and the caller keeps a
 * pin context (struct daxlease_pins), so that its unpins can be attributed.
 * GUP then charges the pinned pages, run by run, to the (owner, lease)
 * record; unpins are taken from the (owner, inode) records, orphaned leases
 * first.  Per page the work is O(1) in the core (grouping by mapping); per
 * run it is a short list walk here.
 *
 * Owners: a pin context gets its owner on its first charge: the file given
 * by the core (RDMA: the uverbs file the command was issued on) or, without
 * one, the mm of the pinning task.  The context holds a reference on the
 * owner until daxlease_pins_release(), each record holds one as long as it
 * has pages, so the owner outlives every pin it owns even after its file is
 * closed; dl_owner_file_release() only unhashes it so that no struct file
 * pointer is kept past the file's life.
 */

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "daxlease.h"

struct dl_owner *dl_owner_find(void *key)
{
	struct dl_owner *owner;

	hash_for_each_possible_rcu(dl_owners, owner, hnode, (unsigned long)key)
		if (owner->key == key)
			return owner;
	return NULL;
}

static struct dl_owner *dl_owner_alloc(struct file *file)
{
	struct dl_owner *owner;

	if (!try_module_get(THIS_MODULE))
		return NULL;
	owner = kzalloc(sizeof(*owner), GFP_KERNEL);
	if (!owner) {
		module_put(THIS_MODULE);
		return NULL;
	}
	INIT_LIST_HEAD(&owner->pins);
	if (file) {
		owner->file = file;
		owner->key = file;
	} else {
		owner->mm = current->mm;
		owner->key = current->mm;
		mmgrab(owner->mm);
	}
	return owner;
}

static void dl_owner_free(struct dl_owner *owner)
{
	if (owner->mm)
		mmdrop(owner->mm);
	kfree_rcu(owner, rcu);
	module_put(THIS_MODULE);
}

/* Drop a reference (dl_lock); returns the owner to free if it was the last. */
static struct dl_owner *dl_owner_put(struct dl_owner *owner)
{
	if (--owner->refs)
		return NULL;
	if (owner->hashed)
		hash_del_rcu(&owner->hnode);
	owner->hashed = false;
	return owner;
}

int dl_gup_longterm(struct vm_area_struct *vma, unsigned int gup_flags,
		    struct daxlease_pins *pins)
{
	struct inode *inode = file_inode(vma->vm_file);
	bool leased;

	spin_lock(&dl_lock);
	leased = dl_live_lease(inode, task_tgid(current));
	spin_unlock(&dl_lock);

	/* no layout lease on the file at all: stock's answer (ODP fallbacks) */
	if (!leased)
		return dl_layout_leased(inode) ? -EPERM : -EOPNOTSUPP;
	/* a lease, but the caller could not account for its unpins */
	return pins ? 0 : -EOPNOTSUPP;
}

static bool dl_mapping_ok(struct address_space *mapping)
{
	/* NULL or PAGE_MAPPING_DAX_SHARED: cannot attribute to a file */
	return mapping && !((unsigned long)mapping & PAGE_MAPPING_FLAGS);
}

int dl_pinned(struct daxlease_pins *pins, struct file *owner_file,
	      struct address_space *mapping, unsigned long npages)
{
	struct dl_owner *owner, *new_owner = NULL;
	struct dl_pin *rec, *new_rec;
	struct dl_lease *dl;
	int ret = 0;

	/* shared (reflinked) extents cannot be attributed to one file */
	if (!dl_mapping_ok(mapping))
		return -EPERM;

	new_rec = kzalloc(sizeof(*new_rec), GFP_KERNEL);
	if (!new_rec)
		return -ENOMEM;
	if (!pins->owner) {
		new_owner = dl_owner_alloc(owner_file);
		if (!new_owner) {
			kfree(new_rec);
			return -ENOMEM;
		}
	}

	spin_lock(&dl_lock);
	/* re-check: the lease may have gone since check_vma_flags() */
	dl = dl_live_lease(mapping->host, task_tgid(current));
	if (!dl) {
		ret = -EPERM;
		goto unlock;
	}

	owner = pins->owner;
	if (!owner) {
		owner = dl_owner_find(new_owner->key);
		if (!owner) {
			owner = new_owner;
			new_owner = NULL;
			hash_add_rcu(dl_owners, &owner->hnode,
				     (unsigned long)owner->key);
			owner->hashed = true;
		}
		owner->refs++;		/* the pin context's reference */
		pins->owner = owner;
	}

	list_for_each_entry(rec, &owner->pins, owner_link)
		if (rec->lease == dl)
			goto charge;
	rec = new_rec;
	new_rec = NULL;
	rec->owner = owner;
	rec->lease = dl;
	list_add_tail(&rec->owner_link, &owner->pins);
	list_add_tail(&rec->lease_link, &dl->pins);
	owner->refs++;			/* the record's reference */
charge:
	rec->npages += npages;
	dl->npages += npages;
unlock:
	spin_unlock(&dl_lock);
	kfree(new_rec);
	if (new_owner)
		dl_owner_free(new_owner);
	return ret;
}

/* The record of @owner for @inode to uncharge: orphaned leases first. */
static struct dl_pin *dl_pin_find(struct dl_owner *owner, struct inode *inode)
{
	struct dl_pin *rec, *found = NULL;

	list_for_each_entry(rec, &owner->pins, owner_link) {
		if (rec->lease->inode != inode)
			continue;
		if (rec->lease->state == DL_ORPHANED)
			return rec;
		found = found ?: rec;
	}
	return found;
}

void dl_unpinned(struct daxlease_pins *pins, struct address_space *mapping,
		 unsigned long npages)
{
	struct dl_owner *owner = pins->owner;
	struct dl_lease *dl, *tmp;
	LIST_HEAD(dead);
	struct dl_pin *rec;
	unsigned long n;

	if (WARN_ON_ONCE(!dl_mapping_ok(mapping)))
		return;

	spin_lock(&dl_lock);
	while (npages) {
		rec = dl_pin_find(owner, mapping->host);
		if (WARN_ON_ONCE(!rec))
			break;
		n = min(npages, rec->npages);
		rec->npages -= n;
		npages -= n;
		dl = rec->lease;
		dl->npages -= n;
		if (rec->npages)
			continue;

		list_del(&rec->owner_link);
		list_del(&rec->lease_link);
		kfree(rec);
		/* the pin context still holds a reference */
		WARN_ON_ONCE(dl_owner_put(owner));
		if (!dl->npages && dl->state == DL_ORPHANED) {
			dl_lease_unlink(dl);
			list_add(&dl->all_link, &dead);
		}
	}
	spin_unlock(&dl_lock);

	list_for_each_entry_safe(dl, tmp, &dead, all_link)
		dl_lease_free(dl);
}

void dl_pins_release(struct daxlease_pins *pins)
{
	struct dl_owner *owner;

	spin_lock(&dl_lock);
	owner = dl_owner_put(pins->owner);
	pins->owner = NULL;
	spin_unlock(&dl_lock);
	if (owner)
		dl_owner_free(owner);
}

/* Last close of @filp: an owner file is forgotten, its pins stay. */
void dl_owner_file_release(struct file *filp)
{
	struct dl_owner *owner;

	rcu_read_lock();
	owner = dl_owner_find(filp);
	rcu_read_unlock();
	if (!owner)
		return;

	spin_lock(&dl_lock);
	owner = dl_owner_find(filp);
	if (owner) {
		hash_del_rcu(&owner->hnode);
		owner->hashed = false;
		owner->file = NULL;
	}
	spin_unlock(&dl_lock);
}
