#include "storage/fs_overhead.h"

#include <cmath>
#include <cstdlib>

namespace vdisk::storage {
namespace {

// A decimal string in [0, 1), or a negative value when the text is not one.
double ParseOverhead(const nlohmann::json& value) {
  if (!value.is_string()) return -1;
  const std::string text = value.get<std::string>();
  char* end = nullptr;
  double parsed = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || !(parsed >= 0 && parsed < 1)) return -1;
  return parsed;
}

}  // namespace

int64_t RequiredSpace(int64_t request, double overhead) {
  int64_t aligned = (request + kAlignBlockSize - 1) / kAlignBlockSize * kAlignBlockSize;
  return static_cast<int64_t>(std::ceil(static_cast<double>(aligned) / (1 - overhead)));
}

int64_t UsableSpace(int64_t size, double overhead) {
  auto without = static_cast<int64_t>((1 - overhead) * static_cast<double>(size));
  return without / kAlignBlockSize * kAlignBlockSize;
}

double FilesystemOverhead(const nlohmann::json& cdi_config, const std::string& storage_class) {
  if (!cdi_config.is_object()) return kDefaultFilesystemOverhead;
  const auto& status = cdi_config.value("status", nlohmann::json::object());
  const auto& overhead = status.value("filesystemOverhead", nlohmann::json::object());
  if (!overhead.is_object()) return kDefaultFilesystemOverhead;
  const auto& per_class = overhead.value("storageClass", nlohmann::json::object());
  if (per_class.is_object() && per_class.contains(storage_class)) {
    double value = ParseOverhead(per_class[storage_class]);
    if (value >= 0) return value;
  }
  double global = ParseOverhead(overhead.value("global", nlohmann::json()));
  return global >= 0 ? global : kDefaultFilesystemOverhead;
}

}  // namespace vdisk::storage
