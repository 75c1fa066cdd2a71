// SPDX-License-Identifier: GPL-2.0
/*
 * The DRAM tier as a static-size write-back cache in front of the donors.
 *
 * Why write-back is safe for swap. A swap device's contents die with the
 * host: a page held in the compute node's own DRAM is exactly as durable as
 * the processes it belongs to. A write that lands in the cache is complete;
 * the block reaches the donors later, in the background. What the cache
 * must never do is drop the only copy of a block: an entry is only evicted
 * while clean (its last writeback completed with no write since), and a
 * failed writeback leaves it dirty, so a lost donor costs no page the
 * cache still holds.
 *
 * Size and memory. The size is fixed (dram:MB in the mem_path). Every page
 * is allocated and DMA mapped when the device is created; the I/O path
 * never allocates. When no free or clean entry is left (the cache is full
 * of dirty blocks), a write goes straight to the donors (write-around):
 * back-pressure without sleeping and without memory, which matters when
 * the writer is reclaim itself.
 *
 * Policy. Writes of whole blocks are absorbed (a partial write to a block
 * not in the cache goes around it; blocks are 4 KiB by default, so swap
 * writes are whole). Reads of cached blocks are copied from DRAM; misses
 * are read from the donors straight into the request's pages and are not
 * inserted (the kernel's swap cache keeps the page). Writeback starts when
 * more than three quarters of the entries are dirty and brings that down
 * to one half, oldest first; a full cache kicks it too. Clean entries are
 * evicted least recently used first. The policy is cache_policy.c, which
 * has no data, lock or allocation of its own and is unit tested in
 * userspace and by KUnit; this file adds the pages, the lock, the
 * statistics and the writeback over RDMA.
 *
 * Locking. One spinlock per device (taken with bottom halves disabled,
 * since writeback completions arrive in softirq context) protects the
 * hash, the lists and every entry, including its data: a block is copied
 * in or out under it. Copies are at most one request (128 KiB).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/highmem.h>
#include <linux/sched/mm.h>
#include <linux/vmalloc.h>

#include "empblk.h"

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

/**
 * empblk_cache_rw() - serve what the DRAM cache can of a read or write
 * @dev: device with a cache
 * @rq: read or write, before its pages are DMA mapped
 *
 * Copies cached blocks out for a read; for a write, copies into cached
 * blocks and inserts whole blocks while a free or clean entry is left.
 * Idempotent: the worker may call it again for the same request.
 *
 * Return: bitmap of the request's blocks served (bit i: the i-th block the
 * request touches); the rest is for the donors.
 */
u64 empblk_cache_rw(struct empblk_dev *dev, struct request *rq)
{
	struct empblk_cache *c = dev->cache;
	bool is_write = rq_data_dir(rq) == WRITE;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 end = pos + blk_rq_bytes(rq);
	u64 bsz = 1ULL << c->blk_shift;
	unsigned long b0 = pos >> c->blk_shift;
	u64 served = 0, off = 0;
	bool kick = false;

	while (pos < end) {
		unsigned long b = pos >> c->blk_shift;
		u64 boff = pos & (bsz - 1);
		u64 len = min(end - pos, bsz - boff);
		struct empblk_centry *e;
		enum empblk_stat_item item;
		bool evicted = false;

		spin_lock_bh(&c->lock);
		e = empblk_cache_claim(c, b, is_write, len == bsz, &kick,
				       &evicted);
		if (e) {
			empblk_cache_copy(c, e, boff, rq, off, len, is_write);
			empblk_cache_touch(c, e, is_write);
			served |= BIT_ULL(b - b0);
		}
		if (c->nr_dirty > c->wb_start)
			kick = true;
		spin_unlock_bh(&c->lock);

		if (evicted)
			empblk_stat_inc(dev, EMPBLK_STAT_CACHE_EVICTIONS);

		if (is_write)
			item = e ? EMPBLK_STAT_CACHE_WRITE_HITS :
				   EMPBLK_STAT_CACHE_WRITE_AROUND;
		else
			item = e ? EMPBLK_STAT_CACHE_READ_HITS :
				   EMPBLK_STAT_CACHE_READ_MISSES;
		empblk_stat_inc(dev, item);
		pos += len;
		off += len;
	}
	if (kick)
		queue_work(empblk_wq, &c->wb_work);
	return served;
}

/**
 * empblk_cache_wb_end() - a writeback finished (or could not start)
 * @wb: its slot
 * @ok: the block reached the donors
 *
 * Any context (the CQ's softirq, or the worker).
 */
void empblk_cache_wb_end(struct empblk_wb *wb, bool ok)
{
	struct empblk_dev *dev = wb->dev;
	struct empblk_cache *c = dev->cache;
	bool more;

	spin_lock_bh(&c->lock);
	more = empblk_cache_wb_done(c, wb, ok);
	/* under the lock: the waiter frees the cache once it sees none */
	if (!c->nr_wb)
		wake_up_all(&c->wb_idle);
	spin_unlock_bh(&c->lock);

	empblk_stat_inc(dev, ok ? EMPBLK_STAT_CACHE_WRITEBACKS :
			EMPBLK_STAT_CACHE_WRITEBACK_ERRORS);
	if (more)
		queue_work(empblk_wq, &c->wb_work);
}

/*
 * The writeback worker: oldest dirty blocks first, while more than wb_stop
 * are dirty and a slot is free. It sleeps only to have a donor chunk
 * allocated; it runs in a NOIO scope, as reclaim may be waiting on it.
 */
static void empblk_cache_wb_work(struct work_struct *work)
{
	struct empblk_cache *c = container_of(work, struct empblk_cache,
					      wb_work);
	unsigned int noio = memalloc_noio_save();
	struct empblk_wb *wb;
	int ret;

	for (;;) {
		spin_lock_bh(&c->lock);
		wb = c->wb_paused ? NULL : empblk_cache_wb_pick(c);
		spin_unlock_bh(&c->lock);
		if (!wb)
			break;

		ret = empblk_remote_writeback(wb->dev, wb);
		if (ret) {
			empblk_cache_wb_end(wb, false);
			break;
		}
		cond_resched();
	}
	memalloc_noio_restore(noio);
}

/**
 * empblk_cache_discard_begin() - drop the cached blocks a discard covers
 * @dev: device with a cache
 * @start: first byte discarded
 * @end: first byte after
 *
 * Pauses writeback and waits for writebacks in flight: none may write
 * into a donor chunk the discard is about to give back. Blocks covered
 * whole are dropped, dirty or not; partly covered ones stay. Pair with
 * empblk_cache_discard_end() once the donors' part is done. Sleeps.
 */
void empblk_cache_discard_begin(struct empblk_dev *dev, u64 start, u64 end)
{
	struct empblk_cache *c = dev->cache;
	unsigned long b0, b1, b, i;

	empblk_cache_covered(c, start, end, &b0, &b1);
	spin_lock_bh(&c->lock);
	c->wb_paused++;
	spin_unlock_bh(&c->lock);
	wait_event(c->wb_idle, READ_ONCE(c->nr_wb) == 0);
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

/**
 * empblk_cache_discard_end() - let writeback run again after a discard
 * @dev: device with a cache
 */
void empblk_cache_discard_end(struct empblk_dev *dev)
{
	struct empblk_cache *c = dev->cache;
	bool kick;

	spin_lock_bh(&c->lock);
	kick = !--c->wb_paused && c->nr_dirty > c->wb_stop;
	spin_unlock_bh(&c->lock);
	if (kick)
		queue_work(empblk_wq, &c->wb_work);
}

static void empblk_cache_free(struct empblk_dev *dev)
{
	struct empblk_cache *c = dev->cache;
	unsigned long i, n = c->nr * c->ppb;

	for (i = 0; c->pages && i < n && c->pages[i]; i++) {
		if (c->dma && c->dma[i])
			ib_dma_unmap_page(dev->remote.ibdev, c->dma[i],
					  PAGE_SIZE, DMA_TO_DEVICE);
		__free_page(c->pages[i]);
	}
	for (i = 0; c->wbs && i < c->nr_wbs; i++) {
		kfree(c->wbs[i].sges);
		kfree(c->wbs[i].wrs);
	}
	kfree(c->wbs);
	vfree(c->dma);
	vfree(c->pages);
	vfree(c->hash);
	vfree(c->entries);
	kfree(c);
	dev->cache = NULL;
}

/**
 * empblk_cache_init() - allocate and map the DRAM cache of a device
 * @dev: device being created, connected to its donors
 * @mb: cache size in MiB
 *
 * Return: 0, or -ENOMEM (logged) with nothing left allocated.
 */
int empblk_cache_init(struct empblk_dev *dev, u64 mb)
{
	struct ib_device *ibdev = dev->remote.ibdev;
	struct empblk_cache *c;
	unsigned long i, n;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	dev->cache = c;
	empblk_cache_setup(c, dev->params.block_size, mb);
	spin_lock_init(&c->lock);
	INIT_WORK(&c->wb_work, empblk_cache_wb_work);
	init_waitqueue_head(&c->wb_idle);

	n = c->nr * c->ppb;
	c->entries = vzalloc(array_size(c->nr, sizeof(*c->entries)));
	c->hash = vzalloc(array_size(1UL << c->hash_bits, sizeof(*c->hash)));
	c->pages = vzalloc(array_size(n, sizeof(*c->pages)));
	c->dma = vzalloc(array_size(n, sizeof(*c->dma)));
	c->wbs = kcalloc(c->nr_wbs, sizeof(*c->wbs), GFP_KERNEL);
	if (!c->entries || !c->hash || !c->pages || !c->dma || !c->wbs)
		goto out_nomem;
	for (i = 0; i < c->nr_wbs; i++) {
		struct empblk_wb *wb = &c->wbs[i];

		wb->dev = dev;
		wb->sges = kcalloc(c->ppb, sizeof(*wb->sges), GFP_KERNEL);
		wb->wrs = kcalloc(c->ppb, sizeof(*wb->wrs), GFP_KERNEL);
		if (!wb->sges || !wb->wrs)
			goto out_nomem;
		list_add_tail(&wb->free, &c->wb_free);
	}
	for (i = 0; i < n; i++) {
		u64 dma;

		c->pages[i] = alloc_page(GFP_KERNEL | __GFP_NOWARN);
		if (!c->pages[i])
			goto out_nomem;
		dma = ib_dma_map_page(ibdev, c->pages[i], 0, PAGE_SIZE,
				      DMA_TO_DEVICE);
		if (ib_dma_mapping_error(ibdev, dma))
			goto out_nomem;
		c->dma[i] = dma;
		if (!(i & 1023))
			cond_resched();
	}
	empblk_cache_all_free(c);
	return 0;

out_nomem:
	pr_err("%s: cannot allocate a DRAM cache of %llu MiB\n",
	       dev->disk->disk_name, mb);
	empblk_cache_free(dev);
	return -ENOMEM;
}

/**
 * empblk_cache_exit() - stop writeback and free the cache
 * @dev: device with no I/O left, still connected to its donors
 *
 * Waits for writebacks in flight (their completions touch the cache); if
 * a donor stops answering, its queues are failed after 30 s so that the
 * work requests flush. Dirty blocks are dropped: the device is going away
 * and its contents with it.
 */
void empblk_cache_exit(struct empblk_dev *dev)
{
	struct empblk_cache *c = dev->cache;

	if (!c)
		return;
	spin_lock_bh(&c->lock);
	c->wb_paused++;
	spin_unlock_bh(&c->lock);
	cancel_work_sync(&c->wb_work);
	if (!wait_event_timeout(c->wb_idle, READ_ONCE(c->nr_wb) == 0,
				30 * HZ)) {
		empblk_remote_fail_all(dev, "writeback timed out");
		wait_event(c->wb_idle, READ_ONCE(c->nr_wb) == 0);
	}
	empblk_cache_free(dev);
}
