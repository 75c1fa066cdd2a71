/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHIM_LINUX_SLAB_H
#define SHIM_LINUX_SLAB_H
#include <stdlib.h>
#include <string.h>
#define GFP_KERNEL 0
static inline void *kzalloc(size_t n, int gfp)
{
	(void)gfp;
	return calloc(1, n);
}
#define kfree free
static inline char *kstrdup(const char *s, int gfp)
{
	(void)gfp;
	return strdup(s);
}
static inline char *kstrndup(const char *s, size_t n, int gfp)
{
	(void)gfp;
	return strndup(s, n);
}
#endif
