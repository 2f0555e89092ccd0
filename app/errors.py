"""The one exception shape a rule raises to tell a person what is wrong."""


class UserError(Exception):
    """Carries ``message``: a (lazy) translated sentence to show as it is."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message
