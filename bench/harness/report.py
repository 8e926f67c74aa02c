"""Results: one row per figure, ferrocast beside nginx-rtmp with the ratio and the target verdict,
rendered as markdown."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    section: str
    metric: str
    ferrocast: float | str | None
    nginx: float | str | None
    unit: str = ""
    ratio: float | str | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    context: list[tuple[str, str]] = field(default_factory=list)
    # Markdown sections of their own, after the table (the catalogue's figures have other peers).
    sections: list[str] = field(default_factory=list)

    def add(self, *a, **kw) -> Row:
        r = Row(*a, **kw)
        if r.ratio is None and isinstance(r.ferrocast, (int, float)) and isinstance(r.nginx, (int, float)) and r.nginx:
            r.ratio = r.ferrocast / r.nginx
        self.rows.append(r)
        return r

    def note(self, text: str) -> None:
        self.notes.append(text)

    def markdown(self, title: str) -> str:
        out = [f"# {title}", ""]
        for k, v in self.context:
            out.append(f"- **{k}**: {v}")
        if self.rows:
            out += ["", "| section | figure | ferrocast | nginx-rtmp | ferrocast ÷ nginx | target | met |",
                    "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            met = "–" if r.met is None else ("yes" if r.met else "**no**")
            metric = r.metric + (f" ({r.unit})" if r.unit else "")
            note = f" — {r.note}" if r.note else ""
            out.append(f"| {r.section} | {metric}{note} | {fmt(r.ferrocast)} | {fmt(r.nginx)} | "
                       f"{fmt(r.ratio, ratio=True)} | {r.target or '–'} | {met} |")
        if self.notes:
            out += ["", "Notes:", ""]
            out += [f"- {n}" for n in self.notes]
        for section in self.sections:
            out += ["", section]
        return "\n".join(out) + "\n"


def fmt(v, ratio: bool = False) -> str:
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if ratio:
        return f"{v:.2f}×"  # strings (lower bounds) are returned above
    if isinstance(v, int):
        return str(v)
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"
