"""Sections of bench/RESULTS.md that come from different runs (make bench, bench/tls.sh, make soak,
bench/instructions.py): each run replaces its own section and leaves the others alone.

    python3 bench/section.py put RESULTS.md "## Title" SECTION.md     # replace (or append) the section with that title
    python3 bench/section.py keep OLD.md NEW.md "## Title" ...        # carry these sections from OLD.md into NEW.md
"""
import sys


def split(text, title):
    """(before, section, after) for the section whose heading starts with `title` (section "" when absent)."""
    start = text.find("\n" + title)
    if start < 0:
        return text, "", ""
    start += 1
    end = text.find("\n## ", start + 1)
    end = len(text) if end < 0 else end + 1
    return text[:start], text[start:end], text[end:]


def put(path, title, section):
    try:
        text = open(path).read()
    except FileNotFoundError:
        text = "# kgb benchmark results\n"
    before, _, after = split(text, title)
    text = before.rstrip("\n") + "\n\n" + after.lstrip("\n") if after else before
    open(path, "w").write(text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n")


def keep(old_path, new_path, titles):
    try:
        old = open(old_path).read()
    except FileNotFoundError:
        return
    for title in titles:
        section = split(old, title)[1]
        if section:
            put(new_path, title, section)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "put":
        put(sys.argv[2], sys.argv[3], open(sys.argv[4]).read())
    elif command == "keep":
        keep(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)
