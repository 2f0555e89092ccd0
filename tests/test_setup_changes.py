"""The workers' copies of the set-up are dropped by any committed change to it, bulk ones too."""
from __future__ import annotations

from sqlalchemy import delete, update

from app.models import MessageTemplate, Notice, ParentAccount
from app.services.setup_changes import generation


def test_a_bulk_change_to_the_setup_drops_the_copies_and_other_writes_do_not(app, db_session):
    from app.services import notifications

    db_session.add(MessageTemplate(step="admit", locale="zh", title="录取通知", body="{child}已被录取。"))
    db_session.commit()
    with app.app_context():
        assert notifications._template(db_session, "admit")[0] == "录取通知"  # now kept by the worker
    before = generation()
    db_session.execute(update(ParentAccount).where(ParentAccount.id == -1).values(phone="x"))
    db_session.commit()
    assert generation() == before  # a family's row is no set-up
    db_session.execute(delete(MessageTemplate).where(MessageTemplate.step == "admit"))
    db_session.commit()
    assert generation() == before + 1
    with app.app_context():
        assert notifications._template(db_session, "admit")[0] == "已录取"  # the built-in words again
    db_session.execute(update(Notice).where(Notice.id == -1).values(title="x"))
    db_session.rollback()  # undone: nothing changed
    assert generation() == before + 1
