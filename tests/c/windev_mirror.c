/*
 * windev_mirror.c - the calling sequences of docs/windev.md, one to one, in C.
 *
 * WINDEV cannot run here, so this program does what the WLanguage code of the guide does, the
 * way WINDEV's API() does it: the library is loaded at run time (LoadDLL -> dlopen /
 * LoadLibrary), every function is looked up by its name at each call (API("imapmail.dll",
 * "email_...", ...) -> dlsym / GetProcAddress), handles are kept in system integers
 * (intptr_t), strings go in as NUL-terminated UTF-8 (StringToUTF8 + Charact(0)) and strings
 * come back as addresses converted with email_copy_utf16 / email_copy_utf8 (the guide's
 * ImapText procedure). Each numbered step names the section of docs/windev.md it mirrors.
 *
 *   windev_mirror LIBRARY HOST IMAPS_PORT IMAP_PORT USER CA_FILE SAVE_DIR
 *   (password in IMAPMAIL_PASSWORD)
 *
 * Expects the packaging fixture (tests/packaging/fixture.sh). Prints "ok N - ..." lines and
 * "N passed, M failed" at the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
typedef HMODULE dll_t;
static dll_t LoadDLL(const char *path) { return LoadLibraryA(path); }
static void *lookup(dll_t dll, const char *name) { return (void *)(intptr_t)GetProcAddress(dll, name); }
static void FreeDLL(dll_t dll) { FreeLibrary(dll); }
#else
#include <dlfcn.h>
typedef void *dll_t;
static dll_t LoadDLL(const char *path) { return dlopen(path, RTLD_NOW | RTLD_LOCAL); }
static void *lookup(dll_t dll, const char *name) { return dlsym(dll, name); }
static void FreeDLL(dll_t dll) { dlclose(dll); }
#endif

/* Constants as the guide declares them (CONSTANT block). */
#define EMAIL_OK 0
#define EMAIL_OUT 1
#define EMAIL_ERR_TLS (-4)
#define EMAIL_ERR_AUTH (-5)
#define EMAIL_ERR_NOT_FOUND (-11)
#define EMAIL_SECURITY_TLS 0
#define EMAIL_SECURITY_STARTTLS 1
#define EMAIL_READ_ALL 0
#define EMAIL_READ_UNREAD 1

static dll_t gDLL;
static int passed, failed;

static void check(int ok, const char *what, const char *detail)
{
    if (ok) {
        passed++;
        printf("ok %d - %s\n", passed + failed, what);
    } else {
        failed++;
        printf("FAIL %d - %s: %s\n", passed + failed, what, detail != NULL ? detail : "");
    }
}

static void *api(const char *name)
{
    void *f = lookup(gDLL, name);
    if (f == NULL) {
        fprintf(stderr, "windev_mirror: the library has no function %s\n", name);
        exit(1);
    }
    return f;
}

/* API(gsImapDLL, "name", args...) with the C types of imapmail.h. */
#define API(ret, name, params, ...) (((ret(*) params)api(name))(__VA_ARGS__))

/* ---- "Strings": ImapText(pText) - address of UTF-8 -> host string ------------------------ */
/* WINDEV: n = API(.., "email_copy_utf16", pText, Null, 0); buffer of n units; second call;
 * StringRetrieve(&buf, srUNICODEAddress). Here the UTF-16 is turned back into UTF-8 so the
 * test can compare it (and so proves the UTF-16 path, surrogate pairs included). */
static char *ImapText(intptr_t pText)
{
    size_t units, i, o = 0;
    uint16_t *buf;
    char *out;
    if (pText == 0) {
        out = malloc(1);
        if (out == NULL) {
            exit(1);
        }
        out[0] = '\0';
        return out;
    }
    units = API(size_t, "email_copy_utf16", (const char *, uint16_t *, size_t), (const char *)pText, NULL, 0);
    buf = calloc(units, sizeof *buf);
    out = malloc(units * 3 + 1);
    if (buf == NULL || out == NULL) {
        exit(1);
    }
    if (API(size_t, "email_copy_utf16", (const char *, uint16_t *, size_t), (const char *)pText, buf, units) != units) {
        check(0, "email_copy_utf16 gives the same size twice", NULL);
    }
    for (i = 0; i + 1 < units; i++) { /* UTF-16 -> UTF-8 */
        uint32_t c = buf[i];
        if (c >= 0xD800 && c < 0xDC00 && i + 2 < units && buf[i + 1] >= 0xDC00 && buf[i + 1] < 0xE000) {
            c = 0x10000 + ((c - 0xD800) << 10) + (buf[i + 1] - 0xDC00);
            i++;
        }
        if (c < 0x80) {
            out[o++] = (char)c;
        } else if (c < 0x800) {
            out[o++] = (char)(0xC0 | (c >> 6));
            out[o++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out[o++] = (char)(0xE0 | (c >> 12));
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (c & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | (c >> 18));
            out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[o] = '\0';
    free(buf);
    return out;
}

/* ---- "Errors": LastError() - the status and message of this thread's last call ----------- */
static int32_t LastError(char **message)
{
    int32_t code = API(int32_t, "email_last_error", (void));
    *message = ImapText((intptr_t)API(const char *, "email_last_error_message", (void)));
    return code;
}

/* ---- "Connecting": ImapConnect -------------------------------------------------------- */
static intptr_t ImapConnect(const char *host, int port, const char *user, const char *password, uint32_t security,
                            const char *ca_file, const char *folder)
{
    char options[2048];
    /* sOptions = "ca_file=" + Replace(sCA, ";", "\;") + ";folder=" + sFolder */
    snprintf(options, sizeof options, "ca_file=%s;folder=%s", ca_file, folder);
    return (intptr_t)API(void *, "email_start_session_ex",
                         (const char *, uint16_t, const char *, const char *, uint32_t, const char *), host,
                         (uint16_t)port, user, password, security, options);
}

int main(int argc, char **argv)
{
    const char *library, *host, *user, *ca_file, *save_dir, *password;
    int imaps_port, imap_port;
    intptr_t hSession, hMessage, hList, pText;
    int32_t nStatus;
    char *sText, *sMessage;
    int nCount = 0, nUnread = 0, nSaved = 0;
    size_t nAtt, i;

    if (argc != 8 || (password = getenv("IMAPMAIL_PASSWORD")) == NULL) {
        fprintf(stderr, "usage: windev_mirror LIBRARY HOST IMAPS_PORT IMAP_PORT USER CA_FILE SAVE_DIR "
                        "(password in IMAPMAIL_PASSWORD)\n");
        return 2;
    }
    library = argv[1];
    host = argv[2];
    imaps_port = atoi(argv[3]);
    imap_port = atoi(argv[4]);
    user = argv[5];
    ca_file = argv[6];
    save_dir = argv[7];

    /* 1. "Loading the DLL": LoadDLL(gsImapDLL); version */
    gDLL = LoadDLL(library);
    check(gDLL != NULL, "LoadDLL", library);
    if (gDLL == NULL) {
        printf("%d passed, %d failed\n", passed, failed + 1);
        return 1;
    }
    sText = ImapText((intptr_t)API(const char *, "email_version", (void)));
    check(strlen(sText) >= 5 && strchr(sText, '.') != NULL, "email_version read back", sText);
    free(sText);

    /* 2. "Errors": a wrong password -> 0 handle, EMAIL_ERR_AUTH and a readable message */
    hSession = ImapConnect(host, imaps_port, user, "Wr0ng-Secret-4711", EMAIL_SECURITY_TLS, ca_file, "INBOX");
    nStatus = LastError(&sMessage);
    check(hSession == 0 && nStatus == EMAIL_ERR_AUTH, "wrong password: 0 and EMAIL_ERR_AUTH", sMessage);
    check(sMessage[0] != '\0' && strstr(sMessage, "Wr0ng") == NULL, "error message readable, no password", sMessage);
    sText = ImapText((intptr_t)API(const char *, "email_status_name", (int32_t), nStatus));
    check(strcmp(sText, "EMAIL_ERR_AUTH") == 0, "email_status_name", sText);
    free(sText);
    free(sMessage);

    /* 2b. untrusted certificate: no ca_file */
    hSession = (intptr_t)API(void *, "email_start_session", (const char *, uint16_t, const char *, const char *, uint32_t),
                             host, (uint16_t)imaps_port, user, password, EMAIL_SECURITY_TLS);
    nStatus = LastError(&sMessage);
    check(hSession == 0 && nStatus == EMAIL_ERR_TLS && strstr(sMessage, "is not trusted") != NULL,
          "untrusted certificate: EMAIL_ERR_TLS, 'is not trusted'", sMessage);
    free(sMessage);

    /* 3. "Connecting": STARTTLS with ca_file, then implicit TLS */
    hSession = ImapConnect(host, imap_port, user, password, EMAIL_SECURITY_STARTTLS, ca_file, "INBOX");
    check(hSession != 0, "ImapConnect STARTTLS", NULL);
    if (hSession != 0) {
        check(API(int32_t, "email_close_session", (void *), (void *)hSession) == EMAIL_OK, "close STARTTLS session", NULL);
    }
    hSession = ImapConnect(host, imaps_port, user, password, EMAIL_SECURITY_TLS, ca_file, "INBOX");
    if (hSession == 0) {
        LastError(&sMessage);
        check(0, "ImapConnect TLS", sMessage);
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }
    check(1, "ImapConnect TLS", NULL);

    /* 4. "Reading every message" loop with the unread option:
     *   nStatus = API(.., "email_read_first", hSession, nReadFlags, &hMessage)
     *   WHILE nStatus = EMAIL_OK ... email_message_free ... email_read_next
     *   IF nStatus <> EMAIL_OUT THEN error */
    nStatus = API(int32_t, "email_read_first", (void *, uint32_t, void **), (void *)hSession, EMAIL_READ_UNREAD,
                  (void **)&hMessage);
    while (nStatus == EMAIL_OK) {
        uint32_t uid = API(uint32_t, "email_message_uid", (const void *), (const void *)hMessage);
        char *sSubject = ImapText((intptr_t)API(const char *, "email_message_subject", (const void *), (const void *)hMessage));
        char *sFrom = ImapText((intptr_t)API(const char *, "email_message_sender", (const void *), (const void *)hMessage));
        int read = API(int32_t, "email_message_is_read", (const void *), (const void *)hMessage);
        nUnread++;
        check(!read, "unread loop gives unread messages", sSubject);
        if (uid == 2) {
            check(strcmp(sSubject, "Gr\xC3\xBC\xC3\x9F" "e \xF0\x9F\x98\x80 \xF0\x9D\x84\x9E") == 0,
                  "UID 2 subject through UTF-16 (non-BMP)", sSubject);
            check(strcmp(sFrom, "Zo\xC3\xAB <zoe@example.com>") == 0, "UID 2 sender", sFrom);
        }
        /* 5. "Saving attachments": FOR i = 0 _TO_ nAtt - 1: email_attachment_save(hMessage, i, sDir) */
        nAtt = API(size_t, "email_message_attachment_count", (const void *), (const void *)hMessage);
        for (i = 0; i < nAtt; i++) {
            char *sName = ImapText((intptr_t)API(const char *, "email_attachment_name", (const void *, size_t),
                                                 (const void *)hMessage, i));
            size_t nLen = 0;
            pText = (intptr_t)API(const uint8_t *, "email_attachment_data", (const void *, size_t, size_t *),
                                  (const void *)hMessage, i, &nLen);
            nStatus = API(int32_t, "email_attachment_save", (const void *, size_t, const char *), (const void *)hMessage, i,
                          save_dir);
            check(nStatus == EMAIL_OK && pText != 0, "email_attachment_save", sName);
            if (strcmp(sName, "data.bin") == 0) {
                check(nLen == 256 && ((const uint8_t *)pText)[255] == 255, "attachment bytes via email_attachment_data", NULL);
            }
            nSaved += nStatus == EMAIL_OK;
            free(sName);
        }
        if (nAtt > 0) {
            /* "Errors": a failing call on a message -> status, then LastError() */
            nStatus = API(int32_t, "email_attachment_save", (const void *, size_t, const char *), (const void *)hMessage, 0,
                          "/nonexistent/imapmail-windev");
            LastError(&sMessage);
            check(nStatus == EMAIL_ERR_NOT_FOUND && sMessage[0] != '\0', "save into a missing folder: EMAIL_ERR_NOT_FOUND",
                  sMessage);
            free(sMessage);
        }
        free(sSubject);
        free(sFrom);
        API(void, "email_message_free", (void *), (void *)hMessage);
        nStatus = API(int32_t, "email_read_next", (void *, void **), (void *)hSession, (void **)&hMessage);
    }
    check(nStatus == EMAIL_OUT, "loop ends with EMAIL_OUT", NULL);
    check(nUnread == 2, "2 unread messages", NULL);
    check(nSaved == 2, "2 attachments saved", NULL);

    /* 6. "Reading all at once": email_get_all + email_list_count / email_list_get / email_list_free */
    nStatus = API(int32_t, "email_get_all", (void *, uint32_t, void **), (void *)hSession, EMAIL_READ_ALL, (void **)&hList);
    check(nStatus == EMAIL_OK && hList != 0, "email_get_all", NULL);
    nCount = (int)API(size_t, "email_list_count", (const void *), (const void *)hList);
    check(nCount == 3, "email_list_count = 3", NULL);
    for (i = 0; i < (size_t)nCount; i++) {
        intptr_t hItem = (intptr_t)API(const void *, "email_list_get", (const void *, size_t), (const void *)hList, i);
        char *sDate = ImapText((intptr_t)API(const char *, "email_message_date", (const void *), (const void *)hItem));
        check(hItem != 0 && sDate[0] != '\0', "list item has a date", sDate);
        free(sDate);
    }
    API(void, "email_list_free", (void *), (void *)hList);

    /* 7. "Strings": email_copy_utf8 into a host buffer, too small on purpose (cut at a character) */
    {
        const char *s = "a\xF0\x9F\x98\x80z"; /* a😀z */
        char small[4];
        size_t need = API(size_t, "email_copy_utf8", (const char *, char *, size_t), s, small, sizeof small);
        check(need == 7 && strcmp(small, "a") == 0, "email_copy_utf8 truncates at a character boundary", small);
        need = API(size_t, "email_copy_utf16", (const char *, uint16_t *, size_t), NULL, NULL, 0);
        check(need == 0 && API(int32_t, "email_last_error", (void)) == -1, "email_copy_utf16(NULL): 0, EMAIL_ERR_ARGUMENT",
              NULL);
    }

    /* 8. "Closing": email_close_session, FreeDLL */
    check(API(int32_t, "email_close_session", (void *), (void *)hSession) == EMAIL_OK, "email_close_session", NULL);
    check(API(int32_t, "email_close_session", (void *), (void *)hSession) == -2, "closing twice: EMAIL_ERR_HANDLE", NULL);
    FreeDLL(gDLL);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
