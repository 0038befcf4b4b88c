/*
 * Durability of what the NIC wrote (design README, "fsync of a leased
 * file"), on XFS and ext4, daxlease loaded: fsync of a file with pages
 * pinned under its leases writes back every pinned page, whatever its PTE
 * dirty state.
 *
 * The first fsync after a CPU write cleans the DAX entries and
 * write-protects the PTEs. An RDMA WRITE reaches the pinned pages by DMA
 * (rxe: through the kernel mapping) and dirties nothing, so before the fix
 * the next fsync wrote back nothing for them: on a platform whose
 * persistence domain excludes the CPU caches, the data the NIC wrote was
 * not made persistent although the application called fsync.
 *
 * What the kernel writes back is counted with the fs_dax:dax_writeback_one
 * tracepoint (each event: one DAX entry, pgoff and page count, flushed with
 * dax_flush()). On a file without pins, a second fsync after a clean one
 * writes back nothing: the count is not an artefact of the tracing.
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"
#include "verbs.h"

/* The point names say these. */
#define FILE_SIZE	(2UL << 20)
#define FILE_PAGES	(FILE_SIZE >> 12)
#define LEN		(64UL << 10)
#define OFF		((1UL << 20) + (4UL << 10))
#define FS_POINTS	8

#define TRACING		"/sys/kernel/tracing"
#define EVENT		TRACING "/events/fs_dax/dax_writeback_one/enable"

#define T_TRACE		"tracefs: enable the fs_dax:dax_writeback_one event"
#define T_CTRL		"%s: a file without lease or pin, written by the CPU: fsync writes back its pages, a second fsync writes back 0 pages"
#define T_SETUP		"%s: create a 2 MiB file, F_SETLEASE 48, map it, register all of it as an MR"
#define T_FIRST		"%s: fsync with the MR alive returns 0"
#define T_WRITE		"%s: RDMA WRITE of 64 KiB at file offset 1 MiB + 4 KiB completes with IBV_WC_SUCCESS"
#define T_FLUSH		"%s: the next fsync writes back every page the RDMA WRITE reached (file pages 257 to 272)"
#define T_AGAIN		"%s: and so does every further fsync while the MR lives: all 512 pinned pages"
#define T_DEREG		"%s: after ibv_dereg_mr and F_UNLCK a clean fsync writes back 0 pages"
#define T_CLEAN		"%s: unlink the files"

struct ctx {
	struct write_rig w;
	uint64_t seed;
};

static bool trace_setup(void)
{
	if (access(EVENT, W_OK) &&
	    mount("tracefs", TRACING, "tracefs", 0, NULL))
		diag("mount tracefs: %s", errno_name(errno));
	return !write_str(TRACING "/buffer_size_kb", "4096") &&
	       !write_str(EVENT, "1") &&
	       !write_str(TRACING "/tracing_on", "1");
}

/* Empty the trace buffer (open O_TRUNC): 0, or -1 with a diag. */
static int trace_clear(void)
{
	int fd = open(TRACING "/trace", O_WRONLY | O_TRUNC);

	if (fd < 0) {
		diag("open %s: %s", TRACING "/trace", errno_name(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Pages of @fd's file written back since trace_clear(), per page in
 * @covered (FILE_PAGES entries, may be NULL). -1 with a diag on error.
 */
static long wb_pages(int fd, bool *covered)
{
	unsigned long ino, pgoff, pglen, i;
	unsigned int maj, mnr;
	long pages = 0;
	char line[512];
	struct stat st;
	const char *p;
	FILE *f;

	if (fstat(fd, &st)) {
		diag("fstat: %s", errno_name(errno));
		return -1;
	}
	f = fopen(TRACING "/trace", "r");
	if (!f) {
		diag("open trace: %s", errno_name(errno));
		return -1;
	}
	if (covered)
		memset(covered, 0, FILE_PAGES * sizeof(*covered));
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, "dax_writeback_one: ");
		if (!p || sscanf(p, "dax_writeback_one: dev %u:%u ino %lx pgoff %lx pglen %lx",
				 &maj, &mnr, &ino, &pgoff, &pglen) != 5)
			continue;
		if (maj != major(st.st_dev) || mnr != minor(st.st_dev) ||
		    ino != st.st_ino)
			continue;
		pages += pglen;
		for (i = pgoff; covered && i < pgoff + pglen && i < FILE_PAGES;
		     i++)
			covered[i] = true;
	}
	fclose(f);
	return pages;
}

/* fsync(@fd) between a trace_clear() and wb_pages(). */
static long fsync_pages(int fd, bool *covered)
{
	if (trace_clear())
		return -1;
	if (fsync(fd)) {
		diag("fsync: %s", errno_name(errno));
		return -1;
	}
	return wb_pages(fd, covered);
}

static bool range_covered(const bool *covered, unsigned long first,
			  unsigned long n)
{
	unsigned long i, missing = 0;

	for (i = first; i < first + n; i++)
		if (!covered[i])
			missing++;
	if (missing)
		diag("%lu of pages %lu..%lu not written back", missing,
		     first, first + n - 1);
	return !missing;
}

/* A file without lease or pin: CPU write, fsync, fsync. */
static void control(const char *n, const char *dir, uint64_t seed,
		    char *path, size_t pathlen)
{
	long first = -1, second = -1;
	uint8_t *map = NULL;
	int fd;

	fd = fs_file_create(dir, FILE_SIZE, seed, path, pathlen);
	if (fd >= 0)
		map = file_map(fd, FILE_SIZE);
	if (map) {
		memset(map + OFF, 0x5a, LEN);
		first = fsync_pages(fd, NULL);
		second = fsync_pages(fd, NULL);
		diag("%s: unpinned file: %ld pages, then %ld", n, first,
		     second);
		munmap(map, FILE_SIZE);
	}
	ok(first > 0 && second == 0, T_CTRL, n);
	if (fd >= 0)
		close(fd);
}

static void pinned(struct ctx *c, const char *n, const char *dir,
		   uint64_t seed, char *path, size_t pathlen)
{
	bool covered[FILE_PAGES], leased = false, wrote = false;
	struct ibv_mr *mr = NULL;
	long pages = -1;
	void *map = NULL;
	int fd, status;

	fd = fs_file_create(dir, FILE_SIZE, seed, path, pathlen);
	if (fd >= 0) {
		leased = !lease_set(fd, F_UNBREAKABLE);
		if (!leased)
			diag("F_SETLEASE 48: %s", errno_name(errno));
	}
	if (leased)
		map = file_map(fd, FILE_SIZE);
	if (map)
		mr = mr_reg(c->w.v.pd, map, FILE_SIZE);
	ok(mr, T_SETUP, n);

	if (mr)
		pages = fsync_pages(fd, NULL);
	if (mr)
		diag("%s: first fsync: %ld pages", n, pages);
	ok(pages >= 0, T_FIRST, n);

	if (mr && c->w.ready) {
		status = verbs_rdma_write(&c->w.v, c->w.qp[0], c->w.src_mr, 0,
					  LEN,
					  (uintptr_t)map + OFF, mr->rkey);
		wrote = status == IBV_WC_SUCCESS;
	}
	ok(wrote, T_WRITE, n);

	pages = wrote ? fsync_pages(fd, covered) : -1;
	if (wrote)
		diag("%s: fsync after the RDMA WRITE: %ld pages", n, pages);
	ok(pages > 0 && range_covered(covered, OFF >> 12, LEN >> 12),
	   T_FLUSH, n);

	pages = wrote ? fsync_pages(fd, covered) : -1;
	if (wrote)
		diag("%s: the fsync after: %ld pages", n, pages);
	ok(pages > 0 && range_covered(covered, 0, FILE_PAGES), T_AGAIN, n);

	pages = -1;
	if (mr && !mr_dereg(mr) && !lease_set(fd, F_UNLCK))
		pages = fsync_pages(fd, NULL);
	else if (mr)
		diag("dereg or F_UNLCK failed: %s", errno_name(errno));
	if (mr)
		diag("%s: fsync after the deregistration: %ld pages", n, pages);
	ok(pages == 0, T_DEREG, n);

	if (map)
		munmap(map, FILE_SIZE);
	if (fd >= 0)
		close(fd);
}

static void test_fs(struct ctx *c, const struct dax_fs *fs)
{
	char a[PATH_MAX] = "", b[PATH_MAX] = "";
	bool clean = true;

	control(fs->name, fs->path, c->seed, a, sizeof(a));
	pinned(c, fs->name, fs->path, c->seed + 1, b, sizeof(b));
	if (a[0] && unlink(a))
		clean = false;
	if (b[0] && unlink(b))
		clean = false;
	if (!a[0] && !b[0])
		skip("no file", T_CLEAN, fs->name);
	else
		ok(clean, T_CLEAN, fs->name);
}

int main(void)
{
	const struct dax_fs *fs;
	struct ctx c;
	bool was_loaded;

	plan(2 + 3 + DAX_FS_COUNT * FS_POINTS + 2);
	c.seed = pattern_seed();

	was_loaded = module_begin();
	write_rig_begin(&c.w, was_loaded, LEN, ~c.seed,
			"register a 64 KiB anonymous source buffer");
	if (!ok(trace_setup(), T_TRACE))
		module_bail_out(was_loaded, "no fs_dax tracepoint");

	for_each_dax_fs(fs)
		test_fs(&c, fs);

	write_str(EVENT, "0");
	write_rig_end(&c.w);
	module_end(was_loaded);
	return done_testing();
}
