// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for empblk's pure logic: mem_path parsing (spec.c) and the
 * striping arithmetic (spec.h), with the case table the userspace unit
 * tests use (spec_test_cases.h). Built into empblk.ko only when the module
 * is built with EMPBLK_KUNIT=y against a kernel with CONFIG_KUNIT (the
 * debug-kernel lane does): the suites then run when the module loads and
 * report in the kernel log.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "spec.h"
#include "spec_test_cases.h"

static void empblk_spec_table_test(struct kunit *test)
{
	char *norm = kunit_kzalloc(test, 512, GFP_KERNEL);
	struct empblk_spec *spec = kunit_kzalloc(test, sizeof(*spec),
						 GFP_KERNEL);
	size_t i;

	KUNIT_ASSERT_NOT_NULL(test, norm);
	KUNIT_ASSERT_NOT_NULL(test, spec);
	for (i = 0; i < ARRAY_SIZE(spec_cases); i++) {
		const struct spec_case *c = &spec_cases[i];
		int ret;

		strscpy(norm, "untouched", 512);
		ret = empblk_spec_parse(c->in, spec, norm, 512, "empblk-kunit");
		KUNIT_EXPECT_EQ_MSG(test, ret, c->ret, "mem_path \"%s\"", c->in);
		if (ret != c->ret)
			continue;
		if (ret) {
			KUNIT_EXPECT_STREQ_MSG(test, norm, "untouched",
					       "mem_path \"%s\"", c->in);
			continue;
		}
		KUNIT_EXPECT_EQ_MSG(test, spec->dram_mb, c->dram_mb,
				    "mem_path \"%s\"", c->in);
		KUNIT_EXPECT_EQ_MSG(test, spec->nr_donors, c->nr_donors,
				    "mem_path \"%s\"", c->in);
		KUNIT_EXPECT_EQ_MSG(test, spec->nr_ssds, c->nr_ssds,
				    "mem_path \"%s\"", c->in);
		KUNIT_EXPECT_EQ_MSG(test, spec->total_mb, c->total_mb,
				    "mem_path \"%s\"", c->in);
		if (c->norm)
			KUNIT_EXPECT_STREQ_MSG(test, norm, c->norm,
					       "mem_path \"%s\"", c->in);
	}
}

static void empblk_stripe_locate_test(struct kunit *test)
{
	static const unsigned int shifts[] = { 12, 16, 17 };
	static const unsigned int donors[] = { 1, 2, 3, 16 };
	size_t s, n;

	for (s = 0; s < ARRAY_SIZE(shifts); s++) {
		for (n = 0; n < ARRAY_SIZE(donors); n++) {
			u64 sb = 1ULL << shifts[s], g;
			unsigned int nr = donors[n];

			for (g = 0; g < 4 * nr + 3; g++) {
				unsigned int d;
				u64 off;

				empblk_stripe_locate(g * sb + sb / 2, shifts[s],
						     nr, &d, &off);
				KUNIT_EXPECT_EQ(test, d, (unsigned int)(g % nr));
				KUNIT_EXPECT_EQ(test, off,
						(g / nr) * sb + sb / 2);
			}
		}
	}
}

static void empblk_stripe_chunks_covered_test(struct kunit *test)
{
	u64 c0, c1;

	/* 2 donors, 4 subblocks per chunk: [0, 16) covers chunks 0, 1 */
	empblk_stripe_chunks_covered(0, 16, 0, 2, 4, &c0, &c1);
	KUNIT_EXPECT_EQ(test, c0, 0ULL);
	KUNIT_EXPECT_EQ(test, c1, 2ULL);
	/* [1, 16): donor 0 loses subblock 0, so chunk 0 is not whole */
	empblk_stripe_chunks_covered(1, 16, 0, 2, 4, &c0, &c1);
	KUNIT_EXPECT_EQ(test, c0, 1ULL);
	KUNIT_EXPECT_EQ(test, c1, 2ULL);
	/* ... while donor 1 keeps both */
	empblk_stripe_chunks_covered(1, 16, 1, 2, 4, &c0, &c1);
	KUNIT_EXPECT_EQ(test, c0, 0ULL);
	KUNIT_EXPECT_EQ(test, c1, 2ULL);
	/* a range smaller than a chunk covers none */
	empblk_stripe_chunks_covered(3, 9, 0, 2, 4, &c0, &c1);
	KUNIT_EXPECT_LE(test, c1, c0);
}

static struct kunit_case empblk_spec_cases[] = {
	KUNIT_CASE(empblk_spec_table_test),
	KUNIT_CASE(empblk_stripe_locate_test),
	KUNIT_CASE(empblk_stripe_chunks_covered_test),
	{}
};

static struct kunit_suite empblk_spec_suite = {
	.name = "empblk_spec",
	.test_cases = empblk_spec_cases,
};

kunit_test_suite(empblk_spec_suite);
