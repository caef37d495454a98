/*
 * imapmail.hpp - header-only C++17 RAII wrapper of the imapmail C API (imapmail.h).
 *
 *   #include <imapmail.hpp>
 *
 *   imapmail::SessionOptions opts;
 *   opts.ca_file = "/etc/ssl/my-ca.pem";
 *   imapmail::Session session("imap.example.com", 0, "bob", password, imapmail::Security::tls, opts);
 *   session.for_each(imapmail::read_unread, [](const imapmail::Message &m) {
 *       std::cout << m.uid() << " " << m.sender() << ": " << m.subject() << "\n";
 *   });
 *
 * - Handles are move-only and freed by their destructors (Session logs out).
 * - Strings are UTF-8 std::string copies: they stay valid after the message is gone.
 * - Failures throw imapmail::Error, carrying the EMAIL_ERR_* status and the library's message.
 * - A MessageView (from a List) borrows from its List and must not outlive it; a Message (from
 *   read_first/read_next/for_each) owns its data and outlives its Session.
 * - Thread rules are the C library's: a Session may be used from any thread (calls are
 *   serialized), messages and lists are immutable.
 */
#ifndef IMAPMAIL_HPP
#define IMAPMAIL_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
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

    /// This thread's last imapmail failure.
    static Error last() {
        const char *m = email_last_error_message();
        return Error(email_last_error(), m != nullptr ? m : "");
    }

private:
    intptr_t status_;
    std::string message_;
};

namespace detail {
inline std::string str(const char *p) { return p != nullptr ? std::string(p) : std::string(); }

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
}  // namespace detail

/// The library version, e.g. "0.1.0".
inline std::string version() { return detail::str(email_version()); }

/// The name of a status code, e.g. "EMAIL_ERR_TLS".
inline std::string status_name(intptr_t status) { return detail::str(email_status_name(status)); }

/// UTF-8 to UTF-16 (Windows wide strings), with email_copy_utf16.
inline std::u16string to_utf16(const std::string &utf8) {
    size_t needed = email_copy_utf16(utf8.c_str(), nullptr, 0);
    if (needed == 0) {
        throw Error::last();
    }
    std::vector<uint16_t> buf(needed);
    email_copy_utf16(utf8.c_str(), buf.data(), buf.size());
    return std::u16string(buf.begin(), buf.end() - 1);
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

/// Recipient kinds.
enum class RecipientKind : int32_t { to = EMAIL_TO, cc = EMAIL_CC, bcc = EMAIL_BCC, reply_to = EMAIL_REPLY_TO };

/// Options of Session (email_start_session_ex).
struct SessionOptions {
    std::string folder;                         ///< "" = INBOX
    std::string ca_file;                        ///< extra trusted certificates (PEM)
    std::optional<uint32_t> timeout_ms;         ///< network bound (default 60000)
    std::optional<uint64_t> max_message_bytes;  ///< largest message accepted
    bool accept_invalid_certs = false;          ///< testing only
    bool xoauth2 = false;                       ///< password is an OAuth2 access token

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
        if (timeout_ms) add("timeout_ms", std::to_string(*timeout_ms));
        if (max_message_bytes) add("max_message_bytes", std::to_string(*max_message_bytes));
        return s;
    }
};

struct Recipient {
    std::string name;  ///< "" when none
    std::string address;
};

/// One attachment of a message (borrows from it).
class Attachment {
public:
    Attachment(const EmailMessage *m, size_t index) : m_(m), index_(index) {}

    std::string name() const { return detail::str(email_attachment_name(m_, index_)); }
    std::string content_type() const { return detail::str(email_attachment_content_type(m_, index_)); }
    std::string content_id() const { return detail::str(email_attachment_content_id(m_, index_)); }
    bool is_inline() const { return email_attachment_is_inline(m_, index_) != 0; }

    /// The decoded bytes.
    std::vector<uint8_t> data() const {
        size_t len = 0;
        const uint8_t *p = email_attachment_data(m_, index_, &len);
        return p != nullptr ? std::vector<uint8_t>(p, p + len) : std::vector<uint8_t>();
    }

    /// Writes the attachment into an existing directory under its name made safe (never
    /// overwrites). Throws Error.
    void save(const std::string &directory) const {
        if (email_attachment_save(m_, index_, directory.c_str()) != EMAIL_OK) {
            throw Error::last();
        }
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
    uint32_t flags() const { return email_message_flags(m_); }
    bool is_read() const { return email_message_is_read(m_) != 0; }
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
    std::optional<std::string> header(const std::string &name) const {
        const char *v = email_message_header(m_, name.c_str());
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

    std::vector<std::string> keywords() const {
        std::vector<std::string> out;
        const size_t n = email_message_keyword_count(m_);
        for (size_t i = 0; i < n; i++) out.push_back(detail::str(email_message_keyword(m_, i)));
        return out;
    }

    /// The raw RFC 5322 bytes.
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

/// An IMAP session: connects, secures, logs in and selects a folder. Move-only; the destructor
/// logs out (close() does it earlier and reports failures).
class Session {
public:
    Session(const std::string &host, uint16_t port, const std::string &user, const std::string &password,
            Security security = Security::tls, const SessionOptions &options = SessionOptions()) {
        uint32_t flags = static_cast<uint32_t>(security);
        if (options.accept_invalid_certs) flags |= EMAIL_ACCEPT_INVALID_CERTS;
        if (options.xoauth2) flags |= EMAIL_AUTH_XOAUTH2;
        const std::string opts = options.to_string();
        s_ = email_start_session_ex(host.c_str(), port, user.c_str(), password.c_str(), flags, opts.c_str());
        if (s_ == nullptr) {
            throw Error::last();
        }
    }
    ~Session() {
        if (s_ != nullptr) email_close_session(s_);
    }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    Session(Session &&other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
    Session &operator=(Session &&other) noexcept {
        if (this != &other) {
            if (s_ != nullptr) email_close_session(s_);
            s_ = std::exchange(other.s_, nullptr);
        }
        return *this;
    }

    EmailSession *get() const noexcept { return s_; }
    bool is_open() const noexcept { return s_ != nullptr; }

    /// Logs out now. Throws Error on failure (the session is closed either way).
    void close() {
        EmailSession *s = std::exchange(s_, nullptr);
        if (s != nullptr && email_close_session(s) != EMAIL_OK) {
            throw Error::last();
        }
    }

    /// First message of the selected folder (UID order), or nullopt when there is none.
    std::optional<Message> read_first(uint32_t read_flags = read_all) {
        EmailMessage *m = nullptr;
        const intptr_t rc = email_read_first(s_, read_flags, &m);
        return handle_read(rc, m);
    }

    /// Next message of the iteration, or nullopt at its end.
    std::optional<Message> read_next() {
        EmailMessage *m = nullptr;
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
        if (email_get_all(s_, read_flags, &l) != EMAIL_OK) {
            throw Error::last();
        }
        return List(l);
    }

private:
    static std::optional<Message> handle_read(intptr_t rc, EmailMessage *m) {
        if (rc == EMAIL_OK) return std::optional<Message>(Message(m));
        if (rc == EMAIL_OUT) return std::nullopt;
        throw Error::last();
    }

    EmailSession *s_ = nullptr;
};

}  // namespace imapmail

#endif /* IMAPMAIL_HPP */
