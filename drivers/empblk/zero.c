// SPDX-License-Identifier: GPL-2.0
/*
 * Zero pages: the layer on top of every stack. A page written all zero is
 * kept as one bit and goes no further: nothing is stored in DRAM, sent to
 * a donor or written to an SSD. A read of such a page is zero-filled here
 * with no I/O. Whatever the tiers below still hold for that page (an
 * older version) is never read while the bit is set. A write of other
 * data clears the bit and goes down; so do a discard and a write-zeroes
 * of whole pages, which the tiers below then serve as always.
 *
 * The bitmap has one bit per page of the device (32 MiB for a 1 TiB
 * device), allocated when the device is created; the I/O path only flips
 * bits, atomically. What this layer serves is marked in empblk_cmd.served
 * for the tiers below, which skip it.
 *
 * Since Linux 6.12 swap itself keeps zero-filled pages in a bitmap and
 * never writes them; on 6.1, and for every other user of the device, this
 * layer does.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/blk-mq.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "empblk.h"

/**
 * struct empblk_zero - the zero-page layer
 * @tier: its tier interface; @tier.next serves everything else
 * @bits: one per page: set while the page is all zero
 * @nr_zero: bits set
 */
struct empblk_zero {
	struct empblk_tier tier;
	unsigned long *bits;
	atomic_long_t nr_zero;
};

static struct empblk_zero *to_zero(struct empblk_tier *t)
{
	return container_of(t, struct empblk_zero, tier);
}

/*
 * The pages of @rq that hold anything but zeroes, into @nonzero (one bit
 * per page of the request).
 */
static void empblk_zero_scan(struct request *rq, unsigned long *nonzero)
{
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	struct req_iterator iter;
	struct bio_vec bvec;

	bitmap_zero(nonzero, EMPBLK_MAX_RQ_PAGES);
	rq_for_each_segment(bvec, rq, iter) {
		unsigned int off = 0, len;
		void *p = bvec_kmap_local(&bvec);

		/* a segment may straddle two pages of the device */
		for (; off < bvec.bv_len; off += len, pos += len) {
			unsigned int i = empblk_rq_page(rq, pos);

			len = min_t(u64, bvec.bv_len - off,
				    PAGE_SIZE - offset_in_page(pos));
			if (!test_bit(i, nonzero) && memchr_inv(p + off, 0, len))
				__set_bit(i, nonzero);
		}
		kunmap_local(p);
	}
}

/*
 * Serve the zero pages of a read or write (empblk_tier_ops.rw); the rest
 * goes down. Idempotent, as the worker may call it again.
 */
static int empblk_zero_rw(struct empblk_tier *t, struct request *rq,
			  bool may_sleep)
{
	struct empblk_zero *z = to_zero(t);
	struct empblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	unsigned long first = blk_rq_pos(rq) >> (PAGE_SHIFT - SECTOR_SHIFT);
	unsigned int i, n = empblk_rq_pages(rq), hits = 0;
	DECLARE_BITMAP(nonzero, EMPBLK_MAX_RQ_PAGES);

	if (rq_data_dir(rq) == WRITE) {
		empblk_zero_scan(rq, nonzero);
		for (i = 0; i < n; i++) {
			if (test_bit(i, nonzero)) {
				if (test_and_clear_bit(first + i, z->bits))
					atomic_long_dec(&z->nr_zero);
				continue;
			}
			if (!test_and_set_bit(first + i, z->bits))
				atomic_long_inc(&z->nr_zero);
			__set_bit(i, cmd->served);
			hits++;
		}
		/* counted once: the worker's pass is a second one */
		if (!may_sleep)
			empblk_stat_add(t->dev, EMPBLK_STAT_ZERO_PAGE_WRITES,
					hits);
	} else {
		for (i = 0; i < n; i++) {
			if (test_bit(first + i, z->bits)) {
				__set_bit(i, cmd->served);
				hits++;
			}
		}
		if (hits)
			empblk_rq_zero_pages(rq, cmd->served);
		if (!may_sleep)
			empblk_stat_add(t->dev, EMPBLK_STAT_ZERO_PAGE_READS,
					hits);
	}
	if (hits == n) {
		empblk_complete_rq(t->dev, rq, BLK_STS_OK);
		return 0;
	}
	return t->next->ops->rw(t->next, rq, may_sleep);
}

/*
 * A discard or write-zeroes (empblk_tier_ops.discard): the pages it
 * covers whole are no longer zero pages here; the tier below serves it.
 * A long one clears its bits from the worker, where it may yield.
 */
static int empblk_zero_discard(struct empblk_tier *t, struct request *rq,
			       bool may_sleep)
{
	struct empblk_zero *z = to_zero(t);
	u64 start = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	unsigned long i = DIV_ROUND_UP_ULL(start, PAGE_SIZE);
	unsigned long end = (start + blk_rq_bytes(rq)) >> PAGE_SHIFT;

	if (!may_sleep && blk_rq_bytes(rq) > EMPBLK_INLINE_DISCARD_MAX)
		return -EAGAIN;
	for (i = find_next_bit(z->bits, end, i); i < end;
	     i = find_next_bit(z->bits, end, i + 1)) {
		if (test_and_clear_bit(i, z->bits))
			atomic_long_dec(&z->nr_zero);
		if (may_sleep && !(i & 1023))
			cond_resched();
	}
	return t->next->ops->discard(t->next, rq, may_sleep);
}

static void empblk_zero_usage(struct empblk_tier *t, struct empblk_usage *u)
{
	u->zero_pages += atomic_long_read(&to_zero(t)->nr_zero);
}

static void empblk_zero_destroy(struct empblk_tier *t)
{
	struct empblk_zero *z = to_zero(t);

	vfree(z->bits);
	kfree(z);
}

static const struct empblk_tier_ops empblk_zero_ops = {
	.name		= "zero",
	.destroy	= empblk_zero_destroy,
	.rw		= empblk_zero_rw,
	.discard	= empblk_zero_discard,
	.flush		= empblk_layer_flush,
	.poll		= empblk_layer_poll,
	.timeout	= empblk_layer_timeout,
	.abort		= empblk_layer_abort,
	.usage		= empblk_zero_usage,
};

/**
 * empblk_zero_tier_create() - the zero-page layer over a stack
 * @dev: the device
 * @capacity: its size in bytes
 * @next: the stack below
 *
 * Return: the layer, or ERR_PTR(-ENOMEM).
 */
struct empblk_tier *empblk_zero_tier_create(struct empblk_dev *dev,
					    u64 capacity,
					    struct empblk_tier *next)
{
	struct empblk_zero *z = kzalloc(sizeof(*z), GFP_KERNEL);

	if (!z)
		return ERR_PTR(-ENOMEM);
	z->bits = vzalloc(array_size(BITS_TO_LONGS(capacity >> PAGE_SHIFT),
				     sizeof(long)));
	if (!z->bits) {
		kfree(z);
		return ERR_PTR(-ENOMEM);
	}
	z->tier.ops = &empblk_zero_ops;
	z->tier.dev = dev;
	z->tier.next = next;
	atomic_long_set(&z->nr_zero, 0);
	return &z->tier;
}
