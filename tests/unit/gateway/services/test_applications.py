"""gateway.services.applications: what is kept when a submission fails late, the same store
work whether or not the person already has an account, and the correction's link."""

from __future__ import annotations

import io

import pytest

from gateway.extensions import db
from gateway.models import Application, Event, OutboxMessage
from gateway.services import application_lookup, applications
from gateway.store.access import store
from tests.helpers import declarations as make
from tests.helpers import new_account


@pytest.fixture
def site(make_app, tmp_path):
    app = make_app(FILE_STORE_DIR=str(tmp_path / "uploads"), SMS_OUTBOX=str(tmp_path / "sms"))
    with app.app_context():
        make.load_offices()
        yield app
        db.session.remove()


def prepared(**values) -> applications.Prepared:
    files = {name: [io.BytesIO(content)] for name, (content, _, _) in make.photos().items()}
    return applications.prepare(make.fields(**values), files, address="192.0.2.10")


def stored(app) -> list[str]:
    return make.stored_files(app.config["FILE_STORE_DIR"])


def test_a_failure_before_the_commit_keeps_nothing_and_frees_the_number(site):
    ready = prepared()

    def fail():
        raise RuntimeError("the look-up was claimed by another request")

    with pytest.raises(RuntimeError):
        applications.submit(ready, before_commit=fail)
    assert db.session.query(Application).count() == 0 and stored(site) == []
    assert OutboxMessage.query.count() == 0 and Event.query.filter(
        Event.name.like("application.%")).count() == 0
    # the claims on the number and the CCCD were released: the same person can submit now
    reference = applications.submit(ready)
    assert application_lookup.find(reference).status == "submitted" and len(stored(site)) == 3


def test_a_lost_race_for_the_same_rejection_keeps_nothing(site):
    first = application_lookup.find(applications.submit(prepared()))
    first.status = "rejected"
    db.session.commit()
    correction = applications.submit(prepared(), previous=first)
    assert application_lookup.find(correction).previous_id == first.id
    files = stored(site)
    with pytest.raises(applications.ResubmissionRefusedError):
        applications.submit(prepared(phone="0987000222"), previous=first)  # a second one
    assert stored(site) == files
    assert db.session.query(Application).count() == 2
    with pytest.raises(applications.ResubmissionRefusedError):
        application_lookup.rejected_for_correction(first.id)


class Recording:
    """The app's store, recording the name of each operation (one round trip each)."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __getattr__(self, name):
        method = getattr(self.real, name)

        def call(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)

        return call


def test_the_same_store_work_whether_or_not_an_account_exists(site):
    existing = make.fields()
    new_account(bhxh=existing["bhxh_number"], cccd=existing["id_number"],
                dob=existing["date_of_birth"], sex=existing["sex"])
    calls, answers = {}, {}
    for name, values in (("fresh", make.fields(phone="0912000111")),
                         ("duplicate", dict(existing, phone="0912000222"))):
        ready = applications.prepare(values, {n: [io.BytesIO(c)] for n, (c, _, _) in
                                              make.photos().items()}, address="192.0.2.11")
        recording = site.extensions["gateway.store"] = Recording(store())
        try:
            answers[name] = applications.submit(ready)
        finally:
            site.extensions["gateway.store"] = recording.real
        calls[name] = recording.calls
    assert calls["fresh"] == calls["duplicate"] == ["incr", "add", "add", "delete", "delete"]
    assert len(answers["fresh"]) == len(answers["duplicate"]) == 12
    assert application_lookup.find(answers["duplicate"]) is None
    assert [e.data["why"] for e in Event.query.filter_by(name="application.declined")] == [
        "account_exists"]


def test_the_status_of_a_rejection_and_its_correction(site):
    first = application_lookup.find(applications.submit(prepared()))
    status = application_lookup.status_of(first.id)
    assert (status.status, status.can_resubmit, status.reason_code) == ("submitted", False, None)
    first.status, first.reason_code, first.reason = "rejected", "data_mismatch", "Sai tên."
    db.session.commit()
    status = application_lookup.status_of(first.id)
    assert (status.status, status.can_resubmit, status.reason_code, status.reason) == (
        "rejected", True, "data_mismatch", "Sai tên.")
    assert application_lookup.prefill(first)["phone"] == "0912345678"
    correction = applications.submit(prepared(), previous=first)
    status = application_lookup.status_of(first.id)
    assert (status.can_resubmit, status.corrected_by) == (False, correction)
