/*
 * ctx.c: libxl contexts (thread-safe, any number per process, all seeing the
 * one simulated host), version information, child process mode.
 */
#include "sim_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void fill_version(libxl_version_info *v, const xlsim_host_config *cfg)
{
    char buf[128];
    libxl_version_info_init(v);
    v->xen_version_major = 4;
    v->xen_version_minor = 17;
    v->xen_version_extra = xlsim__strdup(".0");
    v->compiler = xlsim__strdup("gcc (Debian 12.2.0-14) 12.2.0");
    v->compile_by = xlsim__strdup("xlsim");
    v->compile_domain = xlsim__strdup("localdomain");
    v->compile_date = xlsim__strdup("Tue Jan  1 00:00:00 UTC 2024");
    v->capabilities = xlsim__strdup("xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64");
    v->changeset = xlsim__strdup("");
    v->virt_start = 0xffff800000000000ULL;
    v->pagesize = 4096;
    snprintf(buf, sizeof(buf), "placeholder dom0_mem=%lluM,max:%lluM dom0_max_vcpus=%d",
             (unsigned long long)(cfg->dom0_memkb / 1024),
             (unsigned long long)(cfg->dom0_memkb / 1024), cfg->dom0_vcpus);
    v->commandline = xlsim__strdup(buf);
    v->build_id = xlsim__strdup("");
}

int libxl_ctx_alloc(libxl_ctx **pctx, int version, unsigned flags, xentoollog_logger *lg)
{
    (void)flags;
    if (!pctx)
        return ERROR_INVAL;
    *pctx = NULL;
    if (version != LIBXL_VERSION)
        return ERROR_VERSION;
    if (xlsim__init()) {
        xlsim__flush(lg, "libxl");
        return ERROR_FAIL;
    }
    xlsim__lock();
    int rc = xlsim__fault("libxl_ctx_alloc");
    xlsim_host_config cfg = xlsim__S->cfg;
    xlsim__unlock();
    if (rc) {
        xlsim__flush(lg, "libxl");
        return rc;
    }

    libxl_ctx *ctx = xlsim__calloc(1, sizeof(*ctx));
    ctx->lg = lg;
    ctx->ifd = -1;
    ctx->fdr[0].fd = ctx->fdr[1].fd = -1;
    ctx->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ctx->efd < 0) {
        xtl_log(lg, XTL_ERROR, errno, "libxl", "cannot create the event fd");
        free(ctx);
        return ERROR_FAIL;
    }
    if (xlsim__bell_fd() >= 0)
        ctx->ifd = fcntl(xlsim__bell_fd(), F_DUPFD_CLOEXEC, 0);
    pthread_mutex_init(&ctx->lock, NULL);
    fill_version(&ctx->vinfo, &cfg);
    ctx->chld.chldowner = libxl_sigchld_owner_libxl;
    xlsim__ctx_register(ctx);
    xlsim__flush(lg, "libxl");
    *pctx = ctx;
    return 0;
}

int libxl_ctx_free(libxl_ctx *ctx)
{
    if (!ctx)
        return 0;
    xlsim__ctx_unregister(ctx);
    pthread_mutex_lock(&ctx->lock);
    for (int i = 0; i < 2; i++)
        if (ctx->fdr[i].registered && ctx->os.fd_deregister)
            ctx->os.fd_deregister(ctx->os_user, ctx->fdr[i].fd, ctx->fdr[i].for_app);
    pthread_mutex_unlock(&ctx->lock);
    xlsim__events_free(ctx);
    libxl_version_info_dispose(&ctx->vinfo);
    close(ctx->efd);
    if (ctx->ifd >= 0)
        close(ctx->ifd);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
    return 0;
}

const libxl_version_info *libxl_get_version_info(libxl_ctx *ctx)
{
    return &ctx->vinfo;
}

void xlsim__unlock_ctx(libxl_ctx *ctx)
{
    xlsim__unlock();
    xlsim__flush(ctx ? ctx->lg : NULL, "libxl");
}

/* ctx may be NULL here (libxl_cpu_bitmap_alloc(NULL, ...)), so make sure of the state. */
int libxl_get_max_cpus(libxl_ctx *ctx)
{
    if (xlsim__init())
        return ERROR_FAIL;
    xlsim__lock();
    int rc = xlsim__fault("libxl_get_max_cpus");
    int n = xlsim__S->cfg.nr_cpus;
    xlsim__unlock_ctx(ctx);
    return rc ? rc : n;
}

int libxl_get_online_cpus(libxl_ctx *ctx)
{
    return libxl_get_max_cpus(ctx);
}

int libxl_get_max_nodes(libxl_ctx *ctx)
{
    if (xlsim__init())
        return ERROR_FAIL;
    xlsim__lock();
    int n = xlsim__S->cfg.nr_nodes;
    xlsim__unlock_ctx(ctx);
    return n;
}

void libxl_childproc_setmode(libxl_ctx *ctx, const libxl_childproc_hooks *hooks, void *user)
{
    pthread_mutex_lock(&ctx->lock);
    if (hooks) {
        ctx->chld = *hooks;
    } else {
        memset(&ctx->chld, 0, sizeof(ctx->chld));
        ctx->chld.chldowner = libxl_sigchld_owner_libxl;
    }
    ctx->chld_user = user;
    pthread_mutex_unlock(&ctx->lock);
}

/* The simulator never forks, so no child can be ours. */
int libxl_childproc_reaped(libxl_ctx *ctx, pid_t pid, int status)
{
    (void)ctx; (void)pid; (void)status;
    return ERROR_UNKNOWN_CHILD;
}

void libxl_childproc_sigchld_occurred(libxl_ctx *ctx)
{
    (void)ctx;
}
