"""Catalogue actions on a real root node: drafts, batches, versions, share, rights."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from common.catalog import service
from common.catalog.models import MatterDraft, PublishedMatter
from common.catalog.schema import Matter
from common.db import transaction
from common.errors import Conflict, DomainError, Forbidden, NotFound
from common.ledger.envelope import parse_event
from common.ledger.models import Event
from common.ledger.projection import apply_event, clear_projections, iter_events, snapshot
from common.node import ThisNode
from common.users.roles import Actor, Role

JULY = date(2018, 7, 24)
OCTOBER = date(2018, 10, 26)


def _import(node: ThisNode, actor: Actor, matters: list[Matter], **kw) -> service.ImportSummary:
    with transaction(node.engine) as session:
        return service.import_drafts(session, node, actor, matters, **kw)


def _publish(node: ThisNode, actor: Actor, codes: list[str], name: str = "第一批", on: date = JULY):
    with transaction(node.engine) as session:
        return service.publish_batch(session, node, actor, name=name, published_on=on, codes=codes)


def _draft_count(node: ThisNode) -> int:
    with transaction(node.engine) as session:
        return session.execute(select(func.count()).select_from(MatterDraft)).scalar_one()


def test_import_drafts_counts_created_updated_unchanged(root_node, admin, make_matter):
    first = [make_matter(i) for i in range(1, 4)]
    summary = _import(root_node, admin, first)
    assert (len(summary.created), len(summary.updated), len(summary.unchanged)) == (3, 0, 0)
    again = [first[0], make_matter(2, name="示例事项2号审批（变更）"), make_matter(4)]
    summary = _import(root_node, admin, again)
    assert summary.created == [again[2].implementation_code]
    assert summary.updated == [again[1].implementation_code]
    assert summary.unchanged == [again[0].implementation_code]
    with transaction(root_node.engine) as session:
        drafts = service.list_drafts(session)
        assert [d.to_matter() for d in drafts] == [first[0], again[1], first[2], again[2]]
        assert drafts[0].imported_at_utc.tzinfo is not None and drafts[0].updated_by == "admin"
        assert service.export_drafts(session)[1].name == "示例事项2号审批（变更）"


def test_import_is_all_or_nothing(root_node, admin, make_matter):
    _import(root_node, admin, [make_matter(1)])
    with pytest.raises(DomainError) as caught:
        _import(root_node, admin, [make_matter(2), make_matter(3), make_matter(2)])
    assert caught.value.code == "catalogue.duplicate_codes"
    with pytest.raises(Conflict) as caught:
        _import(root_node, admin, [make_matter(4), make_matter(1)], replace_existing=False)
    assert make_matter(1).implementation_code in caught.value.message
    assert _draft_count(root_node) == 1


def test_two_batches_versions_numbers_and_share(root_node, admin, make_matter):
    # Batch 1: 10 matters, 8 at most one trip (0 or 1 visits); batch 2: 3 matters, 2.
    first = [make_matter(i, visits=(2 if i in (3, 7) else i % 2)) for i in range(1, 11)]
    second = [make_matter(i, visits=v) for i, v in ((11, 0), (12, 1), (13, 3))]
    _import(root_node, admin, first + second)
    one = _publish(root_node, admin, [m.implementation_code for m in first], "第一批", JULY)
    two = _publish(root_node, admin, [m.implementation_code for m in second], "第二批", OCTOBER)
    assert (one.envelope["sseq"], two.envelope["sseq"]) == (1, 2)
    assert (one.body["batch_no"], two.body["batch_no"]) == (1, 2)
    assert one.subject == two.subject == "catalogue" and one.author == root_node.node_id
    with transaction(root_node.engine) as session:
        assert service.catalogue_version(session) == 2
        batches = service.list_batches(session)
        assert [
            (b.batch_no, b.name, b.published_on, b.version, b.matter_count, b.one_trip_count)
            for b in batches
        ] == [(1, "第一批", "2018-07-24", 1, 10, 8), (2, "第二批", "2018-10-26", 2, 3, 2)]
        assert batches[0].published_at == one.envelope["at"]
        share = service.one_trip_share(session)
        assert share["overall"] == {"matters": 13, "one_trip": 10, "share": "76.9"}
        assert [
            (b["batch_no"], b["matters"], b["one_trip"], b["share"]) for b in share["batches"]
        ] == [(1, 10, 8, "80.0"), (2, 3, 2, "66.7")]
        row = service.get_published(session, second[2].implementation_code)
        assert (row.batch_no, row.version, row.required_visits, row.withdrawn) == (2, 2, 3, False)
        assert row.to_matter() == second[2]
        assert service.export_published(session) == sorted(
            first + second, key=lambda m: m.implementation_code
        )


def test_republished_matter_replaces_earlier_version(root_node, admin, make_matter):
    matters = [make_matter(1, visits=2), make_matter(2)]
    codes = [m.implementation_code for m in matters]
    _import(root_node, admin, matters)
    _publish(root_node, admin, codes)
    with pytest.raises(Conflict) as caught:
        _publish(root_node, admin, codes[:1], "第二批")
    assert caught.value.code == "catalogue.already_published" and codes[0] in caught.value.message
    _import(root_node, admin, [make_matter(1, visits=1)])  # now at most one trip
    event = _publish(root_node, admin, codes[:1], "第二批", OCTOBER)
    with transaction(root_node.engine) as session:
        row = service.get_published(session, codes[0])
        assert (row.batch_no, row.version, row.required_visits) == (2, event.envelope["sseq"], 1)
        assert session.execute(select(func.count()).select_from(PublishedMatter)).scalar_one() == 2
        assert service.one_trip_share(session)["overall"] == {
            "matters": 2,
            "one_trip": 2,
            "share": "100.0",
        }
        # The first batch keeps the counts it was published with.
        assert service.one_trip_share(session)["batches"][0]["share"] == "50.0"


def test_publish_refusals_name_the_field(root_node, admin, make_matter):
    _import(root_node, admin, [make_matter(1), make_matter(2)])
    known = make_matter(1).implementation_code
    cases = [
        ({"codes": []}, "catalogue.batch_empty", "codes"),
        ({"codes": [known, known]}, "catalogue.duplicate_codes", "codes"),
        ({"codes": [known, "UNKNOWN-1", "UNKNOWN-2"]}, "catalogue.unknown_codes", "codes"),
        ({"codes": [known], "name": "  "}, "catalogue.batch_name_missing", "name"),
    ]
    for kwargs, code, field in cases:
        args = {"name": "第一批", "published_on": JULY, **kwargs}
        with transaction(root_node.engine) as session, pytest.raises(DomainError) as caught:
            service.publish_batch(session, root_node, admin, **args)
        assert (caught.value.code, caught.value.field) == (code, field)
        if code == "catalogue.unknown_codes":
            assert "UNKNOWN-1" in caught.value.message and "UNKNOWN-2" in caught.value.message
            assert isinstance(caught.value, NotFound)
    with transaction(root_node.engine) as session:
        assert service.catalogue_version(session) == 0


def test_a_batch_too_large_for_one_sync_batch_is_refused(
    root_node, admin, make_matter, monkeypatch
):
    _import(root_node, admin, [make_matter(1), make_matter(2)])
    monkeypatch.setattr(service, "MAX_BATCH_BYTES", 2000)  # one matter is ~1.3 KB
    with pytest.raises(DomainError) as caught:
        _publish(
            root_node,
            admin,
            [make_matter(1).implementation_code, make_matter(2).implementation_code],
        )
    assert (caught.value.code, caught.value.field) == ("catalogue.batch_too_large", "codes")
    _publish(root_node, admin, [make_matter(1).implementation_code])


def test_withdraw_and_publish_again(root_node, admin, make_matter):
    matters = [make_matter(1), make_matter(2, visits=2)]
    _import(root_node, admin, matters)
    _publish(root_node, admin, [m.implementation_code for m in matters])
    code = matters[1].implementation_code
    with transaction(root_node.engine) as session:
        with pytest.raises(DomainError) as caught:
            service.withdraw_matter(session, root_node, admin, code, " ")
        assert caught.value.field == "reason"
        event = service.withdraw_matter(session, root_node, admin, code, "事项已取消")
        assert event.envelope["sseq"] == 2 and event.kind == "catalogue.matter_withdrawn"
    with transaction(root_node.engine) as session:
        assert [r.implementation_code for r in service.list_published(session)] == [
            matters[0].implementation_code
        ]
        assert service.get_published(session, code).withdrawn_reason == "事项已取消"
        assert service.one_trip_share(session)["overall"] == {
            "matters": 1,
            "one_trip": 1,
            "share": "100.0",
        }
        with pytest.raises(Conflict):
            service.withdraw_matter(session, root_node, admin, code, "again")
    # An unchanged matter may be published again once it was withdrawn.
    _publish(root_node, admin, [code], "恢复")
    with transaction(root_node.engine) as session:
        assert service.get_published(session, code).withdrawn is False


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.COUNTY_ADMIN])
def test_only_county_admins_may_change_the_catalogue(root_node, admin, make_matter, role):
    _import(root_node, admin, [make_matter(1)])
    _publish(root_node, admin, [make_matter(1).implementation_code])
    other = Actor(username="someone", node_id=root_node.node_id, role=role)
    with transaction(root_node.engine) as session:
        for attempt in (
            lambda: service.import_drafts(session, root_node, other, [make_matter(2)]),
            lambda: service.publish_batch(
                session,
                root_node,
                other,
                name="x",
                published_on=JULY,
                codes=[make_matter(1).implementation_code],
            ),
            lambda: service.withdraw_matter(
                session, root_node, other, make_matter(1).implementation_code, "x"
            ),
        ):
            with pytest.raises(Forbidden) as caught:
                attempt()
            assert caught.value.code == "auth.role"
    assert _draft_count(root_node) == 1


def test_only_the_root_node_keeps_the_catalogue(root_node, admin, make_matter):
    settings = root_node.settings.model_copy(update={"root_fingerprint": "0" * 64})
    member = replace(root_node, settings=settings)
    assert not member.is_root
    with transaction(member.engine) as session:
        for attempt in (
            lambda: service.import_drafts(session, member, admin, [make_matter(1)]),
            lambda: service.publish_batch(
                session, member, admin, name="x", published_on=JULY, codes=["a"]
            ),
            lambda: service.withdraw_matter(session, member, admin, "a", "x"),
        ):
            with pytest.raises(Forbidden) as caught:
                attempt()
            assert caught.value.code == "catalogue.not_root"
    assert _draft_count(root_node) == 0


def test_projection_rebuild_gives_identical_rows(root_node, admin, make_matter):
    _import(root_node, admin, [make_matter(i, visits=i % 3) for i in range(1, 6)])
    _publish(root_node, admin, [make_matter(i).implementation_code for i in range(1, 4)])
    _import(root_node, admin, [make_matter(2, visits=0)])
    _publish(
        root_node, admin, [make_matter(i).implementation_code for i in (2, 4, 5)], "第二批", OCTOBER
    )
    with transaction(root_node.engine) as session:
        service.withdraw_matter(
            session, root_node, admin, make_matter(5).implementation_code, "合并"
        )
    with transaction(root_node.engine) as session:
        before = snapshot(session)
        clear_projections(session)
        for raw in list(iter_events(session)):
            apply_event(session, parse_event(root_node.network_id, raw))
        assert snapshot(session) == before
        assert before["published_matters"] and before["catalogue_batches"]


def test_event_body_carries_full_matter_data_without_floats(root_node, admin, make_matter):
    matter = make_matter(1)
    _import(root_node, admin, [matter])
    event = _publish(root_node, admin, [matter.implementation_code])
    with transaction(root_node.engine) as session:
        raw = session.execute(select(Event.raw).where(Event.id == event.id)).scalar_one()
    body = json.loads(raw)["body"]
    assert Matter.model_validate(body["matters"][0]) == matter
    assert body["published_on"] == "2018-07-24" and body["batch_no"] == 1
    assert isinstance(body["matters"][0]["fees"][0]["amount"], str)


def test_synthetic_catalogue_of_910_matters_publishes(root_node, admin, make_matter):
    synthetic = pytest.importorskip("simulation.synthetic")
    matters = [
        Matter.model_validate(m) for m in synthetic.generate_synthetic_catalogue(count=910, seed=0)
    ]
    assert len(matters) == 910
    _import(root_node, admin, matters)
    event = _publish(root_node, admin, [m.implementation_code for m in matters], "全部事项")
    assert len(event.body["matters"]) == 910
    with transaction(root_node.engine) as session:
        share = service.one_trip_share(session)
        assert share["overall"]["matters"] == 910
        assert share["overall"]["one_trip"] == sum(m.required_visits <= 1 for m in matters)
        assert service.export_published(session) == sorted(
            matters, key=lambda m: m.implementation_code
        )


def test_share_of_all_matters_counts_unpublished_drafts(root_node, admin):
    """The reform's figure: published one-trip matters over every matter the county lists."""
    from common.catalog.sample import load_sample_matters, publish_sample

    matters, batches = load_sample_matters()
    with transaction(root_node.engine) as session:
        publish_sample(session, root_node, admin)  # every matter as a draft, every batch
        share = service.one_trip_share(session)
    published = sum(len(b.codes) for b in batches)
    one_trip_published = sum(
        1
        for m in matters
        if m.implementation_code in {c for b in batches for c in b.codes} and m.required_visits <= 1
    )
    assert share["overall"]["matters"] == published
    assert share["all_matters"]["matters"] == len(matters)
    assert share["all_matters"]["one_trip_published"] == one_trip_published
    expected = f"{100 * one_trip_published / len(matters):.1f}"
    assert share["all_matters"]["share"] == expected
