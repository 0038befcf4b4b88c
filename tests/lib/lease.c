/* Layout leases: see lease.h. */
#include <errno.h>
#include <stdio.h>

#include "lease.h"
#include "proc.h"
#include "tap.h"

int lease_set(int fd, int arg)
{
	return fcntl(fd, F_SETLEASE, arg) ? -1 : 0;
}

int lease_get(int fd)
{
	int type = fcntl(fd, F_GETLEASE);

	if (type < 0)
		diag("F_GETLEASE: %s", errno_name(errno));
	return type;
}

const char *lease_name(int arg)
{
	static char buf[4][16];
	static unsigned int next;
	char *s;

	switch (arg) {
	case F_RDLCK:
		return "F_RDLCK";
	case F_WRLCK:
		return "F_WRLCK";
	case F_UNLCK:
		return "F_UNLCK";
	case F_LAYOUT:
		return "F_LAYOUT";
	case F_LAYOUT | F_EXCLUSIVE:
		return "F_LAYOUT|F_EXCLUSIVE";
	}
	s = buf[next++ % 4];
	snprintf(s, sizeof(buf[0]), "%d", arg);
	return s;
}

int lease_hold_unbreakable(void *arg)
{
	const char *path = arg;
	int fd, err;

	fd = open(path, O_RDWR);
	if (fd < 0) {
		diag("helper: open %s: %s", path, errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (lease_set(fd, F_UNBREAKABLE)) {
		err = errno;
		diag("helper: F_SETLEASE F_LAYOUT|F_EXCLUSIVE: %s",
		     errno_name(err));
		return err;
	}
	return 0;
}
