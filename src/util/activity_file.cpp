#include "util/activity_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace carve {
namespace {

constexpr uint64_t kMagic = 0x3176746361767263;  // "crvactv1", little-endian
constexpr size_t kWords = 4;
constexpr size_t kBytes = kWords * sizeof(uint64_t);

// Maps the first kBytes of `fd`; nullptr on failure.
uint64_t* Map(int fd, int prot) {
  void* p = ::mmap(nullptr, kBytes, prot, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : static_cast<uint64_t*>(p);
}

}  // namespace

Result<std::unique_ptr<ActivityWriter>> ActivityWriter::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return Status::Io(fmt::format("cannot open activity file {}: {}", path, std::strerror(errno)));
  ::fchmod(fd, 0644);  // whatever the umask: the simulator's readers need it
  struct stat st {};
  bool sized = ::fstat(fd, &st) == 0 &&
               (st.st_size >= static_cast<off_t>(kBytes) || ::ftruncate(fd, kBytes) == 0);
  uint64_t* words = sized ? Map(fd, PROT_READ | PROT_WRITE) : nullptr;
  int saved = errno;
  ::close(fd);  // the mapping stays
  if (!words)
    return Status::Io(fmt::format("cannot map activity file {}: {}", path, std::strerror(saved)));
  __atomic_store_n(&words[0], kMagic, __ATOMIC_RELEASE);
  return std::unique_ptr<ActivityWriter>(new ActivityWriter(words));
}

ActivityWriter::~ActivityWriter() { ::munmap(words_, kBytes); }

void ActivityWriter::Add(uint64_t prompt_tokens, uint64_t completion_tokens) {
  __atomic_fetch_add(&words_[1], 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&words_[2], prompt_tokens, __ATOMIC_RELAXED);
  __atomic_fetch_add(&words_[3], completion_tokens, __ATOMIC_RELAXED);
}

ActivityCounts ReadActivity(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  uint64_t* words = ::fstat(fd, &st) == 0 && st.st_size >= static_cast<off_t>(kBytes)
                        ? Map(fd, PROT_READ)
                        : nullptr;
  ::close(fd);
  if (!words) return {};
  ActivityCounts c;
  if (__atomic_load_n(&words[0], __ATOMIC_ACQUIRE) == kMagic)
    c = {__atomic_load_n(&words[1], __ATOMIC_RELAXED), __atomic_load_n(&words[2], __ATOMIC_RELAXED),
         __atomic_load_n(&words[3], __ATOMIC_RELAXED)};
  ::munmap(words, kBytes);
  return c;
}

std::string FaultFileBeside(const std::string& activity_file) {
  size_t slash = activity_file.rfind('/');
  return slash == std::string::npos ? std::string("fault")
                                    : activity_file.substr(0, slash + 1) + "fault";
}

}  // namespace carve
