#pragma once

#include "free_port.hpp"

#include <string>
#include <vector>

namespace incident::testing {

// A PostgreSQL 15 server of the test's own (Debian postgresql-15): a cluster made by initdb
// in a new temporary directory, listening on a free port of 127.0.0.1 and on a unix socket
// in that directory, removed when the server object goes. initdb and postgres refuse to
// run as root, so under root (CI) they run as `nobody`, in a directory that user owns;
// nothing of the source tree is executed or read by that user.
class PgServer {
public:
    // `fast` turns fsync and synchronous commits off: a test cluster need not survive a power
    // cut. `durable` keeps PostgreSQL's defaults (each commit flushed to disk before it is
    // answered), as a production server and the bot's SQLite run: the benchmark's choice.
    enum class Durability { fast, durable };

    // Initializes and starts a cluster. Throws std::runtime_error with the server's log
    // when PostgreSQL is missing or does not start.
    explicit PgServer(Durability durability = Durability::fast);
    ~PgServer();
    PgServer(const PgServer&) = delete;
    PgServer& operator=(const PgServer&) = delete;

    // The server of this test process, started at first use and stopped at exit.
    static PgServer& shared();

    // A new empty database's name.
    std::string create_database();
    // libpq key=value connection strings to `database`, over the unix socket or TCP.
    std::string conninfo(const std::string& database) const;
    std::string tcp_url(const std::string& database) const;

    // Stops the server (fast shutdown: connections are cut) and starts it again on the
    // same port and socket, with the same data.
    void stop();
    void start();
    bool running() const { return running_; }
    int port() const { return port_; }

private:
    void run(const std::string& what, const std::vector<std::string>& argv) const;

    std::string dir_;
    std::string data_;
    int port_ = 0;
    int databases_ = 0;
    Durability durability_;
    bool running_ = false;
};

// A fresh database on the shared server, for one test.
class PgDatabase {
public:
    PgDatabase() : name_(PgServer::shared().create_database()) {}
    const std::string& name() const { return name_; }
    std::string conninfo() const { return PgServer::shared().conninfo(name_); }

private:
    std::string name_;
};

}  // namespace incident::testing
