#pragma once

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "../unit/fixture.hpp"
#include "adapters/web/dashboard.hpp"
#include "bot/text.hpp"

namespace incident::web::testing {

using incident::testing::Bot;

// A bot on an in-memory store with the dashboard in front of it.
struct Web {
    Bot bot;
    Metrics metrics;
    Dashboard dashboard;

    explicit Web(DashboardOptions options = {})
        : dashboard(bot.service, metrics, std::move(options)) {}

    WebResponse request(std::string method, std::string target,
                        std::map<std::string, std::string> headers = {}, std::string body = {}) {
        return dashboard.handle(WebRequest{std::move(method), std::move(target), std::move(headers),
                                           std::move(body), "127.0.0.1:50000"});
    }
    WebResponse get(std::string target, std::map<std::string, std::string> headers = {}) {
        return request("GET", std::move(target), std::move(headers));
    }
};

inline std::optional<std::string> header(const WebResponse& res, std::string_view name) {
    for (const auto& [key, value] : res.headers) {
        if (incident::to_lower(key) == incident::to_lower(name)) return value;
    }
    return std::nullopt;
}

inline bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

// Runs `script` (a validator of tests/web) on `content`, written to a temporary file ending in
// `suffix`; returns what it printed (stdout and stderr) and sets its exit status.
inline std::string run_validator(const std::string& script, const std::string& content,
                                 const std::string& suffix, int& status) {
    const std::string path = std::filesystem::temp_directory_path() /
                             ("incident-web-" + std::to_string(::getpid()) + suffix);
    std::ofstream(path, std::ios::binary) << content;
    FILE* pipe = ::popen((script + " " + path + " 2>&1").c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    char buf[512];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    status = ::pclose(pipe);
    std::filesystem::remove(path);
    return out;
}

// A complete incident, built the way chat would build it: roles, chatter, a key event, an
// edit, a deletion, TODO lines, state changes and a resolution.
inline void play_incident(Bot& bot, const std::string& title = "Checkout returns 502s") {
    const std::string ch = bot.declare(title, "alice");
    bot.clock.advance(60'000);
    bot.say(ch, ch + "-m1", "502s from the edge since 09:58", "bob");
    bot.command("role scribe @carol", "alice", ch);
    bot.clock.advance(120'000);
    bot.say(ch, ch + "-m2", "config push set the upstream pool size to 0", "dave");
    bot.event(
        ReactionChanged{bot.header(ch), ch + "-m2", "pushpin", Actor{"U-carol", "carol"}, true});
    bot.command("status identified", "alice", ch);
    bot.clock.advance(60'000);
    bot.say(ch, ch + "-m3", "TODO: @dave add a guard for empty pools due:2026-12-04", "dave");
    bot.say(ch, ch + "-m4", "rolling back the config", "dave");
    bot.event(MessageEdited{bot.header(ch), ch + "-m4", "rolling back config push 4312"});
    bot.say(ch, ch + "-m5", "wrong channel, sorry", "erin");
    bot.event(MessageDeleted{bot.header(ch), ch + "-m5"});
    bot.clock.advance(300'000);
    bot.command("status monitoring", "alice", ch);
    bot.clock.advance(600'000);
    const Outcome out = bot.command("resolve sev2 Config push emptied the pool.", "alice", ch);
    REQUIRE_MESSAGE(out.reply.ok, out.reply.text);
}

}  // namespace incident::web::testing
