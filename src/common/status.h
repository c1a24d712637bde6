// Status and Result<T>: how vdisk reports errors without exceptions.
//
// A Status is OK or carries a canonical code and a message meant for a user. The codes mirror
// the Kubernetes Status reasons the API server maps them to (see server/status_response.h), so a
// module deep in the stack can say "NotFound" and the client sees a 404 with that message.
//
//   Result<int> ParsePort(std::string_view s);
//   VDISK_ASSIGN_OR_RETURN(int port, ParsePort(text));
//   VDISK_RETURN_IF_ERROR(store.Put(...));
#pragma once

#include <cassert>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace vdisk {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // malformed input: 400 BadRequest
  kInvalid,           // well-formed but failing validation: 422 Invalid
  kNotFound,          // 404
  kAlreadyExists,     // 409 AlreadyExists
  kConflict,          // stale resourceVersion: 409 Conflict
  kGone,              // resourceVersion too old for a watch: 410 Expired
  kForbidden,         // 403
  kUnauthorized,      // 401
  kMethodNotAllowed,  // 405
  kUnsupportedMedia,  // 415
  kUnavailable,       // 503, retry later
  kInternal,          // 500, a bug or an I/O failure
  kCancelled,         // the work was asked to stop (a stop_token); never retried
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Optional structured details for the client, e.g. the field causes of an Invalid error
  // (a Kubernetes StatusDetails object). Null when there are none.
  const nlohmann::json* details() const { return details_.get(); }
  Status WithDetails(std::shared_ptr<const nlohmann::json> details) && {
    details_ = std::move(details);
    return std::move(*this);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::shared_ptr<const nlohmann::json> details_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status Invalid(std::string m) { return {StatusCode::kInvalid, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
inline Status Gone(std::string m) { return {StatusCode::kGone, std::move(m)}; }
inline Status Forbidden(std::string m) { return {StatusCode::kForbidden, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Cancelled() { return {StatusCode::kCancelled, "cancelled"}; }
inline bool IsCancelled(const Status& s) { return s.code() == StatusCode::kCancelled; }

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result built from an OK status has no value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace vdisk

#define VDISK_CONCAT_INNER(a, b) a##b
#define VDISK_CONCAT(a, b) VDISK_CONCAT_INNER(a, b)

#define VDISK_RETURN_IF_ERROR(expr) \
  do {                              \
    ::vdisk::Status _st = (expr);   \
    if (!_st.ok()) return _st;      \
  } while (0)

#define VDISK_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  decl = std::move(tmp).value()

#define VDISK_ASSIGN_OR_RETURN(decl, expr) \
  VDISK_ASSIGN_OR_RETURN_IMPL(VDISK_CONCAT(_result_, __LINE__), decl, expr)
