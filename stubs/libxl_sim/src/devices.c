/*
 * devices.c: virtual disks and network interfaces of a domain (hot-plug and
 * unplug), as records the simulated backends keep, with I/O counters.
 */
#include "sim_internal.h"

#include <sys/stat.h>

/* libxl__device_disk_set_backend: a local disk without a script must exist (stat), and an
 * unspecified backend becomes phy for a raw file or block device, qdisk otherwise.
 * ERROR_INVAL when it cannot be used. */
int xlsim__disk_backend(const libxl_device_disk *disk, uint32_t domid, int32_t *backend)
{
    struct stat st;
    int format = disk->format ? disk->format : LIBXL_DISK_FORMAT_RAW;
    int local = disk->backend_domid == 0 && !disk->script;
    int checked = format != LIBXL_DISK_FORMAT_EMPTY && local &&
                  (disk->backend == LIBXL_DISK_BACKEND_UNKNOWN ||
                   disk->backend == LIBXL_DISK_BACKEND_PHY);
    *backend = disk->backend;
    if (checked && stat(disk->pdev_path, &st)) {
        LOGD(ERROR, domid, "Disk vdev=%s failed to stat: %s: %s", disk->vdev, disk->pdev_path,
             strerror(errno));
        return ERROR_INVAL;
    }
    if (disk->backend != LIBXL_DISK_BACKEND_UNKNOWN)
        return 0;
    if (format == LIBXL_DISK_FORMAT_EMPTY ||
        (format == LIBXL_DISK_FORMAT_RAW &&
         (!local || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))))
        *backend = LIBXL_DISK_BACKEND_PHY;
    else
        *backend = LIBXL_DISK_BACKEND_QDISK;
    return 0;
}

/* Validate a caller disk into the simulator's record (no lock needed); the caller sets
 * its backend with xlsim__disk_backend, whose failure each call reports its own way. */
int xlsim__disk_from(struct sim_disk *out, const libxl_device_disk *disk, uint32_t domid)
{
    memset(out, 0, sizeof(*out));
    if (!disk->vdev || !disk->vdev[0] || xlsim__copy_str(out->vdev, sizeof(out->vdev), disk->vdev)) {
        LOGD(ERROR, domid, "disk vdev must be 1..%d bytes", XLSIM_VDEV_LEN - 1);
        return ERROR_INVAL;
    }
    if (xlsim__copy_str(out->pdev_path, sizeof(out->pdev_path), disk->pdev_path)) {
        LOGD(ERROR, domid, "disk %s: pdev_path longer than %d bytes", out->vdev,
             XLSIM_PATH_LEN - 1);
        return ERROR_INVAL;
    }
    if (!disk->is_cdrom && !out->pdev_path[0]) {
        LOGD(ERROR, domid, "disk %s: no pdev_path (only a cdrom may be empty)", out->vdev);
        return ERROR_INVAL;
    }
    out->used = 1;
    out->readwrite = disk->readwrite ? 1 : 0;
    out->is_cdrom = disk->is_cdrom ? 1 : 0;
    out->removable = disk->removable ? 1 : 0;
    out->format = disk->format;
    return 0;
}

int xlsim__nic_from(struct sim_nic *out, const libxl_device_nic *nic, uint32_t domid)
{
    memset(out, 0, sizeof(*out));
    if (xlsim__copy_str(out->bridge, sizeof(out->bridge), nic->bridge) ||
        xlsim__copy_str(out->ip, sizeof(out->ip), nic->ip) ||
        xlsim__copy_str(out->model, sizeof(out->model), nic->model) ||
        xlsim__copy_str(out->ifname, sizeof(out->ifname), nic->ifname)) {
        LOGD(ERROR, domid, "nic: bridge, ip, model or ifname too long");
        return ERROR_INVAL;
    }
    /* libxl__device_nic_setdefault: vif-bridge unless given; a relative script lives in
     * Xen's script directory (the path read back, as real Xen 4.17 lists it). */
    const char *script = nic->script && nic->script[0] ? nic->script : "vif-bridge";
    int n = snprintf(out->script, sizeof(out->script), "%s%s",
                     script[0] == '/' ? "" : XLSIM_SCRIPT_DIR "/", script);
    if (n < 0 || (size_t)n >= sizeof(out->script)) {
        LOGD(ERROR, domid, "nic: script too long");
        return ERROR_INVAL;
    }
    static const uint8_t zero[6];
    memcpy(out->mac, nic->mac, 6);
    if (!memcmp(out->mac, zero, 6)) {
        /* libxl picks a random Xen-OUI address. */
        libxl_uuid r;
        libxl_uuid_generate(&r);
        out->mac[0] = 0x00; out->mac[1] = 0x16; out->mac[2] = 0x3e;
        out->mac[3] = r.uuid[0] & 0x7f; out->mac[4] = r.uuid[1]; out->mac[5] = r.uuid[2];
    }
    out->used = 1;
    out->devid = nic->devid;
    out->mtu = nic->mtu ? nic->mtu : 1500;
    out->nictype = nic->nictype;
    return 0;
}

static struct sim_dom *device_domain(uint32_t domid, const char *what)
{
    struct sim_dom *d = xlsim__dom(domid);
    if (!d)
        LOGD(ERROR, domid, "%s: no such domain", what);
    return d;
}

int libxl_device_disk_add(libxl_ctx *ctx, uint32_t domid, libxl_device_disk *disk,
                          const libxl_asyncop_how *ao_how)
{
    struct sim_disk rec;
    xlsim__lock();
    int rc = xlsim__fault("libxl_device_disk_add");
    struct sim_dom *d = rc ? NULL : device_domain(domid, "disk add");
    if (!rc && !d)
        rc = ERROR_FAIL;
    if (!rc && !disk)
        rc = ERROR_INVAL;
    if (!rc)
        rc = xlsim__disk_from(&rec, disk, domid);
    if (!rc)
        rc = xlsim__disk_backend(disk, domid, &rec.backend);
    if (!rc) {
        struct sim_dom_cold *c = xlsim__cold(d);
        int free_i = -1;
        for (int i = 0; i < XLSIM_MAX_DISKS && !rc; i++) {
            if (c->disk[i].used && !strcmp(c->disk[i].vdev, rec.vdev)) {
                LOGD(ERROR, domid, "device already exists in xenstore (disk %s)", rec.vdev);
                rc = ERROR_DEVICE_EXISTS;
            } else if (!c->disk[i].used && free_i < 0) {
                free_i = i;
            }
        }
        if (!rc && free_i < 0) {
            LOGD(ERROR, domid, "at most %d disks per domain", XLSIM_MAX_DISKS);
            rc = ERROR_INVAL;
        }
        if (!rc) {
            rec.io_base_ns = xlsim__cpu_time(d, xlsim__now());
            c->disk[free_i] = rec;
            d->ndisks++;
            xlsim__touch();
            disk->backend = rec.backend;  /* as libxl: its choice goes back to the caller */
        }
    }
    xlsim__unlock_ctx(ctx);
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}

int libxl_device_disk_remove(libxl_ctx *ctx, uint32_t domid, libxl_device_disk *disk,
                             const libxl_asyncop_how *ao_how)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_device_disk_remove");
    if (!rc && (!disk || !disk->vdev)) {
        LOGD(ERROR, domid, "disk remove: vdev required");
        rc = ERROR_INVAL;
    }
    /* libxl__device_from_disk: the backend kind names the xenstore path to remove, so a
     * disk that was not read back (libxl_vdev_to_device_disk) is refused first. */
    if (!rc && disk->backend != LIBXL_DISK_BACKEND_PHY && disk->backend != LIBXL_DISK_BACKEND_TAP &&
        disk->backend != LIBXL_DISK_BACKEND_QDISK) {
        LOGD(ERROR, domid, "Unrecognized disk backend type: %d", (int)disk->backend);
        rc = ERROR_INVAL;
    }
    struct sim_dom *d = rc ? NULL : device_domain(domid, "disk remove");
    if (!rc && !d)
        rc = ERROR_DOMAIN_NOTFOUND;  /* libxl__initiate_device_generic_remove's domain_info */
    if (!rc) {
        /* Real libxl removes what xenstore holds: nothing there is not an error. */
        struct sim_disk *found = xlsim__disk(d, disk->vdev);
        if (found) {
            memset(found, 0, sizeof(*found));
            d->ndisks--;
            xlsim__touch();
        }
    }
    xlsim__unlock_ctx(ctx);
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}

/* libxl__device_disk_dev_number: the number xenstore files a disk under, -1 for a name
 * outside its grammar (xvd<letters>[N], hd[a-d][N], sd[a-p][N], dNpM or a number;
 * partitions without leading zeroes). */
static int xvd_number(long disk, long part)
{
    if (disk < 16 && part < 16)
        return (202 << 8) | (int)(disk << 4) | (int)part;
    return (1 << 28) | (int)(disk << 8) | (int)part;
}

int xlsim__vdev_number(const char *v)
{
    static const struct { const char *prefix; int max_disk, max_part; } kinds[] = {
        {"xvd", (1 << 20) - 1, 255}, {"hd", 3, 63}, {"sd", 15, 15}};
    char *end;
    int disk, part, used = -1;
    if (!v)
        return -1;
    if (sscanf(v, "d%ip%i%n", &disk, &part, &used) >= 2 && used == (int)strlen(v))
        return disk >= 0 && disk < (1 << 20) && part >= 0 && part < 256 ? xvd_number(disk, part)
                                                                        : -1;
    errno = 0;
    unsigned long n = strtoul(v, &end, 0);
    if (*v && !errno && !*end)
        return n <= 0x7fffffffUL ? (int)n : -1;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        size_t pl = strlen(kinds[k].prefix);
        if (strncmp(v, kinds[k].prefix, pl))
            continue;
        const char *p = v + pl;
        long idx = -1, pn = 0;
        while (*p >= 'a' && *p <= 'z') {
            idx = (idx + 1) * 26 + (*p++ - 'a');
            if (idx > kinds[k].max_disk)
                return -1;
        }
        if (idx < 0 || *p == '0')
            return -1;
        if (*p) {
            pn = strtol(p, &end, 10);
            if (*end || pn > kinds[k].max_part)
                return -1;
        }
        if (k == 0)
            return xvd_number(idx, pn);
        if (k == 1)
            return ((idx < 2 ? 3 : 22) << 8) | (int)((idx & 1) << 6) | (int)pn;
        return (8 << 8) | (int)(idx << 4) | (int)pn;
    }
    return -1;
}

static int vdev_valid(const char *v)
{
    return xlsim__vdev_number(v) >= 0;
}

int libxl_vdev_to_device_disk(libxl_ctx *ctx, uint32_t domid, const char *vdev,
                              libxl_device_disk *disk)
{
    if (!vdev || !vdev_valid(vdev))
        return ERROR_INVAL;
    libxl_device_disk_init(disk);
    xlsim__lock();
    int rc = xlsim__fault("libxl_vdev_to_device_disk");
    struct sim_dom *d = rc ? NULL : xlsim__dom(domid);
    struct sim_disk *found = d ? xlsim__disk(d, vdev) : NULL;
    if (!rc && !found) {
        /* What libxl logs when the device's xenstore directory is not there. */
        LOGD(ERROR, domid, "Missing xenstore node /libxl/%u/device/vbd/%s/params",
             (unsigned)domid, vdev);
        rc = ERROR_FAIL;
    }
    if (!rc) {
        /* As read back from xenstore: the format is not recorded there. */
        disk->backend_domid = 0;
        disk->vdev = strdup(found->vdev);
        disk->pdev_path = strdup(found->pdev_path);
        disk->backend = found->backend;
        disk->format = LIBXL_DISK_FORMAT_UNKNOWN;
        disk->readwrite = found->readwrite;
        disk->is_cdrom = found->is_cdrom;
        disk->removable = found->removable;
        if (!disk->vdev || !disk->pdev_path) {
            libxl_device_disk_dispose(disk);
            rc = ERROR_NOMEM;
        }
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}

/* As libxl: the cdrom must already be attached and the domain HVM (a PV guest's media is
 * changed by detaching and attaching the disk). Eject: an empty pdev_path, format EMPTY. */
int libxl_cdrom_insert(libxl_ctx *ctx, uint32_t domid, libxl_device_disk *disk,
                       const libxl_asyncop_how *ao_how)
{
    char path[XLSIM_PATH_LEN];
    xlsim__lock();
    int rc = xlsim__fault("libxl_cdrom_insert");
    struct sim_dom *d = rc ? NULL : device_domain(domid, "cdrom insert");
    if (!rc && !d)
        rc = ERROR_DOMAIN_NOTFOUND;
    if (!rc && (!disk || !disk->vdev)) {
        LOGD(ERROR, domid, "cdrom insert: vdev required");
        rc = ERROR_INVAL;
    }
    if (!rc && d->type != LIBXL_DOMAIN_TYPE_HVM) {
        LOGD(ERROR, domid, "cdrom-insert requires an HVM domain");
        rc = ERROR_INVAL;
    }
    if (!rc && xlsim__copy_str(path, sizeof(path), disk->pdev_path)) {
        LOGD(ERROR, domid, "cdrom insert: pdev_path longer than %d bytes", XLSIM_PATH_LEN - 1);
        rc = ERROR_INVAL;
    }
    if (!rc) {
        struct sim_disk *found = xlsim__disk(d, disk->vdev);
        if (!found) {
            LOGD(ERROR, domid, "Virtual device not found");
            rc = ERROR_FAIL;
        } else if (!found->is_cdrom) {
            LOGD(ERROR, domid, "disk %s is not a cdrom", disk->vdev);
            rc = ERROR_INVAL;
        } else if (path[0] && (rc = xlsim__disk_backend(disk, domid, &(int32_t){0}))) {
            /* libxl__device_disk_setdefault on the new media: it must exist. */
        } else {
            memcpy(found->pdev_path, path, sizeof(path));
            found->format = path[0] ? disk->format : LIBXL_DISK_FORMAT_EMPTY;
            found->io_base_ns = xlsim__cpu_time(d, xlsim__now());  /* new media, new counters */
            xlsim__touch();
        }
    }
    xlsim__unlock_ctx(ctx);
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}

int libxl_device_nic_add(libxl_ctx *ctx, uint32_t domid, libxl_device_nic *nic,
                         const libxl_asyncop_how *ao_how)
{
    struct sim_nic rec;
    xlsim__lock();
    int rc = xlsim__fault("libxl_device_nic_add");
    struct sim_dom *d = rc ? NULL : device_domain(domid, "nic add");
    if (!rc && !d)
        rc = ERROR_FAIL;
    if (!rc && !nic)
        rc = ERROR_INVAL;
    if (!rc)
        rc = xlsim__nic_from(&rec, nic, domid);
    if (!rc) {
        struct sim_dom_cold *c = xlsim__cold(d);
        int free_i = -1, next = 0;
        for (int i = 0; i < XLSIM_MAX_NICS; i++) {
            if (!c->nic[i].used) {
                if (free_i < 0)
                    free_i = i;
                continue;
            }
            if (c->nic[i].devid >= next)
                next = c->nic[i].devid + 1;
            if (rec.devid >= 0 && c->nic[i].devid == rec.devid) {
                LOGD(ERROR, domid, "device already exists in xenstore (nic %d)", rec.devid);
                rc = ERROR_DEVICE_EXISTS;
            }
        }
        if (!rc && free_i < 0) {
            LOGD(ERROR, domid, "at most %d nics per domain", XLSIM_MAX_NICS);
            rc = ERROR_INVAL;
        }
        if (!rc) {
            if (rec.devid < 0)
                rec.devid = next;
            rec.io_base_ns = xlsim__cpu_time(d, xlsim__now());
            c->nic[free_i] = rec;
            d->nnics++;
            xlsim__touch();
            nic->devid = rec.devid;  /* as libxl: the chosen values go back */
            memcpy(nic->mac, rec.mac, 6);
        }
    }
    xlsim__unlock_ctx(ctx);
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}

int libxl_device_nic_remove(libxl_ctx *ctx, uint32_t domid, libxl_device_nic *nic,
                            const libxl_asyncop_how *ao_how)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_device_nic_remove");
    struct sim_dom *d = rc ? NULL : device_domain(domid, "nic remove");
    if (!rc && !d)
        rc = ERROR_DOMAIN_NOTFOUND;  /* libxl__initiate_device_generic_remove's domain_info */
    if (!rc && (!nic || nic->devid < 0)) {
        LOGD(ERROR, domid, "nic remove: devid required");
        rc = ERROR_INVAL;
    }
    if (!rc) {
        /* As on Xen 4.17: removing a devid the domain does not have succeeds (xl looks the
         * nic up first with libxl_devid_to_device_nic). */
        struct sim_nic *found = xlsim__nic(d, nic->devid);
        if (found) {
            memset(found, 0, sizeof(*found));
            d->nnics--;
            xlsim__touch();
        }
    }
    xlsim__unlock_ctx(ctx);
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}

int libxl_devid_to_device_nic(libxl_ctx *ctx, uint32_t domid, int devid,
                              libxl_device_nic *nic)
{
    libxl_device_nic_init(nic);
    xlsim__lock();
    int rc = xlsim__fault("libxl_devid_to_device_nic");
    struct sim_dom *d = rc ? NULL : xlsim__dom(domid);
    struct sim_nic *found = d && devid >= 0 ? xlsim__nic(d, devid) : NULL;
    if (!rc && !found)
        rc = ERROR_FAIL;  /* libxl: no /libxl/<domid>/device/vif/<devid> */
    if (!rc) {
        nic->backend_domid = 0;
        nic->devid = found->devid;
        nic->mtu = found->mtu;
        nic->nictype = found->nictype;
        memcpy(nic->mac, found->mac, 6);
        const char *src[] = {found->bridge, found->ip, found->model, found->ifname,
                             found->script};
        char **dst[] = {&nic->bridge, &nic->ip, &nic->model, &nic->ifname, &nic->script};
        for (int i = 0; i < 5 && !rc; i++)
            if (src[i][0] && !(*dst[i] = strdup(src[i])))
                rc = ERROR_NOMEM;
        if (rc)
            libxl_device_nic_dispose(nic);
    }
    xlsim__unlock_ctx(ctx);
    return rc;
}
