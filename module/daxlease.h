/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daxlease: layout-lease policy for long-term pins of fsdax pages.
 *
 * Objects (all protected by dl_lock, lookups from hot paths under RCU):
 *
 * dl_lease	one per layout lease the module installed with F_SETLEASE.
 *		Hashed by its open file while PENDING or LIVE, linked on the
 *		dl_inode of its inode, and counts the pages pinned under it
 *		(npages).  A lease with pinned pages whose file_lease goes
 *		(last close of the file; a breakable lease's break timed out;
 *		an administrator's recall) becomes ORPHANED: it keeps the
 *		inode and the path, shows in /proc, cannot take new pins, and
 *		is freed when its last page is unpinned.  Unbreakable orphans
 *		still refuse layout changes; the pins of breakable ones are
 *		revoked by the next layout change (revoke.c).
 * dl_inode	index of the leases (all kinds and states) of an inode.
 * dl_owner	who holds pins: an owning file (RDMA: the uverbs file a
 *		command was issued on) or an mm.  Hashed by that pointer while
 *		the file is open (file owners) or always (mm owners, mmgrab()ed).
 *		Referenced by pin contexts (struct daxlease_pins) and dl_pins;
 *		lists the pin contexts taken in its uverbs commands, each with
 *		the verbs object that claimed it (the one its command
 *		created), for revocation.
 * dl_pin	pages one owner pinned under one lease: the (owner, file)
 *		accounting record.  Memory grows with these pairs, never with
 *		pages.
 * dl_charge	pages one pin context charged to one dl_pin beyond the first
 *		(which the context keeps inline): only for contexts that span
 *		several leased files.
 *
 * Lock order: i_rwsem -> file_rwsem -> flc_lock -> dl_lock.  dl_lock is a
 * leaf: nothing sleeps or takes another lock while holding it.
 *
 * Module references: every dl_lease and every dl_owner holds one, so rmmod
 * fails while any lease, orphan, pin or pin context exists.
 */
#ifndef DAXLEASE_MODULE_H
#define DAXLEASE_MODULE_H

#include <linux/daxlease_hooks.h>
#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/path.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/spinlock.h>

#include "compat.h"

struct file_lease;
struct ib_uobject;
struct mm_struct;
struct pid;

#define DL_HASH_BITS	8

enum dl_state {
	DL_PENDING,	/* F_SETLEASE in progress */
	DL_LIVE,	/* installed on an open file */
	DL_ORPHANED,	/* file closed with pages still pinned */
	DL_DEAD,	/* unlinked, waiting to be freed */
};

struct dl_inode {
	struct hlist_node hnode;	/* dl_inodes */
	struct inode *inode;
	struct list_head leases;	/* dl_lease.inode_link */
	unsigned long shown;		/* report pass that last listed it */
	struct rcu_head rcu;
};

struct dl_lease {
	struct hlist_node fnode;	/* dl_files, PENDING/LIVE only */
	struct list_head global;	/* dl_all_leases (RCU, see report.c) */
	struct list_head all_link;	/* free for private lists once DEAD */
	struct list_head inode_link;	/* dl_inode.leases (unbreakable) */
	struct dl_inode *dli;		/* unbreakable only */
	struct file *file;		/* PENDING/LIVE */
	struct inode *inode;		/* pinned with ihold() once orphaned */
	struct path path;		/* ORPHANED: copy of file->f_path */
	struct pid *tgid;		/* holder thread group */
	int fd;				/* fd passed to F_SETLEASE, -1: none */
	bool unbreakable;
	bool revoking;			/* on dl_revoking: pins being revoked */
	enum dl_state state;
	unsigned long npages;		/* pages pinned under this lease */
	struct list_head pins;		/* dl_pin.lease_link */
	struct list_head revoke_link;	/* dl_revoking */
	struct rcu_head rcu;
};

struct dl_owner {
	struct hlist_node hnode;	/* dl_owners while hashed */
	void *key;			/* owning file or mm */
	struct file *file;		/* file owners, NULL once released */
	struct mm_struct *mm;		/* mm owners (mmgrab()ed) */
	bool hashed;
	unsigned int refs;		/* pin contexts + dl_pins */
	unsigned long revoke_pass;	/* last revocation pass that saw it */
	struct list_head pins;		/* dl_pin.owner_link */
	struct list_head contexts;	/* daxlease_pins.owner_link */
	struct rcu_head rcu;
};

struct dl_pin {
	struct list_head owner_link;
	struct list_head lease_link;
	struct dl_owner *owner;
	struct dl_lease *lease;
	unsigned long npages;
};

/* in daxlease_pins->more: charges of a context to further records */
struct dl_charge {
	struct dl_charge *next;
	struct dl_pin *rec;
	unsigned long npages;
};

#ifndef CONFIG_DAXLEASE_HOOKS
/*
 * Kernels without the hooks: the header declares these only with
 * CONFIG_DAXLEASE_HOOKS; main.c needs them for symbol_get(), which finds
 * them missing at load time.
 */
int daxlease_register(const struct daxlease_ops *ops);
void daxlease_unregister(const struct daxlease_ops *ops);
#endif

/* Does current pin in an owner scope (an RDMA command's uverbs file)? */
static inline bool dl_in_owner_scope(void)
{
#ifdef CONFIG_DAXLEASE_HOOKS
	return current->daxlease_owner;
#else
	return false;	/* the module never registers without the hooks */
#endif
}

extern spinlock_t dl_lock;
extern DECLARE_HASHTABLE(dl_files, DL_HASH_BITS);
extern DECLARE_HASHTABLE(dl_inodes, DL_HASH_BITS);
extern DECLARE_HASHTABLE(dl_owners, DL_HASH_BITS);
extern struct list_head dl_all_leases;

/* lease.c */
int dl_setlease(struct file *filp, int arg, struct file_lease **flp,
		void **priv);
int dl_getlease(struct file_lease *fl, int type);
int dl_layout_change(struct inode *inode, enum daxlease_break how);
void dl_lease_file_release(struct file *filp);
struct dl_lease *dl_live_lease(struct inode *inode, struct pid *tgid);
bool dl_layout_leased(struct inode *inode);
bool dl_inode_pinned(struct inode *inode);
void dl_lease_unlink(struct dl_lease *dl);
void dl_lease_free(struct dl_lease *dl);
struct dl_inode *dl_inode_find(struct inode *inode);
bool dl_inode_has_leases(struct inode *inode);
bool dl_fsdax_file(struct inode *inode);

/* pins.c */
int dl_gup_longterm(struct vm_area_struct *vma, unsigned int gup_flags,
		    struct daxlease_pins *pins);
int dl_pinned(struct daxlease_pins *pins, struct file *owner_file,
	      struct page **pages, long npages);
void dl_pins_release(struct daxlease_pins *pins);
void dl_commit(struct daxlease_pins *scope, struct ib_uobject *uobj);
unsigned long *dl_ctx_count(struct daxlease_pins *pins, struct dl_pin *rec);
bool dl_mapping_pinned(struct address_space *mapping);
void dl_owner_file_release(struct file *filp);
struct dl_owner *dl_owner_find(void *key);

/* revoke.c */
void dl_revoke_mark(struct dl_lease *dl);
int dl_revoke_orphans(struct inode *inode);
void dl_revoked_wake(void);
int dl_recall(struct inode *inode);
int dl_revoke_init(void);
void dl_revoke_exit(void);

/* device.c */
bool dl_device_dying(struct inode *inode);
void dl_watch_device(struct inode *inode);
void dl_memory_failure(struct address_space *mapping);
void dl_device_exit(void);

/* report.c */
int dl_proc_show(struct seq_file *m, struct task_struct *task);
int dl_report_init(void);
void dl_report_exit(void);

#endif /* DAXLEASE_MODULE_H */
