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
#include <time.h>

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

/* Per thread: messages at XTL_WARN and above handed to Python (which keeps exactly those in
 * its ring, _log.py), so a hot call can say how many lines its failure produced without
 * Python reading its log sequence before every call. */
static __thread unsigned xlpy_warnings;

static void xlpy_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                          const char *context, const char *format, va_list al)
{
    char buf[2048];

    if ((int)level < ((xlpy_logger_t *)lg)->min_level)
        return;
    if (level >= XTL_WARN)
        xlpy_warnings++;
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

/* On failure the record's first 4 bytes hold how many warning/error lines the call logged
 * in this thread (the last ones of _log's ring). */
static int xlpy_domain_info_flat(libxl_ctx *ctx, uint32_t domid, void *out)
{
    libxl_dominfo d;
    unsigned before = xlpy_warnings;
    uint32_t lines;
    int rc;

    libxl_dominfo_init(&d);
    rc = libxl_domain_info(ctx, &d, domid);
    if (!rc) {
        xlpy_flatten(&d, out);
    } else {
        lines = xlpy_warnings - before;
        memcpy(out, &lines, sizeof(lines));
    }
    libxl_dominfo_dispose(&d);
    return rc;
}

/* domain_info's state, one per thread: the cell of the context the thread's calls read
 * (chosen by xlpy_info_select; the cell holds the libxl_ctx, NULL once the context is
 * closed) and the packed record they write. One argument per call: cffi calls a
 * one-argument function without building an argument tuple (~45 ns less than two), and the
 * checks Python made on every call (open context, domid in range) are made here: a refused
 * call returns XLPY_INFO_REFUSED without calling libxl and Python raises the exact error. */
#define XLPY_INFO_REFUSED 1
#define XLPY_DOMID_MAX 0x7FEF

static __thread struct {
    libxl_ctx **cell;
    xlpy_dominfo_flat rec;
} xlpy_info_state;

/* This thread's next calls read the context in `cell`; returns this thread's record. */
static void *xlpy_info_select(libxl_ctx **cell)
{
    xlpy_info_state.cell = cell;
    return &xlpy_info_state.rec;
}

static int xlpy_domain_info_selected(uint32_t domid)
{
    libxl_ctx **cell = xlpy_info_state.cell;

    if (!cell || !*cell || domid > XLPY_DOMID_MAX)
        return XLPY_INFO_REFUSED;
    return xlpy_domain_info_flat(*cell, domid, &xlpy_info_state.rec);
}

/* Returns the count (*out malloc'd, release with free()), or a negative libxl error.
 * The records are written over libxl's own list when a record is no bigger than a
 * libxl_dominfo (both targets): a second allocation of the list's size came from fresh
 * pages on every call at 4,096 domains (~0.5 MB each, returned to the system on free),
 * and faulting them in cost more than the copy. Record i ends before entry i + 1 starts,
 * and entry i is copied out before record i is written over it. libxl allocates the list
 * with calloc and libxl_dominfo_list_free is dispose + free(), so free() releases it once
 * each entry is disposed. */
static int xlpy_list_domain_flat(libxl_ctx *ctx, void **out)
{
    int i, n = 0;
    xlpy_dominfo_flat *flat;
    libxl_dominfo d, *list = libxl_list_domain(ctx, &n);

    *out = NULL;
    if (!list)
        return ERROR_FAIL;
    if (sizeof(xlpy_dominfo_flat) <= sizeof(libxl_dominfo)) {
        flat = (xlpy_dominfo_flat *)(void *)list;
        for (i = 0; i < n; i++) {
            d = list[i];
            xlpy_flatten(&d, &flat[i]);
            libxl_dominfo_dispose(&d);
        }
        *out = list;
        return n;
    }
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

/* ---- domain samples (the metrics monitor) ----
 * One call reads what a metrics round needs of every domain: its dominfo, its vCPUs and the
 * counters of the devices (and guest agent) the caller asks for, as packed records that
 * Python unpacks with one cached struct per record layout (xenlight_py/sample.py holds the
 * formats). The device and guest counters come from the target's own source, defined after
 * this file: the simulator's control API (sim_shim.h) or sysfs (xen_shim.h). */
#define XLPY_VDEV_LEN 32

typedef struct __attribute__((packed)) {
    uint32_t domid;
    uint16_t ndisks, nnics;         /* followed by ndisks x char[XLPY_VDEV_LEN], nnics x int32 */
    uint8_t guest;                  /* 1: read the guest agent's counters too */
    uint8_t pad[3];
} xlpy_sample_req;

typedef struct __attribute__((packed)) {
    uint32_t domid;
    uint32_t size;                  /* of the whole record */
    int64_t cpu_stamp, stamp;       /* CLOCK_MONOTONIC ns after its vCPUs, after it all */
    xlpy_dominfo_flat info;
    int32_t nvcpus;                 /* -1: libxl_list_vcpu failed (the domain just died) */
    uint16_t ndisks, nnics;
    uint8_t guest;
} xlpy_sample_head;

typedef struct __attribute__((packed)) {
    uint32_t vcpuid, cpu;
    uint8_t online, blocked, running;
    uint64_t vcpu_time;             /* ns, bit 63 (XEN_RUNSTATE_UPDATE) masked */
} xlpy_sample_vcpu;

typedef struct __attribute__((packed)) {
    uint8_t ok;                     /* 0: the counters could not be read this round */
    uint64_t first, second;         /* disk: bytes read, written; nic: received, sent */
    char name[XLPY_VDEV_LEN];       /* disk: its vdev; nic: its devid in decimal */
} xlpy_sample_io;

typedef struct __attribute__((packed)) {
    uint8_t ok;
    uint64_t mem_total_kb, mem_free_kb;
    char os_name[64], os_kernel[64], ipv4[40];
} xlpy_sample_guest;

/* xvdX -> blkback's device number (202 << 8 | index << 4, or the extended form); -1 for
 * other names. */
static long xlpy_xvd_devnum(const char *vdev)
{
    long index = 0;
    const char *c;

    if (strncmp(vdev, "xvd", 3) || !vdev[3])
        return -1;
    for (c = vdev + 3; *c; c++) {
        if (*c < 'a' || *c > 'z' || index > (1L << 20))
            return -1;
        index = index * 26 + (*c - 'a' + 1);
    }
    index -= 1;
    return index < 16 ? (202L << 8) | (index << 4) : (1L << 28) | (index << 8);
}

static int xlpy_disk_counters(uint32_t domid, const char *vdev, uint64_t *rd, uint64_t *wr);
static int xlpy_nic_counters(uint32_t domid, int devid, uint64_t *rx, uint64_t *tx);
static int xlpy_guest_counters(uint32_t domid, xlpy_sample_guest *g);

static int64_t xlpy_monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t xlpy_req_size(const xlpy_sample_req *r)
{
    return sizeof(*r) + (size_t)r->ndisks * XLPY_VDEV_LEN + (size_t)r->nnics * sizeof(int32_t);
}

static int xlpy_req_cmp(const void *a, const void *b)
{
    uint32_t x = (*(const xlpy_sample_req *const *)a)->domid;
    uint32_t y = (*(const xlpy_sample_req *const *)b)->domid;

    return x < y ? -1 : x > y;
}

/* Makes room for `more` bytes at *len; 0 or ERROR_NOMEM. */
static int xlpy_grow(char **buf, size_t *cap, size_t len, size_t more)
{
    char *p;
    size_t c = *cap;

    if (len + more <= c)
        return 0;
    while (len + more > c)
        c = c ? c * 2 : 4096;
    p = realloc(*buf, c);
    if (!p)
        return ERROR_NOMEM;
    *buf = p;
    *cap = c;
    return 0;
}

/* One domain's record at buf + len; returns its size, or ERROR_NOMEM. */
static long xlpy_sample_one(libxl_ctx *ctx, const libxl_dominfo *d, const xlpy_sample_req *r,
                            char **buf, size_t *cap, size_t len)
{
    xlpy_sample_head h;
    libxl_vcpuinfo *vcpus;
    size_t start = len;
    int i, nb = 0, ncpus = 0;

    memset(&h, 0, sizeof(h));
    h.domid = d->domid;
    xlpy_flatten(d, &h.info);
    if (xlpy_grow(buf, cap, len, sizeof(h)))
        return ERROR_NOMEM;
    len += sizeof(h);
    vcpus = libxl_list_vcpu(ctx, d->domid, &nb, &ncpus);
    h.cpu_stamp = xlpy_monotonic_ns();
    if (!vcpus) {
        h.nvcpus = -1;
    } else {
        h.nvcpus = nb;
        if (xlpy_grow(buf, cap, len, (size_t)nb * sizeof(xlpy_sample_vcpu))) {
            libxl_vcpuinfo_list_free(vcpus, nb);
            return ERROR_NOMEM;
        }
        for (i = 0; i < nb; i++) {
            xlpy_sample_vcpu v;

            v.vcpuid = vcpus[i].vcpuid;
            v.cpu = vcpus[i].cpu;
            v.online = vcpus[i].online;
            v.blocked = vcpus[i].blocked;
            v.running = vcpus[i].running;
            v.vcpu_time = vcpus[i].vcpu_time & ~(UINT64_C(1) << 63);
            memcpy(*buf + len, &v, sizeof(v));
            len += sizeof(v);
        }
        libxl_vcpuinfo_list_free(vcpus, nb);
    }
    if (r && h.nvcpus >= 0) {
        const char *vdevs = (const char *)(r + 1);
        const char *devids = vdevs + (size_t)r->ndisks * XLPY_VDEV_LEN;
        size_t more = ((size_t)r->ndisks + r->nnics) * sizeof(xlpy_sample_io)
                      + (r->guest ? sizeof(xlpy_sample_guest) : 0);

        if (xlpy_grow(buf, cap, len, more))
            return ERROR_NOMEM;
        for (i = 0; i < r->ndisks + r->nnics; i++) {
            xlpy_sample_io io;
            char vdev[XLPY_VDEV_LEN + 1];
            int32_t devid = 0;
            uint64_t a = 0, b = 0;

            if (i < r->ndisks) {
                memcpy(vdev, vdevs + (size_t)i * XLPY_VDEV_LEN, XLPY_VDEV_LEN);
                vdev[XLPY_VDEV_LEN] = '\0';
                io.ok = !xlpy_disk_counters(d->domid, vdev, &a, &b);
            } else {
                memcpy(&devid, devids + (size_t)(i - r->ndisks) * sizeof(devid), sizeof(devid));
                io.ok = !xlpy_nic_counters(d->domid, devid, &a, &b);
            }
            io.first = io.ok ? a : 0;
            io.second = io.ok ? b : 0;
            memset(io.name, 0, sizeof(io.name));
            if (i < r->ndisks)
                memcpy(io.name, vdev, XLPY_VDEV_LEN);
            else
                snprintf(io.name, sizeof(io.name), "%d", (int)devid);
            memcpy(*buf + len, &io, sizeof(io));
            len += sizeof(io);
        }
        h.ndisks = r->ndisks;
        h.nnics = r->nnics;
        if (r->guest) {
            xlpy_sample_guest g;

            memset(&g, 0, sizeof(g));
            g.ok = !xlpy_guest_counters(d->domid, &g);
            memcpy(*buf + len, &g, sizeof(g));
            len += sizeof(g);
            h.guest = 1;
        }
    }
    h.stamp = xlpy_monotonic_ns();
    h.size = (uint32_t)(len - start);
    memcpy(*buf + start, &h, sizeof(h));
    return (long)h.size;
}

/* Every domain's record, in libxl_list_domain's order; `req` holds xlpy_sample_req entries
 * (any order, one per domain at most). Returns the count (*out malloc'd, *outlen bytes,
 * release with free()), or a negative libxl error. */
static int xlpy_sample_domains(libxl_ctx *ctx, const void *req, size_t reqlen, void **out,
                               size_t *outlen)
{
    const xlpy_sample_req **reqs = NULL, *key, **found;
    const char *p = req, *end = p + reqlen;
    libxl_dominfo *list;
    char *buf = NULL;
    size_t cap = 0, len = 0, nreq = 0, i;
    int n = 0, rc = 0;

    *out = NULL;
    *outlen = 0;
    for (i = 0; (size_t)(end - p) >= sizeof(xlpy_sample_req); i++) {
        size_t sz = xlpy_req_size((const xlpy_sample_req *)p);

        if (sz > (size_t)(end - p))
            return ERROR_INVAL;
        p += sz;
    }
    if (p != end)
        return ERROR_INVAL;
    nreq = i;
    if (nreq) {
        reqs = malloc(nreq * sizeof(*reqs));
        if (!reqs)
            return ERROR_NOMEM;
        for (p = req, i = 0; i < nreq; i++) {
            reqs[i] = (const xlpy_sample_req *)p;
            p += xlpy_req_size(reqs[i]);
        }
        qsort(reqs, nreq, sizeof(*reqs), xlpy_req_cmp);
    }
    list = libxl_list_domain(ctx, &n);
    if (!list) {
        free(reqs);
        return ERROR_FAIL;
    }
    for (i = 0; i < (size_t)n; i++) {
        xlpy_sample_req probe;
        long got;

        memset(&probe, 0, sizeof(probe));
        probe.domid = list[i].domid;
        key = &probe;
        found = nreq ? bsearch(&key, reqs, nreq, sizeof(*reqs), xlpy_req_cmp) : NULL;
        got = xlpy_sample_one(ctx, &list[i], found ? *found : NULL, &buf, &cap, len);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        len += (size_t)got;
    }
    libxl_dominfo_list_free(list, n);
    free(reqs);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = len;
    return n;
}

/* ---- derived metrics: a sample against the previous one ----
 * Per domain, in the sample's order: the rates a metrics round computes (vCPU utilisation,
 * device bytes/s) with Python's arithmetic (int deltas, correctly rounded divisions: the
 * same doubles), the values its records would show, rounded as it rounds them (the "store"
 * section, compared with the previous derivation's: `same`), and, when the domain's layout
 * is regular (vCPU i at index i), its time series values in the monitor's key order.
 * xenapi_impl/xen/monitor.py documents the layout it reads (its _DERIVED formats). */
typedef struct __attribute__((packed)) {
    uint32_t domid;
    uint32_t size;                  /* of the whole derived record */
    uint32_t sample_off;            /* its record in the sample */
    uint32_t store_size;
    uint16_t nseries;               /* doubles of the series section (0: not regular) */
    uint16_t nraw;                  /* doubles of the raw section: one per vCPU, two per device */
    uint8_t regular, same, guest_ok;
} xlpy_derived_head;

#define XLPY_NAN __builtin_nan("")

/* The record of `domid` in a buffer of records that each begin {domid, size} (samples and
 * derived records alike), of at least `head` bytes each; NULL if absent. Both buffers list
 * domains in libxl's (domid) order, so the record after *hint is usually the one. */
static const void *xlpy_record_find(const char *buf, size_t len, uint32_t domid,
                                    size_t *hint, size_t head)
{
    size_t off = *hint;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        while (off + head <= len) {
            uint32_t id, size;

            memcpy(&id, buf + off, sizeof id);
            memcpy(&size, buf + off + sizeof id, sizeof size);
            if (size < head)            /* malformed: would never advance */
                return NULL;
            if (id == domid) {
                *hint = off + size;
                return buf + off;
            }
            if (pass == 0 && id > domid)
                break;
            off += size;
        }
        off = 0;
    }
    return NULL;
}

static const xlpy_sample_head *xlpy_sample_find(const char *buf, size_t len, uint32_t domid,
                                                size_t *hint)
{
    return xlpy_record_find(buf, len, domid, hint, sizeof(xlpy_sample_head));
}

static const xlpy_derived_head *xlpy_derived_find(const char *buf, size_t len, uint32_t domid,
                                                  size_t *hint)
{
    return xlpy_record_find(buf, len, domid, hint, sizeof(xlpy_derived_head));
}

/* Python's round(x, digits) / float(f"{x:.{digits}g}"): both correctly rounded. */
static double xlpy_round(double x, const char *fmt)
{
    char text[64];

    snprintf(text, sizeof(text), fmt, x);
    return strtod(text, NULL);
}

static int xlpy_put(char **buf, size_t *cap, size_t *len, const void *p, size_t n)
{
    if (xlpy_grow(buf, cap, *len, n))
        return ERROR_NOMEM;
    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

static int xlpy_put_double(char **buf, size_t *cap, size_t *len, double x)
{
    return xlpy_put(buf, cap, len, &x, sizeof(x));
}

#define XLPY_PUT(p, n) do { if (xlpy_put(&out, &cap, &len, (p), (n))) goto nomem; } while (0)
#define XLPY_PUT_D(x) do { if (xlpy_put_double(&out, &cap, &len, (x))) goto nomem; } while (0)

/* Whether buf holds whole sample records, each of the size its counts make (what
 * xlpy_sample_domains writes). */
static int xlpy_sample_valid(const char *buf, size_t len)
{
    size_t off = 0;

    while (off < len) {
        const xlpy_sample_head *h = (const xlpy_sample_head *)(buf + off);
        size_t want;

        if (len - off < sizeof(*h) || h->nvcpus < -1 ||
            (h->nvcpus < 0 && (h->ndisks || h->nnics || h->guest)) || h->guest > 1)
            return 0;
        want = sizeof(*h) + (size_t)(h->nvcpus > 0 ? h->nvcpus : 0) * sizeof(xlpy_sample_vcpu)
               + ((size_t)h->ndisks + h->nnics) * sizeof(xlpy_sample_io)
               + (h->guest ? sizeof(xlpy_sample_guest) : 0);
        if (h->size != want || want > len - off)
            return 0;
        off += want;
    }
    return 1;
}

static int xlpy_derived_valid(const char *buf, size_t len)
{
    size_t off = 0;

    while (off < len) {
        const xlpy_derived_head *h = (const xlpy_derived_head *)(buf + off);
        size_t want;

        if (len - off < sizeof(*h))
            return 0;
        want = sizeof(*h) + (size_t)h->store_size + 8 * ((size_t)h->nseries + h->nraw);
        if (h->size != want || want > len - off)
            return 0;
        off += want;
    }
    return 1;
}

/* Returns the count of records (*out malloc'd, *outlen bytes; free()), ERROR_INVAL when a
 * buffer is not what xlpy_sample_domains / this function wrote, or ERROR_NOMEM.
 * pcpu[nr_cpus]: each pCPU's summed utilisation of the vCPUs on it (not capped); load[0]:
 * the sum of every utilisation, both summed in the monitor's order; load[1]: how many. */
static int xlpy_sample_derive(const void *prev, size_t prevlen, const void *cur, size_t curlen,
                              const void *prevd, size_t prevdlen, int nr_cpus, double *pcpu,
                              double *load, void **outp, size_t *outlen)
{
    const char *pb = prev, *cb = cur, *db = prevd;
    char *out = NULL, *scratch = NULL;
    size_t cap = 0, len = 0, coff = 0, phint = 0, dhint = 0, scap = 0;
    double total = 0.0;
    int n = 0, i, j;

    *outp = NULL;
    *outlen = 0;
    load[0] = load[1] = 0.0;
    for (i = 0; i < nr_cpus; i++)
        pcpu[i] = 0.0;
    if (!xlpy_sample_valid(cb, curlen) || (pb && !xlpy_sample_valid(pb, prevlen)) ||
        (db && !xlpy_derived_valid(db, prevdlen)))
        return ERROR_INVAL;
    while (coff + sizeof(xlpy_sample_head) <= curlen) {
        const xlpy_sample_head *h = (const xlpy_sample_head *)(cb + coff);
        const xlpy_sample_head *p = prev ? xlpy_sample_find(pb, prevlen, h->domid, &phint)
                                         : NULL;
        const xlpy_sample_vcpu *vc = (const xlpy_sample_vcpu *)(h + 1);
        int nv = h->nvcpus > 0 ? h->nvcpus : 0, ndev = h->ndisks + h->nnics;
        const xlpy_sample_io *io = (const xlpy_sample_io *)(vc + nv);
        const xlpy_sample_guest *g = h->guest ? (const xlpy_sample_guest *)(io + ndev) : NULL;
        const xlpy_sample_vcpu *pvc = NULL;
        const xlpy_sample_io *pio = NULL;
        int pnv = 0, pndev = 0, pndisks = 0;
        double *util, *rates, dsum = 0.0;
        int *has;
        xlpy_derived_head dh;
        size_t start = len, sstart;
        uint64_t memory = h->info.current_memkb * 1024;
        uint32_t online = h->info.vcpu_online;
        int regular = h->nvcpus >= 0;
        size_t need = (size_t)(nv + 2 * ndev) * sizeof(double) + (size_t)nv * sizeof(int);

        if (need > scap) {      /* per-record working arrays, kept for the next records */
            char *grown = realloc(scratch, need);

            if (!grown)
                goto nomem;
            scratch = grown;
            scap = need;
        }
        util = (double *)scratch;
        rates = util + nv;
        has = (int *)(rates + 2 * ndev);
        if (p && memcmp(p->info.uuid, h->info.uuid, sizeof(h->info.uuid)))
            p = NULL;               /* a new domain reusing the domid */
        if (p && p->nvcpus >= 0) {
            pnv = p->nvcpus;
            pvc = (const xlpy_sample_vcpu *)(p + 1);
            pio = (const xlpy_sample_io *)(pvc + pnv);
            pndev = p->ndisks + p->nnics;
            pndisks = p->ndisks;
        }
        /* vCPU utilisation (stats.utilisation, capped at 1): online vCPUs seen online in
         * the previous sample of the same domain */
        for (i = 0; i < nv; i++) {
            util[i] = XLPY_NAN;
            has[i] = 0;
            if (!vc[i].online || !pvc)
                continue;
            for (j = 0; j < pnv; j++) {
                if (pvc[j].vcpuid == vc[i].vcpuid && pvc[j].online) {
                    int64_t wall = h->cpu_stamp - p->cpu_stamp;
                    int64_t d = (int64_t)vc[i].vcpu_time - (int64_t)pvc[j].vcpu_time;
                    double x = wall <= 0 || d < 0 ? 0.0 : (double)d / (double)wall;

                    util[i] = x < 1.0 ? x : 1.0;
                    has[i] = 1;
                    break;
                }
            }
        }
        /* device rates: the same device (kind and name) read in the previous sample, its
         * counters not reset */
        for (i = 0; i < ndev; i++) {
            rates[2 * i] = rates[2 * i + 1] = XLPY_NAN;
            if (!io[i].ok || !pio || h->stamp <= p->stamp)
                continue;
            for (j = i < h->ndisks ? 0 : pndisks; j < (i < h->ndisks ? pndisks : pndev); j++) {
                if (pio[j].ok && !memcmp(pio[j].name, io[i].name, XLPY_VDEV_LEN)) {
                    if (io[i].first >= pio[j].first && io[i].second >= pio[j].second) {
                        double dt = (double)(h->stamp - p->stamp) / 1e9;

                        rates[2 * i] = (double)(io[i].first - pio[j].first) / dt;
                        rates[2 * i + 1] = (double)(io[i].second - pio[j].second) / dt;
                    }
                    break;
                }
            }
        }
        /* the host's pCPUs and load: in the monitor's order (domains, then vCPUs) */
        for (i = 0; i < nv; i++) {
            if (!has[i])
                continue;
            if (vc[i].cpu < (uint32_t)nr_cpus)
                pcpu[vc[i].cpu] += util[i];
            dsum += util[i];
            load[1] += 1;
        }
        if (h->nvcpus >= 0)
            total += dsum;
        for (i = 0; i < nv && regular; i++)
            if (vc[i].vcpuid != (uint32_t)i || (has[i] && vc[i].vcpuid >= online))
                regular = 0;
        if (online > (uint32_t)nv)
            regular = 0;

        memset(&dh, 0, sizeof(dh));
        if (xlpy_grow(&out, &cap, len, sizeof(dh)))
            goto nomem;
        len += sizeof(dh);
        /* store section: what the records show (VM_metrics, VBD/VIF_metrics, guest) */
        sstart = len;
        XLPY_PUT(&memory, sizeof(memory));
        XLPY_PUT(&online, sizeof(online));
        for (i = 0; i < nv; i++) {
            double r = has[i] ? xlpy_round(util[i], "%.3f") : 0.0;

            if (!vc[i].online)
                continue;
            XLPY_PUT(&vc[i].vcpuid, sizeof(vc[i].vcpuid));
            XLPY_PUT(&vc[i].cpu, sizeof(vc[i].cpu));
            XLPY_PUT(&vc[i].blocked, 1);
            XLPY_PUT(&vc[i].running, 1);
            XLPY_PUT(&has[i], sizeof(has[i]));
            XLPY_PUT_D(r);
        }
        for (i = 0; i < ndev; i++) {
            uint8_t ok = rates[2 * i] == rates[2 * i];

            XLPY_PUT(&ok, 1);
            XLPY_PUT_D(ok ? xlpy_round(rates[2 * i] / 1024, "%.3g") : 0.0);
            XLPY_PUT_D(ok ? xlpy_round(rates[2 * i + 1] / 1024, "%.3g") : 0.0);
        }
        if (g)
            XLPY_PUT(g, sizeof(*g));
        dh.store_size = (uint32_t)(len - sstart);
        /* series section, regular domains: memory, cpu0..cpu<online-1>, per disk read,
         * write and both in MiB/s, per nic rx and tx, the guest's free memory */
        if (regular) {
            size_t before = len;

            XLPY_PUT_D((double)memory);
            for (i = 0; i < (int)online; i++)
                XLPY_PUT_D(util[i]);
            for (i = 0; i < ndev; i++) {
                XLPY_PUT_D(rates[2 * i]);
                XLPY_PUT_D(rates[2 * i + 1]);
                if (i < h->ndisks) {
                    XLPY_PUT_D(rates[2 * i] / (1 << 20));
                    XLPY_PUT_D(rates[2 * i + 1] / (1 << 20));
                }
            }
            if (g && g->ok)
                XLPY_PUT_D((double)g->mem_free_kb);
            dh.nseries = (uint16_t)((len - before) / sizeof(double));
        }
        /* raw section: utilisation per vCPU, rates per device (NaN: none) */
        for (i = 0; i < nv; i++)
            XLPY_PUT_D(util[i]);
        for (i = 0; i < 2 * ndev; i++)
            XLPY_PUT_D(rates[i]);
        dh.nraw = (uint16_t)(nv + 2 * ndev);
        dh.domid = h->domid;
        dh.sample_off = (uint32_t)coff;
        dh.regular = (uint8_t)regular;
        dh.guest_ok = g && g->ok;
        if (prevd) {
            const xlpy_derived_head *pd = xlpy_derived_find(db, prevdlen, h->domid, &dhint);

            dh.same = pd && pd->store_size == dh.store_size &&
                      !memcmp(pd + 1, out + sstart, dh.store_size);
        }
        dh.size = (uint32_t)(len - start);
        memcpy(out + start, &dh, sizeof(dh));
        coff += h->size;
        n++;
    }
    free(scratch);
    load[0] = total;
    *outp = out;
    *outlen = len;
    return n;
nomem:
    free(scratch);
    free(out);
    return ERROR_NOMEM;
}
