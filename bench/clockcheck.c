/*
 * What the guest clock counts: time a loop of a known number of
 * instructions and append to clock.csv
 *
 *   insns,ns,ns_per_insn
 *
 * Under QEMU -icount shift=0 the guest clock (the TSC scripts/bench gives
 * the kernel at 1 GHz) advances one nanosecond per executed instruction,
 * so ns_per_insn is 1 plus the clock reads' own share; in the wall-clock
 * VMs it is whatever TCG and the host give.
 *
 *   clockcheck
 */
#include <stdint.h>

#include "bench.h"
#include "tap.h"

#define LOOPS		(50UL * 1000 * 1000)
#define LOOP_INSNS	2	/* dec; jnz */

int main(void)
{
	uint64_t t0, t1, n = LOOPS;
	FILE *csv;

	csv = csv_open("clock.csv", "insns,ns,ns_per_insn");
	if (!csv)
		return 1;
	t0 = now_ns();
	asm volatile("1: dec %0\n\tjnz 1b" : "+r"(n) : : "cc");
	t1 = now_ns();
	fprintf(csv, "%lu,%llu,%.4f\n", LOOPS * LOOP_INSNS,
		(unsigned long long)(t1 - t0),
		(double)(t1 - t0) / (LOOPS * LOOP_INSNS));
	fclose(csv);
	return 0;
}
