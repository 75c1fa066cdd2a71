/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test cases for the DRAM cache's policy (cache_policy.c), written once and
 * run twice: by the KUnit suite empblk_cache (cache_kunit.c, in the debug
 * kernel) and by the userspace unit tests (tests/unit/test-cache.c, in the
 * normal suite). The includer defines:
 *
 *   CT_T			the type of a case's handle
 *   CT_EXPECT(t, cond)		a check; the case goes on if it fails
 *   CT_ASSERT(t, cond)		a check that ends the case if it fails
 *				(used only in the case functions themselves)
 *   ct_zalloc(t, size)		zeroed memory that lives until the case ends
 *
 * Each case gets a cache of 16 entries of 64 KiB blocks: writeback starts
 * above 12 dirty entries and stops at 8, one block at a time (wb_run 1)
 * except in empblk_cache_wb_run_test. The cache has no pages: the policy
 * never touches data.
 */
#ifndef EMPBLK_CACHE_POLICY_CASES_H
#define EMPBLK_CACHE_POLICY_CASES_H

#define CT_BS	SZ_64K
#define CT_NR	16UL

static struct empblk_cache *ct_cache(CT_T t)
{
	struct empblk_cache *c = ct_zalloc(t, sizeof(*c));
	unsigned int i;

	if (!c)
		return NULL;
	empblk_cache_setup(c, CT_BS, 1);
	spin_lock_init(&c->lock);
	c->entries = ct_zalloc(t, c->nr * sizeof(*c->entries));
	c->hash = ct_zalloc(t, (1UL << c->hash_bits) * sizeof(*c->hash));
	c->wbs = ct_zalloc(t, 2 * c->nr_wbs * sizeof(*c->wbs));
	if (c->nr != CT_NR || c->wb_run != 2 || !c->entries || !c->hash ||
	    !c->wbs)
		return NULL;
	c->wb_run = 1;
	for (i = 0; i < c->nr_wbs; i++) {
		list_add_tail(&c->wbs[i].free, &c->wb_free);
		list_add_tail(&c->wbs[c->nr_wbs + i].free, &c->fill_free);
	}
	empblk_cache_all_free(c);
	return c;
}

/* A read or write of block @b, as empblk_cache_rw() does it, data aside. */
static struct empblk_centry *ct_io(struct empblk_cache *c, unsigned long b,
				   bool is_write, bool whole, bool *full,
				   unsigned int *evictions)
{
	struct empblk_centry *e;
	bool f = false, ev = false;

	spin_lock_bh(&c->lock);
	e = empblk_cache_claim(c, b, is_write, whole, &f, &ev);
	if (e)
		empblk_cache_touch(c, e, is_write);
	spin_unlock_bh(&c->lock);
	if (full)
		*full = f;
	if (evictions && ev)
		(*evictions)++;
	return e;
}

static struct empblk_centry *ct_write(struct empblk_cache *c, unsigned long b)
{
	return ct_io(c, b, true, true, NULL, NULL);
}

static struct empblk_centry *ct_read(struct empblk_cache *c, unsigned long b)
{
	return ct_io(c, b, false, true, NULL, NULL);
}

static struct empblk_centry *ct_find(struct empblk_cache *c, unsigned long b)
{
	struct empblk_centry *e;

	spin_lock_bh(&c->lock);
	e = empblk_cache_find(c, b);
	spin_unlock_bh(&c->lock);
	return e;
}

static struct empblk_wb *ct_pick(struct empblk_cache *c)
{
	struct empblk_wb *wb;

	spin_lock_bh(&c->lock);
	wb = empblk_cache_wb_pick(c);
	spin_unlock_bh(&c->lock);
	return wb;
}

static bool ct_done(struct empblk_cache *c, struct empblk_wb *wb, bool ok)
{
	bool more;

	spin_lock_bh(&c->lock);
	more = empblk_cache_wb_done(c, wb, ok);
	spin_unlock_bh(&c->lock);
	return more;
}

/*
 * Write back the oldest dirty block now, whatever the thresholds, ending
 * it with @ok. Return: the block written back, or -1 if none was picked.
 */
static long ct_writeback(struct empblk_cache *c, bool ok)
{
	unsigned long stop = c->wb_stop, b;
	struct empblk_wb *wb;

	c->wb_stop = 0;
	wb = ct_pick(c);
	c->wb_stop = stop;
	if (!wb)
		return -1;
	b = wb->e[0]->blk;
	ct_done(c, wb, ok);
	return b;
}

static void empblk_cache_sizes_test(CT_T t)
{
	struct empblk_cache *c = ct_zalloc(t, sizeof(*c));

	CT_ASSERT(t, c);
	empblk_cache_setup(c, SZ_4K, 1);
	CT_EXPECT(t, c->nr == 256);
	CT_EXPECT(t, c->ppb == 1);
	CT_EXPECT(t, c->wb_start == 192);
	CT_EXPECT(t, c->wb_stop == 128);
	CT_EXPECT(t, c->nr_wbs == 64);
	/* a writeback takes up to 128 KiB of consecutive blocks */
	CT_EXPECT(t, c->wb_run == 32);
	CT_EXPECT(t, empblk_cache_pio_pages(SZ_4K) == SZ_128K >> PAGE_SHIFT);
	CT_EXPECT(t, (1UL << c->hash_bits) >= c->nr);

	memset(c, 0, sizeof(*c));
	empblk_cache_setup(c, SZ_2M, 16);
	CT_EXPECT(t, c->nr == 8);
	CT_EXPECT(t, c->ppb == SZ_2M >> PAGE_SHIFT);
	CT_EXPECT(t, c->wb_start == 6);
	CT_EXPECT(t, c->wb_stop == 4);
	/* 8 MiB of writeback in flight at most: 4 slots of 2 MiB */
	CT_EXPECT(t, c->nr_wbs == 4);
	CT_EXPECT(t, c->hash_bits == 4);
	/* blocks of 128 KiB and more go one by one */
	CT_EXPECT(t, c->wb_run == 1);
	CT_EXPECT(t, empblk_cache_pio_pages(SZ_2M) == SZ_2M >> PAGE_SHIFT);
	CT_EXPECT(t, empblk_cache_wb_run(SZ_128K) == 1);
}

static void empblk_cache_insert_test(CT_T t)
{
	struct empblk_cache *c = ct_cache(t);
	struct empblk_centry *e;
	bool full = true;

	CT_ASSERT(t, c);
	/* a read miss and a partial write go to the donors, not the cache */
	CT_EXPECT(t, !ct_io(c, 5, false, true, &full, NULL));
	CT_EXPECT(t, !full);
	CT_EXPECT(t, !ct_io(c, 5, true, false, &full, NULL));
	CT_EXPECT(t, !full);
	CT_EXPECT(t, c->nr_free == CT_NR);
	CT_EXPECT(t, !ct_find(c, 5));

	/* a whole-block write is taken in, dirty */
	e = ct_write(c, 5);
	CT_ASSERT(t, e);
	CT_EXPECT(t, e->blk == 5);
	CT_EXPECT(t, e->state == (EMPBLK_CE_VALID | EMPBLK_CE_DIRTY));
	CT_EXPECT(t, e->gen == 1);
	CT_EXPECT(t, c->nr_free == CT_NR - 1);
	CT_EXPECT(t, c->nr_dirty == 1);

	/* then reads and partial writes of it hit the same entry */
	CT_EXPECT(t, ct_read(c, 5) == e);
	/* a read leaves a dirty entry dirty, never on the evictable list */
	CT_EXPECT(t, list_first_entry(&c->dirty, struct empblk_centry, list) == e);
	CT_EXPECT(t, list_empty(&c->clean));
	CT_EXPECT(t, ct_io(c, 5, true, false, NULL, NULL) == e);
	CT_EXPECT(t, e->gen == 2);
	CT_EXPECT(t, c->nr_dirty == 1);
	CT_EXPECT(t, ct_find(c, 5) == e);
	CT_EXPECT(t, !ct_find(c, 5 + (1UL << c->hash_bits)));
}

static void empblk_cache_full_of_dirty_test(CT_T t)
{
	struct empblk_cache *c = ct_cache(t);
	unsigned int evictions = 0;
	bool full = false;
	unsigned long b;

	CT_ASSERT(t, c);
	for (b = 0; b < CT_NR; b++)
		CT_EXPECT(t, ct_write(c, b * 7));
	CT_EXPECT(t, c->nr_free == 0);
	CT_EXPECT(t, c->nr_dirty == CT_NR);

	/* no free or clean entry: the write goes around and kicks writeback */
	CT_EXPECT(t, !ct_io(c, 1000, true, true, &full, &evictions));
	CT_EXPECT(t, full);
	/* and no dirty block was evicted for it */
	CT_EXPECT(t, evictions == 0);
	for (b = 0; b < CT_NR; b++)
		CT_EXPECT(t, ct_find(c, b * 7));
}

static void empblk_cache_writeback_order_test(CT_T t)
{
	struct empblk_cache *c = ct_cache(t);
	struct empblk_wb *wbs[16];
	unsigned int i, n;
	unsigned long b;

	CT_ASSERT(t, c);
	for (b = 0; b < CT_NR; b++)
		ct_write(c, 100 - b);
	/* oldest dirty first, from 16 dirty down to wb_stop (8) */
	for (n = 0; n < CT_NR; n++) {
		wbs[n] = ct_pick(c);
		if (!wbs[n])
			break;
	}
	CT_ASSERT(t, n == CT_NR - c->wb_stop);
	for (i = 0; i < n; i++) {
		CT_EXPECT(t, wbs[i]->e[0]->blk == 100 - i);
		CT_EXPECT(t, wbs[i]->e[0]->state & EMPBLK_CE_WB);
		CT_EXPECT(t, list_empty(&wbs[i]->e[0]->list));
	}
	CT_EXPECT(t, c->nr_wb == n);
	CT_EXPECT(t, c->nr_dirty == c->wb_stop);

	/* done, each is clean; no more writeback is due at wb_stop */
	for (i = 0; i < n; i++)
		CT_EXPECT(t, !ct_done(c, wbs[i], true));
	CT_EXPECT(t, c->nr_wb == 0);
	CT_EXPECT(t, c->nr_dirty == c->wb_stop);
	for (i = 0; i < n; i++) {
		struct empblk_centry *e = ct_find(c, 100 - i);

		CT_ASSERT(t, e);
		CT_EXPECT(t, e->state == EMPBLK_CE_VALID);
	}
}

static void empblk_cache_writeback_slots_test(CT_T t)
{
	struct empblk_cache *c = ct_cache(t);
	struct empblk_wb *wb;
	unsigned long b;

	CT_ASSERT(t, c);
	for (b = 0; b < CT_NR; b++)
		ct_write(c, b);
	/* no slot free: nothing starts, nothing leaves the dirty list */
	c->nr_wbs = 1;
	INIT_LIST_HEAD(&c->wb_free);
	list_add(&c->wbs[0].free, &c->wb_free);
	wb = ct_pick(c);
	CT_ASSERT(t, wb);
	CT_EXPECT(t, !ct_pick(c));
	CT_EXPECT(t, c->nr_dirty == CT_NR - 1);
	/* a success with more than wb_stop dirty asks for more writeback */
	CT_EXPECT(t, ct_done(c, wb, true));
	/* a failure does not: the next write kicks it again */
	wb = ct_pick(c);
	CT_ASSERT(t, wb);
	CT_EXPECT(t, !ct_done(c, wb, false));
	/* nor does a success while a discard has paused writeback */
	wb = ct_pick(c);
	CT_ASSERT(t, wb);
	c->wb_paused = 1;
	CT_EXPECT(t, !ct_done(c, wb, true));
}

static void empblk_cache_evict_lru_clean_test(CT_T t)
{
	struct empblk_cache *c = ct_cache(t);
	unsigned int evictions = 0;
	bool full = false;
	unsigned long b;

	CT_ASSERT(t, c);
	/* blocks 0..7 written back (clean, in that order), 8..15 dirty */
	for (b = 0; b < CT_NR; b++)
		ct_write(c, b);
	for (b = 0; b < CT_NR / 2; b++)
		CT_EXPECT(t, ct_writeback(c, true) == (long)b);
	CT_ASSERT(t, c->nr_dirty == CT_NR / 2);

	/* a read makes block 0 the most recently used clean one */
	CT_EXPECT(t, ct_read(c, 0));
	/* a new block takes the least recently used clean entry: block 1 */
	CT_EXPECT(t, ct_io(c, 200, true, true, NULL, &evictions));
	CT_EXPECT(t, !ct_find(c, 1));
	CT_EXPECT(t, ct_find(c, 0));
	CT_EXPECT(t, evictions == 1);

	/* six more take blocks 2..7, the seventh takes block 0 */
	for (b = 201; b < 208; b++)
		CT_EXPECT(t, ct_io(c, b, true, true, NULL, &evictions));
	for (b = 0; b < CT_NR / 2; b++)
		CT_EXPECT(t, !ct_find(c, b));
	CT_EXPECT(t, evictions == 8);
	/* only dirty entries are left: the next block goes around */
	CT_EXPECT(t, !ct_io(c, 300, true, true, &full, &evictions));
	CT_EXPECT(t, full);
	for (b = CT_NR / 2; b < CT_NR; b++)
		CT_EXPECT(t, ct_find(c, b));
	CT_EXPECT(t, evictions == 8);
}

static void empblk_cache_wb_overtaken_test(CT_T t)
{
	struct empblk_cache *c = ct_cache(t);
	struct empblk_centry *e, *first;
	struct empblk_wb *wb;

	CT_ASSERT(t, c);
	e = ct_write(c, 3);
	CT_ASSERT(t, e);
	CT_ASSERT(t, ct_write(c, 4));
	c->wb_stop = 0;
	wb = ct_pick(c);
	CT_ASSERT(t, wb && wb->nr == 1 && wb->e[0] == e);
	CT_EXPECT(t, wb->gen[0] == 1);
	CT_EXPECT(t, c->nr_dirty == 1);

	/* read and written again while its writeback is in flight: the
	 * entry stays on no list, neither clean nor dirty
	 */
	CT_EXPECT(t, ct_read(c, 3) == e);
	CT_EXPECT(t, list_empty(&e->list));
	CT_EXPECT(t, ct_write(c, 3) == e);
	CT_EXPECT(t, e->gen == 2);
	CT_EXPECT(t, list_empty(&e->list));
	CT_EXPECT(t, c->nr_dirty == 1);

	/* the older data reached the donors: the block is still dirty, now
	 * the newest on the dirty list
	 */
	ct_done(c, wb, true);
	CT_EXPECT(t, e->state == (EMPBLK_CE_VALID | EMPBLK_CE_DIRTY));
	CT_EXPECT(t, c->nr_dirty == 2);
	first = list_first_entry(&c->dirty, struct empblk_centry, list);
	CT_EXPECT(t, first->blk == 4);
	CT_EXPECT(t, list_last_entry(&c->dirty, struct empblk_centry, list) == e);

	/* the next writebacks carry the new data and clean it */
	CT_EXPECT(t, ct_writeback(c, true) == 4);
	CT_EXPECT(t, ct_writeback(c, true) == 3);
	CT_EXPECT(t, e->state == EMPBLK_CE_VALID);
	CT_EXPECT(t, c->nr_dirty == 0);
}

static void empblk_cache_wb_failed_test(CT_T t)
{
	struct empblk_cache *c = ct_cache(t);
	struct empblk_centry *e;
	bool full = false;
	unsigned long b;

	CT_ASSERT(t, c);
	e = ct_write(c, 9);
	CT_ASSERT(t, e);
	CT_ASSERT(t, ct_write(c, 10));
	CT_EXPECT(t, ct_writeback(c, false) == 9);
	/* a failed writeback leaves the only copy dirty, retried last */
	CT_EXPECT(t, e->state == (EMPBLK_CE_VALID | EMPBLK_CE_DIRTY));
	CT_EXPECT(t, c->nr_dirty == 2);
	CT_EXPECT(t, list_last_entry(&c->dirty, struct empblk_centry, list) == e);
	/* and never evicted, however full the cache gets */
	for (b = 0; b < CT_NR - 2; b++)
		CT_EXPECT(t, ct_write(c, 50 + b));
	CT_EXPECT(t, !ct_io(c, 99, true, true, &full, NULL));
	CT_EXPECT(t, full);
	CT_EXPECT(t, ct_find(c, 9) == e);
	/* once the donors answer again it is written back in its turn */
	CT_EXPECT(t, ct_writeback(c, true) == 10);
	CT_EXPECT(t, ct_writeback(c, true) == 9);
	CT_EXPECT(t, e->state == EMPBLK_CE_VALID);
	CT_EXPECT(t, c->nr_wb == 0);
}

/*
 * A writeback takes the run of consecutive dirty blocks around the oldest,
 * within its aligned window, in block order, each with its generation;
 * blocks clean, absent or already being written back end the run.
 */
static void empblk_cache_wb_run_test(CT_T t)
{
	struct empblk_cache *c = ct_cache(t);
	struct empblk_wb *wb, *wb2;
	struct empblk_centry *e;
	unsigned int i;

	CT_ASSERT(t, c);
	c->wb_run = 8;
	c->wb_stop = 0;
	/* oldest is 10; 8..12 dirty, 13 absent, 14 and 15 dirty, 7 dirty */
	CT_ASSERT(t, ct_write(c, 10));
	CT_ASSERT(t, ct_write(c, 9));
	CT_ASSERT(t, ct_write(c, 12));
	CT_ASSERT(t, ct_write(c, 8));
	CT_ASSERT(t, ct_write(c, 11));
	CT_ASSERT(t, ct_write(c, 14));
	CT_ASSERT(t, ct_write(c, 15));
	CT_ASSERT(t, ct_write(c, 7));
	CT_ASSERT(t, ct_write(c, 11));	/* 11 is at generation 2 */
	CT_ASSERT(t, c->nr_dirty == 8);

	/* window [8, 16): the run is 8..12, not 7 (another window), not 14 */
	wb = ct_pick(c);
	CT_ASSERT(t, wb);
	CT_ASSERT(t, wb->nr == 5);
	for (i = 0; i < wb->nr; i++) {
		CT_EXPECT(t, wb->e[i]->blk == 8 + i);
		CT_EXPECT(t, wb->e[i]->state & EMPBLK_CE_WB);
		CT_EXPECT(t, list_empty(&wb->e[i]->list));
		CT_EXPECT(t, wb->gen[i] == (8 + i == 11 ? 2 : 1));
	}
	CT_EXPECT(t, c->nr_dirty == 3);
	CT_EXPECT(t, c->nr_wb == 1);

	/* 11 written again meanwhile; the next pick: oldest is 14, with 15 */
	CT_EXPECT(t, ct_write(c, 11));
	wb2 = ct_pick(c);
	CT_ASSERT(t, wb2);
	CT_EXPECT(t, wb2->nr == 2 && wb2->e[0]->blk == 14 &&
		  wb2->e[1]->blk == 15);
	CT_EXPECT(t, c->nr_dirty == 1);

	/* done: all clean but 11, which is dirty again and the newest */
	ct_done(c, wb, true);
	for (i = 8; i <= 12; i++) {
		e = ct_find(c, i);
		CT_ASSERT(t, e);
		CT_EXPECT(t, e->state == (i == 11 ?
			  EMPBLK_CE_VALID | EMPBLK_CE_DIRTY : EMPBLK_CE_VALID));
	}
	CT_EXPECT(t, list_last_entry(&c->dirty, struct empblk_centry,
				     list)->blk == 11);
	CT_EXPECT(t, c->nr_dirty == 2);

	/* a dirty block under writeback never joins a run: 7 goes alone */
	CT_EXPECT(t, ct_write(c, 14));
	wb = ct_pick(c);
	CT_ASSERT(t, wb);
	CT_EXPECT(t, wb->nr == 1 && wb->e[0]->blk == 7);

	/* a failed run leaves every block of it dirty */
	ct_done(c, wb2, false);
	CT_EXPECT(t, ct_find(c, 15)->state ==
		  (EMPBLK_CE_VALID | EMPBLK_CE_DIRTY));
	CT_EXPECT(t, c->nr_dirty == 3);
	ct_done(c, wb, true);
	CT_EXPECT(t, c->nr_wb == 0);
	/* 11 then the run 14..15 */
	CT_EXPECT(t, ct_writeback(c, true) == 11);
	wb = ct_pick(c);
	CT_ASSERT(t, wb);
	CT_EXPECT(t, wb->nr == 2 && wb->e[0]->blk == 14);
	ct_done(c, wb, true);
	CT_EXPECT(t, c->nr_dirty == 0);
}

static void empblk_cache_discard_test(CT_T t)
{
	struct empblk_cache *c = ct_cache(t);
	unsigned long b, b0, b1;

	CT_ASSERT(t, c);
	/* only blocks covered whole count */
	empblk_cache_covered(c, CT_BS + 1, 5 * CT_BS, &b0, &b1);
	CT_EXPECT(t, b0 == 2 && b1 == 5);
	empblk_cache_covered(c, CT_BS, 2 * CT_BS, &b0, &b1);
	CT_EXPECT(t, b0 == 1 && b1 == 2);
	empblk_cache_covered(c, CT_BS + 1, 2 * CT_BS - 1, &b0, &b1);
	CT_EXPECT(t, b1 <= b0);

	for (b = 0; b < 6; b++)
		ct_write(c, b);
	CT_EXPECT(t, ct_writeback(c, true) == 0);
	CT_EXPECT(t, ct_writeback(c, true) == 1);
	CT_ASSERT(t, c->nr_dirty == 4);

	/* dirty or clean, a dropped block is gone and its entry free */
	spin_lock_bh(&c->lock);
	empblk_cache_drop(c, empblk_cache_find(c, 1));
	empblk_cache_drop(c, empblk_cache_find(c, 2));
	empblk_cache_drop(c, empblk_cache_find(c, 3));
	spin_unlock_bh(&c->lock);
	CT_EXPECT(t, ct_find(c, 0));
	CT_EXPECT(t, !ct_find(c, 1));
	CT_EXPECT(t, !ct_find(c, 2));
	CT_EXPECT(t, !ct_find(c, 3));
	CT_EXPECT(t, ct_find(c, 4));
	CT_EXPECT(t, c->nr_dirty == 2);
	CT_EXPECT(t, c->nr_free == CT_NR - 3);
	/* writeback takes the dirty ones left, and only those */
	CT_EXPECT(t, ct_writeback(c, true) == 4);
	CT_EXPECT(t, ct_writeback(c, true) == 5);
	CT_EXPECT(t, ct_writeback(c, true) == -1);
	/* a dropped block written again is a new dirty entry */
	CT_EXPECT(t, ct_write(c, 2));
	CT_EXPECT(t, c->nr_dirty == 1);
}

static struct empblk_wb *ct_fill(struct empblk_cache *c, unsigned long b)
{
	struct empblk_wb *fill;
	bool ev = false;

	spin_lock_bh(&c->lock);
	fill = empblk_cache_fill_claim(c, b, &ev);
	spin_unlock_bh(&c->lock);
	return fill;
}

static bool ct_fill_done(struct empblk_cache *c, struct empblk_wb *fill,
			 bool ok)
{
	bool cached;

	spin_lock_bh(&c->lock);
	cached = empblk_cache_fill_done(c, fill, ok);
	spin_unlock_bh(&c->lock);
	return cached;
}

/* a read miss fetches the block; reads hit once the fetch is done */
static void empblk_cache_fill_test(CT_T t)
{
	struct empblk_cache *c = ct_cache(t);
	struct empblk_wb *fill;

	CT_ASSERT(t, c);
	fill = ct_fill(c, 5);
	CT_ASSERT(t, fill);
	CT_EXPECT(t, fill->e[0]->blk == 5 && fill->e[0]->state == EMPBLK_CE_FILL);
	CT_EXPECT(t, c->nr_fill == 1 && c->nr_free == CT_NR - 1);
	/* while it is filled: reads miss, no second fill of it */
	CT_EXPECT(t, !ct_read(c, 5));
	CT_EXPECT(t, !ct_fill(c, 5));
	CT_EXPECT(t, ct_fill_done(c, fill, true));
	CT_EXPECT(t, c->nr_fill == 0);
	/* now a clean hit, and no fill for a cached block */
	CT_EXPECT(t, ct_read(c, 5) == ct_find(c, 5));
	CT_EXPECT(t, ct_find(c, 5)->state == EMPBLK_CE_VALID);
	CT_EXPECT(t, !ct_fill(c, 5));
	/* a failed fill leaves nothing */
	fill = ct_fill(c, 6);
	CT_ASSERT(t, fill);
	CT_EXPECT(t, !ct_fill_done(c, fill, false));
	CT_EXPECT(t, !ct_find(c, 6) && c->nr_free == CT_NR - 1);
}

/* a write while a block is filled goes around it, and the fill is dropped */
static void empblk_cache_fill_stale_test(CT_T t)
{
	struct empblk_cache *c = ct_cache(t);
	struct empblk_wb *fill;
	bool full = false;

	CT_ASSERT(t, c);
	fill = ct_fill(c, 7);
	CT_ASSERT(t, fill);
	/* a whole-block write does not take the entry being filled */
	CT_EXPECT(t, !ct_io(c, 7, true, true, &full, NULL));
	CT_EXPECT(t, !full);
	CT_EXPECT(t, fill->e[0]->state & EMPBLK_CE_STALE);
	CT_EXPECT(t, !ct_fill_done(c, fill, true));
	CT_EXPECT(t, !ct_find(c, 7));
	CT_EXPECT(t, c->nr_free == CT_NR && c->nr_dirty == 0);
	/* the next whole-block write is cached as usual */
	CT_EXPECT(t, ct_write(c, 7));
}

/* fills are bounded by their slots and wait while writeback is paused */
static void empblk_cache_fill_limits_test(CT_T t)
{
	struct empblk_cache *c = ct_cache(t);
	unsigned int i;

	CT_ASSERT(t, c);
	c->wb_paused = 1;
	CT_EXPECT(t, !ct_fill(c, 1));
	c->wb_paused = 0;
	/* every entry filling: no entry left for another */
	for (i = 0; i < CT_NR; i++)
		CT_EXPECT(t, ct_fill(c, 100 + i));
	CT_EXPECT(t, !ct_fill(c, 99));
	CT_EXPECT(t, c->nr_fill == CT_NR);
	/* two fill slots: two fills */
	c = ct_cache(t);
	CT_ASSERT(t, c);
	INIT_LIST_HEAD(&c->fill_free);
	list_add(&c->wbs[c->nr_wbs].free, &c->fill_free);
	list_add(&c->wbs[c->nr_wbs + 1].free, &c->fill_free);
	CT_EXPECT(t, ct_fill(c, 1) && ct_fill(c, 2));
	CT_EXPECT(t, !ct_fill(c, 3));
	/* fills never evict dirty blocks: with all others dirty, none */
	c = ct_cache(t);
	CT_ASSERT(t, c);
	for (i = 0; i < CT_NR; i++)
		CT_EXPECT(t, ct_write(c, i));
	CT_EXPECT(t, !ct_fill(c, 99));
}

#endif /* EMPBLK_CACHE_POLICY_CASES_H */
