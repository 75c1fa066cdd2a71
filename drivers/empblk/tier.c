// SPDX-License-Identifier: GPL-2.0
/*
 * The tier stack of a device: which tiers a mem_path makes, in which
 * order, and the walks over the stack that the device needs (start, stop,
 * usage). The one place that knows which tiers exist; see tier.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/highmem.h>

#include "cache_policy.h"
#include "compat.h"
#include "empblk.h"
#include "stripe.h"

/* donors or SSDs: a stripe set */
static bool empblk_has_stripes(const struct empblk_params *p)
{
	return p->spec.nr_donors || p->spec.nr_ssds;
}

/* donors or SSDs with dram:MB in front: the DRAM tier is their cache */
static bool empblk_wants_cache(const struct empblk_params *p)
{
	return empblk_has_stripes(p) && p->spec.dram_mb;
}

/**
 * empblk_rq_zero_range() - zero a part of a request's data
 * @rq: the request
 * @off: where the part starts, in bytes from the request's start
 * @len: its length
 */
void empblk_rq_zero_range(struct request *rq, u64 off, u64 len)
{
	struct req_iterator iter;
	struct bio_vec bvec;
	u64 at = 0;

	rq_for_each_segment(bvec, rq, iter) {
		u64 s = max(at, off), e = min(at + bvec.bv_len, off + len);

		if (s < e) {
			void *p = bvec_kmap_local(&bvec);

			memset(p + (s - at), 0, e - s);
			kunmap_local(p);
		}
		at += bvec.bv_len;
		if (at >= off + len)
			break;
	}
}

/**
 * empblk_rq_zero_pages() - zero pages of a request's data
 * @rq: the request
 * @pages: which: bit i for its i-th page
 */
void empblk_rq_zero_pages(struct request *rq, const unsigned long *pages)
{
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	struct req_iterator iter;
	struct bio_vec bvec;

	rq_for_each_segment(bvec, rq, iter) {
		unsigned int off = 0, len;

		for (; off < bvec.bv_len; off += len, pos += len) {
			len = min_t(u64, bvec.bv_len - off,
				    PAGE_SIZE - offset_in_page(pos));
			if (test_bit(empblk_rq_page(rq, pos), pages))
				memzero_page(bvec.bv_page,
					     bvec.bv_offset + off, len);
		}
	}
}

/**
 * empblk_tier_end_rq() - a tier ends a request (its part of it)
 * @t: the tier
 * @rq: the request
 * @sts: how it went
 *
 * A stripe set's member ends its part through the stripe set, which ends
 * the request when every member has; any other tier ends the request.
 */
void empblk_tier_end_rq(struct empblk_tier *t, struct request *rq,
			blk_status_t sts)
{
	if (t->up)
		t->up->ops->end_rq(t->up, rq, sts);
	else
		empblk_complete_rq(t->dev, rq, sts);
}

/*
 * What the backends give with p->replicas copies of each extent, each on
 * a different backend, in MiB: at most half of their extents (with two),
 * and no more than the others have beside the largest; in whole rows of
 * lanes. Without replicas, the mem_path's total.
 */
static u64 empblk_tiers_give_mb(const struct empblk_params *p)
{
	const struct empblk_spec *s = &p->spec;
	unsigned int i, lanes = s->nr_donors + s->nr_ssds;
	u64 ext = 0, most = 0, n;

	if (p->replicas < 2 || lanes < 2)
		return s->total_mb;
	for (i = 0; i < lanes; i++) {
		u64 mb = i < s->nr_donors ? s->donors[i].mb :
			 s->ssds[i - s->nr_donors].mb;

		n = mb >> (EMPBLK_EXT_SHIFT - 20);
		ext += n;
		most = max(most, n);
	}
	n = min(ext / p->replicas, ext - most);
	return (n - n % lanes) << (EMPBLK_EXT_SHIFT - 20);
}

/**
 * empblk_capacity_mb() - a device's size
 * @p: its parameters, valid (empblk_tiers_validate())
 *
 * Return: size_mb when set, else what its tiers give, in MiB.
 */
u64 empblk_capacity_mb(const struct empblk_params *p)
{
	return p->size_mb ? p->size_mb : empblk_tiers_give_mb(p);
}

/**
 * empblk_tiers_validate() - check what the tiers need of a configuration
 * @p: parameters about to be enabled
 * @name: device name for messages
 *
 * Return: 0 or -EINVAL with the reason logged.
 */
int empblk_tiers_validate(const struct empblk_params *p, const char *name)
{
	unsigned int backends = p->spec.nr_donors + p->spec.nr_ssds;
	u64 given = empblk_tiers_give_mb(p);

	if (p->replicas > 1 && backends < p->replicas) {
		pr_err("%s: replicas %u needs at least %u backends (donors and SSDs); mem_path has %u\n",
		       name, p->replicas, p->replicas, backends);
		return -EINVAL;
	}
	if (empblk_has_stripes(p) && !given) {
		pr_err("%s: replicas %u: the donors and SSDs give no whole row of %u extents with a copy on each of %u of them\n",
		       name, p->replicas, backends, p->replicas);
		return -EINVAL;
	}
	if (empblk_has_stripes(p) && p->size_mb > given) {
		pr_err("%s: size_mb %llu is larger than the %llu MiB the donors and SSDs give%s\n",
		       name, p->size_mb, given,
		       p->replicas > 1 ? " with replicas" : "");
		return -EINVAL;
	}
	if (p->spec.nr_ssds && p->poll_queues) {
		pr_err("%s: poll_queues needs donors: SSDs complete from their own interrupts\n",
		       name);
		return -EINVAL;
	}
	return 0;
}

/* The stack the mem_path asks for, top first, nothing started. */
static struct empblk_tier *empblk_tiers_build_below(struct empblk_dev *dev)
{
	const struct empblk_params *p = &dev->params;
	struct empblk_tier *remote = NULL, *ssd = NULL, *below, *top;
	unsigned int slots = 0, pio_pages = 0;

	if (!empblk_has_stripes(p))
		return empblk_dram_tier_create(dev, p->spec.dram_mb);
	/* the cache's writebacks and fetches */
	if (empblk_wants_cache(p)) {
		/* a page I/O goes to each copy at once */
		slots = 2 * empblk_cache_nr_wb(p->block_size) * p->replicas;
		pio_pages = empblk_cache_pio_pages(p->block_size);
	}
	/* the rebuild's copying: one piece at a time */
	if (p->replicas > 1) {
		slots++;
		pio_pages = max_t(unsigned int, pio_pages,
				  EMPBLK_REBUILD_PAGES);
	}
	if (p->spec.nr_donors) {
		remote = empblk_remote_tier_create(dev, slots, pio_pages);
		if (IS_ERR(remote))
			return remote;
	}
	if (p->spec.nr_ssds) {
		ssd = empblk_ssd_tier_create(dev);
		if (IS_ERR(ssd)) {
			if (remote)
				empblk_tiers_destroy(remote);
			return ssd;
		}
	}
	below = empblk_stripe_tier_create(dev, remote, ssd);
	if (IS_ERR(below) || !empblk_wants_cache(p))
		return below;
	top = empblk_cache_tier_create(dev, p->spec.dram_mb, below);
	if (IS_ERR(top))
		empblk_tiers_destroy(below);
	return top;
}

/* ... with the zero-page layer on top */
static struct empblk_tier *empblk_tiers_build(struct empblk_dev *dev)
{
	u64 size_mb = empblk_capacity_mb(&dev->params);
	struct empblk_tier *below = empblk_tiers_build_below(dev), *top;

	if (IS_ERR(below))
		return below;
	top = empblk_zero_tier_create(dev, size_mb << 20, below);
	if (IS_ERR(top))
		empblk_tiers_destroy(below);
	return top;
}

/**
 * empblk_tiers_create() - build the tier stack of a device
 * @dev: the device, its params set, before its tag set exists
 * @lim: queue limits, tightened to what every tier can serve
 * @cmd_size: the per-request payload the stack needs
 *
 * Nothing is connected or allocated for serving yet: see
 * empblk_tiers_start().
 *
 * Return: the top of the stack, or an ERR_PTR.
 */
struct empblk_tier *empblk_tiers_create(struct empblk_dev *dev,
					struct empblk_limits *lim,
					unsigned int *cmd_size)
{
	struct empblk_tier *top = empblk_tiers_build(dev), *t;
	unsigned int off = 0;

	if (IS_ERR(top))
		return top;
	for (t = top; t; t = t->next) {
		t->pdu_offset = off;
		off += ALIGN(t->ops->cmd_size, sizeof(long));
		if (t->ops->limits)
			t->ops->limits(t, lim);
	}
	*cmd_size = sizeof(struct empblk_cmd) + off;
	return top;
}

/**
 * empblk_tiers_start() - start a stack, bottom first
 * @t: its top
 *
 * Return: 0, or the first error, with every tier stopped again.
 */
int empblk_tiers_start(struct empblk_tier *t)
{
	int ret;

	if (!t)
		return 0;
	ret = empblk_tiers_start(t->next);
	if (ret)
		return ret;
	if (t->ops->start) {
		ret = t->ops->start(t);
		if (ret)
			empblk_tiers_stop(t->next);
	}
	return ret;
}

/**
 * empblk_tiers_stop() - stop a started stack, top first
 * @t: its top
 */
void empblk_tiers_stop(struct empblk_tier *t)
{
	for (; t; t = t->next)
		if (t->ops->stop)
			t->ops->stop(t);
}

/**
 * empblk_tiers_destroy() - free a stack (stopped, or never started)
 * @t: its top
 */
void empblk_tiers_destroy(struct empblk_tier *t)
{
	while (t) {
		struct empblk_tier *next = t->next;

		t->ops->destroy(t);
		t = next;
	}
}

/**
 * empblk_tiers_usage() - what a started stack holds
 * @t: its top
 * @u: filled in
 */
void empblk_tiers_usage(struct empblk_tier *t, struct empblk_usage *u)
{
	memset(u, 0, sizeof(*u));
	u->read_sinks = "none";
	u->rebuild_state = empblk_rebuild_states[EMPBLK_REBUILD_IDLE];
	for (; t; t = t->next)
		if (t->ops->usage)
			t->ops->usage(t, u);
}

/**
 * empblk_health() - a device's health, by what its tiers hold
 * @u: their usage (empblk_tiers_usage())
 *
 * Return: "lost" while data that went with failed backends were not
 * written since; else "degraded" while an extent is short of a copy
 * (until the rebuild gives it one); else "ok": every extent has the
 * copies it should, on live backends, whatever backends failed before.
 */
const char *empblk_health(const struct empblk_usage *u)
{
	if (u->lost_bytes)
		return "lost";
	if (u->degraded_bytes)
		return "degraded";
	return "ok";
}

/**
 * empblk_tier_poll() - a tier's ->poll, or nothing to reap
 * @t: the tier
 * @hctx_idx: a polled hardware queue
 *
 * Return: completions reaped.
 */
int empblk_tier_poll(struct empblk_tier *t, unsigned int hctx_idx)
{
	return t->ops->poll ? t->ops->poll(t, hctx_idx) : 0;
}

/**
 * empblk_tier_timeout() - a tier's ->timeout, or reset the timer
 * @t: the tier
 * @rq: the request that timed out
 *
 * Return: what blk-mq is to do with @rq.
 */
enum blk_eh_timer_return empblk_tier_timeout(struct empblk_tier *t,
					     struct request *rq)
{
	return t->ops->timeout ? t->ops->timeout(t, rq) : BLK_EH_RESET_TIMER;
}

/**
 * empblk_tier_flush() - a tier's ->flush, or complete the flush at once
 * @t: the tier
 * @rq: the flush
 * @may_sleep: as for ->flush
 *
 * Without ->flush every completed write is in memory that lives as long
 * as the device.
 *
 * Return: as ->flush.
 */
int empblk_tier_flush(struct empblk_tier *t, struct request *rq,
		      bool may_sleep)
{
	if (t->ops->flush)
		return t->ops->flush(t, rq, may_sleep);
	empblk_complete_rq(t->dev, rq, BLK_STS_OK);
	return 0;
}

/**
 * empblk_layer_flush() - a layer's ->flush: the tier below's
 * @t: the layer
 * @rq: the flush
 * @may_sleep: as for ->flush
 *
 * Return: as ->flush.
 */
int empblk_layer_flush(struct empblk_tier *t, struct request *rq,
		       bool may_sleep)
{
	return empblk_tier_flush(t->next, rq, may_sleep);
}

/**
 * empblk_layer_poll() - a layer's ->poll: the tier below's
 * @t: the layer
 * @hctx_idx: a polled hardware queue
 *
 * Return: completions reaped.
 */
int empblk_layer_poll(struct empblk_tier *t, unsigned int hctx_idx)
{
	return empblk_tier_poll(t->next, hctx_idx);
}

/**
 * empblk_layer_timeout() - a layer's ->timeout: the tier below's
 * @t: the layer
 * @rq: the request that timed out
 *
 * Return: what blk-mq is to do with @rq.
 */
enum blk_eh_timer_return empblk_layer_timeout(struct empblk_tier *t,
					      struct request *rq)
{
	return empblk_tier_timeout(t->next, rq);
}

/**
 * empblk_layer_abort() - a layer's ->abort: the tier below's
 * @t: the layer
 * @why: for the log
 */
void empblk_layer_abort(struct empblk_tier *t, const char *why)
{
	empblk_tier_abort(t->next, why);
}

/**
 * empblk_tier_abort() - a tier's ->abort, if it has one
 * @t: the tier
 * @why: for the log
 */
void empblk_tier_abort(struct empblk_tier *t, const char *why)
{
	if (t->ops->abort)
		t->ops->abort(t, why);
}
