// The CUDA backend's host-side planning (no GPU needed): bucket choice, the per-batch table (positions,
// [CLS] rows, attention tiles that cover every query once), and --device resolution on this host.
#include <gtest/gtest.h>

#include <numeric>
#include <set>
#include <stdexcept>
#include <utility>

#include "runtime/backend.h"
#include "runtime/cuda/batch_plan.h"
#include "senti/error.h"

namespace senti::cuda {
namespace {

PackedBatch make_batch(const std::vector<std::size_t>& lengths) {
  PackedBatch batch;
  int32_t id = 100;
  for (std::size_t length : lengths) {
    for (std::size_t t = 0; t < length; ++t) {
      batch.input_ids.push_back(id++);
      batch.token_type_ids.push_back(t % 2 == 0 ? 0 : 1);
    }
    batch.offsets.push_back(batch.input_ids.size());
  }
  return batch;
}

TEST(CudaBucket, RoundsTokensToPowersOfTwoAndMidpoints) {
  EXPECT_EQ(choose_bucket(1, 1, 16384, 512).tokens, 16u);
  EXPECT_EQ(choose_bucket(16, 1, 16384, 512).tokens, 16u);
  EXPECT_EQ(choose_bucket(17, 1, 16384, 512).tokens, 24u);
  EXPECT_EQ(choose_bucket(24, 1, 16384, 512).tokens, 24u);
  EXPECT_EQ(choose_bucket(25, 2, 16384, 512).tokens, 32u);
  EXPECT_EQ(choose_bucket(33, 2, 16384, 512).tokens, 48u);
  EXPECT_EQ(choose_bucket(97, 2, 16384, 512).tokens, 128u);
  EXPECT_EQ(choose_bucket(16384, 2, 16384, 512).tokens, 16384u);
  EXPECT_EQ(choose_bucket(10000, 2, 10000, 512).tokens, 10000u);  // the maximum is a bucket of its own
  for (std::size_t t = 1; t <= 5000; t += 7) {
    const Bucket b = choose_bucket(t, 1, 16384, 512);
    EXPECT_GE(b.tokens, t);
    EXPECT_LE(b.tokens, std::max<std::size_t>(16, t + t / 2)) << t;  // pads by at most half (a third of the bucket)
  }
}

TEST(CudaBucket, SequencesArePowersOfTwo) {
  EXPECT_EQ(choose_bucket(20, 1, 16384, 512).sequences, 1u);
  EXPECT_EQ(choose_bucket(20, 3, 16384, 512).sequences, 4u);
  EXPECT_EQ(choose_bucket(200, 64, 16384, 512).sequences, 64u);
  EXPECT_EQ(choose_bucket(2000, 65, 16384, 512).sequences, 128u);
  EXPECT_EQ(choose_bucket(2000, 300, 16384, 300).sequences, 300u);
}

TEST(CudaBucket, RejectsWhatDoesNotFit) {
  EXPECT_THROW(choose_bucket(16385, 1, 16384, 512), std::invalid_argument);
  EXPECT_THROW(choose_bucket(1000, 513, 16384, 512), std::invalid_argument);
  EXPECT_THROW(choose_bucket(0, 0, 16384, 512), std::invalid_argument);
}

TEST(CudaBatchTable, LaysOutIdsPositionsClsRowsAndPadding) {
  const PackedBatch batch = make_batch({3, 5, 1});
  const Bucket bucket = choose_bucket(batch.num_tokens(), batch.num_sequences(), 16384, 512);
  ASSERT_EQ(bucket.tokens, 16u);
  ASSERT_EQ(bucket.sequences, 4u);
  BatchTable table;
  fill_table(batch, bucket, 64, table);
  const int32_t* d = table.data.data();
  EXPECT_EQ(table.token_types, 16u);
  EXPECT_EQ(table.positions, 32u);
  EXPECT_EQ(table.cls_rows, 48u);
  EXPECT_EQ(table.tiles, 52u);
  EXPECT_EQ(table.data.size(), table.tiles + 4 * table.num_tiles_capacity);
  for (std::size_t sequences : {1u, 2u, 3u, 5u}) {
    EXPECT_EQ(table_layout(Bucket{24, sequences}, 64).tiles % 4, 0u) << "tiles are read as int4";
  }
  const std::vector<int32_t> positions{0, 1, 2, 0, 1, 2, 3, 4, 0};
  for (std::size_t t = 0; t < 9; ++t) {
    EXPECT_EQ(d[table.ids + t], batch.input_ids[t]);
    EXPECT_EQ(d[table.token_types + t], batch.token_type_ids[t]);
    EXPECT_EQ(d[table.positions + t], positions[t]);
  }
  for (std::size_t t = 9; t < 16; ++t) {  // padding tokens: id 0, type 0, position 0
    EXPECT_EQ(d[table.ids + t], 0);
    EXPECT_EQ(d[table.token_types + t], 0);
    EXPECT_EQ(d[table.positions + t], 0);
  }
  EXPECT_EQ(d[table.cls_rows + 0], 0);
  EXPECT_EQ(d[table.cls_rows + 1], 3);
  EXPECT_EQ(d[table.cls_rows + 2], 8);
  EXPECT_EQ(d[table.cls_rows + 3], 0);  // padding sequence reads row 0; its logits are dropped
}

// Every query of every sequence is in exactly one tile, each tile's keys are its whole sequence, no
// tile touches a padding token, and the unused tiles are marked empty.
TEST(CudaBatchTable, TilesCoverEveryQueryOnce) {
  for (std::size_t per_tile : {32u, 64u, 128u}) {
    const PackedBatch batch = make_batch({1, 64, 65, 130, 7, 300, 128, 2});
    const Bucket bucket = choose_bucket(batch.num_tokens(), batch.num_sequences(), 16384, 512);
    BatchTable table;
    fill_table(batch, bucket, per_tile, table);
    EXPECT_LE(table.num_tiles_capacity, max_tiles(bucket, per_tile));
    std::vector<int> covered(bucket.tokens, 0);
    bool ended = false;
    for (std::size_t i = 0; i < table.num_tiles_capacity; ++i) {
      const int32_t* tile = table.data.data() + table.tiles + 4 * i;
      if (tile[1] == 0) {
        ended = true;
        EXPECT_EQ(tile[3], 0);
        continue;
      }
      EXPECT_FALSE(ended) << "used tiles come first";
      // Its sequence is one of the batch's.
      bool found = false;
      for (std::size_t s = 0; s < batch.num_sequences(); ++s)
        found = found || (static_cast<std::size_t>(tile[0]) == batch.offsets[s] &&
                          static_cast<std::size_t>(tile[1]) == batch.length(s));
      EXPECT_TRUE(found);
      EXPECT_GT(tile[3], 0);
      EXPECT_LE(static_cast<std::size_t>(tile[3]), per_tile);
      EXPECT_LE(tile[2] + tile[3], tile[1]);
      for (int32_t q = 0; q < tile[3]; ++q) ++covered[static_cast<std::size_t>(tile[0] + tile[2] + q)];
    }
    for (std::size_t t = 0; t < bucket.tokens; ++t) EXPECT_EQ(covered[t], t < batch.num_tokens() ? 1 : 0) << t;
  }
}

TEST(CudaBatchTable, RejectsMalformedBatches) {
  PackedBatch batch = make_batch({3, 2});
  BatchTable table;
  EXPECT_THROW(fill_table(batch, Bucket{4, 2}, 64, table), std::invalid_argument);  // too many tokens
  PackedBatch empty_sequence = make_batch({3, 2});
  empty_sequence.offsets.insert(empty_sequence.offsets.begin() + 1, 0);
  EXPECT_THROW(fill_table(empty_sequence, Bucket{16, 4}, 64, table), std::invalid_argument);
  batch.token_type_ids.pop_back();
  EXPECT_THROW(fill_table(batch, Bucket{16, 2}, 64, table), std::invalid_argument);
}

TEST(CudaAttentionShape, QueriesPerTileMatchTheKernel) {
  EXPECT_EQ(attention_queries_per_tile(32), 128u);
  EXPECT_EQ(attention_queries_per_tile(64), 64u);
  EXPECT_EQ(attention_queries_per_tile(128), 32u);
  EXPECT_TRUE(attention_supports_head_dim(64));
  EXPECT_FALSE(attention_supports_head_dim(80));
}

TEST(DeviceSelection, FollowsCudaAvailability) {
  const CudaAvailability& cuda = cuda_availability();
  EXPECT_EQ(resolve_device("cpu", "auto"), "cpu");
  EXPECT_EQ(resolve_device("auto", "int8"), "cpu");  // CUDA has no int8 path
  EXPECT_THROW(resolve_device("tpu", "auto"), InvalidInputError);
  if (cuda.usable) {
    EXPECT_TRUE(cuda.reason.empty());
    EXPECT_EQ(resolve_device("auto", "auto"), "cuda");
    EXPECT_EQ(resolve_device("cuda", "fp16"), "cuda");
  } else {
    EXPECT_FALSE(cuda.reason.empty());
    EXPECT_EQ(resolve_device("auto", "auto"), "cpu");
    try {
      resolve_device("cuda", "auto");
      ADD_FAILURE() << "--device cuda without a usable GPU must throw";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(cuda.reason), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace senti::cuda
