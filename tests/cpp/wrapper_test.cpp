// Tests of include/imapmail.hpp against the throwaway Dovecot of tests/packaging/fixture.sh
// (environment: IMAP_PORT, IMAPS_PORT, CA_FILE, FIX_USER, FIX_PASS). Built with
// -std=c++17 -Wall -Wextra -Werror by tests/suites/cpp.sh. Ends with "N passed, M failed".
#include "imapmail.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
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

int main() {
    CHECK(!imapmail::version().empty());
    CHECK(imapmail::status_name(EMAIL_ERR_TLS) == "EMAIL_ERR_TLS");
    try {
        test_iteration();
        test_get_all_and_flags();
        test_errors();
        test_threads();
    } catch (const imapmail::Error &e) {
        failed++;
        std::cerr << "unexpected imapmail::Error: " << e.what() << "\n";
    }
    std::cout << passed << " passed, " << failed << " failed\n";
    return failed == 0 ? 0 : 1;
}
