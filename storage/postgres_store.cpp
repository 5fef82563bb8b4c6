#include "storage/postgres_store.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "storage/columns.hpp"
#include "storage/postgres_migrations.hpp"
#include "storage/pq.hpp"

namespace incident {

namespace {

using pq::Param;
using pq::Result;

// Transaction-scoped advisory lock keys (pg_advisory_xact_lock).
constexpr std::int64_t k_incident_number_lock = 0x1bc1de47'0000'0002LL;

Param severity_param(const std::optional<Severity>& value) {
    if (!value) return Param(std::nullopt);
    return Param(to_string(*value));
}

// $1 to $22 of insert_incident and update_incident, in k_incident_columns order after number.
std::vector<Param> incident_values(const Incident& incident) {
    return {incident.title,
            to_string(incident.severity),
            severity_param(incident.final_severity),
            to_string(incident.state),
            incident.merged_into,
            incident.platform,
            incident.channel_id,
            incident.channel_name,
            incident.declared_by.id,
            incident.declared_by.name,
            incident.declared_at,
            incident.identified_at,
            incident.mitigated_at,
            incident.resolved_at,
            incident.closed_at,
            incident.last_update_at,
            incident.summary,
            incident.postmortem_owner,
            incident.postmortem_due,
            incident.postmortem_published_at,
            incident.detected_at,
            incident.related_to};
}

std::optional<Severity> optional_severity(const Result& r, int row, int column,
                                          std::string_view name) {
    if (r.is_null(row, column)) return std::nullopt;
    return parse_enum(r.text(row, column), parse_severity, name);
}

template <typename Read>
auto collect(const Result& r, Read read) {
    std::vector<decltype(read(r, 0))> rows;
    rows.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) rows.push_back(read(r, row));
    return rows;
}

template <typename Read>
auto first(const Result& r, Read read) -> std::optional<decltype(read(r, 0))> {
    if (r.rows() == 0) return std::nullopt;
    return read(r, 0);
}

Incident read_incident(const Result& r, int row) {
    Incident incident;
    incident.number = r.int64(row, 0);
    incident.title = r.text(row, 1);
    incident.severity = parse_enum(r.text(row, 2), parse_severity, "incidents.severity");
    incident.final_severity = optional_severity(r, row, 3, "incidents.final_severity");
    incident.state = parse_enum(r.text(row, 4), parse_state, "incidents.state");
    incident.merged_into = r.optional_int(row, 5);
    incident.platform = r.text(row, 6);
    incident.channel_id = r.text(row, 7);
    incident.channel_name = r.text(row, 8);
    incident.declared_by = {r.text(row, 9), r.text(row, 10)};
    incident.declared_at = r.int64(row, 11);
    incident.identified_at = r.optional_int(row, 12);
    incident.mitigated_at = r.optional_int(row, 13);
    incident.resolved_at = r.optional_int(row, 14);
    incident.closed_at = r.optional_int(row, 15);
    incident.last_update_at = r.int64(row, 16);
    incident.summary = r.text(row, 17);
    incident.postmortem_owner = r.text(row, 18);
    incident.postmortem_due = r.optional_text(row, 19);
    incident.postmortem_published_at = r.optional_int(row, 20);
    incident.detected_at = r.optional_int(row, 21);
    incident.related_to = r.optional_int(row, 22);
    return incident;
}

TimelineEntry read_entry(const Result& r, int row) {
    TimelineEntry entry;
    entry.id = r.int64(row, 0);
    entry.incident = r.int64(row, 1);
    entry.kind = parse_enum(r.text(row, 2), parse_entry_kind, "timeline_entries.kind");
    entry.at = r.int64(row, 3);
    entry.author = {r.text(row, 4), r.text(row, 5)};
    entry.text = r.text(row, 6);
    entry.message_id = r.text(row, 7);
    entry.thread_id = r.text(row, 8);
    entry.key_event = r.boolean(row, 9);
    entry.edited_at = r.optional_int(row, 10);
    entry.deleted_at = r.optional_int(row, 11);
    decode_key_marks(r.text(row, 12), entry);
    return entry;
}

ActionItem read_action(const Result& r, int row) {
    ActionItem item;
    item.id = r.int64(row, 0);
    item.incident = r.int64(row, 1);
    item.number = static_cast<int>(r.int64(row, 2));
    item.text = r.text(row, 3);
    item.owner = r.text(row, 4);
    item.due = r.optional_text(row, 5);
    item.status = parse_enum(r.text(row, 6), parse_action_status, "action_items.status");
    item.source = parse_enum(r.text(row, 7), parse_action_source, "action_items.source");
    item.source_message_id = r.text(row, 8);
    item.author = {r.text(row, 9), r.text(row, 10)};
    item.created_at = r.int64(row, 11);
    item.done_at = r.optional_int(row, 12);
    item.kind = parse_enum(r.text(row, 13), parse_action_kind, "action_items.kind");
    return item;
}

std::string select_incidents(const char* where) {
    return std::string("SELECT ") + k_incident_columns + " FROM incidents " + where;
}

OutboxEntry read_outbox(const Result& r, int row) {
    OutboxEntry entry;
    entry.id = r.int64(row, 0);
    entry.sink = r.text(row, 1);
    entry.incident = r.int64(row, 2);
    entry.kind = r.text(row, 3);
    entry.payload = r.text(row, 4);
    entry.result = r.text(row, 5);
    entry.status = parse_enum(r.text(row, 6), parse_outbox_status, "outbox.status");
    entry.attempts = static_cast<int>(r.int64(row, 7));
    entry.created_at = r.int64(row, 8);
    entry.next_attempt_at = r.int64(row, 9);
    entry.done_at = r.optional_int(row, 10);
    entry.error = r.text(row, 11);
    entry.claimed_by = r.text(row, 12);
    entry.claimed_until = r.optional_int(row, 13);
    return entry;
}

}  // namespace

struct PostgresStore::Impl {
    explicit Impl(std::string conninfo) : conninfo(std::move(conninfo)) {}

    std::string conninfo;
    std::optional<pq::Connection> db;
    // Recursive: work() inside transaction() calls back into the store.
    std::recursive_mutex mutex;
    int depth = 0;
    std::atomic<bool> healthy{true};
    std::string last_error;  // guarded by mutex

    // The connection, opened again when it was lost. Inside a transaction a lost
    // connection is an error: its work is gone with it.
    pq::Connection& connection() {
        if (db && db->ok()) return *db;
        if (depth > 0) throw pq::Error("PostgreSQL: the connection was lost", "08006", true);
        db.reset();
        db.emplace(conninfo);
        return *db;
    }

    Result exec(std::string_view sql, std::initializer_list<Param> params = {}) {
        return exec(sql, std::span<const Param>(params.begin(), params.size()));
    }
    Result exec(std::string_view sql, std::span<const Param> params) {
        try {
            Result result = connection().exec(sql, params);
            if (depth == 0) mark_healthy();
            return result;
        } catch (const pq::Error& e) {
            if (e.connection_lost()) {
                healthy = false;
                last_error = e.what();
                if (db && !db->ok()) db.reset();
            }
            throw;
        }
    }

    void mark_healthy() {
        if (!healthy) {
            healthy = true;
            last_error.clear();
        }
    }

    // The row of `number`, locked until the transaction ends when there is one.
    std::string locking(std::string sql) const { return depth > 0 ? sql + " FOR UPDATE" : sql; }

    void write_revisions(const TimelineEntry& entry) {
        exec("DELETE FROM entry_revisions WHERE entry_id = $1", {entry.id});
        for (std::size_t seq = 0; seq < entry.previous_texts.size(); ++seq) {
            exec("INSERT INTO entry_revisions (entry_id, seq, text) VALUES ($1, $2, $3)",
                 {entry.id, static_cast<std::int64_t>(seq), entry.previous_texts[seq]});
        }
    }

    void rollback(int depth_before, const std::string& savepoint) {
        if (!db || !db->ok()) {
            db.reset();  // the server rolled back the transaction with the connection
            return;
        }
        try {
            // What was deferred since the scope began is moot; a scope whose BEGIN or
            // SAVEPOINT never left has nothing on the server to undo.
            if (depth_before == 0) {
                if (!db->discard_since("BEGIN")) db->exec("ROLLBACK");
            } else if (!db->discard_since("SAVEPOINT " + savepoint)) {
                db->exec("ROLLBACK TO SAVEPOINT " + savepoint);
                db->defer("RELEASE SAVEPOINT " + savepoint);
            }
        } catch (const pq::Error&) {
            // The original exception is the one worth reporting; a connection in an unknown
            // state is dropped and opened afresh by the next call.
            db.reset();
        }
    }
};

PostgresStore::PostgresStore(const std::string& conninfo)
    : impl_(std::make_unique<Impl>(conninfo)) {
    try {
        migrate(impl_->connection());
    } catch (const pq::Error& e) {
        throw std::runtime_error(std::string("cannot open the PostgreSQL database: ") + e.what());
    }
}

PostgresStore::~PostgresStore() = default;

int PostgresStore::schema_version() {
    std::lock_guard lock(impl_->mutex);
    return incident::schema_version(impl_->connection());
}

bool PostgresStore::healthy() const {
    return impl_->healthy;
}

bool PostgresStore::ping() {
    std::lock_guard lock(impl_->mutex);
    if (impl_->depth > 0) return impl_->healthy;
    try {
        impl_->exec("SELECT 1");
    } catch (const pq::Error& e) {
        impl_->healthy = false;
        impl_->last_error = e.what();
    }
    return impl_->healthy;
}

std::string PostgresStore::last_error() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->last_error;
}

void PostgresStore::transaction(const std::function<void()>& work) {
    std::lock_guard lock(impl_->mutex);
    const int depth = impl_->depth;
    // Inner calls are savepoints, as in SqliteStore: an inner failure the caller catches
    // undoes only the inner writes.
    const std::string savepoint = "nested_" + std::to_string(depth);
    // BEGIN and SAVEPOINT travel with the scope's first statement (pq::Connection::defer):
    // a round trip each saved, per event.
    const std::string begin = depth == 0 ? std::string("BEGIN") : "SAVEPOINT " + savepoint;
    impl_->connection().defer(begin);
    ++impl_->depth;
    try {
        work();
    } catch (...) {
        --impl_->depth;
        impl_->rollback(depth, savepoint);
        throw;
    }
    --impl_->depth;
    if (!impl_->db || !impl_->db->ok()) {
        // Lost while `work` ran, and it carried on: its writes went with the connection, and
        // a COMMIT on a new one would report a success that did not happen.
        impl_->rollback(depth, savepoint);
        throw pq::Error("PostgreSQL: the connection was lost", "08006", true);
    }
    // A scope that ran no statement leaves nothing to release or commit.
    const bool empty = impl_->db->take_back(begin);
    if (depth > 0) {
        if (!empty) impl_->db->defer("RELEASE SAVEPOINT " + savepoint);
        return;
    }
    if (empty) return;
    try {
        impl_->exec("COMMIT");
        impl_->mark_healthy();
    } catch (...) {
        impl_->rollback(0, savepoint);
        throw;
    }
}

std::optional<std::string> PostgresStore::processed(std::string_view key) {
    std::lock_guard lock(impl_->mutex);
    if (impl_->depth > 0) {
        // Waits while another replica's transaction works on the same key; the SELECT
        // below then sees what it committed. A statement of its own, as a statement's
        // snapshot is taken when it starts; deferred, it travels with the SELECT.
        impl_->connection().defer("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {key});
    }
    const Result r = impl_->exec("SELECT reply FROM processed_keys WHERE key = $1", {key});
    return first(r, [](const Result& row, int i) { return row.text(i, 0); });
}

void PostgresStore::mark_processed(std::string_view key, std::string_view reply, Timestamp at) {
    std::lock_guard lock(impl_->mutex);
    // The first reply stands: a retried event must get the answer the first one got.
    impl_->exec(
        "INSERT INTO processed_keys (key, reply, processed_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (key) DO NOTHING",
        {key, reply, at});
}

void PostgresStore::insert_incident(Incident& incident) {
    transaction([&] {
        // Declares take turns until commit, so max + 1 is never taken twice and a rollback
        // leaves no gap.
        impl_->exec("SELECT pg_advisory_xact_lock($1)", {k_incident_number_lock});
        const Result r = impl_->exec(
            std::string("INSERT INTO incidents (") + k_incident_columns +
                ") VALUES ((SELECT coalesce(max(number), 0) + 1 FROM incidents), $1, $2, $3, "
                "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, "
                "$21, "
                "$22) "
                "RETURNING number",
            incident_values(incident));
        incident.number = r.int64(0, 0);
    });
}

void PostgresStore::update_incident(const Incident& incident) {
    std::lock_guard lock(impl_->mutex);
    std::vector<Param> values = incident_values(incident);
    values.emplace_back(incident.number);
    const Result r = impl_->exec(
        "UPDATE incidents SET title = $1, severity = $2, final_severity = $3, "
        "state = $4, merged_into = $5, platform = $6, channel_id = $7, "
        "channel_name = $8, declared_by_id = $9, declared_by_name = $10, "
        "declared_at = $11, identified_at = $12, mitigated_at = $13, "
        "resolved_at = $14, closed_at = $15, last_update_at = $16, summary = $17, "
        "postmortem_owner = $18, postmortem_due = $19, "
        "postmortem_published_at = $20, detected_at = $21, related_to = $22 WHERE number = $23",
        values);
    if (r.affected() == 0) {
        throw std::runtime_error("cannot update " + incident.key() + ": no such incident");
    }
}

std::optional<Incident> PostgresStore::incident(std::int64_t number) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(impl_->locking(select_incidents("WHERE number = $1")), {number});
    return first(r, read_incident);
}

std::optional<Incident> PostgresStore::incident_by_channel(std::string_view platform,
                                                           std::string_view channel_id) {
    std::lock_guard lock(impl_->mutex);
    // Incidents without a channel yet have channel_id '' and belong to no channel.
    const Result r = impl_->exec(
        impl_->locking(select_incidents("WHERE platform = $1 AND channel_id = $2 AND "
                                        "channel_id <> '' ORDER BY number DESC LIMIT 1")),
        {platform, channel_id});
    return first(r, read_incident);
}

std::vector<Incident> PostgresStore::incidents(bool include_closed) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        select_incidents("WHERE $1 OR state NOT IN ('closed', 'merged') ORDER BY number DESC"),
        {Param::boolean(include_closed)});
    return collect(r, read_incident);
}

std::vector<Incident> PostgresStore::merged_into(std::int64_t primary) {
    std::lock_guard lock(impl_->mutex);
    const Result r =
        impl_->exec(select_incidents("WHERE merged_into = $1 ORDER BY number"), {primary});
    return collect(r, read_incident);
}

void PostgresStore::assign_role(std::int64_t incident, const RoleAssignment& assignment) {
    transaction([&] {
        const std::string role(to_string(assignment.role));
        if (assignment.role != Role::sme) {
            impl_->exec("DELETE FROM roles WHERE incident = $1 AND role = $2", {incident, role});
        }
        // An sme named twice keeps the first assignment.
        impl_->exec(
            "INSERT INTO roles (incident, role, person_id, person_name, assigned_by_id, "
            "assigned_by_name, assigned_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (incident, role, person_id) DO NOTHING",
            {incident, role, assignment.person.id, assignment.person.name,
             assignment.assigned_by.id, assignment.assigned_by.name, assignment.assigned_at});
    });
}

std::vector<RoleAssignment> PostgresStore::roles(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "SELECT role, person_id, person_name, assigned_by_id, assigned_by_name, assigned_at "
        "FROM roles WHERE incident = $1 ORDER BY assigned_at, id",
        {incident});
    auto roles = collect(r, [](const Result& row, int i) {
        RoleAssignment assignment;
        assignment.role = parse_enum(row.text(i, 0), parse_role, "roles.role");
        assignment.person = {row.text(i, 1), row.text(i, 2)};
        assignment.assigned_by = {row.text(i, 3), row.text(i, 4)};
        assignment.assigned_at = row.int64(i, 5);
        return assignment;
    });
    sort_by_role(roles);
    return roles;
}

bool PostgresStore::add_entry(TimelineEntry& entry) {
    bool added = false;
    transaction([&] {
        // DO NOTHING only covers uniqueness, so a missing incident still fails loudly.
        const Result r = impl_->exec(
            "INSERT INTO timeline_entries (incident, kind, at, author_id, author_name, text, "
            "message_id, thread_id, key_event, edited_at, deleted_at, key_marks) VALUES ($1, "
            "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING RETURNING id",
            {entry.incident, to_string(entry.kind), entry.at, entry.author.id, entry.author.name,
             entry.text, entry.message_id, entry.thread_id, Param::boolean(entry.key_event),
             entry.edited_at, entry.deleted_at, encode_key_marks(entry)});
        if (r.rows() == 0) return;
        entry.id = r.int64(0, 0);
        added = true;
        if (!entry.previous_texts.empty()) impl_->write_revisions(entry);
    });
    return added;
}

void PostgresStore::update_entry(const TimelineEntry& entry) {
    transaction([&] {
        const Result r = impl_->exec(
            "UPDATE timeline_entries SET text = $1, key_event = $2, edited_at = $3, "
            "deleted_at = $4, key_marks = $5 WHERE id = $6",
            {entry.text, Param::boolean(entry.key_event), entry.edited_at, entry.deleted_at,
             encode_key_marks(entry), entry.id});
        if (r.affected() == 0) {
            throw std::runtime_error("cannot update timeline entry " + std::to_string(entry.id) +
                                     ": no such entry");
        }
        impl_->write_revisions(entry);
    });
}

std::optional<TimelineEntry> PostgresStore::entry_by_message(std::int64_t incident,
                                                             std::string_view message_id) {
    std::lock_guard lock(impl_->mutex);
    if (message_id.empty()) return std::nullopt;
    const Result r = impl_->exec(std::string("SELECT ") + k_entry_columns +
                                     " FROM timeline_entries WHERE incident = $1 AND "
                                     "message_id = $2 AND message_id <> ''",
                                 {incident, message_id});
    auto entry = first(r, read_entry);
    if (entry) {
        const Result revisions = impl_->exec(
            "SELECT text FROM entry_revisions WHERE entry_id = $1 ORDER BY seq", {entry->id});
        entry->previous_texts =
            collect(revisions, [](const Result& row, int i) { return row.text(i, 0); });
    }
    return entry;
}

std::vector<TimelineEntry> PostgresStore::timeline(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(std::string("SELECT ") + k_entry_columns +
                                     " FROM timeline_entries WHERE incident = $1 ORDER BY at, id",
                                 {incident});
    auto entries = collect(r, read_entry);
    std::unordered_map<std::int64_t, std::size_t> index_of;
    for (std::size_t i = 0; i < entries.size(); ++i) index_of.emplace(entries[i].id, i);
    const Result revisions = impl_->exec(
        "SELECT r.entry_id, r.text FROM entry_revisions r "
        "JOIN timeline_entries e ON e.id = r.entry_id "
        "WHERE e.incident = $1 ORDER BY r.entry_id, r.seq",
        {incident});
    for (int i = 0; i < revisions.rows(); ++i) {
        const auto found = index_of.find(revisions.int64(i, 0));
        if (found != index_of.end()) {
            entries[found->second].previous_texts.push_back(revisions.text(i, 1));
        }
    }
    return entries;
}

void PostgresStore::add_action(ActionItem& item) {
    transaction([&] {
        // Numbers per incident take turns on the incident's row (NO KEY: timeline inserts,
        // which only need the key to exist, go on).
        impl_->exec("SELECT 1 FROM incidents WHERE number = $1 FOR NO KEY UPDATE", {item.incident});
        const Result r = impl_->exec(
            "INSERT INTO action_items (incident, number, text, owner, due, status, source, "
            "source_message_id, author_id, author_name, created_at, done_at, kind) VALUES ($1, "
            "(SELECT coalesce(max(number), 0) + 1 FROM action_items WHERE incident = $1), $2, "
            "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id, number",
            {item.incident, item.text, item.owner, item.due, to_string(item.status),
             to_string(item.source), item.source_message_id, item.author.id, item.author.name,
             item.created_at, item.done_at, to_string(item.kind)});
        item.id = r.int64(0, 0);
        item.number = static_cast<int>(r.int64(0, 1));
    });
}

void PostgresStore::update_action(const ActionItem& item) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "UPDATE action_items SET text = $1, owner = $2, due = $3, status = $4, done_at = $5, "
        "kind = $6 WHERE id = $7",
        {item.text, item.owner, item.due, to_string(item.status), item.done_at,
         to_string(item.kind), item.id});
    if (r.affected() == 0) {
        throw std::runtime_error("cannot update action item " + std::to_string(item.id) +
                                 ": no such action item");
    }
}

std::vector<ActionItem> PostgresStore::actions(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(std::string("SELECT ") + k_action_columns +
                                     " FROM action_items WHERE incident = $1 ORDER BY number",
                                 {incident});
    return collect(r, read_action);
}

void PostgresStore::add_factor(ContributingFactor& factor) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "INSERT INTO contributing_factors (incident, category, text, author_id, author_name, "
        "at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        {factor.incident, to_string(factor.category), factor.text, factor.author.id,
         factor.author.name, factor.at});
    factor.id = r.int64(0, 0);
}

std::vector<ContributingFactor> PostgresStore::factors(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "SELECT id, incident, category, text, author_id, author_name, at "
        "FROM contributing_factors WHERE incident = $1 ORDER BY id",
        {incident});
    return collect(r, [](const Result& row, int i) {
        ContributingFactor factor;
        factor.id = row.int64(i, 0);
        factor.incident = row.int64(i, 1);
        factor.category =
            parse_enum(row.text(i, 2), parse_factor_category, "contributing_factors.category");
        factor.text = row.text(i, 3);
        factor.author = {row.text(i, 4), row.text(i, 5)};
        factor.at = row.int64(i, 6);
        return factor;
    });
}

bool PostgresStore::add_alert(Alert& alert) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "INSERT INTO alerts (incident, source, group_key, fingerprint, status, labels, "
        "annotations, starts_at, ends_at, url, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "$8, $9, $10, $11) ON CONFLICT (incident, source, fingerprint, starts_at) DO NOTHING "
        "RETURNING id",
        {alert.incident, alert.source, alert.group_key, alert.fingerprint, alert.status,
         encode_string_map(alert.labels), encode_string_map(alert.annotations), alert.starts_at,
         alert.ends_at, alert.url, alert.received_at});
    if (r.rows() == 0) return false;
    alert.id = r.int64(0, 0);
    return true;
}

void PostgresStore::update_alert(const Alert& alert) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "UPDATE alerts SET status = $1, labels = $2, annotations = $3, ends_at = $4, url = $5 "
        "WHERE id = $6",
        {alert.status, encode_string_map(alert.labels), encode_string_map(alert.annotations),
         alert.ends_at, alert.url, alert.id});
    if (r.affected() == 0) {
        throw std::runtime_error("cannot update alert " + std::to_string(alert.id) +
                                 ": no such alert");
    }
}

std::vector<Alert> PostgresStore::alerts(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        std::string("SELECT ") + k_alert_columns + " FROM alerts WHERE incident = $1 ORDER BY id",
        {incident});
    return collect(r, [](const Result& row, int i) {
        Alert alert;
        alert.id = row.int64(i, 0);
        alert.incident = row.int64(i, 1);
        alert.source = row.text(i, 2);
        alert.group_key = row.text(i, 3);
        alert.fingerprint = row.text(i, 4);
        alert.status = row.text(i, 5);
        alert.labels = decode_string_map(row.text(i, 6), "alerts.labels");
        alert.annotations = decode_string_map(row.text(i, 7), "alerts.annotations");
        alert.starts_at = row.int64(i, 8);
        alert.ends_at = row.optional_int(i, 9);
        alert.url = row.text(i, 10);
        alert.received_at = row.int64(i, 11);
        return alert;
    });
}

std::optional<std::int64_t> PostgresStore::alert_group_incident(std::string_view source,
                                                                std::string_view group_key) {
    std::lock_guard lock(impl_->mutex);
    const Result r =
        impl_->exec("SELECT max(incident) FROM alerts WHERE source = $1 AND group_key = $2",
                    {source, group_key});
    return r.optional_int(0, 0);
}

void PostgresStore::add_revision(SectionRevision& revision) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "INSERT INTO postmortem_revisions (incident, section, item, text, author_id, "
        "author_name, at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        {revision.incident, to_string(revision.section), revision.item, revision.text,
         revision.author.id, revision.author.name, revision.at});
    revision.id = r.int64(0, 0);
}

std::vector<SectionRevision> PostgresStore::revisions(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "SELECT id, incident, section, item, text, author_id, author_name, at "
        "FROM postmortem_revisions WHERE incident = $1 ORDER BY id",
        {incident});
    return collect(r, [](const Result& row, int i) {
        SectionRevision revision;
        revision.id = row.int64(i, 0);
        revision.incident = row.int64(i, 1);
        revision.section =
            parse_enum(row.text(i, 2), parse_section, "postmortem_revisions.section");
        revision.item = static_cast<int>(row.int64(i, 3));
        revision.text = row.text(i, 4);
        revision.author = {row.text(i, 5), row.text(i, 6)};
        revision.at = row.int64(i, 7);
        return revision;
    });
}

namespace {

StatusMessage read_status_message(const Result& row, int i) {
    StatusMessage m;
    m.id = row.int64(i, 0);
    m.incident = row.int64(i, 1);
    m.state = parse_enum(row.text(i, 2), parse_public_state, "status_messages.state");
    m.text = row.text(i, 3);
    m.by = {row.text(i, 4), row.text(i, 5)};
    m.at = row.int64(i, 6);
    return m;
}

}  // namespace

void PostgresStore::add_status_message(StatusMessage& message) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "INSERT INTO status_messages (incident, state, text, by_id, by_name, at) VALUES ($1, "
        "$2, $3, $4, $5, $6) RETURNING id",
        {message.incident, to_string(message.state), message.text, message.by.id, message.by.name,
         message.at});
    message.id = r.int64(0, 0);
}

std::vector<StatusMessage> PostgresStore::status_messages(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(std::string("SELECT ") + k_status_message_columns +
                                     " FROM status_messages WHERE incident = $1 ORDER BY id",
                                 {incident});
    return collect(r, read_status_message);
}

std::vector<StatusMessage> PostgresStore::status_messages_since(Timestamp since) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(std::string("SELECT ") + k_status_message_columns +
                                     " FROM status_messages WHERE at >= $1 ORDER BY at, id",
                                 {since});
    return collect(r, read_status_message);
}

void PostgresStore::set_component(const ComponentState& component) {
    std::lock_guard lock(impl_->mutex);
    impl_->exec(
        "INSERT INTO status_components (name, status, incident, by_id, by_name, at) VALUES ($1, "
        "$2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET status = excluded.status, "
        "incident = excluded.incident, by_id = excluded.by_id, by_name = excluded.by_name, "
        "at = excluded.at",
        {component.name, to_string(component.status), component.incident, component.by.id,
         component.by.name, component.at});
}

std::vector<ComponentState> PostgresStore::components() {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "SELECT name, status, incident, by_id, by_name, at FROM status_components "
        "ORDER BY name COLLATE \"C\"");
    return collect(r, [](const Result& row, int i) {
        ComponentState c;
        c.name = row.text(i, 0);
        c.status = parse_enum(row.text(i, 1), parse_component_status, "status_components.status");
        c.incident = row.optional_int(i, 2);
        c.by = {row.text(i, 3), row.text(i, 4)};
        c.at = row.int64(i, 5);
        return c;
    });
}

namespace {

EvidenceFile read_file(const Result& row, int i) {
    EvidenceFile f;
    f.id = row.int64(i, 0);
    f.incident = row.int64(i, 1);
    f.platform = row.text(i, 2);
    f.source_id = row.text(i, 3);
    f.source_url = row.text(i, 4);
    f.message_id = row.text(i, 5);
    f.name = row.text(i, 6);
    f.mime_type = row.text(i, 7);
    f.size = row.int64(i, 8);
    f.sha256 = row.text(i, 9);
    f.shared_by = {row.text(i, 10), row.text(i, 11)};
    f.shared_at = row.int64(i, 12);
    f.status = parse_enum(row.text(i, 13), parse_file_status, "files.status");
    f.error = row.text(i, 14);
    return f;
}

// Parameters go as text, which cannot hold a NUL: bytea travels as hex both ways.
std::string hex_of(std::string_view bytes) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const unsigned char c : bytes) {
        out.push_back(k_digits[c >> 4]);
        out.push_back(k_digits[c & 0xf]);
    }
    return out;
}

std::string bytes_of_hex(std::string_view hex) {
    const auto value = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        throw std::runtime_error("file_contents.content is not hex");
    };
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<char>(value(hex[i]) * 16 + value(hex[i + 1])));
    }
    return out;
}

}  // namespace

bool PostgresStore::add_file(EvidenceFile& file) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "INSERT INTO files (incident, platform, source_id, source_url, message_id, name, "
        "mime_type, size, sha256, shared_by_id, shared_by_name, shared_at, status, error) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
        "ON CONFLICT (incident, platform, source_id) DO NOTHING RETURNING id",
        {file.incident, file.platform, file.source_id, file.source_url, file.message_id, file.name,
         file.mime_type, file.size, file.sha256, file.shared_by.id, file.shared_by.name,
         file.shared_at, to_string(file.status), file.error});
    if (r.rows() == 0) return false;
    file.id = r.int64(0, 0);
    return true;
}

void PostgresStore::update_file(const EvidenceFile& file) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "UPDATE files SET source_url = $1, message_id = $2, name = $3, mime_type = $4, size = $5, "
        "sha256 = $6, status = $7, error = $8 WHERE id = $9",
        {file.source_url, file.message_id, file.name, file.mime_type, file.size, file.sha256,
         to_string(file.status), file.error, file.id});
    if (r.affected() == 0) {
        throw std::runtime_error("cannot update file " + std::to_string(file.id) +
                                 ": no such file");
    }
}

std::optional<EvidenceFile> PostgresStore::file(std::int64_t id) {
    std::lock_guard lock(impl_->mutex);
    const Result r =
        impl_->exec(std::string("SELECT ") + k_file_columns + " FROM files WHERE id = $1", {id});
    return first(r, read_file);
}

std::vector<EvidenceFile> PostgresStore::files(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        std::string("SELECT ") + k_file_columns + " FROM files WHERE incident = $1 ORDER BY id",
        {incident});
    return collect(r, read_file);
}

void PostgresStore::put_content(std::string_view sha256, std::string_view bytes) {
    std::lock_guard lock(impl_->mutex);
    impl_->exec(
        "INSERT INTO file_contents (sha256, content) VALUES ($1, decode($2, 'hex')) "
        "ON CONFLICT (sha256) DO NOTHING",
        {sha256, hex_of(bytes)});
}

std::optional<std::string> PostgresStore::content(std::string_view sha256) {
    std::lock_guard lock(impl_->mutex);
    const Result r =
        impl_->exec("SELECT encode(content, 'hex') FROM file_contents WHERE sha256 = $1", {sha256});
    if (r.rows() == 0) return std::nullopt;
    return bytes_of_hex(r.text(0, 0));
}

void PostgresStore::subscribe(const Subscription& sub) {
    std::lock_guard lock(impl_->mutex);
    // Subscribing again only refreshes the display name.
    impl_->exec(
        "INSERT INTO subscriptions (platform, who_id, who_name, incident, min_severity) "
        "VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (platform, who_id, coalesce(incident, 0), min_severity) "
        "DO UPDATE SET who_name = excluded.who_name",
        {sub.platform, sub.who.id, sub.who.name, sub.incident, to_string(sub.min_severity)});
}

bool PostgresStore::unsubscribe(const Subscription& sub) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "DELETE FROM subscriptions WHERE platform = $1 AND who_id = $2 AND "
        "incident IS NOT DISTINCT FROM $3::bigint AND min_severity = $4",
        {sub.platform, sub.who.id, sub.incident, to_string(sub.min_severity)});
    return r.affected() > 0;
}

std::vector<Subscription> PostgresStore::subscriptions() {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "SELECT platform, who_id, who_name, incident, min_severity FROM subscriptions "
        "ORDER BY id");
    return collect(r, [](const Result& row, int i) {
        Subscription sub;
        sub.platform = row.text(i, 0);
        sub.who = {row.text(i, 1), row.text(i, 2)};
        sub.incident = row.optional_int(i, 3);
        sub.min_severity = parse_enum(row.text(i, 4), parse_severity, "subscriptions.min_severity");
        return sub;
    });
}

void PostgresStore::add_outbox(OutboxEntry& entry) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "INSERT INTO outbox (sink, incident, kind, payload, result, status, attempts, "
        "created_at, next_attempt_at, done_at, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "$9, $10, $11) RETURNING id",
        {entry.sink, entry.incident, entry.kind, entry.payload, entry.result,
         to_string(entry.status), entry.attempts, entry.created_at, entry.next_attempt_at,
         entry.done_at, entry.error});
    entry.id = r.int64(0, 0);
}

void PostgresStore::update_outbox(const OutboxEntry& entry) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "UPDATE outbox SET result = $1, status = $2, attempts = $3, created_at = $4, "
        "next_attempt_at = $5, done_at = $6, error = $7 WHERE id = $8",
        {entry.result, to_string(entry.status), entry.attempts, entry.created_at,
         entry.next_attempt_at, entry.done_at, entry.error, entry.id});
    if (r.affected() == 0) {
        throw std::runtime_error("cannot update outbox entry " + std::to_string(entry.id) +
                                 ": no such entry");
    }
}

std::optional<OutboxEntry> PostgresStore::outbox_entry(std::int64_t id) {
    std::lock_guard lock(impl_->mutex);
    const Result r =
        impl_->exec(std::string("SELECT ") + k_outbox_columns + " FROM outbox WHERE id = $1", {id});
    return first(r, read_outbox);
}

std::vector<OutboxEntry> PostgresStore::outbox_entries(std::string_view sink, OutboxStatus status,
                                                       std::size_t limit, bool newest_first) {
    std::lock_guard lock(impl_->mutex);
    const Result r =
        impl_->exec(std::string("SELECT ") + k_outbox_columns +
                        " FROM outbox WHERE status = $1 AND ($2 = '' OR sink = $2) ORDER BY id " +
                        (newest_first ? "DESC" : "ASC") + " LIMIT $3",
                    {to_string(status), sink,
                     limit == 0 ? Param(std::nullopt) : Param(static_cast<std::int64_t>(limit))});
    return collect(r, read_outbox);
}

OutboxCounts PostgresStore::outbox_counts() {
    std::lock_guard lock(impl_->mutex);
    OutboxCounts counts;
    const Result pending =
        impl_->exec("SELECT count(*), min(created_at) FROM outbox WHERE status = 'pending'");
    counts.pending = pending.int64(0, 0);
    counts.oldest_pending = pending.optional_int(0, 1);
    const Result failed = impl_->exec(
        "SELECT sink, kind, count(*) FROM outbox WHERE status = 'failed' GROUP BY sink, kind "
        "ORDER BY sink, kind");
    counts.failed = collect(failed, [](const Result& row, int i) {
        return OutboxCounts::Failed{row.text(i, 0), row.text(i, 1), row.int64(i, 2)};
    });
    return counts;
}

bool PostgresStore::claim_outbox(std::int64_t id, std::string_view owner, Timestamp now,
                                 Timestamp until) {
    std::lock_guard lock(impl_->mutex);
    // One UPDATE: the row lock makes two replicas' claims of one entry take turns, and the
    // second sees the first's claim in its WHERE.
    const Result r = impl_->exec(
        "UPDATE outbox SET claimed_by = $1, claimed_until = $2 WHERE id = $3 AND "
        "status = 'pending' AND (claimed_until IS NULL OR claimed_until <= $4 OR "
        "claimed_by = $1)",
        {owner, until, id, now});
    return r.affected() > 0;
}

std::vector<OutboxEntry> PostgresStore::claim_outbox_heads(std::string_view sink,
                                                           std::string_view owner, Timestamp now,
                                                           Timestamp until, std::size_t limit) {
    std::lock_guard lock(impl_->mutex);
    // Heads another replica is claiming right now are skipped, not waited for. One whose
    // claim was committed after this statement's snapshot is read again once locked (READ
    // COMMITTED), and that claim keeps it out. A lane's next entry is a head only once the
    // one before it was settled and committed, so a lane never has two claimed entries.
    const Result r = impl_->exec(
        std::string("WITH heads AS (SELECT o.id AS head FROM outbox o WHERE o.sink = $1 AND "
                    "o.status = 'pending' AND o.next_attempt_at <= $4 AND (o.claimed_until IS "
                    "NULL OR o.claimed_until <= $4 OR o.claimed_by = $2) AND NOT EXISTS (SELECT "
                    "1 FROM outbox older WHERE older.sink = o.sink AND older.incident = "
                    "o.incident AND older.status = 'pending' AND older.id < o.id) ORDER BY o.id "
                    "LIMIT $5 FOR UPDATE OF o SKIP LOCKED) "
                    "UPDATE outbox SET claimed_by = $2, claimed_until = $3 FROM heads WHERE "
                    "outbox.id = heads.head RETURNING ") +
            k_outbox_columns,
        {sink, owner, until, now, static_cast<std::int64_t>(limit)});
    auto claimed = collect(r, read_outbox);
    std::sort(claimed.begin(), claimed.end(),
              [](const OutboxEntry& a, const OutboxEntry& b) { return a.id < b.id; });
    return claimed;
}

bool PostgresStore::hold_lease(std::string_view name, std::string_view holder, Timestamp now,
                               Timestamp until) {
    std::lock_guard lock(impl_->mutex);
    // The row lock of ON CONFLICT makes two replicas take turns; the second one's WHERE sees
    // the first one's lease.
    const Result r = impl_->exec(
        "INSERT INTO leases (name, holder, held_until) VALUES ($1, $2, $3) ON CONFLICT (name) DO "
        "UPDATE SET holder = excluded.holder, held_until = excluded.held_until WHERE leases.holder "
        "= "
        "excluded.holder OR leases.held_until <= $4",
        {name, holder, until, now});
    return r.affected() > 0;
}

std::size_t PostgresStore::prune_outbox(Timestamp before, std::size_t limit) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status = 'delivered' "
        "AND done_at < $1 ORDER BY id LIMIT $2)",
        {before, static_cast<std::int64_t>(limit)});
    return static_cast<std::size_t>(r.affected());
}

std::size_t PostgresStore::prune_processed(Timestamp before, std::size_t limit) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "DELETE FROM processed_keys WHERE key IN (SELECT key FROM processed_keys "
        "WHERE processed_at < $1 ORDER BY processed_at LIMIT $2)",
        {before, static_cast<std::int64_t>(limit)});
    return static_cast<std::size_t>(r.affected());
}

bool PostgresStore::record_reminder(const SentReminder& reminder) {
    std::lock_guard lock(impl_->mutex);
    // Another replica recording the same key at once waits here for its commit, then
    // records nothing.
    const Result r = impl_->exec(
        "INSERT INTO reminders_sent (key, kind, incident, sent_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (key) DO NOTHING",
        {reminder.key, reminder.kind, reminder.incident, reminder.sent_at});
    return r.affected() > 0;
}

bool PostgresStore::reminder_sent(std::string_view key) {
    std::lock_guard lock(impl_->mutex);
    return impl_->exec("SELECT 1 FROM reminders_sent WHERE key = $1", {key}).rows() > 0;
}

std::optional<Timestamp> PostgresStore::last_reminder(std::int64_t incident,
                                                      std::string_view kind) {
    std::lock_guard lock(impl_->mutex);
    const Result r =
        impl_->exec("SELECT max(sent_at) FROM reminders_sent WHERE incident = $1 AND kind = $2",
                    {incident, kind});
    return r.optional_int(0, 0);
}

void PostgresStore::save_live_message(const LiveMessage& message) {
    std::lock_guard lock(impl_->mutex);
    impl_->exec(
        "INSERT INTO live_messages (incident, platform, purpose, channel_id, message_id, "
        "rendered, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (incident, "
        "platform, purpose) DO UPDATE SET channel_id = excluded.channel_id, message_id = "
        "excluded.message_id, rendered = excluded.rendered, updated_at = excluded.updated_at",
        {message.incident, message.platform, message.purpose, message.channel_id,
         message.message_id, message.rendered, message.updated_at});
}

std::optional<LiveMessage> PostgresStore::live_message(std::int64_t incident,
                                                       std::string_view platform,
                                                       std::string_view purpose) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "SELECT channel_id, message_id, rendered, updated_at FROM live_messages WHERE incident "
        "= $1 AND platform = $2 AND purpose = $3",
        {incident, platform, purpose});
    return first(r, [&](const Result& row, int i) {
        return LiveMessage{incident,       std::string(platform), std::string(purpose),
                           row.text(i, 0), row.text(i, 1),        row.text(i, 2),
                           row.int64(i, 3)};
    });
}

DatabaseHealth inspect_postgres(const std::string& conninfo) {
    DatabaseHealth health;
    health.latest_version = postgres_migrations().back().version;
    try {
        pq::Connection db(conninfo);
        health.exists = true;
        health.schema_version = incident::schema_version(db);
        health.bytes = static_cast<std::uintmax_t>(
            db.exec("SELECT pg_database_size(current_database())").int64(0, 0));
        if (health.schema_version > 0) {
            health.incidents = db.exec("SELECT count(*) FROM incidents").int64(0, 0);
        }
        if (db.exec("SELECT pg_is_in_recovery()").boolean(0, 0)) {
            health.write_error = "the server is a read-only standby";
        } else if (health.schema_version > 0 &&
                   !db.exec("SELECT has_table_privilege('incidents', 'INSERT, UPDATE')")
                        .boolean(0, 0)) {
            health.write_error = "the user may not insert into or update the incidents table";
        } else if (health.schema_version == 0 &&
                   !db.exec("SELECT has_schema_privilege(current_schema(), 'CREATE')")
                        .boolean(0, 0)) {
            health.write_error = "the user may not create the bot's tables in schema " +
                                 db.exec("SELECT current_schema()").text(0, 0);
        }
    } catch (const pq::Error& e) {
        health.open_error = e.what();
    }
    return health;
}

namespace {

constexpr const char* k_published_columns =
    "p.id, p.incident, p.version, p.title, p.markdown, p.summary, p.root_cause, p.factors, "
    "p.actions, p.by_id, p.by_name, p.at";

PublishedPostmortem read_published(const Result& row, int i) {
    PublishedPostmortem p;
    p.id = row.int64(i, 0);
    p.incident = row.int64(i, 1);
    p.version = static_cast<int>(row.int64(i, 2));
    p.title = row.text(i, 3);
    p.markdown = row.text(i, 4);
    p.summary = row.text(i, 5);
    p.root_cause = row.text(i, 6);
    p.factors = row.text(i, 7);
    p.actions = row.text(i, 8);
    p.by = {row.text(i, 9), row.text(i, 10)};
    p.at = row.int64(i, 11);
    return p;
}

// Words as typed become a tsquery that cannot be malformed: each word reduced to its letters
// and digits (and any non-ASCII byte), matched as a prefix, all of them required.
std::string tsquery_of(std::string_view text) {
    std::string query;
    for (const auto& word : search_words(text)) {
        if (!query.empty()) query += " & ";
        query += "'" + word + "':*";
    }
    return query;
}

}  // namespace

void PostgresStore::add_published(PublishedPostmortem& published) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(
        "INSERT INTO published_postmortems (incident, version, title, markdown, summary, "
        "root_cause, factors, actions, by_id, by_name, at) VALUES ($1, (SELECT "
        "coalesce(max(version), 0) + 1 FROM published_postmortems WHERE incident = $1), $2, $3, "
        "$4, $5, $6, $7, $8, $9, $10) RETURNING id, version",
        {published.incident, published.title, published.markdown, published.summary,
         published.root_cause, published.factors, published.actions, published.by.id,
         published.by.name, published.at});
    published.id = r.int64(0, 0);
    published.version = static_cast<int>(r.int64(0, 1));
}

std::vector<PublishedPostmortem> PostgresStore::published(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    const Result r = impl_->exec(std::string("SELECT ") + k_published_columns +
                                     " FROM published_postmortems p WHERE p.incident = $1 "
                                     "ORDER BY p.version",
                                 {incident});
    return collect(r, read_published);
}

std::vector<PublishedPostmortem> PostgresStore::search_published(std::string_view words) {
    std::lock_guard lock(impl_->mutex);
    const std::string query = tsquery_of(words);
    const std::string newest =
        "p.version = (SELECT max(version) FROM published_postmortems q "
        "WHERE q.incident = p.incident)";
    if (query.empty()) {
        const Result r = impl_->exec(std::string("SELECT ") + k_published_columns +
                                     " FROM published_postmortems p WHERE " + newest +
                                     " ORDER BY p.at DESC, p.id DESC");
        return collect(r, read_published);
    }
    const Result r = impl_->exec(
        std::string("SELECT ") + k_published_columns +
            " FROM published_postmortems p WHERE p.search @@ to_tsquery('simple', $1) AND " +
            newest + " ORDER BY ts_rank(p.search, to_tsquery('simple', $1)) DESC, p.id DESC",
        {query});
    return collect(r, read_published);
}

}  // namespace incident
