/*
 * shim.h: the binding's own C, compiled into both targets (set_source). It holds what must
 * stay in C: the va_list logger, accessors for libxl's anonymous unions, the osevent and
 * child-process hook tables, and flat copies of dominfo for the hot paths.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* extern "Python" callbacks (defined by cffi further down in this module). */
static void xlpy_log_cb(int level, int errnoval, const char *context, const char *msg);
static int xlpy_fd_register(void *user, int fd, short events, void *for_libxl);
static int xlpy_fd_modify(void *user, int token, int fd, short events);
static void xlpy_fd_deregister(void *user, int token, int fd);
static int xlpy_timeout_register(void *user, long sec, long usec, void *for_libxl);
static int xlpy_timeout_modify(void *user, int token, long sec, long usec);
static void xlpy_timeout_deregister(void *user, int token);

/* ---- allocation helpers: IDL dispose functions free() what they find. ---- */
static char *xlpy_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void *xlpy_calloc(size_t n, size_t size)
{
    return calloc(n, size);
}

/* ---- anonymous unions ---- */
typedef typeof(((libxl_domain_build_info *)0)->u.hvm) xlpy_build_info_hvm;
typedef typeof(((libxl_domain_build_info *)0)->u.pv) xlpy_build_info_pv;
typedef typeof(((libxl_domain_build_info *)0)->u.pvh) xlpy_build_info_pvh;
typedef typeof(((libxl_event *)0)->u.domain_shutdown) xlpy_event_domain_shutdown;

static xlpy_build_info_hvm *xlpy_b_info_hvm(libxl_domain_build_info *b) { return &b->u.hvm; }
static xlpy_build_info_pv *xlpy_b_info_pv(libxl_domain_build_info *b) { return &b->u.pv; }
static xlpy_build_info_pvh *xlpy_b_info_pvh(libxl_domain_build_info *b) { return &b->u.pvh; }
static xlpy_event_domain_shutdown *xlpy_event_shutdown(libxl_event *ev)
{
    return &ev->u.domain_shutdown;
}

/* ---- logger ---- */
typedef struct {
    xentoollog_logger vtable;   /* first: libxl sees a plain xentoollog_logger */
    volatile int min_level;
} xlpy_logger_t;

static void xlpy_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                          const char *context, const char *format, va_list al)
{
    char buf[2048];

    if ((int)level < ((xlpy_logger_t *)lg)->min_level)
        return;
    vsnprintf(buf, sizeof(buf), format, al);
    xlpy_log_cb((int)level, errnoval, context, buf);
}

static void xlpy_progress(xentoollog_logger *lg, const char *context, const char *doing_what,
                          int percent, unsigned long done, unsigned long total)
{
    (void)lg; (void)context; (void)doing_what; (void)percent; (void)done; (void)total;
}

static void xlpy_logger_destroy(xentoollog_logger *lg)
{
    free(lg);
}

static xentoollog_logger *xlpy_logger_new(int min_level)
{
    xlpy_logger_t *l = calloc(1, sizeof(*l));

    if (!l)
        return NULL;
    l->vtable.vmessage = xlpy_vmessage;
    l->vtable.progress = xlpy_progress;
    l->vtable.destroy = xlpy_logger_destroy;
    l->min_level = min_level;
    return &l->vtable;
}

static void xlpy_logger_set_min_level(xentoollog_logger *lg, int min_level)
{
    ((xlpy_logger_t *)lg)->min_level = min_level;
}

static void xlpy_logger_free(xentoollog_logger *lg)
{
    free(lg);
}

/* ---- osevent hooks: registrations live in Python, identified by an int token ---- */
static int xlpy_hook_fd_register(void *user, int fd, void **reg_out, short events,
                                 void *for_libxl)
{
    int token = xlpy_fd_register(user, fd, events, for_libxl);

    if (token <= 0)
        return ERROR_OSEVENT_REG_FAIL;
    *reg_out = (void *)(intptr_t)token;
    return 0;
}

static int xlpy_hook_fd_modify(void *user, int fd, void **reg_update, short events)
{
    return xlpy_fd_modify(user, (int)(intptr_t)*reg_update, fd, events) < 0
        ? ERROR_OSEVENT_REG_FAIL : 0;
}

static void xlpy_hook_fd_deregister(void *user, int fd, void *reg)
{
    xlpy_fd_deregister(user, (int)(intptr_t)reg, fd);
}

static int xlpy_hook_timeout_register(void *user, void **reg_out, struct timeval abs,
                                      void *for_libxl)
{
    int token = xlpy_timeout_register(user, (long)abs.tv_sec, (long)abs.tv_usec, for_libxl);

    if (token <= 0)
        return ERROR_OSEVENT_REG_FAIL;
    *reg_out = (void *)(intptr_t)token;
    return 0;
}

static int xlpy_hook_timeout_modify(void *user, void **reg_update, struct timeval abs)
{
    return xlpy_timeout_modify(user, (int)(intptr_t)*reg_update, (long)abs.tv_sec,
                               (long)abs.tv_usec) < 0 ? ERROR_OSEVENT_REG_FAIL : 0;
}

static void xlpy_hook_timeout_deregister(void *user, void *reg)
{
    xlpy_timeout_deregister(user, (int)(intptr_t)reg);
}

static const libxl_osevent_hooks xlpy_osevent_hooks = {
    .fd_register = xlpy_hook_fd_register,
    .fd_modify = xlpy_hook_fd_modify,
    .fd_deregister = xlpy_hook_fd_deregister,
    .timeout_register = xlpy_hook_timeout_register,
    .timeout_modify = xlpy_hook_timeout_modify,
    .timeout_deregister = xlpy_hook_timeout_deregister,
};

/* libvirt's choice: libxl reaps only the children it forked, so the application's own
 * children (Python's subprocess) are left alone. */
static const libxl_childproc_hooks xlpy_childproc_hooks = {
    .chldowner = libxl_sigchld_owner_libxl_always_selective_reap,
};

static void xlpy_ctx_setup(libxl_ctx *ctx, void *user)
{
    libxl_osevent_register_hooks(ctx, &xlpy_osevent_hooks, user);
    libxl_childproc_setmode(ctx, &xlpy_childproc_hooks, NULL);
}

static int xlpy_pred_for_user(const libxl_event *ev, void *user)
{
    return ev->for_user == *(const uint64_t *)user;
}

/* ---- flat dominfo ----
 * A packed record in the field order of the Python DomainInfo, unpacked in bulk with
 * struct.iter_unpack("<I36sI6?i6Q3IBi"): one C call per list instead of one cffi access per
 * field. The uuid is formatted here (lower-case, canonical). */
typedef struct __attribute__((packed)) {
    uint32_t domid;
    char uuid[36];
    uint32_t ssidref;
    uint8_t running, blocked, paused, shutdown, dying, never_stop;
    int32_t shutdown_reason;
    uint64_t outstanding_memkb, current_memkb, shared_memkb, paged_memkb, max_memkb, cpu_time;
    uint32_t vcpu_max_id, vcpu_online, cpupool;
    uint8_t gpaddr_bits;
    int32_t domain_type;
} xlpy_dominfo_flat;

static size_t xlpy_dominfo_flat_size(void)
{
    return sizeof(xlpy_dominfo_flat);
}

static void xlpy_flatten(const libxl_dominfo *d, xlpy_dominfo_flat *f)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = d->uuid.uuid;
    int i, o = 0;

    f->domid = d->domid;
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            f->uuid[o++] = '-';
        f->uuid[o++] = hex[u[i] >> 4];
        f->uuid[o++] = hex[u[i] & 15];
    }
    f->ssidref = d->ssidref;
    f->running = d->running;
    f->blocked = d->blocked;
    f->paused = d->paused;
    f->shutdown = d->shutdown;
    f->dying = d->dying;
    f->never_stop = d->never_stop;
    f->shutdown_reason = d->shutdown_reason;
    f->outstanding_memkb = d->outstanding_memkb;
    f->current_memkb = d->current_memkb;
    f->shared_memkb = d->shared_memkb;
    f->paged_memkb = d->paged_memkb;
    f->max_memkb = d->max_memkb;
    f->cpu_time = d->cpu_time;
    f->vcpu_max_id = d->vcpu_max_id;
    f->vcpu_online = d->vcpu_online;
    f->cpupool = d->cpupool;
    f->gpaddr_bits = d->gpaddr_bits;
    f->domain_type = d->domain_type;
}

static int xlpy_domain_info_flat(libxl_ctx *ctx, uint32_t domid, void *out)
{
    libxl_dominfo d;
    int rc;

    libxl_dominfo_init(&d);
    rc = libxl_domain_info(ctx, &d, domid);
    if (!rc)
        xlpy_flatten(&d, out);
    libxl_dominfo_dispose(&d);
    return rc;
}

/* Returns the count (*out malloc'd, release with free()), or a negative libxl error. */
static int xlpy_list_domain_flat(libxl_ctx *ctx, void **out)
{
    int i, n = 0;
    xlpy_dominfo_flat *flat;
    libxl_dominfo *list = libxl_list_domain(ctx, &n);

    *out = NULL;
    if (!list)
        return ERROR_FAIL;
    flat = malloc(sizeof(*flat) * (n ? n : 1));
    if (!flat) {
        libxl_dominfo_list_free(list, n);
        return ERROR_NOMEM;
    }
    for (i = 0; i < n; i++)
        xlpy_flatten(&list[i], &flat[i]);
    libxl_dominfo_list_free(list, n);
    *out = flat;
    return n;
}
