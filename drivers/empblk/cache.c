// SPDX-License-Identifier: GPL-2.0
/*
 * The DRAM tier as a static-size write-back cache: a layer in front of
 * another tier (the donors), which it reaches only through that tier's
 * operations (tier.h).
 *
 * Why write-back is safe for swap. A swap device's contents die with the
 * host: a page held in the compute node's own DRAM is exactly as durable as
 * the processes it belongs to. A write that lands in the cache is complete;
 * the block reaches the tier below later, in the background. What the cache
 * must never do is drop the only copy of a block: an entry is only evicted
 * while clean (its last writeback completed with no write since), and a
 * failed writeback leaves it dirty, so a lost donor costs no page the
 * cache still holds.
 *
 * Size and memory. The size is fixed (dram:MB in the mem_path). Every page
 * is allocated when the device is created; the I/O path never allocates.
 * When no free or clean entry is left (the cache is full of dirty
 * blocks), a write goes straight to the tier below (write-around):
 * back-pressure without sleeping and without memory, which matters when
 * the writer is reclaim itself.
 *
 * Policy. Writes of whole blocks are absorbed (a partial write to a block
 * not in the cache goes around it; blocks are 4 KiB by default, so swap
 * writes are whole). Reads of cached blocks are copied from DRAM; misses
 * are read from the tier below straight into the request's pages: the
 * layer marks what it served (empblk_cmd.served) and passes the request
 * down. A miss of part of a block also fetches the whole block into the
 * cache, in the background, through the tier below's ->read_pages: the
 * read never waits for it (critical page first), and the reads of the
 * block's other pages that follow (swap readahead, a neighbour's fault)
 * hit. A block being fetched is not served; a write to it goes around and
 * the fetch is dropped when it ends (it may have read older data), and
 * no fetch starts while a write gone around may still be on its way
 * below (empblk_cmd.end_notify). A miss of a whole block fetches nothing:
 * the request reads all of it itself.
 * Writeback starts when more than three quarters of the entries are dirty
 * and brings that down to one half, oldest first; a full cache kicks it
 * too. A writeback takes the dirty blocks next to the oldest along, up to
 * 128 KiB, as one page I/O: swap writes clusters of slots, and the tier
 * below then sees the large writes it would have seen without a cache.
 * Clean entries are evicted least recently used first. The policy is
 * cache_policy.c, which has no data, lock or allocation of its own and is
 * unit tested in userspace and by KUnit; this file adds the pages, the
 * lock, the statistics and the writeback, as page I/O (struct
 * empblk_pio) through the tier below's ->write_pages.
 *
 * Locking. One spinlock per device (taken with bottom halves disabled,
 * since writeback completions arrive in softirq context) protects the
 * hash, the lists and every entry, including its data: a request's part
 * of a block is copied in or out under it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/highmem.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "cache_policy.h"
#include "empblk.h"

/**
 * struct empblk_cache_tier - the DRAM cache layer
 * @tier: its tier interface; @tier.next is the tier it caches
 * @mb: its size in MiB
 * @c: the cache
 */
struct empblk_cache_tier {
	struct empblk_tier tier;
	u64 mb;
	struct empblk_cache c;
};

static struct empblk_cache_tier *to_cache(struct empblk_tier *t)
{
	return container_of(t, struct empblk_cache_tier, tier);
}

static struct page *empblk_cache_page(struct empblk_cache *c,
				      struct empblk_centry *e, u64 boff)
{
	return c->pages[(e - c->entries) * c->ppb + (boff >> PAGE_SHIFT)];
}

/*
 * Copy @len bytes between the request's data at @off and the entry's block
 * at @boff, in the direction of @to_cache.
 */
static void empblk_cache_copy(struct empblk_cache *c, struct empblk_centry *e,
			      u64 boff, struct request *rq, u64 off, u64 len,
			      bool to_cache)
{
	struct req_iterator iter;
	struct bio_vec bvec;
	u64 at = 0;

	rq_for_each_segment(bvec, rq, iter) {
		u64 s = max(at, off), end = min(at + bvec.bv_len, off + len);

		while (s < end) {
			u64 co = boff + (s - off);
			u32 pgo = offset_in_page(co);
			u32 n = min_t(u64, end - s, PAGE_SIZE - pgo);
			void *rp = bvec_kmap_local(&bvec);
			void *cp = kmap_local_page(empblk_cache_page(c, e, co));

			if (to_cache)
				memcpy(cp + pgo, rp + (s - at), n);
			else
				memcpy(rp + (s - at), cp + pgo, n);
			kunmap_local(cp);
			kunmap_local(rp);
			s += n;
		}
		at += bvec.bv_len;
		if (at >= off + len)
			break;
	}
}

/*
 * Copy out of a cached block what a layer above did not serve of the
 * request's [@pos, @pos + @len), at @off in the request and @boff in the
 * block.
 */
static void empblk_cache_copy_out(struct empblk_cache *c,
				  struct empblk_centry *e, u64 boff,
				  struct request *rq, u64 pos, u64 off, u64 len)
{
	u64 done = 0;

	while (done < len) {
		u64 n = empblk_rq_piece(rq, pos + done, 1ULL << c->blk_shift);

		if (!empblk_rq_served(rq, pos + done))
			empblk_cache_copy(c, e, boff + done, rq, off + done, n,
					  false);
		done += n;
	}
}

/*
 * A read of part of block @b missed (locked): fetch the whole block into
 * the cache, in the background, for the reads of its other pages to
 * come. The read itself goes to the tier below at once and never waits
 * for the fetch (critical page first). Return: the counter to bump:
 * CACHE_FETCHES if a fetch is queued for the worker, CACHE_FETCH_BYPASS
 * if one was in flight already, or EMPBLK_NR_STATS.
 */
static enum empblk_stat_item empblk_cache_fetch(struct empblk_cache *c,
						unsigned long b, bool *evicted)
{
	struct empblk_centry *e = empblk_cache_find(c, b);
	struct empblk_wb *fill;

	if (e && (e->state & EMPBLK_CE_FILL))
		return EMPBLK_STAT_CACHE_FETCH_BYPASS;
	/* a write gone around may still be on its way to the block */
	if (READ_ONCE(c->fetch_off) || atomic_read(&c->nr_around))
		return EMPBLK_NR_STATS;
	fill = empblk_cache_fill_claim(c, b, evicted);
	if (!fill)
		return EMPBLK_NR_STATS;
	list_add_tail(&fill->free, &c->fill_queue);
	return EMPBLK_STAT_CACHE_FETCHES;
}

/*
 * Serve what the DRAM cache can of a read or write: copy cached blocks
 * out for a read; for a write, copy into cached blocks and insert whole
 * blocks while a free or clean entry is left. Blocks a layer above served
 * whole are left alone. What it serves is marked in empblk_cmd.served;
 * the rest is for the tier below. Idempotent: the worker may call it
 * again for the same request (@again), and then counts nothing.
 */
static void empblk_cache_copy_rq(struct empblk_cache_tier *ct,
				 struct request *rq, bool again)
{
	struct empblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct empblk_dev *dev = ct->tier.dev;
	struct empblk_cache *c = &ct->c;
	bool is_write = rq_data_dir(rq) == WRITE;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 end = pos + blk_rq_bytes(rq);
	u64 bsz = 1ULL << c->blk_shift;
	bool kick = false;
	u64 off = 0, len;

	for (; pos < end; pos += len, off += len) {
		enum empblk_stat_item fetch = EMPBLK_NR_STATS;
		unsigned long b = pos >> c->blk_shift;
		u64 boff = pos & (bsz - 1);
		struct empblk_centry *e;
		enum empblk_stat_item item;
		bool evicted = false;

		len = min(end - pos, bsz - boff);
		if (empblk_rq_served(rq, pos) &&
		    empblk_rq_piece(rq, pos, bsz) == len)
			continue;
		spin_lock_bh(&c->lock);
		e = empblk_cache_claim(c, b, is_write, len == bsz, &kick,
				       &evicted);
		if (!e && !is_write && len < bsz)
			fetch = empblk_cache_fetch(c, b, &evicted);
		if (!e && is_write && !cmd->end_notify) {
			/* going around: no fetch until it has landed */
			atomic_inc(&c->nr_around);
			cmd->end_notify = &ct->tier;
		}
		if (e) {
			/* a write copies all: zeroes served above are data */
			if (is_write)
				empblk_cache_copy(c, e, boff, rq, off, len, true);
			else
				empblk_cache_copy_out(c, e, boff, rq, pos, off,
						      len);
			empblk_cache_touch(c, e, is_write);
			bitmap_set(cmd->served, empblk_rq_page(rq, pos),
				   len >> PAGE_SHIFT);
		}
		if (c->nr_dirty > c->wb_start)
			kick = true;
		spin_unlock_bh(&c->lock);

		if (evicted)
			empblk_stat_inc(dev, EMPBLK_STAT_CACHE_EVICTIONS);
		kick |= fetch == EMPBLK_STAT_CACHE_FETCHES;
		if (again)
			continue;
		if (fetch != EMPBLK_NR_STATS)
			empblk_stat_inc(dev, fetch);

		if (is_write)
			item = e ? EMPBLK_STAT_CACHE_WRITE_HITS :
				   EMPBLK_STAT_CACHE_WRITE_AROUND;
		else
			item = e ? EMPBLK_STAT_CACHE_READ_HITS :
				   EMPBLK_STAT_CACHE_READ_MISSES;
		empblk_stat_inc(dev, item);
	}
	if (kick)
		queue_work(empblk_wq, &c->wb_work);
}

/*
 * A writeback finished (or could not start); @ok: the block reached the
 * tier below. Process or softirq context (a completion, or the worker).
 */
static void __empblk_cache_wb_end(struct empblk_wb *wb, bool ok,
				  bool counted)
{
	struct empblk_cache *c = wb->cache;
	struct empblk_cache_tier *ct = container_of(c, struct empblk_cache_tier,
						    c);
	struct empblk_dev *dev = ct->tier.dev;

	/* first: once nr_wb is 0 the device may be freed under us */
	if (counted)
		empblk_stat_add(dev, ok ? EMPBLK_STAT_CACHE_WRITEBACKS :
				EMPBLK_STAT_CACHE_WRITEBACK_ERRORS, wb->nr);
	spin_lock_bh(&c->lock);
	/* under the lock, as stop pauses writeback under it, then cancels */
	if (empblk_cache_wb_done(c, wb, ok))
		queue_work(empblk_wq, &c->wb_work);
	/* under the lock: the waiter frees the cache once it sees none */
	if (!c->nr_wb && !c->nr_fill)
		wake_up_all(&c->wb_idle);
	spin_unlock_bh(&c->lock);
}

static void empblk_cache_wb_end(struct empblk_wb *wb, bool ok)
{
	__empblk_cache_wb_end(wb, ok, true);
}

static void empblk_cache_pio_end(struct empblk_pio *pio, bool ok)
{
	empblk_cache_wb_end(pio->private, ok);
}

/*
 * A fetch finished (or could not start); @ok: the whole block was read.
 * Process or softirq context.
 */
static void empblk_cache_fill_end(struct empblk_pio *pio, bool ok)
{
	struct empblk_wb *fill = pio->private;
	struct empblk_cache *c = fill->cache;
	struct empblk_dev *dev = container_of(c, struct empblk_cache_tier,
					      c)->tier.dev;

	/*
	 * All under the lock: once nr_fill is 0 the cache may be stopped,
	 * and stop takes the lock once before it frees anything.
	 */
	spin_lock_bh(&c->lock);
	ok = empblk_cache_fill_done(c, fill, ok);
	empblk_stat_inc(dev, ok ? EMPBLK_STAT_CACHE_FETCHED :
			EMPBLK_STAT_CACHE_FETCH_DROPS);
	if (!c->nr_wb && !c->nr_fill)
		wake_up_all(&c->wb_idle);
	spin_unlock_bh(&c->lock);
}

/*
 * Point the page I/O of writeback or fill slot @wb at its blocks: those of
 * one block are consecutive in c->pages already, a run's are gathered.
 */
static void empblk_cache_wb_pio(struct empblk_cache *c, struct empblk_wb *wb)
{
	struct empblk_pio *pio = wb->pio;
	unsigned int i;

	pio->pos = (u64)wb->e[0]->blk << c->blk_shift;
	pio->nr_pages = wb->nr * c->ppb;
	if (wb->nr == 1) {
		pio->pages = &c->pages[(wb->e[0] - c->entries) * c->ppb];
		return;
	}
	for (i = 0; i < wb->nr; i++)
		memcpy(&wb->pages[i * c->ppb],
		       &c->pages[(wb->e[i] - c->entries) * c->ppb],
		       c->ppb * sizeof(*wb->pages));
	pio->pages = wb->pages;
}

/* The next fetch queued and not started, off the queue; or NULL. */
static struct empblk_wb *empblk_cache_fill_pop(struct empblk_cache *c)
{
	struct empblk_wb *fill;

	spin_lock_bh(&c->lock);
	fill = list_first_entry_or_null(&c->fill_queue, struct empblk_wb,
					free);
	if (fill)
		list_del_init(&fill->free);
	spin_unlock_bh(&c->lock);
	return fill;
}

/* Start the fetches queued by reads (the worker: the tier below may sleep). */
static void empblk_cache_fill_start(struct empblk_cache *c,
				    struct empblk_tier *next)
{
	struct empblk_wb *fill;
	int ret;

	while ((fill = empblk_cache_fill_pop(c))) {
		empblk_cache_wb_pio(c, fill);
		ret = next->ops->read_pages(next, fill->pio);
		if (ret == -EOPNOTSUPP)
			WRITE_ONCE(c->fetch_off, true);
		if (ret)
			empblk_cache_fill_end(fill->pio, false);
		cond_resched();
	}
}

/* Drop the fetches queued and not started: their entries go free. */
static void empblk_cache_fill_cancel(struct empblk_cache *c)
{
	struct empblk_wb *fill;

	while ((fill = empblk_cache_fill_pop(c)))
		empblk_cache_fill_end(fill->pio, false);
}

/*
 * The writeback worker: starts the fetches reads queued, then writes back
 * the oldest dirty blocks first, while more than wb_stop are dirty and a
 * slot is free. The tier below may sleep in it (to have a
 * donor chunk allocated); it runs in a NOIO scope, as reclaim may be
 * waiting on it.
 */
static void empblk_cache_wb_work(struct work_struct *work)
{
	struct empblk_cache *c = container_of(work, struct empblk_cache,
					      wb_work);
	struct empblk_cache_tier *ct = container_of(c, struct empblk_cache_tier,
						    c);
	struct empblk_tier *next = ct->tier.next;
	unsigned int noio = memalloc_noio_save();
	struct empblk_wb *wb;
	int ret;

	empblk_cache_fill_start(c, next);
	for (;;) {
		spin_lock_bh(&c->lock);
		wb = c->wb_paused ? NULL : empblk_cache_wb_pick(c);
		spin_unlock_bh(&c->lock);
		if (!wb)
			break;

		empblk_cache_wb_pio(c, wb);
		ret = next->ops->write_pages(next, wb->pio);
		if (ret) {
			/*
			 * -EBUSY: its extent is being rebuilt or moved, no error; the
			 * blocks stay dirty, and the next write kicks us again
			 */
			__empblk_cache_wb_end(wb, false, ret != -EBUSY);
			break;
		}
		empblk_stat_inc(ct->tier.dev, EMPBLK_STAT_CACHE_WRITEBACK_IOS);
		cond_resched();
	}
	memalloc_noio_restore(noio);
}

/* No writeback or fetch in flight. */
static bool empblk_cache_idle(struct empblk_cache *c)
{
	return !READ_ONCE(c->nr_wb) && !READ_ONCE(c->nr_fill);
}

/*
 * Drop the cached blocks of [@start, @end). Pauses writeback and fetches
 * and waits for those in flight: none may touch space of the tier below
 * that the discard is about to free (a donor chunk). Blocks covered whole
 * are dropped, dirty or not; partly covered ones stay. Pair with
 * empblk_cache_discard_end() once the tier below's part is done. Sleeps.
 */
static void empblk_cache_discard_begin(struct empblk_cache *c, u64 start,
				       u64 end)
{
	unsigned long b0, b1, b, i;

	empblk_cache_covered(c, start, end, &b0, &b1);
	spin_lock_bh(&c->lock);
	c->wb_paused++;
	spin_unlock_bh(&c->lock);
	empblk_cache_fill_cancel(c);
	wait_event(c->wb_idle, empblk_cache_idle(c));
	if (b1 <= b0)
		return;

	if (b1 - b0 > c->nr) {
		/* a big range: walk the entries instead of the blocks */
		for (i = 0; i < c->nr; i++) {
			struct empblk_centry *e = &c->entries[i];

			spin_lock_bh(&c->lock);
			if ((e->state & EMPBLK_CE_VALID) &&
			    e->blk >= b0 && e->blk < b1)
				empblk_cache_drop(c, e);
			spin_unlock_bh(&c->lock);
			if (!(i & 255))
				cond_resched();
		}
		return;
	}
	for (b = b0; b < b1; b++) {
		struct empblk_centry *e;

		spin_lock_bh(&c->lock);
		e = empblk_cache_find(c, b);
		if (e)
			empblk_cache_drop(c, e);
		spin_unlock_bh(&c->lock);
		if (!(b & 255))
			cond_resched();
	}
}

/* Let writeback run again after a discard. */
static void empblk_cache_discard_end(struct empblk_cache *c)
{
	bool kick;

	spin_lock_bh(&c->lock);
	kick = !--c->wb_paused && c->nr_dirty > c->wb_stop;
	spin_unlock_bh(&c->lock);
	if (kick)
		queue_work(empblk_wq, &c->wb_work);
}

/* A write that went around the cache ended (empblk_tier_ops.rq_end). */
static void empblk_cache_rq_end(struct empblk_tier *t, struct request *rq)
{
	atomic_dec(&to_cache(t)->c.nr_around);
}

/*
 * Serve a read or write (empblk_tier_ops.rw): what the cache holds, or
 * takes, here; the rest from the tier below, which skips what was served.
 */
static int empblk_cache_tier_rw(struct empblk_tier *t, struct request *rq,
				bool may_sleep)
{
	empblk_cache_copy_rq(to_cache(t), rq, may_sleep);
	if (empblk_rq_all_served(rq)) {
		/* all in DRAM */
		empblk_complete_rq(t->dev, rq, BLK_STS_OK);
		return 0;
	}
	return t->next->ops->rw(t->next, rq, may_sleep);
}

/* Serve a discard: drop the blocks, then free the space below. Sleeps. */
static int empblk_cache_tier_discard(struct empblk_tier *t,
				     struct request *rq, bool may_sleep)
{
	struct empblk_cache *c = &to_cache(t)->c;
	u64 start = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	int ret;

	if (!may_sleep)
		return -EAGAIN;
	empblk_cache_discard_begin(c, start, start + blk_rq_bytes(rq));
	ret = t->next->ops->discard(t->next, rq, may_sleep);
	empblk_cache_discard_end(c);
	return ret;
}

static void empblk_cache_tier_usage(struct empblk_tier *t,
				    struct empblk_usage *u)
{
	struct empblk_cache *c = &to_cache(t)->c;

	u->dram_budget += (u64)c->nr << c->blk_shift;
	u->dram_used += (u64)(c->nr - READ_ONCE(c->nr_free)) << c->blk_shift;
	spin_lock_bh(&c->lock);
	u->dram_dirty += (u64)(c->nr_dirty + c->nr_wb) << c->blk_shift;
	spin_unlock_bh(&c->lock);
}

static void empblk_cache_free(struct empblk_cache *c)
{
	unsigned long i, n = c->nr * c->ppb;

	for (i = 0; c->pages && i < n && c->pages[i]; i++)
		__free_page(c->pages[i]);
	for (i = 0; c->wbs && i < 2 * c->nr_wbs; i++)
		kvfree(c->wbs[i].pio);
	kvfree(c->wbs);
	vfree(c->pages);
	vfree(c->hash);
	vfree(c->entries);
	c->wbs = NULL;
	c->pages = NULL;
	c->hash = NULL;
	c->entries = NULL;
}

/*
 * Allocate the cache's pages and writeback slots (empblk_tier_ops.start);
 * the tier below is started. Return: 0, or -ENOMEM (logged) with nothing
 * left allocated.
 */
static int empblk_cache_tier_start(struct empblk_tier *t)
{
	struct empblk_cache_tier *ct = to_cache(t);
	struct empblk_tier *next = t->next;
	struct empblk_cache *c = &ct->c;
	unsigned int pio_pages;
	unsigned long i, n;
	size_t pio_size;

	empblk_cache_setup(c, t->dev->params.block_size, ct->mb);
	spin_lock_init(&c->lock);
	INIT_WORK(&c->wb_work, empblk_cache_wb_work);
	init_waitqueue_head(&c->wb_idle);

	n = c->nr * c->ppb;
	pio_pages = empblk_cache_pio_pages(t->dev->params.block_size);
	pio_size = next->ops->pio_size(next, pio_pages);
	c->entries = vzalloc(array_size(c->nr, sizeof(*c->entries)));
	c->hash = vzalloc(array_size(1UL << c->hash_bits, sizeof(*c->hash)));
	c->pages = vzalloc(array_size(n, sizeof(*c->pages)));
	/* writeback slots, then fetch slots if the tier below can read */
	c->wbs = kvcalloc(2 * c->nr_wbs, sizeof(*c->wbs), GFP_KERNEL);
	if (!c->entries || !c->hash || !c->pages || !c->wbs)
		goto out_nomem;
	for (i = 0; i < 2 * c->nr_wbs; i++) {
		struct empblk_wb *wb = &c->wbs[i];
		bool fill = i >= c->nr_wbs;

		if (fill && !next->ops->read_pages)
			break;
		wb->cache = c;
		wb->pio = kvzalloc(sizeof(*wb->pio) + pio_size, GFP_KERNEL);
		if (!wb->pio)
			goto out_nomem;
		wb->pio->end_io = fill ? empblk_cache_fill_end :
					 empblk_cache_pio_end;
		wb->pio->private = wb;
		wb->pio->tier_data = wb->pio + 1;
		list_add_tail(&wb->free, fill ? &c->fill_free : &c->wb_free);
	}
	for (i = 0; i < n; i++) {
		c->pages[i] = alloc_page(GFP_KERNEL | __GFP_NOWARN);
		if (!c->pages[i])
			goto out_nomem;
		if (!(i & 1023))
			cond_resched();
	}
	empblk_cache_all_free(c);
	return 0;

out_nomem:
	pr_err("%s: cannot allocate a DRAM cache of %llu MiB\n",
	       t->dev->disk->disk_name, ct->mb);
	empblk_cache_free(c);
	return -ENOMEM;
}

/*
 * Stop writeback and free the cache (empblk_tier_ops.stop). Waits for
 * writebacks and fetches in flight (their completions touch the cache); if the tier
 * below stops answering, it is aborted after 30 s so that they complete.
 * Dirty blocks are dropped: the device is going away and its contents
 * with it.
 */
static void empblk_cache_tier_stop(struct empblk_tier *t)
{
	struct empblk_cache *c = &to_cache(t)->c;

	spin_lock_bh(&c->lock);
	c->wb_paused++;
	spin_unlock_bh(&c->lock);
	cancel_work_sync(&c->wb_work);
	empblk_cache_fill_cancel(c);
	if (!wait_event_timeout(c->wb_idle, empblk_cache_idle(c), 30 * HZ)) {
		empblk_tier_abort(t->next, "writeback timed out");
		wait_event(c->wb_idle, empblk_cache_idle(c));
	}
	/* the last completion may still be unlocking: let it */
	spin_lock_bh(&c->lock);
	spin_unlock_bh(&c->lock);
	empblk_cache_free(c);
}

static void empblk_cache_tier_destroy(struct empblk_tier *t)
{
	kfree(to_cache(t));
}

static const struct empblk_tier_ops empblk_cache_ops = {
	.name		= "cache",
	.start		= empblk_cache_tier_start,
	.stop		= empblk_cache_tier_stop,
	.destroy	= empblk_cache_tier_destroy,
	.rw		= empblk_cache_tier_rw,
	.discard	= empblk_cache_tier_discard,
	/* what the cache holds lives as long as the device */
	.flush		= empblk_layer_flush,
	.poll		= empblk_layer_poll,
	.timeout	= empblk_layer_timeout,
	.abort		= empblk_layer_abort,
	.usage		= empblk_cache_tier_usage,
	.rq_end		= empblk_cache_rq_end,
};

/**
 * empblk_cache_tier_create() - a DRAM cache layer over a tier
 * @dev: the device
 * @mb: the cache's size in MiB
 * @next: the tier it caches, which must have ->write_pages
 *
 * Its pages are allocated when it starts.
 *
 * Return: the layer, or ERR_PTR(-ENOMEM).
 */
struct empblk_tier *empblk_cache_tier_create(struct empblk_dev *dev, u64 mb,
					     struct empblk_tier *next)
{
	struct empblk_cache_tier *ct = kzalloc(sizeof(*ct), GFP_KERNEL);

	if (!ct)
		return ERR_PTR(-ENOMEM);
	ct->tier.ops = &empblk_cache_ops;
	ct->tier.dev = dev;
	ct->tier.next = next;
	ct->mb = mb;
	return &ct->tier;
}
