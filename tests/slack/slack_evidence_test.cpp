#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "evidence_checks.hpp"
#include "harness.hpp"

// Files shared in a Slack incident channel, kept as evidence (issue 20): downloaded from
// url_private_download with the bot token, through the outbox, and served so they cannot run.
using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
using nlohmann::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// The file_share envelope of tests/protocol (a message event with files[] as
// docs.slack.dev/reference/objects/file-object documents them), in `channel`, with its one
// file object repeated for each of `files`: id, name, mimetype, size and the URL changed.
struct Shared {
    std::string id, name, mimetype, url;
    std::int64_t size = 0;
    // As Slack sends a file it has not finished processing: no URLs, "check_file_info".
    bool check_file_info = false;
};

json file_share_envelope(const std::string& event_id, const std::string& channel,
                         const std::vector<Shared>& files) {
    const auto path = std::filesystem::path(INCIDENT_BOT_PROTOCOL_DIR) / "slack" / "fixtures" /
                      "sm_events_api_file_share.docs.json";
    std::ifstream in(path);
    json envelope = json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
    envelope["envelope_id"] = "env-" + event_id;
    envelope["payload"]["event_id"] = event_id;
    json& event = envelope["payload"]["event"];
    REQUIRE(event["subtype"] == "file_share");
    event["channel"] = channel;
    event["user"] = "U2";
    event["ts"] = "1800000100.000100";
    event["event_ts"] = "1800000100.000100";
    const json model = event["files"].at(0);
    event["files"] = json::array();
    for (const auto& f : files) {
        json file = model;
        file["id"] = f.id;
        file["name"] = f.name;
        file["title"] = f.name;
        file["mimetype"] = f.mimetype;
        file["size"] = f.size;
        file["url_private_download"] = f.url;
        if (f.check_file_info) {
            file.erase("url_private");
            file.erase("url_private_download");
            file["file_access"] = "check_file_info";
        }
        event["files"].push_back(std::move(file));
    }
    return envelope;
}

json fixture_of(const std::string& name) {
    const auto path =
        std::filesystem::path(INCIDENT_BOT_PROTOCOL_DIR) / "slack" / "fixtures" / name;
    std::ifstream in(path);
    return json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
}

// The file_shared envelope of tests/protocol (docs.slack.dev/reference/events/file_shared:
// file_id, user_id, channel_id, event_ts and a `file: {id}` stub), by `user` in `channel`.
json file_shared_envelope(const std::string& event_id, const std::string& channel,
                          const std::string& file_id, const std::string& user = "U2") {
    json envelope = fixture_of("sm_events_api_file_shared.docs.json");
    envelope["envelope_id"] = "env-" + event_id;
    envelope["payload"]["event_id"] = event_id;
    json& event = envelope["payload"]["event"];
    REQUIRE(event["type"] == "file_shared");
    event["channel_id"] = channel;
    event["file_id"] = file_id;
    event["file"]["id"] = file_id;
    event["user_id"] = user;
    event["event_ts"] = "1800000100.000200";
    return envelope;
}

std::vector<FakeSlack::FileRequest> requests_of(const FakeSlack& fake, const std::string& url) {
    std::vector<FakeSlack::FileRequest> out;
    for (const auto& r : fake.file_requests) {
        if (url.ends_with(r.path)) out.push_back(r);
    }
    return out;
}

}  // namespace

TEST_CASE(
    "slack evidence: a PNG and text files are downloaded with the bot token, served "
    "harmlessly, listed and bundled") {
    SlackHarness h;
    h.adapter->start();
    web::Metrics metrics;
    web::Dashboard dashboard(h.service, metrics, web::DashboardOptions{});
    const std::string log = "2026-12-01T10:00:00Z upstream pool empty\n";
    const std::string script = "<script>alert(document.cookie)</script>";
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            const std::string channel = co_await h.declare();
            const std::vector<Shared> files{
                {"F0PNG", "screenshot.png", "image/png",
                 h.fake->host_file("F0PNG", "screenshot.png", k_png, "image/png"),
                 static_cast<std::int64_t>(k_png.size())},
                {"F0LOG", "../../etc/passwd", "text/plain",
                 h.fake->host_file("F0LOG", "passwd", log, "text/plain"),
                 static_cast<std::int64_t>(log.size())},
                {"F0HTML", "<script>.html", "text/html",
                 h.fake->host_file("F0HTML", "script.html", script, "text/html"),
                 static_cast<std::int64_t>(script.size())},
            };
            h.fake->deliver(file_share_envelope("EvFILES", channel, files));
            REQUIRE(co_await h.acked("env-EvFILES"));
            REQUIRE(co_await wait_until([&] { return files_settled(h.service, 1, 3); },
                                        milliseconds(5000)));
            REQUIRE(co_await h.idle());
            for (const auto& f : files) {
                const auto requests = requests_of(*h.fake, f.url);
                REQUIRE(requests.size() == 1);
                CHECK(requests[0].authorization == "Bearer " + h.fake->bot_token);
                CHECK(requests[0].status == 200);
            }
            // The same envelope again (Slack redelivers) records nothing twice, fetches nothing.
            h.fake->deliver(file_share_envelope("EvFILES2", channel, files));
            REQUIRE(co_await h.acked("env-EvFILES2"));
            REQUIRE(co_await h.idle());
            CHECK(h.fake->file_requests.size() == 3);
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    const auto stored = h.service.files(1);
    REQUIRE(stored.size() == 3);
    for (const auto& f : stored) CHECK(f.status == FileStatus::stored);
    CHECK(stored[0].shared_by.id == "U2");
    CHECK(stored[0].shared_by.name == "bob");
    CHECK(stored[0].message_id == "1800000100.000100");
    CHECK(stored[0].sha256 == net::sha256_hex(k_png));
    check_served(dashboard, stored[0], k_png);
    check_served(dashboard, stored[1], log);
    check_served(dashboard, stored[2], script);
    CHECK(response_header(get_page(dashboard, file_path(stored[2])), "Content-Disposition") ==
          "attachment; filename=\"script_.html\"");
    CHECK(response_header(get_page(dashboard, file_path(stored[1])), "Content-Disposition") ==
          "attachment; filename=\"etc_passwd\"");
    // The incident page's sign-in: with a dashboard token, none without it.
    web::DashboardOptions locked_options;
    locked_options.token = "dashboard-secret";
    web::Dashboard locked(h.service, metrics, locked_options);
    CHECK(get_page(locked, file_path(stored[0])).status == 303);
    web::WebRequest with_token;
    with_token.method = "GET";
    with_token.target = file_path(stored[0]);
    with_token.headers["authorization"] = "Bearer dashboard-secret";
    CHECK(locked.handle(with_token).status == 200);
    CHECK(locked.handle(with_token).body == k_png);
    // Another incident's route does not serve it.
    CHECK(get_page(dashboard, "/incidents/INC-2/files/" + std::to_string(stored[0].id)).status ==
          404);
    check_listed(h.service, dashboard, 1);
    check_bundle(h.service, 1,
                 {{"screenshot.png", k_png}, {"../../etc/passwd", log}, {"<script>.html", script}});
    // The channel log keeps the message's words; the files are not chatter of their own.
    CHECK(h.messages(1) == 1);
}

TEST_CASE(
    "slack evidence: a file over the size limit is recorded with its link, not fetched, "
    "and the channel is told") {
    SlackHarness h;
    h.adapter->start();
    const std::int64_t huge = h.service.file_max_bytes() + 1;
    std::string url;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            const std::string channel = co_await h.declare();
            url =
                h.fake->host_file("F0BIG", "heap.dump", "not fetched", "application/octet-stream");
            h.fake->deliver(file_share_envelope(
                "EvBIG", channel, {{"F0BIG", "heap.dump", "application/octet-stream", url, huge}}));
            REQUIRE(co_await h.acked("env-EvBIG"));
            REQUIRE(co_await wait_until(
                [&] {
                    for (const auto& m : h.fake->posted_in(channel)) {
                        if (m.value("text", "").find("heap.dump") != std::string::npos) return true;
                    }
                    return false;
                },
                milliseconds(5000)));
            REQUIRE(co_await h.idle());
            bool told = false;
            for (const auto& m : h.fake->posted_in(channel)) {
                const std::string text = m.value("text", "");
                if (text.find("heap.dump") == std::string::npos) continue;
                told = true;
                CHECK(text.find("over the 25.0 MB limit") != std::string::npos);
                CHECK(text.find(url) != std::string::npos);
            }
            CHECK(told);
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    CHECK(h.fake->file_requests.empty());
    const auto files = h.service.files(1);
    REQUIRE(files.size() == 1);
    CHECK(files[0].status == FileStatus::too_large);
    CHECK(files[0].name == "heap.dump");
    CHECK(files[0].source_url == url);
    CHECK(files[0].size == huge);
    CHECK_FALSE(h.service.file_content(files[0]).has_value());
    web::Metrics metrics;
    web::Dashboard dashboard(h.service, metrics, web::DashboardOptions{});
    CHECK(get_page(dashboard, file_path(files[0])).status == 404);
    check_listed(h.service, dashboard, 1);
}

TEST_CASE("slack evidence: a download that fails with a 500 is retried through the outbox") {
    SlackHarness h;
    h.adapter->start();
    std::string url;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            const std::string channel = co_await h.declare();
            url = h.fake->host_file("F0RETRY", "trace.txt", "stack trace\n", "text/plain");
            h.fake->file_errors["/files-pri/T111-F0RETRY/download/trace.txt"] = 1;
            h.fake->deliver(file_share_envelope("EvRETRY", channel,
                                                {{"F0RETRY", "trace.txt", "text/plain", url, 12}}));
            REQUIRE(co_await h.acked("env-EvRETRY"));
            REQUIRE(co_await wait_until([&] { return files_settled(h.service, 1, 1); },
                                        milliseconds(5000)));
            REQUIRE(co_await h.idle());
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    const auto requests = requests_of(*h.fake, url);
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].status == 500);
    CHECK(requests[1].status == 200);
    const auto file = h.service.files(1).at(0);
    CHECK(file.status == FileStatus::stored);
    CHECK(h.service.file_content(file) == std::string("stack trace\n"));
}

TEST_CASE(
    "slack evidence: a download still failing past the outbox's retry window is failed, and "
    "why is shown where the file is listed") {
    SlackHarness h;
    h.options.outbox.retry_for = milliseconds(300);
    h.adapter = h.make_adapter();
    h.adapter->start();
    std::string url;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            const std::string channel = co_await h.declare();
            url = h.fake->host_file("F0DOWN", "trace.txt", "stack trace\n", "text/plain");
            // files.slack.com keeps answering 500: every attempt fails, none for good.
            h.fake->file_errors["/files-pri/T111-F0DOWN/download/trace.txt"] = 1'000'000;
            h.fake->deliver(file_share_envelope("EvDOWN", channel,
                                                {{"F0DOWN", "trace.txt", "text/plain", url, 12}}));
            REQUIRE(co_await h.acked("env-EvDOWN"));
            REQUIRE(co_await wait_until([&] { return files_settled(h.service, 1, 1); },
                                        milliseconds(5000)));
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    CHECK(requests_of(*h.fake, url).size() >= 2);
    const auto failed = h.outbox.failed();
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].kind == "fetch_file");
    const auto file = h.service.files(1).at(0);
    CHECK(file.status == FileStatus::failed);
    CHECK(file.error.find("not downloaded after " + std::to_string(failed[0].attempts) +
                          " attempt(s)") != std::string::npos);
    CHECK(file.error.find("HTTP 500") != std::string::npos);

    const auto json = to_json(h.service.snapshot(1));
    CHECK(json["files"][0]["status"] == "failed");
    CHECK(json["files"][0]["error"] == file.error);
    web::Metrics metrics;
    web::Dashboard dashboard(h.service, metrics, web::DashboardOptions{});
    const web::WebResponse page = get_page(dashboard, "/incidents/INC-1");
    REQUIRE(page.status == 200);
    CHECK(page.body.find("could not be downloaded: " + web::html_escape(file.error)) !=
          std::string::npos);
    CHECK(page.body.find("download pending") == std::string::npos);

    // The operator's Retry, once Slack serves it again: the file waits for it and is stored.
    h.fake->file_errors.erase("/files-pri/T111-F0DOWN/download/trace.txt");
    REQUIRE(h.outbox.retry(failed[0].id));
    CHECK(h.service.files(1).at(0).status == FileStatus::pending);
    CHECK(h.service.files(1).at(0).error.empty());
    const bool stored = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            h.adapter->wake_outbox();  // as the dashboard's Retry does (outbox_retried)
            REQUIRE(co_await wait_until(
                [&] { return h.service.files(1).at(0).status == FileStatus::stored; },
                milliseconds(10'000)));
        },
        std::chrono::seconds(20));
    CHECK(stored);
    CHECK(h.outbox.failed().empty());
}

TEST_CASE(
    "slack evidence: the fake refuses a file request without the bot token, and the bot "
    "sends its token to Slack's hosts only") {
    SlackHarness h;
    h.adapter->start();
    std::string url;
    net::HttpResponse anonymous;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            const std::string channel = co_await h.declare();
            url = h.fake->host_file("F0X", "x.txt", "x", "text/plain");
            net::HttpClient client(h.io.get_executor(), *h.client_tls);
            net::HttpRequest request;
            request.url = url;
            anonymous = co_await client.request(request);
            // A file object pointing elsewhere (not Slack, not its API host) is not fetched.
            h.fake->deliver(file_share_envelope(
                "EvELSEWHERE", channel,
                {{"F0EVIL", "evil.txt", "text/plain", "https://evil.example.com/steal", 4}}));
            REQUIRE(co_await h.acked("env-EvELSEWHERE"));
            REQUIRE(co_await wait_until([&] { return files_settled(h.service, 1, 1); },
                                        milliseconds(5000)));
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    CHECK(anonymous.status == 403);
    const auto file = h.service.files(1).at(0);
    CHECK(file.status == FileStatus::failed);
    CHECK(file.error.find("not a Slack URL") != std::string::npos);
}

TEST_CASE(
    "slack evidence: a file Slack had not finished is looked up with files.info, then "
    "downloaded") {
    SlackHarness h;
    h.adapter->start();
    std::string url;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            const std::string channel = co_await h.declare();
            url = h.fake->host_file("F0LATE", "late.png", k_png, "image/png");
            h.fake->file_objects["F0LATE"] = {{"id", "F0LATE"},
                                              {"name", "late.png"},
                                              {"mimetype", "image/png"},
                                              {"size", k_png.size()},
                                              {"url_private_download", url}};
            Shared late{"F0LATE", "", "", "", 0, true};
            h.fake->deliver(file_share_envelope("EvLATE", channel, {late}));
            REQUIRE(co_await h.acked("env-EvLATE"));
            REQUIRE(co_await wait_until([&] { return files_settled(h.service, 1, 1); },
                                        milliseconds(5000)));
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    REQUIRE(h.fake->calls_of("files.info").size() == 1);
    CHECK(h.fake->calls_of("files.info")[0].args["file"] == "F0LATE");
    const auto file = h.service.files(1).at(0);
    CHECK(file.status == FileStatus::stored);
    CHECK(file.name == "late.png");
    CHECK(file.source_url == url);
    CHECK(h.service.file_content(file) == k_png);
}

TEST_CASE(
    "slack evidence: the fake's files.info answers in the documented shape, with the bot token") {
    SlackHarness h;
    h.adapter->start();
    const json documented = fixture_of("web_files_info_ok.docs.json");
    json answer, anonymous;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            h.fake->host_file("F0DOC", "trace.txt", "stack trace\n", "text/plain");
            net::HttpClient client(h.io.get_executor(), *h.client_tls);
            net::HttpRequest request;
            request.method = "POST";
            request.url = h.fake->api_url() + "files.info";
            request.headers.set("Content-Type", "application/x-www-form-urlencoded");
            request.body = "file=F0DOC";
            anonymous = json::parse((co_await client.request(request)).body, nullptr, false);
            request.headers.set("Authorization", "Bearer " + h.fake->bot_token);
            answer = json::parse((co_await client.request(request)).body, nullptr, false);
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    CAPTURE(answer.dump());
    CHECK(anonymous["ok"] == false);
    CHECK(anonymous["error"] == "invalid_auth");
    REQUIRE(answer.is_object());
    std::set<std::string> ours, theirs;
    for (const auto& [k, v] : answer.items()) ours.insert(k);
    for (const auto& [k, v] : documented.items()) theirs.insert(k);
    CHECK(ours == theirs);
    // The file object: only documented fields, each of the documented type, and all that the
    // bot reads.
    for (const auto& [k, v] : answer["file"].items()) {
        CAPTURE(k);
        REQUIRE(documented["file"].contains(k));
        CHECK(std::string(v.type_name()) == documented["file"][k].type_name());
    }
    for (const char* field : {"id", "name", "mimetype", "size", "url_private_download", "user"}) {
        CHECK_MESSAGE(answer["file"].contains(field), field);
    }
    CHECK(answer["file"]["id"] == "F0DOC");
    CHECK(answer["file"]["size"] == 12);
    CHECK(answer["file"]["user"] == "U2");
}

TEST_CASE(
    "slack evidence: a file announced only by file_shared is described by files.info, "
    "downloaded with the bot token and kept on the incident") {
    SlackHarness h;
    h.adapter->start();
    std::string url;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            const std::string channel = co_await h.declare();
            url = h.fake->host_file("F0SHOT", "screenshot.png", k_png, "image/png");
            h.fake->deliver(file_shared_envelope("EvSHARED", channel, "F0SHOT"));
            REQUIRE(co_await h.acked("env-EvSHARED"));
            REQUIRE(co_await wait_until([&] { return files_settled(h.service, 1, 1); },
                                        milliseconds(5000)));
            REQUIRE(co_await h.idle());
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    const auto info = h.fake->calls_of("files.info");
    REQUIRE(info.size() == 1);
    CHECK(info[0].args["file"] == "F0SHOT");
    CHECK(info[0].authorization == "Bearer " + h.fake->bot_token);
    const auto requests = requests_of(*h.fake, url);
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].authorization == "Bearer " + h.fake->bot_token);
    CHECK(requests[0].status == 200);

    const auto files = h.service.files(1);
    REQUIRE(files.size() == 1);
    const EvidenceFile& file = files[0];
    CHECK(file.status == FileStatus::stored);
    CHECK(file.source_id == "F0SHOT");
    CHECK(file.name == "screenshot.png");
    CHECK(file.mime_type == "image/png");
    CHECK(file.size == static_cast<std::int64_t>(k_png.size()));
    CHECK(file.sha256 == net::sha256_hex(k_png));
    CHECK(file.shared_by.id == "U2");
    CHECK(file.shared_by.name == "bob");
    CHECK(file.shared_at == 1'800'000'100'000);  // event_ts, to the millisecond
    CHECK(file.message_id.empty());              // no message seen with it
    CHECK(h.service.file_content(file) == k_png);

    const json exported = to_json(h.service.snapshot(1));
    REQUIRE(exported["files"].size() == 1);
    CHECK(exported["files"][0]["name"] == "screenshot.png");
    CHECK(exported["files"][0]["sha256"] == net::sha256_hex(k_png));
    CHECK(exported["files"][0]["status"] == "stored");
    CHECK(exported["files"][0]["shared_by"]["id"] == "U2");
    web::Metrics metrics;
    web::Dashboard dashboard(h.service, metrics, web::DashboardOptions{});
    check_served(dashboard, file, k_png);
    check_listed(h.service, dashboard, 1);
    // A file is not chatter: the channel log has no entry of its own for it.
    CHECK(h.messages(1) == 0);
}

TEST_CASE(
    "slack evidence: a file announced by its message and by file_shared is stored once, in "
    "either order") {
    const std::string ts = "1800000100.000100";  // file_share_envelope's message
    for (const bool shared_first : {false, true}) {
        CAPTURE(shared_first);
        SlackHarness h;
        h.adapter->start();
        std::string url;
        const bool finished = run_async(
            h.io,
            [&]() -> asio::awaitable<void> {
                const std::string channel = co_await h.declare();
                url = h.fake->host_file("F0BOTH", "trace.txt", "stack trace\n", "text/plain");
                const json message = file_share_envelope(
                    "EvMSG", channel, {{"F0BOTH", "trace.txt", "text/plain", url, 12}});
                const json shared = file_shared_envelope("EvSHR", channel, "F0BOTH");
                // As Slack sends them for one upload: one right after the other.
                h.fake->deliver(shared_first ? shared : message);
                h.fake->deliver(shared_first ? message : shared);
                REQUIRE(co_await h.acked("env-EvMSG"));
                REQUIRE(co_await h.acked("env-EvSHR"));
                REQUIRE(co_await wait_until([&] { return files_settled(h.service, 1, 1); },
                                            milliseconds(5000)));
                REQUIRE(co_await h.idle());
            },
            std::chrono::seconds(20));
        REQUIRE(finished);
        const auto files = h.service.files(1);
        REQUIRE(files.size() == 1);
        CHECK(files[0].status == FileStatus::stored);
        CHECK(files[0].name == "trace.txt");
        // The message it came with is known whichever came first.
        CHECK(files[0].message_id == ts);
        CHECK(h.service.file_content(files[0]) == std::string("stack trace\n"));
        CHECK(requests_of(*h.fake, url).size() == 1);
        // Announced first on its own, it is described by files.info; after its message, the
        // message had described it already.
        CHECK(h.fake->calls_of("files.info").size() == (shared_first ? 1U : 0U));
        CHECK(h.outbox.failed().empty());
        CHECK(h.messages(1) == 1);  // the message's words, once
    }
}

TEST_CASE(
    "slack evidence: a file_shared outside an incident channel stores nothing, one inside is "
    "kept") {
    SlackHarness h;
    h.adapter->start();
    std::string inside;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            const std::string channel = co_await h.declare();
            h.fake->host_file("F0ELSE", "notes.txt", "not evidence\n", "text/plain");
            inside = h.fake->host_file("F0IN", "trace.txt", "stack trace\n", "text/plain");
            // A channel the bot knows that is no incident's, and a DM (the docs' example).
            h.fake->deliver(file_shared_envelope("EvGENERAL", "CGENERAL", "F0ELSE"));
            h.fake->deliver(file_shared_envelope("EvDM", "D01315BHHSN", "F0ELSE"));
            // Then one in the incident's channel, which is kept.
            h.fake->deliver(file_shared_envelope("EvINSIDE", channel, "F0IN"));
            REQUIRE(co_await h.acked("env-EvGENERAL"));
            REQUIRE(co_await h.acked("env-EvDM"));
            REQUIRE(co_await h.acked("env-EvINSIDE"));
            REQUIRE(co_await wait_until([&] { return files_settled(h.service, 1, 1); },
                                        milliseconds(5000)));
            REQUIRE(co_await h.idle());
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    const auto files = h.service.files(1);
    REQUIRE(files.size() == 1);
    CHECK(files[0].source_id == "F0IN");
    // Nothing was asked about or fetched for the file shared elsewhere.
    const auto info = h.fake->calls_of("files.info");
    REQUIRE(info.size() == 1);
    CHECK(info[0].args["file"] == "F0IN");
    REQUIRE(h.fake->file_requests.size() == 1);
    CHECK(inside.ends_with(h.fake->file_requests[0].path));
}

TEST_CASE("slack evidence: a redelivered file_shared envelope stores and fetches nothing twice") {
    SlackHarness h;
    h.adapter->start();
    std::string url;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            const std::string channel = co_await h.declare();
            url = h.fake->host_file("F0AGAIN", "trace.txt", "stack trace\n", "text/plain");
            h.fake->deliver(file_shared_envelope("EvAGAIN", channel, "F0AGAIN"));
            REQUIRE(co_await h.acked("env-EvAGAIN"));
            REQUIRE(co_await wait_until([&] { return files_settled(h.service, 1, 1); },
                                        milliseconds(5000)));
            REQUIRE(co_await h.idle());
            // Slack's retry of the same event, and the same file announced again later.
            json retry = file_shared_envelope("EvAGAIN", channel, "F0AGAIN");
            retry["envelope_id"] = "env-EvAGAIN-retry";
            retry["retry_attempt"] = 1;
            retry["retry_reason"] = "timeout";
            h.fake->deliver(retry);
            h.fake->deliver(file_shared_envelope("EvAGAIN2", channel, "F0AGAIN"));
            REQUIRE(co_await h.acked("env-EvAGAIN-retry"));
            REQUIRE(co_await h.acked("env-EvAGAIN2"));
            REQUIRE(co_await h.idle());
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    const auto files = h.service.files(1);
    REQUIRE(files.size() == 1);
    CHECK(files[0].status == FileStatus::stored);
    CHECK(h.fake->count("files.info") == 1);
    CHECK(requests_of(*h.fake, url).size() == 1);
}

TEST_CASE(
    "slack evidence: a file_shared is acked only once stored: a failed commit leaves it "
    "unacked, its redelivery stores it once") {
    SlackHarness h;
    h.adapter->start();
    std::string url;
    // How many files the incident had each time Slack received the envelope's ack.
    std::vector<std::size_t> files_at_ack;
    h.fake->on_ack = [&](const std::string& id) {
        if (id == "env-EvCOMMIT") files_at_ack.push_back(h.service.files(1).size());
    };
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            const std::string channel = co_await h.declare();
            url = h.fake->host_file("F0COMMIT", "trace.txt", "stack trace\n", "text/plain");
            h.failing.failing_commits = 1;
            h.fake->deliver(file_shared_envelope("EvCOMMIT", channel, "F0COMMIT"));
            REQUIRE(co_await h.acked("env-EvCOMMIT"));
            REQUIRE(co_await wait_until([&] { return files_settled(h.service, 1, 1); },
                                        milliseconds(5000)));
            REQUIRE(co_await h.idle());
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    CHECK(h.failing.failed_commits == 1);
    // The failed batch closed its connection; the envelope came again on the next one.
    CHECK(h.fake->acked_on.at("env-EvCOMMIT") > h.fake->acked_on.at("env-t-declare"));
    // Acked once, and only with the file recorded: the failed attempt was not acked.
    CHECK(files_at_ack == std::vector<std::size_t>{1});
    REQUIRE(h.service.files(1).size() == 1);
    CHECK(h.service.files(1)[0].status == FileStatus::stored);
    CHECK(requests_of(*h.fake, url).size() == 1);
}

TEST_CASE(
    "slack evidence: a file_shared over the size limit is recorded with its link, not fetched, "
    "and the channel is told") {
    SlackHarness h;
    h.adapter->start();
    const std::int64_t huge = h.service.file_max_bytes() + 1;
    std::string url;
    std::vector<std::string> told;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            const std::string channel = co_await h.declare();
            url =
                h.fake->host_file("F0HUGE", "heap.dump", "not fetched", "application/octet-stream");
            h.fake->file_objects["F0HUGE"]["size"] = huge;  // what Slack says of it
            h.fake->deliver(file_shared_envelope("EvHUGE", channel, "F0HUGE"));
            REQUIRE(co_await h.acked("env-EvHUGE"));
            REQUIRE(co_await wait_until([&] { return files_settled(h.service, 1, 1); },
                                        milliseconds(5000)));
            REQUIRE(co_await h.idle());
            for (const auto& m : h.fake->posted_in(channel)) {
                const std::string text = m.value("text", "");
                if (text.find("heap.dump") != std::string::npos) told.push_back(text);
            }
        },
        std::chrono::seconds(20));
    REQUIRE(finished);
    REQUIRE(told.size() == 1);
    CHECK(told[0].find("over the 25.0 MB limit") != std::string::npos);
    CHECK(told[0].find(url) != std::string::npos);
    CHECK(h.fake->file_requests.empty());
    const auto files = h.service.files(1);
    REQUIRE(files.size() == 1);
    CHECK(files[0].status == FileStatus::too_large);
    CHECK(files[0].name == "heap.dump");
    CHECK(files[0].size == huge);
    CHECK(files[0].source_url == url);
    CHECK_FALSE(h.service.file_content(files[0]).has_value());
}
