// SPDX-License-Identifier: GPL-2.0
/*
 * The rebuild: degraded entries get their second copy back.
 *
 * With replicas, an entry whose copy went with a failed backend (or that
 * was given one copy only, when too few backends had room) is degraded:
 * served from the copy it has, one failure away from loss. The rebuild
 * worker walks the degraded entries, one per run, and for each claims
 * an extent on a live backend that holds no copy of it (the one with
 * most room), copies the live copy's data there and publishes it in the
 * entry in place of the lost copy (empblk_place_rebuild()). While it
 * copies, the entry is frozen: its requests are requeued and the DRAM
 * cache's page I/O to it is put off, so no write can fall between the
 * two copies. One entry (2 MiB) is frozen at a time, for the time of its
 * copy.
 *
 * The data go through a buffer of EMPBLK_REBUILD_BYTES allocated with the
 * device, piece by piece: a read from the live copy, then a write to the
 * new one, through the members' page I/O (->read_pages, ->write_pages)
 * addressed to the extents directly (empblk_stripe_extent_io()). Nothing
 * is allocated on the way: the worker runs in a NOIO scope, as swap may
 * be waiting on the device.
 *
 * A copy that missed writes while its backend reconnected (stale: see
 * empblk_place_mark_stale()) is resynced the same way once the backend is
 * back, in place: the good copy is copied over it.
 *
 * The rate is capped at the device's rebuild_rate_mb (MiB/s, 0: no cap),
 * so that swap keeps the bandwidth it needs. With no backend to take a
 * copy, the worker waits (state "no-space") and looks again every few
 * seconds, or at once when an entry is mapped. When the last entry is
 * whole again the device's health is back to ok, and a uevent says so.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/jiffies.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "empblk.h"
#include "stripe.h"

/* how often a rebuild with no room, or a failed copy, looks again */
#define EMPBLK_REBUILD_NO_SPACE_DELAY	(5 * HZ)
#define EMPBLK_REBUILD_WAIT_DELAY	HZ

const char *const empblk_rebuild_states[EMPBLK_REBUILD_NR] = {
	[EMPBLK_REBUILD_IDLE]		= "idle",
	[EMPBLK_REBUILD_RUNNING]	= "running",
	[EMPBLK_REBUILD_NO_SPACE]	= "no-space",
	[EMPBLK_REBUILD_WAITING]	= "waiting",
};

static void empblk_rebuild_end_io(struct empblk_pio *pio, bool ok)
{
	struct empblk_rebuild *rb = pio->private;

	rb->ok = ok;
	complete(&rb->done);
}

/* One piece of the copy, to or from the buffer; waits for it. */
static int empblk_rebuild_io(struct empblk_stripe *st, u32 v, bool write)
{
	struct empblk_rebuild *rb = &st->rb;
	int ret;

	reinit_completion(&rb->done);
	ret = empblk_stripe_extent_io(st, &rb->pio, v, write);
	if (ret)
		return ret;
	wait_for_completion(&rb->done);
	return rb->ok ? 0 : -EIO;
}

/* Copy extent @from to @to (empblk_place_copy_fn), piece by piece. */
static int empblk_rebuild_copy(void *ctx, u32 from, u32 to)
{
	struct empblk_stripe *st = ctx;
	struct empblk_pio *pio = &st->rb.pio;
	int ret = 0;

	for (pio->pos = 0; !ret && pio->pos < EMPBLK_EXT_SIZE;
	     pio->pos += EMPBLK_REBUILD_BYTES) {
		ret = empblk_rebuild_io(st, from, false);
		if (!ret)
			ret = empblk_rebuild_io(st, to, true);
	}
	return ret;
}

/* Say why the rebuild waits: @err, of the last entry it looked at. */
static void empblk_rebuild_log_wait(const char *name, int err)
{
	switch (err) {
	case -EBUSY:
		pr_info("%s: rebuild waits for a backend that is reconnecting\n",
			name);
		break;
	case -ENODATA:
		/* no good copy: lost, the salvage's, which logs it */
		break;
	case -EOPNOTSUPP:
		pr_warn("%s: rebuild waits: a copy on a donor reached over iWARP cannot be read for it (not supported yet)\n",
			name);
		break;
	default:
		pr_warn_ratelimited("%s: rebuild paused: copying an extent failed (%d); trying again in a second\n",
				    name, err);
		break;
	}
}

/*
 * Enter state @state, logging what an operator should know of it: @left
 * MiB were degraded when the run began, @err failed it.
 */
static void empblk_rebuild_set_state(struct empblk_stripe *st,
				     unsigned int state, u64 left, int err)
{
	struct empblk_rebuild *rb = &st->rb;
	const char *name = st->tier.dev->disk->disk_name;
	unsigned int was = rb->state;

	if (state == was)
		return;
	WRITE_ONCE(rb->state, state);
	if (was == EMPBLK_REBUILD_IDLE) {
		rb->started = jiffies;
		rb->run_bytes = 0;
	}
	switch (state) {
	case EMPBLK_REBUILD_RUNNING:
		if (was != EMPBLK_REBUILD_WAITING)
			pr_info("%s: rebuilding the second copy of %llu MiB\n",
				name, left);
		break;
	case EMPBLK_REBUILD_NO_SPACE:
		pr_warn("%s: %llu MiB have one copy, and no other backend has room for a second: add capacity, or free some\n",
			name, left);
		break;
	case EMPBLK_REBUILD_WAITING:
		empblk_rebuild_log_wait(name, err);
		break;
	case EMPBLK_REBUILD_IDLE:
		if (rb->run_bytes)
			pr_info("%s: rebuild done: %llu MiB copied in %u ms; every extent has its copies\n",
				name, rb->run_bytes >> 20,
				jiffies_to_msecs(jiffies - rb->started));
		break;
	}
	/* degraded or whole again: say so (a copy went stale, say) */
	empblk_stripe_announce(st);
}

/* How long to wait after copying an extent in @elapsed, for the rate cap. */
static unsigned long empblk_rebuild_throttle(struct empblk_stripe *st,
					     unsigned long elapsed)
{
	u32 rate = READ_ONCE(st->tier.dev->params.rebuild_rate_mb);
	unsigned long due;

	if (!rate)
		return 0;
	due = msecs_to_jiffies(DIV_ROUND_UP((EMPBLK_EXT_SIZE >> 10) * 1000,
					    (u64)rate << 10));
	return due > elapsed ? due - elapsed : 0;
}

/* The next degraded entry from @rb->next on, wrapping; or nr_entries. */
static u64 empblk_rebuild_find(struct empblk_stripe *st)
{
	struct empblk_place *pl = &st->pl;
	u64 e = find_next_bit(pl->degraded_map, pl->nr_entries, st->rb.next);

	return e < pl->nr_entries ? e :
	       find_first_bit(pl->degraded_map, pl->nr_entries);
}

/*
 * Rebuild one degraded entry, then run again (throttled); idle once none
 * is left. The bitmap is read without the lock: empblk_place_rebuild()
 * looks again under it.
 */
static void empblk_rebuild_work(struct work_struct *work)
{
	struct empblk_rebuild *rb = container_of(to_delayed_work(work),
						 struct empblk_rebuild, work);
	struct empblk_stripe *st = container_of(rb, struct empblk_stripe, rb);
	struct empblk_dev *dev = st->tier.dev;
	unsigned long t0 = jiffies, delay = 0;
	unsigned int noio;
	u64 e, left;
	int ret;

	if (test_bit(EMPBLK_DEV_REMOVING, &dev->flags))
		return;
	noio = memalloc_noio_save();
	e = empblk_rebuild_find(st);
	left = atomic64_read(&st->pl.degraded) << (EMPBLK_EXT_SHIFT - 20);
	if (e >= st->pl.nr_entries) {
		empblk_rebuild_set_state(st, EMPBLK_REBUILD_IDLE, 0, 0);
		memalloc_noio_restore(noio);
		return;
	}
	rb->next = e + 1;
	ret = empblk_place_rebuild(&st->pl, e, empblk_rebuild_copy, st);
	/* what it held back runs now: on the new copy, or as it was */
	blk_mq_kick_requeue_list(dev->disk->queue);
	if (!ret) {
		rb->misses = 0;
		rb->no_space = false;
		empblk_rebuild_set_state(st, EMPBLK_REBUILD_RUNNING, left, 0);
		atomic64_add(EMPBLK_EXT_SIZE, &rb->bytes);
		rb->run_bytes += EMPBLK_EXT_SIZE;
		delay = empblk_rebuild_throttle(st, jiffies - t0);
	} else if (ret != -EAGAIN) {
		/*
		 * Not now (no room, a backend reconnecting or failing, no
		 * good copy left: the salvage's): on to the next entry, which
		 * may do, until every degraded one was looked at; then a
		 * pause.
		 */
		rb->no_space |= ret == -ENOSPC;
		if (++rb->misses >= atomic64_read(&st->pl.degraded)) {
			empblk_rebuild_set_state(st, rb->no_space ?
						 EMPBLK_REBUILD_NO_SPACE :
						 EMPBLK_REBUILD_WAITING,
						 left, ret);
			delay = rb->no_space ? EMPBLK_REBUILD_NO_SPACE_DELAY :
					       EMPBLK_REBUILD_WAIT_DELAY;
			rb->misses = 0;
			rb->no_space = false;
		}
	}
	memalloc_noio_restore(noio);
	cond_resched();
	queue_delayed_work(empblk_wq, &rb->work, delay);
}

/**
 * empblk_rebuild_kick() - look for degraded entries to rebuild
 * @st: the stripe set
 * @now: even if the rebuild waits (a backend is back, a salvage moved
 *	entries); else only if it is not waiting already
 *
 * Any context but hard interrupts. Nothing once the device is stopping.
 */
void empblk_rebuild_kick(struct empblk_stripe *st, bool now)
{
	/* ->stop waits for us (synchronize_rcu()) before it cancels the work */
	rcu_read_lock();
	if (READ_ONCE(st->running) &&
	    !test_bit(EMPBLK_DEV_REMOVING, &st->tier.dev->flags)) {
		if (now)
			mod_delayed_work(empblk_wq, &st->rb.work, 0);
		else
			queue_delayed_work(empblk_wq, &st->rb.work, 0);
	}
	rcu_read_unlock();
}

/**
 * empblk_rebuild_stop() - stop rebuilding
 * @st: the stripe set, no longer running (no one kicks the rebuild)
 *
 * Waits for the entry being copied, if any.
 */
void empblk_rebuild_stop(struct empblk_stripe *st)
{
	cancel_delayed_work_sync(&st->rb.work);
}

/**
 * empblk_rebuild_init() - set up the rebuild of a stripe set
 * @st: the stripe set, its members added
 *
 * Allocates the buffer and page I/O state when the device keeps
 * replicas; nothing otherwise.
 *
 * Return: 0 or -ENOMEM.
 */
int empblk_rebuild_init(struct empblk_stripe *st)
{
	struct empblk_rebuild *rb = &st->rb;
	unsigned int i;

	INIT_DELAYED_WORK(&rb->work, empblk_rebuild_work);
	init_completion(&rb->done);
	atomic64_set(&rb->bytes, 0);
	if (st->pl.copies < 2)
		return 0;
	rb->pio.pages = rb->pages;
	rb->pio.nr_pages = EMPBLK_REBUILD_PAGES;
	rb->pio.end_io = empblk_rebuild_end_io;
	rb->pio.private = rb;
	rb->pio.tier_data = kvzalloc(st->tier.ops->pio_size(&st->tier,
							    EMPBLK_REBUILD_PAGES),
				     GFP_KERNEL);
	if (!rb->pio.tier_data)
		return -ENOMEM;
	for (i = 0; i < EMPBLK_REBUILD_PAGES; i++) {
		rb->pages[i] = alloc_page(GFP_KERNEL);
		if (!rb->pages[i]) {
			empblk_rebuild_free(st);
			return -ENOMEM;
		}
	}
	return 0;
}

/**
 * empblk_rebuild_free() - free what empblk_rebuild_init() allocated
 * @st: the stripe set, stopped
 */
void empblk_rebuild_free(struct empblk_stripe *st)
{
	struct empblk_rebuild *rb = &st->rb;
	unsigned int i;

	for (i = 0; i < EMPBLK_REBUILD_PAGES; i++) {
		if (rb->pages[i])
			__free_page(rb->pages[i]);
		rb->pages[i] = NULL;
	}
	kvfree(rb->pio.tier_data);
	rb->pio.tier_data = NULL;
}
