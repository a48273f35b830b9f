/*
 * resources.c: memory (static max, balloon target) and vCPUs (online set,
 * hard/soft affinity) of running domains.
 */
#include "sim_internal.h"

int libxl_domain_setmaxmem(libxl_ctx *ctx, uint32_t domid, uint64_t max_memkb)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_domain_setmaxmem");
    if (!rc) {
        struct sim_dom *d = xlsim__dom(domid);
        if (!d) {
            xlsim__log(XTL_ERROR, ENOENT, "libxl__userdata_path: unable to find domain info "
                       "for domain %u", domid);
            rc = ERROR_LOCK_FAIL;
        } else if (max_memkb < d->target_kb) {
            /* Real libxl 4.17 returns its initial rc here: 1, not an error code. */
            LOGD(ERROR, domid, "memory_static_max must be greater than or or equal to "
                 "memory_dynamic_max");
            rc = 1;
        } else {
            d->static_max_kb = max_memkb;
            d->max_kb = max_memkb + XLSIM_MAXMEM_CONSTANT;
            xlsim__touch();
        }
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}

int libxl_set_memory_target(libxl_ctx *ctx, uint32_t domid, int64_t target_memkb, int relative,
                            int enforce)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_set_memory_target");
    struct sim_dom *d = rc ? NULL : xlsim__dom(domid);
    if (!rc && !d) {
        /* Real libxl 4.17 fails first in the userdata lock: ERROR_LOCK_FAIL (observed). */
        xlsim__log(XTL_ERROR, ENOENT, "libxl__userdata_path: unable to find domain info for "
                   "domain %u", domid);
        rc = ERROR_LOCK_FAIL;
    }
    if (!rc) {
        /* As libxl_mem.c: a relative decrease below zero clamps to 0; an absolute
         * negative value reads as a huge unsigned one, above static max. */
        int64_t nt;
        if (!relative)
            nt = target_memkb;
        else if (target_memkb < 0)
            nt = (0 - (uint64_t)target_memkb) > d->target_kb
                     ? 0 : (int64_t)(d->target_kb - (0 - (uint64_t)target_memkb));
        else
            nt = (uint64_t)target_memkb > (uint64_t)INT64_MAX - d->target_kb
                     ? INT64_MAX : (int64_t)(d->target_kb + (uint64_t)target_memkb);
        uint64_t now = xlsim__now();
        if (nt < 0) {
            LOGD(ERROR, domid, "memory_dynamic_max must be less than or equal to "
                 "memory_static_max");
            rc = ERROR_INVAL;
        } else if (domid == 0 && nt < XLSIM_MIN_DOM0_MEM) {
            LOGD(ERROR, domid, "New target %lld for dom0 is below the minimum threshold",
                 (long long)nt);
            rc = ERROR_INVAL;
        } else if ((uint64_t)nt > d->static_max_kb) {
            LOGD(ERROR, domid, "memory_dynamic_max %lld must be less than or equal to "
                 "memory_static_max %llu", (long long)nt, (unsigned long long)d->static_max_kb);
            rc = ERROR_INVAL;
        } else {
            /* libxl only sets the target: no check of the host's free memory. */
            d->mem_from_kb = xlsim__current_kb(d, now);
            d->mem_since_ns = now;
            d->target_kb = (uint64_t)nt;
            if (enforce)
                d->max_kb = (uint64_t)nt + XLSIM_MAXMEM_CONSTANT;
            xlsim__touch();
        }
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}

int libxl_set_vcpuonline(libxl_ctx *ctx, uint32_t domid, libxl_bitmap *cpumap,
                         const libxl_asyncop_how *ao_how)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_set_vcpuonline");
    struct sim_dom *d = rc ? NULL : xlsim__dom(domid);
    if (!rc && !d) {
        LOGD(ERROR, domid, "Getting domain info list: no such domain");
        rc = ERROR_DOMAIN_NOTFOUND;
    }
    if (!rc) {
        /* As libxl: the number of set bits is checked against max_vcpus, then each
         * vCPU below max is made available or not; bits beyond are ignored. */
        uint8_t on[XLSIM_MAX_VCPUS / 8];
        int count = cpumap ? libxl_bitmap_count_set(cpumap) : 0;
        if (count == 0) {
            LOGD(ERROR, domid, "Requested 0 VCPUs!");
            rc = ERROR_FAIL;
        } else if ((uint32_t)count > d->max_vcpus) {
            LOGD(ERROR, domid, "Requested %d VCPUs, however maxcpus is %u!", count,
                 d->max_vcpus);
            rc = ERROR_FAIL;
        } else {
            xlsim__bitmap_bits_from(on, sizeof(on), cpumap, (int)d->max_vcpus);
            on[0] |= 1;  /* the guest cannot take its boot vCPU offline */
            struct sim_dom_cold *c = xlsim__cold(d);
            xlsim__accrue(d, xlsim__now());
            d->online_vcpus = 0;
            for (uint32_t v = 0; v < d->max_vcpus; v++) {
                c->vcpu[v].online = (on[v / 8] >> (v % 8)) & 1;
                d->online_vcpus += c->vcpu[v].online;
            }
            xlsim__touch();
        }
    }
    xlsim__unlock_ctx(ctx);
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}

int libxl_set_vcpuaffinity(libxl_ctx *ctx, uint32_t domid, uint32_t vcpuid,
                           const libxl_bitmap *cpumap_hard, const libxl_bitmap *cpumap_soft)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_set_vcpuaffinity");
    struct sim_dom *d = rc ? NULL : xlsim__dom(domid);
    if (!rc && !d) {
        LOGD(ERROR, domid, "Setting vcpu affinity: no such domain");
        rc = ERROR_FAIL;
    }
    if (!rc) {
        int nr = xlsim__S->cfg.nr_cpus;
        uint8_t hard[XLSIM_CPUMAP_BYTES], soft[XLSIM_CPUMAP_BYTES];
        if (!cpumap_hard && !cpumap_soft) {
            LOGD(ERROR, domid, "Setting vcpu affinity: no map given");
            rc = ERROR_INVAL;
        } else if (vcpuid >= d->max_vcpus) {
            LOGD(ERROR, domid, "Setting vcpu affinity: vCPU %u beyond max %u", vcpuid,
                 d->max_vcpus - 1);
            rc = ERROR_FAIL;
        } else {
            /* Bits beyond the host's pCPUs are ignored, as Xen masks with online cpus. */
            if (cpumap_hard) {
                xlsim__bitmap_bits_from(hard, sizeof(hard), cpumap_hard, nr);
                if (!xlsim__popcount(hard, sizeof(hard))) {
                    LOGD(ERROR, domid, "Setting vcpu affinity: hard affinity of vCPU %u has "
                         "no online pCPU", vcpuid);
                    rc = ERROR_FAIL;
                }
            }
            if (!rc && cpumap_soft) {
                xlsim__bitmap_bits_from(soft, sizeof(soft), cpumap_soft, nr);
                if (!xlsim__popcount(soft, sizeof(soft))) {
                    LOGD(ERROR, domid, "Setting vcpu affinity: soft affinity of vCPU %u has "
                         "no online pCPU", vcpuid);
                    rc = ERROR_FAIL;
                }
            }
            if (!rc) {
                struct sim_vcpu *vc = &xlsim__cold(d)->vcpu[vcpuid];
                if (cpumap_hard)
                    memcpy(vc->hard, hard, sizeof(hard));
                if (cpumap_soft)
                    memcpy(vc->soft, soft, sizeof(soft));
                xlsim__touch();
            }
        }
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}
