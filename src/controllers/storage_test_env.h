// StorageTestEnv: an in-process vdisk for the storage controller tests: a SqliteStore in a
// temporary directory, ObjectService, the bootstrap objects (namespaces, node01, the default
// class vdisk-hostpath on pool "default", CDIConfig), the GarbageCollector and the volume and
// DataVolume controllers. WaitFor polls with a bounded deadline; tests never sleep blindly.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "controllers/datavolume_controller.h"
#include "controllers/garbage_collector.h"
#include "controllers/volume_controller.h"
#include "server/bootstrap.h"
#include "store/sqlite_store.h"

namespace vdisk::controllers {

using nlohmann::json;

class StorageTestEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vdisk-vol-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = store::SqliteStore::Open(dir_ + "/store.db");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    objects_ = std::make_unique<server::ObjectService>(*store_);
    Status boot = server::EnsureBootstrapObjects(*objects_, "node01");
    ASSERT_TRUE(boot.ok()) << boot.message();
    gc_ = std::make_unique<GarbageCollector>(*objects_);
    volumes_ =
        std::make_unique<VolumeController>(*objects_, VolumeControllerOptions{dir_, "node01"});
    datavolumes_ = std::make_unique<DataVolumeController>(*objects_);
    gc_->Start();
    volumes_->Start();
    datavolumes_->Start();
  }

  void TearDown() override {
    if (datavolumes_) datavolumes_->Stop();
    if (volumes_) volumes_->Stop();
    if (gc_) gc_->Stop();
    datavolumes_.reset();
    volumes_.reset();
    gc_.reset();
    objects_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static const api::Kind& Kind(const char* group, const char* kind) {
    return *api::KindRegistry::Get().ByKind(group, kind);
  }
  static const api::Kind& Pvc() { return Kind("", "PersistentVolumeClaim"); }
  static const api::Kind& Pv() { return Kind("", "PersistentVolume"); }
  static const api::Kind& Dv() { return Kind("cdi.kubevirt.io", "DataVolume"); }
  static const api::Kind& Sc() { return Kind("storage.k8s.io", "StorageClass"); }

  json Create(const api::Kind& kind, const std::string& ns, json object) {
    auto created = objects_->Create(kind, ns, std::move(object));
    EXPECT_TRUE(created.ok()) << created.status().message();
    return created.ok() ? created->object : json();
  }
  // nullopt-like: a null json when the object does not exist.
  json Get(const api::Kind& kind, const std::string& ns, const std::string& name) {
    auto got = objects_->Get(kind, ns, name);
    return got.ok() ? *got : json();
  }
  // Polls `done` until it holds or 30 s pass (the machines running tests are loaded).
  bool WaitFor(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
  }
  bool WaitForPhase(const api::Kind& kind, const std::string& ns, const std::string& name,
                    const std::string& phase) {
    return WaitFor(
        [&] { return Get(kind, ns, name).value("/status/phase"_json_pointer, "") == phase; });
  }
  // Whether an Event with `reason` about the object named `name` exists in `ns`.
  bool HasEvent(const std::string& ns, const std::string& name, const std::string& reason) {
    auto list = objects_->List(Kind("", "Event"), ns, {});
    if (!list.ok()) return false;
    for (const auto& event : list->items) {
      if (event.value("/involvedObject/name"_json_pointer, "") == name &&
          event.value("reason", "") == reason) {
        return true;
      }
    }
    return false;
  }
  json StorageClass(const std::string& name, const std::string& provisioner,
                    const std::string& reclaim, const std::string& binding) {
    return {{"apiVersion", "storage.k8s.io/v1"},
            {"kind", "StorageClass"},
            {"metadata", {{"name", name}}},
            {"provisioner", provisioner},
            {"parameters", {{"storagePool", "default"}}},
            {"reclaimPolicy", reclaim},
            {"volumeBindingMode", binding},
            {"allowVolumeExpansion", true}};
  }
  json Claim(const std::string& name, const std::string& size, const json& class_name = nullptr) {
    json pvc = {
        {"apiVersion", "v1"},
        {"kind", "PersistentVolumeClaim"},
        {"metadata", {{"name", name}, {"namespace", "default"}}},
        {"spec",
         {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", size}}}}}}}};
    if (!class_name.is_null()) pvc["spec"]["storageClassName"] = class_name;
    return pvc;
  }
  std::string PoolVolumeDir(const std::string& pv_name) {
    return dir_ + "/pools/default/csi/" + pv_name;
  }

  std::string dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<server::ObjectService> objects_;
  std::unique_ptr<GarbageCollector> gc_;
  std::unique_ptr<VolumeController> volumes_;
  std::unique_ptr<DataVolumeController> datavolumes_;
};

}  // namespace vdisk::controllers
