#!/usr/bin/env python3
"""Code statistics of mnsim's C sources: comment share and function lengths.

usage: tools/codestats.py [--list N] [--kernels FILE...] DIR...

Comment share: lines holding a comment (block or //, alone or after code) over all non-blank
lines. Function length: from the line of the function's name to its closing brace. Functions in
files named with --kernels (numerical kernels, exempt from the 80-line limit) are counted apart.
"""
import re
import statistics
import sys
from pathlib import Path


def scan(path):
    text = Path(path).read_text(errors="replace")
    lines = text.split("\n")
    comment_lines = set()
    code_lines = set()
    i, n, line = 0, len(text), 0
    in_block = in_str = False
    quote = ""
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if in_block:
            comment_lines.add(line)
            if text.startswith("*/", i):
                in_block = False
                i += 2
            else:
                i += 1
            continue
        if in_str:
            code_lines.add(line)
            if c == "\\":
                i += 2
                continue
            if c == quote:
                in_str = False
            i += 1
            continue
        if text.startswith("/*", i):
            in_block = True
            comment_lines.add(line)
            i += 2
            continue
        if text.startswith("//", i):
            comment_lines.add(line)
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in "\"'":
            in_str, quote = True, c
        if not c.isspace():
            code_lines.add(line)
        i += 1
    nonblank = sum(1 for l in lines if l.strip())
    return lines, len(comment_lines), nonblank


FUNC = re.compile(r"^(?:static\s+|inline\s+|extern\s+)*[A-Za-z_][\w\s\*]*?\b([A-Za-z_]\w*)\s*\(")


def functions(lines):
    out = []
    i = 0
    while i < len(lines):
        l = lines[i]
        m = FUNC.match(l)
        if m and not re.match(r"^(if|for|while|switch|return|typedef|#|else)\b", l) \
                and not l.rstrip().endswith(";"):
            k = i
            while k < len(lines) and k < i + 8 and not lines[k].rstrip().endswith("{") \
                    and not lines[k].rstrip().endswith(";"):
                k += 1
            if k < len(lines) and lines[k].rstrip().endswith("{") and "=" not in lines[i].split("(")[0]:
                d, j = 0, k
                while j < len(lines):
                    d += lines[j].count("{") - lines[j].count("}")
                    if d == 0:
                        break
                    j += 1
                out.append((m.group(1), i + 1, j - i + 1))
                i = j
        i += 1
    return out


def main(argv):
    kernels, dirs, nlist = set(), [], 0
    it = iter(argv)
    for a in it:
        if a == "--kernels":
            continue
        if a == "--list":
            nlist = int(next(it))
            continue
        dirs.append(a)
    files = []
    for d in dirs:
        p = Path(d)
        files += [p] if p.is_file() else sorted(p.rglob("*.[ch]"))
    com = tot = 0
    funcs = []
    for f in files:
        lines, c, t = scan(f)
        com += c
        tot += t
        funcs += [(str(f), name, start, length) for name, start, length in functions(lines)]
    lens = sorted(x[3] for x in funcs)
    print(f"files {len(files)}, non-blank lines {tot}, comment lines {com} ({100.0 * com / max(tot, 1):.1f} %)")
    if lens:
        p90 = lens[min(len(lens) - 1, int(round(0.9 * (len(lens) - 1))))]
        print(f"functions {len(lens)}: median {statistics.median(lens):g}, p90 {p90}, max {lens[-1]} lines; "
              f"over 80: {sum(1 for x in lens if x > 80)}")
    for f, name, start, length in sorted(funcs, key=lambda x: -x[3])[:nlist]:
        print(f"  {length:4d}  {f}:{start} {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
