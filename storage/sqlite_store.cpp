#include "storage/sqlite_store.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include "storage/columns.hpp"
#include "storage/content_folder.hpp"
#include "storage/migrations.hpp"

namespace incident {

namespace {

using SQLite::Column;
using SQLite::Statement;

void bind_optional(Statement& query, int index, const std::optional<std::int64_t>& value) {
    if (value) {
        query.bind(index, *value);
    } else {
        query.bind(index);
    }
}

void bind_optional(Statement& query, int index, const std::optional<std::string>& value) {
    if (value) {
        query.bind(index, *value);
    } else {
        query.bind(index);
    }
}

void bind_optional(Statement& query, int index, const std::optional<Severity>& value) {
    if (value) {
        query.bind(index, std::string(to_string(*value)));
    } else {
        query.bind(index);
    }
}

std::optional<std::int64_t> optional_int(const Column& column) {
    if (column.isNull()) return std::nullopt;
    return column.getInt64();
}

std::optional<std::string> optional_text(const Column& column) {
    if (column.isNull()) return std::nullopt;
    return column.getString();
}

template <typename Parse>
auto parse_column(const Column& column, Parse parse, std::string_view name) {
    return parse_enum(column.getString(), parse, name);
}

template <typename Parse>
auto parse_optional_column(const Column& column, Parse parse, std::string_view name)
    -> std::optional<decltype(parse_column(column, parse, name))> {
    if (column.isNull()) return std::nullopt;
    return parse_column(column, parse, name);
}

// A cached statement for one use: bindings cleared and cursor reset on the way out, so
// no half-read SELECT keeps a WAL snapshot (and the checkpointer) waiting.
class Prepared {
public:
    explicit Prepared(Statement& statement) : statement_(statement) {}
    Prepared(const Prepared&) = delete;
    Prepared& operator=(const Prepared&) = delete;
    ~Prepared() {
        statement_.tryReset();
        statement_.clearBindings();
    }
    operator Statement&() { return statement_; }
    template <typename... Args>
    void bind(Args&&... args) {
        statement_.bind(std::forward<Args>(args)...);
    }
    int exec() { return statement_.exec(); }
    bool executeStep() { return statement_.executeStep(); }
    Column getColumn(int index) { return statement_.getColumn(index); }
    void reset() { statement_.reset(); }

private:
    Statement& statement_;
};

template <typename Read>
auto collect(Statement& query, Read read) {
    std::vector<decltype(read(query))> rows;
    while (query.executeStep()) rows.push_back(read(query));
    return rows;
}

template <typename Read>
auto first(Statement& query, Read read) -> std::optional<decltype(read(query))> {
    if (!query.executeStep()) return std::nullopt;
    return read(query);
}

// Binds every column but `number` as ?1..?22, in k_incident_columns order.
void bind_incident(Statement& query, const Incident& incident) {
    query.bind(1, incident.title);
    query.bind(2, std::string(to_string(incident.severity)));
    bind_optional(query, 3, incident.final_severity);
    query.bind(4, std::string(to_string(incident.state)));
    bind_optional(query, 5, incident.merged_into);
    query.bind(6, incident.platform);
    query.bind(7, incident.channel_id);
    query.bind(8, incident.channel_name);
    query.bind(9, incident.declared_by.id);
    query.bind(10, incident.declared_by.name);
    query.bind(11, incident.declared_at);
    bind_optional(query, 12, incident.identified_at);
    bind_optional(query, 13, incident.mitigated_at);
    bind_optional(query, 14, incident.resolved_at);
    bind_optional(query, 15, incident.closed_at);
    query.bind(16, incident.last_update_at);
    query.bind(17, incident.summary);
    query.bind(18, incident.postmortem_owner);
    bind_optional(query, 19, incident.postmortem_due);
    bind_optional(query, 20, incident.postmortem_published_at);
    bind_optional(query, 21, incident.detected_at);
    bind_optional(query, 22, incident.related_to);
}

Incident read_incident(Statement& row) {
    Incident incident;
    incident.number = row.getColumn(0).getInt64();
    incident.title = row.getColumn(1).getString();
    incident.severity = parse_column(row.getColumn(2), parse_severity, "incidents.severity");
    incident.final_severity =
        parse_optional_column(row.getColumn(3), parse_severity, "incidents.final_severity");
    incident.state = parse_column(row.getColumn(4), parse_state, "incidents.state");
    incident.merged_into = optional_int(row.getColumn(5));
    incident.platform = row.getColumn(6).getString();
    incident.channel_id = row.getColumn(7).getString();
    incident.channel_name = row.getColumn(8).getString();
    incident.declared_by = {row.getColumn(9).getString(), row.getColumn(10).getString()};
    incident.declared_at = row.getColumn(11).getInt64();
    incident.identified_at = optional_int(row.getColumn(12));
    incident.mitigated_at = optional_int(row.getColumn(13));
    incident.resolved_at = optional_int(row.getColumn(14));
    incident.closed_at = optional_int(row.getColumn(15));
    incident.last_update_at = row.getColumn(16).getInt64();
    incident.summary = row.getColumn(17).getString();
    incident.postmortem_owner = row.getColumn(18).getString();
    incident.postmortem_due = optional_text(row.getColumn(19));
    incident.postmortem_published_at = optional_int(row.getColumn(20));
    incident.detected_at = optional_int(row.getColumn(21));
    incident.related_to = optional_int(row.getColumn(22));
    return incident;
}

TimelineEntry read_entry(Statement& row) {
    TimelineEntry entry;
    entry.id = row.getColumn(0).getInt64();
    entry.incident = row.getColumn(1).getInt64();
    entry.kind = parse_column(row.getColumn(2), parse_entry_kind, "timeline_entries.kind");
    entry.at = row.getColumn(3).getInt64();
    entry.author = {row.getColumn(4).getString(), row.getColumn(5).getString()};
    entry.text = row.getColumn(6).getString();
    entry.message_id = row.getColumn(7).getString();
    entry.thread_id = row.getColumn(8).getString();
    entry.key_event = row.getColumn(9).getInt() != 0;
    entry.edited_at = optional_int(row.getColumn(10));
    entry.deleted_at = optional_int(row.getColumn(11));
    decode_key_marks(row.getColumn(12).getString(), entry);
    return entry;
}

ActionItem read_action(Statement& row) {
    ActionItem item;
    item.id = row.getColumn(0).getInt64();
    item.incident = row.getColumn(1).getInt64();
    item.number = row.getColumn(2).getInt();
    item.text = row.getColumn(3).getString();
    item.owner = row.getColumn(4).getString();
    item.due = optional_text(row.getColumn(5));
    item.status = parse_column(row.getColumn(6), parse_action_status, "action_items.status");
    item.source = parse_column(row.getColumn(7), parse_action_source, "action_items.source");
    item.source_message_id = row.getColumn(8).getString();
    item.author = {row.getColumn(9).getString(), row.getColumn(10).getString()};
    item.created_at = row.getColumn(11).getInt64();
    item.done_at = optional_int(row.getColumn(12));
    item.kind = parse_column(row.getColumn(13), parse_action_kind, "action_items.kind");
    return item;
}

constexpr const char* k_published_columns =
    "p.id, p.incident, p.version, p.title, p.markdown, p.summary, p.root_cause, p.factors, "
    "p.actions, p.by_id, p.by_name, p.at";

PublishedPostmortem read_published(Statement& row) {
    PublishedPostmortem p;
    p.id = row.getColumn(0).getInt64();
    p.incident = row.getColumn(1).getInt64();
    p.version = row.getColumn(2).getInt();
    p.title = row.getColumn(3).getString();
    p.markdown = row.getColumn(4).getString();
    p.summary = row.getColumn(5).getString();
    p.root_cause = row.getColumn(6).getString();
    p.factors = row.getColumn(7).getString();
    p.actions = row.getColumn(8).getString();
    p.by = {row.getColumn(9).getString(), row.getColumn(10).getString()};
    p.at = row.getColumn(11).getInt64();
    return p;
}

// Each word a quoted string matched as a prefix, all of them required.
std::string fts_query(std::string_view text) {
    std::string query;
    for (const auto& word : search_words(text)) {
        if (!query.empty()) query += ' ';
        query += '"' + word + "\"*";
    }
    return query;
}

OutboxEntry read_outbox(Statement& row) {
    OutboxEntry entry;
    entry.id = row.getColumn(0).getInt64();
    entry.sink = row.getColumn(1).getString();
    entry.incident = row.getColumn(2).getInt64();
    entry.kind = row.getColumn(3).getString();
    entry.payload = row.getColumn(4).getString();
    entry.result = row.getColumn(5).getString();
    entry.status = parse_column(row.getColumn(6), parse_outbox_status, "outbox.status");
    entry.attempts = row.getColumn(7).getInt();
    entry.created_at = row.getColumn(8).getInt64();
    entry.next_attempt_at = row.getColumn(9).getInt64();
    entry.done_at = optional_int(row.getColumn(10));
    entry.error = row.getColumn(11).getString();
    entry.claimed_by = row.getColumn(12).getString();
    entry.claimed_until = optional_int(row.getColumn(13));
    return entry;
}

bool is_memory_path(const std::string& path) {
    return path.empty() || path == ":memory:" || path.starts_with("file::memory:");
}

}  // namespace

// Checkpoints the WAL into the database file on its own thread and connection, so that no
// commit (and so no ack) waits for it: SQLite's automatic checkpoint runs inside the COMMIT
// that crosses the threshold, writing and fsyncing the database file there (a 380 ms stall
// in the benchmark). PASSIVE never waits for the writer nor blocks it.
class Checkpointer {
public:
    explicit Checkpointer(std::string path) : path_(std::move(path)), thread_([this] { run(); }) {}
    ~Checkpointer() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }
    void request() {
        {
            std::lock_guard lock(mutex_);
            wanted_ = true;
        }
        wake_.notify_one();
    }

private:
    void run() {
        std::optional<SQLite::Database> db;
        for (;;) {
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return wanted_ || stop_; });
                if (stop_) return;
                wanted_ = false;
            }
            try {
                if (!db) {
                    db.emplace(path_, SQLite::OPEN_READWRITE);
                    db->exec("PRAGMA synchronous = FULL");
                }
                sqlite3_wal_checkpoint_v2(db->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                          nullptr, nullptr);
            } catch (const std::exception&) {
                db.reset();  // tried again at the next request; the WAL only grows meanwhile
            }
        }
    }

    std::string path_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool wanted_ = false, stop_ = false;
    std::thread thread_;
};

struct SqliteStore::Impl {
    explicit Impl(const std::string& path)
        // NOMUTEX: `mutex` below already serializes every use of the connection, and
        // SQLite's own per-call mutex cost a lock and an unlock per bind, step and reset.
        : path(path),
          db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX) {
        sqlite3_busy_handler(db.getHandle(), &Impl::wait_for_lock, nullptr);
    }

    // Another connection holds the write lock (a second process on the file). SQLite's own
    // busy_timeout sleeps up to 100 ms between tries, and a writer that keeps the lock
    // nearly all the time wins each of them: tries every millisecond instead, for 5 s.
    static int wait_for_lock(void*, int tries) {
        if (tries >= 5000) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return 1;
    }
    ~Impl() {
        checkpointer.reset();  // before the connection closes
    }

    std::string path;
    SQLite::Database db;
    // Recursive: work() inside transaction() calls back into the store.
    std::recursive_mutex mutex;
    int depth = 0;
    // After db: statements are finalized before the connection closes. Looked up by the
    // SQL text without copying it into a std::string first.
    struct SqlHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view sql) const {
            return std::hash<std::string_view>{}(sql);
        }
    };
    std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>>
        statements;
    // SAVEPOINT, RELEASE and ROLLBACK TO of each nesting depth, spelled once.
    struct SavepointSql {
        std::string begin, release, rollback;
    };
    std::deque<SavepointSql> savepoints;  // references stay valid as it grows
    // incident_by_channel, asked twice for every chat event, answered from memory: any write
    // to the incidents table, and any rollback, forgets all of it.
    std::unordered_map<std::string, std::optional<Incident>> by_channel;
    std::unique_ptr<Checkpointer> checkpointer;
    // Evidence file contents, beside the database file.
    ContentFolder contents{path, is_memory_path(path)};

    // Prepared once per connection: parsing the SQL of every insert was the largest cost
    // of storing an event.
    Prepared prepare(std::string_view sql) {
        auto found = statements.find(sql);
        if (found == statements.end()) {
            std::string text(sql);
            auto statement = std::make_unique<Statement>(db, text);
            found = statements.emplace(std::move(text), std::move(statement)).first;
        }
        return Prepared(*found->second);
    }
    // Transaction control, prepared once too (sqlite3_exec parsed each SAVEPOINT anew).
    void run(std::string_view sql) {
        Prepared statement = prepare(sql);
        statement.exec();
    }
    const SavepointSql& savepoint(int depth) {
        while (savepoints.size() <= static_cast<std::size_t>(depth)) {
            const std::string name = "nested_" + std::to_string(savepoints.size());
            savepoints.push_back({"SAVEPOINT " + name, "RELEASE " + name, "ROLLBACK TO " + name});
        }
        return savepoints[static_cast<std::size_t>(depth)];
    }
    void try_run(std::string_view sql) noexcept {
        try {
            run(sql);
        } catch (...) {
        }
    }

    // Frames in the WAL after a commit: past SQLite's usual threshold, the checkpointer runs.
    static int on_wal_commit(void* self, sqlite3*, const char*, int frames) {
        if (frames >= 1000) static_cast<Impl*>(self)->checkpointer->request();
        return SQLITE_OK;
    }

    void write_revisions(const TimelineEntry& entry) {
        Prepared clear = prepare("DELETE FROM entry_revisions WHERE entry_id = ?");
        clear.bind(1, entry.id);
        clear.exec();
        Prepared insert =
            prepare("INSERT INTO entry_revisions (entry_id, seq, text) VALUES (?, ?, ?)");
        for (std::size_t seq = 0; seq < entry.previous_texts.size(); ++seq) {
            insert.bind(1, entry.id);
            insert.bind(2, static_cast<std::int64_t>(seq));
            insert.bind(3, entry.previous_texts[seq]);
            insert.exec();
            insert.reset();
        }
    }
};

SqliteStore::SqliteStore(const std::string& path) {
    try {
        impl_ = std::make_unique<Impl>(path);
        SQLite::Database& db = impl_->db;
        db.exec("PRAGMA foreign_keys = ON");
        // An acknowledged event must survive power loss, WAL or not.
        db.exec("PRAGMA synchronous = FULL");
        // Refuses a newer schema before anything below writes to the file.
        migrate(db);
        if (!is_memory_path(path)) {
            db.exec("PRAGMA journal_mode = WAL");
            // Replaces the automatic checkpoint (sqlite3_wal_hook): see Checkpointer.
            impl_->checkpointer = std::make_unique<Checkpointer>(path);
            sqlite3_wal_hook(db.getHandle(), &Impl::on_wal_commit, impl_.get());
        }
    } catch (const SQLite::Exception& e) {
        throw std::runtime_error("cannot open database " + path + ": " + e.what());
    }
}

SqliteStore::~SqliteStore() = default;

const std::string& SqliteStore::path() const {
    return impl_->path;
}

int SqliteStore::schema_version() {
    std::lock_guard lock(impl_->mutex);
    return incident::schema_version(impl_->db);
}

void SqliteStore::transaction(const std::function<void()>& work) {
    std::lock_guard lock(impl_->mutex);
    Impl& impl = *impl_;
    const int depth = impl.depth;
    // Inner calls are savepoints: an inner failure that the caller catches undoes only the
    // inner writes; one that propagates undoes the outer transaction as well.
    const auto& savepoint = impl.savepoint(depth);
    // IMMEDIATE takes the write lock up front, so the busy handler waits for it instead of a
    // deadlock-prone lock upgrade in the middle of the work.
    impl.run(depth == 0 ? std::string_view("BEGIN IMMEDIATE") : savepoint.begin);
    ++impl.depth;
    try {
        work();
    } catch (...) {
        --impl.depth;
        impl.by_channel.clear();  // it may hold what is being undone
        // SQLite may already have rolled back by itself (SQLITE_FULL, IOERR, ...); the
        // original exception is the one worth reporting.
        if (depth == 0) {
            impl.try_run("ROLLBACK");
        } else {
            impl.try_run(savepoint.rollback);
            impl.try_run(savepoint.release);
        }
        throw;
    }
    --impl.depth;
    if (depth > 0) {
        impl.run(savepoint.release);
        return;
    }
    try {
        impl.run("COMMIT");
    } catch (...) {
        impl.by_channel.clear();
        impl.try_run("ROLLBACK");
        throw;
    }
}

std::optional<std::string> SqliteStore::processed(std::string_view key) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare("SELECT reply FROM processed_keys WHERE key = ?");
    query.bind(1, std::string(key));
    return first(query, [](Statement& row) { return row.getColumn(0).getString(); });
}

void SqliteStore::mark_processed(std::string_view key, std::string_view reply, Timestamp at) {
    std::lock_guard lock(impl_->mutex);
    // The first reply stands: a retried event must get the answer the first one got.
    Prepared insert = impl_->prepare(
        "INSERT INTO processed_keys (key, reply, processed_at) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO NOTHING");
    insert.bind(1, std::string(key));
    insert.bind(2, std::string(reply));
    insert.bind(3, at);
    insert.exec();
}

void SqliteStore::insert_incident(Incident& incident) {
    std::lock_guard lock(impl_->mutex);
    impl_->by_channel.clear();
    Prepared insert = impl_->prepare(std::string("INSERT INTO incidents (") + k_incident_columns +
                                     ") VALUES ((SELECT ifnull(max(number), 0) + 1 FROM "
                                     "incidents), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                                     "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)");
    bind_incident(insert, incident);
    insert.exec();
    // number is the rowid.
    incident.number = impl_->db.getLastInsertRowid();
}

void SqliteStore::update_incident(const Incident& incident) {
    std::lock_guard lock(impl_->mutex);
    impl_->by_channel.clear();
    Prepared update = impl_->prepare(
        "UPDATE incidents SET title = ?1, severity = ?2, final_severity = ?3, "
        "state = ?4, merged_into = ?5, platform = ?6, channel_id = ?7, "
        "channel_name = ?8, declared_by_id = ?9, declared_by_name = ?10, "
        "declared_at = ?11, identified_at = ?12, mitigated_at = ?13, "
        "resolved_at = ?14, closed_at = ?15, last_update_at = ?16, summary = ?17, "
        "postmortem_owner = ?18, postmortem_due = ?19, "
        "postmortem_published_at = ?20, detected_at = ?21, related_to = ?22 "
        "WHERE number = ?23");
    bind_incident(update, incident);
    update.bind(23, incident.number);
    if (update.exec() == 0) {
        throw std::runtime_error("cannot update " + incident.key() + ": no such incident");
    }
}

std::optional<Incident> SqliteStore::incident(std::int64_t number) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(std::string("SELECT ") + k_incident_columns +
                                    " FROM incidents WHERE number = ?");
    query.bind(1, number);
    return first(query, read_incident);
}

std::optional<Incident> SqliteStore::incident_by_channel(std::string_view platform,
                                                         std::string_view channel_id) {
    std::lock_guard lock(impl_->mutex);
    std::string key;
    key.reserve(platform.size() + 1 + channel_id.size());
    key.append(platform).append(1, '\n').append(channel_id);
    if (const auto it = impl_->by_channel.find(key); it != impl_->by_channel.end()) {
        return it->second;
    }
    // Incidents without a channel yet have channel_id '' and belong to no channel.
    static const std::string sql = std::string("SELECT ") + k_incident_columns +
                                   " FROM incidents WHERE platform = ? AND channel_id = ? "
                                   "AND channel_id <> '' ORDER BY number DESC LIMIT 1";
    Prepared query = impl_->prepare(sql);
    query.bind(1, std::string(platform));
    query.bind(2, std::string(channel_id));
    auto found = first(query, read_incident);
    // Bounded: chatter from many channels must not grow it without end.
    if (impl_->by_channel.size() >= 4096) impl_->by_channel.clear();
    impl_->by_channel.emplace(std::move(key), found);
    return found;
}

std::vector<Incident> SqliteStore::incidents(bool include_closed) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(std::string("SELECT ") + k_incident_columns +
                                    " FROM incidents WHERE ?1 OR state NOT IN ('closed', "
                                    "'merged') ORDER BY number DESC");
    query.bind(1, include_closed ? 1 : 0);
    return collect(query, read_incident);
}

std::vector<Incident> SqliteStore::merged_into(std::int64_t primary) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(std::string("SELECT ") + k_incident_columns +
                                    " FROM incidents WHERE merged_into = ? ORDER BY number");
    query.bind(1, primary);
    return collect(query, read_incident);
}

void SqliteStore::assign_role(std::int64_t incident, const RoleAssignment& assignment) {
    transaction([&] {
        const std::string role(to_string(assignment.role));
        if (assignment.role != Role::sme) {
            Prepared clear = impl_->prepare("DELETE FROM roles WHERE incident = ? AND role = ?");
            clear.bind(1, incident);
            clear.bind(2, role);
            clear.exec();
        }
        // An sme named twice keeps the first assignment.
        Prepared insert = impl_->prepare(
            "INSERT INTO roles (incident, role, person_id, person_name, "
            "assigned_by_id, assigned_by_name, assigned_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (incident, role, person_id) DO NOTHING");
        insert.bind(1, incident);
        insert.bind(2, role);
        insert.bind(3, assignment.person.id);
        insert.bind(4, assignment.person.name);
        insert.bind(5, assignment.assigned_by.id);
        insert.bind(6, assignment.assigned_by.name);
        insert.bind(7, assignment.assigned_at);
        insert.exec();
    });
}

std::vector<RoleAssignment> SqliteStore::roles(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(
        "SELECT role, person_id, person_name, assigned_by_id, assigned_by_name, "
        "assigned_at FROM roles WHERE incident = ? ORDER BY assigned_at, id");
    query.bind(1, incident);
    auto roles = collect(query, [](Statement& row) {
        RoleAssignment assignment;
        assignment.role = parse_column(row.getColumn(0), parse_role, "roles.role");
        assignment.person = {row.getColumn(1).getString(), row.getColumn(2).getString()};
        assignment.assigned_by = {row.getColumn(3).getString(), row.getColumn(4).getString()};
        assignment.assigned_at = row.getColumn(5).getInt64();
        return assignment;
    });
    sort_by_role(roles);
    return roles;
}

bool SqliteStore::add_entry(TimelineEntry& entry) {
    bool added = false;
    const auto insert_entry = [&] {
        SQLite::Database& db = impl_->db;
        // DO NOTHING only covers uniqueness, so a missing incident still fails loudly.
        static const std::string sql = std::string("INSERT INTO timeline_entries (") +
                                       k_entry_columns +
                                       ") VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                       "ON CONFLICT DO NOTHING";
        Prepared insert = impl_->prepare(sql);
        insert.bind(1, entry.incident);
        insert.bind(2, std::string(to_string(entry.kind)));
        insert.bind(3, entry.at);
        insert.bind(4, entry.author.id);
        insert.bind(5, entry.author.name);
        insert.bind(6, entry.text);
        insert.bind(7, entry.message_id);
        insert.bind(8, entry.thread_id);
        insert.bind(9, entry.key_event ? 1 : 0);
        bind_optional(insert, 10, entry.edited_at);
        bind_optional(insert, 11, entry.deleted_at);
        insert.bind(12, encode_key_marks(entry));
        if (insert.exec() == 0) return;
        entry.id = db.getLastInsertRowid();
        added = true;
        if (!entry.previous_texts.empty()) impl_->write_revisions(entry);
    };
    if (entry.previous_texts.empty()) {
        // One statement is atomic by itself: no savepoint (two statements per chat message).
        std::lock_guard lock(impl_->mutex);
        insert_entry();
    } else {
        transaction(insert_entry);
    }
    return added;
}

void SqliteStore::update_entry(const TimelineEntry& entry) {
    transaction([&] {
        Prepared update = impl_->prepare(
            "UPDATE timeline_entries SET text = ?, key_event = ?, edited_at = ?, "
            "deleted_at = ?, key_marks = ? WHERE id = ?");
        update.bind(1, entry.text);
        update.bind(2, entry.key_event ? 1 : 0);
        bind_optional(update, 3, entry.edited_at);
        bind_optional(update, 4, entry.deleted_at);
        update.bind(5, encode_key_marks(entry));
        update.bind(6, entry.id);
        if (update.exec() == 0) {
            throw std::runtime_error("cannot update timeline entry " + std::to_string(entry.id) +
                                     ": no such entry");
        }
        impl_->write_revisions(entry);
    });
}

std::optional<TimelineEntry> SqliteStore::entry_by_message(std::int64_t incident,
                                                           std::string_view message_id) {
    std::lock_guard lock(impl_->mutex);
    if (message_id.empty()) return std::nullopt;
    Prepared query = impl_->prepare(std::string("SELECT ") + k_entry_columns +
                                    " FROM timeline_entries WHERE incident = ? AND "
                                    "message_id = ? AND message_id <> ''");
    query.bind(1, incident);
    query.bind(2, std::string(message_id));
    auto entry = first(query, read_entry);
    if (entry) {
        Prepared revisions =
            impl_->prepare("SELECT text FROM entry_revisions WHERE entry_id = ? ORDER BY seq");
        revisions.bind(1, entry->id);
        entry->previous_texts =
            collect(revisions, [](Statement& row) { return row.getColumn(0).getString(); });
    }
    return entry;
}

std::vector<TimelineEntry> SqliteStore::timeline(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(std::string("SELECT ") + k_entry_columns +
                                    " FROM timeline_entries WHERE incident = ? ORDER BY at, id");
    query.bind(1, incident);
    auto entries = collect(query, read_entry);

    std::unordered_map<std::int64_t, std::size_t> index_of;
    for (std::size_t i = 0; i < entries.size(); ++i) index_of.emplace(entries[i].id, i);
    Prepared revisions = impl_->prepare(
        "SELECT r.entry_id, r.text FROM entry_revisions r "
        "JOIN timeline_entries e ON e.id = r.entry_id "
        "WHERE e.incident = ? ORDER BY r.entry_id, r.seq");
    revisions.bind(1, incident);
    while (revisions.executeStep()) {
        const auto found = index_of.find(revisions.getColumn(0).getInt64());
        if (found != index_of.end()) {
            entries[found->second].previous_texts.push_back(revisions.getColumn(1).getString());
        }
    }
    return entries;
}

void SqliteStore::add_action(ActionItem& item) {
    transaction([&] {
        SQLite::Database& db = impl_->db;
        Prepared insert =
            impl_->prepare(std::string("INSERT INTO action_items (") + k_action_columns +
                           ") VALUES (NULL, ?1, (SELECT ifnull(max(number), 0) + 1 FROM "
                           "action_items WHERE incident = ?1), ?2, ?3, ?4, ?5, ?6, ?7, "
                           "?8, ?9, ?10, ?11, ?12)");
        insert.bind(1, item.incident);
        insert.bind(2, item.text);
        insert.bind(3, item.owner);
        bind_optional(insert, 4, item.due);
        insert.bind(5, std::string(to_string(item.status)));
        insert.bind(6, std::string(to_string(item.source)));
        insert.bind(7, item.source_message_id);
        insert.bind(8, item.author.id);
        insert.bind(9, item.author.name);
        insert.bind(10, item.created_at);
        bind_optional(insert, 11, item.done_at);
        insert.bind(12, std::string(to_string(item.kind)));
        insert.exec();
        const std::int64_t id = db.getLastInsertRowid();

        Prepared number = impl_->prepare("SELECT number FROM action_items WHERE id = ?");
        number.bind(1, id);
        number.executeStep();
        item.id = id;
        item.number = number.getColumn(0).getInt();
    });
}

void SqliteStore::update_action(const ActionItem& item) {
    std::lock_guard lock(impl_->mutex);
    Prepared update = impl_->prepare(
        "UPDATE action_items SET text = ?, owner = ?, due = ?, status = ?, "
        "done_at = ?, kind = ? WHERE id = ?");
    update.bind(1, item.text);
    update.bind(2, item.owner);
    bind_optional(update, 3, item.due);
    update.bind(4, std::string(to_string(item.status)));
    bind_optional(update, 5, item.done_at);
    update.bind(6, std::string(to_string(item.kind)));
    update.bind(7, item.id);
    if (update.exec() == 0) {
        throw std::runtime_error("cannot update action item " + std::to_string(item.id) +
                                 ": no such action item");
    }
}

std::vector<ActionItem> SqliteStore::actions(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(std::string("SELECT ") + k_action_columns +
                                    " FROM action_items WHERE incident = ? ORDER BY number");
    query.bind(1, incident);
    return collect(query, read_action);
}

void SqliteStore::add_factor(ContributingFactor& factor) {
    std::lock_guard lock(impl_->mutex);
    Prepared insert = impl_->prepare(
        "INSERT INTO contributing_factors (incident, category, text, author_id, author_name, "
        "at) VALUES (?, ?, ?, ?, ?, ?)");
    insert.bind(1, factor.incident);
    insert.bind(2, std::string(to_string(factor.category)));
    insert.bind(3, factor.text);
    insert.bind(4, factor.author.id);
    insert.bind(5, factor.author.name);
    insert.bind(6, factor.at);
    insert.exec();
    factor.id = impl_->db.getLastInsertRowid();
}

std::vector<ContributingFactor> SqliteStore::factors(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(
        "SELECT id, incident, category, text, author_id, author_name, at "
        "FROM contributing_factors WHERE incident = ? ORDER BY id");
    query.bind(1, incident);
    return collect(query, [](Statement& row) {
        ContributingFactor factor;
        factor.id = row.getColumn(0).getInt64();
        factor.incident = row.getColumn(1).getInt64();
        factor.category =
            parse_column(row.getColumn(2), parse_factor_category, "contributing_factors.category");
        factor.text = row.getColumn(3).getString();
        factor.author = {row.getColumn(4).getString(), row.getColumn(5).getString()};
        factor.at = row.getColumn(6).getInt64();
        return factor;
    });
}

void SqliteStore::add_revision(SectionRevision& revision) {
    std::lock_guard lock(impl_->mutex);
    Prepared insert = impl_->prepare(
        "INSERT INTO postmortem_revisions (incident, section, item, text, author_id, "
        "author_name, at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, revision.incident);
    insert.bind(2, std::string(to_string(revision.section)));
    insert.bind(3, revision.item);
    insert.bind(4, revision.text);
    insert.bind(5, revision.author.id);
    insert.bind(6, revision.author.name);
    insert.bind(7, revision.at);
    insert.exec();
    revision.id = impl_->db.getLastInsertRowid();
}

std::vector<SectionRevision> SqliteStore::revisions(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(
        "SELECT id, incident, section, item, text, author_id, author_name, at "
        "FROM postmortem_revisions WHERE incident = ? ORDER BY id");
    query.bind(1, incident);
    return collect(query, [](Statement& row) {
        SectionRevision revision;
        revision.id = row.getColumn(0).getInt64();
        revision.incident = row.getColumn(1).getInt64();
        revision.section =
            parse_column(row.getColumn(2), parse_section, "postmortem_revisions.section");
        revision.item = row.getColumn(3).getInt();
        revision.text = row.getColumn(4).getString();
        revision.author = {row.getColumn(5).getString(), row.getColumn(6).getString()};
        revision.at = row.getColumn(7).getInt64();
        return revision;
    });
}

namespace {

Alert read_alert(Statement& row) {
    Alert alert;
    alert.id = row.getColumn(0).getInt64();
    alert.incident = row.getColumn(1).getInt64();
    alert.source = row.getColumn(2).getString();
    alert.group_key = row.getColumn(3).getString();
    alert.fingerprint = row.getColumn(4).getString();
    alert.status = row.getColumn(5).getString();
    alert.labels = decode_string_map(row.getColumn(6).getString(), "alerts.labels");
    alert.annotations = decode_string_map(row.getColumn(7).getString(), "alerts.annotations");
    alert.starts_at = row.getColumn(8).getInt64();
    alert.ends_at = optional_int(row.getColumn(9));
    alert.url = row.getColumn(10).getString();
    alert.received_at = row.getColumn(11).getInt64();
    return alert;
}

}  // namespace

bool SqliteStore::add_alert(Alert& alert) {
    std::lock_guard lock(impl_->mutex);
    Prepared insert = impl_->prepare(
        "INSERT INTO alerts (incident, source, group_key, fingerprint, status, labels, "
        "annotations, starts_at, ends_at, url, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (incident, source, fingerprint, starts_at) DO NOTHING");
    insert.bind(1, alert.incident);
    insert.bind(2, alert.source);
    insert.bind(3, alert.group_key);
    insert.bind(4, alert.fingerprint);
    insert.bind(5, alert.status);
    insert.bind(6, encode_string_map(alert.labels));
    insert.bind(7, encode_string_map(alert.annotations));
    insert.bind(8, alert.starts_at);
    bind_optional(insert, 9, alert.ends_at);
    insert.bind(10, alert.url);
    insert.bind(11, alert.received_at);
    if (insert.exec() == 0) return false;
    alert.id = impl_->db.getLastInsertRowid();
    return true;
}

void SqliteStore::update_alert(const Alert& alert) {
    std::lock_guard lock(impl_->mutex);
    Prepared update = impl_->prepare(
        "UPDATE alerts SET status = ?, labels = ?, annotations = ?, ends_at = ?, url = ? "
        "WHERE id = ?");
    update.bind(1, alert.status);
    update.bind(2, encode_string_map(alert.labels));
    update.bind(3, encode_string_map(alert.annotations));
    bind_optional(update, 4, alert.ends_at);
    update.bind(5, alert.url);
    update.bind(6, alert.id);
    if (update.exec() == 0) {
        throw std::runtime_error("cannot update alert " + std::to_string(alert.id) +
                                 ": no such alert");
    }
}

std::vector<Alert> SqliteStore::alerts(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(std::string("SELECT ") + k_alert_columns +
                                    " FROM alerts WHERE incident = ? ORDER BY id");
    query.bind(1, incident);
    return collect(query, read_alert);
}

std::optional<std::int64_t> SqliteStore::alert_group_incident(std::string_view source,
                                                              std::string_view group_key) {
    std::lock_guard lock(impl_->mutex);
    Prepared query =
        impl_->prepare("SELECT max(incident) FROM alerts WHERE source = ? AND group_key = ?");
    query.bind(1, std::string(source));
    query.bind(2, std::string(group_key));
    if (!query.executeStep()) return std::nullopt;
    return optional_int(query.getColumn(0));
}

void SqliteStore::add_published(PublishedPostmortem& published) {
    transaction([&] {
        Prepared insert = impl_->prepare(
            "INSERT INTO published_postmortems (incident, version, title, markdown, summary, "
            "root_cause, factors, actions, by_id, by_name, at) VALUES (?1, (SELECT "
            "ifnull(max(version), 0) + 1 FROM published_postmortems WHERE incident = ?1), ?2, "
            "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
        insert.bind(1, published.incident);
        insert.bind(2, published.title);
        insert.bind(3, published.markdown);
        insert.bind(4, published.summary);
        insert.bind(5, published.root_cause);
        insert.bind(6, published.factors);
        insert.bind(7, published.actions);
        insert.bind(8, published.by.id);
        insert.bind(9, published.by.name);
        insert.bind(10, published.at);
        insert.exec();
        published.id = impl_->db.getLastInsertRowid();
        Prepared version = impl_->prepare("SELECT version FROM published_postmortems WHERE id = ?");
        version.bind(1, published.id);
        version.executeStep();
        published.version = version.getColumn(0).getInt();
    });
}

std::vector<PublishedPostmortem> SqliteStore::published(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(std::string("SELECT ") + k_published_columns +
                                    " FROM published_postmortems p WHERE p.incident = ? "
                                    "ORDER BY p.version");
    query.bind(1, incident);
    return collect(query, read_published);
}

std::vector<PublishedPostmortem> SqliteStore::search_published(std::string_view words) {
    std::lock_guard lock(impl_->mutex);
    const std::string match = fts_query(words);
    constexpr const char* k_newest =
        "p.version = (SELECT max(version) FROM published_postmortems q "
        "WHERE q.incident = p.incident)";
    if (match.empty()) {
        Prepared query = impl_->prepare(std::string("SELECT ") + k_published_columns +
                                        " FROM published_postmortems p WHERE " + k_newest +
                                        " ORDER BY p.at DESC, p.id DESC");
        return collect(query, read_published);
    }
    Prepared query =
        impl_->prepare(std::string("SELECT ") + k_published_columns +
                       " FROM published_search s JOIN published_postmortems p ON p.id = s.rowid "
                       "WHERE published_search MATCH ? AND " +
                       k_newest + " ORDER BY s.rank, p.id DESC");
    query.bind(1, match);
    return collect(query, read_published);
}

namespace {

StatusMessage read_status_message(Statement& row) {
    StatusMessage m;
    m.id = row.getColumn(0).getInt64();
    m.incident = row.getColumn(1).getInt64();
    m.state = parse_column(row.getColumn(2), parse_public_state, "status_messages.state");
    m.text = row.getColumn(3).getString();
    m.by = {row.getColumn(4).getString(), row.getColumn(5).getString()};
    m.at = row.getColumn(6).getInt64();
    return m;
}

}  // namespace

void SqliteStore::add_status_message(StatusMessage& message) {
    std::lock_guard lock(impl_->mutex);
    Prepared insert = impl_->prepare(
        "INSERT INTO status_messages (incident, state, text, by_id, by_name, at) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    insert.bind(1, message.incident);
    insert.bind(2, std::string(to_string(message.state)));
    insert.bind(3, message.text);
    insert.bind(4, message.by.id);
    insert.bind(5, message.by.name);
    insert.bind(6, message.at);
    insert.exec();
    message.id = impl_->db.getLastInsertRowid();
}

std::vector<StatusMessage> SqliteStore::status_messages(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(std::string("SELECT ") + k_status_message_columns +
                                    " FROM status_messages WHERE incident = ? ORDER BY id");
    query.bind(1, incident);
    return collect(query, read_status_message);
}

std::vector<StatusMessage> SqliteStore::status_messages_since(Timestamp since) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(std::string("SELECT ") + k_status_message_columns +
                                    " FROM status_messages WHERE at >= ? ORDER BY at, id");
    query.bind(1, since);
    return collect(query, read_status_message);
}

void SqliteStore::set_component(const ComponentState& component) {
    std::lock_guard lock(impl_->mutex);
    Prepared upsert = impl_->prepare(
        "INSERT INTO status_components (name, status, incident, by_id, by_name, at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET status = excluded.status, "
        "incident = excluded.incident, by_id = excluded.by_id, by_name = excluded.by_name, "
        "at = excluded.at");
    upsert.bind(1, component.name);
    upsert.bind(2, std::string(to_string(component.status)));
    bind_optional(upsert, 3, component.incident);
    upsert.bind(4, component.by.id);
    upsert.bind(5, component.by.name);
    upsert.bind(6, component.at);
    upsert.exec();
}

std::vector<ComponentState> SqliteStore::components() {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(
        "SELECT name, status, incident, by_id, by_name, at FROM status_components ORDER BY name");
    return collect(query, [](Statement& row) {
        ComponentState c;
        c.name = row.getColumn(0).getString();
        c.status =
            parse_column(row.getColumn(1), parse_component_status, "status_components.status");
        c.incident = optional_int(row.getColumn(2));
        c.by = {row.getColumn(3).getString(), row.getColumn(4).getString()};
        c.at = row.getColumn(5).getInt64();
        return c;
    });
}

namespace {

EvidenceFile read_file(Statement& row) {
    EvidenceFile f;
    f.id = row.getColumn(0).getInt64();
    f.incident = row.getColumn(1).getInt64();
    f.platform = row.getColumn(2).getString();
    f.source_id = row.getColumn(3).getString();
    f.source_url = row.getColumn(4).getString();
    f.message_id = row.getColumn(5).getString();
    f.name = row.getColumn(6).getString();
    f.mime_type = row.getColumn(7).getString();
    f.size = row.getColumn(8).getInt64();
    f.sha256 = row.getColumn(9).getString();
    f.shared_by = {row.getColumn(10).getString(), row.getColumn(11).getString()};
    f.shared_at = row.getColumn(12).getInt64();
    f.status = parse_column(row.getColumn(13), parse_file_status, "files.status");
    f.error = row.getColumn(14).getString();
    return f;
}

}  // namespace

bool SqliteStore::add_file(EvidenceFile& file) {
    std::lock_guard lock(impl_->mutex);
    Prepared insert = impl_->prepare(
        "INSERT INTO files (incident, platform, source_id, source_url, message_id, name, "
        "mime_type, size, sha256, shared_by_id, shared_by_name, shared_at, status, error) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (incident, platform, source_id) DO NOTHING");
    insert.bind(1, file.incident);
    insert.bind(2, file.platform);
    insert.bind(3, file.source_id);
    insert.bind(4, file.source_url);
    insert.bind(5, file.message_id);
    insert.bind(6, file.name);
    insert.bind(7, file.mime_type);
    insert.bind(8, file.size);
    insert.bind(9, file.sha256);
    insert.bind(10, file.shared_by.id);
    insert.bind(11, file.shared_by.name);
    insert.bind(12, file.shared_at);
    insert.bind(13, std::string(to_string(file.status)));
    insert.bind(14, file.error);
    if (insert.exec() == 0) return false;
    file.id = impl_->db.getLastInsertRowid();
    return true;
}

void SqliteStore::update_file(const EvidenceFile& file) {
    std::lock_guard lock(impl_->mutex);
    Prepared update = impl_->prepare(
        "UPDATE files SET source_url = ?, message_id = ?, name = ?, mime_type = ?, size = ?, "
        "sha256 = ?, status = ?, error = ? WHERE id = ?");
    update.bind(1, file.source_url);
    update.bind(2, file.message_id);
    update.bind(3, file.name);
    update.bind(4, file.mime_type);
    update.bind(5, file.size);
    update.bind(6, file.sha256);
    update.bind(7, std::string(to_string(file.status)));
    update.bind(8, file.error);
    update.bind(9, file.id);
    if (update.exec() == 0) {
        throw std::runtime_error("cannot update file " + std::to_string(file.id) +
                                 ": no such file");
    }
}

std::optional<EvidenceFile> SqliteStore::file(std::int64_t id) {
    std::lock_guard lock(impl_->mutex);
    Prepared query =
        impl_->prepare(std::string("SELECT ") + k_file_columns + " FROM files WHERE id = ?");
    query.bind(1, id);
    return first(query, read_file);
}

std::vector<EvidenceFile> SqliteStore::files(std::int64_t incident) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(std::string("SELECT ") + k_file_columns +
                                    " FROM files WHERE incident = ? ORDER BY id");
    query.bind(1, incident);
    return collect(query, read_file);
}

void SqliteStore::put_content(std::string_view sha256, std::string_view bytes) {
    std::lock_guard lock(impl_->mutex);
    impl_->contents.put(sha256, bytes);
}

std::optional<std::string> SqliteStore::content(std::string_view sha256) {
    std::lock_guard lock(impl_->mutex);
    return impl_->contents.get(sha256);
}

void SqliteStore::subscribe(const Subscription& sub) {
    std::lock_guard lock(impl_->mutex);
    // Subscribing again only refreshes the display name.
    Prepared insert = impl_->prepare(
        "INSERT INTO subscriptions (platform, who_id, who_name, incident, "
        "min_severity) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (platform, who_id, ifnull(incident, 0), min_severity) "
        "DO UPDATE SET who_name = excluded.who_name");
    insert.bind(1, sub.platform);
    insert.bind(2, sub.who.id);
    insert.bind(3, sub.who.name);
    bind_optional(insert, 4, sub.incident);
    insert.bind(5, std::string(to_string(sub.min_severity)));
    insert.exec();
}

bool SqliteStore::unsubscribe(const Subscription& sub) {
    std::lock_guard lock(impl_->mutex);
    Prepared remove = impl_->prepare(
        "DELETE FROM subscriptions WHERE platform = ? AND who_id = ? AND "
        "incident IS ? AND min_severity = ?");
    remove.bind(1, sub.platform);
    remove.bind(2, sub.who.id);
    bind_optional(remove, 3, sub.incident);
    remove.bind(4, std::string(to_string(sub.min_severity)));
    return remove.exec() > 0;
}

std::vector<Subscription> SqliteStore::subscriptions() {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(
        "SELECT platform, who_id, who_name, incident, min_severity "
        "FROM subscriptions ORDER BY id");
    return collect(query, [](Statement& row) {
        Subscription sub;
        sub.platform = row.getColumn(0).getString();
        sub.who = {row.getColumn(1).getString(), row.getColumn(2).getString()};
        sub.incident = optional_int(row.getColumn(3));
        sub.min_severity =
            parse_column(row.getColumn(4), parse_severity, "subscriptions.min_severity");
        return sub;
    });
}

bool SqliteStore::record_reminder(const SentReminder& reminder) {
    std::lock_guard lock(impl_->mutex);
    Prepared insert = impl_->prepare(
        "INSERT INTO reminders_sent (key, kind, incident, sent_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING");
    insert.bind(1, reminder.key);
    insert.bind(2, reminder.kind);
    bind_optional(insert, 3, reminder.incident);
    insert.bind(4, reminder.sent_at);
    return insert.exec() > 0;
}

bool SqliteStore::reminder_sent(std::string_view key) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare("SELECT 1 FROM reminders_sent WHERE key = ?");
    query.bind(1, std::string(key));
    return query.executeStep();
}

std::optional<Timestamp> SqliteStore::last_reminder(std::int64_t incident, std::string_view kind) {
    std::lock_guard lock(impl_->mutex);
    Prepared query =
        impl_->prepare("SELECT max(sent_at) FROM reminders_sent WHERE incident = ? AND kind = ?");
    query.bind(1, incident);
    query.bind(2, std::string(kind));
    query.executeStep();
    return optional_int(query.getColumn(0));
}

void SqliteStore::save_live_message(const LiveMessage& message) {
    std::lock_guard lock(impl_->mutex);
    Prepared upsert = impl_->prepare(
        "INSERT INTO live_messages (incident, platform, purpose, channel_id, message_id, "
        "rendered, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (incident, platform, "
        "purpose) DO UPDATE SET channel_id = excluded.channel_id, message_id = "
        "excluded.message_id, rendered = excluded.rendered, updated_at = excluded.updated_at");
    upsert.bind(1, message.incident);
    upsert.bind(2, message.platform);
    upsert.bind(3, message.purpose);
    upsert.bind(4, message.channel_id);
    upsert.bind(5, message.message_id);
    upsert.bind(6, message.rendered);
    upsert.bind(7, message.updated_at);
    upsert.exec();
}

std::optional<LiveMessage> SqliteStore::live_message(std::int64_t incident,
                                                     std::string_view platform,
                                                     std::string_view purpose) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(
        "SELECT channel_id, message_id, rendered, updated_at FROM live_messages WHERE incident "
        "= ? AND platform = ? AND purpose = ?");
    query.bind(1, incident);
    query.bind(2, std::string(platform));
    query.bind(3, std::string(purpose));
    if (!query.executeStep()) return std::nullopt;
    return LiveMessage{incident,
                       std::string(platform),
                       std::string(purpose),
                       query.getColumn(0).getString(),
                       query.getColumn(1).getString(),
                       query.getColumn(2).getString(),
                       query.getColumn(3).getInt64()};
}

void SqliteStore::add_outbox(OutboxEntry& entry) {
    std::lock_guard lock(impl_->mutex);
    Prepared insert = impl_->prepare(
        "INSERT INTO outbox (sink, incident, kind, payload, result, status, attempts, "
        "created_at, next_attempt_at, done_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, entry.sink);
    insert.bind(2, entry.incident);
    insert.bind(3, entry.kind);
    insert.bind(4, entry.payload);
    insert.bind(5, entry.result);
    insert.bind(6, std::string(to_string(entry.status)));
    insert.bind(7, entry.attempts);
    insert.bind(8, entry.created_at);
    insert.bind(9, entry.next_attempt_at);
    bind_optional(insert, 10, entry.done_at);
    insert.bind(11, entry.error);
    insert.exec();
    entry.id = impl_->db.getLastInsertRowid();
}

void SqliteStore::update_outbox(const OutboxEntry& entry) {
    std::lock_guard lock(impl_->mutex);
    Prepared update = impl_->prepare(
        "UPDATE outbox SET result = ?, status = ?, attempts = ?, created_at = ?, "
        "next_attempt_at = ?, done_at = ?, error = ? WHERE id = ?");
    update.bind(1, entry.result);
    update.bind(2, std::string(to_string(entry.status)));
    update.bind(3, entry.attempts);
    update.bind(4, entry.created_at);
    update.bind(5, entry.next_attempt_at);
    bind_optional(update, 6, entry.done_at);
    update.bind(7, entry.error);
    update.bind(8, entry.id);
    if (update.exec() == 0) {
        throw std::runtime_error("cannot update outbox entry " + std::to_string(entry.id) +
                                 ": no such entry");
    }
}

std::optional<OutboxEntry> SqliteStore::outbox_entry(std::int64_t id) {
    std::lock_guard lock(impl_->mutex);
    Prepared query =
        impl_->prepare(std::string("SELECT ") + k_outbox_columns + " FROM outbox WHERE id = ?");
    query.bind(1, id);
    return first(query, read_outbox);
}

std::vector<OutboxEntry> SqliteStore::outbox_entries(std::string_view sink, OutboxStatus status,
                                                     std::size_t limit, bool newest_first) {
    std::lock_guard lock(impl_->mutex);
    Prepared query = impl_->prepare(std::string("SELECT ") + k_outbox_columns +
                                    " FROM outbox WHERE status = ?1 AND (?2 = '' OR sink = ?2) "
                                    "ORDER BY id " +
                                    (newest_first ? "DESC" : "ASC") + " LIMIT ?3");
    query.bind(1, std::string(to_string(status)));
    query.bind(2, std::string(sink));
    query.bind(3, limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(limit));
    return collect(query, read_outbox);
}

OutboxCounts SqliteStore::outbox_counts() {
    std::lock_guard lock(impl_->mutex);
    OutboxCounts counts;
    Prepared pending =
        impl_->prepare("SELECT count(*), min(created_at) FROM outbox WHERE status = 'pending'");
    if (pending.executeStep()) {
        counts.pending = pending.getColumn(0).getInt64();
        counts.oldest_pending = optional_int(pending.getColumn(1));
    }
    Prepared failed = impl_->prepare(
        "SELECT sink, kind, count(*) FROM outbox WHERE status = 'failed' GROUP BY sink, kind "
        "ORDER BY sink, kind");
    counts.failed = collect(failed, [](Statement& row) {
        return OutboxCounts::Failed{row.getColumn(0).getString(), row.getColumn(1).getString(),
                                    row.getColumn(2).getInt64()};
    });
    return counts;
}

bool SqliteStore::claim_outbox(std::int64_t id, std::string_view owner, Timestamp now,
                               Timestamp until) {
    std::lock_guard lock(impl_->mutex);
    Prepared claim = impl_->prepare(
        "UPDATE outbox SET claimed_by = ?1, claimed_until = ?2 WHERE id = ?3 AND "
        "status = 'pending' AND (claimed_until IS NULL OR claimed_until <= ?4 OR "
        "claimed_by = ?1)");
    claim.bind(1, std::string(owner));
    claim.bind(2, until);
    claim.bind(3, id);
    claim.bind(4, now);
    return claim.exec() > 0;
}

std::vector<OutboxEntry> SqliteStore::claim_outbox_heads(std::string_view sink,
                                                         std::string_view owner, Timestamp now,
                                                         Timestamp until, std::size_t limit) {
    std::lock_guard lock(impl_->mutex);
    // One writer at a time: the statement reads the heads and claims them under the
    // database's write lock, so another process's claim is either seen or comes after.
    Prepared claim = impl_->prepare(
        std::string("UPDATE outbox SET claimed_by = ?2, claimed_until = ?3 WHERE id IN ("
                    "SELECT o.id FROM outbox o WHERE o.sink = ?1 AND o.status = 'pending' AND "
                    "o.next_attempt_at <= ?4 AND (o.claimed_until IS NULL OR "
                    "o.claimed_until <= ?4 OR o.claimed_by = ?2) AND NOT EXISTS (SELECT 1 FROM "
                    "outbox older WHERE older.sink = o.sink AND older.incident = o.incident AND "
                    "older.status = 'pending' AND older.id < o.id) ORDER BY o.id LIMIT ?5) "
                    "RETURNING ") +
        k_outbox_columns);
    claim.bind(1, std::string(sink));
    claim.bind(2, std::string(owner));
    claim.bind(3, until);
    claim.bind(4, now);
    claim.bind(5, static_cast<std::int64_t>(limit));
    auto claimed = collect(claim, read_outbox);
    std::sort(claimed.begin(), claimed.end(),
              [](const OutboxEntry& a, const OutboxEntry& b) { return a.id < b.id; });
    return claimed;
}

bool SqliteStore::hold_lease(std::string_view name, std::string_view holder, Timestamp now,
                             Timestamp until) {
    std::lock_guard lock(impl_->mutex);
    Prepared take = impl_->prepare(
        "INSERT INTO leases (name, holder, held_until) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO "
        "UPDATE SET holder = excluded.holder, held_until = excluded.held_until WHERE leases.holder "
        "= "
        "excluded.holder OR leases.held_until <= ?4");
    take.bind(1, std::string(name));
    take.bind(2, std::string(holder));
    take.bind(3, until);
    take.bind(4, now);
    return take.exec() > 0;
}

std::size_t SqliteStore::prune_outbox(Timestamp before, std::size_t limit) {
    std::lock_guard lock(impl_->mutex);
    Prepared remove = impl_->prepare(
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status = 'delivered' "
        "AND done_at < ? ORDER BY id LIMIT ?)");
    remove.bind(1, before);
    remove.bind(2, static_cast<std::int64_t>(limit));
    return static_cast<std::size_t>(remove.exec());
}

std::size_t SqliteStore::prune_processed(Timestamp before, std::size_t limit) {
    std::lock_guard lock(impl_->mutex);
    Prepared remove = impl_->prepare(
        "DELETE FROM processed_keys WHERE rowid IN (SELECT rowid FROM processed_keys "
        "WHERE processed_at < ? ORDER BY processed_at LIMIT ?)");
    remove.bind(1, before);
    remove.bind(2, static_cast<std::int64_t>(limit));
    return static_cast<std::size_t>(remove.exec());
}

}  // namespace incident
