"""Attachments of an application: checked, stored under a random key, recorded with their hash."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Application, Attachment
from app.services import workflow
from app.services.layouts import layout
from app.services.persist import commit_keeping_loaded
from app.storage import UploadError, check_upload, forget, new_key

MAX_FILES_PER_MATERIAL = 5


def add_attachment(session: Session, storage, application: Application, material_type_id: int, file_name: str, data: bytes) -> Attachment:
    """Store one file for one of the channel's materials; on any failure nothing is left behind."""
    slot = layout(session, application.channel_id).material(material_type_id) if application.channel_id else None
    asked = slot is not None and slot.shown_for(application.section_data or {})
    material = slot.material_type if asked else None
    if material is None:
        raise UploadError(_l("This category does not ask for that material."))
    count = session.scalar(select(func.count()).where(Attachment.application_id == application.id,
                                                      Attachment.material_type_id == material.id))
    if count >= MAX_FILES_PER_MATERIAL:
        raise UploadError(_l("At most %(n)d files per material.", n=MAX_FILES_PER_MATERIAL))
    checked = check_upload(file_name, data, material.accepted_kinds, material.max_size_kb)
    key = new_key()
    storage.save(key, data, checked.content_type)
    attachment = Attachment(
        application=application,
        material_type_id=material.id,
        storage_key=key,
        file_name=checked.file_name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
    )
    try:
        session.add(attachment)
        workflow.record_amendment(session, application, material.name)
        commit_keeping_loaded(session)
    except Exception:
        session.rollback()
        forget(storage, key)
        raise
    return attachment


def remove_attachment(session: Session, storage, application: Application, attachment_id: int) -> None:
    attachment = session.scalar(
        select(Attachment).where(Attachment.id == attachment_id, Attachment.application_id == application.id)
    )
    if attachment is None:
        raise UploadError(_l("No such file on this application."))
    key = attachment.storage_key
    session.delete(attachment)
    workflow.record_amendment(session, application, attachment.material_type.name)
    commit_keeping_loaded(session)
    forget(storage, key)
