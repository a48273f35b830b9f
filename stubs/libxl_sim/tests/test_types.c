/* IDL init/dispose of every type with strings (leaks show under ASan/valgrind),
 * uuid/bitmap/defbool helpers, enum names, the stdio logger's format. */
#include "t.h"

static char **strlist(int n)
{
    char **l = calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++)
        l[i] = strdup("s");
    return l;
}

static void test_dispose(void)
{
    libxl_domain_config dc;
    libxl_domain_config_init(&dc);
    CHECK(dc.c_info.type == LIBXL_DOMAIN_TYPE_INVALID);
    CHECK(dc.b_info.max_memkb == LIBXL_MEMKB_DEFAULT && dc.b_info.target_memkb == LIBXL_MEMKB_DEFAULT);
    dc.c_info.name = strdup("n");
    dc.c_info.ssid_label = strdup("l");
    dc.c_info.pool_name = strdup("Pool-0");
    dc.c_info.xsdata = strlist(4);
    dc.c_info.platformdata = strlist(2);
    libxl_domain_build_info_init_type(&dc.b_info, LIBXL_DOMAIN_TYPE_PV);
    CHECK(dc.b_info.u.pv.slack_memkb == LIBXL_MEMKB_DEFAULT);
    libxl_bitmap_alloc(NULL, &dc.b_info.avail_vcpus, 8);
    libxl_bitmap_alloc(NULL, &dc.b_info.cpumap, 16);
    libxl_bitmap_alloc(NULL, &dc.b_info.nodemap, 2);
    dc.b_info.num_vcpu_hard_affinity = 2;
    dc.b_info.vcpu_hard_affinity = calloc(2, sizeof(libxl_bitmap));
    libxl_bitmap_alloc(NULL, &dc.b_info.vcpu_hard_affinity[0], 16);
    libxl_bitmap_alloc(NULL, &dc.b_info.vcpu_hard_affinity[1], 16);
    dc.b_info.num_vcpu_soft_affinity = 1;
    dc.b_info.vcpu_soft_affinity = calloc(1, sizeof(libxl_bitmap));
    libxl_bitmap_alloc(NULL, &dc.b_info.vcpu_soft_affinity[0], 16);
    dc.b_info.kernel = strdup("k");
    dc.b_info.cmdline = strdup("c");
    dc.b_info.ramdisk = strdup("r");
    dc.b_info.bootloader = strdup("pygrub");
    dc.b_info.bootloader_args = strlist(2);
    dc.b_info.extra = strlist(1);
    dc.b_info.exec_ssid_label = strdup("x");
    dc.b_info.blkdev_start = strdup("xvda");
    dc.b_info.device_model = strdup("qemu");
    dc.b_info.device_tree = strdup("dt");
    dc.b_info.u.pv.kernel = strdup("k");
    dc.b_info.u.pv.cmdline = strdup("c");
    dc.b_info.u.pv.ramdisk = strdup("r");
    dc.b_info.u.pv.bootloader = strdup("b");
    dc.b_info.u.pv.bootloader_args = strlist(3);
    dc.b_info.u.pv.features = strdup("f");
    dc.num_disks = 1;
    dc.disks = calloc(1, sizeof(libxl_device_disk));
    libxl_device_disk_init(&dc.disks[0]);
    dc.disks[0].vdev = strdup("xvda");
    dc.disks[0].pdev_path = strdup("/p");
    dc.disks[0].script = strdup("block");
    dc.disks[0].backend_domname = strdup("Domain-0");
    dc.num_nics = 1;
    dc.nics = calloc(1, sizeof(libxl_device_nic));
    libxl_device_nic_init(&dc.nics[0]);
    dc.nics[0].bridge = strdup("xenbr0");
    dc.nics[0].model = strdup("e1000");
    dc.nics[0].ip = strdup("10.0.0.2");
    dc.nics[0].ifname = strdup("vif1.0");
    dc.nics[0].script = strdup("vif-bridge");
    dc.nics[0].gatewaydev = strdup("eth0");
    libxl_domain_config_dispose(&dc);

    libxl_domain_build_info bi;
    libxl_domain_build_info_init(&bi);
    libxl_domain_build_info_init_type(&bi, LIBXL_DOMAIN_TYPE_HVM);
    bi.u.hvm.firmware = strdup("f");
    bi.u.hvm.boot = strdup("cd");
    bi.u.hvm.serial = strdup("pty");
    bi.u.hvm.timeoffset = strdup("0");
    bi.u.hvm.serial_list = strlist(2);
    bi.u.hvm.usbdevice_list = strlist(1);
    libxl_domain_build_info_dispose(&bi);
    libxl_domain_build_info_init(&bi);
    libxl_domain_build_info_init_type(&bi, LIBXL_DOMAIN_TYPE_PVH);
    bi.u.pvh.pvshim_path = strdup("p");
    bi.u.pvh.pvshim_cmdline = strdup("c");
    bi.u.pvh.pvshim_extra = strdup("e");
    libxl_domain_build_info_dispose(&bi);

    libxl_dominfo di;
    libxl_dominfo_init(&di);
    di.ssid_label = strdup("label");
    libxl_dominfo_dispose(&di);
    libxl_version_info vi;
    libxl_version_info_init(&vi);
    vi.xen_version_extra = strdup(".0");
    vi.compiler = strdup("gcc");
    vi.commandline = strdup("x");
    vi.build_id = strdup("y");
    libxl_version_info_dispose(&vi);
    libxl_vcpuinfo vc;
    libxl_vcpuinfo_init(&vc);
    libxl_bitmap_alloc(NULL, &vc.cpumap, 8);
    libxl_bitmap_alloc(NULL, &vc.cpumap_soft, 8);
    libxl_vcpuinfo_dispose(&vc);
    libxl_physinfo pi;
    libxl_physinfo_init(&pi);
    libxl_physinfo_dispose(&pi);
    libxl_domain_restore_params rp;
    libxl_domain_restore_params_init(&rp);
    rp.colo_proxy_script = strdup("s");
    libxl_domain_restore_params_dispose(&rp);
    libxl_event *ev = calloc(1, sizeof(*ev));
    libxl_event_init(ev);
    libxl_event_init_type(ev, LIBXL_EVENT_TYPE_DISK_EJECT);
    ev->u.disk_eject.vdev = strdup("hdc");
    ev->u.disk_eject.disk.vdev = strdup("hdc");
    ev->u.disk_eject.disk.pdev_path = strdup("/iso");
    libxl_event_free(NULL, ev);
    libxl_dominfo_list_free(NULL, 0);
    libxl_vcpuinfo_list_free(NULL, 0);
}

static void test_helpers(void)
{
    libxl_uuid u, v;
    libxl_uuid_clear(&u);
    CHECK(libxl_uuid_is_nil(&u));
    libxl_uuid_generate(&u);
    CHECK(!libxl_uuid_is_nil(&u));
    CHECK((u.uuid[6] >> 4) == 4);
    char s[LIBXL_UUID_FMTLEN + 1];
    snprintf(s, sizeof(s), LIBXL_UUID_FMT, LIBXL_UUID_BYTES(u));
    CHECK_RC(libxl_uuid_from_string(&v, s), 0);
    CHECK_RC(libxl_uuid_compare(&u, &v), 0);
    CHECK_RC(libxl_uuid_from_string(&v, "not-a-uuid"), -1);
    CHECK_RC(libxl_uuid_from_string(&v, NULL), ERROR_INVAL);
    CHECK_RC(libxl_uuid_compare(&u, &v), 0);  /* unchanged by the failures */
    libxl_uuid_copy(NULL, &v, &u);
    CHECK(libxl_uuid_bytearray(&v)[0] == u.uuid[0]);

    libxl_bitmap a, b, c;
    libxl_bitmap_init(&a);
    libxl_bitmap_init(&b);
    libxl_bitmap_init(&c);
    CHECK_RC(libxl_bitmap_alloc(NULL, &a, 12), 0);
    CHECK(a.size == 2 && libxl_bitmap_is_empty(&a));
    libxl_bitmap_set(&a, 0);
    libxl_bitmap_set(&a, 9);
    libxl_bitmap_set(&a, 100);  /* out of range: ignored */
    CHECK(libxl_bitmap_test(&a, 9) && !libxl_bitmap_test(&a, 100) && !libxl_bitmap_test(&a, -1));
    CHECK(libxl_bitmap_count_set(&a) == 2);
    char *hex = libxl_bitmap_to_hex_string(NULL, &a);
    CHECK(!strcmp(hex, "0x0201"));
    free(hex);
    libxl_bitmap_copy_alloc(NULL, &b, &a);
    libxl_bitmap_reset(&b, 0);
    libxl_bitmap_set(&b, 3);
    CHECK_RC(libxl_bitmap_and(NULL, &c, &a, &b), 0);
    CHECK(libxl_bitmap_count_set(&c) == 1 && libxl_bitmap_test(&c, 9));
    libxl_bitmap_dispose(&c);
    CHECK_RC(libxl_bitmap_or(NULL, &c, &a, &b), 0);
    CHECK(libxl_bitmap_count_set(&c) == 3);
    libxl_bitmap_set_any(&c);
    CHECK(libxl_bitmap_is_full(&c));
    libxl_bitmap_dispose(&a);
    libxl_bitmap_dispose(&b);
    libxl_bitmap_dispose(&c);
    libxl_bitmap_dispose(&c);  /* idempotent */

    libxl_defbool db = { 0 };
    CHECK(libxl_defbool_is_default(db));
    CHECK(!strcmp(libxl_defbool_to_string(db), "<default>"));
    libxl_defbool_setdefault(&db, true);
    CHECK(libxl_defbool_val(db));
    libxl_defbool_setdefault(&db, false);
    CHECK(libxl_defbool_val(db));
    libxl_defbool_set(&db, false);
    CHECK(!libxl_defbool_val(db) && !strcmp(libxl_defbool_to_string(db), "False"));
    libxl_defbool_unset(&db);
    CHECK(libxl_defbool_is_default(db));

    CHECK(!strcmp(libxl_error_to_string(ERROR_FAIL), "fail"));
    CHECK(!strcmp(libxl_error_to_string(ERROR_INVAL), "inval"));
    CHECK(!strcmp(libxl_error_to_string(ERROR_DOMAIN_NOTFOUND), "domain_notfound"));
    CHECK(libxl_error_to_string((libxl_error)-999) == NULL);
    libxl_error e;
    CHECK_RC(libxl_error_from_string("nomem", &e), 0);
    CHECK(e == ERROR_NOMEM);
    CHECK(!strcmp(libxl_shutdown_reason_to_string(LIBXL_SHUTDOWN_REASON_CRASH), "crash"));
    CHECK(!strcmp(libxl_event_type_to_string(LIBXL_EVENT_TYPE_DOMAIN_DEATH), "domain_death"));
    CHECK(!strcmp(libxl_domain_type_to_string(LIBXL_DOMAIN_TYPE_PVH), "pvh"));
    CHECK(libxl_domid_valid_guest(1) && !libxl_domid_valid_guest(0) &&
          !libxl_domid_valid_guest(0x7FF0));
}

static void test_logger(void)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    xentoollog_logger_stdiostream *s = xtl_createlogger_stdiostream(f, XTL_INFO, 0);
    xentoollog_logger *lg = (xentoollog_logger *)s;
    xtl_log(lg, XTL_ERROR, 2, "libxl", "cannot open %s", "x");
    xtl_log(lg, XTL_DEBUG, -1, "libxl", "hidden");
    xtl_stdiostream_set_minlevel(s, XTL_DEBUG);
    xtl_log(lg, XTL_DEBUG, -1, NULL, "shown");
    /* A library error reaches the caller's logger. */
    libxl_ctx *ctx = t_ctx(lg);
    CHECK_RC(libxl_domain_destroy(ctx, 0, NULL), ERROR_FAIL);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    rewind(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    CHECK(strstr(buf, "libxl: error: cannot open x: No such file or directory\n") == buf);
    CHECK(!strstr(buf, "hidden"));
    CHECK(strstr(buf, "\ndebug: shown\n"));
    CHECK(strstr(buf, "libxl: error: libxl_domain_destroy: Domain 0:xc_domain_destroy failed: "
                      "cannot destroy dom0\n"));
    CHECK(!strcmp(xtl_level_to_string(XTL_WARN), "warning"));

    /* The control API's messages follow xlsim_set_logger. */
    f = tmpfile();
    s = xtl_createlogger_stdiostream(f, XTL_DEBUG, 0);
    xlsim_set_logger((xentoollog_logger *)s);
    CHECK_RC(xlsim_domain_set_load(4000, 0.5), ERROR_DOMAIN_NOTFOUND);
    xlsim_set_logger(NULL);
    xtl_logger_destroy((xentoollog_logger *)s);
    rewind(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    CHECK(!strcmp(buf, "xlsim: error: domain 4000 does not exist\n"));
}

int main(void)
{
    t_reset();
    test_dispose();
    test_helpers();
    test_logger();
    T_DONE();
}
