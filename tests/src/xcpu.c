// SPDX-License-Identifier: GPL-2.0
/*
 * xcpu DEV ROUNDS BYTES: read-after-write across CPUs. A writer thread on
 * CPU 0 writes BYTES (O_DIRECT) at a random BYTES-aligned offset of DEV,
 * each 8-byte word holding the round number and its index; as soon as the
 * write returns, a reader thread on CPU 1 reads the same bytes back and
 * checks them. blk-mq runs the two on different hardware queues, so over
 * RDMA the READ goes on another queue pair than the WRITE it follows.
 * Prints "rounds N mismatched N" and exits 0 if no round mismatched, 1
 * otherwise (or on an I/O error), 2 on bad usage or with fewer than two
 * CPUs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <unistd.h>

static int fd;
static unsigned long rounds, bytes, slots;
/* the round the reader may check (written), and the one it has checked */
static volatile unsigned long written, checked;
static unsigned long off;
static unsigned long mismatched, failed;

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		fprintf(stderr, "xcpu: cannot run on CPU %d\n", cpu);
		exit(2);
	}
}

static void *reader(void *arg)
{
	uint64_t *buf;
	unsigned long r, i;

	(void)arg;
	pin(1);
	if (posix_memalign((void **)&buf, 4096, bytes))
		exit(1);
	for (r = 1; r <= rounds; r++) {
		while (__atomic_load_n(&written, __ATOMIC_ACQUIRE) < r)
			;
		if (pread(fd, buf, bytes, off) != (ssize_t)bytes) {
			perror("xcpu: read");
			failed++;
		} else {
			for (i = 0; i < bytes / 8; i++)
				if (buf[i] != (r << 32 | i))
					break;
			if (i < bytes / 8 && mismatched++ < 8)
				printf("round %lu at %lu: word %lu is %#llx\n", r,
				       off, i, (unsigned long long)buf[i]);
		}
		__atomic_store_n(&checked, r, __ATOMIC_RELEASE);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long long size;
	pthread_t t;
	uint64_t *buf;
	unsigned long r, i;

	if (argc != 4 || !(rounds = strtoul(argv[2], NULL, 0)) ||
	    !(bytes = strtoul(argv[3], NULL, 0)) || bytes % 4096) {
		fprintf(stderr, "usage: xcpu DEV ROUNDS BYTES (a multiple of 4096)\n");
		return 2;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "xcpu: needs two CPUs\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) || size < bytes) {
		perror("xcpu: open");
		return 1;
	}
	slots = size / bytes;
	if (posix_memalign((void **)&buf, 4096, bytes))
		return 1;
	srandom(4242);
	pin(0);
	if (pthread_create(&t, NULL, reader, NULL))
		return 1;
	for (r = 1; r <= rounds; r++) {
		/* the reader is done with the last round */
		while (__atomic_load_n(&checked, __ATOMIC_ACQUIRE) + 1 < r)
			;
		off = (random() % slots) * bytes;
		for (i = 0; i < bytes / 8; i++)
			buf[i] = r << 32 | i;
		if (pwrite(fd, buf, bytes, off) != (ssize_t)bytes) {
			perror("xcpu: write");
			failed++;
		}
		__atomic_store_n(&written, r, __ATOMIC_RELEASE);
	}
	pthread_join(t, NULL);
	printf("rounds %lu mismatched %lu\n", rounds, mismatched);
	return mismatched || failed;
}
