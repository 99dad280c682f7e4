"""What "this image works" means, image by image: the table test_full_tree_smoke.py runs against a real engine.

A `daemon` check starts the image as Kolla does (dumb-init → kolla_start → kolla_set_configs copies the
files of config.json into place → the service as its user) and polls a probe run inside the container
until it passes. A `oneshot` check runs one command in the image and expects it to exit 0. Both match
`expect` in the output, so a check that prints nothing useful fails.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

CONFIG_DIR = "/var/lib/kolla/config_files"


@dataclass(frozen=True)
class SmokeCheck:
    image: str  # Kolla image name
    per_type: bool  # built for binary and source (else infra, built once)
    command: tuple[str, ...]  # daemon: the probe; oneshot: the container's command
    expect: str  # substring of the probe's / command's output
    daemon: bool = False
    files: dict[str, str] = field(default_factory=dict)  # into CONFIG_DIR, config.json included
    user: str | None | dict[str, str | None] = None  # the image's USER, None for root; per install type
    timeout: int = 120


def config_json(command: str, *files: tuple[str, str, str, str]) -> str:
    """Kolla's config.json: `files` are (name in CONFIG_DIR, dest, owner, perm)."""
    return json.dumps(
        {
            "command": command,
            "config_files": [
                {"source": f"{CONFIG_DIR}/{name}", "dest": dest, "owner": owner, "perm": perm}
                for name, dest, owner, perm in files
            ],
        }
    )


def bash(script: str) -> tuple[str, ...]:
    return ("bash", "-c", script)


MARIADB_START = """#!/bin/bash
set -e
mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db > /dev/null
exec mariadbd --user=mysql --datadir=/var/lib/mysql
"""

HAPROXY_CFG = """
global
    maxconn 100
defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend smoke
    bind 127.0.0.1:8080
    http-request return status 200 content-type text/plain string haproxy-ok
"""

KEEPALIVED_CONF = """
vrrp_instance kolla_internal_vip {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.250/32 dev eth0
    }
}
"""

CHRONY_CONF = """
pidfile /run/chrony/chronyd.pid
bindcmdaddress /run/chrony/chronyd.sock
cmdport 0
local stratum 10
"""

RSYSLOG_CONF = """
global(workDirectory="/var/lib/rsyslog-kolla")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="5140")
*.* action(type="omfile" file="/var/log/kolla/rsyslog/all.log")
"""

SET_CONFIGS_PROBE = """#!/bin/bash
stat -c '%U:%G %a' /etc/kolla-smoke/smoke.conf
cat /etc/kolla-smoke/smoke.conf
"""

CHECKS: tuple[SmokeCheck, ...] = (
    # The runtime contract itself: kolla_set_configs copies with owner and mode, then runs `command`.
    SmokeCheck(
        image="base",
        per_type=False,
        command=("kolla_start",),
        expect="keystone:keystone 640\nsmoke-content",
        files={
            "config.json": config_json(
                "/usr/local/bin/kolla-smoke-check",
                ("check.sh", "/usr/local/bin/kolla-smoke-check", "root", "0755"),
                ("smoke.conf", "/etc/kolla-smoke/smoke.conf", "keystone", "0640"),
            ),
            "check.sh": SET_CONFIGS_PROBE,
            "smoke.conf": "smoke-content\n",
        },
    ),
    SmokeCheck(image="cron", per_type=False, command=("pgrep", "-x", "cron"), expect="", daemon=True),
    SmokeCheck(
        image="memcached",
        per_type=False,
        command=bash("exec 3<>/dev/tcp/127.0.0.1/11211; printf 'stats\\r\\nquit\\r\\n' >&3; cat <&3"),
        expect="STAT uptime",
        daemon=True,
        user="memcached",
    ),
    SmokeCheck(
        image="redis", per_type=False, command=("redis-cli", "ping"), expect="PONG", daemon=True, user="redis"
    ),
    SmokeCheck(
        image="mariadb-server",
        per_type=False,
        command=("mariadb", "-N", "-e", "SELECT 1+1"),
        expect="2",
        daemon=True,
        user="mysql",
        files={
            "config.json": config_json(
                "/usr/local/bin/kolla-smoke-mariadb",
                ("start.sh", "/usr/local/bin/kolla-smoke-mariadb", "mysql", "0755"),
            ),
            "start.sh": MARIADB_START,
        },
    ),
    SmokeCheck(
        image="rabbitmq",
        per_type=False,
        command=("rabbitmq-diagnostics", "-q", "ping"),
        expect="Ping succeeded",
        daemon=True,
        user="rabbitmq",
        timeout=180,
    ),
    SmokeCheck(
        image="haproxy",
        per_type=False,
        command=bash(
            "haproxy -c -f /etc/haproxy/haproxy.cfg && exec 3<>/dev/tcp/127.0.0.1/8080 "
            "&& printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"
        ),
        expect="haproxy-ok",
        daemon=True,
        user="haproxy",
        files={
            "config.json": config_json(
                "haproxy -W -db -f /etc/haproxy/haproxy.cfg",
                ("haproxy.cfg", "/etc/haproxy/haproxy.cfg", "haproxy", "0600"),
            ),
            "haproxy.cfg": HAPROXY_CFG,
        },
    ),
    # VRRP needs NET_ADMIN, which a smoke check does not grant: check the configuration as deployed.
    SmokeCheck(
        image="keepalived",
        per_type=False,
        command=bash(
            "kolla_set_configs > /dev/null && keepalived --config-test -f /etc/keepalived/keepalived.conf && echo keepalived-config-ok"
        ),
        expect="keepalived-config-ok",
        files={
            "config.json": config_json(
                "keepalived --dont-fork --log-console -f /etc/keepalived/keepalived.conf",
                ("keepalived.conf", "/etc/keepalived/keepalived.conf", "root", "0600"),
            ),
            "keepalived.conf": KEEPALIVED_CONF,
        },
    ),
    SmokeCheck(
        image="etcd",
        per_type=False,
        command=("etcdctl", "--endpoints=http://127.0.0.1:2379", "endpoint", "health"),
        expect="is healthy",
        daemon=True,
        user="etcd",
    ),
    SmokeCheck(
        image="chrony",
        per_type=False,
        command=("chronyc", "-n", "tracking"),
        expect="Reference ID",
        daemon=True,
        user="chrony",
        files={
            "config.json": config_json(
                "chronyd -d -U -u chrony -x -f /etc/chrony/chrony.conf",
                ("chrony.conf", "/etc/chrony/chrony.conf", "chrony", "0644"),
            ),
            "chrony.conf": CHRONY_CONF,
        },
    ),
    # Kolla's fluentd is not packaged by Debian bookworm: rsyslog collects instead (see its Dockerfile).
    SmokeCheck(
        image="rsyslog",
        per_type=False,
        command=bash(
            "rsyslogd -N1 -f /etc/rsyslog-kolla.conf && logger -d -n 127.0.0.1 -P 5140 kolla-smoke-line "
            "&& sleep 1 && grep -h kolla-smoke-line /var/log/kolla/rsyslog/all.log"
        ),
        expect="kolla-smoke-line",
        daemon=True,
        user="kolla",
        files={
            "config.json": config_json(
                "rsyslogd -n -iNONE -f /etc/rsyslog-kolla.conf",
                ("rsyslog.conf", "/etc/rsyslog-kolla.conf", "kolla", "0644"),
            ),
            "rsyslog.conf": RSYSLOG_CONF,
        },
    ),
    SmokeCheck(
        image="openstack-base",
        per_type=True,
        command=("printenv", "KOLLA_INSTALL_TYPE"),
        expect="{install_type}",
    ),
    SmokeCheck(image="keystone-base", per_type=True, command=("keystone-manage", "--version"), expect="."),
    SmokeCheck(
        image="keystone",
        per_type=True,
        command=bash("keystone-manage --version && apache2ctl -t 2>&1"),
        expect="Syntax OK",
    ),
    SmokeCheck(
        image="keystone-fernet",
        per_type=True,
        command=bash(
            "su -s /bin/bash keystone -c 'keystone-manage fernet_setup --keystone-user keystone "
            "--keystone-group keystone' && ls /etc/keystone/fernet-keys | sort | tr '\\n' ' '"
        ),
        expect="0 1",
    ),
    SmokeCheck(
        image="keystone-ssh",
        per_type=True,
        command=bash("ssh-keygen -A > /dev/null && /usr/sbin/sshd -t && echo sshd-ok"),
        expect="sshd-ok",
    ),
    SmokeCheck(
        image="glance-base",
        per_type=True,
        command=(
            "python3",
            "-c",
            "import glance.version as v; print('glance', v.version_info.version_string())",
        ),
        expect="glance ",
    ),
    # Binary runs Debian's standalone glance-api as glance; source serves upstream's WSGI app with apache.
    SmokeCheck(
        image="glance-api",
        per_type=True,
        command=("glance-manage", "--version"),
        expect=".",
        user={"binary": "glance", "source": None},
    ),
    SmokeCheck(image="placement-base", per_type=True, command=("placement-manage", "--version"), expect="."),
    SmokeCheck(
        image="placement-api",
        per_type=True,
        command=bash("placement-manage --version && apache2ctl -t 2>&1"),
        expect="Syntax OK",
    ),
)
