// extract --scrub's parts that need no installed tool: reading mat2's and
// qpdf's output, the byte search, and how tools are run.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "review/review.h"

using sealdrop::Status;
using sealdrop::review::Contains;
using sealdrop::review::Mat2Fields;
using sealdrop::review::PdfRisks;
using sealdrop::review::RunTool;
using sealdrop::review::ToolRun;

namespace {

std::vector<std::string> Risks(const std::string& json, Status* st) {
  FILE* f = fmemopen(const_cast<char*>(json.data()), json.size(), "r");
  REQUIRE(f != nullptr);
  std::vector<std::string> risks;
  *st = PdfRisks(f, &risks);
  std::fclose(f);
  return risks;
}

std::string Capture(const std::vector<std::string>& argv, ToolRun* run) {
  std::string out;
  REQUIRE(RunTool(argv, 30, [&](FILE* f) {
            char buf[256];
            size_t n;
            while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
          }, run).ok());
  return out;
}

}  // namespace

TEST_CASE("Mat2FieldsKeepsArchiveMembersApartAndEscapesTerminalCodes", "[scrub]") {
  const std::string show =
      "[+] Metadata for /x/file.docx:\n"
      "[++] Metadata for word/document.xml:\n"
      "      date_time: 2026-12-07 04:06:46\n"
      "[++] Metadata for docProps/core.xml:\n"
      "      creator: Ivan \x1b[31mPetrov\n";
  CHECK(Mat2Fields(show) == std::vector<std::string>{
                                "word/document.xml: date_time: 2026-12-07 04:06:46",
                                "docProps/core.xml: creator: Ivan _[31mPetrov"});
  const std::string jpeg =
      "[+] Metadata for /x/file.jpg:\n"
      "    Artist: Ivan Petrov\n"
      "    GPSPosition: 55 deg 45' 20.88\" N, 37 deg 37' 2.28\" E\n";
  CHECK(Mat2Fields(jpeg) ==
        std::vector<std::string>{"Artist: Ivan Petrov",
                                 "GPSPosition: 55 deg 45' 20.88\" N, 37 deg 37' 2.28\" E"});
  CHECK(Mat2Fields("  No metadata found in /x/file.cleaned.jpg.\n").empty());
  CHECK(Mat2Fields("[-] x's format (None) is not supported\n").empty());
}

TEST_CASE("PdfRisksFindsJavaScriptLaunchAndEmbeddedFilesWhereverTheySit", "[scrub]") {
  Status st;
  // As qpdf --json=2 --json-key=qpdf writes it: names as "/Name", strings as "u:...".
  auto risks = Risks(R"j({"qpdf":[{"jsonversion":2},{
      "obj:1 0 R":{"value":{"/Type":"/Catalog","/OpenAction":{"/S":"/JavaScript","/JS":"u:app.alert(1)"}}},
      "obj:2 0 R":{"value":{"/S":"/Launch","/F":"u:cmd.exe"}},
      "obj:3 0 R":{"stream":{"dict":{"/Type":"/EmbeddedFile","/Length":9}}}}]})j", &st);
  REQUIRE(st.ok());
  CHECK(risks == std::vector<std::string>{"JavaScript", "a launch action (it starts other programs)",
                                          "embedded files"});
  // Names as keys: a document-level script tree, a file attachment, an XFA form.
  risks = Risks(R"j({"qpdf":[{},{"obj:1 0 R":{"value":{"/Names":{"/JavaScript":"4 0 R",
      "/EmbeddedFiles":"5 0 R"},"/AcroForm":{"/XFA":"6 0 R"}}}}]})j", &st);
  REQUIRE(st.ok());
  CHECK(risks == std::vector<std::string>{"JavaScript", "an XFA form (it can run scripts)",
                                          "embedded files"});
  // The same words as text are not active content.
  risks = Risks(R"j({"qpdf":[{},{"obj:1 0 R":{"value":{"/Title":"u:/JavaScript /Launch",
      "/Author":"u:/JS"}}}]})j", &st);
  REQUIRE(st.ok());
  CHECK(risks.empty());
  Risks(R"j({"qpdf":[{},{"obj:1 0 R":)j", &st);
  CHECK(st.Is(Status::Code::kCorruption));
}

TEST_CASE("ContainsFindsANeedleThatStraddlesTwoReadBlocks", "[scrub]") {
  char path[] = "/tmp/sealdrop-contains-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::string data((1u << 20) - 5, 'a');
  data += "vbaProject.bin";
  data += std::string(100, 'b');
  REQUIRE(write(fd, data.data(), data.size()) == ssize_t(data.size()));
  close(fd);
  bool found = false;
  REQUIRE(Contains(path, {"nothing here", "vbaProject.bin"}, &found).ok());
  CHECK(found);
  REQUIRE(Contains(path, {"vbaProject.bim"}, &found).ok());
  CHECK_FALSE(found);
  unlink(path);
  CHECK_FALSE(Contains(path, {"x"}, &found).ok());
}

TEST_CASE("RunToolKillsAToolThatOverrunsAndWhatItStarted", "[scrub]") {
  ToolRun run;
  const auto t0 = std::chrono::steady_clock::now();
  // The shell's child sleeps on with the pipe open: only killing the group ends it.
  REQUIRE(RunTool({"sh", "-c", "sleep 60 & sleep 60"}, 1, [](FILE* f) {
            char buf[64];
            while (std::fread(buf, 1, sizeof buf, f) > 0) {
            }
          }, &run).ok());
  CHECK(run.timed_out);
  CHECK(run.exit == -1);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
}

TEST_CASE("RunToolGivesNeitherOurEnvironmentNorOurDescriptors", "[scrub]") {
  REQUIRE(setenv("SEALDROP_SECRET_HINT", "passphrase.txt", 1) == 0);
  int fd = open("/dev/null", O_RDONLY);  // no close-on-exec
  REQUIRE(fd >= 0);
  REQUIRE(dup2(fd, 77) == 77);
  ToolRun run;
  const std::string out = Capture(
      {"sh", "-c", "env; test -e /proc/self/fd/77 && echo leaked-77; echo err >&2; exit 3"}, &run);
  CHECK(run.exit == 3);
  CHECK(run.err == "err\n");
  CHECK(out.find("SEALDROP_SECRET_HINT") == std::string::npos);
  CHECK(out.find("HOME=") == std::string::npos);
  CHECK(out.find("PATH=/usr/bin:/bin") != std::string::npos);
  CHECK(out.find("leaked-77") == std::string::npos);
  close(77);
  close(fd);
  unsetenv("SEALDROP_SECRET_HINT");
  CHECK(RunTool({"sealdrop-no-such-tool"}, 5, [](FILE*) {}, &run).Is(Status::Code::kNotFound));
}
