// SPDX-License-Identifier: GPL-2.0
/*
 * daxlease: device removal and media errors with pinned pages.
 *
 * The struct pages of an fsdax namespace go with it: once its driver is
 * unbound (sysfs unbind, ndctl disable-namespace, region disable, bus
 * removal), memunmap_pages() frees them without waiting for long-term pins,
 * and the unpin of an MR deregistered afterwards writes to freed memory.
 * Revocation must therefore happen before the driver's devres release, and
 * that is the bus notifier's BUS_NOTIFY_UNBIND_DRIVER: the driver core sends
 * it for the device itself (also when a parent's removal unregisters it),
 * before ->remove() and before kill_dax() (XFS's MF_MEM_PRE_REMOVE) and
 * del_gendisk().  The notifier runs in the unbinding task under the
 * device's lock, which no uverbs command or page fault takes, so it may
 * revoke there (see revoke.c for the locks revocation must not be under).
 *
 * On that event every lease on a file system of the device (or of a device
 * below it) is recalled as by an administrator (dl_recall(): SIGIO to live
 * holders, leases removed, owners revoked, waited for), then the DAX
 * entries of those files are dropped while the pages still exist: ext4
 * registers no dax holder and would otherwise delete them on the final iput
 * after the pages are gone (a stock problem for every open, mapped DAX file
 * of a removed device; here solved for the files daxlease knows).  Until
 * the driver is unbound (BUS_NOTIFY_UNBOUND_DRIVER) no new pin is admitted
 * on the device.  io_uring buffers cannot be revoked: they are reported.
 *
 * The bus of a device is watched from the first lease taken on a file
 * system on it (the nd bus has no exported bus_type to look up).
 *
 * A media error (memory_failure(): machine check, MADV_HWPOISON, XFS's
 * notify_failure) on a page of a leased file: the kernel sends SIGBUS to
 * its mappers as stock and tells the module (memory_failure hook), which
 * refuses new pins of the file at once and recalls its leases from a work
 * item, as an administrator's recall does, so that no NIC goes on writing
 * the poisoned block.  The memory itself stays, so nothing is freed under
 * a pin that cannot be revoked (io_uring): it is reported and stays until
 * its holder unregisters it.
 */

#include <linux/blkdev.h>
#include <linux/dax.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "daxlease.h"

/* The device a file system of @inode lives on (an nd namespace), or NULL */
static struct device *dl_inode_device(struct inode *inode)
{
	struct block_device *bdev = inode->i_sb->s_bdev;

	return bdev ? disk_to_dev(bdev->bd_disk)->parent : NULL;
}

/* Is @inode on @dev or on a device below it? */
static bool dl_inode_on(struct inode *inode, struct device *dev)
{
	struct device *d;

	for (d = dl_inode_device(inode); d; d = d->parent)
		if (d == dev)
			return true;
	return false;
}

/* devices between UNBIND_DRIVER and UNBOUND_DRIVER (dl_lock) */
struct dl_dying {
	struct list_head link;
	struct device *dev;
};

static LIST_HEAD(dl_dying_devs);

/* Gate (dl_lock): is the device under @inode's file system going away? */
bool dl_device_dying(struct inode *inode)
{
	struct dl_dying *d;

	list_for_each_entry(d, &dl_dying_devs, link)
		if (dl_inode_on(inode, d->dev))
			return true;
	return false;
}

#define DL_INODES	16

/*
 * Up to DL_INODES inodes with leases on @dev not yet seen in this pass,
 * with a reference each; the number found.
 */
static unsigned int dl_device_inodes(struct device *dev, struct inode **inodes,
				     struct inode **seen, unsigned int nseen)
{
	unsigned int n = 0, i;
	struct dl_lease *dl;

	spin_lock(&dl_lock);
	list_for_each_entry(dl, &dl_all_leases, global) {
		if (dl->state == DL_PENDING || dl->state == DL_DEAD ||
		    !dl_inode_on(dl->inode, dev))
			continue;
		for (i = 0; i < nseen && seen[i] != dl->inode; i++)
			;
		if (i < nseen)
			continue;
		for (i = 0; i < n && inodes[i] != dl->inode; i++)
			;
		if (i < n)
			continue;
		ihold(dl->inode);
		inodes[n++] = dl->inode;
		if (n == DL_INODES)
			break;
	}
	spin_unlock(&dl_lock);
	return n;
}

/*
 * Drop the DAX entries of @inode while its pages exist: written back (DMA
 * and stores leave them dirty), unmapped, deleted.
 */
static void dl_drop_dax_entries(struct inode *inode)
{
	struct address_space *mapping = inode->i_mapping;

	if (!dax_mapping(mapping))
		return;
	filemap_write_and_wait(mapping);
	unmap_mapping_range(mapping, 0, 0, 1);
	if (invalidate_inode_pages2(mapping))
		/* i_ino: unsigned long on 6.12, u64 on 7.x */
		pr_warn("daxlease: DAX entries of inode %llu on %s stay as its device goes away\n",
			(unsigned long long)inode->i_ino, inode->i_sb->s_id);
}

/* @dev loses its driver: recall every lease of its files, then wait. */
static void dl_device_unbind(struct device *dev)
{
	struct inode *inodes[DL_INODES];
	struct inode **seen = NULL, **more;
	unsigned int nseen = 0, n, i;
	int ret;

	/* several passes if there are many; @seen bounds them */
	for (;;) {
		n = dl_device_inodes(dev, inodes, seen, nseen);
		if (!n)
			break;
		for (i = 0; i < n; i++) {
			ret = dl_recall(inodes[i]);
			if (ret == -EBUSY)
				dev_warn(dev, "daxlease: inode %llu on %s: pages pinned by io_uring cannot be revoked; unpinning them after the removal touches freed memory\n",
					 (unsigned long long)inodes[i]->i_ino,
					 inodes[i]->i_sb->s_id);
			dl_drop_dax_entries(inodes[i]);
		}
		more = krealloc_array(seen, nseen + n, sizeof(*seen),
				      GFP_KERNEL);
		if (!more) {
			for (i = 0; i < n; i++)
				iput(inodes[i]);
			break;
		}
		seen = more;
		/* the references keep them from being reused while seen */
		memcpy(seen + nseen, inodes, n * sizeof(*seen));
		nseen += n;
	}
	for (i = 0; i < nseen; i++)
		iput(seen[i]);
	kfree(seen);
}

static int dl_bus_event(struct notifier_block *nb, unsigned long action,
			void *data)
{
	struct device *dev = data;
	struct dl_dying *d, *tmp;

	switch (action) {
	case BUS_NOTIFY_UNBIND_DRIVER:
		/* without memory, pins are only refused once recalled */
		d = kmalloc(sizeof(*d), GFP_KERNEL);
		if (d) {
			d->dev = dev;
			spin_lock(&dl_lock);
			list_add(&d->link, &dl_dying_devs);
			spin_unlock(&dl_lock);
		}
		dl_device_unbind(dev);
		break;
	case BUS_NOTIFY_UNBOUND_DRIVER:
		spin_lock(&dl_lock);
		list_for_each_entry_safe(d, tmp, &dl_dying_devs, link) {
			if (d->dev == dev) {
				list_del(&d->link);
				kfree(d);
				break;
			}
		}
		spin_unlock(&dl_lock);
		break;
	}
	return NOTIFY_DONE;
}

/* files with a failed page, to recall (dl_lock) */
struct dl_failed {
	struct list_head link;
	struct inode *inode;		/* ihold()ed */
};

static LIST_HEAD(dl_failed_files);
static void dl_failed_fn(struct work_struct *work);
static DECLARE_WORK(dl_failed_work, dl_failed_fn);

static void dl_failed_fn(struct work_struct *work)
{
	struct dl_failed *f;

	for (;;) {
		spin_lock(&dl_lock);
		f = list_first_entry_or_null(&dl_failed_files,
					     struct dl_failed, link);
		if (f)
			list_del(&f->link);
		spin_unlock(&dl_lock);
		if (!f)
			break;
		if (dl_recall(f->inode) == -EBUSY)
			pr_warn("daxlease: inode %llu on %s has a failed page; its io_uring buffers cannot be revoked\n",
				(unsigned long long)f->inode->i_ino,
				f->inode->i_sb->s_id);
		iput(f->inode);
		kfree(f);
	}
}

/*
 * memory_failure hook: a page of @mapping failed, its DAX entry locked (so
 * the inode lives).  Must not wait for the pins: the revocation runs later.
 */
void dl_memory_failure(struct address_space *mapping)
{
	struct inode *inode = mapping->host;
	struct dl_failed *f, *new;
	struct dl_inode *dli;
	struct dl_lease *dl;

	if (!inode || !dl_inode_has_leases(inode))
		return;
	/* NOFS: the caller holds a DAX entry lock of the file */
	new = kmalloc(sizeof(*new), GFP_NOFS);
	spin_lock(&dl_lock);
	dli = dl_inode_find(inode);
	if (!dli)
		goto out;
	/* no new pins from now on, even without memory for the recall */
	list_for_each_entry(dl, &dli->leases, inode_link)
		dl_revoke_mark(dl);
	list_for_each_entry(f, &dl_failed_files, link)
		if (f->inode == inode)
			goto out;	/* XFS: once per failed page */
	if (!new) {
		pr_warn("daxlease: no memory to recall inode %llu on %s after a memory failure\n",
			(unsigned long long)inode->i_ino, inode->i_sb->s_id);
		goto out;
	}
	/* a lease holds the inode (its file, or ihold() once orphaned) */
	ihold(inode);
	new->inode = inode;
	list_add_tail(&new->link, &dl_failed_files);
	new = NULL;
	queue_work(system_unbound_wq, &dl_failed_work);
out:
	spin_unlock(&dl_lock);
	kfree(new);
}

#define DL_BUSES	4

/* buses watched for device removal (dl_bus_mutex) */
static DEFINE_MUTEX(dl_bus_mutex);
static const struct bus_type *dl_buses[DL_BUSES];
static struct notifier_block dl_bus_nb[DL_BUSES];

/*
 * A lease on @inode was taken (no lock held): watch the bus of the device
 * its file system lives on, once per bus.  Four buses are plenty (nd, and
 * whatever else hosts DAX block devices); a fifth is reported once.
 */
void dl_watch_device(struct inode *inode)
{
	struct device *dev = dl_inode_device(inode);
	int i;

	if (!dev || !dev->bus)
		return;
	/* the usual case, without the mutex: watched already */
	for (i = 0; i < DL_BUSES; i++)
		if (READ_ONCE(dl_buses[i]) == dev->bus)
			return;
	mutex_lock(&dl_bus_mutex);
	for (i = 0; i < DL_BUSES; i++) {
		if (dl_buses[i] == dev->bus)
			break;
		if (dl_buses[i])
			continue;
		dl_bus_nb[i].notifier_call = dl_bus_event;
		if (!bus_register_notifier(dev->bus, &dl_bus_nb[i]))
			WRITE_ONCE(dl_buses[i], dev->bus);
		break;
	}
	mutex_unlock(&dl_bus_mutex);
	if (i == DL_BUSES)
		pr_warn_once("daxlease: removal of %s is not watched\n",
			     dev_name(dev));
}

/* rmmod: no lease is left */
void dl_device_exit(void)
{
	struct dl_dying *d, *tmp;
	int i;

	/* waits for a running notifier call */
	for (i = 0; i < DL_BUSES; i++)
		if (dl_buses[i])
			bus_unregister_notifier(dl_buses[i], &dl_bus_nb[i]);
	/* unloaded between an unbind's two events */
	list_for_each_entry_safe(d, tmp, &dl_dying_devs, link)
		kfree(d);
	/* the hook is unregistered: nothing queues it any more */
	flush_work(&dl_failed_work);
}
