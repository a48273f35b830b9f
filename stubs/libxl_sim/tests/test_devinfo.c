/* libxl_device_disk_getinfo / libxl_device_nic_getinfo: xenstore paths, frontend state,
 * event channels and ring refs; ERROR_FAIL for an absent domain or device. */
#include "t.h"

static void disk_of(libxl_device_disk *disk, const char *vdev, const char *path)
{
    libxl_device_disk_init(disk);
    disk->vdev = strdup(vdev);
    disk->pdev_path = strdup(path);
    disk->backend = LIBXL_DISK_BACKEND_PHY;
    disk->format = LIBXL_DISK_FORMAT_RAW;
    disk->readwrite = 1;
}

static void nic_of(libxl_device_nic *nic, int devid)
{
    libxl_device_nic_init(nic);
    nic->devid = devid;
    nic->bridge = strdup("xenbr0");
}

int main(void)
{
    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    t_reset();

    uint32_t d1 = t_create(ctx, "devinfo1", 128, 1);
    libxl_device_disk disk, disk2;
    disk_of(&disk, "xvdb", t_file("b.img"));
    disk_of(&disk2, "xvdc", t_file("c.img"));
    libxl_device_nic nic, nic1;
    nic_of(&nic, 0);
    nic_of(&nic1, 1);
    libxl_diskinfo di;
    libxl_nicinfo ni;

    /* Never unpaused: only libxl's initial frontend state, no channel or ring yet. */
    CHECK_RC(libxl_device_disk_add(ctx, d1, &disk, NULL), 0);
    CHECK_RC(libxl_device_nic_add(ctx, d1, &nic, NULL), 0);
    libxl_diskinfo_init(&di);
    CHECK_RC(libxl_device_disk_getinfo(ctx, d1, &disk, &di), 0);
    CHECK(di.state == 1 && di.evtch == -1 && di.rref == -1);
    libxl_diskinfo_dispose(&di);
    libxl_nicinfo_init(&ni);
    CHECK_RC(libxl_device_nic_getinfo(ctx, d1, &nic, &ni), 0);
    CHECK(ni.state == 1 && ni.evtch == -1 && ni.rref_tx == -1 && ni.rref_rx == -1);
    libxl_nicinfo_dispose(&ni);

    /* Running: connected (4), nonzero channel and refs, stable, distinct per device. */
    CHECK_RC(libxl_domain_unpause(ctx, d1, NULL), 0);
    CHECK_RC(libxl_device_disk_add(ctx, d1, &disk2, NULL), 0);
    CHECK_RC(libxl_device_nic_add(ctx, d1, &nic1, NULL), 0);
    libxl_diskinfo_init(&di);
    CHECK_RC(libxl_device_disk_getinfo(ctx, d1, &disk, &di), 0);
    char be[128], fe[128];
    snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%u/51728", d1);
    snprintf(fe, sizeof(fe), "/local/domain/%u/device/vbd/51728", d1);
    CHECK(di.backend && !strcmp(di.backend, be) && di.backend_id == 0);
    CHECK(di.frontend && !strcmp(di.frontend, fe) && di.frontend_id == d1);
    CHECK(di.devid == 51728 && di.state == 4 && di.evtch > 0 && di.rref > 0);
    libxl_diskinfo d_again, d_other;
    libxl_diskinfo_init(&d_again);
    libxl_diskinfo_init(&d_other);
    CHECK_RC(libxl_device_disk_getinfo(ctx, d1, &disk, &d_again), 0);
    CHECK(d_again.evtch == di.evtch && d_again.rref == di.rref);
    CHECK_RC(libxl_device_disk_getinfo(ctx, d1, &disk2, &d_other), 0);
    CHECK(d_other.devid == 51744 && d_other.evtch != di.evtch && d_other.rref != di.rref);
    /* libxl finds the device by number: another spelling of xvdb is the same disk. */
    libxl_device_disk by_num;
    disk_of(&by_num, "51728", "/dev/null");
    libxl_diskinfo_dispose(&d_again);
    libxl_diskinfo_init(&d_again);
    CHECK_RC(libxl_device_disk_getinfo(ctx, d1, &by_num, &d_again), 0);
    CHECK(d_again.devid == 51728 && d_again.evtch == di.evtch);
    libxl_device_disk_dispose(&by_num);
    libxl_diskinfo_dispose(&d_again);
    libxl_diskinfo_dispose(&d_other);

    libxl_nicinfo_init(&ni);
    CHECK_RC(libxl_device_nic_getinfo(ctx, d1, &nic, &ni), 0);
    snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/0", d1);
    snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/0", d1);
    CHECK(ni.backend && !strcmp(ni.backend, be) && ni.backend_id == 0);
    CHECK(ni.frontend && !strcmp(ni.frontend, fe) && ni.frontend_id == d1);
    /* Split tx/rx event channels (Linux netfront): libxl's event-channel node is absent. */
    CHECK(ni.devid == 0 && ni.state == 4 && ni.evtch == -1 && ni.rref_tx > 0 && ni.rref_rx > 0);
    CHECK(ni.rref_tx != ni.rref_rx);
    libxl_nicinfo n_other;
    libxl_nicinfo_init(&n_other);
    CHECK_RC(libxl_device_nic_getinfo(ctx, d1, &nic1, &n_other), 0);
    CHECK(n_other.devid == 1 && n_other.rref_tx != ni.rref_tx && n_other.rref_rx != ni.rref_rx);
    CHECK(n_other.rref_tx != ni.rref_rx && n_other.rref_rx != ni.rref_tx);
    libxl_nicinfo_dispose(&n_other);
    libxl_nicinfo_dispose(&ni);
    libxl_diskinfo_dispose(&di);

    /* Absent device, absent domain, a name outside libxl's grammar: ERROR_FAIL, no strings. */
    libxl_device_disk absent;
    disk_of(&absent, "xvdz", "/dev/null");
    libxl_diskinfo_init(&di);
    CHECK_RC(libxl_device_disk_getinfo(ctx, d1, &absent, &di), ERROR_FAIL);
    CHECK(di.backend == NULL && di.frontend == NULL);
    CHECK_RC(libxl_device_disk_getinfo(ctx, 4242, &disk, &di), ERROR_FAIL);
    free(absent.vdev);
    absent.vdev = strdup("bogus");
    CHECK_RC(libxl_device_disk_getinfo(ctx, d1, &absent, &di), ERROR_FAIL);
    CHECK(di.devid == -1);
    libxl_diskinfo_dispose(&di);
    libxl_device_disk_dispose(&absent);
    libxl_device_nic absent_nic;
    nic_of(&absent_nic, 7);
    libxl_nicinfo_init(&ni);
    CHECK_RC(libxl_device_nic_getinfo(ctx, d1, &absent_nic, &ni), ERROR_FAIL);
    CHECK_RC(libxl_device_nic_getinfo(ctx, 4242, &nic, &ni), ERROR_FAIL);
    CHECK(ni.backend == NULL && ni.frontend == NULL);
    libxl_nicinfo_dispose(&ni);
    libxl_device_nic_dispose(&absent_nic);

    /* Unplugged: gone. Injected faults fail the call the same way. */
    CHECK_RC(libxl_device_nic_remove(ctx, d1, &nic1, NULL), 0);
    libxl_nicinfo_init(&ni);
    CHECK_RC(libxl_device_nic_getinfo(ctx, d1, &nic1, &ni), ERROR_FAIL);
    CHECK_RC(xlsim_fail_next("libxl_device_nic_getinfo", 1, ERROR_FAIL), 0);
    CHECK_RC(libxl_device_nic_getinfo(ctx, d1, &nic, &ni), ERROR_FAIL);
    CHECK_RC(libxl_device_nic_getinfo(ctx, d1, &nic, &ni), 0);
    libxl_nicinfo_dispose(&ni);
    CHECK_RC(xlsim_fail_next("libxl_device_disk_getinfo", 1, ERROR_NOMEM), 0);
    libxl_diskinfo_init(&di);
    CHECK_RC(libxl_device_disk_getinfo(ctx, d1, &disk, &di), ERROR_NOMEM);
    libxl_diskinfo_dispose(&di);

    libxl_device_disk_dispose(&disk);
    libxl_device_disk_dispose(&disk2);
    libxl_device_nic_dispose(&nic);
    libxl_device_nic_dispose(&nic1);
    CHECK_RC(libxl_domain_destroy(ctx, d1, NULL), 0);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    T_DONE();
}
