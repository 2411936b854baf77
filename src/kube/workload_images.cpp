#include "regcache/kube/workload_images.hpp"

// libyaml rather than yaml-cpp: this reads input nobody vetted, and yaml-cpp
// 0.7 loops forever on some malformed streams (found by fuzzing) where
// libyaml, fuzzed for years, reports an error.
#include <yaml.h>

#include <array>
#include <optional>
#include <string>
#include <unordered_set>

namespace regcache::kube {
namespace {

using outcome = boost::system::result<std::vector<image_use>, manifest_error>;

struct workload_kind {
  std::string_view kind;
  std::array<std::string_view, 5> pod_spec;  // the path to the pod spec; empty names end it
};

constexpr std::array<workload_kind, 9> workload_kinds{{
    {"Pod", {"spec"}},
    {"Deployment", {"spec", "template", "spec"}},
    {"StatefulSet", {"spec", "template", "spec"}},
    {"DaemonSet", {"spec", "template", "spec"}},
    {"ReplicaSet", {"spec", "template", "spec"}},
    {"ReplicationController", {"spec", "template", "spec"}},
    {"Job", {"spec", "template", "spec"}},
    {"CronJob", {"spec", "jobTemplate", "spec", "template", "spec"}},
    {"PodTemplate", {"template", "spec"}},
}};

constexpr std::array<std::string_view, 3> container_lists{"containers", "initContainers", "ephemeralContainers"};

// A List inside a List inside a List is not something kubectl prints.
constexpr int max_list_depth = 3;
// Aliases can make a small file name the same objects many times over.
constexpr std::size_t max_objects = 100'000;

// The nodes of one loaded document. Aliases are shared nodes (and may form
// cycles): nothing here recurses except along the bounded List nesting.
class document {
 public:
  explicit document(yaml_document_t& doc) : doc_(doc) {}

  const yaml_node_t* root() const { return yaml_document_get_root_node(&doc_); }

  static std::string_view text(const yaml_node_t* n) {
    return {reinterpret_cast<const char*>(n->data.scalar.value), n->data.scalar.length};
  }
  static bool is_map(const yaml_node_t* n) { return n->type == YAML_MAPPING_NODE; }
  static bool is_list(const yaml_node_t* n) { return n->type == YAML_SEQUENCE_NODE; }
  static bool is_scalar(const yaml_node_t* n) { return n->type == YAML_SCALAR_NODE; }
  // A null as YAML 1.1 writes it: an empty or "~"/"null" plain scalar, or one tagged !!null.
  static bool is_null(const yaml_node_t* n) {
    if (!is_scalar(n)) return false;
    if (n->tag && std::string_view(reinterpret_cast<const char*>(n->tag)) == YAML_NULL_TAG) return true;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const auto t = text(n);
    return t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL";
  }
  // A missing key and a null value are the same to Kubernetes.
  static bool absent(const yaml_node_t* n) { return n == nullptr || is_null(n); }

  // The value of `key` in a mapping (the first, if repeated); nullptr when missing.
  const yaml_node_t* get(const yaml_node_t* map, std::string_view key) const {
    for (auto* pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; ++pair) {
      const auto* k = node(pair->key);
      if (k && is_scalar(k) && text(k) == key) return node(pair->value);
    }
    return nullptr;
  }
  template <class Visit>
  void for_each_item(const yaml_node_t* list, Visit visit) const {
    std::size_t i = 0;
    for (auto* item = list->data.sequence.items.start; item < list->data.sequence.items.top; ++item)
      if (!visit(i++, node(*item))) return;
  }

 private:
  const yaml_node_t* node(int id) const { return yaml_document_get_node(&doc_, id); }
  yaml_document_t& doc_;
};

std::string trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return std::string(s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1));
}

// Walks the documents, collecting images; stops at the first problem.
class walker {
 public:
  std::vector<image_use> images;
  std::optional<manifest_error> failure;

  // `where` names the object: "document 2" or "document 1: items[3]".
  void object(const document& doc, const yaml_node_t* node, const std::string& where, int list_depth) {
    if (++objects_ > max_objects) return fail(where + ": more than " + std::to_string(max_objects) + " objects");
    if (!node || !document::is_map(node))
      return fail(where + ": not a Kubernetes object (a mapping with apiVersion and kind)");
    const auto* kind_node = doc.get(node, "kind");
    if (document::absent(kind_node)) return fail(where + ": no kind");
    if (!document::is_scalar(kind_node)) return fail(where + ": kind: not a string");
    const auto kind = document::text(kind_node);
    if (kind.ends_with("List") && doc.get(node, "items")) return list(doc, doc.get(node, "items"), where, list_depth);
    for (const auto& w : workload_kinds) {
      if (w.kind != kind) continue;
      const auto named = where + " (" + std::string(kind) + name_of(doc, node) + ")";
      const auto* spec = node;
      std::string path;
      for (const auto key : w.pod_spec) {
        if (key.empty()) break;
        if (!document::is_map(spec)) return fail(named + ": " + path + ": not a mapping");
        path += (path.empty() ? "" : ".") + std::string(key);
        spec = doc.get(spec, key);
        if (document::absent(spec)) return;  // nothing to run (yet)
      }
      return pod_spec(doc, spec, named, path);
    }
  }

 private:
  void fail(std::string message) {
    if (!failure) failure = manifest_error{std::move(message)};
  }

  static std::string name_of(const document& doc, const yaml_node_t* object) {
    const auto* metadata = doc.get(object, "metadata");
    if (document::absent(metadata) || !document::is_map(metadata)) return {};
    const auto* name = doc.get(metadata, "name");
    if (document::absent(name) || !document::is_scalar(name)) return {};
    return " " + std::string(document::text(name).substr(0, 253));
  }

  void list(const document& doc, const yaml_node_t* items, const std::string& where, int list_depth) {
    if (document::absent(items)) return;
    if (!document::is_list(items)) return fail(where + ": items: not a list");
    if (list_depth >= max_list_depth) return fail(where + ": Lists nested deeper than " + std::to_string(max_list_depth));
    doc.for_each_item(items, [&](std::size_t i, const yaml_node_t* item) {
      object(doc, item, where + ": items[" + std::to_string(i) + "]", list_depth + 1);
      return !failure;
    });
  }

  void pod_spec(const document& doc, const yaml_node_t* spec, const std::string& named, const std::string& path) {
    if (!document::is_map(spec)) return fail(named + ": " + path + ": not a mapping");
    for (const auto field : container_lists) {
      const auto* containers = doc.get(spec, field);
      if (document::absent(containers)) continue;
      const auto list_path = path + "." + std::string(field);
      if (!document::is_list(containers)) return fail(named + ": " + list_path + ": not a list");
      doc.for_each_item(containers, [&](std::size_t i, const yaml_node_t* container) {
        const auto container_path = list_path + "[" + std::to_string(i) + "]";
        if (!container || !document::is_map(container)) {
          fail(named + ": " + container_path + ": not a mapping");
          return false;
        }
        const auto* image = doc.get(container, "image");
        if (document::absent(image)) return true;
        if (!document::is_scalar(image)) {
          fail(named + ": " + container_path + ".image: not a string");
          return false;
        }
        auto text = trimmed(document::text(image));
        if (!text.empty() && seen_.insert(text).second)
          images.push_back({std::move(text), named + ": " + container_path + ".image"});
        return true;
      });
      if (failure) return;
    }
  }

  std::unordered_set<std::string> seen_;
  std::size_t objects_ = 0;
};

// libyaml's parser, released on every path.
class parser {
 public:
  explicit parser(std::string_view yaml) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(yaml.data()), yaml.size());
  }
  ~parser() { yaml_parser_delete(&parser_); }
  parser(const parser&) = delete;
  parser& operator=(const parser&) = delete;

  // The next document into `doc` (which the caller deletes); false on a syntax error.
  bool load(yaml_document_t& doc) { return yaml_parser_load(&parser_, &doc) != 0; }

  manifest_error error() const {
    const auto& mark = parser_.problem_mark;
    return manifest_error{"not YAML: line " + std::to_string(mark.line + 1) + ", column " +
                          std::to_string(mark.column + 1) + ": " +
                          (parser_.problem ? parser_.problem : "malformed")};
  }

 private:
  yaml_parser_t parser_;
};

}  // namespace

outcome workload_images(std::string_view yaml) {
  if (yaml.size() > max_manifest_bytes)
    return manifest_error{"the manifests are larger than " + std::to_string(max_manifest_bytes >> 20) + " MiB"};
  parser stream(yaml);
  walker walk;
  for (std::size_t number = 1;; ++number) {
    yaml_document_t loaded;
    if (!stream.load(loaded)) return stream.error();
    const document doc(loaded);
    const auto* root = doc.root();
    // No root: the end of the stream. A null root: an empty document ("---" twice, a comment).
    const bool end = root == nullptr;
    if (!end && !document::is_null(root)) walk.object(doc, root, "document " + std::to_string(number), 0);
    yaml_document_delete(&loaded);
    if (end) break;
    if (walk.failure) return *walk.failure;
  }
  return std::move(walk.images);
}

}  // namespace regcache::kube
