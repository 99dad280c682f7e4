"""kolla-build 23.0.0's Jinja functions and filter (kolla/template/methods.py and filters.py), pure.

Ported for Debian-family bases (`base_package_type` `deb`), the only ones this plugin builds; the
output strings are Kolla's, byte for byte, since the golden test compares rendered Dockerfiles with
kolla-build's. Kolla reads repos.yaml from disk inside the functions; here the parsed data is bound to
the functions when a render starts, so the file is a declared input of the render.
Kolla is Apache-2.0 licensed (https://opendev.org/openstack/kolla).
"""

from __future__ import annotations

import functools
import importlib.resources
from typing import Any, Callable, Mapping

import jinja2
import yaml

from pants_kolla.core.apt_installs import AptInstalls

APT_ARCH = " && echo 'Architectures: {arch}' >>/etc/apt/sources.list.d/{repo}.sources"
APT_REPO = (
    "echo 'Uris: {url}' >/etc/apt/sources.list.d/{repo}.sources && "
    "echo 'Components: {component}' >>/etc/apt/sources.list.d/{repo}.sources && "
    "echo 'Types: deb' >>/etc/apt/sources.list.d/{repo}.sources && "
    "echo 'Suites: {suite}' >>/etc/apt/sources.list.d/{repo}.sources && "
    "echo 'Signed-By: {signed_by}' >>/etc/apt/sources.list.d/{repo}.sources"
)
APT_TRUSTED = " && echo 'Trusted: yes' >>/etc/apt/sources.list.d/{repo}.sources"
BACKUP_DIR = "/tmp/kolla-repos-backup"
APT_BACKUP = (
    "mkdir -p {backup_dir}"
    " && cp /etc/apt/sources.list.d/{repo}.sources {backup_dir}/{repo}.sources 2>/dev/null || true"
    " && touch {backup_dir}/{repo}.enabled"
    " && "
)


class KollaMethodError(Exception):
    """A Kolla function called with what Kolla rejects too; rendering reports it with file and line."""


def default_repos_yaml() -> str:
    return importlib.resources.read_text("pants_kolla.kolla_dialect", "kolla_repos.yaml")


def load_repos(default_text: str, override_text: str | None) -> dict[str, dict[str, Any]]:
    """Kolla's _load_repos: an override section's repos replace the default's entries of that name."""
    data = yaml.safe_load(default_text)
    if override_text:
        for section, repos in (yaml.safe_load(override_text) or {}).items():
            if section in data:
                data[section].update(repos)
            else:
                data[section] = repos
    return data


def build_repo_list(data: Mapping[str, Any], package_type: str, distro: str, arch: str) -> dict[str, Any]:
    """Kolla's _build_repo_list: the package type's, distro's and distro-arch's repos, merged."""
    result: dict[str, Any] = {}
    for section in (package_type, distro, f"{distro}-{arch}"):
        for name, info in (data.get(section) or {}).items():
            if name in result:
                merged = {**result[name], **info}
                if any(k in merged for k in ("baseurl", "metalink", "mirrorlist", "url")):
                    merged.pop("distro", None)
                result[name] = merged
            else:
                result[name] = info
    return result


def debian_package_install(
    packages: list[str], clean_package_cache: bool = True, apt: AptInstalls | None = None
) -> str:
    regular = [p for p in packages if not p.startswith("http")]
    urls = [p for p in packages if p.startswith("http")]
    cmds = []
    if regular:
        unlocked = "apt-get --error-on=any update && apt-get -y install --no-install-recommends {}".format(
            " ".join(regular)
        )
        cmds.append(apt.command(regular, unlocked) if apt else unlocked)
        if clean_package_cache:
            cmds += ["apt-get clean", "rm -rf /var/lib/apt/lists/*"]
    for url in urls:
        name = url[url.rfind("/") + 1 :]
        cmds += [f"curl --location {url} -o {name}", f"dpkg -i {name}", f"rm -rf {name}"]
    return " && ".join(cmds)


def raise_error(msg: str) -> None:
    raise KollaMethodError(msg)


def _require_deb(context: Mapping[str, Any], function: str) -> str:
    package_type = context.get("base_package_type")
    if package_type != "deb":
        raise KollaMethodError(
            f"{function}() for base_package_type `{package_type}`: the kolla dialect renders "
            f"Debian-family bases only (base_package_type `deb`)."
        )
    return package_type


def _deb_enable(name: str, repo: Mapping[str, Any], codename: str, backed_up: set[str]) -> str:
    command = ""
    if repo.get("build_only"):
        sources_file = f"/etc/apt/sources.list.d/{name}.sources"
        if sources_file not in backed_up:
            command += APT_BACKUP.format(backup_dir=BACKUP_DIR, repo=name)
            backed_up.add(sources_file)
    gpg_key = repo["gpg_key"]
    signed_by = gpg_key if gpg_key.startswith("/") else "/etc/kolla/apt-keys/" + gpg_key
    suite = repo["suite"].replace("{openstack_release_codename}", codename.lower())
    command += APT_REPO.format(
        component=repo["component"], signed_by=signed_by, suite=suite, url=repo["url"], repo=name
    )
    if repo.get("trusted"):
        command += APT_TRUSTED.format(repo=name)
    if "arch" in repo:
        command += APT_ARCH.format(arch=repo["arch"], repo=name)
    return command


def _handle_repos(repos: Mapping[str, Any]) -> Callable[..., str]:
    """kolla-build's `handle_repos(reponames, mode)`: enable the named repositories of `repos`."""

    @jinja2.pass_context
    def handle_repos(context: Any, reponames: Any, mode: str) -> str:
        if not isinstance(reponames, list):
            raise TypeError("First argument should be a list of repositories")
        package_type = _require_deb(context, "handle_repos")
        repo_list = build_repo_list(repos, package_type, context.get("base_distro"), context.get("base_arch"))
        commands = ""
        backed_up: set[str] = set()
        for index, name in enumerate(reponames):
            if name not in repo_list:
                raise KollaMethodError(
                    f"handle_repos(): repository `{name}` is not in repos.yaml for "
                    f"{context.get('base_distro')}/{context.get('base_arch')} (image "
                    f"`{context.get('image_name')}`)."
                )
            repo = repo_list[name]
            if mode == "enable" and not repo.get("distro"):
                commands += _deb_enable(name, repo, context.get("openstack_release_codename"), backed_up)
                if index != len(reponames) - 1:
                    commands += " && "
        return f"RUN {commands}" if commands else commands

    return handle_repos


def _cleanup_repos(repos: Mapping[str, Any]) -> Callable[..., str]:
    """kolla-build's `cleanup_repos()`: restore what `handle_repos` enabled for the build only."""

    @jinja2.pass_context
    def cleanup_repos(context: Any) -> str:
        package_type = _require_deb(context, "cleanup_repos")
        repo_list = build_repo_list(repos, package_type, context.get("base_distro"), context.get("base_arch"))
        cmds = [
            f"[ -f {BACKUP_DIR}/{name}.enabled ]"
            f" && ( mv {BACKUP_DIR}/{name}.sources /etc/apt/sources.list.d/{name}.sources 2>/dev/null"
            f" || rm -f /etc/apt/sources.list.d/{name}.sources )"
            " || true"
            for name, info in repo_list.items()
            if info.get("build_only") and not info.get("distro")
        ]
        if not cmds:
            return ""
        return "RUN " + " \\\n    && ".join([*cmds, f"rm -rf {BACKUP_DIR}"])

    return cleanup_repos


def jinja_functions(
    repos: Mapping[str, Any], apt: AptInstalls | None = None
) -> dict[str, Callable[..., Any]]:
    """The globals kolla-build gives templates, `handle_repos`/`cleanup_repos` reading `repos`, package
    installs through `apt` (core/apt_installs.py) when given."""
    return {
        "debian_package_install": functools.partial(debian_package_install, apt=apt),
        "handle_repos": _handle_repos(repos),
        "cleanup_repos": _cleanup_repos(repos),
        "raise_error": raise_error,
    }


@jinja2.pass_context
def customizable(context: Any, val_list: Any, call_type: str) -> Any:
    """Kolla's filter as Kolla has it: `<image>_<call>_override/_append/_remove`, the list changed in
    place (a template that reuses the list sees the change, as under kolla-build)."""
    if isinstance(val_list, jinja2.Undefined):
        return val_list
    name = context["image_name"].replace("-", "_") + "_" + call_type + "_"
    if name + "override" in context:
        return context[name + "override"]
    if name + "append" in context:
        val_list.extend(context[name + "append"])
    if name + "remove" in context:
        for removal in context[name + "remove"]:
            if removal in val_list:
                val_list.remove(removal)
    return val_list
