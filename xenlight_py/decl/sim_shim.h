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

/* The sample's device and guest counters (shim.h): the simulator's control API, the same
 * calls SimControl.disk_stats / nic_stats / guest_info make. */
static int xlpy_disk_counters(uint32_t domid, const char *vdev, uint64_t *rd, uint64_t *wr)
{
    xlsim_io_stats s;
    int rc = xlsim_disk_stats(domid, vdev, &s);

    if (!rc) {
        *rd = s.rd_bytes;
        *wr = s.wr_bytes;
    }
    return rc;
}

static int xlpy_nic_counters(uint32_t domid, int devid, uint64_t *rx, uint64_t *tx)
{
    xlsim_io_stats s;
    int rc = xlsim_nic_stats(domid, devid, &s);

    if (!rc) {
        *rx = s.rd_bytes;
        *tx = s.wr_bytes;
    }
    return rc;
}

static int xlpy_guest_counters(uint32_t domid, xlpy_sample_guest *g)
{
    struct xlsim_guest_info gi;
    int rc = xlsim_guest_info(domid, &gi);

    if (!rc) {
        g->mem_total_kb = gi.mem_total_kb;
        g->mem_free_kb = gi.mem_free_kb;
        snprintf(g->os_name, sizeof(g->os_name), "%s", gi.os_name);
        snprintf(g->os_kernel, sizeof(g->os_kernel), "%s", gi.os_kernel);
        snprintf(g->ipv4, sizeof(g->ipv4), "%s", gi.ipv4);
    }
    return rc;
}
