"""skopeo wrappers with clear errors (skopeo 1.9.3, Debian 12).

Flags that work against plain-HTTP loopback registries:
    skopeo --insecure-policy copy --all --src-tls-verify=false \
        docker://127.0.0.1:PORT/repo:tag dir:/path
--src-tls-verify=false makes skopeo try https first and fall back to http.
--insecure-policy avoids depending on /etc/containers/policy.json.
"""

import hashlib
import json
import os
import subprocess

from . import process


class SkopeoError(RuntimeError):
    def __init__(self, argv, returncode, stderr):
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"{' '.join(argv)} failed (exit {returncode}):\n{stderr}")


def _creds_args(prefix, creds):
    if creds:
        return [f"--{prefix}-creds", f"{creds[0]}:{creds[1]}"]
    return [f"--{prefix}-no-creds"]


def run(args, timeout=300):
    """Run `skopeo --insecure-policy <args>`; return stdout bytes or raise SkopeoError."""
    argv = ["skopeo", "--insecure-policy"] + [str(a) for a in args]
    try:
        res = process.run(argv, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise SkopeoError(argv, "timeout", (e.stderr or b"").decode(errors="replace")) from None
    if res.returncode != 0:
        raise SkopeoError(argv, res.returncode, res.stderr.decode(errors="replace"))
    return res.stdout


def docker_ref(host, repo, tag_or_digest):
    sep = "@" if ":" in tag_or_digest else ":"
    return f"docker://{host}/{repo}{sep}{tag_or_digest}"


def copy_to_dir(src_docker_ref, dest_dir, all=True, tls_verify=False, creds=None,
                fmt="dir", timeout=300, extra_args=()):
    """Copy docker://... to a local dir: (fmt="dir") or OCI layout (fmt="oci").

    With all=True a multi-arch image is copied whole (--all); otherwise only
    the host platform.  Digests are preserved (no conversion)."""
    if not src_docker_ref.startswith("docker://"):
        src_docker_ref = "docker://" + src_docker_ref
    args = ["copy", "--quiet", "--retry-times", "0", "--preserve-digests",
            f"--src-tls-verify={'true' if tls_verify else 'false'}"]
    args += _creds_args("src", creds)
    args += ["--all"] if all else ["--multi-arch", "system"]
    args += list(extra_args)
    if fmt == "dir":
        dest = f"dir:{dest_dir}"
    elif fmt == "oci":
        dest = f"oci:{dest_dir}:latest"
    else:
        raise ValueError("fmt must be 'dir' or 'oci'")
    args += [src_docker_ref, dest]
    run(args, timeout=timeout)
    return dest_dir


def inspect_raw(ref, tls_verify=False, creds=None, timeout=60):
    """`skopeo inspect --raw` → the exact manifest bytes the registry served."""
    if not ref.startswith("docker://"):
        ref = "docker://" + ref
    args = ["inspect", "--raw", "--retry-times", "0",
            f"--tls-verify={'true' if tls_verify else 'false'}"]
    args += ["--creds", f"{creds[0]}:{creds[1]}"] if creds else ["--no-creds"]
    return run(args + [ref], timeout=timeout)


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def read_dir_copy(dest_dir):
    """Contents of a `dir:` copy: {digest: (kind, path)} where kind is
    "manifest" or "blob".  Manifests are hashed (the dir transport names the
    top one manifest.json and per-instance ones <hex>.manifest.json); blobs
    are named by their hex digest."""
    out = {}
    for name in os.listdir(dest_dir):
        path = os.path.join(dest_dir, name)
        if name == "version":
            continue
        if name == "manifest.json" or name.endswith(".manifest.json"):
            with open(path, "rb") as f:
                out["sha256:" + hashlib.sha256(f.read()).hexdigest()] = ("manifest", path)
        elif len(name) == 64:
            out["sha256:" + name] = ("blob", path)
        elif name.endswith(".signature") or name.startswith("signature-"):
            continue
        else:
            raise AssertionError(f"unexpected file in dir copy: {name}")
    return out


def verify_dir_copy(dest_dir, image):
    """Check that a `dir:` copy holds exactly the image's index/manifests/blobs
    and that every file hashes to its name.  Returns the list of problems
    (empty = good)."""
    problems = []
    got = read_dir_copy(dest_dir)
    expected = image.all_digests()
    for digest in sorted(expected - set(got)):
        problems.append(f"missing {digest}")
    for digest in sorted(set(got) - expected):
        problems.append(f"unexpected {digest} ({got[digest][1]})")
    for digest, (kind, path) in got.items():
        if kind == "blob":
            actual = _sha256_file(path)
            if actual != digest:
                problems.append(f"blob {digest} hashes to {actual}")
            elif digest in expected and os.path.getsize(path) != image.size_of(digest):
                problems.append(f"blob {digest} size {os.path.getsize(path)}")
    top = os.path.join(dest_dir, "manifest.json")
    if os.path.exists(top):
        with open(top, "rb") as f:
            if f.read() != image.top_raw:
                problems.append("manifest.json differs from the pushed top manifest")
    else:
        problems.append("no manifest.json")
    return problems


def manifest_media_type(raw):
    return json.loads(raw).get("mediaType")
