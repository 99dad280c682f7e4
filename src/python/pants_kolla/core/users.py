"""Service users, Kolla's `[<name>-user]` sections: one uid/gid per service, the same in every image
(and on every host), so that files on shared volumes keep their owner whichever container writes them."""

from __future__ import annotations

from typing import Any, Mapping

from pants_kolla.core.errors import KollaInputError

# Kolla's defaults (kolla/common/users.py). Uids start at 42400 to stay clear of distribution users.
DEFAULT_USERS: dict[str, dict[str, int]] = {
    name: {"uid": uid, "gid": uid}
    for name, uid in {
        "kolla": 42400,
        "glance": 42415,
        "keystone": 42425,
        "mysql": 42434,
        "rabbitmq": 42439,
        "haproxy": 42454,
        "memcached": 42457,
        "redis": 42460,
        "fluentd": 42474,
        "placement": 42482,
        "etcd": 42486,
    }.items()
}


class UsersOptionError(KollaInputError):
    pass


def validated_users(users: Mapping[str, Any], *, origin: str) -> dict[str, dict[str, Any]]:
    """Each entry must be `{"uid": int, "gid": int}`, plus Kolla's optional `"group": str`: a typo here
    would only show up inside an image."""
    out = {}
    for name, ids in users.items():
        if (
            not isinstance(ids, Mapping)
            or set(ids) - {"group"} != {"uid", "gid"}
            or not all(isinstance(ids[k], int) and not isinstance(ids[k], bool) for k in ("uid", "gid"))
            or not isinstance(ids.get("group", ""), str)
        ):
            raise UsersOptionError(
                f'{origin}: user `{name}` must be {{"uid": <int>, "gid": <int>}} (and optionally '
                f'"group": <name>), got {ids!r}.'
            )
        out[name] = {k: ids[k] for k in ("uid", "gid", "group") if k in ids}
    return out
