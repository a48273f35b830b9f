/*
 * query.c: read-only views of the simulated host: domain lists and info, vCPU
 * info, physical info, free memory, names. O(n) over live domains, no syscall
 * beyond the lock.
 */
#include "sim_internal.h"

#include <stdio.h>

libxl_dominfo *libxl_list_domain(libxl_ctx *ctx, int *nb_domain_out)
{
    struct sim_state *S = xlsim__S;
    *nb_domain_out = 0;
    xlsim__lock();
    int rc = xlsim__fault("libxl_list_domain");
    if (rc) {
        xlsim__unlock_ctx(ctx);
        return NULL;
    }
    uint64_t now = xlsim__now();
    libxl_dominfo *list = malloc(sizeof(*list) * S->ndoms);
    if (!list) {
        LOG(ERROR, "libxl_list_domain: out of memory");
        xlsim__unlock_ctx(ctx);
        return NULL;
    }
    int n = 0;
    for (size_t w = 0; w < sizeof(S->live) / sizeof(S->live[0]); w++) {
        uint64_t bits = S->live[w];
        while (bits) {
            int b = __builtin_ctzll(bits);
            bits &= bits - 1;
            struct sim_dom *d = &S->dom[S->slot_of[w * 64 + (size_t)b]];
            xlsim__settle(d, now);
            xlsim__dominfo(d, now, &list[n++]);
        }
    }
    xlsim__unlock_ctx(ctx);
    *nb_domain_out = n;
    return list;
}

void libxl_dominfo_list_free(libxl_dominfo *list, int nb_domain)
{
    if (!list)
        return;
    for (int i = 0; i < nb_domain; i++)
        libxl_dominfo_dispose(&list[i]);
    free(list);
}

int libxl_domain_info(libxl_ctx *ctx, libxl_dominfo *info_r, uint32_t domid)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_domain_info");
    if (!rc) {
        struct sim_dom *d = xlsim__dom(domid);
        if (!d) {
            rc = ERROR_DOMAIN_NOTFOUND;
        } else if (info_r) {
            uint64_t now = xlsim__now();
            xlsim__settle(d, now);
            xlsim__dominfo(d, now, info_r);
        }
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}

static void fill_cpumap(libxl_bitmap *bm, const uint8_t *src, int nr_cpus)
{
    libxl_bitmap_init(bm);
    libxl_bitmap_alloc(NULL, bm, nr_cpus);
    memcpy(bm->map, src, bm->size);
    /* Clear the bits past nr_cpus in the last byte. */
    if (nr_cpus % 8)
        bm->map[bm->size - 1] &= (uint8_t)((1u << (nr_cpus % 8)) - 1);
}

libxl_vcpuinfo *libxl_list_vcpu(libxl_ctx *ctx, uint32_t domid, int *nb_vcpu, int *nr_cpus_out)
{
    *nb_vcpu = 0;
    xlsim__lock();
    int rc = xlsim__fault("libxl_list_vcpu");
    struct sim_dom *d = rc ? NULL : xlsim__dom(domid);
    if (!d) {
        if (!rc)
            LOGD(ERROR, domid, "Getting infolist: no such domain");
        xlsim__unlock_ctx(ctx);
        return NULL;
    }
    uint64_t now = xlsim__now();
    xlsim__settle(d, now);
    int nr_cpus = xlsim__S->cfg.nr_cpus;
    libxl_vcpuinfo *list = xlsim__calloc(d->max_vcpus, sizeof(*list));
    struct sim_dom_cold *c = xlsim__cold(d);
    int dom_running = xlsim__accruing(d) && d->load_ppm > 0;
    for (uint32_t v = 0; v < d->max_vcpus; v++) {
        libxl_vcpuinfo *o = &list[v];
        o->vcpuid = v;
        o->cpu = (uint32_t)xlsim__vcpu_cpu(d, (int)v);
        o->online = c->vcpu[v].online;
        o->running = o->online && dom_running;
        o->blocked = o->online && !d->shutdown && !o->running &&
                     (!d->pause_count || d->has_run);
        o->vcpu_time = xlsim__vcpu_time(d, (int)v, now);
        fill_cpumap(&o->cpumap, c->vcpu[v].hard, nr_cpus);
        fill_cpumap(&o->cpumap_soft, c->vcpu[v].soft, nr_cpus);
    }
    *nb_vcpu = (int)d->max_vcpus;
    *nr_cpus_out = nr_cpus;
    xlsim__unlock_ctx(ctx);
    return list;
}

void libxl_vcpuinfo_list_free(libxl_vcpuinfo *list, int nr_vcpus)
{
    if (!list)
        return;
    for (int i = 0; i < nr_vcpus; i++)
        libxl_vcpuinfo_dispose(&list[i]);
    free(list);
}

int libxl_get_physinfo(libxl_ctx *ctx, libxl_physinfo *p)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_get_physinfo");
    if (!rc) {
        const xlsim_host_config *c = &xlsim__S->cfg;
        uint64_t free_kb = xlsim__free_kb(xlsim__now());
        memset(p, 0, sizeof(*p));
        p->threads_per_core = (uint32_t)c->threads_per_core;
        p->cores_per_socket = (uint32_t)(c->nr_cpus / c->nr_nodes / c->threads_per_core);
        p->max_cpu_id = (uint32_t)c->nr_cpus - 1;
        p->nr_cpus = (uint32_t)c->nr_cpus;
        p->cpu_khz = (uint32_t)c->cpu_khz;
        p->total_pages = c->total_memkb / 4;
        p->free_pages = free_kb / 4;
        p->max_possible_mfn = c->total_memkb / 4 - 1;
        p->nr_nodes = (uint32_t)c->nr_nodes;
        p->cap_hvm = p->cap_pv = p->cap_hvm_directio = true;
        p->cap_hap = p->cap_shadow = p->cap_iommu_hap_pt_share = true;
        p->cap_gnttab_v1 = p->cap_gnttab_v2 = true;
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}

int libxl_get_free_memory(libxl_ctx *ctx, uint64_t *memkb)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_get_free_memory");
    if (!rc)
        *memkb = xlsim__free_kb(xlsim__now()) / 4 * 4;
    xlsim__unlock_ctx(ctx);
    return rc;
}

int libxl_get_memory_target(libxl_ctx *ctx, uint32_t domid, uint64_t *out_target)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_get_memory_target");
    if (!rc) {
        struct sim_dom *d = xlsim__dom(domid);
        if (!d) {
            LOGD(ERROR, domid, "Cannot get target memory info: no such domain");
            rc = ERROR_FAIL;
        } else {
            *out_target = d->target_kb;
        }
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}

int libxl_name_to_domid(libxl_ctx *ctx, const char *name, uint32_t *domid)
{
    if (!name)
        return ERROR_INVAL;
    struct sim_state *S = xlsim__S;
    xlsim__lock();
    int rc = xlsim__fault("libxl_name_to_domid");
    if (!rc) {
        rc = ERROR_INVAL;  /* libxl's answer when no domain has the name */
        for (int i = 0; i < XLSIM_SLOTS; i++) {
            if (S->dom[i].in_use && !strcmp(S->dom[i].name, name)) {
                *domid = S->dom[i].domid;
                rc = 0;
                break;
            }
        }
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}

char *libxl_domid_to_name(libxl_ctx *ctx, uint32_t domid)
{
    char *r = NULL;
    xlsim__lock();
    struct sim_dom *d = xlsim__dom(domid);
    if (d)
        r = xlsim__strdup(d->name);
    xlsim__unlock_ctx(ctx);
    return r;
}

/* As libxl: the seconds-since-the-epoch when the domain was made (xenstore's
 * /vm/<uuid>/start_time), (uint32_t)-1 when there is none: no such domain, or dom0 (which
 * libxl does not make; xl uptime reads /proc/uptime for it). */
uint32_t libxl_vm_get_start_time(libxl_ctx *ctx, uint32_t domid)
{
    uint32_t r = (uint32_t)-1;
    xlsim__lock();
    struct sim_dom *d = xlsim__fault("libxl_vm_get_start_time") ? NULL : xlsim__dom(domid);
    if (d && domid != 0)
        r = (uint32_t)d->start_s;
    else if (!d)
        LOGD(ERROR, domid, "Can't get start time: no such domain");
    xlsim__unlock_ctx(ctx);
    return r;
}
