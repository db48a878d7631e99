"""The check vocabulary: the kinds of check a catalogue row may name, and the parameters of each.

A row of checks/failure_modes.yaml with `kind: custom` (the default) has its own implementation
(`@implements`); any other kind is implemented once, in checks/kinds.py, and the row gives only
its parameters. Parameters are validated when the catalogue loads, naming the check and the key.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from checks.settings import Deviation

_NAME = r"^[a-z][a-z0-9_]*$"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    THRESHOLDS: ClassVar[type[BaseModel] | None] = None  # what `thresholds` must point at


class DeviationParams(_Params):
    """A daily column of the check's model vs its same-weekday baseline (checks/anomaly.py), beyond
    the business floor of `thresholds` (a `Deviation` of config/checks.yaml, e.g. profit.profit_deviation)."""

    day_column: str = Field(pattern=_NAME)
    column: str = Field(pattern=_NAME)
    label: str = Field(min_length=1)
    thresholds: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)+$")
    THRESHOLDS: ClassVar[type[BaseModel] | None] = Deviation


class UniqueParams(_Params):
    """No two rows of the check's model share `key`: per day of `day_column`, the rows whose key is
    repeated within the day (`scope: day`) or anywhere in the model (`scope: model`)."""

    key: str = Field(pattern=_NAME)
    day_column: str = Field(pattern=_NAME)
    scope: Literal["day", "model"] = "day"


KIND_PARAMS: dict[str, type[_Params]] = {"deviation": DeviationParams, "unique": UniqueParams}
CUSTOM = "custom"
