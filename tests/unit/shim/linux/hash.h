/* SPDX-License-Identifier: GPL-2.0 */
/* hash_long() as the kernel's include/linux/hash.h has it on 64-bit. */
#ifndef SHIM_LINUX_HASH_H
#define SHIM_LINUX_HASH_H
#include <linux/types.h>
#define GOLDEN_RATIO_64 0x61C8864680B583EBull
static inline u32 hash_long(unsigned long val, unsigned int bits)
{
	return (u64)val * GOLDEN_RATIO_64 >> (64 - bits);
}
#endif
