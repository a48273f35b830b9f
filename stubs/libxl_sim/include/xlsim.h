/*
 * xlsim.h: the simulator's control API. Not part of libxl: tests, benchmarks and the
 * binding's "sim" backend use it to configure the simulated host and to bend it (guest
 * behaviour, injected faults, load). Every function returns 0 on success or a negative
 * libxl error code (ERROR_INVAL, ERROR_DOMAIN_NOTFOUND, ...) unless stated otherwise.
 *
 * The simulated host is process-wide state shared by every libxl_ctx / xc_interface. When
 * the environment variable XLSIM_STATE_FILE names a file, the state lives in that file
 * (shared by every process that names it, with locking) and survives process restarts.
 */
#ifndef XLSIM_H
#define XLSIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XLSIM_MAX_DOMAINS 4096

typedef struct xlsim_host_config {
    int nr_cpus;              /* pCPUs (default 16) */
    int nr_nodes;             /* NUMA nodes (default 2); pCPUs split evenly */
    int threads_per_core;     /* default 2 */
    int cpu_khz;              /* default 2400000 */
    uint64_t total_memkb;     /* default 64 GiB */
    uint64_t dom0_memkb;      /* default 4 GiB */
    int dom0_vcpus;           /* default 4 */
    unsigned shutdown_delay_ms; /* default delay before a guest answers a shutdown request (200) */
    unsigned balloon_kb_per_s;  /* ballooning speed towards the target (default 4 GiB/s) */
    int scheduler;            /* Pool-0's scheduler: LIBXL_SCHEDULER_CREDIT (5, default) or
                                 _CREDIT2 (6, Xen 4.17's own default) */
    int shadow_paging;        /* 1 (default): the hypervisor has shadow paging, which a PV
                                 guest's log-dirty mode (live migration) needs; 0: built
                                 without it (Debian's Xen 4.17), a live save of a PV guest
                                 fails before anything is sent, the guest untouched */
} xlsim_host_config;

/* Fill *cfg with the defaults above. */
void xlsim_host_config_default(xlsim_host_config *cfg);

/* Reset the whole simulated host to cfg (NULL: defaults): only dom0 remains, faults and
 * pending events are cleared. */
int xlsim_host_configure(const xlsim_host_config *cfg);

/* Read the current host configuration. */
int xlsim_host_get_config(xlsim_host_config *cfg);

/* The guest of domid acts by itself, as a real guest can: it shuts down with reason
 * (LIBXL_SHUTDOWN_REASON_POWEROFF, _REBOOT, _CRASH, _WATCHDOG, ...). The domain enters the
 * shutdown state and a DOMAIN_SHUTDOWN event is raised for watchers. */
int xlsim_guest_shutdown(uint32_t domid, int reason);

/* Convenience forms of xlsim_guest_shutdown. */
int xlsim_guest_poweroff(uint32_t domid);
int xlsim_guest_reboot(uint32_t domid);
int xlsim_guest_crash(uint32_t domid);

/* Make the guest ignore (1) or honour (0) shutdown/reboot requests from the toolstack. */
int xlsim_guest_set_ignore_shutdown(uint32_t domid, int ignore);

/* Per-domain delay before the guest answers a shutdown/reboot request. */
int xlsim_guest_set_shutdown_delay(uint32_t domid, unsigned delay_ms);

/* Simulated load of the running vCPUs of domid, 0.0 .. 1.0 of each vCPU (default 0.1). */
int xlsim_domain_set_load(uint32_t domid, double load);

/* Make the next `count` calls of the libxl/xc function named `function` (e.g.
 * "libxl_domain_create_new") fail with rc (a negative libxl error code). count 0 clears.
 * Points inside the save/migration stream have names of their own:
 *   "libxl_domain_suspend/live"        after a pre-copy round (the guest still runs; the
 *                                      stream is cut short, no END)
 *   "libxl_domain_suspend/suspended"   once the guest has suspended, before its last pages
 *                                      (left suspended: resume it or destroy it)
 *   "libxl_domain_create_restore/stream" after the first pages were read into the new
 *                                      domain (it is destroyed again) */
int xlsim_fail_next(const char *function, int count, int rc);

/* Clear every injected fault. */
void xlsim_clear_faults(void);

/* Device I/O counters, advancing with wall time while the domain runs (for metrics). */
typedef struct xlsim_io_stats {
    uint64_t rd_bytes;   /* disk: read; nic: received */
    uint64_t wr_bytes;   /* disk: written; nic: transmitted */
    uint64_t rd_reqs;
    uint64_t wr_reqs;
} xlsim_io_stats;
int xlsim_disk_stats(uint32_t domid, const char *vdev, xlsim_io_stats *out);
int xlsim_nic_stats(uint32_t domid, int devid, xlsim_io_stats *out);

/* The backing path of a domain's disk (what blkback opened; "" for an empty cdrom) into
 * out[len]. ERROR_DOMAIN_NOTFOUND / ERROR_NOTFOUND / ERROR_INVAL (len too small). */
int xlsim_disk_path(uint32_t domid, const char *vdev, char *out, size_t len);

/* What the simulated guest agent reports (as a PV guest agent writes to xenstore).
 * No typedef: the name xlsim_guest_info is the function's (C forbids both). */
struct xlsim_guest_info {
    uint64_t mem_total_kb;
    uint64_t mem_free_kb;
    char os_name[64];        /* e.g. "Debian GNU/Linux 12 (bookworm)" */
    char os_kernel[64];      /* e.g. "6.1.0-sim" */
    char ipv4[40];           /* address of the first nic, dotted quad, "" if none */
};
int xlsim_guest_info(uint32_t domid, struct xlsim_guest_info *out);

/* The guest's own state, which lives in its memory: a save/restore or a migration carries it
 * to the new domain (a new boot only comes with a new domain built by create_new). Xen's
 * accounting (cpu_time, I/O counters) restarts with each domain; this does not. */
struct xlsim_guest_state {
    char boot_id[40];        /* uuid text, random at create_new (Linux's boot_id) */
    uint64_t uptime_ns;      /* time the guest has run (unpaused, not shut down) */
    uint32_t resumes;        /* times it came back from a suspend (restore or cancel) */
};
int xlsim_guest_state(uint32_t domid, struct xlsim_guest_state *out);

/* The guest's console output (hvc0, as xenconsoled logs it; the last 2 KiB) into
 * out[len], NUL-terminated. Returns its length, or ERROR_INVAL if len is too small. */
int xlsim_guest_console(uint32_t domid, char *out, size_t len);

/* Number of live domains including dom0 (cheap; for tests). */
int xlsim_domain_count(void);

/* Where the control API's own messages go (the libxl calls log to their context's
 * logger). NULL (the default) means stderr at level error. Not owned: the caller
 * keeps it alive while set. Addition to the original contract. */
struct xentoollog_logger;
void xlsim_set_logger(struct xentoollog_logger *lg);

#ifdef __cplusplus
}
#endif
#endif /* XLSIM_H */
