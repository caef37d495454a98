/*
 * imapmail.hpp - header-only C++17 RAII wrapper of the imapmail C API (imapmail.h). Every
 * email_* function of imapmail.h is reachable through it (tests/suites/cpp.sh checks this).
 *
 *   #include <imapmail.hpp>
 *
 *   imapmail::SessionOptions opts;
 *   opts.ca_file = "/etc/ssl/my-ca.pem";
 *   imapmail::Session session("imap.example.com", 0, "bob", password, imapmail::Security::tls, opts);
 *   session.for_each(imapmail::read_unread, [](const imapmail::Message &m) {
 *       std::cout << m.uid() << " " << m.sender() << ": " << m.subject() << "\n";
 *   });
 *   imapmail::Search q;
 *   q.from("alice").since(1704067200);
 *   for (uint32_t uid : session.search(q)) session.mark_read(uid, true);
 *
 * Ownership and lifetime
 * - Session, Message, List, Search, Uids and Strings (FolderList) own one C handle each: they
 *   are move-only, free it in their destructor (a Session logs out), and a moved-from object
 *   holds nothing (calls on it throw Error with EMAIL_ERR_HANDLE, or give 0/"" for accessors).
 * - Strings returned are UTF-8 std::string copies: they stay valid after the handle is gone.
 * - A MessageView (from a List, or the base of a Message) borrows its message: it must not
 *   outlive the List or Message it came from. A Message (read_first / read_next / for_each)
 *   owns its data and outlives its Session; so do List, Uids and Strings.
 * - An Attachment borrows from its message in the same way.
 *
 * Errors
 * - Failures throw imapmail::Error, carrying the EMAIL_ERR_* status (intptr_t) and the
 *   library's message (never a password). EMAIL_OUT ("nothing more") is not an error: it gives
 *   std::nullopt (reads) or false (idle).
 * - A string argument containing a NUL character throws Error(EMAIL_ERR_ARGUMENT) before the
 *   library is called (the C API would see a shorter string).
 * - An exception thrown by a progress callback cancels the read and is rethrown from the
 *   reading call (instead of EMAIL_ERR_CANCELLED).
 *
 * Threads
 * - The C library's rules: a Session may be used from several threads at once (calls on one
 *   session are serialized by the library), except that moving, assigning, closing or
 *   destroying a Session object, and setting its callbacks, must not race with other calls on
 *   that object. Session::progress() never waits, even while another thread reads.
 * - Message, List, Uids and Strings are immutable and may be read from several threads at
 *   once. A Search may be built from one thread at a time.
 * - The progress callback runs on the thread that made the reading call, before it returns.
 *   The trace callback may run on a library thread; an exception thrown from it is caught and
 *   discarded (it cannot be handed to any caller). Neither may call into the same Session.
 */
#ifndef IMAPMAIL_HPP
#define IMAPMAIL_HPP

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imapmail.h"

namespace imapmail {

/// A failure reported by imapmail.
class Error : public std::runtime_error {
public:
    Error(intptr_t status, const std::string &message)
        : std::runtime_error(message.empty() ? std::string(email_status_name(status))
                                             : message + " (" + email_status_name(status) + ")"),
          status_(status), message_(message) {}

    /// The EMAIL_ERR_* code (negative).
    intptr_t status() const noexcept { return status_; }
    /// "EMAIL_ERR_AUTH", ...
    std::string name() const { return email_status_name(status_); }
    /// The library's explanation (never contains a password).
    const std::string &message() const noexcept { return message_; }

    /// This thread's last imapmail failure (email_last_error / email_last_error_message).
    static Error last() {
        const char *m = email_last_error_message();
        return Error(email_last_error(), m != nullptr ? m : "");
    }

private:
    intptr_t status_;
    std::string message_;
};

/// This thread's last status (email_last_error): EMAIL_OK after a success.
inline intptr_t last_status() noexcept { return email_last_error(); }
/// This thread's last failure message (email_last_error_message); "" after a success.
inline std::string last_error_message() {
    const char *m = email_last_error_message();
    return m != nullptr ? std::string(m) : std::string();
}

namespace detail {
inline std::string str(const char *p) { return p != nullptr ? std::string(p) : std::string(); }

/// A NUL-terminated copy of an argument; a NUL inside it is an EMAIL_ERR_ARGUMENT.
inline std::string arg(std::string_view v, const char *what) {
    if (v.find('\0') != std::string_view::npos) {
        throw Error(EMAIL_ERR_ARGUMENT, std::string(what) + " contains a NUL character");
    }
    return std::string(v);
}

/// Throws the failure behind a negative status; gives the status back otherwise.
inline intptr_t check(intptr_t rc) {
    if (rc < 0) {
        const char *m = email_last_error_message();
        throw Error(rc, m != nullptr ? m : "");
    }
    return rc;
}

inline std::string escape_option(const std::string &v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == ';' || c == '=' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out;
}

/// An exception thrown by a progress callback on this thread, rethrown by the reading call.
inline std::exception_ptr &pending_exception() {
    static thread_local std::exception_ptr pending;
    return pending;
}

inline void rethrow_pending() {
    std::exception_ptr &p = pending_exception();
    if (p) {
        std::exception_ptr e = std::exchange(p, nullptr);
        std::rethrow_exception(e);
    }
}
}  // namespace detail

/// The library version, e.g. "0.1.0".
inline std::string version() { return detail::str(email_version()); }

/// The name of a status code, e.g. "EMAIL_ERR_TLS".
inline std::string status_name(intptr_t status) { return detail::str(email_status_name(status)); }

/// UTF-8 to UTF-16 (Windows wide strings), with email_copy_utf16. Invalid UTF-8 becomes U+FFFD.
inline std::u16string to_utf16(std::string_view utf8) {
    const std::string s = detail::arg(utf8, "text");
    const size_t needed = email_copy_utf16(s.c_str(), nullptr, 0);
    if (needed == 0) {
        throw Error::last();
    }
    std::vector<uint16_t> buf(needed);
    email_copy_utf16(s.c_str(), buf.data(), buf.size());
    return std::u16string(buf.begin(), buf.end() - 1);
}

/// A copy of a NUL-terminated UTF-8 string made by email_copy_utf8 (for strings the C API hands
/// out, e.g. when mixing this header with direct C calls). Throws Error for NULL.
inline std::string copy_utf8(const char *utf8) {
    const size_t needed = email_copy_utf8(utf8, nullptr, 0);
    if (needed == 0) {
        throw Error::last();
    }
    std::string out(needed, '\0');
    email_copy_utf8(utf8, &out[0], out.size());
    out.pop_back();  // the terminating NUL
    return out;
}

enum class Security : uint32_t {
    tls = EMAIL_SECURITY_TLS,
    starttls = EMAIL_SECURITY_STARTTLS,
    none = EMAIL_SECURITY_NONE,
};

/// Read flags (combine with |).
constexpr uint32_t read_all = EMAIL_READ_ALL;
constexpr uint32_t read_unread = EMAIL_READ_UNREAD;
constexpr uint32_t read_headers = EMAIL_READ_HEADERS;
constexpr uint32_t read_mark_seen = EMAIL_READ_MARK_SEEN;

/// Message flags (combine with |), as Message::flags() gives them and set_flags takes them.
constexpr uint32_t flag_seen = EMAIL_FLAG_SEEN;
constexpr uint32_t flag_answered = EMAIL_FLAG_ANSWERED;
constexpr uint32_t flag_flagged = EMAIL_FLAG_FLAGGED;
constexpr uint32_t flag_deleted = EMAIL_FLAG_DELETED;
constexpr uint32_t flag_draft = EMAIL_FLAG_DRAFT;

/// Recipient kinds.
enum class RecipientKind : int32_t { to = EMAIL_TO, cc = EMAIL_CC, bcc = EMAIL_BCC, reply_to = EMAIL_REPLY_TO };

/// Direction of a trace line.
enum class TraceDirection : int32_t { sent = EMAIL_TRACE_SENT, received = EMAIL_TRACE_RECEIVED };

/// Options of Session (email_start_session_ex; with none set, email_start_session is used).
struct SessionOptions {
    std::string folder;                         ///< "" = INBOX
    std::string ca_file;                        ///< extra trusted certificates (PEM)
    std::string trace_file;                     ///< protocol trace appended here (credentials masked)
    std::optional<uint32_t> timeout_ms;         ///< network bound (default 60000)
    std::optional<uint64_t> max_message_bytes;  ///< largest message accepted
    std::optional<bool> pipelining;             ///< default true
    std::optional<uint32_t> trace_queue;        ///< queue this many trace lines for trace_next()
    bool reconnect = false;                     ///< reads reconnect (keeps the password in memory)
    bool accept_invalid_certs = false;          ///< testing only
    bool xoauth2 = false;                       ///< password is an OAuth2 access token

    /// The `key=value;` string of email_start_session_ex (values escaped).
    std::string to_string() const {
        std::string s;
        auto add = [&s](const char *key, const std::string &value) {
            s += key;
            s += '=';
            s += detail::escape_option(value);
            s += ';';
        };
        if (!folder.empty()) add("folder", folder);
        if (!ca_file.empty()) add("ca_file", ca_file);
        if (!trace_file.empty()) add("trace_file", trace_file);
        if (timeout_ms) add("timeout_ms", std::to_string(*timeout_ms));
        if (max_message_bytes) add("max_message_bytes", std::to_string(*max_message_bytes));
        if (pipelining) add("pipelining", *pipelining ? "1" : "0");
        if (trace_queue) add("trace_queue", std::to_string(*trace_queue));
        if (reconnect) add("reconnect", "1");
        return s;
    }
};

struct Recipient {
    std::string name;  ///< "" when none
    std::string address;
};

/// One attachment of a message (borrows from it: must not outlive it).
class Attachment {
public:
    Attachment(const EmailMessage *m, size_t index) : m_(m), index_(index) {}

    std::string name() const { return detail::str(email_attachment_name(m_, index_)); }
    std::string content_type() const { return detail::str(email_attachment_content_type(m_, index_)); }
    std::string content_id() const { return detail::str(email_attachment_content_id(m_, index_)); }
    bool is_inline() const { return email_attachment_is_inline(m_, index_) == 1; }

    /// The decoded bytes (a copy).
    std::vector<uint8_t> data() const {
        size_t len = 0;
        const uint8_t *p = email_attachment_data(m_, index_, &len);
        return p != nullptr ? std::vector<uint8_t>(p, p + len) : std::vector<uint8_t>();
    }

    /// Writes the attachment into an existing directory under its name made safe (never
    /// overwrites). Throws Error.
    void save(std::string_view directory) const {
        detail::check(email_attachment_save(m_, index_, detail::arg(directory, "directory").c_str()));
    }

private:
    const EmailMessage *m_;
    size_t index_;
};

/// Read access to a message; copyable, does not own it.
class MessageView {
public:
    explicit MessageView(const EmailMessage *m) : m_(m) {}

    const EmailMessage *get() const noexcept { return m_; }
    explicit operator bool() const noexcept { return m_ != nullptr; }

    uint32_t uid() const { return email_message_uid(m_); }
    /// flag_* bits as read.
    uint32_t flags() const { return email_message_flags(m_); }
    bool is_read() const { return email_message_is_read(m_) == 1; }
    uint64_t size() const { return email_message_size(m_); }
    std::string subject() const { return detail::str(email_message_subject(m_)); }
    std::string sender() const { return detail::str(email_message_sender(m_)); }
    std::string sender_address() const { return detail::str(email_message_sender_address(m_)); }
    std::string sender_name() const { return detail::str(email_message_sender_name(m_)); }
    std::string date() const { return detail::str(email_message_date(m_)); }
    int64_t timestamp() const { return email_message_timestamp(m_); }
    std::string message_id() const { return detail::str(email_message_message_id(m_)); }
    std::string text() const { return detail::str(email_message_text(m_)); }
    std::string html() const { return detail::str(email_message_html(m_)); }

    /// The first header called `name`, decoded; nullopt when absent.
    std::optional<std::string> header(std::string_view name) const {
        const char *v = email_message_header(m_, detail::arg(name, "header name").c_str());
        return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
    }

    std::vector<Recipient> recipients(RecipientKind kind) const {
        std::vector<Recipient> out;
        const auto k = static_cast<int32_t>(kind);
        const size_t n = email_message_recipient_count(m_, k);
        out.reserve(n);
        for (size_t i = 0; i < n; i++) {
            out.push_back({detail::str(email_message_recipient_name(m_, k, i)),
                           detail::str(email_message_recipient_address(m_, k, i))});
        }
        return out;
    }
    std::vector<Recipient> to() const { return recipients(RecipientKind::to); }
    std::vector<Recipient> cc() const { return recipients(RecipientKind::cc); }
    std::vector<Recipient> bcc() const { return recipients(RecipientKind::bcc); }
    std::vector<Recipient> reply_to() const { return recipients(RecipientKind::reply_to); }

    std::vector<std::string> keywords() const {
        std::vector<std::string> out;
        const size_t n = email_message_keyword_count(m_);
        for (size_t i = 0; i < n; i++) out.push_back(detail::str(email_message_keyword(m_, i)));
        return out;
    }

    /// The raw RFC 5322 bytes (a copy).
    std::vector<uint8_t> source() const {
        size_t len = 0;
        const uint8_t *p = email_message_source(m_, &len);
        return p != nullptr ? std::vector<uint8_t>(p, p + len) : std::vector<uint8_t>();
    }

    size_t attachment_count() const { return email_message_attachment_count(m_); }
    Attachment attachment(size_t index) const { return Attachment(m_, index); }
    std::vector<Attachment> attachments() const {
        std::vector<Attachment> out;
        const size_t n = attachment_count();
        for (size_t i = 0; i < n; i++) out.emplace_back(m_, i);
        return out;
    }

    /// EMAIL_OK, or EMAIL_ERR_PROTOCOL when the MIME structure could not be fully decoded.
    intptr_t decode_status() const { return email_message_error(m_); }
    std::string decode_error() const { return detail::str(email_message_error_message(m_)); }

protected:
    const EmailMessage *m_;
};

/// A message owned by the caller (from Session::read_first / read_next / for_each): move-only,
/// freed by its destructor, valid after its session is closed.
class Message : public MessageView {
public:
    explicit Message(EmailMessage *m) noexcept : MessageView(m) {}
    ~Message() {
        if (m_ != nullptr) email_message_free(const_cast<EmailMessage *>(m_));
    }
    Message(const Message &) = delete;
    Message &operator=(const Message &) = delete;
    Message(Message &&other) noexcept : MessageView(std::exchange(other.m_, nullptr)) {}
    Message &operator=(Message &&other) noexcept {
        if (this != &other) {
            if (m_ != nullptr) email_message_free(const_cast<EmailMessage *>(m_));
            m_ = std::exchange(other.m_, nullptr);
        }
        return *this;
    }
};

/// All messages read by Session::get_all; move-only. Its MessageViews are valid while it lives.
class List {
public:
    explicit List(EmailList *l) noexcept : l_(l) {}
    ~List() {
        if (l_ != nullptr) email_list_free(l_);
    }
    List(const List &) = delete;
    List &operator=(const List &) = delete;
    List(List &&other) noexcept : l_(std::exchange(other.l_, nullptr)) {}
    List &operator=(List &&other) noexcept {
        if (this != &other) {
            if (l_ != nullptr) email_list_free(l_);
            l_ = std::exchange(other.l_, nullptr);
        }
        return *this;
    }

    size_t size() const { return email_list_count(l_); }
    bool empty() const { return size() == 0; }
    MessageView operator[](size_t i) const { return MessageView(email_list_get(l_, i)); }
    MessageView at(size_t i) const {
        if (i >= size()) throw std::out_of_range("imapmail::List::at");
        return (*this)[i];
    }

    class iterator {
    public:
        iterator(const List *list, size_t i) : list_(list), i_(i) {}
        MessageView operator*() const { return (*list_)[i_]; }
        iterator &operator++() {
            ++i_;
            return *this;
        }
        bool operator!=(const iterator &o) const { return i_ != o.i_; }
        bool operator==(const iterator &o) const { return i_ == o.i_; }

    private:
        const List *list_;
        size_t i_;
    };
    iterator begin() const { return iterator(this, 0); }
    iterator end() const { return iterator(this, size()); }

private:
    EmailList *l_;
};

/// One folder of a folder list.
struct Folder {
    std::string name;            ///< full UTF-8 name, as the folder functions take it
    std::string delimiter;       ///< hierarchy delimiter ("/", "."), "" when flat
    uint32_t attributes = 0;     ///< EMAIL_FOLDER_* bits
    std::string attribute_text;  ///< the attributes as the server wrote them
    bool has(uint32_t attribute) const noexcept { return (attributes & attribute) != 0; }
};

/// An immutable list of strings (EmailStrings): the folders of Session::list_folders /
/// list_subscribed. Move-only; outlives its session.
class Strings {
public:
    explicit Strings(EmailStrings *l) noexcept : l_(l) {}
    ~Strings() {
        if (l_ != nullptr) email_strings_free(l_);
    }
    Strings(const Strings &) = delete;
    Strings &operator=(const Strings &) = delete;
    Strings(Strings &&other) noexcept : l_(std::exchange(other.l_, nullptr)) {}
    Strings &operator=(Strings &&other) noexcept {
        if (this != &other) {
            if (l_ != nullptr) email_strings_free(l_);
            l_ = std::exchange(other.l_, nullptr);
        }
        return *this;
    }

    size_t size() const { return email_strings_count(l_); }
    bool empty() const { return size() == 0; }
    /// String (folder name) `i`; throws std::out_of_range past the end.
    std::string operator[](size_t i) const { return at(i); }
    std::string at(size_t i) const {
        const char *p = email_strings_get(l_, i);
        if (p == nullptr) throw std::out_of_range("imapmail::Strings::at");
        return p;
    }
    std::string delimiter(size_t i) const { return detail::str(email_strings_delimiter(l_, i)); }
    uint32_t attributes(size_t i) const { return email_strings_attributes(l_, i); }
    std::string attribute_text(size_t i) const { return detail::str(email_strings_attribute_text(l_, i)); }
    Folder folder(size_t i) const { return Folder{at(i), delimiter(i), attributes(i), attribute_text(i)}; }

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        const size_t n = size();
        for (size_t i = 0; i < n; i++) out.push_back(at(i));
        return out;
    }
    std::vector<Folder> folders() const {
        std::vector<Folder> out;
        const size_t n = size();
        for (size_t i = 0; i < n; i++) out.push_back(folder(i));
        return out;
    }
    /// The folder called `name` (exact), or nullopt.
    std::optional<Folder> find(std::string_view name) const {
        const size_t n = size();
        for (size_t i = 0; i < n; i++) {
            const char *p = email_strings_get(l_, i);
            if (p != nullptr && name == p) return folder(i);
        }
        return std::nullopt;
    }

private:
    EmailStrings *l_;
};
using FolderList = Strings;

/// UIDs found by Session::search, ascending. Move-only; outlives its session. Iterable as
/// uint32_t.
class Uids {
public:
    explicit Uids(EmailUids *l) noexcept : l_(l) {}
    ~Uids() {
        if (l_ != nullptr) email_uids_free(l_);
    }
    Uids(const Uids &) = delete;
    Uids &operator=(const Uids &) = delete;
    Uids(Uids &&other) noexcept : l_(std::exchange(other.l_, nullptr)) {}
    Uids &operator=(Uids &&other) noexcept {
        if (this != &other) {
            if (l_ != nullptr) email_uids_free(l_);
            l_ = std::exchange(other.l_, nullptr);
        }
        return *this;
    }

    size_t size() const { return email_uids_count(l_); }
    bool empty() const { return size() == 0; }
    /// UID `i`; 0 past the end.
    uint32_t operator[](size_t i) const { return email_uids_get(l_, i); }
    /// The UIDs as a contiguous array of size() values, owned by this object (nullptr when empty).
    const uint32_t *data() const {
        size_t n = 0;
        return email_uids_data(l_, &n);
    }
    const uint32_t *begin() const { return data(); }
    const uint32_t *end() const {
        size_t n = 0;
        const uint32_t *p = email_uids_data(l_, &n);
        return p != nullptr ? p + n : p;
    }
    std::vector<uint32_t> to_vector() const { return std::vector<uint32_t>(begin(), end()); }

private:
    EmailUids *l_;
};

/// Search criteria (EmailSearch), all of which must hold; an empty query matches every message.
/// Not tied to a session. Move-only. The adders return *this for chaining and throw Error
/// (EMAIL_ERR_ARGUMENT) for a bad value. Times are Unix seconds; IMAP compares whole days.
class Search {
public:
    Search() : q_(email_search_new()) {
        if (q_ == nullptr) throw Error::last();
    }
    ~Search() {
        if (q_ != nullptr) email_search_free(q_);
    }
    Search(const Search &) = delete;
    Search &operator=(const Search &) = delete;
    Search(Search &&other) noexcept : q_(std::exchange(other.q_, nullptr)) {}
    Search &operator=(Search &&other) noexcept {
        if (this != &other) {
            if (q_ != nullptr) email_search_free(q_);
            q_ = std::exchange(other.q_, nullptr);
        }
        return *this;
    }

    const EmailSearch *get() const noexcept { return q_; }

    /// Has every flag_* of `flags` (has = true), or none of them (false).
    Search &flags(uint32_t flags, bool has = true) { return add(email_search_flags(q_, flags, has ? 1 : 0)); }
    Search &keyword(std::string_view keyword, bool has = true) {
        return add(email_search_keyword(q_, detail::arg(keyword, "keyword").c_str(), has ? 1 : 0));
    }
    Search &from(std::string_view v) { return add(email_search_from(q_, detail::arg(v, "value").c_str())); }
    Search &to(std::string_view v) { return add(email_search_to(q_, detail::arg(v, "value").c_str())); }
    Search &cc(std::string_view v) { return add(email_search_cc(q_, detail::arg(v, "value").c_str())); }
    Search &bcc(std::string_view v) { return add(email_search_bcc(q_, detail::arg(v, "value").c_str())); }
    Search &subject(std::string_view v) { return add(email_search_subject(q_, detail::arg(v, "value").c_str())); }
    Search &body(std::string_view v) { return add(email_search_body(q_, detail::arg(v, "value").c_str())); }
    Search &text(std::string_view v) { return add(email_search_text(q_, detail::arg(v, "value").c_str())); }
    /// Header `name` contains `value` ("" : the message has the header).
    Search &header(std::string_view name, std::string_view value) {
        return add(email_search_header(q_, detail::arg(name, "header name").c_str(), detail::arg(value, "value").c_str()));
    }
    Search &since(int64_t unix_time) { return add(email_search_since(q_, unix_time)); }
    Search &before(int64_t unix_time) { return add(email_search_before(q_, unix_time)); }
    Search &on(int64_t unix_time) { return add(email_search_on(q_, unix_time)); }
    Search &sent_since(int64_t unix_time) { return add(email_search_sent_since(q_, unix_time)); }
    Search &sent_before(int64_t unix_time) { return add(email_search_sent_before(q_, unix_time)); }
    Search &sent_on(int64_t unix_time) { return add(email_search_sent_on(q_, unix_time)); }
    Search &larger(uint32_t size) { return add(email_search_larger(q_, size)); }
    Search &smaller(uint32_t size) { return add(email_search_smaller(q_, size)); }
    /// UIDs first..last inclusive (last 0: up to the newest).
    Search &uid_range(uint32_t first, uint32_t last = 0) { return add(email_search_uid_range(q_, first, last)); }
    /// A copy of `sub` as one criterion (grouping).
    Search &and_(const Search &sub) { return add(email_search_and(q_, sub.q_)); }
    /// `a` or `b` matches (copies are taken).
    Search &or_(const Search &a, const Search &b) { return add(email_search_or(q_, a.q_, b.q_)); }
    /// `sub` does not match (a copy is taken).
    Search &not_(const Search &sub) { return add(email_search_not(q_, sub.q_)); }

private:
    Search &add(intptr_t rc) {
        detail::check(rc);
        return *this;
    }

    EmailSearch *q_;
};

/// The counters of Session::folder_status.
struct FolderStatus {
    uint32_t messages = 0;
    uint32_t unseen = 0;
    uint32_t uidnext = 0;
    uint32_t uidvalidity = 0;
};

/// Progress of a read (Session::progress).
struct Progress {
    uint64_t done = 0;
    uint64_t total = 0;
};

/// What Session::idle saw.
struct IdleResult {
    bool changed = false;  ///< messages were added or removed (false: the time passed)
    uint32_t exists = 0;   ///< messages in the folder now
};

/// Progress callback: (done, total) -> true to go on, false to cancel (EMAIL_ERR_CANCELLED).
using ProgressFunction = std::function<bool(uint64_t done, uint64_t total)>;
/// Trace callback: one protocol line without CRLF, valid only during the call.
using TraceFunction = std::function<void(TraceDirection direction, std::string_view line)>;

/// An IMAP session: connects, secures, logs in and selects a folder. Move-only; the destructor
/// logs out (close() does it earlier and reports failures). Session-level failures throw Error.
class Session {
public:
    Session(std::string_view host, uint16_t port, std::string_view user, std::string_view password,
            Security security = Security::tls, const SessionOptions &options = SessionOptions())
        : callbacks_(std::make_unique<Callbacks>()) {
        uint32_t flags = static_cast<uint32_t>(security);
        if (options.accept_invalid_certs) flags |= EMAIL_ACCEPT_INVALID_CERTS;
        if (options.xoauth2) flags |= EMAIL_AUTH_XOAUTH2;
        const std::string h = detail::arg(host, "host");
        const std::string u = detail::arg(user, "user");
        const std::string p = detail::arg(password, "password");
        const std::string opts = options.to_string();
        if (opts.empty()) {
            s_ = email_start_session(h.c_str(), port, u.c_str(), p.c_str(), flags);
        } else {
            s_ = email_start_session_ex(h.c_str(), port, u.c_str(), p.c_str(), flags, opts.c_str());
        }
        if (s_ == nullptr) {
            throw Error::last();
        }
    }
    ~Session() {
        if (s_ != nullptr) email_close_session(s_);
    }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    Session(Session &&other) noexcept
        : s_(std::exchange(other.s_, nullptr)), callbacks_(std::move(other.callbacks_)) {}
    Session &operator=(Session &&other) noexcept {
        if (this != &other) {
            if (s_ != nullptr) email_close_session(s_);
            s_ = std::exchange(other.s_, nullptr);
            callbacks_ = std::move(other.callbacks_);
        }
        return *this;
    }

    EmailSession *get() const noexcept { return s_; }
    bool is_open() const noexcept { return s_ != nullptr; }

    /// Logs out now. Throws Error on failure (the session is closed either way).
    void close() {
        EmailSession *s = std::exchange(s_, nullptr);
        if (s != nullptr) detail::check(email_close_session(s));
    }

    /// Status of the last call on this session, whichever thread made it (email_session_error).
    intptr_t last_status() const noexcept { return email_session_error(s_); }
    /// Message of the last failure on this session, whichever thread made it ("" after a success).
    std::string last_error_message() const { return detail::str(email_session_error_message(s_)); }

    // ---- reading ---------------------------------------------------------------------------

    /// First message of the selected folder (UID order), or nullopt when there is none.
    std::optional<Message> read_first(uint32_t read_flags = read_all) {
        EmailMessage *m = nullptr;
        detail::pending_exception() = nullptr;
        const intptr_t rc = email_read_first(s_, read_flags, &m);
        return handle_read(rc, m);
    }

    /// First message matching `q` (ascending UIDs); read_next gives the others.
    std::optional<Message> read_first(const Search &q, uint32_t read_flags = read_all) {
        EmailMessage *m = nullptr;
        detail::pending_exception() = nullptr;
        const intptr_t rc = email_read_first_search(s_, q.get(), read_flags, &m);
        return handle_read(rc, m);
    }

    /// Next message of the iteration, or nullopt at its end.
    std::optional<Message> read_next() {
        EmailMessage *m = nullptr;
        detail::pending_exception() = nullptr;
        const intptr_t rc = email_read_next(s_, &m);
        return handle_read(rc, m);
    }

    /// Calls f(const Message &) for each message (read_first / read_next).
    template <class F>
    void for_each(uint32_t read_flags, F &&f) {
        for (auto m = read_first(read_flags); m; m = read_next()) {
            f(static_cast<const Message &>(*m));
        }
    }

    /// All messages at once.
    List get_all(uint32_t read_flags = read_all) {
        EmailList *l = nullptr;
        detail::pending_exception() = nullptr;
        const intptr_t rc = email_get_all(s_, read_flags, &l);
        List list(l);
        detail::rethrow_pending();
        detail::check(rc);
        return list;
    }

    /// Messages in the selected folder (read_unread: unread ones).
    size_t count(uint32_t read_flags = read_all) {
        return static_cast<size_t>(detail::check(email_count(s_, read_flags)));
    }

    /// Fetches body and attachments of a message read with read_headers (same session and
    /// selected folder); the message's accessors then give the whole message.
    void load_body(const MessageView &m) { detail::check(email_message_load_body(s_, m.get())); }

    /// UIDs of the selected folder's messages matching `q`.
    Uids search(const Search &q) {
        EmailUids *u = nullptr;
        const intptr_t rc = email_search(s_, q.get(), &u);
        Uids uids(u);
        detail::check(rc);
        return uids;
    }

    /// Waits up to timeout_ms for messages to be added to or removed from the selected folder.
    IdleResult idle(uint32_t timeout_ms) {
        IdleResult r;
        r.changed = detail::check(email_idle(s_, timeout_ms, &r.exists)) == EMAIL_OK;
        return r;
    }

    // ---- progress and trace ----------------------------------------------------------------

    /// Progress of the current or last read; never waits for the session (callable from any
    /// thread while another reads).
    Progress progress() const {
        Progress p;
        detail::check(email_session_progress(s_, &p.done, &p.total));
        return p;
    }

    /// Takes the oldest line of the queued trace (option trace_queue), or std::nullopt when the
    /// queue is empty. Never waits for the session: callable from any thread while another reads.
    std::optional<std::string> trace_next() const {
        std::string line(16400, '\0');
        if (detail::check(email_session_trace_next(s_, line.data(), line.size())) == EMAIL_OUT)
            return std::nullopt;
        line.resize(std::char_traits<char>::length(line.c_str()));
        return line;
    }

    /// Sets (or, with an empty function, removes) the progress callback.
    void set_progress_callback(ProgressFunction f) {
        if (!f) {
            detail::check(email_set_progress_callback(s_, nullptr, nullptr));
            return;
        }
        auto holder = std::make_unique<ProgressFunction>(std::move(f));
        detail::check(email_set_progress_callback(s_, &Session::progress_trampoline, holder.get()));
        callbacks_->progress.push_back(std::move(holder));
    }

    /// Sets (or, with an empty function, removes) the protocol trace callback (credentials are
    /// never passed to it). It may run on a library thread.
    void set_trace_callback(TraceFunction f) {
        if (!f) {
            detail::check(email_set_trace_callback(s_, nullptr, nullptr));
            return;
        }
        auto holder = std::make_unique<TraceFunction>(std::move(f));
        detail::check(email_set_trace_callback(s_, &Session::trace_trampoline, holder.get()));
        callbacks_->trace.push_back(std::move(holder));
    }

    // ---- folders ---------------------------------------------------------------------------

    /// Every folder, INBOX first.
    FolderList list_folders() {
        EmailStrings *l = nullptr;
        const intptr_t rc = email_list_folders(s_, &l);
        FolderList list(l);
        detail::check(rc);
        return list;
    }
    /// The subscribed folders.
    FolderList list_subscribed() {
        EmailStrings *l = nullptr;
        const intptr_t rc = email_list_subscribed(s_, &l);
        FolderList list(l);
        detail::check(rc);
        return list;
    }
    /// Selects a folder (read_only: EXAMINE). Ends any read iteration.
    void select_folder(std::string_view name, bool read_only = false) {
        detail::check(email_select_folder(s_, detail::arg(name, "folder").c_str(), read_only ? 1 : 0));
    }
    /// The selected folder's name.
    std::string current_folder() const {
        const char *p = email_current_folder(s_);
        if (p == nullptr) throw Error::last();
        return p;
    }
    void create_folder(std::string_view name) {
        detail::check(email_create_folder(s_, detail::arg(name, "folder").c_str()));
    }
    void delete_folder(std::string_view name) {
        detail::check(email_delete_folder(s_, detail::arg(name, "folder").c_str()));
    }
    void rename_folder(std::string_view from, std::string_view to) {
        detail::check(email_rename_folder(s_, detail::arg(from, "folder").c_str(), detail::arg(to, "folder").c_str()));
    }
    void subscribe_folder(std::string_view name) {
        detail::check(email_subscribe_folder(s_, detail::arg(name, "folder").c_str()));
    }
    void unsubscribe_folder(std::string_view name) {
        detail::check(email_unsubscribe_folder(s_, detail::arg(name, "folder").c_str()));
    }
    /// Counters of a folder, without selecting it.
    FolderStatus folder_status(std::string_view name) {
        FolderStatus st;
        detail::check(email_folder_status(s_, detail::arg(name, "folder").c_str(), &st.messages, &st.unseen,
                                          &st.uidnext, &st.uidvalidity));
        return st;
    }

    // ---- changing messages of the selected folder, by UID ----------------------------------

    void mark_read(uint32_t uid, bool read = true) { detail::check(email_mark_read(s_, uid, read ? 1 : 0)); }
    /// Adds (add = true) or removes flag_* bits.
    void set_flags(uint32_t uid, uint32_t flags, bool add = true) {
        detail::check(email_set_flags(s_, uid, flags, add ? 1 : 0));
    }
    void add_keyword(uint32_t uid, std::string_view keyword) {
        detail::check(email_add_keyword(s_, uid, detail::arg(keyword, "keyword").c_str()));
    }
    void remove_keyword(uint32_t uid, std::string_view keyword) {
        detail::check(email_remove_keyword(s_, uid, detail::arg(keyword, "keyword").c_str()));
    }
    /// Marks it \Deleted (removed by expunge()).
    void delete_message(uint32_t uid) { detail::check(email_delete_message(s_, uid)); }
    /// Removes the messages this session marked deleted.
    void expunge() { detail::check(email_expunge(s_)); }
    /// Moves it into `folder`; gives its new UID there (0 when the server does not tell).
    uint32_t move_message(uint32_t uid, std::string_view folder) {
        uint32_t new_uid = 0;
        detail::check(email_move_message(s_, uid, detail::arg(folder, "folder").c_str(), &new_uid));
        return new_uid;
    }
    /// Copies it into `folder`; gives the copy's UID (0 when the server does not tell).
    uint32_t copy_message(uint32_t uid, std::string_view folder) {
        uint32_t new_uid = 0;
        detail::check(email_copy_message(s_, uid, detail::arg(folder, "folder").c_str(), &new_uid));
        return new_uid;
    }

    // ---- the same on a message read earlier from the selected folder -----------------------

    void mark_read(const MessageView &m, bool read = true) {
        detail::check(email_message_mark_read(s_, m.get(), read ? 1 : 0));
    }
    void set_flags(const MessageView &m, uint32_t flags, bool add = true) {
        detail::check(email_message_set_flags(s_, m.get(), flags, add ? 1 : 0));
    }
    void delete_message(const MessageView &m) { detail::check(email_message_delete(s_, m.get())); }
    uint32_t move_message(const MessageView &m, std::string_view folder) {
        uint32_t new_uid = 0;
        detail::check(email_message_move(s_, m.get(), detail::arg(folder, "folder").c_str(), &new_uid));
        return new_uid;
    }
    uint32_t copy_message(const MessageView &m, std::string_view folder) {
        uint32_t new_uid = 0;
        detail::check(email_message_copy(s_, m.get(), detail::arg(folder, "folder").c_str(), &new_uid));
        return new_uid;
    }

    // ---- storing ---------------------------------------------------------------------------

    /// Stores an RFC 5322 message in `folder` with flag_* `flags` and an internal date (Unix
    /// seconds, 0: now). Gives its UID (0 when the server does not tell).
    uint32_t append(std::string_view folder, std::string_view raw, uint32_t flags = 0, int64_t internal_date = 0) {
        uint32_t new_uid = 0;
        detail::check(email_append(s_, detail::arg(folder, "folder").c_str(), reinterpret_cast<const uint8_t *>(raw.data()),
                                   raw.size(), flags, internal_date, &new_uid));
        return new_uid;
    }
    uint32_t append(std::string_view folder, const std::vector<uint8_t> &raw, uint32_t flags = 0,
                    int64_t internal_date = 0) {
        uint32_t new_uid = 0;
        detail::check(email_append(s_, detail::arg(folder, "folder").c_str(), raw.data(), raw.size(), flags,
                                   internal_date, &new_uid));
        return new_uid;
    }

private:
    // Callback functions stay allocated (at stable addresses) until the session object is
    // destroyed, after the C session is closed: a replaced trace callback may still be running
    // on a library thread when set_trace_callback returns.
    struct Callbacks {
        std::vector<std::unique_ptr<ProgressFunction>> progress;
        std::vector<std::unique_ptr<TraceFunction>> trace;
    };

    static int32_t progress_trampoline(uint64_t done, uint64_t total, void *user_data) {
        try {
            return (*static_cast<ProgressFunction *>(user_data))(done, total) ? 0 : 1;
        } catch (...) {
            detail::pending_exception() = std::current_exception();
            return 1;
        }
    }

    static void trace_trampoline(int32_t direction, const uint8_t *line, size_t len, void *user_data) {
        try {
            (*static_cast<TraceFunction *>(user_data))(static_cast<TraceDirection>(direction),
                                                       std::string_view(reinterpret_cast<const char *>(line), len));
        } catch (...) {
            // Nobody to hand it to (possibly a library thread); see the header comment.
        }
    }

    static std::optional<Message> handle_read(intptr_t rc, EmailMessage *m) {
        Message msg(m);  // freed if anything below throws
        detail::rethrow_pending();
        if (rc == EMAIL_OK) return std::optional<Message>(std::move(msg));
        if (rc == EMAIL_OUT) return std::nullopt;
        detail::check(rc);
        throw Error(rc, "unexpected status");
    }

    EmailSession *s_ = nullptr;
    std::unique_ptr<Callbacks> callbacks_;
};

}  // namespace imapmail

#endif /* IMAPMAIL_HPP */
