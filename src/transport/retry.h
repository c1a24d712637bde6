// The retry discipline shared by every HTTP request of the transport (the probe, the stream and
// range reads): transient failures are retried with exponential back-off, up to
// HttpOptions::max_attempts attempts in a row without progress.
#pragma once

#include <chrono>
#include <stop_token>

#include "common/status.h"
#include "transport/http_source.h"

namespace vdisk::transport {

class RetryBudget {
 public:
  // `options` must outlive the budget; `stop` ends back-off waits early.
  RetryBudget(const HttpOptions& options, std::stop_token stop);

  // Decides what follows a failed attempt that ended with `cause`. OK means: try again — the
  // caller's on_retry has been told and the back-off has passed. Otherwise the Status to give up
  // with: `cause` itself when it is permanent or the attempts are used up, Cancelled() when stop
  // was requested while waiting. `made_progress` (the attempt received body bytes) restarts the
  // count of attempts and the back-off.
  Status AfterFailure(const Status& cause, bool made_progress);

 private:
  const HttpOptions& options_;
  std::stop_token stop_;
  int failures_in_a_row_ = 0;
};

}  // namespace vdisk::transport
