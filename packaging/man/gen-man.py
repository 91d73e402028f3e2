#!/usr/bin/env python3
"""Writes a man page for one of arbor's programs from its --help output.

usage: gen-man.py PROGRAM SECTION EXTRA OUT

PROGRAM is the built program; its --help and --version are read. EXTRA holds
the sections --help does not (help2man's include format: a line "[SECTION]"
and the roff text of that section under it); [NAME] gives the one-line
description, [DESCRIPTION] is added after the text --help has, [EXIT STATUS]
replaces the generated one, and any other section is placed before EXIT
STATUS in the order given (SEE ALSO last).

The help texts share one layout, which is all this reads:
  usage: PROG ...              SYNOPSIS (continuation lines indented)
  text at column 0             DESCRIPTION paragraphs
  name:                        a section of items (commands:, options:)
    TERM   description         an item: TERM, then two or more spaces
           more description    (or the description on the next, deeper lines)
  Exit status: ...             EXIT STATUS
Debian's help2man was tried first: it has no SYNOPSIS for these programs and
runs each command's name into its description, so the pages did not read well.
"""

import os
import re
import subprocess
import sys
import time


def roff_escape(text):
    """Escapes text for a roff line (not at the start of a request)."""
    text = text.replace("\\", "\\e")
    text = text.replace("-", "\\-")
    return text


def roff_line(text):
    """A text line: escaped, and protected when it starts with . or '."""
    text = roff_escape(text)
    if text.startswith(".") or text.startswith("'"):
        text = "\\&" + text
    return text


def format_words(spec):
    """Bold for the literal words (flags, command names), italics for the
    upper-case placeholders (FILE, HOST:PORT), plain punctuation."""
    out = []
    for tok in re.split(r"(\s+)", spec):
        if tok == "" or tok.isspace():
            out.append(tok)
            continue
        m = re.match(r"^([\[\(|]*)(.*?)([\]\)|.,]*)$", tok)
        pre, word, post = m.group(1), m.group(2), m.group(3)
        if word == "":
            out.append(roff_escape(tok))
            continue
        if "=" in word and word.startswith("-"):
            flag, val = word.split("=", 1)
            body = "\\fB" + roff_escape(flag) + "\\fR=\\fI" + roff_escape(val) + "\\fR"
        elif word.startswith("-") or re.match(r"^[a-z][a-z0-9-]*$", word):
            body = "\\fB" + roff_escape(word) + "\\fR"
        elif re.match(r"^[A-Z][A-Z0-9_:.|]*$", word):
            body = "\\fI" + roff_escape(word) + "\\fR"
        else:
            body = roff_escape(word)
        out.append(roff_escape(pre) + body + roff_escape(post))
    return "".join(out)


def parse_help(text, prog):
    """Splits --help output into synopsis lines, description paragraphs,
    sections of (term, [description lines]) items and the exit status."""
    lines = text.rstrip("\n").split("\n")
    synopsis, lead, notes, sections, exit_status = [], [], [], [], []
    i = 0
    para = []

    def flush():
        # Paragraphs before the first section lead the description; those
        # after a section are notes, placed after it.
        if para:
            (notes if sections else lead).append(" ".join(para))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.lower().startswith("usage:"):
            flush()
            synopsis.append(line[len("usage:"):].strip())
            i += 1
            while i < len(lines) and lines[i].startswith(" ") and lines[i].strip():
                synopsis.append(lines[i].strip())
                i += 1
            continue
        if re.match(r"^[a-z][a-z ]*:$", line):
            flush()
            name = line[:-1]
            items = []
            i += 1
            while i < len(lines) and lines[i].startswith(" "):
                item = lines[i]
                indent = len(item) - len(item.lstrip())
                body = item.strip()
                m = re.match(r"^(\S.*?)(?:\s{2,}(.*))?$", body)
                term, desc = m.group(1), m.group(2)
                descs = [desc] if desc else []
                i += 1
                base = None
                while i < len(lines) and lines[i].strip() and \
                        len(lines[i]) - len(lines[i].lstrip()) > indent:
                    ind = len(lines[i]) - len(lines[i].lstrip())
                    if base is None:
                        base = ind
                    # A line indented deeper than the description's first
                    # line is an entry of a list (a command's subcommands):
                    # it keeps a line of its own.
                    descs.append(("\n" if ind > base else "") + lines[i].strip())
                    i += 1
                items.append((term, descs, desc is not None))
            sections.append((name, items))
            continue
        if re.match(r"^exit status:", line, re.I):
            flush()
            exit_status.append(line.split(":", 1)[1].strip())
            i += 1
            while i < len(lines) and lines[i].strip():
                exit_status.append(lines[i].strip())
                i += 1
            continue
        if line.strip() == "":
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return synopsis, lead, notes, sections, exit_status


def item_roff(term, descs, inline):
    """One .TP item. When the description starts on the term's line, a later
    line that starts with the command's own name is its synopsis (arbor-audit's
    layout) and goes on a line of its own."""
    out = [".TP", format_words(term)]
    words = term.split()
    text = []
    syn = []
    for d in descs:
        if inline and words and not words[0].startswith("-") and d.split()[0] == words[0]:
            syn.append(d)
        else:
            text.append(d)
    para = []
    for t in text:
        if t.startswith("\n"):
            if para:
                out.append(roff_line(" ".join(para)))
                para = []
            out.append(".br")
            para.append(t[1:])
        else:
            para.append(t)
    if para:
        out.append(roff_line(" ".join(para)))
    for s in syn:
        out.append(".br")
        out.append(format_words(s))
    return out


def read_extra(path):
    sections, name = [], None
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            m = re.match(r"^\[([A-Z][A-Z ]*)\]$", line)
            if m:
                name = m.group(1)
                sections.append((name, []))
            elif name is not None:
                sections[-1][1].append(line)
    return [(n, "\n".join(body).strip("\n")) for n, body in sections]


def main():
    if len(sys.argv) != 5:
        sys.stderr.write("usage: gen-man.py PROGRAM SECTION EXTRA OUT\n")
        return 2
    program, section, extra_path, out_path = sys.argv[1:]
    prog = os.path.basename(program)
    env = dict(os.environ, LC_ALL="C")
    help_text = subprocess.run([program, "--help"], check=True, capture_output=True,
                               text=True, env=env).stdout
    version = subprocess.run([program, "--version"], check=True, capture_output=True,
                             text=True, env=env).stdout.strip()
    synopsis, lead, notes, sections, exit_status = parse_help(help_text, prog)
    extra = read_extra(extra_path)
    extra_map = dict(extra)
    if "NAME" not in extra_map:
        sys.stderr.write("gen-man.py: %s has no [NAME]\n" % extra_path)
        return 1
    # The date of the release when building for one (reproducible builds).
    stamp = int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
    date = time.strftime("%Y-%m-%d", time.gmtime(stamp))

    out = ['.\\" Generated by packaging/man/gen-man.py from %s --help; do not edit.' % prog,
           '.TH %s %s "%s" "%s" "arbor manual"' % (prog.upper(), section, date, version),
           # No hyphenation and a ragged right margin: the pages are full of
           # option names, paths and environment variables.
           ".nh", ".ad l",
           ".SH NAME", extra_map["NAME"], ".SH SYNOPSIS"]
    for n, s in enumerate(synopsis):
        if n:
            out.append(".br")
        out.append(format_words(s))
    out.append(".SH DESCRIPTION")
    paras = [roff_line(p) for p in lead]
    if "DESCRIPTION" in extra_map:
        paras.append(extra_map["DESCRIPTION"])
    paras.extend(roff_line(p) for p in notes)
    out.append("\n.PP\n".join(paras))
    for name, items in sections:
        out.append(".SH " + name.upper())
        for term, descs, inline in items:
            out.extend(item_roff(term, descs, inline))
    tail = [(n, b) for n, b in extra if n not in ("NAME", "DESCRIPTION", "EXIT STATUS",
                                                  "SEE ALSO")]
    for name, body in tail:
        out.append(".SH " + name)
        out.append(body)
    out.append(".SH EXIT STATUS")
    if "EXIT STATUS" in extra_map:
        out.append(extra_map["EXIT STATUS"])
    else:
        out.append(roff_line(" ".join(exit_status)))
    if "SEE ALSO" in extra_map:
        out.append(".SH SEE ALSO")
        out.append(extra_map["SEE ALSO"])
    with open(out_path + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(out_path + ".tmp", out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
