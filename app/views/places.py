"""Places and schools: districts, streets, communities, schools, catchments, neighbours."""
from flask_babel import lazy_gettext as _l

from app.models import Catchment, Community, District, School, SchoolGradeSeats, SchoolNeighbour, Street
from app.views.base import RuxueInterface, RuxueModelRestApi, RuxueModelView


class CatchmentModelView(RuxueModelView):
    """Which communities a school takes, sole or shared zone; editable from school and community."""

    entity = _l("Catchment")
    list_title = _l("Catchments")
    datamodel = RuxueInterface(Catchment)
    class_permission_name = "Catchment"
    enum_columns = {"kind": "kind_catchment"}
    list_columns = ["school", "community", "kind"]
    add_columns = edit_columns = ["school", "community", "kind"]
    show_columns = ["school", "community", "kind"]
    search_columns = ["school", "kind"]
    order_columns = ["kind"]
    base_order = ("id", "asc")


class SchoolGradeSeatsModelView(RuxueModelView):
    """Free seats per grade, for transfers: no class is filled beyond its seats."""

    entity = _l("Seats per grade")
    list_title = _l("Seats per grade")
    datamodel = RuxueInterface(SchoolGradeSeats)
    class_permission_name = "SchoolGradeSeats"
    list_columns = add_columns = edit_columns = show_columns = ["school", "grade", "seats"]
    search_columns = ["school", "grade"]
    order_columns = ["grade", "seats"]
    base_order = ("grade", "asc")


class SchoolNeighbourModelView(RuxueModelView):
    """A school's ordered neighbours for reassignment (调剂)."""

    entity = _l("Neighbour school")
    list_title = _l("Neighbour schools")
    datamodel = RuxueInterface(SchoolNeighbour)
    class_permission_name = "SchoolNeighbour"
    list_columns = ["school", "rank", "neighbour"]
    add_columns = edit_columns = show_columns = ["school", "rank", "neighbour"]
    search_columns = ["school"]
    order_columns = ["rank"]
    base_order = ("rank", "asc")


class DistrictModelView(RuxueModelView):
    """Districts (区县): a county deployment has one, a city platform many."""

    entity = _l("District")
    list_title = _l("Districts")
    datamodel = RuxueInterface(District)
    class_permission_name = "District"
    list_columns = add_columns = edit_columns = show_columns = ["code", "name"]
    search_columns = ["code", "name"]
    order_columns = ["code", "name"]
    base_order = ("code", "asc")


class StreetModelView(RuxueModelView):
    """Streets and towns (街道/乡镇) of a district."""

    entity = _l("Street / town")
    list_title = _l("Streets")
    datamodel = RuxueInterface(Street)
    class_permission_name = "Street"
    list_columns = ["code", "name", "district"]
    add_columns = edit_columns = show_columns = ["district", "code", "name"]
    search_columns = ["code", "name", "district"]
    order_columns = ["code", "name"]
    base_order = ("code", "asc")


class CommunityModelView(RuxueModelView):
    """Communities and villages (社区/村), the unit of a catchment."""

    entity = _l("Community / village")
    list_title = _l("Communities")
    datamodel = RuxueInterface(Community)
    class_permission_name = "Community"
    related_views = [CatchmentModelView]
    list_columns = ["code", "name", "street"]
    add_columns = edit_columns = show_columns = ["street", "code", "name"]
    search_columns = ["code", "name", "street"]
    order_columns = ["code", "name"]
    base_order = ("code", "asc")


class SchoolModelView(RuxueModelView):
    """Schools with their seats, phones, underage and transfer rules."""

    entity = _l("School")
    list_title = _l("Schools")
    datamodel = RuxueInterface(School)
    class_permission_name = "School"
    related_views = [CatchmentModelView, SchoolGradeSeatsModelView]
    enum_columns = {"stage": "stage", "ownership": "ownership"}
    list_columns = ["code", "name", "stage", "ownership", "seats", "phones"]
    _fields = [
        "district",
        "code",
        "name",
        "stage",
        "ownership",
        "address",
        "phones",
        "seats",
        "accepts_underage",
        "underage_birth_cutoff",
        "accepts_transfer",
        "description",
    ]
    add_columns = edit_columns = show_columns = _fields
    search_columns = ["code", "name", "stage", "ownership", "district"]
    order_columns = ["code", "name", "seats"]
    base_order = ("code", "asc")
    description_columns = {
        "phones": _l("Several numbers separated by commas; parents see them on the catchment lookup."),
        "seats": _l("Seats in the entry grade for this year."),
        "underage_birth_cutoff": _l("Underage children born on or before this date may apply."),
        "code": _l("A short code, unique in the county; used by import and export."),
    }


class DistrictApi(RuxueModelRestApi):
    resource_name = "districts"
    class_permission_name = "District"
    datamodel = RuxueInterface(District)
    list_columns = show_columns = add_columns = edit_columns = ["id", "code", "name"]


class StreetApi(RuxueModelRestApi):
    resource_name = "streets"
    class_permission_name = "Street"
    datamodel = RuxueInterface(Street)
    list_columns = show_columns = ["id", "code", "name", "district_id"]
    add_columns = edit_columns = ["code", "name", "district"]


class CommunityApi(RuxueModelRestApi):
    resource_name = "communities"
    class_permission_name = "Community"
    datamodel = RuxueInterface(Community)
    list_columns = show_columns = ["id", "code", "name", "street_id"]
    add_columns = edit_columns = ["code", "name", "street"]


class SchoolApi(RuxueModelRestApi):
    resource_name = "schools"
    class_permission_name = "School"
    datamodel = RuxueInterface(School)
    _columns = [
        "code",
        "name",
        "stage",
        "ownership",
        "address",
        "phones",
        "seats",
        "accepts_underage",
        "underage_birth_cutoff",
        "accepts_transfer",
        "description",
    ]
    list_columns = show_columns = ["id", "district_id", *_columns]
    add_columns = edit_columns = ["district", *_columns]


class CatchmentApi(RuxueModelRestApi):
    resource_name = "catchments"
    class_permission_name = "Catchment"
    datamodel = RuxueInterface(Catchment)
    list_columns = show_columns = ["id", "school_id", "community_id", "kind"]
    add_columns = edit_columns = ["school", "community", "kind"]
