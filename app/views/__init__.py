"""The one place views, APIs and menus are registered."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from app import security as s


def register_views(appbuilder) -> None:
    from app.staff_totp import StaffTotpView
    from app.views import accounts, allocation, applications, county, dashboard, forms, lookups, places, registry, review, setup

    appbuilder.add_view_no_menu(StaffTotpView)

    def add(view, name, label, icon, category, category_label, category_icon):
        appbuilder.add_view(
            view,
            name,
            label=label,
            icon=icon,
            category=category,
            category_label=category_label,
            category_icon=category_icon,
        )

    places_menu = (s.MENU_PLACES, _l("Places and schools"), "fa-map")
    add(places.DistrictModelView, "Districts", _l("Districts"), "fa-globe", *places_menu)
    add(places.StreetModelView, "Streets", _l("Streets"), "fa-road", *places_menu)
    add(places.CommunityModelView, "Communities", _l("Communities"), "fa-home", *places_menu)
    add(places.SchoolModelView, "Schools", _l("Schools"), "fa-university", *places_menu)
    add(places.CatchmentModelView, "Catchments", _l("Catchments"), "fa-map-marker", *places_menu)
    add(places.SchoolGradeSeatsModelView, "Seats per grade", _l("Seats per grade"), "fa-th", *places_menu)
    add(places.SchoolNeighbourModelView, "Neighbour schools", _l("Neighbour schools"), "fa-exchange", *places_menu)

    setup_menu = (s.MENU_SETUP, _l("Enrollment set-up"), "fa-cogs")
    add(setup.EnrollmentPeriodModelView, "Enrollment periods", _l("Enrollment periods"), "fa-calendar", *setup_menu)
    add(setup.ChannelModelView, "Channels", _l("Channels"), "fa-random", *setup_menu)
    add(setup.ChannelMaterialModelView, "Channel materials", _l("Channel materials"), "fa-paperclip", *setup_menu)
    add(setup.ChannelSectionModelView, "Channel form sections", _l("Channel form sections"), "fa-list", *setup_menu)
    add(forms.FormSectionModelView, "Form sections", _l("Form sections"), "fa-list-alt", *setup_menu)
    add(forms.FormFieldModelView, "Form fields", _l("Form fields"), "fa-pencil-square-o", *setup_menu)
    add(forms.FieldRuleModelView, "Field rules", _l("Field rules"), "fa-check-square-o", *setup_menu)
    add(forms.FormSectionVersionModelView, "Form section versions", _l("Form section versions"), "fa-history", *setup_menu)
    add(setup.CategoryRuleModelView, "Category rules", _l("Category rules"), "fa-tags", *setup_menu)
    add(setup.MaterialTypeModelView, "Material types", _l("Material types"), "fa-file", *setup_menu)
    add(setup.NoticeModelView, "Notices", _l("Notices"), "fa-bullhorn", *setup_menu)
    add(setup.ReasonTemplateModelView, "Reason templates", _l("Reason templates"), "fa-comment", *setup_menu)
    add(setup.MessageTemplateModelView, "Message templates", _l("Message templates"), "fa-envelope-o", *setup_menu)
    add(county.CountySetupView, "County import and export", _l("County import and export"), "fa-upload", *setup_menu)
    add(registry.RegistryView, "Department records", _l("Department records"), "fa-id-card-o", *setup_menu)

    appbuilder.add_link(
        "Document storage",
        href="/storage/files/",
        label=_l("Document storage"),
        icon="fa-folder-open",
        category=setup_menu[0],
        category_label=setup_menu[1],
        category_icon=setup_menu[2],
    )

    apps_menu = (s.MENU_APPLICATIONS, _l("Applications"), "fa-inbox")
    add(review.ApplicationModelView, "Applications", _l("Applications"), "fa-file-text", *apps_menu)
    add(lookups.ChildLookupModelView, "Child lookup requests", _l("Child lookup requests"), "fa-search", *apps_menu)
    add(applications.ApplicationEventModelView, "Application events", _l("Application events"), "fa-history", *apps_menu)
    add(applications.AttachmentModelView, "Attachments", _l("Attachments"), "fa-paperclip", *apps_menu)
    add(dashboard.DashboardView, "Bureau dashboard", _l("Bureau dashboard"), "fa-bar-chart", *apps_menu)
    add(allocation.AllocationView, "Seat allocation", _l("Seat allocation"), "fa-random", *apps_menu)
    appbuilder.add_view_no_menu(applications.ApplicationChoiceModelView)
    # the worker builds large exports with the list's own filters (app/services/export_jobs.py)
    reviewer_list = next(v for v in appbuilder.baseviews if isinstance(v, review.ApplicationModelView))
    current_app.extensions["ruxue_export_query"] = reviewer_list.export_query

    accounts_menu = (s.MENU_ACCOUNTS, _l("Accounts"), "fa-users")
    add(accounts.ParentAccountModelView, "Parent accounts", _l("Parent accounts"), "fa-mobile", *accounts_menu)
    add(accounts.ChildModelView, "Children", _l("Children"), "fa-child", *accounts_menu)
    add(accounts.GuardianModelView, "Guardians", _l("Guardians"), "fa-user", *accounts_menu)
    add(accounts.MessageModelView, "Messages", _l("Messages"), "fa-envelope", *accounts_menu)
    add(accounts.ReviewerSchoolModelView, "Reviewer schools", _l("Reviewer schools"), "fa-id-badge", *accounts_menu)
    add(applications.AuditLogModelView, "Audit log", _l("Audit log"), "fa-eye", *accounts_menu)

    for api in (
        places.DistrictApi,
        places.StreetApi,
        places.CommunityApi,
        places.SchoolApi,
        places.CatchmentApi,
        setup.PeriodApi,
        setup.ChannelApi,
        setup.MaterialTypeApi,
        forms.FormSectionApi,
        forms.FormFieldApi,
        forms.FieldRuleApi,
        applications.ApplicationApi,
    ):
        appbuilder.add_api(api)
