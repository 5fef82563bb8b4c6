#include "adapters/notify/pagerduty_sink.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "bot/alerts.hpp"
#include "bot/text.hpp"

namespace incident::notify {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr std::string_view k_source = "pagerduty";

// The PagerDuty incidents linked to an incident, each once, in the order they were linked;
// `firing_only` leaves out those PagerDuty (or a change of ours) resolved already.
std::vector<std::string> linked(Store& store, std::int64_t incident, bool firing_only) {
    std::vector<std::string> ids;
    for (const Alert& a : store.alerts(incident)) {
        if (a.source != k_source || (firing_only && !a.firing())) continue;
        if (std::find(ids.begin(), ids.end(), a.group_key) == ids.end()) {
            ids.push_back(a.group_key);
        }
    }
    return ids;
}

json reference(const std::string& id) {
    return {{"id", id}, {"type", "incident_reference"}};
}

}  // namespace

net::HttpRequest pagerduty_request(const PagerDutyOptions& options, std::string method,
                                   std::string_view path, const json* body) {
    net::HttpRequest request;
    request.method = std::move(method);
    std::string_view base = options.api_url;
    while (base.ends_with('/')) base.remove_suffix(1);
    request.url = std::string(base) + std::string(path);
    request.headers.set("Authorization", "Token token=" + options.token);
    request.headers.set("Accept", "application/vnd.pagerduty+json;version=2");
    if (!options.from.empty()) request.headers.set("From", options.from);
    if (body) {
        request.headers.set("Content-Type", "application/json");
        request.body = body->dump();
    }
    return request;
}

std::map<std::string, std::string> priorities_of(const json& answer) {
    std::map<std::string, std::string> found;
    if (!answer.is_object() || !answer.contains("priorities") || !answer["priorities"].is_array()) {
        return found;
    }
    for (const json& p : answer["priorities"]) {
        if (p.is_object() && p.value("name", json()).is_string() &&
            p.value("id", json()).is_string()) {
            found[p["name"].get<std::string>()] = p["id"].get<std::string>();
        }
    }
    return found;
}

PagerDutySink::PagerDutySink(asio::any_io_executor executor, net::TlsContext tls, Outbox& outbox,
                             Store& store, PagerDutyOptions options,
                             net::PlatformObserver* observer)
    : options_(std::move(options)),
      outbox_(outbox),
      store_(store),
      client_(executor, std::move(tls), net::HttpClientOptions{options_.timeout}),
      worker_(
          executor, outbox, std::string(k_sink),
          [this](OutboxEntry& entry) { return deliver_entry(entry); }, options_.outbox, observer) {
    waker_ = outbox_.add_notify_sink(std::string(k_sink), [this] { worker_.wake(); });
}

PagerDutySink::~PagerDutySink() {
    *alive_ = false;
    outbox_.forget_waker(k_sink, waker_);
    stop();
}

void PagerDutySink::start() {
    spdlog::info("pagerduty: linked PagerDuty incidents follow resolve, severity and merge");
    worker_.start();
}

void PagerDutySink::stop() {
    worker_.stop();
}

asio::awaitable<void> PagerDutySink::drain(std::chrono::steady_clock::time_point deadline) {
    co_await worker_.drain(deadline);
}

PagerDutyStats PagerDutySink::stats() const {
    PagerDutyStats s = stats_;
    s.pending = worker_.pending();
    return s;
}

asio::awaitable<std::optional<net::Delivery>> PagerDutySink::call(const std::string& method,
                                                                  const std::string& path,
                                                                  const json& body, json* answer) {
    // Named before the co_await: GCC 12 mishandles temporaries in it.
    net::HttpRequest request =
        pagerduty_request(options_, method, path, method == "GET" ? nullptr : &body);
    std::string what = "pagerduty " + method + " " + path;
    co_return co_await rest_call(client_, std::move(request), alive_, std::move(what),
                                 options_.token, stats_, answer);
}

asio::awaitable<std::optional<std::string>> PagerDutySink::priority_id(
    Severity severity, std::optional<net::Delivery>& refused) {
    if (!priorities_) {
        json answer;
        const json none = json::object();
        refused = co_await call("GET", "/priorities", none, &answer);
        if (refused) co_return std::nullopt;
        priorities_ = priorities_of(answer);
    }
    const std::string name = "P" + std::to_string(static_cast<int>(severity));
    const auto found = priorities_->find(name);
    if (found == priorities_->end()) co_return std::nullopt;
    co_return found->second;
}

void PagerDutySink::confirmed(std::int64_t incident, const std::vector<std::string>& ids,
                              bool resolved, const std::string& priority) {
    store_.transaction([&] {
        for (Alert a : store_.alerts(incident)) {
            if (a.source != k_source) continue;
            if (std::find(ids.begin(), ids.end(), a.group_key) == ids.end()) continue;
            if (resolved && a.firing()) {
                a.status = "resolved";
                a.ends_at = outbox_.now();
            }
            if (!priority.empty()) {
                a.labels["priority"] = priority;
                a.labels[std::string(k_priority_set_label)] = priority;
            }
            store_.update_alert(a);
        }
    });
}

asio::awaitable<net::Delivery> PagerDutySink::deliver_entry(OutboxEntry& entry) {
    const auto effect = effect_from_json(entry.payload);
    const Notify* event = effect ? std::get_if<Notify>(&*effect) : nullptr;
    if (!event) co_return net::Delivery::fail("this incident-bot cannot read the stored event");

    // Steps already confirmed by PagerDuty, so a retry goes on after them.
    json progress = net::progress_of(entry);
    const auto done = [&](const std::string& step) {
        return progress.contains(step) && progress[step].is_boolean() && progress[step].get<bool>();
    };
    const auto record = [&](const std::string& step) {
        progress[step] = true;
        entry.result = progress.dump();
        outbox_.save(entry);
    };

    if (event->kind == NotifyKind::resolved || event->kind == NotifyKind::severity) {
        const bool resolving = event->kind == NotifyKind::resolved;
        const std::vector<std::string> ids = linked(store_, event->number, resolving);
        if (ids.empty()) co_return net::Delivery::done();
        const Severity severity = event->final_severity.value_or(event->severity);
        std::optional<net::Delivery> refused;
        const auto priority = co_await priority_id(severity, refused);
        if (refused) co_return *refused;
        if (!priority && !resolving) {
            // Priorities are off in that account, or named otherwise: nothing to follow.
            spdlog::info("pagerduty: no priority named P{} for {}; its priority stays as it is",
                         static_cast<int>(severity), event->key);
            co_return net::Delivery::done();
        }
        for (const std::string& id : ids) {
            if (done(id)) continue;
            json incident{{"type", "incident_reference"}};
            if (resolving) incident["status"] = "resolved";
            if (priority)
                incident["priority"] = {{"id", *priority}, {"type", "priority_reference"}};
            const json body{{"incident", std::move(incident)}};
            const std::string path = "/incidents/" + id;
            const auto failed = co_await call("PUT", path, body);
            if (failed) co_return *failed;
            confirmed(event->number, {id}, resolving,
                      priority ? "P" + std::to_string(static_cast<int>(severity)) : "");
            record(id);
            spdlog::info("pagerduty: {} {} ({})", resolving ? "resolved" : "reprioritised", id,
                         event->key);
        }
        co_return net::Delivery::done();
    }

    if (event->kind == NotifyKind::merged && event->merged_into) {
        const std::vector<std::string> sources = linked(store_, event->number, true);
        const std::vector<std::string> targets = linked(store_, *event->merged_into, false);
        // PagerDuty merges into one of its incidents: without one on the primary there is
        // nothing to merge into.
        if (sources.empty() || targets.empty()) co_return net::Delivery::done();
        const std::string& target = targets.front();
        json source_refs = json::array();
        for (const std::string& id : sources) {
            if (id != target) source_refs.push_back(reference(id));
        }
        if (source_refs.empty()) co_return net::Delivery::done();
        const std::size_t merging = source_refs.size();
        const json body{{"source_incidents", std::move(source_refs)}};
        const std::string path = "/incidents/" + target + "/merge";
        const auto failed = co_await call("PUT", path, body);
        if (failed) co_return *failed;
        // PagerDuty resolves the incidents it merged.
        confirmed(event->number, sources, true, "");
        spdlog::info("pagerduty: merged {} PagerDuty incident(s) of {} into {}", merging,
                     event->key, target);
        co_return net::Delivery::done();
    }
    co_return net::Delivery::done();
}

}  // namespace incident::notify
