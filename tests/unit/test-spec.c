// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace unit tests of empblk's pure logic: drivers/empblk/spec.c and
 * spec.h, compiled unchanged against the stand-in headers in shim/. The
 * KUnit suite (drivers/empblk/spec_kunit.c) runs the same cases in the kernel.
 * TAP output, exit status 1 if any case failed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../../drivers/empblk/spec.h"
#include "../../drivers/empblk/spec_test_cases.h"

char shim_last_msg[512];

static int n_run, n_failed;

static void report(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(int ok, const char *fmt, ...)
{
	va_list ap;

	n_run++;
	if (!ok)
		n_failed++;
	printf("%sok %d - ", ok ? "" : "not ", n_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* @s with newlines shown as \n, for one-line TAP descriptions */
static const char *esc(const char *s)
{
	static char buf[4][600];
	static int k;
	char *o = buf[k++ % 4];
	size_t i = 0;

	for (; *s && i < sizeof(buf[0]) - 3; s++) {
		if (*s == '\n') {
			o[i++] = '\\';
			o[i++] = 'n';
		} else {
			o[i++] = *s;
		}
	}
	o[i] = '\0';
	return o;
}

static void test_spec_case(const struct spec_case *c)
{
	struct empblk_spec spec;
	char norm[512] = "untouched";
	int ret;

	memset(&spec, 0xa5, sizeof(spec));
	shim_last_msg[0] = '\0';
	ret = empblk_spec_parse(c->in, &spec, norm, sizeof(norm), "empblk9");
	if (ret != c->ret) {
		report(0, "mem_path \"%s\": returned %d, want %d (%s)", esc(c->in),
		       ret, c->ret, esc(shim_last_msg));
		return;
	}
	if (ret) {
		int ok = strstr(shim_last_msg, c->msg) &&
			 strstr(shim_last_msg, "empblk9: ") &&
			 !strcmp(norm, "untouched");

		report(ok, "mem_path \"%s\" rejected (%d): %s", esc(c->in), ret,
		       shim_last_msg[0] ? esc(shim_last_msg) : "(no message)");
		return;
	}
	report(spec.dram_mb == c->dram_mb && spec.nr_donors == c->nr_donors &&
	       spec.nr_ssds == c->nr_ssds && spec.total_mb == c->total_mb &&
	       (!c->norm || !strcmp(norm, c->norm)),
	       "mem_path \"%s\" accepted: dram %llu, donors %u, SSDs %u, total %llu, \"%s\"",
	       esc(c->in), (unsigned long long)spec.dram_mb, spec.nr_donors,
	       spec.nr_ssds, (unsigned long long)spec.total_mb, norm);
}

/* a spec too long for the caller's buffer is refused whole */
static void test_spec_too_long(void)
{
	struct empblk_spec spec;
	char norm[10] = "untouched";
	int ret = empblk_spec_parse("dram:12345", &spec, norm, sizeof(norm),
				    "empblk9");

	report(ret == -EINVAL && strstr(shim_last_msg, "longer than 9 bytes"),
	       "a mem_path longer than the buffer is refused (%d: %s)", ret,
	       esc(shim_last_msg));
}

static void test_ssd_entries(void)
{
	struct empblk_spec spec;
	char norm[128];
	int ok;

	ok = !empblk_spec_parse("dram:8|/dev/nvme0n1:64:1024|/dev/disk/by-id/x:32:0",
				&spec, norm, sizeof(norm), "empblk9");
	ok = ok && spec.nr_ssds == 2 &&
	     !strcmp(spec.ssds[0].path, "/dev/nvme0n1") &&
	     spec.ssds[0].mb == 64 && spec.ssds[0].offset_mb == 1024 &&
	     !strcmp(spec.ssds[1].path, "/dev/disk/by-id/x") &&
	     spec.ssds[1].mb == 32 && spec.ssds[1].offset_mb == 0 &&
	     spec.dram_mb == 8 && spec.total_mb == 96;
	report(ok, "SSD paths, sizes and offsets are stored, capacities added");
}

static void test_donor_address(void)
{
	struct empblk_spec spec;
	char norm[128];
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	int ok;

	ok = !empblk_spec_parse("10.1.2.3:64:19675|[fd00::2]:64:7",
				&spec, norm, sizeof(norm), "empblk9");
	sin = (const struct sockaddr_in *)&spec.donors[0].addr;
	sin6 = (const struct sockaddr_in6 *)&spec.donors[1].addr;
	ok = ok && sin->sin_family == AF_INET &&
	     ntohs(sin->sin_port) == 19675 &&
	     ntohl(sin->sin_addr.s_addr) == 0x0a010203 &&
	     sin6->sin6_family == AF_INET6 && ntohs(sin6->sin6_port) == 7 &&
	     sin6->sin6_addr.s6_addr[0] == 0xfd &&
	     sin6->sin6_addr.s6_addr[15] == 2 &&
	     spec.donors[0].mb == 64 && spec.donors[1].mb == 64;
	report(ok, "donor addresses, ports and sizes are stored");
}

/*
 * Every device byte maps to exactly one byte of one map entry's extent,
 * consecutive subblocks go to consecutive lanes, and a device of whole
 * rows needs exactly rows x lanes entries.
 */
static void test_layout_bijective(unsigned int sb_shift, unsigned int lanes)
{
	const u64 sb = 1ULL << sb_shift, spe = EMPBLK_EXT_SIZE / sb;
	const u64 nr_entries = 3 * lanes, nr_sb = nr_entries * spe;
	unsigned char *seen = calloc(nr_entries, spe);
	u64 g;
	int ok = seen != NULL;

	for (g = 0; ok && g < nr_sb; g++) {
		u64 e, e2, off, off2;

		e = empblk_layout_entry(g * sb, sb_shift, lanes, &off);
		e2 = empblk_layout_entry(g * sb + sb - 1, sb_shift, lanes,
					 &off2);
		ok = e < nr_entries && e % lanes == g % lanes &&
		     !(off & (sb - 1)) && e2 == e && off2 == off + sb - 1 &&
		     off < EMPBLK_EXT_SIZE && !seen[e * spe + off / sb]++;
	}
	free(seen);
	report(ok, "layout over %u lanes, %llu-byte subblocks, is one to one",
	       lanes, (unsigned long long)sb);
}

/* empblk_layout_run() agrees with a brute-force check of every subblock */
static void test_layout_run(unsigned int lanes, unsigned int sb_shift)
{
	const u64 spe = EMPBLK_EXT_SIZE >> sb_shift;
	unsigned int seed = 12345, i;
	int ok = 1;

	for (i = 0; ok && i < 500; i++) {
		u64 g0 = rand_r(&seed) % (lanes * spe * 4);
		u64 g1 = g0 + rand_r(&seed) % (lanes * spe * 2);
		u64 e;

		for (e = 0; ok && e < 6 * lanes; e++) {
			u64 k0, k1, k, lo = ~0ULL, hi = 0;

			empblk_layout_run(g0, g1, e, sb_shift, lanes, &k0, &k1);
			for (k = 0; k < spe; k++) {
				/* subblock k of entry e */
				u64 g = ((e / lanes) * spe + k) * lanes +
					e % lanes;

				if (g >= g0 && g < g1) {
					lo = lo < k ? lo : k;
					hi = k + 1;
				}
			}
			ok = hi ? k0 == lo && k1 == hi : k1 <= k0;
			if (!ok)
				printf("# g [%llu, %llu) entry %llu: run [%llu, %llu), computed [%llu, %llu)\n",
				       (unsigned long long)g0,
				       (unsigned long long)g1,
				       (unsigned long long)e,
				       (unsigned long long)lo,
				       (unsigned long long)hi,
				       (unsigned long long)k0,
				       (unsigned long long)k1);
		}
	}
	report(ok, "a range is one run of each entry (%u lanes, %llu-byte subblocks)",
	       lanes, 1ULL << sb_shift);
}

int main(void)
{
	size_t i;

	printf("TAP version 13\n");
	for (i = 0; i < sizeof(spec_cases) / sizeof(spec_cases[0]); i++)
		test_spec_case(&spec_cases[i]);
	test_spec_too_long();
	test_donor_address();
	test_ssd_entries();
	test_layout_bijective(12, 1);
	test_layout_bijective(12, 3);
	test_layout_bijective(17, 24);
	test_layout_run(1, 19);
	test_layout_run(2, 19);
	test_layout_run(3, 20);
	test_layout_run(24, 17);
	printf("1..%d\n", n_run);
	printf("%d passed, %d failed\n", n_run - n_failed, n_failed);
	return n_failed ? 1 : 0;
}
