// SPDX-License-Identifier: GPL-2.0
/*
 * ethhub DIR N: an Ethernet hub on the host for N (2..8) QEMU guests
 * joined by "-netdev dgram" on unix datagram sockets. It binds DIR/hI for
 * each guest I (0..N-1), whose QEMU sends there (remote.path=DIR/hI) and
 * binds DIR/gI (local.path), and passes every frame one guest sends to
 * every other guest, as a hub does: the three-guest tests put a compute
 * guest and two donors on one link, so that the compute guest reaches
 * both donors through one RDMA device. Sends block while a guest's
 * queue is full (QEMU then holds its own frames back): no frame is lost
 * to a slow guest. A guest that is gone (its socket refuses) is skipped.
 * Runs until killed; exit 2 on bad usage, 1 on a setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_GUESTS	8

static void addr_of(struct sockaddr_un *a, const char *dir, char kind, int i)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s/%c%d", dir, kind, i);
}

int main(int argc, char **argv)
{
	static char frame[65536];
	struct pollfd pfd[MAX_GUESTS];
	struct sockaddr_un a;
	int n, i, j;

	if (argc != 3 || (n = atoi(argv[2])) < 2 || n > MAX_GUESTS) {
		fprintf(stderr, "usage: ethhub DIR N (2..%d guests)\n", MAX_GUESTS);
		return 2;
	}
	for (i = 0; i < n; i++) {
		pfd[i].fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		pfd[i].events = POLLIN;
		addr_of(&a, argv[1], 'h', i);
		unlink(a.sun_path);
		if (pfd[i].fd < 0 ||
		    bind(pfd[i].fd, (struct sockaddr *)&a, sizeof(a))) {
			perror(a.sun_path);
			return 1;
		}
	}
	for (;;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		for (i = 0; i < n; i++) {
			ssize_t len;

			if (!(pfd[i].revents & POLLIN))
				continue;
			len = recv(pfd[i].fd, frame, sizeof(frame), 0);
			if (len <= 0)
				continue;
			for (j = 0; j < n; j++) {
				if (j == i)
					continue;
				addr_of(&a, argv[1], 'g', j);
				/*
				 * From j's own socket (QEMU may take frames
				 * from its remote only); blocks while j's queue
				 * is full; a gone guest refuses.
				 */
				while (sendto(pfd[j].fd, frame, len, 0,
					      (struct sockaddr *)&a, sizeof(a)) < 0 &&
				       errno == EINTR)
					;
			}
		}
	}
}
