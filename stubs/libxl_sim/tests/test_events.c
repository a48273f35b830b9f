/* Events: shutdown with reason then death, callbacks, async ops, the osevent
 * hooks path (an application's own poll loop), cross-context and multi-waiter. */
#include "t.h"

#include <poll.h>
#include <pthread.h>
#include <sys/time.h>

static uint32_t running_guest(libxl_ctx *ctx, const char *name, unsigned delay_ms)
{
    uint32_t domid = t_create(ctx, name, 128, 1);
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);
    CHECK_RC(xlsim_guest_set_shutdown_delay(domid, delay_ms), 0);
    return domid;
}

static void test_shutdown_then_death(libxl_ctx *ctx)
{
    uint32_t domid = running_guest(ctx, "ev1", 20);
    libxl_evgen_domain_death *g = NULL;
    CHECK_RC(libxl_evenable_domain_death(ctx, domid, 42, &g), 0);
    libxl_event *ev = NULL;
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), ERROR_NOT_READY);
    CHECK_RC(libxl_domain_shutdown(ctx, domid, NULL), 0);
    /* The guest answers after its delay; event_wait blocks until then. */
    CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN && ev->domid == domid);
    CHECK(ev->for_user == 42);
    CHECK(ev->u.domain_shutdown.shutdown_reason == LIBXL_SHUTDOWN_REASON_POWEROFF);
    CHECK(libxl_uuid_is_nil(&ev->domuuid));  /* libxl__event_new leaves it nil */
    libxl_event_free(ctx, ev);
    libxl_dominfo di;
    CHECK_RC(libxl_domain_info(ctx, &di, domid), 0);
    CHECK(di.shutdown && di.shutdown_reason == LIBXL_SHUTDOWN_REASON_POWEROFF);
    CHECK(!di.running && !di.blocked);
    /* Reported once per shutdown. */
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), ERROR_NOT_READY);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH && ev->domid == domid);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, g);

    /* Reboot and guest-initiated crash carry their reasons. */
    domid = running_guest(ctx, "ev2", 0);
    CHECK_RC(libxl_evenable_domain_death(ctx, domid, 0, &g), 0);
    CHECK_RC(libxl_domain_reboot(ctx, domid, NULL), 0);
    CHECK_RC(libxl_event_wait(ctx, &ev, 1ULL << LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN, NULL, NULL), 0);
    CHECK(ev->u.domain_shutdown.shutdown_reason == LIBXL_SHUTDOWN_REASON_REBOOT);
    libxl_event_free(ctx, ev);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    /* Events already generated stay queued after evdisable, as in libxl. */
    libxl_evdisable_domain_death(ctx, g);
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH);
    libxl_event_free(ctx, ev);
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), ERROR_NOT_READY);

    domid = running_guest(ctx, "ev3", 0);
    CHECK_RC(libxl_evenable_domain_death(ctx, domid, 0, &g), 0);
    CHECK_RC(xlsim_guest_crash(domid), 0);
    CHECK_RC(xlsim_guest_crash(domid), ERROR_INVAL);
    CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN);
    CHECK(ev->u.domain_shutdown.shutdown_reason == LIBXL_SHUTDOWN_REASON_CRASH);
    libxl_event_free(ctx, ev);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, g);

    /* A watch reports SHUTDOWN once: a suspended then resumed guest that shuts
     * down again gives no second one (libxl's shutdown_reported is never reset). */
    domid = running_guest(ctx, "ev4", 0);
    CHECK_RC(libxl_evenable_domain_death(ctx, domid, 0, &g), 0);
    FILE *img = tmpfile();
    CHECK_RC(libxl_domain_suspend(ctx, domid, fileno(img), 0, NULL), 0);
    CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN);
    CHECK(ev->u.domain_shutdown.shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND);
    libxl_event_free(ctx, ev);
    fclose(img);
    CHECK_RC(libxl_domain_resume(ctx, domid, 1, NULL), 0);
    CHECK_RC(xlsim_guest_poweroff(domid), 0);
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), ERROR_NOT_READY);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, g);

    /* Watching a domain that does not exist reports its death at once. */
    CHECK_RC(libxl_evenable_domain_death(ctx, 4000, 7, &g), 0);
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH && ev->domid == 4000 && ev->for_user == 7);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, g);
}

static void test_ignore_and_paused(libxl_ctx *ctx)
{
    libxl_evgen_domain_death *g;
    libxl_event *ev;
    uint32_t domid = running_guest(ctx, "stubborn", 0);
    CHECK_RC(xlsim_guest_set_ignore_shutdown(domid, 1), 0);
    CHECK_RC(libxl_evenable_domain_death(ctx, domid, 0, &g), 0);
    /* libxl waits for the guest to acknowledge the request: it never does. */
    CHECK_RC(libxl_domain_shutdown(ctx, domid, NULL), ERROR_TIMEDOUT);
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), ERROR_NOT_READY);
    libxl_dominfo di;
    CHECK_RC(libxl_domain_info(ctx, &di, domid), 0);
    CHECK(!di.shutdown && di.running);
    CHECK_RC(xlsim_guest_set_ignore_shutdown(domid, 0), 0);

    /* A paused guest answers only once unpaused. */
    CHECK_RC(libxl_domain_pause(ctx, domid, NULL), 0);
    CHECK_RC(libxl_domain_shutdown(ctx, domid, NULL), ERROR_TIMEDOUT);  /* not acknowledged... */
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), ERROR_NOT_READY);
    CHECK_RC(libxl_domain_info(ctx, &di, domid), 0);
    CHECK(!di.shutdown && di.paused);
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);  /* ...but acted on once unpaused */
    CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN);
    libxl_event_free(ctx, ev);
    CHECK_RC(libxl_domain_reboot(ctx, domid, NULL), ERROR_TIMEDOUT);  /* already shut down */
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, g);
    CHECK_RC(libxl_domain_shutdown(ctx, 999, NULL), ERROR_FAIL);
}

static int cb_count;
static libxl_event_type cb_last;
static void on_event(void *user, libxl_event *ev)
{
    CHECK(user == &cb_count);
    cb_count++;
    cb_last = ev->type;
    libxl_event_free(NULL, ev);
}

static int ao_rc = 1;
static void ao_done(libxl_ctx *ctx, int rc, void *for_callback)
{
    (void)ctx;
    CHECK(for_callback == &ao_rc);
    ao_rc = rc;
}

static void test_callbacks_and_async(libxl_ctx *ctx)
{
    libxl_event_hooks hooks = { .event_occurs_mask = 1ULL << LIBXL_EVENT_TYPE_DOMAIN_DEATH,
                                .event_occurs = on_event };
    libxl_event_register_callbacks(ctx, &hooks, &cb_count);
    uint32_t domid = running_guest(ctx, "cb", 0);
    libxl_evgen_domain_death *g;
    libxl_event *ev;
    CHECK_RC(libxl_evenable_domain_death(ctx, domid, 0, &g), 0);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    CHECK(cb_count == 1 && cb_last == LIBXL_EVENT_TYPE_DOMAIN_DEATH);
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), ERROR_NOT_READY);
    libxl_evdisable_domain_death(ctx, g);
    libxl_event_register_callbacks(ctx, NULL, NULL);

    /* Async completion through a callback, then through an OPERATION_COMPLETE event. */
    domid = t_create(ctx, "ao", 128, 1);
    libxl_asyncop_how how = { .callback = ao_done, .u.for_callback = &ao_rc };
    CHECK_RC(libxl_domain_unpause(ctx, domid, &how), 0);
    CHECK(ao_rc == 0);
    CHECK_RC(libxl_domain_unpause(ctx, domid, &how), 0);  /* started: fails later */
    CHECK(ao_rc == ERROR_FAIL);
    /* A failure found while starting (libxl's AO_CREATE_FAIL) is returned directly. */
    ao_rc = 1;
    CHECK_RC(libxl_domain_pause(ctx, 999, &how), ERROR_FAIL);
    CHECK_RC(libxl_domain_shutdown(ctx, 999, &how), ERROR_FAIL);
    CHECK(ao_rc == 1);  /* no completion callback */
    libxl_asyncop_how how_ev = { .callback = NULL, .u.for_event = 99 };
    CHECK_RC(libxl_domain_destroy(ctx, domid, &how_ev), 0);
    CHECK_RC(libxl_event_wait(ctx, &ev, 1ULL << LIBXL_EVENT_TYPE_OPERATION_COMPLETE, NULL, NULL), 0);
    CHECK(ev->for_user == 99 && ev->u.operation_complete.rc == 0 && ev->domid == domid);
    libxl_event_free(ctx, ev);

    /* Console availability during create. */
    libxl_domain_config dc;
    t_config(&dc, "console", 128, 1);
    libxl_asyncprogress_how con = { .callback = NULL, .for_event = 5 };
    CHECK_RC(libxl_domain_create_new(ctx, &dc, &domid, NULL, &con), 0);
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_CREATE_CONSOLE_AVAILABLE && ev->for_user == 5);
    libxl_event_free(ctx, ev);
    libxl_domain_config_dispose(&dc);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
}

/* ---- an application's own main loop, driven through the osevent hooks ---- */
struct app {
    int nfds;
    struct { int fd; void *for_libxl; } fds[4];
    int ntimeouts;
    struct { struct timeval abs; void *for_libxl; int live; } to[16];
    int deregistered;
};

static int fd_register(void *user, int fd, void **reg, short events, void *for_libxl)
{
    struct app *a = user;
    CHECK(events & POLLIN);
    CHECK(a->nfds < 4);
    a->fds[a->nfds].fd = fd;
    a->fds[a->nfds].for_libxl = for_libxl;
    *reg = &a->fds[a->nfds];
    a->nfds++;
    return 0;
}
static int fd_modify(void *user, int fd, void **reg, short events)
{
    (void)user; (void)fd; (void)reg; (void)events;
    return 0;
}
static void fd_deregister(void *user, int fd, void *reg)
{
    (void)fd; (void)reg;
    ((struct app *)user)->deregistered++;
}
static int timeout_register(void *user, void **reg, struct timeval abs, void *for_libxl)
{
    struct app *a = user;
    CHECK(a->ntimeouts < 16);
    a->to[a->ntimeouts].abs = abs;
    a->to[a->ntimeouts].for_libxl = for_libxl;
    a->to[a->ntimeouts].live = 1;
    *reg = &a->to[a->ntimeouts];
    a->ntimeouts++;
    return 0;
}
static int timeout_modify(void *user, void **reg, struct timeval abs)
{
    (void)user; (void)reg; (void)abs;
    return 0;
}

/* One turn of the loop: poll the fds until the earliest timeout, then dispatch. */
static void app_turn(libxl_ctx *ctx, struct app *a)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    int timeout = 1000;
    for (int i = 0; i < a->ntimeouts; i++) {
        if (!a->to[i].live)
            continue;
        long ms = (a->to[i].abs.tv_sec - now.tv_sec) * 1000 +
                  (a->to[i].abs.tv_usec - now.tv_usec + 999) / 1000;
        if (ms < timeout)
            timeout = ms < 0 ? 0 : (int)ms;
    }
    struct pollfd p[4];
    for (int i = 0; i < a->nfds; i++)
        p[i] = (struct pollfd){ .fd = a->fds[i].fd, .events = POLLIN };
    CHECK(poll(p, (nfds_t)a->nfds, timeout) >= 0);
    for (int i = 0; i < a->nfds; i++)
        if (p[i].revents)
            libxl_osevent_occurred_fd(ctx, a->fds[i].for_libxl, p[i].fd, POLLIN, p[i].revents);
    gettimeofday(&now, NULL);
    for (int i = 0; i < a->ntimeouts; i++) {
        if (a->to[i].live && timercmp(&a->to[i].abs, &now, <=)) {
            a->to[i].live = 0;
            libxl_osevent_occurred_timeout(ctx, a->to[i].for_libxl);
        }
    }
}

/* A context whose fds and timeouts the application `a` watches (its osevent hooks). */
static libxl_ctx *app_ctx(struct app *a)
{
    static const libxl_osevent_hooks hooks = {
        .fd_register = fd_register, .fd_modify = fd_modify, .fd_deregister = fd_deregister,
        .timeout_register = timeout_register, .timeout_modify = timeout_modify,
    };
    memset(a, 0, sizeof(*a));
    libxl_ctx *ctx = t_ctx(NULL);
    libxl_osevent_register_hooks(ctx, &hooks, a);
    return ctx;
}

static void test_osevent(libxl_ctx *other)
{
    struct app a;
    libxl_ctx *ctx = app_ctx(&a);
    CHECK(a.nfds >= 1);

    uint32_t domid = running_guest(ctx, "loop", 30);
    libxl_evgen_domain_death *g;
    libxl_event *ev = NULL;
    CHECK_RC(libxl_evenable_domain_death(ctx, domid, 0, &g), 0);
    CHECK_RC(libxl_domain_shutdown(ctx, domid, NULL), 0);
    CHECK(a.ntimeouts >= 1);  /* the guest's answer is a deadline for the app's loop */
    int turns = 0;
    while (libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL) == ERROR_NOT_READY) {
        CHECK(++turns < 1000);
        app_turn(ctx, &a);
    }
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN);
    libxl_event_free(ctx, ev);

    /* Destroyed through another context: this loop's fd wakes it. */
    CHECK_RC(libxl_domain_destroy(other, domid, NULL), 0);
    app_turn(ctx, &a);
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, g);
    libxl_ctx_free(ctx);
    CHECK(a.deregistered == a.nfds);
}

static int for_user(const libxl_event *ev, void *user)
{
    return ev->for_user == *(libxl_ev_user *)user;
}

/* Two streams (users) of one context under the osevent hooks, as two threads of an
 * application: one thread's libxl_event_check drains the fds and finds both deaths; the
 * other user's event must leave the fds readable, since that thread waits in the loop's poll. */
static void test_osevent_check_leaves_the_loop_awake(libxl_ctx *other)
{
    struct app a;
    libxl_ctx *ctx = app_ctx(&a);
    uint32_t domid[2];
    libxl_evgen_domain_death *g[2];
    libxl_ev_user users[2] = { 1, 2 };
    for (int i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof(name), "loop%d", i);
        domid[i] = t_create(other, name, 64, 1);
        CHECK_RC(libxl_evenable_domain_death(ctx, domid[i], users[i], &g[i]), 0);
    }
    app_turn(ctx, &a);                      /* the loop has seen everything so far */
    for (int i = 0; i < 2; i++)
        CHECK_RC(libxl_domain_destroy(other, domid[i], NULL), 0);

    libxl_event *ev = NULL;
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, for_user, &users[0]), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH && ev->domid == domid[0]);
    libxl_event_free(ctx, ev);

    struct pollfd p[4];
    for (int i = 0; i < a.nfds; i++)
        p[i] = (struct pollfd){ .fd = a.fds[i].fd, .events = POLLIN };
    CHECK(poll(p, (nfds_t)a.nfds, 0) > 0);  /* user 2's thread wakes */
    app_turn(ctx, &a);
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, for_user, &users[1]), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH && ev->domid == domid[1]);
    libxl_event_free(ctx, ev);
    /* nothing new: the next check leaves the loop asleep (no wake-up ping-pong) */
    CHECK(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL) == ERROR_NOT_READY);
    CHECK(poll(p, (nfds_t)a.nfds, 0) == 0);
    for (int i = 0; i < 2; i++)
        libxl_evdisable_domain_death(ctx, g[i]);
    libxl_ctx_free(ctx);
}

struct waiter {
    libxl_ctx *ctx;
    uint32_t domid;
    int got;
};

static int for_domid(const libxl_event *ev, void *user)
{
    return ev->domid == *(uint32_t *)user;
}

static void *wait_death(void *arg)
{
    struct waiter *w = arg;
    libxl_event *ev;
    CHECK_RC(libxl_event_wait(w->ctx, &ev, 1ULL << LIBXL_EVENT_TYPE_DOMAIN_DEATH, for_domid,
                              &w->domid), 0);
    w->got = ev->domid == w->domid;
    libxl_event_free(w->ctx, ev);
    return NULL;
}

static void test_threads_waiting(libxl_ctx *other)
{
    libxl_ctx *ctx = t_ctx(NULL);
    struct waiter w[2];
    pthread_t th[2];
    libxl_evgen_domain_death *g[2];
    for (int i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof(name), "w%d", i);
        w[i] = (struct waiter){ ctx, t_create(other, name, 64, 1), 0 };
        CHECK_RC(libxl_evenable_domain_death(ctx, w[i].domid, 0, &g[i]), 0);
        CHECK(pthread_create(&th[i], NULL, wait_death, &w[i]) == 0);
    }
    t_sleep_ms(20);  /* let both block (not needed for correctness) */
    CHECK_RC(libxl_domain_destroy(other, w[1].domid, NULL), 0);
    CHECK_RC(libxl_domain_destroy(other, w[0].domid, NULL), 0);
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_join(th[i], NULL) == 0);
        CHECK(w[i].got);
        libxl_evdisable_domain_death(ctx, g[i]);
    }
    libxl_ctx_free(ctx);
}

int main(void)
{
    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    t_reset();
    test_shutdown_then_death(ctx);
    test_ignore_and_paused(ctx);
    test_callbacks_and_async(ctx);
    test_osevent(ctx);
    test_osevent_check_leaves_the_loop_awake(ctx);
    test_threads_waiting(ctx);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    T_DONE();
}
