"""The kolla dialect's pure parts: Kolla's functions, the override merge, and every Jinja failure named
with file, line and target (both dialects)."""

from __future__ import annotations

from typing import Sequence

import pytest

from pants_kolla.core.jinja_render import TemplateRenderError
from pants_kolla.core.template_overrides import TemplateOverride
from pants_kolla.kolla_dialect.kolla_context import KollaSettings, kolla_users
from pants_kolla.kolla_dialect.kolla_methods import debian_package_install, default_repos_yaml, load_repos
from pants_kolla.util_rules.render_kolla_dialect import render_kolla_template

ORIGIN = "`kolla/cron`"
TEMPLATE = "kolla/cron/Dockerfile.j2"
MACROS = """{% macro configure_user(name) %}
{%- if name not in users %}
{{ raise_error("Failed to find configuration for '" + name + "' user.") }}
{%- endif %}
RUN usermod {{ name }}
{% endmacro %}
"""


def kolla_render(
    template: str, overrides: Sequence[TemplateOverride] = (), repos_yaml: str | None = None, **settings
) -> str:
    context = KollaSettings(**settings).context("cron", "", kolla_users())
    repos = load_repos(default_repos_yaml(), repos_yaml)
    templates = {TEMPLATE: template, "macros.j2": MACROS}
    return render_kolla_template(TEMPLATE, templates, context, overrides, repos, ORIGIN)


def failure(template: str, **kwargs) -> str:
    with pytest.raises(TemplateRenderError) as e:
        kolla_render(template, **kwargs)
    return str(e.value)


def test_context_is_kolla_builds_for_debian() -> None:
    out = kolla_render(
        "FROM {{ base_image }}:{{ base_distro_tag }} {{ tag }} {{ debian_arch }} "
        "{{ openstack_branch_slashed }} {{ users.hacluster.group }} {{ env.http_proxy }}"
    )
    assert out == "FROM debian:trixie 2026.2-debian-trixie amd64 stable/2026.2 haclient "
    # No trailing newline, as kolla-build writes it (Jinja's default), unlike the pants-kolla dialect.
    assert kolla_render("RUN x\n") == "RUN x"


def test_env_comes_from_the_option_only(monkeypatch) -> None:
    monkeypatch.setenv("http_proxy", "http://host-proxy:3128")
    assert kolla_render("{{ env.http_proxy }}") == ""
    assert kolla_render("{{ env.http_proxy }}", env={"http_proxy": "http://p:1"}) == "http://p:1"


def test_undefined_is_kolla_builds_empty_but_attribute_of_undefined_fails_with_location() -> None:
    assert kolla_render("RUN {{ nope }}x") == "RUN x"
    message = failure("FROM x\n\nRUN {{ nope.attr }}\n")
    assert message.startswith(f"{TEMPLATE}:3: undefined template variable in the template of {ORIGIN}")


def test_type_error_names_file_line_and_target() -> None:
    message = failure("FROM x\n{{ handle_repos('debian', 'enable') }}\n")
    assert message == (
        f"{TEMPLATE}:2: TypeError while rendering the template of {ORIGIN}: "
        "First argument should be a list of repositories"
    )


def test_raise_error_in_a_library_macro_names_the_macro_file() -> None:
    message = failure(
        '{% import "macros.j2" as macros with context %}\n{{ macros.configure_user("nobody") }}'
    )
    assert message.startswith(f"macros.j2:3: KollaMethodError while rendering the template of {ORIGIN}")
    assert "Failed to find configuration for 'nobody' user." in message
    assert "RUN usermod keystone" in kolla_render(
        '{% import "macros.j2" as macros with context %}{{ macros.configure_user("keystone") }}'
    )


def test_missing_include_and_syntax_error_are_located() -> None:
    assert failure('FROM x\n{% include "nope.j2" %}').startswith(
        f"{TEMPLATE}:2: template of {ORIGIN} imports `nope.j2`"
    )
    assert failure("FROM x\n{% if %}").startswith(
        f"{TEMPLATE}:2: Jinja syntax error in the template of {ORIGIN}"
    )


def test_handle_repos_reads_kolla_repos_yaml_and_the_override() -> None:
    assert kolla_render("{{ handle_repos(['debian', 'debian-security'], 'enable') }}") == ""  # distro repos
    out = kolla_render("{{ handle_repos(['grafana'], 'enable') }}")
    assert out.startswith("RUN echo 'Uris: https://apt.grafana.com' >/etc/apt/sources.list.d/grafana.sources")
    assert "Signed-By: /etc/kolla/apt-keys/grafana.asc" in out
    override = "deb:\n  grafana:\n    url: http://mirror/grafana\n    suite: s\n    component: c\n    gpg_key: /k.asc\n    build_only: true\n"
    out = kolla_render(
        "{{ handle_repos(['grafana'], 'enable') }}\n{{ cleanup_repos() }}", repos_yaml=override
    )
    assert "mkdir -p /tmp/kolla-repos-backup" in out and "Uris: http://mirror/grafana" in out
    assert "mv /tmp/kolla-repos-backup/grafana.sources /etc/apt/sources.list.d/grafana.sources" in out
    assert "repository `nope` is not in repos.yaml" in failure("{{ handle_repos(['nope'], 'enable') }}")


def test_debian_package_install_matches_kolla() -> None:
    assert debian_package_install(["a", "http://h/x.deb"], False) == (
        "apt-get --error-on=any update && apt-get -y install --no-install-recommends a"
        " && curl --location http://h/x.deb -o x.deb && dpkg -i x.deb && rm -rf x.deb"
    )


def test_later_overrides_need_no_extends_and_a_block_twice_is_an_error_in_the_second_file() -> None:
    template = "FROM x\n{% block cron_footer %}{% endblock %}\n{% block footer %}{% endblock %}\n"
    first = TemplateOverride(
        "o/a.j2", "{% extends parent_template %}\n{% block cron_footer %}A{% endblock %}\n", "o"
    )
    second = TemplateOverride("o/b.j2", "{% block footer %}B{% endblock %}\n", "o")
    assert kolla_render(template, [first, second]) == "FROM x\nA\nB"
    twice = TemplateOverride(
        "o/c.j2", "{% extends parent_template %}\n\n{% block cron_footer %}C{% endblock %}\n", "o"
    )
    message = failure(template, overrides=[first, twice])
    assert message.startswith(f"o/c.j2:3: Jinja syntax error in the template of {ORIGIN}")
    assert "defined twice" in message


def test_customizable_is_kolla_s() -> None:
    template = "{% set cron_packages = ['cron'] %}{{ cron_packages | customizable('packages') | join(' ') }}"
    override = TemplateOverride(
        "o/a.j2", "{% extends parent_template %}\n{% set cron_packages_append = ['vim'] %}\n", "o"
    )
    assert kolla_render(template, [override]) == "cron vim"


def test_registry_image_must_be_pinned_by_digest() -> None:
    from pants.engine.addresses import Address
    from pants.engine.target import InvalidFieldException

    from pants_kolla.core.registry_refs import is_plain_http, parse_pinned
    from pants_kolla.target_types import RegistryImageField

    digest = "sha256:" + "a" * 64
    pinned = parse_pinned(f"127.0.0.1:5000/debian:trixie@{digest}")
    assert pinned and pinned.by_digest == f"127.0.0.1:5000/debian@{digest}"
    assert is_plain_http(pinned.name, ()) and not is_plain_http("docker.io/library/debian", ())
    with pytest.raises(
        InvalidFieldException,
        match=r"base/BUILD: target `base:tiny`, field `registry_image`: "
        r"`debian:trixie` is not a reference pinned by digest",
    ):
        RegistryImageField("debian:trixie", Address("base", target_name="tiny"))


def test_debian_package_install_installs_the_lock_when_the_image_has_one() -> None:
    from pants_kolla.core.apt_installs import AptInstalls
    from pants_kolla.core.package_lock import LockedDeb, LockedInstall, PackageLock

    deb = LockedDeb("cron", "3", "amd64", 9, "a" * 64, "http://m/pool/c/cron_3_amd64.deb")
    lock = PackageLock((), (LockedInstall(("cron",), (deb,)),))
    template = "RUN {{ debian_package_install(['cron']) }}"
    context = KollaSettings().context("cron", "", kolla_users())
    repos = load_repos(default_repos_yaml(), None)
    apt = AptInstalls(lock, "kolla/cron/packages.lock", "pants kolla-lock kolla/cron")
    locked = render_kolla_template(TEMPLATE, {TEMPLATE: template}, context, (), repos, ORIGIN, apt)
    assert "apt-get --error-on=any update" not in locked and "cron_3_amd64.deb" in locked
    assert locked.endswith("apt-get clean && rm -rf /var/lib/apt/lists/*")
    # Without a lock, Kolla's own text, byte for byte.
    assert kolla_render(template) == "RUN " + debian_package_install(["cron"])
    unlocked = AptInstalls(None, "kolla/cron/packages.lock", "")
    assert render_kolla_template(TEMPLATE, {TEMPLATE: template}, context, (), repos, ORIGIN, unlocked) == (
        kolla_render(template)
    )
    assert unlocked.requested == [("cron",)]
