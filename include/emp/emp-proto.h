/* SPDX-License-Identifier: GPL-2.0 */
/*
 * empblk wire protocol, shared by empblk.ko (client) and
 * emp_rdma_target.ko (donor).
 *
 * Transport: RDMA CM, reliable connected queue pairs. A client session
 * with one donor is one admin connection (qid 0) plus one I/O connection
 * per client CPU (qid 1..n). The connect request carries struct
 * emp_cm_req as private data; the donor answers with struct emp_cm_rep
 * or rejects with struct emp_cm_rej. All connections of a session share
 * one protection domain on the donor, so memory registered for the
 * session is reachable from its I/O queues and from nothing else.
 *
 * Control messages travel only on the admin connection, as SEND/RECV of
 * exactly EMP_MSG_SIZE bytes; the client has at most EMP_ADMIN_DEPTH
 * requests outstanding. Data moves only by one-sided RDMA READ and WRITE
 * from the client on I/O connections: the donor's CPU is not in the data
 * path.
 *
 *   client                                   donor
 *   CM REQ  {magic, ver, qid 0, cookie} -->
 *                                        <-- CM REP {magic, ver, incarnation,
 *                                                    budget, chunk size}
 *   CM REQ  {..., qid 1..n, cookie}     -->  (joins the session's PD)
 *   CHUNK_ALLOC {tag}                   -->
 *                                        <-- CHUNK_ALLOC_RSP {tag, status,
 *                                                    chunk, addr, rkey}
 *   RDMA READ/WRITE (addr + offset, rkey) on I/O queues
 *   CHUNK_FREE {tag, chunk}             -->
 *                                        <-- CHUNK_FREE_RSP {tag, status}
 *   KEEPALIVE {tag}  (every kato / 2)   -->
 *                                        <-- KEEPALIVE_RSP {tag, budget}
 *   CLOSE {tag}      (device destroyed) -->
 *                                        <-- CLOSE_RSP {tag}
 *
 * Sessions outlive their connections (minor 1). A client that asks for a
 * grace period at its admin connect has its session, chunks and keys kept
 * that long after the admin connection is lost, and resumes it by
 * connecting qid 0 again with EMP_CM_REATTACH and the same cookie: the
 * donor answers EMP_REP_RESUMED, with the same incarnation if its memory
 * is the same. Only once every old connection of the session is gone on
 * the donor is a reattach accepted (until then: EMP_ST_RETRY), so no
 * transfer posted before the outage can land after it. A session whose
 * client sends nothing on its admin queue for kato seconds is
 * disconnected (and then kept for its grace period); CLOSE ends a session
 * with no grace period. A 1.0 peer sends and reads zeroes in these
 * fields: no grace, no keep-alive, no reattach.
 *
 * Everything is little-endian with explicit padding; sizes are pinned by
 * emp_proto_build_checks(). A new message type or field needs a new minor
 * version; an incompatible change a new major version. A peer never
 * trusts a field it has not validated: unknown types and bad lengths are
 * answered with EMP_ST_BAD_MSG and counted.
 */
#ifndef EMP_PROTO_H
#define EMP_PROTO_H

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/types.h>

#define EMP_PROTO_MAGIC		0x454d5042	/* "EMPB" */
#define EMP_PROTO_VER_MAJOR	1
#define EMP_PROTO_VER_MINOR	1
#define EMP_DEFAULT_PORT	19675

#define EMP_CHUNK_SHIFT		21		/* 2 MiB chunks */
#define EMP_CHUNK_SIZE		BIT(EMP_CHUNK_SHIFT)
#define EMP_MSG_SIZE		64
#define EMP_ADMIN_DEPTH		16

/* emp_cm_req.flags */
#define EMP_CM_REATTACH		BIT(0)	/* qid 0: resume the session @cookie */

/**
 * struct emp_cm_req - private data of an RDMA CM connect request
 * @magic: EMP_PROTO_MAGIC
 * @ver_major: EMP_PROTO_VER_MAJOR of the client
 * @ver_minor: EMP_PROTO_VER_MINOR of the client
 * @qid: 0 for the admin queue, 1..nr_io_queues for I/O queues
 * @nr_io_queues: I/O queues the client will open in this session
 * @queue_depth: most work requests the client keeps posted on this queue
 * @cookie: random per session; ties I/O queues to their admin queue
 * @flags: EMP_CM_* (minor 1; qid 0 only)
 * @kato_s: keep-alive timeout: the client sends an admin message at least
 *	every @kato_s / 2 seconds; 0: none (minor 1; qid 0 only)
 * @grace_s: how long the client asks the donor to keep the session after
 *	its admin connection is lost; 0: end it at once (minor 1; qid 0)
 */
struct emp_cm_req {
	__le32 magic;
	__le16 ver_major;
	__le16 ver_minor;
	__le16 qid;
	__le16 nr_io_queues;
	__le32 queue_depth;
	__le64 cookie;
	__le16 flags;
	__le16 kato_s;
	__le32 grace_s;
};

/* emp_cm_rep.flags */
#define EMP_REP_RESUMED		BIT(0)	/* the session @cookie was resumed */

/**
 * struct emp_cm_rep - private data of an RDMA CM accept
 * @magic: EMP_PROTO_MAGIC
 * @ver_major: EMP_PROTO_VER_MAJOR of the donor
 * @ver_minor: EMP_PROTO_VER_MINOR of the donor
 * @chunk_shift: log2 of the chunk size the donor hands out
 * @flags: EMP_REP_* (minor 1)
 * @rsvd0: zero
 * @grace_s: the grace period the donor granted, at most the one asked
 *	for (minor 1)
 * @incarnation: random at donor module load; a different value on
 *	reconnect means the donor restarted and lost all memory
 * @budget_mb: memory this donor may still give to this session, MiB
 * @rsvd: zero
 */
struct emp_cm_rep {
	__le32 magic;
	__le16 ver_major;
	__le16 ver_minor;
	u8 chunk_shift;
	u8 flags;
	u8 rsvd0[2];
	__le32 grace_s;
	__le64 incarnation;
	__le64 budget_mb;
	u8 rsvd[8];
};

/**
 * enum emp_status - result codes in responses and rejects
 * @EMP_ST_OK: success
 * @EMP_ST_BAD_VERSION: unsupported protocol major version
 * @EMP_ST_BAD_MSG: malformed, unknown or unexpected message
 * @EMP_ST_NO_SPACE: the donor's budget is spent
 * @EMP_ST_NO_MEM: the donor could not allocate or register memory
 * @EMP_ST_NO_SESSION: an I/O queue named a session that does not exist
 * @EMP_ST_BAD_CHUNK: the chunk does not belong to this session
 * @EMP_ST_SHUTDOWN: the donor port is being disabled
 * @EMP_ST_RETRY: a reattach found the session's old connections still
 *	up or ending; the donor ends them: connect again shortly (minor 1)
 */
enum emp_status {
	EMP_ST_OK		= 0,
	EMP_ST_BAD_VERSION	= 1,
	EMP_ST_BAD_MSG		= 2,
	EMP_ST_NO_SPACE		= 3,
	EMP_ST_NO_MEM		= 4,
	EMP_ST_NO_SESSION	= 5,
	EMP_ST_BAD_CHUNK	= 6,
	EMP_ST_SHUTDOWN		= 7,
	EMP_ST_RETRY		= 8,
};

/**
 * struct emp_cm_rej - private data of an RDMA CM reject by the donor
 * @magic: EMP_PROTO_MAGIC
 * @ver_major: EMP_PROTO_VER_MAJOR of the donor
 * @ver_minor: EMP_PROTO_VER_MINOR of the donor
 * @status: enum emp_status
 * @rsvd: zero
 */
struct emp_cm_rej {
	__le32 magic;
	__le16 ver_major;
	__le16 ver_minor;
	__le32 status;
	u8 rsvd[4];
};

/**
 * enum emp_msg_type - admin message types
 * @EMP_MSG_CHUNK_ALLOC: client asks for one chunk
 * @EMP_MSG_CHUNK_ALLOC_RSP: donor answers with the chunk's address and key
 * @EMP_MSG_CHUNK_FREE: client returns one chunk
 * @EMP_MSG_CHUNK_FREE_RSP: donor confirms
 * @EMP_MSG_ERROR_RSP: donor answer to a message it could not parse
 * @EMP_MSG_KEEPALIVE: client is alive (minor 1; header only)
 * @EMP_MSG_KEEPALIVE_RSP: donor is alive, with its budget
 * @EMP_MSG_CLOSE: client ends the session: no grace period (minor 1;
 *	header only)
 * @EMP_MSG_CLOSE_RSP: donor confirms; it disconnects when the admin
 *	connection goes
 */
enum emp_msg_type {
	EMP_MSG_CHUNK_ALLOC	= 1,
	EMP_MSG_CHUNK_ALLOC_RSP	= 2,
	EMP_MSG_CHUNK_FREE	= 3,
	EMP_MSG_CHUNK_FREE_RSP	= 4,
	EMP_MSG_ERROR_RSP	= 5,
	EMP_MSG_KEEPALIVE	= 6,
	EMP_MSG_KEEPALIVE_RSP	= 7,
	EMP_MSG_CLOSE		= 8,
	EMP_MSG_CLOSE_RSP	= 9,
};

/**
 * struct emp_msg_hdr - common header of every admin message
 * @magic: EMP_PROTO_MAGIC
 * @type: enum emp_msg_type
 * @len: bytes of the message that are meaningful, header included (the
 *	buffer sent is always EMP_MSG_SIZE bytes)
 * @tag: chosen by the client, echoed in the response
 * @status: enum emp_status (responses), zero in requests
 */
struct emp_msg_hdr {
	__le32 magic;
	__le16 type;
	__le16 len;
	__le32 tag;
	__le32 status;
};

/**
 * struct emp_msg_chunk - CHUNK_ALLOC, CHUNK_FREE and their responses
 * @hdr: header
 * @chunk: donor's handle of the chunk (ignored in CHUNK_ALLOC)
 * @rkey: remote key of the chunk (CHUNK_ALLOC_RSP)
 * @addr: remote address of the chunk's first byte (CHUNK_ALLOC_RSP)
 * @len: chunk length in bytes (CHUNK_ALLOC_RSP)
 * @rsvd0: zero (pads @budget_mb to 8 bytes)
 * @budget_mb: memory the donor may still give this session, MiB
 * @rsvd: zero
 */
struct emp_msg_chunk {
	struct emp_msg_hdr hdr;
	__le32 chunk;
	__le32 rkey;
	__le64 addr;
	__le32 len;
	__le32 rsvd0;
	__le64 budget_mb;
	u8 rsvd[8];
};

/**
 * union emp_msg - one admin message buffer
 * @hdr: common header
 * @chunk: chunk messages
 * @raw: the whole buffer
 */
union emp_msg {
	struct emp_msg_hdr hdr;
	struct emp_msg_chunk chunk;
	u8 raw[EMP_MSG_SIZE];
};

static inline void emp_proto_build_checks(void)
{
	BUILD_BUG_ON(sizeof(struct emp_cm_req) != 32);
	BUILD_BUG_ON(sizeof(struct emp_cm_rep) != 40);
	BUILD_BUG_ON(sizeof(struct emp_cm_rej) != 16);
	BUILD_BUG_ON(sizeof(struct emp_msg_hdr) != 16);
	BUILD_BUG_ON(sizeof(struct emp_msg_chunk) != 56);
	BUILD_BUG_ON(sizeof(union emp_msg) != EMP_MSG_SIZE);
}

#endif /* EMP_PROTO_H */
