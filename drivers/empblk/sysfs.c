// SPDX-License-Identifier: GPL-2.0
/*
 * Read-only state and statistics in /sys/block/empblkN/emp/, one value per
 * file, attached at device_add_disk() so user space never sees the disk
 * before its attributes; and one directory per backend (donor or SSD
 * entry) in /sys/block/empblkN/backends/. Documented in
 * Documentation/ABI/testing/sysfs-block-empblk.
 */
#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "empblk.h"
#include "placement.h"

static struct empblk_dev *to_empblk_dev(struct device *d)
{
	return dev_to_disk(d)->private_data;
}

/**
 * struct empblk_stat_attr - a sysfs file showing one summed counter
 * @attr: the device attribute
 * @item: which counter
 */
struct empblk_stat_attr {
	struct device_attribute attr;
	enum empblk_stat_item item;
};

static ssize_t empblk_stat_show(struct device *d,
				struct device_attribute *attr, char *buf)
{
	struct empblk_dev *dev = to_empblk_dev(d);
	enum empblk_stat_item item =
		container_of(attr, struct empblk_stat_attr, attr)->item;
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(dev->stats, cpu)->v[item];
	return sysfs_emit(buf, "%llu\n", sum);
}

#define EMPBLK_STAT_ATTR(_name, _ITEM)					\
static struct empblk_stat_attr empblk_stat_attr_##_name = {		\
	.attr = __ATTR(_name, 0444, empblk_stat_show, NULL),		\
	.item = EMPBLK_STAT_##_ITEM,					\
}

EMPBLK_STAT_ATTR(reads, READS);
EMPBLK_STAT_ATTR(writes, WRITES);
EMPBLK_STAT_ATTR(discards, DISCARDS);
EMPBLK_STAT_ATTR(write_zeroes, WRITE_ZEROES);
EMPBLK_STAT_ATTR(flushes, FLUSHES);
EMPBLK_STAT_ATTR(read_bytes, READ_BYTES);
EMPBLK_STAT_ATTR(write_bytes, WRITE_BYTES);
EMPBLK_STAT_ATTR(unwritten_reads, UNWRITTEN_READS);
EMPBLK_STAT_ATTR(nospace_errors, NOSPACE_ERRORS);
EMPBLK_STAT_ATTR(alloc_deferred, ALLOC_DEFERRED);
EMPBLK_STAT_ATTR(alloc_failures, ALLOC_FAILURES);
EMPBLK_STAT_ATTR(remote_errors, REMOTE_ERRORS);
EMPBLK_STAT_ATTR(cache_read_hits, CACHE_READ_HITS);
EMPBLK_STAT_ATTR(cache_read_misses, CACHE_READ_MISSES);
EMPBLK_STAT_ATTR(cache_write_hits, CACHE_WRITE_HITS);
EMPBLK_STAT_ATTR(cache_write_around, CACHE_WRITE_AROUND);
EMPBLK_STAT_ATTR(cache_evictions, CACHE_EVICTIONS);
EMPBLK_STAT_ATTR(cache_writebacks, CACHE_WRITEBACKS);
EMPBLK_STAT_ATTR(cache_writeback_errors, CACHE_WRITEBACK_ERRORS);
EMPBLK_STAT_ATTR(cache_writeback_ios, CACHE_WRITEBACK_IOS);
EMPBLK_STAT_ATTR(cache_fetches, CACHE_FETCHES);
EMPBLK_STAT_ATTR(cache_fetched, CACHE_FETCHED);
EMPBLK_STAT_ATTR(cache_fetch_drops, CACHE_FETCH_DROPS);
EMPBLK_STAT_ATTR(cache_fetch_bypass, CACHE_FETCH_BYPASS);
EMPBLK_STAT_ATTR(polled_completions, POLLED_COMPLETIONS);
EMPBLK_STAT_ATTR(read_sink_registrations, READ_SINK_REGS);
EMPBLK_STAT_ATTR(chunk_free_flushes, CHUNK_FREE_FLUSHES);
EMPBLK_STAT_ATTR(ssd_errors, SSD_ERRORS);
EMPBLK_STAT_ATTR(zero_page_writes, ZERO_PAGE_WRITES);
EMPBLK_STAT_ATTR(zero_page_reads, ZERO_PAGE_READS);
EMPBLK_STAT_ATTR(retried_requests, RETRIED_REQUESTS);
EMPBLK_STAT_ATTR(donor_reconnects, DONOR_RECONNECTS);
EMPBLK_STAT_ATTR(lost_reads, LOST_READS);
EMPBLK_STAT_ATTR(write_fences, WRITE_FENCES);

/* What the tier stack holds: one field of struct empblk_usage per file. */
#define EMPBLK_USAGE_ATTR(_name, _field, _fmt)				\
static ssize_t _name##_show(struct device *d,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct empblk_usage u;						\
									\
	empblk_tiers_usage(to_empblk_dev(d)->tier, &u);			\
	return sysfs_emit(buf, _fmt "\n", u._field);			\
}									\
static DEVICE_ATTR_RO(_name)

EMPBLK_USAGE_ATTR(donors, donors, "%u");
EMPBLK_USAGE_ATTR(donors_connected, donors_connected, "%u");
EMPBLK_USAGE_ATTR(donors_reconnecting, donors_reconnecting, "%u");
EMPBLK_USAGE_ATTR(remote_bytes_in_use, remote_bytes_in_use, "%llu");
EMPBLK_USAGE_ATTR(read_sinks, read_sinks, "%s");
EMPBLK_USAGE_ATTR(dram_budget_bytes, dram_budget, "%llu");
EMPBLK_USAGE_ATTR(dram_used_bytes, dram_used, "%llu");
/* blocks in the DRAM cache not yet below it (being written back too) */
EMPBLK_USAGE_ATTR(dram_dirty_bytes, dram_dirty, "%llu");
EMPBLK_USAGE_ATTR(reserve_pages, reserve_pages, "%u");
EMPBLK_USAGE_ATTR(ssds, ssds, "%u");
EMPBLK_USAGE_ATTR(zero_pages, zero_pages, "%llu");
EMPBLK_USAGE_ATTR(backends_failed, backends_failed, "%u");
EMPBLK_USAGE_ATTR(lost_bytes, lost_bytes, "%llu");
EMPBLK_USAGE_ATTR(degraded_bytes, degraded_bytes, "%llu");
EMPBLK_USAGE_ATTR(rebuild_state, rebuild_state, "%s");
EMPBLK_USAGE_ATTR(rebuild_bytes, rebuild_bytes, "%llu");

/* "ok", "degraded" or "lost": see empblk_health() */
static ssize_t health_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	struct empblk_usage u;

	empblk_tiers_usage(to_empblk_dev(d)->tier, &u);
	return sysfs_emit(buf, "%s\n", empblk_health(&u));
}
static DEVICE_ATTR_RO(health);

/* the tier stack, top first: "zero cache remote" */
static ssize_t tiers_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	struct empblk_tier *t;
	int len = 0;

	for (t = to_empblk_dev(d)->tier; t; t = t->next)
		len += sysfs_emit_at(buf, len, "%s%s", t->ops->name,
				     t->next ? " " : "\n");
	return len;
}
static DEVICE_ATTR_RO(tiers);

static ssize_t state_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	struct empblk_dev *dev = to_empblk_dev(d);

	return sysfs_emit(buf, "%s\n",
			  test_bit(EMPBLK_DEV_ORPHANED, &dev->flags) ?
			  "orphaned" : "live");
}
static DEVICE_ATTR_RO(state);

static ssize_t mem_path_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n", to_empblk_dev(d)->params.mem_path);
}
static DEVICE_ATTR_RO(mem_path);

static ssize_t block_size_show(struct device *d,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_empblk_dev(d)->params.block_size);
}
static DEVICE_ATTR_RO(block_size);

static ssize_t subblock_size_show(struct device *d,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_empblk_dev(d)->params.subblock_size);
}
static DEVICE_ATTR_RO(subblock_size);

static ssize_t placement_show(struct device *d,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  empblk_placement_names[to_empblk_dev(d)->params.placement]);
}
static DEVICE_ATTR_RO(placement);

static ssize_t replicas_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%u\n", to_empblk_dev(d)->params.replicas);
}
static DEVICE_ATTR_RO(replicas);

static struct attribute *empblk_emp_attrs[] = {
	&dev_attr_state.attr,
	&dev_attr_mem_path.attr,
	&dev_attr_tiers.attr,
	&dev_attr_block_size.attr,
	&dev_attr_subblock_size.attr,
	&dev_attr_placement.attr,
	&dev_attr_replicas.attr,
	&dev_attr_health.attr,
	&dev_attr_dram_budget_bytes.attr,
	&dev_attr_dram_used_bytes.attr,
	&dev_attr_dram_dirty_bytes.attr,
	&dev_attr_reserve_pages.attr,
	&empblk_stat_attr_reads.attr.attr,
	&empblk_stat_attr_writes.attr.attr,
	&empblk_stat_attr_discards.attr.attr,
	&empblk_stat_attr_write_zeroes.attr.attr,
	&empblk_stat_attr_flushes.attr.attr,
	&empblk_stat_attr_read_bytes.attr.attr,
	&empblk_stat_attr_write_bytes.attr.attr,
	&empblk_stat_attr_unwritten_reads.attr.attr,
	&empblk_stat_attr_nospace_errors.attr.attr,
	&empblk_stat_attr_alloc_deferred.attr.attr,
	&empblk_stat_attr_alloc_failures.attr.attr,
	&empblk_stat_attr_remote_errors.attr.attr,
	&empblk_stat_attr_cache_read_hits.attr.attr,
	&empblk_stat_attr_cache_read_misses.attr.attr,
	&empblk_stat_attr_cache_write_hits.attr.attr,
	&empblk_stat_attr_cache_write_around.attr.attr,
	&empblk_stat_attr_cache_evictions.attr.attr,
	&empblk_stat_attr_cache_writebacks.attr.attr,
	&empblk_stat_attr_cache_writeback_errors.attr.attr,
	&empblk_stat_attr_cache_writeback_ios.attr.attr,
	&empblk_stat_attr_cache_fetches.attr.attr,
	&empblk_stat_attr_cache_fetched.attr.attr,
	&empblk_stat_attr_cache_fetch_drops.attr.attr,
	&empblk_stat_attr_cache_fetch_bypass.attr.attr,
	&empblk_stat_attr_polled_completions.attr.attr,
	&empblk_stat_attr_read_sink_registrations.attr.attr,
	&empblk_stat_attr_chunk_free_flushes.attr.attr,
	&dev_attr_donors.attr,
	&dev_attr_donors_connected.attr,
	&dev_attr_donors_reconnecting.attr,
	&dev_attr_remote_bytes_in_use.attr,
	&dev_attr_read_sinks.attr,
	&dev_attr_ssds.attr,
	&empblk_stat_attr_ssd_errors.attr.attr,
	&dev_attr_zero_pages.attr,
	&empblk_stat_attr_zero_page_writes.attr.attr,
	&empblk_stat_attr_zero_page_reads.attr.attr,
	&empblk_stat_attr_retried_requests.attr.attr,
	&empblk_stat_attr_donor_reconnects.attr.attr,
	&dev_attr_backends_failed.attr,
	&dev_attr_lost_bytes.attr,
	&dev_attr_degraded_bytes.attr,
	&dev_attr_rebuild_state.attr,
	&dev_attr_rebuild_bytes.attr,
	&empblk_stat_attr_lost_reads.attr.attr,
	&empblk_stat_attr_write_fences.attr.attr,
	NULL,
};

static const struct attribute_group empblk_emp_group = {
	.name	= "emp",
	.attrs	= empblk_emp_attrs,
};

const struct attribute_group *empblk_disk_groups[] = {
	&empblk_emp_group,
	NULL,
};

/* Backends: /sys/block/empblkN/backends/<i>/, one per donor or SSD entry */

/**
 * struct empblk_backend_kobj - the sysfs directory of one backend
 * @kobj: its kobject, named by the backend's index
 * @dev: the device
 * @be: the backend
 * @idx: its index among the device's backends (donors, then SSDs)
 */
struct empblk_backend_kobj {
	struct kobject kobj;
	struct empblk_dev *dev;
	struct empblk_backend *be;
	unsigned int idx;
};

static struct empblk_backend_kobj *to_bk(struct kobject *kobj)
{
	return container_of(kobj, struct empblk_backend_kobj, kobj);
}

static ssize_t kind_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", to_bk(kobj)->be->donor ? "donor" : "ssd");
}

/* the mem_path entry's address (donors) or path (SSDs) */
static ssize_t target_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	struct empblk_backend_kobj *bk = to_bk(kobj);
	const struct empblk_spec *spec = &bk->dev->params.spec;

	if (bk->be->donor)
		return sysfs_emit(buf, "%pISpc\n",
				  &spec->donors[bk->be->idx].addr);
	return sysfs_emit(buf, "%s\n", spec->ssds[bk->be->idx].path);
}

static ssize_t size_bytes_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  to_bk(kobj)->be->nr_ext << EMPBLK_EXT_SHIFT);
}

/* read without the map's lock: a snapshot */
static ssize_t used_bytes_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  READ_ONCE(to_bk(kobj)->be->used) << EMPBLK_EXT_SHIFT);
}

/* ok, or failed: given up for good, what it held is lost */
static ssize_t backend_state_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  READ_ONCE(to_bk(kobj)->be->failed) ? "failed" : "ok");
}

/**
 * struct empblk_backend_attr - a sysfs file showing one backend counter
 * @attr: the attribute
 * @off: the counter's offset in struct empblk_backend (an atomic64_t)
 */
struct empblk_backend_attr {
	struct kobj_attribute attr;
	size_t off;
};

static ssize_t empblk_backend_counter_show(struct kobject *kobj,
					   struct kobj_attribute *attr,
					   char *buf)
{
	size_t off = container_of(attr, struct empblk_backend_attr, attr)->off;
	atomic64_t *v = (void *)to_bk(kobj)->be + off;

	return sysfs_emit(buf, "%lld\n", atomic64_read(v));
}

#define EMPBLK_BACKEND_COUNTER(_name, _field)				\
static struct empblk_backend_attr empblk_backend_attr_##_name = {	\
	.attr = __ATTR(_name, 0444, empblk_backend_counter_show, NULL),	\
	.off = offsetof(struct empblk_backend, _field),			\
}

EMPBLK_BACKEND_COUNTER(read_bytes, read_bytes);
EMPBLK_BACKEND_COUNTER(write_bytes, write_bytes);
EMPBLK_BACKEND_COUNTER(errors, errors);
static struct kobj_attribute kind_attr = __ATTR_RO(kind);
static struct kobj_attribute target_attr = __ATTR_RO(target);
static struct kobj_attribute size_bytes_attr = __ATTR_RO(size_bytes);
static struct kobj_attribute used_bytes_attr = __ATTR_RO(used_bytes);
static struct kobj_attribute state_attr = __ATTR(state, 0444,
						  backend_state_show, NULL);

static struct attribute *empblk_backend_attrs[] = {
	&kind_attr.attr,
	&target_attr.attr,
	&size_bytes_attr.attr,
	&used_bytes_attr.attr,
	&state_attr.attr,
	&empblk_backend_attr_read_bytes.attr.attr,
	&empblk_backend_attr_write_bytes.attr.attr,
	&empblk_backend_attr_errors.attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(empblk_backend);

static void empblk_backend_kobj_release(struct kobject *kobj)
{
	kfree(to_bk(kobj));
}

static const struct kobj_type empblk_backend_ktype = {
	.release	= empblk_backend_kobj_release,
	.sysfs_ops	= &kobj_sysfs_ops,
	.default_groups	= empblk_backend_groups,
};

/**
 * empblk_sysfs_del() - remove a device's backend directories
 * @dev: the device
 *
 * Waits for readers of their files; after it, the placement map may go.
 */
void empblk_sysfs_del(struct empblk_dev *dev)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dev->backend_kobjs); i++) {
		if (!dev->backend_kobjs[i])
			continue;
		kobject_del(dev->backend_kobjs[i]);
		kobject_put(dev->backend_kobjs[i]);
		dev->backend_kobjs[i] = NULL;
	}
	kobject_put(dev->backends_dir);
	dev->backends_dir = NULL;
}

/**
 * empblk_sysfs_add() - add a device's backend directories
 * @dev: the device, its disk added
 *
 * Nothing for a device without donors or SSDs.
 *
 * Return: 0 or a negative errno, with nothing added.
 */
int empblk_sysfs_add(struct empblk_dev *dev)
{
	struct empblk_place *pl = empblk_stripe_place(dev->tier);
	unsigned int i;
	int ret;

	if (!pl)
		return 0;
	dev->backends_dir = kobject_create_and_add("backends",
						   &disk_to_dev(dev->disk)->kobj);
	if (!dev->backends_dir)
		return -ENOMEM;
	for (i = 0; i < pl->nr_backends; i++) {
		struct empblk_backend_kobj *bk = kzalloc(sizeof(*bk),
							 GFP_KERNEL);

		ret = -ENOMEM;
		if (!bk)
			goto out_del;
		bk->dev = dev;
		bk->be = &pl->be[i];
		bk->idx = i;
		ret = kobject_init_and_add(&bk->kobj, &empblk_backend_ktype,
					   dev->backends_dir, "%u", i);
		if (ret) {
			kobject_put(&bk->kobj);
			goto out_del;
		}
		dev->backend_kobjs[i] = &bk->kobj;
	}
	return 0;

out_del:
	empblk_sysfs_del(dev);
	return ret;
}
