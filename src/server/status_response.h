// Errors as the Kubernetes API reports them: a meta/v1 Status object with an HTTP code and a
// reason that kubectl prints, e.g. `Error from server (NotFound): datavolumes... "x" not found`.
#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace vdisk::server {

int HttpCode(StatusCode code);
// The Status object for a failed Status; its details (causes) are carried over.
nlohmann::json StatusObject(const Status& status);
// The Status object of a successful delete.
nlohmann::json SuccessStatus(const nlohmann::json& details);

}  // namespace vdisk::server
