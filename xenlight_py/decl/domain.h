/* domain.h: domain listing, lifecycle, memory, vCPUs, devices. ao_how is always NULL
 * (synchronous); the binding never passes a libxl_asyncop_how. */

typedef struct { ...; } libxl_asyncop_how;
typedef struct { ...; } libxl_asyncprogress_how;

#define LIBXL_SUSPEND_LIVE ...

libxl_dominfo *libxl_list_domain(libxl_ctx *ctx, int *nb_domain_out);
void libxl_dominfo_list_free(libxl_dominfo *list, int nb_domain);
int libxl_domain_info(libxl_ctx *ctx, libxl_dominfo *info_r, uint32_t domid);
libxl_vcpuinfo *libxl_list_vcpu(libxl_ctx *ctx, uint32_t domid, int *nb_vcpu, int *nr_cpus_out);
void libxl_vcpuinfo_list_free(libxl_vcpuinfo *list, int nr_vcpus);
int libxl_get_memory_target(libxl_ctx *ctx, uint32_t domid, uint64_t *out_target);

int libxl_domain_create_new(libxl_ctx *ctx, libxl_domain_config *d_config, uint32_t *domid,
                            const libxl_asyncop_how *ao_how,
                            const libxl_asyncprogress_how *aop_console_how);
int libxl_domain_create_restore(libxl_ctx *ctx, libxl_domain_config *d_config, uint32_t *domid,
                                int restore_fd, int send_back_fd,
                                const libxl_domain_restore_params *params,
                                const libxl_asyncop_how *ao_how,
                                const libxl_asyncprogress_how *aop_console_how);
int libxl_domain_pause(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how);
int libxl_domain_unpause(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how);
int libxl_domain_shutdown(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how);
int libxl_domain_reboot(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how);
int libxl_domain_destroy(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how);
int libxl_domain_suspend(libxl_ctx *ctx, uint32_t domid, int fd, int flags,
                         const libxl_asyncop_how *ao_how);
int libxl_domain_resume(libxl_ctx *ctx, uint32_t domid, int suspend_cancel,
                        const libxl_asyncop_how *ao_how);
int libxl_domain_rename(libxl_ctx *ctx, uint32_t domid, const char *old_name,
                        const char *new_name);
int libxl_domain_setmaxmem(libxl_ctx *ctx, uint32_t domid, uint64_t target_memkb);
int libxl_set_memory_target(libxl_ctx *ctx, uint32_t domid, int64_t target_memkb,
                            int relative, int enforce);
int libxl_set_vcpuonline(libxl_ctx *ctx, uint32_t domid, libxl_bitmap *cpumap,
                         const libxl_asyncop_how *ao_how);
int libxl_set_vcpuaffinity(libxl_ctx *ctx, uint32_t domid, uint32_t vcpuid,
                           const libxl_bitmap *cpumap_hard, const libxl_bitmap *cpumap_soft);
int libxl_device_disk_add(libxl_ctx *ctx, uint32_t domid, libxl_device_disk *disk,
                          const libxl_asyncop_how *ao_how);
int libxl_device_disk_remove(libxl_ctx *ctx, uint32_t domid, libxl_device_disk *disk,
                             const libxl_asyncop_how *ao_how);
int libxl_device_nic_add(libxl_ctx *ctx, uint32_t domid, libxl_device_nic *nic,
                         const libxl_asyncop_how *ao_how);
int libxl_device_nic_remove(libxl_ctx *ctx, uint32_t domid, libxl_device_nic *nic,
                            const libxl_asyncop_how *ao_how);
int libxl_vdev_to_device_disk(libxl_ctx *ctx, uint32_t domid, const char *vdev,
                              libxl_device_disk *disk);
int libxl_devid_to_device_nic(libxl_ctx *ctx, uint32_t domid, int devid,
                              libxl_device_nic *nic);
/* A domain's devices as xenstore lists them: NULL and *num 0 for none (or no domain). */
libxl_device_disk *libxl_device_disk_list(libxl_ctx *ctx, uint32_t domid, int *num);
void libxl_device_disk_list_free(libxl_device_disk *list, int num);
libxl_device_nic *libxl_device_nic_list(libxl_ctx *ctx, uint32_t domid, int *num);
void libxl_device_nic_list_free(libxl_device_nic *list, int num);
/* A device's frontend state, event channel and ring refs (-1: not written yet). */
int libxl_device_disk_getinfo(libxl_ctx *ctx, uint32_t domid,
                              const libxl_device_disk *disk, libxl_diskinfo *diskinfo);
int libxl_device_nic_getinfo(libxl_ctx *ctx, uint32_t domid,
                             const libxl_device_nic *nic, libxl_nicinfo *nicinfo);
/* Seconds since the epoch when the domain was made; (uint32_t)-1 when unknown. */
uint32_t libxl_vm_get_start_time(libxl_ctx *ctx, uint32_t domid);
int libxl_domain_core_dump(libxl_ctx *ctx, uint32_t domid, const char *filename,
                           const libxl_asyncop_how *ao_how);
int libxl_cdrom_insert(libxl_ctx *ctx, uint32_t domid, libxl_device_disk *disk,
                       const libxl_asyncop_how *ao_how);
int libxl_domain_sched_params_get(libxl_ctx *ctx, uint32_t domid,
                                  libxl_domain_sched_params *params);
int libxl_domain_sched_params_set(libxl_ctx *ctx, uint32_t domid,
                                  const libxl_domain_sched_params *params);
int libxl_name_to_domid(libxl_ctx *ctx, const char *name, uint32_t *domid);
char *libxl_domid_to_name(libxl_ctx *ctx, uint32_t domid);
int libxl_cpu_bitmap_alloc(libxl_ctx *ctx, libxl_bitmap *cpumap, int max_cpus);
void libxl_bitmap_set(libxl_bitmap *bitmap, int bit);
int libxl_bitmap_test(const libxl_bitmap *bitmap, int bit);
void free(void *ptr);

/* Flat copies for the hot paths: one C call fills packed records (field order of the
 * Python DomainInfo) that Python unpacks in bulk instead of touching each field via cffi. */
size_t xlpy_dominfo_flat_size(void);
int xlpy_domain_info_flat(libxl_ctx *ctx, uint32_t domid, void *out);
/* domain_info's per-thread state (shim.h): the context's cell the thread's calls read,
 * and the record they fill (the address xlpy_info_select returns). */
#define XLPY_INFO_REFUSED 1
void *xlpy_info_select(libxl_ctx **cell);
int xlpy_domain_info_selected(uint32_t domid);
/* Returns the count, or a negative libxl error; *out is malloc'd (free()). */
int xlpy_list_domain_flat(libxl_ctx *ctx, void **out);

/* Domain samples (the metrics monitor): every domain's dominfo, vCPUs and the device and
 * guest counters asked for in `req`, as packed records (xenlight_py/sample.py). Returns the
 * count, or a negative libxl error; *out is malloc'd (free()), *outlen its size. */
int xlpy_sample_domains(libxl_ctx *ctx, const void *req, size_t reqlen, void **out,
                        size_t *outlen);
/* xvdX -> blkback's device number (its sysfs name vbd-DOMID-DEVNUM), -1 for other names. */
long xlpy_xvd_devnum(const char *vdev);
/* A sample against the previous one (the monitor's rates, rounded record values and series:
 * decl/shim.h); returns the count, or ERROR_NOMEM; *out is malloc'd (free()). */
int xlpy_sample_derive(const void *prev, size_t prevlen, const void *cur, size_t curlen,
                       const void *prevd, size_t prevdlen, int nr_cpus, double *pcpu,
                       double *load, void **out, size_t *outlen);
