/*
 * Facilities of the debug test kernel (scripts/config/debug.config): fault
 * injection into the next call of this thread through
 * /proc/thread-self/fail-nth (Documentation/fault-injection/), and the
 * kmemleak report.
 */
#ifndef DAXLEASE_DEBUGK_H
#define DAXLEASE_DEBUGK_H

#include <stdbool.h>

#define KMEMLEAK	"/sys/kernel/debug/kmemleak"

/*
 * Make fail-nth reach every slab and page allocation, GFP_KERNEL ones
 * included (failslab and fail_page_alloc skip sleeping and order-0
 * allocations by default), quietly (no stack dump per failure). NULL, or
 * why fault injection is not available (the kernel is not the debug one).
 */
const char *fault_setup(void);

/* Fail the @nth fault-injection point this thread reaches from now on. */
void fault_arm(unsigned int nth);

/*
 * Disarm; true if the armed failure was injected. Call right after the
 * call under test (fault_arm() .. call .. fault_consumed(), nothing else).
 */
bool fault_consumed(void);

/* Restore what fault_setup() changed. */
void fault_teardown(void);

/*
 * Scan for leaks now and return the report of the suspects not reported
 * before ("" if none; free()), NULL with a diag if kmemleak is missing.
 * Only objects older than 5 s are reported: allocations of the last
 * seconds are not judged yet.
 */
char *kmemleak_scan_report(void);

#endif
