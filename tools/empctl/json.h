/* SPDX-License-Identifier: GPL-2.0 */
/* Minimal streaming JSON writer for empctl. */
#ifndef EMPCTL_JSON_H
#define EMPCTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *fp;
	bool pretty;
	unsigned int depth;
	char open[JSON_MAX_DEPTH];	/* '{' or '[' per nesting level */
	bool has_items[JSON_MAX_DEPTH];	/* level already holds a member */
	bool after_key;			/* a key was written, value pending */
	bool misuse;			/* unbalanced or malformed call sequence */
};

void json_init(struct json *j, FILE *fp, bool pretty);
void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* A number if @s is a canonical unsigned decimal, a string otherwise. */
void json_auto(struct json *j, const char *s);
/* Ends the document with a newline; returns 0, or -1 on misuse or I/O error. */
int json_finish(struct json *j);

#endif
