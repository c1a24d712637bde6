// The upload endpoints (upstream's cdi-uploadproxy paths), mounted on vdisk's HTTPS listener:
//
//   POST|PUT /v1beta1/upload, /v1beta1/upload-async            the body is the image
//   POST|PUT /v1beta1/upload-form, /v1beta1/upload-form-async  multipart/form-data, field `file`
//   GET|HEAD on each                                           200: a probe (virtctl asks
//                                                              whether async uploads exist)
//
// Authorization: Bearer <token from an UploadTokenRequest>. Answers, as upstream:
//   400  no token, a malformed one, or an image the volume cannot take (the reason in the body)
//   401  a token with a bad signature, or expired
//   409  the claim already holds an uploaded image
//   503  the claim is not ready for an upload (after waiting up to 10 s), or one is running
//   200  the image is on the volume, validated and synced
// An answer given before the body was read to its end closes the connection (the server does
// that for raw routes), so a refused body is never taken for the next request.
// The body streams into dataplane::ImportImage through a bounded ring: memory stays bounded,
// nothing is buffered whole, and an image too large for the claim is refused as soon as its
// header arrives. The async paths answer the same way (the stream is converted as it arrives,
// so there is no later processing step to return early for).
#pragma once

#include <vector>

#include "server/http_server.h"
#include "upload/registry.h"
#include "upload/token.h"

namespace vdisk::upload {

inline constexpr const char* kUploadPaths[] = {"/v1beta1/upload", "/v1beta1/upload-async",
                                               "/v1beta1/upload-form",
                                               "/v1beta1/upload-form-async"};

// Both must outlive the server the routes are mounted on.
std::vector<server::RawRoute> UploadRoutes(UploadRegistry& registry, const TokenSigner& signer);

// Sets CDIConfig `config` status.uploadProxyURL to spec.uploadProxyURLOverride when set, else
// to `server_url` (where these routes are served), as upstream shows its proxy's route.
Status PublishUploadProxyUrl(server::ObjectService& objects, const std::string& server_url);

}  // namespace vdisk::upload
