// Dynamic batching: requests are tokenized on the network threads and queued here; one engine thread
// owns the model and, whenever it is idle, forms a batch from the waiting items and runs it.
// Two queues: plain predictions (high priority) and the many sequences of analyses (explanations,
// sentences, chunks: low priority). While a high-priority item waits, batches are made of high-priority
// items only (the oldest, then those closest to it in length); with none waiting, a batch takes
// low-priority ones, oldest first, within an eighth of the token budget. So a plain request never waits
// behind more than one short analysis batch, and never shares its batch with analysis work, however
// much analysis is queued.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "senti/classifier.h"
#include "senti/tokenizer.h"

namespace senti::serving {

struct BatchOptions {
  std::size_t max_batch_tokens = 8192;
  std::size_t max_batch_requests = 64;
  // > 0: once an item waits, wait up to this long for more before running a batch that is not full.
  std::chrono::microseconds max_batch_delay{0};
  // A submission that may run inline (submit's allow_inline) and finds the engine idle with nothing
  // queued runs on the submitting thread (see submit). Off only with a batch delay (which asks to
  // wait for company) or when turned off here.
  bool run_inline_when_idle = true;

  // Whether lone items may run inline: asked for, and no batch delay.
  bool inline_when_idle() const { return run_inline_when_idle && max_batch_delay.count() == 0; }
};

// What one queued item gets back (on the engine thread).
struct ItemResult {
  bool ok = false;
  Prediction prediction;
  std::string error;        // when !ok
  double queue_ms = 0;      // enqueue -> batch start
  double inference_ms = 0;  // the batch's model time
  std::size_t batch_size = 0;
};

struct BatchStats {
  std::size_t items = 0;
  std::size_t tokens = 0;
  double inference_ms = 0;
};

using ItemCallback = std::function<void(ItemResult&&)>;

enum class Priority { high, low };
// Runs the model on one batch; returns one prediction per encoding, in order. May throw.
using RunBatch = std::function<std::vector<Prediction>(const std::vector<Encoding>&)>;
using BatchObserver = std::function<void(const BatchStats&)>;

class Batcher {
 public:
  Batcher(BatchOptions options, RunBatch run, BatchObserver observer = {});
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Starts the engine thread. It first runs warm_up (when given; exceptions are ignored) and start
  // returns once that is done: a warm-up there sets up what is per thread (the compute pool, thread
  // caches), so the first request costs what every later one does.
  void start(const std::function<void()>& warm_up = {});
  // Thread-safe. The callback is called exactly once: on the engine thread, or on the calling thread
  // before submit returns (when stopped, or when run inline).
  // allow_inline: a high-priority item that is a request's only one (no company to batch it with)
  // and finds the engine idle and both queues empty runs its batch of one right here, on the calling
  // thread, as the engine thread would have run it alone: two thread hand-offs fewer (the wake-up of
  // the engine thread, then of the network thread for the answer; on a virtual machine each costs
  // tens of microseconds when the other core is idle). Items submitted meanwhile queue and wait for
  // the engine thread as they would wait for any running batch.
  void submit(Encoding encoding, ItemCallback callback, Priority priority = Priority::high, bool allow_inline = false);
  // Runs what is queued, then joins the engine thread. Later submissions fail at once.
  void stop();
  // Fails every queued item at once (error "the server is shutting down"), and every later submission;
  // the batch already running finishes. For a drain past its deadline. Returns how many were dropped.
  std::size_t cancel_queued();

  std::size_t queue_depth() const;  // items waiting, both priorities
  const BatchOptions& options() const { return options_; }

 private:
  struct Item {
    Encoding encoding;
    std::size_t tokens = 0;
    ItemCallback callback;
    std::chrono::steady_clock::time_point enqueued;
  };

  void loop();
  std::vector<Item> take_batch_locked();
  // Moves low-priority items, oldest first, into the batch while the budgets allow.
  void fill_with_low_locked(std::vector<Item>& batch, std::size_t& tokens);
  std::chrono::steady_clock::time_point oldest_enqueued_locked() const;
  void run_batch(std::vector<Item>& batch);

  BatchOptions options_;
  RunBatch run_;
  BatchObserver observer_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;      // high priority
  std::deque<Item> low_queue_;  // low priority
  std::size_t queued_tokens_ = 0;  // both queues
  bool stopping_ = false;
  bool started_ = false;
  bool busy_ = false;  // a batch is running (on the engine thread or inline)
  std::thread thread_;
};

}  // namespace senti::serving
