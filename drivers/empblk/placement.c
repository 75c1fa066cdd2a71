// SPDX-License-Identifier: GPL-2.0
/*
 * The placement map: where each extent of a device's space lives.
 *
 * A device with donors or SSDs places its space in extents of 2 MiB
 * (EMPBLK_EXT_SIZE, one donor chunk). The layout (spec.h) is arithmetic:
 * it deals consecutive subblocks to consecutive lanes, so that one map
 * entry holds one lane's subblocks over 2 MiB of backend space. Which
 * backend, and which extent of it, holds an entry is not arithmetic: it
 * is this map, one u64 per entry (a 1 TiB device has 512 Ki entries: 4
 * MiB of map, 2 MiB of reference counts, and 4 MiB of pointers to
 * lost-page bitmaps), so that an extent can move (a failed backend's do),
 * drain or be replicated by rewriting its entry.
 *
 * With replicas, an entry has two copies (EMPBLK_MAX_COPIES), each on an
 * extent of a different backend, both in its u64: an I/O sees both of
 * them or neither change.
 *
 * Entries are mapped on the first write that reaches them, by the
 * device's policy (enum empblk_placement), and unmapped when a discard
 * covers them whole. A backend that refuses an extent for lack of space
 * (a donor whose budget is spent) is skipped until it gives one back, and
 * every policy goes on to the next backend; only when none has room does
 * a write fail with ENOSPC.
 *
 * A failed backend (a donor given up) took its copies with it. An entry
 * that still has a copy on a live backend is degraded: I/O goes on to the
 * live copy alone. An entry that had no other copy is salvaged
 * (empblk_place_salvage()): every page of it is marked lost, and the
 * entry moves to extents of other backends. Reads of a lost page fail; a
 * write makes the page good again; the rest of the device is untouched.
 * An entry for which no backend has room stays where it is, all lost,
 * until a later pass finds room.
 *
 * Concurrency. Lookups take no lock: an I/O takes a reference on each
 * entry it uses (empblk_place_get()), which keeps the entry where it is
 * until the I/O ends. Mapping and unmapping serialise on the map's mutex
 * and may sleep (a donor chunk is an admin exchange); unmapping clears
 * the entry, waits for the references to drain, and only then gives the
 * extent back to its backend, so an extent is never reused under an I/O
 * that still addresses it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "empblk.h"
#include "placement.h"

const char *const empblk_placement_names[EMPBLK_PLACE_NR] = {
	[EMPBLK_PLACE_DISTRIBUTE]	= "distribute",
	[EMPBLK_PLACE_SEQUENTIAL]	= "sequential",
	[EMPBLK_PLACE_FASTEST_FIRST]	= "fastest-first",
};

/**
 * empblk_placement_parse() - a policy from its name
 * @buf: the name, with or without a trailing newline
 * @p: the policy
 *
 * Return: 0 or -EINVAL.
 */
int empblk_placement_parse(const char *buf, enum empblk_placement *p)
{
	int i = sysfs_match_string(empblk_placement_names, buf);

	if (i < 0)
		return -EINVAL;
	*p = i;
	return 0;
}

/**
 * empblk_place_init() - an empty map
 * @pl: the map
 * @capacity: the device's size in bytes
 * @sb_shift: log2 of the subblock size
 * @lanes: lanes of the layout, one per backend
 * @copies: copies of each entry (1 or EMPBLK_MAX_COPIES)
 * @policy: where new extents go
 *
 * The map has an entry for every extent of every row of lanes the
 * device's space touches. Backends are added next, with
 * empblk_place_add_backend().
 *
 * Return: 0, -EINVAL for a bad @copies, or -ENOMEM.
 */
int empblk_place_init(struct empblk_place *pl, u64 capacity,
		      unsigned int sb_shift, unsigned int lanes,
		      unsigned int copies, enum empblk_placement policy)
{
	unsigned int c;

	memset(pl, 0, sizeof(*pl));
	if (WARN_ON_ONCE(!copies || copies > EMPBLK_MAX_COPIES))
		return -EINVAL;
	mutex_init(&pl->lock);
	spin_lock_init(&pl->stale_lock);
	pl->policy = policy;
	pl->sb_shift = sb_shift;
	pl->lanes = lanes;
	pl->copies = copies;
	pl->frozen = U64_MAX;
	pl->nr_entries = DIV_ROUND_UP_ULL(capacity, lanes * EMPBLK_EXT_SIZE) *
			 lanes;
	pl->map = kvcalloc(pl->nr_entries, sizeof(*pl->map), GFP_KERNEL);
	pl->refs = kvcalloc(pl->nr_entries, sizeof(*pl->refs), GFP_KERNEL);
	/* allocated now, not when a backend fails and memory may be short */
	pl->lost = kvcalloc(pl->nr_entries, sizeof(*pl->lost), GFP_KERNEL);
	pl->degraded_map = bitmap_zalloc(pl->nr_entries, GFP_KERNEL);
	if (!pl->map || !pl->refs || !pl->lost || !pl->degraded_map)
		goto out_free;
	for (c = 0; copies > 1 && c < copies; c++) {
		pl->stale_map[c] = bitmap_zalloc(pl->nr_entries, GFP_KERNEL);
		if (!pl->stale_map[c])
			goto out_free;
	}
	return 0;

out_free:
	empblk_place_free(pl);
	return -ENOMEM;
}

/**
 * empblk_place_free() - free a map
 * @pl: the map; no entry may be in use
 */
void empblk_place_free(struct empblk_place *pl)
{
	unsigned int b;

	u64 e;

	for (b = 0; b < pl->nr_backends; b++)
		bitmap_free(pl->be[b].in_use);
	for (e = 0; pl->lost && e < pl->nr_entries; e++)
		bitmap_free(pl->lost[e]);
	kvfree(pl->lost);
	pl->lost = NULL;
	bitmap_free(pl->degraded_map);
	pl->degraded_map = NULL;
	for (b = 0; b < EMPBLK_MAX_COPIES; b++) {
		bitmap_free(pl->stale_map[b]);
		pl->stale_map[b] = NULL;
	}
	kvfree(pl->map);
	kvfree(pl->refs);
	pl->map = NULL;
	pl->refs = NULL;
	pl->nr_backends = 0;
}

/**
 * empblk_place_add_backend() - add a backend
 * @pl: the map
 * @member: the tier that does its I/O (its ops have ->release)
 * @idx: the backend's index in @member
 * @donor: a donor, not an SSD
 * @bytes: its space (whole extents of it are used)
 *
 * Return: 0, or -ENOMEM.
 */
int empblk_place_add_backend(struct empblk_place *pl,
			     struct empblk_tier *member, unsigned int idx,
			     bool donor, u64 bytes)
{
	struct empblk_backend *be = &pl->be[pl->nr_backends];

	if (WARN_ON_ONCE(pl->nr_backends == EMPBLK_MAX_BACKENDS))
		return -EINVAL;
	be->nr_ext = min_t(u64, bytes >> EMPBLK_EXT_SHIFT,
			   EMPBLK_PLACE_EXT_MASK + 1);
	be->in_use = bitmap_zalloc(be->nr_ext, GFP_KERNEL);
	if (!be->in_use)
		return -ENOMEM;
	be->member = member;
	be->idx = idx;
	be->donor = donor;
	pl->nr_backends++;
	return 0;
}

/**
 * empblk_place_get() - take a reference on an entry for an I/O
 * @pl: the map
 * @e: the entry
 *
 * Return: the entry's copies (see EMPBLK_PLACE_EXT_BITS), stable until
 * empblk_place_put(); or 0 when it is not mapped, EMPBLK_PLACE_FROZEN
 * while it is being rebuilt (try again once it is), and no reference is
 * held.
 */
u64 empblk_place_get(struct empblk_place *pl, u64 e)
{
	u64 v;

	atomic_inc(&pl->refs[e]);
	/* order the increment before the loads; pairs with drain's smp_mb() */
	smp_mb__after_atomic();
	/*
	 * Frozen, then the map: seen thawed, the entry is the one published
	 * before (pairs with the releases in empblk_place_rebuild()).
	 */
	if (unlikely(smp_load_acquire(&pl->frozen) == e)) {
		atomic_dec(&pl->refs[e]);
		return EMPBLK_PLACE_FROZEN;
	}
	/* pairs with the release in empblk_place_map() */
	v = smp_load_acquire(&pl->map[e]);
	if (!v)
		atomic_dec(&pl->refs[e]);
	return v;
}

/**
 * empblk_place_live() - the copies of an entry on live backends
 * @pl: the map
 * @ev: the entry's value (empblk_place_get())
 *
 * Any context; no lock.
 *
 * Return: bit c set for each copy c that is on a backend not failed.
 */
unsigned int empblk_place_live(const struct empblk_place *pl, u64 ev)
{
	unsigned int c, live = 0;

	for (c = 0; c < pl->copies; c++) {
		u32 v = empblk_place_copy(ev, c);

		/* pairs with the release in empblk_stripe_backend_failed() */
		if (v && !smp_load_acquire(&pl->be[empblk_place_backend(v)].failed))
			live |= BIT(c);
	}
	return live;
}

/**
 * empblk_place_good() - the copies of an entry that hold its data
 * @pl: the map
 * @e: the entry
 * @ev: its value (empblk_place_get())
 *
 * Any context; no lock.
 *
 * Return: bit c set for each copy c on a live backend that missed no
 * write (not stale): the ones a read may use.
 */
unsigned int empblk_place_good(const struct empblk_place *pl, u64 e, u64 ev)
{
	unsigned int c, good = empblk_place_live(pl, ev);

	for (c = 0; pl->stale_map[0] && c < pl->copies; c++)
		if ((good & BIT(c)) && test_bit(e, pl->stale_map[c]))
			good &= ~BIT(c);
	return good;
}

/**
 * empblk_place_ready() - which of some copies are on backends not busy
 * @pl: the map
 * @ev: an entry's value
 * @copies: bit c for copy c
 *
 * Any context; no lock.
 *
 * Return: the bits of @copies whose backend is not reconnecting.
 */
unsigned int empblk_place_ready(const struct empblk_place *pl, u64 ev,
				unsigned int copies)
{
	unsigned long mask = copies;
	unsigned int c;

	for_each_set_bit(c, &mask, EMPBLK_MAX_COPIES)
		if (READ_ONCE(pl->be[empblk_place_backend(empblk_place_copy(ev, c))].busy))
			copies &= ~BIT(c);
	return copies;
}

/* Entry @e has fewer good copies than it should; true if it had not. */
static bool empblk_place_degrade(struct empblk_place *pl, u64 e)
{
	if (test_and_set_bit(e, pl->degraded_map))
		return false;
	atomic64_inc(&pl->degraded);
	return true;
}

/* Entry @e is no longer degraded (unmapped, moved, or whole again). */
static void empblk_place_undegrade(struct empblk_place *pl, u64 e)
{
	if (test_and_clear_bit(e, pl->degraded_map))
		atomic64_dec(&pl->degraded);
}

/**
 * empblk_place_mark_stale() - copy @c of an entry misses a write
 * @pl: the map (with replicas)
 * @e: the entry, referenced by the caller
 * @c: the copy, on a busy backend
 *
 * Called before the write goes to the other copies, under @pl->stale_lock
 * with the choice of them: from now on no read uses copy @c, and the
 * entry is degraded until the rebuild has copied a good copy over it
 * (empblk_place_rebuild()). Any context but hard interrupts.
 *
 * Return: true if that made the entry degraded (it was not).
 */
bool empblk_place_mark_stale(struct empblk_place *pl, u64 e, unsigned int c)
{
	bool newly = false;

	/* written once per entry, not by every write while it is away */
	if (!test_bit(e, pl->stale_map[c]))
		set_bit(e, pl->stale_map[c]);
	if (!test_bit(e, pl->degraded_map))
		newly = empblk_place_degrade(pl, e);
	/*
	 * The bits, set here or seen set, before the write that depends on
	 * them, and before the caller reads whether the backend is back
	 * (pairs with empblk_stripe_backend_busy())
	 */
	smp_mb();
	return newly;
}

/* Copy @c of entry @e is good again, or gone (under the lock). */
static void empblk_place_unstale(struct empblk_place *pl, u64 e,
				 unsigned int c)
{
	if (pl->stale_map[c])
		clear_bit(e, pl->stale_map[c]);
}

/**
 * empblk_place_put() - drop a reference of empblk_place_get()
 * @pl: the map
 * @e: the entry
 *
 * Called once the I/O is over: its data are where they are going.
 */
void empblk_place_put(struct empblk_place *pl, u64 e)
{
	/* the I/O's accesses come first; pairs with unmap's acquire */
	smp_mb__before_atomic();
	atomic_dec(&pl->refs[e]);
}

/*
 * Whether @a is a better home for the next extent than @b: by the policy
 * for an entry's first copy; for the others (@roomiest), the one with
 * the most free extents, which keeps room for the copies of every entry
 * the capacity promises (empblk_capacity_mb()).
 */
static bool empblk_place_better(const struct empblk_place *pl,
				const struct empblk_backend *a,
				const struct empblk_backend *b, bool roomiest)
{
	if (roomiest)
		return a->nr_ext - a->used > b->nr_ext - b->used;
	if (pl->policy == EMPBLK_PLACE_SEQUENTIAL)
		return false;	/* the first one found stays */
	if (pl->policy == EMPBLK_PLACE_FASTEST_FIRST && a->donor != b->donor)
		return a->donor;
	/* the least full in proportion to its size: (used + 1) / nr_ext */
	return (a->used + 1) * b->nr_ext < (b->used + 1) * a->nr_ext;
}

/* The next backend to try (see empblk_place_better()), or -1 if none. */
static int empblk_place_pick(const struct empblk_place *pl,
			     unsigned long tried, bool roomiest)
{
	int best = -1;
	unsigned int b;

	for (b = 0; b < pl->nr_backends; b++) {
		const struct empblk_backend *be = &pl->be[b];

		if ((tried & BIT(b)) || be->full || READ_ONCE(be->failed) ||
		    be->used == be->nr_ext)
			continue;
		if (best < 0 ||
		    empblk_place_better(pl, be, &pl->be[best], roomiest))
			best = b;
	}
	return best;
}

/* A free extent of @be (one is free); marked in use. */
static u64 empblk_place_take_ext(struct empblk_backend *be)
{
	u64 x = find_next_zero_bit(be->in_use, be->nr_ext, be->hint);

	if (x >= be->nr_ext)
		x = find_first_zero_bit(be->in_use, be->nr_ext);
	__set_bit(x, be->in_use);
	be->hint = x + 1;
	be->used++;
	return x;
}

static void empblk_place_drop_ext(struct empblk_backend *be, u64 x)
{
	__clear_bit(x, be->in_use);
	be->used--;
	be->full = false;
}

/*
 * An extent of the backend the policy prefers (@avoid: any but those; see
 * empblk_place_better() for @roomiest) that gives one, claimed: its copy
 * value; or 0 and *@err: -EBUSY when none did and one of them is
 * reconnecting, -ENOSPC when no backend has room, or the error of the
 * last one tried. Under the map's lock; may sleep.
 */
static u32 empblk_place_claim(struct empblk_place *pl, int *err,
			      unsigned long avoid, bool roomiest)
{
	unsigned long tried = avoid;
	int b, ret = -ENOSPC;
	bool busy = false;

	lockdep_assert_held(&pl->lock);
	while ((b = empblk_place_pick(pl, tried, roomiest)) >= 0) {
		struct empblk_backend *be = &pl->be[b];
		u64 x = empblk_place_take_ext(be);

		tried |= BIT(b);
		ret = be->member->ops->claim ?
		      be->member->ops->claim(be->member, be->idx, x) : 0;
		if (!ret)
			return ((u32)(b + 1) << EMPBLK_PLACE_EXT_BITS) | (u32)x;
		empblk_place_drop_ext(be, x);
		if (ret == -ENOSPC)
			be->full = true;
		else if (ret == -EBUSY)
			busy = true;
		else
			atomic64_inc(&be->errors);
	}
	/* none had room now, and one may have once it is back */
	*err = ret && busy ? -EBUSY : ret;
	return 0;
}

/* Give extent @v of an entry no I/O addresses back to its backend. */
static void empblk_place_release(struct empblk_place *pl, u32 v)
{
	struct empblk_backend *be = &pl->be[empblk_place_backend(v)];

	be->member->ops->release(be->member, be->idx, empblk_place_ext(v));
	empblk_place_drop_ext(be, empblk_place_ext(v));
}

/* Give every copy of entry value @ev back (no I/O addresses them). */
static void empblk_place_release_all(struct empblk_place *pl, u64 ev)
{
	unsigned int c;

	for (c = 0; c < pl->copies; c++)
		if (empblk_place_copy(ev, c))
			empblk_place_release(pl, empblk_place_copy(ev, c));
}

/*
 * An extent for each copy of entry @e, each on a different backend: the
 * first where the policy prefers, the others where there is most room.
 * Return: the entry's value; or 0 and *@err (see empblk_place_claim())
 * when the first copy finds no extent, with nothing claimed. A later copy
 * that finds none (backends failed, full or reconnecting, and too few
 * are left) is left out, and the entry is degraded from the start: a
 * write neither fails nor waits for want of a second copy, and the
 * rebuild adds it once a backend has room. Under the map's lock; may
 * sleep.
 */
static u64 empblk_place_claim_copies(struct empblk_place *pl, u64 e, int *err)
{
	unsigned long avoid = 0;
	unsigned int c;
	u64 ev = 0;
	int ret;

	for (c = 0; c < pl->copies; c++) {
		u32 v = empblk_place_claim(pl, c ? &ret : err, avoid, c);

		if (!v && !c)
			return 0;
		if (!v) {
			empblk_place_degrade(pl, e);
			break;
		}
		ev |= (u64)v << (32 * c);
		avoid |= BIT(empblk_place_backend(v));
	}
	return ev;
}

/**
 * empblk_place_map() - map an entry, if it is not mapped yet
 * @pl: the map
 * @e: the entry
 *
 * Asks the backends, in turn, for an extent for each copy, each copy on
 * a different backend (empblk_place_claim_copies()). May sleep (a donor's
 * extent is an admin exchange). The caller holds no reference on any
 * entry: unmapping and salvaging wait for references under the map's
 * lock.
 *
 * Return: 0 once the entry is mapped; -EBUSY when no backend gave its
 * first copy an extent and one is reconnecting; -ENOSPC when none has
 * room for it; or the error of the last backend tried.
 */
int empblk_place_map(struct empblk_place *pl, u64 e)
{
	int ret = 0;
	u64 ev;

	mutex_lock(&pl->lock);
	if (!pl->map[e]) {
		ev = empblk_place_claim_copies(pl, e, &ret);
		if (ev)
			/* the backends hold it; pairs with empblk_place_get() */
			smp_store_release(&pl->map[e], ev);
	}
	mutex_unlock(&pl->lock);
	return ret;
}

/*
 * Wait for the I/Os holding references on entry @e to end. Under the
 * map's lock; nothing holding one waits for the lock.
 */
static void empblk_place_drain(struct empblk_place *pl, u64 e)
{
	/* order the store before reading the references; pairs with get */
	smp_mb();
	/* acquire: the I/Os are over before the extent goes back */
	while (atomic_read_acquire(&pl->refs[e]))
		usleep_range(50, 200);
}

/**
 * empblk_place_unmap() - unmap an entry and give its extent back
 * @pl: the map
 * @e: the entry
 *
 * Waits for the I/Os using the entry (they complete, fail or time out).
 * May sleep.
 */
void empblk_place_unmap(struct empblk_place *pl, u64 e)
{
	unsigned long *lb;
	unsigned int c;
	u64 ev;

	mutex_lock(&pl->lock);
	ev = pl->map[e];
	if (!ev) {
		mutex_unlock(&pl->lock);
		return;
	}
	WRITE_ONCE(pl->map[e], 0);
	empblk_place_drain(pl, e);
	if (!empblk_place_live(pl, ev) && pl->stuck)
		WRITE_ONCE(pl->stuck, pl->stuck - 1);
	empblk_place_undegrade(pl, e);
	for (c = 0; c < pl->copies; c++)
		empblk_place_unstale(pl, e, c);
	empblk_place_release_all(pl, ev);
	/* discarded pages are not lost: nothing reads them any more */
	lb = pl->lost[e];
	pl->lost[e] = NULL;
	if (lb)
		atomic64_sub(bitmap_weight(lb, EMPBLK_PLACE_EXT_PAGES),
			     &pl->lost_pages);
	mutex_unlock(&pl->lock);
	bitmap_free(lb);
}

/* the lost-page bitmap of entry @e, or NULL; lockless, under a reference */
static unsigned long *empblk_place_lost_map(struct empblk_place *pl, u64 e)
{
	/* pairs with the release store in empblk_place_lose() */
	return smp_load_acquire(&pl->lost[e]);
}

/**
 * empblk_place_lost() - which pages of an entry were lost
 * @pl: the map
 * @e: the entry, referenced by the caller (empblk_place_get())
 * @eoff: byte offset in the entry's extent, page-aligned
 * @len: bytes from there, whole pages
 * @out: a bitmap with a bit per page, from bit @bit on, set for each page
 *	that was lost
 * @bit: @out's bit for the page at @eoff
 *
 * Any context; no lock.
 *
 * Return: how many of the pages went with a failed backend and were not
 * written since.
 */
unsigned int empblk_place_lost(struct empblk_place *pl, u64 e, u64 eoff,
			       u64 len, unsigned long *out, unsigned int bit)
{
	unsigned long *lb = empblk_place_lost_map(pl, e);
	unsigned long p0 = eoff >> PAGE_SHIFT, end = p0 + (len >> PAGE_SHIFT);
	unsigned long p;
	unsigned int n = 0;

	if (!lb)
		return 0;
	for (p = find_next_bit(lb, end, p0); p < end;
	     p = find_next_bit(lb, end, p + 1)) {
		__set_bit(bit + p - p0, out);
		n++;
	}
	return n;
}

/**
 * empblk_place_found() - pages of an entry hold data again
 * @pl: the map
 * @e: the entry, referenced by the caller
 * @ev: its value when referenced: where the write went (its live copies)
 * @eoff: byte offset in the entry's extent, page-aligned
 * @len: bytes from there, whole pages
 *
 * Called once a write of those pages succeeded. If every backend it went
 * to failed meanwhile, they stay lost. Any context; no lock.
 */
void empblk_place_found(struct empblk_place *pl, u64 e, u64 ev, u64 eoff,
			u64 len)
{
	unsigned long *lb = empblk_place_lost_map(pl, e);
	unsigned long p0 = eoff >> PAGE_SHIFT, end = p0 + (len >> PAGE_SHIFT);
	DECLARE_BITMAP(cleared, EMPBLK_PLACE_EXT_PAGES);
	unsigned long p;
	long n = 0;

	if (!lb || !empblk_place_live(pl, ev))
		return;
	bitmap_zero(cleared, EMPBLK_PLACE_EXT_PAGES);
	for (p = find_next_bit(lb, end, p0); p < end;
	     p = find_next_bit(lb, end, p + 1))
		if (test_and_clear_bit(p, lb)) {
			__set_bit(p, cleared);
			n++;
		}
	if (!n)
		return;
	atomic64_sub(n, &pl->lost_pages);
	/*
	 * The backends failed after all (the salvage marks every page lost
	 * before it moves the entry, and waits for our reference): lost
	 * again. Pairs with the barrier in empblk_stripe_backend_failed().
	 */
	smp_mb();
	if (empblk_place_live(pl, ev))
		return;
	n = 0;
	for_each_set_bit(p, cleared, EMPBLK_PLACE_EXT_PAGES)
		n += !test_and_set_bit(p, lb);
	atomic64_add(n, &pl->lost_pages);
}

/* Mark every page of entry @e lost; false if that state cannot be had. */
static bool empblk_place_lose(struct empblk_place *pl, u64 e)
{
	unsigned long *lb = pl->lost[e];
	unsigned int p;
	long n = 0;

	if (!lb) {
		lb = bitmap_zalloc(EMPBLK_PLACE_EXT_PAGES, GFP_KERNEL);
		if (!lb)
			return false;
		/* pairs with the acquire in empblk_place_lost_map() */
		smp_store_release(&pl->lost[e], lb);
	}
	/* an entry may lose its data twice: count each page once */
	for (p = 0; p < EMPBLK_PLACE_EXT_PAGES; p++)
		n += !test_and_set_bit(p, lb);
	atomic64_add(n, &pl->lost_pages);
	return true;
}

/**
 * empblk_place_salvage() - deal with the entries of failed backends
 * @pl: the map
 * @moved: entries moved
 * @retry: set when an entry stayed for a reason that passes (a backend
 *	reconnecting, no memory now): call again in a while
 * @kept: NULL, or entries that lost a copy with a failed backend since
 *	the last pass and kept a good one
 *
 * An entry with a copy on a failed backend and a good one on a live one
 * is degraded (counted in @pl->degraded): nothing of it is lost, and its
 * I/O goes on to the good copy. Every page of an entry whose copies were all
 * on failed backends is marked lost (its data went with them). So is
 * every page of an entry whose only live copies are stale (they missed
 * writes that went to the failed one): those copies stay, no longer
 * stale, as the lost-page map now tells its good pages from its lost
 * ones. Once no
 * I/O uses the entry (new I/O to a failed backend is refused or marked
 * lost at once, so none waits), it moves to extents of other backends,
 * chosen by the policy, and the old extents are released: writes to it
 * then succeed and make their pages good again. An entry that no backend
 * has room for stays, all lost. Each entry is dealt with under the map's
 * lock, not the whole pass. Sleeps; the caller is in a NOIO scope.
 *
 * Return: the entries left on failed backends (also in @pl->stuck).
 */
u64 empblk_place_salvage(struct empblk_place *pl, u64 *moved, bool *retry,
			 u64 *kept)
{
	u64 e, stuck = 0;

	*moved = 0;
	*retry = false;
	if (kept)
		*kept = 0;
	for (e = 0; e < pl->nr_entries; e++) {
		u64 ev = READ_ONCE(pl->map[e]), nv = 0;
		unsigned int live, c;
		int err = -ENOMEM;

		cond_resched();
		/* a peek without the lock: entries are many, failed ones few */
		if (!ev || empblk_place_good(pl, e, ev) == GENMASK(pl->copies - 1, 0))
			continue;
		mutex_lock(&pl->lock);
		ev = pl->map[e];
		/* a stale copy on a live backend holds older data: not live */
		live = ev ? empblk_place_good(pl, e, ev) : 0;
		if (!ev || live == GENMASK(pl->copies - 1, 0)) {
			mutex_unlock(&pl->lock);
			continue;
		}
		if (live) {
			/* a good copy is left: degraded, nothing lost */
			bool newly = empblk_place_degrade(pl, e);
			unsigned int ok = empblk_place_live(pl, ev);

			/* a stale copy on a failed backend is just lost now */
			for (c = 0; c < pl->copies; c++)
				if (!(ok & BIT(c)) && pl->stale_map[c] &&
				    test_bit(e, pl->stale_map[c])) {
					empblk_place_unstale(pl, e, c);
					newly = true;
				}
			if (newly && kept)
				(*kept)++;
			mutex_unlock(&pl->lock);
			continue;
		}
		if (empblk_place_live(pl, ev)) {
			/*
			 * Only stale copies left (the good one's backend
			 * failed): every page is lost, and the lost-page map
			 * says so from now on, page by page, so the stale
			 * copies stay where they are, good again for writes.
			 */
			if (empblk_place_lose(pl, e)) {
				for (c = 0; c < pl->copies; c++)
					empblk_place_unstale(pl, e, c);
				/* and short of the copy that failed */
				empblk_place_degrade(pl, e);
			} else {
				*retry = true;
			}
			mutex_unlock(&pl->lock);
			continue;
		}
		/* no copy left: lost, not degraded */
		empblk_place_undegrade(pl, e);
		/*
		 * Lost first, then wait for I/O on the old extents: a write
		 * that ended there as the backend failed sees it failed and
		 * leaves its pages lost (empblk_place_found()), before any
		 * reader can see the new extents.
		 */
		if (empblk_place_lose(pl, e)) {
			empblk_place_drain(pl, e);
			nv = empblk_place_claim_copies(pl, e, &err);
		}
		if (nv) {
			for (c = 0; c < pl->copies; c++)
				empblk_place_unstale(pl, e, c);
			/* after the lost bits; pairs with empblk_place_get() */
			smp_store_release(&pl->map[e], nv);
			empblk_place_release_all(pl, ev);
			(*moved)++;
		} else {
			stuck++;
			*retry |= err != -ENOSPC;
		}
		mutex_unlock(&pl->lock);
	}
	WRITE_ONCE(pl->stuck, stuck);
	return stuck;
}

/*
 * The copy of entry @e (value @ev, good copies @good) to make good: one on
 * a failed backend or none (*@fresh: a new extent is needed), else a
 * stale one (resynced in place); -1 when every copy is good.
 */
static int empblk_place_missing(const struct empblk_place *pl, u64 e, u64 ev,
				unsigned int good, bool *fresh)
{
	unsigned int c, live = empblk_place_live(pl, ev);

	for (c = 0; c < pl->copies; c++)
		if (!(live & BIT(c))) {
			*fresh = true;
			return c;
		}
	*fresh = false;
	for (c = 0; c < pl->copies; c++)
		if (!(good & BIT(c)))
			return c;
	return -1;
}

/*
 * The copy of entry value @ev a rebuild reads, of those in @ready: an
 * SSD's if any (a page read from a donor over iWARP is not supported).
 */
static u32 empblk_place_source(const struct empblk_place *pl, u64 ev,
			       unsigned long ready)
{
	unsigned int c;

	for_each_set_bit(c, &ready, EMPBLK_MAX_COPIES)
		if (!pl->be[empblk_place_backend(empblk_place_copy(ev, c))].donor)
			return empblk_place_copy(ev, c);
	return empblk_place_copy(ev, __ffs(ready));
}

/**
 * empblk_place_rebuild() - give a degraded entry its missing copy
 * @pl: the map
 * @e: the entry
 * @copy: copies the data of a good copy to another extent
 * @ctx: @copy's
 *
 * A copy lost with a failed backend, or never made, is replaced: an
 * extent is claimed on a backend other than those of the entry's copies
 * (the one with most room). A stale copy (it missed writes while its
 * backend reconnected) is copied over where it is, once its backend is
 * back. Either way the entry is frozen (new I/O to it gets
 * EMPBLK_PLACE_FROZEN and is run again later; I/O under way ends first),
 * @copy fills the copy from a good one, and the entry is published with
 * it. Everything under the map's lock: no discard, salvage or other
 * rebuild touches the entry meanwhile. Sleeps; the caller is in a NOIO
 * scope, and @copy's I/O must not wait for the map's lock or for I/O to
 * this entry.
 *
 * Return: 0 once the entry has a good copy more; -EAGAIN when it is not
 * degraded (any more); -ENODATA when it has no good copy to copy from
 * (the salvage deals with it); -ENOSPC when no other backend has room;
 * -EBUSY when none gave an extent and one is reconnecting, or the stale
 * copy's backend, or every good copy's, is still reconnecting; or
 * @copy's error, with the entry as it was.
 */
int empblk_place_rebuild(struct empblk_place *pl, u64 e,
			 empblk_place_copy_fn copy, void *ctx)
{
	unsigned int good, ready, c, all = GENMASK(pl->copies - 1, 0);
	unsigned long avoid = 0;
	u32 from, to, old;
	int slot, ret = -EAGAIN;
	bool fresh;
	u64 ev, nv;

	mutex_lock(&pl->lock);
	ev = pl->map[e];
	good = ev ? empblk_place_good(pl, e, ev) : 0;
	if (!ev || !test_bit(e, pl->degraded_map))
		goto out_unlock;
	ret = -ENODATA;
	if (!good)
		goto out_unlock;
	ret = -EAGAIN;
	slot = empblk_place_missing(pl, e, ev, good, &fresh);
	if (slot < 0) {
		/* every copy is good: nothing is missing */
		empblk_place_undegrade(pl, e);
		goto out_unlock;
	}
	ret = -EBUSY;
	ready = empblk_place_ready(pl, ev, good);
	if (!ready)
		goto out_unlock;
	from = empblk_place_source(pl, ev, ready);
	if (fresh) {
		for (c = 0; c < pl->copies; c++)
			if (empblk_place_copy(ev, c))
				avoid |= BIT(empblk_place_backend(empblk_place_copy(ev, c)));
		to = empblk_place_claim(pl, &ret, avoid, true);
		if (!to)
			goto out_unlock;
	} else {
		if (!empblk_place_ready(pl, ev, BIT(slot)))
			goto out_unlock;
		to = empblk_place_copy(ev, slot);
	}

	/* the I/O that saw it thawed ends first; pairs with get */
	smp_store_release(&pl->frozen, e);
	empblk_place_drain(pl, e);
	ret = copy(ctx, from, to);
	if (ret) {
		if (fresh)
			empblk_place_release(pl, to);
		goto out_thaw;
	}
	/* good from now on: it holds what every write since left */
	empblk_place_unstale(pl, e, slot);
	old = empblk_place_copy(ev, slot);
	nv = (ev & ~((u64)U32_MAX << (32 * slot))) | ((u64)to << (32 * slot));
	if (fresh) {
		/* pairs with empblk_place_get() */
		smp_store_release(&pl->map[e], nv);
		if (old)
			empblk_place_release(pl, old);
	}
	/* a backend may have failed, or a copy missed a write, meanwhile */
	if (empblk_place_good(pl, e, nv) == all)
		empblk_place_undegrade(pl, e);
out_thaw:
	/* after the entry: I/O that sees it thawed sees the new copy */
	smp_store_release(&pl->frozen, U64_MAX);
out_unlock:
	mutex_unlock(&pl->lock);
	return ret;
}
