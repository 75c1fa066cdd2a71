/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between the kernels empblk supports (Debian 12's
 * 6.1 and 6.12). This is the only file in empblk allowed to test the kernel
 * version. Block-layer refactors are not backported to stable kernels, so
 * gating them on major.minor is safe; the sublevel is never compared
 * (KERNEL_VERSION() saturates it at 255, and long-lived stable kernels
 * such as Debian's 6.1, at 6.1.192 today, approach that).
 */
#ifndef EMPBLK_COMPAT_H
#define EMPBLK_COMPAT_H

#include <linux/version.h>
#include <linux/blkdev.h>
#include <linux/blk-mq.h>

/**
 * struct empblk_limits - queue limits and features, version independent
 * @lbs: logical block size in bytes
 * @pbs: physical block size in bytes
 * @max_hw_sectors: largest request, in 512-byte sectors
 * @max_segments: most segments in one request
 * @max_discard_sectors: largest discard, in sectors (0: no discard)
 * @max_write_zeroes_sectors: largest write-zeroes, in sectors (0: none)
 * @discard_granularity: discard unit in bytes
 * @virt_boundary_mask: segments may not have gaps at this boundary (0: none)
 * @dma_alignment: data buffers must be aligned to this mask + 1 (0: the
 *	block layer's default, 511)
 * @write_cache: the device has a volatile write cache (accepts flushes)
 */
struct empblk_limits {
	unsigned int lbs;
	unsigned int pbs;
	unsigned int max_hw_sectors;
	unsigned short max_segments;
	unsigned int max_discard_sectors;
	unsigned int max_write_zeroes_sectors;
	unsigned int discard_granularity;
	unsigned long virt_boundary_mask;
	unsigned int dma_alignment;
	bool write_cache;
};

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
/* 27e32cd23fed, 74fa8f9c553f: limits are passed at allocation time. */
static inline struct gendisk *
empblk_compat_alloc_disk(struct blk_mq_tag_set *set,
			 const struct empblk_limits *el, void *queuedata)
{
	struct queue_limits lim = {
		.logical_block_size	= el->lbs,
		.physical_block_size	= el->pbs,
		.io_min			= el->pbs,
		.max_hw_sectors		= el->max_hw_sectors,
		.max_segments		= el->max_segments,
		.max_hw_discard_sectors	= el->max_discard_sectors,
		.max_write_zeroes_sectors = el->max_write_zeroes_sectors,
		.discard_granularity	= el->discard_granularity,
		.virt_boundary_mask	= el->virt_boundary_mask,
		.dma_alignment		= el->dma_alignment,
		/*
		 * Non-rotational is the default since v6.11 (bd4a633b6f7c):
		 * never set BLK_FEAT_ROTATIONAL. No BLK_FEAT_SYNCHRONOUS: a
		 * remote tier completes from CQ callbacks, not in submit.
		 */
		.features		= BLK_FEAT_IO_STAT |
					  (el->write_cache ?
					   BLK_FEAT_WRITE_CACHE : 0),
	};

	return blk_mq_alloc_disk(set, &lim, queuedata);
}
#else
static inline struct gendisk *
empblk_compat_alloc_disk(struct blk_mq_tag_set *set,
			 const struct empblk_limits *el, void *queuedata)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, queuedata);
	struct request_queue *q;

	if (IS_ERR(disk))
		return disk;
	q = disk->queue;
	blk_queue_logical_block_size(q, el->lbs);
	blk_queue_physical_block_size(q, el->pbs);
	blk_queue_io_min(q, el->pbs);
	blk_queue_max_hw_sectors(q, el->max_hw_sectors);
	blk_queue_max_segments(q, el->max_segments);
	blk_queue_max_discard_sectors(q, el->max_discard_sectors);
	blk_queue_max_write_zeroes_sectors(q, el->max_write_zeroes_sectors);
	q->limits.discard_granularity = el->discard_granularity;
	if (el->virt_boundary_mask)
		blk_queue_virt_boundary(q, el->virt_boundary_mask);
	if (el->dma_alignment)
		blk_queue_dma_alignment(q, el->dma_alignment);
	/*
	 * Before v6.11 a queue is rotational unless told otherwise, and swapon
	 * only uses its SSD cluster allocator (SWP_SOLIDSTATE) on nonrot.
	 */
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, q);
	blk_queue_write_cache(q, el->write_cache, false);
	return disk;
}
#endif

/*
 * d32e2bf83791, 05bdb9965305 (v6.5): open takes the gendisk and a
 * blk_mode_t, release loses its mode. The driver implements
 * empblk_open_disk() and empblk_release_disk(); these adapt them.
 */
int empblk_open_disk(struct gendisk *disk);
void empblk_release_disk(struct gendisk *disk);

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
static inline int empblk_bdops_open(struct gendisk *disk, blk_mode_t mode)
{
	return empblk_open_disk(disk);
}

static inline void empblk_bdops_release(struct gendisk *disk)
{
	empblk_release_disk(disk);
}
#else
static inline int empblk_bdops_open(struct block_device *bdev, fmode_t mode)
{
	return empblk_open_disk(bdev->bd_disk);
}

static inline void empblk_bdops_release(struct gendisk *disk, fmode_t mode)
{
	empblk_release_disk(disk);
}
#endif

/*
 * f3a608827d1f (v6.9): a block device is opened as a file; a holder makes
 * the open exclusive. Before: blkdev_get_by_path() with FMODE_EXCL.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
/**
 * struct empblk_bdev_handle - a block device opened exclusively
 * @file: the open file
 * @bdev: its block device
 */
struct empblk_bdev_handle {
	struct file *file;
	struct block_device *bdev;
};

static inline int empblk_bdev_open(const char *path, void *holder,
				   struct empblk_bdev_handle *h)
{
	struct file *file = bdev_file_open_by_path(path, BLK_OPEN_READ |
						   BLK_OPEN_WRITE, holder,
						   NULL);

	if (IS_ERR(file))
		return PTR_ERR(file);
	h->file = file;
	h->bdev = file_bdev(file);
	return 0;
}

static inline void empblk_bdev_close(struct empblk_bdev_handle *h)
{
	bdev_fput(h->file);
	h->file = NULL;
	h->bdev = NULL;
}
#else
struct empblk_bdev_handle {
	struct block_device *bdev;
};

#define EMPBLK_BDEV_MODE	(FMODE_READ | FMODE_WRITE | FMODE_EXCL)

static inline int empblk_bdev_open(const char *path, void *holder,
				   struct empblk_bdev_handle *h)
{
	h->bdev = blkdev_get_by_path(path, EMPBLK_BDEV_MODE, holder);
	if (IS_ERR(h->bdev)) {
		int ret = PTR_ERR(h->bdev);

		h->bdev = NULL;
		return ret;
	}
	return 0;
}

static inline void empblk_bdev_close(struct empblk_bdev_handle *h)
{
	blkdev_put(h->bdev, EMPBLK_BDEV_MODE);
	h->bdev = NULL;
}
#endif

#endif /* EMPBLK_COMPAT_H */
