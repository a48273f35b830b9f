/* context.h: the libxl context, version info, host information. */

typedef struct libxl__ctx libxl_ctx;
typedef struct xentoollog_logger xentoollog_logger;

typedef enum xentoollog_level {
    XTL_NONE, XTL_DEBUG, XTL_VERBOSE, XTL_DETAIL, XTL_PROGRESS, XTL_INFO, XTL_NOTICE,
    XTL_WARN, XTL_ERROR, XTL_CRITICAL, ...
} xentoollog_level;

#define LIBXL_VERSION ...

int libxl_ctx_alloc(libxl_ctx **pctx, int version, unsigned flags, xentoollog_logger *lg);
int libxl_ctx_free(libxl_ctx *ctx);
const libxl_version_info *libxl_get_version_info(libxl_ctx *ctx);
int libxl_get_physinfo(libxl_ctx *ctx, libxl_physinfo *physinfo);
int libxl_get_free_memory(libxl_ctx *ctx, uint64_t *memkb);
int libxl_get_max_cpus(libxl_ctx *ctx);

/* cpupools and topology: arrays malloc'd by libxl, released by the matching _list_free;
 * NULL (with a count of 0) on failure. */
libxl_cpupoolinfo *libxl_list_cpupool(libxl_ctx *ctx, int *nb_pool_out);
void libxl_cpupoolinfo_list_free(libxl_cpupoolinfo *list, int nb_pool);
int libxl_cpupool_info(libxl_ctx *ctx, libxl_cpupoolinfo *info, uint32_t poolid);
int libxl_sched_credit_params_get(libxl_ctx *ctx, uint32_t poolid,
                                  libxl_sched_credit_params *scinfo);
libxl_cputopology *libxl_get_cpu_topology(libxl_ctx *ctx, int *nb_cpu_out);
void libxl_cputopology_list_free(libxl_cputopology *list, int nb_cpu);
libxl_numainfo *libxl_get_numainfo(libxl_ctx *ctx, int *nr);
void libxl_numainfo_list_free(libxl_numainfo *list, int nr);

/* Xen's console ring (xl dmesg); read_line hands out chunks owned by the reader. */
typedef struct libxl__xen_console_reader libxl_xen_console_reader;
libxl_xen_console_reader *libxl_xen_console_read_start(libxl_ctx *ctx, int clear);
int libxl_xen_console_read_line(libxl_ctx *ctx, libxl_xen_console_reader *cr, char **line_r);
void libxl_xen_console_read_finish(libxl_ctx *ctx, libxl_xen_console_reader *cr);
/* Xen's debug keys (xl debug-keys): the handlers' output goes to the console ring. */
int libxl_send_debug_keys(libxl_ctx *ctx, char *keys);

/* A guest's primary console: the path of the tty its output is copied to (malloc'd). */
int libxl_primary_console_get_tty(libxl_ctx *ctx, uint32_t domid_vm, char **path);

/* The binding's logger: libxl's vmessage (a va_list) is formatted in C and handed to
 * xlpy_log_cb; lines below min_level are dropped in C, before any Python is entered. */
xentoollog_logger *xlpy_logger_new(int min_level);
void xlpy_logger_set_min_level(xentoollog_logger *lg, int min_level);
void xlpy_logger_free(xentoollog_logger *lg);
extern "Python" void xlpy_log_cb(int level, int errnoval, const char *context, const char *msg);

/* Selective SIGCHLD reaping (libxl reaps only its own children; Python's subprocess keeps
 * working), osevent hooks onto xlpy_fd_* / xlpy_timeout_* below. */
void xlpy_ctx_setup(libxl_ctx *ctx, void *user);
