// SPDX-License-Identifier: GPL-2.0
/*
 * Donor configuration in configfs, after nvmet:
 *
 *   /sys/kernel/config/emp_target/features
 *   /sys/kernel/config/emp_target/ports/<name>/
 *       addr port device budget_mb max_grace_s enable   (configuration)
 *       listening sessions sessions_total chunks_in_use bytes_in_use
 *       rejected_connects bad_messages chunks_allocated chunks_freed
 *       alloc_failures sessions_resumed sessions_expired
 *       keepalive_timeouts                         (read-only state)
 *
 * "enable" is the commit point; the configuration is immutable while a
 * port is enabled (EBUSY). Disabling a port, or removing it, ends every
 * session: clients see their connections drop, and all memory handed out
 * is deregistered and freed first.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/configfs.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "emptgt.h"

/* every port, for RDMA device removal */
static LIST_HEAD(emptgt_ports);
static DEFINE_MUTEX(emptgt_ports_lock);

static inline struct emptgt_port *to_emptgt_port(struct config_item *item)
{
	return container_of(to_config_group(item), struct emptgt_port, group);
}

static const char *port_name(struct emptgt_port *port)
{
	return config_item_name(&port->group.cg_item);
}

static int quote_len(const char *buf)
{
	return min_t(size_t, strcspn(buf, "\n"), 64);
}

/* Caller holds port->lock. */
static int port_check_mutable(struct emptgt_port *port, const char *attr)
{
	lockdep_assert_held(&port->lock);
	if (!port->enabled)
		return 0;
	pr_err("%s: cannot change %s while the port is enabled (write 0 to enable first)\n",
	       port_name(port), attr);
	return -EBUSY;
}

/* addr and device: strings stored up to the first newline */
static ssize_t port_str_show(struct emptgt_port *port, char *page,
			     const char *val)
{
	ssize_t ret;

	mutex_lock(&port->lock);
	ret = sysfs_emit(page, "%s\n", val);
	mutex_unlock(&port->lock);
	return ret;
}

static ssize_t emptgt_port_addr_show(struct config_item *item, char *page)
{
	struct emptgt_port *port = to_emptgt_port(item);

	return port_str_show(port, page, port->addr);
}

static ssize_t emptgt_port_addr_store(struct config_item *item,
				      const char *page, size_t count)
{
	struct emptgt_port *port = to_emptgt_port(item);
	struct sockaddr_storage ss;
	char buf[INET6_ADDRSTRLEN];
	int len = quote_len(page);
	int ret;

	/* empty: listen on every IPv4 address */
	if (len >= sizeof(buf)) {
		ret = -EINVAL;
	} else {
		strscpy(buf, page, len + 1);
		ret = len ? inet_pton_with_scope(&init_net, AF_UNSPEC, buf,
						 "1", &ss) : 0;
	}
	if (ret) {
		pr_err("%s: addr \"%.*s\" is not an IPv4 or IPv6 address\n",
		       port_name(port), len, page);
		return -EINVAL;
	}
	mutex_lock(&port->lock);
	ret = port_check_mutable(port, "addr");
	if (!ret)
		strscpy(port->addr, buf, sizeof(port->addr));
	mutex_unlock(&port->lock);
	return ret ? ret : count;
}

static ssize_t emptgt_port_device_show(struct config_item *item, char *page)
{
	struct emptgt_port *port = to_emptgt_port(item);

	return port_str_show(port, page, port->device);
}

static ssize_t emptgt_port_device_store(struct config_item *item,
					const char *page, size_t count)
{
	struct emptgt_port *port = to_emptgt_port(item);
	int len = quote_len(page);
	int ret;

	if (len >= IB_DEVICE_NAME_MAX) {
		pr_err("%s: device name \"%.*s\" is too long\n",
		       port_name(port), len, page);
		return -EINVAL;
	}
	mutex_lock(&port->lock);
	ret = port_check_mutable(port, "device");
	if (!ret)
		strscpy(port->device, page, len + 1);
	mutex_unlock(&port->lock);
	return ret ? ret : count;
}

static ssize_t emptgt_port_port_show(struct config_item *item, char *page)
{
	struct emptgt_port *port = to_emptgt_port(item);
	ssize_t ret;

	mutex_lock(&port->lock);
	ret = sysfs_emit(page, "%u\n", port->port);
	mutex_unlock(&port->lock);
	return ret;
}

static ssize_t emptgt_port_port_store(struct config_item *item,
				      const char *page, size_t count)
{
	struct emptgt_port *port = to_emptgt_port(item);
	u16 val;
	int ret;

	if (kstrtou16(page, 10, &val) || !val) {
		pr_err("%s: port \"%.*s\" must be 1..65535\n", port_name(port),
		       quote_len(page), page);
		return -EINVAL;
	}
	mutex_lock(&port->lock);
	ret = port_check_mutable(port, "port");
	if (!ret)
		port->port = val;
	mutex_unlock(&port->lock);
	return ret ? ret : count;
}

/* numeric configuration: 0..@max, immutable while the port is enabled */
static ssize_t port_u64_show(struct emptgt_port *port, char *page,
			     const u64 *val)
{
	ssize_t ret;

	mutex_lock(&port->lock);
	ret = sysfs_emit(page, "%llu\n", *val);
	mutex_unlock(&port->lock);
	return ret;
}

static ssize_t port_u64_store(struct emptgt_port *port, const char *page,
			      size_t count, const char *attr, u64 *val,
			      u64 max, const char *unit)
{
	u64 v;
	int ret;

	if (kstrtou64(page, 10, &v) || v > max) {
		pr_err("%s: %s \"%.*s\" must be 0..%llu%s\n", port_name(port),
		       attr, quote_len(page), page, max, unit);
		return -EINVAL;
	}
	mutex_lock(&port->lock);
	ret = port_check_mutable(port, attr);
	if (!ret)
		WRITE_ONCE(*val, v);
	mutex_unlock(&port->lock);
	return ret ? ret : count;
}

/* an attribute of a u64 that emptgt_port_<_name>_val() points to */
#define EMPTGT_PORT_U64_ATTR(_name, _max, _unit)			\
static ssize_t emptgt_port_##_name##_show(struct config_item *item,	\
					  char *page)			\
{									\
	return port_u64_show(to_emptgt_port(item), page,		\
			     emptgt_port_##_name##_val(item));		\
}									\
static ssize_t emptgt_port_##_name##_store(struct config_item *item,	\
					   const char *page,		\
					   size_t count)		\
{									\
	return port_u64_store(to_emptgt_port(item), page, count,	\
			      #_name, emptgt_port_##_name##_val(item),	\
			      _max, _unit);				\
}									\
CONFIGFS_ATTR(emptgt_port_, _name)

static u64 *emptgt_port_budget_mb_val(struct config_item *item)
{
	return &to_emptgt_port(item)->budget_mb;
}

static u64 *emptgt_port_max_grace_s_val(struct config_item *item)
{
	return &to_emptgt_port(item)->max_grace_s;
}

EMPTGT_PORT_U64_ATTR(budget_mb, EMPTGT_MAX_BUDGET_MB, " MiB");
EMPTGT_PORT_U64_ATTR(max_grace_s, EMPTGT_MAX_GRACE_S, " s");

static ssize_t emptgt_port_enable_show(struct config_item *item, char *page)
{
	struct emptgt_port *port = to_emptgt_port(item);
	ssize_t ret;

	mutex_lock(&port->lock);
	ret = sysfs_emit(page, "%d\n", port->enabled);
	mutex_unlock(&port->lock);
	return ret;
}

static ssize_t emptgt_port_enable_store(struct config_item *item,
					const char *page, size_t count)
{
	struct emptgt_port *port = to_emptgt_port(item);
	bool enable;
	int ret = 0;

	if (kstrtobool(page, &enable)) {
		pr_err("%s: enable takes 0 or 1\n", port_name(port));
		return -EINVAL;
	}
	mutex_lock(&port->lock);
	if (enable && !port->enabled) {
		if (!port->budget_mb) {
			pr_err("%s: budget_mb is not set\n", port_name(port));
			ret = -EINVAL;
		} else {
			ret = emptgt_port_enable(port);
		}
		port->enabled = !ret;
	} else if (!enable && port->enabled) {
		emptgt_port_disable(port);
		port->enabled = false;
	}
	mutex_unlock(&port->lock);
	return ret ? ret : count;
}

CONFIGFS_ATTR(emptgt_port_, addr);
CONFIGFS_ATTR(emptgt_port_, port);
CONFIGFS_ATTR(emptgt_port_, device);
CONFIGFS_ATTR(emptgt_port_, enable);

/* read-only state */

static ssize_t emptgt_port_listening_show(struct config_item *item,
					  char *page)
{
	struct emptgt_port *port = to_emptgt_port(item);
	ssize_t ret;

	mutex_lock(&port->lock);
	ret = sysfs_emit(page, "%d\n", port->listen_id ? 1 : 0);
	mutex_unlock(&port->lock);
	return ret;
}

static ssize_t emptgt_port_sessions_show(struct config_item *item,
					 char *page)
{
	return sysfs_emit(page, "%d\n",
			  atomic_read(&to_emptgt_port(item)->nr_sessions));
}

static ssize_t emptgt_port_chunks_in_use_show(struct config_item *item,
					      char *page)
{
	return sysfs_emit(page, "%lld\n",
			  atomic64_read(&to_emptgt_port(item)->chunks_in_use));
}

static ssize_t emptgt_port_bytes_in_use_show(struct config_item *item,
					     char *page)
{
	return sysfs_emit(page, "%llu\n",
			  (u64)atomic64_read(&to_emptgt_port(item)->chunks_in_use) *
			  EMP_CHUNK_SIZE);
}

static ssize_t port_stat_show(struct config_item *item, char *page,
			      enum emptgt_port_stat stat)
{
	return sysfs_emit(page, "%lld\n",
			  atomic64_read(&to_emptgt_port(item)->stats[stat]));
}

/* one read-only file per counter of enum emptgt_port_stat */
#define EMPTGT_PORT_STAT_ATTR(_name, _STAT)				\
static ssize_t emptgt_port_##_name##_show(struct config_item *item,	\
					  char *page)			\
{									\
	return port_stat_show(item, page, EMPTGT_STAT_##_STAT);		\
}									\
CONFIGFS_ATTR_RO(emptgt_port_, _name)

EMPTGT_PORT_STAT_ATTR(sessions_total, SESSIONS_TOTAL);
EMPTGT_PORT_STAT_ATTR(rejected_connects, REJECTED_CONNECTS);
EMPTGT_PORT_STAT_ATTR(bad_messages, BAD_MESSAGES);
EMPTGT_PORT_STAT_ATTR(chunks_allocated, CHUNKS_ALLOCATED);
EMPTGT_PORT_STAT_ATTR(chunks_freed, CHUNKS_FREED);
EMPTGT_PORT_STAT_ATTR(alloc_failures, ALLOC_FAILURES);
EMPTGT_PORT_STAT_ATTR(sessions_resumed, SESSIONS_RESUMED);
EMPTGT_PORT_STAT_ATTR(sessions_expired, SESSIONS_EXPIRED);
EMPTGT_PORT_STAT_ATTR(keepalive_timeouts, KEEPALIVE_TIMEOUTS);

CONFIGFS_ATTR_RO(emptgt_port_, listening);
CONFIGFS_ATTR_RO(emptgt_port_, sessions);
CONFIGFS_ATTR_RO(emptgt_port_, chunks_in_use);
CONFIGFS_ATTR_RO(emptgt_port_, bytes_in_use);

static struct configfs_attribute *emptgt_port_attrs[] = {
	&emptgt_port_attr_addr,
	&emptgt_port_attr_port,
	&emptgt_port_attr_device,
	&emptgt_port_attr_budget_mb,
	&emptgt_port_attr_max_grace_s,
	&emptgt_port_attr_enable,
	&emptgt_port_attr_listening,
	&emptgt_port_attr_sessions,
	&emptgt_port_attr_chunks_in_use,
	&emptgt_port_attr_bytes_in_use,
	&emptgt_port_attr_sessions_total,
	&emptgt_port_attr_rejected_connects,
	&emptgt_port_attr_bad_messages,
	&emptgt_port_attr_chunks_allocated,
	&emptgt_port_attr_chunks_freed,
	&emptgt_port_attr_alloc_failures,
	&emptgt_port_attr_sessions_resumed,
	&emptgt_port_attr_sessions_expired,
	&emptgt_port_attr_keepalive_timeouts,
	NULL,
};

static void emptgt_port_release(struct config_item *item)
{
	kfree(to_emptgt_port(item));
}

static struct configfs_item_operations emptgt_port_item_ops = {
	.release	= emptgt_port_release,
};

static const struct config_item_type emptgt_port_type = {
	.ct_item_ops	= &emptgt_port_item_ops,
	.ct_attrs	= emptgt_port_attrs,
	.ct_owner	= THIS_MODULE,
};

static struct config_group *emptgt_ports_make_group(struct config_group *group,
						    const char *name)
{
	struct emptgt_port *port;

	port = kzalloc(sizeof(*port), GFP_KERNEL);
	if (!port)
		return ERR_PTR(-ENOMEM);
	mutex_init(&port->lock);
	mutex_init(&port->sessions_lock);
	INIT_LIST_HEAD(&port->sessions);
	port->port = EMP_DEFAULT_PORT;
	port->max_grace_s = EMPTGT_DEFAULT_GRACE_S;
	config_group_init_type_name(&port->group, name, &emptgt_port_type);
	mutex_lock(&emptgt_ports_lock);
	list_add_tail(&port->entry, &emptgt_ports);
	mutex_unlock(&emptgt_ports_lock);
	return &port->group;
}

static void emptgt_ports_drop_item(struct config_group *group,
				   struct config_item *item)
{
	struct emptgt_port *port = to_emptgt_port(item);

	mutex_lock(&emptgt_ports_lock);
	list_del(&port->entry);
	mutex_unlock(&emptgt_ports_lock);
	mutex_lock(&port->lock);
	if (port->enabled)
		emptgt_port_disable(port);
	port->enabled = false;
	mutex_unlock(&port->lock);
	config_item_put(item);
}

static struct configfs_group_operations emptgt_ports_group_ops = {
	.make_group	= emptgt_ports_make_group,
	.drop_item	= emptgt_ports_drop_item,
};

static const struct config_item_type emptgt_ports_type = {
	.ct_group_ops	= &emptgt_ports_group_ops,
	.ct_owner	= THIS_MODULE,
};

static struct config_group emptgt_ports_group;

static ssize_t emptgt_root_features_show(struct config_item *item,
					 char *page)
{
	return sysfs_emit(page, "addr port device budget_mb max_grace_s enable\n");
}

CONFIGFS_ATTR_RO(emptgt_root_, features);

static struct configfs_attribute *emptgt_root_attrs[] = {
	&emptgt_root_attr_features,
	NULL,
};

static const struct config_item_type emptgt_root_type = {
	.ct_attrs	= emptgt_root_attrs,
	.ct_owner	= THIS_MODULE,
};

static struct configfs_subsystem emptgt_subsys = {
	.su_group = {
		.cg_item = {
			.ci_namebuf	= EMPTGT_NAME,
			.ci_type	= &emptgt_root_type,
		},
	},
};

/**
 * emptgt_configfs_remove_device() - an RDMA device is going away
 * @ibdev: the device
 *
 * Ends every session on @ibdev, on every port.
 */
void emptgt_configfs_remove_device(struct ib_device *ibdev)
{
	struct emptgt_port *port;

	mutex_lock(&emptgt_ports_lock);
	list_for_each_entry(port, &emptgt_ports, entry)
		emptgt_port_remove_device(port, ibdev);
	mutex_unlock(&emptgt_ports_lock);
}

/**
 * emptgt_configfs_init() - register /sys/kernel/config/emp_target
 *
 * Return: 0 or a negative errno.
 */
int emptgt_configfs_init(void)
{
	config_group_init(&emptgt_subsys.su_group);
	mutex_init(&emptgt_subsys.su_mutex);
	config_group_init_type_name(&emptgt_ports_group, "ports",
				    &emptgt_ports_type);
	configfs_add_default_group(&emptgt_ports_group, &emptgt_subsys.su_group);
	return configfs_register_subsystem(&emptgt_subsys);
}

/**
 * emptgt_configfs_exit() - unregister; no port can exist any more
 */
void emptgt_configfs_exit(void)
{
	configfs_unregister_subsystem(&emptgt_subsys);
}
