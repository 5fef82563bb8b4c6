#pragma once

#include <cstddef>

namespace incident {

class IncidentService;
class Outbox;
class Store;

// Repairs what no pending effect will: an open incident on a platform the outbox serves
// that has no channel, and no channel creation pending or failed (declared by a version
// that kept effects in memory and stopped before making it, or whose entry was removed),
// gets its channel creation queued again. Returns how many were queued; wakes the workers.
std::size_t requeue_missing_channels(IncidentService& service, Store& store, Outbox& outbox);

// Keeps live summaries true when a refresh was lost (written by a version without the
// outbox, or pruned): every open incident with a posted summary and no refresh pending or
// failed gets one. Delivering it renders the incident and calls the platform only when the
// text differs from what was posted, so a summary already current costs no call. Returns how
// many were queued; wakes the workers.
std::size_t requeue_summary_refreshes(Store& store, Outbox& outbox);

// Keeps channel topics true when a topic change was lost (an effect from a version without the
// outbox, removed, or never written): an incident with a channel, not closed or merged, whose
// last delivered topic (its newest delivered topic entry, else its channel creation's) is not
// the topic it has now, and with no topic or creation pending or failed, gets its topic queued.
// One whose last topic is no longer in the outbox (pruned) gets it once, then has it again.
// Returns how many were queued; wakes the workers.
std::size_t requeue_stale_topics(IncidentService& service, Store& store, Outbox& outbox);

}  // namespace incident
