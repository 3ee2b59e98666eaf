#include "tokenizer/truncation.h"

#include <algorithm>
#include <utility>

namespace senti::tokenizer_detail {

PairLengths longest_first(std::size_t n1, std::size_t n2, std::size_t budget) {
  if (n1 + n2 <= budget) return {n1, n2};
  // Work with n1 as the shorter one.
  const bool swap = n1 > n2;
  if (swap) std::swap(n1, n2);
  std::size_t t1 = n1;
  std::size_t t2 = n1 > budget ? n1 : std::max(n1, budget - n1);
  if (t1 + t2 > budget) {
    t1 = budget / 2;
    t2 = t1 + budget % 2;
  }
  if (swap) std::swap(t1, t2);
  if (swap) std::swap(n1, n2);
  return {std::min(n1, t1), std::min(n2, t2)};
}

}  // namespace senti::tokenizer_detail
