/*
 * The man pages and `make install-tools` (the part of `make install` that
 * is not the DKMS module): every page under man/ passes
 * `mandoc -T lint -W style` without a message; `make install-tools DESTDIR=D`
 * puts the daxlease command, the uapi header and the pages under
 * D/usr/local with the right modes, where `man -M` finds each page by name
 * and `man -l` renders it; the installed command runs; `make uninstall-tools`
 * removes every file again. Runs the host's make, mandoc and man (the
 * guest's root is the host's).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "env.h"
#include "report.h"
#include "tap.h"

#define PREFIX		"/usr/local"
#define MAX_PAGES	8

struct page {
	char *src;		/* man/manN/NAME.N in the repo */
	char *name;		/* NAME */
	char section[2];	/* "N" */
};

static struct page pages[MAX_PAGES];
static unsigned int npages;

/* The pages in <repo>/man/man[1-8]/, in a fixed order. */
static void find_pages(const char *man)
{
	char dir[PATH_MAX], *dot;
	struct dirent **ents;
	struct page *p;
	int sec, n, i;

	for (sec = 1; sec <= 8; sec++) {
		snprintf(dir, sizeof(dir), "%s/man%d", man, sec);
		n = scandir(dir, &ents, NULL, alphasort);
		for (i = 0; i < n; i++) {
			dot = strrchr(ents[i]->d_name, '.');
			if (dot && dot[1] == '0' + sec && !dot[2] &&
			    npages < MAX_PAGES) {
				p = &pages[npages++];
				p->src = strf("%s/%s", dir, ents[i]->d_name);
				p->name = strf("%.*s", (int)(dot - ents[i]->d_name),
					       ents[i]->d_name);
				p->section[0] = '0' + sec;
			}
			free(ents[i]);
		}
		if (n >= 0)
			free(ents);
	}
}

/* @path exists as a regular file with permission bits @mode. */
static bool file_mode_is(const char *path, mode_t mode)
{
	struct stat st;

	if (stat(path, &st)) {
		diag("stat %s: %s", path, errno_name(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != mode) {
		diag("%s: mode %o, want a regular file of mode %o", path,
		     st.st_mode & 07777, mode);
		return false;
	}
	return true;
}

/* One point: @argv exits 0 and its stdout contains @want. */
static bool output_has(char **argv, const char *want)
{
	struct cmd c;
	bool good;

	good = !cmd_run(&c, CMD_SAME_USER, argv) && c.status == 0 &&
	       strstr(c.out, want);
	if (!good) {
		diag("want an exit status of 0 and \"%s\" in stdout", want);
		cmd_diag(&c);
	}
	cmd_free(&c);
	return good;
}

int main(void)
{
	char *repo = repo_path(""), *man = repo_path("man");
	char *dest, *destdir, *mandir, *tool, *header, *preload;
	char *inst[MAX_PAGES];
	unsigned int i;
	bool gone;

	find_pages(man);
	plan(7 + 4 * npages);
	ok(npages >= 2, "man/ has at least daxlease(8) and the lease page (found %u)",
	   npages);
	if (!env_tmp())
		bail_out("no scratch directory");
	setenv("MANWIDTH", "80", 1);
	setenv("MANPAGER", "cat", 1);
	setenv("PAGER", "cat", 1);

	for (i = 0; i < npages; i++) {
		struct cmd c;
		bool clean;

		clean = !cmd_run(&c, CMD_SAME_USER,
				 (char *[]){ "mandoc", "-T", "lint", "-W", "style",
					     pages[i].src, NULL }) &&
			cmd_is(&c, 0, "", "");
		cmd_free(&c);
		ok(clean, "mandoc -T lint -W style man/man%s/%s.%s: no message",
		   pages[i].section, pages[i].name, pages[i].section);
	}

	dest = strf("%s/install-root", env_tmp());
	destdir = strf("DESTDIR=%s", dest);
	mandir = strf("%s%s/share/man", dest, PREFIX);
	tool = strf("%s%s/sbin/daxlease", dest, PREFIX);
	header = strf("%s%s/include/linux/daxlease.h", dest, PREFIX);
	preload = strf("%s%s/lib/daxlease/libdaxlease-preload.so", dest,
		       PREFIX);
	ok(output_has((char *[]){ "make", "-C", repo, "install-tools", destdir,
				  "PREFIX=" PREFIX, NULL }, ""),
	   "make install-tools DESTDIR=D PREFIX=/usr/local exits with 0");
	ok(file_mode_is(tool, 0755) &&
	   output_has((char *[]){ tool, "--help", NULL },
		      "usage: daxlease run [--lease FILE...]"),
	   "D/usr/local/sbin/daxlease: mode 0755, runs, --help prints the usage");
	ok(file_mode_is(header, 0644),
	   "D/usr/local/include/linux/daxlease.h: mode 0644");
	ok(file_mode_is(preload, 0644),
	   "D/usr/local/lib/daxlease/libdaxlease-preload.so: mode 0644");

	for (i = 0; i < npages; i++) {
		inst[i] = strf("%s/man%s/%s.%s", mandir, pages[i].section,
			       pages[i].name, pages[i].section);
		ok(file_mode_is(inst[i], 0644),
		   "D/usr/local/share/man/man%s/%s.%s: mode 0644",
		   pages[i].section, pages[i].name, pages[i].section);
		ok(output_has((char *[]){ "man", "-l", inst[i], NULL }, "NAME"),
		   "man -l renders the installed %s.%s (a NAME section)",
		   pages[i].name, pages[i].section);
		ok(output_has((char *[]){ "man", "-M", mandir, pages[i].section,
					  pages[i].name, NULL }, "SEE ALSO"),
		   "man -M D/usr/local/share/man %s %s finds and renders it",
		   pages[i].section, pages[i].name);
	}

	ok(output_has((char *[]){ "make", "-C", repo, "uninstall-tools", destdir,
				  "PREFIX=" PREFIX, NULL }, ""),
	   "make uninstall-tools DESTDIR=D PREFIX=/usr/local exits with 0");
	gone = access(tool, F_OK) && access(header, F_OK) &&
	       access(preload, F_OK);
	for (i = 0; i < npages; i++)
		gone = gone && access(inst[i], F_OK);
	ok(gone, "after make uninstall-tools: none of the installed files is left");
	return done_testing();
}
