/* Live migration as libxl 4.17 allows it: libxl_domain_suspend(LIVE) into a socket,
 * libxl_domain_create_restore (stream_version 2) from the other end, paused until the
 * commit; rollback with libxl_domain_resume(suspend_cancel). Localhost (one host, one
 * process, a writer thread) and between two hosts (a child process exec'd with a state
 * file of its own). Faults at each step; truncated and corrupt streams; closed fds. */
#include "t.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

static char self_path[4096];

static libxl_dominfo info(libxl_ctx *ctx, uint32_t domid)
{
    libxl_dominfo di;
    CHECK_RC(libxl_domain_info(ctx, &di, domid), 0);
    return di;
}

static uint64_t free_kb(libxl_ctx *ctx)
{
    uint64_t kb = 0;
    CHECK_RC(libxl_get_free_memory(ctx, &kb), 0);
    return kb;
}

static struct xlsim_guest_state gstate(uint32_t domid)
{
    struct xlsim_guest_state g;
    CHECK_RC(xlsim_guest_state(domid, &g), 0);
    return g;
}

static uint32_t t_running(libxl_ctx *ctx, const char *name, int mib)
{
    uint32_t domid = t_create(ctx, name, mib, 2);
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);
    CHECK_RC(xlsim_domain_set_load(domid, 0.5), 0);
    return domid;
}

static int restore(libxl_ctx *ctx, const char *name, int mib, int fd, uint32_t *domid)
{
    libxl_domain_config dc;
    libxl_domain_restore_params params;
    t_config(&dc, name, mib, 2);
    libxl_domain_restore_params_init(&params);
    params.stream_version = 2;
    int rc = libxl_domain_create_restore(ctx, &dc, domid, fd, -1, &params, NULL, NULL);
    libxl_domain_restore_params_dispose(&params);
    libxl_domain_config_dispose(&dc);
    return rc;
}

/* The sending side in a thread (its own context), as xl's migration sender. */
struct sender {
    pthread_t th;
    uint32_t domid;
    int fd, flags, rc;
};

static void *send_main(void *arg)
{
    struct sender *s = arg;
    libxl_ctx *ctx = t_ctx(NULL);
    s->rc = libxl_domain_suspend(ctx, s->domid, s->fd, s->flags, NULL);
    /* As xl: the sender is done writing; a reader still waiting sees the end. */
    shutdown(s->fd, SHUT_WR);
    libxl_ctx_free(ctx);
    return NULL;
}

static void send_start(struct sender *s, uint32_t domid, int fd)
{
    s->domid = domid;
    s->fd = fd;
    s->flags = LIBXL_SUSPEND_LIVE;
    s->rc = 1;
    CHECK(pthread_create(&s->th, NULL, send_main, s) == 0);
}

static void pair(int sv[2])
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
}

/* xl migrate VM localhost: the incoming copy is NAME--incoming until the commit, the
 * outgoing one NAME--migratedaway; the host holds both copies meanwhile. */
static void test_localhost(libxl_ctx *ctx)
{
    uint32_t src = t_running(ctx, "vm", 32);
    t_sleep_ms(30);
    struct xlsim_guest_state before = gstate(src);
    CHECK(before.uptime_ns > 0 && before.resumes == 0);
    uint64_t free0 = free_kb(ctx);

    libxl_evgen_domain_death *g;
    CHECK_RC(libxl_evenable_domain_death(ctx, src, 0, &g), 0);

    int sv[2];
    pair(sv);
    struct sender s;
    send_start(&s, src, sv[0]);
    uint32_t dst = 0;
    CHECK_RC(restore(ctx, "vm--incoming", 32, sv[1], &dst), 0);
    CHECK(pthread_join(s.th, NULL) == 0);
    CHECK_RC(s.rc, 0);
    CHECK(dst != src);

    /* Before the commit: the source is suspended, the destination paused. */
    libxl_dominfo si = info(ctx, src), di = info(ctx, dst);
    CHECK(si.shutdown && si.shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND);
    CHECK(di.paused && !di.running && !di.shutdown);
    CHECK(free_kb(ctx) == free0 - 32 * 1024);       /* two copies held */
    libxl_event *ev;
    CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN && ev->domid == src);
    CHECK(ev->u.domain_shutdown.shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND);
    libxl_event_free(ctx, ev);

    /* The guest's own state came along; Xen's accounting restarts. */
    struct xlsim_guest_state after = gstate(dst);
    CHECK(!strcmp(after.boot_id, before.boot_id));
    CHECK(after.uptime_ns >= before.uptime_ns && after.resumes == 1);
    CHECK(info(ctx, dst).cpu_time == 0);
    char cons[4096];
    CHECK(xlsim_guest_console(dst, cons, sizeof(cons)) > 0);
    CHECK(strstr(cons, before.boot_id) && strstr(cons, "PM: suspending for migration") &&
          strstr(cons, "PM: resumed on a new domain"));

    /* Commit, as xl: rename away, rename in, unpause, destroy the source. */
    CHECK_RC(libxl_domain_rename(ctx, src, "vm", "vm--migratedaway"), 0);
    CHECK_RC(libxl_domain_rename(ctx, dst, "vm--incoming", "vm"), 0);
    CHECK_RC(libxl_domain_unpause(ctx, dst, NULL), 0);
    CHECK_RC(libxl_domain_destroy(ctx, src, NULL), 0);
    CHECK(free_kb(ctx) == free0);
    CHECK_RC(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL), 0);
    CHECK(ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH && ev->domid == src);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, g);
    di = info(ctx, dst);
    CHECK(!di.paused && di.running);
    uint32_t byname = 0;
    CHECK_RC(libxl_name_to_domid(ctx, "vm", &byname), 0);
    CHECK(byname == dst);
    t_sleep_ms(5);
    CHECK(gstate(dst).uptime_ns > after.uptime_ns);   /* it runs on */
    CHECK_RC(libxl_domain_destroy(ctx, dst, NULL), 0);
    close(sv[0]);
    close(sv[1]);
}

/* A failure at each step leaves exactly one running copy: the source. */
static void rollback(libxl_ctx *ctx, uint32_t src, uint32_t dst, const char *boot_id)
{
    if (dst != (uint32_t)INVALID_DOMID)
        CHECK_RC(libxl_domain_destroy(ctx, dst, NULL), 0);
    libxl_dominfo si = info(ctx, src);
    if (si.shutdown) {
        CHECK(si.shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND);
        CHECK_RC(libxl_domain_resume(ctx, src, 1, NULL), 0);
    }
    si = info(ctx, src);
    CHECK(si.running && !si.paused && !si.shutdown);
    CHECK(!strcmp(gstate(src).boot_id, boot_id));
    CHECK_RC(xlsim_domain_count(), 2);
}

static void test_faults(libxl_ctx *ctx)
{
    uint32_t src = t_running(ctx, "f", 16);
    char boot[40];
    snprintf(boot, sizeof(boot), "%s", gstate(src).boot_id);
    uint64_t free0 = free_kb(ctx);
    const char *points[] = { "libxl_domain_suspend/live", "libxl_domain_suspend/suspended",
                             "libxl_domain_create_restore/stream" };
    for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        CHECK_RC(xlsim_fail_next(points[i], 1, ERROR_FAIL), 0);
        int sv[2];
        pair(sv);
        struct sender s;
        send_start(&s, src, sv[0]);
        uint32_t dst = 0;
        CHECK_RC(restore(ctx, "f--incoming", 16, sv[1], &dst), ERROR_FAIL);
        CHECK(dst == (uint32_t)INVALID_DOMID);
        close(sv[1]);                  /* the receiver gives up: the sender's writes fail */
        CHECK(pthread_join(s.th, NULL) == 0);
        CHECK_RC(s.rc, ERROR_FAIL);
        close(sv[0]);
        libxl_dominfo si = info(ctx, src);
        if (i == 0)
            CHECK(!si.shutdown && si.running);  /* failed while it still ran */
        if (i == 1)
            CHECK(si.shutdown);                 /* failed once suspended */
        rollback(ctx, src, (uint32_t)INVALID_DOMID, boot);
        CHECK(free_kb(ctx) == free0);
    }

    /* The resume and the unpause fail once: the rollback tries again. */
    for (int step = 0; step < 2; step++) {
        int sv[2];
        pair(sv);
        struct sender s;
        send_start(&s, src, sv[0]);
        uint32_t dst = 0;
        CHECK_RC(restore(ctx, "f--incoming", 16, sv[1], &dst), 0);
        CHECK(pthread_join(s.th, NULL) == 0);
        CHECK_RC(s.rc, 0);
        close(sv[0]);
        close(sv[1]);
        if (step == 0) {
            /* The destination went away before the commit; the resume fails once. */
            CHECK_RC(libxl_domain_destroy(ctx, dst, NULL), 0);
            CHECK_RC(xlsim_fail_next("libxl_domain_resume", 1, ERROR_FAIL), 0);
            CHECK_RC(libxl_domain_resume(ctx, src, 1, NULL), ERROR_FAIL);
            CHECK(info(ctx, src).shutdown);     /* unchanged: still resumable */
            rollback(ctx, src, (uint32_t)INVALID_DOMID, boot);
        } else {
            /* The commit's unpause fails: the destination's copy goes, the source resumes. */
            CHECK_RC(xlsim_fail_next("libxl_domain_unpause", 1, ERROR_FAIL), 0);
            CHECK_RC(libxl_domain_unpause(ctx, dst, NULL), ERROR_FAIL);
            CHECK(info(ctx, dst).paused);
            rollback(ctx, src, dst, boot);
        }
        CHECK(free_kb(ctx) == free0);
    }
    CHECK(gstate(src).resumes == 3);   /* each resume after a suspension */
    CHECK_RC(libxl_domain_destroy(ctx, src, NULL), 0);
}

/* Streams into a file, a pipe, a closed socket; truncated and corrupt streams. */
static void test_streams(libxl_ctx *ctx)
{
    uint32_t src = t_running(ctx, "s", 16);
    uint64_t free0 = free_kb(ctx);

    /* A peer that is gone: the suspend fails, the guest runs on. */
    int sv[2];
    pair(sv);
    close(sv[1]);
    CHECK_RC(libxl_domain_suspend(ctx, src, sv[0], LIBXL_SUSPEND_LIVE, NULL), ERROR_FAIL);
    close(sv[0]);
    CHECK(info(ctx, src).running);
    int bad = open("/dev/null", O_RDONLY);        /* not writable */
    CHECK_RC(libxl_domain_suspend(ctx, src, bad, LIBXL_SUSPEND_LIVE, NULL), ERROR_FAIL);
    close(bad);
    CHECK(info(ctx, src).running);

    /* A whole stream into a file (not live: the guest suspends first). */
    char path[] = "/tmp/xlsim-stream-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK_RC(libxl_domain_suspend(ctx, src, fd, 0, NULL), 0);
    off_t size = lseek(fd, 0, SEEK_END);
    CHECK(size > 16 * 1024 * 1024);               /* every page of the guest */
    char head[8];
    CHECK(pread(fd, head, 8, 0) == 8 && !memcmp(head, "LibxlFmt", 8));
    char *img = malloc((size_t)size);
    CHECK(img && pread(fd, img, (size_t)size, 0) == size);
    close(fd);
    CHECK_RC(libxl_domain_resume(ctx, src, 1, NULL), 0);

    /* Through a pipe: whole, truncated at several points, corrupt. */
    off_t cuts[] = { 0, 7, 16, 100, size / 2, size - 8, size };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]) + 2; i++) {
        off_t len = i < sizeof(cuts) / sizeof(cuts[0]) ? cuts[i] : size;
        int corrupt = i >= sizeof(cuts) / sizeof(cuts[0]);
        char *copy = malloc((size_t)size);
        memcpy(copy, img, (size_t)size);
        if (corrupt && i == sizeof(cuts) / sizeof(cuts[0]))
            copy[0] ^= 0x20;                      /* the ident */
        else if (corrupt)
            copy[size / 2] ^= 0x01;               /* somewhere in the pages */
        int p[2];
        CHECK(pipe2(p, O_CLOEXEC) == 0);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            ssize_t off = 0;
            while (off < len) {
                ssize_t w = write(p[1], copy + off, (size_t)(len - off));
                if (w <= 0)
                    _exit(0);
                off += w;
            }
            _exit(0);
        }
        close(p[1]);
        uint32_t dst = 0;
        int whole = len == size && !corrupt;
        int rc = restore(ctx, "s-copy", 16, p[0], &dst);
        close(p[0]);
        int status;
        CHECK(waitpid(pid, &status, 0) == pid);
        free(copy);
        if (whole) {
            CHECK_RC(rc, 0);
            CHECK(!strcmp(gstate(dst).boot_id, gstate(src).boot_id));
            CHECK_RC(libxl_domain_destroy(ctx, dst, NULL), 0);
        } else if (rc != ERROR_FAIL || dst != (uint32_t)INVALID_DOMID) {
            /* A corrupt byte in page padding that nobody reads may pass: only the
             * truncations and the ident must fail. */
            CHECK(corrupt && i > sizeof(cuts) / sizeof(cuts[0]) && rc == 0);
            CHECK_RC(libxl_domain_destroy(ctx, dst, NULL), 0);
        }
        CHECK_RC(xlsim_domain_count(), 2);
        CHECK(free_kb(ctx) == free0);
    }
    free(img);
    CHECK_RC(libxl_domain_destroy(ctx, src, NULL), 0);
}

/* ---- two hosts: the receiver is another process with its own state file ---- */

static int child_receive(int fd)
{
    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    t_reset();
    uint64_t free0 = free_kb(ctx);
    uint32_t dst = 0;
    CHECK_RC(restore(ctx, "mig--incoming", 32, fd, &dst), 0);
    CHECK(info(ctx, dst).paused);
    CHECK(free_kb(ctx) == free0 - 32 * 1024);
    /* "ready to unpause" (1 byte), wait for "go", commit, report the guest's state. */
    char c = 'r';
    CHECK(write(fd, &c, 1) == 1);
    CHECK(read(fd, &c, 1) == 1 && c == 'g');
    CHECK_RC(libxl_domain_rename(ctx, dst, "mig--incoming", "mig"), 0);
    CHECK_RC(libxl_domain_unpause(ctx, dst, NULL), 0);
    struct xlsim_guest_state g = gstate(dst);
    CHECK(write(fd, &g, sizeof(g)) == (ssize_t)sizeof(g));
    CHECK_RC(xlsim_domain_count(), 2);
    CHECK(info(ctx, dst).running);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    return 0;
}

static void test_two_hosts(libxl_ctx *ctx, const char *dir)
{
    uint32_t src = t_running(ctx, "mig", 32);
    t_sleep_ms(20);
    struct xlsim_guest_state before = gstate(src);
    uint64_t free0 = free_kb(ctx);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);   /* sv[1] inherited */
    char fdarg[16], state[300];
    snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
    snprintf(state, sizeof(state), "%s/dest.state", dir);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        setenv("XLSIM_STATE_FILE", state, 1);
        execl(self_path, self_path, "receive", fdarg, (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    CHECK_RC(libxl_domain_suspend(ctx, src, sv[0], LIBXL_SUSPEND_LIVE, NULL), 0);
    char c = 0;
    CHECK(read(sv[0], &c, 1) == 1 && c == 'r');
    CHECK(info(ctx, src).shutdown);
    CHECK(free_kb(ctx) == free0);                 /* the source still holds its copy */
    CHECK_RC(libxl_domain_rename(ctx, src, "mig", "mig--migratedaway"), 0);
    c = 'g';
    CHECK(write(sv[0], &c, 1) == 1);
    struct xlsim_guest_state after;
    CHECK(read(sv[0], &after, sizeof(after)) == (ssize_t)sizeof(after));
    CHECK_RC(libxl_domain_destroy(ctx, src, NULL), 0);
    CHECK(free_kb(ctx) == free0 + 32 * 1024);     /* freed only now */
    CHECK(!strcmp(after.boot_id, before.boot_id) && after.uptime_ns >= before.uptime_ns);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(sv[0]);
    char bell[320];
    snprintf(bell, sizeof(bell), "%s.bell", state);
    unlink(state);
    unlink(bell);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "receive"))
        return child_receive(atoi(argv[2]));
    if (argc != 1)
        return 2;
    signal(SIGPIPE, SIG_IGN);     /* a pipe's reader that gave up must not kill the writer */
    CHECK(realpath(argv[0], self_path) != NULL);
    char dir[] = "/tmp/xlsim-mig-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], bell[300];
    snprintf(path, sizeof(path), "%s/source.state", dir);
    snprintf(bell, sizeof(bell), "%s.bell", path);
    setenv("XLSIM_STATE_FILE", path, 1);

    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    t_reset();
    test_localhost(ctx);
    test_faults(ctx);
    test_streams(ctx);
    test_two_hosts(ctx, dir);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    unlink(path);
    unlink(bell);
    rmdir(dir);
    T_DONE();
}
