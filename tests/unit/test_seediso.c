/*
 * test_seediso.c: seed images read back with isoinfo (volume id, Joliet,
 * Rock Ridge, exact file bytes), reproducibility, mode 0600 whatever the
 * umask, no temporary file left after a failure, refused input, threads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "testutil.h"
#include "seediso.h"

extern char **environ;

struct tmp {
	char dir[64];
	char iso[128];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	(void) snprintf(t->dir, sizeof(t->dir), "/tmp/test_seediso.XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	(void) snprintf(t->iso, sizeof(t->iso), "%s/seed.iso", t->dir);
	*state = t;
	return 0;
}

static void remove_tree(const char *dir)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			(void) unlink(path);
	}
	closedir(d);
	(void) rmdir(dir);
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;

	remove_tree(t->dir);
	free(t);
	return 0;
}

/* The names in dir, sorted, one a line. */
static void list_dir(const char *dir, struct buf *out)
{
	struct dirent **names;
	int i, n = scandir(dir, &names, NULL, alphasort);

	assert_true(n >= 0);
	buf_reset(out);
	for (i = 0; i < n; i++) {
		if (!streq(names[i]->d_name, ".") && !streq(names[i]->d_name, ".."))
			buf_printf(out, "%s\n", names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

static void save(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static const char user_data[] = "#cloud-config\nhostname: 'web-001'\nruncmd:\n- - 'true'\n";
static const char meta_data[] = "instance-id: 'iid-0123456789abcdef0123456789abcdef'\n"
				"local-hostname: 'web-001'\n";
static unsigned char big[300000];	/* many sectors, every byte value */

static void fill_big(void)
{
	size_t i;
	uint32_t x = 12345;

	for (i = 0; i < sizeof(big); i++) {
		x = x * 1103515245u + 12345u;
		big[i] = (unsigned char) (x >> 16);
	}
}

static void seed_files(struct seediso_file f[3])
{
	fill_big();
	f[0] = (struct seediso_file) { "user-data", user_data, sizeof(user_data) - 1 };
	f[1] = (struct seediso_file) { "meta-data", meta_data, sizeof(meta_data) - 1 };
	f[2] = (struct seediso_file) { "network-config", big, sizeof(big) };
}

static void build_ok(const struct seediso_file *f, size_t n, void **data, size_t *len)
{
	struct muster_err err;

	err_clear(&err);
	if (seediso_build(SEEDISO_VOLID, f, n, data, len, &err) < 0)
		fail_msg("seediso_build: %s", err.msg);
	assert_non_null(*data);
	assert_true(*len >= 16 * 2048 + 2048);
	assert_int_equal(*len % 2048, 0);
}

static void extract(const char *iso, const char *how, const char *name, struct buf *out)
{
	const char *const argv[] = { "isoinfo", how, "-x", name, "-i", iso, NULL };

	assert_int_equal(tu_run(argv, out, false), 0);
}

static void test_isoinfo_reads_it_back(void **state)
{
	struct tmp *t = *state;
	struct seediso_file f[3];
	struct buf out = BUF_INIT(SIZE_MAX);
	void *data;
	size_t len, i;

	seed_files(f);
	build_ok(f, 3, &data, &len);
	save(t->iso, data, len);
	{
		const char *const argv[] = { "isoinfo", "-d", "-i", t->iso, NULL };

		assert_int_equal(tu_run(argv, &out, false), 0);
		if (!strstr(buf_str(&out), "\nVolume id: cidata\n"))
			fail_msg("isoinfo -d:\n%s", buf_str(&out));
		assert_non_null(strstr(buf_str(&out), "Rock Ridge signatures"));
		assert_non_null(strstr(buf_str(&out), "Joliet"));
	}
	/* exact bytes through the Joliet tree and through Rock Ridge */
	for (i = 0; i < 3; i++) {
		char name[64];

		(void) snprintf(name, sizeof(name), "/%s", f[i].name);
		extract(t->iso, "-J", name, &out);
		assert_int_equal(out.len, f[i].len);
		assert_memory_equal(out.data, f[i].data, f[i].len);
		extract(t->iso, "-R", name, &out);
		assert_int_equal(out.len, f[i].len);
		assert_memory_equal(out.data, f[i].data, f[i].len);
	}
	/* the listing: our three files, read-only, root-owned, dated 2020-01-01 */
	{
		const char *const argv[] = { "isoinfo", "-R", "-l", "-i", t->iso, NULL };
		const char *s;

		assert_int_equal(tu_run(argv, &out, false), 0);
		s = buf_str(&out);
		assert_non_null(strstr(s, "-r--r--r--   1    0    0              53 Jan  1 2020"));
		assert_non_null(strstr(s, " user-data \n"));
		assert_non_null(strstr(s, " meta-data \n"));
		assert_non_null(strstr(s, "          300000 Jan  1 2020"));
		assert_non_null(strstr(s, " network-config \n"));
		assert_null(strstr(s, ";1"));
	}
	buf_release(&out);
	free(data);
}

static void test_reproducible(void **state)
{
	struct seediso_file f[3];
	void *a, *b;
	size_t alen, blen;
	const char *pvd;
	char *tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	(void) state;
	seed_files(f);
	assert_int_equal(setenv("TZ", "XST+5", 1), 0);
	tzset();
	build_ok(f, 3, &a, &alen);
	sleep(1);
	assert_int_equal(setenv("TZ", "YST-5:30", 1), 0);
	tzset();
	build_ok(f, 3, &b, &blen);
	if (tz)
		assert_int_equal(setenv("TZ", tz, 1), 0);
	else
		assert_int_equal(unsetenv("TZ"), 0);
	tzset();
	free(tz);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	/* the primary volume descriptor: CD001, "cidata", creation and modification 2020-01-01 GMT */
	pvd = (const char *) a + 16 * 2048;
	assert_int_equal((unsigned char) pvd[0], 1);
	assert_memory_equal(pvd + 1, "CD001", 5);
	assert_memory_equal(pvd + 40, "cidata ", 7);
	assert_memory_equal(pvd + 813, "2020010100000000\0", 17);
	assert_memory_equal(pvd + 830, "2020010100000000\0", 17);
	free(a);

	/* another input, another image */
	f[1].len--;
	build_ok(f, 3, &a, &alen);
	assert_true(alen != blen || memcmp(a, b, alen) != 0);
	free(a);
	free(b);
}

/* In two halves: the size up front, the same bytes; a job can be dropped unread. */
static void test_start_finish_cancel(void **state)
{
	struct seediso_file f[3];
	struct seediso_job *job = NULL;
	struct muster_err err;
	void *a, *b = NULL;
	size_t alen, blen = 0, size = 0;
	int i;

	(void) state;
	seed_files(f);
	build_ok(f, 3, &a, &alen);
	err_clear(&err);
	assert_int_equal(seediso_start(SEEDISO_VOLID, f, 3, &job, &size, &err), 0);
	assert_non_null(job);
	assert_int_equal(size, alen);
	assert_int_equal(seediso_finish(job, &b, &blen, &err), 0);
	assert_int_equal(blen, alen);
	assert_memory_equal(a, b, alen);
	free(b);
	/* started and dropped, now or later: the generator thread ends, nothing leaks */
	for (i = 0; i < 20; i++) {
		job = NULL;
		assert_int_equal(seediso_start(SEEDISO_VOLID, f, 3, &job, &size, &err), 0);
		if (i % 2)
			usleep(1000);
		seediso_cancel(job);
	}
	seediso_cancel(NULL);
	/* refused as seediso_build refuses: no job */
	job = NULL;
	assert_int_equal(seediso_start("no/slash", f, 3, &job, &size, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_null(job);
	free(a);
}

static void test_write_mode_and_replace(void **state)
{
	struct tmp *t = *state;
	struct seediso_file f[3];
	struct muster_err err;
	struct buf out = BUF_INIT(SIZE_MAX);
	struct stat st;
	void *data;
	size_t len;
	mode_t old = umask(0);

	seed_files(f);
	save(t->iso, "old", 3);
	assert_int_equal(chmod(t->iso, 0666), 0);
	err_clear(&err);
	if (seediso_write(t->iso, SEEDISO_VOLID, f, 3, &err) < 0)
		fail_msg("seediso_write: %s", err.msg);
	umask(old);
	assert_int_equal(stat(t->iso, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	build_ok(f, 3, &data, &len);
	assert_int_equal((size_t) st.st_size, len);
	{
		FILE *fp = fopen(t->iso, "rb");
		char *disk = malloc(len);

		assert_non_null(fp);
		assert_non_null(disk);
		assert_int_equal(fread(disk, 1, len, fp), len);
		assert_int_equal(fgetc(fp), EOF);
		fclose(fp);
		assert_memory_equal(disk, data, len);
		free(disk);
	}
	extract(t->iso, "-J", "/user-data", &out);
	assert_int_equal(out.len, f[0].len);
	assert_memory_equal(out.data, user_data, f[0].len);
	list_dir(t->dir, &out);
	assert_string_equal(buf_str(&out), "seed.iso\n");
	buf_release(&out);
	free(data);
}

static void test_write_failure_leaves_nothing(void **state)
{
	struct tmp *t = *state;
	struct seediso_file f[3];
	struct muster_err err;
	struct buf out = BUF_INIT(1 << 20);
	char path[256];

	seed_files(f);
	/* a missing directory */
	(void) snprintf(path, sizeof(path), "%s/missing/seed.iso", t->dir);
	err_clear(&err);
	assert_int_equal(seediso_write(path, SEEDISO_VOLID, f, 3, &err), -1);
	assert_int_equal(err.code, MUSTER_E_IO);
	assert_int_equal(err.sys_errno, ENOENT);
	list_dir(t->dir, &out);
	assert_string_equal(buf_str(&out), "");

	/* the rename fails (a directory holds the name): the temporary file goes */
	(void) snprintf(path, sizeof(path), "%s/seed.iso", t->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	err_clear(&err);
	assert_int_equal(seediso_write(path, SEEDISO_VOLID, f, 3, &err), -1);
	assert_int_equal(err.code, MUSTER_E_IO);
	assert_non_null(strstr(err.msg, "cannot put"));
	list_dir(t->dir, &out);
	assert_string_equal(buf_str(&out), "seed.iso\n");
	list_dir(path, &out);
	assert_string_equal(buf_str(&out), "");

	/* bad input: nothing is created at all */
	(void) snprintf(path, sizeof(path), "%s/other.iso", t->dir);
	assert_int_equal(seediso_write(path, "bad id", f, 3, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	list_dir(t->dir, &out);
	assert_string_equal(buf_str(&out), "seed.iso\n");
	buf_release(&out);
}

static void test_refused(void **state)
{
	static const char *const bad_volids[] = {
		"", "a b", "cid/ata", "cidata.", "0123456789abcdef0123456789abcdefX", "\xc3\xa9",
	};
	static const char *const bad_names[] = {
		"", ".", "..", "a/b", "/user-data", "a b", "user data", "\xc3\xa9",
		"0123456789012345678901234567890123456789012345678901234567890123X",
	};
	struct seediso_file f[SEEDISO_MAX_FILES + 1];
	struct muster_err err;
	void *data = (void *) 1;
	size_t len = 7, i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		static char names[SEEDISO_MAX_FILES + 1][8];

		(void) snprintf(names[i], sizeof(names[i]), "f%zu", i);
		f[i] = (struct seediso_file) { names[i], "x", 1 };
	}
	for (i = 0; i < ARRAY_SIZE(bad_volids); i++) {
		assert_int_equal(seediso_build(bad_volids[i], f, 1, &data, &len, &err), -1);
		assert_int_equal(err.code, MUSTER_E_INVALID);
		assert_non_null(strstr(err.msg, "volume id"));
		assert_null(data);
		assert_int_equal(len, 0);
	}
	assert_int_equal(seediso_build(NULL, f, 1, &data, &len, &err), -1);
	for (i = 0; i < ARRAY_SIZE(bad_names); i++) {
		struct seediso_file g = { bad_names[i], "x", 1 };

		assert_int_equal(seediso_build(SEEDISO_VOLID, &g, 1, &data, &len, &err), -1);
		assert_int_equal(err.code, MUSTER_E_INVALID);
		assert_non_null(strstr(err.msg, "file name"));
	}
	assert_int_equal(seediso_build(SEEDISO_VOLID, f, ARRAY_SIZE(f), &data, &len, &err), -1);
	assert_non_null(strstr(err.msg, "at most 16 files"));
	f[1].name = "f0";
	assert_int_equal(seediso_build(SEEDISO_VOLID, f, 2, &data, &len, &err), -1);
	assert_string_equal(err.msg, "file 'f0' is given twice");
	f[1].name = "f1";
	f[1].data = NULL;
	assert_int_equal(seediso_build(SEEDISO_VOLID, f, 2, &data, &len, &err), -1);
	assert_non_null(strstr(err.msg, "file 'f1': no data"));
	f[1].len = (size_t) SEEDISO_MAX_FILE + 1;
	f[1].data = "x";
	assert_int_equal(seediso_build(SEEDISO_VOLID, f, 2, &data, &len, &err), -1);
	assert_null(data);

	/* the largest ids and names are fine, and the volume id keeps its case */
	f[0].name = "0123456789012345678901234567890123456789012345678901234567890123";
	assert_int_equal(seediso_build("0123456789abcdef0123456789ABCDEF", f, 1, &data, &len, &err), 0);
	free(data);
}

static void test_empty_file_no_files_volid_case(void **state)
{
	struct tmp *t = *state;
	struct seediso_file f[2] = { { "vendor-data", NULL, 0 }, { "user-data", "x", 1 } };
	struct buf out = BUF_INIT(1 << 20);
	void *data;
	size_t len;
	struct muster_err err;

	assert_int_equal(seediso_build("CiData", f, 2, &data, &len, &err), 0);
	save(t->iso, data, len);
	free(data);
	{
		const char *const argv[] = { "isoinfo", "-d", "-i", t->iso, NULL };

		assert_int_equal(tu_run(argv, &out, false), 0);
		assert_non_null(strstr(buf_str(&out), "\nVolume id: CiData\n"));
	}
	{
		const char *const argv[] = { "isoinfo", "-J", "-l", "-i", t->iso, NULL };

		assert_int_equal(tu_run(argv, &out, false), 0);
		assert_non_null(strstr(buf_str(&out), "               0 Jan  1 2020 ["));
		assert_non_null(strstr(buf_str(&out), "]  vendor-data \n"));
		assert_non_null(strstr(buf_str(&out), "               1 Jan  1 2020 ["));
		assert_non_null(strstr(buf_str(&out), "]  user-data \n"));
	}
	extract(t->iso, "-J", "/user-data", &out);
	assert_int_equal(out.len, 1);

	assert_int_equal(seediso_build(SEEDISO_VOLID, NULL, 0, &data, &len, &err), 0);
	assert_true(len > 0);
	save(t->iso, data, len);
	free(data);
	{
		const char *const argv[] = { "isoinfo", "-d", "-i", t->iso, NULL };

		assert_int_equal(tu_run(argv, &out, false), 0);
		assert_non_null(strstr(buf_str(&out), "\nVolume id: cidata\n"));
	}
	buf_release(&out);
}

struct worker {
	pthread_t th;
	const void *want;
	size_t want_len;
	int bad;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct seediso_file f[3];
	struct muster_err err;
	void *data;
	size_t len;
	int i;

	f[0] = (struct seediso_file) { "user-data", user_data, sizeof(user_data) - 1 };
	f[1] = (struct seediso_file) { "meta-data", meta_data, sizeof(meta_data) - 1 };
	f[2] = (struct seediso_file) { "network-config", big, sizeof(big) };
	for (i = 0; i < 40; i++) {
		if (seediso_build(SEEDISO_VOLID, f, 3, &data, &len, &err) < 0) {
			w->bad++;
			continue;
		}
		if (len != w->want_len || memcmp(data, w->want, len) != 0)
			w->bad++;
		free(data);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct worker w[4];
	struct seediso_file f[3];
	void *want;
	size_t want_len, i;

	(void) state;
	seed_files(f);
	build_ok(f, 3, &want, &want_len);
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		w[i] = (struct worker) { .want = want, .want_len = want_len };
		assert_int_equal(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		assert_int_equal(pthread_join(w[i].th, NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_isoinfo_reads_it_back, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_reproducible),
		cmocka_unit_test(test_start_finish_cancel),
		cmocka_unit_test_setup_teardown(test_write_mode_and_replace, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_write_failure_leaves_nothing, tmp_setup,
						tmp_teardown),
		cmocka_unit_test(test_refused),
		cmocka_unit_test_setup_teardown(test_empty_file_no_files_volid_case, tmp_setup,
						tmp_teardown),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
