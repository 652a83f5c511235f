#!/bin/sh
# Writes a tool's man page: the prose of man/<tool>.<section>.in with a
# COMMANDS section put in place of its @COMMANDS@ line, made from the built
# tool's own --help for each subcommand (man/commands.awk), so the options
# in the page are the options the binary takes.
#
#   man/manpage.sh BINARY TOOL SECTION VERSION TEMPLATE OUT
#
# The date is the day of SOURCE_DATE_EPOCH when it is set (dpkg-buildpackage
# sets it from debian/changelog), so that a rebuild gives the same page.
set -eu
bin=$1 tool=$2 section=$3 version=$4 template=$5 out=$6
here=$(dirname "$0")
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
  day=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
else
  day=$(date -u +%Y-%m-%d)
fi
commands=$(LC_ALL=C "$bin" --help | awk '/^Subcommands:$/ { on = 1; next } on && /^  [^ ]/ { print $1 }')
[ -n "$commands" ] || { echo "manpage.sh: $bin --help lists no subcommands" >&2; exit 1; }
tmp=$out.tmp
: > "$tmp.commands"
subs() { awk '/^Subcommands:$/ { on = 1; next } on && /^  [^ ]/ { print $1 }'; }
for c in $commands; do
  # A command with its own subcommands ("questionnaire add") gets an entry
  # for each of them instead.
  inner=$(LC_ALL=C "$bin" "$c" --help | subs)
  if [ -z "$inner" ]; then
    LC_ALL=C "$bin" "$c" --help | awk -v tool="$tool" -v command="$c" -f "$here/commands.awk" >> "$tmp.commands"
  fi
  for s in $inner; do
    LC_ALL=C "$bin" "$c" "$s" --help |
      awk -v tool="$tool" -v command="$c $s" -f "$here/commands.awk" >> "$tmp.commands"
  done
done
awk -v version="$version" -v day="$day" -v section="$section" -v commands="$tmp.commands" '
  /^@COMMANDS@$/ { while ((getline line < commands) > 0) print line; next }
  { gsub(/@VERSION@/, version); gsub(/@DATE@/, day); gsub(/@SECTION@/, section); print }
' "$template" > "$tmp"
rm -f "$tmp.commands"
mv "$tmp" "$out"
