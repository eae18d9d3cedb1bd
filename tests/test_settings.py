"""Tests of advisor.index.settings: pip's configuration files, PIP_* variables and .netrc.

Every test passes its own HOME, XDG dirs, global dirs and site prefix (all under tmp_path),
so the machine's own pip configuration is never read.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import TYPE_CHECKING

import pytest

from advisor.errors import ConfigError
from advisor.index.fetch import Fetcher
from advisor.index.settings import PipSettings, default_index_url, load_pip_settings
from tests.support.index import Project, release

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.support.index import FixtureIndex
    from tests.support.server import IndexServer


class Machine:
    """A fake machine layout under tmp_path: where each pip config file lives."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.cwd = root / "project"
        self.prefix = root / "venv"
        self.etc = root / "etc"
        self.xdg_dirs = root / "etc-xdg"
        for folder in (self.home, self.cwd, self.prefix, self.etc, self.xdg_dirs):
            folder.mkdir(parents=True, exist_ok=True)
        self.environ: dict[str, str] = {"HOME": str(self.home)}

    @property
    def global_file(self) -> Path:
        return self.etc / "pip.conf"

    @property
    def xdg_global_file(self) -> Path:
        return self.xdg_dirs / "pip" / "pip.conf"

    @property
    def legacy_user_file(self) -> Path:
        return self.home / ".pip" / "pip.conf"

    @property
    def user_file(self) -> Path:
        return self.home / ".config" / "pip" / "pip.conf"

    @property
    def site_file(self) -> Path:
        return self.prefix / "pip.conf"

    def write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def load(self, **environ: str) -> PipSettings:
        return load_pip_settings(
            environ={**self.environ, **environ},
            cwd=self.cwd,
            global_dirs=[self.xdg_dirs / "pip", self.etc],
            site_prefix=self.prefix,
        )


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_nothing_configured_gives_pip_defaults(machine: Machine) -> None:
    settings = machine.load()
    assert settings == PipSettings()
    assert settings.indexes() == (default_index_url(),)


def test_default_index_url_comes_from_pip() -> None:
    url = default_index_url()
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "https" and parts.netloc
    assert parts.path.rstrip("/").endswith("simple")


def test_file_priority_order(machine: Machine) -> None:
    machine.write(machine.xdg_global_file, "[global]\ntimeout = 1\nretries = 1\n")
    machine.write(machine.global_file, "[global]\ntimeout = 2\nindex-url = https://g.test/s\n")
    machine.write(machine.legacy_user_file, "[global]\ntimeout = 3\ncert = /legacy.pem\n")
    machine.write(machine.user_file, "[global]\ntimeout = 4\n")
    machine.write(machine.site_file, "[global]\ntimeout = 5\n")
    settings = machine.load()
    assert settings.timeout == 5.0  # site beats user beats global
    assert settings.retries == 1
    assert settings.index_url == "https://g.test/s"
    assert settings.cert == "/legacy.pem"
    assert settings.config_files == tuple(
        str(p)
        for p in (
            machine.xdg_global_file,
            machine.global_file,
            machine.legacy_user_file,
            machine.user_file,
            machine.site_file,
        )
    )


def test_install_section_beats_global_from_any_file(machine: Machine) -> None:
    machine.write(machine.global_file, "[install]\nindex-url = https://install.test/simple\n")
    machine.write(machine.user_file, "[global]\nindex_url = https://global.test/simple\n")
    assert machine.load().index_url == "https://install.test/simple"


def test_environment_variables_win(machine: Machine) -> None:
    machine.write(
        machine.user_file,
        "[global]\nindex-url = https://file.test/simple\nextra-index-url = https://a.test/s\n"
        "no-index = yes\ntimeout = 9\n",
    )
    settings = machine.load(
        PIP_INDEX_URL="https://env.test/simple",
        PIP_EXTRA_INDEX_URL="https://b.test/s  https://c.test/s",
        PIP_NO_INDEX="off",
        PIP_DEFAULT_TIMEOUT="7.5",
        PIP_RETRIES="0",
        PIP_TRUSTED_HOST="b.test c.test:8080",
        PIP_CLIENT_CERT="client.pem",
    )
    assert settings.index_url == "https://env.test/simple"
    assert settings.extra_index_urls == ("https://b.test/s", "https://c.test/s")
    assert settings.no_index is False
    assert settings.timeout == 7.5
    assert settings.retries == 0
    assert settings.trusted_hosts == ("b.test", "c.test:8080")
    assert settings.client_cert == str(machine.cwd / "client.pem")
    assert settings.indexes() == (
        "https://env.test/simple",
        "https://b.test/s",
        "https://c.test/s",
    )
    # The canonical variable wins over its alias; an empty variable is unset.
    both = machine.load(PIP_TIMEOUT="3", PIP_DEFAULT_TIMEOUT="4", PIP_INDEX_URL="")
    assert both.timeout == 3.0
    assert both.index_url == "https://file.test/simple"


def test_no_index(machine: Machine) -> None:
    machine.write(machine.user_file, "[global]\nno-index = true\nfind-links = wheels\n")
    settings = machine.load()
    assert settings.no_index is True
    assert settings.indexes() == ()
    assert settings.find_links == ((machine.cwd / "wheels").as_uri(),)


def test_pip_config_file_replaces_user_files(machine: Machine) -> None:
    machine.write(machine.user_file, "[global]\nretries = 1\ntimeout = 1\n")
    machine.write(machine.global_file, "[global]\ntimeout = 2\n")
    env_file = machine.write(machine.root / "custom.conf", "[global]\nretries = 8\n")
    settings = machine.load(PIP_CONFIG_FILE=str(env_file))
    assert settings.retries == 8
    assert settings.timeout == 2.0  # global still read, user skipped


def test_pip_config_file_devnull_disables_every_file(machine: Machine) -> None:
    machine.write(machine.user_file, "[global]\nretries = 1\n")
    machine.write(machine.global_file, "[global]\nretries = 2\n")
    settings = machine.load(PIP_CONFIG_FILE=os.devnull, PIP_TIMEOUT="6")
    assert settings.retries == 5
    assert settings.timeout == 6.0
    assert settings.config_files == ()


def test_xdg_config_home(machine: Machine) -> None:
    xdg = machine.root / "xdg-home"
    machine.write(xdg / "pip" / "pip.conf", "[global]\nretries = 4\n")
    assert machine.load(XDG_CONFIG_HOME=str(xdg)).retries == 4


def test_windows_layout(machine: Machine) -> None:
    appdata = machine.root / "appdata"
    machine.write(appdata / "pip" / "pip.ini", "[global]\nretries = 2\n")
    settings = load_pip_settings(
        environ={"HOME": str(machine.home), "APPDATA": str(appdata)},
        cwd=machine.cwd,
        global_dirs=[],
        site_prefix=machine.prefix,
        platform="win32",
    )
    assert settings.retries == 2


def test_paths_become_file_urls(machine: Machine) -> None:
    machine.write(
        machine.user_file,
        "[global]\nfind-links =\n    ./wheels\n    ~/more\n    https://links.test/page.html\n"
        "extra-index-url = /srv/simple\ncert = ~/ca.pem\n",
    )
    settings = machine.load()
    assert settings.find_links == (
        (machine.cwd / "wheels").as_uri(),
        (machine.home / "more").as_uri(),
        "https://links.test/page.html",
    )
    assert settings.extra_index_urls[0].startswith("file:///")
    assert settings.cert == str(machine.home / "ca.pem")


def test_ssl_cert_file_is_the_fallback_ca_bundle(machine: Machine) -> None:
    assert machine.load(SSL_CERT_FILE="/ca/env.pem").cert == "/ca/env.pem"
    assert machine.load(SSL_CERT_FILE="/ca/env.pem", PIP_CERT="/ca/pip.pem").cert == "/ca/pip.pem"


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("[global]\ntimeout = soon\n", {}, "'soon' is not a valid timeout"),
        ("[global]\nretries = -1\n", {}, "retries cannot be negative"),
        ("[global]\nno-index = maybe\n", {}, "not a valid yes/no value"),
        ("", {"PIP_RETRIES": "x"}, "PIP_RETRIES"),
        ("[global]\nthis line is broken\n", {}, "pip.conf:2: cannot parse"),
        ("no section = 1\n", {}, "pip.conf:1: cannot parse pip configuration"),
    ],
)
def test_invalid_values_name_their_source(
    machine: Machine, text: str, environ: dict[str, str], message: str
) -> None:
    path = machine.write(machine.user_file, text)
    with pytest.raises(ConfigError, match=message) as info:
        machine.load(**environ)
    if not environ:
        assert str(path) in str(info.value)


def test_credentials_from_index_urls(machine: Machine) -> None:
    machine.write(
        machine.user_file,
        "[global]\nindex-url = https://me:p%40ss@private.test/simple\n",
    )
    settings = machine.load()
    assert settings.index_url == "https://me:p%40ss@private.test/simple"  # kept for fetching
    assert settings.credentials == (("https://private.test/simple", "me", "p@ss"),)
    assert settings.network_settings().credentials == settings.credentials


def test_network_settings_take_a_jobs_retries_and_timeout(machine: Machine) -> None:
    """A team server's job is posted with its own retries and timeout (``--server``), the
    rest of pip's network settings kept; without them, pip's own."""
    machine.write(machine.user_file, "[global]\ntimeout = 7\nretries = 3\ncert = /ca.pem\n")
    settings = machine.load()
    plain = settings.network_settings()
    assert (plain.timeout, plain.retries, plain.cert) == (7.0, 3, "/ca.pem")
    job = settings.network_settings(retries=0, timeout=600.0)
    assert (job.timeout, job.retries, job.cert) == (600.0, 0, "/ca.pem")


def test_netrc_credentials(machine: Machine) -> None:
    netrc_file = machine.write(
        machine.root / "netrc",
        "machine private.test login alice password one\ndefault login anyone password two\n",
    )
    netrc_file.chmod(0o600)
    machine.write(
        machine.user_file,
        "[global]\nindex-url = https://private.test/simple\n"
        "extra-index-url = https://other.test:8443/simple\n",
    )
    settings = machine.load(NETRC=str(netrc_file))
    assert settings.credentials == (
        ("https://private.test", "alice", "one"),
        ("http://private.test", "alice", "one"),
        ("https://other.test:8443", "anyone", "two"),
    )
    home_netrc = machine.write(machine.home / ".netrc", "machine h.test login u password p\n")
    home_netrc.chmod(0o600)
    assert ("https://h.test", "u", "p") in machine.load().credentials


def test_malformed_netrc_names_file_and_line(machine: Machine) -> None:
    bad = machine.write(machine.root / "netrc", "machine a.test login x password y\nbogus\n")
    with pytest.raises(ConfigError, match=r"netrc:\d+: cannot parse \.netrc") as info:
        machine.load(NETRC=str(bad))
    assert str(bad) in str(info.value)


def test_netrc_credentials_reach_the_server(
    machine: Machine,
    fixture_index_factory: Callable[..., FixtureIndex],
    index_server: Callable[..., IndexServer],
) -> None:
    index = fixture_index_factory([Project(name="alpha", files=release("1.0"))])
    server = index_server(index, require_auth=("dora", "explorer"))
    netrc_file = machine.write(
        machine.root / "netrc", "machine 127.0.0.1 login dora password explorer\n"
    )
    netrc_file.chmod(0o600)
    settings = machine.load(NETRC=str(netrc_file), PIP_INDEX_URL=server.url, PIP_RETRIES="0")
    with Fetcher(settings.network_settings()) as fetcher:
        assert fetcher.get(server.url + "/alpha/").status == 200


def test_pip_fetcher_retries_as_pip_unless_a_job_says(
    machine: Machine,
    fixture_index_factory: Callable[..., FixtureIndex],
    index_server: Callable[..., IndexServer],
) -> None:
    """``pip_fetcher`` (how the ``--server`` client connects): pip's retries, or the job's
    own (a job's POST is sent once more at most, a sweep's once)."""
    from advisor.errors import IndexUnavailable
    from advisor.index.settings import pip_fetcher

    server = index_server(fixture_index_factory([Project(name="alpha", files=release("1.0"))]))
    environ = {**machine.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_RETRIES": "1"}
    server.fail_next(1, status=503)
    with pip_fetcher(environ, machine.cwd) as fetcher:
        assert fetcher.get(server.url + "/alpha/").status == 200
    assert [r.status for r in server.requests] == [503, 200]
    server.fail_next(1, status=503)
    with pip_fetcher(environ, machine.cwd, retries=0) as fetcher, pytest.raises(IndexUnavailable):
        fetcher.get(server.url + "/alpha/")
    assert [r.status for r in server.requests] == [503, 200, 503]


def test_constraint_files_as_pip_reads_them(machine: Machine) -> None:
    """pip's ``constraint`` setting: whitespace-separated files, relative to the working
    directory, ``[install]`` over ``[global]``, a later file over an earlier one."""
    machine.write(machine.global_file, "[install]\nconstraint = /srv/global-caps.txt\n")
    machine.write(
        machine.user_file,
        "[global]\nconstraint = ignored.txt\n[install]\nconstraint =\n"
        "    caps.txt\n    /srv/more caps.txt   sub/extra.txt\n",
    )
    settings = machine.load()
    assert settings.constraints == (
        str(machine.cwd / "caps.txt"),
        "/srv/more",
        str(machine.cwd / "caps.txt"),
        str(machine.cwd / "sub" / "extra.txt"),
    )
    assert settings.constraint_source == f"{machine.user_file} [install] constraint"
    # ~ is not expanded (pip opens the path as given); a file: URL is a local path
    home = machine.load(PIP_CONSTRAINT="~/c.txt file:///srv/url%20caps.txt")
    assert home.constraints == (str(machine.cwd / "~" / "c.txt"), "/srv/url caps.txt")


def test_pip_constraint_variable_wins(machine: Machine) -> None:
    machine.write(machine.user_file, "[install]\nconstraint = from-file.txt\n")
    settings = machine.load(PIP_CONSTRAINT="/env/a.txt /env/b.txt")
    assert settings.constraints == ("/env/a.txt", "/env/b.txt")
    assert settings.constraint_source == "PIP_CONSTRAINT"
    # an empty variable leaves the files' setting in place, as pip ignores empty values
    assert machine.load(PIP_CONSTRAINT="").constraints == (str(machine.cwd / "from-file.txt"),)
    assert machine.load(PIP_CONFIG_FILE=os.devnull).constraints == ()


def test_a_remote_constraint_file_stays_a_url(machine: Machine) -> None:
    """Reading it is the caller's business (``lock`` refuses it; other commands ignore it)."""
    settings = machine.load(PIP_CONSTRAINT="https://user:secret@host.test/c.txt")
    assert settings.constraints == ("https://user:secret@host.test/c.txt",)
