#include "adapters/net/detail/http_connection.hpp"

namespace incident::net::detail {

using namespace http_impl;

awaitable<void> run_plain_connection(std::shared_ptr<State> state, tcp::socket socket,
                                     std::string remote) {
    // The top of the connection: anything thrown below ends only this connection.
    try {
        beast::tcp_stream stream(std::move(socket));
        Registration registration(state, [&stream] { stream.close(); });
        co_await serve(state, stream, registration, remote);
    } catch (const std::exception& e) {
        spdlog::error("http server: connection with {} failed: {}", remote, e.what());
    }
}

}  // namespace incident::net::detail
