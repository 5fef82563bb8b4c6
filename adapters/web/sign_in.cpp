#include "adapters/web/sign_in.hpp"

#include <sys/random.h>

#include <cerrno>

#include <charconv>
#include <limits>
#include <stdexcept>
#include <vector>

#include "adapters/net/digest.hpp"

namespace incident::web {

using net::equal_constant_time;
using net::from_hex;
using net::hmac_sha256;
using net::hmac_sha256_hex;
using net::to_hex;

namespace {

constexpr std::string_view k_link = "l1";
constexpr std::string_view k_session = "s1";
constexpr std::string_view k_stored_key = "web:sign-in-key";
constexpr std::string_view k_used_link = "web:login-link:";
constexpr std::string_view k_ended_session = "web:signed-out:";
constexpr std::size_t k_nonce_bytes = 16;
// Ids and names come from chat platforms; anything longer is not one.
constexpr std::size_t k_max_field = 256;

// From the kernel's CSPRNG (getrandom(2), which also seeds OpenSSL's): the key made at the
// first start would otherwise be the bot's first use of OpenSSL (see SignIn::keys).
std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    for (std::size_t got = 0; got < n;) {
        const ssize_t r = ::getrandom(out.data() + got, n - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) throw std::runtime_error("the system's random number generator failed");
        got += static_cast<std::size_t>(r);
    }
    return out;
}

// A hex field of a token: at most k_max_field bytes once decoded.
std::optional<std::string> field_from_hex(std::string_view hex) {
    if (hex.size() > 2 * k_max_field) return std::nullopt;
    return from_hex(hex);
}

std::vector<std::string_view> split_dots(std::string_view text) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const auto dot = text.find('.', start);
        parts.push_back(text.substr(start, dot == std::string_view::npos ? dot : dot - start));
        if (dot == std::string_view::npos) return parts;
        start = dot + 1;
    }
}

std::string with_slash(std::string base) {
    if (!base.empty() && base.back() != '/') base += '/';
    return base;
}

}  // namespace

SignIn::SignIn(Store& store, std::string_view key, Timestamp session_ttl_ms, std::string base_url)
    : store_(store),
      keys_(std::make_shared<LazyKeys>()),
      session_ttl_ms_(session_ttl_ms),
      base_url_(with_slash(std::move(base_url))) {
    if (key.empty()) throw std::invalid_argument("SignIn needs a secret key");
    keys_->secret = std::string(key);
}

const SignIn::Keys& SignIn::keys() const {
    LazyKeys& lazy = *keys_;
    std::call_once(lazy.derived, [&lazy] {
        lazy.keys.link = hmac_sha256(lazy.secret, "incident-bot sign-in link");
        lazy.keys.session = hmac_sha256(lazy.secret, "incident-bot person session");
        lazy.keys.form = hmac_sha256(lazy.secret, "incident-bot form token");
    });
    return lazy.keys;
}

void SignIn::set_base_url(std::string base_url) {
    base_url_ = with_slash(std::move(base_url));
}

std::string SignIn::sign(std::string_view kind, const Person& person, Timestamp expiry) const {
    const std::string payload = std::string(kind) + "." + std::to_string(expiry) + "." +
                                to_hex(random_bytes(k_nonce_bytes)) + "." +
                                to_hex(person.platform) + "." + to_hex(person.actor.id) + "." +
                                to_hex(person.actor.name);
    const std::string& key = kind == k_link ? keys().link : keys().session;
    return payload + "." + hmac_sha256_hex(key, payload);
}

std::optional<SignIn::Parsed> SignIn::verify(std::string_view kind, std::string_view token) const {
    if (token.size() > 8 * k_max_field) return std::nullopt;
    const auto last_dot = token.rfind('.');
    if (last_dot == std::string_view::npos) return std::nullopt;
    const std::string_view payload = token.substr(0, last_dot);
    const std::string& key = kind == k_link ? keys().link : keys().session;
    if (!equal_constant_time(hmac_sha256_hex(key, payload), token.substr(last_dot + 1))) {
        return std::nullopt;
    }
    const auto parts = split_dots(payload);
    if (parts.size() != 6 || parts[0] != kind || parts[2].size() != 2 * k_nonce_bytes) {
        return std::nullopt;
    }
    Parsed parsed;
    const std::string_view expiry = parts[1];
    const auto [end, error] =
        std::from_chars(expiry.data(), expiry.data() + expiry.size(), parsed.expiry);
    if (error != std::errc{} || end != expiry.data() + expiry.size()) return std::nullopt;
    parsed.nonce = std::string(parts[2]);
    const auto platform = field_from_hex(parts[3]);
    const auto id = field_from_hex(parts[4]);
    const auto name = field_from_hex(parts[5]);
    if (!platform || !id || !name || id->empty()) return std::nullopt;
    parsed.person = Person{*platform, Actor{*id, *name}};
    return parsed;
}

SignInLink SignIn::link(const std::string& platform, const Actor& person, Timestamp now) const {
    const Timestamp expiry = now + k_link_ttl_ms;
    return SignInLink{base_url_ + "login/" + sign(k_link, Person{platform, person}, expiry),
                      expiry};
}

SignIn::Redeemed SignIn::check(std::string_view token, Timestamp now) {
    return open_link(token, now, false);
}

SignIn::Redeemed SignIn::redeem(std::string_view token, Timestamp now) {
    return open_link(token, now, true);
}

SignIn::Redeemed SignIn::open_link(std::string_view token, Timestamp now, bool spend) {
    Redeemed out;
    const auto parsed = verify(k_link, token);
    if (!parsed) return out;
    out.person = parsed->person;
    if (parsed->expiry <= now || parsed->expiry > now + k_link_ttl_ms) {
        out.status = Status::expired;
        return out;
    }
    const std::string key = std::string(k_used_link) + parsed->nonce;
    store_.transaction([&] {
        if (store_.processed(key)) {
            out.status = Status::used;
            return;
        }
        if (spend) store_.mark_processed(key, "used", now);
        out.status = Status::ok;
    });
    return out;
}

std::string SignIn::start_session(const Person& person, Timestamp now) const {
    return sign(k_session, person, now + session_ttl_ms_);
}

std::optional<Person> SignIn::session(std::string_view cookie, Timestamp now) {
    const auto parsed = verify(k_session, cookie);
    if (!parsed || parsed->expiry <= now || parsed->expiry > now + session_ttl_ms_) {
        return std::nullopt;
    }
    if (store_.processed(std::string(k_ended_session) + parsed->nonce)) return std::nullopt;
    return parsed->person;
}

void SignIn::end_session(std::string_view cookie, Timestamp now) {
    const auto parsed = verify(k_session, cookie);
    if (!parsed || parsed->expiry <= now) return;
    // Kept as long as the cookie could be valid, so housekeeping prunes it after that.
    store_.transaction([&] {
        store_.mark_processed(std::string(k_ended_session) + parsed->nonce, "signed out",
                              parsed->expiry);
    });
}

std::string SignIn::form_token(std::string_view cookie) const {
    return hmac_sha256_hex(keys().form, cookie);
}

bool SignIn::form_token_valid(std::string_view cookie, std::string_view token) const {
    return !cookie.empty() && equal_constant_time(form_token(cookie), token);
}

std::string SignIn::browser_nonce() const {
    return to_hex(random_bytes(k_nonce_bytes));
}

std::string sign_in_key(Store& store, std::string_view dashboard_token) {
    if (!dashboard_token.empty()) return hmac_sha256(dashboard_token, "incident-bot sign-in key");
    std::string key;
    store.transaction([&] {
        if (const auto stored = store.processed(k_stored_key)) {
            key = *stored;
            return;
        }
        // Recorded as processed at the end of time, so housekeeping never prunes it; when two
        // replicas race, the first one stored wins and both read it back.
        store.mark_processed(k_stored_key, to_hex(random_bytes(32)),
                             std::numeric_limits<Timestamp>::max());
        key = store.processed(k_stored_key).value_or("");
    });
    if (key.size() < 32) throw std::runtime_error("the dashboard sign-in key could not be stored");
    return key;
}

}  // namespace incident::web
