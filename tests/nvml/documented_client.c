/* An NVML client written from nvml.h's documented contracts alone, the way an
 * independent program (go-nvml, DCGM, a device plugin) calls the
 * array-returning functions, linked to carve's drop-in libnvidia-ml.so.1:
 *
 * - nvmlDeviceGetGpuInstances / nvmlGpuInstanceGetComputeInstances: the array
 *   is sized to the profile's instanceCount and `*count` is an output only, so
 *   it is passed uninitialised (0, or garbage);
 * - the possible-placements calls: a NULL array asks for the count, then an
 *   array of that size is filled, `*count` again an output only;
 * - running processes: the documented sizing protocol, `*infoCount = 0` first.
 *
 * Every GPU and every profile is walked; what the calls find is checked
 * against the layout `carve mig create` made. Usage:
 * nvml_documented_c CARVE_BIN STATE_FILE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/nvml/nvml_api.h"

static int failures = 0;

#define CHECK(cond, ...)                              \
  do {                                                \
    if (!(cond)) {                                    \
      fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                   \
      fputc('\n', stderr);                            \
      ++failures;                                     \
    }                                                 \
  } while (0)
#define CHECK_OK(call)                                                                        \
  do {                                                                                        \
    nvmlReturn_t rc_ = (call);                                                                \
    CHECK(rc_ == NVML_SUCCESS, "%s returned %d (%s)", #call, (int)rc_, nvmlErrorString(rc_)); \
  } while (0)

/* Counts as a client that never initialised them might leave them. */
static const unsigned int kGarbage[] = {0u, 1u, 0xDEADBEEFu, 0xFFFFFFFFu};
#define N_GARBAGE (sizeof kGarbage / sizeof kGarbage[0])

static void run(const char* cmd) {
  if (system(cmd) != 0) {
    fprintf(stderr, "setup failed: %s\n", cmd);
    exit(2);
  }
}

/* Placements of a GI profile, the documented way; returns how many. */
static unsigned int gi_placements(nvmlDevice_t d, unsigned int profile_id) {
  unsigned int n = 0, g, again;
  CHECK_OK(nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, profile_id, NULL, &n));
  nvmlGpuInstancePlacement_t* p = calloc(n ? n : 1, sizeof *p);
  for (g = 0; g < N_GARBAGE; ++g) {
    again = kGarbage[g];
    CHECK_OK(nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, profile_id, p, &again));
    CHECK(again == n, "profile %u: %u placements, then %u with *count=%u on entry", profile_id, n,
          again, kGarbage[g]);
    CHECK(n == 0 || p[n - 1].size > 0, "profile %u: placement not filled", profile_id);
  }
  free(p);
  return n;
}

/* Compute instances of every CI profile of `gi`; returns how many in all. */
static unsigned int compute_instances(nvmlGpuInstance_t gi) {
  unsigned int total = 0, i, g;
  for (i = 0; i < NVML_COMPUTE_INSTANCE_PROFILE_COUNT; ++i) {
    nvmlComputeInstanceProfileInfo_t info;
    if (nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, i, 0, &info) != NVML_SUCCESS) continue;
    unsigned int n = 0, found = 0, placed = 0;
    CHECK_OK(nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, info.id, NULL, &placed));
    nvmlComputeInstancePlacement_t* p = calloc(placed ? placed : 1, sizeof *p);
    n = 0xDEADBEEFu;
    CHECK_OK(nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, info.id, p, &n));
    CHECK(n == placed, "CI profile %u: %u placements, then %u", info.id, placed, n);
    free(p);
    nvmlComputeInstance_t* cis = calloc(info.instanceCount, sizeof *cis);
    for (g = 0; g < N_GARBAGE; ++g) {
      n = kGarbage[g];
      CHECK_OK(nvmlGpuInstanceGetComputeInstances(gi, info.id, cis, &n));
      CHECK(n <= info.instanceCount, "CI profile %u: %u found, instanceCount %u", info.id, n,
            info.instanceCount);
      if (g == 0) found = n;
      CHECK(n == found, "CI profile %u: %u found, then %u", info.id, found, n);
    }
    free(cis);
    total += found;
  }
  return total;
}

/* GPU instances of every profile of `d`; adds up what it finds. */
static void gpu_instances(nvmlDevice_t d, unsigned int* gis, unsigned int* cis) {
  unsigned int i, g, j;
  for (i = 0; i < NVML_GPU_INSTANCE_PROFILE_COUNT; ++i) {
    nvmlGpuInstanceProfileInfo_t info;
    if (nvmlDeviceGetGpuInstanceProfileInfo(d, i, &info) != NVML_SUCCESS) continue;
    CHECK(gi_placements(d, info.id) > 0, "profile %u has no placement", info.id);
    nvmlGpuInstance_t* list = calloc(info.instanceCount, sizeof *list);
    unsigned int found = 0;
    for (g = 0; g < N_GARBAGE; ++g) {
      unsigned int n = kGarbage[g];
      CHECK_OK(nvmlDeviceGetGpuInstances(d, info.id, list, &n));
      CHECK(n <= info.instanceCount, "profile %u: %u found, instanceCount %u", info.id, n,
            info.instanceCount);
      if (g == 0) found = n;
      CHECK(n == found, "profile %u: %u found, then %u", info.id, found, n);
    }
    for (j = 0; j < found && j < info.instanceCount; ++j) *cis += compute_instances(list[j]);
    *gis += found;
    free(list);
  }
}

/* The documented sizing protocol for running processes. */
static void processes(nvmlDevice_t d) {
  unsigned int n = 0;
  nvmlReturn_t rc = nvmlDeviceGetComputeRunningProcesses_v3(d, &n, NULL);
  CHECK(rc == NVML_SUCCESS || rc == NVML_ERROR_INSUFFICIENT_SIZE, "processes: %s",
        nvmlErrorString(rc));
  if (rc == NVML_ERROR_INSUFFICIENT_SIZE) {
    nvmlProcessInfo_t* infos = calloc(n, sizeof *infos);
    CHECK_OK(nvmlDeviceGetComputeRunningProcesses_v3(d, &n, infos));
    free(infos);
  }
}

int main(int argc, char** argv) {
  char cmd[2048];
  unsigned int count = 0, i;
  unsigned int gis[2] = {0, 0}, cis[2] = {0, 0};
  if (argc != 3) return fprintf(stderr, "usage: %s CARVE_BIN STATE_FILE\n", argv[0]), 2;
  snprintf(cmd, sizeof cmd, "%s sim new %s h100-80gb a100-80gb --mig on --force >/dev/null",
           argv[1], argv[2]);
  run(cmd);
  /* GPU 0: four slices with their compute instances; GPU 1: a GPU instance
   * with no compute instance, and one 3g cut into three 1c compute instances. */
  snprintf(cmd, sizeof cmd,
           "%s --sim %s mig create -i 0 3g.40gb,2g.20gb,1g.10gb,1g.10gb >/dev/null && "
           "%s --sim %s mig create -i 1 1g.10gb@6,3g.40gb@0 --gi-only >/dev/null && "
           "%s --sim %s mig create-ci -i 1 --gi 1 1c 1c 1c >/dev/null",
           argv[1], argv[2], argv[1], argv[2], argv[1], argv[2]);
  run(cmd);
  setenv("CARVE_SIM", argv[2], 1);
  CHECK_OK(nvmlInit_v2());
  CHECK_OK(nvmlDeviceGetCount_v2(&count));
  CHECK(count == 2, "%u GPUs", count);
  for (i = 0; i < count && i < 2; ++i) {
    nvmlDevice_t d;
    CHECK_OK(nvmlDeviceGetHandleByIndex_v2(i, &d));
    gpu_instances(d, &gis[i], &cis[i]);
    processes(d);
  }
  CHECK(gis[0] == 4 && cis[0] == 4, "GPU 0: %u GPU and %u compute instances, want 4 and 4", gis[0],
        cis[0]);
  CHECK(gis[1] == 2 && cis[1] == 3, "GPU 1: %u GPU and %u compute instances, want 2 and 3", gis[1],
        cis[1]);
  CHECK_OK(nvmlShutdown());
  if (failures)
    fprintf(stderr, "%d check(s) failed\n", failures);
  else
    printf("NVML documented client: all checks passed\n");
  return failures ? 1 : 0;
}
