#include "adapters/notify/statuspage_sink.hpp"

#include <cstdio>
#include <random>

#include <spdlog/spdlog.h>

#include "bot/text.hpp"

namespace incident::notify {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// Statuspage limits a name to 255 characters; a headline reads better much shorter.
constexpr std::size_t k_max_name_bytes = 120;

// The ids of a components map ({"<id>": "<status>"}), as component_ids lists them.
json ids_of(const json& statuses) {
    json ids = json::array();
    for (const auto& [id, status] : statuses.items()) ids.push_back(id);
    return ids;
}

// The metadata a create carries ({"incident_bot": {"create_id": ...}}: Statuspage wants an
// object under each top-level key), and the progress key it is saved under in the entry.
constexpr const char* k_metadata_key = "incident_bot";
constexpr const char* k_create_id = "create_id";

std::string new_create_id() {
    std::random_device random;
    std::string id;
    for (int i = 0; i < 4; ++i) {
        char part[9];
        std::snprintf(part, sizeof part, "%08x", static_cast<unsigned>(random()));
        id += part;
    }
    return id;
}

// The id of the incident among `incidents` (a list as GET .../incidents/unresolved answers)
// whose metadata holds `create_id`.
std::optional<std::string> created_with(const json& incidents, const std::string& create_id) {
    if (!incidents.is_array()) return std::nullopt;
    for (const json& incident : incidents) {
        if (!incident.is_object()) continue;
        const json metadata = incident.value("metadata", json::object());
        if (!metadata.is_object()) continue;
        const json mark = metadata.value(k_metadata_key, json::object());
        if (!mark.is_object() || mark.value(k_create_id, json()) != create_id) continue;
        const json id = incident.value("id", json());
        if (id.is_string() && !id.get<std::string>().empty()) return id.get<std::string>();
    }
    return std::nullopt;
}

}  // namespace

net::HttpRequest statuspage_request(const StatuspageOptions& options, std::string method,
                                    std::string_view path, const json* body) {
    net::HttpRequest request;
    request.method = std::move(method);
    std::string_view base = options.api_url;
    while (base.ends_with('/')) base.remove_suffix(1);
    request.url = std::string(base) + "/" + std::string(path);
    request.headers.set("Authorization", "OAuth " + options.api_key);
    request.headers.set("Accept", "application/json");
    if (body) {
        request.headers.set("Content-Type", "application/json");
        request.body = body->dump();
    }
    return request;
}

std::string_view statuspage_status(ComponentStatus status) {
    switch (status) {
        case ComponentStatus::operational:
            return "operational";
        case ComponentStatus::degraded:
            return "degraded_performance";
        case ComponentStatus::partial_outage:
            return "partial_outage";
        case ComponentStatus::major_outage:
            return "major_outage";
    }
    return "operational";
}

std::string statuspage_incident_name(std::string_view published) {
    const std::string_view first_line = trim(published.substr(0, published.find('\n')));
    return truncate_utf8(first_line, k_max_name_bytes);
}

StatuspageSink::StatuspageSink(asio::any_io_executor executor, net::TlsContext tls, Outbox& outbox,
                               Store& store, StatuspageOptions options,
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

StatuspageSink::~StatuspageSink() {
    *alive_ = false;
    outbox_.forget_waker(k_sink, waker_);
    stop();
}

void StatuspageSink::start() {
    spdlog::info("statuspage: publications go to Statuspage page {} ({} component id(s))",
                 options_.page_id, options_.components.size());
    worker_.start();
}

void StatuspageSink::stop() {
    worker_.stop();
}

asio::awaitable<void> StatuspageSink::drain(std::chrono::steady_clock::time_point deadline) {
    co_await worker_.drain(deadline);
}

StatuspageStats StatuspageSink::stats() const {
    StatuspageStats s = stats_;
    s.pending = worker_.pending();
    return s;
}

asio::awaitable<std::optional<net::Delivery>> StatuspageSink::call(const std::string& method,
                                                                   const std::string& path,
                                                                   const json& body, json* answer,
                                                                   int* status) {
    // Named before the co_await: GCC 12 mishandles temporaries in it.
    net::HttpRequest request =
        statuspage_request(options_, method, path, method == "GET" ? nullptr : &body);
    std::string what = "statuspage " + method + " " + path;
    co_return co_await rest_call(client_, std::move(request), alive_, std::move(what),
                                 options_.api_key, stats_, answer, status);
}

asio::awaitable<std::optional<net::Delivery>> StatuspageSink::update(const std::string& id,
                                                                     const json& body, bool& gone) {
    int status = 0;
    const std::string path = "pages/" + options_.page_id + "/incidents/" + id;
    auto failed = co_await call("PATCH", path, body, nullptr, &status);
    if (failed && status == 404) {
        spdlog::warn(
            "statuspage: incident {} is no longer on page {} (deleted there?); creating "
            "it again",
            id, options_.page_id);
        gone = true;
        co_return std::nullopt;
    }
    co_return failed;
}

std::optional<std::string> StatuspageSink::linked(std::int64_t incident) {
    const auto live = store_.live_message(incident, k_sink, k_purpose);
    // An id of another page (the setting changed) is no incident of this one.
    if (!live || live->channel_id != options_.page_id || live->message_id.empty()) {
        return std::nullopt;
    }
    return live->message_id;
}

void StatuspageSink::link(std::int64_t incident, const std::string& id) {
    LiveMessage live;
    live.incident = incident;
    live.platform = std::string(k_sink);
    live.purpose = std::string(k_purpose);
    live.channel_id = options_.page_id;
    live.message_id = id;
    live.updated_at = outbox_.now();
    store_.transaction([&] { store_.save_live_message(live); });
}

json StatuspageSink::affected(std::int64_t incident) {
    json statuses = json::object();
    for (const ComponentState& c : store_.components()) {
        const auto id = options_.components.find(c.name);
        if (id == options_.components.end() || c.incident != incident) continue;
        statuses[id->second] = statuspage_status(c.status);
    }
    return statuses;
}

asio::awaitable<net::Delivery> StatuspageSink::deliver_entry(OutboxEntry& entry) {
    const auto effect = effect_from_json(entry.payload);
    const Notify* event = effect ? std::get_if<Notify>(&*effect) : nullptr;
    if (!event) co_return net::Delivery::fail("this incident-bot cannot read the stored event");
    // Every other event is internal: customers see only what was published.
    if (event->kind != NotifyKind::status_page && event->kind != NotifyKind::component) {
        co_return net::Delivery::done();
    }
    const std::string pages = "pages/" + options_.page_id;
    const std::optional<std::string> existing = linked(event->number);
    bool gone = false;

    if (event->kind == NotifyKind::component) {
        const auto id = event->component_status ? options_.components.find(event->component)
                                                : options_.components.end();
        if (id == options_.components.end()) {
            spdlog::debug("statuspage: {} has no Statuspage component id; not sent",
                          event->component);
            co_return net::Delivery::done();
        }
        const std::string status(statuspage_status(*event->component_status));
        if (existing) {
            // component_ids lists every component the incident affects, not only this one.
            json statuses = affected(event->number);
            statuses[id->second] = status;
            const json body{
                {"incident", {{"component_ids", ids_of(statuses)}, {"components", statuses}}}};
            const auto failed = co_await update(*existing, body, gone);
            if (failed) co_return *failed;
            if (gone) {
                // As it is now: its last public state, its last words and its components.
                const auto messages = store_.status_messages(event->number);
                const PublicState state =
                    messages.empty() ? PublicState::investigating : messages.back().state;
                co_return co_await create(*event, entry, state);
            }
        } else {
            // Nothing published yet: the component alone, as the public page shows it.
            const json body{{"component", {{"status", status}}}};
            const auto failed = co_await call("PATCH", pages + "/components/" + id->second, body);
            if (failed) co_return *failed;
        }
        spdlog::info("statuspage: {} is {} ({})", event->component, status, event->key);
        co_return net::Delivery::done();
    }

    const PublicState state = event->public_state.value_or(PublicState::investigating);
    if (existing) {
        json incident{{"status", std::string(to_string(state))}};
        if (!event->text.empty()) incident["body"] = event->text;
        const json body{{"incident", std::move(incident)}};
        const auto failed = co_await update(*existing, body, gone);
        if (failed) co_return *failed;
        if (!gone) {
            spdlog::info("statuspage: updated incident {} ({}, {})", *existing, to_string(state),
                         event->key);
            co_return net::Delivery::done();
        }
    }
    co_return co_await create(*event, entry, state);
}

asio::awaitable<net::Delivery> StatuspageSink::create(const Notify& event, OutboxEntry& entry,
                                                      PublicState state) {
    const std::string pages = "pages/" + options_.page_id;
    // Named by the first message published; its words are this publication's, or the last
    // ones published when it has none (a change of state alone, a component, a re-creation).
    std::string first_text;
    std::string last_text;
    for (const StatusMessage& m : store_.status_messages(event.number)) {
        if (m.text.empty()) continue;
        if (first_text.empty()) first_text = m.text;
        last_text = m.text;
    }
    const bool own_words = event.kind == NotifyKind::status_page && !event.text.empty();
    if (first_text.empty()) first_text = own_words ? event.text : std::string();
    if (first_text.empty()) {
        // The public page does not show an incident without words; neither does Statuspage.
        co_return net::Delivery::done();
    }

    json progress = net::progress_of(entry);
    std::string create_id = progress.value(k_create_id, std::string());
    if (!create_id.empty()) {
        // An earlier attempt sent this create and heard nothing back: Statuspage may have it.
        json unresolved;
        const auto failed =
            co_await call("GET", pages + "/incidents/unresolved?per_page=100", json(), &unresolved);
        if (failed) co_return *failed;
        if (const auto found = created_with(unresolved, create_id)) {
            link(event.number, *found);
            spdlog::info(
                "statuspage: adopted incident {} for {}, created by an attempt that got "
                "no answer",
                *found, event.key);
            co_return net::Delivery::done();
        }
    } else {
        // Saved before the POST goes out, so that a retry knows what to look for.
        create_id = new_create_id();
        progress[k_create_id] = create_id;
        entry.result = progress.dump();
        outbox_.save(entry);
    }

    json incident{{"name", statuspage_incident_name(first_text)},
                  {"status", std::string(to_string(state))}};
    const std::string& words = own_words ? event.text : last_text;
    if (!words.empty()) incident["body"] = words;
    if (json statuses = affected(event.number); !statuses.empty()) {
        incident["component_ids"] = ids_of(statuses);
        incident["components"] = std::move(statuses);
    }
    json mark{{k_create_id, create_id}};
    incident["metadata"] = json{{k_metadata_key, std::move(mark)}};
    const json body{{"incident", std::move(incident)}};
    json answer;
    const auto failed = co_await call("POST", pages + "/incidents", body, &answer);
    if (failed) co_return *failed;
    if (!answer.is_object() || !answer.value("id", json()).is_string() ||
        answer["id"].get<std::string>().empty()) {
        // Created, probably: the retry finds it by its create id instead of making another.
        co_return net::Delivery::retry("statuspage POST " + pages +
                                       "/incidents: the answer holds no incident id");
    }
    const std::string id = answer["id"].get<std::string>();
    link(event.number, id);
    spdlog::info("statuspage: created incident {} for {}", id, event.key);
    co_return net::Delivery::done();
}

}  // namespace incident::notify
