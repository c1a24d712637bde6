// Random identifiers from the operating system's CSPRNG.
#pragma once

#include <string>

namespace vdisk {

// An RFC 4122 version 4 UUID, e.g. "3f2b8c1e-....".
std::string NewUuid();
// `n` characters from Kubernetes' generateName alphabet (no vowels, no look-alikes).
std::string RandomNameSuffix(size_t n = 5);

}  // namespace vdisk
