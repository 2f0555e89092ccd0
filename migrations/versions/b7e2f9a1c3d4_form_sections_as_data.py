"""form sections as data: sections, fields, rules, frozen versions; the built-in sections seeded

Revision ID: b7e2f9a1c3d4
Revises: f3a1c2d4e5b6
Create Date: 2026-12-07 10:40:00

The eleven sections that were written in app/services/sections.py become rows (same codes and
keys, so stored answers, flags, exports and county files keep working), each published as
version 1 exactly as app/seed/form_sections.json gives it.
"""
import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "b7e2f9a1c3d4"
down_revision = "f3a1c2d4e5b6"
branch_labels = None
depends_on = None

SEED = Path(__file__).resolve().parents[2] / "app" / "seed" / "form_sections.json"
_OLD_SECTIONS = ("basic", "guardians", "household", "property", "residence_permit", "employment", "business",
                 "preferential", "resettlement", "long_residence", "sibling")


def upgrade():
    section = op.create_table(
        "form_section",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("title_zh", sa.String(length=100), nullable=False),
        sa.Column("title_en", sa.String(length=100), nullable=False),
        sa.Column("help_zh", sa.Text(), nullable=False),
        sa.Column("help_en", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("show_if", sa.String(length=70), nullable=False),
        sa.Column("show_values", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('fields', 'guardians')", name="ck_form_section_kind"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    field = op.create_table(
        "form_field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("label_zh", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("hint_zh", sa.String(length=255), nullable=False),
        sa.Column("hint_en", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("max_len", sa.Integer(), nullable=False),
        sa.Column("choices", sa.Text(), nullable=False),
        sa.Column("show_if", sa.String(length=32), nullable=False),
        sa.Column("show_values", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('text', 'long_text', 'name', 'date', 'int', 'yes_no', 'choice', 'id', 'phone', 'address')",
                           name="ck_form_field_kind"),
        sa.ForeignKeyConstraint(["section_id"], ["form_section.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("section_id", "key", name="uq_form_field_key"),
    )
    op.create_index("ix_form_field_section_id", "form_field", ["section_id"])
    rule = op.create_table(
        "field_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("value2", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("message_zh", sa.String(length=255), nullable=False),
        sa.Column("message_en", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('length', 'pattern', 'min', 'max', 'on_or_before', 'on_or_after', 'months_in_window', "
                           "'matches_guardian', 'differs_from')", name="ck_field_rule_kind"),
        sa.ForeignKeyConstraint(["field_id"], ["form_field.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_field_rule_field_id", "field_rule", ["field_id"])
    version = op.create_table(
        "form_section_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_code", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("section_code", "version", name="uq_form_section_version"),
    )
    op.create_index("ix_form_section_version_section_code", "form_section_version", ["section_code"])
    _seed(section, field, rule, version)
    with op.batch_alter_table("channel_section") as batch:
        batch.drop_constraint("ck_channel_section", type_="check")
        batch.create_foreign_key("fk_channel_section_form_section", "form_section", ["section"], ["code"], onupdate="CASCADE")
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("section_versions", sa.JSON(), nullable=True))


def _seed(section, field, rule, version):
    connection = op.get_bind()
    now = dt.datetime.now().replace(microsecond=0)
    for position, doc in enumerate(json.loads(SEED.read_text(encoding="utf-8")), 1):
        section_id = connection.execute(section.insert().values(
            code=doc["code"], title_zh=doc["title_zh"], title_en=doc["title_en"], help_zh=doc["help_zh"], help_en=doc["help_en"],
            kind=doc["kind"], show_if=doc["show_if"], show_values=doc["show_values"], position=position, version=1,
        ).returning(section.c.id)).scalar_one()
        for n, f in enumerate(doc["fields"], 1):
            field_id = connection.execute(field.insert().values(
                section_id=section_id, key=f["key"], label_zh=f["label_zh"], label_en=f["label_en"], hint_zh=f["hint_zh"],
                hint_en=f["hint_en"], kind=f["kind"], required=f["required"], max_len=f["max_len"],
                choices="\n".join("|".join(c) for c in f["choices"]), show_if=f["show_if"], show_values=f["show_values"], position=n,
            ).returning(field.c.id)).scalar_one()
            for i, r in enumerate(f["rules"], 1):
                connection.execute(rule.insert().values(field_id=field_id, position=i, **r))
        connection.execute(version.insert().values(section_code=doc["code"], version=1, definition={**doc, "version": 1}, created_at=now))


def downgrade():
    with op.batch_alter_table("application") as batch:
        batch.drop_column("section_versions")
    with op.batch_alter_table("channel_section") as batch:
        batch.drop_constraint("fk_channel_section_form_section", type_="foreignkey")
        batch.create_check_constraint("ck_channel_section", "section IN (%s)" % ", ".join(repr(s) for s in _OLD_SECTIONS))
    op.drop_table("form_section_version")
    op.drop_table("field_rule")
    op.drop_table("form_field")
    op.drop_table("form_section")
