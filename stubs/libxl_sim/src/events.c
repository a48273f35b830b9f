/*
 * events.c: domain death watches, the event queue, callbacks, and the two
 * ways to wait: libxl_event_wait (poll on the context's fds, no busy loop)
 * and the osevent hooks (the application's loop watches the same fds and the
 * earliest pending deadline as a timeout).
 *
 * Events are derived, not pushed: a "scan" compares each watch with the
 * shared state (domain gone or replaced -> DEATH; shut down -> SHUTDOWN, once
 * per watch, as libxl's domain_death_xswatch_callback). Every change in this process pokes each context's eventfd;
 * changes in other processes write the state file's bell, whose inotify fd
 * each context also watches. Time-driven changes (a guest answering a
 * shutdown request) happen lazily, so watchers wake at the earliest deadline.
 */
#include "sim_internal.h"

#include <poll.h>
#include <unistd.h>

static void queue_append(libxl_ctx *ctx, libxl_event *ev)
{
    ev->link.tqe_next = NULL;
    if (ctx->q_tail)
        ctx->q_tail->link.tqe_next = ev;
    else
        ctx->q_head = ev;
    ctx->q_tail = ev;
}

static void poke(libxl_ctx *ctx)
{
    uint64_t one = 1;
    if (write(ctx->efd, &one, sizeof(one)) < 0) {
        /* saturated counter: already readable */
    }
}

static int wants_callback(libxl_ctx *ctx, const libxl_event *ev)
{
    return ctx->have_hooks && ctx->hooks.event_occurs &&
           (ctx->hooks.event_occurs_mask & (1ULL << ev->type));
}

/* Deliver one event: to the registered callback (outside our locks) or the queue. */
void xlsim__emit(libxl_ctx *ctx, libxl_event *ev)
{
    pthread_mutex_lock(&ctx->lock);
    if (wants_callback(ctx, ev)) {
        void (*cb)(void *, libxl_event *) = ctx->hooks.event_occurs;
        void *user = ctx->hooks_user;
        pthread_mutex_unlock(&ctx->lock);
        cb(user, ev);
        return;
    }
    queue_append(ctx, ev);
    pthread_mutex_unlock(&ctx->lock);
    poke(ctx);
}

static libxl_event *new_event(libxl_event_type type, uint32_t domid, const uint8_t *uuid,
                              libxl_ev_user user)
{
    libxl_event *ev = xlsim__calloc(1, sizeof(*ev));
    libxl_event_init(ev);
    libxl_event_init_type(ev, type);
    ev->domid = domid;
    if (uuid)
        memcpy(ev->domuuid.uuid, uuid, 16);
    ev->for_user = user;
    return ev;
}

static void arm_timeout(libxl_ctx *ctx, uint64_t deadline)
{
    if (!ctx->have_os || !deadline || !ctx->os.timeout_register)
        return;
    for (struct sim_timeout *t = ctx->timeouts; t; t = t->next)
        if (t->abs_ns <= deadline)
            return;
    struct sim_timeout *t = xlsim__calloc(1, sizeof(*t));
    t->abs_ns = deadline;
    /* Round up so the application's timer never fires before the deadline. */
    struct timeval abs = { .tv_sec = (time_t)(deadline / 1000000000ULL),
                           .tv_usec = (suseconds_t)((deadline % 1000000000ULL + 999) / 1000) };
    if (abs.tv_usec >= 1000000) {
        abs.tv_sec++;
        abs.tv_usec -= 1000000;
    }
    if (ctx->os.timeout_register(ctx->os_user, &t->for_app, abs, t)) {
        xtl_log(ctx->lg, XTL_ERROR, -1, "libxl", "osevent timeout_register failed");
        free(t);
        return;
    }
    t->next = ctx->timeouts;
    ctx->timeouts = t;
}

/* Compare the watches with the host; returns the earliest pending deadline (0: none).
 * `drained`: the caller drained the context's fds first outside libxl_osevent_occurred_*
 * (libxl_event_check, libxl_event_wait). */
static uint64_t scan_watches(libxl_ctx *ctx, int drained)
{
    libxl_event *out_head = NULL, **out_tail = &out_head;
    uint64_t deadline = 0;
    int queued = 0;

    pthread_mutex_lock(&ctx->lock);
    if (ctx->evgens) {
        xlsim__lock();
        uint64_t now = xlsim__now();
        for (libxl_evgen_domain_death *g = ctx->evgens; g; g = g->next) {
            if (g->death_reported)
                continue;
            struct sim_dom *d = xlsim__dom(g->domid);
            if (d && d->serial != g->serial)
                d = NULL;
            if (!d) {
                *out_tail = new_event(LIBXL_EVENT_TYPE_DOMAIN_DEATH, g->domid, NULL, g->user);
                out_tail = &(*out_tail)->link.tqe_next;
                g->death_reported = 1;
                continue;
            }
            xlsim__settle(d, now);
            /* As libxl's death watch: SHUTDOWN once per watch (never re-armed, even if
             * the domain resumes), and, like libxl__event_new, no domuuid. */
            if (d->shutdown && !g->shutdown_reported) {
                libxl_event *ev = new_event(LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN, g->domid,
                                            NULL, g->user);
                ev->u.domain_shutdown.shutdown_reason = (uint8_t)d->shutdown_reason;
                *out_tail = ev;
                out_tail = &ev->link.tqe_next;
                g->shutdown_reported = 1;
            }
            if (!d->shutdown && d->pending_due_ns && (!deadline || d->pending_due_ns < deadline))
                deadline = d->pending_due_ns;
        }
        xlsim__unlock();
    }
    /* Split: callbacks run after we drop the lock, the rest is queued now. */
    libxl_event *cb_head = NULL, **cb_tail = &cb_head;
    for (libxl_event *ev = out_head, *next; ev; ev = next) {
        next = ev->link.tqe_next;
        ev->link.tqe_next = NULL;
        if (wants_callback(ctx, ev)) {
            *cb_tail = ev;
            cb_tail = &ev->link.tqe_next;
        } else {
            queue_append(ctx, ev);
            queued++;
        }
    }
    arm_timeout(ctx, deadline);
    void (*cb)(void *, libxl_event *) = ctx->hooks.event_occurs;
    void *user = ctx->hooks_user;
    /* Other threads waiting on this ctx may want what we queued. With the osevent hooks
     * the application's loop polls the fds a drain emptied: real libxl's event_check never
     * drains them, so an event queued here for another user (another thread's stream) must
     * make them readable again, or that thread sleeps on until its own timeout. */
    if (queued && (ctx->waiters > 1 || (drained && ctx->have_os)))
        poke(ctx);
    pthread_mutex_unlock(&ctx->lock);
    xlsim__flush(ctx->lg, "libxl");

    for (libxl_event *ev = cb_head, *next; ev; ev = next) {
        next = ev->link.tqe_next;
        ev->link.tqe_next = NULL;
        cb(user, ev);
    }
    return deadline;
}

static uint64_t scan(libxl_ctx *ctx)
{
    return scan_watches(ctx, 0);
}

void xlsim__scan(libxl_ctx *ctx)
{
    scan(ctx);
}

static void drain_fds(libxl_ctx *ctx)
{
    xlsim__drain(ctx->efd);
    if (ctx->ifd >= 0) {
        char buf[4096];
        int got = 0;
        while (read(ctx->ifd, buf, sizeof(buf)) > 0)
            got = 1;
        /* The inotify queue is shared by every context of this process. */
        if (got)
            xlsim__poke_all();
    }
}

int xlsim__ao_complete(libxl_ctx *ctx, const libxl_asyncop_how *ao_how, uint32_t domid, int rc)
{
    if (ao_how) {
        if (ao_how->callback) {
            ao_how->callback(ctx, rc, ao_how->u.for_callback);
        } else {
            libxl_event *ev = new_event(LIBXL_EVENT_TYPE_OPERATION_COMPLETE, domid, NULL,
                                        ao_how->u.for_event);
            ev->u.operation_complete.rc = rc;
            xlsim__emit(ctx, ev);
        }
        rc = 0;
    }
    scan(ctx);
    return rc;
}

int xlsim__ao_start_failed(libxl_ctx *ctx, const libxl_asyncop_how *ao_how, uint32_t domid,
                           int rc)
{
    if (rc) {
        scan(ctx);
        return rc;
    }
    return xlsim__ao_complete(ctx, ao_how, domid, 0);
}

int libxl_evenable_domain_death(libxl_ctx *ctx, uint32_t domid, libxl_ev_user user,
                                libxl_evgen_domain_death **evgen_out)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_evenable_domain_death");
    uint64_t serial = 0;
    if (!rc) {
        struct sim_dom *d = xlsim__dom(domid);
        serial = d ? d->serial : 0;  /* absent: DEATH is reported at once */
    }
    xlsim__unlock_ctx(ctx);
    if (rc)
        return rc;
    libxl_evgen_domain_death *g = xlsim__calloc(1, sizeof(*g));
    g->domid = domid;
    g->serial = serial;
    g->user = user;
    pthread_mutex_lock(&ctx->lock);
    g->next = ctx->evgens;
    ctx->evgens = g;
    pthread_mutex_unlock(&ctx->lock);
    *evgen_out = g;
    poke(ctx);
    return 0;
}

void libxl_evdisable_domain_death(libxl_ctx *ctx, libxl_evgen_domain_death *evg)
{
    if (!evg)
        return;
    pthread_mutex_lock(&ctx->lock);
    for (libxl_evgen_domain_death **pp = &ctx->evgens; *pp; pp = &(*pp)->next) {
        if (*pp == evg) {
            *pp = evg->next;
            free(evg);
            break;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
}

static int matches(const libxl_event *ev, uint64_t typemask, libxl_event_predicate *pred,
                   void *user)
{
    return (typemask & (1ULL << ev->type)) && (!pred || pred(ev, user));
}

/* ctx->lock held. */
static libxl_event *take(libxl_ctx *ctx, uint64_t typemask, libxl_event_predicate *pred,
                         void *user)
{
    libxl_event *prev = NULL;
    for (libxl_event *ev = ctx->q_head; ev; prev = ev, ev = ev->link.tqe_next) {
        if (!matches(ev, typemask, pred, user))
            continue;
        if (prev)
            prev->link.tqe_next = ev->link.tqe_next;
        else
            ctx->q_head = ev->link.tqe_next;
        if (ctx->q_tail == ev)
            ctx->q_tail = prev;
        ev->link.tqe_next = NULL;
        return ev;
    }
    return NULL;
}

int libxl_event_check(libxl_ctx *ctx, libxl_event **event_r, uint64_t typemask,
                      libxl_event_predicate *pred, void *pred_user)
{
    drain_fds(ctx);
    scan_watches(ctx, 1);
    pthread_mutex_lock(&ctx->lock);
    libxl_event *ev = take(ctx, typemask, pred, pred_user);
    pthread_mutex_unlock(&ctx->lock);
    if (!ev)
        return ERROR_NOT_READY;
    *event_r = ev;
    return 0;
}

int libxl_event_wait(libxl_ctx *ctx, libxl_event **event_r, uint64_t typemask,
                     libxl_event_predicate *pred, void *pred_user)
{
    pthread_mutex_lock(&ctx->lock);
    ctx->waiters++;
    pthread_mutex_unlock(&ctx->lock);
    int rc = 0;
    for (;;) {
        /* Drain before scanning: a change after the scan leaves the fd readable. */
        drain_fds(ctx);
        uint64_t deadline = scan_watches(ctx, 1);
        pthread_mutex_lock(&ctx->lock);
        libxl_event *ev = take(ctx, typemask, pred, pred_user);
        pthread_mutex_unlock(&ctx->lock);
        if (ev) {
            *event_r = ev;
            break;
        }
        int timeout = -1;
        if (deadline) {
            uint64_t now = xlsim__now();
            uint64_t ms = deadline > now ? (deadline - now + 999999) / 1000000 : 0;
            timeout = ms > 60000 ? 60000 : (int)ms;
        }
        struct pollfd fds[2] = { { .fd = ctx->efd, .events = POLLIN },
                                 { .fd = ctx->ifd, .events = POLLIN } };
        int r = poll(fds, ctx->ifd >= 0 ? 2 : 1, timeout);
        if (r < 0 && errno != EINTR) {
            xtl_log(ctx->lg, XTL_ERROR, errno, "libxl", "poll failed in libxl_event_wait");
            rc = ERROR_FAIL;
            break;
        }
    }
    pthread_mutex_lock(&ctx->lock);
    ctx->waiters--;
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

void libxl_event_free(libxl_ctx *ctx, libxl_event *event)
{
    (void)ctx;
    if (!event)
        return;
    libxl_event_dispose(event);
    free(event);
}

void libxl_event_register_callbacks(libxl_ctx *ctx, const libxl_event_hooks *hooks, void *user)
{
    pthread_mutex_lock(&ctx->lock);
    ctx->have_hooks = hooks != NULL;
    if (hooks)
        ctx->hooks = *hooks;
    else
        memset(&ctx->hooks, 0, sizeof(ctx->hooks));
    ctx->hooks_user = user;
    pthread_mutex_unlock(&ctx->lock);
}

void libxl_osevent_register_hooks(libxl_ctx *ctx, const libxl_osevent_hooks *hooks, void *user)
{
    pthread_mutex_lock(&ctx->lock);
    ctx->have_os = hooks != NULL;
    if (hooks)
        ctx->os = *hooks;
    ctx->os_user = user;
    if (hooks && hooks->fd_register) {
        int fds[2] = { ctx->efd, ctx->ifd };
        for (int i = 0; i < 2; i++) {
            if (fds[i] < 0 || ctx->fdr[i].registered)
                continue;
            ctx->fdr[i].fd = fds[i];
            if (hooks->fd_register(user, fds[i], &ctx->fdr[i].for_app, POLLIN, &ctx->fdr[i]))
                xtl_log(ctx->lg, XTL_ERROR, -1, "libxl", "osevent fd_register failed for fd %d",
                        fds[i]);
            else
                ctx->fdr[i].registered = 1;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    poke(ctx);
}

void libxl_osevent_occurred_fd(libxl_ctx *ctx, void *for_libxl, int fd, short events,
                               short revents)
{
    (void)for_libxl; (void)events; (void)revents;
    if (fd == ctx->efd)
        xlsim__drain(ctx->efd);
    else
        drain_fds(ctx);
    scan(ctx);
}

void libxl_osevent_occurred_timeout(libxl_ctx *ctx, void *for_libxl)
{
    pthread_mutex_lock(&ctx->lock);
    for (struct sim_timeout **pp = &ctx->timeouts; *pp; pp = &(*pp)->next) {
        if (*pp == for_libxl) {
            struct sim_timeout *t = *pp;
            *pp = t->next;
            free(t);
            break;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    scan(ctx);
}

void xlsim__events_free(libxl_ctx *ctx)
{
    for (libxl_evgen_domain_death *g = ctx->evgens, *n; g; g = n) {
        n = g->next;
        free(g);
    }
    ctx->evgens = NULL;
    for (libxl_event *ev = ctx->q_head, *n; ev; ev = n) {
        n = ev->link.tqe_next;
        libxl_event_free(ctx, ev);
    }
    ctx->q_head = ctx->q_tail = NULL;
    for (struct sim_timeout *t = ctx->timeouts, *n; t; t = n) {
        n = t->next;
        free(t);
    }
    ctx->timeouts = NULL;
}
