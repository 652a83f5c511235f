#!/usr/bin/env bash
# The statistics' SVG is well-formed XML, holds an svg root, states the
# suppression, and keeps awkward labels (markup characters, Cyrillic, Arabic)
# as text.
#   stats_svg.sh UNIT_TESTS OUT.svg
set -euo pipefail
unit=$1
out=$2
rm -f "$out"
SEALDROP_STATS_SVG=$out "$unit" "StatsSampleSvgWritten" >/dev/null
/usr/bin/python3 - "$out" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
text = "\n".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
for want in ("threshold 5", "counts from 1 to 4 are not published",
             "Türkiye, \"Republic\" <&> of", "Россия", "مصر"):
    assert want in text, "missing from the chart: %r" % want
print("ok: %d text elements" % len(list(root.iter("{http://www.w3.org/2000/svg}text"))))
PY
