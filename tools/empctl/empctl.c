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
 *
 * This file: main(), the command tables, usage, help and version, and the
 * helpers the commands share. The device commands are in device.c, the
 * donor-port commands ("empctl target ...") in target.c.
 */
#define _GNU_SOURCE
#include <ctype.h>
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

#include "empctl.h"

#ifndef EMPCTL_VERSION
#define EMPCTL_VERSION "unknown"
#endif

struct empctl_opts opts;

/* ---- output helpers ---------------------------------------------------- */

void fmt_bytes(uint64_t bytes, char *buf, size_t size)
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

bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Attributes whose unit is bytes, by the naming of the ABI: "bytes" as a
 * word of the name (read_bytes, bytes_in_use, remote_bytes_in_use) or a
 * "_size" suffix.
 */
bool is_byte_count(const char *key)
{
	return ends_with(key, "_bytes") || ends_with(key, "_size") ||
	       strncmp(key, "bytes_", 6) == 0 || strstr(key, "_bytes_");
}

void json_begin(struct json *j)
{
	json_init(j, stdout, opts.pretty);
}

int json_end(struct json *j)
{
	if (json_finish(j) < 0) {
		pr_err("cannot write JSON output");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

void json_opt_uint(struct json *j, const char *key, bool has,
		   uint64_t v)
{
	json_key(j, key);
	if (has)
		json_uint(j, v);
	else
		json_null(j);
}

/*
 * "  key:   value", values aligned after @width; a count of @unit bytes
 * (0: not a size) of at least 1024 units is also shown in binary units.
 */
void print_kv_unit(const char *key, const char *value, int width,
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

int key_width(const struct attr_list *list, int width)
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

static int close_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		pr_err("write error: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- usage ------------------------------------------------------------- */

static int cmd_version(const struct cmd *c, int argc, char **argv);
static int cmd_help(const struct cmd *c, int argc, char **argv);
static int cmd_target(const struct cmd *c, int argc, char **argv);

#define MEM_PATH_HELP \
	"  --mem-path SPEC        backing tiers (required), separated by '|'\n" \
	"                         or ',': dram:MB; donors IP:MB:PORT\n" \
	"                         ([IPv6]:MB:PORT) or SSDs /dev/DEV:MB:OFFSET\n" \
	"                         (MiB), their capacities added; dram:MB with\n" \
	"                         donors or SSDs is a write-back cache\n" \
	"                         before them;\n" \
	"                         e.g. dram:512, '/dev/nvme0n1:65536:0' or\n" \
	"                         'dram:64|10.0.0.1:1024:19675|10.0.0.2:1024:19675'\n"

static const struct cmd cmds[] = {
	{ "create", cmd_create,
	  "NAME --mem-path SPEC [--block-size SIZE] [--subblock-size SIZE]\n"
	  "                     [--size SIZE] [--queue-depth N] [--poll-queues N]\n"
	  "                     [--ack-timeout N] [--placement POLICY]\n"
	  "                     [--reconnect-delay S] [--loss-timeout S]\n"
	  "                     [--replicas N]",
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
	  "  --placement POLICY     where data go on donors and SSDs:\n"
	  "                         distribute (default: all, by capacity),\n"
	  "                         sequential (one after another) or\n"
	  "                         fastest-first (donors, then SSDs)\n"
	  "  --reconnect-delay S    seconds between attempts to reconnect a\n"
	  "                         lost donor, 1..3600 (default 10)\n"
	  "  --loss-timeout S       seconds a lost donor may take to come back,\n"
	  "                         its I/O held, before its I/O fails,\n"
	  "                         0..86400 (default 600; 0: at once)\n"
	  "  --replicas N           copies of the data, each on a different\n"
	  "                         donor or SSD: 1 (default) or 2; the\n"
	  "                         device then serves with one backend lost\n"
	  "  -h, --help             show this help\n"
	  "Unset options keep the module defaults. On any error the device\n"
	  "is removed again.\n" },
	{ "destroy", cmd_destroy, "NAME",
	  "Disable device NAME and remove it.", NULL },
	{ "list", cmd_list, "",
	  "List all devices: name, state, health, mem_path, capacity, DRAM\n"
	  "used.",
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

void print_cmd_usage(const struct cmd *c, FILE *fp)
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
int usage_error(const struct cmd *c, const char *fmt, ...)
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
int parse_plain(const struct cmd *c, int argc, char **argv,
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

const char *env_path(const char *var, const char *def)
{
	const char *v = getenv(var);

	return v && v[0] ? v : def;
}

/* --size: K/M/G/T suffix, none means MiB; must be whole MiB. */
const char *size_to_mib(const char *s, uint64_t *mib)
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

/* ---- kernel state ------------------------------------------------------ */

/*
 * Explains why @root, the configfs directory of @module, is missing; 0 if
 * it is there.
 */
int check_module_at(const char *root, const char *module)
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

/*
 * Reads the features file of the configfs tree at @root into @features;
 * false if there is none (an older module: let the kernel decide).
 */
bool read_features(const char *root, char *path, size_t pathlen,
		   char *features, size_t len)
{
	return path_join(path, pathlen, root, "features") == 0 &&
	       read_attr(path, features, len) >= 0;
}

/* Undo a half-made configfs directory after a rejected write. */
void rollback_dir(const char *name, const char *dir)
{
	if (rmdir(dir) < 0)
		pr_err("%s: could not remove %s after the failure: %s",
		       name, dir, strerror(errno));
}

/* Keeps ^C from leaving a half-configured device or port behind. */
int signals_block(sigset_t *old)
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
