/* Minimal TAP producer: see tap.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static unsigned int planned, run, failed;

/* Every line is flushed: a crashing test must not lose its last points. */
static void emit(const char *prefix, const char *fmt, va_list ap,
		 const char *suffix)
{
	fputs(prefix, stdout);
	vprintf(fmt, ap);
	fputs(suffix, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

void plan(unsigned int n)
{
	planned = n;
	printf("1..%u\n", n);
	fflush(stdout);
}

static bool vok(bool cond, const char *fmt, va_list ap)
{
	char prefix[32];

	run++;
	if (!cond)
		failed++;
	snprintf(prefix, sizeof(prefix), "%sok %u - ", cond ? "" : "not ", run);
	emit(prefix, fmt, ap, "");
	return cond;
}

bool ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vok(cond, fmt, ap);
	va_end(ap);
	return cond;
}

bool ok_errno(bool op_failed, int expected, const char *fmt, ...)
{
	int err = errno;
	bool pass = op_failed && err == expected;
	va_list ap;

	va_start(ap, fmt);
	vok(pass, fmt, ap);
	va_end(ap);
	if (pass)
		return true;
	if (!op_failed)
		diag("expected failure with %s (%d), got success",
		     errno_name(expected), expected);
	else
		diag("expected errno %s (%d), got %s (%d)",
		     errno_name(expected), expected, errno_name(err), err);
	return false;
}

void skip(const char *reason, const char *fmt, ...)
{
	char prefix[32], suffix[256];
	va_list ap;

	run++;
	snprintf(prefix, sizeof(prefix), "ok %u - ", run);
	snprintf(suffix, sizeof(suffix), " # SKIP %s", reason);
	va_start(ap, fmt);
	emit(prefix, fmt, ap, suffix);
	va_end(ap);
}

void diag(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	emit("# ", fmt, ap, "");
	va_end(ap);
	errno = err;
}

void bail_out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("Bail out! ", fmt, ap, "");
	va_end(ap);
	exit(1);
}

int done_testing(void)
{
	if (run != planned)
		diag("planned %u test points, ran %u", planned, run);
	if (failed)
		diag("failed %u of %u test points", failed, run);
	return failed || run != planned;
}

const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "E???";
}
