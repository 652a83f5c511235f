// Safe extraction: the real type of an extracted file, what makes it risky
// to open, and a copy without metadata (mat2). Every parser of the file runs
// in a tool's own process (tools.cc); this file only reads their output.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "review/review.h"

namespace sealdrop {
namespace review {
namespace {

constexpr int kFileTimeout = 60;
constexpr int kQpdfTimeout = 300;
constexpr int kMat2Timeout = 900;

const char* const kExecutable = "an executable or script";
const char* const kMacros = "Office macros";
const char* const kUnreadablePdf = "a PDF qpdf cannot read (damaged or encrypted)";

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string FirstLine(const std::string& s) {
  std::string line = Trim(s.substr(0, s.find('\n')));
  return Printable(line.substr(0, 200));
}

void ReadAll(FILE* f, std::string* out, size_t limit) {
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    if (out->size() < limit) out->append(buf, std::min(n, limit - out->size()));
}

// libmagic's names for programs and scripts a double click could run.
bool Executable(const std::string& mime) {
  static const char* const kTypes[] = {
      "application/x-executable", "application/x-pie-executable", "application/x-sharedlib",
      "application/x-dosexec", "application/vnd.microsoft.portable-executable",
      "application/x-mach-binary", "application/x-msi", "application/x-ms-shortcut",
      "application/java-archive", "application/x-java-applet",
      "application/vnd.android.package-archive", "text/x-shellscript", "text/x-msdos-batch",
      "text/x-perl", "text/x-python", "text/x-php", "text/x-tcl", "text/x-ruby"};
  for (const char* t : kTypes)
    if (mime == t) return true;
  return StartsWith(mime, "text/x-script.");
}

// Containers that can carry macros: Office Open XML and OpenDocument zips,
// and OLE compound files (the older Office formats).
bool MayCarryMacros(const std::string& mime) {
  return StartsWith(mime, "application/vnd.openxmlformats-officedocument.") ||
         StartsWith(mime, "application/vnd.ms-") || StartsWith(mime, "application/vnd.oasis.opendocument.") ||
         mime == "application/zip" || mime == "application/msword" ||
         mime == "application/x-ole-storage" || mime == "application/CDFV2";
}

std::string Utf16(const std::string& ascii) {
  std::string s;
  for (char c : ascii) {
    s.push_back(c);
    s.push_back('\0');
  }
  return s;
}

// Reads qpdf's JSON as a stream of events and remembers the names that mark
// active content, wherever they sit: as a dictionary key (/JS, /EmbeddedFiles,
// /EF, /XFA) or as a name value (/S /JavaScript, /S /Launch, /Type
// /EmbeddedFile). qpdf has already decoded escapes in names (/J#53 is /JS)
// and opened object streams.
class PdfScan : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::set<std::string> found;
  bool failed = false;

  bool key(string_t& k) override {
    if (k == "/JS" || k == "/JavaScript") found.insert("JavaScript");
    else if (k == "/EmbeddedFiles" || k == "/EF") found.insert("embedded files");
    else if (k == "/XFA") found.insert("an XFA form (it can run scripts)");
    else if (k == "/Launch") found.insert("a launch action (it starts other programs)");
    return true;
  }
  bool string(string_t& v) override {
    if (v == "/JavaScript") found.insert("JavaScript");
    else if (v == "/Launch") found.insert("a launch action (it starts other programs)");
    else if (v == "/EmbeddedFile") found.insert("embedded files");
    return true;
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    failed = true;
    return false;
  }
};

// /etc/mime.types (Debian's media-types): the first extension of a type.
std::string ExtensionFor(const std::string& mime) {
  std::ifstream f("/etc/mime.types");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string type, ext;
    if (!(in >> type) || type[0] == '#' || type != mime) continue;
    if (in >> ext) return ext;
  }
  return "";
}

// Moves `from` to `to` unless something is there already.
int MoveNew(const std::string& from, const std::string& to) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
}

Status Show(const std::string& path, std::string* out) {
  ToolRun run;
  out->clear();
  SD_RETURN_IF_ERROR(RunTool({"mat2", "--show", "--", path}, kMat2Timeout,
                             [&](FILE* f) { ReadAll(f, out, 1 << 20); }, &run));
  if (run.timed_out) return Status::IOError("mat2 --show took longer than " +
                                            std::to_string(kMat2Timeout) + " s");
  return Status::OK();
}

// The key of a field ("member: key"), without its value.
std::string FieldKey(const std::string& field) {
  size_t at = field.rfind(": ");
  return at == std::string::npos ? field : field.substr(0, at);
}

}  // namespace

Status Contains(const std::string& path, const std::vector<std::string>& needles, bool* found) {
  *found = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
  size_t longest = 0;
  for (const auto& n : needles) longest = std::max(longest, n.size());
  // Each block is searched with the previous block's last bytes before it,
  // so that a needle across two blocks is found.
  std::string window;
  std::vector<char> buf(1 << 20);
  Status st;
  while (!*found) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = Status::IOError("cannot read " + path + ": " + std::strerror(errno));
      break;
    }
    if (n == 0) break;
    window.append(buf.data(), size_t(n));
    for (const auto& needle : needles)
      if (!needle.empty() && window.find(needle) != std::string::npos) *found = true;
    if (window.size() > longest) window.erase(0, window.size() - longest);
  }
  ::close(fd);
  return st;
}

Status PdfRisks(FILE* in, std::vector<std::string>* risks) {
  PdfScan scan;
  const bool ok = nlohmann::json::sax_parse(in, &scan);
  if (!ok || scan.failed) return Status::Corruption("qpdf's output is not JSON");
  risks->insert(risks->end(), scan.found.begin(), scan.found.end());
  return Status::OK();
}

Status Inspect(const std::string& path, Inspection* out) {
  *out = Inspection{};
  ToolRun run;
  std::string mime;
  Status st = RunTool({"file", "--brief", "--mime-type", "--", path}, kFileTimeout,
                      [&](FILE* f) { ReadAll(f, &mime, 4096); }, &run);
  if (st.Is(Status::Code::kNotFound))
    return Status::NotFound("file(1) is not installed (apt-get install file)");
  SD_RETURN_IF_ERROR(st);
  mime = Trim(mime);
  if (run.exit != 0 || mime.empty() || mime.find('/') == std::string::npos)
    return Status::IOError("file(1) could not tell the type of " + path + ": " + FirstLine(run.err));
  out->mime = Printable(mime);

  if (Executable(mime)) out->risks.push_back(kExecutable);
  if (MayCarryMacros(mime)) {
    // Office Open XML names its macro part vbaProject.bin and OpenDocument
    // its Basic library script-lc.xml, in the zip's plain member names; OLE
    // names the VBA project's stream _VBA_PROJECT, in UTF-16.
    bool found = false;
    SD_RETURN_IF_ERROR(
        Contains(path, {"vbaProject.bin", "Basic/script-lc.xml", Utf16("_VBA_PROJECT")}, &found));
    if (found) out->risks.push_back(kMacros);
  }
  if (mime == "application/pdf") {
    std::vector<std::string> pdf;
    Status parsed;
    st = RunTool({"qpdf", "--json=2", "--json-key=qpdf", "--", path}, kQpdfTimeout,
                 [&](FILE* f) { parsed = PdfRisks(f, &pdf); }, &run);
    if (st.Is(Status::Code::kNotFound))
      return Status::NotFound("qpdf is not installed (apt-get install qpdf)");
    SD_RETURN_IF_ERROR(st);
    // qpdf exits 3 when it read a damaged file with warnings.
    if (!parsed.ok() || (run.exit != 0 && run.exit != 3)) out->risks.push_back(kUnreadablePdf);
    else out->risks.insert(out->risks.end(), pdf.begin(), pdf.end());
  }
  return Status::OK();
}

std::vector<std::string> Mat2Fields(const std::string& show) {
  std::vector<std::string> fields;
  std::istringstream in(show);
  std::string line, member;
  while (std::getline(in, line)) {
    if (StartsWith(line, "[+] ")) {
      member.clear();
      continue;
    }
    if (StartsWith(line, "[++] Metadata for ")) {
      member = line.substr(std::strlen("[++] Metadata for "));
      if (!member.empty() && member.back() == ':') member.pop_back();
      continue;
    }
    if (line.empty() || (line[0] != ' ' && line[0] != '\t')) continue;
    const std::string field = Trim(line);
    const size_t colon = field.find(": ");
    if (colon == std::string::npos || colon == 0) continue;
    std::string value = field.substr(colon + 2);
    if (value.size() > 120) value = value.substr(0, 117) + "...";
    fields.push_back(Printable((member.empty() ? "" : member + ": ") + field.substr(0, colon) +
                               ": " + value));
  }
  return fields;
}

Status Scrub(const std::string& dir, const std::string& name, const std::string& mime,
             bool keep_original, Scrubbed* out) {
  *out = Scrubbed{};
  const std::string ext = ExtensionFor(mime);
  if (ext.empty()) {
    out->why_not = "no file name extension is known for " + mime + ", which mat2 needs";
    return Status::OK();
  }
  std::string tmpl = dir + "/.scrub-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    return Status::IOError("cannot create a directory in " + dir + ": " + std::strerror(errno));
  const std::string work = tmpl, in = work + "/file." + ext,
                    cleaned = work + "/file.cleaned." + ext, target = dir + "/" + name;
  if (::rename(target.c_str(), in.c_str()) != 0) {
    Status st = Status::IOError("cannot move " + target + ": " + std::strerror(errno));
    ::rmdir(work.c_str());
    return st;
  }
  // Whatever happens, the original is back under its name or the clean copy
  // is there, and the work directory is gone, unless it holds an original
  // that could not be put back or kept (the error names it).
  Status st;
  bool published = false;
  auto finish = [&]() -> Status {
    if (!published && MoveNew(in, target) != 0) {
      return Status::IOError("cannot put back " + target + " (it is in " + work +
                             "): " + std::strerror(errno));
    }
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
    return st;
  };

  std::string before;
  st = Show(in, &before);
  if (st.Is(Status::Code::kNotFound)) {
    st = Status::OK();
    out->why_not = "mat2 is not installed (apt-get install mat2)";
    return finish();
  }
  if (!st.ok()) return finish();
  if (before.find("is not supported") != std::string::npos) {
    out->why_not = "mat2 does not clean " + mime;
    return finish();
  }
  ToolRun run;
  std::string said;
  // mat2's own temporary files stay in the work directory too.
  st = RunTool({"mat2", "--", in}, kMat2Timeout, [&](FILE* f) { ReadAll(f, &said, 1 << 16); }, &run,
               work);
  if (!st.ok()) return finish();
  struct stat sb {};
  if (run.exit != 0 || run.timed_out || ::lstat(cleaned.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    out->why_not = run.timed_out ? "mat2 took longer than " + std::to_string(kMat2Timeout) + " s"
                                 : "mat2 failed: " + FirstLine(said + run.err);
    return finish();
  }
  std::string after;
  st = Show(cleaned, &after);
  if (!st.ok()) return finish();
  std::set<std::string> left;
  for (const std::string& f : Mat2Fields(after)) left.insert(FieldKey(f));
  for (const std::string& f : Mat2Fields(before))
    if (!left.count(FieldKey(f))) out->removed.push_back(f);

  int fd = ::open(cleaned.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    st = Status::IOError("cannot sync mat2's copy of " + target);
    if (fd >= 0) ::close(fd);
    return finish();
  }
  ::close(fd);
  if (MoveNew(cleaned, target) != 0) {
    st = Status::IOError("cannot create " + target + ": " + std::strerror(errno));
    return finish();
  }
  published = true;
  out->done = true;
  if (keep_original) {
    std::string stem, dot_ext;
    SplitName(name, &stem, &dot_ext);
    for (int n = 1; n < 10000 && out->original.empty(); n++) {
      const std::string cand =
          stem + ".original" + (n == 1 ? "" : " (" + std::to_string(n) + ")") + dot_ext;
      if (MoveNew(in, dir + "/" + cand) == 0) out->original = cand;
      else if (errno != EEXIST) break;
    }
    if (out->original.empty())
      return Status::IOError("cannot keep the original of " + target + " (it is in " + work +
                             "): " + std::strerror(errno));
  }
  // The original goes with the work directory unless it was kept.
  st = finish();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return st;
}

}  // namespace review
}  // namespace sealdrop
