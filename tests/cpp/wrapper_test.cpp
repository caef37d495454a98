// Tests of include/imapmail.hpp against the throwaway Dovecot of tests/packaging/fixture.sh
// (environment: IMAP_PORT, IMAPS_PORT, CA_FILE, FIX_USER, FIX_PASS). Built by tests/suites/cpp.sh
// with g++ -std=c++17 -Wall -Wextra -Werror -Wpedantic -Wshadow -Wconversion -Wsign-conversion,
// and again with -fsanitize=address,undefined. Ends with "N passed, M failed".
// Read-only tests run first on INBOX (3 messages) and Tiny (1); the tests that change things
// work in folders they create (Cpp*), so the fixture's messages keep their known state.
#include "imapmail.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

static int passed = 0;
static int failed = 0;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            passed++;                                                                 \
        } else {                                                                      \
            failed++;                                                                 \
            std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK failed: " #cond "\n"; \
        }                                                                             \
    } while (0)

#define CHECK_THROWS_STATUS(expr, code)                                                          \
    do {                                                                                         \
        try {                                                                                    \
            (void)(expr);                                                                        \
            failed++;                                                                            \
            std::cerr << __FILE__ << ":" << __LINE__ << ": no exception from " #expr "\n";      \
        } catch (const imapmail::Error &e) {                                                     \
            if (e.status() == (code)) {                                                          \
                passed++;                                                                        \
            } else {                                                                             \
                failed++;                                                                        \
                std::cerr << __FILE__ << ":" << __LINE__ << ": " #expr " threw " << e.what() << "\n"; \
            }                                                                                    \
        }                                                                                        \
    } while (0)

static std::string env(const char *name) {
    const char *v = std::getenv(name);
    if (v == nullptr) {
        std::cerr << "wrapper_test: set " << name << " (run tests/suites/cpp.sh)\n";
        std::exit(2);
    }
    return v;
}

static imapmail::Session open_tls() {
    imapmail::SessionOptions o;
    o.ca_file = env("CA_FILE");
    o.timeout_ms = 20000;
    return imapmail::Session("127.0.0.1", static_cast<uint16_t>(std::stoi(env("IMAPS_PORT"))), env("FIX_USER"),
                             env("FIX_PASS"), imapmail::Security::tls, o);
}

// Handles are move-only.
static_assert(!std::is_copy_constructible_v<imapmail::Session>);
static_assert(std::is_nothrow_move_constructible_v<imapmail::Session>);
static_assert(!std::is_copy_constructible_v<imapmail::Message>);
static_assert(std::is_nothrow_move_assignable_v<imapmail::Message>);
static_assert(!std::is_copy_assignable_v<imapmail::List>);
static_assert(std::is_copy_constructible_v<imapmail::MessageView>);

static void test_iteration() {
    std::vector<imapmail::Message> kept;
    {
        imapmail::Session s = open_tls();
        for (auto m = s.read_first(); m; m = s.read_next()) {
            kept.push_back(std::move(*m));
        }
        s.close();
        CHECK(!s.is_open());
    }
    // Messages outlive their session.
    CHECK(kept.size() == 3);
    if (kept.size() != 3) return;
    CHECK(kept[0].uid() == 1 && kept[2].uid() == 3);
    CHECK(kept[0].subject() == "Hello from imapmail");
    CHECK(kept[0].sender() == "Alice Example <alice@example.com>");
    CHECK(kept[0].is_read());
    CHECK((kept[0].flags() & EMAIL_FLAG_SEEN) != 0);
    CHECK(kept[0].timestamp() == 1704103200);
    CHECK(kept[0].cc().size() == 1 && kept[0].cc()[0].name == "Carol" && kept[0].cc()[0].address == "carol@example.com");
    CHECK(kept[0].header("Message-ID").value_or("") == "<hello-1@example.com>");
    CHECK(!kept[0].header("X-Absent").has_value());
    CHECK(kept[0].text().find("Hello, world.") != std::string::npos);
    CHECK(kept[0].decode_status() == EMAIL_OK);
    CHECK(kept[1].subject() == "Gr\xC3\xBC\xC3\x9F" "e \xF0\x9F\x98\x80 \xF0\x9D\x84\x9E");  // Grüße 😀 𝄞
    CHECK(kept[1].sender_name() == "Zo\xC3\xAB");
    CHECK(!kept[1].is_read());
    // UTF-16 with surrogate pairs.
    std::u16string w = imapmail::to_utf16(kept[1].subject());
    CHECK(w == u"Gr\u00fc\u00dfe \U0001F600 \U0001D11E");
    CHECK(w.size() == 11);  // two surrogate pairs
    // Moving keeps one owner.
    imapmail::Message moved = std::move(kept[2]);
    CHECK(moved.uid() == 3);
    CHECK(!static_cast<bool>(kept[2]));
    CHECK(moved.attachment_count() == 2);
    auto atts = moved.attachments();
    CHECK(atts.size() == 2 && atts[0].name() == "report.txt" && atts[1].name() == "data.bin");
    if (atts.size() == 2) {
        std::vector<uint8_t> data = atts[1].data();
        bool ok = data.size() == 256;
        for (size_t i = 0; ok && i < data.size(); i++) ok = data[i] == i;
        CHECK(ok);
        CHECK(atts[1].content_type() == "application/octet-stream");
        std::filesystem::path dir = std::filesystem::temp_directory_path() / ("imapmail-cpp-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        atts[1].save(dir.string());
        std::ifstream f(dir / "data.bin", std::ios::binary);
        std::vector<char> back((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        CHECK(back.size() == 256);
        std::filesystem::remove_all(dir);
        CHECK_THROWS_STATUS(atts[0].save("/nonexistent/imapmail/dir"), EMAIL_ERR_NOT_FOUND);
    }
}

static void test_get_all_and_flags() {
    imapmail::Session s = open_tls();
    imapmail::List all = s.get_all();
    CHECK(all.size() == 3);
    std::vector<uint32_t> uids;
    for (imapmail::MessageView m : all) uids.push_back(m.uid());
    CHECK((uids == std::vector<uint32_t>{1, 2, 3}));
    CHECK(all.at(2).attachment_count() == 2);
    bool threw = false;
    try {
        (void)all.at(3);
    } catch (const std::out_of_range &) {
        threw = true;
    }
    CHECK(threw);
    imapmail::List unread = s.get_all(imapmail::read_unread | imapmail::read_headers);
    CHECK(unread.size() == 2);
    CHECK(unread[1].attachment_count() == 0);  // headers only
    int n = 0;
    s.for_each(imapmail::read_unread, [&n](const imapmail::Message &m) {
        n++;
        CHECK(!m.is_read());
    });
    CHECK(n == 2);
    // Moving a session hands over the connection.
    imapmail::Session other = std::move(s);
    CHECK(!s.is_open() && other.is_open());
    CHECK(other.get_all().size() == 3);
}

static void test_errors() {
    imapmail::SessionOptions o;
    o.ca_file = env("CA_FILE");
    const auto port = static_cast<uint16_t>(std::stoi(env("IMAPS_PORT")));
    try {
        imapmail::Session s("127.0.0.1", port, env("FIX_USER"), "Wr0ng-Secret-4711", imapmail::Security::tls, o);
        failed++;
        std::cerr << "wrong password accepted\n";
    } catch (const imapmail::Error &e) {
        CHECK(e.status() == EMAIL_ERR_AUTH);
        CHECK(e.name() == "EMAIL_ERR_AUTH");
        CHECK(std::string(e.what()).find("Wr0ng-Secret-4711") == std::string::npos);
    }
    imapmail::SessionOptions untrusted;
    CHECK_THROWS_STATUS(imapmail::Session("127.0.0.1", port, env("FIX_USER"), env("FIX_PASS"), imapmail::Security::tls, untrusted),
                        EMAIL_ERR_TLS);
    CHECK_THROWS_STATUS(imapmail::Session("127.0.0.1", 1, "u", "p", imapmail::Security::none), EMAIL_ERR_CONNECT);
    imapmail::SessionOptions bad_folder = o;
    bad_folder.folder = "No;Such=Folder\\x";  // escaped in the options string
    CHECK_THROWS_STATUS(imapmail::Session("127.0.0.1", port, env("FIX_USER"), env("FIX_PASS"), imapmail::Security::tls, bad_folder),
                        EMAIL_ERR_NOT_FOUND);
    // STARTTLS and plain.
    imapmail::Session st("127.0.0.1", static_cast<uint16_t>(std::stoi(env("IMAP_PORT"))), env("FIX_USER"), env("FIX_PASS"),
                         imapmail::Security::starttls, o);
    CHECK(st.get_all().size() == 3);
}

static void test_threads() {
    std::vector<std::thread> threads;
    std::vector<size_t> counts(4, 0);
    for (size_t i = 0; i < counts.size(); i++) {
        threads.emplace_back([i, &counts]() {
            try {
                imapmail::Session s = open_tls();
                counts[i] = s.get_all().size();
            } catch (const imapmail::Error &e) {
                std::cerr << "thread: " << e.what() << "\n";
            }
        });
    }
    for (auto &t : threads) t.join();
    for (size_t c : counts) CHECK(c == 3);
}

static_assert(!std::is_copy_constructible_v<imapmail::Search>);
static_assert(std::is_nothrow_move_constructible_v<imapmail::Search>);
static_assert(!std::is_copy_constructible_v<imapmail::Uids>);
static_assert(std::is_nothrow_move_assignable_v<imapmail::Uids>);
static_assert(!std::is_copy_constructible_v<imapmail::FolderList>);
static_assert(std::is_nothrow_move_assignable_v<imapmail::Strings>);

static imapmail::Session open_plain_no_options() {
    // No option set: the wrapper calls email_start_session (not _ex).
    return imapmail::Session("127.0.0.1", static_cast<uint16_t>(std::stoi(env("IMAP_PORT"))), env("FIX_USER"),
                             env("FIX_PASS"), imapmail::Security::none);
}

static std::string make_mail(const std::string &subject, const std::string &from, const std::string &extra_headers,
                             const std::string &body) {
    return "From: " + from + "\r\nTo: pkg@example.com\r\nSubject: " + subject +
           "\r\nDate: Tue, 02 Jan 2024 12:00:00 +0000\r\nMessage-ID: <" + subject + "@cpp.example>\r\n" +
           extra_headers + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n";
}

static void test_strings_and_last_error() {
    CHECK(imapmail::copy_utf8("Zo\xC3\xAB") == "Zo\xC3\xAB");
    CHECK(imapmail::copy_utf8("") == "");
    CHECK_THROWS_STATUS(imapmail::copy_utf8(nullptr), EMAIL_ERR_ARGUMENT);
    CHECK(imapmail::last_status() == EMAIL_ERR_ARGUMENT);
    CHECK(!imapmail::last_error_message().empty());
    CHECK(imapmail::to_utf16("") == u"");
    // An embedded NUL is refused before the library sees a shorter string.
    CHECK_THROWS_STATUS(imapmail::to_utf16(std::string_view("a\0b", 3)), EMAIL_ERR_ARGUMENT);
    // A successful copy leaves the last error alone (so its message can be converted).
    CHECK(imapmail::copy_utf8("x") == "x");
    CHECK(imapmail::last_status() == EMAIL_ERR_ARGUMENT);
    imapmail::SessionOptions o;
    o.folder = "a;b";
    o.timeout_ms = 5;
    o.pipelining = false;
    o.reconnect = true;
    o.trace_file = "/t";
    CHECK(o.to_string() == "folder=a\\;b;trace_file=/t;timeout_ms=5;pipelining=0;reconnect=1;");
    o.trace_queue = 50;
    CHECK(o.to_string() == "folder=a\\;b;trace_file=/t;timeout_ms=5;pipelining=0;trace_queue=50;reconnect=1;");
}

static void test_folders() {
    imapmail::Session s = open_plain_no_options();
    CHECK(s.current_folder() == "INBOX");
    imapmail::FolderList folders = s.list_folders();
    CHECK(folders.size() >= 2);
    CHECK(folders[0] == "INBOX");
    CHECK(folders.folder(0).has(EMAIL_FOLDER_INBOX));
    auto tiny = folders.find("Tiny");
    CHECK(tiny.has_value());
    if (tiny) {
        CHECK(tiny->delimiter == "/");
        CHECK(tiny->has(EMAIL_FOLDER_HAS_NO_CHILDREN));
        CHECK(tiny->attribute_text.find("\\HasNoChildren") != std::string::npos);
    }
    CHECK(folders.names().size() == folders.size());
    CHECK(folders.folders().size() == folders.size());
    bool threw = false;
    try {
        (void)folders.at(folders.size());
    } catch (const std::out_of_range &) {
        threw = true;
    }
    CHECK(threw);
    CHECK(folders.attributes(folders.size()) == 0);
    CHECK(folders.delimiter(folders.size()).empty());

    imapmail::FolderStatus st = s.folder_status("Tiny");
    CHECK(st.messages == 1 && st.unseen == 1 && st.uidnext == 2 && st.uidvalidity != 0);
    CHECK_THROWS_STATUS(s.folder_status("No such folder"), EMAIL_ERR_NOT_FOUND);

    s.select_folder("Tiny", true);
    CHECK(s.current_folder() == "Tiny");
    CHECK(s.count() == 1);
    CHECK(s.count(imapmail::read_unread) == 1);
    auto m = s.read_first();
    CHECK(m && m->subject() == "Tiny");
    // Selected read-only: a change is refused before anything is sent (a server would answer
    // OK and change nothing), and nothing changes.
    CHECK_THROWS_STATUS(s.mark_read(1, true), EMAIL_ERR_SERVER);
    CHECK(s.folder_status("Tiny").unseen == 1);
    CHECK_THROWS_STATUS(s.select_folder("No such folder"), EMAIL_ERR_NOT_FOUND);
    CHECK(s.last_status() == EMAIL_ERR_NOT_FOUND);
    CHECK(!s.last_error_message().empty());
    CHECK_THROWS_STATUS(s.select_folder(std::string_view("IN\0BOX", 6)), EMAIL_ERR_ARGUMENT);
    s.select_folder("INBOX");
    CHECK(s.last_status() == EMAIL_OK);
    CHECK(s.last_error_message().empty());

    // Create, subscribe, rename, delete.
    s.create_folder("CppFolders/Child \xC3\xA9t\xC3\xA9");
    CHECK_THROWS_STATUS(s.create_folder("CppFolders/Child \xC3\xA9t\xC3\xA9"), EMAIL_ERR_SERVER);
    imapmail::FolderList after = s.list_folders();
    CHECK(after.find("CppFolders/Child \xC3\xA9t\xC3\xA9").has_value());
    CHECK(after.find("Sent").has_value() && after.find("Sent")->has(EMAIL_FOLDER_SENT));  // special use
    s.subscribe_folder("CppFolders/Child \xC3\xA9t\xC3\xA9");
    CHECK(s.list_subscribed().find("CppFolders/Child \xC3\xA9t\xC3\xA9").has_value());
    s.unsubscribe_folder("CppFolders/Child \xC3\xA9t\xC3\xA9");
    CHECK(!s.list_subscribed().find("CppFolders/Child \xC3\xA9t\xC3\xA9").has_value());
    s.rename_folder("CppFolders/Child \xC3\xA9t\xC3\xA9", "CppFolders/Renamed");
    imapmail::FolderList renamed = s.list_folders();
    CHECK(renamed.find("CppFolders/Renamed").has_value());
    CHECK(!renamed.find("CppFolders/Child \xC3\xA9t\xC3\xA9").has_value());
    s.delete_folder("CppFolders/Renamed");
    if (s.list_folders().find("CppFolders")) s.delete_folder("CppFolders");  // servers that list the parent
    CHECK(!s.list_folders().find("CppFolders/Renamed").has_value());
    CHECK_THROWS_STATUS(s.delete_folder("CppFolders/Renamed"), EMAIL_ERR_NOT_FOUND);

    // Lists outlive their session; moved-from handles are empty.
    imapmail::FolderList kept = s.list_folders();
    s.close();
    CHECK(kept.size() == folders.size());
    imapmail::FolderList taken = std::move(kept);
    CHECK(kept.size() == 0 && taken.size() == folders.size());
    CHECK_THROWS_STATUS(s.list_folders(), EMAIL_ERR_HANDLE);
    CHECK_THROWS_STATUS(s.current_folder(), EMAIL_ERR_HANDLE);
}

static void test_search() {
    imapmail::Session s = open_tls();
    auto uids_of = [&s](const imapmail::Search &q) { return s.search(q).to_vector(); };
    using V = std::vector<uint32_t>;
    imapmail::Search all;
    CHECK(uids_of(all) == (V{1, 2, 3}));
    imapmail::Search q;
    q.from("alice");
    CHECK(uids_of(q) == V{1});
    imapmail::Search unread;
    unread.flags(imapmail::flag_seen, false);
    CHECK(uids_of(unread) == (V{2, 3}));
    imapmail::Search seen;
    seen.flags(imapmail::flag_seen);
    CHECK(uids_of(seen) == V{1});
    imapmail::Search cc;
    cc.cc("carol");
    CHECK(uids_of(cc) == V{1});
    imapmail::Search to;
    to.to("pkg@example.com").uid_range(2);
    CHECK(uids_of(to) == (V{2, 3}));
    imapmail::Search range;
    range.uid_range(1, 2);
    CHECK(uids_of(range) == (V{1, 2}));
    imapmail::Search subj;
    subj.subject("Report");
    CHECK(uids_of(subj) == V{3});
    imapmail::Search body;
    body.body("Hello, world");
    CHECK(uids_of(body) == V{1});
    imapmail::Search text;
    text.text("hello-1@example.com");
    CHECK(uids_of(text) == V{1});
    imapmail::Search header;
    header.header("Message-ID", "hello-1");
    CHECK(uids_of(header) == V{1});
    imapmail::Search bcc;
    bcc.bcc("nobody-at-all");
    CHECK(s.search(bcc).empty());
    imapmail::Search kw;
    kw.keyword("$CppNever");
    CHECK(s.search(kw).empty());
    imapmail::Search nokw;
    nokw.keyword("$CppNever", false);
    CHECK(uids_of(nokw) == (V{1, 2, 3}));
    imapmail::Search big;
    big.larger(1000);
    CHECK(uids_of(big) == V{3});  // the message with attachments
    imapmail::Search small;
    small.smaller(1000);
    CHECK(uids_of(small) == (V{1, 2}));
    // Sent dates (Date headers of 2024-01-01..03); internal dates are the delivery time.
    imapmail::Search sent;
    sent.sent_on(1704110400);  // 2024-01-01 12:00 UTC
    CHECK(uids_of(sent) == V{1});
    imapmail::Search sent_range;
    sent_range.sent_since(1704110400).sent_before(1704196800);  // [Jan 1, Jan 2)
    CHECK(uids_of(sent_range) == V{1});
    imapmail::Search arrived;
    arrived.since(1704110400).before(253402257600);  // 9999-12-31
    CHECK(uids_of(arrived) == (V{1, 2, 3}));
    // tests/server/dovecot.sh gives each message its Date header as internal date.
    imapmail::Search arrived_on;
    arrived_on.on(1704110400);
    CHECK(uids_of(arrived_on) == V{1});
    imapmail::Search arrived_later;
    arrived_later.on(4102444800);  // 2100-01-01
    CHECK(s.search(arrived_later).empty());
    // or / not / and.
    imapmail::Search a, b, either;
    a.from("alice");
    b.subject("Report");
    either.or_(a, b);
    CHECK(uids_of(either) == (V{1, 3}));
    imapmail::Search neither;
    neither.not_(either);
    CHECK(uids_of(neither) == V{2});
    imapmail::Search grouped;
    grouped.and_(either).and_(unread);
    CHECK(uids_of(grouped) == V{3});
    // Bad criteria are refused at once.
    imapmail::Search bad;
    CHECK_THROWS_STATUS(bad.keyword("two words"), EMAIL_ERR_ARGUMENT);
    CHECK_THROWS_STATUS(bad.uid_range(0, 5), EMAIL_ERR_ARGUMENT);
    CHECK_THROWS_STATUS(bad.uid_range(5, 4), EMAIL_ERR_ARGUMENT);
    CHECK_THROWS_STATUS(bad.flags(0), EMAIL_ERR_ARGUMENT);
    CHECK_THROWS_STATUS(bad.from("line\r\nbreak"), EMAIL_ERR_ARGUMENT);
    CHECK_THROWS_STATUS(bad.from(std::string_view("a\0b", 3)), EMAIL_ERR_ARGUMENT);
    CHECK(uids_of(bad) == (V{1, 2, 3}));  // still empty: matches everything

    // Uids: indexing, contiguous data, moving, outliving the session.
    imapmail::Uids found = s.search(either);
    CHECK(found.size() == 2 && found[0] == 1 && found[1] == 3 && found[2] == 0);
    CHECK(found.data() != nullptr && found.data()[1] == 3);
    uint64_t sum = 0;
    for (uint32_t uid : found) sum += uid;
    CHECK(sum == 4);
    imapmail::Uids moved = std::move(found);
    CHECK(found.size() == 0 && found.data() == nullptr && found.begin() == found.end());
    // Search iteration with read_first(Search) / read_next.
    std::vector<uint32_t> read;
    for (auto m = s.read_first(either, imapmail::read_headers); m; m = s.read_next()) read.push_back(m->uid());
    CHECK(read == (V{1, 3}));
    imapmail::Search none;
    none.subject("no message has this subject");
    CHECK(!s.read_first(none).has_value());
    s.close();
    CHECK(moved.size() == 2);
    CHECK_THROWS_STATUS(s.search(all), EMAIL_ERR_HANDLE);
    imapmail::Search gone = std::move(q);
    imapmail::Session s2 = open_tls();
    CHECK_THROWS_STATUS(s2.search(q), EMAIL_ERR_HANDLE);  // moved-from query
    CHECK(s2.search(gone).to_vector() == V{1});
}

static void test_manage() {
    imapmail::Session s = open_tls();
    s.create_folder("CppWork");
    s.create_folder("CppOther");
    const uint32_t u1 = s.append("CppWork", make_mail("first", "Bob <bob@example.com>", "", "one"), imapmail::flag_seen,
                                 1704200000);
    const std::string second = make_mail("second", "Dan <dan@example.com>", "Reply-To: R <r@example.com>\r\n", "two");
    const uint32_t u2 = s.append("CppWork", std::vector<uint8_t>(second.begin(), second.end()));
    const uint32_t u3 = s.append("CppWork", make_mail("third", "Eve <eve@example.com>", "", "three"),
                                 imapmail::flag_flagged | imapmail::flag_answered);
    CHECK(u1 == 1 && u2 == 2 && u3 == 3);  // Dovecot has UIDPLUS
    CHECK_THROWS_STATUS(s.append("CppWork", std::string_view()), EMAIL_ERR_ARGUMENT);
    CHECK_THROWS_STATUS(s.append("No such folder", make_mail("x", "x@example.com", "", "x")), EMAIL_ERR_NOT_FOUND);
    CHECK_THROWS_STATUS(s.append("CppWork", make_mail("x", "x@example.com", "", "x"), 1u << 20), EMAIL_ERR_ARGUMENT);

    s.select_folder("CppWork");
    CHECK(s.count() == 3 && s.count(imapmail::read_unread) == 2);
    imapmail::List l = s.get_all();
    CHECK(l.size() == 3);
    if (l.size() == 3) {
        CHECK(l[0].is_read() && l[0].timestamp() == 1704196800);
        CHECK(l[1].reply_to().size() == 1 && l[1].reply_to()[0].address == "r@example.com");
        CHECK(l[1].bcc().empty());
        CHECK(l[2].flags() == (imapmail::flag_flagged | imapmail::flag_answered));
        CHECK(l[0].source().size() > 100);
    }

    // By UID.
    s.mark_read(u2, true);
    s.set_flags(u1, imapmail::flag_seen, false);
    s.set_flags(u3, imapmail::flag_answered, false);
    s.add_keyword(u3, "$CppKeep");
    s.add_keyword(u3, "Work");
    s.remove_keyword(u3, "Work");
    CHECK_THROWS_STATUS(s.add_keyword(u3, "no spaces"), EMAIL_ERR_ARGUMENT);
    CHECK_THROWS_STATUS(s.mark_read(0, true), EMAIL_ERR_ARGUMENT);
    CHECK_THROWS_STATUS(s.mark_read(999, true), EMAIL_ERR_NOT_FOUND);
    CHECK_THROWS_STATUS(s.set_flags(u1, 1u << 10), EMAIL_ERR_ARGUMENT);
    {
        imapmail::List now = s.get_all();
        CHECK(now.size() == 3);
        if (now.size() == 3) {
            CHECK(!now[0].is_read());
            CHECK(now[1].is_read());
            CHECK(now[2].flags() == imapmail::flag_flagged);
            CHECK(now[2].keywords() == std::vector<std::string>{"$CppKeep"});
        }
    }
    imapmail::Search kw;
    kw.keyword("$CppKeep");
    CHECK(s.search(kw).to_vector() == std::vector<uint32_t>{u3});
    const uint32_t copied = s.copy_message(u1, "CppOther");
    CHECK(copied == 1);
    const uint32_t moved = s.move_message(u2, "CppOther");
    CHECK(moved == 2);
    CHECK(s.count() == 2);
    CHECK_THROWS_STATUS(s.move_message(u2, "CppOther"), EMAIL_ERR_NOT_FOUND);
    CHECK_THROWS_STATUS(s.copy_message(u1, "No such folder"), EMAIL_ERR_NOT_FOUND);
    s.delete_message(u1);
    CHECK(s.count() == 2);  // marked, not gone yet
    s.expunge();
    CHECK(s.count() == 1);

    // By message read earlier, in CppOther (UIDs 1 copy of "first", 2 "second").
    s.select_folder("CppOther");
    imapmail::List other = s.get_all(imapmail::read_headers);
    CHECK(other.size() == 2);
    if (other.size() == 2) {
        const imapmail::MessageView first = other[0];
        const imapmail::MessageView sec = other[1];
        CHECK(first.subject() == "first" && sec.subject() == "second");
        // load_body: a headers-only message gets its body.
        CHECK(first.text().empty());
        s.load_body(first);
        CHECK(first.text().find("one") != std::string::npos);
        s.load_body(first);  // twice: nothing happens
        s.mark_read(first, true);
        s.set_flags(sec, imapmail::flag_draft, true);
        CHECK(s.copy_message(first, "CppWork") == 4);
        CHECK(s.move_message(sec, "CppWork") == 5);
        CHECK_THROWS_STATUS(s.mark_read(sec, true), EMAIL_ERR_NOT_FOUND);  // gone from CppOther
        s.delete_message(first);
        s.expunge();
        CHECK(s.count() == 0);
        CHECK_THROWS_STATUS(s.mark_read(imapmail::MessageView(nullptr), true), EMAIL_ERR_HANDLE);
        CHECK_THROWS_STATUS(s.load_body(imapmail::MessageView(nullptr)), EMAIL_ERR_HANDLE);
    }
    s.select_folder("CppWork");
    {
        imapmail::List work = s.get_all();
        CHECK(work.size() == 3);
        if (work.size() == 3) {
            CHECK(work[1].uid() == 4 && work[1].is_read());
            CHECK(work[2].uid() == 5 && (work[2].flags() & imapmail::flag_draft) != 0);
        }
    }
    // Owned messages work the same (Message is a MessageView).
    auto m = s.read_first(imapmail::read_headers);
    CHECK(m.has_value());
    if (m) {
        CHECK(m->uid() == 3 && m->attachment_count() == 0);
        s.load_body(*m);
        CHECK(m->text().find("three") != std::string::npos);
        s.set_flags(*m, imapmail::flag_seen);
        s.delete_message(*m);
        s.expunge();
        CHECK(s.count() == 2);
    }

    // IDLE: nothing new, then a message appended by another session.
    imapmail::IdleResult quiet = s.idle(0);
    CHECK(!quiet.changed && quiet.exists == 2);
    {
        imapmail::Session writer = open_tls();
        writer.append("CppWork", make_mail("fourth", "Fay <fay@example.com>", "", "four"));
    }
    // Bounded only so that a lost notification fails instead of hanging: the append above has
    // already happened, so the change is reported at once (60 s is a margin, not the expectation).
    imapmail::IdleResult news = s.idle(60000);
    CHECK(news.changed && news.exists == 3);

    s.select_folder("INBOX");
    s.delete_folder("CppWork");
    s.delete_folder("CppOther");
    CHECK(!s.list_folders().find("CppWork").has_value());
}

static void test_progress_and_trace() {
    imapmail::Session s = open_tls();
    CHECK(s.progress().done == 0 && s.progress().total == 0);
    std::vector<std::pair<uint64_t, uint64_t>> calls;
    s.set_progress_callback([&calls](uint64_t done, uint64_t total) {
        calls.emplace_back(done, total);
        return true;
    });
    CHECK(s.get_all().size() == 3);
    CHECK(!calls.empty() && calls.back() == std::make_pair(uint64_t{3}, uint64_t{3}));
    imapmail::Progress p = s.progress();
    CHECK(p.done == 3 && p.total == 3);

    // Polling from another thread works with or without a callback.
    imapmail::Progress polled;
    std::thread poller([&s, &polled]() { polled = s.progress(); });
    poller.join();
    CHECK(polled.done == 3 && polled.total == 3);

    // Returning false cancels; the session stays usable.
    s.set_progress_callback([](uint64_t, uint64_t) { return false; });
    CHECK_THROWS_STATUS(s.get_all(), EMAIL_ERR_CANCELLED);
    CHECK_THROWS_STATUS(s.read_first(), EMAIL_ERR_CANCELLED);
    // An exception thrown by the callback cancels the read and comes out of the reading call.
    s.set_progress_callback([](uint64_t done, uint64_t) -> bool {
        if (done >= 2) throw std::logic_error("host stops at 2");
        return true;
    });
    std::string what;
    try {
        (void)s.get_all();
    } catch (const std::logic_error &e) {
        what = e.what();
    }
    CHECK(what == "host stops at 2");
    what.clear();
    try {
        for (auto m = s.read_first(); m; m = s.read_next()) {
        }
    } catch (const std::logic_error &e) {
        what = e.what();
    }
    CHECK(what == "host stops at 2");
    s.set_progress_callback(nullptr);
    CHECK(s.get_all().size() == 3);

    // Trace: lines sent and received, no credentials.
    std::mutex mu;
    std::vector<std::pair<imapmail::TraceDirection, std::string>> lines;
    s.set_trace_callback([&mu, &lines](imapmail::TraceDirection d, std::string_view line) {
        std::lock_guard<std::mutex> g(mu);
        lines.emplace_back(d, std::string(line));
    });
    s.select_folder("Tiny", true);
    s.set_trace_callback(nullptr);
    {
        std::lock_guard<std::mutex> g(mu);
        bool sent_examine = false, received_ok = false;
        for (const auto &entry : lines) {
            if (entry.first == imapmail::TraceDirection::sent && entry.second.find("EXAMINE") != std::string::npos)
                sent_examine = true;
            if (entry.first == imapmail::TraceDirection::received && entry.second.find(" OK ") != std::string::npos)
                received_ok = true;
        }
        CHECK(sent_examine && received_ok);
        const size_t before = lines.size();
        s.select_folder("INBOX");
        CHECK(lines.size() == before);  // removed
    }
    // A throwing trace callback does not disturb the session.
    s.set_trace_callback([](imapmail::TraceDirection, std::string_view) { throw std::runtime_error("trace"); });
    CHECK(s.count() == 3);

    // trace_file: the login is traced, the password is not.
    std::filesystem::path trace =
        std::filesystem::temp_directory_path() / ("imapmail-cpp-trace-" + std::to_string(::getpid()) + ".log");
    {
        imapmail::SessionOptions o;
        o.ca_file = env("CA_FILE");
        o.trace_file = trace.string();
        imapmail::Session t("127.0.0.1", static_cast<uint16_t>(std::stoi(env("IMAPS_PORT"))), env("FIX_USER"),
                            env("FIX_PASS"), imapmail::Security::tls, o);
        CHECK(t.count() == 3);
    }
    std::ifstream f(trace);
    std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(content.find("AUTHENTICATE") != std::string::npos || content.find("LOGIN") != std::string::npos);
    CHECK(content.find(env("FIX_PASS")) == std::string::npos);
    std::filesystem::remove(trace);

    // trace_queue: the same trace fetched line by line, then the queue is empty.
    {
        imapmail::SessionOptions o;
        o.ca_file = env("CA_FILE");
        o.trace_queue = 1000;
        imapmail::Session t("127.0.0.1", static_cast<uint16_t>(std::stoi(env("IMAPS_PORT"))), env("FIX_USER"),
                            env("FIX_PASS"), imapmail::Security::tls, o);
        CHECK(t.count() == 3);
        std::string queued;
        size_t n = 0;
        while (auto line = t.trace_next()) {
            queued += *line + "\n";
            n++;
        }
        CHECK(n > 0);
        CHECK(queued.find("AUTHENTICATE") != std::string::npos || queued.find("LOGIN") != std::string::npos);
        CHECK(queued.find(env("FIX_PASS")) == std::string::npos);
        CHECK(!t.trace_next().has_value());
    }
    // Without trace_queue, trace_next is an argument error.
    CHECK_THROWS_STATUS(s.trace_next(), EMAIL_ERR_ARGUMENT);

    // Moved-from session: every call is a handle error.
    imapmail::Session taken = std::move(s);
    CHECK_THROWS_STATUS(s.progress(), EMAIL_ERR_HANDLE);
    CHECK_THROWS_STATUS(s.count(), EMAIL_ERR_HANDLE);
    CHECK_THROWS_STATUS(s.set_progress_callback([](uint64_t, uint64_t) { return true; }), EMAIL_ERR_HANDLE);
    CHECK_THROWS_STATUS(s.set_trace_callback(nullptr), EMAIL_ERR_HANDLE);
    CHECK_THROWS_STATUS(s.idle(0), EMAIL_ERR_HANDLE);
    CHECK_THROWS_STATUS(s.trace_next(), EMAIL_ERR_HANDLE);
    CHECK(s.last_status() == EMAIL_ERR_HANDLE);
    CHECK(taken.count() == 3);
    // Move assignment closes the target's session and takes the other's callbacks.
    imapmail::Session third = open_tls();
    third = std::move(taken);
    CHECK(third.count() == 3 && !taken.is_open());
}

int main() {
    CHECK(!imapmail::version().empty());
    CHECK(imapmail::status_name(EMAIL_ERR_TLS) == "EMAIL_ERR_TLS");
    test_strings_and_last_error();
    const std::pair<const char *, void (*)()> tests[] = {
        {"iteration", test_iteration}, {"get_all_and_flags", test_get_all_and_flags}, {"errors", test_errors},
        {"threads", test_threads},     {"folders", test_folders},                     {"search", test_search},
        {"progress_and_trace", test_progress_and_trace}, {"manage", test_manage},
    };
    for (const auto &t : tests) {
        try {
            t.second();
        } catch (const std::exception &e) {
            failed++;
            std::cerr << "test " << t.first << ": unexpected exception: " << e.what() << "\n";
        }
    }
    std::cout << passed << " passed, " << failed << " failed\n";
    return failed == 0 && passed > 0 ? 0 : 1;
}
