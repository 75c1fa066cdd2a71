// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite empblk_place: the placement map (placement.c) when a
 * backend fails: its entries' pages are marked lost and the entries move
 * to the other backends; writes make pages good again, but not writes that
 * went to the failed backend; entries no backend has room for stay, and a
 * backend that is only busy makes the salvage try again. With two copies,
 * each entry's are on different backends, and a failed backend leaves
 * them degraded, nothing lost, until the other fails too; with one live
 * backend left, a new entry gets one copy, degraded. A degraded entry is
 * rebuilt onto a backend that holds no copy of it, frozen meanwhile, and
 * only when there is room; a copy that missed writes while its backend
 * reconnected is stale, resynced in place once it is back; if the good
 * one's backend fails, every page is lost and the stale copy stays,
 * good again for writes. The backends are
 * a stand-in member tier that counts what it is asked. Built into
 * empblk.ko only with EMPBLK_KUNIT=y (the debug-kernel lane).
 */
#include <kunit/test.h>

#include "empblk.h"
#include "placement.h"

/*
 * struct kp_member - the stand-in member: claim answers @claim_ret for
 * backend @full (0 for every other one), release counts
 */
struct kp_member {
	struct empblk_tier tier;
	int claim_ret;
	unsigned int full;
	unsigned int released[3];
};

static struct kp_member *to_kp(struct empblk_tier *t)
{
	return container_of(t, struct kp_member, tier);
}

static int kp_claim(struct empblk_tier *t, unsigned int idx, u64 ext)
{
	return idx == to_kp(t)->full ? to_kp(t)->claim_ret : 0;
}

static void kp_release(struct empblk_tier *t, unsigned int idx, u64 ext)
{
	to_kp(t)->released[idx]++;
}

static const struct empblk_tier_ops kp_ops = {
	.name		= "kunit",
	.claim		= kp_claim,
	.release	= kp_release,
};

/* entries: 2 lanes x 4 rows, 4 MiB devices' worth each backend */
#define KP_ENTRIES	8

struct kp_ctx {
	struct kp_member m;
	struct empblk_place pl;
};

static int empblk_place_kunit_init(struct kunit *test)
{
	struct kp_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, c);
	c->m.tier.ops = &kp_ops;
	c->m.full = UINT_MAX;
	KUNIT_ASSERT_EQ(test, empblk_place_init(&c->pl,
						KP_ENTRIES * EMPBLK_EXT_SIZE,
						PAGE_SHIFT, 2, 1,
						EMPBLK_PLACE_DISTRIBUTE), 0);
	KUNIT_ASSERT_EQ(test, c->pl.nr_entries, (u64)KP_ENTRIES);
	/* room for every entry on either backend */
	KUNIT_ASSERT_EQ(test, empblk_place_add_backend(&c->pl, &c->m.tier, 0,
						       true, KP_ENTRIES *
						       EMPBLK_EXT_SIZE), 0);
	KUNIT_ASSERT_EQ(test, empblk_place_add_backend(&c->pl, &c->m.tier, 1,
						       false, KP_ENTRIES *
						       EMPBLK_EXT_SIZE), 0);
	test->priv = c;
	return 0;
}

static void empblk_place_kunit_exit(struct kunit *test)
{
	struct kp_ctx *c = test->priv;

	empblk_place_free(&c->pl);
}

/* Map entries 0..@n-1 (distribute: alternately on backends 0 and 1). */
static void kp_map(struct kunit *test, struct kp_ctx *c, unsigned int n)
{
	unsigned int e;

	for (e = 0; e < n; e++)
		KUNIT_ASSERT_EQ(test, empblk_place_map(&c->pl, e), 0);
}

/* the backend of an entry's first copy */
static unsigned int kp_backend(u64 ev)
{
	return empblk_place_backend(empblk_place_copy(ev, 0));
}

/* lost pages of entry @e of @pl */
static unsigned int kp_lost_in(struct empblk_place *pl, u64 e)
{
	DECLARE_BITMAP(out, EMPBLK_PLACE_EXT_PAGES);

	bitmap_zero(out, EMPBLK_PLACE_EXT_PAGES);
	return empblk_place_lost(pl, e, 0, EMPBLK_EXT_SIZE, out, 0);
}

static unsigned int kp_lost(struct kp_ctx *c, u64 e, u64 eoff, u64 len)
{
	DECLARE_BITMAP(out, EMPBLK_PLACE_EXT_PAGES);

	bitmap_zero(out, EMPBLK_PLACE_EXT_PAGES);
	return empblk_place_lost(&c->pl, e, eoff, len, out, 0);
}

static void empblk_place_salvage_test(struct kunit *test)
{
	struct kp_ctx *c = test->priv;
	u64 before[4];
	unsigned int e, on0 = 0;
	bool retry;
	u64 moved;

	kp_map(test, c, 4);
	for (e = 0; e < 4; e++) {
		before[e] = c->pl.map[e];
		on0 += kp_backend(before[e]) == 0;
	}
	KUNIT_ASSERT_EQ(test, on0, 2U);
	c->pl.be[0].failed = true;
	KUNIT_EXPECT_EQ(test, empblk_place_salvage(&c->pl, &moved, &retry, NULL), 0ULL);
	KUNIT_EXPECT_EQ(test, moved, 2ULL);
	KUNIT_EXPECT_FALSE(test, retry);
	KUNIT_EXPECT_EQ(test, c->m.released[0], 2U);
	KUNIT_EXPECT_EQ(test, c->pl.be[0].used, 0ULL);
	KUNIT_EXPECT_EQ(test, c->pl.be[1].used, 4ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->pl.lost_pages),
			2LL * EMPBLK_PLACE_EXT_PAGES);
	for (e = 0; e < 4; e++) {
		bool was0 = kp_backend(before[e]) == 0;

		/* everything is on backend 1 now; what was on 0 is lost */
		KUNIT_EXPECT_EQ(test, kp_backend(c->pl.map[e]), 1U);
		KUNIT_EXPECT_EQ(test, kp_lost(c, e, 0, EMPBLK_EXT_SIZE),
				was0 ? EMPBLK_PLACE_EXT_PAGES : 0);
		if (!was0)
			KUNIT_EXPECT_EQ(test, c->pl.map[e], before[e]);
	}
	/* nothing new goes to a failed backend */
	kp_map(test, c, 6);
	KUNIT_EXPECT_EQ(test, kp_backend(c->pl.map[4]), 1U);
	KUNIT_EXPECT_EQ(test, kp_backend(c->pl.map[5]), 1U);
	/* a second pass finds nothing to do */
	KUNIT_EXPECT_EQ(test, empblk_place_salvage(&c->pl, &moved, &retry, NULL), 0ULL);
	KUNIT_EXPECT_EQ(test, moved, 0ULL);
}

static void empblk_place_found_test(struct kunit *test)
{
	struct kp_ctx *c = test->priv;
	unsigned int e = UINT_MAX, i;
	u64 old = 0;
	bool retry;
	u64 moved;

	kp_map(test, c, 2);
	for (i = 0; i < 2; i++)
		if (kp_backend(c->pl.map[i]) == 0) {
			e = i;
			old = c->pl.map[i];
		}
	KUNIT_ASSERT_NE(test, e, UINT_MAX);
	c->pl.be[0].failed = true;
	empblk_place_salvage(&c->pl, &moved, &retry, NULL);
	KUNIT_ASSERT_EQ(test, moved, 1ULL);
	/* a write that went to the failed backend finds nothing */
	empblk_place_found(&c->pl, e, old, 0, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, kp_lost(c, e, 0, PAGE_SIZE), 1U);
	/* one that went to the new extent: those pages, no others */
	empblk_place_found(&c->pl, e, c->pl.map[e], PAGE_SIZE, 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, kp_lost(c, e, 0, EMPBLK_EXT_SIZE),
			EMPBLK_PLACE_EXT_PAGES - 2);
	KUNIT_EXPECT_EQ(test, kp_lost(c, e, PAGE_SIZE, 2 * PAGE_SIZE), 0U);
	KUNIT_EXPECT_EQ(test, kp_lost(c, e, 0, 4 * PAGE_SIZE), 2U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->pl.lost_pages),
			(s64)EMPBLK_PLACE_EXT_PAGES - 2);
	/* a discard of the whole entry forgets its lost pages */
	empblk_place_unmap(&c->pl, e);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->pl.lost_pages), 0LL);
	KUNIT_EXPECT_EQ(test, kp_lost(c, e, 0, EMPBLK_EXT_SIZE), 0U);
}

static void empblk_place_stuck_test(struct kunit *test)
{
	struct kp_ctx *c = test->priv;
	bool retry;
	u64 moved;

	kp_map(test, c, 4);
	/* the only other backend is busy (reconnecting): try again later */
	c->m.full = 1;
	c->m.claim_ret = -EBUSY;
	c->pl.be[0].failed = true;
	KUNIT_EXPECT_EQ(test, empblk_place_salvage(&c->pl, &moved, &retry, NULL), 2ULL);
	KUNIT_EXPECT_EQ(test, moved, 0ULL);
	KUNIT_EXPECT_TRUE(test, retry);
	KUNIT_EXPECT_EQ(test, c->pl.stuck, 2ULL);
	/* lost all the same, and counted once however often it is tried */
	KUNIT_EXPECT_EQ(test, empblk_place_salvage(&c->pl, &moved, &retry, NULL), 2ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->pl.lost_pages),
			2LL * EMPBLK_PLACE_EXT_PAGES);
	/* full for good: stays, no retry */
	c->m.claim_ret = -ENOSPC;
	c->pl.be[1].full = false;
	KUNIT_EXPECT_EQ(test, empblk_place_salvage(&c->pl, &moved, &retry, NULL), 2ULL);
	KUNIT_EXPECT_FALSE(test, retry);
	/* room again: moved */
	c->m.claim_ret = 0;
	c->pl.be[1].full = false;
	KUNIT_EXPECT_EQ(test, empblk_place_salvage(&c->pl, &moved, &retry, NULL), 0ULL);
	KUNIT_EXPECT_EQ(test, moved, 2ULL);
	KUNIT_EXPECT_EQ(test, c->pl.stuck, 0ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->pl.lost_pages),
			2LL * EMPBLK_PLACE_EXT_PAGES);
}

/*
 * A map of two copies per entry over three backends of @ext extents each,
 * in @test's memory.
 */
static struct empblk_place *kp_replicated_ext(struct kunit *test,
					      struct kp_ctx *c,
					      unsigned int ext)
{
	struct empblk_place *pl = kunit_kzalloc(test, sizeof(*pl), GFP_KERNEL);
	unsigned int b;

	KUNIT_ASSERT_NOT_NULL(test, pl);
	KUNIT_ASSERT_EQ(test, empblk_place_init(pl, KP_ENTRIES * EMPBLK_EXT_SIZE,
						PAGE_SHIFT, 2, 2,
						EMPBLK_PLACE_DISTRIBUTE), 0);
	for (b = 0; b < 3; b++)
		KUNIT_ASSERT_EQ(test, empblk_place_add_backend(pl, &c->m.tier, b,
							       true, ext *
							       EMPBLK_EXT_SIZE),
				0);
	return pl;
}

static struct empblk_place *kp_replicated(struct kunit *test,
					  struct kp_ctx *c)
{
	return kp_replicated_ext(test, c, 2);
}

static void empblk_place_replicas_test(struct kunit *test)
{
	struct kp_ctx *c = test->priv;
	struct empblk_place *pl = kp_replicated(test, c);
	unsigned int e, b0, b1, spare;
	bool retry;
	u64 moved;

	/* three backends of two extents: room for three entries' copies */
	for (e = 0; e < 3; e++) {
		KUNIT_ASSERT_EQ(test, empblk_place_map(pl, e), 0);
		b0 = empblk_place_backend(empblk_place_copy(pl->map[e], 0));
		b1 = empblk_place_backend(empblk_place_copy(pl->map[e], 1));
		KUNIT_EXPECT_NE(test, b0, b1);
		KUNIT_EXPECT_EQ(test, empblk_place_live(pl, pl->map[e]), 3U);
	}
	KUNIT_EXPECT_EQ(test, empblk_place_map(pl, 3), -ENOSPC);
	KUNIT_EXPECT_EQ(test, pl->be[0].used + pl->be[1].used + pl->be[2].used,
			6ULL);
	/* entry 0's first backend fails: what it held there is degraded */
	b0 = empblk_place_backend(empblk_place_copy(pl->map[0], 0));
	b1 = empblk_place_backend(empblk_place_copy(pl->map[0], 1));
	spare = 3 - b0 - b1;
	pl->be[b0].failed = true;
	KUNIT_EXPECT_EQ(test, empblk_place_salvage(pl, &moved, &retry, NULL), 0ULL);
	KUNIT_EXPECT_EQ(test, moved, 0ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), 2LL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->lost_pages), 0LL);
	KUNIT_EXPECT_EQ(test, empblk_place_live(pl, pl->map[0]), 2U);
	/*
	 * And its other one: entry 0 is lost, and stays (the one backend
	 * left is full); the other two (every pair of backends holds one
	 * entry) keep a copy there, degraded.
	 */
	pl->be[b1].failed = true;
	KUNIT_EXPECT_EQ(test, empblk_place_salvage(pl, &moved, &retry, NULL), 1ULL);
	KUNIT_EXPECT_EQ(test, moved, 0ULL);
	KUNIT_EXPECT_FALSE(test, retry);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->lost_pages),
			(s64)EMPBLK_PLACE_EXT_PAGES);
	KUNIT_EXPECT_EQ(test, kp_lost_in(pl, 0), EMPBLK_PLACE_EXT_PAGES);
	KUNIT_EXPECT_EQ(test, empblk_place_live(pl, pl->map[0]), 0U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), 2LL);
	for (e = 1; e < 3; e++) {
		KUNIT_EXPECT_EQ(test, kp_lost_in(pl, e), 0U);
		KUNIT_EXPECT_NE(test, empblk_place_live(pl, pl->map[e]), 0U);
	}
	/* a discard of everything gives every extent back */
	for (e = 0; e < 3; e++)
		empblk_place_unmap(pl, e);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->lost_pages), 0LL);
	KUNIT_EXPECT_EQ(test, pl->stuck, 0ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), 0LL);
	KUNIT_EXPECT_EQ(test, pl->be[0].used + pl->be[1].used + pl->be[2].used,
			0ULL);
	KUNIT_EXPECT_EQ(test, pl->be[spare].used, 0ULL);
	/* one live backend: a new entry gets one copy, degraded, no ENOSPC */
	KUNIT_EXPECT_EQ(test, empblk_place_map(pl, 0), 0);
	KUNIT_EXPECT_EQ(test,
			empblk_place_backend(empblk_place_copy(pl->map[0], 0)),
			spare);
	KUNIT_EXPECT_EQ(test, empblk_place_copy(pl->map[0], 1), 0U);
	KUNIT_EXPECT_EQ(test, empblk_place_live(pl, pl->map[0]), 1U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), 1LL);
	empblk_place_unmap(pl, 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), 0LL);
	empblk_place_free(pl);
}

/* what the stand-in copy of empblk_place_rebuild() saw, and answers */
struct kp_copy {
	struct kunit *test;
	struct empblk_place *pl;
	u64 e;
	int ret;
	unsigned int calls;
	u32 from;
	u32 to;
};

static int kp_copy(void *ctx, u32 from, u32 to)
{
	struct kp_copy *k = ctx;

	k->calls++;
	k->from = from;
	k->to = to;
	/* frozen: no I/O gets the entry, and none holds it */
	KUNIT_EXPECT_EQ(k->test, empblk_place_get(k->pl, k->e),
			EMPBLK_PLACE_FROZEN);
	KUNIT_EXPECT_EQ(k->test, atomic_read(&k->pl->refs[k->e]), 0);
	return k->ret;
}

static void empblk_place_rebuild_test(struct kunit *test)
{
	struct kp_ctx *c = test->priv;
	struct empblk_place *pl = kp_replicated_ext(test, c, 3);
	struct kp_copy k = { .test = test, .pl = pl };
	unsigned int e, b0, b1, spare, live;
	bool retry;
	u64 moved, ev;

	for (e = 0; e < 2; e++)
		KUNIT_ASSERT_EQ(test, empblk_place_map(pl, e), 0);
	/* whole: nothing to do, nothing copied */
	KUNIT_EXPECT_EQ(test, empblk_place_rebuild(pl, 0, kp_copy, &k),
			-EAGAIN);
	KUNIT_EXPECT_EQ(test, k.calls, 0U);
	ev = pl->map[0];
	b0 = empblk_place_backend(empblk_place_copy(ev, 0));
	b1 = empblk_place_backend(empblk_place_copy(ev, 1));
	spare = 3 - b0 - b1;
	pl->be[b0].failed = true;
	empblk_place_salvage(pl, &moved, &retry, NULL);
	KUNIT_ASSERT_TRUE(test, test_bit(0, pl->degraded_map));
	/* a copy that fails leaves the entry as it was, the extent given back */
	k.e = 0;
	k.ret = -EIO;
	KUNIT_EXPECT_EQ(test, empblk_place_rebuild(pl, 0, kp_copy, &k), -EIO);
	KUNIT_EXPECT_EQ(test, k.calls, 1U);
	KUNIT_EXPECT_EQ(test, pl->map[0], ev);
	KUNIT_EXPECT_EQ(test, c->m.released[spare], 1U);
	KUNIT_EXPECT_TRUE(test, test_bit(0, pl->degraded_map));
	KUNIT_EXPECT_EQ(test, pl->frozen, U64_MAX);
	/* one that succeeds: from the live copy to the spare backend */
	k.ret = 0;
	live = atomic64_read(&pl->degraded);
	KUNIT_EXPECT_EQ(test, empblk_place_rebuild(pl, 0, kp_copy, &k), 0);
	KUNIT_EXPECT_EQ(test, k.from, empblk_place_copy(ev, 1));
	KUNIT_EXPECT_EQ(test, empblk_place_backend(k.to), spare);
	/* in the lost copy's place, which goes back to its backend */
	KUNIT_EXPECT_EQ(test, empblk_place_copy(pl->map[0], 0), k.to);
	KUNIT_EXPECT_EQ(test, empblk_place_copy(pl->map[0], 1),
			empblk_place_copy(ev, 1));
	KUNIT_EXPECT_EQ(test, c->m.released[b0], 1U);
	KUNIT_EXPECT_EQ(test, empblk_place_live(pl, pl->map[0]), 3U);
	KUNIT_EXPECT_FALSE(test, test_bit(0, pl->degraded_map));
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), (s64)live - 1);
	KUNIT_EXPECT_EQ(test, pl->frozen, U64_MAX);
	KUNIT_EXPECT_EQ(test, empblk_place_get(pl, 0), pl->map[0]);
	empblk_place_put(pl, 0);
	/* an entry whose copies all failed is the salvage's, not ours */
	pl->be[b1].failed = true;
	pl->be[spare].failed = true;
	__set_bit(0, pl->degraded_map);
	k.calls = 0;
	KUNIT_EXPECT_EQ(test, empblk_place_rebuild(pl, 0, kp_copy, &k),
			-ENODATA);
	KUNIT_EXPECT_EQ(test, k.calls, 0U);
	__clear_bit(0, pl->degraded_map);
	pl->be[b1].failed = false;
	pl->be[spare].failed = false;
	for (e = 0; e < 2; e++)
		empblk_place_unmap(pl, e);
	empblk_place_free(pl);
}

/*
 * An entry mapped with one copy (no second backend had room) is degraded
 * from the start; its rebuild finds no room until some is freed, then
 * adds the copy it never had.
 */
static void empblk_place_rebuild_room_test(struct kunit *test)
{
	struct kp_ctx *c = test->priv;
	struct empblk_place *pl = kp_replicated_ext(test, c, 1);
	struct kp_copy k = { .test = test, .pl = pl, .e = 1 };
	u32 only;

	KUNIT_ASSERT_EQ(test, empblk_place_map(pl, 0), 0);
	KUNIT_ASSERT_EQ(test, empblk_place_map(pl, 1), 0);
	only = empblk_place_copy(pl->map[1], 0);
	KUNIT_EXPECT_EQ(test, empblk_place_copy(pl->map[1], 1), 0U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), 1LL);
	KUNIT_EXPECT_EQ(test, empblk_place_rebuild(pl, 1, kp_copy, &k),
			-ENOSPC);
	KUNIT_EXPECT_EQ(test, k.calls, 0U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), 1LL);
	/* a discard frees entry 0's extents: room */
	empblk_place_unmap(pl, 0);
	KUNIT_EXPECT_EQ(test, empblk_place_rebuild(pl, 1, kp_copy, &k), 0);
	KUNIT_EXPECT_EQ(test, k.from, only);
	KUNIT_EXPECT_NE(test, empblk_place_backend(k.to),
			empblk_place_backend(only));
	KUNIT_EXPECT_EQ(test, empblk_place_copy(pl->map[1], 0), only);
	KUNIT_EXPECT_EQ(test, empblk_place_copy(pl->map[1], 1), k.to);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), 0LL);
	empblk_place_unmap(pl, 1);
	empblk_place_free(pl);
}

/*
 * A copy on a reconnecting backend misses a write: stale, never read. The
 * rebuild waits for the backend, then copies the good copy over it where
 * it is. A stale copy is no copy when the good one's backend fails: lost.
 */
static void empblk_place_stale_test(struct kunit *test)
{
	struct kp_ctx *c = test->priv;
	struct empblk_place *pl = kp_replicated_ext(test, c, 3);
	struct kp_copy k = { .test = test, .pl = pl, .e = 0 };
	unsigned int b0, b1, released;
	u64 ev, moved, kept;
	bool retry;

	KUNIT_ASSERT_EQ(test, empblk_place_map(pl, 0), 0);
	ev = pl->map[0];
	b0 = empblk_place_backend(empblk_place_copy(ev, 0));
	b1 = empblk_place_backend(empblk_place_copy(ev, 1));
	pl->be[b1].busy = true;
	KUNIT_EXPECT_EQ(test, empblk_place_ready(pl, ev, 3), 1U);
	KUNIT_EXPECT_TRUE(test, empblk_place_mark_stale(pl, 0, 1));
	KUNIT_EXPECT_EQ(test, empblk_place_good(pl, 0, ev), 1U);
	KUNIT_EXPECT_EQ(test, empblk_place_live(pl, ev), 3U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), 1LL);
	/* its backend still reconnects: nothing to do yet */
	KUNIT_EXPECT_EQ(test, empblk_place_rebuild(pl, 0, kp_copy, &k), -EBUSY);
	KUNIT_EXPECT_EQ(test, k.calls, 0U);
	/* back: the good copy goes over the stale one, in place */
	pl->be[b1].busy = false;
	released = c->m.released[b0] + c->m.released[b1];
	KUNIT_EXPECT_EQ(test, empblk_place_rebuild(pl, 0, kp_copy, &k), 0);
	KUNIT_EXPECT_EQ(test, k.from, empblk_place_copy(ev, 0));
	KUNIT_EXPECT_EQ(test, k.to, empblk_place_copy(ev, 1));
	KUNIT_EXPECT_EQ(test, pl->map[0], ev);
	KUNIT_EXPECT_EQ(test, c->m.released[b0] + c->m.released[b1], released);
	KUNIT_EXPECT_EQ(test, empblk_place_good(pl, 0, ev), 3U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), 0LL);
	/* stale, and the stale copy's backend fails: one copy lost, counted once */
	KUNIT_EXPECT_TRUE(test, empblk_place_mark_stale(pl, 0, 1));
	KUNIT_EXPECT_FALSE(test, empblk_place_mark_stale(pl, 0, 1));
	pl->be[b1].failed = true;
	KUNIT_EXPECT_EQ(test, empblk_place_salvage(pl, &moved, &retry, &kept),
			0ULL);
	KUNIT_EXPECT_EQ(test, kept, 1ULL);
	KUNIT_EXPECT_EQ(test, moved, 0ULL);
	KUNIT_EXPECT_FALSE(test, test_bit(0, pl->stale_map[1]));
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), 1LL);
	empblk_place_salvage(pl, &moved, &retry, &kept);
	KUNIT_EXPECT_EQ(test, kept, 0ULL);
	pl->be[b1].failed = false;
	/*
	 * Stale again, and the good copy's backend fails: every page lost;
	 * the stale copy stays, good again for writes, the entry short of
	 * the failed copy
	 */
	empblk_place_mark_stale(pl, 0, 1);
	pl->be[b0].failed = true;
	KUNIT_EXPECT_EQ(test, empblk_place_salvage(pl, &moved, &retry, &kept),
			0ULL);
	KUNIT_EXPECT_EQ(test, moved, 0ULL);
	KUNIT_EXPECT_EQ(test, kept, 0ULL);
	KUNIT_EXPECT_FALSE(test, retry);
	KUNIT_EXPECT_EQ(test, pl->map[0], ev);
	KUNIT_EXPECT_EQ(test, kp_lost_in(pl, 0), EMPBLK_PLACE_EXT_PAGES);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->lost_pages),
			(s64)EMPBLK_PLACE_EXT_PAGES);
	KUNIT_EXPECT_FALSE(test, test_bit(0, pl->stale_map[1]));
	KUNIT_EXPECT_EQ(test, empblk_place_good(pl, 0, ev), 2U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&pl->degraded), 1LL);
	pl->be[b0].failed = false;
	empblk_place_unmap(pl, 0);
	empblk_place_free(pl);
}

static struct kunit_case empblk_place_cases[] = {
	KUNIT_CASE(empblk_place_salvage_test),
	KUNIT_CASE(empblk_place_replicas_test),
	KUNIT_CASE(empblk_place_rebuild_test),
	KUNIT_CASE(empblk_place_rebuild_room_test),
	KUNIT_CASE(empblk_place_stale_test),
	KUNIT_CASE(empblk_place_found_test),
	KUNIT_CASE(empblk_place_stuck_test),
	{}
};

static struct kunit_suite empblk_place_suite = {
	.name = "empblk_place",
	.init = empblk_place_kunit_init,
	.exit = empblk_place_kunit_exit,
	.test_cases = empblk_place_cases,
};

kunit_test_suite(empblk_place_suite);
