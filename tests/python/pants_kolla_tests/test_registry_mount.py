"""The pure parts of the parent-layer mounts (builder/registry_mount.py): where logins come from and how
a registry's challenge turns into a token request. The mounts themselves run against a real registry in
test_publish_registry.py."""

from __future__ import annotations

import base64
import json
import os
import stat

from pants_kolla.builder import registry_mount


def test_a_login_comes_from_auths_whatever_the_key_spelling() -> None:
    token = base64.b64encode(b"kolla:pa:ss").decode()
    config = {"auths": {"https://registry.example:5000/v1/": {"auth": token}}}
    assert registry_mount.login_in(config, "registry.example:5000") == ("kolla", "pa:ss")
    assert registry_mount.login_in(config, "other.example") is None


def test_a_login_comes_from_the_credential_helper(tmp_path, monkeypatch) -> None:
    helper = tmp_path / "docker-credential-kollatest"
    answer = json.dumps({"Username": "robot", "Secret": "s3cret"})
    helper.write_text(f"#!/bin/sh\nread host\n[ \"$host\" = reg.example ] && echo '{answer}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    assert registry_mount.login_in({"credHelpers": {"reg.example": "kollatest"}}, "reg.example") == (
        "robot",
        "s3cret",
    )
    assert registry_mount.login_in({"credsStore": "kollatest"}, "elsewhere.example") is None


def test_auth_files_follow_skopeo_order(tmp_path, monkeypatch) -> None:
    for name in ("auth.json", "containers/auth.json", "docker/config.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth.json"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    assert registry_mount.auth_files() == [
        str(tmp_path / "auth.json"),
        str(tmp_path / "containers/auth.json"),
        str(tmp_path / "docker/config.json"),
    ]


def test_a_bearer_challenge_becomes_a_token_request_for_both_repositories() -> None:
    header = 'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:push"'
    scheme, challenge = registry_mount.parse_challenge(header)
    assert scheme == "bearer" and challenge["service"] == "registry.example"
    url = registry_mount.token_query(
        challenge, ["repository:kolla/cron:pull,push", "repository:kolla/base:pull"]
    )
    assert url == (
        "https://auth.example/token?service=registry.example"
        "&scope=repository%3Akolla%2Fcron%3Apull%2Cpush&scope=repository%3Akolla%2Fbase%3Apull"
    )
    assert registry_mount.parse_challenge('Basic realm="kolla-test"') == ("basic", {"realm": "kolla-test"})
