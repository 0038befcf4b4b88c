#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debugk.h"
#include "report.h"
#include "tap.h"

#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define FAULT_DIR	"/sys/kernel/debug/"

/* debugfs knobs fault_setup() changes, with the value set and the old one */
static struct knob {
	const char *path;
	const char *value;
	char old[32];
} knobs[] = {
	{ .path = FAULT_DIR "failslab/ignore-gfp-wait", .value = "N" },
	{ .path = FAULT_DIR "failslab/verbose", .value = "0" },
	{ .path = FAULT_DIR "fail_page_alloc/ignore-gfp-wait", .value = "N" },
	{ .path = FAULT_DIR "fail_page_alloc/min-order", .value = "0" },
	{ .path = FAULT_DIR "fail_page_alloc/verbose", .value = "0" },
};

#define NR_KNOBS	(sizeof(knobs) / sizeof(knobs[0]))

static int nth_fd = -1;
static unsigned int knobs_set;

static int text_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), r = -1;

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) == (ssize_t)strlen(text))
		r = 0;
	close(fd);
	return r;
}

const char *fault_setup(void)
{
	unsigned int i;
	char *text;
	const char *step;

	nth_fd = open(FAIL_NTH, O_RDWR);
	if (nth_fd < 0)
		return "no " FAIL_NTH " (kernel without CONFIG_FAULT_INJECTION: make check-debug runs this)";
	for (i = 0; i < NR_KNOBS; i++) {
		text = text_read(knobs[i].path, &step);
		if (!text)
			return "failslab or fail_page_alloc not in debugfs (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS)";
		snprintf(knobs[i].old, sizeof(knobs[i].old), "%s", text);
		free(text);
		if (text_write(knobs[i].path, knobs[i].value)) {
			diag("write %s: %s", knobs[i].path, errno_name(errno));
			return "cannot set the fault injection knobs";
		}
		knobs_set = i + 1;
	}
	return NULL;
}

void fault_arm(unsigned int nth)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", nth);

	if (pwrite(nth_fd, buf, len, 0) != len)
		bail_out("write %s: %s", FAIL_NTH, errno_name(errno));
}

bool fault_consumed(void)
{
	char buf[16] = "";
	int saved = errno;
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		bail_out("read %s: %s", FAIL_NTH, errno_name(errno));
	fault_arm(0);
	errno = saved;
	/* what is left of the count: 0 once the failure was injected */
	return atoi(buf) == 0;
}

void fault_teardown(void)
{
	while (knobs_set) {
		knobs_set--;
		text_write(knobs[knobs_set].path, knobs[knobs_set].old);
	}
	if (nth_fd >= 0)
		close(nth_fd);
	nth_fd = -1;
}

char *kmemleak_scan_report(void)
{
	const char *step;
	char *text;

	if (text_write(KMEMLEAK, "scan")) {
		diag("write scan to %s: %s", KMEMLEAK, errno_name(errno));
		return NULL;
	}
	text = text_read(KMEMLEAK, &step);
	if (!text)
		diag("%s %s: %s", step, KMEMLEAK, errno_name(errno));
	return text;
}
