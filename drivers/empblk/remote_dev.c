// SPDX-License-Identifier: GPL-2.0
/*
 * The remote tiers and their RDMA device: when the device goes away
 * (rdma link delete, its driver unloaded, the adapter unplugged), every
 * remote tier using it lets go of it at once, as nvme-rdma's ib_client
 * does. Its donors are given up (what they held is lost; the stripe set
 * moves their extents to the other backends and the device serves on),
 * every work request flushes, and queues, protection domains and mappings
 * are freed before the device's removal goes on: it never waits for a
 * device to be destroyed. The RDMA CM's own DEVICE_REMOVAL event comes
 * after this (the CM registered its client first, and clients are removed
 * in reverse), by when our connections are gone.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/list.h>
#include <linux/mutex.h>

#include "remote.h"

/* the connected remote tiers; also serialises removal against teardown */
static LIST_HEAD(empblk_remotes);
static DEFINE_MUTEX(empblk_remotes_lock);
/* RDMA devices removed so far, under the lock */
static unsigned long empblk_removals;

/**
 * empblk_remote_generation() - the RDMA device removals so far
 *
 * Taken before a remote tier connects, and given to empblk_remote_track().
 *
 * Return: a count.
 */
unsigned long empblk_remote_generation(void)
{
	unsigned long gen;

	mutex_lock(&empblk_remotes_lock);
	gen = empblk_removals;
	mutex_unlock(&empblk_remotes_lock);
	return gen;
}

/**
 * empblk_remote_track() - a remote tier is connected to its donors
 * @r: the tier, its @ibdev set
 * @gen: empblk_remote_generation() before it began to connect
 *
 * Return: 0, or -ENODEV when an RDMA device went away meanwhile (its
 * removal may have missed this tier's connections): the caller
 * disconnects, and may try again.
 */
int empblk_remote_track(struct empblk_remote *r, unsigned long gen)
{
	int ret = -ENODEV;

	mutex_lock(&empblk_remotes_lock);
	if (empblk_removals == gen) {
		list_add_tail(&r->node, &empblk_remotes);
		ret = 0;
	}
	mutex_unlock(&empblk_remotes_lock);
	return ret;
}

/**
 * empblk_remote_untrack() - a remote tier is about to disconnect
 * @r: the tier, tracked or not
 *
 * Waits for a removal of its RDMA device under way to finish with it.
 */
void empblk_remote_untrack(struct empblk_remote *r)
{
	mutex_lock(&empblk_remotes_lock);
	list_del_init(&r->node);
	mutex_unlock(&empblk_remotes_lock);
}

/* Let go of @ibdev in every remote tier that uses it. */
static void empblk_ib_remove_one(struct ib_device *ibdev, void *client_data)
{
	static const char why[] = "its RDMA device was removed";
	struct empblk_remote *r;
	unsigned int i;

	mutex_lock(&empblk_remotes_lock);
	/* a tier connecting now is refused when it would be tracked */
	empblk_removals++;
	list_for_each_entry(r, &empblk_remotes, node) {
		if (r->ibdev != ibdev || r->gone)
			continue;
		pr_warn("%s: RDMA device %s is going away: giving up its donors (%u)\n",
			r->tier.dev->disk->disk_name, dev_name(&ibdev->dev),
			r->nr_donors);
		/* failed first: a request that finds the tier gone runs again */
		for (i = 0; i < r->nr_donors; i++)
			empblk_donor_mark_dead(&r->donors[i], why);
		WRITE_ONCE(r->gone, true);
		empblk_remote_release_rdma(r, why);
	}
	mutex_unlock(&empblk_remotes_lock);
}

static int empblk_ib_add_one(struct ib_device *ibdev)
{
	return 0;
}

static struct ib_client empblk_ib_client = {
	.name	= "empblk",
	.add	= empblk_ib_add_one,
	.remove	= empblk_ib_remove_one,
};

/**
 * empblk_remote_init() - hear of RDMA devices going away
 *
 * Return: 0 or a negative errno.
 */
int empblk_remote_init(void)
{
	return ib_register_client(&empblk_ib_client);
}

/**
 * empblk_remote_exit() - undo empblk_remote_init(); no remote tier is left
 */
void empblk_remote_exit(void)
{
	ib_unregister_client(&empblk_ib_client);
}
