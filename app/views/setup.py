"""Enrollment set-up: periods, channels with their materials and sections, materials, notices."""
from flask_babel import lazy_gettext as _l

from app.models import (
    CategoryRule,
    Channel,
    ChannelMaterial,
    ChannelSection,
    EnrollmentPeriod,
    MaterialType,
    MessageTemplate,
    Notice,
    ReasonTemplate,
)
from app.services import allocation_settings, categories, forms, workflow
from app.views.base import RuxueInterface, RuxueModelRestApi, RuxueModelView, api_check, form_check, refused_by


class ChannelMaterialModelView(RuxueModelView):
    """The proof materials a channel asks parents to upload."""

    entity = _l("Channel material")
    list_title = _l("Channel materials")
    datamodel = RuxueInterface(ChannelMaterial)
    class_permission_name = "ChannelMaterial"
    list_columns = ["channel", "position", "material_type", "required", "show_if"]
    add_columns = edit_columns = show_columns = ["channel", "material_type", "required", "show_if", "show_values",
                                                 "waived_if_verified", "position"]
    label_columns = {"waived_if_verified": _l("No upload once the records confirm section")}
    search_columns = ["channel", "material_type", "required"]
    order_columns = ["position"]
    base_order = ("position", "asc")
    description_columns = {
        "show_if": _l("section.field: the material is asked only when that answer is one of the values below "
                      "(e.g. a kinship proof for a grandparent's property)."),
        "show_values": _l("Values separated by commas."),
        "waived_if_verified": _l("A section code (household, property, employment, business, residence_permit): "
                                 "in a verifiable channel the family need not upload this material once the "
                                 "department's records confirm that section."),
    }

    def pre_add(self, item):
        super().pre_add(item)
        self._check_condition(item)

    def pre_update(self, item):
        super().pre_update(item)
        self._check_condition(item)

    def _check_condition(self, item):
        refused_by(self.datamodel.session, forms.refuse_bad_condition, self.datamodel.session, item.show_if)
        refused_by(self.datamodel.session, forms.refuse_bad_waiver, item.waived_if_verified or "")


class CategoryRuleModelView(RuxueModelView):
    """A period's 生源类别 and the answers that put an application in each (first rule that holds wins)."""

    entity = _l("Category rule")
    list_title = _l("Category rules")
    datamodel = RuxueInterface(CategoryRule)
    class_permission_name = "CategoryRule"
    list_columns = ["period", "position", "code", "name_zh", "rank", "conditions"]
    add_columns = edit_columns = show_columns = ["period", "code", "name_zh", "name_en", "rank", "position", "conditions"]
    search_columns = ["period", "code", "name_zh", "rank"]
    order_columns = ["position", "rank"]
    base_order = ("position", "asc")
    label_columns = {"rank": _l("Allocation rank"), "conditions": _l("Conditions (one per line, all must hold)")}
    description_columns = {
        "conditions": _l("One per line: channel = FC|HJ, section.field = value (!= for none of them), "
                         "section.date_field <= {year}-06-30 (or >=). Empty: always (put it last)."),
        "rank": _l("Where the period allocates by category, rank 1 is placed first."),
        "position": _l("The rules are tried in this order; the first that holds names the category."),
    }

    def pre_add(self, item):
        super().pre_add(item)
        refused_by(self.datamodel.session, categories.refuse_problems, self.datamodel.session, item)

    def pre_update(self, item):
        super().pre_update(item)
        refused_by(self.datamodel.session, categories.refuse_problems, self.datamodel.session, item)


class ChannelSectionModelView(RuxueModelView):
    """The form sections a channel asks for, in order, and whether each can be skipped."""

    entity = _l("Channel form section")
    list_title = _l("Channel form sections")
    datamodel = RuxueInterface(ChannelSection)
    class_permission_name = "ChannelSection"
    list_columns = ["channel", "position", "form_section", "skippable"]
    add_columns = edit_columns = show_columns = ["channel", "form_section", "skippable", "position"]
    search_columns = ["channel", "form_section", "skippable"]
    order_columns = ["position"]
    base_order = ("position", "asc")


class ChannelModelView(RuxueModelView):
    """Channels / categories (报名类别) of a period, with priority and conditions."""

    entity = _l("Channel")
    list_title = _l("Channels")
    datamodel = RuxueInterface(Channel)
    class_permission_name = "Channel"
    related_views = [ChannelMaterialModelView, ChannelSectionModelView]
    list_columns = ["period", "priority", "code", "name", "verifiable", "requires_catchment"]
    _fields = [
        "period",
        "code",
        "name",
        "priority",
        "conditions",
        "verifiable",
        "requires_catchment",
        "description",
    ]
    add_columns = edit_columns = show_columns = _fields
    search_columns = ["period", "code", "name", "verifiable"]
    order_columns = ["priority", "code", "name"]
    base_order = ("priority", "asc")
    description_columns = {
        "priority": _l("1 is allocated first."),
        "requires_catchment": _l("Only schools whose catchment includes the family's community are offered."),
    }


class EnrollmentPeriodModelView(RuxueModelView):
    """Enrollment periods (招生批次): who may apply, when, and under which limits."""

    entity = _l("Enrollment period")
    list_title = _l("Enrollment periods")
    datamodel = RuxueInterface(EnrollmentPeriod)
    class_permission_name = "EnrollmentPeriod"
    related_views = [ChannelModelView]
    enum_columns = {"stage": "period_stage", "entry_kind": "entry_kind", "ownership": "ownership",
                    "allocation_mechanism": "mechanism"}
    list_columns = ["code", "name", "year", "entry_kind", "grade", "opens_at", "closes_at"]
    _fields = [
        "code",
        "name",
        "year",
        "stage",
        "grade",
        "grade_to",
        "entry_kind",
        "ownership",
        "opens_at",
        "closes_at",
        "review_starts_at",
        "review_ends_at",
        "birth_from",
        "birth_to",
        "choice_count",
        "withdrawal_limit",
        "edit_until_close",
        "submit_wait_seconds",
        "allocation_mechanism",
        "priority_keys",
        "preview_allocation",
        "child_lookup",
        "description",
        "status_words",
    ]
    add_columns = edit_columns = show_columns = _fields
    search_columns = ["code", "name", "year", "stage", "entry_kind", "opens_at"]
    order_columns = ["code", "year", "opens_at", "closes_at"]
    base_order = ("opens_at", "desc")
    description_columns = {
        "birth_from": _l("Older children are refused as too old."),
        "birth_to": _l("Younger children are refused as too young."),
        "submit_wait_seconds": _l("Seconds the parent waits on the preview before submitting (15 in Anyi)."),
        "ownership": _l("Private schools have their own entrance."),
        "priority_keys": _l("Comma-separated, best first: sibling, catchment, channel, birth, lottery."),
        "status_words": _l("The manual's words for the statuses, one per line: status|中文|English, e.g. "
                           "submitted|正在审核中|Being reviewed (empty: the standard words)."),
    }
    # checked here, where they are saved, not first at the allocation
    validators_columns = {"priority_keys": [form_check(allocation_settings.priority_keys)],
                          "status_words": [form_check(workflow.checked_status_words)]}


class MaterialTypeModelView(RuxueModelView):
    """Kinds of proof (证明材料) with accepted file kinds and a size cap."""

    entity = _l("Material")
    list_title = _l("Material types")
    datamodel = RuxueInterface(MaterialType)
    class_permission_name = "MaterialType"
    list_columns = ["code", "name", "accepted_kinds", "max_size_kb"]
    _fields = ["code", "name", "description", "example_url", "accepted_kinds", "max_size_kb"]
    add_columns = edit_columns = show_columns = _fields
    search_columns = ["code", "name"]
    order_columns = ["code", "name"]
    base_order = ("code", "asc")
    description_columns = {"accepted_kinds": _l("Comma-separated: jpeg, png, pdf.")}


class NoticeModelView(RuxueModelView):
    """Policies, guides, FAQs and the agreement parents read first."""

    entity = _l("Notice")
    list_title = _l("Notices")
    datamodel = RuxueInterface(Notice)
    class_permission_name = "Notice"
    enum_columns = {"kind": "kind_notice"}
    list_columns = ["position", "kind", "title", "version", "published"]
    _fields = ["code", "kind", "title", "body", "version", "position", "published", "wait_seconds", "button_label"]
    add_columns = edit_columns = show_columns = _fields
    description_columns = {
        "wait_seconds": _l("The agreement only: seconds the parent reads before the button works (0: none)."),
        "button_label": _l("The agreement only: the button's wording, e.g. 我已阅读并继续 (empty: 同意并继续)."),
    }
    search_columns = ["code", "kind", "title", "published"]
    order_columns = ["position", "title"]
    base_order = ("position", "asc")


class PeriodApi(RuxueModelRestApi):
    resource_name = "periods"
    class_permission_name = "EnrollmentPeriod"
    datamodel = RuxueInterface(EnrollmentPeriod)
    list_columns = show_columns = ["id", *EnrollmentPeriodModelView._fields]
    add_columns = edit_columns = EnrollmentPeriodModelView._fields
    validators_columns = {"priority_keys": api_check(allocation_settings.priority_keys),
                          "allocation_mechanism": api_check(allocation_settings.mechanism),
                          "status_words": api_check(workflow.checked_status_words)}


class ChannelApi(RuxueModelRestApi):
    resource_name = "channels"
    class_permission_name = "Channel"
    datamodel = RuxueInterface(Channel)
    _columns = ["code", "name", "priority", "conditions", "verifiable", "requires_catchment", "description"]
    list_columns = show_columns = ["id", "period_id", *_columns]
    add_columns = edit_columns = ["period", *_columns]


class MaterialTypeApi(RuxueModelRestApi):
    resource_name = "material_types"
    class_permission_name = "MaterialType"
    datamodel = RuxueInterface(MaterialType)
    list_columns = show_columns = ["id", *MaterialTypeModelView._fields]
    add_columns = edit_columns = MaterialTypeModelView._fields


class ReasonTemplateModelView(RuxueModelView):
    """Reasons reviewers pick when returning or rejecting an application."""

    entity = _l("Reason template")
    list_title = _l("Reason templates")
    datamodel = RuxueInterface(ReasonTemplate)
    class_permission_name = "ReasonTemplate"
    enum_columns = {"kind": "reason_kind"}
    list_columns = ["kind", "position", "text"]
    add_columns = edit_columns = show_columns = ["kind", "text", "position"]
    search_columns = ["kind", "text"]
    order_columns = ["position"]
    base_order = ("position", "asc")


class MessageTemplateModelView(RuxueModelView):
    """What parents are told at each status change, per language; {number} {child} {reason}."""

    entity = _l("Message template")
    list_title = _l("Message templates")
    datamodel = RuxueInterface(MessageTemplate)
    class_permission_name = "MessageTemplate"
    enum_columns = {"step": "step", "locale": "locale"}
    list_columns = ["step", "locale", "title"]
    add_columns = edit_columns = show_columns = ["step", "locale", "title", "body"]
    search_columns = ["step", "locale"]
    order_columns = ["step", "locale"]
    base_order = ("step", "asc")
    description_columns = {"body": _l("Placeholders: {number} application number, {child} child's name, {reason} reason.")}
