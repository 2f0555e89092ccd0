"""Parents, children, guardians, messages, and which schools each reviewer reviews."""
from flask_babel import lazy_gettext as _l

from app.models import Child, Guardian, Message, ParentAccount, ReviewerSchool
from app.views.base import RuxueInterface, RuxueModelView


class GuardianModelView(RuxueModelView):
    """A child's parents or guardians; ID numbers masked."""

    entity = _l("Guardian")
    list_title = _l("Guardians")
    datamodel = RuxueInterface(Guardian)
    class_permission_name = "Guardian"
    enum_columns = {"id_type": "id_type"}
    list_columns = ["child", "relation", "name", "id_number_masked", "phone"]
    show_columns = ["child", "relation", "name", "id_type", "id_number_masked", "phone", "household_address"]
    add_columns = edit_columns = ["child", "relation", "name", "id_type", "id_number", "phone", "household_address"]
    search_columns = ["name", "relation", "phone"]
    order_columns = ["name"]
    base_order = ("id", "desc")


class ChildModelView(RuxueModelView):
    """Children bound to parent accounts; ID numbers masked in lists."""

    entity = _l("Child")
    list_title = _l("Children")
    datamodel = RuxueInterface(Child)
    class_permission_name = "Child"
    related_views = [GuardianModelView]
    enum_columns = {"id_type": "id_type", "sex": "sex"}
    list_columns = ["name", "id_type", "id_number_masked", "birth_date", "sex", "account"]
    show_columns = [
        "name",
        "former_name",
        "id_type",
        "id_number_masked",
        "birth_date",
        "sex",
        "birth_cert_no",
        "previous_school",
        "previous_class",
        "account",
    ]
    add_columns = edit_columns = [
        "account",
        "name",
        "former_name",
        "id_type",
        "id_number",
        "birth_date",
        "sex",
        "birth_cert_no",
        "previous_school",
        "previous_class",
    ]
    search_columns = ["name", "id_type", "birth_date", "sex"]
    order_columns = ["name", "birth_date"]
    base_order = ("id", "desc")


class MessageModelView(RuxueModelView):
    """Messages sent to parents' message centres."""

    entity = _l("Message")
    list_title = _l("Messages")
    datamodel = RuxueInterface(Message)
    class_permission_name = "Message"
    base_permissions = ["can_read"]
    list_columns = ["created_at", "account", "title", "read_at"]
    show_columns = ["created_at", "account", "application", "title", "body", "read_at"]
    search_columns = ["title", "created_at"]
    order_columns = ["created_at"]
    base_order = ("created_at", "desc")


class ParentAccountModelView(RuxueModelView):
    """Parent accounts (家长账号): a phone number binding children."""

    entity = _l("Parent account")
    list_title = _l("Parent accounts")
    datamodel = RuxueInterface(ParentAccount)
    class_permission_name = "ParentAccount"
    base_permissions = ["can_read"]
    related_views = [ChildModelView]
    list_columns = ["phone_masked", "created_at", "last_login_at", "consent_at"]
    show_columns = ["phone_masked", "created_at", "last_login_at", "consent_at", "consent_version"]
    search_columns = ["created_at", "last_login_at"]
    order_columns = ["created_at", "last_login_at"]
    base_order = ("created_at", "desc")


class ReviewerSchoolModelView(RuxueModelView):
    """Which schools each school reviewer reviews; county IT assigns them."""

    entity = _l("Reviewer school")
    list_title = _l("Reviewer schools")
    datamodel = RuxueInterface(ReviewerSchool)
    class_permission_name = "ReviewerSchool"
    list_columns = add_columns = edit_columns = show_columns = ["user", "school"]
    search_columns = ["user", "school"]
    order_columns = []
    base_order = ("id", "asc")
    description_columns = {"school": _l("A school reviewer sees applications that list or are allocated to this school.")}
