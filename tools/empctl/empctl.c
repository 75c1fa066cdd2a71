// SPDX-License-Identifier: GPL-2.0
/*
 * empctl - configure empblk far-memory block devices and the donor ports
 * of emp_rdma_target.
 *
 * Drives the kernel ABI documented in Documentation/ABI/testing/
 * configfs-empblk (configuration) and sysfs-block-empblk (state) for
 * devices, and configfs-emp_target for donor ports. The kernel validates
 * every value; empctl only checks the shape of names and port numbers and
 * converts sizes to MiB.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "json.h"
#include "sysfs.h"

#ifndef EMPCTL_VERSION
#define EMPCTL_VERSION "unknown"
#endif

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIB		(1ULL << 20)
#define SECTOR_SIZE	512ULL

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	CONTINUE = -1,	/* argument parsing done, go on with the command */
};

static struct {
	bool json;
	bool pretty;
} opts;

struct cmd {
	const char *name;
	int (*fn)(const struct cmd *cmd, int argc, char **argv);
	const char *args;	/* synopsis after the command name */
	const char *summary;
	const char *options;	/* option help lines, or NULL */
};

/* A device: its paths and, once loaded, what the kernel reports. */
struct dev {
	char name[EMP_NAME_SIZE];
	char cfg_dir[PATH_MAX];		/* configfs: <root>/empblkN */
	char disk_dir[PATH_MAX];	/* sysfs: /sys/block/empblkN */
	char emp_dir[PATH_MAX];		/* sysfs: /sys/block/empblkN/emp */
	bool has_cfg;
	bool has_stats;
	bool has_capacity;
	bool load_failed;		/* something could not be read */
	uint64_t capacity;
	struct attr_list cfg;
	struct attr_list stats;
};

/* ---- output helpers ---------------------------------------------------- */

static void fmt_bytes(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	uint64_t div = 1;
	size_t i = 0;

	while (i + 1 < ARRAY_SIZE(units) && bytes / div >= 1024) {
		div *= 1024;
		i++;
	}
	if (bytes % div == 0)
		snprintf(buf, size, "%" PRIu64 " %s", bytes / div, units[i]);
	else
		snprintf(buf, size, "%.1f %s", (double)bytes / (double)div,
			 units[i]);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Attributes whose unit is bytes, by the naming of the ABI: "bytes" as a
 * word of the name (read_bytes, bytes_in_use, remote_bytes_in_use) or a
 * "_size" suffix.
 */
static bool is_byte_count(const char *key)
{
	return ends_with(key, "_bytes") || ends_with(key, "_size") ||
	       strncmp(key, "bytes_", 6) == 0 || strstr(key, "_bytes_");
}

static void json_begin(struct json *j)
{
	json_init(j, stdout, opts.pretty);
}

static int json_end(struct json *j)
{
	if (json_finish(j) < 0) {
		pr_err("cannot write JSON output");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static void json_opt_uint(struct json *j, const char *key, bool has,
			  uint64_t v)
{
	json_key(j, key);
	if (has)
		json_uint(j, v);
	else
		json_null(j);
}

static int close_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		pr_err("write error: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- usage ------------------------------------------------------------- */

static int cmd_create(const struct cmd *c, int argc, char **argv);
static int cmd_destroy(const struct cmd *c, int argc, char **argv);
static int cmd_list(const struct cmd *c, int argc, char **argv);
static int cmd_show(const struct cmd *c, int argc, char **argv);
static int cmd_version(const struct cmd *c, int argc, char **argv);
static int cmd_help(const struct cmd *c, int argc, char **argv);
static int cmd_target(const struct cmd *c, int argc, char **argv);
static int cmd_target_start(const struct cmd *c, int argc, char **argv);
static int cmd_target_stop(const struct cmd *c, int argc, char **argv);
static int cmd_target_show(const struct cmd *c, int argc, char **argv);
static int cmd_target_list(const struct cmd *c, int argc, char **argv);

#define MEM_PATH_HELP \
	"  --mem-path SPEC        backing tiers (required): dram:MB, donors\n" \
	"                         IP:MB:PORT ([IPv6]:MB:PORT) separated by '|'\n" \
	"                         or ',' and striped across, or both (dram:MB\n" \
	"                         is then a write-back cache before the\n" \
	"                         donors); e.g. dram:512 or\n" \
	"                         'dram:64|10.0.0.1:1024:19675|10.0.0.2:1024:19675'\n"

static const struct cmd cmds[] = {
	{ "create", cmd_create,
	  "NAME --mem-path SPEC [--block-size SIZE] [--subblock-size SIZE]\n"
	  "                     [--size SIZE] [--queue-depth N] [--poll-queues N]\n"
	  "                     [--ack-timeout N]",
	  "Create device NAME (empblk<N>), configure it and enable it.",
	  MEM_PATH_HELP
	  "  --block-size SIZE      cache and fetch unit, e.g. 64K\n"
	  "  --subblock-size SIZE   transfer and striping unit, e.g. 4K\n"
	  "  --size SIZE            capacity with a K, M, G or T suffix\n"
	  "                         (none: MiB); default: sum of the tiers\n"
	  "  --queue-depth N        tags per hardware queue\n"
	  "  --poll-queues N        hardware queues for polled I/O (io_uring\n"
	  "                         IOPOLL), 0..64\n"
	  "  --ack-timeout N        RDMA ACK timeout to donors, 4.096 us * 2^N,\n"
	  "                         0..31 (0: the RDMA CM's default)\n"
	  "  -h, --help             show this help\n"
	  "Unset options keep the module defaults. On any error the device\n"
	  "is removed again.\n" },
	{ "destroy", cmd_destroy, "NAME",
	  "Disable device NAME and remove it.", NULL },
	{ "list", cmd_list, "",
	  "List all devices: name, state, mem_path, capacity, DRAM used.",
	  NULL },
	{ "show", cmd_show, "NAME",
	  "Show the configuration, state and statistics of device NAME.",
	  NULL },
	{ "version", cmd_version, "", "Print the version of empctl.", NULL },
	{ "help", cmd_help, "[COMMAND | target COMMAND]",
	  "Show the help of empctl or of COMMAND.", NULL },
	{ "target", cmd_target, "COMMAND [OPTIONS]",
	  "Manage the donor ports of emp_rdma_target (see below).", NULL },
};

/* "empctl target COMMAND": names are "target " + the subcommand. */
#define TARGET_CMD	"target "

static const struct cmd target_cmds[] = {
	{ TARGET_CMD "start", cmd_target_start,
	  "-m MB [-p PORT] [-a ADDR] [-d DEV] [-n NAME]",
	  "Create donor port NAME, configure it and start listening.",
	  "  -m, --budget MB     memory lent to all clients together, in MiB\n"
	  "                      or with a K, M, G or T suffix (required)\n"
	  "  -p, --port PORT     RDMA CM port, 1..65535 (default 19675)\n"
	  "  -a, --addr ADDR     IPv4 or IPv6 address to listen on\n"
	  "                      (default: every IPv4 address)\n"
	  "  -d, --device DEV    accept clients only on RDMA device DEV\n"
	  "                      (default: any device)\n"
	  "  -n, --name NAME     name of the port (default: p<PORT>)\n"
	  "  -h, --help          show this help\n"
	  "On any error the port is removed again.\n" },
	{ TARGET_CMD "stop", cmd_target_stop, "[-n NAME | -p PORT]",
	  "Stop and remove a donor port; its clients lose their memory.",
	  "  -n, --name NAME     the port named NAME\n"
	  "  -p, --port PORT     the port listening on port number PORT\n"
	  "  -h, --help          show this help\n"
	  "With neither option, the only port is stopped. Stopping a port\n"
	  "disconnects its clients and frees all memory given to them.\n" },
	{ TARGET_CMD "show", cmd_target_show, "[-n NAME]",
	  "Show the configuration and state of the donor ports.",
	  "  -n, --name NAME     only the port named NAME\n"
	  "  -h, --help          show this help\n" },
	{ TARGET_CMD "list", cmd_target_list, "",
	  "List the donor ports with their configuration and state.", NULL },
};

static void print_cmd_synopsis(const struct cmd *c, FILE *fp)
{
	fprintf(fp, "Usage: empctl %s%s%s\n", c->name,
		c->args[0] ? " " : "", c->args);
}

static void print_cmd_usage(const struct cmd *c, FILE *fp)
{
	print_cmd_synopsis(c, fp);
	fprintf(fp, "%s\n", c->summary);
	if (c->options)
		fprintf(fp, "\nOptions:\n%s", c->options);
}

static void print_usage(FILE *fp)
{
	size_t i;

	fputs("Usage: empctl [OPTIONS] COMMAND [ARGS]\n"
	      "Configure empblk far-memory block devices (compute node) and\n"
	      "emp_rdma_target donor ports (memory donor).\n\nCommands:\n", fp);
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (cmds[i].fn != cmd_target)
			fprintf(fp, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
	fputs("\nTarget commands (donor side, module emp_rdma_target):\n", fp);
	for (i = 0; i < ARRAY_SIZE(target_cmds); i++)
		fprintf(fp, "  %-13s %s\n", target_cmds[i].name,
			target_cmds[i].summary);
	fputs("\nOptions:\n"
	      "  -j, --json     JSON output\n"
	      "  -p, --pretty   indented JSON output (implies --json)\n"
	      "  -h, --help     show this help\n"
	      "  -V, --version  print the version\n"
	      "\nRun 'empctl help COMMAND' (e.g. 'empctl help target start') for\n"
	      "the arguments of a command.\n",
	      fp);
}

/* Prints "empctl: <message>" (if any) and the synopsis of @c. */
static int usage_error(const struct cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vpr_err(fmt, ap);
		va_end(ap);
	}
	print_cmd_synopsis(c, stderr);
	return EXIT_USAGE;
}

/* ---- argument parsing -------------------------------------------------- */

static const struct option help_only_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Command options: only -h; leaves argv[optind..] as the positionals. */
static int parse_plain(const struct cmd *c, int argc, char **argv,
		       int min_args, int max_args)
{
	int ch, n;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", help_only_options,
				 NULL)) != -1) {
		if (ch != 'h')
			return usage_error(c, NULL);
		print_cmd_usage(c, stdout);
		return EXIT_OK;
	}
	n = argc - optind;
	if (n < min_args)
		return usage_error(c, "%s: missing %s", c->name, c->args);
	if (n > max_args)
		return usage_error(c, "%s: unexpected argument '%s'", c->name,
				   argv[optind + max_args]);
	return CONTINUE;
}

static const char *env_path(const char *var, const char *def)
{
	const char *v = getenv(var);

	return v && v[0] ? v : def;
}

static const char *configfs_root(void)
{
	return env_path("EMPCTL_CONFIGFS", "/sys/kernel/config/empblk");
}

static const char *sysfs_block(void)
{
	return env_path("EMPCTL_SYSFS_BLOCK", "/sys/block");
}

static int dev_init(const struct cmd *c, struct dev *d, const char *name)
{
	unsigned int num;

	memset(d, 0, sizeof(*d));
	if (!emp_name_parse(name, &num))
		return usage_error(c, "invalid device name '%s': expected "
				   EMP_PREFIX "<N> with 0 <= N < %d", name,
				   EMP_MAX_DEVICES);
	/* emp_name_parse() accepted it, so it fits. */
	memcpy(d->name, name, strlen(name) + 1);
	if (path_join(d->cfg_dir, sizeof(d->cfg_dir), configfs_root(),
		      d->name) < 0 ||
	    path_join(d->disk_dir, sizeof(d->disk_dir), sysfs_block(),
		      d->name) < 0 ||
	    path_join(d->emp_dir, sizeof(d->emp_dir), d->disk_dir, "emp") < 0) {
		pr_err("%s: path too long", d->name);
		return EXIT_FAIL;
	}
	return CONTINUE;
}

/* ---- kernel state ------------------------------------------------------ */

/*
 * Explains why @root, the configfs directory of @module, is missing; 0 if
 * it is there.
 */
static int check_module_at(const char *root, const char *module)
{
	char parent[PATH_MAX];
	struct statfs sfs;
	struct stat st;
	char *slash;
	size_t len;

	if (stat(root, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		pr_err("%s is not a directory", root);
		return -1;
	}
	if (errno != ENOENT) {
		pr_err("cannot access %s: %s", root, strerror(errno));
		return -1;
	}
	/* stat() did not say ENAMETOOLONG, so it fits. */
	len = strlen(root);
	memcpy(parent, root, len + 1);
	while (len > 1 && parent[len - 1] == '/')
		parent[--len] = '\0';
	slash = strrchr(parent, '/');
	if (!slash)
		memcpy(parent, ".", 2);
	else if (slash == parent)
		slash[1] = '\0';
	else
		slash[0] = '\0';

	if (statfs(parent, &sfs) < 0) {
		if (errno == ENOENT)
			pr_err("configfs is not available: %s does not exist (try: modprobe configfs && mount -t configfs none %s)",
			       parent, parent);
		else
			pr_err("cannot access %s: %s", parent, strerror(errno));
	} else if (sfs.f_type == SYSFS_MAGIC) {	/* bare sysfs mount point */
		pr_err("configfs is not mounted on %s (try: mount -t configfs none %s)",
		       parent, parent);
	} else {
		pr_err("%s module not loaded (try: modprobe %s)", module,
		       module);
	}
	return -1;
}

static int check_module(void)
{
	return check_module_at(configfs_root(), "empblk");
}

/* Loads the attributes of @dir; a missing @dir is not an error. */
static void dev_load_dir(struct dev *d, const char *dir,
			 struct attr_list *list, bool *present)
{
	int r = attrs_load(dir, list);

	*present = r >= 0;
	if (r == -ENOENT || r == -ENOTDIR)
		return;
	if (r < 0)
		pr_err("cannot read %s: %s", dir, strerror(-r));
	if (r != 0)
		d->load_failed = true;
}

static void dev_load_capacity(struct dev *d)
{
	char buf[32];
	uint64_t sectors;
	int r;

	r = read_attr_at(d->disk_dir, "size", buf, sizeof(buf));
	if (r == -ENOENT)
		return;		/* no disk: the device is not enabled */
	if (r == 0)
		r = parse_u64(buf, &sectors);
	if (r == 0 && sectors > UINT64_MAX / SECTOR_SIZE)
		r = -ERANGE;
	if (r < 0) {
		pr_err("cannot read %s/size: %s", d->disk_dir, strerror(-r));
		d->load_failed = true;
		return;
	}
	d->capacity = sectors * SECTOR_SIZE;
	d->has_capacity = true;
}

static void dev_load(struct dev *d)
{
	dev_load_dir(d, d->cfg_dir, &d->cfg, &d->has_cfg);
	dev_load_dir(d, d->emp_dir, &d->stats, &d->has_stats);
	dev_load_capacity(d);
}

static void dev_free(struct dev *d)
{
	attrs_free(&d->cfg);
	attrs_free(&d->stats);
}

static bool dev_enabled(const struct dev *d)
{
	const char *enable = attrs_get(&d->cfg, "enable");

	return enable && strcmp(enable, "1") == 0;
}

/* "orphaned" per sysfs, else enabled/disabled per configfs. */
static const char *dev_state(const struct dev *d)
{
	const char *state = attrs_get(&d->stats, "state");

	if (state && strcmp(state, "orphaned") == 0)
		return "orphaned";
	if (d->has_cfg)
		return dev_enabled(d) ? "enabled" : "disabled";
	return state ? state : "unknown";
}

static const char *dev_mem_path(const struct dev *d)
{
	const char *spec = attrs_get(&d->cfg, "mem_path");

	return spec ? spec : attrs_get(&d->stats, "mem_path");
}

static void no_such_device(const struct dev *d)
{
	if (is_dir(d->emp_dir) > 0)
		pr_err("no such device %s (an orphaned disk of that name is still open; it is deleted at its last close)",
		       d->name);
	else
		pr_err("no such device %s", d->name);
}

/*
 * Writes @value to the configfs attribute @attr of @d. On failure prints
 * what was rejected (or "<name> <hint>" if the error is @hint_err) and the
 * kernel's explanation from /dev/kmsg.
 */
static int dev_write(const struct dev *d, const char *attr, const char *value,
		     int hint_err, const char *hint)
{
	char path[PATH_MAX];
	int watch, r;

	r = path_join(path, sizeof(path), d->cfg_dir, attr);
	if (r < 0) {
		pr_err("%s: %s: %s", d->name, attr, strerror(-r));
		return r;
	}
	watch = kmsg_watch();
	r = write_attr(path, value);
	if (r < 0 && r == hint_err)
		pr_err("%s %s", d->name, hint);
	else if (r < 0)
		pr_err("%s: %s \"%s\" rejected: %s", d->name, attr, value,
		       strerror(-r));
	kmsg_unwatch(watch, r < 0);
	return r;
}

/* ---- create ------------------------------------------------------------ */

#define OPT_SETTING	256	/* getopt value of create_settings[i]: 256 + i */

/* Attributes written by create, in this order; "enable" must be last. */
static const struct setting {
	const char *option;	/* long option, NULL if not user-settable */
	const char *attr;
	bool in_features;	/* must be listed in the features file */
} create_settings[] = {
	{ "mem-path",      "mem_path",      false },
	{ "size",          "size_mb",       true },
	{ "block-size",    "block_size",    true },
	{ "subblock-size", "subblock_size", true },
	{ "queue-depth",   "queue_depth",   true },
	{ "poll-queues",   "poll_queues",   true },
	{ "ack-timeout",   "ack_timeout",   true },
	{ NULL,            "enable",        false },
};

/* Indexes into create_settings. */
#define SETTING_MEM_PATH	0
#define SETTING_SIZE		1
#define SETTING_ENABLE		(ARRAY_SIZE(create_settings) - 1)

/* create's getopt table, derived from create_settings. */
static void create_build_options(struct option *o)
{
	size_t i;

	for (i = 0; i < SETTING_ENABLE; i++)
		o[i] = (struct option){ create_settings[i].option,
					required_argument, NULL,
					OPT_SETTING + (int)i };
	o[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	o[i] = (struct option){ NULL, 0, NULL, 0 };
}

/* --size: K/M/G/T suffix, none means MiB; must be whole MiB. */
static const char *size_to_mib(const char *s, uint64_t *mib)
{
	static const char suffixes[] = "KMGT";
	static const char *const syntax =
		"expected a number with an optional K, M, G or T suffix";
	const char *suffix;
	unsigned int shift = 20;
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return syntax;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return "too large";
	if (*end) {
		suffix = strchr(suffixes, toupper((unsigned char)*end));
		if (!suffix || end[1])
			return syntax;
		shift = 10 * (unsigned int)(suffix - suffixes + 1);
	}
	if (v > (UINT64_MAX >> shift))
		return "too large";
	if ((v << shift) % MIB)
		return "not a whole number of MiB";
	*mib = (v << shift) / MIB;
	return NULL;
}

static int create_parse(const struct cmd *c, int argc, char **argv,
			const char **values)
{
	struct option options[ARRAY_SIZE(create_settings) + 1];
	size_t i;
	int ch;

	create_build_options(options);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (ch == 'h') {
			print_cmd_usage(c, stdout);
			return EXIT_OK;
		}
		if (ch < OPT_SETTING || ch >= OPT_SETTING + (int)SETTING_ENABLE)
			return usage_error(c, NULL);
		values[ch - OPT_SETTING] = optarg;
	}
	if (argc - optind != 1)
		return usage_error(c, argc == optind ? "create: missing NAME" :
				   "create: more than one NAME");
	if (!values[SETTING_MEM_PATH])
		return usage_error(c, "create: --mem-path is required");
	for (i = 0; i < SETTING_ENABLE; i++)
		if (values[i] && !values[i][0])
			return usage_error(c, "create: --%s needs a value",
					   create_settings[i].option);
	return CONTINUE;
}

/*
 * Reads the features file of the configfs tree at @root into @features;
 * false if there is none (an older module: let the kernel decide).
 */
static bool read_features(const char *root, char *path, size_t pathlen,
			  char *features, size_t len)
{
	return path_join(path, pathlen, root, "features") == 0 &&
	       read_attr(path, features, len) >= 0;
}

/* Refuses options the module does not list in its features file. */
static int check_features(const char *const *values)
{
	char path[PATH_MAX], features[4096];
	size_t i;

	if (!read_features(configfs_root(), path, sizeof(path), features,
			   sizeof(features)))
		return 0;
	for (i = 0; i < ARRAY_SIZE(create_settings); i++) {
		if (!values[i] || !create_settings[i].in_features ||
		    word_in_list(features, create_settings[i].attr))
			continue;
		pr_err("this empblk module does not support --%s (\"%s\" is not listed in %s)",
		       create_settings[i].option, create_settings[i].attr, path);
		return -1;
	}
	return 0;
}

/* Undo a half-made configfs directory after a rejected write. */
static void rollback_dir(const char *name, const char *dir)
{
	if (rmdir(dir) < 0)
		pr_err("%s: could not remove %s after the failure: %s",
		       name, dir, strerror(errno));
}

static int create_device(const struct dev *d, const char *const *values)
{
	size_t i;
	int watch, r;

	watch = kmsg_watch();
	r = mkdir(d->cfg_dir, 0755) < 0 ? -errno : 0;
	if (r == -EEXIST)
		pr_err("%s already exists", d->name);
	else if (r < 0)
		pr_err("cannot create %s: %s", d->cfg_dir, strerror(-r));
	kmsg_unwatch(watch, r < 0 && r != -EEXIST);
	if (r < 0)
		return EXIT_FAIL;

	for (i = 0; i < ARRAY_SIZE(create_settings); i++) {
		if (!values[i])
			continue;
		r = dev_write(d, create_settings[i].attr, values[i], -EEXIST,
			      "cannot be enabled: an orphaned disk of that name is still open; it is deleted at its last close");
		if (r < 0) {
			rollback_dir(d->name, d->cfg_dir);
			return EXIT_FAIL;
		}
	}
	return EXIT_OK;
}

/* Keeps ^C from leaving a half-configured device behind. */
static int signals_block(sigset_t *old)
{
	sigset_t set;

	if (sigemptyset(&set) < 0 || sigaddset(&set, SIGINT) < 0 ||
	    sigaddset(&set, SIGTERM) < 0 || sigaddset(&set, SIGHUP) < 0 ||
	    sigaddset(&set, SIGQUIT) < 0 ||
	    sigprocmask(SIG_BLOCK, &set, old) < 0) {
		pr_err("cannot block signals: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int cmd_create(const struct cmd *c, int argc, char **argv)
{
	const char *values[ARRAY_SIZE(create_settings)] = { NULL };
	char size_mb[24];
	const char *why;
	struct dev d;
	sigset_t old;
	uint64_t mib;
	int rc;

	rc = create_parse(c, argc, argv, values);
	if (rc != CONTINUE)
		return rc;
	rc = dev_init(c, &d, argv[optind]);
	if (rc != CONTINUE)
		return rc;
	if (values[SETTING_SIZE]) {
		why = size_to_mib(values[SETTING_SIZE], &mib);
		if (why)
			return usage_error(c, "create: invalid --size '%s': %s",
					   values[SETTING_SIZE], why);
		snprintf(size_mb, sizeof(size_mb), "%" PRIu64, mib);
		values[SETTING_SIZE] = size_mb;
	}
	values[SETTING_ENABLE] = "1";

	if (check_module() < 0 || check_features(values) < 0)
		return EXIT_FAIL;
	if (signals_block(&old) < 0)
		return EXIT_FAIL;
	rc = create_device(&d, values);
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0) {
		pr_err("cannot restore the signal mask: %s", strerror(errno));
		rc = EXIT_FAIL;
	}
	return rc;
}

/* ---- destroy ----------------------------------------------------------- */

/* Common start of the commands taking one NAME. */
static int parse_name_cmd(const struct cmd *c, int argc, char **argv,
			  struct dev *d)
{
	int rc = parse_plain(c, argc, argv, 1, 1);

	if (rc != CONTINUE)
		return rc;
	rc = dev_init(c, d, argv[optind]);
	if (rc != CONTINUE)
		return rc;
	return check_module() < 0 ? EXIT_FAIL : CONTINUE;
}

static int cmd_destroy(const struct cmd *c, int argc, char **argv)
{
	char enable[16];
	struct dev d;
	int rc, r, watch;

	rc = parse_name_cmd(c, argc, argv, &d);
	if (rc != CONTINUE)
		return rc;
	r = is_dir(d.cfg_dir);
	if (r <= 0) {
		if (r < 0)
			pr_err("cannot access %s: %s", d.cfg_dir, strerror(-r));
		else
			no_such_device(&d);
		return EXIT_FAIL;
	}
	r = read_attr_at(d.cfg_dir, "enable", enable, sizeof(enable));
	if (r < 0) {
		pr_err("cannot read %s/enable: %s", d.cfg_dir, strerror(-r));
		return EXIT_FAIL;
	}
	if (strcmp(enable, "0") != 0 &&
	    dev_write(&d, "enable", "0", -EBUSY,
		      "is in use (active swap or mount?): swapoff/umount it first") < 0)
		return EXIT_FAIL;

	watch = kmsg_watch();
	r = rmdir(d.cfg_dir) < 0 ? -errno : 0;
	if (r == -EPERM)
		pr_err("%s was created by the module parameter mem_path=; it is disabled now and is removed when the module is unloaded",
		       d.name);
	else if (r < 0)
		pr_err("cannot remove %s: %s", d.name, strerror(-r));
	kmsg_unwatch(watch, r < 0 && r != -EPERM);
	return r < 0 && r != -EPERM ? EXIT_FAIL : EXIT_OK;
}

/* ---- show -------------------------------------------------------------- */

static void json_attrs(struct json *j, const char *key,
		       const struct attr_list *list)
{
	size_t i;

	json_key(j, key);
	json_object_begin(j);
	for (i = 0; i < list->n; i++) {
		json_key(j, list->v[i].name);
		json_auto(j, list->v[i].value);
	}
	json_object_end(j);
}

static int show_json(const struct dev *d)
{
	struct json j;

	json_begin(&j);
	json_object_begin(&j);
	json_key(&j, "name");
	json_string(&j, d->name);
	json_key(&j, "enabled");
	json_bool(&j, dev_enabled(d));
	json_attrs(&j, "config", &d->cfg);
	json_attrs(&j, "stats", &d->stats);
	json_opt_uint(&j, "capacity_bytes", d->has_capacity, d->capacity);
	json_object_end(&j);
	return json_end(&j);
}

/*
 * "  key:   value", values aligned after @width; a count of @unit bytes
 * (0: not a size) of at least 1024 units is also shown in binary units.
 */
static void print_kv_unit(const char *key, const char *value, int width,
			  uint64_t unit)
{
	char human[32];
	uint64_t v;
	int pad = width - (int)strlen(key);

	printf("  %s:%*s %s", key, pad > 0 ? pad : 0, "",
	       value[0] ? value : "(empty)");
	if (unit && parse_u64(value, &v) == 0 && v >= 1024 &&
	    v <= UINT64_MAX / unit) {
		fmt_bytes(v * unit, human, sizeof(human));
		printf(" (%s)", human);
	}
	putchar('\n');
}

/* print_kv_unit() for device attributes: bytes by their name. */
static void print_kv(const char *key, const char *value, int width)
{
	print_kv_unit(key, value, width, is_byte_count(key) ? 1 : 0);
}

static int key_width(const struct attr_list *list, int width)
{
	size_t i;
	int n;

	for (i = 0; i < list->n; i++) {
		n = (int)strlen(list->v[i].name);
		if (n > width)
			width = n;
	}
	return width;
}

static void print_attrs(const struct attr_list *list, int width)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		print_kv(list->v[i].name, list->v[i].value, width);
}

static int show_human(const struct dev *d)
{
	int width = key_width(&d->stats, key_width(&d->cfg,
						  (int)strlen("capacity_bytes")));
	char capacity[32];

	printf("%s (%s)\nConfig:\n", d->name, dev_state(d));
	if (d->has_cfg)
		print_attrs(&d->cfg, width);
	else
		printf("  (none: the configfs directory was removed)\n");
	printf("State:\n");
	if (d->has_capacity) {
		snprintf(capacity, sizeof(capacity), "%" PRIu64, d->capacity);
		print_kv("capacity_bytes", capacity, width);
	}
	if (d->has_stats)
		print_attrs(&d->stats, width);
	else if (!d->has_capacity)
		printf("  (no disk: the device is not enabled)\n");
	return EXIT_OK;
}

static int cmd_show(const struct cmd *c, int argc, char **argv)
{
	struct dev d;
	int rc;

	rc = parse_name_cmd(c, argc, argv, &d);
	if (rc != CONTINUE)
		return rc;
	dev_load(&d);
	if (!d.has_cfg && !d.has_stats) {
		if (!d.load_failed)
			no_such_device(&d);
		rc = EXIT_FAIL;
	} else {
		rc = opts.json ? show_json(&d) : show_human(&d);
		if (d.load_failed)
			rc = EXIT_FAIL;
	}
	dev_free(&d);
	return rc;
}

/* ---- list -------------------------------------------------------------- */

static int emp_name_filter(const struct dirent *e)
{
	unsigned int num;

	return emp_name_parse(e->d_name, &num);
}

/* Marks present[N] for each directory empblkN in @dir (symlinks followed). */
static int scan_devices(const char *dir, bool *present)
{
	struct dirent **ents;
	char path[PATH_MAX];
	unsigned int num;
	int n, i;

	n = scandir(dir, &ents, emp_name_filter, NULL);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		if (path_join(path, sizeof(path), dir, ents[i]->d_name) == 0 &&
		    is_dir(path) > 0 && emp_name_parse(ents[i]->d_name, &num))
			present[num] = true;
		free(ents[i]);
	}
	free(ents);
	return 0;
}

/* Devices in configfs, plus disks left orphaned in sysfs. */
static int list_scan(bool *present)
{
	int r = scan_devices(configfs_root(), present);

	if (r < 0) {
		pr_err("cannot list %s: %s", configfs_root(), strerror(-r));
		return -1;
	}
	r = scan_devices(sysfs_block(), present);
	if (r < 0 && r != -ENOENT) {
		pr_err("cannot list %s: %s", sysfs_block(), strerror(-r));
		return -1;
	}
	return 0;
}

enum { COL_NAME, COL_STATE, COL_MEM_PATH, COL_CAPACITY, COL_DRAM, NCOLS };

struct row {
	const char *cell[NCOLS];
	char capacity[32];
	char dram[32];
};

static void row_fill(struct row *row, const struct dev *d)
{
	const char *spec = dev_mem_path(d);
	const char *dram = attrs_get(&d->stats, "dram_used_bytes");
	uint64_t v;

	row->cell[COL_NAME] = d->name;
	row->cell[COL_STATE] = dev_state(d);
	row->cell[COL_MEM_PATH] = spec && spec[0] ? spec : "-";
	if (d->has_capacity)
		fmt_bytes(d->capacity, row->capacity, sizeof(row->capacity));
	else
		snprintf(row->capacity, sizeof(row->capacity), "-");
	row->cell[COL_CAPACITY] = row->capacity;
	if (dram && parse_u64(dram, &v) == 0)
		fmt_bytes(v, row->dram, sizeof(row->dram));
	else
		snprintf(row->dram, sizeof(row->dram), "%s", dram ? dram : "-");
	row->cell[COL_DRAM] = row->dram;
}

static void print_row(const char *const *cell, const int *width)
{
	int i;

	for (i = 0; i < NCOLS - 1; i++)
		printf("%-*s  ", width[i], cell[i]);
	printf("%s\n", cell[NCOLS - 1]);
}

static int list_human(struct dev *const *devs, size_t n)
{
	static const char *const head[NCOLS] = {
		"NAME", "STATE", "MEM_PATH", "CAPACITY", "DRAM_USED"
	};
	int width[NCOLS], i, len;
	struct row *rows;
	size_t k;

	if (n == 0)
		return EXIT_OK;
	rows = calloc(n, sizeof(*rows));
	if (!rows) {
		pr_err("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < NCOLS; i++)
		width[i] = (int)strlen(head[i]);
	for (k = 0; k < n; k++) {
		row_fill(&rows[k], devs[k]);
		for (i = 0; i < NCOLS; i++) {
			len = (int)strlen(rows[k].cell[i]);
			if (len > width[i])
				width[i] = len;
		}
	}
	print_row(head, width);
	for (k = 0; k < n; k++)
		print_row(rows[k].cell, width);
	free(rows);
	return EXIT_OK;
}

static int list_json(struct dev *const *devs, size_t n)
{
	const char *spec, *dram;
	struct json j;
	size_t k;

	json_begin(&j);
	json_array_begin(&j);
	for (k = 0; k < n; k++) {
		spec = dev_mem_path(devs[k]);
		dram = attrs_get(&devs[k]->stats, "dram_used_bytes");
		json_object_begin(&j);
		json_key(&j, "name");
		json_string(&j, devs[k]->name);
		json_key(&j, "state");
		json_string(&j, dev_state(devs[k]));
		json_key(&j, "mem_path");
		if (spec)
			json_string(&j, spec);
		else
			json_null(&j);
		json_opt_uint(&j, "capacity_bytes", devs[k]->has_capacity,
			      devs[k]->capacity);
		json_key(&j, "dram_used_bytes");
		if (dram)
			json_auto(&j, dram);
		else
			json_null(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	return json_end(&j);
}

static int cmd_list(const struct cmd *c, int argc, char **argv)
{
	bool present[EMP_MAX_DEVICES] = { false };
	struct dev *devs[EMP_MAX_DEVICES];
	char name[EMP_NAME_SIZE];
	bool failed = false;
	size_t n = 0, k;
	unsigned int num;
	int rc;

	rc = parse_plain(c, argc, argv, 0, 0);
	if (rc != CONTINUE)
		return rc;
	if (check_module() < 0 || list_scan(present) < 0)
		return EXIT_FAIL;
	for (num = 0; num < EMP_MAX_DEVICES; num++) {
		if (!present[num])
			continue;
		devs[n] = malloc(sizeof(**devs));
		if (!devs[n]) {
			pr_err("out of memory");
			failed = true;
			break;
		}
		snprintf(name, sizeof(name), EMP_PREFIX "%u", num);
		if (dev_init(c, devs[n], name) != CONTINUE) {
			free(devs[n]);
			failed = true;
			break;
		}
		dev_load(devs[n]);
		failed |= devs[n++]->load_failed;	/* reported; go on */
	}
	rc = opts.json ? list_json(devs, n) : list_human(devs, n);
	for (k = 0; k < n; k++) {
		dev_free(devs[k]);
		free(devs[k]);
	}
	return failed ? EXIT_FAIL : rc;
}

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

static int cmd_target_start(const struct cmd *c, int argc, char **argv)
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

static int cmd_target_stop(const struct cmd *c, int argc, char **argv)
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

static int cmd_target_show(const struct cmd *c, int argc, char **argv)
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

static int cmd_target_list(const struct cmd *c, int argc, char **argv)
{
	int rc = parse_plain(c, argc, argv, 0, 0);

	return rc == CONTINUE ? target_show_all() : rc;
}

/* ---- target dispatch --------------------------------------------------- */

static const struct cmd *find_target_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(target_cmds); i++)
		if (strcmp(target_cmds[i].name + strlen(TARGET_CMD), name) == 0)
			return &target_cmds[i];
	return NULL;
}

static void print_target_usage(FILE *fp)
{
	size_t i;

	fputs("Usage: empctl [OPTIONS] target COMMAND [ARGS]\n"
	      "Manage the donor ports of emp_rdma_target: a port lends memory\n"
	      "of this host to empblk clients over RDMA.\n\nCommands:\n", fp);
	for (i = 0; i < ARRAY_SIZE(target_cmds); i++)
		fprintf(fp, "  %-6s %s\n",
			target_cmds[i].name + strlen(TARGET_CMD),
			target_cmds[i].summary);
	fputs("\nRun 'empctl help target COMMAND' for the arguments of a command.\n",
	      fp);
}

static int cmd_target(const struct cmd *c, int argc, char **argv)
{
	const struct cmd *sub;

	(void)c;
	if (argc < 2) {
		pr_err("target: missing COMMAND");
		print_target_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		print_target_usage(stdout);
		return EXIT_OK;
	}
	sub = find_target_cmd(argv[1]);
	if (!sub) {
		pr_err("unknown command 'target %s'", argv[1]);
		fputs("Try 'empctl help target'.\n", stderr);
		return EXIT_USAGE;
	}
	argv[1] = argv[0];
	return sub->fn(sub, argc - 1, argv + 1);
}

/* ---- version, help, main ----------------------------------------------- */

static int print_version(void)
{
	struct json j;

	if (!opts.json) {
		printf("empctl %s\n", EMPCTL_VERSION);
		return EXIT_OK;
	}
	json_begin(&j);
	json_object_begin(&j);
	json_key(&j, "version");
	json_string(&j, EMPCTL_VERSION);
	json_object_end(&j);
	return json_end(&j);
}

static int cmd_version(const struct cmd *c, int argc, char **argv)
{
	int rc = parse_plain(c, argc, argv, 0, 0);

	return rc == CONTINUE ? print_version() : rc;
}

static const struct cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static int cmd_help(const struct cmd *c, int argc, char **argv)
{
	const struct cmd *topic;
	int rc = parse_plain(c, argc, argv, 0, 2);

	if (rc != CONTINUE)
		return rc;
	if (optind == argc) {
		print_usage(stdout);
		return EXIT_OK;
	}
	topic = find_cmd(argv[optind]);
	if (!topic)
		return usage_error(c, "unknown command '%s'", argv[optind]);
	if (topic->fn == cmd_target) {
		if (optind + 1 == argc) {
			print_target_usage(stdout);
			return EXIT_OK;
		}
		topic = find_target_cmd(argv[optind + 1]);
		if (!topic)
			return usage_error(c, "unknown command 'target %s'",
					   argv[optind + 1]);
	} else if (optind + 1 < argc) {
		return usage_error(c, "%s: unexpected argument '%s'", c->name,
				   argv[optind + 1]);
	}
	print_cmd_usage(topic, stdout);
	return EXIT_OK;
}

static int run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json",    no_argument, NULL, 'j' },
		{ "pretty",  no_argument, NULL, 'p' },
		{ "help",    no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd *cmd;
	int ch;

	while ((ch = getopt_long(argc, argv, "+jphV", options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			opts.pretty = true;
			/* fall through */
		case 'j':
			opts.json = true;
			break;
		case 'h':
			print_usage(stdout);
			return EXIT_OK;
		case 'V':
			return print_version();
		default:
			fputs("Try 'empctl help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	cmd = find_cmd(argv[optind]);
	if (!cmd) {
		pr_err("unknown command '%s'", argv[optind]);
		fputs("Try 'empctl help'.\n", stderr);
		return EXIT_USAGE;
	}
	/* getopt prefixes its messages with argv[0]: keep it "empctl". */
	argv[optind] = argv[0];
	return cmd->fn(cmd, argc - optind, argv + optind);
}

int main(int argc, char **argv)
{
	int rc;

	argv[0] = (char *)"empctl";
	rc = run(argc, argv);
	if (close_stdout() < 0 && rc == EXIT_OK)
		rc = EXIT_FAIL;
	return rc;
}
