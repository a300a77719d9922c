/*
 * Syscalls Node does not expose and the image store needs: device nodes (overlay whiteouts
 * are 0/0 character devices), extended attributes (overlay's opaque marker, file
 * capabilities), and mount/umount2. Each function throws a JS Error carrying errno's code.
 * Also releaseMemory (native/memory.cc), for the daemon to hand back what a burst left free.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <stdio.h>

#define MAX_STR 65536

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s %s: %s", syscall, path ? path : "", strerror(err));
  napi_value code, message, error;
  const char *name = "EUNKNOWN";
  switch (err) {
    case ENOENT: name = "ENOENT"; break; case EEXIST: name = "EEXIST"; break;
    case EPERM: name = "EPERM"; break; case EACCES: name = "EACCES"; break;
    case EINVAL: name = "EINVAL"; break; case ENODATA: name = "ENODATA"; break;
    case ENOTSUP: name = "ENOTSUP"; break; case EBUSY: name = "EBUSY"; break;
    case ENOTDIR: name = "ENOTDIR"; break; case ERANGE: name = "ERANGE"; break;
    case ENOSPC: name = "ENOSPC"; break; case ELOOP: name = "ELOOP"; break;
  }
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_value errnoVal;
  napi_create_int32(env, -err, &errnoVal);
  napi_set_named_property(env, error, "errno", errnoVal);
  napi_throw(env, error);
  return NULL;
}

/* Reads string argument i into a malloc'd buffer; NULL (with an exception) on failure. */
static char *arg_str(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len >= MAX_STR) {
    napi_throw_type_error(env, NULL, "expected a string");
    return NULL;
  }
  char *s = malloc(len + 1);
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static int64_t arg_i64(napi_env env, napi_value v) {
  int64_t n = 0;
  napi_get_value_int64(env, v, &n);
  return n;
}

/* mknod(path, mode, major, minor) */
static napi_value Mknod(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = arg_str(env, argv[0]); if (!path) return NULL;
  mode_t mode = (mode_t)arg_i64(env, argv[1]);
  dev_t dev = makedev((unsigned)arg_i64(env, argv[2]), (unsigned)arg_i64(env, argv[3]));
  int rc = mknod(path, mode, dev);
  napi_value ret = NULL;
  if (rc != 0) ret = throw_errno(env, errno, "mknod", path);
  free(path);
  return ret;
}

/* lsetxattr(path, name, value: Buffer) */
static napi_value Lsetxattr(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = arg_str(env, argv[0]); if (!path) return NULL;
  char *name = arg_str(env, argv[1]); if (!name) { free(path); return NULL; }
  void *data = NULL; size_t len = 0;
  napi_get_buffer_info(env, argv[2], &data, &len);
  napi_value ret = NULL;
  if (lsetxattr(path, name, data, len, 0) != 0) ret = throw_errno(env, errno, "lsetxattr", path);
  free(path); free(name);
  return ret;
}

/* lgetxattr(path, name): Buffer | undefined when the attribute is absent */
static napi_value Lgetxattr(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = arg_str(env, argv[0]); if (!path) return NULL;
  char *name = arg_str(env, argv[1]); if (!name) { free(path); return NULL; }
  napi_value ret = NULL;
  char buf[65536];
  ssize_t n = lgetxattr(path, name, buf, sizeof buf);
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) napi_get_undefined(env, &ret);
    else ret = throw_errno(env, errno, "lgetxattr", path);
  } else {
    void *out; napi_create_buffer_copy(env, (size_t)n, buf, &out, &ret);
  }
  free(path); free(name);
  return ret;
}

/* llistxattr(path): string[] */
static napi_value Llistxattr(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = arg_str(env, argv[0]); if (!path) return NULL;
  napi_value arr; napi_create_array(env, &arr);
  char buf[65536];
  ssize_t n = llistxattr(path, buf, sizeof buf);
  if (n < 0) {
    int e = errno; napi_value ret = NULL;
    if (e == ENOTSUP) ret = arr; else ret = throw_errno(env, e, "llistxattr", path);
    free(path);
    return ret;
  }
  uint32_t i = 0;
  for (ssize_t off = 0; off < n; off += (ssize_t)strlen(buf + off) + 1) {
    napi_value s; napi_create_string_utf8(env, buf + off, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, i++, s);
  }
  free(path);
  return arr;
}

/*
 * mount(source, target, fstype, flags, data, cwd). When cwd is non-empty the mount runs in a
 * forked child that changes into cwd first, so that long overlay option strings can use
 * relative paths (the kernel caps the option string at one page) without changing the
 * daemon's own working directory.
 */
static napi_value Mount(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *src = arg_str(env, argv[0]); if (!src) return NULL;
  char *target = arg_str(env, argv[1]);
  char *fstype = arg_str(env, argv[2]);
  unsigned long flags = (unsigned long)arg_i64(env, argv[3]);
  char *data = arg_str(env, argv[4]);
  char *cwd = arg_str(env, argv[5]);
  int err = 0;
  if (cwd[0] == '\0') {
    if (mount(src, target, fstype[0] ? fstype : NULL, flags, data[0] ? data : NULL) != 0) err = errno;
  } else {
    pid_t pid = fork();
    if (pid == 0) {
      if (chdir(cwd) != 0) _exit(errno & 0xff);
      if (mount(src, target, fstype[0] ? fstype : NULL, flags, data[0] ? data : NULL) != 0) _exit(errno & 0xff);
      _exit(0);
    } else if (pid < 0) {
      err = errno;
    } else {
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
      if (!WIFEXITED(status)) err = EIO; else err = WEXITSTATUS(status);
    }
  }
  napi_value ret = NULL;
  if (err) ret = throw_errno(env, err, "mount", target);
  free(src); free(target); free(fstype); free(data); free(cwd);
  return ret;
}

/* umount2(target, flags) */
static napi_value Umount2(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *target = arg_str(env, argv[0]); if (!target) return NULL;
  int flags = (int)arg_i64(env, argv[1]);
  napi_value ret = NULL;
  if (umount2(target, flags) != 0) ret = throw_errno(env, errno, "umount2", target);
  free(target);
  return ret;
}

int berth_release_memory(void);

/* releaseMemory(): V8's low-memory collection, then malloc_trim(0); true if malloc gave any back. */
static napi_value ReleaseMemory(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value ret;
  napi_get_boolean(env, berth_release_memory() != 0, &ret);
  return ret;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "mknod", NULL, Mknod, NULL, NULL, NULL, napi_default, NULL },
    { "lsetxattr", NULL, Lsetxattr, NULL, NULL, NULL, napi_default, NULL },
    { "lgetxattr", NULL, Lgetxattr, NULL, NULL, NULL, napi_default, NULL },
    { "llistxattr", NULL, Llistxattr, NULL, NULL, NULL, napi_default, NULL },
    { "mount", NULL, Mount, NULL, NULL, NULL, napi_default, NULL },
    { "umount2", NULL, Umount2, NULL, NULL, NULL, napi_default, NULL },
    { "releaseMemory", NULL, ReleaseMemory, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
