/*
 * shim_harness.c: drives the binding's C shim (xenlight_py/decl/shim.h, sim_shim.h) against
 * the simulator under AddressSanitizer/LeakSanitizer (see test_build.py). The extern
 * "Python" callbacks are replaced by C stand-ins that keep the registrations they receive.
 */
#include <stddef.h>

#include <libxl.h>
#include <libxl_event.h>
#include <libxl_utils.h>
#include <xenctrl.h>
#include <xentoollog.h>
#include <xlsim.h>

#include "shim.h"
#include "sim_shim.h"

static int log_lines, fd_regs, next_token = 1;

static void xlpy_log_cb(int l, int e, const char *c, const char *m)
{
    (void)l; (void)e; (void)c;
    if (m && *m)
        log_lines++;
}
static int xlpy_fd_register(void *u, int fd, short ev, void *f)
{
    (void)u; (void)fd; (void)ev; (void)f;
    fd_regs++;
    return next_token++;
}
static int xlpy_fd_modify(void *u, int t, int fd, short ev) { (void)u; (void)t; (void)fd; (void)ev; return 0; }
static void xlpy_fd_deregister(void *u, int t, int fd) { (void)u; (void)t; (void)fd; fd_regs--; }
static int xlpy_timeout_register(void *u, long s, long us, void *f)
{
    (void)u; (void)s; (void)us; (void)f;
    return next_token++;
}
static int xlpy_timeout_modify(void *u, int t, long s, long us) { (void)u; (void)t; (void)s; (void)us; return 0; }
static void xlpy_timeout_deregister(void *u, int t) { (void)u; (void)t; }

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__, __LINE__, #c); return 1; } } while (0)

int main(void)
{
    libxl_ctx *ctx = NULL;
    xentoollog_logger *lg = xlpy_logger_new(XTL_DEBUG);
    libxl_domain_config d;
    uint32_t domid;
    void *flat = NULL;
    unsigned char rec[256];
    libxl_evgen_domain_death *evg = NULL;
    libxl_event *ev = NULL;
    uint64_t user = 7;
    int n, i;

    CHECK(lg);
    CHECK(xlsim_host_configure(NULL) == 0);
    CHECK(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, lg) == 0);
    xlpy_ctx_setup(ctx, NULL);

    libxl_domain_config_init(&d);
    d.c_info.type = LIBXL_DOMAIN_TYPE_PV;
    d.c_info.name = xlpy_strdup("harness");
    libxl_domain_build_info_init_type(&d.b_info, LIBXL_DOMAIN_TYPE_PV);
    d.b_info.kernel = xlpy_strdup("/k");
    d.b_info.max_memkb = d.b_info.target_memkb = 65536;
    xlpy_b_info_pv(&d.b_info)->cmdline = xlpy_strdup("console=hvc0");
    d.disks = xlpy_calloc(1, sizeof(*d.disks));
    libxl_device_disk_init(&d.disks[0]);
    d.num_disks = 1;
    d.disks[0].vdev = xlpy_strdup("xvda");
    d.disks[0].pdev_path = xlpy_strdup("/proc/self/exe");  /* libxl stats it: must exist */
    CHECK((void *)xlpy_b_info_hvm(&d.b_info) == (void *)xlpy_b_info_pv(&d.b_info));
    CHECK((void *)xlpy_b_info_pvh(&d.b_info) == (void *)xlpy_b_info_pv(&d.b_info));
    CHECK(libxl_domain_create_new(ctx, &d, &domid, NULL, NULL) == 0);
    libxl_domain_config_dispose(&d);

    CHECK(xlpy_dominfo_flat_size() <= sizeof(rec));
    CHECK(xlpy_domain_info_flat(ctx, domid, rec) == 0);
    CHECK(xlpy_domain_info_flat(ctx, 999, rec) == ERROR_DOMAIN_NOTFOUND);
    /* domain_info's per-thread state: no context selected, an empty cell (closed context)
     * or a domid out of range is refused without a libxl call */
    {
        libxl_ctx *cell = ctx;
        const void *r;

        CHECK(xlpy_domain_info_selected(domid) == XLPY_INFO_REFUSED);
        r = xlpy_info_select(&cell);
        CHECK(xlpy_domain_info_selected(domid) == 0);
        CHECK(memcmp(r, &domid, 4) == 0);
        CHECK(xlpy_domain_info_selected(999) == ERROR_DOMAIN_NOTFOUND);
        CHECK(xlpy_domain_info_selected(0x7FF0) == XLPY_INFO_REFUSED);
        cell = NULL;
        CHECK(xlpy_domain_info_selected(domid) == XLPY_INFO_REFUSED);
        CHECK(xlpy_info_select(NULL) == r);
    }
    /* the records written over libxl's list: the same bytes as one call per domain, but
     * for cpu_time (it moves between the calls) */
    n = xlpy_list_domain_flat(ctx, &flat);
    CHECK(n == 2 && flat);
    for (i = 0; i < n; i++) {
        const char *f = (const char *)flat + (size_t)i * xlpy_dominfo_flat_size();
        size_t t = offsetof(xlpy_dominfo_flat, cpu_time) + 8;

        CHECK(xlpy_domain_info_flat(ctx, i ? domid : 0, rec) == 0);
        CHECK(memcmp(f, rec, offsetof(xlpy_dominfo_flat, cpu_time)) == 0);
        CHECK(memcmp(f + t, rec + t, xlpy_dominfo_flat_size() - t) == 0);
    }
    free(flat);
    CHECK(xlpy_bench_domain_info(ctx, domid, 100) > 0);
    CHECK(xlpy_bench_list_domain(ctx, 10) > 0);

    /* a sample: dom0 plain, the guest with its disk, a missing disk, a missing nic and its
     * guest agent; then a malformed request (a count past its end) */
    {
        struct __attribute__((packed)) {
            xlpy_sample_req r;
            char vdev[2][XLPY_VDEV_LEN];
            int32_t devid;
        } req;
        const xlpy_sample_head *h;
        const xlpy_sample_io *io;
        void *buf = NULL;
        size_t len = 0;

        memset(&req, 0, sizeof(req));
        req.r.domid = domid;
        req.r.ndisks = 2;
        req.r.nnics = 1;
        req.r.guest = 1;
        strcpy(req.vdev[0], "xvda");
        strcpy(req.vdev[1], "xvdq");
        req.devid = 3;
        CHECK(xlpy_sample_domains(ctx, &req, sizeof(req), &buf, &len) == 2 && buf);
        h = buf;
        CHECK(h->domid == 0 && h->nvcpus > 0 && h->ndisks == 0 && !h->guest);
        h = (const xlpy_sample_head *)((const char *)buf + h->size);
        CHECK(h->domid == domid && h->nvcpus == 1 && h->ndisks == 2 && h->nnics == 1);
        CHECK(h->guest == 1 && (const char *)h + h->size == (const char *)buf + len);
        io = (const xlpy_sample_io *)((const char *)(h + 1) + sizeof(xlpy_sample_vcpu));
        CHECK(io[0].ok && !io[1].ok && !io[2].ok);
        {   /* derived alone (no rates), against itself (rates of 0: values change), then
             * again (the same values) */
            double pcpu[4], load[2];
            void *d1 = NULL, *d2 = NULL, *d3 = NULL;
            size_t l1 = 0, l2 = 0, l3 = 0;
            const xlpy_derived_head *dh;

            CHECK(xlpy_sample_derive(NULL, 0, buf, len, NULL, 0, 4, pcpu, load, &d1, &l1) == 2);
            CHECK(load[1] == 0);
            CHECK(xlpy_sample_derive(buf, len, buf, len, d1, l1, 4, pcpu, load, &d2, &l2) == 2);
            dh = (const xlpy_derived_head *)((const char *)d2 +
                                             ((const xlpy_derived_head *)d2)->size);
            CHECK(dh->domid == domid && !dh->same && dh->nraw == 1 + 2 * 3 && load[1] > 0);
            CHECK(xlpy_sample_derive(buf, len, buf, len, d2, l2, 4, pcpu, load, &d3, &l3) == 2);
            dh = (const xlpy_derived_head *)((const char *)d3 +
                                             ((const xlpy_derived_head *)d3)->size);
            CHECK(dh->domid == domid && dh->same && dh->regular);
            CHECK((const char *)dh + dh->size == (const char *)d3 + l3);
            free(d1);
            free(d2);
            free(d3);
        }
        free(buf);
        buf = NULL;
        CHECK(xlpy_sample_domains(ctx, &req, sizeof(req) - 1, &buf, &len) == ERROR_INVAL);
        CHECK(!buf && !len);
        CHECK(xlpy_xvd_devnum("xvdb") == (202 << 8 | 16) && xlpy_xvd_devnum("sda") == -1);
    }

    CHECK(libxl_evenable_domain_death(ctx, domid, user, &evg) == 0);
    CHECK(libxl_domain_destroy(ctx, domid, NULL) == 0);
    /* the death is queued for user 7; a predicate for another user must not take it */
    {
        uint64_t other = 8;
        libxl_event *none = NULL;
        CHECK(libxl_event_check(ctx, &none, ~0ULL, xlpy_pred_for_user, &other) ==
              ERROR_NOT_READY);
    }
    CHECK(libxl_event_wait(ctx, &ev, ~0ULL, xlpy_pred_for_user, &user) == 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH && ev->domid == domid);
    CHECK((void *)xlpy_event_shutdown(ev) == (void *)&ev->u);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, evg);

    CHECK(libxl_domain_pause(ctx, 4000, NULL) != 0);   /* logs an error through the shim */
    CHECK(log_lines > 0);
    xlpy_logger_set_min_level(lg, XTL_CRITICAL);
    libxl_ctx_free(ctx);
    CHECK(fd_regs == 0);
    xlpy_logger_free(lg);
    printf("ok\n");
    return 0;
}
