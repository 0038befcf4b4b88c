// SPDX-License-Identifier: GPL-2.0
/*
 * daxlease: reports.
 *
 * /proc/<pid>/file_pins (hook, PTRACE_MODE_READ checked by the kernel): one
 * block per fd whose file owns pins ("<fd>: <owner path>" followed by one
 * tab-indented line per pinned file), then one line per file pinned by the
 * process's mm.  A file pinned under two leases of the same owner is listed
 * once.  Paths are escaped as seq_file_path() does.
 *
 * /proc/daxlease (root only): the reverse view, every lease with its holder,
 * one line per lease and one indented line per owner with pins under it:
 *
 *	<pid> <fd> <unbreakable|breakable> <live|orphaned> <pages> <path>
 *		<file|mm|closed> <pages> [<owner path or pid>]
 *
 * <pid> is the holder's thread group in the reader's pid namespace (0 if it
 * is not visible there), <fd> the fd given to F_SETLEASE.
 */

#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/pid.h>
#include <linux/proc_fs.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>

#include "daxlease.h"

static struct proc_dir_entry *dl_proc;

void dl_seq_lease_path(struct seq_file *m, struct dl_lease *dl)
{
	if (dl->file)
		seq_file_path(m, dl->file, "\n");
	else
		seq_path(m, &dl->path, "\n");
}

/*
 * Each listing of an owner is a pass (dl_lock); an inode stamped with the
 * current pass was listed already. O(1) per record: an owner may pin
 * thousands of files, and the listing runs under dl_lock.
 */
static unsigned long dl_show_pass;

/* Pins owned by @file (at @fd) or, if @file is NULL, by @mm. */
static void dl_show_owner(struct seq_file *m, struct file *file,
			  unsigned int fd, struct mm_struct *mm)
{
	struct dl_owner *owner;
	struct dl_pin *rec;
	unsigned long pass;

	spin_lock(&dl_lock);
	owner = dl_owner_find(file ? (void *)file : (void *)mm);
	if (!owner || list_empty(&owner->pins))
		goto out;

	if (file) {
		seq_printf(m, "%u: ", fd);
		seq_file_path(m, file, "\n");
		seq_putc(m, '\n');
	}
	pass = ++dl_show_pass;
	list_for_each_entry(rec, &owner->pins, owner_link) {
		/* pins are charged under unbreakable leases only: dli is set */
		if (rec->lease->dli->shown == pass)
			continue;
		rec->lease->dli->shown = pass;
		if (file)
			seq_putc(m, '\t');
		dl_seq_lease_path(m, rec->lease);
		seq_putc(m, '\n');
	}
out:
	spin_unlock(&dl_lock);
}

int dl_proc_show(struct seq_file *m, struct task_struct *task)
{
	struct mm_struct *mm;
	struct file *file;
	unsigned int fd;

	for (fd = 0; ; fd++) {
		file = fget_task_next(task, &fd);
		if (!file)
			break;
		dl_show_owner(m, file, fd, NULL);
		fput(file);
	}

	mm = get_task_mm(task);
	if (mm) {
		dl_show_owner(m, NULL, 0, mm);
		mmput(mm);
	}
	return 0;
}

static void dl_show_lease_owners(struct seq_file *m, struct dl_lease *dl)
{
	struct dl_owner *owner;
	struct dl_pin *rec;

	list_for_each_entry(rec, &dl->pins, lease_link) {
		owner = rec->owner;
		if (owner->mm) {
			seq_printf(m, "\tmm %lu\n", rec->npages);
		} else if (owner->file) {
			seq_printf(m, "\tfile %lu ", rec->npages);
			seq_file_path(m, owner->file, "\n");
			seq_putc(m, '\n');
		} else {
			seq_printf(m, "\tclosed %lu\n", rec->npages);
		}
	}
}

static int dl_global_show(struct seq_file *m, void *v)
{
	struct dl_lease *dl;

	dl_lease_prune();

	spin_lock(&dl_lock);
	list_for_each_entry(dl, &dl_all_leases, all_link) {
		if (dl->state == DL_PENDING || dl->state == DL_DEAD)
			continue;
		seq_printf(m, "%d %d %s %s %lu ", pid_vnr(dl->tgid), dl->fd,
			   dl->unbreakable ? "unbreakable" : "breakable",
			   dl->state == DL_ORPHANED ? "orphaned" : "live",
			   dl->npages);
		dl_seq_lease_path(m, dl);
		seq_putc(m, '\n');
		dl_show_lease_owners(m, dl);
	}
	spin_unlock(&dl_lock);
	return 0;
}

int dl_report_init(void)
{
	dl_proc = proc_create_single("daxlease", 0400, NULL, dl_global_show);
	return dl_proc ? 0 : -ENOMEM;
}

void dl_report_exit(void)
{
	proc_remove(dl_proc);
}
