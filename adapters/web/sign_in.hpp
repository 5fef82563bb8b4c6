#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "bot/incident_service.hpp"
#include "bot/store.hpp"
#include "bot/types.hpp"

namespace incident::web {

// Who is signed in to the dashboard: a chat identity, as `/incident login` saw it.
struct Person {
    std::string platform;
    Actor actor;
};

// Dashboard sign-in through chat, without an identity provider. `/incident login` gets a
// link "<base>login/<token>"; the token carries the identity, its expiry and a nonce, signed
// with HMAC-SHA256. Opening it shows a Sign in button; pressing it once (the nonce is recorded
// as a processed key, in the same transaction as the check) starts a session: a cookie signed the
// same way, with its own nonce, which signing out records as ended. Forms carry a token derived
// from the session (HMAC of the cookie), so another site cannot post them.
//
// Tokens are "<kind>.<expiry ms>.<nonce>.<hex platform>.<hex user id>.<hex name>.<mac>";
// kind "l1" for links and "s1" for sessions, each with its own key.
class SignIn {
public:
    static constexpr Timestamp k_link_ttl_ms = 10 * 60'000;

    // `key`: the secret of sign_in_key(). `base_url`: the dashboard's address, links are
    // <base_url>login/<token> (a missing final slash is added).
    SignIn(Store& store, std::string_view key, Timestamp session_ttl_ms, std::string base_url);

    void set_base_url(std::string base_url);
    const std::string& base_url() const { return base_url_; }
    Timestamp session_ttl_ms() const { return session_ttl_ms_; }

    // For IncidentService::use_sign_in.
    SignInLink link(const std::string& platform, const Actor& person, Timestamp now) const;

    enum class Status { ok, expired, used, invalid };
    struct Redeemed {
        Status status = Status::invalid;
        Person person;
    };
    // What opening the link would do, recording nothing: link previews (a chat application
    // fetching the link to show a card) must not spend it.
    Redeemed check(std::string_view token, Timestamp now);
    // Checks a link's token and, when it is good, records its one use. Nothing is recorded
    // for an expired, used or forged one.
    Redeemed redeem(std::string_view token, Timestamp now);

    // A session cookie value for `person`, valid for the session TTL.
    std::string start_session(const Person& person, Timestamp now) const;
    // The person of a session cookie that is signed, not expired and not signed out.
    std::optional<Person> session(std::string_view cookie, Timestamp now);
    // Records the session as ended: its cookie is refused from now on, wherever it is kept.
    void end_session(std::string_view cookie, Timestamp now);

    // The anti-forgery token of the forms of a session, and its check (constant time).
    std::string form_token(std::string_view cookie) const;
    bool form_token_valid(std::string_view cookie, std::string_view token) const;
    // A random value for the cookie that ties a link's Sign in button to the browser that
    // opened the link (its form token is form_token of it), so another site cannot sign a
    // visitor in as someone else.
    std::string browser_nonce() const;

private:
    struct Parsed {
        Timestamp expiry = 0;
        std::string nonce;
        Person person;
    };
    std::string sign(std::string_view kind, const Person& person, Timestamp expiry) const;
    std::optional<Parsed> verify(std::string_view kind, std::string_view token) const;
    Redeemed open_link(std::string_view token, Timestamp now, bool spend);

    struct Keys {
        std::string link, session, form;
    };
    // Derived from the secret on first use: HMAC would be the bot's first use of OpenSSL,
    // whose initialisation (configuration, providers) costs 2.5 MB of resident memory, and
    // most runs sign nobody in.
    struct LazyKeys {
        std::string secret;
        std::once_flag derived;
        Keys keys;
    };
    const Keys& keys() const;

    Store& store_;
    std::shared_ptr<LazyKeys> keys_;
    Timestamp session_ttl_ms_;
    std::string base_url_;
};

// The secret the sign-in keys come from: derived from INCIDENT_BOT_DASHBOARD_TOKEN when one is
// set (a new token ends every link and session), else 32 random bytes made once per database
// and kept in it (processed key "web:sign-in-key", never pruned), so every replica and every
// restart signs alike.
std::string sign_in_key(Store& store, std::string_view dashboard_token);

}  // namespace incident::web
