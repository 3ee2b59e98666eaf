// AlignedBytes (packed_linear.h), the buffer every packed weight lives in: alignment, and the huge-page
// advice for buffers of 2 MB or more (transparent huge pages in "madvise" mode).
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "runtime/cpu/packed_linear.h"

namespace senti::cpu {
namespace {

// The VmFlags line of the mapping of /proc/self/smaps that holds `p` ("" if none does).
std::string vm_flags_of(const void* p) {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> begin >> dash >> end && dash == '-' && line.find(':') > line.find(' ')) {
      inside = begin <= address && address < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

TEST(AlignedBytes, SmallBuffersAre64ByteAligned) {
  for (std::size_t size : {1, 63, 64, 65, 1000, 100000}) {
    AlignedBytes b(size);
    EXPECT_EQ(b.size(), size);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % 64, 0u) << size;
    std::memset(b.data(), 0x5a, size);
  }
}

TEST(AlignedBytes, LargeBuffersAskForHugePages) {
  if (!std::filesystem::exists("/sys/kernel/mm/transparent_hugepage/enabled"))
    GTEST_SKIP() << "this kernel has no transparent huge pages";
  if (const char* v = std::getenv("SENTI_HUGEPAGES"); v != nullptr && std::string(v) == "0")
    GTEST_SKIP() << "SENTI_HUGEPAGES=0";
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  AlignedBytes b(2 * kHuge + 12345);  // two whole huge pages and a tail
  ASSERT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % kHuge, 0u);
  std::memset(b.data(), 0x5a, b.size());
  const std::string flags = vm_flags_of(b.data());
  ASSERT_FALSE(flags.empty()) << "no mapping in /proc/self/smaps holds the buffer";
  EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;  // hg: MADV_HUGEPAGE
  // The tail beyond the last whole huge page is not advised (it would grow the resident size).
  EXPECT_EQ(vm_flags_of(b.data() + 2 * kHuge).find(" hg"), std::string::npos);
}

}  // namespace
}  // namespace senti::cpu
