"""moby's patternmatcher (compile to a regexp, then MatchesOrParentMatches), written again
over Python's re: the oracle the randomized .dockerignore spec checks the Lua matcher against.
Reads JSON [[patterns, path], ...] on stdin, prints one 0 or 1 a case."""
import json
import posixpath
import re
import sys


def clean(p):
    return posixpath.normpath(p) if p else "."


def compile_pattern(p):
    reg, kind, i, n = "^", "exact", 0, 0
    while i < len(p):
        ch = p[i]
        i += 1
        if ch == "*":
            if i < len(p) and p[i] == "*":
                i += 1
                if i < len(p) and p[i] == "/":
                    i += 1
                if i >= len(p):
                    if kind == "exact":
                        kind = "prefix"
                    else:
                        reg += ".*"
                        kind = "regexp"
                else:
                    reg += "(.*/)?"
                    kind = "regexp"
                if n == 0:
                    kind = "suffix"
            else:
                reg += "[^/]*"
                kind = "regexp"
        elif ch == "?":
            reg += "[^/]"
            kind = "regexp"
        elif ch in ".+()|{}$":
            reg += "\\" + ch
        elif ch == "\\":
            if i < len(p):
                reg += "\\" + p[i]
                i += 1
            else:
                reg += "\\"
        elif ch in "[]":
            reg += ch
            kind = "regexp"
        else:
            reg += ch  # as Go's regexp reads it: the alphabet the spec draws from means the same to re
        n += 1
    reg = (reg if kind == "regexp" else "") + "$"
    return kind, re.compile(reg) if kind == "regexp" else None


def match(pat, path):
    text, kind, rx = pat
    if kind == "exact":
        return path == text
    if kind == "prefix":
        return path.startswith(text[:-2])
    if kind == "suffix":
        suffix = text[2:]
        return path.endswith(suffix) or (suffix[:1] == "/" and path == suffix[1:])
    return rx.match(path) is not None


def matches(patterns, path):
    pats = []
    for raw in patterns:
        p = clean(raw.strip())
        excl = p.startswith("!")
        if excl:
            p = p[1:]
        kind, rx = compile_pattern(p)
        pats.append(((p, kind, rx), excl))
    parent = posixpath.dirname(path) or "."
    dirs = parent.split("/")
    matched = False
    for pat, excl in pats:
        if excl != matched:
            continue
        hit = match(pat, path)
        if not hit and parent != ".":
            hit = any(match(pat, "/".join(dirs[: k + 1])) for k in range(len(dirs)))
        if hit:
            matched = not excl
    return matched


for patterns, path in json.load(sys.stdin):
    print(1 if matches(patterns, path) else 0)
