// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/JsonParsing.h"

#include <gtest/gtest.h>

using rescrnet::JsonError;
using rescrnet::JsonLimits;
using rescrnet::ParseJson;
using json = nlohmann::ordered_json;

TEST(JsonParsing, ParsesNestedDocument)
{
  const json j = ParseJson(R"({"a": [1, 2.5, "x\n\u00e9"], "b": {"c": true, "d": null}, "e": -3e2})");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.at("a").size(), 3u);
  EXPECT_EQ(rescrnet::JsonInteger(j.at("a").at(0)), 1);
  EXPECT_DOUBLE_EQ(j.at("a").at(1).get<double>(), 2.5);
  EXPECT_EQ(j.at("a").at(2).get<std::string>(), "x\n\xc3\xa9");
  EXPECT_TRUE(j.at("b").at("c").get<bool>());
  EXPECT_TRUE(j.at("b").at("d").is_null());
  EXPECT_EQ(rescrnet::JsonInteger(j.at("e")), -300);
}

TEST(JsonParsing, KeepsInsertionOrderAndRoundTrips)
{
  json j = json::object();
  j["z"] = 1;
  j["a"] = "lungs \"quoted\"";
  j["eps"] = 1e-3;
  EXPECT_EQ(rescrnet::DumpJson(j), R"({"z":1,"a":"lungs \"quoted\"","eps":0.001})");
  for (int indent : { -1, 1, 2 })
    EXPECT_EQ(ParseJson(rescrnet::DumpJson(j, indent)), j) << indent;
}

TEST(JsonParsing, RejectsMalformedText)
{
  for (const char * bad : { "{", "[1,]", "{\"a\" 1}", "\"unterminated", "tru", "{} x", "", "NaN", "[Infinity]" })
  {
    EXPECT_THROW(ParseJson(bad), JsonError) << bad;
  }
}

TEST(JsonParsing, NestingLimit)
{
  JsonLimits limits;
  limits.maxDepth = 8;
  EXPECT_NO_THROW(ParseJson(std::string(8, '[') + std::string(8, ']'), limits));
  EXPECT_NO_THROW(ParseJson(R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}})", limits));
  try
  {
    ParseJson(std::string(9, '[') + std::string(9, ']'), limits);
    ADD_FAILURE() << "9 levels accepted with a limit of 8";
  }
  catch (const JsonError & e)
  {
    EXPECT_NE(std::string(e.what()).find("nesting deeper than 8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ParseJson(R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}})", limits), JsonError);
  // A hostile document (a million open brackets) fails fast and without exhausting the stack.
  EXPECT_THROW(ParseJson(std::string(1000000, '[')), JsonError);
}

TEST(JsonParsing, SizeLimit)
{
  JsonLimits limits;
  limits.maxBytes = 16;
  EXPECT_NO_THROW(ParseJson(R"({"a":[1,2,3]})", limits));
  try
  {
    ParseJson(R"({"a":[1,2,3,4,5,6]})", limits);
    ADD_FAILURE() << "20 bytes accepted with a limit of 16";
  }
  catch (const JsonError & e)
  {
    EXPECT_NE(std::string(e.what()).find("exceeds the limit of 16"), std::string::npos) << e.what();
  }
}

TEST(JsonParsing, IntegersAreStrict)
{
  const json j = ParseJson(R"({"i": 42, "f": 42.0, "half": 1.5, "s": "7", "n": null, "big": 18446744073709551615})");
  EXPECT_EQ(rescrnet::JsonInteger(j.at("i")), 42);
  EXPECT_EQ(rescrnet::JsonInteger(j.at("f")), 42);
  for (const char * key : { "half", "s", "n", "big" })
    EXPECT_THROW(rescrnet::JsonInteger(j.at(key)), JsonError) << key;
}

TEST(JsonParsing, DumpReplacesInvalidUtf8)
{
  json j = json::object();
  j["path"] = std::string("caf\xe9.png"); // Latin-1, not UTF-8
  const std::string text = rescrnet::DumpJson(j);
  EXPECT_NE(text.find("caf\xef\xbf\xbd.png"), std::string::npos) << text;
  EXPECT_NO_THROW(ParseJson(text));
}
