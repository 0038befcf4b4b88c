// SPDX-License-Identifier: GPL-2.0
/* lease managers decide about conflicting opens (lm_open_conflict) */
#include <linux/filelock.h>

int daxlease_probe(struct file *filp, int arg);
int daxlease_probe(struct file *filp, int arg)
{
	return 0;
}

const struct lease_manager_operations daxlease_probe_ops = {
	.lm_open_conflict = daxlease_probe,
};
