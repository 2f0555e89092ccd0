"""Staff accounts and the roles declared in config."""
from __future__ import annotations

import secrets

from flask import current_app


def ensure_roles(sm) -> None:
    """Create the rows for every role named in FAB_ROLES, plus Public; permissions stay in config."""
    for name in list(current_app.config["FAB_ROLES"]) + [sm.auth_role_public]:
        if sm.find_role(name) is None:
            sm.add_role(name)


def random_password() -> str:
    """Random, and within the password policy (a letter and a digit for sure)."""
    return f"r{secrets.token_urlsafe(9)}{secrets.randbelow(10)}"


def create_staff_user(sm, username: str, role_name: str, password: str, first: str, last: str = ""):
    """Create a staff user (or return the existing one) with one role."""
    user = sm.find_user(username=username)
    if user is not None:
        return user, False
    role = sm.find_role(role_name)
    user = sm.add_user(
        username=username,
        first_name=first,
        last_name=last,
        email=f"{username}@ruxue.invalid",
        role=role,
        password=password,
    )
    if not user:
        raise RuntimeError(f"could not create user {username}")
    return user, True


def assign_reviewer(session, user, schools) -> None:
    from app.models import ReviewerSchool

    existing = {rs.school_id for rs in session.query(ReviewerSchool).filter_by(user_id=user.id)}
    for school in schools:
        if school.id not in existing:
            session.add(ReviewerSchool(user_id=user.id, school_id=school.id))
    session.commit()


MIN_PASSWORD = 10


def password_policy(password: str) -> None:
    """A staff password: at least 10 characters, with letters and digits. Raises FAB's error
    with a message in the user's language (FAB shows it under the field)."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError
    from flask_babel import gettext

    text = password or ""
    if len(text) < MIN_PASSWORD or not any(c.isalpha() for c in text) or not any(c.isdigit() for c in text):
        raise PasswordComplexityValidationError(
            gettext("A password needs at least %(n)d characters, with letters and digits.", n=MIN_PASSWORD))


def reset_second_factor(session, user_id: int) -> bool:
    """Remove a staff member's second factor and end their sign-ins, audited (an Admin's action,
    or `flask --app run totp-reset` when no administrator can sign in). False if none was set."""
    from app.services import audit, staff_sessions, totp
    from app.services.clock import local_now

    removed = totp.reset(session, user_id)
    audit.log(session, "totp:reset", f"user {user_id}", "ok" if removed else "refused",
              "" if removed else "second factor not set up")
    session.commit()
    if removed:
        staff_sessions.revoke_all(session, user_id, local_now())
    return removed
