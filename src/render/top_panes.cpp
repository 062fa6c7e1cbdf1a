// carve top's GPUs and slices panes, and the status reads all panes share.
#include "render/top_panes.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "render/layout_bar.h"
#include "render/table.h"

namespace carve::render::top {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;

bool Shown(const Json& item, const char* key, const TopView& view) {
  return view.gpu < 0 || Num(item, key) == static_cast<double>(view.gpu);
}

std::string Joined(const Json& items, std::string_view sep = ",") {
  std::string out;
  for (const auto& s : items)
    if (s.is_string()) out += (out.empty() ? "" : std::string(sep)) + s.get<std::string>();
  return out;
}

std::string Dash(const std::string& s) { return s.empty() ? "-" : s; }

double Fraction(const Json& memory) {
  double total = Num(memory, "total_bytes").value_or(0);
  return total > 0 ? Num(memory, "used_bytes").value_or(0) / total : 0;
}

// "9.0/9.5 GiB"; "-" when the status has no memory for it.
std::string MemoryText(const Json& memory) {
  auto used = Num(memory, "used_bytes"), total = Num(memory, "total_bytes");
  if (!used || !total) return "-";
  return fmt::format("{:.1f}/{:.1f} GiB", *used / kGiB, *total / kGiB);
}

// Why a slice has no utilisation, short: observe's reason for Ampere names
// the architecture and DCGM ("… per MIG slice on Ampere (…); DCGM's …").
std::string NoUtilisationWhy(const std::string& why) {
  const std::string on = "per MIG slice on ";
  size_t at = why.find(on);
  if (at != std::string::npos && why.find("DCGM") != std::string::npos) {
    std::string arch = why.substr(at + on.size());
    return arch.substr(0, arch.find(' ')) + ": DCGM";
  }
  return why.empty() ? "not measured" : why;
}

std::string Percent(const Json& slice, const char* field) {
  auto v = Num(Field(slice, "utilisation"), field);
  return v ? fmt::format("{:.0f} %", *v * 100) : "n/a";
}

std::string SmBar(const Json& slice, const Style& style) {
  if (auto sm = Num(Field(slice, "utilisation"), "sm"))
    return "SM " + Bar(*sm, 8, false, style) + fmt::format(" {:3.0f} %", *sm * 100);
  return "SM " + style.Dim("n/a (" + NoUtilisationWhy(Str(slice, "utilisation_unavailable")) + ")");
}

// What runs on a slice: its models, else its processes' names (machine only).
std::string Tenants(const Json& slice) {
  std::string models = Joined(Items(slice, "models"));
  if (!models.empty()) return models;
  std::string procs;
  for (const auto& p : Items(slice, "processes"))
    procs += (procs.empty() ? "" : ",") + fmt::format("{}({})", Str(p, "name"), Str(p, "pid"));
  return procs;
}

bool Whole(const Json& slice) { return Field(slice, "gi").is_null(); }

std::vector<std::string> GpuPicture(const Json& gpu, const std::vector<const Json*>& slices) {
  int units = static_cast<int>(Num(gpu, "placement_units").value_or(0));
  std::vector<BarSegment> segs;
  for (const Json* s : slices) {
    int start = static_cast<int>(Num(*s, "start").value_or(0));
    int size = static_cast<int>(Num(*s, "size").value_or(0));
    units = std::max(units, start + size);  // a GPU outside the catalogue
    std::string mid = Joined(Items(*s, "models"));
    segs.push_back({start, size, Str(*s, "profile"), mid.empty() ? "GI " + Str(*s, "gi") : mid});
  }
  return DrawBar(units, segs);
}

std::vector<std::string> GpuBlock(const Json& status, const Json& gpu, const Style& style) {
  int index = static_cast<int>(Num(gpu, "index").value_or(-1));
  std::vector<const Json*> slices;
  for (const auto& s : Items(status, "slices"))
    if (Num(s, "gpu") == static_cast<double>(index)) slices.push_back(&s);
  bool mig = Field(gpu, "mig").is_boolean() && Field(gpu, "mig").get<bool>();
  std::string head = fmt::format(
      "{}  {}  {}  {}  {} used", style.Bold(fmt::format("GPU {}", index)), Str(gpu, "name"),
      ShortUuid(Str(gpu, "uuid")), mig ? "MIG on" : "MIG off", MemoryText(Field(gpu, "memory")));
  auto stranded = Num(Field(status, "stranded_units"), std::to_string(index).c_str());
  if (stranded) head += fmt::format("  stranded {:.0f}", *stranded);
  std::vector<std::string> out = {head};
  if (mig)
    for (auto& l : GpuPicture(gpu, slices)) out.push_back("       " + l);
  if (slices.empty()) {
    out.push_back(style.Dim("  no slices"));
    return out;
  }
  Table t({"placement", "profile", "MIG UUID", "models", "memory", "", "utilisation"});
  for (const Json* s : slices)
    t.Add({Whole(*s) ? "-" : Str(*s, "placement"), Whole(*s) ? "whole GPU" : Str(*s, "profile"),
           Dash(ShortUuid(Str(*s, "mig_uuid"))), Dash(Tenants(*s)),
           Bar(Fraction(Field(*s, "memory")), 10, true, style), MemoryText(Field(*s, "memory")),
           SmBar(*s, style)});
  for (auto& l : Lines(t.Render("  "))) out.push_back(std::move(l));
  return out;
}

// Each replica's state by id ("chat/0" → "ready").
std::map<std::string, std::string> ReplicaStates(const Json& status) {
  std::map<std::string, std::string> out;
  for (const auto& r : Items(status, "replicas")) out[Str(r, "id")] = Str(r, "state");
  return out;
}

std::string States(const Json& slice, const std::map<std::string, std::string>& states,
                   const Style& style) {
  std::string out;
  for (const auto& id : Items(slice, "replicas")) {
    auto it = id.is_string() ? states.find(id.get<std::string>()) : states.end();
    std::string s = it == states.end() ? "?" : it->second;
    out += (out.empty() ? "" : ",") + (s == "ready" ? s : style.Yellow(s));
  }
  return out;
}

std::string SlicesTable(const Json& status, const TopView& view, bool short_uuids,
                        const Style& style) {
  Table t({"GPU", "placement", "profile", "MIG UUID", "models", "state", "memory>", "", "SM>",
           "BW>", "tensor>"});
  auto states = ReplicaStates(status);
  for (const auto& s : Items(status, "slices")) {
    if (!Shown(s, "gpu", view)) continue;
    std::string uuid = Str(s, "mig_uuid");
    t.Add({Str(s, "gpu"), Whole(s) ? "-" : Str(s, "placement"),
           Whole(s) ? "whole GPU" : Str(s, "profile"), Dash(short_uuids ? ShortUuid(uuid) : uuid),
           Dash(Tenants(s)), Dash(States(s, states, style)), MemoryText(Field(s, "memory")),
           Bar(Fraction(Field(s, "memory")), 10, true, style), Percent(s, "sm"),
           Percent(s, "memory_bandwidth"), Percent(s, "tensor")});
  }
  return t.Render();
}

}  // namespace

const Json& Field(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

const Json& Items(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  const Json& v = Field(j, key);
  return v.is_array() ? v : kEmpty;
}

std::optional<double> Num(const Json& j, const char* key) {
  const Json& v = Field(j, key);
  if (v.is_number()) return v.get<double>();
  return std::nullopt;
}

std::string Str(const Json& j, const char* key) {
  const Json& v = Field(j, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return "";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1)
    out.push_back(text.substr(at, nl - at));
  return out;
}

std::string Bar(double fraction, int cells, bool warn, const Style& style) {
  fraction = std::clamp(std::isfinite(fraction) ? fraction : 0.0, 0.0, 1.0);
  int full = static_cast<int>(std::lround(fraction * cells));
  std::string fill, rest;
  for (int i = 0; i < full; ++i) fill += "█";
  for (int i = full; i < cells; ++i) rest += "·";
  if (warn && fraction >= 0.95)
    fill = style.Red(fill);
  else if (warn && fraction >= 0.8)
    fill = style.Yellow(fill);
  else
    fill = style.Green(fill);
  return "[" + fill + rest + "]";
}

std::vector<std::string> GpusPane(const Json& status, const TopView& view, const Style& style) {
  std::vector<std::string> out;
  for (const auto& gpu : Items(status, "gpus")) {
    if (!Shown(gpu, "index", view)) continue;
    for (auto& l : GpuBlock(status, gpu, style)) out.push_back(std::move(l));
    out.push_back("");
  }
  if (out.empty()) out.push_back(view.gpu < 0 ? "No GPUs." : "No such GPU: tab shows the next.");
  const Json& room = Field(status, "fits");  // none on a machine without MIG
  std::string fits;
  for (const auto& [profile, n] : room.items())
    if (n.is_number() && n.get<double>() > 0)
      fits += fmt::format("{}{} ×{}", fits.empty() ? "" : "  ", profile, n.dump());
  if (room.is_object() && !room.empty())
    out.push_back("still fits (all GPUs): " + (fits.empty() ? "no more slices" : fits));
  return out;
}

std::vector<std::string> SlicesPane(const Json& status, const TopView& view, int width,
                                    const Style& style) {
  auto lines = Lines(SlicesTable(status, view, false, style));
  bool wide = std::any_of(lines.begin(), lines.end(), [width](const std::string& l) {
    return static_cast<int>(DisplayWidth(l)) > width;
  });
  if (wide) lines = Lines(SlicesTable(status, view, true, style));
  std::set<std::string> whys;
  for (const auto& s : Items(status, "slices"))
    if (Shown(s, "gpu", view) && Field(s, "utilisation").is_null())
      whys.insert(Str(s, "utilisation_unavailable"));
  for (const auto& why : whys)
    if (!why.empty()) lines.push_back(style.Dim("n/a: " + why));
  return lines;
}

}  // namespace carve::render::top
