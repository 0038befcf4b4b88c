/*
 * What a user sees when loading daxlease.ko (DAXLEASE_MODULE) with insmod:
 * on a kernel with the hooks (hooks/ applied, CONFIG_DAXLEASE_HOOKS) it
 * loads without a word; on a kernel without them (Debian's stock 6.12, booted
 * by scripts/check-dist with a module built against its headers) insmod
 * exits nonzero with "Operation not supported" and the kernel log gets
 * exactly one line that names the missing hooks: no unknown-symbol list from
 * the loader, no oops (tests/run checks the log for those too). The only
 * other daxlease lines allowed are the kernel's own taint notices for an
 * out-of-tree or unsigned module. /proc/self/file_pins (hooks/0007) tells
 * which kernel this is. The module is left as it was found.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env.h"
#include "kmod.h"
#include "tap.h"

#define HOOKS_MESSAGE	"CONFIG_DAXLEASE_HOOKS"

/* Kernel lines logged by a load, as counted from /dev/kmsg. */
struct load_log {
	int hooks;		/* lines naming the missing hooks */
	int loader;		/* the loader's symbol complaints */
	int other;		/* other daxlease lines */
};

/* /dev/kmsg positioned at its end: what the next load logs. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 || lseek(fd, 0, SEEK_END) < 0)
		bail_out("/dev/kmsg: %s", errno_name(errno));
	return fd;
}

static bool taint_notice(const char *text)
{
	return strstr(text, "loading out-of-tree module taints kernel") ||
	       strstr(text, "module verification failed");
}

static void kmsg_count(int fd, struct load_log *log)
{
	char rec[2048];
	ssize_t len;

	memset(log, 0, sizeof(*log));
	/* one record per read(): "prio,seq,time,flags;text\n[dict]" */
	for (;;) {
		char *text;

		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* records were overwritten meanwhile */
		if (len <= 0)
			break;		/* EAGAIN: no more */
		rec[len] = '\0';
		text = strchr(rec, ';');
		if (!text)
			continue;
		text[strcspn(text, "\n")] = '\0';
		text++;
		if (strstr(text, "Unknown symbol") ||
		    strstr(text, "disagrees about version"))
			log->loader++;
		else if (strstr(text, HOOKS_MESSAGE))
			log->hooks++;
		else if (strstr(text, DAXLEASE_MODULE_NAME) &&
			 !taint_notice(text))
			log->other++;
		else
			continue;
		diag("kernel: %s", text);
	}
}

/* Run insmod @path as a user would; its exit status, its output in @msg. */
static int insmod(const char *path, char *msg, size_t size)
{
	char cmd[4200];
	size_t used = 0;
	FILE *out;
	int status;

	snprintf(cmd, sizeof(cmd), "insmod '%s' 2>&1", path);
	out = popen(cmd, "r");
	if (!out)
		bail_out("popen insmod: %s", errno_name(errno));
	msg[0] = '\0';
	while (used + 1 < size && fgets(msg + used, size - used, out))
		used += strlen(msg + used);
	status = pclose(out);
	msg[strcspn(msg, "\n")] = '\0';
	if (msg[0])
		diag("insmod: %s", msg);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int main(void)
{
	const char *path = env_module();
	bool hooks = access("/proc/self/file_pins", F_OK) == 0, was_loaded;
	struct load_log log;
	struct utsname uts;
	char msg[1024];
	int kmsg, rc;

	plan(7);
	uname(&uts);
	diag("kernel %s, %s hooks, module %s", uts.release,
	     hooks ? "with" : "without", path ?: "(DAXLEASE_MODULE unset)");
	if (!path)
		bail_out("DAXLEASE_MODULE is not set");

	ok(!module_stock_begin(DAXLEASE_MODULE_NAME, &was_loaded),
	   "daxlease not loaded before the load under test");
	kmsg = kmsg_open();
	rc = insmod(path, msg, sizeof(msg));
	kmsg_count(kmsg, &log);
	close(kmsg);

	if (hooks) {
		ok(rc == 0, "hooks kernel: insmod exits 0");
		ok(log.hooks == 0, "hooks kernel: no kernel line about missing hooks");
	} else {
		ok(rc != 0 && strstr(msg, strerror(EOPNOTSUPP)),
		   "no hooks: insmod exits nonzero with \"%s\"",
		   strerror(EOPNOTSUPP));
		ok(log.hooks == 1,
		   "no hooks: exactly one kernel line names the missing hooks (%s)",
		   HOOKS_MESSAGE);
	}
	ok(log.loader == 0,
	   "no 'Unknown symbol' or symbol version line from the module loader");
	ok(log.other == 0,
	   "no other daxlease kernel line than the kernel's taint notices");
	ok(module_loaded(DAXLEASE_MODULE_NAME) == hooks,
	   "daxlease %s loaded afterwards", hooks ? "is" : "is not");
	ok(!module_restore(DAXLEASE_MODULE_NAME, path, was_loaded),
	   "daxlease module state restored (%s)",
	   was_loaded ? "loaded" : "not loaded");
	return done_testing();
}
