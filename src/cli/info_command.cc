// senti info: the health check to run first — CPU, ISA features, oneDNN, GPUs.
#include <chrono>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/default_model.h"
#include "senti/classifier.h"
#include "runtime/cpu/gemm_kernels.h"
#include "runtime/cpu/packed_linear.h"
#include "senti/host_info.h"

namespace senti::cli {
namespace {

const char* yes_no(bool v) { return v ? "yes" : "no"; }

// Per precision: which matmul kernels the CPU backend runs on this host.
std::vector<std::pair<std::string, std::string>> matmul_kernels() {
  using cpu::GemmType;
  using cpu::Precision;
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, precision, type] : {std::tuple{"int8", Precision::kInt8, GemmType::kInt8},
                                              std::tuple{"bf16", Precision::kBf16, GemmType::kBf16},
                                              std::tuple{"fp32", Precision::kFp32, GemmType::kFp32}}) {
    const std::string senti = cpu::gemm_kernel_name(type, cpu::gemm_isa(type));
    std::string kernels = "oneDNN";
    const std::size_t rows = cpu::default_senti_max_rows(precision);
    if (cpu::senti_kernel_enabled(precision) && rows == std::numeric_limits<std::size_t>::max())
      kernels = senti + " for every row count";
    else if (cpu::senti_kernel_enabled(precision) && rows > 0)
      kernels = senti + " up to " + std::to_string(rows) + " rows (SENTI_GEMM_ROWS), then oneDNN";
    else if (!cpu::gemm_self_check(type))
      kernels = "oneDNN (" + senti + " failed its self-check)";
    if (precision == Precision::kInt8) {
      // What the quantisation keeps on this host (packed_linear.h, gemm_activation_limit).
      const cpu::GemmIsa isa = cpu::gemm_isa(type);
      const int full = cpu::gemm_activation_limit(isa), fast = cpu::gemm_fast_activation_limit(isa);
      const auto levels = [](int limit) { return limit == 127 ? std::string("8 bits") : "±" + std::to_string(limit) + " levels"; };
      kernels += std::string("; weights ") + (cpu::int8_weight_limit() == 63 ? "7" : "8") + " bits, activations " +
                 levels(fast) + " per token" + (fast != full ? " (" + levels(full) + " after GELU and in the pooler)" : "");
    }
    out.emplace_back(name, kernels);
  }
  return out;
}

nlohmann::json to_json(const HostInfo& info) {
  const CpuFeatures& f = info.features;
  nlohmann::json gpus = nlohmann::json::array();
  for (const auto& g : info.gpus)
    gpus.push_back({{"name", g.name},
                    {"memory_bytes", g.memory_bytes},
                    {"compute_capability", std::to_string(g.compute_major) + "." + std::to_string(g.compute_minor)}});
  nlohmann::json matmul = nlohmann::json::object();
  for (const auto& [precision, kernels] : matmul_kernels()) matmul[precision] = kernels;
  return {{"version", SENTI_VERSION},
          {"cpu", {{"model", info.cpu_model}, {"logical_cores", info.logical_cores}}},
          {"isa",
           {{"avx2", f.avx2},
            {"fma", f.fma},
            {"avx512f", f.avx512f},
            {"avx512bw", f.avx512bw},
            {"avx512_vnni", f.avx512_vnni},
            {"avx512_bf16", f.avx512_bf16},
            {"avx_vnni", f.avx_vnni},
            {"amx_tile", f.amx_tile},
            {"amx_bf16", f.amx_bf16},
            {"amx_int8", f.amx_int8},
            {"os_enables_avx512", f.os_avx512},
            {"os_enables_amx", f.os_amx}}},
          {"onednn", {{"version", info.onednn_version}, {"isa", info.onednn_isa}}},
          {"matmul", matmul},
          {"cuda",
           {{"driver", info.cuda_driver}, {"runtime", info.cuda_runtime}, {"status", info.cuda_status}, {"gpus", gpus}}}};
}

void print_text(const HostInfo& info) {
  const CpuFeatures& f = info.features;
  std::cout << "senti " << SENTI_VERSION << "\n"
            << "CPU            " << info.cpu_model << "\n"
            << "logical cores  " << info.logical_cores << "\n"
            << "AVX2 / FMA     " << yes_no(f.avx2) << " / " << yes_no(f.fma) << "\n"
            << "AVX-512        " << yes_no(f.avx512f) << " (BW " << yes_no(f.avx512bw) << ", VL "
            << yes_no(f.avx512vl) << ")\n"
            << "AVX512-VNNI    " << yes_no(f.avx512_vnni) << "\n"
            << "AVX512-BF16    " << yes_no(f.avx512_bf16) << "\n"
            << "AVX-VNNI       " << yes_no(f.avx_vnni) << "\n"
            << "AMX-BF16       " << yes_no(f.amx_bf16) << "\n"
            << "AMX-INT8       " << yes_no(f.amx_int8) << " (OS enables AMX state: " << yes_no(f.os_amx) << ")\n"
            << "oneDNN         " << info.onednn_version << ", using " << info.onednn_isa << "\n"
            << "CUDA driver    " << info.cuda_driver << "\n"
            << "CUDA runtime   " << info.cuda_runtime << "\n"
            << "CUDA backend   " << info.cuda_status << "\n";
  for (const auto& [precision, kernels] : matmul_kernels())
    std::cout << "matmul " << precision << "    " << kernels << "\n";
  if (info.gpus.empty()) std::cout << "GPUs           none\n";
  for (std::size_t i = 0; i < info.gpus.size(); ++i) {
    const auto& g = info.gpus[i];
    std::cout << "GPU " << i << "          " << g.name << ", " << g.memory_bytes / (1024 * 1024) << " MiB, compute "
              << g.compute_major << "." << g.compute_minor << "\n";
  }
}

struct InfoOptions {
  bool json = false;
  std::string model;  // empty: host only
  std::string precision = "auto";
  std::string device = "cpu";
  int threads = 0;
};

// What a model gets on this host: the precision (and why), the backend, the load time.
nlohmann::json model_report(const InfoOptions& o) {
  const auto path = resolve_model(o.model == "default" ? std::string() : o.model);
  ClassifierOptions options;
  options.precision = o.precision;
  options.device = o.device;
  options.num_threads = o.threads;
  const auto t0 = std::chrono::steady_clock::now();
  Classifier classifier = Classifier::load(path, options);
  const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return {{"path", path.string()},
          {"precision_requested", o.precision},
          {"precision", classifier.precision()},
          {"precision_choice", classifier.precision_choice()},
          {"backend", classifier.backend_name()},
          {"device", classifier.device()},
          {"threads", o.threads},
          {"load_ms", load_ms}};
}

}  // namespace

Action add_info_command(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Report the CPU, its ISA features, oneDNN and any CUDA GPU; with --model, "
                                             "the precision and backend that model gets here, and why");
  cmd->add_flag("--json", o->json, "Print JSON instead of text");
  cmd->add_option("--model", o->model,
                  "Also load this model (folder or compiled file; 'default': the default model) and report the "
                  "precision auto chooses for it on this host, with the measurements behind the choice");
  cmd->add_option("--precision", o->precision, "With --model: fp32, bf16, int8 or auto (default)");
  cmd->add_option("--device", o->device, "With --model: cpu (default), cuda or auto");
  cmd->add_option("--threads", o->threads, "With --model: compute threads (0: all cores)");
  return [o] {
    const HostInfo info = detect_host();
    nlohmann::json model;
    if (!o->model.empty()) model = model_report(*o);
    if (o->json) {
      nlohmann::json j = to_json(info);
      if (!model.is_null()) j["model"] = model;
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    print_text(info);
    if (!model.is_null()) {
      std::cout << "model          " << model["path"].get<std::string>() << "\n"
                << "precision      " << model["precision"].get<std::string>() << " (requested "
                << model["precision_requested"].get<std::string>() << ")\n"
                << "why            " << model["precision_choice"].get<std::string>() << "\n"
                << "backend        " << model["backend"].get<std::string>() << "\n"
                << "load           " << fmt::format("{:.1f} ms", model["load_ms"].get<double>()) << "\n";
    }
    return 0;
  };
}

}  // namespace senti::cli
