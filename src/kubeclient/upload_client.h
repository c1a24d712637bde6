// UploadImage: sends a disk image to an upload endpoint (POST <url>, Authorization: Bearer
// <token>, the image as the body), the way `curl --data-binary @image` would, with progress.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "common/io.h"
#include "common/status.h"
#include "kubeclient/kubeconfig.h"

namespace vdisk::kubeclient {

struct UploadRequest {
  std::string url;  // e.g. https://host:port/v1beta1/upload
  std::string token;
  TlsSettings tls;
  // Opens the body from its first byte (once per attempt), and its length; without a length the
  // body is sent chunked.
  std::function<Result<std::unique_ptr<io::Reader>>()> open_body;
  std::optional<uint64_t> body_size;
  // Called with the bytes sent so far and body_size, often while sending and once at the end.
  std::function<void(uint64_t sent, std::optional<uint64_t> total)> on_progress;
};

struct UploadAnswer {
  long http_status = 0;
  std::string body;  // the server's reason when it refused the upload
};

// The server's answer, whatever its status; Unavailable when the transfer itself failed (the
// connection broke, or the server could not be reached); the body's own error when it could
// not be opened or read.
Result<UploadAnswer> UploadImage(const UploadRequest& request);

// A local file (or a pipe) read front to back, as an upload body.
Result<std::unique_ptr<io::Reader>> OpenFileBody(const std::filesystem::path& path);

}  // namespace vdisk::kubeclient
