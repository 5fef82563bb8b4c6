#pragma once

#include <stdexcept>

#include "bot/store.hpp"

namespace incident::testing {

// A Store whose outermost commits can be made to fail: it forwards everything to `inner`,
// and while `failing_commits` > 0 each outermost transaction runs its work in full, is
// rolled back, and throws the way a commit that hit a full disk does.
class FailingStore final : public Store {
public:
    explicit FailingStore(Store& inner) : inner_(inner) {}

    int failing_commits = 0;
    int failed_commits = 0;  // how many commits failed so far

    void transaction(const std::function<void()>& work) override {
        if (depth_ > 0 || failing_commits == 0) {
            ++depth_;
            try {
                inner_.transaction(work);
            } catch (...) {
                --depth_;
                throw;
            }
            --depth_;
            return;
        }
        --failing_commits;
        ++depth_;
        try {
            inner_.transaction([&] {
                work();
                throw std::runtime_error("database or disk is full (commit failed)");
            });
        } catch (...) {
            --depth_;
            ++failed_commits;
            throw;
        }
    }

    std::optional<std::string> processed(std::string_view key) override {
        return inner_.processed(key);
    }
    void mark_processed(std::string_view key, std::string_view reply, Timestamp at) override {
        inner_.mark_processed(key, reply, at);
    }
    void insert_incident(Incident& incident) override { inner_.insert_incident(incident); }
    void update_incident(const Incident& incident) override { inner_.update_incident(incident); }
    std::optional<Incident> incident(std::int64_t number) override {
        return inner_.incident(number);
    }
    std::optional<Incident> incident_by_channel(std::string_view platform,
                                                std::string_view channel_id) override {
        return inner_.incident_by_channel(platform, channel_id);
    }
    std::vector<Incident> incidents(bool include_closed) override {
        return inner_.incidents(include_closed);
    }
    std::vector<Incident> merged_into(std::int64_t primary) override {
        return inner_.merged_into(primary);
    }
    void assign_role(std::int64_t incident, const RoleAssignment& assignment) override {
        inner_.assign_role(incident, assignment);
    }
    std::vector<RoleAssignment> roles(std::int64_t incident) override {
        return inner_.roles(incident);
    }
    bool add_entry(TimelineEntry& entry) override { return inner_.add_entry(entry); }
    void update_entry(const TimelineEntry& entry) override { inner_.update_entry(entry); }
    std::optional<TimelineEntry> entry_by_message(std::int64_t incident,
                                                  std::string_view message_id) override {
        return inner_.entry_by_message(incident, message_id);
    }
    std::vector<TimelineEntry> timeline(std::int64_t incident) override {
        return inner_.timeline(incident);
    }
    void add_action(ActionItem& item) override { inner_.add_action(item); }
    void update_action(const ActionItem& item) override { inner_.update_action(item); }
    std::vector<ActionItem> actions(std::int64_t incident) override {
        return inner_.actions(incident);
    }
    void add_factor(ContributingFactor& factor) override { inner_.add_factor(factor); }
    std::vector<ContributingFactor> factors(std::int64_t incident) override {
        return inner_.factors(incident);
    }
    void add_revision(SectionRevision& revision) override { inner_.add_revision(revision); }
    std::vector<SectionRevision> revisions(std::int64_t incident) override {
        return inner_.revisions(incident);
    }
    void add_published(PublishedPostmortem& published) override { inner_.add_published(published); }
    std::vector<PublishedPostmortem> published(std::int64_t incident) override {
        return inner_.published(incident);
    }
    std::vector<PublishedPostmortem> search_published(std::string_view words) override {
        return inner_.search_published(words);
    }
    bool add_alert(Alert& alert) override { return inner_.add_alert(alert); }
    void update_alert(const Alert& alert) override { inner_.update_alert(alert); }
    std::vector<Alert> alerts(std::int64_t incident) override { return inner_.alerts(incident); }
    std::optional<std::int64_t> alert_group_incident(std::string_view source,
                                                     std::string_view group_key) override {
        return inner_.alert_group_incident(source, group_key);
    }
    void add_status_message(StatusMessage& message) override { inner_.add_status_message(message); }
    std::vector<StatusMessage> status_messages(std::int64_t incident) override {
        return inner_.status_messages(incident);
    }
    std::vector<StatusMessage> status_messages_since(Timestamp since) override {
        return inner_.status_messages_since(since);
    }
    void set_component(const ComponentState& component) override {
        inner_.set_component(component);
    }
    std::vector<ComponentState> components() override { return inner_.components(); }
    bool add_file(EvidenceFile& file) override { return inner_.add_file(file); }
    void update_file(const EvidenceFile& file) override { inner_.update_file(file); }
    std::optional<EvidenceFile> file(std::int64_t id) override { return inner_.file(id); }
    std::vector<EvidenceFile> files(std::int64_t incident) override {
        return inner_.files(incident);
    }
    void put_content(std::string_view sha256, std::string_view bytes) override {
        inner_.put_content(sha256, bytes);
    }
    std::optional<std::string> content(std::string_view sha256) override {
        return inner_.content(sha256);
    }
    void subscribe(const Subscription& sub) override { inner_.subscribe(sub); }
    bool unsubscribe(const Subscription& sub) override { return inner_.unsubscribe(sub); }
    std::vector<Subscription> subscriptions() override { return inner_.subscriptions(); }
    bool record_reminder(const SentReminder& reminder) override {
        return inner_.record_reminder(reminder);
    }
    bool reminder_sent(std::string_view key) override { return inner_.reminder_sent(key); }
    std::optional<Timestamp> last_reminder(std::int64_t incident, std::string_view kind) override {
        return inner_.last_reminder(incident, kind);
    }

    void save_live_message(const LiveMessage& message) override {
        inner_.save_live_message(message);
    }
    std::optional<LiveMessage> live_message(std::int64_t incident, std::string_view platform,
                                            std::string_view purpose) override {
        return inner_.live_message(incident, platform, purpose);
    }
    void add_outbox(OutboxEntry& entry) override { inner_.add_outbox(entry); }
    void update_outbox(const OutboxEntry& entry) override { inner_.update_outbox(entry); }
    std::optional<OutboxEntry> outbox_entry(std::int64_t id) override {
        return inner_.outbox_entry(id);
    }
    std::vector<OutboxEntry> outbox_entries(std::string_view sink, OutboxStatus status,
                                            std::size_t limit, bool newest_first) override {
        return inner_.outbox_entries(sink, status, limit, newest_first);
    }
    OutboxCounts outbox_counts() override { return inner_.outbox_counts(); }
    bool claim_outbox(std::int64_t id, std::string_view owner, Timestamp now,
                      Timestamp until) override {
        return inner_.claim_outbox(id, owner, now, until);
    }
    std::vector<OutboxEntry> claim_outbox_heads(std::string_view sink, std::string_view owner,
                                                Timestamp now, Timestamp until,
                                                std::size_t limit) override {
        return inner_.claim_outbox_heads(sink, owner, now, until, limit);
    }
    std::size_t prune_outbox(Timestamp before, std::size_t limit) override {
        return inner_.prune_outbox(before, limit);
    }
    std::size_t prune_processed(Timestamp before, std::size_t limit) override {
        return inner_.prune_processed(before, limit);
    }
    bool hold_lease(std::string_view name, std::string_view holder, Timestamp now,
                    Timestamp until) override {
        return inner_.hold_lease(name, holder, now, until);
    }

private:
    Store& inner_;
    int depth_ = 0;
};

}  // namespace incident::testing
