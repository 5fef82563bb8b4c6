#include "fault_proxy.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace incident::testing {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

struct FaultProxy::Link {
    tcp::socket client;
    tcp::socket server;
    bool websocket = false;  // the client asked for an upgrade
    bool upgraded = false;   // the server's 101 went through: what follows are frames
    bool silent = false;     // nothing passes any more; the sockets stay open

    void close() {
        error_code ignored;
        client.shutdown(tcp::socket::shutdown_both, ignored);
        client.close(ignored);
        server.shutdown(tcp::socket::shutdown_both, ignored);
        server.close(ignored);
    }
};

namespace {

bool contains_lower(std::string_view bytes, std::string_view needle) {
    std::string lower(bytes);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower.find(needle) != std::string::npos;
}

// Where to cut `bytes`, which start a server frame (unmasked): halfway through its
// payload, or halfway through what arrived when the frame is longer than that.
std::size_t middle_of_frame(std::string_view bytes) {
    if (bytes.size() < 2) return 0;
    std::size_t header = 2;
    std::uint64_t length = static_cast<unsigned char>(bytes[1]) & 0x7F;
    if (length == 126 || length == 127) {
        const std::size_t extra = length == 126 ? 2 : 8;
        if (bytes.size() < header + extra) return bytes.size() / 2;
        length = 0;
        for (std::size_t i = 0; i < extra; ++i) {
            length = (length << 8) | static_cast<unsigned char>(bytes[header + i]);
        }
        header += extra;
    }
    const std::size_t cut =
        header + static_cast<std::size_t>(std::max<std::uint64_t>(length / 2, 1));
    return std::min(cut, std::max<std::size_t>(bytes.size() / 2, 1));
}

}  // namespace

FaultProxy::FaultProxy(asio::any_io_executor executor, std::uint16_t target_port)
    : executor_(executor), target_port_(target_port), acceptor_(executor) {
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(executor_, accept_loop(), asio::detached);
}

void FaultProxy::refuse_connections() {
    error_code ignored;
    acceptor_.close(ignored);
    for (const auto& weak : links_) {
        if (const auto link = weak.lock()) link->close();
    }
}

void FaultProxy::accept_again() {
    if (acceptor_.is_open()) return;
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port_);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    asio::co_spawn(executor_, accept_loop(), asio::detached);
}

FaultProxy::~FaultProxy() {
    error_code ignored;
    acceptor_.close(ignored);
    for (const auto& weak : links_) {
        if (const auto link = weak.lock()) link->close();
    }
}

std::uint16_t FaultProxy::port() const {
    return port_;
}

void FaultProxy::inject(const std::string& bytes) {
    for (const auto& weak : links_) {
        const auto link = weak.lock();
        if (!link || !link->upgraded || !link->client.is_open()) continue;
        error_code ignored;
        asio::write(link->client, asio::buffer(bytes), ignored);
    }
}

void FaultProxy::silence() {
    for (const auto& weak : links_) {
        const auto link = weak.lock();
        if (!link || !link->upgraded || !link->client.is_open() || link->silent) continue;
        link->silent = true;
        silenced_.push_back(link);
    }
}

asio::awaitable<void> FaultProxy::accept_loop() {
    while (acceptor_.is_open()) {
        error_code ec;
        tcp::socket client =
            co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        asio::co_spawn(executor_, serve(std::move(client)), asio::detached);
    }
}

asio::awaitable<void> FaultProxy::serve(tcp::socket client) {
    auto link = std::make_shared<Link>(Link{std::move(client), tcp::socket(executor_)});
    error_code ec;
    const tcp::endpoint target(asio::ip::make_address("127.0.0.1"), target_port_);
    co_await link->server.async_connect(target, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        link->close();
        co_return;
    }
    std::erase_if(links_, [](const auto& weak) { return weak.expired(); });
    links_.push_back(link);
    asio::co_spawn(executor_, pump(link, false), asio::detached);
    co_await pump(link, true);
}

asio::awaitable<void> FaultProxy::pump(std::shared_ptr<Link> link, bool from_server) {
    tcp::socket& from = from_server ? link->server : link->client;
    tcp::socket& to = from_server ? link->client : link->server;
    std::array<char, 16 * 1024> buffer{};
    while (true) {
        error_code ec;
        const std::size_t n = co_await from.async_read_some(
            asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
        // Silenced: these bytes and all that follow go nowhere, and the sockets stay open.
        if (link->silent) co_return;
        if (ec) break;
        std::string_view bytes(buffer.data(), n);
        if (!from_server && !link->websocket)
            link->websocket = contains_lower(bytes, "upgrade: websocket");
        if (from_server && link->websocket && !link->upgraded) {
            link->upgraded = bytes.starts_with("HTTP/1.1 101");
        } else if (from_server && link->upgraded && tear_) {
            tear_ = false;
            ++torn_;
            co_await asio::async_write(to, asio::buffer(bytes.substr(0, middle_of_frame(bytes))),
                                       asio::redirect_error(asio::use_awaitable, ec));
            break;
        }
        co_await asio::async_write(to, asio::buffer(bytes),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
    }
    link->close();
}

}  // namespace incident::testing
