"""Blobs API: upload a material file, fetch one back. Staff only; a department reviewer
fetches only the materials of cases it may read (``common.authority.reading``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Path, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from common.api.deps import CurrentUser, NodeDep, SessionDep, only
from common.authority.reading import require_blob_reader
from common.blobs import service, store
from common.users.roles import Role, require_role

router = APIRouter(prefix="/api/v1/blobs", tags=["blobs"])

STAFF_ROLES = tuple(Role)  # every role is a staff role; residents have no accounts

Sha256Path = Annotated[
    str, Path(pattern=r"^[0-9a-f]{64}$", description="文件内容的SHA-256（小写十六进制）")
]


class BlobOut(BaseModel):
    sha256: str = Field(description="内容的SHA-256，申请材料以此引用文件")
    size: int = Field(description="字节数")
    media_type: str = Field(description="按文件内容识别的类型")


@router.post(
    "",
    response_model=BlobOut,
    status_code=201,
    responses={413: {"description": "文件超过大小上限"}, 415: {"description": "文件类型不被接受"}},
    **only(*STAFF_ROLES),
)
def upload_blob(
    file: Annotated[UploadFile, File(description="PDF、OFD、JPEG或PNG文件，不超过10MB")],
    actor: CurrentUser,
    session: SessionDep,
    node: NodeDep,
) -> BlobOut:
    require_role(actor, *STAFF_ROLES)
    # A plain function, so the database work runs in the thread pool, never on the event
    # loop. Read one byte past the limit: enough to refuse, never the whole of a huge upload.
    data = file.file.read(store.MAX_BLOB_BYTES + 1)
    row = service.store_blob(session, node, data, file.filename)
    return BlobOut(sha256=row.sha256, size=row.size, media_type=row.media_type)


@router.get(
    "/{sha256}",
    response_class=Response,
    responses={200: {"content": {t: {} for t in store.ACCEPTED_TYPES}, "description": "文件内容"}},
)
def download_blob(
    sha256: Sha256Path, actor: CurrentUser, session: SessionDep, node: NodeDep
) -> Response:
    require_role(actor, *STAFF_ROLES)
    require_blob_reader(session, node, actor, sha256)
    content = service.open_blob(session, node, sha256)
    return Response(
        content.data,
        media_type=content.blob.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(store.download_name(content.blob.original_name, content.blob.media_type))}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=86400, immutable",  # content-addressed: never changes
            "ETag": f'"{sha256}"',
        },
    )
