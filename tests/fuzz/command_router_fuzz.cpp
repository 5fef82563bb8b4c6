#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "bot/clock.hpp"
#include "bot/export_json.hpp"
#include "bot/incident_service.hpp"
#include "bot/postmortem.hpp"
#include "commands/router.hpp"
#include "fuzz_check.hpp"
#include "storage/sqlite_store.hpp"

using namespace incident;
using incident::fuzz::require;

namespace {

constexpr std::size_t k_max_lines = 48;
const Actor k_people[] = {{"U1", "alice"}, {"U2", "bob"}, {"U3", "carol"}};

// A fresh bot per input, so that a finding replays from its input alone.
struct Bot {
    SqliteStore store{":memory:"};
    ManualClock clock{1'800'000'000'000};
    IncidentService service{store, clock};
    commands::CommandRouter router{service};
    std::string incident_channel = "CGENERAL";

    Bot() { commands::register_builtin_commands(router); }

    // Everything stored, as the export has it.
    std::string state() {
        std::string all;
        for (const auto& incident : service.list(true))
            all += to_json(service.snapshot(incident.number)).dump();
        return all;
    }

    void run_effects(const Outcome& out) {
        for (const auto& effect : out.effects) {
            if (const auto* create = std::get_if<CreateChannel>(&effect)) {
                incident_channel = "C" + std::to_string(create->incident);
                service.bind_channel(create->incident, "fuzz", incident_channel, create->name);
            }
        }
    }
};

}  // namespace

// Each line is a slash command (a leading "/incident" is dropped), sent in turn from the
// last incident's channel and from #general; lines that are not commands are also said in
// the incident channel, so the TODO capture runs on them. Every command is then sent again
// with the same request id, which must change nothing.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    Bot bot;
    for (std::size_t i = 0; i < k_max_lines && !input.empty(); ++i) {
        const auto newline = input.find('\n');
        std::string_view line = input.substr(0, newline);
        input = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
        bot.clock.advance(61'000);
        const Actor& who = k_people[i % 3];

        const bool chatter = !line.starts_with('/');
        if (line.starts_with("/incident"))
            line.remove_prefix(9);
        else if (!chatter)
            line.remove_prefix(1);

        const std::string channel = i % 2 == 0 ? bot.incident_channel : "CGENERAL";
        const CommandRequest request{
            "r" + std::to_string(i), "fuzz",         channel, "channel", who,
            std::string(line),       bot.clock.now()};
        const Outcome first = bot.router.dispatch(request);
        require(!first.reply.text.empty() || first.reply.ok, "a refusal says why");
        bot.run_effects(first);
        const Outcome again = bot.router.dispatch(request);
        require(again.effects.empty() || first.effects.empty(),
                "a resubmitted command has no effects once the first had");
        if (!first.effects.empty()) {
            require(again.duplicate && again.reply.text == first.reply.text,
                    "a resubmitted command gets the first answer");
        }

        if (chatter) {
            const MessagePosted said{
                EventHeader{"e" + std::to_string(i), "fuzz", bot.incident_channel, bot.clock.now()},
                "m" + std::to_string(i),
                "",
                who,
                std::string(line),
                false};
            const std::string before = bot.state();
            const Outcome stored = bot.service.handle_event(said);
            bot.run_effects(stored);
            const std::string after = bot.state();
            const Outcome again = bot.service.handle_event(said);
            require(again.effects.empty() && bot.state() == after,
                    "a redelivered event changes nothing");
            // A message the bot ignored (no words, no incident) needs no record of it.
            require(!stored.reply.ok || after == before || again.duplicate,
                    "a redelivered event that was stored is a duplicate");
        }
    }
    // Everything stored renders: the post-mortem and the JSON export.
    for (const auto& incident : bot.service.list(true)) {
        const IncidentSnapshot snapshot = bot.service.snapshot(incident.number);
        require(!render_postmortem(snapshot).empty(), "a post-mortem renders");
        require(!to_json(snapshot).dump().empty(), "an incident exports to JSON");
    }
    return 0;
}
