"""HTML and CSV rendering of cohort tables and of the query form.

Every user-controlled string (event names, labels, URLs, dates) goes through
``html.escape`` before it reaches the page; CSV fields are quoted when they need to be.
The form carries its own stylesheet (``FORM_CSS``) and the table its own (``TABLE_CSS``),
so a page needs nothing else.
"""

from __future__ import annotations

import csv
import io
from html import escape
from typing import Any, Optional

FORM_CSS = """
.cohort_form dl { margin: 0 0 8px 0; }
.cohort_form dd { display: inline-block; margin: 0 6px 4px 0; }
.cohort_form select { max-width: 160px; }
.cohort_form input[type=submit] { padding: 2px 12px; }
"""

TABLE_CSS = """
.cohort_table { border-collapse: collapse; font: 12px sans-serif; }
.cohort_table th, .cohort_table td { border: 1px solid #ddd; padding: 3px 6px; text-align: right; }
.cohort_table th { background: #f4f4f4; }
.cohort_table td.date { text-align: left; white-space: nowrap; }
.cohort_table td.empty { background: #fafafa; }
.cohort_table tr.average td { font-weight: bold; background: #f4f4f4; }
"""

_TIME_GROUPS = [("days", "Days"), ("weeks", "Weeks"), ("months", "Months"), ("years", "Years")]
_NUM_RESULTS = [7, 28, 31, None, 12, 24, None, 4, 52, 104]
_NUM_OF_ROWS = [3, 6, 12, 24, 48]


def _selected(on: bool) -> str:
    return ' selected="selected"' if on else ""


def _options(name: str, selections, current) -> str:
    out = [f'<select name="{escape(name)}">']
    for label, value in selections:
        out.append(
            f'<option value="{escape(str(value))}"{_selected(value == current)}>'
            f"{escape(str(label))}</option>"
        )
    out.append("</select>")
    return "".join(out)


def render_html_form(
    action_url,
    selections1,
    selections1b=None,
    selections2=None,
    selections2b=None,
    time_group: str = "days",
    select1=None,
    select1b=None,
    select2=None,
    select2b=None,
    as_percent: bool = True,
    num_results: int = 31,
    num_of_rows: int = 12,
    start_date: Optional[str] = None,
) -> str:
    """The query form (a GET form to ``action_url``) with its stylesheet.

    :param selections1: ``[(label, event), ...]`` for the first event
    :param selections1b: extra selections ANDed with the first (default: ``selections1``)
    :param selections2: the returning event's selections (default: ``selections1``)
    :param selections2b: extra selections ANDed with the second (default: ``selections2``)
    :param time_group: the selected grouping; ``select1``... the selected events
    """
    selections2 = selections2 or selections1[:]
    selections1b_c = [("------", ""), *(selections1b[:] if selections1b else selections1[:])]
    selections2b_c = [("------", ""), *(selections2b[:] if selections2b else selections2[:])]
    num_results = int(num_results)
    num_of_rows = int(num_of_rows)

    parts = [f"<style>{FORM_CSS}</style>"]
    parts.append(f'<form action="{escape(str(action_url))}" method="GET" class="cohort_form">')
    parts.append("<dl><dd>Show me people who ")
    parts.append(_options("select1", selections1, select1))
    parts.append(" AND ")
    parts.append(_options("select1b", selections1b_c, select1b))
    parts.append(" and then came back to ")
    parts.append(_options("select2", selections2, select2))
    parts.append(" AND ")
    parts.append(_options("select2b", selections2b_c, select2b))
    parts.append("</dd></dl><dl>")
    parts.append('<dd>Group By: <select name="time_group">')
    for value, label in _TIME_GROUPS:
        parts.append(f'<option value="{value}"{_selected(time_group == value)}>{label}</option>')
    parts.append("</select></dd>")
    parts.append('<dd>As percent: <select name="as_percent">')
    parts.append(f'<option value="1"{_selected(bool(as_percent))}>Yes</option>')
    parts.append(f'<option value="0"{_selected(not as_percent)}>No</option>')
    parts.append("</select></dd>")
    parts.append('<dd>Number of results: <select name="num_results">')
    for n in _NUM_RESULTS:
        if n is None:
            parts.append('<option value="" disabled="disabled">----</option>')
        else:
            parts.append(f'<option value="{n}"{_selected(num_results == n)}>{n}</option>')
    parts.append("</select></dd>")
    parts.append('<dd>Number of rows: <select name="num_of_rows">')
    for n in _NUM_OF_ROWS:
        parts.append(f'<option value="{n}"{_selected(num_of_rows == n)}>{n}</option>')
    parts.append("</select></dd>")
    parts.append(
        '<dd>Start date: <input name="start_date" type="date" '
        f'value="{escape(start_date or "")}" /></dd>'
    )
    parts.append('</dl><dl><dd><input type="submit" value="Generate" /></dd></dl></form>')
    return "".join(parts)


def _date_label(d, time_group: str) -> str:
    if time_group == "months":
        return d.strftime("%d %b")
    if time_group == "weeks":
        return d.strftime("Week %U %d %b")
    if time_group == "years":
        return d.strftime("%Y")
    return d.strftime("%d %b %Y")


def _cell_text(value: Any, as_percent: bool) -> str:
    if value == "":
        return ""
    if as_percent:
        return str(round(value, 2))
    return str(int(value))


def render_html_data(
    dates_data,
    as_percent: bool = True,
    time_group: str = "days",
    num_results: int = 31,
    num_of_rows: int = 12,
    start_date: Optional[str] = None,
) -> str:
    """``get_dates_data``'s table as an HTML ``<table>`` (with its stylesheet): a row per
    period, its users, then one cell per later period, and a row of column averages."""
    cols = int(num_of_rows) + 1
    parts = [f"<style>{TABLE_CSS}</style>", '<table class="cohort_table">']
    parts.append("<thead><tr><th>Date</th><th>Total</th>")
    parts.extend(f"<th>{j}</th>" for j in range(cols))
    parts.append("</tr></thead><tbody>")
    sums = [0.0] * cols
    counts = [0] * cols
    for row in dates_data:
        parts.append(
            f'<tr><td class="date">{escape(_date_label(row[0], time_group))}</td>'
            f"<td>{escape(str(row[1]))}</td>"
        )
        for j in range(cols):
            value = row[2 + j] if 2 + j < len(row) else ""
            if value == "":
                parts.append('<td class="empty"></td>')
                continue
            sums[j] += float(value)
            counts[j] += 1
            text = _cell_text(value, as_percent) + ("%" if as_percent else "")
            shade = ""
            if as_percent:
                alpha = max(0.0, min(1.0, float(value) / 100.0))
                shade = f' style="background: rgba(66, 133, 244, {alpha:.2f})"'
            parts.append(f"<td{shade}>{escape(text)}</td>")
        parts.append("</tr>")
    parts.append('<tr class="average"><td class="date">Average</td><td></td>')
    for j in range(cols):
        if counts[j] == 0:
            parts.append("<td></td>")
        else:
            avg = sums[j] / counts[j]
            text = f"{round(avg, 2)}%" if as_percent else str(round(avg, 2))
            parts.append(f"<td>{escape(text)}</td>")
    parts.append("</tr></tbody></table>")
    return "".join(parts)


def render_csv_data(
    dates_data,
    as_percent: bool = True,
    time_group: str = "days",
    num_results: int = 31,
    num_of_rows: int = 12,
    start_date: Optional[str] = None,
) -> str:
    """``get_dates_data``'s table as CSV: ``Date,Total,0,1,...``, a line per row."""
    cols = int(num_of_rows) + 1
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Date", "Total", *[str(j) for j in range(cols)]])
    for row in dates_data:
        cells = [_cell_text(row[2 + j], as_percent) if 2 + j < len(row) else "" for j in range(cols)]
        writer.writerow([_date_label(row[0], time_group), row[1], *cells])
    return out.getvalue()
