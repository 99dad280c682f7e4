"""Registry references `publish` pushes: `[kolla].tag` plus the target's extra tags, same repository."""

from pants_kolla.goals.publish import registry_refs


def test_refs_keep_the_repository_and_add_extra_tags() -> None:
    assert registry_refs("127.0.0.1:5000", "kolla/debian-binary-keystone:master", ("2024.1", "latest")) == (
        "127.0.0.1:5000/kolla/debian-binary-keystone:master",
        "127.0.0.1:5000/kolla/debian-binary-keystone:2024.1",
        "127.0.0.1:5000/kolla/debian-binary-keystone:latest",
    )


def test_no_extra_tags_is_one_ref() -> None:
    assert registry_refs("r.example.com", "kolla/cron:master", ()) == ("r.example.com/kolla/cron:master",)
