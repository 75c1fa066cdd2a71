/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHIM_LINUX_SIZES_H
#define SHIM_LINUX_SIZES_H
#define SZ_4K 0x00001000
#define SZ_64K 0x00010000
#define SZ_128K 0x00020000
#define SZ_2M 0x00200000
#define SZ_8M 0x00800000
#endif
