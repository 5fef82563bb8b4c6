#include "commands/router.hpp"

#include "bot/text.hpp"

namespace incident::commands {

namespace {

Outcome error(std::string text) {
    Outcome out;
    out.reply = Reply{false, Reply::Visibility::ephemeral, std::move(text)};
    return out;
}

}  // namespace

std::string usage_of(const CommandSpec& spec) {
    return "/incident " + spec.name + (spec.usage.empty() ? "" : " " + spec.usage);
}

void CommandRouter::add(CommandSpec spec) {
    commands_.push_back(std::move(spec));
}

const CommandSpec* CommandRouter::find(const std::string& name) const {
    for (const auto& spec : commands_) {
        if (spec.name == name) return &spec;
        for (const auto& alias : spec.aliases) {
            if (alias == name) return &spec;
        }
    }
    return nullptr;
}

std::optional<std::string> CommandRouter::suggestion(const std::string& name) const {
    std::optional<std::string> best;
    std::size_t best_distance = 3;
    for (const auto& spec : commands_) {
        const std::size_t d = edit_distance(name, spec.name);
        if (d < best_distance) {
            best_distance = d;
            best = spec.name;
        }
    }
    return best;
}

std::string CommandRouter::help() const {
    std::string out = "*incident-bot commands*\n";
    for (const auto& spec : commands_) {
        out += "`" + usage_of(spec) + "` — " + spec.summary + "\n";
    }
    out +=
        "Commands about \"this incident\" work in its channel; elsewhere add INC-<n> after "
        "the command, e.g. `/incident info INC-7`.";
    return out;
}

Outcome CommandRouter::dispatch(const CommandRequest& request) {
    if (!is_valid_utf8(request.text)) {
        return error("The command is not valid UTF-8 text; nothing was done.");
    }
    if (request.text.size() > k_max_command_bytes) {
        return error("The command is longer than " + std::to_string(k_max_command_bytes) +
                     " bytes; put long text in the channel instead.");
    }
    const ParsedLine line = split_command(request.text);
    if (line.name.empty()) {
        Outcome out;
        out.reply.text = help();
        return out;
    }
    const CommandSpec* spec = find(line.name);
    if (spec == nullptr) {
        std::string text = "Unknown command `" + line.name + "`.";
        if (const auto guess = suggestion(line.name)) text += " Did you mean `" + *guess + "`?";
        return error(text + " `/incident help` lists the commands.");
    }

    Args args(line.rest);
    std::optional<std::int64_t> named;
    if (spec->scope != Scope::none && !args.empty()) {
        if (const auto number = parse_incident_key(args[0])) {
            // merge INC-2 inside an incident channel names the primary, not the target.
            const bool second_is_key = args.size() > 1 && parse_incident_key(args[1]);
            if (!spec->takes_incident_argument || second_is_key) {
                named = number;
                args = args.shifted();
            }
        }
    }

    // Without a request id there is nothing to deduplicate on.
    const std::string key =
        request.request_id.empty() ? "" : request.platform + ":cmd:" + request.request_id;
    return service_.execute(
        key,
        [&]() -> Reply {
            CommandContext ctx{service_, request, args, std::nullopt};
            if (named) {
                ctx.incident = service_.require(*named);
            } else if (spec->scope != Scope::none) {
                ctx.incident = service_.find_by_channel(request.platform, request.channel_id);
                if (!ctx.incident && spec->scope == Scope::incident) {
                    throw DomainError("This is not an incident channel: run `" + usage_of(*spec) +
                                      "` in the incident's channel, or name the incident, e.g. "
                                      "`/incident " +
                                      spec->name + " INC-7" +
                                      (spec->usage.empty() ? "" : " " + spec->usage) + "`.");
                }
            }
            return spec->handler(ctx);
        },
        request.platform);
}

}  // namespace incident::commands
