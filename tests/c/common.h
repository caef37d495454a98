/*
 * Shared helpers of the C contract tests (api_test.c, misuse.c): check reporting, connection
 * settings, SHA-256, small file-system helpers.
 *
 * Output: one line per check, "ok N - what" or "FAIL N - what: detail", and at the end a line
 * "N passed, M failed" alone; the exit status is non-zero when a check failed.
 *
 * Settings come from the environment, and may be overridden by KEY=VALUE arguments:
 *   IMAP_HOST (127.0.0.1), IMAP_PORT (plain + STARTTLS), IMAPS_PORT (implicit TLS),
 *   CA_FILE (the test CA), TEST_PASSWORD (password of every test user),
 *   TEST_USER_BULK (bulk), TEST_USER_FLAGS (flagtest), TEST_USER_CORPUS (corpus),
 *   CORPUS_EXPECTED and HOSTILE_EXPECTED (expectations, see api_test.c), TEST_TMPDIR (/tmp).
 * The layout of the mailboxes is made by tests/c/run.sh (see there).
 */
#ifndef IMAPMAIL_TEST_COMMON_H
#define IMAPMAIL_TEST_COMMON_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imapmail.h"

/* ------------------------------------------------------------------------------------------ */
/* Checks */

static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static int checks_passed, checks_failed;

/* Records one check; prints "ok N - what" or "FAIL N - what: detail". Thread-safe. */
static inline int check(int cond, const char *what, const char *detail_fmt, ...)
{
    char detail[1024];
    detail[0] = '\0';
    if (!cond && detail_fmt != NULL) {
        va_list ap;
        va_start(ap, detail_fmt);
        vsnprintf(detail, sizeof detail, detail_fmt, ap);
        va_end(ap);
    }
    pthread_mutex_lock(&check_lock);
    if (cond) {
        checks_passed++;
        printf("ok %d - %s\n", checks_passed + checks_failed, what);
    } else {
        checks_failed++;
        printf("FAIL %d - %s%s%s\n", checks_passed + checks_failed, what, detail[0] ? ": " : "",
               detail);
    }
    fflush(stdout);
    pthread_mutex_unlock(&check_lock);
    return cond;
}

/* Shorthands. */
#define CHECK(cond, what) check((cond) != 0, (what), "condition `%s` is false (line %d)", #cond, __LINE__)
#define CHECK_RC(rc, want, what)                                                                \
    do {                                                                                        \
        int32_t rc_ = (rc), want_ = (want);                                                     \
        check(rc_ == want_, (what), "got %s (%d), want %s; last error: %s", email_status_name(rc_), \
              (int)rc_, email_status_name(want_), email_last_error_message());                  \
    } while (0)

static inline void section(const char *name)
{
    static struct timespec t0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (t0.tv_sec == 0 && t0.tv_nsec == 0) {
        t0 = now;
    }
    pthread_mutex_lock(&check_lock);
    printf("# %s (at %.1f s)\n", name,
           (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9);
    fflush(stdout);
    pthread_mutex_unlock(&check_lock);
}

static inline int finish(void)
{
    printf("%d passed, %d failed\n", checks_passed, checks_failed);
    fflush(stdout);
    return checks_failed == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Settings */

struct settings {
    const char *host;
    int imap_port, imaps_port;
    const char *ca_file, *password;
    const char *user_bulk, *user_flags, *user_corpus;
    const char *corpus_expected, *hostile_expected, *tmpdir;
};

static struct settings cfg;

static inline const char *setting(int argc, char **argv, const char *key, const char *fallback)
{
    size_t klen = strlen(key);
    const char *v = NULL;
    int i;
    for (i = 1; i < argc; i++) {
        if (strncmp(argv[i], key, klen) == 0 && argv[i][klen] == '=') {
            v = argv[i] + klen + 1;
        }
    }
    if (v == NULL) {
        v = getenv(key);
    }
    if (v == NULL || v[0] == '\0') {
        v = fallback;
    }
    return v;
}

/* Reads the settings; returns 1 when a server is configured (ports, CA and password). */
static inline int load_settings(int argc, char **argv)
{
    const char *p;
    cfg.host = setting(argc, argv, "IMAP_HOST", "127.0.0.1");
    p = setting(argc, argv, "IMAP_PORT", NULL);
    cfg.imap_port = p ? atoi(p) : 0;
    p = setting(argc, argv, "IMAPS_PORT", NULL);
    cfg.imaps_port = p ? atoi(p) : 0;
    cfg.ca_file = setting(argc, argv, "CA_FILE", NULL);
    cfg.password = setting(argc, argv, "TEST_PASSWORD", NULL);
    cfg.user_bulk = setting(argc, argv, "TEST_USER_BULK", "bulk");
    cfg.user_flags = setting(argc, argv, "TEST_USER_FLAGS", "flagtest");
    cfg.user_corpus = setting(argc, argv, "TEST_USER_CORPUS", "corpus");
    cfg.corpus_expected = setting(argc, argv, "CORPUS_EXPECTED", NULL);
    cfg.hostile_expected = setting(argc, argv, "HOSTILE_EXPECTED", NULL);
    cfg.tmpdir = setting(argc, argv, "TEST_TMPDIR", "/tmp");
    return cfg.imap_port > 0 && cfg.imaps_port > 0 && cfg.ca_file != NULL && cfg.password != NULL;
}

/* The layout made by run.sh. */
#define BULK_COUNT 200
#define BULK_UNREAD 150 /* message n (1-based) is seen when n % 4 == 0 */
#define FLAG_COUNT 6

enum mode { MODE_TLS, MODE_STARTTLS, MODE_NONE };

static inline const char *mode_name(enum mode m)
{
    return m == MODE_TLS ? "TLS" : m == MODE_STARTTLS ? "STARTTLS" : "NONE";
}

/* Appends "key=value;" escaping ';', '=' and '\'. */
static inline void add_option(char *buf, size_t size, const char *key, const char *value)
{
    size_t used = strlen(buf);
    const char *p;
    used += (size_t)snprintf(buf + used, size - used, "%s=", key);
    for (p = value; *p && used + 4 < size; p++) {
        if (*p == ';' || *p == '=' || *p == '\\') {
            buf[used++] = '\\';
        }
        buf[used++] = *p;
    }
    buf[used++] = ';';
    buf[used] = '\0';
}

/* Opens a session on the test server. with_ca: pass ca_file. folder may be NULL (INBOX). */
static inline EmailSession *open_session_ex(enum mode mode, int with_ca, uint32_t extra_flags, const char *user,
                                     const char *password, const char *folder)
{
    char options[4096];
    uint32_t flags = mode == MODE_TLS ? EMAIL_SECURITY_TLS
                     : mode == MODE_STARTTLS ? EMAIL_SECURITY_STARTTLS
                                             : EMAIL_SECURITY_NONE;
    uint16_t port = (uint16_t)(mode == MODE_TLS ? cfg.imaps_port : cfg.imap_port);
    options[0] = '\0';
    add_option(options, sizeof options, "timeout_ms", "30000");
    if (with_ca) {
        add_option(options, sizeof options, "ca_file", cfg.ca_file);
    }
    if (folder != NULL) {
        add_option(options, sizeof options, "folder", folder);
    }
    return email_start_session_ex(cfg.host, port, user, password, flags | extra_flags, options);
}

static inline EmailSession *open_session(enum mode mode, const char *user)
{
    return open_session_ex(mode, 1, 0, user, cfg.password, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Sweeps: every function of a handle type called with an invalid handle of that type. */

/* A pointer value that is never a handle, for out-parameters that must be reset to NULL. */
static int sentinel_storage;
#define SENTINEL ((void *)&sentinel_storage)

/* Makes this thread's last error something other than EMAIL_ERR_HANDLE and EMAIL_OK, so that a
 * following check proves the call under test set it. */
static inline void prime_last_error(void)
{
    EmailSession *s = email_start_session(NULL, 0, "u", "p", 0);
    if (s != NULL || email_last_error() != EMAIL_ERR_ARGUMENT) {
        check(0, "priming the last error with an argument error", "unexpected result %s",
              email_status_name(email_last_error()));
    }
}

static inline int last_is_handle(void)
{
    return email_last_error() == EMAIL_ERR_HANDLE;
}

/* Every message function with an invalid message handle. */
static inline void sweep_invalid_message(const EmailMessage *m, const char *label)
{
    char what[256];
    size_t len;
    int ok;

#define MSG_CHECK(expr_ok, name)                                                                   \
    do {                                                                                           \
        snprintf(what, sizeof what, "%s: %s", label, name);                                       \
        check((expr_ok), what, "wrong result or last error %s", email_status_name(email_last_error())); \
    } while (0)

    prime_last_error();
    MSG_CHECK(email_message_uid(m) == 0 && last_is_handle(), "email_message_uid -> 0, EMAIL_ERR_HANDLE");
    prime_last_error();
    MSG_CHECK(email_message_flags(m) == 0 && last_is_handle(), "email_message_flags -> 0");
    prime_last_error();
    MSG_CHECK(email_message_is_read(m) == 0 && last_is_handle(), "email_message_is_read -> 0");
    prime_last_error();
    MSG_CHECK(email_message_size(m) == 0 && last_is_handle(), "email_message_size -> 0");
    prime_last_error();
    MSG_CHECK(email_message_subject(m) == NULL && last_is_handle(), "email_message_subject -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_sender(m) == NULL && last_is_handle(), "email_message_sender -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_sender_address(m) == NULL && last_is_handle(), "email_message_sender_address -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_sender_name(m) == NULL && last_is_handle(), "email_message_sender_name -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_recipient_count(m, EMAIL_TO) == 0 && last_is_handle(), "email_message_recipient_count -> 0");
    prime_last_error();
    MSG_CHECK(email_message_recipient_address(m, EMAIL_TO, 0) == NULL && last_is_handle(),
              "email_message_recipient_address -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_recipient_name(m, EMAIL_CC, 0) == NULL && last_is_handle(),
              "email_message_recipient_name -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_date(m) == NULL && last_is_handle(), "email_message_date -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_timestamp(m) == 0 && last_is_handle(), "email_message_timestamp -> 0");
    prime_last_error();
    MSG_CHECK(email_message_message_id(m) == NULL && last_is_handle(), "email_message_message_id -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_header(m, "Subject") == NULL && email_last_error() != EMAIL_OK,
              "email_message_header(m, \"Subject\") -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_header(m, NULL) == NULL && email_last_error() != EMAIL_OK,
              "email_message_header(m, NULL) -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_text(m) == NULL && last_is_handle(), "email_message_text -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_html(m) == NULL && last_is_handle(), "email_message_html -> NULL");
    prime_last_error();
    len = 777;
    ok = email_message_source(m, &len) == NULL && len == 0 && last_is_handle();
    MSG_CHECK(ok, "email_message_source(m, &len) -> NULL, len 0");
    prime_last_error();
    MSG_CHECK(email_message_source(m, NULL) == NULL && last_is_handle(), "email_message_source(m, NULL) -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_error(m) == EMAIL_ERR_HANDLE, "email_message_error -> EMAIL_ERR_HANDLE");
    prime_last_error();
    MSG_CHECK(email_message_error_message(m) == NULL && last_is_handle(), "email_message_error_message -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_keyword_count(m) == 0 && last_is_handle(), "email_message_keyword_count -> 0");
    prime_last_error();
    MSG_CHECK(email_message_keyword(m, 0) == NULL && last_is_handle(), "email_message_keyword -> NULL");
    prime_last_error();
    MSG_CHECK(email_message_attachment_count(m) == 0 && last_is_handle(), "email_message_attachment_count -> 0");
    prime_last_error();
    MSG_CHECK(email_attachment_name(m, 0) == NULL && last_is_handle(), "email_attachment_name -> NULL");
    prime_last_error();
    MSG_CHECK(email_attachment_content_type(m, 0) == NULL && last_is_handle(), "email_attachment_content_type -> NULL");
    prime_last_error();
    MSG_CHECK(email_attachment_content_id(m, 0) == NULL && last_is_handle(), "email_attachment_content_id -> NULL");
    prime_last_error();
    MSG_CHECK(email_attachment_is_inline(m, 0) == 0 && last_is_handle(), "email_attachment_is_inline -> 0");
    prime_last_error();
    len = 777;
    ok = email_attachment_data(m, 0, &len) == NULL && len == 0 && last_is_handle();
    MSG_CHECK(ok, "email_attachment_data(m, 0, &len) -> NULL, len 0");
    prime_last_error();
    MSG_CHECK(email_attachment_data(m, 0, NULL) == NULL && last_is_handle(), "email_attachment_data(m, 0, NULL) -> NULL");
    MSG_CHECK(email_attachment_save(m, 0, cfg.tmpdir) == EMAIL_ERR_HANDLE && last_is_handle(),
              "email_attachment_save(m, 0, dir) -> EMAIL_ERR_HANDLE");
    MSG_CHECK(email_attachment_save(m, 0, NULL) < 0, "email_attachment_save(m, 0, NULL) -> an error");
    prime_last_error();
    MSG_CHECK(email_message_load_body(NULL, m) == EMAIL_ERR_HANDLE && last_is_handle(),
              "email_message_load_body(NULL, m) -> EMAIL_ERR_HANDLE");
    /* The header: email_message_free of a handle it does not own: nothing happens (the last
     * error included), and the handle stays as invalid as it was. */
    prime_last_error();
    email_message_free((EmailMessage *)m);
    MSG_CHECK(email_last_error() == EMAIL_ERR_ARGUMENT, "email_message_free does nothing");
    email_message_free((EmailMessage *)m);
    MSG_CHECK(email_last_error() == EMAIL_ERR_ARGUMENT, "email_message_free again does nothing");
    MSG_CHECK(email_message_uid(m) == 0 && last_is_handle(), "... and it is still invalid");
#undef MSG_CHECK
}

/* Every session function with an invalid session handle. */
static inline void sweep_invalid_session(EmailSession *s, const char *label)
{
    char what[256];
    void *out;
    const char *msg;

#define S_CHECK(expr_ok, name)                                                                     \
    do {                                                                                           \
        snprintf(what, sizeof what, "%s: %s", label, name);                                       \
        check((expr_ok), what, "wrong result or last error %s", email_status_name(email_last_error())); \
    } while (0)

    prime_last_error();
    out = SENTINEL;
    S_CHECK(email_read_first(s, EMAIL_READ_ALL, (EmailMessage **)&out) == EMAIL_ERR_HANDLE && out == NULL &&
                last_is_handle(),
            "email_read_first -> EMAIL_ERR_HANDLE, *out NULL");
    S_CHECK(email_read_first(s, EMAIL_READ_ALL, NULL) < 0, "email_read_first(s, 0, NULL) -> an error");
    prime_last_error();
    out = SENTINEL;
    S_CHECK(email_read_next(s, (EmailMessage **)&out) == EMAIL_ERR_HANDLE && out == NULL && last_is_handle(),
            "email_read_next -> EMAIL_ERR_HANDLE, *out NULL");
    S_CHECK(email_read_next(s, NULL) < 0, "email_read_next(s, NULL) -> an error");
    prime_last_error();
    out = SENTINEL;
    S_CHECK(email_get_all(s, EMAIL_READ_UNREAD, (EmailList **)&out) == EMAIL_ERR_HANDLE && out == NULL &&
                last_is_handle(),
            "email_get_all -> EMAIL_ERR_HANDLE, *out NULL");
    S_CHECK(email_get_all(s, EMAIL_READ_ALL, NULL) < 0, "email_get_all(s, 0, NULL) -> an error");
    prime_last_error();
    S_CHECK(email_set_progress_callback(s, NULL, NULL) == EMAIL_ERR_HANDLE && last_is_handle(),
            "email_set_progress_callback(s, NULL, NULL) -> EMAIL_ERR_HANDLE");
    prime_last_error();
    S_CHECK(email_set_trace_callback(s, NULL, NULL) == EMAIL_ERR_HANDLE && last_is_handle(),
            "email_set_trace_callback(s, NULL, NULL) -> EMAIL_ERR_HANDLE");
    prime_last_error();
    S_CHECK(email_message_load_body(s, NULL) == EMAIL_ERR_HANDLE && last_is_handle(),
            "email_message_load_body(s, NULL) -> EMAIL_ERR_HANDLE");
    S_CHECK(email_session_error(s) == EMAIL_ERR_HANDLE, "email_session_error -> EMAIL_ERR_HANDLE");
    msg = email_session_error_message(s);
    S_CHECK(msg != NULL, "email_session_error_message -> not NULL");
    prime_last_error();
    S_CHECK(email_close_session(s) == EMAIL_ERR_HANDLE && last_is_handle(), "email_close_session -> EMAIL_ERR_HANDLE");
    S_CHECK(email_close_session(s) == EMAIL_ERR_HANDLE, "email_close_session again -> EMAIL_ERR_HANDLE");
    S_CHECK(strlen(email_last_error_message()) > 0, "email_last_error_message describes the failure");
#undef S_CHECK
}

/* Every list function with an invalid list handle. */
static inline void sweep_invalid_list(EmailList *l, const char *label)
{
    char what[256];
    snprintf(what, sizeof what, "%s: email_list_count -> 0", label);
    check(email_list_count(l) == 0, what, NULL);
    snprintf(what, sizeof what, "%s: email_list_get(l, 0) -> NULL", label);
    check(email_list_get(l, 0) == NULL, what, NULL);
    snprintf(what, sizeof what, "%s: email_list_get(l, SIZE_MAX) -> NULL", label);
    check(email_list_get(l, SIZE_MAX) == NULL, what, NULL);
    prime_last_error();
    (void)email_list_get(l, 0);
    snprintf(what, sizeof what, "%s: email_list_get sets the last error to EMAIL_ERR_HANDLE", label);
    check(last_is_handle(), what, "last error is %s (header: functions returning a handle report "
          "failures through email_last_error)", email_status_name(email_last_error()));
    email_list_free(l);
    email_list_free(l);
    snprintf(what, sizeof what, "%s: email_list_free twice does not crash", label);
    check(1, what, NULL);
}

/* NULL for the pointer parameters of the text helpers (no handle involved). */
static inline void sweep_null_text(void)
{
    char buf8[8];
    uint16_t buf16[8];
    memset(buf8, 'x', sizeof buf8);
    memset(buf16, 0xAB, sizeof buf16);
    CHECK(email_copy_utf8(NULL, buf8, sizeof buf8) == 0 && email_last_error() == EMAIL_ERR_ARGUMENT &&
              buf8[0] == '\0',
          "email_copy_utf8(NULL, buf, n) -> 0, EMAIL_ERR_ARGUMENT, buf empty");
    CHECK(email_copy_utf8(NULL, NULL, 0) == 0 && email_last_error() == EMAIL_ERR_ARGUMENT,
          "email_copy_utf8(NULL, NULL, 0) -> 0, EMAIL_ERR_ARGUMENT");
    CHECK(email_copy_utf8("abc", NULL, 0) == 4, "email_copy_utf8(s, NULL, 0) -> the size needed");
    CHECK(email_copy_utf8("abc", NULL, 100) == 4, "email_copy_utf8(s, NULL, 100) -> the size, nothing written");
    CHECK(email_copy_utf16(NULL, buf16, 8) == 0 && email_last_error() == EMAIL_ERR_ARGUMENT && buf16[0] == 0,
          "email_copy_utf16(NULL, buf, n) -> 0, EMAIL_ERR_ARGUMENT, buf empty");
    CHECK(email_copy_utf16(NULL, NULL, 0) == 0 && email_last_error() == EMAIL_ERR_ARGUMENT,
          "email_copy_utf16(NULL, NULL, 0) -> 0, EMAIL_ERR_ARGUMENT");
    CHECK(email_copy_utf16("abc", NULL, 0) == 4, "email_copy_utf16(s, NULL, 0) -> the size needed");
    CHECK(email_copy_utf16("abc", NULL, 100) == 4, "email_copy_utf16(s, NULL, 100) -> the size, nothing written");
    memset(buf8, 'x', sizeof buf8);
    CHECK(email_copy_utf8("abcdef", buf8, 1) == 7 && buf8[0] == '\0' && buf8[1] == 'x',
          "email_copy_utf8 with capacity 1 writes only the NUL");
}

/* ------------------------------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4), to compare decoded attachments with the corpus expectations. */

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static inline void sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
    int i;
    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               (uint32_t)p[4 * i + 3];
    }
    for (i = 16; i < 64; i++) {
        uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
    for (i = 0; i < 64; i++) {
        t1 = hh + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
        t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

/* Hex SHA-256 of data into out (65 bytes). data may be NULL when len is 0. */
static inline void sha256_hex(const unsigned char *data, size_t len, char out[65])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    unsigned char block[64];
    size_t i, rest;
    uint64_t bits = (uint64_t)len * 8;
    for (i = 0; i + 64 <= len; i += 64) {
        sha256_block(h, data + i);
    }
    rest = len - i;
    memset(block, 0, sizeof block);
    if (rest > 0) {
        memcpy(block, data + i, rest);
    }
    block[rest] = 0x80;
    if (rest >= 56) {
        sha256_block(h, block);
        memset(block, 0, sizeof block);
    }
    for (i = 0; i < 8; i++) {
        block[63 - i] = (unsigned char)(bits >> (8 * i));
    }
    sha256_block(h, block);
    for (i = 0; i < 8; i++) {
        snprintf(out + 8 * i, 9, "%08x", (unsigned)h[i]);
    }
}

#endif /* IMAPMAIL_TEST_COMMON_H */
