#include <doctest/doctest.h>

#include "adapters/mattermost/decode.hpp"

using namespace incident;

// Inputs the fuzzers (tests/fuzz) and the fault tests found, kept so the fixes stay fixed.
TEST_CASE(
    "mattermost post times: a float beyond the int64 range is no time, not undefined behaviour") {
    for (const char* at : {"1e300", "-1e300", "9.3e18", "-9.3e18"}) {
        CAPTURE(at);
        std::string error;
        const auto post = mattermost::decode_post(
            std::string(R"({"id":"p1","channel_id":"c1","user_id":"u1","create_at":)") + at + "}",
            error);
        REQUIRE(post);
        CHECK(post->create_at == 0);
    }
    std::string error;
    const auto post = mattermost::decode_post(
        std::string(R"({"id":"p1","channel_id":"c1","user_id":"u1","create_at":1.8e12})"), error);
    REQUIRE(post);
    CHECK(post->create_at == 1'800'000'000'000);
}

TEST_CASE("mattermost frames: data nested 100,000 deep is parsed without running out of stack") {
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    std::string error;
    const auto frame =
        mattermost::parse_frame(R"({"event":"typing","data":{"deep":)" + deep +
                                    R"(},"broadcast":{"deep":)" + deep + "},\"seq\":3}",
                                error);
    REQUIRE(frame);
    CHECK(frame->data["deep"].is_array());
    CHECK(frame->seq == 3);
}
