/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHIM_LINUX_INET_H
#define SHIM_LINUX_INET_H
#include <string.h>
#include <linux/socket.h>
#include <linux/types.h>

/* The kernel's in4_pton()/in6_pton() for a whole string (delim -1). */
static inline int shim_pton(int af, const char *src, int srclen, u8 *dst)
{
	char buf[64];
	size_t n = srclen < 0 ? strlen(src) : (size_t)srclen;

	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, src, n);
	buf[n] = '\0';
	return inet_pton(af, buf, dst) == 1;
}

static inline int in4_pton(const char *src, int srclen, u8 *dst, int delim,
			   const char **end)
{
	(void)delim;
	(void)end;
	return shim_pton(AF_INET, src, srclen, dst);
}

static inline int in6_pton(const char *src, int srclen, u8 *dst, int delim,
			   const char **end)
{
	(void)delim;
	(void)end;
	return shim_pton(AF_INET6, src, srclen, dst);
}
#endif
