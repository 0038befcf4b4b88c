/*
 * make bench, on the host: read the CSV files the guest programs left in
 * DIR (hookcost.csv from all three boots, regmr.csv, refusal.csv,
 * scaling.csv) and print the one table: ratios, with the raw medians
 * beside them.
 *
 *   table DIR
 *
 * hookcost variants: "hooks" and "module" (boot 1, hooks kernel, the
 * module unloaded and loaded in alternate rounds), "nohooks" (boot 2, the
 * same source without CONFIG_DAXLEASE_HOOKS), "hooks2" (boot 3, the hooks
 * kernel again: the noise floor between boots).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS	16
#define MAX_ROWS	4096
#define MAX_SAMPLES	64

struct csv {
	int rows;
	char *field[MAX_ROWS][MAX_FIELDS];
};

static const char *dir;

/* Rows of DIR/@name without its header; 0 rows if it does not exist. */
static void csv_read(const char *name, struct csv *c)
{
	char path[4096], line[1024];
	FILE *f;
	int header = 1;

	c->rows = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f) {
		printf("(%s: %s)\n", name, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) && c->rows < MAX_ROWS) {
		char *save, *tok;
		int i = 0;

		line[strcspn(line, "\n")] = 0;
		if (header || !line[0]) {
			header = 0;
			continue;
		}
		memset(c->field[c->rows], 0, sizeof(c->field[0]));
		for (tok = strtok_r(line, ",", &save); tok && i < MAX_FIELDS;
		     tok = strtok_r(NULL, ",", &save))
			c->field[c->rows][i++] = strdup(tok);
		c->rows++;
	}
	fclose(f);
}

static double num(const char *s)
{
	return s ? strtod(s, NULL) : NAN;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	int n;
	double median, min, max;
};

static struct stats stats_of(double *v, int n)
{
	struct stats s = { .n = n, .median = NAN, .min = NAN, .max = NAN };

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_double);
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.min = v[0];
	s.max = v[n - 1];
	return s;
}

#define ALL_ROUNDS	(-1)

/*
 * hookcost.csv (variant,round,metric,ns_per_op,ops): the rounds of @metric
 * in variant @v1 or @v2, all of them or those whose round number has
 * @parity.
 */
static struct stats hook_rounds(const struct csv *c, const char *metric,
				const char *v1, const char *v2, int parity)
{
	double v[MAX_SAMPLES];
	int i, n = 0;

	for (i = 0; i < c->rows && n < MAX_SAMPLES; i++) {
		const char *var = c->field[i][0];

		if (!var || !c->field[i][2] || strcmp(c->field[i][2], metric))
			continue;
		if (parity != ALL_ROUNDS && atoi(c->field[i][1]) % 2 != parity)
			continue;
		if (!strcmp(var, v1) || (v2 && !strcmp(var, v2)))
			v[n++] = num(c->field[i][3]);
	}
	return stats_of(v, n);
}

static struct stats hook_stats(const struct csv *c, const char *metric,
			       const char *v1, const char *v2)
{
	return hook_rounds(c, metric, v1, v2, ALL_ROUNDS);
}

/* Half the relative range of @s in percent: the spread of its rounds. */
static double spread(struct stats s)
{
	return s.n ? 50 * (s.max - s.min) / s.median : NAN;
}

static const char *verdict(double ratio, double noise_pct)
{
	double off = fabs(ratio - 1) * 100;

	if (isnan(ratio))
		return "n/a";
	if (off <= 1)
		return "<=1%";
	if (off <= noise_pct)
		return "<=noise";
	return ratio < 1 ? "faster" : "slower";
}

static void print_hookcost(void)
{
	static struct csv c;
	char seen[64][48];
	int nseen = 0, i, j;

	csv_read("hookcost.csv", &c);
	printf("\n1. Hook overhead on paths without daxlease (ns per op; median of rounds,\n");
	printf("   each round the median of many short samples)\n");
	printf("   mod/none: hooks kernel, module loaded vs not (same boot, rounds alternated);\n");
	printf("   A/A boot: the module-less rounds, odd vs even: the noise floor inside a boot.\n");
	printf("   hk/nohk: hooks kernel (boots 1+3, no module) vs the same source without\n");
	printf("   CONFIG_DAXLEASE_HOOKS (boot 2); A/A 1v3: hooks boot 3 vs boot 1, the noise\n");
	printf("   floor between boots. Verdict: <=1%%, <=noise (within the A/A), or off.\n");
	printf("%-21s %9s %9s %9s %9s | %8s %-7s %7s | %7s %-7s %7s | %6s\n",
	       "metric", "nohooks", "hooks", "hooks2", "+module", "mod/none",
	       "", "A/A bt", "hk/nohk", "", "A/A 1v3", "spread");
	for (i = 0; i < c.rows; i++) {
		const char *m = c.field[i][2];
		struct stats nohooks, hooks, hooks2, pooled, module;
		double r_mod, aa_boot, r_kernel, noise, sp;

		if (!m)
			continue;
		for (j = 0; j < nseen && strcmp(seen[j], m); j++)
			;
		if (j < nseen || nseen == 64)
			continue;
		snprintf(seen[nseen++], sizeof(seen[0]), "%s", m);

		nohooks = hook_stats(&c, m, "nohooks", NULL);
		hooks = hook_stats(&c, m, "hooks", NULL);
		hooks2 = hook_stats(&c, m, "hooks2", NULL);
		pooled = hook_stats(&c, m, "hooks", "hooks2");
		module = hook_stats(&c, m, "module", NULL);
		r_mod = module.median / hooks.median;
		aa_boot = hook_rounds(&c, m, "hooks", NULL, 1).median /
			  hook_rounds(&c, m, "hooks", NULL, 0).median;
		r_kernel = pooled.median / nohooks.median;
		noise = hooks2.median / hooks.median;
		sp = fmax(fmax(spread(hooks), spread(module)),
			  fmax(spread(nohooks), spread(hooks2)));
		printf("%-21s %9.1f %9.1f %9.1f %9.1f | %8.3f %-7s %7.3f | %7.3f %-7s %7.3f | %5.0f%%\n",
		       m, nohooks.median, hooks.median, hooks2.median,
		       module.median, r_mod,
		       verdict(r_mod, fabs(aa_boot - 1) * 100), aa_boot,
		       r_kernel, verdict(r_kernel, fabs(noise - 1) * 100),
		       noise, sp);
	}
	printf("   rounds per variant: %d; spread = largest half-range of the rounds / median\n",
	       c.rows ? hook_stats(&c, c.field[0][2], "hooks", NULL).n : 0);
}

static int find_reg(const struct csv *c, const char *size, const char *kind)
{
	int i;

	for (i = 0; i < c->rows; i++)
		if (c->field[i][1] && !strcmp(c->field[i][0], size) &&
		    !strcmp(c->field[i][1], kind))
			return i;
	return -1;
}

static const char *bytes_name(double b)
{
	static char buf[4][16];
	static int slot;
	char *s = buf[slot++ % 4];

	if (b >= 1 << 30)
		snprintf(s, 16, "%.3gG", b / (1 << 30));
	else if (b >= 1 << 20)
		snprintf(s, 16, "%.3gM", b / (1 << 20));
	else if (b >= 1 << 10)
		snprintf(s, 16, "%.3gK", b / (1 << 10));
	else
		snprintf(s, 16, "%g", b);
	return s;
}

/* Median reg (@col 2) or dereg (@col 3) time of @kind at @size, in us. */
static double reg_us(const struct csv *c, const char *size, const char *kind,
		     int col)
{
	int i = find_reg(c, size, kind);

	return i < 0 ? NAN : num(c->field[i][col]) / 1000;
}

static void print_regmr(void)
{
	static struct csv c;
	int i;

	csv_read("regmr.csv", &c);
	printf("\n2. Registration cost: ibv_reg_mr / ibv_dereg_mr (us, median; reps interleaved)\n");
	printf("   fsdax = leased XFS file (F_LAYOUT|F_EXCLUSIVE), ext4 = the same on ext4\n");
	printf("   (<= 256M); anon = THP as the system has it; anon4k = MADV_NOHUGEPAGE.\n");
	printf("   Target fsdax/anon <= 1.25\n");
	printf("%-5s %9s %9s %9s %9s %9s | %6s %-4s %6s %6s %6s %6s | %8s %6s | %4s\n",
	       "size", "anon", "anon4k", "fsdax", "ext4", "devdax", "fsd/an",
	       "", "fsd/4k", "fsd/dx", "ex4/dx", "dx/4k", "dereg", "fsd/an",
	       "reps");
	for (i = 0; i < c.rows; i++) {
		const char *size = c.field[i][0];
		double a, a4, f, e, d, da, df;

		if (!c.field[i][1] || strcmp(c.field[i][1], "anon"))
			continue;
		a = reg_us(&c, size, "anon", 2);
		a4 = reg_us(&c, size, "anon4k", 2);
		f = reg_us(&c, size, "fsdax", 2);
		e = reg_us(&c, size, "ext4", 2);
		d = reg_us(&c, size, "devdax", 2);
		da = reg_us(&c, size, "anon", 3);
		df = reg_us(&c, size, "fsdax", 3);
		printf("%-5s %9.1f %9.1f %9.1f %9.1f %9.1f | %6.2f %-4s %6.2f %6.2f %6.2f %6.2f | %8.1f %6.2f | %4s\n",
		       bytes_name(num(size)), a, a4, f, e, d, f / a,
		       isnan(f) ? "n/a" : f / a <= 1.25 ? "ok" : "OVER",
		       f / a4, f / d, e / d, d / a4, df, df / da, c.field[i][6]);
	}
	printf("   dereg: fsdax ibv_dereg_mr in us, and its ratio to anon\n");
}

static void print_refusal(void)
{
	static struct csv c;
	int i;

	csv_read("refusal.csv", &c);
	printf("\n3. Refusal latency: truncate / punch of a pinned, leased file -> ETXTBSY (us)\n");
	printf("   vs the same operation succeeding on an unleased file of the same size (2 MiB)\n");
	printf("%-5s %-9s %10s %10s %10s | %10s | %8s | %s\n", "fs", "op",
	       "refused", "min", "max", "unleased", "ref/unl", "ETXTBSY");
	for (i = 0; i < c.rows; i++) {
		double r = num(c.field[i][2]), u = num(c.field[i][5]);

		if (!c.field[i][7])
			continue;
		printf("%-5s %-9s %10.1f %10.1f %10.1f | %10.1f | %8.3f | %s/%s\n",
		       c.field[i][0], c.field[i][1], r / 1000,
		       num(c.field[i][3]) / 1000, num(c.field[i][4]) / 1000,
		       u / 1000, r / u, c.field[i][7], c.field[i][6]);
	}
	printf("   stock 6.12 (and the hooks kernel without the module) refuses the long-term\n");
	printf("   pin itself (EOPNOTSUPP), so this state cannot arise there; a short-term pin\n");
	printf("   makes truncate wait until it is dropped (dax_layout_busy_page), not measured.\n");
}

static void print_scaling(void)
{
	static struct csv c;
	int i;

	csv_read("scaling.csv", &c);
	printf("\n4. Scaling of the accounting (module memory: live kmalloc objects of [daxlease]\n");
	printf("   call sites from slab_debug=U alloc_traces; Slab delta includes rxe's MRs;\n");
	printf("   file_pins = bytes of /proc/self/file_pins, read us = median time to read it)\n");
	printf("%-7s %6s %7s %6s %6s | %8s %9s %9s | %10s %10s | %8s %9s\n",
	       "sweep", "n", "pinned", "MRs", "pairs", "objects", "bytes",
	       "B/pair", "file_pins", "read us", "Slab kB", "reg us/MR");
	for (i = 0; i < c.rows; i++) {
		double pairs = num(c.field[i][6]), bytes = num(c.field[i][8]);

		if (!c.field[i][12])
			continue;
		printf("%-7s %6s %7s %6s %6s | %8s %9s %9.1f | %10s %10.1f | %8s %9.1f\n",
		       c.field[i][0],
		       strcmp(c.field[i][0], "size") ? c.field[i][1] :
		       bytes_name(num(c.field[i][1])),
		       bytes_name(num(c.field[i][2])), c.field[i][3],
		       c.field[i][6], c.field[i][7], c.field[i][8],
		       bytes / pairs, c.field[i][10],
		       num(c.field[i][11]) / 1000, c.field[i][9],
		       num(c.field[i][12]) / 1000);
	}
}

static void print_file(const char *label, const char *name)
{
	char path[4096], line[256] = "?";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			strcpy(line, "?");
		fclose(f);
	}
	line[strcspn(line, "\n")] = 0;
	printf("%s%s", label, line);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: table DIR\n");
		return 2;
	}
	dir = argv[1];
	printf("daxlease benchmark (QEMU TCG)");
	print_file(": kernels ", "kernel.hooks");
	print_file(" / ", "kernel.nohooks");
	print_file(", THP ", "thp");
	print_file(", clocksource ", "clocksource");
	printf("\n");
	print_hookcost();
	print_regmr();
	print_refusal();
	print_scaling();
	return 0;
}
