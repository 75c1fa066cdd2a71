/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel interface helpers for empctl: attribute files, names, /dev/kmsg. */
#ifndef EMPCTL_SYSFS_H
#define EMPCTL_SYSFS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMP_PREFIX	"empblk"
#define EMP_MAX_DEVICES	1024		/* names are empblk0 .. empblk1023 */
#define EMP_NAME_SIZE	sizeof(EMP_PREFIX "1023")
#define EMP_MAX_BACKENDS	24	/* 16 donors and 8 SSDs */
#define ATTR_MAX	65536		/* an attribute is at most one page */

/* "empctl: <message>\n" on stderr. */
void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vpr_err(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* "empblk<N>", N decimal without leading zeros, N < EMP_MAX_DEVICES. */
bool emp_name_parse(const char *s, unsigned int *num);

/* Canonical unsigned decimal that fits in 64 bits: 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t *v);

/* Whitespace-separated word match. */
bool word_in_list(const char *list, const char *word);

/* All of these return 0 or a negative errno. */
int path_join(char *buf, size_t size, const char *dir, const char *name);
int is_dir(const char *path);	/* 1, 0 (missing or not a directory), <0 */
/* Reads a file, dropping trailing whitespace; -EFBIG if it does not fit. */
int read_attr(const char *path, char *buf, size_t size);
int read_attr_at(const char *dir, const char *name, char *buf, size_t size);
/* One write(2) of @value, as configfs and sysfs require. */
int write_attr(const char *path, const char *value);

struct attr {
	char *name;
	char *value;
	unsigned int mode;	/* st_mode of the file */
};

struct attr_list {
	struct attr *v;
	size_t n;
};

/*
 * Reads every readable regular file in @dir, sorted by name. Files that
 * cannot be read for lack of permission (write-only attributes) are
 * skipped; other read errors are reported and the file is skipped.
 * Returns -errno if @dir cannot be listed (nothing is reported), else the
 * number of files that failed.
 */
int attrs_load(const char *dir, struct attr_list *list);
void attrs_free(struct attr_list *list);
const char *attrs_get(const struct attr_list *list, const char *name);

/*
 * Marks the current end of /dev/kmsg; returns a descriptor, or -1 when
 * the kernel log cannot be read (the explanation is then just omitted).
 */
int kmsg_watch(void);
/*
 * If @failed, prints the text of the records logged since kmsg_watch()
 * that contain @needle, as "empctl: kernel: ...". Closes @fd.
 */
void kmsg_unwatch_match(int fd, bool failed, const char *needle);
/* kmsg_unwatch_match() for the records that mention empblk. */
void kmsg_unwatch(int fd, bool failed);

#endif
