// SPDX-License-Identifier: GPL-2.0
/*
 * Functions of bench/tbprof.c's windows, by the guest's /proc/kallsyms of
 * the same boot (scripts/bench BENCH_MODE=profile saves both):
 *
 *   tbprof-report KALLSYMS PROFILE		every window's total
 *   tbprof-report KALLSYMS PROFILE A		window A's top functions
 *   tbprof-report KALLSYMS PROFILE A B	B - A, by function, largest first
 *
 * Instructions of user space count as "(user)", of addresses no text
 * symbol covers as "(unknown)".
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP	30
#define USER	0	/* pseudo-symbols ahead of the real ones */
#define UNKNOWN	1
#define FIRST	2

struct sym {
	uint64_t addr;
	char *name;
};

static struct sym *syms;
static size_t nsyms;

static int by_addr(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int syms_load(const char *path)
{
	char line[512], type, name[256], mod[256], full[520];
	size_t cap = 0;
	uint64_t addr;
	FILE *f = fopen(path, "r");
	int n;

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		n = sscanf(line, "%" SCNx64 " %c %255s %255s", &addr, &type, name, mod);
		if (n < 3 || (type != 't' && type != 'T' && type != 'w' && type != 'W'))
			continue;
		if (nsyms == cap) {
			cap = cap ? 2 * cap : 65536;
			syms = realloc(syms, cap * sizeof(*syms));
			if (!syms)
				abort();
		}
		snprintf(full, sizeof(full), "%s%s%s", name, n == 4 ? " " : "",
			 n == 4 ? mod : "");
		syms[nsyms].addr = addr;
		syms[nsyms++].name = strdup(full);
	}
	fclose(f);
	qsort(syms, nsyms, sizeof(*syms), by_addr);
	return nsyms ? 0 : -1;
}

/* The index of the function that holds @addr, FIRST-based. */
static size_t sym_of(uint64_t addr)
{
	size_t lo = 0, hi = nsyms;

	if (addr < 0x800000000000ULL)
		return USER;
	if (!nsyms || addr < syms[0].addr)
		return UNKNOWN;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return FIRST + lo;
}

static const char *sym_name(size_t i)
{
	return i == USER ? "(user)" : i == UNKNOWN ? "(unknown)" : syms[i - FIRST].name;
}

static double *delta;

static int by_delta(const void *a, const void *b)
{
	double x = delta[*(const size_t *)a], y = delta[*(const size_t *)b];

	x = x < 0 ? -x : x;
	y = y < 0 ? -y : y;
	return x < y ? 1 : x > y ? -1 : 0;
}

int main(int argc, char **argv)
{
	long want[2] = { -1, -1 }, window = -1;
	double total[2] = { 0, 0 }, *count[2];
	size_t i, *order;
	char line[128];
	uint64_t addr, insns;
	FILE *f;
	int k;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: tbprof-report KALLSYMS PROFILE [A [B]]\n");
		return 2;
	}
	if (syms_load(argv[1])) {
		fprintf(stderr, "tbprof-report: no text symbols in %s\n", argv[1]);
		return 1;
	}
	for (k = 0; k < argc - 3; k++)
		want[k] = strtol(argv[3 + k], NULL, 10);
	count[0] = calloc(nsyms + FIRST, sizeof(double));
	count[1] = calloc(nsyms + FIRST, sizeof(double));
	delta = calloc(nsyms + FIRST, sizeof(double));
	order = calloc(nsyms + FIRST, sizeof(size_t));
	f = fopen(argv[2], "r");
	if (!f || !count[0] || !count[1] || !delta || !order) {
		perror(argv[2]);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "R %ld %" SCNu64, &window, &insns) == 2) {
			if (argc == 3)
				printf("%ld %" PRIu64 "\n", window, insns);
			for (k = 0; k < 2; k++)
				if (window == want[k])
					total[k] = insns;
			continue;
		}
		if (sscanf(line, "%" SCNx64 " %" SCNu64, &addr, &insns) != 2)
			continue;
		for (k = 0; k < 2; k++)
			if (window == want[k])
				count[k][sym_of(addr)] += insns;
	}
	fclose(f);
	if (argc == 3)
		return 0;
	for (i = 0; i < nsyms + FIRST; i++) {
		delta[i] = argc == 5 ? count[1][i] - count[0][i] : count[0][i];
		order[i] = i;
	}
	qsort(order, nsyms + FIRST, sizeof(*order), by_delta);
	if (argc == 4)
		printf("window %ld: %.0f instructions\n", want[0], total[0]);
	else
		printf("window %ld: %.0f, window %ld: %.0f, difference %+.0f\n",
		       want[0], total[0], want[1], total[1], total[1] - total[0]);
	for (i = 0; i < TOP && delta[order[i]]; i++) {
		if (argc == 4)
			printf("%10.0f %s\n", delta[order[i]], sym_name(order[i]));
		else
			printf("%10.0f %10.0f %+10.0f %s\n", count[0][order[i]],
			       count[1][order[i]], delta[order[i]],
			       sym_name(order[i]));
	}
	return 0;
}
