#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/outbox.hpp"
#include "bot/types.hpp"

namespace incident {

// A reminder the bot sent (bot/reminders.hpp). `key` names one occurrence: recording the
// same key twice is refused, which is what keeps a restart from sending it again.
struct SentReminder {
    std::string key;
    std::string kind;                      // "status", "no_commander", "postmortem", "digest"
    std::optional<std::int64_t> incident;  // none for the daily digest
    Timestamp sent_at = 0;
};

// A message the bot keeps current on a platform (the incident's live summary): where it is,
// and what it showed last, so an update that would change nothing is not sent.
struct LiveMessage {
    std::int64_t incident = 0;
    std::string platform;  // "slack", "mattermost"
    std::string purpose;   // "summary"
    std::string channel_id;
    std::string message_id;  // Slack ts, Mattermost post id
    std::string rendered;    // the last text sent (or a digest of it)
    Timestamp updated_at = 0;
};

// The persistence port of the domain. storage/ implements it with SQLite; the domain
// never sees SQL. Every inbound event runs inside one transaction().
class Store {
public:
    virtual ~Store() = default;

    // Runs `work` atomically: all of its writes land, or (on exception) none do.
    virtual void transaction(const std::function<void()>& work) = 0;

    // Idempotency: the reply recorded for a processed event/request key, if any.
    virtual std::optional<std::string> processed(std::string_view key) = 0;
    virtual void mark_processed(std::string_view key, std::string_view reply, Timestamp at) = 0;

    // Assigns incident.number.
    virtual void insert_incident(Incident& incident) = 0;
    virtual void update_incident(const Incident& incident) = 0;
    virtual std::optional<Incident> incident(std::int64_t number) = 0;
    virtual std::optional<Incident> incident_by_channel(std::string_view platform,
                                                        std::string_view channel_id) = 0;
    virtual std::vector<Incident> incidents(bool include_closed) = 0;
    virtual std::vector<Incident> merged_into(std::int64_t primary) = 0;

    // Single roles replace the holder; `sme` accumulates.
    virtual void assign_role(std::int64_t incident, const RoleAssignment& assignment) = 0;
    virtual std::vector<RoleAssignment> roles(std::int64_t incident) = 0;

    // Assigns entry.id. Returns false (and stores nothing) when the incident already has
    // an entry for entry.message_id.
    virtual bool add_entry(TimelineEntry& entry) = 0;
    virtual void update_entry(const TimelineEntry& entry) = 0;
    virtual std::optional<TimelineEntry> entry_by_message(std::int64_t incident,
                                                          std::string_view message_id) = 0;
    virtual std::vector<TimelineEntry> timeline(std::int64_t incident) = 0;

    // Assigns item.id and item.number.
    virtual void add_action(ActionItem& item) = 0;
    virtual void update_action(const ActionItem& item) = 0;
    virtual std::vector<ActionItem> actions(std::int64_t incident) = 0;

    // Sets id.
    virtual void add_factor(ContributingFactor& factor) = 0;
    virtual std::vector<ContributingFactor> factors(std::int64_t incident) = 0;

    // Post-mortem section history. Sets revision.id; revisions are only ever added.
    virtual void add_revision(SectionRevision& revision) = 0;
    // Oldest first.
    virtual std::vector<SectionRevision> revisions(std::int64_t incident) = 0;

    // Alerts from monitoring (bot/alerts.hpp). add_alert assigns alert.id; it returns false
    // (and stores nothing) when the incident already has the alert (source, fingerprint,
    // starts_at).
    virtual bool add_alert(Alert& alert) = 0;
    virtual void update_alert(const Alert& alert) = 0;
    virtual std::vector<Alert> alerts(std::int64_t incident) = 0;
    // The newest incident that an alert of this group was recorded on.
    virtual std::optional<std::int64_t> alert_group_incident(std::string_view source,
                                                             std::string_view group_key) = 0;
    // Published post-mortems. Sets id and version (the incident's next).
    virtual void add_published(PublishedPostmortem& published) = 0;
    // Every version of one incident's post-mortem, oldest first.
    virtual std::vector<PublishedPostmortem> published(std::int64_t incident) = 0;
    // The newest version of each published post-mortem; with words, only those whose title,
    // summary, root cause, factors or actions contain every word (as a word or its prefix),
    // best match first, else newest first.
    virtual std::vector<PublishedPostmortem> search_published(std::string_view words) = 0;

    // The public status page. add_status_message sets message.id.
    virtual void add_status_message(StatusMessage& message) = 0;
    // One incident's publications, oldest first.
    virtual std::vector<StatusMessage> status_messages(std::int64_t incident) = 0;
    // Every incident's publications at or after `since`, oldest first.
    virtual std::vector<StatusMessage> status_messages_since(Timestamp since) = 0;
    // Replaces the component's status (by name).
    virtual void set_component(const ComponentState& component) = 0;
    // Every component whose status was ever set, by name.
    virtual std::vector<ComponentState> components() = 0;

    // Evidence files. add_file sets file.id; it returns false (and stores nothing) when the
    // incident has that platform's file already (platform, source_id).
    virtual bool add_file(EvidenceFile& file) = 0;
    virtual void update_file(const EvidenceFile& file) = 0;
    virtual std::optional<EvidenceFile> file(std::int64_t id) = 0;
    // One incident's files, oldest first.
    virtual std::vector<EvidenceFile> files(std::int64_t incident) = 0;
    // File contents, kept once per SHA-256 (lower-case hex of `bytes`, which the caller
    // computed): storing the same content again changes nothing. Durable when it returns,
    // so a file row may say "stored" in the transaction that follows.
    virtual void put_content(std::string_view sha256, std::string_view bytes) = 0;
    virtual std::optional<std::string> content(std::string_view sha256) = 0;

    virtual void subscribe(const Subscription& sub) = 0;
    // Returns false when there was no such subscription.
    virtual bool unsubscribe(const Subscription& sub) = 0;
    virtual std::vector<Subscription> subscriptions() = 0;

    // Reminders sent. Not pure, so test doubles of the other methods keep compiling; a store
    // without them makes ReminderService::tick() throw (and send nothing).
    // Returns false (and records nothing) when reminder.key was recorded before.
    virtual bool record_reminder(const SentReminder& reminder);
    virtual bool reminder_sent(std::string_view key);
    // When a reminder of `kind` about `incident` was last sent.
    virtual std::optional<Timestamp> last_reminder(std::int64_t incident, std::string_view kind);

    // Live messages: one per (incident, platform, purpose); saving replaces it.
    virtual void save_live_message(const LiveMessage& message) = 0;
    virtual std::optional<LiveMessage> live_message(std::int64_t incident,
                                                    std::string_view platform,
                                                    std::string_view purpose) = 0;

    // The outbox (bot/outbox.hpp): effects kept until a sink delivered them.
    // Assigns entry.id.
    virtual void add_outbox(OutboxEntry& entry) = 0;
    // Stores status, attempts, result, error and times of entry.id.
    virtual void update_outbox(const OutboxEntry& entry) = 0;
    virtual std::optional<OutboxEntry> outbox_entry(std::int64_t id) = 0;
    // Entries with `status` of `sink` ("" for every sink), by id: oldest first, or newest
    // first with `newest_first`; `limit` 0 for all of them.
    virtual std::vector<OutboxEntry> outbox_entries(std::string_view sink, OutboxStatus status,
                                                    std::size_t limit, bool newest_first) = 0;
    virtual OutboxCounts outbox_counts() = 0;
    // Marks pending entry `id` as being delivered by `owner` until `until`, unless another
    // owner's claim lasts past `now`. False when it is held elsewhere or no longer pending.
    virtual bool claim_outbox(std::int64_t id, std::string_view owner, Timestamp now,
                              Timestamp until) = 0;
    // In one statement: claims for `owner` until `until` the oldest pending entry of each lane
    // of `sink` that is due at `now` and not held by another owner past `now`, at most
    // `limit` of them, and returns them as claimed, oldest first. Replicas asking at once get
    // disjoint entries and do not wait for one another (PostgreSQL: FOR UPDATE SKIP LOCKED).
    virtual std::vector<OutboxEntry> claim_outbox_heads(std::string_view sink,
                                                        std::string_view owner, Timestamp now,
                                                        Timestamp until, std::size_t limit) = 0;
    // Housekeeping: delete at most `limit` delivered outbox entries done before `before`, or
    // processed event keys recorded before it. Return how many went.
    virtual std::size_t prune_outbox(Timestamp before, std::size_t limit) = 0;
    virtual std::size_t prune_processed(Timestamp before, std::size_t limit) = 0;

    // Leadership among replicas sharing the database: `holder` holds lease `name` until
    // `until` when nobody else holds it past `now`; the holder renews by asking again. False:
    // another replica does that job for now.
    virtual bool hold_lease(std::string_view name, std::string_view holder, Timestamp now,
                            Timestamp until) = 0;
};

}  // namespace incident
