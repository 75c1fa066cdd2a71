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

static void empblk_layout_entry_test(struct kunit *test)
{
	static const unsigned int shifts[] = { 12, 16, 17 };
	static const unsigned int lanes[] = { 1, 2, 3, 24 };
	size_t s, n;

	for (s = 0; s < ARRAY_SIZE(shifts); s++) {
		for (n = 0; n < ARRAY_SIZE(lanes); n++) {
			u64 sb = 1ULL << shifts[s], rows = EMPBLK_EXT_SIZE / sb;
			unsigned int nr = lanes[n];
			u64 g;

			for (g = 0; g < 3 * rows * nr; g += rows / 2 + 1) {
				u64 row = g / nr, off;
				u64 e = empblk_layout_entry(g * sb + sb / 2,
							    shifts[s], nr,
							    &off);

				KUNIT_EXPECT_EQ(test, e,
						(row / rows) * nr + g % nr);
				KUNIT_EXPECT_EQ(test, off,
						(row % rows) * sb + sb / 2);
			}
		}
	}
}

static void empblk_layout_run_test(struct kunit *test)
{
	u64 k0, k1;

	/* 2 lanes of 4 KiB subblocks: 512 rows per entry, 1024 per group */
	empblk_layout_run(0, 1024, 0, 12, 2, &k0, &k1);
	KUNIT_EXPECT_EQ(test, k0, 0ULL);
	KUNIT_EXPECT_EQ(test, k1, 512ULL);
	/* [1, 1024): lane 0 loses its first subblock, lane 1 keeps all */
	empblk_layout_run(1, 1024, 0, 12, 2, &k0, &k1);
	KUNIT_EXPECT_EQ(test, k0, 1ULL);
	KUNIT_EXPECT_EQ(test, k1, 512ULL);
	empblk_layout_run(1, 1024, 1, 12, 2, &k0, &k1);
	KUNIT_EXPECT_EQ(test, k0, 0ULL);
	KUNIT_EXPECT_EQ(test, k1, 512ULL);
	/* the next row group's entries are not in it */
	empblk_layout_run(1, 1024, 2, 12, 2, &k0, &k1);
	KUNIT_EXPECT_LE(test, k1, k0);
}

static struct kunit_case empblk_spec_cases[] = {
	KUNIT_CASE(empblk_spec_table_test),
	KUNIT_CASE(empblk_layout_entry_test),
	KUNIT_CASE(empblk_layout_run_test),
	{}
};

static struct kunit_suite empblk_spec_suite = {
	.name = "empblk_spec",
	.test_cases = empblk_spec_cases,
};

kunit_test_suite(empblk_spec_suite);
