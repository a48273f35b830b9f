/* The SQLite store's group writer: see groupwriter.h. */
#include "groupwriter.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Prepared statements kept for reuse: a store writes a few dozen distinct statements. */
#define GW_CACHE 64

struct gw_job {
    char *data;
    size_t len;
    gw_result result;
    struct gw_job *next;
};

struct gw_cached {
    char *sql;
    uint32_t len;
    sqlite3_stmt *stmt;
};

struct gw_writer {
    sqlite3 *db;
    int efd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct gw_job *todo, *todo_tail;    /* handed over, not yet written */
    struct gw_job *done, *done_tail;    /* written (or failed), not yet taken */
    int stopping;
    int joined;
    int busy;                           /* a transaction is being written (by either thread) */
    struct gw_cached cache[GW_CACHE];
    unsigned int cache_next;            /* the entry replaced next when the cache is full */
};

static void gw_set_error(char *error, size_t error_len, const char *what, const char *detail)
{
    if (error != NULL && error_len > 0)
        snprintf(error, error_len, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

/* Append the list first..last to the queue head..tail (under the writer's mutex). */
static void gw_append(struct gw_job **head, struct gw_job **tail, struct gw_job *first,
                      struct gw_job *last)
{
    if (*tail != NULL)
        (*tail)->next = first;
    else
        *head = first;
    *tail = last;
}

static uint32_t gw_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The cached statement for this SQL, prepared if new; NULL with *rc set on failure. */
static sqlite3_stmt *gw_statement(gw_writer *w, const char *sql, uint32_t len, int *rc)
{
    for (unsigned int i = 0; i < GW_CACHE; i++) {
        struct gw_cached *c = &w->cache[i];
        if (c->stmt != NULL && c->len == len && memcmp(c->sql, sql, len) == 0)
            return c->stmt;
    }
    sqlite3_stmt *stmt = NULL;
    *rc = sqlite3_prepare_v3(w->db, sql, (int)len, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (*rc != SQLITE_OK)
        return NULL;
    char *copy = malloc(len ? len : 1);
    if (copy == NULL) {
        sqlite3_finalize(stmt);
        *rc = SQLITE_NOMEM;
        return NULL;
    }
    memcpy(copy, sql, len);
    struct gw_cached *slot = &w->cache[w->cache_next];
    w->cache_next = (w->cache_next + 1) % GW_CACHE;
    sqlite3_finalize(slot->stmt);
    free(slot->sql);
    slot->sql = copy;
    slot->len = len;
    slot->stmt = stmt;
    return stmt;
}

/* Run the statements of one hand-over; SQLITE_OK or the error (the transaction is rolled back
 * by the caller). A malformed buffer is SQLITE_MISUSE: the store never makes one. */
static int gw_run(gw_writer *w, const struct gw_job *job, const char **why)
{
    const unsigned char *p = (const unsigned char *)job->data;
    const unsigned char *end = p + job->len;
    while (p < end) {
        if ((size_t)(end - p) < 4)
            goto malformed;
        uint32_t sql_len = gw_u32(p);
        p += 4;
        if ((size_t)(end - p) < (size_t)sql_len + 4)
            goto malformed;
        const char *sql = (const char *)p;
        p += sql_len;
        uint32_t nargs = gw_u32(p);
        p += 4;
        int rc = SQLITE_OK;
        sqlite3_stmt *stmt = gw_statement(w, sql, sql_len, &rc);
        if (stmt == NULL)
            return rc;
        if ((int)nargs != sqlite3_bind_parameter_count(stmt)) {
            *why = "statement and arguments do not match";
            return SQLITE_MISUSE;
        }
        for (uint32_t i = 0; i < nargs; i++) {
            if ((size_t)(end - p) < 4)
                goto malformed_args;
            int32_t len;
            memcpy(&len, p, sizeof len);
            p += 4;
            if (len < 0) {
                rc = sqlite3_bind_null(stmt, (int)i + 1);
            } else {
                if ((size_t)(end - p) < (size_t)len)
                    goto malformed_args;
                /* the buffer outlives the step: no copy */
                rc = sqlite3_bind_text(stmt, (int)i + 1, (const char *)p, len, SQLITE_STATIC);
                p += len;
            }
            if (rc != SQLITE_OK) {
                sqlite3_clear_bindings(stmt);
                return rc;
            }
        }
        rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
            return rc;
        continue;
malformed_args:
        /* no cached statement keeps pointers into this buffer, which is freed */
        sqlite3_clear_bindings(stmt);
        goto malformed;
    }
    return SQLITE_OK;
malformed:
    *why = "malformed statement batch";
    return SQLITE_MISUSE;
}

/* One transaction of every job in the list: each gets the outcome. */
static void gw_transaction(gw_writer *w, struct gw_job *jobs)
{
    unsigned int batch = 0;
    for (struct gw_job *j = jobs; j != NULL; j = j->next)
        batch += j->result.commits;
    const char *why = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (struct gw_job *j = jobs; j != NULL && rc == SQLITE_OK; j = j->next)
        rc = gw_run(w, j, &why);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL);
    char message[sizeof jobs->result.message] = "";
    if (rc != SQLITE_OK) {
        /* SQLite's words before the rollback replaces them */
        snprintf(message, sizeof message, "%s", why ? why : sqlite3_errmsg(w->db));
        if (!sqlite3_get_autocommit(w->db))
            sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    for (struct gw_job *j = jobs; j != NULL; j = j->next) {
        j->result.batch = batch;
        j->result.code = rc;
        j->result.seconds = seconds;
        memcpy(j->result.message, message, sizeof message);
    }
}

static void *gw_main(void *arg)
{
    gw_writer *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while ((w->todo == NULL && !w->stopping) || w->busy)
            pthread_cond_wait(&w->cv, &w->mu);
        struct gw_job *jobs = w->todo, *last = w->todo_tail;
        w->todo = w->todo_tail = NULL;
        w->busy = jobs != NULL;
        pthread_mutex_unlock(&w->mu);
        if (jobs == NULL)
            return NULL;                    /* closing, and everything is written */
        gw_transaction(w, jobs);
        pthread_mutex_lock(&w->mu);
        w->busy = 0;
        gw_append(&w->done, &w->done_tail, jobs, last);
        pthread_mutex_unlock(&w->mu);
        uint64_t one = 1;
        while (write(w->efd, &one, sizeof one) < 0 && errno == EINTR)
            ;
    }
}

gw_writer *gw_open(const char *path, int busy_timeout_ms, char *error, size_t error_len)
{
    gw_writer *w = calloc(1, sizeof *w);
    if (w == NULL) {
        gw_set_error(error, error_len, "out of memory", NULL);
        return NULL;
    }
    w->efd = -1;
    int rc = sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        gw_set_error(error, error_len, "cannot open the database",
                     w->db ? sqlite3_errmsg(w->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(w->db, 1);
    sqlite3_busy_timeout(w->db, busy_timeout_ms);
    rc = sqlite3_exec(w->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        gw_set_error(error, error_len, "cannot set up the database", sqlite3_errmsg(w->db));
        goto fail;
    }
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) {
        gw_set_error(error, error_len, "eventfd", strerror(errno));
        goto fail;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    rc = pthread_create(&w->thread, NULL, gw_main, w);
    if (rc != 0) {
        gw_set_error(error, error_len, "cannot start the writer thread", strerror(rc));
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        goto fail;
    }
    pthread_setname_np(w->thread, "store-writer");  /* as top -H and /proc show it */
    return w;
fail:
    if (w->efd >= 0)
        close(w->efd);
    sqlite3_close_v2(w->db);
    free(w);
    return NULL;
}

int gw_fd(const gw_writer *w)
{
    return w->efd;
}

int gw_submit(gw_writer *w, const char *batch, size_t len, unsigned int commits)
{
    struct gw_job *job = calloc(1, sizeof *job);
    char *data = malloc(len ? len : 1);
    if (job == NULL || data == NULL) {
        free(job);
        free(data);
        return -1;
    }
    memcpy(data, batch, len);
    job->data = data;
    job->len = len;
    job->result.commits = commits;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        free(data);
        free(job);
        return -1;
    }
    gw_append(&w->todo, &w->todo_tail, job, job);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int gw_write_now(gw_writer *w, const char *batch, size_t len, gw_result *out)
{
    pthread_mutex_lock(&w->mu);
    if (w->stopping || w->busy || w->todo != NULL) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    w->busy = 1;
    pthread_mutex_unlock(&w->mu);
    /* the caller's buffer outlives the transaction: no copy */
    struct gw_job job = {.data = (char *)batch, .len = len, .result = {.commits = 1}};
    gw_transaction(w, &job);
    *out = job.result;
    pthread_mutex_lock(&w->mu);
    w->busy = 0;
    if (w->todo != NULL || w->stopping)
        pthread_cond_signal(&w->cv);        /* handed over meanwhile (another thread) */
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int gw_take(gw_writer *w, gw_result *out, int max)
{
    uint64_t count;
    while (read(w->efd, &count, sizeof count) < 0 && errno == EINTR)
        ;                                   /* EAGAIN: nothing signalled, look anyway */
    int n = 0;
    pthread_mutex_lock(&w->mu);
    while (n < max && w->done != NULL) {
        struct gw_job *job = w->done;
        w->done = job->next;
        if (w->done == NULL)
            w->done_tail = NULL;
        out[n++] = job->result;
        free(job->data);
        free(job);
    }
    pthread_mutex_unlock(&w->mu);
    return n;
}

void gw_stop(gw_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (!w->joined) {
        pthread_join(w->thread, NULL);
        w->joined = 1;
    }
}

void gw_close(gw_writer *w)
{
    gw_stop(w);
    for (struct gw_job *j = w->done; j != NULL;) {
        struct gw_job *next = j->next;
        free(j->data);
        free(j);
        j = next;
    }
    for (unsigned int i = 0; i < GW_CACHE; i++) {
        sqlite3_finalize(w->cache[i].stmt);
        free(w->cache[i].sql);
    }
    sqlite3_close_v2(w->db);
    close(w->efd);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
