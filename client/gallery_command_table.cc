// The usage texts and flags of facectl's gallery subcommands (issue 27),
// kept beside each other here so facectl.cc stays a dispatcher.
#include "client/command_table.h"

namespace faceserve::client {

std::vector<CommandInfo> GalleryCommandTable() {
  return {
      {"gallery",
       "usage: facectl gallery create NAME [--predictor P] [--threshold T] [--index I]\n"
       "       facectl gallery list\n"
       "       facectl gallery delete NAME\n"
       "       facectl gallery export NAME --out FILE\n"
       "       facectl gallery import FILE [--name NAME] [--predictor P] [--index I]\n"
       "                              [--concurrency N]\n"
       "Galleries of enrolled people. create: bound to an embedding predictor's model\n"
       "(default: the server's); --threshold: identification threshold (default: the\n"
       "predictor's verify threshold); --index: auto (exact search below the server's\n"
       "gallery.index.approximate_from_faces, an HNSW graph from there), exact or\n"
       "approximate. export: subjects, metadata and embeddings into a\n"
       "portable JSON Lines file (the backup); import: a new gallery from one, one Enroll\n"
       "(one transaction) per subject, N in flight (default 8).\n",
       {{"predictor", true}, {"threshold", true}, {"out", true}, {"name", true},
        {"concurrency", true}, {"index", true}},
       &RunGalleryCommand},
      {"subject",
       "usage: facectl subject list --gallery G\n"
       "       facectl subject show --gallery G SUBJECT\n"
       "       facectl subject delete --gallery G SUBJECT\n"
       "Subjects of a gallery (JSON Lines: subject, metadata, face_ids). delete erases\n"
       "the subject with every face of it.\n",
       {{"gallery", true}},
       &RunSubjectCommand},
      {"enroll",
       "usage: facectl enroll --gallery G --subject S IMAGE... [--largest]\n"
       "                      [--metadata k=v,...] [--idempotency-key K]\n"
       "Enrolls one face per image (at most 16) for subject S, through the server's\n"
       "quality gate; prints each image's face id or the rule that rejected it.\n"
       "  --largest            enroll the largest face when an image has several\n"
       "  --metadata k=v,...   replace the subject's metadata\n"
       "  --idempotency-key K  a retry with the same K returns the first answer\n",
       {{"gallery", true}, {"subject", true}, {"largest", false}, {"metadata", true},
        {"idempotency-key", true}},
       &RunEnrollCommand},
      {"enroll-dir",
       "usage: facectl enroll-dir --gallery G DIR [--largest] [--concurrency N]\n"
       "Enrolls a folder with one sub-folder per subject (the folder's name is the\n"
       "subject id); a progress bar on a terminal; prints a summary with the rejections\n"
       "by rule.\n",
       {{"gallery", true}, {"largest", false}, {"concurrency", true}},
       &RunEnrollDirCommand},
      {"identify",
       "usage: facectl identify --gallery G IMAGE... [--top-k K] [--threshold T]\n"
       "Finds who every face of each image is; one JSON object per image, as analyze\n"
       "prints, each face with \"matches\" (subject, face_id, similarity; best first)\n"
       "and \"identified\" (the best similarity reaches the threshold).\n"
       "  --top-k K         distinct subjects per face (default 1)\n"
       "  --threshold T     identification threshold (default: the gallery's)\n",
       {{"gallery", true}, {"top-k", true}, {"threshold", true}},
       &RunIdentifyCommand},
      {"eval-identify",
       "usage: facectl eval-identify DIR [--predictor P] [--concurrency N] [--gallery NAME]\n"
       "                             [--keep]\n"
       "Identification accuracy on a folder per identity: every other identity is\n"
       "enrolled (its first image the gate accepts) into a new gallery, the other images\n"
       "are probes. Prints closed-set rank-1 and rank-5, open-set TPIR at FPIR 0.1 and\n"
       "0.01 (n/a with fewer than 1/FPIR non-mated probes) and TPIR/FPIR at the gallery's\n"
       "threshold. The gallery is deleted at the end unless --keep.\n",
       {{"predictor", true}, {"concurrency", true}, {"gallery", true}, {"keep", false}},
       &RunEvalIdentifyCommand},
      {"api-key",
       "usage: facectl api-key generate --keys-file FILE --name N --scopes S,... [--galleries G,...]\n"
       "       facectl api-key create --name N --scopes S,... [--galleries G,...]\n"
       "       facectl api-key list\n"
       "       facectl api-key revoke ID\n"
       "API keys. Scopes: analyze, identify, enroll, admin (admin holds every scope);\n"
       "galleries: names, or '*' for every gallery (none: FaceService alone).\n"
       "generate: offline; makes a key, appends its digest to FILE (the server's\n"
       "auth.keys_file, created 0600) and prints the key: the way to the first admin key.\n"
       "create: through the server (an admin key with galleries '*'); prints the key once,\n"
       "with its id. revoke: refused from the next call on. Rotate without downtime:\n"
       "create the new key, move the clients to it, then revoke the old one.\n",
       {{"keys-file", true}, {"name", true}, {"scopes", true}, {"galleries", true}},
       &RunApiKeyCommand},
  };
}

}  // namespace faceserve::client
