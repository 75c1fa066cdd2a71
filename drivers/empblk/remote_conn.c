// SPDX-License-Identifier: GPL-2.0
/*
 * The remote tier's connections: to each donor, one admin RC connection
 * for the RPCs (chunk allocation and free), one I/O RC connection per
 * hardware queue, and one for the page I/O of a layer above (a DRAM
 * cache's writeback). Hardware queue i posts only on I/O queue i of each
 * donor, and each queue's send queue has room for queue_depth requests of
 * EMPBLK_REMOTE_MAX_WRS work requests, so posting never runs out of room.
 * Completions arrive in softirq context (the device's shared CQ pool),
 * or for polled hardware queues on a CQ of their own.
 *
 * Failure. A donor whose queue disconnects or errors, or that stops
 * answering (a request or a keep-alive times out), is lost. If the donor
 * keeps sessions across connections (protocol 1.1: it granted a grace
 * period) and the device has a loss_timeout, the connection is resumed
 * (empblk_donor_reconnect_work()): its I/O is requeued meanwhile, never
 * failed, and every reconnect_delay seconds all queues are torn down and
 * connected again, reattaching to the session with its chunks and keys as
 * they were. A donor that restarted (its incarnation changed, or it no
 * longer knows the session) lost our data: it is given up. So is one not
 * back within loss_timeout, or one reached over iWARP, whose completed
 * WRITEs may not be placed yet when the connection breaks. A donor given
 * up is dead: its I/O fails with BLK_STS_IOERR and a ratelimited message
 * until the device is recreated.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/random.h>
#include <linux/vmalloc.h>
#include <rdma/ib_cm.h>
#include <rdma/mr_pool.h>

#include "remote.h"

#define EMPBLK_CM_TIMEOUT_MS	3000

/* the device's name for messages, also before its disk exists */
const char *empblk_rq_name(struct empblk_dev *dev)
{
	return dev->disk ? dev->disk->disk_name : "empblk";
}

/**
 * empblk_donor_mark_dead() - give a donor up
 * @d: the donor
 * @why: for the log, which has one line per donor
 *
 * Any context. I/O to it fails from now on; the stripe set moves its
 * extents to other backends, their data lost.
 */
void empblk_donor_mark_dead(struct empblk_donor *d, const char *why)
{
	/*
	 * RECONNECTING stays set if it was: its queues may be gone, and
	 * pollers and empblk_donor_fail() keep off them.
	 */
	if (test_bit(EMPBLK_DONOR_DEAD, &d->flags))
		return;
	/*
	 * Failed before dead: a request that fails for the dead donor finds
	 * it failed and runs again without it (empblk_stripe_put_rq()).
	 */
	empblk_stripe_backend_failed(&d->r->tier, d->idx);
	if (!test_and_set_bit(EMPBLK_DONOR_DEAD, &d->flags))
		pr_err("%s: donor %pISpc lost (%s): given up, the device goes on without it\n",
		       empblk_rq_name(d->dev), &d->spec.addr, why);
}

/*
 * The donor keeps our session across connections: worth reconnecting. Not
 * over iWARP: a WRITE completes there once TCP has it, and may not be in
 * the donor's memory yet when the connection breaks.
 */
static bool empblk_donor_can_resume(struct empblk_donor *d)
{
	return d->dev->params.loss_timeout && d->grace_s && !d->reg_sinks;
}

/**
 * empblk_donor_lost() - a donor's connection broke or stopped answering
 * @d: the donor
 * @why: for the log
 *
 * Any context. Starts resuming the connection if the donor can be (its
 * I/O is held meanwhile), else gives it up (empblk_donor_mark_dead()).
 */
void empblk_donor_lost(struct empblk_donor *d, const char *why)
{
	/* teardown sets DEAD, then waits for us before it cancels the work */
	rcu_read_lock();
	/* a reconnect under way decides everything itself */
	if (test_bit(EMPBLK_DONOR_DEAD, &d->flags) ||
	    test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags))
		goto out;
	if (!empblk_donor_can_resume(d)) {
		empblk_donor_mark_dead(d, why);
		goto out;
	}
	if (test_and_set_bit(EMPBLK_DONOR_RECONNECTING, &d->flags))
		goto out;
	/* with replicas, its I/O goes to the other copies meanwhile */
	empblk_stripe_backend_busy(&d->r->tier, d->idx, true);
	d->lost_at = jiffies;
	pr_warn("%s: donor %pISpc lost (%s): %s while it reconnects, for up to %u s\n",
		empblk_rq_name(d->dev), &d->spec.addr, why,
		d->dev->params.replicas > 1 ?
		"I/O goes to the other copies, and its copies miss writes," :
		"its I/O is held", d->dev->params.loss_timeout);
	queue_delayed_work(empblk_conn_wq, &d->reconnect_work, 0);
out:
	rcu_read_unlock();
}

/**
 * empblk_donor_retry() - whether a transfer a donor failed is to be retried
 * @d: the donor, after empblk_donor_lost() was called for the failure
 *
 * Return: true while the donor is reconnecting (the request is requeued),
 * false once it is dead (the request fails).
 */
bool empblk_donor_retry(struct empblk_donor *d)
{
	return !test_bit(EMPBLK_DONOR_DEAD, &d->flags) &&
	       test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags);
}

/**
 * empblk_donor_wc_error() - a work request to a donor failed
 * @d: the donor
 * @status: its completion status, not IB_WC_SUCCESS
 *
 * Any context. A flush is the consequence of an error already handled.
 * A transport that gave up (retries or RNR retries exhausted) lost the
 * connection: it may be resumed. Anything else (the donor refused our
 * key, a protection or operation error) would fail again on a resumed
 * connection, and may mean the donor's memory for us is gone: the donor
 * is given up.
 */
void empblk_donor_wc_error(struct empblk_donor *d, enum ib_wc_status status)
{
	switch (status) {
	case IB_WC_WR_FLUSH_ERR:
		return;
	case IB_WC_RETRY_EXC_ERR:
	case IB_WC_RNR_RETRY_EXC_ERR:
		empblk_donor_lost(d, ib_wc_status_msg(status));
		return;
	default:
		empblk_donor_mark_dead(d, ib_wc_status_msg(status));
	}
}

/* Move every queue pair of @d that exists to the error state. */
static void empblk_donor_qps_err(struct empblk_donor *d)
{
	struct ib_qp_attr attr = { .qp_state = IB_QPS_ERR };
	unsigned int i;

	if (test_and_set_bit(EMPBLK_DONOR_QPS_ERR, &d->flags))
		return;
	for (i = 0; i < d->nr_ioqs; i++)
		if (d->ioqs[i].cm_id && d->ioqs[i].cm_id->qp)
			ib_modify_qp(d->ioqs[i].cm_id->qp, &attr, IB_QP_STATE);
	if (d->wbq.cm_id && d->wbq.cm_id->qp)
		ib_modify_qp(d->wbq.cm_id->qp, &attr, IB_QP_STATE);
	if (d->admin.cm_id && d->admin.cm_id->qp)
		ib_modify_qp(d->admin.cm_id->qp, &attr, IB_QP_STATE);
}

/**
 * empblk_donor_fail() - a donor stopped answering
 * @d: the donor
 * @why: for the log
 *
 * Process context; only once the device's queues all exist. The donor
 * is lost (empblk_donor_lost()); if it is given up, each of its queue
 * pairs is moved to the error state, so that every work request still in
 * flight completes (with a flush error) instead of waiting for a
 * transport that may retry forever. A reconnect does that itself.
 */
void empblk_donor_fail(struct empblk_donor *d, const char *why)
{
	empblk_donor_lost(d, why);
	/* a reconnect, under way or given up, owns the queues */
	if (test_bit(EMPBLK_DONOR_DEAD, &d->flags) &&
	    !test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags))
		empblk_donor_qps_err(d);
}

/* Give @d up for good and stop its reconnection; process context. */
static void empblk_donor_stop(struct empblk_donor *d, const char *why)
{
	empblk_donor_mark_dead(d, why);
	/* no empblk_donor_lost() queues the work once it saw DEAD */
	synchronize_rcu();
	cancel_delayed_work_sync(&d->reconnect_work);
	cancel_delayed_work_sync(&d->ka_work);
}

/**
 * empblk_remote_fail_all() - give up on every donor of a device
 * @r: remote tier whose queues all exist
 * @why: for the log
 *
 * Process context. Nothing is reconnected any more; every work request
 * still in flight flushes.
 */
void empblk_remote_fail_all(struct empblk_remote *r, const char *why)
{
	unsigned int i;

	for (i = 0; i < r->nr_donors; i++) {
		empblk_donor_stop(&r->donors[i], why);
		empblk_donor_qps_err(&r->donors[i]);
	}
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
			memcpy(&q->rep, rep, sizeof(q->rep));
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
		empblk_donor_lost(d, rdma_event_msg(ev->event));
		return 0;
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
	case EMP_ST_RETRY:
		return "the donor is still ending our old connections";
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

	if (wc->status != IB_WC_SUCCESS)
		empblk_donor_wc_error(q->donor, wc->status);
	q->flush_ok = wc->status == IB_WC_SUCCESS;
	complete(&q->flush_done);
}

static int empblk_rqueue_connect(struct empblk_donor *d,
				 struct empblk_rqueue *q, u16 qid,
				 u32 send_wr, u32 recv_wr, u32 max_sge,
				 u16 flags)
{
	struct empblk_dev *dev = d->dev;
	struct emp_cm_req req = {
		.magic		= cpu_to_le32(EMP_PROTO_MAGIC),
		.ver_major	= cpu_to_le16(EMP_PROTO_VER_MAJOR),
		.ver_minor	= cpu_to_le16(EMP_PROTO_VER_MINOR),
		.qid		= cpu_to_le16(qid),
		.nr_io_queues	= cpu_to_le16(d->nr_ioqs + !!d->r->pio_slots),
		.queue_depth	= cpu_to_le32(dev->params.queue_depth),
		.cookie		= cpu_to_le64(d->cookie),
	};
	struct rdma_conn_param param = {};
	struct ib_qp_init_attr attr = {};
	int ret;

	q->donor = d;
	q->qid = qid;
	q->rej_status = -1;
	memset(&q->rep, 0, sizeof(q->rep));
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

	/*
	 * A session that outlives a lost connection, and keep-alives, when we
	 * would resume it (not over iWARP, known once the route is).
	 */
	if (!qid && dev->params.loss_timeout && !d->reg_sinks) {
		req.flags = cpu_to_le16(flags);
		req.kato_s = cpu_to_le16(EMPBLK_KATO_S);
		req.grace_s = cpu_to_le32(dev->params.loss_timeout);
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

	if (wc->status != IB_WC_SUCCESS)
		empblk_donor_wc_error(q->donor, wc->status);
}

static void empblk_admin_recv_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct empblk_rqueue *q = wc->qp->qp_context;
	struct empblk_donor *d = q->donor;

	d->rsp_ok = wc->status == IB_WC_SUCCESS &&
		    wc->byte_len == EMP_MSG_SIZE;
	if (wc->status != IB_WC_SUCCESS)
		empblk_donor_wc_error(d, wc->status);
	complete(&d->rsp_done);
}

/**
 * empblk_admin_exchange() - one admin exchange, whatever the donor's state
 * @d: the donor, its admin_lock held and its admin queue connected
 * @type: EMP_MSG_*
 * @chunk: the chunk it names, if any
 * @out: the reply
 * @timeout: jiffies to wait for it
 *
 * A request that got no reply leaves its tag to the next one
 * (empblk_donor.tag_again).
 *
 * Return: as empblk_admin_rpc().
 */
int empblk_admin_exchange(struct empblk_donor *d, u16 type, u32 chunk,
			  struct emp_msg_chunk *out, unsigned long timeout)
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
	memset(d->tx, 0, sizeof(*d->tx));
	/* only the very request that got no reply reuses its tag */
	if (!d->tag_again || type != d->again_type || chunk != d->again_chunk)
		d->tag++;
	d->tag_again = true;	/* until a reply comes */
	d->again_type = type;
	d->again_chunk = chunk;
	req->hdr.magic = cpu_to_le32(EMP_PROTO_MAGIC);
	req->hdr.type = cpu_to_le16(type);
	req->hdr.len = cpu_to_le16(type == EMP_MSG_CHUNK_ALLOC ||
				   type == EMP_MSG_CHUNK_FREE ?
				   sizeof(*req) : sizeof(req->hdr));
	req->hdr.tag = cpu_to_le32(d->tag);
	req->chunk = cpu_to_le32(chunk);
	ib_dma_sync_single_for_device(d->ibdev, d->tx_dma, EMP_MSG_SIZE,
				      DMA_TO_DEVICE);
	ib_dma_sync_single_for_device(d->ibdev, d->rx_dma, EMP_MSG_SIZE,
				      DMA_FROM_DEVICE);
	reinit_completion(&d->rsp_done);
	ret = ib_post_recv(d->admin.cm_id->qp, &rwr, NULL);
	if (ret) {
		empblk_donor_lost(d, "admin post failed");
		return ret;
	}
	ret = ib_post_send(d->admin.cm_id->qp, &swr, NULL);
	if (ret)
		empblk_donor_lost(d, "admin post failed");
	else if (!wait_for_completion_timeout(&d->rsp_done, timeout))
		ret = -ETIMEDOUT;
	if (ret) {
		struct ib_qp_attr attr = { .qp_state = IB_QPS_ERR };

		if (ret == -ETIMEDOUT)
			empblk_donor_fail(d, "admin request timed out");
		/*
		 * The receive posted must complete before the next exchange
		 * reuses it: flush it (we hold admin_lock, the queue stays).
		 */
		ib_modify_qp(d->admin.cm_id->qp, &attr, IB_QP_STATE);
		wait_for_completion(&d->rsp_done);
		return ret;
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
	d->tag_again = false;
	WRITE_ONCE(d->last_rsp, jiffies);
	*out = *rsp;
	return le32_to_cpu(rsp->hdr.status);
}

/**
 * empblk_admin_rpc() - one admin request to a donor and its reply
 * @d: the donor, its admin_lock held
 * @type: EMP_MSG_CHUNK_ALLOC or EMP_MSG_CHUNK_FREE
 * @chunk: the chunk it names (0 for an allocation)
 * @out: the reply
 *
 * Sleeps, at most the queue's I/O timeout.
 *
 * Return: the emp_status of the reply; -ENOTCONN if the donor is dead,
 * -EBUSY while it reconnects; or another negative errno if the exchange
 * itself failed (the donor is then lost).
 */
int empblk_admin_rpc(struct empblk_donor *d, u16 type, u32 chunk,
		     struct emp_msg_chunk *out)
{
	lockdep_assert_held(&d->admin_lock);
	if (test_bit(EMPBLK_DONOR_DEAD, &d->flags))
		return -ENOTCONN;
	if (test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags))
		return -EBUSY;
	/* it serves a request: it gets as long (queue/io_timeout) */
	return empblk_admin_exchange(d, type, chunk, out,
				     READ_ONCE(d->dev->disk->queue->rq_timeout));
}

/*
 * Keep-alive: an admin message at least every half EMPBLK_KATO_S (one
 * when the admin queue was idle for a quarter, checked every quarter),
 * so that the donor knows we are here and we know it answers. One not
 * answered within EMPBLK_KATO_S loses the donor.
 */
static void empblk_donor_ka_work(struct work_struct *work)
{
	struct empblk_donor *d = container_of(to_delayed_work(work),
					      struct empblk_donor, ka_work);
	/* well within the donor's kato, timer slack and all */
	unsigned long quarter = EMPBLK_KATO_S * HZ / 4;
	struct emp_msg_chunk rsp;
	int st;

	if (test_bit(EMPBLK_DONOR_DEAD, &d->flags) ||
	    test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags))
		return;	/* a resumed connection starts it again */
	/* an exchange under way has its own timeout */
	if (time_after(jiffies, READ_ONCE(d->last_rsp) + quarter) &&
	    mutex_trylock(&d->admin_lock)) {
		st = -EBUSY;
		if (!test_bit(EMPBLK_DONOR_DEAD, &d->flags) &&
		    !test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags))
			st = empblk_admin_exchange(d, EMP_MSG_KEEPALIVE, 0,
						   &rsp, EMPBLK_KATO_S * HZ);
		mutex_unlock(&d->admin_lock);
		if (st == -EBUSY)
			return;
		if (st != EMP_ST_OK) {
			empblk_donor_lost(d, "keep-alive not answered");
			return;
		}
	}
	queue_delayed_work(empblk_conn_wq, &d->ka_work, quarter);
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

/* Reap the completions of @d's polled I/O queues (a reconnect's own). */
static void empblk_donor_reap_polled(struct empblk_donor *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_ioqs; i++)
		if (d->ioqs[i].cq && !d->ioqs[i].cq_pooled)
			ib_process_cq_direct(d->ioqs[i].cq, -1);
}

/* Tear down every queue of @d; its PD, admin buffers and chunks stay. */
static void empblk_donor_destroy_queues(struct empblk_donor *d)
{
	unsigned int i;

	for (i = 0; d->ioqs && i < d->nr_ioqs; i++)
		empblk_rqueue_destroy(&d->ioqs[i]);
	empblk_rqueue_destroy(&d->wbq);
	empblk_rqueue_destroy(&d->admin);
	clear_bit(EMPBLK_DONOR_QPS_ERR, &d->flags);
}

/*
 * Connect every queue of @d: admin (reattaching to the session when
 * @flags has EMP_CM_REATTACH), I/O, page I/O. Return: 0, or a negative
 * errno with the reason logged and the queues connected so far left for
 * empblk_donor_destroy_queues().
 */
static int empblk_donor_connect_queues(struct empblk_donor *d, u16 flags)
{
	struct empblk_dev *dev = d->dev;
	unsigned int i;
	u32 send_wr;
	int ret;

	ret = empblk_rqueue_connect(d, &d->admin, 0, 2, 1, 1, flags);
	if (ret)
		return ret;
	/* and a fence READ per request over iWARP (reg_sinks known now) */
	send_wr = dev->params.queue_depth *
		  (EMPBLK_REMOTE_MAX_WRS + d->reg_sinks);
	d->peer_minor = le16_to_cpu(d->admin.rep.ver_minor);
	d->grace_s = d->peer_minor ? le32_to_cpu(d->admin.rep.grace_s) : 0;
	if (!d->tx) {
		ret = empblk_donor_admin_bufs(d);
		if (ret)
			return ret;
	}
	if (send_wr > d->ibdev->attrs.max_qp_wr) {
		pr_err("%s: queue_depth %u needs %u work requests per queue; %s allows %d\n",
		       empblk_rq_name(dev), dev->params.queue_depth, send_wr,
		       dev_name(&d->ibdev->dev), d->ibdev->attrs.max_qp_wr);
		return -EINVAL;
	}
	/* a WR carries at most this many SGEs (iWARP: one per READ) */
	d->max_sge = min_t(u32, EMPBLK_REMOTE_MAX_SGES,
			   d->ibdev->attrs.max_send_sge);
	d->max_rd_sge = min_t(u32, d->max_sge, d->ibdev->attrs.max_sge_rd);
	for (i = 0; i < d->nr_ioqs; i++) {
		/* the device is going away: stop a reconnect early */
		if (test_bit(EMPBLK_DONOR_DEAD, &d->flags))
			return -ESHUTDOWN;
		ret = empblk_rqueue_connect(d, &d->ioqs[i], i + 1, send_wr, 0,
					    d->max_sge, 0);
		if (ret)
			return ret;
		if (d->reg_sinks) {
			ret = empblk_rqueue_sink_pool(d, &d->ioqs[i]);
			if (ret)
				return ret;
		}
	}
	if (d->r->pio_slots) {
		/*
		 * Page I/O: at most one WR per page of each one in flight,
		 * and a fence READ over iWARP.
		 */
		u32 wb_wr = d->r->pio_slots * (d->r->pio_pages + d->reg_sinks);

		ret = empblk_rqueue_connect(d, &d->wbq, d->nr_ioqs + 1, wb_wr,
					    0, d->max_sge, 0);
		if (ret)
			return ret;
	}
	return 0;
}

/* The donor accepted the session (again): keep it alive. */
static void empblk_donor_accepted(struct empblk_donor *d)
{
	WRITE_ONCE(d->last_rsp, jiffies);
	/* we asked for a keep-alive timeout: honour it, grace or not */
	if (d->peer_minor && d->dev->params.loss_timeout && !d->reg_sinks)
		queue_delayed_work(empblk_conn_wq, &d->ka_work,
				   EMPBLK_KATO_S * HZ / 4);
}

/*
 * Resume the lost connection of a donor: wait for the posters, flush and
 * tear down every queue, connect them again reattaching to the session.
 * On failure, again after reconnect_delay, until loss_timeout. A donor
 * that no longer has the session, or has a new incarnation, lost what we
 * stored: it is given up. In a NOIO scope: swap-ins wait for this.
 */
static void empblk_donor_reconnect_work(struct work_struct *work)
{
	struct empblk_donor *d = container_of(to_delayed_work(work),
					      struct empblk_donor,
					      reconnect_work);
	const struct empblk_params *p = &d->dev->params;
	unsigned int noio = memalloc_noio_save();
	const char *gone = NULL;
	int ret;

	if (test_bit(EMPBLK_DONOR_DEAD, &d->flags))
		goto out;
	/* nothing posts to the old queues any more; flush what they hold */
	synchronize_rcu();
	empblk_donor_qps_err(d);
	/*
	 * The holder of admin_lock may wait for transfers to end (a chunk
	 * free): on polled queues nobody reaps them while we reconnect but us.
	 */
	while (!mutex_trylock(&d->admin_lock)) {
		empblk_donor_reap_polled(d);
		usleep_range(100, 1000);
	}
	empblk_donor_destroy_queues(d);
	ret = empblk_donor_connect_queues(d, EMP_CM_REATTACH);
	if (!ret && !(d->admin.rep.flags & EMP_REP_RESUMED))
		gone = "it did not resume our session";
	else if (!ret && le64_to_cpu(d->admin.rep.incarnation) != d->incarnation)
		gone = "it restarted: the memory it held for us is gone";
	else if (ret == -ECONNREFUSED && d->admin.rej_status == EMP_ST_NO_SESSION)
		gone = "it no longer has our session: expired, or it restarted";
	else if (!ret)
		ret = empblk_donor_free_stale(d);
	if (!ret && !gone) {
		empblk_donor_accepted(d);
		/* the new queues are in place before anyone sees the flag go */
		smp_mb__before_atomic();
		clear_bit(EMPBLK_DONOR_RECONNECTING, &d->flags);
		empblk_stripe_backend_busy(&d->r->tier, d->idx, false);
		mutex_unlock(&d->admin_lock);
		empblk_stat_inc(d->dev, EMPBLK_STAT_DONOR_RECONNECTS);
		pr_info("%s: donor %pISpc reconnected after %u s, its memory as it was\n",
			empblk_rq_name(d->dev), &d->spec.addr,
			jiffies_to_msecs(jiffies - d->lost_at) / 1000);
		blk_mq_kick_requeue_list(d->dev->disk->queue);
		goto out;
	}
	empblk_donor_destroy_queues(d);
	mutex_unlock(&d->admin_lock);
	if (!gone && time_after(jiffies, d->lost_at + p->loss_timeout * HZ))
		gone = "not back within loss_timeout";
	if (gone) {
		empblk_donor_mark_dead(d, gone);
		blk_mq_kick_requeue_list(d->dev->disk->queue);
		goto out;
	}
	/* RETRY: the donor is ending the old connections; that is quick */
	queue_delayed_work(empblk_conn_wq, &d->reconnect_work,
			   d->admin.rej_status == EMP_ST_RETRY ? HZ :
			   p->reconnect_delay * HZ);
out:
	memalloc_noio_restore(noio);
}

/* Unmap the admin buffers and free the protection domain; no queue is left. */
static void empblk_donor_put_rdma(struct empblk_donor *d)
{
	if (d->rx_dma)
		ib_dma_unmap_single(d->ibdev, d->rx_dma, EMP_MSG_SIZE,
				    DMA_FROM_DEVICE);
	if (d->tx_dma)
		ib_dma_unmap_single(d->ibdev, d->tx_dma, EMP_MSG_SIZE,
				    DMA_TO_DEVICE);
	d->rx_dma = 0;
	d->tx_dma = 0;
	if (d->pd)
		ib_dealloc_pd(d->pd);
	d->pd = NULL;
}

/* End the session on the donor and free everything of @d. */
static void empblk_donor_disconnect(struct empblk_donor *d)
{
	struct emp_msg_chunk rsp;

	cancel_delayed_work_sync(&d->ka_work);
	/* a session with a grace period would outlive us: end it now */
	if (d->tx && d->peer_minor && d->admin.cm_id &&
	    !test_bit(EMPBLK_DONOR_DEAD, &d->flags)) {
		mutex_lock(&d->admin_lock);
		if (!test_bit(EMPBLK_DONOR_RECONNECTING, &d->flags))
			empblk_admin_exchange(d, EMP_MSG_CLOSE, 0, &rsp, HZ);
		mutex_unlock(&d->admin_lock);
	}
	/* our own disconnect is not a lost donor: keep the log quiet */
	set_bit(EMPBLK_DONOR_DEAD, &d->flags);
	synchronize_rcu();
	cancel_delayed_work_sync(&d->reconnect_work);
	cancel_delayed_work_sync(&d->ka_work);
	empblk_donor_destroy_queues(d);
	empblk_donor_put_rdma(d);
	kfree(d->rx);
	kfree(d->tx);
	kfree(d->ioqs);
	vfree(d->chunks);
}

/* Drain every queue of @d: each work request posted has completed. */
static void empblk_donor_drain(struct empblk_donor *d)
{
	unsigned int i;

	for (i = 0; d->ioqs && i < d->nr_ioqs; i++)
		if (d->ioqs[i].cm_id && d->ioqs[i].cm_id->qp)
			ib_drain_qp(d->ioqs[i].cm_id->qp);
	if (d->wbq.cm_id && d->wbq.cm_id->qp)
		ib_drain_qp(d->wbq.cm_id->qp);
	if (d->admin.cm_id && d->admin.cm_id->qp)
		ib_drain_qp(d->admin.cm_id->qp);
}

/**
 * empblk_remote_release_rdma() - let go of everything of a remote tier's
 *	RDMA device, which is going away
 * @r: the remote tier, connected
 * @why: for the log
 *
 * Process context. Every donor is given up (what it held is lost: the
 * stripe set moves its extents), every work request in flight flushes,
 * and the queues, protection domains and mappings are freed, so that the
 * device's removal does not wait for us. In phases over all the donors:
 * a request may have work requests on several, and holds a READ sink of
 * one while it waits for another; nothing is destroyed before every
 * queue has drained. The device's own teardown later finds nothing left.
 */
void empblk_remote_release_rdma(struct empblk_remote *r, const char *why)
{
	unsigned int i, k;

	for (i = 0; i < r->nr_donors; i++) {
		empblk_donor_stop(&r->donors[i], why);
		empblk_donor_qps_err(&r->donors[i]);
	}
	/* as a reconnect does: a chunk free may wait for polled transfers */
	for (i = 0; i < r->nr_donors; i++)
		while (!mutex_trylock(&r->donors[i].admin_lock)) {
			for (k = 0; k < r->nr_donors; k++)
				empblk_donor_reap_polled(&r->donors[k]);
			usleep_range(100, 1000);
		}
	for (i = 0; i < r->nr_donors; i++)
		empblk_donor_drain(&r->donors[i]);
	for (i = 0; i < r->nr_donors; i++) {
		empblk_donor_destroy_queues(&r->donors[i]);
		empblk_donor_put_rdma(&r->donors[i]);
	}
	for (i = 0; i < r->nr_donors; i++)
		mutex_unlock(&r->donors[i].admin_lock);
}

static int empblk_donor_connect(struct empblk_dev *dev,
				struct empblk_donor *d)
{
	int ret;

	d->cookie = get_random_u64();
	/* one chunk per extent of the placement map */
	d->nr_chunks = d->spec.mb >> (EMP_CHUNK_SHIFT - 20);
	d->chunks = vzalloc(array_size(d->nr_chunks, sizeof(*d->chunks)));
	d->nr_ioqs = nr_cpu_ids + dev->params.poll_queues;
	d->ioqs = kcalloc(d->nr_ioqs, sizeof(*d->ioqs), GFP_KERNEL);
	mutex_init(&d->admin_lock);
	INIT_DELAYED_WORK(&d->reconnect_work, empblk_donor_reconnect_work);
	INIT_DELAYED_WORK(&d->ka_work, empblk_donor_ka_work);
	if (!d->chunks || !d->ioqs)
		return -ENOMEM;
	ret = empblk_donor_connect_queues(d, 0);
	if (ret)
		return ret;
	d->incarnation = le64_to_cpu(d->admin.rep.incarnation);
	empblk_donor_accepted(d);
	return 0;
}

/**
 * empblk_remote_connect() - connect to every donor of the device
 * @r: remote tier of a device being created (disk allocated, not added)
 *
 * Return: 0, or a negative errno with the failing donor and the reason
 * logged; nothing is left connected on failure.
 */
int empblk_remote_connect(struct empblk_remote *r)
{
	struct empblk_dev *dev = r->tier.dev;
	const struct empblk_spec *spec = &dev->params.spec;
	unsigned long gen = empblk_remote_generation();
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
		d->r = r;
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
	ret = empblk_remote_track(r, gen);
	if (!ret)
		return 0;
	pr_err("%s: an RDMA device went away while the donors connected; enable again\n",
	       dev->disk->disk_name);
	i = r->nr_donors - 1;

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
 * empblk_remote_disconnect() - disconnect from every donor
 * @r: remote tier of a device with no I/O in flight
 *
 * The donors free everything the session held when it ends.
 */
void empblk_remote_disconnect(struct empblk_remote *r)
{
	unsigned int i;

	empblk_remote_untrack(r);
	for (i = 0; i < r->nr_donors; i++)
		empblk_donor_disconnect(&r->donors[i]);
	kfree(r->donors);
	r->donors = NULL;
	r->nr_donors = 0;
}

