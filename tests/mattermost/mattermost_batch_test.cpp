#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include <SQLiteCpp/SQLiteCpp.h>

#include "harness.hpp"

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
namespace asio = boost::asio;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

std::map<std::string, int> stored_texts(MattermostHarness& h) {
    std::map<std::string, int> out;
    for (const auto& entry : h.service->timeline(1)) {
        if (entry.kind == EntryKind::message) ++out[entry.text];
    }
    return out;
}

// A database file of its own, removed afterwards.
struct DbFile {
    fs::path dir = fs::temp_directory_path() / ("mm-batch-" + std::to_string(::getpid()));
    DbFile() { fs::create_directories(dir); }
    ~DbFile() { fs::remove_all(dir); }
    std::string path() const { return (dir / "bot.db").string(); }
};

// Keeps the bot busy for a while (the name lookup of a new author stalls) so that what is
// published next arrives meanwhile and is taken as one burst.
asio::awaitable<void> hold_up(MattermostHarness& h, const std::string& channel, int n) {
    const std::string dave = mm_id("dave", n);
    h.fake->users[dave] = "dave" + std::to_string(n);
    // Long enough for a 1 MiB event to arrive behind it, even under the sanitizers.
    h.fake->stall_for = milliseconds(2000);
    h.fake->stalls["GET users"] = 1;
    const int stalled = h.fake->stalled_calls;
    h.fake->post_message(channel, dave, "hold on " + std::to_string(n));
    // The bot is inside the stalled lookup: what comes next waits behind it.
    REQUIRE(co_await net::testing::wait_until([&] { return h.fake->stalled_calls > stalled; },
                                              milliseconds(5000)));
}

}  // namespace

TEST_CASE("mattermost batch: a burst is stored in one transaction, a refused event skipped alone") {
    LogCapture log;
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        co_await hold_up(h, channel, 1);
        h.fake->post_message(channel, h.bob(), "first");
        // Over the bound against abuse (far above Mattermost's 16,383 runes): refused.
        h.fake->post_message(channel, h.bob(), std::string(1024 * 1024 + 1, 'x'));
        h.fake->post_message(channel, h.bob(), "second");
        h.fake->post_message(channel, h.carol(), "third");
        REQUIRE(co_await h.idle());
        const auto texts = stored_texts(h);
        CHECK(texts.size() == 4);
        CHECK(texts.count("first") == 1);
        CHECK(texts.count("second") == 1);
        CHECK(texts.count("third") == 1);
        CHECK(h.fake->connections == 1);  // no gap: the refused one advanced seq too
        CHECK(log.contains("mattermost: stored 4 events"));
        CHECK(log.contains("event refused"));
    });
    CHECK(finished);
}

TEST_CASE("mattermost batch: a failed commit stores none of the burst, and the server replays it") {
    LogCapture log;
    DbFile db;
    MattermostHarnessOptions options;
    options.db_path = db.path();
    MattermostHarness h(options);
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        h.fake->post_message(channel, h.bob(), "before");
        REQUIRE(co_await h.idle());

        // Another connection makes one insert fail: not a DomainError, so the whole
        // transaction is undone.
        SQLite::Database other(db.path(), SQLite::OPEN_READWRITE);
        other.setBusyTimeout(2000);
        other.exec(
            "CREATE TRIGGER poison BEFORE INSERT ON timeline_entries WHEN NEW.text = 'poison' "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
        co_await hold_up(h, channel, 1);
        const std::int64_t seq = h.fake->next_sequence();  // the seq of "a"
        h.fake->post_message(channel, h.bob(), "a");
        h.fake->post_message(channel, h.bob(), "poison");
        h.fake->post_message(channel, h.bob(), "b");
        REQUIRE(co_await wait_until([&] { return log.contains("not stored: injected failure"); },
                                    milliseconds(5000)));
        CHECK(h.adapter->next_sequence() == seq);
        CHECK(stored_texts(h).size() == 2);

        // Repaired: the next event shows the gap, the server replays the whole burst.
        other.exec("DROP TRIGGER poison");
        h.fake->post_message(channel, h.bob(), "after");
        REQUIRE(co_await h.idle());
        const auto texts = stored_texts(h);
        CHECK(texts.size() == 6);
        for (const auto& [text, times] : texts)
            CHECK_MESSAGE(times == 1, text << " stored " << times << " times");
        CHECK(h.fake->replays == 1);
    });
    CHECK(finished);
}
