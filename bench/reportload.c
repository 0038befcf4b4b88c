/*
 * Reports under load (issue 15): what reading the module's reports costs
 * the machine's pinning. N files on XFS, each with an unbreakable lease and
 * a 4 KiB MR (one owner); then
 *
 * - the time of one whole read of /proc/daxlease (N lease records, each
 *   with its owner line) and of /proc/self/file_pins (N paths), medians;
 * - ibv_reg_mr()/ibv_dereg_mr() of a 4 KiB MR of another leased file,
 *   ITER times, first with nobody reading the reports ("alone"), then while
 *   a second process reads /proc/daxlease whole in a loop ("reader"), then
 *   alone again ("alone2": the floor between two runs of the same thing).
 *
 * A reader that held the module's lock while printing would stall every
 * registration for the length of a whole read; one that takes it per
 * record adds at most one record's time to a registration.  On a guest
 * with one vCPU the reader and the registering process take turns on the
 * CPU, so the tail (p99) of "reader" includes waiting for the reader's time
 * slice whatever the locking; the median does not.  Appends to
 * reportload.csv:
 *
 *   n,phase,report_bytes,read_ns,reg_median_ns,reg_p99_ns,dereg_median_ns,dereg_p99_ns
 *
 * with read_ns the whole-read median of /proc/daxlease in phase "read",
 * of /proc/self/file_pins in phase "file_pins", the registration columns
 * 0 there; and the read columns 0 in the other phases.
 *
 *   reportload N ITER	(e.g. 10000 2000)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "env.h"
#include "fsdax.h"
#include "lease.h"
#include "report.h"
#include "tap.h"
#include "verbs.h"

#define PAGE		4096UL
#define READS		21
#define GLOBAL		"/proc/daxlease"
#define FILE_PINS	"/proc/self/file_pins"

static double read_median(const char *path, size_t *len)
{
	double v[READS];
	const char *step;
	int i;

	*len = 0;
	for (i = 0; i < READS; i++) {
		uint64_t t0 = now_ns();
		char *text = text_read(path, &step);

		v[i] = now_ns() - t0;
		if (!text) {
			diag("%s %s: %s", step, path, errno_name(errno));
			return -1;
		}
		*len = strlen(text);
		free(text);
	}
	return median(v, READS);
}

/* 99th percentile of @n values (sorts @v in place, as median() does). */
static double p99(double *v, size_t n)
{
	size_t i = n * 99 / 100;

	median(v, n);
	return v[i < n ? i : n - 1];
}

/* A process reading /proc/daxlease whole until it is killed. */
static pid_t reader_start(void)
{
	const char *step;
	pid_t pid = fork();
	char *text;

	if (pid)
		return pid;
	for (;;) {
		text = text_read(GLOBAL, &step);
		if (!text)
			_exit(1);
		free(text);
	}
}

static int reg_loop(struct verbs *v, char *p, long iter, const char *phase,
		    long n, FILE *csv)
{
	double *reg = calloc(iter, sizeof(*reg));
	double *dereg = calloc(iter, sizeof(*dereg));
	struct ibv_mr *mr;
	int ret = -1;
	long i = 0;

	if (!reg || !dereg)
		goto out;
	for (i = 0; i < iter; i++) {
		uint64_t t0 = now_ns(), t1;

		mr = mr_reg(v->pd, p, PAGE);
		t1 = now_ns();
		if (!mr)
			goto out;
		reg[i] = t1 - t0;
		if (mr_dereg(mr))
			goto out;
		dereg[i] = now_ns() - t1;
	}
	fprintf(csv, "%ld,%s,0,0,%.0f,%.0f,%.0f,%.0f\n", n, phase,
		median(reg, iter), p99(reg, iter), median(dereg, iter),
		p99(dereg, iter));
	fflush(csv);
	ret = 0;
out:
	if (ret)
		diag("%s: registration %ld of %ld failed", phase, i, iter);
	free(reg);
	free(dereg);
	return ret;
}

int main(int argc, char **argv)
{
	long n = argc == 3 ? atol(argv[1]) : 0;
	long iter = argc == 3 ? atol(argv[2]) : 0;
	long created = 0, registered = 0, i;
	struct ibv_mr **mr = NULL;
	char (*path)[256] = NULL;
	char tpath[256], *p, *tp = NULL;
	struct rlimit nofile;
	int *fd = NULL, tfd = -1, ret = 1, status;
	const char *dir;
	struct verbs v;
	double read_ns;
	size_t len;
	pid_t reader;
	FILE *csv;

	if (n < 1 || iter < 1) {
		diag("usage: reportload N ITER");
		return 2;
	}
	dir = env_get("DAXLEASE_XFS");
	if (!dir) {
		diag("DAXLEASE_XFS is not set");
		return 1;
	}
	nofile.rlim_cur = nofile.rlim_max = n + 1024;
	if (setrlimit(RLIMIT_NOFILE, &nofile))
		diag("setrlimit NOFILE %ld: %s", n + 1024, errno_name(errno));
	csv = csv_open("reportload.csv",
		       "n,phase,report_bytes,read_ns,reg_median_ns,reg_p99_ns,dereg_median_ns,dereg_p99_ns");
	mr = calloc(n, sizeof(*mr));
	fd = calloc(n, sizeof(*fd));
	path = calloc(n, sizeof(*path));
	if (!csv || !mr || !fd || !path || verbs_open(&v, env_rxe()))
		return 1;

	for (; created < n; created++) {
		fd[created] = fs_file_create(dir, PAGE, created, path[created],
					     sizeof(path[0]));
		if (fd[created] < 0)
			goto out;
		p = lease_set(fd[created], F_UNBREAKABLE) ? NULL :
			file_map(fd[created], PAGE);
		mr[created] = p ? mr_reg(v.pd, p, PAGE) : NULL;
		if (p)
			munmap(p, PAGE);
		if (!mr[created]) {
			diag("file %ld: lease, map or registration failed",
			     created);
			created++;
			goto out;
		}
		registered++;
	}

	read_ns = read_median(GLOBAL, &len);
	if (read_ns < 0)
		goto out;
	fprintf(csv, "%ld,read,%zu,%.0f,0,0,0,0\n", n, len, read_ns);
	read_ns = read_median(FILE_PINS, &len);
	if (read_ns < 0)
		goto out;
	fprintf(csv, "%ld,file_pins,%zu,%.0f,0,0,0,0\n", n, len, read_ns);

	tfd = fs_file_create(dir, PAGE, n, tpath, sizeof(tpath));
	if (tfd < 0 || lease_set(tfd, F_UNBREAKABLE))
		goto out;
	tp = file_map(tfd, PAGE);
	if (!tp || reg_loop(&v, tp, iter, "alone", n, csv))
		goto out;
	reader = reader_start();
	if (reader < 0)
		goto out;
	usleep(100000);		/* let it get going */
	ret = reg_loop(&v, tp, iter, "reader", n, csv);
	kill(reader, SIGKILL);
	waitpid(reader, &status, 0);
	if (!WIFSIGNALED(status)) {
		diag("the reader stopped by itself: its read failed");
		ret = 1;
	}
	if (!ret)
		ret = reg_loop(&v, tp, iter, "alone2", n, csv);
out:
	if (tp)
		munmap(tp, PAGE);
	if (tfd >= 0) {
		close(tfd);
		unlink(tpath);
	}
	for (i = 0; i < registered; i++)
		if (mr_dereg(mr[i]))
			ret = 1;
	for (i = 0; i < created; i++) {
		close(fd[i]);
		unlink(path[i]);
	}
	verbs_close(&v);
	fclose(csv);
	free(mr);
	free(fd);
	free(path);
	return ret ? 1 : 0;
}
