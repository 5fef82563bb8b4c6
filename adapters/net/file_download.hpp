#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "adapters/net/http_types.hpp"
#include "adapters/net/outbox_worker.hpp"
#include "adapters/net/tls_context.hpp"
#include "bot/incident_service.hpp"

namespace incident::net {

// Downloads evidence file `file` with `request` (a GET with the platform's auth header) and
// keeps it through the service: stored under its SHA-256, or, when the body is over the size
// limit, recorded as too large (the channel is told). A refusal that may pass (no answer,
// 5xx, 429) is a retry of the outbox entry; any other marks the file failed.
boost::asio::awaitable<Delivery> download_file(boost::asio::any_io_executor executor,
                                               TlsContext tls, IncidentService& service,
                                               const EvidenceFile& file, HttpRequest request);

// For OutboxWorker::on_failed: when the failed entry was a file's download, the file is
// marked failed with the entry's last error, instead of staying "download pending".
void fail_pending_file(IncidentService& service, const OutboxEntry& entry);

}  // namespace incident::net
