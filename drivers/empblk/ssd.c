// SPDX-License-Identifier: GPL-2.0
/*
 * The SSD tier ("HPSSD"): local block devices, an NVMe namespace in
 * production, given by /dev/DEV:MB:OFFSET entries of the mem_path.
 *
 * Each entry is opened exclusively with the tier as its holder when the
 * device is enabled, and used from OFFSET MiB for MB MiB. The tier is a
 * member of the device's stripe set (stripe.c), which places the device's
 * extents on the entries (and on donors); this tier serves the parts on
 * its entries (empblk_stripe_locate()) and ends its part through the
 * stripe set.
 *
 * I/O. A request's own pages go straight to the SSDs in bios from the
 * tier's bio_set (no page cache, no copy, no other allocation), one bio
 * per run of the request that is contiguous on one SSD; the request
 * completes when its last bio does, with the first error any of them
 * had. Flushes are passed down as bios too; discards, from the stripe
 * set, as blkdev_issue_discard() in the device's worker.
 *
 * Submission. Bios are submitted by a worker per hardware queue (as loop
 * does), never from ->queue_rq: there the submitter may be flushing its
 * plug, or be inside submit_bio(), and a bio submitted then lands in the
 * plug or list being worked on (6.1 oopses on it); submit_bio() may also
 * sleep for a tag, which a non-blocking hardware queue may not. The
 * worker runs in a NOIO scope under a plug of its own; the bio_set's
 * reserve guarantees progress under memory pressure.
 *
 * Errors. An I/O error from an SSD fails exactly the requests (or the
 * cache writeback) it touched, is counted in ssd_errors and logged
 * (ratelimited); the device serves the rest.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "empblk.h"

/* bios in reserve: enough for a few requests' worth of progress */
#define EMPBLK_SSD_POOL		64

/**
 * struct empblk_ssd_dev - one SSD entry, open
 * @h: the block device, opened exclusively
 * @start: first sector of the entry's space on it
 * @path: its path in the mem_path, for messages
 */
struct empblk_ssd_dev {
	struct empblk_bdev_handle h;
	sector_t start;
	const char *path;
};

struct empblk_ssd;

/**
 * struct empblk_ssd_q - the submission worker of one hardware queue
 * @s: the tier
 * @lock: protects @list
 * @list: requests to issue (empblk_scmd.entry)
 * @work: issues them
 */
struct empblk_ssd_q {
	struct empblk_ssd *s;
	spinlock_t lock;	/* protects list */
	struct list_head list;
	struct work_struct work;
};

/**
 * struct empblk_ssd - the SSD tier of a device
 * @tier: its tier interface
 * @nr: entries (backends of the stripe set)
 * @sb_shift: log2 of the subblock size, the transfer unit
 * @bs: bios of every I/O to the SSDs
 * @qs: one submission worker per hardware queue
 * @nr_qs: entries in @qs
 * @devs: the entries
 */
struct empblk_ssd {
	struct empblk_tier tier;
	unsigned int nr;
	unsigned int sb_shift;
	struct bio_set bs;
	struct empblk_ssd_q *qs;
	unsigned int nr_qs;
	struct empblk_ssd_dev devs[EMPBLK_MAX_SSDS];
};

struct empblk_sio;

/**
 * struct empblk_sio - what one request or page I/O waits for
 * @pending: bios not yet completed, plus one while they are being issued
 * @status: BLK_STS_OK, or the error of the first bio that failed
 * @s: the tier
 * @done: called when @pending drops to 0
 */
struct empblk_sio {
	atomic_t pending;
	atomic_t status;
	struct empblk_ssd *s;
	void (*done)(struct empblk_sio *sio);
};

/**
 * struct empblk_scmd - the SSD tier's per-request state
 * @sio: the request's bios
 * @rq: the request
 * @entry: link on its hardware queue's empblk_ssd_q.list
 * @done_work: completes a flush (see empblk_scmd_done())
 */
struct empblk_scmd {
	struct empblk_sio sio;
	struct request *rq;
	struct list_head entry;
	struct work_struct done_work;
};

/**
 * struct empblk_spio - the SSD tier's state of one page I/O
 * @sio: its bios
 * @pio: the page I/O
 * @work: reports the outcome: bios complete in the SSD's interrupt, and
 *	a layer's end_io takes its locks with only bottom halves off
 */
struct empblk_spio {
	struct empblk_sio sio;
	struct empblk_pio *pio;
	struct work_struct work;
};

/**
 * struct empblk_sbio - a bio to an SSD (the bio_set's front pad)
 * @sector: where it starts on its SSD, for messages (the block layer
 *	moves bi_sector as it completes, and to the whole disk)
 * @bio: the bio
 */
struct empblk_sbio {
	sector_t sector;
	struct bio bio;
};

static struct empblk_ssd *to_ssd(struct empblk_tier *t)
{
	return container_of(t, struct empblk_ssd, tier);
}

/* Count and log a failed bio; the I/O it belongs to fails with it. */
static void empblk_ssd_bio_failed(struct empblk_ssd *s, struct bio *bio)
{
	const char *path = "?";
	unsigned int i;

	for (i = 0; i < s->nr; i++)
		if (s->devs[i].h.bdev == bio->bi_bdev)
			path = s->devs[i].path;
	empblk_stat_inc(s->tier.dev, EMPBLK_STAT_SSD_ERRORS);
	pr_err_ratelimited("%s: SSD %s: %s at its sector %llu failed: %d\n",
			   s->tier.dev->disk->disk_name, path,
			   blk_op_str(bio_op(bio)),
			   (unsigned long long)container_of(bio, struct empblk_sbio,
							    bio)->sector,
			   blk_status_to_errno(bio->bi_status));
}

static void empblk_sio_init(struct empblk_sio *sio, struct empblk_ssd *s,
			    void (*done)(struct empblk_sio *sio))
{
	atomic_set(&sio->pending, 1);
	atomic_set(&sio->status, (__force int)BLK_STS_OK);
	sio->s = s;
	sio->done = done;
}

static blk_status_t empblk_sio_status(struct empblk_sio *sio)
{
	return (__force blk_status_t)atomic_read(&sio->status);
}

static void empblk_sio_put(struct empblk_sio *sio)
{
	if (atomic_dec_and_test(&sio->pending))
		sio->done(sio);
}

/* Any context: the SSD's completion interrupt, or the submitter. */
static void empblk_ssd_end_io(struct bio *bio)
{
	struct empblk_sio *sio = bio->bi_private;

	if (bio->bi_status) {
		empblk_ssd_bio_failed(sio->s, bio);
		atomic_cmpxchg(&sio->status, (__force int)BLK_STS_OK,
			       (__force int)bio->bi_status);
	}
	bio_put(bio);
	empblk_sio_put(sio);
}

static void empblk_scmd_complete(struct empblk_scmd *cmd)
{
	empblk_tier_end_rq(&cmd->sio.s->tier, cmd->rq,
			   empblk_sio_status(&cmd->sio));
}

static void empblk_scmd_done_work(struct work_struct *work)
{
	empblk_scmd_complete(container_of(work, struct empblk_scmd,
					  done_work));
}

/*
 * A flush's bios complete inside the SSD queue's flush machinery, with
 * its flush lock held; ending our flush there would take our queue's
 * lock of the same class inside it (lockdep: recursive locking). So a
 * flush ends from empblk_wq; reads and writes end at once.
 */
static void empblk_scmd_done(struct empblk_sio *sio)
{
	struct empblk_scmd *cmd = container_of(sio, struct empblk_scmd, sio);

	if (req_op(cmd->rq) == REQ_OP_FLUSH)
		queue_work(empblk_wq, &cmd->done_work);
	else
		empblk_scmd_complete(cmd);
}

static void empblk_spio_work(struct work_struct *work)
{
	struct empblk_spio *sp = container_of(work, struct empblk_spio, work);

	sp->pio->end_io(sp->pio, empblk_sio_status(&sp->sio) == BLK_STS_OK);
}

static void empblk_spio_done(struct empblk_sio *sio)
{
	struct empblk_spio *sp = container_of(sio, struct empblk_spio, sio);

	queue_work(empblk_submit_wq, &sp->work);
}

/* A bio of @sio to SSD @d at its sector @sector, with room for @vecs. */
static struct bio *empblk_ssd_bio(struct empblk_sio *sio,
				  struct empblk_ssd_dev *d, blk_opf_t opf,
				  sector_t sector, unsigned int vecs)
{
	struct bio *bio = bio_alloc_bioset(d->h.bdev, vecs, opf, GFP_NOIO,
					   &sio->s->bs);

	container_of(bio, struct empblk_sbio, bio)->sector = sector;
	bio->bi_iter.bi_sector = sector;
	bio->bi_end_io = empblk_ssd_end_io;
	bio->bi_private = sio;
	atomic_inc(&sio->pending);
	return bio;
}

/**
 * struct empblk_sbuild - bios being built from pages, one open per SSD
 * @sio: what they belong to
 * @opf: their operation and flags
 * @bio: per SSD, the bio being filled, not yet submitted, or NULL
 * @left: per SSD, the parts still to add (to size a new bio's bvecs)
 */
struct empblk_sbuild {
	struct empblk_sio *sio;
	blk_opf_t opf;
	struct bio *bio[EMPBLK_MAX_SSDS];
	unsigned int left[EMPBLK_MAX_SSDS];
};

/*
 * Whether an SSD holds device offset @pos (the stripe set may have put it
 * on a donor); if so, which one and its sector there.
 */
static bool empblk_ssd_locate(struct empblk_ssd *s,
			      const struct empblk_stuse *refs, u64 pos,
			      unsigned int *di, sector_t *sector)
{
	u64 off;

	if (!empblk_stripe_locate(&s->tier, refs, pos, di, &off))
		return false;
	*sector = s->devs[*di].start + (off >> SECTOR_SHIFT);
	return true;
}

static void empblk_sbuild_submit(struct empblk_sbuild *b)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(b->bio); i++) {
		if (b->bio[i])
			submit_bio(b->bio[i]);
		b->bio[i] = NULL;
	}
}

/*
 * Add @len bytes of @page at @off, for @sector of SSD @di, to the bios
 * being built: to that SSD's open bio if it ends there, else to a new
 * one. A part that starts a page of the device goes into a bio with room
 * for that whole page (which may come in two parts), so that every bio
 * is whole 4 KiB units, as an SSD with 4 KiB sectors needs.
 */
static void empblk_sbuild_add(struct empblk_sbuild *b, unsigned int di,
			      sector_t sector, struct page *page,
			      unsigned int len, unsigned int off,
			      bool page_start)
{
	struct empblk_ssd_dev *d = &b->sio->s->devs[di];
	struct bio *bio = b->bio[di];

	if (bio && (bio_end_sector(bio) != sector ||
		    (page_start && bio->bi_max_vecs - bio->bi_vcnt < 2) ||
		    bio_add_page(bio, page, len, off) != len)) {
		submit_bio(bio);
		bio = NULL;
	}
	if (!bio) {
		bio = empblk_ssd_bio(b->sio, d, b->opf, sector,
				     clamp_t(unsigned int, b->left[di], 2,
					     BIO_MAX_VECS));
		/* a new bio has room */
		__bio_add_page(bio, page, len, off);
		b->bio[di] = bio;
	}
	b->left[di] -= min(b->left[di], 1U);
}

/*
 * Walk the parts of @rq a layer above did not serve, each within one page
 * of the device and one subblock: count them per SSD, or with @add, add
 * them to the bios.
 */
static void empblk_ssd_walk(struct empblk_sbuild *b, struct request *rq,
			    bool add)
{
	struct empblk_ssd *s = b->sio->s;
	const struct empblk_stuse *refs = empblk_stripe_rq_refs(&s->tier, rq);
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 sb = 1ULL << s->sb_shift;
	struct req_iterator iter;
	struct bio_vec bvec;

	rq_for_each_segment(bvec, rq, iter) {
		unsigned int done = 0;

		while (done < bvec.bv_len) {
			unsigned int len = min3(bvec.bv_len - done,
						(unsigned int)(PAGE_SIZE -
						offset_in_page(pos)),
						(unsigned int)
						empblk_rq_piece(rq, pos, sb));
			unsigned int di;
			sector_t sector;

			if (!empblk_rq_served(rq, pos) &&
			    empblk_ssd_locate(s, refs, pos, &di, &sector)) {
				if (add)
					empblk_sbuild_add(b, di, sector,
							  bvec.bv_page, len,
							  bvec.bv_offset + done,
							  !offset_in_page(pos));
				else
					b->left[di]++;
			}
			pos += len;
			done += len;
		}
	}
}

/*
 * A read or write: the request's pages, but for what a layer above
 * served, in bios to the SSDs, one open per SSD: a request becomes one
 * bio per SSD unless a served gap or a full bio splits it.
 */
static void empblk_ssd_issue_rw(struct empblk_scmd *cmd)
{
	struct request *rq = cmd->rq;
	struct empblk_sbuild b = {
		.sio = &cmd->sio,
		.opf = req_op(rq) | (rq->cmd_flags & REQ_SYNC),
	};

	empblk_ssd_walk(&b, rq, false);
	empblk_ssd_walk(&b, rq, true);
	empblk_sbuild_submit(&b);
}

/**
 * empblk_ssd_trim() - discard a part of an SSD entry (empblk_tier_ops.trim)
 * @t: the SSD tier
 * @idx: the entry
 * @off: where the part starts in the entry's space
 * @len: its length
 *
 * From the device's worker, which may sleep; SSDs without discard are
 * skipped: a discard is a hint, and what a discarded range reads back is
 * unspecified, as on the SSD itself.
 */
static void empblk_ssd_trim(struct empblk_tier *t, unsigned int idx, u64 off,
			    u64 len)
{
	struct empblk_ssd_dev *d = &to_ssd(t)->devs[idx];
	int ret;

	if (!bdev_max_discard_sectors(d->h.bdev))
		return;
	ret = blkdev_issue_discard(d->h.bdev,
				   d->start + (off >> SECTOR_SHIFT),
				   len >> SECTOR_SHIFT, GFP_NOIO);
	if (ret && ret != -EOPNOTSUPP)
		pr_warn_ratelimited("%s: SSD %s: discard of %llu bytes at its sector %llu failed: %d\n",
				    t->dev->disk->disk_name, d->path, len,
				    (unsigned long long)(d->start +
							 (off >> SECTOR_SHIFT)),
				    ret);
}

/* An extent of an SSD entry holds nothing anymore (.release). */
static void empblk_ssd_release(struct empblk_tier *t, unsigned int idx,
			       u64 ext)
{
	empblk_ssd_trim(t, idx, ext << EMPBLK_EXT_SHIFT, EMPBLK_EXT_SIZE);
}

/* A flush: of every SSD's volatile cache. */
static void empblk_ssd_issue_flush(struct empblk_scmd *cmd)
{
	struct empblk_ssd *s = cmd->sio.s;
	unsigned int i;

	for (i = 0; i < s->nr; i++)
		submit_bio(empblk_ssd_bio(&cmd->sio, &s->devs[i],
					  REQ_OP_WRITE | REQ_PREFLUSH, 0, 0));
}

/*
 * The submission worker of a hardware queue: issues the bios of the
 * requests queued on it, under a plug of its own, in a NOIO scope (the
 * bio_set's reserve guarantees progress).
 */
static void empblk_ssd_work(struct work_struct *work)
{
	struct empblk_ssd_q *q = container_of(work, struct empblk_ssd_q, work);
	unsigned int noio = memalloc_noio_save();
	struct empblk_scmd *cmd, *tmp;
	struct blk_plug plug;
	LIST_HEAD(list);

	spin_lock(&q->lock);
	list_splice_init(&q->list, &list);
	spin_unlock(&q->lock);
	blk_start_plug(&plug);
	list_for_each_entry_safe(cmd, tmp, &list, entry) {
		list_del_init(&cmd->entry);
		empblk_sio_init(&cmd->sio, q->s, empblk_scmd_done);
		switch (req_op(cmd->rq)) {
		case REQ_OP_FLUSH:
			empblk_ssd_issue_flush(cmd);
			break;
		default:
			empblk_ssd_issue_rw(cmd);
			break;
		}
		empblk_sio_put(&cmd->sio);
		cond_resched();
	}
	blk_finish_plug(&plug);
	memalloc_noio_restore(noio);
}

/*
 * Serve the parts of a read or write on the SSDs, or a flush
 * (empblk_tier_ops.rw, .flush): hand it to its hardware queue's worker.
 * Never sleeps.
 */
static int empblk_ssd_queue(struct empblk_tier *t, struct request *rq,
			    bool may_sleep)
{
	struct empblk_ssd *s = to_ssd(t);
	struct empblk_scmd *cmd = empblk_tier_pdu(t, rq);
	struct empblk_ssd_q *q = &s->qs[rq->mq_hctx->queue_num];

	spin_lock(&q->lock);
	list_add_tail(&cmd->entry, &q->list);
	spin_unlock(&q->lock);
	queue_work(empblk_submit_wq, &q->work);
	return 0;
}

static size_t empblk_ssd_pio_size(struct empblk_tier *t,
				  unsigned int nr_pages)
{
	return sizeof(struct empblk_spio);
}

/*
 * Read or write the pages of a layer's page I/O that are on the SSDs
 * (empblk_tier_ops.read_pages, .write_pages), from the layer's worker.
 */
static int empblk_ssd_pages(struct empblk_tier *t, struct empblk_pio *pio,
			    blk_opf_t opf)
{
	struct empblk_ssd *s = to_ssd(t);
	struct empblk_spio *sp = pio->tier_data;
	const struct empblk_stuse *refs = empblk_stripe_pio_refs(pio);
	struct empblk_sbuild b = {
		.sio = &sp->sio,
		.opf = opf,
	};
	unsigned int i, di;
	sector_t sector;

	sp->pio = pio;
	INIT_WORK(&sp->work, empblk_spio_work);
	empblk_sio_init(&sp->sio, s, empblk_spio_done);
	for (i = 0; i < pio->nr_pages; i++)
		if (empblk_ssd_locate(s, refs,
				      pio->pos + ((u64)i << PAGE_SHIFT),
				      &di, &sector))
			b.left[di]++;
	for (i = 0; i < pio->nr_pages; i++)
		if (empblk_ssd_locate(s, refs,
				      pio->pos + ((u64)i << PAGE_SHIFT),
				      &di, &sector))
			empblk_sbuild_add(&b, di, sector, pio->pages[i],
					  PAGE_SIZE, 0, true);
	empblk_sbuild_submit(&b);
	empblk_sio_put(&sp->sio);
	return 0;
}

static int empblk_ssd_write_pages(struct empblk_tier *t,
				  struct empblk_pio *pio)
{
	return empblk_ssd_pages(t, pio, REQ_OP_WRITE);
}

static int empblk_ssd_read_pages(struct empblk_tier *t,
				 struct empblk_pio *pio)
{
	return empblk_ssd_pages(t, pio, REQ_OP_READ);
}

static void empblk_ssd_init_request(struct empblk_tier *t,
				    struct request *rq, void *pdu)
{
	struct empblk_scmd *cmd = pdu;

	cmd->rq = rq;
	INIT_LIST_HEAD(&cmd->entry);
	INIT_WORK(&cmd->done_work, empblk_scmd_done_work);
}

/* zeroing on an SSD is a full write: let the block layer do it */
static void empblk_ssd_limits(struct empblk_tier *t, struct empblk_limits *lim)
{
	lim->max_write_zeroes_sectors = 0;
}

static void empblk_ssd_usage(struct empblk_tier *t, struct empblk_usage *u)
{
	u->ssds += to_ssd(t)->nr;
}

/* Close the first @n entries. */
static void empblk_ssd_close(struct empblk_ssd *s, unsigned int n)
{
	while (n--)
		empblk_bdev_close(&s->devs[n].h);
}

/*
 * Check an open entry: writable, 4 KiB sectors or smaller, its range
 * inside the device and apart from the earlier entries' on the same one.
 */
static int empblk_ssd_check(struct empblk_ssd *s, unsigned int i)
{
	const struct empblk_spec *spec = &s->tier.dev->params.spec;
	const struct empblk_ssd_spec *e = &spec->ssds[i];
	struct block_device *bdev = s->devs[i].h.bdev;
	const char *name = s->tier.dev->disk->disk_name;
	u64 size_mb = bdev_nr_bytes(bdev) >> 20;
	unsigned int j;

	if (bdev_read_only(bdev)) {
		pr_err("%s: SSD %s is read-only\n", name, e->path);
		return -EROFS;
	}
	if (bdev_logical_block_size(bdev) > PAGE_SIZE) {
		pr_err("%s: SSD %s has %u-byte sectors; at most %lu are supported\n",
		       name, e->path, bdev_logical_block_size(bdev),
		       PAGE_SIZE);
		return -EINVAL;
	}
	if (e->offset_mb + e->mb > size_mb) {
		pr_err("%s: SSD %s: %llu MiB from offset %llu MiB ends past its end (%llu MiB)\n",
		       name, e->path, e->mb, e->offset_mb, size_mb);
		return -ENOSPC;
	}
	for (j = 0; j < i; j++) {
		const struct empblk_ssd_spec *o = &spec->ssds[j];

		if (s->devs[j].h.bdev == bdev &&
		    e->offset_mb < o->offset_mb + o->mb &&
		    o->offset_mb < e->offset_mb + e->mb) {
			pr_err("%s: SSD entries %s:%llu:%llu and %s:%llu:%llu overlap on one device\n",
			       name, o->path, o->mb, o->offset_mb, e->path,
			       e->mb, e->offset_mb);
			return -EINVAL;
		}
	}
	return 0;
}

static const char *empblk_ssd_open_error(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such file";
	case -ENOTBLK:
		return "not a block device";
	case -EBUSY:
		return "in use: mounted, swapped on, or held by another driver";
	case -EACCES:
	case -EROFS:
		return "cannot be opened for writing";
	case -ENXIO:
	case -ENODEV:
		return "no such device";
	default:
		return "cannot be opened";
	}
}

/*
 * Open every entry exclusively (empblk_tier_ops.start). Return: 0, or an
 * error naming the entry, with none left open.
 */
static int empblk_ssd_start(struct empblk_tier *t)
{
	struct empblk_ssd *s = to_ssd(t);
	struct empblk_dev *dev = t->dev;
	const struct empblk_spec *spec = &dev->params.spec;
	unsigned int i;
	int ret;

	s->nr_qs = dev->tag_set.nr_hw_queues;
	s->qs = kcalloc(s->nr_qs, sizeof(*s->qs), GFP_KERNEL);
	if (!s->qs)
		return -ENOMEM;
	for (i = 0; i < s->nr_qs; i++) {
		s->qs[i].s = s;
		spin_lock_init(&s->qs[i].lock);
		INIT_LIST_HEAD(&s->qs[i].list);
		INIT_WORK(&s->qs[i].work, empblk_ssd_work);
	}
	for (i = 0; i < s->nr; i++) {
		const struct empblk_ssd_spec *e = &spec->ssds[i];
		struct empblk_ssd_dev *d = &s->devs[i];

		d->path = e->path;
		ret = empblk_bdev_open(e->path, s, &d->h);
		if (ret) {
			pr_err("%s: SSD %s: %s (%d)\n", dev->disk->disk_name,
			       e->path, empblk_ssd_open_error(ret), ret);
			goto out_close;
		}
		ret = empblk_ssd_check(s, i);
		if (ret) {
			i++;
			goto out_close;
		}
		d->start = e->offset_mb << (20 - SECTOR_SHIFT);
	}
	return 0;

out_close:
	empblk_ssd_close(s, i);
	kfree(s->qs);
	s->qs = NULL;
	return ret;
}

/* No request is left: the workers may only be finishing their last run. */
static void empblk_ssd_stop(struct empblk_tier *t)
{
	struct empblk_ssd *s = to_ssd(t);
	unsigned int i;

	for (i = 0; i < s->nr_qs; i++)
		cancel_work_sync(&s->qs[i].work);
	empblk_ssd_close(s, s->nr);
	kfree(s->qs);
	s->qs = NULL;
}

static void empblk_ssd_destroy(struct empblk_tier *t)
{
	struct empblk_ssd *s = to_ssd(t);

	bioset_exit(&s->bs);
	kfree(s);
}

static const struct empblk_tier_ops empblk_ssd_ops = {
	.name		= "ssd",
	.cmd_size	= sizeof(struct empblk_scmd),
	.limits		= empblk_ssd_limits,
	.start		= empblk_ssd_start,
	.stop		= empblk_ssd_stop,
	.destroy	= empblk_ssd_destroy,
	.init_request	= empblk_ssd_init_request,
	.rw		= empblk_ssd_queue,
	.flush		= empblk_ssd_queue,
	.pio_size	= empblk_ssd_pio_size,
	.write_pages	= empblk_ssd_write_pages,
	.read_pages	= empblk_ssd_read_pages,
	.usage		= empblk_ssd_usage,
	.release	= empblk_ssd_release,
	.trim		= empblk_ssd_trim,
};

/**
 * empblk_ssd_tier_create() - the SSD tier of a device, not yet open
 * @dev: the device (its params name the SSDs)
 *
 * Its start opens every entry.
 *
 * Return: the tier, or ERR_PTR(-ENOMEM).
 */
struct empblk_tier *empblk_ssd_tier_create(struct empblk_dev *dev)
{
	struct empblk_ssd *s = kzalloc(sizeof(*s), GFP_KERNEL);
	int ret;

	if (!s)
		return ERR_PTR(-ENOMEM);
	s->tier.ops = &empblk_ssd_ops;
	s->tier.dev = dev;
	s->nr = dev->params.spec.nr_ssds;
	s->sb_shift = ilog2(dev->params.subblock_size);
	ret = bioset_init(&s->bs, EMPBLK_SSD_POOL,
			  offsetof(struct empblk_sbio, bio), BIOSET_NEED_BVECS);
	if (ret) {
		kfree(s);
		return ERR_PTR(ret);
	}
	return &s->tier;
}
