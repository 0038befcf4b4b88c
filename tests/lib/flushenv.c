#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "flushenv.h"
#include "tap.h"

int flush_rdma_core_env(void)
{
	char exe[PATH_MAX], drv[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0) {
		diag("readlink /proc/self/exe: %s", errno_name(errno));
		return -1;
	}
	exe[n] = '\0';
	/* libibverbs appends "-rdmav<ABI>.so" to an absolute driver name */
	snprintf(drv, sizeof(drv), "%s/.rdma-core/librxe", dirname(exe));
	if (setenv("RDMAV_DRIVERS", drv, 1)) {
		diag("setenv RDMAV_DRIVERS: %s", errno_name(errno));
		return -1;
	}
	return 0;
}
