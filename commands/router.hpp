#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bot/events.hpp"
#include "bot/incident_service.hpp"
#include "commands/parser.hpp"

namespace incident::commands {

// The longest command text the router accepts, in bytes.
inline constexpr std::size_t k_max_command_bytes = 4000;

// Which incident a command acts on.
enum class Scope {
    none,               // declare, list, help, ...
    incident,           // "this incident": its channel, or a leading INC-<n>
    optional_incident,  // subscribe: an incident if one is in context, else none
};

struct CommandContext {
    IncidentService& service;
    const CommandRequest& request;
    Args args;
    std::optional<Incident> incident;

    Incident& target() { return *incident; }
    const Actor& caller() const { return request.caller; }
    Timestamp at() const { return request.at; }
};

using Handler = std::function<Reply(CommandContext&)>;

struct CommandSpec {
    std::string name;
    std::string usage;    // arguments, e.g. "<state>"
    std::string summary;  // one line for /incident help
    Scope scope = Scope::none;
    Handler handler;
    std::vector<std::string> aliases = {};
    bool takes_incident_argument = false;  // merge INC-<n>: its own argument is an incident
};

// Parses "/incident ..." text and runs the matching handler exactly once per request.
class CommandRouter {
public:
    explicit CommandRouter(IncidentService& service) : service_(service) {}

    void add(CommandSpec spec);
    Outcome dispatch(const CommandRequest& request);
    std::string help() const;
    const std::vector<CommandSpec>& commands() const { return commands_; }

private:
    const CommandSpec* find(const std::string& name) const;
    std::optional<std::string> suggestion(const std::string& name) const;

    IncidentService& service_;
    std::vector<CommandSpec> commands_;
};

// Usage line for error messages: "/incident status <state>".
std::string usage_of(const CommandSpec& spec);

// Every built-in /incident subcommand (handlers.cpp).
void register_builtin_commands(CommandRouter& router);

}  // namespace incident::commands
