"""The county IT storage browser: Flask-Admin's file admin, for this one job only.

FAB has no file browser; Flask-Admin's serves local folders and S3 buckets alike. Access is a
FAB permission (can_browse on Storage), so roles stay data in app/security.py.
"""
from __future__ import annotations

from flask import abort
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.contrib.fileadmin import FileAdmin
from flask_admin.contrib.fileadmin.s3 import S3FileAdmin

from flask_babel import lazy_gettext as _l

from app import security


def _allowed() -> bool:
    from app.extensions import appbuilder

    return appbuilder.sm.has_access("can_" + security.BROWSE, security.STORAGE)


class _ReadOnly:
    """Children's documents: look and download, never change from here."""

    can_upload = False
    can_delete = False
    can_delete_dirs = False
    can_mkdir = False
    can_rename = False
    can_download = True
    column_labels = {"name": _l("File name"), "size": _l("Size (bytes)"), "date": _l("Uploaded")}

    def is_accessible(self):
        return _allowed()

    @expose("/download/<path:path>")
    def download(self, path: str | None = None):
        """Flask-Admin's download, with the read in the audit trail like the attachment route's."""
        response = super().download(path)
        _audit_read(path or "", getattr(response, "status_code", 200))
        return response

    def inaccessible_callback(self, name, **kwargs):
        abort(403)


def _audit_read(path: str, status: int) -> None:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Attachment
    from app.services import audit

    key = path.strip("/").rsplit("/", 1)[-1]  # local files sit in a folder named by the key's start
    application_id = db.session.scalar(select(Attachment.application_id).where(Attachment.storage_key == key))
    audit.log(db.session, "read:storage", f"application {application_id}" if application_id else key,
              result="ok" if status < 400 else "failed", detail=key, commit=True)


class LocalStorageAdmin(_ReadOnly, FileAdmin):
    """Browse the local upload folder."""


class S3StorageAdmin(_ReadOnly, S3FileAdmin):
    """Browse the S3 bucket."""


class StorageIndexView(AdminIndexView):
    """Flask-Admin's landing page, sent straight to the file list."""

    @expose("/")
    def index(self):
        from flask import redirect, url_for

        if not _allowed():
            abort(403)
        return redirect(url_for("storage_files.index_view"))


def register_storage_admin(app, translations_path: str) -> None:
    from flask_admin.menu import MenuLink

    from flask import request

    admin = Admin(app, name=_l("Document storage"), url="/storage", endpoint="storage_admin",
                  index_view=StorageIndexView(url="/storage", endpoint="storage_admin"),
                  translations_path=translations_path,
                  csp_nonce_generator=lambda: getattr(request, "csp_nonce", ""))
    store = app.extensions["ruxue_storage"]
    if getattr(store, "presigns", False):
        view = S3StorageAdmin(store.client, store.bucket, name=_l("Files"), endpoint="storage_files", url="/storage/files")
    else:
        import os

        os.makedirs(store.root, exist_ok=True)
        view = LocalStorageAdmin(str(store.root), name=_l("Files"), endpoint="storage_files", url="/storage/files")
    admin.add_view(view)
    admin.add_link(MenuLink(name=_l("Back to the admin panel"), url="/admin/"))
