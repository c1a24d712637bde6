// File system overhead arithmetic, the one place it lives (CDI pkg/util GetRequiredSpace and
// GetUsableSpace).
//
//   required = ceil(roundup(request, 1 MiB) / (1 - overhead))    what the storage API asks for
//   usable   = floor(size * (1 - overhead) / 1 MiB) * 1 MiB      what disk.img may use
//
// Block volumes carry no file system: their overhead is 0.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace vdisk::storage {

inline constexpr int64_t kAlignBlockSize = 1024 * 1024;
inline constexpr double kDefaultFilesystemOverhead = 0.055;

int64_t RequiredSpace(int64_t request, double overhead);
int64_t UsableSpace(int64_t size, double overhead);

// The overhead for `storage_class` from a CDIConfig object: status.filesystemOverhead
// .storageClass[class], else .global, else 0.055. Values are decimal strings ("0.055");
// malformed or out-of-range ([0, 1)) values fall through to the next candidate.
double FilesystemOverhead(const nlohmann::json& cdi_config, const std::string& storage_class);

}  // namespace vdisk::storage
