"""The agent's filing form as it is read and shown again: every problem at once, and the
scans kept between one submit and the next.

Each chosen file is stored as soon as the form arrives, even when the rest of the form
is refused: a blob is content-addressed and harmless on its own, and the agent on a
phone should not have to find and choose the same scans again. The form comes back with
each material's stored file in hidden inputs (its SHA-256 and name); a later submit
uses it unless a new file replaces it. A kept SHA-256 counts only when this node holds
that blob (every held blob passed the upload checks): a hash typed into the form
attaches nothing.

The rules themselves are the intake domain's (``cases.intake.validation``, the same
ones ``file_case`` asks); this module only maps them to the form's inputs and orders
them as the form does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from common.blobs import store
from common.blobs.service import blobs_held, clean_name, store_blob
from common.cases.intake.validation import filing_problems
from common.catalog.schema import Matter
from common.errors import DomainError
from common.web.page import Page

# Fields the action functions name -> the inputs of the filing form.
APPLICANT_FIELDS = {
    "applicant": "applicant_name",
    "applicant.kind": "applicant_kind",
    "applicant.name": "applicant_name",
    "applicant.id_number": "applicant_id",
    "applicant.phone": "applicant_phone",
    "commitment": "commitment",
}
# The inputs' names on screen, for the summary of problems at the top of the form.
FIELD_LABELS = {
    "applicant_kind": "申请人类型",
    "applicant_name": "申请人姓名或名称",
    "applicant_id": "证件号码",
    "applicant_phone": "联系电话",
    "present": "到场情况",
    "commitment": "告知承诺",
}


@dataclass(frozen=True)
class Scan:
    """A material's file stored on this node: what the hidden inputs carry."""

    sha256: str
    name: str


def read_upload(page: Page, name: str) -> tuple[bytes, str] | None:
    """The bytes and file name of a file input, or None when nothing was chosen
    (a browser sends an empty part for an empty file input)."""
    upload = page.form.get(name)
    if upload is None or isinstance(upload, str) or not getattr(upload, "filename", ""):
        return None
    # One byte past the limit: enough for store_blob to refuse, never a huge read.
    data = upload.file.read(store.MAX_BLOB_BYTES + 1)
    return (data, upload.filename) if data else None


def _field_text(page: Page, name: str, limit: int) -> str:
    value = page.form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _kept_claims(page: Page, matter: Matter) -> dict[int, str]:
    """The SHA-256 each material's hidden input claims, of those this node holds."""
    claims = {
        position: _field_text(page, f"m{position}_kept", 100).lower()
        for position in range(len(matter.materials))
    }
    held = blobs_held(
        page.session, {sha for sha in claims.values() if store.SHA256_RE.fullmatch(sha)}
    )
    return {position: sha for position, sha in claims.items() if sha in held}


def scans_of_form(page: Page, matter: Matter) -> tuple[dict[int, Scan], list[DomainError]]:
    """Each material's file (a new upload, stored now, or the one kept from the last
    submit) and the problems with them, each at its material's file input."""
    held = _kept_claims(page, matter)
    scans: dict[int, Scan] = {}
    problems: list[DomainError] = []
    for position, item in enumerate(matter.materials):
        field = f"m{position}_file"
        upload = read_upload(page, field)
        if upload is not None:
            # Its own savepoint: a refused file leaves nothing; a stored one stays, whatever
            # else the form gets wrong.
            blob, refusal = page.attempt(store_blob, page.session, page.node, *upload)
            if blob is not None:
                scans[position] = Scan(blob.sha256, clean_name(upload[1]))
                continue
            assert refusal is not None
            refusal.message, refusal.field = f"“{item.name}”：{refusal.message}", field
            problems.append(refusal)
        claimed = _field_text(page, f"m{position}_kept", 100)
        if position in held:
            # A refused replacement leaves the file kept before in place.
            scans[position] = Scan(
                held[position], clean_name(_field_text(page, f"m{position}_kept_name", 400))
            )
        elif claimed:
            problems.append(
                DomainError(
                    "agent.kept_scan_unknown",
                    f"“{item.name}”：此前上传的文件在本节点找不到，请重新选择",
                    field=field,
                )
            )
        elif upload is None and page.form.get(f"m{position}_ok"):
            problems.append(
                DomainError(
                    "agent.scan_missing",
                    f"已勾选收取“{item.name}”，请上传它的扫描件",
                    field=field,
                )
            )
    return scans, problems


def material_inputs(scans: dict[int, Scan]) -> list[dict[str, Any]]:
    """The material inputs of ``file_case``, in the order of the checklist."""
    return [
        {"position": position, "blob_sha256": scan.sha256}
        for position, scan in sorted(scans.items())
    ]


def material_field(
    error_field: str | None, inputs: list[dict[str, Any]], prefix: str
) -> str | None:
    """``materials[k].blob_sha256`` (k-th input) -> the file input of that material
    (``{prefix}{position}_file``: m on the filing form, s on the supplement form)."""
    if error_field and error_field.startswith("materials["):
        index = int(error_field[len("materials[") :].split("]", 1)[0])
        if 0 <= index < len(inputs):
            return f"{prefix}{inputs[index]['position']}_file"
    return None


def form_field(error_field: str | None, inputs: list[dict[str, Any]]) -> str:
    """The form input a refusal of ``file_case`` belongs to ("_": the form as a whole)."""
    if error_field is None:
        return "_"
    if error_field in APPLICANT_FIELDS:
        return APPLICANT_FIELDS[error_field]
    if material := material_field(error_field, inputs, "m"):
        return material
    if error_field.startswith("visit"):
        return "present"
    return error_field if error_field.startswith("m") and error_field.endswith("_file") else "_"


def problems_of_form(
    matter: Matter, applicant: dict[str, Any], commitment: bool, today: date
) -> list[DomainError]:
    """Every problem of the applicant and the 告知承诺 choice, at the form's inputs."""
    problems = filing_problems(matter, applicant=applicant, commitment=commitment, today=today)
    for problem in problems:
        problem.field = form_field(problem.field, [])
    return problems


def _order(matter: Matter) -> list[str]:
    """The form's inputs from top to bottom (a problem of the whole form first)."""
    materials = [f"m{position}_file" for position in range(len(matter.materials))]
    applicant = ["applicant_kind", "applicant_name", "applicant_id", "applicant_phone", "present"]
    return ["_", *applicant, *materials, "commitment"]


def summary(matter: Matter, problems: list[DomainError]) -> list[dict[str, str | None]]:
    """The problems in the order of the form, one per input: the input it links to (none
    for a problem of the form as a whole) and the text, which names the input unless
    the message does already ("联系电话：…", "“申请书”：…")."""
    order = _order(matter)
    named = {
        f"m{p}_file": (f"“{m.name}”扫描件", f"“{m.name}”") for p, m in enumerate(matter.materials)
    }
    named.update({field: (label, label) for field, label in FIELD_LABELS.items()})
    rows: dict[str, dict[str, str | None]] = {}
    for problem in sorted(
        problems, key=lambda p: order.index(p.field) if p.field in order else len(order)
    ):
        field = problem.field or "_"
        if field in rows:
            continue
        label, mention = named.get(field, ("", ""))
        text = problem.message if mention in problem.message else f"{label}：{problem.message}"
        rows[field] = {"field": None if field == "_" else field, "text": text}
    return list(rows.values())


def status_of(problems: list[DomainError]) -> int:
    """One problem's status (413 too large, 415 not a PDF/image, ...), or 400 for a mix."""
    statuses = {problem.status_code for problem in problems}
    return statuses.pop() if len(statuses) == 1 else 400
