// SPDX-License-Identifier: GPL-2.0
/*
 * daxlease: long-term pins of fsdax pages.
 *
 * A FOLL_LONGTERM pin of an fsdax VMA is admitted when the pinning thread
 * group holds a live layout lease on the file and the caller keeps a pin
 * context (struct daxlease_pins), so that its unpins can be attributed.
 * Under a breakable lease only pins that can be revoked are admitted: those
 * of an RDMA registration, owned by its uverbs file (revoke.c); io_uring's
 * fixed buffers cannot be taken back from outside the ring, so they need an
 * unbreakable lease.
 * GUP then hands the pinned pages over; the fsdax ones are charged, run
 * by run of one file, to the (owner, lease) record, and the context
 * records which records it charged and how many pages: the first one
 * inline, further ones (an MR over several files) in a short list.  The
 * caller releases the context as a whole after its last
 * unpin, which takes exactly those counts back: no page is looked up again
 * (its mapping may have changed meanwhile), an unpin never drains another
 * context's lease, and a lease is busy exactly as long as pages charged to
 * it are pinned.
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
#include <linux/memremap.h>
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

/*
 * A new owner for @file (NULL: the mm of current) in *@ownerp.  Fails with
 * EOPNOTSUPP once the module is going away, so that GUP unpins (fail
 * closed) instead of charging to a module that cannot hold the charge.
 */
static int dl_owner_alloc(struct file *file, struct dl_owner **ownerp)
{
	struct dl_owner *owner;

	if (!try_module_get(THIS_MODULE))
		return -EOPNOTSUPP;
	owner = kzalloc(sizeof(*owner), GFP_KERNEL);
	if (!owner) {
		module_put(THIS_MODULE);
		return -ENOMEM;
	}
	INIT_LIST_HEAD(&owner->pins);
	INIT_LIST_HEAD(&owner->contexts);
	if (file) {
		owner->file = file;
		owner->key = file;
	} else {
		owner->mm = current->mm;
		owner->key = current->mm;
		mmgrab(owner->mm);
	}
	*ownerp = owner;
	return 0;
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
	struct dl_lease *dl;
	bool leased, revocable, dying;

	spin_lock(&dl_lock);
	dl = dl_live_lease(inode, task_tgid(current));
	leased = dl;
	/* 48 needs an eligible file already; revocation needs it too */
	revocable = dl && (dl->unbreakable ||
			   (dl_in_owner_scope() && dl_fsdax_file(inode)));
	dying = dl && dl_device_dying(inode);
	spin_unlock(&dl_lock);

	/* no layout lease on the file at all: stock's answer (ODP fallbacks) */
	if (!leased)
		return dl_layout_leased(inode) ? -EPERM : -EOPNOTSUPP;
	/* a lease, but the caller could not account for its unpins */
	if (!pins || pins->is_scope)
		return -EOPNOTSUPP;
	/* a breakable lease, but nobody could revoke these pins */
	if (!revocable)
		return -EPERM;
	/* its device is going away: its leases are being recalled */
	if (dying)
		return -EPERM;
	/* from now on the core fails pins that this module does not charge */
	pins->admitted = true;
	return 0;
}

static bool dl_mapping_ok(struct address_space *mapping)
{
	/* NULL or PAGE_MAPPING_DAX_SHARED: cannot attribute to a file */
	return mapping && !((unsigned long)mapping & PAGE_MAPPING_FLAGS);
}

/* Objects dl_charge() may need, allocated outside dl_lock. */
struct dl_prealloc {
	struct dl_owner *owner;
	struct dl_pin *rec;
	struct dl_charge *chg;
};

#define DL_NEED_OWNER	1
#define DL_NEED_REC	2
#define DL_NEED_CHG	4

static struct dl_pin *dl_rec_find(struct dl_owner *owner, struct dl_lease *dl)
{
	struct dl_pin *rec;

	list_for_each_entry(rec, &owner->pins, owner_link)
		if (rec->lease == dl)
			return rec;
	return NULL;
}

/* Where @pins counts the pages it charged to @rec, or NULL. */
unsigned long *dl_ctx_count(struct daxlease_pins *pins, struct dl_pin *rec)
{
	struct dl_charge *c;

	if (pins->rec == rec)
		return &pins->npages;
	for (c = pins->more; c; c = c->next)
		if (c->rec == rec)
			return &c->npages;
	return NULL;
}

/*
 * Charge @npages pages of @inode to @pins (dl_lock).  Returns -EAGAIN with
 * *@need set if an object must be allocated first; nothing changed then.
 */
static int dl_charge(struct daxlease_pins *pins, void *key,
		     struct inode *inode, unsigned long npages,
		     struct dl_prealloc *pa, unsigned int *need)
{
	struct dl_owner *owner;
	unsigned long *count;
	struct dl_charge *c;
	struct dl_pin *rec;
	struct dl_lease *dl;

	/* re-check: the lease may have gone since check_vma_flags() */
	dl = dl_live_lease(inode, task_tgid(current));
	if (!dl || (!dl->unbreakable && key == current->mm) ||
	    dl_device_dying(inode))
		return -EPERM;	/* gone, breakable and not revocable, or dying */

	owner = pins->owner ?: dl_owner_find(key);
	rec = owner ? dl_rec_find(owner, dl) : NULL;
	count = rec ? dl_ctx_count(pins, rec) : NULL;
	*need = 0;
	if (!owner && !pa->owner)
		*need |= DL_NEED_OWNER;
	if (!rec && !pa->rec)
		*need |= DL_NEED_REC;
	if (!count && pins->rec && !pa->chg)
		*need |= DL_NEED_CHG;
	if (*need)
		return -EAGAIN;

	if (!owner) {
		owner = pa->owner;
		pa->owner = NULL;
		hash_add_rcu(dl_owners, &owner->hnode,
			     (unsigned long)owner->key);
		owner->hashed = true;
	}
	if (!pins->owner) {
		owner->refs++;		/* the pin context's reference */
		pins->owner = owner;
		/*
		 * Pinned in a uverbs command: the object the command creates
		 * claims it (dl_commit()), for revocation.  Only these are
		 * listed: others may be moved (io_uring copies its context).
		 */
		if (pins->scope) {
			list_add_tail(&pins->owner_link, &owner->contexts);
			pins->charged = pins->scope->charged;
			pins->scope->charged = pins;
		}
	}
	if (!rec) {
		rec = pa->rec;
		pa->rec = NULL;
		rec->owner = owner;
		rec->lease = dl;
		list_add_tail(&rec->owner_link, &owner->pins);
		list_add_tail(&rec->lease_link, &dl->pins);
		owner->refs++;		/* the record's reference */
	}
	if (!count && !pins->rec) {
		pins->rec = rec;
		count = &pins->npages;
	} else if (!count) {
		c = pa->chg;
		pa->chg = NULL;
		c->rec = rec;
		c->next = pins->more;
		pins->more = c;
		count = &c->npages;
	}
	*count += npages;
	rec->npages += npages;
	dl->npages += npages;
	return 0;
}

/*
 * Charge @npages pinned pages of @mapping to @pins.  Allocates only what the
 * first charge of an owner, of an (owner, lease) pair or of a further lease
 * in the context needs: later charges of a context are O(1) plus a walk of
 * the owner's records, with no allocation.
 */
static int dl_pinned_run(struct daxlease_pins *pins, struct file *owner_file,
			 struct address_space *mapping, unsigned long npages)
{
	void *key = owner_file ?: (void *)current->mm;
	struct dl_prealloc pa = {};
	unsigned int need;
	int ret;

	/* shared (reflinked) extents cannot be attributed to one file */
	if (!dl_mapping_ok(mapping))
		return -EPERM;

	for (;;) {
		spin_lock(&dl_lock);
		ret = dl_charge(pins, key, mapping->host, npages, &pa, &need);
		spin_unlock(&dl_lock);
		if (ret != -EAGAIN)
			break;
		if ((need & DL_NEED_OWNER) && !pa.owner) {
			ret = dl_owner_alloc(owner_file, &pa.owner);
			if (ret)
				break;
		}
		if ((need & DL_NEED_REC) && !pa.rec) {
			pa.rec = kzalloc(sizeof(*pa.rec), GFP_KERNEL);
			if (!pa.rec) {
				ret = -ENOMEM;
				break;
			}
		}
		if ((need & DL_NEED_CHG) && !pa.chg) {
			pa.chg = kzalloc(sizeof(*pa.chg), GFP_KERNEL);
			if (!pa.chg) {
				ret = -ENOMEM;
				break;
			}
		}
	}
	kfree(pa.rec);
	kfree(pa.chg);
	if (pa.owner)
		dl_owner_free(pa.owner);
	return ret;
}

/*
 * The file of @page if it is fsdax, PAGE_MAPPING_DAX_SHARED if it has none
 * (shared by reflink, or detached), NULL if it is not fsdax.  Stable while
 * pinned: layout changes of leased files are refused.  The folio's: fsdax
 * folios may be large (7.x).
 */
static struct address_space *dl_page_mapping(struct page *page)
{
	struct folio *folio = page_folio(page);

	if (!folio_is_fsdax(folio))
		return NULL;
	return READ_ONCE(folio->mapping) ?: PAGE_MAPPING_DAX_SHARED;
}

/*
 * Does @page, pinned after @prev, continue a run of @mapping?  Without a
 * look at its folio where that is certain: the pages of an fsdax file carry
 * its mapping (6.12: every page; 7.x: order-0 folios and heads), and a tail
 * page right after @prev is in @prev's folio.  The slow path is the
 * folio's: GUP may cross into another VMA at any page.
 */
static bool dl_same_run(struct page *prev, struct page *page,
			struct address_space *mapping)
{
	if (PageTail(page)) {
		if (page == prev + 1)
			return true;
	} else if (mapping && READ_ONCE(page->mapping) == mapping) {
		return true;
	}
	return dl_page_mapping(page) == mapping;
}

/*
 * GUP pinned @pages for @pins on behalf of @owner_file (NULL: the mm):
 * charge the fsdax ones, run by run of one file.  A few instructions per
 * page: the folio is looked at only where a run may end.  On error GUP
 * unpins all of them; what was charged stays in @pins until released.
 */
int dl_pinned(struct daxlease_pins *pins, struct file *owner_file,
	      struct page **pages, long npages)
{
	struct address_space *mapping;
	long i, end;
	int ret = 0;

	for (i = 0; i < npages && !ret; i = end) {
		mapping = dl_page_mapping(pages[i]);
		end = i + 1;
		while (end < npages &&
		       dl_same_run(pages[end - 1], pages[end], mapping))
			end++;
		if (mapping)
			ret = dl_pinned_run(pins, owner_file, mapping, end - i);
	}
	return ret;
}

/*
 * The command of owner scope @scope created @uobj: the pin contexts charged
 * in it are that object's, which a revocation destroys to unpin them.  No
 * reference is taken: destroying the object releases its umem, and with it
 * the context, before the object can be freed, so the object lives as long
 * as the context is listed (dl_lock).
 */
void dl_commit(struct daxlease_pins *scope, struct ib_uobject *uobj)
{
	struct daxlease_pins *pins, *next;

	spin_lock(&dl_lock);
	for (pins = scope->charged; pins; pins = next) {
		next = pins->charged;
		pins->charged = NULL;
		pins->object = uobj;
	}
	scope->charged = NULL;
	spin_unlock(&dl_lock);
}

/*
 * @pins goes before its command committed an object (the command failed):
 * take it off the command's scope, the only list that may still have it.
 */
static void dl_scope_forget(struct daxlease_pins *pins)
{
	struct daxlease_pins *scope = daxlease_current_scope();
	struct daxlease_pins **p;

	if (!scope)
		return;
	for (p = &scope->charged; *p; p = &(*p)->charged) {
		if (*p == pins) {
			*p = pins->charged;
			return;
		}
	}
}

/* Take @npages charged by a context from @rec (dl_lock). */
static void dl_uncharge(struct dl_pin *rec, unsigned long npages,
			struct list_head *dead)
{
	struct dl_lease *dl;

	if (!rec || WARN_ON_ONCE(npages > rec->npages))
		return;
	dl = rec->lease;
	rec->npages -= npages;
	dl->npages -= npages;
	if (!rec->npages) {
		list_del(&rec->owner_link);
		list_del(&rec->lease_link);
		/* the pin context still holds a reference */
		WARN_ON_ONCE(dl_owner_put(rec->owner));
		kfree(rec);
	}
	if (!dl->npages && dl->state == DL_ORPHANED) {
		dl_lease_unlink(dl);
		list_add(&dl->all_link, dead);
	}
}

/*
 * Every page of @pins is unpinned: drop exactly what it charged, lease by
 * lease, then its owner reference.  No page is looked at.
 */
void dl_pins_release(struct daxlease_pins *pins)
{
	struct dl_charge *c, *more = pins->more;
	struct dl_lease *dl, *tmp;
	struct dl_owner *owner;
	LIST_HEAD(dead);

	dl_scope_forget(pins);
	spin_lock(&dl_lock);
	dl_uncharge(pins->rec, pins->npages, &dead);
	for (c = more; c; c = c->next)
		dl_uncharge(c->rec, c->npages, &dead);
	if (pins->scope)
		list_del(&pins->owner_link);
	owner = dl_owner_put(pins->owner);
	spin_unlock(&dl_lock);

	pins->owner = NULL;
	pins->rec = NULL;
	pins->npages = 0;
	pins->more = NULL;
	pins->object = NULL;
	pins->charged = NULL;
	while (more) {
		c = more;
		more = c->next;
		kfree(c);
	}
	list_for_each_entry_safe(dl, tmp, &dead, all_link)
		dl_lease_free(dl);
	if (owner)
		dl_owner_free(owner);
	dl_revoked_wake();
}

/* fsync: must every present page of @mapping be written back? */
bool dl_mapping_pinned(struct address_space *mapping)
{
	return dl_inode_pinned(mapping->host);
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
