"""What a writer or a reader of cassette files is given that is not an ordinary file: a FIFO or a device named
``*.yaml`` (refused, never waited on), a dangling link (refused, never created through), a disk that takes no
byte (refused before a run, not after it)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cassette import CassetteError, CassetteWriter, Interaction, Request, Response, find_cassettes, load
from conformance.cassette.files import CassetteLocked, lock_holder
from conformance.cli import main


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def test_a_fifo_named_yaml_is_refused_by_every_reader(fifo):
    with pytest.raises(CassetteError, match="a FIFO, not a regular file"):
        find_cassettes([fifo])
    with pytest.raises(CassetteError, match="a FIFO, not a regular file"):
        load(fifo)
    assert find_cassettes([fifo.parent]) == []  # in a directory: not a cassette file, passed over


@pytest.mark.parametrize("command", [["check"], ["run", "--target", "http://127.0.0.1:9"]])
def test_check_and_run_give_one_line_for_a_fifo_instead_of_hanging(fifo, command):
    done = subprocess.run([sys.executable, "-m", "conformance", *command, str(fifo)], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "a FIFO, not a regular file" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_device_is_refused_too():
    with pytest.raises(CassetteError, match="a device, not a regular file"):
        load("/dev/zero")


def test_a_dangling_link_is_refused_not_created_through(tmp_path):
    target = tmp_path / "elsewhere" / "made.yaml"
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "c.yaml"
    link.symlink_to(target)
    with pytest.raises(CassetteError, match=r"a symbolic link to .*made\.yaml, which does not exist"):
        CassetteWriter(link)
    assert not target.exists()


def test_a_link_to_an_existing_cassette_is_appended_to(tmp_path):
    real = tmp_path / "real.yaml"
    with CassetteWriter(real) as writer:
        writer.append(Interaction(Request("GET", "/v1/a"), Response(200)))
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    with CassetteWriter(link, mode="append") as writer:
        writer.append(Interaction(Request("GET", "/v1/b"), Response(200)))
    assert [i.request.path for i in load(real).interactions] == ["/v1/a", "/v1/b"]


def test_one_writer_per_cassette_and_the_lock_goes_with_it(tmp_path):
    path = tmp_path / "c.yaml"
    with CassetteWriter(path, mode="append"):
        assert lock_holder(path) == os.getpid()
        with pytest.raises(CassetteLocked, match=rf"being written by another process \(pid {os.getpid()}\)"):
            CassetteWriter(path, mode="append")
    assert lock_holder(path) is None
    assert not (tmp_path / ".c.yaml.lock").exists()
    CassetteWriter(path).close()  # free again


def test_a_lock_left_by_a_killed_writer_does_not_hold(tmp_path):
    path = tmp_path / "c.yaml"
    code = f"from conformance.cassette import CassetteWriter; import os; CassetteWriter({str(path)!r}); os._exit(9)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 9
    assert (tmp_path / ".c.yaml.lock").exists()  # left behind, but its lock went with the process
    with CassetteWriter(path) as writer:
        writer.append(Interaction(Request("GET", "/v1/a"), Response(200)))
    assert len(load(path).interactions) == 1


NO_SPACE = textwrap.dedent("""
    import resource, sys
    from pathlib import Path
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no byte can be written: a full disk, as a writer sees it
    from conformance.atomic import check_writable
    from conformance.cassette import CassetteWriter
    from conformance.errors import ReportError
    try:
        check_writable(Path(sys.argv[1]) / "report.json")
    except ReportError as error:
        print("report:", error)
    try:
        CassetteWriter(Path(sys.argv[1]) / "c.yaml")
    except OSError as error:
        print("cassette:", error.strerror)
""")


def test_the_writability_probe_writes_so_a_full_disk_is_refused_before_the_run(tmp_path):
    done = subprocess.run([sys.executable, "-c", NO_SPACE, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"report: cannot write {tmp_path / 'report.json'}: File too large" in done.stdout, done.stdout
    assert "cassette: File too large" in done.stdout, done.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".conformance-probe")]  # the probe cleaned up


def test_import_refuses_a_dangling_link_as_its_output(tmp_path):
    source = tmp_path / "in.har"
    source.write_text('{"log": {"version": "1.2", "entries": [{"request": {"method": "GET", "url": '
                      '"https://api.stripe.com/v1/customers/cus_1", "headers": []}, "response": {"status": 200, '
                      '"headers": [], "content": {"text": "{}", "mimeType": "application/json"}}}]}}')
    out = tmp_path / "out"
    out.mkdir()
    (out / "in.yaml").symlink_to(tmp_path / "nowhere.yaml")
    result = CliRunner().invoke(main, ["import", str(source), "--out", str(out)])
    assert result.exit_code == 2 and "which does not exist" in result.output, result.output
    assert not (tmp_path / "nowhere.yaml").exists()
