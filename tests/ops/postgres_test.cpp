#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

#include "pg_server.hpp"
#include "process.hpp"

// Every sub-command on PostgreSQL, through the real binary, the way an operator meets it.
using namespace incident::testing;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

const std::string k_script =
    std::string(INCIDENT_BOT_SOURCE_DIR) + "/tests/e2e/incident_script.txt";
// Trust authentication ignores it, so the bot connects; it must still show up nowhere.
const std::string k_password = "pg-Secret-4711";

std::string url_with_password(const PgServer& server, const std::string& database) {
    std::string url = server.tcp_url(database);
    return url.insert(url.find('@'), ":" + k_password);
}

// Polls the child's stderr until `text` appears or 10 s pass.
bool wait_for_log(Process& process, const std::string& text) {
    for (int i = 0; i < 400 && !has(process.err(), text); ++i) {
        std::this_thread::sleep_for(milliseconds(25));
    }
    return has(process.err(), text);
}

}  // namespace

TEST_CASE("postgres: console, export, doctor, backup and restore on INCIDENT_BOT_DATABASE_URL") {
    TempDir dir("pg-commands");
    PgDatabase db;
    const std::vector<std::string> env{
        "INCIDENT_BOT_LISTEN=127.0.0.1:0",
        "INCIDENT_BOT_DATABASE_URL=" + url_with_password(PgServer::shared(), db.name())};
    Run r = run_binary({"console"}, env, dir.path, k_script);
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    CHECK(has(r.out, "INC-1 declared (SEV2, major): Checkout returns 502s"));
    CHECK(has(r.out, "INC-2 declared (SEV4, minor)"));
    // Nothing of SQLite was created.
    CHECK_FALSE(fs::exists(dir.path / "incident-bot.db"));
    CHECK_FALSE(has(r.out + r.err, k_password));

    r = run_binary({"export", "INC-1", "--format", "md"}, env, dir.path);
    CHECK(r.status == 0);
    CHECK(has(r.out, "# INC-1: Checkout returns 502s"));
    CHECK(has(r.out, "| Incident commander | @alice |"));
    r = run_binary({"export", "INC-9"}, env, dir.path);
    CHECK(r.status == 1);
    CHECK(has(r.err, "INC-9 does not exist"));

    r = run_binary({"doctor"}, env, dir.path);
    CAPTURE(r.out);
    CHECK(check_line(r.out, "database.connect").starts_with("ok"));
    CHECK(has(check_line(r.out, "database.connect"), "2 incident(s)"));
    CHECK(check_line(r.out, "database.schema").starts_with("ok"));
    CHECK(check_line(r.out, "database.writable").starts_with("ok"));
    CHECK(check_line(r.out, "database.file").empty());
    CHECK_FALSE(has(r.out + r.err, k_password));

    for (const std::string command : {"backup", "restore"}) {
        r = run_binary({command, (dir.path / "copy.db").string()}, env, dir.path);
        CHECK(r.status == 1);
        CHECK(has(r.err, "pg_dump"));
        CHECK(has(r.err, "nothing was done"));
        CHECK_FALSE(fs::exists(dir.path / "copy.db"));
        CHECK_FALSE(has(r.out + r.err, k_password));
    }
}

TEST_CASE("postgres: doctor explains a server it cannot reach, without the password") {
    TempDir dir("pg-doctor");
    const std::vector<std::string> env{"INCIDENT_BOT_LISTEN=127.0.0.1:0",
                                       "INCIDENT_BOT_DATABASE_URL=postgresql://bot:" + k_password +
                                           "@127.0.0.1:" + std::to_string(free_port()) +
                                           "/incidents"};
    Run r = run_binary({"doctor"}, env, dir.path);
    CAPTURE(r.out);
    CHECK(r.status == 1);
    CHECK(check_line(r.out, "database.connect").starts_with("error"));
    CHECK(has(r.out, "INCIDENT_BOT_DATABASE_URL"));
    CHECK_FALSE(has(r.out + r.err, k_password));

    r = run_binary({"console"}, env, dir.path, k_script);
    CHECK(r.status == 1);
    CHECK(has(r.err, "cannot connect to PostgreSQL"));
    CHECK_FALSE(has(r.out + r.err, k_password));
}

TEST_CASE("postgres: healthcheck fails while the server is down and passes again after") {
    TempDir dir("pg-health");
    PgServer server;  // this test's own: it is stopped half-way
    const std::string listen = "127.0.0.1:" + std::to_string(free_port());
    const std::vector<std::string> env{
        "INCIDENT_BOT_LISTEN=" + listen,
        "INCIDENT_BOT_DATABASE_URL=" + url_with_password(server, server.create_database())};
    ProcessOptions options;
    options.args = {"console"};
    options.env = env;
    options.stdin_pipe = true;
    options.out = dir.path / "bot.out";
    options.err = dir.path / "bot.err";
    Process bot(k_binary, options);
    REQUIRE_MESSAGE(wait_for_log(bot, "dashboard:"), bot.err());

    Run r = run_binary({"healthcheck"}, env, dir.path);
    CAPTURE(r.out);
    CHECK(r.status == 0);
    CHECK(has(r.out, "\"engine\":\"postgresql\""));

    server.stop();
    r = run_binary({"healthcheck"}, env, dir.path);
    CHECK(r.status == 1);
    CHECK(has(r.out, "unhealthy"));
    CHECK_FALSE(has(r.out, k_password));

    // Back without restarting the bot.
    server.start();
    r = run_binary({"healthcheck"}, env, dir.path);
    CHECK(r.status == 0);
    CHECK(bot.running());
    bot.close_stdin();
    CHECK(bot.wait_blocking(milliseconds(10'000)) == 0);
    CHECK_FALSE(has(bot.err() + bot.out(), k_password));
}
