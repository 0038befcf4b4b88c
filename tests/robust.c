/*
 * Errors that mean what they say, and no stalls, daxlease loaded (issue
 * 15), on each fsdax filesystem:
 *
 * - F_SETLEASE 48 racing a stock F_SETLEASE F_RDLCK on the same fd (two
 *   threads): every 0 from 48 leaves a layout lease (F_GETLEASE 48), never
 *   a read lease the 48 request modified.
 * - A fork child's F_SETLEASE 48 on an inherited fd that carries our 48:
 *   EAGAIN (a file holds one lease, ours); ours is untouched.
 * - open(O_TRUNC) by the holder of a 48 lease: ETXTBSY, not EDEADLK (not
 *   an open(2) error), nothing changed; of an empty leased file: succeeds.
 * - Allocation neither frees nor moves a block: with a 48 lease and an MR
 *   of the whole file, fallocate mode 0 (growing the file) and KEEP_SIZE
 *   (beyond EOF) succeed; the pinned range keeps its FIEMAP and contents.
 * - A truncate or a fallocate PUNCH_HOLE by another process waiting for
 *   the break of our breakable lease (16; lease-break-time 10 s) does not
 *   keep us from write(2)ing the file (ext4 used to wait holding i_rwsem),
 *   and a truncate SIGKILLed then returns at once (XFS used to wait again
 *   until lease-break-time).
 * - While a fallocate PUNCH_HOLE waits for that break (ext4 holds i_rwsem
 *   there), another process's F_SETLEASE 48 ends within 2 s of SIGKILL.
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
#include <sys/wait.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "keeper.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"
#include "verbs.h"

#define FILE_SIZE	(2UL << 20)	/* the point names say these */
#define GROW_SIZE	(3UL << 20)
#define CUT_SIZE	(1UL << 20)
#define RACE_MS		2000
#define PROMPT_MS	2000		/* "at once": well below the break time */
#define LBT_PATH	"/proc/sys/fs/lease-break-time"
#define LBT		"10\n"
#define FS_POINTS	9

#define T_LBT		"set " LBT_PATH " to 10"
#define T_RXE		"open the rxe device"
#define T_RACE		"%s: 48 and F_RDLCK racing on one fd for 2 s: every 0 from 48 leaves F_GETLEASE 48"
#define T_FORK		"%s: a fork child's F_SETLEASE 48 on the inherited fd carrying our 48 fails with EAGAIN; ours is still 48"
#define T_OTRUNC	"%s: open(O_TRUNC) by the 48 holder of a 2 MiB file fails with ETXTBSY (not EDEADLK); size, FIEMAP and contents unchanged"
#define T_OTRUNC0	"%s: open(O_TRUNC) of an empty file we hold 48 on succeeds, by us and by another process"
#define T_FALLOC	"%s: 48 and an MR of the whole 2 MiB: fallocate mode 0 to 3 MiB and KEEP_SIZE to 4 MiB succeed; the first 2 MiB keep FIEMAP and contents"
#define T_WRITE		"%s: another process's truncate waits for the break of our 16: our pwrite(2) of the file returns within 2 s; after F_UNLCK the truncate returns 0"
#define T_WRITEPUNCH	"%s: another process's fallocate PUNCH_HOLE waits for the break of our 16: our pwrite(2) of the file returns within 2 s; after F_UNLCK the punch returns 0"
#define T_KILLTRUNC	"%s: that truncate, SIGKILLed 0.5 s into the break, is reaped within 2 s"
#define T_KILLSET	"%s: while a fallocate PUNCH_HOLE waits for that break, another process's F_SETLEASE 48, SIGKILLed, is reaped within 2 s"
#define T_LBT_BACK	"restore " LBT_PATH

static struct verbs v;
static bool have_verbs;

/* ---- the race ---- */

struct race {
	int fd;
	volatile bool stop;
	unsigned long set48, rdlck, bad;
};

static void *race_rdlck(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		if (!lease_set(r->fd, F_RDLCK)) {
			r->rdlck++;
			lease_set(r->fd, F_UNLCK);
		}
	}
	return NULL;
}

/*
 * On a file of its own, open read-only and by nobody for writing (a read
 * lease needs that): F_RDLCK must succeed some of the time for the race to
 * be one.
 */
static bool race(const char *dir, uint64_t seed)
{
	struct race r = { .fd = -1 };
	char path[PATH_MAX];
	long long t0;
	pthread_t th;
	int type, fd;

	fd = fs_file_create(dir, 4096, seed, path, sizeof(path));
	if (fd < 0)
		return false;
	close(fd);
	r.fd = open(path, O_RDONLY);
	if (r.fd < 0) {
		diag("open O_RDONLY: %s", errno_name(errno));
		unlink(path);
		return false;
	}
	t0 = clock_ms();
	if (pthread_create(&th, NULL, race_rdlck, &r)) {
		close(r.fd);
		unlink(path);
		return false;
	}
	while (clock_ms() - t0 < RACE_MS) {
		if (lease_set(r.fd, F_UNBREAKABLE))
			continue;
		r.set48++;
		type = lease_get(r.fd);
		if (type != F_UNBREAKABLE) {
			if (!r.bad)
				diag("F_SETLEASE 48 returned 0, F_GETLEASE %s",
				     lease_name(type));
			r.bad++;
		}
		lease_set(r.fd, F_UNLCK);
	}
	r.stop = true;
	pthread_join(th, NULL);
	lease_set(r.fd, F_UNLCK);
	close(r.fd);
	unlink(path);
	diag("48 succeeded %lu times, F_RDLCK %lu times; 0 without a layout lease: %lu",
	     r.set48, r.rdlck, r.bad);
	if (!r.set48 || !r.rdlck)
		diag("one side never won: no race");
	return !r.bad && r.set48 && r.rdlck;
}

/* ---- fork child on the inherited fd ---- */

static bool fork_child_lease(int fd)
{
	int status, r;
	pid_t pid;

	if (lease_set(fd, F_UNBREAKABLE)) {
		diag("F_SETLEASE 48: %s", errno_name(errno));
		return false;
	}
	pid = fork();
	if (pid < 0)
		return false;
	if (!pid) {
		r = lease_set(fd, F_UNBREAKABLE);
		_exit(r ? errno : 0);
	}
	if (wait_bounded(pid, &status, REAP_MS))
		return false;
	r = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (r != EAGAIN)
		diag("child's F_SETLEASE 48: %s, expected EAGAIN",
		     r > 0 ? errno_name(r) : r ? "died" : "0");
	return r == EAGAIN && lease_get(fd) == F_UNBREAKABLE &&
	       !lease_set(fd, F_UNLCK);
}

/* ---- open(O_TRUNC) ---- */

static bool otrunc_holder(int fd, const char *path)
{
	struct file_state before, after;
	bool pass;
	int tfd, err;

	if (file_state_get(fd, &before))
		return false;
	if (lease_set(fd, F_UNBREAKABLE)) {
		diag("F_SETLEASE 48: %s", errno_name(errno));
		file_state_free(&before);
		return false;
	}
	tfd = open(path, O_RDWR | O_TRUNC);
	err = errno;
	if (tfd >= 0) {
		diag("open(O_TRUNC) succeeded");
		close(tfd);
	} else if (err != ETXTBSY) {
		diag("open(O_TRUNC): %s, expected ETXTBSY", errno_name(err));
	}
	pass = tfd < 0 && err == ETXTBSY;
	lease_set(fd, F_UNLCK);
	pass &= !file_state_get(fd, &after) && file_state_same(&before, &after);
	file_state_free(&before);
	file_state_free(&after);
	return pass;
}

static int otrunc_child(void *arg)
{
	int fd = open(arg, O_RDWR | O_TRUNC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static bool otrunc_empty(const char *dir)
{
	char path[PATH_MAX];
	bool pass;
	int fd, tfd, r;

	snprintf(path, sizeof(path), "%s/robust-empty.%d", dir, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		diag("create %s: %s", path, errno_name(errno));
		return false;
	}
	if (lease_set(fd, F_UNBREAKABLE)) {
		diag("F_SETLEASE 48: %s", errno_name(errno));
		close(fd);
		unlink(path);
		return false;
	}
	tfd = open(path, O_RDWR | O_TRUNC);
	if (tfd < 0)
		diag("our open(O_TRUNC): %s", errno_name(errno));
	else
		close(tfd);
	r = child_run(otrunc_child, path);
	if (r)
		diag("another process's open(O_TRUNC): %s",
		     child_result_name(r));
	pass = tfd >= 0 && !r && lease_get(fd) == F_UNBREAKABLE;
	lease_set(fd, F_UNLCK);
	close(fd);
	unlink(path);
	return pass;
}

/* ---- allocation under pins ---- */

static bool falloc_pinned(int fd)
{
	struct file_state before, after;
	struct ibv_mr *mr = NULL;
	void *map = NULL;
	bool pass = false;
	struct stat st;

	if (!have_verbs || file_state_get(fd, &before))
		return false;
	if (lease_set(fd, F_UNBREAKABLE)) {
		diag("F_SETLEASE 48: %s", errno_name(errno));
		goto out;
	}
	map = file_map(fd, FILE_SIZE);
	mr = map ? mr_reg(v.pd, map, FILE_SIZE) : NULL;
	if (!mr)
		goto out;
	pass = true;
	if (fallocate(fd, 0, FILE_SIZE, GROW_SIZE - FILE_SIZE)) {
		diag("fallocate mode 0: %s", errno_name(errno));
		pass = false;
	}
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, GROW_SIZE, 1UL << 20)) {
		diag("fallocate KEEP_SIZE: %s", errno_name(errno));
		pass = false;
	}
	if (fstat(fd, &st) || st.st_size != (off_t)GROW_SIZE) {
		diag("size %lld, expected %lu", (long long)st.st_size,
		     GROW_SIZE);
		pass = false;
	}
	/* compare the pinned 2 MiB: size back, then the same snapshot */
	if (mr_dereg(mr))
		pass = false;
	mr = NULL;
	if (lease_set(fd, F_UNLCK) || ftruncate(fd, FILE_SIZE)) {
		diag("F_UNLCK/ftruncate back: %s", errno_name(errno));
		pass = false;
	}
	if (file_state_get(fd, &after)) {
		pass = false;
	} else {
		/* KEEP_SIZE blocks past EOF may still count in st_blocks */
		after.blocks = before.blocks;
		pass &= file_state_same(&before, &after);
		file_state_free(&after);
	}
out:
	if (mr)
		mr_dereg(mr);
	if (map)
		munmap(map, FILE_SIZE);
	lease_set(fd, F_UNLCK);
	file_state_free(&before);
	return pass;
}

/* ---- waits for a lease break ---- */

enum { OP_TRUNCATE, OP_PUNCH };

/* Child: truncate @path to CUT_SIZE, or punch 64 KiB at 1 MiB. */
static pid_t changer_start(const char *path, int op)
{
	pid_t pid = fork();
	int fd, r;

	if (pid)
		return pid;
	alarm(30);
	if (op == OP_TRUNCATE) {
		r = truncate(path, CUT_SIZE);
	} else {
		fd = open(path, O_RDWR);
		r = fd < 0 ? -1 : fallocate(fd, FALLOC_FL_PUNCH_HOLE |
					    FALLOC_FL_KEEP_SIZE, CUT_SIZE,
					    64 << 10);
	}
	_exit(r ? errno : 0);
}

/* Our 16 on @fd is being broken (F_GETLEASE says F_UNLCK) within 5 s. */
static bool break_pending(int fd)
{
	long long t0 = clock_ms();

	while (clock_ms() - t0 < 5000) {
		if (lease_get(fd) == F_UNLCK)
			return true;
		sleep_ms(20);
	}
	diag("no lease break seen within 5 s");
	return false;
}

/*
 * Take 16 on @fd and start a changer of @path (@op) that waits for its
 * break: the changer's pid once the break is pending, or -1 with the
 * lease dropped and the changer reaped.
 */
static pid_t break_start(int fd, const char *path, int op)
{
	pid_t o;

	if (lease_set(fd, F_LAYOUT)) {
		diag("F_SETLEASE 16: %s", errno_name(errno));
		return -1;
	}
	o = changer_start(path, op);
	if (o < 0 || !break_pending(fd)) {
		if (o > 0)
			kill_reap(o);
		lease_set(fd, F_UNLCK);
		return -1;
	}
	return o;
}

/* SIGKILL @pid and reap it: true if that took at most PROMPT_MS. */
static bool kill_prompt(pid_t pid, const char *what)
{
	long long t0 = clock_ms(), dt;
	int status;

	kill(pid, SIGKILL);
	if (wait_bounded(pid, &status, REAP_MS + 10000))
		return false;
	dt = clock_ms() - t0;
	if (dt > PROMPT_MS)
		diag("%s reaped %lld ms after SIGKILL", what, dt);
	return dt <= PROMPT_MS;
}

/* While @op by another process waits for our 16 to go, we can write. */
static bool holder_writes(int fd, const char *path, int op)
{
	char buf[4096];
	long long t0, dt;
	bool pass = true;
	int status;
	pid_t o;

	o = break_start(fd, path, op);
	if (o < 0)
		return false;
	memset(buf, 0x5a, sizeof(buf));
	t0 = clock_ms();
	if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf)) {
		diag("pwrite: %s", errno_name(errno));
		pass = false;
	}
	dt = clock_ms() - t0;
	if (dt > PROMPT_MS) {
		diag("pwrite took %lld ms while the break was pending", dt);
		pass = false;
	}
	lease_set(fd, F_UNLCK);
	if (wait_bounded(o, &status, REAP_MS + 10000))
		return false;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		diag("%s: %s", op == OP_TRUNCATE ? "truncate" : "punch",
		     WIFEXITED(status) ?
		     errno_name(WEXITSTATUS(status)) : "died");
		pass = false;
	}
	return pass;
}

static bool truncater_killed(int fd, const char *path)
{
	bool pass;
	pid_t o;

	o = break_start(fd, path, OP_TRUNCATE);
	if (o < 0)
		return false;
	sleep_ms(500);
	pass = kill_prompt(o, "the truncater");
	lease_set(fd, F_UNLCK);
	return pass;
}

static bool setlease_killed(int fd, const char *path)
{
	bool pass;
	pid_t o, s;
	int sfd;

	o = break_start(fd, path, OP_PUNCH);
	if (o < 0)
		return false;
	s = fork();
	if (!s) {
		sfd = open(path, O_RDWR);
		_exit(sfd < 0 || lease_set(sfd, F_UNBREAKABLE) ? 1 : 0);
	}
	sleep_ms(300);
	pass = s > 0 && kill_prompt(s, "the F_SETLEASE 48 process");
	lease_set(fd, F_UNLCK);
	kill_reap(o);
	return pass;
}

static void test_fs(const struct dax_fs *fs, uint64_t seed, bool lbt)
{
	const char *n = fs->name;
	char path[PATH_MAX];
	int fd;

	fd = fs_file_create(fs->path, FILE_SIZE, seed, path, sizeof(path));
	if (fd >= 0)
		diag("%s: %s", n, path);
	ok(fs->path && race(fs->path, seed), T_RACE, n);
	ok(fd >= 0 && fork_child_lease(fd), T_FORK, n);
	ok(fd >= 0 && otrunc_holder(fd, path), T_OTRUNC, n);
	ok(fs->path && otrunc_empty(fs->path), T_OTRUNC0, n);
	ok(fd >= 0 && falloc_pinned(fd), T_FALLOC, n);
	ok(fd >= 0 && lbt && holder_writes(fd, path, OP_PUNCH), T_WRITEPUNCH,
	   n);
	ok(fd >= 0 && lbt && holder_writes(fd, path, OP_TRUNCATE), T_WRITE, n);
	/* the truncate above cut the file: grow it back for the breaks */
	if (fd >= 0 && ftruncate(fd, FILE_SIZE))
		diag("ftruncate: %s", errno_name(errno));
	ok(fd >= 0 && lbt && truncater_killed(fd, path), T_KILLTRUNC, n);
	ok(fd >= 0 && lbt && setlease_killed(fd, path), T_KILLSET, n);
	if (fd >= 0 && !file_close_unlink(fd, path))
		diag("close/unlink failed");
}

int main(void)
{
	const struct dax_fs *fs;
	char lbt[32];
	bool was_loaded, lbt_saved, lbt_set;
	uint64_t seed;

	plan(1 + 2 + DAX_FS_COUNT * FS_POINTS + 1 + 1);
	seed = pattern_seed();
	signal(SIGIO, SIG_IGN);		/* lease breaks: we answer by polling */
	was_loaded = module_begin();

	lbt_saved = !read_str(LBT_PATH, lbt, sizeof(lbt));
	lbt_set = ok(lbt_saved && !write_str(LBT_PATH, LBT), T_LBT);
	have_verbs = ok(!verbs_open(&v, env_rxe()), T_RXE);

	for_each_dax_fs(fs)
		test_fs(fs, seed, lbt_set);

	if (have_verbs)
		verbs_close(&v);
	ok(lbt_saved && !write_str(LBT_PATH, lbt), T_LBT_BACK);
	module_end(was_loaded);
	return done_testing();
}
