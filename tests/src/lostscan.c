// SPDX-License-Identifier: GPL-2.0
/*
 * lostscan DEV REF UNIT: read DEV (O_DIRECT) in reads of UNIT bytes, up to
 * the size of REF, and sort each unit: "good" (it reads exactly what REF
 * holds there), "lost" (the read fails with EIO) or "wrong" (it reads
 * anything else: stale data, zeroes in place of data). Prints
 *
 *   good N lost N wrong N
 *
 * in units, then one line per wrong unit ("wrong at BYTE"), at most 16.
 * Exit 0 if no unit is wrong and every failure was EIO, 1 otherwise, 2 on
 * bad usage. 093-donor-restart.sh checks that a device that lost a donor
 * fails exactly what the donor held and reads nothing stale.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long good = 0, lost = 0, wrong = 0, unit;
	unsigned char *buf, *ref;
	int dev, rfd, other = 0;
	struct stat st;
	off_t off;

	if (argc != 4 || !(unit = strtoul(argv[3], NULL, 0)) || unit % 4096) {
		fprintf(stderr, "usage: lostscan DEV REF UNIT (a multiple of 4096)\n");
		return 2;
	}
	dev = open(argv[1], O_RDONLY | O_DIRECT);
	rfd = open(argv[2], O_RDONLY);
	if (dev < 0 || rfd < 0 || fstat(rfd, &st)) {
		perror("lostscan: open");
		return 1;
	}
	if (posix_memalign((void **)&buf, 4096, unit) ||
	    !(ref = malloc(unit))) {
		perror("lostscan: memory");
		return 1;
	}
	for (off = 0; off + (off_t)unit <= st.st_size; off += unit) {
		ssize_t n = pread(dev, buf, unit, off);

		if (pread(rfd, ref, unit, off) != (ssize_t)unit) {
			perror("lostscan: reading the reference");
			return 1;
		}
		if (n < 0 && errno == EIO) {
			lost++;
		} else if (n != (ssize_t)unit) {
			fprintf(stderr, "lostscan: read at %lld: %s\n",
				(long long)off, n < 0 ? strerror(errno) : "short");
			other++;
		} else if (memcmp(buf, ref, unit)) {
			if (wrong++ < 16)
				printf("wrong at %lld\n", (long long)off);
		} else {
			good++;
		}
	}
	printf("good %lu lost %lu wrong %lu\n", good, lost, wrong);
	return wrong || other;
}
