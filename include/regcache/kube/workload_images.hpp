#pragma once
// The container images a set of Kubernetes manifests runs, for
// `regcache prefetch -f` and `regcache pin -f`: what `kubectl apply -f`
// would make the nodes pull.
//
// Input: a YAML stream of one or more documents ("---"), as written for
// kubectl apply or printed by `kubectl get -o yaml` (a List). Each
// document is an object with a kind; a List (kind List or any kind ending in
// "List", with items) contributes each of its items. Kinds and where their
// pod spec is:
//
//   Pod                                              spec
//   Deployment, StatefulSet, DaemonSet, ReplicaSet,  spec.template.spec
//   ReplicationController, Job
//   CronJob                                          spec.jobTemplate.spec.template.spec
//   PodTemplate                                      template.spec
//
// From a pod spec: containers, initContainers and ephemeralContainers, each
// container's image (a tag or a digest; checked by the caller). Other kinds
// are ignored, as are empty documents and containers without an image (a
// controller may set it). Each image is listed once, where it first appears.
//
// Errors name the document (1-based) and the path in it: a document that is
// not an object or has no kind, a field of the wrong type on the way to an
// image, YAML that does not parse, more than max_manifest_bytes.
//
// Pure function, thread-safe; the input is untrusted (fuzzed by
// tests/fuzz/fuzz_workload_images.cpp).
#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::kube {

// Manifests of a whole release fit easily; more is not a manifest file.
inline constexpr std::size_t max_manifest_bytes = 16 * 1024 * 1024;

struct image_use {
  std::string image;  // as written, surrounding blanks trimmed
  // Where it was found: "document 2 (Deployment shop): spec.template.spec.containers[0].image".
  std::string where;
};

struct manifest_error {
  std::string message;  // "document 3 (Deployment web): spec.template: not a mapping"
};

[[nodiscard]] boost::system::result<std::vector<image_use>, manifest_error> workload_images(std::string_view yaml);

}  // namespace regcache::kube
