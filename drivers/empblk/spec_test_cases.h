/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mem_path parsing cases, shared by the userspace unit test
 * (tests/unit/test-spec.c) and the KUnit suite (spec_kunit.c):
 * the same table checks the same code in both places.
 */
#ifndef EMPBLK_SPEC_CASES_H
#define EMPBLK_SPEC_CASES_H

/**
 * struct spec_case - one mem_path and what parsing it must give
 * @in: the string written to mem_path
 * @ret: 0 or the negative errno expected
 * @dram_mb: expected DRAM size (when @ret is 0)
 * @nr_donors: expected donor entries (when @ret is 0)
 * @total_mb: expected capacity (when @ret is 0)
 * @norm: expected normalised string (when @ret is 0)
 * @msg: a part of the logged reason (when @ret is not 0)
 * @nr_ssds: expected SSD entries (when @ret is 0)
 */
struct spec_case {
	const char *in;
	int ret;
	unsigned long long dram_mb;
	unsigned int nr_donors;
	unsigned long long total_mb;
	const char *norm;
	const char *msg;
	unsigned int nr_ssds;
};

/* sixteen donors, and a seventeenth */
#define SPEC_D1_4	"1.1.1.1:2:1|1.1.1.1:2:2|1.1.1.1:2:3|1.1.1.1:2:4"
#define SPEC_D5_8	"1.1.1.1:2:5|1.1.1.1:2:6|1.1.1.1:2:7|1.1.1.1:2:8"
#define SPEC_D9_12	"1.1.1.1:2:9|1.1.1.1:2:10|1.1.1.1:2:11|1.1.1.1:2:12"
#define SPEC_D13_16	"1.1.1.1:2:13|1.1.1.1:2:14|1.1.1.1:2:15|1.1.1.1:2:16"
#define SPEC_D17	"1.1.1.1:2:17"
/* eight SSDs */
#define SPEC_S1_8	"/dev/s1:2:0|/dev/s2:2:0|/dev/s3:2:0|/dev/s4:2:0|" \
			"/dev/s5:2:0|/dev/s6:2:0|/dev/s7:2:0|/dev/s8:2:0"
/* 123 bytes: with "/dev/", a path of 128 */
#define SPEC_LONG_PATH	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct spec_case spec_cases[] = {
	{ "dram:64", 0, 64, 0, 64, "dram:64", NULL, 0 },
	{ "dram:64\n", 0, 64, 0, 64, "dram:64", NULL, 0 },
	{ "  dram:64  ", 0, 64, 0, 64, "dram:64", NULL, 0 },
	{ "dram:16777216", 0, 16777216, 0, 16777216, "dram:16777216", NULL, 0 },
	{ "10.0.0.1:1024:19675", 0, 0, 1, 1024, "10.0.0.1:1024:19675", NULL, 0 },
	{ "10.0.0.1:1024:19675|10.0.0.2:512:19676", 0, 0, 2, 1536,
	  "10.0.0.1:1024:19675|10.0.0.2:512:19676", NULL, 0 },
	{ "10.0.0.1:8:1,[fd00::2]:8:65535", 0, 0, 2, 16,
	  "10.0.0.1:8:1,[fd00::2]:8:65535", NULL, 0 },
	{ "dram:64|10.0.0.1:1024:19675", 0, 64, 1, 1024,
	  "dram:64|10.0.0.1:1024:19675", NULL, 0 },
	{ "10.0.0.1:1024:19675|dram:8", 0, 8, 1, 1024,
	  "10.0.0.1:1024:19675|dram:8", NULL, 0 },
	{ "", -EINVAL, 0, 0, 0, NULL, "empty mem_path", 0 },
	{ "\n", -EINVAL, 0, 0, 0, NULL, "empty mem_path", 0 },
	{ "dram:", -EINVAL, 0, 0, 0, NULL, "is not a number of MiB", 0 },
	{ "dram:-1", -EINVAL, 0, 0, 0, NULL, "is not a number of MiB", 0 },
	{ "dram:abc", -EINVAL, 0, 0, 0, NULL, "is not a number of MiB", 0 },
	{ "dram:0", -EINVAL, 0, 0, 0, NULL, "dram size must be 1..16777216", 0 },
	{ "dram:16777217", -EINVAL, 0, 0, 0, NULL, "dram size must be 1..", 0 },
	{ "dram:99999999999999999999", -EINVAL, 0, 0, 0, NULL,
	  "dram size must be 1..", 0 },
	{ "dram:1,dram:2", -EINVAL, 0, 0, 0, NULL, "more than one dram", 0 },
	{ "dram:1,,dram:2", -EINVAL, 0, 0, 0, NULL, "empty entry", 0 },
	{ "dram:1|", -EINVAL, 0, 0, 0, NULL, "empty entry", 0 },
	{ "foo:1", -EINVAL, 0, 0, 0, NULL, "unrecognised entry", 0 },
	{ "10.0.0.300:64:7000", -EINVAL, 0, 0, 0, NULL,
	  "is neither dram, an IP address", 0 },
	{ "donor.example:64:7000", -EINVAL, 0, 0, 0, NULL,
	  "is neither dram, an IP address", 0 },
	{ "fd00::2:64:7000", -EINVAL, 0, 0, 0, NULL,
	  "is neither dram, an IP address", 0 },
	{ "10.0.0.1:64:0", -EINVAL, 0, 0, 0, NULL, "must be 1..65535", 0 },
	{ "10.0.0.1:64:70000", -EINVAL, 0, 0, 0, NULL, "must be 1..65535", 0 },
	{ "10.0.0.1:0:7000", -EINVAL, 0, 0, 0, NULL, "must be 1..16777216", 0 },
	{ "10.0.0.1::7000", -EINVAL, 0, 0, 0, NULL, "unrecognised entry", 0 },
	{ "10.0.0.1:64", -EINVAL, 0, 0, 0, NULL, "unrecognised entry", 0 },
	{ "/dev/nvme0n1:64:0", 0, 0, 0, 64, "/dev/nvme0n1:64:0", NULL, 1 },
	{ "dram:16|/dev/nvme0n1:64:128", 0, 16, 0, 64,
	  "dram:16|/dev/nvme0n1:64:128", NULL, 1 },
	{ "/dev/nvme0n1:64:0|/dev/nvme1n1:32:0|dram:8", 0, 8, 0, 96,
	  "/dev/nvme0n1:64:0|/dev/nvme1n1:32:0|dram:8", NULL, 2 },
	{ "/dev/nvme0n1:64:x", -EINVAL, 0, 0, 0, NULL,
	  "SSD offset \"x\" is not a number", 0 },
	{ "/dev/nvme0n1:64:-1", -EINVAL, 0, 0, 0, NULL,
	  "SSD offset \"-1\" is not a number", 0 },
	{ "/dev/nvme0n1:64:4294967297", -EINVAL, 0, 0, 0, NULL,
	  "SSD offset 4294967297 must be 0..4294967296", 0 },
	{ "/dev/nvme0n1:0:0", -EINVAL, 0, 0, 0, NULL, "must be 1..16777216", 0 },
	{ "/dev/nvme0n1:64", -EINVAL, 0, 0, 0, NULL, "unrecognised entry", 0 },
	{ "/dev/" SPEC_LONG_PATH ":64:0", -EINVAL, 0, 0, 0, NULL,
	  "SSD path longer than 127 bytes", 0 },
	{ SPEC_S1_8 "|/dev/s9:2:0", -EINVAL, 0, 0, 0, NULL, "more than 8 SSDs", 0 },
	{ SPEC_S1_8, 0, 0, 0, 16, NULL, NULL, 8 },
	/* the seed's own example, in any order: the backends add up */
	{ "10.10.0.112:131072:19675|/dev/nvme1n1:131072:0|dram:32768",
	  0, 32768, 1, 262144,
	  "10.10.0.112:131072:19675|/dev/nvme1n1:131072:0|dram:32768",
	  NULL, 1 },
	{ "dram:32768|/dev/nvme1n1:131072:0|10.10.0.112:131072:19675",
	  0, 32768, 1, 262144,
	  "dram:32768|/dev/nvme1n1:131072:0|10.10.0.112:131072:19675",
	  NULL, 1 },
	/* whole 2 MiB extents, whole rows of one extent per backend */
	{ "10.0.0.1:3:1|10.0.0.2:4:2", 0, 0, 2, 4, NULL, NULL, 0 },
	{ "10.0.0.1:2:1|/dev/sda:5:0|10.0.0.2:2:2", 0, 0, 2, 6, NULL, NULL,
	  1 },
	{ "10.0.0.1:1:7000", -EINVAL, 0, 0, 0, NULL,
	  "size 1 MiB is less than one 2 MiB extent", 0 },
	{ "/dev/sda:1:0", -EINVAL, 0, 0, 0, NULL,
	  "size 1 MiB is less than one 2 MiB extent", 0 },
	{ "10.0.0.1:16777216:1|10.0.0.2:16777216:2", -EINVAL, 0, 0, 0, NULL,
	  "tiers add up to more than", 0 },
	{ SPEC_D1_4 "|" SPEC_D5_8 "|" SPEC_D9_12 "|" SPEC_D13_16, 0, 0, 16, 32,
	  NULL, NULL, 0 },
	{ SPEC_D1_4 "|" SPEC_D5_8 "|" SPEC_D9_12 "|" SPEC_D13_16 "|" SPEC_D17,
	  -EINVAL, 0, 0, 0, NULL, "more than 16 donors", 0 },
};

#endif /* EMPBLK_SPEC_CASES_H */
