#include "rescrnet/Json.h"

#include <gtest/gtest.h>

using rescrnet::Json;

TEST(Json, ParsesNestedDocument)
{
  const Json j = Json::parse(R"({"a": [1, 2.5, "x\n\u00e9"], "b": {"c": true, "d": null}, "e": -3e2})");
  ASSERT_TRUE(j.isObject());
  EXPECT_EQ(j.at("a").size(), 3u);
  EXPECT_EQ(j.at("a")[0].asInt(), 1);
  EXPECT_DOUBLE_EQ(j.at("a")[1].asDouble(), 2.5);
  EXPECT_EQ(j.at("a")[2].asString(), "x\n\xc3\xa9");
  EXPECT_TRUE(j.at("b").at("c").asBool());
  EXPECT_TRUE(j.at("b").at("d").isNull());
  EXPECT_DOUBLE_EQ(j.at("e").asDouble(), -300.0);
}

TEST(Json, RoundTripsThroughDump)
{
  Json j = Json::object();
  j["name"] = "lungs \"quoted\"";
  j["count"] = int64_t{ 58309 };
  j["eps"] = 1e-3;
  j["list"] = Json(Json::Array{ Json(1), Json("two"), Json(false) });
  for (int indent : { -1, 2 })
  {
    const Json back = Json::parse(j.dump(indent));
    EXPECT_EQ(back, j) << j.dump(indent);
  }
  EXPECT_EQ(Json::parse(j.dump()).at("eps").asDouble(), 1e-3);
}

TEST(Json, KeepsInsertionOrder)
{
  Json j = Json::object();
  j["z"] = 1;
  j["a"] = 2;
  EXPECT_EQ(j.dump(), R"({"z":1,"a":2})");
}

TEST(Json, RejectsMalformedText)
{
  for (const char * bad : { "{", "[1,]", "{\"a\" 1}", "\"unterminated", "tru", "{} x", "" })
  {
    EXPECT_THROW(Json::parse(bad), rescrnet::JsonError) << bad;
  }
}

TEST(Json, TypeErrorsThrow)
{
  const Json j = Json::parse(R"({"a": "text", "n": 1.5})");
  EXPECT_THROW(j.at("a").asInt(), rescrnet::JsonError);
  EXPECT_THROW(j.at("n").asInt(), rescrnet::JsonError);
  EXPECT_THROW(j.at("missing"), rescrnet::JsonError);
  EXPECT_EQ(j.value("missing", std::string("fallback")), "fallback");
}
