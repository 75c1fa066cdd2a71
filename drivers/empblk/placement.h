/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The placement map of a device with donors or SSDs: which backend, and
 * where on it, holds each extent of the device's space. See placement.c.
 */
#ifndef EMPBLK_PLACEMENT_H
#define EMPBLK_PLACEMENT_H

#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "spec.h"

#define EMPBLK_MAX_BACKENDS	(EMPBLK_MAX_DONORS + EMPBLK_MAX_SSDS)

/*
 * A copy of an entry: 0 none, else (backend + 1) << 27 | extent on it. An
 * entry is its copies in one u64, copy c in bits 32c..32c+31: 0 when not
 * mapped, and published whole, so that no I/O sees half of a move.
 */
#define EMPBLK_MAX_COPIES	2
#define EMPBLK_PLACE_EXT_BITS	27
#define EMPBLK_PLACE_EXT_MASK	(BIT(EMPBLK_PLACE_EXT_BITS) - 1)
/* empblk_place_get() of an entry being rebuilt: no valid entry is this */
#define EMPBLK_PLACE_FROZEN	U64_MAX
/* pages of an extent: the bits of an entry's lost-page bitmap */
#define EMPBLK_PLACE_EXT_PAGES	(EMPBLK_EXT_SIZE >> PAGE_SHIFT)

struct empblk_tier;

/**
 * enum empblk_placement - where a device's new extents go
 * @EMPBLK_PLACE_DISTRIBUTE: over every backend in proportion to its
 *	capacity: consecutive subblocks land on different backends
 * @EMPBLK_PLACE_SEQUENTIAL: fill the first backend, then the next
 *	(donors in mem_path order, then SSDs)
 * @EMPBLK_PLACE_FASTEST_FIRST: donors (distributed) while any has room,
 *	then SSDs: a full donor means slower swap, not ENOSPC
 * @EMPBLK_PLACE_NR: the number of policies
 */
enum empblk_placement {
	EMPBLK_PLACE_DISTRIBUTE,
	EMPBLK_PLACE_SEQUENTIAL,
	EMPBLK_PLACE_FASTEST_FIRST,
	EMPBLK_PLACE_NR,
};

extern const char *const empblk_placement_names[EMPBLK_PLACE_NR];

/**
 * struct empblk_backend - one donor or SSD entry of a device
 * @member: the tier that does its I/O (remote or SSD)
 * @idx: its index in that tier (donor or SSD entry)
 * @donor: a donor (RDMA), not an SSD
 * @full: its owner refused an extent for lack of space; skipped until
 *	one of its extents is released
 * @failed: given up for good (a donor lost past its loss_timeout, or
 *	restarted): nothing new goes to it, and its copies are gone
 * @busy: reconnecting: its I/O waits for it. With replicas, reads go to
 *	other copies and writes skip it, marking its copies stale
 * @nr_ext: extents it offers
 * @used: extents holding an entry
 * @hint: where to look for a free extent next
 * @in_use: one bit per extent, set while it holds an entry
 * @read_bytes: bytes read from it
 * @write_bytes: bytes written to it
 * @errors: extents it refused, other than for space
 */
struct empblk_backend {
	struct empblk_tier *member;
	unsigned int idx;
	bool donor;
	bool full;
	bool failed;
	bool busy;
	u64 nr_ext;
	u64 used;
	u64 hint;
	unsigned long *in_use;
	atomic64_t read_bytes;
	atomic64_t write_bytes;
	atomic64_t errors;
};

/**
 * struct empblk_place - a device's placement map
 * @lock: serialises mapping and unmapping entries (and @be's allocation
 *	state); lookups take no lock
 * @policy: enum empblk_placement
 * @sb_shift: log2 of the subblock size
 * @lanes: lanes of the layout: one per backend
 * @copies: copies of each entry, each on a different backend (the
 *	device's replicas)
 * @nr_backends: entries in @be: donors first, then SSDs, in mem_path order
 * @nr_entries: entries in @map
 * @map: per entry, where its copies are (see EMPBLK_PLACE_EXT_BITS);
 *	published with a release store once the backends hold the extents
 * @refs: per entry, the I/Os using it now (empblk_place_get()); unmapping
 *	waits for them
 * @lost: per entry, NULL or a bitmap of its pages (EMPBLK_PLACE_EXT_PAGES
 *	bits) whose data went with failed backends (every copy) and were
 *	not written since; published with a release store, freed when the
 *	entry is unmapped
 * @lost_pages: bits set in @lost
 * @stuck: entries left on failed backends: no other one had room
 * @degraded_map: per entry, a bit set while it has a good copy (on a
 *	live backend, not stale) and fewer such copies than @copies
 * @degraded: bits set in @degraded_map
 * @stale_lock: makes a write's choice of copies and its stale marks one
 * @stale_map: per copy c, per entry, a bit set while copy c missed
 *	writes (its backend was busy): never read, resynced by the rebuild;
 *	NULL without replicas
 * @frozen: the entry being rebuilt (empblk_place_rebuild()): I/O keeps
 *	off it; U64_MAX when none
 * @be: the backends
 */
struct empblk_place {
	struct mutex lock;	/* mapping and unmapping */
	enum empblk_placement policy;
	unsigned int sb_shift;
	unsigned int lanes;
	unsigned int copies;
	unsigned int nr_backends;
	u64 nr_entries;
	u64 *map;
	atomic_t *refs;
	unsigned long **lost;
	atomic64_t lost_pages;
	u64 stuck;
	unsigned long *degraded_map;
	atomic64_t degraded;
	spinlock_t stale_lock;	/* choosing copies and marking them stale */
	unsigned long *stale_map[EMPBLK_MAX_COPIES];
	u64 frozen;
	struct empblk_backend be[EMPBLK_MAX_BACKENDS];
};

static inline unsigned int empblk_place_backend(u32 v)
{
	return (v >> EMPBLK_PLACE_EXT_BITS) - 1;
}

static inline u64 empblk_place_ext(u32 v)
{
	return v & EMPBLK_PLACE_EXT_MASK;
}

/* copy @c of entry value @ev (0: none) */
static inline u32 empblk_place_copy(u64 ev, unsigned int c)
{
	return (u32)(ev >> (32 * c));
}

/* the entry of device byte @pos, and the byte's offset in its extent */
static inline u64 empblk_place_entry(const struct empblk_place *pl, u64 pos,
				     u64 *eoff)
{
	return empblk_layout_entry(pos, pl->sb_shift, pl->lanes, eoff);
}

int empblk_place_init(struct empblk_place *pl, u64 capacity,
		      unsigned int sb_shift, unsigned int lanes,
		      unsigned int copies, enum empblk_placement policy);
void empblk_place_free(struct empblk_place *pl);
int empblk_place_add_backend(struct empblk_place *pl,
			     struct empblk_tier *member, unsigned int idx,
			     bool donor, u64 bytes);
u64 empblk_place_get(struct empblk_place *pl, u64 e);
unsigned int empblk_place_live(const struct empblk_place *pl, u64 ev);
unsigned int empblk_place_good(const struct empblk_place *pl, u64 e, u64 ev);
unsigned int empblk_place_ready(const struct empblk_place *pl, u64 ev,
				unsigned int copies);
bool empblk_place_mark_stale(struct empblk_place *pl, u64 e, unsigned int c);
void empblk_place_put(struct empblk_place *pl, u64 e);
int empblk_place_map(struct empblk_place *pl, u64 e);
void empblk_place_unmap(struct empblk_place *pl, u64 e);
unsigned int empblk_place_lost(struct empblk_place *pl, u64 e, u64 eoff,
			       u64 len, unsigned long *out, unsigned int bit);
void empblk_place_found(struct empblk_place *pl, u64 e, u64 ev, u64 eoff,
			u64 len);
u64 empblk_place_salvage(struct empblk_place *pl, u64 *moved, bool *retry,
			 u64 *kept);

/**
 * typedef empblk_place_copy_fn - copy an extent's data to another
 * @ctx: the caller's
 * @from: the copy read (see EMPBLK_PLACE_EXT_BITS)
 * @to: the copy written
 *
 * Return: 0 once all of it is there, or a negative errno.
 */
typedef int (*empblk_place_copy_fn)(void *ctx, u32 from, u32 to);
int empblk_place_rebuild(struct empblk_place *pl, u64 e,
			 empblk_place_copy_fn copy, void *ctx);
int empblk_placement_parse(const char *buf, enum empblk_placement *p);

#endif /* EMPBLK_PLACEMENT_H */
