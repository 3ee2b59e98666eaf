// Each CUDA kernel against a plain CPU reference (double accumulation) on random data, in every
// compute type. Skips without a usable GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "cuda/gpu_test_util.h"
#include "runtime/cuda/batch_plan.h"
#include "runtime/cuda/cublaslt_linear.h"

namespace senti::cuda {
namespace {

using test::to_device;
using test::to_host;

std::vector<float> random_vector(std::size_t n, float scale, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

void reference_layer_norm(const float* x, std::size_t width, const float* gamma, const float* beta, float eps,
                          float* out) {
  double mean = 0;
  for (std::size_t c = 0; c < width; ++c) mean += x[c];
  mean /= static_cast<double>(width);
  double var = 0;
  for (std::size_t c = 0; c < width; ++c) var += (x[c] - mean) * (x[c] - mean);
  var /= static_cast<double>(width);
  const double rstd = 1.0 / std::sqrt(var + eps);
  for (std::size_t c = 0; c < width; ++c) out[c] = static_cast<float>((x[c] - mean) * rstd * gamma[c] + beta[c]);
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

const DType kTypes[] = {DType::kF32, DType::kF16, DType::kBF16};

TEST(CudaKernels, EmbeddingLayerNorm) {
  SENTI_SKIP_WITHOUT_GPU();
  for (std::size_t hidden : {100u, 256u, 768u}) {
    const std::size_t vocab = 50, max_pos = 40, types = 2, tokens = 37;
    auto word = random_vector(vocab * hidden, 1.f, 1), pos = random_vector(max_pos * hidden, 0.5f, 2);
    auto type = random_vector(types * hidden, 0.5f, 3), gamma = random_vector(hidden, 1.f, 4);
    auto beta = random_vector(hidden, 0.2f, 5);
    std::vector<int32_t> ids(tokens), token_types(tokens), positions(tokens);
    for (std::size_t t = 0; t < tokens; ++t) {
      ids[t] = static_cast<int32_t>((t * 7) % vocab);
      token_types[t] = static_cast<int32_t>(t % types);
      positions[t] = static_cast<int32_t>(t % max_pos);
    }
    std::vector<float> expected(tokens * hidden), row(hidden);
    for (std::size_t t = 0; t < tokens; ++t) {
      for (std::size_t c = 0; c < hidden; ++c)
        row[c] = word[ids[t] * hidden + c] + pos[positions[t] * hidden + c] + type[token_types[t] * hidden + c];
      reference_layer_norm(row.data(), hidden, gamma.data(), beta.data(), 1e-12f, expected.data() + t * hidden);
    }
    for (DType dtype : kTypes) {
      auto dw = to_device(word), dp = to_device(pos), dt = to_device(type), dg = to_device(gamma), db = to_device(beta);
      auto di = to_device(ids), dty = to_device(token_types), dpos = to_device(positions);
      DeviceBuffer<float> out(tokens * hidden);
      DeviceBuffer<unsigned char> typed(tokens * hidden * dtype_size(dtype));
      embedding_layer_norm(dw.get(), dp.get(), dt.get(), dg.get(), db.get(), di.get(), dty.get(), dpos.get(), tokens,
                           hidden, 1e-12f, out.get(), typed.get(), dtype, nullptr);
      EXPECT_LT(max_diff(to_host(out.get(), out.size()), expected), 1e-4f) << hidden;
      EXPECT_LT(max_diff(test::typed_to_host(typed.get(), dtype, tokens * hidden), expected),
                8 * test::type_epsilon(dtype) + 1e-4f)
          << hidden << " " << dtype_name(dtype);
    }
  }
}

TEST(CudaKernels, ResidualLayerNorm) {
  SENTI_SKIP_WITHOUT_GPU();
  for (std::size_t width : {100u, 256u, 768u}) {
    const std::size_t rows = 29;
    // A large common offset: E[x^2] - mean^2 would lose the variance, two passes do not.
    auto hidden = random_vector(rows * width, 1.f, 6), delta = random_vector(rows * width, 1.f, 7);
    for (auto& v : hidden) v += 300.f;
    auto gamma = random_vector(width, 1.f, 8), beta = random_vector(width, 0.1f, 9);
    std::vector<float> expected(rows * width), row(width);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < width; ++c) row[c] = hidden[r * width + c] + delta[r * width + c];
      reference_layer_norm(row.data(), width, gamma.data(), beta.data(), 1e-12f, expected.data() + r * width);
    }
    for (DType dtype : kTypes) {
      auto dh = to_device(hidden), dd = to_device(delta), dg = to_device(gamma), db = to_device(beta);
      DeviceBuffer<unsigned char> typed(rows * width * dtype_size(dtype));
      residual_layer_norm(dh.get(), dd.get(), dg.get(), db.get(), rows, width, 1e-12f, typed.get(), dtype, nullptr);
      EXPECT_LT(max_diff(to_host(dh.get(), dh.size()), expected), 2e-3f) << width;
      EXPECT_LT(max_diff(test::typed_to_host(typed.get(), dtype, rows * width), expected),
                8 * test::type_epsilon(dtype) + 2e-3f)
          << width << " " << dtype_name(dtype);
    }
  }
}

TEST(CudaKernels, GeluErf) {
  SENTI_SKIP_WITHOUT_GPU();
  std::vector<float> x(1000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = -6.f + 12.f * static_cast<float>(i) / 999.f;
  for (DType dtype : kTypes) {
    std::vector<float> input = x;
    auto typed = test::to_device_typed(input, dtype);
    gelu_erf(typed.get(), dtype, input.size(), nullptr);
    const auto got = test::typed_to_host(typed.get(), dtype, input.size());
    for (std::size_t i = 0; i < input.size(); ++i) {
      const double v = input[i], expected = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      ASSERT_NEAR(got[i], expected, 1e-6 + 2 * test::type_epsilon(dtype) * std::fabs(expected)) << v;
    }
  }
}

// Packed attention against softmax(q k^T / sqrt(d)) v per sequence and head; tokens no tile covers keep
// their old value.
TEST(CudaKernels, PackedAttention) {
  SENTI_SKIP_WITHOUT_GPU();
  const std::vector<std::size_t> lengths{1, 5, 64, 65, 130, 300, 33};
  PackedBatch batch;
  for (std::size_t length : lengths) {
    batch.input_ids.resize(batch.input_ids.size() + length, 1);
    batch.token_type_ids.resize(batch.token_type_ids.size() + length, 0);
    batch.offsets.push_back(batch.input_ids.size());
  }
  for (std::size_t head_dim : {32u, 64u, 128u}) {
    const std::size_t heads = 3, hidden = heads * head_dim;
    const Bucket bucket = choose_bucket(batch.num_tokens(), batch.num_sequences(), 16384, 512);
    BatchTable table;
    fill_table(batch, bucket, attention_queries_per_tile(head_dim), table);
    for (DType dtype : kTypes) {
      std::vector<float> qkv = random_vector(bucket.tokens * 3 * hidden, 1.f, 10);
      auto dqkv = test::to_device_typed(qkv, dtype);
      std::vector<float> sentinel(bucket.tokens * hidden, 7.f);
      auto context = test::to_device_typed(sentinel, dtype);
      auto dtable = to_device(table.data);
      packed_attention(dqkv.get(), dtable.get() + table.tiles, table.num_tiles_capacity, heads, head_dim,
                       context.get(), dtype, nullptr);
      const auto got = test::typed_to_host(context.get(), dtype, bucket.tokens * hidden);
      float worst = 0;
      for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
        const std::size_t begin = batch.offsets[s], length = batch.length(s);
        for (std::size_t h = 0; h < heads; ++h) {
          for (std::size_t i = 0; i < length; ++i) {
            const float* q = qkv.data() + (begin + i) * 3 * hidden + h * head_dim;
            std::vector<double> scores(length);
            double max = -1e300;
            for (std::size_t j = 0; j < length; ++j) {
              const float* k = qkv.data() + (begin + j) * 3 * hidden + hidden + h * head_dim;
              double dot = 0;
              for (std::size_t c = 0; c < head_dim; ++c) dot += static_cast<double>(q[c]) * k[c];
              scores[j] = dot / std::sqrt(static_cast<double>(head_dim));
              max = std::max(max, scores[j]);
            }
            double total = 0;
            for (auto& v : scores) total += (v = std::exp(v - max));
            for (std::size_t c = 0; c < head_dim; ++c) {
              double out = 0;
              for (std::size_t j = 0; j < length; ++j)
                out += scores[j] / total * qkv[(begin + j) * 3 * hidden + 2 * hidden + h * head_dim + c];
              worst = std::max(worst, std::fabs(got[(begin + i) * hidden + h * head_dim + c] - static_cast<float>(out)));
            }
          }
        }
      }
      EXPECT_LT(worst, 1e-5f + 4 * test::type_epsilon(dtype)) << head_dim << " " << dtype_name(dtype);
      for (std::size_t t = batch.num_tokens(); t < bucket.tokens; ++t)
        for (std::size_t c = 0; c < hidden; ++c) ASSERT_EQ(got[t * hidden + c], 7.f) << "padding row " << t;
    }
  }
}

TEST(CudaKernels, ClassifierHead) {
  SENTI_SKIP_WITHOUT_GPU();
  const std::size_t width = 256, labels = 3, rows = 40;
  auto hidden = random_vector(rows * width, 1.f, 11), wp = random_vector(width * width, 0.06f, 12);
  auto bp = random_vector(width, 0.1f, 13), wc = random_vector(labels * width, 0.2f, 14);
  auto bc = random_vector(labels, 0.1f, 15);
  const std::vector<int32_t> cls{0, 7, 39, 0, 12};
  auto dh = to_device(hidden), dwp = to_device(wp), dbp = to_device(bp), dwc = to_device(wc), dbc = to_device(bc);
  auto dcls = to_device(cls);
  DeviceBuffer<float> logits(cls.size() * labels), probabilities(cls.size() * labels);
  classifier_head(dh.get(), dcls.get(), cls.size(), width, dwp.get(), dbp.get(), dwc.get(), dbc.get(), labels,
                  logits.get(), probabilities.get(), nullptr);
  const auto got_logits = to_host(logits.get(), logits.size());
  const auto got_probabilities = to_host(probabilities.get(), probabilities.size());
  for (std::size_t s = 0; s < cls.size(); ++s) {
    std::vector<double> pooled(width), out(labels);
    for (std::size_t j = 0; j < width; ++j) {
      double sum = bp[j];
      for (std::size_t c = 0; c < width; ++c) sum += static_cast<double>(wp[j * width + c]) * hidden[cls[s] * width + c];
      pooled[j] = std::tanh(sum);
    }
    double max = -1e300, total = 0;
    for (std::size_t l = 0; l < labels; ++l) {
      double sum = bc[l];
      for (std::size_t c = 0; c < width; ++c) sum += wc[l * width + c] * pooled[c];
      out[l] = sum;
      max = std::max(max, sum);
    }
    for (std::size_t l = 0; l < labels; ++l) total += std::exp(out[l] - max);
    for (std::size_t l = 0; l < labels; ++l) {
      EXPECT_NEAR(got_logits[s * labels + l], out[l], 1e-4);
      EXPECT_NEAR(got_probabilities[s * labels + l], std::exp(out[l] - max) / total, 1e-5);
    }
  }
}

// cuBLASLt linear layers in each type, output in the type or fp32, bias and bias+GELU epilogues, at row
// counts that hit different algorithms.
TEST(CudaKernels, LtLinear) {
  SENTI_SKIP_WITHOUT_GPU();
  cublasLtHandle_t handle = nullptr;
  SENTI_CUDA_CHECK(cublasLtCreate(&handle));
  DeviceBuffer<unsigned char> workspace(32u << 20);
  const std::size_t in = 256, out = 768;
  for (DType dtype : kTypes) {
    for (bool f32_output : {false, true}) {
      for (Epilogue epilogue : {Epilogue::kBias, Epilogue::kBiasGelu}) {
        const DType output = f32_output ? DType::kF32 : dtype;
        std::vector<float> weight = random_vector(out * in, 0.06f, 16), bias = random_vector(out, 0.5f, 17);
        auto dweight = test::to_device_typed(weight, dtype);
        auto dbias = test::to_device_typed(bias, output);
        LtLinear linear(handle, out, in, dtype, output, epilogue, dweight.get(), dbias.get());
        for (std::size_t rows : {1u, 17u, 64u, 300u}) {
          std::vector<float> x = random_vector(rows * in, 1.f, static_cast<unsigned>(18 + rows));
          auto dx = test::to_device_typed(x, dtype);
          DeviceBuffer<unsigned char> y(rows * out * dtype_size(output));
          linear.forward(dx.get(), rows, y.get(), workspace.get(), workspace.bytes(), nullptr);
          const auto got = test::typed_to_host(y.get(), output, rows * out);
          float worst = 0;
          for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t o = 0; o < out; ++o) {
              double v = bias[o];
              for (std::size_t c = 0; c < in; ++c) v += static_cast<double>(x[r * in + c]) * weight[o * in + c];
              // The epilogue's GELU may be the tanh form: within 1e-3 of the erf one everywhere.
              if (epilogue == Epilogue::kBiasGelu) v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
              worst = std::max(worst, std::fabs(got[r * out + o] - static_cast<float>(v)));
            }
          }
          const float tolerance = (epilogue == Epilogue::kBiasGelu ? 1e-3f : 0.f) + 2e-4f +
                                  8 * test::type_epsilon(output) + 2 * test::type_epsilon(dtype);
          EXPECT_LT(worst, tolerance) << dtype_name(dtype) << " -> " << dtype_name(output) << " rows " << rows
                                      << (epilogue == Epilogue::kBiasGelu ? " gelu" : " bias");
        }
      }
    }
  }
  cublasLtDestroy(handle);
}

}  // namespace
}  // namespace senti::cuda
