/* sim.h: the simulator's control API (stubs/libxl_sim/include/xlsim.h); sim target only. */

#define XLSIM_MAX_DOMAINS ...

typedef struct xlsim_host_config {
    int nr_cpus;
    int nr_nodes;
    int threads_per_core;
    int cpu_khz;
    uint64_t total_memkb;
    uint64_t dom0_memkb;
    int dom0_vcpus;
    unsigned shutdown_delay_ms;
    unsigned balloon_kb_per_s;
    int scheduler;
    int shadow_paging;
    ...;
} xlsim_host_config;

void xlsim_host_config_default(xlsim_host_config *cfg);
int xlsim_host_configure(const xlsim_host_config *cfg);
int xlsim_host_get_config(xlsim_host_config *cfg);
int xlsim_guest_shutdown(uint32_t domid, int reason);
int xlsim_guest_poweroff(uint32_t domid);
int xlsim_guest_reboot(uint32_t domid);
int xlsim_guest_crash(uint32_t domid);
int xlsim_guest_set_ignore_shutdown(uint32_t domid, int ignore);
int xlsim_guest_set_shutdown_delay(uint32_t domid, unsigned delay_ms);
int xlsim_domain_set_load(uint32_t domid, double load);
int xlsim_fail_next(const char *function, int count, int rc);
void xlsim_clear_faults(void);

typedef struct xlsim_io_stats {
    uint64_t rd_bytes;
    uint64_t wr_bytes;
    uint64_t rd_reqs;
    uint64_t wr_reqs;
    ...;
} xlsim_io_stats;
int xlsim_disk_stats(uint32_t domid, const char *vdev, xlsim_io_stats *out);
int xlsim_disk_path(uint32_t domid, const char *vdev, char *out, size_t len);
int xlsim_nic_stats(uint32_t domid, int devid, xlsim_io_stats *out);

/* xlsim.h declares both a typedef and a function named xlsim_guest_info (C rejects that);
 * the struct tag is unambiguous. */
struct xlsim_guest_info {
    uint64_t mem_total_kb;
    uint64_t mem_free_kb;
    char os_name[...];
    char os_kernel[...];
    char ipv4[...];
    ...;
};
int xlsim_guest_info(uint32_t domid, struct xlsim_guest_info *out);
struct xlsim_guest_state {
    char boot_id[...];
    uint64_t uptime_ns;
    uint32_t resumes;
    ...;
};
int xlsim_guest_state(uint32_t domid, struct xlsim_guest_state *out);
int xlsim_guest_console(uint32_t domid, char *out, size_t len);
int xlsim_domain_count(void);

/* Benchmark helpers (sim target only): time n calls from C with CLOCK_MONOTONIC and return
 * the total in nanoseconds (negative: the libxl error of the first failing call). */
int64_t xlpy_bench_domain_info(libxl_ctx *ctx, uint32_t domid, int n);
int64_t xlpy_bench_list_domain(libxl_ctx *ctx, int n);
