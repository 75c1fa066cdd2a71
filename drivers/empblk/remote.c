// SPDX-License-Identifier: GPL-2.0
/*
 * The remote tier: donor memory reached with one-sided RDMA.
 *
 * Layout. Capacity is striped across the donors by subblock: global
 * subblock g lives on donor g % nr_donors, at donor-local offset
 * (g / nr_donors) * subblock_size. Donor-local space is backed by 2 MiB
 * chunks that the donor hands out on request (admin RPC); a chunk is asked
 * for on the first write that touches it and given back when a discard
 * covers it whole. Reads of space never written return zeroes without
 * touching the network.
 *
 * Queues. Per donor, one admin RC connection for the RPCs and one I/O RC
 * connection per hardware queue; hardware queue i posts only on I/O queue
 * i of each donor, and each queue's send queue has room for queue_depth
 * requests of EMPBLK_REMOTE_MAX_WRS work requests, so posting never runs
 * out of room. Completions arrive in softirq context (pooled polling).
 *
 * Zero copy. A request's pages are DMA mapped once and carved into work
 * requests at subblock boundaries (consecutive pieces on one donor chunk
 * share one); nothing is allocated in the I/O path: scatterlist, SGEs and
 * work requests live in the request payload. Over iWARP a read's sink
 * must be registered memory (struct empblk_rmr): each I/O queue keeps a
 * pool of one MR per tag for that, allocated when it connects.
 *
 * Failure. A donor whose queue disconnects or errors is marked dead: its
 * in-flight work requests flush with errors, the requests fail with
 * BLK_STS_IOERR and a ratelimited message, and later I/O to it fails at
 * once. Reconnection and redundancy are later work.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/highmem.h>
#include <linux/random.h>
#include <linux/vmalloc.h>
#include <rdma/ib_cm.h>
#include <rdma/mr_pool.h>

#include "empblk.h"

#define EMPBLK_CM_TIMEOUT_MS	3000

static const char *empblk_rq_name(struct empblk_dev *dev)
{
	return dev->disk ? dev->disk->disk_name : "empblk";
}

static void empblk_donor_mark_dead(struct empblk_donor *d, const char *why)
{
	if (!test_and_set_bit(EMPBLK_DONOR_DEAD, &d->flags))
		pr_err("%s: donor %pISpc lost (%s): I/O to it fails until the device is recreated\n",
		       empblk_rq_name(d->dev), &d->spec.addr, why);
}

/*
 * Give up on a donor: mark it dead and move each of its queue pairs to the
 * error state, so that every work request still in flight completes (with
 * a flush error) instead of waiting for a transport that may retry
 * forever. Process context; only once the device's queues all exist.
 */
static void empblk_donor_fail(struct empblk_donor *d, const char *why)
{
	struct ib_qp_attr attr = { .qp_state = IB_QPS_ERR };
	unsigned int i;

	empblk_donor_mark_dead(d, why);
	if (test_and_set_bit(EMPBLK_DONOR_QPS_ERR, &d->flags))
		return;
	for (i = 0; i < d->nr_ioqs; i++)
		ib_modify_qp(d->ioqs[i].cm_id->qp, &attr, IB_QP_STATE);
	if (d->wbq.cm_id)
		ib_modify_qp(d->wbq.cm_id->qp, &attr, IB_QP_STATE);
	ib_modify_qp(d->admin.cm_id->qp, &attr, IB_QP_STATE);
}

/**
 * empblk_remote_fail_all() - give up on every donor of a device
 * @dev: device whose queues all exist
 * @why: for the log
 */
void empblk_remote_fail_all(struct empblk_dev *dev, const char *why)
{
	unsigned int i;

	for (i = 0; i < dev->remote.nr_donors; i++)
		empblk_donor_fail(&dev->remote.donors[i], why);
}

/* Connection management */

static int empblk_cm_handler(struct rdma_cm_id *cm_id,
			     struct rdma_cm_event *ev)
{
	struct empblk_rqueue *q = cm_id->context;
	struct empblk_donor *d = q->donor;
	const struct emp_cm_rej *rej;
	const struct emp_cm_rep *rep;
	int ret;

	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		ret = rdma_resolve_route(cm_id, EMPBLK_CM_TIMEOUT_MS);
		if (ret) {
			q->cm_error = ret;
			complete(&q->cm_done);
		}
		return 0;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		q->cm_error = 0;
		complete(&q->cm_done);
		return 0;
	case RDMA_CM_EVENT_ESTABLISHED:
		rep = ev->param.conn.private_data;
		if (!rep || ev->param.conn.private_data_len < sizeof(*rep) ||
		    le32_to_cpu(rep->magic) != EMP_PROTO_MAGIC ||
		    le16_to_cpu(rep->ver_major) != EMP_PROTO_VER_MAJOR ||
		    rep->chunk_shift != EMP_CHUNK_SHIFT) {
			q->cm_error = -EPROTO;
		} else {
			q->cm_error = 0;
			if (q->qid == 0)
				d->incarnation = le64_to_cpu(rep->incarnation);
		}
		complete(&q->cm_done);
		return 0;
	case RDMA_CM_EVENT_REJECTED:
		rej = ev->param.conn.private_data;
		if (rej && ev->param.conn.private_data_len >= sizeof(*rej) &&
		    le32_to_cpu(rej->magic) == EMP_PROTO_MAGIC)
			q->rej_status = le32_to_cpu(rej->status);
		q->cm_error = -ECONNREFUSED;
		complete(&q->cm_done);
		return 0;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_CONNECT_ERROR:
		q->cm_error = ev->status ? ev->status : -EHOSTUNREACH;
		complete(&q->cm_done);
		return 0;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_TIMEWAIT_EXIT:
	case RDMA_CM_EVENT_ADDR_CHANGE:
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		empblk_donor_mark_dead(d, rdma_event_msg(ev->event));
		return 0;
	default:
		return 0;
	}
}

static int empblk_cm_wait(struct empblk_rqueue *q)
{
	if (!wait_for_completion_timeout(&q->cm_done,
					 msecs_to_jiffies(EMPBLK_CM_TIMEOUT_MS * 2)))
		return -ETIMEDOUT;
	return q->cm_error;
}

static const char *empblk_rej_reason(int st)
{
	switch (st) {
	case EMP_ST_BAD_VERSION:
		return "protocol version not supported by the donor";
	case EMP_ST_NO_SESSION:
		return "the donor does not know this session (or wrong device)";
	case EMP_ST_NO_MEM:
		return "the donor is out of memory";
	case EMP_ST_SHUTDOWN:
		return "the donor port is shutting down";
	default:
		return "refused by the donor (is emp_rdma_target listening there?)";
	}
}

static void empblk_rqueue_destroy(struct empblk_rqueue *q)
{
	if (!q->cm_id)
		return;
	if (q->cm_id->qp) {
		rdma_disconnect(q->cm_id);
		ib_drain_qp(q->cm_id->qp);
		if (q->nr_sink_mrs)
			ib_mr_pool_destroy(q->cm_id->qp, &q->sink_mrs);
		q->nr_sink_mrs = 0;
		rdma_destroy_qp(q->cm_id);
	}
	if (q->cq && q->cq_pooled)
		ib_cq_pool_put(q->cq, q->nr_cqe);
	else if (q->cq)
		ib_free_cq(q->cq);
	rdma_destroy_id(q->cm_id);
	q->cm_id = NULL;
	q->cq = NULL;
}

/*
 * Resolve, create the QP and connect one queue. The first queue of a
 * donor also allocates its protection domain.
 */
static void empblk_flush_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct empblk_rqueue *q = container_of(wc->wr_cqe, struct empblk_rqueue,
					       flush_cqe);

	if (wc->status != IB_WC_SUCCESS && wc->status != IB_WC_WR_FLUSH_ERR)
		empblk_donor_mark_dead(q->donor, ib_wc_status_msg(wc->status));
	q->flush_ok = wc->status == IB_WC_SUCCESS;
	complete(&q->flush_done);
}

static int empblk_rqueue_connect(struct empblk_donor *d,
				 struct empblk_rqueue *q, u16 qid,
				 u32 send_wr, u32 recv_wr, u32 max_sge)
{
	struct empblk_dev *dev = d->dev;
	struct emp_cm_req req = {
		.magic		= cpu_to_le32(EMP_PROTO_MAGIC),
		.ver_major	= cpu_to_le16(EMP_PROTO_VER_MAJOR),
		.ver_minor	= cpu_to_le16(EMP_PROTO_VER_MINOR),
		.qid		= cpu_to_le16(qid),
		.nr_io_queues	= cpu_to_le16(d->nr_ioqs +
					      empblk_wants_cache(&dev->params)),
		.queue_depth	= cpu_to_le32(dev->params.queue_depth),
		.cookie		= cpu_to_le64(d->cookie),
	};
	struct rdma_conn_param param = {};
	struct ib_qp_init_attr attr = {};
	int ret;

	q->donor = d;
	q->qid = qid;
	q->rej_status = -1;
	INIT_LIST_HEAD(&q->sink_mrs);
	init_completion(&q->cm_done);
	init_completion(&q->flush_done);
	q->flush_cqe.done = empblk_flush_done;
	q->cm_id = rdma_create_id(&init_net, empblk_cm_handler, q, RDMA_PS_TCP,
				  IB_QPT_RC);
	if (IS_ERR(q->cm_id)) {
		ret = PTR_ERR(q->cm_id);
		q->cm_id = NULL;
		return ret;
	}
	/*
	 * Before the route is resolved, so that RoCE derives the path's
	 * packet lifetime from it too. The transport gives up on a silent
	 * donor after about 7 such timeouts (6 retries).
	 */
	if (dev->params.ack_timeout) {
		ret = rdma_set_ack_timeout(q->cm_id, dev->params.ack_timeout);
		if (ret) {
			pr_err("%s: donor %pISpc: cannot set ack_timeout %u: %d\n",
			       empblk_rq_name(dev), &d->spec.addr,
			       dev->params.ack_timeout, ret);
			goto out_destroy;
		}
	}
	ret = rdma_resolve_addr(q->cm_id, NULL,
				(struct sockaddr *)&d->spec.addr,
				EMPBLK_CM_TIMEOUT_MS);
	if (!ret)
		ret = empblk_cm_wait(q);
	if (ret) {
		pr_err("%s: donor %pISpc: no route over RDMA (%d): is there an RDMA link (rdma link add) to it?\n",
		       empblk_rq_name(dev), &d->spec.addr, ret);
		goto out_destroy;
	}

	if (!d->ibdev) {
		/*
		 * iWARP wants RDMA READ sinks registered with remote write
		 * access, and invalidates them with the READ itself
		 * (rdma_cap_read_inv() is true exactly for iWARP).
		 */
		d->reg_sinks = rdma_protocol_iwarp(q->cm_id->device,
						   q->cm_id->port_num);
		if (d->reg_sinks && !(q->cm_id->device->attrs.device_cap_flags &
				      IB_DEVICE_MEM_MGT_EXTENSIONS)) {
			pr_err("%s: donor %pISpc: %s cannot register memory with work requests, which reads over it need\n",
			       empblk_rq_name(dev), &d->spec.addr,
			       dev_name(&q->cm_id->device->dev));
			ret = -EOPNOTSUPP;
			goto out_destroy;
		}
		if (d->reg_sinks &&
		    q->cm_id->device->attrs.max_fast_reg_page_list_len <
		    EMPBLK_REMOTE_MAX_PAGES) {
			pr_err("%s: donor %pISpc: %s registers at most %u pages at once; reads need %d\n",
			       empblk_rq_name(dev), &d->spec.addr,
			       dev_name(&q->cm_id->device->dev),
			       q->cm_id->device->attrs.max_fast_reg_page_list_len,
			       EMPBLK_REMOTE_MAX_PAGES);
			ret = -EOPNOTSUPP;
			goto out_destroy;
		}
		d->ibdev = q->cm_id->device;
		d->pd = ib_alloc_pd(d->ibdev, 0);
		if (IS_ERR(d->pd)) {
			ret = PTR_ERR(d->pd);
			d->pd = NULL;
			goto out_destroy;
		}
	} else if (d->ibdev != q->cm_id->device) {
		pr_err("%s: donor %pISpc: queues resolved to different RDMA devices\n",
		       empblk_rq_name(dev), &d->spec.addr);
		ret = -EXDEV;
		goto out_destroy;
	}

	/*
	 * I/O queues past one per CPU serve polled hardware queues: a CQ of
	 * their own, reaped by the block layer's poller. The others take
	 * their CQ from the device's shared pool, which is freed only with
	 * the device: freeing a CQ that softirq polls races with the end of
	 * its last poll (ib_poll_handler() re-arms it after
	 * irq_poll_complete() has let ib_free_cq() go on).
	 */
	q->nr_cqe = send_wr + recv_wr + 3;
	q->cq_pooled = !(qid > nr_cpu_ids && qid <= d->nr_ioqs);
	if (q->cq_pooled)
		q->cq = ib_cq_pool_get(d->ibdev, q->nr_cqe, qid,
				       IB_POLL_SOFTIRQ);
	else
		q->cq = ib_alloc_cq(d->ibdev, q, q->nr_cqe,
				    qid % d->ibdev->num_comp_vectors,
				    IB_POLL_DIRECT);
	if (IS_ERR(q->cq)) {
		ret = PTR_ERR(q->cq);
		q->cq = NULL;
		goto out_destroy;
	}
	attr.qp_context = q;
	attr.send_cq = q->cq;
	attr.recv_cq = q->cq;
	attr.sq_sig_type = IB_SIGNAL_REQ_WR;
	attr.qp_type = IB_QPT_RC;
	/* +1 for drain, +1 for a flush (empblk_donor_flush()) */
	attr.cap.max_send_wr = send_wr + 2;
	attr.cap.max_recv_wr = recv_wr + 1;	/* +1 for drain */
	attr.cap.max_send_sge = max_sge;
	attr.cap.max_recv_sge = 1;
	ret = rdma_create_qp(q->cm_id, d->pd, &attr);
	if (ret) {
		pr_err("%s: donor %pISpc: cannot create a queue pair (%u work requests, %u SGEs): %d\n",
		       empblk_rq_name(dev), &d->spec.addr, send_wr, max_sge,
		       ret);
		goto out_destroy;
	}

	reinit_completion(&q->cm_done);
	param.private_data = &req;
	param.private_data_len = sizeof(req);
	param.initiator_depth = min_t(int, 16,
				      d->ibdev->attrs.max_qp_init_rd_atom);
	param.responder_resources = 0;
	/*
	 * 7 would mean "retry for ever" to soft-RoCE (and is the largest
	 * finite count elsewhere): a donor that vanished would then hold
	 * our requests until the block layer's timeout. 6 retries bound
	 * the transport's own give-up time to a few seconds.
	 */
	param.retry_count = 6;
	param.rnr_retry_count = 7;
	param.flow_control = 1;
	ret = rdma_connect(q->cm_id, &param);
	if (!ret)
		ret = empblk_cm_wait(q);
	if (ret) {
		if (q->rej_status >= 0 || ret == -ECONNREFUSED)
			pr_err("%s: donor %pISpc: connection rejected: %s\n",
			       empblk_rq_name(dev), &d->spec.addr,
			       empblk_rej_reason(q->rej_status));
		else
			pr_err("%s: donor %pISpc: cannot connect: %d\n",
			       empblk_rq_name(dev), &d->spec.addr, ret);
		goto out_destroy;
	}
	return 0;

out_destroy:
	empblk_rqueue_destroy(q);
	return ret;
}

/* Admin exchanges */

static void empblk_admin_send_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct empblk_rqueue *q = wc->qp->qp_context;

	if (wc->status != IB_WC_SUCCESS && wc->status != IB_WC_WR_FLUSH_ERR)
		empblk_donor_mark_dead(q->donor, ib_wc_status_msg(wc->status));
}

static void empblk_admin_recv_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct empblk_rqueue *q = wc->qp->qp_context;
	struct empblk_donor *d = q->donor;

	d->rsp_ok = wc->status == IB_WC_SUCCESS &&
		    wc->byte_len == EMP_MSG_SIZE;
	if (wc->status != IB_WC_SUCCESS && wc->status != IB_WC_WR_FLUSH_ERR)
		empblk_donor_mark_dead(d, ib_wc_status_msg(wc->status));
	complete(&d->rsp_done);
}

/*
 * One request and its reply, under admin_lock. Returns the emp_status of
 * the reply, or a negative errno if the exchange itself failed (the donor
 * is then marked dead).
 */
static int empblk_admin_rpc(struct empblk_donor *d, u16 type, u32 chunk,
			    struct emp_msg_chunk *out)
{
	struct ib_sge rsge = {
		.addr = d->rx_dma, .length = EMP_MSG_SIZE,
		.lkey = d->pd->local_dma_lkey,
	};
	struct ib_sge ssge = {
		.addr = d->tx_dma, .length = EMP_MSG_SIZE,
		.lkey = d->pd->local_dma_lkey,
	};
	struct ib_recv_wr rwr = {
		.wr_cqe = &d->rx_cqe, .sg_list = &rsge, .num_sge = 1,
	};
	struct ib_send_wr swr = {
		.wr_cqe = &d->tx_cqe, .sg_list = &ssge, .num_sge = 1,
		.opcode = IB_WR_SEND, .send_flags = IB_SEND_SIGNALED,
	};
	struct emp_msg_chunk *rsp = &d->rx->chunk;
	struct emp_msg_chunk *req = &d->tx->chunk;
	int ret;

	lockdep_assert_held(&d->admin_lock);
	if (test_bit(EMPBLK_DONOR_DEAD, &d->flags))
		return -ENOTCONN;
	memset(d->tx, 0, sizeof(*d->tx));
	req->hdr.magic = cpu_to_le32(EMP_PROTO_MAGIC);
	req->hdr.type = cpu_to_le16(type);
	req->hdr.len = cpu_to_le16(sizeof(*req));
	req->hdr.tag = cpu_to_le32(++d->tag);
	req->chunk = cpu_to_le32(chunk);
	ib_dma_sync_single_for_device(d->ibdev, d->tx_dma, EMP_MSG_SIZE,
				      DMA_TO_DEVICE);
	ib_dma_sync_single_for_device(d->ibdev, d->rx_dma, EMP_MSG_SIZE,
				      DMA_FROM_DEVICE);
	reinit_completion(&d->rsp_done);
	ret = ib_post_recv(d->admin.cm_id->qp, &rwr, NULL);
	if (!ret)
		ret = ib_post_send(d->admin.cm_id->qp, &swr, NULL);
	if (ret) {
		empblk_donor_mark_dead(d, "admin post failed");
		return ret;
	}
	/* it serves a request: it gets as long (queue/io_timeout) */
	if (!wait_for_completion_timeout(&d->rsp_done,
					 READ_ONCE(d->dev->disk->queue->rq_timeout))) {
		empblk_donor_fail(d, "admin request timed out");
		return -ETIMEDOUT;
	}
	if (!d->rsp_ok)
		return -EIO;
	ib_dma_sync_single_for_cpu(d->ibdev, d->rx_dma, EMP_MSG_SIZE,
				   DMA_FROM_DEVICE);
	if (le32_to_cpu(rsp->hdr.magic) != EMP_PROTO_MAGIC ||
	    le32_to_cpu(rsp->hdr.tag) != d->tag ||
	    le16_to_cpu(rsp->hdr.type) != type + 1) {
		pr_err_ratelimited("%s: donor %pISpc: malformed admin reply ignored\n",
				   empblk_rq_name(d->dev), &d->spec.addr);
		return -EPROTO;
	}
	*out = *rsp;
	return le32_to_cpu(rsp->hdr.status);
}

/* Make sure chunk @c of donor @d exists. May sleep. */
static int empblk_donor_get_chunk(struct empblk_donor *d, unsigned long c)
{
	struct empblk_rchunk *rc = &d->chunks[c];
	struct emp_msg_chunk rsp;
	int st;

	/* pairs with the release below: a set id means addr, rkey are valid */
	if (smp_load_acquire(&rc->id))
		return 0;
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
			empblk_donor_mark_dead(d, "flush post failed");
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

static void empblk_donor_put_chunk(struct empblk_donor *d, unsigned long c)
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
		 * flush means the donor is lost, and so is the session.
		 */
		if (empblk_donor_flush(d, rc->addr, rc->rkey))
			empblk_admin_rpc(d, EMP_MSG_CHUNK_FREE, id, &rsp);
	}
	mutex_unlock(&d->admin_lock);
}

/* Striping */

static void empblk_remote_locate(struct empblk_remote *r, u64 pos,
				 unsigned int *donor, u64 *doff)
{
	empblk_stripe_locate(pos, r->sb_shift, r->nr_donors, donor, doff);
}

/*
 * Whether the DRAM cache served the part of the request at @pos: @served
 * is empblk_cache_rw()'s bitmap of the request's blocks.
 */
static bool empblk_served(struct empblk_dev *dev, u64 served,
			  struct request *rq, u64 pos)
{
	unsigned int shift;

	if (!served)
		return false;
	shift = dev->cache->blk_shift;
	return served & BIT_ULL((pos >> shift) -
				(((u64)blk_rq_pos(rq) << SECTOR_SHIFT) >> shift));
}

/*
 * For a write: 0 if every chunk the request's uncached part touches
 * exists; -EAGAIN if one must be allocated first (with @may_sleep false);
 * or the error of that allocation.
 */
static int empblk_remote_prepare(struct empblk_dev *dev, struct request *rq,
				 u64 served, bool may_sleep)
{
	struct empblk_remote *r = &dev->remote;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 end = pos + blk_rq_bytes(rq);
	u64 sb = 1ULL << r->sb_shift;
	int ret;

	while (pos < end) {
		unsigned long c;
		unsigned int di;
		u64 doff;

		if (empblk_served(dev, served, rq, pos)) {
			pos = round_down(pos, sb) + sb;
			continue;
		}
		empblk_remote_locate(r, pos, &di, &doff);
		c = doff >> EMP_CHUNK_SHIFT;
		/* pairs with empblk_donor_get_chunk()'s release */
		if (!smp_load_acquire(&r->donors[di].chunks[c].id)) {
			if (!may_sleep)
				return -EAGAIN;
			ret = empblk_donor_get_chunk(&r->donors[di], c);
			if (ret)
				return ret;
		}
		pos = round_down(pos, sb) + sb;
	}
	return 0;
}

/* Zero the part of the request's data at [off, off + len). */
static void empblk_zero_rq_range(struct request *rq, u64 off, u64 len)
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

/*
 * Zero the pieces of a read no write has reached (cmd->holes, one bit per
 * subblock the request touches). Runs after the pages are unmapped: with
 * bounce buffering, CPU stores into a buffer mapped for the device would
 * be lost at unmap.
 */
static void empblk_remote_zero_holes(struct empblk_dev *dev,
				     struct empblk_cmd *cmd)
{
	struct request *rq = cmd->rq;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 sb = 1ULL << dev->remote.sb_shift;
	u64 done = 0, zeroed = 0;
	unsigned int i;

	for (i = 0; done < blk_rq_bytes(rq); i++) {
		u64 len = min_t(u64, blk_rq_bytes(rq) - done,
				round_down(pos, sb) + sb - pos);

		if (cmd->holes & BIT_ULL(i)) {
			empblk_zero_rq_range(rq, done, len);
			zeroed += len;
		}
		pos += len;
		done += len;
	}
	empblk_stat_add(dev, EMPBLK_STAT_UNWRITTEN_READS,
			DIV_ROUND_UP(zeroed, PAGE_SIZE));
}

/* Drop the chunk references of the first @nwr work requests of @cmd. */
static void empblk_cmd_put_chunks(struct empblk_cmd *cmd, unsigned int nwr)
{
	unsigned int i;

	for (i = 0; i < nwr; i++)
		if (cmd->rwrs[i].rc)
			atomic_dec(&cmd->rwrs[i].rc->inflight);
}

/* Give the READ sink MRs of @cmd back to their pools. */
static void empblk_cmd_put_sinks(struct empblk_cmd *cmd)
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
static void empblk_cmd_unprepare(struct empblk_dev *dev,
				 struct empblk_cmd *cmd, unsigned int nwr)
{
	empblk_cmd_put_chunks(cmd, nwr);
	empblk_cmd_put_sinks(cmd);
	ib_dma_unmap_sg(dev->remote.ibdev, cmd->sgl, cmd->nents,
			rq_dma_dir(cmd->rq));
	cmd->nents = 0;
}

/* All work requests of @cmd are done (or none was needed): end it. */
static void empblk_remote_finish(struct empblk_dev *dev,
				 struct empblk_cmd *cmd)
{
	struct request *rq = cmd->rq;

	empblk_cmd_unprepare(dev, cmd, cmd->nwr);
	WRITE_ONCE(cmd->nwr, 0);
	if (!READ_ONCE(cmd->failed)) {
		if (cmd->holes)
			empblk_remote_zero_holes(dev, cmd);
		empblk_complete_rq(dev, rq, BLK_STS_OK);
		return;
	}
	empblk_stat_inc(dev, EMPBLK_STAT_REMOTE_ERRORS);
	pr_err_ratelimited("%s: remote %s of %u bytes at sector %llu failed: %s\n",
			   dev->disk->disk_name,
			   rq_data_dir(rq) == WRITE ? "write" : "read",
			   blk_rq_bytes(rq), (unsigned long long)blk_rq_pos(rq),
			   READ_ONCE(cmd->failed));
	empblk_complete_rq(dev, rq, BLK_STS_IOERR);
}

static void empblk_remote_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct empblk_rwr *rwr = container_of(wc->wr_cqe, struct empblk_rwr,
					      cqe);
	struct empblk_cmd *cmd = rwr->cmd;

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		struct empblk_rqueue *q = wc->qp->qp_context;

		/* the first failure names the cause */
		cmpxchg(&cmd->failed, NULL, ib_wc_status_msg(wc->status));
		if (wc->status != IB_WC_WR_FLUSH_ERR)
			empblk_donor_mark_dead(q->donor,
					       ib_wc_status_msg(wc->status));
	} else if (rwr->inv_mr) {
		/* READ_WITH_INV: the sink is invalid again, ready to reuse */
		rwr->inv_mr->need_inval = false;
	}
	if (atomic_dec_and_test(&cmd->pending))
		empblk_remote_finish(cmd->rq->q->queuedata, cmd);
}

/* LOCAL_INV and REG_MR of a READ sink are unsignaled: only failures land */
static void empblk_sink_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct empblk_rqueue *q = wc->qp->qp_context;

	if (wc->status != IB_WC_SUCCESS && wc->status != IB_WC_WR_FLUSH_ERR)
		empblk_donor_mark_dead(q->donor, ib_wc_status_msg(wc->status));
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
static struct empblk_rmr *empblk_sink_get(struct empblk_cmd *cmd,
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
static int empblk_post_sinks(struct empblk_cmd *cmd)
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
			empblk_donor_mark_dead(m->q->donor, "post failed");
			return ret;
		}
	}
	return 0;
}

/*
 * Take a reference on chunk @rc for a transfer: 0 if it is allocated (its
 * addr and rkey valid until the reference is dropped), -ENOENT if not.
 * The reference is what empblk_donor_put_chunk() waits for before the
 * donor frees the chunk (over iWARP also for the WRITEs' data to reach
 * the donor: empblk_donor_flush()), so a discard never frees memory under
 * a transfer.
 */
static int empblk_rchunk_get(struct empblk_rchunk *rc)
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

/**
 * empblk_remote_rw() - serve a read or write from the DRAM cache and donors
 * @dev: device
 * @rq: request, already started
 * @hctx_idx: hardware queue, which selects the I/O queue of each donor
 * @may_sleep: called from the worker, which may allocate chunks
 *
 * Return: 0 when the request is taken care of (posted, completing from
 * the CQ, or already completed), or -EAGAIN, with the request untouched
 * (beyond what the DRAM cache took, which is idempotent), when a write
 * needs a donor chunk allocated first: the caller defers it to the
 * worker, which calls again with @may_sleep.
 */
int empblk_remote_rw(struct empblk_dev *dev, struct request *rq,
		     unsigned int hctx_idx, bool may_sleep)
{
	struct empblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct empblk_remote *r = &dev->remote;
	bool is_write = rq_data_dir(rq) == WRITE;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 sb = 1ULL << r->sb_shift;
	unsigned int nwr = 0, nsge = 0, piece, i;
	struct empblk_rchunk *rwr_rc = NULL;
	struct empblk_rwr *rwr = NULL;
	struct scatterlist *sg;
	u64 sg_used = 0, done = 0, served = 0, rwr_end = 0;
	const char *why = "its donor is disconnected";
	int nents, n, ret;

	if (dev->cache) {
		served = empblk_cache_rw(dev, rq);
		if (served == GENMASK_ULL(empblk_rq_blocks(dev, rq) - 1, 0)) {
			/* all in DRAM */
			empblk_complete_rq(dev, rq, BLK_STS_OK);
			return 0;
		}
	}

	if (is_write) {
		ret = empblk_remote_prepare(dev, rq, served, may_sleep);
		if (ret == -EAGAIN)
			return -EAGAIN;
		if (ret) {
			empblk_stat_inc(dev, ret == -ENOSPC ?
					EMPBLK_STAT_NOSPACE_ERRORS :
					EMPBLK_STAT_REMOTE_ERRORS);
			empblk_complete_rq(dev, rq, ret == -ENOSPC ?
					   BLK_STS_NOSPC : BLK_STS_IOERR);
			return 0;
		}
	}

	sg_init_table(cmd->sgl, EMPBLK_REMOTE_MAX_SEGS);
	nents = blk_rq_map_sg(rq->q, rq, cmd->sgl);
	n = ib_dma_map_sg(r->ibdev, cmd->sgl, nents, rq_dma_dir(rq));
	if (!n) {
		/*
		 * No mapping space now (bounce buffers, IOMMU): back-pressure,
		 * not an error a swap-in would die of. Retry in a jiffy.
		 */
		blk_mq_requeue_request(rq, false);
		blk_mq_delay_kick_requeue_list(rq->q, 1);
		return 0;
	}
	cmd->nents = nents;
	cmd->failed = NULL;
	cmd->holes = 0;
	cmd->nmr = 0;
	sg = cmd->sgl;

	for (piece = 0; done < blk_rq_bytes(rq); piece++) {
		u64 len = min_t(u64, blk_rq_bytes(rq) - done,
				round_down(pos, sb) + sb - pos);
		struct empblk_rmr *m = NULL;
		struct empblk_rqueue *q;
		struct empblk_donor *d;
		struct empblk_rchunk *rc, *ref;
		unsigned int di;
		u64 doff, left, raddr;

		if (empblk_served(dev, served, rq, pos)) {
			/* copied from or to the DRAM cache already */
			empblk_sg_skip(&sg, &sg_used, len);
			rwr = NULL;
			goto next;
		}
		empblk_remote_locate(r, pos, &di, &doff);
		d = &r->donors[di];
		rc = &d->chunks[doff >> EMP_CHUNK_SHIFT];
		if (empblk_rchunk_get(rc)) {
			if (is_write) {
				/* a racing discard gave the chunk back */
				empblk_cmd_unprepare(dev, cmd, nwr);
				return -EAGAIN;
			}
			/* never written: zeroes, after unmapping */
			cmd->holes |= BIT_ULL(piece);
			empblk_sg_skip(&sg, &sg_used, len);
			rwr = NULL;
			goto next;
		}
		if (test_bit(EMPBLK_DONOR_DEAD, &d->flags)) {
			atomic_dec(&rc->inflight);
			goto out_unmap_ioerr;
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
				sge->addr = m->mr->iova + done;
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
next:
		pos += len;
		done += len;
	}

	if (!nwr) {
		/* all zeroes (or cached): complete now */
		empblk_remote_finish(dev, cmd);
		return 0;
	}

	/* the last completion, in empblk_remote_done(), ends the request */
	atomic_set(&cmd->pending, nwr);
	WRITE_ONCE(cmd->nwr, nwr);
	if (cmd->nmr && empblk_post_sinks(cmd)) {
		/* nothing counted was posted: every WR fails */
		WRITE_ONCE(cmd->failed, "post failed");
		if (atomic_sub_and_test(nwr, &cmd->pending))
			empblk_remote_finish(dev, cmd);
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
			empblk_donor_mark_dead(d, "post failed");
			if (atomic_sub_and_test(nwr - i, &cmd->pending))
				empblk_remote_finish(dev, cmd);
			return 0;
		}
	}
	return 0;

out_requeue:
	/* no sink MR free now: back-pressure, like a full DMA mapping */
	empblk_cmd_unprepare(dev, cmd, nwr);
	blk_mq_requeue_request(rq, false);
	blk_mq_delay_kick_requeue_list(rq->q, 1);
	return 0;

out_unmap_ioerr:
	empblk_cmd_unprepare(dev, cmd, nwr);
	pr_err_ratelimited("%s: %s at sector %llu fails: %s\n",
			   dev->disk->disk_name, is_write ? "write" : "read",
			   (unsigned long long)blk_rq_pos(rq), why);
	empblk_stat_inc(dev, EMPBLK_STAT_REMOTE_ERRORS);
	empblk_complete_rq(dev, rq, BLK_STS_IOERR);
	return 0;
}

static void empblk_wb_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct empblk_wbwr *w = container_of(wc->wr_cqe, struct empblk_wbwr,
					     cqe);
	struct empblk_wb *wb = w->wb;

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		struct empblk_rqueue *q = wc->qp->qp_context;

		WRITE_ONCE(wb->failed, true);
		if (wc->status != IB_WC_WR_FLUSH_ERR)
			empblk_donor_mark_dead(q->donor,
					       ib_wc_status_msg(wc->status));
	}
	if (atomic_dec_and_test(&wb->pending))
		empblk_cache_wb_end(wb, !READ_ONCE(wb->failed));
}

/**
 * empblk_remote_writeback() - write a cached block to its donors
 * @dev: device with a DRAM cache
 * @wb: writeback slot holding the entry (its data stable enough: a write
 *	racing the transfer bumps the entry's generation and it stays dirty)
 *
 * Called by the writeback worker, which may sleep: donor chunks the block
 * needs are allocated here. The block's pages go out as RDMA WRITEs on
 * each donor's writeback queue, one per run of pages contiguous on a
 * donor; the last completion calls empblk_cache_wb_end().
 *
 * Return: 0 once posted (the completion reports the outcome), or a
 * negative errno, with nothing posted.
 */
int empblk_remote_writeback(struct empblk_dev *dev, struct empblk_wb *wb)
{
	struct empblk_remote *r = &dev->remote;
	struct empblk_cache *c = dev->cache;
	unsigned long first = (wb->e - c->entries) * c->ppb;
	u64 pos = (u64)wb->e->blk << c->blk_shift;
	struct empblk_wbwr *w = NULL;
	unsigned int i, nwr = 0;
	u64 next_raddr = 0;
	u32 rkey = 0;
	int ret;

	for (i = 0; i < c->ppb; i++) {
		struct empblk_rchunk *rc;
		struct empblk_donor *d;
		struct ib_sge *sge;
		unsigned int di;
		u64 doff, raddr;

		/* a page never straddles subblocks: both are multiples of 4K */
		empblk_remote_locate(r, pos + ((u64)i << PAGE_SHIFT), &di,
				     &doff);
		d = &r->donors[di];
		if (test_bit(EMPBLK_DONOR_DEAD, &d->flags))
			return -ENOTCONN;
		ret = empblk_donor_get_chunk(d, doff >> EMP_CHUNK_SHIFT);
		if (ret)
			return ret;
		rc = &d->chunks[doff >> EMP_CHUNK_SHIFT];
		raddr = rc->addr + (doff & (EMP_CHUNK_SIZE - 1));
		ib_dma_sync_single_for_device(r->ibdev, c->dma[first + i],
					      PAGE_SIZE, DMA_TO_DEVICE);
		if (!w || w->donor != di || raddr != next_raddr ||
		    rc->rkey != rkey || w->wr.wr.num_sge == d->max_sge) {
			w = &wb->wrs[nwr++];
			w->wb = wb;
			w->donor = di;
			w->cqe.done = empblk_wb_done;
			w->wr.wr.wr_cqe = &w->cqe;
			w->wr.wr.opcode = IB_WR_RDMA_WRITE;
			w->wr.wr.send_flags = IB_SEND_SIGNALED;
			w->wr.wr.sg_list = &wb->sges[i];
			w->wr.wr.num_sge = 0;
			w->wr.wr.next = NULL;
			w->wr.remote_addr = raddr;
			w->wr.rkey = rc->rkey;
			rkey = rc->rkey;
		}
		sge = &wb->sges[i];
		sge->addr = c->dma[first + i];
		sge->length = PAGE_SIZE;
		sge->lkey = d->pd->local_dma_lkey;
		w->wr.wr.num_sge++;
		next_raddr = raddr + PAGE_SIZE;
	}

	WRITE_ONCE(wb->failed, false);
	atomic_set(&wb->pending, nwr);
	for (i = 0; i < nwr; i++) {
		struct empblk_donor *d = &r->donors[wb->wrs[i].donor];

		ret = ib_post_send(d->wbq.cm_id->qp, &wb->wrs[i].wr.wr, NULL);
		if (unlikely(ret)) {
			WRITE_ONCE(wb->failed, true);
			empblk_donor_mark_dead(d, "post failed");
			if (atomic_sub_and_test(nwr - i, &wb->pending))
				empblk_cache_wb_end(wb, false);
			return 0;
		}
	}
	return 0;
}

/**
 * empblk_remote_poll() - reap completions of a polled hardware queue
 * @dev: device
 * @hctx_idx: a hardware queue of type HCTX_TYPE_POLL
 *
 * Its I/O queue on every donor has a CQ that only this polls.
 *
 * Return: work completions reaped.
 */
int empblk_remote_poll(struct empblk_dev *dev, unsigned int hctx_idx)
{
	struct empblk_remote *r = &dev->remote;
	unsigned int i;
	int n = 0;

	for (i = 0; i < r->nr_donors; i++)
		n += ib_process_cq_direct(r->donors[i].ioqs[hctx_idx].cq, -1);
	if (n)
		empblk_stat_add(dev, EMPBLK_STAT_POLLED_COMPLETIONS, n);
	return n;
}

/**
 * empblk_remote_timeout() - a remote request outlived the queue's timeout
 * @dev: device
 * @rq: the request
 *
 * The transport gives up on an unreachable donor by itself after its
 * retries; this is the backstop for a donor that stops answering without
 * the transport noticing. Every donor the request has work requests on is
 * declared lost and its queues are moved to the error state: the work
 * requests flush and the request completes with an I/O error from its CQ.
 * A request still waiting in the worker for a chunk is left alone: the
 * admin exchange it waits for has its own timeout.
 *
 * Return: BLK_EH_RESET_TIMER; the completion ends the request.
 */
enum blk_eh_timer_return empblk_remote_timeout(struct empblk_dev *dev,
					       struct request *rq)
{
	struct empblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	unsigned int nwr = READ_ONCE(cmd->nwr);
	struct empblk_remote *r = &dev->remote;
	unsigned int i;

	if (!nwr)
		return BLK_EH_RESET_TIMER;
	pr_err_ratelimited("%s: %s of %u bytes at sector %llu timed out after %u ms\n",
			   dev->disk->disk_name,
			   rq_data_dir(rq) == WRITE ? "write" : "read",
			   blk_rq_bytes(rq), (unsigned long long)blk_rq_pos(rq),
			   jiffies_to_msecs(rq->timeout));
	for (i = 0; i < nwr && i < EMPBLK_REMOTE_MAX_WRS; i++)
		empblk_donor_fail(&r->donors[cmd->rwrs[i].donor],
				  "request timed out");
	return BLK_EH_RESET_TIMER;
}

/**
 * empblk_remote_discard() - give back donor chunks a discard covers whole
 * @dev: device
 * @rq: the discard, from the worker (this sleeps)
 */
void empblk_remote_discard(struct empblk_dev *dev, struct request *rq)
{
	struct empblk_remote *r = &dev->remote;
	u64 start = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 end = start + blk_rq_bytes(rq);
	u64 g0 = DIV_ROUND_UP_ULL(start, 1ULL << r->sb_shift);
	u64 g1 = end >> r->sb_shift;	/* first subblock not covered */
	unsigned int sb_per_chunk = EMP_CHUNK_SIZE >> r->sb_shift;
	unsigned int di;

	if (dev->cache)
		empblk_cache_discard_begin(dev, start, end);
	if (g1 <= g0)
		goto out_cache;
	for (di = 0; di < r->nr_donors; di++) {
		struct empblk_donor *d = &r->donors[di];
		u64 c, c0, c1;

		empblk_stripe_chunks_covered(g0, g1, di, r->nr_donors,
					     sb_per_chunk, &c0, &c1);
		for (c = c0; c < c1 && c < d->nr_chunks; c++) {
			if (READ_ONCE(d->chunks[c].id))
				empblk_donor_put_chunk(d, c);
			cond_resched();
		}
	}
out_cache:
	if (dev->cache)
		empblk_cache_discard_end(dev);
}

/* Setup and teardown */

static int empblk_donor_admin_bufs(struct empblk_donor *d)
{
	d->tx = kzalloc(EMP_MSG_SIZE, GFP_KERNEL);
	d->rx = kzalloc(EMP_MSG_SIZE, GFP_KERNEL);
	if (!d->tx || !d->rx)
		return -ENOMEM;
	d->tx_dma = ib_dma_map_single(d->ibdev, d->tx, EMP_MSG_SIZE,
				      DMA_TO_DEVICE);
	if (ib_dma_mapping_error(d->ibdev, d->tx_dma)) {
		d->tx_dma = 0;
		return -EIO;
	}
	d->rx_dma = ib_dma_map_single(d->ibdev, d->rx, EMP_MSG_SIZE,
				      DMA_FROM_DEVICE);
	if (ib_dma_mapping_error(d->ibdev, d->rx_dma)) {
		d->rx_dma = 0;
		return -EIO;
	}
	d->tx_cqe.done = empblk_admin_send_done;
	d->rx_cqe.done = empblk_admin_recv_done;
	init_completion(&d->rsp_done);
	return 0;
}

static void empblk_donor_disconnect(struct empblk_donor *d)
{
	unsigned int i;

	/* our own disconnect is not a lost donor: keep the log quiet */
	set_bit(EMPBLK_DONOR_DEAD, &d->flags);
	for (i = 0; d->ioqs && i < d->nr_ioqs; i++)
		empblk_rqueue_destroy(&d->ioqs[i]);
	empblk_rqueue_destroy(&d->wbq);
	empblk_rqueue_destroy(&d->admin);
	if (d->rx_dma)
		ib_dma_unmap_single(d->ibdev, d->rx_dma, EMP_MSG_SIZE,
				    DMA_FROM_DEVICE);
	if (d->tx_dma)
		ib_dma_unmap_single(d->ibdev, d->tx_dma, EMP_MSG_SIZE,
				    DMA_TO_DEVICE);
	kfree(d->rx);
	kfree(d->tx);
	kfree(d->ioqs);
	vfree(d->chunks);
	if (d->pd)
		ib_dealloc_pd(d->pd);
}

/* One READ sink MR per tag, so that a read never waits for one. */
static int empblk_rqueue_sink_pool(struct empblk_donor *d,
				   struct empblk_rqueue *q)
{
	u32 nr = d->dev->params.queue_depth;
	int ret;

	ret = ib_mr_pool_init(q->cm_id->qp, &q->sink_mrs, nr,
			      IB_MR_TYPE_MEM_REG, EMPBLK_REMOTE_MAX_PAGES, 0);
	if (ret) {
		pr_err("%s: donor %pISpc: cannot allocate %u memory regions for RDMA READ sinks on %s: %d\n",
		       d->dev->disk->disk_name, &d->spec.addr, nr,
		       dev_name(&d->ibdev->dev), ret);
		return ret;
	}
	q->nr_sink_mrs = nr;
	return 0;
}

static int empblk_donor_connect(struct empblk_dev *dev,
				struct empblk_donor *d)
{
	u32 per_rq = EMPBLK_REMOTE_MAX_WRS;
	u32 send_wr = dev->params.queue_depth * per_rq;
	unsigned int i;
	int ret;

	d->cookie = get_random_u64();
	d->nr_chunks = DIV_ROUND_UP_ULL(dev->params.spec.total_mb /
					dev->remote.nr_donors,
					EMP_CHUNK_SIZE >> 20);
	d->chunks = vzalloc(array_size(d->nr_chunks, sizeof(*d->chunks)));
	d->nr_ioqs = nr_cpu_ids + dev->params.poll_queues;
	d->ioqs = kcalloc(d->nr_ioqs, sizeof(*d->ioqs), GFP_KERNEL);
	mutex_init(&d->admin_lock);
	if (!d->chunks || !d->ioqs)
		return -ENOMEM;

	ret = empblk_rqueue_connect(d, &d->admin, 0, 2, 1, 1);
	if (ret)
		return ret;
	ret = empblk_donor_admin_bufs(d);
	if (ret)
		return ret;
	if (send_wr > d->ibdev->attrs.max_qp_wr) {
		pr_err("%s: queue_depth %u needs %u work requests per queue; %s allows %d\n",
		       dev->disk->disk_name, dev->params.queue_depth, send_wr,
		       dev_name(&d->ibdev->dev), d->ibdev->attrs.max_qp_wr);
		return -EINVAL;
	}
	/* a WR carries at most this many SGEs (iWARP: one per READ) */
	d->max_sge = min_t(u32, EMPBLK_REMOTE_MAX_SGES,
			   d->ibdev->attrs.max_send_sge);
	d->max_rd_sge = min_t(u32, d->max_sge, d->ibdev->attrs.max_sge_rd);
	for (i = 0; i < d->nr_ioqs; i++) {
		ret = empblk_rqueue_connect(d, &d->ioqs[i], i + 1, send_wr, 0,
					    d->max_sge);
		if (ret)
			return ret;
		if (d->reg_sinks) {
			ret = empblk_rqueue_sink_pool(d, &d->ioqs[i]);
			if (ret)
				return ret;
		}
	}
	if (empblk_wants_cache(&dev->params)) {
		/* writebacks: at most one WR per page of each block in flight */
		u32 wb_wr = empblk_cache_nr_wb(dev->params.block_size) *
			    (dev->params.block_size >> PAGE_SHIFT);

		ret = empblk_rqueue_connect(d, &d->wbq, d->nr_ioqs + 1, wb_wr,
					    0, d->max_sge);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * empblk_remote_init() - connect to every donor of the device
 * @dev: device being created (disk allocated, not yet added)
 *
 * Return: 0, or a negative errno with the failing donor and the reason
 * logged; nothing is left connected on failure.
 */
int empblk_remote_init(struct empblk_dev *dev)
{
	struct empblk_remote *r = &dev->remote;
	const struct empblk_spec *spec = &dev->params.spec;
	unsigned int i;
	int ret;

	r->nr_donors = spec->nr_donors;
	if (!r->nr_donors)
		return 0;
	r->sb_shift = ilog2(dev->params.subblock_size);
	r->donors = kcalloc(r->nr_donors, sizeof(*r->donors), GFP_KERNEL);
	if (!r->donors) {
		r->nr_donors = 0;
		return -ENOMEM;
	}
	for (i = 0; i < r->nr_donors; i++) {
		struct empblk_donor *d = &r->donors[i];

		d->dev = dev;
		d->idx = i;
		d->spec = spec->donors[i];
		ret = empblk_donor_connect(dev, d);
		if (ret)
			goto out_disconnect;
		if (!r->ibdev) {
			r->ibdev = d->ibdev;
		} else if (r->ibdev != d->ibdev) {
			pr_err("%s: donors on different RDMA devices are not supported by this version\n",
			       dev->disk->disk_name);
			ret = -EXDEV;
			goto out_disconnect;
		}
	}
	return 0;

out_disconnect:
	/* donor i is partly connected; tear down it and every earlier one */
	do {
		empblk_donor_disconnect(&r->donors[i]);
	} while (i-- > 0);
	kfree(r->donors);
	r->donors = NULL;
	r->nr_donors = 0;
	return ret;
}

/**
 * empblk_remote_exit() - disconnect from every donor
 * @dev: device with no I/O in flight
 *
 * The donors free everything the session held when it ends.
 */
void empblk_remote_exit(struct empblk_dev *dev)
{
	struct empblk_remote *r = &dev->remote;
	unsigned int i;

	for (i = 0; i < r->nr_donors; i++)
		empblk_donor_disconnect(&r->donors[i]);
	kfree(r->donors);
	r->donors = NULL;
	r->nr_donors = 0;
}
