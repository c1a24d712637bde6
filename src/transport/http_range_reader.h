// The random-access reader behind HttpSource::OpenRandomAccess: each ReadAt is one Range request
// on a pooled keep-alive connection, resumed after transient failures.
#pragma once

#include <cstdint>
#include <memory>

#include "common/io.h"
#include "transport/curl_connection.h"

namespace vdisk::transport {

// `size` is the resource's size as probed; every 206 must agree with it.
std::unique_ptr<io::RandomAccessReader> MakeHttpRangeReader(std::shared_ptr<ConnectionPool> pool,
                                                            uint64_t size);

}  // namespace vdisk::transport
