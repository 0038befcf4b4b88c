/*
 * Short-term pins keep their stock behaviour with daxlease loaded (design
 * README: "layout change with only short-term pins (O_DIRECT into a DAX
 * mapping): waits, as stock"). As fstests generic/503 (src/t_mmap_collision.c)
 * does, a thread keeps O_DIRECT-reading into a MAP_SHARED mapping of a
 * 16 KiB fsdax file, which pins the file's DAX pages for each read (GUP
 * without FOLL_LONGTERM); meanwhile the main thread changes the file's
 * layout for a second. No lease is held anywhere: every layout change must
 * return 0 (it may wait for the pins, never fail with ETXTBSY or EDEADLK),
 * each under a SIGALRM guard so that one waiting for good fails with EINTR.
 *
 * The O_DIRECT source is the filesystem's own block device (read only):
 * the DAX file itself has no page-cache O_DIRECT path, and tmpfs O_DIRECT
 * copies without pinning the user buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "keeper.h"
#include "kmod.h"
#include "pattern.h"
#include "proc.h"
#include "tap.h"

#define PAGE		4096UL
#define FILE_SIZE	(4 * PAGE)	/* the point names say it */
#define RUN_MS		1000
#define OP_TIMEOUT_S	CHILD_TIMEOUT_S

struct stp_op {
	const char *name;
	int (*run)(int fd);	/* 0 or an errno value */
};

static int op_punch(int fd)
{
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			 FILE_SIZE) ? errno : 0;
}

static int op_zero(int fd)
{
	return fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0,
			 FILE_SIZE) ? errno : 0;
}

static int op_truncate(int fd)
{
	if (ftruncate(fd, 0))
		return errno;
	return fallocate(fd, 0, 0, FILE_SIZE) ? errno : 0;
}

static int op_collapse(int fd)
{
	if (fallocate(fd, 0, 0, FILE_SIZE))
		return errno;
	if (fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, PAGE))
		return errno;
	return fallocate(fd, 0, 0, FILE_SIZE) ? errno : 0;
}

static const struct stp_op ops[] = {
	{ "fallocate PUNCH_HOLE|KEEP_SIZE of the whole file", op_punch },
	{ "fallocate ZERO_RANGE|KEEP_SIZE of the whole file", op_zero },
	{ "ftruncate to 0 and fallocate back", op_truncate },
	{ "fallocate, COLLAPSE_RANGE of the first page, fallocate", op_collapse },
};

#define N_OPS		(sizeof(ops) / sizeof(ops[0]))
#define FS_POINTS	(7 + N_OPS)

/* Point names, the same whether the point runs or is skipped. */
#define T_CREATE	"%s: create a 16 KiB file holding the pattern"
#define T_DAX		"%s: file is DAX (statx STATX_ATTR_DAX)"
#define T_BDEV		"%s: open the filesystem's block device O_RDONLY|O_DIRECT"
#define T_MAP		"%s: MAP_SHARED mapping of the file"
#define T_DIO		"%s: no lease: an O_DIRECT read into the mapping succeeds"
#define T_OP		"%s: 1 s of %s under O_DIRECT reads into the mapping: every call returns 0"
#define T_WAIT		"%s: a page of the mapping held in a pipe by vmsplice(2) (a GUP reference, as O_DIRECT takes): another process's ftruncate to 0 is still waiting 1 s later, and returns 0 once the pipe is drained"
#define T_CLEAN		"%s: munmap, close and unlink"

struct reader {
	int bdev;
	void *map;
	bool stop;		/* __atomic */
	unsigned long reads, complete;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	sigset_t set;

	/* The main thread's SIGALRM guard is for its calls, not ours. */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		/* Fails with EFAULT while the file is shorter: fine. */
		if (pread(r->bdev, r->map, FILE_SIZE, 0) == FILE_SIZE)
			r->complete++;
		r->reads++;
	}
	return NULL;
}

/* The block device under the mount @mnt, O_RDONLY|O_DIRECT; -1 + diag. */
static int open_bdev(const char *mnt)
{
	char path[PATH_MAX], line[256], *name = NULL;
	struct stat st;
	FILE *f;
	int fd;

	if (stat(mnt, &st)) {
		diag("stat %s: %s", mnt, errno_name(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent",
		 major(st.st_dev), minor(st.st_dev));
	f = fopen(path, "r");
	if (!f) {
		diag("%s: %s", path, errno_name(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "DEVNAME=", 8)) {
			name = line + 8;
			name[strcspn(name, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
	if (!name) {
		diag("no DEVNAME in %s", path);
		return -1;
	}
	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		diag("open %s O_DIRECT: %s", path, errno_name(errno));
	else
		diag("O_DIRECT source: %s", path);
	return fd;
}

static void run_op(const char *n, const struct stp_op *op, int fd, int bdev,
		   void *map)
{
	struct reader r = { .bdev = bdev, .map = map };
	unsigned long calls = 0, failed = 0;
	int err, first_err = 0;
	pthread_t thread;
	long long end;

	err = pthread_create(&thread, NULL, reader_fn, &r);
	if (err) {
		diag("pthread_create: %s", errno_name(err));
		ok(false, T_OP, n, op->name);
		return;
	}
	end = clock_ms() + RUN_MS;
	while (clock_ms() < end) {
		timeout_arm(OP_TIMEOUT_S);
		err = op->run(fd);
		timeout_disarm();
		calls++;
		if (err && !failed++)
			first_err = err;
		usleep(rand() % 1000);
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);

	diag("%s: %s: %lu calls; %lu O_DIRECT reads, %lu complete", n,
	     op->name, calls, r.reads, r.complete);
	if (failed)
		diag("%lu calls failed, the first with %s", failed,
		     errno_name(first_err));
	if (!r.complete)
		diag("no O_DIRECT read completed: nothing was pinned");
	ok(calls && !failed && r.complete, T_OP, n, op->name);
}

/*
 * The calls above return 0, which cannot tell a wait from no wait. Hold a
 * reference for as long as we choose: vmsplice() a page of the mapping
 * into a pipe (the pipe keeps the GUP reference until it is read), and
 * check that a truncate waits for it.
 */
static bool truncate_waits(int fd, void *map)
{
	struct iovec iov = { .iov_base = map, .iov_len = PAGE };
	char buf[PAGE];
	bool pass = true;
	int p[2], status;
	pid_t pid;

	if (pipe(p)) {
		diag("pipe: %s", errno_name(errno));
		return false;
	}
	if (vmsplice(p[1], &iov, 1, 0) != (ssize_t)PAGE) {
		diag("vmsplice: %s", errno_name(errno));
		close(p[0]);
		close(p[1]);
		return false;
	}
	pid = fork();
	if (!pid) {
		alarm(30);
		_exit(ftruncate(fd, 0) ? errno : 0);
	}
	sleep_ms(1000);
	if (pid < 0 || waitpid(pid, &status, WNOHANG)) {
		diag("the truncate did not wait for the reference");
		pass = false;
	}
	/* drain: the pipe buffer goes, and with it the page reference */
	if (read(p[0], buf, sizeof(buf)) != sizeof(buf)) {
		diag("read pipe: %s", errno_name(errno));
		pass = false;
	}
	close(p[0]);
	close(p[1]);
	if (pid > 0 && pass) {
		if (wait_bounded(pid, &status, REAP_MS))
			return false;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			diag("ftruncate: %s", WIFEXITED(status) ?
			     errno_name(WEXITSTATUS(status)) : "killed");
			pass = false;
		}
	} else if (pid > 0) {
		kill_reap(pid);
	}
	if (ftruncate(fd, FILE_SIZE))
		diag("ftruncate back: %s", errno_name(errno));
	return pass;
}

static void test_fs(const struct dax_fs *fs, uint64_t seed)
{
	const char *n = fs->name;
	char path[PATH_MAX];
	void *map = NULL;
	bool clean = true;
	unsigned int i;
	int fd, bdev = -1, r;

	fd = fs_file_create(fs->path, FILE_SIZE, seed, path, sizeof(path));
	if (!ok(fd >= 0, T_CREATE, n)) {
		skip("no file", T_DAX, n);
		skip("no file", T_BDEV, n);
		skip("no file", T_MAP, n);
		skip("no file", T_DIO, n);
		for (i = 0; i < N_OPS; i++)
			skip("no file", T_OP, n, ops[i].name);
		skip("no file", T_WAIT, n);
		skip("no file", T_CLEAN, n);
		return;
	}
	diag("%s: %s", n, path);
	r = file_is_dax(fd);
	ok(r == 1, T_DAX, n);

	bdev = open_bdev(fs->path);
	ok(bdev >= 0, T_BDEV, n);
	map = file_map(fd, FILE_SIZE);
	ok(map, T_MAP, n);

	if (bdev >= 0 && map) {
		if (pread(bdev, map, FILE_SIZE, 0) != FILE_SIZE) {
			diag("pread O_DIRECT: %s", errno_name(errno));
			ok(false, T_DIO, n);
		} else {
			ok(true, T_DIO, n);
		}
		for (i = 0; i < N_OPS; i++)
			run_op(n, &ops[i], fd, bdev, map);
	} else {
		skip("no block device or mapping", T_DIO, n);
		for (i = 0; i < N_OPS; i++)
			skip("no block device or mapping", T_OP, n,
			     ops[i].name);
	}
	ok(map && truncate_waits(fd, map), T_WAIT, n);

	if (map && munmap(map, FILE_SIZE)) {
		diag("munmap: %s", errno_name(errno));
		clean = false;
	}
	if (bdev >= 0)
		close(bdev);
	if (!file_close_unlink(fd, path))
		clean = false;
	ok(clean, T_CLEAN, n);
}

int main(void)
{
	const struct dax_fs *fs;
	bool was_loaded;
	uint64_t seed;

	plan(1 + DAX_FS_COUNT * FS_POINTS + 1);
	seed = pattern_seed();
	srand(seed);

	was_loaded = module_begin();

	for_each_dax_fs(fs)
		test_fs(fs, seed);

	module_end(was_loaded);
	return done_testing();
}
