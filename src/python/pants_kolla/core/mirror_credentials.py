"""Pure: split `[kolla].debian_mirror`'s credentials (`http://user:pass@host/debian`) from its URL.

The URL without them goes into the rootfs build's command line (stored with Pants' cache entries), its
log and the image's history; the credentials go only into an apt `auth.conf` file (apt's own way to
hold mirror logins, `man apt_auth.conf`) that the build reads outside its cache key
(util_rules/rootfs_mirror_auth.py) and that never enters the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit


@dataclass(frozen=True)
class Mirror:
    url: str  # without credentials
    auth_conf: str  # apt auth.conf lines; empty without credentials


def split_credentials(mirror: str) -> Mirror:
    parts = urlsplit(mirror)
    if parts.username is None and parts.password is None:
        return Mirror(mirror, "")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    # With the scheme: apt matches an entry without one against https URLs only (apt_auth.conf(5)).
    machine = f"{parts.scheme}://{netloc}{parts.path}".rstrip("/")
    login, password = unquote(parts.username or ""), unquote(parts.password or "")
    return Mirror(url, f"machine {machine}\nlogin {login}\npassword {password}\n")
