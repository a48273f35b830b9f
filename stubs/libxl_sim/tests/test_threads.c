/* One context used from 8 threads at once: concurrent create/destroy/list/events. */
#include "t.h"

#include <pthread.h>

#define THREADS 8
#define ROUNDS 60

static libxl_ctx *ctx;

static int mine(const libxl_event *ev, void *user)
{
    return ev->for_user == *(uint32_t *)user;
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        char name[32];
        snprintf(name, sizeof(name), "t%d-%d", id, r);
        uint32_t domid = t_create(ctx, name, 32, 2);
        uint32_t found = 0;
        CHECK_RC(libxl_name_to_domid(ctx, name, &found), 0);
        CHECK(found == domid);
        CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);
        int n = 0;
        libxl_dominfo *l = libxl_list_domain(ctx, &n);
        CHECK(l && n >= 2);
        libxl_dominfo_list_free(l, n);
        int nv, nc;
        libxl_vcpuinfo *v = libxl_list_vcpu(ctx, domid, &nv, &nc);
        CHECK(v && nv == 2);
        libxl_vcpuinfo_list_free(v, nv);
        libxl_evgen_domain_death *g;
        CHECK_RC(libxl_evenable_domain_death(ctx, domid, (libxl_ev_user)domid, &g), 0);
        CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
        libxl_event *ev;
        /* Only this thread's domain: other threads' events stay queued for them. */
        CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, mine, &domid), 0);
        CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH && ev->for_user == domid);
        libxl_event_free(ctx, ev);
        libxl_evdisable_domain_death(ctx, g);
    }
    return NULL;
}

int main(void)
{
    xentoollog_logger *lg = t_logger();
    ctx = t_ctx(lg);
    t_reset();
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    CHECK_RC(xlsim_domain_count(), 1);
    /* Every death was delivered exactly once: the queue is empty now. */
    libxl_event *ev;
    CHECK_RC(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), ERROR_NOT_READY);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    T_DONE();
}
