/* SPDX-License-Identifier: GPL-2.0 */
/* Single-threaded tests: locks are no-ops. */
#ifndef SHIM_LINUX_SPINLOCK_H
#define SHIM_LINUX_SPINLOCK_H
typedef struct {
	int locked;
} spinlock_t;
#define spin_lock_init(l) ((l)->locked = 0)
#define spin_lock_bh(l) ((l)->locked++)
#define spin_unlock_bh(l) ((l)->locked--)
/* a policy function called without the lock fails the test run */
#include <assert.h>
#define lockdep_assert_held(l) assert((l)->locked)
#endif
