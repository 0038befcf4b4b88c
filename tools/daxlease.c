// SPDX-License-Identifier: GPL-2.0
/*
 * daxlease: run unchanged RDMA applications on files of fsdax filesystems,
 * and show who leases and pins such files. See man/man8/daxlease.8.
 *
 *   daxlease run [--lease FILE...] [--kind unbreakable|breakable] -- CMD [ARGS...]
 *   daxlease who FILE
 *   daxlease pins PID
 *   daxlease status
 *   daxlease revoke FILE
 *
 * run takes an unbreakable layout lease (F_LAYOUT|F_EXCLUSIVE) on each FILE
 * and execs CMD with the lease fds left open: a lease belongs to the thread
 * group that took it, which exec keeps, so CMD may then register mappings
 * of FILE with ibv_reg_mr() and nobody can truncate them under the NIC.
 * With --kind breakable the leases are F_LAYOUT: a truncate by someone else
 * then waits lease-break-time and revokes the registrations (module/revoke.c).
 * The processes CMD starts take their own leases at registration through
 * libdaxlease-preload.so (tools/preload.c), which run puts in LD_PRELOAD;
 * without --lease they lease every fsdax file they register.
 * who, pins and status read the module's reports (/proc/daxlease,
 * /proc/<pid>/file_pins; formats in module/report.c) and print them for
 * people.  revoke (root) recalls every lease and pin of FILE through
 * /proc/daxlease: the holders get SIGIO, their RDMA registrations are
 * destroyed.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../include/uapi/linux/daxlease.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX	0x00200000
#endif

/* Exit codes, documented in daxlease(8): keep them stable. */
enum {
	EXIT_FAIL = 1,		/* anything not listed below */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_LEASE = 3,		/* the kernel refused the lease otherwise */
	EXIT_NOT_DAX = 4,	/* FILE is not a regular file on fsdax */
	EXIT_NO_MODULE = 5,	/* daxlease module not loaded */
	EXIT_NO_HOOKS = 6,	/* kernel without the daxlease hooks */
	EXIT_PERM = 7,		/* permission denied */
	EXIT_NO_SUCH = 8,	/* no such file or process */
	EXIT_EXEC_PERM = 126,	/* CMD found but not executable */
	EXIT_EXEC = 127,	/* CMD not found */
};

#define GLOBAL_VIEW	"/proc/daxlease"
#define HOOKS_PROBE	"/proc/self/file_pins"
#define MODULE_DIR	"/sys/module/daxlease"
#define PRELOAD_NAME	"libdaxlease-preload.so"
#ifndef PRELOAD_DIR
#define PRELOAD_DIR	"/usr/local/lib/daxlease"
#endif

static const char usage_text[] =
	"usage: daxlease run [--lease FILE...] [--kind unbreakable|breakable] -- CMD [ARGS...]\n"
	"       daxlease who FILE\n"
	"       daxlease pins PID\n"
	"       daxlease status\n"
	"       daxlease revoke FILE\n";

static void usage(void)
{
	fputs(usage_text, stderr);
	exit(EXIT_USAGE);
}

static void __attribute__((format(printf, 2, 3), noreturn))
die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("daxlease: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* Exit code for a failed open/read/stat of a file the user named. */
static int errno_exit(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return EXIT_PERM;
	case ENOENT:
	case ENOTDIR:
	case ESRCH:
		return EXIT_NO_SUCH;
	default:
		return EXIT_FAIL;
	}
}

static bool hooks_present(void)
{
	return access(HOOKS_PROBE, F_OK) == 0;
}

static bool module_loaded(void)
{
	return access(MODULE_DIR, F_OK) == 0;
}

/* who, pins and run need both halves of daxlease. */
static void need_daxlease(void)
{
	if (!hooks_present())
		die(EXIT_NO_HOOKS,
		    "this kernel has no daxlease hooks (no %s): boot a kernel built with hooks/",
		    HOOKS_PROBE);
	if (!module_loaded())
		die(EXIT_NO_MODULE,
		    "the daxlease module is not loaded (modprobe daxlease)");
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (!p)
		die(EXIT_FAIL, "out of memory");
	return p;
}

/* Whole contents of @path, NUL-terminated; NULL with errno set. */
static char *slurp(const char *path)
{
	size_t len = 0, cap = 4096;
	char *buf, *bigger;
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = xmalloc(cap);
	for (;;) {
		if (cap - len < 1024) {
			cap *= 2;
			bigger = realloc(buf, cap);
			if (!bigger)
				die(EXIT_FAIL, "out of memory");
			buf = bigger;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	err = errno;
	close(fd);
	if (n < 0) {
		free(buf);
		errno = err;
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/*
 * A report of the kernel, whole; exits with EXIT_PERM and @denied_why if
 * reading it is not allowed, with @missing_code and @missing_why if it does
 * not exist.
 */
static char *report_read(const char *path, const char *denied_why,
			 int missing_code, const char *missing_why)
{
	char *text = slurp(path);

	if (text)
		return text;
	if (errno == EACCES || errno == EPERM)
		die(EXIT_PERM, "%s: permission denied: %s", path, denied_why);
	if (errno == ENOENT || errno == ESRCH)
		die(missing_code, "%s: %s", path, missing_why);
	die(EXIT_FAIL, "%s: %s", path, strerror(errno));
}

/* @raw with newlines as "\012", the way seq_file_path() prints paths. */
static char *path_escape(const char *raw)
{
	char *s = xmalloc(strlen(raw) * 4 + 1), *q = s;

	for (; *raw; raw++) {
		if (*raw == '\n') {
			memcpy(q, "\\012", 4);
			q += 4;
		} else {
			*q++ = *raw;
		}
	}
	*q = '\0';
	return s;
}

/* "(comm)" of @pid, "(?)" if it cannot be read; static buffer. */
static const char *comm_of(long pid)
{
	static char out[64];
	char path[64], *comm, *nl;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	comm = pid > 0 ? slurp(path) : NULL;
	if (!comm) {
		snprintf(out, sizeof(out), "(?)");
		return out;
	}
	nl = strchr(comm, '\n');
	if (nl)
		*nl = '\0';
	snprintf(out, sizeof(out), "(%s)", comm);
	free(comm);
	return out;
}

/* A PID argument: digits only, > 0. */
static long parse_pid(const char *arg)
{
	char *end;
	long pid;

	if (!isdigit((unsigned char)*arg))
		usage();
	errno = 0;
	pid = strtol(arg, &end, 10);
	if (*end || errno || pid <= 0 || pid > INT_MAX)
		usage();
	return pid;
}

/* ---- run ---- */

/* Why F_SETLEASE failed, in the user's terms, and the exit code for it. */
static void lease_refused(const char *path, int err)
{
	switch (err) {
	case EINVAL:
		die(EXIT_NOT_DAX,
		    "%s: the kernel refused the lease: not a regular file of an fsdax (dax=always) ext4 or XFS mount",
		    path);
	case EACCES:
	case EPERM:
		die(EXIT_PERM,
		    "%s: permission denied: a lease needs the file's owner or CAP_LEASE",
		    path);
	case EAGAIN:
		die(EXIT_LEASE,
		    "%s: the file already has a conflicting lease on this open file",
		    path);
	default:
		die(EXIT_LEASE, "%s: F_SETLEASE: %s", path, strerror(err));
	}
}

/*
 * Not O_CLOEXEC: the lease lives as long as its open file, past exec.
 * Returns the fd; its file is added to @files ("maj:min:ino:fd,...").
 */
static int take_lease(const char *path, int kind, char *files, size_t size)
{
	struct statx stx;
	size_t len = strlen(files);
	int fd = open(path, O_RDWR);

	if (fd < 0)
		die(errno == EISDIR ? EXIT_NOT_DAX : errno_exit(errno),
		    "%s: %s", path, strerror(errno));
	if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO, &stx))
		die(EXIT_FAIL, "%s: statx: %s", path, strerror(errno));
	if (!S_ISREG(stx.stx_mode) || !(stx.stx_attributes & STATX_ATTR_DAX))
		die(EXIT_NOT_DAX,
		    "%s: not a file on an fsdax filesystem (ext4 or XFS on pmem, mounted -o dax=always): no layout lease, RDMA registration would fail",
		    path);
	if (fcntl(fd, F_SETLEASE, kind))
		lease_refused(path, errno);
	snprintf(files + len, size - len, "%s%u:%u:%llu:%d", len ? "," : "",
		 stx.stx_dev_major, stx.stx_dev_minor,
		 (unsigned long long)stx.stx_ino, fd);
	return fd;
}

/*
 * The preload library (tools/preload.c): DAXLEASE_PRELOAD, else next to
 * this program (the source tree), else where make install put it.
 */
static char *preload_path(void)
{
	const char *env = getenv("DAXLEASE_PRELOAD");
	char exe[PATH_MAX], *slash, *path;
	ssize_t n;

	if (env && *env)
		return access(env, R_OK) ? NULL : strdup(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash && asprintf(&path, "%.*s/" PRELOAD_NAME,
				      (int)(slash - exe), exe) > 0) {
			if (!access(path, R_OK))
				return path;
			free(path);
		}
	}
	return access(PRELOAD_DIR "/" PRELOAD_NAME, R_OK) ? NULL :
	       strdup(PRELOAD_DIR "/" PRELOAD_NAME);
}

/* Environment of the tree: LD_PRELOAD first, what the library reads. */
static void tree_env(const char *files, const char *kind, bool automatic)
{
	const char *old = getenv("LD_PRELOAD");
	char *lib = preload_path(), *val, pid[16];

	if (!lib) {
		if (automatic)
			die(EXIT_FAIL,
			    "cannot find %s (set DAXLEASE_PRELOAD): automatic leases need it",
			    PRELOAD_NAME);
		/* CMD itself holds the leases; its children will not */
		fprintf(stderr,
			"daxlease: warning: %s not found: only CMD itself, not its children, can register the files\n",
			PRELOAD_NAME);
		return;
	}
	if (asprintf(&val, "%s%s%s", lib, old && *old ? " " : "",
		     old ? old : "") < 0)
		die(EXIT_FAIL, "out of memory");
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (setenv("LD_PRELOAD", val, 1) ||
	    setenv("DAXLEASE_RUN_PID", pid, 1) ||
	    setenv("DAXLEASE_RUN_KIND", kind, 1) ||
	    (automatic ? setenv("DAXLEASE_RUN_AUTO", "1", 1) ||
			 unsetenv("DAXLEASE_RUN_FILES") :
			 setenv("DAXLEASE_RUN_FILES", files, 1) ||
			 unsetenv("DAXLEASE_RUN_AUTO")))
		die(EXIT_FAIL, "setenv: %s", strerror(errno));
	free(val);
	free(lib);
}

/*
 * run [--lease FILE]... [--kind KIND] -- CMD: with --lease, lease each FILE
 * and let the tree lease those files at registration; without, let the
 * tree lease every fsdax file it registers (automatic leases).
 */
static int cmd_run(int argc, char **argv)
{
	const char *kind_name = "unbreakable";
	int i, err, leases = 0, kind = F_LAYOUT | F_EXCLUSIVE;
	char files[4096] = "";

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (i + 1 == argc)
			usage();
		if (!strcmp(argv[i], "--lease")) {
			leases++;
		} else if (!strcmp(argv[i], "--kind")) {
			kind_name = argv[i + 1];
			if (!strcmp(kind_name, "breakable"))
				kind = F_LAYOUT;
			else if (strcmp(kind_name, "unbreakable"))
				die(EXIT_USAGE,
				    "--kind %s: the kinds are unbreakable and breakable",
				    kind_name);
		} else {
			usage();
		}
		i++;
	}
	if (i >= argc || strcmp(argv[i - 1], "--"))
		usage();
	need_daxlease();
	for (leases = 0; leases < i - 1; leases += 2)
		if (!strcmp(argv[leases], "--lease"))
			take_lease(argv[leases + 1], kind, files,
				   sizeof(files));
	tree_env(files, kind_name, !files[0]);
	execvp(argv[i], argv + i);
	err = errno;
	fprintf(stderr, "daxlease: %s: %s\n", argv[i], strerror(err));
	return err == ENOENT ? EXIT_EXEC : EXIT_EXEC_PERM;
}

/* ---- the global view: who, status ---- */

struct owner {
	char kind[8];		/* file, mm, closed */
	unsigned long pages;
	char *path;		/* owner file, escaped; NULL if none */
};

struct lease {
	long pid;		/* 0: outside our pid namespace, -1: exited */
	int fd;			/* -1: no longer that fd */
	unsigned int major, minor;
	unsigned long ino;
	char kind[16];		/* unbreakable, breakable */
	char state[16];		/* live, orphaned */
	unsigned long pages;
	char *path;		/* escaped, as the kernel prints it */
	struct owner *owners;
	size_t nowners;
};

struct view {
	struct lease *leases;
	size_t n;
};

/* Read and parse /proc/daxlease; exits with a message on failure. */
static void view_read(struct view *v)
{
	char *text, *line, *next;
	struct lease *l = NULL;
	char pid[16], fd[16];
	struct owner *o;
	int off;

	text = report_read(GLOBAL_VIEW,
			   "the list of leases is readable by root only",
			   EXIT_NO_MODULE, "the daxlease module is not loaded");
	v->leases = NULL;
	v->n = 0;
	for (line = text; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*line == '\t') {
			if (!l)
				die(EXIT_FAIL, "%s: unexpected line: %s",
				    GLOBAL_VIEW, line);
			l->owners = realloc(l->owners,
					    (l->nowners + 1) * sizeof(*o));
			if (!l->owners)
				die(EXIT_FAIL, "out of memory");
			o = &l->owners[l->nowners++];
			off = 0;
			if (sscanf(line, "\t%7s %lu %n", o->kind, &o->pages,
				   &off) < 2 || !off)
				die(EXIT_FAIL, "%s: unexpected line: %s",
				    GLOBAL_VIEW, line);
			o->path = line[off] ? strdup(line + off) : NULL;
			continue;
		}
		v->leases = realloc(v->leases, (v->n + 1) * sizeof(*l));
		if (!v->leases)
			die(EXIT_FAIL, "out of memory");
		l = &v->leases[v->n++];
		memset(l, 0, sizeof(*l));
		off = 0;
		if (sscanf(line, "%15s %15s %15s %15s %lu %x:%x:%lu %n", pid, fd,
			   l->kind, l->state, &l->pages, &l->major, &l->minor,
			   &l->ino, &off) < 8 || !off)
			die(EXIT_FAIL, "%s: unexpected line: %s", GLOBAL_VIEW,
			    line);
		/* "-": the holder exited / the fd no longer refers to it */
		l->pid = strcmp(pid, "-") ? atol(pid) : -1;
		l->fd = strcmp(fd, "-") ? atoi(fd) : -1;
		l->path = strdup(line + off);
	}
	free(text);
}

static void print_lease(const struct lease *l)
{
	const struct owner *o;
	size_t i;

	if (l->pid > 0)
		printf("  pid %ld %s, ", l->pid, comm_of(l->pid));
	else if (!l->pid)
		printf("  pid ? (outside this pid namespace), ");
	else
		printf("  exited holder, ");
	if (l->fd >= 0)
		printf("fd %d: ", l->fd);
	else
		printf("no fd: ");
	printf("%s lease, %s, %lu pages pinned\n", l->kind,
	       strcmp(l->state, "orphaned") ? l->state :
	       "orphaned (its file is closed, pins remain)", l->pages);
	for (i = 0; i < l->nowners; i++) {
		o = &l->owners[i];
		if (!strcmp(o->kind, "file"))
			printf("    %lu pages pinned through %s\n", o->pages,
			       o->path ? o->path : "?");
		else if (!strcmp(o->kind, "mm"))
			printf("    %lu pages pinned by a process's memory map (mm)\n",
			       o->pages);
		else if (!strcmp(o->kind, "closed"))
			printf("    %lu pages pinned through a closed file (its MRs outlive it)\n",
			       o->pages);
		else
			printf("    %lu pages pinned by %s\n", o->pages,
			       o->kind);
	}
}

/* Is lease @l on the file @st (the same device and inode)? */
static bool lease_of(const struct lease *l, const struct stat *st)
{
	return l->major == major(st->st_dev) && l->minor == minor(st->st_dev) &&
	       l->ino == st->st_ino;
}

/* Print the leases of @v on the file of lease @i whose path is that one's. */
static void print_file(const struct view *v, size_t i)
{
	const struct lease *f = &v->leases[i];
	size_t j;

	printf("%s\n", f->path);
	for (j = 0; j < v->n; j++)
		if (v->leases[j].major == f->major &&
		    v->leases[j].minor == f->minor &&
		    v->leases[j].ino == f->ino &&
		    !strcmp(v->leases[j].path, f->path))
			print_lease(&v->leases[j]);
}

/* Is lease @i the first one of its file and path in @v? */
static bool first_of_path(const struct view *v, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (v->leases[j].major == v->leases[i].major &&
		    v->leases[j].minor == v->leases[i].minor &&
		    v->leases[j].ino == v->leases[i].ino &&
		    !strcmp(v->leases[j].path, v->leases[i].path))
			return false;
	return true;
}

/*
 * who FILE: the leases on FILE's device and inode (hard links, bind mounts,
 * deleted files included), never another file that has the same path text
 * in another mount namespace.
 */
static int cmd_who(int argc, char **argv)
{
	char *real, *real_esc;
	bool shown = false;
	struct view v;
	struct stat st;
	size_t i;

	if (argc != 1)
		usage();
	if (stat(argv[0], &st))
		die(errno_exit(errno), "%s: %s", argv[0], strerror(errno));
	real = realpath(argv[0], NULL);
	if (!real)
		die(errno_exit(errno), "%s: %s", argv[0], strerror(errno));
	real_esc = path_escape(real);
	need_daxlease();
	view_read(&v);

	/* One heading per distinct lease path of this file (hard links). */
	for (i = 0; i < v.n; i++) {
		if (!lease_of(&v.leases[i], &st) || !first_of_path(&v, i))
			continue;
		shown = true;
		print_file(&v, i);
	}
	if (!shown)
		printf("%s: no daxlease leases or pins\n", real_esc);
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	size_t i, files = 0;
	struct view v;

	(void)argv;
	if (argc)
		usage();
	if (!hooks_present()) {
		printf("kernel: no daxlease hooks (%s is missing)\n",
		       HOOKS_PROBE);
		printf("module: %s\n", module_loaded() ? "loaded" :
		       "not loaded");
		return EXIT_NO_HOOKS;
	}
	printf("kernel: daxlease hooks present\n");
	if (!module_loaded()) {
		printf("module: not loaded (modprobe daxlease)\n");
		return EXIT_NO_MODULE;
	}
	printf("module: loaded\n");
	view_read(&v);
	for (i = 0; i < v.n; i++)
		files += first_of_path(&v, i);
	printf("leased or pinned files: %zu\n", files);
	for (i = 0; i < v.n; i++)
		if (first_of_path(&v, i))
			print_file(&v, i);
	return 0;
}

/* ---- pins ---- */

static int cmd_pins(int argc, char **argv)
{
	char dir[64], path[96], *text, *line, *next, *colon;
	bool any = false, mm_heading = false;
	long pid;

	if (argc != 1)
		usage();
	pid = parse_pid(argv[0]);
	snprintf(dir, sizeof(dir), "/proc/%ld", pid);
	if (access(dir, F_OK))
		die(EXIT_NO_SUCH, "no process %ld", pid);
	need_daxlease();
	snprintf(path, sizeof(path), "%s/file_pins", dir);
	text = report_read(path,
			   "reading another process's pins needs ptrace read access (same user, or CAP_SYS_PTRACE)",
			   EXIT_NO_SUCH, "the process exited");
	printf("pid %ld %s\n", pid, comm_of(pid));
	for (line = text; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		any = true;
		colon = line + strspn(line, "0123456789");
		if (*line == '\t') {
			printf("    %s\n", line + 1);
		} else if (colon != line && !strncmp(colon, ": ", 2)) {
			*colon = '\0';
			printf("  owned by fd %s (%s):\n", line, colon + 2);
		} else {
			if (!mm_heading)
				printf("  owned by the process's memory map (mm):\n");
			mm_heading = true;
			printf("    %s\n", line);
		}
	}
	if (!any)
		printf("  no pinned files\n");
	free(text);
	return 0;
}

/* ---- revoke ---- */

/* revoke FILE: root recalls every lease and pin of FILE (module/revoke.c). */
static int cmd_revoke(int argc, char **argv)
{
	char cmd[32];
	int fd, wfd, len;

	if (argc != 1)
		usage();
	fd = open(argv[0], O_PATH);
	if (fd < 0)
		die(errno_exit(errno), "%s: %s", argv[0], strerror(errno));
	need_daxlease();
	wfd = open(GLOBAL_VIEW, O_WRONLY);
	if (wfd < 0)
		die(errno_exit(errno), "%s: %s%s", GLOBAL_VIEW, strerror(errno),
		    errno == EACCES ? " (revoking needs root)" : "");
	len = snprintf(cmd, sizeof(cmd), "revoke %d\n", fd);
	if (write(wfd, cmd, len) == len) {
		printf("%s: leases and pins revoked\n", argv[0]);
		return 0;
	}
	switch (errno) {
	case ENOENT:
		printf("%s: no daxlease leases or pins\n", argv[0]);
		return 0;
	case EBUSY:
		die(EXIT_FAIL,
		    "%s: leases revoked, but pins remain that cannot be revoked (io_uring fixed buffers: unregister them or end the process)",
		    argv[0]);
	case EPERM:
		die(EXIT_PERM, "%s: revoking needs CAP_SYS_ADMIN", argv[0]);
	default:
		die(EXIT_FAIL, "%s: revoke: %s", argv[0], strerror(errno));
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 2, argv + 2);
	if (!strcmp(argv[1], "who"))
		return cmd_who(argc - 2, argv + 2);
	if (!strcmp(argv[1], "pins"))
		return cmd_pins(argc - 2, argv + 2);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 2, argv + 2);
	if (!strcmp(argv[1], "revoke"))
		return cmd_revoke(argc - 2, argv + 2);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, stdout);
		return 0;
	}
	usage();
}
