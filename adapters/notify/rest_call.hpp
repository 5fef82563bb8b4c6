#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/http_client.hpp"
#include "adapters/net/outbox_worker.hpp"

namespace incident::notify {

// What a REST sink of the outbox (PagerDuty, Statuspage) did since this process started;
// what is waiting is in the outbox.
struct RestSinkStats {
    std::uint64_t calls = 0;  // REST calls answered with success
    std::uint64_t failed = 0;
    std::uint64_t retries = 0;
    std::size_t pending = 0;
};

// One call of a SaaS REST API for an outbox entry: nullopt when it succeeded (its JSON
// answer in `answer`, when asked), else what the entry should do about it (no answer, 408,
// 420, 429 and 5xx are retried), the error naming
// `what` ("pagerduty PUT /incidents/X") and the API's words without `secret`. `alive` is the
// sink's: once it is gone, nothing of it (`stats`) is touched. `status`, when given, gets
// the HTTP status (0: no answer), for a sink that treats one refusal in its own way.
boost::asio::awaitable<std::optional<net::Delivery>> rest_call(
    net::HttpClient& client, net::HttpRequest request, std::shared_ptr<bool> alive,
    std::string what, std::string_view secret, RestSinkStats& stats,
    nlohmann::json* answer = nullptr, int* status = nullptr);

}  // namespace incident::notify
