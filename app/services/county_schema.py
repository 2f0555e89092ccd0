"""What a county set-up file holds: its tables, columns, natural keys and references.

One description serves JSON and Excel, import and export: a column is written here once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from app import models as m
from app.services import allocation_settings, workflow
from app.labels import COLUMNS

FORMAT = "ruxue-county/1"


@dataclass(frozen=True)
class Col:
    key: str  # JSON key; also the model attribute unless ``ref`` is set
    kind: str  # str, text, int, bool, date, datetime, enum, ref
    required: bool = False
    choices: tuple[str, ...] = ()
    ref: str = ""  # table the value names by its natural key
    ref_with: tuple[str, ...] = ()  # other columns of this row that complete a composite key
    attr: str = ""  # relationship attribute on the model, for refs
    minimum: int | None = None
    default: object = None
    label: object = None
    labels: str = ""  # key in app.labels.CHOICES: enum values may also be written as labels
    path: str = ""  # read-only: a dotted path the value is derived from on export
    check: object = None  # a service rule the value must pass (raises UserError)


    @property
    def header(self):
        return self.label or COLUMNS.get(self.key, self.key)


@dataclass(frozen=True)
class Table:
    name: str
    label: object
    model: type
    key: tuple[str, ...]
    columns: tuple[Col, ...] = field(default_factory=tuple)

    def col(self, key: str) -> Col:
        return next(c for c in self.columns if c.key == key)


def _ref(key, table, attr, label=None, ref_with=()):
    return Col(key, "ref", True, ref=table, attr=attr, label=label, ref_with=ref_with)


TABLES: tuple[Table, ...] = (
    Table("districts", _l("Districts"), m.District, ("code",), (
        Col("code", "str", True),
        Col("name", "str", True),
    )),
    Table("streets", _l("Streets"), m.Street, ("code",), (
        Col("code", "str", True),
        _ref("district", "districts", "district"),
        Col("name", "str", True),
    )),
    Table("communities", _l("Communities"), m.Community, ("code",), (
        Col("code", "str", True),
        _ref("street", "streets", "street"),
        Col("name", "str", True),
    )),
    Table("schools", _l("Schools"), m.School, ("code",), (
        Col("code", "str", True),
        _ref("district", "districts", "district"),
        Col("name", "str", True),
        Col("stage", "enum", True, choices=m.STAGES, labels="stage"),
        Col("ownership", "enum", True, choices=m.OWNERSHIPS, labels="ownership"),
        Col("address", "str", default=""),
        Col("phones", "str", default=""),
        Col("seats", "int", True, minimum=0),
        Col("accepts_underage", "bool", default=False),
        Col("underage_birth_cutoff", "date"),
        Col("accepts_transfer", "bool", default=True),
        Col("description", "text", default=""),
    )),
    Table("school_neighbours", _l("Neighbour schools"), m.SchoolNeighbour, ("school", "neighbour"), (
        _ref("school", "schools", "school"),
        _ref("neighbour", "schools", "neighbour"),
        Col("rank", "int", True, minimum=1),
    )),
    Table("grade_seats", _l("Seats per grade"), m.SchoolGradeSeats, ("school", "grade"), (
        _ref("school", "schools", "school"),
        Col("grade", "int", True, minimum=1),
        Col("seats", "int", True, minimum=0),
    )),
    Table("catchments", _l("Catchments"), m.Catchment, ("school", "community"), (
        _ref("school", "schools", "school"),
        _ref("community", "communities", "community"),
        Col("kind", "enum", True, choices=m.CATCHMENT_KINDS, labels="kind_catchment"),
    )),
    Table("material_types", _l("Material types"), m.MaterialType, ("code",), (
        Col("code", "str", True),
        Col("name", "str", True),
        Col("description", "text", default=""),
        Col("example_url", "str", default=""),
        Col("accepted_kinds", "str", default="jpeg,png,pdf"),
        Col("max_size_kb", "int", minimum=1, default=5120),
    )),
    Table("periods", _l("Enrollment periods"), m.EnrollmentPeriod, ("code",), (
        Col("code", "str", True),
        Col("name", "str", True),
        Col("year", "int", True, minimum=2000),
        Col("stage", "enum", True, choices=m.PERIOD_STAGES, labels="stage"),
        Col("grade", "int", True, minimum=1),
        Col("grade_to", "int", minimum=1),
        Col("entry_kind", "enum", True, choices=m.ENTRY_KINDS, labels="entry_kind"),
        Col("ownership", "enum", choices=m.OWNERSHIPS, default="public", labels="ownership"),
        Col("opens_at", "datetime", True),
        Col("closes_at", "datetime", True),
        Col("review_starts_at", "datetime"),
        Col("review_ends_at", "datetime"),
        Col("birth_from", "date"),
        Col("birth_to", "date"),
        Col("choice_count", "int", minimum=1, default=1),
        Col("withdrawal_limit", "int", minimum=0, default=0),
        Col("edit_until_close", "bool", default=True),
        Col("submit_wait_seconds", "int", minimum=0, default=0),
        Col("allocation_mechanism", "enum", choices=("first_choice_first", "deferred_acceptance"), default="first_choice_first", labels="mechanism"),
        Col("priority_keys", "str", default="channel,birth,lottery", check=allocation_settings.normalized_keys),
        Col("preview_allocation", "bool", default=False),
        Col("child_lookup", "bool", default=False),
        Col("description", "text", default=""),
        Col("status_words", "text", default="", check=workflow.checked_status_words),
    )),
    Table("channels", _l("Channels"), m.Channel, ("period", "code"), (
        _ref("period", "periods", "period"),
        Col("code", "str", True),
        Col("name", "str", True),
        Col("priority", "int", True, minimum=1),
        Col("conditions", "text", default=""),
        Col("verifiable", "bool", default=False),
        Col("requires_catchment", "bool", default=True),
        Col("description", "text", default=""),
    )),
    Table("channel_materials", _l("Channel materials"), m.ChannelMaterial, ("period", "channel", "material"), (
        Col("period", "str", True, path="channel.period.code"),
        _ref("channel", "channels", "channel", ref_with=("period",)),
        _ref("material", "material_types", "material_type", label=COLUMNS["material_type"]),
        Col("required", "bool", default=True),
        Col("show_if", "str", default=""),
        Col("show_values", "str", default=""),
        Col("waived_if_verified", "str", default="", label=_l("No upload once the records confirm section")),
        Col("position", "int", minimum=1, default=1),
    )),
    Table("form_sections", _l("Form sections"), m.FormSection, ("code",), (
        Col("code", "str", True),
        Col("title_zh", "str", True),
        Col("title_en", "str", default=""),
        Col("help_zh", "text", default=""),
        Col("help_en", "text", default=""),
        Col("kind", "enum", choices=m.SECTION_KINDS, default="fields", labels="section_kind"),
        Col("show_if", "str", default=""),
        Col("show_values", "str", default=""),
        Col("position", "int", minimum=1, default=1),
    )),
    Table("form_fields", _l("Form fields"), m.FormField, ("section", "key"), (
        _ref("section", "form_sections", "section"),
        Col("key", "str", True),
        Col("label_zh", "str", True),
        Col("label_en", "str", default=""),
        Col("hint_zh", "str", default=""),
        Col("hint_en", "str", default=""),
        Col("kind", "enum", True, choices=m.FIELD_KINDS, labels="field_kind"),
        Col("required", "bool", default=True),
        Col("max_len", "int", minimum=1, default=100),
        Col("choices", "text", default="", label=_l("Options (value|中文|English per line)")),
        Col("show_if", "str", default=""),
        Col("show_values", "str", default=""),
        Col("position", "int", minimum=1, default=1),
    )),
    Table("field_rules", _l("Field rules"), m.FieldRule, ("section", "field", "position"), (
        Col("section", "str", True, path="field.section.code"),
        _ref("field", "form_fields", "field", ref_with=("section",)),
        Col("position", "int", True, minimum=1),
        Col("kind", "enum", True, choices=m.RULE_KINDS, labels="rule_kind"),
        Col("value", "str", default=""),
        Col("value2", "str", default=""),
        Col("number", "int", label=_l("Number")),
        Col("message_zh", "str", default=""),
        Col("message_en", "str", default=""),
    )),
    Table("channel_sections", _l("Channel form sections"), m.ChannelSection, ("period", "channel", "section"), (
        Col("period", "str", True, path="channel.period.code"),
        _ref("channel", "channels", "channel", ref_with=("period",)),
        _ref("section", "form_sections", "form_section"),
        Col("skippable", "bool", default=False),
        Col("position", "int", minimum=1, default=1),
    )),
    Table("category_rules", _l("Category rules"), m.CategoryRule, ("period", "code"), (
        _ref("period", "periods", "period"),
        Col("code", "str", True),
        Col("name_zh", "str", True),
        Col("name_en", "str", default=""),
        Col("rank", "int", True, minimum=1, label=_l("Allocation rank")),
        Col("position", "int", minimum=1, default=1),
        Col("conditions", "text", default="", label=_l("Conditions (one per line, all must hold)")),
    )),
    Table("notices", _l("Notices"), m.Notice, ("code",), (
        Col("code", "str", True),
        Col("kind", "enum", True, choices=m.NOTICE_KINDS, labels="kind_notice"),
        Col("title", "str", True),
        Col("body", "text", default=""),
        Col("version", "int", minimum=1, default=1),
        Col("position", "int", minimum=1, default=1),
        Col("published", "bool", default=True),
        Col("wait_seconds", "int", minimum=0, default=0),
        Col("button_label", "str", default=""),
    )),
)
TABLE_BY_NAME = {t.name: t for t in TABLES}


def cell_value(col: Col, obj):
    """A stored row's value for one column, as the file writes it (refs by natural key)."""
    if col.kind == "ref":
        target = getattr(obj, col.attr)
        return natural_key(TABLE_BY_NAME[col.ref], target)[-1]
    if col.path:
        value = obj
        for part in col.path.split("."):
            value = getattr(value, part)
        return value
    return getattr(obj, col.key)


def natural_key(table: Table, obj) -> tuple:
    return tuple(cell_value(table.col(key), obj) for key in table.key)


def column_minimums(model: type) -> dict[str, int]:
    """Lower bounds of a model's whole-number columns, for form and API validators."""
    return {
        col.key: col.minimum
        for table in TABLES
        if table.model is model
        for col in table.columns
        if col.kind == "int" and col.minimum is not None
    }
