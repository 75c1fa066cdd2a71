/* SPDX-License-Identifier: GPL-2.0 */
/*
 * empblk: a blk-mq block device for swapping onto far memory.
 *
 * Object model (after null_blk and nvmet):
 *   struct empblk_cfg  - the configfs item /sys/kernel/config/empblk/<name>;
 *                        plain configuration, lives as long as its directory.
 *   struct empblk_dev  - the runtime device; exists while enabled and owns
 *                        the gendisk, the tag set and the tiers. It can
 *                        outlive its cfg ("orphaned") while the disk is open.
 *   struct empblk_cmd  - per-request payload, preallocated by blk-mq.
 */
#ifndef EMPBLK_H
#define EMPBLK_H

#include <linux/blk-mq.h>
#include <linux/configfs.h>
#include <linux/socket.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>

#include <emp/emp-proto.h>

#include "cache_policy.h"
#include "spec.h"

#define EMPBLK_NAME		"empblk"
#define EMPBLK_MAX_DEVICES	1024
#define EMPBLK_SPEC_MAX		512	/* bytes of a mem_path string */

#define EMPBLK_MIN_BLOCK	SZ_4K
#define EMPBLK_MAX_BLOCK	SZ_2M
#define EMPBLK_MIN_SUBBLOCK	SZ_4K
#define EMPBLK_MAX_SUBBLOCK	SZ_128K
#define EMPBLK_MAX_QUEUE_DEPTH	4096
#define EMPBLK_MAX_POLL_QUEUES	64
#define EMPBLK_MAX_RESERVE_PAGES	16384
#define EMPBLK_MAX_IO_TIMEOUT	3600	/* seconds */
/* IB local ACK timeout exponent: 4.096 us << n; 0 means the RDMA CM's */
#define EMPBLK_MAX_ACK_TIMEOUT	31
/* larger discards are done by the worker, where they may yield the CPU */
#define EMPBLK_INLINE_DISCARD_MAX	SZ_1M

/**
 * struct empblk_params - everything a device is enabled with
 * @spec: parsed tiers
 * @mem_path: normalised mem_path string
 * @size_mb: capacity in MiB, 0 for the sum of the tiers
 * @block_size: cache and fetch unit in bytes
 * @subblock_size: transfer and striping unit in bytes
 * @queue_depth: tags per hardware queue
 * @poll_queues: extra hardware queues for polled I/O (HCTX_TYPE_POLL)
 * @ack_timeout: local ACK timeout of the queue pairs to donors, as the
 *	exponent n of 4.096 us * 2^n; 0 for the RDMA CM's default
 */
struct empblk_params {
	struct empblk_spec spec;
	char mem_path[EMPBLK_SPEC_MAX];
	u64 size_mb;
	u32 block_size;
	u32 subblock_size;
	u32 queue_depth;
	u32 poll_queues;
	u32 ack_timeout;
};

/*
 * Per-CPU counters, summed when sysfs reads them. Each is one file under
 * /sys/block/empblkN/emp/; see Documentation/ABI/testing/sysfs-block-empblk.
 */
enum empblk_stat_item {
	EMPBLK_STAT_READS,
	EMPBLK_STAT_WRITES,
	EMPBLK_STAT_DISCARDS,
	EMPBLK_STAT_WRITE_ZEROES,
	EMPBLK_STAT_FLUSHES,
	EMPBLK_STAT_READ_BYTES,
	EMPBLK_STAT_WRITE_BYTES,
	EMPBLK_STAT_UNWRITTEN_READS,
	EMPBLK_STAT_NOSPACE_ERRORS,
	EMPBLK_STAT_ALLOC_DEFERRED,
	EMPBLK_STAT_ALLOC_FAILURES,
	EMPBLK_STAT_REMOTE_ERRORS,
	EMPBLK_STAT_CACHE_READ_HITS,
	EMPBLK_STAT_CACHE_READ_MISSES,
	EMPBLK_STAT_CACHE_WRITE_HITS,
	EMPBLK_STAT_CACHE_WRITE_AROUND,
	EMPBLK_STAT_CACHE_EVICTIONS,
	EMPBLK_STAT_CACHE_WRITEBACKS,
	EMPBLK_STAT_CACHE_WRITEBACK_ERRORS,
	EMPBLK_STAT_POLLED_COMPLETIONS,
	EMPBLK_STAT_READ_SINK_REGS,
	EMPBLK_STAT_CHUNK_FREE_FLUSHES,
	EMPBLK_NR_STATS,
};

/**
 * struct empblk_stats - one CPU's counters
 * @v: indexed by enum empblk_stat_item
 */
struct empblk_stats {
	u64 v[EMPBLK_NR_STATS];
};

#define empblk_stat_inc(dev, item)	this_cpu_inc((dev)->stats->v[(item)])
#define empblk_stat_add(dev, item, n)	this_cpu_add((dev)->stats->v[(item)], n)

/*
 * Device state bits in empblk_dev.flags, changed under disk->open_mutex so
 * that they are ordered against ->open and ->release:
 * @EMPBLK_DEV_REMOVING: teardown has begun; new opens fail with ENXIO.
 * @EMPBLK_DEV_ORPHANED: the configfs item is gone while the disk was open;
 *	the last close queues the teardown.
 */
enum empblk_dev_flags {
	EMPBLK_DEV_REMOVING	= 0,
	EMPBLK_DEV_ORPHANED	= 1,
};

/* remote tier: the largest request, and so the most pieces per request */
#define EMPBLK_REMOTE_MAX_BYTES	SZ_128K
#define EMPBLK_REMOTE_MAX_SEGS	(EMPBLK_REMOTE_MAX_BYTES >> PAGE_SHIFT)
/* pieces split at subblock and scatterlist boundaries: at most 2n + 1 */
#define EMPBLK_REMOTE_MAX_SGES	(2 * EMPBLK_REMOTE_MAX_SEGS + 1)
/* one SGE per WR in the worst case (a device allowing only one) */
#define EMPBLK_REMOTE_MAX_WRS	EMPBLK_REMOTE_MAX_SGES
/* pages a request spans, and so the page list of a READ sink MR */
#define EMPBLK_REMOTE_MAX_PAGES	(EMPBLK_REMOTE_MAX_SEGS + 1)

struct empblk_cmd;

/**
 * struct empblk_rwr - one RDMA READ or WRITE of a request
 * @wr: the work request
 * @cqe: its completion
 * @cmd: the request it belongs to
 * @rc: the chunk it holds a reference on (the first WR of each piece),
 *	or NULL
 * @inv_mr: the READ sink MR this READ_WITH_INV invalidates, or NULL
 * @donor: index of the donor it goes to
 */
struct empblk_rwr {
	struct ib_rdma_wr wr;
	struct ib_cqe cqe;
	struct empblk_cmd *cmd;
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
 * @last: index in empblk_cmd.rwrs of the last READ into @mr
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
 * struct empblk_cmd - per-request payload, preallocated by blk-mq
 * @entry: link on empblk_dev.defer_list while deferred
 * @rq: the request (for the worker)
 * @pending: RDMA work requests not yet completed
 * @failed: NULL, or why the first of them failed (a static string)
 * @nents: scatterlist entries DMA mapped (0: not mapped)
 * @holes: pieces of a read (one bit per subblock it touches) that no
 *	chunk backs: zeroed once the pages are unmapped
 * @nwr: work requests posted for the request (0: none in flight); the
 *	timeout handler finds the donors a stuck request waits for here
 * @nmr: entries of @rmrs holding an MR
 * @sgl: the request's pages, mapped for the RDMA device
 * @sges: local segments of the work requests
 * @rwrs: the work requests
 * @rmrs: READ sink registrations, one per donor a read goes to, on donors
 *	that need them (empblk_donor.reg_sinks)
 */
struct empblk_cmd {
	struct list_head entry;
	struct request *rq;
	unsigned int nwr;
	/* remote tier only from here on (cmd_size) */
	atomic_t pending;
	const char *failed;
	int nents;
	unsigned int nmr;
	u64 holes;
	struct scatterlist sgl[EMPBLK_REMOTE_MAX_SEGS];
	struct ib_sge sges[EMPBLK_REMOTE_MAX_SGES];
	struct empblk_rwr rwrs[EMPBLK_REMOTE_MAX_WRS];
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
 */
struct empblk_rchunk {
	u64 addr;
	u32 rkey;
	u32 id;
	atomic_t inflight;
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
	struct list_head sink_mrs;
	unsigned int nr_sink_mrs;
	struct ib_cqe flush_cqe;
	struct completion flush_done;
	bool flush_ok;
};

/*
 * Donor state bits in empblk_donor.flags:
 * @EMPBLK_DONOR_DEAD: a queue disconnected or failed; I/O to the donor
 *	fails fast until the device is recreated.
 * @EMPBLK_DONOR_QPS_ERR: its queue pairs were moved to the error state so
 *	that work requests still in flight flush.
 */
enum empblk_donor_flags {
	EMPBLK_DONOR_DEAD	= 0,
	EMPBLK_DONOR_QPS_ERR	= 1,
};

/**
 * struct empblk_donor - one donor of a device
 * @dev: owner
 * @idx: position in mem_path, and in the stripe
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
 * @wbq: writeback queue, when the device has a DRAM cache (cm_id NULL
 *	otherwise)
 * @tx: admin send buffer, DMA mapped at @tx_dma
 * @rx: admin receive buffer, DMA mapped at @rx_dma
 * @tx_dma: DMA address of @tx
 * @rx_dma: DMA address of @rx
 * @tx_cqe: admin send completion
 * @rx_cqe: admin receive completion
 * @rsp_done: signalled by @rx_cqe
 * @rsp_ok: the receive completed successfully
 * @tag: tag of the last admin request
 * @chunks: chunk table, by donor-local offset >> EMP_CHUNK_SHIFT
 * @nr_chunks: entries in @chunks
 * @chunks_in_use: allocated entries
 */
struct empblk_donor {
	struct empblk_dev *dev;
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

	struct empblk_rchunk *chunks;
	unsigned long nr_chunks;
	atomic_long_t chunks_in_use;
};

/**
 * struct empblk_remote - the remote tier of a device
 * @nr_donors: donors, striped by subblock
 * @donors: the donors
 * @ibdev: the one RDMA device every donor is reached through
 * @sb_shift: log2 of the subblock size, the striping unit
 */
struct empblk_remote {
	unsigned int nr_donors;
	struct empblk_donor *donors;
	struct ib_device *ibdev;
	unsigned int sb_shift;
};

/**
 * struct empblk_wbwr - one RDMA WRITE of a writeback
 * @wr: the work request
 * @cqe: its completion
 * @wb: the writeback it belongs to
 * @donor: index of the donor it goes to
 */
struct empblk_wbwr {
	struct ib_rdma_wr wr;
	struct ib_cqe cqe;
	struct empblk_wb *wb;
	unsigned int donor;
};

/**
 * struct empblk_dram - the local DRAM tier
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
	struct xarray pages;
	unsigned long budget_pages;
	atomic_long_t used_pages;

	spinlock_t reserve_lock;	/* protects reserve, reserve_nr */
	struct list_head reserve;
	unsigned int reserve_nr;
	unsigned int reserve_target;
	struct work_struct refill_work;
};

/**
 * struct empblk_dev - a live device
 * @dram: DRAM tier (read-mostly in the I/O path)
 * @remote: remote tier (no donors: DRAM only)
 * @cache: DRAM cache in front of the remote tier, or NULL
 * @stats: per-CPU counters
 * @disk: the gendisk
 * @defer_lock: protects @defer_list
 * @defer_list: writes waiting for the allocation worker (empblk_cmd.entry)
 * @defer_work: runs deferred writes in a GFP_NOIO scope
 * @flags: enum empblk_dev_flags bits
 * @remove_work: teardown of an orphaned device after its last close
 * @tag_set: blk-mq tag set
 * @params: configuration this device was enabled with (immutable)
 * @index: N of empblkN
 */
struct empblk_dev {
	/* read-mostly in the I/O path */
	struct empblk_dram dram;
	struct empblk_remote remote;
	struct empblk_cache *cache;
	struct empblk_stats __percpu *stats;
	struct gendisk *disk;

	/* allocation slow path */
	spinlock_t defer_lock;		/* protects defer_list */
	struct list_head defer_list;
	struct work_struct defer_work;

	/* control path */
	unsigned long flags;
	struct work_struct remove_work;
	struct blk_mq_tag_set tag_set;
	struct empblk_params params;
	unsigned int index;
};

/**
 * struct empblk_cfg - configfs item of one device
 * @group: configfs group, /sys/kernel/config/empblk/<name>
 * @lock: protects every field below
 * @params: configuration, applied at enable
 * @index: N of empblkN, from the directory name
 * @dev: live device, or NULL while disabled
 */
struct empblk_cfg {
	struct config_group group;
	struct mutex lock;		/* protects all fields below */
	struct empblk_params params;
	unsigned int index;
	struct empblk_dev *dev;
};

/* length of user input to quote in a message: one line, at most 32 bytes */
static inline int empblk_quote_len(const char *buf)
{
	return min_t(size_t, strcspn(buf, "\n"), 32);
}

/* module parameters (defaults for new devices), main.c */
extern unsigned int empblk_default_block_size;
extern unsigned int empblk_default_subblock_size;
extern unsigned int empblk_default_queue_depth;
extern unsigned int empblk_default_poll_queues;
extern unsigned int empblk_default_ack_timeout;
extern unsigned int empblk_reserve_pages;
extern struct workqueue_struct *empblk_wq;

/* main.c */
void empblk_complete_rq(struct empblk_dev *dev, struct request *rq,
			blk_status_t sts);
int empblk_params_validate(const struct empblk_params *p, const char *name);
int empblk_size_parse(const char *buf, u32 min, u32 max, u32 *val,
		      const char *name, const char *attr);
struct empblk_dev *empblk_dev_create(const struct empblk_params *p,
				     unsigned int index);
int empblk_dev_remove(struct empblk_dev *dev, bool orphan_if_busy);

/* dram.c */
int empblk_dram_init(struct empblk_dev *dev, u64 budget_mb);
void empblk_dram_exit(struct empblk_dev *dev);
blk_status_t empblk_dram_rw(struct empblk_dev *dev, struct request *rq,
			    bool may_sleep);
void empblk_dram_free_range(struct empblk_dev *dev, sector_t sector,
			    unsigned int nr_sects, bool keep_pages,
			    bool may_sleep);

/* remote.c */
int empblk_remote_init(struct empblk_dev *dev);
void empblk_remote_exit(struct empblk_dev *dev);
int empblk_remote_rw(struct empblk_dev *dev, struct request *rq,
		     unsigned int hctx_idx, bool may_sleep);
void empblk_remote_discard(struct empblk_dev *dev, struct request *rq);
enum blk_eh_timer_return empblk_remote_timeout(struct empblk_dev *dev,
					       struct request *rq);
int empblk_remote_writeback(struct empblk_dev *dev, struct empblk_wb *wb);
void empblk_remote_fail_all(struct empblk_dev *dev, const char *why);
int empblk_remote_poll(struct empblk_dev *dev, unsigned int hctx_idx);

/* cache.c */
int empblk_cache_init(struct empblk_dev *dev, u64 mb);
void empblk_cache_exit(struct empblk_dev *dev);
u64 empblk_cache_rw(struct empblk_dev *dev, struct request *rq);
void empblk_cache_discard_begin(struct empblk_dev *dev, u64 start, u64 end);
void empblk_cache_discard_end(struct empblk_dev *dev);
void empblk_cache_wb_end(struct empblk_wb *wb, bool ok);

static inline bool empblk_has_remote(struct empblk_dev *dev)
{
	return dev->remote.nr_donors;
}

/* blocks of the DRAM cache a request touches (at most 33: see cache.c) */
static inline unsigned int empblk_rq_blocks(struct empblk_dev *dev,
					    struct request *rq)
{
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	unsigned int shift = dev->cache->blk_shift;

	return ((pos + blk_rq_bytes(rq) - 1) >> shift) - (pos >> shift) + 1;
}

/* donors with dram:MB in front: the DRAM tier is their cache */
static inline bool empblk_wants_cache(const struct empblk_params *p)
{
	return p->spec.nr_donors && p->spec.dram_mb;
}

/* configfs.c */
int empblk_configfs_init(void);
void empblk_configfs_exit(void);
int empblk_configfs_add_param_dev(const char *mem_path);

/* sysfs.c */
extern const struct attribute_group *empblk_disk_groups[];

#endif /* EMPBLK_H */
