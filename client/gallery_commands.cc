// facectl gallery create|list|delete|export|import and
// subject list|show|delete: GalleryService's bookkeeping, JSON out.
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "client/gallery_file.h"
#include "client/json_output.h"
#include "faceserve/v1/gallery_service.grpc.pb.h"
#include "proto/rpc_status.h"

namespace faceserve::client {
namespace {

namespace v1 = faceserve::v1;

Json GalleryToJson(const v1::Gallery& g) {
  Json j;
  j["name"] = g.name();
  j["subjects"] = g.subject_count();
  j["faces"] = g.face_count();
  j["descriptor_model"] = g.descriptor_model();
  j["dimension"] = g.dimension();
  j["threshold"] = CleanFloat(g.threshold());
  j["index"] = g.index() == v1::INDEX_EXACT         ? "exact"
               : g.index() == v1::INDEX_APPROXIMATE ? "approximate"
                                                    : "auto";
  j["approximate"] = g.approximate();
  return j;
}

// --index: auto (default), exact or approximate.
absl::StatusOr<v1::GalleryIndex> IndexFlag(const ParsedArgs& args) {
  const std::string v = args.Get("index");
  if (v.empty() || v == "auto") return v1::INDEX_AUTO;
  if (v == "exact") return v1::INDEX_EXACT;
  if (v == "approximate") return v1::INDEX_APPROXIMATE;
  return absl::InvalidArgumentError(
      absl::StrCat("--index is auto, exact or approximate, not '", v, "'"));
}

Json SubjectToJson(const v1::Subject& s) {
  Json j;
  j["subject"] = s.subject();
  j["metadata"] = Json::object();
  for (const auto& [k, v] : s.metadata()) j["metadata"][k] = v;
  j["face_ids"] = Json::array();
  for (const v1::EnrolledFace& f : s.faces()) j["face_ids"].push_back(f.face_id());
  return j;
}

// Calls one unary RPC of GalleryService with the connection's deadline.
template <typename Method, typename Request, typename Response>
grpc::Status Call(const CommandContext& ctx, Method method, const Request& request,
                  Response* response) {
  return CallUnary<v1::GalleryService>(ctx.connection, method, request, response);
}

int Export(const CommandContext& ctx, const std::string& name, const std::string& path) {
  v1::ListGalleriesResponse all;
  if (grpc::Status s = Call(ctx, &v1::GalleryService::Stub::ListGalleries,
                            v1::ListGalleriesRequest(), &all);
      !s.ok()) {
    return ctx.Fail(FromGrpcStatus(s));
  }
  const v1::Gallery* gallery = nullptr;
  for (const v1::Gallery& g : all.galleries()) {
    if (g.name() == name) gallery = &g;
  }
  if (gallery == nullptr) return ctx.Fail(absl::NotFoundError(absl::StrCat("no gallery '", name, "'")));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return ctx.Fail(absl::PermissionDeniedError(absl::StrCat("cannot write ", path)));
  out << GalleryHeaderLine({gallery->name(), gallery->descriptor_model(), gallery->dimension(),
                            gallery->threshold(), gallery->subject_count(), gallery->face_count()})
      << "\n";
  int64_t subjects = 0, faces = 0;
  v1::ListSubjectsRequest page;
  page.set_gallery(name);
  page.set_page_size(500);
  for (;;) {
    v1::ListSubjectsResponse listed;
    if (grpc::Status s = Call(ctx, &v1::GalleryService::Stub::ListSubjects, page, &listed); !s.ok()) {
      return ctx.Fail(FromGrpcStatus(s));
    }
    for (const v1::Subject& brief : listed.subjects()) {
      v1::GetSubjectRequest get;
      get.set_gallery(name);
      get.set_subject(brief.subject());
      get.set_include_embeddings(true);
      v1::Subject full;
      if (grpc::Status s = Call(ctx, &v1::GalleryService::Stub::GetSubject, get, &full); !s.ok()) {
        if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;  // deleted meanwhile
        return ctx.Fail(FromGrpcStatus(s));
      }
      GalleryFileSubject line{full.subject(), {full.metadata().begin(), full.metadata().end()}, {}};
      for (const v1::EnrolledFace& f : full.faces()) {
        line.faces.emplace_back(f.embedding().values().begin(), f.embedding().values().end());
      }
      faces += static_cast<int64_t>(line.faces.size());
      ++subjects;
      out << GallerySubjectLine(line) << "\n";
    }
    if (listed.next_page_token().empty()) break;
    page.set_page_token(listed.next_page_token());
  }
  out.flush();
  if (!out) return ctx.Fail(absl::DataLossError(absl::StrCat("writing ", path, " failed")));
  Json j;
  j["exported"] = name;
  j["file"] = path;
  j["subjects"] = subjects;
  j["faces"] = faces;
  *ctx.out << ToJsonLine(j) << std::endl;
  return 0;
}

int Import(const CommandContext& ctx, const std::string& path, std::string name,
           const std::string& predictor, v1::GalleryIndex index, int concurrency) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ctx.Fail(absl::NotFoundError(absl::StrCat("cannot read ", path)));
  std::string line;
  std::getline(in, line);
  absl::StatusOr<GalleryFileHeader> header = ParseGalleryHeader(line);
  if (!header.ok()) return ctx.Fail(header.status());
  if (name.empty()) name = header->gallery;
  v1::CreateGalleryRequest create;
  create.set_name(name);
  create.set_predictor(predictor);
  create.set_threshold(header->threshold);
  create.set_index(index);
  v1::Gallery created;
  if (grpc::Status s = Call(ctx, &v1::GalleryService::Stub::CreateGallery, create, &created);
      !s.ok()) {
    return ctx.Fail(FromGrpcStatus(s));
  }
  if (created.descriptor_model() != header->descriptor_model ||
      created.dimension() != header->dimension) {
    v1::DeleteGalleryRequest drop;
    drop.set_name(name);
    v1::DeleteGalleryResponse ignored;
    (void)Call(ctx, &v1::GalleryService::Stub::DeleteGallery, drop, &ignored);
    return ctx.Fail(absl::FailedPreconditionError(absl::StrCat(
        path, " holds embeddings of ", header->descriptor_model, "; the server's predictor '",
        predictor.empty() ? "(default)" : predictor, "' makes ", created.descriptor_model(),
        ": name the right one with --predictor")));
  }
  auto channel = MakeChannel(ctx.connection);
  auto stub = v1::GalleryService::NewStub(channel);
  std::vector<GalleryFileSubject> subjects;
  int line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    absl::StatusOr<GalleryFileSubject> s = ParseGallerySubject(line, header->dimension, line_number);
    if (!s.ok()) return ctx.Fail(s.status());
    subjects.push_back(*std::move(s));
  }
  // One Enroll per subject (one transaction each), several in flight.
  std::mutex mu;
  absl::Status first_error;
  int64_t faces = 0;
  RunWithConcurrency(
      concurrency, [&](int64_t i) { return i < static_cast<int64_t>(subjects.size()); },
      [&](int64_t i, std::function<void()> done) {
        const GalleryFileSubject& s = subjects[static_cast<size_t>(i)];
        auto request = std::make_shared<v1::EnrollRequest>();
        request->set_gallery(name);
        request->set_subject(s.subject);
        for (const auto& [k, v] : s.metadata) (*request->mutable_metadata())[k] = v;
        for (const std::vector<float>& f : s.faces) {
          *request->add_inputs()->mutable_embedding()->mutable_values() = {f.begin(), f.end()};
        }
        if (s.faces.empty()) {  // no face to enroll: Enroll needs one
          done();
          return;
        }
        auto response = std::make_shared<v1::EnrollResponse>();
        auto context = std::make_shared<grpc::ClientContext>();
        SetDeadline(ctx.connection, *context);
        stub->async()->Enroll(context.get(), request.get(), response.get(),
                              [&, request, response, context, done](grpc::Status status) {
                                {
                                  std::lock_guard<std::mutex> lock(mu);
                                  if (!status.ok() && first_error.ok()) {
                                    first_error = FromGrpcStatus(status);
                                  }
                                  if (status.ok()) faces += response->results_size();
                                }
                                done();
                              });
      });
  if (!first_error.ok()) return ctx.Fail(first_error);
  Json j;
  j["imported"] = name;
  j["subjects"] = subjects.size();
  j["faces"] = faces;
  *ctx.out << ToJsonLine(j) << std::endl;
  return 0;
}

}  // namespace

int RunGalleryCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.empty()) return ctx.UsageError("gallery needs a verb: create, list, delete, export, import");
  const std::string& verb = args.positional[0];
  const size_t operands = args.positional.size() - 1;
  if (verb == "list") {
    v1::ListGalleriesResponse response;
    grpc::Status s = Call(ctx, &v1::GalleryService::Stub::ListGalleries,
                          v1::ListGalleriesRequest(), &response);
    if (!s.ok()) return ctx.Fail(FromGrpcStatus(s));
    for (const v1::Gallery& g : response.galleries()) *ctx.out << ToJsonLine(GalleryToJson(g)) << "\n";
    ctx.out->flush();
    return 0;
  }
  if (operands != 1) return ctx.UsageError(absl::StrCat("gallery ", verb, " needs one operand"));
  const std::string& operand = args.positional[1];
  if (verb == "create") {
    auto threshold = args.GetDouble("threshold", 0, 0, 1);
    if (!threshold.ok()) return ctx.UsageError(threshold.status().message());
    v1::CreateGalleryRequest request;
    request.set_name(operand);
    request.set_predictor(args.Get("predictor"));
    request.set_threshold(static_cast<float>(*threshold));
    absl::StatusOr<v1::GalleryIndex> index = IndexFlag(args);
    if (!index.ok()) return ctx.UsageError(index.status().message());
    request.set_index(*index);
    v1::Gallery response;
    grpc::Status s = Call(ctx, &v1::GalleryService::Stub::CreateGallery, request, &response);
    if (!s.ok()) return ctx.Fail(FromGrpcStatus(s));
    *ctx.out << ToJsonLine(GalleryToJson(response)) << std::endl;
    return 0;
  }
  if (verb == "delete") {
    v1::DeleteGalleryRequest request;
    request.set_name(operand);
    v1::DeleteGalleryResponse response;
    grpc::Status s = Call(ctx, &v1::GalleryService::Stub::DeleteGallery, request, &response);
    if (!s.ok()) return ctx.Fail(FromGrpcStatus(s));
    *ctx.out << ToJsonLine(Json{{"deleted", operand}}) << std::endl;
    return 0;
  }
  if (verb == "export") {
    if (!args.Has("out")) return ctx.UsageError("gallery export needs --out FILE");
    return Export(ctx, operand, args.Get("out"));
  }
  if (verb == "import") {
    auto concurrency = args.GetInt("concurrency", 8, 1, 256);
    if (!concurrency.ok()) return ctx.UsageError(concurrency.status().message());
    absl::StatusOr<v1::GalleryIndex> index = IndexFlag(args);
    if (!index.ok()) return ctx.UsageError(index.status().message());
    return Import(ctx, operand, args.Get("name"), args.Get("predictor"), *index,
                  static_cast<int>(*concurrency));
  }
  return ctx.UsageError(absl::StrCat("unknown gallery verb '", verb, "'"));
}

int RunSubjectCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.empty()) return ctx.UsageError("subject needs a verb: list, show, delete");
  if (!args.Has("gallery")) return ctx.UsageError("subject needs --gallery G");
  const std::string gallery = args.Get("gallery");
  const std::string& verb = args.positional[0];
  if (verb == "list") {
    v1::ListSubjectsRequest request;
    request.set_gallery(gallery);
    request.set_page_size(500);
    for (;;) {
      v1::ListSubjectsResponse response;
      grpc::Status s = Call(ctx, &v1::GalleryService::Stub::ListSubjects, request, &response);
      if (!s.ok()) return ctx.Fail(FromGrpcStatus(s));
      for (const v1::Subject& subject : response.subjects()) {
        *ctx.out << ToJsonLine(SubjectToJson(subject)) << "\n";
      }
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    ctx.out->flush();
    return 0;
  }
  if (args.positional.size() != 2) return ctx.UsageError(absl::StrCat("subject ", verb, " needs SUBJECT"));
  const std::string& subject = args.positional[1];
  if (verb == "show") {
    v1::GetSubjectRequest request;
    request.set_gallery(gallery);
    request.set_subject(subject);
    v1::Subject response;
    grpc::Status s = Call(ctx, &v1::GalleryService::Stub::GetSubject, request, &response);
    if (!s.ok()) return ctx.Fail(FromGrpcStatus(s));
    *ctx.out << ToJsonLine(SubjectToJson(response)) << std::endl;
    return 0;
  }
  if (verb == "delete") {
    v1::DeleteSubjectRequest request;
    request.set_gallery(gallery);
    request.set_subject(subject);
    v1::DeleteSubjectResponse response;
    grpc::Status s = Call(ctx, &v1::GalleryService::Stub::DeleteSubject, request, &response);
    if (!s.ok()) return ctx.Fail(FromGrpcStatus(s));
    *ctx.out << ToJsonLine(Json{{"deleted", subject}}) << std::endl;
    return 0;
  }
  return ctx.UsageError(absl::StrCat("unknown subject verb '", verb, "'"));
}

}  // namespace faceserve::client
