/*
 * Chains of dependent test points with fixed names: every point is emitted
 * whether it runs or not, so the plan and the names never change. Once a
 * STEP fails, the rest of the chain is skipped with the reason given to
 * chain_break() (or "an earlier step failed"); a CHECK failing does not
 * break it. The condition is only evaluated while the chain holds.
 *
 *	struct chain c = CHAIN_INIT;
 *	STEP(&c, setup(...), "%s: set up", n);
 *	CHECK(&c, report_is(...), "%s: report", n);
 */
#ifndef DAXLEASE_CHAIN_H
#define DAXLEASE_CHAIN_H

#include <stdbool.h>

#include "tap.h"

struct chain {
	bool ok;
	const char *why;
};

#define CHAIN_INIT	{ true, NULL }

static inline bool chain_break(struct chain *c, const char *why)
{
	if (c->ok) {
		c->ok = false;
		c->why = why;
	}
	return false;
}

#define CHAIN_SKIP(c, ...) \
	(skip((c)->why ? (c)->why : "an earlier step failed", __VA_ARGS__), \
	 false)

/* A point that the rest of the chain depends on. */
#define STEP(c, cond, ...) \
	((c)->ok ? (ok((cond), __VA_ARGS__) ? true : \
		    chain_break((c), "an earlier step failed")) : \
		   CHAIN_SKIP(c, __VA_ARGS__))

/* A point nothing later depends on. */
#define CHECK(c, cond, ...) \
	((c)->ok ? ok((cond), __VA_ARGS__) : CHAIN_SKIP(c, __VA_ARGS__))

#endif
