"""A small tmpfs a test mounts for a disk it can fill (it runs as root in CI).

    disk = tmpfs.mount(40)           # MiB; None when mounting is not allowed
    if disk is None:
        skips.cannot_run(self, "a tmpfs mount", "needs root or CAP_SYS_ADMIN")
    self.addCleanup(tmpfs.unmount, disk)
"""

import os
import subprocess
import tempfile


def mount(size_mib):
    """Mount a tmpfs of size_mib; returns its path, or None when not allowed."""
    path = tempfile.mkdtemp(prefix="regcache-it-tmpfs-")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", path],
                         capture_output=True, text=True)
    if res.returncode != 0:
        os.rmdir(path)
        return None
    return path


def unmount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)
    os.rmdir(path)


def available(path):
    """Bytes an unprivileged writer may still use on the filesystem of path (statvfs f_bavail)."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize
