/* Minimal TAP (Test Anything Protocol) producer for the daxlease tests. */
#ifndef DAXLEASE_TAP_H
#define DAXLEASE_TAP_H

#include <stdbool.h>

#ifndef __printf
#define __printf(a, b) __attribute__((format(printf, a, b)))
#endif

/* Print "1..n"; call once, before any test point. */
void plan(unsigned int n);

/* Emit the next test point; returns @cond so callers can branch on it. */
bool ok(bool cond, const char *fmt, ...) __printf(2, 3);

/*
 * Pass iff @failed is true and errno equals @expected. errno is read on
 * entry, so call it right after the operation under test.
 */
bool ok_errno(bool failed, int expected, const char *fmt, ...) __printf(3, 4);

/* Emit the next test point as skipped: "ok N - desc # SKIP reason". */
void skip(const char *reason, const char *fmt, ...) __printf(2, 3);

/* "# ..." line; preserves errno so it can sit between a call and its check. */
void diag(const char *fmt, ...) __printf(1, 2);

/* Abort the whole test program: "Bail out! reason", exit status 1. */
void bail_out(const char *fmt, ...) __printf(1, 2) __attribute__((noreturn));

/* Exit status for main(): 0 iff every point passed and the plan was met. */
int done_testing(void);

/* Name of an errno value ("EOPNOTSUPP"), never NULL. */
const char *errno_name(int err);

#endif
