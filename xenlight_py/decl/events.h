/* events.h: domain death/shutdown watches and the osevent hooks that let Python's own
 * loops (select.poll for blocking iteration, asyncio) drive libxl's event machinery. */

typedef enum libxl_event_type {
    LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN, LIBXL_EVENT_TYPE_DOMAIN_DEATH,
    LIBXL_EVENT_TYPE_DISK_EJECT, LIBXL_EVENT_TYPE_OPERATION_COMPLETE,
    LIBXL_EVENT_TYPE_DOMAIN_CREATE_CONSOLE_AVAILABLE, ...
} libxl_event_type;

typedef struct { uint8_t shutdown_reason; ...; } xlpy_event_domain_shutdown;

typedef struct libxl_event {
    libxl_domid domid;
    libxl_uuid domuuid;
    uint64_t for_user;
    libxl_event_type type;
    ...;
} libxl_event;
xlpy_event_domain_shutdown *xlpy_event_shutdown(libxl_event *ev);

typedef struct libxl__evgen_domain_death libxl_evgen_domain_death;
typedef int libxl_event_predicate(const libxl_event *, void *user);

int libxl_evenable_domain_death(libxl_ctx *ctx, uint32_t domid, libxl_ev_user user,
                                libxl_evgen_domain_death **evgen_out);
void libxl_evdisable_domain_death(libxl_ctx *ctx, libxl_evgen_domain_death *evgen);
int libxl_event_check(libxl_ctx *ctx, libxl_event **event_r, uint64_t typemask,
                      libxl_event_predicate *predicate, void *predicate_user);
int libxl_event_wait(libxl_ctx *ctx, libxl_event **event_r, uint64_t typemask,
                     libxl_event_predicate *predicate, void *predicate_user);
void libxl_event_free(libxl_ctx *ctx, libxl_event *event);
void libxl_osevent_occurred_fd(libxl_ctx *ctx, void *for_libxl, int fd, short events,
                               short revents);
void libxl_osevent_occurred_timeout(libxl_ctx *ctx, void *for_libxl);

/* The predicate that matches the events of one watcher: *(uint64_t *)user == for_user. */
int xlpy_pred_for_user(const libxl_event *ev, void *user);

/* Osevent hooks. user is the handle given to xlpy_ctx_setup; registrations are identified
 * by an integer token that Python hands out (stored in libxl's for_app_registration). */
extern "Python" int xlpy_fd_register(void *user, int fd, short events, void *for_libxl);
extern "Python" int xlpy_fd_modify(void *user, int token, int fd, short events);
extern "Python" void xlpy_fd_deregister(void *user, int token, int fd);
extern "Python" int xlpy_timeout_register(void *user, long sec, long usec, void *for_libxl);
extern "Python" int xlpy_timeout_modify(void *user, int token, long sec, long usec);
extern "Python" void xlpy_timeout_deregister(void *user, int token);
