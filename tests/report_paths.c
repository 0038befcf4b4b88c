/*
 * The paths both reports print for files that move, are unlinked or are
 * reached by another path (module/report.c prints a file in the directory
 * of the file before it in the same read(2) from that directory's text
 * and its own name, instead of another d_path(); this checks that text
 * never outlives what it names). On each fsdax file system: NFILES files
 * of 4 KiB in a directory "a", each under a 48 lease with a 4 KiB MR of
 * one ibv_context, and one more file beside "a". After each step the whole
 * of /proc/daxlease and of our /proc/self/file_pins (canonical forms,
 * tests/lib/report.h) must be exactly what readlink(2) of each file's fd
 * says: the lease lines "<pid> <fd> unbreakable live 1 <path>" with the
 * owner line "\tfile 1 <uverbs path>", and one tab line per file under
 * the uverbs fd.
 *
 * Steps: one file renamed; the directory renamed; one file unlinked
 * (" (deleted)"); a new file in the directory opened through a bind mount
 * of it (the same directory by another path: its line must name the bind
 * mount); both reports read by a child chroot()ed into the directory
 * (fds opened before: files in it from "/", the others from the real
 * root); and each report read with read(2)s of 1, 100 and 4096 bytes,
 * which must give the same bytes as one large read (NFILES makes both
 * reports longer than a page: /proc/daxlease resumes at each read(2),
 * file_pins is printed again each time seq_file grows its buffer).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain.h"
#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "proc.h"
#include "report.h"
#include "tap.h"
#include "verbs.h"

#define FILE_SIZE	4096UL
#define NFILES		150	/* file_pins > 4 KiB, /proc/daxlease > 16 KiB */
#define NALL		(NFILES + 2)	/* + the one beside "a", the bind one */
#define RENAMED		3	/* the file renamed */
#define UNLINKED	5	/* the file unlinked */
#define FS_POINTS	10

#define T_RXE		"open the rxe device"
#define T_SETUP		"%s: %d files in a directory and one beside it, each under a 48 lease with a 4 KiB MR"
#define T_FIRST		"%s: both reports name every file as readlink(2) of its fd does"
#define T_RENAME	"%s: one file renamed: both reports name it by its new name, the others unchanged"
#define T_RENAME_DIR	"%s: the directory renamed: both reports name its files under the new name"
#define T_UNLINK	"%s: one file unlinked: both reports name it with \" (deleted)\""
#define T_BIND		"%s: a new file of the directory leased and registered through a bind mount of it: named under the bind mount, the others not"
#define T_CHROOT	"%s: read by a child chroot()ed into the directory: its files from \"/\", the others from the real root, as readlink(2) there"
#define T_SIZES_GV	"%s: /proc/daxlease read with read(2)s of 1, 100 and 4096 bytes: the same bytes as one large read"
#define T_SIZES_FP	"%s: /proc/self/file_pins read with read(2)s of 1, 100 and 4096 bytes: the same bytes as one large read"
#define T_CLEAN		"%s: release everything, unmount, remove the files and directories"
#define T_RXE_CLOSE	"close the rxe device"

struct rfile {
	int fd;
	void *map;
	struct ibv_mr *mr;
};

static struct verbs v;
static pid_t holder;		/* us, also in the chroot()ed child */
static char upath[PATH_MAX];
static struct rfile files[NALL];
static char top[PATH_MAX / 2];	/* <fs>/report_paths.<pid> */
static char dir[PATH_MAX];	/* top/a, later top/b */
static char bind_dir[PATH_MAX];	/* top/c: a bind mount of dir */
static bool bound;

/* A 4 KiB file at @path (created), leased and registered into @f. */
static bool file_setup(struct rfile *f, const char *path)
{
	static const char data[FILE_SIZE];

	f->map = NULL;
	f->mr = NULL;
	f->fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (f->fd < 0) {
		diag("create %s: %s", path, errno_name(errno));
		return false;
	}
	if (pwrite(f->fd, data, FILE_SIZE, 0) != (ssize_t)FILE_SIZE ||
	    fsync(f->fd)) {
		diag("write %s: %s", path, errno_name(errno));
		return false;
	}
	if (lease_set(f->fd, F_UNBREAKABLE)) {
		diag("F_SETLEASE 48 %s: %s", path, errno_name(errno));
		return false;
	}
	f->map = file_map(f->fd, FILE_SIZE);
	if (f->map)
		f->mr = mr_reg(v.pd, f->map, FILE_SIZE);
	return f->mr;
}

static bool file_clean(struct rfile *f)
{
	bool clean = true;

	if (f->fd < 0)
		return true;
	if (mr_dereg(f->mr))
		clean = false;
	if (f->map && munmap(f->map, FILE_SIZE))
		clean = false;
	if (lease_set(f->fd, F_UNLCK)) {
		diag("F_UNLCK: %s", errno_name(errno));
		clean = false;
	}
	if (close(f->fd))
		clean = false;
	f->fd = -1;
	return clean;
}

/*
 * The reports as they must read: the paths from readlink(2) of our fds in
 * @fddir, /proc/<us>/fd (opened before a chroot: readlink(2) prints from
 * the reader's root, as the reports do).
 */
static bool expected(int fddir, char **gview, char **fpins)
{
	char link[PATH_MAX + 1], name[16], *esc;
	ssize_t n;
	int i;

	*gview = strf("%s", "");
	*fpins = strf("%d: %s\n", v.ctx->cmd_fd, upath);
	for (i = 0; i < NALL; i++) {
		if (files[i].fd < 0)
			continue;
		snprintf(name, sizeof(name), "%d", files[i].fd);
		n = readlinkat(fddir, name, link, sizeof(link) - 1);
		if (n < 0) {
			diag("readlink fd %s: %s", name, errno_name(errno));
			return false;
		}
		link[n] = '\0';
		esc = path_esc(link);
		*gview = cat_free(3, *gview,
				  gv_lease(holder, files[i].fd, true, false,
					   1, esc),
				  gv_owner(1, upath));
		*fpins = cat_free(2, *fpins, strf("\t%s\n", esc));
		free(esc);
	}
	return true;
}

/* Both reports' texts, from fds opened before (they may be read in a
 * chroot), compared with what readlink(2) says through @fddir. */
static bool reports_are(int gfd, int pfd, int fddir)
{
	char *gwant, *pwant, *gtext, *ptext, *gcanon, *pcanon, *want;
	bool same = false;

	if (!expected(fddir, &gwant, &pwant))
		goto out_want;
	gtext = fd_read_sized(gfd, 1 << 16);
	ptext = fd_read_sized(pfd, 1 << 16);
	if (!gtext || !ptext)
		diag("read the reports: %s", errno_name(errno));
	if (gtext && ptext) {
		gcanon = gview_canon(gtext, NULL);
		pcanon = fpins_canon(ptext);
		want = gview_canon(gwant, NULL);
		same = text_is(DAXLEASE_PROC, gcanon, want);
		free(want);
		want = fpins_canon(pwant);
		if (!text_is("file_pins", pcanon, want))
			same = false;
		free(want);
		free(gcanon);
		free(pcanon);
	}
	free(gtext);
	free(ptext);
out_want:
	free(gwant);
	free(pwant);
	return same;
}

/* /proc/<us>/@name: the same in the chroot()ed child, opened before */
static int proc_open(const char *name, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)holder, name);
	return open(path, flags);
}

/* Our reports now, as readlink(2) in our root says they must read. */
static bool reports_now(void)
{
	int gfd = open(DAXLEASE_PROC, O_RDONLY);
	int pfd = proc_open("file_pins", O_RDONLY);
	int fddir = proc_open("fd", O_RDONLY | O_DIRECTORY);
	bool same = false;

	if (gfd >= 0 && pfd >= 0 && fddir >= 0)
		same = reports_are(gfd, pfd, fddir);
	else
		diag("open the reports: %s", errno_name(errno));
	if (gfd >= 0)
		close(gfd);
	if (pfd >= 0)
		close(pfd);
	if (fddir >= 0)
		close(fddir);
	return same;
}

static bool rename_one(void)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 32];

	snprintf(from, sizeof(from), "%s/f%d", dir, RENAMED);
	snprintf(to, sizeof(to), "%s/f%d-renamed-longer", dir, RENAMED);
	if (rename(from, to)) {
		diag("rename %s: %s", from, errno_name(errno));
		return false;
	}
	return reports_now();
}

static bool rename_dir(void)
{
	char to[PATH_MAX];

	snprintf(to, sizeof(to), "%s/b", top);
	if (rename(dir, to)) {
		diag("rename %s: %s", dir, errno_name(errno));
		return false;
	}
	snprintf(dir, sizeof(dir), "%s", to);
	return reports_now();
}

static bool unlink_one(void)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/f%d", dir, UNLINKED);
	if (unlink(path)) {
		diag("unlink %s: %s", path, errno_name(errno));
		return false;
	}
	return reports_now();
}

static bool through_bind(void)
{
	char path[PATH_MAX + 16];

	snprintf(bind_dir, sizeof(bind_dir), "%s/c", top);
	if (mkdir(bind_dir, 0700) || mount(dir, bind_dir, NULL, MS_BIND, NULL)) {
		diag("bind mount %s on %s: %s", dir, bind_dir,
		     errno_name(errno));
		return false;
	}
	bound = true;
	snprintf(path, sizeof(path), "%s/new", bind_dir);
	if (!file_setup(&files[NALL - 1], path))
		return false;
	return reports_now();
}

/* In a child: chroot into dir, then read the reports opened before. */
static int chroot_reader(void *arg)
{
	int gfd = open(DAXLEASE_PROC, O_RDONLY);
	int pfd = proc_open("file_pins", O_RDONLY);
	int fddir = proc_open("fd", O_RDONLY | O_DIRECTORY);

	(void)arg;
	if (gfd < 0 || pfd < 0 || fddir < 0) {
		diag("child: open the reports: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (chroot(dir) || chdir("/")) {
		diag("child: chroot %s: %s", dir, errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	return reports_are(gfd, pfd, fddir) ? 0 : 1;
}

/* The report at @path read with read(2)s of @size bytes. */
static char *read_by(const char *path, size_t size)
{
	char *text;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		diag("open %s: %s", path, errno_name(errno));
		return NULL;
	}
	text = fd_read_sized(fd, size);
	if (!text)
		diag("read %s by %zu: %s", path, size, errno_name(errno));
	close(fd);
	return text;
}

static bool sizes_same(const char *path, size_t least)
{
	static const size_t sizes[] = { 1, 100, 4096 };
	char *whole = read_by(path, 1 << 20), *t, what[64];
	bool same = whole != NULL;
	size_t i;

	if (whole && strlen(whole) < least) {
		diag("%s is %zu bytes, not over %zu: it tests less than it says",
		     path, strlen(whole), least);
		same = false;
	}
	for (i = 0; same && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		t = read_by(path, sizes[i]);
		snprintf(what, sizeof(what), "read(2)s of %zu", sizes[i]);
		if (!t || !text_is(what, t, whole))
			same = false;
		free(t);
	}
	free(whole);
	return same;
}

static bool clean_fs(const char *name)
{
	char path[PATH_MAX + 32];
	bool clean = true;
	int i;

	for (i = 0; i < NALL; i++)
		if (!file_clean(&files[i]))
			clean = false;
	if (bound && umount(bind_dir)) {
		diag("umount %s: %s", bind_dir, errno_name(errno));
		clean = false;
	}
	bound = false;
	for (i = 0; i < NFILES; i++) {
		if (i == UNLINKED)
			continue;
		snprintf(path, sizeof(path), i == RENAMED ?
			 "%s/f%d-renamed-longer" : "%s/f%d", dir, i);
		if (unlink(path) && errno != ENOENT)
			clean = false;
	}
	snprintf(path, sizeof(path), "%s/new", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/beside", top);
	unlink(path);
	rmdir(bind_dir);
	if (rmdir(dir) || rmdir(top)) {
		diag("%s: rmdir: %s", name, errno_name(errno));
		clean = false;
	}
	return clean && gview_is(NULL, "");
}

static void fs_points(const struct dax_fs *fs)
{
	struct chain c = CHAIN_INIT;
	char path[PATH_MAX + 16];
	bool good;
	int i;

	for (i = 0; i < NALL; i++)
		files[i].fd = -1;
	bind_dir[0] = '\0';
	snprintf(top, sizeof(top), "%s/report_paths.%d", fs->path,
		 (int)getpid());
	snprintf(dir, sizeof(dir), "%s/a", top);
	good = fs->path && !mkdir(top, 0700) && !mkdir(dir, 0700);
	if (!good)
		diag("mkdir %s: %s", dir, errno_name(errno));
	/*
	 * Leases are listed in the order they were taken: the one beside
	 * first, so that the one through the bind mount comes right after
	 * the last one of the directory.
	 */
	snprintf(path, sizeof(path), "%s/beside", top);
	if (good)
		good = file_setup(&files[NFILES], path);
	for (i = 0; good && i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		good = file_setup(&files[i], path);
	}
	STEP(&c, good, T_SETUP, fs->name, NFILES);
	CHECK(&c, reports_now(), T_FIRST, fs->name);
	CHECK(&c, rename_one(), T_RENAME, fs->name);
	CHECK(&c, rename_dir(), T_RENAME_DIR, fs->name);
	CHECK(&c, unlink_one(), T_UNLINK, fs->name);
	CHECK(&c, through_bind(), T_BIND, fs->name);
	CHECK(&c, child_run(chroot_reader, NULL) == 0, T_CHROOT, fs->name);
	CHECK(&c, sizes_same(DAXLEASE_PROC, 16 << 10), T_SIZES_GV, fs->name);
	CHECK(&c, sizes_same("/proc/self/file_pins", 4 << 10), T_SIZES_FP,
	      fs->name);
	ok(clean_fs(fs->name), T_CLEAN, fs->name);
}

int main(void)
{
	const struct dax_fs *fs;
	bool was_loaded;

	/* module_begin(), rxe, ..., rxe, module_end() */
	plan(4 + DAX_FS_COUNT * FS_POINTS);
	holder = getpid();
	was_loaded = module_begin();
	if (!ok(!verbs_open(&v, env_rxe()) &&
		!fd_path(0, v.ctx->cmd_fd, upath, sizeof(upath)), T_RXE))
		module_bail_out(was_loaded, "no rxe device");

	for_each_dax_fs(fs)
		fs_points(fs);

	ok(!verbs_close(&v), T_RXE_CLOSE);
	module_end(was_loaded);
	return done_testing();
}
