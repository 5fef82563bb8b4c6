#pragma once

#include <memory>
#include <optional>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace incident::net {

struct TlsClientOptions {
    // The system's default CA locations (/etc/ssl/certs ...).
    bool use_system_ca = true;
    // A PEM bundle trusted in addition, e.g. a company CA; empty for none.
    std::string extra_ca_file;

    // use_system_ca, plus INCIDENT_BOT_CA_FILE when set.
    static TlsClientOptions from_env();
};

// A shared, immutable TLS configuration. Client contexts always verify the peer's
// chain and, per connection, its name (see detail/tls.hpp); there is no switch to
// turn verification off.
class TlsContext {
public:
    // Nullopt with `error` set (naming the file) when a CA file cannot be loaded.
    static std::optional<TlsContext> client(const TlsClientOptions& options, std::string& error);
    // For servers, test servers in practice: certificate chain and key as PEM files.
    static std::optional<TlsContext> server(const std::string& certificate_chain_file,
                                            const std::string& private_key_file,
                                            std::string& error);

    bool is_server() const;
    // The Asio context, for the network layer's own sources.
    boost::asio::ssl::context& native() const;

private:
    struct Impl;
    explicit TlsContext(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<Impl> impl_;
};

}  // namespace incident::net
