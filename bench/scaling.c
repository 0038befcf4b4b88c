/*
 * Scaling of the accounting: the module's memory and the time to read
 * /proc/self/file_pins as MRs, pinned bytes, files and owners grow. Needs
 * the daxlease module loaded and the kernel booted with slab_debug=U on
 * the kmalloc caches (make bench does), so that
 * /sys/kernel/debug/slab/<cache>/alloc_traces counts the live objects of
 * each allocation site: module memory is the sum over the sites in
 * [daxlease] of objects x the cache's object size
 * (/sys/kernel/slab/<cache>/object_size). That counts exactly the module's
 * kzalloc()s (leases, owners, per-(owner, file) records), nothing of
 * rxe's or the core's. Appends to scaling.csv:
 *
 *   sweep,n,pinned_bytes,mrs,files,owners,pairs,module_objects,
 *   module_bytes,slab_delta_kb,file_pins_bytes,file_pins_read_ns,reg_ns
 *
 * reg_ns is the mean ibv_reg_mr() time per MR over the point. The module
 * frees some objects with kfree_rcu(), which batches frees for seconds:
 * every count is taken after drop_caches (its shrinker drains the batches)
 * once it has stopped moving, and after teardown it must come back to
 * where it started.
 *
 *   scaling MAXSIZE MAXCOUNT	(e.g. 1G 10000)
 *
 * Sweeps, each point set up from nothing and torn down after:
 *   size	one 4 KiB..MAXSIZE MR of one file
 *   mrs	1..MAXCOUNT 4 KiB MRs, each a different page of one file
 *   files	1..MAXCOUNT files with one 4 KiB MR each, one owner
 *   owners	1..64 uverbs contexts with one 4 KiB MR each, one file
 * pairs is the number of (owner, file) pairs the module has to count.
 * slab_delta_kb is /proc/meminfo Slab growth, which includes rxe's
 * per-MR objects: shown for scale, not the module's own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "env.h"
#include "fsdax.h"
#include "lease.h"
#include "report.h"
#include "tap.h"
#include "verbs.h"

#define SLAB_DIR	"/sys/kernel/slab"
#define TRACES_DIR	"/sys/kernel/debug/slab"
#define MODULE_TAG	"[daxlease]"
#define READS		21
#define READ_BUDGET_NS	2000000000ULL	/* fewer reads when each is slow */
#define MODULE_SETTLE_MS	10000
#define MAX_OWNERS	64
#define PAGE		4096UL

struct point {
	const char *sweep;
	long n;
	size_t mr_size;
	long mrs, files, owners;
};

static const char *dir;

static long read_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/*
 * Live module objects and their bytes, from alloc_traces of every tracked
 * cache. -1 with a diag when no cache is tracked.
 */
static int module_memory(long *objects, long *bytes)
{
	struct dirent *de;
	char path[512], line[4096];
	int tracked = 0;
	DIR *d;

	*objects = *bytes = 0;
	d = opendir(TRACES_DIR);
	if (!d) {
		diag("open %s: %s", TRACES_DIR, errno_name(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		long size;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), SLAB_DIR "/%s/object_size",
			 de->d_name);
		size = read_long(path);
		snprintf(path, sizeof(path), TRACES_DIR "/%s/alloc_traces",
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!strncmp(de->d_name, "kmalloc-", 8))
			tracked++;
		/* "count caller age=..." lines, then indented stack lines */
		while (fgets(line, sizeof(line), f)) {
			long count = strtol(line, NULL, 10);

			if (count > 0 && strstr(line, MODULE_TAG)) {
				*objects += count;
				*bytes += count * size;
			}
		}
		fclose(f);
	}
	closedir(d);
	if (!tracked) {
		diag("no kmalloc cache tracked: boot with slab_debug=U,kmalloc-*");
		return -1;
	}
	return 0;
}

/* Ask the shrinkers, kfree_rcu()'s among them, to free what they hold. */
static void drop_slab(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	if (fd < 0 || write(fd, "2", 1) != 1)
		diag("drop_caches: %s", errno_name(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * module_memory() once the deferred frees are done: unchanged over three
 * reads 100 ms apart, or equal to @want (>= 0) if given. -1 on timeout.
 */
static int module_memory_settled(long want, long *objects, long *bytes)
{
	long last = -1, same = 0, waited;

	for (waited = 0; waited < MODULE_SETTLE_MS; waited += 100) {
		if (waited % 1000 == 0)
			drop_slab();
		if (module_memory(objects, bytes))
			return -1;
		if (want >= 0 ? *objects == want : *objects == last && ++same == 3)
			return 0;
		if (*objects != last)
			same = 0;
		last = *objects;
		usleep(100000);
	}
	diag("module objects still moving after %d ms (%ld)", MODULE_SETTLE_MS,
	     *objects);
	return -1;
}

static long slab_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* Median time to read /proc/self/file_pins whole; its length in *@len. */
static double file_pins_read_ns(size_t *len)
{
	double v[READS];
	const char *step;
	int i;

	uint64_t start = now_ns();

	*len = 0;
	for (i = 0; i < READS && (i < 3 || now_ns() - start < READ_BUDGET_NS);
	     i++) {
		uint64_t t0 = now_ns();
		char *text = text_read("/proc/self/file_pins", &step);

		v[i] = now_ns() - t0;
		if (!text) {
			diag("%s /proc/self/file_pins: %s", step,
			     errno_name(errno));
			return -1;
		}
		*len = strlen(text);
		free(text);
	}
	return median(v, i);
}

/* MR m belongs to owner m % owners and file m % files (one is 1). */
static long pairs(const struct point *pt)
{
	long most = pt->owners > pt->files ? pt->owners : pt->files;

	return pt->mrs < most ? pt->mrs : most;
}

static int run_point(const struct point *pt, FILE *csv)
{
	long per_file = (pt->mrs + pt->files - 1) / pt->files;
	size_t file_size = per_file * pt->mr_size;
	struct verbs owner[MAX_OWNERS];
	struct ibv_mr **mr;
	long base_obj, base_bytes, obj, bytes, slab0, i;
	char (*path)[256];
	int *fd, ret = -1;
	double read_ns;
	uint64_t reg_ns = 0, t0;
	size_t text_len;
	long opened = 0, created = 0, registered = 0;

	mr = calloc(pt->mrs, sizeof(*mr));
	fd = calloc(pt->files, sizeof(*fd));
	path = calloc(pt->files, sizeof(*path));
	if (!mr || !fd || !path) {
		diag("out of memory");
		goto out;
	}
	if (module_memory_settled(-1, &base_obj, &base_bytes))
		goto out;
	slab0 = slab_kb();

	for (; opened < pt->owners; opened++)
		if (verbs_open(&owner[opened], env_rxe()))
			goto out;
	for (; created < pt->files; created++) {
		fd[created] = fs_file_create(dir, file_size, created,
					     path[created], sizeof(path[0]));
		if (fd[created] < 0)
			goto out;
		if (lease_set(fd[created], F_UNBREAKABLE)) {
			diag("F_SETLEASE: %s", errno_name(errno));
			created++;
			goto out;
		}
	}
	/* one mapping per file at a time; an MR outlives its mapping */
	for (i = 0; i < pt->files; i++) {
		char *p = file_map(fd[i], file_size);
		long m;

		if (!p)
			goto out;
		for (m = i; m < pt->mrs; m += pt->files) {
			size_t off = (m / pt->files) * pt->mr_size;

			t0 = now_ns();
			mr[m] = mr_reg(owner[m % pt->owners].pd, p + off,
				       pt->mr_size);
			reg_ns += now_ns() - t0;
			if (!mr[m])
				break;
			registered++;
		}
		munmap(p, file_size);
		if (m < pt->mrs)
			goto out;
	}

	if (module_memory_settled(-1, &obj, &bytes))
		goto out;
	read_ns = file_pins_read_ns(&text_len);
	if (read_ns < 0)
		goto out;
	fprintf(csv, "%s,%ld,%zu,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%zu,%.0f,%.0f\n",
		pt->sweep, pt->n, pt->mrs * pt->mr_size, pt->mrs, pt->files,
		pt->owners, pairs(pt),
		obj - base_obj, bytes - base_bytes, slab_kb() - slab0,
		text_len, read_ns, (double)reg_ns / pt->mrs);
	fflush(csv);
	ret = 0;
out:
	for (i = 0; i < pt->mrs; i++)
		if (mr && mr[i] && mr_dereg(mr[i]))
			ret = -1;
	for (i = 0; i < created; i++) {
		close(fd[i]);
		unlink(path[i]);
	}
	for (i = 0; i < opened; i++)
		verbs_close(&owner[i]);
	free(mr);
	free(fd);
	free(path);
	if (!ret && module_memory_settled(base_obj, &obj, &bytes)) {
		diag("%s %ld: %ld module objects left after teardown",
		     pt->sweep, pt->n, obj - base_obj);
		ret = -1;
	}
	if (ret)
		diag("%s %ld: failed after %ld MRs", pt->sweep, pt->n,
		     registered);
	return ret;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {
		4 * KiB, 64 * KiB, MiB, 16 * MiB, 256 * MiB, GiB,
	};
	struct rlimit nofile;
	size_t max_size, i;
	long max_count, n;
	int failures = 0;
	FILE *csv;

	max_size = argc == 3 ? size_parse(argv[1]) : 0;
	max_count = argc == 3 ? atol(argv[2]) : 0;
	if (!max_size || max_count < 1) {
		diag("usage: scaling MAXSIZE MAXCOUNT");
		return 2;
	}
	dir = env_get("DAXLEASE_XFS");
	if (!dir) {
		diag("DAXLEASE_XFS is not set");
		return 1;
	}
	/* one lease fd per file stays open */
	nofile.rlim_cur = nofile.rlim_max = max_count + 1024;
	if (setrlimit(RLIMIT_NOFILE, &nofile))
		diag("setrlimit NOFILE %ld: %s", max_count + 1024L,
		     errno_name(errno));
	csv = csv_open("scaling.csv",
		       "sweep,n,pinned_bytes,mrs,files,owners,pairs,module_objects,module_bytes,slab_delta_kb,file_pins_bytes,file_pins_read_ns,reg_ns");
	if (!csv)
		return 1;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct point pt = { "size", sizes[i], sizes[i], 1, 1, 1 };

		if (sizes[i] <= max_size)
			failures += !!run_point(&pt, csv);
	}
	for (n = 1; n <= max_count; n *= 10) {
		struct point pt = { "mrs", n, PAGE, n, 1, 1 };

		failures += !!run_point(&pt, csv);
	}
	for (n = 1; n <= max_count; n *= 10) {
		struct point pt = { "files", n, PAGE, n, n, 1 };

		failures += !!run_point(&pt, csv);
	}
	for (n = 1; n <= MAX_OWNERS; n *= 4) {
		struct point pt = { "owners", n, PAGE, n, 1, n };

		failures += !!run_point(&pt, csv);
	}
	fclose(csv);
	return failures ? 1 : 0;
}
