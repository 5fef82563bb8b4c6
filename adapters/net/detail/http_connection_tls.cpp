#include "adapters/net/detail/http_connection.hpp"

namespace incident::net::detail {

using namespace http_impl;

awaitable<void> run_tls_connection(std::shared_ptr<State> state, tcp::socket socket,
                                   std::string remote) {
    // The top of the connection: anything thrown below ends only this connection.
    try {
        TlsStream stream(beast::tcp_stream(std::move(socket)), state->options.tls->native());
        Registration registration(state, [&stream] { beast::get_lowest_layer(stream).close(); });
        error_code ec;
        beast::get_lowest_layer(stream).expires_after(state->options.header_timeout);
        co_await stream.async_handshake(asio::ssl::stream_base::server,
                                        asio::redirect_error(use_awaitable, ec));
        if (ec) {
            spdlog::info("http server: TLS handshake with {} failed: {}", remote, ec.message());
            co_return;
        }
        co_await serve(state, stream, registration, remote);
    } catch (const std::exception& e) {
        spdlog::error("http server: connection with {} failed: {}", remote, e.what());
    }
}

}  // namespace incident::net::detail
