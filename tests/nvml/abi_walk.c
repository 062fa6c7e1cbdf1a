/* ABI conformance, from C: a client compiled with carve's NVML declarations
 * (src/device/nvml/nvml_api.h, whose static asserts check every struct layout)
 * and linked to the drop-in walks init/shutdown reference counting, device
 * enumeration, two-call enumerations, v2/v3 dispatch, placements, creates and
 * destroys with and without placement, compute instances, MIG device handles,
 * processes and error strings. Usage: nvml_abi_c CARVE_BIN STATE_FILE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/nvml/nvml_api.h"

static int failures = 0;
static const char* carve_bin;
static const char* state;

#define EXPECT(cond)                                                      \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                         \
    }                                                                     \
  } while (0)
#define EXPECT_RC(call, want)                                                                 \
  do {                                                                                        \
    nvmlReturn_t rc_ = (call);                                                                \
    if (rc_ != (want)) {                                                                      \
      fprintf(stderr, "%s:%d: %s returned %d (%s), expected %s\n", __FILE__, __LINE__, #call, \
              (int)rc_, nvmlErrorString(rc_), #want);                                         \
      ++failures;                                                                             \
    }                                                                                         \
  } while (0)

static void carve(const char* args) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s sim %s >/dev/null", carve_bin, args);
  if (system(cmd) != 0) {
    fprintf(stderr, "setup failed: %s\n", cmd);
    exit(2);
  }
}

static void init_refcount(void) {
  unsigned int n = 0;
  EXPECT_RC(nvmlDeviceGetCount_v2(&n), NVML_ERROR_UNINITIALIZED);
  EXPECT_RC(nvmlInit_v2(), NVML_SUCCESS);
  EXPECT_RC(nvmlInitWithFlags(NVML_INIT_FLAG_NO_GPUS), NVML_SUCCESS);
  EXPECT_RC(nvmlShutdown(), NVML_SUCCESS);
  EXPECT_RC(nvmlDeviceGetCount_v2(&n), NVML_SUCCESS); /* one reference left */
  EXPECT_RC(nvmlShutdown(), NVML_SUCCESS);
  EXPECT_RC(nvmlDeviceGetCount_v2(&n), NVML_ERROR_UNINITIALIZED);
  EXPECT_RC(nvmlShutdown(), NVML_SUCCESS); /* extra calls report no error */
  EXPECT_RC(nvmlInit(), NVML_SUCCESS);     /* the v1 alias */
  EXPECT(strcmp(nvmlErrorString(NVML_ERROR_IN_USE), "In use by another client") == 0);
  EXPECT(strcmp(nvmlErrorString(NVML_SUCCESS), "Success") == 0);
  EXPECT(strcmp(nvmlErrorString((nvmlReturn_t)4242), "Unknown Error") == 0);
}

static nvmlDevice_t devices(void) {
  unsigned int n = 0;
  char buf[NVML_DEVICE_UUID_V2_BUFFER_SIZE], tiny[4];
  nvmlDevice_t d0 = NULL, again = NULL, by_uuid = NULL;
  EXPECT_RC(nvmlDeviceGetCount_v2(&n), NVML_SUCCESS);
  EXPECT(n == 2);
  EXPECT_RC(nvmlDeviceGetHandleByIndex_v2(2, &d0), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_RC(nvmlDeviceGetHandleByIndex_v2(0, &d0), NVML_SUCCESS);
  EXPECT_RC(nvmlDeviceGetHandleByIndex(0, &again), NVML_SUCCESS);
  EXPECT(d0 == again); /* stable handles */
  EXPECT_RC(nvmlSystemGetDriverVersion(buf, sizeof buf), NVML_SUCCESS);
  EXPECT_RC(nvmlSystemGetDriverVersion(tiny, sizeof tiny), NVML_ERROR_INSUFFICIENT_SIZE);
  EXPECT_RC(nvmlDeviceGetName(d0, buf, sizeof buf), NVML_SUCCESS);
  EXPECT(strcmp(buf, "NVIDIA H100 80GB HBM3") == 0);
  EXPECT_RC(nvmlDeviceGetUUID(d0, buf, sizeof buf), NVML_SUCCESS);
  EXPECT(strncmp(buf, "GPU-", 4) == 0 && strlen(buf) + 1 == 41);
  EXPECT_RC(nvmlDeviceGetHandleByUUID(buf, &by_uuid), NVML_SUCCESS);
  EXPECT(by_uuid == d0);
  EXPECT_RC(nvmlDeviceGetHandleByUUID("GPU-00000000-0000-0000-0000-000000000000", &by_uuid),
            NVML_ERROR_NOT_FOUND);
  EXPECT_RC(nvmlDeviceGetHandleByUUID("nonsense", &by_uuid), NVML_ERROR_INVALID_ARGUMENT);
  nvmlPciInfo_t pci;
  EXPECT_RC(nvmlDeviceGetPciInfo_v3(d0, &pci), NVML_SUCCESS);
  EXPECT(strcmp(pci.busId, "00000000:18:00.0") == 0 && pci.bus == 0x18);
  EXPECT(strcmp(pci.busIdLegacy, "0000:18:00.0") == 0);
  EXPECT(pci.pciDeviceId == 0x233010DEu);
  nvmlDeviceArchitecture_t arch = 0;
  EXPECT_RC(nvmlDeviceGetArchitecture(d0, &arch), NVML_SUCCESS);
  EXPECT(arch == NVML_DEVICE_ARCH_HOPPER);
  nvmlMemory_v2_t mem2;
  mem2.version = nvmlMemory_v2;
  EXPECT_RC(nvmlDeviceGetMemoryInfo_v2(d0, &mem2), NVML_SUCCESS);
  EXPECT(mem2.total == 81559ull << 20 && mem2.free == mem2.total);
  mem2.version = 0x01000028u;
  EXPECT_RC(nvmlDeviceGetMemoryInfo_v2(d0, &mem2), NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
  nvmlDeviceAttributes_t attrs;
  EXPECT_RC(nvmlDeviceGetAttributes_v2(d0, &attrs),
            NVML_ERROR_NOT_SUPPORTED); /* MIG handles only */
  EXPECT_RC(nvmlDeviceGetName((nvmlDevice_t)(void*)0x1234, buf, sizeof buf),
            NVML_ERROR_INVALID_ARGUMENT); /* never dereferenced */
  return d0;
}

static void profiles(nvmlDevice_t d0) {
  nvmlGpuInstanceProfileInfo_v2_t v2;
  nvmlGpuInstanceProfileInfo_v3_t v3;
  nvmlGpuInstanceProfileInfo_t v1;
  memset(&v2, 0xAB, sizeof v2);
  v2.version = nvmlGpuInstanceProfileInfo_v2;
  EXPECT_RC(nvmlDeviceGetGpuInstanceProfileInfoV(d0, 0x0 /* 1_SLICE */, &v2), NVML_SUCCESS);
  EXPECT(v2.id == 19 && v2.sliceCount == 1 && v2.instanceCount == 7 && v2.memorySizeMB == 9984);
  EXPECT(v2.isP2pSupported == 0 && strcmp(v2.name, "MIG 1g.10gb") == 0);
  memset(&v3, 0xAB, sizeof v3);
  v3.version = nvmlGpuInstanceProfileInfo_v3;
  EXPECT_RC(nvmlDeviceGetGpuInstanceProfileInfoV(d0, 0x2 /* 3_SLICE */,
                                                 (nvmlGpuInstanceProfileInfo_v2_t*)&v3),
            NVML_SUCCESS);
  EXPECT(v3.id == 9 && v3.sliceCount == 3 && v3.multiprocessorCount == 60 && v3.capabilities == 0);
  EXPECT(strcmp(v3.name, "MIG 3g.40gb") == 0 && v3.memorySizeMB == 40448);
  v2.version = 0x01000098u;
  EXPECT_RC(nvmlDeviceGetGpuInstanceProfileInfoV(d0, 0x0, &v2), NVML_ERROR_INVALID_ARGUMENT);
  v2.version = nvmlGpuInstanceProfileInfo_v2;
  EXPECT_RC(nvmlDeviceGetGpuInstanceProfileInfoV(d0, NVML_GPU_INSTANCE_PROFILE_COUNT, &v2),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_RC(nvmlDeviceGetGpuInstanceProfileInfoV(d0, 0x5 /* 8_SLICE */, &v2),
            NVML_ERROR_NOT_SUPPORTED);
  EXPECT_RC(nvmlDeviceGetGpuInstanceProfileInfo(d0, 0x4 /* 7_SLICE */, &v1), NVML_SUCCESS);
  EXPECT(v1.id == 0 && v1.sliceCount == 7 && v1.multiprocessorCount == 132);
  EXPECT_RC(nvmlDeviceGetGpuInstanceProfileInfoByIdV(d0, 9, &v2), NVML_SUCCESS);
  EXPECT(strcmp(v2.name, "MIG 3g.40gb") == 0);
}

static void placements(nvmlDevice_t d0) {
  nvmlGpuInstancePlacement_t p[8];
  unsigned int n = 0, i;
  EXPECT_RC(nvmlDeviceGetGpuInstancePossiblePlacements_v2(d0, 19, NULL, &n), NVML_SUCCESS);
  EXPECT(n == 7);
  n = 3; /* an output only: what it held on entry does not matter (nvml.h) */
  EXPECT_RC(nvmlDeviceGetGpuInstancePossiblePlacements_v2(d0, 19, p, &n), NVML_SUCCESS);
  EXPECT(n == 7);
  for (i = 0; i < n; ++i) EXPECT(p[i].start == i && p[i].size == 1);
  n = 8;
  EXPECT_RC(nvmlDeviceGetGpuInstancePossiblePlacements_v2(d0, 9, p, &n), NVML_SUCCESS);
  EXPECT(n == 2 && p[0].start == 0 && p[1].start == 4 && p[0].size == 4); /* memory slices */
  n = 8;
  EXPECT_RC(nvmlDeviceGetGpuInstancePossiblePlacements_v2(d0, 0, p, &n), NVML_SUCCESS);
  EXPECT(n == 1 && p[0].start == 0 && p[0].size == 8); /* 7g takes all 8 memory slices */
  EXPECT_RC(nvmlDeviceGetGpuInstancePossiblePlacements_v2(d0, 4242, NULL, &n),
            NVML_ERROR_NOT_SUPPORTED);
  EXPECT_RC(nvmlDeviceGetGpuInstanceRemainingCapacity(d0, 19, &n), NVML_SUCCESS);
  EXPECT(n == 7);
}

/* Two 3g.40gb GPU instances, one placed; returns the one at 4. */
static nvmlGpuInstance_t gpu_instances(nvmlDevice_t d0) {
  nvmlGpuInstancePlacement_t at4 = {4, 4}, bad = {2, 4}, badsize = {4, 3};
  nvmlGpuInstance_t gi = NULL, other = NULL, list[2];
  nvmlGpuInstanceInfo_t info;
  unsigned int n = 0;
  EXPECT_RC(nvmlDeviceCreateGpuInstanceWithPlacement(d0, 9, &bad, &gi),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_RC(nvmlDeviceCreateGpuInstanceWithPlacement(d0, 9, &badsize, &gi),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_RC(nvmlDeviceCreateGpuInstanceWithPlacement(d0, 9, &at4, &gi), NVML_SUCCESS);
  EXPECT_RC(nvmlGpuInstanceGetInfo(gi, &info), NVML_SUCCESS);
  EXPECT(info.device == d0 && info.id == 2 && info.profileId == 9);
  EXPECT(info.placement.start == 4 && info.placement.size == 4);
  EXPECT_RC(nvmlDeviceCreateGpuInstanceWithPlacement(d0, 9, &at4, &other),
            NVML_ERROR_INSUFFICIENT_RESOURCES);                        /* overlap */
  EXPECT_RC(nvmlDeviceCreateGpuInstance(d0, 9, &other), NVML_SUCCESS); /* the driver picks 0 */
  EXPECT_RC(nvmlGpuInstanceGetInfo(other, &info), NVML_SUCCESS);
  EXPECT(info.id == 1 && info.placement.start == 0);
  EXPECT_RC(nvmlDeviceCreateGpuInstance(d0, 9, &other), NVML_ERROR_INSUFFICIENT_RESOURCES);
  EXPECT_RC(nvmlDeviceGetGpuInstanceRemainingCapacity(d0, 19, &n), NVML_SUCCESS);
  EXPECT(n == 0);
  n = 0; /* an output only; the array holds the profile's instanceCount (2) */
  EXPECT_RC(nvmlDeviceGetGpuInstances(d0, 9, NULL, &n), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_RC(nvmlDeviceGetGpuInstances(d0, 9, list, &n), NVML_SUCCESS);
  EXPECT(n == 2 && (list[0] == gi || list[1] == gi));
  EXPECT_RC(nvmlDeviceGetGpuInstanceById(d0, 2, &other), NVML_SUCCESS);
  EXPECT(other == gi);
  EXPECT_RC(nvmlDeviceGetGpuInstanceById(d0, 99, &other), NVML_ERROR_NOT_FOUND);
  return gi;
}

static void compute_instances(nvmlGpuInstance_t gi, nvmlComputeInstance_t* first) {
  nvmlComputeInstanceProfileInfo_v2_t v2;
  nvmlComputeInstanceProfileInfo_v3_t v3;
  nvmlComputeInstancePlacement_t at1 = {1, 1}, p[4];
  nvmlComputeInstance_t ci = NULL, second = NULL;
  nvmlComputeInstanceInfo_t info;
  unsigned int n = 0;
  v2.version = nvmlComputeInstanceProfileInfo_v2;
  EXPECT_RC(nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, 0, 0, &v2), NVML_SUCCESS);
  EXPECT(v2.id == 0 && v2.sliceCount == 1 && v2.instanceCount == 3);
  EXPECT(strcmp(v2.name, "MIG 1c.3g.40gb") == 0);
  v3.version = nvmlComputeInstanceProfileInfo_v3;
  EXPECT_RC(nvmlGpuInstanceGetComputeInstanceProfileInfoV(
                gi, 2, 0, (nvmlComputeInstanceProfileInfo_v2_t*)&v3),
            NVML_SUCCESS);
  EXPECT(v3.id == 2 && v3.multiprocessorCount == 60 && strcmp(v3.name, "MIG 3g.40gb") == 0);
  v2.version = 0x0200008Cu;
  EXPECT_RC(nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, 0, 0, &v2),
            NVML_ERROR_INVALID_ARGUMENT);
  v2.version = nvmlComputeInstanceProfileInfo_v2;
  EXPECT_RC(nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, 0, 1, &v2),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_RC(nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, 4 /* 7_SLICE */, 0, &v2),
            NVML_ERROR_NOT_SUPPORTED);
  EXPECT_RC(nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, 0, NULL, &n), NVML_SUCCESS);
  EXPECT(n == 3);
  EXPECT_RC(nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, 0, p, &n), NVML_SUCCESS);
  EXPECT(p[2].start == 2 && p[2].size == 1);
  EXPECT_RC(nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 0, &at1, &ci), NVML_SUCCESS);
  EXPECT_RC(nvmlComputeInstanceGetInfo_v2(ci, &info), NVML_SUCCESS);
  EXPECT(info.gpuInstance == gi && info.id == 0 && info.profileId == 0 &&
         info.placement.start == 1);
  EXPECT_RC(nvmlGpuInstanceCreateComputeInstance(gi, 0, &second), NVML_SUCCESS);
  EXPECT_RC(nvmlComputeInstanceGetInfo(second, &info), NVML_SUCCESS);
  EXPECT(info.id == 1 && info.placement.start == 0);
  EXPECT_RC(nvmlGpuInstanceCreateComputeInstance(gi, 2, &second),
            NVML_ERROR_INSUFFICIENT_RESOURCES);
  EXPECT_RC(nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, 0, &n), NVML_SUCCESS);
  EXPECT(n == 1);
  EXPECT_RC(nvmlGpuInstanceGetComputeInstanceById(gi, 1, &second), NVML_SUCCESS);
  EXPECT_RC(nvmlGpuInstanceGetComputeInstanceById(gi, 7, &second), NVML_ERROR_NOT_FOUND);
  EXPECT_RC(nvmlGpuInstanceDestroy(gi), NVML_ERROR_IN_USE); /* it has compute instances */
  *first = ci;
}

static void mig_devices(nvmlDevice_t d0) {
  unsigned int max = 0, j, found = 0, missing = 0, v = 0;
  char buf[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
  EXPECT_RC(nvmlDeviceGetMaxMigDeviceCount(d0, &max), NVML_SUCCESS);
  EXPECT(max == 7);
  for (j = 0; j < max; ++j) {
    nvmlDevice_t mig = NULL, parent = NULL, by_uuid = NULL;
    nvmlReturn_t rc = nvmlDeviceGetMigDeviceHandleByIndex(d0, j, &mig);
    if (rc == NVML_ERROR_NOT_FOUND) {
      ++missing;
      continue;
    }
    EXPECT_RC(rc, NVML_SUCCESS);
    ++found;
    EXPECT_RC(nvmlDeviceIsMigDeviceHandle(mig, &v), NVML_SUCCESS);
    EXPECT(v == 1);
    EXPECT_RC(nvmlDeviceGetGpuInstanceId(mig, &v), NVML_SUCCESS);
    EXPECT(v == 2);
    EXPECT_RC(nvmlDeviceGetIndex(mig, &v), NVML_SUCCESS);
    EXPECT(v == j);
    EXPECT_RC(nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig, &parent), NVML_SUCCESS);
    EXPECT(parent == d0);
    EXPECT_RC(nvmlDeviceGetName(mig, buf, sizeof buf), NVML_SUCCESS);
    EXPECT(strcmp(buf, "NVIDIA H100 80GB HBM3 MIG 1c.3g.40gb") == 0);
    EXPECT_RC(nvmlDeviceGetUUID(mig, buf, sizeof buf), NVML_SUCCESS);
    EXPECT(strncmp(buf, "MIG-", 4) == 0);
    EXPECT_RC(nvmlDeviceGetHandleByUUID(buf, &by_uuid), NVML_SUCCESS);
    EXPECT(by_uuid == mig);
    nvmlMemory_t mem;
    EXPECT_RC(nvmlDeviceGetMemoryInfo(mig, &mem), NVML_SUCCESS);
    EXPECT(mem.total == 40448ull << 20);
    nvmlDeviceAttributes_t a;
    EXPECT_RC(nvmlDeviceGetAttributes_v2(mig, &a), NVML_SUCCESS);
    EXPECT(a.gpuInstanceSliceCount == 3 && a.computeInstanceSliceCount == 1 &&
           a.memorySizeMB == 40448);
  }
  EXPECT(found == 2 && missing == 5); /* sparse: the slots of GI 2's compute slices 4 and 5 */
  EXPECT_RC(nvmlDeviceGetMigDeviceHandleByIndex(d0, max, NULL), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_RC(nvmlDeviceGetGpuInstanceId(d0, &v), NVML_ERROR_NOT_SUPPORTED);
}

static void processes(nvmlDevice_t d0, nvmlComputeInstance_t ci) {
  char args[1024], name[64];
  nvmlProcessInfo_t infos[4];
  unsigned int n = 0;
  snprintf(args, sizeof args, "attach %s -i 0 --gi 2 --ci 0 --pid 4242 --name job --memory 1024",
           state);
  carve(args);
  EXPECT_RC(nvmlDeviceGetComputeRunningProcesses_v3(d0, &n, NULL), NVML_ERROR_INSUFFICIENT_SIZE);
  EXPECT(n == 1);
  EXPECT_RC(nvmlDeviceGetComputeRunningProcesses_v3(d0, &n, infos), NVML_SUCCESS);
  EXPECT(n == 1 && infos[0].pid == 4242 && infos[0].usedGpuMemory == 1024ull << 20);
  EXPECT(infos[0].gpuInstanceId == 2 && infos[0].computeInstanceId == 0);
  EXPECT_RC(nvmlSystemGetProcessName(4242, name, sizeof name), NVML_SUCCESS);
  EXPECT(strcmp(name, "job") == 0);
  EXPECT_RC(nvmlComputeInstanceDestroy(ci), NVML_ERROR_IN_USE); /* a process runs on it */
  snprintf(args, sizeof args, "detach %s --pid 4242", state);
  carve(args);
  EXPECT_RC(nvmlComputeInstanceDestroy(ci), NVML_SUCCESS);
  nvmlComputeInstanceInfo_t info;
  EXPECT_RC(nvmlComputeInstanceGetInfo_v2(ci, &info),
            NVML_ERROR_INVALID_ARGUMENT); /* dead handle */
}

static void teardown_and_mig_off(nvmlDevice_t d0, nvmlGpuInstance_t gi) {
  nvmlComputeInstance_t ci = NULL;
  nvmlGpuInstance_t gis[2];
  unsigned int n = 2, i, current = 9, pending = 9, max = 9;
  nvmlReturn_t activation = NVML_ERROR_UNKNOWN;
  EXPECT_RC(nvmlGpuInstanceGetComputeInstanceById(gi, 1, &ci), NVML_SUCCESS);
  EXPECT_RC(nvmlComputeInstanceDestroy(ci), NVML_SUCCESS);
  EXPECT_RC(nvmlDeviceGetGpuInstances(d0, 9, gis, &n), NVML_SUCCESS);
  for (i = 0; i < n; ++i) EXPECT_RC(nvmlGpuInstanceDestroy(gis[i]), NVML_SUCCESS);
  EXPECT_RC(nvmlDeviceSetMigMode(d0, 2, &activation), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_RC(nvmlDeviceSetMigMode(d0, NVML_DEVICE_MIG_DISABLE, &activation), NVML_SUCCESS);
  EXPECT(activation == NVML_SUCCESS);
  EXPECT_RC(nvmlDeviceGetMigMode(d0, &current, &pending), NVML_SUCCESS);
  EXPECT(current == 0 && pending == 0);
  nvmlGpuInstanceProfileInfo_v2_t v2;
  nvmlGpuInstanceProfileInfo_t v1;
  v2.version = nvmlGpuInstanceProfileInfo_v2;
  EXPECT_RC(nvmlDeviceGetGpuInstanceProfileInfoV(d0, 0, &v2),
            NVML_ERROR_NOT_SUPPORTED);                                      /* MIG off */
  EXPECT_RC(nvmlDeviceGetGpuInstanceProfileInfo(d0, 0, &v1), NVML_SUCCESS); /* any mode */
  EXPECT_RC(nvmlDeviceGetGpuInstancePossiblePlacements_v2(d0, 19, NULL, &n), NVML_SUCCESS);
  EXPECT_RC(nvmlDeviceCreateGpuInstance(d0, 19, &gi), NVML_ERROR_NOT_SUPPORTED);
  EXPECT_RC(nvmlDeviceGetMaxMigDeviceCount(d0, &max), NVML_SUCCESS);
  EXPECT(max == 0);
}

static void a100(void) {
  nvmlDevice_t d1 = NULL;
  nvmlGpuInstanceProfileInfo_v2_t v2;
  nvmlGpuInstancePlacement_t p[4];
  unsigned int n = 4;
  EXPECT_RC(nvmlDeviceGetHandleByIndex_v2(1, &d1), NVML_SUCCESS);
  v2.version = nvmlGpuInstanceProfileInfo_v2;
  EXPECT_RC(nvmlDeviceGetGpuInstanceProfileInfoV(d1, 0x9 /* 1_SLICE_REV2 */, &v2), NVML_SUCCESS);
  EXPECT(v2.id == 15 && strcmp(v2.name, "MIG 1g.10gb") == 0);
  EXPECT_RC(nvmlDeviceGetGpuInstancePossiblePlacements_v2(d1, 15, p, &n), NVML_SUCCESS);
  EXPECT(n == 4 && p[3].start == 6 && p[3].size == 2);
}

int main(int argc, char** argv) {
  char args[1024];
  nvmlDevice_t d0;
  nvmlGpuInstance_t gi;
  nvmlComputeInstance_t ci = NULL;
  if (argc != 3) return fprintf(stderr, "usage: %s CARVE_BIN STATE_FILE\n", argv[0]), 2;
  carve_bin = argv[1];
  state = argv[2];
  snprintf(args, sizeof args, "new %s h100-80gb a100-40gb --mig on --seed 3 --force", state);
  carve(args);
  setenv("CARVE_SIM", state, 1);
  init_refcount();
  d0 = devices();
  profiles(d0);
  placements(d0);
  gi = gpu_instances(d0);
  compute_instances(gi, &ci);
  mig_devices(d0);
  processes(d0, ci);
  teardown_and_mig_off(d0, gi);
  a100();
  EXPECT_RC(nvmlShutdown(), NVML_SUCCESS);
  if (failures)
    fprintf(stderr, "%d check(s) failed\n", failures);
  else
    printf("NVML ABI walk: all checks passed\n");
  return failures ? 1 : 0;
}
