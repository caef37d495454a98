/*
 * api_test - the C contract of imapmail (include/imapmail.h) against a real Dovecot.
 *
 * Settings: see common.h (IMAP_PORT, IMAPS_PORT, CA_FILE, TEST_PASSWORD, CORPUS_EXPECTED, ...).
 * Mailboxes, as made by tests/c/run.sh:
 *   bulk      INBOX: 200 messages "Bulk message NNN" (NNN = 001..200, ascending UIDs), message n
 *             seen when n % 4 == 0 (150 unread); header X-Bulk-Number: n; body
 *             "This is bulk message NNN."
 *   flagtest  INBOX: 6 unread messages "Flag test N" (the \Seen tests change them)
 *   corpus    INBOX: the tests/corpus messages (*.eml) in name order (described by CORPUS_EXPECTED);
 *             "Odd;Name=1": the message with hostile attachment names (its attachments are
 *             described by HOSTILE_EXPECTED: "index<TAB>sha256<TAB>size" lines);
 *             "Dossier été/Sous-dossier": a copy of bulk message 001
 *
 * CORPUS_EXPECTED is a text file of tab-separated records, made by run.sh from
 * tests/corpus/expected.json; fields are escaped (\t, \n, \r, \\):
 *   message <file>                       starts the next message (corpus INBOX order)
 *   <key> <value>                        an expected string: subject, sender, sender_address,
 *                                        sender_name, date, message_id, text, html
 *   text_contains <value> / html_contains <value>
 *   attachments <count>
 *   attachment <i> <name> <content_type|-> <size> <sha256|-> <inline 0|1|->
 *   attachment_content_id <i> <content id>
 *   recipients <to|cc|bcc|reply_to> <count>;  <to|cc|bcc|reply_to> <i> <address> <name>
 *   header <name> <value>;  timestamp <unix seconds>
 *   decode_error <0|1>
 * Unknown keys are ignored (reported as "# note").
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define BULK_T0 1704067200L /* Mon, 01 Jan 2024 00:00:00 +0000 */

static int contains(const char *haystack, const char *needle)
{
    return haystack != NULL && needle != NULL && strstr(haystack, needle) != NULL;
}

static int streq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Whether needle occurs in the len bytes at hay. */
static int memmem_local(const uint8_t *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle), i;
    if (n == 0 || n > len) {
        return 0;
    }
    for (i = 0; i + n <= len; i++) {
        if (memcmp(hay + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char *show(const char *s)
{
    return s != NULL ? s : "(NULL)";
}

/* A printable copy of s (control characters as \xNN), in a static buffer. */
static const char *printable(const char *s)
{
    static char buf[1024];
    size_t n = 0;
    if (s == NULL) {
        return "(NULL)";
    }
    for (; *s && n + 5 < sizeof buf; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f) {
            n += (size_t)snprintf(buf + n, sizeof buf - n, "\\x%02x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n] = '\0';
    return buf;
}

/* ------------------------------------------------------------------------------------------ */

static void test_security_modes(void)
{
    static const enum mode modes[] = {MODE_TLS, MODE_STARTTLS, MODE_NONE};
    char what[200];
    size_t i;

    section("security modes");
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        EmailSession *s = open_session(modes[i], cfg.user_bulk);
        EmailMessage *m = NULL;
        snprintf(what, sizeof what, "%s with ca_file: session opens", mode_name(modes[i]));
        if (!check(s != NULL, what, "%s (%s)", email_last_error_message(), email_status_name(email_last_error()))) {
            continue;
        }
        CHECK(email_last_error() == EMAIL_OK && streq(email_last_error_message(), ""),
              "after a success, email_last_error is EMAIL_OK and the message is empty");
        CHECK(email_session_error(s) == EMAIL_OK && streq(email_session_error_message(s), ""),
              "a new session's last status is EMAIL_OK");
        snprintf(what, sizeof what, "%s: the first message is bulk message 001", mode_name(modes[i]));
        if (check(email_read_first(s, EMAIL_READ_ALL, &m) == EMAIL_OK && m != NULL, what, "%s",
                  email_last_error_message())) {
            check(streq(email_message_subject(m), "Bulk message 001"), what, "subject %s",
                  show(email_message_subject(m)));
        }
        email_message_free(m);
        snprintf(what, sizeof what, "%s: email_close_session", mode_name(modes[i]));
        CHECK_RC(email_close_session(s), EMAIL_OK, what);
    }

    {
        /* options NULL = none: a plain session on the plain port, no CA needed. */
        EmailSession *s = email_start_session_ex(cfg.host, (uint16_t)cfg.imap_port, cfg.user_bulk, cfg.password,
                                                 EMAIL_SECURITY_NONE, NULL);
        CHECK(s != NULL, "email_start_session_ex with options NULL");
        CHECK_RC(email_close_session(s), EMAIL_OK, "... closes");
        s = email_start_session(cfg.host, (uint16_t)cfg.imap_port, cfg.user_bulk, cfg.password, EMAIL_SECURITY_NONE);
        CHECK(s != NULL, "email_start_session (no options) in NONE mode");
        CHECK_RC(email_close_session(s), EMAIL_OK, "... closes");
    }
}

static void test_certificates(void)
{
    EmailSession *s;
    const char *msg;
    char path[512], opts[1024];
    FILE *f;

    section("certificate verification");
    s = open_session_ex(MODE_TLS, 0, 0, cfg.user_bulk, cfg.password, NULL);
    msg = email_last_error_message();
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_TLS, "TLS, test CA not given: EMAIL_ERR_TLS");
    check(contains(msg, "not trusted"), "... and the message says the certificate is not trusted", "message: %s",
          msg);
    CHECK(!contains(msg, cfg.password), "... and does not contain the password");
    email_close_session(s);

    s = open_session_ex(MODE_STARTTLS, 0, 0, cfg.user_bulk, cfg.password, NULL);
    msg = email_last_error_message();
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_TLS, "STARTTLS, test CA not given: EMAIL_ERR_TLS");
    check(contains(msg, "not trusted"), "... and the message says the certificate is not trusted", "message: %s",
          msg);
    email_close_session(s);

    s = open_session_ex(MODE_TLS, 0, EMAIL_ACCEPT_INVALID_CERTS, cfg.user_bulk, cfg.password, NULL);
    check(s != NULL, "TLS with EMAIL_ACCEPT_INVALID_CERTS and no CA: accepted", "%s", email_last_error_message());
    email_close_session(s);
    s = open_session_ex(MODE_STARTTLS, 0, EMAIL_ACCEPT_INVALID_CERTS, cfg.user_bulk, cfg.password, NULL);
    check(s != NULL, "STARTTLS with EMAIL_ACCEPT_INVALID_CERTS and no CA: accepted", "%s",
          email_last_error_message());
    email_close_session(s);

    snprintf(opts, sizeof opts, "ca_file=%s/imapmail-no-such-ca-%ld.pem", cfg.tmpdir, (long)getpid());
    s = email_start_session_ex(cfg.host, (uint16_t)cfg.imaps_port, cfg.user_bulk, cfg.password, EMAIL_SECURITY_TLS,
                               opts);
    CHECK(s == NULL && email_last_error() == EMAIL_ERR_IO, "a missing ca_file: EMAIL_ERR_IO");
    email_close_session(s);

    snprintf(path, sizeof path, "%s/imapmail-not-a-ca-%ld.pem", cfg.tmpdir, (long)getpid());
    f = fopen(path, "w");
    if (f != NULL) {
        fputs("this is not a certificate\n", f);
        fclose(f);
        snprintf(opts, sizeof opts, "ca_file=%s", path);
        s = email_start_session_ex(cfg.host, (uint16_t)cfg.imaps_port, cfg.user_bulk, cfg.password,
                                   EMAIL_SECURITY_TLS, opts);
        CHECK(s == NULL && email_last_error() < 0, "a ca_file without certificates is refused");
        email_close_session(s);
        remove(path);
    }

    s = email_start_session_ex(cfg.host, (uint16_t)cfg.imap_port, cfg.user_bulk, cfg.password, EMAIL_SECURITY_TLS,
                               "timeout_ms=5000");
    check(s == NULL && email_last_error() < 0, "implicit TLS to the plain port fails (no hang)", "%s",
          email_status_name(email_last_error()));
    email_close_session(s);

    s = email_start_session_ex(cfg.host, 1, cfg.user_bulk, cfg.password, EMAIL_SECURITY_NONE, "timeout_ms=5000");
    check(s == NULL && email_last_error() == EMAIL_ERR_CONNECT, "a closed port: EMAIL_ERR_CONNECT", "%s: %s",
          email_status_name(email_last_error()), email_last_error_message());
    email_close_session(s);
}

static void test_wrong_password(void)
{
    static const enum mode modes[] = {MODE_TLS, MODE_STARTTLS, MODE_NONE};
    const char *wrong = "Wr0ng-Secret-Pw-8d1e";
    char what[200];
    size_t i;

    section("wrong credentials");
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        EmailSession *s = open_session_ex(modes[i], 1, 0, cfg.user_bulk, wrong, NULL);
        const char *msg = email_last_error_message();
        snprintf(what, sizeof what, "%s, wrong password: NULL and EMAIL_ERR_AUTH", mode_name(modes[i]));
        check(s == NULL && email_last_error() == EMAIL_ERR_AUTH, what, "%s: %s",
              email_status_name(email_last_error()), msg);
        snprintf(what, sizeof what, "%s: the error message does not contain the password", mode_name(modes[i]));
        check(!contains(msg, wrong) && !contains(msg, "8d1e") && !contains(msg, cfg.password), what, "message: %s",
              msg);
        snprintf(what, sizeof what, "%s: the error message is not empty", mode_name(modes[i]));
        check(strlen(msg) > 0, what, NULL);
        email_close_session(s);
    }
    {
        EmailSession *s = open_session_ex(MODE_TLS, 1, 0, "no-such-user-4711", cfg.password, NULL);
        const char *msg = email_last_error_message();
        CHECK(s == NULL && email_last_error() == EMAIL_ERR_AUTH, "unknown user: EMAIL_ERR_AUTH");
        CHECK(!contains(msg, cfg.password), "... and the password is not in the message");
        email_close_session(s);
    }
}

static void test_folders(void)
{
    EmailSession *s;
    EmailMessage *m = NULL;
    const char *msg;

    section("folders (options string escaping, UTF-8 names)");
    s = open_session_ex(MODE_NONE, 1, 0, cfg.user_corpus, cfg.password, "Odd;Name=1");
    if (check(s != NULL, "folder \"Odd;Name=1\" (escaped \\; and \\=) opens", "%s", email_last_error_message())) {
        CHECK_RC(email_read_first(s, EMAIL_READ_HEADERS, &m), EMAIL_OK, "... and has a message");
        check(streq(email_message_subject(m), "Hostile attachment names"), "... the hostile message", "subject %s",
              show(email_message_subject(m)));
        email_message_free(m);
        m = NULL;
        CHECK_RC(email_read_next(s, &m), EMAIL_OUT, "... and only it");
        CHECK(m == NULL, "... *out = NULL with EMAIL_OUT");
        email_close_session(s);
    }
    s = open_session_ex(MODE_NONE, 1, 0, cfg.user_corpus, cfg.password, "Dossier été/Sous-dossier");
    if (check(s != NULL, "folder \"Dossier été/Sous-dossier\" (UTF-8, hierarchy) opens", "%s",
              email_last_error_message())) {
        CHECK_RC(email_read_first(s, EMAIL_READ_ALL, &m), EMAIL_OK, "... and has a message");
        check(streq(email_message_subject(m), "Bulk message 001"), "... bulk message 001", "subject %s",
              show(email_message_subject(m)));
        email_message_free(m);
        m = NULL;
        email_close_session(s);
    }
    s = open_session_ex(MODE_NONE, 1, 0, cfg.user_corpus, cfg.password, "No Such Folder 42");
    msg = email_last_error_message();
    check(s == NULL && email_last_error() == EMAIL_ERR_NOT_FOUND, "a missing folder: EMAIL_ERR_NOT_FOUND", "%s: %s",
          email_status_name(email_last_error()), msg);
    email_close_session(s);
}

/* ------------------------------------------------------------------------------------------ */

static void test_bulk_reading(void)
{
    EmailSession *s;
    EmailMessage *m = NULL, *first = NULL;
    EmailList *list = NULL;
    int32_t rc;
    long n = 0, gaps = 0, bad_subject = 0, bad_seen = 0, bad_fields = 0, bad_size = 0, bad_text = 0;
    uint32_t prev = 0, first_uid = 0, uid2 = 0, uid3 = 0;
    char want[128];
    size_t len;

    section("read_first / read_next over 200 messages");
    s = open_session(MODE_TLS, cfg.user_bulk);
    if (!check(s != NULL, "open the bulk mailbox", "%s", email_last_error_message())) {
        return;
    }
    m = SENTINEL;
    CHECK_RC(email_read_next(s, &m), EMAIL_OUT, "email_read_next before email_read_first: EMAIL_OUT");
    CHECK(m == NULL, "... with *out = NULL");

    for (rc = email_read_first(s, EMAIL_READ_ALL, &m); rc == EMAIL_OK; rc = email_read_next(s, &m)) {
        uint32_t uid = email_message_uid(m);
        const char *src;
        n++;
        if (n == 1) {
            first_uid = uid;
        } else if (uid != prev + 1) {
            gaps++;
        }
        prev = uid;
        snprintf(want, sizeof want, "Bulk message %03ld", n);
        if (!streq(email_message_subject(m), want)) {
            bad_subject++;
            if (bad_subject == 1) {
                printf("# message %ld: subject %s, want %s\n", n, show(email_message_subject(m)), want);
            }
        }
        if (email_message_is_read(m) != (n % 4 == 0) ||
            ((email_message_flags(m) & EMAIL_FLAG_SEEN) != 0) != (n % 4 == 0)) {
            bad_seen++;
        }
        snprintf(want, sizeof want, "bulk-%03ld@imapmail.test", n);
        if (!streq(email_message_sender(m), "Bulk Sender <bulk@example.com>") ||
            !streq(email_message_sender_address(m), "bulk@example.com") ||
            !streq(email_message_sender_name(m), "Bulk Sender") ||
            email_message_recipient_count(m, EMAIL_TO) != 1 ||
            !streq(email_message_recipient_address(m, EMAIL_TO, 0), "reader@example.com") ||
            !streq(email_message_recipient_name(m, EMAIL_TO, 0), "Bulk Reader") ||
            email_message_recipient_count(m, EMAIL_CC) != 0 || !streq(email_message_message_id(m), want) ||
            email_message_timestamp(m) != BULK_T0 + (n / 60) * 3600 + (n % 60) * 60 ||
            !contains(email_message_date(m), "Jan 2024") || email_message_error(m) != EMAIL_OK ||
            email_message_attachment_count(m) != 0) {
            bad_fields++;
            if (bad_fields == 1) {
                printf("# message %ld: sender %s, id %s, ts %lld, date %s\n", n, show(email_message_sender(m)),
                       show(email_message_message_id(m)), (long long)email_message_timestamp(m),
                       show(email_message_date(m)));
            }
        }
        snprintf(want, sizeof want, "<bulk-%03ld@imapmail.test>", n);
        if (!streq(email_message_header(m, "Message-ID"), want)) {
            bad_fields++;
        }
        snprintf(want, sizeof want, "%ld", n);
        if (!streq(email_message_header(m, "X-Bulk-Number"), want) ||
            !streq(email_message_header(m, "x-bulk-number"), want)) {
            bad_fields++;
        }
        snprintf(want, sizeof want, "This is bulk message %03ld.", n);
        if (!contains(email_message_text(m), want) || !streq(email_message_html(m), "")) {
            bad_text++;
        }
        src = (const char *)email_message_source(m, &len);
        if (src == NULL || len == 0 || email_message_size(m) != (uint64_t)len) {
            bad_size++;
        }
        email_message_free(m);
        m = NULL;
    }
    CHECK_RC(rc, EMAIL_OUT, "the iteration ends with EMAIL_OUT");
    CHECK(m == NULL, "... and *out = NULL");
    check(n == BULK_COUNT, "200 messages read", "%ld read", n);
    check(gaps == 0, "UIDs ascend without gaps", "%ld gap(s)", gaps);
    check(bad_subject == 0, "subjects in order 001..200", "%ld wrong", bad_subject);
    check(bad_seen == 0, "read flags as on the server (every 4th seen)", "%ld wrong", bad_seen);
    check(bad_fields == 0, "sender, recipients, date, timestamp, Message-ID, headers", "%ld wrong", bad_fields);
    check(bad_text == 0, "plain-text body decoded, no HTML", "%ld wrong", bad_text);
    check(bad_size == 0, "email_message_size equals the length of email_message_source", "%ld wrong", bad_size);
    m = SENTINEL;
    CHECK_RC(email_read_next(s, &m), EMAIL_OUT, "email_read_next after the end: EMAIL_OUT again");
    CHECK(m == NULL, "... and *out = NULL");

    section("unread only");
    n = 0;
    bad_seen = 0;
    gaps = 0;
    prev = 0;
    for (rc = email_read_first(s, EMAIL_READ_UNREAD, &m); rc == EMAIL_OK; rc = email_read_next(s, &m)) {
        uint32_t uid = email_message_uid(m);
        if (email_message_is_read(m) || uid <= prev) {
            bad_seen++;
        }
        prev = uid;
        n++;
        email_message_free(m);
    }
    CHECK_RC(rc, EMAIL_OUT, "the unread iteration ends with EMAIL_OUT");
    check(n == BULK_UNREAD, "150 unread messages", "%ld read", n);
    check(bad_seen == 0, "all unread, ascending UIDs", "%ld wrong", bad_seen);

    section("headers only");
    n = 0;
    bad_fields = 0;
    for (rc = email_read_first(s, EMAIL_READ_HEADERS, &m); rc == EMAIL_OK; rc = email_read_next(s, &m)) {
        const char *src = (const char *)email_message_source(m, &len);
        n++;
        snprintf(want, sizeof want, "Bulk message %03ld", n);
        if (!streq(email_message_text(m), "") || !streq(email_message_html(m), "") ||
            email_message_size(m) == 0 || !streq(email_message_subject(m), want) ||
            email_message_attachment_count(m) != 0 || src == NULL || len == 0 ||
            (uint64_t)len >= email_message_size(m) || !streq(email_message_sender_address(m), "bulk@example.com")) {
            bad_fields++;
            if (bad_fields == 1) {
                printf("# headers-only message %ld: text \"%s\", size %llu, source %lu bytes, subject %s\n", n,
                       show(email_message_text(m)), (unsigned long long)email_message_size(m), (unsigned long)len,
                       show(email_message_subject(m)));
            }
        }
        if (src != NULL && len > 0) {
            size_t i;
            for (i = 0; i + 20 <= len; i++) {
                if (memcmp(src + i, "This is bulk message", 20) == 0) {
                    bad_fields++;
                    break;
                }
            }
        }
        email_message_free(m);
    }
    CHECK_RC(rc, EMAIL_OUT, "the headers-only iteration ends with EMAIL_OUT");
    check(n == BULK_COUNT, "200 headers-only messages", "%ld", n);
    check(bad_fields == 0, "headers only: text empty, size > 0, subject set, no body in the source", "%ld wrong",
          bad_fields);

    section("restarting, and email_get_all during an iteration");
    CHECK_RC(email_read_first(s, EMAIL_READ_ALL, &first), EMAIL_OK, "email_read_first");
    CHECK_RC(email_read_next(s, &m), EMAIL_OK, "email_read_next");
    uid2 = email_message_uid(m);
    email_message_free(m);
    email_message_free(first);
    CHECK_RC(email_read_first(s, EMAIL_READ_ALL, &first), EMAIL_OK, "email_read_first again");
    CHECK(email_message_uid(first) == first_uid, "... restarts at the first message");
    CHECK_RC(email_read_next(s, &m), EMAIL_OK, "email_read_next");
    CHECK(email_message_uid(m) == uid2, "... gives the second message");
    email_message_free(m);
    m = NULL;
    CHECK_RC(email_get_all(s, EMAIL_READ_ALL, &list), EMAIL_OK, "email_get_all in the middle of an iteration");
    check(email_list_count(list) == BULK_COUNT, "email_list_count is 200", "%lu",
          (unsigned long)email_list_count(list));
    CHECK(email_list_get(list, 0) != NULL && email_message_uid(email_list_get(list, 0)) == first_uid,
          "email_list_get(0) is the first message");
    CHECK(email_list_get(list, BULK_COUNT - 1) != NULL &&
              streq(email_message_subject(email_list_get(list, BULK_COUNT - 1)), "Bulk message 200"),
          "email_list_get(199) is the last message");
    CHECK(email_list_get(list, BULK_COUNT) == NULL, "email_list_get(200) is NULL");
    CHECK(email_list_get(list, SIZE_MAX) == NULL, "email_list_get(SIZE_MAX) is NULL");
    {
        size_t i;
        long bad = 0;
        for (i = 0; i < email_list_count(list); i++) {
            const EmailMessage *lm = email_list_get(list, i);
            snprintf(want, sizeof want, "Bulk message %03lu", (unsigned long)(i + 1));
            if (!streq(email_message_subject(lm), want) || email_message_uid(lm) != first_uid + i) {
                bad++;
            }
        }
        check(bad == 0, "the list is in ascending UID order", "%ld wrong", bad);
    }
    email_list_free(list);
    list = NULL;
    CHECK_RC(email_read_next(s, &m), EMAIL_OK, "email_read_next after email_get_all");
    uid3 = email_message_uid(m);
    CHECK(uid3 == uid2 + 1, "... continues the iteration with the third message");
    email_message_free(m);
    m = NULL;

    CHECK_RC(email_get_all(s, EMAIL_READ_UNREAD, &list), EMAIL_OK, "email_get_all(EMAIL_READ_UNREAD)");
    check(email_list_count(list) == BULK_UNREAD, "150 unread in the list", "%lu",
          (unsigned long)email_list_count(list));
    CHECK(email_list_get(list, BULK_UNREAD) == NULL, "email_list_get(count) is NULL");
    email_list_free(list);
    list = NULL;
    CHECK_RC(email_get_all(s, EMAIL_READ_UNREAD | EMAIL_READ_HEADERS, &list), EMAIL_OK,
             "email_get_all(EMAIL_READ_UNREAD | EMAIL_READ_HEADERS)");
    CHECK(email_list_count(list) == BULK_UNREAD && streq(email_message_text(email_list_get(list, 0)), ""),
          "... 150 messages without body");
    email_list_free(list);
    list = NULL;
    CHECK(email_session_error(s) == EMAIL_OK, "the session's last status is EMAIL_OK");

    section("lifetimes: messages and lists outlive the session, double free and close");
    CHECK_RC(email_get_all(s, EMAIL_READ_ALL, &list), EMAIL_OK, "email_get_all");
    CHECK_RC(email_close_session(s), EMAIL_OK, "email_close_session with a message and a list alive");
    CHECK(streq(email_message_subject(first), "Bulk message 001") && contains(email_message_text(first), "001"),
          "the message outlives its session");
    CHECK(email_message_source(first, &len) != NULL && len > 0, "... and its source too");
    CHECK(email_list_count(list) == BULK_COUNT && streq(email_message_subject(email_list_get(list, 199)),
                                                        "Bulk message 200"),
          "the list outlives its session");
    email_list_free(list);
    prime_last_error();
    email_list_free(list);
    /* The header: freeing an already freed list or message: nothing happens (the last error
     * included), and the handles still alive are untouched. */
    CHECK(email_last_error() == EMAIL_ERR_ARGUMENT, "email_list_free twice: the second does nothing");
    CHECK(streq(email_message_subject(first), "Bulk message 001"), "... a message outside the list still reads");
    CHECK(email_list_count(list) == 0 && email_list_get(list, 0) == NULL, "a freed list is invalid");
    email_message_free(first);
    prime_last_error();
    email_message_free(first);
    CHECK(email_last_error() == EMAIL_ERR_ARGUMENT, "email_message_free twice: the second does nothing");
    CHECK(email_message_subject(first) == NULL && email_last_error() == EMAIL_ERR_HANDLE,
          "a freed message gives NULL and EMAIL_ERR_HANDLE");

    CHECK_RC(email_close_session(s), EMAIL_ERR_HANDLE, "double close: EMAIL_ERR_HANDLE");
    m = SENTINEL;
    CHECK_RC(email_read_first(s, EMAIL_READ_ALL, &m), EMAIL_ERR_HANDLE, "email_read_first on a closed session");
    CHECK(m == NULL, "... *out = NULL");
    m = SENTINEL;
    CHECK_RC(email_read_next(s, &m), EMAIL_ERR_HANDLE, "email_read_next on a closed session");
    CHECK(m == NULL, "... *out = NULL");
    list = SENTINEL;
    CHECK_RC(email_get_all(s, EMAIL_READ_ALL, &list), EMAIL_ERR_HANDLE, "email_get_all on a closed session");
    CHECK(list == NULL, "... *out = NULL");
    CHECK(email_session_error(s) == EMAIL_ERR_HANDLE, "email_session_error on a closed session: EMAIL_ERR_HANDLE");
    CHECK(email_session_error_message(s) != NULL, "email_session_error_message on a closed session: not NULL");
}

/* ------------------------------------------------------------------------------------------ */

/* Reads the flagtest INBOX in a new session: the read flag of each message, in UID order.
 * Returns the number of messages, or -1. */
static int flag_states(int seen[FLAG_COUNT], int *unread_count)
{
    EmailSession *s = open_session(MODE_NONE, cfg.user_flags);
    EmailMessage *m = NULL;
    EmailList *l = NULL;
    int n = 0;
    int32_t rc;
    if (s == NULL) {
        printf("# cannot open flagtest: %s\n", email_last_error_message());
        return -1;
    }
    for (rc = email_read_first(s, EMAIL_READ_HEADERS, &m); rc == EMAIL_OK; rc = email_read_next(s, &m)) {
        if (n < FLAG_COUNT) {
            seen[n] = email_message_is_read(m);
        }
        n++;
        email_message_free(m);
    }
    *unread_count = -1;
    if (email_get_all(s, EMAIL_READ_UNREAD | EMAIL_READ_HEADERS, &l) == EMAIL_OK) {
        *unread_count = (int)email_list_count(l);
    }
    email_list_free(l);
    email_close_session(s);
    return rc == EMAIL_OUT ? n : -1;
}

static void test_seen_flags(void)
{
    EmailSession *s;
    EmailMessage *m = NULL;
    EmailList *l = NULL;
    int seen[FLAG_COUNT], i, n, unread, all_unread, others_unread;
    int32_t rc;

    section("reading never changes \\Seen; EMAIL_READ_MARK_SEEN sets it");
    s = open_session(MODE_NONE, cfg.user_flags);
    if (!check(s != NULL, "open the flagtest mailbox", "%s", email_last_error_message())) {
        return;
    }
    n = 0;
    for (rc = email_read_first(s, EMAIL_READ_ALL, &m); rc == EMAIL_OK; rc = email_read_next(s, &m)) {
        n += !email_message_is_read(m);
        email_message_free(m);
    }
    check(n == FLAG_COUNT, "6 unread messages before", "%d", n);
    CHECK_RC(email_get_all(s, EMAIL_READ_ALL, &l), EMAIL_OK, "email_get_all (bodies, peek)");
    email_list_free(l);
    l = NULL;
    CHECK_RC(email_close_session(s), EMAIL_OK, "close");

    n = flag_states(seen, &unread);
    all_unread = n == FLAG_COUNT && unread == FLAG_COUNT;
    for (i = 0; i < FLAG_COUNT && n == FLAG_COUNT; i++) {
        all_unread &= !seen[i];
    }
    check(all_unread, "after reading bodies without EMAIL_READ_MARK_SEEN, a new session still sees 6 unread",
          "n %d, unread %d", n, unread);

    s = open_session(MODE_NONE, cfg.user_flags);
    if (!check(s != NULL, "open the flagtest mailbox again", "%s", email_last_error_message())) {
        return;
    }
    CHECK_RC(email_read_first(s, EMAIL_READ_MARK_SEEN, &m), EMAIL_OK, "email_read_first(EMAIL_READ_MARK_SEEN)");
    CHECK(streq(email_message_subject(m), "Flag test 1"), "... gives the first message");
    email_message_free(m);
    m = NULL;
    CHECK_RC(email_close_session(s), EMAIL_OK, "close after reading one message");

    n = flag_states(seen, &unread);
    CHECK(n == FLAG_COUNT && seen[0], "the message read with EMAIL_READ_MARK_SEEN is \\Seen on the server");
    others_unread = n == FLAG_COUNT;
    for (i = 1; i < FLAG_COUNT && n == FLAG_COUNT; i++) {
        others_unread &= !seen[i];
    }
    check(others_unread && unread == FLAG_COUNT - 1,
          "EMAIL_READ_MARK_SEEN marks only the message handed out, not the ones fetched ahead",
          "%d of the 5 messages never handed out were marked \\Seen", FLAG_COUNT - 1 - unread);

    s = open_session(MODE_NONE, cfg.user_flags);
    if (!check(s != NULL, "open the flagtest mailbox a third time", "%s", email_last_error_message())) {
        return;
    }
    n = 0;
    for (rc = email_read_first(s, EMAIL_READ_UNREAD | EMAIL_READ_MARK_SEEN, &m); rc == EMAIL_OK;
         rc = email_read_next(s, &m)) {
        n++;
        email_message_free(m);
    }
    CHECK_RC(rc, EMAIL_OUT, "read the rest with EMAIL_READ_UNREAD | EMAIL_READ_MARK_SEEN");
    CHECK_RC(email_get_all(s, EMAIL_READ_UNREAD, &l), EMAIL_OK, "email_get_all(EMAIL_READ_UNREAD) afterwards");
    check(email_list_count(l) == 0, "... no unread message left in the same session", "%lu",
          (unsigned long)email_list_count(l));
    email_list_free(l);
    email_close_session(s);
    n = flag_states(seen, &unread);
    all_unread = 0;
    for (i = 0; i < FLAG_COUNT && n == FLAG_COUNT; i++) {
        all_unread += seen[i];
    }
    check(n == FLAG_COUNT && all_unread == FLAG_COUNT && unread == 0, "a new session sees all 6 messages \\Seen",
          "n %d, seen %d, unread %d", n, all_unread, unread);
}

/* ------------------------------------------------------------------------------------------ */
/* The MIME corpus */

/* Unescapes \t \n \r \\ in place. */
static void unescape(char *s)
{
    char *w = s;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            *w++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
}

/* Splits a line at tabs (in place); returns the number of fields. */
static int split_tabs(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\n') {
        line[--len] = '\0';
    }
    while (n < max) {
        char *tab = strchr(p, '\t');
        fields[n++] = p;
        if (tab == NULL) {
            break;
        }
        *tab = '\0';
        p = tab + 1;
    }
    for (len = 0; len < (size_t)n; len++) {
        unescape(fields[len]);
    }
    return n;
}

static const char *string_field(const EmailMessage *m, const char *key, int *known)
{
    *known = 1;
    if (strcmp(key, "subject") == 0) return email_message_subject(m);
    if (strcmp(key, "sender") == 0 || strcmp(key, "from") == 0) return email_message_sender(m);
    if (strcmp(key, "sender_address") == 0 || strcmp(key, "from_address") == 0) return email_message_sender_address(m);
    if (strcmp(key, "sender_name") == 0 || strcmp(key, "from_name") == 0) return email_message_sender_name(m);
    if (strcmp(key, "date") == 0) return email_message_date(m);
    if (strcmp(key, "message_id") == 0) return email_message_message_id(m);
    if (strcmp(key, "text") == 0) return email_message_text(m);
    if (strcmp(key, "html") == 0) return email_message_html(m);
    *known = 0;
    return NULL;
}

static int recipient_kind(const char *key)
{
    if (strcmp(key, "to") == 0) return EMAIL_TO;
    if (strcmp(key, "cc") == 0) return EMAIL_CC;
    if (strcmp(key, "bcc") == 0) return EMAIL_BCC;
    if (strcmp(key, "reply_to") == 0) return EMAIL_REPLY_TO;
    return -1;
}

static void test_corpus(void)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    EmailSession *s;
    EmailList *list = NULL;
    const EmailMessage *m = NULL;
    size_t index = 0, count = 0;
    char file[256] = "", what[1200];
    long records = 0, messages = 0;

    section("MIME corpus: decoded subjects, senders, bodies and attachments");
    if (cfg.corpus_expected == NULL) {
        check(0, "CORPUS_EXPECTED is set", "no corpus expectations given");
        return;
    }
    f = fopen(cfg.corpus_expected, "r");
    if (!check(f != NULL, "read the corpus expectations", "%s: %s", cfg.corpus_expected, strerror(errno))) {
        return;
    }
    s = open_session(MODE_TLS, cfg.user_corpus);
    if (!check(s != NULL, "open the corpus mailbox", "%s", email_last_error_message())) {
        fclose(f);
        return;
    }
    CHECK_RC(email_get_all(s, EMAIL_READ_ALL, &list), EMAIL_OK, "email_get_all of the corpus");
    count = email_list_count(list);
    CHECK_RC(email_close_session(s), EMAIL_OK, "close (the list stays valid)");

    while (getline(&line, &cap, f) > 0) {
        char *fld[8];
        int nf = split_tabs(line, fld, 8), known = 0;
        if (nf < 1 || fld[0][0] == '\0' || fld[0][0] == '#') {
            continue;
        }
        if (strcmp(fld[0], "message") == 0 && nf >= 2) {
            snprintf(file, sizeof file, "%s", fld[1]);
            m = index < count ? email_list_get(list, index) : NULL;
            index++;
            messages++;
            snprintf(what, sizeof what, "%s: present in the mailbox", file);
            check(m != NULL, what, "message %lu of %lu", (unsigned long)index, (unsigned long)count);
            continue;
        }
        if (m == NULL) {
            continue;
        }
        records++;
        if (strcmp(fld[0], "attachments") == 0 && nf >= 2) {
            snprintf(what, sizeof what, "%s: %s attachment(s)", file, fld[1]);
            check(email_message_attachment_count(m) == (size_t)strtoul(fld[1], NULL, 10), what, "got %lu",
                  (unsigned long)email_message_attachment_count(m));
        } else if (strcmp(fld[0], "attachment") == 0 && nf >= 7) {
            size_t i = (size_t)strtoul(fld[1], NULL, 10), len = 0;
            const unsigned char *data = email_attachment_data(m, i, &len);
            const char *name = email_attachment_name(m, i);
            const char *type = email_attachment_content_type(m, i);
            char hex[65];
            snprintf(what, sizeof what, "%s: attachment %lu name \"%s\"", file, (unsigned long)i, fld[2]);
            check(streq(name, fld[2]), what, "got \"%s\"", show(name));
            if (strcmp(fld[3], "-") != 0) {
                snprintf(what, sizeof what, "%s: attachment %lu type %s", file, (unsigned long)i, fld[3]);
                check(streq(type, fld[3]), what, "got %s", show(type));
            }
            snprintf(what, sizeof what, "%s: attachment %lu is %s bytes", file, (unsigned long)i, fld[4]);
            check(data != NULL && len == (size_t)strtoull(fld[4], NULL, 10), what, "got %lu",
                  (unsigned long)len);
            if (strcmp(fld[5], "-") != 0) {
                sha256_hex(data, data != NULL ? len : 0, hex);
                snprintf(what, sizeof what, "%s: attachment %lu bytes are exact (sha256)", file, (unsigned long)i);
                check(strcmp(hex, fld[5]) == 0, what, "sha256 %s, want %s", hex, fld[5]);
            }
            if (strcmp(fld[6], "-") != 0) {
                snprintf(what, sizeof what, "%s: attachment %lu inline = %s", file, (unsigned long)i, fld[6]);
                check(email_attachment_is_inline(m, i) == atoi(fld[6]), what, "got %d",
                      email_attachment_is_inline(m, i));
            }
        } else if (strcmp(fld[0], "attachment_content_id") == 0 && nf >= 3) {
            size_t i = (size_t)strtoul(fld[1], NULL, 10);
            const char *cid = email_attachment_content_id(m, i);
            snprintf(what, sizeof what, "%s: attachment %lu Content-ID \"%s\"", file, (unsigned long)i, fld[2]);
            check(streq(cid, fld[2]), what, "got \"%s\"", show(cid));
        } else if ((strcmp(fld[0], "text_contains") == 0 || strcmp(fld[0], "html_contains") == 0) && nf >= 2) {
            const char *body = fld[0][0] == 't' ? email_message_text(m) : email_message_html(m);
            snprintf(what, sizeof what, "%s: %s \"%.200s\"", file, fld[0], fld[1]);
            check(contains(body, fld[1]), what, "body: \"%.300s\"", show(body));
        } else if (strcmp(fld[0], "decode_error") == 0 && nf >= 2) {
            int want = atoi(fld[1]);
            snprintf(what, sizeof what, "%s: email_message_error %s", file, want ? "reports a decoding problem" : "is EMAIL_OK");
            check((email_message_error(m) != EMAIL_OK) == want, what, "got %s (%s)",
                  email_status_name(email_message_error(m)), show(email_message_error_message(m)));
        } else if (strcmp(fld[0], "recipients") == 0 && nf >= 3) {
            int kind = recipient_kind(fld[1]);
            snprintf(what, sizeof what, "%s: %s %s recipient(s)", file, fld[2], fld[1]);
            check(kind >= 0 && email_message_recipient_count(m, kind) == (size_t)strtoul(fld[2], NULL, 10), what,
                  "got %lu", (unsigned long)(kind >= 0 ? email_message_recipient_count(m, kind) : 0));
        } else if (recipient_kind(fld[0]) >= 0 && nf >= 4) {
            int kind = recipient_kind(fld[0]);
            size_t i = (size_t)strtoul(fld[1], NULL, 10);
            const char *addr = email_message_recipient_address(m, kind, i);
            const char *name = email_message_recipient_name(m, kind, i);
            snprintf(what, sizeof what, "%s: %s %lu is \"%s\" <%s>", file, fld[0], (unsigned long)i, fld[3], fld[2]);
            check(streq(addr, fld[2]) && streq(name, fld[3]), what, "got \"%s\" <%s>", show(name), show(addr));
        } else if (strcmp(fld[0], "header") == 0 && nf >= 3) {
            const char *v = email_message_header(m, fld[1]);
            snprintf(what, sizeof what, "%s: header %s", file, fld[1]);
            check(streq(v, fld[2]), what, "got \"%s\", want \"%s\"", show(v), fld[2]);
        } else if (strcmp(fld[0], "timestamp") == 0 && nf >= 2) {
            snprintf(what, sizeof what, "%s: timestamp %s", file, fld[1]);
            check(email_message_timestamp(m) == (int64_t)strtoll(fld[1], NULL, 10), what, "got %lld",
                  (long long)email_message_timestamp(m));
        } else if (nf >= 2) {
            const char *v = string_field(m, fld[0], &known);
            if (known) {
                snprintf(what, sizeof what, "%s: %s \"%.300s\"", file, fld[0], fld[1]);
                check(streq(v, fld[1]), what, "got \"%.300s\"", show(v));
            } else {
                records--;
                printf("# note: unknown expectation key \"%s\" ignored\n", fld[0]);
            }
        }
    }
    free(line);
    fclose(f);
    check(messages > 0 && records > 0, "the corpus expectations are not empty", "%ld messages, %ld records",
          messages, records);
    check((size_t)messages == count, "the mailbox holds exactly the corpus messages", "%ld expected, %lu in INBOX",
          messages, (unsigned long)count);
    email_list_free(list);
}

/* ------------------------------------------------------------------------------------------ */
/* Saving attachments with hostile names */

static int read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    if (f == NULL) {
        return -1;
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            unsigned char *b = realloc(buf, cap ? cap * 2 : 4096);
            if (b == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = b;
            cap = cap ? cap * 2 : 4096;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 0;
}

/* Lists a directory's entries (except . and ..) into names (at most max); returns the count. */
static int list_dir(const char *dir, char names[][512], int max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (n < max) {
            snprintf(names[n], 512, "%s", e->d_name);
        }
        n++;
    }
    closedir(d);
    return n;
}

static void remove_tree(const char *path)
{
    char names[64][512], child[1200];
    struct stat st;
    int i, n;
    if (lstat(path, &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        n = list_dir(path, names, 64);
        for (i = 0; i < n && i < 64; i++) {
            if (snprintf(child, sizeof child, "%s/%s", path, names[i]) < (int)sizeof child) {
                remove_tree(child);
            }
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void test_attachment_save(void)
{
    static const char *escapes[] = {"imapmail-evil-1.txt", "imapmail-evil-3.txt", "imapmail-evil-5.txt",
                                    "imapmail-evil-13.txt"};
    EmailSession *s;
    EmailMessage *m = NULL;
    char base[600], a[700], dir[800], link[900], outside[700], path[1400];
    char names[64][512];
    char expected_sha[32][65];
    size_t expected_len[32];
    int expected_n = 0, used[32];
    const char *hostile_file;
    size_t count, i;
    int n, j, ok, saved = 0, regular = 0, matched = 0, bad_names = 0;
    struct stat st;

    section("email_attachment_save with hostile names writes only inside the directory");
    hostile_file = cfg.hostile_expected;
    if (hostile_file != NULL) {
        FILE *f = fopen(hostile_file, "r");
        char line[256];
        while (f != NULL && expected_n < 32 && fgets(line, sizeof line, f) != NULL) {
            char *fld[3];
            if (split_tabs(line, fld, 3) == 3) {
                snprintf(expected_sha[expected_n], 65, "%s", fld[1]);
                expected_len[expected_n] = (size_t)strtoul(fld[2], NULL, 10);
                expected_n++;
            }
        }
        if (f != NULL) {
            fclose(f);
        }
    }

    snprintf(base, sizeof base, "%s/imapmail-save.XXXXXX", cfg.tmpdir);
    if (!check(mkdtemp(base) != NULL, "make a temporary directory", "%s", strerror(errno))) {
        return;
    }
    snprintf(a, sizeof a, "%s/a", base);
    snprintf(dir, sizeof dir, "%s/b", a);
    snprintf(outside, sizeof outside, "%s/outside.txt", base);
    snprintf(link, sizeof link, "%s/symlink.txt", dir);
    mkdir(a, 0700);
    mkdir(dir, 0700);
    CHECK(symlink(outside, link) == 0, "plant a dangling symlink symlink.txt -> (base)/outside.txt in the directory");
    unlink("/tmp/imapmail-evil-abs.txt");
    for (i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", cfg.tmpdir, escapes[i]);
        unlink(path);
    }

    s = open_session_ex(MODE_NONE, 1, 0, cfg.user_corpus, cfg.password, "Odd;Name=1");
    if (!check(s != NULL, "open the folder with the hostile message", "%s", email_last_error_message())) {
        remove_tree(base);
        return;
    }
    CHECK_RC(email_read_first(s, EMAIL_READ_ALL, &m), EMAIL_OK, "read the hostile message");
    email_close_session(s);
    if (m == NULL) {
        remove_tree(base);
        return;
    }
    count = email_message_attachment_count(m);
    check(count == (size_t)expected_n && count > 0, "it has every hostile attachment", "%lu, expected %d",
          (unsigned long)count, expected_n);
    for (i = 0; i < count; i++) {
        int32_t rc = email_attachment_save(m, i, dir);
        printf("# attachment %lu: name \"%s\" -> %s\n", (unsigned long)i, printable(email_attachment_name(m, i)),
               email_status_name(rc));
        saved += rc == EMAIL_OK;
    }
    /* Saving an attachment again never overwrites the first copy. */
    saved += email_attachment_save(m, 7, dir) == EMAIL_OK;
    saved += email_attachment_save(m, 7, dir) == EMAIL_OK;
    check(saved == (int)count + 2, "every save returned EMAIL_OK", "%d of %lu", saved, (unsigned long)count + 2);

    CHECK_RC(email_attachment_save(m, 0, "/nonexistent/imapmail/dir"), EMAIL_ERR_NOT_FOUND,
             "saving into a missing directory: EMAIL_ERR_NOT_FOUND");
    CHECK_RC(email_attachment_save(m, count, dir), EMAIL_ERR_ARGUMENT, "index out of range: EMAIL_ERR_ARGUMENT");
    CHECK_RC(email_attachment_save(m, 0, NULL), EMAIL_ERR_ARGUMENT, "directory NULL: EMAIL_ERR_ARGUMENT");

    n = list_dir(base, names, 64);
    check(n == 1 && strcmp(names[0], "a") == 0, "nothing was written next to the directory's parent", "%d entries",
          n);
    n = list_dir(a, names, 64);
    check(n == 1 && strcmp(names[0], "b") == 0, "nothing was written into the directory's parent", "%d entries", n);
    check(lstat(outside, &st) != 0, "the symlink was not followed (outside.txt does not exist)", NULL);
    check(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the planted symlink is untouched", NULL);
    check(lstat("/tmp/imapmail-evil-abs.txt", &st) != 0, "the absolute path was not used", NULL);
    ok = 1;
    for (i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", cfg.tmpdir, escapes[i]);
        ok &= lstat(path, &st) != 0;
    }
    check(ok, "no file escaped to the temporary directory through ../", NULL);

    memset(used, 0, sizeof used);
    n = list_dir(dir, names, 64);
    for (j = 0; j < n && j < 64; j++) {
        unsigned char *data = NULL;
        size_t len = 0;
        char hex[65];
        const unsigned char *p;
        int k;
        if (snprintf(path, sizeof path, "%s/%s", dir, names[j]) >= (int)sizeof path ||
            strcmp(names[j], "symlink.txt") == 0) {
            continue;
        }
        for (p = (const unsigned char *)names[j]; *p; p++) {
            if (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == ':') {
                bad_names++;
                break;
            }
        }
        if (names[j][0] == '.' || strlen(names[j]) > 255) {
            bad_names++;
        }
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        regular++;
        if (read_file(path, &data, &len) != 0) {
            continue;
        }
        sha256_hex(data, len, hex);
        free(data);
        for (k = 0; k < expected_n; k++) {
            if (strcmp(hex, expected_sha[k]) == 0 && len == expected_len[k]) {
                used[k]++;
                matched++;
                break;
            }
        }
    }
    check(regular == (int)count + 2, "one new regular file per save (never overwritten)", "%d files for %lu saves",
          regular, (unsigned long)count + 2);
    check(matched == regular && regular > 0, "every file holds the exact bytes of an attachment", "%d of %d",
          matched, regular);
    ok = expected_n > 7;
    for (j = 0; j < expected_n; j++) {
        ok &= used[j] == (j == 7 ? 3 : 1);
    }
    check(ok, "each attachment is saved once (attachment 7 three times)", NULL);
    check(bad_names == 0, "file names have no control characters, separators or leading dots", "%d bad", bad_names);
    snprintf(path, sizeof path, "%s/dup.txt", dir);
    ok = lstat(path, &st) == 0;
    snprintf(path, sizeof path, "%s/dup (1).txt", dir);
    ok &= lstat(path, &st) == 0;
    snprintf(path, sizeof path, "%s/dup (2).txt", dir);
    ok &= lstat(path, &st) == 0;
    check(ok, "names taken get \" (1)\", \" (2)\", ...", NULL);
    snprintf(path, sizeof path, "%s/attachment", dir);
    check(lstat(path, &st) == 0, "an attachment without a name is saved as \"attachment\"", NULL);

    email_message_free(m);
    remove_tree(base);
}

/* ------------------------------------------------------------------------------------------ */
/* Progress callback */

struct progress {
    long calls;
    uint64_t last_done, total;
    int bad;          /* done went backwards or beyond total, or total changed */
    uint64_t cancel_at; /* non-zero: cancel when done reaches it */
};

static int32_t on_progress(uint64_t done, uint64_t total, void *user_data)
{
    struct progress *p = user_data;
    if (p->calls > 0 && (done < p->last_done || total != p->total)) {
        p->bad++;
    }
    if (done > total) {
        p->bad++;
    }
    p->calls++;
    p->last_done = done;
    p->total = total;
    return p->cancel_at != 0 && done >= p->cancel_at ? 1 : 0;
}

static void test_progress(void)
{
    EmailSession *s;
    EmailMessage *m = NULL;
    EmailList *l = NULL;
    struct progress p;
    int32_t rc;
    long n = 0;

    section("progress callback");
    s = open_session(MODE_NONE, cfg.user_bulk);
    if (!check(s != NULL, "open the bulk mailbox", "%s", email_last_error_message())) {
        return;
    }
    memset(&p, 0, sizeof p);
    CHECK_RC(email_set_progress_callback(s, on_progress, &p), EMAIL_OK, "email_set_progress_callback");
    CHECK_RC(email_get_all(s, EMAIL_READ_HEADERS, &l), EMAIL_OK, "email_get_all with a callback");
    check(p.calls > 0 && p.last_done == BULK_COUNT && p.total == BULK_COUNT && p.bad == 0,
          "the callback saw done rise to total = 200", "%ld calls, last %llu/%llu, %d bad", p.calls,
          (unsigned long long)p.last_done, (unsigned long long)p.total, p.bad);
    email_list_free(l);
    l = NULL;

    memset(&p, 0, sizeof p);
    for (rc = email_read_first(s, EMAIL_READ_UNREAD, &m); rc == EMAIL_OK; rc = email_read_next(s, &m)) {
        n++;
        email_message_free(m);
    }
    CHECK_RC(rc, EMAIL_OUT, "an unread iteration with a callback");
    check(p.calls == BULK_UNREAD && p.last_done == BULK_UNREAD && p.total == BULK_UNREAD && p.bad == 0,
          "the callback was called once per message handed out", "%ld calls for %ld messages, last %llu/%llu",
          p.calls, n, (unsigned long long)p.last_done, (unsigned long long)p.total);

    memset(&p, 0, sizeof p);
    p.cancel_at = 10;
    l = SENTINEL;
    CHECK_RC(email_get_all(s, EMAIL_READ_ALL, &l), EMAIL_ERR_CANCELLED, "cancelling email_get_all from the callback");
    CHECK(l == NULL, "... *out = NULL");
    CHECK(email_session_error(s) == EMAIL_ERR_CANCELLED, "... the session's last status is EMAIL_ERR_CANCELLED");

    memset(&p, 0, sizeof p);
    p.cancel_at = 5;
    n = 0;
    for (rc = email_read_first(s, EMAIL_READ_ALL, &m); rc == EMAIL_OK; rc = email_read_next(s, &m)) {
        n++;
        email_message_free(m);
    }
    CHECK_RC(rc, EMAIL_ERR_CANCELLED, "cancelling a read iteration from the callback");
    check(n < 10, "... stops it early", "%ld messages handed out", n);

    CHECK_RC(email_set_progress_callback(s, NULL, NULL), EMAIL_OK, "removing the callback (NULL)");
    memset(&p, 0, sizeof p);
    CHECK_RC(email_get_all(s, EMAIL_READ_UNREAD | EMAIL_READ_HEADERS, &l), EMAIL_OK,
             "the session stays usable after a cancel");
    CHECK(email_list_count(l) == BULK_UNREAD && p.calls == 0, "... and the removed callback is not called");
    email_list_free(l);
    CHECK_RC(email_close_session(s), EMAIL_OK, "close");
}

/* ------------------------------------------------------------------------------------------ */
/* Protocol trace callback */

struct trace {
    pthread_mutex_t busy; /* held while a callback runs: a second one at once is a violation */
    pthread_mutex_t lock;
    long sent, received, literals, concurrent, bad_direction, bad_line, secret;
    const char *password;
};

static void on_trace(int32_t direction, const uint8_t *line, size_t len, void *user_data)
{
    struct trace *t = user_data;
    int overlapped = pthread_mutex_trylock(&t->busy) != 0;
    char buf[256];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    pthread_mutex_lock(&t->lock);
    if (overlapped) {
        t->concurrent++;
    }
    if (direction == EMAIL_TRACE_SENT) {
        t->sent++;
    } else if (direction == EMAIL_TRACE_RECEIVED) {
        t->received++;
    } else {
        t->bad_direction++;
    }
    if (len > 0 && line == NULL) {
        t->bad_line++;
    } else if (len > 0) {
        if (line[len - 1] == '\n' || line[len - 1] == '\r') {
            t->bad_line++;
        }
        memcpy(buf, line, n);
        buf[n] = '\0';
        if (strncmp(buf, "[literal: ", 10) == 0) {
            t->literals++;
        }
        if (t->password != NULL && len >= strlen(t->password) && memmem_local(line, len, t->password)) {
            t->secret++;
        }
    }
    pthread_mutex_unlock(&t->lock);
    if (!overlapped) {
        pthread_mutex_unlock(&t->busy);
    }
}

static void test_trace(void)
{
    EmailSession *s;
    EmailList *l = NULL;
    EmailMessage *m = NULL;
    struct trace t;
    long sent_before, received_before;
    int32_t rc;

    section("protocol trace callback");
    memset(&t, 0, sizeof t);
    pthread_mutex_init(&t.busy, NULL);
    pthread_mutex_init(&t.lock, NULL);
    t.password = cfg.password;
    s = open_session(MODE_NONE, cfg.user_bulk);
    if (!check(s != NULL, "open the bulk mailbox", "%s", email_last_error_message())) {
        return;
    }
    CHECK_RC(email_set_trace_callback(s, on_trace, &t), EMAIL_OK, "email_set_trace_callback");
    CHECK_RC(email_get_all(s, EMAIL_READ_ALL, &l), EMAIL_OK, "email_get_all with a trace callback");
    email_list_free(l);
    l = NULL;
    for (rc = email_read_first(s, EMAIL_READ_UNREAD, &m); rc == EMAIL_OK; rc = email_read_next(s, &m)) {
        email_message_free(m);
    }
    CHECK_RC(rc, EMAIL_OUT, "a read iteration (reading ahead on a library thread) with a trace callback");
    pthread_mutex_lock(&t.lock);
    check(t.sent > 0 && t.received > 0, "commands and answers are traced", "%ld sent, %ld received", t.sent,
          t.received);
    check(t.literals > 0, "message data is shown as \"[literal: N bytes]\" lines", "%ld", t.literals);
    check(t.bad_direction == 0 && t.bad_line == 0, "directions are SENT/RECEIVED, lines come without CR LF",
          "%ld bad directions, %ld bad lines", t.bad_direction, t.bad_line);
    check(t.concurrent == 0, "the callback is never called by two threads at once", "%ld overlaps", t.concurrent);
    check(t.secret == 0, "the password never reaches the trace", "%ld lines", t.secret);
    sent_before = t.sent;
    received_before = t.received;
    pthread_mutex_unlock(&t.lock);

    CHECK_RC(email_set_trace_callback(s, NULL, NULL), EMAIL_OK, "removing the trace callback (NULL)");
    CHECK_RC(email_get_all(s, EMAIL_READ_HEADERS, &l), EMAIL_OK, "email_get_all after removing it");
    email_list_free(l);
    pthread_mutex_lock(&t.lock);
    check(t.sent == sent_before && t.received == received_before, "a removed callback is not called",
          "%ld more lines", t.sent + t.received - sent_before - received_before);
    pthread_mutex_unlock(&t.lock);
    CHECK_RC(email_close_session(s), EMAIL_OK, "close");
    pthread_mutex_destroy(&t.busy);
    pthread_mutex_destroy(&t.lock);
}

/* ------------------------------------------------------------------------------------------ */
/* Header-first reading: email_message_load_body */

static void test_load_body(void)
{
    EmailSession *s, *inbox;
    EmailMessage *m = NULL, *check_m = NULL;
    const char *subject_before;
    char subject_copy[256];

    section("email_message_load_body (header-first reading)");
    s = open_session_ex(MODE_NONE, 1, 0, cfg.user_corpus, cfg.password, "Odd;Name=1");
    if (!check(s != NULL, "open the folder with the hostile message", "%s", email_last_error_message())) {
        return;
    }
    CHECK_RC(email_read_first(s, EMAIL_READ_HEADERS, &m), EMAIL_OK, "read it with EMAIL_READ_HEADERS");
    if (m == NULL) {
        email_close_session(s);
        return;
    }
    subject_before = email_message_subject(m);
    snprintf(subject_copy, sizeof subject_copy, "%s", show(subject_before));
    CHECK(email_message_attachment_count(m) == 0 && streq(email_message_text(m), ""),
          "headers only: no body, no attachments yet");

    inbox = open_session(MODE_NONE, cfg.user_corpus);
    if (inbox != NULL) {
        int32_t rc = email_message_load_body(inbox, m);
        check(rc == EMAIL_ERR_NOT_FOUND, "loading through a session with another folder selected: EMAIL_ERR_NOT_FOUND",
              "got %s; attachments now %lu, subject %s", email_status_name(rc),
              (unsigned long)email_message_attachment_count(m), show(email_message_subject(m)));
        email_close_session(inbox);
    }

    CHECK_RC(email_message_load_body(s, m), EMAIL_OK, "email_message_load_body");
    check(email_message_attachment_count(m) == 14, "... the attachments are there", "%lu",
          (unsigned long)email_message_attachment_count(m));
    CHECK(contains(email_message_text(m), "escape the directory"), "... and the text");
    CHECK(streq(subject_before, subject_copy), "a string handed out before the load stays valid");
    CHECK(streq(email_message_subject(m), "Hostile attachment names"), "the subject is unchanged");
    CHECK_RC(email_message_load_body(s, m), EMAIL_OK, "loading twice is harmless");
    CHECK_RC(email_close_session(s), EMAIL_OK, "close");
    CHECK(email_message_attachment_count(m) == 14, "the loaded message outlives its session");
    CHECK_RC(email_message_load_body(s, m), EMAIL_ERR_HANDLE,
             "email_message_load_body(closed session, loaded message): the handle is still checked");

    s = open_session_ex(MODE_NONE, 0, 0, cfg.user_corpus, cfg.password, "Odd;Name=1");
    if (s != NULL) {
        CHECK_RC(email_read_first(s, EMAIL_READ_HEADERS, &check_m), EMAIL_OK, "read it again");
        CHECK(!email_message_is_read(check_m), "email_message_load_body never sets \\Seen");
        CHECK_RC(email_close_session(s), EMAIL_OK, "close");
        CHECK_RC(email_message_load_body(s, check_m), EMAIL_ERR_HANDLE, "email_message_load_body on a closed session");
        email_message_free(check_m);
    }
    email_message_free(m);
}

/* ------------------------------------------------------------------------------------------ */
/* Text helpers */

static void test_text_copy(void)
{
    char buf[16];
    uint16_t w[16];
    size_t n;
    const char *text = "h\xc3\xa9llo"; /* "héllo": 6 bytes */
    const char *astral = "h\xe2\x82\xac\xf0\x9f\x98\x80"; /* "h€😀" */

    section("email_copy_utf8 / email_copy_utf16");
    CHECK(email_copy_utf8(text, NULL, 0) == 7, "email_copy_utf8 sizing: 7 bytes with the NUL");
    n = email_copy_utf8(text, buf, sizeof buf);
    CHECK(n == 7 && strcmp(buf, text) == 0, "email_copy_utf8 copies (the error state is left alone on success)");
    memset(buf, 'x', sizeof buf);
    n = email_copy_utf8(text, buf, 4);
    CHECK(n == 7 && strcmp(buf, "h\xc3\xa9") == 0, "capacity 4: \"h\xc3\xa9\" (whole characters)");
    memset(buf, 'x', sizeof buf);
    n = email_copy_utf8(text, buf, 3);
    CHECK(n == 7 && strcmp(buf, "h") == 0, "capacity 3: \"h\" (never half a character)");
    CHECK(buf[2] == 'x', "... nothing written past the NUL");

    CHECK(email_copy_utf16(astral, NULL, 0) == 5, "email_copy_utf16 sizing: 5 units with the 0");
    memset(w, 0xAB, sizeof w);
    n = email_copy_utf16(astral, w, 16);
    CHECK(n == 5 && w[0] == 'h' && w[1] == 0x20AC && w[2] == 0xD83D && w[3] == 0xDE00 && w[4] == 0,
          "email_copy_utf16: BMP and a surrogate pair");
    CHECK(w[5] == 0xABAB, "... nothing written past the 0");
    memset(w, 0xAB, sizeof w);
    n = email_copy_utf16(astral, w, 3);
    CHECK(n == 5 && w[0] == 'h' && w[1] == 0x20AC && w[2] == 0, "capacity 3: truncated and terminated");
    n = email_copy_utf16("a\xff" "b", w, 16);
    CHECK(n == 4 && w[0] == 'a' && w[1] == 0xFFFD && w[2] == 'b' && w[3] == 0, "invalid UTF-8 becomes U+FFFD");
    n = email_copy_utf16("", w, 16);
    CHECK(n == 1 && w[0] == 0, "an empty string: 1 unit");
}

/* ------------------------------------------------------------------------------------------ */
/* NULL for every pointer parameter */

static void test_null_arguments(void)
{
    EmailSession *s;
    EmailMessage *m = NULL, *att = NULL;
    size_t len;

    section("NULL for every pointer parameter");
    sweep_invalid_message(NULL, "m = NULL");
    sweep_invalid_session(NULL, "s = NULL");
    sweep_invalid_list(NULL, "list = NULL");
    sweep_null_text();

    CHECK(email_start_session(NULL, (uint16_t)cfg.imap_port, cfg.user_bulk, cfg.password, EMAIL_SECURITY_NONE) == NULL &&
              email_last_error() == EMAIL_ERR_ARGUMENT,
          "email_start_session(server NULL): EMAIL_ERR_ARGUMENT");
    CHECK(email_start_session(cfg.host, (uint16_t)cfg.imap_port, NULL, cfg.password, EMAIL_SECURITY_NONE) == NULL &&
              email_last_error() == EMAIL_ERR_ARGUMENT,
          "email_start_session(user NULL): EMAIL_ERR_ARGUMENT");
    CHECK(email_start_session(cfg.host, (uint16_t)cfg.imap_port, cfg.user_bulk, NULL, EMAIL_SECURITY_NONE) == NULL &&
              email_last_error() == EMAIL_ERR_ARGUMENT,
          "email_start_session(password NULL): EMAIL_ERR_ARGUMENT");
    CHECK(email_start_session_ex(NULL, (uint16_t)cfg.imap_port, cfg.user_bulk, cfg.password, EMAIL_SECURITY_NONE,
                                 "") == NULL &&
              email_last_error() == EMAIL_ERR_ARGUMENT,
          "email_start_session_ex(server NULL): EMAIL_ERR_ARGUMENT");
    CHECK(email_start_session_ex(cfg.host, (uint16_t)cfg.imap_port, NULL, cfg.password, EMAIL_SECURITY_NONE, "") ==
                  NULL &&
              email_last_error() == EMAIL_ERR_ARGUMENT,
          "email_start_session_ex(user NULL): EMAIL_ERR_ARGUMENT");
    CHECK(email_start_session_ex(cfg.host, (uint16_t)cfg.imap_port, cfg.user_bulk, NULL, EMAIL_SECURITY_NONE, "") ==
                  NULL &&
              email_last_error() == EMAIL_ERR_ARGUMENT,
          "email_start_session_ex(password NULL): EMAIL_ERR_ARGUMENT");

    s = open_session(MODE_NONE, cfg.user_bulk);
    if (!check(s != NULL, "open a session for the out-parameter checks", "%s", email_last_error_message())) {
        return;
    }
    CHECK_RC(email_read_first(s, EMAIL_READ_ALL, NULL), EMAIL_ERR_ARGUMENT, "email_read_first(s, 0, NULL)");
    CHECK_RC(email_read_next(s, NULL), EMAIL_ERR_ARGUMENT, "email_read_next(s, NULL)");
    CHECK_RC(email_get_all(s, EMAIL_READ_ALL, NULL), EMAIL_ERR_ARGUMENT, "email_get_all(s, 0, NULL)");
    CHECK_RC(email_read_first(s, EMAIL_READ_ALL, &m), EMAIL_OK, "email_read_first still works");
    email_close_session(s);

    s = open_session_ex(MODE_NONE, 0, 0, cfg.user_corpus, cfg.password, "Odd;Name=1");
    if (s != NULL) {
        email_read_first(s, EMAIL_READ_ALL, &att);
        email_close_session(s);
    }
    if (m != NULL) {
        CHECK(email_message_header(m, NULL) == NULL && email_last_error() == EMAIL_ERR_ARGUMENT,
              "email_message_header(m, NULL): NULL, EMAIL_ERR_ARGUMENT");
        CHECK(email_message_source(m, NULL) != NULL, "email_message_source(m, NULL): the bytes, length not stored");
        CHECK(email_message_source(m, &len) != NULL && len > 0, "email_message_source(m, &len)");
        CHECK_RC(email_attachment_save(m, 0, NULL), EMAIL_ERR_ARGUMENT, "email_attachment_save(m, 0, NULL)");
    }
    if (check(att != NULL && email_message_attachment_count(att) > 0, "a message with attachments", NULL)) {
        const unsigned char *d = email_attachment_data(att, 0, NULL);
        CHECK(d != NULL, "email_attachment_data(m, 0, NULL): the bytes, length not stored");
        CHECK_RC(email_attachment_save(att, 0, NULL), EMAIL_ERR_ARGUMENT, "email_attachment_save(m, 0, NULL)");
    }
    email_message_free(m);
    email_message_free(att);
}

int main(int argc, char **argv)
{
    printf("# imapmail %s C API contract test\n", email_version());
    if (!load_settings(argc, argv)) {
        check(0, "settings", "set IMAP_PORT, IMAPS_PORT, CA_FILE and TEST_PASSWORD (environment or KEY=VALUE)");
        return finish();
    }
    test_security_modes();
    test_certificates();
    test_folders();
    test_bulk_reading();
    test_seen_flags();
    test_progress();
    test_trace();
    test_load_body();
    test_text_copy();
    test_corpus();
    test_attachment_save();
    test_null_arguments();
    /* Last: failed logins make Dovecot slow down the next logins from this address. */
    test_wrong_password();
    return finish();
}
