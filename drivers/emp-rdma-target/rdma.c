// SPDX-License-Identifier: GPL-2.0
/*
 * RDMA side of the donor: the CM listener, sessions and queues, the admin
 * message loop and the registration of chunks.
 *
 * Isolation: every session has its own protection domain; a chunk is
 * registered in it with a fresh fast-registration key and deregistered
 * (which invalidates the key) when it is freed or the session ends. The
 * donor never uses the unsafe global rkey, and pages are zeroed before a
 * client can reach them.
 *
 * Outages. A session outlives its admin connection for the grace period
 * its client asked for (at most the port's max_grace_s): it is detached,
 * its chunks and keys kept, and a client that connects its admin queue
 * again with EMP_CM_REATTACH and the same cookie, from the same host and
 * RDMA device, resumes it. A reattach is refused (EMP_ST_RETRY) until
 * every old queue of the session is released here, so that no transfer
 * from before the outage lands after it; if the old connections still
 * look alive (the link broke without our noticing), the reattach ends
 * them. An admin queue that receives nothing for the session's keep-alive
 * timeout is disconnected the same way. CLOSE, port disable and device
 * removal end a session with no grace period.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <rdma/ib_cm.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>

#include "emptgt.h"

#define EMPTGT_LISTEN_BACKLOG	128

static const char *emptgt_port_name(struct emptgt_port *port)
{
	return config_item_name(&port->group.cg_item);
}

/* Chunks */

/* Release everything a chunk holds; it was never or is no longer used. */
static void emptgt_chunk_destroy(struct emptgt_session *sess,
				 struct emptgt_chunk *chunk)
{
	struct scatterlist *sg;
	int i;

	if (chunk->mr)
		ib_dereg_mr(chunk->mr);	/* invalidates the rkey first */
	if (chunk->sgt.nents)
		ib_dma_unmap_sg(sess->ibdev, chunk->sgt.sgl,
				chunk->sgt.orig_nents, DMA_BIDIRECTIONAL);
	for_each_sg(chunk->sgt.sgl, sg, chunk->sgt.orig_nents, i)
		if (sg_page(sg))
			__free_pages(sg_page(sg), sess->chunk_order);
	sg_free_table(&chunk->sgt);
	kfree(chunk);
	atomic64_dec(&sess->port->chunks_in_use);
	atomic_dec(&sess->nr_chunks);
}

static void emptgt_chunk_free(struct emptgt_session *sess,
			      struct emptgt_chunk *chunk)
{
	emptgt_chunk_destroy(sess, chunk);
	emptgt_stat_inc(sess->port, EMPTGT_STAT_CHUNKS_FREED);
}

static void emptgt_reg_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct emptgt_chunk *chunk = container_of(wc->wr_cqe,
						  struct emptgt_chunk,
						  reg_cqe);

	chunk->reg_status = wc->status;
	complete(&chunk->reg_done);
}

/*
 * A chunk is registered as one MR, so that the client gets one rkey for
 * it. A device takes at most max_fast_reg_page_list_len entries in one
 * registration (siw: 256, rxe and most HCAs: more than a chunk's 512
 * pages); with fewer, the chunk is made of higher-order pages, and the
 * registration uses that page size where the device supports it (siw
 * maps by scatterlist entry and ignores the page size).
 */
static void emptgt_chunk_order(struct emptgt_session *sess)
{
	u32 max = sess->ibdev->attrs.max_fast_reg_page_list_len;
	unsigned int order = 0;

	while (order < EMP_CHUNK_SHIFT - PAGE_SHIFT &&
	       (EMPTGT_PAGES_PER_CHUNK >> order) > max)
		order++;
	sess->chunk_order = order;
	sess->mr_page_size = PAGE_SIZE;
	if (sess->ibdev->attrs.page_size_cap & (PAGE_SIZE << order))
		sess->mr_page_size = PAGE_SIZE << order;
}

/*
 * Post on the admin QP unless the queue is being released: the release
 * drains the QP once, after which nothing may be posted (a completion
 * after the drain would run on a freed queue).
 */
static int emptgt_admin_post_send(struct emptgt_queue *queue,
				  const struct ib_send_wr *wr)
{
	int ret = -ESHUTDOWN;

	spin_lock_bh(&queue->rx_lock);
	if (!queue->dying)
		ret = ib_post_send(queue->cm_id->qp, wr, NULL);
	spin_unlock_bh(&queue->rx_lock);
	return ret;
}

/*
 * Allocate, zero, map and register one chunk. Called from the admin
 * worker; the registration is posted on the admin QP and waited for (a QP
 * in error flushes it, and the release drains the QP before it waits for
 * the worker, so the wait always ends).
 */
static struct emptgt_chunk *emptgt_chunk_alloc(struct emptgt_queue *admin)
{
	struct emptgt_session *sess = admin->sess;
	struct ib_reg_wr reg_wr = {};
	struct emptgt_chunk *chunk;
	unsigned int pieces = EMPTGT_PAGES_PER_CHUNK >> sess->chunk_order;
	struct scatterlist *sg;
	int i, n, ret;

	chunk = kzalloc(sizeof(*chunk), GFP_KERNEL);
	if (!chunk)
		return ERR_PTR(-ENOMEM);
	atomic64_inc(&sess->port->chunks_in_use);
	atomic_inc(&sess->nr_chunks);
	ret = sg_alloc_table(&chunk->sgt, pieces, GFP_KERNEL);
	if (ret) {
		/* the table is freed, but may keep its count of entries */
		memset(&chunk->sgt, 0, sizeof(chunk->sgt));
		goto out_free;
	}
	chunk->sgt.nents = 0;	/* not mapped yet */
	for_each_sg(chunk->sgt.sgl, sg, chunk->sgt.orig_nents, i) {
		/* a budget larger than the host can give fails, never OOMs */
		struct page *page = alloc_pages(GFP_KERNEL | __GFP_ZERO |
						__GFP_NOWARN |
						__GFP_RETRY_MAYFAIL,
						sess->chunk_order);

		if (!page) {
			ret = -ENOMEM;
			goto out_free;
		}
		sg_set_page(sg, page, PAGE_SIZE << sess->chunk_order, 0);
	}
	n = ib_dma_map_sg(sess->ibdev, chunk->sgt.sgl, chunk->sgt.orig_nents,
			  DMA_BIDIRECTIONAL);
	if (!n) {
		ret = -EIO;
		goto out_free;
	}
	chunk->sgt.nents = n;

	chunk->mr = ib_alloc_mr(sess->pd, IB_MR_TYPE_MEM_REG, pieces);
	if (IS_ERR(chunk->mr)) {
		ret = PTR_ERR(chunk->mr);
		chunk->mr = NULL;
		goto out_free;
	}
	if (ib_map_mr_sg(chunk->mr, chunk->sgt.sgl, n, NULL,
			 sess->mr_page_size) != n) {
		ret = -EIO;
		goto out_free;
	}
	/* a new key for every registration: old handles never match */
	ib_update_fast_reg_key(chunk->mr, ib_inc_rkey(chunk->mr->rkey));

	init_completion(&chunk->reg_done);
	chunk->reg_cqe.done = emptgt_reg_done;
	reg_wr.wr.opcode = IB_WR_REG_MR;
	reg_wr.wr.wr_cqe = &chunk->reg_cqe;
	reg_wr.wr.send_flags = IB_SEND_SIGNALED;
	reg_wr.mr = chunk->mr;
	reg_wr.key = chunk->mr->rkey;
	reg_wr.access = IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_READ |
			IB_ACCESS_REMOTE_WRITE;
	ret = emptgt_admin_post_send(admin, &reg_wr.wr);
	if (ret)
		goto out_free;
	wait_for_completion(&chunk->reg_done);
	if (chunk->reg_status != IB_WC_SUCCESS) {
		ret = -EIO;
		goto out_free;
	}
	emptgt_stat_inc(sess->port, EMPTGT_STAT_CHUNKS_ALLOCATED);
	return chunk;

out_free:
	emptgt_chunk_destroy(sess, chunk);
	emptgt_stat_inc(sess->port, EMPTGT_STAT_ALLOC_FAILURES);
	return ERR_PTR(ret);
}

/* Sessions */

static void emptgt_session_free(struct kref *ref)
{
	struct emptgt_session *sess = container_of(ref, struct emptgt_session,
						   ref);
	struct emptgt_chunk *chunk;
	unsigned long id;

	/* waits for readers of its sysfs files */
	emptgt_session_sysfs_del(sess);
	xa_for_each(&sess->chunks, id, chunk)
		emptgt_chunk_free(sess, chunk);
	xa_destroy(&sess->chunks);
	ib_dealloc_pd(sess->pd);
	kobject_put(&sess->kobj);	/* frees the session */
}

static void emptgt_session_put(struct emptgt_session *sess)
{
	kref_put(&sess->ref, emptgt_session_free);
}

static void emptgt_session_expire_work(struct work_struct *work);

/* The grace period and keep-alive a connect asks for, as granted. */
static void emptgt_session_set_timers(struct emptgt_session *sess,
				      const struct emp_cm_req *req)
{
	sess->grace_s = min_t(u64, le32_to_cpu(req->grace_s),
			      READ_ONCE(sess->port->max_grace_s));
	sess->kato = le16_to_cpu(req->kato_s) * HZ;
}

static struct emptgt_session *emptgt_session_create(struct emptgt_port *port,
						    struct rdma_cm_id *cm_id,
						    const struct emp_cm_req *req)
{
	struct emptgt_session *sess;

	sess = kzalloc(sizeof(*sess), GFP_KERNEL);
	if (!sess)
		return ERR_PTR(-ENOMEM);
	sess->pd = ib_alloc_pd(cm_id->device, 0);
	if (IS_ERR(sess->pd)) {
		int ret = PTR_ERR(sess->pd);

		kfree(sess);
		return ERR_PTR(ret);
	}
	emptgt_session_kobj_init(sess);
	kref_init(&sess->ref);	/* the first (admin) queue's reference */
	sess->port = port;
	sess->cookie = le64_to_cpu(req->cookie);
	sess->ibdev = cm_id->device;
	emptgt_chunk_order(sess);
	memcpy(&sess->peer, &cm_id->route.addr.dst_addr, sizeof(sess->peer));
	mutex_init(&sess->lock);
	xa_init_flags(&sess->chunks, XA_FLAGS_ALLOC1);
	INIT_LIST_HEAD(&sess->queues);
	INIT_DELAYED_WORK(&sess->expire_work, emptgt_session_expire_work);
	emptgt_session_set_timers(sess, req);
	return sess;
}

/*
 * Take a detached session off the port's list (sessions_lock held): the
 * caller then drops the list's reference. Its expiry is cancelled, or
 * finds it no longer detached and only drops its own reference.
 */
static void emptgt_session_unlist(struct emptgt_session *sess)
{
	lockdep_assert_held(&sess->port->sessions_lock);
	sess->detached = false;
	list_del(&sess->entry);
	atomic_dec(&sess->port->nr_sessions);
	if (cancel_delayed_work(&sess->expire_work))
		kref_put(&sess->ref, emptgt_session_free); /* never the last */
}

/* A detached session's grace period is over: free it. */
static void emptgt_session_expire_work(struct work_struct *work)
{
	struct emptgt_session *sess = container_of(to_delayed_work(work),
						   struct emptgt_session,
						   expire_work);
	struct emptgt_port *port = sess->port;
	bool expired;

	mutex_lock(&port->sessions_lock);
	expired = sess->detached;
	if (expired) {
		sess->detached = false;
		list_del(&sess->entry);
		atomic_dec(&port->nr_sessions);
	}
	mutex_unlock(&port->sessions_lock);
	if (expired) {
		emptgt_stat_inc(port, EMPTGT_STAT_SESSIONS_EXPIRED);
		pr_info("%s: session of %pISc not resumed within %u s: its %d chunks are freed\n",
			emptgt_port_name(port), &sess->peer, sess->grace_s,
			atomic_read(&sess->nr_chunks));
		emptgt_session_put(sess);	/* the list's reference */
	}
	emptgt_session_put(sess);		/* the expiry's */
}

static bool emptgt_same_host(const struct sockaddr_storage *a,
			     const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (b->sa_family == AF_INET6)
		return ipv6_addr_equal(&((const struct sockaddr_in6 *)a)->sin6_addr,
				       &((const struct sockaddr_in6 *)b)->sin6_addr);
	return false;
}

/* Find the session an I/O queue joins; takes a reference. */
static struct emptgt_session *emptgt_session_find(struct emptgt_port *port,
						  struct rdma_cm_id *cm_id,
						  u64 cookie)
{
	struct emptgt_session *sess, *found = NULL;

	lockdep_assert_held(&port->sessions_lock);
	list_for_each_entry(sess, &port->sessions, entry) {
		if (sess->cookie == cookie && sess->ibdev == cm_id->device &&
		    emptgt_same_host(&sess->peer,
				     (struct sockaddr *)&cm_id->route.addr.dst_addr) &&
		    kref_get_unless_zero(&sess->ref)) {
			found = sess;
			break;
		}
	}
	return found;
}

/* Admin messages */

static void emptgt_send_done(struct ib_cq *cq, struct ib_wc *wc)
{
	if (wc->status != IB_WC_SUCCESS && wc->status != IB_WC_WR_FLUSH_ERR)
		pr_debug("admin send failed: %s\n",
			 ib_wc_status_msg(wc->status));
}

static void emptgt_recv_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct emptgt_rxbuf *rxb = container_of(wc->wr_cqe,
						struct emptgt_rxbuf, cqe);
	struct emptgt_queue *queue = wc->qp->qp_context;

	if (wc->status != IB_WC_SUCCESS) {
		if (wc->status != IB_WC_WR_FLUSH_ERR)
			pr_debug("admin receive failed: %s\n",
				 ib_wc_status_msg(wc->status));
		return;
	}
	rxb->len = wc->byte_len;
	WRITE_ONCE(queue->last_rx, jiffies);
	spin_lock(&queue->rx_lock);
	if (queue->dying) {
		/* the client is gone: nobody waits for a reply */
		spin_unlock(&queue->rx_lock);
		return;
	}
	list_add_tail(&rxb->entry, &queue->rx_list);
	spin_unlock(&queue->rx_lock);
	queue_work(emptgt_wq, &queue->rx_work);
}

static int emptgt_post_recv(struct emptgt_queue *queue,
			    struct emptgt_rxbuf *rxb)
{
	struct ib_sge sge = {
		.addr	= queue->rx_dma + rxb->idx * EMP_MSG_SIZE,
		.length	= EMP_MSG_SIZE,
		.lkey	= queue->sess->pd->local_dma_lkey,
	};
	struct ib_recv_wr wr = {
		.wr_cqe		= &rxb->cqe,
		.sg_list	= &sge,
		.num_sge	= 1,
	};

	ib_dma_sync_single_for_device(queue->sess->ibdev, sge.addr,
				      EMP_MSG_SIZE, DMA_FROM_DEVICE);
	return ib_post_recv(queue->cm_id->qp, &wr, NULL);
}

static int emptgt_post_reply(struct emptgt_queue *queue, unsigned int idx)
{
	struct ib_sge sge = {
		.addr	= queue->tx_dma + idx * EMP_MSG_SIZE,
		.length	= EMP_MSG_SIZE,
		.lkey	= queue->sess->pd->local_dma_lkey,
	};
	struct ib_send_wr wr = {
		.wr_cqe		= &queue->send_cqe,
		.sg_list	= &sge,
		.num_sge	= 1,
		.opcode		= IB_WR_SEND,
		.send_flags	= IB_SEND_SIGNALED,
	};

	ib_dma_sync_single_for_device(queue->sess->ibdev, sge.addr,
				      EMP_MSG_SIZE, DMA_TO_DEVICE);
	return ib_post_send(queue->cm_id->qp, &wr, NULL);
}

static u64 emptgt_budget_left_mb(struct emptgt_port *port)
{
	u64 used = (u64)atomic64_read(&port->chunks_in_use) *
		   (EMP_CHUNK_SIZE >> 20);

	return used >= port->budget_mb ? 0 : port->budget_mb - used;
}

static enum emp_status emptgt_do_alloc(struct emptgt_queue *queue,
				       struct emp_msg_chunk *rsp)
{
	struct emptgt_session *sess = queue->sess;
	struct emptgt_port *port = sess->port;
	struct emptgt_chunk *chunk;
	u32 id;

	if (emptgt_budget_left_mb(port) < (EMP_CHUNK_SIZE >> 20))
		return EMP_ST_NO_SPACE;
	chunk = emptgt_chunk_alloc(queue);
	if (IS_ERR(chunk)) {
		pr_warn_ratelimited("%s: cannot allocate a chunk for %pISp: %ld\n",
				    emptgt_port_name(port), &sess->peer,
				    PTR_ERR(chunk));
		return EMP_ST_NO_MEM;
	}
	/* the budget check and the allocation race: re-check, undo if over */
	if ((u64)atomic64_read(&port->chunks_in_use) * (EMP_CHUNK_SIZE >> 20) >
	    port->budget_mb) {
		emptgt_chunk_free(sess, chunk);
		return EMP_ST_NO_SPACE;
	}
	mutex_lock(&sess->lock);
	if (xa_alloc(&sess->chunks, &id, chunk, xa_limit_31b, GFP_KERNEL)) {
		mutex_unlock(&sess->lock);
		emptgt_chunk_free(sess, chunk);
		return EMP_ST_NO_MEM;
	}
	chunk->id = id;
	mutex_unlock(&sess->lock);

	rsp->chunk = cpu_to_le32(id);
	rsp->rkey = cpu_to_le32(chunk->mr->rkey);
	rsp->addr = cpu_to_le64(chunk->mr->iova);
	rsp->len = cpu_to_le32(EMP_CHUNK_SIZE);
	return EMP_ST_OK;
}

static enum emp_status emptgt_do_free(struct emptgt_queue *queue,
				      const struct emp_msg_chunk *req)
{
	struct emptgt_session *sess = queue->sess;
	struct emptgt_chunk *chunk;

	mutex_lock(&sess->lock);
	chunk = xa_erase(&sess->chunks, le32_to_cpu(req->chunk));
	mutex_unlock(&sess->lock);
	if (!chunk)
		return EMP_ST_BAD_CHUNK;
	emptgt_chunk_free(sess, chunk);
	return EMP_ST_OK;
}

/* Parse one message, never trusting it; fill the reply in tx[idx]. */
static void emptgt_handle_msg(struct emptgt_queue *queue,
			      struct emptgt_rxbuf *rxb)
{
	struct emptgt_session *sess = queue->sess;
	struct emptgt_port *port = sess->port;
	union emp_msg *req = &queue->rx[rxb->idx];
	union emp_msg *rsp = &queue->tx[rxb->idx];
	enum emp_status st = EMP_ST_BAD_MSG;
	u16 type = 0, rsp_type = EMP_MSG_ERROR_RSP;

	ib_dma_sync_single_for_cpu(queue->sess->ibdev,
				   queue->rx_dma + rxb->idx * EMP_MSG_SIZE,
				   EMP_MSG_SIZE, DMA_FROM_DEVICE);
	memset(rsp, 0, sizeof(*rsp));
	/* every message is sent as a whole EMP_MSG_SIZE buffer */
	if (rxb->len == EMP_MSG_SIZE &&
	    le32_to_cpu(req->hdr.magic) == EMP_PROTO_MAGIC) {
		type = le16_to_cpu(req->hdr.type);
		rsp->hdr.tag = req->hdr.tag;
	}
	if ((type == EMP_MSG_CHUNK_ALLOC || type == EMP_MSG_CHUNK_FREE) &&
	    type == sess->last_type &&
	    le32_to_cpu(req->hdr.tag) == sess->last_tag) {
		/* sent again after a reattach: its reply was lost, not it */
		memcpy(rsp, &sess->last_rsp, sizeof(*rsp));
		return;
	}
	switch (type) {
	case EMP_MSG_CHUNK_ALLOC:
		if (le16_to_cpu(req->hdr.len) != sizeof(req->chunk))
			break;
		rsp_type = EMP_MSG_CHUNK_ALLOC_RSP;
		st = emptgt_do_alloc(queue, &rsp->chunk);
		break;
	case EMP_MSG_CHUNK_FREE:
		if (le16_to_cpu(req->hdr.len) != sizeof(req->chunk))
			break;
		rsp_type = EMP_MSG_CHUNK_FREE_RSP;
		rsp->chunk.chunk = req->chunk.chunk;
		st = emptgt_do_free(queue, &req->chunk);
		break;
	case EMP_MSG_KEEPALIVE:
		if (le16_to_cpu(req->hdr.len) < sizeof(req->hdr))
			break;
		rsp_type = EMP_MSG_KEEPALIVE_RSP;
		st = EMP_ST_OK;
		break;
	case EMP_MSG_CLOSE:
		if (le16_to_cpu(req->hdr.len) < sizeof(req->hdr))
			break;
		/* no grace period: the session ends with its connection */
		WRITE_ONCE(sess->closing, true);
		rsp_type = EMP_MSG_CLOSE_RSP;
		st = EMP_ST_OK;
		break;
	default:
		break;
	}
	if (st == EMP_ST_BAD_MSG) {
		emptgt_stat_inc(port, EMPTGT_STAT_BAD_MESSAGES);
		pr_warn_ratelimited("%s: malformed message from %pISp (type %u, %u bytes) rejected\n",
				    emptgt_port_name(port), &queue->sess->peer,
				    type, rxb->len);
		rsp_type = EMP_MSG_ERROR_RSP;
	}
	rsp->hdr.magic = cpu_to_le32(EMP_PROTO_MAGIC);
	rsp->hdr.type = cpu_to_le16(rsp_type);
	rsp->hdr.len = cpu_to_le16(sizeof(rsp->chunk));
	rsp->hdr.status = cpu_to_le32(st);
	rsp->chunk.budget_mb = cpu_to_le64(emptgt_budget_left_mb(port));
	if (rsp_type == EMP_MSG_CHUNK_ALLOC_RSP ||
	    rsp_type == EMP_MSG_CHUNK_FREE_RSP) {
		sess->last_type = type;
		sess->last_tag = le32_to_cpu(req->hdr.tag);
		memcpy(&sess->last_rsp, rsp, sizeof(*rsp));
	}
}

static void emptgt_rx_work(struct work_struct *work)
{
	struct emptgt_queue *queue = container_of(work, struct emptgt_queue,
						  rx_work);
	struct emptgt_rxbuf *rxb;

	for (;;) {
		int ret = -ESHUTDOWN;

		spin_lock_bh(&queue->rx_lock);
		rxb = queue->dying ? NULL :
		      list_first_entry_or_null(&queue->rx_list,
					       struct emptgt_rxbuf, entry);
		if (rxb)
			list_del(&rxb->entry);
		spin_unlock_bh(&queue->rx_lock);
		if (!rxb)
			return;
		emptgt_handle_msg(queue, rxb);
		/*
		 * Re-arm the receive before replying: the client sends its
		 * next message only after it has this reply. Nothing is
		 * posted once the release has begun to drain the QP.
		 */
		spin_lock_bh(&queue->rx_lock);
		if (!queue->dying) {
			ret = emptgt_post_recv(queue, rxb);
			if (!ret)
				ret = emptgt_post_reply(queue, rxb->idx);
		}
		spin_unlock_bh(&queue->rx_lock);
		if (ret)
			pr_debug("admin queue of %pISp is down\n",
				 &queue->sess->peer);
	}
}

/* Queues */

static int emptgt_admin_init(struct emptgt_queue *queue)
{
	struct ib_device *ibdev = queue->sess->ibdev;
	size_t len = EMP_ADMIN_DEPTH * EMP_MSG_SIZE;
	int i, ret;

	queue->rx = kzalloc(len, GFP_KERNEL);
	queue->tx = kzalloc(len, GFP_KERNEL);
	if (!queue->rx || !queue->tx) {
		ret = -ENOMEM;
		goto out_free_bufs;
	}
	queue->rx_dma = ib_dma_map_single(ibdev, queue->rx, len,
					  DMA_FROM_DEVICE);
	if (ib_dma_mapping_error(ibdev, queue->rx_dma)) {
		ret = -EIO;
		goto out_free_bufs;
	}
	queue->tx_dma = ib_dma_map_single(ibdev, queue->tx, len,
					  DMA_TO_DEVICE);
	if (ib_dma_mapping_error(ibdev, queue->tx_dma)) {
		ret = -EIO;
		goto out_unmap_rx;
	}
	queue->send_cqe.done = emptgt_send_done;
	for (i = 0; i < EMP_ADMIN_DEPTH; i++) {
		queue->rxbufs[i].idx = i;
		queue->rxbufs[i].cqe.done = emptgt_recv_done;
		ret = emptgt_post_recv(queue, &queue->rxbufs[i]);
		if (ret)
			goto out_unmap_tx;
	}
	return 0;

out_unmap_tx:
	/* posted receives are flushed when the QP is destroyed */
	ib_dma_unmap_single(ibdev, queue->tx_dma, len, DMA_TO_DEVICE);
out_unmap_rx:
	ib_dma_unmap_single(ibdev, queue->rx_dma, len, DMA_FROM_DEVICE);
out_free_bufs:
	kfree(queue->tx);
	kfree(queue->rx);
	queue->rx = NULL;
	queue->tx = NULL;
	return ret;
}

static void emptgt_admin_exit(struct emptgt_queue *queue)
{
	struct ib_device *ibdev = queue->sess->ibdev;
	size_t len = EMP_ADMIN_DEPTH * EMP_MSG_SIZE;

	if (!queue->rx)
		return;
	ib_dma_unmap_single(ibdev, queue->tx_dma, len, DMA_TO_DEVICE);
	ib_dma_unmap_single(ibdev, queue->rx_dma, len, DMA_FROM_DEVICE);
	kfree(queue->tx);
	kfree(queue->rx);
}

static int emptgt_queue_create_ib(struct emptgt_queue *queue)
{
	bool admin = queue->qid == 0;
	/* admin: replies + one REG_MR per request; I/O: nothing is posted */
	u32 send_wr = admin ? 2 * EMP_ADMIN_DEPTH : 1;
	u32 recv_wr = admin ? EMP_ADMIN_DEPTH : 1;
	struct ib_qp_init_attr attr = {};
	int ret;

	/*
	 * From the device's shared pool, freed only with the device: freeing
	 * a CQ that softirq polls races with the end of its last poll
	 * (ib_poll_handler() re-arms it after irq_poll_complete() has let
	 * ib_free_cq() go on), and a client that leaves at the wrong moment
	 * would make us free it under the poller.
	 */
	queue->nr_cqe = send_wr + recv_wr + 2;	/* +2 for drain */
	queue->cq = ib_cq_pool_get(queue->sess->ibdev, queue->nr_cqe,
				   queue->qid, IB_POLL_SOFTIRQ);
	if (IS_ERR(queue->cq))
		return PTR_ERR(queue->cq);

	attr.qp_context = queue;
	attr.send_cq = queue->cq;
	attr.recv_cq = queue->cq;
	attr.sq_sig_type = IB_SIGNAL_REQ_WR;
	attr.qp_type = IB_QPT_RC;
	attr.cap.max_send_wr = send_wr + 1;	/* +1 for drain */
	attr.cap.max_recv_wr = recv_wr + 1;	/* +1 for drain */
	attr.cap.max_send_sge = 1;
	attr.cap.max_recv_sge = 1;
	ret = rdma_create_qp(queue->cm_id, queue->sess->pd, &attr);
	if (ret)
		goto out_free_cq;
	return 0;

out_free_cq:
	ib_cq_pool_put(queue->cq, queue->nr_cqe);
	return ret;
}

static void emptgt_queue_schedule_release(struct emptgt_queue *queue)
{
	if (!atomic_xchg(&queue->released, 1))
		queue_work(emptgt_wq, &queue->release_work);
}

/* An admin queue that received nothing for the session's kato is ended. */
static void emptgt_ka_work(struct work_struct *work)
{
	struct emptgt_queue *queue = container_of(to_delayed_work(work),
						  struct emptgt_queue,
						  ka_work);
	struct emptgt_session *sess = queue->sess;

	if (time_before(jiffies, READ_ONCE(queue->last_rx) + sess->kato)) {
		queue_delayed_work(emptgt_wq, &queue->ka_work, sess->kato / 2);
		return;
	}
	emptgt_stat_inc(sess->port, EMPTGT_STAT_KEEPALIVE_TIMEOUTS);
	pr_warn("%s: client %pISc sent nothing for %lu s: disconnecting it\n",
		emptgt_port_name(sess->port), &sess->peer, sess->kato / HZ);
	emptgt_queue_schedule_release(queue);
}

static void emptgt_queue_release_work(struct work_struct *work)
{
	struct emptgt_queue *queue = container_of(work, struct emptgt_queue,
						  release_work);
	struct emptgt_session *sess = queue->sess;
	struct emptgt_port *port = sess->port;
	bool last_admin = false;

	/*
	 * From here on nothing is posted and no message is handed to the
	 * worker. Disconnecting moves the QP to error; the drain then flushes
	 * everything posted before, a REG_MR the admin worker may wait on
	 * included, and runs every completion handler. Only then can the
	 * worker be stopped for good (a receive completed during the drain
	 * would otherwise queue it again), and its buffers freed once the QP
	 * is gone.
	 */
	spin_lock_bh(&queue->rx_lock);
	queue->dying = true;
	spin_unlock_bh(&queue->rx_lock);
	if (queue->qid == 0)
		cancel_delayed_work_sync(&queue->ka_work);
	rdma_disconnect(queue->cm_id);
	ib_drain_qp(queue->cm_id->qp);
	if (queue->qid == 0)
		cancel_work_sync(&queue->rx_work);
	mutex_lock(&sess->lock);
	list_del(&queue->entry);
	if (sess->admin == queue) {
		struct emptgt_queue *ioq;

		/*
		 * A session is live while its admin queue is. Its I/O queues
		 * end with it: a client that keeps one would otherwise pin
		 * the session's memory, and no disable or device removal
		 * would find it once the session leaves the port's list.
		 */
		sess->admin = NULL;
		last_admin = true;
		list_for_each_entry(ioq, &sess->queues, entry)
			emptgt_queue_schedule_release(ioq);
	}
	mutex_unlock(&sess->lock);
	rdma_destroy_qp(queue->cm_id);
	if (queue->qid == 0)
		emptgt_admin_exit(queue);
	ib_cq_pool_put(queue->cq, queue->nr_cqe);
	rdma_destroy_id(queue->cm_id);

	if (last_admin) {
		bool ended;

		/*
		 * No new I/O queue may join; the session waits for a reattach
		 * for its grace period, or is over.
		 */
		mutex_lock(&port->sessions_lock);
		ended = !sess->grace_s || READ_ONCE(sess->closing) ||
			!port->accepting;
		if (ended) {
			list_del(&sess->entry);
			atomic_dec(&port->nr_sessions);
		} else {
			sess->detached = true;
			kref_get(&sess->ref);	/* the expiry's */
			queue_delayed_work(emptgt_wq, &sess->expire_work,
					   sess->grace_s * HZ);
		}
		mutex_unlock(&port->sessions_lock);
		if (ended)
			emptgt_session_put(sess);	/* the list's reference */
		else
			pr_info("%s: admin connection of %pISc lost: its session is kept %u s for it to reattach\n",
				emptgt_port_name(port), &sess->peer,
				sess->grace_s);
	}
	emptgt_session_put(sess);		/* this queue's reference */
	kfree(queue);
	atomic_dec(&port->nr_queues);
}

static int emptgt_reject(struct emptgt_port *port, struct rdma_cm_id *cm_id,
			 enum emp_status st)
{
	struct emp_cm_rej rej = {
		.magic		= cpu_to_le32(EMP_PROTO_MAGIC),
		.ver_major	= cpu_to_le16(EMP_PROTO_VER_MAJOR),
		.ver_minor	= cpu_to_le16(EMP_PROTO_VER_MINOR),
		.status		= cpu_to_le32(st),
	};

	emptgt_stat_inc(port, EMPTGT_STAT_REJECTED_CONNECTS);
	rdma_reject(cm_id, &rej, sizeof(rej), IB_CM_REJ_CONSUMER_DEFINED);
	return -ECONNREFUSED;	/* the CM destroys the new cm_id */
}

static int emptgt_accept(struct emptgt_queue *queue,
			 const struct rdma_conn_param *p, bool resumed)
{
	struct emptgt_port *port = queue->sess->port;
	struct emp_cm_rep rep = {
		.magic		= cpu_to_le32(EMP_PROTO_MAGIC),
		.ver_major	= cpu_to_le16(EMP_PROTO_VER_MAJOR),
		.ver_minor	= cpu_to_le16(EMP_PROTO_VER_MINOR),
		.chunk_shift	= EMP_CHUNK_SHIFT,
		.flags		= resumed ? EMP_REP_RESUMED : 0,
		.grace_s	= cpu_to_le32(queue->sess->grace_s),
		.incarnation	= cpu_to_le64(emptgt_incarnation),
		.budget_mb	= cpu_to_le64(emptgt_budget_left_mb(port)),
	};
	struct rdma_conn_param param = {
		.private_data		= &rep,
		.private_data_len	= sizeof(rep),
		/*
		 * The client reads from us: answer as many reads in flight as
		 * it asked for. The CM reports the request from our side of
		 * the connection, so the client's initiator depth arrives as
		 * our responder_resources.
		 */
		.responder_resources	= min_t(int, p->responder_resources,
						queue->sess->ibdev->attrs.max_qp_rd_atom),
		.initiator_depth	= 0,
		.rnr_retry_count	= 7,
		.flow_control		= 1,
	};

	return rdma_accept(queue->cm_id, &param);
}

/*
 * Resume a session a client reattaches to (port->sessions_lock held). Its
 * old queues must all be gone first: if any is left, it is ended (the
 * client knows the connections are dead even if we do not), and the
 * client asked to retry.
 */
static enum emp_status emptgt_session_reattach(struct emptgt_session *sess,
					       const struct emp_cm_req *req)
{
	struct emptgt_queue *queue;
	bool busy;

	lockdep_assert_held(&sess->port->sessions_lock);
	mutex_lock(&sess->lock);
	busy = sess->admin || !list_empty(&sess->queues);
	list_for_each_entry(queue, &sess->queues, entry)
		emptgt_queue_schedule_release(queue);
	mutex_unlock(&sess->lock);
	if (busy || !sess->detached)
		return EMP_ST_RETRY;
	sess->detached = false;
	if (cancel_delayed_work(&sess->expire_work))
		kref_put(&sess->ref, emptgt_session_free); /* never the last */
	emptgt_session_set_timers(sess, req);
	emptgt_stat_inc(sess->port, EMPTGT_STAT_SESSIONS_RESUMED);
	pr_info("%s: session of %pISc resumed, %d chunks kept\n",
		emptgt_port_name(sess->port), &sess->peer,
		atomic_read(&sess->nr_chunks));
	return EMP_ST_OK;
}

static int emptgt_queue_connect(struct emptgt_port *port,
				struct rdma_cm_id *cm_id,
				struct rdma_cm_event *ev)
{
	const struct emp_cm_req *req = ev->param.conn.private_data;
	struct emptgt_session *sess;
	struct emptgt_queue *queue;
	enum emp_status ret;
	bool reattach;
	u64 cookie;
	u16 qid;

	if (!req || ev->param.conn.private_data_len < sizeof(*req) ||
	    le32_to_cpu(req->magic) != EMP_PROTO_MAGIC) {
		pr_warn_ratelimited("%s: connection from %pISp rejected: not an empblk client\n",
				    emptgt_port_name(port),
				    &cm_id->route.addr.dst_addr);
		return emptgt_reject(port, cm_id, EMP_ST_BAD_MSG);
	}
	if (le16_to_cpu(req->ver_major) != EMP_PROTO_VER_MAJOR) {
		pr_warn_ratelimited("%s: connection from %pISp rejected: protocol %u.%u, this donor speaks %u.%u\n",
				    emptgt_port_name(port),
				    &cm_id->route.addr.dst_addr,
				    le16_to_cpu(req->ver_major),
				    le16_to_cpu(req->ver_minor),
				    EMP_PROTO_VER_MAJOR, EMP_PROTO_VER_MINOR);
		return emptgt_reject(port, cm_id, EMP_ST_BAD_VERSION);
	}
	if (port->device[0] &&
	    strcmp(dev_name(&cm_id->device->dev), port->device))
		return emptgt_reject(port, cm_id, EMP_ST_NO_SESSION);

	qid = le16_to_cpu(req->qid);
	cookie = le64_to_cpu(req->cookie);
	reattach = !qid && (le16_to_cpu(req->flags) & EMP_CM_REATTACH);
	queue = kzalloc(sizeof(*queue), GFP_KERNEL);
	if (!queue)
		return emptgt_reject(port, cm_id, EMP_ST_NO_MEM);
	queue->cm_id = cm_id;
	queue->qid = qid;
	INIT_WORK(&queue->release_work, emptgt_queue_release_work);
	spin_lock_init(&queue->rx_lock);
	INIT_LIST_HEAD(&queue->rx_list);
	INIT_WORK(&queue->rx_work, emptgt_rx_work);
	INIT_DELAYED_WORK(&queue->ka_work, emptgt_ka_work);

	/*
	 * Hold sessions_lock until the queue is on its session's list, so
	 * that emptgt_port_disable() either sees it or makes us refuse.
	 */
	mutex_lock(&port->sessions_lock);
	if (!port->accepting) {
		ret = EMP_ST_SHUTDOWN;
		goto out_unlock;
	}
	if (qid == 0 && !reattach) {
		sess = emptgt_session_create(port, cm_id, req);
		if (IS_ERR(sess)) {
			ret = EMP_ST_NO_MEM;
			goto out_unlock;
		}
	} else {
		sess = emptgt_session_find(port, cm_id, cookie);
		if (!sess) {
			pr_warn_ratelimited("%s: %s from %pISp rejected: no such session%s\n",
					    emptgt_port_name(port),
					    reattach ? "reattach" : "I/O queue",
					    &cm_id->route.addr.dst_addr,
					    reattach ?
					    " (expired, closed, or this donor restarted)" :
					    "");
			ret = EMP_ST_NO_SESSION;
			goto out_unlock;
		}
		if (reattach) {
			ret = emptgt_session_reattach(sess, req);
			if (ret != EMP_ST_OK)
				goto out_put_sess;
		}
	}
	queue->sess = sess;
	if (emptgt_queue_create_ib(queue)) {
		ret = EMP_ST_NO_MEM;
		goto out_put_sess;
	}
	/*
	 * The admin buffers and receives are ready before the queue is
	 * listed: from then on emptgt_port_disable() may release it.
	 */
	if (qid == 0 && emptgt_admin_init(queue)) {
		ret = EMP_ST_NO_MEM;
		goto out_destroy_ib;
	}
	mutex_lock(&sess->lock);
	if (qid != 0 && !sess->admin) {
		/* its admin queue is being released: the session is over */
		mutex_unlock(&sess->lock);
		pr_warn_ratelimited("%s: I/O queue from %pISp rejected: its session is ending\n",
				    emptgt_port_name(port),
				    &cm_id->route.addr.dst_addr);
		ret = EMP_ST_NO_SESSION;
		goto out_destroy_ib;
	}
	atomic_inc(&port->nr_queues);
	list_add_tail(&queue->entry, &sess->queues);
	if (qid == 0) {
		sess->admin = queue;
		queue->last_rx = jiffies;
		if (sess->kato)
			queue_delayed_work(emptgt_wq, &queue->ka_work,
					   sess->kato / 2);
	}
	mutex_unlock(&sess->lock);
	if (qid == 0 && !reattach) {
		kref_get(&sess->ref);	/* the port list's reference */
		list_add_tail(&sess->entry, &port->sessions);
		atomic_inc(&port->nr_sessions);
		emptgt_stat_inc(port, EMPTGT_STAT_SESSIONS_TOTAL);
		emptgt_session_sysfs_add(sess);
	}
	mutex_unlock(&port->sessions_lock);

	/* from now on every event of this connection names its queue */
	queue->cm_ctx.is_queue = true;
	cm_id->context = &queue->cm_ctx;
	if (emptgt_accept(queue, &ev->param.conn, reattach)) {
		/* the queue is listed: tear down by the normal path, keep the id */
		emptgt_reject(port, cm_id, EMP_ST_NO_MEM);
		emptgt_queue_schedule_release(queue);
	}
	return 0;

out_destroy_ib:
	/* the receives posted are flushed with the QP; the CQ goes after */
	rdma_destroy_qp(cm_id);
	ib_cq_pool_put(queue->cq, queue->nr_cqe);
out_put_sess:
	emptgt_session_put(sess);
out_unlock:
	mutex_unlock(&port->sessions_lock);
	kfree(queue);
	return emptgt_reject(port, cm_id, ret);
}

static int emptgt_cm_handler(struct rdma_cm_id *cm_id,
			     struct rdma_cm_event *ev)
{
	struct emptgt_cm_ctx *ctx = cm_id->context;
	struct emptgt_queue *queue = ctx->is_queue ?
		container_of(ctx, struct emptgt_queue, cm_ctx) : NULL;
	struct emptgt_port *port = queue ? queue->sess->port :
		container_of(ctx, struct emptgt_port, cm_ctx);

	pr_debug("%s: %s (%d), status %d\n", emptgt_port_name(port),
		 rdma_event_msg(ev->event), ev->event, ev->status);
	switch (ev->event) {
	case RDMA_CM_EVENT_CONNECT_REQUEST:
		return emptgt_queue_connect(port, cm_id, ev);
	case RDMA_CM_EVENT_ESTABLISHED:
		return 0;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_TIMEWAIT_EXIT:
	case RDMA_CM_EVENT_ADDR_CHANGE:
	case RDMA_CM_EVENT_REJECTED:
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_CONNECT_ERROR:
		if (queue)
			emptgt_queue_schedule_release(queue);
		return 0;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		/*
		 * Queues are torn down by the ib_client remove callback, which
		 * runs first. A listener bound to the device goes away here:
		 * returning non-zero lets the CM destroy it.
		 */
		if (!queue && cmpxchg(&port->listen_id, cm_id, NULL) == cm_id) {
			pr_warn("%s: RDMA device removed; the port no longer listens\n",
				emptgt_port_name(port));
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

/* Ports */

/**
 * emptgt_port_enable() - start listening
 * @port: port, with port->lock held
 *
 * Return: 0 or a negative errno, with the reason logged.
 */
int emptgt_port_enable(struct emptgt_port *port)
{
	struct sockaddr_storage ss;
	struct rdma_cm_id *id;
	char port_str[8];
	int ret;

	lockdep_assert_held(&port->lock);
	snprintf(port_str, sizeof(port_str), "%u", port->port);
	ret = inet_pton_with_scope(&init_net, AF_UNSPEC,
				   port->addr[0] ? port->addr : "0.0.0.0",
				   port_str, &ss);
	if (ret) {
		pr_err("%s: invalid address \"%s\"\n", emptgt_port_name(port),
		       port->addr);
		return ret;
	}
	port->cm_ctx.is_queue = false;
	id = rdma_create_id(&init_net, emptgt_cm_handler, &port->cm_ctx,
			    RDMA_PS_TCP,
			    IB_QPT_RC);
	if (IS_ERR(id))
		return PTR_ERR(id);
	ret = rdma_bind_addr(id, (struct sockaddr *)&ss);
	if (ret) {
		pr_err("%s: cannot bind %pISp: %d (no RDMA device on that address?)\n",
		       emptgt_port_name(port), &ss, ret);
		goto out_destroy_id;
	}
	mutex_lock(&port->sessions_lock);
	port->accepting = true;
	mutex_unlock(&port->sessions_lock);
	port->listen_id = id;
	ret = rdma_listen(id, EMPTGT_LISTEN_BACKLOG);
	if (ret) {
		pr_err("%s: cannot listen on %pISp: %d\n",
		       emptgt_port_name(port), &ss, ret);
		goto out_stop_accepting;
	}
	return 0;

out_stop_accepting:
	mutex_lock(&port->sessions_lock);
	port->accepting = false;
	mutex_unlock(&port->sessions_lock);
	port->listen_id = NULL;
out_destroy_id:
	rdma_destroy_id(id);
	return ret;
}

/*
 * End the sessions of @port (on @ibdev only, if not NULL) with no grace
 * period: release every queue, and free the detached sessions now.
 * Return: whether any queue is being released.
 */
static bool emptgt_port_end_sessions(struct emptgt_port *port,
				     struct ib_device *ibdev)
{
	struct emptgt_session *sess, *next;
	struct emptgt_queue *queue;
	LIST_HEAD(detached);
	bool any = false;

	mutex_lock(&port->sessions_lock);
	list_for_each_entry_safe(sess, next, &port->sessions, entry) {
		if (ibdev && sess->ibdev != ibdev)
			continue;
		WRITE_ONCE(sess->closing, true);
		if (sess->detached) {
			emptgt_session_unlist(sess);
			list_add(&sess->entry, &detached);
			continue;
		}
		mutex_lock(&sess->lock);
		list_for_each_entry(queue, &sess->queues, entry) {
			emptgt_queue_schedule_release(queue);
			any = true;
		}
		mutex_unlock(&sess->lock);
	}
	mutex_unlock(&port->sessions_lock);
	list_for_each_entry_safe(sess, next, &detached, entry)
		emptgt_session_put(sess);	/* the list's reference */
	return any;
}

/**
 * emptgt_port_disable() - stop listening and end every session
 * @port: port, with port->lock held
 *
 * Clients see their connections drop; all their memory is deregistered
 * and freed before this returns.
 */
void emptgt_port_disable(struct emptgt_port *port)
{
	struct rdma_cm_id *listen_id;

	lockdep_assert_held(&port->lock);
	mutex_lock(&port->sessions_lock);
	port->accepting = false;
	mutex_unlock(&port->sessions_lock);
	/* the CM may take the listener at device removal: claim it first */
	listen_id = xchg(&port->listen_id, NULL);
	if (listen_id)
		rdma_destroy_id(listen_id);

	emptgt_port_end_sessions(port, NULL);
	while (atomic_read(&port->nr_queues))
		flush_workqueue(emptgt_wq);
	/* and the expiries that were running */
	flush_workqueue(emptgt_wq);
}

/* Device removal: end every session on the departing device. */
static int emptgt_add_one(struct ib_device *ibdev)
{
	return 0;
}

static void emptgt_remove_one(struct ib_device *ibdev, void *client_data)
{
	emptgt_configfs_remove_device(ibdev);
}

static struct ib_client emptgt_ib_client = {
	.name	= "emp_target",
	.add	= emptgt_add_one,
	.remove	= emptgt_remove_one,
};

/**
 * emptgt_port_remove_device() - end the sessions of @port on @ibdev
 * @port: port
 * @ibdev: RDMA device going away
 */
void emptgt_port_remove_device(struct emptgt_port *port,
			       struct ib_device *ibdev)
{
	/* a detached session's PD and chunks are on @ibdev too */
	emptgt_port_end_sessions(port, ibdev);
	flush_workqueue(emptgt_wq);
}

/**
 * emptgt_rdma_init() - register for RDMA device removal
 *
 * Return: 0 or a negative errno.
 */
int emptgt_rdma_init(void)
{
	return ib_register_client(&emptgt_ib_client);
}

/**
 * emptgt_rdma_exit() - unregister the RDMA client
 */
void emptgt_rdma_exit(void)
{
	ib_unregister_client(&emptgt_ib_client);
}
