"""Request shapes of compensation: programs and their params per kind, claims, reviews."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import InitErrorDetails

from chalicelib.compensation.answers import (  # the answers: routes name them in this module
    CLAIM_STATUSES,
    ClaimEventOut,
    ClaimOut,
    ClaimPage,
    CreditBasis,
    IncomeBasis,
    ProgramCounts,
    ProgramOut,
    SupportBasis,
    VoucherOut,
    VoucherPack,
    VoucherPage,
    WindowOut,
)
from chalicelib.compensation.params import (
    CHANNELS,
    MAX_LOSS_KRW,
    BusinessClaimsParams,
    DriverIncomeParams,
    DriverSupportParams,
    Krw,
    MessageCashParams,
    RiderCreditParams,
    VoucherParams,
)
from chalicelib.compensation.rules import ClaimStatus, ProgramKind
from chalicelib.core.schemas import Input, Moment, PageQuery

__all__ = [  # the answers re-exported, besides the request shapes below
    "ClaimEventOut", "ClaimOut", "ClaimPage", "CreditBasis", "IncomeBasis", "ProgramCounts", "ProgramOut",
    "SupportBasis", "VoucherOut", "VoucherPack", "VoucherPage", "WindowOut",
]

class ProgramHead(Input):
    """What every program body has, whatever its kind (errors name these when `kind` itself is wrong)."""

    name: str = Field(min_length=1, max_length=120)
    incident_id: str = Field(min_length=1, max_length=80)
    kind: ProgramKind
    params: dict[str, Any] = Field(default_factory=dict, description="Depends on `kind`: see API.md.")


class BusinessClaimsProgramIn(ProgramHead):
    kind: Literal[ProgramKind.BUSINESS_CLAIMS]
    params: BusinessClaimsParams = Field(default_factory=dict, validate_default=True)


class DriverIncomeProgramIn(ProgramHead):
    kind: Literal[ProgramKind.DRIVER_INCOME]
    params: DriverIncomeParams = Field(default_factory=dict, validate_default=True)


class DriverSupportProgramIn(ProgramHead):
    kind: Literal[ProgramKind.DRIVER_SUPPORT]
    params: DriverSupportParams = Field(default_factory=dict, validate_default=True)


class RiderCreditProgramIn(ProgramHead):
    kind: Literal[ProgramKind.RIDER_CREDIT]
    params: RiderCreditParams = Field(default_factory=dict, validate_default=True)


class VoucherProgramIn(ProgramHead):
    kind: Literal[ProgramKind.VOUCHER]
    params: VoucherParams = Field(default_factory=dict, validate_default=True)


class MessageCashProgramIn(ProgramHead):
    kind: Literal[ProgramKind.MESSAGE_CASH]
    params: MessageCashParams = Field(default_factory=dict, validate_default=True)


AnyProgram = Annotated[BusinessClaimsProgramIn | DriverIncomeProgramIn | DriverSupportProgramIn | RiderCreditProgramIn
                       | VoucherProgramIn | MessageCashProgramIn, Field(discriminator="kind")]


class ProgramIn(RootModel[AnyProgram]):
    """`{name, incident_id, kind, params}`, `params` validated by `kind` as strictly as the rest of the body.

    Errors name fields as the client wrote them (`params.budget_krw`, `kind`), without the tag pydantic puts
    in front of the fields of a tagged union. `ProgramIn(name=..., kind=..., params={...})` works as for
    any model; the program itself is `.root`.
    """

    model_config = ConfigDict(defer_build=True)

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **options: Any) -> "ProgramIn":
        with _named_as_sent(lambda: ProgramHead.model_validate_json(json_data, **options)):
            return super().model_validate_json(json_data, **options)

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> "ProgramIn":
        with _named_as_sent(lambda: ProgramHead.model_validate(obj, **options)):
            return super().model_validate(obj, **options)


@contextmanager
def _named_as_sent(validate_head: Callable[[], object]) -> Iterator[None]:
    """Re-raise a program's validation errors at the fields the client sent, without the union's tag.

    When `kind` is missing or unknown, the errors are the head's (`kind`, and any other field at fault).
    Not a wrap validator: pydantic would then validate the parsed JSON in Python mode, where strict refuses
    `1.5` as a Decimal.
    """
    try:
        yield
    except ValidationError as exc:
        if any(error["type"].startswith("union_tag") for error in exc.errors()):
            validate_head()
        raise ValidationError.from_exception_data(exc.title, [
            InitErrorDetails(type=error["type"], loc=error["loc"][1:], input=error["input"], ctx=error.get("ctx", {}))
            for error in exc.errors()]) from None


class ExtendIn(Input):
    intake_closes_at: Moment


class ClaimIn(Input):
    business_id: str = Field(min_length=1, max_length=80)
    business_name: str = Field(min_length=1, max_length=120)
    loss_krw: Krw | None = Field(default=None, ge=0, le=MAX_LOSS_KRW)
    channel: Literal[CHANNELS]
    evidence: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("evidence")
    @classmethod
    def evidence_references(cls, evidence: list[str]) -> list[str]:
        if any(not ref.strip() or len(ref) > 500 for ref in evidence):
            raise ValueError("each evidence reference is 1 to 500 characters")
        return evidence


class DocumentsIn(Input):
    evidence: list[str] = Field(min_length=1, max_length=20)

    @field_validator("evidence")
    @classmethod
    def evidence_references(cls, evidence: list[str]) -> list[str]:
        return ClaimIn.evidence_references(evidence)


class ReviewIn(Input):
    decision: Literal["approve", "reject", "request_documents"]
    amount_krw: Krw | None = Field(default=None, gt=0, le=MAX_LOSS_KRW)
    reason: str | None = Field(default=None, min_length=1, max_length=2000, validate_default=True)

    @field_validator("reason")
    @classmethod
    def reason_when_refusing(cls, reason: str | None, info: ValidationInfo) -> str | None:
        decision = info.data.get("decision")
        if decision in ("reject", "request_documents") and not reason:
            raise ValueError(f"required to {decision.replace('_', ' ')}")
        return reason


class ClaimListQuery(PageQuery):
    status: Literal[CLAIM_STATUSES] = ClaimStatus.SUBMITTED.value
