#include "adapters/net/http_types.hpp"

#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include <algorithm>

namespace incident::net {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

Headers::Headers(std::initializer_list<Field> fields) : fields_(fields) {}

void Headers::add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::set(std::string name, std::string value) {
    erase(name);
    add(std::move(name), std::move(value));
}

void Headers::erase(std::string_view name) {
    std::erase_if(fields_, [&](const Field& f) { return iequals(f.first, name); });
}

std::optional<std::string> Headers::get(std::string_view name) const {
    for (const auto& [key, value] : fields_) {
        if (iequals(key, name)) return value;
    }
    return std::nullopt;
}

std::vector<std::string> Headers::get_all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [key, value] : fields_) {
        if (iequals(key, name)) out.push_back(value);
    }
    return out;
}

bool Headers::contains(std::string_view name) const {
    return std::any_of(fields_.begin(), fields_.end(),
                       [&](const Field& f) { return iequals(f.first, name); });
}

std::string_view HttpRequest::path() const {
    const std::string_view target(url);
    return target.substr(0, target.find('?'));
}

std::string_view HttpRequest::query() const {
    const std::string_view target(url);
    const auto mark = target.find('?');
    return mark == std::string_view::npos ? std::string_view{} : target.substr(mark + 1);
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
    const std::string_view q = query();
    // Boost.URL 1.81's parse_query mishandles an empty string (strlen on its data).
    if (q.empty()) return std::nullopt;
    const boost::urls::string_view text(q.data(), q.size());
    if (!boost::urls::parse_query(text)) return std::nullopt;
    boost::urls::encoding_opts opts;
    opts.space_as_plus = true;
    const boost::urls::params_view params(text, opts);
    for (const auto& param : params) {
        if (param.key == name) return param.has_value ? param.value : std::string{};
    }
    return std::nullopt;
}

HttpResponse HttpResponse::text(int status, std::string body) {
    HttpResponse response;
    response.status = status;
    response.headers.set("Content-Type", "text/plain; charset=utf-8");
    response.body = std::move(body);
    return response;
}

HttpResponse HttpResponse::json(int status, std::string body) {
    HttpResponse response;
    response.status = status;
    response.headers.set("Content-Type", "application/json; charset=utf-8");
    response.body = std::move(body);
    return response;
}

HttpResponse HttpResponse::failure(boost::system::error_code code, std::string message) {
    HttpResponse response;
    response.error_code = code;
    response.error = std::move(message);
    return response;
}

}  // namespace incident::net
