/*
 * sim_internal.h: the simulator's private declarations, shared by the src/ files.
 *
 * Every source compiles both against the simulator's own headers and against
 * Xen 4.17's real headers (make check), so this file only uses names that
 * exist in both. Internal symbols are prefixed xlsim__ (no clash with the
 * binding that compiles these sources into its extension).
 */
#ifndef XLSIM_INTERNAL_H
#define XLSIM_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <libxl.h>
#include <libxl_utils.h>
#include <libxl_event.h>
#include <xenctrl.h>
#include <xentoollog.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "../include/xlsim.h"

/* Limits of the simulated host (state is fixed-size so it can live in a file). */
#define XLSIM_MAX_VCPUS   64     /* per domain */
#define XLSIM_MAX_PCPUS   128
#define XLSIM_CPUMAP_BYTES (XLSIM_MAX_PCPUS / 8)
#define XLSIM_MAX_DISKS   16
#define XLSIM_MAX_NICS    8
#define XLSIM_NAME_LEN    128
#define XLSIM_VDEV_LEN    32
#define XLSIM_PATH_LEN    256
#define XLSIM_SCRIPT_DIR  "/etc/xen/scripts"   /* libxl__xen_script_dir_path on Debian */
#define XLSIM_SLOTS       (XLSIM_MAX_DOMAINS + 1)     /* dom0 + guests */
#define XLSIM_NR_DOMIDS   0x7FF0                      /* DOMID_FIRST_RESERVED */
#define XLSIM_MAX_FAULTS  32
#define XLSIM_MAX_PAUSE   255    /* Xen 4.17 controller pause count limit */

/* libxl internals mirrored: Xen's max = static-max + this slack (libxl_internal.h). */
#define XLSIM_MAXMEM_CONSTANT 1024
#define XLSIM_MIN_DOM0_MEM    (128 * 1024)
#define XLSIM_DEFAULT_LOAD_PPM 100000   /* 0.1 of each vCPU */

#define XLSIM_STATE_MAGIC   0x314554415453534cULL /* "LSSTATE1" */
#define XLSIM_STATE_VERSION 9

struct sim_vcpu {
    uint64_t base_ns;                 /* vcpu_time accrued up to dom.since_ns */
    uint8_t online;
    uint8_t hard[XLSIM_CPUMAP_BYTES];
    uint8_t soft[XLSIM_CPUMAP_BYTES];
};

struct sim_disk {
    uint8_t used;
    uint8_t readwrite, is_cdrom, removable;
    int32_t backend, format;
    uint64_t io_base_ns;              /* domain cpu time when plugged */
    char vdev[XLSIM_VDEV_LEN];
    char pdev_path[XLSIM_PATH_LEN];
};

struct sim_nic {
    uint8_t used;
    uint8_t mac[6];
    int32_t devid;
    int32_t mtu;
    int32_t nictype;
    uint64_t io_base_ns;
    char bridge[64];
    char ip[48];
    char model[32];
    char ifname[32];
    char script[128];                 /* absolute, as libxl writes it to the backend */
};

/* Hot per-domain state: what list/info read. */
struct sim_dom {
    uint32_t in_use;
    uint32_t domid;
    uint64_t serial;                  /* unique per domain instance */
    uint8_t uuid[16];
    int32_t type;                     /* libxl_domain_type */
    uint32_t ssidref;
    uint32_t pause_count;
    uint8_t shutdown;
    int8_t shutdown_reason;
    uint8_t ignore_shutdown;
    uint8_t has_run;                  /* unpaused at least once: its vCPUs exist as blocked */
    int8_t pending_reason;            /* -2: no pending request */
    uint64_t pending_due_ns;          /* 0 while frozen (paused) */
    uint64_t pending_left_ns;         /* remaining delay while frozen */
    uint32_t shutdown_delay_ms;
    uint32_t max_vcpus;
    uint32_t online_vcpus;
    uint32_t load_ppm;                /* load of each running vCPU, 0..1e6 */
    uint64_t cpu_base_ns;
    uint64_t since_ns;                /* accrual checkpoint */
    uint64_t mem_from_kb, target_kb, mem_since_ns;
    uint64_t max_kb;                  /* Xen's max (max_pages * 4) */
    uint64_t static_max_kb;           /* libxl's memory/static-max */
    uint32_t cpupool;
    uint32_t sched_weight, sched_cap; /* credit scheduler: 1..65535, 0 (none)..100*vCPUs */
    uint32_t ndisks, nnics;
    /* The guest's own state (in its memory: a save/restore or migration carries it). */
    uint8_t boot_id[16];              /* random at create_new */
    uint64_t uptime_base_ns;          /* time run (unpaused, not shut down) up to since_ns */
    uint32_t guest_resumes;           /* times the guest came back from suspend */
    uint64_t start_s;                 /* libxl's /vm/<uuid>/start_time: made at (seconds) */
    char name[XLSIM_NAME_LEN];
};

/* The guest's console (hvc0), as xenconsoled would log it: bytes in order, the
 * oldest dropped when full. Part of the guest state a migration carries. */
#define XLSIM_GUEST_CONS 2048

struct sim_dom_cold {
    uint32_t gcons_len;
    char gcons[XLSIM_GUEST_CONS];
    struct sim_vcpu vcpu[XLSIM_MAX_VCPUS];
    struct sim_disk disk[XLSIM_MAX_DISKS];
    struct sim_nic nic[XLSIM_MAX_NICS];
};

struct sim_fault {
    char function[64];
    int32_t count;
    int32_t rc;
};

/* Xen's console ring (xl dmesg): bytes written so far wrap in buf; reads start at
 * max(head - size, clear_mark), as a read with clear empties Xen's ring. */
#define XLSIM_CONS_RING 16384
struct sim_cons {
    uint64_t head;                    /* total bytes ever written */
    uint64_t clear_mark;              /* head at the last clearing read */
    uint64_t boot_ns;                 /* host reset: lines are stamped with uptime */
    char buf[XLSIM_CONS_RING];
};

struct sim_state {
    uint64_t magic;
    uint32_t version;
    uint32_t size_check;
    pthread_mutex_t lock;
    uint64_t change_seq;
    uint64_t next_serial;
    uint32_t rover;                   /* last auto-allocated domid, as Xen */
    uint32_t ndoms;
    uint32_t nfree;
    uint32_t faults_armed;
    xlsim_host_config cfg;
    struct sim_fault faults[XLSIM_MAX_FAULTS];
    struct sim_cons cons;
    int16_t slot_of[XLSIM_NR_DOMIDS]; /* domid -> slot, -1 if none */
    uint64_t live[(XLSIM_NR_DOMIDS + 63) / 64];
    uint16_t free_slots[XLSIM_SLOTS];
    struct sim_dom dom[XLSIM_SLOTS];
    struct sim_dom_cold cold[XLSIM_SLOTS];
};

/* ---- process-wide state (state.c) ---- */
extern struct sim_state *xlsim__S;
int xlsim__init(void);                /* 0 or ERROR_FAIL; idempotent */
void xlsim__lock(void);
void xlsim__unlock(void);             /* rings watchers if something changed */
void xlsim__touch(void);              /* record an observable change (lock held) */
uint64_t xlsim__now(void);            /* CLOCK_REALTIME ns */
int xlsim__fault(const char *function); /* lock held; injected rc or 0 */
void xlsim__host_reset(const xlsim_host_config *cfg); /* lock held */
int xlsim__check_config(const xlsim_host_config *cfg);
int xlsim__bell_fd(void);             /* inotify fd of the state file's bell, -1 without */
void xlsim__drain(int fd);
void xlsim__poke_all(void);           /* wake every context of this process */

/* ---- scheduler (sched.c) ---- */
#define XLSIM_SCHED_WEIGHT 256        /* the credit scheduler's defaults */
/* Lock held. Resolve params against current (weight, cap) for a domain of max_vcpus;
 * ERROR_INVAL (logged) for another scheduler or values out of range. */
int xlsim__sched_resolve(const libxl_domain_sched_params *p, uint32_t max_vcpus,
                         uint32_t *weight, uint32_t *cap);

/* ---- Xen console ring (console.c) ---- */
void xlsim__cons(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* lock held */
void xlsim__cons_boot(void);          /* lock held: reset the ring to the boot banner */

/* ---- domains (state.c) ---- */
struct sim_dom *xlsim__dom(uint32_t domid); /* lock held; NULL if none */
static inline struct sim_dom_cold *xlsim__cold(const struct sim_dom *d)
{
    return &xlsim__S->cold[d - xlsim__S->dom];
}
/* d's disk with this vdev, or NULL (lock held). */
static inline struct sim_disk *xlsim__disk(const struct sim_dom *d, const char *vdev)
{
    struct sim_dom_cold *c = xlsim__cold(d);
    for (int i = 0; i < XLSIM_MAX_DISKS; i++)
        if (c->disk[i].used && !strcmp(c->disk[i].vdev, vdev))
            return &c->disk[i];
    return NULL;
}
/* d's nic with this devid, or NULL (lock held). */
static inline struct sim_nic *xlsim__nic(const struct sim_dom *d, int devid)
{
    struct sim_dom_cold *c = xlsim__cold(d);
    for (int i = 0; i < XLSIM_MAX_NICS; i++)
        if (c->nic[i].used && c->nic[i].devid == devid)
            return &c->nic[i];
    return NULL;
}
void xlsim__accrue(struct sim_dom *d, uint64_t t); /* checkpoint cpu time at t */
int xlsim__accruing(const struct sim_dom *d);
uint64_t xlsim__cpu_time(const struct sim_dom *d, uint64_t now);
uint64_t xlsim__vcpu_time(const struct sim_dom *d, int v, uint64_t now);
uint64_t xlsim__current_kb(const struct sim_dom *d, uint64_t now);
uint64_t xlsim__reserved_kb(const struct sim_dom *d, uint64_t now);
uint64_t xlsim__free_kb(uint64_t now);
void xlsim__settle(struct sim_dom *d, uint64_t now); /* apply a due guest shutdown */
void xlsim__guest_shutdown(struct sim_dom *d, int reason, uint64_t at);
int xlsim__vcpu_cpu(const struct sim_dom *d, int v);
void xlsim__dominfo(const struct sim_dom *d, uint64_t now, libxl_dominfo *out);
void xlsim__free_domain(struct sim_dom *d);
void xlsim__gtty_close(uint32_t domid);     /* this process's console pty of the domain */
uint64_t xlsim__uptime(const struct sim_dom *d, uint64_t now); /* guest-visible run time */
void xlsim__guest_boot(struct sim_dom *d);  /* lock held: new boot id, banner on hvc0 */
void xlsim__gcons(struct sim_dom *d, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));  /* lock held: a line on the guest console */

/* ---- logging (log.c): messages are queued per thread while the lock is held
 * and emitted by xlsim__flush once it is released. ---- */
void xlsim__log(xentoollog_level level, int errnoval, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void xlsim__flush(xentoollog_logger *lg, const char *context);
#define LOG(l, ...) xlsim__log(XTL_##l, -1, __VA_ARGS__)
#define LOGD(l, domid, fmt, ...) \
    xlsim__log(XTL_##l, -1, "%s: Domain %u:" fmt, __func__, (unsigned)(domid), ##__VA_ARGS__)

/* ---- contexts and events (ctx.c, events.c) ---- */
struct libxl__evgen_domain_death {
    struct libxl__evgen_domain_death *next;
    uint32_t domid;
    uint64_t serial;                  /* 0: domain absent when enabled */
    libxl_ev_user user;
    int shutdown_reported;
    int death_reported;
};

struct sim_timeout {
    struct sim_timeout *next;
    void *for_app;
    uint64_t abs_ns;
};

struct sim_fdreg {
    int fd;
    int registered;
    void *for_app;
};

struct libxl__ctx {
    xentoollog_logger *lg;
    pthread_mutex_t lock;             /* ctx-local: events, hooks */
    int efd;                          /* eventfd poked on every change in this process */
    int ifd;                          /* dup of the bell inotify fd, -1 without state file */
    libxl_version_info vinfo;
    libxl_evgen_domain_death *evgens;
    libxl_event *q_head, *q_tail;     /* queued events, linked by link.tqe_next */
    int waiters;
    int have_hooks;
    libxl_event_hooks hooks;
    void *hooks_user;
    int have_os;
    libxl_osevent_hooks os;
    void *os_user;
    struct sim_fdreg fdr[2];
    struct sim_timeout *timeouts;
    libxl_childproc_hooks chld;
    void *chld_user;
    struct libxl__ctx *reg_next;
};

void xlsim__ctx_register(libxl_ctx *ctx);
void xlsim__ctx_unregister(libxl_ctx *ctx);
/* Finish an operation: return rc synchronously, or report it through ao_how. */
int xlsim__ao_complete(libxl_ctx *ctx, const libxl_asyncop_how *ao_how, uint32_t domid, int rc);
/* As libxl's AO_CREATE_FAIL: a failure detected while starting the operation is
 * returned directly even with ao_how (no callback, no event); success completes. */
int xlsim__ao_start_failed(libxl_ctx *ctx, const libxl_asyncop_how *ao_how, uint32_t domid,
                           int rc);
void xlsim__emit(libxl_ctx *ctx, libxl_event *ev);  /* queue or hand to callbacks */
void xlsim__scan(libxl_ctx *ctx);
void xlsim__events_free(libxl_ctx *ctx);
void xlsim__unlock_ctx(libxl_ctx *ctx); /* unlock + flush log to ctx */

/* devices.c: caller devices into the simulator's records (no lock needed). */
int xlsim__disk_from(struct sim_disk *out, const libxl_device_disk *disk, uint32_t domid);
int xlsim__disk_backend(const libxl_device_disk *disk, uint32_t domid, int32_t *backend);
int xlsim__nic_from(struct sim_nic *out, const libxl_device_nic *nic, uint32_t domid);

/* ---- helpers (types.c / utils.c) ---- */
int xlsim__bitmap_bits_from(uint8_t *dst, size_t dst_bytes, const libxl_bitmap *src, int nbits);
int xlsim__popcount(const uint8_t *map, size_t bytes);
int xlsim__vdev_number(const char *vdev); /* libxl__device_disk_dev_number; -1: invalid */
char *xlsim__strdup(const char *s);   /* NULL-safe, aborts on OOM like libxl */
void *xlsim__calloc(size_t n, size_t sz);
int xlsim__copy_str(char *dst, size_t dstlen, const char *src); /* ERROR_INVAL if too long */

/* ---- save/migration stream (stream.c) ---- */
/* Write the stream of domid (instance serial) into fd, suspending the guest on the way
 * (live: after the pre-copy rounds). Lock not held. 0 or a libxl error. */
int xlsim__save_stream(libxl_ctx *ctx, uint32_t domid, uint64_t serial, int fd, int live);
/* Read a stream from fd into a new paused domain built from dc (create_common). Lock not
 * held. On failure nothing is left and *domid is INVALID_DOMID. */
int xlsim__restore_stream(libxl_ctx *ctx, libxl_domain_config *dc, uint32_t *domid, int fd);
/* domain.c: create a paused domain from dc (validated first, written back); the fault
 * point is fn. lifecycle.c: can d be suspended now (lock held; logs why not)? */
int xlsim__create(libxl_ctx *ctx, libxl_domain_config *dc, uint32_t *domid, const char *fn);
int xlsim__suspendable(struct sim_dom *d, uint32_t domid);

#endif /* XLSIM_INTERNAL_H */
