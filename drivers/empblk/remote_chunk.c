// SPDX-License-Identifier: GPL-2.0
/*
 * The remote tier's chunks: the donors' memory behind the device.
 *
 * A donor's space for the device is a table of 2 MiB chunks, one per
 * extent of the placement map (placement.c): the donor hands a chunk out
 * when the map places an extent on it (admin RPC, ->claim) and gets it
 * back when a discard unmaps that extent (->release).
 *
 * A chunk's address and key are published with a release store of its id
 * and read with acquire loads, without a lock, on the I/O path; a
 * transfer holds a reference on the chunk (empblk_rchunk_get()) that a
 * discard waits for before the donor frees it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/delay.h>

#include "remote.h"

/**
 * empblk_donor_get_chunk() - make sure a chunk of a donor exists
 * @d: the donor
 * @c: the chunk's index in its donor-local space
 *
 * Asks the donor for it if it does not. May sleep.
 *
 * Return: 0, -ENOSPC when the donor's budget for the device is spent, or
 * another negative errno (logged).
 */
int empblk_donor_get_chunk(struct empblk_donor *d, unsigned long c)
{
	struct empblk_rchunk *rc = &d->chunks[c];
	struct emp_msg_chunk rsp;
	int st;

	/* pairs with the release below: a set id means addr, rkey are valid */
	if (smp_load_acquire(&rc->id))
		return 0;
	/* not behind a reconnect attempt, which holds admin_lock */
	if (test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags))
		return -EBUSY;
	mutex_lock(&d->admin_lock);
	if (rc->id) {
		mutex_unlock(&d->admin_lock);
		return 0;
	}
	st = empblk_admin_rpc(d, EMP_MSG_CHUNK_ALLOC, 0, &rsp);
	if (st == EMP_ST_OK && (le32_to_cpu(rsp.len) != EMP_CHUNK_SIZE ||
				!le32_to_cpu(rsp.chunk)))
		st = -EPROTO;
	if (st == EMP_ST_OK) {
		rc->addr = le64_to_cpu(rsp.addr);
		rc->rkey = le32_to_cpu(rsp.rkey);
		/* publish addr and rkey before the id that validates them */
		smp_store_release(&rc->id, le32_to_cpu(rsp.chunk));
		atomic_long_inc(&d->chunks_in_use);
	}
	mutex_unlock(&d->admin_lock);
	if (st == EMP_ST_OK)
		return 0;
	if (st == -EBUSY)
		return st;	/* reconnecting: the caller tries again later */
	if (st == EMP_ST_NO_SPACE) {
		pr_err_ratelimited("%s: donor %pISpc has no memory left for this device (budget spent)\n",
				   empblk_rq_name(d->dev), &d->spec.addr);
		return -ENOSPC;
	}
	pr_err_ratelimited("%s: donor %pISpc: chunk allocation failed (%d)\n",
			   empblk_rq_name(d->dev), &d->spec.addr, st);
	return st < 0 ? st : -EIO;
}

/*
 * Wait for the flush READ posted on @q until @deadline, or with @forever
 * until it completes (the queue pair is in the error state: it flushes).
 * A polled queue's CQ is reaped here as well: its hardware queue may be
 * idle, and the provider's poll_cq is safe against the block layer's
 * poller reaping it at the same time.
 */
static bool empblk_rqueue_flush_wait(struct empblk_rqueue *q,
				     unsigned long deadline, bool forever)
{
	if (q->cq->poll_ctx != IB_POLL_DIRECT) {
		long left = (long)(deadline - jiffies);

		if (forever) {
			wait_for_completion(&q->flush_done);
			return true;
		}
		return left > 0 &&
		       wait_for_completion_timeout(&q->flush_done, left);
	}
	for (;;) {
		ib_process_cq_direct(q->cq, -1);
		if (try_wait_for_completion(&q->flush_done))
			return true;
		if (!forever && time_after(jiffies, deadline))
			return false;
		usleep_range(50, 200);
	}
}

/*
 * Make sure every RDMA WRITE that has completed on a queue of donor @d
 * was placed in the donor's memory. Over InfiniBand and RoCE a WRITE
 * completes only once the donor acknowledged it, after placing it: there
 * is nothing to do. Over iWARP it completes once handed to TCP, and its
 * data may still be on the wire while a message on another connection
 * (the admin queue's chunk free) overtakes it. A zero-length RDMA READ on
 * each I/O and writeback queue closes that window: the donor answers it
 * only after it has processed every earlier message of the same stream,
 * and so placed the WRITEs before it (RFC 5040, ordering rules). @raddr
 * and @rkey name memory of the donor still registered (the chunk about to
 * be freed). Under admin_lock: one flush per queue at a time, which its
 * send queue has room for. May sleep.
 *
 * Return: true if every queue flushed; false if one failed or timed out
 * (the donor is then lost).
 */
static bool empblk_donor_flush(struct empblk_donor *d, u64 raddr, u32 rkey)
{
	unsigned long deadline = jiffies +
		READ_ONCE(d->dev->disk->queue->rq_timeout);
	unsigned int i, nq = d->nr_ioqs + !!d->wbq.cm_id, posted;
	bool ok = true;

	lockdep_assert_held(&d->admin_lock);
	if (!d->reg_sinks)
		return true;
	/* given up: its queues and PD may be gone (an RDMA device removal) */
	if (test_bit(EMPBLK_DONOR_DEAD, &d->flags))
		return false;
	for (posted = 0; posted < nq; posted++) {
		struct empblk_rqueue *q = posted < d->nr_ioqs ?
					  &d->ioqs[posted] : &d->wbq;
		struct ib_sge sge = {
			.addr = d->rx_dma, .length = 0,
			.lkey = d->pd->local_dma_lkey,
		};
		struct ib_rdma_wr wr = {
			.wr = {
				.wr_cqe = &q->flush_cqe, .sg_list = &sge,
				.num_sge = 1, .opcode = IB_WR_RDMA_READ,
				.send_flags = IB_SEND_SIGNALED,
			},
			.remote_addr = raddr,
			.rkey = rkey,
		};

		if (test_bit(EMPBLK_DONOR_DEAD, &d->flags)) {
			ok = false;
			break;
		}
		reinit_completion(&q->flush_done);
		q->flush_ok = false;
		if (ib_post_send(q->cm_id->qp, &wr.wr, NULL)) {
			empblk_donor_lost(d, "flush post failed");
			ok = false;
			break;
		}
	}
	for (i = 0; i < posted; i++) {
		struct empblk_rqueue *q = i < d->nr_ioqs ? &d->ioqs[i] : &d->wbq;

		if (!empblk_rqueue_flush_wait(q, deadline, false)) {
			/* the READs still posted flush with the queue pairs */
			empblk_donor_fail(d, "flush before a chunk free timed out");
			empblk_rqueue_flush_wait(q, 0, true);
		}
		ok &= q->flush_ok;
	}
	if (ok)
		empblk_stat_inc(d->dev, EMPBLK_STAT_CHUNK_FREE_FLUSHES);
	return ok;
}

/**
 * empblk_remote_fence() - a READ that completes once earlier WRITEs are
 *	placed
 * @d: the donor
 * @wr: the work request to fill, posted after the WRITEs on their queue
 * @sge: its local segment, empty
 * @cqe: its completion
 * @raddr: an address of the donor's that the WRITEs' key covers
 * @rkey: that key
 *
 * Over iWARP a WRITE completes once TCP has it, not once it is in the
 * donor's memory, so a READ of the same bytes on another queue could
 * overtake it. The donor serves an RDMA READ only after the WRITEs before
 * it on the same queue are placed (RDMAP's ordering rules): a zero-length
 * one, signaled, completes when they are. empblk_donor_flush() does the
 * same before a chunk free; a remote write over iWARP ends with one per
 * donor queue it used, and completes with it.
 */
void empblk_remote_fence(struct empblk_donor *d, struct ib_rdma_wr *wr,
			 struct ib_sge *sge, struct ib_cqe *cqe, u64 raddr,
			 u32 rkey)
{
	sge->addr = d->rx_dma;
	sge->length = 0;
	sge->lkey = d->pd->local_dma_lkey;
	memset(wr, 0, sizeof(*wr));
	wr->wr.wr_cqe = cqe;
	wr->wr.sg_list = sge;
	wr->wr.num_sge = 1;
	wr->wr.opcode = IB_WR_RDMA_READ;
	wr->wr.send_flags = IB_SEND_SIGNALED;
	wr->remote_addr = raddr;
	wr->rkey = rkey;
}

/**
 * empblk_donor_put_chunk() - give a chunk of a donor back, if it exists
 * @d: the donor
 * @c: the chunk's index in its donor-local space
 *
 * Waits for transfers still using it. May sleep.
 */
void empblk_donor_put_chunk(struct empblk_donor *d, unsigned long c)
{
	struct empblk_rchunk *rc = &d->chunks[c];
	struct emp_msg_chunk rsp;
	u32 id;

	mutex_lock(&d->admin_lock);
	id = rc->id;
	if (id) {
		WRITE_ONCE(rc->id, 0);
		/*
		 * Order the store before reading the references; pairs with
		 * empblk_rchunk_get(). New transfers now see no chunk; wait
		 * for those in flight (bounded: they complete, fail or time
		 * out), and over iWARP for their data to be placed, before
		 * the donor frees and unregisters the memory.
		 */
		smp_mb();
		while (atomic_read(&rc->inflight))
			usleep_range(50, 200);
		atomic_long_dec(&d->chunks_in_use);
		/*
		 * A failed free only leaks until the session ends; a failed
		 * flush means the donor is lost, and so is the session. A
		 * donor reconnecting frees it once it is back.
		 */
		if (empblk_donor_flush(d, rc->addr, rc->rkey) &&
		    empblk_admin_rpc(d, EMP_MSG_CHUNK_FREE, id, &rsp) < 0 &&
		    empblk_donor_retry(d))
			rc->stale_id = id;
	}
	mutex_unlock(&d->admin_lock);
}

/**
 * empblk_donor_free_stale() - free on a donor the chunks given back while
 *	it was reconnecting, and the one an allocation lost with its reply
 *	may have left there
 * @d: the donor, its admin_lock held and its admin queue connected
 *
 * Return: 0, or the error of the exchange that failed (the donor is
 * then lost again).
 */
int empblk_donor_free_stale(struct empblk_donor *d)
{
	struct emp_msg_chunk rsp;
	unsigned long c;
	int st;

	lockdep_assert_held(&d->admin_lock);
	/*
	 * An allocation whose reply was lost: ask again with its tag, to
	 * have its chunk (the donor's reply to the repeat) and give it back.
	 */
	if (d->tag_again && d->again_type == EMP_MSG_CHUNK_ALLOC) {
		st = empblk_admin_exchange(d, EMP_MSG_CHUNK_ALLOC, 0, &rsp,
					   EMPBLK_KATO_S * HZ);
		if (st < 0)
			return st;
		if (st == EMP_ST_OK) {
			st = empblk_admin_exchange(d, EMP_MSG_CHUNK_FREE,
						   le32_to_cpu(rsp.chunk),
						   &rsp, EMPBLK_KATO_S * HZ);
			if (st < 0)
				return st;
		}
	}
	for (c = 0; c < d->nr_chunks; c++) {
		if (!d->chunks[c].stale_id)
			continue;
		st = empblk_admin_exchange(d, EMP_MSG_CHUNK_FREE,
					   d->chunks[c].stale_id, &rsp,
					   EMPBLK_KATO_S * HZ);
		if (st < 0)
			return st;
		d->chunks[c].stale_id = 0;
	}
	return 0;
}

/**
 * empblk_rchunk_get() - take a reference on a chunk for a transfer
 * @rc: the chunk
 *
 * The reference is what empblk_donor_put_chunk() waits for before the
 * donor frees the chunk (over iWARP also for the WRITEs' data to reach
 * the donor: empblk_donor_flush()), so a discard never frees memory under
 * a transfer. Drop it with atomic_dec(&rc->inflight).
 *
 * Return: 0 if the chunk is allocated (its addr and rkey valid until the
 * reference is dropped), -ENOENT if not (no reference is held).
 */
int empblk_rchunk_get(struct empblk_rchunk *rc)
{
	atomic_inc(&rc->inflight);
	/* order the increment before the id load; pairs with put_chunk */
	smp_mb__after_atomic();
	/* pairs with empblk_donor_get_chunk()'s release: addr, rkey valid */
	if (smp_load_acquire(&rc->id))
		return 0;
	atomic_dec(&rc->inflight);
	return -ENOENT;
}

/**
 * empblk_remote_claim() - back an extent of a donor (empblk_tier_ops.claim)
 * @t: the remote tier
 * @idx: the donor
 * @ext: the extent: chunk @ext of the donor's space for the device
 *
 * Return: 0, -ENOSPC when the donor's budget is spent, -EBUSY while it
 * reconnects, or another negative errno (a lost donor: -ENOTCONN).
 */
int empblk_remote_claim(struct empblk_tier *t, unsigned int idx, u64 ext)
{
	struct empblk_donor *d = &to_remote(t)->donors[idx];
	int ret;

	if (test_bit(EMPBLK_DONOR_DEAD, &d->flags))
		return -ENOTCONN;
	if (WARN_ON_ONCE(ext >= d->nr_chunks))
		return -EINVAL;
	ret = empblk_donor_get_chunk(d, ext);
	/* lost meanwhile, or before: try again once it is back */
	if (ret && ret != -ENOSPC && empblk_donor_retry(d))
		return -EBUSY;
	return ret;
}

/**
 * empblk_remote_release() - give a donor's extent back
 *	(empblk_tier_ops.release)
 * @t: the remote tier
 * @idx: the donor
 * @ext: the extent
 */
void empblk_remote_release(struct empblk_tier *t, unsigned int idx, u64 ext)
{
	empblk_donor_put_chunk(&to_remote(t)->donors[idx], ext);
}
