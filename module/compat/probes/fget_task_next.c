// SPDX-License-Identifier: GPL-2.0
/* fget_task_next() (6.13) replaced task_lookup_next_fdget_rcu() */
#include <linux/file.h>
#include <linux/sched.h>

struct file *daxlease_probe(struct task_struct *task, unsigned int *fd);
struct file *daxlease_probe(struct task_struct *task, unsigned int *fd)
{
	return fget_task_next(task, fd);
}
