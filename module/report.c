// SPDX-License-Identifier: GPL-2.0
/*
 * daxlease: reports.
 *
 * /proc/<pid>/file_pins (hook, PTRACE_MODE_READ checked by the kernel under
 * the task's exec_update_lock, as for /proc/<pid>/maps): one
 * block per fd whose file owns pins ("<fd>: <owner path>" followed by one
 * tab-indented line per pinned file), then one line per file pinned by the
 * process's mm.  A file pinned under two leases of the same owner is listed
 * once.  Paths are escaped as seq_path() does.
 *
 * /proc/daxlease (root only): the reverse view, every lease with its holder,
 * one line per lease and one indented line per owner with pins under it:
 *
 *	<pid> <fd> <unbreakable|breakable> <live|orphaned> <pages> <dev> <path>
 *		<file|mm|closed> <pages> [<owner path or pid>]
 *
 * <pid> is the holder's thread group in the pid namespace of the /proc
 * instance read (as /proc/locks), 0 if it is not visible there, "-" once the
 * holder has exited (its struct pid is kept and the number may be reused).
 * <fd> is the fd given to F_SETLEASE while that fd of the holder still
 * refers to the leased file, else "-" (closed, dup2()ed over, holder gone,
 * orphaned lease).  <dev> is "<major>:<minor>:<inode>" of the file, as in
 * /proc/locks, so that a tool can match a file by device and inode rather
 * than by the path text, which depends on the reader's mount namespace:
 *
 *	<pid> <fd> <unbreakable|breakable> <live|orphaned> <pages> <dev> <path>
 *
 * Root recalls every lease and pin of a file by writing "revoke <fd>" to
 * /proc/daxlease, <fd> an open file (O_PATH will do) of the writer: the
 * write returns once they are gone (revoke.c, dl_recall()).
 *
 * The global list is walked under RCU and dl_lock is held for one lease at a
 * time, so a reader of a long report never holds up pins, unpins, leases or
 * layout changes for longer than one record takes to print.  file_pins
 * takes path references of an owner's files under dl_lock and prints them
 * after dropping it.
 */

#include <linux/capability.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hex.h>
#include <linux/kdev_t.h>
#include <linux/pid.h>
#include <linux/proc_fs.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "daxlease.h"

static struct proc_dir_entry *dl_proc;

/*
 * seq_path(@m, @path, "\n") without its byte-by-byte escaping pass when the
 * path holds no newline, as nearly every path does: then the text d_path()
 * left at the end of the seq_file buffer only moves into place.  Paths
 * were most of a /proc/daxlease record's time.
 */
static void dl_seq_path(struct seq_file *m, const struct path *path)
{
	char *buf, *p;
	size_t size;
	int len;

	size = seq_get_buf(m, &buf);
	if (size) {
		p = d_path(path, buf, size);
		len = IS_ERR(p) ? 0 : buf + size - 1 - p;
		if (len && !memchr(p, '\n', len)) {
			memmove(buf, p, len);
			seq_commit(m, len);
			return;
		}
	}
	seq_path(m, path, "\n");
}

void dl_seq_lease_path(struct seq_file *m, struct dl_lease *dl)
{
	dl_seq_path(m, dl->file ? &dl->file->f_path : &dl->path);
}

/*
 * Each listing of an owner is a pass (dl_lock); an inode stamped with the
 * current pass was listed already. O(1) per record: an owner may pin
 * thousands of files.
 */
static unsigned long dl_show_pass;

/*
 * Pins owned by @file (at @fd) or, if @file is NULL, by @mm.  The owner's
 * files are collected under dl_lock as path references (no printing, no
 * d_path(): a reference count each) and printed after it is dropped, so a
 * reader of a long list holds up pins and leases for microseconds, not for
 * the time the text takes.
 */
static void dl_show_owner(struct seq_file *m, struct file *file,
			  unsigned int fd, struct mm_struct *mm)
{
	void *key = file ? (void *)file : (void *)mm;
	struct path *paths = NULL, *p;
	size_t max = 0, want, n, i;
	struct dl_owner *owner;
	struct dl_pin *rec;
	unsigned long pass;

	for (;;) {
		spin_lock(&dl_lock);
		owner = dl_owner_find(key);
		if (!owner || list_empty(&owner->pins)) {
			spin_unlock(&dl_lock);
			kvfree(paths);
			return;
		}
		want = list_count_nodes(&owner->pins);
		if (want <= max)
			break;
		spin_unlock(&dl_lock);
		kvfree(paths);
		max = want;
		paths = kvmalloc_array(max, sizeof(*paths), GFP_KERNEL);
		if (!paths)
			return;
	}

	n = 0;
	pass = ++dl_show_pass;
	list_for_each_entry(rec, &owner->pins, owner_link) {
		/* pins are charged under unbreakable leases only: dli is set */
		if (rec->lease->dli->shown == pass)
			continue;
		rec->lease->dli->shown = pass;
		p = &paths[n++];
		*p = rec->lease->file ? rec->lease->file->f_path :
		     rec->lease->path;
		path_get(p);
	}
	spin_unlock(&dl_lock);

	if (file) {
		seq_printf(m, "%u: ", fd);
		dl_seq_path(m, &file->f_path);
		seq_putc(m, '\n');
	}
	for (i = 0; i < n; i++) {
		if (file)
			seq_putc(m, '\t');
		dl_seq_path(m, &paths[i]);
		seq_putc(m, '\n');
		path_put(&paths[i]);
	}
	kvfree(paths);
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

/*
 * The path of the owner whose file was printed last in this read(2) of
 * /proc/daxlease: thousands of leases are typically pinned through one
 * uverbs file.  Valid from ->start() to ->stop() only: owners are freed
 * after an RCU grace period, so no other owner can take the address
 * meanwhile, and an owner's file only ever goes to NULL.
 */
struct dl_owner_text {
	struct dl_owner *owner;
	struct file *file;
	unsigned int len;
	char text[128];
};

static void dl_show_owner_path(struct seq_file *m, struct dl_owner *owner)
{
	struct dl_owner_text *last = m->private;
	size_t from = m->count;

	if (last->owner == owner && last->file == owner->file) {
		seq_write(m, last->text, last->len);
		return;
	}
	dl_seq_path(m, &owner->file->f_path);
	if (seq_has_overflowed(m) || m->count - from > sizeof(last->text))
		return;
	last->owner = owner;
	last->file = owner->file;
	last->len = m->count - from;
	memcpy(last->text, m->buf + from, last->len);
}

static void dl_show_lease_owners(struct seq_file *m, struct dl_lease *dl)
{
	struct dl_owner *owner;
	struct dl_pin *rec;

	list_for_each_entry(rec, &dl->pins, lease_link) {
		owner = rec->owner;
		seq_put_decimal_ull(m, owner->mm ? "\tmm " : owner->file ?
				    "\tfile " : "\tclosed ", rec->npages);
		if (owner->file && !owner->mm) {
			seq_putc(m, ' ');
			dl_show_owner_path(m, owner);
		}
		seq_putc(m, '\n');
	}
}

/*
 * Does fd @fd of the thread group @tgid still refer to @file (RCU)?  Only
 * then is the fd worth printing: it may have been closed or dup2()ed over.
 */
static bool dl_fd_is(struct pid *tgid, int fd, struct file *file)
{
	struct task_struct *task;
	unsigned int n = fd;
	struct file *f;
	bool same;

	if (fd < 0 || !file)
		return false;
	task = pid_task(tgid, PIDTYPE_TGID);
	if (!task)
		return false;
	f = fget_task_next(task, &n);
	if (!f)
		return false;
	same = n == fd && f == file;
	fput(f);
	return same;
}

/* @v in hex, at least two digits, as "%02x" */
static void dl_seq_hex2(struct seq_file *m, unsigned int v)
{
	char buf[2 * sizeof(v)];
	int i = sizeof(buf);

	do {
		buf[--i] = hex_asc[v & 0xf];
		v >>= 4;
	} while (v || i > (int)sizeof(buf) - 2);
	seq_write(m, buf + i, sizeof(buf) - i);
}

/*
 * One lease and its owners; dl_lock is held for this record only.  Printed
 * with the seq_put_*() helpers, not seq_printf(): its format parsing was
 * a good part of a record's time, and a record is printed under dl_lock.
 */
static void dl_global_show_one(struct seq_file *m, struct dl_lease *dl,
			       struct pid_namespace *ns)
{
	bool alive, fd_ok;
	struct inode *inode;

	alive = pid_task(dl->tgid, PIDTYPE_TGID);
	fd_ok = dl_fd_is(dl->tgid, dl->fd, READ_ONCE(dl->file));

	spin_lock(&dl_lock);
	if (dl->state != DL_LIVE && dl->state != DL_ORPHANED)
		goto out;
	if (alive)
		seq_put_decimal_ll(m, "", pid_nr_ns(dl->tgid, ns));
	else
		seq_putc(m, '-');
	if (fd_ok && dl->state == DL_LIVE)
		seq_put_decimal_ll(m, " ", dl->fd);
	else
		seq_puts(m, " -");
	seq_puts(m, dl->unbreakable ? " unbreakable" : " breakable");
	seq_puts(m, dl->state == DL_ORPHANED ? " orphaned" : " live");
	seq_put_decimal_ull(m, " ", dl->npages);
	inode = dl->inode;
	seq_putc(m, ' ');
	dl_seq_hex2(m, MAJOR(inode->i_sb->s_dev));
	seq_putc(m, ':');
	dl_seq_hex2(m, MINOR(inode->i_sb->s_dev));
	/* i_ino: unsigned long on 6.12, u64 on 7.x */
	seq_put_decimal_ull(m, ":", inode->i_ino);
	seq_putc(m, ' ');
	dl_seq_lease_path(m, dl);
	seq_putc(m, '\n');
	dl_show_lease_owners(m, dl);
out:
	spin_unlock(&dl_lock);
}

/*
 * /proc/daxlease as a seq_file iterator over the RCU list: each read(2)
 * prints from where the last one stopped, instead of the whole list being
 * printed again every time the buffer of a single_open() file grows.
 * Records that come or go between two reads may be missed or repeated,
 * as in /proc/locks.
 */
static void *dl_global_start(struct seq_file *m, loff_t *pos)
	__acquires(RCU)
{
	struct dl_owner_text *last = m->private;

	last->owner = NULL;
	rcu_read_lock();
	return seq_list_start_rcu(&dl_all_leases, *pos);
}

static void *dl_global_next(struct seq_file *m, void *v, loff_t *pos)
{
	return seq_list_next_rcu(v, &dl_all_leases, pos);
}

static void dl_global_stop(struct seq_file *m, void *v)
	__releases(RCU)
{
	rcu_read_unlock();
}

static int dl_global_show(struct seq_file *m, void *v)
{
	struct pid_namespace *ns = proc_pid_ns(file_inode(m->file)->i_sb);

	dl_global_show_one(m, list_entry(v, struct dl_lease, global), ns);
	return 0;
}

static const struct seq_operations dl_global_ops = {
	.start = dl_global_start,
	.next = dl_global_next,
	.stop = dl_global_stop,
	.show = dl_global_show,
};

/*
 * seq_read() fills at most one buffer per read(2) and starts each read by
 * walking the list to its position: with seq_file's default of one page,
 * a 10,000-lease report took 260 reads and 1.3 million list steps.  A
 * larger buffer from the start (seq_read() keeps one it finds, as
 * single_open_size() relies on) makes that 17 reads.  Falls back to the
 * default if it cannot be had.
 */
#define DL_GLOBAL_BUF	(64 << 10)

static int dl_global_open(struct inode *inode, struct file *file)
{
	struct seq_file *m;
	int ret;

	ret = seq_open_private(file, &dl_global_ops,
			       sizeof(struct dl_owner_text));
	if (ret)
		return ret;
	m = file->private_data;
	m->buf = kvmalloc(DL_GLOBAL_BUF, GFP_KERNEL_ACCOUNT);
	if (m->buf)
		m->size = DL_GLOBAL_BUF;
	return 0;
}

/* "revoke <fd>": recall the leases and pins of the writer's file <fd> */
static ssize_t dl_global_write(struct file *file, const char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	struct file *target;
	char buf[32], *cmd;
	unsigned int fd;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	cmd = strim(buf);
	if (!str_has_prefix(cmd, "revoke ") ||
	    kstrtouint(cmd + strlen("revoke "), 10, &fd))
		return -EINVAL;
	target = fget_raw(fd);
	if (!target)
		return -EBADF;
	ret = dl_recall(file_inode(target));
	fput(target);
	return ret ?: count;
}

static const struct proc_ops dl_global_proc_ops = {
	.proc_open = dl_global_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = seq_release_private,
	.proc_write = dl_global_write,
};

int dl_report_init(void)
{
	dl_proc = proc_create("daxlease", 0600, NULL, &dl_global_proc_ops);
	return dl_proc ? 0 : -ENOMEM;
}

void dl_report_exit(void)
{
	proc_remove(dl_proc);
}
