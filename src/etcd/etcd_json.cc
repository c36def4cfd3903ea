#include <algorithm>
#include <charconv>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include "etcd/etcd_json_internal.h"

namespace agentmesh::etcd::internal {
namespace {

namespace json = boost::json;

// gRPC codes etcd answers with (google.rpc.Code).
constexpr std::int64_t kGrpcDeadlineExceeded = 4;
constexpr std::int64_t kGrpcNotFound = 5;
constexpr std::int64_t kGrpcOutOfRange = 11;
constexpr std::int64_t kGrpcUnavailable = 14;
// How much of a non-JSON error body goes into a message.
constexpr std::size_t kMaxBodyExcerpt = 200;

std::string_view CompareTargetName(Compare::Target target) {
  switch (target) {
    case Compare::Target::kCreateRevision:
      return "CREATE";
    case Compare::Target::kModRevision:
      return "MOD";
    case Compare::Target::kVersion:
      return "VERSION";
    case Compare::Target::kValue:
      return "VALUE";
    case Compare::Target::kLease:
      return "LEASE";
  }
  return "CREATE";
}

// The oneof field that carries the compared number for `target`.
std::string_view CompareFieldName(Compare::Target target) {
  switch (target) {
    case Compare::Target::kCreateRevision:
      return "create_revision";
    case Compare::Target::kModRevision:
      return "mod_revision";
    case Compare::Target::kVersion:
      return "version";
    case Compare::Target::kValue:
      return "value";
    case Compare::Target::kLease:
      return "lease";
  }
  return "create_revision";
}

std::string_view CompareResultName(Compare::Result result) {
  switch (result) {
    case Compare::Result::kEqual:
      return "EQUAL";
    case Compare::Result::kNotEqual:
      return "NOT_EQUAL";
    case Compare::Result::kGreater:
      return "GREATER";
    case Compare::Result::kLess:
      return "LESS";
  }
  return "EQUAL";
}

json::object EncodeKeyRange(const std::string& key, const std::string& range_end) {
  json::object out;
  out["key"] = Base64Encode(key);
  if (!range_end.empty()) {
    out["range_end"] = Base64Encode(range_end);
  }
  return out;
}

json::object EncodeOp(const Op& op) {
  json::object body = EncodeKeyRange(op.key, op.kind == Op::Kind::kPut ? "" : op.range_end);
  json::object out;
  switch (op.kind) {
    case Op::Kind::kRange:
      out["request_range"] = std::move(body);
      break;
    case Op::Kind::kPut:
      body["value"] = Base64Encode(op.value);
      if (op.lease != 0) {
        body["lease"] = std::to_string(op.lease);
      }
      out["request_put"] = std::move(body);
      break;
    case Op::Kind::kDelete:
      out["request_delete_range"] = std::move(body);
      break;
  }
  return out;
}

}  // namespace

std::int64_t Int64Field(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr) {
    return 0;
  }
  if (v->is_int64()) {
    return v->get_int64();
  }
  if (v->is_uint64()) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  if (v->is_string()) {
    const json::string& s = v->get_string();
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() ? out : 0;
  }
  return 0;
}

bool BoolField(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

std::string StringField(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::object& ObjectField(const json::object& obj, std::string_view key) {
  static const json::object kEmpty;
  const json::value* v = obj.if_contains(key);
  return v != nullptr && v->is_object() ? v->get_object() : kEmpty;
}

std::int64_t HeaderRevision(const json::object& answer) {
  return Int64Field(ObjectField(answer, "header"), "revision");
}

core::Result<KeyValue> DecodeKeyValue(const json::object& kv) {
  auto key = Base64Decode(StringField(kv, "key"));
  if (!key) {
    return core::Err(key.error());
  }
  auto value = Base64Decode(StringField(kv, "value"));
  if (!value) {
    return core::Err(value.error());
  }
  KeyValue out;
  out.key = std::move(*key);
  out.value = std::move(*value);
  out.create_revision = Int64Field(kv, "create_revision");
  out.mod_revision = Int64Field(kv, "mod_revision");
  out.version = Int64Field(kv, "version");
  out.lease = Int64Field(kv, "lease");
  return out;
}

core::Result<std::vector<KeyValue>> DecodeKvs(const json::object& parent) {
  std::vector<KeyValue> out;
  const json::value* kvs = parent.if_contains("kvs");
  if (kvs == nullptr || !kvs->is_array()) {
    return out;
  }
  out.reserve(kvs->get_array().size());
  for (const json::value& item : kvs->get_array()) {
    if (!item.is_object()) {
      return core::Err(core::Internal("etcd_error", "etcd sent a key-value that is not an object"));
    }
    auto kv = DecodeKeyValue(item.get_object());
    if (!kv) {
      return core::Err(kv.error());
    }
    out.push_back(std::move(*kv));
  }
  return out;
}

json::object EncodeRange(const RangeRequest& request) {
  json::object out = EncodeKeyRange(request.key, request.range_end);
  if (request.limit > 0) {
    out["limit"] = std::to_string(request.limit);
  }
  if (request.sort != RangeRequest::Sort::kNone) {
    out["sort_target"] = "CREATE";
    out["sort_order"] = request.sort == RangeRequest::Sort::kCreateAscend ? "ASCEND" : "DESCEND";
  }
  if (request.max_create_revision > 0) {
    out["max_create_revision"] = std::to_string(request.max_create_revision);
  }
  if (request.count_only) {
    out["count_only"] = true;
  }
  return out;
}

json::object EncodeTxn(const TxnRequest& request) {
  json::array compare;
  for (const Compare& c : request.compare) {
    json::object item;
    item["key"] = Base64Encode(c.key);
    if (!c.range_end.empty()) {
      item["range_end"] = Base64Encode(c.range_end);
    }
    item["target"] = CompareTargetName(c.target);
    item["result"] = CompareResultName(c.result);
    if (c.target == Compare::Target::kValue) {
      item["value"] = Base64Encode(c.value);
    } else {
      item[CompareFieldName(c.target)] = std::to_string(c.number);
    }
    compare.push_back(std::move(item));
  }
  json::array success;
  for (const Op& op : request.success) {
    success.push_back(EncodeOp(op));
  }
  json::array failure;
  for (const Op& op : request.failure) {
    failure.push_back(EncodeOp(op));
  }
  json::object out;
  out["compare"] = std::move(compare);
  out["success"] = std::move(success);
  out["failure"] = std::move(failure);
  return out;
}

core::Status StatusFromEtcdError(std::int64_t grpc_code, std::string message) {
  if (grpc_code == kGrpcNotFound && message.find("lease") != std::string::npos) {
    return core::NotFound("lease_not_found", std::move(message));
  }
  if (grpc_code == kGrpcOutOfRange && message.find("compacted") != std::string::npos) {
    return core::FailedPrecondition("compacted", std::move(message));
  }
  if (grpc_code == kGrpcUnavailable) {
    return core::Unavailable("etcd_unavailable", std::move(message));
  }
  if (grpc_code == kGrpcDeadlineExceeded) {
    return core::DeadlineExceeded("etcd_timeout", std::move(message));
  }
  return core::Internal("etcd_error", std::move(message));
}

core::Result<json::object> ParseAnswer(int http_status, std::string_view body) {
  boost::system::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) {
    return core::Err(core::Internal(
        "etcd_error", "etcd answered HTTP " + std::to_string(http_status) + " with '" +
                          std::string(body.substr(0, kMaxBodyExcerpt)) + "'"));
  }
  json::object& obj = parsed.get_object();
  // A unary error: {"error": "...", "message": "...", "code": N}. A streaming endpoint
  // reports one inside a 200 answer as {"error": {"grpc_code": N, "message": "..."}}.
  if (const json::value* error = obj.if_contains("error"); error != nullptr) {
    if (error->is_object()) {
      const json::object& e = error->get_object();
      const std::int64_t code =
          e.contains("grpc_code") ? Int64Field(e, "grpc_code") : Int64Field(e, "code");
      return core::Err(StatusFromEtcdError(code, StringField(e, "message")));
    }
    std::string message = StringField(obj, "message");
    if (message.empty()) {
      message = StringField(obj, "error");
    }
    return core::Err(StatusFromEtcdError(Int64Field(obj, "code"), std::move(message)));
  }
  if (http_status != 200) {
    return core::Err(core::Internal(
        "etcd_error", "etcd answered HTTP " + std::to_string(http_status) + " with '" +
                          std::string(body.substr(0, kMaxBodyExcerpt)) + "'"));
  }
  if (json::value* result = obj.if_contains("result"); result != nullptr && result->is_object()) {
    return std::move(result->get_object());
  }
  return std::move(obj);
}

}  // namespace agentmesh::etcd::internal
