// Xid errors: the numbered reports the NVIDIA driver writes when a GPU (or
// one MIG GPU instance) fails. carve knows the ones that take an instance or
// a GPU out of service; the simulator can raise them (carve sim fail) and the
// nvml backend reads them from NVML's Xid events. The words follow NVIDIA's
// Xid catalogue.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace carve::device {

struct Xid {
  int number = 0;
  std::string_view words;  // "contained ECC error"
};

// The Xids carve names, ascending.
const std::vector<Xid>& KnownXids();
// The words of Xid `number`; nullopt for one carve does not know.
std::optional<std::string_view> XidWords(int number);
// "Xid 94: contained ECC error" (just "Xid 12" for one carve does not know):
// GpuInstance::fault's text.
std::string XidText(int number);
// "48 (double-bit ECC error), 63 (…), …", for error messages.
std::string KnownXidList();

}  // namespace carve::device
