#include "adapters/net/shutdown.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/net/websocket_client.hpp"

namespace incident::net {

namespace asio = boost::asio;

namespace {

// Spawned on its own: the close handshake may outlive the deadline, and holds the socket.
asio::awaitable<void> send_close(std::shared_ptr<WebSocketClient> socket) {
    co_await socket->close(1000, "shutting down");
}

}  // namespace

asio::awaitable<bool> poll_until(asio::any_io_executor executor,
                                 std::chrono::steady_clock::time_point deadline,
                                 std::function<bool()> done) {
    asio::steady_timer timer(executor);
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        timer.expires_after(std::chrono::milliseconds(5));
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return true;
}

asio::awaitable<void> close_for_shutdown(asio::any_io_executor executor,
                                         std::shared_ptr<WebSocketClient> socket,
                                         std::chrono::steady_clock::time_point deadline) {
    asio::co_spawn(executor, send_close(socket), asio::detached);
    std::function<bool()> closed = [socket] { return !socket->is_open(); };
    co_await poll_until(executor, deadline, std::move(closed));
    if (socket->is_open()) socket->abort();
}

}  // namespace incident::net
