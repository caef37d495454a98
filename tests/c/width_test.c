/* Result width: every intptr_t export of imapmail.h, called the way the hosts read it.
 *
 * 64-bit WINDEV's API() reads a result as a "system int", the whole 8-byte result register;
 * 32-bit WINDEV and C read 4 bytes. imapmail returns every signed integer result as an intptr_t
 * so that both see the documented value (-2 stays -2, never 4294967294). This program loads
 * the library at run time (dlopen/dlsym, or LoadLibrary/GetProcAddress on Windows), as those
 * hosts do, and calls each export whose header result is intptr_t twice:
 *   - through a pointer typed as returning intptr_t (the whole register: 8 bytes on 64-bit);
 *   - through a pointer typed as returning int32_t (the lower 4 bytes);
 * with arguments that make it fail (NULL or bad handles, bad arguments), and checks the exact
 * negative status each time. Built with -DWIDTH_STDCALL for 32-bit Windows, it calls the
 * __stdcall entry points of imapmail_stdcall.dll (what 32-bit WINDEV loads) instead.
 *
 *   width_test LIBRARY        prints "covered: NAME" per export checked, then a summary;
 *                             exits 1 on the first wrong value or missing export.
 *
 * tests/suites/width.sh compares the covered names with the header's intptr_t functions, so
 * an export added without a line here fails the suite.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imapmail.h"

#ifdef _WIN32
#include <windows.h>
#ifdef WIDTH_STDCALL
#define CONV __stdcall
#else
#define CONV __cdecl
#endif
static HMODULE lib;
static void *lookup(const char *name)
{
    FARPROC p = GetProcAddress(lib, name);
    void *v;
    memcpy(&v, &p, sizeof v);
    return v;
}
static int open_library(const char *path)
{
    lib = LoadLibraryA(path);
    return lib != NULL;
}
#else
#include <dlfcn.h>
#define CONV
static void *lib;
static void *lookup(const char *name) { return dlsym(lib, name); }
static int open_library(const char *path)
{
    lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    return lib != NULL;
}
#endif

static int checked;

static void fail(const char *what)
{
    fprintf(stderr, "width_test: FAIL: %s\n", what);
    exit(1);
}

static void check(const char *name, const char *reading, long long got, long long want)
{
    if (got != want) {
        fprintf(stderr, "width_test: FAIL: %s read as %s gave %lld, expected %lld\n", name, reading, got, want);
        exit(1);
    }
    checked++;
}

/* Calls NAME with ARGS through a pointer of parameter list PARAMS returning intptr_t, then
 * through one returning int32_t, and checks both results against WANT. The two pointer types
 * are copied from the looked-up address with memcpy (ISO C has no object-to-function cast). */
#define CALL(name, want, params, args)                                                            \
    do {                                                                                          \
        typedef intptr_t(CONV * wide_fn) params;                                                  \
        typedef int32_t(CONV * narrow_fn) params;                                                 \
        void *addr = lookup(#name);                                                               \
        wide_fn wide;                                                                             \
        narrow_fn narrow;                                                                         \
        if (addr == NULL) fail("export " #name " not found");                                     \
        memcpy(&wide, &addr, sizeof wide);                                                        \
        memcpy(&narrow, &addr, sizeof narrow);                                                    \
        check(#name, "intptr_t", (long long)wide args, (long long)(want));                        \
        check(#name, "int32_t", (long long)narrow args, (long long)(want));                       \
        printf("covered: %s\n", #name);                                                           \
    } while (0)

/* A pointer-returning export, for the few helpers this program needs. */
#define PTR_FN(var, type, name, params)                                                           \
    type(CONV * var) params;                                                                      \
    do {                                                                                          \
        void *addr = lookup(#name);                                                               \
        if (addr == NULL) fail("export " #name " not found");                                     \
        memcpy(&var, &addr, sizeof var);                                                          \
    } while (0)

int main(int argc, char **argv)
{
    EmailSession *no_session = NULL;
    EmailMessage *m = NULL;
    EmailList *list = NULL;
    EmailStrings *strings = NULL;
    EmailUids *uids = NULL;
    EmailSearch *q;
    uint32_t u32 = 0;
    uint64_t done = 7, total = 7;
    const uint8_t raw[] = "Subject: x\r\n\r\nbody\r\n";
    const char *name;

    if (argc != 2) {
        fprintf(stderr, "usage: width_test LIBRARY\n");
        return 2;
    }
    if (!open_library(argv[1])) {
        fprintf(stderr, "width_test: cannot load %s\n", argv[1]);
        return 1;
    }
    printf("width_test: %u-bit, intptr_t is %u bytes\n", (unsigned)(sizeof(void *) * 8), (unsigned)sizeof(intptr_t));
    {
        PTR_FN(search_new, EmailSearch *, email_search_new, (void));
        q = search_new();
        if (q == NULL) fail("email_search_new gave NULL");
    }

    /* Reading and sessions. Arguments are checked before the handle where the header says so. */
    CALL(email_read_first, EMAIL_ERR_HANDLE, (EmailSession *, uint32_t, EmailMessage **), (no_session, 0, &m));
    CALL(email_last_error, EMAIL_ERR_HANDLE, (void), ());
    CALL(email_read_next, EMAIL_ERR_ARGUMENT, (EmailSession *, EmailMessage **), (no_session, NULL));
    CALL(email_get_all, EMAIL_ERR_ARGUMENT, (EmailSession *, uint32_t, EmailList **), (no_session, 0x80u, &list));
    CALL(email_close_session, EMAIL_ERR_HANDLE, (EmailSession *), (no_session));
    CALL(email_session_error, EMAIL_ERR_HANDLE, (const EmailSession *), (no_session));
    CALL(email_session_progress, EMAIL_ERR_HANDLE, (const EmailSession *, uint64_t *, uint64_t *),
         (no_session, &done, &total));
    if (done != 0 || total != 0) fail("email_session_progress on no session left done/total non-zero");
    CALL(email_set_progress_callback, EMAIL_ERR_HANDLE, (EmailSession *, EmailProgressCallback, void *),
         (no_session, NULL, NULL));
    CALL(email_set_trace_callback, EMAIL_ERR_HANDLE, (EmailSession *, EmailTraceCallback, void *),
         (no_session, NULL, NULL));
    {
        char line[16];
        CALL(email_session_trace_next, EMAIL_ERR_HANDLE, (const EmailSession *, char *, size_t),
             (no_session, line, sizeof line));
    }
    CALL(email_count, EMAIL_ERR_HANDLE, (EmailSession *, uint32_t), (no_session, 0));
    CALL(email_idle, EMAIL_ERR_HANDLE, (EmailSession *, uint32_t, uint32_t *), (no_session, 0, &u32));

    /* Folders. */
    CALL(email_list_folders, EMAIL_ERR_ARGUMENT, (EmailSession *, EmailStrings **), (no_session, NULL));
    CALL(email_list_subscribed, EMAIL_ERR_HANDLE, (EmailSession *, EmailStrings **), (no_session, &strings));
    CALL(email_select_folder, EMAIL_ERR_HANDLE, (EmailSession *, const char *, int32_t), (no_session, "INBOX", 1));
    CALL(email_create_folder, EMAIL_ERR_HANDLE, (EmailSession *, const char *), (no_session, "A"));
    CALL(email_delete_folder, EMAIL_ERR_HANDLE, (EmailSession *, const char *), (no_session, "A"));
    CALL(email_rename_folder, EMAIL_ERR_HANDLE, (EmailSession *, const char *, const char *), (no_session, "A", "B"));
    CALL(email_subscribe_folder, EMAIL_ERR_HANDLE, (EmailSession *, const char *), (no_session, "A"));
    CALL(email_unsubscribe_folder, EMAIL_ERR_HANDLE, (EmailSession *, const char *), (no_session, "A"));
    CALL(email_folder_status, EMAIL_ERR_HANDLE,
         (EmailSession *, const char *, uint32_t *, uint32_t *, uint32_t *, uint32_t *),
         (no_session, "INBOX", &u32, &u32, &u32, &u32));

    /* Flags and moving, by UID and by message. */
    CALL(email_mark_read, EMAIL_ERR_HANDLE, (EmailSession *, uint32_t, int32_t), (no_session, 1, 1));
    CALL(email_set_flags, EMAIL_ERR_HANDLE, (EmailSession *, uint32_t, uint32_t, int32_t), (no_session, 1, EMAIL_FLAG_FLAGGED, 1));
    CALL(email_add_keyword, EMAIL_ERR_ARGUMENT, (EmailSession *, uint32_t, const char *), (no_session, 1, "two words"));
    CALL(email_remove_keyword, EMAIL_ERR_HANDLE, (EmailSession *, uint32_t, const char *), (no_session, 1, "Work"));
    CALL(email_delete_message, EMAIL_ERR_HANDLE, (EmailSession *, uint32_t), (no_session, 1));
    CALL(email_expunge, EMAIL_ERR_HANDLE, (EmailSession *), (no_session));
    CALL(email_move_message, EMAIL_ERR_HANDLE, (EmailSession *, uint32_t, const char *, uint32_t *), (no_session, 1, "A", &u32));
    CALL(email_copy_message, EMAIL_ERR_HANDLE, (EmailSession *, uint32_t, const char *, uint32_t *), (no_session, 1, "A", &u32));
    CALL(email_append, EMAIL_ERR_HANDLE,
         (EmailSession *, const char *, const uint8_t *, size_t, uint32_t, int64_t, uint32_t *),
         (no_session, "INBOX", raw, sizeof raw - 1, 0, INT64_C(1577966400), &u32));
    CALL(email_message_mark_read, EMAIL_ERR_HANDLE, (EmailSession *, const EmailMessage *, int32_t), (no_session, NULL, 1));
    CALL(email_message_set_flags, EMAIL_ERR_HANDLE, (EmailSession *, const EmailMessage *, uint32_t, int32_t),
         (no_session, NULL, EMAIL_FLAG_SEEN, 0));
    CALL(email_message_delete, EMAIL_ERR_HANDLE, (EmailSession *, const EmailMessage *), (no_session, NULL));
    CALL(email_message_move, EMAIL_ERR_HANDLE, (EmailSession *, const EmailMessage *, const char *, uint32_t *),
         (no_session, NULL, "A", &u32));
    CALL(email_message_copy, EMAIL_ERR_HANDLE, (EmailSession *, const EmailMessage *, const char *, uint32_t *),
         (no_session, NULL, "A", &u32));
    CALL(email_message_load_body, EMAIL_ERR_HANDLE, (EmailSession *, const EmailMessage *), (no_session, NULL));

    /* Messages: a status, two 0/1 answers (0 for no message), and saving. */
    CALL(email_message_error, EMAIL_ERR_HANDLE, (const EmailMessage *), (NULL));
    CALL(email_message_is_read, 0, (const EmailMessage *), (NULL));
    CALL(email_attachment_is_inline, 0, (const EmailMessage *, size_t), (NULL, 0));
    CALL(email_attachment_save, EMAIL_ERR_HANDLE, (const EmailMessage *, size_t, const char *), (NULL, 0, "."));

    /* Search: a real query with bad arguments (the 64-bit dates also check that an int64_t
     * argument arrives whole, which matters for the 32-bit stack), and a NULL query. */
    CALL(email_search_flags, EMAIL_ERR_ARGUMENT, (EmailSearch *, uint32_t, int32_t), (q, 0x80000000u, 1));
    CALL(email_search_keyword, EMAIL_ERR_ARGUMENT, (EmailSearch *, const char *, int32_t), (q, "a b", 1));
    CALL(email_search_from, EMAIL_ERR_ARGUMENT, (EmailSearch *, const char *), (q, NULL));
    CALL(email_search_to, EMAIL_ERR_ARGUMENT, (EmailSearch *, const char *), (q, "a\r\nb"));
    CALL(email_search_cc, EMAIL_ERR_HANDLE, (EmailSearch *, const char *), (NULL, "a"));
    CALL(email_search_bcc, EMAIL_ERR_ARGUMENT, (EmailSearch *, const char *), (q, NULL));
    CALL(email_search_subject, EMAIL_ERR_HANDLE, (EmailSearch *, const char *), (NULL, "a"));
    CALL(email_search_body, EMAIL_ERR_ARGUMENT, (EmailSearch *, const char *), (q, NULL));
    CALL(email_search_text, EMAIL_ERR_HANDLE, (EmailSearch *, const char *), (NULL, "a"));
    CALL(email_search_header, EMAIL_ERR_ARGUMENT, (EmailSearch *, const char *, const char *), (q, NULL, "a"));
    CALL(email_search_since, EMAIL_ERR_ARGUMENT, (EmailSearch *, int64_t), (q, INT64_MAX));
    CALL(email_search_before, EMAIL_ERR_ARGUMENT, (EmailSearch *, int64_t), (q, INT64_MIN));
    CALL(email_search_on, EMAIL_OK, (EmailSearch *, int64_t), (q, INT64_C(1577966400)));
    CALL(email_search_sent_since, EMAIL_ERR_ARGUMENT, (EmailSearch *, int64_t), (q, INT64_MAX));
    CALL(email_search_sent_before, EMAIL_ERR_HANDLE, (EmailSearch *, int64_t), (NULL, 0));
    CALL(email_search_sent_on, EMAIL_ERR_ARGUMENT, (EmailSearch *, int64_t), (q, INT64_MIN));
    CALL(email_search_larger, EMAIL_ERR_HANDLE, (EmailSearch *, uint32_t), (NULL, 1));
    CALL(email_search_smaller, EMAIL_ERR_HANDLE, (EmailSearch *, uint32_t), (NULL, 1));
    CALL(email_search_uid_range, EMAIL_ERR_ARGUMENT, (EmailSearch *, uint32_t, uint32_t), (q, 5, 1));
    CALL(email_search_and, EMAIL_ERR_HANDLE, (EmailSearch *, const EmailSearch *), (q, NULL));
    CALL(email_search_or, EMAIL_ERR_HANDLE, (EmailSearch *, const EmailSearch *, const EmailSearch *), (q, q, NULL));
    CALL(email_search_not, EMAIL_ERR_HANDLE, (EmailSearch *, const EmailSearch *), (NULL, q));
    CALL(email_search, EMAIL_ERR_HANDLE, (EmailSession *, const EmailSearch *, EmailUids **), (no_session, q, &uids));
    CALL(email_read_first_search, EMAIL_ERR_HANDLE, (EmailSession *, const EmailSearch *, uint32_t, EmailMessage **),
         (no_session, q, 0, &m));

    /* email_status_name takes an intptr_t but reads only its lower 32 bits: a status passed as
     * a 4-byte integer (upper half unspecified) or zero-filled (4294967294 on 64-bit) is -2. */
    {
        PTR_FN(status_name, const char *, email_status_name, (intptr_t));
        PTR_FN(search_free, void, email_search_free, (EmailSearch *));
        name = status_name(EMAIL_ERR_HANDLE);
        if (strcmp(name, "EMAIL_ERR_HANDLE") != 0) fail("email_status_name(EMAIL_ERR_HANDLE)");
        if (sizeof(intptr_t) == 8) {
            name = status_name((intptr_t)(((int64_t)1 << 32) - 2));
            if (strcmp(name, "EMAIL_ERR_HANDLE") != 0) fail("email_status_name(4294967294) is not EMAIL_ERR_HANDLE");
            name = status_name((intptr_t)(((int64_t)0x5a5a5a5a << 32) | 0xfffffffbu));
            if (strcmp(name, "EMAIL_ERR_AUTH") != 0) fail("email_status_name(-5 with a non-zero upper half) is not EMAIL_ERR_AUTH");
        }
        name = status_name(-1000);
        if (strcmp(name, "EMAIL_ERR_UNKNOWN") != 0) fail("email_status_name(-1000) is not EMAIL_ERR_UNKNOWN");
        search_free(q);
    }
    if (m != NULL || list != NULL || strings != NULL || uids != NULL) fail("a failed call left an out pointer set");
    printf("width_test: %d checks passed\n", checked);
    return 0;
}
