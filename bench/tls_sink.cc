// tls_sink: the baseline for the upload and download benchmarks. A bare HTTPS
// server on the same cpp-httplib header, with the same receive buffer, as
// sealdrop-server's server/http.cc, that reads a POST body and throws it away,
// or sends a file.
//
//   tls_sink CERT KEY [FILE]
//
// Listens on 127.0.0.1 on a free port and prints
//   tls_sink: listening on https://127.0.0.1:PORT/
// on stderr. Routes:
//   POST /raw        reads the body with ContentReader(receiver): TLS + HTTP only
//   POST /multipart  reads it with ContentReader(header, receiver): also
//                    httplib's multipart/form-data parser
// Both answer "Received N bytes" (file bytes for /multipart), so the
// benchmark can check that everything arrived.
//   GET /file        (with FILE) sends FILE with a Content-Length, read with
//                    pread in 256 KiB blocks and handed to the TLS stream:
//                    a plain HTTPS download, the baseline of a courier fetch
// SIGTERM ends it.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_RECV_BUFSIZ size_t(64u * 1024u)
// HTTPLIB_HEADER is the full path of ${HTTPLIB_DIR}/httplib.h (bench/CMakeLists.txt),
// so no other httplib.h (such as /usr/include/httplib.h) can stand in.
#include HTTPLIB_HEADER

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr bool SameString(const char* a, const char* b) {
  return *a == *b && (*a == '\0' || SameString(a + 1, b + 1));
}
static_assert(SameString(CPPHTTPLIB_VERSION, "0.18.7"),
              "tls_sink must be built against the cpp-httplib 0.18.7 that sealdrop uses");

void Text(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body + "\n", "text/plain");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: %s CERT KEY [FILE]\n", argv[0]);
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  httplib::SSLServer svr(argv[1], argv[2]);
  if (!svr.is_valid()) {
    std::fprintf(stderr, "tls_sink: cannot load %s or %s\n", argv[1], argv[2]);
    return 2;
  }
  // The same timeouts as sealdrop-server's default config.
  svr.set_read_timeout(30, 0);
  svr.set_write_timeout(30, 0);

  svr.Post("/raw", [](const httplib::Request&, httplib::Response& res,
                      const httplib::ContentReader& reader) {
    uint64_t total = 0;
    bool ok = reader([&](const char*, size_t n) {
      total += n;
      return true;
    });
    if (!ok) return Text(res, 400, "Incomplete after " + std::to_string(total) + " bytes");
    Text(res, 200, "Received " + std::to_string(total) + " bytes");
  });

  svr.Post("/multipart", [](const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) {
    if (!req.is_multipart_form_data()) return Text(res, 415, "Not multipart/form-data");
    uint64_t file_bytes = 0, other_bytes = 0;
    size_t files = 0;
    bool in_file = false;
    bool ok = reader(
        [&](const httplib::MultipartFormData& f) {
          in_file = !f.filename.empty();
          if (in_file) files++;
          return true;
        },
        [&](const char*, size_t n) {
          (in_file ? file_bytes : other_bytes) += n;
          return true;
        });
    if (!ok) return Text(res, 400, "Malformed or incomplete multipart body");
    Text(res, 200,
         "Received " + std::to_string(file_bytes) + " bytes in " + std::to_string(files) +
             " files (+" + std::to_string(other_bytes) + " other bytes)");
  });

  if (argc == 4) {
    const std::string file = argv[3];
    svr.Get("/file", [file](const httplib::Request&, httplib::Response& res) {
      int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
      struct stat st;
      if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0) ::close(fd);
        return Text(res, 404, "Cannot open the file");
      }
      auto buf = std::make_shared<std::vector<char>>(256 * 1024);
      res.set_content_provider(
          size_t(st.st_size), "application/octet-stream",
          [fd, buf](size_t offset, size_t length, httplib::DataSink& sink) {
            const size_t want = std::min(length, buf->size());
            const ssize_t n = ::pread(fd, buf->data(), want, off_t(offset));
            return n > 0 && sink.write(buf->data(), size_t(n));
          },
          [fd](bool) { ::close(fd); });
    });
  }

  int port = svr.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::fprintf(stderr, "tls_sink: cannot listen on 127.0.0.1\n");
    return 2;
  }
  std::fprintf(stderr, "tls_sink: listening on https://127.0.0.1:%d/\n", port);
  std::fflush(stderr);
  return svr.listen_after_bind() ? 0 : 1;
}
