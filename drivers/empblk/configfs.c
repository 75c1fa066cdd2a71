// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration through configfs, after null_blk and nvmet:
 *
 *   /sys/kernel/config/empblk/features     what this version understands
 *   /sys/kernel/config/empblk/empblkN/     mkdir to create, rmdir to free
 *       mem_path size_mb block_size subblock_size queue_depth poll_queues
 *       ack_timeout placement reconnect_delay loss_timeout replicas
 *       rebuild_rate_mb enable
 *
 * "enable" is the commit point. Every other attribute but rebuild_rate_mb
 * (which takes effect at once) is immutable while the device is enabled
 * (EBUSY). All values are validated as they are
 * written and every rejection is logged with its reason.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/configfs.h>
#include <linux/ctype.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "empblk.h"
#include "placement.h"

static inline struct empblk_cfg *to_empblk_cfg(struct config_item *item)
{
	return container_of(to_config_group(item), struct empblk_cfg, group);
}

static const char *cfg_name(struct empblk_cfg *cfg)
{
	return config_item_name(&cfg->group.cg_item);
}

/* Caller holds cfg->lock. Logs and fails a change to an enabled device. */
static int cfg_check_mutable(struct empblk_cfg *cfg, const char *attr)
{
	lockdep_assert_held(&cfg->lock);
	if (!cfg->dev)
		return 0;
	pr_err("%s: cannot change %s while the device is enabled (write 0 to enable first)\n",
	       cfg_name(cfg), attr);
	return -EBUSY;
}

static ssize_t empblk_cfg_mem_path_show(struct config_item *item, char *page)
{
	struct empblk_cfg *cfg = to_empblk_cfg(item);
	ssize_t ret;

	mutex_lock(&cfg->lock);
	ret = sysfs_emit(page, "%s\n", cfg->params.mem_path);
	mutex_unlock(&cfg->lock);
	return ret;
}

static ssize_t empblk_cfg_mem_path_store(struct config_item *item,
					 const char *page, size_t count)
{
	struct empblk_cfg *cfg = to_empblk_cfg(item);
	int ret;

	mutex_lock(&cfg->lock);
	ret = cfg_check_mutable(cfg, "mem_path");
	if (!ret)
		ret = empblk_spec_parse(page, &cfg->params.spec,
					cfg->params.mem_path,
					sizeof(cfg->params.mem_path),
					cfg_name(cfg));
	mutex_unlock(&cfg->lock);
	return ret ? ret : count;
}

static ssize_t empblk_cfg_size_mb_show(struct config_item *item, char *page)
{
	struct empblk_cfg *cfg = to_empblk_cfg(item);
	ssize_t ret;

	mutex_lock(&cfg->lock);
	ret = sysfs_emit(page, "%llu\n", cfg->params.size_mb);
	mutex_unlock(&cfg->lock);
	return ret;
}

static ssize_t empblk_cfg_size_mb_store(struct config_item *item,
					const char *page, size_t count)
{
	struct empblk_cfg *cfg = to_empblk_cfg(item);
	u64 val;
	int ret;

	mutex_lock(&cfg->lock);
	ret = cfg_check_mutable(cfg, "size_mb");
	if (!ret && (kstrtou64(page, 10, &val) || val > EMPBLK_MAX_MB)) {
		pr_err("%s: size_mb \"%.*s\" must be 0..%llu MiB\n",
		       cfg_name(cfg), empblk_quote_len(page), page,
		       EMPBLK_MAX_MB);
		ret = -EINVAL;
	}
	if (!ret)
		cfg->params.size_mb = val;
	mutex_unlock(&cfg->lock);
	return ret ? ret : count;
}

/* The u32 at byte @off of the parameters of @item's device. */
static u32 *cfg_u32(struct config_item *item, size_t off)
{
	return (u32 *)((char *)&to_empblk_cfg(item)->params + off);
}

static ssize_t cfg_u32_show(struct config_item *item, char *page,
			    size_t off)
{
	struct empblk_cfg *cfg = to_empblk_cfg(item);
	ssize_t ret;

	mutex_lock(&cfg->lock);
	ret = sysfs_emit(page, "%u\n", *cfg_u32(item, off));
	mutex_unlock(&cfg->lock);
	return ret;
}

/*
 * Store the u32 at byte @off of the parameters, parsed by @parse; @live:
 * also in the enabled device's, which reads it as it runs (else the
 * device must not be enabled).
 */
static ssize_t __cfg_u32_store(struct config_item *item, const char *page,
			       size_t count, const char *attr, size_t off,
			       int (*parse)(const char *page, u32 *val,
					    const char *name), bool live)
{
	struct empblk_cfg *cfg = to_empblk_cfg(item);
	u32 val;
	int ret;

	mutex_lock(&cfg->lock);
	ret = live ? 0 : cfg_check_mutable(cfg, attr);
	if (!ret)
		ret = parse(page, &val, cfg_name(cfg));
	if (!ret) {
		*cfg_u32(item, off) = val;
		if (cfg->dev)
			WRITE_ONCE(*(u32 *)((char *)&cfg->dev->params + off),
				   val);
	}
	mutex_unlock(&cfg->lock);
	return ret ? ret : count;
}

static ssize_t cfg_u32_store(struct config_item *item, const char *page,
			     size_t count, const char *attr, size_t off,
			     int (*parse)(const char *page, u32 *val,
					  const char *name))
{
	return __cfg_u32_store(item, page, count, attr, off, parse, false);
}

/*
 * Attribute _name: the u32 of struct empblk_params at byte _pos, shown as
 * a number and stored through parse__name(). (The offset is an argument
 * of its own so that each argument is used once.)
 */
#define EMPBLK_CFG_U32_ATTR(_name, _pos)				\
static const size_t empblk_cfg_##_name##_off = (_pos);			\
static ssize_t empblk_cfg_##_name##_show(struct config_item *item,	\
					 char *page)			\
{									\
	return cfg_u32_show(item, page, empblk_cfg_##_name##_off);	\
}									\
static ssize_t empblk_cfg_##_name##_store(struct config_item *item,	\
					  const char *page,		\
					  size_t count)			\
{									\
	return cfg_u32_store(item, page, count, #_name,			\
			     empblk_cfg_##_name##_off, parse_##_name);	\
}

static int parse_block_size(const char *page, u32 *val, const char *name)
{
	return empblk_size_parse(page, EMPBLK_MIN_BLOCK, EMPBLK_MAX_BLOCK,
				 val, name, "block_size");
}

static int parse_subblock_size(const char *page, u32 *val, const char *name)
{
	return empblk_size_parse(page, EMPBLK_MIN_SUBBLOCK,
				 EMPBLK_MAX_SUBBLOCK, val, name,
				 "subblock_size");
}

static int parse_queue_depth(const char *page, u32 *val, const char *name)
{
	if (kstrtou32(page, 10, val) || !*val ||
	    *val > EMPBLK_MAX_QUEUE_DEPTH) {
		pr_err("%s: queue_depth \"%.*s\" must be 1..%u\n", name,
		       empblk_quote_len(page), page, EMPBLK_MAX_QUEUE_DEPTH);
		return -EINVAL;
	}
	return 0;
}

static int parse_poll_queues(const char *page, u32 *val, const char *name)
{
	if (kstrtou32(page, 10, val) || *val > EMPBLK_MAX_POLL_QUEUES) {
		pr_err("%s: poll_queues \"%.*s\" must be 0..%u\n", name,
		       empblk_quote_len(page), page, EMPBLK_MAX_POLL_QUEUES);
		return -EINVAL;
	}
	return 0;
}

static int parse_ack_timeout(const char *page, u32 *val, const char *name)
{
	if (kstrtou32(page, 10, val) || *val > EMPBLK_MAX_ACK_TIMEOUT) {
		pr_err("%s: ack_timeout \"%.*s\" must be 0..%u (4.096 us * 2^n; 0 for the RDMA CM's default)\n",
		       name, empblk_quote_len(page), page,
		       EMPBLK_MAX_ACK_TIMEOUT);
		return -EINVAL;
	}
	return 0;
}

static int parse_reconnect_delay(const char *page, u32 *val,
				 const char *name)
{
	if (kstrtou32(page, 10, val) || !*val ||
	    *val > EMPBLK_MAX_RECONNECT_DELAY) {
		pr_err("%s: reconnect_delay \"%.*s\" must be 1..%u seconds\n",
		       name, empblk_quote_len(page), page,
		       EMPBLK_MAX_RECONNECT_DELAY);
		return -EINVAL;
	}
	return 0;
}

static int parse_loss_timeout(const char *page, u32 *val, const char *name)
{
	if (kstrtou32(page, 10, val) || *val > EMPBLK_MAX_LOSS_TIMEOUT) {
		pr_err("%s: loss_timeout \"%.*s\" must be 0..%u seconds (0: a lost donor is given up at once)\n",
		       name, empblk_quote_len(page), page,
		       EMPBLK_MAX_LOSS_TIMEOUT);
		return -EINVAL;
	}
	return 0;
}

static int parse_replicas(const char *page, u32 *val, const char *name)
{
	if (kstrtou32(page, 10, val) || !*val || *val > EMPBLK_MAX_REPLICAS) {
		pr_err("%s: replicas \"%.*s\" must be 1..%u (copies of each extent, on different donors or SSDs)\n",
		       name, empblk_quote_len(page), page,
		       EMPBLK_MAX_REPLICAS);
		return -EINVAL;
	}
	return 0;
}

static int parse_rebuild_rate_mb(const char *page, u32 *val,
				 const char *name)
{
	if (kstrtou32(page, 10, val) || *val > EMPBLK_MAX_REBUILD_RATE_MB) {
		pr_err("%s: rebuild_rate_mb \"%.*s\" must be 0..%u MiB/s (0: no cap)\n",
		       name, empblk_quote_len(page), page,
		       EMPBLK_MAX_REBUILD_RATE_MB);
		return -EINVAL;
	}
	return 0;
}

static int parse_placement(const char *page, u32 *val, const char *name)
{
	enum empblk_placement p;

	if (!empblk_placement_parse(page, &p)) {
		*val = p;
		return 0;
	}
	pr_err("%s: placement \"%.*s\" must be distribute, sequential or fastest-first\n",
	       name, empblk_quote_len(page), page);
	return -EINVAL;
}

static ssize_t empblk_cfg_placement_show(struct config_item *item,
					 char *page)
{
	struct empblk_cfg *cfg = to_empblk_cfg(item);
	ssize_t ret;

	mutex_lock(&cfg->lock);
	ret = sysfs_emit(page, "%s\n",
			 empblk_placement_names[cfg->params.placement]);
	mutex_unlock(&cfg->lock);
	return ret;
}

static ssize_t empblk_cfg_placement_store(struct config_item *item,
					  const char *page, size_t count)
{
	return cfg_u32_store(item, page, count, "placement",
			     offsetof(struct empblk_params, placement),
			     parse_placement);
}

static ssize_t empblk_cfg_enable_show(struct config_item *item, char *page)
{
	struct empblk_cfg *cfg = to_empblk_cfg(item);
	ssize_t ret;

	mutex_lock(&cfg->lock);
	ret = sysfs_emit(page, "%d\n", cfg->dev ? 1 : 0);
	mutex_unlock(&cfg->lock);
	return ret;
}

/* Caller holds cfg->lock. */
static int cfg_enable(struct empblk_cfg *cfg)
{
	struct empblk_dev *dev;
	int ret;

	lockdep_assert_held(&cfg->lock);
	if (cfg->dev)
		return 0;
	ret = empblk_params_validate(&cfg->params, cfg_name(cfg));
	if (ret)
		return ret;
	dev = empblk_dev_create(&cfg->params, cfg->index);
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		if (ret == -EEXIST)
			pr_err("%s: a disk of that name still exists (removed while open); close it first\n",
			       cfg_name(cfg));
		else
			pr_err("%s: cannot create the disk: %d\n",
			       cfg_name(cfg), ret);
		return ret;
	}
	cfg->dev = dev;
	return 0;
}

/* Caller holds cfg->lock. */
static int cfg_disable(struct empblk_cfg *cfg)
{
	int ret;

	lockdep_assert_held(&cfg->lock);
	if (!cfg->dev)
		return 0;
	ret = empblk_dev_remove(cfg->dev, false);
	if (ret) {
		pr_err("%s: cannot disable: the disk is open (active swap, a mount or a program)\n",
		       cfg_name(cfg));
		return ret;
	}
	cfg->dev = NULL;
	return 0;
}

static ssize_t empblk_cfg_enable_store(struct config_item *item,
				       const char *page, size_t count)
{
	struct empblk_cfg *cfg = to_empblk_cfg(item);
	bool enable;
	int ret;

	if (kstrtobool(page, &enable)) {
		pr_err("%s: enable takes 0 or 1\n", cfg_name(cfg));
		return -EINVAL;
	}
	mutex_lock(&cfg->lock);
	ret = enable ? cfg_enable(cfg) : cfg_disable(cfg);
	mutex_unlock(&cfg->lock);
	return ret ? ret : count;
}

EMPBLK_CFG_U32_ATTR(block_size, offsetof(struct empblk_params, block_size));
EMPBLK_CFG_U32_ATTR(subblock_size,
		    offsetof(struct empblk_params, subblock_size));
EMPBLK_CFG_U32_ATTR(queue_depth, offsetof(struct empblk_params, queue_depth));
EMPBLK_CFG_U32_ATTR(poll_queues, offsetof(struct empblk_params, poll_queues));
EMPBLK_CFG_U32_ATTR(ack_timeout, offsetof(struct empblk_params, ack_timeout));
EMPBLK_CFG_U32_ATTR(reconnect_delay,
		    offsetof(struct empblk_params, reconnect_delay));
EMPBLK_CFG_U32_ATTR(loss_timeout,
		    offsetof(struct empblk_params, loss_timeout));
EMPBLK_CFG_U32_ATTR(replicas, offsetof(struct empblk_params, replicas));

/* the rebuild's rate cap: may change while the device runs */
static ssize_t empblk_cfg_rebuild_rate_mb_show(struct config_item *item,
					       char *page)
{
	return cfg_u32_show(item, page,
			    offsetof(struct empblk_params, rebuild_rate_mb));
}

static ssize_t empblk_cfg_rebuild_rate_mb_store(struct config_item *item,
						const char *page, size_t count)
{
	return __cfg_u32_store(item, page, count, "rebuild_rate_mb",
			       offsetof(struct empblk_params, rebuild_rate_mb),
			       parse_rebuild_rate_mb, true);
}

CONFIGFS_ATTR(empblk_cfg_, mem_path);
CONFIGFS_ATTR(empblk_cfg_, size_mb);
CONFIGFS_ATTR(empblk_cfg_, enable);
CONFIGFS_ATTR(empblk_cfg_, block_size);
CONFIGFS_ATTR(empblk_cfg_, subblock_size);
CONFIGFS_ATTR(empblk_cfg_, queue_depth);
CONFIGFS_ATTR(empblk_cfg_, poll_queues);
CONFIGFS_ATTR(empblk_cfg_, ack_timeout);
CONFIGFS_ATTR(empblk_cfg_, placement);
CONFIGFS_ATTR(empblk_cfg_, reconnect_delay);
CONFIGFS_ATTR(empblk_cfg_, loss_timeout);
CONFIGFS_ATTR(empblk_cfg_, replicas);
CONFIGFS_ATTR(empblk_cfg_, rebuild_rate_mb);

static struct configfs_attribute *empblk_cfg_attrs[] = {
	&empblk_cfg_attr_mem_path,
	&empblk_cfg_attr_size_mb,
	&empblk_cfg_attr_block_size,
	&empblk_cfg_attr_subblock_size,
	&empblk_cfg_attr_queue_depth,
	&empblk_cfg_attr_poll_queues,
	&empblk_cfg_attr_ack_timeout,
	&empblk_cfg_attr_reconnect_delay,
	&empblk_cfg_attr_loss_timeout,
	&empblk_cfg_attr_placement,
	&empblk_cfg_attr_replicas,
	&empblk_cfg_attr_rebuild_rate_mb,
	&empblk_cfg_attr_enable,
	NULL,
};

static void empblk_cfg_release(struct config_item *item)
{
	kfree(to_empblk_cfg(item));
}

static struct configfs_item_operations empblk_cfg_item_ops = {
	.release	= empblk_cfg_release,
};

static const struct config_item_type empblk_cfg_type = {
	.ct_item_ops	= &empblk_cfg_item_ops,
	.ct_attrs	= empblk_cfg_attrs,
	.ct_owner	= THIS_MODULE,
};

static int empblk_parse_name(const char *name, unsigned int *index)
{
	const char *num = name + strlen(EMPBLK_NAME);

	/* "empblk<N>", N decimal without leading zeros, N < 1024 */
	if (strncmp(name, EMPBLK_NAME, strlen(EMPBLK_NAME)) || !isdigit(*num) ||
	    (num[0] == '0' && num[1]) || kstrtouint(num, 10, index) ||
	    *index >= EMPBLK_MAX_DEVICES) {
		pr_err("invalid device name \"%s\": use " EMPBLK_NAME "N with N in 0..%u\n",
		       name, EMPBLK_MAX_DEVICES - 1);
		return -EINVAL;
	}
	return 0;
}

static struct empblk_cfg *empblk_cfg_alloc(const char *name)
{
	struct empblk_cfg *cfg;
	unsigned int index;
	int ret;

	ret = empblk_parse_name(name, &index);
	if (ret)
		return ERR_PTR(ret);
	cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg)
		return ERR_PTR(-ENOMEM);
	mutex_init(&cfg->lock);
	cfg->index = index;
	cfg->params.block_size = empblk_default_block_size;
	cfg->params.subblock_size = empblk_default_subblock_size;
	cfg->params.queue_depth = empblk_default_queue_depth;
	cfg->params.poll_queues = empblk_default_poll_queues;
	cfg->params.ack_timeout = empblk_default_ack_timeout;
	cfg->params.reconnect_delay = EMPBLK_DEFAULT_RECONNECT_DELAY;
	cfg->params.loss_timeout = EMPBLK_DEFAULT_LOSS_TIMEOUT;
	cfg->params.replicas = 1;
	cfg->params.rebuild_rate_mb = EMPBLK_DEFAULT_REBUILD_RATE_MB;
	config_group_init_type_name(&cfg->group, name, &empblk_cfg_type);
	return cfg;
}

static struct config_group *empblk_group_make_group(struct config_group *group,
						    const char *name)
{
	struct empblk_cfg *cfg = empblk_cfg_alloc(name);

	return IS_ERR(cfg) ? ERR_CAST(cfg) : &cfg->group;
}

static void empblk_group_drop_item(struct config_group *group,
				   struct config_item *item)
{
	struct empblk_cfg *cfg = to_empblk_cfg(item);

	mutex_lock(&cfg->lock);
	/* an open disk keeps serving: swap must not lose its device */
	if (cfg->dev)
		empblk_dev_remove(cfg->dev, true);
	cfg->dev = NULL;
	mutex_unlock(&cfg->lock);
	config_item_put(item);
}

static ssize_t empblk_group_features_show(struct config_item *item,
					  char *page)
{
	return sysfs_emit(page,
			  "mem_path size_mb block_size subblock_size queue_depth poll_queues ack_timeout placement reconnect_delay loss_timeout replicas rebuild_rate_mb enable\n");
}

CONFIGFS_ATTR_RO(empblk_group_, features);

static struct configfs_attribute *empblk_group_attrs[] = {
	&empblk_group_attr_features,
	NULL,
};

static struct configfs_group_operations empblk_group_ops = {
	.make_group	= empblk_group_make_group,
	.drop_item	= empblk_group_drop_item,
};

static const struct config_item_type empblk_group_type = {
	.ct_group_ops	= &empblk_group_ops,
	.ct_attrs	= empblk_group_attrs,
	.ct_owner	= THIS_MODULE,
};

static struct configfs_subsystem empblk_subsys = {
	.su_group = {
		.cg_item = {
			.ci_namebuf	= EMPBLK_NAME,
			.ci_type	= &empblk_group_type,
		},
	},
};

/* the device created by the mem_path= module parameter, if any */
static struct empblk_cfg *empblk_param_cfg;

/**
 * empblk_configfs_add_param_dev() - create and enable empblk0 at load
 * @mem_path: tier spec from the module parameter
 *
 * The device appears in configfs like any other, but as a default group:
 * it can be disabled and reconfigured, not removed.
 *
 * Return: 0 or a negative errno, with the reason logged.
 */
int empblk_configfs_add_param_dev(const char *mem_path)
{
	struct empblk_cfg *cfg;
	int ret;

	cfg = empblk_cfg_alloc(EMPBLK_NAME "0");
	if (IS_ERR(cfg))
		return PTR_ERR(cfg);

	mutex_lock(&cfg->lock);
	ret = empblk_spec_parse(mem_path, &cfg->params.spec,
				cfg->params.mem_path,
				sizeof(cfg->params.mem_path), cfg_name(cfg));
	if (!ret)
		ret = cfg_enable(cfg);
	mutex_unlock(&cfg->lock);
	if (ret)
		goto out_put_cfg;

	ret = configfs_register_group(&empblk_subsys.su_group, &cfg->group);
	if (ret)
		goto out_disable;
	empblk_param_cfg = cfg;
	return 0;

out_disable:
	mutex_lock(&cfg->lock);
	cfg_disable(cfg);
	mutex_unlock(&cfg->lock);
out_put_cfg:
	config_item_put(&cfg->group.cg_item);
	return ret;
}

/**
 * empblk_configfs_init() - register the configfs subsystem
 *
 * Return: 0 or a negative errno.
 */
int empblk_configfs_init(void)
{
	config_group_init(&empblk_subsys.su_group);
	mutex_init(&empblk_subsys.su_mutex);
	return configfs_register_subsystem(&empblk_subsys);
}

/**
 * empblk_configfs_exit() - tear down the module-parameter device and
 * unregister the subsystem
 *
 * configfs pins the module while user-created devices exist, so only the
 * module-parameter device can be left here; nobody has it open either,
 * since an open disk pins the module too.
 */
void empblk_configfs_exit(void)
{
	struct empblk_cfg *cfg = empblk_param_cfg;

	if (cfg) {
		configfs_unregister_group(&cfg->group);
		mutex_lock(&cfg->lock);
		if (cfg->dev)
			empblk_dev_remove(cfg->dev, true);
		cfg->dev = NULL;
		mutex_unlock(&cfg->lock);
		config_item_put(&cfg->group.cg_item);
		empblk_param_cfg = NULL;
	}
	configfs_unregister_subsystem(&empblk_subsys);
}
