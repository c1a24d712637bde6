// Kubeconfig: how a client finds and authenticates to the API server, read as kubectl reads it.
//
//   --kubeconfig PATH, else $KUBECONFIG (a ':'-separated list, merged: the first file to name
//   an entry wins), else ~/.kube/config. The context is --context, else current-context.
//
// A context names a cluster (server URL, CA, insecure-skip-tls-verify), a user (token,
// tokenFile, client certificate and key, or username/password) and a namespace. File paths in
// a kubeconfig are relative to the file that holds them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace vdisk::kubeclient {

// TLS for one HTTPS peer. Empty ca_pem: the system's CAs.
struct TlsSettings {
  std::string ca_pem;
  bool insecure_skip_verify = false;
  std::string client_cert_pem;
  std::string client_key_pem;
};

struct ClusterAccess {
  std::string server;  // https://host:port, without a trailing '/'
  TlsSettings tls;
  std::string bearer_token;
  std::optional<std::pair<std::string, std::string>> basic_auth;  // username, password
  std::string ns = "default";                                     // the context's namespace
};

struct KubeconfigChoice {
  std::string path;     // --kubeconfig; empty: $KUBECONFIG, then ~/.kube/config
  std::string context;  // --context; empty: current-context
};

// Finds, reads and resolves the kubeconfig. Errors name the file and the missing or bad entry.
Result<ClusterAccess> LoadKubeconfig(const KubeconfigChoice& choice);

// Resolves `context` (empty: current-context) in the kubeconfig files `documents` (each file's
// text and its path, in precedence order).
Result<ClusterAccess> ResolveKubeconfig(
    const std::vector<std::pair<std::string, std::filesystem::path>>& documents,
    const std::string& context);

}  // namespace vdisk::kubeclient
