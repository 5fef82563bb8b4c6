#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include <doctest/doctest.h>

#include "adapters/net/digest.hpp"
#include "adapters/ops/bundle.hpp"
#include "adapters/web/dashboard.hpp"
#include "bot/evidence.hpp"
#include "bot/export_json.hpp"
#include "bot/postmortem.hpp"

// What both platforms' evidence tests check once files are kept: how the dashboard serves
// them, what the JSON, the post-mortem and the incident page list, and the export bundle as
// `tar` extracts it.
namespace incident::testing {

// A 1x1 PNG (the smallest valid one: signature, IHDR, IDAT, IEND).
inline const std::string k_png(
    "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\n"
    "IDATx\x9c\x63\0\x01\0\0\x05\0\x01\x0d\x0a\x2d\xb4\0\0\0\0IEND\xae\x42\x60\x82",
    67);

// Every one of `count` files of the incident is recorded and no longer pending.
inline bool files_settled(IncidentService& service, std::int64_t number, std::size_t count) {
    const auto files = service.files(number);
    if (files.size() != count) return false;
    return std::none_of(files.begin(), files.end(),
                        [](const EvidenceFile& f) { return f.status == FileStatus::pending; });
}

inline std::string response_header(const web::WebResponse& res, const std::string& name) {
    for (const auto& [k, v] : res.headers) {
        if (k == name) return v;
    }
    return {};
}

inline web::WebResponse get_page(web::Dashboard& dashboard, const std::string& target) {
    web::WebRequest request;
    request.method = "GET";
    request.target = target;
    return dashboard.handle(request);
}

// Served as stored bytes that cannot run: the image as itself, anything else a download.
inline void check_served(web::Dashboard& dashboard, const EvidenceFile& file,
                         const std::string& content) {
    CAPTURE(file.name);
    const web::WebResponse res = get_page(dashboard, file_path(file));
    REQUIRE(res.status == 200);
    CHECK(res.body == content);
    CHECK(response_header(res, "Content-Security-Policy") == "sandbox");
    CHECK(response_header(res, "X-Content-Type-Options") == "nosniff");
    const std::string disposition = response_header(res, "Content-Disposition");
    if (is_inline_image(file.mime_type)) {
        CHECK(res.content_type == file.mime_type);
    } else {
        CHECK(res.content_type == "application/octet-stream");
        CHECK(disposition.starts_with("attachment; filename=\""));
    }
    // The name in the header is the safe one: no path, no quote, no angle bracket.
    CHECK(disposition.find("filename=\"" + safe_file_name(file.name) + "\"") != std::string::npos);
    CHECK(disposition.find('/') == std::string::npos);
    CHECK(disposition.find('<') == std::string::npos);
}

inline std::string read_all(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Extracts the bundle with tar and compares every stored file by its SHA-256. `expected`:
// file name -> content.
inline void check_bundle(IncidentService& service, std::int64_t number,
                         const std::map<std::string, std::string>& expected) {
    static std::atomic<int> counter{0};
    const auto dir =
        std::filesystem::temp_directory_path() /
        ("incident-bundle-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir / "out");
    { std::ofstream(dir / "inc.tar.gz", std::ios::binary) << ops::export_bundle(service, number); }
    const std::string command =
        "tar -xmzf '" + (dir / "inc.tar.gz").string() + "' -C '" + (dir / "out").string() + "'";
    REQUIRE(std::system(command.c_str()) == 0);
    const std::string key = incident_key(number);
    const auto root = dir / "out" / key;
    CHECK(read_all(root / "postmortem.md") == render_postmortem(service.snapshot(number)));
    const auto json = nlohmann::json::parse(read_all(root / "incident.json"), nullptr, false);
    REQUIRE(json.is_object());
    CHECK(json["id"] == key);
    std::size_t files = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "out")) {
        if (!e.is_regular_file()) continue;
        const auto relative = std::filesystem::relative(e.path(), root).string();
        CAPTURE(relative);
        // Everything inside INC-<n>/, nothing hidden.
        CHECK_FALSE(relative.starts_with(".."));
        CHECK(e.path().filename().string().front() != '.');
        if (relative.starts_with("files/")) ++files;
    }
    CHECK(files == expected.size());
    for (const auto& f : service.files(number)) {
        if (f.status != FileStatus::stored) continue;
        CAPTURE(f.name);
        REQUIRE(expected.count(f.name));
        const std::string extracted = read_all(root / bundle_path(f));
        CHECK(net::sha256_hex(extracted) == net::sha256_hex(expected.at(f.name)));
        CHECK(net::sha256_hex(extracted) == f.sha256);
    }
    std::filesystem::remove_all(dir);
}

// The JSON export, the post-mortem's Evidence section and the incident page list the files,
// the names escaped where they could be markup.
inline void check_listed(IncidentService& service, web::Dashboard& dashboard, std::int64_t number) {
    const IncidentSnapshot snap = service.snapshot(number);
    const auto json = to_json(snap);
    REQUIRE(json["files"].size() == snap.files.size());
    const std::string md = render_postmortem(snap);
    CHECK(md.find("## Evidence") != std::string::npos);
    const web::WebResponse page = get_page(dashboard, "/incidents/" + incident_key(number));
    REQUIRE(page.status == 200);
    for (std::size_t i = 0; i < snap.files.size(); ++i) {
        const EvidenceFile& f = snap.files[i];
        CAPTURE(f.name);
        CHECK(json["files"][i]["name"] == f.name);
        CHECK(json["files"][i]["status"] == std::string(to_string(f.status)));
        CHECK(json["files"][i]["shared_by"]["id"] == f.shared_by.id);
        if (f.status == FileStatus::stored) {
            CHECK(json["files"][i]["sha256"] == f.sha256);
            CHECK(md.find(file_path(f)) != std::string::npos);
            if (is_inline_image(f.mime_type)) {
                CHECK(page.body.find("<img src=\"" + file_path(f) + "\"") != std::string::npos);
            } else {
                CHECK(page.body.find("<a href=\"" + file_path(f) + "\">") != std::string::npos);
            }
        }
        CHECK(page.body.find(web::html_escape(f.name)) != std::string::npos);
    }
    // No name becomes markup on the page.
    CHECK(page.body.find("<script>") == std::string::npos);
}

}  // namespace incident::testing
