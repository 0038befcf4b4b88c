/*
 * daxlease's pinned MR against the alternative, On-Demand Paging (rxe has
 * it on the 7.x line), on the same fsdax file (XFS) and rxe device, in one
 * boot (scripts/bench, BENCH_MODE=odp):
 *
 *   registration: ibv_reg_mr() of 4 KiB to MAXSIZE of a mapping of the file
 *	whose pages are all present (written once before), as a pinned MR
 *	under an unbreakable lease (48) and as an ODP MR without a lease,
 *	repetitions interleaved; to odp_reg.csv:
 *	size,kind,reg_ns,dereg_ns,reps
 *   first write: a fresh mapping of 64 MiB of the file (no page present),
 *	registered, then written once by one 64 MiB RDMA WRITE; then written
 *	a second time; to odp_write.csv:
 *	kind,reg_ns,first_write_ns,second_write_ns,reps
 *	The pinned MR faults its pages in during ibv_reg_mr(); the ODP MR
 *	takes its faults during the first write. Every write is checked: the
 *	file must hold the source pattern (read(2)) afterwards.
 *
 *   odp MAXSIZE
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

#include "bench.h"
#include "env.h"
#include "fsdax.h"
#include "lease.h"
#include "pattern.h"
#include "tap.h"
#include "verbs.h"

#define REG_REPS	5
#define WRITE_LEN	(64 * MiB)
#define WRITE_REPS	3

enum kind { PINNED, ODP, NR_KINDS };
static const char *const kind_name[NR_KINDS] = { "pinned", "odp" };

static struct verbs v;
static struct ibv_qp *qp[2];
static struct ibv_mr *src_mr;
static uint64_t src_seed;

static struct ibv_mr *reg(enum kind k, void *addr, size_t len)
{
	int access = MR_ACCESS | (k == ODP ? IBV_ACCESS_ON_DEMAND : 0);
	struct ibv_mr *mr = ibv_reg_mr(v.pd, addr, len, access);

	if (!mr)
		diag("ibv_reg_mr %s %zu: %s", kind_name[k], len,
		     errno_name(errno));
	return mr;
}

/*
 * One RDMA WRITE of @len bytes from the source MR to @raddr, waiting up to
 * two minutes for its completion (tests/lib's 10 s are too short for an
 * ODP MR taking its faults under TCG): the completion status, or -1.
 */
static int write_once(size_t len, uint64_t raddr, uint32_t rkey)
{
	static uint64_t wr_id = 1000;
	struct ibv_sge sge = {
		.addr = (uintptr_t)src_mr->addr, .length = len,
		.lkey = src_mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = ++wr_id, .sg_list = &sge, .num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE, .send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	};
	uint64_t deadline = now_ns() + 120ULL * 1000000000;
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	int n;

	if (ibv_post_send(qp[0], &wr, &bad))
		return -1;
	while (now_ns() < deadline) {
		n = ibv_poll_cq(v.cq, 1, &wc);
		if (n < 0)
			return -1;
		if (n && wc.wr_id == wr.wr_id)
			return wc.status;
		if (!n)
			usleep(100);
	}
	diag("no completion of the %zu-byte RDMA WRITE within 120 s", len);
	return -1;
}

/* Write-fault every page of @addr: one byte per 4 KiB. */
static void touch(char *addr, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += 4 * KiB)
		addr[off] = 1;
}

static bool reg_sizes(int fd, size_t max)
{
	double t_reg[NR_KINDS][REG_REPS], t_dereg[NR_KINDS][REG_REPS];
	FILE *csv = csv_open("odp_reg.csv", "size,kind,reg_ns,dereg_ns,reps");
	char *map = file_map(fd, max);
	bool good = csv && map;
	size_t size;
	int r, k;

	if (!good)
		return false;
	touch(map, max);
	for (size = 4 * KiB; size <= max && good; size *= 16) {
		for (r = 0; r < REG_REPS && good; r++) {
			for (k = 0; k < NR_KINDS && good; k++) {
				/* alternate which kind goes first */
				enum kind kk = (r % 2) ? NR_KINDS - 1 - k : k;
				uint64_t t0 = now_ns(), t1, t2;
				struct ibv_mr *mr = reg(kk, map, size);

				t1 = now_ns();
				good = mr && !ibv_dereg_mr(mr);
				t2 = now_ns();
				t_reg[kk][r] = t1 - t0;
				t_dereg[kk][r] = t2 - t1;
			}
		}
		for (k = 0; k < NR_KINDS && good; k++) {
			fprintf(csv, "%zu,%s,%.0f,%.0f,%d\n", size,
				kind_name[k], median(t_reg[k], REG_REPS),
				median(t_dereg[k], REG_REPS), REG_REPS);
			diag("reg %s %s: %.0f ns", size_name(size),
			     kind_name[k], median(t_reg[k], REG_REPS));
		}
		if (size * 16 > max && size != max)
			size = max / 16;	/* end with MAXSIZE itself */
	}
	munmap(map, max);
	fclose(csv);
	return good;
}

/* read(2) of the first @len bytes of @fd holds the source pattern */
static bool file_holds_src(int fd, size_t len)
{
	char *buf = malloc(len);
	bool same = buf && pread(fd, buf, len, 0) == (ssize_t)len &&
		    !pattern_check(buf, len, src_seed, 0);

	free(buf);
	return same;
}

static bool first_writes(int fd)
{
	double t_reg[NR_KINDS][WRITE_REPS], t_first[NR_KINDS][WRITE_REPS];
	double t_second[NR_KINDS][WRITE_REPS];
	FILE *csv = csv_open("odp_write.csv",
			     "kind,reg_ns,first_write_ns,second_write_ns,reps");
	bool good = csv;
	int r, k;

	for (r = 0; r < WRITE_REPS && good; r++) {
		for (k = 0; k < NR_KINDS && good; k++) {
			enum kind kk = (r % 2) ? NR_KINDS - 1 - k : k;
			uint64_t t0, t1, t2, t3;
			struct ibv_mr *mr = NULL;
			char *map;
			int st = -1;

			/* nothing of the file mapped: every page faults */
			if (ftruncate(fd, 0) || ftruncate(fd, WRITE_LEN) ||
			    fsync(fd)) {
				diag("ftruncate: %s", errno_name(errno));
				good = false;
				break;
			}
			map = file_map(fd, WRITE_LEN);
			if (!map || (kk == PINNED &&
				     lease_set(fd, F_UNBREAKABLE))) {
				diag("map or lease: %s", errno_name(errno));
				good = false;
				break;
			}
			t0 = now_ns();
			mr = reg(kk, map, WRITE_LEN);
			t1 = now_ns();
			if (mr)
				st = write_once(WRITE_LEN, (uintptr_t)map,
						mr->rkey);
			t2 = now_ns();
			if (!st)
				st = write_once(WRITE_LEN, (uintptr_t)map,
						mr->rkey);
			t3 = now_ns();
			good = mr && !st && file_holds_src(fd, WRITE_LEN);
			diag("%s round %d: reg, first, second write %.1f, %.1f, %.1f ms; %d",
			     kind_name[kk], r, (t1 - t0) / 1e6, (t2 - t1) / 1e6,
			     (t3 - t2) / 1e6, st);
			if (!good)
				diag("%s: write status %d, or the file does not hold the data",
				     kind_name[kk], st);
			if (mr && ibv_dereg_mr(mr))
				good = false;
			munmap(map, WRITE_LEN);
			if (kk == PINNED && lease_set(fd, F_UNLCK))
				good = false;
			t_reg[kk][r] = t1 - t0;
			t_first[kk][r] = t2 - t1;
			t_second[kk][r] = t3 - t2;
		}
	}
	for (k = 0; k < NR_KINDS && good; k++) {
		fprintf(csv, "%s,%.0f,%.0f,%.0f,%d\n", kind_name[k],
			median(t_reg[k], WRITE_REPS),
			median(t_first[k], WRITE_REPS),
			median(t_second[k], WRITE_REPS), WRITE_REPS);
		diag("64M %s: reg %.0f ns, first write %.0f ns, second %.0f ns",
		     kind_name[k], median(t_reg[k], WRITE_REPS),
		     median(t_first[k], WRITE_REPS),
		     median(t_second[k], WRITE_REPS));
	}
	if (csv)
		fclose(csv);
	return good;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("DAXLEASE_XFS");
	size_t max = argc == 2 ? size_parse(argv[1]) : 0;
	char path[PATH_MAX];
	void *src;
	int fd;

	plan(3);
	if (!max || !dir)
		bail_out("usage: odp MAXSIZE (DAXLEASE_XFS set)");
	src_seed = pattern_seed();
	if (verbs_open(&v, env_rxe()) || verbs_create_pair(&v, qp))
		bail_out("no rxe device or QPs");
	src = mmap(NULL, WRITE_LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		bail_out("mmap: %s", errno_name(errno));
	pattern_fill(src, WRITE_LEN, src_seed, 0);
	src_mr = mr_reg(v.pd, src, WRITE_LEN);
	if (!src_mr)
		bail_out("no source MR");

	fd = fs_file_create(dir, max, src_seed ^ 1, path, sizeof(path));
	if (fd < 0)
		bail_out("no %s file on %s", size_name(max), dir);
	/* the pinned MR's lease for the registrations: held throughout */
	ok(!lease_set(fd, F_UNBREAKABLE) && reg_sizes(fd, max) &&
	   !lease_set(fd, F_UNLCK),
	   "registration of 4K to %s, pinned (48) and ODP", size_name(max));
	ok(first_writes(fd),
	   "64 MiB written once and twice by RDMA, pinned and ODP; the file holds the data");
	ok(file_close_unlink(fd, path) && !verbs_destroy_pair(qp) &&
	   !mr_dereg(src_mr) && !verbs_close(&v), "teardown");
	return done_testing();
}
