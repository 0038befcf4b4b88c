/* The daxlease reports: see report.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "report.h"

char *strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		bail_out("out of memory");
	return s;
}

char *path_esc(const char *raw)
{
	size_t n = 1;
	const char *p;
	char *s, *q;

	for (p = raw; *p; p++)
		n += *p == '\n' ? 4 : 1;
	s = malloc(n);
	if (!s)
		bail_out("out of memory");
	for (p = raw, q = s; *p; p++) {
		if (*p == '\n') {
			memcpy(q, "\\012", 4);
			q += 4;
		} else {
			*q++ = *p;
		}
	}
	*q = '\0';
	return s;
}

int fd_path(pid_t pid, int fd, char *buf, size_t size)
{
	char link[64], raw[PATH_MAX], *esc;
	ssize_t n;

	if (pid)
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
	else
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, raw, sizeof(raw) - 1);
	if (n < 0) {
		diag("readlink %s: %s", link, errno_name(errno));
		return -1;
	}
	raw[n] = '\0';
	esc = path_esc(raw);
	if (strlen(esc) >= size) {
		diag("path of %s too long", link);
		free(esc);
		return -1;
	}
	strcpy(buf, esc);
	free(esc);
	return 0;
}

char *fd_read_sized(int fd, size_t size)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap + 1);
	ssize_t n;
	int err;

	if (!buf)
		bail_out("out of memory");
	if (lseek(fd, 0, SEEK_SET)) {
		err = errno;
		free(buf);
		errno = err;
		return NULL;
	}
	for (;;) {
		if (cap - len < size) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (!buf)
				bail_out("out of memory");
		}
		n = read(fd, buf + len, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	if (n < 0) {
		err = errno;
		free(buf);
		errno = err;
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

char *text_read(const char *path, const char **step)
{
	char *text;
	int fd, err;

	*step = "open";
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	*step = "read";
	text = fd_read_sized(fd, 1 << 16);
	err = errno;
	close(fd);
	errno = err;
	return text;
}

int read_str(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		diag("open %s: %s", path, errno_name(errno));
		return -1;
	}
	n = read(fd, buf, size - 1);
	if (n <= 0)
		diag("read %s: %s", path, n < 0 ? errno_name(errno) : "empty");
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

int write_str(const char *path, const char *val)
{
	ssize_t len = strlen(val), n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0) {
		diag("open %s: %s", path, errno_name(errno));
		return -1;
	}
	n = write(fd, val, len);
	if (n != len)
		diag("write %s: %s", path, n < 0 ? errno_name(errno) : "short");
	close(fd);
	return n == len ? 0 : -1;
}

/*
 * Lines of @text grouped: a group is a line that does not start with a tab
 * and the tab lines after it (tab lines before the first such line form a
 * group of their own). A last line without its newline is kept, marked.
 */
struct group {
	char *head;		/* NULL for leading tab lines */
	char **tabs;
	size_t ntabs;
};

struct groups {
	struct group *g;
	size_t n;
};

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p)
		bail_out("out of memory");
	return p;
}

static void groups_parse(const char *text, struct groups *gs)
{
	const char *p = text, *nl;
	struct group *g;
	char *line;

	gs->g = NULL;
	gs->n = 0;
	while (*p) {
		nl = strchr(p, '\n');
		if (nl)
			line = strndup(p, nl - p);
		else
			line = strf("%s<no newline at end>", p);
		if (!line)
			bail_out("out of memory");
		p = nl ? nl + 1 : p + strlen(p);
		if (line[0] != '\t' || !gs->n) {
			gs->g = xrealloc(gs->g, (gs->n + 1) * sizeof(*gs->g));
			g = &gs->g[gs->n++];
			g->head = NULL;
			g->tabs = NULL;
			g->ntabs = 0;
			if (line[0] != '\t') {
				g->head = line;
				continue;
			}
		}
		g = &gs->g[gs->n - 1];
		g->tabs = xrealloc(g->tabs, (g->ntabs + 1) * sizeof(char *));
		g->tabs[g->ntabs++] = line;
	}
}

static void groups_free(struct groups *gs)
{
	size_t i, j;

	for (i = 0; i < gs->n; i++) {
		free(gs->g[i].head);
		for (j = 0; j < gs->g[i].ntabs; j++)
			free(gs->g[i].tabs[j]);
		free(gs->g[i].tabs);
	}
	free(gs->g);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One group as text, its tab lines sorted. */
static char *group_text(struct group *g)
{
	char *out = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		bail_out("out of memory");
	qsort(g->tabs, g->ntabs, sizeof(char *), cmp_str);
	if (g->head)
		fprintf(f, "%s\n", g->head);
	for (i = 0; i < g->ntabs; i++)
		fprintf(f, "%s\n", g->tabs[i]);
	fclose(f);
	return out;
}

char *fpins_canon(const char *text)
{
	struct groups gs;
	char *out = NULL, *t;
	size_t len = 0, i;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		bail_out("out of memory");
	groups_parse(text, &gs);
	for (i = 0; i < gs.n; i++) {
		t = group_text(&gs.g[i]);
		fputs(t, f);
		free(t);
	}
	groups_free(&gs);
	fclose(f);
	return out;
}

/*
 * The <dev> field of a global view lease line (the sixth), NULL if @line
 * has none: expected texts leave it out, and a path starts with '/'.
 */
static char *lease_line_dev(const char *line)
{
	int i;

	for (i = 0; i < 5; i++) {
		line = strchr(line, ' ');
		if (!line)
			return NULL;
		line++;
	}
	return *line && *line != '/' && strchr(line, ' ') ? (char *)line : NULL;
}

/* The path of a global view lease line: after its five or six fields. */
static const char *lease_line_path(const char *line)
{
	const char *dev = lease_line_dev(line);
	int i;

	if (dev)
		return strchr(dev, ' ') + 1;
	for (i = 0; i < 5; i++) {
		line = strchr(line, ' ');
		if (!line)
			return NULL;
		line++;
	}
	return line;
}

/* Remove the <dev> field from lease line @line in place, if it has one. */
static void lease_line_drop_dev(char *line)
{
	char *dev = lease_line_dev(line);

	if (dev)
		memmove(dev, strchr(dev, ' ') + 1, strlen(strchr(dev, ' ')));
}

char *gview_dev(const char *text, const char *path)
{
	const char *p = text, *nl, *lp;
	char *line, *dev = NULL, *d;

	while (*p && !dev) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		line = strndup(p, nl - p);
		if (!line)
			bail_out("out of memory");
		lp = line[0] != '\t' ? lease_line_path(line) : NULL;
		d = lp ? lease_line_dev(line) : NULL;
		if (d && !strcmp(lp, path))
			dev = strndup(d, strchr(d, ' ') - d);
		free(line);
		p = *nl ? nl + 1 : nl;
	}
	return dev;
}

char *gview_canon(const char *text, const char *path)
{
	struct groups gs;
	char **blocks, *out = NULL;
	size_t nblocks = 0, len = 0, i;
	const char *p;
	FILE *f;

	groups_parse(text, &gs);
	blocks = xrealloc(NULL, (gs.n + 1) * sizeof(char *));
	for (i = 0; i < gs.n; i++) {
		p = gs.g[i].head ? lease_line_path(gs.g[i].head) : NULL;
		if (path && (!p || strcmp(p, path)))
			continue;
		if (p)
			lease_line_drop_dev(gs.g[i].head);
		blocks[nblocks++] = group_text(&gs.g[i]);
	}
	groups_free(&gs);
	qsort(blocks, nblocks, sizeof(char *), cmp_str);
	f = open_memstream(&out, &len);
	if (!f)
		bail_out("out of memory");
	for (i = 0; i < nblocks; i++) {
		fputs(blocks[i], f);
		free(blocks[i]);
	}
	free(blocks);
	fclose(f);
	return out;
}

char *fpins_get(pid_t pid)
{
	char name[64], *text, *canon;
	const char *step;

	if (pid)
		snprintf(name, sizeof(name), "/proc/%d/file_pins", (int)pid);
	else
		snprintf(name, sizeof(name), "/proc/self/file_pins");
	text = text_read(name, &step);
	if (!text) {
		diag("%s %s: %s", step, name, errno_name(errno));
		return NULL;
	}
	canon = fpins_canon(text);
	free(text);
	return canon;
}

char *gview_get(const char *path)
{
	char *text, *canon;
	const char *step;

	text = text_read(DAXLEASE_PROC, &step);
	if (!text) {
		diag("%s %s: %s", step, DAXLEASE_PROC, errno_name(errno));
		return NULL;
	}
	canon = gview_canon(text, path);
	free(text);
	return canon;
}

void diag_text(const char *label, const char *text)
{
	const char *p = text, *nl;
	char *esc, *q;

	if (!*text) {
		diag("  %s: (empty)", label);
		return;
	}
	diag("  %s:", label);
	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		esc = xrealloc(NULL, 2 * (nl - p) + 1);
		for (q = esc; p < nl; p++) {
			if (*p == '\t') {
				*q++ = '\\';
				*q++ = 't';
			} else {
				*q++ = *p;
			}
		}
		*q = '\0';
		diag("    |%s", esc);
		free(esc);
		if (*p)
			p++;
	}
}

bool text_is(const char *what, const char *got, const char *want)
{
	if (got && !strcmp(got, want))
		return true;
	diag("%s differs from the expected text", what);
	if (got)
		diag_text("got", got);
	diag_text("expected", want);
	return false;
}

bool fpins_is(pid_t pid, const char *want)
{
	char *got = fpins_get(pid), *canon = fpins_canon(want), what[64];
	bool same;

	snprintf(what, sizeof(what), "/proc/%d/file_pins",
		 pid ? (int)pid : (int)getpid());
	same = text_is(what, got, canon);
	free(got);
	free(canon);
	return same;
}

bool gview_is(const char *path, const char *want)
{
	char *got = gview_get(path), *canon = gview_canon(want, NULL);
	bool same;

	same = text_is(DAXLEASE_PROC, got, canon);
	free(got);
	free(canon);
	return same;
}

bool gview_becomes(const char *path, const char *want, unsigned int ms)
{
	char *canon = gview_canon(want, NULL), *got = NULL;
	long long t0 = clock_ms(), dt;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	unsigned int reads = 0;
	bool same;

	for (;;) {
		reads++;
		free(got);
		got = gview_get(path);
		same = got && !strcmp(got, canon);
		dt = clock_ms() - t0;
		if (same || !got || dt >= ms)
			break;
		nanosleep(&ts, NULL);
	}
	if (same && reads > 1)
		diag("%s reached the expected text after %lld ms (%u reads)",
		     DAXLEASE_PROC, dt, reads);
	if (!same)
		text_is(DAXLEASE_PROC, got, canon);
	free(got);
	free(canon);
	return same;
}

char *gv_lease(pid_t pid, int fd, bool unbreakable, bool orphaned,
	       unsigned long pages, const char *path)
{
	char spid[16] = "-", sfd[16] = "-";

	if (pid >= 0)
		snprintf(spid, sizeof(spid), "%d", (int)pid);
	/* an orphaned lease's file is closed: no fd */
	if (fd >= 0 && !orphaned)
		snprintf(sfd, sizeof(sfd), "%d", fd);
	return strf("%s %s %s %s %lu %s\n", spid, sfd,
		    unbreakable ? "unbreakable" : "breakable",
		    orphaned ? "orphaned" : "live", pages, path);
}

char *gv_owner(unsigned long pages, const char *owner)
{
	return strf("\tfile %lu %s\n", pages, owner);
}

char *cat_free(unsigned int n, ...)
{
	char *out = NULL, *s;
	size_t len = 0;
	va_list ap;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		bail_out("out of memory");
	va_start(ap, n);
	while (n--) {
		s = va_arg(ap, char *);
		if (s)
			fputs(s, f);
		free(s);
	}
	va_end(ap);
	fclose(f);
	return out;
}
