// The spec's models as planner demands: memory sized (given, or estimated
// from the model's files), options checked against the catalogue, and the
// combinations the hardware cannot do refused with file:line.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "mig/catalog.h"
#include "plan/plan.h"
#include "plan/sizing.h"
#include "spec/model_files.h"
#include "spec/spec.h"

namespace carve::plan {

struct SizedModel {
  ModelDemand demand;
  bool estimated = false;
  Sizing sizing;  // when estimated
};

// `files` holds, by model name, what each estimate's files contain.
Result<std::vector<SizedModel>> DemandsFromSpec(
    const spec::Spec& spec, const std::map<std::string, spec::ModelFiles>& files,
    const mig::Catalog& catalog);

// Sizes one model from its files and estimate settings.
Result<Sizing> SizeFromFiles(const spec::ModelFiles& files, const SizingParams& params);

}  // namespace carve::plan
