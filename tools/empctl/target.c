// SPDX-License-Identifier: GPL-2.0
/*
 * empctl target commands: start, stop, show and list the donor ports of
 * emp_rdma_target through configfs-emp_target. "empctl target COMMAND"
 * is dispatched in empctl.c.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "empctl.h"

/* ---- target: donor ports of emp_rdma_target ----------------------------- */

#define TARGET_MODULE		"emp_rdma_target"
#define TARGET_DEFAULT_PORT	"19675"

/* A port: its configfs directory and, once loaded, its attributes. */
struct tport {
	char name[NAME_MAX + 1];
	char dir[PATH_MAX];		/* <root>/ports/<name> */
	struct attr_list attrs;
	bool load_failed;		/* something could not be read */
};

struct name_list {
	char **v;
	size_t n;
};

static const char *target_root(void)
{
	return env_path("EMPCTL_TARGET_CONFIGFS",
			"/sys/kernel/config/emp_target");
}

static int target_ports_dir(char *buf, size_t size)
{
	return path_join(buf, size, target_root(), "ports");
}

/* The module is loaded and its ports directory is there. */
static int target_check(void)
{
	char ports[PATH_MAX];
	int r;

	if (check_module_at(target_root(), TARGET_MODULE) < 0)
		return -1;
	r = target_ports_dir(ports, sizeof(ports));
	if (r == 0)
		r = is_dir(ports);
	if (r > 0)
		return 0;
	pr_err("cannot access %s/ports: %s", target_root(),
	       strerror(r < 0 ? -r : ENOENT));
	return -1;
}

/*
 * Why @name cannot name a port directory, or NULL if it can. A port that
 * empctl creates also gets no spaces or control characters in its name;
 * one made otherwise can still be shown and stopped.
 */
static const char *tport_name_problem(const char *name, bool creating)
{
	size_t i;

	if (!name[0])
		return "it is empty";
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return "it is reserved";
	if (strlen(name) > NAME_MAX)
		return "it is too long";
	for (i = 0; name[i]; i++) {
		if (name[i] == '/')
			return "it contains '/'";
		if (creating && (isspace((unsigned char)name[i]) ||
				 iscntrl((unsigned char)name[i])))
			return "it contains a space or a control character";
	}
	return NULL;
}

/* The paths of the existing port @name, as listed by target_scan(). */
static int tport_set(struct tport *tp, const char *name)
{
	char ports[PATH_MAX];
	size_t len = strlen(name);

	memset(tp, 0, sizeof(*tp));
	if (len > NAME_MAX || target_ports_dir(ports, sizeof(ports)) < 0 ||
	    path_join(tp->dir, sizeof(tp->dir), ports, name) < 0) {
		pr_err("%s: path too long", name);
		return EXIT_FAIL;
	}
	memcpy(tp->name, name, len + 1);
	return CONTINUE;
}

/* The paths of the port @name given by the user, after checking it. */
static int tport_init(const struct cmd *c, struct tport *tp, const char *name,
		      bool creating)
{
	const char *why = tport_name_problem(name, creating);

	if (why)
		return usage_error(c, "invalid port name '%s': %s", name, why);
	return tport_set(tp, name);
}

/* A port number as the kernel takes it: canonical decimal 1..65535. */
static bool is_port_number(const char *s)
{
	uint64_t v;

	return parse_u64(s, &v) == 0 && v >= 1 && v <= 65535;
}

/*
 * Stops watching /dev/kmsg; if @failed, prints what the module logged
 * about @tp ("emp_rdma_target: <name>: ...").
 */
static void tport_unwatch(int watch, const struct tport *tp, bool failed)
{
	char needle[sizeof(TARGET_MODULE ": : ") + NAME_MAX];

	snprintf(needle, sizeof(needle), TARGET_MODULE ": %s: ", tp->name);
	kmsg_unwatch_match(watch, failed, needle);
}

/*
 * Writes @value to the attribute @attr of @tp. On failure prints what was
 * rejected and the kernel's explanation.
 */
static int tport_write(const struct tport *tp, const char *attr,
		       const char *value)
{
	char path[PATH_MAX];
	int watch, r;

	r = path_join(path, sizeof(path), tp->dir, attr);
	if (r < 0) {
		pr_err("%s: %s: %s", tp->name, attr, strerror(-r));
		return r;
	}
	watch = kmsg_watch();
	r = write_attr(path, value);
	if (r < 0)
		pr_err("%s: %s \"%s\" rejected: %s", tp->name, attr, value,
		       strerror(-r));
	tport_unwatch(watch, tp, r < 0);
	return r;
}

static int dir_filter(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

static void names_free(struct name_list *names)
{
	size_t i;

	for (i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	names->v = NULL;
	names->n = 0;
}

/* The port directories, sorted by name; reports errors. */
static int target_scan(struct name_list *names)
{
	char ports[PATH_MAX], path[PATH_MAX];
	struct dirent **ents;
	int n, i, r = 0;

	names->v = NULL;
	names->n = 0;
	if (target_ports_dir(ports, sizeof(ports)) < 0) {
		pr_err("%s/ports: path too long", target_root());
		return -1;
	}
	n = scandir(ports, &ents, dir_filter, alphasort);
	if (n < 0) {
		pr_err("cannot list %s: %s", ports, strerror(errno));
		return -1;
	}
	names->v = calloc((size_t)n + 1, sizeof(*names->v));
	for (i = 0; i < n; i++) {
		if (names->v && r == 0 &&
		    path_join(path, sizeof(path), ports, ents[i]->d_name) == 0 &&
		    is_dir(path) > 0) {
			names->v[names->n] = strdup(ents[i]->d_name);
			if (names->v[names->n])
				names->n++;
			else
				r = -1;
		}
		free(ents[i]);
	}
	free(ents);
	if (!names->v || r < 0) {
		pr_err("out of memory");
		names_free(names);
		return -1;
	}
	return 0;
}

/* "a, b, c" into @buf, cut with "..." if it does not fit. */
static void names_join(const struct name_list *names, char *buf, size_t size)
{
	size_t i, len = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < names->n; i++) {
		n = snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
			     names->v[i]);
		if (n < 0 || (size_t)n >= size - len) {
			if (size > 4)
				memcpy(buf + size - 4, "...", 4);
			return;
		}
		len += (size_t)n;
	}
}

/* ---- target start ------------------------------------------------------ */

/* Attributes written by target start, in this order; "enable" is last. */
static const struct tsetting {
	int opt;		/* short option, 0 if not user-settable */
	const char *attr;
} tstart_settings[] = {
	{ 'm', "budget_mb" },
	{ 'p', "port" },
	{ 'a', "addr" },
	{ 'd', "device" },
	{ 0,   "enable" },
};

/* Indexes into tstart_settings. */
enum { TS_BUDGET, TS_PORT, TS_ADDR, TS_DEVICE, TS_ENABLE, TS_COUNT };

static int tstart_parse(const struct cmd *c, int argc, char **argv,
			const char **values, const char **name)
{
	static const struct option options[] = {
		{ "budget", required_argument, NULL, 'm' },
		{ "port",   required_argument, NULL, 'p' },
		{ "addr",   required_argument, NULL, 'a' },
		{ "device", required_argument, NULL, 'd' },
		{ "name",   required_argument, NULL, 'n' },
		{ "help",   no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	size_t i;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "m:p:a:d:n:h", options,
				 NULL)) != -1) {
		switch (ch) {
		case 'h':
			print_cmd_usage(c, stdout);
			return EXIT_OK;
		case 'n':
			*name = optarg;
			break;
		default:
			for (i = 0; i < TS_ENABLE; i++)
				if (ch == tstart_settings[i].opt)
					break;
			if (i == TS_ENABLE)
				return usage_error(c, NULL);
			values[i] = optarg;
		}
	}
	if (optind < argc)
		return usage_error(c, "%s: unexpected argument '%s'", c->name,
				   argv[optind]);
	if (!values[TS_BUDGET])
		return usage_error(c, "%s: -m MB is required", c->name);
	for (i = 0; i < TS_ENABLE; i++)
		if (values[i] && !values[i][0])
			return usage_error(c, "%s: -%c needs a value", c->name,
					   tstart_settings[i].opt);
	return CONTINUE;
}

/* Refuses attributes the module does not list in its features file. */
static int tstart_check_features(const char *const *values)
{
	char path[PATH_MAX], features[4096];
	size_t i;

	if (!read_features(target_root(), path, sizeof(path), features,
			   sizeof(features)))
		return 0;
	for (i = 0; i < TS_COUNT; i++) {
		if (!values[i] || word_in_list(features, tstart_settings[i].attr))
			continue;
		pr_err("this %s module does not support \"%s\" (not listed in %s)",
		       TARGET_MODULE, tstart_settings[i].attr, path);
		return -1;
	}
	return 0;
}

static int tstart_create(const struct tport *tp, const char *const *values)
{
	size_t i;
	int watch, r;

	watch = kmsg_watch();
	r = mkdir(tp->dir, 0755) < 0 ? -errno : 0;
	if (r == -EEXIST)
		pr_err("target port %s already exists", tp->name);
	else if (r < 0)
		pr_err("cannot create %s: %s", tp->dir, strerror(-r));
	tport_unwatch(watch, tp, r < 0 && r != -EEXIST);
	if (r < 0)
		return EXIT_FAIL;

	for (i = 0; i < TS_COUNT; i++) {
		if (values[i] && tport_write(tp, tstart_settings[i].attr,
					     values[i]) < 0) {
			rollback_dir(tp->name, tp->dir);
			return EXIT_FAIL;
		}
	}
	return EXIT_OK;
}

int cmd_target_start(const struct cmd *c, int argc, char **argv)
{
	const char *values[TS_COUNT] = { NULL };
	char budget_mb[24], default_name[8];
	const char *name = NULL, *why;
	struct tport tp;
	sigset_t old;
	uint64_t mib;
	int rc;

	rc = tstart_parse(c, argc, argv, values, &name);
	if (rc != CONTINUE)
		return rc;
	why = size_to_mib(values[TS_BUDGET], &mib);
	if (!why && mib == 0)
		why = "must be at least 1 MiB";
	if (why)
		return usage_error(c, "%s: invalid -m '%s': %s", c->name,
				   values[TS_BUDGET], why);
	snprintf(budget_mb, sizeof(budget_mb), "%" PRIu64, mib);
	values[TS_BUDGET] = budget_mb;
	if (!values[TS_PORT])
		values[TS_PORT] = TARGET_DEFAULT_PORT;
	if (!is_port_number(values[TS_PORT]))
		return usage_error(c, "%s: invalid -p '%s': expected a port number 1..65535",
				   c->name, values[TS_PORT]);
	if (!name) {
		snprintf(default_name, sizeof(default_name), "p%s",
			 values[TS_PORT]);
		name = default_name;
	}
	rc = tport_init(c, &tp, name, true);
	if (rc != CONTINUE)
		return rc;
	values[TS_ENABLE] = "1";

	if (target_check() < 0 || tstart_check_features(values) < 0)
		return EXIT_FAIL;
	if (signals_block(&old) < 0)
		return EXIT_FAIL;
	rc = tstart_create(&tp, values);
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0) {
		pr_err("cannot restore the signal mask: %s", strerror(errno));
		rc = EXIT_FAIL;
	}
	return rc;
}

/* ---- target stop ------------------------------------------------------- */

/* Picks the port with port number @port_num; reports a failure. */
static int tstop_find_by_number(const struct cmd *c, const char *port_num,
				const struct name_list *all, struct tport *tp)
{
	struct name_list match = { NULL, 0 };
	char value[32], list[1024];
	struct tport cand;
	size_t i;
	int rc = CONTINUE;

	match.v = calloc(all->n + 1, sizeof(*match.v));
	if (!match.v) {
		pr_err("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < all->n; i++) {
		if (tport_set(&cand, all->v[i]) != CONTINUE)
			continue;	/* reported */
		if (read_attr_at(cand.dir, "port", value, sizeof(value)) == 0 &&
		    strcmp(value, port_num) == 0) {
			match.v[match.n++] = all->v[i];
			*tp = cand;
		}
	}
	if (match.n == 0) {
		pr_err("no such target port: none listens on port %s", port_num);
		rc = EXIT_FAIL;
	} else if (match.n > 1) {
		names_join(&match, list, sizeof(list));
		rc = usage_error(c, "%s: several target ports use port number %s (%s): choose one with -n NAME",
				 c->name, port_num, list);
	}
	free(match.v);	/* the names belong to @all */
	return rc;
}

/* Chooses the port to stop; CONTINUE with @tp set, or an exit code. */
static int tstop_select(const struct cmd *c, const char *name,
			const char *port_num, struct tport *tp)
{
	struct name_list all;
	char list[1024];
	int rc, r;

	if (name) {
		rc = tport_init(c, tp, name, false);
		if (rc != CONTINUE)
			return rc;
		if (target_check() < 0)
			return EXIT_FAIL;
		r = is_dir(tp->dir);
		if (r > 0)
			return CONTINUE;
		if (r < 0)
			pr_err("cannot access %s: %s", tp->dir, strerror(-r));
		else
			pr_err("no such target port %s", tp->name);
		return EXIT_FAIL;
	}
	if (target_check() < 0 || target_scan(&all) < 0)
		return EXIT_FAIL;
	if (port_num) {
		rc = tstop_find_by_number(c, port_num, &all, tp);
	} else if (all.n == 1) {
		rc = tport_set(tp, all.v[0]);
	} else if (all.n == 0) {
		pr_err("no target port exists");
		rc = EXIT_FAIL;
	} else {
		names_join(&all, list, sizeof(list));
		rc = usage_error(c, "%s: %zu target ports exist (%s): choose one with -n NAME or -p PORT",
				 c->name, all.n, list);
	}
	names_free(&all);
	return rc;
}

/* Prints what stopping @tp did to its clients. */
static int tstop_report(const struct tport *tp, bool was_enabled,
			const char *sessions, const char *bytes)
{
	uint64_t nsess = 0, nbytes = 0;
	bool has_sess = sessions && parse_u64(sessions, &nsess) == 0;
	bool has_bytes = bytes && parse_u64(bytes, &nbytes) == 0;
	char human[32];
	struct json j;

	if (opts.json) {
		json_begin(&j);
		json_object_begin(&j);
		json_key(&j, "name");
		json_string(&j, tp->name);
		json_key(&j, "was_enabled");
		json_bool(&j, was_enabled);
		json_opt_uint(&j, "sessions_disconnected", has_sess, nsess);
		json_opt_uint(&j, "bytes_freed", has_bytes, nbytes);
		json_object_end(&j);
		return json_end(&j);
	}
	if (!was_enabled) {
		printf("target port %s removed (it was not enabled: no clients were connected)\n",
		       tp->name);
		return EXIT_OK;
	}
	printf("target port %s stopped and removed: its clients were disconnected and the memory given to them was freed",
	       tp->name);
	if (has_sess && has_bytes && nsess == 0 && nbytes == 0) {
		printf(" (no client was connected)");
	} else if (has_sess && has_bytes) {
		fmt_bytes(nbytes, human, sizeof(human));
		printf(" (%" PRIu64 " session%s, %s)", nsess,
		       nsess == 1 ? "" : "s", human);
	}
	putchar('\n');
	return EXIT_OK;
}

static int tstop_port(const struct tport *tp)
{
	char enable[16], sessions[32], bytes[32];
	bool has_sess, has_bytes, was_enabled;
	int watch, r;

	r = read_attr_at(tp->dir, "enable", enable, sizeof(enable));
	if (r < 0) {
		pr_err("cannot read %s/enable: %s", tp->dir, strerror(-r));
		return EXIT_FAIL;
	}
	/* What the clients lose, for the report. */
	has_sess = read_attr_at(tp->dir, "sessions", sessions,
				sizeof(sessions)) == 0;
	has_bytes = read_attr_at(tp->dir, "bytes_in_use", bytes,
				 sizeof(bytes)) == 0;
	was_enabled = strcmp(enable, "0") != 0;
	if (was_enabled && tport_write(tp, "enable", "0") < 0)
		return EXIT_FAIL;

	watch = kmsg_watch();
	r = rmdir(tp->dir) < 0 ? -errno : 0;
	if (r < 0)
		pr_err("cannot remove target port %s: %s%s", tp->name,
		       strerror(-r),
		       was_enabled ? " (it is disabled now: its clients were disconnected)" : "");
	tport_unwatch(watch, tp, r < 0);
	if (r < 0)
		return EXIT_FAIL;
	return tstop_report(tp, was_enabled, has_sess ? sessions : NULL,
			    has_bytes ? bytes : NULL);
}

int cmd_target_stop(const struct cmd *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *name = NULL, *port_num = NULL;
	struct tport tp;
	sigset_t old;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "n:p:h", options, NULL)) != -1) {
		switch (ch) {
		case 'h':
			print_cmd_usage(c, stdout);
			return EXIT_OK;
		case 'n':
			name = optarg;
			break;
		case 'p':
			port_num = optarg;
			break;
		default:
			return usage_error(c, NULL);
		}
	}
	if (optind < argc)
		return usage_error(c, "%s: unexpected argument '%s'", c->name,
				   argv[optind]);
	if (name && port_num)
		return usage_error(c, "%s: -n and -p exclude each other",
				   c->name);
	if (port_num && !is_port_number(port_num))
		return usage_error(c, "%s: invalid -p '%s': expected a port number 1..65535",
				   c->name, port_num);
	rc = tstop_select(c, name, port_num, &tp);
	if (rc != CONTINUE)
		return rc;
	if (signals_block(&old) < 0)
		return EXIT_FAIL;
	rc = tstop_port(&tp);
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0) {
		pr_err("cannot restore the signal mask: %s", strerror(errno));
		rc = EXIT_FAIL;
	}
	return rc;
}

/* ---- target show, list ------------------------------------------------- */

/* Configuration is what can be written; the rest is state. */
static bool attr_is_config(const struct attr *a)
{
	return (a->mode & 0200) != 0;
}

/* Loads the attributes of @tp; false if the port does not exist. */
static bool tport_load(struct tport *tp)
{
	int r = attrs_load(tp->dir, &tp->attrs);

	if (r == -ENOENT || r == -ENOTDIR)
		return false;
	if (r < 0)
		pr_err("cannot read %s: %s", tp->dir, strerror(-r));
	if (r != 0)
		tp->load_failed = true;
	return true;
}

static const char *tport_state(const struct tport *tp)
{
	const char *enable = attrs_get(&tp->attrs, "enable");
	const char *listening = attrs_get(&tp->attrs, "listening");

	if (!enable)
		return "unknown";
	if (strcmp(enable, "0") == 0)
		return "disabled";
	if (listening && strcmp(listening, "0") == 0)
		return "enabled, not listening";
	return listening ? "listening" : "enabled";
}

static void tport_json_attrs(struct json *j, const char *key,
			     const struct tport *tp, bool config)
{
	const struct attr *a;
	size_t i;

	json_key(j, key);
	json_object_begin(j);
	for (i = 0; i < tp->attrs.n; i++) {
		a = &tp->attrs.v[i];
		if (attr_is_config(a) != config)
			continue;
		json_key(j, a->name);
		json_auto(j, a->value);
	}
	json_object_end(j);
}

static void tport_json(struct json *j, const struct tport *tp)
{
	json_object_begin(j);
	json_key(j, "name");
	json_string(j, tp->name);
	tport_json_attrs(j, "config", tp, true);
	tport_json_attrs(j, "state", tp, false);
	json_object_end(j);
}

/* Sizes by the naming of the ABI: bytes, or MiB for a "_mb" suffix. */
static uint64_t tport_unit(const char *key)
{
	if (is_byte_count(key))
		return 1;
	return ends_with(key, "_mb") ? MIB : 0;
}

static void tport_human_section(const struct tport *tp, bool config,
				int width)
{
	const struct attr *a;
	bool any = false;
	size_t i;

	printf("%s:\n", config ? "Config" : "State");
	for (i = 0; i < tp->attrs.n; i++) {
		a = &tp->attrs.v[i];
		if (attr_is_config(a) != config)
			continue;
		print_kv_unit(a->name, a->value, width, tport_unit(a->name));
		any = true;
	}
	if (!any)
		printf("  (none)\n");
}

static void tport_human(const struct tport *tp)
{
	int width = key_width(&tp->attrs, 0);

	printf("%s (%s)\n", tp->name, tport_state(tp));
	tport_human_section(tp, true, width);
	tport_human_section(tp, false, width);
}

static int target_show_one(const struct cmd *c, const char *name)
{
	struct tport tp;
	struct json j;
	int rc;

	rc = tport_init(c, &tp, name, false);
	if (rc != CONTINUE)
		return rc;
	if (target_check() < 0)
		return EXIT_FAIL;
	if (!tport_load(&tp)) {
		pr_err("no such target port %s", tp.name);
		return EXIT_FAIL;
	}
	if (opts.json) {
		json_begin(&j);
		tport_json(&j, &tp);
		rc = json_end(&j);
	} else {
		tport_human(&tp);
		rc = EXIT_OK;
	}
	if (tp.load_failed)
		rc = EXIT_FAIL;
	attrs_free(&tp.attrs);
	return rc;
}

/* Every port: a JSON array, or the human blocks separated by blank lines. */
static int target_show_all(void)
{
	struct name_list names;
	bool failed = false, first = true;
	struct tport tp;
	struct json j;
	size_t i;
	int rc = EXIT_OK;

	if (target_check() < 0 || target_scan(&names) < 0)
		return EXIT_FAIL;
	if (opts.json) {
		json_begin(&j);
		json_array_begin(&j);
	}
	for (i = 0; i < names.n; i++) {
		if (tport_set(&tp, names.v[i]) != CONTINUE) {
			failed = true;	/* reported */
			continue;
		}
		if (!tport_load(&tp))
			continue;	/* removed meanwhile */
		if (opts.json) {
			tport_json(&j, &tp);
		} else {
			if (!first)
				putchar('\n');
			tport_human(&tp);
		}
		first = false;
		failed |= tp.load_failed;
		attrs_free(&tp.attrs);
	}
	if (opts.json) {
		json_array_end(&j);
		rc = json_end(&j);
	}
	names_free(&names);
	return failed ? EXIT_FAIL : rc;
}

int cmd_target_show(const struct cmd *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *name = NULL;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "n:h", options, NULL)) != -1) {
		switch (ch) {
		case 'h':
			print_cmd_usage(c, stdout);
			return EXIT_OK;
		case 'n':
			name = optarg;
			break;
		default:
			return usage_error(c, NULL);
		}
	}
	if (optind < argc)
		return usage_error(c, "%s: unexpected argument '%s'", c->name,
				   argv[optind]);
	return name ? target_show_one(c, name) : target_show_all();
}

int cmd_target_list(const struct cmd *c, int argc, char **argv)
{
	int rc = parse_plain(c, argc, argv, 0, 0);

	return rc == CONTINUE ? target_show_all() : rc;
}
