/* Shared by the benchmark programs: see bench.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench.h"
#include "tap.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double min_of(const double *v, size_t n)
{
	double m = n ? v[0] : 0;
	size_t i;

	for (i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

double max_of(const double *v, size_t n)
{
	double m = n ? v[0] : 0;
	size_t i;

	for (i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

FILE *csv_open(const char *name, const char *header)
{
	const char *dir = getenv("DAXLEASE_BENCH_OUT");
	char path[4096];
	struct stat st;
	bool fresh;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : ".", name);
	fresh = stat(path, &st) != 0 || st.st_size == 0;
	f = fopen(path, "a");
	if (!f) {
		diag("open %s: %s", path, errno_name(errno));
		return NULL;
	}
	if (fresh)
		fprintf(f, "%s\n", header);
	return f;
}

const char *size_name(size_t bytes)
{
	static char buf[4][32];
	static unsigned int slot;
	char *s = buf[slot++ % 4];

	if (bytes >= GiB && bytes % GiB == 0)
		snprintf(s, 32, "%zuG", bytes / GiB);
	else if (bytes >= MiB && bytes % MiB == 0)
		snprintf(s, 32, "%zuM", bytes / MiB);
	else if (bytes >= KiB && bytes % KiB == 0)
		snprintf(s, 32, "%zuK", bytes / KiB);
	else
		snprintf(s, 32, "%zu", bytes);
	return s;
}

size_t size_parse(const char *s)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		return 0;
	switch (*end) {
	case 'K': n <<= 10; end++; break;
	case 'M': n <<= 20; end++; break;
	case 'G': n <<= 30; end++; break;
	}
	return *end ? 0 : n;
}
