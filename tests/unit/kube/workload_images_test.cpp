#include "regcache/kube/workload_images.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace regcache::kube {
namespace {

std::vector<std::string> images_of(std::string_view yaml) {
  auto r = workload_images(yaml);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  std::vector<std::string> out;
  if (r)
    for (const auto& use : *r) out.push_back(use.image);
  return out;
}

std::string error_of(std::string_view yaml) {
  auto r = workload_images(yaml);
  EXPECT_FALSE(r.has_value()) << yaml;
  return r ? std::string() : r.error().message;
}

constexpr std::string_view digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(workload_images, every_workload_kind_and_container_list_of_a_multi_document_file) {
  const std::string yaml = R"(# release 42
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 3
  template:
    metadata:
      labels: {app: web}
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/shop/migrate:1.4
      containers:
        - name: web
          image: ghcr.io/shop/web@)" + std::string(digest) + R"(
        - name: sidecar
          image: "  envoyproxy/envoy:v1.31  "
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      containers: [{name: pg, image: "postgres:16"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec: {template: {spec: {containers: [{name: a, image: "registry.k8s.io/pause:3.10"}]}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec: {template: {spec: {containers: [{name: a, image: "quay.io/org/rs:1"}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec: {template: {spec: {containers: [{name: a, image: "busybox:1.36"}], restartPolicy: Never}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: report, image: "ghcr.io/shop/report:2"}]
---
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers: [{name: c, image: nginx}]
  ephemeralContainers: [{name: dbg, image: "busybox:1.36"}, {name: shell, image: "alpine:3.20"}]
---
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {image: "not-an-image-to-pull:1"}
)";
  EXPECT_EQ(images_of(yaml), (std::vector<std::string>{
                                 "ghcr.io/shop/web@" + std::string(digest), "envoyproxy/envoy:v1.31",
                                 "ghcr.io/shop/migrate:1.4", "postgres:16", "registry.k8s.io/pause:3.10",
                                 "quay.io/org/rs:1", "busybox:1.36", "ghcr.io/shop/report:2", "nginx", "alpine:3.20"}));
}

TEST(workload_images, kubectl_get_output_is_a_list) {
  // As `kubectl get deploy,cronjob,pod -o yaml` prints it (status and managed fields trimmed).
  constexpr std::string_view yaml = R"(apiVersion: v1
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    annotations:
      deployment.kubernetes.io/revision: "7"
    creationTimestamp: "2026-11-30T10:12:44Z"
    generation: 7
    name: web
    namespace: shop
    resourceVersion: "918273"
    uid: 5b0e4c1e-8a55-4f55-9b1d-0f3c2f7e3f10
  spec:
    progressDeadlineSeconds: 600
    replicas: 3
    revisionHistoryLimit: 10
    selector:
      matchLabels:
        app: web
    strategy:
      rollingUpdate:
        maxSurge: 25%
        maxUnavailable: 25%
      type: RollingUpdate
    template:
      metadata:
        creationTimestamp: null
        labels:
          app: web
      spec:
        containers:
        - image: ghcr.io/shop/web:1.8.2
          imagePullPolicy: IfNotPresent
          name: web
          ports:
          - containerPort: 8080
            protocol: TCP
          resources: {}
        dnsPolicy: ClusterFirst
        restartPolicy: Always
  status:
    availableReplicas: 3
- apiVersion: v1
  kind: Pod
  metadata:
    name: web-7d9c6b5f4-x2x9q
  spec:
    containers:
    - image: ghcr.io/shop/web:1.8.2
      name: web
    initContainers: null
    ephemeralContainers:
    - image: busybox:1.36
      name: debugger-8kq2l
      targetContainerName: web
  status:
    containerStatuses:
    - image: ghcr.io/shop/web:1.8.2
      imageID: ghcr.io/shop/web@sha256:aaaa
- apiVersion: batch/v1
  kind: CronJob
  metadata:
    name: nightly
  spec:
    jobTemplate:
      metadata:
        creationTimestamp: null
      spec:
        template:
          metadata:
            creationTimestamp: null
          spec:
            containers:
            - image: ghcr.io/shop/report:2
              name: report
kind: List
metadata:
  resourceVersion: ""
)";
  auto r = workload_images(yaml);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].image, "ghcr.io/shop/web:1.8.2");
  EXPECT_EQ((*r)[0].where, "document 1: items[0] (Deployment web): spec.template.spec.containers[0].image");
  EXPECT_EQ((*r)[1].image, "busybox:1.36");
  EXPECT_EQ((*r)[1].where, "document 1: items[1] (Pod web-7d9c6b5f4-x2x9q): spec.ephemeralContainers[0].image");
  EXPECT_EQ((*r)[2].image, "ghcr.io/shop/report:2");
  EXPECT_EQ((*r)[2].where,
            "document 1: items[2] (CronJob nightly): spec.jobTemplate.spec.template.spec.containers[0].image");
}

TEST(workload_images, typed_lists_and_a_pod_template) {
  EXPECT_EQ(images_of("kind: DeploymentList\nitems:\n- kind: Deployment\n  spec: {template: {spec: {containers: "
                      "[{image: a:1}]}}}\n---\nkind: PodTemplate\ntemplate: {spec: {containers: [{image: b:2}]}}\n"),
            (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(images_of("kind: List\nitems: []\n"), std::vector<std::string>{});
  EXPECT_EQ(images_of("kind: List\n"), std::vector<std::string>{});
}

TEST(workload_images, nothing_to_run_is_no_image) {
  EXPECT_EQ(images_of(""), std::vector<std::string>{});
  EXPECT_EQ(images_of("# only a comment\n---\n---\n"), std::vector<std::string>{});
  // A controller may fill in the image; a template may be empty.
  EXPECT_EQ(images_of("kind: Deployment\nspec: {template: {spec: {containers: [{name: x}, {name: y, image: ''}]}}}"),
            std::vector<std::string>{});
  EXPECT_EQ(images_of("kind: Deployment\nmetadata: {name: x}\n"), std::vector<std::string>{});
  EXPECT_EQ(images_of("kind: CronJob\nspec: {jobTemplate: null}\n"), std::vector<std::string>{});
}

TEST(workload_images, errors_name_the_document_and_the_path) {
  EXPECT_EQ(error_of("kind: Service\n---\n- a\n- b\n"),
            "document 2: not a Kubernetes object (a mapping with apiVersion and kind)");
  EXPECT_EQ(error_of("kind: Service\n---\nmetadata: {name: x}\n"), "document 2: no kind");
  EXPECT_EQ(error_of("kind: [Deployment]\n"), "document 1: kind: not a string");
  EXPECT_EQ(error_of("kind: Deployment\nmetadata: {name: web}\nspec: {template: [1]}\n"),
            "document 1 (Deployment web): spec.template: not a mapping");
  EXPECT_EQ(error_of("kind: Pod\nspec: {containers: {image: x}}\n"), "document 1 (Pod): spec.containers: not a list");
  EXPECT_EQ(error_of("kind: Pod\nspec: {initContainers: [x]}\n"), "document 1 (Pod): spec.initContainers[0]: not a mapping");
  EXPECT_EQ(error_of("kind: Pod\nspec: {containers: [{image: a}, {image: {b: c}}]}\n"),
            "document 1 (Pod): spec.containers[1].image: not a string");
  EXPECT_EQ(error_of("kind: List\nitems:\n- kind: Job\n  spec: {template: {spec: 3}}\n"),
            "document 1: items[0] (Job): spec.template.spec: not a mapping");
  EXPECT_EQ(error_of("kind: List\nitems: {a: b}\n"), "document 1: items: not a list");
  EXPECT_EQ(error_of("kind: List\nitems: [{kind: List, items: [{kind: List, items: [{kind: List, items: []}]}]}]\n"),
            "document 1: items[0]: items[0]: items[0]: Lists nested deeper than 3");
}

TEST(workload_images, yaml_that_does_not_parse_names_its_line) {
  const auto message = error_of("kind: Pod\nspec:\n  containers: [\n    {image: a\n");
  EXPECT_EQ(message.rfind("not YAML: line ", 0), 0u) << message;
  EXPECT_FALSE(workload_images(std::string(max_manifest_bytes + 1, ' ')).has_value());
}

TEST(workload_images, an_image_used_twice_is_listed_once_where_it_first_appears) {
  auto r = workload_images(
      "kind: Pod\nmetadata: {name: a}\nspec: {containers: [{image: x:1}, {image: y:1}]}\n---\n"
      "kind: Job\nmetadata: {name: b}\nspec: {template: {spec: {initContainers: [{image: x:1}]}}}\n");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].where, "document 1 (Pod a): spec.containers[0].image");
}

TEST(workload_images, aliases_are_followed_and_the_tree_is_not_changed) {
  EXPECT_EQ(images_of("x: &c {image: 'n:1'}\nkind: Pod\nspec: {containers: [*c, *c]}\n"),
            std::vector<std::string>{"n:1"});
}

}  // namespace
}  // namespace regcache::kube
