// SPDX-License-Identifier: GPL-2.0
/*
 * emp_rdma_target: exports a budget of this host's DRAM to empblk clients
 * over RDMA (RDMA CM and in-kernel verbs; InfiniBand, RoCE and iWARP alike).
 *
 * Configuration is in configfs (configfs.c), the RDMA side in rdma.c and
 * the wire protocol in include/emp/emp-proto.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/random.h>

#include "emptgt.h"

/* random at load: a client recognises a restarted donor by a new value */
u64 emptgt_incarnation;

/* queue teardown and admin message handling */
struct workqueue_struct *emptgt_wq;

static int __init emptgt_init(void)
{
	int ret;

	emp_proto_build_checks();
	do {
		emptgt_incarnation = get_random_u64();
	} while (!emptgt_incarnation);

	emptgt_wq = alloc_workqueue(EMPTGT_NAME, WQ_UNBOUND, 0);
	if (!emptgt_wq)
		return -ENOMEM;
	ret = emptgt_sysfs_init();
	if (ret)
		goto out_destroy_wq;
	ret = emptgt_rdma_init();
	if (ret)
		goto out_sysfs_exit;
	ret = emptgt_configfs_init();
	if (ret)
		goto out_rdma_exit;
	return 0;

out_rdma_exit:
	emptgt_rdma_exit();
out_sysfs_exit:
	emptgt_sysfs_exit();
out_destroy_wq:
	destroy_workqueue(emptgt_wq);
	return ret;
}

static void __exit emptgt_exit(void)
{
	/* configfs pins the module while any port exists */
	emptgt_configfs_exit();
	emptgt_rdma_exit();
	emptgt_sysfs_exit();
	destroy_workqueue(emptgt_wq);
}

module_init(emptgt_init);
module_exit(emptgt_exit);

MODULE_DESCRIPTION("emp_rdma_target: donate DRAM to empblk over RDMA");
MODULE_AUTHOR("empblk developers");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
