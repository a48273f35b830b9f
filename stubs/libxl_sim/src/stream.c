/*
 * stream.c: the save / migration stream that libxl_domain_suspend writes and
 * libxl_domain_create_restore reads, laid out as Xen 4.17's libxl v2 stream
 * (docs/specs/libxl-migration-stream.pandoc): a big-endian header "LibxlFmt",
 * version 2, then 8-octet aligned records {type, length, body}; a LIBXC_CONTEXT
 * record is followed by the libxc stream (libxc-migration-stream.pandoc: image
 * header "XENF", domain header, PAGE_DATA records, END); the libxl END record
 * closes it. Nothing is sought or truncated: any fd works (file, pipe, socket),
 * and the reader consumes exactly the stream, so a caller may go on using the
 * fd afterwards (xl's migration protocol does).
 *
 * What the simulator puts in it: every page of the guest's allocation (4 KiB
 * each, tagged with its pfn and the round that sent it) and two records of its
 * own, which real libxc does not define: XLSIM_DOMAIN (what the domain was:
 * uuid, name, type, memory, vCPUs, page count) first, XLSIM_GUEST (the guest's
 * own state: boot id, uptime, resume count, hvc0 console) after the last pages.
 *
 * Live (LIBXL_SUSPEND_LIVE): pre-copy rounds while the guest runs, as libxc's
 * send_memory_live: all pages, then the pages the guest dirtied meanwhile (its
 * load x online vCPUs x XLSIM_DIRTY_PAGES_PER_VCPU_S), until fewer than 50 are
 * dirty or after 5 rounds; then the guest suspends (shutdown reason SUSPEND) and
 * the last dirty pages go. Not live: the guest suspends first, then one round.
 */
#include "sim_internal.h"

#include <endian.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* libxl (tools/libs/light/libxl_sr_stream_format.h) */
#define SR_IDENT          0x4c6962786c466d74ULL   /* "LibxlFmt" */
#define SR_VERSION        2u
#define SR_OPT_BIG_ENDIAN (1u << 0)
#define SR_OPT_LEGACY     (1u << 1)
#define SR_REC_END           0x00000000u
#define SR_REC_LIBXC_CONTEXT 0x00000001u
/* libxc (tools/libs/guest/xg_sr_stream_format.h) */
#define XC_MARKER       0xffffffffffffffffULL
#define XC_ID           0x58454e46u               /* "XENF" */
#define XC_VERSION      3u
#define XC_DOM_X86_PV   1u
#define XC_DOM_X86_HVM  2u
#define XC_REC_END       0x00000000u
#define XC_REC_PAGE_DATA 0x00000001u
/* The simulator's own records: types real libxc does not define. */
#define XC_REC_XLSIM_DOMAIN 0x58530001u
#define XC_REC_XLSIM_GUEST  0x58530002u

#define PAGE 4096u
#define BATCH 512u                                /* pages per PAGE_DATA record */
#define REC_MAX (16u + 8u * BATCH + PAGE * BATCH)
#define LIVE_MAX_ROUNDS 5                         /* libxc's defaults */
#define LIVE_DIRTY_THRESHOLD 50
#define XLSIM_DIRTY_PAGES_PER_VCPU_S 25600ULL     /* 100 MiB/s for a fully loaded vCPU */

struct ihdr { uint64_t marker; uint32_t id, version; uint16_t options, res1; uint32_t res2; };
struct dhdr { uint32_t type; uint16_t page_shift, res1; uint32_t xen_major, xen_minor; };

struct rec_domain {
    uint8_t uuid[16];
    char name[XLSIM_NAME_LEN];
    uint32_t type, max_vcpus, online_vcpus, domid;
    uint64_t static_max_kb, target_kb, pages;
};

struct rec_guest {
    uint8_t boot_id[16];
    uint64_t uptime_ns;
    uint32_t resumes, cons_len;
    /* cons_len bytes of console follow */
};

_Static_assert(sizeof(struct ihdr) == 24 && sizeof(struct dhdr) == 16, "libxc headers");
_Static_assert(sizeof(struct rec_domain) % 8 == 0 && sizeof(struct rec_guest) % 8 == 0,
               "records stay aligned");

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- writing ---- */

struct out {
    int fd;
    int sock;                         /* 1 socket (send, no SIGPIPE), 0 other, -1 unknown */
    uint8_t *buf;                     /* one PAGE_DATA record */
};

static int put(struct out *o, const void *p, size_t len)
{
    const char *b = p;
    while (len) {
        ssize_t r;
        if (o->sock != 0) {
            r = send(o->fd, b, len, MSG_NOSIGNAL);
            if (r < 0 && errno == ENOTSOCK) {
                o->sock = 0;
                continue;
            }
            if (r >= 0)
                o->sock = 1;
        } else {
            r = write(o->fd, b, len);
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            LOG(ERROR, "writing the stream to fd %d: %s", o->fd, strerror(errno));
            return ERROR_FAIL;
        }
        b += r;
        len -= (size_t)r;
    }
    return 0;
}

/* A record: header, body, zero padding to 8 octets. */
static int put_rec(struct out *o, uint32_t type, const void *body, uint32_t len)
{
    static const uint8_t zero[8];
    uint32_t h[2] = { type, len };
    int rc = put(o, h, sizeof(h));
    if (!rc && len)
        rc = put(o, body, len);
    if (!rc && (len & 7))
        rc = put(o, zero, 8 - (len & 7));
    return rc;
}

/* count pages from pfn start (wrapping at pages), each tagged {pfn, round}. */
static int put_pages(struct out *o, uint64_t start, uint64_t count, uint64_t pages,
                     uint64_t round)
{
    while (count) {
        uint32_t n = count < BATCH ? (uint32_t)count : BATCH;
        uint8_t *b = o->buf;
        uint32_t len = 8 + 8 * n + PAGE * n;
        memcpy(b, &(uint32_t){ XC_REC_PAGE_DATA }, 4);
        memcpy(b + 4, &len, 4);
        memcpy(b + 8, &n, 4);
        memset(b + 12, 0, 4);
        uint8_t *pfns = b + 16, *data = pfns + 8 * n;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t pfn = (start + i) % pages;
            memcpy(pfns + 8 * i, &pfn, 8);
            memcpy(data + (size_t)PAGE * i, &pfn, 8);
            memcpy(data + (size_t)PAGE * i + 8, &round, 8);
        }
        int rc = put(o, b, 8 + len);   /* len is a multiple of 8: no padding */
        if (rc)
            return rc;
        start = (start + n) % pages;
        count -= n;
    }
    return 0;
}

/* Lock held: is the instance still there and running? */
static struct sim_dom *same(uint32_t domid, uint64_t serial)
{
    struct sim_dom *d = xlsim__dom(domid);
    if (!d || d->serial != serial) {
        LOGD(ERROR, domid, "domain vanished during suspend");
        return NULL;
    }
    xlsim__settle(d, xlsim__now());
    return d;
}

int xlsim__save_stream(libxl_ctx *ctx, uint32_t domid, uint64_t serial, int fd, int live)
{
    struct out o = { .fd = fd, .sock = -1, .buf = xlsim__calloc(1, REC_MAX) };
    struct rec_domain rd;
    memset(&rd, 0, sizeof(rd));
    int rc = 0;

    xlsim__lock();
    struct sim_dom *d = same(domid, serial);
    if (!d) {
        rc = ERROR_FAIL;
    } else {
        memcpy(rd.uuid, d->uuid, 16);
        memcpy(rd.name, d->name, sizeof(rd.name));
        rd.type = d->type == LIBXL_DOMAIN_TYPE_PV ? XC_DOM_X86_PV : XC_DOM_X86_HVM;
        rd.max_vcpus = d->max_vcpus;
        rd.online_vcpus = d->online_vcpus;
        rd.domid = domid;
        rd.static_max_kb = d->static_max_kb;
        rd.target_kb = d->target_kb;
        rd.pages = (xlsim__current_kb(d, xlsim__now()) + 3) / 4;
        if (!rd.pages)
            rd.pages = 1;
    }
    xlsim__unlock_ctx(ctx);
    if (rc)
        goto out;

    struct { uint64_t ident; uint32_t version, options; } hdr = {
        htobe64(SR_IDENT), htobe32(SR_VERSION), htobe32(0) };
    struct ihdr ih = { htobe64(XC_MARKER), htobe32(XC_ID), htobe32(XC_VERSION), 0, 0, 0 };
    struct dhdr dh = { rd.type, 12, 0, 4, 17 };
    rc = put(&o, &hdr, sizeof(hdr));
    if (!rc)
        rc = put_rec(&o, SR_REC_LIBXC_CONTEXT, NULL, 0);
    if (!rc)
        rc = put(&o, &ih, sizeof(ih));
    if (!rc)
        rc = put(&o, &dh, sizeof(dh));
    if (!rc)
        rc = put_rec(&o, XC_REC_XLSIM_DOMAIN, &rd, sizeof(rd));

    uint64_t start = 0, count = rd.pages, round = 1;
    for (int r = 0; live && !rc; r++, round++) {
        uint64_t t0 = mono_ns();
        rc = put_pages(&o, start, count, rd.pages, round);
        uint64_t rate = 0;
        xlsim__lock();
        if (!rc)
            rc = xlsim__fault("libxl_domain_suspend/live");
        if (!rc && !(d = same(domid, serial)))
            rc = ERROR_FAIL;
        if (!rc && d->shutdown) {
            LOGD(ERROR, domid, "guest shut down (reason %d) during the live phase",
                 d->shutdown_reason);
            rc = ERROR_FAIL;
        }
        if (!rc && xlsim__accruing(d))
            rate = (uint64_t)d->load_ppm * d->online_vcpus * XLSIM_DIRTY_PAGES_PER_VCPU_S /
                   1000000u;
        xlsim__unlock_ctx(ctx);
        if (rc)
            break;
        uint64_t dirty = (uint64_t)((unsigned __int128)rate * (mono_ns() - t0) / 1000000000u);
        if (dirty > rd.pages)
            dirty = rd.pages;
        /* The guest's writes land somewhere else each round. */
        start = (start + count + 7919u * (uint64_t)r) % rd.pages;
        count = dirty;
        if (dirty < LIVE_DIRTY_THRESHOLD || r + 1 >= LIVE_MAX_ROUNDS)
            break;
    }
    if (rc)
        goto out;

    /* The guest suspends: from here on it is shut down with reason SUSPEND and the
     * caller must resume it (suspend_cancel) or destroy it. */
    struct rec_guest rg;
    char cons[XLSIM_GUEST_CONS];
    memset(&rg, 0, sizeof(rg));
    xlsim__lock();
    if (!(d = same(domid, serial))) {
        rc = ERROR_FAIL;
    } else if (!(rc = xlsim__suspendable(d, domid))) {
        uint64_t now = xlsim__now();
        xlsim__gcons(d, now, "PM: suspending for %s", live ? "migration" : "save");
        xlsim__guest_shutdown(d, LIBXL_SHUTDOWN_REASON_SUSPEND, now);
        struct sim_dom_cold *c = xlsim__cold(d);
        memcpy(rg.boot_id, d->boot_id, 16);
        rg.uptime_ns = xlsim__uptime(d, now);
        rg.resumes = d->guest_resumes;
        rg.cons_len = c->gcons_len;
        memcpy(cons, c->gcons, c->gcons_len);
        rc = xlsim__fault("libxl_domain_suspend/suspended");
    }
    xlsim__unlock_ctx(ctx);
    if (!rc)
        rc = put_pages(&o, start, count, rd.pages, round);
    if (!rc) {
        /* One record: the fixed part and the console. */
        uint32_t len = (uint32_t)sizeof(rg) + rg.cons_len;
        memcpy(o.buf, &rg, sizeof(rg));
        memcpy(o.buf + sizeof(rg), cons, rg.cons_len);
        rc = put_rec(&o, XC_REC_XLSIM_GUEST, o.buf, len);
    }
    if (!rc)
        rc = put_rec(&o, XC_REC_END, NULL, 0);
    if (!rc)
        rc = put_rec(&o, SR_REC_END, NULL, 0);
out:
    xlsim__flush(ctx->lg, "libxl");
    free(o.buf);
    return rc;
}

/* ---- reading ---- */

struct in {
    int fd;
    uint8_t *buf;
    uint32_t type, len;               /* the last record read */
};

static int get(struct in *in, void *p, size_t len, const char *what)
{
    char *b = p;
    while (len) {
        ssize_t r = read(in->fd, b, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            LOG(ERROR, "reading %s from fd %d: %s", what, in->fd, strerror(errno));
            return ERROR_FAIL;
        }
        if (r == 0) {
            LOG(ERROR, "unexpected end of stream on fd %d (reading %s): truncated", in->fd,
                what);
            return ERROR_FAIL;
        }
        b += r;
        len -= (size_t)r;
    }
    return 0;
}

/* The next record into in->buf (padding consumed). */
static int get_rec(struct in *in, const char *what)
{
    uint32_t h[2];
    int rc = get(in, h, sizeof(h), what);
    if (rc)
        return rc;
    in->type = h[0];
    in->len = h[1];
    if (in->len > REC_MAX) {
        LOG(ERROR, "record type 0x%08x length %u exceeds the maximum %u", in->type, in->len,
            REC_MAX);
        return ERROR_FAIL;
    }
    uint32_t padded = (in->len + 7) & ~7u;
    return padded ? get(in, in->buf, padded, what) : 0;
}

/* Lock held: the restoring instance, or NULL. */
static struct sim_dom *mine(uint32_t domid, uint64_t serial)
{
    struct sim_dom *d = xlsim__dom(domid);
    if (!d || d->serial != serial) {
        LOGD(ERROR, domid, "domain vanished during restore");
        return NULL;
    }
    return d;
}

static int read_body(struct in *in, uint32_t domid, uint64_t serial, const libxl_domain_config *dc)
{
    struct { uint64_t ident; uint32_t version, options; } hdr;
    struct ihdr ih;
    struct dhdr dh;
    int rc = get(in, &hdr, sizeof(hdr), "the libxl header");
    if (rc)
        return rc;
    if (be64toh(hdr.ident) != SR_IDENT) {
        LOG(ERROR, "Invalid ident: expected 0x%016llx, got 0x%016llx",
            (unsigned long long)SR_IDENT, (unsigned long long)be64toh(hdr.ident));
        return ERROR_FAIL;
    }
    if (be32toh(hdr.version) != SR_VERSION) {
        LOG(ERROR, "Invalid Version: Expected %u, Got %u", SR_VERSION, be32toh(hdr.version));
        return ERROR_FAIL;
    }
    if (be32toh(hdr.options) & (SR_OPT_BIG_ENDIAN | SR_OPT_LEGACY)) {
        LOG(ERROR, "Unable to handle stream options 0x%x", be32toh(hdr.options));
        return ERROR_FAIL;
    }
    if ((rc = get_rec(in, "the libxc context record")))
        return rc;
    if (in->type != SR_REC_LIBXC_CONTEXT) {
        LOG(ERROR, "unexpected libxl record type 0x%08x (expected LIBXC_CONTEXT)", in->type);
        return ERROR_FAIL;
    }
    if ((rc = get(in, &ih, sizeof(ih), "the libxc image header")) ||
        (rc = get(in, &dh, sizeof(dh), "the libxc domain header")))
        return rc;
    if (be64toh(ih.marker) != XC_MARKER || be32toh(ih.id) != XC_ID ||
        be32toh(ih.version) != XC_VERSION) {
        LOG(ERROR, "libxc: Invalid image header (marker 0x%016llx id 0x%08x version %u)",
            (unsigned long long)be64toh(ih.marker), be32toh(ih.id), be32toh(ih.version));
        return ERROR_FAIL;
    }
    uint32_t want = dc->c_info.type == LIBXL_DOMAIN_TYPE_PV ? XC_DOM_X86_PV : XC_DOM_X86_HVM;
    if (dh.type != want || dh.page_shift != 12) {
        LOG(ERROR, "libxc: Invalid domain type %u (page shift %u) for a %s domain", dh.type,
            dh.page_shift, want == XC_DOM_X86_PV ? "PV" : "HVM");
        return ERROR_FAIL;
    }
    if ((rc = get_rec(in, "the domain record")))
        return rc;
    struct rec_domain rd;
    if (in->type != XC_REC_XLSIM_DOMAIN || in->len != sizeof(rd)) {
        LOG(ERROR, "libxc: unexpected record type 0x%08x length %u (expected the domain record)",
            in->type, in->len);
        return ERROR_FAIL;
    }
    memcpy(&rd, in->buf, sizeof(rd));
    if (!rd.pages || rd.pages * 4 > dc->b_info.max_memkb) {
        LOG(ERROR, "libxc: the stream holds %llu pages, the domain has room for %llu",
            (unsigned long long)rd.pages, (unsigned long long)(dc->b_info.max_memkb / 4));
        return ERROR_FAIL;
    }

    uint8_t *seen = xlsim__calloc(1, (size_t)(rd.pages + 7) / 8);
    uint64_t nseen = 0;
    int guest = 0, fault_checked = 0;
    for (;;) {
        if ((rc = get_rec(in, "a libxc record")))
            break;
        if (in->type == XC_REC_END)
            break;
        if (in->type == XC_REC_PAGE_DATA) {
            uint32_t n;
            memcpy(&n, in->buf, 4);
            if (n == 0 || n > BATCH || in->len != 8 + 8 * n + PAGE * n) {
                LOG(ERROR, "libxc: PAGE_DATA record of %u pages has length %u", n, in->len);
                rc = ERROR_FAIL;
                break;
            }
            const uint8_t *pfns = in->buf + 8, *data = pfns + 8 * n;
            for (uint32_t i = 0; i < n && !rc; i++) {
                uint64_t pfn, tag;
                memcpy(&pfn, pfns + 8 * i, 8);
                memcpy(&tag, data + (size_t)PAGE * i, 8);
                if (pfn >= rd.pages || tag != pfn) {
                    LOG(ERROR, "libxc: page %u of a batch: pfn %#llx, data of pfn %#llx "
                        "(%llu pages)", i, (unsigned long long)pfn, (unsigned long long)tag,
                        (unsigned long long)rd.pages);
                    rc = ERROR_FAIL;
                } else if (!(seen[pfn / 8] & (1u << (pfn % 8)))) {
                    seen[pfn / 8] |= (uint8_t)(1u << (pfn % 8));
                    nseen++;
                }
            }
            if (!rc && !fault_checked) {
                fault_checked = 1;
                xlsim__lock();
                rc = xlsim__fault("libxl_domain_create_restore/stream");
                xlsim__unlock();
            }
            if (rc)
                break;
        } else if (in->type == XC_REC_XLSIM_GUEST) {
            struct rec_guest rg;
            if (in->len < sizeof(rg)) {
                rc = ERROR_FAIL;
            } else {
                memcpy(&rg, in->buf, sizeof(rg));
                if (rg.cons_len > XLSIM_GUEST_CONS || in->len != sizeof(rg) + rg.cons_len)
                    rc = ERROR_FAIL;
            }
            if (rc) {
                LOG(ERROR, "libxc: malformed guest state record (length %u)", in->len);
                break;
            }
            xlsim__lock();
            struct sim_dom *d = mine(domid, serial);
            if (!d) {
                rc = ERROR_FAIL;
            } else {
                struct sim_dom_cold *c = xlsim__cold(d);
                memcpy(d->boot_id, rg.boot_id, 16);
                d->uptime_base_ns = rg.uptime_ns;
                d->guest_resumes = rg.resumes;
                c->gcons_len = rg.cons_len;
                memcpy(c->gcons, in->buf + sizeof(rg), rg.cons_len);
                xlsim__touch();
            }
            xlsim__unlock();
            if (rc)
                break;
            guest = 1;
        } else {
            LOG(ERROR, "libxc: unknown mandatory record type 0x%08x", in->type);
            rc = ERROR_FAIL;
            break;
        }
    }
    free(seen);
    if (rc)
        return rc;
    if (nseen != rd.pages || !guest) {
        LOG(ERROR, "libxc: stream ended with %llu of %llu pages%s", (unsigned long long)nseen,
            (unsigned long long)rd.pages, guest ? "" : " and no guest state");
        return ERROR_FAIL;
    }
    if ((rc = get_rec(in, "the libxl END record")))
        return rc;
    if (in->type != SR_REC_END) {
        LOG(ERROR, "unexpected libxl record type 0x%08x after the libxc stream", in->type);
        return ERROR_FAIL;
    }
    return 0;
}

int xlsim__restore_stream(libxl_ctx *ctx, libxl_domain_config *dc, uint32_t *domid, int fd)
{
    int rc = xlsim__create(ctx, dc, domid, "libxl_domain_create_restore");
    if (rc)
        return rc;
    uint64_t serial = 0;
    xlsim__lock();
    struct sim_dom *d = xlsim__dom(*domid);
    if (d)
        serial = d->serial;
    xlsim__unlock();

    struct in in = { .fd = fd, .buf = xlsim__calloc(1, REC_MAX) };
    rc = read_body(&in, *domid, serial, dc);
    free(in.buf);

    xlsim__lock();
    if (!(d = mine(*domid, serial))) {
        rc = rc ? rc : ERROR_FAIL;
    } else if (rc) {
        /* As libxl's domcreate_complete: a failed restore destroys what it built. */
        LOGD(ERROR, *domid, "restore failed (rc %d): destroying the domain", rc);
        xlsim__free_domain(d);
    } else {
        d->guest_resumes++;
        xlsim__gcons(d, xlsim__now(), "PM: resumed on a new domain (domid %u)",
                     (unsigned)*domid);
        xlsim__touch();
    }
    xlsim__unlock_ctx(ctx);
    if (rc)
        *domid = (uint32_t)INVALID_DOMID;
    return rc;
}
