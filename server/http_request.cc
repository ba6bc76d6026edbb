#include "server/http_request.h"

#include <cstdint>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/error_reason.h"
#include "core/invalid_field.h"

namespace faceserve {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;


// A field by its proto name or its JSON name.
const FieldDescriptor* FieldNamed(const Descriptor* type, const std::string& name) {
  if (const FieldDescriptor* f = type->FindFieldByName(name)) return f;
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == name) return type->field(i);
  }
  return nullptr;
}

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or
// code points past U+10FFFF). A query is percent-decoded into any bytes;
// JSON, protobuf strings and error messages need UTF-8.
bool IsUtf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    int more = 0;
    uint32_t code = 0, min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      more = 1, code = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      more = 2, code = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      more = 3, code = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + more >= text.size()) return false;  // cut short
    for (int k = 1; k <= more; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += more + 1;
  }
  return true;
}

// One query value as JSON for a field of `field`'s type.
absl::StatusOr<nlohmann::json> ValueFor(const FieldDescriptor* field, const std::string& key,
                                        const std::string& value) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL: {
      const std::string v = absl::AsciiStrToLower(value);
      if (v == "true" || v == "1" || v.empty()) return true;
      if (v == "false" || v == "0") return false;
      return InvalidFieldError(key, "expected true or false");
    }
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT64:
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double number = 0;
      if (!absl::SimpleAtod(value, &number)) return InvalidFieldError(key, "expected a number");
      return value;  // protobuf's JSON reads numbers from strings too, exactly
    }
    case FieldDescriptor::CPPTYPE_STRING:
    case FieldDescriptor::CPPTYPE_ENUM:
      return value;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return InvalidFieldError(key, "names a message: name one of its fields (key.field=value)");
  }
  return InvalidFieldError(key, "unsupported field type");
}

}  // namespace

HttpBodyKind BodyKindOf(const std::string& content_type) {
  const std::string type =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
  if (type.empty() || type == "application/json") return HttpBodyKind::kJson;
  if (absl::StartsWith(type, "image/") || type == "application/octet-stream") {
    return HttpBodyKind::kImage;
  }
  if (type == "multipart/form-data") return HttpBodyKind::kMultipart;
  return HttpBodyKind::kUnsupported;
}

absl::Status RequestFromJson(const std::string& body, google::protobuf::Message* out) {
  out->Clear();
  if (absl::StripAsciiWhitespace(body).empty()) return absl::OkStatus();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(body, out, options);
  if (!parsed.ok()) {
    return InvalidFieldError("body", absl::StrCat("not a valid ", out->GetDescriptor()->name(),
                                        " in JSON: ", std::string(parsed.message())));
  }
  return absl::OkStatus();
}

absl::Status RequestFromImage(const std::string& body,
                              const std::multimap<std::string, std::string>& params,
                              google::protobuf::Message* out) {
  out->Clear();
  const Descriptor* type = out->GetDescriptor();
  const FieldDescriptor* image = type->FindFieldByName("image");
  if (image == nullptr || image->message_type() == nullptr ||
      image->message_type()->full_name() != "faceserve.v1.Image") {
    return InvalidFieldError("body", absl::StrCat(type->name(),
                                        " has no image field: send it as application/json"));
  }
  // The query first, as a JSON object, so that protobuf's JSON mapping
  // checks and converts every value as it does for a JSON body.
  nlohmann::json query = nlohmann::json::object();
  for (const auto& [key, value] : params) {
    if (!IsUtf8(key) || !IsUtf8(value)) {
      return InvalidFieldError("query", "parameters must be UTF-8 (percent-encoded as such)");
    }
  }
  for (const auto& [key, value] : params) {
    const std::vector<std::string> path = absl::StrSplit(key, '.');
    const Descriptor* at = type;
    nlohmann::json* node = &query;
    for (size_t i = 0; i < path.size(); ++i) {
      const FieldDescriptor* field = at == nullptr ? nullptr : FieldNamed(at, path[i]);
      if (field == nullptr) return InvalidFieldError(key, "no such field");
      if (field->name() == "image" && at == type) return InvalidFieldError(key, "the image is the body");
      const std::string json_name = field->json_name();
      if (i + 1 < path.size()) {
        if (field->is_repeated() || field->message_type() == nullptr) {
          return InvalidFieldError(key, "only a single message field can have sub-fields");
        }
        node = &(*node)[json_name];
        at = field->message_type();
        continue;
      }
      absl::StatusOr<nlohmann::json> v = ValueFor(field, key, value);
      if (!v.ok()) return v.status();
      if (field->is_repeated()) {
        (*node)[json_name].push_back(*v);
      } else {
        if (node->contains(json_name)) return InvalidFieldError(key, "given twice");
        (*node)[json_name] = *v;
      }
    }
  }
  if (absl::Status s = RequestFromJson(query.dump(), out); !s.ok()) {
    return InvalidFieldError("query", std::string(s.message()));
  }
  google::protobuf::Message* image_message = out->GetReflection()->MutableMessage(out, image);
  image_message->GetReflection()->SetString(
      image_message, image_message->GetDescriptor()->FindFieldByName("encoded"), body);
  return absl::OkStatus();
}

}  // namespace faceserve
