/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHIM_LINUX_KERNEL_H
#define SHIM_LINUX_KERNEL_H
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/types.h>

#define KBUILD_MODNAME "empblk"
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define min(a, b) ((a) < (b) ? (a) : (b))

/* the last message logged, for the tests to look at */
extern char shim_last_msg[512];
#define pr_err(fmt, ...) \
	snprintf(shim_last_msg, sizeof(shim_last_msg), pr_fmt(fmt), ##__VA_ARGS__)

/* kstrtou64(): digits only (base 10), optional '+', one trailing '\n' */
static inline int kstrtou64(const char *s, unsigned int base, u64 *res)
{
	u64 v = 0;
	const char *p = s;

	(void)base;
	if (*p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned int d = *p - '0';

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (*p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	*res = v;
	return 0;
}
#endif
