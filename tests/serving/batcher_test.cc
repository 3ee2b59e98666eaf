// The batcher with a fake model: every result goes back to its own item, budgets hold, no item is lost.
#include "serving/batcher.h"

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace senti::serving {
namespace {

Encoding encoding_of(int id, std::size_t length) {
  Encoding e;
  e.input_ids.assign(length, id);
  e.token_type_ids.assign(length, 0);
  return e;
}

// The fake model answers each encoding with its own first id as label_id and its length as num_tokens.
std::vector<Prediction> echo(const std::vector<Encoding>& batch) {
  std::vector<Prediction> out;
  for (const auto& e : batch) {
    Prediction p;
    p.label_id = static_cast<std::size_t>(e.input_ids.front());
    p.num_tokens = e.input_ids.size();
    out.push_back(p);
  }
  return out;
}

TEST(Batcher, ResultsGoBackToTheirItemsUnderConcurrency) {
  std::mutex mutex;
  std::vector<BatchStats> batches;
  BatchOptions options;
  options.max_batch_tokens = 300;
  options.max_batch_requests = 8;
  Batcher batcher(options, echo, [&](const BatchStats& s) {
    std::lock_guard lock(mutex);
    batches.push_back(s);
  });
  batcher.start();
  constexpr int kThreads = 8, kEach = 200;
  std::atomic<int> right{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<void>> done;
      for (int k = 0; k < kEach; ++k) {
        const int id = t * kEach + k + 1;
        const std::size_t length = static_cast<std::size_t>(1 + (id * 37) % 120);
        auto promise = std::make_shared<std::promise<void>>();
        done.push_back(promise->get_future());
        batcher.submit(encoding_of(id, length), [&, id, length, promise](ItemResult&& r) {
          const bool ok = r.ok && r.prediction.label_id == static_cast<std::size_t>(id) && r.prediction.num_tokens == length;
          ++(ok ? right : wrong);
          promise->set_value();
        });
      }
      for (auto& f : done) f.get();
    });
  }
  for (auto& t : threads) t.join();
  batcher.stop();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(right.load(), kThreads * kEach);
  std::size_t items = 0;
  bool some_batching = false;
  for (const auto& b : batches) {
    items += b.items;
    EXPECT_LE(b.items, 8u);
    if (b.items > 1) {
      EXPECT_LE(b.tokens, 300u);  // only a lone item may exceed the budget
    }
    some_batching = some_batching || b.items > 1;
  }
  EXPECT_EQ(items, static_cast<std::size_t>(kThreads * kEach));
  EXPECT_TRUE(some_batching);
}

TEST(Batcher, GroupsSimilarLengths) {
  // Queue items while the engine is blocked, then look at what it groups.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::mutex mutex;
  std::vector<std::vector<std::size_t>> lengths;
  BatchOptions options;
  options.max_batch_tokens = 1000;
  options.max_batch_requests = 4;
  Batcher batcher(options, [&](const std::vector<Encoding>& batch) {
    released.wait();
    std::vector<std::size_t> l;
    for (const auto& e : batch) l.push_back(e.input_ids.size());
    {
      std::lock_guard lock(mutex);
      lengths.push_back(l);
    }
    return echo(batch);
  });
  batcher.start();
  std::atomic<int> done{0};
  batcher.submit(encoding_of(1, 5), [&](ItemResult&&) { ++done; });  // occupies the engine
  while (batcher.queue_depth() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::size_t queued[] = {10, 200, 11, 201, 12, 202, 13, 203};
  for (const std::size_t l : queued) batcher.submit(encoding_of(2, l), [&](ItemResult&&) { ++done; });
  EXPECT_EQ(batcher.queue_depth(), 8u);
  release.set_value();
  batcher.stop();
  EXPECT_EQ(done.load(), 9);
  ASSERT_EQ(lengths.size(), 3u);
  EXPECT_EQ(lengths[1], (std::vector<std::size_t>{10, 11, 12, 13}));
  EXPECT_EQ(lengths[2], (std::vector<std::size_t>{200, 201, 202, 203}));
}

TEST(Batcher, ModelErrorsReachEveryItem) {
  Batcher batcher(BatchOptions{}, [](const std::vector<Encoding>&) -> std::vector<Prediction> {
    throw std::runtime_error("boom");
  });
  batcher.start();
  std::promise<ItemResult> p;
  batcher.submit(encoding_of(1, 3), [&](ItemResult&& r) { p.set_value(std::move(r)); });
  const ItemResult r = p.get_future().get();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "boom");
}

TEST(Batcher, SubmitAfterStopFailsAtOnce) {
  Batcher batcher(BatchOptions{}, echo);
  batcher.start();
  batcher.stop();
  bool called = false;
  batcher.submit(encoding_of(1, 3), [&](ItemResult&& r) {
    called = true;
    EXPECT_FALSE(r.ok);
  });
  EXPECT_TRUE(called);
}

TEST(Batcher, FullBatchDoesNotWaitForTheDelay) {
  BatchOptions options;
  options.max_batch_delay = std::chrono::seconds(3);
  options.max_batch_requests = 2;
  std::atomic<int> batches{0};
  Batcher batcher(options, [&](const std::vector<Encoding>& b) {
    ++batches;
    return echo(b);
  });
  batcher.start();
  std::promise<void> first, second;
  const auto start = std::chrono::steady_clock::now();
  batcher.submit(encoding_of(1, 3), [&](ItemResult&&) { first.set_value(); });
  batcher.submit(encoding_of(2, 3), [&](ItemResult&&) { second.set_value(); });
  first.get_future().get();
  second.get_future().get();
  // Two items fill the batch: it runs at once, well before the 3 s delay.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2000));
  EXPECT_EQ(batches.load(), 1);
  batcher.stop();
}

}  // namespace
}  // namespace senti::serving

namespace senti::serving {
namespace {

TEST(Batcher, LoneItemWaitsForTheDelay) {
  BatchOptions options;
  options.max_batch_delay = std::chrono::milliseconds(200);
  Batcher batcher(options, echo);
  batcher.start();
  std::promise<void> done;
  const auto start = std::chrono::steady_clock::now();
  batcher.submit(encoding_of(1, 3), [&](ItemResult&&) { done.set_value(); });
  done.get_future().get();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(190));
  batcher.stop();
}

// The warm-up runs on the engine thread, the one that runs every batch, and start() returns once it
// is done (senti serve's first request then finds that thread's set-up made).
TEST(Batcher, WarmUpRunsOnTheEngineThreadBeforeStartReturns) {
  std::thread::id warm_thread, batch_thread;
  Batcher batcher(BatchOptions{}, [&](const std::vector<Encoding>& batch) {
    batch_thread = std::this_thread::get_id();
    return echo(batch);
  });
  bool warmed = false;
  batcher.start([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    warm_thread = std::this_thread::get_id();
    warmed = true;
  });
  EXPECT_TRUE(warmed);
  std::promise<void> done;
  batcher.submit(encoding_of(3, 4), [&](ItemResult&& r) {
    EXPECT_TRUE(r.ok);
    done.set_value();
  });
  done.get_future().wait();
  EXPECT_EQ(warm_thread, batch_thread);
  EXPECT_NE(warm_thread, std::this_thread::get_id());
}

// Analyses queue many low-priority sequences: a plain item queued after them still goes in the first
// batch, alone, and completes before any of them; the low-priority ones follow, oldest first, in
// batches within an eighth of the token budget.
TEST(Batcher, PlainItemGoesBeforeAQueuedAnalysis) {
  std::mutex mutex;
  std::vector<std::vector<int>> batches;  // the ids of every batch
  std::vector<int> completed;             // ids, in the order their callbacks ran
  BatchOptions options;
  options.max_batch_tokens = 1000;
  options.max_batch_requests = 8;
  Batcher batcher(options, [&](const std::vector<Encoding>& batch) {
    std::vector<int> ids;
    for (const auto& e : batch) ids.push_back(e.input_ids.front());
    {
      std::lock_guard lock(mutex);
      batches.push_back(ids);
    }
    return echo(batch);
  });
  auto record = [&](int id) {
    return [&, id](ItemResult&& r) {
      EXPECT_TRUE(r.ok);
      EXPECT_EQ(r.prediction.label_id, static_cast<std::size_t>(id));
      std::lock_guard lock(mutex);
      completed.push_back(id);
    };
  };
  // Queued before the engine starts, so the first batch sees all of them.
  for (int id = 1; id <= 100; ++id) batcher.submit(encoding_of(id, 10), record(id), Priority::low);
  batcher.submit(encoding_of(1000, 10), record(1000));
  EXPECT_EQ(batcher.queue_depth(), 101u);
  batcher.start();
  batcher.stop();
  ASSERT_EQ(completed.size(), 101u);
  EXPECT_EQ(completed.front(), 1000);
  ASSERT_FALSE(batches.empty());
  EXPECT_EQ(batches.front(), (std::vector<int>{1000}));
  std::vector<int> low_order;
  for (const auto& b : batches) {
    EXPECT_LE(b.size(), 8u);
    EXPECT_LE(b.size() * 10, 1000u / 8);
    for (const int id : b)
      if (id != 1000) low_order.push_back(id);
  }
  std::vector<int> expected(100);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(low_order, expected);  // oldest first
}

// While a batch of analysis sequences runs, a plain item arrives: the very next batch is it alone, ahead
// of the analysis sequences still queued.
TEST(Batcher, PlainItemWaitsOnlyForTheRunningBatch) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> first_started;
  std::mutex mutex;
  std::vector<std::vector<int>> batches;
  BatchOptions options;
  options.max_batch_tokens = 100;
  options.max_batch_requests = 4;
  Batcher batcher(options, [&](const std::vector<Encoding>& batch) {
    std::vector<int> ids;
    for (const auto& e : batch) ids.push_back(e.input_ids.front());
    bool first = false;
    {
      std::lock_guard lock(mutex);
      batches.push_back(ids);
      first = batches.size() == 1;
    }
    if (first) {
      first_started.set_value();
      released.wait();
    }
    return echo(batch);
  });
  batcher.start();
  for (int id = 1; id <= 40; ++id) batcher.submit(encoding_of(id, 20), [](ItemResult&&) {}, Priority::low);
  first_started.get_future().wait();  // the engine runs the first batch of analysis sequences
  batcher.submit(encoding_of(500, 20), [](ItemResult&&) {});
  release.set_value();
  batcher.stop();
  ASSERT_GE(batches.size(), 2u);
  EXPECT_EQ(batches[0].size(), 1u);  // 20 tokens, over the low-priority budget of 100 / 8: alone
  EXPECT_EQ(batches[1], std::vector<int>{500});
  std::size_t items = 0;
  for (const auto& b : batches) items += b.size();
  EXPECT_EQ(items, 41u);
}

// Low-priority batches keep their budget, an eighth of max_batch_tokens (here 100 tokens), never mix
// with plain items, and the oldest item that does not fit ends the batch (no later, shorter one jumps
// ahead of it).
TEST(Batcher, LowPriorityBatchesKeepTheirBudget) {
  std::vector<std::vector<std::size_t>> lengths;
  BatchOptions options;
  options.max_batch_tokens = 800;
  options.max_batch_requests = 64;
  Batcher batcher(options, [&](const std::vector<Encoding>& batch) {
    std::vector<std::size_t> l;
    for (const auto& e : batch) l.push_back(e.input_ids.size());
    lengths.push_back(l);  // only the engine thread writes; stop() joins it
    return echo(batch);
  });
  std::atomic<int> done{0};
  auto count = [&](ItemResult&&) { ++done; };
  batcher.submit(encoding_of(1, 30), count, Priority::low);
  batcher.submit(encoding_of(2, 50), count, Priority::low);
  batcher.submit(encoding_of(3, 25), count, Priority::low);
  batcher.submit(encoding_of(4, 60), count);
  batcher.submit(encoding_of(5, 5), count, Priority::low);
  batcher.submit(encoding_of(6, 150), count, Priority::low);  // over the budget: runs alone
  batcher.start();
  batcher.stop();
  EXPECT_EQ(done.load(), 6);
  ASSERT_EQ(lengths.size(), 4u);
  EXPECT_EQ(lengths[0], (std::vector<std::size_t>{60}));      // the plain item first, alone
  EXPECT_EQ(lengths[1], (std::vector<std::size_t>{30, 50}));  // 25 does not fit; 5 waits behind it
  EXPECT_EQ(lengths[2], (std::vector<std::size_t>{25, 5}));
  EXPECT_EQ(lengths[3], (std::vector<std::size_t>{150}));
}

// Stopping and cancelling fail the queued items of both priorities, each callback once.
TEST(Batcher, CancelReachesBothQueues) {
  Batcher batcher(BatchOptions{}, echo);
  std::atomic<int> failed{0};
  auto fail = [&](ItemResult&& r) {
    if (!r.ok) ++failed;
  };
  batcher.submit(encoding_of(1, 3), fail);
  batcher.submit(encoding_of(2, 3), fail, Priority::low);
  batcher.submit(encoding_of(3, 3), fail, Priority::low);
  EXPECT_EQ(batcher.cancel_queued(), 3u);
  EXPECT_EQ(failed.load(), 3);
  EXPECT_EQ(batcher.queue_depth(), 0u);
}

// An item that may run inline and finds the engine idle runs on the submitting thread, before submit
// returns; one that may not (or a low-priority one) goes to the engine thread.
TEST(Batcher, IdleEngineRunsAnInlineItemOnTheCallingThread) {
  std::mutex mutex;
  std::vector<std::thread::id> ran_on;
  Batcher batcher(BatchOptions{}, [&](const std::vector<Encoding>& batch) {
    std::lock_guard lock(mutex);
    ran_on.push_back(std::this_thread::get_id());
    return echo(batch);
  });
  batcher.start();
  const auto caller = std::this_thread::get_id();
  bool answered = false;
  batcher.submit(
      encoding_of(7, 5),
      [&](ItemResult&& r) {
        answered = r.ok && r.prediction.label_id == 7u && r.batch_size == 1u;
        EXPECT_EQ(std::this_thread::get_id(), caller);
      },
      Priority::high, true);
  EXPECT_TRUE(answered);  // before submit returned
  std::promise<std::thread::id> engine;
  batcher.submit(encoding_of(8, 5), [&](ItemResult&&) { engine.set_value(std::this_thread::get_id()); });
  EXPECT_NE(engine.get_future().get(), caller);
  std::promise<std::thread::id> low;
  batcher.submit(encoding_of(9, 5), [&](ItemResult&&) { low.set_value(std::this_thread::get_id()); }, Priority::low,
                 true);
  EXPECT_NE(low.get_future().get(), caller);
  batcher.stop();
  ASSERT_EQ(ran_on.size(), 3u);
  EXPECT_EQ(ran_on[0], caller);
}

// While an inline batch runs, other submissions queue (also those allowed inline: the engine is busy)
// and the engine thread runs them after it, one batch at a time: the model never runs twice at once.
TEST(Batcher, ItemsSubmittedDuringAnInlineRunWaitForIt) {
  std::promise<void> release, inline_started;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> running{0}, overlaps{0};
  std::mutex mutex;
  std::vector<std::vector<int>> batches;
  Batcher batcher(BatchOptions{}, [&](const std::vector<Encoding>& batch) {
    if (running.fetch_add(1) != 0) ++overlaps;
    std::vector<int> ids;
    for (const auto& e : batch) ids.push_back(e.input_ids.front());
    {
      std::lock_guard lock(mutex);
      batches.push_back(ids);
    }
    if (ids.front() == 1) {
      inline_started.set_value();
      released.wait();
    }
    running.fetch_sub(1);
    return echo(batch);
  });
  batcher.start();
  std::thread first([&] { batcher.submit(encoding_of(1, 5), [](ItemResult&&) {}, Priority::high, true); });
  inline_started.get_future().wait();
  std::atomic<int> answered{0};
  for (int id = 2; id <= 4; ++id)
    batcher.submit(encoding_of(id, 5), [&](ItemResult&& r) { answered += r.ok ? 1 : 0; }, Priority::high, true);
  EXPECT_EQ(batcher.queue_depth(), 3u);  // none ran while the inline batch holds the engine
  release.set_value();
  first.join();
  batcher.stop();
  EXPECT_EQ(answered.load(), 3);
  EXPECT_EQ(overlaps.load(), 0);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0], std::vector<int>{1});
  EXPECT_EQ(batches[1], (std::vector<int>{2, 3, 4}));  // batched together by the engine thread
}

// With a batch delay (the operator asked items to wait for company) nothing runs inline.
TEST(Batcher, BatchDelayTurnsInlineRunsOff) {
  BatchOptions options;
  options.max_batch_delay = std::chrono::microseconds(1000);
  Batcher batcher(options, echo);
  batcher.start();
  std::promise<std::thread::id> ran;
  batcher.submit(encoding_of(1, 5), [&](ItemResult&&) { ran.set_value(std::this_thread::get_id()); }, Priority::high,
                 true);
  EXPECT_NE(ran.get_future().get(), std::this_thread::get_id());
  batcher.stop();
}

}  // namespace
}  // namespace senti::serving
