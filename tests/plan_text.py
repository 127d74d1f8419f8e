"""The lines of Plan 355/KH-UBND that ask for something, read from its text with the
reference a plan file gives each ("Mục III.2.1.2, gạch đầu dòng 2", "Phụ lục 02, ND1,
HĐ3, dòng 1")."""

from __future__ import annotations

import re

ROMAN = re.compile(r"^(I|II|III|IV|V)\. ")
NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\. ")
CONTENT_AREA = re.compile(r"^Nội dung (\d+)\. ")
ACTIVITY = re.compile(r"^HĐ ?(\d+) \|")
ROW = re.compile(r"^(\d+) \|")


def _body(lines: list[str]) -> list[tuple[int, str]]:
    """Sections I to V: (line number, reference) of every bullet, paragraph and heading
    with nothing under it."""
    start = next(n for n, line in enumerate(lines) if line.startswith("I. MỤC ĐÍCH"))
    end = next(n for n, line in enumerate(lines) if line.startswith("Trên đây là Kế hoạch"))
    found: list[tuple[int, str]] = []
    section, heading, open_heading = "", "", None
    bullets = plus = paragraphs = 0
    for n in range(start, end):
        line = lines[n].strip()
        roman, numbered = ROMAN.match(line), NUMBERED.match(line)
        if roman or numbered:
            key = f"Mục {roman.group(1)}" if roman else f"Mục {section}.{numbered.group(1)}"
            if open_heading and not key.startswith(open_heading[1] + "."):
                found.append(open_heading)  # a heading that is itself the activity
            section = roman.group(1) if roman else section
            heading, bullets, paragraphs = key, 0, 0
            open_heading = (n + 1, key) if numbered else None
            continue
        if not line or line.startswith("("):
            continue  # a pointer to an appendix
        open_heading = None
        if line.startswith("- "):
            bullets, plus = bullets + 1, 0
            if not line.endswith(":"):  # a lead-in to the "+" items below it
                found.append((n + 1, f"{heading}, gạch đầu dòng {bullets}"))
        elif line.startswith("+ "):
            plus += 1
            found.append((n + 1, f"{heading}, gạch đầu dòng {bullets}, ý {plus}"))
        elif "." not in heading:  # a paragraph right under a section's title
            paragraphs += 1
            found.append((n + 1, f"{heading}, đoạn {paragraphs}"))
        else:
            found.append((n + 1, heading))
    return found


def _appendix_02(lines: list[str]) -> list[tuple[int, str]]:
    """Appendix 02: each numbered row, and each activity without rows."""
    start = next(n for n, line in enumerate(lines) if line.startswith("PHỤ LỤC 2"))
    end = next(n for n, line in enumerate(lines) if line.startswith("[1]"))
    found: list[tuple[int, str]] = []
    area, activity, current = "", None, ""
    for n in range(start, end):
        line = lines[n].strip()
        if m := CONTENT_AREA.match(line):
            if activity:
                found.append(activity)
            area, activity = f"ND{m.group(1)}", None
        elif m := ACTIVITY.match(line):
            if activity:
                found.append(activity)
            activity = (n + 1, f"Phụ lục 02, {area}, HĐ{m.group(1)}")
        elif (m := ROW.match(line)) and area:
            if activity:
                current, activity = activity[1], None
            found.append((n + 1, f"{current}, dòng {m.group(1)}"))
    if activity:
        found.append(activity)
    return found


def obligations(text: str) -> list[tuple[int, str]]:
    """(line number, reference) of every line of the plan that asks for something."""
    lines = text.splitlines()
    return _body(lines) + _appendix_02(lines)
