// Status and Result: how every agentmesh module reports an expected failure.
//
// Codes are the canonical gRPC/abseil set; pick them by what the caller should do
// (see STYLE.md). A Status is a value type, cheap to copy when ok. The mapping from
// codes to HTTP statuses lives in server/ only.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace agentmesh::core {

enum class StatusCode {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// Returns the canonical upper-snake name of `code`, e.g. "INVALID_ARGUMENT".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  // `reason` is a stable snake_case machine code ("phase_out_of_range") that the API
  // exposes as error.code; `message` is a sentence a person can act on.
  Status(StatusCode code, std::string reason, std::string message)
      : code_(code), reason_(std::move(reason)), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& reason() const { return reason_; }
  const std::string& message() const { return message_; }

  // Returns "CODE reason: message", for logs and test failures.
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.reason_ == b.reason_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string reason_;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgument(std::string reason, std::string message) {
  return {StatusCode::kInvalidArgument, std::move(reason), std::move(message)};
}
inline Status NotFound(std::string reason, std::string message) {
  return {StatusCode::kNotFound, std::move(reason), std::move(message)};
}
inline Status FailedPrecondition(std::string reason, std::string message) {
  return {StatusCode::kFailedPrecondition, std::move(reason), std::move(message)};
}
inline Status Aborted(std::string reason, std::string message) {
  return {StatusCode::kAborted, std::move(reason), std::move(message)};
}
inline Status Unavailable(std::string reason, std::string message) {
  return {StatusCode::kUnavailable, std::move(reason), std::move(message)};
}
inline Status ResourceExhausted(std::string reason, std::string message) {
  return {StatusCode::kResourceExhausted, std::move(reason), std::move(message)};
}
inline Status DeadlineExceeded(std::string reason, std::string message) {
  return Status(StatusCode::kDeadlineExceeded, std::move(reason), std::move(message));
}
inline Status Internal(std::string reason, std::string message) {
  return {StatusCode::kInternal, std::move(reason), std::move(message)};
}

template <typename T>
using Result = std::expected<T, Status>;

// Wraps a failed Status for returning from a function that yields Result<T>.
inline std::unexpected<Status> Err(Status s) { return std::unexpected<Status>(std::move(s)); }

}  // namespace agentmesh::core
