/*
 * Allocation failures while taking a layout lease and a long-term pin
 * (issue 8, point 3). Debug kernel only (debug-only in tests/manifest): through
 * /proc/thread-self/fail-nth, the 1st, 2nd, ... slab or page allocation of
 * one F_SETLEASE 48, then of one long-term pin of the leased fsdax file by
 * each pinner (ibv_reg_mr: pins owned by the uverbs file; io_uring
 * IORING_REGISTER_BUFFERS: pins owned by the mm), is made to fail, until
 * the call succeeds with no failure injected. Each failed call must fail
 * with ENOMEM and leave nothing behind: no lease after a failed
 * F_SETLEASE, no pinned page after a failed pin (so F_UNLCK and truncate
 * succeed), both reports exact. A call that succeeds
 * although an allocation failed (one with a fallback) must leave the state
 * of a success. At the end kmemleak finds nothing and the module unloads.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "debugk.h"
#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "report.h"
#include "tap.h"
#include "uring.h"
#include "verbs.h"

#define FILE_SIZE	(256UL << 10)	/* the point names say it */
#define FILE_PAGES	(FILE_SIZE >> 12)
#define GROW		4096		/* ftruncate grows by this and back */
#define MAX_NTH		2000		/* more allocations in one call: a bug */
#define KMEMLEAK_AGE_S	6		/* kmemleak judges objects older than 5 s */
#define FS_POINTS	(6 + 6 * N_PINNERS)

#define T_LOADED	"daxlease module loaded"
#define T_RXE		"open the rxe device"
#define T_FAULT		"fault injection reaches every slab and page allocation of a call (fail-nth)"
#define T_CREATE	"%s: create a 256 KiB DAX file holding the pattern and map it"
#define T_L_ERR		"%s: F_SETLEASE 48 with its n-th allocation failed, n = 1, 2, ...: every failure is ENOMEM"
#define T_L_STATE	"%s: after every F_SETLEASE 48 attempt F_GETLEASE and /proc/daxlease match its result (failed: no lease; succeeded: 48, 0 pages), /proc/self/file_pins empty"
#define T_L_TRUNC	"%s: after every failed F_SETLEASE 48 ftruncate (grow 4 KiB and back) succeeds"
#define T_L_DONE	"%s: F_SETLEASE 48 succeeds once no failure is injected, after at least one ENOMEM"
#define T_R_ERR		"%s: %s of the leased file with its n-th allocation failed, n = 1, 2, ...: every failure is ENOMEM"
#define T_R_STATE	"%s: after every failed %s F_GETLEASE is 48, /proc/daxlease shows the lease with 0 pages, /proc/self/file_pins empty"
#define T_R_UNPIN	"%s: after every failed %s F_SETLEASE F_UNLCK returns 0 (nothing pinned), ftruncate succeeds, 48 is taken again"
#define T_R_DONE	"%s: %s succeeds once no failure is injected, after at least one ENOMEM"
#define T_R_REPORT	"%s: %s: the 64 pinned pages in /proc/daxlease and /proc/self/file_pins, charged to its owner"
#define T_R_CLEAN	"%s: %s: unpin, F_UNLCK and ftruncate succeed; the file still holds the pattern"
#define T_CLOSE		"%s: munmap, close and unlink"
#define T_RXE_CLOSE	"close the rxe device"
#define T_KMEMLEAK	"kmemleak: no new suspected leak after the injected failures"
#define T_UNLOAD	"no lease or pin left: delete_module succeeds"

struct ffile {
	const char *fs;
	char path[PATH_MAX];
	char esc[PATH_MAX];
	int fd;
	void *map;
	uint64_t seed;
	struct ibv_mr *mr;
};

static struct verbs v;
static char upath[PATH_MAX];	/* the uverbs file: owner of our MRs */
static int ring = -1;		/* its fixed buffers: pins of our mm */

/* A long-term pinner of the whole mapping. */
struct pinner {
	const char *name;
	int (*pin)(struct ffile *f);		/* 0 or the errno */
	bool (*unpin)(struct ffile *f);		/* true if it worked */
	char *(*owner_lines)(void);		/* of /proc/daxlease */
	char *(*fpins)(struct ffile *f);	/* our file_pins */
};

/* One failure of a loop's invariant: a diag and remember it. */
static bool bad(bool *flag, unsigned int nth, const char *what)
{
	diag("n = %u: %s", nth, what);
	*flag = false;
	return false;
}

static bool lease_is(struct ffile *f, bool leased, unsigned long pages)
{
	char *want = leased ? gv_lease(getpid(), f->fd, true, false, pages,
				       f->esc) : strf("%s", "");
	int type = lease_get(f->fd);
	bool same = gview_is(f->esc, want);

	free(want);
	if (type != (leased ? F_UNBREAKABLE : F_UNLCK))
		diag("F_GETLEASE: %s", lease_name(type));
	return same && type == (leased ? F_UNBREAKABLE : F_UNLCK) &&
	       fpins_is(0, "");
}

/* A layout change that any lease or pin would refuse: grow, then back. */
static bool truncate_works(struct ffile *f)
{
	if (ftruncate(f->fd, FILE_SIZE + GROW) ||
	    ftruncate(f->fd, FILE_SIZE)) {
		diag("ftruncate: %s", errno_name(errno));
		return false;
	}
	return true;
}

static void lease_points(struct ffile *f)
{
	bool errs = true, state = true, trunc = true, done = false;
	unsigned int nth, enomem = 0, absorbed = 0;
	int r, err;

	for (nth = 1; nth <= MAX_NTH; nth++) {
		fault_arm(nth);
		r = fcntl(f->fd, F_SETLEASE, F_UNBREAKABLE);
		err = errno;
		if (!fault_consumed()) {
			done = !r;
			if (r)
				diag("n = %u, nothing injected: %s", nth,
				     errno_name(err));
			else if (!lease_is(f, true, 0))
				bad(&state, nth, "state does not match the result");
			break;
		}
		if (!r) {
			absorbed++;
		} else if (err == ENOMEM) {
			enomem++;
		} else {
			bad(&errs, nth, errno_name(err));
		}
		if (!lease_is(f, !r, 0))
			bad(&state, nth, "state does not match the result");
		if (!r && lease_set(f->fd, F_UNLCK))
			bad(&state, nth, "F_UNLCK after a success failed");
		if (r && !truncate_works(f))
			bad(&trunc, nth, "ftruncate refused");
	}
	diag("%s: F_SETLEASE 48: %u x ENOMEM, %u failures absorbed, %s after n = %u",
	     f->fs, enomem, absorbed, done ? "success" : "no success", nth);
	ok(errs, T_L_ERR, f->fs);
	ok(state, T_L_STATE, f->fs);
	ok(trunc, T_L_TRUNC, f->fs);
	ok(done && enomem > 0, T_L_DONE, f->fs);
}

/*
 * Write-fault every page of the mapping (same bytes back), before every
 * attempt: DAX writeback write-protects the PTEs again, and a failure
 * injected into ext4's write fault (its journal start) comes back from
 * ext4_dax_huge_fault() as SIGBUS, i.e. EFAULT from GUP: stock ext4, not
 * the pin path this test is about.
 */
static void prefault(volatile uint8_t *map)
{
	size_t off;

	for (off = 0; off < FILE_SIZE; off += 4096)
		map[off] = map[off];
}

static int mr_pin(struct ffile *f)
{
	f->mr = ibv_reg_mr(v.pd, f->map, FILE_SIZE, MR_ACCESS);
	return f->mr ? 0 : errno;
}

static bool mr_unpin(struct ffile *f)
{
	bool done = !mr_dereg(f->mr);

	f->mr = NULL;
	return done;
}

static char *mr_owner_lines(void)
{
	return gv_owner(FILE_PAGES, upath);
}

static char *mr_fpins(struct ffile *f)
{
	return strf("%d: %s\n\t%s\n", v.ctx->cmd_fd, upath, f->esc);
}

static int uring_pin(struct ffile *f)
{
	return uring_register(ring, f->map, FILE_SIZE);
}

static bool uring_unpin(struct ffile *f)
{
	(void)f;
	return uring_unregister(ring);
}

static char *uring_owner_lines(void)
{
	return strf("\tmm %lu\n", FILE_PAGES);
}

static char *uring_fpins(struct ffile *f)
{
	return strf("%s\n", f->esc);
}

static const struct pinner pinners[] = {
	{ "ibv_reg_mr", mr_pin, mr_unpin, mr_owner_lines, mr_fpins },
	{ "IORING_REGISTER_BUFFERS", uring_pin, uring_unpin, uring_owner_lines,
	  uring_fpins },
};

#define N_PINNERS	(int)(sizeof(pinners) / sizeof(pinners[0]))

static bool pinned_view_is(struct ffile *f, const struct pinner *p)
{
	char *want = cat_free(2, gv_lease(getpid(), f->fd, true, false,
					  FILE_PAGES, f->esc),
			      p->owner_lines());
	bool same = gview_is(f->esc, want);

	free(want);
	return same;
}

static void skip_pin_points(const char *fs, const struct pinner *p,
			    const char *why)
{
	skip(why, T_R_ERR, fs, p->name);
	skip(why, T_R_STATE, fs, p->name);
	skip(why, T_R_UNPIN, fs, p->name);
	skip(why, T_R_DONE, fs, p->name);
	skip(why, T_R_REPORT, fs, p->name);
	skip(why, T_R_CLEAN, fs, p->name);
}

/* Returns whether @f is still leased (48) afterwards. */
static bool pin_points(struct ffile *f, const struct pinner *p, bool leased)
{
	bool errs = true, state = true, unpin = true, pinned = false;
	unsigned int nth, enomem = 0, absorbed = 0;
	char *want;
	int err;

	if (!leased) {
		skip_pin_points(f->fs, p, "no lease");
		return false;
	}
	for (nth = 1; nth <= MAX_NTH && leased; nth++) {
		prefault(f->map);
		fault_arm(nth);
		err = p->pin(f);
		if (!fault_consumed()) {
			pinned = !err;
			if (err)
				diag("n = %u, nothing injected: %s", nth,
				     errno_name(err));
			break;
		}
		if (!err) {
			absorbed++;
			if (!pinned_view_is(f, p))
				bad(&state, nth, "pinned, report wrong");
			if (!p->unpin(f))
				bad(&state, nth, "unpin failed");
			continue;
		}
		if (err == ENOMEM)
			enomem++;
		else
			bad(&errs, nth, errno_name(err));
		if (!lease_is(f, true, 0))
			bad(&state, nth, "state after the failure");
		if (lease_set(f->fd, F_UNLCK)) {
			diag("F_UNLCK: %s", errno_name(errno));
			bad(&unpin, nth, "lease still busy");
			continue;
		}
		if (!truncate_works(f))
			bad(&unpin, nth, "ftruncate refused");
		leased = !lease_set(f->fd, F_UNBREAKABLE);
		if (!leased)
			diag("F_SETLEASE 48: %s", errno_name(errno));
	}
	diag("%s: %s: %u x ENOMEM, %u failures absorbed, %s after n = %u",
	     f->fs, p->name, enomem, absorbed,
	     pinned ? "success" : "no success", nth);
	ok(errs, T_R_ERR, f->fs, p->name);
	ok(state, T_R_STATE, f->fs, p->name);
	ok(unpin && leased, T_R_UNPIN, f->fs, p->name);
	ok(pinned && enomem > 0, T_R_DONE, f->fs, p->name);
	if (!pinned) {
		skip("not pinned", T_R_REPORT, f->fs, p->name);
	} else {
		want = p->fpins(f);
		ok(pinned_view_is(f, p) & fpins_is(0, want), T_R_REPORT,
		   f->fs, p->name);
		free(want);
	}
	ok((!pinned || p->unpin(f)) &&
	   (!leased || !lease_set(f->fd, F_UNLCK)) && truncate_works(f) &&
	   !pattern_file_check(f->fd, FILE_SIZE, f->seed),
	   T_R_CLEAN, f->fs, p->name);
	/* the next pinner starts from a lease again */
	return !lease_set(f->fd, F_UNBREAKABLE);
}

/* Every point of one file system after T_CREATE, skipped. */
static void skip_after_create(const char *fs, const char *why)
{
	int i;

	skip(why, T_L_ERR, fs);
	skip(why, T_L_STATE, fs);
	skip(why, T_L_TRUNC, fs);
	skip(why, T_L_DONE, fs);
	for (i = 0; i < N_PINNERS; i++)
		skip_pin_points(fs, &pinners[i], why);
	skip(why, T_CLOSE, fs);
}

static void test_fs(const struct dax_fs *fs, uint64_t seed)
{
	struct ffile f = { .fs = fs->name, .fd = -1, .seed = seed };
	bool good, leased;
	int i;

	f.fd = fs_file_create(fs->path, FILE_SIZE, seed, f.path,
			      sizeof(f.path));
	good = f.fd >= 0 && file_is_dax(f.fd) == 1 &&
	       !fd_path(0, f.fd, f.esc, sizeof(f.esc));
	if (good)
		f.map = file_map(f.fd, FILE_SIZE);
	if (!ok(good && f.map, T_CREATE, f.fs)) {
		skip_after_create(f.fs, "no file");
		if (f.fd >= 0)
			file_close_unlink(f.fd, f.path);
		return;
	}
	diag("%s: %s", f.fs, f.path);
	lease_points(&f);
	leased = lease_get(f.fd) == F_UNBREAKABLE;
	for (i = 0; i < N_PINNERS; i++)
		leased = pin_points(&f, &pinners[i], leased);
	if (leased)
		lease_set(f.fd, F_UNLCK);
	ok(!munmap(f.map, FILE_SIZE) & file_close_unlink(f.fd, f.path),
	   T_CLOSE, f.fs);
}

/* kmemleak only judges objects older than 5 s: wait, scan, expect none. */
static void kmemleak_point(void)
{
	char *report;

	sleep(KMEMLEAK_AGE_S);
	report = kmemleak_scan_report();
	if (report && *report)
		diag("%s", report);
	ok(report && !*report, T_KMEMLEAK);
	free(report);
}

int main(void)
{
	const struct dax_fs *fs;
	const char *why;
	bool was_loaded;
	uint64_t seed;
	void *anon;

	plan(3 + DAX_FS_COUNT * FS_POINTS + 4);	/* module_end(): the last */
	seed = pattern_seed();

	was_loaded = module_begin();
	if (!ok(!verbs_open(&v, env_rxe()) &&
		!fd_path(0, v.ctx->cmd_fd, upath, sizeof(upath)), T_RXE))
		module_bail_out(was_loaded, "no rxe device");
	/* warm libibverbs' malloc so that its own allocation needs no syscall */
	anon = malloc(FILE_SIZE);
	if (anon)
		mr_dereg(mr_reg(v.pd, anon, FILE_SIZE));
	free(anon);
	ring = uring_new();
	if (ring < 0)
		module_bail_out(was_loaded, "no io_uring");

	why = fault_setup();
	if (why) {
		skip(why, T_FAULT);
		for_each_dax_fs(fs) {
			skip(why, T_CREATE, fs->name);
			skip_after_create(fs->name, why);
		}
	} else {
		ok(true, T_FAULT);
		for_each_dax_fs(fs)
			test_fs(fs, seed);
	}
	fault_teardown();

	close(ring);
	ok(!verbs_close(&v), T_RXE_CLOSE);
	if (why) {
		skip(why, T_KMEMLEAK);
		skip(why, T_UNLOAD);
	} else {
		kmemleak_point();
		ok(!module_unload(DAXLEASE_MODULE_NAME) &&
		   !module_loaded(DAXLEASE_MODULE_NAME), T_UNLOAD);
	}
	module_end(was_loaded);
	return done_testing();
}
