/* The SQLite store's group writer (xenapi_impl/store/groupwriter.c) driven from C, for the
 * sanitizers and valgrind (tests/xenapi/test_groupwriter_c.py): commits in order, a statement
 * error and a malformed hand-over roll their transaction back, a busy database, more distinct
 * statements than the cache holds, commits written now on the caller's thread (alone, refused
 * while the writer is busy, and racing another thread's hand-overs), and a close with results
 * never taken. Prints "ok". */
#include "groupwriter.h"

#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

struct buf {
    char data[65536];
    size_t len;
};

static void put(struct buf *b, const void *p, size_t n)
{
    CHECK(b->len + n <= sizeof b->data);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_u32(struct buf *b, uint32_t v)
{
    put(b, &v, sizeof v);
}

/* One statement: its SQL, then its arguments (NULL pointers are SQL NULLs). */
static void statement(struct buf *b, const char *sql, int nargs, const char *const *args)
{
    put_u32(b, (uint32_t)strlen(sql));
    put(b, sql, strlen(sql));
    put_u32(b, (uint32_t)nargs);
    for (int i = 0; i < nargs; i++) {
        if (args[i] == NULL) {
            int32_t null = -1;
            put(b, &null, sizeof null);
        } else {
            int32_t len = (int32_t)strlen(args[i]);
            put(b, &len, sizeof len);
            put(b, args[i], (size_t)len);
        }
    }
}

static void insert(struct buf *b, const char *k, const char *v)
{
    const char *args[] = {k, v};
    statement(b, "INSERT INTO t (k, v) VALUES (?, ?)", 2, args);
}

/* Wait for and take `want` results. */
static void take(gw_writer *w, gw_result *out, int want)
{
    int got = 0;
    while (got < want) {
        struct pollfd p = {.fd = gw_fd(w), .events = POLLIN};
        CHECK(poll(&p, 1, 10000) == 1);
        got += gw_take(w, out + got, want - got);
    }
}

static long count(sqlite3 *db, const char *where)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE %s", where);
    sqlite3_stmt *s;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(s) == SQLITE_ROW);
    long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

#define RACE 50          /* (at most the 64 results the harness takes at once) */

/* The other thread of the race: RACE hand-overs of one commit each. */
static void *hand_over(void *arg)
{
    gw_writer *w = arg;
    static struct buf theirs;
    for (int i = 0; i < RACE; i++) {
        theirs.len = 0;
        char k[32];
        snprintf(k, sizeof k, "theirs%d", i);
        insert(&theirs, k, "v");
        CHECK(gw_submit(w, theirs.data, theirs.len, 1) == 0);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *path = argv[1];
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)",
                       NULL, NULL, NULL) == SQLITE_OK);
    char error[256] = "";
    CHECK(gw_open("/nonexistent/dir/db", 100, error, sizeof error) == NULL);
    CHECK(strstr(error, "cannot open the database") != NULL);
    gw_writer *w = gw_open(path, 100, error, sizeof error);
    CHECK(w != NULL);
    static gw_result results[64];

    /* 10 hand-overs of 5 commits, answered in order, every commit written */
    static struct buf b;
    for (int h = 0; h < 10; h++) {
        b.len = 0;
        for (int c = 0; c < 5; c++) {
            char k[32];
            snprintf(k, sizeof k, "k%d", h * 5 + c);
            insert(&b, k, c % 2 ? NULL : "v");
        }
        CHECK(gw_submit(w, b.data, b.len, 5) == 0);
    }
    take(w, results, 10);
    for (int i = 0; i < 10; i++) {
        CHECK(results[i].code == SQLITE_OK && results[i].commits == 5);
        CHECK(results[i].batch >= 5 && results[i].batch % 5 == 0 && results[i].seconds >= 0);
    }
    CHECK(count(db, "1") == 50 && count(db, "v IS NULL") == 20);

    /* a statement error fails its whole transaction: nothing of it is written */
    b.len = 0;
    insert(&b, "fresh", "v");
    insert(&b, "k0", "duplicate");
    CHECK(gw_submit(w, b.data, b.len, 2) == 0);
    take(w, results, 1);
    CHECK(results[0].code == SQLITE_CONSTRAINT_PRIMARYKEY);
    CHECK(strstr(results[0].message, "UNIQUE constraint failed") != NULL);
    CHECK(count(db, "k = 'fresh'") == 0);

    /* a malformed hand-over (cut short) is refused, and the next one is written */
    b.len = 0;
    insert(&b, "cut", "v");
    CHECK(gw_submit(w, b.data, b.len - 3, 1) == 0);
    take(w, results, 1);
    CHECK(results[0].code == SQLITE_MISUSE);
    CHECK(strcmp(results[0].message, "malformed statement batch") == 0);
    b.len = 0;
    const char *one[] = {"x"};
    statement(&b, "INSERT INTO t (k) VALUES (?), (?)", 1, one);     /* 2 parameters, 1 given */
    CHECK(gw_submit(w, b.data, b.len, 1) == 0);
    take(w, results, 1);
    CHECK(results[0].code == SQLITE_MISUSE);

    /* another connection's write lock: SQLITE_BUSY once the timeout passes, then it writes */
    CHECK(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    b.len = 0;
    insert(&b, "after-busy", "v");
    CHECK(gw_submit(w, b.data, b.len, 1) == 0);
    take(w, results, 1);
    CHECK((results[0].code & 0xff) == SQLITE_BUSY);
    CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(gw_submit(w, b.data, b.len, 1) == 0);
    take(w, results, 1);
    CHECK(results[0].code == SQLITE_OK && count(db, "k = 'after-busy'") == 1);

    /* more distinct statements than the cache holds, twice over */
    for (int round = 0; round < 2; round++) {
        b.len = 0;
        for (int i = 0; i < 150; i++) {
            char sql[128], k[32];
            snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO t (k, v) VALUES (?, '%d')", i);
            snprintf(k, sizeof k, "c%d", i);
            const char *args[] = {k};
            statement(&b, sql, 1, args);
        }
        CHECK(gw_submit(w, b.data, b.len, 1) == 0);
        take(w, results, 1);
        CHECK(results[0].code == SQLITE_OK);
    }
    CHECK(count(db, "k LIKE 'c%'") == 150);

    /* a commit written now, on this thread, the writer being idle; then its failure */
    b.len = 0;
    insert(&b, "now", "v");
    gw_result now;
    CHECK(gw_write_now(w, b.data, b.len, &now) == 0);
    CHECK(now.code == SQLITE_OK && now.commits == 1 && now.batch == 1);
    CHECK(count(db, "k = 'now'") == 1);
    CHECK(gw_write_now(w, b.data, b.len, &now) == 0);
    CHECK(now.code == SQLITE_CONSTRAINT_PRIMARYKEY && strstr(now.message, "UNIQUE") != NULL);

    /* the writer busy with a hand-over (held by another connection's lock): refused */
    CHECK(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    b.len = 0;
    insert(&b, "handed", "v");
    CHECK(gw_submit(w, b.data, b.len, 1) == 0);
    static struct buf b2;
    insert(&b2, "not-now", "v");
    CHECK(gw_write_now(w, b2.data, b2.len, &now) == -1);
    CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    take(w, results, 1);                /* written, or busy if the lock outlasted the timeout */
    CHECK(results[0].code == SQLITE_OK || (results[0].code & 0xff) == SQLITE_BUSY);
    CHECK(count(db, "k = 'not-now'") == 0);

    /* commits written now while another thread hands over its own: each written once */
    pthread_t other;
    CHECK(pthread_create(&other, NULL, hand_over, w) == 0);
    for (int i = 0; i < RACE; i++) {
        static struct buf mine;
        mine.len = 0;
        char k[32];
        snprintf(k, sizeof k, "mine%d", i);
        insert(&mine, k, "v");
        while (gw_write_now(w, mine.data, mine.len, &now) != 0)
            ;                           /* the writer is busy: again */
        CHECK(now.code == SQLITE_OK);
    }
    CHECK(pthread_join(other, NULL) == 0);
    take(w, results, RACE);
    for (int i = 0; i < RACE; i++)
        CHECK(results[i].code == SQLITE_OK);
    CHECK(count(db, "k LIKE 'mine%'") == RACE && count(db, "k LIKE 'theirs%'") == RACE);

    /* handed over, never taken: written by the close, the results freed */
    for (int i = 0; i < 20; i++) {
        b.len = 0;
        char k[32];
        snprintf(k, sizeof k, "late%d", i);
        insert(&b, k, "v");
        CHECK(gw_submit(w, b.data, b.len, 1) == 0);
    }
    gw_stop(w);
    CHECK(gw_submit(w, b.data, b.len, 1) == -1);           /* stopped: refused */
    gw_close(w);
    CHECK(count(db, "k LIKE 'late%'") == 20);
    sqlite3_close(db);
    printf("ok\n");
    return 0;
}
