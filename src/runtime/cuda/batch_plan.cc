#include "runtime/cuda/batch_plan.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace senti::cuda {

Bucket choose_bucket(std::size_t tokens, std::size_t sequences, std::size_t max_tokens, std::size_t max_sequences) {
  if (tokens > max_tokens || sequences > max_sequences || sequences == 0 || tokens < sequences) {
    throw std::invalid_argument("batch of " + std::to_string(tokens) + " tokens in " + std::to_string(sequences) +
                                " sequences does not fit the CUDA engine (at most " + std::to_string(max_tokens) +
                                " tokens, " + std::to_string(max_sequences) + " sequences)");
  }
  Bucket bucket;
  // 16, 24, 32, 48, 64, 96, 128, ...: the power of two p >= tokens, or 3p/4 when that is enough.
  std::size_t p = 16;
  while (p < tokens) p *= 2;
  bucket.tokens = (p >= 32 && p / 4 * 3 >= tokens) ? p / 4 * 3 : p;
  bucket.tokens = std::min(bucket.tokens, max_tokens);
  std::size_t s = 1;
  while (s < sequences) s *= 2;
  bucket.sequences = std::min(s, max_sequences);
  return bucket;
}

std::size_t max_tiles(const Bucket& bucket, std::size_t queries_per_tile) {
  return (bucket.tokens + queries_per_tile - 1) / queries_per_tile + bucket.sequences;
}

BatchTable table_layout(const Bucket& bucket, std::size_t queries_per_tile) {
  BatchTable t;
  t.ids = 0;
  t.token_types = t.ids + bucket.tokens;
  t.positions = t.token_types + bucket.tokens;
  t.cls_rows = t.positions + bucket.tokens;
  t.tiles = (t.cls_rows + bucket.sequences + 3) / 4 * 4;  // 16-byte aligned: the kernel loads a tile as int4
  t.num_tiles_capacity = max_tiles(bucket, queries_per_tile);
  return t;
}

void fill_table(const PackedBatch& batch, const Bucket& bucket, std::size_t queries_per_tile, BatchTable& out) {
  const std::size_t tokens = batch.num_tokens(), sequences = batch.num_sequences();
  if (tokens > bucket.tokens || sequences > bucket.sequences || batch.token_type_ids.size() != tokens ||
      batch.offsets.empty() || batch.offsets.back() != tokens) {
    throw std::invalid_argument("fill_table: the batch does not match its bucket or is malformed");
  }
  const BatchTable layout = table_layout(bucket, queries_per_tile);
  const std::vector<int32_t> keep = std::move(out.data);
  out = layout;
  out.data = std::move(keep);
  const std::size_t size = layout.tiles + 4 * layout.num_tiles_capacity;
  out.data.assign(size, 0);
  int32_t* data = out.data.data();
  std::copy(batch.input_ids.begin(), batch.input_ids.end(), data + layout.ids);
  std::copy(batch.token_type_ids.begin(), batch.token_type_ids.end(), data + layout.token_types);
  std::size_t tile = 0;
  for (std::size_t s = 0; s < sequences; ++s) {
    const std::size_t begin = batch.offsets[s], end = batch.offsets[s + 1];
    if (end <= begin) throw std::invalid_argument("fill_table: sequence " + std::to_string(s) + " is empty");
    for (std::size_t t = begin; t < end; ++t) data[layout.positions + t] = static_cast<int32_t>(t - begin);
    data[layout.cls_rows + s] = static_cast<int32_t>(begin);
    for (std::size_t q = 0; q < end - begin; q += queries_per_tile) {
      int32_t* entry = data + layout.tiles + 4 * tile++;
      entry[0] = static_cast<int32_t>(begin);
      entry[1] = static_cast<int32_t>(end - begin);
      entry[2] = static_cast<int32_t>(q);
      entry[3] = static_cast<int32_t>(std::min(queries_per_tile, end - begin - q));
    }
  }
  if (tile > layout.num_tiles_capacity) throw std::logic_error("fill_table: tile bound exceeded");
}

}  // namespace senti::cuda
