#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/alerts/alert_routes.hpp"
#include "adapters/console/console_adapter.hpp"
#include "adapters/mattermost/mattermost_adapter.hpp"
#include "adapters/net/http_client.hpp"
#include "adapters/net/http_server.hpp"
#include "adapters/net/observer.hpp"
#include "adapters/net/tls_context.hpp"
#include "adapters/notify/notifier.hpp"
#include "adapters/notify/pagerduty_sink.hpp"
#include "adapters/notify/reminder_timer.hpp"
#include "adapters/ops/bundle.hpp"
#include "adapters/ops/doctor.hpp"
#include "adapters/slack/slack_adapter.hpp"
#include "adapters/web/dashboard.hpp"
#include "bot/alerts.hpp"
#include "bot/clock.hpp"
#include "bot/config.hpp"
#include "bot/export_json.hpp"
#include "bot/incident_service.hpp"
#include "bot/logging.hpp"
#include "bot/outbox.hpp"
#include "bot/postmortem.hpp"
#include "bot/reconcile.hpp"
#include "bot/reminders.hpp"
#include "bot/text.hpp"
#include "commands/router.hpp"
#include "storage/maintenance.hpp"
#include "storage/postgres_store.hpp"
#include "storage/sqlite_store.hpp"

namespace {

using namespace incident;
namespace asio = boost::asio;

constexpr const char* k_usage =
    "incident-bot " INCIDENT_BOT_VERSION
    ": incident response from Slack, Mattermost or a local console\n"
    "\n"
    "usage:\n"
    "  incident-bot [OPTIONS]                   run the bot (the console when no chat platform\n"
    "                                           is configured)\n"
    "  incident-bot console [OPTIONS]           a local chat console on stdin/stdout\n"
    "  incident-bot export INC-<n> [--format md|json|bundle] [OPTIONS]\n"
    "                                           print a post-mortem draft (md), an incident\n"
    "                                           (json), or both with its files (bundle: a\n"
    "                                           .tar.gz, e.g. > inc.tar.gz)\n"
    "  incident-bot doctor [--format text|json] [OPTIONS]\n"
    "                                           check the configuration and everything it\n"
    "                                           points at; exit status 1 on any error\n"
    "  incident-bot backup PATH [OPTIONS]       copy the database to the new file PATH (safe\n"
    "                                           while the bot runs)\n"
    "  incident-bot restore PATH [OPTIONS]      replace the database with the backup PATH\n"
    "                                           (stop the bot first; the old one is kept)\n"
    "  incident-bot healthcheck [OPTIONS]       exit 0 when the running bot's /healthz is ok\n"
    "  incident-bot --help | --version\n"
    "\n"
    "options:\n"
    "  --config FILE        KEY=value settings (the keys of the environment variables); the\n"
    "                       environment wins over the file\n"
    "  --db PATH            the SQLite database (overrides INCIDENT_BOT_DB)\n"
    "  --log-format F       text (default), or json: one {\"ts\",\"level\",\"msg\"} per line\n"
    "\n"
    "Configuration comes from the environment and --config: INCIDENT_BOT_DB, INCIDENT_BOT_LISTEN,\n"
    "INCIDENT_BOT_PUBLIC_URL, INCIDENT_BOT_ANNOUNCE_CHANNEL, INCIDENT_BOT_CA_FILE,\n"
    "INCIDENT_BOT_DASHBOARD_TOKEN, INCIDENT_BOT_LOG_FORMAT, INCIDENT_BOT_LOG_LEVEL,\n"
    "SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, MATTERMOST_URL,\n"
    "MATTERMOST_TOKEN, MATTERMOST_TEAM, MATTERMOST_COMMAND_TOKEN, INCIDENT_BOT_WEBHOOK_*,\n"
    "INCIDENT_BOT_SMTP_*, INCIDENT_BOT_STAKEHOLDER_EMAILS, INCIDENT_BOT_ALERTS_*,\n"
    "INCIDENT_BOT_PAGERDUTY_*, INCIDENT_BOT_REMIND_* (see README.md and\n"
    "deploy/incident-bot.conf.example).\n"
    "SIGTERM or SIGINT stops the bot gracefully: no new events, what is in flight is stored\n"
    "and acknowledged, queued messages get up to 5 s, and it exits within 10 s.\n";

// How long a graceful shutdown lets queued effects drain, and its hard limit.
constexpr auto k_drain_limit = std::chrono::seconds(5);
constexpr auto k_shutdown_limit = std::chrono::seconds(10);
// The start-up checks are repeated this often, so /healthz follows fixes.
constexpr auto k_recheck_interval = std::chrono::minutes(15);
// Delivered effects and processed event keys are kept this long (longer than any
// platform redelivers an event), then pruned in small batches this often.
constexpr Timestamp k_retention_ms = 7LL * 24 * 3'600'000;
constexpr auto k_housekeeping_interval = std::chrono::minutes(5);
constexpr std::size_t k_prune_batch = 500;

struct Options {
    // "", "console", "export", "doctor", "backup", "restore", "healthcheck"
    std::string command;
    std::string incident;  // export
    std::string path;      // backup, restore
    std::optional<std::string> format;
    std::optional<std::string> db;
    std::optional<std::string> config;
    std::optional<std::string> log_format;
};

// Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
int usage_error(const std::string& message) {
    std::cerr << "incident-bot: " << message << "\nRun `incident-bot --help` for usage.\n";
    return 2;
}

bool is_command(const std::string& a) {
    return a == "console" || a == "export" || a == "doctor" || a == "backup" || a == "restore" ||
           a == "healthcheck";
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
        } else if (a == "--config") {
            if (!(o.config = value("--config"))) return std::nullopt;
        } else if (a == "--log-format") {
            if (!(o.log_format = value("--log-format"))) return std::nullopt;
            if (*o.log_format != "text" && *o.log_format != "json") {
                error = "--log-format must be text or json, not `" + *o.log_format + "`";
                return std::nullopt;
            }
        } else if (a == "--format") {
            if (!(o.format = value("--format"))) return std::nullopt;
        } else if (o.command.empty() && is_command(a)) {
            o.command = a;
        } else if (o.command == "export" && o.incident.empty() && !a.starts_with("-")) {
            o.incident = a;
        } else if ((o.command == "backup" || o.command == "restore") && o.path.empty() &&
                   !a.starts_with("-")) {
            o.path = a;
        } else {
            error = "unexpected argument `" + a + "`";
            return std::nullopt;
        }
    }
    const std::string format = o.format.value_or("");
    if (o.command == "doctor" && !format.empty() && format != "text" && format != "json") {
        error = "--format must be text or json, not `" + format + "`";
        return std::nullopt;
    }
    if (o.command != "doctor" && !format.empty() && format != "md" && format != "json" &&
        format != "bundle") {
        error = "--format must be md, json or bundle, not `" + format + "`";
        return std::nullopt;
    }
    if ((o.command == "backup" || o.command == "restore") && o.path.empty()) {
        error = o.command + " needs a file: incident-bot " + o.command + " PATH";
        return std::nullopt;
    }
    return o;
}

std::string session_id() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return "s" +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) +
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
    if (o.format.value_or("md") == "bundle") {
        if (::isatty(STDOUT_FILENO)) {
            return usage_error("a bundle is binary (.tar.gz): redirect it, e.g. > inc.tar.gz");
        }
        const std::string bundle = ops::export_bundle(service, *number);
        std::cout.write(bundle.data(), static_cast<std::streamsize>(bundle.size()));
        std::cout.flush();
        return std::cout ? 0 : 1;
    }
    const IncidentSnapshot snap = service.snapshot(*number);
    if (o.format.value_or("md") == "json") {
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
    void outbox_failed(std::string_view s, std::string_view k) override {
        metrics_.outbox_failed(s, k);
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

// The start-up checks of `incident-bot doctor`, logged, repeated, and shown by /healthz.
class SetupChecks {
public:
    SetupChecks(asio::any_io_executor executor, net::TlsContext tls, ConfigResult loaded)
        : executor_(executor), tls_(std::move(tls)), loaded_(std::move(loaded)), timer_(executor) {}

    void start() { asio::co_spawn(executor_, run(), asio::detached); }
    void stop() {
        stopping_ = true;
        timer_.cancel();
    }

    nlohmann::json health() const {
        if (!done_) return nlohmann::json{{"ok", true}, {"pending", true}};
        return ops::to_json(checks_);
    }
    // The database part, for the "database" entry of /healthz.
    bool database_ok() const {
        return std::none_of(checks_.begin(), checks_.end(), [](const ops::Check& c) {
            return c.level == ops::Level::error && c.name.starts_with("database");
        });
    }

private:
    asio::awaitable<void> run() {
        ops::DoctorOptions options;
        options.inside_bot = true;
        while (!stopping_) {
            std::vector<ops::Check> checks =
                co_await ops::run_doctor(executor_, tls_, loaded_, options);
            if (stopping_) co_return;
            log(checks);
            checks_ = std::move(checks);
            done_ = true;
            timer_.expires_after(k_recheck_interval);
            boost::system::error_code ec;
            co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }

    // Everything the first time, then only what changed.
    void log(const std::vector<ops::Check>& checks) const {
        int errors = 0, warnings = 0;
        for (const auto& check : checks) {
            errors += check.level == ops::Level::error;
            warnings += check.level == ops::Level::warning;
            const bool known = std::any_of(checks_.begin(), checks_.end(), [&](const auto& c) {
                return c.name == check.name && c.level == check.level && c.message == check.message;
            });
            if (done_ && known) continue;
            const std::string line = "setup check: " + ops::format_check(check);
            if (check.level == ops::Level::error) {
                spdlog::error("{}", line);
            } else if (check.level == ops::Level::warning) {
                spdlog::warn("{}", line);
            } else {
                spdlog::debug("{}", line);
            }
        }
        if (!done_) {
            spdlog::info("setup checks: {} ok, {} warning(s), {} error(s){}",
                         checks.size() - errors - warnings, warnings, errors,
                         errors + warnings > 0 ? " (incident-bot doctor explains each)" : "");
        }
    }

    asio::any_io_executor executor_;
    net::TlsContext tls_;
    ConfigResult loaded_;
    asio::steady_timer timer_;
    std::vector<ops::Check> checks_;
    bool done_ = false;
    bool stopping_ = false;
};

// Counts an HTTP request as in flight while it lives.
class InFlight {
public:
    explicit InFlight(std::size_t& count) : count_(count) { ++count_; }
    ~InFlight() { --count_; }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

private:
    std::size_t& count_;
};

// INCIDENT_BOT_SOCKET_DEAD_AFTER_SECONDS: dead after that much silence, pinged after 2/5.
net::WebSocketOptions socket_options(const Config& config) {
    net::WebSocketOptions options;
    options.dead_after = std::chrono::seconds(config.socket_dead_after_seconds);
    options.ping_interval = options.dead_after * 2 / 5;
    return options;
}

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Housekeeping off the hot path: delivered effects and processed event keys older than
// the retention window go, a small batch per transaction, with a pause between batches.
// Who this process is among replicas sharing one PostgreSQL database: the host and the
// dashboard's address, which no two live processes on one host share and which a restart
// keeps (so a restarted replica takes back the outbox entries it had claimed at once; others
// wait for the claim to run out). With a port chosen by the system, the process id. SQLite
// has one process.
std::string replica_id(const Config& config) {
    if (!config.postgres()) return "local";
    std::array<char, 256> host{};
    if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
    const bool any_port = config.listen.ends_with(":0");
    return std::string(host.data()) + "/" +
           (any_port ? "pid" + std::to_string(getpid()) : config.listen);
}

// At start-up and every few minutes: incidents without a channel get it queued again, live
// summaries are compared with their incidents, and old delivered effects and processed event ids
// go, in small batches off the hot path.
asio::awaitable<void> housekeeping_forever(IncidentService& service, Store& store, Outbox& outbox,
                                           const bool& stopping, bool& leader) {
    const Timestamp lease_ms =
        2 * std::chrono::duration_cast<std::chrono::milliseconds>(k_housekeeping_interval).count();
    while (!stopping) {
        // Among replicas one does it: two could both see an incident without its channel.
        leader = false;
        try {
            leader = store.hold_lease("housekeeping", outbox.owner(), outbox.now(),
                                      outbox.now() + lease_ms);
        } catch (const std::exception& e) {
            spdlog::warn("housekeeping: taking its lease failed: {}", e.what());
        }
        if (!leader) {
            co_await pause(
                std::chrono::duration_cast<std::chrono::milliseconds>(k_housekeeping_interval));
            continue;
        }
        try {
            if (const std::size_t queued = requeue_missing_channels(service, store, outbox)) {
                spdlog::warn("housekeeping: {} open incident(s) had no channel; creating it again",
                             queued);
            }
        } catch (const std::exception& e) {
            spdlog::warn("housekeeping: looking for incidents without a channel failed: {}",
                         e.what());
        }
        try {
            if (const std::size_t queued = requeue_summary_refreshes(store, outbox)) {
                spdlog::debug("housekeeping: {} live summar(ies) to compare with the incident",
                              queued);
            }
        } catch (const std::exception& e) {
            spdlog::warn("housekeeping: looking for stale live summaries failed: {}", e.what());
        }
        std::size_t removed = 0, batch = 0;
        do {
            try {
                batch = outbox.prune(outbox.now() - k_retention_ms, k_prune_batch);
            } catch (const std::exception& e) {
                spdlog::warn("housekeeping: pruning old rows failed: {}", e.what());
                batch = 0;
            }
            removed += batch;
            if (batch > 0) co_await pause(std::chrono::milliseconds(50));
        } while (batch > 0 && !stopping);
        if (removed > 0) spdlog::info("housekeeping: pruned {} old row(s)", removed);
        co_await pause(
            std::chrono::duration_cast<std::chrono::milliseconds>(k_housekeeping_interval));
    }
}

// Everything but the console: the chat platforms, the dashboard and the HTTP endpoints, on
// one io_context. With `console`, stdin is read on its own thread and each line is handed
// to the io_context, so the domain is only ever touched from one thread.
// `store_problem` says why the store cannot reach its database right now (empty: it can).
int run_bot(const ConfigResult& loaded, Store& store, const Clock& clock, bool console,
            const std::function<std::string()>& store_problem) {
    const Config& config = loaded.config;
    asio::io_context io;
    IncidentService service(
        store, clock,
        ServiceOptions{config.public_url, config.status_components, config.file_max_bytes});
    // Every effect is written here with the change that caused it; workers deliver it.
    Outbox outbox(store, clock);
    outbox.set_owner(replica_id(config));
    service.use_outbox(outbox);
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

    // Email and webhooks get every committed incident event, whoever caused it: each is a
    // notify sink of the outbox, written with the change and delivered after the commit.
    notify::Notifier notifier(io.get_executor(), *tls, outbox, notify::notifier_options(config),
                              &observer);
    notifier.start();
    // Linked PagerDuty incidents follow resolve, severity and merge, when a token is set.
    std::unique_ptr<notify::PagerDutySink> pagerduty;
    if (config.pagerduty_api_enabled()) {
        notify::PagerDutyOptions options;
        options.api_url = config.pagerduty_api_url;
        options.token = config.pagerduty_api_token;
        options.from = config.pagerduty_from;
        pagerduty = std::make_unique<notify::PagerDutySink>(io.get_executor(), *tls, outbox, store,
                                                            options, &observer);
        pagerduty->start();
    }

    std::unique_ptr<slack::SlackAdapter> slack_adapter;
    if (config.slack_enabled()) {
        slack::SlackOptions options;
        options.bot_token = config.slack_bot_token;
        options.app_token = config.slack_app_token;
        options.signing_secret = config.slack_signing_secret;
        options.api_url = config.slack_api_url;
        options.announce_channel = config.announce_channel;
        options.public_url = config.public_url;
        options.websocket = socket_options(config);
        slack_adapter = std::make_unique<slack::SlackAdapter>(io.get_executor(), *tls, service,
                                                              router, outbox, options, &observer);
    }

    std::unique_ptr<mattermost::MattermostAdapter> mattermost_adapter;
    if (config.mattermost_enabled()) {
        mattermost::MattermostOptions options;
        options.url = config.mattermost_url;
        options.token = config.mattermost_token;
        options.team = config.mattermost_team;
        options.command_token = config.mattermost_command_token;
        options.action_secret = config.mattermost_action_secret;
        options.public_url = config.public_url;
        options.announce_channel = config.announce_channel;
        options.websocket = socket_options(config);
        mattermost_adapter = std::make_unique<mattermost::MattermostAdapter>(
            io.get_executor(), *tls, service, router, outbox, options, &observer);
    }

    // Effects that no chat event caused (reminders, alerts) go to the adapter of their
    // platform; an empty platform (the digest) goes to all.
    std::unique_ptr<ConsoleAdapter> console_adapter;
    // `in_outbox`: the change wrote the effect into the outbox, where only a wake-up is missing.
    const auto deliver_to = [&](std::string_view platform, const Effect& effect, bool in_outbox) {
        const auto wants = [&](std::string_view p) { return platform.empty() || platform == p; };
        // Already woken by the commit that wrote it.
        const auto taken = [&](std::string_view p) { return in_outbox && outbox.has_chat_sink(p); };
        if (slack_adapter && wants("slack") && !taken("slack")) slack_adapter->deliver(effect);
        if (mattermost_adapter && wants("mattermost") && !taken("mattermost")) {
            mattermost_adapter->deliver(effect);
        }
        if (console_adapter && wants("console")) console_adapter->deliver(effect);
    };

    // Incidents opened from alerts get their channel where people are: Slack, else
    // Mattermost, else the console.
    AlertOptions alert_options;
    alert_options.platform = slack_adapter        ? "slack"
                             : mattermost_adapter ? "mattermost"
                                                  : std::string(ConsoleAdapter::k_platform);
    alert_options.auto_resolve = config.alerts_auto_resolve;
    alert_options.rules = parse_alert_rules(config.alert_rules).rules;  // checked when loaded
    AlertIntake alert_intake(service, store, alert_options);
    alerts::AlertRoutes alert_routes(
        alert_intake,
        alerts::AlertRouteOptions{config.alerts_token, config.pagerduty_webhook_secret},
        [&](const Effect& effect) { deliver_to(alert_options.platform, effect, true); });

    SetupChecks setup(io.get_executor(), *tls, loaded);
    bool draining = false;
    web::DashboardOptions dashboard_options;
    dashboard_options.token = config.dashboard_token;
    dashboard_options.secure_cookie = config.public_url.starts_with("https://");
    dashboard_options.outbox = &outbox;
    dashboard_options.status_title = config.status_title;
    dashboard_options.public_url = config.public_url;
    dashboard_options.outbox_retried = [&] { outbox.wake_all(); };
    ReminderService reminders(store, service, clock, config.reminders);
    bool housekeeping_leader = false;
    dashboard_options.health = [&] {
        nlohmann::json database{{"ok", setup.database_ok()},
                                {"engine", config.postgres() ? "postgresql" : "sqlite"}};
        if (const std::string problem = store_problem(); !problem.empty()) {
            database["ok"] = false;
            database["error"] = problem;
        }
        // The jobs only one replica does, and whether this one does them now.
        nlohmann::json leads = nlohmann::json::array();
        if (reminders.leading()) leads.push_back("reminders");
        if (housekeeping_leader) leads.push_back("housekeeping");
        nlohmann::json health{{"replica", {{"ok", true}, {"id", outbox.owner()}, {"leads", leads}}},
                              {"database", database},
                              {"notify", notifier.health()},
                              {"setup", setup.health()}};
        if (slack_adapter) health["slack"] = slack_adapter->health();
        if (mattermost_adapter) health["mattermost"] = mattermost_adapter->health();
        if (console) health["console"] = {{"ok", true}};
        return health;
    };
    // `/incident login` links: signed with a key from the dashboard token, else one kept in the
    // database; the base is the public URL, or the address listened on (set below).
    web::SignIn sign_in(store, web::sign_in_key(store, config.dashboard_token),
                        dashboard_options.session_ttl_ms, config.public_url);
    service.use_sign_in([&sign_in](const std::string& platform, const Actor& person, Timestamp at) {
        return sign_in.link(platform, person, at);
    });
    dashboard_options.sign_in = &sign_in;
    web::Dashboard dashboard(service, metrics, dashboard_options);

    std::size_t in_flight = 0;
    net::HttpServer server(
        io.get_executor(), [&](net::HttpRequest request) -> asio::awaitable<net::HttpResponse> {
            if (draining) {
                net::HttpResponse refused =
                    net::HttpResponse::text(503, "incident-bot is shutting down\n");
                refused.headers.set("Retry-After", "10");
                refused.headers.set("Connection", "close");
                co_return refused;
            }
            InFlight counted(in_flight);
            if (slack_adapter && request.path().starts_with("/slack/")) {
                co_return co_await slack_adapter->handle_http(std::move(request));
            }
            if (mattermost_adapter && request.path().starts_with("/mattermost/")) {
                co_return co_await mattermost_adapter->handle_http(std::move(request));
            }
            if (alerts::AlertRoutes::handles(request.path())) {
                co_return to_net(alert_routes.handle(to_web(request)));
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
                                     ? "http://" +
                                           config.listen.substr(0, config.listen.rfind(':')) + ":" +
                                           std::to_string(server.port()) + "/"
                                     : config.public_url;
        sign_in.set_base_url(base);
        spdlog::info("dashboard: {}", base);
    }

    // Reminders go to the platform of their incident; the digest (no platform) to all.
    notify::ReminderTimer reminder_timer(io.get_executor(), reminders, [&](const Reminder& r) {
        deliver_to(r.platform, r.effect, r.durable);
    });

    int exit_code = 0;
    bool shutting_down = false;
    asio::steady_timer shutdown_limit(io);
    const auto stop_now = [&] {
        setup.stop();
        reminder_timer.stop();
        if (slack_adapter) slack_adapter->stop();
        if (mattermost_adapter) mattermost_adapter->stop();
        server.stop();
        io.stop();
    };
    // New events are refused first; then what was taken is stored and acknowledged, the
    // sockets are closed with close frames, and queued effects get k_drain_limit.
    const auto drain = [&]() -> asio::awaitable<void> {
        const auto started = std::chrono::steady_clock::now();
        const auto deadline = started + k_drain_limit;
        draining = true;
        setup.stop();
        reminder_timer.stop();
        while (in_flight > 0 && std::chrono::steady_clock::now() < deadline) {
            co_await pause(std::chrono::milliseconds(5));
        }
        if (slack_adapter) co_await slack_adapter->drain(deadline);
        if (mattermost_adapter) co_await mattermost_adapter->drain(deadline);
        co_await notifier.drain(deadline);
        if (pagerduty) co_await pagerduty->drain(deadline);
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        spdlog::info("shutdown: drained in {:.2f} s; exiting", took.count());
        stop_now();
    };
    const auto shutdown = [&](const char* why) {
        if (shutting_down) {
            spdlog::warn("{} again: stopping at once", why);
            exit_code = 1;
            stop_now();
            return;
        }
        shutting_down = true;
        spdlog::info("{}: shutting down (no new events; finishing what is in flight)", why);
        shutdown_limit.expires_after(k_shutdown_limit);
        shutdown_limit.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            spdlog::warn("shutdown: not drained after {} s; stopping now",
                         std::chrono::seconds(k_shutdown_limit).count());
            stop_now();
        });
        asio::co_spawn(io, drain(), asio::detached);
    };
    asio::signal_set signals(io, SIGINT, SIGTERM);
    std::function<void(const boost::system::error_code&, int)> on_signal;
    on_signal = [&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        shutdown(signal == SIGTERM ? "SIGTERM" : "SIGINT");
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);
    if (slack_adapter) slack_adapter->start();
    if (mattermost_adapter) mattermost_adapter->start();
    setup.start();

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
            asio::post(io, [&shutdown] { shutdown("end of the console input"); });
        }).detach();
    }
    reminder_timer.start();
    bool pruning_stopped = false;
    asio::co_spawn(
        io, housekeeping_forever(service, store, outbox, pruning_stopped, housekeeping_leader),
        asio::detached);
    io.run();
    pruning_stopped = true;
    notifier.stop();
    if (pagerduty) pagerduty->stop();
    return exit_code;
}

// The configuration with what each key's origin, or errors naming the key (and line).
ConfigResult load_configuration(const Options& o) {
    ConfigResult loaded = o.config ? load_config(process_environment(), read_config_file(*o.config))
                                   : load_config(process_environment());
    if (o.db) {
        loaded.config.db_path = *o.db;
        loaded.origins["INCIDENT_BOT_DB"] = "--db";
    }
    if (o.log_format) loaded.config.log_format = *o.log_format;
    return loaded;
}

int run_doctor_command(const ConfigResult& loaded, const Options& o) {
    const Config& config = loaded.config;
    asio::io_context io;
    std::vector<ops::Check> checks;
    std::string error;
    auto tls = net::TlsContext::client(net::TlsClientOptions{true, config.ca_file}, error);
    if (!tls) {
        checks.push_back(ops::Check{ops::Level::error, "tls", error,
                                    "point INCIDENT_BOT_CA_FILE at a readable PEM bundle"});
        std::string ignored;
        tls = net::TlsContext::client(net::TlsClientOptions{true, {}}, ignored);
    }
    ops::DoctorOptions options;
    options.config_file = o.config.value_or("");
    asio::co_spawn(io, ops::run_doctor(io.get_executor(), *tls, loaded, options),
                   [&](std::exception_ptr e, std::vector<ops::Check> found) {
                       if (!e) checks.insert(checks.end(), found.begin(), found.end());
                       io.stop();
                   });
    io.run();
    if (o.format.value_or("text") == "json") {
        std::cout << ops::to_json(checks).dump(2) << "\n";
    } else {
        std::cout << "incident-bot doctor: settings from the environment"
                  << (o.config ? " and " + *o.config : std::string()) << "\n";
        int errors = 0, warnings = 0;
        for (const auto& check : checks) {
            std::cout << ops::format_check(check) << "\n";
            errors += check.level == ops::Level::error;
            warnings += check.level == ops::Level::warning;
        }
        std::cout << errors << " error(s), " << warnings << " warning(s)\n";
    }
    return ops::has_errors(checks) ? 1 : 0;
}

// GET /healthz of the running bot: a HEALTHCHECK that needs no curl in the image.
int run_healthcheck(const Config& config) {
    const auto colon = config.listen.rfind(':');
    std::string host = config.listen.substr(0, colon);
    if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
    if (host == "[::]") host = "[::1]";
    asio::io_context io;
    std::string error;
    const auto tls = net::TlsContext::client(net::TlsClientOptions{true, {}}, error);
    if (!tls) {
        std::cerr << "incident-bot: " << error << "\n";
        return 1;
    }
    net::HttpClient client(io.get_executor(), *tls,
                           net::HttpClientOptions{std::chrono::milliseconds(5000)});
    net::HttpResponse response;
    net::HttpRequest request;
    request.url = "http://" + host + config.listen.substr(colon) + "/healthz";
    asio::co_spawn(io, client.request(request),
                   [&](std::exception_ptr, net::HttpResponse r) { response = std::move(r); });
    io.run();
    if (response.status == 0) {
        std::cout << "unhealthy: " << response.error << "\n";
        return 1;
    }
    std::cout << (response.status == 200 ? "healthy: " : "unhealthy: ") << response.body;
    return response.status == 200 ? 0 : 1;
}

// backup and restore copy SQLite files; PostgreSQL has its own tools.
int explain_pg_dump(const std::string& command) {
    std::cerr << "incident-bot: " << command
              << " copies SQLite files, and this bot stores its data in PostgreSQL "
                 "(INCIDENT_BOT_DATABASE_URL is set): nothing was done.\n"
                 "Back up with pg_dump, e.g. pg_dump --format=custom --file=incident-bot.dump "
                 "\"$INCIDENT_BOT_DATABASE_URL\", and restore with pg_restore --clean "
                 "--dbname=\"$INCIDENT_BOT_DATABASE_URL\" incident-bot.dump while no replica "
                 "runs.\n";
    return 1;
}

int run_backup(const Config& config, const std::string& path) {
    if (config.postgres()) return explain_pg_dump("backup");
    const DatabaseInfo info = backup_database(config.db_path, path);
    std::cout << "incident-bot: backed up " << config.db_path << " to " << path << ": "
              << info.incidents << " incident(s), schema version " << info.schema_version << ", "
              << info.bytes << " bytes\n";
    return 0;
}

int run_restore(const Config& config, const std::string& path) {
    if (config.postgres()) return explain_pg_dump("restore");
    try {
        const RestoreResult result = restore_database(path, config.db_path);
        std::cout << "incident-bot: restored " << config.db_path << " from " << path << ": "
                  << result.restored.incidents << " incident(s), schema version "
                  << result.restored.schema_version << "\n";
        if (!result.previous.empty()) {
            std::cout << "incident-bot: the replaced database is kept as " << result.previous
                      << "\n";
        }
        return 0;
    } catch (const DatabaseInUse& e) {
        std::cerr << "incident-bot: " << e.what() << "\n";
        return 1;
    }
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
    std::string error;
    const auto options = parse_options(args, error);
    if (!options) return usage_error(error);

    const ConfigResult loaded = load_configuration(*options);
    const Config& config = loaded.config;
    // The commands that print their own findings keep the library's log lines out of them.
    const bool quiet = options->command == "doctor" || options->command == "healthcheck";
    std::string level = config.log_level;
    if (quiet && level.empty()) level = "off";
    ops::setup_logging(config.log_format == "json" ? ops::LogFormat::json : ops::LogFormat::text,
                       config.secrets(), level);

    if (options->command == "doctor") return run_doctor_command(loaded, *options);
    if (!loaded.errors.empty()) {
        for (const auto& e : loaded.errors) {
            std::cerr << "incident-bot: configuration: " << e << "\n";
        }
        return 2;
    }

    try {
        if (options->command == "healthcheck") return run_healthcheck(config);
        if (options->command == "backup") return run_backup(config, options->path);
        if (options->command == "restore") return run_restore(config, options->path);
        SystemClock clock;
        const bool console = options->command == "console" || config.console_only();
        if (config.postgres()) {
            // Replicas share the database, so there is no file lock to hold.
            PostgresStore store(config.database_url);
            if (options->command == "export") return run_export(*options, store, clock);
            // /healthz asks the server each time: an outage shows there before an event
            // fails on it, and its end as soon as the server is back.
            return run_bot(loaded, store, clock, console,
                           [&store] { return store.ping() ? std::string() : store.last_error(); });
        }
        if (options->command == "export") {
            SqliteStore store(config.db_path);
            return run_export(*options, store, clock);
        }
        // Held while the bot runs, so that a restore refuses to replace the database under
        // it; released only after the store is closed.
        const auto lock = DatabaseLock::acquire(config.db_path, DatabaseLock::Mode::shared, error);
        if (!lock) {
            std::cerr << "incident-bot: " << error << "\n";
            return 1;
        }
        SqliteStore store(config.db_path);
        return run_bot(loaded, store, clock, console, [] { return std::string(); });
    } catch (const std::exception& e) {
        std::cerr << "incident-bot: " << e.what() << "\n";
        return 1;
    }
}
