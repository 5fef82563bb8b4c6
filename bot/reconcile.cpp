#include "bot/reconcile.hpp"

#include <set>

#include "bot/incident_service.hpp"
#include "bot/outbox.hpp"
#include "bot/store.hpp"

namespace incident {

namespace {

// Incidents with an entry of `kind` pending, or failed and so left to the operator's Retry.
std::set<std::int64_t> incidents_awaiting(Store& store, std::string_view kind) {
    std::set<std::int64_t> found;
    for (const OutboxStatus status : {OutboxStatus::pending, OutboxStatus::failed}) {
        for (const auto& entry : store.outbox_entries("", status, 0, false)) {
            if (entry.kind == kind) found.insert(entry.incident);
        }
    }
    return found;
}

}  // namespace

std::size_t requeue_missing_channels(IncidentService& service, Store& store, Outbox& outbox) {
    std::size_t queued = 0;
    store.transaction([&] {
        // A failed creation is the operator's to retry (the dashboard shows it): not repeated.
        const std::set<std::int64_t> covered = incidents_awaiting(store, "create_channel");
        for (const auto& incident : store.incidents(false)) {
            if (!incident.is_open() || !incident.channel_id.empty()) continue;
            if (!outbox.has_chat_sink(incident.platform) || covered.count(incident.number)) {
                continue;
            }
            std::vector<Actor> invite;
            if (!is_system(incident.declared_by)) invite.push_back(incident.declared_by);
            const CreateChannel create{incident.number, incident.channel_name,
                                       service.topic_for(incident), std::move(invite)};
            if (outbox.write(create, incident.platform, incident.number) > 0) ++queued;
        }
    });
    outbox.wake_written();
    return queued;
}

std::size_t requeue_summary_refreshes(Store& store, Outbox& outbox) {
    std::size_t queued = 0;
    store.transaction([&] {
        const std::set<std::int64_t> covered = incidents_awaiting(store, "summary");
        for (const auto& incident : store.incidents(false)) {
            if (!incident.is_open() || incident.channel_id.empty()) continue;
            if (!outbox.has_chat_sink(incident.platform) || covered.count(incident.number)) {
                continue;
            }
            if (!store.live_message(incident.number, incident.platform, "summary")) continue;
            if (outbox.write(RefreshSummary{incident.number}, incident.platform, incident.number) >
                0) {
                ++queued;
            }
        }
    });
    outbox.wake_written();
    return queued;
}

}  // namespace incident
