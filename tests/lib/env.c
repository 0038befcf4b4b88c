/* The guest environment: see env.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "env.h"
#include "tap.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

const char *env_get(const char *var)
{
	const char *val = getenv(var);

	return val && *val ? val : NULL;
}

static const char *env_need(const char *var)
{
	const char *val = env_get(var);

	if (!val)
		diag("%s is not set (run the tests through scripts/guest-setup)",
		     var);
	return val;
}

const char *env_rxe(void)
{
	return env_need("DAXLEASE_RXE");
}

const char *env_tmp(void)
{
	return env_need("DAXLEASE_TMP");
}

const char *env_module(void)
{
	return env_get("DAXLEASE_MODULE");
}

const struct dax_fs *dax_fs_list(void)
{
	static struct dax_fs list[DAX_FS_COUNT + 1] = {
		{ .name = "xfs",  .var = "DAXLEASE_XFS" },
		{ .name = "ext4", .var = "DAXLEASE_EXT4" },
		{ },
	};
	struct dax_fs *fs;

	for (fs = list; fs->name; fs++)
		fs->path = env_get(fs->var);
	return list;
}

int file_is_dax(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx)) {
		diag("statx: %s", errno_name(errno));
		return -1;
	}
	/* No DAX in the mask: kernel too old to tell, which is not "yes". */
	return (stx.stx_attributes_mask & STATX_ATTR_DAX) &&
	       (stx.stx_attributes & STATX_ATTR_DAX);
}
