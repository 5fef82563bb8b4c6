#include "bot/reconcile.hpp"

#include <map>
#include <set>
#include <variant>
#include <vector>

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

// Delivered entries read for the topics last given, newest first: an incident whose last topic
// is older than these is treated as one whose entry was pruned (its topic is set once more).
constexpr std::size_t k_topic_lookback = 5000;

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

std::size_t requeue_stale_topics(IncidentService& service, Store& store, Outbox& outbox) {
    std::size_t queued = 0;
    store.transaction([&] {
        // A pending creation sets the topic of its moment; a failed one is the operator's.
        std::set<std::int64_t> covered = incidents_awaiting(store, "topic");
        covered.merge(incidents_awaiting(store, "create_channel"));
        // A resolved incident's channel is still read (the post-mortem): its topic says so.
        std::map<std::int64_t, Incident> candidates;
        for (auto& incident : store.incidents(false)) {
            if (incident.state == State::closed || incident.state == State::merged) continue;
            if (incident.channel_id.empty() || !outbox.has_chat_sink(incident.platform) ||
                covered.count(incident.number)) {
                continue;
            }
            candidates.emplace(incident.number, std::move(incident));
        }
        if (candidates.empty()) return;
        // What each channel was last told, newest entry first. A creation's sink sets the topic
        // of the moment it delivers, which is at least as new as the one written with it: at
        // worst one topic more is set.
        std::map<std::int64_t, std::string> last_topic;
        for (const auto& entry :
             store.outbox_entries("", OutboxStatus::delivered, k_topic_lookback, true)) {
            if (entry.kind != "topic" && entry.kind != "create_channel") continue;
            const auto candidate = candidates.find(entry.incident);
            if (candidate == candidates.end() || candidate->second.platform != entry.sink ||
                last_topic.count(entry.incident)) {
                continue;
            }
            const auto effect = effect_from_json(entry.payload);
            if (!effect) continue;
            if (const auto* topic = std::get_if<SetTopic>(&*effect)) {
                last_topic[entry.incident] = topic->topic;
            } else if (const auto* create = std::get_if<CreateChannel>(&*effect)) {
                last_topic[entry.incident] = create->topic;
            }
        }
        for (const auto& [number, incident] : candidates) {
            std::string topic = service.topic_for(incident);
            const auto last = last_topic.find(number);
            if (last != last_topic.end() && last->second == topic) continue;
            if (outbox.write(SetTopic{number, std::move(topic)}, incident.platform, number) > 0) {
                ++queued;
            }
        }
    });
    outbox.wake_written();
    return queued;
}

}  // namespace incident
