// SPDX-License-Identifier: GPL-2.0
/*
 * memverify: fill a working set with a per-word pattern, revisit random
 * pages many times (verify, then rewrite with a new generation), and
 * verify every word at the end. Run in a memory-limited cgroup it forces
 * pages through swap and back; any word that comes back wrong is counted.
 *
 * usage: memverify MIB REVISITS [SEED [UNTIL]]
 * With UNTIL, revisits go on past REVISITS until a file of that name
 * exists (a test's way to span an event of its own, such as an outage).
 * Exit 0 if no word mismatched, 1 on mismatches, 2 on usage or setup error.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096UL
#define WORDS		(PAGE / sizeof(uint64_t))

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t word_value(uint64_t seed, size_t page, size_t word,
			   uint8_t gen)
{
	return mix(seed ^ (page << 20) ^ (word << 8) ^ gen);
}

static void fill(uint64_t *p, uint64_t seed, size_t page, uint8_t gen)
{
	for (size_t w = 0; w < WORDS; w++)
		p[w] = word_value(seed, page, w, gen);
}

static size_t check(const uint64_t *p, uint64_t seed, size_t page,
		    uint8_t gen)
{
	size_t bad = 0;

	for (size_t w = 0; w < WORDS; w++) {
		if (p[w] != word_value(seed, page, w, gen)) {
			if (bad == 0)
				fprintf(stderr,
					"memverify: page %zu word %zu: got %016" PRIx64 " want %016" PRIx64 "\n",
					page, w, p[w],
					word_value(seed, page, w, gen));
			bad++;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	size_t mib, pages, revisits, bad = 0, i;
	const char *until;
	uint64_t seed, rng;
	uint8_t *gen;
	uint64_t *mem;

	if (argc < 3) {
		fprintf(stderr, "usage: memverify MIB REVISITS [SEED [UNTIL]]\n");
		return 2;
	}
	mib = strtoul(argv[1], NULL, 0);
	revisits = strtoul(argv[2], NULL, 0);
	seed = argc > 3 ? strtoull(argv[3], NULL, 0) : (uint64_t)time(NULL);
	until = argc > 4 ? argv[4] : NULL;
	pages = mib * 256;
	if (!pages)
		return 2;

	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gen = calloc(pages, 1);
	if (mem == MAP_FAILED || !gen) {
		perror("memverify: mmap");
		return 2;
	}
	/* no THP: keep the unit of swap a 4 KiB page, as most workloads */
	madvise(mem, pages * PAGE, MADV_NOHUGEPAGE);

	for (size_t pg = 0; pg < pages; pg++)
		fill(mem + pg * WORDS, seed, pg, 0);

	rng = seed | 1;
	for (i = 0; i < revisits ||
		    (until && (i % 64 || access(until, F_OK))); i++) {
		size_t pg;

		rng = mix(rng + i);
		pg = rng % pages;
		bad += check(mem + pg * WORDS, seed, pg, gen[pg]);
		gen[pg]++;
		fill(mem + pg * WORDS, seed, pg, gen[pg]);
	}

	for (size_t pg = 0; pg < pages; pg++)
		bad += check(mem + pg * WORDS, seed, pg, gen[pg]);

	printf("memverify: %zu MiB, %zu revisits, seed %" PRIu64 ": %zu mismatched words\n",
	       mib, i, seed, bad);
	return bad ? 1 : 0;
}
