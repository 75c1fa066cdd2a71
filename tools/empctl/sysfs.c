// SPDX-License-Identifier: GPL-2.0
/* Kernel interface helpers for empctl: attribute files, names, /dev/kmsg. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysfs.h"

void vpr_err(const char *fmt, va_list ap)
{
	char msg[8192];

	vsnprintf(msg, sizeof(msg), fmt, ap);	/* a longer message is cut */
	/* One write, so concurrent messages do not interleave. */
	fprintf(stderr, "empctl: %s\n", msg);
}

void pr_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vpr_err(fmt, ap);
	va_end(ap);
}

/* Non-empty run of decimal digits without a leading zero (except "0"). */
static bool is_canonical_uint(const char *s)
{
	size_t i;

	if (!s[0] || (s[0] == '0' && s[1]))
		return false;
	for (i = 0; s[i]; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

int parse_u64(const char *s, uint64_t *v)
{
	unsigned long long x;

	if (!is_canonical_uint(s))
		return -EINVAL;
	errno = 0;
	x = strtoull(s, NULL, 10);
	if (errno)
		return -errno;
	*v = x;
	return 0;
}

bool emp_name_parse(const char *s, unsigned int *num)
{
	uint64_t n;

	if (strncmp(s, EMP_PREFIX, strlen(EMP_PREFIX)) != 0)
		return false;
	if (parse_u64(s + strlen(EMP_PREFIX), &n) < 0 || n >= EMP_MAX_DEVICES)
		return false;
	*num = (unsigned int)n;
	return true;
}

bool word_in_list(const char *list, const char *word)
{
	size_t len = strlen(word), n;
	const char *p = list;

	for (;;) {
		p += strspn(p, " \t\n");
		if (!*p)
			return false;
		n = strcspn(p, " \t\n");
		if (n == len && memcmp(p, word, len) == 0)
			return true;
		p += n;
	}
}

int path_join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int is_dir(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode);
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	return -errno;
}

/* Reads at most size - 1 bytes; -EFBIG if the file holds more. */
static int read_fd(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	char extra;

	while (len + 1 < size) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len + 1 == size) {
		do {
			n = read(fd, &extra, 1);
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (n > 0)
			return -EFBIG;
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	return 0;
}

int read_attr(const char *path, char *buf, size_t size)
{
	int fd, r;

	if (size < 2)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read_fd(fd, buf, size);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int read_attr_at(const char *dir, const char *name, char *buf, size_t size)
{
	char path[4096];
	int r = path_join(path, sizeof(path), dir, name);

	return r < 0 ? r : read_attr(path, buf, size);
}

int write_attr(const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do {
		n = write(fd, value, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;	/* the store method saw a truncated value */
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static int not_dot(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* Appends @name=@value, taking ownership of @value on success. */
static int attrs_append(struct attr_list *list, const char *name, char *value,
			unsigned int mode)
{
	char *copy = strdup(name);
	struct attr *v = copy ? realloc(list->v, (list->n + 1) * sizeof(*v)) :
				NULL;

	if (!v) {
		free(copy);
		return -ENOMEM;
	}
	list->v = v;
	v[list->n].name = copy;
	v[list->n].value = value;
	v[list->n].mode = mode;
	list->n++;
	return 0;
}

/* Reads @dir/@name if it is a readable regular file; 0 if skipped. */
static int attrs_load_one(struct attr_list *list, const char *dir,
			  const char *name, char *buf)
{
	char path[4096];
	struct stat st;
	char *value;
	int r;

	r = path_join(path, sizeof(path), dir, name);
	if (r == 0 && stat(path, &st) < 0)
		r = -errno;
	if (r == 0 && !S_ISREG(st.st_mode))
		return 0;
	if (r == 0)
		r = read_attr(path, buf, ATTR_MAX);
	if (r == -EACCES || r == -EPERM)
		return 0;	/* write-only attribute */
	if (r < 0) {
		pr_err("cannot read %s/%s: %s", dir, name, strerror(-r));
		return r;
	}
	value = strdup(buf);
	r = value ? attrs_append(list, name, value, st.st_mode) : -ENOMEM;
	if (r < 0) {
		free(value);
		pr_err("out of memory");
	}
	return r;
}

int attrs_load(const char *dir, struct attr_list *list)
{
	struct dirent **ents;
	char *buf;
	int n, i, failed = 0;

	list->v = NULL;
	list->n = 0;
	n = scandir(dir, &ents, not_dot, alphasort);
	if (n < 0)
		return -errno;
	buf = malloc(ATTR_MAX);
	for (i = 0; i < n; i++) {
		if (!buf || attrs_load_one(list, dir, ents[i]->d_name, buf) < 0)
			failed++;
		free(ents[i]);
	}
	if (!buf)
		pr_err("out of memory");
	free(ents);
	free(buf);
	return failed;
}

void attrs_free(struct attr_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++) {
		free(list->v[i].name);
		free(list->v[i].value);
	}
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

const char *attrs_get(const struct attr_list *list, const char *name)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (strcmp(list->v[i].name, name) == 0)
			return list->v[i].value;
	return NULL;
}

int kmsg_watch(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Prints the message of one "prio,seq,ts,flags;text\n[ KEY=val\n...]" record. */
static void kmsg_print_record(char *rec, const char *needle)
{
	char *text = strchr(rec, ';');

	if (!text)
		return;
	text++;
	text[strcspn(text, "\n")] = '\0';
	if (strstr(text, needle))
		pr_err("kernel: %s", text);
}

void kmsg_unwatch_match(int fd, bool failed, const char *needle)
{
	char rec[8192];
	ssize_t n;

	if (fd < 0)
		return;
	while (failed) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && (errno == EINTR || errno == EPIPE))
			continue;	/* EPIPE: records were overwritten */
		if (n <= 0)
			break;		/* EAGAIN: no more records */
		rec[n] = '\0';
		kmsg_print_record(rec, needle);
	}
	close(fd);
}

void kmsg_unwatch(int fd, bool failed)
{
	kmsg_unwatch_match(fd, failed, EMP_PREFIX);
}
