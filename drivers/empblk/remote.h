/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The remote tier's own types: donors, their queues and chunks, and the
 * per-request RDMA state. Shared by remote_conn.c (connections and admin
 * exchanges), remote_chunk.c (chunks and striping), remote_io.c (the
 * I/O path) and remote_dev.c (RDMA devices going away); nothing else
 * includes it.
 */
#ifndef EMPBLK_REMOTE_H
#define EMPBLK_REMOTE_H

#include <linux/scatterlist.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>

#include <emp/emp-proto.h>

#include "empblk.h"

/* remote tier: the largest request, and so the most pieces per request */
#define EMPBLK_REMOTE_MAX_BYTES	SZ_128K
#define EMPBLK_REMOTE_MAX_SEGS	(EMPBLK_REMOTE_MAX_BYTES >> PAGE_SHIFT)
/* pieces split at subblock and scatterlist boundaries: at most 2n + 1 */
#define EMPBLK_REMOTE_MAX_SGES	(2 * EMPBLK_REMOTE_MAX_SEGS + 1)
/* one SGE per WR in the worst case (a device allowing only one) */
#define EMPBLK_REMOTE_MAX_WRS	EMPBLK_REMOTE_MAX_SGES
/* a write over iWARP ends with a fence READ on each donor it went to */
#define EMPBLK_REMOTE_MAX_FENCES	EMPBLK_MAX_DONORS
/* pages a request spans, and so the page list of a READ sink MR */
#define EMPBLK_REMOTE_MAX_PAGES	(EMPBLK_REMOTE_MAX_SEGS + 1)

struct empblk_rcmd;

/**
 * struct empblk_rwr - one RDMA READ or WRITE of a request
 * @wr: the work request
 * @cqe: its completion
 * @cmd: the request's state
 * @rc: the chunk it holds a reference on (the first WR of each piece),
 *	or NULL
 * @inv_mr: the READ sink MR this READ_WITH_INV invalidates, or NULL
 * @donor: index of the donor it goes to
 */
struct empblk_rwr {
	struct ib_rdma_wr wr;
	struct ib_cqe cqe;
	struct empblk_rcmd *cmd;
	struct empblk_rchunk *rc;
	struct ib_mr *inv_mr;
	unsigned int donor;
};

/**
 * struct empblk_rmr - a read's sink registered for one donor
 * @inv: LOCAL_INV of @mr, posted before @reg when its last use left it
 *	valid (its READ_WITH_INV did not complete)
 * @reg: the REG_MR work request
 * @mr: from the I/O queue's pool (empblk_rqueue.sink_mrs)
 * @q: that I/O queue
 * @last: index in empblk_rcmd.rwrs of the last READ into @mr
 *
 * iWARP puts a READ's sink on the wire as a steering tag, and the
 * responder writes the data into it: the sink must be registered with
 * remote write access, which the local DMA lkey does not have. Such a
 * read registers the request's pages once per donor it reads from; every
 * READ to that donor then has one SGE in the MR's address space, and the
 * last one invalidates it (READ_WITH_INV). See rdma_rw.c, which does the
 * same for nvmet and the other RDMA targets.
 */
struct empblk_rmr {
	struct ib_send_wr inv;
	struct ib_reg_wr reg;
	struct ib_mr *mr;
	struct empblk_rqueue *q;
	unsigned int last;
};

/**
 * struct empblk_rcmd - the remote tier's per-request state
 * @rq: the request
 * @r: the remote tier
 * @nwr: work requests posted for the request (0: none in flight); the
 *	timeout handler finds the donors a stuck request waits for here
 * @pending: RDMA work requests not yet completed
 * @failed: NULL, or why the first of them failed (a static string)
 * @retry: a failure was a donor's lost connection that is being resumed:
 *	the request is run again (EMPBLK_STS_RETRY), not failed
 * @nents: scatterlist entries DMA mapped (0: not mapped)
 * @holes: pieces of a read (one bit per subblock it touches) that no
 *	chunk backs: zeroed once the pages are unmapped
 * @nmr: entries of @rmrs holding an MR
 * @sgl: the request's pages, mapped for the RDMA device
 * @sges: local segments of the work requests
 * @fsges: the empty local segments of the fence READs
 *	(empblk_remote_fence())
 * @rwrs: the work requests, fences last
 * @rmrs: READ sink registrations, one per donor a read goes to, on donors
 *	that need them (empblk_donor.reg_sinks)
 */
struct empblk_rcmd {
	struct request *rq;
	struct empblk_remote *r;
	unsigned int nwr;
	atomic_t pending;
	const char *failed;
	bool retry;
	int nents;
	unsigned int nmr;
	u64 holes;
	struct scatterlist sgl[EMPBLK_REMOTE_MAX_SEGS];
	struct ib_sge sges[EMPBLK_REMOTE_MAX_SGES];
	struct ib_sge fsges[EMPBLK_REMOTE_MAX_FENCES];
	struct empblk_rwr rwrs[EMPBLK_REMOTE_MAX_WRS + EMPBLK_REMOTE_MAX_FENCES];
	struct empblk_rmr rmrs[EMPBLK_MAX_DONORS];
};

/**
 * struct empblk_rchunk - where one donor chunk lives
 * @addr: remote address of its first byte
 * @rkey: remote key
 * @id: donor's handle; 0 while not allocated. Published with a release
 *	store after @addr and @rkey, read with an acquire load.
 * @inflight: transfers using @addr and @rkey now (empblk_rchunk_get());
 *	a discard clears @id, then waits for this to drop to 0 before
 *	the donor frees the chunk
 * @stale_id: a chunk given back while the donor was reconnecting, freed
 *	on the donor once it is back (under admin_lock)
 */
struct empblk_rchunk {
	u64 addr;
	u32 rkey;
	u32 id;
	atomic_t inflight;
	u32 stale_id;
};

struct empblk_donor;

/**
 * struct empblk_rqueue - one RC connection to a donor
 * @donor: owner
 * @cm_id: RDMA CM identifier
 * @cq: completion queue: the device's shared pool's (softirq), or the
 *	queue's own for a polled hardware queue
 * @nr_cqe: entries this queue takes of @cq
 * @cq_pooled: @cq is from the pool (ib_cq_pool_put() gives it back)
 * @qid: 0 admin, 1.. I/O
 * @cm_done: signalled when connection setup reaches its next state
 * @cm_error: result of the last connection step
 * @rej_status: emp_status the donor rejected us with, or -1
 * @rep: what the donor accepted the connection with (qid 0)
 * @sink_mrs: pool of READ sink MRs, one per tag (I/O queues of donors
 *	with empblk_donor.reg_sinks)
 * @nr_sink_mrs: MRs in the pool when full
 * @flush_cqe: completion of the zero-length READ that flushes the queue's
 *	WRITEs before a chunk is freed (empblk_donor.reg_sinks donors)
 * @flush_done: signalled by that completion
 * @flush_ok: whether it succeeded
 */
struct empblk_rqueue {
	struct empblk_donor *donor;
	struct rdma_cm_id *cm_id;
	struct ib_cq *cq;
	unsigned int nr_cqe;
	bool cq_pooled;
	u16 qid;
	struct completion cm_done;
	int cm_error;
	int rej_status;
	struct emp_cm_rep rep;
	struct list_head sink_mrs;
	unsigned int nr_sink_mrs;
	struct ib_cqe flush_cqe;
	struct completion flush_done;
	bool flush_ok;
};

/*
 * Donor state bits in empblk_donor.flags:
 * @EMPBLK_DONOR_DEAD: given up: its I/O fails fast until the device is
 *	recreated. Set when the connection is lost and cannot be resumed
 *	(no loss_timeout, iWARP, no grace period granted, the donor
 *	restarted, or loss_timeout ran out), and by teardown.
 * @EMPBLK_DONOR_QPS_ERR: its queue pairs were moved to the error state so
 *	that work requests still in flight flush.
 * @EMPBLK_DONOR_RECONNECTING: its connection was lost and is being
 *	resumed (empblk_donor_reconnect_work()): its I/O is requeued
 *	(EMPBLK_STS_RETRY), nothing is posted to its queues, which may be
 *	torn down and rebuilt. Posters check it under rcu_read_lock(); the
 *	reconnect waits for them (synchronize_rcu()) before touching a queue.
 */
enum empblk_donor_flags {
	EMPBLK_DONOR_DEAD		= 0,
	EMPBLK_DONOR_QPS_ERR		= 1,
	EMPBLK_DONOR_RECONNECTING	= 2,
};

/**
 * struct empblk_donor - one donor of a device
 * @dev: owner
 * @r: its remote tier
 * @idx: position among the donors in mem_path
 * @spec: its mem_path entry
 * @ibdev: RDMA device the donor is reached through
 * @pd: protection domain of our side of every queue
 * @cookie: random session identifier sent with every connect
 * @incarnation: the donor's, from the admin accept
 * @flags: enum empblk_donor_flags
 * @admin: admin queue
 * @ioqs: I/O queues, one per hardware queue
 * @nr_ioqs: entries in @ioqs
 * @max_sge: most SGEs in one RDMA WRITE to this donor
 * @max_rd_sge: most SGEs in one RDMA READ to this donor
 * @reg_sinks: reads register their sinks (struct empblk_rmr): iWARP,
 *	which also invalidates them with the READ (READ_WITH_INV)
 * @admin_lock: one admin exchange at a time; serialises chunk allocation
 * @wbq: queue of the page I/O of a layer above (empblk_remote.pio_slots;
 *	cm_id NULL without one)
 * @tx: admin send buffer, DMA mapped at @tx_dma
 * @rx: admin receive buffer, DMA mapped at @rx_dma
 * @tx_dma: DMA address of @tx
 * @rx_dma: DMA address of @rx
 * @tx_cqe: admin send completion
 * @rx_cqe: admin receive completion
 * @rsp_done: signalled by @rx_cqe
 * @rsp_ok: the receive completed successfully
 * @tag: tag of the last admin request
 * @tag_again: the last admin request got no reply (its connection was
 *	lost): the same request again (@again_type, @again_chunk) reuses
 *	its tag, so that a donor that did handle it answers the repeat
 *	with its reply instead of doing it twice
 * @again_type: type of that request
 * @again_chunk: the chunk it named
 * @grace_s: how long the donor keeps our session after a lost
 *	connection (granted at connect; 0: it does not, no reconnect)
 * @peer_minor: the donor's protocol minor version
 * @lost_at: jiffies when the connection was lost (reconnecting)
 * @reconnect_work: resumes a lost connection, again every reconnect_delay
 *	until loss_timeout
 * @ka_work: sends a keep-alive when the admin queue was idle for half
 *	the keep-alive timeout
 * @last_rsp: jiffies of the last admin reply
 * @chunks: chunk table, by donor-local offset >> EMP_CHUNK_SHIFT
 * @nr_chunks: entries in @chunks
 * @chunks_in_use: allocated entries
 */
struct empblk_donor {
	struct empblk_dev *dev;
	struct empblk_remote *r;
	unsigned int idx;
	struct empblk_donor_spec spec;
	struct ib_device *ibdev;
	struct ib_pd *pd;
	u64 cookie;
	u64 incarnation;
	unsigned long flags;
	struct empblk_rqueue admin;
	struct empblk_rqueue *ioqs;
	unsigned int nr_ioqs;
	struct empblk_rqueue wbq;
	u32 max_sge;
	u32 max_rd_sge;
	bool reg_sinks;

	struct mutex admin_lock;	/* one admin exchange at a time */
	union emp_msg *tx;
	union emp_msg *rx;
	u64 tx_dma;
	u64 rx_dma;
	struct ib_cqe tx_cqe;
	struct ib_cqe rx_cqe;
	struct completion rsp_done;
	bool rsp_ok;
	u32 tag;
	bool tag_again;
	u16 again_type;
	u32 again_chunk;
	u32 grace_s;
	u16 peer_minor;
	unsigned long lost_at;
	struct delayed_work reconnect_work;
	struct delayed_work ka_work;
	unsigned long last_rsp;

	struct empblk_rchunk *chunks;
	unsigned long nr_chunks;
	atomic_long_t chunks_in_use;
};

/**
 * struct empblk_remote - the remote tier of a device
 * @tier: its tier interface
 * @nr_donors: donors
 * @donors: the donors
 * @ibdev: the one RDMA device every donor is reached through
 * @sb_shift: log2 of the subblock size, the transfer unit
 * @pio_slots: page I/Os (struct empblk_pio) a layer above may have in
 *	flight at once; 0 without such a layer (no writeback queues)
 * @pio_pages: most pages in one of them
 * @node: on the list of remote tiers the RDMA device removal walks
 *	(remote_dev.c)
 * @gone: @ibdev is going away: nothing maps, posts or polls any more
 */
struct empblk_remote {
	struct empblk_tier tier;
	unsigned int nr_donors;
	struct empblk_donor *donors;
	struct ib_device *ibdev;
	unsigned int sb_shift;
	unsigned int pio_slots;
	unsigned int pio_pages;
	struct list_head node;
	bool gone;
};

/**
 * struct empblk_wbwr - one RDMA WRITE (or READ) of a layer's page I/O
 * @wr: the work request
 * @cqe: its completion
 * @rp: the page I/O it belongs to
 * @donor: index of the donor it goes to
 */
struct empblk_wbwr {
	struct ib_rdma_wr wr;
	struct ib_cqe cqe;
	struct empblk_rpio *rp;
	unsigned int donor;
};

/**
 * struct empblk_rpio - the remote tier's state of one page I/O
 * @pio: the page I/O
 * @r: the remote tier
 * @pending: work requests not yet completed
 * @failed: one of them failed
 * @dir: DMA_TO_DEVICE (a write) or DMA_FROM_DEVICE (a read)
 * @nr_mapped: pages DMA mapped (entries of @dma)
 * @dma: DMA address of each page, mapped for the RDMA device
 * @sges: one per page, then one per fence (a donor each)
 * @wrs: at most one per page, then one fence per donor over iWARP
 *
 * Lives in empblk_pio.tier_data, with room for the arrays after it
 * (empblk_remote_pio_size()).
 */
struct empblk_rpio {
	struct empblk_pio *pio;
	struct empblk_remote *r;
	atomic_t pending;
	bool failed;
	enum dma_data_direction dir;
	unsigned int nr_mapped;
	u64 *dma;
	struct ib_sge *sges;
	struct empblk_wbwr *wrs;
};

static inline struct empblk_remote *to_remote(struct empblk_tier *t)
{
	return container_of(t, struct empblk_remote, tier);
}

/* remote_conn.c: connections, admin exchanges, setup and teardown */
const char *empblk_rq_name(struct empblk_dev *dev);
void empblk_donor_mark_dead(struct empblk_donor *d, const char *why);
void empblk_donor_lost(struct empblk_donor *d, const char *why);
void empblk_donor_fail(struct empblk_donor *d, const char *why);
bool empblk_donor_retry(struct empblk_donor *d);
void empblk_donor_wc_error(struct empblk_donor *d, enum ib_wc_status status);
void empblk_remote_fail_all(struct empblk_remote *r, const char *why);
void empblk_remote_release_rdma(struct empblk_remote *r, const char *why);
int empblk_admin_rpc(struct empblk_donor *d, u16 type, u32 chunk,
		     struct emp_msg_chunk *out);
int empblk_admin_exchange(struct empblk_donor *d, u16 type, u32 chunk,
			  struct emp_msg_chunk *out, unsigned long timeout);
int empblk_remote_connect(struct empblk_remote *r);
void empblk_remote_disconnect(struct empblk_remote *r);

/* remote_chunk.c: the donors' chunks and where device bytes live */
int empblk_donor_get_chunk(struct empblk_donor *d, unsigned long c);
void empblk_donor_put_chunk(struct empblk_donor *d, unsigned long c);
int empblk_donor_free_stale(struct empblk_donor *d);
int empblk_rchunk_get(struct empblk_rchunk *rc);
void empblk_remote_fence(struct empblk_donor *d, struct ib_rdma_wr *wr,
			 struct ib_sge *sge, struct ib_cqe *cqe, u64 raddr,
			 u32 rkey);
int empblk_remote_claim(struct empblk_tier *t, unsigned int idx, u64 ext);
void empblk_remote_release(struct empblk_tier *t, unsigned int idx, u64 ext);

/* remote_dev.c: RDMA devices going away */
unsigned long empblk_remote_generation(void);
int empblk_remote_track(struct empblk_remote *r, unsigned long gen);
void empblk_remote_untrack(struct empblk_remote *r);

#endif /* EMPBLK_REMOTE_H */
