#include "bot/types.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "bot/events.hpp"
#include "bot/people.hpp"
#include "bot/text.hpp"

namespace incident {

namespace {

template <typename Enum, std::size_t N>
std::optional<Enum> lookup(const std::array<std::pair<std::string_view, Enum>, N>& table,
                           std::string_view text) {
    const std::string lower = to_lower(text);
    for (const auto& [name, value] : table) {
        if (name == lower) return value;
    }
    return std::nullopt;
}

template <typename Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<std::string_view, Enum>, N>& table,
                         Enum value) {
    for (const auto& [name, v] : table) {
        if (v == value) return name;
    }
    return "unknown";
}

constexpr std::array<std::pair<std::string_view, State>, 6> k_states{{
    {"investigating", State::investigating},
    {"identified", State::identified},
    {"monitoring", State::monitoring},
    {"resolved", State::resolved},
    {"closed", State::closed},
    {"merged", State::merged},
}};

constexpr std::array<std::pair<std::string_view, Role>, 5> k_roles{{
    {"commander", Role::commander},
    {"scribe", Role::scribe},
    {"comms", Role::comms},
    {"liaison", Role::liaison},
    {"sme", Role::sme},
}};

constexpr std::array<std::pair<std::string_view, EntryKind>, 12> k_entry_kinds{{
    {"message", EntryKind::message},
    {"declared", EntryKind::declared},
    {"state", EntryKind::state},
    {"severity", EntryKind::severity},
    {"role", EntryKind::role},
    {"update", EntryKind::update},
    {"note", EntryKind::note},
    {"action", EntryKind::action},
    {"merge", EntryKind::merge},
    {"postmortem", EntryKind::postmortem},
    {"alert", EntryKind::alert},
    {"statuspage", EntryKind::external},
}};

constexpr std::array<std::pair<std::string_view, PublicState>, 4> k_public_states{{
    {"investigating", PublicState::investigating},
    {"identified", PublicState::identified},
    {"monitoring", PublicState::monitoring},
    {"resolved", PublicState::resolved},
}};

constexpr std::array<std::pair<std::string_view, ComponentStatus>, 4> k_component_statuses{{
    {"operational", ComponentStatus::operational},
    {"degraded", ComponentStatus::degraded},
    {"partial-outage", ComponentStatus::partial_outage},
    {"major-outage", ComponentStatus::major_outage},
}};

constexpr std::array<std::pair<std::string_view, FileStatus>, 4> k_file_statuses{{
    {"pending", FileStatus::pending},
    {"stored", FileStatus::stored},
    {"too_large", FileStatus::too_large},
    {"failed", FileStatus::failed},
}};

constexpr std::array<std::pair<std::string_view, ActionSource>, 3> k_action_sources{{
    {"todo_line", ActionSource::todo_line},
    {"command", ActionSource::command},
    {"reaction", ActionSource::reaction},
}};

constexpr std::array<std::pair<std::string_view, ActionStatus>, 3> k_action_statuses{{
    {"open", ActionStatus::open},
    {"done", ActionStatus::done},
    {"cancelled", ActionStatus::cancelled},
}};

constexpr std::array<std::pair<std::string_view, FactorCategory>, 3> k_factor_names{{
    {"technical", FactorCategory::technical},
    {"process", FactorCategory::process},
    {"monitoring", FactorCategory::monitoring},
}};

constexpr std::array<std::pair<std::string_view, ActionKind>, 2> k_action_kinds{{
    {"corrective", ActionKind::corrective},
    {"preventive", ActionKind::preventive},
}};

constexpr std::array<std::pair<std::string_view, Section>, 12> k_sections{{
    {"summary", Section::summary},
    {"impact.customers", Section::impact_customers},
    {"impact.internal", Section::impact_internal},
    {"impact.availability", Section::impact_availability},
    {"why", Section::why},
    {"root_cause", Section::root_cause},
    {"lesson.well", Section::lesson_well},
    {"lesson.wrong", Section::lesson_wrong},
    {"lesson.lucky", Section::lesson_lucky},
    {"service", Section::service},
    {"review", Section::review},
    {"notes", Section::notes},
}};

}  // namespace

std::string_view to_string(Severity s) {
    static constexpr std::array<std::string_view, 5> names{"SEV1", "SEV2", "SEV3", "SEV4", "SEV5"};
    return names.at(static_cast<int>(s) - 1);
}

std::string_view describe(Severity s) {
    static constexpr std::array<std::string_view, 5> names{"critical", "major", "moderate", "minor",
                                                           "cosmetic"};
    return names.at(static_cast<int>(s) - 1);
}

std::optional<Severity> parse_severity(std::string_view text) {
    std::string lower = to_lower(text);
    if (lower.starts_with("sev")) lower.erase(0, 3);
    if (lower.size() != 1 || lower[0] < '1' || lower[0] > '5') return std::nullopt;
    return static_cast<Severity>(lower[0] - '0');
}

std::string_view to_string(State s) {
    return name_of(k_states, s);
}
std::optional<State> parse_state(std::string_view text) {
    return lookup(k_states, text);
}

std::string_view to_string(Role r) {
    return name_of(k_roles, r);
}
std::optional<Role> parse_role(std::string_view text) {
    const std::string lower = to_lower(text);
    if (lower == "ic" || lower == "lead" || lower == "incident-commander") return Role::commander;
    if (lower == "customer-liaison") return Role::liaison;
    return lookup(k_roles, lower);
}

std::string_view to_string(EntryKind k) {
    return name_of(k_entry_kinds, k);
}
std::optional<EntryKind> parse_entry_kind(std::string_view text) {
    return lookup(k_entry_kinds, text);
}

std::string_view to_string(ActionSource s) {
    return name_of(k_action_sources, s);
}
std::string_view to_string(ActionStatus s) {
    return name_of(k_action_statuses, s);
}
std::optional<ActionSource> parse_action_source(std::string_view text) {
    return lookup(k_action_sources, text);
}
std::optional<ActionStatus> parse_action_status(std::string_view text) {
    return lookup(k_action_statuses, text);
}

std::string_view to_string(ActionKind k) {
    return name_of(k_action_kinds, k);
}
std::optional<ActionKind> parse_action_kind(std::string_view text) {
    return lookup(k_action_kinds, text);
}

std::string_view to_string(Section s) {
    return name_of(k_sections, s);
}
std::optional<Section> parse_section(std::string_view text) {
    return lookup(k_sections, text);
}
bool is_list_section(Section s) {
    return s == Section::why || s == Section::lesson_well || s == Section::lesson_wrong ||
           s == Section::lesson_lucky || s == Section::service;
}

std::string_view to_string(FactorCategory c) {
    return name_of(k_factor_names, c);
}
std::optional<FactorCategory> parse_factor_category(std::string_view text) {
    const std::string lower = to_lower(text);
    if (lower == "tech") return FactorCategory::technical;
    if (lower == "alerting" || lower == "monitoring-alerting") return FactorCategory::monitoring;
    return lookup(k_factor_names, lower);
}
std::string_view describe(FactorCategory c) {
    switch (c) {
        case FactorCategory::technical:
            return "Technical failures";
        case FactorCategory::process:
            return "Process gaps";
        case FactorCategory::monitoring:
            return "Monitoring & alerting";
    }
    return "unknown";
}

namespace {
constexpr std::string_view k_system_prefix = "system:";
}

Actor system_actor(std::string_view source) {
    return Actor{std::string(k_system_prefix) + std::string(source), std::string(source)};
}

bool is_system(const Actor& actor) {
    return actor.id.starts_with(k_system_prefix);
}

std::string incident_key(std::int64_t number) {
    return "INC-" + std::to_string(number);
}

std::optional<std::int64_t> parse_incident_key(std::string_view text) {
    if (text.size() < 5 || to_lower(text.substr(0, 4)) != "inc-") return std::nullopt;
    const std::string_view digits = text.substr(4);
    std::int64_t number = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (error != std::errc{} || end != digits.data() + digits.size() || number <= 0) {
        return std::nullopt;
    }
    return number;
}

std::string_view to_string(NotifyKind kind) {
    switch (kind) {
        case NotifyKind::declared:
            return "declared";
        case NotifyKind::severity:
            return "severity";
        case NotifyKind::state:
            return "state";
        case NotifyKind::update:
            return "update";
        case NotifyKind::resolved:
            return "resolved";
        case NotifyKind::merged:
            return "merged";
        case NotifyKind::postmortem_published:
            return "postmortem_published";
        case NotifyKind::closed:
            return "closed";
        case NotifyKind::status_page:
            return "status_page";
        case NotifyKind::component:
            return "component";
    }
    return "unknown";
}

std::string_view to_string(PublicState s) {
    return name_of(k_public_states, s);
}
std::string_view describe(PublicState s) {
    switch (s) {
        case PublicState::investigating:
            return "Investigating";
        case PublicState::identified:
            return "Identified";
        case PublicState::monitoring:
            return "Monitoring";
        case PublicState::resolved:
            return "Resolved";
    }
    return "Investigating";
}
std::optional<PublicState> parse_public_state(std::string_view text) {
    return lookup(k_public_states, text);
}

std::string_view to_string(ComponentStatus s) {
    return name_of(k_component_statuses, s);
}
std::string_view describe(ComponentStatus s) {
    switch (s) {
        case ComponentStatus::operational:
            return "Operational";
        case ComponentStatus::degraded:
            return "Degraded performance";
        case ComponentStatus::partial_outage:
            return "Partial outage";
        case ComponentStatus::major_outage:
            return "Major outage";
    }
    return "Operational";
}
// "partial_outage" (Statuspage's spelling) is accepted too.
std::optional<ComponentStatus> parse_component_status(std::string_view text) {
    std::string dashed(text);
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    return lookup(k_component_statuses, dashed);
}

std::string_view to_string(FileStatus s) {
    return name_of(k_file_statuses, s);
}
std::optional<FileStatus> parse_file_status(std::string_view text) {
    return lookup(k_file_statuses, text);
}

const EventHeader& header_of(const ChatEvent& event) {
    return std::visit([](const auto& e) -> const EventHeader& { return e.header; }, event);
}

bool same_person(const Actor& named, const Actor& who) {
    if (!who.id.empty() && named.id == who.id) return true;
    return !who.name.empty() && to_lower(named.name) == to_lower(who.name);
}

std::string mention(const Actor& who) {
    if (is_system(who)) return who.name;
    return who.name.empty() ? who.id : "@" + who.name;
}

}  // namespace incident
