/* The Xen console ring (xl dmesg): banner, domain lines, clearing reads, wrapping. */
#include "t.h"

/* The whole ring as one string (caller frees), read as xl dmesg does. */
static char *dmesg(libxl_ctx *ctx, int clear)
{
    libxl_xen_console_reader *cr = libxl_xen_console_read_start(ctx, clear);
    CHECK(cr != NULL);
    size_t len = 0;
    char *all = calloc(1, 1), *line = NULL;
    int r;
    while ((r = libxl_xen_console_read_line(ctx, cr, &line)) == 1) {
        size_t n = strlen(line);
        all = realloc(all, len + n + 1);
        memcpy(all + len, line, n + 1);
        len += n;
    }
    CHECK_RC(r, 0);
    CHECK(line == NULL);
    libxl_xen_console_read_finish(ctx, cr);
    return all;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

int main(void)
{
    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    t_reset();

    char *s = dmesg(ctx, 0);
    CHECK(!strncmp(s, "(XEN) [", 7));
    CHECK(strstr(s, "Xen version 4.17.0") != NULL);
    CHECK(strstr(s, "System RAM: 65536MB") != NULL);
    CHECK(s[strlen(s) - 1] == '\n');
    free(s);

    uint32_t domid = t_create(ctx, "cons1", 128, 2);
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);
    CHECK_RC(xlsim_guest_crash(domid), 0);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    s = dmesg(ctx, 1);   /* read and clear */
    char want[128];
    snprintf(want, sizeof(want), "d%u: domain created (PV, 2 vCPUs, 132096 KiB)", domid);
    CHECK(strstr(s, want) != NULL);
    snprintf(want, sizeof(want), "Domain %u (vcpu#0) crashed", domid);
    CHECK(strstr(s, want) != NULL);
    snprintf(want, sizeof(want), "d%u: domain destroyed", domid);
    CHECK(strstr(s, want) != NULL);
    CHECK(strstr(s, "Xen version") != NULL);
    free(s);

    /* Cleared: nothing until the hypervisor prints again. */
    s = dmesg(ctx, 0);
    CHECK(*s == '\0');
    free(s);

    /* Wrapping: the oldest lines go, every remaining line is whole. */
    for (int i = 0; i < 200; i++)
        CHECK_RC(libxl_domain_destroy(ctx, t_create(ctx, "wrap", 16, 1), NULL), 0);
    s = dmesg(ctx, 0);
    CHECK(strlen(s) <= 16384);
    CHECK(!strncmp(s, "(XEN) [", 7));
    CHECK(count(s, "(XEN) [") == count(s, "\n"));
    CHECK(count(s, "domain created") < 200);
    free(s);

    /* A host reset reboots the hypervisor: only the banner. */
    t_reset();
    s = dmesg(ctx, 0);
    CHECK(strstr(s, "domain created") == NULL && strstr(s, "Xen version") != NULL);
    free(s);

    /* Debug keys: each key with a handler prints one line; others print nothing. */
    free(dmesg(ctx, 1));
    char keys[] = "hxd";
    CHECK_RC(libxl_send_debug_keys(ctx, keys), 0);
    s = dmesg(ctx, 0);
    CHECK(count(s, "\n") == 2);
    CHECK(strstr(s, "'h' pressed -> showing installed handlers\n") != NULL);
    CHECK(strstr(s, "'d' pressed -> dumping registers\n") != NULL);
    CHECK(strstr(s, "'x'") == NULL);
    free(s);
    CHECK_RC(libxl_send_debug_keys(ctx, NULL), ERROR_INVAL);

    CHECK_RC(libxl_xen_console_read_line(ctx, NULL, NULL), ERROR_INVAL);
    libxl_xen_console_read_finish(ctx, NULL);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    T_DONE();
}
