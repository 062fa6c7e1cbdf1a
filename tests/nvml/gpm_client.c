/* A GPM client written from nvml.h's documented contracts alone, with its own
 * declarations (none of carve's), the way a monitoring agent reads utilisation
 * per MIG slice: every GPU, every MIG device, its GPU instance id, memory and
 * processes, then two GPM samples per GPU instance WINDOW_MS apart and the SM,
 * DRAM-bandwidth and tensor metrics between them. Its metrics[] array is as
 * long as NVML 12.0's header made it (98 entries), shorter than carve's.
 *
 * Prints one JSON object per MIG device, for the test that compares them with
 * `carve status --json`; checks the documented refusals on the way and exits
 * 1 if one is wrong. Usage: nvml_gpm_c WINDOW_MS (CARVE_SIM names the machine). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st* nvmlDevice_t;
typedef struct nvmlGpmSample_st* nvmlGpmSample_t;
typedef struct {
  unsigned long long total, free, used;
} nvmlMemory_t;
typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;
typedef struct {
  unsigned int version, isSupportedDevice;
} nvmlGpmSupport_t;
typedef struct {
  unsigned int metricId;
  nvmlReturn_t nvmlReturn;
  double value;
  struct {
    char *shortName, *longName, *unit;
  } metricInfo;
} nvmlGpmMetric_t;
typedef struct {
  unsigned int version, numMetrics;
  nvmlGpmSample_t sample1, sample2;
  nvmlGpmMetric_t metrics[98];
} nvmlGpmMetricsGet_t;

enum { OK = 0, INVALID_ARGUMENT = 2, NOT_SUPPORTED = 3, VERSION_MISMATCH = 25 };
enum { SM_UTIL = 2, ANY_TENSOR_UTIL = 5, DRAM_BW_UTIL = 10 };

nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
const char* nvmlErrorString(nvmlReturn_t);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int*);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int, nvmlDevice_t*);
nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t, unsigned int*);
nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t, unsigned int, nvmlDevice_t*);
nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t, unsigned int*);
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t, char*, unsigned int);
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t, nvmlMemory_t*);
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t, unsigned int*,
                                                     nvmlProcessInfo_t*);
nvmlReturn_t nvmlGpmQueryDeviceSupport(nvmlDevice_t, nvmlGpmSupport_t*);
nvmlReturn_t nvmlGpmSampleAlloc(nvmlGpmSample_t*);
nvmlReturn_t nvmlGpmSampleFree(nvmlGpmSample_t);
nvmlReturn_t nvmlGpmSampleGet(nvmlDevice_t, nvmlGpmSample_t);
nvmlReturn_t nvmlGpmMigSampleGet(nvmlDevice_t, unsigned int, nvmlGpmSample_t);
nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t*);

static int failures = 0;
#define EXPECT_RC(call, want)                                                                  \
  do {                                                                                         \
    nvmlReturn_t rc_ = (call);                                                                 \
    if (rc_ != (want)) {                                                                       \
      fprintf(stderr, "%s:%d: %s returned %d (%s), want %d\n", __FILE__, __LINE__, #call, rc_, \
              nvmlErrorString(rc_), (want));                                                   \
      ++failures;                                                                              \
    }                                                                                          \
  } while (0)

struct Slice {
  nvmlDevice_t parent, mig;
  unsigned int gpu, gi;
  nvmlGpmSample_t first, second;
};

static void print_slice(const struct Slice* s, int gpm) {
  char uuid[96] = "";
  nvmlMemory_t mem = {0, 0, 0};
  nvmlProcessInfo_t procs[64];
  unsigned int n = 64, i;
  EXPECT_RC(nvmlDeviceGetUUID(s->mig, uuid, sizeof uuid), OK);
  EXPECT_RC(nvmlDeviceGetMemoryInfo(s->mig, &mem), OK);
  EXPECT_RC(nvmlDeviceGetComputeRunningProcesses_v3(s->mig, &n, procs), OK);
  printf(
      "{\"gpu\": %u, \"gi\": %u, \"uuid\": \"%s\", \"memory_used\": %llu, "
      "\"memory_total\": %llu, \"pids\": [",
      s->gpu, s->gi, uuid, mem.used, mem.total);
  for (i = 0; i < n; ++i) printf("%s%u", i ? ", " : "", procs[i].pid);
  printf("], \"gpm\": %s", gpm ? "true" : "false");
  if (gpm) {
    nvmlGpmMetricsGet_t mg = {
        .version = 1, .numMetrics = 3, .sample1 = s->first, .sample2 = s->second};
    mg.metrics[0].metricId = SM_UTIL;
    mg.metrics[1].metricId = DRAM_BW_UTIL;
    mg.metrics[2].metricId = ANY_TENSOR_UTIL;
    EXPECT_RC(nvmlGpmMetricsGet(&mg), OK);
    for (i = 0; i < 3; ++i) EXPECT_RC(mg.metrics[i].nvmlReturn, OK);
    printf(", \"sm\": %.6f, \"memory_bandwidth\": %.6f, \"tensor\": %.6f",
           mg.metrics[0].value / 100, mg.metrics[1].value / 100, mg.metrics[2].value / 100);
  }
  printf("}\n");
}

/* The documented refusals, on a GPU with GPM and one of its MIG devices. */
static void check_refusals(nvmlDevice_t gpu, nvmlDevice_t mig, nvmlGpmSample_t a,
                           nvmlGpmSample_t b) {
  nvmlGpmSupport_t old = {99, 0};
  nvmlGpmMetricsGet_t mg = {.version = 99, .numMetrics = 1, .sample1 = a, .sample2 = b};
  nvmlGpmSample_t gone;
  EXPECT_RC(nvmlGpmQueryDeviceSupport(gpu, &old), VERSION_MISMATCH);
  EXPECT_RC(nvmlGpmMetricsGet(&mg), VERSION_MISMATCH);
  EXPECT_RC(nvmlGpmSampleGet(mig, a), INVALID_ARGUMENT); /* a MIG device: use MigSampleGet */
  EXPECT_RC(nvmlGpmMigSampleGet(gpu, 0xFFFFu, a), INVALID_ARGUMENT);
  EXPECT_RC(nvmlGpmSampleAlloc(&gone), OK);
  EXPECT_RC(nvmlGpmSampleFree(gone), OK);
  EXPECT_RC(nvmlGpmSampleFree(gone), INVALID_ARGUMENT);
  mg.version = 1;
  mg.sample2 = gone;
  EXPECT_RC(nvmlGpmMetricsGet(&mg), INVALID_ARGUMENT);
}

int main(int argc, char** argv) {
  unsigned int count = 0, g, k, max, gi, n = 0;
  struct Slice slices[64];
  int window_ms = argc > 1 ? atoi(argv[1]) : 1000, checked = 0;
  struct timespec pause = {window_ms / 1000, (long)(window_ms % 1000) * 1000000L};
  EXPECT_RC(nvmlInit_v2(), OK);
  EXPECT_RC(nvmlDeviceGetCount_v2(&count), OK);
  for (g = 0; g < count; ++g) {
    nvmlDevice_t d, m;
    EXPECT_RC(nvmlDeviceGetHandleByIndex_v2(g, &d), OK);
    if (nvmlDeviceGetMaxMigDeviceCount(d, &max) != OK) max = 0;
    for (k = 0; k < max && n < 64; ++k) {
      if (nvmlDeviceGetMigDeviceHandleByIndex(d, k, &m) != OK) continue;
      EXPECT_RC(nvmlDeviceGetGpuInstanceId(m, &gi), OK);
      slices[n++] = (struct Slice){d, m, g, gi, NULL, NULL};
    }
  }
  for (k = 0; k < n; ++k) {
    nvmlGpmSupport_t support = {1, 0};
    EXPECT_RC(nvmlGpmQueryDeviceSupport(slices[k].parent, &support), OK);
    if (!support.isSupportedDevice) {
      nvmlGpmSample_t s;
      EXPECT_RC(nvmlGpmSampleAlloc(&s), OK);
      EXPECT_RC(nvmlGpmMigSampleGet(slices[k].parent, slices[k].gi, s), NOT_SUPPORTED);
      EXPECT_RC(nvmlGpmSampleFree(s), OK);
      continue;
    }
    EXPECT_RC(nvmlGpmSampleAlloc(&slices[k].first), OK);
    EXPECT_RC(nvmlGpmSampleAlloc(&slices[k].second), OK);
    EXPECT_RC(nvmlGpmMigSampleGet(slices[k].parent, slices[k].gi, slices[k].first), OK);
  }
  nanosleep(&pause, NULL);
  for (k = 0; k < n; ++k)
    if (slices[k].second)
      EXPECT_RC(nvmlGpmMigSampleGet(slices[k].parent, slices[k].gi, slices[k].second), OK);
  for (k = 0; k < n; ++k) {
    print_slice(&slices[k], slices[k].second != NULL);
    if (slices[k].second && !checked++)
      check_refusals(slices[k].parent, slices[k].mig, slices[k].first, slices[k].second);
  }
  for (k = 0; k < n; ++k)
    if (slices[k].second) {
      EXPECT_RC(nvmlGpmSampleFree(slices[k].first), OK);
      EXPECT_RC(nvmlGpmSampleFree(slices[k].second), OK);
    }
  EXPECT_RC(nvmlShutdown(), OK);
  return failures ? 1 : 0;
}
