// SPDX-License-Identifier: GPL-2.0
/*
 * The DRAM tier: 4 KiB pages in an xarray indexed by device page, allocated
 * on first write and freed on discard, write-zeroes and teardown.
 *
 * Allocation and reclaim. This device is written to by reclaim, so the
 * write path must not need reclaim to make progress:
 *  - queue_rq never sleeps: it allocates with GFP_NOWAIT, then falls back to
 *    a small per-device reserve of pages;
 *  - when both fail the request is handed to a WQ_MEM_RECLAIM worker that
 *    allocates in a memalloc_noio scope (direct reclaim without I/O, so it
 *    can never wait on this device), and fails the write with ENOMEM only if
 *    even that fails; a failed swap write leaves the page dirty in RAM.
 *  - the reserve is refilled off the I/O path, also with GFP_NOIO.
 *
 * Page lifetime. Readers and writers look pages up and copy under
 * rcu_read_lock(); discard erases a page from the xarray and frees it after
 * a grace period, so a racing reader sees either the old page or a hole.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "empblk.h"

#define EMPBLK_PAGE_SECTORS_SHIFT	(PAGE_SHIFT - SECTOR_SHIFT)

/**
 * struct empblk_dram - the local DRAM tier
 * @tier: its tier interface
 * @pages: device page index -> struct page. Lookups run under RCU; pages
 *	are freed after a grace period so a concurrent reader never touches a
 *	freed page.
 * @budget_pages: most pages the tier may hold
 * @used_pages: pages held now; charged and uncharged under the lock of
 *	@pages, with the store or erase of the page
 * @reserve_lock: protects @reserve and @reserve_nr
 * @reserve: emergency pages (linked by page->lru) used when the page
 *	allocator fails without sleeping
 * @reserve_nr: pages on @reserve
 * @reserve_target: size the refill worker restores @reserve to
 * @refill_work: refills @reserve with GFP_NOIO, off the I/O path
 */
struct empblk_dram {
	struct empblk_tier tier;
	struct xarray pages;
	unsigned long budget_pages;
	atomic_long_t used_pages;

	spinlock_t reserve_lock;	/* protects reserve, reserve_nr */
	struct list_head reserve;
	unsigned int reserve_nr;
	unsigned int reserve_target;
	struct work_struct refill_work;
};

static struct empblk_dram *to_dram(struct empblk_tier *t)
{
	return container_of(t, struct empblk_dram, tier);
}

static void empblk_free_page_rcu(struct rcu_head *head)
{
	__free_page(container_of(head, struct page, rcu_head));
}

static struct page *empblk_reserve_get(struct empblk_dram *dram)
{
	struct page *page;

	spin_lock(&dram->reserve_lock);
	page = list_first_entry_or_null(&dram->reserve, struct page, lru);
	if (page) {
		list_del(&page->lru);
		dram->reserve_nr--;
	}
	spin_unlock(&dram->reserve_lock);
	if (page)
		queue_work(empblk_wq, &dram->refill_work);
	return page;
}

static void empblk_reserve_put(struct empblk_dram *dram, struct page *page)
{
	spin_lock(&dram->reserve_lock);
	list_add(&page->lru, &dram->reserve);
	dram->reserve_nr++;
	spin_unlock(&dram->reserve_lock);
}

static void empblk_reserve_refill(struct work_struct *work)
{
	struct empblk_dram *dram = container_of(work, struct empblk_dram,
						refill_work);
	struct page *page;

	for (;;) {
		spin_lock(&dram->reserve_lock);
		if (dram->reserve_nr >= dram->reserve_target) {
			spin_unlock(&dram->reserve_lock);
			return;
		}
		spin_unlock(&dram->reserve_lock);

		page = alloc_page(GFP_NOIO | __GFP_NOWARN | __GFP_NORETRY);
		if (!page)
			return;	/* retried on the next reserve_get */
		empblk_reserve_put(dram, page);
	}
}

/*
 * Insert a page at @idx. Returns the page now at @idx (ours or one a racing
 * writer inserted first), ERR_PTR(-ENOSPC) when the budget is spent or
 * ERR_PTR(-EAGAIN) when memory could not be had with @gfp.
 *
 * The budget is checked and charged under the xarray's lock, in the same
 * critical section that stores the page: of two writers racing for the
 * same missing page with one page of budget left, the loser finds the
 * winner's page instead of failing, and the budget is never overrun. The
 * page itself (and any xarray node) is allocated outside the lock.
 */
static struct page *empblk_dram_insert(struct empblk_dram *dram, pgoff_t idx,
				       gfp_t gfp)
{
	XA_STATE(xas, &dram->pages, idx);
	bool from_reserve = false;
	struct page *page, *old;

	/*
	 * Spare the allocation when the page is there or cannot be had.
	 * xa_load(), not a bare xas_load(): without the lock only it skips
	 * the retry entries a concurrent shrink of the tree leaves behind.
	 */
	old = xa_load(&dram->pages, idx);
	if (old)
		return old;
	if (atomic_long_read(&dram->used_pages) >= dram->budget_pages)
		goto check_locked;

	/*
	 * Zeroed: the page is visible to readers before the write's data is
	 * copied in, and a racing reader must never see stale memory.
	 */
	page = alloc_page(gfp | __GFP_NOWARN | __GFP_ZERO);
	if (!page) {
		page = empblk_reserve_get(dram);
		if (!page)
			return ERR_PTR(-EAGAIN);
		clear_highpage(page);
		from_reserve = true;
	}

	/* xas_nomem() allocates a missing node outside the lock, then retry */
	do {
		xas_lock(&xas);
		old = xas_load(&xas);
		if (!old && atomic_long_read(&dram->used_pages) >=
			    dram->budget_pages)
			old = ERR_PTR(-ENOSPC);
		if (!old) {
			xas_store(&xas, page);
			if (!xas_error(&xas))
				atomic_long_inc(&dram->used_pages);
		}
		xas_unlock(&xas);
	} while (xas_nomem(&xas, gfp | __GFP_NOWARN));

	if (!old && !xas_error(&xas))
		return page;
	if (from_reserve)
		empblk_reserve_put(dram, page);
	else
		__free_page(page);
	return old ?: ERR_PTR(-EAGAIN);

check_locked:
	/* the budget is spent, unless the page went in since the first look */
	xas_lock(&xas);
	old = xas_load(&xas);
	xas_unlock(&xas);
	return old ?: ERR_PTR(-ENOSPC);
}

/*
 * Copy one request. Runs under rcu_read_lock(), so it never sleeps: pages
 * missing for a write are allocated with GFP_NOWAIT.
 */
static int empblk_dram_copy(struct empblk_dram *dram, struct request *rq)
{
	bool is_write = rq_data_dir(rq) == WRITE;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 unwritten = 0;
	struct req_iterator iter;
	struct bio_vec bvec;

	rq_for_each_segment(bvec, rq, iter) {
		unsigned int done = 0;

		while (done < bvec.bv_len) {
			unsigned int off = offset_in_page(pos);
			unsigned int len = min_t(unsigned int,
						 bvec.bv_len - done,
						 PAGE_SIZE - off);
			pgoff_t idx = pos >> PAGE_SHIFT;
			struct page *page = xa_load(&dram->pages, idx);
			void *dst, *src;

			if (empblk_rq_served(rq, pos)) {
				/* a layer above has it (a zero page) */
			} else if (is_write) {
				if (!page) {
					page = empblk_dram_insert(dram, idx,
								  GFP_NOWAIT);
					if (IS_ERR(page))
						return PTR_ERR(page);
				}
				src = bvec_kmap_local(&bvec);
				dst = kmap_local_page(page);
				memcpy(dst + off, src + done, len);
				kunmap_local(dst);
				kunmap_local(src);
			} else if (page) {
				src = kmap_local_page(page);
				dst = bvec_kmap_local(&bvec);
				memcpy(dst + done, src + off, len);
				kunmap_local(dst);
				kunmap_local(src);
			} else {
				dst = bvec_kmap_local(&bvec);
				memset(dst + done, 0, len);
				kunmap_local(dst);
				unwritten += len;
			}
			pos += len;
			done += len;
		}
	}
	if (unwritten)
		empblk_stat_add(dram->tier.dev, EMPBLK_STAT_UNWRITTEN_READS,
				unwritten >> PAGE_SHIFT);
	return 0;
}

/*
 * Slow path, worker context in a NOIO scope: make sure every page the
 * write touches exists, sleeping in the allocator if needed.
 */
static int empblk_dram_populate(struct empblk_dram *dram, struct request *rq)
{
	pgoff_t first = blk_rq_pos(rq) >> EMPBLK_PAGE_SECTORS_SHIFT;
	pgoff_t last = (blk_rq_pos(rq) + blk_rq_sectors(rq) - 1) >>
		       EMPBLK_PAGE_SECTORS_SHIFT;
	pgoff_t idx;

	for (idx = first; idx <= last; idx++) {
		struct page *page;

		if (empblk_rq_served(rq, (u64)idx << PAGE_SHIFT) ||
		    xa_load(&dram->pages, idx))
			continue;
		page = empblk_dram_insert(dram, idx,
					  GFP_NOIO | __GFP_RETRY_MAYFAIL);
		if (IS_ERR(page))
			return PTR_ERR(page);
		cond_resched();
	}
	return 0;
}

static blk_status_t empblk_dram_errno_to_status(struct empblk_dram *dram,
						struct request *rq, int err)
{
	struct empblk_dev *dev = dram->tier.dev;

	switch (err) {
	case 0:
		return BLK_STS_OK;
	case -ENOSPC:
		empblk_stat_inc(dev, EMPBLK_STAT_NOSPACE_ERRORS);
		pr_err_ratelimited("%s: DRAM budget of %llu MiB is full and no further tier is configured: write of %u bytes at sector %llu fails\n",
				   dev->disk->disk_name,
				   (u64)dram->budget_pages >> (20 - PAGE_SHIFT),
				   blk_rq_bytes(rq),
				   (unsigned long long)blk_rq_pos(rq));
		return BLK_STS_NOSPC;
	default:
		empblk_stat_inc(dev, EMPBLK_STAT_ALLOC_FAILURES);
		pr_err_ratelimited("%s: out of memory for a DRAM page: write of %u bytes at sector %llu fails\n",
				   dev->disk->disk_name, blk_rq_bytes(rq),
				   (unsigned long long)blk_rq_pos(rq));
		return BLK_STS_RESOURCE;
	}
}

/*
 * Serve a read or write (empblk_tier_ops.rw). A write that needs memory
 * that could not be had without sleeping returns -EAGAIN: the worker
 * calls again with @may_sleep, in a NOIO scope.
 */
static int empblk_dram_rw(struct empblk_tier *t, struct request *rq,
			  bool may_sleep)
{
	struct empblk_dram *dram = to_dram(t);
	int ret, tries = 0;

	do {
		if (may_sleep) {
			ret = empblk_dram_populate(dram, rq);
			if (ret)
				break;
		}
		rcu_read_lock();
		ret = empblk_dram_copy(dram, rq);
		rcu_read_unlock();
		/* a racing discard can punch a hole between populate and copy */
	} while (ret == -EAGAIN && may_sleep && ++tries < 3);

	if (ret == -EAGAIN && !may_sleep)
		return -EAGAIN;
	empblk_complete_rq(t->dev, rq, empblk_dram_errno_to_status(dram, rq,
								   ret));
	return 0;
}

/* Zero part of the page at @idx, if there is one; RCU keeps it alive. */
static void empblk_dram_zero(struct empblk_dram *dram, pgoff_t idx,
			     unsigned int off, unsigned int len)
{
	struct page *page;

	rcu_read_lock();
	page = xa_load(&dram->pages, idx);
	if (page)
		memzero_page(page, off, len);
	rcu_read_unlock();
}

/**
 * empblk_dram_free_range() - discard or zero a sector range
 * @dram: DRAM tier
 * @sector: first sector
 * @nr_sects: number of sectors
 * @keep_pages: zero pages in place instead of freeing them (write-zeroes
 *	with REQ_NOUNMAP: the range must stay allocated)
 * @may_sleep: called from the worker; yield the CPU on long ranges
 *
 * Whole pages are freed (after an RCU grace period); partial pages at the
 * edges are zeroed, so the range reads back as zeroes either way. Only
 * populated pages are visited. Never allocates.
 */
static void empblk_dram_free_range(struct empblk_dram *dram, sector_t sector,
				   unsigned int nr_sects, bool keep_pages,
				   bool may_sleep)
{
	u64 pos = (u64)sector << SECTOR_SHIFT;
	u64 end = pos + ((u64)nr_sects << SECTOR_SHIFT);
	unsigned long visited = 0;
	struct page *page;
	pgoff_t idx;

	/* partial head page */
	if (offset_in_page(pos)) {
		unsigned int len = min_t(u64, end - pos,
					 PAGE_SIZE - offset_in_page(pos));

		empblk_dram_zero(dram, pos >> PAGE_SHIFT, offset_in_page(pos),
				 len);
		pos += len;
	}
	/* partial tail page; pos is page aligned from here on */
	if (pos < end && offset_in_page(end)) {
		empblk_dram_zero(dram, end >> PAGE_SHIFT, 0, offset_in_page(end));
		end -= offset_in_page(end);
	}
	if (pos >= end)
		return;

	xa_for_each_range(&dram->pages, idx, page, pos >> PAGE_SHIFT,
			  (end >> PAGE_SHIFT) - 1) {
		if (keep_pages) {
			empblk_dram_zero(dram, idx, 0, PAGE_SIZE);
		} else {
			/*
			 * Only the page the erase hands back is ours to free;
			 * it is uncharged with the erase, under the lock, as
			 * empblk_dram_insert() charges it.
			 */
			xa_lock(&dram->pages);
			page = __xa_erase(&dram->pages, idx);
			if (page)
				atomic_long_dec(&dram->used_pages);
			xa_unlock(&dram->pages);
			if (page)
				call_rcu(&page->rcu_head, empblk_free_page_rcu);
		}
		if (may_sleep && !(++visited % 1024))
			cond_resched();
	}
}

/*
 * Serve a discard or write-zeroes (empblk_tier_ops.discard); a long one
 * from the worker, where it may yield the CPU.
 */
static int empblk_dram_discard(struct empblk_tier *t, struct request *rq,
			       bool may_sleep)
{
	if (!may_sleep && blk_rq_bytes(rq) > EMPBLK_INLINE_DISCARD_MAX)
		return -EAGAIN;
	empblk_dram_free_range(to_dram(t), blk_rq_pos(rq), blk_rq_sectors(rq),
			       req_op(rq) == REQ_OP_WRITE_ZEROES &&
			       (rq->cmd_flags & REQ_NOUNMAP), may_sleep);
	empblk_complete_rq(t->dev, rq, BLK_STS_OK);
	return 0;
}

/*
 * Set up an empty DRAM tier of @budget_mb. No data page is allocated
 * here; only the emergency reserve is filled (best effort).
 */
static void empblk_dram_init(struct empblk_dram *dram, u64 budget_mb)
{
	xa_init(&dram->pages);
	dram->budget_pages = budget_mb << (20 - PAGE_SHIFT);
	atomic_long_set(&dram->used_pages, 0);
	spin_lock_init(&dram->reserve_lock);
	INIT_LIST_HEAD(&dram->reserve);
	dram->reserve_nr = 0;
	dram->reserve_target = budget_mb ? empblk_reserve_pages : 0;
	INIT_WORK(&dram->refill_work, empblk_reserve_refill);
	if (dram->reserve_target)
		empblk_reserve_refill(&dram->refill_work);
}

/* Free every page of the tier; no I/O is in flight. */
static void empblk_dram_exit(struct empblk_dram *dram)
{
	struct page *page, *tmp;
	unsigned long idx;

	cancel_work_sync(&dram->refill_work);
	xa_for_each(&dram->pages, idx, page) {
		__free_page(page);
		atomic_long_dec(&dram->used_pages);
		cond_resched();
	}
	xa_destroy(&dram->pages);
	list_for_each_entry_safe(page, tmp, &dram->reserve, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	dram->reserve_nr = 0;
	WARN_ON_ONCE(atomic_long_read(&dram->used_pages));
}

static void empblk_dram_usage(struct empblk_tier *t, struct empblk_usage *u)
{
	struct empblk_dram *dram = to_dram(t);

	u->dram_budget += (u64)dram->budget_pages << PAGE_SHIFT;
	u->dram_used += (u64)atomic_long_read(&dram->used_pages) << PAGE_SHIFT;
	u->reserve_pages += READ_ONCE(dram->reserve_nr);
}

static void empblk_dram_destroy(struct empblk_tier *t)
{
	struct empblk_dram *dram = to_dram(t);

	empblk_dram_exit(dram);
	kfree(dram);
}

static const struct empblk_tier_ops empblk_dram_ops = {
	.name		= "dram",
	.destroy	= empblk_dram_destroy,
	.rw		= empblk_dram_rw,
	.discard	= empblk_dram_discard,
	.usage		= empblk_dram_usage,
};

/**
 * empblk_dram_tier_create() - a DRAM tier, empty
 * @dev: the device
 * @budget_mb: most memory the tier may hold, in MiB
 *
 * Pages are allocated as writes reach them; only the emergency reserve is
 * filled here.
 *
 * Return: the tier, or ERR_PTR(-ENOMEM).
 */
struct empblk_tier *empblk_dram_tier_create(struct empblk_dev *dev,
					    u64 budget_mb)
{
	struct empblk_dram *dram = kzalloc(sizeof(*dram), GFP_KERNEL);

	if (!dram)
		return ERR_PTR(-ENOMEM);
	dram->tier.ops = &empblk_dram_ops;
	dram->tier.dev = dev;
	empblk_dram_init(dram, budget_mb);
	return &dram->tier;
}

#ifdef EMPBLK_KUNIT_TEST
#include "dram_kunit.c"
#endif
