// Files shared in a Mattermost incident channel, kept as evidence (issue 20): a post's
// file_ids are fetched with GET files/{id}/info and GET files/{id}, with the bot's token,
// through the outbox, and served so they cannot run.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "../slack/evidence_checks.hpp"
#include "harness.hpp"

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
using nlohmann::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

std::vector<FakeMattermost::Call> file_calls(const FakeMattermost& fake, const std::string& path) {
    std::vector<FakeMattermost::Call> out;
    for (const auto& c : fake.calls) {
        if (c.method == "GET" && c.path == path) out.push_back(c);
    }
    return out;
}

}  // namespace

TEST_CASE("mattermost: the fake's FileInfo has the documented fields") {
    const auto path = std::filesystem::path(INCIDENT_BOT_PROTOCOL_DIR) / "mattermost" / "fixtures" /
                      "file_info.api-docs.json";
    std::ifstream in(path);
    const json documented = json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
    boost::asio::io_context io;
    FakeMattermost fake(io.get_executor());
    const std::string id = fake.upload_file(mm_id("alice"), "a.png", "image/png", "x");
    std::set<std::string> ours, theirs;
    for (const auto& [k, v] : fake.files.at(id).info.items()) ours.insert(k);
    for (const auto& [k, v] : documented.items()) theirs.insert(k);
    CHECK(ours == theirs);
}

TEST_CASE(
    "mattermost evidence: a PNG and text files are fetched by id with the bot token, "
    "served harmlessly, listed and bundled") {
    MattermostHarness h;
    h.adapter->start();
    web::Metrics metrics;
    web::Dashboard dashboard(*h.service, metrics, web::DashboardOptions{});
    const std::string log = "2026-12-01T10:00:00Z upstream pool empty\n";
    const std::string script = "<script>alert(document.cookie)</script>";
    std::vector<std::string> ids;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            REQUIRE(co_await h.ready());
            const std::string channel = co_await h.declare();
            REQUIRE_FALSE(channel.empty());
            ids = {h.fake->upload_file(h.bob(), "screenshot.png", "image/png", k_png),
                   h.fake->upload_file(h.bob(), "../../etc/passwd", "text/plain", log),
                   h.fake->upload_file(h.bob(), "<script>.html", "text/html", script)};
            const json post = h.fake->post_files(channel, h.bob(), "", ids);
            REQUIRE(co_await wait_until([&] { return files_settled(*h.service, 1, 3); },
                                        milliseconds(8000)));
            REQUIRE(co_await h.idle());
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    for (const auto& id : ids) {
        CAPTURE(id);
        const auto info = file_calls(*h.fake, "files/" + id + "/info");
        const auto bytes = file_calls(*h.fake, "files/" + id);
        REQUIRE(info.size() == 1);
        REQUIRE(bytes.size() == 1);
        CHECK(info[0].authorization == "Bearer " + h.fake->token);
        CHECK(bytes[0].authorization == "Bearer " + h.fake->token);
    }
    const auto stored = h.service->files(1);
    REQUIRE(stored.size() == 3);
    for (const auto& f : stored) CHECK(f.status == FileStatus::stored);
    CHECK(stored[0].name == "screenshot.png");
    CHECK(stored[0].mime_type == "image/png");
    CHECK(stored[0].shared_by.id == h.bob());
    CHECK(stored[1].name == "../../etc/passwd");
    check_served(dashboard, stored[0], k_png);
    check_served(dashboard, stored[1], log);
    check_served(dashboard, stored[2], script);
    check_listed(*h.service, dashboard, 1);
    check_bundle(*h.service, 1,
                 {{"screenshot.png", k_png}, {"../../etc/passwd", log}, {"<script>.html", script}});
    // A post of files alone is on the channel log under their names.
    bool logged = false;
    for (const auto& e : h.service->timeline(1)) {
        logged |=
            e.kind == EntryKind::message && e.text.find("screenshot.png") != std::string::npos;
    }
    CHECK(logged);
}

TEST_CASE(
    "mattermost evidence: a file over the size limit is recorded from its info, not "
    "fetched, and the channel is told") {
    MattermostHarness h;
    h.adapter->start();
    const std::int64_t huge = h.service->file_max_bytes() + 1;
    std::string id, channel;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            REQUIRE(co_await h.ready());
            channel = co_await h.declare();
            REQUIRE_FALSE(channel.empty());
            id = h.fake->upload_file(h.bob(), "core.dump", "application/octet-stream", "x", huge);
            // The WebSocket's post without metadata (older servers): the size comes from
            // files/{id}/info.
            h.fake->post_files(channel, h.bob(), "core dump attached", {id}, false);
            REQUIRE(co_await wait_until([&] { return files_settled(*h.service, 1, 1); },
                                        milliseconds(8000)));
            REQUIRE(co_await h.idle());
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    CHECK(file_calls(*h.fake, "files/" + id + "/info").size() == 1);
    CHECK(file_calls(*h.fake, "files/" + id).empty());
    const auto files = h.service->files(1);
    REQUIRE(files.size() == 1);
    CHECK(files[0].status == FileStatus::too_large);
    CHECK(files[0].size == huge);
    CHECK(files[0].source_url == h.fake->url() + "/api/v4/files/" + id);
    bool told = false;
    for (const auto& c : h.fake->calls_of("POST", "posts")) {
        const std::string message = c.body.value("message", "");
        if (c.body.value("channel_id", "") != channel) continue;
        if (message.find("core.dump") == std::string::npos) continue;
        told = true;
        CHECK(message.find("over the 25.0 MB limit") != std::string::npos);
    }
    CHECK(told);
}

TEST_CASE(
    "mattermost evidence: a download that fails with a 500 is retried through the outbox, "
    "and the fake refuses a request without the token") {
    MattermostHarness h;
    h.adapter->start();
    std::string id;
    net::HttpResponse anonymous;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            REQUIRE(co_await h.ready());
            const std::string channel = co_await h.declare();
            REQUIRE_FALSE(channel.empty());
            id = h.fake->upload_file(h.bob(), "trace.txt", "text/plain", "stack trace\n");
            h.fake->file_errors[id] = 1;
            h.fake->post_files(channel, h.bob(), "trace", {id});
            REQUIRE(co_await wait_until([&] { return files_settled(*h.service, 1, 1); },
                                        milliseconds(8000)));
            REQUIRE(co_await h.idle());
            net::HttpRequest request;
            request.url = h.fake->url() + "/api/v4/files/" + id;
            anonymous = co_await h.client->request(request);
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    CHECK(file_calls(*h.fake, "files/" + id).size() == 3);  // 500, 200, the anonymous 401
    CHECK(anonymous.status == 401);
    const auto file = h.service->files(1).at(0);
    CHECK(file.status == FileStatus::stored);
    CHECK(h.service->file_content(file) == std::string("stack trace\n"));
}
