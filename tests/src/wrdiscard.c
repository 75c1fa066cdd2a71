// SPDX-License-Identifier: GPL-2.0
/*
 * wrdiscard DEV ROUNDS WRITE_BYTES SPAN_BYTES: ROUNDS times, write
 * WRITE_BYTES of random data (O_DIRECT) at the start of the next
 * SPAN_BYTES of DEV, and discard that span as soon as the write returns,
 * with no process start in between: a discard right behind a write, as
 * 071-remote-discard-race.sh needs. Exit 0 if every write and discard
 * succeeded, 1 (with the failing round on stderr) otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long rounds, wlen, span, k;
	unsigned char *buf;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: wrdiscard DEV ROUNDS WRITE_BYTES SPAN_BYTES\n");
		return 2;
	}
	rounds = strtoul(argv[2], NULL, 0);
	wlen = strtoul(argv[3], NULL, 0);
	span = strtoul(argv[4], NULL, 0);
	if (!wlen || wlen > span || wlen % 4096 || span % 4096) {
		fprintf(stderr, "wrdiscard: WRITE_BYTES must be a multiple of 4096, at most SPAN_BYTES\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "wrdiscard: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (posix_memalign((void **)&buf, 4096, wlen))
		return 1;
	for (k = 0; k < wlen; k += 256)
		if (getrandom(buf + k, wlen - k < 256 ? wlen - k : 256, 0) < 0)
			return 1;
	for (k = 0; k < rounds; k++) {
		uint64_t range[2] = { k * span, span };
		ssize_t n = pwrite(fd, buf, wlen, k * span);

		if (n != (ssize_t)wlen) {
			fprintf(stderr, "wrdiscard: round %lu: write: %s\n", k,
				n < 0 ? strerror(errno) : "short");
			return 1;
		}
		if (ioctl(fd, BLKDISCARD, range)) {
			fprintf(stderr, "wrdiscard: round %lu: discard: %s\n", k,
				strerror(errno));
			return 1;
		}
	}
	printf("%lu rounds\n", rounds);
	return 0;
}
