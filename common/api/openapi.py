"""The error answers every API operation may give, declared once for the OpenAPI document.

Any endpoint can answer these: 401 from the credentials, 403 from the authority policy,
404 and 409 from the action functions, 413 from the body limit, 422 from validation,
429 from a throttle — all in the one error shape of ``common.errors``. A router's own
``responses`` say more precisely what a code means for its operations.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorOut(BaseModel):
    code: str
    message: str
    field: str | None = None


class ProblemOut(BaseModel):
    field: str | None
    message: str
    type: str | None = None


class ValidationErrorOut(ErrorOut):
    problems: list[ProblemOut]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "请求不符合业务规则（code、message、field）"},
    401: {"model": ErrorOut, "description": "未登录、令牌无效或节点签名不符"},
    403: {"model": ErrorOut, "description": "无权办理"},
    404: {"model": ErrorOut, "description": "所查记录不存在"},
    409: {"model": ErrorOut, "description": "与当前状态冲突"},
    413: {"model": ErrorOut, "description": "请求内容过大"},
    422: {"model": ValidationErrorOut, "description": "请求内容不符合要求（逐项列出）"},
    429: {"model": ErrorOut, "description": "过于频繁：请按 Retry-After 的秒数后再试"},
}


# For an operation that any caller may use and a signed-in one sees more of (OpenAPI's
# empty requirement makes the bearer token optional).
OPTIONAL_BEARER: dict[str, Any] = {"security": [{}, {"HTTPBearer": []}]}
