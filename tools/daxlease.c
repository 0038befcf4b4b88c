// SPDX-License-Identifier: GPL-2.0
/*
 * daxlease: run an unchanged RDMA application on files of fsdax filesystems.
 *
 *   daxlease run --lease FILE [--lease FILE...] -- CMD [ARGS...]
 *
 * Takes an unbreakable layout lease (F_LAYOUT|F_EXCLUSIVE) on each FILE and
 * execs CMD with the lease fds left open: a lease belongs to the thread
 * group that took it, which exec keeps, so CMD may then register mappings
 * of FILE with ibv_reg_mr() and nobody can truncate them under the NIC.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/uapi/linux/daxlease.h"

enum {
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_LEASE = 3,		/* a lease could not be taken */
	EXIT_EXEC = 127,	/* CMD could not be run */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: daxlease run --lease FILE [--lease FILE...] -- CMD [ARGS...]\n");
	exit(EXIT_USAGE);
}

/* Why F_SETLEASE failed, in the user's terms. */
static const char *lease_error(int err)
{
	switch (err) {
	case EINVAL:
		return "not a regular file on an fsdax (dax=always) ext4 or XFS mount, or the daxlease module is not loaded";
	case EACCES:
		return "permission denied: you must own the file or have CAP_LEASE";
	case EAGAIN:
		return "the file already has a conflicting lease on this open file";
	default:
		return strerror(err);
	}
}

static int take_lease(const char *path)
{
	int fd = open(path, O_RDWR);

	if (fd < 0) {
		fprintf(stderr, "daxlease: %s: %s\n", path, strerror(errno));
		exit(EXIT_LEASE);
	}
	if (fcntl(fd, F_SETLEASE, F_LAYOUT | F_EXCLUSIVE)) {
		fprintf(stderr, "daxlease: %s: %s\n", path, lease_error(errno));
		exit(EXIT_LEASE);
	}
	return fd;
}

static int run(int argc, char **argv)
{
	int i, leases = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--lease") || i + 1 == argc)
			usage();
		/* not O_CLOEXEC: the lease lives as long as its open file */
		take_lease(argv[++i]);
		leases++;
	}
	if (!leases || i >= argc)
		usage();
	execvp(argv[i], argv + i);
	fprintf(stderr, "daxlease: %s: %s\n", argv[i], strerror(errno));
	return EXIT_EXEC;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "run"))
		usage();
	return run(argc - 2, argv + 2);
}
