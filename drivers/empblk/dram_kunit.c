// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for the DRAM tier's allocator (dram.c): the budget is never
 * exceeded, a page is counted once when a second writer of its index
 * comes after the first inserted it (even with the budget spent), two
 * writers racing with one page of budget left both get it when it is the
 * same page and never overrun the budget when they are two, a discard
 * frees whole pages and zeroes the edges of partial ones,
 * write-zeroes with REQ_NOUNMAP keeps the pages, and the emergency reserve
 * is filled at creation and refilled after use. Included at the end of
 * dram.c, whose helpers are static, when the module is built with
 * EMPBLK_KUNIT=y; it runs when the module loads, on a DRAM tier of its own
 * that belongs to no device.
 */
#include <kunit/test.h>
#include <linux/kthread.h>

#define KD_BUDGET_MB	1
#define KD_PAGES	(KD_BUDGET_MB << (20 - PAGE_SHIFT))

static int empblk_dram_kunit_init(struct kunit *test)
{
	struct empblk_dram *dram = kunit_kzalloc(test, sizeof(*dram),
						 GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, dram);
	empblk_dram_init(dram, KD_BUDGET_MB);
	test->priv = dram;
	return 0;
}

static void empblk_dram_kunit_exit(struct kunit *test)
{
	struct empblk_dram *dram = test->priv;

	if (dram)
		empblk_dram_exit(dram);
}

/* a page of the tier filled with @v, or NULL */
static struct page *kd_fill(struct kunit *test, pgoff_t idx, u8 v)
{
	struct empblk_dram *dram = test->priv;
	struct page *page = empblk_dram_insert(dram, idx, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, page);
	memset_page(page, 0, v, PAGE_SIZE);
	return page;
}

/* bytes [@off, @off + @len) of the page at @idx all equal @v */
static bool kd_bytes_are(struct empblk_dram *dram, pgoff_t idx,
			 unsigned int off, unsigned int len, u8 v)
{
	struct page *page = xa_load(&dram->pages, idx);
	u8 *p;
	bool ok = true;
	unsigned int i;

	if (!page)
		return false;
	p = kmap_local_page(page);
	for (i = off; i < off + len && ok; i++)
		ok = p[i] == v;
	kunmap_local(p);
	return ok;
}

static void empblk_dram_budget_test(struct kunit *test)
{
	struct empblk_dram *dram = test->priv;
	struct page *page;
	pgoff_t i;

	KUNIT_EXPECT_EQ(test, dram->budget_pages, (unsigned long)KD_PAGES);
	for (i = 0; i < KD_PAGES; i++) {
		page = empblk_dram_insert(dram, i * 3, GFP_KERNEL);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, page);
	}
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dram->used_pages),
			(long)KD_PAGES);
	/* the budget is spent: a new index is refused, and nothing counted */
	page = empblk_dram_insert(dram, 1, GFP_KERNEL);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(page), -ENOSPC);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dram->used_pages),
			(long)KD_PAGES);
	KUNIT_EXPECT_NULL(test, xa_load(&dram->pages, 1));
}

static void empblk_dram_same_index_test(struct kunit *test)
{
	struct empblk_dram *dram = test->priv;
	struct page *a, *b;

	a = kd_fill(test, 7, 0xa5);
	/* a second writer of the same index gets the page already there */
	b = empblk_dram_insert(dram, 7, GFP_KERNEL);
	KUNIT_EXPECT_PTR_EQ(test, a, b);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dram->used_pages), 1L);
	KUNIT_EXPECT_TRUE(test, kd_bytes_are(dram, 7, 0, PAGE_SIZE, 0xa5));
	/* even when the racer took the last page of the budget for it */
	dram->budget_pages = 1;
	b = empblk_dram_insert(dram, 7, GFP_KERNEL);
	KUNIT_EXPECT_PTR_EQ(test, a, b);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dram->used_pages), 1L);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(empblk_dram_insert(dram, 8,
								 GFP_KERNEL)),
			-ENOSPC);
}

/*
 * Two writers race, round after round, with one page of budget left: in
 * even rounds for the same missing page, where both must get the one
 * page the winner inserted (neither fails with ENOSPC); in odd rounds for
 * two different pages, where exactly one must win and the budget never be
 * overrun. A helper thread is the second writer; the rounds start in
 * lock-step, so the two inserts overlap on a guest with two CPUs.
 */
#define KD_RACE_ROUNDS	600
#define KD_RACE_IDX	40

struct kd_race {
	struct empblk_dram *dram;
	atomic_t round;		/* the round both writers may start */
	atomic_t done;		/* rounds the helper has finished */
	struct page *got;	/* the helper's result in this round */
};

static pgoff_t kd_race_idx(int round, int writer)
{
	return KD_RACE_IDX + ((round & 1) ? writer : 0);
}

static int kd_racer(void *data)
{
	struct kd_race *r = data;
	int round;

	for (round = 1; round <= KD_RACE_ROUNDS; round++) {
		while (atomic_read_acquire(&r->round) < round) {
			if (kthread_should_stop())
				return 0;
			cond_resched();
		}
		r->got = empblk_dram_insert(r->dram, kd_race_idx(round, 1),
					    GFP_KERNEL);
		atomic_set_release(&r->done, round);
	}
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

static void empblk_dram_race_test(struct kunit *test)
{
	struct empblk_dram *dram = test->priv;
	struct kd_race r = { .dram = dram };
	unsigned int lost = 0, overrun = 0, wrong = 0;
	struct task_struct *helper;
	struct page *mine;
	int round;

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU: the writers would not overlap");
	dram->budget_pages = 1;
	helper = kthread_create(kd_racer, &r, "empblk-kunit-race");
	KUNIT_ASSERT_FALSE(test, IS_ERR(helper));
	/* on another CPU than ours, so that the two inserts overlap */
	kthread_bind(helper, cpumask_any_but(cpu_online_mask,
					     raw_smp_processor_id()));
	wake_up_process(helper);

	for (round = 1; round <= KD_RACE_ROUNDS; round++) {
		atomic_set_release(&r.round, round);
		mine = empblk_dram_insert(dram, kd_race_idx(round, 0),
					  GFP_KERNEL);
		while (atomic_read_acquire(&r.done) < round)
			cond_resched();
		if (atomic_long_read(&dram->used_pages) != 1)
			overrun++;
		if (!(round & 1)) {
			/* the same page: both have it */
			if (IS_ERR(mine) || IS_ERR(r.got))
				lost++;
			else if (mine != r.got)
				wrong++;
		} else if (IS_ERR(mine) == IS_ERR(r.got)) {
			/* two pages: one winner, one ENOSPC */
			wrong++;
		} else if (PTR_ERR_OR_ZERO(IS_ERR(mine) ? mine : r.got) !=
			   -ENOSPC) {
			wrong++;
		}
		/* give the page back for the next round */
		empblk_dram_free_range(dram, 0, (KD_RACE_IDX + 2) *
				       (PAGE_SIZE >> SECTOR_SHIFT), false, true);
	}
	kthread_stop(helper);
	KUNIT_EXPECT_EQ_MSG(test, lost, 0U,
			    "writers of the same page failed with one page of budget left");
	KUNIT_EXPECT_EQ_MSG(test, overrun, 0U, "budget of one page overrun");
	KUNIT_EXPECT_EQ(test, wrong, 0U);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dram->used_pages), 0L);
}

static void empblk_dram_discard_test(struct kunit *test)
{
	struct empblk_dram *dram = test->priv;
	unsigned int half = PAGE_SIZE / 2;
	pgoff_t i;

	for (i = 9; i <= 20; i++)
		kd_fill(test, i, 0x5a);
	KUNIT_ASSERT_EQ(test, atomic_long_read(&dram->used_pages), 12L);

	/* from the middle of page 9 to the middle of page 20 */
	empblk_dram_free_range(dram, (9 * PAGE_SIZE + half) >> SECTOR_SHIFT,
			       (11 * PAGE_SIZE) >> SECTOR_SHIFT, false, true);
	for (i = 10; i < 20; i++)
		KUNIT_EXPECT_NULL(test, xa_load(&dram->pages, i));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dram->used_pages), 2L);
	/* the edge pages stay, zeroed where the range covers them */
	KUNIT_EXPECT_TRUE(test, kd_bytes_are(dram, 9, 0, half, 0x5a));
	KUNIT_EXPECT_TRUE(test, kd_bytes_are(dram, 9, half, half, 0));
	KUNIT_EXPECT_TRUE(test, kd_bytes_are(dram, 20, 0, half, 0));
	KUNIT_EXPECT_TRUE(test, kd_bytes_are(dram, 20, half, half, 0x5a));

	/* a range inside one page frees nothing */
	empblk_dram_free_range(dram, (9 * PAGE_SIZE) >> SECTOR_SHIFT, 1, false,
			       true);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dram->used_pages), 2L);
	KUNIT_EXPECT_TRUE(test, kd_bytes_are(dram, 9, 0, SECTOR_SIZE, 0));
	KUNIT_EXPECT_TRUE(test, kd_bytes_are(dram, 9, SECTOR_SIZE, 8, 0x5a));

	/* the freed budget can be used again */
	dram->budget_pages = 3;
	kd_fill(test, 15, 1);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(empblk_dram_insert(dram, 16,
								 GFP_KERNEL)),
			-ENOSPC);
}

static void empblk_dram_zero_keep_test(struct kunit *test)
{
	struct empblk_dram *dram = test->priv;
	pgoff_t i;

	for (i = 0; i < 4; i++)
		kd_fill(test, i, 0xff);
	/* write-zeroes with REQ_NOUNMAP: zeroed in place, still allocated */
	empblk_dram_free_range(dram, 0, (4 * PAGE_SIZE) >> SECTOR_SHIFT, true,
			       false);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dram->used_pages), 4L);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_TRUE(test, kd_bytes_are(dram, i, 0, PAGE_SIZE, 0));
}

static void empblk_dram_reserve_test(struct kunit *test)
{
	struct empblk_dram *dram = test->priv;
	struct page *a, *b;
	unsigned int n;

	/* filled when the tier is created (best effort, GFP_NOIO) */
	KUNIT_EXPECT_EQ(test, dram->reserve_target, empblk_reserve_pages);
	if (dram->reserve_target < 2)
		kunit_skip(test, "module loaded with reserve_pages < 2");
	if (dram->reserve_nr != dram->reserve_target)
		kunit_skip(test, "no memory to fill the reserve (%u of %u pages)",
			   dram->reserve_nr, dram->reserve_target);

	a = empblk_reserve_get(dram);
	b = empblk_reserve_get(dram);
	KUNIT_EXPECT_NOT_NULL(test, a);
	KUNIT_EXPECT_NOT_NULL(test, b);
	KUNIT_EXPECT_PTR_NE(test, a, b);
	/* taking from it schedules a refill, which tops it up again */
	flush_work(&dram->refill_work);
	n = dram->reserve_nr;
	/* a page given back is kept, above the target until used */
	if (a)
		empblk_reserve_put(dram, a);
	if (b)
		empblk_reserve_put(dram, b);
	if (n != dram->reserve_target)
		kunit_skip(test, "no memory to refill the reserve (%u of %u pages)",
			   n, dram->reserve_target);
	KUNIT_EXPECT_EQ(test, dram->reserve_nr, dram->reserve_target + 2);

	/* a tier without a budget keeps no reserve */
	empblk_dram_exit(dram);
	empblk_dram_init(dram, 0);
	KUNIT_EXPECT_EQ(test, dram->reserve_nr, 0U);
	KUNIT_EXPECT_NULL(test, empblk_reserve_get(dram));
}

static struct kunit_case empblk_dram_cases[] = {
	KUNIT_CASE(empblk_dram_budget_test),
	KUNIT_CASE(empblk_dram_same_index_test),
	KUNIT_CASE(empblk_dram_race_test),
	KUNIT_CASE(empblk_dram_discard_test),
	KUNIT_CASE(empblk_dram_zero_keep_test),
	KUNIT_CASE(empblk_dram_reserve_test),
	{}
};

static struct kunit_suite empblk_dram_suite = {
	.name = "empblk_dram",
	.init = empblk_dram_kunit_init,
	.exit = empblk_dram_kunit_exit,
	.test_cases = empblk_dram_cases,
};

kunit_test_suite(empblk_dram_suite);
