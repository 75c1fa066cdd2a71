// SPDX-License-Identifier: GPL-2.0
/*
 * The stripe set: the tier over a device's backends, donors and SSDs.
 *
 * Its members are the tiers that do the I/O (the remote tier for every
 * donor, the SSD tier for every SSD entry); it decides where data go,
 * through the placement map (placement.c), and they move it. The members
 * follow it in the stack (empblk_tier.next), so that the walks over the
 * stack (limits, per-request state, start, stop, usage) cover them, but
 * only the stripe set calls their I/O operations, and they end requests
 * through it (empblk_tier_end_rq()).
 *
 * A read or write takes a reference on every map entry it touches (at
 * most two rows of lanes: EMPBLK_STRIPE_MAX_REFS), then hands the request
 * to each member that holds a part of it; each member serves only its
 * own backends' parts (empblk_stripe_locate()) and the request completes
 * when the last member is done, with the first error. A write that
 * reaches an entry not mapped yet maps it first, which may sleep (a donor
 * extent is an admin exchange): from queue_rq it returns -EAGAIN and the
 * device's worker redoes it. A read of an entry no write reached returns
 * zeroes without I/O.
 *
 * With replicas, each entry has a copy on each of two backends. A read
 * goes to one live copy (a donor's before an SSD's); one that fails on a
 * backend still live runs again on the other copy. A write goes to every
 * live copy, in passes: a member serves one request at a time, so the
 * second copies go once the first are written, from empblk_submit_wq. A
 * page I/O (the DRAM cache's) goes to every copy at once. A backend that
 * fails leaves its entries degraded, served by their other copy: nothing
 * is lost while one copy of each entry lives. While a backend reconnects,
 * reads go to the other copies and writes skip its copies, marking them
 * stale (empblk_place_mark_stale()): no read uses a stale copy, and the
 * rebuild (rebuild.c) copies a good copy over it once the backend is
 * back. A request that a backend began to reconnect under runs again at
 * once, once, on the other copies.
 *
 * A discard unmaps the entries it covers whole, giving their extents back
 * (a donor chunk to its donor, an SSD extent discarded on the SSD), and
 * passes the whole subblocks of the rest down to the SSDs.
 *
 * A member that gives a backend up for good (a donor lost past its
 * loss_timeout, or restarted) reports it (empblk_stripe_backend_failed()).
 * What the backend held alone is lost, and only that: the salvage worker
 * marks those entries' pages lost and moves the entries to other backends
 * (empblk_place_salvage()). A read fails exactly its bios that read a
 * lost page (empblk_complete_rq_lost()); the others, and every other
 * request, are served. A write to a lost page goes to the entry's new
 * extent and makes the page good again; until the worker has moved the
 * entry, it is requeued. No read ever returns what a failed backend held
 * in place of data written since, nor zeroes in place of lost data.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/slab.h>

#include "empblk.h"
#include "placement.h"
#include "stripe.h"

/* the index in @st->members of the member serving backend @b */
static unsigned int empblk_stripe_member(struct empblk_stripe *st,
					 unsigned int b)
{
	return st->pl.be[b].member == st->members[0] ? 0 : 1;
}

/*
 * The entry of device byte @pos, referenced once in @r: its value when
 * first referenced; or 0 when it is not mapped, EMPBLK_PLACE_FROZEN when
 * it is being rebuilt (then no reference is held). *@ep is its index,
 * *@eoff the byte's offset in its extent, *@ri its index in @r.
 */
static u64 empblk_stripe_ref(struct empblk_stripe *st, struct empblk_strefs *r,
			     u64 pos, u64 *ep, u64 *eoff, unsigned int *ri)
{
	u64 e = empblk_place_entry(&st->pl, pos, eoff), ev;
	unsigned int i, p;

	*ep = e;
	/* lanes cycle: the entry, if held, is among the last few */
	for (i = r->nr; i--; )
		if (r->e[i] == e) {
			*ri = i;
			return r->v[i];
		}
	if (WARN_ON_ONCE(r->nr == EMPBLK_STRIPE_MAX_REFS)) {
		r->overflow = true;
		return 0;
	}
	ev = empblk_place_get(&st->pl, e);
	if (ev && ev != EMPBLK_PLACE_FROZEN) {
		for (p = 0; p < EMPBLK_MAX_COPIES; p++)
			r->use[p][r->nr] = 0;
		*ri = r->nr;
		r->v[r->nr] = ev;
		r->e[r->nr++] = e;
	}
	return ev;
}

/*
 * The copy of entry value @ev a read goes to: a live one (@live), not on
 * a backend in @avoid if it can, a donor's before an SSD's.
 */
static u32 empblk_stripe_read_copy(struct empblk_stripe *st, u64 ev,
				   unsigned long live, u32 avoid)
{
	unsigned int c, best = 0, score, best_score = 0;

	for_each_set_bit(c, &live, EMPBLK_MAX_COPIES) {
		unsigned int b = empblk_place_backend(empblk_place_copy(ev, c));

		score = 1 + !(avoid & BIT(b)) * 2 + st->pl.be[b].donor;
		if (score > best_score) {
			best = c;
			best_score = score;
		}
	}
	return empblk_place_copy(ev, best);
}

/* Backend @b failed (see empblk_stripe_backend_failed()). */
static bool empblk_stripe_be_failed(struct empblk_stripe *st, unsigned int b)
{
	/* pairs with the release in empblk_stripe_backend_failed() */
	return smp_load_acquire(&st->pl.be[b].failed);
}

/* One of the backends in @mask failed. */
static bool empblk_stripe_any_failed(struct empblk_stripe *st,
				     unsigned long mask)
{
	unsigned int b;

	for_each_set_bit(b, &mask, EMPBLK_MAX_BACKENDS)
		if (empblk_stripe_be_failed(st, b))
			return true;
	return false;
}

/* One of the backends in @mask is reconnecting. */
static bool empblk_stripe_any_busy(struct empblk_stripe *st,
				   unsigned long mask)
{
	unsigned int b;

	for_each_set_bit(b, &mask, EMPBLK_MAX_BACKENDS)
		if (READ_ONCE(st->pl.be[b].busy))
			return true;
	return false;
}

/*
 * The copies of entry @e (value @ev) an I/O goes to. A read: its good
 * copies, those on backends not reconnecting if any is. A write: every
 * live copy; with replicas, those on a reconnecting backend are skipped
 * and marked stale while a good copy is on a backend that is not (else
 * the write waits for the backends, in the members). 0 when no copy is
 * good: the entry's data went with failed backends.
 */
static unsigned int empblk_stripe_copies(struct empblk_stripe *st, u64 e,
					 u64 ev, bool write)
{
	struct empblk_place *pl = &st->pl;
	unsigned int good = empblk_place_good(pl, e, ev), live, ready;
	unsigned long busy;
	bool kick = false;
	unsigned int c;

	if (!good || pl->copies < 2)
		return good;
	if (!write) {
		ready = empblk_place_ready(pl, ev, good);
		return ready ? ready : good;
	}
	live = empblk_place_live(pl, ev);
	busy = live & ~empblk_place_ready(pl, ev, live);
	if (!busy)
		return live;
	/*
	 * Decided and marked under the lock, so that two writes seeing
	 * different backends busy (they come and go) never leave every copy
	 * stale: the second finds the first's copy stale, and waits.
	 */
	spin_lock_bh(&pl->stale_lock);
	good = empblk_place_good(pl, e, ev);
	ready = empblk_place_ready(pl, ev, good);
	busy = live & ~empblk_place_ready(pl, ev, live);
	if (!good || !ready || !busy) {
		spin_unlock_bh(&pl->stale_lock);
		return good ? live : 0;
	}
	for_each_set_bit(c, &busy, EMPBLK_MAX_COPIES) {
		struct empblk_backend *be =
			&pl->be[empblk_place_backend(empblk_place_copy(ev, c))];

		/*
		 * Newly degraded: the rebuild says so (a uevent), and waits.
		 * Back already: its return saw no stale copy, maybe.
		 */
		kick |= empblk_place_mark_stale(pl, e, c) ||
			!READ_ONCE(be->busy);
	}
	spin_unlock_bh(&pl->stale_lock);
	if (kick)
		empblk_rebuild_kick(st, false);
	return live & ~busy;
}

/* Whether the salvage worker is still to move entry value @ev's extents. */
static bool empblk_stripe_salvaging(struct empblk_stripe *st, u64 ev)
{
	unsigned int c;

	for (c = 0; c < st->pl.copies; c++) {
		u32 v = empblk_place_copy(ev, c);

		if (v && test_bit(empblk_place_backend(v), &st->salvage_pending))
			return true;
	}
	return false;
}

/*
 * An entry was mapped: if it got fewer copies than it should (too few
 * backends with room), the rebuild adds them once there is room.
 */
static void empblk_stripe_mapped(struct empblk_stripe *st)
{
	if (atomic64_read(&st->pl.degraded))
		empblk_rebuild_kick(st, false);
}

/* Salvage now, unless the device is going away (nothing to save then). */
static void empblk_stripe_salvage(struct empblk_stripe *st)
{
	if (!test_bit(EMPBLK_DEV_REMOVING, &st->tier.dev->flags))
		mod_delayed_work(empblk_wq, &st->salvage_work, 0);
}

/*
 * Entry value @ev has no good copy but a live one (stale: its good copy's
 * backend failed after the salvage looked at the entry): its data are
 * lost, and the salvage, kicked here, is to mark them so, page by page,
 * which makes the stale copies good again for writes. Return: whether it
 * is so.
 */
static bool empblk_stripe_unsalvaged(struct empblk_stripe *st, u64 ev)
{
	if (!empblk_place_live(&st->pl, ev))
		return false;
	empblk_stripe_salvage(st);
	return true;
}

/*
 * The pages @rq wrote (not served above) are good again, where they went
 * to the extent their entry still has (empblk_place_found()). Before the
 * references go.
 */
static void empblk_stripe_found(struct empblk_stripe *st, struct request *rq,
				struct empblk_strefs *r)
{
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 end = pos + blk_rq_bytes(rq), sb = 1ULL << st->pl.sb_shift;

	/* nothing lost: the bits are set before the entries they are in move */
	if (!atomic64_read(&st->pl.lost_pages))
		return;
	while (pos < end) {
		u64 len = empblk_rq_piece(rq, pos, sb), e, eoff;
		unsigned int i;

		e = empblk_place_entry(&st->pl, pos, &eoff);
		for (i = 0; i < r->nr; i++)
			if (r->e[i] == e && !empblk_rq_served(rq, pos))
				empblk_place_found(&st->pl, e, r->v[i], eoff,
						   len);
		pos += len;
	}
}

static void empblk_stripe_unref(struct empblk_stripe *st,
				struct empblk_strefs *r)
{
	while (r->nr)
		empblk_place_put(&st->pl, r->e[--r->nr]);
}

static void empblk_stripe_account(struct empblk_stripe *st, bool write,
				  const u32 *bytes)
{
	unsigned int b;

	for (b = 0; b < st->pl.nr_backends; b++)
		if (bytes[b])
			atomic64_add(bytes[b], write ?
				     &st->pl.be[b].write_bytes :
				     &st->pl.be[b].read_bytes);
}

/* A member is done with @rq, or the stripe set is done handing it out. */
static void empblk_stripe_put_rq(struct empblk_stripe *st,
				 struct request *rq)
{
	struct empblk_stcmd *sc = empblk_tier_pdu(&st->tier, rq);
	blk_status_t sts;

	if (!atomic_dec_and_test(&sc->pending))
		return;
	sts = (__force blk_status_t)READ_ONCE(sc->status);
	if (sts == BLK_STS_OK && sc->use.pass + 1 < sc->passes) {
		/*
		 * The next copies; members may sleep there, not here. Not on
		 * empblk_wq: its discards and salvage wait for our references.
		 */
		sc->use.pass++;
		queue_work(empblk_submit_wq, &sc->pass_work);
		return;
	}
	if (sts == BLK_STS_OK && rq_data_dir(rq) == WRITE)
		empblk_stripe_found(st, rq, &sc->refs);
	if (sts == EMPBLK_STS_RETRY && !sc->rerouted &&
	    st->pl.copies > 1 && empblk_stripe_any_busy(st, sc->backends)) {
		/* a backend reconnects: once at once, to the other copies */
		sc->rerouted = true;
		sts = EMPBLK_STS_AGAIN;
	}
	if (sts != BLK_STS_OK && sts != EMPBLK_STS_RETRY &&
	    sts != EMPBLK_STS_AGAIN) {
		if (empblk_stripe_any_failed(st, sc->backends)) {
			/* failed by a backend that failed meanwhile: again */
			sts = EMPBLK_STS_RETRY;
		} else if (rq_data_dir(rq) != WRITE &&
			   sc->tries + 1 < st->pl.copies) {
			/* a read: again at once, from other copies */
			sc->avoid |= sc->backends;
			sc->tries++;
			sts = EMPBLK_STS_AGAIN;
		}
	}
	empblk_stripe_unref(st, &sc->refs);
	empblk_complete_rq_lost(st->tier.dev, rq, sts,
				sc->nlost ? sc->lost : NULL);
}

/* A member ends its part of @rq (empblk_tier_ops.end_rq). */
static void empblk_stripe_end_rq(struct empblk_tier *t, struct request *rq,
				 blk_status_t sts)
{
	struct empblk_stcmd *sc = empblk_tier_pdu(t, rq);

	if (sts != BLK_STS_OK)
		cmpxchg(&sc->status, (__force int)BLK_STS_OK, (__force int)sts);
	empblk_stripe_put_rq(to_stripe(t), rq);
}

/*
 * Hand pass @sc->use.pass of @rq to its members: a read or write, with
 * the bytes it takes of each backend in @bytes (counted once it is under
 * way; NULL: counted already, or a flush). The first member may refuse it
 * with -EBUSY, untouched (no DMA mapping or READ sink free now): then the
 * request is requeued (a write is written again from its first copy: the
 * same data). Return: 0.
 */
static int empblk_stripe_dispatch(struct empblk_stripe *st,
				  struct request *rq, const u32 *bytes,
				  bool may_sleep)
{
	struct empblk_stcmd *sc = empblk_tier_pdu(&st->tier, rq);
	bool flush = req_op(rq) == REQ_OP_FLUSH, started = false;
	u32 mask = sc->masks[sc->use.pass];
	unsigned int i;

	atomic_set(&sc->pending, 1);
	sc->status = (__force int)BLK_STS_OK;
	for (i = 0; i < st->nr_members; i++) {
		struct empblk_tier *m = st->members[i];
		int ret;

		if (!(mask & BIT(i)))
			continue;
		atomic_inc(&sc->pending);
		ret = flush ? m->ops->flush(m, rq, may_sleep) :
			      m->ops->rw(m, rq, may_sleep);
		if (ret == -EBUSY && !started) {
			/* back-pressure: nothing is under way */
			empblk_stripe_unref(st, &sc->refs);
			blk_mq_requeue_request(rq, false);
			blk_mq_delay_kick_requeue_list(rq->q, 1);
			return 0;
		}
		if (WARN_ON_ONCE(ret))
			empblk_stripe_end_rq(&st->tier, rq, BLK_STS_IOERR);
		started = true;
	}
	if (bytes)
		empblk_stripe_account(st, rq_data_dir(rq) == WRITE, bytes);
	empblk_stripe_put_rq(st, rq);
	return 0;
}

/* The next pass of a request (the second copies of a write). */
static void empblk_stripe_pass_work(struct work_struct *work)
{
	struct empblk_stcmd *sc = container_of(work, struct empblk_stcmd,
					       pass_work);
	unsigned int noio = memalloc_noio_save();

	empblk_stripe_dispatch(sc->st, sc->rq, NULL, true);
	memalloc_noio_restore(noio);
}

/* End @rq, which no member has seen, with @err. */
static void empblk_stripe_fail(struct empblk_stripe *st, struct request *rq,
			       int err)
{
	struct empblk_stcmd *sc = empblk_tier_pdu(&st->tier, rq);
	struct empblk_dev *dev = st->tier.dev;

	empblk_stripe_unref(st, &sc->refs);
	if (err == -EBUSY) {
		/* a donor it may go to is reconnecting */
		empblk_complete_rq(dev, rq, EMPBLK_STS_RETRY);
		return;
	}
	if (err == -ENOSPC) {
		empblk_stat_inc(dev, EMPBLK_STAT_NOSPACE_ERRORS);
		pr_err_ratelimited("%s: write at sector %llu fails: no backend has room left\n",
				   dev->disk->disk_name,
				   (unsigned long long)blk_rq_pos(rq));
		empblk_complete_rq(dev, rq, BLK_STS_NOSPC);
		return;
	}
	empblk_stat_inc(dev, EMPBLK_STAT_ALLOC_FAILURES);
	pr_err_ratelimited("%s: %s at sector %llu fails: %s (%d)\n",
			   dev->disk->disk_name,
			   rq_data_dir(rq) == WRITE ? "write" : "read",
			   (unsigned long long)blk_rq_pos(rq),
			   err == -E2BIG ? "too many map entries" :
			   "no backend gave it space", err);
	empblk_complete_rq(dev, rq, BLK_STS_IOERR);
}

/*
 * A piece of @rq, [@pos, +@len), is in an entry (value @ev) whose
 * backends all failed. A read notes all its pages lost: its bios that
 * read them fail (none of the rest; lost pages of live entries are noted
 * by empblk_place_lost() in empblk_stripe_rw()). A write waits for the
 * salvage worker to move the entry (requeued), then goes to the new
 * extents; one that no backend had room for fails. Return: true once the
 * request is ended (or requeued) here, false to go on with it.
 */
static bool empblk_stripe_lost(struct empblk_stripe *st,
			       struct request *rq, u64 pos, u64 len, u64 ev)
{
	struct empblk_stcmd *sc = empblk_tier_pdu(&st->tier, rq);
	struct empblk_dev *dev = st->tier.dev;

	if (rq_data_dir(rq) != WRITE) {
		bitmap_set(sc->lost, empblk_rq_page(rq, pos), len >> PAGE_SHIFT);
		sc->nlost += len >> PAGE_SHIFT;
		empblk_stripe_unsalvaged(st, ev);
		return false;
	}
	empblk_stripe_unref(st, &sc->refs);
	if (empblk_stripe_salvaging(st, ev) ||
	    empblk_stripe_unsalvaged(st, ev)) {
		empblk_complete_rq(dev, rq, EMPBLK_STS_RETRY);
		return true;
	}
	empblk_stat_inc(dev, EMPBLK_STAT_NOSPACE_ERRORS);
	pr_err_ratelimited("%s: write at sector %llu fails: its backend failed and no other has room for its extent\n",
			   dev->disk->disk_name,
			   (unsigned long long)blk_rq_pos(rq));
	empblk_complete_rq(dev, rq, BLK_STS_NOSPC);
	return true;
}

/*
 * Where @len bytes of entry @ri of @r (value @ev, live copies @live) go:
 * a read to one copy (not on a backend in @avoid if it can), a write to
 * each, a pass per copy. Notes each pass's copy in @r->use and member in
 * @masks, and the bytes per backend in @bytes. Return: the passes taken.
 */
static unsigned int empblk_stripe_route_copies(struct empblk_stripe *st,
					       struct empblk_strefs *r,
					       unsigned int ri, u64 ev,
					       unsigned long live, bool write,
					       u32 avoid, u64 len, u32 *masks,
					       u32 *bytes)
{
	unsigned int c, p = 0;

	for_each_set_bit(c, &live, EMPBLK_MAX_COPIES) {
		u32 v = write ? empblk_place_copy(ev, c) :
			empblk_stripe_read_copy(st, ev, live, avoid);
		unsigned int b = empblk_place_backend(v);

		r->use[p][ri] = v;
		masks[p++] |= BIT(empblk_stripe_member(st, b));
		bytes[b] += len;
		if (!write)
			break;
	}
	return p;
}

/* ... for a piece of a request: notes its backends and passes in @sc */
static void empblk_stripe_route(struct empblk_stripe *st,
				struct empblk_stcmd *sc, unsigned int ri,
				u64 ev, unsigned long live, u64 len,
				u32 *bytes)
{
	unsigned int c, p;

	p = empblk_stripe_route_copies(st, &sc->refs, ri, ev, live,
				       rq_data_dir(sc->rq) == WRITE, sc->avoid,
				       len, sc->masks, bytes);
	sc->passes = max(sc->passes, p);
	for (c = 0; c < p; c++)
		sc->backends |= BIT(empblk_place_backend(sc->refs.use[c][ri]));
}

/* Forget where @rq was to go: its entries are referenced again. */
static void empblk_stripe_unroute(struct empblk_stcmd *sc, u32 *bytes)
{
	sc->backends = 0;
	sc->passes = 1;
	memset(sc->masks, 0, sizeof(sc->masks));
	memset(bytes, 0, EMPBLK_MAX_BACKENDS * sizeof(*bytes));
}

/*
 * Serve a read or write (empblk_tier_ops.rw): reference its map entries
 * (mapping those a write needs), zero what a read finds unmapped, note
 * what it finds lost, and hand the rest to the members. Return: 0, or
 * -EAGAIN with nothing done when an entry must be mapped and @may_sleep
 * is false.
 */
static int empblk_stripe_rw(struct empblk_tier *t, struct request *rq,
			    bool may_sleep)
{
	struct empblk_stripe *st = to_stripe(t);
	struct empblk_stcmd *sc = empblk_tier_pdu(t, rq);
	struct empblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	bool write = rq_data_dir(rq) == WRITE;
	u64 start = (u64)blk_rq_pos(rq) << SECTOR_SHIFT, pos = start;
	u64 end = pos + blk_rq_bytes(rq), sb = 1ULL << st->pl.sb_shift;
	DECLARE_BITMAP(holes, EMPBLK_MAX_RQ_PAGES);
	u32 bytes[EMPBLK_MAX_BACKENDS] = { };
	unsigned int nholes = 0;

	if (!(rq->rq_flags & RQF_DONTPREP)) {
		/* a new request, not one run again: no copy failed it yet */
		rq->rq_flags |= RQF_DONTPREP;
		sc->avoid = 0;
		sc->tries = 0;
		sc->rerouted = false;
	}
	sc->use.pass = 0;
	sc->refs.nr = 0;
	sc->refs.overflow = false;
	sc->nlost = 0;
	empblk_stripe_unroute(sc, bytes);
	bitmap_zero(sc->lost, EMPBLK_MAX_RQ_PAGES);
	bitmap_zero(holes, EMPBLK_MAX_RQ_PAGES);
	while (pos < end) {
		u64 len = empblk_rq_piece(rq, pos, sb), e, eoff, ev;
		unsigned int nl, ri;
		unsigned long live;

		if (empblk_rq_served(rq, pos)) {
			pos += len;
			continue;
		}
		ev = empblk_stripe_ref(st, &sc->refs, pos, &e, &eoff, &ri);
		if (unlikely(sc->refs.overflow)) {
			empblk_stripe_fail(st, rq, -E2BIG);
			return 0;
		}
		if (unlikely(ev == EMPBLK_PLACE_FROZEN)) {
			/* until the rebuild has copied it: it kicks us then */
			empblk_stripe_unref(st, &sc->refs);
			empblk_complete_rq(t->dev, rq, EMPBLK_STS_RETRY);
			return 0;
		}
		if (!ev && write) {
			int ret;

			/* mapping waits for no reference: hold none */
			empblk_stripe_unref(st, &sc->refs);
			if (!may_sleep)
				return -EAGAIN;
			ret = empblk_place_map(&st->pl, e);
			if (ret) {
				empblk_stripe_fail(st, rq, ret);
				return 0;
			}
			empblk_stripe_mapped(st);
			/* and reference everything again */
			pos = start;
			empblk_stripe_unroute(sc, bytes);
			continue;
		}
		live = ev ? empblk_stripe_copies(st, e, ev, write) : 0;
		if (!ev) {
			/* never written: zeroes */
			bitmap_set(holes, empblk_rq_page(rq, pos),
				   len >> PAGE_SHIFT);
			nholes += len >> PAGE_SHIFT;
		} else if (!live) {
			if (empblk_stripe_lost(st, rq, pos, len, ev))
				return 0;
		} else {
			/* a read fails the bios that read lost pages, only */
			nl = write ? 0 : empblk_place_lost(&st->pl, e, eoff, len,
							   sc->lost,
							   empblk_rq_page(rq,
									  pos));
			sc->nlost += nl;
			if (nl < len >> PAGE_SHIFT)
				empblk_stripe_route(st, sc, ri, ev, live,
						    len - ((u64)nl << PAGE_SHIFT),
						    bytes);
		}
		pos += len;
	}
	if (nholes) {
		empblk_rq_zero_pages(rq, holes);
		bitmap_or(cmd->served, cmd->served, holes,
			  EMPBLK_MAX_RQ_PAGES);
		empblk_stat_add(t->dev, EMPBLK_STAT_UNWRITTEN_READS, nholes);
	}
	if (sc->nlost)
		bitmap_or(cmd->served, cmd->served, sc->lost,
			  EMPBLK_MAX_RQ_PAGES);
	if (!sc->masks[0]) {
		empblk_stripe_unref(st, &sc->refs);
		empblk_complete_rq_lost(t->dev, rq, BLK_STS_OK,
					sc->nlost ? sc->lost : NULL);
		return 0;
	}
	return empblk_stripe_dispatch(st, rq, bytes, may_sleep);
}

/* A flush (empblk_tier_ops.flush): of every member that has volatile state */
static int empblk_stripe_flush(struct empblk_tier *t, struct request *rq,
			       bool may_sleep)
{
	struct empblk_stripe *st = to_stripe(t);
	struct empblk_stcmd *sc = empblk_tier_pdu(t, rq);
	unsigned int i;

	sc->use.pass = 0;
	sc->passes = 1;
	sc->refs.nr = 0;
	sc->backends = 0;
	sc->nlost = 0;
	sc->masks[0] = 0;
	for (i = 0; i < st->nr_members; i++)
		if (st->members[i]->ops->flush)
			sc->masks[0] |= BIT(i);
	if (!sc->masks[0]) {
		empblk_complete_rq(t->dev, rq, BLK_STS_OK);
		return 0;
	}
	return empblk_stripe_dispatch(st, rq, NULL, may_sleep);
}

/* Pass the discard of subblocks [@k0, @k1) of entry @e to its backends. */
static void empblk_stripe_trim(struct empblk_stripe *st, u64 e, u64 k0,
			       u64 k1)
{
	u64 ev = empblk_place_get(&st->pl, e);
	unsigned int c;

	/* being rebuilt: discards are advisory, and it copies whole extents */
	if (!ev || ev == EMPBLK_PLACE_FROZEN)
		return;
	for (c = 0; c < st->pl.copies; c++) {
		u32 v = empblk_place_copy(ev, c);
		struct empblk_backend *be;

		if (!v)
			continue;
		be = &st->pl.be[empblk_place_backend(v)];
		if (be->member->ops->trim)
			be->member->ops->trim(be->member, be->idx,
					      (empblk_place_ext(v) <<
					       EMPBLK_EXT_SHIFT) +
					      (k0 << st->pl.sb_shift),
					      (k1 - k0) << st->pl.sb_shift);
	}
	empblk_place_put(&st->pl, e);
}

/*
 * A discard or write-zeroes (empblk_tier_ops.discard): entries covered
 * whole are unmapped and their extents given back; whole subblocks of
 * the others are discarded on SSDs. Partial subblocks are kept. Sleeps:
 * from queue_rq, -EAGAIN.
 */
static int empblk_stripe_discard(struct empblk_tier *t, struct request *rq,
				 bool may_sleep)
{
	struct empblk_stripe *st = to_stripe(t);
	struct empblk_place *pl = &st->pl;
	u64 start = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 g0 = DIV_ROUND_UP_ULL(start, 1ULL << pl->sb_shift);
	u64 g1 = (start + blk_rq_bytes(rq)) >> pl->sb_shift;
	u64 rows = EMPBLK_EXT_SIZE >> pl->sb_shift;
	u64 per_group = rows * pl->lanes;	/* subblocks per row of lanes */
	u64 grp;

	if (!may_sleep)
		return -EAGAIN;
	for (grp = div64_u64(g0, per_group); g0 < g1 && grp * per_group < g1;
	     grp++) {
		unsigned int lane;

		for (lane = 0; lane < pl->lanes; lane++) {
			u64 e = grp * pl->lanes + lane, k0, k1;

			if (e >= pl->nr_entries)
				break;
			empblk_layout_run(g0, g1, e, pl->sb_shift, pl->lanes,
					  &k0, &k1);
			if (k1 <= k0)
				continue;
			if (!k0 && k1 == rows)
				empblk_place_unmap(pl, e);
			else
				empblk_stripe_trim(st, e, k0, k1);
		}
		cond_resched();
	}
	/* room for entries left on a failed backend, maybe */
	if (READ_ONCE(pl->stuck))
		empblk_stripe_salvage(st);
	empblk_complete_rq(t->dev, rq, BLK_STS_OK);
	return 0;
}

/* The pages a page I/O wrote are good again (empblk_place_found()). */
static void empblk_stpio_found(struct empblk_stpio *sp)
{
	struct empblk_place *pl = &sp->st->pl;
	unsigned int i, k;

	/* nothing lost: the bits are set before the entries they are in move */
	if (!atomic64_read(&pl->lost_pages))
		return;
	for (i = 0; i < sp->pio->nr_pages; i++) {
		u64 eoff, e = empblk_place_entry(pl, sp->pio->pos +
						 ((u64)i << PAGE_SHIFT), &eoff);

		for (k = 0; k < sp->refs.nr; k++)
			if (sp->refs.e[k] == e)
				empblk_place_found(pl, e, sp->refs.v[k], eoff,
						   PAGE_SIZE);
	}
}

/* A member is done with its part of a page I/O. */
static void empblk_stpio_put(struct empblk_stpio *sp)
{
	if (!atomic_dec_and_test(&sp->pending))
		return;
	if (sp->write && !READ_ONCE(sp->failed))
		empblk_stpio_found(sp);
	empblk_stripe_unref(sp->st, &sp->refs);
	sp->pio->end_io(sp->pio, !READ_ONCE(sp->failed));
}

static void empblk_stpio_end(struct empblk_pio *sub, bool ok)
{
	struct empblk_stpio *sp = sub->private;

	if (!ok)
		WRITE_ONCE(sp->failed, true);
	empblk_stpio_put(sp);
}

/* The state of a page I/O: struct empblk_stpio, then each member's, per copy. */
static size_t empblk_stripe_pio_size(struct empblk_tier *t,
				     unsigned int nr_pages)
{
	struct empblk_stripe *st = to_stripe(t);
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < st->nr_members; i++)
		n += ALIGN(st->members[i]->ops->pio_size(st->members[i],
							 nr_pages),
			   sizeof(long));
	return ALIGN(sizeof(struct empblk_stpio), sizeof(long)) +
	       n * st->pl.copies;
}

/*
 * Reference the entries of a page I/O's pages, mapping those a write
 * needs (which may sleep) and zeroing the pages of those a read finds
 * unmapped; note which copy each pass serves (a read: one live copy; a
 * write: each live copy, a pass each), the members each pass goes to in
 * @masks and the bytes per backend in @bytes. Return: 0, or a negative
 * errno with no reference held.
 */
static int empblk_stpio_route(struct empblk_stpio *sp, u32 *masks,
			      u32 *bytes)
{
	struct empblk_stripe *st = sp->st;
	struct empblk_pio *pio = sp->pio;
	unsigned long lost = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < pio->nr_pages; ) {
		u64 e, eoff, ev;
		unsigned long live;
		unsigned int ri;

		ev = empblk_stripe_ref(st, &sp->refs,
				       pio->pos + ((u64)i << PAGE_SHIFT),
				       &e, &eoff, &ri);
		if (unlikely(sp->refs.overflow)) {
			ret = -E2BIG;
			goto out_unref;
		}
		if (unlikely(ev == EMPBLK_PLACE_FROZEN)) {
			/* being rebuilt: the layer tries again later */
			ret = -EBUSY;
			goto out_unref;
		}
		if (!ev && !sp->write) {
			/* never written */
			memzero_page(pio->pages[i++], 0, PAGE_SIZE);
			continue;
		}
		if (!ev) {
			/* mapping waits for no reference: hold none */
			empblk_stripe_unref(st, &sp->refs);
			ret = empblk_place_map(&st->pl, e);
			if (ret)
				return ret;
			empblk_stripe_mapped(st);
			/* and reference everything again */
			i = 0;
			memset(masks, 0, EMPBLK_MAX_COPIES * sizeof(*masks));
			memset(bytes, 0, EMPBLK_MAX_BACKENDS * sizeof(*bytes));
			continue;
		}
		live = empblk_stripe_copies(st, e, ev, sp->write);
		if (!live) {
			/* the cache writes back again once the entry moved */
			bool wait = empblk_stripe_salvaging(st, ev) ||
				    empblk_stripe_unsalvaged(st, ev);

			ret = !sp->write ? -EIO : wait ? -EBUSY : -ENOSPC;
			goto out_unref;
		}
		if (!sp->write && empblk_place_lost(&st->pl, e, eoff, PAGE_SIZE,
						    &lost, 0)) {
			ret = -EIO;
			goto out_unref;
		}
		empblk_stripe_route_copies(st, &sp->refs, ri, ev, live,
					   sp->write, 0, PAGE_SIZE, masks, bytes);
		i++;
	}
	return 0;

out_unref:
	empblk_stripe_unref(st, &sp->refs);
	return ret;
}

/* A page I/O's stripe-set state, fresh: nothing referenced, routed or failed. */
static void empblk_stpio_init(struct empblk_stpio *sp, struct empblk_stripe *st,
			      struct empblk_pio *pio, bool write)
{
	sp->pio = pio;
	sp->st = st;
	sp->failed = false;
	sp->refs.nr = 0;
	sp->refs.overflow = false;
	sp->write = write;
}

/*
 * The page I/O that member @i serves in pass @p of @sp, pointed at
 * @sp->pio's pages and at its own state: the members' states follow
 * struct empblk_stpio, pass by pass (empblk_stripe_pio_size()).
 */
static struct empblk_pio *empblk_stpio_sub(struct empblk_stpio *sp,
					   unsigned int p, unsigned int i)
{
	struct empblk_stripe *st = sp->st;
	struct empblk_pio *pio = sp->pio, *sub = &sp->sub[p][i];
	char *data = (char *)sp + ALIGN(sizeof(*sp), sizeof(long));
	unsigned int k;

	for (k = 0; k < p * st->nr_members + i; k++) {
		struct empblk_tier *m = st->members[k % st->nr_members];

		data += ALIGN(m->ops->pio_size(m, pio->nr_pages),
			      sizeof(long));
	}
	sub->pos = pio->pos;
	sub->pages = pio->pages;
	sub->nr_pages = pio->nr_pages;
	sub->end_io = empblk_stpio_end;
	sub->private = sp;
	sub->tier_data = data;
	return sub;
}

/*
 * Read or write a layer's pages (empblk_tier_ops.read_pages and
 * .write_pages): route them (empblk_stpio_route()), then give each member
 * holding some of them, in each pass, the page I/O; the last one to
 * finish reports, or this, when none has any.
 */
static int empblk_stripe_pages(struct empblk_tier *t, struct empblk_pio *pio,
			       bool write)
{
	struct empblk_stripe *st = to_stripe(t);
	struct empblk_stpio *sp = pio->tier_data;
	u32 bytes[EMPBLK_MAX_BACKENDS] = { };
	u32 masks[EMPBLK_MAX_COPIES] = { };
	unsigned int i, p;
	int ret = 0;

	empblk_stpio_init(sp, st, pio, write);
	ret = empblk_stpio_route(sp, masks, bytes);
	if (ret)
		return ret;

	atomic_set(&sp->pending, 1);
	for (p = 0; p < st->pl.copies; p++) {
		sp->use[p].refs = &sp->refs;
		sp->use[p].pass = p;
		sp->use[p].raw = 0;
		for (i = 0; i < st->nr_members; i++) {
			struct empblk_tier *m = st->members[i];
			struct empblk_pio *sub;

			if (!(masks[p] & BIT(i)))
				continue;
			sub = empblk_stpio_sub(sp, p, i);
			atomic_inc(&sp->pending);
			ret = write ? m->ops->write_pages(m, sub) :
				      m->ops->read_pages(m, sub);
			if (ret) {
				WRITE_ONCE(sp->failed, true);
				atomic_dec(&sp->pending);
			}
			if (ret == -EOPNOTSUPP &&
			    atomic_read(&sp->pending) == 1) {
				/* the first member cannot: say so, start no other */
				goto out_unref;
			}
		}
	}
	empblk_stripe_account(st, write, bytes);
	if (READ_ONCE(sp->failed) && atomic_read(&sp->pending) == 1) {
		/* nothing is under way: report it here, not by end_io */
		ret = ret ? ret : -EIO;
		goto out_unref;
	}
	empblk_stpio_put(sp);
	return 0;

out_unref:
	empblk_stripe_unref(st, &sp->refs);
	return ret;
}

/**
 * empblk_stripe_extent_io() - read or write a piece of one copy's extent
 * @st: the stripe set
 * @pio: the page I/O: @pio->pos is a byte offset in the extent, and its
 *	tier_data the stripe set's state (->pio_size() bytes)
 * @v: the copy (see EMPBLK_PLACE_EXT_BITS)
 * @write: a write (else a read)
 *
 * For the rebuild, which holds the entry frozen (no I/O uses it) and
 * references no map entry. May sleep; in a NOIO scope.
 *
 * Return: 0 once under way (@pio->end_io reports the outcome), or a
 * negative errno with nothing under way.
 */
int empblk_stripe_extent_io(struct empblk_stripe *st, struct empblk_pio *pio,
			    u32 v, bool write)
{
	struct empblk_stpio *sp = pio->tier_data;
	struct empblk_backend *be = &st->pl.be[empblk_place_backend(v)];
	unsigned int i = empblk_stripe_member(st, empblk_place_backend(v));
	struct empblk_tier *m = st->members[i];
	struct empblk_pio *sub;
	int ret;

	empblk_stpio_init(sp, st, pio, write);
	sp->use[0].refs = &sp->refs;
	sp->use[0].pass = 0;
	sp->use[0].raw = v;
	sub = empblk_stpio_sub(sp, 0, i);
	atomic_set(&sp->pending, 2);
	ret = write ? m->ops->write_pages(m, sub) : m->ops->read_pages(m, sub);
	if (ret)
		return ret;
	atomic64_add((u64)pio->nr_pages << PAGE_SHIFT,
		     write ? &be->write_bytes : &be->read_bytes);
	empblk_stpio_put(sp);
	return 0;
}

static int empblk_stripe_write_pages(struct empblk_tier *t,
				     struct empblk_pio *pio)
{
	return empblk_stripe_pages(t, pio, true);
}

static int empblk_stripe_read_pages(struct empblk_tier *t,
				    struct empblk_pio *pio)
{
	return empblk_stripe_pages(t, pio, false);
}

static int empblk_stripe_poll(struct empblk_tier *t, unsigned int hctx_idx)
{
	struct empblk_stripe *st = to_stripe(t);
	unsigned int i;
	int n = 0;

	for (i = 0; i < st->nr_members; i++)
		n += empblk_tier_poll(st->members[i], hctx_idx);
	return n;
}

/* A request timed out: the members it may wait for decide. */
static enum blk_eh_timer_return empblk_stripe_timeout(struct empblk_tier *t,
						      struct request *rq)
{
	struct empblk_stripe *st = to_stripe(t);
	unsigned int i;

	for (i = 0; i < st->nr_members; i++)
		if (empblk_tier_timeout(st->members[i], rq) == BLK_EH_DONE)
			return BLK_EH_DONE;
	return BLK_EH_RESET_TIMER;
}

static void empblk_stripe_abort(struct empblk_tier *t, const char *why)
{
	struct empblk_stripe *st = to_stripe(t);
	unsigned int i;

	for (i = 0; i < st->nr_members; i++)
		empblk_tier_abort(st->members[i], why);
}

/**
 * empblk_stripe_announce() - tell user space the device's health
 * @st: the stripe set
 *
 * A change uevent, EMPBLK_HEALTH=ok|degraded|lost, when the health is
 * other than it last said. From the salvage and rebuild workers only.
 */
void empblk_stripe_announce(struct empblk_stripe *st)
{
	struct empblk_dev *dev = st->tier.dev;
	struct empblk_usage u;
	const char *health;
	char env[32];
	char *envp[2];

	if (test_bit(EMPBLK_DEV_REMOVING, &dev->flags))
		return;
	/* the salvage and the rebuild both announce */
	mutex_lock(&st->announce_lock);
	empblk_tiers_usage(dev->tier, &u);
	health = empblk_health(&u);
	if (strcmp(health, st->announced)) {
		st->announced = health;
		snprintf(env, sizeof(env), "EMPBLK_HEALTH=%s", health);
		envp[0] = env;
		envp[1] = NULL;
		kobject_uevent_env(&disk_to_dev(dev->disk)->kobj, KOBJ_CHANGE,
				   envp);
	}
	mutex_unlock(&st->announce_lock);
}

/*
 * Move the entries of failed backends to the others (NOIO scope: swap
 * may wait for it), then run the writes held meanwhile. Again in a second
 * while an entry stays for a reason that passes.
 */
static void empblk_stripe_salvage_work(struct work_struct *work)
{
	struct empblk_stripe *st = container_of(to_delayed_work(work),
						struct empblk_stripe,
						salvage_work);
	struct empblk_dev *dev = st->tier.dev;
	s64 lost = atomic64_read(&st->pl.lost_pages);
	u64 moved, stuck, kept;
	unsigned long todo = 0;
	unsigned int noio, b;
	bool retry;

	/* the backends this pass sees failed: only their writes go on */
	for (b = 0; b < st->pl.nr_backends; b++)
		if (test_bit(b, &st->salvage_pending) &&
		    empblk_stripe_be_failed(st, b))
			todo |= BIT(b);
	noio = memalloc_noio_save();
	stuck = empblk_place_salvage(&st->pl, &moved, &retry, &kept);
	/* each fewer if writes or discards took some meanwhile */
	lost = atomic64_read(&st->pl.lost_pages) - lost;
	if (lost > 0 || moved)
		pr_warn("%s: %lld MiB of data lost with a failed backend; %llu extents moved to other backends, %llu left for lack of room; reads of lost pages fail until they are written again\n",
			dev->disk->disk_name, max(lost, 0LL) >> (20 - PAGE_SHIFT),
			moved, stuck);
	if (kept)
		pr_warn("%s: %llu MiB lost a copy with a failed backend; served from the other copy, nothing lost\n",
			dev->disk->disk_name, kept << (EMPBLK_EXT_SHIFT - 20));
	/* its allocations, too, must not wait for the writes held here */
	empblk_stripe_announce(st);
	memalloc_noio_restore(noio);
	/* second copies for what lost one, where there is room */
	if (atomic64_read(&st->pl.degraded))
		empblk_rebuild_kick(st, true);
	if (retry) {
		/* writes to what stayed wait (a backend reconnects) */
		queue_delayed_work(empblk_wq, &st->salvage_work, HZ);
		return;
	}
	/* a write that sees the bit clear finds its entry moved, or stuck */
	smp_mb__before_atomic();
	for_each_set_bit(b, &todo, EMPBLK_MAX_BACKENDS)
		clear_bit(b, &st->salvage_pending);
	blk_mq_kick_requeue_list(dev->disk->queue);
}

/**
 * empblk_stripe_backend_failed() - a member gave one of its backends up
 * @member: a member of a stripe set
 * @idx: the backend's index in @member
 *
 * Any context. The backend's data are lost: reads of them fail from now
 * on, and the salvage worker moves its entries to other backends
 * (empblk_place_salvage()), holding writes to them until it has.
 */
void empblk_stripe_backend_failed(struct empblk_tier *member,
				  unsigned int idx)
{
	struct empblk_stripe *st = to_stripe(member->up);
	unsigned int b;

	for (b = 0; b < st->pl.nr_backends; b++) {
		struct empblk_backend *be = &st->pl.be[b];

		if (be->member != member || be->idx != idx ||
		    READ_ONCE(be->failed))
			continue;
		set_bit(b, &st->salvage_pending);
		/*
		 * Pending before failed: a write that sees it failed waits
		 * for the salvage. Pairs with empblk_stripe_failed().
		 */
		smp_store_release(&be->failed, true);
	}
	/* the flag before ->start's check of it; pairs with its smp_mb() */
	smp_mb();
	/* ->stop waits for us before it cancels the work */
	rcu_read_lock();
	if (READ_ONCE(st->running))
		empblk_stripe_salvage(st);
	rcu_read_unlock();
}

/**
 * empblk_stripe_backend_busy() - a member's backend reconnects, or is back
 * @member: a member of a stripe set
 * @idx: the backend's index in @member
 * @busy: reconnecting (its I/O is held), or back
 *
 * Any context. With replicas, reads go to the other copies meanwhile and
 * writes skip it, marking its copies stale; once it is back the rebuild
 * copies good data over them.
 */
void empblk_stripe_backend_busy(struct empblk_tier *member, unsigned int idx,
				bool busy)
{
	struct empblk_stripe *st = to_stripe(member->up);
	unsigned int b;

	for (b = 0; b < st->pl.nr_backends; b++)
		if (st->pl.be[b].member == member && st->pl.be[b].idx == idx)
			WRITE_ONCE(st->pl.be[b].busy, busy);
	if (busy)
		return;
	/* back before the count; pairs with empblk_place_mark_stale() */
	smp_mb();
	if (atomic64_read(&st->pl.degraded))
		empblk_rebuild_kick(st, true);
}

static int empblk_stripe_start(struct empblk_tier *t)
{
	struct empblk_stripe *st = to_stripe(t);

	WRITE_ONCE(st->running, true);
	/* pairs with the smp_mb() in empblk_stripe_backend_failed() */
	smp_mb();
	/* a backend that failed while the members started */
	if (READ_ONCE(st->salvage_pending))
		empblk_stripe_salvage(st);
	return 0;
}

static void empblk_stripe_stop(struct empblk_tier *t)
{
	struct empblk_stripe *st = to_stripe(t);

	WRITE_ONCE(st->running, false);
	synchronize_rcu();
	cancel_delayed_work_sync(&st->salvage_work);
	empblk_rebuild_stop(st);
}

static void empblk_stripe_usage(struct empblk_tier *t, struct empblk_usage *u)
{
	struct empblk_stripe *st = to_stripe(t);
	unsigned int b;

	for (b = 0; b < st->pl.nr_backends; b++)
		u->backends_failed += READ_ONCE(st->pl.be[b].failed);
	u->lost_bytes = (u64)atomic64_read(&st->pl.lost_pages) << PAGE_SHIFT;
	u->degraded_bytes = atomic64_read(&st->pl.degraded) << EMPBLK_EXT_SHIFT;
	u->rebuild_state = empblk_rebuild_states[READ_ONCE(st->rb.state)];
	u->rebuild_bytes = atomic64_read(&st->rb.bytes);
}

static void empblk_stripe_destroy(struct empblk_tier *t)
{
	struct empblk_stripe *st = to_stripe(t);

	empblk_rebuild_free(st);
	empblk_place_free(&st->pl);
	kfree(st);
}

static void empblk_stripe_init_request(struct empblk_tier *t,
				       struct request *rq, void *pdu)
{
	struct empblk_stcmd *sc = pdu;

	sc->st = to_stripe(t);
	sc->rq = rq;
	sc->use.refs = &sc->refs;
	INIT_WORK(&sc->pass_work, empblk_stripe_pass_work);
}

static const struct empblk_tier_ops empblk_stripe_ops = {
	.name		= "stripe",
	.cmd_size	= sizeof(struct empblk_stcmd),
	.init_request	= empblk_stripe_init_request,
	.start		= empblk_stripe_start,
	.stop		= empblk_stripe_stop,
	.destroy	= empblk_stripe_destroy,
	.usage		= empblk_stripe_usage,
	.rw		= empblk_stripe_rw,
	.discard	= empblk_stripe_discard,
	.flush		= empblk_stripe_flush,
	.poll		= empblk_stripe_poll,
	.timeout	= empblk_stripe_timeout,
	.abort		= empblk_stripe_abort,
	.end_rq		= empblk_stripe_end_rq,
	.pio_size	= empblk_stripe_pio_size,
	.write_pages	= empblk_stripe_write_pages,
	.read_pages	= empblk_stripe_read_pages,
};

/**
 * empblk_stripe_rq_refs() - what a member is to serve of a request
 * @member: a member of a stripe set
 * @rq: a request the stripe set handed it
 *
 * Return: what empblk_stripe_locate() serves @rq's parts by.
 */
const struct empblk_stuse *empblk_stripe_rq_refs(struct empblk_tier *member,
						 struct request *rq)
{
	struct empblk_stcmd *sc = empblk_tier_pdu(member->up, rq);

	return &sc->use;
}

/**
 * empblk_stripe_pio_refs() - what a member is to serve of a page I/O
 * @pio: a page I/O the stripe set handed a member
 *
 * Return: what empblk_stripe_locate() serves @pio's pages by.
 */
const struct empblk_stuse *empblk_stripe_pio_refs(struct empblk_pio *pio)
{
	struct empblk_stpio *sp = pio->private;
	unsigned int p = (pio - &sp->sub[0][0]) / EMPBLK_STRIPE_MAX_MEMBERS;

	return &sp->use[p];
}

/**
 * empblk_stripe_locate() - where a member serves a device byte
 * @member: a member of a stripe set
 * @use: what it serves of the request or page I/O
 *	(empblk_stripe_rq_refs(), empblk_stripe_pio_refs())
 * @pos: device byte offset in it
 * @idx: the backend's index in @member
 * @off: the byte's offset in that backend's space
 *
 * By where the entry's copy was when the stripe set handed the I/O over,
 * not where it is now: a failed backend's entries move under I/O that
 * the stripe set already sent elsewhere.
 *
 * Return: true if one of @member's backends holds @pos in this pass;
 * false if another member's does, or nothing does.
 */
bool empblk_stripe_locate(struct empblk_tier *member,
			  const struct empblk_stuse *use, u64 pos,
			  unsigned int *idx, u64 *off)
{
	struct empblk_place *pl = &to_stripe(member->up)->pl;
	const struct empblk_strefs *refs = use->refs;
	const struct empblk_backend *be;
	u64 eoff, e;
	unsigned int i;
	u32 v = use->raw;

	if (v) {
		/* an extent addressed directly (empblk_stripe_extent_io()) */
		eoff = pos;
		goto found;
	}
	e = empblk_place_entry(pl, pos, &eoff);
	for (i = 0; i < refs->nr; i++)
		if (refs->e[i] == e) {
			v = refs->use[use->pass][i];
			break;
		}
	if (!v)
		return false;
found:
	be = &pl->be[empblk_place_backend(v)];
	if (be->member != member)
		return false;
	*idx = be->idx;
	*off = (empblk_place_ext(v) << EMPBLK_EXT_SHIFT) + eoff;
	return true;
}

/**
 * empblk_stripe_place() - the placement map of a device's stack
 * @top: the top of the stack
 *
 * Return: the map, or NULL when the stack has no stripe set.
 */
struct empblk_place *empblk_stripe_place(struct empblk_tier *top)
{
	for (; top; top = top->next)
		if (top->ops == &empblk_stripe_ops)
			return &to_stripe(top)->pl;
	return NULL;
}

/*
 * The backends of @member, in mem_path order: @nr of them, the space of
 * the i-th from @mib(spec, i).
 */
static int empblk_stripe_add_member(struct empblk_stripe *st,
				    struct empblk_tier *member, bool donor,
				    unsigned int nr,
				    u64 (*mib)(const struct empblk_spec *s,
					       unsigned int i))
{
	const struct empblk_spec *spec = &st->tier.dev->params.spec;
	unsigned int i;
	int ret;

	for (i = 0; i < nr; i++) {
		ret = empblk_place_add_backend(&st->pl, member, i, donor,
					       mib(spec, i) << 20);
		if (ret)
			return ret;
	}
	member->up = &st->tier;
	st->members[st->nr_members++] = member;
	return 0;
}

static u64 empblk_donor_mb(const struct empblk_spec *s, unsigned int i)
{
	return s->donors[i].mb;
}

static u64 empblk_ssd_mb(const struct empblk_spec *s, unsigned int i)
{
	return s->ssds[i].mb;
}

/**
 * empblk_stripe_tier_create() - the stripe set over a device's backends
 * @dev: the device (its params name the backends and the policy)
 * @remote: the remote tier, or NULL without donors
 * @ssd: the SSD tier, or NULL without SSDs
 *
 * The members become the tiers below it (@remote, then @ssd), which it
 * owns from now on, also on failure.
 *
 * Return: the tier, or an ERR_PTR.
 */
struct empblk_tier *empblk_stripe_tier_create(struct empblk_dev *dev,
					      struct empblk_tier *remote,
					      struct empblk_tier *ssd)
{
	const struct empblk_params *p = &dev->params;
	u64 size_mb = empblk_capacity_mb(p);
	struct empblk_stripe *st = kzalloc(sizeof(*st), GFP_KERNEL);
	int ret = -ENOMEM;

	if (remote)
		remote->next = ssd;
	if (!st)
		goto out_destroy_members;
	st->tier.ops = &empblk_stripe_ops;
	st->tier.dev = dev;
	st->announced = "ok";
	mutex_init(&st->announce_lock);
	INIT_DELAYED_WORK(&st->salvage_work, empblk_stripe_salvage_work);
	st->tier.next = remote ? remote : ssd;
	ret = empblk_place_init(&st->pl, size_mb << 20,
				ilog2(p->subblock_size),
				p->spec.nr_donors + p->spec.nr_ssds,
				p->replicas, p->placement);
	if (ret)
		goto out_free;
	if (remote)
		ret = empblk_stripe_add_member(st, remote, true,
					       p->spec.nr_donors,
					       empblk_donor_mb);
	if (!ret && ssd)
		ret = empblk_stripe_add_member(st, ssd, false, p->spec.nr_ssds,
					       empblk_ssd_mb);
	if (ret)
		goto out_free_place;
	ret = empblk_rebuild_init(st);
	if (ret)
		goto out_free_place;
	return &st->tier;

out_free_place:
	empblk_place_free(&st->pl);
out_free:
	kfree(st);
out_destroy_members:
	empblk_tiers_destroy(remote ? remote : ssd);
	return ERR_PTR(ret);
}
