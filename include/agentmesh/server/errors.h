// Error mapping: the one place that turns a core::Status into an HTTP status and the
// API's error body {"error": {"code", "message", "details"}}. Stateless, thread-safe.
#pragma once

#include <expected>
#include <string>

#include <boost/json/object.hpp>

#include "agentmesh/core/status.h"
#include "agentmesh/server/router.h"

namespace agentmesh::server {

// An API failure: the status (its reason becomes error.code) plus structured details,
// e.g. {"field": "phase"} for a field-level validation error.
struct ApiError {
  core::Status status;
  boost::json::object details;
};

template <typename T>
using ApiResult = std::expected<T, ApiError>;

// Returns std::unexpected(ApiError{...}) for returning from an ApiResult function.
inline std::unexpected<ApiError> ApiErr(core::Status status, boost::json::object details = {}) {
  return std::unexpected<ApiError>(ApiError{std::move(status), std::move(details)});
}
// A kInvalidArgument error about one body field; details.field names it.
std::unexpected<ApiError> FieldError(std::string reason, std::string_view field,
                                     std::string message);

// A kInvalidArgument "unknown_parameter" error for query parameter `key`; details.parameter names
// it.
std::unexpected<ApiError> UnknownParameter(std::string_view key);

// Returns `body` serialized as a JSON response with `status`.
Response JsonResponse(const boost::json::value& body, int status = 200);

// Returns the HTTP status for `status`: its reason first (body_too_large -> 413,
// unsupported_media_type -> 415, method_not_allowed -> 405, ...), then its code
// (kInvalidArgument -> 400, kNotFound -> 404, kFailedPrecondition/kAborted/
// kAlreadyExists -> 409, kResourceExhausted -> 429, kUnavailable -> 503,
// kDeadlineExceeded -> 504, anything else -> 500).
int HttpStatusFor(const core::Status& status);

// Returns the JSON error body for `error`.
std::string ErrorBody(const ApiError& error);

// Returns the complete error response for `error` (status, body, Allow when given).
Response ErrorResponse(const ApiError& error, std::string allow = {});
inline Response ErrorResponse(const core::Status& status) {
  return ErrorResponse(ApiError{status, {}});
}

}  // namespace agentmesh::server
