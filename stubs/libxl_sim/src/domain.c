/*
 * domain.c: creating (new and from a save image), destroying and renaming
 * domains, and the domid allocator (Xen 4.17's: increasing from the last
 * auto-allocated id, wrapping below DOMID_FIRST_RESERVED, skipping live ones).
 */
#include "sim_internal.h"

#include <stdio.h>
#include <unistd.h>

/* A validated creation request, built before anything changes. */
struct plan {
    char name[XLSIM_NAME_LEN];
    uint8_t uuid[16];
    int type;
    uint32_t ssidref, poolid, want_domid;
    uint32_t max_vcpus;
    uint8_t online[XLSIM_MAX_VCPUS / 8];
    uint8_t hard[XLSIM_MAX_VCPUS][XLSIM_CPUMAP_BYTES];
    uint8_t soft[XLSIM_MAX_VCPUS][XLSIM_CPUMAP_BYTES];
    uint64_t target_kb, static_max_kb;
    uint32_t weight, cap;
    uint32_t ndisks, nnics;
    struct sim_disk disk[XLSIM_MAX_DISKS];
    struct sim_nic nic[XLSIM_MAX_NICS];
};

static void all_cpus(uint8_t *map, int nr_cpus)
{
    memset(map, 0, XLSIM_CPUMAP_BYTES);
    for (int i = 0; i < nr_cpus; i++)
        map[i / 8] |= (uint8_t)(1u << (i % 8));
}

static int nonempty(const libxl_bitmap *b)
{
    return b->map && b->size && !libxl_bitmap_is_empty(b);
}

/* Lock held (reads the host's cpu count). */
static int plan_from_config(struct plan *p, const libxl_domain_config *dc)
{
    const libxl_domain_create_info *ci = &dc->c_info;
    const libxl_domain_build_info *bi = &dc->b_info;
    int nr_cpus = xlsim__S->cfg.nr_cpus;

    p->type = ci->type != LIBXL_DOMAIN_TYPE_INVALID ? ci->type : bi->type;
    if (p->type != LIBXL_DOMAIN_TYPE_HVM && p->type != LIBXL_DOMAIN_TYPE_PV &&
        p->type != LIBXL_DOMAIN_TYPE_PVH) {
        LOG(ERROR, "domain type not set or invalid (c_info.type %d, b_info.type %d)",
            ci->type, bi->type);
        return ERROR_INVAL;
    }
    if (bi->type != LIBXL_DOMAIN_TYPE_INVALID && bi->type != p->type) {
        LOG(ERROR, "c_info.type %d does not match b_info.type %d", ci->type, bi->type);
        return ERROR_INVAL;
    }
    if (!ci->name || !ci->name[0]) {
        LOG(ERROR, "a domain name is required");
        return ERROR_INVAL;
    }
    if (xlsim__copy_str(p->name, sizeof(p->name), ci->name)) {
        LOG(ERROR, "domain name longer than %d bytes", XLSIM_NAME_LEN - 1);
        return ERROR_INVAL;
    }
    /* A nil uuid stays nil: libxl 4.17 passes it to Xen as the handle (xl, not
     * libxl, generates uuids); observed on real Xen. */
    memcpy(p->uuid, ci->uuid.uuid, 16);
    p->ssidref = ci->ssidref;
    p->poolid = ci->poolid;
    if (p->poolid != 0) {
        LOG(ERROR, "cpupool %u does not exist (the simulated host has pool 0 only)", p->poolid);
        return ERROR_INVAL;
    }
    p->want_domid = ci->domid;
    if (p->want_domid != (uint32_t)INVALID_DOMID && p->want_domid != (uint32_t)RANDOM_DOMID &&
        p->want_domid >= XLSIM_NR_DOMIDS) {
        LOG(ERROR, "requested domid %u is reserved", p->want_domid);
        return ERROR_INVAL;
    }

    int mv = bi->max_vcpus ? bi->max_vcpus : 1;
    if (mv < 0 || mv > XLSIM_MAX_VCPUS) {
        LOG(ERROR, "max_vcpus %d out of range 1..%d", bi->max_vcpus, XLSIM_MAX_VCPUS);
        return ERROR_INVAL;
    }
    p->max_vcpus = (uint32_t)mv;
    p->weight = XLSIM_SCHED_WEIGHT;
    p->cap = 0;
    int src = xlsim__sched_resolve(&bi->sched_params, p->max_vcpus, &p->weight, &p->cap);
    if (src)
        return src;
    if (bi->avail_vcpus.size && bi->avail_vcpus.map) {
        if (xlsim__bitmap_bits_from(p->online, sizeof(p->online), &bi->avail_vcpus, mv)) {
            LOG(ERROR, "avail_vcpus has vCPUs beyond max_vcpus %d", mv);
            return ERROR_INVAL;
        }
        if (!xlsim__popcount(p->online, sizeof(p->online))) {
            LOG(ERROR, "avail_vcpus is empty: a domain needs at least one vCPU");
            return ERROR_INVAL;
        }
    } else {
        for (int v = 0; v < mv; v++)
            p->online[v / 8] |= (uint8_t)(1u << (v % 8));
    }
    if (bi->num_vcpu_hard_affinity > mv || bi->num_vcpu_soft_affinity > mv ||
        bi->num_vcpu_hard_affinity < 0 || bi->num_vcpu_soft_affinity < 0) {
        LOG(ERROR, "more vCPU affinity maps than max_vcpus %d", mv);
        return ERROR_INVAL;
    }
    for (int v = 0; v < mv; v++) {
        const libxl_bitmap *h = NULL;
        if (v < bi->num_vcpu_hard_affinity && bi->vcpu_hard_affinity)
            h = &bi->vcpu_hard_affinity[v];
        else if (nonempty(&bi->cpumap))
            h = &bi->cpumap;
        if (h) {
            xlsim__bitmap_bits_from(p->hard[v], XLSIM_CPUMAP_BYTES, h, nr_cpus);
            if (!xlsim__popcount(p->hard[v], XLSIM_CPUMAP_BYTES)) {
                LOG(ERROR, "vCPU %d: hard affinity has no pCPU of this host", v);
                return ERROR_FAIL;
            }
        } else {
            all_cpus(p->hard[v], nr_cpus);
        }
        if (v < bi->num_vcpu_soft_affinity && bi->vcpu_soft_affinity &&
            nonempty(&bi->vcpu_soft_affinity[v]))
            xlsim__bitmap_bits_from(p->soft[v], XLSIM_CPUMAP_BYTES, &bi->vcpu_soft_affinity[v],
                                    nr_cpus);
        else
            all_cpus(p->soft[v], nr_cpus);
    }

    /* libxl's defaults: one of max/target gives the other; neither gives 32 MiB. */
    uint64_t maxkb = bi->max_memkb, target = bi->target_memkb;
    if (maxkb == LIBXL_MEMKB_DEFAULT && target == LIBXL_MEMKB_DEFAULT)
        maxkb = target = 32 * 1024;
    else if (maxkb == LIBXL_MEMKB_DEFAULT)
        maxkb = target;
    else if (target == LIBXL_MEMKB_DEFAULT)
        target = maxkb;
    if (target == 0 || target > maxkb) {
        LOG(ERROR, "target_memkb %llu must be between 1 and max_memkb %llu",
            (unsigned long long)target, (unsigned long long)maxkb);
        return ERROR_INVAL;
    }
    p->target_kb = target;
    p->static_max_kb = maxkb;

    if (dc->num_disks < 0 || dc->num_disks > XLSIM_MAX_DISKS ||
        dc->num_nics < 0 || dc->num_nics > XLSIM_MAX_NICS) {
        LOG(ERROR, "at most %d disks and %d nics per domain", XLSIM_MAX_DISKS, XLSIM_MAX_NICS);
        return ERROR_INVAL;
    }
    for (int i = 0; i < dc->num_disks; i++) {
        int32_t backend;
        /* initiate_domain_create: a disk libxl cannot set up fails the create as a whole. */
        if (xlsim__disk_backend(&dc->disks[i], 0, &backend)) {
            LOG(ERROR, "Unable to set disk defaults for disk %d", i);
            return ERROR_FAIL;
        }
        int rc = xlsim__disk_from(&p->disk[i], &dc->disks[i], 0);
        if (rc)
            return rc;
        p->disk[i].backend = backend;
        for (int j = 0; j < i; j++)
            if (!strcmp(p->disk[j].vdev, p->disk[i].vdev)) {
                LOG(ERROR, "disk %s given twice", p->disk[i].vdev);
                return ERROR_DEVICE_EXISTS;
            }
    }
    p->ndisks = (uint32_t)dc->num_disks;
    int next_devid = 0;
    for (int i = 0; i < dc->num_nics; i++)
        if (dc->nics[i].devid >= next_devid)
            next_devid = dc->nics[i].devid + 1;
    for (int i = 0; i < dc->num_nics; i++) {
        int rc = xlsim__nic_from(&p->nic[i], &dc->nics[i], 0);
        if (rc)
            return rc;
        if (p->nic[i].devid < 0)
            p->nic[i].devid = next_devid++;
        for (int j = 0; j < i; j++)
            if (p->nic[j].devid == p->nic[i].devid) {
                LOG(ERROR, "nic devid %d given twice", p->nic[i].devid);
                return ERROR_DEVICE_EXISTS;
            }
    }
    p->nnics = (uint32_t)dc->num_nics;
    return 0;
}

static uint32_t random_u32(void)
{
    libxl_uuid u;
    libxl_uuid_generate(&u);
    uint32_t r;
    memcpy(&r, u.uuid, sizeof(r));
    return r;
}

/* Lock held. */
static int alloc_domid(uint32_t want, uint32_t *out)
{
    struct sim_state *S = xlsim__S;
    if (want == (uint32_t)RANDOM_DOMID) {
        for (int tries = 0; tries < 64; tries++) {
            uint32_t dom = 1 + random_u32() % (XLSIM_NR_DOMIDS - 1);
            if (S->slot_of[dom] < 0) {
                *out = dom;
                return 0;
            }
        }
        want = 0;  /* crowded: fall back to the rover */
    }
    if (want != 0 && want != (uint32_t)INVALID_DOMID) {
        if (S->slot_of[want] >= 0) {
            LOG(ERROR, "domain id %u is already in use", want);
            return ERROR_FAIL;
        }
        *out = want;
        return 0;
    }
    uint32_t dom = S->rover;
    for (int i = 0; i < XLSIM_NR_DOMIDS; i++) {
        dom++;
        if (dom >= XLSIM_NR_DOMIDS)
            dom = 1;
        if (S->slot_of[dom] < 0) {
            S->rover = dom;
            *out = dom;
            return 0;
        }
    }
    LOG(ERROR, "no free domain id");
    return ERROR_FAIL;
}

static int name_in_use(const char *name, uint32_t except_domid)
{
    struct sim_state *S = xlsim__S;
    for (int i = 0; i < XLSIM_SLOTS; i++)
        if (S->dom[i].in_use && S->dom[i].domid != except_domid && !strcmp(S->dom[i].name, name))
            return 1;
    return 0;
}

/* libxl__bootloader_run (libxl 4.17) for a new PV/PVH domain with a bootloader: the boot
 * disk is the config's first disk (initiate_domain_create); without one the run fails, rc
 * ERROR_FAIL, after the domain was made (its domid is used up) and it is destroyed again. A
 * first disk with no pdev_path (an empty CD drive) trips libxl's
 * assert(in_disk->pdev_path) in libxl__device_disk_local_initiate_attach, which aborts the
 * toolstack process on real Xen: the simulator refuses the create instead. */
static int run_bootloader(const libxl_domain_config *dc, int type, uint32_t domid)
{
    const libxl_domain_build_info *bi = &dc->b_info;
    const char *bootloader = bi->bootloader;
    if (!bootloader && type == LIBXL_DOMAIN_TYPE_PV)
        bootloader = bi->u.pv.bootloader;     /* the deprecated field, copied by setdefault */
    if (type == LIBXL_DOMAIN_TYPE_HVM || !bootloader)
        return 0;
    if (dc->num_disks <= 0) {
        xlsim__log(XTL_ERROR, -1, "libxl__bootloader_run: Domain %u:cannot run bootloader "
                   "with no boot disk", (unsigned)domid);
    } else if (!dc->disks[0].pdev_path) {
        xlsim__log(XTL_ERROR, -1, "libxl__device_disk_local_initiate_attach: Assertion "
                   "`in_disk->pdev_path' failed (the boot disk, the first, is empty)");
    } else {
        return 0;
    }
    xlsim__log(XTL_ERROR, -1, "domcreate_rebuild_done: Domain %u:cannot (re-)build domain: %d",
               (unsigned)domid, ERROR_FAIL);
    return ERROR_FAIL;
}

/* Lock held: everything validated first, then one commit. */
static int create_locked(libxl_domain_config *dc, struct plan *p, uint32_t *domid_out,
                         int restoring)
{
    struct sim_state *S = xlsim__S;
    int rc = plan_from_config(p, dc);
    if (rc)
        return rc;
    if (name_in_use(p->name, (uint32_t)INVALID_DOMID)) {
        LOG(ERROR, "domain with name \"%s\" already exists", p->name);
        return ERROR_INVAL;
    }
    if (!S->nfree) {
        LOG(ERROR, "the simulated host holds at most %d domains", XLSIM_MAX_DOMAINS);
        return ERROR_FAIL;
    }
    uint64_t now = xlsim__now();
    uint64_t free_kb = xlsim__free_kb(now);
    if (p->target_kb > free_kb) {
        /* Real Xen 4.17 fails the build in libxenguest, rc ERROR_FAIL, nothing left. */
        LOG(ERROR, "xc: panic: meminit_pv: failed to allocate 0x%llx pages (%llu KiB free)",
            (unsigned long long)(p->target_kb / 4), (unsigned long long)free_kb);
        LOG(ERROR, "domcreate_rebuild_done: cannot (re-)build domain %s: -3", p->name);
        return ERROR_FAIL;
    }
    uint32_t domid;
    rc = alloc_domid(p->want_domid, &domid);
    if (rc)
        return rc;
    if (!restoring) {       /* a restore does not run the bootloader */
        rc = run_bootloader(dc, p->type, domid);
        if (rc)
            return rc;
    }

    int slot = S->free_slots[--S->nfree];
    struct sim_dom *d = &S->dom[slot];
    struct sim_dom_cold *c = &S->cold[slot];
    memset(d, 0, sizeof(*d));
    memset(c, 0, sizeof(*c));
    d->domid = domid;
    d->serial = ++S->next_serial;
    d->start_s = xlsim__now() / 1000000000u;
    memcpy(d->uuid, p->uuid, 16);
    d->type = p->type;
    d->ssidref = p->ssidref;
    d->cpupool = p->poolid;
    d->pause_count = 1;  /* created paused, as Xen: the toolstack unpauses */
    d->shutdown_reason = LIBXL_SHUTDOWN_REASON_UNKNOWN;
    d->pending_reason = -2;
    d->shutdown_delay_ms = S->cfg.shutdown_delay_ms;
    d->max_vcpus = p->max_vcpus;
    d->sched_weight = p->weight;
    d->sched_cap = p->cap;
    d->load_ppm = XLSIM_DEFAULT_LOAD_PPM;
    d->since_ns = d->mem_since_ns = now;
    d->mem_from_kb = d->target_kb = p->target_kb;
    d->static_max_kb = p->static_max_kb;
    d->max_kb = p->static_max_kb + XLSIM_MAXMEM_CONSTANT;
    memcpy(d->name, p->name, sizeof(d->name));
    for (uint32_t v = 0; v < p->max_vcpus; v++) {
        c->vcpu[v].online = (p->online[v / 8] >> (v % 8)) & 1;
        d->online_vcpus += c->vcpu[v].online;
        memcpy(c->vcpu[v].hard, p->hard[v], XLSIM_CPUMAP_BYTES);
        memcpy(c->vcpu[v].soft, p->soft[v], XLSIM_CPUMAP_BYTES);
    }
    memcpy(c->disk, p->disk, sizeof(p->disk[0]) * p->ndisks);
    memcpy(c->nic, p->nic, sizeof(p->nic[0]) * p->nnics);
    d->ndisks = p->ndisks;
    d->nnics = p->nnics;
    d->in_use = 1;
    xlsim__guest_boot(d);  /* a restore replaces this with the stream's guest state */
    S->slot_of[domid] = (int16_t)slot;
    S->live[domid / 64] |= 1ULL << (domid % 64);
    S->ndoms++;
    xlsim__cons("d%u: domain created (%s, %u vCPUs, %llu KiB)", (unsigned)domid,
                d->type == LIBXL_DOMAIN_TYPE_PV ? "PV" : d->type == LIBXL_DOMAIN_TYPE_PVH ? "PVH"
                                                                                 : "HVM",
                (unsigned)d->max_vcpus, (unsigned long long)d->max_kb);
    xlsim__touch();
    *domid_out = domid;
    return 0;
}

/* As libxl, the defaults chosen are written back into the caller's config. */
static void write_back(libxl_domain_config *dc, const struct plan *p)
{
    dc->b_info.max_vcpus = (int)p->max_vcpus;
    dc->b_info.max_memkb = p->static_max_kb;
    dc->b_info.target_memkb = p->target_kb;
    dc->b_info.sched_params.sched = (libxl_scheduler)xlsim__S->cfg.scheduler;
    for (uint32_t i = 0; i < p->nnics; i++) {
        dc->nics[i].devid = p->nic[i].devid;
        memcpy(dc->nics[i].mac, p->nic[i].mac, 6);
    }
}

int xlsim__create(libxl_ctx *ctx, libxl_domain_config *dc, uint32_t *domid, const char *fn)
{
    if (!dc || !domid)
        return ERROR_INVAL;
    *domid = (uint32_t)INVALID_DOMID;
    struct plan *p = xlsim__calloc(1, sizeof(*p));
    xlsim__lock();
    int rc = xlsim__fault(fn);
    if (!rc)
        rc = create_locked(dc, p, domid, strcmp(fn, "libxl_domain_create_new") != 0);
    if (!rc)    /* libxl reports its steps at debug level (dropped unless asked for) */
        LOGD(DEBUG, *domid, "%s: domain built, %u vCPUs, %llu KiB", fn,
             (unsigned)dc->b_info.max_vcpus, (unsigned long long)dc->b_info.target_memkb);
    xlsim__unlock_ctx(ctx);
    if (!rc)
        write_back(dc, p);
    free(p);
    return rc;
}

static void console_available(libxl_ctx *ctx, const libxl_asyncprogress_how *how, uint32_t domid)
{
    if (!how)
        return;
    /* libxl__event_new fills domid and for_user only (domuuid stays nil). */
    libxl_event *ev = xlsim__calloc(1, sizeof(*ev));
    libxl_event_init(ev);
    libxl_event_init_type(ev, LIBXL_EVENT_TYPE_DOMAIN_CREATE_CONSOLE_AVAILABLE);
    ev->domid = domid;
    ev->for_user = how->for_event;
    if (how->callback)
        how->callback(ctx, ev, how->for_callback);  /* the callback owns the event */
    else
        xlsim__emit(ctx, ev);
}

int libxl_domain_create_new(libxl_ctx *ctx, libxl_domain_config *d_config, uint32_t *domid,
                            const libxl_asyncop_how *ao_how,
                            const libxl_asyncprogress_how *aop_console_how)
{
    int rc = xlsim__create(ctx, d_config, domid, "libxl_domain_create_new");
    if (!rc)
        console_available(ctx, aop_console_how, *domid);
    return xlsim__ao_complete(ctx, ao_how, domid ? *domid : (uint32_t)INVALID_DOMID, rc);
}

int libxl_domain_create_restore(libxl_ctx *ctx, libxl_domain_config *d_config, uint32_t *domid,
                                int restore_fd, int send_back_fd,
                                const libxl_domain_restore_params *params,
                                const libxl_asyncop_how *ao_how,
                                const libxl_asyncprogress_how *aop_console_how)
{
    (void)send_back_fd;
    int rc = 0;
    if (domid)
        *domid = (uint32_t)INVALID_DOMID;
    if (!d_config || !domid) {
        rc = ERROR_INVAL;
    } else if (params && params->checkpointed_stream != 0) {
        xlsim__log(XTL_ERROR, -1, "checkpointed streams (Remus/COLO) are not simulated");
        rc = ERROR_INVAL;
    } else if (params && params->stream_version != 2) {
        /* libxl_domain_suspend writes a v2 stream (xl restore sets stream_version 2 from
         * its header). The init value, 1, sends the image through convert-legacy-stream,
         * which does not take a v2 stream (on Xen 4.17 in a dom0 without the converter
         * the restoring process crashed). */
        xlsim__log(XTL_ERROR, -1, "restore: stream_version %u: the image is a v2 stream "
                   "(libxl_domain_suspend); set stream_version = 2",
                   (unsigned)params->stream_version);
        rc = ERROR_FAIL;
    }
    xlsim__flush(ctx->lg, "libxl");
    /* As libxl: the domain is built (paused), then the stream is read into it; a bad or
     * truncated stream destroys it again. */
    if (!rc)
        rc = xlsim__restore_stream(ctx, d_config, domid, restore_fd);
    if (!rc)
        console_available(ctx, aop_console_how, *domid);
    return xlsim__ao_complete(ctx, ao_how, domid ? *domid : (uint32_t)INVALID_DOMID, rc);
}

int libxl_domain_destroy(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_domain_destroy");
    if (!rc) {
        struct sim_dom *d = xlsim__dom(domid);
        if (!d) {
            LOGD(ERROR, domid, "Non-existant domain");
            rc = ERROR_DOMAIN_NOTFOUND;
        } else if (domid == 0) {
            /* Xen refuses to destroy the hardware domain: the hypercall fails. */
            LOGD(ERROR, domid, "xc_domain_destroy failed: cannot destroy dom0");
            rc = ERROR_FAIL;
        } else {
            xlsim__free_domain(d);
        }
    }
    xlsim__unlock_ctx(ctx);
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}

int libxl_domain_rename(libxl_ctx *ctx, uint32_t domid, const char *old_name,
                        const char *new_name)
{
    /* As libxl__domain_rename: NULL is ERROR_INVAL, a non-empty name must be unique
     * (ERROR_INVAL), a wrong old name is ERROR_FAIL; an empty name is allowed. */
    char buf[XLSIM_NAME_LEN];
    if (!new_name || xlsim__copy_str(buf, sizeof(buf), new_name)) {
        LOGD(ERROR, domid, "%s", new_name ? "New domain name too long for the simulator"
                                          : "New domain name not specified");
        xlsim__flush(ctx->lg, "libxl");
        return ERROR_INVAL;
    }
    xlsim__lock();
    int rc = xlsim__fault("libxl_domain_rename");
    if (!rc) {
        struct sim_dom *d = xlsim__dom(domid);
        if (buf[0] && name_in_use(buf, domid)) {
            LOGD(ERROR, domid, "Domain with name \"%s\" already exists.", buf);
            rc = ERROR_INVAL;
        } else if (!d && old_name) {
            LOGD(ERROR, domid, "Check old name for domain allegedly named `%s'", old_name);
            rc = ERROR_FAIL;
        } else if (!d) {
            rc = ERROR_DOMAIN_NOTFOUND;  /* from its libxl_domain_info */
        } else if (old_name && strcmp(old_name, d->name)) {
            LOGD(ERROR, domid, "Allegedly named `%s' is actually named `%s' - racing ?",
                 old_name, d->name);
            rc = ERROR_FAIL;
        } else {
            memcpy(d->name, buf, sizeof(d->name));
            xlsim__touch();
        }
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}
