#include "model/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "senti/error.h"

namespace senti::model {

namespace {

// Under AddressSanitizer the file is read into a heap block of exactly its size instead of being
// mapped: a read past the end of a mapping goes unnoticed up to the page end, a read past a heap
// block is reported. 64-byte aligned, as compiled models expect of the file start.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kReadIntoHeap = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kReadIntoHeap = true;
#else
constexpr bool kReadIntoHeap = false;
#endif
#else
constexpr bool kReadIntoHeap = false;
#endif

const std::byte* read_into_heap(int fd, std::size_t size, const std::filesystem::path& path) {
  void* block = nullptr;
  if (::posix_memalign(&block, 64, size) != 0) throw ModelError(path.string() + ": out of memory reading the file");
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, static_cast<char*>(block) + done, size - done);
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      std::free(block);
      throw ModelError(path.string() + ": cannot read: " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  return static_cast<const std::byte*>(block);
}

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw ModelError(path.string() + ": cannot open: " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw ModelError(path.string() + ": cannot stat: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw ModelError(path.string() + ": not a regular file");
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0 && kReadIntoHeap) {
    try {
      data_ = read_into_heap(fd, size_, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
  } else if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw ModelError(path.string() + ": cannot mmap: " + std::strerror(err));
    }
    data_ = static_cast<const std::byte*>(p);
  }
  ::close(fd);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { release(); }

void MappedFile::drop_resident_pages() const noexcept {
  // A private, read-only file mapping that was never written: dropping its pages loses nothing, a
  // later read maps them again from the page cache. (Under ASan the file is in the heap: kept.)
  if (data_ != nullptr && !kReadIntoHeap) ::madvise(const_cast<std::byte*>(data_), size_, MADV_DONTNEED);
}

void MappedFile::release() noexcept {
  if (data_ != nullptr) {
    if (kReadIntoHeap) {
      std::free(const_cast<std::byte*>(data_));
    } else {
      ::munmap(const_cast<std::byte*>(data_), size_);
    }
    data_ = nullptr;
    size_ = 0;
  }
}

}  // namespace senti::model
