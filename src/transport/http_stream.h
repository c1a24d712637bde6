// The sequential reader behind HttpSource::OpenStream: a transfer thread downloads the body into
// a bounded ByteRing and resumes it with Range requests after transient failures.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "common/io.h"
#include "transport/curl_connection.h"

namespace vdisk::transport {

// Starts the transfer of the whole body. `supports_ranges` allows resuming mid-body; `size`
// (when known) detects a body that ends early without an error.
std::unique_ptr<io::Reader> StartHttpStream(std::shared_ptr<ConnectionPool> pool,
                                            bool supports_ranges, std::optional<uint64_t> size);

}  // namespace vdisk::transport
