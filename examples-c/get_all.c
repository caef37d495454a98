/*
 * get_all - read every unread message of a folder at once with email_get_all and save every
 * attachment into a directory with email_attachment_save.
 *
 *   usage: get_all HOST PORT USER tls|starttls|none FOLDER DIRECTORY [CA_FILE]
 *
 * The password is taken from the environment variable IMAPMAIL_PASSWORD. DIRECTORY must
 * exist. Attachment names come from the messages, so they are untrusted: imapmail makes them
 * safe and never overwrites a file (it adds " (1)", " (2)", ... instead). Reading never changes
 * anything on the server (messages stay unread).
 *
 * Exit status: 0 when every attachment was saved, 2 on a usage error, 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imapmail.h"

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s HOST PORT USER tls|starttls|none FOLDER DIRECTORY [CA_FILE]\n"
            "       the password is read from the environment variable IMAPMAIL_PASSWORD\n",
            prog);
}

/* Appends "key=value;" to buf, escaping ';', '=' and '\' with a backslash. */
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
        if (used + (escape ? 2u : 1u) + 2u > size) {
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

/* The names present in a directory, to tell which file email_attachment_save created. */
struct names {
    char **items;
    size_t count, cap;
};

static int names_has(const struct names *n, const char *name)
{
    size_t i;
    for (i = 0; i < n->count; i++) {
        if (strcmp(n->items[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

static int names_add(struct names *n, const char *name)
{
    char *copy;
    if (n->count == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 16;
        char **items = realloc(n->items, cap * sizeof *items);
        if (items == NULL) {
            return -1;
        }
        n->items = items;
        n->cap = cap;
    }
    copy = malloc(strlen(name) + 1);
    if (copy == NULL) {
        return -1;
    }
    strcpy(copy, name);
    n->items[n->count++] = copy;
    return 0;
}

static void names_free(struct names *n)
{
    size_t i;
    for (i = 0; i < n->count; i++) {
        free(n->items[i]);
    }
    free(n->items);
    n->items = NULL;
    n->count = n->cap = 0;
}

/* Adds the directory's entries not yet known to n; the first new one goes to *added (or NULL).
 * Returns 0, or -1 when the directory cannot be read. */
static int scan_dir(const char *dir, struct names *n, const char **added)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (added != NULL) {
        *added = NULL;
    }
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || names_has(n, e->d_name)) {
            continue;
        }
        if (names_add(n, e->d_name) != 0) {
            closedir(d);
            return -1;
        }
        if (added != NULL && *added == NULL) {
            *added = n->items[n->count - 1];
        }
    }
    closedir(d);
    return 0;
}

int main(int argc, char **argv)
{
    const char *host, *user, *folder, *dir, *ca_file = NULL, *password;
    long port_value;
    char *end = NULL;
    uint32_t flags;
    char options[8192];
    EmailSession *session;
    EmailList *list = NULL;
    struct names known = {NULL, 0, 0};
    size_t i, j, count;
    unsigned long saved = 0, failed = 0;
    int32_t rc;

    if (argc != 7 && argc != 8) {
        usage(argv[0]);
        return 2;
    }
    host = argv[1];
    user = argv[3];
    folder = argv[5];
    dir = argv[6];
    if (argc == 8) {
        ca_file = argv[7];
    }
    errno = 0;
    port_value = strtol(argv[2], &end, 10);
    if (errno != 0 || end == argv[2] || *end != '\0' || port_value < 0 || port_value > 65535) {
        fprintf(stderr, "get_all: bad port '%s' (0 to 65535)\n", argv[2]);
        return 2;
    }
    if (strcmp(argv[4], "tls") == 0) {
        flags = EMAIL_SECURITY_TLS;
    } else if (strcmp(argv[4], "starttls") == 0) {
        flags = EMAIL_SECURITY_STARTTLS;
    } else if (strcmp(argv[4], "none") == 0) {
        flags = EMAIL_SECURITY_NONE;
    } else {
        fprintf(stderr, "get_all: bad security mode '%s' (tls, starttls or none)\n", argv[4]);
        return 2;
    }
    password = getenv("IMAPMAIL_PASSWORD");
    if (password == NULL) {
        fprintf(stderr, "get_all: set the environment variable IMAPMAIL_PASSWORD\n");
        return 2;
    }
    if (scan_dir(dir, &known, NULL) != 0) {
        fprintf(stderr, "get_all: cannot read directory '%s': %s\n", dir, strerror(errno));
        names_free(&known);
        return 2;
    }

    options[0] = '\0';
    if (append_option(options, sizeof options, "folder", folder) != 0 ||
        (ca_file != NULL && append_option(options, sizeof options, "ca_file", ca_file) != 0)) {
        fprintf(stderr, "get_all: folder name or CA file path too long\n");
        names_free(&known);
        return 2;
    }

    session = email_start_session_ex(host, (uint16_t)port_value, user, password, flags, options);
    if (session == NULL) {
        rc = email_last_error();
        fprintf(stderr, "get_all: cannot open %s on %s:%ld as %s: %s (%s)\n", folder, host,
                port_value, user, email_last_error_message(), email_status_name(rc));
        names_free(&known);
        return 1;
    }

    rc = email_get_all(session, EMAIL_READ_UNREAD, &list);
    if (rc != EMAIL_OK) {
        fprintf(stderr, "get_all: reading the unread messages failed: %s (%s)\n",
                email_last_error_message(), email_status_name(rc));
        email_close_session(session);
        names_free(&known);
        return 1;
    }
    /* The list and its messages stay valid after the session is closed. */
    rc = email_close_session(session);
    if (rc != EMAIL_OK) {
        fprintf(stderr, "get_all: closing the session failed: %s (%s)\n",
                email_last_error_message(), email_status_name(rc));
        failed++;
    }

    count = email_list_count(list);
    printf("%lu unread message(s) in %s\n", (unsigned long)count, folder);
    for (i = 0; i < count; i++) {
        const EmailMessage *m = email_list_get(list, i);
        size_t attachments = email_message_attachment_count(m);
        printf("UID %lu: %s (%lu attachment(s))\n", (unsigned long)email_message_uid(m),
               email_message_subject(m), (unsigned long)attachments);
        for (j = 0; j < attachments; j++) {
            const char *name = email_attachment_name(m, j);
            const char *file = NULL;
            size_t len = 0;
            (void)email_attachment_data(m, j, &len);
            rc = email_attachment_save(m, j, dir);
            if (rc != EMAIL_OK) {
                fprintf(stderr, "get_all: cannot save attachment %lu of UID %lu: %s (%s)\n",
                        (unsigned long)(j + 1), (unsigned long)email_message_uid(m),
                        email_last_error_message(), email_status_name(rc));
                failed++;
                continue;
            }
            if (scan_dir(dir, &known, &file) != 0) {
                file = NULL;
            }
            printf("  saved \"%s\" (%lu bytes) as %s/%s\n", name[0] != '\0' ? name : "(no name)",
                   (unsigned long)len, dir, file != NULL ? file : "?");
            saved++;
        }
    }
    email_list_free(list);
    names_free(&known);

    printf("%lu attachment(s) saved into %s, %lu failure(s)\n", saved, dir, failed);
    return failed == 0 ? 0 : 1;
}
