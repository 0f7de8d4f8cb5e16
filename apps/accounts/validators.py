"""Password character rules, one validator per rule so each failure is reported on its own.

Listed in ``AUTH_PASSWORD_VALIDATORS`` next to Django's length, similarity and
common-password validators; ``validate_password`` collects every failure.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError


class _CharacterRuleValidator:
    code: str
    message: str

    def satisfied_by(self, char: str) -> bool:
        raise NotImplementedError

    def validate(self, password: str, user: Any = None) -> None:
        if not any(self.satisfied_by(char) for char in password):
            raise ValidationError(self.message, code=self.code)

    def get_help_text(self) -> str:
        return self.message.replace("This password", "Your password")


class UppercaseValidator(_CharacterRuleValidator):
    code = "password_no_upper"
    message = "This password must contain an upper-case letter."

    def satisfied_by(self, char: str) -> bool:
        return char.isupper()


class LowercaseValidator(_CharacterRuleValidator):
    code = "password_no_lower"
    message = "This password must contain a lower-case letter."

    def satisfied_by(self, char: str) -> bool:
        return char.islower()


class DigitValidator(_CharacterRuleValidator):
    code = "password_no_digit"
    message = "This password must contain a digit."

    def satisfied_by(self, char: str) -> bool:
        return char.isdigit()


class SymbolValidator(_CharacterRuleValidator):
    code = "password_no_symbol"
    message = "This password must contain a symbol (a character that is not a letter, digit or space)."

    def satisfied_by(self, char: str) -> bool:
        return not (char.isalnum() or char.isspace())
