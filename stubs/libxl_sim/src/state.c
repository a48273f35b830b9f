/*
 * state.c: the simulated hypervisor's state. One fixed-size struct per process,
 * in memory or (XLSIM_STATE_FILE) in a MAP_SHARED mapping of a file guarded by
 * a process-shared robust mutex, so that several processes see one host and
 * domains survive a toolstack restart. Time-driven behaviour (cpu time,
 * ballooning, a guest answering a shutdown request) is computed lazily from
 * CLOCK_REALTIME timestamps, so no process has to be running for it to happen.
 */
#include "sim_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct sim_state *xlsim__S;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;
static int bell_fd = -1;      /* written on every change (wakes other processes) */
static int bell_ifd = -1;     /* inotify on the bell */
static __thread int tl_changed;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static libxl_ctx *reg_head;
static char bell_path[4096];

/* A forked child must not use its parent's contexts (as libxl): forget them, and
 * watch the bell with an inotify instance of its own so that it does not drain
 * the parent's notifications. */
static libxl_ctx *volatile inherited_head;  /* the parent's, kept only so they stay reachable */

static void after_fork_child(void)
{
    pthread_mutex_init(&reg_lock, NULL);
    inherited_head = reg_head;
    reg_head = NULL;
    if (bell_ifd >= 0) {
        close(bell_ifd);
        bell_ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (bell_ifd >= 0 && inotify_add_watch(bell_ifd, bell_path, IN_MODIFY) < 0) {
            close(bell_ifd);
            bell_ifd = -1;
        }
    }
}

uint64_t xlsim__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void xlsim_host_config_default(xlsim_host_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->nr_cpus = 16;
    cfg->nr_nodes = 2;
    cfg->threads_per_core = 2;
    cfg->cpu_khz = 2400000;
    cfg->total_memkb = 64ULL * 1024 * 1024;
    cfg->dom0_memkb = 4ULL * 1024 * 1024;
    cfg->dom0_vcpus = 4;
    cfg->shutdown_delay_ms = 200;
    cfg->balloon_kb_per_s = 4U * 1024 * 1024;
    cfg->scheduler = LIBXL_SCHEDULER_CREDIT;
    cfg->shadow_paging = 1;
}

int xlsim__check_config(const xlsim_host_config *c)
{
    if (c->nr_cpus < 1 || c->nr_cpus > XLSIM_MAX_PCPUS) {
        LOG(ERROR, "nr_cpus %d out of range 1..%d", c->nr_cpus, XLSIM_MAX_PCPUS);
        return ERROR_INVAL;
    }
    if (c->nr_nodes < 1 || c->threads_per_core < 1 ||
        c->nr_cpus % (c->nr_nodes * c->threads_per_core)) {
        LOG(ERROR, "nr_cpus %d is not a multiple of nr_nodes %d x threads_per_core %d",
            c->nr_cpus, c->nr_nodes, c->threads_per_core);
        return ERROR_INVAL;
    }
    if (c->cpu_khz <= 0) {
        LOG(ERROR, "cpu_khz must be positive");
        return ERROR_INVAL;
    }
    if (c->dom0_memkb < XLSIM_MIN_DOM0_MEM || c->dom0_memkb > c->total_memkb) {
        LOG(ERROR, "dom0_memkb %llu must be within %d..total_memkb %llu",
            (unsigned long long)c->dom0_memkb, XLSIM_MIN_DOM0_MEM,
            (unsigned long long)c->total_memkb);
        return ERROR_INVAL;
    }
    if (c->dom0_vcpus < 1 || c->dom0_vcpus > XLSIM_MAX_VCPUS) {
        LOG(ERROR, "dom0_vcpus %d out of range 1..%d", c->dom0_vcpus, XLSIM_MAX_VCPUS);
        return ERROR_INVAL;
    }
    if (c->scheduler != LIBXL_SCHEDULER_CREDIT && c->scheduler != LIBXL_SCHEDULER_CREDIT2) {
        LOG(ERROR, "scheduler %d is neither credit (%d) nor credit2 (%d)", c->scheduler,
            LIBXL_SCHEDULER_CREDIT, LIBXL_SCHEDULER_CREDIT2);
        return ERROR_INVAL;
    }
    if (c->shadow_paging != 0 && c->shadow_paging != 1) {
        LOG(ERROR, "shadow_paging must be 0 or 1");
        return ERROR_INVAL;
    }
    if (c->balloon_kb_per_s == 0) {
        LOG(ERROR, "balloon_kb_per_s must be positive");
        return ERROR_INVAL;
    }
    return 0;
}

static void set_all_cpus(uint8_t *map, int nr_cpus)
{
    memset(map, 0, XLSIM_CPUMAP_BYTES);
    for (int i = 0; i < nr_cpus; i++)
        map[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* Lock held (or state not yet shared). Only dom0 remains. */
void xlsim__host_reset(const xlsim_host_config *cfg)
{
    struct sim_state *S = xlsim__S;
    uint64_t now = xlsim__now();

    S->cfg = *cfg;
    S->rover = 0;
    S->faults_armed = 0;
    memset(S->faults, 0, sizeof(S->faults));
    memset(S->live, 0, sizeof(S->live));
    for (int i = 0; i < XLSIM_NR_DOMIDS; i++)
        S->slot_of[i] = -1;
    for (int i = 0; i < XLSIM_SLOTS; i++) {
        if (S->dom[i].in_use)
            memset(&S->cold[i], 0, sizeof(S->cold[i]));
        S->dom[i].in_use = 0;
    }
    /* Free slots popped from the end: keep low slots first. */
    S->nfree = 0;
    for (int i = XLSIM_SLOTS - 1; i >= 1; i--)
        S->free_slots[S->nfree++] = (uint16_t)i;

    struct sim_dom *d = &S->dom[0];
    memset(d, 0, sizeof(*d));
    d->in_use = 1;
    d->domid = 0;
    d->serial = ++S->next_serial;
    d->type = LIBXL_DOMAIN_TYPE_PV;
    d->has_run = 1;
    snprintf(d->name, sizeof(d->name), "Domain-0");
    d->shutdown_reason = LIBXL_SHUTDOWN_REASON_UNKNOWN;
    d->pending_reason = -2;
    d->max_vcpus = d->online_vcpus = (uint32_t)cfg->dom0_vcpus;
    d->sched_weight = XLSIM_SCHED_WEIGHT;
    d->load_ppm = XLSIM_DEFAULT_LOAD_PPM;
    d->since_ns = d->mem_since_ns = now;
    d->mem_from_kb = d->target_kb = cfg->dom0_memkb;
    d->static_max_kb = cfg->dom0_memkb;
    d->max_kb = cfg->dom0_memkb;  /* as dom0_mem=X,max:X */
    d->shutdown_delay_ms = cfg->shutdown_delay_ms;
    struct sim_dom_cold *c = &S->cold[0];
    memset(c, 0, sizeof(*c));
    for (int v = 0; v < cfg->dom0_vcpus; v++) {
        c->vcpu[v].online = 1;
        set_all_cpus(c->vcpu[v].hard, cfg->nr_cpus);
        set_all_cpus(c->vcpu[v].soft, cfg->nr_cpus);
    }
    S->slot_of[0] = 0;
    S->live[0] |= 1;
    S->ndoms = 1;
    xlsim__cons_boot();
    xlsim__touch();
}

static int init_mutex(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    int r = pthread_mutexattr_init(&a);
    if (!r) r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (!r) r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (!r) r = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return r;
}

static void init_fresh(struct sim_state *S)
{
    xlsim_host_config cfg;
    memset(S, 0, offsetof(struct sim_state, slot_of));
    S->magic = XLSIM_STATE_MAGIC;
    S->version = XLSIM_STATE_VERSION;
    S->size_check = (uint32_t)sizeof(*S);
    init_mutex(&S->lock);
    xlsim_host_config_default(&cfg);
    xlsim__S = S;
    xlsim__host_reset(&cfg);
    tl_changed = 0;
}

static void do_init(void)
{
    const char *path = getenv("XLSIM_STATE_FILE");
    size_t sz = sizeof(struct sim_state);

    if (!path || !*path) {
        void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            LOG(CRITICAL, "cannot map the simulator state: %s", strerror(errno));
            init_rc = ERROR_FAIL;
            return;
        }
        init_fresh(p);
        return;
    }

    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        LOG(CRITICAL, "cannot open XLSIM_STATE_FILE %s: %s", path, strerror(errno));
        init_rc = ERROR_FAIL;
        return;
    }
    /* fcntl lock serialises the first-time initialisation between processes. */
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    while (fcntl(fd, F_SETLKW, &fl) < 0 && errno == EINTR)
        ;
    struct stat st;
    int fresh = 0;
    if (fstat(fd, &st) < 0)
        goto fail_errno;
    if (st.st_size == 0) {
        if (ftruncate(fd, (off_t)sz) < 0)
            goto fail_errno;
        fresh = 1;
    } else if ((size_t)st.st_size != sz) {
        LOG(CRITICAL, "XLSIM_STATE_FILE %s has size %lld, this simulator needs %zu "
            "(state from another version: remove the file)", path, (long long)st.st_size, sz);
        goto fail;
    }
    void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        goto fail_errno;
    struct sim_state *S = p;
    if (fresh) {
        init_fresh(S);
    } else if (S->magic != XLSIM_STATE_MAGIC || S->version != XLSIM_STATE_VERSION ||
               S->size_check != sz) {
        LOG(CRITICAL, "XLSIM_STATE_FILE %s is not a version %d simulator state "
            "(remove the file)", path, XLSIM_STATE_VERSION);
        munmap(p, sz);
        goto fail;
    }
    xlsim__S = S;
    fl.l_type = F_UNLCK;
    fcntl(fd, F_SETLK, &fl);
    close(fd);

    char *bell = bell_path;
    if (snprintf(bell_path, sizeof(bell_path), "%s.bell", path) < (int)sizeof(bell_path)) {
        bell_fd = open(bell, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        bell_ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (bell_fd < 0 || bell_ifd < 0 || inotify_add_watch(bell_ifd, bell, IN_MODIFY) < 0) {
            LOG(ERROR, "cannot watch %s, events from other processes will be late: %s",
                bell, strerror(errno));
        }
    }
    pthread_atfork(NULL, NULL, after_fork_child);
    return;

fail_errno:
    LOG(CRITICAL, "cannot set up XLSIM_STATE_FILE %s: %s", path, strerror(errno));
fail:
    close(fd);
    init_rc = ERROR_FAIL;
}

int xlsim__init(void)
{
    pthread_once(&init_once, do_init);
    return init_rc;
}

int xlsim__bell_fd(void)
{
    return bell_ifd;
}

void xlsim__lock(void)
{
    int r = pthread_mutex_lock(&xlsim__S->lock);
    if (r == EOWNERDEAD) {
        /* A process died holding the lock; its last change may be partial. */
        pthread_mutex_consistent(&xlsim__S->lock);
        LOG(WARN, "a process died while changing the simulator state; continuing");
    }
}

void xlsim__touch(void)
{
    xlsim__S->change_seq++;
    tl_changed = 1;
}

void xlsim__poke_all(void)
{
    uint64_t one = 1;
    pthread_mutex_lock(&reg_lock);
    for (libxl_ctx *c = reg_head; c; c = c->reg_next) {
        if (write(c->efd, &one, sizeof(one)) < 0) {
            /* EAGAIN only if the counter is saturated: already readable. */
        }
    }
    pthread_mutex_unlock(&reg_lock);
}

void xlsim__unlock(void)
{
    int changed = tl_changed;
    tl_changed = 0;
    pthread_mutex_unlock(&xlsim__S->lock);
    if (!changed)
        return;
    if (bell_fd >= 0 && pwrite(bell_fd, "!", 1, 0) < 0) {
        /* Nothing to do: other processes catch up on their next look. */
    }
    xlsim__poke_all();
}

void xlsim__drain(int fd)
{
    char buf[4096];
    if (fd < 0)
        return;
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

void xlsim__ctx_register(libxl_ctx *ctx)
{
    pthread_mutex_lock(&reg_lock);
    ctx->reg_next = reg_head;
    reg_head = ctx;
    pthread_mutex_unlock(&reg_lock);
}

void xlsim__ctx_unregister(libxl_ctx *ctx)
{
    pthread_mutex_lock(&reg_lock);
    for (libxl_ctx **pp = &reg_head; *pp; pp = &(*pp)->reg_next) {
        if (*pp == ctx) {
            *pp = ctx->reg_next;
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
}

/* ---- fault injection ---- */

int xlsim__fault(const char *function)
{
    struct sim_state *S = xlsim__S;
    if (!S->faults_armed)
        return 0;
    for (int i = 0; i < XLSIM_MAX_FAULTS; i++) {
        struct sim_fault *f = &S->faults[i];
        if (f->count > 0 && !strcmp(f->function, function)) {
            int rc = f->rc;
            if (--f->count == 0) {
                f->function[0] = 0;
                S->faults_armed--;
            }
            LOG(ERROR, "%s: injected failure (rc %d)", function, rc);
            return rc;
        }
    }
    return 0;
}

/* ---- domains ---- */

struct sim_dom *xlsim__dom(uint32_t domid)
{
    if (domid >= XLSIM_NR_DOMIDS)
        return NULL;
    int s = xlsim__S->slot_of[domid];
    return s < 0 ? NULL : &xlsim__S->dom[s];
}

int xlsim__accruing(const struct sim_dom *d)
{
    return d->pause_count == 0 && !d->shutdown;
}

static uint64_t per_vcpu_delta(const struct sim_dom *d, uint64_t t)
{
    if (!xlsim__accruing(d) || t <= d->since_ns)
        return 0;
    uint64_t ppm = d->load_ppm;
    /* A credit cap (percent of one pCPU for the whole domain) bounds each online vCPU. */
    if (d->sched_cap && d->online_vcpus) {
        uint64_t capped = (uint64_t)d->sched_cap * 10000u / d->online_vcpus;
        if (capped < ppm)
            ppm = capped;
    }
    unsigned __int128 x = (unsigned __int128)(t - d->since_ns) * ppm;
    return (uint64_t)(x / 1000000u);
}

void xlsim__accrue(struct sim_dom *d, uint64_t t)
{
    uint64_t delta = per_vcpu_delta(d, t);
    if (delta) {
        struct sim_dom_cold *c = xlsim__cold(d);
        for (uint32_t v = 0; v < d->max_vcpus; v++)
            if (c->vcpu[v].online)
                c->vcpu[v].base_ns += delta;
        d->cpu_base_ns += delta * d->online_vcpus;
    }
    if (xlsim__accruing(d) && t > d->since_ns)
        d->uptime_base_ns += t - d->since_ns;
    if (t > d->since_ns)
        d->since_ns = t;
}

uint64_t xlsim__uptime(const struct sim_dom *d, uint64_t now)
{
    uint64_t up = d->uptime_base_ns;
    if (xlsim__accruing(d) && now > d->since_ns)
        up += now - d->since_ns;
    return up;
}

uint64_t xlsim__cpu_time(const struct sim_dom *d, uint64_t now)
{
    return d->cpu_base_ns + per_vcpu_delta(d, now) * d->online_vcpus;
}

uint64_t xlsim__vcpu_time(const struct sim_dom *d, int v, uint64_t now)
{
    const struct sim_vcpu *vc = &xlsim__cold(d)->vcpu[v];
    return vc->base_ns + (vc->online ? per_vcpu_delta(d, now) : 0);
}

/* Ballooning: from mem_from_kb towards target_kb at balloon_kb_per_s since mem_since_ns. */
uint64_t xlsim__current_kb(const struct sim_dom *d, uint64_t now)
{
    if (d->mem_from_kb == d->target_kb)
        return d->target_kb;
    if (now <= d->mem_since_ns)
        return d->mem_from_kb;
    unsigned __int128 moved = (unsigned __int128)(now - d->mem_since_ns) *
                              xlsim__S->cfg.balloon_kb_per_s / 1000000000u;
    if (d->mem_from_kb < d->target_kb) {
        uint64_t gap = d->target_kb - d->mem_from_kb;
        return moved >= gap ? d->target_kb : d->mem_from_kb + (uint64_t)moved;
    }
    uint64_t gap = d->mem_from_kb - d->target_kb;
    return moved >= gap ? d->target_kb : d->mem_from_kb - (uint64_t)moved;
}

/* Memory a domain holds or may balloon up to: a create never fails later. */
uint64_t xlsim__reserved_kb(const struct sim_dom *d, uint64_t now)
{
    uint64_t cur = xlsim__current_kb(d, now);
    return cur > d->target_kb ? cur : d->target_kb;
}

uint64_t xlsim__free_kb(uint64_t now)
{
    struct sim_state *S = xlsim__S;
    uint64_t used = 0;
    for (int i = 0; i < XLSIM_SLOTS; i++)
        if (S->dom[i].in_use)
            used += xlsim__reserved_kb(&S->dom[i], now);
    return used >= S->cfg.total_memkb ? 0 : S->cfg.total_memkb - used;
}

void xlsim__guest_shutdown(struct sim_dom *d, int reason, uint64_t at)
{
    if (reason == LIBXL_SHUTDOWN_REASON_CRASH)
        xlsim__cons("domain_crash called for d%u: Domain %u (vcpu#0) crashed",
                    (unsigned)d->domid, (unsigned)d->domid);
    else
        xlsim__cons("d%u: shutdown code %d", (unsigned)d->domid, reason);
    xlsim__accrue(d, at);
    d->shutdown = 1;
    d->shutdown_reason = (int8_t)reason;
    d->pending_reason = -2;
    d->pending_due_ns = d->pending_left_ns = 0;
    xlsim__touch();
}

void xlsim__settle(struct sim_dom *d, uint64_t now)
{
    if (d->pending_reason != -2 && d->pending_due_ns && now >= d->pending_due_ns &&
        !d->shutdown)
        xlsim__guest_shutdown(d, d->pending_reason, d->pending_due_ns);
}

int xlsim__vcpu_cpu(const struct sim_dom *d, int v)
{
    const uint8_t *hard = xlsim__cold(d)->vcpu[v].hard;
    int nr = xlsim__S->cfg.nr_cpus, count = 0;
    for (int i = 0; i < nr; i++)
        if (hard[i / 8] & (1u << (i % 8)))
            count++;
    if (!count)
        return 0;
    /* Deterministic spread of vCPUs over their hard affinity. */
    int pick = (int)((d->domid * 7u + (unsigned)v) % (unsigned)count);
    for (int i = 0; i < nr; i++)
        if (hard[i / 8] & (1u << (i % 8)) && pick-- == 0)
            return i;
    return 0;
}

void xlsim__dominfo(const struct sim_dom *d, uint64_t now, libxl_dominfo *o)
{
    memset(o, 0, sizeof(*o));
    memcpy(o->uuid.uuid, d->uuid, 16);
    o->domid = d->domid;
    o->ssidref = d->ssidref;
    o->ssid_label = NULL;
    o->paused = d->pause_count > 0;
    o->shutdown = d->shutdown;
    o->running = !d->shutdown && !o->paused && d->load_ppm > 0;
    /* Real Xen: a domain paused before it ever ran is "--p---" (its vCPUs never
     * blocked), one paused after running is "-bp---". */
    o->blocked = !d->shutdown && !o->running && (!o->paused || d->has_run);
    o->dying = false;
    o->never_stop = false;
    o->shutdown_reason = d->shutdown ? (libxl_shutdown_reason)d->shutdown_reason
                                     : LIBXL_SHUTDOWN_REASON_UNKNOWN;
    o->current_memkb = xlsim__current_kb(d, now);
    o->max_memkb = d->max_kb;
    o->cpu_time = xlsim__cpu_time(d, now);
    o->vcpu_max_id = d->max_vcpus - 1;
    o->vcpu_online = d->online_vcpus;
    o->cpupool = d->cpupool;
    o->gpaddr_bits = 52;
    /* libxl derives it from XEN_DOMINF_hvm_guest: a PVH domain reads back as HVM. */
    o->domain_type = d->type == LIBXL_DOMAIN_TYPE_PV ? LIBXL_DOMAIN_TYPE_PV
                                                     : LIBXL_DOMAIN_TYPE_HVM;
}

void xlsim__free_domain(struct sim_dom *d)
{
    struct sim_state *S = xlsim__S;
    int slot = (int)(d - S->dom);
    xlsim__cons("d%u: domain destroyed", (unsigned)d->domid);
    xlsim__gtty_close(d->domid);
    S->slot_of[d->domid] = -1;
    S->live[d->domid / 64] &= ~(1ULL << (d->domid % 64));
    d->in_use = 0;
    memset(&S->cold[slot], 0, sizeof(S->cold[slot]));
    S->free_slots[S->nfree++] = (uint16_t)slot;
    S->ndoms--;
    xlsim__touch();
}
