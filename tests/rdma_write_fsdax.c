/*
 * RDMA WRITE into a leased fsdax file, daxlease loaded: the file mapping,
 * registered under an unbreakable lease, is the destination of a loopback
 * RDMA WRITE; read(2) of the reopened file shows the data where it was
 * written and nothing else changed. Then the protection outlives the
 * mapping and the fds (design README, "Protection keys on leases and pins,
 * never on mapping_mapped()"): with every fd closed and the mapping gone but
 * the MR alive, truncate-down by another process fails with ETXTBSY and
 * changes nothing; after ibv_dereg_mr it succeeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "keeper.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "tap.h"
#include "verbs.h"

/* The point names say these. */
#define FILE_SIZE	(2UL << 20)
#define LEN		(64UL << 10)
#define OFF		((1UL << 20) + (4UL << 10))
#define CUT_SIZE	(1UL << 20)
#define FS_POINTS	14

/* Point names, the same whether the point runs or is skipped. */
#define T_CREATE	"%s: create a 2 MiB file holding the pattern"
#define T_DAX		"%s: file is DAX (statx STATX_ATTR_DAX)"
#define T_LEASE		"%s: F_SETLEASE F_LAYOUT|F_EXCLUSIVE (48) returns 0"
#define T_REG		"%s: register the MAP_SHARED mapping of the file as an MR"
#define T_WRITE		"%s: RDMA WRITE of 64 KiB at file offset 1 MiB + 4 KiB completes with IBV_WC_SUCCESS"
#define T_DEREG		"%s: ibv_dereg_mr of the file MR"
#define T_RELEASE	"%s: F_UNLCK returns 0, munmap and close"
#define T_DATA		"%s: reopened, read(2): the written 64 KiB hold the source pattern"
#define T_REST		"%s: reopened, read(2): the rest of the file holds its previous contents"
#define T_ORPHAN	"%s: 48, register, munmap and close every fd with the MR alive"
#define T_REFUSED	"%s: unmapped and closed but pinned: truncate(2) to 1 MiB by another process fails with ETXTBSY, nothing changed"
#define T_ORPHAN_DEREG	"%s: ibv_dereg_mr of the MR of the closed file"
#define T_AFTER		"%s: after the deregistration: truncate(2) to 1 MiB by another process succeeds, size 1 MiB"
#define T_CLEAN		"%s: unlink"

struct ctx {
	struct write_rig w;
	uint64_t seed;		/* of the files */
	uint64_t src_seed;	/* of the source buffer */
};

/* read(2) @len bytes of @path into a new buffer; NULL with a diag. */
static uint8_t *read_file(const char *path, size_t len)
{
	uint8_t *buf = malloc(len);
	size_t done = 0;
	ssize_t n = 0;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || !buf) {
		diag("open %s: %s", path, buf ? errno_name(errno) : "ENOMEM");
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (done < len) {
		n = read(fd, buf + done, len - done);
		if (n <= 0)
			break;
		done += n;
	}
	if (done < len) {
		diag("read at %#zx: %s", done,
		     n < 0 ? errno_name(errno) : "unexpected EOF");
		free(buf);
		buf = NULL;
	}
	close(fd);
	return buf;
}

/*
 * Part 1: lease, register, RDMA WRITE, release. Emits T_LEASE to T_REST.
 * Closes @fd.
 */
static void write_part(struct ctx *c, const char *n, const char *path, int fd)
{
	struct ibv_mr *mr = NULL;
	bool leased, wrote = false, released;
	uint8_t *buf;
	void *map = NULL;
	int status;

	leased = !lease_set(fd, F_UNBREAKABLE);
	if (!leased)
		diag("F_SETLEASE 48: %s", errno_name(errno));
	ok(leased, T_LEASE, n);

	if (leased)
		map = file_map(fd, FILE_SIZE);
	if (map)
		mr = mr_reg(c->w.v.pd, map, FILE_SIZE);
	ok(mr, T_REG, n);

	if (mr && c->w.ready) {
		status = verbs_rdma_write(&c->w.v, c->w.qp[0], c->w.src_mr, 0,
					  LEN,
					  (uintptr_t)map + OFF, mr->rkey);
		wrote = ok(status == IBV_WC_SUCCESS, T_WRITE, n);
	} else {
		skip(mr ? "no QPs or source MR" : "no MR", T_WRITE, n);
	}

	if (mr)
		ok(!mr_dereg(mr), T_DEREG, n);
	else
		skip("no MR", T_DEREG, n);

	released = true;
	if (leased && lease_set(fd, F_UNLCK)) {
		diag("F_UNLCK: %s", errno_name(errno));
		released = false;
	}
	if (map && munmap(map, FILE_SIZE)) {
		diag("munmap: %s", errno_name(errno));
		released = false;
	}
	if (close(fd)) {
		diag("close: %s", errno_name(errno));
		released = false;
	}
	ok(leased && released, T_RELEASE, n);

	buf = wrote ? read_file(path, FILE_SIZE) : NULL;
	if (!buf) {
		skip(wrote ? "cannot read the file" : "no write", T_DATA, n);
		skip(wrote ? "cannot read the file" : "no write", T_REST, n);
		return;
	}
	ok(!pattern_check(buf + OFF, LEN, c->src_seed, 0), T_DATA, n);
	ok(!pattern_check(buf, OFF, c->seed, 0) &&
	   !pattern_check(buf + OFF + LEN, FILE_SIZE - OFF - LEN, c->seed,
			  OFF + LEN), T_REST, n);
	free(buf);
}

/* Part 2: the protection without mapping or fd. T_ORPHAN to T_AFTER. */
static void orphan_part(struct ctx *c, const char *n, const char *path)
{
	struct file_state before, after;
	struct stat st = { .st_size = -1 };
	struct ibv_mr *mr;
	bool closed, snap, refused, done;

	mr = mr_pin_closed(c->w.v.pd, path, FILE_SIZE, &closed);
	ok(closed, T_ORPHAN, n);

	if (closed) {
		snap = !file_state_path(path, &before);
		refused = truncate_other_is(path, CUT_SIZE, ETXTBSY);
		snap = !file_state_path(path, &after) && snap;
		ok(refused && snap && file_state_same(&before, &after),
		   T_REFUSED, n);
		file_state_free(&before);
		file_state_free(&after);
	} else {
		skip("no pinned closed file", T_REFUSED, n);
	}

	if (mr)
		ok(!mr_dereg(mr), T_ORPHAN_DEREG, n);
	else
		skip("no MR", T_ORPHAN_DEREG, n);

	done = truncate_other_is(path, CUT_SIZE, 0);
	if (stat(path, &st))
		diag("stat %s: %s", path, errno_name(errno));
	else if (st.st_size != CUT_SIZE)
		diag("size is %lld", (long long)st.st_size);
	ok(done && st.st_size == CUT_SIZE, T_AFTER, n);
}

static void test_fs(struct ctx *c, const struct dax_fs *fs)
{
	const char *n = fs->name;
	char path[PATH_MAX];
	int fd, dax;

	fd = fs_file_create(fs->path, FILE_SIZE, c->seed, path, sizeof(path));
	if (!ok(fd >= 0, T_CREATE, n)) {
		skip("no file", T_DAX, n);
		skip("no file", T_LEASE, n);
		skip("no file", T_REG, n);
		skip("no file", T_WRITE, n);
		skip("no file", T_DEREG, n);
		skip("no file", T_RELEASE, n);
		skip("no file", T_DATA, n);
		skip("no file", T_REST, n);
		skip("no file", T_ORPHAN, n);
		skip("no file", T_REFUSED, n);
		skip("no file", T_ORPHAN_DEREG, n);
		skip("no file", T_AFTER, n);
		skip("no file", T_CLEAN, n);
		return;
	}
	diag("%s: %s", n, path);
	dax = file_is_dax(fd);
	ok(dax == 1, T_DAX, n);

	write_part(c, n, path, fd);
	orphan_part(c, n, path);

	if (unlink(path)) {
		diag("unlink %s: %s", path, errno_name(errno));
		ok(false, T_CLEAN, n);
	} else {
		ok(true, T_CLEAN, n);
	}
}

int main(void)
{
	const struct dax_fs *fs;
	struct ctx c;
	bool was_loaded;

	plan(2 + 2 + DAX_FS_COUNT * FS_POINTS + 2);
	c.seed = pattern_seed();
	c.src_seed = ~c.seed;

	was_loaded = module_begin();
	write_rig_begin(&c.w, was_loaded, LEN, c.src_seed,
			"register a 64 KiB anonymous source buffer holding a second pattern");

	for_each_dax_fs(fs)
		test_fs(&c, fs);

	write_rig_end(&c.w);
	module_end(was_loaded);
	return done_testing();
}
