#include "agentmesh/client/api_status.h"

#include <string>

#include <boost/json/parse.hpp>

namespace agentmesh::client {
namespace {

core::StatusCode CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
    case 413:
      return core::StatusCode::kInvalidArgument;
    case 404:
      return core::StatusCode::kNotFound;
    case 405:
      return core::StatusCode::kUnimplemented;
    case 409:
      return core::StatusCode::kFailedPrecondition;
    case 429:
      return core::StatusCode::kResourceExhausted;
    case 504:
      return core::StatusCode::kDeadlineExceeded;
    default:
      return status >= 500 ? core::StatusCode::kUnavailable : core::StatusCode::kUnknown;
  }
}

}  // namespace

core::Status StatusFromResponse(const HttpResponse& response) {
  if (response.status >= 200 && response.status < 300) {
    return core::OkStatus();
  }
  std::string reason = "http_" + std::to_string(response.status);
  std::string message = "the node answered HTTP " + std::to_string(response.status);
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(response.body, ec);
  if (!ec && body.is_object()) {
    if (const auto* error = body.as_object().if_contains("error"); error && error->is_object()) {
      const auto& obj = error->as_object();
      if (const auto* code = obj.if_contains("code"); code && code->is_string()) {
        reason = std::string(code->as_string());
      }
      if (const auto* text = obj.if_contains("message"); text && text->is_string()) {
        message = std::string(text->as_string());
      }
    }
  }
  return {CodeForHttpStatus(response.status), std::move(reason), std::move(message)};
}

}  // namespace agentmesh::client
