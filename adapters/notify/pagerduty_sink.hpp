#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

struct PagerDutyOptions {
    std::string api_url = "https://api.pagerduty.com";  // INCIDENT_BOT_PAGERDUTY_API_URL
    std::string token;  // INCIDENT_BOT_PAGERDUTY_API_TOKEN: "Authorization: Token token=..."
    std::string from;   // INCIDENT_BOT_PAGERDUTY_FROM: the PagerDuty user the changes are by
    std::chrono::milliseconds timeout{10'000};
    net::OutboxWorkerOptions outbox;
};

// A REST API v2 request with the documented headers: the token, the version, and `From`
// (the user changes are made by). A body, when given, is sent as JSON.
net::HttpRequest pagerduty_request(const PagerDutyOptions& options, std::string method,
                                   std::string_view path, const nlohmann::json* body = nullptr);

// Priority name ("P1") -> id, from the answer of GET /priorities; entries without both
// strings are left out.
std::map<std::string, std::string> priorities_of(const nlohmann::json& answer);

using PagerDutyStats = RestSinkStats;

// PagerDuty follows the incidents it is linked to (opened by its webhook, or
// `/incident pagerduty <id>`): on resolve its incidents are resolved, a new severity sets
// their priority (SEVn -> the priority named Pn), and a merge merges them into the primary's
// PagerDuty incident. Each change is a Notify written into the outbox for the sink
// "pagerduty" with the change that caused it, delivered in order per incident and retried
// on 429 and 5xx. What PagerDuty confirmed is recorded on the incident's alerts, so the
// webhook PagerDuty then sends changes nothing. Used from the executor's thread only.
class PagerDutySink {
public:
    static constexpr std::string_view k_sink = "pagerduty";

    PagerDutySink(boost::asio::any_io_executor executor, net::TlsContext tls, Outbox& outbox,
                  Store& store, PagerDutyOptions options,
                  net::PlatformObserver* observer = nullptr);
    ~PagerDutySink();
    PagerDutySink(const PagerDutySink&) = delete;
    PagerDutySink& operator=(const PagerDutySink&) = delete;

    void start();
    void stop();
    boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline);
    void wake() { worker_.wake(); }
    PagerDutyStats stats() const;

private:
    boost::asio::awaitable<net::Delivery> deliver_entry(OutboxEntry& entry);
    // One REST call; nullopt when it succeeded, else what the entry should do about it.
    boost::asio::awaitable<std::optional<net::Delivery>> call(const std::string& method,
                                                              const std::string& path,
                                                              const nlohmann::json& body,
                                                              nlohmann::json* answer = nullptr);
    // The id of the priority named "P<n>" for SEVn (GET /priorities, read once); nullopt
    // when the account has none of that name. `refused` is set when the call failed.
    boost::asio::awaitable<std::optional<std::string>> priority_id(
        Severity severity, std::optional<net::Delivery>& refused);
    // Records on the incident's alerts what PagerDuty confirmed of these incidents: resolved
    // (a resolve or a merge of ours), a priority set ("P2"; empty: none).
    void confirmed(std::int64_t incident, const std::vector<std::string>& ids, bool resolved,
                   const std::string& priority);

    PagerDutyOptions options_;
    Outbox& outbox_;
    Store& store_;
    net::HttpClient client_;
    std::optional<std::map<std::string, std::string>> priorities_;  // name -> id
    PagerDutyStats stats_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    net::OutboxWorker worker_;
    std::size_t waker_ = 0;
};

}  // namespace incident::notify
