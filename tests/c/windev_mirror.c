/*
 * windev_mirror.c - the WLanguage of docs/windev.md and docs/windev/cIMAPMail.wl, call for call,
 * in C, the way WINDEV's API() makes those calls.
 *
 * WINDEV cannot run here, so this program does what that WLanguage does, at the level of the
 * machine: the library is loaded at run time (LoadDLL -> dlopen / LoadLibrary) and every function
 * is looked up by its name at each call (API(Library, "email_...", ...) -> dlsym /
 * GetProcAddress). It is then called through a pointer typed the way WINDEV passes arguments,
 * never through the prototypes of imapmail.h:
 *   - API(): every argument is a system int (intptr_t): handles, addresses, sizes, and the int
 *     and boolean values, which 64-bit WINDEV widens to the register; the result is read as a
 *     whole system int (intptr_t), so a status must come back with its sign in all 64 bits
 *     (EMAIL_ERR_HANDLE reads as -2, not 4294967294);
 *   - API Description: each argument and the result has the declared type (apiSystemInt ->
 *     intptr_t, apiInt_4 -> int32_t, apiInt_8 -> int64_t);
 *   - variables whose address is passed (&nUID, &hMessage, &nLength) have the width of the
 *     WLanguage variable: int -> int32_t, system int -> intptr_t;
 *   - unsigned 32-bit results (UIDs, flags, attributes, 0/1) are read as a system int and cut
 *     to their low 32 bits, as cIMAPMail::U32 does.
 * Text goes in as NUL-terminated UTF-8 (U8) and comes back through email_copy_utf16 (ImapText).
 *
 * Each C function below is named after the WLanguage method or procedure it mirrors and makes
 * the same calls in the same order. tests/suites/windev_mirror.sh checks (with
 * scripts/gen-windev-reference --check-mirror) that every API() call of the guide and the class
 * appears here with the same number of arguments.
 *
 *   windev_mirror LIBRARY HOST IMAPS_PORT IMAP_PORT USER CA_FILE SAVE_DIR
 *   (password in IMAPMAIL_PASSWORD)
 *
 * By default every session uses TLS (implicit TLS, one STARTTLS session) with CA_FILE. With
 * WINDEV_MIRROR_SECURITY=none (the x86 run under Wine 8, whose SChannel stalls on TLS records
 * split across reads and fails CA-issued chains with CERT_E_REVOCATION_FAILURE) the sessions use
 * EMAIL_SECURITY_NONE on IMAP_PORT and the program says which TLS checks it did not make
 * (tests/suites/windows.sh checks TLS under Wine with its own certificates).
 *
 * Expects the packaging fixture (tests/packaging/fixture.sh). Prints "ok N - ..." lines and
 * "N passed, M failed" at the end.
 */
#define _GNU_SOURCE /* strdup */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#ifdef _WIN32
#include <direct.h>
#define MAKEDIR(path) _mkdir(path)
#else
#define MAKEDIR(path) mkdir(path, 0700)
#endif

/* 32-bit Windows: API() calls __stdcall functions (imapmail_stdcall.dll); elsewhere there is one
 * convention. */
#if defined(_WIN32) && !defined(_WIN64)
#define WDCALL __stdcall
#else
#define WDCALL
#endif

#ifdef _WIN32
#include <windows.h>
typedef HMODULE dll_t;
static dll_t LoadDLL(const char *path) { return LoadLibraryA(path); }
static void *lookup(dll_t dll, const char *name) { return (void *)(intptr_t)GetProcAddress(dll, name); }
static void FreeDLL(dll_t dll) { FreeLibrary(dll); }
typedef HANDLE thread_t;
static DWORD WINAPI thread_main(LPVOID arg);
static int StartThread(thread_t *t, void *arg)
{
    *t = CreateThread(NULL, 0, thread_main, arg, 0, NULL);
    return *t != NULL;
}
static void JoinThread(thread_t t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
static void Pause200ms(void) { Sleep(200); }
#else
#include <dlfcn.h>
#include <pthread.h>
#include <time.h>
typedef pthread_t thread_t;
static void *thread_main(void *arg);
static int StartThread(thread_t *t, void *arg) { return pthread_create(t, NULL, thread_main, arg) == 0; }
static void JoinThread(thread_t t) { pthread_join(t, NULL); }
static void Pause200ms(void)
{
    struct timespec ts = {0, 200000000L};
    nanosleep(&ts, NULL);
}
typedef void *dll_t;
static dll_t LoadDLL(const char *path) { return dlopen(path, RTLD_NOW | RTLD_LOCAL); }
static void *lookup(dll_t dll, const char *name) { return dlsym(dll, name); }
static void FreeDLL(dll_t dll) { dlclose(dll); }
#endif

/* The constants of the guide's CONSTANT block (the same values as imapmail.h; the suite checks
 * the guide's and the class's blocks against the header). */
#define EMAIL_OK 0
#define EMAIL_OUT 1
#define EMAIL_ERR_HANDLE (-2)
#define EMAIL_ERR_TLS (-4)
#define EMAIL_ERR_AUTH (-5)
#define EMAIL_ERR_NOT_FOUND (-11)
#define EMAIL_FLAG_SEEN 1
#define EMAIL_FLAG_FLAGGED 4
#define EMAIL_TO 0
#define EMAIL_CC 1
#define EMAIL_BCC 2
#define EMAIL_REPLY_TO 3
#define EMAIL_SECURITY_TLS 0
#define EMAIL_SECURITY_STARTTLS 1
#define EMAIL_SECURITY_NONE 2
#define EMAIL_READ_ALL 0
#define EMAIL_READ_UNREAD 1
#define EMAIL_READ_HEADERS 2
#define EMAIL_READ_MARK_SEEN 4
#define EMAIL_FOLDER_INBOX 256

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
    fflush(stdout);
}

static void *fn(const char *name)
{
    void *f = lookup(gDLL, name);
    if (f == NULL) {
        fprintf(stderr, "windev_mirror: the library has no function %s\n", name);
        exit(1);
    }
    return f;
}

/* API(Library, "name", a, b, ...): system int arguments, system int result. */
typedef intptr_t (WDCALL *api0_t)(void);
typedef intptr_t (WDCALL *api1_t)(intptr_t);
typedef intptr_t (WDCALL *api2_t)(intptr_t, intptr_t);
typedef intptr_t (WDCALL *api3_t)(intptr_t, intptr_t, intptr_t);
typedef intptr_t (WDCALL *api4_t)(intptr_t, intptr_t, intptr_t, intptr_t);
typedef intptr_t (WDCALL *api6_t)(intptr_t, intptr_t, intptr_t, intptr_t, intptr_t, intptr_t);
#define S(x) ((intptr_t)(x))
#define API0(name) (((api0_t)fn(name))())
#define API1(name, a) (((api1_t)fn(name))(S(a)))
#define API2(name, a, b) (((api2_t)fn(name))(S(a), S(b)))
#define API3(name, a, b, c) (((api3_t)fn(name))(S(a), S(b), S(c)))
#define API4(name, a, b, c, d) (((api4_t)fn(name))(S(a), S(b), S(c), S(d)))
#define API6(name, a, b, c, d, e, f) (((api6_t)fn(name))(S(a), S(b), S(c), S(d), S(e), S(f)))

/* API Description variables: the declared parameter and return types. */
typedef int64_t (WDCALL *desc_i8_sys_t)(intptr_t);                       /* apiInt_8 (apiSystemInt) */
typedef intptr_t (WDCALL *desc_sys_sys_i8_t)(intptr_t, int64_t);         /* apiSystemInt (apiSystemInt, apiInt_8) */
typedef intptr_t (WDCALL *desc_append_t)(intptr_t, intptr_t, intptr_t, intptr_t, int32_t, int64_t, intptr_t);
#define DESC(name, type) ((type)fn(name))

/* ---- Global procedures of cIMAPMail --------------------------------------------------- */

/* cIMAPMail::U32 - an unsigned 32-bit result read from a system int. */
static int64_t U32(intptr_t v) { return (int64_t)((uint64_t)v & 0xFFFFFFFFu); }

/* cIMAPMail::U8 - StringToUTF8(sText + Charact(0)): the text is UTF-8 here already. */
static intptr_t U8(const char *s) { return (intptr_t)s; }

/* cIMAPMail::ImapText / the guide's ImapText: two calls of email_copy_utf16, then the UTF-16 is
 * turned back into UTF-8 so the test can compare it (surrogate pairs included). */
static char *ImapText(intptr_t pText)
{
    intptr_t nUnits, i;
    size_t o = 0;
    uint16_t *buf;
    char *out;
    if (pText == 0) {
        out = calloc(1, 1);
        if (out == NULL) {
            exit(1);
        }
        return out;
    }
    nUnits = API3("email_copy_utf16", pText, 0, 0);
    out = malloc((size_t)(nUnits > 0 ? nUnits : 1) * 3 + 1);
    if (out == NULL) {
        exit(1);
    }
    if (nUnits <= 1) {
        out[0] = '\0';
        return out;
    }
    buf = calloc((size_t)nUnits * 2, sizeof *buf); /* 2 * nUnits "characters": at least 2 bytes per unit */
    if (buf == NULL) {
        exit(1);
    }
    if (API3("email_copy_utf16", pText, buf, nUnits) != nUnits) {
        check(0, "email_copy_utf16 gives the same size twice", NULL);
    }
    for (i = 0; i + 1 < nUnits; i++) { /* StringRetrieve(&buf, srUNICODEAddress) */
        uint32_t c = buf[i];
        if (c >= 0xD800 && c < 0xDC00 && i + 2 < nUnits && buf[i + 1] >= 0xDC00 && buf[i + 1] < 0xE000) {
            c = 0x10000 + ((c - 0xD800) << 10) + (uint32_t)(buf[i + 1] - 0xDC00);
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

/* cIMAPMail::Version */
static char *Version(void) { return ImapText(API0("email_version")); }

/* ---- cIMAPMail ------------------------------------------------------------------------- */

#define MAXLIST 16
typedef struct {
    char *Name, *ContentType, *ContentID;
    int Inline;
} STIMAPAttachment;

typedef struct {
    int64_t UID;
    char *Subject, *Sender, *SenderAddress, *SenderName, *Date, *MessageID, *Message, *HTML, *DecodeError;
    char *Recipient[MAXLIST], *Cc[MAXLIST], *Bcc[MAXLIST], *ReplyTo[MAXLIST], *Keyword[MAXLIST];
    int nRecipient, nCc, nBcc, nReplyTo, nKeyword, nAttachment;
    int64_t Timestamp, Size;
    int Unread, HeadersOnly;
    int32_t Flags;
    STIMAPAttachment Attachment[MAXLIST];
} STIMAPEmail;

typedef struct {
    char *Name, *Delimiter;
    int32_t Attributes;
} STIMAPFolder;

typedef struct {
    STIMAPEmail Email;
    int Out;
    int32_t ErrorCode;
    char *ErrorMessage;
    int64_t NewUID;
    int32_t Exists;
    intptr_t m_hSession, m_hMessage;
    int32_t m_nReadFlags;
} cIMAPMail;

typedef struct {
    intptr_t m_hSearch;
} cIMAPSearch;

static void FreeStr(char **p)
{
    free(*p);
    *p = NULL;
}

/* VariableReset(Email) */
static void ResetEmail(STIMAPEmail *e)
{
    int i;
    FreeStr(&e->Subject), FreeStr(&e->Sender), FreeStr(&e->SenderAddress), FreeStr(&e->SenderName);
    FreeStr(&e->Date), FreeStr(&e->MessageID), FreeStr(&e->Message), FreeStr(&e->HTML), FreeStr(&e->DecodeError);
    for (i = 0; i < e->nRecipient; i++) FreeStr(&e->Recipient[i]);
    for (i = 0; i < e->nCc; i++) FreeStr(&e->Cc[i]);
    for (i = 0; i < e->nBcc; i++) FreeStr(&e->Bcc[i]);
    for (i = 0; i < e->nReplyTo; i++) FreeStr(&e->ReplyTo[i]);
    for (i = 0; i < e->nKeyword; i++) FreeStr(&e->Keyword[i]);
    for (i = 0; i < e->nAttachment; i++) {
        FreeStr(&e->Attachment[i].Name), FreeStr(&e->Attachment[i].ContentType), FreeStr(&e->Attachment[i].ContentID);
    }
    memset(e, 0, sizeof *e);
}

/* cIMAPMail.Failed */
static int Failed(cIMAPMail *m, intptr_t nStatus)
{
    m->ErrorCode = (int32_t)nStatus;
    FreeStr(&m->ErrorMessage);
    if (nStatus < 0) {
        m->ErrorMessage = ImapText(API0("email_last_error_message"));
        return 1;
    }
    m->ErrorMessage = calloc(1, 1);
    return 0;
}

/* cIMAPMail.ErrorName */
static char *ErrorName(cIMAPMail *m) { return ImapText(API1("email_status_name", m->ErrorCode)); }

static void FreeMessage(cIMAPMail *m)
{
    if (m->m_hMessage != 0) {
        API1("email_message_free", m->m_hMessage);
        m->m_hMessage = 0;
    }
}

/* cIMAPMail.CloseSession */
static void CloseSession(cIMAPMail *m)
{
    FreeMessage(m);
    if (m->m_hSession != 0) {
        API1("email_close_session", m->m_hSession);
        m->m_hSession = 0;
    }
}

/* Replace(Replace(Replace(s, "\", "\\"), ";", "\;"), "=", "\=") */
static void EscapeOption(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s != '\0' && o + 3 < cap; s++) {
        if (*s == '\\' || *s == ';' || *s == '=') {
            out[o++] = '\\';
        }
        out[o++] = *s;
    }
    out[o] = '\0';
}

/* cIMAPMail.StartSession */
static int StartSession(cIMAPMail *m, const char *sServer, const char *sUser, const char *sPassword, int32_t nFlags,
                        int32_t nPort, const char *sFolder, const char *sOptions)
{
    char sAll[2048], esc[1024];
    CloseSession(m);
    EscapeOption(esc, sizeof esc, sFolder);
    snprintf(sAll, sizeof sAll, "folder=%s%s%s", esc, sOptions[0] != '\0' ? ";" : "", sOptions);
    m->m_hSession = API6("email_start_session_ex", U8(sServer), nPort, U8(sUser), U8(sPassword), nFlags, U8(sAll));
    if (m->m_hSession == 0) {
        return !Failed(m, API0("email_last_error"));
    }
    return !Failed(m, EMAIL_OK);
}

/* cIMAPMail.ReadFlags */
static int32_t ReadFlags(const char *sOption)
{
    int32_t nFlags = EMAIL_READ_ALL;
    if (strstr(sOption, "NOT READ") != NULL || strstr(sOption, "UNREAD") != NULL) nFlags += EMAIL_READ_UNREAD;
    if (strstr(sOption, "HEADER") != NULL) nFlags += EMAIL_READ_HEADERS;
    if (strstr(sOption, "MARK READ") != NULL) nFlags += EMAIL_READ_MARK_SEEN;
    return nFlags;
}

/* cIMAPMail.Recipients */
static void Recipients(cIMAPMail *m, int32_t nKind, char **arr, int *count)
{
    intptr_t nCount = API2("email_message_recipient_count", m->m_hMessage, nKind), i;
    for (i = 0; i < nCount && *count < MAXLIST; i++) {
        arr[(*count)++] = ImapText(API3("email_message_recipient_address", m->m_hMessage, nKind, i));
    }
}

/* cIMAPMail.FillBody */
static void FillBody(cIMAPMail *m)
{
    intptr_t h = m->m_hMessage, nCount, i;
    STIMAPEmail *e = &m->Email;
    FreeStr(&e->Message), FreeStr(&e->HTML);
    e->Message = ImapText(API1("email_message_text", h));
    e->HTML = ImapText(API1("email_message_html", h));
    if (API1("email_message_error", h) != EMAIL_OK) {
        e->DecodeError = ImapText(API1("email_message_error_message", h));
    }
    for (i = 0; i < e->nAttachment; i++) {
        FreeStr(&e->Attachment[i].Name), FreeStr(&e->Attachment[i].ContentType), FreeStr(&e->Attachment[i].ContentID);
    }
    e->nAttachment = 0;
    nCount = API1("email_message_attachment_count", h);
    for (i = 0; i < nCount && i < MAXLIST; i++) {
        STIMAPAttachment *a = &e->Attachment[e->nAttachment++];
        a->Name = ImapText(API2("email_attachment_name", h, i));
        a->ContentType = ImapText(API2("email_attachment_content_type", h, i));
        a->ContentID = ImapText(API2("email_attachment_content_id", h, i));
        a->Inline = API2("email_attachment_is_inline", h, i) == 1;
    }
}

/* cIMAPMail.Fill */
static void Fill(cIMAPMail *m)
{
    intptr_t h = m->m_hMessage, nKeywords, i;
    STIMAPEmail *e = &m->Email;
    ResetEmail(e);
    e->UID = U32(API1("email_message_uid", h));
    e->Flags = (int32_t)U32(API1("email_message_flags", h));
    e->Unread = API1("email_message_is_read", h) == 0;
    e->Subject = ImapText(API1("email_message_subject", h));
    e->Sender = ImapText(API1("email_message_sender", h));
    e->SenderAddress = ImapText(API1("email_message_sender_address", h));
    e->SenderName = ImapText(API1("email_message_sender_name", h));
    Recipients(m, EMAIL_TO, e->Recipient, &e->nRecipient);
    Recipients(m, EMAIL_CC, e->Cc, &e->nCc);
    Recipients(m, EMAIL_BCC, e->Bcc, &e->nBcc);
    Recipients(m, EMAIL_REPLY_TO, e->ReplyTo, &e->nReplyTo);
    e->Date = ImapText(API1("email_message_date", h));
    e->MessageID = ImapText(API1("email_message_message_id", h));
    e->Timestamp = DESC("email_message_timestamp", desc_i8_sys_t)(h);
    e->Size = DESC("email_message_size", desc_i8_sys_t)(h);
    nKeywords = API1("email_message_keyword_count", h);
    for (i = 0; i < nKeywords && i < MAXLIST; i++) {
        e->Keyword[e->nKeyword++] = ImapText(API2("email_message_keyword", h, i));
    }
    e->HeadersOnly = (m->m_nReadFlags & EMAIL_READ_HEADERS) != 0;
    FillBody(m);
}

/* cIMAPMail.Loaded */
static int Loaded(cIMAPMail *m, intptr_t nStatus)
{
    m->Out = nStatus != EMAIL_OK;
    if (Failed(m, nStatus) || nStatus == EMAIL_OUT) {
        ResetEmail(&m->Email);
        return 0;
    }
    Fill(m);
    return 1;
}

/* cIMAPMail.ReadFirst / ReadNext / ReadFirstSearch */
static int ReadFirst(cIMAPMail *m, const char *sOption)
{
    FreeMessage(m);
    m->m_nReadFlags = ReadFlags(sOption);
    return Loaded(m, API3("email_read_first", m->m_hSession, m->m_nReadFlags, &m->m_hMessage));
}

static int ReadNext(cIMAPMail *m)
{
    FreeMessage(m);
    return Loaded(m, API2("email_read_next", m->m_hSession, &m->m_hMessage));
}

static int ReadFirstSearch(cIMAPMail *m, cIMAPSearch *q, const char *sOption)
{
    FreeMessage(m);
    m->m_nReadFlags = ReadFlags(sOption);
    return Loaded(m, API4("email_read_first_search", m->m_hSession, q->m_hSearch, m->m_nReadFlags, &m->m_hMessage));
}

/* cIMAPMail.Header */
static char *Header(cIMAPMail *m, const char *sName) { return ImapText(API2("email_message_header", m->m_hMessage, U8(sName))); }

/* cIMAPMail::Bytes: Transfer into a Buffer of nLength bytes (returned malloc'ed, *len set). */
static unsigned char *Bytes(intptr_t pData, intptr_t nLength, intptr_t *len)
{
    unsigned char *buf = malloc(nLength > 0 ? (size_t)nLength : 1);
    if (buf == NULL) {
        exit(1);
    }
    *len = 0;
    if (pData == 0 || nLength <= 0) {
        return buf;
    }
    memcpy(buf, (const void *)pData, (size_t)nLength);
    *len = nLength;
    return buf;
}

/* cIMAPMail.Source */
static unsigned char *Source(cIMAPMail *m, intptr_t *len)
{
    intptr_t nLength = 0;
    intptr_t pData = API2("email_message_source", m->m_hMessage, &nLength);
    return Bytes(pData, nLength, len);
}

/* cIMAPMail.LoadBody */
static int LoadBody(cIMAPMail *m)
{
    if (Failed(m, API2("email_message_load_body", m->m_hSession, m->m_hMessage))) return 0;
    m->Email.HeadersOnly = 0;
    FillBody(m);
    return 1;
}

/* cIMAPMail.AttachmentContent (nIndex 1-based) */
static unsigned char *AttachmentContent(cIMAPMail *m, int32_t nIndex, intptr_t *len)
{
    intptr_t nLength = 0;
    intptr_t pData = API3("email_attachment_data", m->m_hMessage, nIndex - 1, &nLength);
    return Bytes(pData, nLength, len);
}

/* cIMAPMail.SaveAttachments */
static int SaveAttachments(cIMAPMail *m, const char *sDirectory)
{
    int nSaved = 0, i;
    MAKEDIR(sDirectory); /* IF NOT fDirectoryExist THEN fMakeDir */
    for (i = 0; i < m->Email.nAttachment; i++) {
        if (Failed(m, API3("email_attachment_save", m->m_hMessage, i, U8(sDirectory)))) return nSaved;
        nSaved++;
    }
    return nSaved;
}

/* Flags, keywords, delete, move, copy (cIMAPMail methods of the same names) */
static int MarkRead(cIMAPMail *m, int bRead)
{
    return !Failed(m, API3("email_message_mark_read", m->m_hSession, m->m_hMessage, bRead ? 1 : 0));
}
static int SetFlags(cIMAPMail *m, int32_t nFlags, int bAdd)
{
    return !Failed(m, API4("email_message_set_flags", m->m_hSession, m->m_hMessage, nFlags, bAdd ? 1 : 0));
}
static int SetKeyword(cIMAPMail *m, int32_t nUID, const char *sKeyword, int bAdd)
{
    if (bAdd) return !Failed(m, API3("email_add_keyword", m->m_hSession, nUID, U8(sKeyword)));
    return !Failed(m, API3("email_remove_keyword", m->m_hSession, nUID, U8(sKeyword)));
}
static int DeleteMessage(cIMAPMail *m) { return !Failed(m, API2("email_message_delete", m->m_hSession, m->m_hMessage)); }
static int Expunge(cIMAPMail *m) { return !Failed(m, API1("email_expunge", m->m_hSession)); }
static int MoveTo(cIMAPMail *m, const char *sFolder)
{
    int32_t nUID = 0;
    int bOK = !Failed(m, API4("email_message_move", m->m_hSession, m->m_hMessage, U8(sFolder), &nUID));
    m->NewUID = U32(nUID);
    return bOK;
}
static int CopyTo(cIMAPMail *m, const char *sFolder)
{
    int32_t nUID = 0;
    int bOK = !Failed(m, API4("email_message_copy", m->m_hSession, m->m_hMessage, U8(sFolder), &nUID));
    m->NewUID = U32(nUID);
    return bOK;
}
static int MarkReadUID(cIMAPMail *m, int32_t nUID, int bRead)
{
    return !Failed(m, API3("email_mark_read", m->m_hSession, nUID, bRead ? 1 : 0));
}
static int SetFlagsUID(cIMAPMail *m, int32_t nUID, int32_t nFlags, int bAdd)
{
    return !Failed(m, API4("email_set_flags", m->m_hSession, nUID, nFlags, bAdd ? 1 : 0));
}
static int DeleteUID(cIMAPMail *m, int32_t nUID) { return !Failed(m, API2("email_delete_message", m->m_hSession, nUID)); }
static int MoveUID(cIMAPMail *m, int32_t nUID, const char *sFolder)
{
    int32_t nNew = 0;
    int bOK = !Failed(m, API4("email_move_message", m->m_hSession, nUID, U8(sFolder), &nNew));
    m->NewUID = U32(nNew);
    return bOK;
}
static int CopyUID(cIMAPMail *m, int32_t nUID, const char *sFolder)
{
    int32_t nNew = 0;
    int bOK = !Failed(m, API4("email_copy_message", m->m_hSession, nUID, U8(sFolder), &nNew));
    m->NewUID = U32(nNew);
    return bOK;
}

/* cIMAPMail.Append: the API Description of 7 parameters (apiInt_4 flags, apiInt_8 date). */
static int Append(cIMAPMail *m, const char *sFolder, const char *bufSource, int32_t nFlags, int64_t nUnixTime)
{
    int32_t nNew = 0;
    intptr_t bufFolder = U8(sFolder);
    int bOK = !Failed(m, DESC("email_append", desc_append_t)(m->m_hSession, bufFolder, (intptr_t)bufSource,
                                                              (intptr_t)strlen(bufSource), nFlags, nUnixTime,
                                                              (intptr_t)&nNew));
    m->NewUID = U32(nNew);
    return bOK;
}

/* Folders */
static int ChangeFolder(cIMAPMail *m, const char *sFolder, int bReadOnly)
{
    FreeMessage(m);
    return !Failed(m, API3("email_select_folder", m->m_hSession, U8(sFolder), bReadOnly ? 1 : 0));
}
static char *CurrentFolder(cIMAPMail *m) { return ImapText(API1("email_current_folder", m->m_hSession)); }

static int Folders(cIMAPMail *m, int bSubscribedOnly, STIMAPFolder *arr, int cap)
{
    intptr_t hStrings = 0, nCount, i;
    int n = 0;
    if (bSubscribedOnly) {
        if (Failed(m, API2("email_list_subscribed", m->m_hSession, &hStrings))) return 0;
    } else {
        if (Failed(m, API2("email_list_folders", m->m_hSession, &hStrings))) return 0;
    }
    nCount = API1("email_strings_count", hStrings);
    for (i = 0; i < nCount && n < cap; i++) {
        arr[n].Name = ImapText(API2("email_strings_get", hStrings, i));
        arr[n].Delimiter = ImapText(API2("email_strings_delimiter", hStrings, i));
        arr[n].Attributes = (int32_t)U32(API2("email_strings_attributes", hStrings, i));
        n++;
    }
    API1("email_strings_free", hStrings);
    return n;
}

static void FreeFolders(STIMAPFolder *arr, int n)
{
    int i;
    for (i = 0; i < n; i++) FreeStr(&arr[i].Name), FreeStr(&arr[i].Delimiter);
}

/* cIMAPMail.SpecialFolder: "" or the name (malloc'ed) */
static char *SpecialFolder(cIMAPMail *m, int32_t nUse)
{
    STIMAPFolder f[32];
    char *found = NULL;
    int n = Folders(m, 0, f, 32), i;
    for (i = 0; i < n && found == NULL; i++) {
        if ((f[i].Attributes & nUse) != 0) found = strdup(f[i].Name);
    }
    FreeFolders(f, n);
    return found != NULL ? found : calloc(1, 1);
}

static int CreateFolder(cIMAPMail *m, const char *s) { return !Failed(m, API2("email_create_folder", m->m_hSession, U8(s))); }
static int DeleteFolder(cIMAPMail *m, const char *s) { return !Failed(m, API2("email_delete_folder", m->m_hSession, U8(s))); }
static int RenameFolder(cIMAPMail *m, const char *a, const char *b)
{
    return !Failed(m, API3("email_rename_folder", m->m_hSession, U8(a), U8(b)));
}
static int Subscribe(cIMAPMail *m, const char *s, int bSubscribe)
{
    if (bSubscribe) return !Failed(m, API2("email_subscribe_folder", m->m_hSession, U8(s)));
    return !Failed(m, API2("email_unsubscribe_folder", m->m_hSession, U8(s)));
}
static int FolderStatus(cIMAPMail *m, const char *sFolder, int32_t *nMessages, int32_t *nUnread)
{
    int32_t nAll = 0, nUnseen = 0, nUIDNext = 0, nUIDValidity = 0;
    int bOK = !Failed(m, API6("email_folder_status", m->m_hSession, U8(sFolder), &nAll, &nUnseen, &nUIDNext, &nUIDValidity));
    *nMessages = nAll;
    *nUnread = nUnseen;
    return bOK;
}

/* cIMAPMail.NbMessage */
static int32_t NbMessage(cIMAPMail *m, int bUnread)
{
    int32_t nFlags = bUnread ? EMAIL_READ_UNREAD : EMAIL_READ_ALL;
    intptr_t nCount = API2("email_count", m->m_hSession, nFlags);
    if (Failed(m, nCount < 0 ? nCount : 0)) return -1;
    return (int32_t)nCount;
}

/* cIMAPMail.Search: the UIDs in arr (up to cap), their number returned */
static int Search(cIMAPMail *m, cIMAPSearch *q, int64_t *arr, int cap)
{
    intptr_t hUids = 0, nCount, i;
    int n = 0;
    if (Failed(m, API3("email_search", m->m_hSession, q->m_hSearch, &hUids))) return 0;
    nCount = API1("email_uids_count", hUids);
    for (i = 0; i < nCount && n < cap; i++) arr[n++] = U32(API2("email_uids_get", hUids, i));
    API1("email_uids_free", hUids);
    return n;
}

/* cIMAPMail.WaitForMail */
static intptr_t WaitForMail(cIMAPMail *m, int32_t nTimeoutMs)
{
    int32_t nExists = 0;
    intptr_t nStatus = API3("email_idle", m->m_hSession, nTimeoutMs, &nExists);
    m->Exists = nExists;
    Failed(m, nStatus);
    return nStatus;
}

/* cIMAPMail.Progress: never waits for the session, leaves ErrorCode alone */
static int Progress(cIMAPMail *m, int64_t *nDone, int64_t *nTotal)
{
    int64_t nDoneNow = 0, nTotalNow = 0;
    intptr_t nStatus = API3("email_session_progress", m->m_hSession, &nDoneNow, &nTotalNow);
    *nDone = nDoneNow;
    *nTotal = nTotalNow;
    return nStatus == EMAIL_OK;
}

/* cIMAPMail.TraceNext: the line (malloc'ed) in *sLine, 1 when there was one */
static int TraceNext(cIMAPMail *m, char **sLine)
{
    static char bufLine[16400];
    intptr_t nStatus = API3("email_session_trace_next", m->m_hSession, bufLine, 16400);
    if (nStatus != EMAIL_OK) {
        *sLine = calloc(1, 1);
        return 0;
    }
    *sLine = ImapText((intptr_t)bufLine);
    return 1;
}

/* ---- cIMAPSearch ----------------------------------------------------------------------- */
static void SearchNew(cIMAPSearch *q) { q->m_hSearch = API0("email_search_new"); }
static void SearchFree(cIMAPSearch *q)
{
    API1("email_search_free", q->m_hSearch);
    q->m_hSearch = 0;
}
static int FromContains(cIMAPSearch *q, const char *s) { return API2("email_search_from", q->m_hSearch, U8(s)) == 0; }
static int ToContains(cIMAPSearch *q, const char *s) { return API2("email_search_to", q->m_hSearch, U8(s)) == 0; }
static int SubjectContains(cIMAPSearch *q, const char *s) { return API2("email_search_subject", q->m_hSearch, U8(s)) == 0; }
static int BodyContains(cIMAPSearch *q, const char *s) { return API2("email_search_body", q->m_hSearch, U8(s)) == 0; }
static int TextContains(cIMAPSearch *q, const char *s) { return API2("email_search_text", q->m_hSearch, U8(s)) == 0; }
static int HeaderContains(cIMAPSearch *q, const char *n, const char *v)
{
    return API3("email_search_header", q->m_hSearch, U8(n), U8(v)) == 0;
}
static int SFlags(cIMAPSearch *q, int32_t nFlags, int bHas)
{
    return API3("email_search_flags", q->m_hSearch, nFlags, bHas ? 1 : 0) == 0;
}
static int SUnread(cIMAPSearch *q) { return SFlags(q, EMAIL_FLAG_SEEN, 0); }
static int SKeyword(cIMAPSearch *q, const char *k, int bHas)
{
    return API3("email_search_keyword", q->m_hSearch, U8(k), bHas ? 1 : 0) == 0;
}
/* cIMAPSearch.AddDate: API Description (apiSystemInt; apiSystemInt, apiInt_8) */
static int AddDate(cIMAPSearch *q, const char *sFunction, int64_t nUnixTime)
{
    return DESC(sFunction, desc_sys_sys_i8_t)(q->m_hSearch, nUnixTime) == 0;
}
static int Since(cIMAPSearch *q, int64_t t) { return AddDate(q, "email_search_since", t); }
static int Before(cIMAPSearch *q, int64_t t) { return AddDate(q, "email_search_before", t); }
static int SentSince(cIMAPSearch *q, int64_t t) { return AddDate(q, "email_search_sent_since", t); }
static int SentBefore(cIMAPSearch *q, int64_t t) { return AddDate(q, "email_search_sent_before", t); }
static int Larger(cIMAPSearch *q, int32_t n) { return API2("email_search_larger", q->m_hSearch, n) == 0; }
static int Smaller(cIMAPSearch *q, int32_t n) { return API2("email_search_smaller", q->m_hSearch, n) == 0; }
static int UIDRange(cIMAPSearch *q, int32_t a, int32_t b) { return API3("email_search_uid_range", q->m_hSearch, a, b) == 0; }
static int AnyOf(cIMAPSearch *q, cIMAPSearch *a, cIMAPSearch *b)
{
    return API3("email_search_or", q->m_hSearch, a->m_hSearch, b->m_hSearch) == 0;
}
static int NoneOf(cIMAPSearch *q, cIMAPSearch *sub) { return API2("email_search_not", q->m_hSearch, sub->m_hSearch) == 0; }

/* ---- the test ----------------------------------------------------------------------------- */

static const char *gHost, *gUser, *gPassword, *gCA;
static int gImaps, gImap;
/* The security mode and port of the sessions that read and change mail: implicit TLS on
 * IMAPS_PORT, or EMAIL_SECURITY_NONE on IMAP_PORT (WINDEV_MIRROR_SECURITY=none). */
static int32_t gSecurity = EMAIL_SECURITY_TLS;
static int gPort;

/* The "Reader"-style thread of the guide: here it waits for new mail on the session. */
static volatile int gIdleDone;
static intptr_t gIdleStatus;
#ifdef _WIN32
static DWORD WINAPI thread_main(LPVOID arg)
#else
static void *thread_main(void *arg)
#endif
{
    gIdleStatus = WaitForMail((cIMAPMail *)arg, 60000);
    gIdleDone = 1;
#ifdef _WIN32
    return 0;
#else
    return NULL;
#endif
}

/* opts = "ca_file=<CA_FILE>" for TLS sessions, empty for EMAIL_SECURITY_NONE; extra appended. */
static void SessionOptions(char *opts, size_t cap, int32_t nSecurity, const char *extra)
{
    char esc[900];
    if (nSecurity == EMAIL_SECURITY_NONE) {
        snprintf(opts, cap, "%s", extra);
        return;
    }
    EscapeOption(esc, sizeof esc, gCA);
    snprintf(opts, cap, "ca_file=%s%s%s", esc, extra[0] != '\0' ? ";" : "", extra);
}

static int Connect(cIMAPMail *m, int32_t nSecurity, int port, const char *sFolder)
{
    char opts[1024];
    SessionOptions(opts, sizeof opts, nSecurity, "");
    return StartSession(m, gHost, gUser, gPassword, nSecurity, port, sFolder, opts);
}

static int has_bytes(const unsigned char *hay, intptr_t n, const char *needle)
{
    size_t k = strlen(needle);
    intptr_t i;
    for (i = 0; i + (intptr_t)k <= n; i++) {
        if (memcmp(hay + i, needle, k) == 0) return 1;
    }
    return 0;
}

static int uids_are(const int64_t *got, int n, const char *want)
{
    char buf[256] = "";
    int i;
    for (i = 0; i < n; i++) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%lld", i ? "," : "", (long long)got[i]);
    return strcmp(buf, want) == 0;
}

static int has_folder(const STIMAPFolder *f, int n, const char *name)
{
    int i;
    for (i = 0; i < n; i++) if (strcmp(f[i].Name, name) == 0) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *library, *save_dir;
    cIMAPMail oMail, oOther;
    char *s;
    int n, nUnread = 0, nSaved = 0;
    int32_t nMsgs, nUns;
    int64_t uids[16];
    intptr_t len, nStatus;
    unsigned char *bytes;
    STIMAPFolder folders[32];
    static const char folderU[] = "Archive-\xC3\x9C";  /* Archive-Ü */
    static const char folderO[] = "Archive-\xC3\x96";  /* Archive-Ö */
    static const char raw[] = "From: Dan <dan@example.com>\r\nTo: pkg@example.com\r\nSubject: Appended\r\n"
                              "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <app-1@example.com>\r\n\r\nAppended body.\r\n";

    if (argc != 8 || (gPassword = getenv("IMAPMAIL_PASSWORD")) == NULL) {
        fprintf(stderr, "usage: windev_mirror LIBRARY HOST IMAPS_PORT IMAP_PORT USER CA_FILE SAVE_DIR "
                        "(password in IMAPMAIL_PASSWORD)\n");
        return 2;
    }
    library = argv[1];
    gHost = argv[2];
    gImaps = atoi(argv[3]);
    gImap = atoi(argv[4]);
    gUser = argv[5];
    gCA = argv[6];
    save_dir = argv[7];
    gPort = gImaps;
    {
        const char *mode = getenv("WINDEV_MIRROR_SECURITY");
        if (mode != NULL && strcmp(mode, "none") == 0) {
            gSecurity = EMAIL_SECURITY_NONE;
            gPort = gImap;
            printf("# WINDEV_MIRROR_SECURITY=none: sessions over plain IMAP on port %d; not checked here: "
                   "the untrusted certificate, StartSession STARTTLS and TLS with ca_file\n", gImap);
        } else if (mode != NULL && strcmp(mode, "tls") != 0) {
            fprintf(stderr, "windev_mirror: WINDEV_MIRROR_SECURITY must be tls or none\n");
            return 2;
        }
    }
    memset(&oMail, 0, sizeof oMail);
    memset(&oOther, 0, sizeof oOther);

    /* Guide "Loading the library": LoadDLL; cIMAPMail::Version */
    gDLL = LoadDLL(library);
    check(gDLL != NULL, "LoadDLL", library);
    if (gDLL == NULL) {
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }
    s = Version();
    check(strlen(s) >= 5 && strchr(s, '.') != NULL, "Version() read back", s);
    free(s);

    /* Guide "Results are system ints": statuses come back whole, negative ones included */
    nStatus = API1("email_close_session", 0);
    {
        char detail[64];
        snprintf(detail, sizeof detail, "read %lld", (long long)nStatus);
        check(nStatus == EMAIL_ERR_HANDLE, "API(\"email_close_session\", 0) reads -2 as a system int", detail);
        intptr_t hMessage = 0;
        nStatus = API3("email_read_first", 0, 0, &hMessage);
        snprintf(detail, sizeof detail, "read %lld", (long long)nStatus);
        check(nStatus == EMAIL_ERR_HANDLE, "API(\"email_read_first\", 0, 0, &hMessage) reads -2 as a system int", detail);
        nStatus = API0("email_last_error");
        snprintf(detail, sizeof detail, "read %lld", (long long)nStatus);
        check(nStatus == EMAIL_ERR_HANDLE, "API(\"email_last_error\") reads -2 as a system int", detail);
    }

    /* Errors: a wrong password */
    {
        char opts[1024];
        SessionOptions(opts, sizeof opts, gSecurity, "");
        check(!StartSession(&oMail, gHost, gUser, "Wr0ng-Secret-4711", gSecurity, gPort, "INBOX", opts),
              "StartSession with a wrong password fails", NULL);
    }
    check(oMail.ErrorCode == EMAIL_ERR_AUTH, "ErrorCode = EMAIL_ERR_AUTH", oMail.ErrorMessage);
    check(oMail.ErrorMessage[0] != '\0' && strstr(oMail.ErrorMessage, "Wr0ng") == NULL,
          "ErrorMessage readable, without the password", oMail.ErrorMessage);
    s = ErrorName(&oMail);
    check(strcmp(s, "EMAIL_ERR_AUTH") == 0, "ErrorName()", s);
    free(s);

    /* Errors: untrusted certificate (no ca_file) */
    if (gSecurity != EMAIL_SECURITY_NONE) {
        check(!StartSession(&oMail, gHost, gUser, gPassword, EMAIL_SECURITY_TLS, gImaps, "INBOX", ""),
              "StartSession without ca_file fails", NULL);
        check(oMail.ErrorCode == EMAIL_ERR_TLS && strstr(oMail.ErrorMessage, "is not trusted") != NULL,
              "EMAIL_ERR_TLS, 'is not trusted'", oMail.ErrorMessage);
    }

    /* Connecting: STARTTLS, then implicit TLS (or plain IMAP) */
    if (gSecurity != EMAIL_SECURITY_NONE) {
        check(Connect(&oMail, EMAIL_SECURITY_STARTTLS, gImap, "INBOX"), "StartSession STARTTLS", oMail.ErrorMessage);
        CloseSession(&oMail);
    }
    if (!Connect(&oMail, gSecurity, gPort, "INBOX")) {
        check(0, gSecurity == EMAIL_SECURITY_NONE ? "StartSession NONE" : "StartSession TLS", oMail.ErrorMessage);
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }
    check(1, gSecurity == EMAIL_SECURITY_NONE ? "StartSession NONE" : "StartSession TLS", NULL);

    /* Guide "Trace": option trace_queue, lines taken with TraceNext */
    {
        cIMAPMail oTrace;
        char opts[1024], *sLine;
        int nLines = 0, nSent = 0, nReceived = 0, nRedacted = 0, nSecret = 0;
        memset(&oTrace, 0, sizeof oTrace);
        SessionOptions(opts, sizeof opts, gSecurity, "trace_queue=1000");
        check(StartSession(&oTrace, gHost, gUser, gPassword, gSecurity, gPort, "INBOX", opts),
              "StartSession with trace_queue=1000", oTrace.ErrorMessage);
        while (TraceNext(&oTrace, &sLine)) {
            nLines++;
            nSent += strncmp(sLine, "C: ", 3) == 0;
            nReceived += strncmp(sLine, "S: ", 3) == 0;
            nRedacted += strstr(sLine, "<redacted>") != NULL;
            nSecret += strstr(sLine, gPassword) != NULL;
            free(sLine);
        }
        free(sLine);
        check(nSent > 0 && nReceived > 0 && nRedacted > 0, "TraceNext: the login, sent and received, credentials <redacted>", NULL);
        check(nSecret == 0, "the password is in no trace line", NULL);
        check(!TraceNext(&oTrace, &sLine) && oTrace.ErrorCode == EMAIL_OK, "TraceNext: False once the queue is empty, ErrorCode untouched", NULL);
        free(sLine);
        CloseSession(&oTrace);
        FreeStr(&oTrace.ErrorMessage);
        check(!TraceNext(&oMail, &sLine), "TraceNext on a session without trace_queue: False", NULL);
        free(sLine);
        (void)nLines;
    }

    /* Counts */
    check(NbMessage(&oMail, 0) == 3, "NbMessage() = 3", oMail.ErrorMessage);
    check(NbMessage(&oMail, 1) == 2, "NbMessage(True) = 2 unread", oMail.ErrorMessage);

    /* Reading "NOT READ": ReadFirst / WHILE NOT Out / ReadNext */
    ReadFirst(&oMail, "NOT READ");
    while (!oMail.Out) {
        STIMAPEmail *e = &oMail.Email;
        nUnread++;
        check(e->Unread, "NOT READ gives unread messages", e->Subject);
        if (e->UID == 2) {
            check(strcmp(e->Subject, "Gr\xC3\xBC\xC3\x9F" "e \xF0\x9F\x98\x80 \xF0\x9D\x84\x9E") == 0,
                  "UID 2 Subject through UTF-16 (non-BMP)", e->Subject);
            check(strcmp(e->Sender, "Zo\xC3\xAB <zoe@example.com>") == 0, "UID 2 Sender", e->Sender);
            check(strcmp(e->SenderName, "Zo\xC3\xAB") == 0 && strcmp(e->SenderAddress, "zoe@example.com") == 0,
                  "UID 2 SenderName, SenderAddress", e->SenderAddress);
        }
        if (e->UID == 3) {
            check(e->nRecipient == 1 && strcmp(e->Recipient[0], "pkg@example.com") == 0, "UID 3 Recipient", NULL);
            check(strcmp(e->MessageID, "attach-3@example.com") == 0, "UID 3 MessageID", e->MessageID);
            check(e->Timestamp == 1704283200, "UID 3 Timestamp (API Description, apiInt_8)", e->Date);
            check(e->Size > 500, "UID 3 Size (API Description, apiInt_8)", NULL);
            check(e->nAttachment == 2 && strcmp(e->Attachment[1].Name, "data.bin") == 0 &&
                      strcmp(e->Attachment[1].ContentType, "application/octet-stream") == 0 && !e->Attachment[1].Inline,
                  "UID 3 Attachment[2] data.bin", NULL);
            check(strstr(e->Message, "See attached.") != NULL, "UID 3 Message (text body)", e->Message);
            bytes = AttachmentContent(&oMail, 2, &len);
            check(len == 256 && bytes[0] == 0 && bytes[255] == 255, "AttachmentContent(2): 256 bytes", NULL);
            free(bytes);
            s = Header(&oMail, "Message-ID");
            check(strcmp(s, "<attach-3@example.com>") == 0, "Header(\"Message-ID\")", s);
            free(s);
            nSaved += SaveAttachments(&oMail, save_dir);
        }
        ReadNext(&oMail);
    }
    check(oMail.ErrorCode == EMAIL_OUT, "the loop ends with Out, ErrorCode EMAIL_OUT (not an error)", oMail.ErrorMessage);
    check(nUnread == 2, "2 unread messages", NULL);
    {
        int64_t nDone = -1, nTotal = -1;
        char detail[64];
        int ok = Progress(&oMail, &nDone, &nTotal);
        snprintf(detail, sizeof detail, "%lld of %lld", (long long)nDone, (long long)nTotal);
        check(ok && nDone == 2 && nTotal == 2, "Progress() after the NOT READ loop: 2 of 2", detail);
    }
    check(nSaved == 2, "SaveAttachments: 2 saved", oMail.ErrorMessage);

    /* Headers only, then LoadBody */
    check(ReadFirst(&oMail, "HEADERS") && oMail.Email.UID == 1, "ReadFirst(\"HEADERS\")", oMail.ErrorMessage);
    check(oMail.Email.HeadersOnly && oMail.Email.Message[0] == '\0', "HEADERS: no body yet", oMail.Email.Message);
    check(oMail.Email.nCc == 1 && strcmp(oMail.Email.Cc[0], "carol@example.com") == 0, "UID 1 Cc", NULL);
    bytes = Source(&oMail, &len);
    check(len > 0 && has_bytes(bytes, len, "Subject: Hello"), "Source() of the headers", NULL);
    free(bytes);
    check(LoadBody(&oMail) && strstr(oMail.Email.Message, "Hello, world.") != NULL && !oMail.Email.HeadersOnly,
          "LoadBody()", oMail.ErrorMessage);
    check(NbMessage(&oMail, 1) == 2, "reading changed nothing on the server", NULL);

    /* Folders */
    n = Folders(&oMail, 0, folders, 32);
    check(n >= 2 && strcmp(folders[0].Name, "INBOX") == 0 && (folders[0].Attributes & EMAIL_FOLDER_INBOX) != 0 &&
              has_folder(folders, n, "Tiny"),
          "Folders(): INBOX first, Tiny", oMail.ErrorMessage);
    check(n >= 1 && folders[0].Delimiter[0] != '\0', "Folders(): a delimiter", NULL);
    FreeFolders(folders, n);
    check(CreateFolder(&oMail, folderU), "CreateFolder(\"Archive-\xC3\x9C\")", oMail.ErrorMessage);
    check(Subscribe(&oMail, folderU, 1), "Subscribe", oMail.ErrorMessage);
    n = Folders(&oMail, 1, folders, 32);
    check(has_folder(folders, n, folderU), "Folders(True) has the new folder", oMail.ErrorMessage);
    FreeFolders(folders, n);
    check(FolderStatus(&oMail, "Tiny", &nMsgs, &nUns) && nMsgs == 1 && nUns == 1, "FolderStatus(\"Tiny\") 1, 1",
          oMail.ErrorMessage);
    s = SpecialFolder(&oMail, EMAIL_FOLDER_INBOX);
    check(strcmp(s, "INBOX") == 0, "SpecialFolder(EMAIL_FOLDER_INBOX)", s);
    free(s);

    /* Errors: a folder that does not exist */
    check(!ChangeFolder(&oMail, "No such folder", 0) && oMail.ErrorCode == EMAIL_ERR_NOT_FOUND && oMail.ErrorMessage[0] != '\0',
          "ChangeFolder(missing): EMAIL_ERR_NOT_FOUND and a message", oMail.ErrorMessage);
    /* Guide "Errors": the session's own last status and message, read after the failure */
    nStatus = API1("email_session_error", oMail.m_hSession);
    s = ImapText(API1("email_session_error_message", oMail.m_hSession));
    check(nStatus == EMAIL_ERR_NOT_FOUND && s[0] != '\0', "email_session_error(hSession) = EMAIL_ERR_NOT_FOUND, with a message", s);
    free(s);
    check(ChangeFolder(&oMail, "INBOX", 0), "ChangeFolder(\"INBOX\")", oMail.ErrorMessage);

    /* Guide "Reading", everything at once: email_get_all, email_list_count / _get / _free */
    {
        intptr_t hList = 0, nCount, i, hItem;
        check(API3("email_get_all", oMail.m_hSession, EMAIL_READ_ALL, &hList) == EMAIL_OK && hList != 0, "email_get_all", NULL);
        nCount = API1("email_list_count", hList);
        check(nCount == 3, "email_list_count = 3", NULL);
        for (i = 0; i < nCount; i++) {
            hItem = API2("email_list_get", hList, i);
            s = ImapText(API1("email_message_subject", hItem));
            check(hItem != 0 && s[0] != '\0', "list item has a subject", s);
            free(s);
        }
        API1("email_list_free", hList);
    }

    /* Search */
    {
        cIMAPSearch q, a, b, d;
        SearchNew(&q);
        check(SubjectContains(&q, "Report"), "SubjectContains", NULL);
        n = Search(&oMail, &q, uids, 16);
        check(uids_are(uids, n, "3"), "Search(subject Report) = 3", oMail.ErrorMessage);
        check(ReadFirstSearch(&oMail, &q, "") && oMail.Email.UID == 3, "ReadFirstSearch", oMail.ErrorMessage);
        SearchFree(&q);

        SearchNew(&q), SearchNew(&a), SearchNew(&b);
        check(FromContains(&a, "alice") && FromContains(&b, "bob") && AnyOf(&q, &a, &b), "AnyOf(From alice, From bob)", NULL);
        n = Search(&oMail, &q, uids, 16);
        check(uids_are(uids, n, "1,3"), "Search = 1,3", oMail.ErrorMessage);
        SearchFree(&a), SearchFree(&b), SearchFree(&q);

        SearchNew(&q), SearchNew(&d);
        check(SUnread(&d) && NoneOf(&q, &d), "NoneOf(Unread)", NULL);
        n = Search(&oMail, &q, uids, 16);
        check(uids_are(uids, n, "1"), "Search(not unread) = 1", oMail.ErrorMessage);
        SearchFree(&d), SearchFree(&q);

        SearchNew(&q);
        check(SentSince(&q, 1704067200 + 43200) && SentBefore(&q, 1704283200), "SentSince 2024-01-01, SentBefore 2024-01-03", NULL);
        n = Search(&oMail, &q, uids, 16);
        check(n >= 1 && uids[0] == 1 && !uids_are(uids, n, "1,2,3"), "Search by Date header (apiInt_8 argument)",
              oMail.ErrorMessage);
        SearchFree(&q);

        SearchNew(&q);
        check(Since(&q, 946728000) && Larger(&q, 10) && Smaller(&q, 1000000) && UIDRange(&q, 1, 0), "Since, Larger, Smaller, UIDRange",
              NULL);
        n = Search(&oMail, &q, uids, 16);
        check(uids_are(uids, n, "1,2,3"), "Search(Since 2000) = 1,2,3", oMail.ErrorMessage);
        SearchFree(&q);
        SearchNew(&q);
        check(Before(&q, 946728000), "Before 2000", NULL);
        n = Search(&oMail, &q, uids, 16);
        check(n == 0 && oMail.ErrorCode == EMAIL_OK, "Search(Before 2000) finds nothing", oMail.ErrorMessage);
        SearchFree(&q);

        SearchNew(&q);
        check(ToContains(&q, "pkg") && BodyContains(&q, "attached") && TextContains(&q, "Report") &&
                  HeaderContains(&q, "Message-ID", "attach-3"),
              "ToContains, BodyContains, TextContains, HeaderContains", NULL);
        n = Search(&oMail, &q, uids, 16);
        check(uids_are(uids, n, "3"), "Search(to, body, text, header) = 3", oMail.ErrorMessage);
        SearchFree(&q);
        SearchNew(&q);
        check(!FromContains(&q, "a\r\nb"), "FromContains with CR LF is refused", NULL);
        SearchFree(&q);
    }

    /* Flags and keywords: the current message is UID 3 (ReadFirstSearch) */
    check(MarkRead(&oMail, 1) && NbMessage(&oMail, 1) == 1, "MarkRead(): 1 unread left", oMail.ErrorMessage);
    check(SetFlags(&oMail, EMAIL_FLAG_FLAGGED, 1), "SetFlags(EMAIL_FLAG_FLAGGED)", oMail.ErrorMessage);
    check(SetKeyword(&oMail, 3, "Work", 1), "SetKeyword(3, \"Work\")", oMail.ErrorMessage);
    {
        cIMAPSearch q;
        SearchNew(&q);
        check(SFlags(&q, EMAIL_FLAG_FLAGGED, 1) && SKeyword(&q, "Work", 1), "Flags(FLAGGED), Keyword(Work)", NULL);
        n = Search(&oMail, &q, uids, 16);
        check(uids_are(uids, n, "3"), "Search(flagged, Work) = 3", oMail.ErrorMessage);
        SearchFree(&q);
    }
    check(ReadFirst(&oMail, "") && ReadNext(&oMail) && ReadNext(&oMail) && oMail.Email.UID == 3 &&
              (oMail.Email.Flags & EMAIL_FLAG_FLAGGED) != 0 && oMail.Email.nKeyword == 1 &&
              strcmp(oMail.Email.Keyword[0], "Work") == 0,
          "Email.Flags and Email.Keyword read back", oMail.ErrorMessage);
    check(SetKeyword(&oMail, 3, "Work", 0) && SetFlags(&oMail, EMAIL_FLAG_FLAGGED, 0), "remove keyword and flag",
          oMail.ErrorMessage);
    check(MarkReadUID(&oMail, 3, 0) && NbMessage(&oMail, 1) == 2, "MarkReadUID(3, False): 2 unread", oMail.ErrorMessage);
    check(SetFlagsUID(&oMail, 2, EMAIL_FLAG_SEEN, 1) && NbMessage(&oMail, 1) == 1, "SetFlagsUID(2, SEEN)", oMail.ErrorMessage);

    /* Copy, move, append, delete, expunge */
    check(CopyTo(&oMail, folderU) && oMail.NewUID == 1, "CopyTo(): NewUID 1", oMail.ErrorMessage);
    check(Append(&oMail, folderU, raw, EMAIL_FLAG_SEEN, 1700000000) && oMail.NewUID == 2, "Append(): NewUID 2",
          oMail.ErrorMessage);
    check(FolderStatus(&oMail, folderU, &nMsgs, &nUns) && nMsgs == 2 && nUns == 1, "FolderStatus(Archive): 2, 1 unread",
          oMail.ErrorMessage);
    check(CopyUID(&oMail, 1, folderU) && oMail.NewUID == 3, "CopyUID(1): NewUID 3", oMail.ErrorMessage);
    check(ReadFirst(&oMail, "") && oMail.Email.UID == 1 && MoveTo(&oMail, folderU) && oMail.NewUID == 4, "MoveTo(): NewUID 4",
          oMail.ErrorMessage);
    check(NbMessage(&oMail, 0) == 2, "INBOX: 2 messages after MoveTo", oMail.ErrorMessage);
    check(MoveUID(&oMail, 2, folderU) && oMail.NewUID == 5 && NbMessage(&oMail, 0) == 1, "MoveUID(2): NewUID 5",
          oMail.ErrorMessage);
    check(ChangeFolder(&oMail, folderU, 0), "ChangeFolder(Archive)", oMail.ErrorMessage);
    s = CurrentFolder(&oMail);
    check(strcmp(s, folderU) == 0, "CurrentFolder()", s);
    free(s);
    check(ReadFirst(&oMail, "") && oMail.Email.UID == 1 && DeleteMessage(&oMail) && DeleteUID(&oMail, 2), "DeleteMessage, DeleteUID",
          oMail.ErrorMessage);
    check(NbMessage(&oMail, 0) == 5 && Expunge(&oMail) && NbMessage(&oMail, 0) == 3, "Expunge(): 5 -> 3",
          oMail.ErrorMessage);
    check(!MarkReadUID(&oMail, 2, 1) && oMail.ErrorCode == EMAIL_ERR_NOT_FOUND, "MarkReadUID(expunged): EMAIL_ERR_NOT_FOUND",
          oMail.ErrorMessage);

    /* IDLE: another session appends; WaitForMail sees it */
    check(ChangeFolder(&oMail, "INBOX", 0), "back to INBOX", oMail.ErrorMessage);
    nStatus = WaitForMail(&oMail, 0);
    check(nStatus == EMAIL_OUT && oMail.Exists == 1, "WaitForMail(0): EMAIL_OUT, Exists 1", oMail.ErrorMessage);
    check(Connect(&oOther, gSecurity, gPort, "INBOX") && Append(&oOther, "INBOX", raw, 0, 0), "second session Append",
          oOther.ErrorMessage);
    CloseSession(&oOther);
    /* The append is done before the wait starts: the 60 s bound is never reached (it only keeps a
     * broken server from hanging the test). */
    nStatus = WaitForMail(&oMail, 60000);
    check(nStatus == EMAIL_OK && oMail.Exists == 2, "WaitForMail: EMAIL_OK, Exists 2", oMail.ErrorMessage);

    /* Guide "Progress by polling": Progress() from this thread while another thread is inside a
     * call on the session (IDLE, which ends only when the next append arrives, or after 60 s). */
    {
        thread_t t;
        int64_t nDone = -1, nTotal = -1;
        int ok;
        gIdleDone = 0;
        check(StartThread(&t, &oMail), "thread started", NULL);
        Pause200ms(); /* lets the thread enter email_idle; the checks below do not depend on it */
        ok = Progress(&oMail, &nDone, &nTotal);
        check(ok && gIdleDone == 0, "Progress() answers while another thread waits in WaitForMail", NULL);
        check(Connect(&oOther, gSecurity, gPort, "INBOX") && Append(&oOther, "INBOX", raw, 0, 0),
              "second session Append (ends the wait)", oOther.ErrorMessage);
        CloseSession(&oOther);
        JoinThread(t);
        check(gIdleStatus == EMAIL_OK && oMail.Exists == 3, "the waiting thread saw the new message", oMail.ErrorMessage);
    }

    /* Folders: rename, unsubscribe, delete */
    check(RenameFolder(&oMail, folderU, folderO), "RenameFolder", oMail.ErrorMessage);
    check(FolderStatus(&oMail, folderO, &nMsgs, &nUns) && nMsgs == 3, "renamed folder keeps its 3 messages", oMail.ErrorMessage);
    check(Subscribe(&oMail, folderO, 0), "Subscribe(False)", oMail.ErrorMessage);
    check(DeleteFolder(&oMail, folderO), "DeleteFolder", oMail.ErrorMessage);
    check(!FolderStatus(&oMail, folderO, &nMsgs, &nUns) && oMail.ErrorCode == EMAIL_ERR_NOT_FOUND,
          "deleted folder: EMAIL_ERR_NOT_FOUND", oMail.ErrorMessage);

    /* Closing; a closed session gives EMAIL_ERR_HANDLE, read as -2 */
    CloseSession(&oMail);
    check(!ReadFirst(&oMail, "") && oMail.Out && oMail.ErrorCode == EMAIL_ERR_HANDLE, "ReadFirst after CloseSession: EMAIL_ERR_HANDLE",
          oMail.ErrorMessage);
    check(NbMessage(&oMail, 0) == -1 && oMail.ErrorCode == EMAIL_ERR_HANDLE, "NbMessage after CloseSession: -1, EMAIL_ERR_HANDLE",
          oMail.ErrorMessage);

    /* Guide "Strings": email_copy_utf8 into a host buffer, too small on purpose */
    {
        static const char sText[] = "a\xF0\x9F\x98\x80z"; /* a😀z */
        char small[4];
        intptr_t need = API3("email_copy_utf8", U8(sText), small, sizeof small);
        check(need == 7 && strcmp(small, "a") == 0, "email_copy_utf8 cuts at a character boundary", small);
        need = API3("email_copy_utf16", 0, 0, 0);
        check(need == 0 && API0("email_last_error") == -1, "email_copy_utf16(Null): 0, EMAIL_ERR_ARGUMENT", NULL);
    }

    ResetEmail(&oMail.Email);
    FreeStr(&oMail.ErrorMessage);
    FreeStr(&oOther.ErrorMessage);
    FreeDLL(gDLL);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
