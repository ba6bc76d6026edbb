// GalleryServiceImpl: the faceserve.v1.GalleryService RPCs (issue 27) on
// gRPC's callback API, sharing FaceService's admission (server/
// call_admission.h: max_concurrent_calls, readiness, graceful shutdown).
//
// Model work (Identify, Enroll's images) is asynchronous through the
// Identifier. The database calls (create, list, delete, metadata) are short
// and run on gRPC's callback thread; a write waits for its fsync there.
//
// Ownership: nothing is owned; everything must outlive the gRPC server.
// `metrics` may be null. Thread-safety: all methods are safe to call
// concurrently.
#ifndef FACESERVE_SERVER_GALLERY_SERVICE_H_
#define FACESERVE_SERVER_GALLERY_SERVICE_H_

#include "core/gallery/galleries.h"
#include "core/identification/identifier.h"
#include "faceserve/v1/gallery_service.grpc.pb.h"
#include "server/call_admission.h"

namespace faceserve {

class Metrics;

class GalleryServiceImpl final : public v1::GalleryService::CallbackService {
 public:
  GalleryServiceImpl(CallGate* gate, Identifier* identifier, Galleries* galleries,
                     Metrics* metrics)
      : gate_(gate), identifier_(identifier), galleries_(galleries), metrics_(metrics) {}

  // Publishes every gallery's face count (at start-up).
  void PublishFaceCounts();

  grpc::ServerUnaryReactor* CreateGallery(grpc::CallbackServerContext* context,
                                          const v1::CreateGalleryRequest* request,
                                          v1::Gallery* response) override;
  grpc::ServerUnaryReactor* DeleteGallery(grpc::CallbackServerContext* context,
                                          const v1::DeleteGalleryRequest* request,
                                          v1::DeleteGalleryResponse* response) override;
  grpc::ServerUnaryReactor* ListGalleries(grpc::CallbackServerContext* context,
                                          const v1::ListGalleriesRequest* request,
                                          v1::ListGalleriesResponse* response) override;
  grpc::ServerUnaryReactor* Enroll(grpc::CallbackServerContext* context,
                                   const v1::EnrollRequest* request,
                                   v1::EnrollResponse* response) override;
  grpc::ServerUnaryReactor* ListSubjects(grpc::CallbackServerContext* context,
                                         const v1::ListSubjectsRequest* request,
                                         v1::ListSubjectsResponse* response) override;
  grpc::ServerUnaryReactor* GetSubject(grpc::CallbackServerContext* context,
                                       const v1::GetSubjectRequest* request,
                                       v1::Subject* response) override;
  grpc::ServerUnaryReactor* UpdateSubject(grpc::CallbackServerContext* context,
                                          const v1::UpdateSubjectRequest* request,
                                          v1::Subject* response) override;
  grpc::ServerUnaryReactor* DeleteFace(grpc::CallbackServerContext* context,
                                       const v1::DeleteFaceRequest* request,
                                       v1::DeleteFaceResponse* response) override;
  grpc::ServerUnaryReactor* DeleteSubject(grpc::CallbackServerContext* context,
                                          const v1::DeleteSubjectRequest* request,
                                          v1::DeleteSubjectResponse* response) override;
  grpc::ServerUnaryReactor* Identify(grpc::CallbackServerContext* context,
                                     const v1::IdentifyRequest* request,
                                     v1::IdentifyResponse* response) override;
  grpc::ServerUnaryReactor* Search(grpc::CallbackServerContext* context,
                                   const v1::SearchRequest* request,
                                   v1::SearchResponse* response) override;

 private:
  void PublishFaceCount(const std::string& gallery);
  // Counts each input's outcome of an Enroll that ran the gate.
  void CountEnroll(const absl::StatusOr<Identifier::EnrollResult>& result);

  CallGate* const gate_;
  Identifier* const identifier_;
  Galleries* const galleries_;
  Metrics* const metrics_;
};

}  // namespace faceserve

#endif  // FACESERVE_SERVER_GALLERY_SERVICE_H_
