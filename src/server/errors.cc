#include "agentmesh/server/errors.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace agentmesh::server {

std::unexpected<ApiError> FieldError(std::string reason, std::string_view field,
                                     std::string message) {
  boost::json::object details;
  details["field"] = field;
  return ApiErr(core::InvalidArgument(std::move(reason), std::move(message)), std::move(details));
}

std::unexpected<ApiError> UnknownParameter(std::string_view key) {
  boost::json::object details;
  details["parameter"] = key;
  return ApiErr(core::InvalidArgument("unknown_parameter", "Query parameter '" + std::string(key) +
                                                               "' is not supported."),
                std::move(details));
}

Response JsonResponse(const boost::json::value& body, int status) {
  Response r;
  r.status = status;
  r.body = boost::json::serialize(body);
  return r;
}

int HttpStatusFor(const core::Status& status) {
  const std::string& reason = status.reason();
  if (reason == "body_too_large") {
    return 413;
  }
  if (reason == "unsupported_media_type") {
    return 415;
  }
  if (reason == "method_not_allowed") {
    return 405;
  }
  if (reason == "headers_too_large") {
    return 431;
  }
  using core::StatusCode;
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kUnavailable:
    case StatusCode::kCancelled:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kUnknown:
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
      break;
  }
  return 500;
}

std::string ErrorBody(const ApiError& error) {
  boost::json::object inner;
  inner["code"] = error.status.reason().empty() ? std::string_view("internal")
                                                : std::string_view(error.status.reason());
  inner["message"] = error.status.message();
  inner["details"] = error.details;
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

Response ErrorResponse(const ApiError& error, std::string allow) {
  Response r;
  r.status = HttpStatusFor(error.status);
  r.body = ErrorBody(error);
  r.allow = std::move(allow);
  return r;
}

}  // namespace agentmesh::server
