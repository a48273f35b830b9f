/*
 * topology.c: cpupools, CPU and NUMA topology, and a domain's device lists.
 *
 * The simulated host has one cpupool, Pool-0 (id 0, every CPU; the configured scheduler,
 * credit unless the host is configured as Xen 4.17's default, credit2), as a
 * Xen host where no cpupool was created. Its CPUs: nr_nodes sockets, one NUMA node each,
 * cores_per_socket * threads_per_core CPUs per socket (the numbers libxl_get_physinfo
 * reports). Memory is split evenly between the nodes; distances are 10 (local) and 20.
 */
#include "sim_internal.h"

#include <stdarg.h>
#include <stdio.h>

void libxl_cpupoolinfo_init(libxl_cpupoolinfo *p) { memset(p, 0, sizeof(*p)); }
void libxl_cpupoolinfo_dispose(libxl_cpupoolinfo *p)
{
    free(p->pool_name);
    libxl_bitmap_dispose(&p->cpumap);
    memset(p, 0, sizeof(*p));
}

void libxl_cputopology_init(libxl_cputopology *p) { memset(p, 0, sizeof(*p)); }
void libxl_cputopology_dispose(libxl_cputopology *p) { memset(p, 0, sizeof(*p)); }

void libxl_numainfo_init(libxl_numainfo *p) { memset(p, 0, sizeof(*p)); }
void libxl_numainfo_dispose(libxl_numainfo *p)
{
    free(p->dists);
    memset(p, 0, sizeof(*p));
}

/* Lock held. Pool 0 as libxl's cpupool_info fills it. */
static void pool0(libxl_cpupoolinfo *info)
{
    struct sim_state *S = xlsim__S;
    int nr = S->cfg.nr_cpus;
    uint32_t n_dom = 0;

    libxl_cpupoolinfo_init(info);
    info->poolid = 0;
    info->pool_name = xlsim__strdup("Pool-0");  /* libxl_cpupoolid_to_name's name for 0 */
    info->sched = (libxl_scheduler)S->cfg.scheduler;
    for (int i = 0; i < XLSIM_SLOTS; i++)
        if (S->dom[i].in_use && S->dom[i].cpupool == 0)
            n_dom++;
    info->n_dom = n_dom;
    libxl_bitmap_alloc(NULL, &info->cpumap, nr);
    for (int c = 0; c < nr; c++)
        libxl_bitmap_set(&info->cpumap, c);
}

libxl_cpupoolinfo *libxl_list_cpupool(libxl_ctx *ctx, int *nb_pool_out)
{
    libxl_cpupoolinfo *list = NULL;

    *nb_pool_out = 0;
    xlsim__lock();
    if (!xlsim__fault("libxl_list_cpupool")) {
        list = xlsim__calloc(1, sizeof(*list));
        pool0(list);
        *nb_pool_out = 1;
    }
    xlsim__unlock_ctx(ctx);
    return list;
}

void libxl_cpupoolinfo_list_free(libxl_cpupoolinfo *list, int nb_pool)
{
    if (!list)
        return;
    for (int i = 0; i < nb_pool; i++)
        libxl_cpupoolinfo_dispose(&list[i]);
    free(list);
}

int libxl_cpupool_info(libxl_ctx *ctx, libxl_cpupoolinfo *info, uint32_t poolid)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_cpupool_info");
    if (!rc && poolid != 0) {
        /* libxl: xc_cpupool_getinfo finds no such pool (errno ENOENT). */
        xlsim__log(XTL_ERROR, ENOENT, "failed to get info for cpupool%u", (unsigned)poolid);
        rc = ERROR_FAIL;
    }
    if (!rc)
        pool0(info);
    xlsim__unlock_ctx(ctx);
    return rc;
}

libxl_cputopology *libxl_get_cpu_topology(libxl_ctx *ctx, int *nb_cpu_out)
{
    libxl_cputopology *list = NULL;

    *nb_cpu_out = 0;
    xlsim__lock();
    if (!xlsim__fault("libxl_get_cpu_topology")) {
        const xlsim_host_config *c = &xlsim__S->cfg;
        int tpc = c->threads_per_core;
        int cps = c->nr_cpus / c->nr_nodes / tpc;
        list = xlsim__calloc((size_t)c->nr_cpus, sizeof(*list));
        for (int i = 0; i < c->nr_cpus; i++) {
            list[i].core = (uint32_t)((i / tpc) % cps);
            list[i].socket = (uint32_t)(i / (tpc * cps));
            list[i].node = list[i].socket;
        }
        *nb_cpu_out = c->nr_cpus;
    }
    xlsim__unlock_ctx(ctx);
    return list;
}

void libxl_cputopology_list_free(libxl_cputopology *list, int nb_cpu)
{
    (void)nb_cpu;
    free(list);
}

libxl_numainfo *libxl_get_numainfo(libxl_ctx *ctx, int *nr)
{
    libxl_numainfo *list = NULL;

    *nr = 0;
    xlsim__lock();
    if (!xlsim__fault("libxl_get_numainfo")) {
        const xlsim_host_config *c = &xlsim__S->cfg;
        int n = c->nr_nodes;
        uint64_t free_kb = xlsim__free_kb(xlsim__now());
        list = xlsim__calloc((size_t)n, sizeof(*list));
        for (int i = 0; i < n; i++) {
            /* Bytes, as libxl reports them (xl prints size >> 20). */
            list[i].size = c->total_memkb / (uint64_t)n * 1024;
            list[i].free = free_kb / (uint64_t)n * 1024;
            list[i].num_dists = n;
            list[i].dists = xlsim__calloc((size_t)n, sizeof(uint32_t));
            for (int j = 0; j < n; j++)
                list[i].dists[j] = i == j ? 10 : 20;
        }
        *nr = n;
    }
    xlsim__unlock_ctx(ctx);
    return list;
}

void libxl_numainfo_list_free(libxl_numainfo *list, int nr)
{
    if (!list)
        return;
    for (int i = 0; i < nr; i++)
        libxl_numainfo_dispose(&list[i]);
    free(list);
}

/* As libxl__device_list: a domain without devices, or no domain at all, reads as an
 * empty directory in xenstore: NULL and *num = 0, no error code. Disks come back as
 * libxl_vdev_to_device_disk reads them (format UNKNOWN: xenstore does not keep it). */
libxl_device_disk *libxl_device_disk_list(libxl_ctx *ctx, uint32_t domid, int *num)
{
    libxl_device_disk *list = NULL;
    int n = 0;

    *num = 0;
    xlsim__lock();
    struct sim_dom *d = xlsim__fault("libxl_device_disk_list") ? NULL : xlsim__dom(domid);
    if (d && d->ndisks) {
        struct sim_dom_cold *c = xlsim__cold(d);
        list = xlsim__calloc(XLSIM_MAX_DISKS, sizeof(*list));
        for (int i = 0; i < XLSIM_MAX_DISKS; i++) {
            const struct sim_disk *s = &c->disk[i];
            if (!s->used)
                continue;
            libxl_device_disk *o = &list[n++];
            libxl_device_disk_init(o);
            o->backend_domid = 0;
            o->vdev = xlsim__strdup(s->vdev);
            o->pdev_path = xlsim__strdup(s->pdev_path);
            o->backend = s->backend;
            o->format = LIBXL_DISK_FORMAT_UNKNOWN;
            o->readwrite = s->readwrite;
            o->is_cdrom = s->is_cdrom;
            o->removable = s->removable;
        }
        if (!n) {
            free(list);
            list = NULL;
        }
    }
    xlsim__unlock_ctx(ctx);
    *num = n;
    return list;
}

void libxl_device_disk_list_free(libxl_device_disk *list, int num)
{
    if (!list)
        return;
    for (int i = 0; i < num; i++)
        libxl_device_disk_dispose(&list[i]);
    free(list);
}

libxl_device_nic *libxl_device_nic_list(libxl_ctx *ctx, uint32_t domid, int *num)
{
    libxl_device_nic *list = NULL;
    int n = 0;

    *num = 0;
    xlsim__lock();
    struct sim_dom *d = xlsim__fault("libxl_device_nic_list") ? NULL : xlsim__dom(domid);
    if (d && d->nnics) {
        struct sim_dom_cold *c = xlsim__cold(d);
        list = xlsim__calloc(XLSIM_MAX_NICS, sizeof(*list));
        /* In devid order, as libxl lists xenstore's vif directory (numeric entries). */
        const struct sim_nic *order[XLSIM_MAX_NICS];
        int m = 0;
        for (int i = 0; i < XLSIM_MAX_NICS; i++) {
            if (!c->nic[i].used)
                continue;
            int j = m++;
            for (; j > 0 && order[j - 1]->devid > c->nic[i].devid; j--)
                order[j] = order[j - 1];
            order[j] = &c->nic[i];
        }
        for (int k = 0; k < m; k++) {
            const struct sim_nic *s = order[k];
            libxl_device_nic *o = &list[n++];
            libxl_device_nic_init(o);
            o->backend_domid = 0;
            o->devid = s->devid;
            o->mtu = s->mtu;
            o->nictype = s->nictype;
            memcpy(o->mac, s->mac, 6);
            o->bridge = s->bridge[0] ? xlsim__strdup(s->bridge) : NULL;
            o->ip = s->ip[0] ? xlsim__strdup(s->ip) : NULL;
            o->model = s->model[0] ? xlsim__strdup(s->model) : NULL;
            o->ifname = s->ifname[0] ? xlsim__strdup(s->ifname) : NULL;
            o->script = s->script[0] ? xlsim__strdup(s->script) : NULL;
        }
        if (!n) {
            free(list);
            list = NULL;
        }
    }
    xlsim__unlock_ctx(ctx);
    *num = n;
    return list;
}

void libxl_device_nic_list_free(libxl_device_nic *list, int num)
{
    if (!list)
        return;
    for (int i = 0; i < num; i++)
        libxl_device_nic_dispose(&list[i]);
    free(list);
}

/* libxl_device_{disk,nic}_getinfo read xenstore: the backend path from libxl's own record
 * (/libxl/<domid>/device/<kind>/<devid>/backend: absent for an absent domain or device,
 * ERROR_FAIL with nothing logged), then the frontend's state, event-channel and ring refs,
 * -1 for each node the frontend has not written. A guest that never ran has only libxl's
 * initial frontend state (1, Initialising); a running guest's frontends connect at once
 * (4). Its event channels and grant refs are the guest's own numbers: here fixed by the
 * device's slot, so stable while it is attached and distinct between devices. A nic's
 * event channel reads -1 even when connected (split tx/rx channels, below). */
#define XLSIM_STATE_INITIALISING 1
#define XLSIM_STATE_CONNECTED 4

static char *path_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *path_dup(const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return xlsim__strdup(buf);
}

int libxl_device_disk_getinfo(libxl_ctx *ctx, uint32_t domid,
                              const libxl_device_disk *disk, libxl_diskinfo *diskinfo)
{
    int devid = disk ? xlsim__vdev_number(disk->vdev) : -1;
    int rc = 0;

    diskinfo->backend = NULL;
    diskinfo->devid = devid;
    xlsim__lock();
    rc = xlsim__fault("libxl_device_disk_getinfo");
    struct sim_dom *d = rc ? NULL : xlsim__dom(domid);
    int slot = -1;
    if (d && devid >= 0) {
        struct sim_dom_cold *c = xlsim__cold(d);
        for (int i = 0; i < XLSIM_MAX_DISKS && slot < 0; i++)
            if (c->disk[i].used && xlsim__vdev_number(c->disk[i].vdev) == devid)
                slot = i;
    }
    if (!rc && slot < 0)
        rc = ERROR_FAIL;
    if (!rc) {
        const struct sim_disk *s = &xlsim__cold(d)->disk[slot];
        const char *kind = s->backend == LIBXL_DISK_BACKEND_QDISK ? "qdisk" : "vbd";
        diskinfo->backend = path_dup("/local/domain/0/backend/%s/%u/%d", kind, (unsigned)domid,
                                     devid);
        diskinfo->backend_id = 0;
        diskinfo->frontend = path_dup("/local/domain/%u/device/vbd/%d", (unsigned)domid, devid);
        diskinfo->frontend_id = domid;
        if (d->has_run) {
            diskinfo->state = XLSIM_STATE_CONNECTED;
            diskinfo->evtch = 20 + slot;
            diskinfo->rref = 8 + slot;
        } else {
            diskinfo->state = XLSIM_STATE_INITIALISING;
            diskinfo->evtch = -1;
            diskinfo->rref = -1;
        }
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}

int libxl_device_nic_getinfo(libxl_ctx *ctx, uint32_t domid,
                             const libxl_device_nic *nic, libxl_nicinfo *nicinfo)
{
    int rc = 0;

    nicinfo->backend = NULL;
    nicinfo->devid = nic ? nic->devid : -1;
    xlsim__lock();
    rc = xlsim__fault("libxl_device_nic_getinfo");
    struct sim_dom *d = rc ? NULL : xlsim__dom(domid);
    int slot = -1;
    if (d && nic) {
        struct sim_dom_cold *c = xlsim__cold(d);
        for (int i = 0; i < XLSIM_MAX_NICS && slot < 0; i++)
            if (c->nic[i].used && c->nic[i].devid == nic->devid)
                slot = i;
    }
    if (!rc && slot < 0)
        rc = ERROR_FAIL;
    if (!rc) {
        nicinfo->backend = path_dup("/local/domain/0/backend/vif/%u/%d", (unsigned)domid,
                                    nic->devid);
        nicinfo->backend_id = 0;
        nicinfo->frontend = path_dup("/local/domain/%u/device/vif/%d", (unsigned)domid, nic->devid);
        nicinfo->frontend_id = domid;
        if (d->has_run) {
            nicinfo->state = XLSIM_STATE_CONNECTED;
            /* Linux netback offers split event channels and netfront takes them: it writes
             * event-channel-tx/-rx, not the event-channel libxl reads (real Xen: -1). */
            nicinfo->evtch = -1;
            nicinfo->rref_tx = 768 + 2 * slot;
            nicinfo->rref_rx = 769 + 2 * slot;
        } else {
            nicinfo->state = XLSIM_STATE_INITIALISING;
            nicinfo->evtch = -1;
            nicinfo->rref_tx = -1;
            nicinfo->rref_rx = -1;
        }
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}
