#include "runtime/auto_precision.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

#include <malloc.h>
#include <omp.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include "runtime/cpu/precision.h"
#include "runtime/cpu/softmax.h"
#include "senti/checkpoint.h"
#include "senti/host_info.h"

namespace senti {
namespace {

template <typename... Args>
std::string format(const char* pattern, Args... args) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, args...);
  return buffer;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

std::uint64_t fnv1a(std::uint64_t h, const std::string& s) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return (h ^ 0xff) * 1099511628211ull;  // a separator, so "ab"+"c" and "a"+"bc" differ
}

// Everything the choice depends on: the weights file (path, size, modification time), the host, the
// thread count, the kernel switches and this build.
std::string cache_key(const Checkpoint& checkpoint, std::size_t max_length, int threads, double tolerance) {
  std::uint64_t h = 14695981039346656037ull;
  std::error_code ec;
  const std::filesystem::path file = std::filesystem::weakly_canonical(checkpoint.directory() / checkpoint.weights_file(), ec);
  h = fnv1a(h, file.string());
  h = fnv1a(h, std::to_string(std::filesystem::file_size(file, ec)));
  h = fnv1a(h, std::to_string(std::filesystem::last_write_time(file, ec).time_since_epoch().count()));
  // Not detect_host(): that loads the CUDA plugin (and its libraries) into a CPU-only process.
  const CpuFeatures f = detect_cpu_features();
  h = fnv1a(h, detect_cpu_model() + "/" + std::to_string(std::thread::hardware_concurrency()));
  for (bool flag : {f.avx2, f.fma, f.avx512f, f.avx512bw, f.avx512vl, f.avx512_vnni, f.avx512_bf16, f.avx_vnni,
                    f.amx_bf16, f.amx_int8, f.os_avx512, f.os_amx})
    h = fnv1a(h, flag ? "1" : "0");
  h = fnv1a(h, format("%d/%zu/%g", threads, max_length, tolerance));
  for (const char* name : {"SENTI_MAX_ISA", "SENTI_GEMM", "SENTI_GEMM_ROWS", "SENTI_GEMM_PREFETCH", "SENTI_ATTENTION"})
    h = fnv1a(h, env(name) ? env(name) : "-");
#ifdef SENTI_BUILD_ID
  h = fnv1a(h, SENTI_BUILD_ID);
#endif
  return format("%016llx", static_cast<unsigned long long>(h));
}

std::vector<float> softmax_rows(const std::vector<float>& logits, std::size_t labels) {
  std::vector<float> p(logits.size());
  for (std::size_t r = 0; r * labels < logits.size(); ++r)
    cpu::softmax(logits.data() + r * labels, labels, p.data() + r * labels);
  return p;
}

PackedBatch pack(const std::vector<Encoding>& encodings) {
  PackedBatch batch;
  for (const Encoding& e : encodings) batch.append(e.input_ids, e.token_type_ids);
  return batch;
}

struct Candidate {
  cpu::Precision precision;
  std::unique_ptr<Backend> backend;
  std::vector<float> probabilities;  // calibration texts x labels
  double max_diff = 0;               // vs fp32
  std::vector<double> seconds;       // one per round: batch-1 short + long
  double median = 0;
};

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double time_forward(Backend& backend, const PackedBatch& batch, std::vector<float>& logits) {
  const auto t0 = std::chrono::steady_clock::now();
  backend.forward(batch, logits.data());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::optional<nlohmann::json> read_cache(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    if (j.at("precision").is_string() && j.at("reason").is_string()) return j;
  } catch (const std::exception&) {
  }
  return std::nullopt;  // unreadable or not ours: measured again and rewritten
}

void write_cache(const std::filesystem::path& path, const nlohmann::json& j) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  const std::filesystem::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp);
    if (!out) return;  // a read-only home: no cache, the choice is measured at every load
    out << j.dump(1) << "\n";
    if (!out) return;
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

// Empties oneDNN's primitive cache (the JIT code of a dropped candidate's shapes).
void forget_cached_primitives() {
  const int capacity = dnnl::get_primitive_cache_capacity();
  dnnl::set_primitive_cache_capacity(0);
  dnnl::set_primitive_cache_capacity(capacity);
}

std::string ms(double seconds) { return format("%.3f ms", seconds * 1e3); }

}  // namespace

AutoPrecisionSettings auto_precision_settings_from_env() {
  AutoPrecisionSettings s;
  if (const char* t = env("SENTI_AUTO_PRECISION_TOLERANCE")) s.tolerance = std::strtod(t, nullptr);
  if (const char* mode = env("SENTI_AUTO_PRECISION")) {
    s.use_cache = std::string(mode) != "measure";
    s.measure = std::string(mode) != "rule";
  }
  if (const char* dir = env("SENTI_CACHE_DIR"))
    s.cache_dir = dir;
  else if (const char* xdg = env("XDG_CACHE_HOME"))
    s.cache_dir = std::filesystem::path(xdg) / "senti";
  else if (const char* home = env("HOME"))
    s.cache_dir = std::filesystem::path(home) / ".cache" / "senti";
  return s;
}

const std::vector<std::string>& calibration_texts() {
  static const std::vector<std::string> texts = {
      "这家餐厅的菜很好吃，服务也很周到，下次还来！",
      "质量太差了，用了两天就坏了，客服也不理人。",
      "物流很快，包装完好，和描述的一样。",
      "价格不便宜但是很好吃",
      "不难吃，但也说不上好吃，一般般吧。",
      "冰咖啡忘记带吸管了，不过味道还可以",
      "房间很小，隔音很差，晚上根本睡不着，再也不会住了。",
      "卖家服务态度很好，耐心解答我的问题。",
      "电影前半段有点拖沓，后半段反转很精彩，演员演技在线。",
      "屏幕显示效果一流，电池续航却只有半天，充电还很慢，有点失望。",
      "飞一般的速度",
      "差评！",
      "还行",
      "The battery lasts 2 days, 非常满意 5 stars!",
      "送餐小哥迟到了40分钟，饭菜都凉了，打电话也不接，这次体验真的很糟糕，希望商家和平台能重视一下。",
      "第一次在这家店买衣服，面料舒服，尺码标准，颜色也和图片一致，性价比很高，已经推荐给朋友了。",
      "酒店位置很好，离地铁站只有五分钟，早餐种类丰富，前台小姐姐很热情，唯一的缺点是停车位太少。",
      "手机用了一个月，拍照清晰，系统流畅，但是发热比较严重，玩游戏的时候尤其明显。",
      "这本书写得很一般，情节老套，人物单薄，看到一半就放弃了。",
      "客服说七天无理由退货，结果寄回去以后一直不给退款，已经投诉了。",
      "今天天气不错，心情也跟着好起来了😊",
      "什么破玩意儿，垃圾",
      "宝贝收到了，孩子很喜欢，谢谢老板送的小礼物。",
      "等了一个小时才上菜，味道还不错，就是太慢了。",
  };
  return texts;
}

PrecisionChoice choose_cpu_precision(const Checkpoint& checkpoint, const BertTokenizer& tokenizer,
                                     std::size_t max_length, const BackendOptions& options,
                                     const AutoPrecisionSettings& settings) {
  const CpuFeatures features = detect_cpu_features();
  std::vector<cpu::Precision> order;  // most precise first
  for (cpu::Precision p : {cpu::Precision::kFp32, cpu::Precision::kBf16, cpu::Precision::kInt8})
    if (cpu::host_supports(p, features)) order.push_back(p);
  auto build = [&](cpu::Precision p) {
    BackendOptions o = options;
    o.precision = cpu::precision_name(p);
    return make_cpu_backend(checkpoint, o);
  };

  std::filesystem::path cache_file;
  if (!settings.cache_dir.empty())
    cache_file = settings.cache_dir /
                 ("auto-precision-" + cache_key(checkpoint, max_length, options.num_threads, settings.tolerance) + ".json");
  if (settings.use_cache && !cache_file.empty()) {
    if (auto cached = read_cache(cache_file)) {
      const std::string name = (*cached)["precision"];
      for (cpu::Precision p : order) {
        if (name != cpu::precision_name(p)) continue;
        return {build(p), name, std::string((*cached)["reason"]) + " [cached in " + cache_file.string() + "]", true};
      }
    }
  }

  // Calibration inputs: every text, and two batch-1 timing probes (one short review, one long text).
  const std::size_t cap = std::min<std::size_t>(max_length, 128);
  std::vector<Encoding> encodings;
  for (const std::string& text : calibration_texts()) encodings.push_back(tokenizer.encode(text, std::nullopt, cap));
  std::string joined;
  for (std::size_t i = 14; i < 18; ++i) joined += calibration_texts()[i];
  const PackedBatch all = pack(encodings);
  const PackedBatch short_probe = pack({encodings[0]});
  const PackedBatch long_probe = pack({tokenizer.encode(joined, std::nullopt, std::min<std::size_t>(cap, 96))});
  const std::size_t labels = checkpoint.config().num_labels();
  std::vector<float> logits(encodings.size() * labels);

  // One candidate alive at a time (the process's peak memory is one model, not all of them): built,
  // checked against fp32 on every calibration text, warmed up, timed over rounds, then dropped with the
  // primitives oneDNN cached for it. About 0.15 s of timing per candidate for a big model, fewer rounds
  // when one is slow. The winner is built again at the end, into memory handed
  // back: kept from its measurement, it sat among the others' freed pages and a serve of the default
  // model stayed at 72 MB resident instead of the 54 MB of a plain int8 load.
  std::vector<Candidate> candidates;
  std::vector<float> reference;
  std::string failed;  // reduced precisions that could not be built here, and why
  for (std::size_t k = 0; k < order.size(); ++k) {
    Candidate c{order[k], nullptr, {}, 0, {}, 0};
    try {
      c.backend = build(order[k]);
    } catch (const std::exception& e) {
      if (k == 0) throw;  // fp32: nothing to choose from
      failed += std::string(" ") + cpu::precision_name(order[k]) + " could not be built (" + e.what() + ");";
      continue;
    }
    c.backend->forward(all, logits.data());
    c.probabilities = softmax_rows(logits, labels);
    if (reference.empty()) reference = c.probabilities;
    for (std::size_t i = 0; i < reference.size(); ++i)
      c.max_diff = std::max(c.max_diff, static_cast<double>(std::fabs(c.probabilities[i] - reference[i])));
    for (int warm = 0; warm < 2; ++warm) {  // first calls set up primitives and caches
      time_forward(*c.backend, short_probe, logits);
      time_forward(*c.backend, long_probe, logits);
    }
    const double one_round = time_forward(*c.backend, short_probe, logits) + time_forward(*c.backend, long_probe, logits);
    const int rounds = std::clamp(static_cast<int>(0.15 / std::max(one_round, 1e-6)), 7, 41);
    for (int r = 0; r < rounds; ++r)
      c.seconds.push_back(time_forward(*c.backend, short_probe, logits) + time_forward(*c.backend, long_probe, logits));
    c.median = median_of(c.seconds);
    c.backend.reset();
    forget_cached_primitives();
    candidates.push_back(std::move(c));
  }

  // The fastest accurate one; then the most precise accurate one within min_speedup of it.
  std::size_t fastest = 0;
  for (std::size_t k = 1; k < candidates.size(); ++k)
    if (candidates[k].max_diff <= settings.tolerance && candidates[k].median < candidates[fastest].median) fastest = k;
  std::size_t chosen = fastest;
  for (std::size_t k = 0; k < fastest; ++k)
    if (candidates[k].max_diff <= settings.tolerance &&
        candidates[k].median <= candidates[fastest].median * settings.min_speedup) {
      chosen = k;
      break;
    }

  const Candidate& win = candidates[chosen];
  std::ostringstream why;
  const int threads = options.num_threads > 0 ? options.num_threads : omp_get_max_threads();
  why << "auto chose " << cpu::precision_name(win.precision) << " (measured at load, " << threads
      << (threads == 1 ? " thread" : " threads") << "; batch-1 time of a " << short_probe.num_tokens() << "- and a "
      << long_probe.num_tokens() << "-token text, median over rounds:";
  for (const Candidate& c : candidates) {
    why << " " << cpu::precision_name(c.precision) << " " << ms(c.median);
    if (c.precision != cpu::Precision::kFp32)
      why << " (scores within " << format("%.4f", c.max_diff) << " of fp32"
          << (c.max_diff > settings.tolerance ? ", over the tolerance: not accurate enough" : "") << ")";
    why << ";";
  }
  for (cpu::Precision p : {cpu::Precision::kBf16, cpu::Precision::kInt8})
    if (std::find(order.begin(), order.end(), p) == order.end())
      why << " " << cpu::precision_name(p) << " not run by this CPU;";
  why << failed;
  why << " tolerance " << settings.tolerance << " on " << encodings.size() << " calibration texts; a lower precision "
      << "must be " << format("%.0f", (settings.min_speedup - 1) * 100) << "% faster)";
  const cpu::Precision winner = win.precision;
#ifdef __GLIBC__
  malloc_trim(0);  // glibc keeps freed heap pages: the dropped candidates' weights
#endif
  PrecisionChoice choice{build(winner), cpu::precision_name(winner), why.str(), false};
  if (!cache_file.empty())
    write_cache(cache_file, {{"precision", choice.precision}, {"reason", choice.reason},
                             {"weights", (checkpoint.directory() / checkpoint.weights_file()).string()}});
  return choice;
}

}  // namespace senti
