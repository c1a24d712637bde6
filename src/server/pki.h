// Serving PKI: the self-managed CA, serving certificate and admin credential of `vdisk serve`.
//
// On first start EnsureServingPki creates, under DIR/pki:
//   ca.crt, ca.key          an EC P-256 CA valid 10 years (the key never leaves this directory)
//   server.crt, server.key  a serving certificate issued by that CA, valid 1 year, whose
//                           subjectAltName lists every requested host
//   admin.token             256 random bits in hex: the bearer token of the "admin" user
// Later starts reuse them. The serving certificate is re-issued (by the same CA, so existing
// kubeconfigs keep working) when it no longer covers the requested hosts, expires within 30
// days, does not match its key or was not issued by the CA. Every file is written atomically
// (temp file + rename) and private keys and the token are mode 0600.
//
//   VDISK_ASSIGN_OR_RETURN(ServingPki pki, EnsureServingPki(dir / "pki", {"localhost", ...}));
//   VDISK_RETURN_IF_ERROR(WriteKubeconfig(dir / "kubeconfig", "https://127.0.0.1:6443", pki));
//   httplib::SSLServer server(pki.server_cert.c_str(), pki.server_key.c_str());
//   ... if (!IsAdminBearer(req.get_header_value("Authorization"), pki)) -> 401
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vdisk::server {

struct ServingPki {
  std::filesystem::path ca_cert;      // DIR/pki/ca.crt (PEM)
  std::filesystem::path server_cert;  // DIR/pki/server.crt (PEM)
  std::filesystem::path server_key;   // DIR/pki/server.key (PEM, mode 0600)
  std::string ca_pem;                 // contents of ca.crt
  std::string admin_token;            // contents of DIR/pki/admin.token (mode 0600)
};

// Loads the PKI under pki_dir, creating what is missing (pki_dir itself included, mode 0700).
// `hosts` are DNS names and IP literals without ports ("localhost", "127.0.0.1", "::1" or
// "[::1]", the host name, the listen host); the serving certificate covers every one of them. Fails
// with InvalidArgument for an empty or malformed host and Internal for I/O errors (e.g. a directory
// that is not writable) or unusable existing files (e.g. ca.crt without ca.key), naming the path.
// Concurrent callers on the same pki_dir (even in different processes) are serialized.
Result<ServingPki> EnsureServingPki(const std::filesystem::path& pki_dir,
                                    const std::vector<std::string>& hosts);

// Writes a kubeconfig (cluster "vdisk" with the server URL and certificate-authority-data, user
// "admin" with the bearer token, context "vdisk" as current-context) atomically, mode 0600.
// server_url must be an https:// URL.
Status WriteKubeconfig(const std::filesystem::path& path, const std::string& server_url,
                       const ServingPki& pki);

// Whether an "Authorization" header value is "Bearer <admin token>" (scheme case-insensitive).
// The comparison takes the same time whatever the token offered.
bool IsAdminBearer(std::string_view authorization_header, const ServingPki& pki);

}  // namespace vdisk::server
