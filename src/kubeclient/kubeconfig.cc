// Kubeconfig loading and merging (see kubeconfig.h).
#include "kubeclient/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/base64.h"

namespace vdisk::kubeclient {
namespace {

namespace fs = std::filesystem;

// Kubeconfigs and the certificates they name are small; anything larger is not one.
constexpr uintmax_t kMaxFileBytes = 4 << 20;

Result<std::string> ReadSmallFile(const fs::path& path, const std::string& what) {
  std::error_code ec;
  uintmax_t size = fs::file_size(path, ec);
  if (ec) return NotFound(what + " " + path.string() + ": " + ec.message());
  if (size > kMaxFileBytes) return InvalidArgument(what + " " + path.string() + " is too large");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return InvalidArgument("cannot read " + what + " " + path.string());
  return text.str();
}

// yaml-cpp throws when asked the type of a key that is absent; these ask IsDefined first.
bool IsMap(const YAML::Node& node) { return node.IsDefined() && node.IsMap(); }
bool IsSequence(const YAML::Node& node) { return node.IsDefined() && node.IsSequence(); }
bool IsScalar(const YAML::Node& node) { return node.IsDefined() && node.IsScalar(); }

struct Document {
  YAML::Node root;
  fs::path path;
};

// The entry of `list` (clusters, users or contexts) called `name`, from the first document that
// has it, with the document it came from.
std::optional<std::pair<YAML::Node, const Document*>> FindNamed(const std::vector<Document>& docs,
                                                                const char* list,
                                                                const std::string& name,
                                                                const char* inner) {
  for (const Document& doc : docs) {
    YAML::Node entries = doc.root[list];
    if (!IsSequence(entries)) continue;
    for (const YAML::Node& entry : entries) {
      if (IsMap(entry) && IsScalar(entry["name"]) && entry["name"].as<std::string>() == name &&
          IsMap(entry[inner])) {
        return std::make_pair(entry[inner], &doc);
      }
    }
  }
  return std::nullopt;
}

std::string Scalar(const YAML::Node& map, const char* key) {
  YAML::Node value = map[key];
  return IsScalar(value) ? value.as<std::string>() : std::string();
}

// `<key>-data` (base64) or `<key>` (a file relative to the kubeconfig), or "" when neither.
Result<std::string> DataOrFile(const YAML::Node& map, const std::string& key, const Document& doc) {
  std::string data = Scalar(map, (key + "-data").c_str());
  if (!data.empty()) {
    std::optional<std::string> decoded = Base64Decode(data);
    if (!decoded) {
      return InvalidArgument(doc.path.string() + ": " + key + "-data is not valid base64");
    }
    return *std::move(decoded);
  }
  std::string file = Scalar(map, key.c_str());
  if (file.empty()) return std::string();
  fs::path path = fs::path(file).is_absolute() ? fs::path(file) : doc.path.parent_path() / file;
  return ReadSmallFile(path, key);
}

std::vector<std::string> SplitPathList(const std::string& list) {
  std::vector<std::string> paths;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ':');) {
    if (!item.empty()) paths.push_back(item);
  }
  return paths;
}

Result<ClusterAccess> Resolve(const std::vector<Document>& docs, std::string context_name) {
  std::string files;
  for (const Document& doc : docs) files += (files.empty() ? "" : ", ") + doc.path.string();
  if (context_name.empty()) {
    for (const Document& doc : docs) {
      context_name = Scalar(doc.root, "current-context");
      if (!context_name.empty()) break;
    }
  }
  if (context_name.empty()) {
    return InvalidArgument("no current-context in the kubeconfig (" + files + "); pass --context");
  }
  auto context = FindNamed(docs, "contexts", context_name, "context");
  if (!context) return NotFound("context \"" + context_name + "\" not found in " + files);
  std::string cluster_name = Scalar(context->first, "cluster");
  std::string user_name = Scalar(context->first, "user");
  auto cluster = FindNamed(docs, "clusters", cluster_name, "cluster");
  if (!cluster) {
    return NotFound("cluster \"" + cluster_name + "\" of context \"" + context_name +
                    "\" not found in " + files);
  }

  ClusterAccess access;
  access.server = Scalar(cluster->first, "server");
  while (!access.server.empty() && access.server.back() == '/') access.server.pop_back();
  if (access.server.rfind("https://", 0) != 0 && access.server.rfind("http://", 0) != 0) {
    return InvalidArgument("cluster \"" + cluster_name + "\" has no http(s) server URL (got \"" +
                           access.server + "\")");
  }
  access.tls.insecure_skip_verify = Scalar(cluster->first, "insecure-skip-tls-verify") == "true";
  VDISK_ASSIGN_OR_RETURN(access.tls.ca_pem,
                         DataOrFile(cluster->first, "certificate-authority", *cluster->second));
  std::string ns = Scalar(context->first, "namespace");
  if (!ns.empty()) access.ns = ns;

  if (user_name.empty()) return access;
  auto user = FindNamed(docs, "users", user_name, "user");
  if (!user) {
    return NotFound("user \"" + user_name + "\" of context \"" + context_name + "\" not found in " +
                    files);
  }
  const YAML::Node& u = user->first;
  access.bearer_token = Scalar(u, "token");
  std::string token_file = Scalar(u, "tokenFile");
  if (access.bearer_token.empty() && !token_file.empty()) {
    fs::path path = fs::path(token_file).is_absolute()
                        ? fs::path(token_file)
                        : user->second->path.parent_path() / token_file;
    VDISK_ASSIGN_OR_RETURN(access.bearer_token, ReadSmallFile(path, "tokenFile"));
    while (!access.bearer_token.empty() &&
           std::isspace(static_cast<unsigned char>(access.bearer_token.back()))) {
      access.bearer_token.pop_back();
    }
  }
  VDISK_ASSIGN_OR_RETURN(access.tls.client_cert_pem,
                         DataOrFile(u, "client-certificate", *user->second));
  VDISK_ASSIGN_OR_RETURN(access.tls.client_key_pem, DataOrFile(u, "client-key", *user->second));
  if (access.tls.client_cert_pem.empty() != access.tls.client_key_pem.empty()) {
    return InvalidArgument("user \"" + user_name +
                           "\" needs both a client certificate and its key");
  }
  std::string username = Scalar(u, "username");
  if (!username.empty()) access.basic_auth = std::make_pair(username, Scalar(u, "password"));
  return access;
}

}  // namespace

Result<ClusterAccess> ResolveKubeconfig(
    const std::vector<std::pair<std::string, fs::path>>& documents, const std::string& context) {
  std::vector<Document> docs;
  for (const auto& [text, path] : documents) {
    try {
      YAML::Node root = YAML::Load(text);
      if (root.IsNull()) continue;  // an empty file adds nothing, as for kubectl
      if (!IsMap(root)) return InvalidArgument(path.string() + ": not a kubeconfig");
      docs.push_back({root, path});
    } catch (const YAML::Exception& e) {
      return InvalidArgument(path.string() + ": invalid YAML: " + e.what());
    }
  }
  if (docs.empty()) return NotFound("the kubeconfig is empty");
  try {
    return Resolve(docs, context);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("invalid kubeconfig: " + std::string(e.what()));
  }
}

Result<ClusterAccess> LoadKubeconfig(const KubeconfigChoice& choice) {
  std::vector<std::string> paths;
  if (!choice.path.empty()) {
    paths.push_back(choice.path);
  } else if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    paths = SplitPathList(env);
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    paths.push_back((fs::path(home) / ".kube" / "config").string());
  }
  if (paths.empty()) return NotFound("no kubeconfig: pass --kubeconfig or set KUBECONFIG");
  std::vector<std::pair<std::string, fs::path>> documents;
  for (const std::string& path : paths) {
    std::error_code ec;
    // Missing files in $KUBECONFIG are skipped, as kubectl does; an explicit one must exist.
    if (choice.path.empty() && !fs::exists(path, ec)) continue;
    VDISK_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, "kubeconfig"));
    documents.emplace_back(std::move(text), path);
  }
  if (documents.empty()) return NotFound("no kubeconfig found at " + paths.front());
  return ResolveKubeconfig(documents, choice.context);
}

}  // namespace vdisk::kubeclient
