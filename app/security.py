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
    "FormSection",
    "FormField",
    "FieldRule",
    "FormSectionVersion",
    "CategoryRule",
    "MaterialType",
    "Notice",
    "ReasonTemplate",
    "MessageTemplate",
)
SETUP = PLACES + SCHOOLS + ENROLLMENT_SETUP + ("ReviewerSchool",)
# AuditLog (the audit trail) is granted to no role: Admin only, and even Admin only reads it.
COUNTY_SETUP = "CountySetup"  # the import / export page
APPLICATIONS = ("Application", "ApplicationChoice", "Attachment", "ApplicationEvent")
FAMILIES = ("ParentAccount", "Child", "Guardian", "Message")
APPLICATION = "Application"
STORAGE = "Storage"  # the document storage browser
DASHBOARD = "Dashboard"
ALLOCATION = "Allocation"
ALLOCATE = "allocate"  # commit the seed, simulate and publish
REGISTRY = "Registry"  # the departments' extracts (免证明)
CHILD_LOOKUP = "ChildLookup"  # the families' appeals and 入学登记 after the child lookup

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
        "Form sections",
        "Form fields",
        "Field rules",
        "Form section versions",
        "Category rules",
        "Material types",
        "Notices",
        "Reason templates",
        "Message templates",
        "County import and export",
        "Department records",
        "Document storage",
    ),
    MENU_APPLICATIONS: ("Applications", "Child lookup requests", "Application events", "Attachments", "Bureau dashboard", "Seat allocation"),
    MENU_ACCOUNTS: ("Parent accounts", "Children", "Guardians", "Messages", "Reviewer schools", "Audit log"),
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

# What each role may do, as (resources, permissions). FAB gets regex pairs made from these, and
# the menus a role sees are computed from them: an item shows only where its page opens.
GRANTS: dict[str, list[tuple[tuple[str, ...], list[str]]]] = {
    COUNTY_IT: [
        (SETUP + (COUNTY_SETUP,), [READ, WRITE, IMPORT, EXPORT]),
        ((REGISTRY,), [READ, IMPORT]),
        ((CHILD_LOOKUP,), [READ]),
        ((STORAGE,), [BROWSE]),
        ((DASHBOARD, ALLOCATION), [READ]),
        (APPLICATIONS + FAMILIES, [READ]),
        ((APPLICATION,), [ALL_SCHOOLS]),
    ],
    BUREAU_REVIEWER: [
        (APPLICATIONS, [READ, REVIEW]),
        ((APPLICATION,), [ALL_SCHOOLS, FULL_ID]),
        ((DASHBOARD,), [READ]),
        ((ALLOCATION,), [READ, ALLOCATE]),
        (FAMILIES, [READ]),
        (PLACES + SCHOOLS + ENROLLMENT_SETUP, [READ]),
        ((REGISTRY,), [READ]),
        ((CHILD_LOOKUP,), [READ, REVIEW]),
    ],
    SCHOOL_REVIEWER: [
        (APPLICATIONS, [READ, REVIEW]),
    ],
}

# The page behind each menu item: the resource and permission that open it.
MENU_NEEDS = {
    "Districts": ("District", READ), "Streets": ("Street", READ), "Communities": ("Community", READ),
    "Schools": ("School", READ), "Catchments": ("Catchment", READ), "Neighbour schools": ("SchoolNeighbour", READ),
    "Seats per grade": ("SchoolGradeSeats", READ), "Enrollment periods": ("EnrollmentPeriod", READ),
    "Channels": ("Channel", READ), "Channel materials": ("ChannelMaterial", READ),
    "Channel form sections": ("ChannelSection", READ), "Material types": ("MaterialType", READ),
    "Form sections": ("FormSection", READ), "Form fields": ("FormField", READ), "Field rules": ("FieldRule", READ),
    "Form section versions": ("FormSectionVersion", READ), "Category rules": ("CategoryRule", READ),
    "Notices": ("Notice", READ), "Reason templates": ("ReasonTemplate", READ), "Message templates": ("MessageTemplate", READ),
    "County import and export": (COUNTY_SETUP, EXPORT), "Department records": (REGISTRY, READ), "Document storage": (STORAGE, BROWSE),
    "Applications": ("Application", READ), "Child lookup requests": (CHILD_LOOKUP, READ), "Application events": ("ApplicationEvent", READ),
    "Attachments": ("Attachment", READ), "Bureau dashboard": (DASHBOARD, READ), "Seat allocation": (ALLOCATION, READ),
    "Parent accounts": ("ParentAccount", READ), "Children": ("Child", READ), "Guardians": ("Guardian", READ),
    "Messages": ("Message", READ), "Reviewer schools": ("ReviewerSchool", READ), "Audit log": ("AuditLog", READ),
}


def menu_items(grants) -> list[str]:
    """The menu items (and their categories) whose pages the grants open."""
    granted = {(resource, permission) for resources, permissions in grants for resource in resources for permission in permissions}
    items = [item for item, need in MENU_NEEDS.items() if need in granted]
    categories = [c for c, members in MENU_ITEMS.items() if set(members) & set(items)]
    return categories + items


def _role(grants) -> list[list[str]]:
    return [*(_grant(resources, permissions) for resources, permissions in grants),
            [_any(menu_items(grants)), _any([MENU_ACCESS])], *_SELF_SERVICE]


ROLES: dict[str, list[list[str]]] = {ADMIN: [[".*", ".*"]], **{name: _role(grants) for name, grants in GRANTS.items()}}
STAFF_ROLES = (COUNTY_IT, BUREAU_REVIEWER, SCHOOL_REVIEWER)
