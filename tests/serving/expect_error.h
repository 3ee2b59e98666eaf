// The error answer every API gives: asserted the same way by the end-to-end service tests.
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "serving/http_client.h"

namespace senti::test {

// Asserts an error answer: status, {"error": non-empty, "error_type": type}, message mentioning `mentions`.
inline void expect_error(const HttpResult& r, int status, const std::string& type, const std::string& mentions = "") {
  EXPECT_EQ(r.status, status) << r.error << " " << r.body;
  const nlohmann::json j = r.json();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("error_type", ""), type) << r.body;
  EXPECT_FALSE(j.value("error", "").empty()) << r.body;
  if (!mentions.empty()) {
    EXPECT_NE(j.value("error", "").find(mentions), std::string::npos) << r.body;
  }
  EXPECT_EQ(r.headers.count("content-type") ? r.headers.at("content-type") : "", "application/json");
}

}  // namespace senti::test
