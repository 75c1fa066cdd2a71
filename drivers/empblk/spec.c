// SPDX-License-Identifier: GPL-2.0
/*
 * mem_path parsing: "dram:MB", "IP:MB:PORT" and "/dev/DEV:MB:OFFSET"
 * entries separated by '|' (or ','), in any order. Only the syntax is
 * checked here; whether a /dev path is a block device that can be used is
 * checked when the device is enabled (ssd.c). The capacity of donors and
 * SSDs is their sum in whole extents (spec.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/inet.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "spec.h"

#define EMPBLK_SPEC_HELP "expected dram:MB, IP:MB:PORT or /dev/DEV:MB:OFFSET"

static __printf(4, 5) int spec_err(int err, const char *name,
				   const char *spec, const char *fmt, ...)
{
	char why[160];
	va_list args;

	va_start(args, fmt);
	vsnprintf(why, sizeof(why), fmt, args);
	va_end(args);
	pr_err("%s: invalid mem_path \"%s\": %s\n", name, spec, why);
	return err;
}

/* A size in MiB: decimal, 1..EMPBLK_MAX_MB. */
static int spec_parse_mb(const char *s, u64 *mb)
{
	int ret = kstrtou64(s, 10, mb);

	if (ret)
		return ret;	/* -ERANGE for a number too large */
	if (*mb == 0 || *mb > EMPBLK_MAX_MB)
		return -ERANGE;
	return 0;
}

/* "a.b.c.d" or "[v6]" plus a port into @ss; false if not an address */
static bool spec_parse_ip(const char *ip, u16 port,
			  struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	size_t len = strlen(ip);

	memset(ss, 0, sizeof(*ss));
	if (len > 2 && ip[0] == '[' && ip[len - 1] == ']') {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return in6_pton(ip + 1, len - 2, sin6->sin6_addr.s6_addr, -1,
				NULL);
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	return in4_pton(ip, len, (u8 *)&sin->sin_addr.s_addr, -1, NULL);
}

/*
 * Split "A:B:C" at its last two colons (an IPv6 address in brackets may
 * hold more colons). Returns false unless there are three non-empty fields.
 */
static bool spec_split3(char *entry, char **a, char **b, char **c)
{
	char *last = strrchr(entry, ':');
	char *mid;

	if (!last)
		return false;
	*last = '\0';
	mid = strrchr(entry, ':');
	if (!mid)
		return false;
	*mid = '\0';
	*a = entry;
	*b = mid + 1;
	*c = last + 1;
	return **a && **b && **c;
}

/* The SSD entry @path:@mb:@off, its size already parsed. */
static int spec_parse_ssd(struct empblk_spec *spec, const char *path, u64 mb,
			  const char *off, const char *name, const char *orig)
{
	struct empblk_ssd_spec *ssd;
	u64 val;

	if (kstrtou64(off, 10, &val))
		return spec_err(-EINVAL, name, orig,
				"SSD offset \"%s\" is not a number of MiB", off);
	if (val > EMPBLK_MAX_SSD_OFFSET_MB)
		return spec_err(-EINVAL, name, orig,
				"SSD offset %llu must be 0..%llu MiB",
				(unsigned long long)val, EMPBLK_MAX_SSD_OFFSET_MB);
	if (strlen(path) >= EMPBLK_SSD_PATH_MAX)
		return spec_err(-EINVAL, name, orig,
				"SSD path longer than %d bytes",
				EMPBLK_SSD_PATH_MAX - 1);
	if (spec->nr_ssds == EMPBLK_MAX_SSDS)
		return spec_err(-EINVAL, name, orig, "more than %d SSDs",
				EMPBLK_MAX_SSDS);
	ssd = &spec->ssds[spec->nr_ssds++];
	strscpy(ssd->path, path, sizeof(ssd->path));
	ssd->mb = mb;
	ssd->offset_mb = val;
	return 0;
}

static int spec_parse_entry(char *entry, struct empblk_spec *spec,
			    const char *name, const char *orig)
{
	struct empblk_donor_spec *donor;
	char *first, *mb_str, *third;
	u64 mb, val;
	int ret;

	if (!strncmp(entry, "dram:", 5)) {
		ret = spec_parse_mb(entry + 5, &mb);
		if (ret == -ERANGE)
			return spec_err(-EINVAL, name, orig,
					"dram size must be 1..%llu MiB",
					EMPBLK_MAX_MB);
		if (ret)
			return spec_err(-EINVAL, name, orig,
					"dram size \"%s\" is not a number of MiB",
					entry + 5);
		if (spec->dram_mb)
			return spec_err(-EINVAL, name, orig,
					"more than one dram entry");
		spec->dram_mb = mb;
		return 0;
	}

	if (!spec_split3(entry, &first, &mb_str, &third))
		return spec_err(-EINVAL, name, orig, "unrecognised entry (%s)",
				EMPBLK_SPEC_HELP);
	ret = spec_parse_mb(mb_str, &mb);
	if (ret)
		return spec_err(-EINVAL, name, orig,
				"size \"%s\" must be 1..%llu MiB", mb_str,
				EMPBLK_MAX_MB);
	if (mb < EMPBLK_EXT_SIZE >> 20)
		return spec_err(-EINVAL, name, orig,
				"size %s MiB is less than one %u MiB extent",
				mb_str, (unsigned int)(EMPBLK_EXT_SIZE >> 20));

	if (first[0] == '/')
		return spec_parse_ssd(spec, first, mb, third, name, orig);

	if (kstrtou64(third, 10, &val) || val == 0 || val > 65535)
		return spec_err(-EINVAL, name, orig,
				"port \"%s\" must be 1..65535", third);
	if (spec->nr_donors == EMPBLK_MAX_DONORS)
		return spec_err(-EINVAL, name, orig, "more than %d donors",
				EMPBLK_MAX_DONORS);
	donor = &spec->donors[spec->nr_donors];
	if (!spec_parse_ip(first, val, &donor->addr))
		return spec_err(-EINVAL, name, orig,
				"\"%s\" is neither dram, an IP address nor a /dev path (%s)",
				first, EMPBLK_SPEC_HELP);
	donor->mb = mb;
	spec->nr_donors++;
	return 0;
}

/**
 * empblk_spec_parse() - parse and validate a mem_path string
 * @buf: the string as written by user space (a trailing newline is ignored)
 * @spec: filled in on success, untouched on failure
 * @norm: receives the normalised string on success
 * @normlen: size of @norm
 * @name: device name for messages
 *
 * Every rejection is logged with its reason.
 *
 * Return: 0, -EINVAL for a malformed spec, or -ENOMEM.
 */
int empblk_spec_parse(const char *buf, struct empblk_spec *spec,
		      char *norm, size_t normlen, const char *name)
{
	struct empblk_spec *parsed;
	char *copy, *trimmed, *cursor, *entry;
	unsigned int i;
	size_t len;
	int ret = 0;

	len = strcspn(buf, "\n");
	if (len >= normlen) {
		pr_err("%s: mem_path longer than %zu bytes\n", name,
		       normlen - 1);
		return -EINVAL;
	}
	parsed = kzalloc(sizeof(*parsed), GFP_KERNEL);
	if (!parsed)
		return -ENOMEM;
	copy = kstrndup(buf, len, GFP_KERNEL);
	if (!copy) {
		ret = -ENOMEM;
		goto out_free_parsed;
	}
	trimmed = strim(copy);
	if (!*trimmed) {
		pr_err("%s: empty mem_path (%s)\n", name, EMPBLK_SPEC_HELP);
		ret = -EINVAL;
		goto out_free_copy;
	}
	/* the original, for messages; @norm is only written on success */
	cursor = kstrdup(trimmed, GFP_KERNEL);
	if (!cursor) {
		ret = -ENOMEM;
		goto out_free_copy;
	}
	entry = cursor;
	while (entry) {
		char *next = strpbrk(entry, "|,");

		if (next)
			*next++ = '\0';
		if (!*entry) {
			ret = spec_err(-EINVAL, name, trimmed, "empty entry");
			break;
		}
		ret = spec_parse_entry(entry, parsed, name, trimmed);
		if (ret)
			break;
		entry = next;
	}
	kfree(cursor);
	if (!ret) {
		unsigned int lanes = parsed->nr_donors + parsed->nr_ssds;
		u64 ext = 0;

		for (i = 0; i < parsed->nr_donors; i++)
			ext += parsed->donors[i].mb >> (EMPBLK_EXT_SHIFT - 20);
		for (i = 0; i < parsed->nr_ssds; i++)
			ext += parsed->ssds[i].mb >> (EMPBLK_EXT_SHIFT - 20);
		parsed->total_mb = parsed->dram_mb;
		if (lanes)
			parsed->total_mb = div_u64(ext, lanes) * lanes <<
					   (EMPBLK_EXT_SHIFT - 20);
		if (parsed->total_mb > EMPBLK_MAX_MB) {
			ret = spec_err(-EINVAL, name, trimmed,
				       "tiers add up to more than %llu MiB",
				       EMPBLK_MAX_MB);
			goto out_free_copy;
		}
		*spec = *parsed;
		strscpy(norm, trimmed, normlen);
	}
out_free_copy:
	kfree(copy);
out_free_parsed:
	kfree(parsed);
	return ret;
}
