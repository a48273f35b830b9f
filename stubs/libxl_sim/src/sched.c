/*
 * sched.c: per-domain scheduler parameters. The simulated host runs Xen's credit (or,
 * configured so, credit2) scheduler in its one cpupool: weight (1..65535, default 256)
 * and cap (percent of one pCPU, 0 = uncapped, at most 100 per vCPU), checked as libxl's
 * setters for both do. A cap bounds the simulated load of the domain's vCPUs (state.c
 * accrual).
 */
#include "sim_internal.h"

int xlsim__sched_resolve(const libxl_domain_sched_params *p, uint32_t max_vcpus,
                         uint32_t *weight, uint32_t *cap)
{
    int pool_sched = xlsim__S->cfg.scheduler;
    if (p->sched != LIBXL_SCHEDULER_UNKNOWN && (int)p->sched != pool_sched) {
        LOG(ERROR, "scheduler %d is not the cpupool's scheduler (%d)", (int)p->sched,
            pool_sched);
        return ERROR_INVAL;
    }
    if (p->weight != LIBXL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT &&
        (p->weight < 1 || p->weight > 65535)) {
        LOG(ERROR, "Cpu weight out of range, valid values are within range from 1 to 65535");
        return ERROR_INVAL;
    }
    if (p->cap != LIBXL_DOMAIN_SCHED_PARAM_CAP_DEFAULT &&
        (p->cap < 0 || (uint32_t)p->cap > max_vcpus * 100)) {
        LOG(ERROR, "Cpu cap out of range, valid range is from 0 to %u for specified number "
            "of vcpus", (unsigned)(max_vcpus * 100));
        return ERROR_INVAL;
    }
    if (p->weight != LIBXL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT)
        *weight = (uint32_t)p->weight;
    if (p->cap != LIBXL_DOMAIN_SCHED_PARAM_CAP_DEFAULT)
        *cap = (uint32_t)p->cap;
    return 0;
}

int libxl_domain_sched_params_get(libxl_ctx *ctx, uint32_t domid,
                                  libxl_domain_sched_params *params)
{
    if (!params)
        return ERROR_INVAL;
    xlsim__lock();
    int rc = xlsim__fault("libxl_domain_sched_params_get");
    struct sim_dom *d = rc ? NULL : xlsim__dom(domid);
    if (!rc && !d) {
        LOGD(ERROR, domid, "getting domain sched credit");
        rc = ERROR_FAIL;        /* libxl: xc_sched_credit_domain_get fails with ESRCH */
    }
    if (!rc) {
        libxl_domain_sched_params_init(params);
        params->sched = (libxl_scheduler)xlsim__S->cfg.scheduler;
        params->weight = (int)d->sched_weight;
        params->cap = (int)d->sched_cap;
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}

int libxl_domain_sched_params_set(libxl_ctx *ctx, uint32_t domid,
                                  const libxl_domain_sched_params *params)
{
    if (!params)
        return ERROR_INVAL;
    xlsim__lock();
    int rc = xlsim__fault("libxl_domain_sched_params_set");
    struct sim_dom *d = rc ? NULL : xlsim__dom(domid);
    if (!rc && !d) {
        LOGD(ERROR, domid, "getting domain info");
        rc = ERROR_FAIL;
    }
    if (!rc) {
        uint32_t w = d->sched_weight, c = d->sched_cap;
        rc = xlsim__sched_resolve(params, d->max_vcpus, &w, &c);
        if (!rc && (w != d->sched_weight || c != d->sched_cap)) {
            xlsim__accrue(d, xlsim__now());   /* the cap bounds load from now on */
            d->sched_weight = w;
            d->sched_cap = c;
            xlsim__touch();
        }
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}

void libxl_sched_credit_params_init(libxl_sched_credit_params *p) { memset(p, 0, sizeof(*p)); }

/* Xen 4.17's credit defaults (sched_credit_tslice_ms=30, sched_ratelimit_us=1000,
 * vcpu_migration_delay=0) for the one pool; another poolid fails as xc does for a pool
 * that does not exist (ERROR_FAIL, logged), and so does a pool that runs credit2 (Xen
 * refuses the credit sysctl for another scheduler's pool: EINVAL). */
int libxl_sched_credit_params_get(libxl_ctx *ctx, uint32_t poolid,
                                  libxl_sched_credit_params *scinfo)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_sched_credit_params_get");
    if (!rc && poolid != 0) {
        xlsim__log(XTL_ERROR, ESRCH, "getting Credit scheduler parameters");
        rc = ERROR_FAIL;
    } else if (!rc && xlsim__S->cfg.scheduler != LIBXL_SCHEDULER_CREDIT) {
        xlsim__log(XTL_ERROR, EINVAL, "getting Credit scheduler parameters");
        rc = ERROR_FAIL;
    }
    if (!rc) {
        scinfo->tslice_ms = 30;
        scinfo->ratelimit_us = 1000;
        scinfo->vcpu_migr_delay_us = 0;
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}
