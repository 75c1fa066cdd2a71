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
 */
struct spec_case {
	const char *in;
	int ret;
	unsigned long long dram_mb;
	unsigned int nr_donors;
	unsigned long long total_mb;
	const char *norm;
	const char *msg;
};

/* sixteen donors, and a seventeenth */
#define SPEC_D1_4	"1.1.1.1:1:1|1.1.1.1:1:2|1.1.1.1:1:3|1.1.1.1:1:4"
#define SPEC_D5_8	"1.1.1.1:1:5|1.1.1.1:1:6|1.1.1.1:1:7|1.1.1.1:1:8"
#define SPEC_D9_12	"1.1.1.1:1:9|1.1.1.1:1:10|1.1.1.1:1:11|1.1.1.1:1:12"
#define SPEC_D13_16	"1.1.1.1:1:13|1.1.1.1:1:14|1.1.1.1:1:15|1.1.1.1:1:16"
#define SPEC_D17	"1.1.1.1:1:17"

static const struct spec_case spec_cases[] = {
	{ "dram:64", 0, 64, 0, 64, "dram:64", NULL },
	{ "dram:64\n", 0, 64, 0, 64, "dram:64", NULL },
	{ "  dram:64  ", 0, 64, 0, 64, "dram:64", NULL },
	{ "dram:16777216", 0, 16777216, 0, 16777216, "dram:16777216", NULL },
	{ "10.0.0.1:1024:19675", 0, 0, 1, 1024, "10.0.0.1:1024:19675", NULL },
	{ "10.0.0.1:1024:19675|10.0.0.2:512:19676", 0, 0, 2, 1024,
	  "10.0.0.1:1024:19675|10.0.0.2:512:19676", NULL },
	{ "10.0.0.1:8:1,[fd00::2]:8:65535", 0, 0, 2, 16,
	  "10.0.0.1:8:1,[fd00::2]:8:65535", NULL },
	{ "dram:64|10.0.0.1:1024:19675", 0, 64, 1, 1024,
	  "dram:64|10.0.0.1:1024:19675", NULL },
	{ "10.0.0.1:1024:19675|dram:8", 0, 8, 1, 1024,
	  "10.0.0.1:1024:19675|dram:8", NULL },
	{ "", -EINVAL, 0, 0, 0, NULL, "empty mem_path" },
	{ "\n", -EINVAL, 0, 0, 0, NULL, "empty mem_path" },
	{ "dram:", -EINVAL, 0, 0, 0, NULL, "is not a number of MiB" },
	{ "dram:-1", -EINVAL, 0, 0, 0, NULL, "is not a number of MiB" },
	{ "dram:abc", -EINVAL, 0, 0, 0, NULL, "is not a number of MiB" },
	{ "dram:0", -EINVAL, 0, 0, 0, NULL, "dram size must be 1..16777216" },
	{ "dram:16777217", -EINVAL, 0, 0, 0, NULL, "dram size must be 1.." },
	{ "dram:99999999999999999999", -EINVAL, 0, 0, 0, NULL,
	  "dram size must be 1.." },
	{ "dram:1,dram:2", -EINVAL, 0, 0, 0, NULL, "more than one dram" },
	{ "dram:1,,dram:2", -EINVAL, 0, 0, 0, NULL, "empty entry" },
	{ "dram:1|", -EINVAL, 0, 0, 0, NULL, "empty entry" },
	{ "foo:1", -EINVAL, 0, 0, 0, NULL, "unrecognised entry" },
	{ "10.0.0.300:64:7000", -EINVAL, 0, 0, 0, NULL,
	  "is neither dram, an IP address" },
	{ "donor.example:64:7000", -EINVAL, 0, 0, 0, NULL,
	  "is neither dram, an IP address" },
	{ "fd00::2:64:7000", -EINVAL, 0, 0, 0, NULL,
	  "is neither dram, an IP address" },
	{ "10.0.0.1:64:0", -EINVAL, 0, 0, 0, NULL, "must be 1..65535" },
	{ "10.0.0.1:64:70000", -EINVAL, 0, 0, 0, NULL, "must be 1..65535" },
	{ "10.0.0.1:0:7000", -EINVAL, 0, 0, 0, NULL, "must be 1..16777216" },
	{ "10.0.0.1::7000", -EINVAL, 0, 0, 0, NULL, "unrecognised entry" },
	{ "10.0.0.1:64", -EINVAL, 0, 0, 0, NULL, "unrecognised entry" },
	{ "/dev/nvme0n1:64:0", -EOPNOTSUPP, 0, 0, 0, NULL,
	  "SSD tier (/dev/nvme0n1) is not supported" },
	{ "/dev/nvme0n1:64:x", -EINVAL, 0, 0, 0, NULL,
	  "SSD offset \"x\" is not a number" },
	{ "10.0.0.1:16777216:1|10.0.0.2:16777216:2", -EINVAL, 0, 0, 0, NULL,
	  "tiers add up to more than" },
	{ SPEC_D1_4 "|" SPEC_D5_8 "|" SPEC_D9_12 "|" SPEC_D13_16, 0, 0, 16, 16,
	  NULL, NULL },
	{ SPEC_D1_4 "|" SPEC_D5_8 "|" SPEC_D9_12 "|" SPEC_D13_16 "|" SPEC_D17,
	  -EINVAL, 0, 0, 0, NULL, "more than 16 donors" },
};

#endif /* EMPBLK_SPEC_CASES_H */
