/*
 * Refusal latency: how long truncate and punch of a leased fsdax file
 * pinned by an MR take to fail with ETXTBSY, next to the same operation
 * succeeding on an unleased file of the same size. Needs the daxlease
 * module loaded. Appends to refusal.csv:
 *
 *   fs,op,refused_ns,refused_min_ns,refused_max_ns,unleased_ns,reps,etxtbsy
 *
 * The lease and the MR belong to a keeper process (tests/lib/keeper.h):
 * the lease holder's own truncate gets EDEADLK, another process's ETXTBSY,
 * and that is the case timed. etxtbsy counts the refusals that came back
 * as ETXTBSY (all of them, or the program fails). A SIGALRM guard turns a call that waits instead of
 * refusing into EINTR (a stock kernel would wait for the pin to go).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "env.h"
#include "fsdax.h"
#include "keeper.h"
#include "lease.h"
#include "proc.h"
#include "tap.h"
#include "verbs.h"

#define FILE_SIZE	(2 * MiB)
#define PUNCH_LEN	MiB
#define REPS		51
#define GUARD_S		10

enum op { TRUNCATE, PUNCH, NR_OPS };

static const char *const op_name[NR_OPS] = { "truncate", "punch" };

static int do_op(int fd, enum op op)
{
	if (op == TRUNCATE)
		return ftruncate(fd, 0);
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			 PUNCH_LEN);
}

/* The successful operation on an unleased file, refilled between runs. */
static double unleased_ns(const struct dax_fs *fs, enum op op)
{
	double v[REPS];
	char path[4096];
	uint64_t t0;
	int fd, r;

	fd = fs_file_create(fs->path, FILE_SIZE, 4, path, sizeof(path));
	if (fd < 0)
		return -1;
	for (r = 0; r < REPS; r++) {
		if (fallocate(fd, 0, 0, FILE_SIZE)) {
			diag("%s: fallocate: %s", fs->name, errno_name(errno));
			break;
		}
		t0 = now_ns();
		if (do_op(fd, op)) {
			diag("%s: %s of an unleased file: %s", fs->name,
			     op_name[op], errno_name(errno));
			break;
		}
		v[r] = now_ns() - t0;
	}
	close(fd);
	unlink(path);
	return r == REPS ? median(v, REPS) : -1;
}

/* In the keeper: lease, map and register the file at @arg, and keep it. */
static int hold_pinned(void *arg)
{
	static struct verbs v;
	const char *path = arg;
	void *p;
	int fd;

	fd = open(path, O_RDWR);
	if (fd < 0)
		return errno;
	if (lease_set(fd, F_UNBREAKABLE))
		return errno;
	p = file_map(fd, FILE_SIZE);
	if (!p || verbs_open(&v, env_rxe()))
		return CHILD_SETUP_ERR;
	return mr_reg(v.pd, p, FILE_SIZE) ? 0 : CHILD_SETUP_ERR;
}

static int bench_fs(const struct dax_fs *fs, FILE *csv)
{
	double refused[REPS];
	struct keeper holder = { .pid = -1 };
	char path[4096];
	int fd, ret = -1, etxtbsy, held;
	enum op op;
	uint64_t t0;

	fd = fs_file_create(fs->path, FILE_SIZE, 5, path, sizeof(path));
	if (fd < 0)
		return -1;
	fflush(csv);
	held = keeper_start(&holder, hold_pinned, path, true, -1);
	if (held) {
		diag("%s: lease and pin in a second process: %s", fs->name,
		     child_result_name(held));
		goto out;
	}

	for (op = 0; op < NR_OPS; op++) {
		double base = unleased_ns(fs, op);
		int r;

		etxtbsy = 0;
		for (r = 0; r < REPS; r++) {
			int failed, err;

			timeout_arm(GUARD_S);
			t0 = now_ns();
			failed = do_op(fd, op);
			err = errno;
			refused[r] = now_ns() - t0;
			timeout_disarm();
			if (!failed || err != ETXTBSY) {
				diag("%s: %s of a file another process pinned: %s",
				     fs->name, op_name[op],
				     failed ? errno_name(err) : "succeeded");
				goto out;
			}
			etxtbsy++;
		}
		if (base < 0)
			goto out;
		fprintf(csv, "%s,%s,%.0f,%.0f,%.0f,%.0f,%d,%d\n", fs->name,
			op_name[op], median(refused, REPS),
			min_of(refused, REPS), max_of(refused, REPS), base,
			REPS, etxtbsy);
	}
	ret = 0;
out:
	if (keeper_exit(&holder))
		ret = -1;
	close(fd);
	unlink(path);
	return ret;
}

int main(void)
{
	const struct dax_fs *fs;
	int failures = 0;
	FILE *csv;

	csv = csv_open("refusal.csv",
		       "fs,op,refused_ns,refused_min_ns,refused_max_ns,unleased_ns,reps,etxtbsy");
	if (!csv)
		return 1;
	for_each_dax_fs(fs)
		if (!fs->path || bench_fs(fs, csv))
			failures++;
	fclose(csv);
	return failures ? 1 : 0;
}
