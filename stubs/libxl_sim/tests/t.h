/*
 * t.h: the C tests' tiny harness: CHECK(cond) and CHECK_RC(expr, rc) report the
 * failing line and exit(1); helpers build a guest config the way xl does.
 */
#ifndef XLSIM_T_H
#define XLSIM_T_H

#include <libxl.h>
#include <libxl_utils.h>
#include <libxl_event.h>
#include <xenctrl.h>
#include <xlsim.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int t_checks;

#define CHECK(cond) do { \
    __atomic_fetch_add(&t_checks, 1, __ATOMIC_RELAXED); \
    if (!(cond)) { \
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        exit(1); \
    } \
} while (0)

#define CHECK_RC(expr, want) do { \
    long long got_ = (long long)(expr); \
    __atomic_fetch_add(&t_checks, 1, __ATOMIC_RELAXED); \
    if (got_ != (long long)(want)) { \
        fprintf(stderr, "%s:%d: %s returned %lld, expected %lld (%s)\n", __FILE__, __LINE__, \
                #expr, got_, (long long)(want), #want); \
        exit(1); \
    } \
} while (0)

#define T_DONE() do { printf("  %s: %d checks passed\n", __FILE__, t_checks); return 0; } while (0)

/* t_file("disk.img"): the path of an empty file made for the test (removed at exit).
 * libxl stats a local disk's file, so disks and media must name files that exist. */
#define T_MAX_FILES 16
static char t_files[T_MAX_FILES][128];
static int t_nfiles;
static char t_dir[] = "/tmp/xlsim-t-XXXXXX";

static void t_files_remove(void)
{
    for (int i = 0; i < t_nfiles; i++)
        unlink(t_files[i]);
    rmdir(t_dir);
}

static inline const char *t_file(const char *name)
{
    for (int i = 0; i < t_nfiles; i++)
        if (!strcmp(strrchr(t_files[i], '/') + 1, name))
            return t_files[i];
    if (!t_nfiles) {
        CHECK(mkdtemp(t_dir) != NULL);
        atexit(t_files_remove);
    }
    CHECK(t_nfiles < T_MAX_FILES && !strchr(name, '/'));
    char *path = t_files[t_nfiles];
    CHECK(snprintf(path, sizeof(t_files[0]), "%s/%s", t_dir, name) < (int)sizeof(t_files[0]));
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fclose(f);
    t_nfiles++;
    return path;
}

/* A logger that keeps only errors, on stderr, so failing tests explain themselves. */
static inline xentoollog_logger *t_logger(void)
{
    return (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
}

static inline libxl_ctx *t_ctx(xentoollog_logger *lg)
{
    libxl_ctx *ctx = NULL;
    CHECK_RC(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, lg), 0);
    CHECK(ctx != NULL);
    return ctx;
}

/* `name`, PV, memory in MiB, vcpus: as `xl create` builds it. */
static inline void t_config(libxl_domain_config *dc, const char *name, int mem_mib, int vcpus)
{
    libxl_domain_config_init(dc);
    dc->c_info.type = LIBXL_DOMAIN_TYPE_PV;
    dc->c_info.name = strdup(name);
    libxl_uuid_generate(&dc->c_info.uuid);  /* xl generates it; libxl would keep nil */
    libxl_domain_build_info_init_type(&dc->b_info, LIBXL_DOMAIN_TYPE_PV);
    dc->b_info.max_memkb = dc->b_info.target_memkb = (uint64_t)mem_mib * 1024;
    dc->b_info.max_vcpus = vcpus;
    dc->b_info.kernel = strdup("/boot/vmlinuz");
    dc->on_poweroff = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
    dc->on_reboot = LIBXL_ACTION_ON_SHUTDOWN_RESTART;
    dc->on_crash = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
}

static inline uint32_t t_create(libxl_ctx *ctx, const char *name, int mem_mib, int vcpus)
{
    libxl_domain_config dc;
    uint32_t domid = 0;
    t_config(&dc, name, mem_mib, vcpus);
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), 0);
    libxl_domain_config_dispose(&dc);
    return domid;
}

static inline void t_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Reset the host to defaults (fresh state for each test binary). */
static inline void t_reset(void)
{
    CHECK_RC(xlsim_host_configure(NULL), 0);
}

#endif
