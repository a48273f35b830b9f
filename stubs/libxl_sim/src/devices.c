/*
 * devices.c: virtual disks and network interfaces of a domain (hot-plug and
 * unplug), as records the simulated backends keep, with I/O counters.
 */
#include "sim_internal.h"

/* Validate a caller disk into the simulator's record (no lock needed). */
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
    out->backend = disk->backend;
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
    struct sim_dom *d = rc ? NULL : device_domain(domid, "disk remove");
    if (!rc && !d)
        rc = ERROR_DOMAIN_NOTFOUND;  /* libxl__initiate_device_generic_remove's domain_info */
    if (!rc && (!disk || !disk->vdev)) {
        LOGD(ERROR, domid, "disk remove: vdev required");
        rc = ERROR_INVAL;
    }
    if (!rc) {
        struct sim_disk *found = xlsim__disk(d, disk->vdev);
        if (found) {
            memset(found, 0, sizeof(*found));
            d->ndisks--;
            xlsim__touch();
        } else {
            LOGD(ERROR, domid, "disk remove: no disk %s", disk->vdev);
            rc = ERROR_NOTFOUND;
        }
    }
    xlsim__unlock_ctx(ctx);
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
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
        struct sim_dom_cold *c = xlsim__cold(d);
        rc = ERROR_NOTFOUND;
        for (int i = 0; i < XLSIM_MAX_NICS; i++) {
            if (c->nic[i].used && c->nic[i].devid == nic->devid) {
                memset(&c->nic[i], 0, sizeof(c->nic[i]));
                d->nnics--;
                xlsim__touch();
                rc = 0;
                break;
            }
        }
        if (rc)
            LOGD(ERROR, domid, "nic remove: no nic %d", nic->devid);
    }
    xlsim__unlock_ctx(ctx);
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}
