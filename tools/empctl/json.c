// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal streaming JSON writer for empctl.
 *
 * Strings are escaped per RFC 8259; bytes that are not valid UTF-8 are
 * replaced by U+FFFD so the output is always valid JSON, whatever the
 * kernel files contain.
 */
#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "sysfs.h"

void json_init(struct json *j, FILE *fp, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->fp = fp;
	j->pretty = pretty;
}

static void newline_indent(struct json *j, unsigned int depth)
{
	unsigned int i;

	if (!j->pretty)
		return;
	fputc('\n', j->fp);
	for (i = 0; i < depth; i++)
		fputs("  ", j->fp);
}

/* Separator and indentation before a value or a key. */
static void begin_member(struct json *j, bool is_key)
{
	unsigned int top;

	if (j->after_key) {
		if (is_key)
			j->misuse = true;
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	top = j->depth - 1;
	/* Objects take keys, arrays take bare values. */
	if ((j->open[top] == '{') != is_key)
		j->misuse = true;
	if (j->has_items[top])
		fputc(',', j->fp);
	j->has_items[top] = true;
	newline_indent(j, j->depth);
}

static void container_begin(struct json *j, char open)
{
	begin_member(j, false);
	if (j->depth == JSON_MAX_DEPTH) {
		j->misuse = true;
		return;
	}
	j->open[j->depth] = open;
	j->has_items[j->depth] = false;
	j->depth++;
	fputc(open, j->fp);
}

static void container_end(struct json *j, char open, char close)
{
	if (j->depth == 0 || j->open[j->depth - 1] != open || j->after_key) {
		j->misuse = true;
		return;
	}
	j->depth--;
	if (j->has_items[j->depth])
		newline_indent(j, j->depth);
	fputc(close, j->fp);
}

void json_object_begin(struct json *j)
{
	container_begin(j, '{');
}

void json_object_end(struct json *j)
{
	container_end(j, '{', '}');
}

void json_array_begin(struct json *j)
{
	container_begin(j, '[');
}

void json_array_end(struct json *j)
{
	container_end(j, '[', ']');
}

/* Length of the valid UTF-8 sequence at @p, or 0 if it is not valid. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* > U+10FFFF */
	} else {
		return 0;
	}
	/* Stops at the terminating NUL, which is never a continuation byte. */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static void put_escaped_char(FILE *fp, unsigned char c)
{
	switch (c) {
	case '"':
		fputs("\\\"", fp);
		break;
	case '\\':
		fputs("\\\\", fp);
		break;
	case '\b':
		fputs("\\b", fp);
		break;
	case '\f':
		fputs("\\f", fp);
		break;
	case '\n':
		fputs("\\n", fp);
		break;
	case '\r':
		fputs("\\r", fp);
		break;
	case '\t':
		fputs("\\t", fp);
		break;
	default:
		if (c < 0x20 || c == 0x7f)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
}

static void put_string(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	fputc('"', fp);
	while (*p) {
		n = utf8_len(p);
		if (n == 0) {
			fputs("\\ufffd", fp);
			p++;
		} else if (n == 1) {
			put_escaped_char(fp, *p++);
		} else {
			fwrite(p, 1, n, fp);
			p += n;
		}
	}
	fputc('"', fp);
}

void json_key(struct json *j, const char *key)
{
	begin_member(j, true);
	put_string(j->fp, key);
	fputs(j->pretty ? ": " : ":", j->fp);
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	begin_member(j, false);
	put_string(j->fp, s);
}

void json_uint(struct json *j, uint64_t v)
{
	begin_member(j, false);
	fprintf(j->fp, "%" PRIu64, v);
}

void json_bool(struct json *j, bool v)
{
	begin_member(j, false);
	fputs(v ? "true" : "false", j->fp);
}

void json_null(struct json *j)
{
	begin_member(j, false);
	fputs("null", j->fp);
}

void json_auto(struct json *j, const char *s)
{
	uint64_t v;

	if (parse_u64(s, &v) == 0)
		json_uint(j, v);
	else
		json_string(j, s);
}

int json_finish(struct json *j)
{
	if (j->depth != 0 || j->after_key)
		j->misuse = true;
	fputc('\n', j->fp);
	return j->misuse || ferror(j->fp) ? -1 : 0;
}
