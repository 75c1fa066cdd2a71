// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite empblk_cache: the DRAM cache's policy (cache_policy.c), with
 * the cases tests/unit/test-cache.c runs in userspace
 * (cache_policy_cases.h). Built into empblk.ko only with EMPBLK_KUNIT=y
 * against a kernel with CONFIG_KUNIT (the debug-kernel lane); it runs when
 * the module loads and reports in the kernel log.
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "cache_policy.h"

#define CT_T			struct kunit *
#define CT_EXPECT(t, cond)	KUNIT_EXPECT_TRUE(t, cond)
#define CT_ASSERT(t, cond)	KUNIT_ASSERT_TRUE(t, cond)
#define ct_zalloc(t, size)	kunit_kzalloc(t, size, GFP_KERNEL)

#include "cache_policy_cases.h"

static struct kunit_case empblk_cache_cases[] = {
	KUNIT_CASE(empblk_cache_sizes_test),
	KUNIT_CASE(empblk_cache_insert_test),
	KUNIT_CASE(empblk_cache_full_of_dirty_test),
	KUNIT_CASE(empblk_cache_writeback_order_test),
	KUNIT_CASE(empblk_cache_writeback_slots_test),
	KUNIT_CASE(empblk_cache_evict_lru_clean_test),
	KUNIT_CASE(empblk_cache_wb_overtaken_test),
	KUNIT_CASE(empblk_cache_wb_failed_test),
	KUNIT_CASE(empblk_cache_wb_run_test),
	KUNIT_CASE(empblk_cache_discard_test),
	KUNIT_CASE(empblk_cache_fill_test),
	KUNIT_CASE(empblk_cache_fill_stale_test),
	KUNIT_CASE(empblk_cache_fill_limits_test),
	{}
};

static struct kunit_suite empblk_cache_suite = {
	.name = "empblk_cache",
	.test_cases = empblk_cache_cases,
};

kunit_test_suite(empblk_cache_suite);
