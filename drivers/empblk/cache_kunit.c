// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for the DRAM cache's policy (cache.c): which blocks it takes
 * in, which it evicts, what writeback picks, and that a block whose
 * writeback failed or was overtaken by a newer write stays dirty, the only
 * copy. Included at the end of cache.c, whose helpers are static, when the
 * module is built with EMPBLK_KUNIT=y; it runs when the module loads.
 *
 * The cache under test has entries and writeback slots but no pages and no
 * RDMA device: the policy never touches data. Its worker never runs
 * (wb_paused stays raised); the tests pick and end writebacks themselves.
 */
#include <kunit/test.h>

/* 64 KiB blocks in 1 MiB: 16 entries; writeback from 12 dirty down to 8 */
#define KC_BS		SZ_64K
#define KC_MB		1
#define KC_NR		16

static int empblk_cache_kunit_init(struct kunit *test)
{
	struct empblk_dev *dev;
	struct empblk_cache *c;
	unsigned int i;

	dev = kunit_kzalloc(test, sizeof(*dev), GFP_KERNEL);
	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, dev);
	KUNIT_ASSERT_NOT_NULL(test, c);
	dev->stats = alloc_percpu(struct empblk_stats);
	KUNIT_ASSERT_NOT_NULL(test, dev->stats);
	test->priv = dev;
	dev->cache = c;

	empblk_cache_setup(c, KC_BS, KC_MB);
	KUNIT_ASSERT_EQ(test, c->nr, (unsigned long)KC_NR);
	c->entries = kunit_kcalloc(test, c->nr, sizeof(*c->entries),
				   GFP_KERNEL);
	c->hash = kunit_kcalloc(test, 1UL << c->hash_bits, sizeof(*c->hash),
				GFP_KERNEL);
	c->wbs = kunit_kcalloc(test, c->nr_wbs, sizeof(*c->wbs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c->entries);
	KUNIT_ASSERT_NOT_NULL(test, c->hash);
	KUNIT_ASSERT_NOT_NULL(test, c->wbs);
	for (i = 0; i < c->nr_wbs; i++) {
		c->wbs[i].dev = dev;
		list_add_tail(&c->wbs[i].free, &c->wb_free);
	}
	empblk_cache_all_free(c);
	c->wb_paused = 1;
	return 0;
}

static void empblk_cache_kunit_exit(struct kunit *test)
{
	struct empblk_dev *dev = test->priv;

	if (dev)
		free_percpu(dev->stats);
}

static u64 kc_stat(struct empblk_dev *dev, enum empblk_stat_item item)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(dev->stats, cpu)->v[item];
	return sum;
}

/* What empblk_cache_rw() does for one block, data copy aside. */
static struct empblk_centry *kc_io(struct empblk_dev *dev, unsigned long b,
				   bool is_write, bool whole, bool *full)
{
	struct empblk_cache *c = dev->cache;
	struct empblk_centry *e;
	bool dummy = false;

	spin_lock_bh(&c->lock);
	e = empblk_cache_claim(dev, b, is_write, whole, full ? full : &dummy);
	if (e)
		empblk_cache_touch(c, e, is_write);
	spin_unlock_bh(&c->lock);
	return e;
}

static struct empblk_centry *kc_write(struct empblk_dev *dev, unsigned long b)
{
	return kc_io(dev, b, true, true, NULL);
}

static struct empblk_centry *kc_find(struct empblk_dev *dev, unsigned long b)
{
	struct empblk_cache *c = dev->cache;
	struct empblk_centry *e;

	spin_lock_bh(&c->lock);
	e = empblk_cache_find(c, b);
	spin_unlock_bh(&c->lock);
	return e;
}

static struct empblk_wb *kc_pick(struct empblk_dev *dev)
{
	struct empblk_cache *c = dev->cache;
	struct empblk_wb *wb;

	spin_lock_bh(&c->lock);
	wb = empblk_cache_wb_pick(c);
	spin_unlock_bh(&c->lock);
	return wb;
}

/* Write back block @b now, whatever the thresholds; it must be picked. */
static void kc_writeback(struct kunit *test, unsigned long b, bool ok)
{
	struct empblk_dev *dev = test->priv;
	struct empblk_cache *c = dev->cache;
	unsigned long stop = c->wb_stop;
	struct empblk_wb *wb;

	c->wb_stop = 0;
	wb = kc_pick(dev);
	c->wb_stop = stop;
	KUNIT_ASSERT_NOT_NULL(test, wb);
	KUNIT_ASSERT_EQ(test, wb->e->blk, b);
	empblk_cache_wb_end(wb, ok);
}

static void empblk_cache_sizes_test(struct kunit *test)
{
	struct empblk_cache *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, c);
	empblk_cache_setup(c, SZ_4K, 1);
	KUNIT_EXPECT_EQ(test, c->nr, 256UL);
	KUNIT_EXPECT_EQ(test, c->ppb, 1U);
	KUNIT_EXPECT_EQ(test, c->wb_start, 192UL);
	KUNIT_EXPECT_EQ(test, c->wb_stop, 128UL);
	KUNIT_EXPECT_EQ(test, c->nr_wbs, 64U);
	KUNIT_EXPECT_GE(test, 1UL << c->hash_bits, c->nr);

	memset(c, 0, sizeof(*c));
	empblk_cache_setup(c, SZ_2M, 16);
	KUNIT_EXPECT_EQ(test, c->nr, 8UL);
	KUNIT_EXPECT_EQ(test, c->ppb, (unsigned int)(SZ_2M >> PAGE_SHIFT));
	KUNIT_EXPECT_EQ(test, c->wb_start, 6UL);
	KUNIT_EXPECT_EQ(test, c->wb_stop, 4UL);
	/* 8 MiB of writeback in flight at most, but never fewer than 4 */
	KUNIT_EXPECT_EQ(test, c->nr_wbs, 4U);
	KUNIT_EXPECT_EQ(test, c->hash_bits, 4U);
}

static void empblk_cache_insert_test(struct kunit *test)
{
	struct empblk_dev *dev = test->priv;
	struct empblk_cache *c = dev->cache;
	struct empblk_centry *e;
	bool full = false;

	/* a read miss and a partial write go to the donors, not the cache */
	KUNIT_EXPECT_NULL(test, kc_io(dev, 5, false, true, &full));
	KUNIT_EXPECT_NULL(test, kc_io(dev, 5, true, false, &full));
	KUNIT_EXPECT_FALSE(test, full);
	KUNIT_EXPECT_EQ(test, c->nr_free, (unsigned long)KC_NR);
	KUNIT_EXPECT_NULL(test, kc_find(dev, 5));

	/* a whole-block write is taken in, dirty */
	e = kc_write(dev, 5);
	KUNIT_ASSERT_NOT_NULL(test, e);
	KUNIT_EXPECT_EQ(test, e->blk, 5UL);
	KUNIT_EXPECT_EQ(test, e->state, (u32)(EMPBLK_CE_VALID | EMPBLK_CE_DIRTY));
	KUNIT_EXPECT_EQ(test, e->gen, 1U);
	KUNIT_EXPECT_EQ(test, c->nr_free, (unsigned long)KC_NR - 1);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 1UL);

	/* then reads and partial writes of it hit the same entry */
	KUNIT_EXPECT_PTR_EQ(test, kc_io(dev, 5, false, true, NULL), e);
	KUNIT_EXPECT_PTR_EQ(test, kc_io(dev, 5, true, false, NULL), e);
	KUNIT_EXPECT_EQ(test, e->gen, 2U);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 1UL);
	KUNIT_EXPECT_PTR_EQ(test, kc_find(dev, 5), e);
	KUNIT_EXPECT_NULL(test, kc_find(dev, 5 + (1UL << c->hash_bits)));
}

static void empblk_cache_full_of_dirty_test(struct kunit *test)
{
	struct empblk_dev *dev = test->priv;
	struct empblk_cache *c = dev->cache;
	bool full = false;
	unsigned long b;

	for (b = 0; b < KC_NR; b++)
		KUNIT_ASSERT_NOT_NULL(test, kc_write(dev, b * 7));
	KUNIT_EXPECT_EQ(test, c->nr_free, 0UL);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, (unsigned long)KC_NR);

	/* no free or clean entry: the write goes around and kicks writeback */
	KUNIT_EXPECT_NULL(test, kc_io(dev, 1000, true, true, &full));
	KUNIT_EXPECT_TRUE(test, full);
	/* and no dirty block was evicted for it */
	for (b = 0; b < KC_NR; b++)
		KUNIT_EXPECT_NOT_NULL(test, kc_find(dev, b * 7));
	KUNIT_EXPECT_EQ(test, kc_stat(dev, EMPBLK_STAT_CACHE_EVICTIONS), 0ULL);
}

static void empblk_cache_writeback_order_test(struct kunit *test)
{
	struct empblk_dev *dev = test->priv;
	struct empblk_cache *c = dev->cache;
	struct empblk_wb *wbs[KC_NR];
	unsigned int i, n;
	unsigned long b;

	for (b = 0; b < KC_NR; b++)
		kc_write(dev, 100 - b);
	/* oldest dirty first, down to wb_stop */
	for (n = 0; n < KC_NR; n++) {
		wbs[n] = kc_pick(dev);
		if (!wbs[n])
			break;
	}
	KUNIT_EXPECT_EQ(test, n, (unsigned int)(KC_NR - c->wb_stop));
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ(test, wbs[i]->e->blk, 100UL - i);
		KUNIT_EXPECT_TRUE(test, wbs[i]->e->state & EMPBLK_CE_WB);
		KUNIT_EXPECT_TRUE(test, list_empty(&wbs[i]->e->list));
	}
	KUNIT_EXPECT_EQ(test, c->nr_wb, n);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, c->wb_stop);

	for (i = 0; i < n; i++)
		empblk_cache_wb_end(wbs[i], true);
	KUNIT_EXPECT_EQ(test, c->nr_wb, 0U);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, c->wb_stop);
	KUNIT_EXPECT_EQ(test, kc_stat(dev, EMPBLK_STAT_CACHE_WRITEBACKS),
			(u64)n);
	for (i = 0; i < n; i++) {
		struct empblk_centry *e = kc_find(dev, 100 - i);

		KUNIT_ASSERT_NOT_NULL(test, e);
		KUNIT_EXPECT_EQ(test, e->state, (u32)EMPBLK_CE_VALID);
	}
}

static void empblk_cache_evict_lru_clean_test(struct kunit *test)
{
	struct empblk_dev *dev = test->priv;
	struct empblk_cache *c = dev->cache;
	bool full = false;
	unsigned long b;

	/* blocks 0..7 written back (clean, in that order), 8..15 dirty */
	for (b = 0; b < KC_NR; b++)
		kc_write(dev, b);
	for (b = 0; b < KC_NR / 2; b++)
		kc_writeback(test, b, true);
	KUNIT_ASSERT_EQ(test, c->nr_dirty, (unsigned long)KC_NR / 2);

	/* a read makes block 0 the most recently used clean one */
	KUNIT_EXPECT_NOT_NULL(test, kc_io(dev, 0, false, true, NULL));
	/* a new block takes the least recently used clean entry: block 1 */
	KUNIT_EXPECT_NOT_NULL(test, kc_write(dev, 200));
	KUNIT_EXPECT_NULL(test, kc_find(dev, 1));
	KUNIT_EXPECT_NOT_NULL(test, kc_find(dev, 0));
	KUNIT_EXPECT_EQ(test, kc_stat(dev, EMPBLK_STAT_CACHE_EVICTIONS), 1ULL);

	/* six more take blocks 2..7, the seventh takes block 0 */
	for (b = 201; b < 208; b++)
		KUNIT_EXPECT_NOT_NULL(test, kc_write(dev, b));
	for (b = 0; b < KC_NR / 2; b++)
		KUNIT_EXPECT_NULL(test, kc_find(dev, b));
	/* only dirty entries are left: the next block goes around */
	KUNIT_EXPECT_NULL(test, kc_io(dev, 300, true, true, &full));
	KUNIT_EXPECT_TRUE(test, full);
	for (b = KC_NR / 2; b < KC_NR; b++)
		KUNIT_EXPECT_NOT_NULL(test, kc_find(dev, b));
	KUNIT_EXPECT_EQ(test, kc_stat(dev, EMPBLK_STAT_CACHE_EVICTIONS), 8ULL);
}

static void empblk_cache_wb_overtaken_test(struct kunit *test)
{
	struct empblk_dev *dev = test->priv;
	struct empblk_cache *c = dev->cache;
	struct empblk_centry *e, *first;
	struct empblk_wb *wb;

	e = kc_write(dev, 3);
	c->wb_stop = 0;
	wb = kc_pick(dev);
	KUNIT_ASSERT_PTR_EQ(test, wb->e, e);
	KUNIT_EXPECT_EQ(test, wb->gen, 1U);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 0UL);

	/* written again while its writeback is in flight: on no list yet */
	KUNIT_EXPECT_PTR_EQ(test, kc_write(dev, 3), e);
	KUNIT_EXPECT_EQ(test, e->gen, 2U);
	KUNIT_EXPECT_TRUE(test, list_empty(&e->list));
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 0UL);

	/* the older data reached the donors: the block is still dirty */
	empblk_cache_wb_end(wb, true);
	KUNIT_EXPECT_EQ(test, e->state, (u32)(EMPBLK_CE_VALID | EMPBLK_CE_DIRTY));
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 1UL);
	first = list_first_entry(&c->dirty, struct empblk_centry, list);
	KUNIT_EXPECT_PTR_EQ(test, first, e);

	/* the next writeback carries the new data and cleans it */
	kc_writeback(test, 3, true);
	KUNIT_EXPECT_EQ(test, e->state, (u32)EMPBLK_CE_VALID);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 0UL);
}

static void empblk_cache_wb_failed_test(struct kunit *test)
{
	struct empblk_dev *dev = test->priv;
	struct empblk_cache *c = dev->cache;
	struct empblk_centry *e;
	bool full = false;
	unsigned long b;

	e = kc_write(dev, 9);
	kc_writeback(test, 9, false);
	/* a failed writeback leaves the only copy dirty, and never evicted */
	KUNIT_EXPECT_EQ(test, e->state, (u32)(EMPBLK_CE_VALID | EMPBLK_CE_DIRTY));
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 1UL);
	KUNIT_EXPECT_EQ(test, kc_stat(dev, EMPBLK_STAT_CACHE_WRITEBACK_ERRORS),
			1ULL);
	KUNIT_EXPECT_EQ(test, kc_stat(dev, EMPBLK_STAT_CACHE_WRITEBACKS), 0ULL);
	for (b = 0; b < KC_NR - 1; b++)
		KUNIT_EXPECT_NOT_NULL(test, kc_write(dev, 50 + b));
	KUNIT_EXPECT_NULL(test, kc_io(dev, 99, true, true, &full));
	KUNIT_EXPECT_TRUE(test, full);
	KUNIT_EXPECT_PTR_EQ(test, kc_find(dev, 9), e);
	/* it is written back first once the donors answer again */
	kc_writeback(test, 9, true);
	KUNIT_EXPECT_EQ(test, e->state, (u32)EMPBLK_CE_VALID);
	KUNIT_EXPECT_EQ(test, c->nr_wb, 0U);
}

static void empblk_cache_discard_test(struct kunit *test)
{
	struct empblk_dev *dev = test->priv;
	struct empblk_cache *c = dev->cache;
	unsigned long b;

	for (b = 0; b < 6; b++)
		kc_write(dev, b);
	kc_writeback(test, 0, true);
	kc_writeback(test, 1, true);
	KUNIT_ASSERT_EQ(test, c->nr_dirty, 4UL);

	/* blocks 2..4 are covered whole; block 1 only in part, 5 not at all */
	empblk_cache_discard_begin(dev, KC_BS + 1, 5 * KC_BS);
	empblk_cache_discard_end(dev);
	KUNIT_EXPECT_NOT_NULL(test, kc_find(dev, 0));
	KUNIT_EXPECT_NOT_NULL(test, kc_find(dev, 1));
	for (b = 2; b < 5; b++)
		KUNIT_EXPECT_NULL(test, kc_find(dev, b));
	KUNIT_EXPECT_NOT_NULL(test, kc_find(dev, 5));
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 1UL);
	KUNIT_EXPECT_EQ(test, c->nr_free, (unsigned long)KC_NR - 3);
	KUNIT_EXPECT_EQ(test, c->wb_paused, 1U);

	/* a range longer than the cache walks the entries instead */
	empblk_cache_discard_begin(dev, 0, 1000ULL * KC_BS);
	empblk_cache_discard_end(dev);
	for (b = 0; b < 6; b++)
		KUNIT_EXPECT_NULL(test, kc_find(dev, b));
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 0UL);
	KUNIT_EXPECT_EQ(test, c->nr_free, (unsigned long)KC_NR);
	KUNIT_EXPECT_TRUE(test, list_empty(&c->dirty));
	KUNIT_EXPECT_TRUE(test, list_empty(&c->clean));
}

static struct kunit_case empblk_cache_cases[] = {
	KUNIT_CASE(empblk_cache_sizes_test),
	KUNIT_CASE(empblk_cache_insert_test),
	KUNIT_CASE(empblk_cache_full_of_dirty_test),
	KUNIT_CASE(empblk_cache_writeback_order_test),
	KUNIT_CASE(empblk_cache_evict_lru_clean_test),
	KUNIT_CASE(empblk_cache_wb_overtaken_test),
	KUNIT_CASE(empblk_cache_wb_failed_test),
	KUNIT_CASE(empblk_cache_discard_test),
	{}
};

static struct kunit_suite empblk_cache_suite = {
	.name = "empblk_cache",
	.init = empblk_cache_kunit_init,
	.exit = empblk_cache_kunit_exit,
	.test_cases = empblk_cache_cases,
};

kunit_test_suite(empblk_cache_suite);
