/*
 * control.c: the simulator's control API (xlsim.h): configure the host, make
 * guests act by themselves, inject faults, set load, read device counters and
 * guest agent data. The only door through which tests bend the simulation.
 */
#include "sim_internal.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Functions whose failures can be injected with xlsim_fail_next. */
static const char *const faultable[] = {
    "libxl_ctx_alloc", "libxl_list_domain", "libxl_domain_info", "libxl_list_vcpu",
    "libxl_get_physinfo", "libxl_get_free_memory", "libxl_get_memory_target",
    "libxl_get_max_cpus", "libxl_domain_create_new", "libxl_domain_create_restore",
    "libxl_domain_pause", "libxl_domain_unpause", "libxl_domain_shutdown",
    "libxl_domain_reboot", "libxl_domain_destroy", "libxl_domain_suspend",
    /* points inside the save/migration stream (stream.c) */
    "libxl_domain_suspend/live", "libxl_domain_suspend/suspended",
    "libxl_domain_create_restore/stream",
    "libxl_domain_resume", "libxl_domain_rename", "libxl_domain_setmaxmem",
    "libxl_domain_sched_params_get", "libxl_domain_sched_params_set", "libxl_cdrom_insert",
    "libxl_domain_core_dump",
    "libxl_set_memory_target", "libxl_set_vcpuonline", "libxl_set_vcpuaffinity",
    "libxl_device_disk_add", "libxl_device_disk_remove", "libxl_device_nic_add",
    "libxl_device_nic_remove", "libxl_vdev_to_device_disk", "libxl_devid_to_device_nic",
    "libxl_name_to_domid", "libxl_evenable_domain_death",
    "libxl_list_cpupool", "libxl_cpupool_info", "libxl_get_cpu_topology", "libxl_get_numainfo",
    "libxl_device_disk_list", "libxl_device_nic_list", "libxl_vm_get_start_time",
    "libxl_device_disk_getinfo", "libxl_device_nic_getinfo",
    "libxl_sched_credit_params_get",
    "xc_interface_open", "xc_domain_getinfolist", "xc_physinfo", "xc_vcpu_getinfo",
};


/* Control calls have no logger of their own: their messages go to stderr. */
static xentoollog_logger_stdiostream *stderr_logger;
static void make_stderr_logger(void)
{
    stderr_logger = xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
}

static xentoollog_logger *_Atomic user_logger;

void xlsim_set_logger(struct xentoollog_logger *lg)
{
    user_logger = lg;
}

static void done(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    xentoollog_logger *lg = user_logger;
    if (!lg) {
        pthread_once(&once, make_stderr_logger);
        lg = (xentoollog_logger *)stderr_logger;
    }
    xlsim__flush(lg, "xlsim");
}

static int begin(void)
{
    if (xlsim__init()) {
        done();
        return ERROR_FAIL;
    }
    xlsim__lock();
    return 0;
}

static int end(int rc)
{
    xlsim__unlock();
    done();
    return rc;
}

int xlsim_host_configure(const xlsim_host_config *cfg)
{
    xlsim_host_config c;
    if (cfg)
        c = *cfg;
    else
        xlsim_host_config_default(&c);
    if (begin())
        return ERROR_FAIL;
    int rc = xlsim__check_config(&c);
    if (!rc)
        xlsim__host_reset(&c);
    return end(rc);
}

int xlsim_host_get_config(xlsim_host_config *cfg)
{
    if (!cfg)
        return ERROR_INVAL;
    if (begin())
        return ERROR_FAIL;
    *cfg = xlsim__S->cfg;
    return end(0);
}

/* Lock held: the domain, or NULL with *rc = ERROR_DOMAIN_NOTFOUND (logged). */
static struct sim_dom *domain(uint32_t domid, int *rc)
{
    struct sim_dom *d = xlsim__dom(domid);
    if (!d) {
        LOG(ERROR, "domain %u does not exist", domid);
        *rc = ERROR_DOMAIN_NOTFOUND;
    }
    return d;
}

/* Lock held: a guest (not dom0) that exists. */
static struct sim_dom *guest(uint32_t domid, int *rc)
{
    struct sim_dom *d = domain(domid, rc);
    if (!d)
        return NULL;
    if (domid == 0) {
        LOG(ERROR, "dom0 is not a simulated guest");
        *rc = ERROR_INVAL;
        return NULL;
    }
    *rc = 0;
    return d;
}

int xlsim_guest_shutdown(uint32_t domid, int reason)
{
    if (reason < LIBXL_SHUTDOWN_REASON_POWEROFF || reason > LIBXL_SHUTDOWN_REASON_SOFT_RESET) {
        LOG(ERROR, "shutdown reason %d is not one of LIBXL_SHUTDOWN_REASON_POWEROFF..SOFT_RESET",
            reason);
        done();
        return ERROR_INVAL;
    }
    if (begin())
        return ERROR_FAIL;
    int rc;
    struct sim_dom *d = guest(domid, &rc);
    if (d) {
        uint64_t now = xlsim__now();
        xlsim__settle(d, now);
        if (d->shutdown) {
            LOG(ERROR, "domain %u is already shut down", domid);
            rc = ERROR_INVAL;
        } else if (d->pause_count) {
            LOG(ERROR, "domain %u is paused: its guest cannot act", domid);
            rc = ERROR_INVAL;
        } else {
            xlsim__guest_shutdown(d, reason, now);
        }
    }
    return end(rc);
}

int xlsim_guest_poweroff(uint32_t domid) { return xlsim_guest_shutdown(domid, LIBXL_SHUTDOWN_REASON_POWEROFF); }
int xlsim_guest_reboot(uint32_t domid) { return xlsim_guest_shutdown(domid, LIBXL_SHUTDOWN_REASON_REBOOT); }
int xlsim_guest_crash(uint32_t domid) { return xlsim_guest_shutdown(domid, LIBXL_SHUTDOWN_REASON_CRASH); }

int xlsim_guest_set_ignore_shutdown(uint32_t domid, int ignore)
{
    if (begin())
        return ERROR_FAIL;
    int rc;
    struct sim_dom *d = guest(domid, &rc);
    if (d) {
        d->ignore_shutdown = ignore ? 1 : 0;
        if (ignore && d->pending_reason != -2) {
            d->pending_reason = -2;  /* a request not yet answered is dropped */
            d->pending_due_ns = d->pending_left_ns = 0;
        }
        xlsim__touch();
    }
    return end(rc);
}

int xlsim_guest_set_shutdown_delay(uint32_t domid, unsigned delay_ms)
{
    if (begin())
        return ERROR_FAIL;
    int rc;
    struct sim_dom *d = guest(domid, &rc);
    if (d) {
        d->shutdown_delay_ms = delay_ms;
        xlsim__touch();
    }
    return end(rc);
}

int xlsim_domain_set_load(uint32_t domid, double load)
{
    if (!(load >= 0.0 && load <= 1.0)) {  /* also rejects NaN */
        LOG(ERROR, "load must be within 0.0..1.0");
        done();
        return ERROR_INVAL;
    }
    if (begin())
        return ERROR_FAIL;
    int rc = 0;
    struct sim_dom *d = domain(domid, &rc);
    if (d) {
        xlsim__accrue(d, xlsim__now());
        d->load_ppm = (uint32_t)lround(load * 1000000.0);
        xlsim__touch();
    }
    return end(rc);
}

int xlsim_fail_next(const char *function, int count, int rc)
{
    int known = 0;
    for (size_t i = 0; function && i < sizeof(faultable) / sizeof(faultable[0]); i++)
        if (!strcmp(faultable[i], function))
            known = 1;
    if (!known) {
        LOG(ERROR, "xlsim_fail_next: %s is not a function whose failure can be injected",
            function ? function : "(null)");
        done();
        return ERROR_INVAL;
    }
    if (count < 0 || (count > 0 && rc >= 0)) {
        LOG(ERROR, "xlsim_fail_next: count must be >= 0 and rc a negative libxl error");
        done();
        return ERROR_INVAL;
    }
    if (begin())
        return ERROR_FAIL;
    struct sim_state *S = xlsim__S;
    int slot = -1, free_slot = -1;
    for (int i = 0; i < XLSIM_MAX_FAULTS; i++) {
        if (S->faults[i].count > 0 && !strcmp(S->faults[i].function, function))
            slot = i;
        else if (S->faults[i].count <= 0 && free_slot < 0)
            free_slot = i;
    }
    int ret = 0;
    if (slot >= 0) {
        if (count == 0) {
            S->faults[slot].count = 0;
            S->faults[slot].function[0] = 0;
            S->faults_armed--;
        } else {
            S->faults[slot].count = count;
            S->faults[slot].rc = rc;
        }
    } else if (count > 0) {
        /* free_slot always exists: there are fewer faultable names than slots. */
        snprintf(S->faults[free_slot].function, sizeof(S->faults[0].function), "%s", function);
        S->faults[free_slot].count = count;
        S->faults[free_slot].rc = rc;
        S->faults_armed++;
    }
    return end(ret);
}

void xlsim_clear_faults(void)
{
    if (begin())
        return;
    memset(xlsim__S->faults, 0, sizeof(xlsim__S->faults));
    xlsim__S->faults_armed = 0;
    end(0);
}

/* Counters grow with the domain's cpu time since the device was plugged:
 * monotonic, and still while the domain is paused or shut down. */
static void io_from(uint64_t work_ns, uint64_t rd_per_s, uint64_t wr_per_s, xlsim_io_stats *out)
{
    out->rd_bytes = work_ns / 1000 * rd_per_s / 1000000;
    out->wr_bytes = work_ns / 1000 * wr_per_s / 1000000;
    out->rd_reqs = out->rd_bytes / 4096;
    out->wr_reqs = out->wr_bytes / 4096;
}

/* Lock held: d's disk vdev, or NULL with *rc = ERROR_NOTFOUND (logged). */
static struct sim_disk *disk_of(struct sim_dom *d, const char *vdev, int *rc)
{
    struct sim_disk *disk = xlsim__disk(d, vdev);
    if (!disk) {
        LOG(ERROR, "domain %u has no disk %s", d->domid, vdev);
        *rc = ERROR_NOTFOUND;
    }
    return disk;
}

int xlsim_disk_stats(uint32_t domid, const char *vdev, xlsim_io_stats *out)
{
    if (!vdev || !out)
        return ERROR_INVAL;
    if (begin())
        return ERROR_FAIL;
    int rc = 0;
    struct sim_dom *d = domain(domid, &rc);
    struct sim_disk *disk = d ? disk_of(d, vdev, &rc) : NULL;
    if (disk)   /* 8 MB/s read and 2 MB/s written per busy vCPU-second. */
        io_from(xlsim__cpu_time(d, xlsim__now()) - disk->io_base_ns, 8000000, 2000000, out);
    return end(rc);
}

int xlsim_disk_path(uint32_t domid, const char *vdev, char *out, size_t len)
{
    if (!vdev || !out || !len)
        return ERROR_INVAL;
    if (begin())
        return ERROR_FAIL;
    int rc = 0;
    struct sim_dom *d = domain(domid, &rc);
    struct sim_disk *disk = d ? disk_of(d, vdev, &rc) : NULL;
    if (disk)
        rc = xlsim__copy_str(out, len, disk->pdev_path);
    return end(rc);
}

int xlsim_nic_stats(uint32_t domid, int devid, xlsim_io_stats *out)
{
    if (!out)
        return ERROR_INVAL;
    if (begin())
        return ERROR_FAIL;
    int rc = 0;
    struct sim_dom *d = domain(domid, &rc);
    struct sim_nic *nic = d ? xlsim__nic(d, devid) : NULL;
    if (d && !nic) {
        LOG(ERROR, "domain %u has no nic %d", domid, devid);
        rc = ERROR_NOTFOUND;
    } else if (nic) {
        /* 4 MB/s received and 1 MB/s sent per busy vCPU-second. */
        io_from(xlsim__cpu_time(d, xlsim__now()) - nic->io_base_ns, 4000000, 1000000, out);
        out->rd_reqs = out->rd_bytes / 1500;  /* packets */
        out->wr_reqs = out->wr_bytes / 1500;
    }
    return end(rc);
}

/* The first IPv4 address of a nic's ip= list (space-separated, IPv6 allowed), in
 * canonical dotted-quad form, or "" if it has none. A dotted quad (at most 15
 * characters) always fits: the list as a whole (up to 47) would not. */
static void first_ipv4(const char *ips, char *out, size_t outsz)
{
    out[0] = '\0';
    while (*ips) {
        size_t n = strcspn(ips, " ");
        char tok[INET_ADDRSTRLEN];
        struct in_addr a;
        if (n > 0 && n < sizeof(tok)) {
            memcpy(tok, ips, n);
            tok[n] = '\0';
            if (inet_pton(AF_INET, tok, &a) == 1) {
                if (!inet_ntop(AF_INET, &a, out, (socklen_t)outsz))
                    out[0] = '\0';
                return;
            }
        }
        ips += n;
        ips += strspn(ips, " ");
    }
}

int xlsim_guest_info(uint32_t domid, struct xlsim_guest_info *out)
{
    if (!out)
        return ERROR_INVAL;
    if (begin())
        return ERROR_FAIL;
    int rc;
    struct sim_dom *d = guest(domid, &rc);
    if (d) {
        uint64_t cur = xlsim__current_kb(d, xlsim__now());
        memset(out, 0, sizeof(*out));
        out->mem_total_kb = cur;
        /* The guest uses a base of 64 MiB plus its load's share of the rest. */
        uint64_t used = 64 * 1024 + (cur > 65536 ? (cur - 65536) * d->load_ppm / 1000000 : 0);
        out->mem_free_kb = used < cur ? cur - used : 0;
        snprintf(out->os_name, sizeof(out->os_name), "Debian GNU/Linux 12 (bookworm)");
        snprintf(out->os_kernel, sizeof(out->os_kernel), "6.1.0-sim");
        struct sim_dom_cold *c = xlsim__cold(d);
        for (int i = 0; i < XLSIM_MAX_NICS; i++) {
            if (!c->nic[i].used)
                continue;
            if (c->nic[i].ip[0])
                first_ipv4(c->nic[i].ip, out->ipv4, sizeof(out->ipv4));
            else
                snprintf(out->ipv4, sizeof(out->ipv4), "10.%u.%u.%u", (domid >> 8) & 0xff,
                         domid & 0xff, 2 + (unsigned)c->nic[i].devid);
            break;
        }
    }
    return end(rc);
}

int xlsim_domain_count(void)
{
    if (begin())
        return ERROR_FAIL;
    int n = (int)xlsim__S->ndoms;
    end(0);
    return n;
}

int xlsim_guest_state(uint32_t domid, struct xlsim_guest_state *out)
{
    if (!out)
        return ERROR_INVAL;
    if (begin())
        return ERROR_FAIL;
    int rc;
    struct sim_dom *d = guest(domid, &rc);
    if (d) {
        libxl_uuid u;
        memcpy(u.uuid, d->boot_id, 16);
        memset(out, 0, sizeof(*out));
        snprintf(out->boot_id, sizeof(out->boot_id), LIBXL_UUID_FMT, LIBXL_UUID_BYTES(u));
        out->uptime_ns = xlsim__uptime(d, xlsim__now());
        out->resumes = d->guest_resumes;
    }
    return end(rc);
}

int xlsim_guest_console(uint32_t domid, char *out, size_t len)
{
    if (!out || !len)
        return ERROR_INVAL;
    if (begin())
        return ERROR_FAIL;
    int rc;
    struct sim_dom *d = guest(domid, &rc);
    if (d) {
        struct sim_dom_cold *c = xlsim__cold(d);
        if (c->gcons_len >= len) {
            LOG(ERROR, "the console of domain %u holds %u bytes", domid, c->gcons_len);
            rc = ERROR_INVAL;
        } else {
            memcpy(out, c->gcons, c->gcons_len);
            out[c->gcons_len] = 0;
            rc = (int)c->gcons_len;
        }
    }
    return end(rc);
}
