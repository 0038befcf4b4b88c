/*
 * One round of the hook-overhead benchmark: paths every process uses that
 * do not involve daxlease, whatever kernel and module state the caller set
 * up. Appends one line per metric to hookcost.csv:
 *
 *   variant,round,metric,ns_per_op,ops
 *
 *   hookcost VARIANT ROUND
 *
 * Metrics (median over the repetitions inside the round):
 *   gup_pin_longterm	gup_test PIN_LONGTERM_BENCHMARK (pin_user_pages,
 *			FOLL_LONGTERM) of populated anonymous memory, per page
 *   gup_unpin_longterm	the unpin_user_pages() half of it, per page
 *   gup_pin_fast_longterm	PIN_FAST_BENCHMARK (pin_user_pages_fast) with
 *			FOLL_LONGTERM|FOLL_WRITE, per page
 *   reg_anon4k		ibv_reg_mr() of 1 MiB of populated anonymous memory
 *			in 4 KiB pages (rxe), per page: RDMA's long-term pin
 *			path, which the hooks wrap in an owner scope.  Its
 *			pages are faulted even ones first, so that no two
 *			neighbours are physically adjacent and the MR's
 *			scatterlist has one entry per page in every round
 *   dereg_anon4k	its ibv_dereg_mr(), per page
 *   query_qp		ibv_query_qp() of an RC QP in RESET: a uverbs
 *			command that pins nothing and looks up an object,
 *			the path of every verbs command (the hooks' owner
 *			scope around it, the revoked-object check in the
 *			lookup), per call
 *   reg_shm4k, dereg_shm4k	the same of 1 MiB of a tmpfs file the boot's
 *			first round creates and every later one maps again:
 *			the same physical pages every round, faulted in order
 *			(a buffer faulted in order gets other pages each
 *			time, how many of them are contiguous decides the
 *			MR's scatterlist, and its count moved by up to 10%
 *			from round to round)
 *   fault_anon		write fault of a fresh anonymous page (no THP),
 *			timed 16 pages at a time
 *   fault_<fs>		write fault of an allocated page of an fsdax file,
 *			the same way
 *   fallocate_<fs>	allocate 1 MiB of an unleased fsdax file
 *   punch_<fs>		punch those 1 MiB out again
 *   truncate_<fs>	truncate 1 MiB to 0
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/types.h>

#include "bench.h"
#include "env.h"
#include "fsdax.h"
#include "gup_test.h"
#include "tap.h"
#include "verbs.h"

/*
 * Many short samples and their median rather than one long one: on a
 * shared machine under TCG the vCPU threads lose the host CPU for
 * milliseconds at a time, which a median of short samples discards.
 */
#define GUP_SIZE	(2 * MiB)
#define GUP_REPS	49
#define REG_SIZE	MiB
#define REG_REPS	31
#define FAULT_SIZE	(16 * MiB)
#define FAULT_BATCH	(16 * PAGE)	/* one sample */
#define FAULT_SAMPLES	(FAULT_SIZE / FAULT_BATCH)
#define FAULT_REPS	2
#define CMD_BATCH	64	/* calls per sample */
#define CMD_REPS	31
#define LAYOUT_SIZE	MiB
#define LAYOUT_REPS	40
#define PAGE		4096UL

static const char *variant;
static int round_nr;
static FILE *csv;
static int failures;

static void emit(const char *metric, const char *fs, double *v, size_t n,
		 unsigned long ops)
{
	char name[64];

	snprintf(name, sizeof(name), "%s%s%s", metric, fs ? "_" : "",
		 fs ? fs : "");
	fprintf(csv, "%s,%d,%s,%.1f,%lu\n", variant, round_nr, name,
		median(v, n), ops);
}

static void *anon_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		diag("mmap %zu anonymous bytes: %s", len, errno_name(errno));
		return NULL;
	}
	/* 4 KiB pages on every kernel, whatever its THP default */
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

static void bench_gup(void)
{
	double pin[GUP_REPS], unpin[GUP_REPS], fast[GUP_REPS];
	unsigned long pages = GUP_SIZE / PAGE;
	struct gup_test gup;
	char *buf;
	int fd, i;

	fd = open(GUP_TEST_PATH, O_RDWR);
	if (fd < 0) {
		diag("open %s: %s", GUP_TEST_PATH, errno_name(errno));
		failures++;
		return;
	}
	buf = anon_map(GUP_SIZE);
	if (!buf) {
		close(fd);
		failures++;
		return;
	}
	memset(buf, 0x5a, GUP_SIZE);
	for (i = 0; i < GUP_REPS; i++) {
		if (gup_test_run(fd, PIN_LONGTERM_BENCHMARK, buf, GUP_SIZE,
				 FOLL_WRITE, &gup)) {
			diag("PIN_LONGTERM_BENCHMARK: %s, %llu bytes pinned",
			     errno_name(errno), (unsigned long long)gup.size);
			failures++;
			break;
		}
		pin[i] = gup.get_delta_usec * 1000.0 / pages;
		unpin[i] = gup.put_delta_usec * 1000.0 / pages;

		if (gup_test_run(fd, PIN_FAST_BENCHMARK, buf, GUP_SIZE,
				 FOLL_WRITE | FOLL_LONGTERM, &gup)) {
			diag("PIN_FAST_BENCHMARK: %s, %llu bytes pinned",
			     errno_name(errno), (unsigned long long)gup.size);
			failures++;
			break;
		}
		fast[i] = gup.get_delta_usec * 1000.0 / pages;
	}
	if (i == GUP_REPS) {
		emit("gup_pin_longterm", NULL, pin, i, pages);
		emit("gup_unpin_longterm", NULL, unpin, i, pages);
		emit("gup_pin_fast_longterm", NULL, fast, i, pages);
	}
	munmap(buf, GUP_SIZE);
	close(fd);
}

/*
 * A tmpfs file made by the first round of the boot and kept: the same
 * physical pages in every round, so the MR's scatterlist is the same.
 */
static char *shm_map(size_t len)
{
	char path[4096];
	char *p;
	int fd;

	if (!env_tmp())
		return NULL;
	snprintf(path, sizeof(path), "%s/hookcost.shm", env_tmp());
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		diag("open %s: %s", path, errno_name(errno));
		return NULL;
	}
	if (ftruncate(fd, len)) {
		diag("ftruncate %s: %s", path, errno_name(errno));
		close(fd);
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		diag("mmap %s: %s", path, errno_name(errno));
		return NULL;
	}
	return p;
}

/*
 * Fault @len bytes of anonymous memory even pages first, then odd ones:
 * the allocator hands out neighbouring physical pages to consecutive
 * faults, which now land two virtual pages apart.
 */
static void touch_scattered(char *p, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += 2 * PAGE)
		p[off] = 0x5a;
	for (off = PAGE; off < len; off += 2 * PAGE)
		p[off] = 0x5a;
}

static void bench_reg(const char *name, bool shm)
{
	double reg[REG_REPS], dereg[REG_REPS];
	unsigned long pages = REG_SIZE / PAGE;
	struct verbs v;
	uint64_t t0;
	char *buf;
	int i;

	if (verbs_open(&v, env_rxe())) {
		failures++;
		return;
	}
	buf = shm ? shm_map(REG_SIZE) : anon_map(REG_SIZE);
	if (buf) {
		if (shm)
			memset(buf, 0x5a, REG_SIZE);
		else
			touch_scattered(buf, REG_SIZE);
		for (i = 0; i < REG_REPS; i++) {
			struct ibv_mr *mr;

			t0 = now_ns();
			mr = mr_reg(v.pd, buf, REG_SIZE);
			reg[i] = (double)(now_ns() - t0) / pages;
			if (!mr)
				break;
			t0 = now_ns();
			if (mr_dereg(mr))
				break;
			dereg[i] = (double)(now_ns() - t0) / pages;
		}
		if (i == REG_REPS) {
			char m[32];

			snprintf(m, sizeof(m), "reg_%s", name);
			emit(m, NULL, reg, i, pages);
			snprintf(m, sizeof(m), "dereg_%s", name);
			emit(m, NULL, dereg, i, pages);
		} else {
			failures++;
		}
		munmap(buf, REG_SIZE);
	} else {
		failures++;
	}
	verbs_close(&v);
}

static void bench_reg_anon(void)
{
	bench_reg("anon4k", false);
	bench_reg("shm4k", true);
}

static void bench_verbs_cmd(void)
{
	struct ibv_qp_init_attr init = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 1, .max_recv_wr = 1,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_qp_attr attr;
	double v[CMD_REPS];
	struct ibv_qp *qp;
	struct verbs vb;
	uint64_t t0;
	int i, j;

	if (verbs_open(&vb, env_rxe())) {
		failures++;
		return;
	}
	init.send_cq = vb.cq;
	init.recv_cq = vb.cq;
	qp = ibv_create_qp(vb.pd, &init);
	if (!qp) {
		diag("ibv_create_qp: %s", errno_name(errno));
		failures++;
		verbs_close(&vb);
		return;
	}
	for (i = 0; i < CMD_REPS; i++) {
		t0 = now_ns();
		for (j = 0; j < CMD_BATCH; j++)
			if (ibv_query_qp(qp, &attr, IBV_QP_STATE, &init))
				break;
		if (j < CMD_BATCH) {
			diag("ibv_query_qp: %s", errno_name(errno));
			break;
		}
		v[i] = (double)(now_ns() - t0) / CMD_BATCH;
	}
	if (i == CMD_REPS)
		emit("query_qp", NULL, v, i, CMD_BATCH);
	else
		failures++;
	ibv_destroy_qp(qp);
	verbs_close(&vb);
}

/*
 * Write one byte per page of @p, FAULT_BATCH at a time, one sample (ns per
 * page) per batch into @v.
 */
static void touch_pages(char *p, double *v)
{
	size_t batch, off;

	for (batch = 0; batch < FAULT_SAMPLES; batch++) {
		char *b = p + batch * FAULT_BATCH;
		uint64_t t0 = now_ns();

		for (off = 0; off < FAULT_BATCH; off += PAGE)
			b[off] = (char)off;
		v[batch] = (double)(now_ns() - t0) / (FAULT_BATCH / PAGE);
	}
}

static void bench_fault_anon(void)
{
	static double v[FAULT_REPS * FAULT_SAMPLES];
	int i;

	for (i = 0; i < FAULT_REPS; i++) {
		char *p = anon_map(FAULT_SIZE);

		if (!p) {
			failures++;
			return;
		}
		touch_pages(p, v + i * FAULT_SAMPLES);
		munmap(p, FAULT_SIZE);
	}
	emit("fault", "anon", v, FAULT_REPS * FAULT_SAMPLES, FAULT_SIZE / PAGE);
}

static void bench_fault_fs(const struct dax_fs *fs)
{
	static double v[FAULT_REPS * FAULT_SAMPLES];
	char path[4096];
	int fd, i;

	fd = fs_file_create(fs->path, FAULT_SIZE, 1, path, sizeof(path));
	if (fd < 0) {
		failures++;
		return;
	}
	for (i = 0; i < FAULT_REPS; i++) {
		char *p = file_map(fd, FAULT_SIZE);

		if (!p) {
			failures++;
			break;
		}
		touch_pages(p, v + i * FAULT_SAMPLES);
		munmap(p, FAULT_SIZE);
	}
	if (i == FAULT_REPS)
		emit("fault", fs->name, v, FAULT_REPS * FAULT_SAMPLES,
		     FAULT_SIZE / PAGE);
	close(fd);
	unlink(path);
}

static void bench_layout_fs(const struct dax_fs *fs)
{
	double alloc[LAYOUT_REPS], punch[LAYOUT_REPS], trunc[LAYOUT_REPS];
	int mode_punch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	char path[4096];
	uint64_t t0;
	int fd, i;

	fd = fs_file_create(fs->path, PAGE, 2, path, sizeof(path));
	if (fd < 0) {
		failures++;
		return;
	}
	for (i = 0; i < LAYOUT_REPS; i++) {
		t0 = now_ns();
		if (fallocate(fd, 0, 0, LAYOUT_SIZE))
			break;
		alloc[i] = now_ns() - t0;
		t0 = now_ns();
		if (fallocate(fd, mode_punch, 0, LAYOUT_SIZE))
			break;
		punch[i] = now_ns() - t0;
		if (fallocate(fd, 0, 0, LAYOUT_SIZE))
			break;
		t0 = now_ns();
		if (ftruncate(fd, 0))
			break;
		trunc[i] = now_ns() - t0;
	}
	if (i < LAYOUT_REPS) {
		diag("%s: fallocate/punch/truncate of an unleased file: %s",
		     fs->name, errno_name(errno));
		failures++;
	} else {
		emit("fallocate", fs->name, alloc, i, 1);
		emit("punch", fs->name, punch, i, 1);
		emit("truncate", fs->name, trunc, i, 1);
	}
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	const struct dax_fs *fs;

	if (argc != 3) {
		diag("usage: hookcost VARIANT ROUND");
		return 2;
	}
	variant = argv[1];
	round_nr = atoi(argv[2]);
	csv = csv_open("hookcost.csv", "variant,round,metric,ns_per_op,ops");
	if (!csv)
		return 1;

	bench_gup();
	bench_reg_anon();
	bench_verbs_cmd();
	bench_fault_anon();
	for_each_dax_fs(fs) {
		if (!fs->path) {
			diag("%s is not set", fs->var);
			failures++;
			continue;
		}
		bench_fault_fs(fs);
		bench_layout_fs(fs);
	}
	fclose(csv);
	return failures ? 1 : 0;
}
