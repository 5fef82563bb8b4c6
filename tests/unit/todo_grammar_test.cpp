#include <doctest/doctest.h>

#include "bot/todo_grammar.hpp"

using namespace incident;

TEST_CASE("TODO lines in any case, with or without a colon, become items") {
    const auto todos = find_todos(
        "first we look\nTODO: add alert on queue depth\ntodo rotate keys\n  ToDo : fix runbook\n"
        "TODOs are great\ntodolist\nnot a TODO: here");
    REQUIRE(todos.size() == 3);
    CHECK(todos[0].text == "add alert on queue depth");
    CHECK(todos[1].text == "rotate keys");
    CHECK(todos[2].text == "fix runbook");
}

TEST_CASE("owner and due date are read from the item") {
    const auto todos = find_todos("TODO: @carol fix the retry storm due:2026-12-01");
    REQUIRE(todos.size() == 1);
    CHECK(todos[0].owner == "@carol");
    CHECK(todos[0].due == "2026-12-01");
    CHECK(todos[0].text == "@carol fix the retry storm");

    const auto slack = find_todos("TODO <@U123|dave> add a canary DUE:2027-01-15");
    REQUIRE(slack.size() == 1);
    CHECK(slack[0].owner == "<@U123|dave>");
    CHECK(slack[0].due == "2027-01-15");
}

TEST_CASE("a bad date in chat keeps the item but not the date") {
    const auto todos = find_todos("TODO: upgrade db due:2026-02-30 @erin");
    REQUIRE(todos.size() == 1);
    CHECK_FALSE(todos[0].due);
    CHECK(todos[0].owner == "@erin");
    CHECK(todos[0].text.find("upgrade db") != std::string::npos);
}

TEST_CASE("empty markers are not items") {
    CHECK(find_todos("TODO").empty());
    CHECK(find_todos("TODO:   ").empty());
    CHECK(find_todos("").empty());
}

TEST_CASE("parse_todo_body reports bad dates and empty text") {
    CHECK(parse_todo_body("x due:tomorrow").error.find("due:YYYY-MM-DD") != std::string::npos);
    CHECK(parse_todo_body("due:2026-12-01").error.find("no text") != std::string::npos);
    const auto ok = parse_todo_body("write the runbook @frank due:2026-12-24");
    REQUIRE(ok.spec);
    CHECK(ok.spec->owner == "@frank");
    CHECK(ok.spec->due == "2026-12-24");
    CHECK(ok.spec->text == "write the runbook @frank");
}
