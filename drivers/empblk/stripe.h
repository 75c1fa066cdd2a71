/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stripe set's own state, shared by stripe.c (I/O, salvage) and
 * rebuild.c (copying degraded entries back to two copies).
 */
#ifndef EMPBLK_STRIPE_H
#define EMPBLK_STRIPE_H

#include <linux/completion.h>
#include <linux/sizes.h>
#include <linux/workqueue.h>

#include "placement.h"
#include "tier.h"

/* the rebuild copies an extent in pieces of this many bytes */
#define EMPBLK_REBUILD_BYTES	SZ_128K
#define EMPBLK_REBUILD_PAGES	(EMPBLK_REBUILD_BYTES >> PAGE_SHIFT)

/**
 * enum empblk_rebuild_state - what the rebuild of a device is doing
 * @EMPBLK_REBUILD_IDLE: no entry is degraded
 * @EMPBLK_REBUILD_RUNNING: copying degraded entries
 * @EMPBLK_REBUILD_NO_SPACE: no backend has room for a new copy
 * @EMPBLK_REBUILD_WAITING: a backend it needs is reconnecting, or a copy
 *	failed (an I/O error): tried again in a second
 * @EMPBLK_REBUILD_NR: the number of states
 */
enum empblk_rebuild_state {
	EMPBLK_REBUILD_IDLE,
	EMPBLK_REBUILD_RUNNING,
	EMPBLK_REBUILD_NO_SPACE,
	EMPBLK_REBUILD_WAITING,
	EMPBLK_REBUILD_NR,
};

/**
 * struct empblk_rebuild - the rebuild of a device's degraded entries
 * @work: copies one entry a run (empblk_wq)
 * @pio: the page I/O of one piece, its stripe-set state in tier_data
 * @pages: the buffer a piece goes through, allocated with the device
 * @done: @pio ended
 * @ok: and succeeded
 * @next: the entry to look at next
 * @state: enum empblk_rebuild_state
 * @bytes: bytes copied to new copies since the device started
 * @started: jiffies when the current run of rebuilds began
 * @run_bytes: bytes it copied so far
 * @misses: entries looked at in a row that could not be rebuilt now
 * @no_space: one of them for want of room
 */
struct empblk_rebuild {
	struct delayed_work work;
	struct empblk_pio pio;
	struct page *pages[EMPBLK_REBUILD_PAGES];
	struct completion done;
	bool ok;
	u64 next;
	unsigned int state;
	atomic64_t bytes;
	unsigned long started;
	u64 run_bytes;
	u64 misses;
	bool no_space;
};

/* entries one request or page I/O uses at most: two rows of lanes */
#define EMPBLK_STRIPE_MAX_REFS	(2 * EMPBLK_MAX_BACKENDS)
/* the remote tier and the SSD tier */
#define EMPBLK_STRIPE_MAX_MEMBERS 2

/**
 * struct empblk_stripe - the stripe set of a device
 * @tier: its tier interface; @tier.next is its first member
 * @pl: the placement map
 * @members: the remote tier (if any donor) first, then the SSD tier (if
 *	any SSD): a request goes to them in this order
 * @nr_members: entries in @members
 * @running: between ->start and ->stop: a failed backend is salvaged
 * @salvage_pending: bit b: backend b failed and the salvage worker has
 *	not moved its entries yet
 * @salvage_work: moves the entries of failed backends (empblk_wq)
 * @announce_lock: serialises announcing the health
 * @announced: the health last announced by a uevent ("ok" at first)
 * @rb: the rebuild of degraded entries (rebuild.c)
 */
struct empblk_stripe {
	struct empblk_tier tier;
	struct empblk_place pl;
	struct empblk_tier *members[EMPBLK_STRIPE_MAX_MEMBERS];
	unsigned int nr_members;
	bool running;
	unsigned long salvage_pending;
	struct delayed_work salvage_work;
	struct mutex announce_lock;	/* announcing the health */
	const char *announced;
	struct empblk_rebuild rb;
};

/**
 * struct empblk_strefs - the map entries an I/O holds references on
 * @nr: entries in @e
 * @overflow: one more was needed (a bug: see EMPBLK_STRIPE_MAX_REFS)
 * @e: the entries
 * @v: the value of each when it was referenced: where its copies are
 * @use: per pass, the copy of each entry the members serve then (0: none)
 */
struct empblk_strefs {
	unsigned int nr;
	bool overflow;
	u32 e[EMPBLK_STRIPE_MAX_REFS];
	u64 v[EMPBLK_STRIPE_MAX_REFS];
	u32 use[EMPBLK_MAX_COPIES][EMPBLK_STRIPE_MAX_REFS];
};

/**
 * struct empblk_stuse - what the members serve of an I/O now
 * @refs: its entries
 * @pass: the pass: the copies in @refs->use[@pass]
 * @raw: 0, or a copy (see EMPBLK_PLACE_EXT_BITS) the I/O addresses
 *	directly: its position is a byte offset in that copy's extent, not
 *	in the device (the rebuild's copying; @refs and @pass unused)
 */
struct empblk_stuse {
	const struct empblk_strefs *refs;
	unsigned int pass;
	u32 raw;
};

/**
 * struct empblk_stcmd - the stripe set's per-request state
 * @st: the stripe set
 * @rq: the request
 * @pending: members still serving the request, plus one while it is
 *	being handed to them
 * @status: BLK_STS_OK, or the first error a member ended it with
 * @backends: bit b: it went to backend b
 * @passes: passes the request takes: the most live copies of an entry
 * @masks: per pass, bit i: it goes to member i then
 * @avoid: bit b: a read failed on backend b before; kept when requeued
 * @tries: reads run again on other copies so far; kept when requeued
 * @rerouted: it ran again at once, without a backend that began to
 *	reconnect under it; kept when requeued
 * @nlost: pages of a read that were lost (bits in @lost)
 * @lost: bit i: the request's i-th page was lost with a failed backend
 * @use: what the members serve in this pass
 * @pass_work: hands the next pass to the members
 * @refs: its map entries
 */
struct empblk_stcmd {
	struct empblk_stripe *st;
	struct request *rq;
	atomic_t pending;
	int status;
	u32 backends;
	unsigned int passes;
	u32 masks[EMPBLK_MAX_COPIES];
	u32 avoid;
	unsigned int tries;
	bool rerouted;
	unsigned int nlost;
	DECLARE_BITMAP(lost, EMPBLK_MAX_RQ_PAGES);
	struct empblk_stuse use;
	struct work_struct pass_work;
	struct empblk_strefs refs;
};

/**
 * struct empblk_stpio - the stripe set's state of one page I/O
 * @pio: the page I/O
 * @st: the stripe set
 * @pending: members still writing, plus one while they are started
 * @failed: one of them failed
 * @write: a write (else a read)
 * @refs: its map entries
 * @use: per pass (copy), what the members serve of it
 * @sub: per pass, the page I/O each member is given; their own state
 *	follows this struct in empblk_pio.tier_data
 */
struct empblk_stpio {
	struct empblk_pio *pio;
	struct empblk_stripe *st;
	atomic_t pending;
	bool failed;
	bool write;
	struct empblk_strefs refs;
	struct empblk_stuse use[EMPBLK_MAX_COPIES];
	struct empblk_pio sub[EMPBLK_MAX_COPIES][EMPBLK_STRIPE_MAX_MEMBERS];
};

static inline struct empblk_stripe *to_stripe(struct empblk_tier *t)
{
	return container_of(t, struct empblk_stripe, tier);
}

/* stripe.c */
void empblk_stripe_announce(struct empblk_stripe *st);
int empblk_stripe_extent_io(struct empblk_stripe *st, struct empblk_pio *pio,
			    u32 v, bool write);

/* rebuild.c */
int empblk_rebuild_init(struct empblk_stripe *st);
void empblk_rebuild_free(struct empblk_stripe *st);
void empblk_rebuild_kick(struct empblk_stripe *st, bool now);
void empblk_rebuild_stop(struct empblk_stripe *st);
extern const char *const empblk_rebuild_states[EMPBLK_REBUILD_NR];

#endif /* EMPBLK_STRIPE_H */
