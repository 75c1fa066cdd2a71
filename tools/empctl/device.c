// SPDX-License-Identifier: GPL-2.0
/*
 * empctl device commands: create, destroy, show and list empblk devices
 * through configfs-empblk (configuration) and sysfs-block-empblk (state).
 */
#define _GNU_SOURCE
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

#define SECTOR_SIZE	512ULL

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
	/* sysfs: /sys/block/empblkN/backends/<i>, donors then SSDs */
	struct attr_list backends[EMP_MAX_BACKENDS];
	size_t nr_backends;
};

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

/* The backends' directories, 0, 1, ... until one is missing. */
static void dev_load_backends(struct dev *d)
{
	char dir[PATH_MAX], name[16];
	bool present;

	while (d->nr_backends < EMP_MAX_BACKENDS) {
		snprintf(name, sizeof(name), "backends/%zu", d->nr_backends);
		if (path_join(dir, sizeof(dir), d->disk_dir, name) < 0)
			return;
		dev_load_dir(d, dir, &d->backends[d->nr_backends], &present);
		if (!present)
			return;
		d->nr_backends++;
	}
}

static void dev_load(struct dev *d)
{
	dev_load_dir(d, d->cfg_dir, &d->cfg, &d->has_cfg);
	dev_load_dir(d, d->emp_dir, &d->stats, &d->has_stats);
	dev_load_capacity(d);
	dev_load_backends(d);
}

static void dev_free(struct dev *d)
{
	size_t i;

	attrs_free(&d->cfg);
	attrs_free(&d->stats);
	for (i = 0; i < d->nr_backends; i++)
		attrs_free(&d->backends[i]);
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

/* sysfs's health (ok, degraded, lost), or NULL when it has none */
static const char *dev_health(const struct dev *d)
{
	return attrs_get(&d->stats, "health");
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
	{ "placement",     "placement",     true },
	{ "reconnect-delay", "reconnect_delay", true },
	{ "loss-timeout",  "loss_timeout",  true },
	{ "replicas",      "replicas",      true },
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

int cmd_create(const struct cmd *c, int argc, char **argv)
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

int cmd_destroy(const struct cmd *c, int argc, char **argv)
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
	size_t i, k;

	json_begin(&j);
	json_object_begin(&j);
	json_key(&j, "name");
	json_string(&j, d->name);
	json_key(&j, "enabled");
	json_bool(&j, dev_enabled(d));
	json_attrs(&j, "config", &d->cfg);
	json_attrs(&j, "stats", &d->stats);
	json_opt_uint(&j, "capacity_bytes", d->has_capacity, d->capacity);
	json_key(&j, "backends");
	json_array_begin(&j);
	for (i = 0; i < d->nr_backends; i++) {
		json_object_begin(&j);
		for (k = 0; k < d->backends[i].n; k++) {
			json_key(&j, d->backends[i].v[k].name);
			json_auto(&j, d->backends[i].v[k].value);
		}
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	return json_end(&j);
}

/* print_kv_unit() for device attributes: bytes by their name. */
static void print_kv(const char *key, const char *value, int width)
{
	print_kv_unit(key, value, width, is_byte_count(key) ? 1 : 0);
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
	size_t i;

	if (dev_health(d) && strcmp(dev_health(d), "ok") != 0)
		printf("%s (%s, %s)\nConfig:\n", d->name, dev_state(d),
		       dev_health(d));
	else
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
	for (i = 0; i < d->nr_backends; i++) {
		const char *kind = attrs_get(&d->backends[i], "kind");
		const char *target = attrs_get(&d->backends[i], "target");

		printf("Backend %zu: %s %s\n", i, kind ? kind : "?",
		       target ? target : "?");
		print_attrs(&d->backends[i], width);
	}
	return EXIT_OK;
}

int cmd_show(const struct cmd *c, int argc, char **argv)
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

enum {
	COL_NAME, COL_STATE, COL_HEALTH, COL_MEM_PATH, COL_CAPACITY, COL_DRAM,
	NCOLS
};

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
	row->cell[COL_HEALTH] = dev_health(d) ? dev_health(d) : "-";
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
		"NAME", "STATE", "HEALTH", "MEM_PATH", "CAPACITY", "DRAM_USED"
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
		json_key(&j, "health");
		if (dev_health(devs[k]))
			json_string(&j, dev_health(devs[k]));
		else
			json_null(&j);
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

int cmd_list(const struct cmd *c, int argc, char **argv)
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
