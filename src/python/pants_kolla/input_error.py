"""The error every rule raises for bad user input (a BUILD field, a template, an option)."""


class KollaInputError(Exception):
    """A user error in the image tree or a template: message only, no traceback needed."""
