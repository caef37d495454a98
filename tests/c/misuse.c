/*
 * misuse - the API misuse matrix of imapmail: every way a C host can hold the API wrong must
 * give EMAIL_ERR_HANDLE / EMAIL_ERR_ARGUMENT / NULL / 0, never a crash, a hang or a leak.
 *
 *   NULL for every pointer parameter of every exported function; bogus pointers that were never
 *   handles (a local variable, a heap block, small integers); handles of the wrong type; double
 *   free and double close; use after close and after free; out-of-range indexes and unknown
 *   flags; malformed options; threads: 8 threads sharing one session, 8 sessions in parallel,
 *   a close racing with a call in progress, one message read and freed by 8 threads at once.
 *
 * The parts that need a session run against the test Dovecot (settings as in common.h); without
 * one the parts that need none still run, and the missing server is one failed check: the
 * matrix is never reported as passed without its server half.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

#define NTHREADS 8

static void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}


/* ------------------------------------------------------------------------------------------ */

static void test_static_functions(void)
{
    const char *v;
    section("functions without handles");
    v = email_version();
    CHECK(v != NULL && strcmp(v, "0.0.0") != 0 && strchr(v, '.') != NULL, "email_version is a version string");
    CHECK(email_version() == v, "email_version is static");
    CHECK(strcmp(email_status_name(EMAIL_OK), "EMAIL_OK") == 0, "email_status_name(EMAIL_OK)");
    CHECK(strcmp(email_status_name(EMAIL_OUT), "EMAIL_OUT") == 0, "email_status_name(EMAIL_OUT)");
    CHECK(strcmp(email_status_name(EMAIL_ERR_HANDLE), "EMAIL_ERR_HANDLE") == 0, "email_status_name(EMAIL_ERR_HANDLE)");
    CHECK(strcmp(email_status_name(EMAIL_ERR_TLS), "EMAIL_ERR_TLS") == 0, "email_status_name(EMAIL_ERR_TLS)");
    CHECK(strcmp(email_status_name(EMAIL_ERR_INTERNAL), "EMAIL_ERR_INTERNAL") == 0, "email_status_name(EMAIL_ERR_INTERNAL)");
    CHECK(strcmp(email_status_name(12345), "EMAIL_ERR_UNKNOWN") == 0, "email_status_name(unknown) -> EMAIL_ERR_UNKNOWN");
    CHECK(strcmp(email_status_name(INT32_MIN), "EMAIL_ERR_UNKNOWN") == 0, "email_status_name(INT32_MIN)");
    CHECK(email_last_error_message() != NULL, "email_last_error_message is never NULL");

    sweep_null_text();
}

static void test_start_arguments(void)
{
    EmailSession *s;
    const char *msg;
    section("email_start_session argument checks (no network needed)");

    s = email_start_session(NULL, 993, "user", "password", 0);
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "server NULL -> NULL, EMAIL_ERR_ARGUMENT");
    s = email_start_session("127.0.0.1", 993, NULL, "password", 0);
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "user NULL -> NULL, EMAIL_ERR_ARGUMENT");
    s = email_start_session("127.0.0.1", 993, "user", NULL, 0);
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "password NULL -> NULL, EMAIL_ERR_ARGUMENT");
    s = email_start_session(NULL, 0, NULL, NULL, 0);
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "all NULL -> NULL, EMAIL_ERR_ARGUMENT");
    s = email_start_session_ex(NULL, 993, "user", "password", 0, NULL);
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "_ex: server NULL -> EMAIL_ERR_ARGUMENT");
    s = email_start_session_ex("127.0.0.1", 993, NULL, "password", 0, "");
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "_ex: user NULL -> EMAIL_ERR_ARGUMENT");
    s = email_start_session_ex("127.0.0.1", 993, "user", NULL, 0, "");
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "_ex: password NULL -> EMAIL_ERR_ARGUMENT");
    s = email_start_session_ex(NULL, 0, NULL, NULL, 0, NULL);
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "_ex: all NULL -> EMAIL_ERR_ARGUMENT");

    s = email_start_session("127.0.0.1", 1, "user", "password", 0x1000);
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "unknown session flag -> EMAIL_ERR_ARGUMENT");
    s = email_start_session("127.0.0.1", 1, "user", "password", 3);
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "unknown security mode 3 -> EMAIL_ERR_ARGUMENT");
    s = email_start_session("", 1, "user", "password", EMAIL_SECURITY_NONE);
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "empty server -> EMAIL_ERR_ARGUMENT");
    s = email_start_session("\xff\xfe", 1, "user", "password", EMAIL_SECURITY_NONE);
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "server not UTF-8 -> EMAIL_ERR_ARGUMENT");
    s = email_start_session("127.0.0.1", 1, "us\r\ner", "password", EMAIL_SECURITY_NONE);
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "CR/LF in user -> EMAIL_ERR_ARGUMENT");
    s = email_start_session("127.0.0.1", 1, "user", "Pass\r\nLOGOUT-9f2c", EMAIL_SECURITY_NONE);
    msg = email_last_error_message();
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "CR/LF in password -> EMAIL_ERR_ARGUMENT");
    CHECK(strstr(msg, "LOGOUT-9f2c") == NULL && strstr(msg, "Pass") == NULL,
          "the password is not in the error message");

    s = email_start_session_ex("127.0.0.1", 1, "user", "password", EMAIL_SECURITY_NONE, "bogus_key=1");
    msg = email_last_error_message();
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "unknown option -> EMAIL_ERR_ARGUMENT");
    CHECK(strstr(msg, "bogus_key") != NULL, "the message names the unknown option");
    s = email_start_session_ex("127.0.0.1", 1, "user", "password", EMAIL_SECURITY_NONE, "timeout_ms=abc");
    msg = email_last_error_message();
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT && strstr(msg, "timeout_ms") != NULL,
          "bad timeout_ms -> EMAIL_ERR_ARGUMENT naming it");
    s = email_start_session_ex("127.0.0.1", 1, "user", "password", EMAIL_SECURITY_NONE, "timeout_ms=0");
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "timeout_ms=0 -> EMAIL_ERR_ARGUMENT");
    s = email_start_session_ex("127.0.0.1", 1, "user", "password", EMAIL_SECURITY_NONE, "folder=a\rb");
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "CR in folder -> EMAIL_ERR_ARGUMENT");
    s = email_start_session_ex("127.0.0.1", 1, "user", "password", EMAIL_SECURITY_NONE, "folder");
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "option without value -> EMAIL_ERR_ARGUMENT");
    s = email_start_session_ex("127.0.0.1", 1, "user", "password", EMAIL_SECURITY_NONE, "=x");
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "option without key -> EMAIL_ERR_ARGUMENT");
    s = email_start_session_ex("127.0.0.1", 1, "user", "password", EMAIL_SECURITY_NONE, "\xff=1");
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_ARGUMENT, "options not UTF-8 -> EMAIL_ERR_ARGUMENT");
}

static void test_invalid_handles_without_server(void)
{
    int local = 42;
    long heap_words[8];
    void *heap = malloc(64);
    char label[128];

    section("NULL handles");
    sweep_invalid_message(NULL, "NULL message");
    sweep_invalid_session(NULL, "NULL session");
    sweep_invalid_list(NULL, "NULL list");

    section("bogus pointers that were never handles");
    memset(heap_words, 0xA5, sizeof heap_words);
    sweep_invalid_message((const EmailMessage *)&local, "address of a local int as message");
    sweep_invalid_session((EmailSession *)&local, "address of a local int as session");
    sweep_invalid_list((EmailList *)&local, "address of a local int as list");
    sweep_invalid_message((const EmailMessage *)heap_words, "local array as message");
    if (heap != NULL) {
        memset(heap, 0xFF, 64);
        sweep_invalid_message((const EmailMessage *)heap, "malloc'd block as message");
        sweep_invalid_session((EmailSession *)heap, "malloc'd block as session");
        sweep_invalid_list((EmailList *)heap, "malloc'd block as list");
    }
    snprintf(label, sizeof label, "small integer 0x%x as message", 1);
    sweep_invalid_message((const EmailMessage *)(uintptr_t)1, label);
    sweep_invalid_session((EmailSession *)(uintptr_t)8, "small integer 0x8 as session");
    sweep_invalid_list((EmailList *)(uintptr_t)16, "small integer 0x10 as list");
    sweep_invalid_message((const EmailMessage *)(uintptr_t)UINTPTR_MAX, "all-ones pointer as message");
    sweep_invalid_session((EmailSession *)(uintptr_t)UINTPTR_MAX, "all-ones pointer as session");
    sweep_invalid_list((EmailList *)(uintptr_t)(UINTPTR_MAX - 7), "all-ones pointer as list");
    sweep_invalid_session((EmailSession *)(uintptr_t)email_version(), "static string as session");
    free(heap);
}

/* ------------------------------------------------------------------------------------------ */
/* With a server */

static void test_handles_with_server(void)
{
    EmailSession *s, *closed;
    EmailMessage *m = NULL, *m2 = NULL;
    EmailList *list = NULL;
    const EmailMessage *borrowed;
    size_t len, count;
    uint32_t uid;
    char dir[512];

    section("valid handles: out-of-range indexes, unknown flags and kinds");
    s = open_session(MODE_NONE, cfg.user_bulk);
    if (!check(s != NULL, "open a session (no TLS) as the bulk user", "%s (%s)", email_last_error_message(),
               email_status_name(email_last_error()))) {
        return;
    }
    CHECK_RC(email_read_first(s, EMAIL_READ_ALL, &m), EMAIL_OK, "email_read_first");
    if (m == NULL) {
        email_close_session(s);
        return;
    }
    CHECK(email_message_attachment_count(m) == 0, "a bulk message has no attachment");
    CHECK(email_attachment_name(m, 0) == NULL, "email_attachment_name(m, 0) with none -> NULL");
    CHECK(email_attachment_name(m, SIZE_MAX) == NULL, "email_attachment_name(m, SIZE_MAX) -> NULL");
    CHECK(email_attachment_content_type(m, 1) == NULL, "email_attachment_content_type out of range -> NULL");
    CHECK(email_attachment_content_id(m, 1) == NULL, "email_attachment_content_id out of range -> NULL");
    CHECK(email_attachment_is_inline(m, SIZE_MAX) == 0, "email_attachment_is_inline out of range -> 0");
    len = 99;
    CHECK(email_attachment_data(m, 0, &len) == NULL && len == 0, "email_attachment_data out of range -> NULL, len 0");
    CHECK(email_attachment_data(m, 5, NULL) == NULL, "email_attachment_data(m, 5, NULL) -> NULL");
    snprintf(dir, sizeof dir, "%s", cfg.tmpdir);
    CHECK_RC(email_attachment_save(m, 0, dir), EMAIL_ERR_ARGUMENT, "email_attachment_save out of range");
    CHECK_RC(email_attachment_save(m, SIZE_MAX, dir), EMAIL_ERR_ARGUMENT, "email_attachment_save(SIZE_MAX)");
    CHECK_RC(email_attachment_save(m, 0, NULL), EMAIL_ERR_ARGUMENT, "email_attachment_save(m, 0, NULL)");
    CHECK(email_message_keyword(m, SIZE_MAX) == NULL, "email_message_keyword(SIZE_MAX) -> NULL");
    CHECK(email_message_recipient_count(m, 99) == 0, "email_message_recipient_count(unknown kind) -> 0");
    CHECK(email_message_recipient_count(m, -1) == 0, "email_message_recipient_count(-1) -> 0");
    CHECK(email_message_recipient_address(m, 99, 0) == NULL, "email_message_recipient_address(unknown kind) -> NULL");
    CHECK(email_message_recipient_address(m, EMAIL_TO, SIZE_MAX) == NULL, "email_message_recipient_address(SIZE_MAX) -> NULL");
    CHECK(email_message_recipient_name(m, EMAIL_BCC, 1000) == NULL, "email_message_recipient_name out of range -> NULL");
    CHECK(email_message_recipient_name(m, INT32_MIN, 0) == NULL, "email_message_recipient_name(INT32_MIN kind) -> NULL");
    CHECK(email_message_header(m, NULL) == NULL, "email_message_header(m, NULL) -> NULL");
    CHECK(email_message_header(m, "X-Not-There-At-All") == NULL, "email_message_header(missing) -> NULL");
    CHECK(email_message_header(m, "\xff\xfe") == NULL, "email_message_header(not UTF-8) -> NULL");
    CHECK(email_message_header(m, "subject") != NULL, "email_message_header(\"subject\") -> found");
    CHECK(email_message_source(m, NULL) != NULL, "email_message_source(m, NULL) -> the bytes");
    CHECK(email_message_uid(m) != 0 && email_last_error() == EMAIL_OK, "accessors of a live message set EMAIL_OK");

    m2 = SENTINEL;
    CHECK_RC(email_read_first(s, 0x80, &m2), EMAIL_ERR_ARGUMENT, "email_read_first(unknown read flag)");
    CHECK(m2 == NULL, "... and *out = NULL");
    CHECK_RC(email_read_first(s, EMAIL_READ_ALL, NULL), EMAIL_ERR_ARGUMENT, "email_read_first(s, 0, NULL)");
    CHECK_RC(email_read_next(s, NULL), EMAIL_ERR_ARGUMENT, "email_read_next(s, NULL)");
    list = SENTINEL;
    CHECK_RC(email_get_all(s, 0xFFFFFFFFu, &list), EMAIL_ERR_ARGUMENT, "email_get_all(unknown read flags)");
    CHECK(list == NULL, "... and *out = NULL");
    CHECK_RC(email_get_all(s, EMAIL_READ_ALL, NULL), EMAIL_ERR_ARGUMENT, "email_get_all(s, 0, NULL)");
    CHECK(email_session_error_message(s) != NULL, "email_session_error_message of a live session is not NULL");

    CHECK_RC(email_message_load_body(s, (const EmailMessage *)(void *)s), EMAIL_ERR_HANDLE,
             "email_message_load_body(s, a session as message)");
    CHECK_RC(email_message_load_body((EmailSession *)(void *)m, m), EMAIL_ERR_HANDLE,
             "email_message_load_body(a message as session, m)");
    CHECK_RC(email_set_progress_callback((EmailSession *)(void *)m, NULL, NULL), EMAIL_ERR_HANDLE,
             "email_set_progress_callback(a message as session)");
    CHECK_RC(email_set_progress_callback(s, NULL, NULL), EMAIL_OK, "email_set_progress_callback(s, NULL, NULL)");
    CHECK_RC(email_set_trace_callback((EmailSession *)(void *)m, NULL, NULL), EMAIL_ERR_HANDLE,
             "email_set_trace_callback(a message as session)");
    CHECK_RC(email_set_trace_callback(s, NULL, NULL), EMAIL_OK, "email_set_trace_callback(s, NULL, NULL)");

    section("handles of the wrong type");
    CHECK_RC(email_close_session((EmailSession *)(void *)m), EMAIL_ERR_HANDLE, "a message closed as a session");
    sweep_invalid_list((EmailList *)(void *)m, "a message used as a list");
    CHECK(email_message_uid(m) != 0, "the message survived being freed as a list");
    sweep_invalid_message((const EmailMessage *)(void *)s, "a session used as a message");
    CHECK_RC(email_read_next(s, &m2), EMAIL_OK, "the session survived being freed as a message");
    email_message_free(m2);
    m2 = NULL;

    section("double free, use after free");
    uid = email_message_uid(m);
    email_message_free(m);
    prime_last_error();
    email_message_free(m);
    /* The header: freeing an already freed message: nothing happens (the last error included). */
    CHECK(email_last_error() == EMAIL_ERR_ARGUMENT, "email_message_free twice: the second does nothing");
    CHECK(email_message_uid(m) == 0 && last_is_handle(), "... the message is invalid after it");
    CHECK(email_session_error(s) == EMAIL_OK, "... and the session is unaffected");
    sweep_invalid_message(m, "a freed message");
    m = NULL;

    CHECK_RC(email_get_all(s, EMAIL_READ_HEADERS, &list), EMAIL_OK, "email_get_all");
    count = email_list_count(list);
    CHECK(count == BULK_COUNT, "email_list_count of the bulk folder");
    CHECK(email_list_get(list, count) == NULL, "email_list_get(count) -> NULL");
    CHECK(email_list_get(list, SIZE_MAX) == NULL, "email_list_get(SIZE_MAX) -> NULL");
    borrowed = email_list_get(list, 0);
    CHECK(borrowed != NULL && email_message_uid(borrowed) == uid, "email_list_get(0) is the first message");
    email_message_free((EmailMessage *)borrowed);
    CHECK(email_message_uid(borrowed) == uid, "email_message_free of a borrowed message does nothing");
    CHECK(email_list_get(list, 0) == borrowed, "... and the list still holds it");
    sweep_invalid_session((EmailSession *)list, "a list used as a session");
    sweep_invalid_message((const EmailMessage *)list, "a list used as a message");
    CHECK(email_list_count(list) == BULK_COUNT, "the list survived being freed as a message");
    email_list_free(list);
    prime_last_error();
    email_list_free(list);
    /* The header: freeing an already freed list: nothing happens (the last error included). */
    CHECK(email_last_error() == EMAIL_ERR_ARGUMENT, "email_list_free twice: the second does nothing");
    CHECK(email_session_error(s) == EMAIL_OK, "... and the session is unaffected");
    sweep_invalid_list(list, "a freed list");
    sweep_invalid_message(borrowed, "a message of a freed list");
    list = NULL;

    section("double close, use after close");
    closed = s;
    CHECK_RC(email_close_session(s), EMAIL_OK, "email_close_session");
    sweep_invalid_session(closed, "a closed session");
}

/* ---- 8 threads sharing one session ---- */

struct shared_arg {
    EmailSession *s;
    int index;
    int bad_rc, bad_out, bad_msg, last_error_bad;
    long messages;
    size_t all_count, unread_count;
    int32_t get_all_rc, get_unread_rc;
};

static int is_bulk_subject(const char *subject)
{
    return subject != NULL && strncmp(subject, "Bulk message ", 13) == 0;
}

static void *shared_worker(void *p)
{
    struct shared_arg *a = p;
    int round;
    for (round = 0; round < 2; round++) {
        uint32_t flags = round == 0 ? EMAIL_READ_ALL : EMAIL_READ_HEADERS;
        EmailMessage *m = SENTINEL;
        int32_t rc = email_read_first(a->s, flags, &m);
        while (rc == EMAIL_OK) {
            if (m == NULL || m == SENTINEL) {
                a->bad_out++;
                break;
            }
            if (!is_bulk_subject(email_message_subject(m)) || email_message_uid(m) == 0) {
                a->bad_msg++;
            }
            if (email_last_error() != EMAIL_OK) {
                a->last_error_bad++;
            }
            email_message_free(m);
            a->messages++;
            m = SENTINEL;
            rc = email_read_next(a->s, &m);
        }
        if (rc != EMAIL_OUT) {
            a->bad_rc++;
        } else if (m != NULL) {
            a->bad_out++;
        }
    }
    {
        EmailList *l = NULL;
        a->get_all_rc = email_get_all(a->s, a->index % 2 ? EMAIL_READ_HEADERS : EMAIL_READ_ALL, &l);
        a->all_count = email_list_count(l);
        email_list_free(l);
        l = NULL;
        a->get_unread_rc = email_get_all(a->s, EMAIL_READ_UNREAD | EMAIL_READ_HEADERS, &l);
        a->unread_count = email_list_count(l);
        email_list_free(l);
    }
    return NULL;
}

static void test_shared_session(void)
{
    pthread_t t[NTHREADS];
    struct shared_arg args[NTHREADS];
    EmailSession *s;
    int i, started = 0;
    char what[160];

    section("8 threads sharing one session");
    s = open_session(MODE_TLS, cfg.user_bulk);
    if (!check(s != NULL, "open the shared session", "%s", email_last_error_message())) {
        return;
    }
    memset(args, 0, sizeof args);
    for (i = 0; i < NTHREADS; i++) {
        args[i].s = s;
        args[i].index = i;
        if (pthread_create(&t[i], NULL, shared_worker, &args[i]) != 0) {
            break;
        }
        started++;
    }
    CHECK(started == NTHREADS, "8 threads started");
    for (i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
    }
    for (i = 0; i < started; i++) {
        struct shared_arg *a = &args[i];
        snprintf(what, sizeof what, "thread %d: every read_first/read_next gave EMAIL_OK or EMAIL_OUT", i);
        check(a->bad_rc == 0, what, "%d iteration(s) ended with an error", a->bad_rc);
        snprintf(what, sizeof what, "thread %d: *out set iff EMAIL_OK", i);
        check(a->bad_out == 0, what, "%d bad out value(s)", a->bad_out);
        snprintf(what, sizeof what, "thread %d: every message is a valid bulk message (%ld read)", i, a->messages);
        check(a->bad_msg == 0 && a->last_error_bad == 0 && a->messages > 0, what, "%d bad, %d with a last error",
              a->bad_msg, a->last_error_bad);
        snprintf(what, sizeof what, "thread %d: email_get_all gave the whole folder", i);
        check(a->get_all_rc == EMAIL_OK && a->all_count == BULK_COUNT, what, "rc %s, %lu messages",
              email_status_name(a->get_all_rc), (unsigned long)a->all_count);
        snprintf(what, sizeof what, "thread %d: email_get_all(UNREAD) gave the unread messages", i);
        check(a->get_unread_rc == EMAIL_OK && a->unread_count == BULK_UNREAD, what, "rc %s, %lu messages",
              email_status_name(a->get_unread_rc), (unsigned long)a->unread_count);
    }
    CHECK(email_session_error(s) == EMAIL_OK, "the shared session's last status is EMAIL_OK");
    CHECK_RC(email_close_session(s), EMAIL_OK, "close the shared session");
}

/* ---- 8 sessions in parallel ---- */

struct parallel_arg {
    int index;
    int opened, order_ok, count_ok, unread_ok, closed_ok, error_isolated;
    long read;
    char error[256];
};

static void *parallel_worker(void *p)
{
    struct parallel_arg *a = p;
    enum mode mode = (enum mode)(a->index % 3);
    EmailSession *s = open_session(mode, cfg.user_bulk);
    EmailMessage *m = NULL;
    EmailList *l = NULL;
    uint32_t last_uid = 0;
    int32_t rc;
    if (s == NULL) {
        snprintf(a->error, sizeof a->error, "%s: %s (%s)", mode_name(mode), email_last_error_message(),
                 email_status_name(email_last_error()));
        return NULL;
    }
    a->opened = 1;
    a->order_ok = 1;
    for (rc = email_read_first(s, a->index % 2 ? EMAIL_READ_HEADERS : EMAIL_READ_ALL, &m); rc == EMAIL_OK;
         rc = email_read_next(s, &m)) {
        uint32_t uid = email_message_uid(m);
        char want[48];
        snprintf(want, sizeof want, "Bulk message %03ld", a->read + 1);
        if (uid <= last_uid || (last_uid != 0 && uid != last_uid + 1) ||
            strncmp(email_message_subject(m), want, strlen(want)) != 0) {
            a->order_ok = 0;
        }
        last_uid = uid;
        a->read++;
        email_message_free(m);
        /* This thread's error state is its own: a failure here is not undone by the other
         * threads' successes. */
        if (a->read == 50) {
            (void)email_close_session(NULL);
            sleep_ms(1);
            a->error_isolated = email_last_error() == EMAIL_ERR_HANDLE;
        }
    }
    a->count_ok = rc == EMAIL_OUT && a->read == BULK_COUNT;
    if (rc != EMAIL_OUT) {
        snprintf(a->error, sizeof a->error, "iteration ended with %s: %s", email_status_name(rc),
                 email_last_error_message());
    }
    rc = email_get_all(s, EMAIL_READ_UNREAD, &l);
    a->unread_ok = rc == EMAIL_OK && email_list_count(l) == BULK_UNREAD;
    email_list_free(l);
    a->closed_ok = email_close_session(s) == EMAIL_OK;
    return NULL;
}

static void test_parallel_sessions(void)
{
    pthread_t t[NTHREADS];
    struct parallel_arg args[NTHREADS];
    int i, started = 0;
    char what[200];

    section("8 sessions in parallel (TLS, STARTTLS and NONE)");
    memset(args, 0, sizeof args);
    for (i = 0; i < NTHREADS; i++) {
        args[i].index = i;
        if (pthread_create(&t[i], NULL, parallel_worker, &args[i]) != 0) {
            break;
        }
        started++;
    }
    CHECK(started == NTHREADS, "8 threads started");
    for (i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
    }
    for (i = 0; i < started; i++) {
        struct parallel_arg *a = &args[i];
        const char *mode = mode_name((enum mode)(i % 3));
        snprintf(what, sizeof what, "session %d (%s): opened", i, mode);
        if (!check(a->opened, what, "%s", a->error)) {
            continue;
        }
        snprintf(what, sizeof what, "session %d (%s): %d messages in ascending UID order without gaps", i, mode,
                 BULK_COUNT);
        check(a->order_ok && a->count_ok, what, "read %ld, order %s; %s", a->read, a->order_ok ? "ok" : "wrong",
              a->error);
        snprintf(what, sizeof what, "session %d (%s): email_get_all(UNREAD) count", i, mode);
        check(a->unread_ok, what, NULL);
        snprintf(what, sizeof what, "session %d (%s): closed", i, mode);
        check(a->closed_ok, what, NULL);
        snprintf(what, sizeof what, "session %d (%s): its last error is its own", i, mode);
        check(a->error_isolated, what, NULL);
    }
}

/* ---- a close racing with a call in progress ---- */

struct race_arg {
    EmailSession *s;
    int calls_ok, calls_after_close, bad;
    volatile int stop;
    pthread_mutex_t lock;
    int closed;
};

static void *race_worker(void *p)
{
    struct race_arg *a = p;
    int i;
    for (i = 0; i < 200; i++) {
        EmailList *l = SENTINEL;
        int closed_before;
        int32_t rc;
        pthread_mutex_lock(&a->lock);
        closed_before = a->closed;
        pthread_mutex_unlock(&a->lock);
        rc = email_get_all(a->s, EMAIL_READ_HEADERS, &l);
        if (rc == EMAIL_OK) {
            if (closed_before || l == NULL || email_list_count(l) != BULK_COUNT) {
                a->bad++;
            }
            a->calls_ok++;
            email_list_free(l);
        } else if (rc == EMAIL_ERR_HANDLE && l == NULL) {
            a->calls_after_close++;
            if (a->calls_after_close >= 3) {
                break;
            }
        } else {
            a->bad++;
        }
    }
    return NULL;
}

static void test_close_race(void)
{
    pthread_t t;
    struct race_arg a;
    section("closing a session while another thread uses it");
    memset(&a, 0, sizeof a);
    pthread_mutex_init(&a.lock, NULL);
    a.s = open_session(MODE_STARTTLS, cfg.user_bulk);
    if (!check(a.s != NULL, "open a STARTTLS session", "%s", email_last_error_message())) {
        pthread_mutex_destroy(&a.lock);
        return;
    }
    if (!check(pthread_create(&t, NULL, race_worker, &a) == 0, "start the reading thread", NULL)) {
        email_close_session(a.s);
        pthread_mutex_destroy(&a.lock);
        return;
    }
    sleep_ms(50);
    CHECK_RC(email_close_session(a.s), EMAIL_OK, "email_close_session while a call may be running");
    pthread_mutex_lock(&a.lock);
    a.closed = 1;
    pthread_mutex_unlock(&a.lock);
    pthread_join(t, NULL);
    check(a.bad == 0, "every call gave a full list before the close, EMAIL_ERR_HANDLE after it", "%d bad", a.bad);
    check(a.calls_after_close >= 1, "calls after the close fail with EMAIL_ERR_HANDLE", "ok %d, after %d",
          a.calls_ok, a.calls_after_close);
    CHECK_RC(email_close_session(a.s), EMAIL_ERR_HANDLE, "closing it again");
    pthread_mutex_destroy(&a.lock);
}

/* ---- one message shared by 8 threads ---- */

struct reader_arg {
    const EmailMessage *m;
    const char *want_subject, *want_sender;
    uint32_t want_uid;
    int bad;
};

static void *reader_worker(void *p)
{
    struct reader_arg *a = p;
    int i;
    for (i = 0; i < 300; i++) {
        const char *subject = email_message_subject(a->m);
        const char *sender = email_message_sender(a->m);
        const char *date = email_message_date(a->m);
        const char *h = email_message_header(a->m, i % 2 ? "From" : "X-Bulk-Number");
        if (subject == NULL || strcmp(subject, a->want_subject) != 0 || sender == NULL ||
            strcmp(sender, a->want_sender) != 0 || date == NULL || h == NULL ||
            email_message_uid(a->m) != a->want_uid) {
            a->bad++;
        }
    }
    return NULL;
}

struct freer_arg {
    EmailMessage *m;
    uint32_t want_uid;
    int bad;
};

static void *freer_worker(void *p)
{
    struct freer_arg *a = p;
    int i;
    for (i = 0; i < 100; i++) {
        uint32_t uid = email_message_uid(a->m);
        if (uid != 0 && uid != a->want_uid) {
            a->bad++;
        }
        if (i == 50) {
            email_message_free(a->m);
        }
    }
    return NULL;
}

static void test_shared_message(void)
{
    pthread_t t[NTHREADS];
    struct reader_arg r[NTHREADS];
    struct freer_arg f[NTHREADS];
    EmailSession *s;
    EmailMessage *m = NULL;
    char subject[256], sender[256];
    int i, bad = 0, started = 0;

    section("one message read, then freed, by 8 threads at once");
    s = open_session(MODE_NONE, cfg.user_bulk);
    if (!check(s != NULL, "open a session without TLS", "%s", email_last_error_message())) {
        return;
    }
    CHECK_RC(email_read_first(s, EMAIL_READ_ALL, &m), EMAIL_OK, "read a message");
    CHECK_RC(email_close_session(s), EMAIL_OK, "close the session (the message outlives it)");
    if (m == NULL) {
        return;
    }
    snprintf(subject, sizeof subject, "%s", email_message_subject(m));
    snprintf(sender, sizeof sender, "%s", email_message_sender(m));
    for (i = 0; i < NTHREADS; i++) {
        r[i].m = m;
        r[i].want_subject = subject;
        r[i].want_sender = sender;
        r[i].want_uid = email_message_uid(m);
        r[i].bad = 0;
        if (pthread_create(&t[i], NULL, reader_worker, &r[i]) != 0) {
            break;
        }
        started++;
    }
    for (i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        bad += r[i].bad;
    }
    check(started == NTHREADS && bad == 0, "8 threads read the same message consistently", "%d bad reads", bad);

    started = 0;
    bad = 0;
    for (i = 0; i < NTHREADS; i++) {
        f[i].m = m;
        f[i].want_uid = r[0].want_uid;
        f[i].bad = 0;
        if (pthread_create(&t[i], NULL, freer_worker, &f[i]) != 0) {
            break;
        }
        started++;
    }
    for (i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        bad += f[i].bad;
    }
    check(started == NTHREADS && bad == 0, "8 threads freeing the same message at once: no crash, no garbage",
          "%d bad reads", bad);
    CHECK(email_message_uid(m) == 0 && email_last_error() == EMAIL_ERR_HANDLE, "the message is gone afterwards");
}

int main(int argc, char **argv)
{
    int have_server = load_settings(argc, argv);

    printf("# imapmail %s misuse matrix\n", email_version());
    test_static_functions();
    test_start_arguments();
    test_invalid_handles_without_server();
    if (have_server) {
        test_handles_with_server();
        test_shared_session();
        test_parallel_sessions();
        test_close_race();
        test_shared_message();
    } else {
        check(0, "a server to run the session, thread and use-after-close cases against",
              "set IMAP_PORT, IMAPS_PORT, CA_FILE and TEST_PASSWORD (environment or KEY=VALUE); "
              "those cases did not run");
    }
    return finish();
}
