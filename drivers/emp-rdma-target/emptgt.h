/* SPDX-License-Identifier: GPL-2.0 */
/*
 * emp_rdma_target: donor side of empblk.
 *
 * Objects, from configuration down to memory:
 *   struct emptgt_port    - configfs item /sys/kernel/config/emp_target/
 *                           ports/<name>: address, port, budget; while
 *                           enabled it owns an RDMA CM listener.
 *   struct emptgt_session - one client: a protection domain shared by its
 *                           queues and the chunks registered in it.
 *   struct emptgt_queue   - one RC connection of a session (qid 0 admin,
 *                           others I/O; only the admin queue carries
 *                           messages).
 *   struct emptgt_chunk   - EMP_CHUNK_SIZE bytes of zeroed pages, registered
 *                           for remote read and write in the session's PD.
 */
#ifndef EMPTGT_H
#define EMPTGT_H

#include <linux/configfs.h>
#include <linux/inet.h>
#include <linux/kobject.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>

#include <emp/emp-proto.h>

#define EMPTGT_NAME		"emp_target"
#define EMPTGT_PAGES_PER_CHUNK	(EMP_CHUNK_SIZE >> PAGE_SHIFT)
#define EMPTGT_MAX_BUDGET_MB	BIT_ULL(24)
/* grace period a port grants by default, and at most: nvme-rdma's 600 s */
#define EMPTGT_DEFAULT_GRACE_S	600
#define EMPTGT_MAX_GRACE_S	86400

/*
 * Port counters, one per configfs attribute of the same name (see
 * Documentation/ABI/testing/configfs-emp_target).
 */
enum emptgt_port_stat {
	EMPTGT_STAT_SESSIONS_TOTAL,
	EMPTGT_STAT_REJECTED_CONNECTS,
	EMPTGT_STAT_BAD_MESSAGES,
	EMPTGT_STAT_CHUNKS_ALLOCATED,
	EMPTGT_STAT_CHUNKS_FREED,
	EMPTGT_STAT_ALLOC_FAILURES,
	EMPTGT_STAT_SESSIONS_RESUMED,
	EMPTGT_STAT_SESSIONS_EXPIRED,
	EMPTGT_STAT_KEEPALIVE_TIMEOUTS,
	EMPTGT_NR_PORT_STATS,
};

/**
 * struct emptgt_cm_ctx - what an RDMA CM identifier's context points to
 * @is_queue: embedded in an emptgt_queue (a connection), not in an
 *	emptgt_port (its listener)
 *
 * A connection's identifier is born with its listener's context; once it
 * has a queue, it points to the queue, so that the CM handler never has to
 * reach the queue through a QP the release may be destroying.
 */
struct emptgt_cm_ctx {
	bool is_queue;
};

/**
 * struct emptgt_port - a listening port and its memory budget
 * @group: configfs group
 * @entry: on the global list of ports (configfs.c)
 * @lock: protects the configuration, @enabled and @listen_id
 * @addr: listen address (empty: any IPv4 address)
 * @port: TCP-style port number of the RDMA CM service
 * @device: RDMA device name clients must arrive on (empty: any)
 * @budget_mb: most memory handed out to all clients of this port
 * @max_grace_s: longest grace period granted to a session whose admin
 *	connection is lost (emp_cm_req.grace_s); 0: sessions end with it
 * @enabled: listening
 * @listen_id: RDMA CM listener while enabled
 * @cm_ctx: the listener's CM context
 * @sessions_lock: protects @sessions
 * @sessions: live and detached sessions (emptgt_session.entry)
 * @accepting: new connections are accepted (false while disabling)
 * @nr_sessions: entries on @sessions
 * @nr_queues: queues of this port not yet released
 * @chunks_in_use: chunks registered to clients now
 * @stats: counters, enum emptgt_port_stat
 */
struct emptgt_port {
	struct config_group group;
	struct list_head entry;
	struct mutex lock;		/* protects config, enabled, listen_id */
	char addr[INET6_ADDRSTRLEN];
	u16 port;
	char device[IB_DEVICE_NAME_MAX];
	u64 budget_mb;
	u64 max_grace_s;
	bool enabled;
	struct rdma_cm_id *listen_id;
	struct emptgt_cm_ctx cm_ctx;

	struct mutex sessions_lock;	/* protects sessions */
	struct list_head sessions;
	bool accepting;
	atomic_t nr_sessions;
	atomic_t nr_queues;
	atomic64_t chunks_in_use;
	atomic64_t stats[EMPTGT_NR_PORT_STATS];
};

/**
 * struct emptgt_chunk - one registered chunk of donor memory
 * @id: handle the client uses, index in emptgt_session.chunks
 * @sgt: the chunk's pages
 * @mr: fast-registration memory region, remote read and write
 * @reg_cqe: completion of the REG_MR work request
 * @reg_done: signalled by @reg_cqe
 * @reg_status: work completion status of the registration
 */
struct emptgt_chunk {
	u32 id;
	struct sg_table sgt;
	struct ib_mr *mr;
	struct ib_cqe reg_cqe;
	struct completion reg_done;
	enum ib_wc_status reg_status;
};

struct emptgt_queue;

/**
 * struct emptgt_session - one client of one port
 * @ref: one reference per queue, one while on the port's list, one while
 *	@expire_work is queued
 * @port: owning port (pinned: the port cannot go while sessions exist)
 * @entry: on port->sessions
 * @cookie: client-chosen session identifier from the admin connect
 * @peer: client address, I/O queues must come from it
 * @ibdev: RDMA device of every queue of the session
 * @pd: protection domain shared by the session's queues and chunks
 * @lock: protects @chunks, @admin and @queues
 * @chunks: chunk id -> struct emptgt_chunk
 * @admin: the admin queue, NULL once it is gone
 * @queues: every queue of the session (emptgt_queue.entry)
 * @nr_chunks: chunks registered for the client now
 * @chunk_order: page order of a chunk's pieces, so that a chunk fits in
 *	one memory registration of the device (emptgt_chunk_order())
 * @mr_page_size: page size of those registrations
 * @grace_s: how long the session outlives its admin connection, waiting
 *	for the client to reattach (granted at connect; 0: not at all)
 * @kato: keep-alive timeout in jiffies (0: none): an admin queue that
 *	receives nothing for that long is disconnected
 * @detached: (under port->sessions_lock) on the port's list with no
 *	queue, waiting for a reattach until @expire_work runs
 * @closing: no grace period any more: the client sent CLOSE, or its port
 *	or RDMA device is going away
 * @expire_work: ends a detached session when its grace period is over
 * @last_tag: tag of the last chunk request handled (with @last_type)
 * @last_type: its type, 0 before the first
 * @last_rsp: its reply, sent again if the client repeats the request (it
 *	lost the reply with its connection)
 * @kobj: /sys/kernel/emp_target/sessions/<port>.<n>; owns the memory
 */
struct emptgt_session {
	struct kref ref;
	struct emptgt_port *port;
	struct list_head entry;
	u64 cookie;
	struct sockaddr_storage peer;
	struct ib_device *ibdev;
	struct ib_pd *pd;
	struct mutex lock;		/* protects chunks, admin, queues */
	struct xarray chunks;
	struct emptgt_queue *admin;
	struct list_head queues;
	atomic_t nr_chunks;
	unsigned int chunk_order;
	unsigned int mr_page_size;
	u32 grace_s;
	unsigned long kato;
	bool detached;
	bool closing;
	struct delayed_work expire_work;
	u32 last_tag;
	u16 last_type;
	union emp_msg last_rsp;
	struct kobject kobj;
};

/**
 * struct emptgt_rxbuf - one admin receive buffer and its reply
 * @cqe: receive completion
 * @entry: on emptgt_queue.rx_list while waiting for the worker
 * @idx: index in the queue's rx and tx arrays
 * @len: bytes received
 */
struct emptgt_rxbuf {
	struct ib_cqe cqe;
	struct list_head entry;
	unsigned int idx;
	u32 len;
};

/**
 * struct emptgt_queue - one RC connection of a session
 * @cm_id: its RDMA CM identifier
 * @cm_ctx: @cm_id's context once the queue exists
 * @sess: session
 * @entry: on sess->queues
 * @qid: 0 admin, >0 I/O
 * @cq: completion queue of the QP, from the device's shared pool
 * @nr_cqe: entries this queue takes of @cq
 * @release_work: teardown, outside the CM handler
 * @rx: admin receive buffers (EMP_ADMIN_DEPTH), DMA mapped at @rx_dma
 * @tx: admin reply buffers, DMA mapped at @tx_dma
 * @rx_dma: DMA address of @rx
 * @tx_dma: DMA address of @tx
 * @rxbufs: receive bookkeeping, one per buffer
 * @send_cqe: send completion (nothing to do but keep the SQ moving)
 * @rx_lock: protects @rx_list and @dying; every post on the admin QP
 *	after the connect is made under it
 * @rx_list: received messages waiting for @rx_work
 * @rx_work: parses and answers admin messages in process context
 * @dying: the release has begun: nothing more is posted or handled
 * @last_rx: jiffies of the last message received (admin queue)
 * @ka_work: disconnects the admin queue once nothing was received for
 *	emptgt_session.kato
 * @released: teardown has been queued
 */
struct emptgt_queue {
	struct rdma_cm_id *cm_id;
	struct emptgt_cm_ctx cm_ctx;
	struct emptgt_session *sess;
	struct list_head entry;
	u16 qid;
	struct ib_cq *cq;
	unsigned int nr_cqe;
	struct work_struct release_work;

	union emp_msg *rx;
	union emp_msg *tx;
	u64 rx_dma;
	u64 tx_dma;
	struct emptgt_rxbuf rxbufs[EMP_ADMIN_DEPTH];
	struct ib_cqe send_cqe;
	spinlock_t rx_lock;		/* protects rx_list, dying */
	struct list_head rx_list;
	bool dying;
	struct work_struct rx_work;
	unsigned long last_rx;
	struct delayed_work ka_work;
	atomic_t released;
};

static inline void emptgt_stat_inc(struct emptgt_port *port,
				   enum emptgt_port_stat item)
{
	atomic64_inc(&port->stats[item]);
}

/* main.c */
extern u64 emptgt_incarnation;
extern struct workqueue_struct *emptgt_wq;

/* rdma.c */
int emptgt_port_enable(struct emptgt_port *port);
void emptgt_port_disable(struct emptgt_port *port);
void emptgt_port_remove_device(struct emptgt_port *port,
			       struct ib_device *ibdev);
int emptgt_rdma_init(void);
void emptgt_rdma_exit(void);

/* configfs.c */
int emptgt_configfs_init(void);
void emptgt_configfs_exit(void);

/* sysfs.c */
int emptgt_sysfs_init(void);
void emptgt_sysfs_exit(void);
void emptgt_session_kobj_init(struct emptgt_session *sess);
void emptgt_session_sysfs_add(struct emptgt_session *sess);
void emptgt_session_sysfs_del(struct emptgt_session *sess);
void emptgt_configfs_remove_device(struct ib_device *ibdev);

#endif /* EMPTGT_H */
