// Clang's thread-safety annotations (-Wthread-safety); no-ops elsewhere. They
// document which lock guards which state, and `scripts/check-static` builds
// the threaded modules with clang -Wthread-safety -Werror so the compiler
// holds the code to them. std::mutex carries no annotations in libstdc++, so
// annotated state is guarded by util::Mutex (util/mutex.h).
#pragma once

#if defined(__clang__)
#define CARVE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CARVE_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) CARVE_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY CARVE_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) CARVE_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) CARVE_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRE(...) CARVE_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) CARVE_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define EXCLUDES(...) CARVE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define REQUIRES(...) CARVE_THREAD_ANNOTATION(exclusive_locks_required(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) CARVE_THREAD_ANNOTATION(assert_capability(x))
#define NO_THREAD_SAFETY_ANALYSIS CARVE_THREAD_ANNOTATION(no_thread_safety_analysis)
