"""Custom list filters shared by the admin views."""
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import lazy_gettext as _l


class FilterFlagged(BaseFilter):
    """Rows carrying at least one conflict flag (the typed value is ignored)."""

    name = _l("Has any flag")
    arg_name = "flagged"

    def apply(self, query, value):
        column = getattr(self.model, self.column_name)
        return query.filter(column != "")
