/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The parts of empblk with no kernel state: the parsed memory path and the
 * striping arithmetic. Kept free of everything but basic types so that
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
 *	DRAM-only device; with donors (or SSDs), their space striped evenly
 *	(the number of entries times the smallest entry)
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

/**
 * empblk_stripe_locate() - where a device byte lives on a stripe set
 * @pos: byte offset in the device
 * @sb_shift: log2 of the subblock size, the striping unit
 * @nr_donors: members striped over (>= 1): donors or SSDs
 * @donor: the member's index
 * @doff: byte offset in that member's space
 *
 * Global subblock g lives on member g % nr_donors, at member-local
 * subblock g / nr_donors.
 */
static inline void empblk_stripe_locate(u64 pos, unsigned int sb_shift,
					unsigned int nr_donors,
					unsigned int *donor, u64 *doff)
{
	u64 sb_off = pos & ((1ULL << sb_shift) - 1);
	u32 rem;
	u64 g = div_u64_rem(pos >> sb_shift, nr_donors, &rem);

	*donor = rem;
	*doff = (g << sb_shift) | sb_off;
}

/**
 * empblk_stripe_chunks_covered() - chunks of a donor a range covers whole
 * @g0: first global subblock of the range
 * @g1: first global subblock after it
 * @donor: the donor's index
 * @nr_donors: donors striped over
 * @sb_per_chunk: subblocks per donor chunk
 * @c0: first chunk covered whole
 * @c1: first chunk after the last one covered whole (@c1 <= @c0: none)
 *
 * A chunk may be given back only when every subblock in it is in the
 * range: these are the chunks a discard of [@g0, @g1) frees on @donor.
 */
static inline void empblk_stripe_chunks_covered(u64 g0, u64 g1,
						unsigned int donor,
						unsigned int nr_donors,
						unsigned int sb_per_chunk,
						u64 *c0, u64 *c1)
{
	/* donor-local subblocks of this donor inside [g0, g1) */
	u64 first = div_u64(g0 > donor ? g0 - donor + nr_donors - 1 : 0,
			    nr_donors);
	u64 last = g1 > donor ? div_u64(g1 - donor + nr_donors - 1,
					nr_donors) : 0;

	*c0 = div_u64(first + sb_per_chunk - 1, sb_per_chunk);
	*c1 = div_u64(last, sb_per_chunk);
}

#endif /* EMPBLK_SPEC_H */
