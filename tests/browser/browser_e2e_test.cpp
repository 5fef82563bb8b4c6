#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

const std::string k_bot = INCIDENT_BOT_BINARY;
const fs::path k_script = fs::path(INCIDENT_BOT_BROWSER_DIR) / "incident_script.txt";
const fs::path k_screenshots = INCIDENT_BOT_SCREENSHOT_DIR;
const std::string k_chromium = "/usr/bin/chromium";
// The declared title as it must appear in the DOM: a text node, never markup.
const std::string k_title_html = "Checkout returns 502s &lt;script&gt;alert(1)&lt;/script&gt;";
constexpr auto k_browser_timeout = 60s;
constexpr auto k_bot_timeout = 15s;
constexpr std::uintmax_t k_min_png_bytes = 10'000;  // a near-blank 1280x900 page is about 6 KB

struct Viewport {
    std::string name;
    int width;
    int height;
};
const std::vector<Viewport> k_viewports = {{"desktop", 1280, 900}, {"phone", 390, 844}};

bool has(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

std::string to_lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The end of a child's log for a failure message, without Chromium's D-Bus complaints.
std::string log_tail(const fs::path& path) {
    std::istringstream in(read_file(path));
    std::string kept;
    for (std::string line; std::getline(in, line);) {
        if (!has(line, "dbus")) kept += line + "\n";
    }
    return kept.size() > 3000 ? "…" + kept.substr(kept.size() - 3000) : kept;
}

class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "incident-browser-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// The test's environment minus whatever could connect the bot to a real platform, change its
// log level (the dashboard address is read from the log) or send the browser through a proxy.
std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
    std::set<std::string> replaced;
    for (const auto& entry : extra) replaced.insert(entry.substr(0, entry.find('=')));
    std::vector<std::string> out;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry = *e;
        const std::string name = entry.substr(0, entry.find('='));
        const std::string lower = to_lower(name);
        if (name.starts_with("INCIDENT_BOT_") || name.starts_with("SLACK_") ||
            name.starts_with("MATTERMOST_") || name.starts_with("SPDLOG_") ||
            lower.ends_with("_proxy") || replaced.contains(name)) {
            continue;
        }
        out.push_back(entry);
    }
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
}

// Leaders of the children that are still wanted; anything else this process inherits is a
// stray.
std::set<pid_t>& live_children() {
    static std::set<pid_t> pids;
    return pids;
}

// Ends and reaps every child of this process that no Process owns. Chromium's crash handler
// leaves the process group (setsid); as a subreaper this process inherits it and ends it here.
void end_strays() {
    const std::string self = std::to_string(::getpid());
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
        const std::string stat = read_file(entry.path() / "stat");
        const auto after_comm = stat.rfind(')');
        if (after_comm == std::string::npos) continue;
        std::istringstream fields(stat.substr(after_comm + 1));
        std::string state, ppid;
        fields >> state >> ppid;
        const pid_t pid = static_cast<pid_t>(std::stol(name));
        if (ppid != self || live_children().contains(pid)) continue;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
}

// A child in its own process group, so ending it also ends what it started (Chromium's
// zygote and renderers). Output goes to files: a full pipe can never stall it.
class Process {
public:
    // `inherit`: (descriptor here, descriptor in the child) pairs the child gets besides the
    // standard three, e.g. Chromium's DevTools pipe on 3 and 4.
    Process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            const fs::path& out, const fs::path& err, bool stdin_pipe,
            const std::vector<std::pair<int, int>>& inherit = {}) {
        // Orphans of the child come to this process, which can end them (see end_strays).
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        int fds[2] = {-1, -1};
        // Close-on-exec, so no other child inherits the write end and keeps the bot's stdin open.
        if (stdin_pipe) REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        if (stdin_pipe) {
            posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
        } else {
            posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        }
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        for (const auto& [here, there] : inherit) {
            posix_spawn_file_actions_adddup2(&actions, here, there);
        }
        posix_spawnattr_t attributes;
        posix_spawnattr_init(&attributes);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&attributes, 0);
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);  // ignored here, not in the children
        posix_spawnattr_setsigdefault(&attributes, &defaults);

        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        std::vector<char*> envp;
        for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        const int error =
            ::posix_spawn(&pid_, argv[0].c_str(), &actions, &attributes, args.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
        if (stdin_pipe) {
            ::close(fds[0]);
            if (error == 0) {
                stdin_ = fds[1];
            } else {
                ::close(fds[1]);
            }
        }
        if (error != 0) pid_ = -1;
        if (pid_ > 0) live_children().insert(pid_);
        REQUIRE_MESSAGE(error == 0, "cannot start " << argv[0] << ": " << std::strerror(error));
    }

    ~Process() {
        close_stdin();
        kill_group();
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    bool write_stdin(std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ::write(stdin_, data.data(), data.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    void close_stdin() {
        if (stdin_ >= 0) ::close(stdin_);
        stdin_ = -1;
    }

    // The wait status once the process has exited, or nothing if it is still running.
    std::optional<int> poll() {
        if (status_ || pid_ < 0) return status_;
        siginfo_t info{};
        // WNOWAIT keeps the leader a zombie, so its process group id cannot be reused before
        // the rest of the group is killed.
        if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
            info.si_pid != pid_) {
            return std::nullopt;
        }
        ::kill(-pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        status_ = status;
        reap_group();
        return status_;
    }

    std::optional<int> wait_for(std::chrono::milliseconds timeout) {
        const auto deadline = SteadyClock::now() + timeout;
        while (!poll() && SteadyClock::now() < deadline) std::this_thread::sleep_for(20ms);
        return poll();
    }

    void kill_group() {
        if (pid_ < 0 || status_) return;
        ::kill(-pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        status_ = status;
        reap_group();
    }

private:
    // The rest of the group, killed above, came to this process as their parents died.
    void reap_group() {
        live_children().erase(pid_);
        while (::waitpid(-pid_, nullptr, 0) > 0) {
        }
    }

    pid_t pid_ = -1;
    int stdin_ = -1;
    std::optional<int> status_;
};

struct HttpReply {
    int status = 0;
    std::string head;
    std::string body;

    std::optional<std::string> header(std::string_view name) const {
        const std::string lower = to_lower(head);
        const std::string needle = "\r\n" + to_lower(std::string(name)) + ":";
        const auto at = lower.find(needle);
        if (at == std::string::npos) return std::nullopt;
        auto start = at + needle.size();
        while (start < head.size() && head[start] == ' ') ++start;
        return head.substr(start, head.find("\r\n", start) - start);
    }
};

// One plain GET over loopback, for what the browser does not show: status codes, headers.
HttpReply http_get(int port, const std::string& target, const std::string& authorization = "") {
    HttpReply reply;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return reply;
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return reply;
    }
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nConnection: close\r\n";
    if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
    request += "\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        ::close(fd);
        return reply;
    }
    std::string raw;
    char buffer[8192];
    std::optional<std::size_t> expected;
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        raw.append(buffer, static_cast<std::size_t>(n));
        const auto end = raw.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        if (!expected) {
            reply.head = raw.substr(0, end);
            const auto length = reply.header("Content-Length");
            expected = end + 4 + (length ? std::stoul(*length) : 0);
        }
        if (raw.size() >= *expected) break;
    }
    ::close(fd);
    const auto end = raw.find("\r\n\r\n");
    if (end == std::string::npos || !raw.starts_with("HTTP/1.")) return reply;
    reply.head = raw.substr(0, end);
    reply.body = raw.substr(end + 4);
    reply.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
    return reply;
}

// `incident-bot console` on a fresh database, stdin kept open as a pipe (the console ends
// when it closes), the dashboard on a loopback port chosen by the kernel and read from the
// "dashboard: http://..." log line.
class Bot {
public:
    Bot(const TempDir& dir, const std::string& token) : dir_(dir.path()) {
        std::signal(SIGPIPE, SIG_IGN);  // a dead bot must fail a check, not end the test
        std::vector<std::string> env = {"INCIDENT_BOT_LISTEN=127.0.0.1:0", "SPDLOG_LEVEL=info",
                                        "INCIDENT_BOT_STATUS_TITLE=Example status",
                                        "INCIDENT_BOT_STATUS_COMPONENTS=Checkout API, Web app"};
        if (!token.empty()) {
            env.push_back("INCIDENT_BOT_DASHBOARD_TOKEN=" + token);
            authorization_ = "Bearer " + token;
        }
        process_.emplace(
            std::vector<std::string>{k_bot, "console", "--db", (dir_ / "bot.db").string()},
            child_environment(env), dir_ / "bot.out", dir_ / "bot.err", true);
        port_ = wait_for_dashboard();
        const std::string script = read_file(k_script);
        REQUIRE_MESSAGE(!script.empty(), "cannot read " << k_script);
        REQUIRE_MESSAGE(process_->write_stdin(script), "the bot closed its stdin:\n" << log());
        wait_for_script();
    }

    ~Bot() { stop(); }
    Bot(const Bot&) = delete;
    Bot& operator=(const Bot&) = delete;

    int port() const { return port_; }
    // Types `lines` into the console, as its user would.
    void type(std::string_view lines) {
        REQUIRE_MESSAGE(process_->write_stdin(lines), "the bot closed its stdin:\n" << log());
    }
    // What the console printed so far (flushed line by line).
    std::string output() const { return read_file(dir_ / "bot.out"); }
    std::string url(std::string_view path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }
    std::string log() const { return log_tail(dir_ / "bot.err"); }

    // Closing stdin ends the console and with it the bot; killed if it does not go.
    std::optional<int> stop() {
        if (!process_) return std::nullopt;
        process_->close_stdin();
        const auto status = process_->wait_for(10s);
        process_->kill_group();
        end_strays();
        return status;
    }

private:
    int wait_for_dashboard() {
        const std::regex line(R"(dashboard: http://127\.0\.0\.1:([0-9]+)/)");
        const auto deadline = SteadyClock::now() + k_bot_timeout;
        while (SteadyClock::now() < deadline) {
            std::smatch m;
            const std::string err = read_file(dir_ / "bot.err");
            if (std::regex_search(err, m, line)) return std::stoi(m[1].str());
            if (const auto status = process_->poll()) {
                FAIL("incident-bot exited (" << describe_status(*status)
                                             << ") before serving the dashboard:\n"
                                             << log());
            }
            std::this_thread::sleep_for(20ms);
        }
        FAIL("no \"dashboard: http://127.0.0.1:<port>/\" line in the bot's log within 15 s:\n"
             << log());
        return 0;
    }

    // Lines are handled one after another, so once the last line's incident (INC-2) exists,
    // everything before it is stored. stdout is a file and is only flushed at exit.
    void wait_for_script() {
        const auto deadline = SteadyClock::now() + k_bot_timeout;
        while (SteadyClock::now() < deadline) {
            if (http_get(port_, "/api/incidents/INC-2", authorization_).status == 200) return;
            if (process_->poll()) break;
            std::this_thread::sleep_for(50ms);
        }
        FAIL("the incident script was not played within 15 s (no INC-2 in the API):\n"
             << log() << "\nconsole output:\n"
             << read_file(dir_ / "bot.out"));
    }

    fs::path dir_;
    std::optional<Process> process_;
    int port_ = 0;
    std::string authorization_;
};

// Headless Chromium on a fresh profile, with nothing but loopback to talk to.
std::vector<std::string> chromium_command(const fs::path& profile) {
    return {
        k_chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-proxy-server",
        // Loopback only: any host name other than the test server fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--user-data-dir=" + profile.string(),
    };
}

// Debian's chromium, headless, one run per page load, each with a fresh profile.
class Browser {
public:
    explicit Browser(const TempDir& dir) : dir_(dir.path()) {}

    std::string dump_dom(const std::string& url) { return run({"--dump-dom"}, url); }

    void screenshot(const std::string& url, const fs::path& png, const Viewport& viewport) {
        std::error_code ignored;
        fs::remove(png, ignored);
        run({"--hide-scrollbars",
             "--window-size=" + std::to_string(viewport.width) + "," +
                 std::to_string(viewport.height),
             "--screenshot=" + png.string()},
            url);
        REQUIRE_MESSAGE(fs::exists(png), "Chromium saved no screenshot of " << url << "; its log:\n"
                                                                            << log_tail(last_log_));
    }

private:
    // Returns what Chromium printed on stdout.
    std::string run(const std::vector<std::string>& extra, const std::string& url) {
        const std::string name = "chromium-" + std::to_string(++runs_);
        std::vector<std::string> argv = chromium_command(dir_ / (name + "-profile"));
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back(url);
        const fs::path out = dir_ / (name + ".out");
        const fs::path err = dir_ / (name + ".err");
        last_log_ = err;
        // HOME too: Chromium's crash handler keeps its database there, whatever the profile.
        const fs::path home = dir_ / (name + "-home");
        fs::create_directories(home);
        std::optional<int> status;
        {
            Process chromium(argv,
                             child_environment({"HOME=" + home.string(),
                                                "XDG_CONFIG_HOME=" + (home / ".config").string(),
                                                "XDG_CACHE_HOME=" + (home / ".cache").string()}),
                             out, err, false);
            status = chromium.wait_for(k_browser_timeout);
        }
        end_strays();
        REQUIRE_MESSAGE(status.has_value(), "Chromium did not finish " << url << " within "
                                                                       << k_browser_timeout.count()
                                                                       << " s; its log:\n"
                                                                       << log_tail(err));
        REQUIRE_MESSAGE(*status == 0, "Chromium failed on " << url << " ("
                                                            << describe_status(*status)
                                                            << "); its log:\n"
                                                            << log_tail(err));
        return read_file(out);
    }

    fs::path dir_;
    fs::path last_log_;
    int runs_ = 0;
};

void require_chromium() {
    if (::access(k_chromium.c_str(), X_OK) != 0) {
        FAIL(k_chromium << " is missing: this test needs Debian's headless Chromium. Run "
                           "deploy/dev.sh test, which installs it (apt-get install chromium "
                           "fonts-dejavu-core fonts-noto-color-emoji).");
    }
}

// Chromium serialises block elements on lines of their own; the assertions ignore that.
std::string squash(const std::string& dom) {
    std::string out;
    out.reserve(dom.size());
    for (std::size_t i = 0; i < dom.size(); ++i) {
        const bool between_tags = dom[i] == '\n' && ((!out.empty() && out.back() == '>') ||
                                                     (i + 1 < dom.size() && dom[i + 1] == '<'));
        if (!between_tags) out += dom[i];
    }
    return out;
}

std::string attribute_value(std::string text) {
    for (std::size_t at = text.find("&amp;"); at != std::string::npos;
         at = text.find("&amp;", at + 1)) {
        text.replace(at, 5, "&");
    }
    return text;
}

// The href of the <a> whose whole text is `text`.
std::optional<std::string> link_to(const std::string& dom, std::string_view text) {
    const auto at = dom.find(">" + std::string(text) + "</a>");
    if (at == std::string::npos) return std::nullopt;
    const auto open = dom.rfind("<a ", at);
    if (open == std::string::npos) return std::nullopt;
    const auto href = dom.find("href=\"", open);
    if (href == std::string::npos || href > at) return std::nullopt;
    const auto start = href + 6;
    return attribute_value(dom.substr(start, dom.find('"', start) - start));
}

// The table row holding `needle`, from "<tr" to "</tr>".
std::string row_with(const std::string& dom, std::string_view needle) {
    const auto at = dom.find(needle);
    if (at == std::string::npos) return "";
    const auto start = dom.rfind("<tr", at);
    const auto end = dom.find("</tr>", at);
    if (start == std::string::npos || end == std::string::npos) return "";
    return dom.substr(start, end + 5 - start);
}

// A timeline entry from its "<li" up to and including `text`.
std::string entry_with(const std::string& dom, std::string_view text) {
    const auto at = dom.find(text);
    if (at == std::string::npos) return "";
    const auto start = dom.rfind("<li", at);
    if (start == std::string::npos) return "";
    return dom.substr(start, at + text.size() - start);
}

// What a failure message shows of a page: <main>, not the inline stylesheet.
std::string main_of(const std::string& dom) {
    const auto at = dom.find("<main>");
    return at == std::string::npos ? dom : dom.substr(at);
}

void check_no_script(const std::string& dom) {
    // The dashboard has no scripts at all; a <script> element here came from user input.
    CHECK_FALSE(has(to_lower(dom), "<script"));
    CHECK_FALSE(has(dom, "alert(1)</script>"));
}

std::uint32_t big_endian(const std::string& bytes, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
    return v;
}

void check_png(const fs::path& png, const Viewport& viewport) {
    INFO("screenshot: " << png.string());
    REQUIRE(fs::exists(png));
    CHECK(fs::file_size(png) >= k_min_png_bytes);
    const std::string bytes = read_file(png);
    REQUIRE(bytes.size() >= 24);
    CHECK(bytes.substr(0, 8) == "\x89PNG\r\n\x1a\n");
    CHECK(bytes.substr(12, 4) == "IHDR");
    CHECK(big_endian(bytes, 16) == static_cast<std::uint32_t>(viewport.width));
    CHECK(big_endian(bytes, 20) == static_cast<std::uint32_t>(viewport.height));
}

// <name>-desktop.png and <name>-phone.png in the build tree, for people to look at.
void screenshots(Browser& browser, const std::string& url, const std::string& name) {
    fs::create_directories(k_screenshots);
    for (const auto& viewport : k_viewports) {
        const fs::path png = k_screenshots / (name + "-" + viewport.name + ".png");
        browser.screenshot(url, png, viewport);
        check_png(png, viewport);
    }
}

}  // namespace

TEST_CASE("headless Chromium shows the incident list, an incident and its post-mortem") {
    require_chromium();
    TempDir dir;
    Bot bot(dir, "");
    Browser browser(dir);
    CAPTURE(bot.port());

    // The list: both incidents, the hostile title as text, a link to the incident.
    const std::string list = squash(browser.dump_dom(bot.url("/")));
    {
        INFO("incident list: " << main_of(list));
        CHECK(has(list, "<title>Incidents · incident-bot</title>"));
        CHECK(has(list, "<h1>Incidents</h1>"));
        CHECK(has(list, "2 incidents"));
        CHECK(has(list, "<td data-label=\"Title\">" + k_title_html + "</td>"));
        check_no_script(list);
        const std::string inc1 = row_with(list, k_title_html);
        CHECK(has(inc1, ">INC-1</a>"));
        CHECK(has(inc1, "<span class=\"sev sev2\" title=\"major\">SEV2</span>"));
        CHECK(has(inc1, "<span class=\"state s-resolved\">resolved</span>"));
        CHECK(has(inc1, "resolved in "));
        const std::string inc2 = row_with(list, "Typo on status page");
        CHECK(has(inc2, ">INC-2</a>"));
        CHECK(has(inc2, "<span class=\"sev sev4\" title=\"minor\">SEV4</span>"));
        CHECK(has(inc2, "<span class=\"state s-investigating\">investigating</span>"));
        CHECK(has(inc2, "open for "));
    }
    const auto incident_href = link_to(row_with(list, k_title_html), "INC-1");
    REQUIRE_MESSAGE(incident_href, "no link to INC-1 in the row of its title:\n" << main_of(list));
    CHECK(*incident_href == "/incidents/INC-1");
    screenshots(browser, bot.url("/"), "list");

    // The incident page.
    const std::string incident = squash(browser.dump_dom(bot.url(*incident_href)));
    {
        INFO("incident page: " << main_of(incident));
        CHECK(has(incident, "<title>INC-1: " + k_title_html + " · incident-bot</title>"));
        CHECK(has(incident, "<h1>INC-1: " + k_title_html + "</h1>"));
        check_no_script(incident);
        CHECK(has(incident,
                  "<dt>State</dt><dd><span class=\"state s-resolved\">resolved</span></dd>"));
        CHECK(has(incident,
                  "<dt>Severity</dt><dd><span class=\"sev sev2\" title=\"major\">SEV2"
                  "</span> major</dd>"));
        CHECK(has(incident,
                  "<dt>Final severity</dt><dd><span class=\"sev sev2\" title=\"major\">"
                  "SEV2</span></dd>"));
        CHECK(has(incident,
                  "<dt>Summary</dt><dd><span class=\"text\">Config push emptied the "
                  "upstream pool; rolled back.</span></dd>"));
        CHECK(has(incident, "draft · owner @carol · due 2026-12-07"));
        CHECK(has(incident, "<dt>Incident commander</dt><dd>@alice</dd>"));
        CHECK(has(incident, "<dt>Scribe</dt><dd>@carol</dd>"));
        CHECK(has(row_with(incident, "<td data-label=\"Milestone\">Resolved</td>"), "<time "));

        CHECK(has(incident, "<h2>Action items (3)</h2>"));
        const std::string item1 = row_with(
            incident, "<span class=\"text\">@bob add a guard against empty upstream pools");
        CHECK(has(item1, "<td data-label=\"Owner\">@bob</td>"));
        CHECK(has(item1, "<td data-label=\"Due\">2026-12-04</td>"));
        CHECK(has(item1, "<td data-label=\"Status\">done</td>"));
        const std::string item2 = row_with(incident, "verify the canary catches this</span>");
        CHECK(has(item2, "unassigned"));
        CHECK(has(item2, "<td data-label=\"Status\">open</td>"));
        const std::string item3 = row_with(incident, "page vendor about the edge errors @dave");
        CHECK(has(item3, "<td data-label=\"Owner\">@dave</td>"));
        CHECK(has(item3, "<td data-label=\"From\">command</td>"));

        CHECK(has(incident, "<ul class=\"timeline\">"));
        CHECK(has(incident, "<div class=\"text\">Declared SEV2: " + k_title_html + "</div>"));
        const std::string pinned =
            entry_with(incident, "looks like the deploy of 4312 changed the upstream pool");
        CHECK(pinned.starts_with("<li class=\"key\">"));
        CHECK(has(pinned, "<b>@bob</b> <span class=\"tag\">📌 key event</span>"));
        CHECK(entry_with(incident, "Rollback started").starts_with("<li class=\"key\">"));
        const std::string chatter = entry_with(incident, "502s at the edge since 09:58");
        CHECK(chatter.starts_with("<li><time"));
        CHECK_FALSE(has(chatter, "key event"));
        const std::string edited = entry_with(incident, "rolling back the config push</div>");
        CHECK(has(edited, "<span class=\"tag\">edited "));
        CHECK(has(incident,
                  "rolling back the config push</div><details><summary>1 earlier "
                  "version</summary><ol><li><span class=\"text\">rolling back the "
                  "confg</span>"));
        const std::string deleted = entry_with(incident, "oops wrong channel");
        CHECK(deleted.starts_with("<li class=\"deleted\">"));
        CHECK(has(deleted, "<b>@erin</b> <span class=\"tag\">deleted "));
        const std::string reply = entry_with(incident, "the pool went from 12 hosts to 0");
        CHECK(reply.starts_with("<li class=\"reply\">"));
        CHECK(has(reply, "<span class=\"tag\">in thread</span>"));
        CHECK(has(incident, "<div class=\"text\">monitoring → resolved</div>"));
    }
    CHECK(link_to(incident, "Download Markdown").value_or("") == "/incidents/INC-1/postmortem.md");
    const auto postmortem_href = link_to(incident, "Post-mortem");
    REQUIRE_MESSAGE(postmortem_href, "no Post-mortem link on the incident page:\n"
                                         << main_of(incident));
    CHECK(*postmortem_href == "/incidents/INC-1/postmortem");
    screenshots(browser, bot.url(*incident_href), "incident");

    // The post-mortem, rendered from Markdown.
    const std::string postmortem = squash(browser.dump_dom(bot.url(*postmortem_href)));
    {
        INFO("post-mortem page: " << main_of(postmortem));
        CHECK(has(postmortem,
                  "<title>Post-mortem INC-1: " + k_title_html + " · incident-bot</title>"));
        CHECK(has(postmortem, "<article class=\"md\"><h1>INC-1: " + k_title_html + "</h1>"));
        check_no_script(postmortem);
        for (const char* heading :
             {"<h2>Key times (UTC)</h2>", "<h2>Summary</h2>", "<h2>Impact</h2>",
              "<h2>Timeline (key events, UTC)</h2>", "<h2>Root cause analysis (5 whys)</h2>",
              "<h3>Monitoring &amp; alerting</h3>", "<h2>Corrective actions</h2>",
              "<h2>Lessons learned</h2>", "<h2>Follow-up</h2>", "<h2>Appendix: channel log</h2>"}) {
            CHECK(has(postmortem, heading));
        }
        CHECK(has(postmortem, "<td>Final severity</td><td>SEV2 (major)</td>"));
        CHECK(has(postmortem, "<td>Incident commander</td><td>@alice</td>"));
        CHECK(has(postmortem, "<td>Scribe</td><td>@carol</td>"));
        CHECK(has(postmortem, "<th>Milestone</th><th>Time</th><th>Since declaration</th>"));
        CHECK(has(postmortem,
                  "<td>key message</td><td>@bob</td><td>looks like the deploy of "
                  "4312 changed the upstream pool</td>"));
        CHECK(has(postmortem, "<td>investigating → identified</td>"));
        CHECK(has(postmortem,
                  "<td>1</td><td>@bob add a guard against empty upstream pools</td>"
                  "<td>@bob</td><td>2026-12-04</td><td>done</td>"));
        CHECK(has(postmortem,
                  "<td>2</td><td>verify the canary catches this</td><td>unassigned"
                  "</td><td>—</td><td>open</td>"));
        CHECK(has(postmortem, "<del>oops wrong channel</del> <em>(deleted "));
        CHECK(has(postmortem, "earlier: \"rolling back the confg\")"));
        CHECK(has(postmortem, "Post-mortem owner: @carol"));
        CHECK(has(postmortem, "Due: 2026-12-07"));
    }
    const auto markdown_href = link_to(postmortem, "Download Markdown");
    REQUIRE(markdown_href);
    CHECK(*markdown_href == "/incidents/INC-1/postmortem.md");
    CHECK(link_to(postmortem, "Back to the incident").value_or("") == "/incidents/INC-1");
    screenshots(browser, bot.url(*postmortem_href), "postmortem");

    // The download itself: Markdown as an attachment (a browser saves it, it does not render).
    const HttpReply markdown = http_get(bot.port(), *markdown_href);
    CHECK(markdown.status == 200);
    CHECK(markdown.header("Content-Type").value_or("") == "text/markdown; charset=utf-8");
    CHECK(markdown.header("Content-Disposition").value_or("") ==
          "attachment; filename=\"INC-1-postmortem.md\"");
    CHECK(markdown.body.starts_with("# INC-1: Checkout returns 502s <script>alert(1)</script>\n"));

    const auto status = bot.stop();
    REQUIRE(status);
    CHECK_MESSAGE(WIFEXITED(*status), describe_status(*status));
    CHECK_MESSAGE(WEXITSTATUS(*status) == 0, describe_status(*status) << "\n" << bot.log());
}

TEST_CASE("with a dashboard token, Chromium is sent to the login form and sees no incident data") {
    require_chromium();
    TempDir dir;
    const std::string token = "browser-e2e-" + std::to_string(::getpid()) + "-s3cret";
    Bot bot(dir, token);  // plays the script, then checks INC-2 with the bearer token
    Browser browser(dir);
    CAPTURE(bot.port());

    const HttpReply redirect = http_get(bot.port(), "/incidents/INC-1");
    CHECK(redirect.status == 303);
    CHECK(redirect.header("Location").value_or("").starts_with("/login?next="));
    CHECK(http_get(bot.port(), "/api/incidents").status == 401);

    for (const std::string path : {"/incidents/INC-1", "/", "/incidents/INC-1/postmortem"}) {
        const std::string dom = squash(browser.dump_dom(bot.url(path)));
        INFO(path << ": " << main_of(dom));
        CHECK(has(dom, "<title>Sign in · incident-bot</title>"));
        CHECK(has(dom, "<h1>Sign in</h1>"));
        CHECK(has(dom, "<form class=\"filters\" method=\"post\" action=\"/login\">"));
        CHECK(has(dom, "<input type=\"hidden\" name=\"next\" value=\"" + path + "\">"));
        CHECK(has(dom, "<input type=\"password\" name=\"token\""));
        CHECK_FALSE(has(dom, "Checkout returns 502s"));
        CHECK_FALSE(has(dom, "Typo on status page"));
        CHECK_FALSE(has(dom, "INC-2"));
        CHECK_FALSE(has(dom, "@alice"));
        CHECK_FALSE(has(dom, token));
        check_no_script(dom);
    }
    screenshots(browser, bot.url("/incidents/INC-1"), "login");

    const auto status = bot.stop();
    REQUIRE(status);
    CHECK_MESSAGE(WEXITSTATUS(*status) == 0, describe_status(*status) << "\n" << bot.log());
}

namespace {

// What a reader sees of a page: the text of <body>, tags dropped, entities of the escaper
// decoded, runs of white space as one space.
std::string rendered_text(const std::string& dom) {
    const auto body = dom.find("<body");
    std::string text;
    bool in_tag = false;
    for (std::size_t i = body == std::string::npos ? 0 : body; i < dom.size(); ++i) {
        const char c = dom[i];
        if (c == '<') {
            in_tag = true;
            text += ' ';
        } else if (c == '>') {
            in_tag = false;
        } else if (!in_tag) {
            text += c;
        }
    }
    for (const auto& [entity, plain] : {std::pair<std::string, std::string>{"&lt;", "<"},
                                        {"&gt;", ">"},
                                        {"&quot;", "\""},
                                        {"&#39;", "'"},
                                        {"&amp;", "&"}}) {
        for (auto at = text.find(entity); at != std::string::npos; at = text.find(entity, at)) {
            text.replace(at, entity.size(), plain);
            at += plain.size();
        }
    }
    std::string out;
    for (const char c : text) {
        const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
        if (space && (out.empty() || out.back() == ' ')) continue;
        out += space ? ' ' : c;
    }
    return out;
}

}  // namespace

TEST_CASE("headless Chromium shows the public status page, without sign-in or internal text") {
    require_chromium();
    TempDir dir;
    const std::string token = "browser-status-" + std::to_string(::getpid()) + "-s3cret";
    Bot bot(dir, token);
    Browser browser(dir);
    CAPTURE(bot.port());
    CHECK(http_get(bot.port(), "/").status == 303);  // the dashboard wants the token

    const std::string dom = squash(browser.dump_dom(bot.url("/status")));
    const std::string text = rendered_text(dom);
    INFO("status page text: " << text);
    CHECK(has(dom, "<title>Example status</title>"));
    CHECK_FALSE(has(dom, "Sign in"));
    check_no_script(dom);
    CHECK(has(text, "Example status"));
    CHECK(has(text, "Some systems are affected."));
    CHECK(has(text, "Checkout API Operational"));
    CHECK(has(text, "Web app Degraded performance"));
    CHECK(has(text, "Past incidents (last 90 days)"));
    CHECK(has(text, "Resolved — Payments work normally again."));
    CHECK(has(text, "Investigating — Some payments are slower than usual; we are on it."));
    // Marker words of chatter (the pool), of the internal update (Rollback), the titles, the
    // people and the incident ids: none of them is public.
    for (const char* word :
         {"upstream pool", "Rollback in progress", "Checkout returns 502s", "Typo on status page",
          "alice", "bob", "carol", "INC-1", "INC-2", "SEV2"}) {
        CHECK_MESSAGE(!has(text, word), word);
        CHECK_MESSAGE(!has(dom, word), word);
    }
    CHECK_FALSE(has(dom, token));
    screenshots(browser, bot.url("/status"), "status");

    const auto status = bot.stop();
    REQUIRE(status);
    CHECK_MESSAGE(WEXITSTATUS(*status) == 0, describe_status(*status) << "\n" << bot.log());
}

namespace {

// One headless Chromium driven over its DevTools pipe (--remote-debugging-pipe: JSON messages
// ending in NUL, commands on descriptor 3, answers and events on 4), for what a page load
// alone cannot do: keep cookies between pages, type into a form and press its button. Every
// wait is for a message, bounded by k_browser_timeout.
class DevTools {
public:
    explicit DevTools(const TempDir& dir) {
        int to_chromium[2];
        int from_chromium[2];
        REQUIRE(::pipe2(to_chromium, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(from_chromium, O_CLOEXEC) == 0);
        const fs::path home = dir.path() / "devtools-home";
        fs::create_directories(home);
        std::vector<std::string> argv = chromium_command(dir.path() / "devtools-profile");
        argv.insert(argv.end(), {"--remote-debugging-pipe", "about:blank"});
        log_ = dir.path() / "devtools.err";
        process_.emplace(
            argv,
            child_environment({"HOME=" + home.string(),
                               "XDG_CONFIG_HOME=" + (home / ".config").string(),
                               "XDG_CACHE_HOME=" + (home / ".cache").string()}),
            dir.path() / "devtools.out", log_, false,
            std::vector<std::pair<int, int>>{{to_chromium[0], 3}, {from_chromium[1], 4}});
        ::close(to_chromium[0]);
        ::close(from_chromium[1]);
        write_ = to_chromium[1];
        read_ = from_chromium[0];
    }

    ~DevTools() {
        if (write_ >= 0) ::close(write_);
        if (read_ >= 0) ::close(read_);
        process_.reset();
        end_strays();
    }
    DevTools(const DevTools&) = delete;
    DevTools& operator=(const DevTools&) = delete;

    // A new tab; every tab shares the profile's cookies. Returns its session id.
    std::string open_tab() {
        const auto target = call("Target.createTarget", {{"url", "about:blank"}});
        const auto attached =
            call("Target.attachToTarget", {{"targetId", target["targetId"]}, {"flatten", true}});
        const std::string session = attached["sessionId"];
        call("Page.enable", nlohmann::json::object(), session);
        call("Runtime.enable", nlohmann::json::object(), session);
        return session;
    }

    void navigate(const std::string& session, const std::string& url) {
        loads_.erase(session);
        const auto result = call("Page.navigate", {{"url", url}}, session);
        REQUIRE_MESSAGE(!result.contains("errorText"), url << ": " << result.dump());
        wait_for_load(session, url);
    }

    // Runs `script` in the page; the value it returns (JSON-compatible).
    nlohmann::json evaluate(const std::string& session, const std::string& script) {
        const auto result =
            call("Runtime.evaluate", {{"expression", script}, {"returnByValue", true}}, session);
        REQUIRE_MESSAGE(!result.contains("exceptionDetails"), result.dump());
        return result["result"].value("value", nlohmann::json());
    }

    std::string dom(const std::string& session) {
        return evaluate(session, "document.documentElement.outerHTML").get<std::string>();
    }

    std::string location(const std::string& session) {
        return evaluate(session, "location.href").get<std::string>();
    }

    // Presses the button with id `id`; waits for the page it leads to.
    void click(const std::string& session, const std::string& id) {
        loads_.erase(session);
        const nlohmann::json found = evaluate(
            session, "(() => { const b = document.getElementById(" + nlohmann::json(id).dump() +
                         "); if (!b) return false; b.click(); return true; })()");
        REQUIRE_MESSAGE(found == true, "no button " << id << " on the page");
        wait_for_load(session, "the page after pressing " + id);
    }

    // Types `text` into the text area of form `form_id` and presses its Save button, as a
    // person would; waits for the page the form leads to.
    void save_form(const std::string& session, const std::string& form_id,
                   const std::string& text) {
        loads_.erase(session);
        const nlohmann::json found =
            evaluate(session, "(() => { const f = document.getElementById(" +
                                  nlohmann::json(form_id).dump() +
                                  "); if (!f) return false; f.querySelector('textarea').value = " +
                                  nlohmann::json(text).dump() +
                                  "; f.querySelector('button[value=save]').click(); return true; "
                                  "})()");
        REQUIRE_MESSAGE(found == true, "no form " << form_id << " on the page");
        wait_for_load(session, "the page after saving " + form_id);
    }

private:
    void send(const nlohmann::json& message) {
        std::string data = message.dump();
        data += '\0';
        std::string_view rest = data;
        while (!rest.empty()) {
            const ssize_t n = ::write(write_, rest.data(), rest.size());
            if (n < 0 && errno == EINTR) continue;
            REQUIRE_MESSAGE(n > 0, "Chromium closed its DevTools pipe; its log:\n"
                                       << log_tail(log_));
            rest.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    // The next message, or nothing by `deadline`.
    std::optional<nlohmann::json> next(SteadyClock::time_point deadline) {
        for (;;) {
            if (const auto end = buffer_.find('\0'); end != std::string::npos) {
                const std::string message = buffer_.substr(0, end);
                buffer_.erase(0, end + 1);
                return nlohmann::json::parse(message);
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - SteadyClock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd fd{read_, POLLIN, 0};
            const int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
            if (ready < 0 && errno == EINTR) continue;
            if (ready <= 0) return std::nullopt;
            char chunk[65536];
            const ssize_t n = ::read(read_, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return std::nullopt;
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    // Events are kept (load events by session) while a command's answer is awaited.
    void keep(const nlohmann::json& event) {
        if (event.value("method", "") == "Page.loadEventFired") {
            ++loads_[event.value("sessionId", "")];
        }
    }

    nlohmann::json call(const std::string& method, const nlohmann::json& params,
                        const std::string& session = {}) {
        const int id = ++last_id_;
        nlohmann::json message{{"id", id}, {"method", method}, {"params", params}};
        if (!session.empty()) message["sessionId"] = session;
        send(message);
        const auto deadline = SteadyClock::now() + k_browser_timeout;
        for (;;) {
            const auto reply = next(deadline);
            REQUIRE_MESSAGE(reply, "no answer from Chromium to " << method << "; its log:\n"
                                                                 << log_tail(log_));
            if (!reply->contains("id")) {
                keep(*reply);
                continue;
            }
            if ((*reply)["id"] != id) continue;
            REQUIRE_MESSAGE(!reply->contains("error"), method << ": " << reply->dump());
            return (*reply)["result"];
        }
    }

    void wait_for_load(const std::string& session, const std::string& what) {
        const auto deadline = SteadyClock::now() + k_browser_timeout;
        while (loads_[session] == 0) {
            const auto event = next(deadline);
            REQUIRE_MESSAGE(event, "Chromium did not finish loading " << what << " within "
                                                                      << k_browser_timeout.count()
                                                                      << " s; its log:\n"
                                                                      << log_tail(log_));
            keep(*event);
        }
        loads_.erase(session);
    }

    std::optional<Process> process_;
    fs::path log_;
    int write_ = -1;
    int read_ = -1;
    int last_id_ = 0;
    std::string buffer_;
    std::map<std::string, int> loads_;
};

// The sign-in link the console printed for `/incident login`, once it is there.
std::string wait_for_login_link(Bot& bot) {
    const std::regex link(R"((http://127\.0\.0\.1:[0-9]+/login/[0-9a-z.]+))");
    const auto deadline = SteadyClock::now() + k_bot_timeout;
    while (SteadyClock::now() < deadline) {
        std::smatch m;
        const std::string out = bot.output();
        if (std::regex_search(out, m, link)) return m[1].str();
        std::this_thread::sleep_for(20ms);
    }
    FAIL("the console printed no sign-in link within 15 s:\n" << bot.output() << "\n" << bot.log());
    return "";
}

}  // namespace

TEST_CASE("headless Chromium signs in through /incident login, edits a section, meets a conflict") {
    require_chromium();
    TempDir dir;
    Bot bot(dir, "");
    CAPTURE(bot.port());
    bot.type("/as alice\n/incident login\n");
    const std::string link = wait_for_login_link(bot);
    DevTools chrome(dir);

    // The link asks, and its button signs Alice in, once.
    const std::string tab = chrome.open_tab();
    chrome.navigate(tab, link);
    CHECK(has(chrome.dom(tab), "signs you in as @alice (console)"));
    chrome.click(tab, "sign-in");
    CHECK(chrome.location(tab) == bot.url("/"));
    CHECK(has(chrome.dom(tab), "Signed in as @alice (console)"));
    const std::string cookies = chrome.evaluate(tab, "document.cookie").get<std::string>();
    CHECK_FALSE(has(cookies, "incident_bot_person"));  // HttpOnly: no script reads it

    // A second tab opens the same form before the first saves: it holds a stale revision.
    const std::string stale = chrome.open_tab();
    chrome.navigate(stale, bot.url("/incidents/INC-1/postmortem"));
    CHECK(has(chrome.dom(stale), "id=\"edit-impact.customers\""));

    chrome.navigate(tab, bot.url("/incidents/INC-1/postmortem"));
    const std::string first = "Checkout failed for 30% of customers for 19 minutes";
    chrome.save_form(tab, "edit-impact.customers", first);
    CHECK(chrome.location(tab) == bot.url("/incidents/INC-1/postmortem#edit"));
    const std::string saved = squash(chrome.dom(tab));
    {
        INFO("after saving: " << main_of(saved));
        CHECK(has(saved, "<strong>Customers:</strong> " + first));
        CHECK(has(saved, "by @alice"));
    }
    const HttpReply markdown = http_get(bot.port(), "/incidents/INC-1/postmortem.md");
    CHECK(markdown.status == 200);
    CHECK(has(markdown.body, "- **Customers:** " + first + "\n"));

    // An action item added and completed through the page's plain forms.
    CHECK(chrome.evaluate(tab,
                          "(() => { const t = document.getElementById('add-corrective-text');"
                          " if (!t) return false; t.value = 'Alert on empty pools';"
                          " return true; })()") == true);
    chrome.click(tab, "add-corrective-submit");
    CHECK(chrome.location(tab) == bot.url("/incidents/INC-1/postmortem#actions"));
    CHECK(has(chrome.dom(tab), "Alert on empty pools"));
    const auto added = [&] {
        const auto items = nlohmann::json::parse(
            http_get(bot.port(), "/api/incidents/INC-1").body)["action_items"];
        for (const auto& item : items) {
            if (item["text"] == "Alert on empty pools") return item;
        }
        return nlohmann::json();
    };
    REQUIRE(added().is_object());
    CHECK(added()["author"]["name"] == "alice");
    const std::string number = std::to_string(added()["number"].get<int>());
    chrome.click(tab, "done-" + number + "-submit");
    CHECK_FALSE(has(chrome.dom(tab), "id=\"done-" + number + "\""));
    CHECK(added()["status"] == "done");

    // The stale tab's save is refused, with Alice's text beside the new one.
    const std::string second = "A third of all checkouts failed";
    chrome.save_form(stale, "edit-impact.customers", second);
    const std::string conflict = squash(chrome.dom(stale));
    {
        INFO("conflict page: " << main_of(conflict));
        CHECK(has(conflict, "changed since you opened it"));
        CHECK(has(conflict, "<pre>" + first + "</pre>"));
        CHECK(has(conflict, second + "</textarea>"));
    }
    CHECK(has(http_get(bot.port(), "/incidents/INC-1/postmortem.md").body,
              "- **Customers:** " + first + "\n"));
    CHECK_FALSE(has(http_get(bot.port(), "/incidents/INC-1/postmortem.md").body, second));

    // Both texts are in the history.
    chrome.navigate(tab, bot.url("/incidents/INC-1/postmortem/history"));
    const std::string history = squash(chrome.dom(tab));
    {
        INFO("history: " << main_of(history));
        const std::string kept = row_with(history, first);
        CHECK(has(kept, "Impact on customers"));
        CHECK(has(kept, "@alice"));
        CHECK(has(kept, "in the draft"));
        const std::string set_aside = row_with(history, second);
        CHECK(has(set_aside, "Impact on customers"));
        CHECK(has(set_aside, "set aside"));
    }

    // The link was for one use: opening it again gets the page that says so.
    Browser browser(dir);
    const std::string used = squash(browser.dump_dom(link));
    CHECK(has(used, "was used already"));
    CHECK(has(used, "/incident login"));

    const auto status = bot.stop();
    REQUIRE(status);
    CHECK_MESSAGE(WEXITSTATUS(*status) == 0, describe_status(*status) << "\n" << bot.log());
}
