/*
 * log.c: the xentoollog stdio logger (Xen 4.17's behaviour: optional date and
 * pid, "context: level: message[: strerror]"), the xtl_* helpers, and the
 * simulator's deferred logging: messages produced while the state lock is held
 * are kept per thread and emitted after it is released, so a caller's logger
 * (e.g. one that takes Python's GIL) never runs under the lock.
 */
#include "sim_internal.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

struct xentoollog_logger_stdiostream {
    xentoollog_logger vtable;
    FILE *f;
    xentoollog_level min_level;
    unsigned flags;
    int progress_erase_len;
    int progress_last_percent;
};

static const char *const level_names[XTL_NUM_LEVELS] = {
    [XTL_NONE] = "none", [XTL_DEBUG] = "debug", [XTL_VERBOSE] = "verbose",
    [XTL_DETAIL] = "detail", [XTL_PROGRESS] = "progress", [XTL_INFO] = "info",
    [XTL_NOTICE] = "notice", [XTL_WARN] = "warning", [XTL_ERROR] = "error",
    [XTL_CRITICAL] = "critical",
};

const char *xtl_level_to_string(xentoollog_level level)
{
    if ((int)level < 0 || level >= XTL_NUM_LEVELS)
        return "unknown";
    return level_names[level];
}

static void stdio_vmessage(xentoollog_logger *logger, xentoollog_level level, int errnoval,
                           const char *context, const char *format, va_list al)
    __attribute__((format(printf, 5, 0)));
static void stdio_vmessage(xentoollog_logger *logger, xentoollog_level level, int errnoval,
                           const char *context, const char *format, va_list al)
{
    xentoollog_logger_stdiostream *lg = (void *)logger;
    if (level < lg->min_level)
        return;
    flockfile(lg->f);
    if (lg->flags & XTL_STDIOSTREAM_SHOW_DATE) {
        char buf[64];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm);
        fprintf(lg->f, "%s ", buf);
    }
    if (lg->flags & XTL_STDIOSTREAM_SHOW_PID)
        fprintf(lg->f, "[%lu] ", (unsigned long)getpid());
    if (context)
        fprintf(lg->f, "%s: ", context);
    fprintf(lg->f, "%s: ", xtl_level_to_string(level));
    vfprintf(lg->f, format, al);
    if (errnoval >= 0)
        fprintf(lg->f, ": %s", strerror(errnoval));
    fputc('\n', lg->f);
    fflush(lg->f);
    funlockfile(lg->f);
}

static void stdio_progress(xentoollog_logger *logger, const char *context,
                           const char *doing_what, int percent, unsigned long done,
                           unsigned long total)
{
    xentoollog_logger_stdiostream *lg = (void *)logger;
    if (lg->flags & XTL_STDIOSTREAM_HIDE_PROGRESS || XTL_PROGRESS < lg->min_level)
        return;
    if (percent == lg->progress_last_percent && done && done != total)
        return;
    lg->progress_last_percent = percent;
    fprintf(lg->f, "%s%s%s: %s: %d%% (%lu/%lu)\n", context ? context : "",
            context ? ": " : "", "progress", doing_what, percent, done, total);
    fflush(lg->f);
}

static void stdio_destroy(xentoollog_logger *logger)
{
    free(logger);
}

xentoollog_logger_stdiostream *xtl_createlogger_stdiostream(FILE *f, xentoollog_level min_level,
                                                            unsigned flags)
{
    xentoollog_logger_stdiostream *lg = calloc(1, sizeof(*lg));
    if (!lg)
        return NULL;
    lg->vtable.vmessage = stdio_vmessage;
    lg->vtable.progress = stdio_progress;
    lg->vtable.destroy = stdio_destroy;
    lg->f = f;
    lg->min_level = min_level;
    lg->flags = flags;
    lg->progress_last_percent = -1;
    return lg;
}

void xtl_stdiostream_set_minlevel(xentoollog_logger_stdiostream *lg, xentoollog_level min_level)
{
    lg->min_level = min_level;
}

void xtl_stdiostream_adjust_flags(xentoollog_logger_stdiostream *lg, unsigned set_flags,
                                  unsigned clear_flags)
{
    lg->flags = (lg->flags & ~clear_flags) | set_flags;
}

void xtl_logger_destroy(struct xentoollog_logger *logger)
{
    if (logger && logger->destroy)
        logger->destroy(logger);
}

void xtl_logv(struct xentoollog_logger *logger, xentoollog_level level, int errnoval,
              const char *context, const char *format, va_list al)
{
    int saved = errno;
    if (logger && logger->vmessage)
        logger->vmessage(logger, level, errnoval, context, format, al);
    errno = saved;
}

void xtl_log(struct xentoollog_logger *logger, xentoollog_level level, int errnoval,
             const char *context, const char *format, ...)
{
    va_list al;
    va_start(al, format);
    xtl_logv(logger, level, errnoval, context, format, al);
    va_end(al);
}

void xtl_progress(struct xentoollog_logger *logger, const char *context,
                  const char *doing_what, unsigned long done, unsigned long total)
{
    int percent = 0;
    if (total)
        percent = (int)((done * 100.0) / total);
    if (logger && logger->progress)
        logger->progress(logger, context, doing_what, percent, done, total);
}

/* ---- deferred simulator messages ---- */

#define PENDING_MAX 8
static __thread struct {
    int n;
    struct {
        xentoollog_level level;
        int errnoval;
        char msg[320];
    } m[PENDING_MAX];
} pending;

void xlsim__log(xentoollog_level level, int errnoval, const char *fmt, ...)
{
    if (pending.n == PENDING_MAX)
        return;
    va_list al;
    va_start(al, fmt);
    pending.m[pending.n].level = level;
    pending.m[pending.n].errnoval = errnoval;
    vsnprintf(pending.m[pending.n].msg, sizeof(pending.m[0].msg), fmt, al);
    va_end(al);
    pending.n++;
}

void xlsim__flush(xentoollog_logger *lg, const char *context)
{
    int n = pending.n;
    pending.n = 0;
    for (int i = 0; i < n; i++)
        if (lg)
            xtl_log(lg, pending.m[i].level, pending.m[i].errnoval, context, "%s",
                    pending.m[i].msg);
}
