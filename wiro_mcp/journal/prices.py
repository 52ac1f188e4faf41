"""The price cache, as journal rows, where servers share a database: what Wiro's Tool/Detail said of a
model's prices, and when, so one replica's answer spares the others the question (money/price_book.py
keeps it in a file of the state folder otherwise)."""

from __future__ import annotations

from .engines import Connection


def all_of(db: Connection, api: str) -> dict[str, tuple[float, str]]:
    """Each model's cached prices (as JSON) and when Wiro gave them."""
    rows = db.execute("SELECT model, at, figures FROM prices WHERE api = ?", (api,)).fetchall()
    return {str(model): (float(at), str(figures)) for model, at, figures in rows}


def keep(db: Connection, api: str, model: str, at: float, figures: str) -> None:
    db.execute(
        "INSERT INTO prices (api, model, at, figures) VALUES (?, ?, ?, ?) ON CONFLICT (api, model) DO UPDATE"
        " SET at = excluded.at, figures = excluded.figures WHERE prices.at < excluded.at",
        (api, model, at, figures),
    )
