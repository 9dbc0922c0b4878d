/* installer.c: an install tree's kernel and initrd, and the installer's command line (installer.h). */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fmt.h"
#include "common.h"
#include "fetch.h"
#include "installer.h"

#define DEFAULT_KERNEL "images/pxeboot/vmlinuz"
#define DEFAULT_INITRD "images/pxeboot/initrd.img"

void installer_boot_release(struct installer_boot *b)
{
	if (!b)
		return;
	free(b->kernel_url);
	free(b->initrd_url);
	*b = (struct installer_boot) { 0 };
}

/* A character a URL may carry onto the kernel's command line, and a tree path. */
static bool url_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '\\';
}

static bool plain_url(const char *u)
{
	size_t i;

	if (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0)
		return false;
	for (i = 0; u[i]; i++)
		if (!url_char((unsigned char) u[i]))
			return false;
	return true;
}

/* A relative path inside the tree: segments of [A-Za-z0-9._+-], none "." or "..". */
static bool tree_path(const char *p)
{
	const char *seg = p;
	size_t i;

	if (!*p || *p == '/')
		return false;
	for (i = 0;; i++) {
		unsigned char c = (unsigned char) p[i];

		if (c == '/' || c == '\0') {
			size_t n = (size_t) (p + i - seg);

			if (n == 0 || (n == 1 && seg[0] == '.') ||
			    (n == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			if (c == '\0')
				return true;
			seg = p + i + 1;
			continue;
		}
		if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != '+')
			return false;
	}
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int join(const char *tree_url, const char *path, char **ret, struct muster_err *err)
{
	size_t n = strlen(tree_url);

	while (n && tree_url[n - 1] == '/')
		n--;
	if (asprintf(ret, "%.*s/%s", (int) n, tree_url, path) < 0) {
		*ret = NULL;
		return err_nomem(err);
	}
	return 0;
}

int installer_treeinfo(const char *tree_url, const char *text, size_t len, const char *arch,
		       struct installer_boot *ret, struct muster_err *err)
{
	char kernel[256] = DEFAULT_KERNEL, initrd[256] = DEFAULT_INITRD;
	char *sums_path[2] = { NULL, NULL }, *copy = NULL, *line, *next;
	char sums[2][65] = { "", "" };
	char images[64];
	bool in_images = false, in_sums = false;
	unsigned lineno = 0;
	int r = -1;

	*ret = (struct installer_boot) { 0 };
	if (!plain_url(tree_url))
		return err_set(err, MUSTER_E_INVALID,
			       "install tree '%s': not a plain http(s) URL", tree_url);
	if (memchr(text, '\0', len))
		return err_set(err, MUSTER_E_INVALID, "install tree '%s': .treeinfo is not text",
			       tree_url);
	fmt_fit(images, sizeof(images), "images-%s", arch);
	copy = strndup(text, len);
	if (!copy)
		return err_nomem(err);
	/* first pass: the file names; second: their sums (sections come in any order) */
	for (int pass = 0; pass < 2; pass++) {
		size_t k;

		if (pass == 1) {
			free(copy);
			copy = strndup(text, len);
			if (!copy) {
				err_nomem(err);
				goto out;
			}
			sums_path[0] = kernel;
			sums_path[1] = initrd;
		}
		lineno = 0;
		in_images = in_sums = false;
		for (line = copy; line; line = next) {
			char *eq, *key, *val;

			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			lineno++;
			line = trim(line);
			if (!*line || *line == '#' || *line == ';')
				continue;
			if (*line == '[') {
				char *end = strchr(line, ']');

				if (!end || end[1]) {
					err_set(err, MUSTER_E_INVALID,
						"install tree '%s': .treeinfo:%u: bad section header",
						tree_url, lineno);
					goto out;
				}
				*end = '\0';
				in_images = streq(trim(line + 1), images);
				in_sums = streq(trim(line + 1), "checksums");
				continue;
			}
			eq = strchr(line, '=');
			if (!eq) {
				err_set(err, MUSTER_E_INVALID,
					"install tree '%s': .treeinfo:%u: neither a section nor key = value",
					tree_url, lineno);
				goto out;
			}
			*eq = '\0';
			key = trim(line);
			val = trim(eq + 1);
			if (pass == 0 && in_images && (streq(key, "kernel") || streq(key, "initrd"))) {
				char *dst = streq(key, "kernel") ? kernel : initrd;

				if (!tree_path(val) || strlen(val) >= sizeof(kernel)) {
					err_set(err, MUSTER_E_INVALID,
						"install tree '%s': .treeinfo:%u: %s '%s' is not a path inside the tree",
						tree_url, lineno, key, val);
					goto out;
				}
				memcpy(dst, val, strlen(val) + 1);
			}
			if (pass == 1 && in_sums) {
				for (k = 0; k < 2; k++) {
					const char *h = val + 7;
					size_t i;

					if (!streq(key, sums_path[k]))
						continue;
					if (strncmp(val, "sha256:", 7) != 0) {
						if (strchr(val, ':'))
							continue;	/* md5, sha1: not a digest muster checks */
						err_set(err, MUSTER_E_INVALID,
							"install tree '%s': .treeinfo:%u: checksum '%s' is not ALGORITHM:HEX",
							tree_url, lineno, val);
						goto out;
					}
					for (i = 0; i < 64 && isxdigit((unsigned char) h[i]); i++)
						sums[k][i] = (char) tolower((unsigned char) h[i]);
					if (i != 64 || h[64]) {
						err_set(err, MUSTER_E_INVALID,
							"install tree '%s': .treeinfo:%u: the SHA-256 of '%s' is not 64 hexadecimal digits",
							tree_url, lineno, key);
						goto out;
					}
					sums[k][64] = '\0';
				}
			}
		}
	}
	if (join(tree_url, kernel, &ret->kernel_url, err) < 0 ||
	    join(tree_url, initrd, &ret->initrd_url, err) < 0)
		goto out;
	memcpy(ret->kernel_sha256, sums[0], sizeof(sums[0]));
	memcpy(ret->initrd_sha256, sums[1], sizeof(sums[1]));
	r = 0;
out:
	free(copy);
	if (r < 0)
		installer_boot_release(ret);
	return r;
}

int installer_locate(const char *tree_url, const char *arch, struct installer_boot *ret,
		     struct muster_err *err)
{
	char *url = NULL, *text = NULL;
	size_t len = 0;
	int r;

	if (!plain_url(tree_url))
		return err_set(err, MUSTER_E_INVALID,
			       "install tree '%s': not a plain http(s) URL", tree_url);
	if (join(tree_url, ".treeinfo", &url, err) < 0)
		return -1;
	r = fetch_text(url, INSTALLER_TREEINFO_MAX, &text, &len, err);
	free(url);
	if (r < 0 && err->code != MUSTER_E_NOTFOUND) {
		err_prefix(err, "install tree '%s'", tree_url);
		return -1;
	}
	r = installer_treeinfo(tree_url, r < 0 ? "" : text, r < 0 ? 0 : len, arch, ret, err);
	free(text);
	return r;
}

int installer_cmdline(const char *tree_url, char **ret, struct muster_err *err)
{
	if (!plain_url(tree_url))
		return err_set(err, MUSTER_E_INVALID,
			       "install tree '%s': not a plain http(s) URL for a kernel command line",
			       tree_url);
	if (asprintf(ret, "inst.ks=hd:LABEL=" INSTALLER_KS_LABEL ":/" INSTALLER_KS_FILE
		     " inst.repo=%s console=ttyS0,115200n8", tree_url) < 0) {
		*ret = NULL;
		return err_nomem(err);
	}
	return 0;
}
