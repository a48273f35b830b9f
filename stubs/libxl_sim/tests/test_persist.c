/* Persistence and cross-process events through XLSIM_STATE_FILE: children are
 * separate processes (fork + exec of this binary) mapping the same state. */
#include "t.h"

#include <sys/wait.h>

static libxl_dominfo info(libxl_ctx *ctx, uint32_t domid)
{
    libxl_dominfo di;
    CHECK_RC(libxl_domain_info(ctx, &di, domid), 0);
    return di;
}

static char self_path[4096];

static int run_child(const char *what, uint32_t domid, const char *arg)
{
    char id[16];
    snprintf(id, sizeof(id), "%u", domid);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execl(self_path, self_path, what, id, arg, (char *)NULL);
        _exit(127);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Child 1: sees the parent's domain as it is, creates one, destroys the parent's. */
static int child_take_over(uint32_t domid, const char *uuid)
{
    libxl_ctx *ctx = t_ctx(NULL);
    libxl_dominfo di = info(ctx, domid);
    libxl_uuid want;
    CHECK_RC(libxl_uuid_from_string(&want, uuid), 0);
    CHECK(!libxl_uuid_compare(&di.uuid, &want));
    CHECK(di.running && !di.paused && di.current_memkb == 64 * 1024);
    char *name = libxl_domid_to_name(ctx, domid);
    CHECK(name && !strcmp(name, "persist"));
    free(name);
    CHECK(t_create(ctx, "from-child", 64, 1) != 0);
    CHECK_RC(libxl_domain_destroy(ctx, domid, NULL), 0);
    libxl_ctx_free(ctx);
    return 0;
}

/* Child 2: a shutdown asked by the parent is answered later, seen here. */
static int child_wait_shutdown(uint32_t domid)
{
    libxl_ctx *ctx = t_ctx(NULL);
    libxl_evgen_domain_death *g;
    libxl_event *ev;
    CHECK_RC(libxl_evenable_domain_death(ctx, domid, 0, &g), 0);
    CHECK_RC(libxl_event_wait(ctx, &ev, 1ULL << LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN, NULL, NULL), 0);
    CHECK(ev->domid == domid);
    CHECK(ev->u.domain_shutdown.shutdown_reason == LIBXL_SHUTDOWN_REASON_POWEROFF);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, g);
    libxl_ctx_free(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "take-over"))
        return child_take_over((uint32_t)atoi(argv[2]), argv[3]);
    if (argc >= 3 && !strcmp(argv[1], "wait-shutdown"))
        return child_wait_shutdown((uint32_t)atoi(argv[2]));
    if (argc >= 2 && !strcmp(argv[1], "reset"))
        return xlsim_host_configure(NULL) ? 1 : 0;
    if (argc != 1)
        return 2;

    /* argv[0], not /proc/self/exe: under valgrind the latter is valgrind itself. */
    CHECK(realpath(argv[0], self_path) != NULL);
    char dir[] = "/tmp/xlsim-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], bell[300];
    snprintf(path, sizeof(path), "%s/host.state", dir);
    snprintf(bell, sizeof(bell), "%s.bell", path);
    setenv("XLSIM_STATE_FILE", path, 1);

    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    t_reset();
    uint32_t domid = t_create(ctx, "persist", 64, 1);
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);
    libxl_dominfo di = info(ctx, domid);
    char uuid[LIBXL_UUID_FMTLEN + 1];
    snprintf(uuid, sizeof(uuid), LIBXL_UUID_FMT, LIBXL_UUID_BYTES(di.uuid));

    libxl_evgen_domain_death *g;
    libxl_event *ev;
    CHECK_RC(libxl_evenable_domain_death(ctx, domid, 0, &g), 0);
    CHECK_RC(run_child("take-over", domid, uuid), 0);
    /* The other process's destroy reaches this watcher. */
    CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH && ev->domid == domid);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, g);

    /* The child's domain outlived the child. */
    uint32_t child_dom = 0;
    CHECK_RC(libxl_name_to_domid(ctx, "from-child", &child_dom), 0);
    CHECK(child_dom == domid + 1);  /* one host, one domid allocator */
    CHECK(info(ctx, child_dom).paused);

    CHECK_RC(libxl_domain_unpause(ctx, child_dom, NULL), 0);
    CHECK_RC(xlsim_guest_set_shutdown_delay(child_dom, 50), 0);
    CHECK_RC(libxl_domain_shutdown(ctx, child_dom, NULL), 0);
    CHECK_RC(run_child("wait-shutdown", child_dom, ""), 0);
    di = info(ctx, child_dom);
    CHECK(di.shutdown && di.shutdown_reason == LIBXL_SHUTDOWN_REASON_POWEROFF);
    CHECK_RC(libxl_domain_destroy(ctx, child_dom, NULL), 0);

    /* A forked child (no exec) uses a context of its own; its change reaches us. */
    uint32_t victim = t_create(ctx, "victim", 64, 1);
    CHECK_RC(libxl_evenable_domain_death(ctx, victim, 0, &g), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        libxl_ctx *c = NULL;
        libxl_event *e;
        int ok = libxl_ctx_alloc(&c, LIBXL_VERSION, 0, NULL) == 0 &&
                 libxl_domain_destroy(c, victim, NULL) == 0 &&
                 libxl_event_check(c, &e, LIBXL_EVENTMASK_ALL, NULL, NULL) == ERROR_NOT_READY;
        libxl_ctx_free(c);
        _exit(ok ? 0 : 1);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH && ev->domid == victim);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, g);

    /* Another process resetting the host is seen here at once. */
    CHECK(t_create(ctx, "before-reset", 64, 1) != 0);
    CHECK_RC(run_child("reset", 0, ""), 0);
    uint32_t gone;
    CHECK_RC(libxl_name_to_domid(ctx, "before-reset", &gone), ERROR_INVAL);
    CHECK_RC(xlsim_domain_count(), 1);

    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    unlink(path);
    unlink(bell);
    rmdir(dir);
    T_DONE();
}
