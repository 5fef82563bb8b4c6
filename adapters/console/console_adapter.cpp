#include "adapters/console/console_adapter.hpp"

#include "bot/rich_text.hpp"

#include "bot/text.hpp"
#include "commands/parser.hpp"

namespace incident {

namespace {

constexpr std::string_view k_console_help =
    "Console commands (everything else is chat in the current channel):\n"
    "  /incident <command>      incident-bot itself; /incident help lists its commands\n"
    "  /as <name>               speak as another person\n"
    "  /join <channel>          switch channel, e.g. /join inc-1-checkout-down\n"
    "  /reply <n> <text>        reply in the thread of message n\n"
    "  /edit <n> <text>         edit message n\n"
    "  /delete <n>              delete message n\n"
    "  +:pushpin: <n>           react to message n (-:pushpin: <n> removes it)\n"
    "  /help                    this list;  /quit (or end of input) leaves";

std::string strip_hash(std::string_view channel) {
    if (channel.starts_with('#')) channel.remove_prefix(1);
    return std::string(channel);
}

}  // namespace

ConsoleAdapter::ConsoleAdapter(IncidentService& service, commands::CommandRouter& router,
                               std::ostream& out, std::string announce_channel,
                               std::string session_id)
    : service_(service),
      router_(router),
      out_(out),
      announce_channel_(std::move(announce_channel)),
      session_(std::move(session_id)) {}

void ConsoleAdapter::begin(bool interactive) {
    if (!interactive) return;
    out_ << "incident-bot console. Type /help for console commands, /incident help for "
            "the bot's.\n";
    show_prompt();
}

void ConsoleAdapter::show_prompt() {
    out_ << prompt() << std::flush;
}

void ConsoleAdapter::run(std::istream& in, bool interactive) {
    begin(interactive);
    std::string line;
    while (std::getline(in, line) && handle_line(line)) {
        if (interactive) show_prompt();
    }
    out_.flush();
}

std::string ConsoleAdapter::prompt() const {
    return user_ + " in #" + channel_ + " (next message #" + std::to_string(messages_ + 1) + ")> ";
}

std::string ConsoleAdapter::message_id(int number) const {
    return session_ + "." + std::to_string(number);
}

EventHeader ConsoleAdapter::next_header() {
    return EventHeader{session_ + ".e" + std::to_string(++events_), std::string(k_platform),
                       channel_, service_.now()};
}

bool ConsoleAdapter::handle_line(const std::string& raw) {
    std::string line = raw;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string_view text = trim(line);
    if (text.empty()) return true;
    if (text == "/quit" || text == "/exit") return false;
    if (text.starts_with("/incident")) {
        const std::string_view rest = text.substr(9);
        if (!rest.empty() && rest[0] != ' ' && rest[0] != '\t') {
            console_command(std::string(text));
            return true;
        }
        CommandRequest request{session_ + ".c" + std::to_string(++events_),
                               std::string(k_platform),
                               channel_,
                               channel_,
                               Actor{user_, user_},
                               std::string(trim(rest)),
                               service_.now()};
        apply(router_.dispatch(request), true);
        return true;
    }
    if (text.starts_with('/')) {
        console_command(std::string(text));
    } else if ((text.starts_with("+:") || text.starts_with("-:"))) {
        react(std::string(text));
    } else {
        chat(std::string(text), {});
    }
    return true;
}

void ConsoleAdapter::chat(const std::string& text, const std::string& thread_of) {
    const int number = ++messages_;
    MessagePosted posted{next_header(), message_id(number), thread_of, Actor{user_, user_}, text,
                         false};
    apply(service_.handle_event(posted), false);
}

void ConsoleAdapter::react(const std::string& line) {
    const commands::Args args(line);
    const std::string_view emoji = args[0];
    const auto close = emoji.find(':', 2);
    const auto number = args.size() == 2 ? commands::parse_positive_int(args[1]) : std::nullopt;
    if (close == std::string_view::npos || close != emoji.size() - 1 || close == 2 || !number ||
        *number > messages_) {
        print("console", "usage: +:emoji: <message number>, e.g. +:pushpin: 3 (messages so far: " +
                             std::to_string(messages_) + ")");
        return;
    }
    ReactionChanged reaction{next_header(), message_id(*number),
                             std::string(emoji.substr(2, close - 2)), Actor{user_, user_},
                             emoji[0] == '+'};
    apply(service_.handle_event(reaction), false);
}

void ConsoleAdapter::console_command(const std::string& line) {
    const commands::Args args(line);
    const std::string name = to_lower(args[0]);
    const auto number = args.size() > 1 ? commands::parse_positive_int(args[1]) : std::nullopt;
    const bool known_message = number && *number <= messages_;
    if (name == "/help") {
        print("console", std::string(k_console_help));
    } else if (name == "/as" && args.size() == 2) {
        user_ = std::string(args[1].starts_with('@') ? args[1].substr(1) : args[1]);
    } else if (name == "/join" && args.size() == 2) {
        channel_ = strip_hash(args[1]);
    } else if (name == "/edit" && known_message && args.size() > 2) {
        MessageEdited edited{next_header(), message_id(*number), std::string(args.rest(2))};
        apply(service_.handle_event(edited), false);
    } else if (name == "/delete" && known_message && args.size() == 2) {
        apply(service_.handle_event(MessageDeleted{next_header(), message_id(*number)}), false);
    } else if (name == "/reply" && known_message && args.size() > 2) {
        chat(std::string(args.rest(2)), message_id(*number));
    } else if (name == "/edit" || name == "/delete" || name == "/reply") {
        print("console", "usage: " + name + " <message number" +
                             (name == "/delete" ? ">" : "> <text>") +
                             " (messages so far: " + std::to_string(messages_) + ")");
    } else {
        print("console", "Unknown console command `" + std::string(args[0]) +
                             "`. /help lists them; /incident help lists the bot's commands.");
    }
}

void ConsoleAdapter::apply(const Outcome& outcome, bool is_command) {
    const Reply& reply = outcome.reply;
    const std::string where = reply.visibility == Reply::Visibility::in_channel
                                  ? "#" + channel_
                                  : "#" + channel_ + ", only you";
    if (!reply.text.empty() && (is_command || !reply.ok)) {
        print(where, (reply.ok ? "" : "⚠ ") + reply.text);
    }
    for (const auto& effect : outcome.effects) execute(effect);
}

void ConsoleAdapter::execute(const Effect& effect) {
    if (const auto* create = std::get_if<CreateChannel>(&effect)) {
        service_.bind_channel(create->incident, std::string(k_platform), create->name,
                              create->name);
        print("console", "channel #" + create->name + " created; you are now in it");
        channel_ = create->name;
    } else if (const auto* post = std::get_if<PostMessage>(&effect)) {
        std::string where;
        if (const auto* c = std::get_if<ToChannel>(&post->to)) where = "#" + c->channel_id;
        if (const auto* i = std::get_if<ToIncident>(&post->to)) {
            const auto inc = service_.find(i->number);
            where = "#" + (inc ? inc->channel_id : incident_key(i->number));
        }
        if (std::holds_alternative<ToAnnouncements>(post->to)) where = "#" + announce_channel_;
        if (const auto* u = std::get_if<ToUser>(&post->to)) where = "DM @" + u->who.name;
        print(where, post->text);
    } else if (const auto* topic = std::get_if<SetTopic>(&effect)) {
        const auto inc = service_.find(topic->incident);
        print("#" + (inc ? inc->channel_id : incident_key(topic->incident)),
              "topic: " + topic->topic);
    }
}

void ConsoleAdapter::print(const std::string& where, const std::string& text) {
    out_ << "[" << where << "] ";
    for (const char c : render_emphasis(text, "", "")) {
        out_ << c;
        if (c == '\n') out_ << "    ";
    }
    // Flushed per line: what happens without a typed line (alerts, reminders) must show at
    // once, also when the output goes to a pipe or a file.
    out_ << std::endl;
}

}  // namespace incident
