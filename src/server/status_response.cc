#include "server/status_response.h"

namespace vdisk::server {
namespace {

const char* Reason(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "";
    case StatusCode::kInvalidArgument:
      return "BadRequest";
    case StatusCode::kInvalid:
      return "Invalid";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case StatusCode::kConflict:
      return "Conflict";
    case StatusCode::kGone:
      return "Expired";
    case StatusCode::kForbidden:
      return "Forbidden";
    case StatusCode::kUnauthorized:
      return "Unauthorized";
    case StatusCode::kMethodNotAllowed:
      return "MethodNotAllowed";
    case StatusCode::kUnsupportedMedia:
      return "UnsupportedMediaType";
    case StatusCode::kUnavailable:
      return "ServiceUnavailable";
    case StatusCode::kInternal:
    case StatusCode::kCancelled:
      return "InternalError";
  }
  return "InternalError";
}

}  // namespace

int HttpCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kInvalid:
      return 422;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kConflict:
      return 409;
    case StatusCode::kGone:
      return 410;
    case StatusCode::kForbidden:
      return 403;
    case StatusCode::kUnauthorized:
      return 401;
    case StatusCode::kMethodNotAllowed:
      return 405;
    case StatusCode::kUnsupportedMedia:
      return 415;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kInternal:
    case StatusCode::kCancelled:
      return 500;
  }
  return 500;
}

nlohmann::json StatusObject(const Status& status) {
  nlohmann::json out = {{"kind", "Status"},
                        {"apiVersion", "v1"},
                        {"metadata", nlohmann::json::object()},
                        {"status", "Failure"},
                        {"message", status.message()},
                        {"reason", Reason(status.code())},
                        {"code", HttpCode(status.code())}};
  if (status.details()) out["details"] = *status.details();
  return out;
}

nlohmann::json SuccessStatus(const nlohmann::json& details) {
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"metadata", nlohmann::json::object()},
          {"status", "Success"},
          {"details", details}};
}

}  // namespace vdisk::server
