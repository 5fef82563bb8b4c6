#include "adapters/net/file_download.hpp"

#include <algorithm>

#include <boost/beast/http/error.hpp>

#include "adapters/net/digest.hpp"
#include "adapters/net/http_client.hpp"

namespace incident::net {

namespace asio = boost::asio;

asio::awaitable<Delivery> download_file(asio::any_io_executor executor, TlsContext tls,
                                        IncidentService& service, const EvidenceFile& file,
                                        HttpRequest request) {
    if (file.status != FileStatus::pending) co_return Delivery::done();
    HttpClientOptions options;
    options.timeout = std::chrono::minutes(2);
    // One byte more than allowed tells "too large" from "exactly the limit".
    options.body_limit = static_cast<std::size_t>(service.file_max_bytes()) + 1;
    HttpClient http(std::move(executor), std::move(tls), options);
    const HttpResponse response = co_await http.request(std::move(request));
    if (response.status == 0 && response.error_code == boost::beast::http::error::body_limit) {
        SharedFile info;
        info.size = std::max(file.size, service.file_max_bytes() + 1);
        service.describe_file(file.id, info);
        co_return Delivery::done();
    }
    if (!response.ok()) {
        Delivery d = delivery_of_refusal(
            response, "download of " + file.name + ": " + describe_answer(response));
        if (d.status == Delivery::Status::permanent) service.file_failed(file.id, d.error);
        co_return d;
    }
    service.keep_file(file.id, response.body, sha256_hex(response.body));
    co_return Delivery::done();
}

void fail_pending_file(IncidentService& service, const OutboxEntry& entry) {
    const auto effect = effect_from_json(entry.payload);
    const auto* fetch = effect ? std::get_if<FetchFile>(&*effect) : nullptr;
    if (!fetch) return;
    service.file_failed(fetch->file, "not downloaded after " + std::to_string(entry.attempts) +
                                         " attempt(s): " + entry.error);
}

}  // namespace incident::net
