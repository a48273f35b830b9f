/*
 * xenctrl.h: the subset of libxenctrl (Xen 4.17) that the libxl simulator
 * implements, with the hypercall structures it fills (same names, field names
 * and types as Xen 4.17's public headers; trailing fields the simulator does
 * not fill are omitted).
 */
#ifndef XENCTRL_H
#define XENCTRL_H

#include <unistd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>

#include "xentoollog.h"

typedef uint16_t domid_t;
#define DOMID_FIRST_RESERVED 0x7FF0U
typedef uint8_t xen_domain_handle_t[16];

#define XEN_DOMINF_dying      (1U<<0)
#define XEN_DOMINF_hvm_guest  (1U<<1)
#define XEN_DOMINF_shutdown   (1U<<2)
#define XEN_DOMINF_paused     (1U<<3)
#define XEN_DOMINF_blocked    (1U<<4)
#define XEN_DOMINF_running    (1U<<5)
#define XEN_DOMINF_debugged   (1U<<6)
#define XEN_DOMINF_xs_domain  (1U<<7)
#define XEN_DOMINF_hap        (1U<<8)
#define XEN_DOMINF_shutdownmask 255
#define XEN_DOMINF_shutdownshift 16
#define XEN_INVALID_MAX_VCPU_ID (~0U)

struct xen_domctl_getdomaininfo {
    domid_t  domain;
    uint16_t pad1;
    uint32_t flags;              /* XEN_DOMINF_* */
    uint64_t tot_pages;
    uint64_t max_pages;
    uint64_t outstanding_pages;
    uint64_t shr_pages;
    uint64_t paged_pages;
    uint64_t shared_info_frame;
    uint64_t cpu_time;
    uint32_t nr_online_vcpus;
    uint32_t max_vcpu_id;
    uint32_t ssidref;
    xen_domain_handle_t handle;
    uint32_t cpupool;
    uint8_t gpaddr_bits;
    uint8_t pad2[7];
};
typedef struct xen_domctl_getdomaininfo xen_domctl_getdomaininfo_t;
typedef xen_domctl_getdomaininfo_t xc_domaininfo_t;

struct xen_domctl_getvcpuinfo {
    uint32_t vcpu;       /* IN */
    uint8_t  online;
    uint8_t  blocked;
    uint8_t  running;
    uint64_t cpu_time;   /* ns */
    uint32_t cpu;
};
typedef struct xen_domctl_getvcpuinfo xc_vcpuinfo_t;

#define XEN_SYSCTL_PHYSCAP_hvm           (1u<<0)
#define XEN_SYSCTL_PHYSCAP_pv            (1u<<1)
#define XEN_SYSCTL_PHYSCAP_directio      (1u<<2)
#define XEN_SYSCTL_PHYSCAP_hap           (1u<<3)
#define XEN_SYSCTL_PHYSCAP_shadow        (1u<<4)
#define XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share (1u<<5)
#define XEN_SYSCTL_PHYSCAP_vmtrace       (1u<<6)
#define XEN_SYSCTL_PHYSCAP_vpmu          (1u<<7)
#define XEN_SYSCTL_PHYSCAP_gnttab_v1     (1u<<8)
#define XEN_SYSCTL_PHYSCAP_gnttab_v2     (1u<<9)

struct xen_sysctl_physinfo {
    uint32_t threads_per_core;
    uint32_t cores_per_socket;
    uint32_t nr_cpus;
    uint32_t max_cpu_id;
    uint32_t nr_nodes;
    uint32_t max_node_id;
    uint32_t cpu_khz;
    uint32_t capabilities;
    uint32_t arch_capabilities;
    uint32_t pad;
    uint64_t total_pages;
    uint64_t free_pages;
    uint64_t scrub_pages;
    uint64_t outstanding_pages;
    uint64_t max_mfn;
    uint32_t hw_cap[8];
};
typedef struct xen_sysctl_physinfo xc_physinfo_t;

typedef struct xc_interface_core xc_interface;

enum xc_error_code {
    XC_ERROR_NONE = 0,
    XC_INTERNAL_ERROR = 1,
    XC_INVALID_KERNEL = 2,
    XC_INVALID_PARAM = 3,
    XC_OUT_OF_MEMORY = 4,
};
typedef enum xc_error_code xc_error_code;

#define XC_MAX_ERROR_MSG_LEN 1024
typedef struct xc_error {
    enum xc_error_code code;
    char message[XC_MAX_ERROR_MSG_LEN];
} xc_error;

enum xc_open_flags {
    XC_OPENFLAG_DUMMY = 1<<0,
    XC_OPENFLAG_NON_REENTRANT = 1<<1,
};

/* logger NULL: log to stderr. Returns NULL (errno set) on failure. */
xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                unsigned open_flags);
int xc_interface_close(xc_interface *xch);

/* Domains with domid >= first_domain, in domid order; returns the count or -1 (errno). */
int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain, unsigned int max_domains,
                          xc_domaininfo_t *info);
int xc_physinfo(xc_interface *xch, xc_physinfo_t *info);
int xc_vcpu_getinfo(xc_interface *xch, uint32_t domid, uint32_t vcpu, xc_vcpuinfo_t *info);

const xc_error *xc_get_last_error(xc_interface *handle);
void xc_clear_last_error(xc_interface *xch);
const char *xc_error_code_to_desc(int code);

#endif /* XENCTRL_H */
