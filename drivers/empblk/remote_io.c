// SPDX-License-Identifier: GPL-2.0
/*
 * The remote tier's I/O path: reads and writes over one-sided RDMA, page
 * I/O of a layer above, polling and timeouts; and its tier operations.
 *
 * Zero copy. A request's pages are DMA mapped once and carved into work
 * requests at subblock boundaries (consecutive pieces on one donor chunk
 * share one); nothing is allocated in the I/O path: scatterlist, SGEs and
 * work requests live in the request payload (struct empblk_rcmd). Over
 * iWARP a read's sink must be registered memory (struct empblk_rmr): each
 * I/O queue keeps a pool of one MR per tag for that, allocated when it
 * connects. Parts of a request that a layer above served
 * (empblk_rq_served()) are skipped.
 *
 * The tier is a member of the device's stripe set (stripe.c), which maps
 * the extents (donor chunks) a request needs before handing it over and
 * holds them until it ends: this tier serves the parts on its donors
 * (empblk_stripe_locate()) and ends its part through the stripe set.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <rdma/mr_pool.h>

#include "compat.h"
#include "remote.h"

/*
 * Zero the pieces of a read no write has reached (cmd->holes, one bit per
 * piece: empblk_rq_piece()). Runs after the pages are unmapped: with
 * bounce buffering, CPU stores into a buffer mapped for the device would
 * be lost at unmap.
 */
static void empblk_remote_zero_holes(struct empblk_rcmd *cmd)
{
	struct request *rq = cmd->rq;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 sb = 1ULL << cmd->r->sb_shift;
	u64 done = 0, zeroed = 0;
	unsigned int i;

	for (i = 0; done < blk_rq_bytes(rq); i++) {
		u64 len = empblk_rq_piece(rq, pos, sb);

		if (cmd->holes & BIT_ULL(i)) {
			empblk_rq_zero_range(rq, done, len);
			zeroed += len;
		}
		pos += len;
		done += len;
	}
	empblk_stat_add(cmd->r->tier.dev, EMPBLK_STAT_UNWRITTEN_READS,
			DIV_ROUND_UP(zeroed, PAGE_SIZE));
}

/* Drop the chunk references of the first @nwr work requests of @cmd. */
static void empblk_cmd_put_chunks(struct empblk_rcmd *cmd, unsigned int nwr)
{
	unsigned int i;

	for (i = 0; i < nwr; i++)
		if (cmd->rwrs[i].rc)
			atomic_dec(&cmd->rwrs[i].rc->inflight);
}

/* Give the READ sink MRs of @cmd back to their pools. */
static void empblk_cmd_put_sinks(struct empblk_rcmd *cmd)
{
	unsigned int i;

	for (i = 0; i < cmd->nmr; i++) {
		struct empblk_rmr *m = &cmd->rmrs[i];

		ib_mr_pool_put(m->q->cm_id->qp, &m->q->sink_mrs, m->mr);
		m->mr = NULL;
	}
	cmd->nmr = 0;
}

/* Undo the mapping, chunk references and sink MRs of a request not posted. */
static void empblk_cmd_unprepare(struct empblk_rcmd *cmd, unsigned int nwr)
{
	empblk_cmd_put_chunks(cmd, nwr);
	empblk_cmd_put_sinks(cmd);
	ib_dma_unmap_sg(cmd->r->ibdev, cmd->sgl, cmd->nents,
			rq_dma_dir(cmd->rq));
	cmd->nents = 0;
}

/* All work requests of @cmd are done (or none was needed): end it. */
static void empblk_remote_finish(struct empblk_rcmd *cmd)
{
	struct empblk_dev *dev = cmd->r->tier.dev;
	struct request *rq = cmd->rq;

	empblk_cmd_unprepare(cmd, cmd->nwr);
	WRITE_ONCE(cmd->nwr, 0);
	if (!READ_ONCE(cmd->failed)) {
		if (cmd->holes)
			empblk_remote_zero_holes(cmd);
		empblk_tier_end_rq(&cmd->r->tier, rq, BLK_STS_OK);
		return;
	}
	if (READ_ONCE(cmd->retry)) {
		/* its donor reconnects: the request runs again, whole */
		empblk_tier_end_rq(&cmd->r->tier, rq, EMPBLK_STS_RETRY);
		return;
	}
	empblk_stat_inc(dev, EMPBLK_STAT_REMOTE_ERRORS);
	pr_err_ratelimited("%s: remote %s of %u bytes at sector %llu failed: %s\n",
			   dev->disk->disk_name,
			   rq_data_dir(rq) == WRITE ? "write" : "read",
			   blk_rq_bytes(rq), (unsigned long long)blk_rq_pos(rq),
			   READ_ONCE(cmd->failed));
	empblk_tier_end_rq(&cmd->r->tier, rq, BLK_STS_IOERR);
}

static void empblk_remote_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct empblk_rwr *rwr = container_of(wc->wr_cqe, struct empblk_rwr,
					      cqe);
	struct empblk_rcmd *cmd = rwr->cmd;

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		struct empblk_rqueue *q = wc->qp->qp_context;

		/* the first failure names the cause */
		cmpxchg(&cmd->failed, NULL, ib_wc_status_msg(wc->status));
		empblk_donor_wc_error(q->donor, wc->status);
		if (empblk_donor_retry(q->donor))
			WRITE_ONCE(cmd->retry, true);
	} else if (rwr->inv_mr) {
		/* READ_WITH_INV: the sink is invalid again, ready to reuse */
		rwr->inv_mr->need_inval = false;
	}
	if (atomic_dec_and_test(&cmd->pending))
		empblk_remote_finish(cmd);
}

/* LOCAL_INV and REG_MR of a READ sink are unsignaled: only failures land */
static void empblk_sink_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct empblk_rqueue *q = wc->qp->qp_context;

	if (wc->status != IB_WC_SUCCESS)
		empblk_donor_wc_error(q->donor, wc->status);
}

static struct ib_cqe empblk_sink_cqe = { .done = empblk_sink_done };

/*
 * The READ sink of @cmd on I/O queue @q: on first use, an MR from the
 * queue's pool with the request's @n mapped entries registered in it,
 * its LOCAL_INV (when needed) and REG_MR prepared, not posted.
 *
 * Return: the registration, ERR_PTR(-EAGAIN) when the pool is empty
 * (it holds one MR per tag, so not in practice), or ERR_PTR(-EINVAL) when
 * the pages do not fit one MR.
 */
static struct empblk_rmr *empblk_sink_get(struct empblk_rcmd *cmd,
					  struct empblk_rqueue *q, int n)
{
	struct ib_qp *qp = q->cm_id->qp;
	struct empblk_rmr *m;
	unsigned int i;
	int ret;

	for (i = 0; i < cmd->nmr; i++)
		if (cmd->rmrs[i].q == q)
			return &cmd->rmrs[i];
	if (WARN_ON_ONCE(cmd->nmr == ARRAY_SIZE(cmd->rmrs)))
		return ERR_PTR(-EINVAL);
	m = &cmd->rmrs[cmd->nmr];
	m->mr = ib_mr_pool_get(qp, &q->sink_mrs);
	if (!m->mr)
		return ERR_PTR(-EAGAIN);
	ret = ib_map_mr_sg(m->mr, cmd->sgl, n, NULL, PAGE_SIZE);
	if (ret < n) {
		ib_mr_pool_put(qp, &q->sink_mrs, m->mr);
		m->mr = NULL;
		return ERR_PTR(-EINVAL);
	}
	m->q = q;
	cmd->nmr++;
	empblk_stat_inc(q->donor->dev, EMPBLK_STAT_READ_SINK_REGS);

	memset(&m->inv, 0, sizeof(m->inv));
	if (m->mr->need_inval) {
		/* the last use did not invalidate it: do that first */
		m->inv.opcode = IB_WR_LOCAL_INV;
		m->inv.ex.invalidate_rkey = m->mr->lkey;
		m->inv.wr_cqe = &empblk_sink_cqe;
		m->inv.next = &m->reg.wr;
	}
	ib_update_fast_reg_key(m->mr, ib_inc_rkey(m->mr->lkey));
	memset(&m->reg, 0, sizeof(m->reg));
	m->reg.wr.opcode = IB_WR_REG_MR;
	m->reg.wr.wr_cqe = &empblk_sink_cqe;
	m->reg.mr = m->mr;
	m->reg.key = m->mr->lkey;
	/* iWARP: the responder places the data through the sink's tag */
	m->reg.access = IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE;
	return m;
}

/*
 * Post the sink registrations of @cmd, each before the READs into it; the
 * last READ into each sink invalidates it (iWARP has READ_WITH_INV).
 */
static int empblk_post_sinks(struct empblk_rcmd *cmd)
{
	unsigned int i;
	int ret;

	for (i = 0; i < cmd->nmr; i++) {
		struct empblk_rmr *m = &cmd->rmrs[i];
		struct empblk_rwr *last = &cmd->rwrs[m->last];

		last->wr.wr.opcode = IB_WR_RDMA_READ_WITH_INV;
		last->wr.wr.ex.invalidate_rkey = m->mr->lkey;
		last->inv_mr = m->mr;
		ret = ib_post_send(m->q->cm_id->qp, m->mr->need_inval ?
				   &m->inv : &m->reg.wr, NULL);
		/* valid once registered, until a READ_WITH_INV completes */
		m->mr->need_inval = true;
		if (ret) {
			empblk_donor_lost(m->q->donor, "post failed");
			return ret;
		}
	}
	return 0;
}

/* Skip @len bytes of the mapped scatterlist at *@sg, *@sg_used. */
static void empblk_sg_skip(struct scatterlist **sg, u64 *sg_used, u64 len)
{
	while (len) {
		u64 take = min_t(u64, len, sg_dma_len(*sg) - *sg_used);

		len -= take;
		*sg_used += take;
		if (*sg_used == sg_dma_len(*sg)) {
			*sg = sg_next(*sg);
			*sg_used = 0;
		}
	}
}

/*
 * Whether the remote tier serves device offset @pos of @rq: not served by
 * a layer above, and on a donor (not on another member of the stripe
 * set); if so, which donor and where in its space.
 */
static bool empblk_remote_own(struct empblk_tier *t, struct request *rq,
			      u64 pos, unsigned int *di, u64 *doff)
{
	return !empblk_rq_served(rq, pos) &&
	       empblk_stripe_locate(t, empblk_stripe_rq_refs(t, rq), pos, di,
				    doff);
}

/*
 * The scatterlist of the parts of @rq the remote tier serves, and only
 * those: the SSD tier may be reading into the other pages at the same
 * time, and unmapping a bounce-buffered mapping of them would copy stale
 * data over what it read. Physically contiguous parts share an entry.
 * Return: its entries (at most one per page of the request: the queue
 * asks for page-aligned buffers).
 */
static int empblk_remote_sg(struct empblk_tier *t, struct request *rq,
			    struct scatterlist *sgl)
{
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	struct scatterlist *sg = NULL;
	struct req_iterator iter;
	struct bio_vec bvec;
	unsigned int di;
	int nents = 0;
	u64 doff;

	sg_init_table(sgl, EMPBLK_REMOTE_MAX_SEGS);
	rq_for_each_segment(bvec, rq, iter) {
		bool own = empblk_remote_own(t, rq, pos, &di, &doff);

		pos += bvec.bv_len;
		if (!own)
			continue;
		if (sg && page_to_phys(sg_page(sg)) + sg->offset + sg->length ==
			  page_to_phys(bvec.bv_page) + bvec.bv_offset) {
			sg->length += bvec.bv_len;
			continue;
		}
		if (WARN_ON_ONCE(nents == EMPBLK_REMOTE_MAX_SEGS))
			break;
		sg = sg ? sg_next(sg) : sgl;
		sg_set_page(sg, bvec.bv_page, bvec.bv_len, bvec.bv_offset);
		nents++;
	}
	if (sg)
		sg_mark_end(sg);
	return nents;
}

/*
 * Over iWARP, end a write's @nwr work requests with a fence READ on each
 * donor's queue they use (empblk_remote_fence()), after the last WRITE
 * there. Return: the work requests now.
 */
static unsigned int empblk_remote_fence_rq(struct empblk_rcmd *cmd,
					   unsigned int nwr)
{
	unsigned long fenced = 0;
	unsigned int i, n = nwr;

	for (i = nwr; i--; ) {
		struct empblk_rwr *w = &cmd->rwrs[i], *f;

		if (fenced & BIT(w->donor))
			continue;
		f = &cmd->rwrs[n];
		f->cmd = cmd;
		f->rc = NULL;
		f->inv_mr = NULL;
		f->donor = w->donor;
		f->cqe.done = empblk_remote_done;
		empblk_remote_fence(&cmd->r->donors[w->donor], &f->wr,
				    &cmd->fsges[n - nwr], &f->cqe,
				    w->wr.remote_addr, w->wr.rkey);
		fenced |= BIT(w->donor);
		n++;
	}
	empblk_stat_add(cmd->r->tier.dev, EMPBLK_STAT_WRITE_FENCES, n - nwr);
	return n;
}

/* empblk_remote_rw() in its RCU read-side section */
static int empblk_remote_post_rq(struct empblk_tier *t, struct request *rq)
{
	struct empblk_rcmd *cmd = empblk_tier_pdu(t, rq);
	struct empblk_remote *r = to_remote(t);
	struct empblk_dev *dev = t->dev;
	unsigned int hctx_idx = rq->mq_hctx->queue_num;
	bool is_write = rq_data_dir(rq) == WRITE;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 sb = 1ULL << r->sb_shift;
	unsigned int nwr = 0, nsge = 0, piece, i;
	struct empblk_rchunk *rwr_rc = NULL;
	struct empblk_rwr *rwr = NULL;
	struct scatterlist *sg;
	u64 sg_used = 0, done = 0, own = 0, rwr_end = 0;
	const char *why = "its donor is disconnected";
	int nents, n, ret;

	nents = empblk_remote_sg(t, rq, cmd->sgl);
	n = ib_dma_map_sg(r->ibdev, cmd->sgl, nents, rq_dma_dir(rq));
	if (!n) {
		/*
		 * No mapping space now (bounce buffers, IOMMU): back-pressure,
		 * not an error a swap-in would die of. Retried in a jiffy.
		 */
		return -EBUSY;
	}
	cmd->nents = nents;
	cmd->failed = NULL;
	cmd->holes = 0;
	cmd->nmr = 0;
	sg = cmd->sgl;

	/* pieces: within a subblock, served above as a whole or not at all */
	for (piece = 0; done < blk_rq_bytes(rq); piece++) {
		u64 len = empblk_rq_piece(rq, pos, sb);
		struct empblk_rmr *m = NULL;
		struct empblk_rqueue *q;
		struct empblk_donor *d;
		struct empblk_rchunk *rc, *ref;
		unsigned int di;
		u64 doff, left, raddr;

		if (!empblk_remote_own(t, rq, pos, &di, &doff)) {
			/* served above, or by another member: not mapped */
			rwr = NULL;
			goto next;
		}
		d = &r->donors[di];
		rc = &d->chunks[doff >> EMP_CHUNK_SHIFT];
		if (empblk_rchunk_get(rc)) {
			if (is_write) {
				/* the stripe set maps extents before writes */
				why = "its donor chunk is not allocated";
				goto out_unmap_ioerr;
			}
			/* never written: zeroes, after unmapping */
			cmd->holes |= BIT_ULL(piece);
			empblk_sg_skip(&sg, &sg_used, len);
			own += len;
			rwr = NULL;
			goto next;
		}
		if (test_bit(EMPBLK_DONOR_DEAD, &d->flags)) {
			atomic_dec(&rc->inflight);
			goto out_unmap_ioerr;
		}
		if (test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags)) {
			atomic_dec(&rc->inflight);
			goto out_retry;
		}
		raddr = rc->addr + (doff & (EMP_CHUNK_SIZE - 1));
		q = &d->ioqs[hctx_idx % d->nr_ioqs];

		if (d->reg_sinks && !is_write) {
			m = empblk_sink_get(cmd, q, n);
			if (IS_ERR(m)) {
				atomic_dec(&rc->inflight);
				if (PTR_ERR(m) == -EAGAIN)
					goto out_requeue;
				why = "its pages do not fit one memory registration";
				goto out_unmap_ioerr;
			}
		}

		/*
		 * Continue the previous WR when this piece follows it on the
		 * same chunk (one donor, or a subblock as large as the
		 * request); a WR of this request already holds that chunk.
		 */
		ref = rc;
		if (rwr && rwr->donor == di && rwr_rc == rc &&
		    rwr_end == raddr) {
			atomic_dec(&rc->inflight);
			ref = NULL;
		} else {
			rwr = NULL;
		}
		rwr_rc = rc;
		rwr_end = raddr + len;

		for (left = len; left; ) {
			u64 take = m ? left : min_t(u64, left,
						    sg_dma_len(sg) - sg_used);
			struct ib_sge *sge;

			if (m && rwr) {
				/* a sink is contiguous: grow the one SGE */
				rwr->wr.wr.sg_list[0].length += take;
				empblk_sg_skip(&sg, &sg_used, take);
				left -= take;
				break;
			}
			if (!rwr || rwr->wr.wr.num_sge ==
				    (is_write ? d->max_sge : d->max_rd_sge)) {
				if (nwr == EMPBLK_REMOTE_MAX_WRS) {
					if (ref)
						atomic_dec(&ref->inflight);
					goto out_unmap_ioerr;
				}
				/* the first WR of a piece holds its reference */
				rwr = &cmd->rwrs[nwr++];
				rwr->rc = ref;
				ref = NULL;
				rwr->inv_mr = NULL;
				rwr->cmd = cmd;
				rwr->donor = di;
				rwr->cqe.done = empblk_remote_done;
				rwr->wr.wr.wr_cqe = &rwr->cqe;
				rwr->wr.wr.opcode = is_write ? IB_WR_RDMA_WRITE :
							       IB_WR_RDMA_READ;
				rwr->wr.wr.send_flags = IB_SEND_SIGNALED;
				rwr->wr.wr.sg_list = &cmd->sges[nsge];
				rwr->wr.wr.num_sge = 0;
				rwr->wr.wr.next = NULL;
				rwr->wr.remote_addr = raddr + (len - left);
				rwr->wr.rkey = rc->rkey;
			}
			sge = &cmd->sges[nsge++];
			if (m) {
				sge->addr = m->mr->iova + own + (len - left);
				sge->lkey = m->mr->lkey;
				m->last = rwr - cmd->rwrs;
			} else {
				sge->addr = sg_dma_address(sg) + sg_used;
				sge->lkey = d->pd->local_dma_lkey;
			}
			sge->length = take;
			rwr->wr.wr.num_sge++;
			left -= take;
			empblk_sg_skip(&sg, &sg_used, take);
		}
		own += len;
next:
		pos += len;
		done += len;
	}

	if (!nwr) {
		/* all zeroes (or served above): complete now */
		empblk_remote_finish(cmd);
		return 0;
	}
	if (is_write && r->donors[0].reg_sinks)
		nwr = empblk_remote_fence_rq(cmd, nwr);

	/* the queues of donors seen live: as built before the flag cleared */
	smp_rmb();
	/* the last completion, in empblk_remote_done(), ends the request */
	atomic_set(&cmd->pending, nwr);
	WRITE_ONCE(cmd->nwr, nwr);
	cmd->retry = false;
	if (cmd->nmr && empblk_post_sinks(cmd)) {
		/* nothing counted was posted: every WR fails */
		WRITE_ONCE(cmd->failed, "post failed");
		if (atomic_sub_and_test(nwr, &cmd->pending))
			empblk_remote_finish(cmd);
		return 0;
	}
	for (i = 0; i < nwr; i++) {
		struct empblk_rwr *rwr = &cmd->rwrs[i];
		struct empblk_donor *d = &r->donors[rwr->donor];
		struct ib_qp *qp = d->ioqs[hctx_idx % d->nr_ioqs].cm_id->qp;

		ret = ib_post_send(qp, &rwr->wr.wr, NULL);
		if (unlikely(ret)) {
			/* the unposted ones count as failed completions */
			cmpxchg(&cmd->failed, NULL, "post failed");
			empblk_donor_lost(d, "post failed");
			if (empblk_donor_retry(d))
				WRITE_ONCE(cmd->retry, true);
			if (atomic_sub_and_test(nwr - i, &cmd->pending))
				empblk_remote_finish(cmd);
			return 0;
		}
	}
	return 0;

out_retry:
	/* nothing is posted: the request runs again once it is back */
	empblk_cmd_unprepare(cmd, nwr);
	empblk_tier_end_rq(t, rq, EMPBLK_STS_RETRY);
	return 0;

out_requeue:
	/* no sink MR free now: back-pressure, like a full DMA mapping */
	empblk_cmd_unprepare(cmd, nwr);
	return -EBUSY;

out_unmap_ioerr:
	empblk_cmd_unprepare(cmd, nwr);
	pr_err_ratelimited("%s: %s at sector %llu fails: %s\n",
			   dev->disk->disk_name, is_write ? "write" : "read",
			   (unsigned long long)blk_rq_pos(rq), why);
	empblk_stat_inc(dev, EMPBLK_STAT_REMOTE_ERRORS);
	empblk_tier_end_rq(t, rq, BLK_STS_IOERR);
	return 0;
}

/*
 * Serve the parts of a read or write on the donors (empblk_tier_ops.rw).
 * The hardware queue selects the I/O queue of each donor. Never sleeps.
 * A part on a donor that is reconnecting ends the request with
 * EMPBLK_STS_RETRY, before anything is posted; the queues it posts to are
 * those of one RCU read-side section, which a reconnect waits out.
 * Return: 0 when the request is taken care of (posted, completing from
 * the CQ, or already ended), or -EBUSY, with the request untouched, when
 * no DMA mapping or READ sink is free now (the stripe set requeues it).
 */
static int empblk_remote_rw(struct empblk_tier *t, struct request *rq,
			    bool may_sleep)
{
	int ret = 0;

	rcu_read_lock();
	/* its RDMA device is going away: again, without its donors */
	if (READ_ONCE(to_remote(t)->gone))
		empblk_tier_end_rq(t, rq, BLK_STS_IOERR);
	else
		ret = empblk_remote_post_rq(t, rq);
	rcu_read_unlock();
	return ret;
}

/* Unmap the pages of a page I/O and report its outcome to the layer. */
static void empblk_rpio_end(struct empblk_rpio *rp, bool ok)
{
	struct empblk_pio *pio = rp->pio;
	unsigned int i;

	for (i = 0; i < rp->nr_mapped; i++)
		ib_dma_unmap_page(rp->r->ibdev, rp->dma[i], PAGE_SIZE,
				  rp->dir);
	rp->nr_mapped = 0;
	pio->end_io(pio, ok);
}

static void empblk_wb_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct empblk_wbwr *w = container_of(wc->wr_cqe, struct empblk_wbwr,
					     cqe);
	struct empblk_rpio *rp = w->rp;

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		struct empblk_rqueue *q = wc->qp->qp_context;

		WRITE_ONCE(rp->failed, true);
		empblk_donor_wc_error(q->donor, wc->status);
	}
	if (atomic_dec_and_test(&rp->pending))
		empblk_rpio_end(rp, !READ_ONCE(rp->failed));
}

/* The state of a page I/O of @nr_pages: struct empblk_rpio and its arrays. */
static size_t empblk_remote_pio_size(struct empblk_tier *t,
				     unsigned int nr_pages)
{
	/* a WR and an SGE per page, and per fence */
	return sizeof(struct empblk_rpio) + nr_pages * sizeof(u64) +
	       (nr_pages + EMPBLK_REMOTE_MAX_FENCES) *
	       (sizeof(struct ib_sge) + sizeof(struct empblk_wbwr));
}

/* Lay out the remote state of @pio in its tier_data. */
static struct empblk_rpio *empblk_rpio_init(struct empblk_remote *r,
					    struct empblk_pio *pio)
{
	struct empblk_rpio *rp = pio->tier_data;

	rp->pio = pio;
	rp->r = r;
	rp->nr_mapped = 0;
	rp->wrs = (struct empblk_wbwr *)(rp + 1);
	rp->sges = (struct ib_sge *)(rp->wrs + pio->nr_pages +
				     EMPBLK_REMOTE_MAX_FENCES);
	rp->dma = (u64 *)(rp->sges + pio->nr_pages + EMPBLK_REMOTE_MAX_FENCES);
	return rp;
}

/* A page I/O's writes end with fences, as a request's do. */
static unsigned int empblk_rpio_fence(struct empblk_rpio *rp, unsigned int nwr)
{
	unsigned long fenced = 0;
	unsigned int i, n = nwr;

	for (i = nwr; i--; ) {
		struct empblk_wbwr *w = &rp->wrs[i], *f;

		if (fenced & BIT(w->donor))
			continue;
		f = &rp->wrs[n];
		f->rp = rp;
		f->donor = w->donor;
		f->cqe.done = empblk_wb_done;
		empblk_remote_fence(&rp->r->donors[w->donor], &f->wr,
				    &rp->sges[rp->pio->nr_pages + n - nwr],
				    &f->cqe, w->wr.remote_addr, w->wr.rkey);
		fenced |= BIT(w->donor);
		n++;
	}
	empblk_stat_add(rp->r->tier.dev, EMPBLK_STAT_WRITE_FENCES, n - nwr);
	return n;
}

/*
 * Write (or read) the pages of a layer's page I/O that are on the donors
 * (empblk_tier_ops.write_pages, .read_pages), in the stripe set's hands:
 * the extents are mapped and held. The pages go as RDMA WRITEs (READs) on
 * each donor's page I/O queue, one per run of pages consecutive in the
 * I/O and on a donor, each page DMA mapped until the last completion,
 * which reports the outcome. A writeback's layer keeps the pages' data
 * stable enough: a write racing the transfer leaves its block dirty.
 * Reads into pages need registered sinks over iWARP, which page I/O does
 * not have yet: -EOPNOTSUPP there. Return: 0 once posted, or a negative
 * errno with nothing posted.
 */
static int empblk_remote_post_pages(struct empblk_tier *t,
				    struct empblk_pio *pio, bool read)
{
	struct empblk_remote *r = to_remote(t);
	struct empblk_rpio *rp = empblk_rpio_init(r, pio);
	const struct empblk_stuse *refs = empblk_stripe_pio_refs(pio);
	struct empblk_wbwr *w = NULL;
	unsigned int i, nwr = 0, last = 0;
	u64 next_raddr = 0;
	int ret;

	if (WARN_ON_ONCE(pio->nr_pages > r->pio_pages))
		return -EINVAL;
	if (read && r->donors[0].reg_sinks)
		return -EOPNOTSUPP;
	rp->dir = read ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
	for (i = 0; i < pio->nr_pages; i++) {
		unsigned int n = rp->nr_mapped;
		struct empblk_rchunk *rc;
		struct empblk_donor *d;
		struct ib_sge *sge;
		unsigned int di;
		u64 doff, raddr;

		/* a page never straddles subblocks: both are multiples of 4K */
		if (!empblk_stripe_locate(t, refs,
					  pio->pos + ((u64)i << PAGE_SHIFT),
					  &di, &doff))
			continue;
		d = &r->donors[di];
		ret = -ENOTCONN;
		/* a reconnecting donor: the blocks stay dirty, or unfetched */
		if (test_bit(EMPBLK_DONOR_DEAD, &d->flags) ||
		    test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags))
			goto out_unmap;
		rc = &d->chunks[doff >> EMP_CHUNK_SHIFT];
		ret = -EIO;
		/* pairs with empblk_donor_get_chunk()'s release */
		if (WARN_ON_ONCE(!smp_load_acquire(&rc->id)))
			goto out_unmap;
		raddr = rc->addr + (doff & (EMP_CHUNK_SIZE - 1));
		rp->dma[n] = ib_dma_map_page(r->ibdev, pio->pages[i], 0,
					     PAGE_SIZE, rp->dir);
		ret = -ENOMEM;
		if (ib_dma_mapping_error(r->ibdev, rp->dma[n]))
			goto out_unmap;
		rp->nr_mapped++;
		if (!w || w->donor != di || raddr != next_raddr ||
		    rc->rkey != w->wr.rkey || last + 1 != i ||
		    w->wr.wr.num_sge == (read ? min(d->max_sge, d->max_rd_sge) :
					 d->max_sge)) {
			w = &rp->wrs[nwr++];
			w->rp = rp;
			w->donor = di;
			w->cqe.done = empblk_wb_done;
			w->wr.wr.wr_cqe = &w->cqe;
			w->wr.wr.opcode = read ? IB_WR_RDMA_READ :
						 IB_WR_RDMA_WRITE;
			w->wr.wr.send_flags = IB_SEND_SIGNALED;
			w->wr.wr.sg_list = &rp->sges[n];
			w->wr.wr.num_sge = 0;
			w->wr.wr.next = NULL;
			w->wr.remote_addr = raddr;
			w->wr.rkey = rc->rkey;
		}
		sge = &rp->sges[n];
		sge->addr = rp->dma[n];
		sge->length = PAGE_SIZE;
		sge->lkey = d->pd->local_dma_lkey;
		w->wr.wr.num_sge++;
		next_raddr = raddr + PAGE_SIZE;
		last = i;
	}
	if (!nwr)
		return -EINVAL;	/* the stripe set gave a page I/O with none */
	if (!read && r->donors[0].reg_sinks)
		nwr = empblk_rpio_fence(rp, nwr);
	smp_rmb();	/* as in empblk_remote_post_rq() */

	WRITE_ONCE(rp->failed, false);
	atomic_set(&rp->pending, nwr);
	for (i = 0; i < nwr; i++) {
		struct empblk_donor *d = &r->donors[rp->wrs[i].donor];

		ret = ib_post_send(d->wbq.cm_id->qp, &rp->wrs[i].wr.wr, NULL);
		if (unlikely(ret)) {
			WRITE_ONCE(rp->failed, true);
			empblk_donor_lost(d, "post failed");
			if (atomic_sub_and_test(nwr - i, &rp->pending))
				empblk_rpio_end(rp, false);
			return 0;
		}
	}
	return 0;

out_unmap:
	for (i = 0; i < rp->nr_mapped; i++)
		ib_dma_unmap_page(r->ibdev, rp->dma[i], PAGE_SIZE, rp->dir);
	rp->nr_mapped = 0;
	return ret;
}

/* The page I/O of a layer, in one RCU read-side section (see rw). */
static int empblk_remote_pages(struct empblk_tier *t, struct empblk_pio *pio,
			       bool read)
{
	int ret = -ENOTCONN;

	rcu_read_lock();
	if (!READ_ONCE(to_remote(t)->gone))
		ret = empblk_remote_post_pages(t, pio, read);
	rcu_read_unlock();
	return ret;
}

static int empblk_remote_write_pages(struct empblk_tier *t,
				     struct empblk_pio *pio)
{
	return empblk_remote_pages(t, pio, false);
}

static int empblk_remote_read_pages(struct empblk_tier *t,
				    struct empblk_pio *pio)
{
	return empblk_remote_pages(t, pio, true);
}

/*
 * Reap the completions of polled hardware queue @hctx_idx
 * (empblk_tier_ops.poll): its I/O queue on every donor has a CQ that only
 * this polls. Return: work completions reaped.
 */
static int empblk_remote_poll(struct empblk_tier *t, unsigned int hctx_idx)
{
	struct empblk_remote *r = to_remote(t);
	unsigned int i;
	int n = 0;

	rcu_read_lock();
	for (i = 0; i < r->nr_donors && !READ_ONCE(r->gone); i++) {
		struct empblk_donor *d = &r->donors[i];
		struct ib_cq *cq;

		/* a reconnect reaps the old queues itself while it drains */
		if (test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags))
			continue;
		/* the queues a reconnect built before it cleared the flag */
		smp_rmb();
		cq = READ_ONCE(d->ioqs[hctx_idx].cq);
		if (cq)
			n += ib_process_cq_direct(cq, -1);
	}
	rcu_read_unlock();
	if (n)
		empblk_stat_add(t->dev, EMPBLK_STAT_POLLED_COMPLETIONS, n);
	return n;
}

/*
 * A remote request outlived the queue's timeout (empblk_tier_ops.timeout).
 * The transport gives up on an unreachable donor by itself after its
 * retries; this is the backstop for a donor that stops answering without
 * the transport noticing. Every donor the request has work requests on is
 * declared lost and its queues are moved to the error state: the work
 * requests flush and the request completes from its CQ, with an I/O
 * error, or requeued if the donor is reconnecting.
 * A request still waiting in the worker for a chunk is left alone: the
 * admin exchange it waits for has its own timeout. The completion ends
 * the request, so the timer is reset.
 */
static enum blk_eh_timer_return empblk_remote_timeout(struct empblk_tier *t,
						      struct request *rq)
{
	struct empblk_rcmd *cmd = empblk_tier_pdu(t, rq);
	unsigned int nwr = READ_ONCE(cmd->nwr);
	struct empblk_remote *r = to_remote(t);
	unsigned int i;

	if (!nwr)
		return BLK_EH_RESET_TIMER;
	pr_err_ratelimited("%s: %s of %u bytes at sector %llu timed out after %u ms\n",
			   t->dev->disk->disk_name,
			   rq_data_dir(rq) == WRITE ? "write" : "read",
			   blk_rq_bytes(rq), (unsigned long long)blk_rq_pos(rq),
			   jiffies_to_msecs(rq->timeout));
	for (i = 0; i < nwr && i < EMPBLK_REMOTE_MAX_WRS; i++)
		empblk_donor_fail(&r->donors[cmd->rwrs[i].donor],
				  "request timed out");
	return BLK_EH_RESET_TIMER;
}

static void empblk_remote_abort(struct empblk_tier *t, const char *why)
{
	empblk_remote_fail_all(to_remote(t), why);
}

static void empblk_remote_init_request(struct empblk_tier *t,
				       struct request *rq, void *pdu)
{
	struct empblk_rcmd *cmd = pdu;

	cmd->rq = rq;
	cmd->r = to_remote(t);
	cmd->nwr = 0;
}

/* every request fits the WRs and SGEs preallocated per request */
static void empblk_remote_limits(struct empblk_tier *t,
				 struct empblk_limits *lim)
{
	lim->max_hw_sectors = min_t(unsigned int, lim->max_hw_sectors,
				    EMPBLK_REMOTE_MAX_BYTES >> SECTOR_SHIFT);
	lim->max_segments = min_t(unsigned short, lim->max_segments,
				  EMPBLK_REMOTE_MAX_SEGS);
	/*
	 * Page-aligned buffers and gaps only: a READ sink MR maps the pages
	 * a request reads from donors, whole (empblk_remote_sg())
	 */
	lim->virt_boundary_mask = PAGE_SIZE - 1;
	lim->dma_alignment = PAGE_SIZE - 1;
	/* zeroing remote memory would cost a full write: let it */
	lim->max_write_zeroes_sectors = 0;
}

static void empblk_remote_usage(struct empblk_tier *t, struct empblk_usage *u)
{
	struct empblk_remote *r = to_remote(t);
	unsigned int i;

	u->donors += r->nr_donors;
	for (i = 0; i < r->nr_donors; i++) {
		struct empblk_donor *d = &r->donors[i];

		u->donors_connected += !test_bit(EMPBLK_DONOR_DEAD, &d->flags) &&
			!test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags);
		u->donors_reconnecting +=
			!test_bit(EMPBLK_DONOR_DEAD, &d->flags) &&
			test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags);
		u->remote_bytes_in_use +=
			(u64)atomic_long_read(&d->chunks_in_use) *
			EMP_CHUNK_SIZE;
	}
	/* every donor is reached through the same RDMA device */
	if (r->nr_donors)
		u->read_sinks = r->donors[0].reg_sinks ? "registered" : "local";
}

static int empblk_remote_start(struct empblk_tier *t)
{
	return empblk_remote_connect(to_remote(t));
}

static void empblk_remote_stop(struct empblk_tier *t)
{
	empblk_remote_disconnect(to_remote(t));
}

static void empblk_remote_destroy(struct empblk_tier *t)
{
	kfree(to_remote(t));
}

static const struct empblk_tier_ops empblk_remote_ops = {
	.name		= "remote",
	.cmd_size	= sizeof(struct empblk_rcmd),
	.limits		= empblk_remote_limits,
	.start		= empblk_remote_start,
	.stop		= empblk_remote_stop,
	.destroy	= empblk_remote_destroy,
	.init_request	= empblk_remote_init_request,
	.rw		= empblk_remote_rw,
	.poll		= empblk_remote_poll,
	.timeout	= empblk_remote_timeout,
	.abort		= empblk_remote_abort,
	.pio_size	= empblk_remote_pio_size,
	.write_pages	= empblk_remote_write_pages,
	.read_pages	= empblk_remote_read_pages,
	.usage		= empblk_remote_usage,
	.claim		= empblk_remote_claim,
	.release	= empblk_remote_release,
};

/**
 * empblk_remote_tier_create() - the remote tier of a device, unconnected
 * @dev: the device (its params name the donors)
 * @pio_slots: page I/Os a layer above keeps in flight at most (0: none)
 * @pio_pages: most pages in one of them
 *
 * Its start connects to every donor.
 *
 * Return: the tier, or ERR_PTR(-ENOMEM).
 */
struct empblk_tier *empblk_remote_tier_create(struct empblk_dev *dev,
					      unsigned int pio_slots,
					      unsigned int pio_pages)
{
	struct empblk_remote *r = kzalloc(sizeof(*r), GFP_KERNEL);

	if (!r)
		return ERR_PTR(-ENOMEM);
	r->tier.ops = &empblk_remote_ops;
	r->tier.dev = dev;
	r->pio_slots = pio_slots;
	r->pio_pages = pio_pages;
	INIT_LIST_HEAD(&r->node);
	return &r->tier;
}
