#include "adapters/net/backoff.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

using incident::net::Backoff;
using incident::net::BackoffOptions;
using incident::net::Jitter;
using std::chrono::milliseconds;

namespace {

std::vector<long> take(Backoff& backoff, int n) {
    std::vector<long> out;
    for (int i = 0; i < n; ++i) out.push_back(static_cast<long>(backoff.next().count()));
    return out;
}

}  // namespace

TEST_CASE("backoff: without jitter doubles up to the cap, reset starts over") {
    Backoff backoff({milliseconds(100), milliseconds(1000), Jitter::none});
    CHECK(take(backoff, 6) == std::vector<long>{100, 200, 400, 800, 1000, 1000});
    CHECK(backoff.attempts() == 6);
    backoff.reset();
    CHECK(backoff.attempts() == 0);
    CHECK(backoff.next() == milliseconds(100));
}

TEST_CASE("backoff: full jitter stays between 0 and min(cap, base * 2^n)") {
    Backoff backoff({milliseconds(100), milliseconds(5000), Jitter::full}, 42);
    long ceiling = 100;
    bool below_ceiling_seen = false;
    for (int i = 0; i < 200; ++i) {
        const long delay = static_cast<long>(backoff.next().count());
        CHECK(delay >= 0);
        CHECK(delay <= ceiling);
        if (delay < ceiling) below_ceiling_seen = true;
        ceiling = std::min(ceiling * 2, 5000L);
    }
    CHECK(below_ceiling_seen);
}

TEST_CASE("backoff: decorrelated jitter stays between base and cap and within 3x the previous") {
    Backoff backoff({milliseconds(200), milliseconds(10'000), Jitter::decorrelated}, 7);
    long previous = 200;
    for (int i = 0; i < 500; ++i) {
        const long delay = static_cast<long>(backoff.next().count());
        CHECK(delay >= 200);
        CHECK(delay <= 10'000);
        CHECK(delay <= std::max(200L, previous * 3));
        previous = delay;
    }
}

TEST_CASE("backoff: a seed makes the sequence reproducible") {
    for (const Jitter jitter : {Jitter::full, Jitter::decorrelated}) {
        const BackoffOptions options{milliseconds(50), milliseconds(60'000), jitter};
        Backoff a(options, 1234);
        Backoff b(options, 1234);
        Backoff c(options, 4321);
        const auto first = take(a, 30);
        CHECK(first == take(b, 30));
        CHECK(first != take(c, 30));

        a.reset();
        b.reset();
        CHECK(take(a, 10) == take(b, 10));
    }
}

TEST_CASE("backoff: many attempts neither overflow nor pass the cap") {
    Backoff backoff({milliseconds(1), milliseconds(30'000), Jitter::none});
    for (int i = 0; i < 1000; ++i) {
        const auto delay = backoff.next();
        CHECK(delay >= milliseconds(1));
        CHECK(delay <= milliseconds(30'000));
    }
    CHECK(backoff.next() == milliseconds(30'000));
}
