"""Filing a case (申请): the matter, the applicant, the materials checklist, the number.

``file_case`` is one action function: it asks the authority policy (the role for this
tier, then the matter's handling level), reads the matter from the published catalogue,
validates the applicant's identity number,
builds the materials checklist (uploaded blobs, held electronic licences for 无证明,
promises under 告知承诺制), allocates the case number and appends ``case.filed``.
It never commits; any refusal leaves nothing behind.

The helpers shared with the rest of intake (material inputs, the filed body) live here
too because filing defines them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from common.authority.actions import check_case_action
from common.blobs.service import blobs_held
from common.cases.access import case_subject, today_on
from common.cases.intake.validation import checked_applicant, commitment_problems
from common.cases.intake.validation import text as text  # re-exported: intake, handoff
from common.cases.models import Case
from common.catalog.schema import Matter
from common.catalog.service import catalogue_version, published_matter
from common.db import core
from common.errors import Conflict, DomainError, NotFound
from common.identifiers import IdentifierError
from common.identifiers.licence_id import parse_licence_id
from common.ledger.envelope import parse_event
from common.ledger.models import Event
from common.ledger.service import lock_writer
from common.node import ThisNode
from common.timeutil import local_today
from common.users.roles import Actor

FILED = "case.filed"

VISITORS = ("applicant", "agent", "courier", "staff")
MAX_PLACE = 100
MAX_PURPOSE = 200


def filed_body(session: Session, node: ThisNode, case_no: str) -> dict[str, Any]:
    """The body of the case's ``case.filed`` event (what the projection does not keep,
    e.g. the matter's departments and the materials' licence types)."""
    raw = session.execute(
        select(col(Event.raw)).where(
            col(Event.subject) == case_subject(case_no), col(Event.sseq) == 1
        )
    ).scalar()
    if raw is None:
        raise NotFound("case.not_found", f"案件 {case_no} 不存在", field="case_no")
    body: dict[str, Any] = parse_event(node.network_id, raw).body  # case.filed's is an object
    return body


# -- materials ---------------------------------------------------------------------


@dataclass(frozen=True)
class MaterialSpec:
    position: int
    name: str
    mandatory: bool
    licence_type: str


@dataclass(frozen=True)
class MaterialSource:
    blob_sha256: str | None
    licence_ref: str | None


def find_valid_licence(session: Session, holder_id: str, type_code: str) -> str | None:
    # Imported here: the licences package depends on cases (a licence links its case).
    from common.licences.service import find_valid_licence as find

    return find(session, holder_id=holder_id, type_code=type_code)


def _licence_ref_ok(session: Session, ref: str, holder_id: str, spec: MaterialSpec) -> bool:
    if not spec.licence_type:
        return False
    try:
        parts = parse_licence_id(ref)
    except IdentifierError:
        return False
    if str(parts.type_code) != spec.licence_type:
        return False
    return find_valid_licence(session, holder_id, spec.licence_type) == ref


def resolve_materials(
    session: Session,
    specs: list[MaterialSpec],
    inputs: list[dict[str, Any]],
    holder_id: str,
    field: str = "materials",
) -> dict[int, MaterialSource]:
    """Map each input ({position | name, blob_sha256 | licence_ref}) to a material of
    the checklist, checking that the blob is held here or the licence is the holder's."""
    if not isinstance(inputs, list):
        raise DomainError("case.field_type", "材料应为列表", field=field)
    by_name = {spec.name: spec for spec in specs}
    held = blobs_held(
        session,
        {
            item["blob_sha256"].lower()
            for item in inputs
            if isinstance(item, dict) and isinstance(item.get("blob_sha256"), str)
        },
    )
    result: dict[int, MaterialSource] = {}
    for index, item in enumerate(inputs):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise DomainError("case.field_type", "每项材料应为对象", field=where)
        spec = _spec_of(item, specs, by_name, where)
        if spec.position in result:
            raise DomainError("case.material_duplicate", f"材料“{spec.name}”重复提交", field=where)
        blob, ref = item.get("blob_sha256"), item.get("licence_ref")
        if (blob is None) == (ref is None):
            raise DomainError(
                "case.material_source",
                f"材料“{spec.name}”应提供上传文件或电子证照其中之一",
                field=where,
            )
        if blob is not None:
            if not isinstance(blob, str) or blob.lower() not in held:
                raise DomainError(
                    "case.blob_unknown",
                    f"材料“{spec.name}”的文件未上传到本节点",
                    field=f"{where}.blob_sha256",
                )
            blob = blob.lower()
        else:
            if not isinstance(ref, str) or not _licence_ref_ok(
                session, ref.strip(), holder_id, spec
            ):
                raise DomainError(
                    "case.licence_ref_invalid",
                    f"材料“{spec.name}”引用的电子证照不是申请人持有的有效证照",
                    field=f"{where}.licence_ref",
                )
            ref = ref.strip()
        result[spec.position] = MaterialSource(blob, ref)
    return result


def _spec_of(
    item: dict[str, Any], specs: list[MaterialSpec], by_name: dict[str, MaterialSpec], where: str
) -> MaterialSpec:
    position, name = item.get("position"), item.get("name")
    if position is not None:
        if (
            isinstance(position, bool)
            or not isinstance(position, int)
            or not 0 <= position < len(specs)
        ):
            raise DomainError(
                "case.material_unknown",
                f"材料序号应在0到{len(specs) - 1}之间",
                field=f"{where}.position",
            )
        spec = specs[position]
        if name is not None and unicodedata.normalize("NFC", str(name)).strip() != spec.name:
            raise DomainError(
                "case.material_unknown", "材料序号与名称不一致", field=f"{where}.name"
            )
        return spec
    if isinstance(name, str) and (named := by_name.get(unicodedata.normalize("NFC", name).strip())):
        return named
    raise DomainError("case.material_unknown", "该事项没有这项材料", field=f"{where}.name")


# -- filing ------------------------------------------------------------------------


def _published_matter(session: Session, code: Any) -> Matter:
    code = text(code, "matter_code", max_len=33, label="事项实施编码")
    try:
        matter, withdrawn = published_matter(session, code)
    except NotFound:
        raise NotFound(
            "case.matter_unknown", f"没有实施编码为 {code} 的已发布事项", field="matter_code"
        ) from None
    if withdrawn:
        raise Conflict(
            "case.matter_withdrawn",
            f"事项“{matter.name}”已从目录撤销，不能申请",
            field="matter_code",
        )
    return matter


def _applicant(data: Any, node: ThisNode) -> dict[str, Any]:
    # The rules the filing form shows all at once (``validation``); here the first counts.
    person, problems = checked_applicant(data, today=local_today(node.settings.tz))
    if problems:
        raise problems[0]
    return person


def visit_record(
    data: dict[str, Any], field: str, *, prior_trips: int, required_visits: int
) -> dict[str, Any]:
    """Validate one visit and work out whether it is a trip and over the limit."""
    who = data.get("who")
    if who not in VISITORS:
        raise DomainError(
            "case.visit_who",
            "到场人员应为 applicant、agent、courier 或 staff",
            field=f"{field}.who",
        )
    place = text(data.get("place"), f"{field}.place", max_len=MAX_PLACE, label="到场地点")
    purpose = text(data.get("purpose"), f"{field}.purpose", max_len=MAX_PURPOSE, label="到场事由")
    counts = who == "applicant"  # an agent's, courier's or staff journey is not the resident's trip
    trip_no = prior_trips + 1
    over = counts and trip_no > required_visits
    reason = (
        f"跑动次数超过承诺的{required_visits}次：第{trip_no}次到现场（原因：{purpose}）"
        if over
        else None
    )
    return {
        "who": who,
        "place": place,
        "purpose": purpose,
        "counts": counts,
        "over_limit": over,
        "over_limit_reason": reason,
    }


def next_case_no(session: Session, node: ThisNode, filed_on: str) -> str:
    """{node id}-{YYYYMMDD}-{serial:04d}, serial per node per local day, offline."""
    lock_writer(session, node.node_id)  # no two filings read the same last serial
    prefix = f"{node.node_id}-{filed_on.replace('-', '')}-"
    # '.' sorts right after '-': a primary-key range over this node's day. Longest
    # first, so serial 10000 (five digits) still counts as after 9999.
    cases = Case.__table__  # type: ignore[attr-defined]
    last = (
        core(session)
        .execute(
            select(cases.c.case_no)
            .where(cases.c.case_no > prefix, cases.c.case_no < prefix[:-1] + ".")
            .order_by(func.length(cases.c.case_no).desc(), cases.c.case_no.desc())
            .limit(1)
        )
        .scalar()
    )
    serial = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{serial:04d}"


def file_case(
    session: Session,
    node: ThisNode,
    actor: Actor,
    *,
    matter_code: str,
    applicant: dict[str, Any],
    materials: list[dict[str, Any]],
    commitment: bool = False,
    visit: dict[str, Any] | None = None,
    agent: str | None = None,
) -> Case:
    """申请: append ``case.filed`` for a new case and return its projection row."""
    check_case_action(
        session, node, actor, None, "file_case"
    )  # who files here, before reading anything
    matter = _published_matter(session, matter_code)
    check_case_action(
        session, node, actor, None, "file_case", matter=matter
    )  # and the matter's level
    level = matter.handling_level.value
    person = _applicant(applicant, node)
    if node.tier == "village" and not actor.system:
        agent = actor.username  # at a village the agent files for the resident
    else:
        agent = text(agent, "agent", required=False, max_len=64, label="代办员")
    if refused := commitment_problems(matter, commitment):
        raise refused[0]

    specs = [
        MaterialSpec(i, m.name, m.mandatory, m.licence_type) for i, m in enumerate(matter.materials)
    ]
    given = resolve_materials(session, specs, materials, person["id_number"])
    checklist = []
    for spec in specs:
        source = given.get(spec.position)
        if source is None and spec.licence_type and spec.mandatory:
            # 无证明: a licence the applicant already holds stands in for the paper. Only
            # for required materials: an optional one was never asked for, so none is saved.
            held = find_valid_licence(session, person["id_number"], spec.licence_type)
            source = MaterialSource(None, held) if held else None
        provided = source is not None
        checklist.append(
            {
                "position": spec.position,
                "name": spec.name,
                "mandatory": spec.mandatory,
                "licence_type": spec.licence_type or None,
                "blob_sha256": source.blob_sha256 if source else None,
                "licence_ref": source.licence_ref if source else None,
                "promised": bool(commitment and spec.mandatory and not provided),
            }
        )

    filed_visit = None
    if visit is not None:
        if not isinstance(visit, dict):
            raise DomainError("case.field_type", "到场记录应为对象", field="visit")
        filed_visit = visit_record(
            visit, "visit", prior_trips=0, required_visits=matter.required_visits
        )

    filed_on = today_on(node)
    case_no = next_case_no(session, node, filed_on)
    body = {
        "case_no": case_no,
        "matter": {
            "code": matter.implementation_code,
            "name": matter.name,
            "catalogue_version": catalogue_version(session),
            "case_type": matter.case_type.value,
            "handling_level": level,
            "window": matter.window.value,
            "lead_department": matter.lead_department,
            "departments": list(matter.departments),
            "required_visits": matter.required_visits,
            "limit_days": matter.promised_limit_days,
            "commitment_allowed": matter.commitment_allowed,
        },
        "applicant": person,
        "agent": agent,
        "materials": checklist,
        "commitment": bool(commitment),
        "filed_on": filed_on,
        "filed_by": actor.username,
        "visit": filed_visit,
        "origin_node": node.node_id,
    }
    node.append(session, case_subject(case_no), FILED, body)
    case = session.get(Case, case_no)
    assert case is not None, "the cases projection did not record the filing"
    return case
