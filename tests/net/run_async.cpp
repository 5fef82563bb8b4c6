#include "run_async.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>

namespace incident::net::testing {

namespace asio = boost::asio;

bool run_async(asio::io_context& io, std::function<asio::awaitable<void>()> body,
               std::chrono::milliseconds limit) {
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
        done = true;
        error = e;
        io.stop();
    });
    io.restart();
    io.run_for(limit);
    if (error) std::rethrow_exception(error);
    return done;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<bool> wait_until(std::function<bool()> condition, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        co_await sleep_for(std::chrono::milliseconds(5));
    }
    co_return true;
}

}  // namespace incident::net::testing
