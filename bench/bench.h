/*
 * Shared by the benchmark programs (make bench): a clock, medians, and the
 * CSV files they leave in the results share for the host to turn into the
 * table and the plot. Diagnostics go through tests/lib/tap.h's diag().
 */
#ifndef DAXLEASE_BENCH_H
#define DAXLEASE_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KiB	(1UL << 10)
#define MiB	(1UL << 20)
#define GiB	(1UL << 30)

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

/* Median of @n values (sorts @v in place); 0 if @n is 0. */
double median(double *v, size_t n);

/* Smallest and largest of @n values. */
double min_of(const double *v, size_t n);
double max_of(const double *v, size_t n);

/*
 * Open @name in the directory named by $DAXLEASE_BENCH_OUT (default ".")
 * for appending, writing @header first if it is new. NULL with a diag.
 */
FILE *csv_open(const char *name, const char *header);

/* "4K", "64K", "1M", "1G" for a power-of-two-ish byte count. */
const char *size_name(size_t bytes);

/* Parse "4K", "16M", "1G" or a plain byte count; 0 if malformed. */
size_t size_parse(const char *s);

#endif
