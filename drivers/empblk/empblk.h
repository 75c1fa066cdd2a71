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
 *   struct empblk_tier - one tier of the device's stack (tier.h): what
 *                        serves its requests.
 *   struct empblk_cmd  - per-request payload, preallocated by blk-mq
 *                        (tier.h), followed by each tier's own state.
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

#include "spec.h"
#include "tier.h"

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
/* a lost donor: seconds between reconnect attempts, and until given up */
#define EMPBLK_DEFAULT_RECONNECT_DELAY	10
#define EMPBLK_DEFAULT_LOSS_TIMEOUT	600
#define EMPBLK_MAX_RECONNECT_DELAY	3600
#define EMPBLK_MAX_LOSS_TIMEOUT		86400
#define EMPBLK_MAX_REPLICAS		2
/* MiB/s the rebuild of degraded extents copies at most (0: no cap) */
#define EMPBLK_DEFAULT_REBUILD_RATE_MB	256
#define EMPBLK_MAX_REBUILD_RATE_MB	1048576U
/* keep-alive timeout (s) asked of donors: an admin message every half */
#define EMPBLK_KATO_S			10

/*
 * The status a tier ends a request (its part of it) with when a backend
 * it needs is reconnecting: not an error, and never passed to the block
 * layer (no BLK_STS_* has this value): empblk_complete_rq() requeues the
 * request, to be run again once the backend is back or given up.
 */
#define EMPBLK_STS_RETRY	((__force blk_status_t)0xfe)
/* ... or at once: a read that failed runs again on another copy */
#define EMPBLK_STS_AGAIN	((__force blk_status_t)0xfd)
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
 * @placement: where new extents go on the donors and SSDs (enum
 *	empblk_placement)
 * @reconnect_delay: seconds between attempts to reconnect a lost donor
 * @loss_timeout: seconds a lost donor may take to come back, its I/O held
 *	meanwhile, before it is given up and its I/O fails; 0: at once
 * @replicas: copies of every extent, each on a different backend (1 or
 *	EMPBLK_MAX_REPLICAS)
 * @rebuild_rate_mb: MiB/s the rebuild of extents that lost a copy copies
 *	at most, 0 for no cap; the one value that may change while the
 *	device is enabled (read with READ_ONCE())
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
	u32 placement;
	u32 reconnect_delay;
	u32 loss_timeout;
	u32 replicas;
	u32 rebuild_rate_mb;
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
	EMPBLK_STAT_CACHE_WRITEBACK_IOS,
	EMPBLK_STAT_CACHE_FETCHES,
	EMPBLK_STAT_CACHE_FETCHED,
	EMPBLK_STAT_CACHE_FETCH_DROPS,
	EMPBLK_STAT_CACHE_FETCH_BYPASS,
	EMPBLK_STAT_POLLED_COMPLETIONS,
	EMPBLK_STAT_READ_SINK_REGS,
	EMPBLK_STAT_CHUNK_FREE_FLUSHES,
	EMPBLK_STAT_SSD_ERRORS,
	EMPBLK_STAT_ZERO_PAGE_WRITES,
	EMPBLK_STAT_ZERO_PAGE_READS,
	EMPBLK_STAT_RETRIED_REQUESTS,
	EMPBLK_STAT_DONOR_RECONNECTS,
	EMPBLK_STAT_LOST_READS,
	EMPBLK_STAT_WRITE_FENCES,
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

/**
 * struct empblk_dev - a live device
 * @tier: the top of its tier stack (tier.h)
 * @stats: per-CPU counters
 * @disk: the gendisk
 * @defer_lock: protects @defer_list
 * @defer_list: requests waiting for the worker (empblk_cmd.entry)
 * @defer_work: runs deferred requests in a GFP_NOIO scope
 * @flags: enum empblk_dev_flags bits
 * @remove_work: teardown of an orphaned device after its last close
 * @tag_set: blk-mq tag set
 * @params: configuration this device was enabled with (immutable)
 * @index: N of empblkN
 * @backends_dir: /sys/block/empblkN/backends, or NULL
 * @backend_kobjs: its entries, one per backend
 */
struct empblk_dev {
	/* read-mostly in the I/O path */
	struct empblk_tier *tier;
	struct empblk_stats __percpu *stats;
	struct gendisk *disk;

	/* slow path */
	spinlock_t defer_lock;		/* protects defer_list */
	struct list_head defer_list;
	struct work_struct defer_work;

	/* control path */
	unsigned long flags;
	struct work_struct remove_work;
	struct blk_mq_tag_set tag_set;
	struct empblk_params params;
	unsigned int index;
	struct kobject *backends_dir;
	struct kobject *backend_kobjs[EMPBLK_MAX_DONORS + EMPBLK_MAX_SSDS];
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
extern struct workqueue_struct *empblk_submit_wq;
extern struct workqueue_struct *empblk_conn_wq;

/* main.c */
void empblk_complete_rq(struct empblk_dev *dev, struct request *rq,
			blk_status_t sts);
void empblk_complete_rq_lost(struct empblk_dev *dev, struct request *rq,
			     blk_status_t sts, const unsigned long *lost);
/* remote_dev.c: RDMA devices going away */
int empblk_remote_init(void);
void empblk_remote_exit(void);
int empblk_params_validate(const struct empblk_params *p, const char *name);
int empblk_size_parse(const char *buf, u32 min, u32 max, u32 *val,
		      const char *name, const char *attr);
struct empblk_dev *empblk_dev_create(const struct empblk_params *p,
				     unsigned int index);
int empblk_dev_remove(struct empblk_dev *dev, bool orphan_if_busy);

/* configfs.c */
int empblk_configfs_init(void);
void empblk_configfs_exit(void);
int empblk_configfs_add_param_dev(const char *mem_path);

/* sysfs.c */
extern const struct attribute_group *empblk_disk_groups[];
int empblk_sysfs_add(struct empblk_dev *dev);
void empblk_sysfs_del(struct empblk_dev *dev);

#endif /* EMPBLK_H */
