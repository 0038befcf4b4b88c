/*
 * No unaccounted long-term pin when the module goes away in the middle of
 * a registration (design README, "Lifetime"), on XFS and ext4.
 *
 * GUP asks the module at the VMA (check_vma_flags()) and charges the pages
 * only after it has faulted them in and pinned them. If the lease is
 * dropped and the module unloaded in between, the pages must be unpinned
 * and the registration must fail (EOPNOTSUPP, as on a stock kernel):
 * otherwise an MR lives with pins nobody accounts for, and the next
 * truncate of the file waits for them. Before the fix the charge was
 * skipped once the hooks' static key was off, and the registration
 * succeeded.
 *
 * The window is made deterministic by freezing the file system: the
 * registration's first write fault waits in sb_start_pagefault() after the
 * module admitted the VMA; meanwhile we drop the lease (nothing is charged
 * yet) and unload the module, then thaw.
 *
 * Then a stress loop: a thread takes a lease, registers, checks that
 * F_UNLCK is refused while the MR lives (its pins are accounted),
 * deregisters and unlocks, over and over, while the main thread unloads and
 * reloads the module as fast as it can. Nothing may hang, every MR that
 * was registered must have been accounted, and afterwards the module
 * unloads (no reference leaked) and a truncate of the file succeeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain.h"
#include "env.h"
#include "fsdax.h"
#include "keeper.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "tap.h"
#include "verbs.h"

#define FILE_SIZE	(64UL << 10)	/* the point names say these */
#define CUT_SIZE	(32UL << 10)
#define BLOCKED_MS	15000		/* to reach the fault under TCG */
#define JOIN_MS		20000
#define LOOP_MS		6000
#define FS_POINTS	8

#define T_SETUP		"%s: a 64 KiB file, F_SETLEASE 48, a fresh MAP_SHARED mapping of it"
#define T_FREEZE	"%s: FIFREEZE; a thread's ibv_reg_mr of the mapping blocks in its first write fault (wchan: percpu_rwsem_wait of the frozen superblock)"
#define T_UNLOAD	"%s: meanwhile F_UNLCK returns 0 (nothing charged yet) and delete_module succeeds"
#define T_REG		"%s: FITHAW: the registration fails with EOPNOTSUPP: its pages were pinned after the module went"
#define T_TRUNC		"%s: truncate(2) by another process succeeds, size 32 KiB: no pinned page left"
#define T_RELOAD	"%s: load daxlease.ko again"
#define T_LOOP		"%s: 6 s of lease/register/deregister/unlock in a thread against delete_module and reload in a loop: no hang, every live MR kept its lease busy (F_UNLCK EBUSY), both sides made progress"
#define T_AFTER		"%s: afterwards delete_module succeeds (no reference leaked), the module loads again and truncate(2) by another process succeeds"

static struct verbs v;

struct reg {
	void *map;
	size_t len;
	struct ibv_mr *mr;
	int err;
	atomic_int tid;
	atomic_bool done;
};

static void *reg_thread(void *arg)
{
	struct reg *r = arg;

	atomic_store(&r->tid, gettid());
	r->mr = ibv_reg_mr(v.pd, r->map, r->len, MR_ACCESS);
	r->err = r->mr ? 0 : errno;
	atomic_store(&r->done, true);
	return NULL;
}

static bool wait_done(atomic_bool *done, unsigned int ms)
{
	long long end = clock_ms() + ms;

	while (!atomic_load(done)) {
		if (clock_ms() > end)
			return false;
		sleep_ms(10);
	}
	return true;
}

/*
 * Wait until thread @r is blocked on the frozen superblock (past the GUP
 * gate, in the write fault), at most @ms. False if it returned or never
 * got there.
 */
static bool blocked_in_fault(struct reg *r, unsigned int ms)
{
	long long end = clock_ms() + ms;
	char path[64], wchan[128] = "";
	ssize_t n;
	int fd;

	while (!atomic_load(&r->done) && clock_ms() < end) {
		snprintf(path, sizeof(path), "/proc/self/task/%d/wchan",
			 atomic_load(&r->tid));
		fd = atomic_load(&r->tid) ? open(path, O_RDONLY) : -1;
		n = fd >= 0 ? read(fd, wchan, sizeof(wchan) - 1) : -1;
		if (fd >= 0)
			close(fd);
		wchan[n > 0 ? n : 0] = '\0';
		if (strstr(wchan, "percpu_rwsem"))
			return !atomic_load(&r->done);
		sleep_ms(20);
	}
	diag("registration thread: %s, wchan '%s'",
	     atomic_load(&r->done) ? "returned" : "not blocked in time", wchan);
	return false;
}

static int freeze(int dirfd, bool on)
{
	if (ioctl(dirfd, on ? FIFREEZE : FITHAW, 0)) {
		diag("%s: %s", on ? "FIFREEZE" : "FITHAW", errno_name(errno));
		return -1;
	}
	return 0;
}

static bool truncate_ok(const char *path)
{
	bool done = truncate_other_is(path, CUT_SIZE, 0);
	struct stat st;

	if (stat(path, &st)) {
		diag("stat: %s", errno_name(errno));
		return false;
	}
	if (st.st_size != (off_t)CUT_SIZE)
		diag("size %lld", (long long)st.st_size);
	return done && st.st_size == (off_t)CUT_SIZE;
}

static bool reload(void)
{
	if (module_loaded(DAXLEASE_MODULE_NAME))
		return true;
	if (!env_module() || module_load(env_module())) {
		diag("loading daxlease.ko: %s", errno_name(errno));
		return false;
	}
	return true;
}

static void race_part(const char *n, const char *dir, uint64_t seed,
		      char *path, size_t pathlen)
{
	struct chain c = CHAIN_INIT;
	struct reg r = { .len = FILE_SIZE };
	bool frozen = false, started = false, blocked = false;
	int fd, dirfd = -1, ret;
	pthread_t t;

	fd = fs_file_create(dir, FILE_SIZE, seed, path, pathlen);
	if (fd >= 0 && lease_set(fd, F_UNBREAKABLE))
		diag("F_SETLEASE 48: %s", errno_name(errno));
	else if (fd >= 0)
		r.map = file_map(fd, FILE_SIZE);
	STEP(&c, r.map, T_SETUP, n);

	if (c.ok) {
		dirfd = open(dir, O_RDONLY | O_DIRECTORY);
		if (dirfd < 0)
			diag("open %s: %s", dir, errno_name(errno));
		frozen = dirfd >= 0 && !freeze(dirfd, true);
	}
	if (frozen) {
		ret = pthread_create(&t, NULL, reg_thread, &r);
		started = !ret;
		if (ret)
			diag("pthread_create: %s", errno_name(ret));
	}
	if (started) {
		blocked = blocked_in_fault(&r, BLOCKED_MS);
		if (!blocked && atomic_load(&r.done))
			diag("ibv_reg_mr returned: %s",
			     r.mr ? "success" : errno_name(r.err));
	}
	if (!STEP(&c, blocked, T_FREEZE, n) && frozen && !freeze(dirfd, false))
		frozen = false;

	ret = -1;
	if (c.ok) {
		ret = lease_set(fd, F_UNLCK);
		if (ret)
			diag("F_UNLCK: %s", errno_name(errno));
		else if ((ret = module_unload(DAXLEASE_MODULE_NAME)))
			diag("delete_module: %s", errno_name(errno));
	}
	STEP(&c, !ret, T_UNLOAD, n);

	/* never leave the file system frozen, whatever failed */
	if (frozen && !freeze(dirfd, false))
		frozen = false;
	if (frozen)
		bail_out("cannot thaw %s", dir);
	if (started && !wait_done(&r.done, JOIN_MS))
		bail_out("ibv_reg_mr did not return after FITHAW");
	if (started)
		pthread_join(t, NULL);
	if (c.ok && r.mr)
		diag("ibv_reg_mr succeeded with the module gone");
	else if (c.ok && r.err != EOPNOTSUPP)
		diag("ibv_reg_mr: %s, expected EOPNOTSUPP",
		     errno_name(r.err));
	CHECK(&c, !r.mr && r.err == EOPNOTSUPP, T_REG, n);
	/* with the MR (if any) still alive: a stray pin makes this wait */
	CHECK(&c, truncate_ok(path), T_TRUNC, n);
	mr_dereg(r.mr);
	ok(reload(), T_RELOAD, n);

	if (r.map)
		munmap(r.map, FILE_SIZE);
	if (dirfd >= 0)
		close(dirfd);
	if (fd >= 0)
		close(fd);
}

struct loop {
	const char *path;
	atomic_bool stop;
	atomic_bool done;
	unsigned long regs, refused, unaccounted;
	int setup_err;
};

/* Lease, register, check the pins are accounted, deregister, unlock. */
static void *loop_thread(void *arg)
{
	struct loop *l = arg;
	struct ibv_mr *mr;
	int fd, r, err;
	void *map;

	fd = open(l->path, O_RDWR);
	map = fd >= 0 ? file_map(fd, FILE_SIZE) : NULL;
	if (!map) {
		l->setup_err = errno ? errno : EINVAL;
		atomic_store(&l->done, true);
		return NULL;
	}
	while (!atomic_load(&l->stop)) {
		if (lease_set(fd, F_UNBREAKABLE)) {
			/* EINVAL while the module is out */
			l->refused++;
			sleep_ms(1);
			continue;
		}
		mr = ibv_reg_mr(v.pd, map, FILE_SIZE, MR_ACCESS);
		if (mr) {
			l->regs++;
			r = lease_set(fd, F_UNLCK);
			err = errno;
			if (!r || err != EBUSY) {
				l->unaccounted++;
				diag("F_UNLCK with a live MR: %s",
				     r ? errno_name(err) : "success");
			}
			ibv_dereg_mr(mr);
		} else {
			l->refused++;
		}
		lease_set(fd, F_UNLCK);
	}
	munmap(map, FILE_SIZE);
	close(fd);
	atomic_store(&l->done, true);
	return NULL;
}

static void loop_part(const char *n, const char *path)
{
	struct loop l = { .path = path };
	unsigned long unloads = 0;
	bool started = false, ended, after;
	long long end;
	pthread_t t;
	int ret;

	if (!path[0]) {
		skip("no file", T_LOOP, n);
		skip("no file", T_AFTER, n);
		return;
	}
	/* the race part left it truncated to 32 KiB */
	if (truncate(path, FILE_SIZE))
		diag("truncate to 64 KiB: %s", errno_name(errno));
	ret = pthread_create(&t, NULL, loop_thread, &l);
	started = !ret;
	if (ret)
		diag("pthread_create: %s", errno_name(ret));
	end = clock_ms() + LOOP_MS;
	while (started && clock_ms() < end && !atomic_load(&l.done)) {
		if (!module_unload(DAXLEASE_MODULE_NAME)) {
			unloads++;
			if (!reload())
				break;
		} else if (errno != EWOULDBLOCK && errno != EBUSY) {
			diag("delete_module: %s", errno_name(errno));
		}
		sleep_ms(1);
	}
	atomic_store(&l.stop, true);
	ended = started && wait_done(&l.done, JOIN_MS);
	if (started && !ended)
		bail_out("the registration thread hangs");
	if (started)
		pthread_join(t, NULL);
	diag("%s: %lu registrations, %lu refused, %lu unloads", n, l.regs,
	     l.refused, unloads);
	if (l.setup_err)
		diag("thread setup: %s", errno_name(l.setup_err));
	ok(ended && !l.setup_err && !l.unaccounted && l.regs && unloads,
	   T_LOOP, n);

	reload();
	ret = module_unload(DAXLEASE_MODULE_NAME);
	if (ret)
		diag("final delete_module: %s", errno_name(errno));
	after = !ret && reload() && truncate_ok(path);
	ok(after, T_AFTER, n);
}

static void test_fs(const struct dax_fs *fs, uint64_t seed)
{
	char path[PATH_MAX] = "";

	race_part(fs->name, fs->path, seed, path, sizeof(path));
	loop_part(fs->name, path);
	if (path[0])
		unlink(path);
}

int main(void)
{
	const struct dax_fs *fs;
	bool was_loaded;
	uint64_t seed;

	plan(2 + DAX_FS_COUNT * FS_POINTS + 2);
	seed = pattern_seed();

	was_loaded = module_begin();
	verbs_begin(&v, was_loaded, NULL, 0);

	for_each_dax_fs(fs)
		test_fs(fs, seed);

	verbs_end(&v);
	module_end(was_loaded);
	return done_testing();
}
