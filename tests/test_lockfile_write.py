"""``write_atomic`` on what an output path can be besides a plain file: symbolic links (to a
file, chained, relative, dangling, looping), a FIFO with a real reader, a character device,
a directory and a socket. Everything is real: links, FIFOs and device nodes made under
``tmp_path``; the machine's ``/dev/null`` is touched only when no device node can be made,
and then only through the function, with a check that it is still a character device.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from advisor.lockfile import write_atomic
from tests.support.fifo import fifo_reader


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- symbolic links


def test_a_link_to_a_lock_stays_a_link_and_its_target_is_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_text("old\n", encoding="utf-8")
    os.chmod(real, 0o640)
    link = tmp_path / "pylock.toml"
    link.symlink_to("real.toml")
    write_atomic(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == "real.toml"
    assert real.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # the target's mode, kept
    assert _names(tmp_path) == ["pylock.toml", "real.toml"]  # no temporary file left


def test_a_relative_link_chain_into_another_directory(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    project = tmp_path / "project"
    shared.mkdir()
    project.mkdir()
    real = shared / "pylock.toml"
    real.write_text("old\n", encoding="utf-8")
    (shared / "current.toml").symlink_to("pylock.toml")
    link = project / "pylock.toml"
    link.symlink_to(Path("..") / "shared" / "current.toml")
    write_atomic(link, "new\n")
    assert link.is_symlink() and (shared / "current.toml").is_symlink()
    assert real.read_text(encoding="utf-8") == "new\n"
    assert _names(project) == ["pylock.toml"]
    assert _names(shared) == ["current.toml", "pylock.toml"]


def test_a_dangling_link_creates_its_target(tmp_path: Path) -> None:
    """Decided like a shell's ``echo > link``: the link names where the lock goes."""
    (tmp_path / "locks").mkdir()
    link = tmp_path / "pylock.toml"
    link.symlink_to(tmp_path / "locks" / "pylock.toml")  # absolute, not there yet
    write_atomic(link, "new\n")
    assert link.is_symlink()
    assert (tmp_path / "locks" / "pylock.toml").read_text(encoding="utf-8") == "new\n"


def test_a_dangling_link_into_a_missing_directory_fails_and_leaves_the_link(
    tmp_path: Path,
) -> None:
    link = tmp_path / "pylock.toml"
    link.symlink_to("missing/pylock.toml")
    with pytest.raises(FileNotFoundError):
        write_atomic(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == "missing/pylock.toml"


def test_a_link_loop_is_an_error_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OSError) as caught:
        write_atomic(tmp_path / "a", "new\n")
    assert caught.value.errno == errno.ELOOP
    assert _names(tmp_path) == ["a", "b"]
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()


# --------------------------------------------------------------------------- FIFOs


def test_a_fifo_is_written_through_to_its_reader(tmp_path: Path) -> None:
    fifo = tmp_path / "lock.fifo"
    with fifo_reader(fifo) as reader:
        write_atomic(fifo, "lock-version = '1.0'\n")
        assert reader.finish() == "lock-version = '1.0'\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert _names(tmp_path) == ["lock.fifo"]


def test_a_link_to_a_fifo_writes_through_the_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "lock.fifo"
    link = tmp_path / "pylock.toml"
    with fifo_reader(fifo) as reader:
        link.symlink_to("lock.fifo")
        write_atomic(link, "through\n")
        assert reader.finish() == "through\n"
    assert link.is_symlink() and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_writer_waits_for_the_fifo_reader(tmp_path: Path) -> None:
    """No guard here: as with a shell's ``>``, the write blocks until a reader opens."""
    fifo = tmp_path / "lock.fifo"
    os.mkfifo(fifo)
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            write_atomic(fifo, "late\n")
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    assert not done.wait(0.3)  # no reader yet: still waiting, nothing replaced
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    with open(fifo, "rb") as fh:
        assert fh.read() == b"late\n"
    writer.join(timeout=30)
    assert done.is_set() and not errors, errors


# --------------------------------------------------------------------------- devices


@pytest.fixture
def char_device(tmp_path: Path) -> Path:
    """A character device: a null device node made here (as root), else ``/dev/null``.

    ``/dev/null`` is the fallback only without root, where nothing in ``/dev`` can be
    replaced even by a broken writer; the tests still assert afterwards that it is a
    character device. Root that cannot make a usable node skips: a broken writer could
    replace the machine's ``/dev/null`` there.
    """
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.close(os.open(node, os.O_WRONLY))  # a nodev mount refuses to open device nodes
    except PermissionError:
        if os.geteuid() == 0:
            pytest.skip("root, but no usable device node under tmp_path")
        return Path(os.devnull)
    return node


def test_a_character_device_is_written_through(char_device: Path) -> None:
    write_atomic(char_device, "discarded\n")
    assert stat.S_ISCHR(os.lstat(char_device).st_mode)
    assert char_device.read_bytes() == b""  # still a null device


def test_a_link_to_a_character_device_stays_a_link(tmp_path: Path, char_device: Path) -> None:
    link = tmp_path / "out.toml"
    link.symlink_to(char_device)
    write_atomic(link, "discarded\n")
    assert link.is_symlink()
    assert stat.S_ISCHR(os.lstat(char_device).st_mode)


# --------------------------------------------------------------------------- refused kinds


def test_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").mkdir()
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path / "pylock.toml", "x\n")
    assert (tmp_path / "pylock.toml").is_dir()
    assert _names(tmp_path) == ["pylock.toml"]


def test_a_socket_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        with pytest.raises(OSError) as caught:
            write_atomic(path, "x\n")
        assert caught.value.errno == errno.EINVAL
        assert "not a regular file" in str(caught.value)
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert _names(tmp_path) == ["s.sock"]


def test_unencodable_text_never_reaches_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "lock.fifo"
    with fifo_reader(fifo) as reader:
        with pytest.raises(UnicodeEncodeError):
            write_atomic(fifo, "bad \udc80\n")
        assert reader.finish() == ""
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
