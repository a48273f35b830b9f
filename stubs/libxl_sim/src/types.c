/*
 * types.c: _init / _dispose / _init_type of the IDL types the simulator uses,
 * with Xen 4.17's defaults, plus defbool, string lists and enum names.
 * dispose frees every string and array the struct holds (strings are malloc'd).
 */
#include "sim_internal.h"

#include <stdio.h>

void *xlsim__calloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        /* libxl aborts on allocation failure too (libxl__alloc_failed). */
        fprintf(stderr, "libxl_sim: out of memory\n");
        abort();
    }
    return p;
}

char *xlsim__strdup(const char *s)
{
    if (!s)
        return NULL;
    char *r = strdup(s);
    if (!r) {
        fprintf(stderr, "libxl_sim: out of memory\n");
        abort();
    }
    return r;
}

int xlsim__copy_str(char *dst, size_t dstlen, const char *src)
{
    if (!src) {
        dst[0] = 0;
        return 0;
    }
    size_t n = strlen(src);
    if (n >= dstlen)
        return ERROR_INVAL;
    memcpy(dst, src, n + 1);
    return 0;
}

/* ---- defbool: 0 default, > 0 true, < 0 false ---- */

void libxl_defbool_set(libxl_defbool *db, bool b) { db->val = b ? 1 : -1; }
void libxl_defbool_unset(libxl_defbool *db) { db->val = 0; }
void libxl_defbool_setdefault(libxl_defbool *db, bool b)
{
    if (!db->val)
        libxl_defbool_set(db, b);
}
bool libxl_defbool_is_default(libxl_defbool db) { return !db.val; }
bool libxl_defbool_val(libxl_defbool db) { return db.val > 0; }
const char *libxl_defbool_to_string(libxl_defbool b)
{
    return b.val < 0 ? "False" : b.val > 0 ? "True" : "<default>";
}

/* ---- builtin lists ---- */

void libxl_string_list_dispose(libxl_string_list *psl)
{
    char **sl = *psl;
    if (!sl)
        return;
    for (int i = 0; sl[i]; i++)
        free(sl[i]);
    free(sl);
    *psl = NULL;
}

int libxl_string_list_length(const libxl_string_list *psl)
{
    int i = 0;
    if (*psl)
        while ((*psl)[i])
            i++;
    return i;
}

void libxl_key_value_list_dispose(libxl_key_value_list *pkvl)
{
    char **kvl = *pkvl;
    if (!kvl)
        return;
    for (int i = 0; kvl[i]; i += 2) {
        free(kvl[i]);
        free(kvl[i + 1]);
    }
    free(kvl);
    *pkvl = NULL;
}

int libxl_key_value_list_length(const libxl_key_value_list *pkvl)
{
    int i = 0;
    if (*pkvl)
        while ((*pkvl)[i])
            i += 2;
    return i / 2;
}

void libxl_mac_copy(libxl_ctx *ctx, libxl_mac *dst, const libxl_mac *src)
{
    (void)ctx;
    memcpy(*dst, *src, sizeof(*dst));
}

void libxl_bitmap_init(libxl_bitmap *map)
{
    memset(map, 0, sizeof(*map));
}

void libxl_bitmap_dispose(libxl_bitmap *map)
{
    if (!map)
        return;
    free(map->map);
    map->map = NULL;
    map->size = 0;
}

/* ---- IDL types ---- */

void libxl_dominfo_init(libxl_dominfo *p) { memset(p, 0, sizeof(*p)); }
void libxl_dominfo_dispose(libxl_dominfo *p)
{
    free(p->ssid_label);
    memset(p, 0, sizeof(*p));
}

void libxl_vcpuinfo_init(libxl_vcpuinfo *p)
{
    memset(p, 0, sizeof(*p));
    libxl_bitmap_init(&p->cpumap);
    libxl_bitmap_init(&p->cpumap_soft);
}
void libxl_vcpuinfo_dispose(libxl_vcpuinfo *p)
{
    libxl_bitmap_dispose(&p->cpumap);
    libxl_bitmap_dispose(&p->cpumap_soft);
    memset(p, 0, sizeof(*p));
}

void libxl_physinfo_init(libxl_physinfo *p) { memset(p, 0, sizeof(*p)); }
void libxl_physinfo_dispose(libxl_physinfo *p) { memset(p, 0, sizeof(*p)); }

void libxl_version_info_init(libxl_version_info *p) { memset(p, 0, sizeof(*p)); }
void libxl_version_info_dispose(libxl_version_info *p)
{
    free(p->xen_version_extra);
    free(p->compiler);
    free(p->compile_by);
    free(p->compile_domain);
    free(p->compile_date);
    free(p->capabilities);
    free(p->changeset);
    free(p->commandline);
    free(p->build_id);
    memset(p, 0, sizeof(*p));
}

void libxl_domain_create_info_init(libxl_domain_create_info *p)
{
    memset(p, 0, sizeof(*p));
    p->type = LIBXL_DOMAIN_TYPE_INVALID;
}
void libxl_domain_create_info_dispose(libxl_domain_create_info *p)
{
    free(p->ssid_label);
    free(p->name);
    libxl_key_value_list_dispose(&p->xsdata);
    libxl_key_value_list_dispose(&p->platformdata);
    free(p->pool_name);
    memset(p, 0, sizeof(*p));
}

void libxl_domain_restore_params_init(libxl_domain_restore_params *p)
{
    memset(p, 0, sizeof(*p));
    p->stream_version = 1;
}
void libxl_domain_restore_params_dispose(libxl_domain_restore_params *p)
{
    free(p->colo_proxy_script);
    memset(p, 0, sizeof(*p));
}

void libxl_domain_build_info_init(libxl_domain_build_info *p)
{
    memset(p, 0, sizeof(*p));
    libxl_bitmap_init(&p->avail_vcpus);
    libxl_bitmap_init(&p->cpumap);
    libxl_bitmap_init(&p->nodemap);
    p->max_memkb = LIBXL_MEMKB_DEFAULT;
    p->target_memkb = LIBXL_MEMKB_DEFAULT;
    p->video_memkb = LIBXL_MEMKB_DEFAULT;
    p->shadow_memkb = LIBXL_MEMKB_DEFAULT;
    p->iommu_memkb = LIBXL_MEMKB_DEFAULT;
    p->event_channels = 1023;
    p->type = LIBXL_DOMAIN_TYPE_INVALID;
    libxl_domain_sched_params_init(&p->sched_params);
}

void libxl_domain_sched_params_init(libxl_domain_sched_params *p)
{
    memset(p, 0, sizeof(*p));
    p->sched = LIBXL_SCHEDULER_UNKNOWN;
    p->weight = LIBXL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT;
    p->cap = LIBXL_DOMAIN_SCHED_PARAM_CAP_DEFAULT;
    p->period = LIBXL_DOMAIN_SCHED_PARAM_PERIOD_DEFAULT;
    p->budget = LIBXL_DOMAIN_SCHED_PARAM_BUDGET_DEFAULT;
    p->extratime = LIBXL_DOMAIN_SCHED_PARAM_EXTRATIME_DEFAULT;
    p->slice = LIBXL_DOMAIN_SCHED_PARAM_SLICE_DEFAULT;
    p->latency = LIBXL_DOMAIN_SCHED_PARAM_LATENCY_DEFAULT;
}

void libxl_domain_sched_params_dispose(libxl_domain_sched_params *p)
{
    memset(p, 0, sizeof(*p));
}

void libxl_domain_build_info_init_type(libxl_domain_build_info *p, libxl_domain_type type)
{
    p->type = type;
    switch (type) {
    case LIBXL_DOMAIN_TYPE_HVM:
        memset(&p->u.hvm, 0, sizeof(p->u.hvm));
        break;
    case LIBXL_DOMAIN_TYPE_PV:
        memset(&p->u.pv, 0, sizeof(p->u.pv));
        p->u.pv.slack_memkb = LIBXL_MEMKB_DEFAULT;
        break;
    case LIBXL_DOMAIN_TYPE_PVH:
        memset(&p->u.pvh, 0, sizeof(p->u.pvh));
        break;
    default:
        break;
    }
}

static void bitmap_array_dispose(libxl_bitmap **arr, int *n)
{
    if (*arr)
        for (int i = 0; i < *n; i++)
            libxl_bitmap_dispose(&(*arr)[i]);
    free(*arr);
    *arr = NULL;
    *n = 0;
}

void libxl_domain_build_info_dispose(libxl_domain_build_info *p)
{
    libxl_bitmap_dispose(&p->avail_vcpus);
    libxl_bitmap_dispose(&p->cpumap);
    libxl_bitmap_dispose(&p->nodemap);
    bitmap_array_dispose(&p->vcpu_hard_affinity, &p->num_vcpu_hard_affinity);
    bitmap_array_dispose(&p->vcpu_soft_affinity, &p->num_vcpu_soft_affinity);
    free(p->exec_ssid_label);
    free(p->blkdev_start);
    free(p->device_model);
    libxl_string_list_dispose(&p->extra);
    libxl_string_list_dispose(&p->extra_pv);
    libxl_string_list_dispose(&p->extra_hvm);
    free(p->kernel);
    free(p->cmdline);
    free(p->ramdisk);
    free(p->device_tree);
    free(p->bootloader);
    libxl_string_list_dispose(&p->bootloader_args);
    switch (p->type) {
    case LIBXL_DOMAIN_TYPE_HVM:
        free(p->u.hvm.firmware);
        free(p->u.hvm.timeoffset);
        free(p->u.hvm.system_firmware);
        free(p->u.hvm.smbios_firmware);
        free(p->u.hvm.acpi_firmware);
        free(p->u.hvm.keymap);
        free(p->u.hvm.serial);
        free(p->u.hvm.boot);
        free(p->u.hvm.usbdevice);
        free(p->u.hvm.soundhw);
        libxl_string_list_dispose(&p->u.hvm.usbdevice_list);
        libxl_string_list_dispose(&p->u.hvm.serial_list);
        break;
    case LIBXL_DOMAIN_TYPE_PV:
        free(p->u.pv.kernel);
        free(p->u.pv.bootloader);
        libxl_string_list_dispose(&p->u.pv.bootloader_args);
        free(p->u.pv.cmdline);
        free(p->u.pv.ramdisk);
        free((char *)p->u.pv.features);
        break;
    case LIBXL_DOMAIN_TYPE_PVH:
        free(p->u.pvh.pvshim_path);
        free(p->u.pvh.pvshim_cmdline);
        free(p->u.pvh.pvshim_extra);
        break;
    default:
        break;
    }
    memset(p, 0, sizeof(*p));
}

void libxl_device_disk_init(libxl_device_disk *p) { memset(p, 0, sizeof(*p)); }
void libxl_device_disk_dispose(libxl_device_disk *p)
{
    free(p->backend_domname);
    free(p->pdev_path);
    free(p->vdev);
    free(p->script);
    free(p->colo_host);
    free(p->colo_export);
    free(p->active_disk);
    free(p->hidden_disk);
    memset(p, 0, sizeof(*p));
}

void libxl_device_nic_init(libxl_device_nic *p)
{
    memset(p, 0, sizeof(*p));
    p->devid = -1;  /* libxl_devid's init value: allocate on add */
}
void libxl_device_nic_dispose(libxl_device_nic *p)
{
    free(p->backend_domname);
    free(p->model);
    free(p->ip);
    free(p->bridge);
    free(p->ifname);
    free(p->script);
    free(p->gatewaydev);
    memset(p, 0, sizeof(*p));
}

void libxl_diskinfo_init(libxl_diskinfo *p) { memset(p, 0, sizeof(*p)); }
void libxl_diskinfo_dispose(libxl_diskinfo *p)
{
    free(p->backend);
    free(p->frontend);
    memset(p, 0, sizeof(*p));
}

void libxl_nicinfo_init(libxl_nicinfo *p) { memset(p, 0, sizeof(*p)); }
void libxl_nicinfo_dispose(libxl_nicinfo *p)
{
    free(p->backend);
    free(p->frontend);
    memset(p, 0, sizeof(*p));
}

void libxl_domain_config_init(libxl_domain_config *p)
{
    memset(p, 0, sizeof(*p));
    libxl_domain_create_info_init(&p->c_info);
    libxl_domain_build_info_init(&p->b_info);
}
void libxl_domain_config_dispose(libxl_domain_config *p)
{
    libxl_domain_create_info_dispose(&p->c_info);
    libxl_domain_build_info_dispose(&p->b_info);
    if (p->disks)
        for (int i = 0; i < p->num_disks; i++)
            libxl_device_disk_dispose(&p->disks[i]);
    free(p->disks);
    if (p->nics)
        for (int i = 0; i < p->num_nics; i++)
            libxl_device_nic_dispose(&p->nics[i]);
    free(p->nics);
    memset(p, 0, sizeof(*p));
}

void libxl_event_init(libxl_event *p) { memset(p, 0, sizeof(*p)); }
void libxl_event_init_type(libxl_event *p, libxl_event_type type)
{
    p->type = type;
    memset(&p->u, 0, sizeof(p->u));
    if (type == LIBXL_EVENT_TYPE_DISK_EJECT)
        libxl_device_disk_init(&p->u.disk_eject.disk);
}
void libxl_event_dispose(libxl_event *p)
{
    if (p->type == LIBXL_EVENT_TYPE_DISK_EJECT) {
        free(p->u.disk_eject.vdev);
        libxl_device_disk_dispose(&p->u.disk_eject.disk);
    }
    memset(p, 0, sizeof(*p));
}

/* ---- enum names: lower-case value names, as libxl's generated tables ---- */

struct enum_name { int v; const char *s; };

static const char *lookup(const struct enum_name *t, size_t n, int v)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].v == v)
            return t[i].s;
    return NULL;
}

static int rlookup(const struct enum_name *t, size_t n, const char *s, int *out)
{
    if (!s)
        return ERROR_FAIL;
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(t[i].s, s)) {
            *out = t[i].v;
            return 0;
        }
    return ERROR_FAIL;
}

#define N(t) (sizeof(t) / sizeof((t)[0]))

static const struct enum_name error_names[] = {
    {ERROR_NONSPECIFIC, "nonspecific"}, {ERROR_VERSION, "version"}, {ERROR_FAIL, "fail"},
    {ERROR_NI, "ni"}, {ERROR_NOMEM, "nomem"}, {ERROR_INVAL, "inval"},
    {ERROR_BADFAIL, "badfail"}, {ERROR_GUEST_TIMEDOUT, "guest_timedout"},
    {ERROR_TIMEDOUT, "timedout"}, {ERROR_NOPARAVIRT, "noparavirt"},
    {ERROR_NOT_READY, "not_ready"}, {ERROR_OSEVENT_REG_FAIL, "osevent_reg_fail"},
    {ERROR_BUFFERFULL, "bufferfull"}, {ERROR_UNKNOWN_CHILD, "unknown_child"},
    {ERROR_LOCK_FAIL, "lock_fail"}, {ERROR_JSON_CONFIG_EMPTY, "json_config_empty"},
    {ERROR_DEVICE_EXISTS, "device_exists"},
    {ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH, "checkpoint_devops_does_not_match"},
    {ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED, "checkpoint_device_not_supported"},
    {ERROR_VNUMA_CONFIG_INVALID, "vnuma_config_invalid"},
    {ERROR_DOMAIN_NOTFOUND, "domain_notfound"}, {ERROR_ABORTED, "aborted"},
    {ERROR_NOTFOUND, "notfound"}, {ERROR_DOMAIN_DESTROYED, "domain_destroyed"},
    {ERROR_FEATURE_REMOVED, "feature_removed"},
    {ERROR_PROTOCOL_ERROR_QMP, "protocol_error_qmp"},
    {ERROR_UNKNOWN_QMP_ERROR, "unknown_qmp_error"},
    {ERROR_QMP_GENERIC_ERROR, "qmp_generic_error"},
    {ERROR_QMP_COMMAND_NOT_FOUND, "qmp_command_not_found"},
    {ERROR_QMP_DEVICE_NOT_ACTIVE, "qmp_device_not_active"},
    {ERROR_QMP_DEVICE_NOT_FOUND, "qmp_device_not_found"}, {ERROR_QEMU_API, "qemu_api"},
};
const char *libxl_error_to_string(libxl_error p) { return lookup(error_names, N(error_names), p); }
int libxl_error_from_string(const char *s, libxl_error *e)
{
    int v, rc = rlookup(error_names, N(error_names), s, &v);
    if (!rc)
        *e = (libxl_error)v;
    return rc;
}

static const struct enum_name domain_type_names[] = {
    {LIBXL_DOMAIN_TYPE_INVALID, "invalid"}, {LIBXL_DOMAIN_TYPE_HVM, "hvm"},
    {LIBXL_DOMAIN_TYPE_PV, "pv"}, {LIBXL_DOMAIN_TYPE_PVH, "pvh"},
};
const char *libxl_domain_type_to_string(libxl_domain_type p)
{
    return lookup(domain_type_names, N(domain_type_names), p);
}
int libxl_domain_type_from_string(const char *s, libxl_domain_type *e)
{
    int v, rc = rlookup(domain_type_names, N(domain_type_names), s, &v);
    if (!rc)
        *e = (libxl_domain_type)v;
    return rc;
}

static const struct enum_name shutdown_reason_names[] = {
    {LIBXL_SHUTDOWN_REASON_UNKNOWN, "unknown"}, {LIBXL_SHUTDOWN_REASON_POWEROFF, "poweroff"},
    {LIBXL_SHUTDOWN_REASON_REBOOT, "reboot"}, {LIBXL_SHUTDOWN_REASON_SUSPEND, "suspend"},
    {LIBXL_SHUTDOWN_REASON_CRASH, "crash"}, {LIBXL_SHUTDOWN_REASON_WATCHDOG, "watchdog"},
    {LIBXL_SHUTDOWN_REASON_SOFT_RESET, "soft_reset"},
};
const char *libxl_shutdown_reason_to_string(libxl_shutdown_reason p)
{
    return lookup(shutdown_reason_names, N(shutdown_reason_names), p);
}

static const struct enum_name event_type_names[] = {
    {LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN, "domain_shutdown"},
    {LIBXL_EVENT_TYPE_DOMAIN_DEATH, "domain_death"},
    {LIBXL_EVENT_TYPE_DISK_EJECT, "disk_eject"},
    {LIBXL_EVENT_TYPE_OPERATION_COMPLETE, "operation_complete"},
    {LIBXL_EVENT_TYPE_DOMAIN_CREATE_CONSOLE_AVAILABLE, "domain_create_console_available"},
};
const char *libxl_event_type_to_string(libxl_event_type p)
{
    return lookup(event_type_names, N(event_type_names), p);
}

static const struct enum_name disk_format_names[] = {
    {LIBXL_DISK_FORMAT_UNKNOWN, "unknown"}, {LIBXL_DISK_FORMAT_QCOW, "qcow"},
    {LIBXL_DISK_FORMAT_QCOW2, "qcow2"}, {LIBXL_DISK_FORMAT_VHD, "vhd"},
    {LIBXL_DISK_FORMAT_RAW, "raw"}, {LIBXL_DISK_FORMAT_EMPTY, "empty"},
    {LIBXL_DISK_FORMAT_QED, "qed"},
};
const char *libxl_disk_format_to_string(libxl_disk_format p)
{
    return lookup(disk_format_names, N(disk_format_names), p);
}

static const struct enum_name disk_backend_names[] = {
    {LIBXL_DISK_BACKEND_UNKNOWN, "unknown"}, {LIBXL_DISK_BACKEND_PHY, "phy"},
    {LIBXL_DISK_BACKEND_TAP, "tap"}, {LIBXL_DISK_BACKEND_QDISK, "qdisk"},
    {LIBXL_DISK_BACKEND_STANDALONE, "standalone"},
};
const char *libxl_disk_backend_to_string(libxl_disk_backend p)
{
    return lookup(disk_backend_names, N(disk_backend_names), p);
}

static const struct enum_name nic_type_names[] = {
    {LIBXL_NIC_TYPE_UNKNOWN, "unknown"}, {LIBXL_NIC_TYPE_VIF_IOEMU, "vif_ioemu"},
    {LIBXL_NIC_TYPE_VIF, "vif"},
};
const char *libxl_nic_type_to_string(libxl_nic_type p)
{
    return lookup(nic_type_names, N(nic_type_names), p);
}

static const struct enum_name action_names[] = {
    {LIBXL_ACTION_ON_SHUTDOWN_DESTROY, "destroy"}, {LIBXL_ACTION_ON_SHUTDOWN_RESTART, "restart"},
    {LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME, "restart_rename"},
    {LIBXL_ACTION_ON_SHUTDOWN_PRESERVE, "preserve"},
    {LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY, "coredump_destroy"},
    {LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART, "coredump_restart"},
    {LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET, "soft_reset"},
};
const char *libxl_action_on_shutdown_to_string(libxl_action_on_shutdown p)
{
    return lookup(action_names, N(action_names), p);
}
