/*
 * The guest environment, as written by scripts/guest-setup:
 *   DAXLEASE_XFS, DAXLEASE_EXT4	mount points, -o dax=always on fsdax pmem
 *   DAXLEASE_RXE			soft-RoCE device name ("rxe0")
 *   DAXLEASE_MODULE			path of daxlease.ko, empty if not built
 *   DAXLEASE_TMP			scratch directory on tmpfs
 *   DAXLEASE_DEVDAX			the device-dax character device
 *   DAXLEASE_DEVDAX_NS		its nd namespace (namespaceR.N)
 *   DAXLEASE_XFS_NODAX, DAXLEASE_EXT4_NODAX
 *					mount points, -o dax=never on raw pmem
 */
#ifndef DAXLEASE_ENV_H
#define DAXLEASE_ENV_H

#include <stdbool.h>

/* Value of @var, NULL if unset or empty. Silent. */
const char *env_get(const char *var);

/* The required ones print a diag when unset and return NULL. */
const char *env_rxe(void);
const char *env_tmp(void);
/* Optional: NULL when the module was not built. */
const char *env_module(void);

struct dax_fs {
	const char *name;	/* "xfs", "ext4": prefix of test point names */
	const char *var;	/* environment variable holding the mount point */
	const char *path;	/* mount point, NULL if @var is unset */
};

#define DAX_FS_COUNT 2

/* Table of DAX_FS_COUNT entries, terminated by a zeroed one. */
const struct dax_fs *dax_fs_list(void);

#define for_each_dax_fs(fs) \
	for ((fs) = dax_fs_list(); (fs)->name; (fs)++)

/*
 * 1 if the open file @fd is DAX (statx STATX_ATTR_DAX), 0 if not, -1 (with
 * a diag) on error.
 */
int file_is_dax(int fd);

#endif
