// SPDX-License-Identifier: GPL-2.0
/*
 * emp_rdma_target: exports a budget of this host's DRAM to empblk clients
 * over RDMA (RDMA CM and in-kernel verbs).
 *
 * This version only registers the module; ports, exports and the RDMA data
 * path arrive with the donor-tier work. Loading it changes nothing on the
 * host.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

static int __init emptgt_init(void)
{
	return 0;
}

static void __exit emptgt_exit(void)
{
}

module_init(emptgt_init);
module_exit(emptgt_exit);

MODULE_DESCRIPTION("emp_rdma_target: donate DRAM to empblk over RDMA");
MODULE_AUTHOR("empblk developers");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
