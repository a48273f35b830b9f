/* Fault injection, memory accounting (a create that does not fit leaves nothing) and
 * domid allocation. */
#include "t.h"

static void test_faults(libxl_ctx *ctx)
{
    libxl_domain_config dc;
    uint32_t domid = 0;
    t_config(&dc, "f", 128, 1);
    CHECK_RC(xlsim_fail_next("libxl_domain_create_new", 2, ERROR_FAIL), 0);
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_FAIL);
    CHECK(domid == (uint32_t)INVALID_DOMID);
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_FAIL);
    CHECK_RC(xlsim_domain_count(), 1);
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), 0);
    libxl_domain_config_dispose(&dc);

    CHECK_RC(xlsim_fail_next("libxl_domain_pause", 1, ERROR_NOMEM), 0);
    CHECK_RC(libxl_domain_pause(ctx, domid, NULL), ERROR_NOMEM);
    libxl_dominfo di;
    CHECK_RC(libxl_domain_info(ctx, &di, domid), 0);
    CHECK(di.paused);  /* the create-time pause only: the failed pause changed nothing */
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);
    CHECK_RC(libxl_domain_info(ctx, &di, domid), 0);
    CHECK(!di.paused);

    CHECK_RC(xlsim_fail_next("libxl_list_domain", 1, ERROR_FAIL), 0);
    int n = -1;
    CHECK(libxl_list_domain(ctx, &n) == NULL && n == 0);
    libxl_dominfo *l = libxl_list_domain(ctx, &n);
    CHECK(l && n == 2);
    libxl_dominfo_list_free(l, n);

    /* count 0 disarms; xlsim_clear_faults disarms everything. */
    CHECK_RC(xlsim_fail_next("libxl_domain_destroy", 5, ERROR_FAIL), 0);
    CHECK_RC(xlsim_fail_next("libxl_domain_destroy", 0, 0), 0);
    CHECK_RC(xlsim_fail_next("xc_physinfo", 3, ERROR_FAIL), 0);
    xlsim_clear_faults();
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    xc_physinfo_t pi;
    CHECK_RC(xc_physinfo(xch, &pi), 0);
    CHECK_RC(xlsim_fail_next("xc_physinfo", 1, ERROR_FAIL), 0);
    CHECK_RC(xc_physinfo(xch, &pi), -1);
    xc_interface_close(xch);
    CHECK_RC(xlsim_fail_next("xc_interface_open", 1, ERROR_FAIL), 0);
    CHECK(xc_interface_open(NULL, NULL, 0) == NULL);
    CHECK_RC(xlsim_fail_next("libxl_ctx_alloc", 1, ERROR_NOMEM), 0);
    libxl_ctx *c2 = NULL;
    CHECK_RC(libxl_ctx_alloc(&c2, LIBXL_VERSION, 0, NULL), ERROR_NOMEM);
    CHECK(c2 == NULL);

    /* Bad requests are refused with a clear error. */
    CHECK_RC(xlsim_fail_next("no_such_function", 1, ERROR_FAIL), ERROR_INVAL);
    CHECK_RC(xlsim_fail_next(NULL, 1, ERROR_FAIL), ERROR_INVAL);
    CHECK_RC(xlsim_fail_next("libxl_domain_pause", 1, 0), ERROR_INVAL);
    CHECK_RC(xlsim_fail_next("libxl_domain_pause", -1, ERROR_FAIL), ERROR_INVAL);
    CHECK_RC(libxl_domain_pause(ctx, domid, NULL), 0);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
}

static void test_memory_accounting(libxl_ctx *ctx)
{
    xlsim_host_config cfg;
    xlsim_host_config_default(&cfg);
    cfg.total_memkb = 1024 * 1024;  /* 1 GiB host */
    cfg.dom0_memkb = 256 * 1024;
    CHECK_RC(xlsim_host_configure(&cfg), 0);
    uint64_t free_kb;
    CHECK_RC(libxl_get_free_memory(ctx, &free_kb), 0);
    CHECK(free_kb == 768 * 1024);
    uint32_t a = t_create(ctx, "a", 512, 1);
    CHECK_RC(libxl_get_free_memory(ctx, &free_kb), 0);
    CHECK(free_kb == 256 * 1024);

    libxl_domain_config dc;
    uint32_t domid = 0;
    t_config(&dc, "too-big", 257, 1);
    /* ERROR_FAIL as real Xen 4.17 (libxenguest cannot allocate), not ERROR_NOMEM. */
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_FAIL);
    CHECK(domid == (uint32_t)INVALID_DOMID);
    CHECK_RC(xlsim_domain_count(), 2);
    CHECK_RC(libxl_name_to_domid(ctx, "too-big", &domid), ERROR_INVAL);
    CHECK_RC(libxl_get_free_memory(ctx, &free_kb), 0);
    CHECK(free_kb == 256 * 1024);
    libxl_domain_config_dispose(&dc);
    uint32_t b = t_create(ctx, "exact", 256, 1);  /* fits exactly */
    CHECK_RC(libxl_get_free_memory(ctx, &free_kb), 0);
    CHECK(free_kb == 0);
    CHECK_RC(libxl_domain_destroy(ctx, b, NULL), 0);
    /* A balloon target beyond what is free is accepted (libxl does not check); the
     * memory it may claim is no longer free for a create. */
    CHECK_RC(libxl_domain_setmaxmem(ctx, a, 1024 * 1024), 0);
    CHECK_RC(libxl_set_memory_target(ctx, a, 900 * 1024, 0, 0), 0);
    CHECK_RC(libxl_get_free_memory(ctx, &free_kb), 0);
    CHECK(free_kb == 0);
    t_config(&dc, "no-room", 64, 1);
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_FAIL);
    libxl_domain_config_dispose(&dc);
    CHECK_RC(libxl_domain_destroy(ctx, a, NULL), 0);
    CHECK_RC(libxl_get_free_memory(ctx, &free_kb), 0);
    CHECK(free_kb == 768 * 1024);

    cfg.nr_cpus = 6;  /* not a multiple of nodes x threads */
    CHECK_RC(xlsim_host_configure(&cfg), ERROR_INVAL);
    xlsim_host_config now;
    CHECK_RC(xlsim_host_get_config(&now), 0);
    CHECK(now.nr_cpus == 16 && now.total_memkb == 1024 * 1024);  /* unchanged */
    t_reset();
}

static void test_domids(libxl_ctx *ctx)
{
    t_reset();
    uint32_t a = t_create(ctx, "d1", 16, 1), b = t_create(ctx, "d2", 16, 1);
    CHECK(a == 1 && b == 2);
    CHECK_RC(libxl_domain_destroy(ctx, a, NULL), 0);
    uint32_t c = t_create(ctx, "d3", 16, 1);
    CHECK(c == 3);  /* increasing, not reusing 1 yet */

    /* An explicit domid is honoured, does not move the rover, and must be free. */
    libxl_domain_config dc;
    uint32_t domid = 0;
    t_config(&dc, "explicit", 16, 1);
    dc.c_info.domid = 100;
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), 0);
    CHECK(domid == 100);
    libxl_domain_config_dispose(&dc);
    t_config(&dc, "explicit2", 16, 1);
    dc.c_info.domid = 100;
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_FAIL);
    libxl_domain_config_dispose(&dc);
    CHECK(t_create(ctx, "d4", 16, 1) == 4);

    /* Run the rover round: it wraps below DOMID_FIRST_RESERVED and skips live ones. */
    libxl_domain_config_init(&dc);
    for (uint32_t want = 5; want < 0x7FF0; want++) {
        t_config(&dc, "cycle", 16, 1);
        CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), 0);
        libxl_domain_config_dispose(&dc);
        CHECK(domid == (want == 100 ? 101 : want));
        if (want == 100)
            want++;
        CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    }
    /* 1 is free again; 2, 3, 4 and 100 are live. */
    CHECK(t_create(ctx, "wrapped", 16, 1) == 1);
    CHECK(t_create(ctx, "next", 16, 1) == 5);
    t_reset();
}

int main(void)
{
    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    t_reset();
    test_faults(ctx);
    test_memory_accounting(ctx);
    test_domids(ctx);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    T_DONE();
}
