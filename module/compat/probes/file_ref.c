// SPDX-License-Identifier: GPL-2.0
/* struct file counts references in a file_ref_t (6.13), not f_count */
#include <linux/fs.h>
#include <linux/file_ref.h>

bool daxlease_probe(struct file *f);
bool daxlease_probe(struct file *f)
{
	return file_ref_get(&f->f_ref);
}
