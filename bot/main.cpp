#include <unistd.h>

#include <chrono>
#include <csignal>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

#include "adapters/console/console_adapter.hpp"
#include "adapters/mattermost/mattermost_adapter.hpp"
#include "adapters/net/http_server.hpp"
#include "adapters/net/observer.hpp"
#include "adapters/net/tls_context.hpp"
#include "adapters/slack/slack_adapter.hpp"
#include "adapters/notify/notifier.hpp"
#include "adapters/notify/reminder_timer.hpp"
#include "adapters/web/dashboard.hpp"
#include "bot/clock.hpp"
#include "bot/config.hpp"
#include "bot/export_json.hpp"
#include "bot/incident_service.hpp"
#include "bot/postmortem.hpp"
#include "bot/reminders.hpp"
#include "bot/text.hpp"
#include "commands/router.hpp"
#include "storage/sqlite_store.hpp"

namespace {

using namespace incident;

constexpr const char* k_usage =
    "incident-bot " INCIDENT_BOT_VERSION
    ": incident response from Slack, Mattermost or a local console\n"
    "\n"
    "usage:\n"
    "  incident-bot [--db PATH]                 run the bot (the console when no chat platform\n"
    "                                           is configured)\n"
    "  incident-bot console [--db PATH]         a local chat console on stdin/stdout\n"
    "  incident-bot export INC-<n> [--format md|json] [--db PATH]\n"
    "                                           print a post-mortem draft (md) or an incident\n"
    "  incident-bot --help | --version\n"
    "\n"
    "Configuration comes from the environment: INCIDENT_BOT_DB, INCIDENT_BOT_LISTEN,\n"
    "INCIDENT_BOT_PUBLIC_URL, INCIDENT_BOT_ANNOUNCE_CHANNEL, INCIDENT_BOT_CA_FILE,\n"
    "SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, MATTERMOST_URL,\n"
    "MATTERMOST_TOKEN, MATTERMOST_TEAM, MATTERMOST_COMMAND_TOKEN (see README.md).\n";

struct Options {
    std::string command;  // "", "console", "export"
    std::string incident;
    std::string format = "md";
    std::optional<std::string> db;
};

// Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
int usage_error(const std::string& message) {
    std::cerr << "incident-bot: " << message << "\nRun `incident-bot --help` for usage.\n";
    return 2;
}

std::optional<Options> parse_options(const std::vector<std::string>& args, std::string& error) {
    Options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const auto value = [&](const char* name) -> std::optional<std::string> {
            if (i + 1 >= args.size()) {
                error = std::string(name) + " needs a value";
                return std::nullopt;
            }
            return args[++i];
        };
        if (a == "--db") {
            if (!(o.db = value("--db"))) return std::nullopt;
        } else if (a == "--format") {
            const auto f = value("--format");
            if (!f) return std::nullopt;
            if (*f != "md" && *f != "json") {
                error = "--format must be md or json, not `" + *f + "`";
                return std::nullopt;
            }
            o.format = *f;
        } else if (o.command.empty() && (a == "console" || a == "export")) {
            o.command = a;
        } else if (o.command == "export" && o.incident.empty() && !a.starts_with("-")) {
            o.incident = a;
        } else {
            error = "unexpected argument `" + a + "`";
            return std::nullopt;
        }
    }
    return o;
}

std::string session_id() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return "s" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) +
           "-" + std::to_string(::getpid());
}

int run_export(const Options& o, Store& store, const Clock& clock) {
    const auto number = parse_incident_key(o.incident);
    if (!number) return usage_error("export needs an incident id such as INC-7");
    IncidentService service(store, clock);
    const auto found = service.find(*number);
    if (!found) {
        std::cerr << "incident-bot: " << incident_key(*number) << " does not exist in this "
                  << "database.\n";
        return 1;
    }
    const IncidentSnapshot snap = service.snapshot(*number);
    if (o.format == "json") {
        std::cout << to_json(snap).dump(2) << "\n";
    } else {
        std::cout << render_postmortem(snap);
    }
    return 0;
}

// Forwards the adapters' reports to the Prometheus registry.
class MetricsObserver final : public net::PlatformObserver {
public:
    explicit MetricsObserver(web::Metrics& metrics) : metrics_(metrics) {}
    void event_received(std::string_view p) override { metrics_.event_received(p); }
    void event_acked(std::string_view p, double s) override { metrics_.event_acked(p, s); }
    void reconnected(std::string_view p) override { metrics_.reconnect(p); }
    void api_error(std::string_view p, std::string_view m) override { metrics_.api_error(p, m); }
    void rate_limited(std::string_view p, std::string_view m) override {
        metrics_.rate_limited(p, m);
    }

private:
    web::Metrics& metrics_;
};

web::WebRequest to_web(const net::HttpRequest& request) {
    web::WebRequest out{request.method, request.url, {}, request.body, request.remote_address};
    for (const auto& [name, value] : request.headers) out.headers[to_lower(name)] = value;
    return out;
}

net::HttpResponse to_net(const web::WebResponse& response) {
    net::HttpResponse out;
    out.status = response.status;
    out.body = response.body;
    if (!response.content_type.empty()) out.headers.set("Content-Type", response.content_type);
    for (const auto& [name, value] : response.headers) out.headers.add(name, value);
    return out;
}

// Everything but the console: the chat platforms, the dashboard and the HTTP endpoints, on
// one io_context. With `console`, stdin is read on its own thread and each line is handed
// to the io_context, so the domain is only ever touched from one thread.
int run_bot(const Config& config, Store& store, const Clock& clock, bool console) {
    namespace asio = boost::asio;
    asio::io_context io;
    IncidentService service(store, clock, ServiceOptions{config.public_url});
    commands::CommandRouter router(service);
    commands::register_builtin_commands(router);
    web::Metrics metrics;
    MetricsObserver observer(metrics);

    std::string error;
    const auto tls = net::TlsContext::client(net::TlsClientOptions{true, config.ca_file}, error);
    if (!tls) {
        spdlog::error("INCIDENT_BOT_CA_FILE: {}", error);
        return 2;
    }

    // Email and webhooks hear about every committed incident event, whoever caused it.
    notify::Notifier notifier(io.get_executor(), *tls, notify::notifier_options(config));
    service.add_effect_listener([&notifier](const Effect& effect) { notifier.deliver(effect); });
    notifier.start();

    std::unique_ptr<slack::SlackAdapter> slack_adapter;
    if (config.slack_enabled()) {
        slack::SlackOptions options;
        options.bot_token = config.slack_bot_token;
        options.app_token = config.slack_app_token;
        options.signing_secret = config.slack_signing_secret;
        options.api_url = config.slack_api_url;
        options.announce_channel = config.announce_channel;
        options.public_url = config.public_url;
        slack_adapter = std::make_unique<slack::SlackAdapter>(io.get_executor(), *tls, service,
                                                              router, options, &observer);
    }

    std::unique_ptr<mattermost::MattermostAdapter> mattermost_adapter;
    if (config.mattermost_enabled()) {
        mattermost::MattermostOptions options;
        options.url = config.mattermost_url;
        options.token = config.mattermost_token;
        options.team = config.mattermost_team;
        options.command_token = config.mattermost_command_token;
        options.public_url = config.public_url;
        options.announce_channel = config.announce_channel;
        mattermost_adapter = std::make_unique<mattermost::MattermostAdapter>(
            io.get_executor(), *tls, service, router, options, &observer);
    }

    web::DashboardOptions dashboard_options;
    dashboard_options.token = config.dashboard_token;
    dashboard_options.secure_cookie = config.public_url.starts_with("https://");
    dashboard_options.health = [&] {
        nlohmann::json health{{"database", {{"ok", true}}}, {"notify", notifier.health()}};
        if (slack_adapter) health["slack"] = slack_adapter->health();
        if (mattermost_adapter) health["mattermost"] = mattermost_adapter->health();
        if (console) health["console"] = {{"ok", true}};
        return health;
    };
    web::Dashboard dashboard(service, metrics, dashboard_options);

    net::HttpServer server(io.get_executor(),
                           [&](net::HttpRequest request) -> asio::awaitable<net::HttpResponse> {
                               if (slack_adapter && request.path().starts_with("/slack/")) {
                                   co_return co_await slack_adapter->handle_http(std::move(request));
                               }
                               if (mattermost_adapter &&
                                   request.path().starts_with("/mattermost/")) {
                                   co_return co_await mattermost_adapter->handle_http(
                                       std::move(request));
                               }
                               co_return to_net(dashboard.handle(to_web(request)));
                           });
    const net::NetStatus listening = server.listen(config.listen);
    if (!listening.ok()) {
        spdlog::error("cannot listen on INCIDENT_BOT_LISTEN={}: {}", config.listen,
                      listening.message);
        if (!console) return 1;
    } else {
        const std::string base = config.public_url.empty()
                                     ? "http://" + config.listen.substr(0, config.listen.rfind(':')) +
                                           ":" + std::to_string(server.port()) + "/"
                                     : config.public_url;
        spdlog::info("dashboard: {}", base);
    }

    const auto shutdown = [&] {
        if (slack_adapter) slack_adapter->stop();
        if (mattermost_adapter) mattermost_adapter->stop();
        server.stop();
        io.stop();
    };
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        spdlog::info("received signal {}: shutting down", signal);
        shutdown();
    });
    if (slack_adapter) slack_adapter->start();
    if (mattermost_adapter) mattermost_adapter->start();

    std::unique_ptr<ConsoleAdapter> console_adapter;
    if (console) {
        console_adapter = std::make_unique<ConsoleAdapter>(service, router, std::cout,
                                                           config.announce_channel, session_id());
        const bool interactive = ::isatty(STDIN_FILENO) != 0;
        console_adapter->begin(interactive);
        // getline blocks; the thread is detached so a signal can end the process at once.
        std::thread([&io, &shutdown, adapter = console_adapter.get(), interactive] {
            std::string line;
            bool more = true;
            while (more && std::getline(std::cin, line)) {
                std::promise<bool> handled;
                asio::post(io, [&] { handled.set_value(adapter->handle_line(line)); });
                more = handled.get_future().get();
                if (more && interactive) asio::post(io, [adapter] { adapter->show_prompt(); });
            }
            asio::post(io, shutdown);
        }).detach();
    }
    // Reminders go to the platform of their incident; the digest (no platform) to all.
    ReminderService reminders(store, service, clock, config.reminders);
    notify::ReminderTimer reminder_timer(io.get_executor(), reminders, [&](const Reminder& r) {
        const auto wants = [&](std::string_view p) { return r.platform.empty() || r.platform == p; };
        if (slack_adapter && wants("slack")) slack_adapter->deliver(r.effect);
        if (mattermost_adapter && wants("mattermost")) mattermost_adapter->deliver(r.effect);
        if (console_adapter && wants("console")) console_adapter->deliver(r.effect);
    });
    reminder_timer.start();
    io.run();
    notifier.stop();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    for (const auto& a : args) {
        if (a == "--help" || a == "-h" || a == "help") {
            std::cout << k_usage;
            return 0;
        }
        if (a == "--version") {
            std::cout << "incident-bot " << INCIDENT_BOT_VERSION << "\n";
            return 0;
        }
    }
    spdlog::set_default_logger(spdlog::stderr_color_mt("incident-bot"));
    spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug for details

    std::string error;
    const auto options = parse_options(args, error);
    if (!options) return usage_error(error);

    ConfigResult loaded = load_config(process_environment());
    if (options->db) loaded.config.db_path = *options->db;
    if (!loaded.errors.empty()) {
        for (const auto& e : loaded.errors) std::cerr << "incident-bot: configuration: " << e << "\n";
        return 2;
    }
    const Config& config = loaded.config;

    try {
        SqliteStore store(config.db_path);
        SystemClock clock;
        if (options->command == "export") return run_export(*options, store, clock);
        return run_bot(config, store, clock,
                       options->command == "console" || config.console_only());
    } catch (const std::exception& e) {
        std::cerr << "incident-bot: " << e.what() << "\n";
        return 1;
    }
}
