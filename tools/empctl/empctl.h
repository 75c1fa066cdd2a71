/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of empctl share: the command table entry, the global
 * options, the helpers of empctl.c and the commands of device.c and
 * target.c.
 */
#ifndef EMPCTL_EMPCTL_H
#define EMPCTL_EMPCTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "sysfs.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIB		(1ULL << 20)

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	CONTINUE = -1,	/* argument parsing done, go on with the command */
};

/* The global options (-j, -p). */
struct empctl_opts {
	bool json;
	bool pretty;
};

extern struct empctl_opts opts;

struct cmd {
	const char *name;
	int (*fn)(const struct cmd *cmd, int argc, char **argv);
	const char *args;	/* synopsis after the command name */
	const char *summary;
	const char *options;	/* option help lines, or NULL */
};

/* empctl.c: output */
void fmt_bytes(uint64_t bytes, char *buf, size_t size);
bool ends_with(const char *s, const char *suffix);
bool is_byte_count(const char *key);
void json_begin(struct json *j);
int json_end(struct json *j);
void json_opt_uint(struct json *j, const char *key, bool has,
		   uint64_t v);
void print_kv_unit(const char *key, const char *value, int width,
		   uint64_t unit);
int key_width(const struct attr_list *list, int width);

/* empctl.c: usage and argument parsing */
void print_cmd_usage(const struct cmd *c, FILE *fp);
int usage_error(const struct cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int parse_plain(const struct cmd *c, int argc, char **argv,
		int min_args, int max_args);
const char *env_path(const char *var, const char *def);
const char *size_to_mib(const char *s, uint64_t *mib);

/* empctl.c: kernel state */
int check_module_at(const char *root, const char *module);
bool read_features(const char *root, char *path, size_t pathlen,
		   char *features, size_t len);
void rollback_dir(const char *name, const char *dir);
int signals_block(sigset_t *old);

/* device.c */
int cmd_create(const struct cmd *c, int argc, char **argv);
int cmd_destroy(const struct cmd *c, int argc, char **argv);
int cmd_list(const struct cmd *c, int argc, char **argv);
int cmd_show(const struct cmd *c, int argc, char **argv);

/* target.c */
int cmd_target_start(const struct cmd *c, int argc, char **argv);
int cmd_target_stop(const struct cmd *c, int argc, char **argv);
int cmd_target_show(const struct cmd *c, int argc, char **argv);
int cmd_target_list(const struct cmd *c, int argc, char **argv);

#endif
