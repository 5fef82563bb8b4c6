#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bot/clock.hpp"
#include "bot/events.hpp"
#include "bot/outbox.hpp"
#include "bot/sections.hpp"
#include "bot/store.hpp"
#include "bot/todo_grammar.hpp"
#include "bot/types.hpp"

namespace incident {

// The longest incident title, in bytes (the declare modal checks it before submitting).
inline constexpr std::size_t k_max_title_bytes = 200;

struct ServiceOptions {
    std::string public_url;  // dashboard base for links; empty: no links
    // The components of the public status page (INCIDENT_BOT_STATUS_COMPONENTS).
    std::vector<std::string> status_components;
    // Files over this size are recorded, not downloaded (INCIDENT_BOT_FILE_MAX_BYTES).
    std::int64_t file_max_bytes = 25 * 1024 * 1024;
};

// How an incident comes to be: a person declares it and takes command, or a monitoring
// system's alerts open it with nobody in command yet (bot/alerts.hpp).
struct DeclareOptions {
    bool take_command = true;
    std::optional<Timestamp> detected_at;
    std::optional<std::int64_t> related_to;
};

// Aggregates for `/incident stats`.
struct Stats {
    int total = 0;
    int open = 0;
    int by_severity[5] = {0, 0, 0, 0, 0};
    std::optional<Timestamp> mean_to_identify, median_to_identify;
    std::optional<Timestamp> mean_to_mitigate, median_to_mitigate;
    std::optional<Timestamp> mean_to_resolve, median_to_resolve;
    // From the problem's start (detected_at) to the incident; from the incident to the
    // first command of a person. Only incidents opened from alerts have either.
    std::optional<Timestamp> mean_to_detect, median_to_detect;
    std::optional<Timestamp> mean_to_acknowledge, median_to_acknowledge;
    int open_actions = 0;
    int overdue_actions = 0;
    // Per category: in how many incidents it was named (a merged incident counts with its
    // primary), and how many factors in all; most frequent first, unnamed ones left out.
    struct FactorCount {
        FactorCategory category;
        int incidents = 0;
        int factors = 0;
    };
    std::vector<FactorCount> factor_categories;
    // Per affected service (`/incident service`): in how many incidents, most first.
    struct ServiceCount {
        std::string name;
        int incidents = 0;
    };
    std::vector<ServiceCount> services;
};

// What a live summary shows of an incident, as it is now; each adapter renders it.
struct SummaryFacts {
    Incident incident;
    std::optional<Actor> commander;  // none: opened from alerts, nobody took command yet
    // The other roles held, in role order, each with its holders.
    std::vector<std::pair<Role, std::vector<Actor>>> roles;
    std::string last_update;  // the newest /incident update, empty: none yet
    int open_actions = 0;
    int done_actions = 0;
    std::string link;             // the dashboard page; empty without a public URL
    std::string postmortem_link;  // the draft post-mortem page; the same
};

// What a save from the dashboard's forms did (IncidentService::save_section).
struct SectionSave {
    // The new draft text; on a conflict the writer's text, kept in the history only
    // (is_set_aside), so that neither text is lost.
    SectionRevision revision;
    // On a conflict: what someone else saved after the revision the writer had seen.
    std::optional<SectionRevision> newer;
    bool conflict() const { return newer.has_value(); }
};

// A one-time sign-in link to the dashboard for one chat identity.
// A change to an action item from `/incident edit` or the dashboard; an absent field is kept.
struct ActionEdit {
    std::optional<std::string> text;
    std::optional<std::string> owner;               // "@name", or "" for nobody
    std::optional<std::optional<std::string>> due;  // YYYY-MM-DD, or an empty optional for none
};

struct SignInLink {
    std::string url;
    Timestamp expires_at = 0;
};
// Mints such links; the web adapter provides it and the composition root injects it.
using SignInLinks =
    std::function<SignInLink(const std::string& platform, const Actor& person, Timestamp at)>;

// "Scribe", "SME": a role as a summary labels it.
std::string role_label(Role role);

// The incident process itself: every rule of PRODUCT.md lives here, platform-free.
// Each inbound event or command runs in one store transaction, exactly once per id; the
// side effects it asks for come back in the Outcome, to be executed after the commit.
class IncidentService {
public:
    IncidentService(Store& store, const Clock& clock, ServiceOptions options = {});

    // Capture: chatter, edits, deletions and reactions in incident channels.
    Outcome handle_event(const ChatEvent& event);

    // Runs `work` once per `key` inside one transaction. A DomainError rolls everything back
    // and becomes an error reply; a repeated key returns the first reply, doing nothing.
    // An empty key means the caller has no id to deduplicate on. With an outbox, the effects
    // `work` asks for are written into it in the same transaction; `platform` is where the
    // event or command came from (effects about an incident go to the incident's platform).
    Outcome execute(const std::string& key, const std::function<Reply()>& work,
                    std::string_view platform = {});

    // Runs several events or commands (each through execute()) in one transaction, so a
    // burst costs one durable commit; if the commit fails, none of them happened, and no
    // effect listener hears of them: listeners run once the outermost batch has committed.
    void batch(const std::function<void()>& work);

    // The adapter created the incident's channel.
    void bind_channel(std::int64_t number, const std::string& platform,
                      const std::string& channel_id, const std::string& channel_name);

    // Operations, called by command handlers from inside execute(). Each validates,
    // writes, records the timeline entry and queues notifications.
    Incident declare(const Actor& by, Severity severity, const std::string& title,
                     const std::string& platform, Timestamp at, const DeclareOptions& how = {});
    // A key event on the timeline; false (nothing recorded) when the incident already has an
    // entry for a non-empty `message_id`.
    bool add_key_event(const Incident& incident, EntryKind kind, const Actor& by, Timestamp at,
                       std::string text, std::string message_id = {});
    // Links `incident` to a group of an alert source that did not open it (an existing
    // PagerDuty incident): later notifications of the group land on it, and changes of the
    // incident follow it there. False when it is linked already; a DomainError when another
    // incident has that group.
    bool link_alert_group(const Incident& incident, const std::string& source,
                          const std::string& group_key, const std::string& url, const Actor& by,
                          Timestamp at);
    void change_state(Incident& incident, State to, const Actor& by, Timestamp at);
    void change_severity(Incident& incident, Severity severity, const Actor& by, Timestamp at);
    void assign_role(Incident& incident, Role role, const Actor& person, const Actor& by,
                     Timestamp at);
    void post_update(Incident& incident, const std::string& text, const Actor& by, Timestamp at);
    void add_note(Incident& incident, const std::string& text, const Actor& by, Timestamp at);
    ActionItem add_action(Incident& incident, const TodoSpec& spec, const Actor& by,
                          ActionSource source, const std::string& message_id, Timestamp at,
                          ActionKind kind = ActionKind::corrective);
    // Items can be completed and edited after the incident closed (following them up is the
    // point of the post-mortem), but not on a merged incident: its primary holds the work.
    ActionItem complete_action(Incident& incident, int number, const Actor& by, Timestamp at);
    ActionItem edit_action(Incident& incident, int number, const ActionEdit& edit, const Actor& by,
                           Timestamp at);
    ContributingFactor add_factor(Incident& incident, FactorCategory category,
                                  const std::string& text, const Actor& by, Timestamp at);
    void resolve(Incident& incident, const std::string& summary,
                 std::optional<Severity> final_severity, const Actor& by, Timestamp at);
    void reopen(Incident& incident, const Actor& by, Timestamp at);
    void merge(Incident& incident, std::int64_t primary, const Actor& by, Timestamp at);
    void update_postmortem(Incident& incident, const std::optional<std::string>& owner,
                           const std::optional<std::string>& due, bool publish, const Actor& by,
                           Timestamp at);
    // Post-mortem sections. A write of a single section, or of list item `replace`, becomes
    // what the draft shows, and the earlier text stays in the history; without `replace` a
    // list section gets a new item. Refused on a closed or merged incident.
    SectionRevision write_section(Incident& incident, Section section, const std::string& text,
                                  std::optional<int> replace, const Actor& by, Timestamp at);
    // The same write from a form that showed revision `based_on` of the section (or of item
    // `replace`; 0: the section was empty). When someone else saved it since, nothing in the
    // draft changes: the text is kept in the history as set aside, and the result names the
    // newer revision. Appending a list item never conflicts. Validation is write_section's.
    SectionSave save_section(Incident& incident, Section section, const std::string& text,
                             std::optional<int> replace, std::int64_t based_on, const Actor& by,
                             Timestamp at);
    // When the problem began, as a responder knows it (a customer's report, a graph): the
    // incident's detected_at, which time to detect counts from. Not after the declaration;
    // refused on a closed or merged incident. A key event on the timeline.
    void set_detected(Incident& incident, Timestamp when, const Actor& by, Timestamp at);
    // The review meeting, at `when` (UTC), which must not be in the past.
    SectionRevision schedule_review(Incident& incident, Timestamp when, const Actor& by,
                                    Timestamp at);
    void close(Incident& incident, const std::optional<std::string>& force_reason, const Actor& by,
               Timestamp at);
    bool subscribe(const Subscription& sub, bool on);
    // The public status page. Only the commander, comms and liaison may publish. A message
    // keeps the incident's current public state unless `state` changes it; without text it
    // is a change of state alone.
    StatusMessage publish_status(Incident& incident, std::optional<PublicState> state,
                                 const std::string& text, const Actor& by, Timestamp at);
    // `name` is one of the configured components (any case).
    ComponentState set_component(Incident& incident, const std::string& name,
                                 ComponentStatus status, const Actor& by, Timestamp at);

    // Evidence files (bot/evidence.hpp), for the adapters that download them. What the
    // platform said of file `id` once asked (Mattermost's file info, Slack's files.info): name,
    // type, size and download URL updated; over the size limit it is recorded as too large and the
    // channel told.
    EvidenceFile describe_file(std::int64_t id, const SharedFile& info);
    // The downloaded bytes of file `id` with their SHA-256 (hex): kept once per digest and
    // the file marked stored; over the size limit, too large (the channel is told).
    EvidenceFile keep_file(std::int64_t id, std::string_view bytes, const std::string& sha256);
    // The platform refused the download for good.
    void file_failed(std::int64_t id, const std::string& error);
    std::optional<EvidenceFile> file(std::int64_t id);
    std::vector<EvidenceFile> files(std::int64_t number);
    // The stored bytes of a file; nullopt unless it is stored.
    std::optional<std::string> file_content(const EvidenceFile& file);
    std::int64_t file_max_bytes() const { return options_.file_max_bytes; }

    // Dashboard sign-in links for `/incident login`; none by default (then it is refused).
    void use_sign_in(SignInLinks links) { sign_in_ = std::move(links); }
    // A DomainError when this bot has no dashboard sign-in.
    SignInLink sign_in_link(const std::string& platform, const Actor& person, Timestamp at) const;

    // Queries.
    std::optional<Incident> find(std::int64_t number);
    Incident require(std::int64_t number);
    std::optional<Incident> find_by_channel(const std::string& platform,
                                            const std::string& channel_id);
    std::vector<Incident> list(bool include_closed);
    IncidentSnapshot snapshot(std::int64_t number);
    std::vector<RoleAssignment> roles(std::int64_t number);
    std::vector<ActionItem> actions(std::int64_t number);
    std::vector<ContributingFactor> factors(std::int64_t number);
    std::vector<TimelineEntry> timeline(std::int64_t number);
    std::vector<SectionRevision> revisions(std::int64_t number);
    std::vector<PublishedPostmortem> published(std::int64_t number);
    std::optional<PublishedPostmortem> published(std::int64_t number, int version);
    std::vector<PublishedPostmortem> search_published(const std::string& words);
    PostmortemSections sections(std::int64_t number);
    std::vector<StatusMessage> status_messages(std::int64_t number);
    std::vector<StatusMessage> status_messages_since(Timestamp since);
    // Every configured component with its current status (operational when never set).
    std::vector<ComponentState> components();
    const std::vector<std::string>& component_names() const { return options_.status_components; }
    // Open action items (corrective and preventive) whose owner names `who`, every incident,
    // oldest incident first.
    std::vector<std::pair<Incident, ActionItem>> open_actions_of(const Actor& who);
    Stats stats(std::optional<int> days);
    std::string incident_link(const Incident& incident) const;
    // The permanent link of a published version; empty without a public URL.
    std::string published_link(const Incident& incident, int version) const;
    std::string topic_for(const Incident& incident);
    // The public status page, <public url>/status; empty without a public URL.
    std::string status_link() const;
    // The draft post-mortem page; empty without a public URL.
    std::string postmortem_link(const Incident& incident) const;
    SummaryFacts summary_facts(const Incident& incident);

    // The messages adapters keep current (the live summary): where each is, what it showed.
    std::optional<LiveMessage> live_message(std::int64_t incident, std::string_view platform,
                                            std::string_view purpose = "summary");
    void save_live_message(const LiveMessage& message);

    Timestamp now() const { return clock_.now(); }
    // An effect of the change under way, about `incident` (0: the one the effect names, if any).
    void queue(Effect effect, std::int64_t incident = 0) {
        pending_.push_back(Pending{std::move(effect), incident});
    }

    // The durable outbox the effects go through; none by default (tests, console).
    void use_outbox(Outbox& outbox) { outbox_ = &outbox; }
    Outbox* outbox() { return outbox_; }

    // Called with every effect of a committed execute(), on the caller's thread, after the
    // outermost commit: before the Outcome returns, or inside batch() once the batch has
    // committed. For watching only: deliveries go through the outbox (webhook and email are
    // notify sinks of it), which a crash after the commit does not lose.
    // Listeners must be quick and must not throw.
    using EffectListener = std::function<void(const Effect&)>;
    void add_effect_listener(EffectListener listener);

private:
    void tell_listeners(const std::vector<Effect>& effects);
    // False when the message was on the timeline already (a redelivery).
    bool capture(const MessagePosted& e);
    void capture(const MessageEdited& e);
    void capture(const MessageDeleted& e);
    void capture(const ReactionChanged& e);
    void capture(const FileShared& e);
    void record(const Incident& incident, EntryKind kind, const Actor& by, Timestamp at,
                std::string text);
    void transition(Incident& incident, State to, const Actor& by, Timestamp at);
    void require_editable_postmortem(const Incident& incident);
    SectionRevision add_revision(const Incident& incident, Section section, int item,
                                 std::string text, const Actor& by, Timestamp at);
    // write_section's checks: the clean text and the item it goes to, and the revision it
    // replaces, if any.
    struct SectionWrite {
        std::string text;
        int item = 0;
        std::optional<SectionRevision> replaces;
    };
    SectionWrite check_section_write(const Incident& incident, Section section,
                                     const std::string& text, std::optional<int> replace);
    SectionRevision store_section(Incident& incident, Section section, SectionWrite write,
                                  const Actor& by, Timestamp at);
    void notify(const Incident& incident, NotifyKind kind, const Actor& by, Timestamp at,
                const std::string& text, const std::string& postmortem_link = {});
    // The Notify of a change, for sinks that are not chat; notify() also announces it.
    Notify notify_event(const Incident& incident, NotifyKind kind, const Actor& by, Timestamp at,
                        const std::string& text) const;
    PublishedPostmortem publish_version(Incident& incident, const Actor& by, Timestamp at);
    void refresh_topic(const Incident& incident);
    // The live summary shows state, severity, roles, the last update and the action items:
    // after a change of any of them, once per change under way.
    void refresh_summary(std::int64_t incident);
    void refuse_merged_actions(const Incident& incident);
    ActionItem action_to_change(const Incident& incident, int number);
    void tell_owner(const Incident& incident, const ActionItem& item, const Actor& by,
                    Timestamp at);
    // `edited`: the message had a text before, whose TODOs may be there already.
    void sync_todos(Incident& incident, const TimelineEntry& entry, const Actor& by, Timestamp at,
                    bool edited);
    // Records the files of a captured message and queues their downloads (or, over the
    // limit, tells the channel).
    void capture_files(const Incident& incident, const MessagePosted& e, Timestamp at);
    // Records one file and queues its download, or tells the channel it is over the limit. A
    // file recorded already (redelivered, or announced both by its message and on its own)
    // stays as it is, but learns the message it came with.
    void record_file(const Incident& incident, EvidenceFile file);
    // Marks a file too large and tells its incident's channel.
    void refuse_too_large(EvidenceFile& file);

    Store& store_;
    const Clock& clock_;
    ServiceOptions options_;
    struct Pending {
        Effect effect;
        std::int64_t incident = 0;
    };
    std::vector<Pending> pending_;
    Outbox* outbox_ = nullptr;
    SignInLinks sign_in_;
    std::vector<EffectListener> listeners_;
    // Inside batch(): effects of committed execute() calls that wait for the outer commit.
    int batch_depth_ = 0;
    std::vector<Effect> uncommitted_;
};

}  // namespace incident
