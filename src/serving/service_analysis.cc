// Service::analyze: the analysis requests of every API ("why and where", analysis_answers.h). Each text is
// planned here on the network thread (AnalysisPlan: tokenization and every sequence its analysis needs);
// the sequences of all texts go through the batcher at low priority; once all are back the plans finish
// the analyses and the API renders them. Limits: --max-analysis-tokens per request (422), and
// Service::kAnalysisInFlightFactor times that over all requests in flight (429).
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "senti/analysis.h"
#include "senti/error.h"
#include "serving/analysis_answers.h"
#include "serving/service.h"
#include "serving/service_detail.h"

namespace senti::serving {

using namespace detail;  // NOLINT: this file implements Service with its helpers

// A named namespace, not an anonymous one: in a unity build gcc warns of a lambda's capture whose type has
// internal linkage (-Wsubobject-linkage).
namespace service_analysis_detail {

// The plans of one request, alive until its answer is rendered, and its share of the analysis work in
// flight, given back when the last reference goes.
struct AnalysisWork {
  std::vector<AnalysisPlan> plans;
  std::atomic<std::size_t>* in_flight = nullptr;
  std::size_t reserved = 0;

  AnalysisWork() = default;
  AnalysisWork(const AnalysisWork&) = delete;
  AnalysisWork& operator=(const AnalysisWork&) = delete;
  ~AnalysisWork() { release(); }
  // Gives the share back once (the model work is done): when the analyses are finished, before the
  // answer is written, so that a client that has its answer finds the share free (the last copy of
  // the completion, which holds this, may be destroyed only after the answer was sent).
  void release() {
    if (in_flight != nullptr) in_flight->fetch_sub(reserved);
    in_flight = nullptr;
  }
};

}  // namespace service_analysis_detail

void Service::analyze(const std::shared_ptr<Call>& call, std::vector<TextInput> inputs, bool truncate,
                      const AnalysisRequest& request, AnalysisRender render) {
  using service_analysis_detail::AnalysisWork;
  const std::size_t n = inputs.size();
  const std::size_t characters = check_texts(inputs);
  for (std::size_t i = 0; i < n; ++i)
    if (inputs[i].pair)
      reject(422, "explain, granularity and long_text analyse single texts, not text pairs" + where_of(n, i));
  if (!admit(call)) return;

  const auto plan_start = Clock::now();
  const std::size_t limit = settings_.max_analysis_tokens;
  AnalysisOptions options = request.options;
  options.max_work_tokens = limit;
  auto work = std::make_shared<AnalysisWork>();
  work->plans.reserve(n);
  std::size_t total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    // "truncate": false refuses a text over the model maximum, unless long_text=chunk reads all of it.
    if (!truncate && options.long_text == LongText::truncate) encode_input(inputs[i], false, i, n);
    try {
      work->plans.emplace_back(classifier_, std::move(inputs[i].text), options);
    } catch (const EmptyTextError&) {
      reject(422, "the text is empty" + where_of(n, i) + " (no tokens after text cleaning)");
    } catch (const AnalysisTooLargeError& e) {
      reject(422, e.what() + where_of(n, i));
    }
    total += work->plans.back().work_tokens();
    if (limit != 0 && total > limit)
      reject(422, "the analyses of this request need more than " + std::to_string(limit) +
                      " tokens of model work, the limit (--max-analysis-tokens): send fewer or shorter texts, or "
                      "ask for less (explain, granularity=sentence and long_text=chunk each add work)");
  }
  if (limit != 0) {
    const std::size_t cap = limit * kAnalysisInFlightFactor;
    const std::size_t before = analysis_tokens_in_flight_.fetch_add(total);
    work->in_flight = &analysis_tokens_in_flight_;
    work->reserved = total;
    if (before + total > cap)
      throw RequestError{429,
                         "too much analysis work in flight: " + std::to_string(before) + " tokens queued or running, " +
                             std::to_string(total) + " more would pass " + std::to_string(cap) + " (" +
                             std::to_string(kAnalysisInFlightFactor) + " x --max-analysis-tokens); retry later",
                         "overloaded"};
  }
  std::vector<Encoding> encodings;
  for (const AnalysisPlan& plan : work->plans)
    encodings.insert(encodings.end(), plan.encodings().begin(), plan.encodings().end());

  Timing timing;
  timing.tokenization_ms = ms_since(plan_start);
  timing.characters = characters;
  metrics_.observe_tokenization(timing.tokenization_ms / 1000.0);
  metrics_.observe_texts(n);
  run(call, std::move(encodings), Priority::low, timing,
      [work, render = std::move(render)](const std::vector<Prediction>& predictions, const Timing& t) {
        std::vector<Analysis> analyses;
        analyses.reserve(work->plans.size());
        std::size_t next = 0;
        for (const AnalysisPlan& plan : work->plans) {
          const std::size_t k = plan.encodings().size();
          if (next + k > predictions.size()) throw std::runtime_error("fewer predictions than sequences");
          const auto from = predictions.begin() + static_cast<std::ptrdiff_t>(next);
          analyses.push_back(plan.finish(std::vector<Prediction>(from, from + static_cast<std::ptrdiff_t>(k))));
          next += k;
        }
        work->release();
        return render(analyses, t);
      });
}

}  // namespace senti::serving
