// SPDX-License-Identifier: GPL-2.0
/*
 * Read-only state and statistics in /sys/block/empblkN/emp/, one value per
 * file, attached at device_add_disk() so user space never sees the disk
 * before its attributes. Documented in
 * Documentation/ABI/testing/sysfs-block-empblk.
 */
#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/sysfs.h>

#include "empblk.h"

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
EMPBLK_STAT_ATTR(polled_completions, POLLED_COMPLETIONS);
EMPBLK_STAT_ATTR(read_sink_registrations, READ_SINK_REGS);
EMPBLK_STAT_ATTR(chunk_free_flushes, CHUNK_FREE_FLUSHES);

static ssize_t donors_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%u\n", to_empblk_dev(d)->remote.nr_donors);
}
static DEVICE_ATTR_RO(donors);

static ssize_t donors_connected_show(struct device *d,
				     struct device_attribute *attr, char *buf)
{
	struct empblk_remote *r = &to_empblk_dev(d)->remote;
	unsigned int i, n = 0;

	for (i = 0; i < r->nr_donors; i++)
		n += !test_bit(EMPBLK_DONOR_DEAD, &r->donors[i].flags);
	return sysfs_emit(buf, "%u\n", n);
}
static DEVICE_ATTR_RO(donors_connected);

static ssize_t remote_bytes_in_use_show(struct device *d,
					struct device_attribute *attr,
					char *buf)
{
	struct empblk_remote *r = &to_empblk_dev(d)->remote;
	unsigned int i;
	u64 chunks = 0;

	for (i = 0; i < r->nr_donors; i++)
		chunks += atomic_long_read(&r->donors[i].chunks_in_use);
	return sysfs_emit(buf, "%llu\n", chunks * EMP_CHUNK_SIZE);
}
static DEVICE_ATTR_RO(remote_bytes_in_use);

static ssize_t read_sinks_show(struct device *d,
			       struct device_attribute *attr, char *buf)
{
	struct empblk_remote *r = &to_empblk_dev(d)->remote;

	if (!r->nr_donors)
		return sysfs_emit(buf, "none\n");
	/* every donor is reached through the same RDMA device */
	return sysfs_emit(buf, "%s\n",
			  r->donors[0].reg_sinks ? "registered" : "local");
}
static DEVICE_ATTR_RO(read_sinks);

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

static ssize_t dram_budget_bytes_show(struct device *d,
				      struct device_attribute *attr, char *buf)
{
	struct empblk_dev *dev = to_empblk_dev(d);

	if (dev->cache)
		return sysfs_emit(buf, "%llu\n",
				  (u64)dev->cache->nr << dev->cache->blk_shift);
	return sysfs_emit(buf, "%llu\n",
			  (u64)dev->dram.budget_pages << PAGE_SHIFT);
}
static DEVICE_ATTR_RO(dram_budget_bytes);

static ssize_t dram_used_bytes_show(struct device *d,
				    struct device_attribute *attr, char *buf)
{
	struct empblk_dev *dev = to_empblk_dev(d);
	struct empblk_cache *c = dev->cache;

	if (c)
		return sysfs_emit(buf, "%llu\n",
				  (u64)(c->nr - READ_ONCE(c->nr_free)) <<
				  c->blk_shift);
	return sysfs_emit(buf, "%llu\n",
			  (u64)atomic_long_read(&dev->dram.used_pages) <<
			  PAGE_SHIFT);
}
static DEVICE_ATTR_RO(dram_used_bytes);

/* blocks in the DRAM cache not yet on the donors (being written back too) */
static ssize_t dram_dirty_bytes_show(struct device *d,
				     struct device_attribute *attr, char *buf)
{
	struct empblk_cache *c = to_empblk_dev(d)->cache;
	u64 n = 0;

	if (c) {
		spin_lock_bh(&c->lock);
		n = (u64)(c->nr_dirty + c->nr_wb) << c->blk_shift;
		spin_unlock_bh(&c->lock);
	}
	return sysfs_emit(buf, "%llu\n", n);
}
static DEVICE_ATTR_RO(dram_dirty_bytes);

static ssize_t reserve_pages_show(struct device *d,
				  struct device_attribute *attr, char *buf)
{
	struct empblk_dev *dev = to_empblk_dev(d);

	return sysfs_emit(buf, "%u\n", READ_ONCE(dev->dram.reserve_nr));
}
static DEVICE_ATTR_RO(reserve_pages);

static struct attribute *empblk_emp_attrs[] = {
	&dev_attr_state.attr,
	&dev_attr_mem_path.attr,
	&dev_attr_block_size.attr,
	&dev_attr_subblock_size.attr,
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
	&empblk_stat_attr_polled_completions.attr.attr,
	&empblk_stat_attr_read_sink_registrations.attr.attr,
	&empblk_stat_attr_chunk_free_flushes.attr.attr,
	&dev_attr_donors.attr,
	&dev_attr_donors_connected.attr,
	&dev_attr_remote_bytes_in_use.attr,
	&dev_attr_read_sinks.attr,
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
