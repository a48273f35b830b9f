/*
 * lifecycle.c: pause/unpause (counted, as Xen 4.17's controller pauses),
 * shutdown/reboot requests that the simulated guest answers after a delay,
 * suspend to an fd and resume.
 */
#include "sim_internal.h"

#include <stdio.h>
#include <unistd.h>

int libxl_domain_pause(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_domain_pause");
    if (!rc) {
        struct sim_dom *d = xlsim__dom(domid);
        uint64_t now = xlsim__now();
        if (!d || domid == 0) {
            LOGD(ERROR, domid, "Pausing domain: %s", d ? "cannot pause dom0" : "no such domain");
            rc = ERROR_FAIL;
        } else if (d->pause_count >= XLSIM_MAX_PAUSE) {
            LOGD(ERROR, domid, "Pausing domain: pause count at its limit %d (EOVERFLOW)",
                 XLSIM_MAX_PAUSE);
            rc = ERROR_FAIL;
        } else {
            xlsim__settle(d, now);
            xlsim__accrue(d, now);
            if (d->pause_count == 0 && d->pending_due_ns) {
                /* A paused guest cannot answer: freeze the rest of its delay. */
                d->pending_left_ns = d->pending_due_ns > now ? d->pending_due_ns - now : 0;
                d->pending_due_ns = 0;
            }
            d->pause_count++;
            xlsim__touch();
        }
    }
    xlsim__unlock_ctx(ctx);
    return xlsim__ao_start_failed(ctx, ao_how, domid, rc);
}

int libxl_domain_unpause(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
{
    xlsim__lock();
    int rc = xlsim__fault("libxl_domain_unpause");
    if (!rc) {
        struct sim_dom *d = xlsim__dom(domid);
        uint64_t now = xlsim__now();
        if (!d || domid == 0) {
            LOGD(ERROR, domid, "Unpausing domain: %s",
                 d ? "cannot unpause dom0" : "no such domain");
            rc = ERROR_FAIL;
        } else if (d->pause_count == 0) {
            LOGD(ERROR, domid, "Unpausing domain: not paused (EINVAL)");
            rc = ERROR_FAIL;
        } else {
            xlsim__accrue(d, now);
            d->pause_count--;
            if (d->pause_count == 0)
                d->has_run = 1;
            if (d->pause_count == 0 && d->pending_reason != -2 && !d->pending_due_ns)
                d->pending_due_ns = now + (d->pending_left_ns ? d->pending_left_ns : 1);
            xlsim__touch();
        }
    }
    xlsim__unlock_ctx(ctx);
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}

/* Ask the guest (libxl writes control/shutdown and waits for the guest to acknowledge
 * it, up to 60 s). A running guest acknowledges at once and shuts down after its
 * delay; a paused, shut down or deaf guest never acknowledges: ERROR_TIMEDOUT (the
 * simulator does not make the caller wait the 60 s), and a paused guest still acts
 * on the request once unpaused, as the xenstore node stays. */
static int request(libxl_ctx *ctx, uint32_t domid, int reason, const char *fn,
                   const libxl_asyncop_how *ao_how)
{
    int started = 0;
    xlsim__lock();
    int rc = xlsim__fault(fn);
    if (!rc) {
        struct sim_dom *d = xlsim__dom(domid);
        uint64_t now = xlsim__now();
        if (!d || domid == 0) {
            if (d)
                LOGD(ERROR, domid, "dom0 cannot be asked to shut down");
            else
                xlsim__log(XTL_ERROR, -1, "libxl__domain_type: unable to get domain type for "
                           "domid=%u", domid);
            rc = ERROR_FAIL;
        } else {
            started = 1;
            xlsim__settle(d, now);
            if (d->shutdown || d->ignore_shutdown || d->pause_count) {
                LOGD(ERROR, domid, "guest didn't acknowledge control request: %d",
                     ERROR_TIMEDOUT);
                rc = ERROR_TIMEDOUT;
            }
            if (!d->shutdown && !d->ignore_shutdown) {
                uint64_t delay = (uint64_t)d->shutdown_delay_ms * 1000000ULL;
                d->pending_reason = (int8_t)reason;
                if (d->pause_count) {
                    d->pending_due_ns = 0;
                    d->pending_left_ns = delay;
                } else {
                    d->pending_due_ns = now + (delay ? delay : 1);
                    d->pending_left_ns = 0;
                }
                if (!delay && !d->pause_count)
                    xlsim__guest_shutdown(d, reason, now);
                xlsim__touch();
            }
        }
    }
    xlsim__unlock_ctx(ctx);
    if (!started)
        return xlsim__ao_start_failed(ctx, ao_how, domid, rc);
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}

int libxl_domain_shutdown(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
{
    return request(ctx, domid, LIBXL_SHUTDOWN_REASON_POWEROFF, "libxl_domain_shutdown", ao_how);
}

int libxl_domain_reboot(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
{
    return request(ctx, domid, LIBXL_SHUTDOWN_REASON_REBOOT, "libxl_domain_reboot", ao_how);
}

/* Lock held: can this domain be suspended now? */
int xlsim__suspendable(struct sim_dom *d, uint32_t domid)
{
    if (!d || domid == 0) {
        LOGD(ERROR, domid, "%s", d ? "dom0 cannot be suspended" : "no such domain");
        return ERROR_FAIL;
    }
    if (d->shutdown) {
        LOGD(ERROR, domid, "domain is shut down (reason %d)", d->shutdown_reason);
        return ERROR_FAIL;
    }
    if (d->pause_count || d->ignore_shutdown) {
        LOGD(ERROR, domid, "guest did not suspend (%s)",
             d->pause_count ? "it is paused" : "it ignores control requests");
        return ERROR_GUEST_TIMEDOUT;
    }
    return 0;
}

int libxl_domain_suspend(libxl_ctx *ctx, uint32_t domid, int fd, int flags,
                         const libxl_asyncop_how *ao_how)
{
    uint64_t serial = 0;
    xlsim__lock();
    int rc = xlsim__fault("libxl_domain_suspend");
    if (!rc && !xlsim__dom(domid)) {
        xlsim__log(XTL_ERROR, -1, "libxl__domain_type: unable to get domain type for domid=%u",
                   domid);
        xlsim__unlock_ctx(ctx);
        return xlsim__ao_start_failed(ctx, ao_how, domid, ERROR_FAIL);
    }
    if (!rc) {
        struct sim_dom *d = xlsim__dom(domid);
        xlsim__settle(d, xlsim__now());
        rc = xlsim__suspendable(d, domid);
        serial = d->serial;
        if (!rc && (flags & LIBXL_SUSPEND_LIVE) && d->type == LIBXL_DOMAIN_TYPE_PV &&
            !xlsim__S->cfg.shadow_paging) {
            /* libxc's first step of a live save: log-dirty mode, which a PV guest gets
             * from shadow paging only; Xen answers EOPNOTSUPP, libxc reports EINVAL. */
            xlsim__log(XTL_ERROR, EINVAL, "Failed to enable logdirty: 95,22,0 (22 = Invalid "
                       "argument): Internal error");
            xlsim__log(XTL_ERROR, EINVAL, "Save failed (22 = Invalid argument): Internal error");
            LOGD(ERROR, domid, "saving domain: domain did not respond to suspend request: "
                 "Invalid argument");
            rc = ERROR_GUEST_TIMEDOUT;
        }
    }
    xlsim__unlock_ctx(ctx);
    /* The stream (stream.c) suspends the guest on the way: after the pre-copy rounds
     * with LIBXL_SUSPEND_LIVE, before the memory without. */
    if (!rc)
        rc = xlsim__save_stream(ctx, domid, serial, fd, !!(flags & LIBXL_SUSPEND_LIVE));
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}

int libxl_domain_resume(libxl_ctx *ctx, uint32_t domid, int suspend_cancel,
                        const libxl_asyncop_how *ao_how)
{
    (void)suspend_cancel;  /* simulated guests support co-operative resume */
    xlsim__lock();
    int rc = xlsim__fault("libxl_domain_resume");
    if (!rc) {
        struct sim_dom *d = xlsim__dom(domid);
        uint64_t now = xlsim__now();
        if (d)
            xlsim__settle(d, now);
        if (!d || domid == 0) {
            LOGD(ERROR, domid, "%s", d ? "dom0 cannot be resumed" : "no such domain");
            rc = ERROR_FAIL;
        } else if (!d->shutdown || d->shutdown_reason != LIBXL_SHUTDOWN_REASON_SUSPEND) {
            LOGD(ERROR, domid, "domain is not suspended");
            rc = ERROR_FAIL;
        } else {
            xlsim__accrue(d, now);
            d->shutdown = 0;
            d->shutdown_reason = LIBXL_SHUTDOWN_REASON_UNKNOWN;
            d->since_ns = now;
            d->guest_resumes++;
            xlsim__gcons(d, now, "PM: suspend cancelled, resumed");
            xlsim__touch();
        }
    }
    xlsim__unlock_ctx(ctx);
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}
