"""Phone numbers as managers type them."""

import pytest

from bot.services.parsing import ParseError
from bot.services.phone import normalize_phone


@pytest.mark.parametrize("typed", ["0812-3456-7890", "+62 812 3456 7890", "6281234567890", "(0812) 3456.7890"])
def test_forms_of_one_number(typed: str) -> None:
    """Every way of writing it gives the same +62 form."""
    assert normalize_phone(typed) == "+6281234567890"


@pytest.mark.parametrize("typed", ["", "12345", "0812", "08123456789012345", "+1 555 1234", "nomor saya", "00812345678"])
def test_not_a_number(typed: str) -> None:
    """Anything else is refused with the catalogue's reason."""
    with pytest.raises(ParseError) as caught:
        normalize_phone(typed)
    assert caught.value.key == "parse.phone"
