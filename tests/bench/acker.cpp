// The benchmark's ceiling: a Socket Mode client that does nothing but ack. It reads the
// envelope id out of each frame without parsing the JSON, stores nothing, and sends
// {"envelope_id":"..."} back, so whatever rate it reaches is the limit of the fake Slack and
// the load generator, not of a client. Usage: incident-bench-acker ws://127.0.0.1:PORT/link/
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/net/websocket_client.hpp"

namespace {

namespace asio = boost::asio;
using namespace incident;

std::string_view envelope_id(std::string_view frame) {
    constexpr std::string_view key = "\"envelope_id\":\"";
    const auto at = frame.find(key);
    if (at == std::string_view::npos) return {};
    const auto begin = at + key.size();
    const auto end = frame.find('"', begin);
    return end == std::string_view::npos ? std::string_view() : frame.substr(begin, end - begin);
}

asio::awaitable<void> run(asio::io_context& io, net::TlsContext tls, std::string url) {
    net::WebSocketOptions options;
    options.ping_interval = std::chrono::milliseconds(0);
    options.max_queued_messages = 65536;
    net::WebSocketClient ws(io.get_executor(), tls, options);
    const net::NetStatus status = co_await ws.connect(url);
    if (!status.ok()) {
        std::fprintf(stderr, "acker: %s\n", status.message.c_str());
        co_return;
    }
    for (;;) {
        const std::vector<std::string> frames = co_await ws.read_burst(4096);
        if (frames.empty()) break;
        for (const auto& frame : frames) {
            const std::string_view id = envelope_id(frame);
            if (id.empty()) continue;  // hello, disconnect
            std::string ack = "{\"envelope_id\":\"";
            ack.append(id);
            ack += "\"}";
            ws.send(std::move(ack));
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: incident-bench-acker ws://host:port/path\n");
        return 2;
    }
    std::string error;
    auto tls = net::TlsContext::client(net::TlsClientOptions{}, error);
    if (!tls) {
        std::fprintf(stderr, "acker: %s\n", error.c_str());
        return 1;
    }
    asio::io_context io;
    asio::co_spawn(io, run(io, *tls, argv[1]), asio::detached);
    io.run();
    return 0;
}
