"""Tests for advisor.config: finding and validating advisor.toml / [tool.advisor]."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import advisor.config as config_module
from advisor.config import AdvisorConfig, EnvironmentSpec, load_config
from advisor.errors import ConfigError, InputError
from advisor.models import IndexStrategy, RecommendationType

FULL = """\
index-url = "https://idx.example/simple"
extra-index-urls = ["https://mirror.example/simple", "file:///srv/index"]
find-links = ["./wheels", "https://links.example/"]
index-strategy = "unsafe-best-match"
recommendation = "stable"
exclude-newer = "2024-06-01T00:00:00Z"
prerelease-packages = ["Torch", "jax_lib", "torch"]
osv-dump-url = "https://osv-mirror.example/PyPI/all.zip"

[pinned-indexes]
Torch_Vision = "https://gpu.example/cu121"

[environments.gpu]
python = "3.12"
platform = "linux_x86_64"
implementation = "cpython"
cuda = "12.1"
cpu-features = ["avx2", "fma"]

[environments.old-py]
python = "3.9.18"

[policy]
minimum-release-age-days = 7
allow-advisories = [{id = "GHSA-xxxx", reason = "not reachable", until = 2025-01-01}]
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository root (has .git), so the search never climbs out of tmp_path."""
    (tmp_path / ".git").mkdir()
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_public_surface() -> None:
    assert set(config_module.__all__) == {
        "INDEX_STRATEGIES",
        "RECOMMENDATIONS",
        "AdvisorConfig",
        "EnvironmentSpec",
        "load_config",
        "parse_config",
    }


def test_advisor_toml_full(repo: Path) -> None:
    write(repo / "advisor.toml", FULL)
    config = load_config(repo)
    assert config.source == (repo / "advisor.toml").as_posix()
    assert config.index_url == "https://idx.example/simple"
    assert config.extra_index_urls == ("https://mirror.example/simple", "file:///srv/index")
    assert config.find_links == ((repo / "wheels").as_uri(), "https://links.example/")
    assert config.index_strategy is IndexStrategy.UNSAFE_BEST_MATCH
    assert config.recommendation is RecommendationType.STABLE
    assert config.exclude_newer == "2024-06-01T00:00:00Z"
    assert config.prerelease_packages == ("torch", "jax-lib")
    assert config.osv_dump_url == "https://osv-mirror.example/PyPI/all.zip"
    assert dict(config.pinned_indexes) == {"torch-vision": "https://gpu.example/cu121"}
    assert dict(config.environments) == {
        "gpu": EnvironmentSpec(
            name="gpu",
            python="3.12",
            platform="linux_x86_64",
            implementation="cpython",
            cuda="12.1",
            cpu_features=("avx2", "fma"),
        ),
        "old-py": EnvironmentSpec(name="old-py", python="3.9.18"),
    }
    assert config.policy.minimum_release_age_days == 7
    assert [w.id for w in config.policy.waivers] == ["GHSA-xxxx"]
    with pytest.raises(TypeError):
        config.environments["new"] = EnvironmentSpec(name="new")  # type: ignore[index]


def test_pyproject_tool_advisor(repo: Path) -> None:
    body = "\n".join(
        line if not line.startswith("[") else line.replace("[", "[tool.advisor.", 1)
        for line in FULL.splitlines()
    )
    # top-level keys must sit under [tool.advisor] too
    top, _, rest = body.partition("[tool.advisor.pinned-indexes]")
    write(
        repo / "pyproject.toml",
        "[project]\nname = 'x'\n\n[tool.advisor]\n" + top + "[tool.advisor.pinned-indexes]" + rest,
    )
    config = load_config(repo)
    assert config.source == (repo / "pyproject.toml").as_posix()
    assert config.environments["gpu"].cuda == "12.1"
    assert config.recommendation == "stable"


def test_toml_date_for_exclude_newer(repo: Path) -> None:
    write(repo / "advisor.toml", "exclude-newer = 2024-06-01\n")
    assert load_config(repo).exclude_newer == "2024-06-01"
    write(repo / "advisor.toml", "exclude-newer = 2024-06-01T10:00:00Z\n")
    assert load_config(repo).exclude_newer == "2024-06-01T10:00:00+00:00"
    write(repo / "advisor.toml", 'exclude-newer = "2024-06-01"\n')
    assert load_config(repo).exclude_newer == "2024-06-01"


def test_nothing_found_gives_empty_config(repo: Path) -> None:
    (repo / "sub").mkdir()
    write(repo / "sub" / "pyproject.toml", "[project]\nname = 'x'\n")  # no [tool.advisor]
    config = load_config(repo / "sub")
    assert config == AdvisorConfig()
    assert config.source is None
    assert dict(config.environments) == {}


def test_search_climbs_to_parent_and_skips_pyproject_without_table(repo: Path) -> None:
    write(repo / "advisor.toml", 'recommendation = "security"\n')
    write(repo / "a" / "b" / "pyproject.toml", "[project]\nname = 'x'\n[tool.other]\n")
    config = load_config(repo / "a" / "b")
    assert config.recommendation == "security"
    assert config.source == (repo / "advisor.toml").as_posix()


def test_search_stops_at_git_root(tmp_path: Path) -> None:
    write(tmp_path / "advisor.toml", 'recommendation = "security"\n')
    (tmp_path / "project" / ".git").mkdir(parents=True)
    assert load_config(tmp_path / "project").source is None


def test_git_file_also_marks_the_root(tmp_path: Path) -> None:
    write(tmp_path / "advisor.toml", 'recommendation = "security"\n')
    write(tmp_path / "worktree" / ".git", "gitdir: elsewhere\n")
    assert load_config(tmp_path / "worktree").source is None


def test_advisor_toml_wins_over_pyproject_in_same_directory(repo: Path) -> None:
    write(repo / "advisor.toml", 'recommendation = "latest"\n')
    write(repo / "pyproject.toml", '[tool.advisor]\nrecommendation = "testing"\n')
    assert load_config(repo).recommendation == "latest"


def test_nearest_directory_wins(repo: Path) -> None:
    write(repo / "advisor.toml", 'recommendation = "latest"\n')
    write(repo / "pkg" / "pyproject.toml", '[tool.advisor]\nrecommendation = "testing"\n')
    assert load_config(repo / "pkg").recommendation == "testing"


def test_start_may_be_a_file_and_relative(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(repo / "advisor.toml", 'recommendation = "performance"\n')
    write(repo / "requirements.in", "click\n")
    monkeypatch.chdir(repo)
    config = load_config(Path("requirements.in"))
    assert config.recommendation == "performance"
    assert config.source == "advisor.toml"
    assert load_config(Path()).source == "advisor.toml"


def test_relative_find_links_resolve_against_the_config_file(repo: Path) -> None:
    write(repo / "advisor.toml", 'find-links = ["wheels"]\n')
    (repo / "deep").mkdir()
    assert load_config(repo / "deep").find_links == ((repo / "wheels").as_uri(),)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "[environments.gpu]\npython = 3.12\n",
            'advisor.toml: environments.gpu.python must be a string like "3.12"',
        ),
        (
            '[environments.gpu]\npython = "three"\n',
            'advisor.toml: environments.gpu.python must be a string like "3.12"',
        ),
        (
            '[environments.gpu]\nplatform = "linux x86"\n',
            'environments.gpu.platform must be a string like "linux_x86_64"',
        ),
        (
            "[environments.gpu]\nimplementation = 1\n",
            'environments.gpu.implementation must be a string like "cpython"',
        ),
        (
            '[environments.gpu]\ncuda = "twelve"\n',
            'environments.gpu.cuda must be a string like "12.1"',
        ),
        (
            '[environments.gpu]\ncpu-features = "avx2"\n',
            "environments.gpu.cpu-features must be an array of non-empty strings",
        ),
        (
            '[environments.gpu]\ncpu_features = ["avx2"]\n',
            "environments.gpu.cpu_features is not a known key; did you mean 'cpu-features'?",
        ),
        ('[environments."bad name"]\n', "environments.bad name is not a valid environment name"),
        ("environments = 3\n", "advisor.toml: environments must be a table"),
        ("[environments]\ngpu = 3\n", "environments.gpu must be a table"),
        (
            'index_url = "https://idx.example/simple"\n',
            "advisor.toml: index_url is not a known key; did you mean 'index-url'?",
        ),
        ('colour = "blue"\n', "colour is not a known key (known: environments, index-url"),
        ('index-url = "idx.example/simple"\n', "index-url must be a URL string"),
        ("index-url = 1\n", "index-url must be a URL string"),
        ('extra-index-urls = "https://x.example"\n', "extra-index-urls must be an array"),
        ('extra-index-urls = ["ftp://x.example"]\n', "extra-index-urls[0] must be a URL"),
        ("find-links = [1]\n", "find-links must be an array of non-empty strings"),
        ('find-links = [""]\n', "find-links must be an array of non-empty strings"),
        ('index-strategy = "best"\n', "index-strategy must be one of first-index, unsafe-"),
        # a strategy the index client does not know is refused here, not a crash when locking
        (
            'index-strategy = "unsafe-first-match"\n',
            "index-strategy must be one of first-index, unsafe-best-match (got",
        ),
        ('recommendation = "fastest"\n', "recommendation must be one of latest, stable, perf"),
        ("recommendation = 1\n", "recommendation must be one of"),
        ("pinned-indexes = []\n", "pinned-indexes must be a table"),
        ('[pinned-indexes]\n"bad name!" = "https://x.example"\n', "'bad name!', which is not"),
        ('[pinned-indexes]\ntorch = "not a url"\n', "pinned-indexes.torch must be a URL"),
        ('exclude-newer = "yesterday"\n', "exclude-newer must be a date or datetime"),
        ("exclude-newer = 10:00:00\n", "exclude-newer must be a date or datetime"),
        ("exclude-newer = 5\n", "exclude-newer must be a date or datetime"),
        ('prerelease-packages = ["ok", "not ok"]\n', "prerelease-packages has 'not ok'"),
        ('prerelease-packages = "torch"\n', "prerelease-packages must be an array"),
        ("policy = 1\n", "advisor.toml: policy must be a table"),
        ('osv-dump-url = "osv.zip"\n', "osv-dump-url must be a URL string"),
        ("recommendation = \n", "advisor.toml:1: invalid TOML"),
        ('a = 1\nb = "unterminated\n', "advisor.toml:2: invalid TOML"),
    ],
)
def test_errors_name_file_and_key(repo: Path, toml: str, expected: str) -> None:
    write(repo / "advisor.toml", toml)
    with pytest.raises(ConfigError) as info:
        load_config(Path(repo))
    message = str(info.value)
    assert message.startswith((repo / "advisor.toml").as_posix())
    assert expected.removeprefix("advisor.toml") in message
    assert isinstance(info.value, InputError)


def test_exact_message_for_a_bad_environment_python(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(repo / "advisor.toml", "[environments.gpu]\npython = 3.12\n")
    monkeypatch.chdir(repo)
    with pytest.raises(ConfigError) as info:
        load_config(Path())
    assert str(info.value) == 'advisor.toml: environments.gpu.python must be a string like "3.12"'


def test_pyproject_errors_use_the_tool_prefix(repo: Path) -> None:
    write(repo / "pyproject.toml", "[tool.advisor.environments.gpu]\ncuda = 12\n")
    with pytest.raises(ConfigError, match=r"pyproject.toml: tool.advisor.environments.gpu.cuda"):
        load_config(repo)


def test_tool_advisor_must_be_a_table(repo: Path) -> None:
    write(repo / "pyproject.toml", "[tool]\nadvisor = 1\n")
    with pytest.raises(ConfigError, match=r"pyproject.toml: \[tool.advisor\] must be a table"):
        load_config(repo)


def test_broken_pyproject_on_the_way_up_is_reported(repo: Path) -> None:
    write(repo / "pyproject.toml", "[tool.advisor\n")
    (repo / "sub").mkdir()
    with pytest.raises(ConfigError, match=r"pyproject.toml:1: invalid TOML"):
        load_config(repo / "sub")


def test_unreadable_config(repo: Path) -> None:
    (repo / "advisor.toml").write_bytes(b"a = '\xff'\n")
    with pytest.raises(ConfigError, match=r"advisor\.toml: cannot read"):
        load_config(repo)
