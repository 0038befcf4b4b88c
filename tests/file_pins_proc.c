/*
 * /proc/<pid>/file_pins, daxlease loaded (design README, "/proc/<pid>/
 * file_pins" and "Lifetime"; format in module/report.c): one block per fd
 * whose file owns long-term pins, "<fd>: <owner path>" followed by one
 * "\t<pinned file>" line per pinned file (a file pinned twice by the same
 * owner is listed once; the order of the tab lines is not part of the
 * contract, blocks come in fd order), then one line per file pinned by the
 * mm. Every text is compared exactly (tests/lib/report.h); the expected
 * paths come from readlink of our own fds, escaped as seq_file_path()
 * escapes them ("\n" -> "\012", checked with such a file name).
 *
 * RDMA pins are owned by the uverbs file of the ibv_context (its cmd_fd):
 * the block follows that file under every fd that refers to it, after
 * dup2(), after moving it to another fd, in a fork child and in a process
 * that received it by SCM_RIGHTS; a second ibv_context is a second owner.
 * Reading needs ptrace-read access, else EACCES: checked as uid 65534
 * against this root process and against a uid-65534 process of another
 * gid (which the file's mode admits, so only the ptrace check refuses).
 *
 * mm-owned pins: io_uring fixed buffers (hooks/0008) are charged to the
 * mm of the registering process. The file then appears on a line of its
 * own after the fd blocks, in our file_pins but not in a fork child's (its
 * mm is another), and /proc/daxlease shows an "mm" owner under the lease.
 * Registration of a fsdax mapping nobody leased is refused with
 * EOPNOTSUPP, as for an MR and as on stock; gup_test's PIN_LONGTERM_TEST_START, an unconverted long-term
 * pinner that cannot report its unpins, stays refused with EOPNOTSUPP. A
 * process that exits with a registered buffer releases its pins when its
 * ring is torn down: the view forgets the file and truncate succeeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/magic.h>

#include "chain.h"
#include "env.h"
#include "fsdax.h"
#include "keeper.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"
#include "uring.h"
#include "verbs.h"

#define FILE_SIZE	(2UL << 20)	/* the point names say these */
#define HALF_SIZE	(1UL << 20)
#define SMALL_SIZE	(64UL << 10)
#define FILE_PAGES	512UL
#define NOBODY		65534
#define NOGROUP_OTHER	65533
#define DUP_FD		30
#define MOVED_FD	31
#define HOLDER_FD	40
#define RES_NOT_EMPTY	254	/* reader child: read worked, text not empty */

#define DEBUGFS		"/sys/kernel/debug"
#define GUP_TEST	DEBUGFS "/gup_test"

/* From mm/gup_test.h (not uapi). */
struct pin_longterm_test {
	uint64_t addr;
	uint64_t size;
	uint32_t flags;
};
#define PIN_LONGTERM_TEST_START		_IOW('g', 7, struct pin_longterm_test)
#define PIN_LONGTERM_TEST_STOP		_IO('g', 8)
#define PIN_LONGTERM_TEST_FLAG_USE_WRITE	1

/* Point names, the same whether the point runs or is skipped. */
#define T_RXE		"open the rxe device"
#define T_SETUP		"%s: create a 2 MiB file, take F_LAYOUT|F_EXCLUSIVE (48), map it MAP_SHARED"
#define T_EMPTY		"before any registration our /proc/<pid>/file_pins is empty"
#define T_REG		"%s: register the whole mapping as an MR"
#define T_BLOCK		"exactly one block: '<uverbs fd>: <uverbs path>', then one tab line per registered file"
#define T_TWICE		"a second MR of the first 1 MiB of a registered file: the file is still listed once"
#define T_ESCAPE	"a pinned file whose name contains a newline is listed with it escaped as \\012"
#define T_OWNERS	"a second ibv_context registers a file too: a second block under its own uverbs fd, blocks in fd order"
#define T_DUP		"dup2 of the uverbs fd to fd 30: the same block under both fds"
#define T_MOVED		"uverbs fd moved to fd 31 (dup2, original closed): the block only under fd 31"
#define T_FORK		"fork: the child's /proc/<pid>/file_pins equals ours (same fds, same block)"
#define T_FORK_EXIT	"the fork child exits: our file_pins unchanged"
#define T_SCM		"SCM_RIGHTS of the uverbs fd to a process holding nothing: its file_pins shows the block under the received fd"
#define T_SCM_OURS	"after the SCM_RIGHTS transfer our own file_pins is unchanged"
#define T_EACCES_ROOT	"uid/gid 65534: reading /proc/<pid>/file_pins of this root process fails with EACCES"
#define T_EACCES_GID	"uid 65534 reading a uid-65534 process of gid 65533 (mode allows, ptrace-read does not): EACCES"
#define T_SAME_IDS	"control: uid/gid 65534 reads the file_pins of a uid/gid-65534 process: readable, empty"
#define T_URING_PERM	"io_uring IORING_REGISTER_BUFFERS of an fsdax mapping nobody leased fails with EOPNOTSUPP, as stock"
#define T_URING		"io_uring IORING_REGISTER_BUFFERS of the leased 2 MiB mapping succeeds"
#define T_MM_LINE	"file_pins: the uverbs block, then the file on a line of its own for the pins of our mm"
#define T_MM_GVIEW	"/proc/daxlease: the lease counts 1024 pages, 'mm 512' beside 'file 512 <uverbs path>'"
#define T_MM_FORK	"a fork child has its own mm: its file_pins shows the uverbs block and no mm line"
#define T_GUP		"gup_test PIN_LONGTERM_TEST_START (an unconverted pinner) of the leased mapping fails with EOPNOTSUPP"
#define T_MM_UNREG	"IORING_UNREGISTER_BUFFERS: the mm line is gone, the lease counts 512 pages again"
#define T_MM_HOLDER	"a process holding a leased 2 MiB io_uring buffer: its lease line, then 'mm 512'"
#define T_MM_EXIT	"it exits: /proc/daxlease forgets the file and truncate to 0 succeeds"
#define T_DEREG		"deregister every MR: /proc/<pid>/file_pins is empty again"
#define T_CLEAN		"%s: F_UNLCK, munmap, close and unlink"
#define T_RXE_CLOSE	"close the rxe device"

struct pfile {
	const char *name;		/* "xfs", "ext4" */
	char path[PATH_MAX];
	char esc[PATH_MAX];		/* as the kernel prints it */
	int fd;
	bool leased;
	void *map;
	struct ibv_mr *mr;
};

static struct verbs v;
static char upath[PATH_MAX];		/* escaped path of the uverbs file */
static struct pfile files[DAX_FS_COUNT];
static int nfiles;

/* The first file that has an MR, or NULL. */
static struct pfile *first_pinned(void)
{
	int i;

	for (i = 0; i < nfiles; i++)
		if (files[i].mr)
			return &files[i];
	return NULL;
}

/* "<fd>: <owner>\n" and a tab line per registered file. */
static char *our_block(int fd)
{
	char *s = strf("%d: %s\n", fd, upath);
	int i;

	for (i = 0; i < nfiles; i++)
		if (files[i].mr)
			s = cat_free(2, s, strf("\t%s\n", files[i].esc));
	return s;
}

/* Our file_pins with our one owner under @fd: one call per point. */
static bool ours_is(int fd)
{
	char *want = our_block(fd);
	bool same = fpins_is(0, want);

	free(want);
	return same;
}

static void setup_file(struct pfile *f, const struct dax_fs *fs,
		       uint64_t seed)
{
	bool good = false;

	f->name = fs->name;
	f->map = NULL;
	f->mr = NULL;
	f->leased = false;
	f->fd = fs_file_create(fs->path, FILE_SIZE, seed, f->path,
			       sizeof(f->path));
	if (f->fd >= 0) {
		diag("%s: %s", fs->name, f->path);
		f->leased = !lease_set(f->fd, F_UNBREAKABLE);
		if (!f->leased)
			diag("F_SETLEASE 48: %s", errno_name(errno));
		else if (fd_path(0, f->fd, f->esc, sizeof(f->esc)) == 0)
			f->map = file_map(f->fd, FILE_SIZE);
		good = f->map != NULL;
	}
	ok(good, T_SETUP, fs->name);
}

static void clean_file(struct pfile *f)
{
	bool clean = true;

	if (f->fd < 0) {
		skip("no file", T_CLEAN, f->name);
		return;
	}
	if (mr_dereg(f->mr))
		clean = false;
	f->mr = NULL;
	if (f->leased && lease_set(f->fd, F_UNLCK)) {
		diag("F_UNLCK: %s", errno_name(errno));
		clean = false;
	}
	if (f->map && munmap(f->map, FILE_SIZE)) {
		diag("munmap: %s", errno_name(errno));
		clean = false;
	}
	if (close(f->fd)) {
		diag("close: %s", errno_name(errno));
		clean = false;
	}
	if (unlink(f->path)) {
		diag("unlink %s: %s", f->path, errno_name(errno));
		clean = false;
	}
	ok(clean, T_CLEAN, f->name);
}

/* A second MR of part of @f: the file stays listed once. */
static bool twice_listed_once(struct pfile *f)
{
	struct ibv_mr *mr2 = mr_reg(v.pd, f->map, HALF_SIZE);
	bool same;

	if (!mr2)
		return false;
	same = ours_is(v.ctx->cmd_fd);
	return !mr_dereg(mr2) && same;
}

/*
 * In the directory of @f, a 64 KiB file named "nl\n<random>": lease it,
 * register it, compare, undo everything.
 */
static bool escaped_name(struct pfile *f, uint64_t seed)
{
	char dir[PATH_MAX], path[PATH_MAX], esc[PATH_MAX], *slash, *want;
	struct ibv_mr *mr = NULL;
	void *map = NULL, *buf;
	bool same = false;
	int fd;

	snprintf(dir, sizeof(dir), "%s", f->path);
	slash = strrchr(dir, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%.*s/nl\n%08x",
			     PATH_MAX - 64, dir,
			     (unsigned int)(seed ^ getpid())) >= sizeof(path))
		return false;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		diag("create a file named nl\\n...: %s", errno_name(errno));
		return false;
	}
	buf = malloc(SMALL_SIZE);
	if (!buf)
		bail_out("out of memory");
	pattern_fill(buf, SMALL_SIZE, seed, 0);
	if (pwrite(fd, buf, SMALL_SIZE, 0) != (ssize_t)SMALL_SIZE || fsync(fd))
		diag("write the file: %s", errno_name(errno));
	else if (lease_set(fd, F_UNBREAKABLE))
		diag("F_SETLEASE 48: %s", errno_name(errno));
	else if (!fd_path(0, fd, esc, sizeof(esc)))
		map = file_map(fd, SMALL_SIZE);
	free(buf);
	if (map)
		mr = mr_reg(v.pd, map, SMALL_SIZE);
	if (mr) {
		if (!strstr(esc, "nl\\012"))
			diag("readlink of the file does not end as expected: %s",
			     esc);
		want = cat_free(2, our_block(v.ctx->cmd_fd),
				strf("\t%s\n", esc));
		same = fpins_is(0, want);
		free(want);
	}
	if (mr_dereg(mr))
		same = false;
	if (map)
		munmap(map, SMALL_SIZE);
	close(fd);
	if (unlink(path))
		diag("unlink the nl\\n file: %s", errno_name(errno));
	return same;
}

/* A second ibv_context registering @f: two blocks in fd order. */
static bool two_owners(struct pfile *f)
{
	char upath2[PATH_MAX], *b1, *b2, *want;
	struct ibv_mr *mr2 = NULL;
	struct verbs v2;
	bool same = false;
	int fd2;

	if (verbs_open(&v2, env_rxe()))
		return false;
	fd2 = v2.ctx->cmd_fd;
	if (!fd_path(0, fd2, upath2, sizeof(upath2)))
		mr2 = mr_reg(v2.pd, f->map, FILE_SIZE);
	if (mr2) {
		b1 = our_block(v.ctx->cmd_fd);
		b2 = strf("%d: %s\n\t%s\n", fd2, upath2, f->esc);
		want = fd2 > v.ctx->cmd_fd ? cat_free(2, b1, b2) :
					     cat_free(2, b2, b1);
		same = fpins_is(0, want);
		free(want);
	}
	if (mr_dereg(mr2))
		same = false;
	if (verbs_close(&v2))
		same = false;
	return same;
}

/* Both fds show the same block. */
static bool dup_shows_both(void)
{
	char *want;
	bool same;
	int fd = v.ctx->cmd_fd;

	if (dup2(fd, DUP_FD) != DUP_FD) {
		diag("dup2: %s", errno_name(errno));
		return false;
	}
	want = cat_free(2, our_block(fd), our_block(DUP_FD));
	same = fpins_is(0, want);
	free(want);
	close(DUP_FD);
	return same;
}

/* Move the context's cmd_fd to MOVED_FD. */
static bool moved_fd(void)
{
	if (fd_move(v.ctx->cmd_fd, MOVED_FD))
		return false;
	v.ctx->cmd_fd = MOVED_FD;
	return ours_is(MOVED_FD);
}

static int do_nothing(void *arg)
{
	(void)arg;
	return 0;
}

static void fork_points(struct chain *c)
{
	struct keeper k = { -1 };
	char *want = NULL;
	int r = -1;

	if (c->ok) {
		want = our_block(v.ctx->cmd_fd);
		r = keeper_start(&k, do_nothing, NULL, false, -1);
		if (r)
			diag("fork child: %s", child_result_name(r));
	}
	CHECK(c, !r && fpins_is(k.pid, want), T_FORK);
	CHECK(c, !r && !keeper_exit(&k) && fpins_is(0, want), T_FORK_EXIT);
	keeper_exit(&k);
	free(want);
}

struct receiver {
	int sock;
	int *rfd;		/* shared with us */
};

static int receive_fd(void *arg)
{
	struct receiver *r = arg;
	int fd = fd_recv(r->sock);

	if (fd < 0) {
		diag("receiver: recvmsg: %s", errno_name(errno));
		return errno ? errno : CHILD_SETUP_ERR;
	}
	*r->rfd = fd;
	return 0;
}

static void scm_points(struct chain *c)
{
	struct keeper k = { -1 };
	struct receiver rcv;
	char *want = NULL;
	int sv[2] = { -1, -1 }, *rfd = NULL, r = -1;

	if (c->ok) {
		rfd = shared_alloc(sizeof(int));
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			diag("socketpair: %s", errno_name(errno));
		else if (fd_send(sv[0], v.ctx->cmd_fd))
			diag("sendmsg SCM_RIGHTS: %s", errno_name(errno));
		else if (rfd) {
			rcv.sock = sv[1];
			rcv.rfd = rfd;
			*rfd = -1;
			r = keeper_start(&k, receive_fd, &rcv, true, sv[1]);
			if (r)
				diag("receiver: %s", child_result_name(r));
		}
	}
	if (!r) {
		diag("the receiver got the uverbs file as fd %d", *rfd);
		want = our_block(*rfd);
	}
	CHECK(c, !r && fpins_is(k.pid, want), T_SCM);
	free(want);
	want = our_block(v.ctx->cmd_fd);
	CHECK(c, !r && fpins_is(0, want), T_SCM_OURS);
	free(want);
	keeper_exit(&k);
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	if (rfd)
		munmap(rfd, sizeof(int));
}

/* Reader child: read /proc/<pid>/file_pins as @ids; 0 if empty. */
struct reader {
	pid_t pid;
	gid_t gid;
};

static int read_as_nobody(void *arg)
{
	struct reader *rd = arg;
	char name[64], *text;
	const char *step;
	int err;

	err = drop_ids(NOBODY, rd->gid);
	if (err) {
		diag("reader: dropping to uid/gid %d/%d: %s", NOBODY,
		     (int)rd->gid, errno_name(err));
		return CHILD_SETUP_ERR;
	}
	snprintf(name, sizeof(name), "/proc/%d/file_pins", (int)rd->pid);
	text = text_read(name, &step);
	if (!text) {
		err = errno;
		diag("reader: %s %s: %s", step, name, errno_name(err));
		return err;
	}
	err = *text ? RES_NOT_EMPTY : 0;
	if (err)
		diag("reader: %s is not empty", name);
	free(text);
	return err;
}

/* Keeper: become uid 65534 with gid @arg, dumpable. */
static int become(void *arg)
{
	gid_t gid = *(gid_t *)arg;
	int err = drop_ids(NOBODY, gid);

	if (err) {
		diag("keeper: dropping to %d/%d: %s", NOBODY, (int)gid,
		     errno_name(err));
		return CHILD_SETUP_ERR;
	}
	/* credential changes clear the dumpable flag */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return errno;
	return 0;
}

static const char *res_name(int r)
{
	return r == RES_NOT_EMPTY ? "readable but not empty" :
				    child_result_name(r);
}

static void access_points(void)
{
	struct reader rd = { getpid(), NOBODY };
	gid_t other = NOGROUP_OTHER, same = NOBODY;
	struct keeper k = { -1 };
	int r;

	r = child_run(read_as_nobody, &rd);
	if (r != EACCES)
		diag("reader: %s, expected EACCES", res_name(r));
	ok(r == EACCES, T_EACCES_ROOT);

	r = keeper_start(&k, become, &other, true, -1);
	if (r) {
		diag("target: %s", child_result_name(r));
	} else {
		rd.pid = k.pid;
		r = child_run(read_as_nobody, &rd);
		if (r != EACCES)
			diag("reader: %s, expected EACCES", res_name(r));
	}
	ok(r == EACCES, T_EACCES_GID);
	keeper_exit(&k);

	r = keeper_start(&k, become, &same, true, -1);
	if (r) {
		diag("target: %s", child_result_name(r));
	} else {
		rd.pid = k.pid;
		r = child_run(read_as_nobody, &rd);
		if (r)
			diag("reader: %s, expected success",
			     res_name(r));
	}
	ok(r == 0, T_SAME_IDS);
	keeper_exit(&k);
}

/*
 * gup_test's long-term pin of @f's mapping: 0 or the errno, -1 if gup_test
 * is not there (*@why says why). Mounts debugfs for it if needed.
 */
static int gup_test_pin(struct pfile *f, const char **why)
{
	struct pin_longterm_test t = {
		.addr = (uintptr_t)f->map,
		.size = FILE_SIZE,
		.flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE,
	};
	bool mounted = false;
	struct statfs sfs;
	int fd, r, err;

	if (statfs(DEBUGFS, &sfs) || sfs.f_type != DEBUGFS_MAGIC) {
		if (mount("debugfs", DEBUGFS, "debugfs", 0, NULL) == 0)
			mounted = true;
		else
			diag("mount debugfs: %s", errno_name(errno));
	}
	fd = open(GUP_TEST, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		diag("open %s: %s", GUP_TEST, errno_name(errno));
		*why = "no " GUP_TEST;
		err = -1;
		goto out;
	}
	r = ioctl(fd, PIN_LONGTERM_TEST_START, &t);
	err = r ? errno : 0;
	if (!r) {
		diag("PIN_LONGTERM_TEST_START of the leased mapping succeeded");
		ioctl(fd, PIN_LONGTERM_TEST_STOP);
	} else if (err != EOPNOTSUPP) {
		diag("PIN_LONGTERM_TEST_START: %s, expected EOPNOTSUPP",
		     errno_name(err));
	}
	close(fd);
out:
	if (mounted && umount(DEBUGFS))
		diag("umount %s: %s", DEBUGFS, errno_name(errno));
	return err;
}

/*
 * The global view of @f: our lease, the uverbs owner's 512 pages and, if
 * @mm_pages, an mm owner line.
 */
static bool our_gview_is(struct pfile *f, unsigned long mm_pages)
{
	char *want = cat_free(3, gv_lease(getpid(), f->fd, true, false,
					  FILE_PAGES + mm_pages, f->esc),
			      gv_owner(FILE_PAGES, upath),
			      mm_pages ? strf("\tmm %lu\n", mm_pages) :
					 strf("%s", ""));
	bool same = gview_is(f->esc, want);

	free(want);
	return same;
}

/* A fsdax file of @f's filesystem that nobody leased: EOPNOTSUPP. */
static bool uring_unleased(struct pfile *f, int ring)
{
	char dir[PATH_MAX], path[PATH_MAX], *slash;
	void *map = NULL;
	bool refused = false;
	int fd;

	snprintf(dir, sizeof(dir), "%s", f->path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	fd = fs_file_create(dir, SMALL_SIZE, 1, path, sizeof(path));
	if (fd >= 0)
		map = file_map(fd, SMALL_SIZE);
	if (map) {
		refused = uring_register_is(ring, map, SMALL_SIZE,
					     EOPNOTSUPP);
		munmap(map, SMALL_SIZE);
	}
	if (fd >= 0 && !file_close_unlink(fd, path))
		refused = false;
	return refused;
}

/* Keeper: lease, map and register the file at @arg in a ring; keep it. */
static int uring_holder(void *arg)
{
	const char *path = arg;
	void *map;
	int fd, ring;

	fd = open(path, O_RDWR);
	if (fd < 0 || dup2(fd, HOLDER_FD) < 0)
		return errno;
	close(fd);
	if (lease_set(HOLDER_FD, F_UNBREAKABLE))
		return errno;
	map = file_map(HOLDER_FD, FILE_SIZE);
	ring = uring_new();
	if (!map || ring < 0)
		return CHILD_SETUP_ERR;
	return uring_register(ring, map, FILE_SIZE);
}

/*
 * A process that exits with a registered buffer on a file it leased: while
 * it lives the global view shows its lease with an "mm" owner and rmmod is
 * refused; after its exit the ring is torn down, the view forgets the file
 * and truncate succeeds.
 */
static void uring_exit_points(struct chain *c, struct pfile *f)
{
	char dir[PATH_MAX], path[PATH_MAX], esc[PATH_MAX], *slash, *want;
	struct keeper k = { -1 };
	int fd = -1, r = -1;

	if (c->ok) {
		snprintf(dir, sizeof(dir), "%s", f->path);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		fd = fs_file_create(dir, FILE_SIZE, 2, path, sizeof(path));
		if (fd >= 0 && !fd_path(0, fd, esc, sizeof(esc)))
			r = keeper_start(&k, uring_holder, path, true, -1);
		if (r)
			diag("holder: %s", child_result_name(r));
	}
	want = !r ? cat_free(2, gv_lease(k.pid, HOLDER_FD, true, false,
					 FILE_PAGES, esc),
			     strf("\tmm %lu\n", FILE_PAGES)) : NULL;
	CHECK(c, !r && gview_is(esc, want), T_MM_HOLDER);
	free(want);
	CHECK(c, !keeper_exit(&k) && gview_becomes(esc, "", SETTLE_MS) &&
	      truncate_other(path, 0) == 0, T_MM_EXIT);
	keeper_kill(&k);
	if (fd >= 0)
		file_close_unlink(fd, path);
}

static void mm_points(struct chain *c)
{
	struct pfile *f = first_pinned();
	const char *why = NULL;
	char *want = NULL;
	struct keeper k = { -1 };
	int ring = -1, r;

	if (!f)
		chain_break(c, "no MR");
	if (c->ok)
		ring = uring_new();
	CHECK(c, uring_unleased(f, ring), T_URING_PERM);
	CHECK(c, uring_register_is(ring, f->map, FILE_SIZE, 0), T_URING);

	if (c->ok)
		want = cat_free(2, our_block(v.ctx->cmd_fd),
				strf("%s\n", f->esc));
	CHECK(c, fpins_is(0, want), T_MM_LINE);
	free(want);
	CHECK(c, our_gview_is(f, FILE_PAGES), T_MM_GVIEW);

	r = c->ok ? keeper_start(&k, do_nothing, NULL, false, -1) : -1;
	if (c->ok && r)
		diag("fork child: %s", child_result_name(r));
	want = c->ok ? our_block(v.ctx->cmd_fd) : NULL;
	CHECK(c, !r && fpins_is(k.pid, want), T_MM_FORK);
	free(want);
	keeper_exit(&k);

	r = c->ok ? gup_test_pin(f, &why) : -1;
	if (c->ok && r < 0)
		skip(why, T_GUP);
	else
		CHECK(c, r == EOPNOTSUPP, T_GUP);

	CHECK(c, uring_unregister(ring) && ours_is(v.ctx->cmd_fd) &&
	      our_gview_is(f, 0), T_MM_UNREG);
	if (ring >= 0)
		close(ring);
	uring_exit_points(c, f);
}

int main(void)
{
	struct chain c = CHAIN_INIT;
	const struct dax_fs *fs;
	bool was_loaded, all;
	uint64_t seed;
	int i;

	plan(2 + 2 * DAX_FS_COUNT + 1 + 6 + 2 + 2 + 3 + 9 + 1 +
	     DAX_FS_COUNT + 2);
	seed = pattern_seed();

	was_loaded = module_begin();
	if (!ok(!verbs_open(&v, env_rxe()) &&
		!fd_path(0, v.ctx->cmd_fd, upath, sizeof(upath)), T_RXE))
		module_bail_out(was_loaded, "no rxe device");
	diag("uverbs file %s at fd %d", upath, v.ctx->cmd_fd);

	nfiles = 0;
	for_each_dax_fs(fs)
		setup_file(&files[nfiles++], fs, seed);

	ok(fpins_is(0, ""), T_EMPTY);

	for (i = 0; i < nfiles; i++) {
		if (!files[i].map) {
			skip("no mapping", T_REG, files[i].name);
			continue;
		}
		files[i].mr = mr_reg(v.pd, files[i].map, FILE_SIZE);
		ok(files[i].mr, T_REG, files[i].name);
	}
	if (!first_pinned())
		chain_break(&c, "no MR");

	CHECK(&c, ours_is(v.ctx->cmd_fd), T_BLOCK);
	CHECK(&c, twice_listed_once(first_pinned()), T_TWICE);
	CHECK(&c, escaped_name(first_pinned(), seed), T_ESCAPE);
	CHECK(&c, two_owners(first_pinned()), T_OWNERS);
	CHECK(&c, dup_shows_both(), T_DUP);
	CHECK(&c, moved_fd(), T_MOVED);
	fork_points(&c);
	scm_points(&c);
	access_points();
	mm_points(&c);

	all = true;
	for (i = 0; i < nfiles; i++) {
		if (mr_dereg(files[i].mr))
			all = false;
		files[i].mr = NULL;
	}
	ok(all && fpins_is(0, ""), T_DEREG);

	for (i = 0; i < nfiles; i++)
		clean_file(&files[i]);

	ok(!verbs_close(&v), T_RXE_CLOSE);
	module_end(was_loaded);
	return done_testing();
}
