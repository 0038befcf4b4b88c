/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daxlease hooks: let one loadable module arbitrate long-term pins of fsdax
 * pages with user-visible layout leases.
 *
 * Design note
 * ===========
 * Linux 6.12 refuses FOLL_LONGTERM pins of fsdax VMAs outright, because a
 * truncate or hole punch would otherwise have to wait, possibly forever, for
 * the pin to go (dax_layout_busy_page()).  daxlease lets a process opt in:
 * it takes an unbreakable layout lease (F_SETLEASE, F_LAYOUT|F_EXCLUSIVE)
 * on the file, may then pin its pages long-term, and every layout change of
 * the file by anybody fails at once with ETXTBSY (EDEADLK for a holder)
 * instead of hanging.  Under a breakable layout lease (F_LAYOUT) RDMA pins
 * are revocable: a layout change breaks the lease, and pins its holder did
 * not give back within lease-break-time are revoked.  The policy (lease
 * objects, pin accounting, reports) lives in a module; the kernel only
 * carries the hooks below.  With no
 * module registered every hook is a static branch that leads straight back
 * to the stock code, so a patched kernel behaves exactly like a stock one.
 * The one hook that does not test the static key is the charge after a
 * long-term pin inside a pin bracket whose VMA the module admitted (RDMA
 * and io_uring registrations): a module unloaded since the gate admitted
 * the VMA cannot leave an fsdax page pinned without a charge.
 *
 * The core keeps to what a module cannot do: the call sites with their
 * inline wrappers below, registration, the ptrace check of
 * /proc/<pid>/file_pins and the DAX entry walk of fsync.  Everything that
 * decides (which pages to charge, how to wait for a lease break) is in the
 * module.
 *
 * Hooks and why each is needed:
 *
 * - setlease/getlease (fs/locks.c): F_SETLEASE args with F_LAYOUT or
 *   F_EXCLUSIVE bits are handed to the module instead of failing with
 *   EINVAL; F_GETLEASE lets the module report 16/48 for its leases.  The
 *   module installs ordinary FL_LAYOUT leases with its own
 *   lease_manager_operations, so /proc/locks, lm_change (F_UNLCK -> EBUSY
 *   while pinned) and lease breaking keep working through fs/locks.c.
 * - file_release (fs/locks.c, locks_remove_file()): the final fput of a
 *   file; the module orphans a pinned lease (the stock code then removes
 *   the file_lease) and forgets a pin owner file.
 * - gup_longterm (mm/gup.c, check_vma_flags()): replaces both 6.12 gates
 *   for FOLL_LONGTERM pins of fsdax VMAs (vma_is_fsdax() -> EOPNOTSUPP and
 *   writable_file_mapping_allowed() -> EFAULT).  fsdax folios are ZONE_DEVICE,
 *   so folio_is_longterm_pinnable() accepts them and
 *   check_and_migrate_movable_pages() never tries to migrate them; GUP-fast
 *   bails out to the slow path for devmap entries with FOLL_LONGTERM, so the
 *   slow path gate is the only one.
 * - pinned/pins_release: accounting of long-term fsdax pins.  A pin can
 *   only be accounted if its unpin can be attributed, which the
 *   unpin_user_page*() API cannot do (it does not know FOLL_LONGTERM nor
 *   the owner).  So only owner-aware callers that keep a struct
 *   daxlease_pins next to their pages may pin fsdax pages: they bracket the
 *   pin call with daxlease_pins_begin()/end(), GUP charges the pinned pages
 *   to the pin context, which records which leases it charged and how many
 *   pages, and after unpinning all its pages the caller releases the
 *   context as a whole with daxlease_pins_release().  Nothing is looked up
 *   per page on unpin (page->mapping may have changed by then), and the
 *   charge goes only after the pages are unpinned.  The gate refuses
 *   FOLL_LONGTERM fsdax pins made outside such a bracket, so short-term
 *   FOLL_PIN pins (O_DIRECT) are never counted or refused and unconverted
 *   long-term users (VFIO, gup_test, ...) keep failing.  RDMA umem and
 *   io_uring fixed buffers are converted.  Fail closed: pages pinned in a
 *   bracket that the module admitted but that cannot be charged (no module
 *   any more, a refusal) are unpinned and the pin fails.
 * - eligibility: only file systems that call the layout hooks set
 *   SB_I_DAXLEASE on their superblocks (ext4 under all its names, XFS);
 *   the module admits and charges only their files.
 * - mapping_pinned (mm/filemap.c): fsync/msync of a file with pinned pages
 *   writes back every present entry in the range, not only the dirty ones
 *   (dax_dirty_present() tags them before writeback looks for the tags):
 *   DMA by the NIC (or a kernel copy into an io_uring buffer) never dirties
 *   the PTE, so a clean entry may hold data that is not flushed to
 *   persistence yet.
 * - owner scope (RDMA uverbs): ib_umem_get() no longer gets a udata,
 *   so the uverbs file a command was issued on cannot reach it as an
 *   argument.  ib_uverbs_write()/ib_uverbs_ioctl() publish it in
 *   current->daxlease_owner for the duration of the command; pins taken by
 *   ib_umem_get() are owned by that file, other pins by the mm.  The
 *   command's scope also collects the pin contexts charged in it, and
 *   rdma_alloc_commit_uobject() hands them to the object the command
 *   created (commit): what a revocation destroys to unpin them.  The module
 *   keys owners by the file pointer but drops that association in
 *   file_release, so no struct file pointer outlives the file: pins stay
 *   valid after the fd is closed (umem keeps its daxlease_pins, which
 *   references the module's refcounted owner object, not the file).
 * - revoke (RDMA uverbs): pins under a breakable lease that its holder did
 *   not give back within lease-break-time, or that an administrator recalls,
 *   are revoked with ib_uverbs_revoke(): the object that claimed them (an
 *   MR) is destroyed alone, as device removal destroys it (the rest of the
 *   process's verbs objects live on; a later command on the object fails
 *   with EIO, destroying it succeeds), which unpins and uncharges its
 *   pages.  Where that cannot be (no object claimed the pins, the object is
 *   in use or its driver refuses), every object of the owning uverbs file
 *   is destroyed (IB_EVENT_DEVICE_FATAL).  The ucontext stays until the
 *   file is closed: drivers without disassociate_ucontext (rxe) keep it in
 *   mmaps that outlive the objects.
 *   Pins without a uverbs owner (io_uring) are never revocable.
 * - layout_change (ext4, XFS): asked with i_rwsem held before the block
 *   map of a file changes and before anything is modified: truncate in
 *   either direction (both filesystems wait for busy DAX pages on any size
 *   change), fallocate modes that free or move blocks (and the XFS space
 *   ioctls that do), remap (reflink, dedupe, exchange-range) on both
 *   inodes, XFS copy-on-write, XFS_IOC_SWAPEXT, EXT4_IOC_MOVE_EXT (donor)
 *   and EXT4_IOC_SWAP_BOOT.  The module answers from its lease state, never
 *   from mapping_mapped().  Breakable layout leases (SIGIO,
 *   lease-break-time) are broken by XFS's own pNFS layout break, which
 *   drops the iolock while it waits, and on ext4 by the module when asked
 *   with DAXLEASE_BREAK (DAXLEASE_BREAK_UNLOCKED: waiting without i_rwsem).
 *   The filesystem then waits for short-term pins (O_DIRECT) as before.
 * - proc_show: /proc/<pid>/file_pins.  With no module registered the file
 *   exists and reads empty.
 * - memory_failure (mm/memory-failure.c, unmap_and_kill()): a page of an
 *   fsdax file failed; its mappers get SIGBUS as stock, and the module
 *   revokes the pins of the file (a recall), so that no NIC goes on using
 *   the poisoned block.  Both the generic path and XFS's notify_failure
 *   (mf_dax_kill_procs()) pass here with the DAX entry locked, which keeps
 *   the inode.  Device removal needs no hook: the module revokes from the
 *   bus notifier, before the driver frees the struct pages.
 *
 * Calls into the module are made under SRCU (daxlease_unregister() waits
 * for them) or, for the lease_manager_operations the module installs, under
 * ctx->flc_lock (daxlease_unregister() also waits for an RCU grace period).
 * The core never takes references on ops->owner: the module must hold a
 * reference on itself for every object whose code pointers or memory the
 * kernel can still reach (installed leases, pin owners), so that rmmod
 * fails while any exists.
 */
#ifndef _LINUX_DAXLEASE_HOOKS_H
#define _LINUX_DAXLEASE_HOOKS_H

#include <linux/errno.h>
#include <linux/jump_label.h>
#include <linux/sched.h>
#include <linux/srcu.h>
#include <linux/types.h>

struct address_space;
struct file;
struct file_lease;
struct ib_uobject;
struct inode;
struct module;
struct page;
struct pid;
struct pid_namespace;
struct seq_file;
struct task_struct;
struct vm_area_struct;

/* F_SETLEASE/F_GETLEASE argument bits (uapi values live with the module) */
#define DAXLEASE_F_LAYOUT	16
#define DAXLEASE_F_EXCLUSIVE	32

/*
 * super_block->s_iflags: the file system asks daxlease before every layout
 * change (set by ext4 and XFS in fill_super).  Long-term pins of fsdax
 * pages are only possible on such superblocks.  Kept here rather than with
 * the other SB_I_* bits so that the hooks touch no widely included header;
 * the bit is above every SB_I_* bit of this tree.
 */
#define SB_I_DAXLEASE		0x40000000

/*
 * What a layout change asks of breakable layout leases (layout_change).  A
 * caller that breaks them waits afterwards for busy DAX pages as stock does
 * (dax_layout_busy_page()): pins of a lease whose holder did not give them
 * back in time are being revoked then, and the file system waits for them.
 */
enum daxlease_break {
	DAXLEASE_VERDICT,	/* no break: leases with pins refuse it */
	DAXLEASE_BREAK,		/* break them, waiting under the caller's locks */
	DAXLEASE_BREAK_UNLOCKED, /* the same, i_rwsem dropped while waiting */
};

/*
 * Pin context of an owner-aware long-term pinner, kept next to its page
 * array (e.g. in struct ib_umem) and zero-initialised.  Only the module
 * reads and writes it: @admitted once its gate admitted a VMA pinned in
 * this context, @owner (its owner object) from the first charge, and what
 * it charged to which leases, until daxlease_pins_release(); @object, the
 * verbs object that claimed it, the revocation pass that last tried to
 * destroy that object, and the lists it is on.  Besides,
 * daxlease_pins_begin() sets @scope: the owner scope it is pinned in.
 */
struct daxlease_pins {
	bool admitted;
	bool is_scope;			/* an owner scope's, never pinned into */
	void *owner;
	void *rec;
	unsigned long npages;
	void *more;
	void *object;
	unsigned long revoke_pass;
	struct daxlease_pins *scope;
	struct daxlease_pins *charged;	/* scope: its contexts; next one */
	struct list_head owner_link;
};

/*
 * Owner scope of an RDMA command, on its stack: see daxlease_owner_enter().
 * @pins is the scope's collector in current->daxlease_pins; of it only
 * @is_scope, @admitted and @charged are set and read.
 */
struct daxlease_scope {
	struct daxlease_pins pins;
	struct file *prev_owner;
	struct daxlease_pins *prev_pins;
};

/**
 * struct daxlease_ops - the policy module's callbacks; every one must be set
 * @owner: THIS_MODULE
 *
 * @setlease: fcntl(F_SETLEASE) with F_LAYOUT/F_EXCLUSIVE bits in @arg.
 *	Process, no locks held, may sleep.  *@flp is a lease that lease_init()
 *	set up for F_RDLCK with the default lease_manager_operations (the
 *	module may wrap their lm_setup and lm_break), *@priv the preallocated
 *	fasync entry for the fd; both follow the vfs_setlease() contract and
 *	the core frees whatever is left in them.  0 or -errno.
 * @getlease: fcntl(F_GETLEASE) found lease @fl of the file; @type is the
 *	stock answer.  ctx->flc_lock held, must not sleep.  The value to report.
 * @layout_change: a filesystem is about to change the block map of @inode.
 *	i_rwsem of @inode held exclusive (and of the other inode for two-inode
 *	operations), sometimes invalidate_lock/XFS_MMAPLOCK too.  @how: see
 *	enum daxlease_break; only DAXLEASE_BREAK* may wait.  0 to let it
 *	proceed, -ETXTBSY or -EDEADLK to fail it before anything has changed,
 *	or the error that ended the wait for a lease break.
 * @gup_longterm: check_vma_flags() sees a FOLL_LONGTERM pin of fsdax @vma;
 *	@pins is the caller's pin context or NULL if the caller cannot account
 *	its pins.  mmap_lock held, should not sleep.  0 to admit the VMA (both
 *	stock fsdax gates are skipped; the module sets @pins->admitted) or
 *	-errno.
 * @pinned: GUP pinned @npages @pages for pin context @pins (admitted) on
 *	behalf of owner file @owner_file (NULL: the mm of current): charge the
 *	fsdax pages among them.  The pinner's task, may sleep (GFP_KERNEL).
 *	On error GUP unpins all @pages; charges already recorded in @pins stay
 *	(the lease stays busy) until the caller releases @pins.
 * @pins_release: every page pinned in @pins has been unpinned and @pins
 *	will not be used again: drop exactly the charges it recorded.  Process
 *	(maybe a kernel thread), no core locks, may sleep.
 * @mapping_pinned: are pages of @mapping pinned long-term under a lease?
 *	fsync/msync of an fsdax file.  Should not sleep.
 * @file_release: last reference to @filp is being dropped (__fput(), before
 *	leases are removed and before ->release()).  Process or kernel thread
 *	(task_work, delayed_fput), no locks held, may sleep.
 * @proc_show: read of /proc/<pid>/file_pins for @task; the core has already
 *	checked PTRACE_MODE_READ access under exec_update_lock.  May sleep.
 * @memory_failure: a page of @mapping (maybe not a daxlease file) failed or
 *	is being removed; its DAX entry is locked, so @mapping->host lives.
 *	Process, may sleep but must not wait for the file's pins to go.
 * @commit: the RDMA command of owner scope @scope created uobject @uobj,
 *	which claims the pin contexts charged in @scope (@scope->charged).
 *	hw_destroy_rwsem held for reading, must not sleep.
 */
struct daxlease_ops {
	struct module *owner;
	int (*setlease)(struct file *filp, int arg, struct file_lease **flp,
			void **priv);
	int (*getlease)(struct file_lease *fl, int type);
	int (*layout_change)(struct inode *inode, enum daxlease_break how);
	int (*gup_longterm)(struct vm_area_struct *vma, unsigned int gup_flags,
			    struct daxlease_pins *pins);
	int (*pinned)(struct daxlease_pins *pins, struct file *owner_file,
		      struct page **pages, long npages);
	void (*pins_release)(struct daxlease_pins *pins);
	bool (*mapping_pinned)(struct address_space *mapping);
	void (*file_release)(struct file *filp);
	int (*proc_show)(struct seq_file *m, struct task_struct *task);
	void (*memory_failure)(struct address_space *mapping);
	void (*commit)(struct daxlease_pins *scope, struct ib_uobject *uobj);
};

/*
 * ib_uverbs: destroy @uobj of uverbs file @filp as device removal does, or
 * with @uobj NULL every object of @filp but its ucontext.  Consumes the
 * caller's reference on @uobj; 0, -EBUSY if a command is using it,
 * -EAGAIN if objects of @filp are being created or destroyed right now
 * (try again soon), or the driver's error.  One object is destroyed without
 * waiting for a command: the caller may hold locks.  Every object only
 * after the commands in flight on the device: the caller must hold no lock
 * a uverbs command or a page fault may wait for.  The caller holds a
 * reference on @filp, an owner file (only uverbs files are).
 */
int ib_uverbs_revoke(struct file *filp, struct ib_uobject *uobj);

/*
 * fs/dax.c: tag every present entry of [@start, @end] (bytes) dirty.  Also
 * declared without the hooks, where its only caller is dead code.
 */
void dax_dirty_present(struct address_space *mapping, loff_t start,
		       loff_t end);

#ifdef CONFIG_DAXLEASE_HOOKS

int daxlease_register(const struct daxlease_ops *ops);
void daxlease_unregister(const struct daxlease_ops *ops);

DECLARE_STATIC_KEY_FALSE(daxlease_active);

static inline bool daxlease_enabled(void)
{
	return static_branch_unlikely(&daxlease_active);
}

extern const struct daxlease_ops __rcu *daxlease_ops;
extern struct srcu_struct daxlease_srcu;

/*
 * @call, an expression in the registered module's callbacks ops, evaluated
 * under SRCU (daxlease_unregister() waits for it); @none without a module.
 */
#define DAXLEASE_CALL(none, call) ({					\
	int __idx = srcu_read_lock(&daxlease_srcu);			\
	const struct daxlease_ops *ops;					\
	typeof(none) __ret = (none);					\
									\
	ops = srcu_dereference(daxlease_ops, &daxlease_srcu);		\
	if (ops)							\
		__ret = (call);						\
	srcu_read_unlock(&daxlease_srcu, __idx);			\
	__ret;								\
})

int proc_pid_file_pins(struct seq_file *m, struct pid_namespace *ns,
		       struct pid *pid, struct task_struct *task);

/* fs/locks.c: does F_SETLEASE @arg belong to the module? */
static inline bool daxlease_lease_arg(int arg)
{
	return daxlease_enabled() &&
	       (arg & (DAXLEASE_F_LAYOUT | DAXLEASE_F_EXCLUSIVE));
}

/* fs/locks.c: F_SETLEASE for daxlease_lease_arg() arguments */
static inline int daxlease_setlease(struct file *filp, int arg,
				    struct file_lease **flp, void **priv)
{
	return DAXLEASE_CALL(-EINVAL, ops->setlease(filp, arg, flp, priv));
}

/* fs/locks.c: F_GETLEASE value for lease @fl (flc_lock held) */
static inline int daxlease_getlease(struct file_lease *fl, int type)
{
	if (daxlease_enabled())
		return DAXLEASE_CALL(type, ops->getlease(fl, type));
	return type;
}

/*
 * ext4/XFS, before a layout change of @inode, i_rwsem held: the module's
 * verdict, 0, -ETXTBSY or -EDEADLK.  0 when no module is registered.
 */
static inline int daxlease_layout_change(struct inode *inode)
{
	if (daxlease_enabled())
		return DAXLEASE_CALL(0, ops->layout_change(inode,
							 DAXLEASE_VERDICT));
	return 0;
}

/*
 * ext4: as daxlease_layout_change(), then break breakable layout leases
 * (SIGIO, lease-break-time) and wait for them to go; with
 * DAXLEASE_BREAK_UNLOCKED i_rwsem is dropped while waiting, so that their
 * holders can still write the file.  0 at once when no module is
 * registered: stock ext4 does not break layout leases.
 */
static inline int daxlease_break_layout(struct inode *inode,
					enum daxlease_break how)
{
	if (daxlease_enabled())
		return DAXLEASE_CALL(0, ops->layout_change(inode, how));
	return 0;
}

/* mm/gup.c: FOLL_LONGTERM pin of an fsdax VMA; stock answer -EOPNOTSUPP */
static inline int daxlease_gup_longterm(struct vm_area_struct *vma,
					unsigned int gup_flags)
{
	if (daxlease_enabled())
		return DAXLEASE_CALL(-EOPNOTSUPP,
			ops->gup_longterm(vma, gup_flags, current->daxlease_pins));
	return -EOPNOTSUPP;
}

/*
 * mm/gup.c: @npages pages were pinned FOLL_LONGTERM in a pin bracket whose
 * VMA the module admitted: charge the fsdax ones; on -errno GUP unpins all
 * of them.  Not conditional on the static key: a module unloaded since the
 * gate admitted the VMA must make the pin fail, not leave it unaccounted.
 */
static inline int daxlease_gup_pinned(struct page **pages, long npages)
{
	struct daxlease_pins *pins = current->daxlease_pins;

	if (pins && pins->admitted)
		return DAXLEASE_CALL(-EOPNOTSUPP,
			ops->pinned(pins, current->daxlease_owner, pages, npages));
	return 0;
}

/* The collector of the owner scope current runs in, or NULL. */
static inline struct daxlease_pins *daxlease_current_scope(void)
{
	struct daxlease_pins *pins = current->daxlease_pins;

	return pins && pins->is_scope ? pins : NULL;
}

/*
 * rdma_alloc_commit_uobject(): the command created @uobj; the pin contexts
 * it charged are that object's (see @commit).
 */
static inline void daxlease_commit(struct ib_uobject *uobj)
{
	struct daxlease_pins *scope = daxlease_current_scope();

	if (scope && scope->charged)
		DAXLEASE_CALL(0, (ops->commit(scope, uobj), 0));
}

/*
 * mm/filemap.c, fsync/msync of an fsdax file: does @mapping have pages
 * pinned long-term?  Then every present entry in the range is written back.
 */
static inline bool daxlease_mapping_pinned(struct address_space *mapping)
{
	return daxlease_enabled() &&
	       DAXLEASE_CALL(false, ops->mapping_pinned(mapping));
}

/* fs/locks.c: final fput of @filp */
static inline void daxlease_file_release(struct file *filp)
{
	if (daxlease_enabled())
		DAXLEASE_CALL(0, (ops->file_release(filp), 0));
}

/* mm/memory-failure.c: a page of @mapping failed, its DAX entry locked */
static inline void daxlease_memory_failure(struct address_space *mapping)
{
	if (daxlease_enabled())
		DAXLEASE_CALL(0, (ops->memory_failure(mapping), 0));
}

/*
 * Owner scope: pins taken between enter and exit are owned by @filp (RDMA:
 * the uverbs file a command was issued on), and the contexts they are
 * charged to are collected in @scope (on the caller's stack) until the
 * command commits the object it creates.  Never held across fork.
 */
static inline void daxlease_owner_enter(struct daxlease_scope *scope,
					struct file *filp)
{
	/* a uverbs command's hot path: not the whole collector */
	scope->pins.is_scope = true;
	scope->pins.admitted = false;
	scope->pins.charged = NULL;
	scope->prev_owner = current->daxlease_owner;
	scope->prev_pins = current->daxlease_pins;
	current->daxlease_owner = filp;
	current->daxlease_pins = &scope->pins;
}

static inline void daxlease_owner_exit(struct daxlease_scope *scope)
{
	current->daxlease_owner = scope->prev_owner;
	current->daxlease_pins = scope->prev_pins;
}

/*
 * Pin scope: FOLL_LONGTERM pins of fsdax pages made by the current task
 * between begin and end are admitted (subject to the module) and charged to
 * @pins.  Returns the previous context for daxlease_pins_end().
 */
static inline struct daxlease_pins *
daxlease_pins_begin(struct daxlease_pins *pins)
{
	struct daxlease_pins *prev = current->daxlease_pins;

	pins->scope = daxlease_current_scope();
	current->daxlease_pins = pins;
	return prev;
}

static inline void daxlease_pins_end(struct daxlease_pins *prev)
{
	current->daxlease_pins = prev;
}

/*
 * Every page pinned in @pins has been unpinned: drop what it charged and its
 * owner.  Call it only after the unpins, so that no layout change can
 * happen while a page is still pinned.
 */
static inline void daxlease_pins_release(struct daxlease_pins *pins)
{
	if (pins->owner)
		DAXLEASE_CALL(0, (ops->pins_release(pins), 0));
}

#else /* !CONFIG_DAXLEASE_HOOKS */

static inline bool daxlease_enabled(void)
{
	return false;
}

static inline bool daxlease_lease_arg(int arg)
{
	return false;
}

static inline int daxlease_setlease(struct file *filp, int arg,
				    struct file_lease **flp, void **priv)
{
	return -EINVAL;
}

static inline int daxlease_getlease(struct file_lease *fl, int type)
{
	return type;
}

static inline int daxlease_layout_change(struct inode *inode)
{
	return 0;
}

static inline int daxlease_break_layout(struct inode *inode,
					enum daxlease_break how)
{
	return 0;
}

static inline int daxlease_gup_longterm(struct vm_area_struct *vma,
					unsigned int gup_flags)
{
	return -EOPNOTSUPP;
}

static inline int daxlease_gup_pinned(struct page **pages, long npages)
{
	return 0;
}

static inline bool daxlease_mapping_pinned(struct address_space *mapping)
{
	return false;
}

static inline void daxlease_file_release(struct file *filp)
{
}

static inline void daxlease_memory_failure(struct address_space *mapping)
{
}

static inline struct daxlease_pins *daxlease_current_scope(void)
{
	return NULL;
}

static inline void daxlease_commit(struct ib_uobject *uobj)
{
}

static inline void daxlease_owner_enter(struct daxlease_scope *scope,
					struct file *filp)
{
}

static inline void daxlease_owner_exit(struct daxlease_scope *scope)
{
}

static inline struct daxlease_pins *
daxlease_pins_begin(struct daxlease_pins *pins)
{
	return NULL;
}

static inline void daxlease_pins_end(struct daxlease_pins *prev)
{
}

static inline void daxlease_pins_release(struct daxlease_pins *pins)
{
}

#endif /* CONFIG_DAXLEASE_HOOKS */

#endif /* _LINUX_DAXLEASE_HOOKS_H */
