/* Threads and host code, against a live server (built with -fsanitize=address -pthread):
 *
 * 1. Stable error strings: several threads make failing calls on one session and read
 *    email_session_error_message while the others keep changing the session's last error;
 *    a string one thread was given is also read after another thread closed its session.
 *    Every string must stay readable and whole until this thread's next call of the function
 *    (ASan reports any use after free).
 * 2. Progress without callbacks: while a read is inside the host's progress callback (so the
 *    session is busy, its lock held), another thread polls email_session_progress and gets
 *    the callback's (done, total) at once. Had it waited for the session, this program would
 *    never end (the suite runs it under `timeout` as a hang detector). The callback runs on the
 *    thread that called email_get_all.
 * 3. Trace without callbacks: a session started with the trace_queue option gives its whole
 *    protocol, greeting and login included (credentials redacted), to email_session_trace_next
 *    called from another thread; a full queue says how many lines it dropped.
 *
 *   host_threads_test HOST PORT USER      (password in IMAPMAIL_PASSWORD; plain IMAP)
 *
 * Built with -DSTRINGS_ONLY it runs part 1 alone (it then also links against a library
 * without email_session_progress, to show part 1 fails on one that shares the string).
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imapmail.h"

#define THREADS 4
#define ROUNDS 300

static const char *host, *user, *password;
static uint16_t port;
static int failures;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void bad(const char *what, const char *detail)
{
    pthread_mutex_lock(&report_lock);
    fprintf(stderr, "host_threads_test: FAIL: %s: %s\n", what, detail);
    failures++;
    pthread_mutex_unlock(&report_lock);
}

static EmailSession *open_session(void)
{
    EmailSession *s = email_start_session_ex(host, port, user, password, EMAIL_SECURITY_NONE, "timeout_ms=30000");
    if (s == NULL) {
        fprintf(stderr, "host_threads_test: cannot connect: %s\n", email_last_error_message());
        exit(1);
    }
    return s;
}

/* ---- 1. error strings ------------------------------------------------------------------------- */

struct worker {
    EmailSession *s;
    int id;
};

static void *string_worker(void *arg)
{
    const struct worker *w = arg;
    char folder[64], copy[512];
    int i, k;
    for (i = 0; i < ROUNDS; i++) {
        const char *msg;
        size_t n;
        if (i % 5 == 4) {
            /* A success: the session's message becomes "". */
            if (email_count(w->s, 0) < 0) bad("email_count", email_last_error_message());
        } else {
            snprintf(folder, sizeof folder, "Missing-%d-%d", w->id, i);
            if (email_select_folder(w->s, folder, 1) != EMAIL_ERR_NOT_FOUND) bad("select of a missing folder", folder);
        }
        msg = email_session_error_message(w->s);
        /* Let the other threads finish calls on the session (each replaces its last error). */
        for (k = 0; k < 50; k++) sched_yield();
        n = strlen(msg);
        if (n >= sizeof copy) {
            bad("message too long", msg);
            continue;
        }
        memcpy(copy, msg, n + 1);
        if (n != 0 && strstr(copy, "Missing-") == NULL) bad("a message of another kind", copy);
        /* The string must not have changed under us either. */
        if (strcmp(copy, msg) != 0) bad("the message changed while this thread held it", copy);
    }
    return NULL;
}

static EmailSession *open_session_with(const char *options)
{
    EmailSession *s = email_start_session_ex(host, port, user, password, EMAIL_SECURITY_NONE, options);
    if (s == NULL) {
        fprintf(stderr, "host_threads_test: cannot connect: %s\n", email_last_error_message());
        exit(1);
    }
    return s;
}

static void *closer(void *arg)
{
    if (email_close_session(arg) != EMAIL_OK) bad("email_close_session", email_last_error_message());
    return NULL;
}

static void error_strings(void)
{
    pthread_t t[THREADS], c;
    struct worker w[THREADS];
    EmailSession *s = open_session(), *other = open_session();
    const char *msg;
    char before[512];
    int i;

    for (i = 0; i < THREADS; i++) {
        w[i].s = s;
        w[i].id = i;
        pthread_create(&t[i], NULL, string_worker, &w[i]);
    }
    for (i = 0; i < THREADS; i++) pthread_join(t[i], NULL);

    /* A string outlives the close of its session by another thread. */
    if (email_select_folder(other, "Missing-closed", 1) != EMAIL_ERR_NOT_FOUND) bad("select", "Missing-closed");
    msg = email_session_error_message(other);
    snprintf(before, sizeof before, "%s", msg);
    if (strstr(before, "Missing-closed") == NULL) bad("message of the closed session", before);
    pthread_create(&c, NULL, closer, other);
    pthread_join(c, NULL);
    if (strcmp(msg, before) != 0) bad("the message changed when another thread closed the session", msg);
    if (email_session_error(other) != EMAIL_ERR_HANDLE) bad("closed session", "email_session_error is not EMAIL_ERR_HANDLE");

    email_close_session(s);
    printf("host_threads_test: ok: %d threads x %d calls read stable error strings; one outlived its session's close\n",
           THREADS, ROUNDS);
}

/* ---- 2. progress polled while the session is busy ---------------------------------------------- */
#ifndef STRINGS_ONLY
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int inside;   /* the callback is running (session busy) */
    int released; /* the poller is done: the callback may return */
    pthread_t reader;
    int on_reader_thread;
    uint64_t seen_done, seen_total;
};

static int32_t progress_cb(uint64_t done, uint64_t total, void *user)
{
    struct gate *g = user;
    pthread_mutex_lock(&g->lock);
    if (!g->inside) {
        g->on_reader_thread = pthread_equal(pthread_self(), g->reader);
        g->seen_done = done;
        g->seen_total = total;
        g->inside = 1;
        pthread_cond_broadcast(&g->cond);
        while (!g->released) pthread_cond_wait(&g->cond, &g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    return 0;
}

struct read_job {
    EmailSession *s;
    intptr_t rc;
    size_t count;
};

static void *reader(void *arg)
{
    struct read_job *job = arg;
    EmailList *list = NULL;
    job->rc = email_get_all(job->s, EMAIL_READ_HEADERS, &list);
    job->count = email_list_count(list);
    email_list_free(list);
    return NULL;
}

static void progress_poll(void)
{
    struct gate g;
    struct read_job job;
    pthread_t t;
    uint64_t done = 99, total = 99;
    char detail[160];
    EmailSession *s = open_session();

    memset(&g, 0, sizeof g);
    pthread_mutex_init(&g.lock, NULL);
    pthread_cond_init(&g.cond, NULL);
    if (email_session_progress(s, &done, &total) != EMAIL_OK || done != 0 || total != 0) bad("progress before a read", "not (0, 0)");
    if (email_set_progress_callback(s, progress_cb, &g) != EMAIL_OK) bad("email_set_progress_callback", email_last_error_message());
    job.s = s;
    pthread_mutex_lock(&g.lock);
    pthread_create(&t, NULL, reader, &job);
    g.reader = t;
    while (!g.inside) pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);

    /* The reader is inside the callback, the session busy: polling must answer now. */
    if (email_session_progress(s, &done, &total) != EMAIL_OK) bad("email_session_progress during a read", email_last_error_message());
    snprintf(detail, sizeof detail, "polled (%llu, %llu), callback got (%llu, %llu)", (unsigned long long)done,
             (unsigned long long)total, (unsigned long long)g.seen_done, (unsigned long long)g.seen_total);
    if (done != g.seen_done || total != g.seen_total || done != 1 || total != 3) bad("progress during a read", detail);
    if (email_session_progress(s, NULL, NULL) != EMAIL_OK) bad("email_session_progress with NULL outputs", "not EMAIL_OK");

    pthread_mutex_lock(&g.lock);
    g.released = 1;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    pthread_join(t, NULL);
    if (!g.on_reader_thread) bad("progress callback", "did not run on the thread that called email_get_all");
    if (job.rc != EMAIL_OK || job.count != 3) bad("email_get_all", email_session_error_message(s));
    if (email_session_progress(s, &done, &total) != EMAIL_OK || done != 3 || total != 3) bad("progress after the read", "not (3, 3)");
    /* Without a callback the progress is still kept. */
    if (email_set_progress_callback(s, NULL, NULL) != EMAIL_OK) bad("removing the callback", email_last_error_message());
    {
        EmailMessage *m = NULL;
        if (email_read_first(s, EMAIL_READ_HEADERS, &m) != EMAIL_OK) bad("email_read_first", email_session_error_message(s));
        email_message_free(m);
        if (email_session_progress(s, &done, &total) != EMAIL_OK || done != 1 || total != 3) bad("progress of read_first", "not (1, 3)");
    }
    email_close_session(s);
    if (email_session_progress(s, &done, &total) != EMAIL_ERR_HANDLE || done != 0 || total != 0) bad("progress of a closed session", "not EMAIL_ERR_HANDLE with (0, 0)");
    printf("host_threads_test: ok: progress polled at once while the session was busy in its callback (%s)\n", detail);
}

/* ---- 3. queued trace ---------------------------------------------------------------------------- */
struct drain {
    EmailSession *s;
    int lines, greeting, login_redacted, select_seen, leaked, dropped_note;
    intptr_t last_rc;
};

static void *drainer(void *arg)
{
    struct drain *d = arg;
    char line[16400];
    intptr_t rc;
    while ((rc = email_session_trace_next(d->s, line, sizeof line)) == EMAIL_OK) {
        d->lines++;
        if (d->lines == 1 && strncmp(line, "S: * OK", 7) == 0) d->greeting = 1;
        if (strncmp(line, "C: ", 3) == 0 && (strstr(line, "AUTHENTICATE") != NULL || strstr(line, " LOGIN ") != NULL)
            && strstr(line, "<redacted>") != NULL)
            d->login_redacted = 1;
        if (strncmp(line, "C: ", 3) == 0 && strstr(line, "SELECT") != NULL) d->select_seen = 1;
        if (strstr(line, password) != NULL) d->leaked = 1;
        if (strncmp(line, "-- ", 3) == 0 && strstr(line, "dropped") != NULL) d->dropped_note = 1;
    }
    d->last_rc = rc;
    return NULL;
}

static void trace_queue(void)
{
    struct drain d;
    pthread_t t;
    int whole;
    char small[8];
    EmailSession *plain = open_session();
    EmailSession *s = open_session_with("timeout_ms=30000;trace_queue=1000");
    EmailSession *tiny = open_session_with("timeout_ms=30000;trace_queue=2");

    if (email_session_trace_next(plain, small, sizeof small) != EMAIL_ERR_ARGUMENT) bad("trace_next without trace_queue", "not EMAIL_ERR_ARGUMENT");
    if (email_session_trace_next(s, NULL, 10) != EMAIL_ERR_ARGUMENT) bad("trace_next with NULL buf", "not EMAIL_ERR_ARGUMENT");
    memset(&d, 0, sizeof d);
    d.s = s;
    pthread_create(&t, NULL, drainer, &d);
    pthread_join(t, NULL);
    if (d.last_rc != EMAIL_OUT) bad("draining the trace", "did not end with EMAIL_OUT");
    if (!d.greeting) bad("queued trace", "the first line is not the server's greeting");
    if (!d.login_redacted) bad("queued trace", "no redacted login line");
    if (!d.select_seen) bad("queued trace", "no SELECT");
    if (d.leaked) bad("queued trace", "the password appears in the trace");
    if (d.dropped_note) bad("queued trace", "lines dropped from a queue of 1000");
    whole = d.lines;
    /* A line cut to the buffer, NUL-terminated. */
    if (email_count(s, 0) < 0) bad("email_count", email_session_error_message(s));
    if (email_session_trace_next(s, small, sizeof small) != EMAIL_OK || strlen(small) != sizeof small - 1) bad("a line cut to 8 bytes", small);
    /* The small queue kept its first two lines, then says how many it dropped. */
    memset(&d, 0, sizeof d);
    d.s = tiny;
    drainer(&d);
    if (d.lines != 3 || !d.greeting || !d.dropped_note || d.last_rc != EMAIL_OUT) bad("trace_queue=2", "not greeting, one line, then a dropped-lines note");
    email_close_session(tiny);
    email_close_session(s);
    email_close_session(plain);
    if (email_session_trace_next(s, small, sizeof small) != EMAIL_ERR_HANDLE) bad("trace_next on a closed session", "not EMAIL_ERR_HANDLE");
    printf("host_threads_test: ok: queued trace of the login (%d lines) taken from another thread, credentials redacted\n", whole);
}
#endif

int main(int argc, char **argv)
{
    if (argc != 4 || getenv("IMAPMAIL_PASSWORD") == NULL) {
        fprintf(stderr, "usage: IMAPMAIL_PASSWORD=... host_threads_test HOST PORT USER\n");
        return 2;
    }
    host = argv[1];
    port = (uint16_t)atoi(argv[2]);
    user = argv[3];
    password = getenv("IMAPMAIL_PASSWORD");
    error_strings();
#ifndef STRINGS_ONLY
    progress_poll();
    trace_queue();
#endif
    if (failures != 0) {
        fprintf(stderr, "host_threads_test: %d failure(s)\n", failures);
        return 1;
    }
    return 0;
}
