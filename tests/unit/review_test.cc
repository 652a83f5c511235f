#include <catch2/catch.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/cli.h"
#include "review/review.h"

using sealdrop::review::NormaliseFingerprint;
using sealdrop::review::Printable;
using sealdrop::review::SafeName;

TEST_CASE("PathTraversalNameStaysInside", "[review]") {
  REQUIRE(SafeName("../../etc/passwd") == "passwd");
  REQUIRE(SafeName("..\\..\\boot.ini") == "boot.ini");
  REQUIRE(SafeName("/abs/path/x.pdf") == "x.pdf");
  REQUIRE(SafeName("..") == "file");
  REQUIRE(SafeName(".") == "file");
  REQUIRE(SafeName("") == "file");
  REQUIRE(SafeName("dir/") == "file");
}

TEST_CASE("HiddenAndOptionLikeNamesNeutralised", "[review]") {
  REQUIRE(SafeName(".bashrc") == "bashrc");
  REQUIRE(SafeName("-rf") == "rf");
  REQUIRE(SafeName("name. . .") == "name");
}

TEST_CASE("BidiOverrideCannotDisguiseExtension", "[review]") {
  // "invoice\u202Efdp.exe" would display as "invoiceexe.pdf".
  std::string n = SafeName("invoice\xE2\x80\xAE" "fdp.exe");
  REQUIRE(n == "invoice_fdp.exe");
  REQUIRE(SafeName("a\xE2\x81\xA6" "b") == "a_b");
}

TEST_CASE("ControlCharactersAndInvalidUtf8Replaced", "[review]") {
  REQUIRE(SafeName(std::string("a\nb\x01" "c\x7f", 6)) == "a_b_c_");
  REQUIRE(SafeName("bad\xC3(utf8") == "bad_(utf8");
  REQUIRE(SafeName("over\xC0\xAFlong") == "over__long");
  REQUIRE(SafeName("a:b*c?d\"e<f>g|h") == "a_b_c_d_e_f_g_h");
}

TEST_CASE("NonAsciiNamesKept", "[review]") {
  REQUIRE(SafeName("отчёт доклад.txt") == "отчёт доклад.txt");
  REQUIRE(SafeName("rapor şubat.pdf") == "rapor şubat.pdf");
  REQUIRE(SafeName("تقرير.docx") == "تقرير.docx");
}

TEST_CASE("OverlongNameCutAtCharacterBoundaryKeepingExtension", "[review]") {
  std::string longname;
  for (int i = 0; i < 150; i++) longname += "ж";  // 300 bytes
  std::string n = SafeName(longname + ".pdf");
  REQUIRE(n.size() <= 200);
  REQUIRE(n.substr(n.size() - 4) == ".pdf");
  REQUIRE(SafeName(n) == n);  // still valid UTF-8: nothing replaced
}

TEST_CASE("FingerprintAsPrintedOrPastedAccepted", "[review]") {
  const std::string hex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  std::string out;
  REQUIRE(NormaliseFingerprint(hex, &out).ok());
  REQUIRE(out == hex);
  std::string upper_colons, spaced;
  for (size_t i = 0; i < hex.size(); i += 2) {
    upper_colons += (i ? ":" : "") + hex.substr(i, 2);
    spaced += (i && i % 8 == 0 ? " " : "") + hex.substr(i, 2);
  }
  for (auto& c : upper_colons) c = char(std::toupper(static_cast<unsigned char>(c)));
  out.clear();
  REQUIRE(NormaliseFingerprint(upper_colons, &out).ok());
  REQUIRE(out == hex);
  out.clear();
  REQUIRE(NormaliseFingerprint(" " + spaced + " ", &out).ok());
  REQUIRE(out == hex);
}

TEST_CASE("ShortenedOrForeignFingerprintRefused", "[review]") {
  const std::string hex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  std::string out = "untouched";
  // A prefix is easier to match with a key made to look alike.
  REQUIRE(NormaliseFingerprint(hex.substr(0, 16), &out)
              .Is(sealdrop::Status::Code::kInvalidArgument));
  REQUIRE(!NormaliseFingerprint(hex + "00", &out).ok());
  REQUIRE(!NormaliseFingerprint("", &out).ok());
  REQUIRE(!NormaliseFingerprint(hex.substr(0, 63) + "g", &out).ok());
  REQUIRE(!NormaliseFingerprint("0x" + hex.substr(2), &out).ok());
  REQUIRE(!NormaliseFingerprint(hex.substr(0, 32) + "-" + hex.substr(32), &out).ok());
  REQUIRE(out == "untouched");
}

TEST_CASE("PrintableKeepsLayoutButNotTerminalEscapes", "[review]") {
  REQUIRE(Printable("line one\nline two\tend") == "line one\nline two\tend");
  REQUIRE(Printable("red \x1b[31m alert") == "red _[31m alert");
  REQUIRE(Printable("application/pdf") == "application/pdf");
}

// The extracted file must hold exactly what was written, whether the writes
// went direct (whole aligned blocks), buffered with writeback windows, or
// switched from one to the other after an unaligned write mid-file.
TEST_CASE("ExtractWriterLosesNoByteDirectOrBuffered", "[review]") {
  REQUIRE(sealdrop::crypto::Init().ok());
  // As DecryptToFile writes: from guarded 1 MiB buffers of whole pages.
  sealdrop::crypto::Secret buf(1u << 20);
  const std::vector<size_t> sizes = {1u << 20, 1u << 20, 300001, 777, 1u << 20};
  for (bool try_direct : {true, false}) {
    char tmpl[] = "/tmp/sealdrop-plainwriter-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    std::string expect;
    {
      sealdrop::review::PlainWriter w(fd, try_direct);
      uint32_t seed = try_direct ? 1 : 2;
      // 26 rounds: past several 8 MiB writeback windows after the switch.
      for (int round = 0; round < 26; round++) {
        for (size_t n : sizes) {
          for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf.data()[i] = uint8_t(seed >> 16);
          }
          expect.append(reinterpret_cast<const char*>(buf.data()), n);
          REQUIRE(w.Write(buf.data(), n).ok());
        }
      }
      CHECK_FALSE(w.direct());  // the 300001-byte write ended direct I/O
    }
    REQUIRE(fsync(fd) == 0);
    std::string got(expect.size() + 1, '\0');
    ssize_t r = pread(fd, &got[0], got.size(), 0);
    close(fd);
    unlink(tmpl);
    REQUIRE(r == ssize_t(expect.size()));
    got.resize(size_t(r));
    CHECK(got == expect);
  }
}

namespace {

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

TEST_CASE("WriteNewFileNeverReplacesAFileNorLeavesAPartialOne", "[review]") {
  char tmpl[] = "/tmp/sealdrop-newfile-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl, path = dir + "/outbox-1.sdo";
  using sealdrop::cli::WriteNewFile;

  REQUIRE(WriteNewFile(path, std::string("first\0bytes", 11), 0600).ok());
  CHECK(Slurp(path) == std::string("first\0bytes", 11));
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);

  // A second write under the same name fails and keeps the first.
  CHECK_FALSE(WriteNewFile(path, "second", 0644).ok());
  CHECK(Slurp(path) == std::string("first\0bytes", 11));
  CHECK(Entries(dir) == std::vector<std::string>{"outbox-1.sdo"});

  // Nor does it follow a symbolic link planted under the name.
  const std::string link = dir + "/planted";
  REQUIRE(symlink((dir + "/target").c_str(), link.c_str()) == 0);
  CHECK_FALSE(WriteNewFile(link, "x", 0600).ok());
  CHECK_FALSE(std::filesystem::exists(dir + "/target"));
  CHECK(Entries(dir) == std::vector<std::string>{"outbox-1.sdo", "planted"});
  std::filesystem::remove_all(dir);
}
