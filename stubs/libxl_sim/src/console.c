/*
 * console.c: Xen's console ring, as `xl dmesg` reads it. The hypervisor's
 * messages (boot banner, domain creation, crash, destruction) are appended to a
 * fixed ring in the shared state, so every process sees the same log; old bytes
 * are overwritten once it wraps, and a clearing read empties it.
 */
#include "sim_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

/* A reader holds a snapshot taken at read_start; read_line hands it out a line
 * at a time (libxl hands out chunks of the ring: callers concatenate). */
struct libxl__xen_console_reader {
    char *text;
    size_t len, pos;
    char *line;                       /* the last line returned, owned here */
};

static void ring_put(const char *s, size_t n)
{
    struct sim_cons *c = &xlsim__S->cons;
    for (size_t i = 0; i < n; i++)
        c->buf[(c->head + i) % XLSIM_CONS_RING] = s[i];
    c->head += n;
}

/* The rest of a console line after its `n`-byte time stamp: the message, cut to fit, and a
 * newline. Returns the line's length. */
__attribute__((format(printf, 4, 0)))
static size_t end_line(char *line, size_t size, int n, const char *fmt, va_list ap)
{
    int m = vsnprintf(line + n, size - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > size - 2)
        len = size - 2;
    line[len++] = '\n';
    return len;
}

void xlsim__cons(const char *fmt, ...)
{
    char line[512];
    uint64_t now = xlsim__now(), boot = xlsim__S->cons.boot_ns;
    uint64_t up = (now > boot ? now - boot : 0) / 1000;  /* Xen stamps lines with its uptime */
    int n = snprintf(line, sizeof(line), "(XEN) [%7llu.%06llu] ",
                     (unsigned long long)(up / 1000000 % 10000000),
                     (unsigned long long)(up % 1000000));
    va_list ap;
    va_start(ap, fmt);
    size_t len = end_line(line, sizeof(line), n, fmt, ap);
    va_end(ap);
    ring_put(line, len);
}

void xlsim__cons_boot(void)
{
    struct sim_state *S = xlsim__S;
    S->cons.head = S->cons.clear_mark = 0;
    S->cons.boot_ns = xlsim__now();
    xlsim__cons("Xen version 4.17.0 (libxl_sim) (gcc (Debian 12.2.0-14) 12.2.0) debug=n");
    xlsim__cons("Command line: placeholder dom0_mem=%lluK,max:%lluK dom0_max_vcpus=%d",
                (unsigned long long)S->cfg.dom0_memkb, (unsigned long long)S->cfg.dom0_memkb,
                S->cfg.dom0_vcpus);
    xlsim__cons("System RAM: %lluMB (%llukB)", (unsigned long long)(S->cfg.total_memkb / 1024),
                (unsigned long long)S->cfg.total_memkb);
    xlsim__cons("Brought up %d CPUs", S->cfg.nr_cpus);
    xlsim__cons("Using scheduler: SMP Credit Scheduler (credit)");
    xlsim__cons("*** LOADING DOMAIN 0 ***");
    xlsim__cons("Dom0 has maximum %d VCPUs", S->cfg.dom0_vcpus);
}

/* Xen's debug keys (x86, 4.17): what each key's handler prints first. Keys without a
 * handler are ignored by Xen, and here. */
static const struct {
    char key;
    const char *said;
} debug_keys[] = {
    {'0', "dumping Dom0's registers"},   {'H', "dumping heap info"},
    {'a', "dumping timer queues"},       {'c', "dumping ACPI Cx structures"},
    {'d', "dumping registers"},          {'e', "dumping event-channel info"},
    {'g', "dumping grant table info"},   {'h', "showing installed handlers"},
    {'i', "dumping interrupt bindings"}, {'m', "dumping memory info"},
    {'n', "dumping NMI statistics"},     {'q', "dumping domain info"},
    {'r', "dumping run queues"},         {'t', "dumping multi-cpu clock info"},
    {'u', "dumping NUMA info"},          {'z', "dumping IOAPIC info"},
};

int libxl_send_debug_keys(libxl_ctx *ctx, char *keys)
{
    if (!keys)
        return ERROR_INVAL;
    if (xlsim__init())
        return ERROR_FAIL;
    xlsim__lock();
    for (const char *k = keys; *k; k++)
        for (size_t i = 0; i < sizeof(debug_keys) / sizeof(debug_keys[0]); i++)
            if (debug_keys[i].key == *k)
                xlsim__cons("'%c' pressed -> %s", *k, debug_keys[i].said);
    xlsim__unlock_ctx(ctx);
    return 0;
}

libxl_xen_console_reader *libxl_xen_console_read_start(libxl_ctx *ctx, int clear)
{
    if (xlsim__init())
        return NULL;
    libxl_xen_console_reader *cr = xlsim__calloc(1, sizeof(*cr));
    xlsim__lock();
    struct sim_cons *c = &xlsim__S->cons;
    uint64_t from = c->head > XLSIM_CONS_RING ? c->head - XLSIM_CONS_RING : 0;
    if (c->clear_mark > from)
        from = c->clear_mark;
    cr->len = (size_t)(c->head - from);
    cr->text = xlsim__calloc(cr->len + 1, 1);
    for (size_t i = 0; i < cr->len; i++)
        cr->text[i] = c->buf[(from + i) % XLSIM_CONS_RING];
    /* A wrapped ring starts mid-line: skip to the first whole line, as a reader would see. */
    if (from && from != c->clear_mark) {
        char *nl = memchr(cr->text, '\n', cr->len);
        cr->pos = nl ? (size_t)(nl - cr->text) + 1 : cr->len;
    }
    if (clear)
        c->clear_mark = c->head;
    xlsim__unlock_ctx(ctx);
    return cr;
}

int libxl_xen_console_read_line(libxl_ctx *ctx, libxl_xen_console_reader *cr, char **line_r)
{
    (void)ctx;
    if (!cr || !line_r)
        return ERROR_INVAL;
    free(cr->line);
    cr->line = NULL;
    if (cr->pos >= cr->len) {
        *line_r = NULL;
        return 0;
    }
    const char *start = cr->text + cr->pos;
    const char *nl = memchr(start, '\n', cr->len - cr->pos);
    size_t n = nl ? (size_t)(nl - start) + 1 : cr->len - cr->pos;
    cr->line = xlsim__calloc(n + 1, 1);
    memcpy(cr->line, start, n);
    cr->pos += n;
    *line_r = cr->line;
    return 1;
}

void libxl_xen_console_read_finish(libxl_ctx *ctx, libxl_xen_console_reader *cr)
{
    (void)ctx;
    if (!cr)
        return;
    free(cr->line);
    free(cr->text);
    free(cr);
}

/* ---- the guest's own console (hvc0) ---- */

/* The console's tty, as xenconsoled keeps one per guest on Xen. Ptys cannot live in
 * the shared state: each process that asks gets its own (kept here, under the sim
 * lock), raw, its master non-blocking (output is dropped while nobody reads). */
#define XLSIM_GTTYS 64
struct gtty {
    uint32_t domid;
    uint8_t boot_id[16];
    int master;                       /* -1: free */
    char path[64];
};
static struct gtty gttys[XLSIM_GTTYS];
static int gttys_init;

static struct gtty *gtty_of(uint32_t domid)
{
    if (!gttys_init) {
        for (int i = 0; i < XLSIM_GTTYS; i++)
            gttys[i].master = -1;
        gttys_init = 1;
    }
    for (int i = 0; i < XLSIM_GTTYS; i++)
        if (gttys[i].master >= 0 && gttys[i].domid == domid)
            return &gttys[i];
    return NULL;
}

static void gtty_put(struct gtty *t, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(t->master, s, n);
        if (w <= 0)
            return;                   /* full (EAGAIN) or gone: the output is dropped */
        s += w;
        n -= (size_t)w;
    }
}

void xlsim__gtty_close(uint32_t domid)
{
    struct gtty *t = gtty_of(domid);
    if (t) {
        close(t->master);
        t->master = -1;
    }
}

int libxl_primary_console_get_tty(libxl_ctx *ctx, uint32_t domid_vm, char **path)
{
    if (!path)
        return ERROR_INVAL;
    xlsim__lock();
    int rc = xlsim__fault("libxl_primary_console_get_tty");
    struct sim_dom *d = rc ? NULL : xlsim__dom(domid_vm);
    if (!rc && !d) {
        /* As real Xen 4.17: libxl__primary_console_find asks for the domain's type first. */
        LOG(ERROR, "unable to get domain type for domid=%u", domid_vm);
        rc = ERROR_INVAL;
    } else if (!rc && domid_vm == 0) {
        /* dom0's console is Xen's own (hvc0); xenconsoled makes no tty for it. */
        xlsim__log(XTL_ERROR, ENOENT, "Unable to read console tty path "
                   "`/local/domain/0/console/tty'");
        rc = ERROR_FAIL;
    }
    if (!rc) {
        struct gtty *t = gtty_of(domid_vm);
        if (t && memcmp(t->boot_id, d->boot_id, 16)) {   /* a new guest under that domid */
            xlsim__gtty_close(domid_vm);
            t = NULL;
        }
        if (!t) {
            for (int i = 0; i < XLSIM_GTTYS && !t; i++)
                if (gttys[i].master < 0)
                    t = &gttys[i];
            int m = t ? posix_openpt(O_RDWR | O_NOCTTY) : -1;
            struct termios tio;
            if (m < 0 || grantpt(m) || unlockpt(m)
                || ptsname_r(m, t->path, sizeof(t->path)) || tcgetattr(m, &tio)) {
                LOG(ERROR, "cannot make a console tty for domain %u: %s", domid_vm,
                    t ? strerror(errno) : "too many");
                if (m >= 0)
                    close(m);
                rc = ERROR_FAIL;
            } else {
                cfmakeraw(&tio);
                tcsetattr(m, TCSANOW, &tio);
                fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
                fcntl(m, F_SETFD, FD_CLOEXEC);
                t->master = m;
                t->domid = domid_vm;
                memcpy(t->boot_id, d->boot_id, 16);
                struct sim_dom_cold *c = xlsim__cold(d);
                gtty_put(t, c->gcons, c->gcons_len);     /* what it wrote so far */
            }
        }
        if (!rc) {
            *path = strdup(t->path);
            if (!*path)
                rc = ERROR_NOMEM;
        }
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}

void xlsim__gcons(struct sim_dom *d, uint64_t now, const char *fmt, ...)
{
    struct sim_dom_cold *c = xlsim__cold(d);
    char line[256];
    uint64_t up = xlsim__uptime(d, now) / 1000;  /* the guest stamps lines with its uptime */
    int n = snprintf(line, sizeof(line), "[%5llu.%06llu] ",
                     (unsigned long long)(up / 1000000 % 100000),
                     (unsigned long long)(up % 1000000));
    va_list ap;
    va_start(ap, fmt);
    size_t len = end_line(line, sizeof(line), n, fmt, ap);
    va_end(ap);
    if (c->gcons_len + len > XLSIM_GUEST_CONS) {
        /* Drop the oldest whole lines to make room. */
        size_t drop = c->gcons_len + len - XLSIM_GUEST_CONS;
        char *nl = memchr(c->gcons + drop, '\n', c->gcons_len - drop);
        drop = nl ? (size_t)(nl - c->gcons) + 1 : c->gcons_len;
        memmove(c->gcons, c->gcons + drop, c->gcons_len - drop);
        c->gcons_len -= (uint32_t)drop;
    }
    memcpy(c->gcons + c->gcons_len, line, len);
    c->gcons_len += (uint32_t)len;
    struct gtty *t = gtty_of(d->domid);
    if (t && !memcmp(t->boot_id, d->boot_id, 16))
        gtty_put(t, line, len);
}

void xlsim__guest_boot(struct sim_dom *d)
{
    libxl_uuid u;
    libxl_uuid_generate(&u);
    memcpy(d->boot_id, u.uuid, 16);
    d->uptime_base_ns = 0;
    d->guest_resumes = 0;
    xlsim__cold(d)->gcons_len = 0;
    xlsim__gcons(d, xlsim__now(), "Linux version 6.1.0-sim (Debian 6.1.0-sim) #1 SMP");
    xlsim__gcons(d, xlsim__now(), "random: boot_id " LIBXL_UUID_FMT,
                 LIBXL_UUID_BYTES(u));
}
