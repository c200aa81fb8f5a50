"""Planning a migration file into chunks and reading a chunk back (gateway/jobs/migration/
files.py): every data line is read exactly once, with its own number, whatever the chunk size,
line ends, BOM or a missing last line end; other bytes at the path stop the chunk."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.jobs.migration import files

HEADER = ("a", "b")


def _lines(plan):
    return [item for chunk in plan.chunks for item in files.read_chunk(plan.path, chunk)]


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.text("xyzé,\r", max_size=12).filter(lambda t: not t.endswith("\r")),
                     max_size=40),
       chunk_rows=st.integers(1, 9), crlf=st.booleans(), bom=st.booleans(),
       terminated=st.booleans())
def test_every_line_once_with_its_number(tmp_path_factory, rows, chunk_rows, crlf, bom,
                                         terminated):
    end = "\r\n" if crlf else "\n"
    body = end.join(["a,b", *rows]) + (end if terminated or not rows else "")
    data = (b"\xef\xbb\xbf" if bom else b"") + body.encode()
    path = tmp_path_factory.mktemp("plan") / "f.csv"
    path.write_bytes(data)
    plan = files.plan_file(str(path), HEADER, chunk_rows)
    if rows and not terminated and rows[-1] == "":
        rows = rows[:-1]  # an empty last line without its line end is no line at all
        terminated = True
    assert plan.size == len(data) and plan.sha256 == hashlib.sha256(data).hexdigest()
    assert plan.lines == len(rows)
    read = _lines(plan)
    assert [text for _, text, _ in read] == rows
    assert [number for number, _, _ in read] == list(range(2, 2 + len(rows)))
    assert all(term for _, _, term in read[:-1])
    if read:
        assert read[-1][2] == terminated
    assert all(len([1 for n, _, _ in files.read_chunk(plan.path, c)]) <= chunk_rows
               for c in plan.chunks)


def test_blocks_larger_than_one_read(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "BLOCK", 7)
    rows = [f"{i},{'é' * (i % 5)}" for i in range(100)]
    path = tmp_path / "f.csv"
    path.write_text("a,b\n" + "\n".join(rows) + "\n", encoding="utf-8")
    plan = files.plan_file(str(path), HEADER, 9)
    assert [text for _, text, _ in _lines(plan)] == rows and len(plan.chunks) == 12


def test_a_line_that_is_not_utf8_is_read_as_none(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,\xff\n2,3\n")
    plan = files.plan_file(str(path), HEADER, 10)
    assert [(n, t) for n, t, _ in _lines(plan)] == [(2, None), (3, "2,3")]


@pytest.mark.parametrize("content,code", [
    (b"", "empty_file"), (b"x,y\n", "bad_header"), (b"a,b,c\n", "bad_header"),
    (b"\xff,b\n", "bad_encoding"), (b"a" * 5000, "bad_header"),
])
def test_refused_files(tmp_path, content, code):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(files.MigrationFileError) as caught:
        files.plan_file(str(path), HEADER, 10)
    assert caught.value.code == code


def test_a_header_with_spaces_and_crlf_is_the_header(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"a , b\r\n1,2\r\n")
    assert files.plan_file(str(path), HEADER, 10).lines == 1


def test_a_changed_file_stops_the_chunk(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2\n3,4\n")
    plan = files.plan_file(str(path), HEADER, 1)
    path.write_bytes(b"a,b\n1,2\n3,5\n")
    assert list(files.read_chunk(str(path), plan.chunks[0]))
    with pytest.raises(files.MigrationFileError) as caught:
        list(files.read_chunk(str(path), plan.chunks[1]))
    assert caught.value.code == "file_changed"
    path.unlink()
    with pytest.raises(files.MigrationFileError) as caught:
        list(files.read_chunk(str(path), plan.chunks[0]))
    assert caught.value.code == "unreadable"
