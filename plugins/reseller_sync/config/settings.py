"""A reseller instance's settings: one YAML file per organiser and reseller, validated whole.

The file (``include/config/resellers/<code>.yaml``) says which box-office
entities stand for the reseller (channel, point of sale, quota, paying contact),
the products on sale there and the tariffs offered, the price policy and who is
told when a synchronisation fails. :class:`InstanceSettings` holds those keys;
each adapter's model adds what its partner gave at set-up (codes, SFTP access).
Secrets never live here: they belong in the Airflow connection.

Loading reads one small file and never touches the database: the list of
products drives DAG generation at parse time.
"""

from __future__ import annotations

import difflib
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self, TypeVar, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from reseller_sync.config.paths import settings_path
from reseller_sync.config.yamlfile import (
    KeyPath,
    YamlDocument,
    YamlFileError,
    format_key_path,
    read_yaml,
)
from reseller_sync.domain.errors import ConfigurationError, Problem
from reseller_sync.domain.texts import Localized

SECRET_KEY_WORDS = ("password", "passwd", "passphrase", "private_key", "secret", "token", "api_key")
"""A settings key containing one of these words holds a secret: refused."""

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_CONNECTION_ID = re.compile(r"[A-Za-z0-9_.\-]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DISPLAY_NAME = re.compile(r"[^\W_](?:[\w .&'’+-]*[^\W_])?")
DISPLAY_NAME_MAX = 40


class PricePolicy(StrEnum):
    STRICT = "strict"
    """A reseller's price that differs from the box office's refuses the whole file or call."""
    WARN = "warn"
    """The reseller's price is integrated and the difference is reported."""
    ACCEPT = "accept"
    """The reseller's price is integrated silently."""


class Language(StrEnum):
    FR = "fr"
    EN = "en"


def _code(value: str) -> str:
    if not _CODE.fullmatch(value) or len(value) > 32:
        raise ValueError(
            "expected a box-office code: up to 32 letters, digits, '-', '_' or '.', e.g. Q-RESALE"
        )
    return value


def _connection_id(value: str) -> str:
    if not _CONNECTION_ID.fullmatch(value):
        raise ValueError("expected an Airflow connection id: letters, digits, '_', '-' or '.'")
    return value


def _remote_dir(value: str) -> str:
    if not (value.startswith("/") and value.endswith("/")) or "/../" in value or "//" in value:
        raise ValueError("expected an absolute folder on the SFTP server ending with '/'")
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("expected an e-mail address, e.g. billetterie@example.org")
    return value


def _display_name(value: str) -> str:
    if len(value) > DISPLAY_NAME_MAX or not _DISPLAY_NAME.fullmatch(value):
        raise ValueError(
            f"expected the reseller's name as people know it: up to {DISPLAY_NAME_MAX} letters, "
            "digits, spaces or - . & ' +, starting and ending with a letter or digit, "
            "e.g. Billetterie Partenaire"
        )
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone name, e.g. Europe/Paris") from None
    return value


def _no_duplicates(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise ValueError(f"{what} listed more than once: {', '.join(repeated)}")
    return values


Code = Annotated[str, AfterValidator(_code)]
ConnectionId = Annotated[str, AfterValidator(_connection_id)]
RemoteDir = Annotated[str, AfterValidator(_remote_dir)]
Email = Annotated[str, AfterValidator(_email)]
Timezone = Annotated[str, AfterValidator(_timezone)]
DisplayName = Annotated[str, AfterValidator(_display_name)]


class Section(BaseModel):
    """A group of settings keys: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ResellerSettings(Section):
    """How the reseller is named to people: alert subjects, actions, report e-mails."""

    display_name: DisplayName | None = Field(
        None,
        description="the reseller's name in e-mails (subject prefix, what to do); "
        "its type's name when absent",
    )


class SftpSettings(Section):
    """A file reseller's SFTP server: the Airflow connection (host, user, key) and the folders."""

    connection_id: ConnectionId = Field(
        description="the Airflow connection holding host, login and key"
    )
    outbox_dir: RemoteDir = Field(description="where the organiser drops its files")
    processed_dir: RemoteDir = Field(
        description="where the reseller moves the files it has picked up"
    )
    inbox_dir: RemoteDir = Field(description="where the reseller drops its files")


class BoxOfficeSettings(Section):
    """The box-office entities that stand for the reseller."""

    channel: Code = Field(description="the reseller's sales channel code")
    point_of_sale: Code = Field(description="the point of sale the reseller's sales are booked at")
    quota: Code = Field(
        description="the code of the reseller's quota (contingent) on each performance"
    )
    paying_contact: Code = Field(
        description="the contact whose pending account the reseller's sales debit"
    )
    venue_timezone: Timezone = Field(
        "Europe/Paris", description="time zone of a venue that names none"
    )


class PriceSettings(Section):
    policy: PricePolicy = Field(
        PricePolicy.STRICT, description="what to do when the reseller's price differs from ours"
    )
    includes_commission: StrictBool = Field(
        description="true when the box-office price already includes the reseller's commission"
    )


class NotificationSettings(Section):
    language: Language = Field(Language.FR, description="language of messages: fr or en")
    error_emails: tuple[Email, ...] = Field(
        min_length=1, description="addresses told when a synchronisation fails"
    )


class ProductSettings(Section):
    """A product on sale at the reseller; written as its code alone or as a mapping."""

    code: Code = Field(description="the box-office product code")
    tariffs_offered: tuple[Code, ...] | None = Field(
        None, min_length=1, description="tariffs offered at the reseller for this product"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_code(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {"code": value}

    @field_validator("tariffs_offered")
    @classmethod
    def _distinct_tariffs(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else _no_duplicates(value, "tariff")


class NightlySettings(Section):
    """Parameters of the nightly maintenance; null disables a step."""

    withdraw_unsold_days_before_performance: StrictInt | None = Field(
        None, ge=0, description="days before a performance to withdraw the reseller's unsold places"
    )


class InstanceSettings(Section):
    """What every reseller instance's settings hold; an adapter's model adds its own keys.

    ``reseller_code`` names the reseller type the model is for (set by each adapter's model).
    """

    reseller_code: ClassVar[str] = ""
    connection_id_default: ClassVar[str | None] = None
    """The Airflow connection a secret found in the file belongs to, unless the file names one."""

    reseller: ResellerSettings = Field(default_factory=ResellerSettings)  # type: ignore[arg-type]
    boxoffice: BoxOfficeSettings
    prices: PriceSettings
    notifications: NotificationSettings
    tariffs_offered: tuple[Code, ...] = Field(
        min_length=1, description="tariffs offered at the reseller unless a product says otherwise"
    )
    products: tuple[ProductSettings, ...] = Field(
        (), description="the products on sale at the reseller"
    )
    nightly: NightlySettings = Field(default_factory=NightlySettings)  # type: ignore[arg-type]

    _source: Path | None = PrivateAttr(None)

    @field_validator("tariffs_offered")
    @classmethod
    def _distinct_tariffs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _no_duplicates(value, "tariff")

    @field_validator("products")
    @classmethod
    def _distinct_products(cls, value: tuple[ProductSettings, ...]) -> tuple[ProductSettings, ...]:
        _no_duplicates(tuple(product.code for product in value), "product")
        return value

    @model_validator(mode="after")
    def _named(self) -> Self:
        """``reseller.display_name`` defaults to the type's name, once, at loading."""
        if self.reseller.display_name is None and self.reseller_code:
            from reseller_sync.core.resellers import reseller_type

            named = self.reseller.model_copy(
                update={"display_name": reseller_type(self.reseller_code).name}
            )
            object.__setattr__(self, "reseller", named)
        return self

    @property
    def display_name(self) -> str:
        """How alerts and pages name the reseller: the setting, else its type's name."""
        return self.reseller.display_name or self.reseller_code

    @property
    def organiser_reference(self) -> str | None:
        """How the reseller knows the organiser (a code it gave at set-up), shown in reports;
        None when it gives none. An adapter's model returns its own key."""
        return None

    @property
    def source(self) -> Path | None:
        """The file the settings were loaded from, when they were."""
        return self._source

    @property
    def product_codes(self) -> tuple[str, ...]:
        return tuple(product.code for product in self.products)

    def product(self, code: str) -> ProductSettings | None:
        return next((product for product in self.products if product.code == code), None)

    def tariffs_offered_for(self, product_code: str) -> tuple[str, ...]:
        """The tariffs offered at the reseller for a product: its own list, else the instance's."""
        product = self.product(product_code)
        if product is not None and product.tariffs_offered is not None:
            return product.tariffs_offered
        return self.tariffs_offered

    def with_source(self, path: Path) -> Self:
        self._source = path
        return self


Settings = TypeVar("Settings", bound=InstanceSettings)


def load_instance_settings(model: type[Settings], path: Path | str | None = None) -> Settings:
    """Read and validate a settings file with ``model``; raise ConfigurationError naming every
    problem.

    ``path`` defaults to the model's instance, ``<include>/config/resellers/<code>.yaml`` (see
    :mod:`reseller_sync.config.paths`).
    """
    path = Path(path) if path is not None else settings_path(model.reseller_code)
    try:
        document = read_yaml(path)
    except YamlFileError as error:
        raise ConfigurationError(
            f"The {_reseller_name(model)} settings file {error.problem.file} cannot be read",
            problems=[error.problem],
            file=error.problem.file,
            action=_fix_action(error.problem.file),
        ) from error
    data = document.typed_data()
    problems = [
        Problem("key written twice", document.shown_path, line, format_key_path(key_path))
        for key_path, line in document.duplicates
    ]
    if not isinstance(data, dict):
        problems.append(Problem("expected a mapping of settings keys", document.shown_path, 1))
        raise _settings_error(model, document, problems)
    data, secret_problems = _without_secrets(model, document, data)
    problems.extend(secret_problems)
    settings: Settings | None = None
    try:
        settings = model.model_validate(data)
    except ValidationError as error:
        details = error.errors()
        failed_items = {detail["loc"][:-1] for detail in details if detail["type"] != "too_short"}
        problems.extend(
            _problem(model, document, detail)
            for detail in details
            # A list whose only items are wrong is not also "too short".
            if not (detail["type"] == "too_short" and detail["loc"] in failed_items)
        )
    if problems or settings is None:
        raise _settings_error(model, document, problems)
    return settings.with_source(path)


def _reseller_name(model: type[InstanceSettings]) -> str:
    from reseller_sync.core.resellers import reseller_type

    return reseller_type(model.reseller_code).name


def _fix_action(file: str | None) -> Localized:
    return Localized(
        fr=f"Corrigez {file}, puis relancez la tâche en échec (Clear).",
        en=f"Fix {file}, then clear the failed task.",
    )


def _settings_error(
    model: type[InstanceSettings], document: YamlDocument, problems: list[Problem]
) -> ConfigurationError:
    problems.sort(key=lambda problem: (problem.line or 0, problem.column or ""))
    count = len(problems)
    return ConfigurationError(
        f"The {_reseller_name(model)} settings file {document.shown_path} has {count} "
        f"problem{'s' if count > 1 else ''}",
        problems=problems,
        file=document.shown_path,
        action=_fix_action(document.shown_path),
    )


def _without_secrets(
    model: type[InstanceSettings], document: YamlDocument, data: dict[str, Any]
) -> tuple[dict[str, Any], list[Problem]]:
    """Drop keys that hold secrets, with a problem saying where they belong instead."""
    named = [
        section["connection_id"]
        for section in data.values()
        if isinstance(section, dict) and isinstance(section.get("connection_id"), str)
    ]
    connection_id = named[0] if named else model.connection_id_default
    connection = (
        f"the Airflow connection '{connection_id}'" if connection_id else "its Airflow connection"
    )
    problems: list[Problem] = []

    def strip(value: Any, key_path: KeyPath) -> Any:
        if isinstance(value, dict):
            kept = {}
            for key, item in value.items():
                child = (*key_path, str(key))
                if any(word in str(key).lower() for word in SECRET_KEY_WORDS):
                    problems.append(
                        Problem(
                            "secrets never go in the settings file (it is kept in git): "
                            f"put it in {connection} "
                            "(password field, or private_key in its extra) and remove this key",
                            document.shown_path,
                            document.line_of(child),
                            format_key_path(child),
                        )
                    )
                else:
                    kept[key] = strip(item, child)
            return kept
        if isinstance(value, list):
            return [strip(item, (*key_path, index)) for index, item in enumerate(value)]
        return value

    return strip(data, ()), problems


def _problem(model: type[InstanceSettings], document: YamlDocument, detail: Any) -> Problem:
    key_path: KeyPath = tuple(part for part in detail["loc"] if isinstance(part, str | int))
    value = detail.get("input")
    shown_value = (
        None
        if detail["type"] in {"missing", "extra_forbidden"} or isinstance(value, dict | list)
        else str(value)
    )
    return Problem(
        _reason(model, key_path, detail),
        document.shown_path,
        document.line_of(key_path),
        format_key_path(key_path),
        shown_value,
    )


def _reason(model: type[InstanceSettings], key_path: KeyPath, detail: Any) -> str:
    kind = detail["type"]
    value = detail.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, key_path[:-1])
        close = difflib.get_close_matches(str(key_path[-1]), allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown key{hint} (allowed here: {', '.join(allowed)})"
    if kind == "missing":
        description = _description(model, key_path)
        return f"required key is missing{f': {description}' if description else ''}"
    if kind == "value_error":
        return str(detail["ctx"]["error"])
    if kind in {"literal_error", "enum"}:
        return f"expected one of {detail['ctx']['expected']}"
    if kind == "string_type":
        hint = "; write it in quotes" if isinstance(value, int | float) else ""
        return f"expected text{hint}"
    if kind == "bool_type":
        return "expected true or false"
    if kind in {"int_type", "int_from_float"}:
        return "expected a whole number, or null to disable"
    if kind in {"tuple_type", "list_type"}:
        return "expected a list"
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return "expected a mapping of keys"
    if kind == "too_short":
        return "expected at least one item"
    return str(detail["msg"])


def _model_at(root: type[InstanceSettings], key_path: KeyPath) -> type[BaseModel] | None:
    """The settings model that holds the keys at ``key_path``."""
    model: type[BaseModel] = root
    annotation: Any = model
    for part in key_path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        while not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            arguments = [arg for arg in get_args(annotation) if arg is not Ellipsis]
            if get_origin(annotation) is None or not arguments:
                return None
            annotation = arguments[0]
        model = annotation
    return model


def _allowed_keys(root: type[InstanceSettings], key_path: KeyPath) -> list[str]:
    model = _model_at(root, key_path)
    return sorted(model.model_fields) if model is not None else []


def _description(root: type[InstanceSettings], key_path: KeyPath) -> str | None:
    model = _model_at(root, key_path[:-1])
    if model is None or not isinstance(key_path[-1], str):
        return None
    field = model.model_fields.get(key_path[-1])
    return field.description if field is not None else None
