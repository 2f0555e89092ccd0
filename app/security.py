"""Permissions and roles as data.

Every admin view and REST API names a *resource* (its ``class_permission_name``) and maps
its methods onto a few permissions. Roles are lists of (resource regex, permission regex)
pairs handed to FAB as ``FAB_ROLES``, so what a role may do is read here, not in views.
"""
from __future__ import annotations

# Permissions (FAB prefixes "can_")
READ = "read"
WRITE = "write"
REVIEW = "review"
ALL_SCHOOLS = "all_schools"  # sees applications of every school, not only assigned ones
FULL_ID = "full_id"  # may read unmasked ID numbers
IMPORT = "import"
EXPORT = "export"
BROWSE = "browse"
MENU_ACCESS = "menu_access"

# Resources
PLACES = ("District", "Street", "Community")
SCHOOLS = ("School", "Catchment", "SchoolNeighbour", "SchoolGradeSeats")
ENROLLMENT_SETUP = (
    "EnrollmentPeriod",
    "Channel",
    "ChannelMaterial",
    "ChannelSection",
    "MaterialType",
    "Notice",
    "ReasonTemplate",
    "MessageTemplate",
)
SETUP = PLACES + SCHOOLS + ENROLLMENT_SETUP + ("ReviewerSchool",)
# SensitiveRead (the audit of full-ID and attachment reads) is granted to no role: Admin only.
COUNTY_SETUP = "CountySetup"  # the import / export page
APPLICATIONS = ("Application", "ApplicationChoice", "Attachment", "ApplicationEvent")
FAMILIES = ("ParentAccount", "Child", "Guardian", "Message")
APPLICATION = "Application"
STORAGE = "Storage"  # the document storage browser
DASHBOARD = "Dashboard"
ALLOCATION = "Allocation"
ALLOCATE = "allocate"  # commit the seed, simulate and publish

# Menu categories and items (menu_access is granted on these names)
MENU_PLACES = "Places and schools"
MENU_SETUP = "Enrollment set-up"
MENU_APPLICATIONS = "Applications"
MENU_ACCOUNTS = "Accounts"
MENU_ITEMS = {
    MENU_PLACES: ("Districts", "Streets", "Communities", "Schools", "Catchments", "Neighbour schools", "Seats per grade"),
    MENU_SETUP: (
        "Enrollment periods",
        "Channels",
        "Channel materials",
        "Channel form sections",
        "Material types",
        "Notices",
        "Reason templates",
        "Message templates",
        "County import and export",
        "Document storage",
    ),
    MENU_APPLICATIONS: ("Applications", "Application events", "Attachments", "Bureau dashboard", "Seat allocation"),
    MENU_ACCOUNTS: ("Parent accounts", "Children", "Guardians", "Messages", "Reviewer schools", "Sensitive reads"),
}

# How FAB view methods map onto the permissions above
MODEL_VIEW_METHODS = {
    "list": READ,
    "show": READ,
    "download": READ,
    "api": READ,
    "api_read": READ,
    "api_get": READ,
    "api_readvalues": READ,
    "api_column_add": WRITE,
    "api_column_edit": WRITE,
    "api_create": WRITE,
    "api_update": WRITE,
    "api_delete": WRITE,
    "add": WRITE,
    "edit": WRITE,
    "delete": WRITE,
    "action": WRITE,
    "action_post": WRITE,
}
REST_API_METHODS = {
    "get": READ,
    "get_list": READ,
    "info": READ,
    "post": WRITE,
    "put": WRITE,
    "delete": WRITE,
}


def _any(names) -> str:
    return "^(" + "|".join(names) + ")$"


def _grant(resources, permissions) -> list[str]:
    return [_any(resources), _any("can_" + p for p in permissions)]


def _menus(*categories: str) -> list[str]:
    names = list(categories)
    for category in categories:
        names.extend(MENU_ITEMS[category])
    return [_any(names), _any([MENU_ACCESS])]


# Every staff member may see and change their own account and read the API description.
_SELF_SERVICE = [
    ["^UserDBModelView$", "^(can_userinfo|resetmypassword|userinfoedit)$"],
    ["^(ResetMyPasswordView|UserInfoEditView)$", "^can_this_form_(get|post)$"],
    ["^OpenApi$", "^can_get$"],
    ["^SwaggerView$", "^can_show$"],
]

ADMIN = "Admin"
COUNTY_IT = "CountyIT"
BUREAU_REVIEWER = "BureauReviewer"
SCHOOL_REVIEWER = "SchoolReviewer"

ROLES: dict[str, list[list[str]]] = {
    ADMIN: [[".*", ".*"]],
    COUNTY_IT: [
        _grant(SETUP + (COUNTY_SETUP,), [READ, WRITE, IMPORT, EXPORT]),
        _grant([STORAGE], [BROWSE]),
        _grant([DASHBOARD, ALLOCATION], [READ]),
        _grant(APPLICATIONS + FAMILIES, [READ]),
        _grant([APPLICATION], [ALL_SCHOOLS]),
        _menus(MENU_PLACES, MENU_SETUP, MENU_APPLICATIONS, MENU_ACCOUNTS),
        *_SELF_SERVICE,
    ],
    BUREAU_REVIEWER: [
        _grant(APPLICATIONS, [READ, REVIEW]),
        _grant([APPLICATION], [ALL_SCHOOLS, FULL_ID]),
        _grant([DASHBOARD], [READ]),
        _grant([ALLOCATION], [READ, ALLOCATE]),
        _grant(FAMILIES, [READ]),
        _grant(PLACES + SCHOOLS + ENROLLMENT_SETUP, [READ]),
        _menus(MENU_PLACES, MENU_SETUP, MENU_APPLICATIONS, MENU_ACCOUNTS),
        *_SELF_SERVICE,
    ],
    SCHOOL_REVIEWER: [
        _grant(APPLICATIONS, [READ, REVIEW]),
        [_any([MENU_APPLICATIONS, "Applications", "Application events", "Attachments"]), _any([MENU_ACCESS])],
        *_SELF_SERVICE,
    ],
}
STAFF_ROLES = (COUNTY_IT, BUREAU_REVIEWER, SCHOOL_REVIEWER)
