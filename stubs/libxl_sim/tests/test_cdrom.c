/* libxl_cdrom_insert: media change and eject of an HVM guest's cdrom, refusals. */
#include "t.h"

static void media(uint32_t domid, const char *vdev, const char *want)
{
    char path[256];
    CHECK_RC(xlsim_disk_path(domid, vdev, path, sizeof(path)), 0);
    CHECK(!strcmp(path, want));
}

static void cd(libxl_device_disk *disk, const char *vdev, const char *path)
{
    libxl_device_disk_init(disk);
    disk->vdev = strdup(vdev);
    disk->pdev_path = path ? strdup(path) : NULL;
    disk->is_cdrom = 1;
    disk->removable = 1;
    disk->format = path ? LIBXL_DISK_FORMAT_RAW : LIBXL_DISK_FORMAT_EMPTY;
}

int main(void)
{
    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    t_reset();

    libxl_domain_config dc;
    t_config(&dc, "hvm1", 256, 1);
    dc.c_info.type = LIBXL_DOMAIN_TYPE_HVM;
    free(dc.b_info.kernel);
    dc.b_info.kernel = NULL;
    libxl_domain_build_info_init_type(&dc.b_info, LIBXL_DOMAIN_TYPE_HVM);
    dc.disks = calloc(1, sizeof(*dc.disks));
    dc.num_disks = 1;
    cd(&dc.disks[0], "hdc", NULL);             /* an empty drive */
    uint32_t domid = 0;
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), 0);
    libxl_domain_config_dispose(&dc);
    media(domid, "hdc", "");

    libxl_device_disk disk;
    cd(&disk, "hdc", t_file("debian.iso"));
    CHECK_RC(libxl_cdrom_insert(ctx, domid, &disk, NULL), 0);
    libxl_device_disk_dispose(&disk);
    media(domid, "hdc", t_file("debian.iso"));
    cd(&disk, "hdc", t_file("other.iso"));     /* a change without eject */
    CHECK_RC(libxl_cdrom_insert(ctx, domid, &disk, NULL), 0);
    libxl_device_disk_dispose(&disk);
    media(domid, "hdc", t_file("other.iso"));
    cd(&disk, "hdc", NULL);                    /* eject, as xl cd-eject */
    CHECK_RC(libxl_cdrom_insert(ctx, domid, &disk, NULL), 0);
    libxl_device_disk_dispose(&disk);
    media(domid, "hdc", "");

    /* Refusals change nothing. */
    cd(&disk, "hdd", t_file("x.iso"));
    CHECK_RC(libxl_cdrom_insert(ctx, domid, &disk, NULL), ERROR_FAIL);      /* no such device */
    CHECK_RC(libxl_cdrom_insert(ctx, 999, &disk, NULL), ERROR_DOMAIN_NOTFOUND);
    libxl_device_disk_dispose(&disk);
    libxl_device_disk xvda;
    libxl_device_disk_init(&xvda);
    xvda.vdev = strdup("xvda");
    xvda.pdev_path = strdup(t_file("disk.img"));
    xvda.readwrite = 1;
    CHECK_RC(libxl_device_disk_add(ctx, domid, &xvda, NULL), 0);
    CHECK_RC(libxl_cdrom_insert(ctx, domid, &xvda, NULL), ERROR_INVAL);    /* not a cdrom */
    libxl_device_disk_dispose(&xvda);
    media(domid, "xvda", t_file("disk.img"));
    CHECK_RC(xlsim_fail_next("libxl_cdrom_insert", 1, ERROR_FAIL), 0);
    cd(&disk, "hdc", t_file("debian.iso"));
    CHECK_RC(libxl_cdrom_insert(ctx, domid, &disk, NULL), ERROR_FAIL);
    media(domid, "hdc", "");
    CHECK_RC(libxl_cdrom_insert(ctx, domid, NULL, NULL), ERROR_INVAL);
    libxl_device_disk_dispose(&disk);
    cd(&disk, "hdc", "/nonexistent/media.iso");    /* libxl stats the new media */
    CHECK_RC(libxl_cdrom_insert(ctx, domid, &disk, NULL), ERROR_INVAL);
    media(domid, "hdc", "");

    /* PV guests: libxl refuses (their media changes by detach + attach). */
    uint32_t pv = t_create(ctx, "pv1", 128, 1);
    CHECK_RC(libxl_cdrom_insert(ctx, pv, &disk, NULL), ERROR_INVAL);
    libxl_device_disk_dispose(&disk);
    char small[4];
    CHECK_RC(xlsim_disk_path(domid, "xvda", small, sizeof(small)), ERROR_INVAL);
    CHECK_RC(xlsim_disk_path(domid, "nope", small, sizeof(small)), ERROR_NOTFOUND);

    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    T_DONE();
}
