// SPDX-License-Identifier: GPL-2.0
/*
 * libdaxlease-preload.so: `daxlease run` puts it in LD_PRELOAD so that every
 * process it starts, directly or through any depth of fork and exec, can
 * register mappings of leased fsdax files with unchanged verbs code.
 *
 * A layout lease belongs to the thread group that took it (the kernel's
 * rule, unchanged): a forked worker, or a program that a shell started,
 * may not pin under its ancestor's lease. So before a registration
 * (ibv_reg_mr() and its variants) this library looks up, in
 * /proc/self/maps, the files that back the range and takes the calling
 * process's own layout lease (of the kind in DAXLEASE_RUN_KIND: F_LAYOUT
 * for "breakable", else F_LAYOUT|F_EXCLUSIVE) on each of them that `daxlease
 * run` allowed: the files given with --lease (by device and inode, from
 * DAXLEASE_RUN_FILES), or with --auto every fsdax file the process
 * registers (DAXLEASE_RUN_AUTO). It opens the file by the mapping's path
 * and checks that it is the mapped inode; the lease needs the same
 * permission (the file's owner or CAP_LEASE) as any F_SETLEASE, so nothing
 * here lets a process pin what it could not lease itself, and a process
 * outside the tree (no preload) still gets EPERM while a lease is held.
 *
 * The leases are held by O_CLOEXEC fds until the process exits or execs;
 * a fork child closes the ones it inherited and takes its own.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "../include/uapi/linux/daxlease.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX	0x00200000
#endif

#define MAX_LEASES	256

struct held {
	dev_t dev;
	ino_t ino;
	int fd;		/* -1: refused, not asked again */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct held held[MAX_LEASES];
static int nheld;
static pid_t held_pid;		/* the process the table belongs to */
static bool atfork_done;

/*
 * Is (@dev, @ino) one of DAXLEASE_RUN_FILES ("maj:min:ino:fd,...": the
 * files given to run --lease, and the fds run holds their leases on)? *@fd
 * gets run's fd. Any fsdax file is allowed with DAXLEASE_RUN_AUTO.
 */
static bool allowed(dev_t dev, ino_t ino, int *fd)
{
	const char *s = getenv("DAXLEASE_RUN_FILES");
	unsigned int maj, min;
	unsigned long long i;
	int n;

	*fd = -1;
	if (getenv("DAXLEASE_RUN_AUTO"))
		return true;
	while (s && sscanf(s, "%u:%u:%llu:%d%n", &maj, &min, &i, fd, &n) == 4) {
		if (makedev(maj, min) == dev && i == ino)
			return true;
		s = strchr(s + n, ',');
		if (s)
			s++;
	}
	*fd = -1;
	return false;
}

/* A fork child: the inherited fds hold the parent's leases, not ours. */
static void forget_inherited(void)
{
	int i;

	for (i = 0; i < nheld; i++)
		if (held[i].fd >= 0)
			close(held[i].fd);
	nheld = 0;
	held_pid = getpid();
}

static void after_fork_child(void)
{
	pthread_mutex_init(&lock, NULL);
	forget_inherited();
}

/* Is (@dev, @ino) leased (or refused) by this process? */
static bool known(dev_t dev, ino_t ino)
{
	int i;

	for (i = 0; i < nheld; i++)
		if (held[i].dev == dev && held[i].ino == ino)
			return true;
	return false;
}

/* The lease kind `daxlease run` was asked for. */
static int run_kind(void)
{
	const char *kind = getenv("DAXLEASE_RUN_KIND");

	return kind && !strcmp(kind, "breakable") ?
	       F_LAYOUT : F_LAYOUT | F_EXCLUSIVE;
}

/*
 * The process `daxlease run` exec'd (CMD itself) holds run's leases on the
 * fds run left open, unless it closed them.
 */
static bool run_holds(dev_t dev, ino_t ino)
{
	const char *pid = getenv("DAXLEASE_RUN_PID");
	struct stat st;
	int fd;

	return pid && atol(pid) == getpid() && allowed(dev, ino, &fd) &&
	       fd >= 0 && !fstat(fd, &st) && st.st_dev == dev &&
	       st.st_ino == ino &&
	       fcntl(fd, F_GETLEASE) == run_kind();
}

static void lease_file(const char *path, dev_t dev, ino_t ino)
{
	struct statx stx;
	int fd, kind = run_kind();

	if (nheld == MAX_LEASES)
		return;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == EACCES)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* the path may name another file by now: lease only the mapped one */
	if (statx(fd, "", AT_EMPTY_PATH, STATX_INO, &stx) ||
	    makedev(stx.stx_dev_major, stx.stx_dev_minor) != dev ||
	    stx.stx_ino != ino || !(stx.stx_attributes & STATX_ATTR_DAX)) {
		close(fd);
		return;
	}
	if (fcntl(fd, F_SETLEASE, kind)) {
		fprintf(stderr,
			"daxlease: %s: cannot take a layout lease: %s\n",
			path, strerror(errno));
		close(fd);
		fd = -1;
	}
	held[nheld].dev = dev;
	held[nheld].ino = ino;
	held[nheld].fd = fd;
	nheld++;
}

/* Lease the allowed fsdax files behind [@addr, @addr + @len). */
static void lease_range(const void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr, end = start + len, lo, hi;
	unsigned int maj, min;
	unsigned long long ino;
	char line[4096 + 256];
	int saved = errno, path_at, fd;
	FILE *maps;

	if (!len || (!getenv("DAXLEASE_RUN_FILES") &&
		     !getenv("DAXLEASE_RUN_AUTO")))
		return;
	pthread_mutex_lock(&lock);
	if (!atfork_done) {
		pthread_atfork(NULL, NULL, after_fork_child);
		atfork_done = true;
	}
	if (held_pid != getpid())
		forget_inherited();
	maps = fopen("/proc/self/maps", "re");
	while (maps && fgets(line, sizeof(line), maps)) {
		char *path, *nl;
		dev_t dev;

		/* "lo-hi perms offset maj:min inode   path" */
		if (sscanf(line, "%lx-%lx %*s %*s %x:%x %llu %n", &lo, &hi,
			   &maj, &min, &ino, &path_at) != 5 ||
		    hi <= start || lo >= end || !ino)
			continue;
		path = line + path_at;
		nl = strchr(path, '\n');
		if (nl)
			*nl = '\0';
		dev = makedev(maj, min);
		if (path[0] != '/' || known(dev, ino) ||
		    !allowed(dev, ino, &fd) || run_holds(dev, ino))
			continue;
		lease_file(path, dev, ino);
	}
	if (maps)
		fclose(maps);
	pthread_mutex_unlock(&lock);
	errno = saved;
}

#define REAL(name) ({							\
	static typeof(&name) real_##name;				\
	if (!real_##name)						\
		real_##name = (typeof(&name))dlsym(RTLD_NEXT, #name);	\
	real_##name; })

/* verbs.h turns these into inline wrappers; we interpose the symbols. */
#undef ibv_reg_mr
#undef ibv_reg_mr_iova

struct ibv_mr *ibv_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			  int access)
{
	lease_range(addr, length);
	return REAL(ibv_reg_mr)(pd, addr, length, access);
}

struct ibv_mr *ibv_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length,
			       uint64_t iova, int access)
{
	lease_range(addr, length);
	return REAL(ibv_reg_mr_iova)(pd, addr, length, iova, access);
}

struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length,
				uint64_t iova, unsigned int access)
{
	lease_range(addr, length);
	return REAL(ibv_reg_mr_iova2)(pd, addr, length, iova, access);
}

int ibv_rereg_mr(struct ibv_mr *mr, int flags, struct ibv_pd *pd, void *addr,
		 size_t length, int access)
{
	if (flags & IBV_REREG_MR_CHANGE_TRANSLATION)
		lease_range(addr, length);
	return REAL(ibv_rereg_mr)(mr, flags, pd, addr, length, access);
}
