"""Build OCI / Docker images locally (no network) and push them.

    img = build_image(tmpdir / "multi", seed="multi", fmt="oci", multi_arch=True,
                      shared_layers=[256 * KiB], layers=[512 * KiB],
                      platform_layers={"amd64": [1 * MiB, 64 * MiB]})
    pushed = push(img, registry.host, "app/multi", "v1")   # skopeo copy --all
    pushed.index_digest, pushed.manifests, pushed.blobs, pushed.content(digest)

Everything is deterministic from `seed`: the same arguments give the same
digests on every run.  Layers are tars of random files, gzip-compressed
(compresslevel 1; 0 = stored for layers >= 8 MiB: random data does not
compress and it is much faster).  The layout written for fmt="oci" is a standard
OCI image layout (oci-layout, index.json, blobs/sha256/...) with one ref name.
fmt="docker" (Docker schema2 manifest / manifest list) is written in skopeo's
`dir:` transport layout instead (manifest.json, <hex>.manifest.json per list
instance, blobs named <hex>, version): containers/image's oci: transport only
resolves a ref whose index.json descriptor has an OCI media type, so it
cannot carry Docker manifests verbatim.  Both are pushed with
`skopeo copy --preserve-digests`, which fails rather than convert.
"""

import copy
import dataclasses
import gzip
import hashlib
import json
import os
import random
import tarfile
import urllib.parse

from . import http as h
from . import process

KiB = 1024
MiB = 1024 * KiB

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)

# The Accept header containerd sends when resolving a tag.
CONTAINERD_ACCEPT = (
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json, */*")
ALL_MANIFEST_TYPES = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])

_FORMATS = {
    "oci": dict(manifest=OCI_MANIFEST, index=OCI_INDEX, config=OCI_CONFIG, layer=OCI_LAYER_GZIP),
    "docker": dict(manifest=DOCKER_MANIFEST, index=DOCKER_LIST, config=DOCKER_CONFIG,
                   layer=DOCKER_LAYER_GZIP),
}

REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
DIR_VERSION = "Directory Transport Version: 1.1\n"


@dataclasses.dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    media_type: str
    path: str  # the file in the OCI layout

    def read(self):
        with open(self.path, "rb") as f:
            return f.read()

    def read_range(self, first, last):
        """Bytes first..last inclusive."""
        with open(self.path, "rb") as f:
            f.seek(first)
            return f.read(last - first + 1)

    @property
    def hex(self):
        return self.digest.split(":", 1)[1]


@dataclasses.dataclass
class Manifest:
    digest: str
    media_type: str
    raw: bytes
    platform: dict  # {"os":..., "architecture":...} or None
    config: Blob
    layers: list

    @property
    def size(self):
        return len(self.raw)

    @property
    def arch(self):
        return (self.platform or {}).get("architecture")


@dataclasses.dataclass
class Image:
    layout_dir: str
    ref_name: str          # ref name inside the OCI layout; None for a dir: layout
    fmt: str               # "oci" or "docker"
    top_digest: str        # what the tag points at (index, or the single manifest)
    top_media_type: str
    top_raw: bytes
    manifests: list        # image manifests (one per platform)
    repo: str = None
    tag: str = None

    @property
    def source_ref(self):
        """skopeo reference of the local layout."""
        if self.ref_name is None:
            return f"dir:{self.layout_dir}"
        return f"oci:{self.layout_dir}:{self.ref_name}"

    @property
    def index_digest(self):
        return self.top_digest if self.top_media_type in INDEX_TYPES else None

    @property
    def is_multi_arch(self):
        return self.index_digest is not None

    @property
    def blobs(self):
        """Unique config + layer blobs of all manifests, in first-seen order."""
        seen, out = set(), []
        for m in self.manifests:
            for b in [m.config] + list(m.layers):
                if b.digest not in seen:
                    seen.add(b.digest)
                    out.append(b)
        return out

    @property
    def layers(self):
        seen, out = set(), []
        for m in self.manifests:
            for b in m.layers:
                if b.digest not in seen:
                    seen.add(b.digest)
                    out.append(b)
        return out

    def blob(self, digest):
        for b in self.blobs:
            if b.digest == digest:
                return b
        raise KeyError(digest)

    def largest_blob(self):
        return max(self.blobs, key=lambda b: b.size)

    def manifest_for(self, arch):
        for m in self.manifests:
            if m.arch == arch:
                return m
        raise KeyError(arch)

    def manifest_bytes(self):
        """{digest: raw bytes} of the index (if any) and every manifest."""
        out = {m.digest: m.raw for m in self.manifests}
        out[self.top_digest] = self.top_raw
        return out

    def manifest_media_types(self):
        out = {m.digest: m.media_type for m in self.manifests}
        out[self.top_digest] = self.top_media_type
        return out

    def all_digests(self):
        """Every digest a full pull must produce: index, manifests, blobs."""
        return set(self.manifest_bytes()) | {b.digest for b in self.blobs}

    def content(self, digest):
        """The exact bytes of any manifest or blob of this image."""
        mb = self.manifest_bytes()
        if digest in mb:
            return mb[digest]
        return self.blob(digest).read()

    def size_of(self, digest):
        mb = self.manifest_bytes()
        if digest in mb:
            return len(mb[digest])
        return self.blob(digest).size

    def with_ref(self, repo, tag):
        img = copy.copy(self)
        img.repo, img.tag = repo, tag
        return img

    def only_platform(self, arch):
        """The Image as seen after copying one platform only (no index)."""
        m = self.manifest_for(arch)
        img = copy.copy(self)
        img.top_digest, img.top_media_type, img.top_raw = m.digest, m.media_type, m.raw
        img.manifests = [m]
        return img


# -- building -------------------------------------------------------------

class _HashCount:
    """File-like sink that hashes, counts and forwards writes."""

    def __init__(self, sink=None):
        self.sink = sink
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        if self.sink is not None:
            self.sink.write(data)
        return len(data)

    def flush(self):
        if self.sink is not None:
            self.sink.flush()


def _canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class LayoutWriter:
    """Writes content-addressed blobs into an OCI layout directory."""

    def __init__(self, layout_dir, transport="oci"):
        self.dir = str(layout_dir)
        self.transport = transport
        if transport == "oci":
            self.blob_dir = os.path.join(self.dir, "blobs", "sha256")
            os.makedirs(self.blob_dir, exist_ok=True)
            with open(os.path.join(self.dir, "oci-layout"), "w") as f:
                json.dump({"imageLayoutVersion": "1.0.0"}, f)
        elif transport == "dir":
            self.blob_dir = self.dir
            os.makedirs(self.dir, exist_ok=True)
            with open(os.path.join(self.dir, "version"), "w") as f:
                f.write(DIR_VERSION)
        else:
            raise ValueError(transport)

    def put_manifest(self, data, media_type, top=False):
        """Store a manifest/index: as a blob (oci) or as [<hex>.]manifest.json (dir)."""
        if self.transport == "oci":
            return self.put_bytes(data, media_type)
        digest = h.sha256_digest(data)
        name = "manifest.json" if top else digest.split(":", 1)[1] + ".manifest.json"
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return Blob(digest, len(data), media_type, path)

    def path(self, digest):
        return os.path.join(self.blob_dir, digest.split(":", 1)[1])

    def put_bytes(self, data, media_type):
        digest = h.sha256_digest(data)
        with open(self.path(digest), "wb") as f:
            f.write(data)
        return Blob(digest, len(data), media_type, self.path(digest))

    def put_layer(self, name, size, files, media_type, compresslevel=None):
        """A gzip'ed tar of `files` random files totalling ~`size` bytes.

        Returns (Blob, diff_id)."""
        if compresslevel is None:
            compresslevel = 0 if size >= 8 * MiB else 1
        rng = random.Random(f"layer:{name}")
        tmp = os.path.join(self.blob_dir, f".tmp-{os.getpid()}-{abs(hash(name))}")
        with open(tmp, "wb") as raw:
            outer = _HashCount(raw)
            with gzip.GzipFile(filename="", mode="wb", fileobj=outer,
                               compresslevel=compresslevel, mtime=0) as gz:
                inner = _HashCount(gz)
                with tarfile.open(fileobj=inner, mode="w|", format=tarfile.GNU_FORMAT) as tar:
                    files = max(1, files)
                    per_file = size // files
                    for i in range(files):
                        n = per_file if i < files - 1 else size - per_file * (files - 1)
                        info = tarfile.TarInfo(f"data/{name.replace('/', '_')}/f{i:03d}.bin")
                        info.size = n
                        info.mtime = 1700000000
                        info.mode = 0o644
                        info.uid = info.gid = 0
                        info.uname = info.gname = "root"
                        tar.addfile(info, _RandomReader(rng, n))
        digest = "sha256:" + outer.sha.hexdigest()
        os.replace(tmp, self.path(digest))
        return (Blob(digest, outer.size, media_type, self.path(digest)),
                "sha256:" + inner.sha.hexdigest())

    def write_index_json(self, ref_name, digest, media_type, size):
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{
                "mediaType": media_type,
                "digest": digest,
                "size": size,
                "annotations": {REF_NAME_ANNOTATION: ref_name},
            }],
        }
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            json.dump(index, f, indent=2)


class _RandomReader:
    """Readable that yields `n` deterministic random bytes (for tarfile)."""

    def __init__(self, rng, n):
        self.rng = rng
        self.left = n

    def read(self, size=-1):
        if size < 0 or size > self.left:
            size = self.left
        size = min(size, 4 * MiB)
        self.left -= size
        return self.rng.randbytes(size)


DEFAULT_PLATFORMS = (("linux", "amd64"), ("linux", "arm64"))


def build_image(layout_dir, seed, *, fmt="oci", multi_arch=True,
                platforms=DEFAULT_PLATFORMS, shared_layers=(64 * KiB,),
                layers=(32 * KiB, 128 * KiB), platform_layers=None,
                files_per_layer=4, ref_name="latest", labels=None):
    """Write an OCI image layout and return its Image.

    multi_arch=True: an index (OCI index or Docker manifest list) over
    `platforms`; each platform's manifest has the `shared_layers` (identical
    blobs in every platform) followed by its own layers: platform_layers[arch]
    if given, else `layers` (sizes in bytes; content seeded per platform, so
    they differ).  multi_arch=False: one manifest for platforms[0].
    """
    if fmt not in _FORMATS:
        raise ValueError(f"fmt must be one of {sorted(_FORMATS)}")
    types = _FORMATS[fmt]
    transport = "oci" if fmt == "oci" else "dir"
    w = LayoutWriter(layout_dir, transport)
    platform_list = list(platforms if multi_arch else platforms[:1])
    shared = []
    for i, size in enumerate(shared_layers):
        shared.append(w.put_layer(f"{seed}/shared/{i}/{size}", size, files_per_layer, types["layer"]))
    manifests = []
    for os_name, arch in platform_list:
        own_sizes = (platform_layers or {}).get(arch, layers)
        own = []
        for i, size in enumerate(own_sizes):
            files = 1 if size >= 8 * MiB else files_per_layer
            own.append(w.put_layer(f"{seed}/{arch}/{i}/{size}", size, files, types["layer"]))
        layer_pairs = shared + own
        config = {
            "architecture": arch,
            "os": os_name,
            "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": ["/bin/true"],
                       "Labels": dict({"regcache.test.seed": str(seed)}, **(labels or {}))},
            "rootfs": {"type": "layers", "diff_ids": [d for _, d in layer_pairs]},
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {i}"}
                        for i in range(len(layer_pairs))],
        }
        config_blob = w.put_bytes(_canonical(config), types["config"])
        manifest = {
            "schemaVersion": 2,
            "mediaType": types["manifest"],
            "config": {"mediaType": types["config"], "digest": config_blob.digest,
                       "size": config_blob.size},
            "layers": [{"mediaType": b.media_type, "digest": b.digest, "size": b.size}
                       for b, _ in layer_pairs],
        }
        raw = json.dumps(manifest, indent=3).encode()
        w.put_manifest(raw, types["manifest"], top=not multi_arch)
        manifests.append(Manifest(h.sha256_digest(raw), types["manifest"], raw,
                                  {"architecture": arch, "os": os_name}, config_blob,
                                  [b for b, _ in layer_pairs]))
    if multi_arch:
        index = {
            "schemaVersion": 2,
            "mediaType": types["index"],
            "manifests": [{"mediaType": m.media_type, "digest": m.digest, "size": m.size,
                           "platform": m.platform} for m in manifests],
        }
        top_raw = json.dumps(index, indent=3).encode()
        top_digest = w.put_manifest(top_raw, types["index"], top=True).digest
        top_type = types["index"]
    else:
        top_raw = manifests[0].raw
        top_digest = manifests[0].digest
        top_type = types["manifest"]
    if transport == "oci":
        w.write_index_json(ref_name, top_digest, top_type, len(top_raw))
    else:
        ref_name = None
    return Image(str(layout_dir), ref_name, fmt, top_digest, top_type, top_raw, manifests)


def read_layout(layout_dir, ref_name=None):
    """Reconstruct the Image of an OCI layout written by build_image (or any
    layout whose index.json names one image)."""
    layout_dir = str(layout_dir)
    if not os.path.exists(os.path.join(layout_dir, "index.json")):
        return _read_dir_layout(layout_dir)
    blob_dir = os.path.join(layout_dir, "blobs", "sha256")

    def blob_bytes(digest):
        with open(os.path.join(blob_dir, digest.split(":", 1)[1]), "rb") as f:
            return f.read()

    with open(os.path.join(layout_dir, "index.json")) as f:
        entries = json.load(f)["manifests"]
    if ref_name is not None:
        entries = [e for e in entries
                   if e.get("annotations", {}).get(REF_NAME_ANNOTATION) == ref_name]
    if len(entries) != 1:
        raise ValueError(f"{layout_dir}: expected one image for ref {ref_name!r}, got {len(entries)}")
    top = entries[0]
    top_raw = blob_bytes(top["digest"])
    top_doc = json.loads(top_raw)
    media = top.get("mediaType") or top_doc.get("mediaType")
    fmt = "docker" if media in (DOCKER_LIST, DOCKER_MANIFEST) else "oci"

    def to_blob(desc):
        return Blob(desc["digest"], desc["size"], desc["mediaType"],
                    os.path.join(blob_dir, desc["digest"].split(":", 1)[1]))

    def to_manifest(digest, mtype, raw, platform):
        doc = json.loads(raw)
        return Manifest(digest, mtype, raw, platform, to_blob(doc["config"]),
                        [to_blob(d) for d in doc["layers"]])

    if media in INDEX_TYPES:
        manifests = [to_manifest(d["digest"], d["mediaType"], blob_bytes(d["digest"]),
                                 d.get("platform")) for d in top_doc["manifests"]]
    else:
        cfg = json.loads(blob_bytes(top_doc["config"]["digest"]))
        manifests = [to_manifest(top["digest"], media, top_raw,
                                 {"architecture": cfg.get("architecture"), "os": cfg.get("os")})]
    ref = top.get("annotations", {}).get(REF_NAME_ANNOTATION, ref_name)
    return Image(layout_dir, ref, fmt, top["digest"], media, top_raw, manifests)


def _read_dir_layout(layout_dir):
    """Image of a skopeo `dir:` layout (manifest.json, <hex>[.manifest.json])."""
    def path(digest):
        return os.path.join(layout_dir, digest.split(":", 1)[1])

    def to_blob(desc):
        return Blob(desc["digest"], desc["size"], desc["mediaType"], path(desc["digest"]))

    def to_manifest(raw, platform):
        doc = json.loads(raw)
        return Manifest(h.sha256_digest(raw), doc["mediaType"], raw, platform,
                        to_blob(doc["config"]), [to_blob(d) for d in doc["layers"]])

    with open(os.path.join(layout_dir, "manifest.json"), "rb") as f:
        top_raw = f.read()
    top_doc = json.loads(top_raw)
    media = top_doc.get("mediaType")
    fmt = "docker" if media in (DOCKER_LIST, DOCKER_MANIFEST) else "oci"
    if media in INDEX_TYPES:
        manifests = []
        for d in top_doc["manifests"]:
            with open(path(d["digest"]) + ".manifest.json", "rb") as f:
                manifests.append(to_manifest(f.read(), d.get("platform")))
    else:
        with open(path(top_doc["config"]["digest"]), "rb") as f:
            cfg = json.loads(f.read())
        manifests = [to_manifest(top_raw, {"architecture": cfg.get("architecture"),
                                           "os": cfg.get("os")})]
    return Image(layout_dir, None, fmt, h.sha256_digest(top_raw), media, top_raw, manifests)


# -- pushing --------------------------------------------------------------

class PushError(RuntimeError):
    pass


def push(layout, registry_host, repo, tag, all_platforms=True, creds=None, timeout=300):
    """Push an OCI layout to registry_host/repo:tag with skopeo, digests preserved.

    `layout` is an Image (from build_image) or a layout directory.  With
    all_platforms=False only the linux/amd64 image is copied (skopeo picks the
    host platform) and the tag points at that manifest, not the index.
    creds: (user, password) or None.  Returns the Image with repo/tag set."""
    img = layout if isinstance(layout, Image) else read_layout(layout)
    argv = ["skopeo", "--insecure-policy", "copy", "--quiet", "--retry-times", "0",
            "--preserve-digests", "--dest-tls-verify=false"]
    argv += ["--all"] if all_platforms else ["--multi-arch", "system"]
    if creds:
        argv += ["--dest-creds", f"{creds[0]}:{creds[1]}"]
    else:
        argv += ["--dest-no-creds"]
    argv += [img.source_ref, f"docker://{registry_host}/{repo}:{tag}"]
    res = process.run(argv, timeout=timeout)
    if res.returncode != 0:
        raise PushError(f"{' '.join(argv)} failed ({res.returncode}):\n"
                        f"{res.stderr.decode(errors='replace')}")
    if not all_platforms and img.is_multi_arch:
        img = img.only_platform("amd64")
    return img.with_ref(repo, tag)


# Direct HTTP pushes (monolithic uploads): fast, used to move tags mid-test.

def _auth(creds):
    if not creds:
        return {}
    import base64
    return {"Authorization": "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()}


def blob_from_bytes(directory, data, media_type):
    """A Blob of `data`, written to a file named by its digest in `directory`."""
    digest = h.sha256_digest(data)
    path = os.path.join(str(directory), digest.split(":", 1)[1])
    with open(path, "wb") as f:
        f.write(data)
    return Blob(digest, len(data), media_type, path)


def http_push_blob(registry_url, repo, blob, creds=None):
    """Upload one Blob with POST + PUT (skipped if the registry has it)."""
    status, _, _ = h.request(f"{registry_url}/v2/{repo}/blobs/{blob.digest}", "HEAD",
                             headers=_auth(creds))
    if status == 200:
        return
    status, hdrs, body = h.request(f"{registry_url}/v2/{repo}/blobs/uploads/", "POST",
                                   headers=dict(_auth(creds), **{"Content-Length": "0"}))
    if status != 202:
        raise PushError(f"POST upload {repo}: {status} {body[:300]!r}")
    loc = hdrs["location"]
    if loc.startswith("/"):
        loc = registry_url + loc
    sep = "&" if "?" in loc else "?"
    url = f"{loc}{sep}digest={urllib.parse.quote(blob.digest)}"
    with open(blob.path, "rb") as f:
        status, _, body = h.request(url, "PUT", body=f, timeout=300, headers=dict(
            _auth(creds), **{"Content-Length": str(blob.size),
                             "Content-Type": "application/octet-stream"}))
    if status != 201:
        raise PushError(f"PUT blob {blob.digest}: {status} {body[:300]!r}")


def http_put_manifest(registry_url, repo, reference, raw, media_type, creds=None):
    status, hdrs, body = h.request(
        f"{registry_url}/v2/{repo}/manifests/{reference}", "PUT", body=raw,
        headers=dict(_auth(creds), **{"Content-Type": media_type}))
    if status != 201:
        raise PushError(f"PUT manifest {repo}:{reference}: {status} {body[:500]!r}")
    return hdrs.get("docker-content-digest")


def http_push(img, registry_url, repo, tag, creds=None):
    """Push every blob, manifest and the index over plain HTTP; returns the
    Image with repo/tag set.  Digests are preserved by construction."""
    for b in img.blobs:
        http_push_blob(registry_url, repo, b, creds)
    if img.is_multi_arch:
        for m in img.manifests:
            http_put_manifest(registry_url, repo, m.digest, m.raw, m.media_type, creds)
    http_put_manifest(registry_url, repo, tag, img.top_raw, img.top_media_type, creds)
    return img.with_ref(repo, tag)


def retag(img, registry_url, repo, tag, creds=None):
    """Point repo:tag at img's top manifest (its content must already be in repo)."""
    http_put_manifest(registry_url, repo, tag, img.top_raw, img.top_media_type, creds)
    return img.with_ref(repo, tag)
