#pragma once

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adapters/net/http_server.hpp"
#include "json_shape.hpp"
#include "protocol_fixture.hpp"

namespace incident::testing {

inline constexpr const char* k_pagerduty_token = "pd-rest-token-y_NbAkKc66ryYTWUXYEu";
inline constexpr const char* k_pagerduty_from = "oncall-bot@example.com";

inline nlohmann::json pagerduty_fixture(const std::string& name) {
    return nlohmann::json::parse(incident::testing::protocol_fixture("pagerduty", name));
}

// PagerDuty's REST API v2 on loopback: GET /priorities, PUT /incidents/{id} and PUT
// /incidents/{id}/merge, each checked for the documented headers and body shape.
struct FakePagerDuty {
    explicit FakePagerDuty(boost::asio::io_context& io)
        : server(io.get_executor(),
                 [this](net::HttpRequest request) -> boost::asio::awaitable<net::HttpResponse> {
                     co_return answer(request);
                 }) {
        REQUIRE(server.listen("127.0.0.1:0").ok());
    }

    net::HttpResponse answer(const net::HttpRequest& request) {
        const std::string call = request.method + " " + std::string(request.path());
        calls.push_back(call);
        if (auto& next = scripted[call]; !next.empty()) {
            const int status = next.front();
            next.pop_front();
            net::HttpResponse r =
                net::HttpResponse::json(status, R"({"error":{"message":"scripted","code":2001}})");
            if (status == 429) r.headers.set("Retry-After", "0");
            return r;
        }
        if (request.headers.get("Authorization") !=
            "Token token=" + std::string(k_pagerduty_token)) {
            return refuse(401, "Authorization must be 'Token token=<REST API token>'");
        }
        if (request.headers.get("Accept") != "application/vnd.pagerduty+json;version=2") {
            return refuse(400, "Accept must ask for version 2");
        }
        if (request.method == "GET" && request.path() == "/priorities") {
            return net::HttpResponse::json(200,
                                           priorities.value_or(incident::testing::protocol_fixture(
                                               "pagerduty", "rest_priorities.response.json")));
        }
        if (request.method != "PUT") return refuse(404, "not a route of this fake");
        if (request.headers.get("From") != std::string(k_pagerduty_from)) {
            return refuse(400, "From must be the email of a PagerDuty user");
        }
        if (request.headers.get("Content-Type") != "application/json") {
            return refuse(400, "the body must be JSON");
        }
        const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
        bodies.push_back(body);
        const std::string path(request.path());
        if (path.ends_with("/merge")) {
            if (shape_of(body) !=
                shape_of(pagerduty_fixture("rest_merge_incidents.request.json"))) {
                return refuse(400, "not a merge body");
            }
            return net::HttpResponse::json(200, R"({"incident":{"id":"X","type":"incident"}})");
        }
        if (!path.starts_with("/incidents/") || body.is_discarded() || !body.contains("incident")) {
            return refuse(400, "not an incident update");
        }
        // Every key the bot sends is one the documented body has, with the same shape.
        const nlohmann::json documented =
            shape_of(pagerduty_fixture("rest_update_incident.request.json"));
        for (const auto& [key, item] : body["incident"].items()) {
            if (!documented["incident"].contains(key) ||
                documented["incident"][key] != shape_of(item)) {
                return refuse(400, "unknown incident field " + key);
            }
        }
        if (body["incident"].value("type", "") != "incident_reference") {
            return refuse(400, "type must be incident_reference");
        }
        return net::HttpResponse::json(200, R"({"incident":{"type":"incident"}})");
    }

    net::HttpResponse refuse(int status, const std::string& why) {
        refusals.push_back(why);
        return net::HttpResponse::json(status,
                                       nlohmann::json{{"error", {{"message", why}}}}.dump());
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server.port()); }
    int count(const std::string& call) const {
        return static_cast<int>(std::count(calls.begin(), calls.end(), call));
    }

    net::HttpServer server;
    std::map<std::string, std::deque<int>> scripted;  // "PUT /incidents/X" -> statuses to answer
    std::vector<std::string> calls;
    std::vector<nlohmann::json> bodies;
    std::vector<std::string> refusals;
    std::optional<std::string> priorities;  // GET /priorities answers this instead
};

}  // namespace incident::testing
