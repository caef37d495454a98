// cIMAPMail and cIMAPSearch: imapmail for WINDEV and WEBDEV, the WLanguage way.
//
//     oMail is cIMAPMail
//     IF NOT oMail.StartSession("imap.example.com", "bob@example.com", sPassword) THEN
//         Error(oMail.ErrorMessage)
//         RETURN
//     END
//     oMail.ReadFirst("NOT READ")
//     WHILE NOT oMail.Out
//         Trace(oMail.Email.Sender + ": " + oMail.Email.Subject)
//         oMail.ReadNext()
//     END
//     IF oMail.ErrorCode < 0 THEN Error(oMail.ErrorMessage)
//
// How to add it to a project: create a class named cIMAPMail and paste the part "Declaration of
// cIMAPMail" into its declaration code; create one method per "PROCEDURE" below (Constructor and
// Destructor already exist) and paste each in whole, its PROCEDURE line included. Do the same
// for cIMAPSearch. Ship imapmail.dll (64-bit) or imapmail.dll + imapmail_stdcall.dll (32-bit)
// next to the program, or libimapmail.so on Linux (docs/windev.md, "Which library").
//
// Rules every call below follows (docs/windev.md tells why):
// - API() returns a system int. Statuses, handles, sizes and counts are read whole; the
//   library returns every status as a pointer-sized integer, so -2 reads as -2 in 64-bit too.
// - Handles, addresses and size_t values are system int; 32-bit values (UIDs, flags) are int; the 8-byte
//   arguments and results (dates, sizes) go through an API Description with apiInt_8, which
//   32-bit WINDEV needs for them.
// - Text goes in as NUL-terminated UTF-8 (U8) and comes out through email_copy_utf16 (ImapText).
// - No WLanguage procedure is ever given to the library as a callback: nothing here runs on a
//   thread WINDEV did not start.
// - Every API() call of this file is made, with the same arguments in the same order and width,
//   by tests/c/windev_mirror.c against a real IMAP server; tests/suites/windev_mirror.sh checks
//   that no call of this file is missing there.

// ===== Declaration of cIMAPMail =====================================================
CONSTANT
	EMAIL_OK = 0
	EMAIL_OUT = 1
	EMAIL_ERR_ARGUMENT = -1
	EMAIL_ERR_HANDLE = -2
	EMAIL_ERR_CONNECT = -3
	EMAIL_ERR_TLS = -4
	EMAIL_ERR_AUTH = -5
	EMAIL_ERR_SERVER = -6
	EMAIL_ERR_PROTOCOL = -7
	EMAIL_ERR_TIMEOUT = -8
	EMAIL_ERR_DISCONNECTED = -9
	EMAIL_ERR_CANCELLED = -10
	EMAIL_ERR_NOT_FOUND = -11
	EMAIL_ERR_TOO_LARGE = -12
	EMAIL_ERR_IO = -13
	EMAIL_ERR_INTERNAL = -99

	EMAIL_FLAG_SEEN = 1
	EMAIL_FLAG_ANSWERED = 2
	EMAIL_FLAG_FLAGGED = 4
	EMAIL_FLAG_DELETED = 8
	EMAIL_FLAG_DRAFT = 16

	EMAIL_TO = 0
	EMAIL_CC = 1
	EMAIL_BCC = 2
	EMAIL_REPLY_TO = 3

	EMAIL_SECURITY_TLS = 0
	EMAIL_SECURITY_STARTTLS = 1
	EMAIL_SECURITY_NONE = 2
	EMAIL_ACCEPT_INVALID_CERTS = 16
	EMAIL_AUTH_XOAUTH2 = 32

	EMAIL_READ_ALL = 0
	EMAIL_READ_UNREAD = 1
	EMAIL_READ_HEADERS = 2
	EMAIL_READ_MARK_SEEN = 4

	EMAIL_TRACE_SENT = 0
	EMAIL_TRACE_RECEIVED = 1

	EMAIL_FOLDER_NOSELECT = 1
	EMAIL_FOLDER_NOINFERIORS = 2
	EMAIL_FOLDER_HAS_CHILDREN = 4
	EMAIL_FOLDER_HAS_NO_CHILDREN = 8
	EMAIL_FOLDER_MARKED = 16
	EMAIL_FOLDER_UNMARKED = 32
	EMAIL_FOLDER_NONEXISTENT = 64
	EMAIL_FOLDER_SUBSCRIBED = 128
	EMAIL_FOLDER_INBOX = 256
	EMAIL_FOLDER_ALL = 512
	EMAIL_FOLDER_ARCHIVE = 1024
	EMAIL_FOLDER_DRAFTS = 2048
	EMAIL_FOLDER_FLAGGED = 4096
	EMAIL_FOLDER_JUNK = 8192
	EMAIL_FOLDER_SENT = 16384
	EMAIL_FOLDER_TRASH = 32768
	EMAIL_FOLDER_IMPORTANT = 65536
END

// One attachment of STIMAPEmail (its bytes: cIMAPMail.AttachmentContent / SaveAttachments).
STIMAPAttachment is Structure
	Name is string            // file name as the message gives it: never use it as a path
	ContentType is string     // "application/pdf", ...
	ContentID is string       // for cid: references in the HTML body
	Inline is boolean
END

// The message read last, with the fields of WINDEV's Email structure where they exist.
STIMAPEmail is Structure
	UID is 8-byte int         // the message's number in its folder (unsigned 32-bit)
	Subject is string
	Sender is string          // "Name <address>"
	SenderAddress is string
	SenderName is string
	Recipient is array of strings   // To addresses
	Cc is array of strings
	Bcc is array of strings
	ReplyTo is array of strings
	Date is string            // the Date header as written
	Timestamp is 8-byte int   // the Date header as Unix seconds (UTC), 0 when unknown
	MessageID is string
	Message is string         // the plain-text body ("" when read with "HEADERS")
	HTML is string
	Unread is boolean
	Flags is int              // EMAIL_FLAG_* as read
	Keyword is array of strings
	Size is 8-byte int        // size on the server, in bytes
	Attachment is array of STIMAPAttachment
	HeadersOnly is boolean    // read with "HEADERS": LoadBody() fetches the rest
	DecodeError is string     // why the MIME structure could not be decoded ("" when it could)
END

// One folder of cIMAPMail.Folders.
STIMAPFolder is Structure
	Name is string            // full name, as ChangeFolder and the other folder methods take it
	Delimiter is string       // hierarchy delimiter ("/" or "."), "" when none
	Attributes is int         // EMAIL_FOLDER_* bits
END

cIMAPMail is Class
	Email is STIMAPEmail      // the message read last by ReadFirst / ReadNext / ReadFirstSearch
	Out is boolean            // True when ReadFirst / ReadNext found no (more) message
	ErrorCode is int          // status of the last method: EMAIL_OK or EMAIL_ERR_* (negative)
	ErrorMessage is string    // its description ("" after a success); never holds a password
	NewUID is 8-byte int      // UID given by the server to the last moved, copied or appended message (0: not told)
	Exists is int             // number of messages in the folder after WaitForMail
GLOBAL
	Library is string         // the library API() calls; set by the first constructor
PRIVATE
	m_hSession is system int
	m_hMessage is system int
	m_nReadFlags is int
END

// ===== Methods of cIMAPMail =========================================================

PROCEDURE Constructor(sLibrary is string = "")
// sLibrary: "" for imapmail.dll (64-bit) / imapmail_stdcall.dll (32-bit); on Linux the full
// path of libimapmail.so.
IF sLibrary <> "" THEN
	cIMAPMail::Library = sLibrary
ELSE IF cIMAPMail::Library = "" THEN
	IF In64bitMode() THEN
		cIMAPMail::Library = "imapmail.dll"
	ELSE
		cIMAPMail::Library = "imapmail_stdcall.dll"
	END
END

PROCEDURE Destructor()
CloseSession()

// UTF-8 text for a const char * argument.
PROCEDURE GLOBAL U8(LOCAL sText is string) : Buffer
RESULT StringToUTF8(sText + Charact(0))

// The UTF-8 text at address pText (returned by imapmail, which owns it) as a string.
PROCEDURE GLOBAL ImapText(pText is system int) : string
IF pText = 0 THEN RESULT ""
nUnits is system int = API(cIMAPMail::Library, "email_copy_utf16", pText, Null, 0)
IF nUnits <= 1 THEN RESULT ""
// At least 2 bytes per unit, whatever the project's string mode (extra bytes stay unused).
bufUTF16 is Buffer = RepeatString(Charact(0), 2 * nUnits)
API(cIMAPMail::Library, "email_copy_utf16", pText, &bufUTF16, nUnits)
RESULT StringRetrieve(&bufUTF16, srUNICODEAddress)

// An unsigned 32-bit result (UID, flags, attributes) read from a system int.
PROCEDURE GLOBAL U32(nValue is 8-byte int) : 8-byte int
RESULT BinaryAND(nValue, 0xFFFFFFFF)

// The version of the library, e.g. "0.1.0".
PROCEDURE GLOBAL Version() : string
RESULT cIMAPMail::ImapText(API(cIMAPMail::Library, "email_version"))

// Records a status; True when it is an error (then ErrorMessage tells why).
PROCEDURE PRIVATE Failed(nStatus is system int) : boolean
ErrorCode = nStatus
IF nStatus < 0 THEN
	// This thread's last failure: the call that returned nStatus.
	ErrorMessage = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_last_error_message"))
	RESULT True
END
ErrorMessage = ""
RESULT False

// The name of the last status, e.g. "EMAIL_ERR_AUTH", for logs.
PROCEDURE ErrorName() : string
RESULT cIMAPMail::ImapText(API(cIMAPMail::Library, "email_status_name", ErrorCode))

// Connects, secures the connection, logs in and selects sFolder.
// nFlags: EMAIL_SECURITY_TLS (port 993), EMAIL_SECURITY_STARTTLS or EMAIL_SECURITY_NONE
// (port 143), plus EMAIL_AUTH_XOAUTH2 when sPassword is an OAuth2 access token. nPort 0: the
// standard port. sOptions: more "key=value" options, separated by ";" (timeout_ms, ca_file,
// trace_file, reconnect, ...; docs/windev.md).
PROCEDURE StartSession(sServer is string, sUser is string, sPassword is string, nFlags is int = EMAIL_SECURITY_TLS, ...
		nPort is int = 0, sFolder is string = "INBOX", sOptions is string = "") : boolean
CloseSession()
sAll is string = "folder=" + Replace(Replace(Replace(sFolder, "\", "\\"), ";", "\;"), "=", "\=")
IF sOptions <> "" THEN sAll += ";" + sOptions
m_hSession = API(cIMAPMail::Library, "email_start_session_ex", cIMAPMail::U8(sServer), nPort, cIMAPMail::U8(sUser), cIMAPMail::U8(sPassword), ...
		nFlags, cIMAPMail::U8(sAll))
IF m_hSession = 0 THEN
	RESULT NOT Failed(API(cIMAPMail::Library, "email_last_error"))
END
RESULT NOT Failed(EMAIL_OK)

// StartSession with an OAuth2 access token (Outlook / Microsoft 365, Gmail): the host gets the token.
PROCEDURE StartSessionOAuth2(sServer is string, sUser is string, sAccessToken is string, sOptions is string = "") : boolean
RESULT StartSession(sServer, sUser, sAccessToken, EMAIL_SECURITY_TLS + EMAIL_AUTH_XOAUTH2, 0, "INBOX", sOptions)

// Logs out. Messages already read stay readable.
PROCEDURE CloseSession()
FreeMessage()
IF m_hSession <> 0 THEN
	API(cIMAPMail::Library, "email_close_session", m_hSession)
	m_hSession = 0
END

PROCEDURE PRIVATE FreeMessage()
IF m_hMessage <> 0 THEN
	API(cIMAPMail::Library, "email_message_free", m_hMessage)
	m_hMessage = 0
END

// Options of ReadFirst: "" (every message), "NOT READ" (only unread ones), "HEADERS" (headers,
// flags and size only: LoadBody() fetches the rest), "MARK READ" (mark each message read as it
// is read); several separated by spaces or ";", e.g. "NOT READ HEADERS".
PROCEDURE PRIVATE ReadFlags(sOption is string) : int
sUpper is string = Upper(sOption)
nFlags is int = EMAIL_READ_ALL
IF Position(sUpper, "NOT READ") > 0 OR Position(sUpper, "UNREAD") > 0 THEN nFlags += EMAIL_READ_UNREAD
IF Position(sUpper, "HEADER") > 0 THEN nFlags += EMAIL_READ_HEADERS
IF Position(sUpper, "MARK READ") > 0 THEN nFlags += EMAIL_READ_MARK_SEEN
RESULT nFlags

// Reads the first message of the selected folder into Email (Out = True when there is none).
PROCEDURE ReadFirst(sOption is string = "") : boolean
FreeMessage()
m_nReadFlags = ReadFlags(sOption)
RESULT Loaded(API(cIMAPMail::Library, "email_read_first", m_hSession, m_nReadFlags, &m_hMessage))

// Reads the next message of the iteration into Email.
PROCEDURE ReadNext() : boolean
FreeMessage()
RESULT Loaded(API(cIMAPMail::Library, "email_read_next", m_hSession, &m_hMessage))

// Reads the first message that matches oSearch; ReadNext gives the others.
PROCEDURE ReadFirstSearch(oSearch is cIMAPSearch, sOption is string = "") : boolean
FreeMessage()
m_nReadFlags = ReadFlags(sOption)
RESULT Loaded(API(cIMAPMail::Library, "email_read_first_search", m_hSession, oSearch.Handle(), m_nReadFlags, ...
		&m_hMessage))

PROCEDURE PRIVATE Loaded(nStatus is system int) : boolean
Out = (nStatus <> EMAIL_OK)
IF Failed(nStatus) OR nStatus = EMAIL_OUT THEN
	VariableReset(Email)
	RESULT False
END
Fill()
RESULT True

// Copies the current message's fields into Email.
PROCEDURE PRIVATE Fill()
h is system int = m_hMessage
VariableReset(Email)
Email.UID = cIMAPMail::U32(API(cIMAPMail::Library, "email_message_uid", h))
Email.Flags = cIMAPMail::U32(API(cIMAPMail::Library, "email_message_flags", h))
Email.Unread = (API(cIMAPMail::Library, "email_message_is_read", h) = 0)
Email.Subject = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_message_subject", h))
Email.Sender = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_message_sender", h))
Email.SenderAddress = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_message_sender_address", h))
Email.SenderName = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_message_sender_name", h))
Recipients(EMAIL_TO, Email.Recipient)
Recipients(EMAIL_CC, Email.Cc)
Recipients(EMAIL_BCC, Email.Bcc)
Recipients(EMAIL_REPLY_TO, Email.ReplyTo)
Email.Date = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_message_date", h))
Email.MessageID = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_message_message_id", h))
// 8-byte results: an API Description reads all 8 bytes in 32-bit too.
MessageTimestamp is API Description
MessageTimestamp.DLLName = cIMAPMail::Library
MessageTimestamp.FunctionName = "email_message_timestamp"
MessageTimestamp.ReturnType = apiInt_8
MessageTimestamp.Parameter[1].Type = apiSystemInt
Email.Timestamp = MessageTimestamp(h)
MessageSize is API Description
MessageSize.DLLName = cIMAPMail::Library
MessageSize.FunctionName = "email_message_size"
MessageSize.ReturnType = apiInt_8
MessageSize.Parameter[1].Type = apiSystemInt
Email.Size = MessageSize(h)
nKeywords is system int = API(cIMAPMail::Library, "email_message_keyword_count", h)
FOR i = 0 _TO_ nKeywords - 1
	ArrayAdd(Email.Keyword, cIMAPMail::ImapText(API(cIMAPMail::Library, "email_message_keyword", h, i)))
END
Email.HeadersOnly = (BinaryAND(m_nReadFlags, EMAIL_READ_HEADERS) <> 0)
FillBody()

// The body, HTML and attachment list of the current message.
PROCEDURE PRIVATE FillBody()
h is system int = m_hMessage
Email.Message = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_message_text", h))
Email.HTML = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_message_html", h))
IF API(cIMAPMail::Library, "email_message_error", h) <> EMAIL_OK THEN
	Email.DecodeError = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_message_error_message", h))
END
ArrayDeleteAll(Email.Attachment)
a is STIMAPAttachment
nCount is system int = API(cIMAPMail::Library, "email_message_attachment_count", h)
FOR i = 0 _TO_ nCount - 1
	VariableReset(a)
	a.Name = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_attachment_name", h, i))
	a.ContentType = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_attachment_content_type", h, i))
	a.ContentID = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_attachment_content_id", h, i))
	a.Inline = (API(cIMAPMail::Library, "email_attachment_is_inline", h, i) = 1)
	ArrayAdd(Email.Attachment, a)
END

PROCEDURE PRIVATE Recipients(nKind is int, arrTarget is array of strings)
ArrayDeleteAll(arrTarget)
nCount is system int = API(cIMAPMail::Library, "email_message_recipient_count", m_hMessage, nKind)
FOR i = 0 _TO_ nCount - 1
	ArrayAdd(arrTarget, cIMAPMail::ImapText(API(cIMAPMail::Library, "email_message_recipient_address", m_hMessage, nKind, i)))
END

// Any header of the current message, decoded ("" when it has none), e.g. Header("X-Priority").
PROCEDURE Header(sName is string) : string
RESULT cIMAPMail::ImapText(API(cIMAPMail::Library, "email_message_header", m_hMessage, cIMAPMail::U8(sName)))

// The raw source of the current message (only the headers after "HEADERS"), as bytes.
PROCEDURE Source() : Buffer
nLength is system int = 0
pData is system int = API(cIMAPMail::Library, "email_message_source", m_hMessage, &nLength)
RESULT cIMAPMail::Bytes(pData, nLength)

PROCEDURE GLOBAL Bytes(pData is system int, nLength is system int) : Buffer
bufData is Buffer
IF pData = 0 OR nLength <= 0 THEN RESULT bufData
bufData = RepeatString(Charact(0), nLength)     // at least nLength bytes
Transfer(&bufData, pData, nLength)
RESULT Left(bufData, nLength)

// After ReadFirst("HEADERS"): fetches the body and attachments of the current message.
PROCEDURE LoadBody() : boolean
IF Failed(API(cIMAPMail::Library, "email_message_load_body", m_hSession, m_hMessage)) THEN RESULT False
Email.HeadersOnly = False
FillBody()
RESULT True

// The decoded bytes of attachment nIndex (1-based, as Email.Attachment) of the current message.
PROCEDURE AttachmentContent(nIndex is int) : Buffer
nLength is system int = 0
pData is system int = API(cIMAPMail::Library, "email_attachment_data", m_hMessage, nIndex - 1, &nLength)
RESULT cIMAPMail::Bytes(pData, nLength)

// Saves every attachment of the current message into sDirectory (created if needed) under its
// name made safe; never overwrites (adds " (1)", ...). Returns the number saved.
PROCEDURE SaveAttachments(sDirectory is string) : int
IF NOT fDirectoryExist(sDirectory) THEN fMakeDir(sDirectory)
nSaved is int = 0
FOR i = 0 _TO_ ArrayCount(Email.Attachment) - 1
	IF Failed(API(cIMAPMail::Library, "email_attachment_save", m_hMessage, i, cIMAPMail::U8(sDirectory))) THEN RESULT nSaved
	nSaved++
END
RESULT nSaved

// Marks the current message read (True) or unread (False) on the server.
PROCEDURE MarkRead(bRead is boolean = True) : boolean
RESULT NOT Failed(API(cIMAPMail::Library, "email_message_mark_read", m_hSession, m_hMessage, IIF(bRead, 1, 0)))

// Adds (bAdd True) or removes EMAIL_FLAG_* flags on the current message.
PROCEDURE SetFlags(nFlags is int, bAdd is boolean = True) : boolean
RESULT NOT Failed(API(cIMAPMail::Library, "email_message_set_flags", m_hSession, m_hMessage, nFlags, IIF(bAdd, 1, 0)))

// Adds (bAdd True) or removes a keyword ($Forwarded, Work, ...) on message nUID.
PROCEDURE SetKeyword(nUID is int, sKeyword is string, bAdd is boolean = True) : boolean
IF bAdd THEN
	RESULT NOT Failed(API(cIMAPMail::Library, "email_add_keyword", m_hSession, nUID, cIMAPMail::U8(sKeyword)))
END
RESULT NOT Failed(API(cIMAPMail::Library, "email_remove_keyword", m_hSession, nUID, cIMAPMail::U8(sKeyword)))

// Marks the current message deleted; Expunge() removes it for good.
PROCEDURE DeleteMessage() : boolean
RESULT NOT Failed(API(cIMAPMail::Library, "email_message_delete", m_hSession, m_hMessage))

// Removes for good the messages this session marked deleted in the selected folder.
PROCEDURE Expunge() : boolean
RESULT NOT Failed(API(cIMAPMail::Library, "email_expunge", m_hSession))

// Moves the current message into sFolder (NewUID: its UID there, 0 when the server does not tell).
PROCEDURE MoveTo(sFolder is string) : boolean
nUID is int = 0
bOK is boolean = NOT Failed(API(cIMAPMail::Library, "email_message_move", m_hSession, m_hMessage, cIMAPMail::U8(sFolder), &nUID))
NewUID = cIMAPMail::U32(nUID)
RESULT bOK

// Copies the current message into sFolder.
PROCEDURE CopyTo(sFolder is string) : boolean
nUID is int = 0
bOK is boolean = NOT Failed(API(cIMAPMail::Library, "email_message_copy", m_hSession, m_hMessage, cIMAPMail::U8(sFolder), &nUID))
NewUID = cIMAPMail::U32(nUID)
RESULT bOK

// The same on a message given by its UID (e.g. one found by Search). A UID goes to the library
// as an int: 4 bytes, the width of the C argument (an 8-byte int would take two argument slots
// in 32-bit).
PROCEDURE MarkReadUID(nUID is int, bRead is boolean = True) : boolean
RESULT NOT Failed(API(cIMAPMail::Library, "email_mark_read", m_hSession, nUID, IIF(bRead, 1, 0)))

PROCEDURE SetFlagsUID(nUID is int, nFlags is int, bAdd is boolean = True) : boolean
RESULT NOT Failed(API(cIMAPMail::Library, "email_set_flags", m_hSession, nUID, nFlags, IIF(bAdd, 1, 0)))

PROCEDURE DeleteUID(nUID is int) : boolean
RESULT NOT Failed(API(cIMAPMail::Library, "email_delete_message", m_hSession, nUID))

PROCEDURE MoveUID(nUID is int, sFolder is string) : boolean
nNew is int = 0
bOK is boolean = NOT Failed(API(cIMAPMail::Library, "email_move_message", m_hSession, nUID, cIMAPMail::U8(sFolder), &nNew))
NewUID = cIMAPMail::U32(nNew)
RESULT bOK

PROCEDURE CopyUID(nUID is int, sFolder is string) : boolean
nNew is int = 0
bOK is boolean = NOT Failed(API(cIMAPMail::Library, "email_copy_message", m_hSession, nUID, cIMAPMail::U8(sFolder), &nNew))
NewUID = cIMAPMail::U32(nNew)
RESULT bOK

// Stores a message (RFC 5322 bytes, e.g. a sent message or a draft) in sFolder with EMAIL_FLAG_*
// flags (e.g. EMAIL_FLAG_SEEN) and an arrival date in Unix seconds (0: now).
PROCEDURE Append(sFolder is string, bufSource is Buffer, nFlags is int = 0, nUnixTime is 8-byte int = 0) : boolean
// internal_date is 8 bytes wide: an API Description passes it whole in 32-bit too.
AppendMessage is API Description
AppendMessage.DLLName = cIMAPMail::Library
AppendMessage.FunctionName = "email_append"
AppendMessage.ReturnType = apiSystemInt
AppendMessage.Parameter[1].Type = apiSystemInt     // session
AppendMessage.Parameter[2].Type = apiSystemInt     // folder (address of UTF-8)
AppendMessage.Parameter[3].Type = apiSystemInt     // raw bytes (address)
AppendMessage.Parameter[4].Type = apiSystemInt     // their length
AppendMessage.Parameter[5].Type = apiInt_4         // flags
AppendMessage.Parameter[6].Type = apiInt_8         // internal date
AppendMessage.Parameter[7].Type = apiSystemInt     // &new UID (int)
bufFolder is Buffer = cIMAPMail::U8(sFolder)
nNew is int = 0
bOK is boolean = NOT Failed(AppendMessage(m_hSession, &bufFolder, &bufSource, Length(bufSource), nFlags, nUnixTime, &nNew))
NewUID = cIMAPMail::U32(nNew)
RESULT bOK

// Selects a folder (WINDEV's EmailChangeFolder); bReadOnly: nothing can change in it.
PROCEDURE ChangeFolder(sFolder is string, bReadOnly is boolean = False) : boolean
FreeMessage()
RESULT NOT Failed(API(cIMAPMail::Library, "email_select_folder", m_hSession, cIMAPMail::U8(sFolder), IIF(bReadOnly, 1, 0)))

// The name of the selected folder.
PROCEDURE CurrentFolder() : string
RESULT cIMAPMail::ImapText(API(cIMAPMail::Library, "email_current_folder", m_hSession))

// Every folder of the account (bSubscribedOnly: only the subscribed ones), INBOX first.
PROCEDURE Folders(bSubscribedOnly is boolean = False) : array of STIMAPFolder
arrFolders is array of STIMAPFolder
hStrings is system int = 0
IF bSubscribedOnly THEN
	IF Failed(API(cIMAPMail::Library, "email_list_subscribed", m_hSession, &hStrings)) THEN RESULT arrFolders
ELSE
	IF Failed(API(cIMAPMail::Library, "email_list_folders", m_hSession, &hStrings)) THEN RESULT arrFolders
END
f is STIMAPFolder
nCount is system int = API(cIMAPMail::Library, "email_strings_count", hStrings)
FOR i = 0 _TO_ nCount - 1
	VariableReset(f)
	f.Name = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_strings_get", hStrings, i))
	f.Delimiter = cIMAPMail::ImapText(API(cIMAPMail::Library, "email_strings_delimiter", hStrings, i))
	f.Attributes = cIMAPMail::U32(API(cIMAPMail::Library, "email_strings_attributes", hStrings, i))
	ArrayAdd(arrFolders, f)
END
API(cIMAPMail::Library, "email_strings_free", hStrings)
RESULT arrFolders

// The name of the first folder with a special use (EMAIL_FOLDER_SENT, _TRASH, ...), "" if none.
PROCEDURE SpecialFolder(nUse is int) : string
FOR EACH f OF Folders()
	IF BinaryAND(f.Attributes, nUse) <> 0 THEN RESULT f.Name
END
RESULT ""

PROCEDURE CreateFolder(sFolder is string) : boolean
RESULT NOT Failed(API(cIMAPMail::Library, "email_create_folder", m_hSession, cIMAPMail::U8(sFolder)))

PROCEDURE DeleteFolder(sFolder is string) : boolean
RESULT NOT Failed(API(cIMAPMail::Library, "email_delete_folder", m_hSession, cIMAPMail::U8(sFolder)))

PROCEDURE RenameFolder(sFrom is string, sTo is string) : boolean
RESULT NOT Failed(API(cIMAPMail::Library, "email_rename_folder", m_hSession, cIMAPMail::U8(sFrom), cIMAPMail::U8(sTo)))

PROCEDURE Subscribe(sFolder is string, bSubscribe is boolean = True) : boolean
IF bSubscribe THEN
	RESULT NOT Failed(API(cIMAPMail::Library, "email_subscribe_folder", m_hSession, cIMAPMail::U8(sFolder)))
END
RESULT NOT Failed(API(cIMAPMail::Library, "email_unsubscribe_folder", m_hSession, cIMAPMail::U8(sFolder)))

// The number of messages and of unread messages of a folder, without selecting it.
// nMessages and nUnread receive the counts.
PROCEDURE FolderStatus(sFolder is string, nMessages is int, nUnread is int) : boolean
nAll is int = 0
nUnseen is int = 0
nUIDNext is int = 0
nUIDValidity is int = 0
bOK is boolean = NOT Failed(API(cIMAPMail::Library, "email_folder_status", m_hSession, cIMAPMail::U8(sFolder), &nAll, &nUnseen, ...
		&nUIDNext, &nUIDValidity))
nMessages = nAll
nUnread = nUnseen
RESULT bOK

// The number of messages in the selected folder (bUnread: of unread ones); -1 on failure.
PROCEDURE NbMessage(bUnread is boolean = False) : int
nFlags is int = EMAIL_READ_ALL
IF bUnread THEN nFlags = EMAIL_READ_UNREAD
nCount is system int = API(cIMAPMail::Library, "email_count", m_hSession, nFlags)
IF Failed(Min(nCount, 0)) THEN RESULT -1
RESULT nCount

// The UIDs of the messages of the selected folder that match oSearch (ascending).
PROCEDURE Search(oSearch is cIMAPSearch) : array of 8-byte int
arrUIDs is array of 8-byte int
hUids is system int = 0
IF Failed(API(cIMAPMail::Library, "email_search", m_hSession, oSearch.Handle(), &hUids)) THEN RESULT arrUIDs
nCount is system int = API(cIMAPMail::Library, "email_uids_count", hUids)
FOR i = 0 _TO_ nCount - 1
	ArrayAdd(arrUIDs, cIMAPMail::U32(API(cIMAPMail::Library, "email_uids_get", hUids, i)))
END
API(cIMAPMail::Library, "email_uids_free", hUids)
RESULT arrUIDs

// Waits up to nTimeoutMs for new mail in the selected folder (0: check once). Returns EMAIL_OK
// when something changed, EMAIL_OUT when nothing did, or an error; Exists gets the folder's
// message count. It blocks: call it from a thread of yours (ThreadExecute), never the UI one.
PROCEDURE WaitForMail(nTimeoutMs is int) : int
nExists is int = 0
nStatus is system int = API(cIMAPMail::Library, "email_idle", m_hSession, nTimeoutMs, &nExists)
Exists = nExists
Failed(nStatus)
RESULT nStatus

// The progress of the current (or last) read: nDone messages handed out of nTotal. Made to be
// called from another thread (a timer of the window) while ReadFirst / ReadNext run in a thread
// of yours: it never waits for the session, and changes neither ErrorCode nor ErrorMessage.
PROCEDURE Progress(nDone is 8-byte int, nTotal is 8-byte int) : boolean
nDoneNow is 8-byte int = 0
nTotalNow is 8-byte int = 0
nStatus is system int = API(cIMAPMail::Library, "email_session_progress", m_hSession, &nDoneNow, &nTotalNow)
nDone = nDoneNow
nTotal = nTotalNow
RESULT (nStatus = EMAIL_OK)

// Takes the oldest line of the protocol trace kept by the option "trace_queue=N" (e.g.
// StartSession(..., "trace_queue=10000")) into sLine: "C: ..." sent, "S: ..." received,
// passwords and tokens replaced by <redacted>. False when no line is waiting. Like Progress,
// made to be called from a timer while another thread works, and changes neither ErrorCode
// nor ErrorMessage.
PROCEDURE TraceNext(sLine is string) : boolean
bufLine is Buffer = RepeatString(Charact(0), 16400)      // at least 16400 bytes: any line fits
nStatus is system int = API(cIMAPMail::Library, "email_session_trace_next", m_hSession, &bufLine, 16400)
IF nStatus <> EMAIL_OK THEN
	sLine = ""
	RESULT False
END
sLine = cIMAPMail::ImapText(&bufLine)
RESULT True

// ===== Declaration of cIMAPSearch ===================================================
// Search criteria; every criterion added must hold. Used by cIMAPMail.Search and
// cIMAPMail.ReadFirstSearch. Dates are Unix seconds (the whole UTC day containing them).
cIMAPSearch is Class
PRIVATE
	m_hSearch is system int
END

// ===== Methods of cIMAPSearch =======================================================

PROCEDURE Constructor()
IF cIMAPMail::Library = "" THEN
	IF In64bitMode() THEN
		cIMAPMail::Library = "imapmail.dll"
	ELSE
		cIMAPMail::Library = "imapmail_stdcall.dll"
	END
END
m_hSearch = API(cIMAPMail::Library, "email_search_new")

PROCEDURE Destructor()
API(cIMAPMail::Library, "email_search_free", m_hSearch)
m_hSearch = 0

PROCEDURE Handle() : system int
RESULT m_hSearch

// Each method returns True when the criterion was added (False: bad argument).
PROCEDURE FromContains(sText is string) : boolean
RESULT API(cIMAPMail::Library, "email_search_from", m_hSearch, cIMAPMail::U8(sText)) = 0

PROCEDURE ToContains(sText is string) : boolean
RESULT API(cIMAPMail::Library, "email_search_to", m_hSearch, cIMAPMail::U8(sText)) = 0

PROCEDURE SubjectContains(sText is string) : boolean
RESULT API(cIMAPMail::Library, "email_search_subject", m_hSearch, cIMAPMail::U8(sText)) = 0

PROCEDURE BodyContains(sText is string) : boolean
RESULT API(cIMAPMail::Library, "email_search_body", m_hSearch, cIMAPMail::U8(sText)) = 0

// Headers or body.
PROCEDURE TextContains(sText is string) : boolean
RESULT API(cIMAPMail::Library, "email_search_text", m_hSearch, cIMAPMail::U8(sText)) = 0

// Header sName contains sValue ("" : the message has the header).
PROCEDURE HeaderContains(sName is string, sValue is string) : boolean
RESULT API(cIMAPMail::Library, "email_search_header", m_hSearch, cIMAPMail::U8(sName), cIMAPMail::U8(sValue)) = 0

// The message has (bHas True) every EMAIL_FLAG_* of nFlags, or none of them.
PROCEDURE Flags(nFlags is int, bHas is boolean = True) : boolean
RESULT API(cIMAPMail::Library, "email_search_flags", m_hSearch, nFlags, IIF(bHas, 1, 0)) = 0

PROCEDURE Unread() : boolean
RESULT Flags(cIMAPMail::EMAIL_FLAG_SEEN, False)

PROCEDURE Keyword(sKeyword is string, bHas is boolean = True) : boolean
RESULT API(cIMAPMail::Library, "email_search_keyword", m_hSearch, cIMAPMail::U8(sKeyword), IIF(bHas, 1, 0)) = 0

// Arrived on or after the day of nUnixTime.
PROCEDURE Since(nUnixTime is 8-byte int) : boolean
RESULT AddDate("email_search_since", nUnixTime)

// Arrived before the day of nUnixTime.
PROCEDURE Before(nUnixTime is 8-byte int) : boolean
RESULT AddDate("email_search_before", nUnixTime)

// Date header on or after / before the day of nUnixTime.
PROCEDURE SentSince(nUnixTime is 8-byte int) : boolean
RESULT AddDate("email_search_sent_since", nUnixTime)

PROCEDURE SentBefore(nUnixTime is 8-byte int) : boolean
RESULT AddDate("email_search_sent_before", nUnixTime)

// The date criteria take an 8-byte argument: an API Description passes it whole in 32-bit too.
PROCEDURE PRIVATE AddDate(sFunction is string, nUnixTime is 8-byte int) : boolean
SearchDate is API Description
SearchDate.DLLName = cIMAPMail::Library
SearchDate.FunctionName = sFunction
SearchDate.ReturnType = apiSystemInt
SearchDate.Parameter[1].Type = apiSystemInt
SearchDate.Parameter[2].Type = apiInt_8
RESULT SearchDate(m_hSearch, nUnixTime) = 0

// Larger / smaller than nBytes.
PROCEDURE Larger(nBytes is int) : boolean
RESULT API(cIMAPMail::Library, "email_search_larger", m_hSearch, nBytes) = 0

PROCEDURE Smaller(nBytes is int) : boolean
RESULT API(cIMAPMail::Library, "email_search_smaller", m_hSearch, nBytes) = 0

// UID from nFirst to nLast inclusive (nLast 0: up to the newest).
PROCEDURE UIDRange(nFirst is int, nLast is int = 0) : boolean
RESULT API(cIMAPMail::Library, "email_search_uid_range", m_hSearch, nFirst, nLast) = 0

// oA or oB matches (copies are taken).
PROCEDURE AnyOf(oA is cIMAPSearch, oB is cIMAPSearch) : boolean
RESULT API(cIMAPMail::Library, "email_search_or", m_hSearch, oA.Handle(), oB.Handle()) = 0

// oSub does not match (a copy is taken).
PROCEDURE NoneOf(oSub is cIMAPSearch) : boolean
RESULT API(cIMAPMail::Library, "email_search_not", m_hSearch, oSub.Handle()) = 0
