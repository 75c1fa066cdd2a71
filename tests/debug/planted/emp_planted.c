// SPDX-License-Identifier: GPL-2.0
/*
 * Deliberate bugs, one per value of the "bug" parameter, run at load. The
 * debug-kernel lane's self-test (tests/debug/selftest/) loads this module
 * to prove that KASAN, lockdep, kmemleak and the atomic-sleep check report
 * them and that the lane then fails. Never built into what we ship.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

static char *bug = "none";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug, "none, uaf, lock-inversion, leak or sleep-in-atomic");

static DEFINE_MUTEX(planted_a);
static DEFINE_MUTEX(planted_b);
static DEFINE_SPINLOCK(planted_lock);
static void *planted_leaked;

static noinline void planted_uaf(void)
{
	int *p = kmalloc(64, GFP_KERNEL);

	if (!p)
		return;
	kfree(p);
	WRITE_ONCE(p[3], 42);	/* KASAN: slab-use-after-free */
}

static noinline void planted_lock_inversion(void)
{
	mutex_lock(&planted_a);
	mutex_lock(&planted_b);
	mutex_unlock(&planted_b);
	mutex_unlock(&planted_a);
	/* the other order: lockdep reports a possible circular dependency */
	mutex_lock(&planted_b);
	mutex_lock(&planted_a);
	mutex_unlock(&planted_a);
	mutex_unlock(&planted_b);
}

static noinline void planted_leak(void)
{
	int i;

	/*
	 * Forget the only reference to each: kmemleak finds them on its next
	 * scan. Several, because a stale copy of a pointer on a stack that
	 * kmemleak scans (a cached kernel stack, say) hides its object.
	 */
	for (i = 0; i < 16; i++)
		WRITE_ONCE(planted_leaked, kmalloc(1024, GFP_KERNEL));
	WRITE_ONCE(planted_leaked, NULL);
}

static noinline void planted_sleep_in_atomic(void)
{
	spin_lock(&planted_lock);
	msleep(1);	/* BUG: sleeping function called from invalid context */
	spin_unlock(&planted_lock);
}

static int __init planted_init(void)
{
	if (!strcmp(bug, "uaf"))
		planted_uaf();
	else if (!strcmp(bug, "lock-inversion"))
		planted_lock_inversion();
	else if (!strcmp(bug, "leak"))
		planted_leak();
	else if (!strcmp(bug, "sleep-in-atomic"))
		planted_sleep_in_atomic();
	else if (strcmp(bug, "none"))
		return -EINVAL;
	pr_info("emp_planted: bug=%s done\n", bug);
	return 0;
}

static void __exit planted_exit(void)
{
}

module_init(planted_init);
module_exit(planted_exit);
MODULE_DESCRIPTION("empblk debug lane self-test: deliberate bugs");
MODULE_LICENSE("GPL");
