#include "adapters/notify/rest_call.hpp"

#include "adapters/notify/redact.hpp"

namespace incident::notify {

boost::asio::awaitable<std::optional<net::Delivery>> rest_call(
    net::HttpClient& client, net::HttpRequest request, std::shared_ptr<bool> alive,
    std::string what, std::string_view secret, RestSinkStats& stats, nlohmann::json* answer,
    int* status) {
    const net::HttpResponse response = co_await client.request(std::move(request));
    if (!*alive) co_return net::Delivery::retry("stopped before the answer was read");
    if (status) *status = response.status;
    if (response.ok()) {
        ++stats.calls;
        if (answer) *answer = nlohmann::json::parse(response.body, nullptr, false);
        co_return std::nullopt;
    }
    const net::Delivery refused = net::delivery_of_refusal(
        response, what + ": " + server_words(net::describe_answer(response), {secret}));
    ++(refused.status == net::Delivery::Status::transient ? stats.retries : stats.failed);
    co_return refused;
}

}  // namespace incident::notify
