#include "agentmesh/server/router.h"

#include <algorithm>

#include "agentmesh/core/check.h"

namespace agentmesh::server {
namespace {

constexpr std::size_t kMethodCount = static_cast<std::size_t>(Method::kOther);
constexpr std::size_t kMaxSegments = 16;

bool IsCapture(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Splits "/a/b/c" into {"a","b","c"}; returns false when there are too many segments.
// A trailing slash yields an empty last segment, which matches no pattern.
bool Split(std::string_view path, std::array<std::string_view, kMaxSegments>* out,
           std::size_t* count) {
  *count = 0;
  if (path.empty() || path.front() != '/') {
    return false;
  }
  path.remove_prefix(1);
  while (true) {
    if (*count == kMaxSegments) {
      return false;
    }
    const std::size_t slash = path.find('/');
    (*out)[(*count)++] = path.substr(0, slash);
    if (slash == std::string_view::npos) {
      return true;
    }
    path.remove_prefix(slash + 1);
  }
}

}  // namespace

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kPut:
      return "PUT";
    case Method::kPost:
      return "POST";
    case Method::kDelete:
      return "DELETE";
    case Method::kOther:
      break;
  }
  return "OTHER";
}

Method ParseMethod(std::string_view token) {
  if (token == "GET") {
    return Method::kGet;
  }
  if (token == "PUT") {
    return Method::kPut;
  }
  if (token == "POST") {
    return Method::kPost;
  }
  if (token == "DELETE") {
    return Method::kDelete;
  }
  return Method::kOther;
}

int Router::AddEndpoint(Method method, std::string_view pattern) {
  AM_CHECK_MSG(method != Method::kOther, "routes need a concrete method");
  AM_CHECK_MSG(!pattern.empty() && pattern.front() == '/', "patterns start with '/'");
  auto it = std::find_if(patterns_.begin(), patterns_.end(),
                         [&](const Pattern& p) { return p.text == pattern; });
  if (it == patterns_.end()) {
    Pattern p;
    p.text = std::string(pattern);
    std::array<std::string_view, kMaxSegments> segments;
    std::size_t count = 0;
    AM_CHECK_MSG(Split(pattern, &segments, &count), "pattern has too many segments");
    std::size_t captures = 0;
    for (std::size_t i = 0; i < count; ++i) {
      p.segments.emplace_back(segments[i]);
      captures += IsCapture(segments[i]) ? 1 : 0;
    }
    AM_CHECK_MSG(captures <= kMaxPathParams, "pattern has too many captures");
    p.endpoint_by_method.assign(kMethodCount, -1);
    patterns_.push_back(std::move(p));
    it = patterns_.end() - 1;
  }
  int& slot = it->endpoint_by_method[static_cast<std::size_t>(method)];
  AM_CHECK_MSG(slot < 0, "route registered twice");
  slot = static_cast<int>(endpoints_.size());
  endpoints_.push_back(Endpoint{method, std::string(pattern), {}, {}});
  return slot;
}

void Router::Add(Method method, std::string_view pattern, SyncHandler handler) {
  const int index = AddEndpoint(method, pattern);
  endpoints_[index].sync = std::move(handler);
}

void Router::AddAsync(Method method, std::string_view pattern, AsyncHandler handler) {
  const int index = AddEndpoint(method, pattern);
  endpoints_[index].async = std::move(handler);
}

void Router::AddStream(Method method, std::string_view pattern, StreamHandler handler) {
  const int index = AddEndpoint(method, pattern);
  endpoints_[index].stream = std::move(handler);
}

RouteMatch Router::Match(Method method, std::string_view path, Request* req) const {
  RouteMatch match;
  std::array<std::string_view, kMaxSegments> segments;
  std::size_t count = 0;
  if (Split(path, &segments, &count)) {
    for (const Pattern& p : patterns_) {
      if (p.segments.size() != count) {
        continue;
      }
      std::size_t captured = 0;
      bool ok = true;
      for (std::size_t i = 0; i < count && ok; ++i) {
        if (IsCapture(p.segments[i])) {
          ok = !segments[i].empty();
          req->params[captured++] = segments[i];
        } else {
          ok = p.segments[i] == segments[i];
        }
      }
      if (!ok) {
        continue;
      }
      match.route_label = p.text;
      const int index =
          method == Method::kOther ? -1 : p.endpoint_by_method[static_cast<std::size_t>(method)];
      if (index >= 0) {
        match.endpoint = index;
        return match;
      }
      for (std::size_t m = 0; m < kMethodCount; ++m) {
        if (p.endpoint_by_method[m] >= 0) {
          if (!match.allow.empty()) {
            match.allow += ", ";
          }
          match.allow += MethodName(static_cast<Method>(m));
        }
      }
      match.error = core::Status(core::StatusCode::kInvalidArgument, "method_not_allowed",
                                 "This route does not accept that method; see the Allow header.");
      return match;
    }
  }
  match.error = core::NotFound("unknown_route", "No route matches this path.");
  return match;
}

}  // namespace agentmesh::server
