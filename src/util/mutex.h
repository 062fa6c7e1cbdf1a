// A mutex the thread-safety analysis understands (as leveldb's port::Mutex):
// state marked GUARDED_BY(mu_) may only be touched while a MutexLock on mu_
// is alive, and clang -Wthread-safety (scripts/check-static) checks it.
// MutexLock also works with std::condition_variable_any, which unlocks and
// relocks it while waiting.
#pragma once

#include <mutex>

#include "util/thread_annotations.h"

namespace carve::util {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // For std::condition_variable_any::wait, which releases the lock while it
  // sleeps and holds it again when it returns.
  void lock() ACQUIRE() { mu_.Lock(); }
  void unlock() RELEASE() { mu_.Unlock(); }

 private:
  Mutex& mu_;
};

}  // namespace carve::util
