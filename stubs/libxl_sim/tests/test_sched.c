/* Scheduler parameters: credit weight/cap at create, get/set live, validation, cap bounds load. */
#include "t.h"

static libxl_domain_sched_params get(libxl_ctx *ctx, uint32_t domid)
{
    libxl_domain_sched_params p;
    libxl_domain_sched_params_init(&p);
    CHECK_RC(libxl_domain_sched_params_get(ctx, domid, &p), 0);
    return p;
}

int main(void)
{
    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    t_reset();

    /* Defaults: credit, weight 256, no cap (dom0 too). */
    libxl_domain_sched_params p = get(ctx, 0);
    CHECK(p.sched == LIBXL_SCHEDULER_CREDIT && p.weight == 256 && p.cap == 0);
    uint32_t d1 = t_create(ctx, "s1", 128, 2);
    p = get(ctx, d1);
    CHECK(p.weight == 256 && p.cap == 0 && p.period == LIBXL_DOMAIN_SCHED_PARAM_PERIOD_DEFAULT);

    /* At create. */
    libxl_domain_config dc;
    uint32_t d2 = 0;
    t_config(&dc, "s2", 128, 2);
    dc.b_info.sched_params.weight = 512;
    dc.b_info.sched_params.cap = 150;
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &d2, NULL, NULL), 0);
    CHECK(dc.b_info.sched_params.sched == LIBXL_SCHEDULER_CREDIT);
    p = get(ctx, d2);
    CHECK(p.weight == 512 && p.cap == 150);
    libxl_domain_config_dispose(&dc);

    /* Bad values at create leave no domain. */
    int bad[][3] = { {0, -1, LIBXL_SCHEDULER_UNKNOWN}, {65536, -1, LIBXL_SCHEDULER_UNKNOWN},
                     {-1, 201, LIBXL_SCHEDULER_UNKNOWN}, {-1, -5, LIBXL_SCHEDULER_UNKNOWN},
                     {-1, -1, LIBXL_SCHEDULER_CREDIT2} };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t d = 0;
        t_config(&dc, "bad", 128, 2);
        dc.b_info.sched_params.weight = bad[i][0];
        dc.b_info.sched_params.cap = bad[i][1];
        dc.b_info.sched_params.sched = (libxl_scheduler)bad[i][2];
        CHECK_RC(libxl_domain_create_new(ctx, &dc, &d, NULL, NULL), ERROR_INVAL);
        libxl_domain_config_dispose(&dc);
    }
    CHECK_RC(xlsim_domain_count(), 3);

    /* Live: default fields stay unchanged; bad values change nothing. */
    libxl_domain_sched_params s;
    libxl_domain_sched_params_init(&s);
    s.weight = 1000;
    CHECK_RC(libxl_domain_sched_params_set(ctx, d2, &s), 0);
    p = get(ctx, d2);
    CHECK(p.weight == 1000 && p.cap == 150);
    libxl_domain_sched_params_init(&s);
    s.cap = 0;
    CHECK_RC(libxl_domain_sched_params_set(ctx, d2, &s), 0);
    p = get(ctx, d2);
    CHECK(p.weight == 1000 && p.cap == 0);
    libxl_domain_sched_params_init(&s);
    s.weight = 7;
    s.cap = 300;        /* 2 vCPUs: at most 200 */
    CHECK_RC(libxl_domain_sched_params_set(ctx, d2, &s), ERROR_INVAL);
    p = get(ctx, d2);
    CHECK(p.weight == 1000 && p.cap == 0);
    CHECK_RC(libxl_domain_sched_params_set(ctx, 999, &s), ERROR_FAIL);
    CHECK_RC(libxl_domain_sched_params_get(ctx, 999, &p), ERROR_FAIL);
    CHECK_RC(libxl_domain_sched_params_set(ctx, d2, NULL), ERROR_INVAL);

    /* A cap bounds cpu time: full load on 2 vCPUs capped at 10% of one pCPU. */
    libxl_domain_sched_params_init(&s);
    s.cap = 10;
    CHECK_RC(libxl_domain_sched_params_set(ctx, d1, &s), 0);
    CHECK_RC(libxl_domain_unpause(ctx, d1, NULL), 0);
    CHECK_RC(xlsim_domain_set_load(d1, 1.0), 0);
    libxl_dominfo a, b;
    libxl_dominfo_init(&a);
    libxl_dominfo_init(&b);
    struct timespec t0, t1;   /* bracket both reads: the sim accrues on CLOCK_REALTIME */
    clock_gettime(CLOCK_REALTIME, &t0);
    CHECK_RC(libxl_domain_info(ctx, &a, d1), 0);
    t_sleep_ms(50);
    CHECK_RC(libxl_domain_info(ctx, &b, d1), 0);
    clock_gettime(CLOCK_REALTIME, &t1);
    uint64_t wall = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ULL + (uint64_t)t1.tv_nsec
                    - (uint64_t)t0.tv_nsec;
    CHECK(b.cpu_time > a.cpu_time);
    CHECK(b.cpu_time - a.cpu_time <= wall / 10 + 2);  /* 10% of one pCPU, not 200% */

    /* The pool's credit parameters: Xen's defaults; no other pool. */
    libxl_sched_credit_params cp;
    libxl_sched_credit_params_init(&cp);
    CHECK_RC(libxl_sched_credit_params_get(ctx, 0, &cp), 0);
    CHECK(cp.tslice_ms == 30 && cp.ratelimit_us == 1000 && cp.vcpu_migr_delay_us == 0);
    CHECK_RC(libxl_sched_credit_params_get(ctx, 3, &cp), ERROR_FAIL);

    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    T_DONE();
}
