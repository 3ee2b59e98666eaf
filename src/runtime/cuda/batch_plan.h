// Host-side planning of one CUDA forward: which captured-graph bucket a batch runs in, and the small
// int32 table (ids, token types, positions, [CLS] rows, attention tiles) uploaded with it in one copy.
// Pure C++ (no CUDA): built and unit-tested on every machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/backend.h"

namespace senti::cuda {

// The padded shape a batch runs at. Graphs are captured per bucket, so a batch of 13 tokens and one
// of 15 replay the same graph. Extra tokens are never attended to (no attention tile covers them) and
// extra sequences read row 0 as their [CLS]; their logits are computed and dropped, so no mask is needed.
struct Bucket {
  std::size_t tokens = 0;
  std::size_t sequences = 0;
};

// Token buckets: 16, 24, 32, 48, 64, 96, ... (powers of two and the midpoints between them, so a batch
// pads by at most a third) up to max_tokens, which is itself the last bucket. Sequence buckets: powers
// of two up to max_sequences. Throws std::invalid_argument when the batch exceeds the maxima.
Bucket choose_bucket(std::size_t tokens, std::size_t sequences, std::size_t max_tokens, std::size_t max_sequences);

// One attention work item: queries [query_begin, query_begin + query_count) of the sequence that starts
// at packed row seq_begin and has seq_length tokens (keys and values are the whole sequence).
struct AttentionTile {
  int32_t seq_begin = 0;
  int32_t seq_length = 0;  // 0: an unused tile (the kernel's block returns at once)
  int32_t query_begin = 0;
  int32_t query_count = 0;
};

// Upper bound on the number of tiles of any batch in a bucket: each sequence needs ceil(len/q) tiles,
// and sum(ceil(len_i/q)) <= tokens/q + sequences.
std::size_t max_tiles(const Bucket& bucket, std::size_t queries_per_tile);

// The int32 table a forward uploads, laid out as [ids | token types | positions | cls rows | tiles]:
// every array sized for the bucket (padding entries are 0 / unused tiles); tiles start at a multiple of
// 4 entries (16 bytes).
struct BatchTable {
  std::size_t ids = 0, token_types = 0, positions = 0, cls_rows = 0, tiles = 0;  // offsets, in int32s
  std::size_t num_tiles_capacity = 0;
  std::vector<int32_t> data;
};

// Offsets of each array for a bucket (data left empty).
BatchTable table_layout(const Bucket& bucket, std::size_t queries_per_tile);

// Fills `out` (resized to the layout's size) for a batch running in `bucket`. Positions restart at 0 in
// every sequence, like cu_seqlens in varlen attention; padding tokens get id 0, type 0, position 0.
void fill_table(const PackedBatch& batch, const Bucket& bucket, std::size_t queries_per_tile, BatchTable& out);

}  // namespace senti::cuda

namespace senti::cuda {

// Queries one attention block handles: 128 threads, head_dim/32 threads per query.
constexpr std::size_t attention_queries_per_tile(std::size_t head_dim) { return 128 / (head_dim / 32); }
// Head sizes the attention kernel is built for.
constexpr bool attention_supports_head_dim(std::size_t head_dim) {
  return head_dim == 32 || head_dim == 64 || head_dim == 128;
}

}  // namespace senti::cuda
