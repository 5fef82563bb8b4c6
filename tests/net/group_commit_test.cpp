#include "adapters/net/group_commit.hpp"
#include "run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace incident::net;
using incident::net::testing::run_async;
using incident::net::testing::wait_until;
namespace asio = boost::asio;
using asio::awaitable;
using std::chrono::milliseconds;

namespace {

// A transaction that records what each commit held, and fails when told to.
struct Recorder {
    std::vector<std::vector<std::string>> commits;
    std::vector<std::string> open;
    bool fail_next_commit = false;

    GroupCommit::Transaction transaction() {
        return [this](const std::function<void()>& work) {
            open.clear();
            work();
            if (fail_next_commit) {
                fail_next_commit = false;
                throw std::runtime_error("disk I/O error");
            }
            commits.push_back(open);
        };
    }
};

// One request: stores `name` (throwing for "bad") and records how its run ended.
awaitable<void> request(GroupCommit& group, Recorder& recorder, std::string name,
                        std::vector<std::string>& outcomes) {
    try {
        // Named: GCC 12 destroys a temporary argument of a co_await expression twice.
        std::function<void()> work = [&recorder, name] {
            if (name == "bad") throw std::runtime_error("constraint failed");
            recorder.open.push_back(name);
        };
        co_await group.run(std::move(work));
        outcomes.push_back(name + ": committed");
    } catch (const std::exception& e) {
        outcomes.push_back(name + ": " + e.what());
    }
}

}  // namespace

TEST_CASE("group commit: requests ready together share one commit, and each learns its own end") {
    asio::io_context io;
    Recorder recorder;
    GroupCommit group(io.get_executor(), "test", recorder.transaction());
    std::vector<std::string> outcomes;
    // Outside the coroutine: GCC 12 mis-destroys braced temporaries in coroutine frames.
    const std::vector<std::string> first_burst{"a", "bad", "b"};
    const bool finished = run_async(io, [&]() -> awaitable<void> {
        for (const std::string& name : first_burst) {
            asio::co_spawn(io, request(group, recorder, name, outcomes), asio::detached);
        }
        REQUIRE(co_await wait_until([&] { return outcomes.size() == 3; }, milliseconds(2000)));
        // A request after that batch is answered gets a commit of its own.
        asio::co_spawn(io, request(group, recorder, "c", outcomes), asio::detached);
        REQUIRE(co_await wait_until([&] { return outcomes.size() == 4; }, milliseconds(2000)));
    });
    CHECK(finished);
    REQUIRE(recorder.commits.size() == 2);
    CHECK(recorder.commits[0] == std::vector<std::string>{"a", "b"});
    CHECK(recorder.commits[1] == std::vector<std::string>{"c"});
    CHECK(outcomes == std::vector<std::string>{"a: committed", "bad: constraint failed",
                                               "b: committed", "c: committed"});
    CHECK(group.commits() == 2);
    CHECK(group.committed() == 3);
}

TEST_CASE(
    "group commit: when the commit fails, every request of it is told, none is answered as "
    "stored") {
    asio::io_context io;
    Recorder recorder;
    recorder.fail_next_commit = true;
    GroupCommit group(io.get_executor(), "test", recorder.transaction());
    std::vector<std::string> outcomes;
    const std::vector<std::string> first_burst{"a", "b"};
    const bool finished = run_async(io, [&]() -> awaitable<void> {
        for (const std::string& name : first_burst) {
            asio::co_spawn(io, request(group, recorder, name, outcomes), asio::detached);
        }
        REQUIRE(co_await wait_until([&] { return outcomes.size() == 2; }, milliseconds(2000)));
        asio::co_spawn(io, request(group, recorder, "retried", outcomes), asio::detached);
        REQUIRE(co_await wait_until([&] { return outcomes.size() == 3; }, milliseconds(2000)));
    });
    CHECK(finished);
    CHECK(outcomes ==
          std::vector<std::string>{"a: disk I/O error", "b: disk I/O error", "retried: committed"});
    REQUIRE(recorder.commits.size() == 1);
    CHECK(recorder.commits[0] == std::vector<std::string>{"retried"});
}

TEST_CASE(
    "group commit: a burst larger than the batch limit is committed in several batches, in order") {
    asio::io_context io;
    Recorder recorder;
    GroupCommit group(io.get_executor(), "test", recorder.transaction(), 2);
    std::vector<std::string> outcomes;
    const std::vector<std::string> burst{"1", "2", "3", "4", "5"};
    const bool finished = run_async(io, [&]() -> awaitable<void> {
        for (const std::string& name : burst) {
            asio::co_spawn(io, request(group, recorder, name, outcomes), asio::detached);
        }
        REQUIRE(co_await wait_until([&] { return outcomes.size() == 5; }, milliseconds(2000)));
    });
    CHECK(finished);
    CHECK(recorder.commits == std::vector<std::vector<std::string>>{{"1", "2"}, {"3", "4"}, {"5"}});
}
