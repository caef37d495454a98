/*
 * imapmail_bench - reads the INBOX of an IMAP server through imapmail's C API, the way an
 * application would, for the imapmail benchmark (bench/README.md).
 *
 *   usage: imapmail_bench HOST PORT USER MODE [EXPECTED_COUNT]
 *
 *   read     email_read_first / email_read_next (EMAIL_READ_ALL); for every message, touches
 *            the subject, sender, date, text, HTML and every byte of every attachment
 *   headers  the same iteration with EMAIL_READ_HEADERS; touches subject, sender, date,
 *            flags and size
 *   getall   email_get_all (EMAIL_READ_ALL), then touches every message like `read`
 *   getall-held     email_get_all (EMAIL_READ_ALL), then touches only subject, sender and
 *                   date: the memory of the messages as get_all hands them out
 *   getall-headers  email_get_all (EMAIL_READ_HEADERS), touching like `headers`
 *
 * Plain IMAP (EMAIL_SECURITY_NONE): the benchmark runs on loopback. The password is read from
 * the environment variable IMAPMAIL_PASSWORD. Prints
 * "messages=N checksum=C decode_errors=D". Exit status: 0 on success; 1 when imapmail fails or
 * the number of messages differs from EXPECTED_COUNT; 2 on a usage error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imapmail.h"

static uint64_t decode_errors;

/* Reads every byte of a buffer, a word at a time, the way a host copying or scanning it
 * would (memcpy, strlen and friends are vectorised): the benchmark measures the library, so
 * its own touching must not be a byte-at-a-time loop that costs more than the library's work
 * (it was, until 2026-11: about 12% of the full read's CPU). */
static uint64_t bytes_touch(const uint8_t *p, size_t n)
{
    uint64_t sum = 0, word;
    size_t i = 0;
    for (; i + sizeof word <= n; i += sizeof word) {
        memcpy(&word, p + i, sizeof word);
        sum += word;
    }
    for (; i < n; i++) {
        sum += p[i];
    }
    return sum + n;
}

static uint64_t str_touch(const char *s)
{
    return s ? bytes_touch((const uint8_t *)s, strlen(s)) : 0;
}

static uint64_t touch_full(const EmailMessage *m)
{
    uint64_t sum = 0;
    size_t i, count;
    sum += str_touch(email_message_subject(m));
    sum += str_touch(email_message_sender(m));
    sum += str_touch(email_message_date(m));
    sum += str_touch(email_message_text(m));
    sum += str_touch(email_message_html(m));
    count = email_message_attachment_count(m);
    for (i = 0; i < count; i++) {
        size_t len = 0;
        const uint8_t *data = email_attachment_data(m, i, &len);
        sum += str_touch(email_attachment_name(m, i));
        if (data) {
            sum += bytes_touch(data, len);
        }
    }
    if (email_message_error(m) != EMAIL_OK) {
        decode_errors++;
    }
    return sum;
}

static uint64_t touch_headers(const EmailMessage *m)
{
    uint64_t sum = 0;
    sum += str_touch(email_message_subject(m));
    sum += str_touch(email_message_sender(m));
    sum += str_touch(email_message_date(m));
    sum += email_message_flags(m);
    sum += email_message_size(m);
    return sum;
}

static int fail(const char *what, EmailSession *s)
{
    fprintf(stderr, "imapmail_bench: %s failed: %s (%s)\n", what,
            s ? email_session_error_message(s) : email_last_error_message(),
            email_status_name(s ? email_session_error(s) : email_last_error()));
    if (s) {
        email_close_session(s);
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *host, *user, *mode, *password;
    long port, expected = -1;
    EmailSession *s;
    uint64_t count = 0, checksum = 0;
    int rc;

    if (argc != 5 && argc != 6) {
        fprintf(stderr,
                "usage: %s HOST PORT USER read|headers|getall|getall-held|getall-headers "
                "[EXPECTED_COUNT]\n",
                argv[0]);
        return 2;
    }
    host = argv[1];
    port = strtol(argv[2], NULL, 10);
    user = argv[3];
    mode = argv[4];
    if (argc == 6) {
        expected = strtol(argv[5], NULL, 10);
    }
    password = getenv("IMAPMAIL_PASSWORD");
    if (!password || port <= 0 || port > 65535) {
        fprintf(stderr, "imapmail_bench: bad port, or IMAPMAIL_PASSWORD not set\n");
        return 2;
    }
    if (strcmp(mode, "read") != 0 && strcmp(mode, "headers") != 0 &&
        strncmp(mode, "getall", 6) != 0) {
        fprintf(stderr, "imapmail_bench: unknown mode %s\n", mode);
        return 2;
    }

    s = email_start_session_ex(host, (uint16_t)port, user, password, EMAIL_SECURITY_NONE,
                               "timeout_ms=120000");
    if (!s) {
        return fail("email_start_session_ex", NULL);
    }

    if (strncmp(mode, "getall", 6) == 0) {
        EmailList *list = NULL;
        size_t i, n;
        int full = strcmp(mode, "getall") == 0;
        int held = strcmp(mode, "getall-held") == 0;
        int headers = strcmp(mode, "getall-headers") == 0;
        if (!full && !held && !headers) {
            fprintf(stderr, "imapmail_bench: unknown mode %s\n", mode);
            return 2;
        }
        if (email_get_all(s, headers ? EMAIL_READ_HEADERS : EMAIL_READ_ALL, &list) != EMAIL_OK) {
            return fail("email_get_all", s);
        }
        n = email_list_count(list);
        for (i = 0; i < n; i++) {
            checksum += full ? touch_full(email_list_get(list, i))
                             : touch_headers(email_list_get(list, i));
        }
        count = n;
        email_list_free(list);
    } else {
        int headers = strcmp(mode, "headers") == 0;
        EmailMessage *m = NULL;
        rc = email_read_first(s, headers ? EMAIL_READ_HEADERS : EMAIL_READ_ALL, &m);
        while (rc == EMAIL_OK) {
            checksum += headers ? touch_headers(m) : touch_full(m);
            count++;
            email_message_free(m);
            m = NULL;
            rc = email_read_next(s, &m);
        }
        if (rc != EMAIL_OUT) {
            return fail(count == 0 ? "email_read_first" : "email_read_next", s);
        }
    }

    if (email_close_session(s) != EMAIL_OK) {
        fprintf(stderr, "imapmail_bench: email_close_session failed\n");
        return 1;
    }
    printf("messages=%llu checksum=%llu decode_errors=%llu\n", (unsigned long long)count,
           (unsigned long long)checksum, (unsigned long long)decode_errors);
    if (expected >= 0 && (uint64_t)expected != count) {
        fprintf(stderr, "imapmail_bench: read %llu messages, expected %ld\n",
                (unsigned long long)count, expected);
        return 1;
    }
    return 0;
}
