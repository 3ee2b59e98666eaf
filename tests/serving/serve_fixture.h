// A test suite sharing one `senti serve` (the tiny model, --max-client-batch-size 4, --payload-limit
// 65536) among its tests: class MySuite : public ServeFixture {};
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "serving/http_client.h"
#include "serving/server_process.h"

namespace senti::test {

// The seed sentence the API tests send (one definition: api_test.cc and compat_api_test.cc share a unity batch).
inline const std::string kText = "这件衣服的质量真的太棒了";

class ServeFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"--max-client-batch-size", "4", "--payload-limit", "65536"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_->port(), 0); }
  HttpClient client() { return HttpClient(server_->port()); }
  static inline ServerProcess* server_ = nullptr;
};

}  // namespace senti::test
