// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim for test-empctl.sh: makes the directories of a plain
 * fake tree behave like the configfs ports of emp_rdma_target, which a
 * plain directory cannot imitate (mkdir creates no attribute files, rmdir
 * of a directory with files fails, a write does not replace the value).
 *
 *   EMPCTL_FAKE_PORTS   the fake ports directory; nothing else is touched
 *   EMPCTL_FAKE_LOG     file to append what empctl did, one line each:
 *                       "mkdir NAME", "NAME/ATTR=VALUE" ("... rejected"
 *                       if refused), "rmdir NAME"
 *   EMPCTL_FAKE_REJECT  ATTR: writes to it fail with EINVAL
 *
 * mkdir of PORTS/NAME creates the attribute files with the module's
 * defaults (configuration 0644, state 0444); a write replaces the value
 * (EBUSY for configuration while enabled, as the module does), and
 * "enable" sets "listening" (0 also ends the sessions); rmdir removes the
 * files first.
 *
 * Build: cc -shared -fPIC -o shim.so test-configfs-shim.c -ldl
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const config_defaults[][2] = {
	{ "addr", "" }, { "port", "19675" }, { "device", "" },
	{ "budget_mb", "0" }, { "enable", "0" },
};

static const char *const state_attrs[] = {
	"listening", "sessions", "chunks_in_use", "bytes_in_use",
	"sessions_total", "rejected_connects", "bad_messages",
	"chunks_allocated", "chunks_freed", "alloc_failures",
};

static void log_line(const char *fmt, ...)
{
	const char *path = getenv("EMPCTL_FAKE_LOG");
	va_list ap;
	FILE *fp;

	if (!path || !(fp = fopen(path, "a")))
		return;
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fputc('\n', fp);
	fclose(fp);
}

/* If @path is PORTS/NAME, copies NAME into @name. */
static bool port_of(const char *path, char *name, size_t size)
{
	const char *ports = getenv("EMPCTL_FAKE_PORTS");
	char real_ports[PATH_MAX], dir[PATH_MAX], real_dir[PATH_MAX];
	size_t len;
	char *slash;

	if (!ports || !realpath(ports, real_ports))
		return false;
	len = strlen(path);
	if (len == 0 || len >= sizeof(dir))
		return false;
	memcpy(dir, path, len + 1);
	while (len > 1 && dir[len - 1] == '/')
		dir[--len] = '\0';
	slash = strrchr(dir, '/');
	if (!slash || !slash[1] || strlen(slash + 1) >= size)
		return false;
	strcpy(name, slash + 1);
	if (slash == dir)
		strcpy(dir, "/");
	else
		*slash = '\0';
	return realpath(dir, real_dir) && strcmp(real_dir, real_ports) == 0;
}

/* If @fd is open on PORTS/NAME/ATTR, fills in its paths and names. */
static bool attr_of_fd(int fd, char *port_dir, char *name, char *attr)
{
	char link[64], path[PATH_MAX];
	ssize_t n;
	char *slash;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (!slash || slash == path || strlen(slash + 1) > NAME_MAX)
		return false;
	strcpy(attr, slash + 1);
	*slash = '\0';
	strcpy(port_dir, path);
	return port_of(port_dir, name, NAME_MAX + 1);
}

static void put_file(const char *dir, const char *attr, const char *value,
		     mode_t mode)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	chmod(path, 0644);
	fp = fopen(path, "w");
	if (fp) {
		fprintf(fp, "%s\n", value);
		fclose(fp);
	}
	chmod(path, mode);
}

static bool is_config(const char *attr)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(config_defaults); i++)
		if (strcmp(attr, config_defaults[i][0]) == 0)
			return true;
	return false;
}

static bool port_enabled(const char *dir)
{
	char path[PATH_MAX], buf[8] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "%s/enable", dir);
	fp = fopen(path, "r");
	if (!fp)
		return false;
	if (!fgets(buf, sizeof(buf), fp))
		buf[0] = '\0';
	fclose(fp);
	return buf[0] == '1';
}

int mkdir(const char *path, mode_t mode)
{
	static int (*real)(const char *, mode_t);
	char name[NAME_MAX + 1];
	size_t i;
	int r;

	if (!real)
		real = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
	r = real(path, mode);
	if (r == 0 && port_of(path, name, sizeof(name))) {
		for (i = 0; i < ARRAY_SIZE(config_defaults); i++)
			put_file(path, config_defaults[i][0],
				 config_defaults[i][1], 0644);
		for (i = 0; i < ARRAY_SIZE(state_attrs); i++)
			put_file(path, state_attrs[i], "0", 0444);
		log_line("mkdir %s", name);
	}
	return r;
}

int rmdir(const char *path)
{
	static int (*real)(const char *);
	char name[NAME_MAX + 1], file[PATH_MAX];
	struct dirent *e;
	bool port;
	DIR *d;
	int r;

	if (!real)
		real = (int (*)(const char *))dlsym(RTLD_NEXT, "rmdir");
	port = port_of(path, name, sizeof(name));
	if (port && (d = opendir(path))) {
		while ((e = readdir(d))) {
			snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
			if (e->d_type == DT_REG)
				unlink(file);
		}
		closedir(d);
	}
	r = real(path);
	if (r == 0 && port)
		log_line("rmdir %s", name);
	return r;
}

ssize_t write(int fd, const void *buf, size_t count)
{
	static ssize_t (*real)(int, const void *, size_t);
	char dir[PATH_MAX], name[NAME_MAX + 1], attr[NAME_MAX + 1];
	const char *reject = getenv("EMPCTL_FAKE_REJECT");
	char value[256];
	size_t len;

	if (!real)
		real = (ssize_t (*)(int, const void *, size_t))
			dlsym(RTLD_NEXT, "write");
	if (!attr_of_fd(fd, dir, name, attr))
		return real(fd, buf, count);
	len = count < sizeof(value) ? count : sizeof(value) - 1;
	memcpy(value, buf, len);
	value[len] = '\0';
	value[strcspn(value, "\n")] = '\0';
	if ((reject && strcmp(reject, attr) == 0) ||
	    (is_config(attr) && strcmp(attr, "enable") != 0 &&
	     port_enabled(dir))) {
		log_line("%s/%s=%s rejected", name, attr, value);
		errno = reject && strcmp(reject, attr) == 0 ? EINVAL : EBUSY;
		return -1;
	}
	log_line("%s/%s=%s", name, attr, value);
	put_file(dir, attr, value, 0644);
	if (strcmp(attr, "enable") == 0) {
		put_file(dir, "listening", value, 0444);
		if (strcmp(value, "0") == 0) {
			put_file(dir, "sessions", "0", 0444);
			put_file(dir, "chunks_in_use", "0", 0444);
			put_file(dir, "bytes_in_use", "0", 0444);
		}
	}
	return (ssize_t)count;
}
