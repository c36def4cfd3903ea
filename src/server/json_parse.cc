// Strict parsing of request bodies and query strings (see json_codec.h).
#include <algorithm>
#include <cctype>
#include <string>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "agentmesh/core/ids.h"
#include "agentmesh/server/json_codec.h"

namespace agentmesh::server {
namespace {

namespace json = boost::json;

ApiResult<json::object> ParseObject(std::string_view body, json::storage_ptr sp) {
  if (body.empty()) {
    return ApiErr(core::InvalidArgument("missing_body", "This request needs a JSON object body."));
  }
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, std::move(sp));
  if (ec) {
    return ApiErr(core::InvalidArgument("malformed_json",
                                        "The body is not valid JSON: " + ec.message() + "."));
  }
  if (!v.is_object()) {
    return ApiErr(core::InvalidArgument("malformed_json", "The body must be a JSON object."));
  }
  return std::move(v.as_object());
}

std::unexpected<ApiError> WrongType(std::string_view field, std::string_view want) {
  return FieldError("invalid_field", field,
                    "Field '" + std::string(field) + "' must be " + std::string(want) + ".");
}

std::unexpected<ApiError> UnknownField(std::string_view field) {
  return FieldError("unknown_field", field,
                    "Field '" + std::string(field) + "' is not part of this request.");
}

std::unexpected<ApiError> FromStatus(core::Status status, std::string_view field) {
  json::object details;
  details["field"] = field;
  return ApiErr(std::move(status), std::move(details));
}

// Returns the integer in `v`, or an error naming `field` when it is not one.
ApiResult<long long> Integer(const json::value& v, std::string_view field) {
  if (v.is_int64()) {
    return v.get_int64();
  }
  if (v.is_uint64()) {
    return FieldError("invalid_field", field, "Field '" + std::string(field) + "' is too large.");
  }
  return WrongType(field, "an integer");
}

ApiResult<std::string> IdField(const json::value& v, std::string_view field) {
  if (!v.is_string()) {
    return WrongType(field, "a string");
  }
  std::string_view s = v.get_string();
  core::Status st = core::ValidateId(s, field);
  if (!st.ok()) {
    return FromStatus(std::move(st), field);
  }
  return std::string(s);
}

bool ValidHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
  }
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

bool ValidAddress(std::string_view address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || address.size() > kMaxAddressLength) {
    return false;
  }
  std::string_view port = address.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const int n = std::stoi(std::string(port));
  return n >= 1 && n <= 65535 && ValidHost(address.substr(0, colon));
}

ApiResult<void> ParseCapabilities(const json::value& v, health::InstanceSpec* spec) {
  if (!v.is_array()) {
    return WrongType("capabilities", "an array of strings");
  }
  const json::array& arr = v.get_array();
  for (const json::value& item : arr) {
    auto cap = IdField(item, "capability");
    if (!cap) {
      return std::unexpected(cap.error());
    }
    spec->capabilities.push_back(std::move(*cap));
  }
  std::sort(spec->capabilities.begin(), spec->capabilities.end());
  spec->capabilities.erase(std::unique(spec->capabilities.begin(), spec->capabilities.end()),
                           spec->capabilities.end());
  if (spec->capabilities.size() > kMaxCapabilities) {
    return FieldError("too_many_capabilities", "capabilities",
                      "At most " + std::to_string(kMaxCapabilities) + " capabilities are allowed.");
  }
  return {};
}

ApiResult<void> ParseMetadata(const json::value& v, health::InstanceSpec* spec) {
  if (!v.is_object()) {
    return WrongType("metadata", "an object of strings");
  }
  const json::object& obj = v.get_object();
  if (obj.size() > kMaxMetadataEntries) {
    return FieldError("too_many_metadata", "metadata",
                      "At most " + std::to_string(kMaxMetadataEntries) + " metadata entries.");
  }
  for (const auto& kv : obj) {
    if (!kv.value().is_string()) {
      return WrongType("metadata", "an object whose values are strings");
    }
    std::string_view value = kv.value().get_string();
    if (kv.key().empty() || kv.key().size() > kMaxMetadataKeyLength ||
        value.size() > kMaxMetadataValueLength) {
      return FieldError("field_too_long", "metadata",
                        "Metadata keys need 1..128 characters and values at most 1024.");
    }
    spec->metadata[std::string(kv.key())] = std::string(value);
  }
  return {};
}

ApiResult<void> ParseSpecField(std::string_view key, const json::value& v,
                               health::InstanceSpec* spec) {
  if (key == "agent") {
    auto agent = IdField(v, "agent");
    if (!agent) {
      return std::unexpected(agent.error());
    }
    spec->agent = std::move(*agent);
  } else if (key == "phase") {
    auto phase = Integer(v, "phase");
    if (!phase) {
      return std::unexpected(phase.error());
    }
    if (*phase < health::kMinPhase || *phase > health::kMaxPhase) {
      return FieldError("phase_out_of_range", "phase", "Field 'phase' must be 1, 2 or 3.");
    }
    spec->phase = static_cast<int>(*phase);
  } else if (key == "domain") {
    auto domain = IdField(v, "domain");
    if (!domain) {
      return std::unexpected(domain.error());
    }
    spec->domain = std::move(*domain);
  } else if (key == "capabilities") {
    return ParseCapabilities(v, spec);
  } else if (key == "address") {
    if (!v.is_string()) {
      return WrongType("address", "a string");
    }
    if (!ValidAddress(v.get_string())) {
      return FieldError("invalid_address", "address",
                        "Field 'address' must be host:port with a port in 1..65535.");
    }
    spec->address = std::string(v.get_string());
  } else if (key == "weight") {
    auto weight = Integer(v, "weight");
    if (!weight) {
      return std::unexpected(weight.error());
    }
    if (*weight < kMinWeight || *weight > kMaxWeight) {
      return FieldError("weight_out_of_range", "weight", "Field 'weight' must be in 1..10000.");
    }
    spec->weight = static_cast<int>(*weight);
  } else if (key == "metadata") {
    return ParseMetadata(v, spec);
  } else {
    return UnknownField(key);
  }
  return {};
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      *out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) {
        return false;
      }
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return false;
      }
      *out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      *out += in[i];
    }
  }
  return true;
}

}  // namespace

ApiResult<std::string> ParseInstanceId(std::string_view id) {
  core::Status st = core::ValidateId(id, "id");
  if (!st.ok()) {
    return FromStatus(std::move(st), "id");
  }
  return std::string(id);
}

ApiResult<void> CheckJsonContentType(std::string_view content_type, std::string_view body) {
  if (body.empty() || content_type.empty()) {
    return {};
  }
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') {
    media.remove_suffix(1);
  }
  std::string lower(media);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "application/json" ||
      (lower.starts_with("application/") && lower.ends_with("+json"))) {
    return {};
  }
  return ApiErr(core::InvalidArgument("unsupported_media_type",
                                      "Send the body as Content-Type: application/json."));
}

ApiResult<health::InstanceSpec> ParseInstanceSpec(std::string_view id, std::string_view body) {
  auto checked_id = ParseInstanceId(id);
  if (!checked_id) {
    return std::unexpected(checked_id.error());
  }
  auto obj = ParseObject(body, {});
  if (!obj) {
    return std::unexpected(obj.error());
  }
  health::InstanceSpec spec;
  spec.id = std::move(*checked_id);
  bool has_agent = false;
  bool has_phase = false;
  for (const auto& kv : *obj) {
    has_agent |= kv.key() == "agent";
    has_phase |= kv.key() == "phase";
    auto ok = ParseSpecField(kv.key(), kv.value(), &spec);
    if (!ok) {
      return std::unexpected(ok.error());
    }
  }
  if (!has_agent || !has_phase) {
    const std::string_view field = has_agent ? "phase" : "agent";
    return FieldError("missing_field", field, "Field '" + std::string(field) + "' is required.");
  }
  return spec;
}

ApiResult<health::LoadSample> ParseLoadSample(std::string_view body) {
  health::LoadSample sample;
  if (body.empty()) {
    return sample;
  }
  unsigned char buffer[2048];
  json::monotonic_resource mr(buffer, sizeof(buffer));
  auto obj = ParseObject(body, &mr);
  if (!obj) {
    return std::unexpected(obj.error());
  }
  for (const auto& kv : *obj) {
    const std::string_view key = kv.key();
    double* target = key == "cpu"           ? &sample.cpu
                     : key == "memory"      ? &sample.memory
                     : key == "queue_depth" ? &sample.queue_depth
                                            : nullptr;
    if (target == nullptr) {
      return UnknownField(key);
    }
    const json::value& v = kv.value();
    if (!v.is_number()) {
      return WrongType(key, "a number");
    }
    const double d = v.to_number<double>();
    const bool ratio = target != &sample.queue_depth;
    if (d < 0 || (ratio && d > 1) || (!ratio && d > 1e9)) {
      return FieldError("value_out_of_range", key,
                        ratio ? "Field '" + std::string(key) + "' must be in 0..1."
                              : std::string("Field 'queue_depth' must be in 0..1e9."));
    }
    *target = d;
  }
  return sample;
}

ApiResult<Observation> ParseObservation(std::string_view body) {
  auto obj = ParseObject(body, {});
  if (!obj) {
    return std::unexpected(obj.error());
  }
  Observation out;
  bool has_observer = false;
  bool has_healthy = false;
  for (const auto& kv : *obj) {
    if (kv.key() == "observer") {
      auto observer = IdField(kv.value(), "observer");
      if (!observer) {
        return std::unexpected(observer.error());
      }
      out.observer = std::move(*observer);
      has_observer = true;
    } else if (kv.key() == "healthy") {
      if (!kv.value().is_bool()) {
        return WrongType("healthy", "true or false");
      }
      out.healthy = kv.value().get_bool();
      has_healthy = true;
    } else {
      return UnknownField(kv.key());
    }
  }
  if (!has_observer || !has_healthy) {
    const std::string_view field = has_observer ? "healthy" : "observer";
    return FieldError("missing_field", field, "Field '" + std::string(field) + "' is required.");
  }
  return out;
}

ApiResult<health::ListFilter> ParseListFilter(std::string_view query) {
  health::ListFilter filter;
  std::string key;
  std::string value;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    const std::size_t eq = pair.find('=');
    if (!PercentDecode(pair.substr(0, eq), &key) ||
        !PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), &value)) {
      return ApiErr(core::InvalidArgument("malformed_query", "The query string is not valid."));
    }
    if (key == "phase") {
      if (value.size() != 1 || value[0] < '0' || value[0] > '9') {
        return FieldError("invalid_field", "phase", "Query parameter 'phase' must be 1, 2 or 3.");
      }
      const int phase = value[0] - '0';
      if (phase < health::kMinPhase || phase > health::kMaxPhase) {
        return FieldError("phase_out_of_range", "phase", "Query parameter 'phase' must be 1..3.");
      }
      filter.phase = phase;
    } else if (key == "status") {
      auto state = health::ParseHealthState(value);
      if (!state) {
        return FieldError("invalid_status", "status",
                          "Query parameter 'status' must be healthy, suspect, unhealthy, "
                          "recovering or left.");
      }
      filter.state = *state;
    } else if (key == "domain" || key == "capability" || key == "agent") {
      core::Status st = core::ValidateId(value, key);
      if (!st.ok()) {
        return FromStatus(std::move(st), key);
      }
      auto& slot = key == "domain"  ? filter.domain
                   : key == "agent" ? filter.agent
                                    : filter.capability;
      slot = value;
    } else {
      return UnknownParameter(key);
    }
  }
  return filter;
}

}  // namespace agentmesh::server
