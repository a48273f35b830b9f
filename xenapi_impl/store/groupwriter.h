/* The SQLite store's group writer (xenapi_impl/store/sqlite.py): a thread of its own, outside
 * Python, that writes the commits handed to it in SQLite transactions, every commit waiting
 * when it starts one in the same transaction (one fsync for all of them).
 *
 * Why in C: a Python writer thread needs the GIL to wake up, between its statements and to
 * answer, so it starts only when the event loop next lets the GIL go, and the loop waits for
 * it. This thread never takes the GIL: it starts a transaction as soon as it is handed one, and
 * says it is done through an eventfd the loop watches.
 *
 * A hand-over (gw_submit) is one buffer of one or more commits, each a run of statements:
 *   u32 sql_len, sql_len bytes of SQL, u32 nargs, then per argument i32 len and len bytes of
 *   UTF-8 text (len -1: NULL); integers little-endian, no alignment.
 * Its result (gw_take) comes back once its transaction committed or failed, in hand-over order.
 * This header is also the cffi declaration set of the module (xenapi_impl/store/_build_writer.py
 * reads it without its preprocessor lines).
 */
#ifndef XAPI_GROUPWRITER_H
#define XAPI_GROUPWRITER_H

#include <stddef.h>

typedef struct gw_writer gw_writer;

typedef struct gw_result {
    unsigned int commits;   /* the commits of this hand-over */
    unsigned int batch;     /* the commits of the transaction that held them */
    int code;               /* SQLite's extended result code: 0 when it committed */
    double seconds;         /* how long the transaction took */
    char message[256];      /* SQLite's words when it did not */
} gw_result;

/* Open the database file (which must exist, in WAL mode) for writing with synchronous=FULL and
 * start the thread; NULL with the reason in `error` if that failed. */
gw_writer *gw_open(const char *path, int busy_timeout_ms, char *error, size_t error_len);

/* The eventfd that becomes readable when results are waiting. */
int gw_fd(const gw_writer *w);

/* Hand over `commits` commits (copied): 0, or -1 if the writer is closing or out of memory. */
int gw_submit(gw_writer *w, const char *batch, size_t len, unsigned int commits);

/* Write one commit now, on the calling thread, with the writer's connection, if the writer is
 * idle (nothing handed over and not being written): 0 with its result in `out`; -1 if the
 * writer is busy or closing (then hand it over). A commit to an idle store written so saves
 * the two thread wake-ups of a hand-over, and the store keeps one connection for its writes. */
int gw_write_now(gw_writer *w, const char *batch, size_t len, gw_result *out);

/* Up to `max` results, oldest first; the number taken. */
int gw_take(gw_writer *w, gw_result *out, int max);

/* Write what was handed over, then stop the thread (blocks until then); results can still be
 * taken, nothing more handed over. Not to be called from two threads at once. */
void gw_stop(gw_writer *w);

/* Stop (if not yet), close the database and free the writer; results not taken are dropped. */
void gw_close(gw_writer *w);

#endif
