#include "adapters/net/effect_queue.hpp"
#include "log_capture.hpp"
#include "run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

using namespace incident::net;
using incident::net::testing::run_async;
using incident::net::testing::sleep_for;
using incident::net::testing::wait_until;
using incident::testing::LogCapture;
namespace asio = boost::asio;
using asio::awaitable;
using std::chrono::milliseconds;

TEST_CASE(
    "effect queue: jobs run one at a time, in order, and one that throws does not stop the rest") {
    asio::io_context io;
    LogCapture log;
    EffectQueue queue(io.get_executor(), "chat");
    std::vector<std::string> ran;
    int running = 0;
    int most_running = 0;
    const auto job = [&](std::string name, milliseconds takes) -> EffectQueue::Job {
        return [&, name, takes]() -> awaitable<void> {
            ++running;
            most_running = std::max(most_running, running);
            co_await sleep_for(takes);
            --running;
            if (name == "bad") throw std::runtime_error("no channel");
            ran.push_back(name);
        };
    };
    queue.start();
    const bool finished = run_async(io, [&]() -> awaitable<void> {
        queue.push(job("first", milliseconds(30)));
        queue.push(job("bad", milliseconds(1)));
        queue.push(job("second", milliseconds(1)));
        CHECK(queue.pending() == 3);
        REQUIRE(co_await wait_until([&] { return queue.pending() == 0; }, milliseconds(2000)));
        queue.push(job("after idle", milliseconds(1)));
        REQUIRE(co_await wait_until([&] { return queue.pending() == 0; }, milliseconds(2000)));
    });
    CHECK(finished);
    CHECK(ran == std::vector<std::string>{"first", "second", "after idle"});
    CHECK(most_running == 1);
    CHECK(log.contains("chat: effect failed: no channel"));
    queue.stop();
}

TEST_CASE("effect queue: drain waits for the queue until the deadline, and stop leaves the rest") {
    asio::io_context io;
    LogCapture log;
    EffectQueue queue(io.get_executor(), "chat");
    int done = 0;
    const EffectQueue::Job slow = [&]() -> awaitable<void> {
        co_await sleep_for(milliseconds(40));
        ++done;
    };
    queue.start();
    const bool finished = run_async(io, [&]() -> awaitable<void> {
        queue.push(slow);
        queue.push(slow);
        co_await queue.drain(std::chrono::steady_clock::now() + milliseconds(2000));
        CHECK(done == 2);
        CHECK(queue.pending() == 0);
        for (int i = 0; i < 10; ++i) queue.push(slow);
        const auto started = std::chrono::steady_clock::now();
        co_await queue.drain(started + milliseconds(100));
        CHECK(std::chrono::steady_clock::now() - started < milliseconds(1000));
        CHECK(queue.pending() > 0);
        queue.stop();
        const std::size_t left = queue.pending();
        co_await sleep_for(milliseconds(200));
        // The job in flight finishes; nothing after it starts.
        CHECK(queue.pending() == left - 1);
    });
    CHECK(finished);
    CHECK(done < 12);
    CHECK(log.contains("chat: stopping with"));
    CHECK(log.contains("effect(s) not executed"));
}
