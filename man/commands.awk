# Turns one subcommand's CLI11 --help (2.1) into roff for a COMMANDS section:
#   <what it does>
#   Usage: <argv0> <command> [OPTIONS] <args>
#   Positionals: / Options:, then entries: two spaces, the name padded to
#   column 30, the description from column 30 (a name of 28 or more
#   characters puts it on the next line, indented to column 30).
# Variables: tool (the tool's name), command (the subcommand's).
function esc(s) {
  gsub(/\\/, "\\e", s)
  return s
}
# Prose: a line that starts with a dot or quote would be a request.
function text(s,    n, l, i, out) {
  n = split(s, l, "\n")
  out = ""
  for (i = 1; i <= n; i++) {
    l[i] = esc(l[i])
    if (l[i] ~ /^[.']/) l[i] = "\\&" l[i]
    out = out (i > 1 ? "\n" : "") l[i]
  }
  return out
}
function opt(s) {
  s = esc(s)
  gsub(/-/, "\\-", s)
  return s
}
function sentence(s) {
  s = toupper(substr(s, 1, 1)) substr(s, 2)
  if (s !~ /[.!?]$/) s = s "."
  return s
}
# "--listen TEXT=127.0.0.1:8443", "--recipient TEXT ... REQUIRED",
# "--trust-new-instance Excludes: --instance-fingerprint", "dir TEXT REQUIRED".
function term(name, positional,    n, w, i, out, extra, t, def) {
  n = split(name, w, " ")
  out = ""; extra = ""
  for (i = 1; i <= n; i++) {
    t = w[i]
    if (i == 1 && positional) { out = "\\fI" esc(t) "\\fR"; continue }
    if (i == 1) {
      gsub(/,/, ", ", t)
      out = "\\fB" opt(t) "\\fR"
      gsub(/\\fR, /, "\\fR, \\fB", out)
      continue
    }
    if (t == "REQUIRED") { if (!positional) extra = extra " (required)"; continue }
    if (t == "...") { out = out " ..."; continue }
    if (t == "Excludes:" || t == "Needs:") {
      extra = extra (t == "Excludes:" ? " (not with" : " (needs")
      for (i++; i <= n; i++) extra = extra " \\fB" opt(w[i]) "\\fR"
      extra = extra ")"
      break
    }
    if (t ~ /^[A-Z]+/) {
      if (positional) continue
      def = ""
      if (index(t, "=")) { def = substr(t, index(t, "=") + 1); t = substr(t, 1, index(t, "=") - 1) }
      sub(/:.*/, "", t)
      out = out " \\fI" t "\\fR"
      if (def != "") extra = extra " (default: " esc(def) ")"
      continue
    }
    out = out " " esc(t)
  }
  return out extra
}
function flush() {
  if (entry == "") return
  # Every command takes --help; the page says so once.
  if (entry !~ /^-h,--help/) {
    print ".TP"
    print term(entry, section == "Positionals:")
    print text(desc)
  }
  entry = ""; desc = ""
}
NR == 1 && !/^Usage:/ { about = $0; next }
/^Usage: / {
  line = $0
  sub(/^Usage: [^ ]* /, "", line)      # argv[0] as the build ran it
  sub("^" command " ?", "", line)
  print ".SS " opt(command)
  print ".B " opt(tool) " " opt(command)
  n = split(line, w, " ")
  out = ""
  for (i = 1; i <= n; i++) {
    t = w[i]
    if (t == "[OPTIONS]") t = "[\\fIoptions\\fR]"
    else t = "\\fI" esc(t) "\\fR"
    out = out (i > 1 ? " " : "") t
  }
  if (out != "") print out
  if (about != "") { print ".PP"; print text(sentence(about)) }
  next
}
{ held[++nheld] = $0 }
END {
  for (k = 1; k <= nheld; k++) {
    line = held[k]
    if (line == "") { flush(); continue }
    if (line ~ /^(Positionals|Options):$/) { flush(); section = line; continue }
    if (line ~ /^                              /) {
      d = substr(line, 31)
      desc = desc == "" ? d : desc "\n" d
      continue
    }
    flush()
    # A name of 28 characters or more stands alone, its description on the
    # next lines; a shorter one is padded to column 30 (one space at least).
    if (substr(line, 3, 28) ~ /  / || (k == nheld || held[k + 1] !~ /^                              /)) {
      entry = substr(line, 3, 28)
      desc = substr(line, 31)
    } else {
      entry = substr(line, 3)
    }
    sub(/ +$/, "", entry)
  }
  flush()
}
