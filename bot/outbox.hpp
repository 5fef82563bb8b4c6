#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bot/clock.hpp"
#include "bot/events.hpp"
#include "bot/types.hpp"

namespace incident {

class Store;

enum class OutboxStatus { pending, delivered, failed };
std::string_view to_string(OutboxStatus status);
std::optional<OutboxStatus> parse_outbox_status(std::string_view text);

// One effect the bot decided on (a channel to create, a post, a topic, an email, a
// webhook), written in the transaction of the change that caused it and kept until its
// sink delivered it or it failed for good.
struct OutboxEntry {
    std::int64_t id = 0;  // also the order: a lane delivers by increasing id
    std::string sink;     // "slack", "mattermost", "email", "webhook"
    // The lane: one incident's effects in order; 0: no incident. Downloads of an incident's
    // files go in a lane of their own, -<incident> (file_lane), so that a file the platform
    // keeps refusing never holds back the incident's posts.
    std::int64_t incident = 0;
    std::string kind;     // "create_channel", "post", "topic", "notify"
    std::string payload;  // the effect as JSON (effect_to_json)
    std::string result;   // JSON object: what delivery produced so far (channel id)
    OutboxStatus status = OutboxStatus::pending;
    int attempts = 0;  // deliveries tried that did not succeed
    Timestamp created_at = 0;
    Timestamp next_attempt_at = 0;
    std::optional<Timestamp> done_at;  // delivered or failed
    std::string error;                 // the last failure, as the platform said it
    // The process delivering it (replicas share one database) and until when that holds.
    std::string claimed_by;
    std::optional<Timestamp> claimed_until;

    // Another process is delivering it: leave it alone until `claimed_until`.
    bool claimed_elsewhere(std::string_view owner, Timestamp now) const {
        return claimed_until && *claimed_until > now && claimed_by != owner;
    }
};

// The lane of FetchFile entries of `incident`, and the incident of any lane.
inline std::int64_t file_lane(std::int64_t incident) {
    return -incident;
}
inline std::int64_t incident_of_lane(std::int64_t lane) {
    return lane < 0 ? -lane : lane;
}

// What /healthz and /metrics show.
struct OutboxCounts {
    std::int64_t pending = 0;
    std::optional<Timestamp> oldest_pending;  // created_at of the oldest pending entry
    struct Failed {
        std::string sink;
        std::string kind;
        std::int64_t count = 0;
    };
    std::vector<Failed> failed;  // entries failed for good, by sink and kind
    std::int64_t failed_total() const;
};

// Effects as stored in the outbox, and back. from_json gives nullopt for a payload this
// build cannot read (written by something else).
std::string effect_to_json(const Effect& effect);
std::optional<Effect> effect_from_json(std::string_view payload);
std::string_view kind_of(const Effect& effect);

// The durable outbox, in front of the Store. The domain writes effects into it inside its
// transactions; a delivery worker per sink (adapters/) reads them back after the commit.
class Outbox {
public:
    Outbox(Store& store, const Clock& clock);

    // Chat platforms whose effects go through the outbox ("slack", "mattermost"), and sinks
    // that take every Notify ("email", "webhook"). Without sinks nothing is written.
    // `wake` tells the sink's worker that entries were committed; the number returned names
    // this registration for forget_waker (a newer worker of the same sink replaces it).
    std::size_t add_chat_sink(const std::string& platform, std::function<void()> wake = {});
    std::size_t add_notify_sink(const std::string& name, std::function<void()> wake = {});
    bool has_chat_sink(std::string_view platform) const;
    // After a commit: wakes the workers of the sinks written to since the last call.
    void wake_written();
    // Wakes every worker (an entry was retried from the dashboard).
    void wake_all();
    // The worker of that registration is gone: entries wait for the next one to start.
    void forget_waker(std::string_view sink, std::size_t registration);

    // Inside the caller's transaction: one entry per sink that takes `effect`, in the lane of
    // `incident`. `platform` is where the change came from ("" for all chat sinks, as the
    // daily digest); effects about an incident go to the incident's own platform. Returns
    // the number of entries written. A RefreshSummary is written only where none of the
    // incident waits (not yet taken by a delivery): that one shows this change too.
    int write(const Effect& effect, std::string_view platform, std::int64_t incident);
    // The same in a transaction of its own.
    int write_now(const Effect& effect, std::string_view platform, std::int64_t incident = 0);

    // The pending entries of `sink`, oldest first.
    std::vector<OutboxEntry> pending(std::string_view sink);
    std::optional<OutboxEntry> entry(std::int64_t id);
    // Records the outcome of a delivery attempt (status, attempts, result, error, times).
    void save(const OutboxEntry& entry);
    // Failed entries, newest first.
    std::vector<OutboxEntry> failed(std::size_t limit = 200);
    // Takes the pending entry for this process's delivery for a while (k_claim_ms), unless
    // another replica holds it; a restarted process with the same owner takes its own back.
    bool claim(OutboxEntry& entry);
    // Claims at once (k_claim_ms) the oldest due entry of each lane of `sink` that no other
    // replica holds, at most `limit`, oldest first: what this process delivers next.
    std::vector<OutboxEntry> claim_heads(std::string_view sink, std::size_t limit);
    // Who this process is among replicas sharing the database (default "local").
    void set_owner(std::string owner) { owner_ = std::move(owner); }
    const std::string& owner() const { return owner_; }
    // Longer than any one delivery attempt (API timeouts are seconds); a replica that died
    // mid-delivery leaves its entry to the others after this.
    static constexpr Timestamp k_claim_ms = 120'000;

    // A failed entry goes back to pending, due now. False when it is not failed.
    bool retry(std::int64_t id);
    OutboxCounts counts();
    // Deletes delivered entries and processed event keys older than `before`, at most
    // `limit` of each, in one transaction. Returns how many rows went.
    std::size_t prune(Timestamp before, std::size_t limit);

    Timestamp now() const { return clock_.now(); }

private:
    // A RefreshSummary of `incident` waits in `sink`'s outbox, not taken by a delivery yet.
    bool refresh_waiting(std::string_view sink, std::int64_t incident, Timestamp now);

    Store& store_;
    const Clock& clock_;
    std::set<std::string, std::less<>> chat_sinks_;
    std::set<std::string, std::less<>> notify_sinks_;
    struct Waker {
        std::size_t registration = 0;
        std::function<void()> wake;
    };
    std::map<std::string, Waker, std::less<>> wakers_;
    std::size_t registrations_ = 0;
    std::set<std::string, std::less<>> written_;
    std::string owner_ = "local";
};

}  // namespace incident
