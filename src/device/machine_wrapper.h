// MachineWrapper: a Machine that forwards every call to another one, so a
// test can override just the call it cares about (like leveldb's EnvWrapper):
//
//   class CountingMachine : public MachineWrapper {
//     using MachineWrapper::MachineWrapper;
//     Status DestroyGpuInstance(int gpu, int gi) override { ++n; return
//     MachineWrapper::DestroyGpuInstance(gpu, gi); }
//   };
// Does not own the wrapped machine.
#pragma once

#include "device/machine.h"

namespace carve::device {

class MachineWrapper : public Machine {
 public:
  explicit MachineWrapper(Machine* target) : target_(target) {}
  Machine* target() const { return target_; }

  Result<DriverInfo> Driver() override { return target_->Driver(); }
  std::string ChangeLockPath() const override { return target_->ChangeLockPath(); }
  Result<std::vector<Gpu>> Gpus() override { return target_->Gpus(); }
  Result<Gpu> GetGpu(int index) override { return target_->GetGpu(index); }
  Result<ModeChange> SetMigMode(int gpu, bool enabled) override {
    return target_->SetMigMode(gpu, enabled);
  }
  Status ResetGpu(int gpu) override { return target_->ResetGpu(gpu); }
  Result<GpuInstance> CreateGpuInstance(int gpu, int profile_id,
                                        std::optional<int> start) override {
    return target_->CreateGpuInstance(gpu, profile_id, start);
  }
  Status DestroyGpuInstance(int gpu, int gi) override {
    return target_->DestroyGpuInstance(gpu, gi);
  }
  Result<ComputeInstance> CreateComputeInstance(int gpu, int gi, int ci_profile_id,
                                                std::optional<int> start) override {
    return target_->CreateComputeInstance(gpu, gi, ci_profile_id, start);
  }
  Status DestroyComputeInstance(int gpu, int gi, int ci) override {
    return target_->DestroyComputeInstance(gpu, gi, ci);
  }
  Result<std::vector<SliceUtilisation>> ReadUtilisation(int gpu) override {
    return target_->ReadUtilisation(gpu);
  }
  Status StopProcess(int gpu, uint32_t pid, int grace_ms) override {
    return target_->StopProcess(gpu, pid, grace_ms);
  }
  Status NoteProcess(int gpu, const Process& p) override { return target_->NoteProcess(gpu, p); }
  Status ForgetProcess(uint32_t pid) override { return target_->ForgetProcess(pid); }

 private:
  Machine* target_;
};

}  // namespace carve::device
