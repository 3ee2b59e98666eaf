#include "serving/batcher.h"

#include <algorithm>
#include <exception>
#include <future>
#include <numeric>
#include <utility>

namespace senti::serving {

namespace {
double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
}  // namespace

Batcher::Batcher(BatchOptions options, RunBatch run, BatchObserver observer)
    : options_(options), run_(std::move(run)), observer_(std::move(observer)) {
  options_.max_batch_tokens = std::max<std::size_t>(options_.max_batch_tokens, 1);
  options_.max_batch_requests = std::max<std::size_t>(options_.max_batch_requests, 1);
}

Batcher::~Batcher() { stop(); }

void Batcher::start(const std::function<void()>& warm_up) {
  std::promise<void> warmed;
  std::future<void> done = warmed.get_future();
  {
    std::lock_guard lock(mutex_);
    if (started_ || stopping_) return;
    started_ = true;
    thread_ = std::thread([this, &warm_up, &warmed] {
      if (warm_up) {
        try {
          warm_up();
        } catch (...) {
        }
      }
      warmed.set_value();  // warm_up and warmed are start()'s: not touched after this
      loop();
    });
  }
  done.wait();
}

void Batcher::submit(Encoding encoding, ItemCallback callback, Priority priority, bool allow_inline) {
  Item item;
  item.tokens = std::max<std::size_t>(encoding.input_ids.size(), 1);
  item.encoding = std::move(encoding);
  item.enqueued = std::chrono::steady_clock::now();
  item.callback = std::move(callback);
  bool run_here = false;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      run_here = allow_inline && priority == Priority::high && options_.inline_when_idle() && started_ && !busy_ &&
                 queue_.empty() && low_queue_.empty();
      if (!run_here) {
        queued_tokens_ += item.tokens;
        (priority == Priority::high ? queue_ : low_queue_).push_back(std::move(item));
        cv_.notify_one();
        return;
      }
      busy_ = true;  // the engine thread takes no batch until this one is done
    }
  }
  if (run_here) {
    std::vector<Item> batch;
    batch.push_back(std::move(item));
    run_batch(batch);
    bool waiting = false;
    {
      std::lock_guard lock(mutex_);
      busy_ = false;
      waiting = !queue_.empty() || !low_queue_.empty() || stopping_;
    }
    if (waiting) cv_.notify_all();
    return;
  }
  ItemResult result;
  result.error = "the server is shutting down";
  item.callback(std::move(result));
}

void Batcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !busy_; });  // a batch running inline on another thread
  }
  // Never started: fail what is queued so every callback still runs once.
  std::deque<Item> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
    for (auto& item : low_queue_) left.push_back(std::move(item));
    low_queue_.clear();
    queued_tokens_ = 0;
  }
  for (auto& item : left) {
    ItemResult result;
    result.error = "the server is shutting down";
    item.callback(std::move(result));
  }
}

std::size_t Batcher::cancel_queued() {
  std::deque<Item> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
    for (auto& item : low_queue_) dropped.push_back(std::move(item));
    low_queue_.clear();
    queued_tokens_ = 0;
  }
  cv_.notify_all();
  for (auto& item : dropped) {
    ItemResult result;
    result.error = "the server is shutting down";
    try {
      item.callback(std::move(result));
    } catch (...) {
    }
  }
  return dropped.size();
}

std::size_t Batcher::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size() + low_queue_.size();
}

// High priority: the oldest item always goes first (no starvation among them); the rest of the batch is
// filled with the waiting items closest to it in length, as long as the token and item budgets allow.
// One item longer than the token budget still runs, alone. What the budgets leave is filled with
// low-priority items (see fill_with_low_locked).
std::vector<Batcher::Item> Batcher::take_batch_locked() {
  std::vector<Item> batch;
  std::size_t tokens = 0;
  if (queue_.empty()) {
    fill_with_low_locked(batch, tokens);
    return batch;
  }
  const std::size_t anchor = queue_.front().tokens;
  tokens = anchor;
  std::vector<std::size_t> order(queue_.size() - 1);
  std::iota(order.begin(), order.end(), std::size_t{1});
  auto distance = [&](std::size_t i) {
    const std::size_t t = queue_[i].tokens;
    return t > anchor ? t - anchor : anchor - t;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return distance(a) < distance(b); });
  std::vector<bool> taken(queue_.size(), false);
  taken[0] = true;
  std::size_t count = 1;
  for (const std::size_t i : order) {
    if (count >= options_.max_batch_requests) break;
    if (tokens + queue_[i].tokens > options_.max_batch_tokens) continue;
    tokens += queue_[i].tokens;
    taken[i] = true;
    ++count;
  }
  std::deque<Item> rest;
  batch.reserve(count);
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    if (taken[i]) {
      queued_tokens_ -= queue_[i].tokens;
      batch.push_back(std::move(queue_[i]));
    } else {
      rest.push_back(std::move(queue_[i]));
    }
  }
  queue_.swap(rest);
  return batch;
}

// Low priority: oldest first (one analysis's sequences are queued together, so analyses finish in the
// order they came), up to the first item that does not fit, so that forming a batch costs no more than
// its size however many are queued. The token budget is an eighth of a plain batch's: a plain request
// that arrives meanwhile waits for one such short batch at most. An empty batch takes its first item
// whatever its length.
void Batcher::fill_with_low_locked(std::vector<Item>& batch, std::size_t& tokens) {
  const std::size_t budget = std::max<std::size_t>(1, options_.max_batch_tokens / 8);
  while (!low_queue_.empty() && batch.size() < options_.max_batch_requests) {
    Item& next = low_queue_.front();
    if (!batch.empty() && tokens + next.tokens > budget) break;
    tokens += next.tokens;
    queued_tokens_ -= next.tokens;
    batch.push_back(std::move(next));
    low_queue_.pop_front();
  }
}

std::chrono::steady_clock::time_point Batcher::oldest_enqueued_locked() const {
  if (queue_.empty()) return low_queue_.front().enqueued;
  if (low_queue_.empty()) return queue_.front().enqueued;
  return std::min(queue_.front().enqueued, low_queue_.front().enqueued);
}

void Batcher::loop() {
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock lock(mutex_);
      // busy_: a batch runs inline on a submitting thread; the queue waits for it.
      cv_.wait(lock, [&] { return !busy_ && (stopping_ || !queue_.empty() || !low_queue_.empty()); });
      if (queue_.empty() && low_queue_.empty()) return;  // stopping and drained
      if (options_.max_batch_delay.count() > 0 && !stopping_) {
        const auto deadline = oldest_enqueued_locked() + options_.max_batch_delay;
        cv_.wait_until(lock, deadline, [&] {
          return stopping_ || queued_tokens_ >= options_.max_batch_tokens ||
                 queue_.size() + low_queue_.size() >= options_.max_batch_requests;
        });
      }
      batch = take_batch_locked();
      busy_ = true;
    }
    run_batch(batch);
    std::lock_guard lock(mutex_);
    busy_ = false;
  }
}

void Batcher::run_batch(std::vector<Item>& batch) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<Encoding> encodings;
  encodings.reserve(batch.size());
  std::size_t tokens = 0;
  for (auto& item : batch) {
    tokens += item.tokens;
    encodings.push_back(std::move(item.encoding));
  }
  std::vector<Prediction> predictions;
  std::string error;
  try {
    predictions = run_(encodings);
    if (predictions.size() != batch.size()) error = "the model returned a wrong number of results";
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown inference error";
  }
  const auto end = std::chrono::steady_clock::now();
  const double inference_ms = ms_between(start, end);
  if (observer_) {
    try {
      observer_(BatchStats{batch.size(), tokens, inference_ms});
    } catch (...) {
    }
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    ItemResult result;
    result.queue_ms = ms_between(batch[i].enqueued, start);
    result.inference_ms = inference_ms;
    result.batch_size = batch.size();
    if (error.empty()) {
      result.ok = true;
      result.prediction = std::move(predictions[i]);
    } else {
      result.error = error;
    }
    try {
      batch[i].callback(std::move(result));
    } catch (...) {
    }
  }
}

}  // namespace senti::serving
