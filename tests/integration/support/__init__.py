"""Integration-test support for regcache.

Fixtures that start real peers on loopback (CNCF docker-registry, skopeo,
containerd) and
the regcache binary itself, build OCI / Docker images locally without any
network, and small HTTP helpers.  Python 3 standard library only.

Modules:
    ports     free loopback ports, wait_for_port
    process   child processes in their own process group, always cleaned up
    registry  Registry: a real docker-registry with temporary storage
    images    build OCI layouts (single/multi-arch, OCI or Docker schema2), push
    regcache  Regcache: the binary under test
    http      request helpers around http.client, multipart/byteranges parser
    skopeo    skopeo copy / inspect wrappers with clear errors
    fixtures  unittest base classes sharing one seeded upstream per class
    containerd  Containerd: a real containerd with private root/state/socket, and ctr
    front     Front: a fault-injecting front door (auth, redirects, 503, 429, RateLimit headers)
    haproxy   Haproxy: Debian's haproxy running a shipped config on loopback addresses
    relay     Relay: a TCP relay that can cut, delay or wrap connections in TLS
    tls       TestPki: a throwaway CA and certificates
    skips     the one way a test says it cannot run: skipped and listed locally, a failure with CI=true
"""
