// SPDX-License-Identifier: GPL-2.0
/*
 * Read-only state and statistics in /sys/block/empblkN/emp/, one value per
 * file, attached at device_add_disk() so user space never sees the disk
 * before its attributes. Documented in
 * Documentation/ABI/testing/sysfs-block-empblk.
 */
#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/stddef.h>
#include <linux/sysfs.h>

#include "empblk.h"

static struct empblk_dev *to_empblk_dev(struct device *d)
{
	return dev_to_disk(d)->private_data;
}

static u64 empblk_stat_sum(struct empblk_dev *dev, size_t offset)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += *(u64 *)((char *)per_cpu_ptr(dev->stats, cpu) + offset);
	return sum;
}

#define EMPBLK_STAT_ATTR(_field)					\
static ssize_t _field##_show(struct device *d,				\
			     struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%llu\n",				\
			  empblk_stat_sum(to_empblk_dev(d),		\
				offsetof(struct empblk_stats, _field)));\
}									\
static DEVICE_ATTR_RO(_field)

EMPBLK_STAT_ATTR(reads);
EMPBLK_STAT_ATTR(writes);
EMPBLK_STAT_ATTR(discards);
EMPBLK_STAT_ATTR(write_zeroes);
EMPBLK_STAT_ATTR(flushes);
EMPBLK_STAT_ATTR(read_bytes);
EMPBLK_STAT_ATTR(write_bytes);
EMPBLK_STAT_ATTR(unwritten_reads);
EMPBLK_STAT_ATTR(nospace_errors);
EMPBLK_STAT_ATTR(alloc_deferred);
EMPBLK_STAT_ATTR(alloc_failures);

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

	return sysfs_emit(buf, "%llu\n",
			  (u64)dev->dram.budget_pages << PAGE_SHIFT);
}
static DEVICE_ATTR_RO(dram_budget_bytes);

static ssize_t dram_used_bytes_show(struct device *d,
				    struct device_attribute *attr, char *buf)
{
	struct empblk_dev *dev = to_empblk_dev(d);

	return sysfs_emit(buf, "%llu\n",
			  (u64)atomic_long_read(&dev->dram.used_pages) <<
			  PAGE_SHIFT);
}
static DEVICE_ATTR_RO(dram_used_bytes);

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
	&dev_attr_reserve_pages.attr,
	&dev_attr_reads.attr,
	&dev_attr_writes.attr,
	&dev_attr_discards.attr,
	&dev_attr_write_zeroes.attr,
	&dev_attr_flushes.attr,
	&dev_attr_read_bytes.attr,
	&dev_attr_write_bytes.attr,
	&dev_attr_unwritten_reads.attr,
	&dev_attr_nospace_errors.attr,
	&dev_attr_alloc_deferred.attr,
	&dev_attr_alloc_failures.attr,
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
