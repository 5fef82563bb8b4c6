#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/store.hpp"
#include "bot/types.hpp"

namespace incident {

// The Store port on one SQLite connection. Every public call is serialized by an internal
// mutex, so one instance may be shared between threads.
class SqliteStore final : public Store {
public:
    // Opens or creates the database at `path` (":memory:" for tests) and applies the missing
    // schema migrations. Throws std::runtime_error saying what is wrong, including when the
    // database was written by a newer incident-bot.
    explicit SqliteStore(const std::string& path);
    ~SqliteStore() override;

    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    const std::string& path() const;
    int schema_version();

    void transaction(const std::function<void()>& work) override;

    std::optional<std::string> processed(std::string_view key) override;
    void mark_processed(std::string_view key, std::string_view reply, Timestamp at) override;

    void insert_incident(Incident& incident) override;
    void update_incident(const Incident& incident) override;
    std::optional<Incident> incident(std::int64_t number) override;
    std::optional<Incident> incident_by_channel(std::string_view platform,
                                                std::string_view channel_id) override;
    std::vector<Incident> incidents(bool include_closed) override;
    std::vector<Incident> merged_into(std::int64_t primary) override;

    void assign_role(std::int64_t incident, const RoleAssignment& assignment) override;
    std::vector<RoleAssignment> roles(std::int64_t incident) override;

    bool add_entry(TimelineEntry& entry) override;
    void update_entry(const TimelineEntry& entry) override;
    std::optional<TimelineEntry> entry_by_message(std::int64_t incident,
                                                  std::string_view message_id) override;
    std::vector<TimelineEntry> timeline(std::int64_t incident) override;

    void add_action(ActionItem& item) override;
    void update_action(const ActionItem& item) override;
    std::vector<ActionItem> actions(std::int64_t incident) override;

    void add_factor(ContributingFactor& factor) override;
    std::vector<ContributingFactor> factors(std::int64_t incident) override;
    void add_revision(SectionRevision& revision) override;
    std::vector<SectionRevision> revisions(std::int64_t incident) override;

    bool add_alert(Alert& alert) override;
    void update_alert(const Alert& alert) override;
    std::vector<Alert> alerts(std::int64_t incident) override;
    std::optional<std::int64_t> alert_group_incident(std::string_view source,
                                                     std::string_view group_key) override;

    void add_published(PublishedPostmortem& published) override;
    std::vector<PublishedPostmortem> published(std::int64_t incident) override;
    std::vector<PublishedPostmortem> search_published(std::string_view words) override;
    void add_status_message(StatusMessage& message) override;
    std::vector<StatusMessage> status_messages(std::int64_t incident) override;
    std::vector<StatusMessage> status_messages_since(Timestamp since) override;
    void set_component(const ComponentState& component) override;
    std::vector<ComponentState> components() override;
    bool add_file(EvidenceFile& file) override;
    void update_file(const EvidenceFile& file) override;
    std::optional<EvidenceFile> file(std::int64_t id) override;
    std::vector<EvidenceFile> files(std::int64_t incident) override;
    void put_content(std::string_view sha256, std::string_view bytes) override;
    std::optional<std::string> content(std::string_view sha256) override;
    void subscribe(const Subscription& sub) override;
    bool unsubscribe(const Subscription& sub) override;
    std::vector<Subscription> subscriptions() override;

    bool record_reminder(const SentReminder& reminder) override;
    bool reminder_sent(std::string_view key) override;
    std::optional<Timestamp> last_reminder(std::int64_t incident, std::string_view kind) override;
    void save_live_message(const LiveMessage& message) override;
    std::optional<LiveMessage> live_message(std::int64_t incident, std::string_view platform,
                                            std::string_view purpose) override;

    void add_outbox(OutboxEntry& entry) override;
    void update_outbox(const OutboxEntry& entry) override;
    std::optional<OutboxEntry> outbox_entry(std::int64_t id) override;
    std::vector<OutboxEntry> outbox_entries(std::string_view sink, OutboxStatus status,
                                            std::size_t limit, bool newest_first) override;
    OutboxCounts outbox_counts() override;
    bool claim_outbox(std::int64_t id, std::string_view owner, Timestamp now,
                      Timestamp until) override;
    std::vector<OutboxEntry> claim_outbox_heads(std::string_view sink, std::string_view owner,
                                                Timestamp now, Timestamp until,
                                                std::size_t limit) override;
    std::size_t prune_outbox(Timestamp before, std::size_t limit) override;
    std::size_t prune_processed(Timestamp before, std::size_t limit) override;
    bool hold_lease(std::string_view name, std::string_view holder, Timestamp now,
                    Timestamp until) override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace incident
