"""Read pip's own configuration, so the advisor talks to the indexes pip would use.

Sits at the input edge of the index client: the composition root calls
:func:`load_pip_settings` with the process environment and working directory (nothing here
reads ``os.environ``), then turns the :class:`PipSettings` into a
:class:`~advisor.index.fetch.NetworkSettings` and the finder's index list.

What is read, lowest priority first, as pip does: the global files (``$XDG_CONFIG_DIRS``,
default ``/etc/xdg``, then ``/etc``), the user files (``~/.pip/pip.conf`` then
``$XDG_CONFIG_HOME/pip/pip.conf``; skipped when ``PIP_CONFIG_FILE`` names an existing file),
the site file ``<sys.prefix>/pip.conf``, the ``PIP_CONFIG_FILE`` file (``os.devnull``
disables every file), then ``PIP_*`` environment variables. In the merged files, ``[install]``
overrides ``[global]``; environment variables override both. ``.netrc`` (``NETRC`` or
``~/.netrc``) supplies credentials.

Besides the index and network options, pip's ``constraint`` setting is read (the constraint
files ``pip install`` applies to every resolution); the composition root reads those files.
"""

from __future__ import annotations

import configparser
import importlib
import netrc
import os
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from advisor.errors import ConfigError
from advisor.events import SILENT
from advisor.index.fetch import Fetcher, NetworkSettings
from advisor.index.local import file_url_to_path
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from advisor.events import ProgressEvents

__all__ = ["PipSettings", "default_index_url", "load_pip_settings", "pip_fetcher"]

# Canonical option → every name pip accepts for it (config key or PIP_* variable).
_OPTIONS: dict[str, tuple[str, ...]] = {
    "index-url": ("index-url", "pypi-url"),
    "extra-index-url": ("extra-index-url",),
    "find-links": ("find-links",),
    "no-index": ("no-index",),
    "cert": ("cert",),
    "client-cert": ("client-cert",),
    "timeout": ("timeout", "default-timeout"),
    "retries": ("retries",),
    "trusted-host": ("trusted-host",),
    "constraint": ("constraint",),
}
_SECTIONS = ("global", "install")  # later sections override earlier ones
_N = TypeVar("_N", int, float)
_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")


@dataclass(frozen=True, slots=True, kw_only=True)
class PipSettings:
    """pip's effective index and network options.

    ``index_url`` is ``None`` when not configured (then :func:`default_index_url`
    applies); index URLs keep their ``user:password@`` part (the fetcher needs it) and must
    be passed through ``redact_url`` before being shown. Local paths are ``file://`` URLs.
    ``credentials`` are ``(url prefix, username, password)`` from URLs with userinfo and
    from ``.netrc``. ``config_files`` lists the files read, lowest priority first.
    ``constraints`` are the constraint files pip applies (its ``constraint`` setting:
    whitespace-separated, relative to the working directory, ``~`` not expanded, as pip
    reads them) as absolute paths, or as URLs for remote ones (which may hold credentials,
    like index URLs); ``constraint_source`` names where that setting came from
    (``PIP_CONSTRAINT`` or ``<file> [<section>] constraint``).
    """

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    cert: str | None = None
    client_cert: str | None = None
    timeout: float = 15.0
    retries: int = 5
    trusted_hosts: tuple[str, ...] = ()
    credentials: tuple[tuple[str, str, str], ...] = ()
    config_files: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    constraint_source: str = ""

    def indexes(self) -> tuple[str, ...]:
        """The index URLs in order (``()`` with ``no_index``); the default one when unset."""
        if self.no_index:
            return ()
        primary = self.index_url or default_index_url()
        return tuple(dict.fromkeys((primary, *self.extra_index_urls)))

    def network_settings(
        self, *, retries: int | None = None, timeout: float | None = None
    ) -> NetworkSettings:
        """The fetcher's settings for these options (default user agent and pool size);
        ``retries`` and ``timeout`` replace pip's when given (a job's single POST)."""
        return NetworkSettings(
            timeout=self.timeout if timeout is None else timeout,
            retries=self.retries if retries is None else retries,
            cert=self.cert,
            client_cert=self.client_cert,
            trusted_hosts=self.trusted_hosts,
            credentials=self.credentials,
        )


def default_index_url() -> str:
    """pip's default index (its simple API URL), read from the installed pip at run time.

    Raises :class:`ConfigError` when pip is not importable.
    """
    try:
        module = importlib.import_module("pip._internal.models.index")
        return str(module.PyPI.simple_url)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            "cannot determine the default package index: pip is not importable here;"
            " give an index URL explicitly"
        ) from exc


def pip_fetcher(
    environ: Mapping[str, str],
    cwd: Path,
    *,
    retries: int | None = None,
    timeout: float | None = None,
    events: ProgressEvents = SILENT,
) -> Fetcher:
    """A fetcher with pip's network settings (:func:`load_pip_settings` in ``environ`` and
    ``cwd``), ``retries`` and ``timeout`` replacing pip's when given: how the team server's
    client connects for each request (``advisor.server.remote.Connect``)."""
    pip = load_pip_settings(environ=environ, cwd=cwd)
    return Fetcher(pip.network_settings(retries=retries, timeout=timeout), events=events)


def load_pip_settings(
    *,
    environ: Mapping[str, str],
    cwd: Path,
    global_dirs: Sequence[Path] | None = None,
    site_prefix: Path | None = None,
    platform: str = sys.platform,
) -> PipSettings:
    """pip's options from its configuration files, ``PIP_*`` variables and ``.netrc``.

    ``global_dirs`` replaces the system-wide configuration directories and ``site_prefix``
    the interpreter prefix (tests pass temporary folders). Relative paths resolve against
    ``cwd``; ``~`` against ``HOME``. Raises :class:`ConfigError` naming the file or the
    variable for an unreadable file or an invalid value.
    """
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    files = _config_files(
        environ=environ,
        home=home,
        global_dirs=global_dirs,
        site_prefix=site_prefix,
        platform=platform,
    )
    values: dict[str, tuple[str, str]] = {}  # canonical option → (raw value, where)
    merged = _read_files(files)
    for section in _SECTIONS:
        for option, aliases in _OPTIONS.items():
            for alias in reversed(aliases):  # the canonical name wins within one section
                if (found := merged.get((section, alias))) is not None:
                    values[option] = found
    for option, aliases in _OPTIONS.items():
        for alias in reversed(aliases):
            var = "PIP_" + alias.upper().replace("-", "_")
            if environ.get(var, "").strip():
                values[option] = (environ[var], var)

    def path_of(text: str) -> str:
        return str(_resolve_path(text, cwd=cwd, home=home))

    def url_of(text: str) -> str:
        return _as_url(text, cwd=cwd, home=home)

    index_url = url_of(values["index-url"][0].strip()) if "index-url" in values else None
    extras = tuple(url_of(v) for v in _split(values.get("extra-index-url")))
    find_links = tuple(url_of(v) for v in _split(values.get("find-links")))
    cert = path_of(values["cert"][0].strip()) if "cert" in values else None
    if cert is None and environ.get("SSL_CERT_FILE", "").strip():
        cert = path_of(environ["SSL_CERT_FILE"].strip())
    client_cert = path_of(values["client-cert"][0].strip()) if "client-cert" in values else None
    constraints = tuple(_constraint_path(v, cwd=cwd) for v in _split(values.get("constraint")))
    urls = ([index_url] if index_url else []) + list(extras) + list(find_links)
    credentials = _url_credentials(urls) + _netrc_credentials(
        _netrc_path(environ=environ, home=home, platform=platform), urls
    )
    return PipSettings(
        index_url=index_url,
        extra_index_urls=extras,
        find_links=find_links,
        no_index=_bool(values["no-index"]) if "no-index" in values else False,
        cert=cert,
        client_cert=client_cert,
        timeout=_number(values["timeout"], float, "timeout") if "timeout" in values else 15.0,
        retries=_number(values["retries"], int, "retries") if "retries" in values else 5,
        trusted_hosts=tuple(_split(values.get("trusted-host"))),
        credentials=tuple(credentials),
        config_files=tuple(str(f) for f in files if f.is_file()),
        constraints=constraints,
        constraint_source=values["constraint"][1] if constraints else "",
    )


# -- files ----------------------------------------------------------------------------------


def _config_files(
    *,
    environ: Mapping[str, str],
    home: Path,
    global_dirs: Sequence[Path] | None,
    site_prefix: Path | None,
    platform: str,
) -> list[Path]:
    """Candidate configuration files, lowest priority first (missing ones included)."""
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    windows = platform == "win32"
    basename = "pip.ini" if windows else "pip.conf"
    if global_dirs is None:
        global_dirs = _global_dirs(environ=environ, platform=platform)
    files = [Path(d) / basename for d in global_dirs]
    if not (env_file and Path(env_file).exists()):
        files.append(home / ("pip" if windows else ".pip") / basename)
        files.append(_user_dir(environ=environ, home=home, platform=platform) / basename)
    files.append(Path(site_prefix if site_prefix is not None else sys.prefix) / basename)
    if env_file:
        files.append(Path(env_file))
    return files


def _global_dirs(*, environ: Mapping[str, str], platform: str) -> list[Path]:
    if platform == "win32":
        return [Path(environ.get("ALLUSERSPROFILE") or r"C:\ProgramData") / "pip"]
    if platform == "darwin":
        return [Path("/Library/Application Support/pip")]
    xdg = environ.get("XDG_CONFIG_DIRS", "").strip() or "/etc/xdg"
    return [Path(d) / "pip" for d in xdg.split(os.pathsep) if d] + [Path("/etc")]


def _user_dir(*, environ: Mapping[str, str], home: Path, platform: str) -> Path:
    if platform == "win32":
        appdata = environ.get("APPDATA")
        return Path(appdata) / "pip" if appdata else home / "AppData" / "Roaming" / "pip"
    if platform == "darwin":
        mac = home / "Library" / "Application Support" / "pip"
        if mac.is_dir():
            return mac
        return home / ".config" / "pip"
    xdg = environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(xdg) if xdg else home / ".config") / "pip"


def _read_files(files: Iterable[Path]) -> dict[tuple[str, str], tuple[str, str]]:
    """``(section, key) → (value, "file [section] key")``; later files override earlier."""
    merged: dict[tuple[str, str], tuple[str, str]] = {}
    for path in files:
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser()
        try:
            with path.open(encoding="utf-8") as fh:
                parser.read_file(fh, source=str(path))
        except configparser.ParsingError as exc:
            errors = getattr(exc, "errors", None)
            line = errors[0][0] if errors else getattr(exc, "lineno", 0)
            raise ConfigError(f"{path}:{line}: cannot parse pip configuration") from exc
        except configparser.Error as exc:
            raise ConfigError(f"{path}: cannot parse pip configuration: {exc.message}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read pip configuration: {exc}") from exc
        for section in parser.sections():
            for key, value in parser.items(section):
                norm = key.strip().lower().replace("_", "-")
                merged[(section, norm)] = (value, f"{path} [{section}] {norm}")
    return merged


# -- values ---------------------------------------------------------------------------------


def _split(found: tuple[str, str] | None) -> list[str]:
    return found[0].split() if found is not None else []


def _bool(found: tuple[str, str]) -> bool:
    text = found[0].strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{redact_url(found[0])!r} is not a valid yes/no value ({found[1]})")


def _number(found: tuple[str, str], kind: type[_N], what: str) -> _N:
    try:
        value = kind(found[0].strip())
    except ValueError:
        raise ConfigError(f"{found[0]!r} is not a valid {what} ({found[1]})") from None
    if value < 0:
        raise ConfigError(f"{what} cannot be negative: {found[0]!r} ({found[1]})")
    return value


def _resolve_path(text: str, *, cwd: Path, home: Path) -> Path:
    if text == "~" or text.startswith(("~/", "~" + os.sep)):
        return home / text[2:]
    path = Path(text)
    return path if path.is_absolute() else cwd / path


def _constraint_path(text: str, *, cwd: Path) -> str:
    """One entry of pip's ``constraint`` setting: an absolute path, or a remote URL as given.

    pip opens a path as given (relative to the working directory, no ``~`` expansion) and
    fetches a URL; a ``file:`` URL is a local path.
    """
    parts = urllib.parse.urlsplit(text)
    if parts.scheme.lower() == "file":
        return str(file_url_to_path(text))
    if len(parts.scheme) > 1:  # one letter is a Windows drive
        return text
    path = Path(text)
    return str(path if path.is_absolute() else cwd / path)


def _as_url(text: str, *, cwd: Path, home: Path) -> str:
    scheme = urllib.parse.urlsplit(text).scheme
    if len(scheme) > 1:  # one letter is a Windows drive
        return text
    return _resolve_path(text, cwd=cwd, home=home).absolute().as_uri()


# -- credentials ----------------------------------------------------------------------------


def _url_credentials(urls: Iterable[str]) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        if "@" not in parts.netloc:
            continue
        userinfo = parts.netloc.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        prefix = redact_url(url)
        out.append((prefix, urllib.parse.unquote(user), urllib.parse.unquote(password)))
    return out


def _netrc_path(*, environ: Mapping[str, str], home: Path, platform: str) -> Path:
    if environ.get("NETRC"):
        return Path(environ["NETRC"])
    return home / ("_netrc" if platform == "win32" else ".netrc")


def _netrc_credentials(path: Path, urls: Iterable[str]) -> list[tuple[str, str, str]]:
    """One entry per ``machine`` (for http and https); ``default`` covers the hosts of the
    configured URLs that no machine entry names."""
    if not path.is_file():
        return []
    try:
        parsed = netrc.netrc(str(path))
    except netrc.NetrcParseError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: cannot parse .netrc: {exc.msg}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read .netrc: {exc}") from exc
    out: list[tuple[str, str, str]] = []
    for host, (login, _account, password) in sorted(parsed.hosts.items()):
        if host == "default":
            continue
        for scheme in ("https", "http"):
            out.append((f"{scheme}://{host}", login or "", password or ""))
    default = parsed.hosts.get("default")
    if default is not None:
        for url in urls:
            parts = urllib.parse.urlsplit(url)
            host = parts.hostname or ""
            if parts.scheme in ("http", "https") and host and host not in parsed.hosts:
                prefix = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
                out.append((prefix, default[0] or "", default[2] or ""))
    return out
