// SPDX-License-Identifier: GPL-2.0
/*
 * daxlease: layout leases and long-term pin accounting for fsdax files.
 *
 * Placeholder until the hook patch lands: loads and unloads cleanly so the
 * test bed can exercise the module's life cycle.
 */
#include <linux/module.h>

static int __init daxlease_init(void)
{
	return 0;
}

static void __exit daxlease_exit(void)
{
}

module_init(daxlease_init);
module_exit(daxlease_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Layout leases for long-term pins of fsdax files");
