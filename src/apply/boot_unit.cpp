#include "apply/boot_unit.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

namespace carve::apply {
namespace {

namespace fs = std::filesystem;

// One ExecStart word: quoted when needed, '%' doubled (systemd specifiers).
std::string Word(const std::string& w) {
  std::string out;
  bool quote = w.empty() || w.find_first_of(" \t\"'\\;") != std::string::npos;
  for (char c : w) {
    if (c == '%') out += '%';
    if (quote && (c == '"' || c == '\\')) out += '\\';
    out += c;
  }
  return quote ? "\"" + out + "\"" : out;
}

}  // namespace

std::vector<std::string> BootCommand(const UnitOptions& o) {
  std::vector<std::string> argv = {o.carve};
  argv.insert(argv.end(), o.globals.begin(), o.globals.end());
  argv.insert(argv.end(), {"apply", o.layout, "--yes", "--state-dir", o.state_dir});
  if (!o.config.empty()) argv.insert(argv.end(), {"-c", o.config});
  return argv;
}

std::string BootUnit(const UnitOptions& o) {
  std::string exec;
  for (const auto& w : BootCommand(o)) exec += (exec.empty() ? "" : " ") + Word(w);
  return fmt::format(
      "# Written by `carve apply FILE --install`; remove it with `carve apply --uninstall`.\n"
      "# Re-creates the MIG layout at every boot: MIG mode first (Hopper and later\n"
      "# lose it at reboot), then the slices, placement-exactly, verified.\n"
      "[Unit]\n"
      "Description=carve: re-apply the MIG layout in {0}\n"
      "After=nvidia-persistenced.service nvidia-fabricmanager.service\n"
      "# Before what uses the GPUs: their processes would hold a GPU that needs a\n"
      "# reset (Ampere) and would start on a GPU with no slices yet.\n"
      "Before=nvidia-dcgm.service dcgm.service dcgm-exporter.service\n"
      "Before=containerd.service docker.service kubelet.service\n"
      "Before=carve-serve.service\n"
      "\n"
      "[Service]\n"
      "Type=oneshot\n"
      "RemainAfterExit=yes\n"
      "ExecStart={1}\n"
      "TimeoutStartSec=300\n"
      "\n"
      "[Install]\n"
      "WantedBy=multi-user.target\n",
      o.layout, exec);
}

Status InstallUnit(const std::string& dir, const std::string& text) {
  std::error_code ec;
  fs::path unit = fs::path(dir) / kUnitName, wants = fs::path(dir) / "multi-user.target.wants";
  fs::create_directories(wants, ec);
  if (ec)
    return Status::Io(fmt::format("cannot create {}: {}", wants.string(), ec.message()),
                      "Run as root, or pass --unit-dir DIR.");
  {
    std::ofstream out(unit, std::ios::trunc);
    out << text;
    if (!out.flush())
      return Status::Io("cannot write " + unit.string(), "Run as root, or pass --unit-dir DIR.");
  }
  fs::remove(wants / kUnitName, ec);
  fs::create_symlink(fs::absolute(unit), wants / kUnitName, ec);
  if (ec) return Status::Io(fmt::format("cannot enable {}: {}", unit.string(), ec.message()));
  return Status::Ok();
}

Status UninstallUnit(const std::string& dir) {
  std::error_code ec;
  fs::remove(fs::path(dir) / "multi-user.target.wants" / kUnitName, ec);
  if (ec) return Status::Io("cannot remove the unit's link: " + ec.message());
  fs::remove(fs::path(dir) / kUnitName, ec);
  if (ec) return Status::Io("cannot remove the unit: " + ec.message());
  return Status::Ok();
}

}  // namespace carve::apply
