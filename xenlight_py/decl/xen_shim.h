/* xen_shim.h: C helpers compiled into the xen target only.
 *
 * The sample's device counters (shim.h) on a real host: libxl has no call for them, so they
 * are blkback's and netback's counters in dom0's sysfs (what xentop shows). No guest agent
 * counters: they are the simulator's. */
#include <errno.h>

static int xlpy_sysfs_u64(const char *path, uint64_t *out)
{
    char text[32];
    unsigned long long v;
    char *endp;
    FILE *f = fopen(path, "r");
    int ok;

    if (!f)
        return ERROR_FAIL;
    ok = fgets(text, sizeof(text), f) != NULL;
    fclose(f);
    if (!ok)
        return ERROR_FAIL;
    errno = 0;
    v = strtoull(text, &endp, 10);
    if (errno || endp == text || (*endp && *endp != '\n'))
        return ERROR_FAIL;
    *out = v;
    return 0;
}

static int xlpy_disk_counters(uint32_t domid, const char *vdev, uint64_t *rd, uint64_t *wr)
{
    char path[160];
    uint64_t r, w;
    long devnum = xlpy_xvd_devnum(vdev);

    if (devnum < 0)
        return ERROR_INVAL;
    snprintf(path, sizeof(path),
             "/sys/bus/xen-backend/devices/vbd-%u-%ld/statistics/rd_sect", domid, devnum);
    if (xlpy_sysfs_u64(path, &r))
        return ERROR_FAIL;
    snprintf(path, sizeof(path),
             "/sys/bus/xen-backend/devices/vbd-%u-%ld/statistics/wr_sect", domid, devnum);
    if (xlpy_sysfs_u64(path, &w))
        return ERROR_FAIL;
    *rd = r * 512;          /* Linux block statistics count 512-byte sectors */
    *wr = w * 512;
    return 0;
}

static int xlpy_nic_counters(uint32_t domid, int devid, uint64_t *rx, uint64_t *tx)
{
    char path[96];
    uint64_t a, b;

    /* the backend vif's counters are dom0's view: what it transmits, the guest receives */
    snprintf(path, sizeof(path), "/sys/class/net/vif%u.%d/statistics/tx_bytes", domid, devid);
    if (xlpy_sysfs_u64(path, &a))
        return ERROR_FAIL;
    snprintf(path, sizeof(path), "/sys/class/net/vif%u.%d/statistics/rx_bytes", domid, devid);
    if (xlpy_sysfs_u64(path, &b))
        return ERROR_FAIL;
    *rx = a;
    *tx = b;
    return 0;
}

static int xlpy_guest_counters(uint32_t domid, xlpy_sample_guest *g)
{
    (void)domid;
    (void)g;
    return ERROR_NOTFOUND;
}
