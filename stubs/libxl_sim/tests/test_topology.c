/* cpupools, CPU/NUMA topology and device lists: libxl's shapes and ownership rules. */
#include "t.h"

int main(void)
{
    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    t_reset();

    libxl_physinfo pi;
    libxl_physinfo_init(&pi);
    CHECK_RC(libxl_get_physinfo(ctx, &pi), 0);

    /* One pool, Pool-0: credit, every CPU, dom0 in it. */
    int np = -1;
    libxl_cpupoolinfo *pools = libxl_list_cpupool(ctx, &np);
    CHECK(pools && np == 1);
    CHECK(pools[0].poolid == 0 && !strcmp(pools[0].pool_name, "Pool-0"));
    CHECK(pools[0].sched == LIBXL_SCHEDULER_CREDIT && pools[0].n_dom == 1);
    for (uint32_t c = 0; c < pi.nr_cpus; c++)
        CHECK(libxl_bitmap_test(&pools[0].cpumap, (int)c));
    libxl_cpupoolinfo_list_free(pools, np);

    uint32_t d1 = t_create(ctx, "topo1", 128, 2);
    libxl_cpupoolinfo info;
    libxl_cpupoolinfo_init(&info);
    CHECK_RC(libxl_cpupool_info(ctx, &info, 0), 0);
    CHECK(info.n_dom == 2 && !strcmp(info.pool_name, "Pool-0"));
    libxl_cpupoolinfo_dispose(&info);
    libxl_cpupoolinfo_init(&info);
    CHECK_RC(libxl_cpupool_info(ctx, &info, 7), ERROR_FAIL);
    libxl_cpupoolinfo_dispose(&info);

    /* CPU topology: one entry per CPU, consistent with physinfo. */
    int nc = -1;
    libxl_cputopology *topo = libxl_get_cpu_topology(ctx, &nc);
    CHECK(topo && nc == (int)pi.nr_cpus);
    uint32_t per_socket = pi.cores_per_socket * pi.threads_per_core;
    for (int i = 0; i < nc; i++) {
        CHECK(topo[i].core < pi.cores_per_socket);
        CHECK(topo[i].socket == (uint32_t)i / per_socket);
        CHECK(topo[i].node < pi.nr_nodes);
    }
    libxl_cputopology_list_free(topo, nc);

    /* NUMA: nr_nodes entries in bytes, a square distance matrix, local 10. */
    int nn = -1;
    libxl_numainfo *numa = libxl_get_numainfo(ctx, &nn);
    CHECK(numa && nn == (int)pi.nr_nodes);
    uint64_t total = 0;
    for (int i = 0; i < nn; i++) {
        total += numa[i].size;
        CHECK(numa[i].free <= numa[i].size && numa[i].num_dists == nn);
        for (int j = 0; j < nn; j++)
            CHECK(numa[i].dists[j] == (i == j ? 10u : 20u));
    }
    CHECK(total == pi.total_pages * 4096);
    libxl_numainfo_list_free(numa, nn);

    /* Device lists: empty is NULL with 0, for a missing domain too. */
    int nd = -1;
    CHECK(libxl_device_disk_list(ctx, d1, &nd) == NULL && nd == 0);
    CHECK(libxl_device_nic_list(ctx, 4242, &nd) == NULL && nd == 0);

    FILE *img = fopen("/tmp/xlsim-topology.img", "w");
    CHECK(img != NULL);
    fclose(img);
    libxl_device_disk disk;
    libxl_device_disk_init(&disk);
    disk.vdev = strdup("xvdb");
    disk.pdev_path = strdup("/tmp/xlsim-topology.img");
    disk.format = LIBXL_DISK_FORMAT_RAW;
    disk.readwrite = 1;
    CHECK_RC(libxl_device_disk_add(ctx, d1, &disk, NULL), 0);
    libxl_device_disk_dispose(&disk);
    libxl_device_disk *disks = libxl_device_disk_list(ctx, d1, &nd);
    CHECK(disks && nd == 1);
    CHECK(!strcmp(disks[0].vdev, "xvdb") && !strcmp(disks[0].pdev_path, "/tmp/xlsim-topology.img"));
    CHECK(disks[0].readwrite == 1 && disks[0].format == LIBXL_DISK_FORMAT_UNKNOWN);
    libxl_device_disk_list_free(disks, nd);
    unlink("/tmp/xlsim-topology.img");

    for (int i = 0; i < 3; i++) {
        libxl_device_nic nic;
        libxl_device_nic_init(&nic);
        nic.devid = 2 - i;          /* added out of order: listed in devid order */
        nic.mac[0] = 0x00; nic.mac[1] = 0x16; nic.mac[2] = 0x3e; nic.mac[5] = (uint8_t)i;
        nic.bridge = strdup("xenbr0");
        CHECK_RC(libxl_device_nic_add(ctx, d1, &nic, NULL), 0);
        libxl_device_nic_dispose(&nic);
    }
    libxl_device_nic *nics = libxl_device_nic_list(ctx, d1, &nd);
    CHECK(nics && nd == 3);
    for (int i = 0; i < 3; i++) {
        CHECK(nics[i].devid == i && !strcmp(nics[i].bridge, "xenbr0") && nics[i].mac[5] == 2 - i);
        /* libxl's default script, as Xen 4.17 lists it: the absolute path. */
        CHECK(nics[i].script && !strcmp(nics[i].script, "/etc/xen/scripts/vif-bridge"));
    }
    libxl_device_nic_list_free(nics, nd);
    {
        libxl_device_nic nic;
        libxl_device_nic_init(&nic);
        nic.script = strdup("vif-route");      /* relative: in Xen's script directory */
        CHECK_RC(libxl_device_nic_add(ctx, d1, &nic, NULL), 0);
        int devid = nic.devid;
        libxl_device_nic_dispose(&nic);
        CHECK_RC(libxl_devid_to_device_nic(ctx, d1, devid, &nic), 0);
        CHECK(nic.script && !strcmp(nic.script, "/etc/xen/scripts/vif-route"));
        libxl_device_nic_dispose(&nic);
    }

    /* Console tty: as real Xen 4.17, none for dom0 (ERROR_FAIL), ERROR_INVAL for a domain
     * that does not exist (libxl cannot read its type); a guest's is a pty. */
    char *tty = NULL;
    CHECK_RC(libxl_primary_console_get_tty(ctx, 0, &tty), ERROR_FAIL);
    CHECK_RC(libxl_primary_console_get_tty(ctx, 4242, &tty), ERROR_INVAL);
    CHECK(tty == NULL);
    CHECK_RC(libxl_primary_console_get_tty(ctx, d1, &tty), 0);
    CHECK(tty && !strncmp(tty, "/dev/pts/", 9));
    free(tty);

    /* Injected faults: NULL, count 0. */
    CHECK_RC(xlsim_fail_next("libxl_list_cpupool", 1, ERROR_FAIL), 0);
    CHECK(libxl_list_cpupool(ctx, &np) == NULL && np == 0);
    CHECK_RC(xlsim_fail_next("libxl_get_numainfo", 1, ERROR_FAIL), 0);
    CHECK(libxl_get_numainfo(ctx, &nn) == NULL && nn == 0);

    /* Start time: when the domain was made; none for dom0 or a missing domain. */
    uint32_t st = libxl_vm_get_start_time(ctx, d1);
    uint32_t now = (uint32_t)time(NULL);
    CHECK(st != (uint32_t)-1 && st <= now && now - st < 60);
    CHECK(libxl_vm_get_start_time(ctx, 0) == (uint32_t)-1);
    CHECK(libxl_vm_get_start_time(ctx, 4242) == (uint32_t)-1);

    libxl_physinfo_dispose(&pi);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    T_DONE();
}
