"""Errors raised by parsers: each names what is wrong so the sender can fix it."""


class PayloadError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class UnknownSourceError(LookupError):
    def __init__(self, source: str):
        super().__init__(f"unknown alert source {source!r}")
        self.source = source
