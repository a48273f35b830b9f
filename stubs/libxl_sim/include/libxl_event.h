/*
 * libxl_event.h: libxenlight's event interface (subset of Xen 4.17), for the
 * simulator: domain death watches, event retrieval and callbacks, the osevent
 * hooks that let an application's own main loop drive libxl, child process
 * mode.
 */
#ifndef LIBXL_EVENT_H
#define LIBXL_EVENT_H

#include <libxl.h>
#include <poll.h>
#include <sys/time.h>

#define LIBXL_EVENTMASK_ALL (~(unsigned long)0)

typedef int libxl_event_predicate(const libxl_event *, void *user);

/* ERROR_NOT_READY if no matching event has happened. */
int libxl_event_check(libxl_ctx *ctx, libxl_event **event_r, uint64_t typemask,
                      libxl_event_predicate *predicate, void *predicate_user)
                      LIBXL_EXTERNAL_CALLERS_ONLY;
/* Like libxl_event_check, but blocks (without busy polling) until one happens. */
int libxl_event_wait(libxl_ctx *ctx, libxl_event **event_r, uint64_t typemask,
                     libxl_event_predicate *predicate, void *predicate_user)
                     LIBXL_EXTERNAL_CALLERS_ONLY;
void libxl_event_free(libxl_ctx *ctx, libxl_event *event);

typedef struct libxl_event_hooks {
    uint64_t event_occurs_mask;
    void (*event_occurs)(void *user,
#ifndef LIBXL_HAVE_NONCONST_EVENT_OCCURS_EVENT_ARG
                         const
#endif
                         libxl_event *event);
    void (*disaster)(void *user, libxl_event_type type, const char *msg, int errnoval);
} libxl_event_hooks;
void libxl_event_register_callbacks(libxl_ctx *ctx, const libxl_event_hooks *hooks, void *user);

typedef struct libxl__evgen_domain_death libxl_evgen_domain_death;
int libxl_evenable_domain_death(libxl_ctx *ctx, uint32_t domid, libxl_ev_user,
                                libxl_evgen_domain_death **evgen_out);
void libxl_evdisable_domain_death(libxl_ctx *ctx, libxl_evgen_domain_death *);

typedef struct libxl_osevent_hooks {
    int (*fd_register)(void *user, int fd, void **for_app_registration_out, short events,
                       void *for_libxl);
    int (*fd_modify)(void *user, int fd, void **for_app_registration_update, short events);
    void (*fd_deregister)(void *user, int fd, void *for_app_registration);
    int (*timeout_register)(void *user, void **for_app_registration_out, struct timeval abs,
                            void *for_libxl);
    int (*timeout_modify)(void *user, void **for_app_registration_update, struct timeval abs)
        /* only ever called with abs={0,0}, meaning ASAP */;
    void (*timeout_deregister)(void *user, void *for_app_registration) /* never called */;
} libxl_osevent_hooks;
void libxl_osevent_register_hooks(libxl_ctx *ctx, const libxl_osevent_hooks *hooks, void *user);
void libxl_osevent_occurred_fd(libxl_ctx *ctx, void *for_libxl, int fd, short events,
                               short revents) LIBXL_EXTERNAL_CALLERS_ONLY;
void libxl_osevent_occurred_timeout(libxl_ctx *ctx, void *for_libxl)
                                    LIBXL_EXTERNAL_CALLERS_ONLY;

typedef enum {
    libxl_sigchld_owner_libxl,
    libxl_sigchld_owner_mainloop,
    libxl_sigchld_owner_libxl_always,
    libxl_sigchld_owner_libxl_always_selective_reap,
} libxl_sigchld_owner;

typedef struct {
    libxl_sigchld_owner chldowner;
    pid_t (*fork_replacement)(void *user);
    int (*reaped_callback)(pid_t, int status, void *user);
} libxl_childproc_hooks;
void libxl_childproc_setmode(libxl_ctx *ctx, const libxl_childproc_hooks *hooks, void *user);
int libxl_childproc_reaped(libxl_ctx *ctx, pid_t, int status) LIBXL_EXTERNAL_CALLERS_ONLY;
void libxl_childproc_sigchld_occurred(libxl_ctx *ctx) LIBXL_EXTERNAL_CALLERS_ONLY;

#endif /* LIBXL_EVENT_H */
