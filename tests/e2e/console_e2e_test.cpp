#include <doctest/doctest.h>

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "bot/text.hpp"

namespace {

namespace fs = std::filesystem;

struct Run {
    int status = -1;
    std::string out;
};

// Runs a shell command line with no chat platform configured and captures stdout+stderr.
Run shell(const std::string& command) {
    const std::string full =
        "env -u SLACK_BOT_TOKEN -u MATTERMOST_URL -u INCIDENT_BOT_DB "
        "INCIDENT_BOT_LISTEN=127.0.0.1:0 " +
        command + " 2>&1";
    Run run;
    FILE* pipe = ::popen(full.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) run.out.append(buf.data(), n);
    run.status = ::pclose(pipe);
    return run;
}

struct TempDb {
    fs::path dir = fs::temp_directory_path() / ("incident-e2e-" + std::to_string(::getpid()));
    fs::path db = dir / "bot.db";
    TempDb() {
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~TempDb() { fs::remove_all(dir); }
};

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

const std::string k_bin = INCIDENT_BOT_BINARY;
const std::string k_script = std::string(INCIDENT_BOT_E2E_DIR) + "/incident_script.txt";

incident::Timestamp now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// What changes from one run to the next: the times of the run itself (a review planned for
// 2099 stays), durations measured on the wall clock, and the console session id.
std::string normalize(const std::string& text, incident::Timestamp from, incident::Timestamp to) {
    static const std::regex time(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
    static const std::regex after(R"((\d+d \d+h|\d+h \d\dm|\d+m \d\ds|\d+s) after declaration)");
    static const std::regex total(
        R"(^(- (Identified → mitigated|Mitigated → resolved|Total time to resolve): ).*$)");
    static const std::regex session(R"(s\d{10,}-\d+\.)");
    std::string out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::string done;
        auto begin = std::sregex_iterator(line.begin(), line.end(), time);
        std::size_t last = 0;
        for (auto it = begin; it != std::sregex_iterator(); ++it) {
            const auto at = incident::parse_time(it->str());
            const bool of_this_run = at && *at >= from - 60'000 && *at <= to + 60'000;
            done += line.substr(last, static_cast<std::size_t>(it->position()) - last);
            done += of_this_run ? "<time>" : it->str();
            last = static_cast<std::size_t>(it->position() + it->length());
        }
        done += line.substr(last);
        done = std::regex_replace(done, after, "<duration> after declaration");
        done = std::regex_replace(done, total, "$1<duration>");
        done = std::regex_replace(done, session, "<session>.");
        out += done + "\n";
    }
    return out;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Compares with tests/golden/<name>; INCIDENT_BOT_UPDATE_GOLDEN=1 rewrites it instead.
void check_golden(const std::string& actual, const std::string& name) {
    const fs::path path = fs::path(INCIDENT_BOT_GOLDEN_DIR) / name;
    if (std::getenv("INCIDENT_BOT_UPDATE_GOLDEN")) std::ofstream(path, std::ios::binary) << actual;
    const std::string golden = read_file(path);
    REQUIRE_MESSAGE(!golden.empty(),
                    "missing " << path << "; run with INCIDENT_BOT_UPDATE_GOLDEN=1");
    CHECK(actual == golden);
}

}  // namespace

TEST_CASE("a console script drives the real binary, export gives the post-mortem and JSON") {
    TempDb tmp;
    const std::string db = "--db " + tmp.db.string();
    const incident::Timestamp started = now_ms();
    const Run console = shell(k_bin + " console " + db + " < " + k_script);
    CAPTURE(console.out);
    REQUIRE(console.status == 0);
    CHECK(has(console.out, "INC-1 declared (SEV2, major): Checkout returns 502s"));
    CHECK(has(console.out, "[#inc-1-checkout-returns-502s] Action item 1 recorded"));
    CHECK(has(console.out,
              "[#inc-1-checkout-returns-502s] Action item 2 recorded: verify the canary"));
    CHECK(has(console.out, "INC-1 resolved after"));
    CHECK(has(console.out, "INC-2 declared (SEV4, minor)"));
    CHECK(has(console.out, "INC-1 Checkout returns 502s"));
    // Each section write is confirmed in the channel.
    CHECK(has(console.out,
              "[#inc-1-checkout-returns-502s] 📝 Impact on customers of INC-1 "
              "recorded by @alice: about 30% of checkouts failed"));
    CHECK(has(console.out, "📝 Why (replaced) of INC-1 recorded as number 3 by @alice"));
    CHECK(has(console.out, "🛡 Preventive measure 4 added to INC-1"));
    CHECK(has(console.out, "🗓 Post-mortem review of INC-1 scheduled for 2099-06-01 14:00 UTC"));
    CHECK(has(console.out, "[#inc-1-checkout-returns-502s, only you] Your open action items"));
    CHECK(has(console.out, "INC-1 4. (preventive) [ ] validate the pool size"));
    CHECK_FALSE(has(console.out, "⚠"));

    const Run md = shell(k_bin + " export INC-1 --format md " + db);
    CAPTURE(md.out);
    REQUIRE(md.status == 0);
    CHECK(has(md.out, "# INC-1: Checkout returns 502s"));
    CHECK(has(md.out, "| Final severity | SEV2 (major) |"));
    CHECK(has(md.out, "| Incident commander | @alice |"));
    CHECK(has(md.out, "| Scribe | @carol |"));
    CHECK(has(md.out,
              "| key message | @bob | looks like the deploy of 4312 changed the upstream pool |"));
    CHECK(has(md.out, "investigating → identified"));
    CHECK(has(md.out, "Rollback in progress, checkout degraded"));
    CHECK(has(md.out,
              "| 1 | @bob add a guard against empty upstream pools | @bob | 2026-12-04 | done | "
              "todo_line |"));
    CHECK(
        has(md.out, "| 2 | verify the canary catches this | unassigned | — | open | todo_line |"));
    CHECK(has(md.out,
              "| 3 | page vendor about the edge errors @dave | @dave | — | open | command |"));
    CHECK(has(md.out, "Checkout returned 502s for 19 minutes after a config push emptied"));
    CHECK(has(md.out, "3. Why? a config push set the pool size to 0 and nothing checked it\n"));
    CHECK(has(md.out, "- Review meeting: 2099-06-01 14:00 UTC"));
    CHECK(has(md.out, "rolling back the config push *(edited"));
    CHECK(has(md.out, "earlier: \"rolling back the confg\""));
    CHECK(has(md.out, "~~oops wrong channel~~ *(deleted"));
    CHECK(has(md.out, "- Post-mortem owner: @carol"));
    CHECK(has(md.out, "- Due: 2026-12-07"));
    CHECK(
        has(md.out,
            "### Technical failures\n\n- a config push can empty the upstream pool *(@alice)*\n"));

    const Run json = shell(k_bin + " export INC-1 --format json " + db);
    REQUIRE(json.status == 0);
    const auto j = nlohmann::json::parse(json.out);
    CHECK(j["id"] == "INC-1");
    CHECK(j["state"] == "resolved");
    CHECK(j["final_severity"] == "SEV2");
    CHECK(j["action_items"].size() == 4);
    CHECK(j["action_items"][0]["status"] == "done");
    int messages = 0, key_messages = 0;
    for (const auto& e : j["timeline"]) {
        if (e["kind"] != "message") continue;
        ++messages;
        key_messages += e["key_event"].get<bool>();
    }
    CHECK(messages == 6);
    CHECK(key_messages == 1);
    CHECK(j["impact"]["customers"] == "about 30% of checkouts failed");
    CHECK(j["whys"].size() == 3);
    CHECK(j["review"]["at"] == "2099-06-01T14:00:00Z");
    CHECK(j["action_items"][3]["kind"] == "preventive");

    // Everything but the run's own times and ids is the same on every run.
    const incident::Timestamp finished = now_ms();
    check_golden(normalize(md.out, started, finished), "console_inc1.md");
    check_golden(normalize(j.dump(2), started, finished), "console_inc1.json");

    // The bundle from the real binary: a tar.gz that tar reads, with the same Markdown.
    const fs::path bundle = tmp.dir / "inc.tar.gz";
    REQUIRE(shell(k_bin + " export INC-1 --format bundle " + db + " > " + bundle.string()).status ==
            0);
    const Run listed = shell("tar -tzf " + bundle.string());
    REQUIRE(listed.status == 0);
    CHECK(has(listed.out, "INC-1/postmortem.md"));
    CHECK(has(listed.out, "INC-1/incident.json"));
    const Run extracted = shell("tar -xzOf " + bundle.string() + " INC-1/postmortem.md");
    CHECK(extracted.out == md.out);
    // The same script again (a restart, a new session) adds to the same database.
    const Run again = shell(k_bin + " console " + db + " < " + k_script);
    REQUIRE(again.status == 0);
    CHECK(has(again.out, "INC-3 declared"));
    // INC-2 is still open: the same person declaring it again moments later is a double submit.
    CHECK(has(again.out, "You already declared INC-2"));
    const auto j2 = nlohmann::json::parse(shell(k_bin + " export INC-1 --format json " + db).out);
    CHECK(j2["action_items"].size() == 4);
}

TEST_CASE("the CLI refuses bad arguments and unknown incidents with a clear message") {
    TempDb tmp;
    const std::string db = " --db " + tmp.db.string();
    Run r = shell(k_bin + " export INC-9" + db);
    CHECK(r.status != 0);
    CHECK(has(r.out, "INC-9 does not exist"));
    r = shell(k_bin + " export INC-1 --format pdf" + db);
    CHECK(WEXITSTATUS(r.status) == 2);
    CHECK(has(r.out, "--format must be md, json or bundle"));
    r = shell(k_bin + " export banana" + db);
    CHECK(WEXITSTATUS(r.status) == 2);
    r = shell(k_bin + " --frobnicate");
    CHECK(WEXITSTATUS(r.status) == 2);
    CHECK(has(r.out, "unexpected argument `--frobnicate`"));
    r = shell("INCIDENT_BOT_LISTEN=nope " + k_bin + " console" + db + " < /dev/null");
    CHECK(WEXITSTATUS(r.status) == 2);
    CHECK(has(r.out, "INCIDENT_BOT_LISTEN must be host:port"));
    r = shell("SLACK_BOT_TOKEN=xoxp-secret-value " + k_bin + db + " < /dev/null");
    CHECK(WEXITSTATUS(r.status) == 2);
    CHECK(has(r.out, "SLACK_BOT_TOKEN must be a bot token"));
    CHECK_FALSE(has(r.out, "secret-value"));
    r = shell(k_bin + " --version");
    CHECK(r.status == 0);
    CHECK(has(r.out, "incident-bot 0."));
    // The libraries the bot opens on first use, opened and named.
    CHECK(has(r.out, "libpq 1"));
    CHECK(has(r.out, "libcurl/"));
    CHECK(has(r.out, "libarchive 3"));
    CHECK(has(r.out, "cmark-gfm 0.29"));
    r = shell(k_bin + " --help");
    CHECK(has(r.out, "export INC-<n>"));
}
