/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tier interface: what the device asks of the memory behind it.
 *
 * A device serves every request through a stack of tiers, top first.
 * Every stack has the zero-page layer (zero.c) on top; under it:
 *
 *	dram:MB                 DRAM tier alone
 *	IP:MB:PORT|/dev/...     stripe set -> remote tier, SSD tier
 *	dram:MB|IP:MB:PORT|...  DRAM cache layer -> stripe set -> ...
 *
 * The stripe set (stripe.c) places the device's space on backends,
 * donors and SSD entries, and hands each request to its members: the
 * remote tier for every donor, the SSD tier for every SSD entry. Members
 * follow it in the stack, end requests through it (empblk_tier_end_rq())
 * and serve only their own backends' parts (empblk_stripe_locate()).
 *
 * Each tier is a struct empblk_tier with an ops table; main.c dispatches
 * to the top tier through it and names no tier. A layer (the DRAM cache)
 * serves what it can and passes the rest to the tier below it
 * (empblk_tier.next) through the same ops, and writes its own pages back
 * through ->write_pages. tier.c builds the stack from the mem_path and is
 * the one place that knows which tiers exist. See
 * Documentation/design/tiers.rst.
 */
#ifndef EMPBLK_TIER_H
#define EMPBLK_TIER_H

#include <linux/bitmap.h>
#include <linux/blk-mq.h>
#include <linux/sizes.h>
#include <linux/types.h>

/* the largest request of any stack, and so its most pages */
#define EMPBLK_MAX_RQ_BYTES	SZ_1M
#define EMPBLK_MAX_RQ_PAGES	(EMPBLK_MAX_RQ_BYTES >> PAGE_SHIFT)

struct empblk_dev;
struct empblk_limits;
struct empblk_params;
struct empblk_tier;
struct page;

/**
 * struct empblk_usage - memory a device's tiers hold, for sysfs
 * @dram_budget: bytes of DRAM the device may hold (tier or cache)
 * @dram_used: bytes of DRAM it holds now
 * @dram_dirty: bytes of the DRAM cache not yet on the tier below
 * @reserve_pages: emergency pages held for writes
 * @donors: donors in the mem_path
 * @donors_connected: donors not lost
 * @donors_reconnecting: donors whose lost connection is being resumed
 * @remote_bytes_in_use: donor memory allocated to the device
 * @read_sinks: how RDMA READs land: "local", "registered" or "none"
 * @ssds: SSD entries in the mem_path
 * @zero_pages: pages held as zero pages (a bit each, nothing below)
 * @backends_failed: backends given up for good
 * @lost_bytes: data lost with failed backends and not written since
 * @degraded_bytes: device space with a copy lost and another left
 * @rebuild_state: what the rebuild of that space does: "idle",
 *	"running", "no-space" or "waiting"
 * @rebuild_bytes: bytes the rebuild copied since the device started
 */
struct empblk_usage {
	u64 dram_budget;
	u64 dram_used;
	u64 dram_dirty;
	u32 reserve_pages;
	u32 donors;
	u32 donors_connected;
	u32 donors_reconnecting;
	u64 remote_bytes_in_use;
	const char *read_sinks;
	u32 ssds;
	u64 zero_pages;
	u32 backends_failed;
	u64 lost_bytes;
	u64 degraded_bytes;
	const char *rebuild_state;
	u64 rebuild_bytes;
};

/**
 * struct empblk_pio - I/O of a layer's own pages to the tier below it
 * @pos: device byte offset of the first page
 * @pages: the pages, consecutive in the device
 * @nr_pages: entries in @pages
 * @end_io: called once when the I/O is over, in process or softirq
 *	context (never hardirq), with whether it succeeded
 * @private: the layer's
 * @tier_data: the lower tier's state for this I/O,
 *	empblk_tier_ops.pio_size() bytes, allocated by the layer with the
 *	slot (never in the I/O path)
 *
 * A DRAM cache writes its dirty blocks back, and fetches blocks a read
 * missed, with these.
 */
struct empblk_pio {
	u64 pos;
	struct page **pages;
	unsigned int nr_pages;
	void (*end_io)(struct empblk_pio *pio, bool ok);
	void *private;
	void *tier_data;
};

/**
 * struct empblk_tier_ops - what a tier does
 * @name: for messages
 * @cmd_size: bytes of per-request state the tier keeps (preallocated by
 *	blk-mq with the request; see empblk_tier_pdu())
 * @limits: tighten the queue limits to what the tier can serve
 *	(optional)
 * @start: connect, allocate what serving needs; the tiers below are
 *	started already (optional)
 * @stop: undo @start; no request is left and the tiers below still run
 *	(optional)
 * @destroy: free the tier (after @stop, or when @start never ran)
 * @init_request: set up the tier's per-request state once per tag
 *	(optional)
 * @rw: serve a read or write
 * @discard: serve a discard or write-zeroes
 * @flush: serve a flush (optional: completed at once, as every completed
 *	write is in memory that lives as long as the device)
 * @poll: reap the completions of polled hardware queue @hctx_idx; return
 *	how many (optional: nothing completes asynchronously)
 * @timeout: a request outlived queue/io_timeout (optional: the timer
 *	is reset, as nothing can be stuck)
 * @abort: give up on everything in flight so that it completes, with
 *	errors where it must (optional)
 * @pio_size: bytes of state the tier needs per struct empblk_pio of
 *	@nr_pages pages (required with @write_pages)
 * @write_pages: write a layer's pages; 0 once under way (@pio's end_io
 *	reports the outcome) or a negative errno with nothing under way.
 *	May sleep: the caller is a worker in a NOIO scope (optional: the
 *	tier cannot be below a write-back layer)
 * @read_pages: read pages for a layer (a DRAM cache fetching a whole
 *	block), as @write_pages does; space never written reads as
 *	zeroes; may end the page I/O before it returns (optional: the layer
 *	does not fetch; -EOPNOTSUPP: not on this device)
 * @usage: add what the tier holds (optional)
 * @end_rq: (a stripe set) a member ended its part of a request
 * @rq_end: a request this layer asked to hear of (empblk_cmd.end_notify)
 *	ended, in whatever context it ended
 * @claim: (a stripe set's member) make extent @ext of backend @idx ready
 *	to hold data; may sleep; -ENOSPC when the backend has no room
 *	(optional: nothing to do)
 * @release: (a member) give extent @ext of backend @idx back; no I/O uses
 *	it; may sleep
 * @trim: (a member, optional) the @len bytes at @off of backend @idx hold
 *	nothing anymore; may sleep
 *
 * @rw, @discard and @flush are called from queue_rq with @may_sleep
 * false, where they must neither sleep nor allocate beyond GFP_NOWAIT.
 * They return 0 once the request is taken care of: completed with
 * empblk_complete_rq(), or under way and completed from there. Work that
 * needs to sleep returns -EAGAIN with the request untouched (beyond
 * idempotent work); the device's worker calls again with @may_sleep
 * true, in a NOIO scope.
 */
struct empblk_tier_ops {
	const char *name;
	size_t cmd_size;
	void (*limits)(struct empblk_tier *t, struct empblk_limits *lim);
	int (*start)(struct empblk_tier *t);
	void (*stop)(struct empblk_tier *t);
	void (*destroy)(struct empblk_tier *t);
	void (*init_request)(struct empblk_tier *t, struct request *rq,
			     void *pdu);
	int (*rw)(struct empblk_tier *t, struct request *rq, bool may_sleep);
	int (*discard)(struct empblk_tier *t, struct request *rq,
		       bool may_sleep);
	int (*flush)(struct empblk_tier *t, struct request *rq,
		     bool may_sleep);
	int (*poll)(struct empblk_tier *t, unsigned int hctx_idx);
	enum blk_eh_timer_return (*timeout)(struct empblk_tier *t,
					    struct request *rq);
	void (*abort)(struct empblk_tier *t, const char *why);
	size_t (*pio_size)(struct empblk_tier *t, unsigned int nr_pages);
	int (*write_pages)(struct empblk_tier *t, struct empblk_pio *pio);
	int (*read_pages)(struct empblk_tier *t, struct empblk_pio *pio);
	void (*usage)(struct empblk_tier *t, struct empblk_usage *u);
	void (*end_rq)(struct empblk_tier *t, struct request *rq,
		       blk_status_t sts);
	void (*rq_end)(struct empblk_tier *t, struct request *rq);
	int (*claim)(struct empblk_tier *t, unsigned int idx, u64 ext);
	void (*release)(struct empblk_tier *t, unsigned int idx, u64 ext);
	void (*trim)(struct empblk_tier *t, unsigned int idx, u64 off,
		     u64 len);
};

/**
 * struct empblk_tier - one tier of a device
 * @ops: what it does
 * @dev: the device
 * @next: the tier below (a layer's backing tier, or a stripe set's
 *	first member, or a member's next one), or NULL
 * @up: the stripe set of a member, or NULL
 * @pdu_offset: where its per-request state starts, after struct
 *	empblk_cmd
 */
struct empblk_tier {
	const struct empblk_tier_ops *ops;
	struct empblk_dev *dev;
	struct empblk_tier *next;
	struct empblk_tier *up;
	unsigned int pdu_offset;
};

/**
 * struct empblk_cmd - per-request payload, preallocated by blk-mq
 * @entry: link on empblk_dev.defer_list while deferred to the worker
 * @rq: the request
 * @served: pages of the request a layer above already served (bit i:
 *	its i-th page; requests are whole, aligned pages); the tiers below
 *	skip them. Cleared each time the request enters the stack.
 * @end_notify: a layer to tell (->rq_end) when the request ends, or
 *	NULL; set at most once per request, cleared when it ends
 *
 * The tiers' own state follows, each at its empblk_tier.pdu_offset.
 */
struct empblk_cmd {
	struct list_head entry;
	struct request *rq;
	struct empblk_tier *end_notify;
	DECLARE_BITMAP(served, EMPBLK_MAX_RQ_PAGES);
};

/* a tier's per-request state in @rq */
static inline void *empblk_tier_pdu(const struct empblk_tier *t,
				    struct request *rq)
{
	return (char *)blk_mq_rq_to_pdu(rq) + sizeof(struct empblk_cmd) +
	       t->pdu_offset;
}

/* pages in @rq */
static inline unsigned int empblk_rq_pages(struct request *rq)
{
	return blk_rq_bytes(rq) >> PAGE_SHIFT;
}

/* index in @rq of the page holding device offset @pos */
static inline unsigned int empblk_rq_page(struct request *rq, u64 pos)
{
	return (pos >> PAGE_SHIFT) -
	       (blk_rq_pos(rq) >> (PAGE_SHIFT - SECTOR_SHIFT));
}

/* whether a layer above served the byte at device offset @pos of @rq */
static inline bool empblk_rq_served(struct request *rq, u64 pos)
{
	struct empblk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	return test_bit(empblk_rq_page(rq, pos), cmd->served);
}

/* whether layers above served every page of @rq */
static inline bool empblk_rq_all_served(struct request *rq)
{
	struct empblk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	return bitmap_full(cmd->served, empblk_rq_pages(rq));
}

/**
 * empblk_rq_piece() - the next piece of a request a tier handles whole
 * @rq: the request
 * @pos: device offset where the piece starts, inside @rq
 * @unit: the tier's unit (a power of two >= PAGE_SIZE): no piece crosses
 *	one of its boundaries
 *
 * A piece also ends where the pages served above change from served to
 * not or back, so that a piece is served above as a whole or not at all.
 *
 * Return: its length in bytes.
 */
static inline u64 empblk_rq_piece(struct request *rq, u64 pos, u64 unit)
{
	u64 end = ((u64)blk_rq_pos(rq) << SECTOR_SHIFT) + blk_rq_bytes(rq);
	bool served = empblk_rq_served(rq, pos);
	u64 p = round_down(pos, PAGE_SIZE) + PAGE_SIZE;

	end = min(end, round_down(pos, unit) + unit);
	while (p < end && empblk_rq_served(rq, p) == served)
		p += PAGE_SIZE;
	return min(p, end) - pos;
}

/* tier.c */
void empblk_tier_end_rq(struct empblk_tier *t, struct request *rq,
			blk_status_t sts);
void empblk_rq_zero_range(struct request *rq, u64 off, u64 len);
void empblk_rq_zero_pages(struct request *rq, const unsigned long *pages);
int empblk_tiers_validate(const struct empblk_params *p, const char *name);
u64 empblk_capacity_mb(const struct empblk_params *p);
struct empblk_tier *empblk_tiers_create(struct empblk_dev *dev,
					struct empblk_limits *lim,
					unsigned int *cmd_size);
int empblk_tiers_start(struct empblk_tier *t);
void empblk_tiers_stop(struct empblk_tier *t);
void empblk_tiers_destroy(struct empblk_tier *t);
void empblk_tiers_usage(struct empblk_tier *t, struct empblk_usage *u);
const char *empblk_health(const struct empblk_usage *u);
int empblk_tier_poll(struct empblk_tier *t, unsigned int hctx_idx);
int empblk_tier_flush(struct empblk_tier *t, struct request *rq,
		      bool may_sleep);
enum blk_eh_timer_return empblk_tier_timeout(struct empblk_tier *t,
					     struct request *rq);
void empblk_tier_abort(struct empblk_tier *t, const char *why);

/* a layer's ops that pass to the tier below */
int empblk_layer_flush(struct empblk_tier *t, struct request *rq,
		       bool may_sleep);
int empblk_layer_poll(struct empblk_tier *t, unsigned int hctx_idx);
enum blk_eh_timer_return empblk_layer_timeout(struct empblk_tier *t,
					      struct request *rq);
void empblk_layer_abort(struct empblk_tier *t, const char *why);

/* the tiers' constructors, for tier.c */
struct empblk_tier *empblk_dram_tier_create(struct empblk_dev *dev,
					    u64 budget_mb);
struct empblk_tier *empblk_remote_tier_create(struct empblk_dev *dev,
					      unsigned int pio_slots,
					      unsigned int pio_pages);
struct empblk_tier *empblk_ssd_tier_create(struct empblk_dev *dev);
struct empblk_tier *empblk_zero_tier_create(struct empblk_dev *dev,
					    u64 capacity,
					    struct empblk_tier *next);
struct empblk_tier *empblk_cache_tier_create(struct empblk_dev *dev,
					     u64 mb, struct empblk_tier *next);
struct empblk_tier *empblk_stripe_tier_create(struct empblk_dev *dev,
					      struct empblk_tier *remote,
					      struct empblk_tier *ssd);

/* stripe.c, for its members and sysfs */
struct empblk_place;
struct empblk_stuse;
const struct empblk_stuse *empblk_stripe_rq_refs(struct empblk_tier *member,
						 struct request *rq);
const struct empblk_stuse *empblk_stripe_pio_refs(struct empblk_pio *pio);
bool empblk_stripe_locate(struct empblk_tier *member,
			  const struct empblk_stuse *use, u64 pos,
			  unsigned int *idx, u64 *off);
struct empblk_place *empblk_stripe_place(struct empblk_tier *top);
void empblk_stripe_backend_failed(struct empblk_tier *member,
				  unsigned int idx);
void empblk_stripe_backend_busy(struct empblk_tier *member, unsigned int idx,
				bool busy);

#endif /* EMPBLK_TIER_H */
