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
#include <linux/dcache.h>
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
#include <linux/wordpart.h>

#include "daxlease.h"

static struct proc_dir_entry *dl_proc;

/* Does @s[0..@len) hold a newline?  A word at a time: paths are long. */
static bool dl_has_newline(const char *s, size_t len)
{
	const unsigned long ones = REPEAT_BYTE(0x01), nl = REPEAT_BYTE('\n');
	unsigned long w;

	for (; len >= sizeof(w); s += sizeof(w), len -= sizeof(w)) {
		memcpy(&w, s, sizeof(w));
		w ^= nl;
		if ((w - ones) & ~w & REPEAT_BYTE(0x80))
			return true;
	}
	return memchr(s, '\n', len);
}

/*
 * The text of the directory of the last path printed, so that the next
 * path in the same directory (leased files typically are many in one) is
 * printed as that text and its own name rather than by another d_path(),
 * which was half of a /proc/daxlease record's time.  Used only while the
 * directory cannot be freed (the caller's RCU read-side section, or a
 * path reference held on a file in it: no other directory can take the
 * address) and while rename_lock has not moved since the text was taken:
 * a rename anywhere makes the next path a d_path() again.  An unlinked
 * file (" (deleted)") is always a d_path().  A mount or umount meanwhile
 * is not seen (mount_lock is not exported): the lines printed after it in
 * the same read(2) of /proc/daxlease or listing of file_pins read as they
 * would have a moment before, when the text was taken.
 */
struct dl_dir_text {
	const struct dentry *dir;	/* NULL: none */
	const struct vfsmount *mnt;
	unsigned int seq;		/* rename_lock's when taken */
	unsigned int len;
	char text[128];			/* with the final '/' */
};

/* Print @path as @dt's text and its name if it is in @dt's directory. */
static bool dl_seq_path_in_dir(struct seq_file *m, const struct path *path,
			       struct dl_dir_text *dt)
{
	struct dentry *dentry = path->dentry;
	size_t room, len;
	char *buf;
	bool ok;

	if (path->mnt != dt->mnt || dentry == path->mnt->mnt_root)
		return false;
	room = seq_get_buf(m, &buf);
	spin_lock(&dentry->d_lock);	/* the name and parent: d_move() */
	len = dentry->d_name.len;
	ok = dentry->d_parent == dt->dir && !d_unlinked(dentry) &&
	     room > dt->len + len;
	if (ok)
		memcpy(buf + dt->len, dentry->d_name.name, len);
	spin_unlock(&dentry->d_lock);
	if (read_seqretry(&rename_lock, dt->seq)) {
		dt->dir = NULL;
		return false;
	}
	if (!ok || dl_has_newline(buf + dt->len, len))
		return false;
	memcpy(buf, dt->text, dt->len);
	seq_commit(m, dt->len + len);
	return true;
}

/*
 * Keep the directory part of @text (@len bytes, d_path() of @path with
 * rename_lock at @seq before it) in @dt if the text is that directory's,
 * a '/' and the file's name: not for an unlinked file, a file that is the
 * root of its mount (a bind mount of a file: its last name is the mount
 * point's) or a name d_dname() makes up.
 */
static void dl_dir_text_take(struct dl_dir_text *dt, const struct path *path,
			     const char *text, size_t len, unsigned int seq)
{
	struct dentry *dentry = path->dentry;
	struct dentry *parent;
	size_t dlen;
	bool ok;

	dt->dir = NULL;
	if (dentry == path->mnt->mnt_root ||
	    (dentry->d_op && dentry->d_op->d_dname))
		return;
	spin_lock(&dentry->d_lock);
	parent = dentry->d_parent;
	dlen = len - dentry->d_name.len;
	ok = !d_unlinked(dentry) && len > dentry->d_name.len &&
	     dlen <= sizeof(dt->text) && text[dlen - 1] == '/' &&
	     !memcmp(text + dlen, dentry->d_name.name, dentry->d_name.len);
	spin_unlock(&dentry->d_lock);
	if (!ok || read_seqretry(&rename_lock, seq))
		return;
	dt->dir = parent;
	dt->mnt = path->mnt;
	dt->seq = seq;
	dt->len = dlen;
	memcpy(dt->text, text, dlen);
}

/*
 * seq_path(@m, @path, "\n") without its byte-by-byte escaping pass when the
 * path holds no newline, as nearly every path does: then the text d_path()
 * left at the end of the seq_file buffer only moves into place.  With @dt,
 * a path in the directory of the one before is its directory's text and
 * its name (above).
 */
static void dl_seq_path(struct seq_file *m, const struct path *path,
			struct dl_dir_text *dt)
{
	unsigned int seq = 0;
	char *buf, *p;
	size_t size;
	int len;

	if (dt) {
		if (dt->dir && dl_seq_path_in_dir(m, path, dt))
			return;
		seq = read_seqbegin(&rename_lock);
	}
	size = seq_get_buf(m, &buf);
	if (size) {
		p = d_path(path, buf, size);
		len = IS_ERR(p) ? 0 : buf + size - 1 - p;
		if (len && !dl_has_newline(p, len)) {
			memmove(buf, p, len);
			if (dt)
				dl_dir_text_take(dt, path, buf, len, seq);
			seq_commit(m, len);
			return;
		}
	}
	seq_path(m, path, "\n");
}

/* the path a lease's file had when it was taken (dl_lock) */
static const struct path *dl_lease_path(struct dl_lease *dl)
{
	return dl->file ? &dl->file->f_path : &dl->path;
}

/*
 * Each listing of an owner is a pass (dl_lock); an inode stamped with the
 * current pass was listed already. O(1) per record: an owner may pin
 * thousands of files.
 */
static unsigned long dl_show_pass;

/*
 * Would @n lines about as long as @path's fit in what is left of the
 * seq_file buffer?  /proc/<pid>/file_pins is a single_open() file:
 * seq_file runs the whole show again each time its buffer doubles, so
 * the lines of an owner of 10,000 files were printed eight times over.
 * Saying "full" before printing them costs one path instead.
 * The files of one owner are typically named alike; a wrong guess costs
 * a larger buffer or one more doubling, never a wrong text.
 */
static bool dl_lines_fit(struct seq_file *m, const struct path *path,
			 size_t n)
{
	size_t room = m->size - m->count;
	char buf[256], *p;
	size_t len;

	if (room / sizeof(buf) >= n)
		return true;
	p = d_path(path, buf, sizeof(buf));
	/* + 1: the tab; the NUL stands for the newline */
	len = IS_ERR(p) ? sizeof(buf) : buf + sizeof(buf) - p + 1;
	return room / len >= n;
}

/*
 * Pins owned by @file (at @fd) or, if @file is NULL, by @mm.  The owner's
 * files are collected under dl_lock as path references (no printing, no
 * d_path(): a reference count each) and printed after it is dropped, so a
 * reader of a long list holds up pins and leases for microseconds, not for
 * the time the text takes.  Leaves the buffer full (seq_has_overflowed())
 * if the lines would not fit.
 */
static void dl_show_owner(struct seq_file *m, struct file *file,
			  unsigned int fd, struct mm_struct *mm)
{
	void *key = file ? (void *)file : (void *)mm;
	struct path *paths = NULL, *p, first;
	size_t max = 0, want, n, i;
	struct dl_dir_text dir;
	struct dl_owner *owner;
	struct dl_pin *rec;
	unsigned long pass;
	bool fits;

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
		rec = list_first_entry(&owner->pins, struct dl_pin, owner_link);
		first = *dl_lease_path(rec->lease);
		path_get(&first);
		spin_unlock(&dl_lock);
		kvfree(paths);
		fits = dl_lines_fit(m, &first, want + 1);
		path_put(&first);
		if (!fits) {
			seq_commit(m, -1);
			return;
		}
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
		*p = *dl_lease_path(rec->lease);
		path_get(p);
	}
	spin_unlock(&dl_lock);

	if (file) {
		seq_printf(m, "%u: ", fd);
		dl_seq_path(m, &file->f_path, NULL);
		seq_putc(m, '\n');
	}
	/* the references pin the directories @dir may name until the end */
	dir.dir = NULL;
	for (i = 0; i < n && !seq_has_overflowed(m); i++) {
		if (file)
			seq_putc(m, '\t');
		dl_seq_path(m, &paths[i], &dir);
		seq_putc(m, '\n');
	}
	for (i = 0; i < n; i++)
		path_put(&paths[i]);
	kvfree(paths);
}

/*
 * The next file of @task from fd *@fd on that owns pins, with a reference,
 * and its fd in *@fd; NULL after the last.  The other fds (in a process
 * that pins thousands of files, mostly those files') are passed over with
 * a lockless look at the owner hash under RCU, as fget_task_next() walks
 * the table, rather than a reference and dl_lock each; dl_show_owner()
 * looks again under dl_lock.
 */
static struct file *dl_next_owner_file(struct task_struct *task,
				       unsigned int *fd)
{
	struct files_struct *files;
	struct file *file;
	unsigned int n = *fd;
	bool found = false;

	rcu_read_lock();
	task_lock(task);
	files = task->files;
	if (files) {
		for (; n < files_fdtable(files)->max_fds; n++) {
			file = files_lookup_fd_raw(files, n);
			if (file && dl_owner_find(file)) {
				found = true;
				break;
			}
		}
	}
	task_unlock(task);
	rcu_read_unlock();
	*fd = n;
	return found ? fget_task_next(task, fd) : NULL;
}

int dl_proc_show(struct seq_file *m, struct task_struct *task)
{
	struct mm_struct *mm;
	struct file *file;
	unsigned int fd;

	for (fd = 0; ; fd++) {
		file = dl_next_owner_file(task, &fd);
		if (!file)
			break;
		dl_show_owner(m, file, fd, NULL);
		fput(file);
		if (seq_has_overflowed(m))
			return 0;
	}

	mm = get_task_mm(task);
	if (mm) {
		dl_show_owner(m, NULL, 0, mm);
		mmput(mm);
	}
	return 0;
}

/*
 * What one read(2) of /proc/daxlease keeps, from ->start() to ->stop()
 * (m->private): the text of the directory of the last lease's file, and
 * the path of the owner whose file was printed last, since thousands of
 * leases are typically pinned through one uverbs file.  Owners are freed
 * after an RCU grace period, so no other owner can take the address
 * meanwhile, and an owner's file only ever goes to NULL.
 */
struct dl_global_read {
	struct dl_dir_text dir;
	struct dl_owner *owner;
	struct file *file;
	unsigned int len;
	char text[128];
};

static void dl_show_owner_path(struct seq_file *m, struct dl_owner *owner)
{
	struct dl_global_read *last = m->private;
	size_t from = m->count;

	if (last->owner == owner && last->file == owner->file) {
		seq_write(m, last->text, last->len);
		return;
	}
	dl_seq_path(m, &owner->file->f_path, NULL);
	if (seq_has_overflowed(m) || m->count - from > sizeof(last->text))
		return;
	last->owner = owner;
	last->file = owner->file;
	last->len = m->count - from;
	memcpy(last->text, m->buf + from, last->len);
}

/*
 * Room for @max bytes at the end of the seq_file buffer, or NULL with the
 * buffer marked full (seq_file then retries the record in a larger buffer
 * or in the next read(2)).  The caller writes there and seq_commit()s.
 */
static char *dl_seq_room(struct seq_file *m, size_t max)
{
	char *buf;

	if (seq_get_buf(m, &buf) >= max)
		return buf;
	seq_commit(m, -1);
	return NULL;
}

/* @len bytes of @s at @p; returns the end */
static char *dl_put(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

/* a string literal */
#define dl_put_lit(p, s)	dl_put(p, s, sizeof(s) - 1)

/* @v in decimal at @p; returns the end */
static char *dl_put_dec(char *p, unsigned long long v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* @v in hex, at least two digits, as "%02x"; returns the end */
static char *dl_put_hex2(char *p, unsigned int v)
{
	char tmp[2 * sizeof(v)];
	int n = 0;

	do {
		tmp[n++] = hex_asc[v & 0xf];
		v >>= 4;
	} while (v || n < 2);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* "\tclosed <20 digits> " */
#define DL_OWNER_PREFIX_MAX	32

static void dl_show_lease_owners(struct seq_file *m, struct dl_lease *dl)
{
	struct dl_owner *owner;
	struct dl_pin *rec;
	char *buf, *p;

	list_for_each_entry(rec, &dl->pins, lease_link) {
		owner = rec->owner;
		buf = dl_seq_room(m, DL_OWNER_PREFIX_MAX);
		if (!buf)
			return;
		p = buf;
		if (owner->mm)
			p = dl_put_lit(p, "\tmm ");
		else if (owner->file)
			p = dl_put_lit(p, "\tfile ");
		else
			p = dl_put_lit(p, "\tclosed ");
		p = dl_put_dec(p, rec->npages);
		if (owner->file && !owner->mm) {
			*p++ = ' ';
			seq_commit(m, p - buf);
			dl_show_owner_path(m, owner);
		} else {
			seq_commit(m, p - buf);
		}
		seq_putc(m, '\n');
	}
}

/*
 * Does fd @fd of @task still refer to @file?  Only then is the fd worth
 * printing: it may have been closed or dup2()ed over.  A look at the fd
 * table under RCU (the caller's) and task_lock(), as /proc/<pid>/fdinfo
 * does, without taking a reference: only the pointer is compared.  @file
 * is not freed meanwhile if the caller then finds the lease still live.
 */
static bool dl_task_fd_is(struct task_struct *task, int fd, struct file *file)
{
	struct files_struct *files;
	bool same = false;

	if (!task || fd < 0 || !file)
		return false;
	task_lock(task);
	files = task->files;
	if (files)
		same = files_lookup_fd_raw(files, fd) == file;
	task_unlock(task);
	return same;
}

/*
 * "<pid> <fd> <kind> <state> <pages> <dev>:<ino> " at most: 10 digits for
 * a pid, 10 for an fd, 20 for pages and an inode, 3 and 5 hex digits for a
 * major and minor.
 */
#define DL_LEASE_PREFIX_MAX	112

/*
 * One lease and its owners; dl_lock is held for this record only.  The
 * text is written straight into the seq_file buffer: seq_printf()'s format
 * parsing, then the seq_put_*() helpers' calls, were a good part of a
 * record's time, and a record is printed under dl_lock.
 */
static void dl_global_show_one(struct seq_file *m, struct dl_lease *dl,
			       struct pid_namespace *ns)
{
	struct task_struct *task;
	struct inode *inode;
	bool fd_ok;
	char *buf, *p;

	/* RCU from ->start() */
	task = pid_task(dl->tgid, PIDTYPE_TGID);
	fd_ok = dl_task_fd_is(task, dl->fd, READ_ONCE(dl->file));

	spin_lock(&dl_lock);
	if (dl->state != DL_LIVE && dl->state != DL_ORPHANED)
		goto out;
	buf = dl_seq_room(m, DL_LEASE_PREFIX_MAX);
	if (!buf)
		goto out;
	p = buf;
	if (task)
		p = dl_put_dec(p, pid_nr_ns(dl->tgid, ns));
	else
		*p++ = '-';
	*p++ = ' ';
	if (fd_ok && dl->state == DL_LIVE)
		p = dl_put_dec(p, dl->fd);
	else
		*p++ = '-';
	if (dl->unbreakable)
		p = dl_put_lit(p, " unbreakable");
	else
		p = dl_put_lit(p, " breakable");
	if (dl->state == DL_ORPHANED)
		p = dl_put_lit(p, " orphaned ");
	else
		p = dl_put_lit(p, " live ");
	p = dl_put_dec(p, dl->npages);
	*p++ = ' ';
	inode = dl->inode;
	p = dl_put_hex2(p, MAJOR(inode->i_sb->s_dev));
	*p++ = ':';
	p = dl_put_hex2(p, MINOR(inode->i_sb->s_dev));
	*p++ = ':';
	/* i_ino: unsigned long on 6.12, u64 on 7.x */
	p = dl_put_dec(p, inode->i_ino);
	*p++ = ' ';
	seq_commit(m, p - buf);
	dl_seq_path(m, dl_lease_path(dl),
		    &((struct dl_global_read *)m->private)->dir);
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
	struct dl_global_read *last = m->private;

	rcu_read_lock();
	last->owner = NULL;
	last->dir.dir = NULL;
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
			       sizeof(struct dl_global_read));
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
