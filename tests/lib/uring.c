#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/io_uring.h>

#include "proc.h"
#include "tap.h"
#include "uring.h"

int uring_new(void)
{
	struct io_uring_params p;
	int ring;

	memset(&p, 0, sizeof(p));
	ring = syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0)
		diag("io_uring_setup: %s", errno_name(errno));
	return ring;
}

int uring_register(int ring, void *addr, size_t len)
{
	struct iovec iov = { addr, len };

	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS,
		    &iov, 1))
		return errno;
	return 0;
}

bool uring_register_is(int ring, void *addr, size_t len, int want)
{
	int err = ring < 0 ? CHILD_SETUP_ERR : uring_register(ring, addr, len);

	if (err != want)
		diag("IORING_REGISTER_BUFFERS: %s, expected %s",
		     errno_name(err), errno_name(want));
	return err == want;
}

bool uring_unregister(int ring)
{
	if (syscall(__NR_io_uring_register, ring, IORING_UNREGISTER_BUFFERS,
		    NULL, 0)) {
		diag("IORING_UNREGISTER_BUFFERS: %s", errno_name(errno));
		return false;
	}
	return true;
}
