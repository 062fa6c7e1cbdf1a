/* carve's own minimal NVML declarations (C and C++), written from the facts in
 * NVIDIA's NVML API reference (functions and layouts listed in
 * docs/nvml-simulator.md); no NVIDIA header is copied. Used by three
 * users: the NVML backend (function-pointer types for dlsym), the drop-in
 * libnvidia-ml.so.1 (the exported definitions) and the C conformance test.
 * Every struct's size and field offsets are checked at compile time against
 * the measured x86-64 values. */
#ifndef CARVE_DEVICE_NVML_NVML_API_H_
#define CARVE_DEVICE_NVML_NVML_API_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#define CARVE_NVML_STATIC_ASSERT static_assert
#define CARVE_NVML_ALIGNOF alignof
#else
#define CARVE_NVML_STATIC_ASSERT _Static_assert
#define CARVE_NVML_ALIGNOF _Alignof
#endif

/* ---- scalar types and handles (NVML API reference) ---------------------- */
typedef int nvmlEnableState_t; /* DISABLED=0, ENABLED=1 */
typedef unsigned int nvmlDeviceArchitecture_t;
typedef struct nvmlDevice_st* nvmlDevice_t;
typedef struct nvmlGpuInstance_st* nvmlGpuInstance_t;
typedef struct nvmlComputeInstance_st* nvmlComputeInstance_t;
typedef struct nvmlGpmSample_st* nvmlGpmSample_t; /* GPM: an opaque sample buffer */
typedef struct nvmlEventSet_st* nvmlEventSet_t;   /* events: an opaque set */

/* ---- return codes: a C enum, 4 bytes --------------------------- */
typedef enum nvmlReturn_enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NO_PERMISSION = 4,
  NVML_ERROR_ALREADY_INITIALIZED = 5,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_INSUFFICIENT_POWER = 8,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_TIMEOUT = 10,
  NVML_ERROR_IRQ_ISSUE = 11,
  NVML_ERROR_LIBRARY_NOT_FOUND = 12,
  NVML_ERROR_FUNCTION_NOT_FOUND = 13,
  NVML_ERROR_CORRUPTED_INFOROM = 14,
  NVML_ERROR_GPU_IS_LOST = 15,
  NVML_ERROR_RESET_REQUIRED = 16,
  NVML_ERROR_OPERATING_SYSTEM = 17,
  NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
  NVML_ERROR_IN_USE = 19,
  NVML_ERROR_MEMORY = 20,
  NVML_ERROR_NO_DATA = 21,
  NVML_ERROR_VGPU_ECC_NOT_SUPPORTED = 22,
  NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
  NVML_ERROR_FREQ_NOT_SUPPORTED = 24,
  NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
  NVML_ERROR_DEPRECATED = 26,
  NVML_ERROR_NOT_READY = 27,
  NVML_ERROR_GPU_NOT_FOUND = 28,
  NVML_ERROR_INVALID_STATE = 29,
  NVML_ERROR_RESET_TYPE_NOT_SUPPORTED = 30,
  NVML_ERROR_UNKNOWN = 999
} nvmlReturn_t;

/* ---- constants ----------------------------------------------- */
enum {
  NVML_FEATURE_DISABLED = 0,
  NVML_FEATURE_ENABLED = 1,
  NVML_DEVICE_MIG_DISABLE = 0,
  NVML_DEVICE_MIG_ENABLE = 1,
  NVML_INIT_FLAG_NO_GPUS = 1,
  NVML_INIT_FLAG_NO_ATTACH = 2,
  NVML_INIT_FLAG_FORCE_INIT = 4,
  NVML_GPU_INSTANCE_PROFILE_COUNT = 0x12,
  NVML_COMPUTE_INSTANCE_PROFILE_COUNT = 9,
  NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED = 0,
  NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_COUNT = 1,
  NVML_GPU_INSTANCE_PROFILE_CAPS_P2P = 0x1,
  NVML_GPU_INSTANCE_PROFILE_CAPS_GFX = 0x2,
  NVML_COMPUTE_INSTANCE_PROFILE_CAPS_GFX = 0x1,
  NVML_DEVICE_UUID_BUFFER_SIZE = 80,
  NVML_DEVICE_UUID_V2_BUFFER_SIZE = 96,
  NVML_DEVICE_NAME_BUFFER_SIZE = 64,
  NVML_DEVICE_NAME_V2_BUFFER_SIZE = 96,
  NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE = 80,
  NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE = 80,
  NVML_DEVICE_SERIAL_BUFFER_SIZE = 30,
  NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE = 32,
  NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE = 16,
  NVML_DEVICE_ARCH_AMPERE = 7,
  NVML_DEVICE_ARCH_ADA = 8,
  NVML_DEVICE_ARCH_HOPPER = 9,
  NVML_DEVICE_ARCH_BLACKWELL = 10
};
#define NVML_DEVICE_ARCH_UNKNOWN 0xffffffffu
#define NVML_VALUE_NOT_AVAILABLE (~0ull)
#define NVML_INSTANCE_ID_NONE 0xFFFFFFFFu /* process gi/ci when MIG is off */

/* NVML_STRUCT_VERSION(name, ver) = sizeof(nvml<name>_v<ver>_t) | ver << 24 */
#define nvmlGpuInstanceProfileInfo_v2 0x02000098u
#define nvmlGpuInstanceProfileInfo_v3 0x03000098u
#define nvmlComputeInstanceProfileInfo_v2 0x02000088u
#define nvmlComputeInstanceProfileInfo_v3 0x0300008Cu
#define nvmlMemory_v2 0x02000028u

/* ---- structs ------------------------------------------------- */
typedef struct {
  unsigned int id, isP2pSupported, sliceCount, instanceCount, multiprocessorCount;
  unsigned int copyEngineCount, decoderCount, encoderCount, jpegCount, ofaCount;
  unsigned long long memorySizeMB;
} nvmlGpuInstanceProfileInfo_t;

typedef struct {
  unsigned int version, id, isP2pSupported, sliceCount, instanceCount, multiprocessorCount;
  unsigned int copyEngineCount, decoderCount, encoderCount, jpegCount, ofaCount;
  unsigned long long memorySizeMB;
  char name[96];
} nvmlGpuInstanceProfileInfo_v2_t;

typedef struct {
  unsigned int version, id, sliceCount, instanceCount, multiprocessorCount;
  unsigned int copyEngineCount, decoderCount, encoderCount, jpegCount, ofaCount;
  unsigned long long memorySizeMB;
  char name[96];
  unsigned int capabilities;
} nvmlGpuInstanceProfileInfo_v3_t;

typedef struct {
  unsigned int id, sliceCount, instanceCount, multiprocessorCount;
  unsigned int sharedCopyEngineCount, sharedDecoderCount, sharedEncoderCount;
  unsigned int sharedJpegCount, sharedOfaCount;
} nvmlComputeInstanceProfileInfo_t;

typedef struct {
  unsigned int version, id, sliceCount, instanceCount, multiprocessorCount;
  unsigned int sharedCopyEngineCount, sharedDecoderCount, sharedEncoderCount;
  unsigned int sharedJpegCount, sharedOfaCount;
  char name[96];
} nvmlComputeInstanceProfileInfo_v2_t;

typedef struct {
  unsigned int version, id, sliceCount, instanceCount, multiprocessorCount;
  unsigned int sharedCopyEngineCount, sharedDecoderCount, sharedEncoderCount;
  unsigned int sharedJpegCount, sharedOfaCount;
  char name[96];
  unsigned int capabilities;
} nvmlComputeInstanceProfileInfo_v3_t;

typedef struct {
  unsigned int start, size; /* memory slices */
} nvmlGpuInstancePlacement_t;

typedef struct {
  unsigned int start, size; /* compute slices inside the GPU instance */
} nvmlComputeInstancePlacement_t;

typedef struct {
  nvmlDevice_t device;
  unsigned int id, profileId;
  nvmlGpuInstancePlacement_t placement;
} nvmlGpuInstanceInfo_t;

typedef struct {
  nvmlDevice_t device;
  nvmlGpuInstance_t gpuInstance;
  unsigned int id, profileId;
  nvmlComputeInstancePlacement_t placement;
} nvmlComputeInstanceInfo_t;

typedef struct {
  unsigned long long total, free, used; /* bytes */
} nvmlMemory_t;

typedef struct {
  unsigned int version;
  unsigned long long total, reserved, free, used;
} nvmlMemory_v2_t;

typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;

typedef struct {
  unsigned int multiprocessorCount, sharedCopyEngineCount, sharedDecoderCount;
  unsigned int sharedEncoderCount, sharedJpegCount, sharedOfaCount;
  unsigned int gpuInstanceSliceCount, computeInstanceSliceCount;
  unsigned long long memorySizeMB;
} nvmlDeviceAttributes_t;

typedef struct {
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
} nvmlPciInfo_t;

/* ---- GPM, performance counters per GPU and per MIG GPU instance (Hopper+) --
 * Two samples give metrics over the time between them; values are percent
 * (0.0-100.0). Metric ids and struct versions as nvml.h documents them. The
 * caller's metrics[] holds as many entries as its header's
 * NVML_GPM_METRIC_MAX (98 in 12.0, 333 in 12.4 and later); a library reads
 * and writes only the first numMetrics. */
#define NVML_GPM_METRICS_GET_VERSION 1u
#define NVML_GPM_SUPPORT_VERSION 1u
#define NVML_GPM_METRIC_MAX 333
enum {
  NVML_GPM_METRIC_SM_UTIL = 2,         /* percent of SMs busy */
  NVML_GPM_METRIC_ANY_TENSOR_UTIL = 5, /* percent of time in any tensor operation */
  NVML_GPM_METRIC_DRAM_BW_UTIL = 10    /* percent of the theoretical DRAM bandwidth */
};

typedef struct {
  unsigned int version; /* NVML_GPM_SUPPORT_VERSION */
  unsigned int isSupportedDevice;
} nvmlGpmSupport_t;

typedef struct {
  unsigned int metricId;   /* in */
  nvmlReturn_t nvmlReturn; /* out: this metric's status */
  double value;            /* out, when nvmlReturn is NVML_SUCCESS */
  struct {
    char *shortName, *longName, *unit;
  } metricInfo; /* out; the library's static strings */
} nvmlGpmMetric_t;

typedef struct {
  unsigned int version; /* NVML_GPM_METRICS_GET_VERSION */
  unsigned int numMetrics;
  nvmlGpmSample_t sample1, sample2;
  nvmlGpmMetric_t metrics[NVML_GPM_METRIC_MAX];
} nvmlGpmMetricsGet_t;

/* ---- events (Event Handling Methods): what a client waits for --------------
 * Event types are bits of an unsigned long long. An Xid critical error
 * carries the Xid in eventData and, in MIG mode, the GPU and compute instance
 * it is attributable to (NVML_INSTANCE_ID_NONE where it is not). */
#define nvmlEventTypeNone 0x0000000000000000ull
#define nvmlEventTypeSingleBitEccError 0x0000000000000001ull
#define nvmlEventTypeDoubleBitEccError 0x0000000000000002ull
#define nvmlEventTypePState 0x0000000000000004ull
#define nvmlEventTypeXidCriticalError 0x0000000000000008ull
#define nvmlEventTypeClock 0x0000000000000010ull

typedef struct {
  nvmlDevice_t device;          /* the physical GPU it happened on */
  unsigned long long eventType; /* one nvmlEventType* bit */
  unsigned long long eventData; /* the Xid, for nvmlEventTypeXidCriticalError */
  unsigned int gpuInstanceId;   /* MIG: the GPU instance, or NVML_INSTANCE_ID_NONE */
  unsigned int computeInstanceId;
} nvmlEventData_t;

/* ---- the measured layouts, checked ---------------------------------------- */
#define CARVE_NVML_LAYOUT(type, size_, field, off)                                    \
  CARVE_NVML_STATIC_ASSERT(sizeof(type) == (size_) && offsetof(type, field) == (off), \
                           #type "." #field)
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_t, 48, id, 0);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_t, 48, isP2pSupported, 4);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_t, 48, sliceCount, 8);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_t, 48, ofaCount, 36);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_t, 48, memorySizeMB, 40);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v2_t, 152, id, 4);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v2_t, 152, isP2pSupported, 8);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v2_t, 152, sliceCount, 12);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v2_t, 152, multiprocessorCount, 20);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v2_t, 152, ofaCount, 40);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v2_t, 152, memorySizeMB, 48);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v2_t, 152, name, 56);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v3_t, 152, id, 4);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v3_t, 152, sliceCount, 8);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v3_t, 152, multiprocessorCount, 16);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v3_t, 152, ofaCount, 36);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v3_t, 152, memorySizeMB, 40);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v3_t, 152, name, 48);
CARVE_NVML_LAYOUT(nvmlGpuInstanceProfileInfo_v3_t, 152, capabilities, 144);
CARVE_NVML_LAYOUT(nvmlComputeInstanceProfileInfo_t, 36, id, 0);
CARVE_NVML_LAYOUT(nvmlComputeInstanceProfileInfo_t, 36, multiprocessorCount, 12);
CARVE_NVML_LAYOUT(nvmlComputeInstanceProfileInfo_t, 36, sharedOfaCount, 32);
CARVE_NVML_LAYOUT(nvmlComputeInstanceProfileInfo_v2_t, 136, id, 4);
CARVE_NVML_LAYOUT(nvmlComputeInstanceProfileInfo_v2_t, 136, multiprocessorCount, 16);
CARVE_NVML_LAYOUT(nvmlComputeInstanceProfileInfo_v2_t, 136, sharedOfaCount, 36);
CARVE_NVML_LAYOUT(nvmlComputeInstanceProfileInfo_v2_t, 136, name, 40);
CARVE_NVML_LAYOUT(nvmlComputeInstanceProfileInfo_v3_t, 140, name, 40);
CARVE_NVML_LAYOUT(nvmlComputeInstanceProfileInfo_v3_t, 140, capabilities, 136);
CARVE_NVML_LAYOUT(nvmlGpuInstancePlacement_t, 8, size, 4);
CARVE_NVML_LAYOUT(nvmlComputeInstancePlacement_t, 8, size, 4);
CARVE_NVML_LAYOUT(nvmlGpuInstanceInfo_t, 24, id, 8);
CARVE_NVML_LAYOUT(nvmlGpuInstanceInfo_t, 24, profileId, 12);
CARVE_NVML_LAYOUT(nvmlGpuInstanceInfo_t, 24, placement, 16);
CARVE_NVML_LAYOUT(nvmlComputeInstanceInfo_t, 32, gpuInstance, 8);
CARVE_NVML_LAYOUT(nvmlComputeInstanceInfo_t, 32, id, 16);
CARVE_NVML_LAYOUT(nvmlComputeInstanceInfo_t, 32, profileId, 20);
CARVE_NVML_LAYOUT(nvmlComputeInstanceInfo_t, 32, placement, 24);
CARVE_NVML_LAYOUT(nvmlMemory_t, 24, free, 8);
CARVE_NVML_LAYOUT(nvmlMemory_t, 24, used, 16);
CARVE_NVML_LAYOUT(nvmlMemory_v2_t, 40, total, 8);
CARVE_NVML_LAYOUT(nvmlMemory_v2_t, 40, reserved, 16);
CARVE_NVML_LAYOUT(nvmlMemory_v2_t, 40, free, 24);
CARVE_NVML_LAYOUT(nvmlMemory_v2_t, 40, used, 32);
CARVE_NVML_LAYOUT(nvmlProcessInfo_v1_t, 16, usedGpuMemory, 8);
CARVE_NVML_LAYOUT(nvmlProcessInfo_t, 24, usedGpuMemory, 8);
CARVE_NVML_LAYOUT(nvmlProcessInfo_t, 24, gpuInstanceId, 16);
CARVE_NVML_LAYOUT(nvmlProcessInfo_t, 24, computeInstanceId, 20);
CARVE_NVML_LAYOUT(nvmlDeviceAttributes_t, 40, sharedOfaCount, 20);
CARVE_NVML_LAYOUT(nvmlDeviceAttributes_t, 40, gpuInstanceSliceCount, 24);
CARVE_NVML_LAYOUT(nvmlDeviceAttributes_t, 40, computeInstanceSliceCount, 28);
CARVE_NVML_LAYOUT(nvmlDeviceAttributes_t, 40, memorySizeMB, 32);
CARVE_NVML_LAYOUT(nvmlPciInfo_t, 68, domain, 16);
CARVE_NVML_LAYOUT(nvmlPciInfo_t, 68, bus, 20);
CARVE_NVML_LAYOUT(nvmlPciInfo_t, 68, device, 24);
CARVE_NVML_LAYOUT(nvmlPciInfo_t, 68, pciDeviceId, 28);
CARVE_NVML_LAYOUT(nvmlPciInfo_t, 68, pciSubSystemId, 32);
CARVE_NVML_LAYOUT(nvmlPciInfo_t, 68, busId, 36);
CARVE_NVML_LAYOUT(nvmlGpmSupport_t, 8, isSupportedDevice, 4);
CARVE_NVML_LAYOUT(nvmlGpmMetric_t, 40, nvmlReturn, 4);
CARVE_NVML_LAYOUT(nvmlGpmMetric_t, 40, value, 8);
CARVE_NVML_LAYOUT(nvmlGpmMetric_t, 40, metricInfo, 16);
CARVE_NVML_LAYOUT(nvmlGpmMetricsGet_t, 24 + 40 * NVML_GPM_METRIC_MAX, sample1, 8);
CARVE_NVML_LAYOUT(nvmlGpmMetricsGet_t, 24 + 40 * NVML_GPM_METRIC_MAX, sample2, 16);
CARVE_NVML_LAYOUT(nvmlGpmMetricsGet_t, 24 + 40 * NVML_GPM_METRIC_MAX, metrics, 24);
CARVE_NVML_LAYOUT(nvmlEventData_t, 32, eventType, 8);
CARVE_NVML_LAYOUT(nvmlEventData_t, 32, eventData, 16);
CARVE_NVML_LAYOUT(nvmlEventData_t, 32, gpuInstanceId, 24);
CARVE_NVML_LAYOUT(nvmlEventData_t, 32, computeInstanceId, 28);
CARVE_NVML_STATIC_ASSERT(CARVE_NVML_ALIGNOF(nvmlGpuInstanceProfileInfo_v3_t) == 8, "GI v3 align");
CARVE_NVML_STATIC_ASSERT(CARVE_NVML_ALIGNOF(nvmlComputeInstanceProfileInfo_v3_t) == 4,
                         "CI v3 align");
CARVE_NVML_STATIC_ASSERT(sizeof(nvmlDevice_t) == 8, "handles are pointers");
CARVE_NVML_STATIC_ASSERT(sizeof(nvmlReturn_t) == 4, "nvmlReturn_t is a 4-byte enum");

/* ---- functions (with the extras and v1 aliases) --------------- */
#define CARVE_NVML_FUNCTIONS(X)                                                                    \
  X(nvmlInit_v2, (void))                                                                           \
  X(nvmlInit, (void))                                                                              \
  X(nvmlInitWithFlags, (unsigned int flags))                                                       \
  X(nvmlShutdown, (void))                                                                          \
  X(nvmlSystemGetDriverVersion, (char* version, unsigned int length))                              \
  X(nvmlSystemGetNVMLVersion, (char* version, unsigned int length))                                \
  X(nvmlSystemGetCudaDriverVersion, (int* version))                                                \
  X(nvmlSystemGetCudaDriverVersion_v2, (int* version))                                             \
  X(nvmlSystemGetProcessName, (unsigned int pid, char* name, unsigned int length))                 \
  X(nvmlDeviceGetCount_v2, (unsigned int* count))                                                  \
  X(nvmlDeviceGetCount, (unsigned int* count))                                                     \
  X(nvmlDeviceGetHandleByIndex_v2, (unsigned int index, nvmlDevice_t* device))                     \
  X(nvmlDeviceGetHandleByIndex, (unsigned int index, nvmlDevice_t* device))                        \
  X(nvmlDeviceGetHandleByUUID, (const char* uuid, nvmlDevice_t* device))                           \
  X(nvmlDeviceGetHandleByPciBusId_v2, (const char* busId, nvmlDevice_t* device))                   \
  X(nvmlDeviceGetHandleByPciBusId, (const char* busId, nvmlDevice_t* device))                      \
  X(nvmlDeviceGetName, (nvmlDevice_t device, char* name, unsigned int length))                     \
  X(nvmlDeviceGetUUID, (nvmlDevice_t device, char* uuid, unsigned int length))                     \
  X(nvmlDeviceGetIndex, (nvmlDevice_t device, unsigned int* index))                                \
  X(nvmlDeviceGetSerial, (nvmlDevice_t device, char* serial, unsigned int length))                 \
  X(nvmlDeviceGetMinorNumber, (nvmlDevice_t device, unsigned int* minor))                          \
  X(nvmlDeviceGetPciInfo_v3, (nvmlDevice_t device, nvmlPciInfo_t * pci))                           \
  X(nvmlDeviceGetPciInfo_v2, (nvmlDevice_t device, nvmlPciInfo_t * pci))                           \
  X(nvmlDeviceGetPciInfo, (nvmlDevice_t device, nvmlPciInfo_t * pci))                              \
  X(nvmlDeviceGetMemoryInfo, (nvmlDevice_t device, nvmlMemory_t * memory))                         \
  X(nvmlDeviceGetMemoryInfo_v2, (nvmlDevice_t device, nvmlMemory_v2_t * memory))                   \
  X(nvmlDeviceGetArchitecture, (nvmlDevice_t device, nvmlDeviceArchitecture_t * arch))             \
  X(nvmlDeviceGetPersistenceMode, (nvmlDevice_t device, nvmlEnableState_t * mode))                 \
  X(nvmlDeviceGetEccMode,                                                                          \
    (nvmlDevice_t device, nvmlEnableState_t * current, nvmlEnableState_t * pending))               \
  X(nvmlDeviceGetCudaComputeCapability, (nvmlDevice_t device, int* major, int* minor))             \
  X(nvmlDeviceGetAttributes_v2, (nvmlDevice_t device, nvmlDeviceAttributes_t * attributes))        \
  X(nvmlDeviceGetAttributes, (nvmlDevice_t device, nvmlDeviceAttributes_t * attributes))           \
  X(nvmlDeviceGetComputeRunningProcesses_v3,                                                       \
    (nvmlDevice_t device, unsigned int* infoCount, nvmlProcessInfo_t* infos))                      \
  X(nvmlDeviceGetComputeRunningProcesses_v2,                                                       \
    (nvmlDevice_t device, unsigned int* infoCount, nvmlProcessInfo_t* infos))                      \
  X(nvmlDeviceGetComputeRunningProcesses,                                                          \
    (nvmlDevice_t device, unsigned int* infoCount, nvmlProcessInfo_v1_t* infos))                   \
  X(nvmlDeviceGetGraphicsRunningProcesses_v3,                                                      \
    (nvmlDevice_t device, unsigned int* infoCount, nvmlProcessInfo_t* infos))                      \
  X(nvmlDeviceGetMPSComputeRunningProcesses_v3,                                                    \
    (nvmlDevice_t device, unsigned int* infoCount, nvmlProcessInfo_t* infos))                      \
  X(nvmlDeviceGetMigMode,                                                                          \
    (nvmlDevice_t device, unsigned int* currentMode, unsigned int* pendingMode))                   \
  X(nvmlDeviceSetMigMode,                                                                          \
    (nvmlDevice_t device, unsigned int mode, nvmlReturn_t* activationStatus))                      \
  X(nvmlDeviceGetGpuInstanceProfileInfo,                                                           \
    (nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_t* info))               \
  X(nvmlDeviceGetGpuInstanceProfileInfoV,                                                          \
    (nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_v2_t* info))            \
  X(nvmlDeviceGetGpuInstanceProfileInfoByIdV,                                                      \
    (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstanceProfileInfo_v2_t* info))          \
  X(nvmlDeviceGetGpuInstancePossiblePlacements_v2,                                                 \
    (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstancePlacement_t* placements,          \
     unsigned int* count))                                                                         \
  X(nvmlDeviceGetGpuInstancePossiblePlacements,                                                    \
    (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstancePlacement_t* placements,          \
     unsigned int* count))                                                                         \
  X(nvmlDeviceGetGpuInstanceRemainingCapacity,                                                     \
    (nvmlDevice_t device, unsigned int profileId, unsigned int* count))                            \
  X(nvmlDeviceCreateGpuInstance,                                                                   \
    (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstance_t* gpuInstance))                 \
  X(nvmlDeviceCreateGpuInstanceWithPlacement,                                                      \
    (nvmlDevice_t device, unsigned int profileId, const nvmlGpuInstancePlacement_t* placement,     \
     nvmlGpuInstance_t* gpuInstance))                                                              \
  X(nvmlGpuInstanceDestroy, (nvmlGpuInstance_t gpuInstance))                                       \
  X(nvmlDeviceGetGpuInstances, (nvmlDevice_t device, unsigned int profileId,                       \
                                nvmlGpuInstance_t* gpuInstances, unsigned int* count))             \
  X(nvmlDeviceGetGpuInstanceById,                                                                  \
    (nvmlDevice_t device, unsigned int id, nvmlGpuInstance_t* gpuInstance))                        \
  X(nvmlGpuInstanceGetInfo, (nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t * info))         \
  X(nvmlGpuInstanceGetComputeInstanceProfileInfo,                                                  \
    (nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,                 \
     nvmlComputeInstanceProfileInfo_t* info))                                                      \
  X(nvmlGpuInstanceGetComputeInstanceProfileInfoV,                                                 \
    (nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,                 \
     nvmlComputeInstanceProfileInfo_v2_t* info))                                                   \
  X(nvmlGpuInstanceGetComputeInstanceRemainingCapacity,                                            \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId, unsigned int* count))                  \
  X(nvmlGpuInstanceGetComputeInstancePossiblePlacements,                                           \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId,                                        \
     nvmlComputeInstancePlacement_t* placements, unsigned int* count))                             \
  X(nvmlGpuInstanceCreateComputeInstance, (nvmlGpuInstance_t gpuInstance, unsigned int profileId,  \
                                           nvmlComputeInstance_t* computeInstance))                \
  X(nvmlGpuInstanceCreateComputeInstanceWithPlacement,                                             \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId,                                        \
     const nvmlComputeInstancePlacement_t* placement, nvmlComputeInstance_t* computeInstance))     \
  X(nvmlComputeInstanceDestroy, (nvmlComputeInstance_t computeInstance))                           \
  X(nvmlGpuInstanceGetComputeInstances,                                                            \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId,                                        \
     nvmlComputeInstance_t* computeInstances, unsigned int* count))                                \
  X(nvmlGpuInstanceGetComputeInstanceById,                                                         \
    (nvmlGpuInstance_t gpuInstance, unsigned int id, nvmlComputeInstance_t* computeInstance))      \
  X(nvmlComputeInstanceGetInfo_v2,                                                                 \
    (nvmlComputeInstance_t computeInstance, nvmlComputeInstanceInfo_t * info))                     \
  X(nvmlComputeInstanceGetInfo,                                                                    \
    (nvmlComputeInstance_t computeInstance, nvmlComputeInstanceInfo_t * info))                     \
  X(nvmlDeviceIsMigDeviceHandle, (nvmlDevice_t device, unsigned int* isMigDevice))                 \
  X(nvmlDeviceGetGpuInstanceId, (nvmlDevice_t device, unsigned int* id))                           \
  X(nvmlDeviceGetComputeInstanceId, (nvmlDevice_t device, unsigned int* id))                       \
  X(nvmlDeviceGetMaxMigDeviceCount, (nvmlDevice_t device, unsigned int* count))                    \
  X(nvmlDeviceGetMigDeviceHandleByIndex,                                                           \
    (nvmlDevice_t device, unsigned int index, nvmlDevice_t* migDevice))                            \
  X(nvmlDeviceGetDeviceHandleFromMigDeviceHandle, (nvmlDevice_t migDevice, nvmlDevice_t * device)) \
  X(nvmlGpmQueryDeviceSupport, (nvmlDevice_t device, nvmlGpmSupport_t * gpmSupport))               \
  X(nvmlGpmSampleAlloc, (nvmlGpmSample_t * gpmSample))                                             \
  X(nvmlGpmSampleFree, (nvmlGpmSample_t gpmSample))                                                \
  X(nvmlGpmSampleGet, (nvmlDevice_t device, nvmlGpmSample_t gpmSample))                            \
  X(nvmlGpmMigSampleGet,                                                                           \
    (nvmlDevice_t device, unsigned int gpuInstanceId, nvmlGpmSample_t gpmSample))                  \
  X(nvmlGpmMetricsGet, (nvmlGpmMetricsGet_t * metricsGet))                                         \
  X(nvmlEventSetCreate, (nvmlEventSet_t * set))                                                    \
  X(nvmlDeviceRegisterEvents,                                                                      \
    (nvmlDevice_t device, unsigned long long eventTypes, nvmlEventSet_t set))                      \
  X(nvmlDeviceGetSupportedEventTypes, (nvmlDevice_t device, unsigned long long* eventTypes))       \
  X(nvmlEventSetWait_v2, (nvmlEventSet_t set, nvmlEventData_t * data, unsigned int timeoutms))     \
  X(nvmlEventSetWait, (nvmlEventSet_t set, nvmlEventData_t * data, unsigned int timeoutms))        \
  X(nvmlEventSetFree, (nvmlEventSet_t set))

/* carve's drop-in adds these (absent from NVIDIA's library): they tell a
 * client it runs on the simulator, and stop a simulated process. */
#define CARVE_SIM_FUNCTIONS(X)                            \
  X(carveSimStatePath, (char* path, unsigned int length)) \
  X(carveSimStopProcess, (unsigned int index, unsigned int pid, unsigned int graceMs))

/* Prototypes and pointer types (nvmlInit_v2_fn …) for every function. */
#define CARVE_NVML_DECLARE(name, args) \
  nvmlReturn_t name args;              \
  typedef nvmlReturn_t(*name##_fn) args;
CARVE_NVML_FUNCTIONS(CARVE_NVML_DECLARE)
CARVE_SIM_FUNCTIONS(CARVE_NVML_DECLARE)
#undef CARVE_NVML_DECLARE

const char* nvmlErrorString(nvmlReturn_t result);
typedef const char* (*nvmlErrorString_fn)(nvmlReturn_t result);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_DEVICE_NVML_NVML_API_H_ */
