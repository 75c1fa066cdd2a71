// SPDX-License-Identifier: GPL-2.0
/*
 * The DRAM cache's policy (see cache.c for why write-back is safe for swap
 * and how the data moves). Whole-block writes are taken in; reads and
 * partial writes are served only if the block is cached. A new block takes
 * a free entry, else the least recently used clean one; dirty entries are
 * never evicted, so a cache full of them sends writes around it. Writeback
 * takes the oldest dirty entry first, with the dirty blocks next to it in
 * one run, from more than three quarters of the entries dirty down to one
 * half. An entry whose writeback failed, or was
 * written again while it ran, stays dirty: it may be the only copy.
 *
 * Every function here runs with empblk_cache.lock held and never sleeps or
 * allocates; the same file is built in userspace by tests/unit/.
 */
#include <linux/hash.h>
#include <linux/log2.h>

#include "cache_policy.h"

static struct hlist_head *empblk_cache_bucket(struct empblk_cache *c,
					      unsigned long blk)
{
	return &c->hash[hash_long(blk, c->hash_bits)];
}

/**
 * empblk_cache_setup() - size a cache and set its thresholds
 * @c: zeroed cache
 * @block_size: the caching unit, a power of two of at least a page
 * @mb: cache size in MiB
 *
 * Sets the entry count, the hash size, the writeback thresholds, the
 * longest run one writeback takes and the number of writeback slots, and
 * makes the lists empty. The caller then allocates the entries, the hash
 * and the slots, initialises the lock, the work and the wait queue, and
 * calls empblk_cache_all_free().
 */
void empblk_cache_setup(struct empblk_cache *c, u32 block_size, u64 mb)
{
	c->blk_shift = ilog2(block_size);
	c->ppb = block_size >> PAGE_SHIFT;
	c->nr = (mb << 20) >> c->blk_shift;
	c->hash_bits = max(ilog2(roundup_pow_of_two(c->nr)), 4);
	INIT_LIST_HEAD(&c->free);
	INIT_LIST_HEAD(&c->clean);
	INIT_LIST_HEAD(&c->dirty);
	INIT_LIST_HEAD(&c->wb_free);
	INIT_LIST_HEAD(&c->fill_free);
	INIT_LIST_HEAD(&c->fill_queue);
	c->wb_start = c->nr - c->nr / 4;
	c->wb_stop = c->nr / 2;
	c->wb_run = empblk_cache_wb_run(block_size);
	c->nr_wbs = empblk_cache_nr_wb(block_size);
}

/**
 * empblk_cache_all_free() - put every entry on the free list
 * @c: cache after empblk_cache_setup(), its entries and hash allocated
 *	and zeroed
 */
void empblk_cache_all_free(struct empblk_cache *c)
{
	unsigned long i;

	for (i = 0; i < c->nr; i++) {
		INIT_HLIST_NODE(&c->entries[i].hash);
		list_add_tail(&c->entries[i].list, &c->free);
	}
	c->nr_free = c->nr;
}

/**
 * empblk_cache_find() - the entry holding a block
 * @c: cache, locked
 * @blk: device block
 *
 * Return: the entry, or NULL if the block is not cached.
 */
struct empblk_centry *empblk_cache_find(struct empblk_cache *c,
					unsigned long blk)
{
	struct empblk_centry *e;

	lockdep_assert_held(&c->lock);
	hlist_for_each_entry(e, empblk_cache_bucket(c, blk), hash)
		if (e->blk == blk)
			return e;
	return NULL;
}

/* A free entry, or the least recently used clean one, unhashed. */
static struct empblk_centry *empblk_cache_get_entry(struct empblk_cache *c,
						    bool *evicted)
{
	struct empblk_centry *e;

	e = list_first_entry_or_null(&c->free, struct empblk_centry, list);
	if (e) {
		c->nr_free--;
	} else {
		e = list_first_entry_or_null(&c->clean, struct empblk_centry,
					     list);
		if (!e)
			return NULL;
		hlist_del_init(&e->hash);
		*evicted = true;
	}
	list_del_init(&e->list);
	e->state = 0;
	return e;
}

/**
 * empblk_cache_claim() - the entry a read or write of a block uses
 * @c: cache, locked
 * @b: device block
 * @is_write: the request writes
 * @whole: it covers the whole block
 * @full: set when a whole-block write found no free or clean entry
 * @evicted: set when a clean block was evicted to make room
 *
 * A block the cache holds is always served from it. A whole-block write
 * that misses takes a free or the least recently used clean entry, marked
 * valid and hashed (the caller then copies the data in and calls
 * empblk_cache_touch()). Reads and partial writes never insert (a read
 * miss may start a fill: empblk_cache_fill_claim()). A block being filled
 * is not served: a read goes below, and a write goes below and makes the
 * fill stale, so that it is dropped when it ends.
 *
 * Return: the entry, or NULL: the request goes to the tier below.
 */
struct empblk_centry *empblk_cache_claim(struct empblk_cache *c,
					 unsigned long b, bool is_write,
					 bool whole, bool *full, bool *evicted)
{
	struct empblk_centry *e;

	lockdep_assert_held(&c->lock);
	e = empblk_cache_find(c, b);
	if (e && (e->state & EMPBLK_CE_FILL)) {
		if (is_write)
			e->state |= EMPBLK_CE_STALE;
		return NULL;
	}
	if (e || !is_write || !whole)
		return e;
	e = empblk_cache_get_entry(c, evicted);
	if (!e) {
		*full = true;
		return NULL;
	}
	e->blk = b;
	e->gen = 0;
	e->state = EMPBLK_CE_VALID;
	hlist_add_head(&e->hash, empblk_cache_bucket(c, b));
	return e;
}

/**
 * empblk_cache_touch() - account a hit the caller has served
 * @c: cache, locked
 * @e: the entry read or written
 * @is_write: it was written
 *
 * A write bumps the entry's generation and makes it dirty (the newest on
 * the dirty list, unless a writeback of it is in flight: its completion
 * requeues it); a read of a clean entry makes it the most recently used.
 */
void empblk_cache_touch(struct empblk_cache *c, struct empblk_centry *e,
			bool is_write)
{
	lockdep_assert_held(&c->lock);
	if (!is_write) {
		if (!(e->state & (EMPBLK_CE_DIRTY | EMPBLK_CE_WB)))
			list_move_tail(&e->list, &c->clean);
		return;
	}
	e->gen++;
	if (e->state & EMPBLK_CE_DIRTY)
		return;
	e->state |= EMPBLK_CE_DIRTY;
	if (!(e->state & EMPBLK_CE_WB)) {
		list_move_tail(&e->list, &c->dirty);
		c->nr_dirty++;
	}
}

/* Block @b is cached, dirty and not being written back: it may join a run. */
static struct empblk_centry *empblk_cache_wb_joins(struct empblk_cache *c,
						   unsigned long b)
{
	struct empblk_centry *e = empblk_cache_find(c, b);

	if (e && (e->state & (EMPBLK_CE_DIRTY | EMPBLK_CE_WB)) ==
		 EMPBLK_CE_DIRTY)
		return e;
	return NULL;
}

/* Take dirty entry @e off its list into @wb, after those it has. */
static void empblk_cache_wb_take(struct empblk_cache *c, struct empblk_wb *wb,
				 struct empblk_centry *e)
{
	list_del_init(&e->list);
	c->nr_dirty--;
	e->state |= EMPBLK_CE_WB;
	wb->gen[wb->nr] = e->gen;
	wb->e[wb->nr++] = e;
}

/**
 * empblk_cache_wb_pick() - start the next writeback
 * @c: cache, locked
 *
 * While more than @c->wb_stop entries are dirty and a slot is free, the
 * oldest dirty entry is taken off the lists and given a slot, with the
 * dirty blocks around it that form one run of consecutive blocks with it
 * inside its aligned window of @c->wb_run blocks (swap writes its slots
 * in clusters, so a run is one page I/O where there would be many), each
 * with its generation recorded. Pausing (@c->wb_paused) is the caller's
 * check.
 *
 * Return: the slot, or NULL when there is nothing to write back now.
 */
struct empblk_wb *empblk_cache_wb_pick(struct empblk_cache *c)
{
	struct empblk_centry *e;
	struct empblk_wb *wb;
	unsigned long b, lo, hi, w;

	lockdep_assert_held(&c->lock);
	if (c->nr_dirty <= c->wb_stop || list_empty(&c->wb_free))
		return NULL;
	e = list_first_entry(&c->dirty, struct empblk_centry, list);
	wb = list_first_entry(&c->wb_free, struct empblk_wb, free);
	list_del_init(&wb->free);
	c->nr_wb++;
	wb->nr = 0;

	/* the run around e within its window: [lo, hi) */
	w = e->blk - e->blk % c->wb_run;
	for (lo = e->blk; lo > w && empblk_cache_wb_joins(c, lo - 1); lo--)
		;
	for (hi = e->blk + 1; hi < w + c->wb_run &&
	     empblk_cache_wb_joins(c, hi); hi++)
		;
	for (b = lo; b < hi; b++)
		empblk_cache_wb_take(c, wb, b == e->blk ? e :
				     empblk_cache_find(c, b));
	return wb;
}

/**
 * empblk_cache_wb_done() - end a writeback
 * @c: cache, locked
 * @wb: the slot empblk_cache_wb_pick() gave
 * @ok: the blocks reached the tier below
 *
 * Each entry becomes clean (the most recently used) only if the writeback
 * succeeded and nothing was written into it meanwhile; otherwise it goes
 * back on the dirty list, the newest. The slot is freed.
 *
 * Return: true if more writeback is due (it succeeded, writeback is not
 * paused and more than @c->wb_stop entries are dirty). After a failure
 * the next write kicks writeback again.
 */
bool empblk_cache_wb_done(struct empblk_cache *c, struct empblk_wb *wb,
			  bool ok)
{
	unsigned int i;

	lockdep_assert_held(&c->lock);
	for (i = 0; i < wb->nr; i++) {
		struct empblk_centry *e = wb->e[i];

		e->state &= ~EMPBLK_CE_WB;
		if (ok && e->gen == wb->gen[i]) {
			e->state &= ~EMPBLK_CE_DIRTY;
			list_add_tail(&e->list, &c->clean);
		} else {
			list_add_tail(&e->list, &c->dirty);
			c->nr_dirty++;
		}
		wb->e[i] = NULL;
	}
	wb->nr = 0;
	list_add(&wb->free, &c->wb_free);
	c->nr_wb--;
	return ok && !c->wb_paused && c->nr_dirty > c->wb_stop;
}

/**
 * empblk_cache_covered() - the blocks a byte range covers whole
 * @c: cache
 * @start: first byte
 * @end: first byte after the range
 * @b0: first block covered whole
 * @b1: first block after them; no block is covered when @b1 <= @b0
 */
void empblk_cache_covered(struct empblk_cache *c, u64 start, u64 end,
			  unsigned long *b0, unsigned long *b1)
{
	u64 bsz = 1ULL << c->blk_shift;

	*b0 = (start + bsz - 1) >> c->blk_shift;
	*b1 = end >> c->blk_shift;
}

/**
 * empblk_cache_drop() - forget a cached block, dirty or not
 * @c: cache, locked
 * @e: a valid entry with no writeback in flight
 *
 * For a discard: the block's data is gone, so is the entry's.
 */
void empblk_cache_drop(struct empblk_cache *c, struct empblk_centry *e)
{
	lockdep_assert_held(&c->lock);
	if ((e->state & EMPBLK_CE_DIRTY) && !list_empty(&e->list))
		c->nr_dirty--;
	hlist_del_init(&e->hash);
	list_move(&e->list, &c->free);
	c->nr_free++;
	e->state = 0;
}

/**
 * empblk_cache_fill_claim() - start fetching a block a read missed
 * @c: cache, locked
 * @b: device block, not in the cache
 * @evicted: set when a clean block was evicted to make room
 *
 * Takes a fill slot and a free or the least recently used clean entry,
 * hashed in the fill state: until empblk_cache_fill_done(), reads of the
 * block miss and writes make the fill stale. The read that missed does
 * not wait for it. Nothing starts while writeback is paused, while no
 * slot or entry is free, or when the block is being filled already.
 *
 * Return: the fill slot, its entry set; or NULL.
 */
struct empblk_wb *empblk_cache_fill_claim(struct empblk_cache *c,
					  unsigned long b, bool *evicted)
{
	struct empblk_centry *e;
	struct empblk_wb *fill;

	lockdep_assert_held(&c->lock);
	if (c->wb_paused || list_empty(&c->fill_free) ||
	    empblk_cache_find(c, b))
		return NULL;
	e = empblk_cache_get_entry(c, evicted);
	if (!e)
		return NULL;
	e->blk = b;
	e->gen = 0;
	e->state = EMPBLK_CE_FILL;
	hlist_add_head(&e->hash, empblk_cache_bucket(c, b));
	fill = list_first_entry(&c->fill_free, struct empblk_wb, free);
	list_del_init(&fill->free);
	c->nr_fill++;
	fill->nr = 1;
	fill->e[0] = e;
	return fill;
}

/**
 * empblk_cache_fill_done() - end a fill
 * @c: cache, locked
 * @fill: the slot empblk_cache_fill_claim() gave
 * @ok: the block was read whole from the tier below
 *
 * The entry becomes valid and clean (the most recently used) if the read
 * succeeded and no write went around it meanwhile; otherwise it is
 * dropped. The slot is freed.
 *
 * Return: whether the block is now cached.
 */
bool empblk_cache_fill_done(struct empblk_cache *c, struct empblk_wb *fill,
			    bool ok)
{
	struct empblk_centry *e = fill->e[0];

	lockdep_assert_held(&c->lock);
	ok = ok && !(e->state & EMPBLK_CE_STALE);
	if (ok) {
		e->state = EMPBLK_CE_VALID;
		list_add_tail(&e->list, &c->clean);
	} else {
		hlist_del_init(&e->hash);
		list_add(&e->list, &c->free);
		c->nr_free++;
		e->state = 0;
	}
	fill->e[0] = NULL;
	fill->nr = 0;
	list_add(&fill->free, &c->fill_free);
	c->nr_fill--;
	return ok;
}
