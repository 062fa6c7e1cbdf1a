// Clang's thread-safety annotations (-Wthread-safety); no-ops elsewhere. They
// document which lock guards which state even where the compiler cannot check.
#pragma once

#if defined(__clang__)
#define CARVE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CARVE_THREAD_ANNOTATION(x)
#endif

#define GUARDED_BY(x) CARVE_THREAD_ANNOTATION(guarded_by(x))
#define EXCLUDES(...) CARVE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define REQUIRES(...) CARVE_THREAD_ANNOTATION(exclusive_locks_required(__VA_ARGS__))
