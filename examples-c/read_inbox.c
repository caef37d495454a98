/*
 * read_inbox - read a folder of an IMAP mailbox with imapmail and print a summary of each
 * message: UID, date, sender, subject, read flag and attachment names.
 *
 *   usage: read_inbox HOST PORT USER tls|starttls|none FOLDER UNREAD_ONLY(0|1) [CA_FILE]
 *
 * The password is taken from the environment variable IMAPMAIL_PASSWORD (never from the
 * command line, where other users of the machine could see it). PORT 0 means the standard
 * port of the security mode (993 for tls, 143 otherwise). CA_FILE is a PEM file of extra
 * trusted certificates (e.g. the CA of a test server).
 *
 * Reading never changes anything on the server (no \Seen is set).
 *
 * Exit status: 0 on success, 2 on a usage error, 1 when imapmail reports a failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imapmail.h"

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s HOST PORT USER tls|starttls|none FOLDER UNREAD_ONLY(0|1) [CA_FILE]\n"
            "       the password is read from the environment variable IMAPMAIL_PASSWORD\n",
            prog);
}

/* Appends "key=value;" to buf, escaping ';', '=' and '\' in the value with a backslash as
 * email_start_session_ex expects. Returns 0, or -1 when buf is too small. */
static int append_option(char *buf, size_t size, const char *key, const char *value)
{
    size_t used = strlen(buf);
    const char *p;
    int n = snprintf(buf + used, size - used, "%s=", key);
    if (n < 0 || (size_t)n >= size - used) {
        return -1;
    }
    used += (size_t)n;
    for (p = value; *p != '\0'; p++) {
        int escape = (*p == ';' || *p == '=' || *p == '\\');
        if (used + (escape ? 2u : 1u) + 2u > size) { /* + ';' + NUL */
            return -1;
        }
        if (escape) {
            buf[used++] = '\\';
        }
        buf[used++] = *p;
    }
    buf[used++] = ';';
    buf[used] = '\0';
    return 0;
}

static int parse_security(const char *text, uint32_t *flags)
{
    if (strcmp(text, "tls") == 0) {
        *flags = EMAIL_SECURITY_TLS;
    } else if (strcmp(text, "starttls") == 0) {
        *flags = EMAIL_SECURITY_STARTTLS;
    } else if (strcmp(text, "none") == 0) {
        *flags = EMAIL_SECURITY_NONE;
    } else {
        return -1;
    }
    return 0;
}

static int parse_port(const char *text, uint16_t *port)
{
    char *end = NULL;
    long v;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0 || v > 65535) {
        return -1;
    }
    *port = (uint16_t)v;
    return 0;
}

static void print_message(const EmailMessage *m)
{
    size_t i, count = email_message_attachment_count(m);

    printf("UID %lu\n", (unsigned long)email_message_uid(m));
    printf("  Date:    %s\n", email_message_date(m));
    printf("  From:    %s\n", email_message_sender(m));
    printf("  Subject: %s\n", email_message_subject(m));
    printf("  Read:    %s\n", email_message_is_read(m) ? "yes" : "no");
    if (email_message_error(m) != EMAIL_OK) {
        printf("  Warning: %s\n", email_message_error_message(m));
    }
    for (i = 0; i < count; i++) {
        size_t len = 0;
        const char *name = email_attachment_name(m, i);
        const char *type = email_attachment_content_type(m, i);
        (void)email_attachment_data(m, i, &len);
        printf("  Attachment %lu: %s (%s, %lu bytes%s)\n", (unsigned long)(i + 1),
               (name != NULL && name[0] != '\0') ? name : "(no name)", type != NULL ? type : "?",
               (unsigned long)len, email_attachment_is_inline(m, i) ? ", inline" : "");
    }
}

int main(int argc, char **argv)
{
    const char *host, *user, *folder, *ca_file = NULL, *password;
    uint16_t port;
    uint32_t flags, read_flags;
    char options[8192];
    EmailSession *session;
    EmailMessage *m = NULL;
    int32_t rc;
    unsigned long count = 0;
    int status = 0;

    if (argc != 7 && argc != 8) {
        usage(argv[0]);
        return 2;
    }
    host = argv[1];
    user = argv[3];
    folder = argv[5];
    if (argc == 8) {
        ca_file = argv[7];
    }
    if (parse_port(argv[2], &port) != 0) {
        fprintf(stderr, "read_inbox: bad port '%s' (0 to 65535)\n", argv[2]);
        return 2;
    }
    if (parse_security(argv[4], &flags) != 0) {
        fprintf(stderr, "read_inbox: bad security mode '%s' (tls, starttls or none)\n", argv[4]);
        return 2;
    }
    if (strcmp(argv[6], "0") == 0) {
        read_flags = EMAIL_READ_ALL;
    } else if (strcmp(argv[6], "1") == 0) {
        read_flags = EMAIL_READ_UNREAD;
    } else {
        fprintf(stderr, "read_inbox: UNREAD_ONLY must be 0 or 1, not '%s'\n", argv[6]);
        return 2;
    }
    password = getenv("IMAPMAIL_PASSWORD");
    if (password == NULL) {
        fprintf(stderr, "read_inbox: set the environment variable IMAPMAIL_PASSWORD\n");
        return 2;
    }

    options[0] = '\0';
    if (append_option(options, sizeof options, "folder", folder) != 0 ||
        (ca_file != NULL && append_option(options, sizeof options, "ca_file", ca_file) != 0)) {
        fprintf(stderr, "read_inbox: folder name or CA file path too long\n");
        return 2;
    }

    session = email_start_session_ex(host, port, user, password, flags, options);
    if (session == NULL) {
        rc = email_last_error();
        fprintf(stderr, "read_inbox: cannot open %s on %s:%u as %s: %s (%s)\n", folder, host,
                (unsigned)port, user, email_last_error_message(), email_status_name(rc));
        return 1;
    }
    printf("imapmail %s: reading %s%s on %s as %s\n", email_version(),
           read_flags == EMAIL_READ_UNREAD ? "unread messages of " : "", folder, host, user);

    for (rc = email_read_first(session, read_flags, &m); rc == EMAIL_OK;
         rc = email_read_next(session, &m)) {
        print_message(m);
        email_message_free(m);
        m = NULL;
        count++;
    }
    if (rc == EMAIL_OUT) {
        printf("%lu message(s)\n", count);
    } else {
        fprintf(stderr, "read_inbox: reading failed after %lu message(s): %s (%s)\n", count,
                email_last_error_message(), email_status_name(rc));
        status = 1;
    }

    rc = email_close_session(session);
    if (rc != EMAIL_OK) {
        fprintf(stderr, "read_inbox: closing the session failed: %s (%s)\n",
                email_last_error_message(), email_status_name(rc));
        status = 1;
    }
    return status;
}
