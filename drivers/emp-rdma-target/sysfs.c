// SPDX-License-Identifier: GPL-2.0
/*
 * Per-client state in sysfs, one directory per session (one client device
 * on one port) and one value per file:
 *
 *   /sys/kernel/emp_target/sessions/<port>.<n>/
 *       port state grace_s peer rdma_device queues chunks_in_use
 *       bytes_in_use
 *
 * The directory appears when the client's admin connection is accepted and
 * goes when the session ends (a detached session keeps it until it is
 * resumed or expires). Documented in
 * Documentation/ABI/testing/sysfs-kernel-emp_target.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "emptgt.h"

static struct kobject *emptgt_kobj;
static struct kset *emptgt_sessions_kset;
static atomic_t emptgt_session_seq = ATOMIC_INIT(0);

static struct emptgt_session *to_session(struct kobject *kobj)
{
	return container_of(kobj, struct emptgt_session, kobj);
}

static ssize_t port_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  config_item_name(&to_session(kobj)->port->group.cg_item));
}

static ssize_t peer_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%pISc\n", &to_session(kobj)->peer);
}

static ssize_t rdma_device_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", dev_name(&to_session(kobj)->ibdev->dev));
}

static ssize_t queues_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	struct emptgt_session *sess = to_session(kobj);
	struct list_head *pos;
	unsigned int n = 0;

	mutex_lock(&sess->lock);
	list_for_each(pos, &sess->queues)
		n++;
	mutex_unlock(&sess->lock);
	return sysfs_emit(buf, "%u\n", n);
}

static ssize_t chunks_in_use_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  atomic_read(&to_session(kobj)->nr_chunks));
}

static ssize_t bytes_in_use_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (u64)atomic_read(&to_session(kobj)->nr_chunks) *
			  EMP_CHUNK_SIZE);
}

static ssize_t state_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n", READ_ONCE(to_session(kobj)->detached) ?
			  "detached" : "live");
}

static ssize_t grace_s_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_session(kobj)->grace_s));
}

static struct kobj_attribute emptgt_attr_port = __ATTR_RO(port);
static struct kobj_attribute emptgt_attr_state = __ATTR_RO(state);
static struct kobj_attribute emptgt_attr_grace_s = __ATTR_RO(grace_s);
static struct kobj_attribute emptgt_attr_peer = __ATTR_RO(peer);
static struct kobj_attribute emptgt_attr_rdma_device = __ATTR_RO(rdma_device);
static struct kobj_attribute emptgt_attr_queues = __ATTR_RO(queues);
static struct kobj_attribute emptgt_attr_chunks_in_use =
	__ATTR_RO(chunks_in_use);
static struct kobj_attribute emptgt_attr_bytes_in_use =
	__ATTR_RO(bytes_in_use);

static struct attribute *emptgt_session_attrs[] = {
	&emptgt_attr_port.attr,
	&emptgt_attr_state.attr,
	&emptgt_attr_grace_s.attr,
	&emptgt_attr_peer.attr,
	&emptgt_attr_rdma_device.attr,
	&emptgt_attr_queues.attr,
	&emptgt_attr_chunks_in_use.attr,
	&emptgt_attr_bytes_in_use.attr,
	NULL,
};
ATTRIBUTE_GROUPS(emptgt_session);

/* The session's memory goes with its kobject's last reference. */
static void emptgt_session_kobj_release(struct kobject *kobj)
{
	kfree(to_session(kobj));
}

static const struct kobj_type emptgt_session_ktype = {
	.release	= emptgt_session_kobj_release,
	.sysfs_ops	= &kobj_sysfs_ops,
	.default_groups	= emptgt_session_groups,
};

/**
 * emptgt_session_kobj_init() - make a new session's memory kobject-managed
 * @sess: session just allocated
 *
 * From here on the session is freed by kobject_put(&sess->kobj).
 */
void emptgt_session_kobj_init(struct emptgt_session *sess)
{
	kobject_init(&sess->kobj, &emptgt_session_ktype);
}

/**
 * emptgt_session_sysfs_add() - show an accepted session in sysfs
 * @sess: session whose admin queue was just accepted
 *
 * A failure only costs the session its directory; it is logged.
 */
void emptgt_session_sysfs_add(struct emptgt_session *sess)
{
	int ret;

	sess->kobj.kset = emptgt_sessions_kset;
	ret = kobject_add(&sess->kobj, NULL, "%s.%u",
			  config_item_name(&sess->port->group.cg_item),
			  atomic_inc_return(&emptgt_session_seq));
	if (ret)
		pr_warn("%s: session of %pISc has no sysfs directory (%d)\n",
			config_item_name(&sess->port->group.cg_item),
			&sess->peer, ret);
}

/**
 * emptgt_session_sysfs_del() - remove a session's directory
 * @sess: session being freed
 *
 * Waits for readers of its files; the caller then drops the kobject.
 */
void emptgt_session_sysfs_del(struct emptgt_session *sess)
{
	if (sess->kobj.state_in_sysfs)
		kobject_del(&sess->kobj);
}

/**
 * emptgt_sysfs_init() - create /sys/kernel/emp_target/sessions
 *
 * Return: 0 or -ENOMEM.
 */
int emptgt_sysfs_init(void)
{
	emptgt_kobj = kobject_create_and_add(EMPTGT_NAME, kernel_kobj);
	if (!emptgt_kobj)
		return -ENOMEM;
	emptgt_sessions_kset = kset_create_and_add("sessions", NULL,
						   emptgt_kobj);
	if (!emptgt_sessions_kset) {
		kobject_put(emptgt_kobj);
		return -ENOMEM;
	}
	return 0;
}

/**
 * emptgt_sysfs_exit() - remove /sys/kernel/emp_target (no session left)
 */
void emptgt_sysfs_exit(void)
{
	kset_unregister(emptgt_sessions_kset);
	kobject_put(emptgt_kobj);
}
