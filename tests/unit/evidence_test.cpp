#include <doctest/doctest.h>

#include <algorithm>

#include "bot/config.hpp"
#include "bot/evidence.hpp"
#include "bot/outbox.hpp"
#include "bot/postmortem.hpp"
#include "fixture.hpp"

// Evidence (issue 20): what a captured message's files become, before any adapter fetches
// them, and the names and types they may be served and archived under.
using namespace incident;
using namespace incident::testing;

namespace {

MessagePosted with_files(Bot& bot, const std::string& channel, const std::string& message_id,
                         std::string text, std::vector<SharedFile> files) {
    MessagePosted m{bot.header(channel),   message_id,      "",
                    Actor{"U-bob", "bob"}, std::move(text), false,
                    std::move(files)};
    return m;
}

template <typename T>
std::vector<T> effects_of(const Outcome& out) {
    std::vector<T> found;
    for (const auto& e : out.effects) {
        if (const auto* t = std::get_if<T>(&e)) found.push_back(*t);
    }
    return found;
}

}  // namespace

TEST_CASE("evidence: safe file names keep letters, digits, dot, dash and underscore only") {
    CHECK(safe_file_name("screenshot.png") == "screenshot.png");
    CHECK(safe_file_name("../../etc/passwd") == "etc_passwd");
    CHECK(safe_file_name("<script>.html") == "script_.html");
    CHECK(safe_file_name(".bashrc") == "bashrc");
    CHECK(safe_file_name("a\"b\r\nc") == "a_b_c");
    CHECK(safe_file_name("日本語.txt") == "txt");
    CHECK(safe_file_name("") == "file");
    CHECK(safe_file_name("////") == "file");
    CHECK(safe_file_name(std::string(300, 'x') + ".log").size() == 100);
    CHECK(safe_file_name(std::string(300, 'x') + ".log").ends_with(".log"));
}

TEST_CASE("evidence: only PNG, JPEG, GIF and WebP are shown as images") {
    for (const char* type : {"image/png", "image/jpeg", "image/gif", "image/webp", "IMAGE/PNG"}) {
        CHECK(is_inline_image(type));
    }
    for (const char* type : {"image/svg+xml", "text/html", "application/pdf", "", "image/png;x"}) {
        CHECK_FALSE(is_inline_image(type));
    }
    EvidenceFile f;
    f.incident = 3;
    f.id = 12;
    f.sha256 = std::string(64, 'a');
    f.name = "../x y.png";
    CHECK(file_path(f) == "/incidents/INC-3/files/12");
    CHECK(bundle_path(f) == "files/aaaaaaaaaaaa-x_y.png");
    CHECK(human_size(17) == "17 bytes");
    CHECK(human_size(2048) == "2 KB");
    CHECK(human_size(25 * 1024 * 1024) == "25.0 MB");
}

TEST_CASE(
    "evidence: a message's files are recorded and fetched through the outbox, one over "
    "the limit only recorded and the channel told") {
    Bot bot;
    const std::string channel = bot.declare();
    const std::int64_t limit = bot.service.file_max_bytes();
    const Outcome out = bot.event(with_files(
        bot, channel, "m1", "",
        {{"F1", "graph.png", "image/png", 100, "https://files.example/F1"},
         {"F2", "heap.hprof", "application/octet-stream", limit + 1, "https://files.example/F2"}}));
    REQUIRE(out.reply.ok);
    const auto files = bot.service.files(1);
    REQUIRE(files.size() == 2);
    CHECK(files[0].status == FileStatus::pending);
    CHECK(files[0].shared_by == Actor{"U-bob", "bob"});
    CHECK(files[0].message_id == "m1");
    CHECK(files[0].source_url == "https://files.example/F1");
    CHECK(files[1].status == FileStatus::too_large);
    const auto fetches = effects_of<FetchFile>(out);
    REQUIRE(fetches.size() == 1);
    CHECK(fetches[0].file == files[0].id);
    CHECK(fetches[0].incident == 1);
    const auto posts = effects_of<PostMessage>(out);
    REQUIRE(posts.size() == 1);
    CHECK(std::get<ToIncident>(posts[0].to).number == 1);
    CHECK(posts[0].text.find("heap.hprof") != std::string::npos);
    CHECK(posts[0].text.find("https://files.example/F2") != std::string::npos);
    // A file without words is on the channel log under its name.
    bool logged = false;
    for (const auto& e : bot.service.timeline(1)) logged |= e.text == "📎 graph.png, heap.hprof";
    CHECK(logged);

    // The same message under another event id: nothing twice.
    const Outcome again =
        bot.event(with_files(bot, channel, "m1", "",
                             {{"F1", "graph.png", "image/png", 100, "https://files.example/F1"}}));
    CHECK(effects_of<FetchFile>(again).empty());
    CHECK(bot.service.files(1).size() == 2);
}

TEST_CASE(
    "evidence: kept content is stored once per digest, and a download over the limit is "
    "refused and told") {
    Bot bot;
    const std::string channel = bot.declare();
    bot.event(with_files(bot, channel, "m1", "two copies",
                         {{"F1", "a.txt", "text/plain", 0, "u1"},
                          {"F2", "b.txt", "text/plain", 0, "u2"},
                          {"F3", "big.bin", "", 0, "u3"}}));
    const auto files = bot.service.files(1);
    REQUIRE(files.size() == 3);
    const std::string sha(64, 'c');
    CHECK(bot.service.keep_file(files[0].id, "same", sha).status == FileStatus::stored);
    CHECK(bot.service.keep_file(files[1].id, "same", sha).status == FileStatus::stored);
    CHECK(bot.service.file(files[0].id)->sha256 == sha);
    CHECK(bot.service.file(files[0].id)->size == 4);
    CHECK(bot.service.file_content(*bot.service.file(files[1].id)) == std::string("same"));
    // Kept already: a second download changes nothing.
    CHECK(bot.service.keep_file(files[0].id, "other", std::string(64, 'd')).sha256 == sha);

    const std::string big(static_cast<std::size_t>(bot.service.file_max_bytes()) + 1, 'x');
    const EvidenceFile refused = bot.service.keep_file(files[2].id, big, std::string(64, 'e'));
    CHECK(refused.status == FileStatus::too_large);
    CHECK(refused.sha256.empty());
    CHECK_FALSE(bot.store.content(std::string(64, 'e')).has_value());

    // What the platform says later (Mattermost's info) can refuse a pending file too.
    bot.event(with_files(bot, channel, "m2", "later", {{"F4", "", "", 0, "u4"}}));
    const auto pending = bot.service.files(1).back();
    CHECK(pending.name == "file");
    SharedFile info;
    info.name = "dump.core";
    info.size = bot.service.file_max_bytes() + 10;
    const EvidenceFile described = bot.service.describe_file(pending.id, info);
    CHECK(described.status == FileStatus::too_large);
    CHECK(described.name == "dump.core");

    bot.service.file_failed(files[0].id, "HTTP 404");  // stored files stay stored
    CHECK(bot.service.file(files[0].id)->status == FileStatus::stored);

    // The post-mortem lists them, names as literal text.
    const std::string md = render_postmortem(bot.service.snapshot(1));
    CHECK(md.find("## Evidence") != std::string::npos);
    CHECK(md.find("not kept (") != std::string::npos);
    CHECK(md.find("/incidents/INC-1/files/" + std::to_string(files[0].id)) != std::string::npos);
}

TEST_CASE("evidence: a post-mortem shows a file name as text, never as a link or markup") {
    Bot bot;
    const std::string channel = bot.declare();
    bot.event(with_files(bot, channel, "m1", "see",
                         {{"F1", "[x](javascript:alert(1)) <b>|", "text/plain", 1, "u"}}));
    const std::string md = render_postmortem(bot.service.snapshot(1));
    CHECK(md.find("\\[x\\]\\(javascript:alert\\(1\\)\\) \\<b\\>\\|") != std::string::npos);
}

TEST_CASE("evidence: FetchFile goes through the outbox as JSON and back") {
    const Effect effect = FetchFile{7, 42};
    CHECK(kind_of(effect) == "fetch_file");
    const auto back = effect_from_json(effect_to_json(effect));
    REQUIRE(back);
    REQUIRE(std::holds_alternative<FetchFile>(*back));
    CHECK(std::get<FetchFile>(*back).incident == 7);
    CHECK(std::get<FetchFile>(*back).file == 42);
}

TEST_CASE("evidence: INCIDENT_BOT_FILE_MAX_BYTES takes bytes or KB, MB, GB") {
    const auto load = [](std::string value) {
        return load_config([value](const std::string& name) -> std::optional<std::string> {
            if (name == "INCIDENT_BOT_FILE_MAX_BYTES") return value;
            return std::nullopt;
        });
    };
    CHECK(load_config([](const std::string&) {
              return std::optional<std::string>();
          }).config.file_max_bytes == 25 * 1024 * 1024);
    CHECK(load("1000").config.file_max_bytes == 1000);
    CHECK(load("10MB").config.file_max_bytes == 10 * 1024 * 1024);
    CHECK(load(" 2 kb ").config.file_max_bytes == 2048);
    for (const char* bad : {"0", "-5", "lots", "3GB", "1.5MB"}) {
        CAPTURE(bad);
        const auto r = load(bad);
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].text().find("INCIDENT_BOT_FILE_MAX_BYTES") != std::string::npos);
    }
}

TEST_CASE(
    "evidence: downloads have a lane of their own, so a refused file never holds back "
    "the incident's posts") {
    Bot bot;
    bot.declare();
    Outbox outbox(bot.store, bot.clock);
    outbox.add_chat_sink("test");
    CHECK(outbox.write_now(FetchFile{1, 5}, "test") == 1);
    CHECK(outbox.write_now(PostMessage{ToIncident{1}, "hello"}, "test") == 1);
    const auto pending = outbox.pending("test");
    REQUIRE(pending.size() == 2);
    CHECK(pending[0].kind == "fetch_file");
    CHECK(pending[0].incident == file_lane(1));
    CHECK(incident_of_lane(pending[0].incident) == 1);
    CHECK(pending[1].incident == 1);
}
