// carve top's three panes (render/top.h puts them under its header) and the
// tolerant reads of the status they share: a field that is missing or of
// another type reads as absent, never throws.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "render/style.h"
#include "render/top.h"

namespace carve::render::top {

using Json = nlohmann::ordered_json;

// j[key]; null when `j` is no object or has no `key`.
const Json& Field(const Json& j, const char* key);
// j[key] when it is an array, else an empty one.
const Json& Items(const Json& j, const char* key);
std::optional<double> Num(const Json& j, const char* key);
// j[key] when a string (an integer is spelled out); "" otherwise.
std::string Str(const Json& j, const char* key);

// `text`'s lines, without their '\n'.
std::vector<std::string> Lines(const std::string& text);

// "[█████·····]": `fraction` of `cells` filled, in green; yellow from 80 %
// and red from 95 % when `warn` (memory filling up is a warning, busy SMs are not).
std::string Bar(double fraction, int cells, bool warn, const Style& style);

// Per GPU its layout picture, then one line per slice with its memory and SM
// bars; then what still fits.
std::vector<std::string> GpusPane(const Json& status, const TopView& view, const Style& style);
// Every slice in one table; full MIG UUIDs when they fit in `width`.
std::vector<std::string> SlicesPane(const Json& status, const TopView& view, int width,
                                    const Style& style);
// Per model its replicas and traffic, in `view.sort`'s order.
std::vector<std::string> ModelsPane(const Json& status, const TopView& view, const Style& style);

}  // namespace carve::render::top
