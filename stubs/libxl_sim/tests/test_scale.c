/* 4096 guests on one host: limits, listing, xc enumeration. */
#include "t.h"

#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    xlsim_host_config cfg;
    xlsim_host_config_default(&cfg);
    cfg.total_memkb = 128ULL * 1024 * 1024;
    CHECK_RC(xlsim_host_configure(&cfg), 0);

    for (int i = 0; i < XLSIM_MAX_DOMAINS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "g%04d", i);
        CHECK(t_create(ctx, name, 16, 1) == (uint32_t)i + 1);
    }
    CHECK_RC(xlsim_domain_count(), XLSIM_MAX_DOMAINS + 1);
    libxl_domain_config dc;
    uint32_t domid;
    t_config(&dc, "one-too-many", 16, 1);
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_FAIL);
    libxl_domain_config_dispose(&dc);

    int n = 0;
    libxl_dominfo *l = libxl_list_domain(ctx, &n);
    CHECK(l && n == XLSIM_MAX_DOMAINS + 1);
    for (int i = 0; i < n; i++)
        CHECK(l[i].domid == (uint32_t)i);  /* domid order */
    CHECK(l[n - 1].current_memkb == 16 * 1024 && l[n - 1].paused);
    libxl_dominfo_list_free(l, n);

    /* Informational, not asserted: the cost the Python benchmark builds on. */
    int reps = getenv("XLSIM_TEST_VALGRIND") ? 3 : 200;
    double t0 = now_s();
    for (int r = 0; r < reps; r++) {
        l = libxl_list_domain(ctx, &n);
        libxl_dominfo_list_free(l, n);
    }
    printf("  libxl_list_domain with %d domains: %.1f us per call\n", n,
           (now_s() - t0) / reps * 1e6);

    xc_interface *xch = xc_interface_open(lg, NULL, 0);
    xc_domaininfo_t *xi = calloc(5000, sizeof(*xi));
    CHECK_RC(xc_domain_getinfolist(xch, 0, 5000, xi), XLSIM_MAX_DOMAINS + 1);
    CHECK_RC(xc_domain_getinfolist(xch, 4000, 10, xi), 10);
    CHECK(xi[0].domain == 4000 && xi[9].domain == 4009);
    free(xi);
    xc_interface_close(xch);

    for (uint32_t d = 1; d <= XLSIM_MAX_DOMAINS; d++)
        CHECK_RC(libxl_domain_destroy(ctx, d, NULL), 0);
    CHECK_RC(xlsim_domain_count(), 1);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    T_DONE();
}
