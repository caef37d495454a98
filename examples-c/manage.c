/*
 * manage - manage an IMAP mailbox with imapmail: list folders with their counts, archive old
 * read mail, mark a message unread, search.
 *
 *   usage: manage HOST PORT USER tls|starttls|none COMMAND [ARGS...]
 *
 *   folders                        every folder with its message and unread counts
 *   archive FOLDER DAYS DEST       move every read message of FOLDER that arrived more than
 *                                  DAYS days ago into DEST (created when missing)
 *   unread FOLDER UID              mark message UID of FOLDER unread
 *   search FOLDER TEXT [DAYS]      the unread messages of FOLDER from a sender containing
 *                                  TEXT (that arrived in the last DAYS days)
 *
 * The password is taken from the environment variable IMAPMAIL_PASSWORD (never from the
 * command line, where other users of the machine could see it); IMAPMAIL_CA_FILE may name a
 * PEM file of extra trusted certificates (e.g. the CA of a test server). PORT 0 means the
 * standard port of the security mode (993 for tls, 143 otherwise). Folder names are UTF-8.
 *
 * Exit status: 0 on success, 2 on a usage error, 1 when imapmail reports a failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imapmail.h"

#define DAY_SECONDS 86400

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s HOST PORT USER tls|starttls|none COMMAND [ARGS...]\n"
            "  folders                     list folders with message and unread counts\n"
            "  archive FOLDER DAYS DEST    move read messages older than DAYS days to DEST\n"
            "  unread FOLDER UID           mark a message unread\n"
            "  search FOLDER TEXT [DAYS]   unread messages from TEXT (of the last DAYS days)\n"
            "  password in IMAPMAIL_PASSWORD; extra CA file in IMAPMAIL_CA_FILE (optional)\n",
            prog);
}

/* Prints the session's last error and returns 1. */
static int fail(EmailSession *s, const char *what)
{
    fprintf(stderr, "manage: %s: %s (%s)\n", what, email_session_error_message(s),
            email_status_name(email_session_error(s)));
    return 1;
}

static int parse_number(const char *text, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    unsigned long v;
    if (text[0] < '0' || text[0] > '9') {
        return -1;
    }
    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        return -1;
    }
    *out = v;
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

/* Builds "ca_file=PATH" for email_start_session_ex, escaping ';', '=' and '\'. */
static int ca_option(char *buf, size_t size, const char *path)
{
    size_t used = 0;
    const char *prefix = "ca_file=";
    if (strlen(prefix) + 1 > size) {
        return -1;
    }
    strcpy(buf, prefix);
    used = strlen(prefix);
    for (; *path != '\0'; path++) {
        int escape = (*path == ';' || *path == '=' || *path == '\\');
        if (used + (escape ? 2u : 1u) + 1u > size) {
            return -1;
        }
        if (escape) {
            buf[used++] = '\\';
        }
        buf[used++] = *path;
    }
    buf[used] = '\0';
    return 0;
}

/* The special use of a folder, for display. */
static const char *special_use(uint32_t attributes)
{
    if (attributes & EMAIL_FOLDER_INBOX) return "inbox";
    if (attributes & EMAIL_FOLDER_SENT) return "sent";
    if (attributes & EMAIL_FOLDER_DRAFTS) return "drafts";
    if (attributes & EMAIL_FOLDER_TRASH) return "trash";
    if (attributes & EMAIL_FOLDER_JUNK) return "junk";
    if (attributes & EMAIL_FOLDER_ARCHIVE) return "archive";
    if (attributes & EMAIL_FOLDER_ALL) return "all mail";
    if (attributes & EMAIL_FOLDER_FLAGGED) return "flagged";
    return "";
}

/* folders: every folder with its counts (STATUS does not select the folder). */
static int list_folders(EmailSession *s)
{
    EmailStrings *folders = NULL;
    size_t i, count;
    if (email_list_folders(s, &folders) != EMAIL_OK) {
        return fail(s, "listing the folders");
    }
    count = email_strings_count(folders);
    printf("%-40s %8s %8s  %s\n", "folder", "messages", "unread", "use");
    for (i = 0; i < count; i++) {
        const char *name = email_strings_get(folders, i);
        uint32_t attributes = email_strings_attributes(folders, i);
        uint32_t messages = 0, unseen = 0;
        if (attributes & EMAIL_FOLDER_NOSELECT) {
            printf("%-40s %8s %8s  (hierarchy level only)\n", name, "-", "-");
            continue;
        }
        if (email_folder_status(s, name, &messages, &unseen, NULL, NULL) != EMAIL_OK) {
            fprintf(stderr, "manage: STATUS %s: %s\n", name, email_session_error_message(s));
            continue;
        }
        printf("%-40s %8lu %8lu  %s\n", name, (unsigned long)messages, (unsigned long)unseen,
               special_use(attributes));
    }
    printf("%lu folder(s); hierarchy delimiter \"%s\"\n", (unsigned long)count,
           count > 0 ? email_strings_delimiter(folders, 0) : "");
    email_strings_free(folders);
    return 0;
}

/* archive: read messages that arrived before (today - days) go to dest. */
static int archive(EmailSession *s, const char *folder, unsigned long days, const char *dest)
{
    uint32_t exists_messages = 0;
    EmailSearch *q;
    EmailUids *found = NULL;
    size_t i, n;
    unsigned long moved = 0;
    int status = 0;

    /* Create the destination when it is missing. */
    if (email_folder_status(s, dest, &exists_messages, NULL, NULL, NULL) == EMAIL_ERR_NOT_FOUND &&
        email_create_folder(s, dest) != EMAIL_OK) {
        return fail(s, "creating the destination folder");
    }
    if (email_select_folder(s, folder, 0) != EMAIL_OK) {
        return fail(s, "selecting the folder");
    }
    q = email_search_new();
    if (email_search_flags(q, EMAIL_FLAG_SEEN, 1) != EMAIL_OK ||
        email_search_before(q, (int64_t)time(NULL) - (int64_t)days * DAY_SECONDS) != EMAIL_OK) {
        fprintf(stderr, "manage: bad criteria: %s\n", email_last_error_message());
        email_search_free(q);
        return 1;
    }
    if (email_search(s, q, &found) != EMAIL_OK) {
        email_search_free(q);
        return fail(s, "searching");
    }
    email_search_free(q);
    n = email_uids_count(found);
    for (i = 0; i < n; i++) {
        uint32_t uid = email_uids_get(found, i), new_uid = 0;
        if (email_move_message(s, uid, dest, &new_uid) != EMAIL_OK) {
            status = fail(s, "moving a message");
            break;
        }
        moved++;
        if (new_uid != 0) {
            printf("moved UID %lu to %s (UID %lu there)\n", (unsigned long)uid, dest,
                   (unsigned long)new_uid);
        } else {
            printf("moved UID %lu to %s\n", (unsigned long)uid, dest);
        }
    }
    email_uids_free(found);
    /* Without MOVE and UIDPLUS the originals are only marked deleted: remove them (this never
     * removes messages that other programs marked deleted). */
    if (status == 0 && email_expunge(s) != EMAIL_OK) {
        status = fail(s, "expunging");
    }
    printf("%lu of %lu read message(s) older than %lu day(s) moved from %s to %s\n", moved,
           (unsigned long)n, days, folder, dest);
    return status;
}

/* unread: mark one message unread. */
static int mark_unread(EmailSession *s, const char *folder, uint32_t uid)
{
    if (email_select_folder(s, folder, 0) != EMAIL_OK) {
        return fail(s, "selecting the folder");
    }
    if (email_mark_read(s, uid, 0) != EMAIL_OK) {
        return fail(s, "marking the message unread");
    }
    printf("UID %lu of %s is unread now (%ld unread message(s))\n", (unsigned long)uid, folder,
           (long)email_count(s, EMAIL_READ_UNREAD));
    return 0;
}

/* search: "unread mail from TEXT since DAYS days", read with read_first/read_next. */
static int search(EmailSession *s, const char *folder, const char *from, long days)
{
    EmailSearch *q;
    EmailMessage *m = NULL;
    int32_t rc;
    unsigned long count = 0;

    if (email_select_folder(s, folder, 1) != EMAIL_OK) { /* read-only: nothing changes */
        return fail(s, "selecting the folder");
    }
    q = email_search_new();
    if (email_search_from(q, from) != EMAIL_OK ||
        (days >= 0 && email_search_since(q, (int64_t)time(NULL) - (int64_t)days * DAY_SECONDS) != EMAIL_OK)) {
        fprintf(stderr, "manage: bad criteria: %s\n", email_last_error_message());
        email_search_free(q);
        return 1;
    }
    /* EMAIL_READ_UNREAD adds "unread" to the criteria; headers are enough for a listing. */
    rc = email_read_first_search(s, q, EMAIL_READ_UNREAD | EMAIL_READ_HEADERS, &m);
    email_search_free(q);
    for (; rc == EMAIL_OK; rc = email_read_next(s, &m)) {
        printf("UID %-6lu %-30.30s %s\n", (unsigned long)email_message_uid(m),
               email_message_sender_address(m), email_message_subject(m));
        email_message_free(m);
        m = NULL;
        count++;
    }
    if (rc != EMAIL_OUT) {
        return fail(s, "reading the messages found");
    }
    printf("%lu unread message(s) from \"%s\"\n", count, from);
    return 0;
}

int main(int argc, char **argv)
{
    const char *host, *user, *command, *password, *ca_file;
    unsigned long port_number, number;
    uint32_t flags;
    char options[8192] = "";
    EmailSession *s;
    int status;

    if (argc < 6) {
        usage(argv[0]);
        return 2;
    }
    host = argv[1];
    user = argv[3];
    command = argv[5];
    if (parse_number(argv[2], 65535, &port_number) != 0 || parse_security(argv[4], &flags) != 0) {
        usage(argv[0]);
        return 2;
    }
    if (!((strcmp(command, "folders") == 0 && argc == 6) ||
          (strcmp(command, "archive") == 0 && argc == 9) ||
          (strcmp(command, "unread") == 0 && argc == 8) ||
          (strcmp(command, "search") == 0 && (argc == 8 || argc == 9)))) {
        usage(argv[0]);
        return 2;
    }
    password = getenv("IMAPMAIL_PASSWORD");
    if (password == NULL) {
        fprintf(stderr, "manage: set the environment variable IMAPMAIL_PASSWORD\n");
        return 2;
    }
    ca_file = getenv("IMAPMAIL_CA_FILE");
    if (ca_file != NULL && ca_file[0] != '\0' && ca_option(options, sizeof options, ca_file) != 0) {
        fprintf(stderr, "manage: IMAPMAIL_CA_FILE is too long\n");
        return 2;
    }

    s = email_start_session_ex(host, (uint16_t)port_number, user, password, flags, options);
    if (s == NULL) {
        fprintf(stderr, "manage: cannot log in to %s as %s: %s (%s)\n", host, user,
                email_last_error_message(), email_status_name(email_last_error()));
        return 1;
    }

    if (strcmp(command, "folders") == 0) {
        status = list_folders(s);
    } else if (strcmp(command, "archive") == 0) {
        if (parse_number(argv[7], 100000, &number) != 0) {
            fprintf(stderr, "manage: DAYS must be a number of days, not '%s'\n", argv[7]);
            status = 2;
        } else {
            status = archive(s, argv[6], number, argv[8]);
        }
    } else if (strcmp(command, "unread") == 0) {
        if (parse_number(argv[7], 4294967295UL, &number) != 0 || number == 0) {
            fprintf(stderr, "manage: UID must be a positive number, not '%s'\n", argv[7]);
            status = 2;
        } else {
            status = mark_unread(s, argv[6], (uint32_t)number);
        }
    } else {
        long days = -1;
        if (argc == 9) {
            if (parse_number(argv[8], 100000, &number) != 0) {
                fprintf(stderr, "manage: DAYS must be a number of days, not '%s'\n", argv[8]);
                email_close_session(s);
                return 2;
            }
            days = (long)number;
        }
        status = search(s, argv[6], argv[7], days);
    }

    if (email_close_session(s) != EMAIL_OK && status == 0) {
        fprintf(stderr, "manage: closing the session failed: %s\n", email_last_error_message());
        status = 1;
    }
    return status;
}
