// SPDX-License-Identifier: GPL-2.0
/* a timed-out lease break asks the lease manager (lm_breaker_timedout) */
#include <linux/filelock.h>

bool daxlease_probe(struct file_lease *fl);
bool daxlease_probe(struct file_lease *fl)
{
	return true;
}

const struct lease_manager_operations daxlease_probe_ops = {
	.lm_breaker_timedout = daxlease_probe,
};
