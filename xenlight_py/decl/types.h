/* types.h: libxl's basic types and the IDL-generated structs this binding uses (Xen 4.17).
 * Partial declarations ("...;"): the C compiler supplies the real layouts. */

typedef uint32_t libxl_domid;
typedef int libxl_devid;
typedef uint64_t libxl_ev_user;
typedef uint8_t libxl_mac[6];
typedef char **libxl_string_list;
typedef uint32_t libxl_hwcap[8];

typedef struct { unsigned char uuid[16]; ...; } libxl_uuid;
typedef struct { uint32_t size; uint8_t *map; ...; } libxl_bitmap;
typedef struct { int val; ...; } libxl_defbool;

void libxl_bitmap_init(libxl_bitmap *map);
void libxl_bitmap_dispose(libxl_bitmap *map);
void libxl_defbool_set(libxl_defbool *db, bool b);
bool libxl_defbool_val(libxl_defbool db);

typedef enum libxl_error {
    ERROR_NONSPECIFIC, ERROR_VERSION, ERROR_FAIL, ERROR_NI, ERROR_NOMEM, ERROR_INVAL,
    ERROR_BADFAIL, ERROR_GUEST_TIMEDOUT, ERROR_TIMEDOUT, ERROR_NOPARAVIRT, ERROR_NOT_READY,
    ERROR_OSEVENT_REG_FAIL, ERROR_BUFFERFULL, ERROR_UNKNOWN_CHILD, ERROR_LOCK_FAIL,
    ERROR_JSON_CONFIG_EMPTY, ERROR_DEVICE_EXISTS, ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH,
    ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED, ERROR_VNUMA_CONFIG_INVALID, ERROR_DOMAIN_NOTFOUND,
    ERROR_ABORTED, ERROR_NOTFOUND, ERROR_DOMAIN_DESTROYED, ERROR_FEATURE_REMOVED,
    ERROR_PROTOCOL_ERROR_QMP, ERROR_UNKNOWN_QMP_ERROR, ERROR_QMP_GENERIC_ERROR,
    ERROR_QMP_COMMAND_NOT_FOUND, ERROR_QMP_DEVICE_NOT_ACTIVE, ERROR_QMP_DEVICE_NOT_FOUND,
    ERROR_QEMU_API, ...
} libxl_error;
const char *libxl_error_to_string(libxl_error p);

typedef enum libxl_domain_type {
    LIBXL_DOMAIN_TYPE_INVALID, LIBXL_DOMAIN_TYPE_HVM, LIBXL_DOMAIN_TYPE_PV,
    LIBXL_DOMAIN_TYPE_PVH, ...
} libxl_domain_type;

typedef enum libxl_disk_format {
    LIBXL_DISK_FORMAT_UNKNOWN, LIBXL_DISK_FORMAT_QCOW, LIBXL_DISK_FORMAT_QCOW2,
    LIBXL_DISK_FORMAT_VHD, LIBXL_DISK_FORMAT_RAW, LIBXL_DISK_FORMAT_EMPTY,
    LIBXL_DISK_FORMAT_QED, ...
} libxl_disk_format;

typedef enum libxl_disk_backend {
    LIBXL_DISK_BACKEND_UNKNOWN, LIBXL_DISK_BACKEND_PHY, LIBXL_DISK_BACKEND_TAP,
    LIBXL_DISK_BACKEND_QDISK, LIBXL_DISK_BACKEND_STANDALONE, ...
} libxl_disk_backend;

typedef enum libxl_nic_type {
    LIBXL_NIC_TYPE_UNKNOWN, LIBXL_NIC_TYPE_VIF_IOEMU, LIBXL_NIC_TYPE_VIF, ...
} libxl_nic_type;

typedef enum libxl_action_on_shutdown {
    LIBXL_ACTION_ON_SHUTDOWN_DESTROY, LIBXL_ACTION_ON_SHUTDOWN_RESTART,
    LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME, LIBXL_ACTION_ON_SHUTDOWN_PRESERVE,
    LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY, LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART,
    LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET, ...
} libxl_action_on_shutdown;

typedef enum libxl_shutdown_reason {
    LIBXL_SHUTDOWN_REASON_UNKNOWN, LIBXL_SHUTDOWN_REASON_POWEROFF,
    LIBXL_SHUTDOWN_REASON_REBOOT, LIBXL_SHUTDOWN_REASON_SUSPEND, LIBXL_SHUTDOWN_REASON_CRASH,
    LIBXL_SHUTDOWN_REASON_WATCHDOG, LIBXL_SHUTDOWN_REASON_SOFT_RESET, ...
} libxl_shutdown_reason;

typedef struct libxl_dominfo {
    libxl_uuid uuid;
    libxl_domid domid;
    uint32_t ssidref;
    char *ssid_label;
    bool running;
    bool blocked;
    bool paused;
    bool shutdown;
    bool dying;
    bool never_stop;
    libxl_shutdown_reason shutdown_reason;
    uint64_t outstanding_memkb;
    uint64_t current_memkb;
    uint64_t shared_memkb;
    uint64_t paged_memkb;
    uint64_t max_memkb;
    uint64_t cpu_time;
    uint32_t vcpu_max_id;
    uint32_t vcpu_online;
    uint32_t cpupool;
    uint8_t gpaddr_bits;
    libxl_domain_type domain_type;
    ...;
} libxl_dominfo;
void libxl_dominfo_init(libxl_dominfo *p);
void libxl_dominfo_dispose(libxl_dominfo *p);

typedef struct libxl_version_info {
    int xen_version_major;
    int xen_version_minor;
    char *xen_version_extra;
    char *compiler;
    char *compile_by;
    char *compile_domain;
    char *compile_date;
    char *capabilities;
    char *changeset;
    uint64_t virt_start;
    int pagesize;
    char *commandline;
    char *build_id;
    ...;
} libxl_version_info;

typedef struct libxl_vcpuinfo {
    uint32_t vcpuid;
    uint32_t cpu;
    bool online;
    bool blocked;
    bool running;
    uint64_t vcpu_time;
    libxl_bitmap cpumap;
    libxl_bitmap cpumap_soft;
    ...;
} libxl_vcpuinfo;

typedef struct libxl_physinfo {
    uint32_t threads_per_core;
    uint32_t cores_per_socket;
    uint32_t max_cpu_id;
    uint32_t nr_cpus;
    uint32_t cpu_khz;
    uint64_t total_pages;
    uint64_t free_pages;
    uint64_t scrub_pages;
    uint64_t outstanding_pages;
    uint64_t sharing_freed_pages;
    uint64_t sharing_used_frames;
    uint64_t max_possible_mfn;
    uint32_t nr_nodes;
    libxl_hwcap hw_cap;
    bool cap_hvm;
    bool cap_pv;
    bool cap_hvm_directio;
    bool cap_hap;
    bool cap_shadow;
    bool cap_iommu_hap_pt_share;
    ...;
} libxl_physinfo;
void libxl_physinfo_init(libxl_physinfo *p);
void libxl_physinfo_dispose(libxl_physinfo *p);

typedef struct libxl_domain_create_info {
    libxl_domain_type type;
    libxl_defbool hap;
    uint32_t ssidref;
    char *name;
    libxl_domid domid;
    libxl_uuid uuid;
    uint32_t poolid;
    char *pool_name;
    ...;
} libxl_domain_create_info;

typedef struct libxl_domain_restore_params {
    int checkpointed_stream;
    uint32_t stream_version;
    ...;
} libxl_domain_restore_params;
void libxl_domain_restore_params_init(libxl_domain_restore_params *p);
void libxl_domain_restore_params_dispose(libxl_domain_restore_params *p);

/* The keyed union u of libxl_domain_build_info is anonymous in libxl's headers, so cffi
 * cannot take it as partial: each member gets a typedef (typeof, in the C source) and an
 * accessor. */
typedef struct { char *firmware; char *boot; ...; } xlpy_build_info_hvm;
typedef struct {
    char *kernel;
    uint64_t slack_memkb;
    char *bootloader;
    libxl_string_list bootloader_args;
    char *cmdline;
    char *ramdisk;
    ...;
} xlpy_build_info_pv;
typedef struct { char *pvshim_path; ...; } xlpy_build_info_pvh;

typedef enum libxl_scheduler {
    LIBXL_SCHEDULER_UNKNOWN = 0, LIBXL_SCHEDULER_SEDF = 4, LIBXL_SCHEDULER_CREDIT = 5,
    LIBXL_SCHEDULER_CREDIT2 = 6, LIBXL_SCHEDULER_ARINC653 = 7, LIBXL_SCHEDULER_RTDS = 8,
    LIBXL_SCHEDULER_NULL = 9
} libxl_scheduler;
typedef struct libxl_domain_sched_params {
    libxl_scheduler sched;
    int weight;
    int cap;
    ...;
} libxl_domain_sched_params;
#define LIBXL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT ...
#define LIBXL_DOMAIN_SCHED_PARAM_CAP_DEFAULT ...
void libxl_domain_sched_params_init(libxl_domain_sched_params *p);
void libxl_domain_sched_params_dispose(libxl_domain_sched_params *p);

typedef struct libxl_domain_build_info {
    int max_vcpus;
    libxl_bitmap avail_vcpus;
    libxl_bitmap cpumap;
    uint64_t max_memkb;
    uint64_t target_memkb;
    uint64_t video_memkb;
    uint64_t shadow_memkb;
    char *kernel;
    char *cmdline;
    char *ramdisk;
    char *bootloader;
    libxl_string_list bootloader_args;
    libxl_domain_type type;
    libxl_domain_sched_params sched_params;
    ...;
} libxl_domain_build_info;
xlpy_build_info_hvm *xlpy_b_info_hvm(libxl_domain_build_info *b);
xlpy_build_info_pv *xlpy_b_info_pv(libxl_domain_build_info *b);
xlpy_build_info_pvh *xlpy_b_info_pvh(libxl_domain_build_info *b);

typedef struct libxl_device_disk {
    libxl_domid backend_domid;
    char *backend_domname;
    char *pdev_path;
    char *vdev;
    libxl_disk_backend backend;
    libxl_disk_format format;
    char *script;
    int removable;
    int readwrite;
    int is_cdrom;
    ...;
} libxl_device_disk;
void libxl_device_disk_init(libxl_device_disk *p);
void libxl_device_disk_dispose(libxl_device_disk *p);

typedef struct libxl_device_nic {
    libxl_domid backend_domid;
    char *backend_domname;
    libxl_devid devid;
    int mtu;
    char *model;
    libxl_mac mac;
    char *ip;
    char *bridge;
    char *ifname;
    char *script;
    libxl_nic_type nictype;
    uint64_t rate_bytes_per_interval;
    uint32_t rate_interval_usecs;
    ...;
} libxl_device_nic;
void libxl_device_nic_init(libxl_device_nic *p);
void libxl_device_nic_dispose(libxl_device_nic *p);

/* A device's xenstore state (libxl_device_{disk,nic}_getinfo). */
typedef struct libxl_diskinfo {
    char *backend;
    uint32_t backend_id;
    char *frontend;
    uint32_t frontend_id;
    libxl_devid devid;
    int state;
    int evtch;
    int rref;
    ...;
} libxl_diskinfo;
void libxl_diskinfo_init(libxl_diskinfo *p);
void libxl_diskinfo_dispose(libxl_diskinfo *p);

typedef struct libxl_nicinfo {
    char *backend;
    uint32_t backend_id;
    char *frontend;
    uint32_t frontend_id;
    libxl_devid devid;
    int state;
    int evtch;
    int rref_tx;
    int rref_rx;
    ...;
} libxl_nicinfo;
void libxl_nicinfo_init(libxl_nicinfo *p);
void libxl_nicinfo_dispose(libxl_nicinfo *p);

typedef struct libxl_domain_config {
    libxl_domain_create_info c_info;
    libxl_domain_build_info b_info;
    int num_disks;
    libxl_device_disk *disks;
    int num_nics;
    libxl_device_nic *nics;
    libxl_action_on_shutdown on_poweroff;
    libxl_action_on_shutdown on_reboot;
    libxl_action_on_shutdown on_watchdog;
    libxl_action_on_shutdown on_crash;
    ...;
} libxl_domain_config;
void libxl_domain_config_init(libxl_domain_config *p);
void libxl_domain_config_dispose(libxl_domain_config *p);
void libxl_domain_build_info_init_type(libxl_domain_build_info *p, libxl_domain_type type);

/* Helpers from the binding's C shim. */
char *xlpy_strdup(const char *s);  /* malloc'd copy for IDL struct fields (NULL stays NULL) */
void *xlpy_calloc(size_t n, size_t size);

/* Host topology and cpupools. */
typedef struct libxl_cpupoolinfo {
    uint32_t poolid;
    char *pool_name;
    libxl_scheduler sched;
    uint32_t n_dom;
    libxl_bitmap cpumap;
    ...;
} libxl_cpupoolinfo;
void libxl_cpupoolinfo_init(libxl_cpupoolinfo *p);
void libxl_cpupoolinfo_dispose(libxl_cpupoolinfo *p);

typedef struct libxl_cputopology {
    uint32_t core;
    uint32_t socket;
    uint32_t node;
    ...;
} libxl_cputopology;
#define LIBXL_CPUTOPOLOGY_INVALID_ENTRY ...

typedef struct libxl_numainfo {
    uint64_t size;
    uint64_t free;
    int num_dists;
    uint32_t *dists;
    ...;
} libxl_numainfo;
#define LIBXL_NUMAINFO_INVALID_ENTRY ...

typedef struct libxl_sched_credit_params {
    int tslice_ms;
    int ratelimit_us;
    int vcpu_migr_delay_us;
    ...;
} libxl_sched_credit_params;
void libxl_sched_credit_params_init(libxl_sched_credit_params *p);
