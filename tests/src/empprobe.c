// SPDX-License-Identifier: GPL-2.0
/*
 * empprobe: a userspace client of the empblk wire protocol, for testing
 * emp_rdma_target from inside a guest: it connects the way empblk does, or
 * deliberately does not (wrong version, no magic, garbage messages), and
 * checks what the donor answers. Exit 0 when the donor behaved as the test
 * expects, 1 when it did not, 2 on usage or local setup errors.
 *
 *   empprobe ADDR PORT connect          admin connect, print the reply
 *   empprobe ADDR PORT badversion       expect reject BAD_VERSION
 *   empprobe ADDR PORT nomagic          expect reject BAD_MSG
 *   empprobe ADDR PORT nosession        I/O queue with an unknown cookie:
 *                                       expect reject NO_SESSION
 *   empprobe ADDR PORT garbage          expect ERROR_RSP BAD_MSG, then a
 *                                       working session
 *   empprobe ADDR PORT chunks N         allocate N chunks; each reads back
 *                                       as zeroes, then holds a pattern
 *                                       written and read over an I/O queue;
 *                                       free them all
 *   empprobe ADDR PORT exhaust          allocate until NO_SPACE, free all
 *   empprobe ADDR PORT hold N SECONDS   allocate N chunks and keep them;
 *                                       exit 3 if the donor goes away
 *   empprobe ADDR PORT abandon N        N times: connect, send twice as many
 *                                       allocations as the donor has
 *                                       receives posted, and go away while
 *                                       it answers them (a client killed
 *                                       mid-request); then a session that
 *                                       works. Over iWARP, which has no
 *                                       RNR retry, the overrun may end the
 *                                       connection (a DDP "no buffer"
 *                                       TERMINATE) before the last post:
 *                                       that round ends there
 *   empprobe ADDR PORT orphan SECONDS   admin and I/O queue, a chunk
 *                                       allocated, then only the admin
 *                                       queue disconnected: the donor must
 *                                       end the I/O queue within SECONDS,
 *                                       and refuse a new one (NO_SESSION)
 *
 * Sessions that outlive their connections (protocol 1.1):
 *   empprobe ADDR PORT detach GRACE N FILE
 *                                       a session asking for GRACE s: N
 *                                       chunks allocated and written with a
 *                                       pattern, the session saved in FILE,
 *                                       then the process leaves without a
 *                                       CLOSE (its connections drop)
 *   empprobe ADDR PORT reattach FILE    resume that session (retrying while
 *                                       the donor answers RETRY): the same
 *                                       incarnation, every chunk still
 *                                       holds its pattern under its old
 *                                       key, the last allocation sent again
 *                                       is answered as before (no new
 *                                       chunk), then CLOSE
 *   empprobe ADDR PORT gone FILE        a reattach to that session is
 *                                       refused with NO_SESSION
 *   empprobe ADDR PORT takeover GRACE   a reattach while the old connection
 *                                       is still up: RETRY, the donor ends
 *                                       the old connection, then RESUMED
 *   empprobe ADDR PORT keepalive KATO   keep-alives every KATO/2 s keep the
 *                                       admin queue up for 3 x KATO; then,
 *                                       silent, the donor ends it within
 *                                       3 x KATO
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <rdma/rdma_cma.h>

/* the protocol, mirrored from include/emp/emp-proto.h (checked below) */
#define EMP_PROTO_MAGIC		0x454d5042
#define EMP_MSG_SIZE		64
#define EMP_CHUNK_SIZE		(2U << 20)
enum { ST_OK, ST_BAD_VERSION, ST_BAD_MSG, ST_NO_SPACE, ST_NO_MEM,
       ST_NO_SESSION, ST_BAD_CHUNK, ST_SHUTDOWN, ST_RETRY };
enum { MSG_ALLOC = 1, MSG_ALLOC_RSP, MSG_FREE, MSG_FREE_RSP, MSG_ERROR_RSP,
       MSG_KEEPALIVE, MSG_KEEPALIVE_RSP, MSG_CLOSE, MSG_CLOSE_RSP };
#define CM_REATTACH	1
#define REP_RESUMED	1

struct cm_req { uint32_t magic; uint16_t maj, min, qid, nr_io; uint32_t depth;
		uint64_t cookie; uint16_t flags, kato_s; uint32_t grace_s;
	      } __attribute__((packed));
struct cm_rep { uint32_t magic; uint16_t maj, min; uint8_t chunk_shift;
		uint8_t flags, rsvd0[2]; uint32_t grace_s;
		uint64_t incarnation, budget_mb;
		uint8_t rsvd[8]; } __attribute__((packed));
struct cm_rej { uint32_t magic; uint16_t maj, min; uint32_t status;
		uint8_t rsvd[4]; } __attribute__((packed));
struct msg { uint32_t magic; uint16_t type, len; uint32_t tag, status;
	     uint32_t chunk, rkey; uint64_t addr; uint32_t clen, rsvd0;
	     uint64_t budget_mb; uint8_t rsvd[8]; } __attribute__((packed));
_Static_assert(sizeof(struct cm_req) == 32, "cm_req");
_Static_assert(sizeof(struct cm_rep) == 40, "cm_rep");
_Static_assert(sizeof(struct cm_rej) == 16, "cm_rej");
_Static_assert(sizeof(struct msg) == 56, "msg");

struct conn {
	struct rdma_event_channel *ch;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	uint8_t *buf;		/* [0,64) send, [64,128) recv, then data */
	size_t buflen;
	struct cm_rep rep;
	int rej_status;		/* -1: not rejected */
};

static const char *g_addr, *g_port;
static uint64_t g_cookie;
static uint32_t g_tag;

#define die(...) do { fprintf(stderr, "empprobe: " __VA_ARGS__); \
		      fputc('\n', stderr); exit(2); } while (0)
#define fail(...) do { fprintf(stderr, "empprobe: FAIL: " __VA_ARGS__); \
		       fputc('\n', stderr); exit(1); } while (0)

static struct rdma_cm_event *wait_event(struct conn *c,
					enum rdma_cm_event_type want)
{
	struct rdma_cm_event *ev;

	if (rdma_get_cm_event(c->ch, &ev))
		die("rdma_get_cm_event: %s", strerror(errno));
	if (ev->event != want && ev->event != RDMA_CM_EVENT_REJECTED)
		die("expected %s, got %s (status %d)", rdma_event_str(want),
		    rdma_event_str(ev->event), ev->status);
	return ev;
}

/* Connect one queue; returns 0 accepted, or 1 rejected (c->rej_status). */
static int conn_open(struct conn *c, const struct cm_req *req, size_t buflen)
{
	struct rdma_addrinfo hints = { .ai_port_space = RDMA_PS_TCP }, *ai;
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_RC };
	struct rdma_conn_param cp = { .initiator_depth = 16,
				      .responder_resources = 0,
				      .retry_count = 7, .rnr_retry_count = 7 };
	struct rdma_cm_event *ev;

	memset(c, 0, sizeof(*c));
	c->rej_status = -1;
	c->ch = rdma_create_event_channel();
	if (!c->ch || rdma_create_id(c->ch, &c->id, NULL, RDMA_PS_TCP))
		die("rdma_create_id: %s", strerror(errno));
	if (rdma_getaddrinfo(g_addr, g_port, &hints, &ai))
		die("rdma_getaddrinfo %s:%s: %s", g_addr, g_port, strerror(errno));
	if (rdma_resolve_addr(c->id, NULL, ai->ai_dst_addr, 2000))
		die("rdma_resolve_addr: %s", strerror(errno));
	rdma_freeaddrinfo(ai);
	rdma_ack_cm_event(wait_event(c, RDMA_CM_EVENT_ADDR_RESOLVED));
	if (rdma_resolve_route(c->id, 2000))
		die("rdma_resolve_route: %s", strerror(errno));
	rdma_ack_cm_event(wait_event(c, RDMA_CM_EVENT_ROUTE_RESOLVED));

	c->pd = ibv_alloc_pd(c->id->verbs);
	c->cq = ibv_create_cq(c->id->verbs, 128, NULL, NULL, 0);
	c->buflen = 128 + buflen;
	c->buf = aligned_alloc(4096, (c->buflen + 4095) & ~4095UL);
	if (!c->pd || !c->cq || !c->buf)
		die("verbs setup: %s", strerror(errno));
	memset(c->buf, 0xa5, c->buflen);
	c->mr = ibv_reg_mr(c->pd, c->buf, c->buflen, IBV_ACCESS_LOCAL_WRITE);
	if (!c->mr)
		die("ibv_reg_mr: %s", strerror(errno));
	qa.send_cq = c->cq;
	qa.recv_cq = c->cq;
	qa.cap.max_send_wr = 64;
	qa.cap.max_recv_wr = 16;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	if (rdma_create_qp(c->id, c->pd, &qa))
		die("rdma_create_qp: %s", strerror(errno));

	cp.private_data = req;
	cp.private_data_len = req ? sizeof(*req) : 0;
	if (rdma_connect(c->id, &cp))
		die("rdma_connect: %s", strerror(errno));
	ev = wait_event(c, RDMA_CM_EVENT_ESTABLISHED);
	if (ev->event == RDMA_CM_EVENT_REJECTED) {
		const struct cm_rej *rej = ev->param.conn.private_data;

		c->rej_status = 0xffff;
		if (rej && ev->param.conn.private_data_len >= sizeof(*rej) &&
		    le32toh(rej->magic) == EMP_PROTO_MAGIC)
			c->rej_status = le32toh(rej->status);
		rdma_ack_cm_event(ev);
		return 1;
	}
	if (ev->param.conn.private_data_len >= sizeof(c->rep))
		memcpy(&c->rep, ev->param.conn.private_data, sizeof(c->rep));
	rdma_ack_cm_event(ev);
	if (le32toh(c->rep.magic) != EMP_PROTO_MAGIC)
		fail("accept carries no empblk reply");
	return 0;
}

static uint32_t g_grace_s;
static uint16_t g_kato_s, g_flags;

static struct cm_req make_req(uint16_t maj, uint16_t qid)
{
	struct cm_req r = { .magic = htole32(EMP_PROTO_MAGIC),
			    .maj = htole16(maj), .min = htole16(1),
			    .qid = htole16(qid),
			    .nr_io = htole16(1), .depth = htole32(16),
			    .cookie = htole64(g_cookie) };

	if (!qid) {
		r.flags = htole16(g_flags);
		r.kato_s = htole16(g_kato_s);
		r.grace_s = htole32(g_grace_s);
	}
	return r;
}

static const char *g_doing = "setup";

static void poll_one(struct conn *c, struct ibv_wc *wc)
{
	time_t end = time(NULL) + 60;
	int n;

	while ((n = ibv_poll_cq(c->cq, 1, wc)) == 0) {
		if (time(NULL) > end)
			fail("%s: no completion within 60 s", g_doing);
	}
	if (n < 0)
		die("ibv_poll_cq");
}

/* Post a receive, send 64 bytes from buf[0], return the reply in buf[64]. */
static struct msg *rpc(struct conn *c, const void *raw)
{
	struct ibv_sge rs = { (uintptr_t)c->buf + 64, 64, c->mr->lkey };
	struct ibv_sge ss = { (uintptr_t)c->buf, 64, c->mr->lkey };
	struct ibv_recv_wr rwr = { .wr_id = 1, .sg_list = &rs, .num_sge = 1 };
	struct ibv_send_wr swr = { .wr_id = 2, .sg_list = &ss, .num_sge = 1,
				   .opcode = IBV_WR_SEND,
				   .send_flags = IBV_SEND_SIGNALED }, *bs;
	struct ibv_recv_wr *br;
	struct ibv_wc wc;
	int got = 0;

	memcpy(c->buf, raw, 64);
	if (ibv_post_recv(c->id->qp, &rwr, &br) ||
	    ibv_post_send(c->id->qp, &swr, &bs))
		die("post: %s", strerror(errno));
	while (got != 3) {
		poll_one(c, &wc);
		if (wc.status != IBV_WC_SUCCESS)
			return NULL;
		got |= wc.wr_id == 1 ? 1 : 2;
	}
	return (struct msg *)(c->buf + 64);
}

/* One admin request of @type with @tag (header only when @len is 16). */
static struct msg *tag_rpc(struct conn *c, uint16_t type, uint32_t chunk,
			   uint32_t tag, uint16_t len)
{
	uint8_t raw[64] = {};
	struct msg *m = (struct msg *)raw;
	struct msg *r;

	m->magic = htole32(EMP_PROTO_MAGIC);
	m->type = htole16(type);
	m->len = htole16(len);
	m->tag = htole32(tag);
	m->chunk = htole32(chunk);
	r = rpc(c, raw);
	if (!r)
		fail("the donor dropped the admin connection");
	if (le32toh(r->tag) != tag)
		fail("reply tag %u, want %u", le32toh(r->tag), tag);
	return r;
}

static struct msg *chunk_rpc(struct conn *c, uint16_t type, uint32_t chunk)
{
	return tag_rpc(c, type, chunk, ++g_tag, sizeof(struct msg));
}

/*
 * One-sided transfer of the whole chunk between buf[128..] and the donor,
 * as 64 KiB work requests posted together (as empblk does).
 */
#define XFER_PIECE	(64U << 10)
static int rdma_xfer(struct conn *c, int write, uint64_t addr, uint32_t rkey)
{
	struct ibv_sge sge[EMP_CHUNK_SIZE / XFER_PIECE];
	struct ibv_send_wr wr[EMP_CHUNK_SIZE / XFER_PIECE], *bad;
	unsigned int i, n = EMP_CHUNK_SIZE / XFER_PIECE;
	struct ibv_wc wc;
	int ok = 1;

	g_doing = write ? "RDMA WRITE" : "RDMA READ";
	memset(wr, 0, sizeof(wr));
	for (i = 0; i < n; i++) {
		sge[i].addr = (uintptr_t)c->buf + 128 + i * XFER_PIECE;
		sge[i].length = XFER_PIECE;
		sge[i].lkey = c->mr->lkey;
		wr[i].wr_id = 100 + i;
		wr[i].sg_list = &sge[i];
		wr[i].num_sge = 1;
		wr[i].opcode = write ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ;
		wr[i].send_flags = IBV_SEND_SIGNALED;
		wr[i].wr.rdma.remote_addr = addr + i * XFER_PIECE;
		wr[i].wr.rdma.rkey = rkey;
		wr[i].next = i + 1 < n ? &wr[i + 1] : NULL;
	}
	if (ibv_post_send(c->id->qp, wr, &bad))
		die("post rdma: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		poll_one(c, &wc);
		if (wc.status != IBV_WC_SUCCESS) {
			fprintf(stderr, "empprobe: %s: %s\n", g_doing,
				ibv_wc_status_str(wc.status));
			ok = 0;
		}
	}
	return ok ? 0 : -1;
}

static int expect_reject(struct cm_req *req, int want, const char *what)
{
	struct conn c;

	if (!conn_open(&c, req, 0))
		fail("%s: the donor accepted the connection", what);
	if (c.rej_status != want)
		fail("%s: rejected with status %d, want %d", what,
		     c.rej_status, want);
	printf("empprobe: %s: rejected with status %d as expected\n", what,
	       want);
	return 0;
}

static struct conn g_admin;

static void admin_open(size_t extra)
{
	struct cm_req req = make_req(1, 0);

	if (conn_open(&g_admin, &req, extra))
		fail("admin connection rejected (status %d)",
		     g_admin.rej_status);
	printf("empprobe: connected: donor protocol %u.%u, incarnation %016" PRIx64 ", budget %" PRIu64 " MiB, chunk 2^%u\n",
	       le16toh(g_admin.rep.maj), le16toh(g_admin.rep.min),
	       le64toh(g_admin.rep.incarnation),
	       le64toh(g_admin.rep.budget_mb), g_admin.rep.chunk_shift);
}

static int cmd_chunks(int n, int hold_s)
{
	struct cm_req ioreq = make_req(1, 1);
	uint32_t *ids = calloc(n, sizeof(*ids));
	struct conn io;
	int i;

	admin_open(0);
	if (conn_open(&io, &ioreq, EMP_CHUNK_SIZE))
		fail("I/O queue rejected (status %d)", io.rej_status);
	for (i = 0; i < n; i++) {
		struct msg *r = chunk_rpc(&g_admin, MSG_ALLOC, 0);
		uint64_t addr = le64toh(r->addr);
		uint32_t rkey = le32toh(r->rkey);
		uint8_t *d = io.buf + 128;
		size_t k;

		if (le16toh(r->type) != MSG_ALLOC_RSP || le32toh(r->status))
			fail("chunk %d: alloc answered type %u status %u", i,
			     le16toh(r->type), le32toh(r->status));
		ids[i] = le32toh(r->chunk);
		if (le32toh(r->clen) != EMP_CHUNK_SIZE)
			fail("chunk length %u", le32toh(r->clen));
		if (rdma_xfer(&io, 0, addr, rkey))
			fail("chunk %d: RDMA READ failed", i);
		for (k = 0; k < EMP_CHUNK_SIZE; k++)
			if (d[k])
				fail("chunk %d: byte %zu is %#x, not zero", i,
				     k, d[k]);
		for (k = 0; k < EMP_CHUNK_SIZE; k++)
			d[k] = (uint8_t)(k * 7 + i);
		if (rdma_xfer(&io, 1, addr, rkey))
			fail("chunk %d: RDMA WRITE failed", i);
		memset(d, 0, EMP_CHUNK_SIZE);
		if (rdma_xfer(&io, 0, addr, rkey))
			fail("chunk %d: RDMA READ back failed", i);
		for (k = 0; k < EMP_CHUNK_SIZE; k++)
			if (d[k] != (uint8_t)(k * 7 + i))
				fail("chunk %d: byte %zu read back wrong", i, k);
	}
	printf("empprobe: %d chunks zeroed, written and read back\n", n);
	if (hold_s) {
		printf("empprobe: holding %d chunks for %d s\n", n, hold_s);
		fcntl(g_admin.ch->fd, F_SETFL, O_NONBLOCK);
		fcntl(io.ch->fd, F_SETFL, O_NONBLOCK);
		for (i = 0; i < hold_s; i++) {
			struct rdma_cm_event *ev;

			sleep(1);
			/* a dropped connection shows as a CM event */
			if (!rdma_get_cm_event(g_admin.ch, &ev) ||
			    !rdma_get_cm_event(io.ch, &ev)) {
				printf("empprobe: donor disconnected: %s\n",
				       rdma_event_str(ev->event));
				return 3;
			}
		}
	}
	for (i = 0; i < n; i++) {
		struct msg *r = chunk_rpc(&g_admin, MSG_FREE, ids[i]);

		if (le16toh(r->type) != MSG_FREE_RSP || le32toh(r->status))
			fail("free of chunk %u: type %u status %u", ids[i],
			     le16toh(r->type), le32toh(r->status));
	}
	/* a freed chunk is gone: a second free is refused */
	if (n) {
		struct msg *r = chunk_rpc(&g_admin, MSG_FREE, ids[0]);

		if (le32toh(r->status) != ST_BAD_CHUNK)
			fail("double free answered status %u",
			     le32toh(r->status));
	}
	printf("empprobe: %d chunks freed, double free refused\n", n);
	return 0;
}

static void conn_close(struct conn *c, int polite)
{
	if (polite)
		rdma_disconnect(c->id);
	rdma_destroy_qp(c->id);
	ibv_dereg_mr(c->mr);
	ibv_destroy_cq(c->cq);
	ibv_dealloc_pd(c->pd);
	rdma_destroy_id(c->id);
	rdma_destroy_event_channel(c->ch);
	free(c->buf);
}

/*
 * A client that dies with requests in flight: the donor is still handling
 * (allocating, registering, answering) some, others are held back by
 * receiver-not-ready and land while the connection goes away. Over iWARP
 * the overrun instead ends the connection at once (no RNR retry there).
 */
static int cmd_abandon(int rounds)
{
	struct ibv_sge ss = { 0, 64, 0 };
	struct ibv_send_wr swr = { .sg_list = &ss, .num_sge = 1,
				   .opcode = IBV_WR_SEND }, *bs;
	struct msg *m;
	int i, k, done, rc, cut = 0;
	struct ibv_wc wc;

	for (i = 0; i <= rounds; i++) {
		/* each client its own session, as empblk's every connect */
		g_cookie = ((uint64_t)rand() << 32) ^ rand() ^ i;
		if (i == rounds)
			break;
		admin_open(0);
		m = (struct msg *)g_admin.buf;
		memset(m, 0, 64);
		m->magic = htole32(EMP_PROTO_MAGIC);
		m->type = htole16(MSG_ALLOC);
		m->len = htole16(sizeof(*m));
		m->tag = htole32(++g_tag);
		ss.addr = (uintptr_t)g_admin.buf;
		ss.lkey = g_admin.mr->lkey;
		for (k = 0; k < 32; k++) {
			/* only the last is signalled: one completion to wait on */
			swr.send_flags = k == 31 ? IBV_SEND_SIGNALED : 0;
			swr.wr_id = k;
			errno = 0;
			rc = ibv_post_send(g_admin.id->qp, &swr, &bs);
			if (!rc)
				continue;
			/*
			 * iWARP has no RNR retry: a SEND that finds no posted
			 * receive, on either side, ends the connection, and
			 * later posts fail with ENOTCONN. The first post, on a
			 * connection just established, must not fail.
			 */
			if (k && (errno == ENOTCONN || abs(rc) == ENOTCONN)) {
				cut++;
				break;
			}
			die("post %d: %s", k, strerror(errno ? errno : abs(rc)));
		}
		/* leave at a different point of the donor's work each round */
		usleep((i % 8) * 2500);
		done = ibv_poll_cq(g_admin.cq, 1, &wc);
		conn_close(&g_admin, i % 2);
		if (done < 0)
			die("ibv_poll_cq");
	}
	printf("empprobe: %d clients left with 32 allocations in flight\n",
	       rounds);
	if (cut)
		printf("empprobe: the transport ended %d of those connections before their last post\n",
		       cut);
	/* the donor still serves a new client */
	return cmd_chunks(1, 0);
}

/*
 * A session whose admin queue ended is over, even while the client keeps
 * an I/O queue: the donor ends that queue too (its memory would otherwise
 * stay pinned), and lets no new one join.
 */
static int cmd_orphan(int secs)
{
	struct cm_req ioreq = make_req(1, 1);
	struct rdma_cm_event *ev;
	struct conn io;
	struct msg *r;
	int i;

	admin_open(0);
	if (conn_open(&io, &ioreq, 0))
		fail("I/O queue rejected (status %d)", io.rej_status);
	r = chunk_rpc(&g_admin, MSG_ALLOC, 0);
	if (le16toh(r->type) != MSG_ALLOC_RSP || le32toh(r->status))
		fail("alloc answered type %u status %u", le16toh(r->type),
		     le32toh(r->status));
	if (rdma_disconnect(g_admin.id))
		die("rdma_disconnect: %s", strerror(errno));
	printf("empprobe: admin queue disconnected, I/O queue kept, 1 chunk held\n");
	fcntl(io.ch->fd, F_SETFL, O_NONBLOCK);
	for (i = 0; i < secs * 10; i++) {
		if (!rdma_get_cm_event(io.ch, &ev)) {
			if (ev->event != RDMA_CM_EVENT_DISCONNECTED)
				fail("I/O queue got %s, not DISCONNECTED",
				     rdma_event_str(ev->event));
			rdma_ack_cm_event(ev);
			break;
		}
		if (errno != EAGAIN)
			die("rdma_get_cm_event: %s", strerror(errno));
		usleep(100000);
	}
	if (i == secs * 10)
		fail("the donor kept the I/O queue of an ended session for %d s",
		     secs);
	printf("empprobe: the donor ended the I/O queue after %d.%d s\n",
	       i / 10, i % 10);
	conn_close(&io, 0);
	conn_close(&g_admin, 0);
	return expect_reject(&ioreq, ST_NO_SESSION,
			     "I/O queue of an ended session");
}

/* Sessions that outlive their connections (protocol 1.1) */

#define MAX_SAVED	16
struct saved {
	uint64_t cookie, incarnation;
	uint32_t tag, n;
	uint32_t id[MAX_SAVED], rkey[MAX_SAVED];
	uint64_t addr[MAX_SAVED];
};

static uint8_t pattern(uint32_t i, size_t k)
{
	return (uint8_t)(k * 13 + i + 1);
}

static void save(const char *file, const struct saved *sv)
{
	FILE *f = fopen(file, "w");
	uint32_t i;

	if (!f)
		die("%s: %s", file, strerror(errno));
	fprintf(f, "%" PRIx64 " %" PRIx64 " %u %u\n", sv->cookie,
		sv->incarnation, sv->tag, sv->n);
	for (i = 0; i < sv->n; i++)
		fprintf(f, "%u %" PRIx64 " %x\n", sv->id[i], sv->addr[i],
			sv->rkey[i]);
	fclose(f);
}

static void load(const char *file, struct saved *sv)
{
	FILE *f = fopen(file, "r");
	uint32_t i;

	if (!f || fscanf(f, "%" SCNx64 " %" SCNx64 " %u %u", &sv->cookie,
			 &sv->incarnation, &sv->tag, &sv->n) != 4 ||
	    sv->n > MAX_SAVED)
		die("%s: not a saved session", file);
	for (i = 0; i < sv->n; i++)
		if (fscanf(f, "%u %" SCNx64 " %x", &sv->id[i], &sv->addr[i],
			   &sv->rkey[i]) != 3)
			die("%s: chunk %u missing", file, i);
	fclose(f);
}

static int cmd_detach(int grace, int n, const char *file)
{
	struct cm_req ioreq = make_req(1, 1);
	struct saved sv = { .cookie = g_cookie };
	struct conn io;
	size_t k;
	int i;

	if (n < 1 || n > MAX_SAVED)
		die("detach: 1..%d chunks", MAX_SAVED);
	g_grace_s = grace;
	admin_open(0);
	if (le32toh(g_admin.rep.grace_s) != (uint32_t)grace)
		fail("asked for %d s of grace, granted %u", grace,
		     le32toh(g_admin.rep.grace_s));
	if (conn_open(&io, &ioreq, EMP_CHUNK_SIZE))
		fail("I/O queue rejected (status %d)", io.rej_status);
	for (i = 0; i < n; i++) {
		struct msg *r = chunk_rpc(&g_admin, MSG_ALLOC, 0);

		if (le16toh(r->type) != MSG_ALLOC_RSP || le32toh(r->status))
			fail("alloc answered type %u status %u",
			     le16toh(r->type), le32toh(r->status));
		sv.id[i] = le32toh(r->chunk);
		sv.addr[i] = le64toh(r->addr);
		sv.rkey[i] = le32toh(r->rkey);
		for (k = 0; k < EMP_CHUNK_SIZE; k++)
			io.buf[128 + k] = pattern(i, k);
		if (rdma_xfer(&io, 1, sv.addr[i], sv.rkey[i]))
			fail("chunk %d: RDMA WRITE failed", i);
	}
	sv.n = n;
	sv.tag = g_tag;
	sv.incarnation = le64toh(g_admin.rep.incarnation);
	save(file, &sv);
	printf("empprobe: %d chunks written; leaving without CLOSE\n", n);
	/* no disconnect, no CLOSE: the process just goes, as if it died */
	_exit(0);
}

/* Reattach @sv's session: 0 resumed, or the reject status. */
static int reattach(const struct saved *sv, struct conn *c)
{
	struct cm_req req;
	int tries;

	g_cookie = sv->cookie;
	g_flags = CM_REATTACH;
	g_grace_s = 60;
	req = make_req(1, 0);
	for (tries = 0; tries < 100; tries++) {
		if (!conn_open(c, &req, 0))
			break;
		if (c->rej_status != ST_RETRY)
			return c->rej_status;
		conn_close(c, 0);
		usleep(200000);
	}
	if (tries == 100)
		fail("the donor still answered RETRY after 20 s");
	if (!(c->rep.flags & REP_RESUMED))
		fail("accepted, but not as a resumed session");
	printf("empprobe: session resumed after %d RETRY answers\n", tries);
	return 0;
}

static int cmd_reattach(const char *file)
{
	struct cm_req ioreq;
	struct saved sv;
	struct conn io;
	struct msg *r;
	uint32_t i;
	size_t k;

	load(file, &sv);
	if (reattach(&sv, &g_admin))
		fail("reattach refused with status %d", g_admin.rej_status);
	if (le64toh(g_admin.rep.incarnation) != sv.incarnation)
		fail("the donor's incarnation changed");
	g_flags = 0;
	ioreq = make_req(1, 1);
	if (conn_open(&io, &ioreq, EMP_CHUNK_SIZE))
		fail("I/O queue of the resumed session rejected (status %d)",
		     io.rej_status);
	for (i = 0; i < sv.n; i++) {
		memset(io.buf + 128, 0, EMP_CHUNK_SIZE);
		if (rdma_xfer(&io, 0, sv.addr[i], sv.rkey[i]))
			fail("chunk %u: RDMA READ under its old key failed", i);
		for (k = 0; k < EMP_CHUNK_SIZE; k++)
			if (io.buf[128 + k] != pattern(i, k))
				fail("chunk %u: byte %zu lost across the outage",
				     i, k);
	}
	printf("empprobe: %u chunks kept their data and keys\n", sv.n);
	/* the last allocation again, same tag: its reply, not a new chunk */
	r = tag_rpc(&g_admin, MSG_ALLOC, 0, sv.tag, sizeof(*r));
	if (le32toh(r->status) || le32toh(r->chunk) != sv.id[sv.n - 1] ||
	    le32toh(r->rkey) != sv.rkey[sv.n - 1])
		fail("a repeated allocation got chunk %u (status %u), want %u",
		     le32toh(r->chunk), le32toh(r->status), sv.id[sv.n - 1]);
	g_tag = sv.tag;
	r = chunk_rpc(&g_admin, MSG_ALLOC, 0);
	if (le32toh(r->status) || le32toh(r->chunk) == sv.id[sv.n - 1])
		fail("a new allocation answered status %u chunk %u",
		     le32toh(r->status), le32toh(r->chunk));
	r = tag_rpc(&g_admin, MSG_CLOSE, 0, ++g_tag, 16);
	if (le16toh(r->type) != MSG_CLOSE_RSP || le32toh(r->status))
		fail("CLOSE answered type %u status %u", le16toh(r->type),
		     le32toh(r->status));
	printf("empprobe: repeated allocation answered as before; closed\n");
	conn_close(&io, 1);
	conn_close(&g_admin, 1);
	return 0;
}

static int cmd_gone(const char *file)
{
	struct saved sv;
	struct conn c;
	int st;

	load(file, &sv);
	st = reattach(&sv, &c);
	if (st != ST_NO_SESSION)
		fail("reattach answered %d, want NO_SESSION (%d)", st,
		     ST_NO_SESSION);
	printf("empprobe: reattach refused with NO_SESSION as expected\n");
	return 0;
}

/* Wait up to @secs for a CM event on @c; return it acked, or -1. */
static int next_event(struct conn *c, int secs)
{
	struct rdma_cm_event *ev;
	int i, e;

	fcntl(c->ch->fd, F_SETFL, O_NONBLOCK);
	for (i = 0; i < secs * 10; i++) {
		if (!rdma_get_cm_event(c->ch, &ev)) {
			e = ev->event;
			rdma_ack_cm_event(ev);
			return e;
		}
		if (errno != EAGAIN)
			die("rdma_get_cm_event: %s", strerror(errno));
		usleep(100000);
	}
	return -1;
}

static int cmd_takeover(int grace)
{
	struct saved sv = { .cookie = g_cookie };
	struct conn c;
	struct msg *r;
	int e;

	g_grace_s = grace;
	admin_open(0);
	r = chunk_rpc(&g_admin, MSG_ALLOC, 0);
	if (le32toh(r->status))
		fail("alloc answered status %u", le32toh(r->status));
	/* the same session from a second connection, the first still up */
	if (reattach(&sv, &c))
		fail("takeover refused with status %d", c.rej_status);
	e = next_event(&g_admin, 10);
	if (e != RDMA_CM_EVENT_DISCONNECTED)
		fail("the old admin connection got %s, not DISCONNECTED",
		     e < 0 ? "nothing" : rdma_event_str(e));
	printf("empprobe: the donor ended the old connection for the new one\n");
	r = tag_rpc(&c, MSG_CLOSE, 0, ++g_tag, 16);
	if (le16toh(r->type) != MSG_CLOSE_RSP)
		fail("CLOSE answered type %u", le16toh(r->type));
	conn_close(&c, 1);
	conn_close(&g_admin, 0);
	return 0;
}

static int cmd_keepalive(int kato)
{
	time_t t0, end;
	struct msg *r;
	int e;

	if (kato < 2)
		die("keepalive: KATO of at least 2 s");
	g_kato_s = kato;
	admin_open(0);
	end = time(NULL) + 3 * kato;
	while (time(NULL) < end) {
		r = tag_rpc(&g_admin, MSG_KEEPALIVE, 0, ++g_tag, 16);
		if (le16toh(r->type) != MSG_KEEPALIVE_RSP || le32toh(r->status))
			fail("KEEPALIVE answered type %u status %u",
			     le16toh(r->type), le32toh(r->status));
		if (next_event(&g_admin, kato / 2) >= 0)
			fail("disconnected although keep-alives were sent");
	}
	printf("empprobe: %d s of keep-alives, still connected; now silent\n",
	       3 * kato);
	t0 = time(NULL);
	e = next_event(&g_admin, 3 * kato);
	if (e != RDMA_CM_EVENT_DISCONNECTED)
		fail("silent for %d s: got %s, not DISCONNECTED", 3 * kato,
		     e < 0 ? "nothing" : rdma_event_str(e));
	printf("empprobe: the donor ended the silent session after %ld s\n",
	       (long)(time(NULL) - t0));
	conn_close(&g_admin, 0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 4)
		die("usage: empprobe ADDR PORT CMD [ARGS] (see the source)");
	g_addr = argv[1];
	g_port = argv[2];
	cmd = argv[3];
	srand(time(NULL) ^ getpid());
	g_cookie = ((uint64_t)rand() << 32) ^ rand() ^ getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!strcmp(cmd, "connect")) {
		admin_open(0);
		return 0;
	}
	if (!strcmp(cmd, "badversion")) {
		struct cm_req r = make_req(99, 0);

		return expect_reject(&r, ST_BAD_VERSION, "protocol 99.0");
	}
	if (!strcmp(cmd, "nomagic")) {
		struct cm_req r = make_req(1, 0);

		r.magic = htole32(0x12345678);
		return expect_reject(&r, ST_BAD_MSG, "wrong magic");
	}
	if (!strcmp(cmd, "nosession")) {
		struct cm_req r = make_req(1, 3);

		return expect_reject(&r, ST_NO_SESSION, "I/O queue of no session");
	}
	if (!strcmp(cmd, "garbage")) {
		uint8_t raw[64];
		struct msg *r;
		int i;

		admin_open(0);
		for (i = 0; i < 64; i++)
			raw[i] = rand();
		r = rpc(&g_admin, raw);
		if (!r || le16toh(r->type) != MSG_ERROR_RSP ||
		    le32toh(r->status) != ST_BAD_MSG)
			fail("garbage was not answered with ERROR_RSP BAD_MSG");
		/* the right magic, an unknown type */
		memset(raw, 0, sizeof(raw));
		((struct msg *)raw)->magic = htole32(EMP_PROTO_MAGIC);
		((struct msg *)raw)->type = htole16(77);
		r = rpc(&g_admin, raw);
		if (!r || le32toh(r->status) != ST_BAD_MSG)
			fail("unknown type was not answered with BAD_MSG");
		/* and the session still works */
		r = chunk_rpc(&g_admin, MSG_FREE, 12345);
		if (le32toh(r->status) != ST_BAD_CHUNK)
			fail("free of a foreign chunk answered %u",
			     le32toh(r->status));
		printf("empprobe: garbage and unknown types rejected, session alive\n");
		return 0;
	}
	if (!strcmp(cmd, "chunks") && argc > 4)
		return cmd_chunks(atoi(argv[4]), 0);
	if (!strcmp(cmd, "hold") && argc > 5)
		return cmd_chunks(atoi(argv[4]), atoi(argv[5]));
	if (!strcmp(cmd, "abandon") && argc > 4)
		return cmd_abandon(atoi(argv[4]));
	if (!strcmp(cmd, "orphan") && argc > 4)
		return cmd_orphan(atoi(argv[4]));
	if (!strcmp(cmd, "detach") && argc > 6)
		return cmd_detach(atoi(argv[4]), atoi(argv[5]), argv[6]);
	if (!strcmp(cmd, "reattach") && argc > 4)
		return cmd_reattach(argv[4]);
	if (!strcmp(cmd, "gone") && argc > 4)
		return cmd_gone(argv[4]);
	if (!strcmp(cmd, "takeover") && argc > 4)
		return cmd_takeover(atoi(argv[4]));
	if (!strcmp(cmd, "keepalive") && argc > 4)
		return cmd_keepalive(atoi(argv[4]));
	if (!strcmp(cmd, "exhaust")) {
		uint32_t ids[4096];
		int n = 0, i;

		admin_open(0);
		for (;;) {
			struct msg *r = chunk_rpc(&g_admin, MSG_ALLOC, 0);

			if (le32toh(r->status) == ST_NO_SPACE)
				break;
			if (le32toh(r->status) || n == 4096)
				fail("alloc %d answered %u", n,
				     le32toh(r->status));
			ids[n++] = le32toh(r->chunk);
		}
		printf("empprobe: %d chunks (%d MiB) before NO_SPACE\n", n,
		       n * 2);
		for (i = 0; i < n; i++)
			chunk_rpc(&g_admin, MSG_FREE, ids[i]);
		return 0;
	}
	die("unknown command %s", cmd);
}
