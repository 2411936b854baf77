#!/usr/bin/env python3
"""make demo: regcache in front of a local upstream, on a machine without internet.

Starts a docker-registry upstream with temporary storage, seeds it with a small
multi-arch image, starts regcache in front of it, pulls the image twice with
skopeo and prints what went upstream each time.
"""
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from support import images, skopeo  # noqa: E402
from support.images import KiB, MiB  # noqa: E402
from support.regcache import Regcache  # noqa: E402
from support.registry import Registry  # noqa: E402


def pull(rc, image, dest):
    started = time.monotonic()
    skopeo.copy_to_dir(rc.docker_ref(image.repo, image.tag), dest)
    took = time.monotonic() - started
    problems = skopeo.verify_dir_copy(dest, image)
    if problems:
        sys.exit("demo: the copy does not verify:\n  " + "\n  ".join(problems))
    return took


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/release/regcache")
    with tempfile.TemporaryDirectory(prefix="regcache-demo-") as work, Registry() as upstream:
        print(f"upstream: docker-registry at {upstream.url}")
        image = images.build_image(os.path.join(work, "layout"), seed=7,
                                   shared_layers=(2 * MiB,),
                                   layers=(4 * MiB, 512 * KiB, 96 * KiB))
        image = images.push(image, upstream.host, "demo/app", "v1")
        total = sum(b.size for b in image.blobs)
        print(f"seeded demo/app:v1: {len(image.manifests)} manifests (linux/amd64, linux/arm64), "
              f"{len(image.blobs)} blobs, {total / MiB:.1f} MiB")

        rc = Regcache(upstream_url=upstream.url, binary=binary)
        rc.start()
        try:
            print(f"regcache: {rc.url} (cache in {rc.data_dir})\n")
            for attempt, label in ((1, "first pull (cold: streamed through)"),
                                   (2, "second pull (warm: served from disk)")):
                upstream.reset_log_marker()
                took = pull(rc, image, os.path.join(work, f"pull{attempt}"))
                reqs = upstream.requests()
                blob_gets = [r for r in reqs if r.method == "GET" and "/blobs/" in r.path]
                print(f"{label}: {took:.2f} s, all digests verified")
                print(f"  upstream requests: {len(reqs)} (blob GETs: {len(blob_gets)})")
            def val(name, **labels):
                return int(rc.metric(name, **labels))
            print("\nregcache metrics:")
            print(f"  cache hits {val('regcache_cache_requests_total', outcome='hit')}, "
                  f"misses {val('regcache_cache_requests_total', outcome='miss')}")
            print(f"  bytes served from cache {val('regcache_served_bytes_total', source='cache')}, "
                  f"from upstream {val('regcache_served_bytes_total', source='upstream')}")
            print(f"  cached bytes {val('regcache_cached_bytes')}")
        finally:
            rc.close()


if __name__ == "__main__":
    main()
