#pragma once

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/net/http_server.hpp"
#include "json_shape.hpp"

namespace incident::testing {

inline constexpr const char* k_statuspage_page = "qfn30z5r6s5h";
inline constexpr const char* k_statuspage_key = "sp-key-4c1b0c55e2a14b7f9a3e";
inline constexpr const char* k_statuspage_api_component = "8kbf7d35c070";

// A payload of tests/protocol/statuspage/fixtures/.
inline nlohmann::json statuspage_fixture(const std::string& name) {
    const auto path =
        std::filesystem::path(INCIDENT_BOT_PROTOCOL_DIR) / "statuspage" / "fixtures" / name;
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), path.string());
    std::stringstream text;
    text << in.rdbuf();
    return nlohmann::json::parse(text.str());
}

// Statuspage's REST API v1 on loopback, one page: reading it, creating, updating and listing
// the unresolved incidents and updating components, each checked for the documented header
// and body shape. It can delete an incident (as done on Statuspage's pages) and lose the
// answer to a create it made (the connection closed unanswered).
struct FakeStatuspage {
    explicit FakeStatuspage(boost::asio::io_context& io)
        : server(io.get_executor(),
                 [this](net::HttpRequest request) -> boost::asio::awaitable<net::HttpResponse> {
                     net::HttpResponse response = answer(request);
                     // Taken and done, and the answer lost on the way back.
                     const bool creates = request.method == "POST" && response.status == 201;
                     if (creates && lose_answers > 0) {
                         --lose_answers;
                         co_return net::no_answer();
                     }
                     co_return response;
                 }) {
        REQUIRE(server.listen("127.0.0.1:0").ok());
    }

    net::HttpResponse answer(const net::HttpRequest& request) {
        const std::string path(request.path());
        calls.push_back(request.method + " " + path);
        if (!script.empty()) {
            const int status = script.front();
            script.pop_front();
            net::HttpResponse r = net::HttpResponse::json(status, R"({"error":"scripted"})");
            if (status == 429) r.headers.set("Retry-After", "0");
            return r;
        }
        const std::string authorization = request.headers.get("Authorization").value_or("");
        if (authorization != "OAuth " + std::string(k_statuspage_key)) {
            // Some servers echo what they were given: the bot must not store it.
            return refuse(401, "Couldn't authenticate you with " + authorization);
        }
        const std::string page = "/v1/pages/" + std::string(k_statuspage_page);
        if (request.method == "GET" && path == page) {
            return net::HttpResponse::json(200, statuspage_fixture("page.response.json").dump());
        }
        if (!path.starts_with(page + "/")) return refuse(404, "no such page");
        if (request.method == "GET" && path == page + "/incidents/unresolved") {
            return net::HttpResponse::json(200, unresolved().dump());
        }
        if (request.headers.get("Content-Type") != "application/json") {
            return refuse(415, "the body must be JSON");
        }
        const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) return refuse(400, "not JSON");
        bodies.push_back(body);

        if (request.method == "PATCH" && path.starts_with(page + "/components/")) {
            if (shape_of(body) != shape_of(statuspage_fixture("update_component.request.json")) ||
                !component_status(body["component"]["status"])) {
                return refuse(422, "not a component update");
            }
            return net::HttpResponse::json(200,
                                           nlohmann::json{{"id", path.substr(path.rfind('/') + 1)},
                                                          {"status", body["component"]["status"]}}
                                               .dump());
        }
        const bool create = request.method == "POST" && path == page + "/incidents";
        const bool update = request.method == "PATCH" && path.starts_with(page + "/incidents/");
        if (!create && !update) return refuse(404, "not a route of this fake");
        if (!body.contains("incident") || !body["incident"].is_object()) {
            return refuse(422, "the body must be {\"incident\": {...}}");
        }
        const nlohmann::json& incident = body["incident"];
        const nlohmann::json documented = statuspage_fixture(
            create ? "create_incident.request.json" : "update_incident.request.json");
        for (const auto& [key, value] : incident.items()) {
            if (key == "components") continue;  // keyed by component id: checked below
            if (!documented["incident"].contains(key) ||
                shape_of(documented["incident"][key]) != shape_of(value)) {
                return refuse(422, "unknown incident field " + key);
            }
        }
        if (incident.contains("components")) {
            if (!incident["components"].is_object()) return refuse(422, "components is a map");
            for (const auto& [id, status] : incident["components"].items()) {
                if (!component_status(status)) return refuse(422, "bad component status");
            }
        }
        if (incident.contains("status") &&
            !std::set<std::string>{"investigating", "identified", "monitoring", "resolved"}
                 .contains(incident["status"].get<std::string>())) {
            return refuse(422, "bad incident status");
        }
        if (incident.contains("metadata")) {
            for (const auto& [key, value] : incident["metadata"].items()) {
                if (!value.is_object()) return refuse(422, "metadata values must be objects");
            }
        }
        if (create) {
            if (!incident.contains("name") || incident["name"].get<std::string>().empty()) {
                return refuse(422, "name can't be blank");
            }
            created.push_back("inc" + std::to_string(created.size() + 1) + "x7w24h");
            nlohmann::json& kept = incidents[created.back()];
            kept = statuspage_fixture("incident.response.json");
            kept["id"] = created.back();
            kept["name"] = incident["name"];
            kept["status"] = incident.value("status", "investigating");
            kept["metadata"] = incident.value("metadata", nlohmann::json::object());
            return net::HttpResponse::json(201, kept.dump());
        }
        const std::string id = path.substr(path.rfind('/') + 1);
        const auto kept = incidents.find(id);
        if (kept == incidents.end()) return refuse(404, "no incident " + id);
        if (incident.contains("status")) kept->second["status"] = incident["status"];
        return net::HttpResponse::json(200, kept->second.dump());
    }

    // As someone deleting it on Statuspage's own pages: gone for the API too.
    void delete_incident(const std::string& id) { incidents.erase(id); }

    // GET .../incidents/unresolved: every incident not resolved, shaped like the fixture's.
    nlohmann::json unresolved() const {
        const nlohmann::json model = statuspage_fixture("unresolved_incidents.response.json").at(0);
        nlohmann::json list = nlohmann::json::array();
        for (const std::string& id : created) {
            const auto kept = incidents.find(id);
            if (kept == incidents.end() || kept->second.at("status") == "resolved") continue;
            nlohmann::json item = model;
            for (const char* key : {"id", "name", "status", "metadata"}) {
                item[key] = kept->second.at(key);
            }
            list.push_back(std::move(item));
        }
        return list;
    }

    static bool component_status(const nlohmann::json& status) {
        return status.is_string() &&
               std::set<std::string>{"operational", "under_maintenance", "degraded_performance",
                                     "partial_outage", "major_outage"}
                   .contains(status.get<std::string>());
    }
    net::HttpResponse refuse(int status, const std::string& why) {
        refusals.push_back(why);
        return net::HttpResponse::json(status, nlohmann::json{{"error", why}}.dump());
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server.port()) + "/v1/"; }
    int count(const std::string& call) const {
        return static_cast<int>(std::count(calls.begin(), calls.end(), call));
    }

    net::HttpServer server;
    std::deque<int> script;  // statuses to answer before the real answers
    std::vector<std::string> calls;
    std::vector<nlohmann::json> bodies;
    std::vector<std::string> refusals;
    std::vector<std::string> created;                 // incident ids, in the order created
    std::map<std::string, nlohmann::json> incidents;  // by id: those not deleted
    int lose_answers = 0;  // creates to make and then close the connection on, unanswered
};

}  // namespace incident::testing
