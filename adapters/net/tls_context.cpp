#include "adapters/net/tls_context.hpp"

#include "adapters/net/detail/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>

#include <cstdlib>
#include <mutex>
#include <optional>

#include <spdlog/spdlog.h>

namespace incident::net {

namespace ssl = boost::asio::ssl;

// A client context is made on its first use (native()), not with the TlsContext: the first
// SSL_CTX initialises OpenSSL (its configuration, providers and algorithm tables) and
// set_default_verify_paths parses the whole system CA bundle: together about 4 MB of resident
// memory, for a bot that may talk plain HTTP only (a proxy, the benchmark's fake Slack). A
// server context and a client one with an extra CA file are made at once, so that a bad file
// is reported where it was before: by server() and client().
struct TlsContext::Impl {
    Impl(ssl::context::method method, bool server, TlsClientOptions options = {})
        : method(method), server(server), options(std::move(options)) {}
    ssl::context::method method;
    bool server;
    TlsClientOptions options;
    std::once_flag made;
    std::optional<ssl::context> context;

    ssl::context& get() {
        std::call_once(made, [this] {
            if (context) return;
            std::string error;
            if (!make_client(error)) spdlog::error("TLS: {}", error);
        });
        return *context;
    }
    // The client context of `options`; false with `error` set when a CA file cannot be
    // loaded (the context is kept: it verifies with what did load).
    bool make_client(std::string& error);
};

TlsClientOptions TlsClientOptions::from_env() {
    TlsClientOptions options;
    if (const char* file = std::getenv("INCIDENT_BOT_CA_FILE"); file && *file) {
        options.extra_ca_file = file;
    }
    return options;
}

namespace {

constexpr long k_options = ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_compression;

std::string describe(const boost::system::error_code& ec) {
    std::string text = ec.message();
    // Asio reports only the first queued OpenSSL error; the rest would explain a bad PEM.
    while (const unsigned long e = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(e, buffer, sizeof buffer);
        text += std::string("; ") + buffer;
    }
    return text;
}

}  // namespace

bool TlsContext::Impl::make_client(std::string& error) {
    context.emplace(method);
    auto& ctx = *context;
    boost::system::error_code ec;
    ctx.set_options(k_options, ec);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_verify_mode(ssl::verify_peer, ec);
    if (options.use_system_ca) {
        ctx.set_default_verify_paths(ec);
        if (ec) {
            error = "cannot load the system CA certificates: " + describe(ec);
            return false;
        }
    }
    if (!options.extra_ca_file.empty()) {
        ctx.load_verify_file(options.extra_ca_file, ec);
        if (ec) {
            error = "cannot load CA file '" + options.extra_ca_file +
                    "' (INCIDENT_BOT_CA_FILE): " + describe(ec);
            return false;
        }
    }
    return true;
}

std::optional<TlsContext> TlsContext::client(const TlsClientOptions& options, std::string& error) {
    auto impl = std::make_shared<Impl>(ssl::context::tls_client, false, options);
    if (!options.extra_ca_file.empty() && !impl->make_client(error)) return std::nullopt;
    return TlsContext(std::move(impl));
}

std::optional<TlsContext> TlsContext::server(const std::string& certificate_chain_file,
                                             const std::string& private_key_file,
                                             std::string& error) {
    auto impl = std::make_shared<Impl>(ssl::context::tls_server, true);
    impl->context.emplace(impl->method);
    auto& ctx = *impl->context;
    boost::system::error_code ec;
    ctx.set_options(k_options | ssl::context::single_dh_use, ec);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.use_certificate_chain_file(certificate_chain_file, ec);
    if (ec) {
        error = "cannot load certificate chain '" + certificate_chain_file + "': " + describe(ec);
        return std::nullopt;
    }
    ctx.use_private_key_file(private_key_file, ssl::context::pem, ec);
    if (ec) {
        error = "cannot load private key '" + private_key_file + "': " + describe(ec);
        return std::nullopt;
    }
    return TlsContext(std::move(impl));
}

bool TlsContext::is_server() const {
    return impl_->server;
}

ssl::context& TlsContext::native() const {
    return impl_->get();
}

}  // namespace incident::net

namespace incident::net::detail {

NetStatus prepare_client_tls(SSL* ssl, const std::string& host) {
    boost::system::error_code not_ip;
    boost::asio::ip::make_address(host, not_ip);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    bool ok = true;
    if (!not_ip) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
    } else {
        ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 &&
             SSL_set1_host(ssl, host.c_str()) == 1;
    }
    if (!ok) {
        return NetStatus::failure(make_error_code(boost::system::errc::invalid_argument),
                                  "cannot set up TLS for host '" + host + "'");
    }
    return NetStatus::success();
}

std::string describe_tls_error(SSL* ssl, const boost::system::error_code& ec) {
    std::string text = ec.message();
    const long verdict = SSL_get_verify_result(ssl);
    if (verdict != X509_V_OK) {
        text += std::string(": ") + X509_verify_cert_error_string(verdict);
    }
    return text;
}

}  // namespace incident::net::detail
