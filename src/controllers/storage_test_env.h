// Test fixtures for the controllers: an in-process vdisk without HTTP.
//
// ControllerTestEnv: a SqliteStore in a temporary directory, ObjectService and the bootstrap
//   objects (namespaces, node01, the default class vdisk-hostpath on pool "default", the HCO,
//   CDIConfig). A test fixture starts the controllers it needs with Run<C>(...); they are stopped
//   in reverse order and destroyed before the store. WaitFor polls with a bounded deadline;
//   tests never sleep blindly.
// StorageTestEnv: that plus the GarbageCollector, the volume, HostPathProvisioner and DataVolume
//   controllers, and helpers for classes and claims.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "controllers/datavolume_controller.h"
#include "controllers/garbage_collector.h"
#include "controllers/hostpath_provisioner_controller.h"
#include "controllers/volume_controller.h"
#include "server/bootstrap.h"
#include "store/sqlite_store.h"

namespace vdisk::controllers {

using nlohmann::json;

class ControllerTestEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vdisk-ctl-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = store::SqliteStore::Open(dir_ + "/store.db");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    objects_ = std::make_unique<server::ObjectService>(*store_);
    Status boot = server::EnsureBootstrapObjects(*objects_, "node01");
    ASSERT_TRUE(boot.ok()) << boot.message();
  }

  void TearDown() override {
    for (auto it = running_.rbegin(); it != running_.rend(); ++it) it->stop();
    while (!running_.empty()) running_.pop_back();
    objects_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Constructs a controller (anything with Start and Stop), starts it and keeps it running
  // until TearDown.
  template <typename C, typename... Args>
  C& Run(Args&&... args) {
    auto controller = std::make_shared<C>(std::forward<Args>(args)...);
    controller->Start();
    C* raw = controller.get();
    running_.push_back({std::move(controller), [raw] { raw->Stop(); }});
    return *raw;
  }

  static const api::Kind& Kind(const char* group, const char* kind) {
    return *api::KindRegistry::Get().ByKind(group, kind);
  }
  static const api::Kind& Pvc() { return Kind("", "PersistentVolumeClaim"); }
  static const api::Kind& Pv() { return Kind("", "PersistentVolume"); }
  static const api::Kind& Dv() { return Kind("cdi.kubevirt.io", "DataVolume"); }
  static const api::Kind& Sc() { return Kind("storage.k8s.io", "StorageClass"); }
  static const api::Kind& Hpp() {
    return Kind("hostpathprovisioner.kubevirt.io", "HostPathProvisioner");
  }

  json Create(const api::Kind& kind, const std::string& ns, json object) {
    auto created = objects_->Create(kind, ns, std::move(object));
    EXPECT_TRUE(created.ok()) << created.status().message();
    return created.ok() ? created->object : json();
  }
  // A null json when the object does not exist.
  json Get(const api::Kind& kind, const std::string& ns, const std::string& name) {
    auto got = objects_->Get(kind, ns, name);
    return got.ok() ? *got : json();
  }
  // A merge patch of the spec side (not /status); false (and a test failure) when refused.
  bool Patch(const api::Kind& kind, const std::string& ns, const std::string& name,
             const json& patch) {
    auto patched = objects_->Patch(kind, ns, name, server::PatchType::kMerge, patch, false);
    EXPECT_TRUE(patched.ok()) << patched.status().message();
    return patched.ok();
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
    return !EventMessages(ns, name, reason).empty();
  }
  // Whether one of those Events says `text`: an object may get several with one reason as
  // the controller's view of it changes.
  bool HasEventSaying(const std::string& ns, const std::string& name, const std::string& reason,
                      const std::string& text) {
    for (const std::string& message : EventMessages(ns, name, reason)) {
      if (message.find(text) != std::string::npos) return true;
    }
    return false;
  }
  // The message of such an Event, "" when there is none.
  std::string EventMessage(const std::string& ns, const std::string& name,
                           const std::string& reason) {
    std::vector<std::string> messages = EventMessages(ns, name, reason);
    return messages.empty() ? "" : messages.front();
  }
  std::vector<std::string> EventMessages(const std::string& ns, const std::string& name,
                                         const std::string& reason) {
    std::vector<std::string> messages;
    auto list = objects_->List(Kind("", "Event"), ns, {});
    if (!list.ok()) return messages;
    for (const auto& event : list->items) {
      if (event.value("/involvedObject/name"_json_pointer, "") == name &&
          event.value("reason", "") == reason) {
        messages.push_back(event.value("message", "?"));
      }
    }
    return messages;
  }

  std::string dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<server::ObjectService> objects_;

 private:
  struct Running {
    std::shared_ptr<void> controller;
    std::function<void()> stop;
  };
  std::vector<Running> running_;
};

class StorageTestEnv : public ControllerTestEnv {
 protected:
  void SetUp() override {
    ControllerTestEnv::SetUp();
    if (HasFatalFailure()) return;
    gc_ = &Run<GarbageCollector>(*objects_);
    volumes_ = &Run<VolumeController>(*objects_, VolumeControllerOptions{dir_, "node01"});
    hostpath_provisioner_ = &Run<HostPathProvisionerController>(
        *objects_, volumes_->pools(), HostPathProvisionerOptions{.node_name = "node01"});
    datavolumes_ = &Run<DataVolumeController>(*objects_);
  }

  json StorageClass(const std::string& name, const std::string& provisioner,
                    const std::string& reclaim, const std::string& binding,
                    const std::string& pool = "default") {
    return {{"apiVersion", "storage.k8s.io/v1"},     {"kind", "StorageClass"},
            {"metadata", {{"name", name}}},          {"provisioner", provisioner},
            {"parameters", {{"storagePool", pool}}}, {"reclaimPolicy", reclaim},
            {"volumeBindingMode", binding},          {"allowVolumeExpansion", true}};
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

  GarbageCollector* gc_ = nullptr;
  VolumeController* volumes_ = nullptr;
  HostPathProvisionerController* hostpath_provisioner_ = nullptr;
  DataVolumeController* datavolumes_ = nullptr;
};

}  // namespace vdisk::controllers
