#!/usr/bin/env python3
"""Checks that includes between notifd's source folders point down only.

    util  <  core  <  store  <  svc  <  http  <  face  <  notifd.c

A folder may include its own headers and those of the folders below it,
with one exception written out here: http/ may include store/store.h, for
the per-thread connection it opens and closes around each request; it never
calls a query. Faces reach the store only through svc/ (whose header does
not include store/store.h). Exits non-zero listing every include that runs
back up."""

import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src")
ORDER = ["util", "core", "store", "svc", "http", "face"]
EXCEPTIONS = {("http", "store/store.h")}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer(path):
    top = path.split("/", 1)[0]
    return top if top in ORDER else None


def main():
    bad = []
    checked = 0
    for root, _, files in os.walk(SRC):
        for name in files:
            if not name.endswith((".c", ".h")):
                continue
            rel = os.path.relpath(os.path.join(root, name), SRC)
            mine = layer(rel)
            if mine is None:
                continue  # notifd.c wires everything together
            text = open(os.path.join(root, name), encoding="utf-8").read()
            for inc in INCLUDE.findall(text):
                theirs = layer(inc)
                checked += 1
                if theirs is None:
                    bad.append("%s includes %s, which is not in a layer" % (rel, inc))
                elif ORDER.index(theirs) > ORDER.index(mine) and \
                        (mine, inc) not in EXCEPTIONS:
                    bad.append("%s (%s) includes %s (%s)" % (rel, mine, inc, theirs))
                elif mine == "face" and theirs == "store":
                    bad.append("%s: a face reaches the store only through svc/" % rel)
                elif mine == "face" and theirs == "face" and \
                        inc.split("/")[1] != rel.split("/")[1]:
                    bad.append("%s includes another face's %s" % (rel, inc))
    for line in bad:
        print("layering: " + line)
    print("layering: %d includes checked, %d run back up" % (checked, len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
