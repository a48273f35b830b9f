/* xc.h: libxenctrl, for the raw hypervisor view (cheap bulk cpu_time reads). */

typedef struct xc_interface_core xc_interface;

typedef struct xen_domctl_getdomaininfo {
    uint16_t domain;
    uint32_t flags;
    uint64_t tot_pages;
    uint64_t max_pages;
    uint64_t outstanding_pages;
    uint64_t shr_pages;
    uint64_t paged_pages;
    uint64_t cpu_time;
    uint32_t nr_online_vcpus;
    uint32_t max_vcpu_id;
    uint32_t ssidref;
    uint8_t handle[16];
    uint32_t cpupool;
    ...;
} xc_domaininfo_t;

typedef struct xen_sysctl_physinfo {
    uint32_t threads_per_core;
    uint32_t cores_per_socket;
    uint32_t nr_cpus;
    uint32_t max_cpu_id;
    uint32_t nr_nodes;
    uint32_t max_node_id;
    uint32_t cpu_khz;
    uint32_t capabilities;
    uint64_t total_pages;
    uint64_t free_pages;
    uint64_t scrub_pages;
    uint64_t outstanding_pages;
    uint64_t max_mfn;
    ...;
} xc_physinfo_t;

typedef struct xen_domctl_getvcpuinfo {
    uint32_t vcpu;
    uint8_t online;
    uint8_t blocked;
    uint8_t running;
    uint64_t cpu_time;
    uint32_t cpu;
    ...;
} xc_vcpuinfo_t;

typedef enum xc_error_code {
    XC_ERROR_NONE, XC_INTERNAL_ERROR, XC_INVALID_KERNEL, XC_INVALID_PARAM, XC_OUT_OF_MEMORY, ...
} xc_error_code;
typedef struct xc_error { xc_error_code code; char message[...]; ...; } xc_error;

#define XEN_DOMINF_dying ...
#define XEN_DOMINF_hvm_guest ...
#define XEN_DOMINF_shutdown ...
#define XEN_DOMINF_paused ...
#define XEN_DOMINF_blocked ...
#define XEN_DOMINF_running ...
#define XEN_DOMINF_shutdownmask ...
#define XEN_DOMINF_shutdownshift ...

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                unsigned open_flags);
int xc_interface_close(xc_interface *xch);
int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain, unsigned int max_domains,
                          xc_domaininfo_t *info);
int xc_physinfo(xc_interface *xch, xc_physinfo_t *info);
int xc_vcpu_getinfo(xc_interface *xch, uint32_t domid, uint32_t vcpu, xc_vcpuinfo_t *info);
const xc_error *xc_get_last_error(xc_interface *handle);
