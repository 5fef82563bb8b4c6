#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "adapters/web/filter.hpp"
#include "adapters/web/html.hpp"
#include "bot/incident_service.hpp"
#include "bot/outbox.hpp"
#include "bot/types.hpp"

namespace incident::web {

// Whole HTML pages from domain data. Every string that a person typed is escaped here.
std::string list_page(const std::vector<Incident>& incidents, const ListFilter& filter,
                      Timestamp now, const Chrome& chrome);
std::string incident_page(const IncidentSnapshot& snapshot, Timestamp now, const Chrome& chrome);
// `postmortem_html` is trusted: markdown_to_html output. `versions`: what was published.
// `editor_html`: the edit forms under the draft (editor.hpp), trusted too.
std::string postmortem_page(const Incident& incident, std::string_view postmortem_html,
                            const std::vector<PublishedPostmortem>& versions, const Chrome& chrome,
                            std::string_view editor_html = {});
// One published version, frozen; `html` is trusted as above.
std::string published_page(const Incident& incident, const PublishedPostmortem& version,
                           int latest_version, std::string_view html, const Chrome& chrome);
// The published post-mortems, newest version of each; `query` the search words, if any.
std::string postmortems_page(const std::vector<PublishedPostmortem>& found, std::string_view query,
                             const Chrome& chrome);
std::string stats_page(const Stats& stats, const std::vector<Incident>& incidents, int weeks,
                       Timestamp now, const Chrome& chrome);
// Effects that failed for good, newest first, each with a Retry button (POST
// /outbox/<id>/retry); with the pending count for context.
std::string outbox_page(const std::vector<OutboxEntry>& failed, const OutboxCounts& counts,
                        Timestamp now, const Chrome& chrome);
std::string login_page(std::string_view next, std::string_view error);
std::string error_page(int status, std::string_view message, const Chrome& chrome);

}  // namespace incident::web
