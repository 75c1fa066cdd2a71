/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The parts of empblk with no kernel state: the parsed memory path and the
 * placement layout's arithmetic. Kept free of everything but basic types so that
 * the userspace unit tests (tests/unit/) compile spec.c and this header
 * unchanged; the KUnit suite (spec_kunit.c) tests the same code in the kernel.
 */
#ifndef EMPBLK_SPEC_H
#define EMPBLK_SPEC_H

#include <linux/bits.h>
#include <linux/math64.h>
#include <linux/socket.h>
#include <linux/types.h>

#define EMPBLK_MAX_MB		BIT_ULL(24)	/* 16 TiB per tier or device */
#define EMPBLK_MAX_DONORS	16
#define EMPBLK_MAX_SSDS		8
#define EMPBLK_SSD_PATH_MAX	128	/* bytes of a /dev path, with its NUL */
#define EMPBLK_MAX_SSD_OFFSET_MB BIT_ULL(32)	/* 4 PiB into a device */

/**
 * struct empblk_donor_spec - one IP:MB:PORT entry of a mem_path
 * @addr: donor address and port
 * @mb: memory to use on that donor, MiB
 */
struct empblk_donor_spec {
	struct sockaddr_storage addr;
	u64 mb;
};

/**
 * struct empblk_ssd_spec - one /dev/DEV:MB:OFFSET entry of a mem_path
 * @path: the block device's path
 * @mb: MiB of it to use
 * @offset_mb: where that space starts on it, MiB
 */
struct empblk_ssd_spec {
	char path[EMPBLK_SSD_PATH_MAX];
	u64 mb;
	u64 offset_mb;
};

/**
 * struct empblk_spec - a parsed mem_path
 * @dram_mb: size of the local DRAM tier in MiB (0: none); with donors,
 *	the size of the DRAM cache in front of them
 * @nr_donors: number of donor entries
 * @donors: donor entries, in mem_path order
 * @nr_ssds: number of SSD entries
 * @ssds: SSD entries, in mem_path order
 * @total_mb: device capacity the tiers give, MiB: the DRAM size for a
 *	DRAM-only device; with donors or SSDs, the sum of their whole
 *	extents (EMPBLK_EXT_SIZE), rounded down to a whole row of lanes
 *	(one extent per backend): see empblk_layout_entry()
 */
struct empblk_spec {
	u64 dram_mb;
	unsigned int nr_donors;
	struct empblk_donor_spec donors[EMPBLK_MAX_DONORS];
	unsigned int nr_ssds;
	struct empblk_ssd_spec ssds[EMPBLK_MAX_SSDS];
	u64 total_mb;
};

int empblk_spec_parse(const char *buf, struct empblk_spec *spec,
		      char *norm, size_t normlen, const char *name);

/*
 * Placement layout. The space of a device with donors or SSDs is placed
 * in extents of EMPBLK_EXT_SIZE: an extent of a backend (a donor chunk,
 * or 2 MiB of an SSD entry) holds one entry of the device's placement
 * map. Consecutive subblocks go to consecutive lanes (one lane per
 * backend), so that a large request is spread over several entries and,
 * with the default policy, over several backends: device subblock g is
 * in lane g % lanes, row g / lanes; a map entry holds the subblocks of
 * one lane in EMPBLK_EXT_SIZE / subblock consecutive rows.
 */
#define EMPBLK_EXT_SHIFT	21
#define EMPBLK_EXT_SIZE		BIT_ULL(EMPBLK_EXT_SHIFT)

/**
 * empblk_layout_entry() - the placement-map entry of a device byte
 * @pos: byte offset in the device
 * @sb_shift: log2 of the subblock size (<= EMPBLK_EXT_SHIFT)
 * @lanes: lanes (>= 1)
 * @eoff: the byte's offset in the entry's extent
 *
 * Return: the entry's index.
 */
static inline u64 empblk_layout_entry(u64 pos, unsigned int sb_shift,
				      unsigned int lanes, u64 *eoff)
{
	unsigned int rows_shift = EMPBLK_EXT_SHIFT - sb_shift;
	u32 lane;
	u64 row = div_u64_rem(pos >> sb_shift, lanes, &lane);

	*eoff = ((row & ((1ULL << rows_shift) - 1)) << sb_shift) |
		(pos & ((1ULL << sb_shift) - 1));
	return (row >> rows_shift) * lanes + lane;
}

/**
 * empblk_layout_run() - the subblocks of one entry inside a range
 * @g0: first device subblock of the range
 * @g1: first device subblock after it
 * @entry: the entry's index
 * @sb_shift: log2 of the subblock size
 * @lanes: lanes
 * @k0: first of the entry's subblocks in the range
 * @k1: first of them after the range (@k1 <= @k0: none)
 *
 * An entry's subblocks are consecutive in its extent: those in a range
 * are one run there, [@k0, @k1) in subblocks from the extent's start.
 */
static inline void empblk_layout_run(u64 g0, u64 g1, u64 entry,
				     unsigned int sb_shift, unsigned int lanes,
				     u64 *k0, u64 *k1)
{
	u64 rows = 1ULL << (EMPBLK_EXT_SHIFT - sb_shift);
	u32 lane;
	u64 first_row = div_u64_rem(entry, lanes, &lane) * rows;
	/* rows of this lane at or after g0, and before g1 */
	u64 first = g0 > lane ? div_u64(g0 - lane + lanes - 1, lanes) : 0;
	u64 last = g1 > lane ? div_u64(g1 - lane + lanes - 1, lanes) : 0;

	first = first < first_row ? first_row : first;
	last = last < first_row ? first_row : last;
	*k0 = (first < first_row + rows ? first : first_row + rows) - first_row;
	*k1 = (last < first_row + rows ? last : first_row + rows) - first_row;
}

#endif /* EMPBLK_SPEC_H */
