#include "cli/serve.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include "controllers/config_controller.h"
#include "controllers/datavolume_controller.h"
#include "controllers/garbage_collector.h"
#include "controllers/hostpath_provisioner_controller.h"
#include "controllers/snapshot_controller.h"
#include "controllers/storage_profile_controller.h"
#include "controllers/upload_claim_controller.h"
#include "controllers/volume_controller.h"
#include "server/bootstrap.h"
#include "server/http_server.h"
#include "server/pki.h"
#include "store/sqlite_store.h"
#include "upload/endpoints.h"

namespace vdisk::cli {
namespace {

struct ListenAddress {
  std::string host;
  int port = 0;
};

Result<ListenAddress> ParseListen(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return InvalidArgument("--listen must be HOST:PORT, got " + text);
  }
  ListenAddress address;
  address.host = text.substr(0, colon);
  if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']') {
    address.host = address.host.substr(1, address.host.size() - 2);
  }
  std::string port = text.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    return InvalidArgument("--listen port must be a number from 0 to 65535, got " + port);
  }
  address.port = std::stoi(port);
  if (address.host.empty()) return InvalidArgument("--listen needs a host, got " + text);
  return address;
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == 0) return "localhost";
  std::string name = buf;
  for (char& c : name) c = static_cast<char>(std::tolower(c));
  return name;
}

// The address clients should dial: a wildcard listen address is reached through loopback.
std::string DialHost(const std::string& host) {
  if (host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

std::string UrlHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

int Fail(const Status& status) {
  spdlog::error("{}", status.message());
  return 1;
}

}  // namespace

int Serve(const ServeOptions& options) {
  auto listen = ParseListen(options.listen);
  if (!listen.ok()) return Fail(listen.status());
  std::string node_name = options.node_name.empty() ? HostName() : options.node_name;

  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::filesystem::path data_dir = options.data_dir;
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec)
    return Fail(Internal("cannot create --data-dir " + data_dir.string() + ": " + ec.message()));

  // One server per data directory: a second one would fight over the store and the kubeconfig.
  int lock_fd = open((data_dir / "serve.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return Fail(Unavailable("another vdisk is serving from --data-dir " + data_dir.string()));
  }

  auto store = store::SqliteStore::Open(data_dir / "store.db");
  if (!store.ok()) return Fail(store.status());

  std::vector<std::string> hosts = {"localhost", "127.0.0.1", "::1", node_name};
  if (listen->host != "0.0.0.0" && listen->host != "::") hosts.push_back(listen->host);
  auto pki = server::EnsureServingPki(data_dir / "pki", hosts);
  if (!pki.ok()) return Fail(pki.status());

  server::ObjectService objects(**store);
  if (Status st = server::EnsureBootstrapObjects(objects, node_name); !st.ok()) return Fail(st);
  controllers::GarbageCollector garbage_collector(objects);
  garbage_collector.Start();
  controllers::ConfigController cdi_config(objects);
  cdi_config.Start();
  controllers::VolumeController volumes(objects, {data_dir, node_name});
  volumes.Start();
  controllers::StorageProfileController storage_profiles(objects, &volumes.pools());
  storage_profiles.Start();
  controllers::SnapshotController snapshots(objects);
  snapshots.Start();
  controllers::HostPathProvisionerController hostpath_provisioner(objects, volumes.pools(),
                                                                  {.node_name = node_name});
  hostpath_provisioner.Start();
  auto upload_tokens = upload::TokenSigner::LoadOrCreate(data_dir / "pki" / "upload-token.key");
  if (!upload_tokens.ok()) return Fail(upload_tokens.status());
  // A claim's upload state changed: the controller that owns the claim reports it.
  std::function<void(const upload::ClaimKey&)> upload_changed;
  upload::UploadRegistry uploads([&upload_changed](const upload::ClaimKey& key) {
    if (upload_changed) upload_changed(key);
  });
  controllers::UploadClaimController upload_claims(objects, uploads, data_dir / "scratch");
  upload_claims.Start();
  controllers::DataVolumeOptions datavolume_options;
  datavolume_options.uploads = &uploads;
  datavolume_options.scratch_dir = data_dir / "scratch";
  datavolume_options.imports.max_in_flight = options.max_imports;
  datavolume_options.imports.stall_timeout = std::chrono::seconds(options.import_stall_seconds);
  controllers::DataVolumeController datavolumes(objects, datavolume_options);
  datavolumes.Start();
  upload_changed = [&](const upload::ClaimKey& key) {
    datavolumes.Enqueue({key.ns, key.name});  // a DataVolume's claim has its name
    upload_claims.Enqueue({key.ns, key.name});
  };

  server::RestHandler handler(objects);
  handler.ServeEphemeralCreate(
      controllers::KindOf("upload.cdi.kubevirt.io", "UploadTokenRequest"),
      [&upload_tokens](const std::string& ns, nlohmann::json request) -> Result<nlohmann::json> {
        std::string pvc = request["spec"].value("pvcName", "");
        request["status"] = {
            {"token", upload_tokens->Issue({ns, pvc}, std::chrono::system_clock::now())}};
        return request;
      });
  server::HttpServer::Options http_options;
  http_options.host = listen->host;
  http_options.port = listen->port;
  http_options.metrics = [&datavolumes] { return datavolumes.Metrics(); };
  http_options.routes = upload::UploadRoutes(uploads, *upload_tokens);
  auto http = server::HttpServer::Start(handler, *pki, http_options);
  if (!http.ok()) return Fail(http.status());
  std::string url =
      "https://" + UrlHost(DialHost(listen->host)) + ":" + std::to_string((*http)->port());
  if (Status st = server::WriteKubeconfig(data_dir / "kubeconfig", url, *pki); !st.ok()) {
    return Fail(st);
  }
  if (Status st = upload::PublishUploadProxyUrl(objects, url); !st.ok()) return Fail(st);
  spdlog::info("vdisk serving on {} (node {})", url, node_name);
  spdlog::info("kubeconfig: {}", std::filesystem::absolute(data_dir / "kubeconfig").string());
  std::printf("listening on %s\n", url.c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("received {}, shutting down", strsignal(signal_number));
  handler.CloseWatches();
  uploads.CancelAll();
  (*http)->Stop();
  upload_changed = nullptr;  // no upload runs any more; the controllers stop next
  datavolumes.Stop();
  upload_claims.Stop();
  snapshots.Stop();
  storage_profiles.Stop();
  volumes.Stop();
  cdi_config.Stop();
  garbage_collector.Stop();
  return 0;
}

}  // namespace vdisk::cli
