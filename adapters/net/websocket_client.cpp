#include "adapters/net/websocket_client.hpp"

#include "adapters/net/detail/ws_core.hpp"
#include "adapters/net/url.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace incident::net {

using boost::asio::awaitable;

WebSocketClient::WebSocketClient(boost::asio::any_io_executor executor, TlsContext tls,
                                 WebSocketOptions options)
    : executor_(std::move(executor)), tls_(std::move(tls)), options_(std::move(options)) {}

WebSocketClient::~WebSocketClient() {
    if (core_) core_->abort("client destroyed");
}

awaitable<NetStatus> WebSocketClient::connect(std::string url_text) {
    if (connect_called_) {
        co_return NetStatus::failure(boost::asio::error::already_connected,
                                     "WebSocketClient is single use; make a new one");
    }
    connect_called_ = true;
    std::string error;
    const auto url = Url::parse(url_text, &error);
    if (!url) {
        co_return NetStatus::failure(make_error_code(boost::system::errc::invalid_argument), error);
    }
    std::shared_ptr<detail::WsCore> core;
    auto status = co_await detail::connect_websocket(executor_, tls_, *url, options_, core);
    if (status.ok()) core_ = std::move(core);
    co_return status;
}

awaitable<std::vector<std::string>> WebSocketClient::read_burst(std::size_t max) {
    // Copies: the coroutine must not touch `this` after resuming.
    auto core = core_;
    auto executor = executor_;
    std::vector<std::string> burst;
    if (!core) co_return burst;
    auto first = co_await core->read();
    if (!first) co_return burst;
    burst.push_back(std::move(*first));
    // The reader hands over one message per turn of the io_context and refills from the
    // socket a few KB at a time: yield while messages or bytes keep coming. A frame stalled
    // halfway ends the wait after a few turns.
    constexpr int k_max_idle_turns = 16;
    int waited = 0;
    while (burst.size() < max) {
        co_await boost::asio::post(executor, boost::asio::use_awaitable);
        std::size_t added = 0;
        while (burst.size() < max) {
            auto more = core->try_read();
            if (!more) break;
            burst.push_back(std::move(*more));
            ++added;
        }
        if (added > 0) {
            waited = 0;
        } else if (!core->input_pending() || ++waited > k_max_idle_turns) {
            break;
        }
    }
    co_return burst;
}

awaitable<std::optional<std::string>> WebSocketClient::read() {
    // A local copy: the coroutine must not touch `this` after resuming, the client
    // may be gone by then.
    auto core = core_;
    if (!core) co_return std::nullopt;
    co_return co_await core->read();
}

bool WebSocketClient::send(std::string text) {
    return core_ && core_->send(std::move(text));
}

awaitable<void> WebSocketClient::flush() {
    if (auto core = core_) co_await core->flush();
}

awaitable<void> WebSocketClient::close(std::uint16_t code, std::string reason) {
    if (auto core = core_) co_await core->close(code, std::move(reason));
}

void WebSocketClient::abort() {
    if (core_) core_->abort("aborted by the client");
}

bool WebSocketClient::is_open() const {
    return core_ && core_->is_open();
}

WebSocketQueueStats WebSocketClient::queue_stats() const {
    return core_ ? core_->queue_stats() : WebSocketQueueStats{};
}

std::chrono::milliseconds WebSocketClient::silent_for() const {
    return core_ ? core_->silent_for() : std::chrono::milliseconds(0);
}

WebSocketCloseStatus WebSocketClient::close_status() const {
    if (core_) return core_->status();
    WebSocketCloseStatus status;
    status.kind = WebSocketCloseStatus::Kind::failed;
    status.message = connect_called_ ? "connect failed" : "not connected";
    return status;
}

}  // namespace incident::net
