// SPDX-License-Identifier: GPL-2.0
/*
 * empblk: a blk-mq block device that serves swap from far memory.
 *
 * This file holds the module parameters, the blk-mq operations and the
 * creation and teardown of a live device. Configuration is in configfs.c,
 * statistics in sysfs.c; requests are served by the device's tier stack
 * (tier.h), which this file reaches only through its operations.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "empblk.h"
#include "compat.h"

static char *g_mem_path;
module_param_named(mem_path, g_mem_path, charp, 0444);
MODULE_PARM_DESC(mem_path,
		 "Create and enable empblk0 at load with this tier spec (e.g. \"dram:512\"). Default: none");

unsigned int empblk_default_block_size = SZ_4K;
module_param_named(block_size, empblk_default_block_size, uint, 0444);
MODULE_PARM_DESC(block_size,
		 "Default block (cache and fetch unit) size in bytes, 4096..2097152. Default: 4096");

unsigned int empblk_default_subblock_size = SZ_4K;
module_param_named(subblock_size, empblk_default_subblock_size, uint, 0444);
MODULE_PARM_DESC(subblock_size,
		 "Default subblock (transfer unit) size in bytes, 4096..131072. Default: 4096");

unsigned int empblk_default_queue_depth = 128;
module_param_named(queue_depth, empblk_default_queue_depth, uint, 0444);
MODULE_PARM_DESC(queue_depth,
		 "Default tags per hardware queue, 1..4096. Default: 128");

unsigned int empblk_default_poll_queues;
module_param_named(poll_queues, empblk_default_poll_queues, uint, 0444);
MODULE_PARM_DESC(poll_queues,
		 "Default number of polled hardware queues (for io_uring IOPOLL), 0..64. Default: 0");

unsigned int empblk_default_ack_timeout;
module_param_named(ack_timeout, empblk_default_ack_timeout, uint, 0444);
MODULE_PARM_DESC(ack_timeout,
		 "Default RDMA local ACK timeout of new devices' donor connections, as n in 4.096 us * 2^n, 0..31; 0 keeps the RDMA CM's. Default: 0");

unsigned int empblk_reserve_pages = 256;
module_param_named(reserve_pages, empblk_reserve_pages, uint, 0444);
MODULE_PARM_DESC(reserve_pages,
		 "Emergency pages kept per device for writes when the host cannot allocate, 0..16384. Default: 256");

static unsigned int empblk_io_timeout = 30;
module_param_named(io_timeout, empblk_io_timeout, uint, 0444);
MODULE_PARM_DESC(io_timeout,
		 "Seconds a request may take before the device gives up on its donors (queue/io_timeout of new devices), 1..3600. Default: 30");

/* deferred writes, reserve refill and orphan teardown; usable in reclaim */
struct workqueue_struct *empblk_wq;
/*
 * Submission to the SSDs (ssd.c), apart from empblk_wq: a deferred request
 * or discard in empblk_wq may wait for requests whose bios are still to
 * be submitted (placement.c), and under memory pressure one rescuer runs
 * a workqueue's items one at a time.
 */
struct workqueue_struct *empblk_submit_wq;
/*
 * Donor reconnection and keep-alives (remote_conn.c): an attempt waits for
 * the network for seconds, and swap-ins wait for it under reclaim.
 */
struct workqueue_struct *empblk_conn_wq;

/*
 * Devices by index (N of empblkN), from creation until the end of their
 * teardown: an orphan keeps its index until deleted, and a device whose
 * teardown has begun keeps it until its last resource is freed. Waiters
 * for an index held by a dying device sleep on empblk_devs_wq.
 */
static DEFINE_XARRAY(empblk_devs);
static DECLARE_WAIT_QUEUE_HEAD(empblk_devs_wq);

/* the device holding @index is being torn down */
static bool empblk_index_dying(unsigned int index)
{
	struct empblk_dev *old;
	bool dying;

	/* the holder is freed only after it is erased, under this lock */
	xa_lock(&empblk_devs);
	old = xa_load(&empblk_devs, index);
	dying = old && test_bit(EMPBLK_DEV_REMOVING, &old->flags);
	xa_unlock(&empblk_devs);
	return dying;
}

/*
 * Take @index for @dev. An index whose device is being torn down (the
 * last close of an orphan queued it: its disk may already be gone from
 * sysfs) is waited for, so that closing an orphan and enabling its name
 * again never fails on a teardown still running.
 */
static int empblk_index_claim(struct empblk_dev *dev, unsigned int index)
{
	int ret;

	for (;;) {
		ret = xa_insert(&empblk_devs, index, dev, GFP_KERNEL);
		if (ret != -EBUSY)
			return ret;
		if (!empblk_index_dying(index))
			return -EEXIST;
		ret = wait_event_killable(empblk_devs_wq,
					  !empblk_index_dying(index));
		if (ret)
			return ret;
	}
}

static void empblk_index_release(unsigned int index)
{
	xa_erase(&empblk_devs, index);
	wake_up_all(&empblk_devs_wq);
}

/**
 * empblk_size_parse() - parse a block or subblock size
 * @buf: user input, decimal bytes with an optional K or M suffix
 * @min: smallest value allowed
 * @max: largest value allowed
 * @val: result
 * @name: device name for messages
 * @attr: attribute name for messages
 *
 * Return: 0, or -EINVAL with the reason logged.
 */
int empblk_size_parse(const char *buf, u32 min, u32 max, u32 *val,
		      const char *name, const char *attr)
{
	char *end;
	u64 v;

	v = memparse(buf, &end);
	if (end == buf || (*end && *end != '\n') ||
	    (*end == '\n' && end[1])) {
		pr_err("%s: %s \"%.*s\" is not a size (bytes, K or M)\n",
		       name, attr, empblk_quote_len(buf), buf);
		return -EINVAL;
	}
	if (v < min || v > max || !is_power_of_2(v)) {
		pr_err("%s: %s %llu must be a power of two in %u..%u\n",
		       name, attr, v, min, max);
		return -EINVAL;
	}
	*val = v;
	return 0;
}

/**
 * empblk_params_validate() - check a whole configuration before enable
 * @p: parameters
 * @name: device name for messages
 *
 * Attributes are checked one by one as they are written; this checks what
 * only makes sense together.
 *
 * Return: 0 or -EINVAL with the reason logged.
 */
int empblk_params_validate(const struct empblk_params *p, const char *name)
{
	if (!p->spec.total_mb) {
		pr_err("%s: mem_path is not set\n", name);
		return -EINVAL;
	}
	if (p->subblock_size > p->block_size) {
		pr_err("%s: subblock_size %u is larger than block_size %u\n",
		       name, p->subblock_size, p->block_size);
		return -EINVAL;
	}
	return empblk_tiers_validate(p, name);
}

/* The request path. Nothing here allocates or sleeps. */

static void empblk_defer(struct empblk_dev *dev, struct request *rq)
{
	struct empblk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	spin_lock(&dev->defer_lock);
	list_add_tail(&cmd->entry, &dev->defer_list);
	spin_unlock(&dev->defer_lock);
	queue_work(empblk_wq, &dev->defer_work);
}

static void empblk_account(struct empblk_dev *dev, struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
		empblk_stat_inc(dev, EMPBLK_STAT_READS);
		empblk_stat_add(dev, EMPBLK_STAT_READ_BYTES, blk_rq_bytes(rq));
		break;
	case REQ_OP_WRITE:
		empblk_stat_inc(dev, EMPBLK_STAT_WRITES);
		empblk_stat_add(dev, EMPBLK_STAT_WRITE_BYTES, blk_rq_bytes(rq));
		break;
	case REQ_OP_DISCARD:
		empblk_stat_inc(dev, EMPBLK_STAT_DISCARDS);
		break;
	case REQ_OP_WRITE_ZEROES:
		empblk_stat_inc(dev, EMPBLK_STAT_WRITE_ZEROES);
		break;
	case REQ_OP_FLUSH:
		empblk_stat_inc(dev, EMPBLK_STAT_FLUSHES);
		break;
	default:
		break;
	}
}

/*
 * Serve one request through the tier stack: the top tier completes it, or
 * starts it and completes it later. From queue_rq (@may_sleep false)
 * nothing sleeps or allocates beyond GFP_NOWAIT; work that needs more
 * (memory or a donor chunk for a write, a discard that frees donor
 * memory or is long enough to hog the CPU) returns -EAGAIN without
 * touching the request, and the worker redoes it with @may_sleep true.
 */
static int empblk_handle_rq(struct empblk_dev *dev, struct request *rq,
			    bool may_sleep)
{
	struct empblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct empblk_tier *t = dev->tier;

	bitmap_zero(cmd->served, EMPBLK_MAX_RQ_PAGES);
	switch (req_op(rq)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
		return t->ops->rw(t, rq, may_sleep);
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		return t->ops->discard(t, rq, may_sleep);
	case REQ_OP_FLUSH:
		return empblk_tier_flush(t, rq, may_sleep);
	default:
		empblk_complete_rq(dev, rq, BLK_STS_NOTSUPP);
		return 0;
	}
}

/**
 * empblk_complete_rq() - account and end a request
 * @dev: device
 * @rq: request
 * @sts: its status; EMPBLK_STS_RETRY requeues it instead, to run again
 *	in a second or when the donor it waits for is back (the reconnect
 *	kicks the requeue list); EMPBLK_STS_AGAIN, to run again at once
 */
void empblk_complete_rq(struct empblk_dev *dev, struct request *rq,
			blk_status_t sts)
{
	empblk_complete_rq_lost(dev, rq, sts, NULL);
}

/* End each bio of @rq: with an I/O error if it reads a page in @lost. */
static void empblk_end_bios(struct request *rq, const unsigned long *lost)
{
	unsigned int page = 0;

	/* counted (lost_reads) and logged once per backend, not per bio */
	rq->rq_flags |= RQF_QUIET;
	while (rq->bio) {
		/* bios are whole pages: the logical block size is a page */
		unsigned int bytes = rq->bio->bi_iter.bi_size;
		unsigned int end = page + (bytes >> PAGE_SHIFT);
		blk_status_t sts = find_next_bit(lost, end, page) < end ?
				   BLK_STS_IOERR : BLK_STS_OK;

		page = end;
		if (!blk_update_request(rq, sts, bytes))
			break;
	}
	__blk_mq_end_request(rq, BLK_STS_OK);
}

/**
 * empblk_complete_rq_lost() - end a read some of whose pages were lost
 * @dev: device
 * @rq: request
 * @sts: as for empblk_complete_rq()
 * @lost: NULL, or bit i set when the i-th page of @rq was lost with a
 *	failed backend
 *
 * With @sts BLK_STS_OK, each bio that reads a lost page fails and the
 * others succeed: a swap-in merged with a lost neighbour survives it.
 */
void empblk_complete_rq_lost(struct empblk_dev *dev, struct request *rq,
			     blk_status_t sts, const unsigned long *lost)
{
	struct empblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct empblk_tier *t = cmd->end_notify;

	if (t) {
		cmd->end_notify = NULL;
		t->ops->rq_end(t, rq);
	}
	/* a device being removed waits for no donor */
	if ((sts == EMPBLK_STS_RETRY || sts == EMPBLK_STS_AGAIN) &&
	    test_bit(EMPBLK_DEV_REMOVING, &dev->flags))
		sts = BLK_STS_IOERR;
	if (sts == EMPBLK_STS_RETRY || sts == EMPBLK_STS_AGAIN) {
		/* a donor is reconnecting: run it again in a while */
		empblk_stat_inc(dev, EMPBLK_STAT_RETRIED_REQUESTS);
		blk_mq_requeue_request(rq, false);
		blk_mq_delay_kick_requeue_list(rq->q, sts == EMPBLK_STS_AGAIN ?
					       0 : MSEC_PER_SEC);
		return;
	}
	if (sts == BLK_STS_OK)
		empblk_account(dev, rq);
	if (sts == BLK_STS_OK && lost) {
		empblk_stat_inc(dev, EMPBLK_STAT_LOST_READS);
		empblk_end_bios(rq, lost);
		return;
	}
	blk_mq_end_request(rq, sts);
}

static blk_status_t empblk_queue_rq(struct blk_mq_hw_ctx *hctx,
				    const struct blk_mq_queue_data *bd)
{
	struct empblk_dev *dev = hctx->queue->queuedata;
	struct request *rq = bd->rq;

	blk_mq_start_request(rq);
	if (empblk_handle_rq(dev, rq, false) == -EAGAIN) {
		if (req_op(rq) == REQ_OP_WRITE)
			empblk_stat_inc(dev, EMPBLK_STAT_ALLOC_DEFERRED);
		empblk_defer(dev, rq);
	}
	return BLK_STS_OK;
}

/* The worker: finishes requests that need to sleep, in a NOIO scope. */
static void empblk_defer_work(struct work_struct *work)
{
	struct empblk_dev *dev = container_of(work, struct empblk_dev,
					      defer_work);
	unsigned int noio = memalloc_noio_save();
	struct empblk_cmd *cmd;

	for (;;) {
		spin_lock(&dev->defer_lock);
		cmd = list_first_entry_or_null(&dev->defer_list,
					       struct empblk_cmd, entry);
		if (cmd)
			list_del_init(&cmd->entry);
		spin_unlock(&dev->defer_lock);
		if (!cmd)
			break;
		/* a tier that may sleep has no reason to ask again */
		if (WARN_ON_ONCE(empblk_handle_rq(dev, cmd->rq, true)))
			empblk_complete_rq(dev, cmd->rq, BLK_STS_IOERR);
		cond_resched();
	}
	memalloc_noio_restore(noio);
}

static int empblk_init_request(struct blk_mq_tag_set *set,
			       struct request *rq, unsigned int hctx_idx,
			       unsigned int numa_node)
{
	struct empblk_dev *dev = set->driver_data;
	struct empblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct empblk_tier *t;

	INIT_LIST_HEAD(&cmd->entry);
	cmd->rq = rq;
	cmd->end_notify = NULL;
	bitmap_zero(cmd->served, EMPBLK_MAX_RQ_PAGES);
	for (t = dev->tier; t; t = t->next)
		if (t->ops->init_request)
			t->ops->init_request(t, rq, empblk_tier_pdu(t, rq));
	return 0;
}

/*
 * Hardware queues: one per possible CPU for interrupt-driven I/O, then
 * poll_queues more for polled I/O (as null_blk and nvme lay them out).
 */
static void empblk_map_queues(struct blk_mq_tag_set *set)
{
	struct empblk_dev *dev = set->driver_data;
	unsigned int i, qoff = 0;

	for (i = 0; i < set->nr_maps; i++) {
		struct blk_mq_queue_map *map = &set->map[i];

		switch (i) {
		case HCTX_TYPE_DEFAULT:
			map->nr_queues = nr_cpu_ids;
			break;
		case HCTX_TYPE_POLL:
			map->nr_queues = dev->params.poll_queues;
			break;
		default:
			map->nr_queues = 0;
			continue;
		}
		map->queue_offset = qoff;
		qoff += map->nr_queues;
		blk_mq_map_queues(map);
	}
}

/* Reap the completions of a polled hardware queue. */
static int empblk_poll(struct blk_mq_hw_ctx *hctx, struct io_comp_batch *iob)
{
	struct empblk_dev *dev = hctx->queue->queuedata;

	return empblk_tier_poll(dev->tier, hctx->queue_num);
}

static enum blk_eh_timer_return empblk_timeout(struct request *rq)
{
	struct empblk_dev *dev = rq->q->queuedata;

	/* a polled request nobody polls for any more: reap it here */
	if (rq->mq_hctx->type == HCTX_TYPE_POLL) {
		empblk_tier_poll(dev->tier, rq->mq_hctx->queue_num);
		/* blk_mq_end_request() leaves it idle, not complete */
		if (blk_mq_rq_state(rq) != MQ_RQ_IN_FLIGHT)
			return BLK_EH_DONE;
	}
	return empblk_tier_timeout(dev->tier, rq);
}

static const struct blk_mq_ops empblk_mq_ops = {
	.queue_rq	= empblk_queue_rq,
	.init_request	= empblk_init_request,
	.timeout	= empblk_timeout,
	.map_queues	= empblk_map_queues,
	.poll		= empblk_poll,
};

/* Open and release, ordered against teardown by disk->open_mutex. */

/**
 * empblk_open_disk() - block_device_operations.open, version independent
 * @disk: the disk being opened
 *
 * Return: 0, or -ENXIO once teardown has started.
 */
int empblk_open_disk(struct gendisk *disk)
{
	struct empblk_dev *dev = disk->private_data;

	lockdep_assert_held(&disk->open_mutex);
	if (test_bit(EMPBLK_DEV_REMOVING, &dev->flags))
		return -ENXIO;
	return 0;
}

/**
 * empblk_release_disk() - block_device_operations.release
 * @disk: the disk being closed
 *
 * The last close of an orphaned device queues its teardown.
 */
void empblk_release_disk(struct gendisk *disk)
{
	struct empblk_dev *dev = disk->private_data;

	lockdep_assert_held(&disk->open_mutex);
	if (test_bit(EMPBLK_DEV_ORPHANED, &dev->flags) &&
	    !disk_openers(disk) &&
	    !test_and_set_bit(EMPBLK_DEV_REMOVING, &dev->flags))
		queue_work(empblk_wq, &dev->remove_work);
}

static const struct block_device_operations empblk_fops = {
	.owner		= THIS_MODULE,
	.open		= empblk_bdops_open,
	.release	= empblk_bdops_release,
};

/* Creation and teardown. */

static void empblk_dev_destroy(struct empblk_dev *dev)
{
	/*
	 * del_gendisk() drains every request, deferred ones included; the
	 * worker may still be running after completing the last of them.
	 */
	empblk_sysfs_del(dev);
	/* requests held for a reconnecting donor fail now (REMOVING is set) */
	blk_mq_kick_requeue_list(dev->disk->queue);
	del_gendisk(dev->disk);
	cancel_work_sync(&dev->defer_work);
	/* before put_disk(): CM events during disconnect name the disk */
	empblk_tiers_stop(dev->tier);
	put_disk(dev->disk);
	blk_mq_free_tag_set(&dev->tag_set);
	empblk_tiers_destroy(dev->tier);
	free_percpu(dev->stats);
	/* last: a create waiting for the index may go on */
	empblk_index_release(dev->index);
	kfree(dev);
}

static void empblk_remove_work(struct work_struct *work)
{
	empblk_dev_destroy(container_of(work, struct empblk_dev,
					remove_work));
}

/**
 * empblk_dev_create() - create and register a live device
 * @p: validated parameters (copied)
 * @index: N of empblkN
 *
 * If a device of that index is being torn down, this waits (killably)
 * for its teardown to end.
 *
 * Return: the device, or an ERR_PTR: -EEXIST if a disk with that index
 * still exists (an orphan still open), -ERESTARTSYS if killed while
 * waiting for one being torn down, -ENOMEM, or a block layer error.
 */
struct empblk_dev *empblk_dev_create(const struct empblk_params *p,
				     unsigned int index)
{
	struct empblk_limits lim = {
		/* swap does page-sized I/O; also aligns partitions to 4K */
		.lbs			= PAGE_SIZE,
		.pbs			= PAGE_SIZE,
		.max_hw_sectors		= SZ_1M >> SECTOR_SHIFT,
		.max_segments		= 256,
		/* discard and write-zeroes free pages; any length works */
		.max_discard_sectors	= UINT_MAX >> SECTOR_SHIFT,
		.max_write_zeroes_sectors = UINT_MAX >> SECTOR_SHIFT,
		.discard_granularity	= PAGE_SIZE,
		/* accept flushes so later write-back tiers can honour them */
		.write_cache		= true,
	};
	u64 size_mb = empblk_capacity_mb(p);
	struct empblk_dev *dev;
	struct gendisk *disk;
	unsigned int cmd_size;
	int ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	dev->params = *p;
	dev->index = index;
	spin_lock_init(&dev->defer_lock);
	INIT_LIST_HEAD(&dev->defer_list);
	INIT_WORK(&dev->defer_work, empblk_defer_work);
	INIT_WORK(&dev->remove_work, empblk_remove_work);

	ret = empblk_index_claim(dev, index);
	if (ret)
		goto out_free_dev;

	dev->stats = alloc_percpu(struct empblk_stats);
	if (!dev->stats) {
		ret = -ENOMEM;
		goto out_free_index;
	}

	dev->tier = empblk_tiers_create(dev, &lim, &cmd_size);
	if (IS_ERR(dev->tier)) {
		ret = PTR_ERR(dev->tier);
		goto out_free_stats;
	}

	dev->tag_set.ops = &empblk_mq_ops;
	/* one hardware queue per CPU, then the polled ones */
	dev->tag_set.nr_hw_queues = nr_cpu_ids + p->poll_queues;
	dev->tag_set.nr_maps = p->poll_queues ? HCTX_MAX_TYPES : 1;
	dev->tag_set.queue_depth = p->queue_depth;
	dev->tag_set.timeout = empblk_io_timeout * HZ;
	dev->tag_set.numa_node = NUMA_NO_NODE;
	dev->tag_set.cmd_size = cmd_size;
	dev->tag_set.flags = BLK_MQ_F_SHOULD_MERGE;
	dev->tag_set.driver_data = dev;
	ret = blk_mq_alloc_tag_set(&dev->tag_set);
	if (ret)
		goto out_destroy_tiers;

	disk = empblk_compat_alloc_disk(&dev->tag_set, &lim, dev);
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto out_free_tag_set;
	}
	dev->disk = disk;
	/* major 0 and minors 0: one dynamic (extended) minor, no partitions */
	disk->flags |= GENHD_FL_NO_PART;
	disk->fops = &empblk_fops;
	disk->private_data = dev;
	snprintf(disk->disk_name, DISK_NAME_LEN, EMPBLK_NAME "%u", index);
	set_capacity(disk, size_mb << (20 - SECTOR_SHIFT));

	ret = empblk_tiers_start(dev->tier);
	if (ret)
		goto out_put_disk;

	ret = device_add_disk(NULL, disk, empblk_disk_groups);
	if (ret)
		goto out_stop_tiers;
	ret = empblk_sysfs_add(dev);
	if (ret)
		goto out_del_disk;
	return dev;

out_del_disk:
	del_gendisk(disk);
out_stop_tiers:
	empblk_tiers_stop(dev->tier);
out_put_disk:
	put_disk(disk);
out_free_tag_set:
	blk_mq_free_tag_set(&dev->tag_set);
out_destroy_tiers:
	empblk_tiers_destroy(dev->tier);
out_free_stats:
	free_percpu(dev->stats);
out_free_index:
	empblk_index_release(index);
out_free_dev:
	kfree(dev);
	return ERR_PTR(ret);
}

/**
 * empblk_dev_remove() - tear down a live device unless it is open
 * @dev: device
 * @orphan_if_busy: if the disk is open, keep it serving and delete it at
 *	its last close instead of failing
 *
 * Return: 0 when the device is gone or orphaned, -EBUSY if it is open and
 * @orphan_if_busy is false.
 */
int empblk_dev_remove(struct empblk_dev *dev, bool orphan_if_busy)
{
	struct gendisk *disk = dev->disk;

	mutex_lock(&disk->open_mutex);
	if (disk_openers(disk)) {
		if (!orphan_if_busy) {
			mutex_unlock(&disk->open_mutex);
			return -EBUSY;
		}
		set_bit(EMPBLK_DEV_ORPHANED, &dev->flags);
		mutex_unlock(&disk->open_mutex);
		pr_warn("%s: configuration removed while the disk is open; it is deleted at its last close\n",
			disk->disk_name);
		return 0;
	}
	set_bit(EMPBLK_DEV_REMOVING, &dev->flags);
	mutex_unlock(&disk->open_mutex);
	empblk_dev_destroy(dev);
	return 0;
}

/* Module parameters are defaults for every device: refuse a bad one. */
static int __init empblk_check_params(void)
{
	u32 block_size = empblk_default_block_size;
	u32 subblock_size = empblk_default_subblock_size;

	if (block_size < EMPBLK_MIN_BLOCK || block_size > EMPBLK_MAX_BLOCK ||
	    !is_power_of_2(block_size)) {
		pr_err("block_size=%u must be a power of two in %u..%u\n",
		       block_size, EMPBLK_MIN_BLOCK, EMPBLK_MAX_BLOCK);
		return -EINVAL;
	}
	if (subblock_size < EMPBLK_MIN_SUBBLOCK ||
	    subblock_size > EMPBLK_MAX_SUBBLOCK ||
	    !is_power_of_2(subblock_size) || subblock_size > block_size) {
		pr_err("subblock_size=%u must be a power of two in %u..%u and <= block_size\n",
		       subblock_size, EMPBLK_MIN_SUBBLOCK, EMPBLK_MAX_SUBBLOCK);
		return -EINVAL;
	}
	if (!empblk_default_queue_depth ||
	    empblk_default_queue_depth > EMPBLK_MAX_QUEUE_DEPTH) {
		pr_err("queue_depth=%u must be 1..%u\n",
		       empblk_default_queue_depth, EMPBLK_MAX_QUEUE_DEPTH);
		return -EINVAL;
	}
	if (empblk_default_poll_queues > EMPBLK_MAX_POLL_QUEUES) {
		pr_err("poll_queues=%u must be 0..%u\n",
		       empblk_default_poll_queues, EMPBLK_MAX_POLL_QUEUES);
		return -EINVAL;
	}
	if (empblk_default_ack_timeout > EMPBLK_MAX_ACK_TIMEOUT) {
		pr_err("ack_timeout=%u must be 0..%u\n",
		       empblk_default_ack_timeout, EMPBLK_MAX_ACK_TIMEOUT);
		return -EINVAL;
	}
	if (empblk_reserve_pages > EMPBLK_MAX_RESERVE_PAGES) {
		pr_err("reserve_pages=%u must be 0..%u\n",
		       empblk_reserve_pages, EMPBLK_MAX_RESERVE_PAGES);
		return -EINVAL;
	}
	if (!empblk_io_timeout || empblk_io_timeout > EMPBLK_MAX_IO_TIMEOUT) {
		pr_err("io_timeout=%u must be 1..%u\n", empblk_io_timeout,
		       EMPBLK_MAX_IO_TIMEOUT);
		return -EINVAL;
	}
	return 0;
}

static int __init empblk_init(void)
{
	int ret;

	BUILD_BUG_ON(PAGE_SIZE != SZ_4K);
	ret = empblk_check_params();
	if (ret)
		return ret;

	empblk_wq = alloc_workqueue(EMPBLK_NAME, WQ_MEM_RECLAIM | WQ_UNBOUND,
				    0);
	if (!empblk_wq)
		return -ENOMEM;
	empblk_submit_wq = alloc_workqueue(EMPBLK_NAME "_submit",
					   WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
	if (!empblk_submit_wq) {
		ret = -ENOMEM;
		goto out_destroy_wq;
	}
	empblk_conn_wq = alloc_workqueue(EMPBLK_NAME "_conn",
					 WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	if (!empblk_conn_wq) {
		ret = -ENOMEM;
		goto out_destroy_submit_wq;
	}

	ret = empblk_remote_init();
	if (ret)
		goto out_destroy_conn_wq;

	ret = empblk_configfs_init();
	if (ret)
		goto out_remote_exit;

	if (g_mem_path && *g_mem_path) {
		ret = empblk_configfs_add_param_dev(g_mem_path);
		if (ret)
			goto out_configfs_exit;
	}
	return 0;

out_configfs_exit:
	empblk_configfs_exit();
out_remote_exit:
	empblk_remote_exit();
out_destroy_conn_wq:
	destroy_workqueue(empblk_conn_wq);
out_destroy_submit_wq:
	destroy_workqueue(empblk_submit_wq);
out_destroy_wq:
	destroy_workqueue(empblk_wq);
	return ret;
}

static void __exit empblk_exit(void)
{
	empblk_configfs_exit();
	/* orphans whose last close raced with unload finish here */
	destroy_workqueue(empblk_wq);
	empblk_remote_exit();
	destroy_workqueue(empblk_conn_wq);
	destroy_workqueue(empblk_submit_wq);
	/* pages freed by discard wait for their grace period in our code */
	rcu_barrier();
	WARN_ON(!xa_empty(&empblk_devs));
}

module_init(empblk_init);
module_exit(empblk_exit);

MODULE_DESCRIPTION("empblk: far memory as a swap block device");
MODULE_AUTHOR("empblk developers");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
