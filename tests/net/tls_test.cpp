#include "adapters/net/http_client.hpp"
#include "adapters/net/http_server.hpp"
#include "run_async.hpp"
#include "test_certs.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

using namespace incident::net;
using incident::net::testing::run_async;
using incident::net::testing::system_client_context;
using incident::net::testing::TestCertificates;
namespace asio = boost::asio;
using asio::awaitable;

namespace {

awaitable<HttpResponse> hello(HttpRequest request) {
    co_return HttpResponse::json(200,
                                 R"({"ok":true,"path":")" + std::string(request.path()) + "\"}");
}

HttpServerOptions tls_options(const TestCertificates& certs) {
    HttpServerOptions options;
    options.tls = certs.server_context();
    return options;
}

awaitable<HttpResponse> get(HttpClient& client, const std::string& url) {
    HttpRequest request;
    request.url = url;
    co_return co_await client.request(request);
}

}  // namespace

TEST_CASE("tls: https round trip with a CA trusted through the extra CA file") {
    const TestCertificates certs;
    asio::io_context io;
    HttpServer server(io.get_executor(), hello, tls_options(certs));
    REQUIRE(server.listen("127.0.0.1:0").ok());
    HttpClient client(io.get_executor(), certs.client_context());
    const std::string port = std::to_string(server.port());

    CHECK(run_async(io, [&]() -> awaitable<void> {
        // By IP (matched against the IP SAN) and by name (DNS SAN, SNI sent).
        for (const std::string host : {"127.0.0.1", "localhost"}) {
            const HttpResponse response =
                co_await get(client, "https://" + host + ":" + port + "/api/auth.test");
            CHECK_MESSAGE(response.status == 200, response.error);
            CHECK(response.body == R"({"ok":true,"path":"/api/auth.test"})");
            CHECK(response.headers.get("content-type") == "application/json; charset=utf-8");
        }
    }));
}

TEST_CASE("tls: a client that does not trust the CA fails verification") {
    const TestCertificates certs;
    asio::io_context io;
    HttpServer server(io.get_executor(), hello, tls_options(certs));
    REQUIRE(server.listen("127.0.0.1:0").ok());
    HttpClient client(io.get_executor(), system_client_context());

    CHECK(run_async(io, [&]() -> awaitable<void> {
        const HttpResponse response =
            co_await get(client, "https://localhost:" + std::to_string(server.port()) + "/");
        CHECK(response.status == 0);
        INFO(response.error);
        CHECK(response.error.find("TLS handshake with localhost:") != std::string::npos);
        CHECK(response.error.find("certificate verify failed") != std::string::npos);
        CHECK(response.error.find("local issuer certificate") != std::string::npos);
    }));
}

TEST_CASE("tls: a certificate for another name fails, by IP and by host name") {
    const TestCertificates certs({"other.example"}, {});
    asio::io_context io;
    HttpServer server(io.get_executor(), hello, tls_options(certs));
    REQUIRE(server.listen("127.0.0.1:0").ok());
    HttpClient client(io.get_executor(), certs.client_context());
    const std::string port = std::to_string(server.port());

    CHECK(run_async(io, [&]() -> awaitable<void> {
        HttpResponse response = co_await get(client, "https://localhost:" + port + "/");
        CHECK(response.status == 0);
        INFO(response.error);
        CHECK(response.error.find("hostname mismatch") != std::string::npos);

        response = co_await get(client, "https://127.0.0.1:" + port + "/");
        CHECK(response.status == 0);
        INFO(response.error);
        CHECK(response.error.find("IP address mismatch") != std::string::npos);
    }));
}

TEST_CASE("tls: plain HTTP to a TLS server fails cleanly and the server keeps going") {
    const TestCertificates certs;
    asio::io_context io;
    HttpServer server(io.get_executor(), hello, tls_options(certs));
    REQUIRE(server.listen("127.0.0.1:0").ok());
    HttpClientOptions options;
    options.timeout = std::chrono::milliseconds(2000);
    HttpClient client(io.get_executor(), certs.client_context(), options);
    const std::string port = std::to_string(server.port());

    CHECK(run_async(io, [&]() -> awaitable<void> {
        const HttpResponse plain = co_await get(client, "http://127.0.0.1:" + port + "/");
        CHECK(plain.status == 0);
        const HttpResponse secure = co_await get(client, "https://127.0.0.1:" + port + "/");
        CHECK(secure.status == 200);
    }));
}

TEST_CASE("tls: context factories report unreadable files by name") {
    std::string error;
    TlsClientOptions options;
    options.extra_ca_file = "/nonexistent/ca.pem";
    CHECK_FALSE(TlsContext::client(options, error));
    CHECK(error.find("/nonexistent/ca.pem") != std::string::npos);
    CHECK(error.find("INCIDENT_BOT_CA_FILE") != std::string::npos);

    CHECK_FALSE(TlsContext::server("/nonexistent/cert.pem", "/nonexistent/key.pem", error));
    CHECK(error.find("/nonexistent/cert.pem") != std::string::npos);

    const TestCertificates certs;
    // A key is not a certificate.
    CHECK_FALSE(TlsContext::server(certs.key_file(), certs.key_file(), error));
    CHECK(TlsContext::server(certs.cert_file(), certs.key_file(), error));
    CHECK(certs.server_context().is_server());
    CHECK_FALSE(certs.client_context().is_server());
}

TEST_CASE("tls: from_env reads INCIDENT_BOT_CA_FILE") {
    ::setenv("INCIDENT_BOT_CA_FILE", "/etc/extra-ca.pem", 1);
    CHECK(TlsClientOptions::from_env().extra_ca_file == "/etc/extra-ca.pem");
    ::unsetenv("INCIDENT_BOT_CA_FILE");
    CHECK(TlsClientOptions::from_env().extra_ca_file.empty());
    CHECK(TlsClientOptions::from_env().use_system_ca);
}
