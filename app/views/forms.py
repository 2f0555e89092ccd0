"""Form sections, their fields and rules, edited by county IT; each saved change is published."""
from __future__ import annotations

from flask import abort, current_app, g, request
from flask_appbuilder import expose, has_access
from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField

from app import security
from app.models import FieldRule, FormField, FormSection, FormSectionVersion
from app.services import forms
from app.services.applications import communities_by_street
from app.services.clock import local_now
from app.services.sections import GUARDIAN_SLOTS, SectionError, clean_section, from_definition
from app.views.base import ReadOnlyModelView, RuxueInterface, RuxueModelRestApi, RuxueModelView, refused_by


class PublishesSection:
    """After a section, field or rule is saved or deleted, the section is checked by the rule
    engine (before the write: a section that could not be applied is refused with its message)
    and published as a new version (after it)."""

    def _section_of(self, item):
        if isinstance(item, FormSection):
            return item
        if isinstance(item, FormField):
            return item.section
        return item.field.section if item.field is not None else None

    def pre_add(self, item):
        super().pre_add(item)
        self._check(item)

    def pre_update(self, item):
        super().pre_update(item)
        self._check(item)

    def _check(self, item):
        # a new field or rule joins its parent's list, so the section is checked as it will be
        if isinstance(item, FormField) and item.section is not None and item not in item.section.fields:
            item.section.fields.append(item)
        if isinstance(item, FieldRule) and item.field is not None and item not in item.field.rules:
            item.field.rules.append(item)
        refused_by(self.datamodel.session, forms.refuse_renamed, item)
        refused_by(self.datamodel.session, forms.refuse_problems, self._section_of(item))

    def post_add(self, item):
        self._publish(item)

    def post_update(self, item):
        self._publish(item)

    def pre_delete(self, item):
        if isinstance(item, FormField):
            forms.refuse_removal(item)
        if isinstance(item, FormSection):
            forms.refuse_section_removal(self.datamodel.session, item)
        g.ruxue_deleted_from = None if isinstance(item, FormSection) else self._section_of(item)  # per request

    def post_delete(self, item):
        self._publish(g.pop("ruxue_deleted_from", None))

    def _publish(self, item):
        session = self.datamodel.session
        section = item if isinstance(item, FormSection) or item is None else self._section_of(item)
        if section is not None and section in session:
            forms.publish_committed(session, section)


_RULE_HELP = _l("Dates: 2026-02-01, today, {year}-02-01 or {year-1}-09-01 ({year} is the period's year). "
                "Months in a window: the field's date is the start; value and second value are the window, "
                "number the months needed. Matches a guardian: value name or id_number. Differs from: value is "
                "the other field's key.")


class FieldRuleModelView(PublishesSection, RuxueModelView):
    """A check of one field's answer, with the message the parent sees."""

    entity = _l("Field rule")
    list_title = _l("Field rules")
    datamodel = RuxueInterface(FieldRule)
    class_permission_name = "FieldRule"
    enum_columns = {"kind": "rule_kind"}
    list_columns = ["field", "position", "kind", "value", "value2", "number", "message_zh"]
    add_columns = edit_columns = show_columns = ["field", "kind", "value", "value2", "number", "message_zh", "message_en", "position"]
    search_columns = ["field", "kind"]
    order_columns = ["position"]
    base_order = ("position", "asc")
    label_columns = {"number": _l("Number")}
    description_columns = {"value": _RULE_HELP}


class FormFieldModelView(PublishesSection, RuxueModelView):
    """One question of a form section: label, kind, whether required, and when it is shown."""

    entity = _l("Form field")
    list_title = _l("Form fields")
    datamodel = RuxueInterface(FormField)
    class_permission_name = "FormField"
    related_views = [FieldRuleModelView]
    enum_columns = {"kind": "field_kind"}
    list_columns = ["section", "position", "key", "label_zh", "kind", "required", "show_if"]
    add_columns = edit_columns = show_columns = [
        "section", "key", "label_zh", "label_en", "kind", "required", "max_len", "choices", "hint_zh", "hint_en",
        "show_if", "show_values", "position",
    ]
    search_columns = ["section", "key", "label_zh", "kind"]
    order_columns = ["position", "key"]
    base_order = ("position", "asc")
    label_columns = {"choices": _l("Options (value|中文|English per line)")}
    add_form_extra_fields = edit_form_extra_fields = {"choices": TextAreaField(_l("Options (value|中文|English per line)"))}
    description_columns = {
        "key": _l("Letters, digits and _: the name answers are stored under. Keep it once parents have answered."),
        "show_if": _l("Another field's key: this field is asked only when that answer is one of the values below."),
        "show_values": _l("Values separated by commas."),
    }


class FormSectionModelView(PublishesSection, RuxueModelView):
    """A form section (户籍, 房产 …) a channel can ask for; every saved change is a new version."""

    entity = _l("Form section")
    list_title = _l("Form sections")
    datamodel = RuxueInterface(FormSection)
    class_permission_name = "FormSection"
    related_views = [FormFieldModelView]
    enum_columns = {"kind": "section_kind"}
    list_columns = ["position", "code", "title_zh", "title_en", "kind", "version"]
    add_columns = edit_columns = ["code", "title_zh", "title_en", "help_zh", "help_en", "kind", "show_if", "show_values", "position"]
    show_columns = [*add_columns, "version"]
    search_columns = ["code", "title_zh", "kind"]
    order_columns = ["position", "code"]
    base_order = ("position", "asc")
    description_columns = {
        "show_if": _l("section.field: the section is asked only when that answer is one of the values below."),
        "show_values": _l("Values separated by commas."),
    }
    method_permission_name = {**RuxueModelView.method_permission_name, "preview": security.READ}
    show_template = "staff/form_section_show.html"

    @expose("/preview/<int:pk>", methods=["GET", "POST"])
    @has_access
    def preview(self, pk):
        """The section as a parent will see it, in a phone-wide frame; a POST tries answers
        against its rules (nothing is stored), so county IT sees each message before a channel asks it."""
        session = self.datamodel.session
        row = session.get(FormSection, pk)
        if row is None:
            abort(404)
        section = from_definition(forms.definition(row))
        errors, passed = {}, False
        if request.method == "POST":
            today = local_now(current_app.config["BABEL_DEFAULT_TIMEZONE"]).date()
            try:
                clean_section(section, request.form, forms.rule_context(session, today, today.year))
                passed = True
            except SectionError as problem:
                errors = problem.errors
        streets = communities_by_street(session) if any(f.kind == "address" for f in section.fields) else ()
        return self.render_template("staff/section_preview.html", row=row, section=section, fields=section.fields,
                                    errors=errors, passed=passed, form=request.form, saved={}, streets=streets,
                                    slots=range(GUARDIAN_SLOTS))


class FormSectionVersionModelView(ReadOnlyModelView):
    """Published versions of form sections, as applications filled under them read them."""

    entity = _l("Form section version")
    list_title = _l("Form section versions")
    datamodel = RuxueInterface(FormSectionVersion)
    class_permission_name = "FormSectionVersion"
    list_columns = ["section_code", "version", "created_at"]
    show_columns = ["section_code", "version", "created_at", "definition"]
    search_columns = ["section_code"]
    order_columns = ["section_code", "version", "created_at"]
    base_order = ("created_at", "desc")


class FormSectionApi(PublishesSection, RuxueModelRestApi):
    resource_name = "form_sections"
    class_permission_name = "FormSection"
    datamodel = RuxueInterface(FormSection)
    list_columns = show_columns = ["id", "code", "title_zh", "title_en", "help_zh", "help_en", "kind", "show_if",
                                   "show_values", "position", "version"]
    add_columns = edit_columns = ["code", "title_zh", "title_en", "help_zh", "help_en", "kind", "show_if", "show_values", "position"]


class FormFieldApi(PublishesSection, RuxueModelRestApi):
    resource_name = "form_fields"
    class_permission_name = "FormField"
    datamodel = RuxueInterface(FormField)
    _columns = ["key", "label_zh", "label_en", "hint_zh", "hint_en", "kind", "required", "max_len", "choices",
                "show_if", "show_values", "position"]
    list_columns = show_columns = ["id", "section_id", *_columns]
    add_columns = edit_columns = ["section", *_columns]


class FieldRuleApi(PublishesSection, RuxueModelRestApi):
    resource_name = "field_rules"
    class_permission_name = "FieldRule"
    datamodel = RuxueInterface(FieldRule)
    _columns = ["kind", "value", "value2", "number", "message_zh", "message_en", "position"]
    list_columns = show_columns = ["id", "field_id", *_columns]
    add_columns = edit_columns = ["field", *_columns]
