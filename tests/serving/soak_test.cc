// The bounded load test of issue 8: 64 keep-alive clients send a mix of short and long texts over all
// three APIs for 30 s while 2,000 idle connections and 100 slowloris clients (a byte every 2 s) hang on.
// Zero errors, every answer equal to the single-request answer, server RSS growth bounded, and a probe
// on a fresh connection keeps being answered promptly.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/sanitized_build.h"
#include "serving/http_client.h"
#include "serving/ranked_answers.h"
#include "serving/raw_socket.h"
#include "serving/server_process.h"

namespace senti::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kClients = 64;
constexpr auto kLoadTime = 30s;
constexpr int kIdleConnections = 2000;
constexpr int kSlowloris = 100;
constexpr int kReadTimeoutS = 20;  // the server's --read-timeout: idle and slow connections end then

std::vector<std::string> mixed_texts() {
  std::vector<std::string> texts = {"好", "差评", "这件衣服的质量真的太棒了", "物流很慢，包装也破了，非常失望",
                                    "great product, would buy again", "还行吧，一般般", "不推荐"};
  std::string medium, long_text, over_max;
  for (int i = 0; i < 30; ++i) medium += "质量不错价格实惠";
  for (int i = 0; i < 80; ++i) long_text += "服务态度很差，";
  for (int i = 0; i < 400; ++i) over_max += "满意";  // truncated at 512 tokens
  texts.push_back(medium);
  texts.push_back(long_text);
  texts.push_back(over_max);
  return texts;
}

struct Reference {
  json logits;        // TEI raw_scores answer
  std::string label;  // seed GET answer
  double score = 0;
};

// One request of a random kind for text i; true when it was answered 200 with the reference answer.
bool check_one(HttpClient& c, std::mt19937& rng, const std::vector<std::string>& texts,
               const std::vector<Reference>& ref, std::string& why) {
  const std::size_t i = rng() % texts.size();
  switch (rng() % 4) {
    case 0: {
      const HttpResult r = c.get("/predict?text=" + url_encode(texts[i]));
      const json j = r.json();
      if (r.status == 200 && j.is_object() && j["label"] == ref[i].label &&
          std::abs(j["score"].get<double>() - ref[i].score) < 1e-4)
        return true;
      why = "GET " + std::to_string(r.status) + " " + r.error + " " + r.body.substr(0, 200);
      return false;
    }
    case 1: {
      const HttpResult r = c.post("/predict", json{{"inputs", texts[i]}, {"raw_scores", true}}.dump());
      if (r.status == 200 && same_ranked_answer(r.json(), ref[i].logits)) return true;
      why = "TEI " + std::to_string(r.status) + " " + r.error + " " + r.body.substr(0, 200);
      return false;
    }
    case 2: {
      const std::size_t j = (i + 1 + rng() % (texts.size() - 1)) % texts.size();
      const HttpResult r = c.post("/predict", json{{"inputs", {texts[i], texts[j]}}, {"raw_scores", true}}.dump());
      const json a = r.json();
      if (r.status == 200 && a.is_array() && a.size() == 2 && same_ranked_answer(a[0], ref[i].logits) &&
          same_ranked_answer(a[1], ref[j].logits))
        return true;
      why = "TEI batch " + std::to_string(r.status) + " " + r.error + " " + r.body.substr(0, 200);
      return false;
    }
    default: {
      const json body = {{"inputs", {{{"name", "text"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {texts[i]}}}}}};
      const HttpResult r = c.post("/v2/models/tiny/infer", body.dump());
      const json a = r.json();
      if (r.status == 200 && a.is_object() && a["outputs"][0]["data"][0] == ref[i].label &&
          std::abs(a["outputs"][1]["data"][0].get<double>() - ref[i].score) < 1e-4)
        return true;
      why = "KServe " + std::to_string(r.status) + " " + r.error + " " + r.body.substr(0, 200);
      return false;
    }
  }
}

TEST(ServeSoak, SixtyFourClientsWithIdleAndSlowConnections) {
  // Room for 2,000 idle + 100 slow + 64 client connections on both ends (the server inherits it).
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const rlim_t needed = 2 * (kIdleConnections + kSlowloris + kClients) + 256;
  if (limit.rlim_cur < needed) {
    if (limit.rlim_max < needed) GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << limit.rlim_max << " < " << needed;
    limit.rlim_cur = needed;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  ServerProcess server({"--read-timeout", std::to_string(kReadTimeoutS), "--summary-interval", "0"});
  ASSERT_NE(server.port(), 0);
  const auto texts = mixed_texts();
  std::vector<Reference> ref;
  {
    HttpClient c(server.port());
    for (const auto& t : texts) {
      Reference r;
      r.logits = c.post("/predict", json{{"inputs", t}, {"raw_scores", true}}.dump()).json();
      const json seed = c.get("/predict?text=" + url_encode(t)).json();
      ASSERT_TRUE(r.logits.is_array() && seed.is_object()) << t;
      r.label = seed["label"];
      r.score = seed["score"];
      ref.push_back(std::move(r));
    }
  }
  // Warm up under load, so the baseline includes the allocator's steady state (800 requests; a tenth
  // under ASan, whose ~10x slower server would spend a minute here and whose RSS bound is wide anyway).
  {
    std::vector<std::thread> warm;
    for (int t = 0; t < 8; ++t)
      warm.emplace_back([&, t] {
        HttpClient c(server.port());
        std::mt19937 rng(static_cast<unsigned>(1000 + t));
        std::string why;
        for (long k = 0; k < 100 / kThroughputDivisor; ++k) check_one(c, rng, texts, ref, why);
      });
    for (auto& t : warm) t.join();
  }
  const long rss_start = rss_kb(server.pid());
  ASSERT_GT(rss_start, 0);

  // 2,000 idle connections and 100 slowloris clients.
  const auto opened_at = std::chrono::steady_clock::now();
  std::vector<RawSocket> idle;
  idle.reserve(kIdleConnections);
  for (int i = 0; i < kIdleConnections; ++i) {
    idle.emplace_back(server.port());
    ASSERT_GE(idle.back().fd(), 0) << "connection " << i;
  }
  std::vector<RawSocket> slow;
  for (int i = 0; i < kSlowloris; ++i) {
    slow.emplace_back(server.port());
    ASSERT_GE(slow.back().fd(), 0);
    slow.back().send("POST /predict HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  }
  std::atomic<bool> stop{false};
  std::thread slowloris([&] {
    while (!stop) {
      for (auto& s : slow) s.send("a");
      for (int i = 0; i < 20 && !stop; ++i) std::this_thread::sleep_for(100ms);
    }
  });

  // A probe on a fresh connection every 200 ms: the server keeps answering promptly.
  std::vector<double> probe_ms;
  std::atomic<int> probe_failures{0};
  std::thread probe([&] {
    while (!stop) {
      const auto t0 = std::chrono::steady_clock::now();
      // 10 s, scaled under ASan (kTimeScale): there the load clients' median alone reached 7.8 s on 2 shared
      // cores, and a probe cut off by its own timeout says nothing; the bounds below compare it with them.
      const HttpResult r = HttpClient(server.port(), std::chrono::milliseconds(static_cast<long>(10000 * kTimeScale)))
                               .get("/predict?text=" + url_encode("物流很快"));
      probe_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (r.status != 200) ++probe_failures;
      std::this_thread::sleep_for(200ms);
    }
  });

  std::atomic<long> ok{0}, wrong{0};
  std::atomic<long> peak_rss{rss_start};
  std::mutex why_mutex;
  std::string first_wrong;
  const auto end = std::chrono::steady_clock::now() + kLoadTime;
  std::vector<std::thread> clients;
  std::vector<double> client_ms;  // every load request's latency
  std::mutex client_ms_mutex;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      HttpClient c(server.port(), 30s);
      std::mt19937 rng(static_cast<unsigned>(t));
      std::string why;
      std::vector<double> mine;
      while (std::chrono::steady_clock::now() < end) {
        const auto t0 = std::chrono::steady_clock::now();
        const bool good = check_one(c, rng, texts, ref, why);
        mine.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (good) {
          ++ok;
        } else {
          ++wrong;
          std::lock_guard lock(why_mutex);
          if (first_wrong.empty()) first_wrong = why;
        }
      }
      std::lock_guard lock(client_ms_mutex);
      client_ms.insert(client_ms.end(), mine.begin(), mine.end());
    });
  }
  // Meanwhile: RSS samples, and the idle/slow connections end at the read timeout.
  int idle_closed = -1, slow_closed = -1;
  while (std::chrono::steady_clock::now() < end) {
    peak_rss = std::max(peak_rss.load(), rss_kb(server.pid()));
    if (idle_closed < 0 && std::chrono::steady_clock::now() > opened_at + std::chrono::seconds(kReadTimeoutS + 4)) {
      idle_closed = static_cast<int>(std::count_if(idle.begin(), idle.end(), [](RawSocket& s) { return s.closed_by_peer(0ms); }));
      slow_closed = static_cast<int>(std::count_if(slow.begin(), slow.end(), [](RawSocket& s) { return s.closed_by_peer(0ms); }));
    }
    std::this_thread::sleep_for(250ms);
  }
  for (auto& c : clients) c.join();
  stop = true;
  slowloris.join();
  probe.join();
  const long rss_end = rss_kb(server.pid());

  EXPECT_EQ(wrong.load(), 0) << "first wrong answer: " << first_wrong;
  EXPECT_GT(ok.load(), 10 * kClients / kThroughputDivisor) << "hardly any requests were served";
  EXPECT_EQ(probe_failures.load(), 0);
  ASSERT_FALSE(probe_ms.empty());
  ASSERT_FALSE(client_ms.empty());
  std::sort(probe_ms.begin(), probe_ms.end());
  std::sort(client_ms.begin(), client_ms.end());
  const double probe_median = probe_ms[probe_ms.size() / 2];
  const double client_median = client_ms[client_ms.size() / 2];
  // Promptly: a new client waits in line with the 64 busy ones (fair queueing), not behind the 2,100
  // idle and slow connections. On an idle machine both medians are a few milliseconds; on a shared
  // one they grow together.
  EXPECT_LT(probe_median, std::max(500.0, 3.0 * client_median))
      << "probe median " << probe_median << " ms, load clients' median " << client_median << " ms";
  EXPECT_LT(probe_ms.back(), std::max(5000.0, 10.0 * client_median)) << "slowest probe " << probe_ms.back() << " ms";
  // The server closed the idle and the slowloris connections at its read timeout.
  EXPECT_EQ(idle_closed, kIdleConnections);
  EXPECT_EQ(slow_closed, kSlowloris);
  // RSS: bounded growth over the run (2,000 connections' buffers included), and back near the start.
  EXPECT_LT(peak_rss.load() - rss_start, 96 * 1024 + kRssSlackKb) << "start " << rss_start << " kB, peak " << peak_rss.load();
  EXPECT_LT(rss_end - rss_start, 48 * 1024 + kRssSlackKb) << "start " << rss_start << " kB, end " << rss_end;
  std::cout << "soak: " << ok.load() << " requests in " << kLoadTime.count() << " s, client median " << client_median
            << " ms, probe median " << probe_median << " ms, max " << probe_ms.back() << " ms; RSS start " << rss_start << " kB, peak " << peak_rss.load()
            << " kB, end " << rss_end << " kB\n";
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log().substr(0, 2000);
}

}  // namespace
}  // namespace senti::test
