/* Lifecycle, states, pause counting, vCPUs, memory, devices, suspend/restore, xc. */
#include "t.h"

#include <fcntl.h>

static libxl_dominfo info(libxl_ctx *ctx, uint32_t domid)
{
    libxl_dominfo di;
    libxl_dominfo_init(&di);
    CHECK_RC(libxl_domain_info(ctx, &di, domid), 0);
    return di;
}

static void test_dom0_and_create(libxl_ctx *ctx)
{
    libxl_dominfo d0 = info(ctx, 0);
    CHECK(d0.domid == 0);
    CHECK(d0.current_memkb == 4ULL * 1024 * 1024);
    CHECK(d0.vcpu_online == 4);
    CHECK(d0.running && !d0.paused && !d0.shutdown);
    char *n0 = libxl_domid_to_name(ctx, 0);
    CHECK(n0 && !strcmp(n0, "Domain-0"));
    free(n0);

    /* The REALXEN.md guest: memory = 128 -> 131072 current, 132096 max, 1 vCPU, paused. */
    libxl_domain_config dc;
    uint32_t domid = 12345;
    t_config(&dc, "guest1", 128, 1);
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), 0);
    CHECK(domid == 1);
    libxl_dominfo di = info(ctx, domid);
    CHECK(di.current_memkb == 131072);
    CHECK(di.max_memkb == 132096);
    CHECK(di.vcpu_online == 1 && di.vcpu_max_id == 0);
    CHECK(di.paused && !di.blocked && !di.running && !di.shutdown);  /* real Xen: --p--- */
    CHECK(di.cpu_time == 0);
    CHECK(di.shutdown_reason == LIBXL_SHUTDOWN_REASON_UNKNOWN);
    CHECK(di.domain_type == LIBXL_DOMAIN_TYPE_PV);
    CHECK(!libxl_uuid_compare(&di.uuid, &dc.c_info.uuid));
    uint64_t target = 0;
    CHECK_RC(libxl_get_memory_target(ctx, domid, &target), 0);
    CHECK(target == 131072);

    /* A second create with the same name changes nothing. */
    uint32_t other = 0;
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &other, NULL, NULL), ERROR_INVAL);
    CHECK(other == (uint32_t)INVALID_DOMID);
    CHECK_RC(xlsim_domain_count(), 2);
    libxl_domain_config_dispose(&dc);

    uint32_t byname = 0;
    CHECK_RC(libxl_name_to_domid(ctx, "guest1", &byname), 0);
    CHECK(byname == domid);
    CHECK_RC(libxl_name_to_domid(ctx, "nosuch", &byname), ERROR_INVAL);
    CHECK_RC(libxl_domain_rename(ctx, domid, "wrong", "x"), ERROR_FAIL);  /* as libxl */
    CHECK_RC(libxl_domain_rename(ctx, domid, NULL, NULL), ERROR_INVAL);
    CHECK_RC(libxl_domain_rename(ctx, 999, "guest1", "y"), ERROR_FAIL);
    CHECK_RC(libxl_domain_rename(ctx, 999, NULL, "y"), ERROR_DOMAIN_NOTFOUND);
    CHECK_RC(libxl_domain_rename(ctx, domid, "guest1", "Domain-0"), ERROR_INVAL);
    CHECK_RC(libxl_domain_rename(ctx, domid, "guest1", "renamed"), 0);
    char *nm = libxl_domid_to_name(ctx, domid);
    CHECK(nm && !strcmp(nm, "renamed"));
    free(nm);
    CHECK(libxl_domid_to_name(ctx, 999) == NULL);

    /* Counted pauses: the create-time pause is one. */
    CHECK_RC(libxl_domain_pause(ctx, domid, NULL), 0);           /* count 2 */
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);         /* 1 */
    di = info(ctx, domid);
    CHECK(di.paused);
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);         /* 0 */
    di = info(ctx, domid);
    CHECK(!di.paused && di.running && !di.blocked);
    CHECK_RC(libxl_domain_pause(ctx, domid, NULL), 0);
    di = info(ctx, domid);
    CHECK(di.paused && di.blocked && !di.running);  /* xl pause after running: -bp--- */
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), ERROR_FAIL); /* -EINVAL in Xen */
    for (int i = 0; i < 255; i++)
        CHECK_RC(libxl_domain_pause(ctx, domid, NULL), 0);
    CHECK_RC(libxl_domain_pause(ctx, domid, NULL), ERROR_FAIL);  /* -EOVERFLOW */
    for (int i = 0; i < 255; i++)
        CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);
    CHECK(info(ctx, domid).running);

    /* cpu_time stands still while paused and grows while running. */
    CHECK_RC(xlsim_domain_set_load(domid, 1.0), 0);
    CHECK_RC(libxl_domain_pause(ctx, domid, NULL), 0);
    uint64_t t1 = info(ctx, domid).cpu_time;
    t_sleep_ms(5);
    CHECK(info(ctx, domid).cpu_time == t1);
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);
    int grew = 0;
    for (int i = 0; i < 5000 && !grew; i++) {
        t_sleep_ms(1);
        grew = info(ctx, domid).cpu_time > t1;
    }
    CHECK(grew);
    CHECK_RC(xlsim_domain_set_load(domid, 0.0), 0);
    di = info(ctx, domid);
    CHECK(!di.running && di.blocked && !di.paused);
    CHECK_RC(xlsim_domain_set_load(domid, 1.5), ERROR_INVAL);

    CHECK_RC(libxl_domain_pause(ctx, 0, NULL), ERROR_FAIL);
    CHECK_RC(libxl_domain_pause(ctx, 777, NULL), ERROR_FAIL);
    CHECK_RC(libxl_domain_info(ctx, NULL, 777), ERROR_DOMAIN_NOTFOUND);
    CHECK_RC(libxl_domain_info(ctx, NULL, domid), 0);
    CHECK_RC(libxl_domain_destroy(ctx, 0, NULL), ERROR_FAIL);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), ERROR_DOMAIN_NOTFOUND);
    CHECK_RC(libxl_domain_info(ctx, NULL, domid), ERROR_DOMAIN_NOTFOUND);
    CHECK_RC(xlsim_domain_count(), 1);

    /* libxl reads the type from Xen's hvm flag: PVH comes back as HVM. */
    libxl_domain_config pvh;
    libxl_domain_config_init(&pvh);
    pvh.c_info.type = LIBXL_DOMAIN_TYPE_PVH;
    pvh.c_info.name = strdup("pvh");
    libxl_domain_build_info_init_type(&pvh.b_info, LIBXL_DOMAIN_TYPE_PVH);
    pvh.b_info.max_memkb = pvh.b_info.target_memkb = 64 * 1024;
    CHECK_RC(libxl_domain_create_new(ctx, &pvh, &domid, NULL, NULL), 0);
    CHECK(info(ctx, domid).domain_type == LIBXL_DOMAIN_TYPE_HVM);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    libxl_domain_config_dispose(&pvh);

    /* libxl keeps a nil uuid nil (Xen's handle), as observed on real Xen 4.17. */
    t_config(&dc, "niluuid", 64, 1);
    libxl_uuid_clear(&dc.c_info.uuid);
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), 0);
    CHECK(libxl_uuid_is_nil(&dc.c_info.uuid));
    di = info(ctx, domid);
    CHECK(libxl_uuid_is_nil(&di.uuid));
    libxl_domain_config_dispose(&dc);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
}

static void test_bad_configs(libxl_ctx *ctx)
{
    libxl_domain_config dc;
    uint32_t domid;

    t_config(&dc, "bad", 128, 1);
    free(dc.c_info.name);
    dc.c_info.name = NULL;
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_INVAL);
    libxl_domain_config_dispose(&dc);

    t_config(&dc, "bad", 128, 1);
    dc.b_info.target_memkb = dc.b_info.max_memkb + 1;
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_INVAL);
    libxl_domain_config_dispose(&dc);

    t_config(&dc, "bad", 128, 65);
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_INVAL);
    libxl_domain_config_dispose(&dc);

    t_config(&dc, "bad", 128, 2);
    libxl_bitmap_alloc(ctx, &dc.b_info.avail_vcpus, 8);
    libxl_bitmap_set(&dc.b_info.avail_vcpus, 5);  /* beyond max_vcpus */
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_INVAL);
    libxl_domain_config_dispose(&dc);

    t_config(&dc, "bad", 128, 1);
    dc.c_info.type = LIBXL_DOMAIN_TYPE_INVALID;
    dc.b_info.type = LIBXL_DOMAIN_TYPE_INVALID;
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_INVAL);
    libxl_domain_config_dispose(&dc);

    t_config(&dc, "bad", 128, 1);
    dc.num_disks = 2;
    dc.disks = calloc(2, sizeof(*dc.disks));
    for (int i = 0; i < 2; i++) {
        libxl_device_disk_init(&dc.disks[i]);
        dc.disks[i].vdev = strdup("xvda");
        dc.disks[i].pdev_path = strdup(t_file("x.img"));
    }
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_DEVICE_EXISTS);
    libxl_domain_config_dispose(&dc);

    t_config(&dc, "bad", 128, 1);
    dc.c_info.domid = 0x7FF5;  /* reserved */
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_INVAL);
    libxl_domain_config_dispose(&dc);

    CHECK_RC(xlsim_domain_count(), 1);
}

static void test_vcpus(libxl_ctx *ctx)
{
    libxl_domain_config dc;
    uint32_t domid;
    t_config(&dc, "smp", 256, 4);
    libxl_bitmap_alloc(ctx, &dc.b_info.avail_vcpus, 4);
    libxl_bitmap_set(&dc.b_info.avail_vcpus, 0);
    libxl_bitmap_set(&dc.b_info.avail_vcpus, 1);
    dc.b_info.num_vcpu_hard_affinity = 1;
    dc.b_info.vcpu_hard_affinity = calloc(1, sizeof(libxl_bitmap));
    libxl_bitmap_init(&dc.b_info.vcpu_hard_affinity[0]);
    libxl_cpu_bitmap_alloc(ctx, &dc.b_info.vcpu_hard_affinity[0], 0);
    libxl_bitmap_set(&dc.b_info.vcpu_hard_affinity[0], 3);
    libxl_bitmap_set(&dc.b_info.vcpu_hard_affinity[0], 7);
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), 0);
    libxl_domain_config_dispose(&dc);
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);

    int nb = 0, nr_cpus = 0;
    libxl_vcpuinfo *v = libxl_list_vcpu(ctx, domid, &nb, &nr_cpus);
    CHECK(v && nb == 4 && nr_cpus == 16);
    CHECK(v[0].online && v[1].online && !v[2].online && !v[3].online);
    CHECK(v[0].cpu == 3 || v[0].cpu == 7);
    CHECK(libxl_bitmap_test(&v[0].cpumap, (int)v[0].cpu));
    CHECK(libxl_bitmap_count_set(&v[0].cpumap) == 2);
    CHECK(libxl_bitmap_count_set(&v[1].cpumap) == 16);
    CHECK(v[0].running && !v[2].running && !v[2].blocked);
    libxl_vcpuinfo_list_free(v, nb);
    CHECK(info(ctx, domid).vcpu_online == 2);

    libxl_bitmap map;
    libxl_bitmap_init(&map);
    libxl_bitmap_alloc(ctx, &map, 8);
    libxl_bitmap_set(&map, 0);
    libxl_bitmap_set(&map, 1);
    libxl_bitmap_set(&map, 2);
    CHECK_RC(libxl_set_vcpuonline(ctx, domid, &map, NULL), 0);
    CHECK(info(ctx, domid).vcpu_online == 3);
    /* As libxl: the count is checked, bits beyond max_vcpus are then ignored. */
    libxl_bitmap_set(&map, 4);
    CHECK_RC(libxl_set_vcpuonline(ctx, domid, &map, NULL), 0);
    CHECK(info(ctx, domid).vcpu_online == 3);
    libxl_bitmap_set(&map, 3);
    libxl_bitmap_set(&map, 5);  /* 6 requested, max 4 */
    CHECK_RC(libxl_set_vcpuonline(ctx, domid, &map, NULL), ERROR_FAIL);
    CHECK(info(ctx, domid).vcpu_online == 3);
    libxl_bitmap_set_none(&map);
    CHECK_RC(libxl_set_vcpuonline(ctx, domid, &map, NULL), ERROR_FAIL);  /* "Requested 0 VCPUs!" */
    libxl_bitmap_set(&map, 1);  /* vCPU0 cannot go offline: it stays */
    CHECK_RC(libxl_set_vcpuonline(ctx, domid, &map, NULL), 0);
    CHECK(info(ctx, domid).vcpu_online == 2);
    CHECK_RC(libxl_set_vcpuonline(ctx, 999, &map, NULL), ERROR_DOMAIN_NOTFOUND);
    libxl_bitmap_set(&map, 2);
    CHECK_RC(libxl_set_vcpuonline(ctx, domid, &map, NULL), 0);
    CHECK(info(ctx, domid).vcpu_online == 3);
    libxl_bitmap_dispose(&map);

    libxl_bitmap hard;
    libxl_bitmap_init(&hard);
    libxl_cpu_bitmap_alloc(ctx, &hard, 0);
    libxl_bitmap_set(&hard, 9);
    CHECK_RC(libxl_set_vcpuaffinity(ctx, domid, 2, &hard, NULL), 0);
    v = libxl_list_vcpu(ctx, domid, &nb, &nr_cpus);
    CHECK(v[2].cpu == 9 && libxl_bitmap_count_set(&v[2].cpumap) == 1);
    CHECK(libxl_bitmap_count_set(&v[2].cpumap_soft) == 16);
    libxl_vcpuinfo_list_free(v, nb);
    CHECK_RC(libxl_set_vcpuaffinity(ctx, domid, 4, &hard, NULL), ERROR_FAIL);
    CHECK_RC(libxl_set_vcpuaffinity(ctx, domid, 0, NULL, NULL), ERROR_INVAL);
    libxl_bitmap_set_none(&hard);
    CHECK_RC(libxl_set_vcpuaffinity(ctx, domid, 0, &hard, NULL), ERROR_FAIL);
    libxl_bitmap_dispose(&hard);
    CHECK(libxl_list_vcpu(ctx, 999, &nb, &nr_cpus) == NULL);

    /* xc view of the same vCPUs and domain. */
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    CHECK(xch != NULL);
    xc_vcpuinfo_t xv;
    CHECK_RC(xc_vcpu_getinfo(xch, domid, 2, &xv), 0);
    CHECK(xv.online && xv.cpu == 9 && xv.running);
    CHECK_RC(xc_vcpu_getinfo(xch, domid, 9, &xv), -1);
    CHECK(xc_get_last_error(xch)->code == XC_INTERNAL_ERROR);
    CHECK_RC(xc_vcpu_getinfo(xch, 999, 0, &xv), -1);
    xc_domaininfo_t xi[8];
    CHECK_RC(xc_domain_getinfolist(xch, 0, 8, xi), 2);
    CHECK(xi[0].domain == 0 && xi[1].domain == domid);
    CHECK(xi[1].nr_online_vcpus == 3 && xi[1].max_vcpu_id == 3);
    CHECK(xi[1].tot_pages == 256 * 256 && xi[1].max_pages == (256 * 1024 + 1024) / 4);
    CHECK(xi[1].flags & XEN_DOMINF_running);
    CHECK(!(xi[1].flags & (XEN_DOMINF_paused | XEN_DOMINF_shutdown | XEN_DOMINF_hvm_guest)));
    CHECK_RC(xc_domain_getinfolist(xch, domid, 8, xi), 1);
    CHECK_RC(xc_domain_getinfolist(xch, domid + 1, 8, xi), 0);
    xc_physinfo_t pi;
    CHECK_RC(xc_physinfo(xch, &pi), 0);
    CHECK(pi.nr_cpus == 16 && pi.nr_nodes == 2 && pi.threads_per_core == 2);
    CHECK(pi.cores_per_socket == 4 && pi.total_pages == 64ULL * 1024 * 256);
    CHECK(pi.capabilities & XEN_SYSCTL_PHYSCAP_pv);
    CHECK_RC(xc_interface_close(xch), 0);

    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
}

static void test_memory(libxl_ctx *ctx)
{
    xlsim_host_config cfg;
    xlsim_host_config_default(&cfg);
    cfg.balloon_kb_per_s = 1024;  /* slow, so ballooning is observable */
    CHECK_RC(xlsim_host_configure(&cfg), 0);

    uint32_t domid = t_create(ctx, "mem", 512, 1);
    CHECK_RC(libxl_set_memory_target(ctx, domid, 600 * 1024, 0, 0), ERROR_INVAL); /* > static max */
    CHECK_RC(libxl_set_memory_target(ctx, domid, 256 * 1024, 0, 0), 0);
    uint64_t target = 0;
    CHECK_RC(libxl_get_memory_target(ctx, domid, &target), 0);
    CHECK(target == 256 * 1024);
    uint64_t cur = info(ctx, domid).current_memkb;
    CHECK(cur > 256 * 1024 && cur <= 512 * 1024);  /* on its way down */
    CHECK_RC(libxl_set_memory_target(ctx, domid, -128 * 1024, 1, 1), 0);  /* relative */
    CHECK_RC(libxl_get_memory_target(ctx, domid, &target), 0);
    CHECK(target == 128 * 1024);
    CHECK(info(ctx, domid).max_memkb == 128 * 1024 + 1024);  /* enforce */
    CHECK_RC(libxl_domain_setmaxmem(ctx, domid, 64 * 1024), 1);  /* real libxl 4.17 quirk */
    CHECK_RC(libxl_domain_setmaxmem(ctx, 999, 64 * 1024), ERROR_LOCK_FAIL);
    CHECK_RC(libxl_domain_setmaxmem(ctx, domid, 1024 * 1024), 0);
    CHECK(info(ctx, domid).max_memkb == 1024 * 1024 + 1024);
    CHECK_RC(libxl_set_memory_target(ctx, 0, 64 * 1024, 0, 0), ERROR_INVAL);  /* dom0 minimum */
    /* As real libxl 4.17: the userdata lock fails first for an absent domain. */
    CHECK_RC(libxl_set_memory_target(ctx, 999, 64 * 1024, 0, 0), ERROR_LOCK_FAIL);
    /* A relative decrease below zero clamps the target to 0 (real Xen accepts it). */
    CHECK_RC(libxl_set_memory_target(ctx, domid, -(1LL << 40), 1, 0), 0);
    CHECK_RC(libxl_get_memory_target(ctx, domid, &target), 0);
    CHECK(target == 0);
    CHECK_RC(libxl_set_memory_target(ctx, domid, -1, 0, 0), ERROR_INVAL);  /* absolute < 0 */
    CHECK_RC(libxl_set_memory_target(ctx, domid, INT64_MAX, 1, 0), ERROR_INVAL);
    CHECK_RC(libxl_get_memory_target(ctx, domid, &target), 0);
    CHECK(target == 0);

    /* Fast balloon: the guest reaches its target. */
    cfg.balloon_kb_per_s = 4U * 1024 * 1024;
    CHECK_RC(xlsim_host_configure(&cfg), 0);
    domid = t_create(ctx, "mem2", 512, 1);
    CHECK_RC(libxl_set_memory_target(ctx, domid, 384 * 1024, 0, 0), 0);
    int reached = 0;
    for (int i = 0; i < 5000 && !reached; i++) {
        reached = info(ctx, domid).current_memkb == 384 * 1024;
        if (!reached)
            t_sleep_ms(1);
    }
    CHECK(reached);
    t_reset();
}

static void test_devices(libxl_ctx *ctx)
{
    uint32_t domid = t_create(ctx, "dev", 128, 1);
    libxl_device_disk disk;
    libxl_device_disk_init(&disk);
    disk.vdev = strdup("xvdb");
    disk.pdev_path = strdup(t_file("disk.img"));
    disk.format = LIBXL_DISK_FORMAT_RAW;
    disk.readwrite = 1;
    CHECK_RC(libxl_device_disk_add(ctx, domid, &disk, NULL), 0);
    CHECK(disk.backend == LIBXL_DISK_BACKEND_PHY);   /* libxl writes its choice back */
    CHECK_RC(libxl_device_disk_add(ctx, domid, &disk, NULL), ERROR_DEVICE_EXISTS);
    CHECK_RC(libxl_device_disk_add(ctx, 999, &disk, NULL), ERROR_FAIL);
    xlsim_io_stats st;
    CHECK_RC(xlsim_disk_stats(domid, "xvdb", &st), 0);
    CHECK_RC(xlsim_disk_stats(domid, "xvdz", &st), ERROR_NOTFOUND);

    /* Read back as xenstore holds it (what xl block-detach removes by). */
    libxl_device_disk got;
    CHECK_RC(libxl_vdev_to_device_disk(ctx, domid, "xvdb", &got), 0);
    CHECK(got.backend == LIBXL_DISK_BACKEND_PHY && got.format == LIBXL_DISK_FORMAT_UNKNOWN);
    CHECK(!strcmp(got.pdev_path, disk.pdev_path) && !strcmp(got.vdev, "xvdb") && got.readwrite);
    libxl_device_disk_dispose(&got);
    CHECK_RC(libxl_vdev_to_device_disk(ctx, domid, "xvdz", &got), ERROR_FAIL);
    CHECK_RC(libxl_vdev_to_device_disk(ctx, domid, "xvd0", &got), ERROR_INVAL);
    CHECK_RC(libxl_vdev_to_device_disk(ctx, domid, "nonsense", &got), ERROR_INVAL);
    CHECK_RC(libxl_vdev_to_device_disk(ctx, 999, "xvdb", &got), ERROR_FAIL);
    CHECK_RC(libxl_vdev_to_device_disk(ctx, domid, "d1p2", &got), ERROR_FAIL);

    /* A disk named by vdev alone has no backend kind: libxl__device_from_disk refuses it. */
    libxl_device_disk bare;
    libxl_device_disk_init(&bare);
    bare.vdev = strdup("xvdb");
    CHECK_RC(libxl_device_disk_remove(ctx, domid, &bare, NULL), ERROR_INVAL);
    libxl_device_disk_dispose(&bare);
    CHECK_RC(xlsim_disk_stats(domid, "xvdb", &st), 0);

    CHECK_RC(libxl_device_disk_remove(ctx, domid, &disk, NULL), 0);
    CHECK_RC(xlsim_disk_stats(domid, "xvdb", &st), ERROR_NOTFOUND);
    /* As Xen 4.17: removing what xenstore does not hold succeeds. */
    CHECK_RC(libxl_device_disk_remove(ctx, domid, &disk, NULL), 0);
    CHECK_RC(libxl_device_disk_remove(ctx, 999, &disk, NULL), ERROR_DOMAIN_NOTFOUND);
    libxl_device_disk_dispose(&disk);

    /* libxl stats a local file: a missing one is refused and nothing is plugged. */
    libxl_device_disk_init(&disk);
    disk.vdev = strdup("xvdc");
    disk.pdev_path = strdup("/nonexistent/disk.img");
    CHECK_RC(libxl_device_disk_add(ctx, domid, &disk, NULL), ERROR_INVAL);
    CHECK_RC(xlsim_disk_stats(domid, "xvdc", &st), ERROR_NOTFOUND);
    disk.script = strdup("block-iscsi");      /* a script's target is not a local path */
    CHECK_RC(libxl_device_disk_add(ctx, domid, &disk, NULL), 0);
    CHECK_RC(xlsim_disk_stats(domid, "xvdc", &st), 0);
    libxl_device_disk_dispose(&disk);

    libxl_device_disk bad;
    libxl_device_disk_init(&bad);
    CHECK_RC(libxl_device_disk_add(ctx, domid, &bad, NULL), ERROR_INVAL);  /* no vdev */
    libxl_device_disk_dispose(&bad);

    libxl_device_nic nic;
    libxl_device_nic_init(&nic);
    CHECK(nic.devid == -1);
    nic.bridge = strdup("xenbr0");
    CHECK_RC(libxl_device_nic_add(ctx, domid, &nic, NULL), 0);
    CHECK(nic.devid == 0);
    CHECK(nic.mac[0] == 0x00 && nic.mac[1] == 0x16 && nic.mac[2] == 0x3e);
    CHECK_RC(libxl_device_nic_add(ctx, domid, &nic, NULL), ERROR_DEVICE_EXISTS);
    nic.devid = -1;
    CHECK_RC(libxl_device_nic_add(ctx, domid, &nic, NULL), 0);
    CHECK(nic.devid == 1);
    CHECK_RC(xlsim_nic_stats(domid, 1, &st), 0);
    struct xlsim_guest_info gi;
    CHECK_RC(xlsim_guest_info(domid, &gi), 0);
    CHECK(gi.mem_total_kb == 128 * 1024 && gi.mem_free_kb < gi.mem_total_kb);
    char want_ip[40];
    snprintf(want_ip, sizeof(want_ip), "10.0.%u.2", domid);  /* first nic, devid 0 */
    CHECK(!strcmp(gi.ipv4, want_ip));
    CHECK(strstr(gi.os_name, "Debian") != NULL);
    libxl_device_nic back;
    CHECK_RC(libxl_devid_to_device_nic(ctx, domid, 1, &back), 0);
    CHECK(back.devid == 1 && !strcmp(back.bridge, "xenbr0") && !memcmp(back.mac, nic.mac, 6));
    libxl_device_nic_dispose(&back);
    CHECK_RC(libxl_devid_to_device_nic(ctx, domid, 7, &back), ERROR_FAIL);
    CHECK_RC(libxl_devid_to_device_nic(ctx, 999, 0, &back), ERROR_FAIL);
    CHECK_RC(libxl_device_nic_remove(ctx, domid, &nic, NULL), 0);
    CHECK_RC(libxl_devid_to_device_nic(ctx, domid, 1, &back), ERROR_FAIL);
    /* As Xen 4.17: removing a devid the domain does not have succeeds. */
    CHECK_RC(libxl_device_nic_remove(ctx, domid, &nic, NULL), 0);
    libxl_device_nic_dispose(&nic);

    /* I/O counters grow with the running guest's work. */
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);
    CHECK_RC(xlsim_domain_set_load(domid, 1.0), 0);
    xlsim_io_stats a, b;
    CHECK_RC(xlsim_nic_stats(domid, 0, &a), 0);
    int grew = 0;
    for (int i = 0; i < 5000 && !grew; i++) {
        t_sleep_ms(1);
        CHECK_RC(xlsim_nic_stats(domid, 0, &b), 0);
        grew = b.rd_bytes > a.rd_bytes;
    }
    CHECK(grew && b.wr_bytes >= a.wr_bytes);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
}

static void test_suspend_restore(libxl_ctx *ctx)
{
    libxl_domain_config dc;
    uint32_t domid;
    t_config(&dc, "sr", 128, 2);
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), 0);
    char path[] = "/tmp/xlsim-save-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    /* A paused guest cannot answer the suspend request. */
    CHECK_RC(libxl_domain_suspend(ctx, domid, fd, LIBXL_SUSPEND_LIVE, NULL), ERROR_GUEST_TIMEDOUT);
    CHECK(lseek(fd, 0, SEEK_END) == 0);
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);
    CHECK_RC(libxl_domain_suspend(ctx, domid, fd, LIBXL_SUSPEND_LIVE, NULL), 0);
    libxl_dominfo di = info(ctx, domid);
    CHECK(di.shutdown && di.shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND);
    CHECK(!di.running && !di.blocked);
    CHECK_RC(libxl_domain_suspend(ctx, domid, fd, 0, NULL), ERROR_FAIL);

    /* suspend_cancel resume brings it back. */
    CHECK_RC(libxl_domain_resume(ctx, domid, 1, NULL), 0);
    di = info(ctx, domid);
    CHECK(!di.shutdown && di.running);
    CHECK_RC(libxl_domain_resume(ctx, domid, 1, NULL), ERROR_FAIL);

    /* Then the usual save: suspend, destroy, restore from the image. */
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(ftruncate(fd, 0) == 0);
    CHECK_RC(libxl_domain_suspend(ctx, domid, fd, 0, NULL), 0);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    uint32_t newid = 0;
    libxl_domain_restore_params params;
    libxl_domain_restore_params_init(&params);
    CHECK(params.stream_version == 1);
    /* The init value means a legacy stream: not what libxl_domain_suspend wrote. */
    CHECK_RC(libxl_domain_create_restore(ctx, &dc, &newid, fd, -1, &params, NULL, NULL),
             ERROR_FAIL);
    CHECK(newid == (uint32_t)INVALID_DOMID);
    CHECK_RC(xlsim_domain_count(), 1);
    params.stream_version = 2;               /* as xl restore sets it for a v2 image */
    CHECK_RC(libxl_domain_create_restore(ctx, &dc, &newid, fd, -1, &params, NULL, NULL), 0);
    di = info(ctx, newid);
    CHECK(di.paused && !libxl_uuid_compare(&di.uuid, &dc.c_info.uuid));
    CHECK(di.vcpu_online == 2);
    libxl_domain_restore_params_dispose(&params);

    /* A stream that is not an image restores nothing. */
    int devnull = open("/dev/null", O_RDONLY);
    libxl_domain_config dc2;
    t_config(&dc2, "sr2", 128, 1);
    uint32_t id2 = 0;
    CHECK_RC(libxl_domain_create_restore(ctx, &dc2, &id2, devnull, -1, NULL, NULL, NULL),
             ERROR_FAIL);
    CHECK(id2 == (uint32_t)INVALID_DOMID);
    close(devnull);
    libxl_domain_config_dispose(&dc2);
    CHECK_RC(xlsim_domain_count(), 2);
    CHECK_RC(libxl_domain_destroy(ctx, newid, NULL), 0);
    libxl_domain_config_dispose(&dc);
    close(fd);
}

static void test_physinfo_version(libxl_ctx *ctx)
{
    libxl_physinfo pi;
    libxl_physinfo_init(&pi);
    CHECK_RC(libxl_get_physinfo(ctx, &pi), 0);
    CHECK(pi.nr_cpus == 16 && pi.max_cpu_id == 15 && pi.nr_nodes == 2);
    CHECK(pi.total_pages == 64ULL * 1024 * 1024 / 4);
    CHECK(pi.free_pages == (64ULL - 4) * 1024 * 1024 / 4);
    CHECK(pi.cap_pv && pi.cap_hvm && pi.cap_hap);
    libxl_physinfo_dispose(&pi);
    uint64_t free_kb = 0;
    CHECK_RC(libxl_get_free_memory(ctx, &free_kb), 0);
    CHECK(free_kb == 60ULL * 1024 * 1024);
    const libxl_version_info *v = libxl_get_version_info(ctx);
    CHECK(v->xen_version_major == 4 && v->xen_version_minor == 17 && v->pagesize == 4096);
    CHECK_RC(libxl_get_max_cpus(ctx), 16);
    CHECK_RC(libxl_get_max_nodes(ctx), 2);

    libxl_ctx *bad = (libxl_ctx *)0x1;
    CHECK_RC(libxl_ctx_alloc(&bad, LIBXL_VERSION + 1, 0, NULL), ERROR_VERSION);
    CHECK(bad == NULL);
    CHECK_RC(libxl_ctx_free(NULL), 0);
}

/* libxl 4.17 runs the bootloader of a PV/PVH guest on its first disk: without a disk (or with
 * an empty first drive) the create fails, ERROR_FAIL, and leaves no domain behind. */
static void test_bootloader_needs_a_disk(libxl_ctx *ctx)
{
    int before = xlsim_domain_count();
    libxl_domain_config dc;
    uint32_t domid = 0;
    t_config(&dc, "pygrub-nodisk", 64, 1);
    free(dc.b_info.kernel);
    dc.b_info.kernel = NULL;
    dc.b_info.bootloader = strdup("pygrub");
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_FAIL);
    CHECK(domid == (uint32_t)INVALID_DOMID);
    CHECK_RC(xlsim_domain_count(), before);
    uint32_t byname = 0;
    CHECK_RC(libxl_name_to_domid(ctx, "pygrub-nodisk", &byname), ERROR_INVAL);

    /* an empty CD drive as the first disk: still no boot disk */
    dc.disks = calloc(1, sizeof(*dc.disks));
    dc.num_disks = 1;
    libxl_device_disk_init(&dc.disks[0]);
    dc.disks[0].vdev = strdup("xvdd");
    dc.disks[0].is_cdrom = 1;
    dc.disks[0].removable = 1;
    dc.disks[0].format = LIBXL_DISK_FORMAT_EMPTY;
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), ERROR_FAIL);
    CHECK_RC(xlsim_domain_count(), before);

    /* with a disk the bootloader runs; a restore never runs it */
    libxl_device_disk_dispose(&dc.disks[0]);
    libxl_device_disk_init(&dc.disks[0]);
    dc.disks[0].vdev = strdup("xvda");
    dc.disks[0].pdev_path = strdup(t_file("boot.img"));
    dc.disks[0].readwrite = 1;
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), 0);
    CHECK_RC(xlsim_domain_count(), before + 1);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    libxl_domain_config_dispose(&dc);

    /* an HVM guest or a PV guest with a kernel needs no boot disk */
    t_config(&dc, "kernel-nodisk", 64, 1);
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL), 0);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    libxl_domain_config_dispose(&dc);
}

int main(void)
{
    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    t_reset();
    test_dom0_and_create(ctx);
    test_bad_configs(ctx);
    test_vcpus(ctx);
    test_memory(ctx);
    test_devices(ctx);
    test_suspend_restore(ctx);
    test_physinfo_version(ctx);
    test_bootloader_needs_a_disk(ctx);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    T_DONE();
}
