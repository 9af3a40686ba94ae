#!/usr/bin/env python3
"""Reads a built notifd and fails when a hardening measure the build asks
for (meson.build) is missing from the binary:

  PIE           an ELF of type DYN, so ASLR moves the program too
  NX            a GNU_STACK segment that is not executable
  full RELRO    a GNU_RELRO segment and BIND_NOW: the GOT is read-only
  stack canary  calls to __stack_chk_fail (-fstack-protector-strong)
  FORTIFY       calls to the checked libc functions (__*_chk)
  CET           IBT and SHSTK in the GNU property note (-fcf-protection)

The linker marks the binary for CET only when every object it links has the
marking, the C library's start files included; Debian 12's Scrt1.o and
crti.o have none. Then the check asks for what the build controls: its
code instrumented (functions entered by an indirect call begin with
endbr64), and the start files really unmarked, so that a platform whose
start files are marked still fails when the build drops the flag.

usage: check_binary.py PATH   (needs readelf and objdump, from binutils)
"""
import re
import shutil
import subprocess
import sys


def readelf(path, *opts):
    cp = subprocess.run(["readelf", "--wide", *opts, path], capture_output=True, text=True)
    if cp.returncode != 0:
        raise SystemExit("readelf %s failed: %s" % (" ".join(opts), cp.stderr.strip()))
    return cp.stdout


def cet_marked(text):
    return (re.search(r"x86 feature:.*\bIBT\b", text) is not None
            and re.search(r"x86 feature:.*\bSHSTK\b", text) is not None)


def starts_with_endbr64(path, function):
    cp = subprocess.run(["objdump", "-d", "--disassemble=" + function, path],
                        capture_output=True, text=True)
    m = re.search(r"<%s>:\n\s*[0-9a-f]+:\s*((?:[0-9a-f]{2} )+)" % re.escape(function), cp.stdout)
    return m is not None and m.group(1).startswith("f3 0f 1e fa")


def cet(path, notes):
    """(passed, how)"""
    if cet_marked(notes):
        return True, "yes"
    unmarked = []
    for crt in ("Scrt1.o", "crti.o"):
        found = subprocess.run(["cc", "-print-file-name=" + crt], capture_output=True,
                               text=True).stdout.strip()
        if not cet_marked(readelf(found, "--notes")):
            unmarked.append(crt)
    code = all(starts_with_endbr64(path, f) for f in ("main", "nd_http_on_request"))
    how = "code instrumented, binary unmarked: the C library's %s %s no marking" % (
        " and ".join(unmarked), "have" if len(unmarked) > 1 else "has")
    return code and bool(unmarked), how if code and unmarked else "MISSING"


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    if not shutil.which("readelf"):
        raise SystemExit("readelf is missing (Debian: binutils)")
    path = sys.argv[1]
    header = readelf(path, "--file-header")
    segments = readelf(path, "--program-headers")
    dynamic = readelf(path, "--dynamic")
    symbols = readelf(path, "--dyn-syms")
    notes = readelf(path, "--notes")
    stack = re.search(r"^\s*GNU_STACK\s.*$", segments, re.M)
    checks = [
        ("PIE", re.search(r"Type:\s+DYN\b", header) is not None),
        ("NX", stack is not None and not re.search(r"\bR?W?E\s+0x", stack.group(0))),
        ("full RELRO", "GNU_RELRO" in segments
         and re.search(r"\(FLAGS\)\s.*\bBIND_NOW\b|\(FLAGS_1\)\s.*\bNOW\b", dynamic) is not None),
        ("stack protector", "__stack_chk_fail" in symbols),
        ("FORTIFY", re.search(r"\b__\w+_chk\b", symbols.replace("__stack_chk_fail", ""))
         is not None),
    ]
    checks = [(name, ok, "yes" if ok else "MISSING") for name, ok in checks]
    checks.append(("CET",) + cet(path, notes))
    missing = [name for name, ok, _ in checks if not ok]
    for name, _, how in checks:
        print("%-16s %s" % (name, how))
    if missing:
        raise SystemExit("%s lacks: %s" % (path, ", ".join(missing)))


if __name__ == "__main__":
    main()
