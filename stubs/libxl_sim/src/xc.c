/*
 * xc.c: the libxenctrl calls the project uses, answered from the simulated
 * host: domain info lists in hypercall form, physical info, vCPU info.
 */
#include "sim_internal.h"

#include <stdio.h>

struct xc_interface_core {
    xentoollog_logger *lg;
    int own_logger;
    xc_error last_error;
};

static void set_error(xc_interface *xch, xc_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(xc_interface *xch, xc_error_code code, const char *fmt, ...)
{
    va_list al;
    va_start(al, fmt);
    xch->last_error.code = code;
    vsnprintf(xch->last_error.message, sizeof(xch->last_error.message), fmt, al);
    va_end(al);
    xtl_log(xch->lg, XTL_ERROR, -1, "xc", "%s", xch->last_error.message);
}

/* Injected faults on xc calls fail like a hypercall: -1 with errno set. */
static int fault_errno(const char *fn)
{
    int rc = xlsim__fault(fn);
    if (!rc)
        return 0;
    return rc == ERROR_NOMEM ? ENOMEM : rc == ERROR_INVAL ? EINVAL : EIO;
}

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    (void)dombuild_logger; (void)open_flags;
    if (xlsim__init()) {
        xlsim__flush(logger, "xc");
        errno = ENOENT;
        return NULL;
    }
    xlsim__lock();
    int e = fault_errno("xc_interface_open");
    xlsim__unlock();
    xlsim__flush(logger, "xc");
    if (e) {
        errno = e;
        return NULL;
    }
    xc_interface *xch = calloc(1, sizeof(*xch));
    if (!xch) {
        errno = ENOMEM;
        return NULL;
    }
    if (logger) {
        xch->lg = logger;
    } else {
        xch->lg = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_PROGRESS, 0);
        xch->own_logger = 1;
    }
    return xch;
}

int xc_interface_close(xc_interface *xch)
{
    if (!xch)
        return 0;
    if (xch->own_logger)
        xtl_logger_destroy(xch->lg);
    free(xch);
    return 0;
}

static void fill_domaininfo(const struct sim_dom *d, uint64_t now, xc_domaininfo_t *o)
{
    libxl_dominfo di;
    xlsim__dominfo(d, now, &di);
    memset(o, 0, sizeof(*o));
    o->domain = (domid_t)d->domid;
    uint32_t f = 0;
    if (di.shutdown)
        f |= XEN_DOMINF_shutdown |
             ((uint32_t)(d->shutdown_reason & XEN_DOMINF_shutdownmask) << XEN_DOMINF_shutdownshift);
    if (di.paused) f |= XEN_DOMINF_paused;
    if (di.blocked) f |= XEN_DOMINF_blocked;
    if (di.running) f |= XEN_DOMINF_running;
    if (d->type == LIBXL_DOMAIN_TYPE_HVM || d->type == LIBXL_DOMAIN_TYPE_PVH)
        f |= XEN_DOMINF_hvm_guest | XEN_DOMINF_hap;
    o->flags = f;
    o->tot_pages = di.current_memkb / 4;
    o->max_pages = di.max_memkb / 4;
    o->cpu_time = di.cpu_time;
    o->nr_online_vcpus = di.vcpu_online;
    o->max_vcpu_id = di.vcpu_max_id;
    o->ssidref = d->ssidref;
    memcpy(o->handle, d->uuid, 16);
    o->cpupool = d->cpupool;
    o->gpaddr_bits = di.gpaddr_bits;
}

int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain, unsigned int max_domains,
                          xc_domaininfo_t *info)
{
    struct sim_state *S = xlsim__S;
    xlsim__lock();
    int e = fault_errno("xc_domain_getinfolist");
    if (e) {
        xlsim__unlock();
        xlsim__flush(xch->lg, "xc");
        errno = e;
        return -1;
    }
    uint64_t now = xlsim__now();
    unsigned n = 0;
    for (uint32_t domid = first_domain; domid < XLSIM_NR_DOMIDS && n < max_domains; domid++) {
        if (!(S->live[domid / 64] >> (domid % 64) & 1)) {
            if (!S->live[domid / 64])
                domid |= 63;  /* skip an empty word */
            continue;
        }
        struct sim_dom *d = &S->dom[S->slot_of[domid]];
        xlsim__settle(d, now);
        fill_domaininfo(d, now, &info[n++]);
    }
    xlsim__unlock();
    xlsim__flush(xch->lg, "xc");
    return (int)n;
}

int xc_physinfo(xc_interface *xch, xc_physinfo_t *p)
{
    xlsim__lock();
    int e = fault_errno("xc_physinfo");
    if (!e) {
        const xlsim_host_config *c = &xlsim__S->cfg;
        memset(p, 0, sizeof(*p));
        p->threads_per_core = (uint32_t)c->threads_per_core;
        p->cores_per_socket = (uint32_t)(c->nr_cpus / c->nr_nodes / c->threads_per_core);
        p->nr_cpus = (uint32_t)c->nr_cpus;
        p->max_cpu_id = (uint32_t)c->nr_cpus - 1;
        p->nr_nodes = (uint32_t)c->nr_nodes;
        p->max_node_id = (uint32_t)c->nr_nodes - 1;
        p->cpu_khz = (uint32_t)c->cpu_khz;
        p->capabilities = XEN_SYSCTL_PHYSCAP_hvm | XEN_SYSCTL_PHYSCAP_pv |
                          XEN_SYSCTL_PHYSCAP_directio | XEN_SYSCTL_PHYSCAP_hap |
                          XEN_SYSCTL_PHYSCAP_shadow | XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share |
                          XEN_SYSCTL_PHYSCAP_gnttab_v1 | XEN_SYSCTL_PHYSCAP_gnttab_v2;
        p->total_pages = c->total_memkb / 4;
        p->free_pages = xlsim__free_kb(xlsim__now()) / 4;
        p->max_mfn = c->total_memkb / 4 - 1;
    }
    xlsim__unlock();
    xlsim__flush(xch->lg, "xc");
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

int xc_vcpu_getinfo(xc_interface *xch, uint32_t domid, uint32_t vcpu, xc_vcpuinfo_t *info)
{
    xlsim__lock();
    int e = fault_errno("xc_vcpu_getinfo");
    struct sim_dom *d = e ? NULL : xlsim__dom(domid);
    if (!e && !d)
        e = ESRCH;
    else if (!e && vcpu >= d->max_vcpus)
        e = EINVAL;
    if (!e) {
        uint64_t now = xlsim__now();
        xlsim__settle(d, now);
        int online = xlsim__cold(d)->vcpu[vcpu].online;
        int running = online && xlsim__accruing(d) && d->load_ppm > 0;
        memset(info, 0, sizeof(*info));
        info->vcpu = vcpu;
        info->online = (uint8_t)online;
        info->running = (uint8_t)running;
        info->blocked = (uint8_t)(online && !d->shutdown && !running &&
                                  (!d->pause_count || d->has_run));
        info->cpu_time = xlsim__vcpu_time(d, (int)vcpu, now);
        info->cpu = (uint32_t)xlsim__vcpu_cpu(d, (int)vcpu);
    }
    xlsim__unlock();
    xlsim__flush(xch->lg, "xc");
    if (e) {
        if (e == ESRCH || e == EINVAL)
            set_error(xch, XC_INTERNAL_ERROR, "xc_vcpu_getinfo: domain %u vcpu %u: %s", domid,
                      vcpu, strerror(e));
        errno = e;
        return -1;
    }
    return 0;
}

const xc_error *xc_get_last_error(xc_interface *xch)
{
    return &xch->last_error;
}

void xc_clear_last_error(xc_interface *xch)
{
    xch->last_error.code = XC_ERROR_NONE;
    xch->last_error.message[0] = 0;
}

const char *xc_error_code_to_desc(int code)
{
    switch (code) {
    case XC_ERROR_NONE: return "No error details";
    case XC_INTERNAL_ERROR: return "Internal error";
    case XC_INVALID_KERNEL: return "Invalid kernel";
    case XC_INVALID_PARAM: return "Invalid configuration";
    case XC_OUT_OF_MEMORY: return "Out of memory";
    }
    return "Unknown error code";
}
