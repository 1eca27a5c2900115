"""Long outputs are split under Telegram's limit without losing or reordering anything."""

from hypothesis import given
from hypothesis import strategies as st

from bot.textsplit import split_text


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000),
       st.integers(min_value=1, max_value=500))
def test_parts_fit_and_keep_every_line(text: str, limit: int) -> None:
    """Every part fits and, joined, the parts are exactly the text."""
    parts = split_text(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert "".join(parts) == text


def test_cuts_at_line_breaks() -> None:
    """A list of short lines is cut between lines, never inside one."""
    lines = [f"• Koperasi nomor {i:04d} — Kecamatan Amarasi" for i in range(300)]
    parts = split_text("\n".join(lines))
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert "".join(parts) == "\n".join(lines)
    assert all(p.endswith("\n") for p in parts[:-1])  # each cut falls after a line break
