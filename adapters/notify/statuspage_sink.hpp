#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/http_client.hpp"
#include "adapters/net/observer.hpp"
#include "adapters/net/outbox_worker.hpp"
#include "adapters/net/tls_context.hpp"
#include "adapters/notify/rest_call.hpp"
#include "bot/events.hpp"
#include "bot/outbox.hpp"
#include "bot/store.hpp"

namespace incident::notify {

struct StatuspageOptions {
    std::string api_url = "https://api.statuspage.io/v1/";  // INCIDENT_BOT_STATUSPAGE_API_URL
    std::string page_id;                                    // INCIDENT_BOT_STATUSPAGE_PAGE_ID
    std::string api_key;  // INCIDENT_BOT_STATUSPAGE_API_KEY: "Authorization: OAuth <key>"
    // Our component name -> its Statuspage component id (INCIDENT_BOT_STATUSPAGE_COMPONENTS);
    // components without one are not sent.
    std::map<std::string, std::string> components;
    std::chrono::milliseconds timeout{10'000};
    net::OutboxWorkerOptions outbox;
};

// A REST API v1 request: `path` is relative to the base URL ("pages/abc/incidents"), the key
// goes in the documented header, a body (when given) as JSON.
net::HttpRequest statuspage_request(const StatuspageOptions& options, std::string method,
                                    std::string_view path, const nlohmann::json* body = nullptr);

// Statuspage's word for a component status: "degraded_performance", "partial_outage", ...
std::string_view statuspage_status(ComponentStatus status);

// What the Statuspage incident is called: the first line of the first message published, cut
// to fit. Never the internal title: customers read it.
std::string statuspage_incident_name(std::string_view published);

using StatuspageStats = RestSinkStats;

// The status page publications (`/incident statuspage`, `component`) also go to an
// Atlassian Statuspage. Each is a Notify written into the outbox for the sink "statuspage"
// with the publication: an incident's first publication creates a Statuspage incident
// (POST .../incidents), whose id is kept with the incident (a live message "statuspage"), so
// later ones and those after a restart update it (PATCH .../incidents/{id}). An incident
// deleted on Statuspage (404 to the PATCH) is created again as it is now. A create carries
// an id of its own in the incident's metadata, saved with the outbox entry before it is
// sent: when no answer came back, the retry first looks for that id among the unresolved
// incidents and adopts the one found instead of creating a second. 429 and 5xx are retried;
// other refusals are kept as failed. Used from the executor's thread only.
class StatuspageSink {
public:
    static constexpr std::string_view k_sink = "statuspage";
    // The live message that holds the Statuspage incident id (channel_id: the page id).
    static constexpr std::string_view k_purpose = "incident";

    StatuspageSink(boost::asio::any_io_executor executor, net::TlsContext tls, Outbox& outbox,
                   Store& store, StatuspageOptions options,
                   net::PlatformObserver* observer = nullptr);
    ~StatuspageSink();
    StatuspageSink(const StatuspageSink&) = delete;
    StatuspageSink& operator=(const StatuspageSink&) = delete;

    void start();
    void stop();
    boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline);
    void wake() { worker_.wake(); }
    StatuspageStats stats() const;

private:
    boost::asio::awaitable<net::Delivery> deliver_entry(OutboxEntry& entry);
    // One REST call; nullopt when it succeeded, else what the entry should do about it.
    boost::asio::awaitable<std::optional<net::Delivery>> call(const std::string& method,
                                                              const std::string& path,
                                                              const nlohmann::json& body,
                                                              nlohmann::json* answer = nullptr,
                                                              int* status = nullptr);
    // PATCH of the linked incident `id`; `gone` is set instead of a failure when Statuspage
    // no longer has it (deleted there), for the caller to create it again.
    boost::asio::awaitable<std::optional<net::Delivery>> update(const std::string& id,
                                                                const nlohmann::json& body,
                                                                bool& gone);
    // Creates the Statuspage incident of `event`'s incident in `state`, or adopts the one an
    // earlier attempt of `entry` created without hearing back.
    boost::asio::awaitable<net::Delivery> create(const Notify& event, OutboxEntry& entry,
                                                 PublicState state);
    void link(std::int64_t incident, const std::string& id);
    // The Statuspage incident of `incident` on this page, if one was created.
    std::optional<std::string> linked(std::int64_t incident);
    // The mapped components a responder of `incident` set, with their current status.
    nlohmann::json affected(std::int64_t incident);

    StatuspageOptions options_;
    Outbox& outbox_;
    Store& store_;
    net::HttpClient client_;
    StatuspageStats stats_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    net::OutboxWorker worker_;
    std::size_t waker_ = 0;
};

}  // namespace incident::notify
