/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The DRAM cache's policy: which entry holds which block, which entries are
 * evicted and which are written back. No data, no memory allocation and no
 * lock of its own: the caller holds empblk_cache.lock. Pure enough to be
 * built in userspace too (tests/unit/test-cache.c); cache.c adds the pages,
 * the lock, the statistics and the writeback through the tier below.
 */
#ifndef EMPBLK_CACHE_POLICY_H
#define EMPBLK_CACHE_POLICY_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <asm/page.h>

struct empblk_pio;
struct page;

/* DRAM cache entry state bits (struct empblk_centry.state) */
#define EMPBLK_CE_VALID		BIT(0)	/* hashed: holds block @blk */
#define EMPBLK_CE_DIRTY		BIT(1)	/* newer than the tier below's copy */
#define EMPBLK_CE_WB		BIT(2)	/* a writeback of it is in flight */
#define EMPBLK_CE_FILL		BIT(3)	/* hashed, being read from below */
#define EMPBLK_CE_STALE		BIT(4)	/* written around while filling */

/**
 * struct empblk_centry - one block-sized slot of the DRAM cache
 * @hash: link in empblk_cache.hash while valid or being filled
 * @list: on the free, clean (LRU order) or dirty (FIFO) list; on none
 *	while written back or filled
 * @blk: device block it holds, while valid
 * @gen: bumped by every write into it; a writeback that started at an
 *	older generation leaves the block dirty
 * @state: EMPBLK_CE_* bits
 */
struct empblk_centry {
	struct hlist_node hash;
	struct list_head list;
	unsigned long blk;
	u32 gen;
	u32 state;
};

/*
 * A writeback takes the dirty blocks next to its own along, up to this
 * much in one page I/O, within the aligned window of that size around it
 * (so never across a 2 MiB placement extent). Blocks of 128 KiB and more
 * go one at a time.
 */
#define EMPBLK_WB_RUN_BYTES	SZ_128K
#define EMPBLK_WB_RUN_MAX	(EMPBLK_WB_RUN_BYTES / SZ_4K)

/**
 * struct empblk_wb - a writeback slot (blocks on their way to the tier
 *	below) or a fill slot (one block on its way from it)
 * @cache: the cache
 * @nr: entries in @e (a fill: one)
 * @e: the entries written back, consecutive blocks in order; or filled
 * @gen: each one's generation when the writeback started
 * @free: link on empblk_cache.wb_free or .fill_free while unused, on
 *	.fill_queue while a fill waits for the worker to start it
 * @pio: its page I/O, with the tier below's state for it
 * @pages: the pages of a writeback of more than one block, in order
 */
struct empblk_wb {
	struct empblk_cache *cache;
	unsigned int nr;
	struct empblk_centry *e[EMPBLK_WB_RUN_MAX];
	u32 gen[EMPBLK_WB_RUN_MAX];
	struct list_head free;
	struct empblk_pio *pio;
	struct page *pages[EMPBLK_WB_RUN_MAX];
};

/* writebacks in flight per device: up to 64 blocks, at most 8 MiB */
static inline unsigned int empblk_cache_nr_wb(u32 block_size)
{
	return clamp_t(u32, SZ_8M / block_size, 4, 64);
}

/* blocks one writeback may take: a run within EMPBLK_WB_RUN_BYTES */
static inline unsigned int empblk_cache_wb_run(u32 block_size)
{
	return max_t(u32, EMPBLK_WB_RUN_BYTES / block_size, 1);
}

/* pages in one page I/O of the cache at most: a block, or a run */
static inline unsigned int empblk_cache_pio_pages(u32 block_size)
{
	return max_t(u32, block_size, EMPBLK_WB_RUN_BYTES) >> PAGE_SHIFT;
}

/**
 * struct empblk_cache - the DRAM tier as a write-back cache before a tier
 * @blk_shift: log2 of the block size, the caching unit
 * @ppb: pages per block
 * @nr: entries (blocks the cache holds)
 * @entries: the entries
 * @pages: @ppb pages per entry, allocated when the device is created
 * @hash: block -> entry
 * @hash_bits: log2 of the buckets in @hash
 * @lock: protects the hash, the lists, the counters and every entry's
 *	fields and data
 * @free: unused entries
 * @clean: valid entries the tier below holds a copy of, least recently
 *	used first: the ones evicted
 * @dirty: entries newer than the tier below's copy, oldest first: the
 *	ones written back
 * @nr_free: entries on @free
 * @nr_dirty: entries on @dirty
 * @nr_wb: writeback slots in use
 * @wb_start: dirty entries above which writeback starts
 * @wb_stop: dirty entries writeback brings the cache down to
 * @wb_run: blocks one writeback takes at most (empblk_cache_wb_run())
 * @wb_paused: discards in progress; no writeback or fill starts while
 *	nonzero
 * @wb_free: unused writeback slots
 * @nr_around: writes gone around the cache to the tier below and not
 *	ended yet; no fetch starts while any is in flight, as it could
 *	read the block before the write lands
 * @fetch_off: the tier below cannot read pages for a fetch (it said so
 *	with -EOPNOTSUPP once); no fetch starts
 * @nr_fill: fill slots in use
 * @fill_free: unused fill slots
 * @fill_queue: fills waiting for the worker to start them
 * @wbs: the writeback slots, then as many fill slots
 * @nr_wbs: writeback slots (and fill slots) in @wbs
 * @wb_work: the writeback and fill worker
 * @wb_idle: woken when @nr_wb and @nr_fill drop to zero
 */
struct empblk_cache {
	unsigned int blk_shift;
	unsigned int ppb;
	unsigned long nr;
	struct empblk_centry *entries;
	struct page **pages;
	struct hlist_head *hash;
	unsigned int hash_bits;

	spinlock_t lock;	/* see above */
	struct list_head free;
	struct list_head clean;
	struct list_head dirty;
	unsigned long nr_free;
	unsigned long nr_dirty;
	unsigned int nr_wb;
	unsigned long wb_start;
	unsigned long wb_stop;
	unsigned int wb_run;
	unsigned int wb_paused;
	struct list_head wb_free;
	atomic_t nr_around;
	bool fetch_off;
	unsigned int nr_fill;
	struct list_head fill_free;
	struct list_head fill_queue;

	struct empblk_wb *wbs;
	unsigned int nr_wbs;
	struct work_struct wb_work;
	wait_queue_head_t wb_idle;
};

void empblk_cache_setup(struct empblk_cache *c, u32 block_size, u64 mb);
void empblk_cache_all_free(struct empblk_cache *c);
struct empblk_centry *empblk_cache_find(struct empblk_cache *c,
					unsigned long blk);
struct empblk_centry *empblk_cache_claim(struct empblk_cache *c,
					 unsigned long b, bool is_write,
					 bool whole, bool *full, bool *evicted);
void empblk_cache_touch(struct empblk_cache *c, struct empblk_centry *e,
			bool is_write);
struct empblk_wb *empblk_cache_wb_pick(struct empblk_cache *c);
bool empblk_cache_wb_done(struct empblk_cache *c, struct empblk_wb *wb,
			  bool ok);
void empblk_cache_covered(struct empblk_cache *c, u64 start, u64 end,
			  unsigned long *b0, unsigned long *b1);
void empblk_cache_drop(struct empblk_cache *c, struct empblk_centry *e);
struct empblk_wb *empblk_cache_fill_claim(struct empblk_cache *c,
					  unsigned long b, bool *evicted);
bool empblk_cache_fill_done(struct empblk_cache *c, struct empblk_wb *fill,
			    bool ok);

#endif /* EMPBLK_CACHE_POLICY_H */
