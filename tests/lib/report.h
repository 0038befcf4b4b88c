/*
 * The daxlease reports: /proc/<pid>/file_pins and the global view
 * /proc/daxlease (formats: module/README.md, top of module/report.c), read
 * and put in a canonical form so that a test can compare them with the
 * exact text it expects without depending on list orders the contract does
 * not fix:
 *
 * /proc/<pid>/file_pins	"<fd>: <owner path>" then "\t<pinned file>"
 *				lines, blocks in fd order, then one line per
 *				mm-owned pinned file. Canonical form: the tab
 *				lines of each block sorted; nothing else moved.
 * /proc/daxlease		per lease "<pid> <fd> <unbreakable|breakable>
 *				<live|orphaned> <pages> <dev> <path>" (<pid>
 *				and <fd> may be "-", <dev> is
 *				"<major>:<minor>:<inode>"), then one
 *				"\t<file|mm|closed> <pages> [<owner>]" line per
 *				owner. Canonical form: only the blocks of the
 *				leases of one file, <dev> left out (see
 *				gview_dev()), owner lines sorted within a
 *				block, blocks sorted.
 *
 * Paths are printed as seq_file_path(..., "\n") prints them: a newline as
 * "\012", every other byte as is. path_esc() does the same to a path.
 */
#ifndef DAXLEASE_REPORT_H
#define DAXLEASE_REPORT_H

#include <stdbool.h>
#include <sys/types.h>

#include "tap.h"

#define DAXLEASE_PROC	"/proc/daxlease"

/* Time allowed for a report to settle after a holder exited. */
#define SETTLE_MS	3000

/* asprintf(); bails out on ENOMEM. Free with free(). */
char *strf(const char *fmt, ...) __printf(1, 2);

/* @raw with every newline replaced by "\012", as seq_file_path() prints. */
char *path_esc(const char *raw);

/*
 * readlink /proc/<@pid>/fd/<@fd> (@pid 0: ourselves) into @buf, escaped
 * with path_esc(). 0, or -1 with a diag.
 */
int fd_path(pid_t pid, int fd, char *buf, size_t size);

/*
 * Whole contents of @path, NUL-terminated (free()). NULL with errno set
 * and *@step ("open" or "read") naming the call that failed. Silent.
 */
char *text_read(const char *path, const char **step);

/*
 * All of @fd from its start, read(2) @size bytes at a time (a reader's
 * buffer size, which seq_file files must serve alike); NULL with errno.
 */
char *fd_read_sized(int fd, size_t size);

/*
 * Short texts of /proc/sys, /sys and tracefs files. read_str(): @path into
 * @buf (at most @size - 1 bytes, NUL-terminated); write_str(): @val to
 * @path in one write(2). 0, or -1 with a diag.
 */
int read_str(const char *path, char *buf, size_t size);
int write_str(const char *path, const char *val);

/* The <dev> field of the first lease line of @text for escaped @path, or
 * NULL; free(). */
char *gview_dev(const char *text, const char *path);

/* Canonical forms (see above) of report texts; free(). */
char *fpins_canon(const char *text);
char *gview_canon(const char *text, const char *path);

/* /proc/<@pid>/file_pins (@pid 0: ours), canonical; NULL with a diag. */
char *fpins_get(pid_t pid);

/* The blocks of /proc/daxlease for the file at escaped @path, canonical
 * ("" if there are none); NULL with a diag. */
char *gview_get(const char *path);

/* Each line of @text as a diag under "@label:", tabs shown as "\t". */
void diag_text(const char *label, const char *text);

/* True if @got equals @want; else a diag showing both, line by line. */
bool text_is(const char *what, const char *got, const char *want);

/*
 * Exact comparisons, each a single call for a test point: the report now
 * (canonical) against @want (canonicalised here). Diags on mismatch.
 */
bool fpins_is(pid_t pid, const char *want);
bool gview_is(const char *path, const char *want);

/*
 * gview_is() that allows the global view up to @ms to reach @want (e.g.
 * "" after a holder exited). Diags how long it took if not at once.
 */
bool gview_becomes(const char *path, const char *want, unsigned int ms);

/*
 * Expected global view lines (canonical: no <dev>). gv_lease(): "<pid> <fd>
 * <kind> <state> <pages> <path>\n", @pid < 0 (holder exited) and @fd < 0 or
 * @orphaned (no fd refers to the file any more) as "-"; gv_owner(): "\tfile
 * <pages> <owner path>\n". @path and @owner are escaped paths. Free the
 * results.
 */
char *gv_lease(pid_t pid, int fd, bool unbreakable, bool orphaned,
	       unsigned long pages, const char *path);
char *gv_owner(unsigned long pages, const char *owner);

/* Concatenation of @n strings, each freed; free() the result. */
char *cat_free(unsigned int n, ...);

#endif
