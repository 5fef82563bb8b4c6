#include "bot/app/runtime.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/alerts/alert_routes.hpp"
#include "adapters/net/group_commit.hpp"
#include "adapters/net/http_server.hpp"
#include "adapters/net/observer.hpp"
#include "adapters/net/tls_context.hpp"
#include "adapters/notify/notifier.hpp"
#include "adapters/notify/pagerduty_sink.hpp"
#include "adapters/notify/reminder_timer.hpp"
#include "adapters/notify/statuspage_sink.hpp"
#include "adapters/ops/doctor.hpp"
#include "adapters/web/dashboard.hpp"
#include "bot/alerts.hpp"
#include "bot/incident_service.hpp"
#include "bot/outbox.hpp"
#include "bot/reconcile.hpp"
#include "bot/reminders.hpp"
#include "bot/text.hpp"
#include "commands/router.hpp"

namespace incident::app {

namespace {

namespace asio = boost::asio;

// How long a graceful shutdown lets queued effects drain, and its hard limit.
constexpr auto k_drain_limit = std::chrono::seconds(5);
constexpr auto k_shutdown_limit = std::chrono::seconds(10);
// The start-up checks are repeated this often, so /healthz follows fixes.
constexpr auto k_recheck_interval = std::chrono::minutes(15);
// Delivered effects and processed event keys older than INCIDENT_BOT_RETENTION_SECONDS are
// pruned in small batches this often.
constexpr auto k_housekeeping_interval = std::chrono::minutes(5);
constexpr std::size_t k_prune_batch = 500;

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

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

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
// summaries are compared with their incidents, stale channel topics are set again, and old
// delivered effects and processed event ids go, in small batches off the hot path.
asio::awaitable<void> housekeeping_forever(IncidentService& service, Store& store, Outbox& outbox,
                                           Timestamp retention_ms, const bool& stopping,
                                           bool& leader) {
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
        try {
            if (const std::size_t queued = requeue_stale_topics(service, store, outbox)) {
                spdlog::info(
                    "housekeeping: {} channel topic(s) did not show their incident as it is; "
                    "setting them again",
                    queued);
            }
        } catch (const std::exception& e) {
            spdlog::warn("housekeeping: looking for stale channel topics failed: {}", e.what());
        }
        std::size_t removed = 0, batch = 0;
        do {
            try {
                batch = outbox.prune(outbox.now() - retention_ms, k_prune_batch);
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

}  // namespace

int run_bot(const ConfigResult& loaded, Store& store, const Clock& clock, bool console,
            std::span<const PlatformRegistration> platforms,
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
        options.outbox = net::outbox_worker_options(config);
        pagerduty = std::make_unique<notify::PagerDutySink>(io.get_executor(), *tls, outbox, store,
                                                            options, &observer);
        pagerduty->start();
    }
    // Status page publications also go to an Atlassian Statuspage, when its page and key are set.
    std::unique_ptr<notify::StatuspageSink> statuspage;
    if (config.statuspage_enabled()) {
        notify::StatuspageOptions options;
        options.api_url = config.statuspage_api_url;
        options.page_id = config.statuspage_page_id;
        options.api_key = config.statuspage_api_key;
        options.components = config.statuspage_components;
        options.outbox = net::outbox_worker_options(config);
        statuspage = std::make_unique<notify::StatuspageSink>(io.get_executor(), *tls, outbox,
                                                              store, options, &observer);
        statuspage->start();
    }

    // Set below, once the signals are watched; a platform may ask for it (the console at the
    // end of its input).
    std::function<void(const char*)> shutdown;
    const PlatformContext context{io.get_executor(),
                                  *tls,
                                  service,
                                  router,
                                  outbox,
                                  config,
                                  &observer,
                                  console,
                                  [&shutdown](const char* why) { shutdown(why); }};
    // The enabled platforms, in the order registered.
    struct Running {
        std::string name;
        std::unique_ptr<ChatPlatform> platform;
    };
    std::vector<Running> running;
    for (const PlatformRegistration& registration : platforms) {
        if (!registration.enabled(context)) continue;
        running.push_back(Running{std::string(registration.name), registration.create(context)});
    }

    // Effects that no chat event caused (reminders, alerts) go to the platform of their
    // incident; an empty platform (the digest) goes to all.
    // `in_outbox`: the change wrote the effect into the outbox, where only a wake-up is missing.
    const auto deliver_to = [&](std::string_view platform, const Effect& effect, bool in_outbox) {
        for (const Running& each : running) {
            if (!platform.empty() && platform != each.name) continue;
            // Already woken by the commit that wrote it.
            if (in_outbox && outbox.has_chat_sink(each.name)) continue;
            each.platform->deliver(effect);
        }
    };

    // Incidents opened from alerts get their channel where people are: the first platform
    // registered and enabled (Slack, else Mattermost, else the console).
    AlertOptions alert_options;
    alert_options.platform = running.empty() ? std::string("console") : running.front().name;
    alert_options.auto_resolve = config.alerts_auto_resolve;
    alert_options.rules = parse_alert_rules(config.alert_rules).rules;  // checked when loaded
    AlertIntake alert_intake(service, store, alert_options);
    alerts::AlertRoutes alert_routes(
        alert_intake,
        alerts::AlertRouteOptions{config.alerts_token, config.pagerduty_webhook_secret},
        [&](const Effect& effect) { deliver_to(alert_options.platform, effect, true); });
    // Alertmanager and PagerDuty send in bursts: one commit for what arrived together.
    net::GroupCommit alert_commits(
        io.get_executor(), "alerts",
        [&](const std::function<void()>& work) { alert_intake.batch(work); });

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
    const auto replica_role = [&] {
        return web::ReplicaRole{
            outbox.owner(),
            {{"reminders", reminders.leading()}, {"housekeeping", housekeeping_leader}}};
    };
    dashboard_options.replica = replica_role;
    dashboard_options.health = [&] {
        nlohmann::json database{{"ok", setup.database_ok()},
                                {"engine", config.postgres() ? "postgresql" : "sqlite"}};
        if (const std::string problem = store_problem(); !problem.empty()) {
            database["ok"] = false;
            database["error"] = problem;
        }
        // The jobs only one replica does, and whether this one does them now.
        const web::ReplicaRole role = replica_role();
        nlohmann::json leads = nlohmann::json::array();
        for (const auto& [job, leading] : role.jobs) {
            if (leading) leads.push_back(job);
        }
        nlohmann::json health{{"replica", {{"ok", true}, {"id", role.id}, {"leads", leads}}},
                              {"database", database},
                              {"notify", notifier.health()},
                              {"setup", setup.health()}};
        for (const Running& each : running) health[each.name] = each.platform->health();
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
            // Each platform's endpoints are under /<name>/.
            for (const Running& each : running) {
                const std::string_view path = request.path();
                if (path.size() > each.name.size() + 1 && path[0] == '/' &&
                    path.substr(1, each.name.size()) == each.name &&
                    path[each.name.size() + 1] == '/') {
                    co_return co_await each.platform->handle_http(std::move(request));
                }
            }
            if (alerts::AlertRoutes::handles(request.path())) {
                auto accepted = alert_routes.accept(to_web(request));
                if (auto* answered = std::get_if<web::WebResponse>(&accepted)) {
                    co_return to_net(*answered);
                }
                auto& pending = std::get<alerts::PendingAlert>(accepted);
                bool committed = true;
                try {
                    // Named: GCC 12 destroys a temporary argument of co_await twice.
                    std::function<void()> store_it = [&pending] { pending.store(); };
                    co_await alert_commits.run(std::move(store_it));
                } catch (const std::exception&) {
                    committed = false;  // logged where it failed
                }
                co_return to_net(pending.answer(committed));
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
        for (const Running& each : running) each.platform->stop();
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
        for (const Running& each : running) co_await each.platform->drain(deadline);
        co_await notifier.drain(deadline);
        if (pagerduty) co_await pagerduty->drain(deadline);
        if (statuspage) co_await statuspage->drain(deadline);
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        spdlog::info("shutdown: drained in {:.2f} s; exiting", took.count());
        stop_now();
    };
    shutdown = [&](const char* why) {
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
    for (const Running& each : running) each.platform->start();
    setup.start();
    reminder_timer.start();
    bool pruning_stopped = false;
    asio::co_spawn(io,
                   housekeeping_forever(service, store, outbox, config.retention_ms,
                                        pruning_stopped, housekeeping_leader),
                   asio::detached);
    io.run();
    pruning_stopped = true;
    notifier.stop();
    if (pagerduty) pagerduty->stop();
    if (statuspage) statuspage->stop();
    return exit_code;
}

}  // namespace incident::app
