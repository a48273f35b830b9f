/*
 * libxl.h: the subset of libxenlight's public API (Xen 4.17) that the libxl
 * simulator implements. Names, signatures, macros and values are those of
 * Xen 4.17; this file was written for the simulator and declares nothing the
 * simulator does not implement.
 */
#ifndef LIBXL_H
#define LIBXL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdarg.h>
#include <string.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/wait.h> /* pid_t */

#include <xentoollog.h>

typedef struct libxl__ctx libxl_ctx;

#include <libxl_uuid.h>

/* API compatibility: as Xen 4.17, undefined means the current API. */
#ifdef LIBXL_API_VERSION
#if LIBXL_API_VERSION != 0x040200 && LIBXL_API_VERSION != 0x040300 && \
    LIBXL_API_VERSION != 0x040400 && LIBXL_API_VERSION != 0x040500 && \
    LIBXL_API_VERSION != 0x040700 && LIBXL_API_VERSION != 0x040800 && \
    LIBXL_API_VERSION != 0x041300 && LIBXL_API_VERSION != 0x041400
#error Unknown LIBXL_API_VERSION
#endif
#endif

/* Feature macros of Xen 4.17 that concern the implemented subset. */
#define LIBXL_HAVE_PHYSINFO_CAP_PV 1
#define LIBXL_HAVE_VCPUINFO_SOFT_AFFINITY 1
#define LIBXL_HAVE_ERROR_DOMAIN_NOTFOUND 1
#define LIBXL_HAVE_PHYSINFO_CAP_HAP_SHADOW 1
#define LIBXL_HAVE_PHYSINFO_CAP_IOMMU_HAP_PT_SHARE 1
#define LIBXL_HAVE_PHYSINFO_CAP_VMTRACE 1
#define LIBXL_HAVE_PHYSINFO_CAP_VPMU 1
#define LIBXL_HAVE_PHYSINFO_CAP_GNTTAB 1
#define LIBXL_HAVE_PHYSINFO_OUTSTANDING_PAGES 1
#define LIBXL_HAVE_PHYSINFO_MAX_POSSIBLE_MFN 1
#define LIBXL_HAVE_DOMINFO_OUTSTANDING_MEMKB 1
#define LIBXL_HAVE_DOMINFO_NEVER_STOP 1
#define LIBXL_HAVE_DOMINFO_GPADDR_BITS 1
#define LIBXL_HAVE_DOMAIN_CREATE_RESTORE_PARAMS 1
#define LIBXL_HAVE_DOMAIN_CREATE_RESTORE_SEND_BACK_FD 1
#define LIBXL_HAVE_SIGCHLD_OWNER_SELECTIVE_REAP 1
#define LIBXL_HAVE_BUILDINFO_KERNEL 1
#define LIBXL_HAVE_UUID_COPY_CTX_PARAM 1
#define LIBXL_HAVE_SSID_LABEL 1
#define LIBXL_HAVE_BITMAP_AND_OR 1
#define LIBXL_HAVE_BYTEARRAY_UUID 1
#define LIBXL_HAVE_MEMKB_64BITS 1
#define LIBXL_HAVE_CREATEINFO_DOMID
#define LIBXL_HAVE_BUILDINFO_VCPU_AFFINITY_ARRAYS 1
#if !defined(LIBXL_API_VERSION) || LIBXL_API_VERSION != 0x040200
#define LIBXL_HAVE_NONCONST_EVENT_OCCURS_EVENT_ARG 1
#endif
#if !defined(LIBXL_API_VERSION) || LIBXL_API_VERSION >= 0x040500
#define LIBXL_HAVE_NONCONST_LIBXL_BASENAME_RETURN_VALUE 1
#endif

#ifndef LIBXL_EXTERNAL_CALLERS_ONLY
#define LIBXL_EXTERNAL_CALLERS_ONLY /* disappears for callers outside libxl */
#endif

typedef uint8_t libxl_mac[6];
#define LIBXL_MAC_FMT "%02hhx:%02hhx:%02hhx:%02hhx:%02hhx:%02hhx"
#define LIBXL_MAC_FMTLEN ((2*6)+5)
#define LIBXL_MAC_BYTES(mac) mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
void libxl_mac_copy(libxl_ctx *ctx, libxl_mac *dst, const libxl_mac *src);

typedef char **libxl_string_list;
void libxl_string_list_dispose(libxl_string_list *sl);
int libxl_string_list_length(const libxl_string_list *sl);

typedef char **libxl_key_value_list;
void libxl_key_value_list_dispose(libxl_key_value_list *kvl);
int libxl_key_value_list_length(const libxl_key_value_list *kvl);

typedef uint32_t libxl_hwcap[8];

typedef uint64_t libxl_ev_user;

typedef struct {
    uint32_t size;          /* number of bytes in map */
    uint8_t *map;
} libxl_bitmap;
void libxl_bitmap_init(libxl_bitmap *map);
void libxl_bitmap_dispose(libxl_bitmap *map);

typedef uint32_t libxl_domid;
typedef int libxl_devid;

struct libxl_event;
/* Same layout as Xen's XEN_TAILQ_ENTRY(struct libxl_event). */
typedef struct {
    struct libxl_event *tqe_next;
    struct libxl_event **tqe_prev;
} libxl_ev_link;

/* A boolean with an explicit default: 0 default, < 0 false, > 0 true. */
typedef struct {
    int val;
} libxl_defbool;
void libxl_defbool_set(libxl_defbool *db, bool b);
void libxl_defbool_unset(libxl_defbool *db);
void libxl_defbool_setdefault(libxl_defbool *db, bool b);
bool libxl_defbool_is_default(libxl_defbool db);
bool libxl_defbool_val(libxl_defbool db);
const char *libxl_defbool_to_string(libxl_defbool b);

#define LIBXL_TIMER_MODE_DEFAULT -1
#define LIBXL_MEMKB_DEFAULT ~0ULL

#include "_libxl_types.h"

const libxl_version_info *libxl_get_version_info(libxl_ctx *ctx);

typedef struct {
    void (*callback)(libxl_ctx *ctx, int rc, void *for_callback);
    union {
        libxl_ev_user for_event; /* used if callback==NULL */
        void *for_callback;      /* passed to callback */
    } u;
} libxl_asyncop_how;

typedef struct {
    void (*callback)(libxl_ctx *ctx, libxl_event *, void *for_callback);
    libxl_ev_user for_event; /* always used */
    void *for_callback;      /* passed to callback */
} libxl_asyncprogress_how;

#define LIBXL_VERSION 0

int libxl_ctx_alloc(libxl_ctx **pctx, int version, unsigned flags /* none defined */,
                    xentoollog_logger *lg);
int libxl_ctx_free(libxl_ctx *ctx /* 0 is OK */);

#define INVALID_DOMID ~0
#define RANDOM_DOMID (INVALID_DOMID - 1)

int libxl_domain_create_new(libxl_ctx *ctx, libxl_domain_config *d_config, uint32_t *domid,
                            const libxl_asyncop_how *ao_how,
                            const libxl_asyncprogress_how *aop_console_how)
                            LIBXL_EXTERNAL_CALLERS_ONLY;
int libxl_domain_create_restore(libxl_ctx *ctx, libxl_domain_config *d_config,
                                uint32_t *domid, int restore_fd, int send_back_fd,
                                const libxl_domain_restore_params *params,
                                const libxl_asyncop_how *ao_how,
                                const libxl_asyncprogress_how *aop_console_how)
                                LIBXL_EXTERNAL_CALLERS_ONLY;

int libxl_domain_suspend(libxl_ctx *ctx, uint32_t domid, int fd, int flags /* LIBXL_SUSPEND_* */,
                         const libxl_asyncop_how *ao_how) LIBXL_EXTERNAL_CALLERS_ONLY;
#define LIBXL_SUSPEND_DEBUG 1
#define LIBXL_SUSPEND_LIVE 2

int libxl_domain_resume(libxl_ctx *ctx, uint32_t domid, int suspend_cancel,
                        const libxl_asyncop_how *ao_how) LIBXL_EXTERNAL_CALLERS_ONLY;

int libxl_domain_shutdown(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
                          LIBXL_EXTERNAL_CALLERS_ONLY;
int libxl_domain_reboot(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
                        LIBXL_EXTERNAL_CALLERS_ONLY;
#if defined(LIBXL_API_VERSION) && LIBXL_API_VERSION < 0x041300
static inline int libxl_domain_shutdown_0x041200(libxl_ctx *ctx, uint32_t domid)
{
    return libxl_domain_shutdown(ctx, domid, NULL);
}
#define libxl_domain_shutdown libxl_domain_shutdown_0x041200
static inline int libxl_domain_reboot_0x041200(libxl_ctx *ctx, uint32_t domid)
{
    return libxl_domain_reboot(ctx, domid, NULL);
}
#define libxl_domain_reboot libxl_domain_reboot_0x041200
#endif

int libxl_domain_destroy(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
                         LIBXL_EXTERNAL_CALLERS_ONLY;

int libxl_get_max_cpus(libxl_ctx *ctx);
int libxl_get_online_cpus(libxl_ctx *ctx);
int libxl_get_max_nodes(libxl_ctx *ctx);

/* old_name NULL: any old name is fine; else the domain must have it. */
/* Write the domain's core to filename (the simulator: ELF64 ET_CORE, a "Xen" note with the
 * domain's facts, a sparse PT_LOAD of its memory). */
int libxl_domain_core_dump(libxl_ctx *ctx, uint32_t domid, const char *filename,
                           const libxl_asyncop_how *ao_how);

/* Change a cdrom's media (the device must exist; HVM only, as libxl). An empty or NULL
 * pdev_path ejects. */
int libxl_cdrom_insert(libxl_ctx *ctx, uint32_t domid, libxl_device_disk *disk,
                       const libxl_asyncop_how *ao_how);

/* Scheduler parameters (the simulated host runs the credit scheduler: weight, cap). */
#define LIBXL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT    -1
#define LIBXL_DOMAIN_SCHED_PARAM_CAP_DEFAULT       -1
#define LIBXL_DOMAIN_SCHED_PARAM_PERIOD_DEFAULT    -1
#define LIBXL_DOMAIN_SCHED_PARAM_SLICE_DEFAULT     -1
#define LIBXL_DOMAIN_SCHED_PARAM_LATENCY_DEFAULT   -1
#define LIBXL_DOMAIN_SCHED_PARAM_EXTRATIME_DEFAULT -1
#define LIBXL_DOMAIN_SCHED_PARAM_BUDGET_DEFAULT    -1
int libxl_domain_sched_params_get(libxl_ctx *ctx, uint32_t domid,
                                  libxl_domain_sched_params *params);
int libxl_domain_sched_params_set(libxl_ctx *ctx, uint32_t domid,
                                  const libxl_domain_sched_params *params);

/* Xen's console ring (xl dmesg). read_line: 1 with *line_r set (owned by the reader,
 * valid until the next call), 0 at the end; the reader is freed by read_finish. */
typedef struct libxl__xen_console_reader libxl_xen_console_reader;
libxl_xen_console_reader *libxl_xen_console_read_start(libxl_ctx *ctx, int clear);
int libxl_xen_console_read_line(libxl_ctx *ctx, libxl_xen_console_reader *cr, char **line_r);
void libxl_xen_console_read_finish(libxl_ctx *ctx, libxl_xen_console_reader *cr);
/* Xen's debug keys: each key's handler runs (its output goes to the console ring). */
int libxl_send_debug_keys(libxl_ctx *ctx, char *keys);

/* The guest's primary console tty (xenconsoled's pty on Xen): *path is malloc'd.
 * The simulator gives the asking process a pty of its own per domain: what the guest
 * wrote so far comes first, then each new line. ERROR_DOMAIN_NOTFOUND without it. */
int libxl_primary_console_get_tty(libxl_ctx *ctx, uint32_t domid_vm, char **path);

int libxl_domain_rename(libxl_ctx *ctx, uint32_t domid, const char *old_name,
                        const char *new_name);

int libxl_domain_pause(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
                       LIBXL_EXTERNAL_CALLERS_ONLY;
int libxl_domain_unpause(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
                         LIBXL_EXTERNAL_CALLERS_ONLY;
#if defined(LIBXL_API_VERSION) && LIBXL_API_VERSION < 0x041300
static inline int libxl_domain_pause_0x041200(libxl_ctx *ctx, uint32_t domid)
{
    return libxl_domain_pause(ctx, domid, NULL);
}
static inline int libxl_domain_unpause_0x041200(libxl_ctx *ctx, uint32_t domid)
{
    return libxl_domain_unpause(ctx, domid, NULL);
}
#define libxl_domain_pause libxl_domain_pause_0x041200
#define libxl_domain_unpause libxl_domain_unpause_0x041200
#endif

int libxl_domain_setmaxmem(libxl_ctx *ctx, uint32_t domid, uint64_t target_memkb);
int libxl_set_memory_target(libxl_ctx *ctx, uint32_t domid, int64_t target_memkb,
                            int relative, int enforce);
int libxl_get_memory_target(libxl_ctx *ctx, uint32_t domid, uint64_t *out_target);
int libxl_get_free_memory(libxl_ctx *ctx, uint64_t *memkb);

/* info_r may be NULL: existence check. ERROR_DOMAIN_NOTFOUND if absent. */
int libxl_domain_info(libxl_ctx *, libxl_dominfo *info_r, uint32_t domid);
/* Arrays allocated with malloc; free with the matching _list_free. */
libxl_dominfo *libxl_list_domain(libxl_ctx *, int *nb_domain_out);
void libxl_dominfo_list_free(libxl_dominfo *list, int nb_domain);
libxl_vcpuinfo *libxl_list_vcpu(libxl_ctx *ctx, uint32_t domid, int *nb_vcpu, int *nr_cpus_out);
void libxl_vcpuinfo_list_free(libxl_vcpuinfo *, int nr_vcpus);

int libxl_device_disk_add(libxl_ctx *ctx, uint32_t domid, libxl_device_disk *disk,
                          const libxl_asyncop_how *ao_how) LIBXL_EXTERNAL_CALLERS_ONLY;
int libxl_device_disk_remove(libxl_ctx *ctx, uint32_t domid, libxl_device_disk *disk,
                             const libxl_asyncop_how *ao_how) LIBXL_EXTERNAL_CALLERS_ONLY;
int libxl_device_nic_add(libxl_ctx *ctx, uint32_t domid, libxl_device_nic *nic,
                         const libxl_asyncop_how *ao_how) LIBXL_EXTERNAL_CALLERS_ONLY;
int libxl_device_nic_remove(libxl_ctx *ctx, uint32_t domid, libxl_device_nic *nic,
                            const libxl_asyncop_how *ao_how) LIBXL_EXTERNAL_CALLERS_ONLY;

int libxl_get_physinfo(libxl_ctx *ctx, libxl_physinfo *physinfo);

int libxl_set_vcpuaffinity(libxl_ctx *ctx, uint32_t domid, uint32_t vcpuid,
                           const libxl_bitmap *cpumap_hard, const libxl_bitmap *cpumap_soft);
#if defined(LIBXL_API_VERSION) && LIBXL_API_VERSION < 0x040500
#define libxl_set_vcpuaffinity(ctx, domid, vcpuid, map) \
    libxl_set_vcpuaffinity((ctx), (domid), (vcpuid), (map), NULL)
#endif

int libxl_set_vcpuonline(libxl_ctx *ctx, uint32_t domid, libxl_bitmap *cpumap,
                         const libxl_asyncop_how *ao_how) LIBXL_EXTERNAL_CALLERS_ONLY;
#if defined(LIBXL_API_VERSION) && LIBXL_API_VERSION < 0x041300
static inline int libxl_set_vcpuonline_0x041200(libxl_ctx *ctx, uint32_t domid,
                                                libxl_bitmap *cpumap)
{
    return libxl_set_vcpuonline(ctx, domid, cpumap, NULL);
}
#define libxl_set_vcpuonline libxl_set_vcpuonline_0x041200
#endif

/* cpupools, topology (the simulated host has one pool, Pool-0, credit, every CPU). */
libxl_cpupoolinfo *libxl_list_cpupool(libxl_ctx *, int *nb_pool_out);
void libxl_cpupoolinfo_list_free(libxl_cpupoolinfo *list, int nb_pool);
int libxl_cpupool_info(libxl_ctx *ctx, libxl_cpupoolinfo *info, uint32_t poolid);
#define LIBXL_CPUTOPOLOGY_INVALID_ENTRY (~(uint32_t)0)
libxl_cputopology *libxl_get_cpu_topology(libxl_ctx *ctx, int *nb_cpu_out);
void libxl_cputopology_list_free(libxl_cputopology *, int nb_cpu);
#define LIBXL_NUMAINFO_INVALID_ENTRY (~(uint32_t)0)
libxl_numainfo *libxl_get_numainfo(libxl_ctx *ctx, int *nr);
void libxl_numainfo_list_free(libxl_numainfo *, int nr);

/* A domain's devices, as xenstore lists them (NULL and *num 0 when it has none). */
libxl_device_disk *libxl_device_disk_list(libxl_ctx *ctx, uint32_t domid, int *num)
    LIBXL_EXTERNAL_CALLERS_ONLY;
void libxl_device_disk_list_free(libxl_device_disk *list, int num) LIBXL_EXTERNAL_CALLERS_ONLY;
libxl_device_nic *libxl_device_nic_list(libxl_ctx *ctx, uint32_t domid, int *num)
    LIBXL_EXTERNAL_CALLERS_ONLY;
void libxl_device_nic_list_free(libxl_device_nic *list, int num) LIBXL_EXTERNAL_CALLERS_ONLY;
/* A device's xenstore state (frontend state, event channel, ring grant refs; -1 where a
 * node is absent); ERROR_FAIL when libxl's record of the device is absent. */
int libxl_device_disk_getinfo(libxl_ctx *ctx, uint32_t domid,
                              const libxl_device_disk *disk, libxl_diskinfo *diskinfo)
    LIBXL_EXTERNAL_CALLERS_ONLY;
int libxl_device_nic_getinfo(libxl_ctx *ctx, uint32_t domid,
                             const libxl_device_nic *nic, libxl_nicinfo *nicinfo)
    LIBXL_EXTERNAL_CALLERS_ONLY;

/* The credit scheduler's parameters of a cpupool (read only here). */
int libxl_sched_credit_params_get(libxl_ctx *ctx, uint32_t poolid,
                                  libxl_sched_credit_params *scinfo);

/* Seconds since the epoch when the domain was made; (uint32_t)-1 if unknown. */
uint32_t libxl_vm_get_start_time(libxl_ctx *ctx, uint32_t domid);

int libxl_domid_valid_guest(uint32_t domid);

#include <libxl_event.h>

#endif /* LIBXL_H */
