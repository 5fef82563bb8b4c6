#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>

#include "bot/events.hpp"
#include "bot/incident_service.hpp"
#include "commands/router.hpp"

namespace incident {

// One local "workspace" on stdin/stdout: every incident gets its own channel, lines are chat
// in the current channel, `/incident ...` lines are commands, and a few console commands
// stand in for what a chat client's buttons do (switch user or channel, react, edit).
class ConsoleAdapter {
public:
    static constexpr std::string_view k_platform = "console";

    ConsoleAdapter(IncidentService& service, commands::CommandRouter& router, std::ostream& out,
                   std::string announce_channel, std::string session_id);

    // Reads until EOF or /quit. `interactive` shows a prompt.
    void run(std::istream& in, bool interactive);
    // Returns false when the user asked to quit.
    bool handle_line(const std::string& line);
    // For callers that read lines themselves: the greeting, and the prompt after a line.
    void begin(bool interactive);
    void show_prompt();
    // An effect that did not come from the console (reminders, digests).
    void deliver(const Effect& effect) { execute(effect); }

    const std::string& channel() const { return channel_; }
    const std::string& user() const { return user_; }

private:
    void chat(const std::string& text, const std::string& thread_of);
    void console_command(const std::string& line);
    void react(const std::string& line);
    void apply(const Outcome& outcome, bool is_command);
    void execute(const Effect& effect);
    void print(const std::string& where, const std::string& text);
    std::string message_id(int number) const;
    EventHeader next_header();
    std::string prompt() const;

    IncidentService& service_;
    commands::CommandRouter& router_;
    std::ostream& out_;
    std::string announce_channel_;
    std::string session_;
    std::string user_ = "you";
    std::string channel_ = "general";
    int messages_ = 0;
    int events_ = 0;
};

}  // namespace incident
