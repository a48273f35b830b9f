/* sim_shim.h: C helpers compiled into the sim target only (benchmarks of the simulator's
 * own cost, measured from C so no Python overhead is counted). */
#include <time.h>

static int64_t xlpy_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t xlpy_bench_domain_info(libxl_ctx *ctx, uint32_t domid, int n)
{
    libxl_dominfo d;
    int64_t t0 = xlpy_now_ns();
    int i, rc;

    for (i = 0; i < n; i++) {
        libxl_dominfo_init(&d);
        rc = libxl_domain_info(ctx, &d, domid);
        libxl_dominfo_dispose(&d);
        if (rc)
            return rc;
    }
    return xlpy_now_ns() - t0;
}

static int64_t xlpy_bench_list_domain(libxl_ctx *ctx, int n)
{
    int64_t t0 = xlpy_now_ns();
    int i, nb;

    for (i = 0; i < n; i++) {
        libxl_dominfo *l = libxl_list_domain(ctx, &nb);
        if (!l)
            return ERROR_FAIL;
        libxl_dominfo_list_free(l, nb);
    }
    return xlpy_now_ns() - t0;
}
