/*
 * The alternative to a pinned MR: On-Demand Paging (soft-RoCE has it since
 * 6.15, so on the 7.x kernel line). An ODP MR of an fsdax file takes no
 * lease and pins nothing; a truncate by another process is not refused and
 * does not wait, it invalidates the MR's pages: RDMA WRITE into what is
 * still the file lands there, RDMA WRITE into what was cut fails and
 * writes nothing. On a device without ODP (6.12) it checks the refusal.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "pattern.h"
#include "proc.h"
#include "tap.h"
#include "verbs.h"

#define FILE_SIZE	(2UL << 20)
#define LEN		(64UL << 10)
#define OFF		((1UL << 20) + (4UL << 10))
#define CUT_SIZE	(1UL << 20)
#define LOW_OFF		(64UL << 10)
#define FS_POINTS	11

#define T_CREATE	"%s: create a 2 MiB file holding the pattern, map it"
#define T_QP		"%s: two RC QPs connected to each other (RTS)"
#define T_REG		"%s: ibv_reg_mr with IBV_ACCESS_ON_DEMAND of the mapping, no lease"
#define T_WRITE		"%s: RDMA WRITE of 64 KiB at file offset 1 MiB + 4 KiB completes with IBV_WC_SUCCESS"
#define T_WRITE_DATA	"%s: read(2): the 64 KiB at offset 1 MiB + 4 KiB hold the source pattern"
#define T_CUT		"%s: truncate(2) to 1 MiB by another process succeeds at once (no ETXTBSY, no wait for the MR)"
#define T_SIZE		"%s: the file is 1 MiB"
#define T_LOW		"%s: RDMA WRITE of 64 KiB at file offset 64 KiB (still in the file) completes with IBV_WC_SUCCESS"
#define T_LOW_DATA	"%s: read(2): the 64 KiB at offset 64 KiB hold the source pattern"
#define T_CUT_WRITE	"%s: RDMA WRITE at file offset 1 MiB + 4 KiB (cut) does not complete with IBV_WC_SUCCESS"
#define T_AFTER		"%s: the file is still 1 MiB, deregister, unlink"

struct ctx {
	struct verbs v;
	struct ibv_mr *src_mr;
	uint64_t seed, src_seed;
};

/* Child: truncate(2) the file at path @arg to CUT_SIZE. */
static int truncate_cut(void *arg)
{
	return truncate(arg, CUT_SIZE) ? errno : 0;
}

/* Does @v's device do ODP RDMA WRITE on RC QPs? */
static bool odp_write_supported(struct verbs *v)
{
	struct ibv_device_attr_ex attr = {};

	if (ibv_query_device_ex(v->ctx, NULL, &attr))
		return false;
	return (attr.odp_caps.general_caps & IBV_ODP_SUPPORT) &&
	       (attr.odp_caps.per_transport_caps.rc_odp_caps &
		IBV_ODP_SUPPORT_WRITE);
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

/* pread @len bytes at @off of @path and compare with the source pattern */
static bool file_holds_src(struct ctx *c, const char *path, off_t off)
{
	uint8_t *buf = malloc(LEN);
	bool same = false;
	int fd;

	fd = open(path, O_RDONLY);
	if (buf && fd >= 0 && pread(fd, buf, LEN, off) == (ssize_t)LEN)
		same = !pattern_check(buf, LEN, c->src_seed, 0);
	else
		diag("read %s at %lld failed", path, (long long)off);
	if (fd >= 0)
		close(fd);
	free(buf);
	return same;
}

static void test_fs(struct ctx *c, const struct dax_fs *fs)
{
	struct ibv_qp *qp[2] = { NULL, NULL };
	const char *n = fs->name;
	struct ibv_mr *mr = NULL;
	char path[PATH_MAX];
	void *map = NULL;
	int fd, r, st = -1;
	bool cut = false;

	fd = fs_file_create(fs->path, FILE_SIZE, c->seed, path, sizeof(path));
	if (fd >= 0)
		map = file_map(fd, FILE_SIZE);
	ok(map, T_CREATE, n);
	ok(!verbs_create_pair(&c->v, qp), T_QP, n);

	if (map) {
		mr = ibv_reg_mr(c->v.pd, map, FILE_SIZE,
				MR_ACCESS | IBV_ACCESS_ON_DEMAND);
		if (!mr)
			diag("ibv_reg_mr ON_DEMAND: %s", errno_name(errno));
	}
	ok(mr, T_REG, n);

	if (mr && qp[0])
		st = verbs_rdma_write(&c->v, qp[0], c->src_mr, 0, LEN,
				      (uintptr_t)map + OFF, mr->rkey);
	ok(st == IBV_WC_SUCCESS, T_WRITE, n);
	ok(st == IBV_WC_SUCCESS && file_holds_src(c, path, OFF),
	   T_WRITE_DATA, n);

	if (mr) {
		r = child_run(truncate_cut, path);
		if (r)
			diag("truncate: %s", child_result_name(r));
		cut = !r;
	}
	ok(cut, T_CUT, n);
	ok(file_size(path) == (off_t)CUT_SIZE, T_SIZE, n);

	st = -1;
	if (cut && qp[0])
		st = verbs_rdma_write(&c->v, qp[0], c->src_mr, 0, LEN,
				      (uintptr_t)map + LOW_OFF, mr->rkey);
	if (st)
		diag("completion status %d", st);
	ok(st == IBV_WC_SUCCESS, T_LOW, n);
	ok(st == IBV_WC_SUCCESS && file_holds_src(c, path, LOW_OFF),
	   T_LOW_DATA, n);

	/* last: an error completion moves the QP to the error state */
	st = IBV_WC_SUCCESS;
	if (cut && qp[0])
		st = verbs_rdma_write(&c->v, qp[0], c->src_mr, 0, LEN,
				      (uintptr_t)map + OFF, mr->rkey);
	diag("completion status %d", st);
	ok(cut && st != IBV_WC_SUCCESS, T_CUT_WRITE, n);

	r = file_size(path) == (off_t)CUT_SIZE;
	if (mr && ibv_dereg_mr(mr))
		r = 0;
	verbs_destroy_pair(qp);
	if (map)
		munmap(map, FILE_SIZE);
	if (fd >= 0 && !file_close_unlink(fd, path))
		r = 0;
	ok(r, T_AFTER, n);
}

int main(void)
{
	const struct dax_fs *fs;
	struct ctx c = {};
	void *src;

	c.seed = pattern_seed();
	c.src_seed = ~c.seed;
	if (verbs_open(&c.v, env_rxe()))
		bail_out("no rxe device");
	if (!odp_write_supported(&c.v)) {
		/*
		 * rxe before 6.15 (the 6.12 line) has no ODP: what a user sees
		 * there is the refusal, which an ODP fallback must handle.
		 */
		struct ibv_mr *mr;
		void *buf;

		plan(1);
		buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED)
			bail_out("mmap anonymous: %s", errno_name(errno));
		mr = ibv_reg_mr(c.v.pd, buf, LEN,
				MR_ACCESS | IBV_ACCESS_ON_DEMAND);
		ok(!mr && (errno == EOPNOTSUPP || errno == EINVAL),
		   "%s reports no ODP: ibv_reg_mr with IBV_ACCESS_ON_DEMAND fails (%s)",
		   env_rxe(), mr ? "succeeded" : errno_name(errno));
		if (mr)
			ibv_dereg_mr(mr);
		munmap(buf, LEN);
		verbs_close(&c.v);
		return done_testing();
	}
	plan(1 + DAX_FS_COUNT * FS_POINTS);

	src = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		bail_out("mmap anonymous: %s", errno_name(errno));
	pattern_fill(src, LEN, c.src_seed, 0);
	c.src_mr = mr_reg(c.v.pd, src, LEN);
	if (!c.src_mr)
		bail_out("no source MR");

	for_each_dax_fs(fs)
		test_fs(&c, fs);

	ok(!mr_dereg(c.src_mr) && !verbs_close(&c.v),
	   "teardown: deregister the source MR, close the device");
	munmap(src, LEN);
	return done_testing();
}
