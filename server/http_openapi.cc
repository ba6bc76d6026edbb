#include "server/http_openapi.h"

#include <google/protobuf/descriptor.h>

#include <nlohmann/json.hpp>

#include <set>

#include "absl/strings/str_cat.h"

namespace faceserve {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;

std::string Ref(const std::string& full_name) {
  return absl::StrCat("#/components/schemas/", full_name);
}

class SchemaWriter {
 public:
  explicit SchemaWriter(json* schemas) : schemas_(schemas) {}

  // Adds `type` and every message and enum it reaches.
  void AddMessage(const Descriptor* type) {
    if (!seen_.insert(type->full_name()).second) return;
    if (type->full_name() == "google.protobuf.Any") {
      (*schemas_)[type->full_name()] = {
          {"type", "object"},
          {"description", "Any message, with its type URL in \"@type\" and its own fields"},
          {"properties", {{"@type", {{"type", "string"}}}}},
          {"additionalProperties", true}};
      return;
    }
    json properties = json::object();
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      properties[field->name()] = FieldSchema(field);
    }
    (*schemas_)[type->full_name()] = {{"type", "object"}, {"properties", properties}};
  }

 private:
  json ScalarSchema(const FieldDescriptor* field) {
    switch (field->type()) {
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
        return {{"type", "integer"}, {"format", "int32"}};
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        return {{"type", "integer"}, {"format", "int64"}, {"minimum", 0}};
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        // Protobuf's JSON mapping writes 64-bit integers as strings.
        return {{"type", "string"}, {"format", "int64"}};
      case FieldDescriptor::TYPE_FLOAT:
        return {{"type", "number"}, {"format", "float"}};
      case FieldDescriptor::TYPE_DOUBLE:
        return {{"type", "number"}, {"format", "double"}};
      case FieldDescriptor::TYPE_BOOL:
        return {{"type", "boolean"}};
      case FieldDescriptor::TYPE_STRING:
        return {{"type", "string"}};
      case FieldDescriptor::TYPE_BYTES:
        return {{"type", "string"}, {"format", "byte"}};  // base64
      case FieldDescriptor::TYPE_ENUM: {
        const EnumDescriptor* e = field->enum_type();
        json names = json::array();
        for (int i = 0; i < e->value_count(); ++i) names.push_back(e->value(i)->name());
        return {{"type", "string"}, {"enum", names}};
      }
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
        AddMessage(field->message_type());
        return {{"$ref", Ref(field->message_type()->full_name())}};
    }
    return json::object();
  }

  json FieldSchema(const FieldDescriptor* field) {
    if (field->is_map()) {
      const FieldDescriptor* value = field->message_type()->map_value();
      return {{"type", "object"}, {"additionalProperties", ScalarSchema(value)}};
    }
    if (field->is_repeated()) return {{"type", "array"}, {"items", ScalarSchema(field)}};
    return ScalarSchema(field);
  }

  json* const schemas_;
  std::set<std::string> seen_;
};

}  // namespace

std::string OpenApiDocument(const std::vector<HttpRoute>& routes) {
  json schemas = json::object();
  SchemaWriter writer(&schemas);
  const Descriptor* status =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName("google.rpc.Status");
  if (status != nullptr) writer.AddMessage(status);
  json error = {{"description",
                 "The call failed: google.rpc.Status with the ErrorInfo reason in details; the "
                 "HTTP status is grpc-gateway's for the gRPC code"},
                {"content", {{"application/json", {{"schema", {{"$ref", Ref("google.rpc.Status")}}}}}}}};
  json paths = json::object();
  for (const HttpRoute& route : routes) {
    const Descriptor* in = route.method->input_type();
    const Descriptor* out = route.method->output_type();
    writer.AddMessage(in);
    writer.AddMessage(out);
    json content = {{"application/json", {{"schema", {{"$ref", Ref(in->full_name())}}}}}};
    const FieldDescriptor* image = in->FindFieldByName("image");
    if (image != nullptr && image->message_type() != nullptr &&
        image->message_type()->full_name() == "faceserve.v1.Image") {
      // The image as the body; the other fields as query parameters.
      content["image/*"] = {{"schema", {{"type", "string"}, {"format", "binary"}}}};
      content["multipart/form-data"] = {
          {"schema",
           {{"type", "object"},
            {"properties", {{"image", {{"type", "string"}, {"format", "binary"}}}}},
            {"required", {"image"}}}}};
    }
    paths[route.path]["post"] = {
        {"operationId", route.method->full_name()},
        {"summary", absl::StrCat("gRPC ", route.grpc_method)},
        {"parameters",
         {{{"name", "X-Timeout-Ms"},
           {"in", "header"},
           {"required", false},
           {"description", "The call's deadline in milliseconds (default: the server's)"},
           {"schema", {{"type", "integer"}, {"minimum", 1}}}}}},
        {"requestBody", {{"required", true}, {"content", content}}},
        {"responses",
         {{"200",
           {{"description", "OK"},
            {"content", {{"application/json", {{"schema", {{"$ref", Ref(out->full_name())}}}}}}}}},
          {"default", error}}}};
  }
  json document = {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "faceserve HTTP/JSON API"},
        {"version", "v1"},
        {"description",
         "Every unary RPC of faceserve's gRPC services (proto/faceserve/v1) as POST "
         "/v1/<its name in snake case>, in protobuf's JSON mapping."}}},
      {"paths", paths},
      {"components",
       {{"schemas", schemas},
        {"securitySchemes", {{"apiKey", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
      {"security", json::array({json::object(), {{"apiKey", json::array()}}})}};
  return document.dump(2);
}

}  // namespace faceserve
