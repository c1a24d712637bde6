// CDI's annotations on claims that both sides of the API read: the controllers that act on
// them and the `vdisk image-upload` client that sets or waits for them.
#pragma once

namespace vdisk::api {

// Bind at once even when the storage class waits for a first consumer.
inline constexpr const char* kAnnBindImmediate = "cdi.kubevirt.io/storage.bind.immediate.requested";
// The claim takes an upload (its value is unused).
inline constexpr const char* kAnnUploadTarget = "cdi.kubevirt.io/storage.upload.target";
// Where populating the claim stands: "Running" while an upload is accepted, "Succeeded" when
// its data is in place; and whether an upload is accepted now ("true"/"false").
inline constexpr const char* kAnnPodPhase = "cdi.kubevirt.io/storage.pod.phase";
inline constexpr const char* kAnnPodReady = "cdi.kubevirt.io/storage.pod.ready";

}  // namespace vdisk::api
