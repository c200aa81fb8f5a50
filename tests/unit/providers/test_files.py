"""The directory file store (providers/files.py): random keys, whole files or none, private
modes, and no key that reaches outside its root."""

from __future__ import annotations

import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.files import DirectoryFileStore, FileNotFound, content_type_of


def test_put_get_delete(tmp_path):
    store = DirectoryFileStore(tmp_path / "uploads")
    key = store.put(b"\xff\xd8jpeg", "image/jpeg")
    assert key.endswith(".jpg") and content_type_of(key) == "image/jpeg"
    assert store.get(key) == b"\xff\xd8jpeg"
    path = tmp_path / "uploads" / key[:2] / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    store.delete(key)
    with pytest.raises(FileNotFound):
        store.get(key)
    store.delete(key)  # deleting twice is not an error


def test_keys_are_random_and_no_temporary_file_is_left(tmp_path):
    store = DirectoryFileStore(tmp_path)
    keys = {store.put(b"x", "image/png") for _ in range(50)}
    assert len(keys) == 50
    assert not list(tmp_path.rglob("*.part"))


@given(st.text(min_size=0, max_size=80))
def test_a_key_not_of_the_store_s_form_is_never_a_path(key):
    store = DirectoryFileStore("/nonexistent-root")
    with pytest.raises(FileNotFound):
        store.get(key)


@pytest.mark.parametrize("key", ["../../etc/passwd", "/etc/passwd", "..", "ab/../../x.jpg",
                                 "0" * 32 + ".jpg/../../x", "0" * 32 + ".exe"])
def test_climbing_keys_are_refused(tmp_path, key):
    with pytest.raises(FileNotFound):
        DirectoryFileStore(tmp_path).get(key)
