#pragma once

namespace vdisk {

// vdisk's own release; the API it serves reports Kubernetes 1.32 compatibility (/version).
inline constexpr const char* kVdiskVersion = "0.1.0";

}  // namespace vdisk
