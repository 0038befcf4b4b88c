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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FIELDS	20
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

/*
 * The goal for a hook-overhead ratio: resolved to 0.5% and at most
 * 1.01. Resolved: its A/A floor (the same comparison without a change) is
 * within 0.5% of 1, and so is the spread of the rounds (two medians of
 * wildly spread rounds can agree by chance). "noisy": not resolved, the
 * ratio says nothing at that resolution; "OVER": resolved, above 1.01.
 */
static const char *verdict(double ratio, double aa, double spread_pct)
{
	if (isnan(ratio) || isnan(aa))
		return "n/a";
	if (fabs(aa - 1) > 0.005 || spread_pct > 0.5)
		return "noisy";
	return ratio <= 1.01 ? "ok" : "OVER";
}

static void print_hookcost(const char *unit)
{
	static struct csv c;
	char seen[64][48];
	int nseen = 0, i, j;

	csv_read("hookcost.csv", &c);
	printf("\n1. Hook overhead on paths without daxlease (%s per op; median of rounds,\n", unit);
	printf("   each round the median of many short samples; a warm-up round is left out)\n");
	printf("   mod/none: hooks kernel, module loaded vs not (same boot, rounds alternated);\n");
	printf("   A/A bt: its floor, the module-less rounds of that boot, odd vs even.\n");
	printf("   hk/nohk: hooks kernel (boots 1+3, no module) vs the same source without\n");
	printf("   CONFIG_DAXLEASE_HOOKS (boot 2); A/A 1v3: its floor, hooks boot 3 vs boot 1.\n");
	printf("   Goal: ok = resolved (floor and the compared variants' spread within 0.5%%)\n");
	printf("   and ratio <= 1.01; noisy = not resolved; OVER = resolved and above 1.01.\n");
	printf("%-21s %10s %10s %10s %10s | %8s %7s %-5s | %7s %7s %-5s | %6s\n",
	       "metric", "nohooks", "hooks", "hooks2", "+module", "mod/none",
	       "A/A bt", "", "hk/nohk", "A/A 1v3", "", "spread");
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
		printf("%-21s %10.1f %10.1f %10.1f %10.1f | %8.4f %7.4f %-5s | %7.4f %7.4f %-5s | %5.1f%%\n",
		       m, nohooks.median, hooks.median, hooks2.median,
		       module.median, r_mod, aa_boot,
		       verdict(r_mod, aa_boot, fmax(spread(hooks), spread(module))),
		       r_kernel, noise,
		       verdict(r_kernel, noise,
			       fmax(fmax(spread(hooks), spread(hooks2)),
				    spread(nohooks))), sp);
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

static const char *const reg_kinds[] = {
	"anon", "anon4k", "xfs", "xfs4k", "ext4", "ext4_4k", "devdax",
};
#define NR_REG_KINDS	(sizeof(reg_kinds) / sizeof(reg_kinds[0]))
/* the fsdax kinds, compared with device-dax */
#define FIRST_FS	2
#define LAST_FS		5

/*
 * One column (@col: 2 reg, 3 dereg) of regmr.csv, or of gupfloor.csv
 * (which starts at anon4k: @first), per size and kind, with every fsdax
 * kind's ratio to device-dax; @target 0: no goal.
 */
static void print_reg_col(const struct csv *c, int col, unsigned int first,
			  double target)
{
	const char *ok = "ok";
	double max4k = 0;
	unsigned int k;
	int i;

	printf("%-5s", "size");
	for (k = first; k < NR_REG_KINDS; k++)
		printf(" %9s", reg_kinds[k]);
	printf(" |");
	for (k = FIRST_FS; k <= LAST_FS; k++)
		printf(" %7.7s", reg_kinds[k]);
	printf("  (/devdax)\n");
	for (i = 0; i < c->rows; i++) {
		const char *size = c->field[i][0];
		double d;

		if (!c->field[i][1] || strcmp(c->field[i][1], reg_kinds[first]))
			continue;
		printf("%-5s", bytes_name(num(size)));
		for (k = first; k < NR_REG_KINDS; k++)
			printf(" %9.1f", reg_us(c, size, reg_kinds[k], col));
		printf(" |");
		d = reg_us(c, size, "devdax", col);
		for (k = FIRST_FS; k <= LAST_FS; k++) {
			double r = reg_us(c, size, reg_kinds[k], col) / d;

			printf(" %7.2f", r);
			/* the goal is for files mapped as deployments map them */
			if (strstr(reg_kinds[k], "4k"))
				max4k = r > max4k ? r : max4k;
			else if (r > target)
				ok = "OVER";
		}
		printf("\n");
	}
	if (target)
		printf("   goal: every xfs, ext4 (2 MiB entries)/devdax <= %.1f: %s; 4 KiB entries up to %.2f\n",
		       target, ok, max4k);
}

static void print_mapping(void)
{
	static struct csv c;
	int i;

	csv_read("mapping.csv", &c);
	printf("   mapping of each buffer (PAGEMAP_SCAN): ");
	for (i = 0; i < c.rows; i++) {
		double present = num(c.field[i][2]), pmd = num(c.field[i][3]);

		if (!c.field[i][3])
			continue;
		printf("%s%s %s, %.0f%% 2M", i ? "; " : "", c.field[i][0],
		       bytes_name(present), present ? 100 * pmd / present : 0);
	}
	printf("\n");
}

static void print_regmr(const char *unit)
{
	static struct csv c;

	csv_read("regmr.csv", &c);
	printf("\n2. Registration cost (%s, median; reps interleaved across kinds)\n", unit);
	printf("   xfs, ext4: leased fsdax files (F_LAYOUT|F_EXCLUSIVE) on file systems made\n");
	printf("   with a 2 MiB stripe (XFS also a 2 MiB extent size hint), mapped with 2 MiB\n");
	printf("   entries where they can; xfs4k, ext4_4k: the same files mapped again with\n");
	printf("   MADV_NOHUGEPAGE (4 KiB entries); anon = THP as the system has it, anon4k =\n");
	printf("   MADV_NOHUGEPAGE; devdax: the device-dax region (<= 256M; ext4 <= 256M).\n");
	print_mapping();
	printf("   ibv_reg_mr:\n");
	print_reg_col(&c, 2, 0, 1.1);
	printf("   ibv_dereg_mr:\n");
	print_reg_col(&c, 3, 0, 1.2);

	csv_read("gupfloor.csv", &c);
	printf("   The stock floor of the same buffers: gup_test PIN_BASIC_TEST, short-term\n");
	printf("   pin_user_pages() 512 pages a call (no FOLL_LONGTERM, no hook on the path):\n");
	printf("   pin:\n");
	print_reg_col(&c, 2, 1, 0);
	printf("   unpin_user_pages():\n");
	print_reg_col(&c, 3, 1, 0);
}

static void print_clock(void)
{
	static struct csv c;

	csv_read("clock.csv", &c);
	if (c.rows && c.field[0][2])
		printf("   clock check: a loop of %s instructions read %s ns: %s ns per instruction\n",
		       c.field[0][0], c.field[0][1], c.field[0][2]);
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

/*
 * reportload.csv: reading the reports of N pinned files, and a 4 KiB
 * registration with and without a process reading /proc/daxlease.
 */
static void print_reportload(const char *unit)
{
	static struct csv c;
	int i, alone = -1, reader = -1, alone2 = -1;

	csv_read("reportload.csv", &c);
	if (!c.rows)
		return;
	printf("\n5. Reports under load (%s): one whole read of the reports of N files,\n", unit);
	printf("   each leased (48) with a 4 KiB MR; then ibv_reg_mr/ibv_dereg_mr of a 4 KiB\n");
	printf("   MR alone, while another process reads /proc/daxlease in a loop, alone again\n");
	for (i = 0; i < c.rows; i++) {
		if (!c.field[i][7])
			continue;
		if (!strcmp(c.field[i][1], "read") ||
		    !strcmp(c.field[i][1], "file_pins"))
			printf("   N=%s %-14s %8s bytes: %10.1f thousand\n",
			       c.field[i][0], !strcmp(c.field[i][1], "read") ?
			       "/proc/daxlease" : "file_pins", c.field[i][2],
			       num(c.field[i][3]) / 1000);
		else if (!strcmp(c.field[i][1], "alone"))
			alone = i;
		else if (!strcmp(c.field[i][1], "reader"))
			reader = i;
		else if (!strcmp(c.field[i][1], "alone2"))
			alone2 = i;
	}
	if (alone < 0 || reader < 0 || alone2 < 0)
		return;
	printf("   %-8s %12s %12s %12s %12s (thousand)\n", "", "reg median",
	       "reg p99", "dereg median", "dereg p99");
	for (i = 0; i < 3; i++) {
		int r = i == 0 ? alone : i == 1 ? reader : alone2;

		printf("   %-8s %12.1f %12.1f %12.1f %12.1f\n", c.field[r][1],
		       num(c.field[r][4]) / 1000, num(c.field[r][5]) / 1000,
		       num(c.field[r][6]) / 1000, num(c.field[r][7]) / 1000);
	}
	printf("   reader/alone: reg median %.3f, dereg median %.3f (A/A alone2/alone %.3f, %.3f)\n",
	       num(c.field[reader][4]) / num(c.field[alone][4]),
	       num(c.field[reader][6]) / num(c.field[alone][6]),
	       num(c.field[alone2][4]) / num(c.field[alone][4]),
	       num(c.field[alone2][6]) / num(c.field[alone][6]));
	printf("   (one vCPU: the p99 with the reader includes waiting for its time slice)\n");
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

/*
 * 3. A recall (daxlease revoke FILE: the write to /proc/daxlease, to its
 * return) against the holder's own ibv_dereg_mr() of the same MR, the
 * objects a whole-context revocation destroys, and its whole teardown; a
 * truncate that must revoke, less the same truncate without pins, against
 * a cooperative holder's ibv_dereg_mr() of that MR. The goal:
 * revocation within 2x of deregistration.
 */
static void print_revoke(const char *kunit)
{
	static struct csv c;
	int i;

	csv_read("revoke.csv", &c);
	if (!c.rows)
		return;
	printf("\n3. Recall (%s, median; dereg and revoke alternating, a fresh holder each)\n", kunit);
	printf("   One MR of a file under a breakable lease (16). dereg: the holder's\n");
	printf("   ibv_dereg_mr(); objects: that, ibv_destroy_cq and ibv_dealloc_pd\n");
	printf("   (what a whole-context revocation would destroy but the async event\n");
	printf("   file; a revocation destroys the MR alone); teardown:\n");
	printf("   that, ibv_close_device and F_UNLCK; revoke: an administrator's write\n");
	printf("   of \"revoke FD\" to /proc/daxlease until it returns (lease gone,\n");
	printf("   pages unpinned); lease: the same revoke of a holder without an MR\n");
	printf("   (no MR revoked); trunc: a truncate of a file of the MR's size (at\n");
	printf("   least 2 MiB) with its lease orphaned (closed), which revokes, less\n");
	printf("   the same truncate of the file mapped, written and touched through\n");
	printf("   GUP the same way without lease or MR (plain); tdereg: the\n");
	printf("   deregistration of that MR of that file by a cooperative holder,\n");
	printf("   which then unlocks; coop: the truncate after it, less plain.\n");
	printf("   goal 2x: revoke/dereg and trunc/tdereg both within 2x.\n");
	printf("   | size | fs | dereg | objects | teardown | revoke | revoke/dereg | revoke/objects | lease | trunc | tdereg | trunc/tdereg | coop | plain | goal 2x | reps | dereg min-max | revoke min-max |\n");
	printf("   |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < c.rows; i++) {
		double d = num(c.field[i][2]), t = num(c.field[i][3]);
		double r = num(c.field[i][4]), o, tr, pl, co, td;
		bool ok;

		if (!c.field[i][9])
			continue;
		/* files of before the trunc, objects and coop columns: none */
		o = c.field[i][13] ? num(c.field[i][11]) : 0;
		tr = c.field[i][13] ? num(c.field[i][12]) : 0;
		pl = c.field[i][13] ? num(c.field[i][13]) : 0;
		co = c.field[i][15] ? num(c.field[i][14]) - pl : 0;
		if (fabs(co) < 50)
			co = 0;	/* not "-0.0" */
		td = c.field[i][15] ? num(c.field[i][15]) : d;
		ok = r <= 2 * d && tr - pl <= 2 * td;
		printf("   | %s | %s | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.1f | %.1f | %.1f | %.2f | %.1f | %.1f | %s | %s | %.1f-%.1f | %.1f-%.1f |\n",
		       bytes_name(num(c.field[i][0])), c.field[i][1],
		       d / 1000, o / 1000, t / 1000, r / 1000, r / d,
		       o ? r / o : 0, num(c.field[i][10]) / 1000,
		       (tr - pl) / 1000, td / 1000, (tr - pl) / td, co / 1000,
		       pl / 1000, ok ? "ok" : "OVER", c.field[i][5],
		       num(c.field[i][6]) / 1000, num(c.field[i][7]) / 1000,
		       num(c.field[i][8]) / 1000, num(c.field[i][9]) / 1000);
	}
}

/*
 * 3b. Recall of many MRs of one holder against their deregistration, per
 * MR: the revocation walks the owner's pin contexts for each MR it
 * destroys, which must not grow with their number.
 */
static void print_revoke_many(const char *kunit)
{
	static struct csv c;
	int i;

	csv_read("revoke_many.csv", &c);
	if (!c.rows)
		return;
	printf("\n3b. Recall of n MRs of one holder (%s, median of %s; one XFS file, a 4 KiB MR per page)\n",
	       kunit, c.field[0][3] ? c.field[0][3] : "?");
	printf("   dereg: the holder's ibv_dereg_mr() of all n; revoke: an administrator's\n");
	printf("   recall of the file, which revokes all n MRs, each alone.\n");
	printf("   | MRs | dereg | revoke | revoke/dereg | dereg per MR | revoke per MR |\n");
	printf("   |---|---|---|---|---|---|\n");
	for (i = 0; i < c.rows; i++) {
		double n = num(c.field[i][0]), d = num(c.field[i][1]);
		double r = num(c.field[i][2]);

		if (!c.field[i][2] || !n || !d)
			continue;
		printf("   | %.0f | %.1f | %.1f | %.2f | %.2f | %.2f |\n", n,
		       d / 1000, r / 1000, r / d, d / n / 1000, r / n / 1000);
	}
}

/* The sections measured in @d, in @unit. */
static void print_mode(const char *d, const char *title, const char *unit,
		       const char *kunit)
{
	dir = d;
	printf("\n=== %s ===\n", title);
	print_clock();
	print_hookcost(unit);
	print_regmr(kunit);
	print_revoke(kunit);
	print_revoke_many(kunit);
}

int main(int argc, char **argv)
{
	char icount[4096], wall[4096];

	/* BENCH_MODE=revoke: one directory, only the recall */
	if (argc == 3 && !strcmp(argv[1], "--revoke")) {
		dir = argv[2];
		printf("\n=== %s ===\n", strstr(dir, "icount") ?
		       "Instruction counts (QEMU -icount, 1 vCPU)" :
		       "Wall clock (QEMU TCG, 2 vCPUs, shared host)");
		print_file("kernel ", "hooks/kernel");
		print_file(", clocksource ", "hooks/clocksource");
		printf("\n");
		print_revoke(strstr(dir, "icount") ?
			     "thousands of instructions" : "us");
		print_revoke_many(strstr(dir, "icount") ?
				  "thousands of instructions" : "us");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: table DIR | table --revoke DIR\n");
		return 2;
	}
	dir = argv[1];
	printf("daxlease benchmark (QEMU TCG)");
	print_file(": kernels ", "kernel.hooks");
	print_file(" / ", "kernel.nohooks");
	print_file(", THP ", "thp");
	print_file(", clocksource ", "clocksource");
	printf("\n");
	print_file("host: ", "host");
	printf("\n");

	/* DIR/icount: the -icount boots; DIR itself: the wall-clock ones */
	snprintf(icount, sizeof(icount), "%s/icount/hookcost.csv", argv[1]);
	if (!access(icount, F_OK)) {
		snprintf(icount, sizeof(icount), "%s/icount", argv[1]);
		print_mode(icount,
			   "Instruction counts: QEMU -icount shift=0,sleep=off, 1 vCPU (1 ns = 1 guest instruction)",
			   "instructions", "thousands of instructions");
		print_reportload("instructions");
	}
	snprintf(wall, sizeof(wall), "%s/hookcost.csv", argv[1]);
	if (!access(wall, F_OK)) {
		print_mode(argv[1],
			   "Wall clock: QEMU TCG, 2 vCPUs, shared host (ns)",
			   "ns", "us");
		print_refusal();
		print_scaling();
	}
	return 0;
}
