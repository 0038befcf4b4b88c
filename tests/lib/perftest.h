/*
 * What a run of perftest's ib_write_bw -s 4096 between a server on DST and
 * a client on SRC (--mmap, both files holding a pattern before) leaves in
 * them: tests/unchanged_app.c says why DST[4 KiB, 8 KiB) must then equal
 * SRC[0, 4 KiB), why SRC's two halves must differ, and why DST past 8 KiB
 * keeps the pattern.
 */
#ifndef DAXLEASE_PERFTEST_H
#define DAXLEASE_PERFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BW_MSG		4096UL	/* -s: one message, half the buffer */

struct bw_landing {
	bool src_halves_differ;	/* SRC[0, 4K) and SRC[4K, 8K) */
	bool landed;		/* DST[4K, 8K) == SRC[0, 4K); a diag if not */
	bool rest_kept;		/* DST has @size bytes, past 8K the pattern */
};

/*
 * Read back DST at @dst (@size bytes, created with the pattern of @seed)
 * and SRC at @src after the run. Diags for what could not be read.
 */
void bw_landing_read(struct bw_landing *l, const char *dst, const char *src,
		     size_t size, uint64_t seed);

#endif
