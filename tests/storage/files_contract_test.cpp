#include <doctest/doctest.h>

#include <filesystem>

#include "engines.hpp"
#include "samples.hpp"

// Evidence files on every engine: the rows, and their content once per SHA-256.
using namespace incident;
using namespace incident::testing;

namespace {

// Any 64 hex digits name content here: the store trusts the digest its caller computed.
const std::string k_png_sha(64, 'a');
const std::string k_text_sha = std::string(63, 'b') + "c";

EvidenceFile shared(std::int64_t incident, std::string source_id, std::string name) {
    EvidenceFile f;
    f.incident = incident;
    f.platform = "slack";
    f.source_id = std::move(source_id);
    f.source_url = "https://files.slack.com/files-pri/T1-F1/download/x";
    f.message_id = "1700000000.000100";
    f.name = std::move(name);
    f.mime_type = "image/png";
    f.size = 4;
    f.shared_by = {"U1", "Ünïcode \"scribe\""};
    f.shared_at = 7'000;
    return f;
}

}  // namespace

TEST_SUITE("store contract") {
    TEST_CASE_TEMPLATE("files keep every field and their content once per digest", E, SqliteEngine,
                       PostgresEngine) {
        E engine;
        const auto opened = engine.open();
        Store& store = *opened;
        Incident a = minimal_incident("a");
        Incident b = minimal_incident("b");
        store.insert_incident(a);
        store.insert_incident(b);
        CHECK(store.files(a.number).empty());
        CHECK_FALSE(store.file(1).has_value());

        EvidenceFile png = shared(a.number, "F1", "../../etc/passwd <b>");
        EvidenceFile text = shared(a.number, "F2", "log.txt");
        text.mime_type = "text/plain";
        EvidenceFile other = shared(b.number, "F1", "same id, other incident");
        CHECK(store.add_file(png));
        CHECK(store.add_file(text));
        CHECK(store.add_file(other));
        CHECK(png.id > 0);
        CHECK(text.id > png.id);
        // The same platform file on the same incident is one record.
        EvidenceFile again = shared(a.number, "F1", "redelivered");
        CHECK_FALSE(store.add_file(again));
        CHECK(again.id == 0);

        auto of_a = store.files(a.number);
        REQUIRE(of_a.size() == 2);
        CHECK(of_a[0].id == png.id);
        CHECK(of_a[0].incident == a.number);
        CHECK(of_a[0].platform == "slack");
        CHECK(of_a[0].source_id == "F1");
        CHECK(of_a[0].source_url == png.source_url);
        CHECK(of_a[0].message_id == png.message_id);
        CHECK(of_a[0].name == "../../etc/passwd <b>");
        CHECK(of_a[0].mime_type == "image/png");
        CHECK(of_a[0].size == 4);
        CHECK(of_a[0].sha256.empty());
        CHECK(of_a[0].shared_by == png.shared_by);
        CHECK(of_a[0].shared_at == 7'000);
        CHECK(of_a[0].status == FileStatus::pending);
        CHECK(of_a[1].mime_type == "text/plain");

        // Binary content with NULs and high bytes comes back byte for byte.
        const std::string bytes("\x89PNG\0\r\n\xff", 8);
        store.put_content(k_png_sha, bytes);
        store.put_content(k_png_sha, bytes);  // the same digest twice is one content
        png.sha256 = k_png_sha;
        png.size = static_cast<std::int64_t>(bytes.size());
        png.status = FileStatus::stored;
        store.update_file(png);
        text.status = FileStatus::failed;
        text.error = "HTTP 404: file_not_found";
        store.update_file(text);
        const auto stored = store.file(png.id);
        REQUIRE(stored);
        CHECK(stored->status == FileStatus::stored);
        CHECK(stored->sha256 == k_png_sha);
        CHECK(stored->size == 8);
        CHECK(store.file(text.id)->error == "HTTP 404: file_not_found");
        CHECK(store.file(text.id)->status == FileStatus::failed);
        // Recorded before its message was known (Slack's file_shared): the message is set later.
        EvidenceFile alone = shared(a.number, "F4", "file");
        alone.message_id.clear();
        alone.source_url.clear();
        REQUIRE(store.add_file(alone));
        CHECK(store.file(alone.id)->message_id.empty());
        alone.message_id = "1700000000.000200";
        store.update_file(alone);
        CHECK(store.file(alone.id)->message_id == "1700000000.000200");
        CHECK(store.file(alone.id)->source_url.empty());
        REQUIRE(store.content(k_png_sha));
        CHECK(*store.content(k_png_sha) == bytes);
        CHECK_FALSE(store.content(k_text_sha).has_value());
        CHECK_FALSE(store.content("../../etc/passwd").has_value());
        CHECK_THROWS(store.update_file(shared(a.number, "F9", "never added")));

        // A rolled-back row leaves nothing.
        CHECK_THROWS(store.transaction([&] {
            EvidenceFile gone = shared(a.number, "F3", "gone");
            store.add_file(gone);
            throw std::runtime_error("abort");
        }));
        CHECK(store.files(a.number).size() == 3);
        // Reopened: rows and content are still there.
        const auto reopened = engine.open();
        CHECK(reopened->files(a.number).size() == 3);
        CHECK(reopened->content(k_png_sha) == bytes);
    }
}

TEST_CASE("SQLite keeps file contents in a folder beside the database, once per digest") {
    SqliteEngine engine;
    const auto store = engine.open();
    store->put_content(k_png_sha, "first");
    store->put_content(k_png_sha, "first");
    const std::filesystem::path folder = engine.db.path() + ".files";
    REQUIRE(std::filesystem::is_directory(folder));
    std::size_t entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(folder)) {
        ++entries;
        CHECK(e.path().filename() == k_png_sha);  // no temporary file left behind
    }
    CHECK(entries == 1);
    CHECK(std::filesystem::file_size(folder / k_png_sha) == 5);
    // A name that is not a digest never becomes a path.
    CHECK_THROWS(store->put_content("../escape", "x"));
    CHECK_FALSE(std::filesystem::exists(engine.db.path() + ".files/../escape"));
}
